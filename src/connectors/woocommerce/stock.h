#pragma once
// Stock publication to WooCommerce: absolute levels by SKU, written with the products and
// variations batch endpoints, and a scan of what the shop shows (for reconciliation).
//
// SKUs are resolved to product and variation ids through a cache. A miss is looked up with
// GET /products?sku=A,B,… (WooCommerce's sku filter matches exact SKUs of products *and*
// variations, up to 100 per call here); Scan() fills the cache for every SKU it meets. An id
// WooCommerce no longer knows (product deleted, re-created) evicts the entry and the item is
// looked up and sent once more within the same Publish().
//
// Where a level goes (see README.md for the sources):
//   simple or variable product      products/batch {"id":product,…}
//   variation managing its stock    products/{parent}/variations/batch {"id":variation,…}
//   variation with manage_stock     products/batch {"id":parent,…}: WooCommerce keeps such a
//     "parent"                      variation's stock on its parent and ignores a quantity
//                                   sent to the variation
//   variation not managing stock    variations/batch with stock_status (the quantity is ignored
//                                   by WooCommerce, as for an unmanaged product)
// Each object carries stock_quantity and, when given, stock_status. For a managed product
// WooCommerce recomputes the status from the quantity and its backorders setting; the outcome
// reports what the shop shows after the write.
//
// Never retries or sleeps (the job runner does): a failed call fails exactly the items it
// carried, with the call's status (kUnavailable, kResourceExhausted with Retry-After, …), and
// the other calls still go. An unknown SKU is kNotFound for that item only.
//
// Thread-safety: Publish and Scan may run concurrently from several workers; the cache and the
// counters are guarded. `rest` must outlive the publisher.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "connectors/woocommerce/rest_client.h"

namespace keelson::connectors::woocommerce {

struct StockLevel {
  std::string sku;
  int64_t quantity = 0;
  std::string stock_status;  // instock | outofstock | onbackorder; "" = not sent
};

struct StockItemOutcome {
  std::string sku;
  absl::Status status;
  int64_t product_id = 0;    // the product written, or the variation's parent
  int64_t variation_id = 0;  // 0 unless a variation
  // What WooCommerce shows after the write (when OK). For a "parent" variation, the parent's.
  std::optional<int64_t> shop_quantity;
  std::string shop_stock_status;
};

struct ShopStock {
  std::string sku;
  int64_t product_id = 0;    // the product, or the variation's parent
  int64_t variation_id = 0;  // 0 unless a variation
  bool managed = false;      // stock tracked (by the item itself or, for "parent", its parent)
  std::optional<int64_t> quantity;
  std::string stock_status;
  std::string manage_stock;  // "true" | "false" | "parent"
};

struct StockPublisherStats {
  int64_t lookup_calls = 0;  // GET /products?sku=…
  int64_t list_calls = 0;    // GET /products and /products/{id}/variations pages in Scan
  int64_t batch_calls = 0;   // products/batch and variations/batch
  int64_t items_sent = 0;    // objects in those batches
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  int64_t stale_ids = 0;  // items sent again after WooCommerce did not know the cached id
};

class StockPublisher {
 public:
  explicit StockPublisher(RestClient& rest);

  // One outcome per level, in the same order. Levels with the same target (the same SKU twice,
  // or several "parent" variations of one product) are sent once with the last level; each of
  // them gets that write's outcome.
  std::vector<StockItemOutcome> Publish(std::span<const StockLevel> levels);

  // Pages through every product (per_page 100, ascending ids) and every variable product's
  // variations, calling on_item for each one with a SKU and caching its id. Stops at the first
  // failed call or the first error on_item returns, and returns it.
  absl::Status Scan(const std::function<absl::Status(const ShopStock&)>& on_item);

  StockPublisherStats stats() const;
  void ClearCache();

 private:
  struct Target {
    int64_t product_id = 0;    // product, or the variation's parent
    int64_t variation_id = 0;  // 0 for products
    std::string manage_stock;  // "true" | "false" | "parent"
  };

  // One attempt for `todo`; returns the indices whose cached id WooCommerce did not know.
  std::vector<size_t> PublishPass(std::span<const StockLevel> levels,
                                  const std::vector<size_t>& todo,
                                  std::vector<StockItemOutcome>& out, bool fresh_lookup);
  // Looks the SKUs up and caches what is found; the failed lookups' status per SKU.
  absl::flat_hash_map<std::string, absl::Status> Lookup(const std::vector<std::string>& skus);
  void Remember(const ProductStock& p);
  std::optional<Target> Cached(const std::string& sku);

  RestClient& rest_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Target> cache_ ABSL_GUARDED_BY(mu_);
  StockPublisherStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keelson::connectors::woocommerce
