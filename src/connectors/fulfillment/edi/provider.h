#pragma once
// connectors::FulfillmentProvider for a trading partner that speaks X12 4010 over files (SFTP or
// a local folder): 940 Warehouse Shipping Orders out, 997 / TA1 acknowledgments both ways, 945
// Warehouse Shipping Advice and 856 Ship Notices (shipments), 846 Inventory Advice back. See
// README.md for the segments used and their sources.
//
// Release (called by the fulfillment flow, per segment) writes nothing remote: it checks that the
// segment can be written as a 940 (W0502 = the segment id, so every answer maps back) and queues
// it in the store's outbox in the same commit that marks the segment released
// (ReleaseResult::commit). Idempotent by segment id: the outbox holds one 940 per (partner,
// segment). The first queued 940 also queues an `edi.send` job, due `batch_window` later.
//
// Jobs (registered with RegisterEdiJobs; payload {"partner": id}):
//   edi.send  (partition "edi:<id>:send") takes up to `max_batch` queued 940s into ONE
//             interchange (ISA/GS with the partner's next control numbers, one ST..SE per 940):
//             control numbers, the file's bytes and each 940's ST02 commit first ("prepared"),
//             then the file is written (name.tmp, renamed) to the outbound folder, then marked
//             sent. A crash in between re-writes the very same bytes under the same name.
//   edi.poll  (partition "edi:<id>:poll", scheduled every poll_interval) lists the inbound
//             folder, takes settled files (SettleTracker), reads them and, in ONE transaction for
//             the batch: records each by (partner, SHA-256) — a file whose bytes were recorded
//             before, under any name, is a duplicate: not applied again, archived, noted on the
//             timeline —, validates every interchange (x12_validator.h; an interchange not
//             addressed from the partner to Keelson is refused with TA1 006/009), applies the
//             accepted transaction sets through the hooks (945/856 → shipments; 997/TA1 → the
//             940s accepted or rejected, a rejection refusing the segment; 846 → stock levels),
//             and prepares the 997/TA1 response. Then writes the responses and moves each file
//             to the archive folder (processed) or the error folder (anything rejected or not
//             applicable: the file stays, its reason is in the store and on the timeline).
//
// Control numbers (ISA13, GS06) are per partner in the store (Tx::NextControlNumber): monotonic,
// never reused, ISA13 and GS06 wrap after 999999999. Responses take theirs from the same counters.
//
// Timeline: the order ("order:<store>:<id>") gets edi.940_sent / edi.940_accepted /
// edi.940_rejected; the partner ("edi:<id>") gets one event per inbound file (edi.file_processed,
// edi.file_rejected, edi.file_duplicate) and edi.inventory_advice.
//
// Ownership: borrows the store, clock and metrics; owns the transport. Thread-safety: thread-safe
// (the two jobs of one partner run one at a time on it).

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/fulfillment.h"
#include "connectors/fulfillment/edi/config.h"
#include "core/clock.h"
#include "edi/ack.h"
#include "edi/transport/file_transport.h"
#include "jobs/runner.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace keelson::connectors::edi {

inline constexpr char kEdiSendJobKind[] = "edi.send";
inline constexpr char kEdiPollJobKind[] = "edi.poll";

// One level of an 846, for the ledger.
struct StockLevel {
  std::string event_id;  // unique per advice line: "<provider>:<ISA06>:<ISA13>:<ST02>:<n>"
  std::string sku;
  std::string location;  // EdiPartnerOptions::inventory_location
  int64_t on_hand = 0;
  absl::Time as_of = absl::InfinitePast();  // BIA04, else when the file was read
  std::string source;                       // "edi:acme"
};

// How what the partner says reaches the rest of Keelson (wired in app/; a connector never calls a
// flow itself). Each runs inside the poll's transaction.
struct EdiHooks {
  // A 945 or 856 shipment: FulfillmentService::EnqueueShipment.
  std::function<absl::Status(store::Tx&, const Shipment&, std::string_view corr)> shipment;
  // A released 940 the partner rejected: FulfillmentService::EnqueueRefusal.
  std::function<absl::Status(store::Tx&, std::string_view segment_id, std::string_view reason,
                             std::string_view corr)>
      refused;
  // Optional: an 846 level into the ledger (InventoryService::ApplyStockEvent); returns what
  // happened ("applied", "duplicate", "stale"). Called only with an inventory_location.
  std::function<absl::StatusOr<std::string>(store::Tx&, const StockLevel&)> stock;
};

class EdiProvider final : public FulfillmentProvider {
 public:
  EdiProvider(EdiPartnerOptions options, std::unique_ptr<keelson::edi::FileTransport> transport,
              store::Store* store, const core::Clock* clock, EdiHooks hooks,
              obs::Registry* metrics = nullptr);

  std::string_view name() const override { return name_; }  // "edi:<id>"

  absl::StatusOr<ReleaseResult> Release(const ReleaseRequest& request,
                                        const ReleaseOptions& options) override;

  // The job the scheduler enqueues every options().poll_interval.
  store::NewJob PollJob() const;
  absl::Status RunSend(jobs::JobContext& ctx);
  absl::Status RunPoll(jobs::JobContext& ctx);

  const EdiPartnerOptions& options() const { return o_; }
  keelson::edi::FileTransport& transport() { return *transport_; }
  std::string SendPartition() const;
  std::string PollPartition() const;

 private:
  struct Inbound;
  store::NewJob SendJob(absl::Time run_at) const;
  std::string SendFlag() const;
  // Writes `name` into the outbound folder (creating the folder when it is missing).
  absl::Status WriteOutbound(const std::string& name, std::string_view content);
  // Writes outbound files whose bytes committed but whose write did not finish.
  absl::Status FlushPrepared();
  absl::Status Analyse(Inbound& in) const;
  absl::Status Apply(store::Tx& tx, Inbound& in);
  absl::Status ApplyAck(store::Tx& tx, Inbound& in, const keelson::edi::FunctionalAck& ack);
  absl::Status RejectDocument(store::Tx& tx, const store::EdiDocument& doc,
                              const std::string& reason, const nlohmann::json& ack,
                              const std::string& corr);
  std::string OutboundName(std::string_view type, int64_t isa13) const;

  const EdiPartnerOptions o_;
  const std::string name_;
  std::unique_ptr<keelson::edi::FileTransport> transport_;
  store::Store* store_;
  const core::Clock* clock_;
  EdiHooks hooks_;
  std::mutex run_mu_;  // one send or poll at a time per partner
  keelson::edi::SettleTracker settle_;
  obs::Counter* m_files_in_ = nullptr;
  obs::Counter* m_files_rejected_ = nullptr;
  obs::Counter* m_files_duplicate_ = nullptr;
  obs::Counter* m_files_out_ = nullptr;
  obs::Counter* m_940_sent_ = nullptr;
  obs::Counter* m_940_rejected_ = nullptr;
  obs::Counter* m_shipments_ = nullptr;
};

// Registers edi.send and edi.poll for `providers` (borrowed), dispatching on the payload.
void RegisterEdiJobs(jobs::HandlerRegistry& registry, std::vector<EdiProvider*> providers);

}  // namespace keelson::connectors::edi
