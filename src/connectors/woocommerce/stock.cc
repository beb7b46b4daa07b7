#include "connectors/woocommerce/stock.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"

namespace keelson::connectors::woocommerce {
namespace {

// Keeps a lookup URL well under the 8 KB request lines servers and proxies commonly accept
// once encoded and signed.
constexpr size_t kMaxLookupSkuChars = 1500;

// The per-object errors that mean "this id is not (or no longer) what you think".
bool IsStaleIdError(const std::string& code) {
  return code == "woocommerce_rest_product_invalid_id" ||
         code == "woocommerce_rest_product_variation_invalid_id" ||
         code == "woocommerce_rest_invalid_product_id";
}

}  // namespace

StockPublisher::StockPublisher(RestClient& rest) : rest_(rest) {}

StockPublisherStats StockPublisher::stats() const {
  absl::MutexLock l(&mu_);
  return stats_;
}

void StockPublisher::ClearCache() {
  absl::MutexLock l(&mu_);
  cache_.clear();
}

void StockPublisher::Remember(const ProductStock& p) {
  if (p.sku.empty()) return;
  Target t;
  if (p.type == "variation") {
    t.product_id = p.parent_id;
    t.variation_id = p.id;
  } else {
    t.product_id = p.id;
  }
  t.manage_stock = p.manage_stock;
  absl::MutexLock l(&mu_);
  cache_[p.sku] = std::move(t);
}

std::optional<StockPublisher::Target> StockPublisher::Cached(const std::string& sku) {
  absl::MutexLock l(&mu_);
  auto it = cache_.find(sku);
  if (it == cache_.end()) {
    ++stats_.cache_misses;
    return std::nullopt;
  }
  ++stats_.cache_hits;
  return it->second;
}

absl::flat_hash_map<std::string, absl::Status> StockPublisher::Lookup(
    const std::vector<std::string>& skus) {
  absl::flat_hash_map<std::string, absl::Status> failed;
  // WooCommerce splits the sku parameter on commas, so a SKU with a comma goes alone (it also
  // matches the whole string then, and only exact matches are kept below).
  std::vector<std::vector<std::string>> chunks;
  std::vector<std::string> current;
  size_t chars = 0;
  for (const std::string& sku : skus) {
    if (sku.find(',') != std::string::npos) {
      chunks.push_back({sku});
      continue;
    }
    if (!current.empty() && (current.size() == static_cast<size_t>(kMaxBatchItems) ||
                             chars + sku.size() + 1 > kMaxLookupSkuChars)) {
      chunks.push_back(std::move(current));
      current.clear();
      chars = 0;
    }
    chars += sku.size() + 1;
    current.push_back(sku);
  }
  if (!current.empty()) chunks.push_back(std::move(current));

  for (const auto& chunk : chunks) {
    {
      absl::MutexLock l(&mu_);
      ++stats_.lookup_calls;
    }
    // SKUs are unique in WooCommerce, so a chunk of at most 100 fits one page.
    auto page = rest_.ListProducts({.page = 1, .per_page = kMaxBatchItems, .skus = chunk});
    if (!page.ok()) {
      for (const std::string& sku : chunk) failed[sku] = page.status();
      continue;
    }
    for (const ProductStock& p : page->items) {
      if (std::find(chunk.begin(), chunk.end(), p.sku) != chunk.end()) Remember(p);
    }
  }
  return failed;
}

std::vector<size_t> StockPublisher::PublishPass(std::span<const StockLevel> levels,
                                                const std::vector<size_t>& todo,
                                                std::vector<StockItemOutcome>& out,
                                                bool fresh_lookup) {
  // 1. Resolve SKUs to targets.
  std::vector<std::optional<Target>> targets(levels.size());
  std::vector<std::string> misses;
  for (size_t i : todo) {
    if (fresh_lookup) {
      absl::MutexLock l(&mu_);
      cache_.erase(levels[i].sku);
    }
    targets[i] = Cached(levels[i].sku);
    if (!targets[i]) misses.push_back(levels[i].sku);
  }
  if (!misses.empty()) {
    std::sort(misses.begin(), misses.end());
    misses.erase(std::unique(misses.begin(), misses.end()), misses.end());
    absl::flat_hash_map<std::string, absl::Status> failed = Lookup(misses);
    for (size_t i : todo) {
      if (targets[i]) continue;
      if (auto f = failed.find(levels[i].sku); f != failed.end()) {
        out[i].status = f->second;
        continue;
      }
      absl::MutexLock l(&mu_);
      auto it = cache_.find(levels[i].sku);
      if (it != cache_.end()) {
        targets[i] = it->second;
      } else {
        out[i].status = absl::NotFoundError(
            absl::StrCat("woocommerce: no product or variation has SKU \"", levels[i].sku, "\""));
      }
    }
  }

  // 2. Group by call: key 0 = products/batch, else variations/batch of that parent.
  struct Entry {
    StockUpdate update;
    std::vector<size_t> indices;
  };
  std::map<int64_t, std::vector<Entry>> calls;
  std::map<std::pair<int64_t, int64_t>, size_t> position;  // (call, object id) -> entry
  for (size_t i : todo) {
    if (!targets[i]) continue;
    const Target& t = *targets[i];
    out[i].product_id = t.product_id;
    out[i].variation_id = t.variation_id;
    const bool via_parent = t.variation_id == 0 || t.manage_stock == "parent";
    const int64_t call = via_parent ? 0 : t.product_id;
    const int64_t id = via_parent ? t.product_id : t.variation_id;
    auto [pos, fresh] = position.try_emplace({call, id}, calls[call].size());
    if (fresh) calls[call].push_back({.update = {.id = id}});
    Entry& e = calls[call][pos->second];
    e.update.stock_quantity = levels[i].quantity;  // the last level for a target wins
    e.update.stock_status = levels[i].stock_status.empty()
                                ? std::nullopt
                                : std::optional<std::string>(levels[i].stock_status);
    e.indices.push_back(i);
  }

  // 3. Send, at most 100 objects per call.
  std::vector<size_t> stale;
  for (auto& [call, entries] : calls) {
    for (size_t first = 0; first < entries.size(); first += kMaxBatchItems) {
      const size_t n = std::min(entries.size() - first, static_cast<size_t>(kMaxBatchItems));
      std::vector<StockUpdate> updates;
      updates.reserve(n);
      for (size_t k = 0; k < n; ++k) updates.push_back(entries[first + k].update);
      {
        absl::MutexLock l(&mu_);
        ++stats_.batch_calls;
        stats_.items_sent += static_cast<int64_t>(n);
      }
      auto results = call == 0 ? rest_.BatchUpdateProducts(updates)
                               : rest_.BatchUpdateVariations(call, updates);
      for (size_t k = 0; k < n; ++k) {
        const Entry& e = entries[first + k];
        for (size_t i : e.indices) {
          if (!results.ok()) {
            out[i].status = results.status();
            continue;
          }
          const BatchItemResult& r = (*results)[k];
          out[i].status = r.status;
          if (r.status.ok()) {
            out[i].shop_quantity = r.stock.stock_quantity;
            out[i].shop_stock_status = r.stock.stock_status;
          } else if (IsStaleIdError(r.error_code)) {
            stale.push_back(i);
          }
        }
      }
    }
  }
  return stale;
}

std::vector<StockItemOutcome> StockPublisher::Publish(std::span<const StockLevel> levels) {
  std::vector<StockItemOutcome> out(levels.size());
  std::vector<size_t> todo(levels.size());
  for (size_t i = 0; i < levels.size(); ++i) {
    out[i].sku = levels[i].sku;
    todo[i] = i;
  }
  std::vector<size_t> stale = PublishPass(levels, todo, out, /*fresh_lookup=*/false);
  if (!stale.empty()) {
    {
      absl::MutexLock l(&mu_);
      stats_.stale_ids += static_cast<int64_t>(stale.size());
    }
    for (size_t i : stale) {
      out[i].product_id = out[i].variation_id = 0;
    }
    // A second stale answer keeps its error: the item is reported, not chased further.
    PublishPass(levels, stale, out, /*fresh_lookup=*/true);
  }
  return out;
}

absl::Status StockPublisher::Scan(const std::function<absl::Status(const ShopStock&)>& on_item) {
  auto emit = [&](const ProductStock& p) -> absl::Status {
    if (p.sku.empty()) return absl::OkStatus();
    Remember(p);
    const bool variation = p.type == "variation";
    return on_item(ShopStock{.sku = p.sku,
                             .product_id = variation ? p.parent_id : p.id,
                             .variation_id = variation ? p.id : 0,
                             .managed = p.manage_stock != "false",
                             .quantity = p.stock_quantity,
                             .stock_status = p.stock_status,
                             .manage_stock = p.manage_stock});
  };
  for (int page = 1;; ++page) {
    {
      absl::MutexLock l(&mu_);
      ++stats_.list_calls;
    }
    auto products = rest_.ListProducts({.page = page, .per_page = kMaxBatchItems});
    if (!products.ok()) return products.status();
    for (const ProductStock& p : products->items) {
      if (absl::Status s = emit(p); !s.ok()) return s;
      if (p.type != "variable") continue;
      for (int vpage = 1;; ++vpage) {
        {
          absl::MutexLock l(&mu_);
          ++stats_.list_calls;
        }
        auto vars = rest_.ListVariations(p.id, vpage, kMaxBatchItems);
        if (!vars.ok()) return vars.status();
        for (const ProductStock& v : vars->items) {
          if (absl::Status s = emit(v); !s.ok()) return s;
        }
        if (vars->items.empty() || vpage >= vars->total_pages) break;
      }
    }
    if (products->items.empty() || page >= products->total_pages) break;
  }
  return absl::OkStatus();
}

}  // namespace keelson::connectors::woocommerce
