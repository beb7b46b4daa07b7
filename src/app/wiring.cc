#include "app/wiring.h"

#include "absl/strings/str_cat.h"
#include "connectors/erp/business_central/adapter.h"
#include "connectors/erp/odoo/adapter.h"
#include "connectors/woocommerce/backfill.h"
#include "net/rate_limited_client.h"
#include "core/strings.h"

namespace keelson::app {

namespace {

// flows::ShopWriteBack over the WooCommerce REST client.
class WooShop final : public flows::ShopWriteBack {
 public:
  explicit WooShop(connectors::woocommerce::RestClient* rest) : rest_(rest) {}

  absl::StatusOr<nlohmann::json> FetchOrder(int64_t order_id) override {
    return rest_->GetOrder(order_id);
  }

  absl::StatusOr<std::optional<std::string>> GetOrderMeta(int64_t order_id,
                                                          std::string_view key) override {
    auto order = rest_->GetOrder(order_id);
    if (!order.ok()) return order.status();
    const nlohmann::json& meta = (*order)["meta_data"];
    if (!meta.is_array()) return std::optional<std::string>();
    for (const auto& m : meta) {
      if (m.is_object() && m.value("key", "") == key && m.contains("value")) {
        const auto& v = m["value"];
        return std::optional<std::string>(v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
    return std::optional<std::string>();
  }

  absl::Status AddOrderNote(int64_t order_id, std::string_view note) override {
    return rest_->AddOrderNote(order_id, note, /*customer_note=*/false).status();
  }

  absl::Status SetOrderMeta(int64_t order_id, std::string_view key,
                            std::string_view value) override {
    connectors::woocommerce::OrderUpdate update;
    update.meta_data.emplace_back(std::string(key), std::string(value));
    return rest_->UpdateOrder(order_id, update);
  }

 private:
  connectors::woocommerce::RestClient* rest_;
};

}  // namespace

flows::ShopWriteBack* Connectors::ShopFor(std::string_view store_id) const {
  auto it = shops.find(store_id);
  return it == shops.end() ? nullptr : it->second.get();
}

const flows::ModifiedOrdersPoller* Connectors::PollerFor(std::string_view store_id) const {
  auto it = pollers.find(store_id);
  return it == pollers.end() ? nullptr : &it->second;
}

absl::StatusOr<std::unique_ptr<Connectors>> BuildConnectors(const Config& config) {
  auto c = std::make_unique<Connectors>();
  c->http = net::NewCurlHttpClient();
  for (const StoreConfig& s : config.stores) {
    if (s.consumer_key.value().empty() || s.consumer_secret.value().empty()) continue;
    auto rest = connectors::woocommerce::NewRestClient(
        {.store_url = s.url,
         .consumer_key = s.consumer_key.value(),
         .consumer_secret = s.consumer_secret.value()},
        *c->http);
    connectors::woocommerce::RestClient* raw = rest.get();
    c->shops.emplace(s.id, std::make_unique<WooShop>(raw));
    c->pollers.emplace(
        s.id, [raw](absl::Time since, absl::Duration overlap,
                    const std::function<absl::Status(const nlohmann::json&)>& on_order)
                  -> absl::StatusOr<flows::PollResult> {
          auto r = connectors::woocommerce::PollModifiedOrders(*raw, since, overlap, on_order);
          if (!r.ok()) return r.status();
          return flows::PollResult{.orders = r->orders_seen, .high_water = r->high_water_mark};
        });
    c->rest.emplace(s.id, std::move(rest));
  }
  if (config.erp.present) {
    c->erp_transport = net::NewCurlHttpClient();
    // Business Central allows 5 requests at once per user; pace below its limits by default.
    net::RateLimitOptions limits{
        .requests_per_second = config.erp.limits.requests_per_second,
        .concurrency = config.erp.limits.concurrency > 0
                           ? config.erp.limits.concurrency
                           : (config.erp.type == "business_central" ? 5 : 8)};
    c->erp_http = std::make_unique<net::RateLimitedHttpClient>(*c->erp_transport, limits);
    auto erp = NewErpAdapter(config.erp, *c->erp_http);
    if (!erp.ok()) return erp.status();
    c->erp = std::move(erp).value();
  }
  return c;
}

absl::StatusOr<std::unique_ptr<connectors::ErpAdapter>> NewErpAdapter(const ErpConfig& erp,
                                                                      net::HttpClient& http) {
  const absl::Duration timeout = absl::Milliseconds(erp.limits.timeout_ms);
  if (erp.type == "business_central") {
    connectors::business_central::AdapterOptions o;
    o.client.base_url = erp.url;
    o.client.company_id = erp.company_id;
    o.client.token_url = erp.auth.token_url;
    o.client.client_id = erp.auth.client_id;
    o.client.client_secret = erp.auth.client_secret.value();
    if (!erp.auth.scope.empty()) o.client.scope = erp.auth.scope;
    o.client.timeout = timeout;
    o.mapping.shipping_account = erp.mapping.shipping;
    o.mapping.fee_account = erp.mapping.fees;
    o.mapping.lcy_code = erp.mapping.local_currency;
    return std::unique_ptr<connectors::ErpAdapter>(
        std::make_unique<connectors::business_central::BusinessCentralAdapter>(std::move(o), http));
  }
  if (erp.type == "odoo") {
    auto protocol = connectors::odoo::ParseProtocol(erp.protocol);
    if (!protocol.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("erp.protocol: ", protocol.status().message()));
    }
    connectors::odoo::OdooAdapterOptions o{.url = erp.url,
                                           .database = erp.database,
                                           .username = erp.username,
                                           .password = erp.password.value(),
                                           .api_key = erp.api_key.value(),
                                           .timeout = timeout,
                                           .protocol = *protocol,
                                           .shipping_product_code = erp.mapping.shipping,
                                           .fee_product_code = erp.mapping.fees};
    auto adapter = connectors::odoo::OdooAdapter::Create(std::move(o), http);
    if (!adapter.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("erp: ", adapter.status().message()));
    }
    return std::unique_ptr<connectors::ErpAdapter>(std::move(adapter).value());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("erp.type: \"", erp.type, "\" is not available in this build"));
}

}  // namespace keelson::app
