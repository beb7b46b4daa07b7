#pragma once
// JSON views of stored records, shared by the /ops API and the CLI so both show the same fields.

#include <nlohmann/json.hpp>

#include "model/order.h"
#include "store/store.h"

namespace keelson::api {

std::string FormatRfc3339(absl::Time t);  // RFC 3339 UTC with milliseconds; "" for infinite
nlohmann::json JobToJson(const store::Job& job, bool with_payload);
nlohmann::json DeliveryToJson(const store::Delivery& d, bool with_body);
nlohmann::json TimelineToJson(const store::TimelineEvent& e);
// The canonical order; amounts as decimal strings ("12.50") with the currency alongside.
nlohmann::json OrderToJson(const model::Order& order);

}  // namespace keelson::api
