#include "app/wiring.h"

#include "absl/strings/str_cat.h"
#include "api/woocommerce_webhooks.h"
#include "connectors/erp/business_central/adapter.h"
#include "connectors/erp/odoo/adapter.h"
#include "connectors/woocommerce/backfill.h"
#include "core/strings.h"
#include "flows/backfill.h"
#include "flows/erp_stock.h"
#include "flows/fulfillment.h"
#include "flows/order_to_cash.h"

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

  absl::StatusOr<bool> HasOrderNote(int64_t order_id, std::string_view note) override {
    auto notes = rest_->ListOrderNotes(order_id);
    if (!notes.ok()) return notes.status();
    for (const std::string& n : *notes) {
      if (n == note) return true;
    }
    return false;
  }

  absl::Status SetOrderMeta(int64_t order_id, std::string_view key,
                            std::string_view value) override {
    connectors::woocommerce::OrderUpdate update;
    update.meta_data.emplace_back(std::string(key), std::string(value));
    return rest_->UpdateOrder(order_id, update);
  }

  absl::Status AddCustomerNote(int64_t order_id, std::string_view note) override {
    return rest_->AddOrderNote(order_id, note, /*customer_note=*/true).status();
  }

  absl::Status UpdateOrder(int64_t order_id, const flows::ShopOrderUpdate& update) override {
    connectors::woocommerce::OrderUpdate u;
    u.status = update.status;
    u.meta_data = update.meta;
    return rest_->UpdateOrder(order_id, u);
  }

 private:
  connectors::woocommerce::RestClient* rest_;
};

// flows::StockSink over each store's StockPublisher.
class WooStockSink final : public flows::StockSink {
 public:
  explicit WooStockSink(const Connectors* c) : c_(c) {}

  std::vector<flows::SinkOutcome> Publish(std::string_view store,
                                          std::span<const flows::StockTarget> levels) override {
    std::vector<flows::SinkOutcome> out;
    auto it = c_->stock.find(store);
    if (it == c_->stock.end()) {
      for (const auto& l : levels) {
        out.push_back({l.sku, absl::FailedPreconditionError(absl::StrCat(
                                  "store ", core::AbslSv(store), " has no REST credentials"))});
      }
      return out;
    }
    std::vector<connectors::woocommerce::StockLevel> send;
    send.reserve(levels.size());
    for (const auto& l : levels) send.push_back({l.sku, l.quantity, l.stock_status});
    for (auto& o : it->second->Publish(send)) out.push_back({std::move(o.sku), std::move(o.status)});
    return out;
  }

  absl::Status Scan(std::string_view store,
                    absl::FunctionRef<void(std::string_view, int64_t, std::string_view)> on_item)
      override {
    auto it = c_->stock.find(store);
    if (it == c_->stock.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("store ", core::AbslSv(store), " has no REST credentials"));
    }
    return it->second->Scan([&](const connectors::woocommerce::ShopStock& s) -> absl::Status {
      // Only what WooCommerce counts: an item without stock management has no quantity to drift.
      if (s.managed) on_item(s.sku, s.quantity.value_or(0), s.stock_status);
      return absl::OkStatus();
    });
  }

 private:
  const Connectors* c_;
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

net::EndpointOptions EndpointOptionsFor(std::string_view type, std::string name,
                                        const LimitsConfig& limits) {
  net::EndpointOptions o;
  o.name = std::move(name);
  // Defaults from what each vendor documents (the connectors' READMEs cite the pages):
  // Business Central online allows 6,000 requests per 5-minute sliding window and 5 concurrent
  // requests per user; Odoo publishes no request quota, so only concurrency is capped;
  // WooCommerce's REST API has no rate limit of its own, so be polite to a PHP host: 8 at once.
  if (type == "business_central") {
    o.requests_per_second = 20;
    o.burst = 1;  // a sliding window: any window W then sees at most 1 + 20·W requests
    o.concurrency = 5;
  } else if (type == "odoo") {
    o.concurrency = 8;
  } else {
    o.concurrency = 8;
  }
  if (limits.requests_per_second > 0) o.requests_per_second = limits.requests_per_second;
  if (limits.burst > 0) o.burst = limits.burst;
  if (limits.concurrency > 0) o.concurrency = limits.concurrency;
  o.adaptive = limits.adaptive;
  o.breaker.enabled = limits.breaker.enabled;
  o.breaker.consecutive_failures = limits.breaker.consecutive_failures;
  o.breaker.failure_ratio = limits.breaker.failure_ratio;
  o.breaker.window = limits.breaker.window;
  o.breaker.open_for = absl::Milliseconds(limits.breaker.open_ms);
  o.breaker.max_open_for = absl::Milliseconds(limits.breaker.max_open_ms);
  return o;
}

