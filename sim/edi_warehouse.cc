#include "sim/edi_warehouse.h"

#include <pthread.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/strings.h"
#include "edi/ack.h"
#include "edi/transaction_set.h"
#include "edi/x12_validator.h"
#include "edi/x12_writer.h"
#include "obs/log.h"

namespace keelson::sim {
namespace {

namespace x12 = keelson::edi;
using core::Cat;

std::string Key(std::string_view isa13, std::string_view gs06, std::string_view st02) {
  return Cat(x12::TrimSpaces(isa13), "/", x12::TrimSpaces(gs06), "/", x12::TrimSpaces(st02));
}

std::string Element(const std::vector<std::string>& fields, size_t i) {
  return i < fields.size() ? fields[i] : std::string();
}

class Numbers final : public x12::ControlNumberSource {
 public:
  Numbers(std::function<int64_t()> isa, std::function<int64_t()> gs)
      : isa_(std::move(isa)), gs_(std::move(gs)) {}
  absl::StatusOr<int64_t> NextInterchange(std::string_view) override {
    const int64_t n = isa_();
    if (first_ == 0) first_ = n;
    return n;
  }
  absl::StatusOr<int64_t> NextGroup(std::string_view) override { return gs_(); }
  int64_t first() const { return first_; }

 private:
  std::function<int64_t()> isa_, gs_;
  int64_t first_ = 0;
};

// The parts of a 940 a warehouse needs to ship it.
EdiWarehouseSim::Order Read940(const x12::TransactionSet& set) {
  EdiWarehouseSim::Order o;
  EdiWarehouseSim::Line* line = nullptr;
  for (const x12::OwnedSegment& s : set.segments) {
    const std::string_view id = s.id();
    if (id == "W05") {
      o.order_id = std::string(s.element(2));
      o.purchase_order = std::string(s.element(3));
    } else if (id == "N1" && s.element(1) == "ST") {
      o.ship_to = std::string(s.element(2));
    } else if (id == "W01") {
      o.lines.emplace_back();
      line = &o.lines.back();
      double q = 0;
      if (absl::SimpleAtod(core::AbslSv(s.element(1)), &q))
        line->quantity = static_cast<int64_t>(q);
      line->sku = std::string(s.element(5));
    } else if (id == "N9" && s.element(1) == "LI" && line != nullptr) {
      line->line_id = std::string(s.element(2));
    }
  }
  return o;
}

}  // namespace

EdiWarehouseSim::EdiWarehouseSim(x12::FileTransport* transport, Options options)
    : t_(transport), o_(std::move(options)), settle_(o_.settle) {}

EdiWarehouseSim::~EdiWarehouseSim() { Stop(); }

void EdiWarehouseSim::Start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sim-edi-wh");
    while (!stop_.WaitForNotificationWithTimeout(o_.poll_interval)) {
      auto r = PollOnce();
      if (!r.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        ++stats_.poll_errors;
        obs::LogWarn("EDI warehouse simulator: poll failed", {{"error", r.status().ToString()}});
      }
    }
  });
}

void EdiWarehouseSim::Stop() {
  if (!started_) return;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

EdiWarehouseSim::Stats EdiWarehouseSim::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

std::vector<EdiWarehouseSim::Order> EdiWarehouseSim::orders() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Order> out;
  for (const auto& [id, o] : orders_) out.push_back(o);
  return out;
}

int64_t EdiWarehouseSim::NextInterchange() {
  std::lock_guard<std::mutex> l(mu_);
  isa13_ = isa13_ >= 999999999 ? 1 : isa13_ + 1;
  return isa13_;
}

int64_t EdiWarehouseSim::NextGroup() {
  std::lock_guard<std::mutex> l(mu_);
  gs06_ = gs06_ >= 999999999 ? 1 : gs06_ + 1;
  return gs06_;
}

absl::Status EdiWarehouseSim::Write(const std::string& name, const std::string& content) {
  absl::Status s = t_->WriteAtomic(o_.outbound_folder, name, content);
  if (s.code() != absl::StatusCode::kNotFound) return s;
  if (auto made = t_->MakeDirs(o_.outbound_folder); !made.ok()) return made;
  return t_->WriteAtomic(o_.outbound_folder, name, content);
}

