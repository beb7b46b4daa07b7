#pragma once
// Whole transaction sets (ST..SE) copied out of an X12Reader, one at a time, with the envelope
// headers they came in: the input of the document mappings (documents.h) and of the 997 parser
// (ack.h). Envelopes are not judged here; run X12Validator for that.
// Thread-compatible.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "edi/x12_reader.h"

namespace keelson::edi {

struct TransactionSet {
  std::string id;                      // ST01
  std::string control_number;          // ST02
  std::vector<std::string> isa;        // the enclosing ISA as received ([0] = "ISA"), or empty
  std::vector<std::string> gs;         // the enclosing GS ([0] = "GS"), or empty
  std::vector<OwnedSegment> segments;  // ST first; SE last unless the set was not closed
};

struct TransactionSetOptions {
  // A set longer than this is an error (kResourceExhausted) instead of filling memory.
  size_t max_segments = 1'000'000;
};

// Calls `fn` for every transaction set of the input, in order, holding one set in memory. A set
// that ends without SE (GE, IEA, next ST, end of input) is passed as it is. Stops at the first
// error of `fn` and returns it; otherwise returns the reader's I/O errors.
absl::Status ForEachTransactionSet(X12Reader& reader,
                                   const std::function<absl::Status(const TransactionSet&)>& fn,
                                   TransactionSetOptions options = {});

// Every transaction set of a small in-memory input.
absl::StatusOr<std::vector<TransactionSet>> ReadTransactionSets(std::string_view x12);

}  // namespace keelson::edi
