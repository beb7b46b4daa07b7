#pragma once
// The /v1 inventory API.
//
//   POST /v1/inventory/events   stock truth from an ERP/WMS, idempotent by event_id:
//        {"event_id":"…","sku":"…","location":"…","on_hand":12,"occurred_at":"RFC 3339"}
//        optional: "allocated", "inbound" (with "inbound_expected_at", RFC 3339),
//        "safety_stock" (absolute, >= 0), "source" (default "wms").
//        → 200 {"status":"applied"|"duplicate"|"stale","event_id":…} once durably committed
//          (group-committed with the events arriving meanwhile, each in a savepoint of its own,
//          when a store::TxGroupCommitter is given; else one Store::Transact); 400 problem+json
//          naming the field at fault; 503 when the store cannot commit (retry).
//   GET  /v1/inventory/{sku}    on_hand, allocated, reserved, safety, inbound per location and in
//        total, ATS per channel (with the location breakdown it pools) and per location, the
//        last level published to each channel and when; 404 for a SKU without any position.
//
// Guarded by the same API keys as /ops (open when none are configured).
// Thread-safety: the handlers hold only thread-safe pointers (Store, InventoryService).

#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "absl/status/statusor.h"
#include "api/ops.h"
#include "flows/inventory.h"
#include "net/http_server.h"
#include "store/group_commit.h"

namespace keelson::api {

// Parses and validates a stock event body; kInvalidArgument naming the field otherwise.
absl::StatusOr<flows::StockEvent> ParseStockEvent(std::string_view body);

// The GET view of one SKU at `now`; kNotFound when Keelson holds no position for it.
absl::StatusOr<nlohmann::json> InventoryView(store::Store& store,
                                             const flows::InventoryService& service,
                                             std::string_view sku, absl::Time now);

// Adds both routes. `on_enqueue` (may be empty) is called after an applied event, which may have
// queued publish jobs: it wakes the job runner. `committer` (may be null; must outlive the
// router's use) group-commits the events: at 1,000 events/s one commit, one fsync each would
// leave them queueing for the store's single writer.
void AddInventoryRoutes(net::Router& router, const OpsDeps& deps, flows::InventoryService* service,
                        std::function<void()> on_enqueue,
                        store::TxGroupCommitter* committer = nullptr);

}  // namespace keelson::api
