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
// Authentication: when api key digests are configured (ops.api_keys), /ops requires
// `Authorization: Bearer <key>`; the key's SHA-256 is compared in constant time. Without any
// configured key /ops is open (start-up logs a warning; fine for the loopback demo only).
// Thread-safety: the handlers are stateless apart from the pointers they hold.

#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "jobs/controls.h"
#include <nlohmann/json.hpp>
#include "net/http_server.h"
#include "store/store.h"

namespace keelson::obs {
class Registry;
}

namespace keelson::api {

struct OpsDeps {
  store::Store* store = nullptr;
  const core::Clock* clock = nullptr;
  obs::Registry* metrics = nullptr;
  std::vector<std::string> api_key_sha256;  // lowercase hex digests
  std::function<void()> on_replay;          // wake the job runner
  std::function<bool()> ready;              // readiness beyond the store ping
  jobs::ConnectorControls* controls = nullptr;       // pause/resume; null = not offered
  std::function<nlohmann::json()> connector_health;  // GET /ops/connectors; empty = not offered
  std::function<void()> on_resume;                   // wake the job runner
};

// A status as an RFC 9457 problem (kNotFound -> 404, kInvalidArgument -> 400, ...).
net::HttpResponse ProblemFromStatus(const absl::Status& s);
// True when no keys are configured, or the request carries `Authorization: Bearer <key>` for a
// configured key (compared in constant time, by SHA-256).
bool Authorized(const OpsDeps& deps, const net::HttpRequest& req);
// Wraps a handler with Authorized: 401 problem+json with WWW-Authenticate otherwise.
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
