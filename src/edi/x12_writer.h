#pragma once
// Writing X12: an interchange writer that builds ISA/GS/ST..SE/GE/IEA with the counts and
// control numbers filled in, and the control-number source the caller owns (one counter per
// trading partner; the lead persists it, tests use InMemoryControlNumbers).
//
// X12 has no escape character: a value that contains one of the delimiters cannot be written,
// and the writer returns kInvalidArgument naming the segment and element instead of producing a
// file the partner would mis-split. Trailing empty elements are dropped.
//
// InterchangeWriter is thread-compatible; InMemoryControlNumbers is thread-safe.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "edi/x12_reader.h"

namespace keelson::edi {

// Control numbers for what Keelson sends, per trading partner. `partner` is the receiver's ISA
// qualifier and ID ("ZZ:ACME3PL"). Values are 1..999999999; after 999999999 comes 1.
class ControlNumberSource {
 public:
  virtual ~ControlNumberSource() = default;
  virtual absl::StatusOr<int64_t> NextInterchange(std::string_view partner) = 0;  // ISA13
  virtual absl::StatusOr<int64_t> NextGroup(std::string_view partner) = 0;        // GS06
};

class InMemoryControlNumbers : public ControlNumberSource {
 public:
  // The first number handed out to every partner.
  explicit InMemoryControlNumbers(int64_t first = 1) : first_(first) {}
  absl::StatusOr<int64_t> NextInterchange(std::string_view partner) override;
  absl::StatusOr<int64_t> NextGroup(std::string_view partner) override;

 private:
  int64_t Next(absl::flat_hash_map<std::string, int64_t>& m, std::string_view partner);
  absl::Mutex mu_;
  int64_t first_;
  absl::flat_hash_map<std::string, int64_t> interchange_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> group_ ABSL_GUARDED_BY(mu_);
};

// Who an interchange goes from and to, and when.
struct EnvelopeParams {
  std::string sender_qualifier = "ZZ";    // ISA05
  std::string sender_id;                  // ISA06 (padded to 15)
  std::string receiver_qualifier = "ZZ";  // ISA07
  std::string receiver_id;                // ISA08 (padded to 15)
  char usage = 'P';                       // ISA15: P production, T test
  bool ack_requested = false;             // ISA14
  absl::Time now;
  absl::TimeZone zone = absl::UTCTimeZone();
  // "ZZ:ID": the ControlNumberSource key of the receiver.
  std::string PartnerKey() const;
};

// The partner key of an ISA qualifier and ID (ID trimmed).
std::string PartnerKey(std::string_view qualifier, std::string_view id);

class InterchangeWriter {
 public:
  // `line_end` is written after every terminator ("" or "\n", for people reading the file).
  explicit InterchangeWriter(Delimiters delimiters = {}, std::string line_end = "");

  absl::Status BeginInterchange(const EnvelopeParams& params, int64_t control_number);
  absl::Status BeginGroup(std::string_view functional_id, std::string_view application_sender,
                          std::string_view application_receiver, int64_t control_number);
  absl::Status BeginSet(std::string_view id, std::string_view control_number);
  // Any segment in the current position (a set's content, or a TA1 before the groups).
  absl::Status Add(std::string_view id, std::initializer_list<std::string_view> elements);
  absl::Status Add(std::string_view id, const std::vector<std::string>& elements);
  absl::Status EndSet();    // SE with the segment count
  absl::Status EndGroup();  // GE with the set count
  // IEA; returns the whole interchange and resets the writer.
  absl::StatusOr<std::string> EndInterchange();

 private:
  absl::Status Write(std::string_view id, const std::string_view* elements, size_t n);

  Delimiters d_;
  std::string line_end_;
  std::string out_;
  EnvelopeParams params_;
  std::string isa13_, gs06_, st02_;
  int64_t groups_ = 0, sets_ = 0, segments_ = 0;
  bool in_interchange_ = false, in_group_ = false, in_set_ = false;
};

}  // namespace keelson::edi
