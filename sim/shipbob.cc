#include "sim/shipbob.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "core/strings.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/signature.h"
#include "sim/delayer.h"

namespace keelson::sim {
namespace {

namespace http = net::http;
using json = nlohmann::json;
using core::AbslSv;
using core::Cat;

std::string DateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

net::HttpResponse JsonResponse(http::status status, const json& body) {
  return net::Text(status, body.dump(-1, ' ', false, json::error_handler_t::replace),
                   "application/json; charset=utf-8");
}

// ShipBob's 400/422 body: field name -> array of messages (Orders.*.Bad.Request.Object and
// Orders.Post.Api.Order.Unprocessable.Entity.Object in the OpenAPI spec).
net::HttpResponse FieldErrors(http::status status, const std::string& field,
                              const std::string& message) {
  return JsonResponse(status, json{{field, json::array({message})}});
}

// RFC 7807 problem details, as the inventory endpoints answer their errors.
net::HttpResponse ProblemDetails(http::status status, std::string_view title,
                                 std::string_view detail) {
  return JsonResponse(status, json{{"type", "https://tools.ietf.org/html/rfc9110#section-15.5"},
                                   {"title", title},
                                   {"status", static_cast<int>(status)},
                                   {"detail", detail}});
}

struct Product {
  int64_t id = 0;            // ShipBob product id
  int64_t inventory_id = 0;  // the inventory item behind it (one per product here)
  std::string reference_id;
  std::string name;
  bool active = true;
  struct Stock {
    int64_t on_hand = 0;
    int64_t committed = 0;
  };
  std::map<int64_t, Stock> stock;  // by fulfillment center id
};

struct OrderLine {
  int64_t product_id = 0;
  std::string reference_id;
  int64_t quantity = 0;
  std::optional<int64_t> external_line_id;
  std::optional<double> unit_price;
};

struct ShipmentLine {
  size_t product = 0;  // index into products_
  int64_t quantity = 0;
};

struct Tracking {
  std::string carrier, carrier_service, tracking_number, tracking_url;
  absl::Time shipping_date;
};

struct Shipment {
  int64_t id = 0;
  int64_t fulfillment_center_id = 0;
  std::string status = "Processing";
  std::vector<ShipmentLine> lines;
  std::optional<Tracking> tracking;
  absl::Time created;
  absl::Time updated;
  std::optional<absl::Time> fulfilled;
};

struct Order {
  int64_t id = 0;
  int64_t channel_id = 0;
  std::string reference_id;
  std::string order_number;
  std::string shipping_method;
  std::string type = "DTC";
  json recipient;
  json tags = json::array();
  json purchase_date;  // as sent, or null
  json financials;     // as sent, or null
  std::vector<OrderLine> lines;
  std::vector<Shipment> shipments;
  absl::Time created;
};

}  // namespace

class ShipBobSim::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {
    absl::MutexLock l(&mu_);
    latency_ = options_.latency;
    webhook_url_ = options_.webhook_url;
  }
  ~Impl() { Stop(); }

  absl::Status Start() {
    net::Router router;
    const std::string v = Cat("/", options_.api_version);
    for (const char* path :
         {"/channel", "/order", "/order/{orderId}", "/order/{orderId}/shipment",
          "/shipment/{shipmentId}", "/inventory-level", "/inventory-level/locations"}) {
      router.Add(http::verb::get, v + path, [this, path](net::HttpRequest& req, net::Responder r) {
        OnApi(req, std::move(r), path);
      });
    }
    router.Add(http::verb::post, v + "/order", [this](net::HttpRequest& req, net::Responder r) {
      OnApi(req, std::move(r), "POST /order");
    });
    AddAdminRoutes(router);
    server_ = std::make_unique<net::HttpServer>(
        net::HttpServerOptions{
            .host = options_.host, .port = options_.port, .threads = options_.threads},
        std::move(router));
    webhook_http_ = net::NewCurlHttpClient();
    return server_->Start();
  }

  void Stop() {
    if (server_ == nullptr) return;
    server_->Stop();
    delayer_.Stop();
    server_.reset();
  }

  uint16_t port() const { return server_ ? server_->port() : 0; }
  std::string origin() const { return Cat("http://", options_.host, ":", port()); }
  std::string base_url() const { return Cat(origin(), "/", options_.api_version); }
  const Options& options() const { return options_; }

  // ---- data accessors ----
  int64_t AddProduct(std::string_view reference_id, std::string_view name, bool active) {
    absl::MutexLock l(&mu_);
    if (Product* p = FindProductLocked(reference_id)) {
      p->name = std::string(name);
      p->active = active;
      return p->inventory_id;
    }
    return NewProductLocked(reference_id, name, active).inventory_id;
  }
  void SetProductActive(std::string_view reference_id, bool active) {
    absl::MutexLock l(&mu_);
    if (Product* p = FindProductLocked(reference_id)) p->active = active;
  }
  bool SetOnHand(std::string_view reference_id, int64_t fc, int64_t on_hand) {
    absl::MutexLock l(&mu_);
    Product* p = FindProductLocked(reference_id);
    if (p == nullptr || FindFcLocked(fc) == nullptr) return false;
    p->stock[fc].on_hand = on_hand;
    return true;
  }
  std::vector<StockLevel> Stock(std::string_view reference_id) const {
    absl::MutexLock l(&mu_);
    std::vector<StockLevel> out;
    const Product* p = FindProductLocked(reference_id);
    if (p == nullptr) return out;
    for (const FulfillmentCenter& fc : options_.fulfillment_centers) {
      auto it = p->stock.find(fc.id);
      if (it == p->stock.end()) continue;
      out.push_back({fc.id, it->second.on_hand, it->second.committed,
                     std::max<int64_t>(0, it->second.on_hand - it->second.committed)});
    }
    return out;
  }
  int64_t CountOrders(std::string_view reference_id) const {
    absl::MutexLock l(&mu_);
    return std::count_if(orders_.begin(), orders_.end(),
                         [&](const Order& o) { return o.reference_id == reference_id; });
  }
  int64_t OrderCount() const {
    absl::MutexLock l(&mu_);
    return static_cast<int64_t>(orders_.size());
  }
  std::optional<json> OrderJson(std::string_view reference_id, int64_t channel_id) const {
    absl::MutexLock l(&mu_);
    const Order* o = FindOrderByRefLocked(reference_id, channel_id);
    if (o == nullptr) return std::nullopt;
    return OrderToJsonLocked(*o);
  }

