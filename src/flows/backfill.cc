#include "flows/backfill.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/ids.h"
#include "core/strings.h"
#include "flows/order_to_cash.h"
#include "net/signature.h"
#include "obs/log.h"

namespace keelson::flows {

std::string BackfillCursorName(std::string_view store_id) {
  return absl::StrCat(kBackfillJobKind, ":", core::AbslSv(store_id));
}

jobs::JobHandler MakeBackfillHandler(
    std::function<const ModifiedOrdersPoller*(std::string_view store_id)> poller_for,
    BackfillOptions options) {
  return [poller_for = std::move(poller_for), options](jobs::JobContext& ctx) -> absl::Status {
    nlohmann::json p = nlohmann::json::parse(ctx.job.payload, nullptr, false);
    if (!p.is_object() || !p.contains("store") || !p["store"].is_string()) {
      return absl::DataLossError(
          absl::StrCat("backfill job payload is not {\"store\":S}: ", ctx.job.payload));
    }
    const std::string store_id = p["store"].get<std::string>();
    const ModifiedOrdersPoller* poll = poller_for(store_id);
    if (poll == nullptr) return absl::OkStatus();

    const std::string cursor = BackfillCursorName(store_id);
    auto held = ctx.store.GetCursor(cursor);
    if (!held.ok()) return held.status();
    absl::Time since = ctx.clock.Now() - options.first_lookback;
    if (held->has_value()) {
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, **held, &since, &err)) {
        return absl::DataLossError(absl::StrCat("cursor ", cursor, " is not RFC 3339: ", **held));
      }
    }

    std::vector<store::DeliveryToAccept> batch;
    int64_t fresh = 0;
    auto flush = [&]() -> absl::Status {
      if (batch.empty()) return absl::OkStatus();
      auto accepted = ctx.store.AcceptDeliveries(batch, ctx.clock.Now());
      if (!accepted.ok()) return accepted.status();
      for (const auto& a : *accepted) fresh += a.duplicate ? 0 : 1;
      batch.clear();
      return absl::OkStatus();
    };
    const std::string headers =
        nlohmann::json{{"X-Keelson-Source", "backfill"}, {"X-WC-Webhook-Topic", "order.updated"}}
            .dump();
    auto result = (*poll)(since, options.overlap, [&](const nlohmann::json& order) -> absl::Status {
      if (!order.is_object() || !order.contains("id") || !order["id"].is_number_integer()) {
        return absl::OkStatus();  // nothing to key it on; the shop will be asked again
      }
      const std::string body = order.dump();
      batch.push_back(store::DeliveryToAccept{
          .source = "woocommerce",
          .store_id = store_id,
          .topic = "order.updated",
          .dedupe_key = net::Sha256HexParts({"woocommerce", store_id, "order", body}),
          .headers_json = headers,
          .body = body,
          .correlation_id = core::NewCorrelationId(),
          .job_kind = options.ingest_job_kind,
          .job_partition_key = OrderToCash::PartitionKey(store_id, order["id"].get<int64_t>())});
      if (batch.size() >= 100) return flush();
      return absl::OkStatus();
    });
    if (!result.ok()) return result.status();
    if (auto s = flush(); !s.ok()) return s;

    const absl::Time next = std::max(since, result->high_water);
    obs::LogInfo("backfill polled",
                 {{"store", store_id},
                  {"orders", result->orders},
                  {"new_deliveries", fresh},
                  {"since", absl::FormatTime(absl::RFC3339_full, since, absl::UTCTimeZone())}},
                 ctx.job.correlation_id);
    ctx.Defer([cursor, next, store_id, orders = result->orders, fresh](store::Tx& tx) -> absl::Status {
      if (auto s = tx.PutCursor(cursor, absl::FormatTime(absl::RFC3339_full, next,
                                                         absl::UTCTimeZone()));
          !s.ok())
        return s;
      if (fresh == 0) return absl::OkStatus();
      return tx.AppendTimeline({.entity = absl::StrCat("store:", store_id),
                                .kind = "backfill.found",
                                .detail_json = nlohmann::json{{"orders_read", orders},
                                                              {"new_deliveries", fresh}}
                                                   .dump()});
    });
    return absl::OkStatus();
  };
}

}  // namespace keelson::flows
