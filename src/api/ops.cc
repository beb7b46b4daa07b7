#include "api/ops.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/dead_letters.h"
#include "api/views.h"
#include "core/strings.h"
#include "net/signature.h"
#include "obs/log.h"
#include "obs/metrics.h"

namespace keelson::api {

using net::http::status;
using net::http::verb;

net::HttpResponse ProblemFromStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      return net::Problem(status::not_found, "Not Found", core::StdSv(s.message()));
    case absl::StatusCode::kFailedPrecondition:
      return net::Problem(status::conflict, "Conflict", core::StdSv(s.message()));
    case absl::StatusCode::kInvalidArgument:
      return net::Problem(status::bad_request, "Bad Request", core::StdSv(s.message()));
    default:
      return net::Problem(status::service_unavailable, "Service Unavailable",
                          core::StdSv(s.message()));
  }
}

const ApiKey* Authenticate(const OpsDeps& deps, const net::HttpRequest& req) {
  std::string_view auth = req.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() < kBearer.size() ||
      !absl::EqualsIgnoreCase(core::AbslSv(auth.substr(0, kBearer.size())), core::AbslSv(kBearer))) {
    return nullptr;
  }
  const std::string digest = net::Sha256Hex(auth.substr(kBearer.size()));
  const ApiKey* found = nullptr;
  for (const ApiKey& k : deps.api_keys) {  // every key compared: no early exit to time
    const bool same = k.sha256.size() == digest.size() &&
                      CRYPTO_memcmp(k.sha256.data(), digest.data(), digest.size()) == 0;
    if (same && found == nullptr) found = &k;
  }
  return found;
}

bool Authorized(const OpsDeps& deps, const net::HttpRequest& req) {
  return deps.api_keys.empty() || Authenticate(deps, req) != nullptr;
}

void Audit(const OpsDeps& deps, const net::HttpRequest& req, std::string_view action,
           std::string_view target, nlohmann::json detail) {
  store::AuditEntry e{.actor = req.principal.empty() ? "anonymous" : req.principal,
                      .action = std::string(action),
                      .target = std::string(target),
                      .detail_json = detail.dump()};
  absl::Status s = deps.store->Transact(deps.clock->Now(),
                                        [&](store::Tx& tx) { return tx.AppendAudit(e); });
  if (!s.ok()) {
    obs::LogWarn("audit entry not written", {{"action", std::string(action)},
                                             {"target", std::string(target)},
                                             {"error", std::string(s.message())}});
  }
}

// Wraps an /ops handler with authentication.
net::Handler GuardedHandler(const OpsDeps& deps, std::function<net::HttpResponse(net::HttpRequest&)> fn) {
  return GuardedAsyncHandler(deps, [fn = std::move(fn)](net::HttpRequest& req,
                                                        net::Responder respond) {
    respond(fn(req));
  });
}

net::Handler GuardedAsyncHandler(const OpsDeps& deps, net::Handler fn) {
  return [deps, fn = std::move(fn)](net::HttpRequest& req, net::Responder respond) {
    if (!deps.api_keys.empty()) {
      const ApiKey* key = Authenticate(deps, req);
      if (key == nullptr) {
        auto res = net::Problem(status::unauthorized, "Unauthorized",
                                "a valid ops API key is required (Authorization: Bearer <key>)");
        res.set("WWW-Authenticate", "Bearer");
        respond(std::move(res));
        return;
      }
      const bool read = req.raw.method() == verb::get || req.raw.method() == verb::head;
      auto has = [&](std::string_view scope) {
        return std::find(key->scopes.begin(), key->scopes.end(), scope) != key->scopes.end();
      };
      if (!has("ops") && !(read && has("ops:read"))) {
        respond(net::Problem(status::forbidden, "Forbidden",
                             absl::StrCat("the key \"", key->name, "\" has no \"ops\" scope",
                                          read ? "" : " (its \"ops:read\" scope allows GET only)")));
        return;
      }
      req.principal = key->name;
    }
    fn(req, std::move(respond));
  };
}

namespace {
absl::StatusOr<int64_t> IdParam(const net::HttpRequest& req) {
  int64_t id = 0;
  auto it = req.params.find("id");
  if (it == req.params.end() || !absl::SimpleAtoi(it->second, &id) || id <= 0) {
    return absl::InvalidArgumentError("the id must be a positive integer");
  }
  return id;
}

store::JobFilter DeadFilter(const net::HttpRequest& req) {
  store::JobFilter f;
  f.state = store::JobState::kDead;
  f.kind = req.QueryParam("kind");
  f.dead_reason = req.QueryParam("reason");
  if (f.dead_reason.empty()) f.exclude_dead_reason = "discarded";  // set aside for good
  int64_t v = 0;
  if (absl::SimpleAtoi(req.QueryParam("after"), &v)) f.after_id = v;
  if (absl::SimpleAtoi(req.QueryParam("limit"), &v)) f.limit = static_cast<int>(std::clamp<int64_t>(v, 1, 1000));
  return f;
}

}  // namespace

