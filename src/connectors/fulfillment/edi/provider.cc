#include "connectors/fulfillment/edi/provider.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "connectors/fulfillment/edi/mapping.h"
#include "core/ids.h"
#include "core/strings.h"
#include "edi/ack.h"
#include "edi/documents.h"
#include "edi/transaction_set.h"
#include "edi/x12_validator.h"
#include "edi/x12_writer.h"
#include "net/signature.h"
#include "obs/log.h"

namespace keelson::connectors::edi {
namespace {

namespace x12 = keelson::edi;
using json = nlohmann::json;
using core::Cat;

constexpr int64_t kMaxControlNumber = 999999999;  // ISA13 and GS06 are at most nine digits
constexpr int kMaxBatchesPerRun = 20;
constexpr size_t kMaxErrorsKept = 50;
constexpr size_t kMaxInventoryRowsOnTimeline = 500;

// Control numbers taken inside the transaction that uses them, from the partner's counters.
class TxControlNumbers final : public x12::ControlNumberSource {
 public:
  TxControlNumbers(store::Tx& tx, std::string partner) : tx_(tx), partner_(std::move(partner)) {}
  absl::StatusOr<int64_t> NextInterchange(std::string_view) override {
    auto n = tx_.NextControlNumber(partner_, "isa", kMaxControlNumber);
    if (n.ok() && first_isa_ == 0) first_isa_ = *n;
    return n;
  }
  absl::StatusOr<int64_t> NextGroup(std::string_view) override {
    return tx_.NextControlNumber(partner_, "gs", kMaxControlNumber);
  }
  int64_t first_isa() const { return first_isa_; }

 private:
  store::Tx& tx_;
  std::string partner_;
  int64_t first_isa_ = 0;
};

// "main:1234/2" -> "order:main:1234".
std::string OrderEntity(std::string_view segment_id) {
  const size_t slash = segment_id.rfind('/');
  return Cat("order:", segment_id.substr(0, slash));
}

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  return absl::SimpleAtoi(core::AbslSv(x12::TrimSpaces(s)), &v) ? v : -1;
}

std::string Element(const std::vector<std::string>& fields, size_t i) {
  return i < fields.size() ? std::string(x12::TrimSpaces(fields[i])) : std::string();
}

// Key of a transaction set: ISA13 / GS06 / ST02 as numbers where they are numbers.
std::string SetKey(std::string_view isa13, std::string_view gs06, std::string_view st02) {
  return Cat(ToInt(isa13), "/", ToInt(gs06), "/", x12::TrimSpaces(st02));
}

std::string AckCodes(const std::vector<std::string>& codes) { return absl::StrJoin(codes, " "); }

}  // namespace

struct EdiProvider::Inbound {
  std::string name;
  uint64_t size = 0;
  std::string content;
  std::string sha256;
  std::string corr;
  bool too_large = false;
  // Analyse.
  x12::FileVerdict verdict;
  std::vector<x12::TransactionSet> sets;  // accepted, to apply
  int64_t sets_total = 0;
  int64_t sets_rejected = 0;
  std::vector<std::string> errors;                 // why something in the file was not applied
  std::vector<std::string> notes;                  // what was noticed and did not stop anything
  size_t analysis_errors = 0, analysis_notes = 0;  // how many of those Analyse found
  // Apply.
  bool duplicate = false;
  store::EdiFile first;  // the earlier record, when duplicate
  int64_t applied = 0;
  int64_t shipments = 0;
  std::vector<std::pair<std::string, std::string>> rejected;  // 940s refused: segment, reason
  json counts = json::object();                               // per set type
  std::string state;
  std::string response;
  std::string response_name;
  int64_t response_id = 0;
  void Error(std::string e) {
    if (errors.size() < kMaxErrorsKept) errors.push_back(std::move(e));
  }
};

EdiProvider::EdiProvider(EdiPartnerOptions options,
                         std::unique_ptr<keelson::edi::FileTransport> transport,
                         store::Store* store, const core::Clock* clock, EdiHooks hooks,
                         obs::Registry* metrics)
    : o_(std::move(options)),
      name_(ProviderName(o_.id)),
      transport_(std::move(transport)),
      store_(store),
      clock_(clock),
      hooks_(std::move(hooks)),
      settle_(o_.settle) {
  if (metrics != nullptr) {
    const std::string files = "EDI files exchanged with trading partners, by direction and result.";
    m_files_in_ =
        metrics->GetCounter("keelson_edi_files_total", files,
                            {{"partner", o_.id}, {"direction", "in"}, {"result", "processed"}});
    m_files_rejected_ =
        metrics->GetCounter("keelson_edi_files_total", files,
                            {{"partner", o_.id}, {"direction", "in"}, {"result", "rejected"}});
    m_files_duplicate_ =
        metrics->GetCounter("keelson_edi_files_total", files,
                            {{"partner", o_.id}, {"direction", "in"}, {"result", "duplicate"}});
    m_files_out_ =
        metrics->GetCounter("keelson_edi_files_total", files,
                            {{"partner", o_.id}, {"direction", "out"}, {"result", "sent"}});
    const std::string docs = "EDI transaction sets, by partner, type and event.";
    m_940_sent_ = metrics->GetCounter("keelson_edi_documents_total", docs,
                                      {{"partner", o_.id}, {"type", "940"}, {"event", "sent"}});
    m_940_rejected_ =
        metrics->GetCounter("keelson_edi_documents_total", docs,
                            {{"partner", o_.id}, {"type", "940"}, {"event", "rejected"}});
    m_shipments_ =
        metrics->GetCounter("keelson_edi_documents_total", docs,
                            {{"partner", o_.id}, {"type", "shipment"}, {"event", "received"}});
  }
}

