#pragma once
// Operator API (/ops) and the service endpoints (/healthz, /readyz, /metrics).
//
//   GET  /ops/dead-letters?reason=&kind=&after=&limit=   dead jobs, oldest first, paged by id
//   GET  /ops/dead-letters/{id}                          one, with payload and its raw delivery
//   POST /ops/dead-letters/{id}/replay                   back to the queue (404 / 409 not dead)
//   POST /ops/dead-letters/replay?reason=&kind=          every matching dead letter
//   GET  /ops/timeline?correlation_id=… | entity=…       timeline events
//   GET  /ops/inventory/drift?store=&run=&after=&limit=  the latest reconciliation report
//   POST /ops/inventory/reconcile?store=                 reconcile that store now
//   GET  /ops/connectors                                 health: breaker, rate, in flight, last
//                                                        error, paused (per connector/endpoint)
//   POST /ops/connectors/{name}/pause   {"reason": "…"}  hold the connector's jobs (not failed)
//   POST /ops/connectors/{name}/resume                   run them again
//
//   GET  /ops/whoami, /ops/overview, /ops/orders, /ops/orders/{store}/{id}, /ops/alerts,
//   /ops/alerts/{rule}, /ops/audit; POST /ops/dead-letters/{id}/discard,
//   /ops/dead-letters/discard: see ops_views.h and docs/ops-api.md.
//
// Authentication: when api keys are configured (ops.api_keys, as SHA-256 digests), /ops requires
// `Authorization: Bearer <key>`; the key's SHA-256 is compared in constant time. A key with scope
// "ops" may do everything; one with only "ops:read" may GET (anything else is 403). Without any
// configured key /ops is open (start-up logs a warning; fine for the loopback demo only).
// Operator actions are written to the audit log under the key's name.
// Thread-safety: the handlers are stateless apart from the pointers they hold.

#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "jobs/controls.h"
#include "model/order.h"
#include <nlohmann/json.hpp>
#include "net/http_server.h"
#include "store/store.h"

namespace keelson::obs {
class Registry;
}
namespace keelson::ops {
class SlaMonitor;
class OverviewSampler;
}

namespace keelson::api {

struct ApiKey {
  std::string name;
  std::string sha256;               // lowercase hex digest of the key
  std::vector<std::string> scopes;  // "ops", "ops:read"
};

struct OpsDeps {
  store::Store* store = nullptr;
  const core::Clock* clock = nullptr;
  obs::Registry* metrics = nullptr;
  std::vector<ApiKey> api_keys;
  std::function<void()> on_replay;          // wake the job runner
  std::function<bool()> ready;              // readiness beyond the store ping
  jobs::ConnectorControls* controls = nullptr;       // pause/resume; null = not offered
  std::function<nlohmann::json()> connector_health;  // GET /ops/connectors; empty = not offered
  std::function<void()> on_resume;                   // wake the job runner
  ops::SlaMonitor* sla = nullptr;                    // /ops/alerts; null = not offered
  ops::OverviewSampler* sampler = nullptr;           // /ops/overview series; null = none
  std::vector<std::string> create_on;                // statuses that put an order in the ERP
  // Maps a held snapshot for the order page (the canonical order); empty = not shown.
  std::function<absl::StatusOr<model::Order>(std::string_view, const nlohmann::json&)> mapper;
};

// Writes one audit entry (best effort: a failure is logged, the action stands).
void Audit(const OpsDeps& deps, const net::HttpRequest& req, std::string_view action,
           std::string_view target, nlohmann::json detail = nlohmann::json::object());

// A status as an RFC 9457 problem (kNotFound -> 404, kInvalidArgument -> 400, ...).
net::HttpResponse ProblemFromStatus(const absl::Status& s);
// The configured key the request carries (`Authorization: Bearer <key>`, compared in constant
// time by SHA-256), or null.
const ApiKey* Authenticate(const OpsDeps& deps, const net::HttpRequest& req);
// True when no keys are configured, or the request carries a configured key.
bool Authorized(const OpsDeps& deps, const net::HttpRequest& req);
// Wraps a handler with Authenticate: 401 problem+json with WWW-Authenticate without a valid key;
// 403 when the key lacks the scope (GET and HEAD need "ops" or "ops:read", the rest "ops").
// Sets req.principal to the key's name ("" when /ops is open).
net::Handler GuardedHandler(const OpsDeps& deps,
                            std::function<net::HttpResponse(net::HttpRequest&)> fn);
// The same for a handler that answers later, from any thread, through its Responder.
net::Handler GuardedAsyncHandler(const OpsDeps& deps, net::Handler fn);

void AddOpsRoutes(net::Router& router, const OpsDeps& deps);
void AddServiceRoutes(net::Router& router, const OpsDeps& deps);
// Registers scrape-time gauges computed from the store (queue depth, oldest due job, dead
// letters by reason).
void AddStoreGauges(const OpsDeps& deps);

}  // namespace keelson::api
