#include "edi/transaction_set.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::edi {

absl::Status ForEachTransactionSet(X12Reader& reader,
                                   const std::function<absl::Status(const TransactionSet&)>& fn,
                                   TransactionSetOptions options) {
  TransactionSet set;
  bool open = false;
  std::vector<std::string> isa, gs;
  auto flush = [&]() -> absl::Status {
    if (!open) return absl::OkStatus();
    open = false;
    return fn(set);
  };
  auto fields = [](const Segment& s) {
    std::vector<std::string> out;
    out.reserve(s.size() + 1);
    out.emplace_back(s.id());
    for (size_t i = 1; i <= s.size(); ++i) out.emplace_back(s.element(i));
    return out;
  };
  for (;;) {
    absl::StatusOr<ReadEvent> ev = reader.Next();
    if (!ev.ok()) return ev.status();
    if (*ev == ReadEvent::kEnd) break;
    if (*ev == ReadEvent::kIssue) {
      if (absl::Status s = flush(); !s.ok()) return s;
      isa.clear();
      gs.clear();
      continue;
    }
    const Segment& seg = reader.segment();
    const std::string_view id = seg.id();
    if (id == "ISA" || id == "IEA" || id == "GS" || id == "GE" || id == "ST") {
      if (absl::Status s = flush(); !s.ok()) return s;
    }
    if (id == "ISA") {
      isa = fields(seg);
      gs.clear();
    } else if (id == "GS") {
      gs = fields(seg);
    } else if (id == "GE") {
      gs.clear();
    } else if (id == "IEA") {
      isa.clear();
      gs.clear();
    } else if (id == "ST") {
      open = true;
      set.id = std::string(seg.element(1));
      set.control_number = std::string(seg.element(2));
      set.isa = isa;
      set.gs = gs;
      set.segments.clear();
      set.segments.emplace_back(seg);
    } else if (open) {
      if (set.segments.size() >= options.max_segments) {
        return absl::ResourceExhaustedError(core::Cat("transaction set ", set.id, " ",
                                                      set.control_number, " has more than ",
                                                      options.max_segments, " segments"));
      }
      set.segments.emplace_back(seg);
      if (id == "SE") {
        if (absl::Status s = flush(); !s.ok()) return s;
      }
    }
  }
  return flush();
}

absl::StatusOr<std::vector<TransactionSet>> ReadTransactionSets(std::string_view x12) {
  X12Reader reader(StringSource(x12));
  std::vector<TransactionSet> out;
  absl::Status s = ForEachTransactionSet(reader, [&](const TransactionSet& t) {
    out.push_back(t);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace keelson::edi