absl::StatusOr<std::unique_ptr<Connectors>> BuildConnectors(const Config& config,
                                                            obs::Registry* metrics) {
  auto c = std::make_unique<Connectors>();
  c->http = net::NewCurlHttpClient();
  for (const StoreConfig& s : config.stores) {
    if (s.consumer_key.value().empty() || s.consumer_secret.value().empty()) continue;
    auto endpoint = std::make_unique<net::Endpoint>(
        *c->http, EndpointOptionsFor("woocommerce", absl::StrCat("woocommerce:", s.id), s.limits),
        metrics);
    auto rest = connectors::woocommerce::NewRestClient(
        {.store_url = s.url,
         .consumer_key = s.consumer_key.value(),
         .consumer_secret = s.consumer_secret.value(),
         .timeout = absl::Milliseconds(s.limits.timeout_ms)},
        *endpoint);
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
    c->stock.emplace(s.id, std::make_unique<connectors::woocommerce::StockPublisher>(*raw));
    c->rest.emplace(s.id, std::move(rest));
    c->shop_http.emplace(s.id, std::move(endpoint));
  }
  c->stock_sink = std::make_unique<WooStockSink>(c.get());
  if (config.erp.present) {
    c->erp_transport = net::NewCurlHttpClient();
    c->erp_http = std::make_unique<net::Endpoint>(
        *c->erp_transport, EndpointOptionsFor(config.erp.type, kErpConnector, config.erp.limits),
        metrics);
    auto erp = NewErpAdapter(config.erp, *c->erp_http);
    if (!erp.ok()) return erp.status();
    c->erp = std::move(erp).value();
  }
  return c;
}

namespace {
// A connector's own retry schedule (limits.backoff_*), over the jobs.* defaults.
std::optional<jobs::RetryPolicy> LanePolicy(const Config& config, const LimitsConfig& limits) {
  if (limits.backoff_base_ms <= 0 && limits.backoff_cap_ms <= 0) return std::nullopt;
  jobs::RetryPolicy p;
  p.max_attempts = config.jobs.max_attempts;
  p.base = absl::Milliseconds(limits.backoff_base_ms > 0 ? limits.backoff_base_ms
                                                         : config.jobs.backoff_base_ms);
  p.cap = absl::Milliseconds(limits.backoff_cap_ms > 0 ? limits.backoff_cap_ms
                                                       : config.jobs.backoff_cap_ms);
  p.cap = std::max(p.cap, p.base);
  p.deadline = absl::Milliseconds(config.jobs.deadline_ms);
  return p;
}
}  // namespace

