#pragma once
// The operator API's views for the console (docs/ops-api.md):
//
//   GET  /ops/whoami                         the key's name and scopes
//   GET  /ops/overview                       counts, queue, lag, breaches and the sampled series
//   GET  /ops/orders?q=&store=&status=&erp_state=&limit=&cursor=   search, newest change first
//   GET  /ops/orders/{store_id}/{order_id}   one order across systems: summary, canonical order,
//                                            timeline, jobs, reservations
//   POST /ops/dead-letters/{id}/discard      {"reason": "…"} set a dead letter aside (audited)
//   POST /ops/dead-letters/discard?reason=&kind=   the same for every matching one
//   GET  /ops/alerts                         SLA rules as last evaluated
//   GET  /ops/alerts/{rule}?limit=           every item in breach of one rule now
//   GET  /ops/audit?after=&limit=            operator actions, oldest first
//
// Thread-safety: stateless handlers over OpsDeps.

#include "api/ops.h"
#include "net/http_server.h"

namespace keelson::api {

void AddOpsViewRoutes(net::Router& router, const OpsDeps& deps);

// Business gauges computed at scrape time from the store (cached for a few seconds):
// keelson_orders{status,erp_state}, keelson_orders_awaiting_erp,
// keelson_inventory_unpublished_skus, keelson_inventory_sync_lag_seconds,
// keelson_shipments_awaiting_erp.
void AddBusinessGauges(const OpsDeps& deps);

}  // namespace keelson::api