  absl::StatusOr<ShipResult> ShipOrder(const ShipRequest& req) {
    ShipResult result;
    std::string body;
    {
      absl::MutexLock l(&mu_);
      Order* o = FindOrderByRefLocked(req.reference_id, req.channel_id);
      if (o == nullptr) {
        return absl::NotFoundError(Cat("no order with reference_id '", req.reference_id, "'"));
      }
      auto open = std::find_if(o->shipments.begin(), o->shipments.end(),
                               [](const Shipment& s) { return s.status == "Processing"; });
      if (open == o->shipments.end()) {
        return absl::FailedPreconditionError(
            Cat("order '", req.reference_id, "' has nothing left to ship"));
      }
      // What to ship, per product index: everything open, or the lines asked for.
      std::map<size_t, int64_t> take;
      if (req.lines.empty()) {
        for (const ShipmentLine& sl : open->lines) take[sl.product] += sl.quantity;
      } else {
        for (const ShipLine& line : req.lines) {
          const Product* p = FindProductLocked(line.sku);
          if (p == nullptr || line.quantity <= 0) {
            return absl::InvalidArgumentError(Cat("bad ship line '", line.sku, "'"));
          }
          take[static_cast<size_t>(p - products_.data())] += line.quantity;
        }
      }
      for (const auto& [product, quantity] : take) {
        int64_t unshipped = 0;
        for (const ShipmentLine& sl : open->lines) {
          if (sl.product == product) unshipped += sl.quantity;
        }
        if (quantity > unshipped) {
          return absl::FailedPreconditionError(Cat("order '", req.reference_id, "': ", quantity,
                                                   " x ", products_[product].reference_id,
                                                   " asked, ", unshipped, " unshipped"));
        }
      }
      const absl::Time now = Now();
      Tracking tracking{req.carrier, req.carrier_service, req.tracking_number, req.tracking_url,
                        now};
      if (tracking.tracking_number.empty()) {
        tracking.tracking_number = Cat("9400", 100000000000LL + next_tracking_++);
      }
      if (tracking.tracking_url.empty()) {
        tracking.tracking_url =
            Cat("https://tools.usps.com/go/TrackConfirmAction?tLabels=", tracking.tracking_number);
      }
      int64_t total_open = 0;
      for (const ShipmentLine& sl : open->lines) total_open += sl.quantity;
      int64_t total_take = 0;
      for (const auto& [product, quantity] : take) total_take += quantity;
      Shipment* shipped = nullptr;
      if (total_take == total_open) {
        shipped = &*open;  // the whole open shipment goes
      } else {
        // A split: the shipped lines leave in a new shipment, the rest stays open.
        Shipment split;
        split.id = next_shipment_id_++;
        split.fulfillment_center_id = open->fulfillment_center_id;
        split.created = now;
        for (const auto& [product, quantity] : take) {
          split.lines.push_back({product, quantity});
          int64_t left = quantity;
          for (ShipmentLine& sl : open->lines) {
            if (sl.product != product || left == 0) continue;
            const int64_t n = std::min(left, sl.quantity);
            sl.quantity -= n;
            left -= n;
          }
        }
        open->lines.erase(std::remove_if(open->lines.begin(), open->lines.end(),
                                         [](const ShipmentLine& sl) { return sl.quantity == 0; }),
                          open->lines.end());
        open->updated = now;
        o->shipments.push_back(std::move(split));
        shipped = &o->shipments.back();
      }
      shipped->status = "LabeledCreated";
      shipped->tracking = tracking;
      shipped->updated = now;
      shipped->fulfilled = now;
      for (const ShipmentLine& sl : shipped->lines) {
        Product::Stock& st = products_[sl.product].stock[shipped->fulfillment_center_id];
        st.on_hand -= sl.quantity;
        st.committed = std::max<int64_t>(0, st.committed - sl.quantity);
      }
      ++stats_.shipments_shipped;
      result.order_id = o->id;
      result.shipment_id = shipped->id;
      body = OrderToJsonLocked(*o).dump();
    }
    // The order as Get Order shows it: ShipBob's webhook payloads mirror the REST resource.
    if (std::optional<std::string> id = Deliver("order.shipped", std::move(body))) {
      result.webhook_id = *id;
      absl::MutexLock l(&mu_);
      result.webhook_status = deliveries_.at(*id).status;
    }
    return result;
  }

  // ---- webhooks ----
  void SetWebhookUrl(std::string url) {
    absl::MutexLock l(&mu_);
    webhook_url_ = std::move(url);
  }
  std::vector<WebhookDelivery> WebhookDeliveries() const {
    absl::MutexLock l(&mu_);
    std::vector<WebhookDelivery> out;
    for (const std::string& id : delivery_order_) out.push_back(deliveries_.at(id));
    return out;
  }
  absl::StatusOr<int> RedeliverWebhook(std::string_view id) {
    std::string topic, body;
    {
      absl::MutexLock l(&mu_);
      auto it = deliveries_.find(std::string(id));
      if (it == deliveries_.end()) return absl::NotFoundError(Cat("no webhook '", id, "'"));
      topic = it->second.topic;
      body = it->second.body;
    }
    return Send(std::string(id), topic, body);
  }

  // ---- faults ----
  void RejectNextCreate(std::string sku, std::string message, int status) {
    absl::MutexLock l(&mu_);
    reject_next_ = Reject{std::move(sku), std::move(message), status};
  }
  void FailNextRequests(int n, int status) {
    absl::MutexLock l(&mu_);
    fail_next_ = n;
    fail_status_ = status;
  }
  void Throttle429Next(int n, absl::Duration retry_after) {
    absl::MutexLock l(&mu_);
    throttle_next_ = n;
    throttle_retry_after_ = retry_after;
  }
  void DropResponseAfterNextOrderCreate() {
    absl::MutexLock l(&mu_);
    drop_next_create_ = true;
  }
  void SetLatency(absl::Duration latency) {
    absl::MutexLock l(&mu_);
    latency_ = latency;
  }
  void ClearFaults() {
    absl::MutexLock l(&mu_);
    reject_next_.reset();
    fail_next_ = 0;
    throttle_next_ = 0;
    drop_next_create_ = false;
    latency_ = options_.latency;
  }

  Stats stats() const {
    absl::MutexLock l(&mu_);
    return stats_;
  }

 private:
  struct Reject {
    std::string sku, message;
    int status = 422;
  };

  absl::Time Now() const { return options_.clock->Now(); }

