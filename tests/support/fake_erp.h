#pragma once
// An in-memory ErpAdapter for flow tests: keeps items, customers and sales orders, and can
// commit a create and then fail (the "timed out after commit" case). Real adapters are proven
// against their simulators by connectors/erp_conformance.h; this fake follows the same contract.
// Thread-safe.

#include <map>
#include <mutex>
#include <set>
#include <string>
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
};

}  // namespace keelson::testing
