#pragma once
// An in-memory ErpAdapter for flow tests: keeps items, customers, sales orders and stock levels,
// and can commit a create and then fail (the "timed out after commit" case) or fail stock reads.
// Real adapters are proven against their simulators by connectors/erp_conformance.h; this fake
// follows the same contract. Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/erp.h"

namespace keelson::testing {

class FakeErp final : public connectors::ErpAdapter {
 public:
  struct SalesOrder {
    connectors::ErpOrderRef ref;
    std::string customer_id;
    std::vector<std::pair<std::string, int64_t>> lines;  // sku, quantity
  };

  std::string_view name() const override { return "fake_erp"; }

  void AddItem(const std::string& sku) {
    std::lock_guard<std::mutex> l(mu_);
    items_.insert(sku);
  }
  void CommitThenFailNextCreate() {
    std::lock_guard<std::mutex> l(mu_);
    fail_after_commit_ = true;
  }
  void FailNextCalls(int n) {
    std::lock_guard<std::mutex> l(mu_);
    fail_calls_ = n;
  }
  int64_t CountOrders(std::string_view reference) {
    std::lock_guard<std::mutex> l(mu_);
    int64_t n = 0;
    for (const auto& o : orders_) n += Same(o.ref.external_reference, reference);
    return n;
  }
  std::vector<SalesOrder> Orders() {
    std::lock_guard<std::mutex> l(mu_);
    return orders_;
  }
  int create_calls() {
    std::lock_guard<std::mutex> l(mu_);
    return create_calls_;
  }

  // Stock: the level of `sku` at `location` ("" = one total per item), as modified at `at`.
  void SetStock(const std::string& sku, const std::string& location, int64_t on_hand,
                absl::Time at) {
    std::lock_guard<std::mutex> l(mu_);
    stock_[{sku, location}] = {
        .sku = sku, .location = location, .on_hand = on_hand, .modified_at = at};
  }
  void SetStockPageSize(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    stock_page_size_ = n;
  }
  // The next `n` stock reads (pages) fail with kUnavailable; `after` pages succeed first.
  void FailStockReads(int n, int after = 0) {
    std::lock_guard<std::mutex> l(mu_);
    fail_stock_reads_ = n;
    fail_stock_after_ = after;
  }
  // The `since` of every first-page stock read, in order.
  std::vector<absl::Time> stock_polls() {
    std::lock_guard<std::mutex> l(mu_);
    return stock_polls_;
  }

  // Shipments: cumulative units per (order id, SKU), posts that shipped anything.
  int64_t Shipped(const std::string& order_id, const std::string& sku) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = shipped_.find({order_id, sku});
    return it == shipped_.end() ? 0 : it->second;
  }
  int shipment_posts() {
    std::lock_guard<std::mutex> l(mu_);
    return shipment_posts_;
  }
  // The next post that ships anything commits and then fails (its answer lost).
  void LoseNextShipmentAnswer() {
    std::lock_guard<std::mutex> l(mu_);
    lose_next_post_ = true;
  }
  // Every post is refused with kFailedPrecondition(reason) while `reason` is not empty.
  void RefuseShipments(std::string reason) {
    std::lock_guard<std::mutex> l(mu_);
    refuse_shipments_ = std::move(reason);
  }

  absl::StatusOr<connectors::ErpShipmentResult> PostShipment(
      const connectors::ErpShipmentPost& post) override {
    std::lock_guard<std::mutex> l(mu_);
    if (auto s = MaybeFail(); !s.ok()) return s;
    if (!refuse_shipments_.empty()) return absl::FailedPreconditionError(refuse_shipments_);
    connectors::ErpShipmentResult r{.document = post.order_number};
    for (const auto& line : post.lines) {
      int64_t& have = shipped_[{post.order_id, line.sku}];
      if (line.shipped_total > have) {
        r.posted.push_back({line.sku, line.shipped_total - have});
        have = line.shipped_total;
      }
    }
    if (r.posted.empty()) return r;
    ++shipment_posts_;
    if (lose_next_post_) {
      lose_next_post_ = false;
      return absl::DeadlineExceededError("POST shipment: timed out (after the ERP posted)");
    }
    return r;
  }