  // ---- lookups (mu_ held) ----
  Product* FindProductLocked(std::string_view reference_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (Product& p : products_) {
      if (p.reference_id == reference_id) return &p;
    }
    return nullptr;
  }
  const Product* FindProductLocked(std::string_view reference_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Product& p : products_) {
      if (p.reference_id == reference_id) return &p;
    }
    return nullptr;
  }
  Product& NewProductLocked(std::string_view reference_id, std::string_view name, bool active)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Product p;
    p.id = next_product_id_++;
    p.inventory_id = next_inventory_id_++;
    p.reference_id = std::string(reference_id);
    p.name = std::string(name);
    p.active = active;
    products_.push_back(std::move(p));
    return products_.back();
  }
  const FulfillmentCenter* FindFcLocked(int64_t id) const {
    for (const FulfillmentCenter& fc : options_.fulfillment_centers) {
      if (fc.id == id) return &fc;
    }
    return nullptr;
  }
  const Channel* FindChannel(int64_t id) const {
    for (const Channel& c : options_.channels) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
  Order* FindOrderByRefLocked(std::string_view ref, int64_t channel)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (Order& o : orders_) {
      if (o.reference_id == ref && (channel == 0 || o.channel_id == channel)) return &o;
    }
    return nullptr;
  }
  const Order* FindOrderByRefLocked(std::string_view ref, int64_t channel) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Order& o : orders_) {
      if (o.reference_id == ref && (channel == 0 || o.channel_id == channel)) return &o;
    }
    return nullptr;
  }
  const Order* FindOrderByIdLocked(int64_t id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Order& o : orders_) {
      if (o.id == id) return &o;
    }
    return nullptr;
  }

  // ---- JSON views (Orders.OrderViewModel, Orders.ShipmentViewModel) ----
  json ShipmentToJsonLocked(const Order& o, const Shipment& s) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    json products = json::array();
    for (const ShipmentLine& sl : s.lines) {
      const Product& p = products_[sl.product];
      const bool open = s.status == "Processing";
      products.push_back(
          {{"id", p.id},
           {"reference_id", p.reference_id},
           {"name", p.name},
           {"sku", p.reference_id},
           {"inventory_items", json::array({{{"id", p.inventory_id},
                                             {"name", p.name},
                                             {"quantity", sl.quantity},
                                             {"quantity_committed", open ? sl.quantity : 0},
                                             {"lot", nullptr},
                                             {"expiration_date", nullptr},
                                             {"serial_numbers", json::array()},
                                             {"is_dangerous_goods", false}}})}});
    }
    const FulfillmentCenter* fc = FindFcLocked(s.fulfillment_center_id);
    json tracking = nullptr;
    if (s.tracking) {
      tracking = {{"carrier", s.tracking->carrier},
                  {"carrier_service", s.tracking->carrier_service},
                  {"tracking_number", s.tracking->tracking_number},
                  {"tracking_url", s.tracking->tracking_url},
                  {"shipping_date", DateTime(s.tracking->shipping_date)},
                  {"bol", nullptr},
                  {"pro_number", nullptr},
                  {"scac", nullptr}};
    }
    json recipient = o.recipient;
    recipient["full_name"] = o.recipient.value("name", "");
    return {
        {"id", s.id},
        {"order_id", o.id},
        {"reference_id", o.reference_id},
        {"recipient", recipient},
        {"created_date", DateTime(s.created)},
        {"last_update_at", DateTime(s.updated)},
        {"last_tracking_update_at",
         s.tracking ? json(DateTime(s.tracking->shipping_date)) : json(nullptr)},
        {"status", s.status},
        {"status_details", json::array()},
        {"location", {{"id", s.fulfillment_center_id}, {"name", fc ? fc->name : ""}}},
        {"invoice_amount", nullptr},
        {"invoice_currency_code", nullptr},
        {"insurance_value", nullptr},
        {"ship_option", o.shipping_method},
        {"tracking", tracking},
        {"products", products},
        {"is_tracking_uploaded", false},
        {"actual_fulfillment_date", s.fulfilled ? json(DateTime(*s.fulfilled)) : json(nullptr)},
        {"estimated_fulfillment_date", DateTime(s.created + absl::Hours(24))},
        {"estimated_fulfillment_date_status", s.fulfilled ? "FulfilledOnTime" : "PendingOnTime"},
        {"delivery_date", nullptr},
        {"require_signature", false},
        {"gift_message", nullptr},
        {"package_material_type", "Unknown"}};
  }

  std::string OrderStatusLocked(const Order& o) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bool any_open = false, any_shipped = false;
    for (const Shipment& s : o.shipments) {
      (s.status == "Processing" ? any_open : any_shipped) = true;
    }
    if (!any_shipped) return "Processing";
    return any_open ? "PartiallyFulfilled" : "Fulfilled";
  }

  json OrderToJsonLocked(const Order& o) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    json products = json::array();
    for (const OrderLine& l : o.lines) {
      products.push_back(
          {{"id", l.product_id},
           {"reference_id", l.reference_id},
           {"sku", l.reference_id},
           {"quantity", l.quantity},
           {"external_line_id", l.external_line_id ? json(*l.external_line_id) : json(nullptr)},
           {"unit_price", l.unit_price ? json(*l.unit_price) : json(nullptr)},
           {"gtin", nullptr},
           {"upc", nullptr},
           {"quantity_unit_of_measure_code", nullptr}});
    }
    json shipments = json::array();
    for (const Shipment& s : o.shipments) shipments.push_back(ShipmentToJsonLocked(o, s));
    const Channel* ch = FindChannel(o.channel_id);
    return {{"id", o.id},
            {"created_date", DateTime(o.created)},
            {"purchase_date", o.purchase_date},
            {"reference_id", o.reference_id},
            {"order_number", o.order_number},
            {"status", OrderStatusLocked(o)},
            {"type", o.type},
            {"channel", {{"id", o.channel_id}, {"name", ch ? ch->name : ""}}},
            {"shipping_method", o.shipping_method},
            {"recipient", o.recipient},
            {"products", products},
            {"tags", o.tags},
            {"shipments", shipments},
            {"gift_message", nullptr},
            {"financials", o.financials},
            {"retailer_program_data", nullptr},
            {"shipping_terms", nullptr}};
  }

  // ---- the API: gatekeeping ----
  void OnApi(net::HttpRequest& req, net::Responder respond, std::string_view route) {
    auto r = std::make_shared<net::HttpRequest>(std::move(req));
    std::optional<net::HttpResponse> early;
    const bool inventory = absl::StartsWith(AbslSv(route), "/inventory");
    {
      absl::MutexLock l(&mu_);
      ++stats_.requests;
      if (fail_next_ > 0) {
        --fail_next_;
        ++stats_.injected_failures;
        early = JsonResponse(static_cast<http::status>(fail_status_),
                             {{"message", "An error has occurred."}});
        if (fail_status_ == 429) early = TooManyLocked(absl::Seconds(1));
      } else if (throttle_next_ > 0) {
        --throttle_next_;
        early = TooManyLocked(throttle_retry_after_);
      } else if (!AuthorizedLocked(*r)) {
        ++stats_.answered_401;
        early = inventory ? ProblemDetails(http::status::unauthorized, "Unauthorized",
                                           "No valid access token was provided.")
                          : net::Text(http::status::unauthorized, "", "text/plain");
        early->set(http::field::www_authenticate, "Bearer");
      } else {
        const absl::Time now = Now();
        while (!window_.empty() && window_.front() <= now - absl::Minutes(1)) window_.pop_front();
        if (static_cast<int64_t>(window_.size()) >= options_.requests_per_minute) {
          // The oldest request in the window leaves it first.
          early = TooManyLocked(window_.front() + absl::Minutes(1) - now);
        } else {
          window_.push_back(now);
        }
      }
    }
    if (early) {
      respond(std::move(*early));
      return;
    }
    bool drop = false;
    net::HttpResponse res;
    absl::Duration latency;
    {
      absl::MutexLock l(&mu_);
      try {
        res = DispatchLocked(*r, route, &drop);
      } catch (const std::exception&) {
        // A body whose fields have unexpected JSON types.
        res = FieldErrors(http::status::bad_request, "body",
                          "The request body could not be read as the expected model.");
      }
      res.set("x-remaining-calls",
              Cat(std::max<int64_t>(
                  0, options_.requests_per_minute - static_cast<int64_t>(window_.size()))));
      latency = latency_;
      if (drop) ++stats_.dropped;
    }
    auto complete = [drop](net::HttpResponse res, net::Responder respond) {
      if (drop) {
        // Committed; the client gets no answer: letting the responder go closes the connection.
        net::Responder gone = std::move(respond);
        return;
      }
      respond(std::move(res));
    };
    if (latency > absl::ZeroDuration()) {
      auto shared_res = std::make_shared<net::HttpResponse>(std::move(res));
      auto shared_respond = std::make_shared<net::Responder>(std::move(respond));
      delayer_.After(latency, [complete, shared_res, shared_respond]() mutable {
        complete(std::move(*shared_res), std::move(*shared_respond));
      });
      return;
    }
    complete(std::move(res), std::move(respond));
  }

  // 429 as ShipBob documents it: x-retry-after in seconds, x-remaining-calls 0, and the body.
  net::HttpResponse TooManyLocked(absl::Duration wait) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++stats_.answered_429;
    const int64_t seconds =
        std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))));
    net::HttpResponse res = JsonResponse(
        http::status::too_many_requests,
        {{"statusCode", 429},
         {"message", Cat("Rate limit is exceeded. Try again in ", seconds, " seconds.")}});
    res.set("x-retry-after", Cat(seconds));
    res.set("x-remaining-calls", "0");
    return res;
  }

  bool AuthorizedLocked(const net::HttpRequest& req) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::string_view h = req.Header("Authorization");
    if (h.size() < 8 || !absl::EqualsIgnoreCase(AbslSv(h.substr(0, 7)), "Bearer ")) return false;
    return h.substr(7) == options_.token;
  }

  // The shipbob_channel_id header: nullopt when absent; 0 when present but not a number.
  static std::optional<int64_t> ChannelHeader(const net::HttpRequest& req) {
    std::string_view h = req.Header("shipbob_channel_id");
    if (h.empty()) return std::nullopt;
    int64_t id = 0;
    if (!absl::SimpleAtoi(AbslSv(h), &id)) return 0;
    return id;
  }

  net::HttpResponse DispatchLocked(net::HttpRequest& req, std::string_view route, bool* drop)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::optional<int64_t> channel = ChannelHeader(req);
    if (channel && FindChannel(*channel) == nullptr) {
      return FieldErrors(http::status::forbidden, "shipbob_channel_id",
                         Cat("The token has no access to channel ", *channel, "."));
    }
    const int64_t ch = channel.value_or(0);
    if (route == "POST /order") return CreateOrderLocked(req, channel, drop);
    if (route == "/channel") {
      json items = json::array();
      for (const Channel& c : options_.channels) {
        items.push_back({{"id", c.id},
                         {"name", c.name},
                         {"application_name", "API"},
                         {"scopes", json::array({"orders_read", "orders_write", "inventory_read",
                                                 "products_read", "products_write", "webhooks_read",
                                                 "webhooks_write"})}});
      }
      return JsonResponse(http::status::ok, {{"items", items}});
    }
    if (route == "/order") return GetOrdersLocked(req, ch);
    if (route == "/order/{orderId}" || route == "/order/{orderId}/shipment") {
      ++stats_.order_lookups;
      int64_t id = 0;
      const Order* o =
          absl::SimpleAtoi(AbslSv(req.params["orderId"]), &id) ? FindOrderByIdLocked(id) : nullptr;
      if (o == nullptr || (ch != 0 && o->channel_id != ch)) {
        return net::Text(http::status::not_found, "", "text/plain");
      }
      if (route == "/order/{orderId}") return JsonResponse(http::status::ok, OrderToJsonLocked(*o));
      json shipments = json::array();
      for (const Shipment& s : o->shipments) shipments.push_back(ShipmentToJsonLocked(*o, s));
      return JsonResponse(http::status::ok, shipments);
    }
    if (route == "/shipment/{shipmentId}") {
      int64_t id = 0;
      if (absl::SimpleAtoi(AbslSv(req.params["shipmentId"]), &id)) {
        for (const Order& o : orders_) {
          if (ch != 0 && o.channel_id != ch) continue;
          for (const Shipment& s : o.shipments) {
            if (s.id == id) return JsonResponse(http::status::ok, ShipmentToJsonLocked(o, s));
          }
        }
      }
      return net::Text(http::status::not_found, "", "text/plain");
    }
    if (route == "/inventory-level" || route == "/inventory-level/locations") {
      return InventoryLevelsLocked(req, route == "/inventory-level/locations");
    }
    return net::Text(http::status::not_found, "", "text/plain");
  }

  // GET /order: ReferenceIds and IDs (comma separated, AND-ed), Page (1-based), Limit.
  net::HttpResponse GetOrdersLocked(const net::HttpRequest& req, int64_t channel)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++stats_.order_lookups;
    std::vector<std::string> refs, ids;
    for (absl::string_view s :
         absl::StrSplit(req.QueryParam("ReferenceIds"), ',', absl::SkipEmpty())) {
      refs.emplace_back(s);
    }
    for (absl::string_view s : absl::StrSplit(req.QueryParam("IDs"), ',', absl::SkipEmpty())) {
      ids.emplace_back(s);
    }
    int64_t page = 1, limit = options_.orders_page_size;
    if (std::string p = req.QueryParam("Page");
        !p.empty() && (!absl::SimpleAtoi(p, &page) || page < 1)) {
      return FieldErrors(http::status::bad_request, "Page", "Page must be 1 or greater.");
    }
    if (std::string p = req.QueryParam("Limit");
        !p.empty() && (!absl::SimpleAtoi(p, &limit) || limit < 1 || limit > 250)) {
      return FieldErrors(http::status::bad_request, "Limit", "Limit must be between 1 and 250.");
    }
    std::vector<const Order*> match;
    for (const Order& o : orders_) {
      if (channel != 0 && o.channel_id != channel) continue;
      if (!refs.empty() && std::find(refs.begin(), refs.end(), o.reference_id) == refs.end()) {
        continue;
      }
      if (!ids.empty() && std::find(ids.begin(), ids.end(), Cat(o.id)) == ids.end()) continue;
      match.push_back(&o);
    }
    json out = json::array();
    const size_t begin = static_cast<size_t>((page - 1) * limit);
    for (size_t i = begin; i < match.size() && i < begin + static_cast<size_t>(limit); ++i) {
      out.push_back(OrderToJsonLocked(*match[i]));
    }
    net::HttpResponse res = JsonResponse(http::status::ok, out);
    if (begin + static_cast<size_t>(limit) < match.size()) {
      std::string next = Cat("/", options_.api_version, "/order?Page=", page + 1, "&Limit=", limit);
      if (!refs.empty())
        next += Cat("&ReferenceIds=", net::UrlEncode(req.QueryParam("ReferenceIds")));
      if (!ids.empty()) next += Cat("&IDs=", net::UrlEncode(req.QueryParam("IDs")));
      res.set("next-page", next);
    }
    return res;
  }

  // GET /inventory-level[/locations]: PageSize, and the Cursor our own `next` links carry.
  net::HttpResponse InventoryLevelsLocked(const net::HttpRequest& req, bool by_location)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int64_t size = options_.inventory_page_size, cursor = 0;
    if (std::string p = req.QueryParam("PageSize");
        !p.empty() && (!absl::SimpleAtoi(p, &size) || size < 1)) {
      return ProblemDetails(http::status::bad_request, "Bad Request",
                            "PageSize must be a positive integer.");
    }
    if (std::string c = req.QueryParam("Cursor");
        !c.empty() && (!absl::SimpleAtoi(c, &cursor) || cursor < 0)) {
      return ProblemDetails(http::status::bad_request, "Bad Request", "Invalid cursor.");
    }
    const std::string path = Cat("/", options_.api_version,
                                 by_location ? "/inventory-level/locations" : "/inventory-level");
    auto link = [&](int64_t at) { return Cat(path, "?PageSize=", size, "&Cursor=", at); };
    json items = json::array();
    const int64_t n = static_cast<int64_t>(products_.size());
    for (int64_t i = cursor; i < n && i < cursor + size; ++i) {
      const Product& p = products_[i];
      if (by_location) {
        json locations = json::array();
        for (const FulfillmentCenter& fc : options_.fulfillment_centers) {
          auto it = p.stock.find(fc.id);
          if (it == p.stock.end()) continue;
          locations.push_back({{"location_id", fc.id},
                               {"name", fc.name},
                               {"on_hand_quantity", it->second.on_hand},
                               {"committed_quantity", it->second.committed},
                               {"fulfillable_quantity",
                                std::max<int64_t>(0, it->second.on_hand - it->second.committed)},
                               {"awaiting_quantity", 0},
                               {"internal_transfer_quantity", 0}});
        }
        items.push_back({{"inventory_id", p.inventory_id},
                         {"name", p.name},
                         {"sku", p.reference_id},
                         {"locations", locations}});
      } else {
        int64_t on_hand = 0, committed = 0, fulfillable = 0;
        for (const auto& [fc, st] : p.stock) {
          on_hand += st.on_hand;
          committed += st.committed;
          fulfillable += std::max<int64_t>(0, st.on_hand - st.committed);
        }
        items.push_back({{"inventory_id", p.inventory_id},
                         {"name", p.name},
                         {"sku", p.reference_id},
                         {"total_on_hand_quantity", on_hand},
                         {"total_committed_quantity", committed},
                         {"total_fulfillable_quantity", fulfillable},
                         {"total_sellable_quantity", fulfillable},
                         {"total_awaiting_quantity", 0},
                         {"total_backordered_quantity", 0},
                         {"total_exception_quantity", 0},
                         {"total_internal_transfer_quantity", 0}});
      }
    }
    const int64_t last = n == 0 ? 0 : ((n - 1) / size) * size;
    return JsonResponse(
        http::status::ok,
        {{"items", items},
         {"first", cursor == 0 ? json(nullptr) : json(link(0))},
         {"prev", cursor == 0 ? json(nullptr) : json(link(std::max<int64_t>(0, cursor - size)))},
         {"next", cursor + size < n ? json(link(cursor + size)) : json(nullptr)},
         {"last", cursor >= last ? json(nullptr) : json(link(last))}});
  }

  // ---- POST /order ----
  net::HttpResponse CreateOrderLocked(const net::HttpRequest& req, std::optional<int64_t> channel,
                                      bool* drop) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++stats_.create_attempts;
    auto invalid = [&](const std::string& field, const std::string& message) {
      ++stats_.invalid_creates;
      return FieldErrors(http::status::bad_request, field, message);
    };
    if (!channel) {
      return invalid("shipbob_channel_id", "The shipbob_channel_id header is required.");
    }
    json b = json::parse(req.raw.body(), nullptr, false);
    if (b.is_discarded() || !b.is_object()) {
      return invalid("body", "A non-empty JSON request body is required.");
    }
    auto str = [&](const json& o, const char* key) -> std::string {
      return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
    };
    const std::string reference_id = str(b, "reference_id");
    if (reference_id.empty()) return invalid("reference_id", "The reference_id field is required.");
    if (str(b, "shipping_method").empty()) {
      return invalid("shipping_method", "The shipping_method field is required.");
    }
    const std::string type = str(b, "type");
    if (type != "DTC" && type != "DropShip" && type != "B2B") {
      return invalid("type", "The type field is required (DTC, DropShip or B2B).");
    }
    if (!b.contains("recipient") || !b["recipient"].is_object()) {
      return invalid("recipient", "The recipient field is required.");
    }
    const json& rcp = b["recipient"];
    if (str(rcp, "name").empty()) return invalid("recipient.name", "The name field is required.");
    if (!rcp.contains("address") || !rcp["address"].is_object()) {
      return invalid("recipient.address", "The address field is required.");
    }
    for (const char* f : {"address1", "city", "country"}) {
      if (str(rcp["address"], f).empty()) {
        return invalid(Cat("recipient.address.", f), Cat("The ", f, " field is required."));
      }
    }
    if (!b.contains("products") || !b["products"].is_array() || b["products"].empty()) {
      return invalid("products", "At least one product is required.");
    }
    const json& products = b["products"];
    for (size_t i = 0; i < products.size(); ++i) {
      const json& p = products[i];
      const std::string ref = str(p, "reference_id");
      if (ref.empty()) {
        return invalid(Cat("products[", i, "].reference_id"),
                       "The reference_id field is required.");
      }
      if (!p.contains("quantity") || !p["quantity"].is_number_integer() ||
          p["quantity"].get<int64_t>() < 1) {
        return invalid(Cat("products[", i, "].quantity"), "The quantity must be 1 or greater.");
      }
      if (FindProductLocked(ref) == nullptr && str(p, "name").empty()) {
        return invalid(
            Cat("products[", i, "].name"),
            Cat("The name field is required: there is no product with reference_id '", ref, "'."));
      }
    }
    if (FindOrderByRefLocked(reference_id, *channel) != nullptr) {
      ++stats_.duplicates_refused;
      return FieldErrors(http::status::unprocessable_entity, "reference_id",
                         Cat("An order with reference_id '", reference_id,
                             "' already exists in channel ", *channel, "."));
    }
    if (reject_next_) {
      Reject rj = std::move(*reject_next_);
      reject_next_.reset();
      ++stats_.rejected_creates;
      std::string field = "order";
      for (size_t i = 0; i < products.size(); ++i) {
        if (str(products[i], "reference_id") == rj.sku) {
          field = Cat("products[", i, "].reference_id");
          break;
        }
      }
      return FieldErrors(static_cast<http::status>(rj.status), field, rj.message);
    }
    for (size_t i = 0; i < products.size(); ++i) {
      const Product* p = FindProductLocked(str(products[i], "reference_id"));
      if (p != nullptr && !p->active) {
        ++stats_.rejected_creates;
        return FieldErrors(http::status::unprocessable_entity,
                           Cat("products[", i, "].reference_id"),
                           Cat("The product with reference_id '", p->reference_id,
                               "' is inactive and cannot be ordered."));
      }
    }

    Order o;
    o.id = next_order_id_++;
    o.channel_id = *channel;
    o.reference_id = reference_id;
    o.order_number = str(b, "order_number").empty() ? reference_id : str(b, "order_number");
    o.shipping_method = str(b, "shipping_method");
    o.type = type;
    o.created = Now();
    o.purchase_date = b.contains("purchase_date") ? b["purchase_date"] : json(nullptr);
    o.financials = b.contains("financials") ? b["financials"] : json(nullptr);
    if (b.contains("tags") && b["tags"].is_array()) o.tags = b["tags"];
    const json& addr = rcp["address"];
    o.recipient = {{"name", str(rcp, "name")},
                   {"address",
                    {{"address1", str(addr, "address1")},
                     {"address2", addr.value("address2", json(nullptr))},
                     {"company_name", addr.value("company_name", json(nullptr))},
                     {"city", str(addr, "city")},
                     {"state", addr.value("state", json(nullptr))},
                     {"country", str(addr, "country")},
                     {"zip_code", addr.value("zip_code", json(nullptr))}}},
                   {"email", rcp.value("email", json(nullptr))},
                   {"phone_number", rcp.value("phone_number", json(nullptr))}};
    std::vector<ShipmentLine> ship_lines;
    for (const json& p : products) {
      const std::string ref = str(p, "reference_id");
      Product* prod = FindProductLocked(ref);
      // ShipBob creates a product it does not know from its reference_id and name.
      if (prod == nullptr) prod = &NewProductLocked(ref, str(p, "name"), true);
      OrderLine line{prod->id, ref, p["quantity"].get<int64_t>()};
      if (p.contains("external_line_id") && p["external_line_id"].is_number_integer()) {
        line.external_line_id = p["external_line_id"].get<int64_t>();
      }
      if (p.contains("unit_price") && p["unit_price"].is_number()) {
        line.unit_price = p["unit_price"].get<double>();
      }
      ship_lines.push_back({static_cast<size_t>(prod - products_.data()), line.quantity});
      o.lines.push_back(std::move(line));
    }
    Shipment s;
    s.id = next_shipment_id_++;
    s.fulfillment_center_id = PickFcLocked(ship_lines);
    s.created = s.updated = o.created;
    for (const ShipmentLine& sl : ship_lines) {
      products_[sl.product].stock[s.fulfillment_center_id].committed += sl.quantity;
    }
    s.lines = std::move(ship_lines);
    o.shipments.push_back(std::move(s));
    orders_.push_back(std::move(o));
    ++stats_.orders_created;
    if (drop_next_create_) {
      drop_next_create_ = false;
      *drop = true;
    }
    return JsonResponse(http::status::created, OrderToJsonLocked(orders_.back()));
  }

  // The first fulfillment center (Options order) that can fill every line; else the first that
  // holds any of them; else the first.
  int64_t PickFcLocked(const std::vector<ShipmentLine>& lines) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const auto& fcs = options_.fulfillment_centers;
    if (fcs.empty()) return 0;
    for (const FulfillmentCenter& fc : fcs) {
      bool all = true;
      for (const ShipmentLine& sl : lines) {
        auto it = products_[sl.product].stock.find(fc.id);
        if (it == products_[sl.product].stock.end() ||
            it->second.on_hand - it->second.committed < sl.quantity) {
          all = false;
          break;
        }
      }
      if (all) return fc.id;
    }
    for (const FulfillmentCenter& fc : fcs) {
      for (const ShipmentLine& sl : lines) {
        if (products_[sl.product].stock.count(fc.id) > 0) return fc.id;
      }
    }
    return fcs.front().id;
  }

  // ---- webhooks ----
  // Records and sends a new delivery; nullopt when no URL is set.
  std::optional<std::string> Deliver(std::string topic, std::string body) {
    std::string id;
    {
      absl::MutexLock l(&mu_);
      if (webhook_url_.empty()) return std::nullopt;
      id = Cat("msg_sim", next_webhook_++);
      deliveries_[id] = WebhookDelivery{id, topic, body, {}, 0, 0};
      delivery_order_.push_back(id);
    }
    Send(id, topic, body);
    return id;
  }

  // Standard Webhooks signing, as ShipBob documents it: HMAC-SHA256 over
  // "{webhook-id}.{webhook-timestamp}.{body}" keyed with the base64-decoded part of the secret
  // after "whsec_", sent base64 as "v1,<signature>".
  int Send(const std::string& id, const std::string& topic, const std::string& body) {
    std::string url;
    {
      absl::MutexLock l(&mu_);
      url = webhook_url_;
    }
    std::string_view secret = options_.webhook_secret;
    if (absl::StartsWith(AbslSv(secret), "whsec_")) secret.remove_prefix(6);
    const std::string key = net::Base64Decode(secret).value_or(std::string(secret));
    const std::string ts = Cat(absl::ToUnixSeconds(Now()));
    const std::string signature = net::HmacSha256Base64(key, Cat(id, ".", ts, ".", body));
    net::OutboundRequest req;
    req.method = "POST";
    req.url = url;
    req.body = body;
    req.timeout = options_.webhook_timeout;
    req.fresh_connection = true;
    req.headers = {{"Content-Type", "application/json"},
                   {"webhook-id", id},
                   {"webhook-timestamp", ts},
                   {"webhook-signature", Cat("v1,", signature)},
                   {"x-webhook-topic", topic}};
    int status = 0;
    if (!url.empty()) {
      absl::StatusOr<net::OutboundResponse> res = webhook_http_->Send(req);
      if (res.ok()) status = res->status;
    }
    absl::MutexLock l(&mu_);
    WebhookDelivery& d = deliveries_[id];
    d.headers = req.headers;
    d.status = status;
    ++d.attempts;
    if (status >= 200 && status < 300) {
      ++stats_.webhooks_sent;
    } else {
      ++stats_.webhooks_failed;
    }
    return status;
  }

  // ---- /_sim admin endpoints ----
  // Admin handlers answer 400 instead of letting a JSON type error escape into the server.
  static net::Handler Safe(net::Handler h) {
    return [h = std::move(h)](net::HttpRequest& req, net::Responder respond) {
      try {
        h(req, respond);
      } catch (const std::exception& e) {
        respond(JsonResponse(http::status::bad_request, {{"error", e.what()}}));
      }
    };
  }

  void AddAdminRoutes(net::Router& router) {
    auto add = [&router](http::verb verb, std::string path, net::Handler h) {
      router.Add(verb, std::move(path), Safe(std::move(h)));
    };
    auto body = [](const net::HttpRequest& req) {
      json b = json::parse(req.raw.body().empty() ? std::string("{}") : req.raw.body());
      if (!b.is_object()) throw std::runtime_error("the body must be a JSON object");
      return b;
    };
    add(http::verb::get, "/_sim/stats", [this](net::HttpRequest&, net::Responder r) {
      Stats s = stats();
      r(JsonResponse(http::status::ok, {{"requests", s.requests},
                                        {"answered_401", s.answered_401},
                                        {"answered_429", s.answered_429},
                                        {"injected_failures", s.injected_failures},
                                        {"create_attempts", s.create_attempts},
                                        {"orders_created", s.orders_created},
                                        {"duplicates_refused", s.duplicates_refused},
                                        {"rejected_creates", s.rejected_creates},
                                        {"invalid_creates", s.invalid_creates},
                                        {"order_lookups", s.order_lookups},
                                        {"dropped", s.dropped},
                                        {"shipments_shipped", s.shipments_shipped},
                                        {"webhooks_sent", s.webhooks_sent},
                                        {"webhooks_failed", s.webhooks_failed}}));
    });
    add(http::verb::post, "/_sim/products", [this, body](net::HttpRequest& req, net::Responder r) {
      json b = body(req);
      const std::string ref = b.at("reference_id").get<std::string>();
      const int64_t inventory_id = AddProduct(ref, b.value("name", ref), b.value("active", true));
      if (b.contains("inventory")) {
        for (const json& row : b["inventory"]) {
          if (!SetOnHand(ref, row.at("fulfillment_center_id").get<int64_t>(),
                         row.at("on_hand").get<int64_t>())) {
            throw std::runtime_error("unknown fulfillment_center_id");
          }
        }
      }
      r(JsonResponse(http::status::ok, {{"inventory_id", inventory_id}}));
    });
    add(http::verb::post, "/_sim/inventory", [this, body](net::HttpRequest& req, net::Responder r) {
      json b = body(req);
      if (!SetOnHand(b.at("reference_id").get<std::string>(),
                     b.at("fulfillment_center_id").get<int64_t>(),
                     b.at("on_hand").get<int64_t>())) {
        r(JsonResponse(http::status::not_found, {{"error", "no such product or center"}}));
        return;
      }
      r(JsonResponse(http::status::ok, json::object()));
    });
    add(http::verb::get, "/_sim/orders", [this](net::HttpRequest& req, net::Responder r) {
      int64_t channel = 0;
      if (std::string c = req.QueryParam("channel_id"); !c.empty()) absl::SimpleAtoi(c, &channel);
      std::optional<json> o = OrderJson(req.QueryParam("reference_id"), channel);
      if (!o) {
        r(JsonResponse(http::status::not_found, {{"error", "no such order"}}));
        return;
      }
      r(JsonResponse(http::status::ok, *o));
    });
    add(http::verb::post, "/_sim/ship", [this, body](net::HttpRequest& req, net::Responder r) {
      json b = body(req);
      ShipRequest sr;
      sr.reference_id = b.at("reference_id").get<std::string>();
      sr.channel_id = b.value("channel_id", int64_t{0});
      if (b.contains("lines")) {
        for (const json& l : b["lines"]) {
          sr.lines.push_back({l.at("sku").get<std::string>(), l.at("quantity").get<int64_t>()});
        }
      }
      sr.carrier = b.value("carrier", sr.carrier);
      sr.carrier_service = b.value("carrier_service", sr.carrier_service);
      sr.tracking_number = b.value("tracking_number", "");
      sr.tracking_url = b.value("tracking_url", "");
      absl::StatusOr<ShipResult> res = ShipOrder(sr);
      if (!res.ok()) {
        r(JsonResponse(res.status().code() == absl::StatusCode::kNotFound ? http::status::not_found
                                                                          : http::status::conflict,
                       {{"error", std::string(res.status().message())}}));
        return;
      }
      r(JsonResponse(http::status::ok, {{"order_id", res->order_id},
                                        {"shipment_id", res->shipment_id},
                                        {"webhook_id", res->webhook_id},
                                        {"webhook_status", res->webhook_status}}));
    });
    add(http::verb::post, "/_sim/reject_next_create",
        [this, body](net::HttpRequest& req, net::Responder r) {
          json b = body(req);
          RejectNextCreate(b.value("sku", ""), b.value("message", "The order was refused."),
                           b.value("status", 422));
          r(JsonResponse(http::status::ok, json::object()));
        });
    add(http::verb::post, "/_sim/webhooks", [this, body](net::HttpRequest& req, net::Responder r) {
      SetWebhookUrl(body(req).value("url", ""));
      r(JsonResponse(http::status::ok, json::object()));
    });
    add(http::verb::post, "/_sim/webhooks/redeliver",
        [this, body](net::HttpRequest& req, net::Responder r) {
          absl::StatusOr<int> status =
              RedeliverWebhook(body(req).at("webhook_id").get<std::string>());
          if (!status.ok()) {
            r(JsonResponse(http::status::not_found,
                           {{"error", std::string(status.status().message())}}));
            return;
          }
          r(JsonResponse(http::status::ok, {{"webhook_status", *status}}));
        });
    add(http::verb::post, "/_sim/faults", [this, body](net::HttpRequest& req, net::Responder r) {
      json b = body(req);
      if (b.value("clear", false)) ClearFaults();
      if (b.contains("fail_next"))
        FailNextRequests(b["fail_next"].get<int>(), b.value("status", 503));
      if (b.contains("throttle_429_next")) {
        Throttle429Next(b["throttle_429_next"].get<int>(),
                        absl::Seconds(b.value("retry_after_s", int64_t{25})));
      }
      if (b.value("drop_next_order_create", false)) DropResponseAfterNextOrderCreate();
      if (b.contains("latency_ms")) SetLatency(absl::Milliseconds(b["latency_ms"].get<int64_t>()));
      r(JsonResponse(http::status::ok, json::object()));
    });
  }

  const Options options_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<net::HttpClient> webhook_http_;
  Delayer delayer_;

  mutable absl::Mutex mu_;
  std::vector<Product> products_ ABSL_GUARDED_BY(mu_);
  std::deque<Order> orders_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Time> window_ ABSL_GUARDED_BY(mu_);
  std::string webhook_url_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, WebhookDelivery> deliveries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> delivery_order_ ABSL_GUARDED_BY(mu_);
  std::optional<Reject> reject_next_ ABSL_GUARDED_BY(mu_);
  int fail_next_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_status_ ABSL_GUARDED_BY(mu_) = 503;
  int throttle_next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration throttle_retry_after_ ABSL_GUARDED_BY(mu_) = absl::Seconds(25);
  bool drop_next_create_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration latency_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  int64_t next_order_id_ ABSL_GUARDED_BY(mu_) = 100000001;
  int64_t next_shipment_id_ ABSL_GUARDED_BY(mu_) = 200000001;
  int64_t next_product_id_ ABSL_GUARDED_BY(mu_) = 3000001;
  int64_t next_inventory_id_ ABSL_GUARDED_BY(mu_) = 4000001;
  int64_t next_tracking_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t next_webhook_ ABSL_GUARDED_BY(mu_) = 1;
};

