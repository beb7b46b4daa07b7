#include "edi/ack.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::edi {
namespace {

// AK404 is a copy of the bad data; it must not carry the response's delimiters or control bytes.
std::string SafeCopy(std::string_view v, const Delimiters& d) {
  std::string out;
  for (size_t i = 0; i < v.size() && out.size() < 99; ++i) {
    const unsigned char c = v[i];
    const bool bad = c < 0x20 || c == 0x7F || c >= 0x80 || c == d.element ||
                     c == static_cast<unsigned char>(d.component) ||
                     d.segment.find(static_cast<char>(c)) != std::string::npos;
    out += bad ? '?' : static_cast<char>(c);
  }
  return out;
}

absl::Status Write997(InterchangeWriter& w, const GroupVerdict& g, const Delimiters& d) {
  if (absl::Status s = w.BeginSet("997", "0001"); !s.ok()) return s;
  if (absl::Status s = w.Add("AK1", {g.functional_id, g.control_number}); !s.ok()) return s;
  for (const SetVerdict& set : g.sets) {
    if (absl::Status s = w.Add("AK2", {set.id, set.control_number}); !s.ok()) return s;
    for (const SegmentNote& n : set.segment_notes) {
      if (absl::Status s =
              w.Add("AK3", {SafeCopy(n.segment_id, d), core::Cat(n.position), n.loop_id, n.code});
          !s.ok()) {
        return s;
      }
      for (const ElementNote& e : n.elements) {
        std::string position = core::Cat(e.position);
        if (e.component > 0) position += core::Cat(std::string(1, d.component), e.component);
        if (absl::Status s =
                w.Add("AK4", {position, e.reference, e.code, SafeCopy(e.bad_value, d)});
            !s.ok()) {
          return s;
        }
      }
    }
    std::vector<std::string> ak5 = {std::string(1, set.ack)};
    for (const std::string& c : set.codes) ak5.push_back(c);
    if (absl::Status s = w.Add("AK5", ak5); !s.ok()) return s;
  }
  std::vector<std::string> ak9 = {std::string(1, g.ack),
                                  core::Cat(g.declared_sets.value_or(g.received_sets)),
                                  core::Cat(g.received_sets), core::Cat(g.accepted_sets)};
  for (const std::string& c : g.codes) ak9.push_back(c);
  if (absl::Status s = w.Add("AK9", ak9); !s.ok()) return s;
  return w.EndSet();
}

}  // namespace

absl::StatusOr<std::string> BuildResponse(const InterchangeVerdict& received,
                                          ControlNumberSource& control_numbers,
                                          const AckOptions& options) {
  if (!received.Addressable()) return std::string();
  const bool ta1 = !received.readable || received.ack != 'A' || received.ack_requested();
  std::vector<const GroupVerdict*> groups;
  if (received.readable && received.ack != 'R') {
    for (const GroupVerdict& g : received.groups) {
      if (g.functional_id != "FA") groups.push_back(&g);
    }
  }
  if (!ta1 && groups.empty()) return std::string();

  EnvelopeParams p;
  p.sender_qualifier = std::string(received.Isa(7));
  p.sender_id = std::string(TrimSpaces(received.Isa(8)));
  p.receiver_qualifier = std::string(received.Isa(5));
  p.receiver_id = std::string(TrimSpaces(received.Isa(6)));
  p.usage = received.Isa(15) == "T" ? 'T' : 'P';
  p.now = options.now;
  p.zone = options.zone;
  const std::string partner = p.PartnerKey();

  InterchangeWriter w(options.delimiters, options.line_end);
  absl::StatusOr<int64_t> isa13 = control_numbers.NextInterchange(partner);
  if (!isa13.ok()) return isa13.status();
  if (absl::Status s = w.BeginInterchange(p, *isa13); !s.ok()) return s;
  if (ta1) {
    if (absl::Status s = w.Add("TA1", {received.Isa(13), received.Isa(9), received.Isa(10),
                                       std::string(1, received.ack), received.note_code});
        !s.ok()) {
      return s;
    }
  }
  for (const GroupVerdict* g : groups) {
    absl::StatusOr<int64_t> gs06 = control_numbers.NextGroup(partner);
    if (!gs06.ok()) return gs06.status();
    // Application codes swap like the interchange IDs.
    const std::string_view app_sender = g->receiver.empty() ? p.sender_id : g->receiver;
    const std::string_view app_receiver = g->sender.empty() ? p.receiver_id : g->sender;
    if (absl::Status s = w.BeginGroup("FA", app_sender, app_receiver, *gs06); !s.ok()) return s;
    if (absl::Status s = Write997(w, *g, options.delimiters); !s.ok()) return s;
    if (absl::Status s = w.EndGroup(); !s.ok()) return s;
  }
  return w.EndInterchange();
}

