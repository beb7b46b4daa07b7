#include "api/woocommerce_webhooks.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/ids.h"
#include "core/strings.h"
#include "net/signature.h"
#include "obs/log.h"
#include "obs/metrics.h"

namespace keelson::api {
namespace {

using net::http::status;

// Stops the parse (returns false) as soon as the top-level "id" has been read.
class IdPeeker final : public nlohmann::json_sax<nlohmann::json> {
 public:
  int64_t id = -1;

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t v) override { return Number(v); }
  bool number_unsigned(number_unsigned_t v) override {
    return Number(static_cast<int64_t>(v));
  }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override {
    ++depth_;
    want_ = false;
    return true;
  }
  bool key(string_t& k) override {
    want_ = depth_ == 1 && k == "id";
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    want_ = false;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Value() {
    want_ = false;
    return true;
  }
  bool Number(int64_t v) {
    if (want_) {
      id = v;
      return false;
    }
    return true;
  }
  int depth_ = 0;
  bool want_ = false;
};

bool IsPing(std::string_view body) {
  constexpr std::string_view kPrefix = "webhook_id=";
  if (!body.starts_with(kPrefix) || body.size() == kPrefix.size()) return false;
  for (char c : body.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// {"status":…,"delivery_id":…,"correlation_id":…}: built by hand on the committer's thread (it
// answers every delivery of a batch); correlation ids are ours (letters, digits, '-'), anything
// else goes through the JSON library.
std::string AcceptedBody(const store::AcceptResult& r) {
  const bool plain = std::all_of(r.correlation_id.begin(), r.correlation_id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  const char* status = r.duplicate ? "duplicate" : "accepted";
  if (!plain) {
    return nlohmann::json({{"status", status},
                           {"delivery_id", r.delivery_id},
                           {"correlation_id", r.correlation_id}})
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return absl::StrCat("{\"correlation_id\":\"", r.correlation_id, "\",\"delivery_id\":",
                      r.delivery_id, ",\"status\":\"", status, "\"}");
}

}  // namespace

int64_t PeekTopLevelId(std::string_view json) {
  IdPeeker peeker;
  nlohmann::json::sax_parse(json.begin(), json.end(), &peeker);
  return peeker.id;
}

WooCommerceWebhooks::WooCommerceWebhooks(std::vector<WebhookStore> stores,
                                         store::DeliveryIntake* committer,
                                         obs::Registry* metrics)
    : committer_(committer), metrics_(metrics) {
  for (auto& s : stores) {
    std::string id = s.id;
    stores_.emplace(std::move(id), std::move(s));
  }
  if (metrics_) {
    const char* help = "Webhook deliveries answered, by result.";
    m_accepted_ = metrics_->GetCounter("keelson_intake_deliveries_total", help,
                                       {{"result", "accepted"}});
    m_duplicates_ = metrics_->GetCounter("keelson_intake_deliveries_total", help,
                                         {{"result", "duplicate"}});
    m_pings_ =
        metrics_->GetCounter("keelson_intake_deliveries_total", help, {{"result", "ping"}});
    m_latency_ = metrics_->GetHistogram("keelson_intake_latency_seconds",
                                        "Time from request read to answer, webhook intake.",
                                        obs::LatencyBucketsSeconds());
  }
}

void WooCommerceWebhooks::ObserveLatency(absl::Time start) {
  if (m_latency_) m_latency_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
}

void WooCommerceWebhooks::Reject(const net::Responder& respond, absl::Time start, status code,
                                 std::string_view reason, std::string_view title,
                                 std::string_view detail) {
  if (metrics_) {
    metrics_
        ->GetCounter("keelson_intake_rejected_total", "Webhook deliveries refused, by reason.",
                     {{"reason", std::string(reason)}})
        ->Inc();
  }
  ObserveLatency(start);
  respond(net::Problem(code, title, detail));
}

void WooCommerceWebhooks::Handle(net::HttpRequest& req, net::Responder respond) {
  const absl::Time start = absl::Now();
  const std::string& store_id = req.params["store_id"];
  auto it = stores_.find(store_id);
  if (it == stores_.end()) {
    Reject(respond, start, status::not_found, "unknown_store", "Unknown store",
           absl::StrCat("no store \"", store_id, "\" is configured"));
    return;
  }
  const WebhookStore& store = it->second;
  const std::string& body = req.raw.body();
  const std::string_view topic = req.Header("X-WC-Webhook-Topic");
  const std::string_view signature = req.Header("X-WC-Webhook-Signature");

  if (topic.empty() && signature.empty() && IsPing(body)) {
    if (m_pings_) m_pings_->Inc();
    ObserveLatency(start);
    respond(net::Json(status::ok, R"({"status":"ping"})"));
    return;
  }
  if (signature.empty()) {
    Reject(respond, start, status::unauthorized, "missing_signature", "Missing signature",
           "X-WC-Webhook-Signature is required");
    return;
  }
  if (!net::VerifyHmacSha256Base64(store.webhook_secret, body, signature)) {
    Reject(respond, start, status::unauthorized, "bad_signature", "Invalid signature",
           "X-WC-Webhook-Signature does not match the body and this store's webhook secret");
    return;
  }
  if (topic.empty()) {
    Reject(respond, start, status::bad_request, "missing_topic", "Missing topic",
           "X-WC-Webhook-Topic is required on signed deliveries");
    return;
  }

  std::string_view resource = req.Header("X-WC-Webhook-Resource");
  if (resource.empty()) resource = topic.substr(0, topic.find('.'));

  store::DeliveryToAccept d;
  d.source = "woocommerce";
  d.store_id = store.id;
  d.topic = std::string(topic);
  // created and updated deliveries of one order can be byte-identical: they describe the same
  // state, so the key is the resource and the bytes, not the topic nor the (non-unique)
  // Delivery-ID.
  d.dedupe_key = net::Sha256HexParts({"woocommerce", store.id, resource, body});
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& f : req.raw) {
    std::string_view name(f.name_string().data(), f.name_string().size());
    if (absl::StartsWithIgnoreCase(core::AbslSv(name), "x-wc-") ||
        absl::EqualsIgnoreCase(core::AbslSv(name), "user-agent") ||
        absl::EqualsIgnoreCase(core::AbslSv(name), "content-type")) {
      headers[std::string(name)] = std::string(f.value());
    }
  }
  d.headers_json = headers.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  d.body = body;
  d.correlation_id = core::NewCorrelationId();
  d.job_kind = kWooIngestJobKind;
  const int64_t entity_id = PeekTopLevelId(body);
  if (entity_id >= 0) {
    d.job_partition_key =
        absl::StrCat("woo:", store.id, ":", core::AbslSv(resource), ":", entity_id);
  }

  committer_->Submit(
      std::move(d), [this, start, respond = std::move(respond)](
                        absl::StatusOr<store::AcceptResult> r) {
        if (!r.ok()) {
          Reject(
              [&respond](net::HttpResponse res) {
                res.set("Retry-After", "1");
                respond(std::move(res));
              },
              start, status::service_unavailable, "store_unavailable", "Service Unavailable",
              "the delivery could not be stored; it was not accepted");
          return;
        }
        if (obs::Counter* c = r->duplicate ? m_duplicates_ : m_accepted_) c->Inc();
        ObserveLatency(start);
        auto res = net::Json(status::ok, AcceptedBody(*r));
        res.set("X-Correlation-Id", r->correlation_id);
        respond(std::move(res));
      });
}

}  // namespace keelson::api