void AddOpsRoutes(net::Router& router, const OpsDeps& deps) {
  router.Add(verb::get, "/ops/dead-letters", GuardedHandler(deps, [deps](net::HttpRequest& req) {
               auto jobs = deps.store->ListJobs(DeadFilter(req));
               if (!jobs.ok()) return ProblemFromStatus(jobs.status());
               nlohmann::json items = nlohmann::json::array();
               for (const auto& j : *jobs) items.push_back(JobToJson(j, false));
               nlohmann::json out = {{"items", items}};
               if (!jobs->empty()) out["next_after"] = jobs->back().id;
               return net::Json(status::ok, out.dump());
             }));
  router.Add(verb::get, "/ops/dead-letters/{id}", GuardedHandler(deps, [deps](net::HttpRequest& req) {
               auto id = IdParam(req);
               if (!id.ok()) return ProblemFromStatus(id.status());
               auto out = DeadLetterDetail(*deps.store, *id);
               if (!out.ok()) return ProblemFromStatus(out.status());
               return net::Json(status::ok, out->dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace));
             }));
  router.Add(verb::post, "/ops/dead-letters/{id}/replay",
             GuardedHandler(deps, [deps](net::HttpRequest& req) {
               auto id = IdParam(req);
               if (!id.ok()) return ProblemFromStatus(id.status());
               absl::Status s = deps.store->ReplayJob(*id, deps.clock->Now());
               if (!s.ok()) return ProblemFromStatus(s);
               obs::LogInfo("dead letter replayed", {{"job_id", *id}, {"by", req.principal}});
               Audit(deps, req, "dead_letter.replay", absl::StrCat("job:", *id));
               if (deps.on_replay) deps.on_replay();
               return net::Json(status::ok, nlohmann::json{{"replayed", {*id}}}.dump());
             }));
  router.Add(verb::post, "/ops/dead-letters/replay", GuardedHandler(deps, [deps](net::HttpRequest& req) {
               auto replayed = ReplayDeadLetters(*deps.store, DeadFilter(req), deps.clock->Now());
               if (!replayed.ok()) return ProblemFromStatus(replayed.status());
               obs::LogInfo("dead letters replayed",
                            {{"count", replayed->size()}, {"by", req.principal}});
               if (!replayed->empty()) {
                 Audit(deps, req, "dead_letter.replay_bulk", "dead-letters",
                       {{"ids", *replayed},
                        {"reason", req.QueryParam("reason")},
                        {"kind", req.QueryParam("kind")}});
               }
               if (deps.on_replay && !replayed->empty()) deps.on_replay();
               return net::Json(status::ok, nlohmann::json{{"replayed", *replayed}}.dump());
             }));
  if (deps.connector_health) {
    router.Add(verb::get, "/ops/connectors", GuardedHandler(deps, [deps](net::HttpRequest&) {
                 return net::Json(status::ok,
                                  nlohmann::json{{"items", deps.connector_health()}}.dump());
               }));
  }
  if (deps.controls != nullptr) {
    router.Add(verb::post, "/ops/connectors/{name}/pause",
               GuardedHandler(deps, [deps](net::HttpRequest& req) {
                 const std::string name = req.params["name"];
                 std::string reason;
                 if (!req.raw.body().empty()) {
                   nlohmann::json body = nlohmann::json::parse(req.raw.body(), nullptr, false);
                   if (!body.is_object() || (body.contains("reason") && !body["reason"].is_string())) {
                     return net::Problem(status::bad_request, "Bad Request",
                                         "the body must be a JSON object {\"reason\": \"…\"}");
                   }
                   reason = body.value("reason", "");
                 }
                 const std::string by = req.principal.empty() ? "ops-api" : req.principal;
                 if (auto s = deps.controls->Pause(name, reason, by); !s.ok()) {
                   return ProblemFromStatus(s);
                 }
                 Audit(deps, req, "connector.pause", absl::StrCat("connector:", name),
                       {{"reason", reason}});
                 obs::LogWarn("connector paused",
                              {{"connector", name}, {"reason", reason}, {"by", "ops-api"}});
                 return net::Json(status::ok,
                                  nlohmann::json{{"connector", name}, {"paused", true},
                                                 {"reason", reason}}.dump());
               }));
    router.Add(verb::post, "/ops/connectors/{name}/resume",
               GuardedHandler(deps, [deps](net::HttpRequest& req) {
                 const std::string name = req.params["name"];
                 const std::string by = req.principal.empty() ? "ops-api" : req.principal;
                 if (auto s = deps.controls->Resume(name, by); !s.ok()) {
                   return ProblemFromStatus(s);
                 }
                 Audit(deps, req, "connector.resume", absl::StrCat("connector:", name));
                 obs::LogInfo("connector resumed", {{"connector", name}, {"by", "ops-api"}});
                 if (deps.on_resume) deps.on_resume();
                 return net::Json(status::ok,
                                  nlohmann::json{{"connector", name}, {"paused", false}}.dump());
               }));
  }
  router.Add(verb::get, "/ops/timeline", GuardedHandler(deps, [deps](net::HttpRequest& req) {
               const std::string corr = req.QueryParam("correlation_id");
               const std::string entity = req.QueryParam("entity");
               if (corr.empty() == entity.empty()) {
                 return net::Problem(status::bad_request, "Bad Request",
                                     "give exactly one of correlation_id or entity");
               }
               auto events = corr.empty() ? deps.store->ListTimeline(entity, 1000)
                                          : deps.store->ListTimelineByCorrelation(corr, 1000);
               if (!events.ok()) return ProblemFromStatus(events.status());
               nlohmann::json items = nlohmann::json::array();
               for (const auto& e : *events) items.push_back(TimelineToJson(e));
               return net::Json(status::ok, nlohmann::json{{"items", items}}.dump());
             }));
}

