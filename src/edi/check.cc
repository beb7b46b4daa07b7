#include "edi/check.h"

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "edi/ack.h"
#include "edi/x12_reader.h"
#include "edi/x12_validator.h"
#include "edi/x12_writer.h"

namespace keelson::edi {
namespace {

// Accepted sets are listed one by one only in small groups.
constexpr size_t kListAcceptedUpTo = 20;

std::string Where(uint64_t offset, int64_t segment) {
  return segment > 0 ? core::Cat("byte ", offset, " (segment ", segment, " of the interchange)")
                     : core::Cat("byte ", offset);
}

std::string Code(std::string_view element, std::string_view code, std::string_view text) {
  if (code.empty()) return "error";
  return core::Cat("error ", element, " ", code, " (", text, ")");
}

// Prints each interchange as soon as it is judged, then the response Keelson would send.
class Printer : public ValidationListener {
 public:
  Printer(std::ostream& out, const CheckOptions& options) : out_(out), options_(options) {
    ack_options_.now = options.now;
    ack_options_.line_end.assign(1, '\n');  // not = "\n": GCC 12 -Wrestrict false positive
  }

  void OnFileProblem(const Problem& p) override {
    ++errors_;
    out_ << "error at byte " << p.offset << ": " << p.message << "\n";
  }

  void OnInterchange(InterchangeVerdict ic) override {
    ++interchanges_;
    const std::string id =
        ic.Addressable() ? core::Cat(" (ISA13 ", ic.Isa(13), ", ", PartnerKey(ic.Isa(5), ic.Isa(6)),
                                     " -> ", PartnerKey(ic.Isa(7), ic.Isa(8)), ")")
                         : "";
    out_ << "interchange " << ic.index << " at byte " << ic.offset << id << ": "
         << (ic.ack == 'A'   ? "accepted"
             : ic.ack == 'E' ? "accepted with errors"
                             : "rejected")
         << " (TA1 " << ic.ack << " " << ic.note_code << ")\n";
    if (ic.ack != 'A') ++errors_;
    for (const std::string& n : ic.notes) out_ << "  tolerated: " << n << "\n";
    for (const Problem& p : ic.problems) {
      out_ << "  " << Code("TA105", p.code, Ta1NoteText(p.code)) << " at "
           << Where(p.offset, p.segment) << ": " << p.message << "\n";
    }
    for (const ReceivedTa1& t : ic.ta1s) {
      out_ << "  TA1 received: interchange " << t.control_number << " " << t.ack << " "
           << t.note_code << " (" << Ta1NoteText(t.note_code) << ")\n";
    }
    int group_index = 0;
    for (const GroupVerdict& g : ic.groups) PrintGroup(g, ++group_index);
    if (options_.show_response) PrintResponse(ic);
  }

  int errors() const { return errors_; }
  int interchanges() const { return interchanges_; }

 private:
  void PrintGroup(const GroupVerdict& g, int index) {
    const char* verdict = g.ack == 'A'   ? "accepted"
                          : g.ack == 'P' ? "partially accepted"
                                         : "rejected";
    if (g.ack != 'A') ++errors_;
    out_ << "  group " << index << " " << g.functional_id << " " << g.control_number << " at byte "
         << g.offset << ": " << verdict << " (AK9 " << g.ack << ": "
         << g.declared_sets.value_or(g.received_sets) << " included, " << g.received_sets
         << " received, " << g.accepted_sets << " accepted"
         << (g.codes.empty() ? "" : core::Cat("; AK905 ", absl::StrJoin(g.codes, " "))) << ")\n";
    for (const Problem& p : g.problems) {
      out_ << "    " << Code("AK905", p.code, GroupErrorText(p.code)) << " at "
           << Where(p.offset, p.segment) << ": " << p.message << "\n";
    }
    const bool list_accepted = g.sets.size() <= kListAcceptedUpTo;
    int64_t unlisted = 0;
    for (const SetVerdict& s : g.sets) {
      if (s.Accepted() && !list_accepted) {
        ++unlisted;
        continue;
      }
      PrintSet(s);
    }
    if (unlisted > 0) out_ << "    " << unlisted << " more transaction sets accepted\n";
  }

