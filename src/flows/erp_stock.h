#pragma once
// Intake of stock truth from the ERP: a scheduled job (kind "inventory.erp_poll", payload "{}",
// partition "inventory:erp_poll", in the `erp` lane) pages through the stock levels the ERP
// changed since its high-water mark minus an overlap (connectors::ErpAdapter::ListStockChanges)
// and applies each one as a flows::StockEvent in the job's own commit.
//
// How it stays right:
// - The high-water mark (cursor "inventory.erp_poll": {"high_water", "polls"}) is the newest
//   modification time seen; it advances in the same commit as the events, and only when every
//   page was read. A failed poll leaves it where it was and is retried like any ERP call.
// - The overlap (re-reading `overlap` before the mark) covers clock skew and rows the ERP
//   committed late with an earlier timestamp. Rows read twice are harmless: every row read is
//   remembered by an id derived from the ERP, SKU, location, modification time and quantity
//   (idempotency key "erp.stock.row:<id>"), and a changes-only poll skips a row it has read
//   before as a duplicate, even if the level moved meanwhile through another source (a
//   shipment consumed here). A row whose quantity equals the level held is skipped as unchanged.
// - Every `full_scan_every`-th poll (polls 0, N, 2N, ...) reads every level, not just the
//   changed ones: Business Central's item modification time does not move when stock is posted
//   (see its README), so only a full scan sees those changes. A full scan reconciles: a level
//   that differs from the one held is applied (with an event id that includes the scan, so a
//   level that returns to an earlier value with the same modification time is applied again).
// - occurred_at of each event is when the poll read the ERP (the job's clock), so later reads
//   are later truth, whatever the ERP's clock says; the ERP's own time is in the event id.
// - Locations: the ERP's location (Odoo "WH/Stock") maps through `locations` to Keelson's
//   ("WH1"); an ERP that reports one total per item (Business Central, location "") maps to
//   `default_location`. Rows with no mapping are skipped and counted; so are rows without SKU.
//   Negative ERP stock is applied as 0.
//
// Thread-safety: the handler is stateless; the ERP adapter and the inventory service are
// thread-safe and must outlive it.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "connectors/erp.h"
#include "flows/inventory.h"
#include "jobs/runner.h"

namespace keelson::flows {

inline constexpr char kErpStockPollJobKind[] = "inventory.erp_poll";
inline constexpr char kErpStockPollCursor[] = "inventory.erp_poll";
inline constexpr char kErpStockPollPartition[] = "inventory:erp_poll";

struct ErpStockPollOptions {
  absl::Duration overlap = absl::Minutes(2);
  int full_scan_every = 10;  // every Nth poll reads every level; 0 = only the first poll
  std::map<std::string, std::string, std::less<>> locations;  // ERP location -> Keelson's
  std::string default_location;  // for rows without location (one total per item); "" = skip
  int max_pages = 10000;         // a poll that sees more pages fails (a looping page token)
  int max_attempts = 12;
};

// What one poll did (also logged).
struct ErpStockPollStats {
  bool full_scan = false;
  int64_t pages = 0;
  int64_t rows = 0;
  int64_t applied = 0;
  int64_t duplicate = 0;  // read before (the overlap)
  int64_t unchanged = 0;  // the level held already
  int64_t stale = 0;      // a newer event from another source stands
  int64_t unmapped = 0;   // no Keelson location for the ERP's
};

// The handler for kErpStockPollJobKind. `on_poll`, when set, is called with each poll's stats
// from inside its commit (tests).
jobs::JobHandler MakeErpStockPollHandler(
    connectors::ErpAdapter* erp, InventoryService* inventory, ErpStockPollOptions options,
    std::function<void(const ErpStockPollStats&)> on_poll = nullptr);

// The scheduled job.
store::NewJob ErpStockPollJob(int max_attempts);

// The event id of a row (deterministic; `scan` is the full scan's read time, or InfinitePast
// for a changes-only poll).
std::string ErpStockEventId(std::string_view erp, const connectors::ErpStockRow& row,
                            std::string_view location, absl::Time scan);

}  // namespace keelson::flows
