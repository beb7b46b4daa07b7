#pragma once
// Operator controls over connectors: pause one (a maintenance window, a credential rotation) so
// its jobs are held in the queue — not run, not failed, not counting attempts — and resume it.
//
// The switch lives in the store (a named cursor "connector.paused:<name>"), so `keelson
// connector pause erp` from another process, POST /ops/connectors/erp/pause and every node of a
// cluster see the same state; each pause and resume is recorded on the timeline of entity
// "connector:<name>" (who, why, when). The job runner asks IsPaused before claiming for a lane;
// that read is cached for `cache_for`, so a pause takes effect within that time (jobs already
// running finish).
//
// Thread-safety: every method is thread-safe. Ownership: borrows `store` and `clock`.

#include <string>
#include <string_view>
#include <vector>

#include <map>
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "store/store.h"

namespace keelson::jobs {

struct PauseState {
  std::string connector;
  bool paused = false;
  std::string reason;
  std::string by;  // who said it: "cli", "ops:<key name>", ...
  absl::Time since = absl::InfinitePast();
};

class ConnectorControls {
 public:
  // `connectors`: the names that may be paused ("erp", "woocommerce"); others are kNotFound.
  ConnectorControls(store::Store* store, const core::Clock* clock,
                    std::vector<std::string> connectors,
                    absl::Duration cache_for = absl::Seconds(1));

  absl::Status Pause(std::string_view connector, std::string_view reason, std::string_view by);
  absl::Status Resume(std::string_view connector, std::string_view by);
  // Read from the store now.
  absl::StatusOr<PauseState> Get(std::string_view connector);
  absl::StatusOr<std::vector<PauseState>> List();
  // Cached for `cache_for`; when the store cannot be read, the last known state holds.
  bool IsPaused(std::string_view connector);

  const std::vector<std::string>& connectors() const { return connectors_; }

 private:
  absl::Status Set(std::string_view connector, bool paused, std::string_view reason,
                   std::string_view by);
  bool Known(std::string_view connector) const;

  store::Store* store_;
  const core::Clock* clock_;
  const std::vector<std::string> connectors_;
  const absl::Duration cache_for_;

  absl::Mutex mu_;
  struct Cached {
    bool paused = false;
    absl::Time read_at = absl::InfinitePast();
  };
  std::map<std::string, Cached, std::less<>> cache_ ABSL_GUARDED_BY(mu_);
};

std::string PauseCursorName(std::string_view connector);

}  // namespace keelson::jobs