std::vector<jobs::LaneOptions> BuildLanes(const Config& config, const Connectors& connectors,
                                          jobs::ConnectorControls* controls) {
  std::vector<jobs::LaneOptions> lanes;
  const Connectors* c = &connectors;
  const int erp_workers =
      config.jobs.lane_erp > 0
          ? config.jobs.lane_erp
          : (c->erp_http && c->erp_http->options().concurrency > 0
                 ? c->erp_http->options().concurrency
                 : 4);
  lanes.push_back({.name = kErpConnector,
                   .kinds = {flows::kErpCreateJobKind, flows::kErpCancelJobKind,
                             flows::kErpStockPollJobKind, flows::kFulfillmentErpPostJobKind},
                   .workers = erp_workers,
                   .gate = [c, controls]() -> jobs::LaneGate {
                     if (controls != nullptr && controls->IsPaused(kErpConnector))
                       return {0, "paused"};
                     if (c->erp_http == nullptr) return {};
                     const int admit = c->erp_http->Admit();
                     return {admit, admit == 0 ? "circuit_open" : ""};
                   },
                   .policy = LanePolicy(config, config.erp.limits)});
  lanes.push_back({.name = kWooConnector,
                   .kinds = {flows::kShopWritebackJobKind, flows::kBackfillJobKind,
                             flows::kInventoryPublishJobKind, flows::kInventoryReconcileJobKind,
                             flows::kFulfillmentShopUpdateJobKind},
                   .workers = config.jobs.lane_woocommerce > 0 ? config.jobs.lane_woocommerce : 4,
                   .gate = [c, controls]() -> jobs::LaneGate {
                     if (controls != nullptr && controls->IsPaused(kWooConnector))
                       return {0, "paused"};
                     // One lane for every store: it is held only when every store's circuit is open
                     // (a job for a store whose circuit is open fails fast, uncounted, and waits).
                     if (c->shop_http.empty()) return {};
                     int admit = 0;
                     for (const auto& [id, endpoint] : c->shop_http)
                       admit = std::max(admit, endpoint->Admit());
                     return {admit, admit == 0 ? "circuit_open" : ""};
                   },
                   .policy = config.stores.empty()
                                 ? std::nullopt
                                 : LanePolicy(config, config.stores.front().limits)});
  lanes.push_back({.name = kCoreLane,
                   .workers = config.jobs.lane_core > 0 ? config.jobs.lane_core
                                                        : config.jobs.workers});
  return lanes;
}

nlohmann::json ConnectorHealth(const Connectors& connectors, jobs::ConnectorControls* controls) {
  auto endpoint_json = [](const net::Endpoint& e) {
    const net::EndpointSnapshot s = e.snapshot();
    nlohmann::json j = {{"endpoint", s.name},
                        {"breaker", std::string(net::BreakerStateName(s.state))},
                        {"rate_limit_per_s", s.rate},
                        {"configured_rate_per_s", s.configured_rate},
                        {"in_flight", s.in_flight},
                        {"sent", s.sent},
                        {"failures", s.failures},
                        {"rejected_open", s.rejected_open},
                        {"answered_429", s.answered_429},
                        {"last_error", s.last_error}};
    if (s.state != net::BreakerState::kClosed) {
      j["open_until"] = absl::FormatTime(absl::RFC3339_sec, s.open_until, absl::UTCTimeZone());
    }
    if (s.last_error_at != absl::InfinitePast()) {
      j["last_error_at"] =
          absl::FormatTime(absl::RFC3339_sec, s.last_error_at, absl::UTCTimeZone());
    }
    if (s.paused_until != absl::InfinitePast()) {
      j["throttled_until"] =
          absl::FormatTime(absl::RFC3339_sec, s.paused_until, absl::UTCTimeZone());
    }
    return j;
  };
  nlohmann::json out = nlohmann::json::array();
  auto add = [&](std::string_view name, std::vector<const net::Endpoint*> endpoints) {
    nlohmann::json j = {{"connector", std::string(name)}, {"paused", false}};
    if (controls != nullptr) {
      if (auto st = controls->Get(name); st.ok()) {
        j["paused"] = st->paused;
        if (st->paused) {
          j["paused_reason"] = st->reason;
          j["paused_by"] = st->by;
          j["paused_since"] = absl::FormatTime(absl::RFC3339_sec, st->since, absl::UTCTimeZone());
        }
      }
    }
    j["endpoints"] = nlohmann::json::array();
    for (const net::Endpoint* e : endpoints) j["endpoints"].push_back(endpoint_json(*e));
    out.push_back(std::move(j));
  };
  std::vector<const net::Endpoint*> erp;
  if (connectors.erp_http) erp.push_back(connectors.erp_http.get());
  add(kErpConnector, erp);
  std::vector<const net::Endpoint*> shops;
  for (const auto& [id, e] : connectors.shop_http) shops.push_back(e.get());
  add(kWooConnector, shops);
  return out;
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