absl::StatusOr<int> EdiWarehouseSim::PollOnce() {
  std::lock_guard<std::mutex> poll(poll_mu_);
  auto listing = t_->List(o_.inbound_folder);
  if (!listing.ok()) {
    if (listing.status().code() != absl::StatusCode::kNotFound) return listing.status();
    if (auto s = t_->MakeDirs(o_.inbound_folder); !s.ok()) return s;
    return 0;
  }
  int handled = 0;
  for (const x12::RemoteFile& f : settle_.Ready(*listing, absl::Now())) {
    auto content = t_->Read(x12::JoinPath(o_.inbound_folder, f.name), 256 << 20);
    if (!content.ok()) return content.status();
    if (auto s = Handle(f.name, *content); !s.ok()) return s;
    auto moved = x12::MoveAside(*t_, o_.inbound_folder, f.name, o_.done_folder, absl::Now());
    if (!moved.ok()) return moved.status();
    ++handled;
  }
  return handled;
}

absl::Status EdiWarehouseSim::Handle(const std::string& name, const std::string& content) {
  (void)name;
  auto verdict = x12::ValidateAll(x12::StringSource(content));
  if (!verdict.ok()) return verdict.status();
  auto sets = x12::ReadTransactionSets(content);
  if (!sets.ok()) return sets.status();
  // Where each set's verdict is, so a 940 can be rejected in the 997.
  absl::flat_hash_map<std::string, std::pair<x12::GroupVerdict*, x12::SetVerdict*>> verdicts;
  for (x12::InterchangeVerdict& ic : verdict->interchanges) {
    for (x12::GroupVerdict& g : ic.groups) {
      for (x12::SetVerdict& s : g.sets) {
        if (ic.ack != 'R' && g.ack != 'R') {
          verdicts[Key(ic.Isa(13), g.control_number, s.control_number)] = {&g, &s};
        }
      }
    }
  }
  std::vector<std::pair<Order, int64_t>> to_ship;  // with its place among the 940s read
  {
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.files_read;
    stats_.interchanges += static_cast<int64_t>(verdict->interchanges.size());
    for (const x12::TransactionSet& set : *sets) {
      auto it = verdicts.find(Key(Element(set.isa, 13), Element(set.gs, 6), set.control_number));
      if (it == verdicts.end() || !it->second.second->Accepted()) continue;
      if (set.id == "997") {
        auto ack = x12::ParseFunctionalAck(set);
        ++stats_.acks_received;
        if (!ack.ok() || !ack->Accepted()) ++stats_.acks_rejected;
        continue;
      }
      if (set.id != "940") continue;
      Order o = Read940(set);
      ++stats_.orders_received;
      ++order_seq_;
      Order& held = orders_[o.order_id];
      const int times = held.times + 1;
      held = o;
      held.times = times;
      if (o_.reject_every > 0 && order_seq_ % o_.reject_every == 0) {
        // The warehouse does not know the first line's item.
        auto [g, s] = it->second;
        s->ack = 'R';
        s->codes = {"5"};
        int64_t position = 0;
        for (const x12::OwnedSegment& seg : set.segments) {
          if (seg.id() == "W01") {
            position = seg.position().in_set;
            break;
          }
        }
        s->segment_notes.push_back(
            {.segment_id = "W01",
             .position = position,
             .code = "8",
             .message = "item not set up at the warehouse",
             .elements = {{.position = 5,
                           .reference = "234",
                           .code = "7",
                           .bad_value = o.lines.empty() ? "" : o.lines.front().sku}}});
        --g->accepted_sets;
        g->ack = g->accepted_sets > 0 ? 'P' : 'R';
        ++stats_.orders_rejected;
        continue;
      }
      to_ship.emplace_back(std::move(o), order_seq_);
    }
  }

  // The 997 (and TA1) first, as a warehouse's translator sends it.
  Numbers numbers([this] { return NextInterchange(); }, [this] { return NextGroup(); });
  x12::AckOptions ack_options;
  ack_options.delimiters = o_.delimiters;
  ack_options.line_end = o_.line_end;
  ack_options.now = absl::Now();
  std::string response;
  for (const x12::InterchangeVerdict& ic : verdict->interchanges) {
    auto r = x12::BuildResponse(ic, numbers, ack_options);
    if (!r.ok()) return r.status();
    response += *r;
  }
  if (!response.empty()) {
    if (auto s =
            Write(absl::StrFormat("%s997_%09d.x12", o_.file_prefix, numbers.first()), response);
        !s.ok()) {
      return s;
    }
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.files_997;
  }
  if (!o_.send_945 || to_ship.empty()) return absl::OkStatus();

  // Then the 945s of this file's orders, in one interchange.
  const absl::Time now = absl::Now();
  x12::EnvelopeParams env;
  env.sender_qualifier = o_.qualifier;
  env.sender_id = o_.id;
  env.receiver_qualifier = o_.keelson_qualifier;
  env.receiver_id = o_.keelson_id;
  env.now = now;
  const int64_t isa13 = NextInterchange();
  x12::InterchangeWriter w(o_.delimiters, o_.line_end);
  if (auto s = w.BeginInterchange(env, isa13); !s.ok()) return s;
  if (auto s = w.BeginGroup("SW", o_.id, o_.keelson_id, NextGroup()); !s.ok()) return s;
  const std::string date = absl::FormatTime("%Y%m%d", now, absl::UTCTimeZone());
  int st = 0;
  int64_t shipments = 0;
  for (size_t n = 0; n < to_ship.size(); ++n) {
    const Order& o = to_ship[n].first;
    const int64_t nth = to_ship[n].second;
    const bool short_one = o_.short_every > 0 && nth % o_.short_every == 0;
    const bool split = o_.split_every > 0 && nth % o_.split_every == 0 && o.lines.size() > 1;
    int64_t seq = 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      seq = ++shipment_seq_;
    }
    // One 945 per part: all lines, or (split) the first line and then the others.
    std::vector<std::vector<size_t>> parts;
    if (split) {
      parts.push_back({0});
      parts.emplace_back();
      for (size_t i = 1; i < o.lines.size(); ++i) parts.back().push_back(i);
    } else {
      parts.emplace_back();
      for (size_t i = 0; i < o.lines.size(); ++i) parts.back().push_back(i);
    }
    bool shorted = false;
    for (size_t p = 0; p < parts.size(); ++p) {
      const std::string shipment_id =
          parts.size() == 1 ? Cat(o_.id, "-SH", seq) : Cat(o_.id, "-SH", seq, "-", p + 1);
      if (auto s = w.BeginSet("945", absl::StrFormat("%04d", ++st)); !s.ok()) return s;
      if (auto s = w.Add("W06", {"F", o.order_id, date, shipment_id, "", o.purchase_order});
          !s.ok()) {
        return s;
      }
      if (!o.ship_to.empty()) {
        if (auto s = w.Add("N1", {"ST", o.ship_to}); !s.ok()) return s;
      }
      if (auto s = w.Add("N9", {"2I", absl::StrFormat("1Z%s%010d", o_.carrier_scac, seq)});
          !s.ok()) {
        return s;
      }
      if (auto s = w.Add("W27", {"U", o_.carrier_scac}); !s.ok()) return s;
      int64_t total = 0;
      int lx = 0;
      for (size_t i : parts[p]) {
        const Line& line = o.lines[i];
        int64_t shipped = line.quantity;
        if (short_one && !shorted && line.quantity > 1) {
          shipped -= 1;
          shorted = true;
        }
        total += shipped;
        if (auto s = w.Add("LX", {Cat(++lx)}); !s.ok()) return s;
        if (auto s = w.Add(
                "W12", {shipped == line.quantity ? "CC" : "CP", Cat(line.quantity), Cat(shipped),
                        Cat(line.quantity - shipped), "EA", "", "SK", line.sku});
            !s.ok()) {
          return s;
        }
        if (!line.line_id.empty()) {
          if (auto s = w.Add("N9", {"LI", line.line_id}); !s.ok()) return s;
        }
      }
      if (auto s = w.Add("W03", {Cat(total)}); !s.ok()) return s;
      if (auto s = w.EndSet(); !s.ok()) return s;
      ++shipments;
    }
  }
  if (auto s = w.EndGroup(); !s.ok()) return s;
  auto text = w.EndInterchange();
  if (!text.ok()) return text.status();
  if (auto s = Write(absl::StrFormat("%s945_%09d.x12", o_.file_prefix, isa13), *text); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.files_945;
  stats_.shipments += shipments;
  return absl::OkStatus();
}

}  // namespace keelson::sim