  void PrintSet(const SetVerdict& s) {
    out_ << "    set " << s.id << " " << s.control_number << " at byte " << s.offset << ": "
         << (s.Accepted() ? "accepted" : "rejected") << " (AK5 " << s.ack
         << (s.codes.empty() ? "" : core::Cat(" ", absl::StrJoin(s.codes, " "))) << ")\n";
    for (const Problem& p : s.problems) {
      out_ << "      " << Code("AK502", p.code, SetErrorText(p.code)) << " at "
           << Where(p.offset, p.segment) << ": " << p.message << "\n";
    }
    for (const SegmentNote& n : s.segment_notes) {
      out_ << "      " << Code("AK304", n.code, SegmentErrorText(n.code)) << " at segment "
           << n.position << " of the set (" << n.segment_id << ", byte " << n.offset
           << "): " << n.message << "\n";
      for (const ElementNote& e : n.elements) {
        out_ << "        AK403 " << e.code << " (" << ElementErrorText(e.code) << ") in "
             << n.segment_id << (e.position < 10 ? "0" : "") << e.position
             << (e.component > 0 ? core::Cat("-", e.component) : "")
             << (e.reference.empty() ? "" : core::Cat(" (element ", e.reference, ")")) << "\n";
      }
    }
    if (s.segment_notes_dropped > 0) {
      out_ << "      ... and " << s.segment_notes_dropped << " more segment errors\n";
    }
  }

  void PrintResponse(const InterchangeVerdict& ic) {
    absl::StatusOr<std::string> r = BuildResponse(ic, control_numbers_, ack_options_);
    if (!r.ok()) {
      out_ << "  no response for interchange " << ic.index << ": " << r.status().message() << "\n";
      return;
    }
    if (r->empty()) {
      out_ << "  no response for interchange " << ic.index << ": "
           << (!ic.Addressable()
                   ? "the ISA is unreadable, so a TA1 cannot be addressed"
                   : "acknowledgments (997, TA1) are not acknowledged and no TA1 was requested")
           << "\n";
      return;
    }
    std::vector<std::string> what;
    if (r->find("\nTA1") != std::string::npos) what.push_back("TA1");
    size_t n997 = 0;
    for (size_t at = r->find("ST*997"); at != std::string::npos; at = r->find("ST*997", at + 1)) {
      ++n997;
    }
    if (n997 > 0) what.push_back(core::Cat(n997, " x 997"));
    out_ << "  response Keelson would send for interchange " << ic.index << " ("
         << absl::StrJoin(what, ", ") << "):\n";
    out_ << *r;
  }

  std::ostream& out_;
  CheckOptions options_;
  AckOptions ack_options_;
  InMemoryControlNumbers control_numbers_;
  int errors_ = 0;
  int interchanges_ = 0;
};

}  // namespace

int RunCheck(const std::string& path, std::ostream& out, std::ostream& err,
             const CheckOptions& options) {
  absl::StatusOr<std::unique_ptr<ByteSource>> source = OpenFileSource(path);
  if (!source.ok()) {
    err << "keelson: " << source.status().message() << "\n";
    return 2;
  }
  X12Reader reader(std::move(*source));
  Printer printer(out, options);
  X12Validator validator(&printer);
  out << path << "\n";
  if (absl::Status s = Validate(reader, validator); !s.ok()) {
    err << "keelson: " << s.message() << "\n";
    return 2;
  }
  if (printer.interchanges() == 0) {
    out << "verdict: rejected (no X12 interchange in the file)\n";
    return 1;
  }
  if (printer.errors() == 0) {
    out << "verdict: accepted\n";
    return 0;
  }
  out << "verdict: rejected (" << printer.errors() << " of the verdicts above are not "
      << "\"accepted\")\n";
  return 1;
}

}  // namespace keelson::edi
