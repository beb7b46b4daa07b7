#include "flows/erp_stock.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "net/signature.h"
#include "obs/log.h"

namespace keelson::flows {
namespace {

using json = nlohmann::json;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

struct Cursor {
  absl::Time high_water = absl::InfinitePast();
  int64_t polls = 0;
};

absl::StatusOr<Cursor> ReadCursor(store::Store& store) {
  absl::StatusOr<std::optional<std::string>> held = store.GetCursor(kErpStockPollCursor);
  if (!held.ok()) return held.status();
  Cursor c;
  if (!held->has_value()) return c;
  json j = json::parse(**held, nullptr, false);
  std::string err;
  if (!j.is_object() || !j.value("high_water", json()).is_string() ||
      !j.value("polls", json()).is_number_integer() ||
      !absl::ParseTime(absl::RFC3339_full, j["high_water"].get<std::string>(), &c.high_water,
                       &err)) {
    return absl::DataLossError(
        absl::StrCat("cursor ", kErpStockPollCursor, " is not {high_water, polls}: ", **held));
  }
  c.polls = j["polls"].get<int64_t>();
  return c;
}

}  // namespace

std::string ErpStockEventId(std::string_view erp, const connectors::ErpStockRow& row,
                            std::string_view location, absl::Time scan) {
  const std::string modified = absl::StrCat(absl::ToUnixMillis(row.modified_at));
  const std::string on_hand = absl::StrCat(row.on_hand);
  const std::string scanned =
      scan == absl::InfinitePast() ? std::string() : absl::StrCat(absl::ToUnixMillis(scan));
  return absl::StrCat(
      "erp:", core::AbslSv(erp), ":",
      net::Sha256HexParts({erp, row.sku, location, modified, on_hand, scanned}).substr(0, 32));
}

store::NewJob ErpStockPollJob(int max_attempts) {
  return store::NewJob{.kind = kErpStockPollJobKind,
                       .partition_key = kErpStockPollPartition,
                       .payload = "{}",
                       .max_attempts = max_attempts};
}

jobs::JobHandler MakeErpStockPollHandler(connectors::ErpAdapter* erp, InventoryService* inventory,
                                         ErpStockPollOptions options,
                                         std::function<void(const ErpStockPollStats&)> on_poll) {
  auto shared = std::make_shared<const ErpStockPollOptions>(std::move(options));
  return [erp, inventory, shared,
          on_poll = std::move(on_poll)](jobs::JobContext& ctx) -> absl::Status {
    const ErpStockPollOptions& options = *shared;
    absl::StatusOr<Cursor> cursor = ReadCursor(ctx.store);
    if (!cursor.ok()) return cursor.status();
    const absl::Time read_at = ctx.clock.Now();
    auto stats = std::make_shared<ErpStockPollStats>();
    // Polls 0, N, 2N, ... read everything (the first one always).
    stats->full_scan =
        cursor->high_water == absl::InfinitePast() ||
        (options.full_scan_every > 0 && cursor->polls % options.full_scan_every == 0);
    const absl::Time since =
        stats->full_scan ? absl::InfinitePast() : cursor->high_water - options.overlap;

    auto rows = std::make_shared<std::vector<connectors::ErpStockRow>>();
    std::string token;
    for (;;) {
      if (stats->pages >= options.max_pages) {
        return absl::InternalError(absl::StrCat("erp stock poll: more than ", options.max_pages,
                                                " pages; is the page token looping?"));
      }
      absl::StatusOr<connectors::ErpStockPage> page = erp->ListStockChanges(since, token);
      if (!page.ok()) return page.status();  // the cursor stays: the next attempt reads again
      ++stats->pages;
      for (connectors::ErpStockRow& r : page->rows) rows->push_back(std::move(r));
      if (page->next_page_token.empty()) break;
      token = std::move(page->next_page_token);
    }
    stats->rows = static_cast<int64_t>(rows->size());
    Cursor next{.high_water = cursor->high_water, .polls = cursor->polls + 1};
    for (const connectors::ErpStockRow& r : *rows) {
      if (r.modified_at != absl::InfiniteFuture()) {
        next.high_water = std::max(next.high_water, r.modified_at);
      }
    }
    // A full scan of an ERP with no stock yet still counts as a first poll done.
    if (next.high_water == absl::InfinitePast()) next.high_water = read_at - options.overlap;

    const std::string erp_name(erp->name());
    const std::string correlation_id = ctx.job.correlation_id;
    ctx.Defer([=](store::Tx& tx) -> absl::Status {
      const ErpStockPollOptions& options = *shared;
      // Counted afresh should the commit run this again.
      stats->applied = stats->duplicate = stats->unchanged = stats->stale = stats->unmapped = 0;
      for (const connectors::ErpStockRow& r : *rows) {
        auto mapped = r.location.empty() ? std::optional<std::string>(options.default_location)
                                         : std::optional<std::string>();
        if (!r.location.empty()) {
          if (auto it = options.locations.find(r.location); it != options.locations.end()) {
            mapped = it->second;
          }
        }
        if (r.sku.empty() || !mapped.has_value() || mapped->empty()) {
          ++stats->unmapped;
          continue;
        }
        const int64_t on_hand = std::max<int64_t>(r.on_hand, 0);
        connectors::ErpStockRow keyed = r;
        keyed.on_hand = on_hand;
        const std::string row_id = ErpStockEventId(erp_name, keyed, *mapped, absl::InfinitePast());
        // Every ERP row read is remembered, whatever became of it, so a re-read (the overlap)
        // never applies it again once another source has moved the level.
        absl::StatusOr<bool> fresh = tx.PutIdempotencyKey(absl::StrCat("erp.stock.row:", row_id));
        if (!fresh.ok()) return fresh.status();
        if (!*fresh && !stats->full_scan) {
          ++stats->duplicate;
          continue;
        }
        absl::StatusOr<std::vector<model::InventoryPosition>> held = tx.GetPositions(r.sku);
        if (!held.ok()) return held.status();
        auto p = std::find_if(held->begin(), held->end(), [&](const model::InventoryPosition& x) {
          return x.location == *mapped;
        });
        if (p != held->end() && p->on_hand == on_hand) {
          ++stats->unchanged;
          continue;
        }
        // A full scan is a reconciliation: what differs is applied, under an id of its own
        // (the row alone may have been applied before, when the level was the same as now).
        StockEvent e{.event_id = stats->full_scan
                                     ? ErpStockEventId(erp_name, keyed, *mapped, read_at)
                                     : row_id,
                     .sku = r.sku,
                     .location = *mapped,
                     .on_hand = on_hand,
                     .occurred_at = read_at,
                     .source = "erp"};
        absl::StatusOr<StockEventResult> result = inventory->ApplyStockEvent(tx, e);
        if (!result.ok()) return result.status();
        switch (*result) {
          case StockEventResult::kApplied:
            ++stats->applied;
            break;
          case StockEventResult::kDuplicate:
            ++stats->duplicate;
            break;
          case StockEventResult::kStale:
            ++stats->stale;
            break;
        }
      }
      if (auto s = tx.PutCursor(
              kErpStockPollCursor,
              json{{"high_water", Rfc3339(next.high_water)}, {"polls", next.polls}}.dump());
          !s.ok()) {
        return s;
      }
      obs::LogInfo("erp stock polled",
                   {{"erp", erp_name},
                    {"full_scan", stats->full_scan},
                    {"pages", stats->pages},
                    {"rows", stats->rows},
                    {"applied", stats->applied},
                    {"duplicate", stats->duplicate},
                    {"unchanged", stats->unchanged},
                    {"stale", stats->stale},
                    {"unmapped", stats->unmapped},
                    {"since", since == absl::InfinitePast() ? "all" : Rfc3339(since)},
                    {"high_water", Rfc3339(next.high_water)}},
                   correlation_id);
      if (on_poll) on_poll(*stats);
      return absl::OkStatus();
    });
    return absl::OkStatus();
  };
}

}  // namespace keelson::flows
