#pragma once
// Wiring of `keelson serve`: opens the store, registers the job handlers and schedules, starts
// the job runner, the intake group committer and the HTTP server, and shuts them down in order
// on SIGINT/SIGTERM (stop accepting, commit and answer what is in flight, stop the workers).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "store/store.h"

namespace keelson::app {

struct ServeOptions {
  // When set, the bound port is written here (atomically) once the server accepts requests:
  // for tests and scripts that listen on port 0.
  std::string ready_file;
};

absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const Config& config);

// Runs until SIGINT or SIGTERM. Returns the process exit code (0 clean, 2 runtime failure).
int Serve(const Config& config, const ServeOptions& options);

}  // namespace keelson::app
