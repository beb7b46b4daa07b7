#pragma once
// The /v1 order API: GET /v1/orders/{store_id}/{order_id} answers the canonical order as Keelson
// holds it, its normalized status, the ERP reference and the order's timeline. Guarded by the
// same API keys as /ops (open when none are configured).
//
// Thread-safety: the handler is stateless apart from the Store, which is thread-safe.

#include <functional>

#include <nlohmann/json.hpp>

#include "api/ops.h"
#include "model/order.h"
#include "net/http_server.h"

namespace keelson::api {

using OrderMapperFn = std::function<absl::StatusOr<model::Order>(std::string_view store_id,
                                                                 const nlohmann::json& payload)>;

// The response body for one held order: {"reference", "store_id", "order_id", "status",
// "version", "erp": {"state","id","number"}, "order": canonical order (or null with
// "mapping_error"), "timeline": [...]}. kNotFound when the order is not held.
absl::StatusOr<nlohmann::json> OrderView(store::Store& store, const OrderMapperFn& mapper,
                                         std::string_view store_id, int64_t order_id);

void AddOrderRoutes(net::Router& router, const OpsDeps& deps, OrderMapperFn mapper);

}  // namespace keelson::api