void AddServiceRoutes(net::Router& router, const OpsDeps& deps) {
  router.Add(verb::get, "/healthz", [](net::HttpRequest&, net::Responder respond) {
    respond(net::Json(status::ok, R"({"status":"ok"})"));
  });
  router.Add(verb::get, "/readyz", [deps](net::HttpRequest&, net::Responder respond) {
    absl::Status s = deps.store->Ping();
    if (s.ok() && deps.ready && !deps.ready()) s = absl::UnavailableError("starting or stopping");
    if (!s.ok()) {
      respond(net::Problem(status::service_unavailable, "Not Ready", core::StdSv(s.message())));
      return;
    }
    respond(net::Json(status::ok, R"({"status":"ready"})"));
  });
  router.Add(verb::get, "/metrics", [deps](net::HttpRequest&, net::Responder respond) {
    respond(net::Text(status::ok, deps.metrics->Render(), "text/plain; version=0.0.4"));
  });
}

void AddStoreGauges(const OpsDeps& deps) {
  // One scrape reads the stats once; the gauges below share it through this cache.
  struct Cache {
    std::mutex mu;
    absl::Time at = absl::InfinitePast();
    store::JobStats stats;
  };
  auto cache = std::make_shared<Cache>();
  auto stats = [deps, cache]() {
    std::lock_guard<std::mutex> l(cache->mu);
    const absl::Time now = deps.clock->Now();
    if (now - cache->at > absl::Milliseconds(500)) {
      auto s = deps.store->GetJobStats(now);
      if (s.ok()) {
        cache->stats = *s;
        cache->at = now;
      }
    }
    return cache->stats;
  };
  deps.metrics->AddCallbackGauge("keelson_jobs", "Jobs in the store, by state.", [stats]() {
    auto s = stats();
    return std::vector<std::pair<obs::Labels, double>>{
        {{{"state", "queued"}}, static_cast<double>(s.queued)},
        {{{"state", "running"}}, static_cast<double>(s.running)},
        {{{"state", "done"}}, static_cast<double>(s.done)},
        {{{"state", "dead"}}, static_cast<double>(s.dead)}};
  });
  deps.metrics->AddCallbackGauge("keelson_jobs_due", "Queued jobs whose run time has come.",
                                 [stats]() {
                                   return std::vector<std::pair<obs::Labels, double>>{
                                       {{}, static_cast<double>(stats().due)}};
                                 });
  deps.metrics->AddCallbackGauge(
      "keelson_jobs_oldest_due_age_seconds", "Age of the oldest due job (0 when none is waiting).",
      [stats]() {
        return std::vector<std::pair<obs::Labels, double>>{
            {{}, absl::ToDoubleSeconds(stats().oldest_due_age)}};
      });
  deps.metrics->AddCallbackGauge("keelson_dead_letters", "Dead-lettered jobs, by reason.",
                                 [stats]() {
                                   std::vector<std::pair<obs::Labels, double>> out;
                                   for (const auto& [reason, n] : stats().dead_by_reason) {
                                     out.push_back({{{"reason", reason}}, static_cast<double>(n)});
                                   }
                                   return out;
                                 });
}

}  // namespace keelson::api
