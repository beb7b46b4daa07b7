#pragma once
// The ingest job (kind "woocommerce.ingest"): reads a stored delivery from the inbox, parses it,
// records on the entity's timeline that it arrived (with the delivery's correlation id) and marks
// the delivery processed. A body that is not a JSON object is poison: the delivery is marked
// rejected with the reason and the job goes to the dead letters at once (kDataLoss); the raw
// bytes stay in the inbox, so an operator can see them and replay the job.
//
// The order-to-cash flow plugs in here: `on_resource` receives the parsed payload of each
// delivery, after the timeline entry is written, to map and act on it.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "jobs/runner.h"

namespace keelson::flows {

struct IngestedDelivery {
  const store::Delivery& delivery;
  std::string resource;  // "order", "product", ... (from the topic)
  std::string entity;    // "order:main:14"
  const nlohmann::json& payload;
};

using ResourceHandler = std::function<absl::Status(jobs::JobContext&, const IngestedDelivery&)>;

// Returns the job handler; `on_resource` may be empty.
jobs::JobHandler MakeWebhookIngestHandler(ResourceHandler on_resource = nullptr);

// Handler for kind "jobs.purge": deletes done jobs older than `retention`.
jobs::JobHandler MakePurgeHandler(absl::Duration retention);

}  // namespace keelson::flows
