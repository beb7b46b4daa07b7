#pragma once
// Acknowledgments: the 997 / TA1 Keelson sends for what it received, and reading the 997s and
// TA1s partners send back.
//
// BuildResponse turns one interchange's verdict (x12_validator.h) into the interchange Keelson
// would send back, addressed to the sender (ISA05/06 <-> ISA07/08 and GS02 <-> GS03 swapped),
// with control numbers from the caller's ControlNumberSource:
//   - a TA1 when the sender asked for one (ISA14 = 1) or the interchange has an envelope error
//     (TA104 A/E/R with the TA105 note code);
//   - unless the interchange is rejected (TA104 R), one FA group with a 997 per received group:
//     AK1, an AK2 loop per transaction set (AK3/AK4 for its segment and element errors, AK5
//     A or R with up to five AK502 codes), AK9 A/P/R with the included/received/accepted counts
//     and up to five AK905 codes. Groups that are themselves acknowledgments (GS01 FA) are
//     never acknowledged.
// An interchange whose ISA could not be read gets a TA1 only when ISA05-ISA10 and ISA13 were
// still readable; otherwise nothing can be addressed and BuildResponse returns "".
//
// ParseFunctionalAck reads a received 997 (or the 997-compatible part of a 999) into a struct.
// Functions; thread-safe given a thread-safe ControlNumberSource.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "edi/transaction_set.h"
#include "edi/x12_validator.h"
#include "edi/x12_writer.h"

namespace keelson::edi {

struct AckOptions {
  Delimiters delimiters;  // of the response; default '*', '>', '~'
  std::string line_end;   // written after each terminator ("" or "\n")
  absl::Time now;         // ISA09/ISA10, GS04/GS05
  absl::TimeZone zone = absl::UTCTimeZone();
};

// The response interchange for `received`; "" when nothing is to be sent. kInvalidArgument when
// the received IDs cannot be written back (they contain the response's delimiters).
absl::StatusOr<std::string> BuildResponse(const InterchangeVerdict& received,
                                          ControlNumberSource& control_numbers,
                                          const AckOptions& options);

// One acknowledged transaction set of a received 997 (AK2 .. AK5).
struct AckedSet {
  std::string set_id;                      // AK201
  std::string control_number;              // AK202
  std::string code;                        // AK501: A, E, M, R, W, X ("" when the AK5 is missing)
  std::vector<std::string> error_codes;    // AK502..AK506
  std::vector<SegmentNote> segment_notes;  // AK3 with their AK4
  bool Accepted() const { return code == "A" || code == "E"; }
};

// A received 997 (one per acknowledged group).
struct FunctionalAck {
  std::string functional_id;         // AK101
  std::string group_control_number;  // AK102
  std::vector<AckedSet> sets;
  std::string code;                                  // AK901: A, E, P, R, ...
  int64_t included = 0, received = 0, accepted = 0;  // AK902, AK903, AK904
  std::vector<std::string> error_codes;              // AK905..AK909
  bool Accepted() const { return code == "A" || code == "E"; }
};

// Reads a 997 transaction set. kInvalidArgument (naming the segment position) when it is not a
// 997, lacks AK1 or AK9, or has counts that are not numbers.
absl::StatusOr<FunctionalAck> ParseFunctionalAck(const TransactionSet& set);

// Every 997 and TA1 in an input (for `keelson edi check` and tests).
struct ReceivedAcks {
  std::vector<FunctionalAck> acks;
  std::vector<ReceivedTa1> ta1s;
};
absl::StatusOr<ReceivedAcks> ReadAcks(std::string_view x12);

}  // namespace keelson::edi
