#include "edi/x12_validator.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::edi {
namespace {

constexpr uint32_t kIsa = SegmentKey("ISA"), kIea = SegmentKey("IEA"), kGs = SegmentKey("GS"),
                   kGe = SegmentKey("GE"), kSt = SegmentKey("ST"), kSe = SegmentKey("SE"),
                   kTa1 = SegmentKey("TA1");

// Interchange note codes that leave the interchange processed ("accepted with errors").
bool IsSoftInterchangeCode(std::string_view code) { return code == "001" || code == "021"; }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int64_t Num(std::string_view s) {  // s: at most 18 digits
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool ValidDate(std::string_view s) {
  if (!AllDigits(s) || (s.size() != 8 && s.size() != 6)) return false;
  const std::string_view md = s.substr(s.size() - 4);
  const int month = Num(md.substr(0, 2));
  const int day = Num(md.substr(2, 2));
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDays[month - 1]) return false;
  if (month == 2 && day == 29 && s.size() == 8) {
    const int year = Num(s.substr(0, 4));
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  }
  return true;
}

bool ValidTime(std::string_view s) {
  if (!AllDigits(s) || s.size() < 4 || s.size() > 8 || s.size() == 5) return false;
  if (Num(s.substr(0, 2)) > 23 || Num(s.substr(2, 2)) > 59) return false;
  return s.size() < 6 || Num(s.substr(4, 2)) <= 59;
}

// Digits of a numeric (N0 or R) value; -1 when it is not one.
int NumericLength(std::string_view s, bool decimal) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  int digits = 0;
  bool point = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c == '.' && decimal && !point) {
      point = true;
    } else {
      return -1;
    }
  }
  return digits == 0 ? -1 : digits;
}