ShipBobSim::ShipBobSim(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
ShipBobSim::~ShipBobSim() = default;
absl::Status ShipBobSim::Start() { return impl_->Start(); }
void ShipBobSim::Stop() { impl_->Stop(); }
uint16_t ShipBobSim::port() const { return impl_->port(); }
std::string ShipBobSim::base_url() const { return impl_->base_url(); }
std::string ShipBobSim::origin() const { return impl_->origin(); }
const ShipBobSim::Options& ShipBobSim::options() const { return impl_->options(); }
int64_t ShipBobSim::AddProduct(std::string_view reference_id, std::string_view name, bool active) {
  return impl_->AddProduct(reference_id, name, active);
}
void ShipBobSim::SetProductActive(std::string_view reference_id, bool active) {
  impl_->SetProductActive(reference_id, active);
}
bool ShipBobSim::SetOnHand(std::string_view reference_id, int64_t fc, int64_t on_hand) {
  return impl_->SetOnHand(reference_id, fc, on_hand);
}
std::vector<ShipBobSim::StockLevel> ShipBobSim::Stock(std::string_view reference_id) const {
  return impl_->Stock(reference_id);
}
int64_t ShipBobSim::CountOrders(std::string_view reference_id) const {
  return impl_->CountOrders(reference_id);
}
int64_t ShipBobSim::OrderCount() const { return impl_->OrderCount(); }
std::optional<nlohmann::json> ShipBobSim::OrderJson(std::string_view reference_id,
                                                    int64_t channel_id) const {
  return impl_->OrderJson(reference_id, channel_id);
}
absl::StatusOr<ShipBobSim::ShipResult> ShipBobSim::ShipOrder(const ShipRequest& request) {
  return impl_->ShipOrder(request);
}
void ShipBobSim::SetWebhookUrl(std::string url) { impl_->SetWebhookUrl(std::move(url)); }
std::vector<ShipBobSim::WebhookDelivery> ShipBobSim::WebhookDeliveries() const {
  return impl_->WebhookDeliveries();
}
absl::StatusOr<int> ShipBobSim::RedeliverWebhook(std::string_view webhook_id) {
  return impl_->RedeliverWebhook(webhook_id);
}
void ShipBobSim::RejectNextCreate(std::string sku, std::string message, int status) {
  impl_->RejectNextCreate(std::move(sku), std::move(message), status);
}
void ShipBobSim::FailNextRequests(int n, int status) { impl_->FailNextRequests(n, status); }
void ShipBobSim::Throttle429Next(int n, absl::Duration retry_after) {
  impl_->Throttle429Next(n, retry_after);
}
void ShipBobSim::DropResponseAfterNextOrderCreate() { impl_->DropResponseAfterNextOrderCreate(); }
void ShipBobSim::SetLatency(absl::Duration latency) { impl_->SetLatency(latency); }
void ShipBobSim::ClearFaults() { impl_->ClearFaults(); }
ShipBobSim::Stats ShipBobSim::stats() const { return impl_->stats(); }

}  // namespace keelson::sim