  absl::StatusOr<connectors::ErpStockPage> ListStockChanges(absl::Time since,
                                                            std::string_view page_token) override {
    std::lock_guard<std::mutex> l(mu_);
    if (fail_stock_reads_ > 0) {
      if (fail_stock_after_ > 0) {
        --fail_stock_after_;
      } else {
        --fail_stock_reads_;
        return absl::UnavailableError("503 Service Unavailable (stock)");
      }
    }
    if (page_token.empty()) stock_polls_.push_back(since);
    std::vector<connectors::ErpStockRow> rows;
    for (const auto& [key, row] : stock_) {
      if (row.modified_at >= since) rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return std::tie(a.modified_at, a.sku, a.location) <
             std::tie(b.modified_at, b.sku, b.location);
    });
    size_t start = 0;
    if (!page_token.empty()) start = std::stoul(std::string(page_token));
    connectors::ErpStockPage page;
    for (size_t i = start; i < rows.size() && i < start + stock_page_size_; ++i) {
      page.rows.push_back(rows[i]);
    }
    if (start + stock_page_size_ < rows.size()) {
      page.next_page_token = std::to_string(start + stock_page_size_);
    }
    return page;
  }

  absl::StatusOr<connectors::ErpCustomerRef> FindOrCreateCustomer(
      const model::Customer& c) override {
    std::lock_guard<std::mutex> l(mu_);
    if (auto s = MaybeFail(); !s.ok()) return s;
    if (c.email.empty()) return absl::InvalidArgumentError("customer has no email");
    std::string email = absl::AsciiStrToLower(c.email);
    auto it = customers_.find(email);
    if (it == customers_.end()) {
      it = customers_.emplace(email, absl::StrCat("C", 10000 + customers_.size())).first;
    }
    return connectors::ErpCustomerRef{it->second, it->second};
  }

  absl::StatusOr<std::optional<connectors::ErpOrderRef>> FindSalesOrder(
      std::string_view reference) override {
    std::lock_guard<std::mutex> l(mu_);
    if (auto s = MaybeFail(); !s.ok()) return s;
    for (const auto& o : orders_) {
      if (Same(o.ref.external_reference, reference)) return std::optional(o.ref);
    }
    return std::optional<connectors::ErpOrderRef>();
  }

  absl::StatusOr<connectors::ErpOrderRef> CreateSalesOrder(
      const model::Order& order, const connectors::ErpCustomerRef& customer,
      const connectors::CreateOrderOptions& options) override {
    std::lock_guard<std::mutex> l(mu_);
    ++create_calls_;
    if (auto s = MaybeFail(); !s.ok()) return s;
    const std::string reference = order.Reference();
    if (options.verify_first) {
      for (const auto& o : orders_) {
        if (Same(o.ref.external_reference, reference)) return o.ref;
      }
    }
    SalesOrder so;
    for (const auto& line : order.lines) {
      if (!items_.contains(line.sku)) {
        return absl::FailedPreconditionError(absl::StrCat("unknown SKU '", line.sku, "'"));
      }
      so.lines.emplace_back(line.sku, line.quantity_ordered);
    }
    so.ref.id = absl::StrCat("id-", orders_.size() + 1);
    so.ref.number = absl::StrCat("SO", 1000 + orders_.size() + 1);
    so.ref.external_reference = absl::AsciiStrToUpper(reference);
    so.ref.state = connectors::ErpOrderState::kConfirmed;
    so.customer_id = customer.id;
    orders_.push_back(so);
    if (fail_after_commit_) {
      fail_after_commit_ = false;
      return absl::DeadlineExceededError("POST salesOrders: timed out (after the ERP committed)");
    }
    return so.ref;
  }

  absl::StatusOr<connectors::ErpOrderRef> GetSalesOrder(std::string_view id) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& o : orders_) {
      if (o.ref.id == id) return o.ref;
    }
    return absl::NotFoundError(absl::StrCat("sales order ", absl::string_view(id.data(), id.size())));
  }

  absl::Status CancelSalesOrder(std::string_view id) override {
    std::lock_guard<std::mutex> l(mu_);
    if (auto s = MaybeFail(); !s.ok()) return s;
    for (auto& o : orders_) {
      if (o.ref.id != id) continue;
      if (o.ref.state == connectors::ErpOrderState::kDone) {
        return absl::FailedPreconditionError("order already shipped");
      }
      o.ref.state = connectors::ErpOrderState::kCancelled;
      return absl::OkStatus();
    }
    return absl::NotFoundError(absl::StrCat("sales order ", absl::string_view(id.data(), id.size())));
  }

 private:
  static bool Same(std::string_view a, std::string_view b) {
    return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                  absl::string_view(b.data(), b.size()));
  }
  absl::Status MaybeFail() {
    if (fail_calls_ > 0) {
      --fail_calls_;
      return absl::UnavailableError("503 Service Unavailable");
    }
    return absl::OkStatus();
  }

  std::mutex mu_;
  std::set<std::string> items_;
  std::map<std::string, std::string> customers_;
  std::vector<SalesOrder> orders_;
  bool fail_after_commit_ = false;
  int fail_calls_ = 0;
  int create_calls_ = 0;
  std::map<std::pair<std::string, std::string>, connectors::ErpStockRow> stock_;
  size_t stock_page_size_ = 100;
  int fail_stock_reads_ = 0;
  int fail_stock_after_ = 0;
  std::vector<absl::Time> stock_polls_;
  std::map<std::pair<std::string, std::string>, int64_t> shipped_;
  int shipment_posts_ = 0;
  bool lose_next_post_ = false;
  std::string refuse_shipments_;
};

}  // namespace keelson::testing
