#pragma once
// POST /v1/webhooks/woocommerce/{store_id}: WooCommerce's signed webhooks in.
//
//   unknown store            404 problem, nothing stored
//   creation ping            200 (form body "webhook_id=N", no topic, no signature; WooCommerce
//                            sends it once when a webhook is created and disables the webhook if
//                            it is not answered with 2xx)
//   bad/missing signature    401 problem, nothing stored, nothing parsed
//   signed, no topic         400 problem
//   otherwise                raw body + headers into the inbox and its ingest job enqueued, in one
//                            group commit; 200 only after the commit is durable. An identical
//                            redelivery (same store, resource and body bytes) is absorbed: 200
//                            "duplicate", stored once. Store failure: 503 with Retry-After.
//
// Nothing slow or remote happens before the answer: WooCommerce never retries a delivery and
// disables a webhook after 7 consecutive failures.
// Thread-safety: Handle may be called concurrently from all I/O threads.

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "net/http_server.h"
#include "store/group_commit.h"

namespace keelson::obs {
class Registry;
class Counter;
class Histogram;
}  // namespace keelson::obs

namespace keelson::api {

inline constexpr char kWooIngestJobKind[] = "woocommerce.ingest";

struct WebhookStore {
  std::string id;
  std::string webhook_secret;
};

// The top-level integer "id" of a JSON object, read with a SAX parser that stops as soon as it
// has it (WooCommerce puts "id" first), so intake does not parse whole bodies. -1 if absent.
int64_t PeekTopLevelId(std::string_view json);

class WooCommerceWebhooks {
 public:
  WooCommerceWebhooks(std::vector<WebhookStore> stores, store::DeliveryIntake* committer,
                      obs::Registry* metrics);
  void Handle(net::HttpRequest& req, net::Responder respond);

 private:
  void Reject(const net::Responder& respond, absl::Time start, net::http::status status,
              std::string_view reason, std::string_view title, std::string_view detail);
  void ObserveLatency(absl::Time start);

  absl::flat_hash_map<std::string, WebhookStore> stores_;
  store::DeliveryIntake* committer_;
  obs::Registry* metrics_;
  obs::Counter* m_accepted_ = nullptr;
  obs::Counter* m_duplicates_ = nullptr;
  obs::Counter* m_pings_ = nullptr;
  obs::Histogram* m_latency_ = nullptr;
};

}  // namespace keelson::api