std::string EdiProvider::SendPartition() const { return Cat("edi:", o_.id, ":send"); }
std::string EdiProvider::PollPartition() const { return Cat("edi:", o_.id, ":poll"); }
std::string EdiProvider::SendFlag() const { return Cat("edi.send.pending:", o_.id); }

store::NewJob EdiProvider::SendJob(absl::Time run_at) const {
  return {.kind = kEdiSendJobKind,
          .partition_key = SendPartition(),
          .payload = json{{"partner", o_.id}}.dump(),
          .max_attempts = o_.max_attempts,
          .run_at = run_at};
}

store::NewJob EdiProvider::PollJob() const {
  return {.kind = kEdiPollJobKind,
          .partition_key = PollPartition(),
          .payload = json{{"partner", o_.id}}.dump(),
          .max_attempts = o_.max_attempts};
}

std::string EdiProvider::OutboundName(std::string_view type, int64_t isa13) const {
  return absl::StrFormat("%s%s_%09d.x12", o_.file_prefix, core::AbslSv(type), isa13);
}

namespace {

x12::EnvelopeParams Envelope(const EdiPartnerOptions& o, absl::Time now) {
  x12::EnvelopeParams p;
  p.sender_qualifier = o.sender_qualifier;
  p.sender_id = o.sender_id;
  p.receiver_qualifier = o.receiver_qualifier;
  p.receiver_id = o.receiver_id;
  p.usage = o.usage;
  p.ack_requested = o.ack_requested;
  p.now = now;
  return p;
}

// Whether `order` can be written as a 940 with these delimiters (X12 cannot escape them).
absl::Status Check940(const x12::WarehouseShippingOrder& order, const EdiPartnerOptions& o) {
  x12::InterchangeWriter scratch(o.delimiters, "");
  if (auto s = scratch.BeginInterchange(Envelope(o, absl::UnixEpoch()), 1); !s.ok()) return s;
  if (auto s = scratch.BeginGroup("OW", o.gs_sender.empty() ? o.sender_id : o.gs_sender,
                                  o.gs_receiver.empty() ? o.receiver_id : o.gs_receiver, 1);
      !s.ok()) {
    return s;
  }
  return x12::Write940(order, "0001", scratch);
}

}  // namespace

absl::StatusOr<ReleaseResult> EdiProvider::Release(const ReleaseRequest& request,
                                                   const ReleaseOptions& options) {
  const x12::WarehouseShippingOrder order = OrderFor(request, o_.delimiters);
  if (absl::Status s = Check940(order, o_); !s.ok()) {
    // Our data cannot be said in X12 to this partner: a business refusal (routed elsewhere).
    return absl::InvalidArgumentError(
        Cat("940 for segment ", request.segment_id, " cannot be written: ", s.message()));
  }
  ReleaseResult result;
  result.provider_id = Cat("940:", request.segment_id);
  if (options.verify_first) {
    auto held = store_->ListEdiDocuments(
        {.partner = o_.id, .type = "940", .ref = request.segment_id, .limit = 1});
    if (!held.ok()) return held.status();
    if (!held->empty()) {
      result.already_existed = true;
      return result;
    }
  }
  store::EdiDocument doc{.partner = o_.id,
                         .type = "940",
                         .ref = request.segment_id,
                         .body_json = OrderToJson(order).dump()};
  result.commit = [this, doc = std::move(doc)](store::Tx& tx) -> absl::Status {
    auto fresh = tx.PutEdiDocument(doc);
    if (!fresh.ok()) return fresh.status();
    if (!*fresh) return absl::OkStatus();  // queued by an earlier attempt
    // The first 940 waiting queues the send; the others ride along in its interchange.
    auto first = tx.PutIdempotencyKey(SendFlag());
    if (!first.ok()) return first.status();
    if (*first) {
      if (auto id = tx.EnqueueJob(SendJob(tx.now() + o_.batch_window)); !id.ok()) {
        return id.status();
      }
    }
    return absl::OkStatus();
  };
  return result;
}

absl::Status EdiProvider::WriteOutbound(const std::string& name, std::string_view content) {
  absl::Status s = transport_->WriteAtomic(o_.outbound_folder, name, content);
  if (s.code() != absl::StatusCode::kNotFound) return s;
  // The partner (or a fresh local setup) has not made the folder yet.
  if (auto made = transport_->MakeDirs(o_.outbound_folder); !made.ok()) return made;
  return transport_->WriteAtomic(o_.outbound_folder, name, content);
}

