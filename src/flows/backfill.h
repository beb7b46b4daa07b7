#pragma once
// Backfill: WooCommerce never retries a failed webhook and disables a webhook after 7 failures,
// so the order flow must not depend on every delivery arriving. A scheduled job per store
// (kind "woocommerce.backfill", payload {"store":"main"}) asks the shop for the orders modified
// since its high-water mark (minus an overlap window, since the shop's clock and ours differ and
// `modified_after` is strictly greater-than) and feeds each one into the inbox as a delivery
// with topic "order.updated" and header X-Keelson-Source: backfill. From there it takes the same
// path as a webhook: the ingest job keeps the newest version and order-to-cash acts once.
// Orders already held at that version are dropped as duplicates, so re-reading is harmless.
//
// The high-water mark (cursor "woocommerce.backfill:{store}") advances in the same commit as the
// job's outcome, only when the whole poll succeeded.

#include <functional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jobs/runner.h"

namespace keelson::flows {

inline constexpr char kBackfillJobKind[] = "woocommerce.backfill";

struct PollResult {
  int64_t orders = 0;
  absl::Time high_water = absl::InfinitePast();  // newest date_modified_gmt seen
};

// Reads every order modified after `since - overlap`, oldest first, calling `on_order` for each
// (connectors/woocommerce/backfill.h in production).
using ModifiedOrdersPoller = std::function<absl::StatusOr<PollResult>(
    absl::Time since, absl::Duration overlap,
    const std::function<absl::Status(const nlohmann::json& order)>& on_order)>;

struct BackfillOptions {
  absl::Duration overlap = absl::Minutes(10);
  absl::Duration first_lookback = absl::Hours(24);  // where a store's first poll starts
  std::string ingest_job_kind;                       // the webhook ingest job's kind
  int max_attempts = 3;
};

// `poller_for(store_id)` returns null for a store without REST credentials (the job then does
// nothing). Deliveries are accepted in batches, each one durable commit.
jobs::JobHandler MakeBackfillHandler(
    std::function<const ModifiedOrdersPoller*(std::string_view store_id)> poller_for,
    BackfillOptions options);

// The cursor a store's backfill keeps its high-water mark in.
std::string BackfillCursorName(std::string_view store_id);

}  // namespace keelson::flows
