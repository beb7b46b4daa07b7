#pragma once
// The Odoo ERP adapter: connectors::ErpAdapter over Odoo's external API (JSON-RPC up to 18,
// JSON-2 from 19, chosen by the server's version; see client.h and README.md).
//
// Odoo does not keep client_order_ref unique, so CreateSalesOrder ALWAYS looks the reference
// up before creating (whatever CreateOrderOptions::verify_first says), under an in-process lock
// per reference: two workers of this process never create the same order twice. Two Keelson
// processes pointed at one Odoo are not covered by that lock (see README.md). An order found
// in draft (created, but the confirm was lost) is confirmed instead of created again.
//
// Thread-safety: thread-safe; share one adapter between workers. The HttpClient must outlive it.

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/erp.h"
#include "connectors/erp/odoo/client.h"
#include "net/http_client.h"

namespace keelson::connectors::odoo {

struct OdooAdapterOptions {
  std::string url;       // https://mycompany.odoo.com
  std::string database;  // required for JSON-RPC
  std::string username;  // login; required for JSON-RPC
  std::string password;  // password or API key for JSON-RPC
  std::string api_key;   // API key: JSON-2 (19+), and JSON-RPC when password is empty
  absl::Duration timeout = absl::Seconds(30);
  Protocol protocol = Protocol::kAuto;
  // default_code of the service products shipping and fee lines are booked on. Empty: they
  // become note lines (amount in the text, not invoiced). See README.md.
  std::string shipping_product_code;
  std::string fee_product_code;
  // Quants per page of ListStockChanges.
  int stock_page_size = 500;
};

// A small lock table: one mutex per key, created on demand and dropped when unused.
class KeyedLocks {
 public:
  class Guard {
   public:
    Guard(KeyedLocks* owner, std::string key);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    KeyedLocks* owner_;
    std::string key_;
  };
  // Blocks until `key` is free; holds it until the Guard goes away.
  Guard Lock(std::string key) { return Guard(this, std::move(key)); }
  size_t size();  // keys currently in use (tests)

 private:
  struct Entry {
    absl::Mutex mu;
    int users = 0;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

class OdooAdapter final : public ErpAdapter {
 public:
  // kInvalidArgument naming every missing option (url; database, username and a secret unless
  // protocol is json2; api_key when it is).
  static absl::StatusOr<std::unique_ptr<OdooAdapter>> Create(OdooAdapterOptions options,
                                                             net::HttpClient& http);
  OdooAdapter(OdooAdapterOptions options, net::HttpClient& http);

  std::string_view name() const override { return "odoo"; }
  absl::StatusOr<ErpCustomerRef> FindOrCreateCustomer(const model::Customer& customer) override;
  absl::StatusOr<std::optional<ErpOrderRef>> FindSalesOrder(std::string_view reference) override;
  absl::StatusOr<ErpOrderRef> CreateSalesOrder(const model::Order& order,
                                               const ErpCustomerRef& customer,
                                               const CreateOrderOptions& options) override;
  absl::StatusOr<ErpOrderRef> GetSalesOrder(std::string_view id) override;
  absl::Status CancelSalesOrder(std::string_view id) override;
  // stock.quant search_read over internal locations with write_date >= since, in (write_date,
  // id) order, keyset-paged (the token is the last quant's "write_date|id"); then every quant of
  // the changed product × location pairs is read, so lots and packages sum into one row, and
  // product.product read gives the default_code (see README.md "Stock").
  absl::StatusOr<ErpStockPage> ListStockChanges(absl::Time since,
                                                std::string_view page_token) override;
  // Delivers through the order's pickings: per SKU, target − Σ sale.order.line.qty_delivered
  // (never beyond what is outstanding: kFailedPrecondition); the open outgoing pickings
  // (`sale_id`) get stock.move `quantity` + `picked` (16: `quantity_done`) for what ships now and
  // 0 elsewhere, then `button_validate` with context {skip_backorder: true}, which leaves the
  // rest in a backorder picking. A wizard answer is kFailedPrecondition (see README.md).
  absl::StatusOr<ErpShipmentResult> PostShipment(const ErpShipmentPost& post) override;

  OdooClient& client() { return client_; }

 private:
  absl::StatusOr<int> Major();
  absl::StatusOr<std::optional<nlohmann::json>> FindOrderRecord(std::string_view reference);
  absl::StatusOr<nlohmann::json> ReadOrderRecord(int64_t id);
  absl::StatusOr<ErpOrderRef> ConfirmAndRead(const nlohmann::json& record);
  absl::StatusOr<std::optional<int64_t>> CountryId(std::string_view code);
  absl::StatusOr<std::optional<int64_t>> ProductId(std::string_view default_code);

  const OdooAdapterOptions options_;
  OdooClient client_;
  KeyedLocks order_locks_;
  KeyedLocks partner_locks_;
  absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, std::optional<int64_t>> countries_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace keelson::connectors::odoo
