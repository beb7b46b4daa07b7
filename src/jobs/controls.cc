#include "jobs/controls.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace keelson::jobs {

std::string PauseCursorName(std::string_view connector) {
  return absl::StrCat("connector.paused:", core::AbslSv(connector));
}

ConnectorControls::ConnectorControls(store::Store* store, const core::Clock* clock,
                                     std::vector<std::string> connectors,
                                     absl::Duration cache_for)
    : store_(store), clock_(clock), connectors_(std::move(connectors)), cache_for_(cache_for) {}

bool ConnectorControls::Known(std::string_view connector) const {
  return std::find(connectors_.begin(), connectors_.end(), connector) != connectors_.end();
}

absl::Status ConnectorControls::Set(std::string_view connector, bool paused,
                                    std::string_view reason, std::string_view by) {
  if (!Known(connector)) {
    return absl::NotFoundError(absl::StrCat("no connector \"", core::AbslSv(connector),
                                            "\" (known: ", absl::StrJoin(connectors_, ", "),
                                            ")"));
  }
  const absl::Time now = clock_->Now();
  nlohmann::json state = {{"paused", paused},
                          {"reason", std::string(reason)},
                          {"by", std::string(by)},
                          {"at_ms", absl::ToUnixMillis(now)}};
  absl::Status st = store_->Transact(now, [&](store::Tx& tx) -> absl::Status {
    if (auto s = tx.PutCursor(PauseCursorName(connector), state.dump()); !s.ok()) return s;
    return tx.AppendTimeline({.entity = absl::StrCat("connector:", core::AbslSv(connector)),
                              .at = now,
                              .kind = paused ? "connector.paused" : "connector.resumed",
                              .detail_json = state.dump()});
  });
  if (!st.ok()) return st;
  absl::MutexLock l(&mu_);
  cache_.insert_or_assign(std::string(connector), Cached{.paused = paused, .read_at = now});
  return absl::OkStatus();
}

absl::Status ConnectorControls::Pause(std::string_view connector, std::string_view reason,
                                      std::string_view by) {
  return Set(connector, true, reason, by);
}

absl::Status ConnectorControls::Resume(std::string_view connector, std::string_view by) {
  return Set(connector, false, "", by);
}

absl::StatusOr<PauseState> ConnectorControls::Get(std::string_view connector) {
  if (!Known(connector)) {
    return absl::NotFoundError(absl::StrCat("no connector \"", core::AbslSv(connector), "\""));
  }
  PauseState out;
  out.connector = std::string(connector);
  auto raw = store_->GetCursor(PauseCursorName(connector));
  if (!raw.ok()) return raw.status();
  if (raw->has_value()) {
    nlohmann::json j = nlohmann::json::parse(**raw, nullptr, false);
    if (j.is_object()) {
      out.paused = j.value("paused", false);
      out.reason = j.value("reason", "");
      out.by = j.value("by", "");
      out.since = absl::FromUnixMillis(j.value("at_ms", int64_t{0}));
    }
  }
  return out;
}

absl::StatusOr<std::vector<PauseState>> ConnectorControls::List() {
  std::vector<PauseState> out;
  for (const std::string& c : connectors_) {
    auto s = Get(c);
    if (!s.ok()) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

bool ConnectorControls::IsPaused(std::string_view connector) {
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock l(&mu_);
    auto it = cache_.find(connector);
    if (it != cache_.end() && now - it->second.read_at < cache_for_) return it->second.paused;
  }
  auto state = Get(connector);
  absl::MutexLock l(&mu_);
  Cached& c = cache_[std::string(connector)];
  if (state.ok()) c.paused = state->paused;
  c.read_at = now;
  return c.paused;
}

}  // namespace keelson::jobs
