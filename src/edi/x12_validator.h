#pragma once
// X12 envelope and transaction-set validation, with the X12 codes a 997 or TA1 reports.
//
// X12Validator is pushed the events of an X12Reader (OnSegment / OnIssue / Finish) and judges:
//   interchange  ISA element values (TA1 005..020, 027), IEA01 group count (021), IEA02 = ISA13
//                (001), duplicate ISA13 from one sender in the input (025), segments that are not
//                GS/TA1/IEA between ISA and IEA, a bad GS (024), missing IEA (023), unreadable
//                ISA (the reader's 004/022/023/026/027);
//   group        GE01 set count (AK905 5), GE02 = GS06 (4), GS06 syntax (6), GE missing (3),
//                duplicate GS06 in the interchange (6: 4010 has no "not unique" code; 19 from
//                4050), segments between sets;
//   set          ST01 (AK502 6) and ST02 (7) syntax, not supported (1), SE missing (2),
//                SE02 = ST02 (3), SE01 count (4), duplicate ST02 in the group (23), and
//                segment errors (5) reported in AK3/AK4: unrecognized segment ID (AK304 1),
//                segment not in the set (6), mandatory segment missing (3), element errors
//                (8) with AK403 codes 1 mandatory missing, 3 too many elements, 4 too short,
//                5 too long, 6 invalid character, 7 invalid code value, 8 invalid date,
//                9 invalid time.
// The code lists and their sources are in src/edi/README.md.
//
// Verdicts: a set is accepted (AK501 A) or rejected (R). A group is A (every set accepted, no
// group error), P (some accepted), or R. An interchange is A, E (only 001/021: the header and
// trailer disagree but the content is processed) or R (not processed: no 997 is sent).
//
// Memory: one interchange's verdict is kept until its IEA (or the end of input) and handed to
// the listener, then dropped. Inside it, every set's verdict is kept unless
// retain_accepted_sets is false (then only rejected sets are kept and accepted ones only
// counted), and at most max_notes_per_set segment notes per set. Duplicate detection keeps
// the control numbers seen (one string per set in a group, per group in an interchange, per
// interchange in the input).
//
// Thread-compatible: one validator per input.

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "edi/x12_dictionary.h"
#include "edi/x12_reader.h"

namespace keelson::edi {

// Something wrong, located. `code` is the X12 code at the level it belongs to (TA105 for an
// interchange, AK905 for a group, AK502 for a set); empty when X12 has none for it.
struct Problem {
  std::string code;
  uint64_t offset = 0;
  int64_t segment = 0;  // ordinal of the segment in its interchange (ISA = 1); 0 if none
  std::string message;
};

// AK4.
struct ElementNote {
  int position = 0;       // AK401-1: element position in the segment
  int component = 0;      // AK401-2: component position, 0 when not a composite
  std::string reference;  // AK402: data element reference number
  std::string code;       // AK403
  std::string bad_value;  // AK404: copy of the bad element (as received)
};

// AK3.
struct SegmentNote {
  std::string segment_id;  // AK301
  int64_t position = 0;    // AK302: ordinal in the set, ST = 1
  std::string loop_id;     // AK303
  std::string code;        // AK304
  uint64_t offset = 0;
  std::string message;
  std::vector<ElementNote> elements;
};

struct SetVerdict {
  std::string id;              // ST01
  std::string control_number;  // ST02
  uint64_t offset = 0;
  int64_t segment_count = 0;       // actual, ST..SE
  char ack = 'A';                  // AK501: A or R
  std::vector<std::string> codes;  // AK502..AK506
  std::vector<Problem> problems;   // set-level, with their AK502 codes
  std::vector<SegmentNote> segment_notes;
  int64_t segment_notes_dropped = 0;  // beyond max_notes_per_set
  bool Accepted() const { return ack == 'A'; }
};

struct GroupVerdict {
  std::string functional_id;   // GS01
  std::string sender;          // GS02
  std::string receiver;        // GS03
  std::string control_number;  // GS06
  std::string version;         // GS08
  uint64_t offset = 0;
  std::optional<int64_t> declared_sets;  // GE01 when numeric
  int64_t received_sets = 0;
  int64_t accepted_sets = 0;
  char ack = 'A';                  // AK901: A, P or R
  std::vector<std::string> codes;  // AK905..AK909
  std::vector<Problem> problems;
  std::vector<SetVerdict> sets;  // all, or only the rejected (retain_accepted_sets = false)
};

// A TA1 received inside an interchange.
struct ReceivedTa1 {
  std::string control_number;  // TA101
  std::string date, time;      // TA102, TA103
  std::string ack;             // TA104
  std::string note_code;       // TA105
};

struct InterchangeVerdict {
  int64_t index = 0;  // 1-based, in the input
  uint64_t offset = 0;
  bool readable = false;  // false: the ISA could not be read, nothing else was
  // ISA01..ISA16 as received ([0] = "ISA"); as far as readable when !readable.
  std::vector<std::string> isa;
  Delimiters delimiters;
  std::vector<std::string> notes;  // tolerances applied (see X12Reader)
  std::vector<Problem> problems;   // with their TA105 codes
  char ack = 'A';                  // TA104: A, E or R
  std::string note_code = "000";   // TA105: the first R problem's code, else the first E's
  std::vector<GroupVerdict> groups;
  std::vector<ReceivedTa1> ta1s;
  bool ack_requested() const { return isa.size() > 14 && isa[14] == "1"; }
  std::string_view Isa(size_t i) const { return i < isa.size() ? isa[i] : std::string_view(); }
  // Whether a TA1 can be addressed: ISA05..ISA10 and ISA13 were read.
  bool Addressable() const;
};

// Everything outside interchanges, and the interchanges when collected (CollectingListener).
struct FileVerdict {
  std::vector<Problem> problems;  // bytes that are not X12
  std::vector<InterchangeVerdict> interchanges;
  // True when there is at least one interchange and everything was accepted (A everywhere,
  // no problems).
  bool Accepted() const;
};

class ValidationListener {
 public:
  virtual ~ValidationListener() = default;
  // A transaction set ended (SE, or the group/interchange ended without one).
  virtual void OnSet(const InterchangeVerdict& /*interchange*/, const GroupVerdict& /*group*/,
                     const SetVerdict& /*set*/) {}
  // An interchange ended (IEA, an unreadable ISA, the next ISA, or the end of input).
  virtual void OnInterchange(InterchangeVerdict verdict) = 0;
  // Bytes outside interchanges that are not X12.
  virtual void OnFileProblem(const Problem& problem) = 0;
};

// Keeps everything in a FileVerdict.
class CollectingListener : public ValidationListener {
 public:
  void OnInterchange(InterchangeVerdict verdict) override {
    file_.interchanges.push_back(std::move(verdict));
  }
  void OnFileProblem(const Problem& problem) override { file_.problems.push_back(problem); }
  const FileVerdict& verdict() const { return file_; }
  FileVerdict& mutable_verdict() { return file_; }