absl::Status EdiProvider::FlushPrepared() {
  auto files = store_->ListEdiFiles({.partner = o_.id,
                                     .direction = "out",
                                     .state = "prepared",
                                     .limit = 100,
                                     .with_content = true});
  if (!files.ok()) return files.status();
  for (const store::EdiFile& f : *files) {
    if (auto s = WriteOutbound(f.name, f.content); !s.ok()) return s;
    if (auto s = store_->Transact(
            clock_->Now(), [&](store::Tx& tx) { return tx.SetEdiFileState(f.id, "sent", ""); });
        !s.ok()) {
      return s;
    }
    if (m_files_out_) m_files_out_->Inc();
  }
  return absl::OkStatus();
}

absl::Status EdiProvider::RunSend(jobs::JobContext& ctx) {
  std::lock_guard<std::mutex> l(run_mu_);
  // From here on a new release queues a new send (this run may not see its 940).
  if (auto s = store_->Transact(
          clock_->Now(),
          [&](store::Tx& tx) { return tx.DeleteIdempotencyKey(SendFlag()).status(); });
      !s.ok()) {
    return s;
  }
  if (auto s = FlushPrepared(); !s.ok()) return s;
  const std::string gs_sender = o_.gs_sender.empty() ? o_.sender_id : o_.gs_sender;
  const std::string gs_receiver = o_.gs_receiver.empty() ? o_.receiver_id : o_.gs_receiver;
  for (int batch = 0; batch < kMaxBatchesPerRun; ++batch) {
    auto pending = store_->ListEdiDocuments(
        {.partner = o_.id, .type = "940", .state = "pending", .limit = o_.max_batch});
    if (!pending.ok()) return pending.status();
    if (pending->empty()) return absl::OkStatus();
    // What can be written goes into the interchange; what cannot (a 940 queued by an older
    // build, say) is refused so its segment is routed elsewhere.
    std::vector<std::pair<const store::EdiDocument*, x12::WarehouseShippingOrder>> good;
    std::vector<std::pair<const store::EdiDocument*, std::string>> bad;
    for (const store::EdiDocument& d : *pending) {
      auto order = OrderFromJson(json::parse(d.body_json, nullptr, false));
      absl::Status s = order.ok() ? Check940(*order, o_) : order.status();
      if (s.ok()) {
        good.emplace_back(&d, std::move(*order));
      } else {
        bad.emplace_back(&d, Cat("940 for segment ", d.ref, " cannot be written: ", s.message()));
      }
    }
    std::string name, content;
    int64_t file_id = 0;
    const absl::Time now = clock_->Now();
    absl::Status committed = store_->Transact(now, [&](store::Tx& tx) -> absl::Status {
      for (const auto& [d, reason] : bad) {
        if (auto s =
                RejectDocument(tx, *d, reason, json{{"error", reason}}, ctx.job.correlation_id);
            !s.ok()) {
          return s;
        }
      }
      if (good.empty()) return absl::OkStatus();
      TxControlNumbers numbers(tx, o_.id);
      auto isa13 = numbers.NextInterchange("");
      if (!isa13.ok()) return isa13.status();
      auto gs06 = numbers.NextGroup("");
      if (!gs06.ok()) return gs06.status();
      x12::InterchangeWriter w(o_.delimiters, o_.line_end);
      if (auto s = w.BeginInterchange(Envelope(o_, now), *isa13); !s.ok()) return s;
      if (auto s = w.BeginGroup("OW", gs_sender, gs_receiver, *gs06); !s.ok()) return s;
      std::vector<std::string> st02;
      for (size_t i = 0; i < good.size(); ++i) {
        st02.push_back(absl::StrFormat("%04d", i + 1));
        if (auto s = x12::Write940(good[i].second, st02.back(), w); !s.ok()) return s;
      }
      if (auto s = w.EndGroup(); !s.ok()) return s;
      auto text = w.EndInterchange();
      if (!text.ok()) return text.status();
      content = std::move(*text);
      name = OutboundName("940", *isa13);
      auto id = tx.PutOutboundFile(
          {.partner = o_.id,
           .direction = "out",
           .name = name,
           .sha256 = net::Sha256Hex(content),
           .size = static_cast<int64_t>(content.size()),
           .state = "prepared",
           .detail_json =
               json{{"type", "940"}, {"sets", good.size()}, {"isa13", *isa13}, {"gs06", *gs06}}
                   .dump(),
           .content = content});
      if (!id.ok()) return id.status();
      file_id = *id;
      for (size_t i = 0; i < good.size(); ++i) {
        const store::EdiDocument& d = *good[i].first;
        if (auto s = tx.SetEdiDocumentSent(d.id, file_id, *isa13, *gs06, st02[i]); !s.ok()) {
          return s;
        }
        if (auto s = tx.AppendTimeline({.entity = OrderEntity(d.ref),
                                        .kind = "edi.940_sent",
                                        .detail_json = json{{"segment", d.ref},
                                                            {"partner", o_.id},
                                                            {"file", name},
                                                            {"isa13", *isa13},
                                                            {"gs06", *gs06},
                                                            {"st02", st02[i]}}
                                                           .dump()});
            !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    });
    if (!committed.ok()) return committed;
    for (const auto& [d, reason] : bad) {
      if (m_940_rejected_) m_940_rejected_->Inc();
      obs::LogWarn("EDI 940 cannot be written: segment refused",
                   {{"partner", o_.id}, {"segment", d->ref}, {"reason", reason}});
    }
    if (file_id == 0) continue;
    // The bytes are committed: a failure from here on writes the same file again (FlushPrepared).
    if (auto s = WriteOutbound(name, content); !s.ok()) return s;
    if (auto s = store_->Transact(
            clock_->Now(), [&](store::Tx& tx) { return tx.SetEdiFileState(file_id, "sent", ""); });
        !s.ok()) {
      return s;
    }
    if (m_files_out_) m_files_out_->Inc();
    if (m_940_sent_) m_940_sent_->Inc(static_cast<double>(good.size()));
    obs::LogInfo("EDI interchange sent",
                 {{"partner", o_.id}, {"file", name}, {"sets", good.size()}},
                 ctx.job.correlation_id);
  }
  // More than one run takes: the next one now.
  return store_->Transact(clock_->Now(), [&](store::Tx& tx) -> absl::Status {
    auto first = tx.PutIdempotencyKey(SendFlag());
    if (!first.ok()) return first.status();
    if (*first) return tx.EnqueueJob(SendJob(tx.now())).status();
    return absl::OkStatus();
  });
}

absl::Status EdiProvider::Analyse(Inbound& in) const {
  if (in.too_large) {
    in.Error(Cat("the file is longer than ", o_.max_file_bytes, " bytes (max_file_bytes)"));
    in.analysis_errors = in.errors.size();
    return absl::OkStatus();
  }
  x12::CollectingListener listener;
  x12::X12Validator validator(&listener);
  x12::X12Reader reader(x12::StringSource(in.content));
  if (auto s = x12::Validate(reader, validator); !s.ok()) return s;
  in.verdict = std::move(listener.mutable_verdict());
  for (const x12::Problem& p : in.verdict.problems) {
    in.Error(Cat("byte ", p.offset, ": ", p.message));
  }
  if (in.verdict.interchanges.empty()) in.Error("no X12 interchange in the file");
  absl::flat_hash_map<std::string, int> accepted;  // set key -> how many accepted sets have it
  for (x12::InterchangeVerdict& ic : in.verdict.interchanges) {
    if (ic.readable) {
      // Only what the partner addresses to Keelson is taken.
      const std::string sender(x12::TrimSpaces(ic.Isa(6)));
      const std::string receiver(x12::TrimSpaces(ic.Isa(8)));
      auto refuse = [&](std::string code, std::string message) {
        if (ic.ack != 'R') ic.note_code = code;
        ic.ack = 'R';
        ic.problems.push_back({.code = std::move(code),
                               .offset = ic.offset,
                               .segment = 1,
                               .message = std::move(message)});
      };
      if (sender != o_.receiver_id) {
        refuse("006",
               Cat("ISA06 \"", sender, "\" is not the partner's id \"", o_.receiver_id, "\""));
      }
      if (receiver != o_.sender_id) {
        refuse("009", Cat("ISA08 \"", receiver, "\" is not Keelson's id \"", o_.sender_id, "\""));
      }
    }
    if (ic.ack == 'R') {
      std::string why = ic.problems.empty() ? std::string() : ic.problems.front().message;
      in.Error(Cat("interchange ", x12::TrimSpaces(ic.Isa(13)), " at byte ", ic.offset,
                   " rejected: TA1 R ", ic.note_code, " (", x12::Ta1NoteText(ic.note_code), ")",
                   why.empty() ? "" : ": ", why));
    }
    for (const x12::GroupVerdict& g : ic.groups) {
      if (g.ack == 'R' && ic.ack != 'R' && !g.codes.empty()) {
        in.Error(Cat("group ", g.functional_id, " ", g.control_number, " rejected: AK9 R ",
                     AckCodes(g.codes),
                     g.problems.empty() ? "" : Cat(": ", g.problems.front().message)));
      }
      for (const x12::SetVerdict& s : g.sets) {
        ++in.sets_total;
        if (s.Accepted() && g.ack != 'R' && ic.ack != 'R') {
          ++accepted[SetKey(ic.Isa(13), g.control_number, s.control_number)];
          continue;
        }
        ++in.sets_rejected;
        if (!s.Accepted()) {
          std::string why;
          if (!s.problems.empty()) why = s.problems.front().message;
          if (why.empty() && !s.segment_notes.empty()) {
            const x12::SegmentNote& n = s.segment_notes.front();
            why = Cat(n.segment_id, " at segment ", n.position, ": ", n.message);
          }
          in.Error(Cat("set ", s.id, " ", s.control_number, " rejected: AK5 R ", AckCodes(s.codes),
                       why.empty() ? "" : ": ", why));
        }
      }
    }
  }
  in.analysis_errors = in.errors.size();
  in.analysis_notes = in.notes.size();
  if (accepted.empty()) return absl::OkStatus();
  auto sets = x12::ReadTransactionSets(in.content);
  if (!sets.ok()) return sets.status();
  for (x12::TransactionSet& set : *sets) {
    auto it = accepted.find(SetKey(Element(set.isa, 13), Element(set.gs, 6), set.control_number));
    if (it == accepted.end() || it->second == 0) continue;
    --it->second;
    in.sets.push_back(std::move(set));
  }
  return absl::OkStatus();
}

absl::Status EdiProvider::RejectDocument(store::Tx& tx, const store::EdiDocument& doc,
                                         const std::string& reason, const json& ack,
                                         const std::string& corr) {
  if (auto s = tx.SetEdiDocumentAck(doc.id, "rejected", ack.dump()); !s.ok()) return s;
  if (auto s = tx.AppendTimeline(
          {.entity = OrderEntity(doc.ref),
           .correlation_id = corr,
           .kind = "edi.940_rejected",
           .detail_json =
               json{{"segment", doc.ref}, {"partner", o_.id}, {"reason", reason}, {"ack", ack}}
                   .dump()});
      !s.ok()) {
    return s;
  }
  if (!hooks_.refused) return absl::OkStatus();
  return hooks_.refused(tx, doc.ref, reason, corr);
}

absl::Status EdiProvider::ApplyAck(store::Tx& tx, Inbound& in, const x12::FunctionalAck& ack) {
  const int64_t gs06 = ToInt(ack.group_control_number);
  if (gs06 <= 0) {
    in.Error(Cat("997: AK102 \"", ack.group_control_number, "\" is not a group control number"));
    return absl::OkStatus();
  }
  auto docs =
      tx.FindEdiDocuments({.partner = o_.id, .type = "940", .group = gs06, .limit = 100000});
  if (!docs.ok()) return docs.status();
  if (docs->empty()) {
    in.notes.push_back(Cat("997 for group ", gs06, ": no 940 of Keelson's was sent in it"));
    return absl::OkStatus();
  }
  // The AK2 loops by ST02 (a 997 of a big group lists thousands).
  absl::flat_hash_map<int64_t, const x12::AckedSet*> by_control;
  for (const x12::AckedSet& a : ack.sets) by_control.emplace(ToInt(a.control_number), &a);
  for (const store::EdiDocument& doc : *docs) {
    if (doc.state != "sent") continue;  // acknowledged before (a second 997 changes nothing)
    // AK2 loops may be left out for accepted sets: then the group's AK9 speaks for them.
    auto it = by_control.find(ToInt(doc.set_control));
    const x12::AckedSet* set = it == by_control.end() ? nullptr : it->second;
    const std::string code = set != nullptr && !set->code.empty() ? set->code : ack.code;
    const bool accepted = code == "A" || code == "E" || (set == nullptr && code == "P");
    json detail = {{"file", in.name},
                   {"ak1", gs06},
                   {"st02", doc.set_control},
                   {"code", code},
                   {"ak9", ack.code}};
    if (accepted) {
      if (auto s = tx.SetEdiDocumentAck(doc.id, "accepted", detail.dump()); !s.ok()) return s;
      if (auto s = tx.AppendTimeline({.entity = OrderEntity(doc.ref),
                                      .correlation_id = in.corr,
                                      .kind = "edi.940_accepted",
                                      .detail_json = json{{"segment", doc.ref},
                                                          {"partner", o_.id},
                                                          {"isa13", doc.interchange},
                                                          {"st02", doc.set_control}}
                                                         .dump()});
          !s.ok()) {
        return s;
      }
      continue;
    }
    std::string reason = Cat("the partner's 997 rejected the 940 (group ", gs06, ", set ",
                             doc.set_control, "): AK5 ", code);
    if (set != nullptr) {
      detail["ak502"] = set->error_codes;
      json notes = json::array();
      for (const std::string& c : set->error_codes) {
        reason += Cat(" ", c, " (", x12::SetErrorText(c), ")");
      }
      for (const x12::SegmentNote& n : set->segment_notes) {
        reason += Cat("; ", n.segment_id, " at segment ", n.position, ": AK304 ", n.code, " (",
                      x12::SegmentErrorText(n.code), ")");
        notes.push_back({{"segment", n.segment_id}, {"position", n.position}, {"code", n.code}});
      }
      detail["ak3"] = notes;
    } else if (!ack.error_codes.empty()) {
      detail["ak905"] = ack.error_codes;
      for (const std::string& c : ack.error_codes) {
        reason += Cat(" (AK905 ", c, ": ", x12::GroupErrorText(c), ")");
      }
    }
    if (auto s = RejectDocument(tx, doc, reason, detail, in.corr); !s.ok()) return s;
    in.rejected.emplace_back(doc.ref, reason);
  }
  return absl::OkStatus();
}

absl::Status EdiProvider::Apply(store::Tx& tx, Inbound& in) {
  // A store may run a transaction again (PostgreSQL after a deadlock): start from what Analyse
  // left.
  in.errors.resize(in.analysis_errors);
  in.notes.resize(in.analysis_notes);
  in.duplicate = false;
  in.applied = 0;
  in.shipments = 0;
  in.rejected.clear();
  in.counts = json::object();
  in.response.clear();
  in.response_name.clear();
  in.response_id = 0;
  in.state.clear();
  auto put = tx.PutInboundFile({.partner = o_.id,
                                .direction = "in",
                                .name = in.name,
                                .sha256 = in.sha256,
                                .size = static_cast<int64_t>(in.size),
                                .state = "received"});
  if (!put.ok()) return put.status();
  if (!put->recorded) {
    in.duplicate = true;
    in.first = put->file;
    return tx.AppendTimeline(
        {.entity = name_,
         .correlation_id = in.corr,
         .kind = "edi.file_duplicate",
         .detail_json =
             json{{"file", in.name},
                  {"sha256", in.sha256},
                  {"first_file", in.first.name},
                  {"first_received_at",
                   absl::FormatTime(absl::RFC3339_sec, in.first.created_at, absl::UTCTimeZone())},
                  {"note", "the same bytes were received before: not applied again"}}
                 .dump()});
  }
  const int64_t file_id = put->file.id;
  for (const x12::TransactionSet& set : in.sets) {
    const NoticeOrigin origin{.provider = name_,
                              .sender = Element(set.isa, 6),
                              .interchange = Element(set.isa, 13),
                              .set_control = set.control_number};
    const std::string where = Cat("set ", set.id, " ", set.control_number);
    auto count = [&](const std::string& type) {
      in.counts[type] = in.counts.value(type, int64_t{0}) + 1;
    };
    if (set.id == "945" || set.id == "856") {
      std::vector<Shipment> shipments;
      if (set.id == "945") {
        auto advice = x12::Parse945(set);
        auto s = advice.ok() ? ShipmentFrom945(*advice, origin) : advice.status();
        if (!s.ok()) {
          in.Error(Cat(where, ": ", s.status().message()));
          continue;
        }
        shipments.push_back(std::move(*s));
      } else {
        auto notice = x12::Parse856(set);
        auto s = notice.ok() ? ShipmentsFrom856(*notice, origin) : notice.status();
        if (!s.ok()) {
          in.Error(Cat(where, ": ", s.status().message()));
          continue;
        }
        shipments = std::move(*s);
      }
      for (const Shipment& s : shipments) {
        if (hooks_.shipment) {
          if (auto st = hooks_.shipment(tx, s, in.corr); !st.ok()) return st;
        }
        ++in.shipments;
      }
      count(set.id);
      ++in.applied;
    } else if (set.id == "997") {
      auto ack = x12::ParseFunctionalAck(set);
      if (!ack.ok()) {
        in.Error(Cat(where, ": ", ack.status().message()));
        continue;
      }
      if (auto s = ApplyAck(tx, in, *ack); !s.ok()) return s;
      count("997");
      ++in.applied;
    } else if (set.id == "846") {
      auto advice = x12::Parse846(set);
      if (!advice.ok()) {
        in.Error(Cat(where, ": ", advice.status().message()));
        continue;
      }
      json rows = json::array();
      int64_t drifted = 0, items = 0;
      for (size_t i = 0; i < advice->items.size(); ++i) {
        const x12::InventoryItem& item = advice->items[i];
        std::optional<int64_t> reported;
        for (const std::string& q : o_.inventory_qualifiers) {
          for (const x12::InventoryQuantity& qty : item.quantities) {
            if (!reported && qty.qualifier == q) reported = qty.quantity;
          }
        }
        if (!reported && !item.by_location.empty()) {
          int64_t sum = 0;
          for (const auto& l : item.by_location) sum += l.quantity;
          reported = sum;
        }
        if (!reported || item.sku.empty()) {
          in.notes.push_back(Cat(where, ": item at segment ", item.position,
                                 " has no SKU or no quantity of a configured qualifier"));
          continue;
        }
        ++items;
        json row = {{"sku", item.sku}, {"reported", *reported}};
        if (!o_.inventory_location.empty()) {
          auto positions = tx.GetPositions(item.sku);
          if (!positions.ok()) return positions.status();
          int64_t ledger = 0;
          for (const auto& p : *positions) {
            if (p.location == o_.inventory_location) ledger = p.on_hand;
          }
          row["ledger"] = ledger;
          if (ledger != *reported) {
            ++drifted;
            row["drift"] = *reported - ledger;
          }
          if (hooks_.stock) {
            auto r = hooks_.stock(
                tx, {.event_id = Cat(name_, ":", origin.sender, ":", origin.interchange, ":",
                                     origin.set_control, ":", i + 1),
                     .sku = item.sku,
                     .location = o_.inventory_location,
                     .on_hand = *reported,
                     .as_of = advice->date ? absl::FromCivil(*advice->date, absl::UTCTimeZone())
                                           : clock_->Now(),
                     .source = name_});
            if (!r.ok()) {
              if (r.status().code() == absl::StatusCode::kInvalidArgument ||
                  r.status().code() == absl::StatusCode::kFailedPrecondition) {
                in.Error(Cat(where, ": ", item.sku, ": ", r.status().message()));
                continue;
              }
              return r.status();
            }
            row["ledger_result"] = *r;
          }
        }
        if (rows.size() < kMaxInventoryRowsOnTimeline) rows.push_back(std::move(row));
      }
      if (auto s = tx.AppendTimeline({.entity = name_,
                                      .correlation_id = in.corr,
                                      .kind = "edi.inventory_advice",
                                      .detail_json = json{{"file", in.name},
                                                          {"reference", advice->reference},
                                                          {"location", o_.inventory_location},
                                                          {"partner_location", advice->location},
                                                          {"items", items},
                                                          {"drifted", drifted},
                                                          {"levels", rows}}
                                                         .dump()});
          !s.ok()) {
        return s;
      }
      count("846");
      ++in.applied;
    } else {
      in.Error(Cat(where, ": Keelson takes 945, 856, 846 and 997 from a partner, not ", set.id));
    }
  }
  // TA1s the partner sent about Keelson's interchanges.
  for (const x12::InterchangeVerdict& ic : in.verdict.interchanges) {
    if (ic.ack == 'R') continue;
    for (const x12::ReceivedTa1& ta1 : ic.ta1s) {
      ++in.applied;
      if (ta1.ack != "R") continue;
      auto docs = tx.FindEdiDocuments({.partner = o_.id,
                                       .type = "940",
                                       .interchange = ToInt(ta1.control_number),
                                       .limit = 100000});
      if (!docs.ok()) return docs.status();
      const std::string reason =
          Cat("the partner's TA1 rejected interchange ", ta1.control_number, ": TA105 ",
              ta1.note_code, " (", x12::Ta1NoteText(ta1.note_code), ")");
      for (const store::EdiDocument& doc : *docs) {
        if (doc.state != "sent") continue;
        if (auto s = RejectDocument(
                tx, doc, reason,
                json{{"file", in.name}, {"ta104", ta1.ack}, {"ta105", ta1.note_code}}, in.corr);
            !s.ok()) {
          return s;
        }
        in.rejected.emplace_back(doc.ref, reason);
      }
    }
  }
  // The 997 / TA1 Keelson answers with.
  TxControlNumbers numbers(tx, o_.id);
  x12::AckOptions ack_options;
  ack_options.delimiters = o_.delimiters;
  ack_options.line_end = o_.line_end;
  ack_options.now = tx.now();
  for (const x12::InterchangeVerdict& ic : in.verdict.interchanges) {
    auto r = x12::BuildResponse(ic, numbers, ack_options);
    if (!r.ok()) {
      in.notes.push_back(Cat("no response for interchange ", ic.index, ": ", r.status().message()));
      continue;
    }
    in.response += *r;
  }
  if (!in.response.empty()) {
    const bool has_997 = in.response.find(Cat("ST", std::string(1, o_.delimiters.element),
                                              "997")) != std::string::npos;
    in.response_name = OutboundName(has_997 ? "997" : "ta1", numbers.first_isa());
    auto id = tx.PutOutboundFile(
        {.partner = o_.id,
         .direction = "out",
         .name = in.response_name,
         .sha256 = net::Sha256Hex(in.response),
         .size = static_cast<int64_t>(in.response.size()),
         .state = "prepared",
         .detail_json = json{{"type", has_997 ? "997" : "TA1"}, {"in_reply_to", in.name}}.dump(),
         .content = in.response});
    if (!id.ok()) return id.status();
    in.response_id = *id;
  }
  in.state = in.errors.empty() ? "processed" : in.applied > 0 ? "partial" : "rejected";
  json interchanges = json::array();
  for (const x12::InterchangeVerdict& ic : in.verdict.interchanges) {
    interchanges.push_back({{"isa13", std::string(x12::TrimSpaces(ic.Isa(13)))},
                            {"sender", std::string(x12::TrimSpaces(ic.Isa(6)))},
                            {"ta104", std::string(1, ic.ack)},
                            {"ta105", ic.note_code}});
  }
  json detail = {{"interchanges", interchanges},
                 {"sets", in.sets_total},
                 {"sets_rejected", in.sets_rejected},
                 {"applied", in.applied},
                 {"by_type", in.counts},
                 {"errors", in.errors},
                 {"notes", in.notes},
                 {"response", in.response_name}};
  if (auto s = tx.SetEdiFileState(file_id, in.state, detail.dump()); !s.ok()) return s;
  detail["file"] = in.name;
  detail["state"] = in.state;
  return tx.AppendTimeline(
      {.entity = name_,
       .correlation_id = in.corr,
       .kind = in.state == "processed" ? "edi.file_processed" : "edi.file_rejected",
       .detail_json = detail.dump()});
}

absl::Status EdiProvider::RunPoll(jobs::JobContext& ctx) {
  std::lock_guard<std::mutex> l(run_mu_);
  if (auto s = FlushPrepared(); !s.ok()) return s;
  auto listing = transport_->List(o_.inbound_folder);
  if (!listing.ok()) {
    if (listing.status().code() != absl::StatusCode::kNotFound) return listing.status();
    return transport_->MakeDirs(o_.inbound_folder);  // nothing came yet
  }
  std::vector<x12::RemoteFile> ready = settle_.Ready(*listing, clock_->Now());
  if (ready.empty()) return absl::OkStatus();
  if (ready.size() > static_cast<size_t>(o_.max_files_per_poll)) {
    ready.resize(static_cast<size_t>(o_.max_files_per_poll));
  }
  std::vector<Inbound> files(ready.size());
  for (size_t i = 0; i < ready.size(); ++i) {
    Inbound& in = files[i];
    in.name = ready[i].name;
    in.size = ready[i].size;
    in.corr = core::NewCorrelationId();
    auto content = transport_->Read(x12::JoinPath(o_.inbound_folder, in.name), o_.max_file_bytes);
    if (!content.ok()) {
      if (content.status().code() != absl::StatusCode::kResourceExhausted) return content.status();
      in.too_large = true;
      // Identified by what is known of it: a different upload of that name is judged again.
      in.sha256 = net::Sha256Hex(
          Cat("too large:", in.name, ":", in.size, ":", absl::ToUnixSeconds(ready[i].mtime)));
    } else {
      in.content = std::move(*content);
      in.size = in.content.size();
      in.sha256 = net::Sha256Hex(in.content);
    }
    if (auto s = Analyse(in); !s.ok()) return s;
  }
  if (auto s = store_->Transact(clock_->Now(),
                                [&](store::Tx& tx) -> absl::Status {
                                  for (Inbound& in : files) {
                                    if (auto s = Apply(tx, in); !s.ok()) return s;
                                  }
                                  return absl::OkStatus();
                                });
      !s.ok()) {
    return s;
  }
  for (const Inbound& in : files) {
    if (m_shipments_) m_shipments_->Inc(static_cast<double>(in.shipments));
    for (const auto& [segment, reason] : in.rejected) {
      if (m_940_rejected_) m_940_rejected_->Inc();
      obs::LogWarn("EDI 940 rejected by the partner",
                   {{"partner", o_.id}, {"segment", segment}, {"reason", reason}}, in.corr);
    }
  }
  // Committed: the responses go out, then the files leave the inbound folder. A failure here
  // retries; the files still there are then recognised as duplicates.
  std::vector<int64_t> written;
  for (const Inbound& in : files) {
    if (in.response_id == 0) continue;
    if (auto s = WriteOutbound(in.response_name, in.response); !s.ok()) {
      return s;
    }
    written.push_back(in.response_id);
  }
  if (!written.empty()) {
    if (auto s = store_->Transact(clock_->Now(),
                                  [&](store::Tx& tx) -> absl::Status {
                                    for (int64_t id : written) {
                                      if (auto s = tx.SetEdiFileState(id, "sent", ""); !s.ok()) {
                                        return s;
                                      }
                                    }
                                    return absl::OkStatus();
                                  });
        !s.ok()) {
      return s;
    }
    if (m_files_out_) m_files_out_->Inc(static_cast<double>(written.size()));
  }
  for (const Inbound& in : files) {
    const bool keep_aside = !in.duplicate && in.state != "processed";
    auto moved = x12::MoveAside(*transport_, o_.inbound_folder, in.name,
                                keep_aside ? o_.error_folder : o_.archive_folder, clock_->Now());
    if (!moved.ok()) return moved.status();
    if (in.duplicate) {
      if (m_files_duplicate_) m_files_duplicate_->Inc();
      obs::LogInfo("EDI file received again: archived, not applied",
                   {{"partner", o_.id}, {"file", in.name}, {"first_file", in.first.name}}, in.corr);
    } else if (keep_aside) {
      if (m_files_rejected_) m_files_rejected_->Inc();
      obs::LogWarn("EDI file rejected (kept in the error folder)",
                   {{"partner", o_.id},
                    {"file", in.name},
                    {"moved_to", x12::JoinPath(o_.error_folder, *moved)},
                    {"state", in.state},
                    {"errors", in.errors}},
                   in.corr);
    } else if (m_files_in_) {
      m_files_in_->Inc();
    }
  }
  (void)ctx;
  return absl::OkStatus();
}

void RegisterEdiJobs(jobs::HandlerRegistry& registry, std::vector<EdiProvider*> providers) {
  auto find = [providers](const std::string& payload) -> absl::StatusOr<EdiProvider*> {
    json p = json::parse(payload, nullptr, false);
    if (!p.is_object() || !p.value("partner", json()).is_string()) {
      return absl::InvalidArgumentError("payload needs {\"partner\"}");
    }
    for (EdiProvider* e : providers) {
      if (e->options().id == p["partner"].get<std::string>()) return e;
    }
    return absl::FailedPreconditionError(
        Cat("no EDI trading partner \"", p["partner"].get<std::string>(), "\" is configured"));
  };
  registry.Register(kEdiSendJobKind, [find](jobs::JobContext& ctx) -> absl::Status {
    auto e = find(ctx.job.payload);
    if (!e.ok()) return e.status();
    return (*e)->RunSend(ctx);
  });
  registry.Register(kEdiPollJobKind, [find](jobs::JobContext& ctx) -> absl::Status {
    auto e = find(ctx.job.payload);
    if (!e.ok()) return e.status();
    return (*e)->RunPoll(ctx);
  });
}

}  // namespace keelson::connectors::edi