absl::StatusOr<FunctionalAck> ParseFunctionalAck(const TransactionSet& set) {
  if (set.id != "997" && set.id != "999") {
    return absl::InvalidArgumentError(core::Cat("transaction set ", set.id, " is not a 997"));
  }
  FunctionalAck ack;
  bool ak1 = false, ak9 = false;
  AckedSet* current = nullptr;
  SegmentNote* note = nullptr;
  auto number = [](const OwnedSegment& s, size_t i, int64_t* out) -> absl::Status {
    if (!absl::SimpleAtoi(core::AbslSv(s.element(i)), out) || *out < 0) {
      return absl::InvalidArgumentError(core::Cat(s.id(), i < 10 ? "0" : "", i, " \"", s.element(i),
                                                  "\" at segment ", s.position().in_set, " (byte ",
                                                  s.position().offset, ") is not a number"));
    }
    return absl::OkStatus();
  };
  for (const OwnedSegment& s : set.segments) {
    const std::string_view id = s.id();
    if (id == "AK1") {
      ak1 = true;
      ack.functional_id = std::string(s.element(1));
      ack.group_control_number = std::string(s.element(2));
    } else if (id == "AK2") {
      ack.sets.emplace_back();
      current = &ack.sets.back();
      note = nullptr;
      current->set_id = std::string(s.element(1));
      current->control_number = std::string(s.element(2));
    } else if ((id == "AK3" || id == "IK3") && current != nullptr) {
      SegmentNote n{.segment_id = std::string(s.element(1)),
                    .loop_id = std::string(s.element(3)),
                    .code = std::string(s.element(4)),
                    .offset = s.position().offset};
      absl::SimpleAtoi(core::AbslSv(s.element(2)), &n.position);
      current->segment_notes.push_back(std::move(n));
      note = &current->segment_notes.back();
    } else if ((id == "AK4" || id == "IK4") && note != nullptr) {
      ElementNote e{.reference = std::string(s.element(2)),
                    .code = std::string(s.element(3)),
                    .bad_value = std::string(s.element(4))};
      absl::SimpleAtoi(core::AbslSv(s.component(1, 1)), &e.position);
      absl::SimpleAtoi(core::AbslSv(s.component(1, 2)), &e.component);
      note->elements.push_back(std::move(e));
    } else if ((id == "AK5" || id == "IK5") && current != nullptr) {
      current->code = std::string(s.element(1));
      for (size_t i = 2; i <= 6; ++i) {
        if (!s.element(i).empty()) current->error_codes.emplace_back(s.element(i));
      }
      current = nullptr;
      note = nullptr;
    } else if (id == "AK9") {
      ak9 = true;
      ack.code = std::string(s.element(1));
      if (absl::Status st = number(s, 2, &ack.included); !st.ok()) return st;
      if (absl::Status st = number(s, 3, &ack.received); !st.ok()) return st;
      if (absl::Status st = number(s, 4, &ack.accepted); !st.ok()) return st;
      for (size_t i = 5; i <= 9; ++i) {
        if (!s.element(i).empty()) ack.error_codes.emplace_back(s.element(i));
      }
    }
  }
  if (!ak1 || !ak9) {
    return absl::InvalidArgumentError(
        core::Cat("997 ", set.control_number, " has no ", ak1 ? "AK9" : "AK1"));
  }
  return ack;
}

absl::StatusOr<ReceivedAcks> ReadAcks(std::string_view x12) {
  ReceivedAcks out;
  X12Reader reader(StringSource(x12));
  absl::Status status = ForEachTransactionSet(reader, [&](const TransactionSet& set) {
    if (set.id != "997") return absl::OkStatus();
    absl::StatusOr<FunctionalAck> ack = ParseFunctionalAck(set);
    if (!ack.ok()) return ack.status();
    out.acks.push_back(*std::move(ack));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  // TA1s sit outside transaction sets: a second, cheap pass.
  X12Reader again(StringSource(x12));
  for (;;) {
    absl::StatusOr<ReadEvent> ev = again.Next();
    if (!ev.ok()) return ev.status();
    if (*ev == ReadEvent::kEnd) break;
    if (*ev != ReadEvent::kSegment || again.segment().id() != "TA1") continue;
    const Segment& s = again.segment();
    out.ta1s.push_back(ReceivedTa1{.control_number = std::string(s.element(1)),
                                   .date = std::string(s.element(2)),
                                   .time = std::string(s.element(3)),
                                   .ack = std::string(s.element(4)),
                                   .note_code = std::string(s.element(5))});
  }
  return out;
}

}  // namespace keelson::edi