 private:
  FileVerdict file_;
};

struct ValidatorOptions {
  bool retain_accepted_sets = true;
  size_t max_notes_per_set = 100;
};

namespace validator_internal {
// The set and group being read (outside X12Validator so std::optional sees complete types).
struct OpenSet {
  SetVerdict verdict;
  const SetRule* rule = nullptr;  // nullptr: not supported, content not checked
  std::vector<bool> mandatory_seen;
  bool in_ak2 = false;  // 997: an AK2 loop waits for its AK5
  bool is_997 = false, is_940 = false;
};
struct OpenGroup {
  GroupVerdict verdict;
  absl::flat_hash_set<std::string> set_controls;
  int64_t orphans = 0;  // segments between sets
};
}  // namespace validator_internal

class X12Validator {
 public:
  explicit X12Validator(ValidationListener* listener, ValidatorOptions options = {});

  void OnSegment(const Segment& segment, const X12Reader& reader);
  void OnIssue(const ReaderIssue& issue);
  // End of input: closes whatever is open.
  void Finish();

 private:
  using OpenSet = validator_internal::OpenSet;
  using OpenGroup = validator_internal::OpenGroup;

  void StartInterchange(const Segment& isa, const X12Reader& reader);
  void EndInterchange(const Segment* iea);
  void StartGroup(const Segment& gs);
  void EndGroup(const Segment* ge);
  void StartSet(const Segment& st);
  void EndSet(const Segment* se);
  void CheckContent(const Segment& seg);
  void InterchangeProblem(std::string code, const Segment* at, std::string message);
  void GroupProblem(std::string code, const Segment& at, std::string message);
  void SetProblem(std::string code, const Segment* at, std::string message);
  void AddSegmentNote(SegmentNote note);
  // Element rules of `seg`: appends a note per element in error to `out`.
  void CheckElements(const Segment& seg, const SegmentRule& rule,
                     std::vector<ElementNote>* out) const;

  ValidationListener* listener_;
  ValidatorOptions options_;
  std::optional<InterchangeVerdict> interchange_;
  std::optional<OpenGroup> group_;
  std::optional<OpenSet> set_;
  absl::flat_hash_set<std::string> group_controls_;    // GS06 in this interchange
  absl::flat_hash_set<std::string> interchange_keys_;  // sender + ISA13 in the input
  int64_t loose_run_ = -1;                  // segment ordinal of the last reported unexpected run
  std::vector<ElementNote> element_notes_;  // scratch for CheckContent
};

// Reads everything from `reader` into `validator` (OnSegment/OnIssue/Finish). Errors are the
// reader's I/O errors.
absl::Status Validate(X12Reader& reader, X12Validator& validator);

// Reads and validates a whole input, collecting every verdict.
absl::StatusOr<FileVerdict> ValidateAll(std::unique_ptr<ByteSource> source,
                                        ValidatorOptions options = {});

// Human text for the codes (for reports).
std::string_view Ta1NoteText(std::string_view code);       // TA105 (element I18)
std::string_view GroupErrorText(std::string_view code);    // AK905 (element 716)
std::string_view SetErrorText(std::string_view code);      // AK502 (element 718)
std::string_view SegmentErrorText(std::string_view code);  // AK304 (element 720)
std::string_view ElementErrorText(std::string_view code);  // AK403 (element 723)

}  // namespace keelson::edi