bool HasControlCharacter(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

bool InCodeList(std::string_view codes, std::string_view value) {
  size_t start = 0;
  while (start <= codes.size()) {
    size_t bar = codes.find('|', start);
    if (bar == std::string_view::npos) bar = codes.size();
    if (codes.substr(start, bar - start) == value) return true;
    start = bar + 1;
  }
  return false;
}

// AK403 code for one element value, "" when fine.
std::string_view ElementSyntax(std::string_view v, const ElementRule& r) {
  if (v.empty()) return r.mandatory ? "1" : "";
  if (HasControlCharacter(v)) return "6";
  int length = static_cast<int>(v.size());
  switch (r.type) {
    case ElementType::kN0:
    case ElementType::kR:
      length = NumericLength(v, r.type == ElementType::kR);
      if (length < 0) return "6";
      break;
    case ElementType::kDT:
      return ValidDate(v) && length >= r.min_length && length <= r.max_length ? "" : "8";
    case ElementType::kTM:
      return ValidTime(v) && length >= r.min_length && length <= r.max_length ? "" : "9";
    case ElementType::kAN:
    case ElementType::kID:
      break;
  }
  if (length < r.min_length) return "4";
  if (length > r.max_length) return "5";
  if (r.type == ElementType::kID && !r.codes.empty() && !InCodeList(r.codes, v)) return "7";
  return "";
}

bool ValidSegmentId(std::string_view id) {
  if (id.size() < 2 || id.size() > 3 || id[0] < 'A' || id[0] > 'Z') return false;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Control numbers compare as numbers when both are numeric (tolerates "3438" vs "000003438").
bool SameControlNumber(std::string_view a, std::string_view b) {
  if (AllDigits(a) && AllDigits(b)) {
    while (a.size() > 1 && a[0] == '0') a.remove_prefix(1);
    while (b.size() > 1 && b[0] == '0') b.remove_prefix(1);
  }
  return a == b;
}

void AddCode(std::vector<std::string>* codes, const std::string& code) {
  if (code.empty() || codes->size() >= 5) return;
  if (std::find(codes->begin(), codes->end(), code) == codes->end()) codes->push_back(code);
}

std::string Shown(std::string_view v) {
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < 40; ++i) {
    const unsigned char c = v[i];
    out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  if (v.size() > 40) out += "...";
  return out + "'";
}

}  // namespace

bool InterchangeVerdict::Addressable() const {
  if (isa.size() < 14) return false;
  for (size_t i = 5; i <= 8; ++i) {
    if (TrimSpaces(isa[i]).empty()) return false;
  }
  return isa[9].size() == 6 && AllDigits(isa[9]) && isa[10].size() == 4 && AllDigits(isa[10]) &&
         isa[13].size() == 9 && AllDigits(isa[13]);
}

bool FileVerdict::Accepted() const {
  if (!problems.empty() || interchanges.empty()) return false;
  for (const InterchangeVerdict& ic : interchanges) {
    if (ic.ack != 'A' || !ic.problems.empty()) return false;
    for (const GroupVerdict& g : ic.groups) {
      if (g.ack != 'A') return false;
    }
  }
  return true;
}

X12Validator::X12Validator(ValidationListener* listener, ValidatorOptions options)
    : listener_(listener), options_(options) {}

void X12Validator::InterchangeProblem(std::string code, const Segment* at, std::string message) {
  Problem p{.code = std::move(code), .message = std::move(message)};
  if (at != nullptr) {
    p.offset = at->position().offset;
    p.segment = at->position().in_interchange;
  } else {
    p.offset = interchange_->offset;
  }
  interchange_->problems.push_back(std::move(p));
}

void X12Validator::GroupProblem(std::string code, const Segment& at, std::string message) {
  GroupVerdict& g = group_->verdict;
  AddCode(&g.codes, code);
  g.problems.push_back(Problem{.code = std::move(code),
                               .offset = at.position().offset,
                               .segment = at.position().in_interchange,
                               .message = std::move(message)});
}

void X12Validator::SetProblem(std::string code, const Segment* at, std::string message) {
  SetVerdict& s = set_->verdict;
  AddCode(&s.codes, code);
  Problem p{.code = std::move(code), .offset = s.offset, .message = std::move(message)};
  if (at != nullptr) {
    p.offset = at->position().offset;
    p.segment = at->position().in_interchange;
  }
  s.problems.push_back(std::move(p));
}

void X12Validator::AddSegmentNote(SegmentNote note) {
  SetVerdict& s = set_->verdict;
  if (s.segment_notes.size() >= options_.max_notes_per_set) {
    ++s.segment_notes_dropped;
    return;
  }
  s.segment_notes.push_back(std::move(note));
}

void X12Validator::CheckElements(const Segment& seg, const SegmentRule& rule,
                                 std::vector<ElementNote>* out) const {
  std::vector<ElementNote>& notes = *out;
  for (const ElementRule& r : rule.elements) {
    const std::string_view v =
        r.component > 0 ? seg.component(r.position, r.component) : seg.element(r.position);
    const std::string_view code = ElementSyntax(v, r);
    if (code.empty()) continue;
    notes.push_back(ElementNote{.position = r.position,
                                .component = r.component,
                                .reference = std::string(r.reference),
                                .code = std::string(code),
                                .bad_value = std::string(v.substr(0, 99))});
  }
  if (rule.max_elements > 0 && seg.size() > rule.max_elements) {
    notes.push_back(
        ElementNote{.position = rule.max_elements + 1,
                    .code = "3",
                    .bad_value = std::string(seg.element(rule.max_elements + 1).substr(0, 99))});
  }
}

void X12Validator::OnSegment(const Segment& seg, const X12Reader& reader) {
  const std::string_view id = seg.id();
  const uint32_t key = seg.key();
  if (key == kIsa) {
    if (interchange_) EndInterchange(nullptr);
    StartInterchange(seg, reader);
    return;
  }
  if (!interchange_) return;  // the reader emits segments only inside interchanges
  if (reader.notes().size() != interchange_->notes.size()) interchange_->notes = reader.notes();

  auto loose = [&](std::string message) {
    // One problem per run of consecutive misplaced segments.
    const int64_t at = seg.position().in_interchange;
    if (loose_run_ < 0 || at != loose_run_ + 1) InterchangeProblem("024", &seg, std::move(message));
    loose_run_ = at;
  };

  if (key == kIea) {
    EndInterchange(&seg);
  } else if (key == kGs) {
    if (group_) EndGroup(nullptr);
    StartGroup(seg);
  } else if (key == kGe) {
    if (group_) {
      EndGroup(&seg);
    } else {
      loose(core::Cat("GE without a GS at byte ", seg.position().offset));
    }
  } else if (key == kSt) {
    if (group_) {
      if (set_) EndSet(nullptr);
      StartSet(seg);
    } else {
      loose(core::Cat("transaction set ", Shown(seg.element(1)), " ", Shown(seg.element(2)),
                      " outside a functional group (no GS before it)"));
    }
  } else if (set_) {
    if (key == kSe) {
      EndSet(&seg);
    } else {
      CheckContent(seg);
    }
  } else if (group_) {
    const int64_t at = seg.position().in_interchange;
    if (group_->orphans == 0 || at != loose_run_ + 1) {
      GroupProblem("", seg,
                   core::Cat("segment ", Shown(id),
                             " outside a transaction set (is the ST "
                             "missing or misspelled?)"));
    }
    ++group_->orphans;
    loose_run_ = at;
  } else if (key == kTa1) {
    ReceivedTa1 t{.control_number = std::string(seg.element(1)),
                  .date = std::string(seg.element(2)),
                  .time = std::string(seg.element(3)),
                  .ack = std::string(seg.element(4)),
                  .note_code = std::string(seg.element(5))};
    interchange_->ta1s.push_back(std::move(t));
    if (const SegmentRule* rule = FindSegmentRule(kTa1); rule != nullptr) {
      std::vector<ElementNote> notes;
      CheckElements(seg, *rule, &notes);
      for (const ElementNote& n : notes) {
        InterchangeProblem("024", &seg,
                           core::Cat("TA1", n.position < 10 ? "0" : "", n.position, " ",
                                     Shown(n.bad_value), ": ", ElementErrorText(n.code)));
      }
    }
  } else {
    loose(core::Cat("unexpected segment ", Shown(id),
                    " between ISA and IEA (only GS, TA1 and IEA belong there)"));
  }
}

void X12Validator::OnIssue(const ReaderIssue& issue) {
  if (interchange_) EndInterchange(nullptr);
  if (issue.kind == ReaderIssue::Kind::kNotX12) {
    listener_->OnFileProblem(Problem{.offset = issue.offset, .message = issue.message});
    return;
  }
  InterchangeVerdict v;
  v.index = issue.interchange;
  v.offset = issue.offset;
  v.readable = false;
  v.isa = issue.isa_fields;
  v.problems.push_back(Problem{.code = issue.ta1_code,
                               .offset = issue.offset,
                               .segment = 1,
                               .message = core::Cat("unreadable ISA: ", issue.message)});
  v.ack = 'R';
  v.note_code = issue.ta1_code;
  listener_->OnInterchange(std::move(v));
}

void X12Validator::Finish() {
  if (interchange_) EndInterchange(nullptr);
}

void X12Validator::StartInterchange(const Segment& isa, const X12Reader& reader) {
  interchange_.emplace();
  InterchangeVerdict& ic = *interchange_;
  ic.index = isa.position().interchange;
  ic.offset = isa.position().offset;
  ic.readable = true;
  ic.isa.reserve(17);
  ic.isa.emplace_back(isa.id());
  for (size_t i = 1; i <= isa.size(); ++i) ic.isa.emplace_back(isa.element(i));
  ic.delimiters = reader.delimiters();
  ic.notes = reader.notes();
  group_controls_.clear();
  loose_run_ = -1;

  const bool unpadded = std::any_of(ic.notes.begin(), ic.notes.end(), [](const std::string& n) {
    return n.find("not padded") != std::string::npos;
  });
  auto check = [&](size_t i, const char* code, bool ok, std::string_view what) {
    if (!ok) {
      InterchangeProblem(code, &isa,
                         core::Cat("ISA", i < 10 ? "0" : "", i, " ", Shown(ic.Isa(i)), ": ", what));
    }
  };
  auto width = [&](size_t i, size_t n) {
    const std::string_view v = ic.Isa(i);
    return unpadded ? (!v.empty() && v.size() <= n) : v.size() == n;
  };
  auto id2 = [&](size_t i) { return ic.Isa(i).size() == 2 && AllDigits(ic.Isa(i)); };
  auto alnum_id = [&](size_t i) {
    const std::string_view v = ic.Isa(i);
    return v.size() == 2 && absl::ascii_isalnum(v[0]) && absl::ascii_isalnum(v[1]);
  };
  auto has_text = [&](size_t i) { return !TrimSpaces(ic.Isa(i)).empty(); };
  check(1, "010", id2(1), "authorization information qualifier must be 2 digits");
  check(2, "011", width(2, 10), "authorization information must be 10 characters");
  check(3, "012", id2(3), "security information qualifier must be 2 digits");
  check(4, "013", width(4, 10), "security information must be 10 characters");
  check(5, "005", alnum_id(5), "sender ID qualifier must be a 2-character code");
  check(6, "006", width(6, 15) && has_text(6), "sender ID must be 15 characters, not blank");
  check(7, "007", alnum_id(7), "receiver ID qualifier must be a 2-character code");
  check(8, "008", width(8, 15) && has_text(8), "receiver ID must be 15 characters, not blank");
  check(9, "014", ValidDate(ic.Isa(9)) && ic.Isa(9).size() == 6, "date must be YYMMDD");
  check(10, "015", ValidTime(ic.Isa(10)) && ic.Isa(10).size() == 4, "time must be HHMM");
  {
    const std::string_view v = ic.Isa(11);
    const bool ok = v == "U" || (v.size() == 1 && !absl::ascii_isalnum(v[0]) && v[0] != ' ' &&
                                 v[0] != ic.delimiters.element && v[0] != ic.delimiters.component);
    check(11, "016", ok, "must be U or a repetition separator");
  }
  check(12, "017", ic.Isa(12).size() == 5 && AllDigits(ic.Isa(12)), "version must be 5 digits");
  check(13, "018", ic.Isa(13).size() == 9 && AllDigits(ic.Isa(13)),
        "control number must be 9 digits");
  check(14, "019", ic.Isa(14) == "0" || ic.Isa(14) == "1", "acknowledgment requested: 0 or 1");
  check(15, "020", ic.Isa(15) == "P" || ic.Isa(15) == "T" || ic.Isa(15) == "I",
        "usage indicator: P, T or I");

  std::string key = core::Cat(ic.Isa(5), ":", TrimSpaces(ic.Isa(6)), ":", ic.Isa(13));
  if (!interchange_keys_.insert(key).second) {
    InterchangeProblem(
        "025", &isa,
        core::Cat("duplicate interchange: control number ", ic.Isa(13), " from sender ",
                  TrimSpaces(ic.Isa(6)), " was already received in this input"));
  }
}

void X12Validator::EndInterchange(const Segment* iea) {
  InterchangeVerdict& ic = *interchange_;
  if (group_) EndGroup(nullptr);
  if (iea != nullptr) {
    const std::string_view n = iea->element(1);
    const int64_t groups = static_cast<int64_t>(ic.groups.size());
    int64_t declared = -1;
    if (AllDigits(n) && n.size() <= 5) declared = Num(n);
    if (declared != groups) {
      if (groups == 0 && declared == static_cast<int64_t>(ic.ta1s.size())) {
        ic.notes.push_back("IEA01 counts the TA1 segments (the interchange has no groups)");
      } else {
        InterchangeProblem("021", iea,
                           core::Cat("IEA01 ", Shown(n), " but the interchange has ", groups,
                                     groups == 1 ? " group" : " groups"));
      }
    }
    const std::string_view control = iea->element(2);
    if (!SameControlNumber(control, ic.Isa(13))) {
      InterchangeProblem(
          "001", iea,
          core::Cat("IEA02 ", Shown(control), " does not match ISA13 ", Shown(ic.Isa(13))));
    } else if (control != ic.Isa(13)) {
      ic.notes.push_back(core::Cat("IEA02 ", Shown(control), " equals ISA13 ", Shown(ic.Isa(13)),
                                   " only as a number"));
    }
    if (iea->size() > 2) {
      InterchangeProblem("024", iea, "IEA has more than 2 elements");
    }
  } else {
    InterchangeProblem("023", nullptr,
                       "no IEA: the interchange ends at the next ISA or the end of the file");
  }
  ic.ack = 'A';
  ic.note_code = "000";
  std::string first_soft;
  for (const Problem& p : ic.problems) {
    if (IsSoftInterchangeCode(p.code)) {
      if (first_soft.empty()) first_soft = p.code;
    } else if (ic.ack != 'R') {
      ic.ack = 'R';
      ic.note_code = p.code;
    }
  }
  if (ic.ack != 'R' && !first_soft.empty()) {
    ic.ack = 'E';
    ic.note_code = first_soft;
  }
  InterchangeVerdict done = std::move(ic);
  interchange_.reset();
  listener_->OnInterchange(std::move(done));
}

void X12Validator::StartGroup(const Segment& gs) {
  group_.emplace();
  GroupVerdict& g = group_->verdict;
  g.functional_id = std::string(gs.element(1));
  g.sender = std::string(gs.element(2));
  g.receiver = std::string(gs.element(3));
  g.control_number = std::string(gs.element(6));
  g.version = std::string(gs.element(8));
  g.offset = gs.position().offset;
  loose_run_ = -1;
  if (const SegmentRule* rule = FindSegmentRule(kGs); rule != nullptr) {
    std::vector<ElementNote> notes;
    CheckElements(gs, *rule, &notes);
    for (const ElementNote& n : notes) {
      // Releases before 4010 date groups YYMMDD.
      if (n.position == 4 && g.version < "004" && n.bad_value.size() == 6 &&
          ValidDate(n.bad_value)) {
        continue;
      }
      std::string message = core::Cat("GS", n.position < 10 ? "0" : "", n.position, " ",
                                      Shown(n.bad_value), ": ", ElementErrorText(n.code));
      if (n.position == 6) {
        GroupProblem("6", gs, std::move(message));
      } else {
        InterchangeProblem("024", &gs, core::Cat("invalid GS: ", message));
      }
    }
  }
  if (!g.control_number.empty() && !group_controls_.insert(g.control_number).second) {
    GroupProblem(
        "6", gs,
        core::Cat("GS06 ", Shown(g.control_number), " is not unique within the interchange"));
  }
}

void X12Validator::EndGroup(const Segment* ge) {
  GroupVerdict& g = group_->verdict;
  if (set_) EndSet(nullptr);
  if (ge != nullptr) {
    const std::string_view n = ge->element(1);
    if (AllDigits(n) && n.size() <= 6) g.declared_sets = Num(n);
    if (g.declared_sets != g.received_sets) {
      GroupProblem("5", *ge,
                   core::Cat("GE01 ", Shown(n), " but the group has ", g.received_sets,
                             g.received_sets == 1 ? " transaction set" : " transaction sets"));
    }
    if (!SameControlNumber(ge->element(2), g.control_number)) {
      GroupProblem("4", *ge,
                   core::Cat("GE02 ", Shown(ge->element(2)), " does not match GS06 ",
                             Shown(g.control_number)));
    }
  } else {
    AddCode(&g.codes, "3");
    g.problems.push_back(
        Problem{.code = "3",
                .offset = g.offset,
                .message = core::Cat("no GE for the group starting at byte ", g.offset)});
  }
  if (!g.problems.empty() || (g.received_sets > 0 && g.accepted_sets == 0)) {
    g.ack = 'R';
  } else if (g.accepted_sets < g.received_sets) {
    g.ack = 'P';
  } else {
    g.ack = 'A';
  }
  interchange_->groups.push_back(std::move(g));
  group_.reset();
}

void X12Validator::StartSet(const Segment& st) {
  set_.emplace();
  OpenSet& s = *set_;
  s.verdict.id = std::string(st.element(1));
  s.verdict.control_number = std::string(st.element(2));
  s.verdict.offset = st.position().offset;
  ++group_->verdict.received_sets;
  const std::string_view id = st.element(1);
  const std::string_view control = st.element(2);
  if (id.size() != 3 || !AllDigits(id)) {
    SetProblem("6", &st, core::Cat("ST01 ", Shown(id), " is not a transaction set identifier"));
  } else {
    s.rule = FindSetRule(id);
    if (s.rule == nullptr) {
      SetProblem("1", &st,
                 core::Cat("transaction set ", id,
                           " is not supported (Keelson reads 940, 945, 856, 846 and 997)"));
    }
  }
  if (control.size() < 4 || control.size() > 9 || HasControlCharacter(control)) {
    SetProblem("7", &st,
               core::Cat("ST02 ", Shown(control), " is not a control number (4-9 characters)"));
  } else if (!group_->set_controls.insert(std::string(control)).second) {
    SetProblem("23", &st, core::Cat("ST02 ", Shown(control), " is not unique within the group"));
  }
  if (s.rule != nullptr) {
    s.mandatory_seen.assign(s.rule->mandatory.size(), false);
    s.is_997 = s.rule->id == "997";
    s.is_940 = s.rule->id == "940";
  }
}

void X12Validator::CheckContent(const Segment& seg) {
  OpenSet& s = *set_;
  if (s.rule == nullptr) return;
  const std::string_view id = seg.id();
  const uint32_t key = seg.key();
  const int64_t position = seg.position().in_set;
  auto note = [&](std::string code, std::string message) {
    return SegmentNote{.segment_id = std::string(id.substr(0, 3)),
                       .position = position,
                       .code = std::move(code),
                       .offset = seg.position().offset,
                       .message = std::move(message)};
  };
  if (!ValidSegmentId(id)) {
    AddSegmentNote(note("1", core::Cat("unrecognized segment ID ", Shown(id))));
    return;
  }
  if (!SetAllows(*s.rule, key)) {
    AddSegmentNote(note("6", core::Cat("segment ", id, " is not in transaction set ", s.rule->id)));
    return;
  }
  // A 940 cancellation (W0501 F) names the order only; its detail lines are waived.
  const bool waive_detail = s.is_940 && key == SegmentKey("W05") && seg.element(1) == "F";
  for (size_t i = 0; i < s.rule->mandatory.size(); ++i) {
    const uint32_t m = SegmentKey(s.rule->mandatory[i]);
    if (m == key || (waive_detail && m == SegmentKey("W01"))) s.mandatory_seen[i] = true;
  }
  if (s.is_997) {
    if (key == SegmentKey("AK2") || key == SegmentKey("AK9")) {
      if (s.in_ak2) {
        SegmentNote n = note("3", "mandatory segment AK5 missing before this segment");
        n.segment_id = "AK5";
        AddSegmentNote(std::move(n));
      }
      s.in_ak2 = key == SegmentKey("AK2");
    } else if ((key == SegmentKey("AK3") || key == SegmentKey("AK4") || key == SegmentKey("AK5")) &&
               !s.in_ak2) {
      AddSegmentNote(note("2", core::Cat("unexpected segment ", id, " outside an AK2 loop")));
      return;
    } else if (key == SegmentKey("AK5")) {
      s.in_ak2 = false;
    }
  }
  element_notes_.clear();
  if (const SegmentRule* rule = FindSegmentRule(key); rule != nullptr) {
    CheckElements(seg, *rule, &element_notes_);
  }
  if (seg.truncated()) {
    element_notes_.push_back(ElementNote{.position = static_cast<int>(seg.size()), .code = "5"});
  }
  if (!element_notes_.empty()) {
    std::string message = core::Cat("segment ", id, " has data element errors:");
    for (const ElementNote& e : element_notes_) {
      message += core::Cat(" ", id, e.position < 10 ? "0" : "", e.position,
                           e.component > 0 ? core::Cat("-", e.component) : "", " ",
                           Shown(e.bad_value), " ", ElementErrorText(e.code), ";");
    }
    message.pop_back();
    SegmentNote n = note("8", std::move(message));
    n.elements = std::move(element_notes_);
    element_notes_.clear();
    AddSegmentNote(std::move(n));
  }
}

void X12Validator::EndSet(const Segment* se) {
  OpenSet& s = *set_;
  SetVerdict& v = s.verdict;
  int64_t last_position = 0;
  if (se != nullptr) {
    last_position = se->position().in_set;
    v.segment_count = last_position;
    const std::string_view n = se->element(1);
    if (!AllDigits(n) || n.size() > 10 || Num(n) != last_position) {
      SetProblem("4", se,
                 core::Cat("SE01 ", Shown(n), " but the set has ", last_position, " segments"));
    }
    if (se->element(2) != v.control_number) {
      SetProblem("3", se,
                 core::Cat("SE02 ", Shown(se->element(2)), " does not match ST02 ",
                           Shown(v.control_number)));
    }
  } else {
    SetProblem("2", nullptr, "no SE: the transaction set is not closed");
  }
  if (s.rule != nullptr) {
    if (s.in_ak2) {
      AddSegmentNote(SegmentNote{.segment_id = "AK5",
                                 .position = last_position,
                                 .code = "3",
                                 .offset = se != nullptr ? se->position().offset : v.offset,
                                 .message = "mandatory segment AK5 missing at the end of the set"});
    }
    for (size_t i = 0; i < s.rule->mandatory.size(); ++i) {
      if (s.mandatory_seen[i]) continue;
      AddSegmentNote(SegmentNote{
          .segment_id = std::string(s.rule->mandatory[i]),
          .position = last_position,
          .code = "3",
          .offset = se != nullptr ? se->position().offset : v.offset,
          .message = core::Cat("mandatory segment ", s.rule->mandatory[i], " missing")});
    }
  }
  if (!v.segment_notes.empty()) AddCode(&v.codes, "5");
  v.ack = v.codes.empty() && v.problems.empty() ? 'A' : 'R';
  GroupVerdict& g = group_->verdict;
  if (v.ack == 'A') ++g.accepted_sets;
  listener_->OnSet(*interchange_, g, v);
  if (options_.retain_accepted_sets || v.ack != 'A') g.sets.push_back(std::move(v));
  set_.reset();
}

absl::Status Validate(X12Reader& reader, X12Validator& validator) {
  for (;;) {
    absl::StatusOr<ReadEvent> ev = reader.Next();
    if (!ev.ok()) return ev.status();
    if (*ev == ReadEvent::kEnd) break;
    if (*ev == ReadEvent::kSegment) {
      validator.OnSegment(reader.segment(), reader);
    } else {
      validator.OnIssue(reader.issue());
    }
  }
  validator.Finish();
  return absl::OkStatus();
}

absl::StatusOr<FileVerdict> ValidateAll(std::unique_ptr<ByteSource> source,
                                        ValidatorOptions options) {
  X12Reader reader(std::move(source));
  CollectingListener listener;
  X12Validator validator(&listener, options);
  if (absl::Status s = Validate(reader, validator); !s.ok()) return s;
  return std::move(listener.mutable_verdict());
}

std::string_view Ta1NoteText(std::string_view code) {
  static constexpr std::pair<std::string_view, std::string_view> kTexts[] = {
      {"000", "no error"},
      {"001", "the interchange control number in the header and trailer do not match"},
      {"002", "this standard as noted in the control standards identifier is not supported"},
      {"003", "this version of the controls is not supported"},
      {"004", "the segment terminator is invalid"},
      {"005", "invalid interchange ID qualifier for sender"},
      {"006", "invalid interchange sender ID"},
      {"007", "invalid interchange ID qualifier for receiver"},
      {"008", "invalid interchange receiver ID"},
      {"009", "unknown interchange receiver ID"},
      {"010", "invalid authorization information qualifier value"},
      {"011", "invalid authorization information value"},
      {"012", "invalid security information qualifier value"},
      {"013", "invalid security information value"},
      {"014", "invalid interchange date value"},
      {"015", "invalid interchange time value"},
      {"016", "invalid interchange standards identifier value"},
      {"017", "invalid interchange version ID value"},
      {"018", "invalid interchange control number value"},
      {"019", "invalid acknowledgment requested value"},
      {"020", "invalid test indicator value"},
      {"021", "invalid number of included groups value"},
      {"022", "invalid control structure"},
      {"023", "improper (premature) end-of-file (transmission)"},
      {"024", "invalid interchange content (e.g., invalid GS segment)"},
      {"025", "duplicate interchange control number"},
      {"026", "invalid data element separator"},
      {"027", "invalid component element separator"},
  };
  for (const auto& [c, t] : kTexts) {
    if (c == code) return t;
  }
  return "";
}

std::string_view GroupErrorText(std::string_view code) {
  static constexpr std::pair<std::string_view, std::string_view> kTexts[] = {
      {"1", "functional group not supported"},
      {"2", "functional group version not supported"},
      {"3", "functional group trailer missing"},
      {"4", "group control number in the functional group header and trailer do not agree"},
      {"5", "number of included transaction sets does not match actual count"},
      {"6", "group control number violates syntax"},
  };
  for (const auto& [c, t] : kTexts) {
    if (c == code) return t;
  }
  return "";
}

std::string_view SetErrorText(std::string_view code) {
  static constexpr std::pair<std::string_view, std::string_view> kTexts[] = {
      {"1", "transaction set not supported"},
      {"2", "transaction set trailer missing"},
      {"3", "transaction set control number in header and trailer do not match"},
      {"4", "number of included segments does not match actual count"},
      {"5", "one or more segments in error"},
      {"6", "missing or invalid transaction set identifier"},
      {"7", "missing or invalid transaction set control number"},
      {"23", "transaction set control number not unique within the functional group"},
  };
  for (const auto& [c, t] : kTexts) {
    if (c == code) return t;
  }
  return "";
}

std::string_view SegmentErrorText(std::string_view code) {
  static constexpr std::pair<std::string_view, std::string_view> kTexts[] = {
      {"1", "unrecognized segment ID"},        {"2", "unexpected segment"},
      {"3", "mandatory segment missing"},      {"4", "loop occurs over maximum times"},
      {"5", "segment exceeds maximum use"},    {"6", "segment not in defined transaction set"},
      {"7", "segment not in proper sequence"}, {"8", "segment has data element errors"},
  };
  for (const auto& [c, t] : kTexts) {
    if (c == code) return t;
  }
  return "";
}

std::string_view ElementErrorText(std::string_view code) {
  static constexpr std::pair<std::string_view, std::string_view> kTexts[] = {
      {"1", "mandatory data element missing"},
      {"2", "conditional required data element missing"},
      {"3", "too many data elements"},
      {"4", "data element too short"},
      {"5", "data element too long"},
      {"6", "invalid character in data element"},
      {"7", "invalid code value"},
      {"8", "invalid date"},
      {"9", "invalid time"},
      {"10", "exclusion condition violated"},
  };
  for (const auto& [c, t] : kTexts) {
    if (c == code) return t;
  }
  return "";
}

}  // namespace keelson::edi
