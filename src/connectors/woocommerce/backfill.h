#pragma once
// Backfill: finds the orders whose webhooks Keelson never received by polling
// GET /orders?modified_after=...&dates_are_gmt=true&orderby=modified&order=asc. Pure connector
// logic with no schedule, storage or retry of its own: the caller (a scheduled job) keeps the
// high-water mark, hands each order to intake (which deduplicates) and lets the job runner retry
// a failed poll.
//
// Paging: WooCommerce pages by offset, and an order modified while the walk is under way moves
// to the end of the "modified asc" list, shifting every later order one place forward, so a
// plain page 1, 2, 3... walk can skip an order that was never touched. This walk pages by key
// instead: after a full page it asks again from the last date_modified_gmt on that page minus one
// second (WooCommerce compares whole seconds, strictly greater), and skips the (id,
// date_modified_gmt) pairs it already passed on. Only when more than a page of orders share one
// second does it fall back to the page number for that second.
//
// Thread-safety: a call is self-contained; concurrent calls need a thread-safe RestClient
// (NewRestClient's is).

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/woocommerce/rest_client.h"

namespace keelson::connectors::woocommerce {

struct BackfillResult {
  int64_t orders_seen = 0;  // on_order calls: distinct (id, date_modified_gmt) pairs
  int pages = 0;            // list requests made
  // The largest date_modified_gmt seen, never earlier than `since`; the next poll's `since`.
  absl::Time high_water_mark = absl::InfinitePast();
};

struct BackfillOptions {
  int per_page = 100;  // 1..100 (WooCommerce's maximum)
};

// Walks every order modified strictly after `since - overlap` (the overlap absorbs clock skew
// and orders committed late), oldest change first, and calls `on_order` with each one, in the
// shape of GET /orders/{id}. `overlap` must be >= 0. Orders may be handed over more than once
// across polls (the overlap) and, within a poll, once per distinct date_modified_gmt.
// Errors: the client's classified error for a failed request; the first error from `on_order`,
// returned as is with "backfill: order N: " in front (nothing after it is called);
// kInvalidArgument for a negative overlap or per_page outside 1..100.
absl::StatusOr<BackfillResult> PollModifiedOrders(
    RestClient& client, absl::Time since, absl::Duration overlap,
    const std::function<absl::Status(const nlohmann::json& order)>& on_order,
    const BackfillOptions& options = {});

}  // namespace keelson::connectors::woocommerce
