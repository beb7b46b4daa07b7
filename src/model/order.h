#pragma once
// Canonical sales order, as the order-to-cash flow sees it regardless of the shop it came from.
// Plain structs, no I/O; connectors map their remote payloads into these (for WooCommerce see
// connectors/woocommerce/mapping.h). All amounts are model::Money in the order's currency.
// Value types; thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "model/money.h"

namespace keelson::model {

struct Address {
  std::string first_name;
  std::string last_name;
  std::string company;
  std::string address_1;
  std::string address_2;
  std::string city;
  std::string state;
  std::string postcode;
  std::string country;  // ISO 3166-1 alpha-2 as the shop sends it
  std::string email;    // empty for shipping addresses on WooCommerce
  std::string phone;
};

struct Customer {
  int64_t external_id = 0;  // the shop's customer id (WooCommerce customer_id); 0 = guest
  std::string email;        // billing email
  Address billing;
  Address shipping;
};

struct OrderLine {
  int64_t line_id = 0;  // the shop's line item id, stable for the order's life
  std::string sku;
  std::string name;
  int64_t product_id = 0;
  int64_t variation_id = 0;  // 0 when not a variation
  int64_t quantity_ordered = 0;
  // Downstream progress; a freshly mapped order has these at 0.
  int64_t quantity_allocated = 0;
  int64_t quantity_shipped = 0;
  int64_t quantity_cancelled = 0;
  int64_t quantity_returned = 0;
  Money unit_price;  // after line discounts, before tax
  Money subtotal;    // before discounts, before tax
  Money total;       // after discounts, before tax
  Money total_tax;
};

struct ShippingLine {
  std::string method_id;
  std::string method_title;
  Money total;
  Money total_tax;
};

struct FeeLine {
  std::string name;
  Money total;
  Money total_tax;
};

struct CouponLine {
  std::string code;
  Money discount;  // before tax
};

enum class OrderStatus {
  kPending,
  kOnHold,
  kProcessing,
  kCompleted,
  kCancelled,
  kRefunded,
  kFailed,
  kDraft,
  kTrash,
};

// WooCommerce status slug -> status: "pending", "on-hold", "processing", "completed",
// "cancelled", "refunded", "failed", "checkout-draft", "trash". Anything else (including
// plugin-defined statuses) -> nullopt.
std::optional<OrderStatus> ParseWooStatus(std::string_view slug);
// The WooCommerce slug, so ParseWooStatus(StatusName(s)) == s.
std::string_view StatusName(OrderStatus status);

struct PaymentState {
  bool paid = false;           // WooCommerce: date_paid_gmt is present
  std::string method;          // payment gateway id, e.g. "stripe", "bacs"
  std::string transaction_id;  // gateway reference; empty when none
};

struct Order {
  std::string store_id;  // Keelson's name for the shop (config), not the remote's
  int64_t order_id = 0;  // the shop's order id
  std::string number;    // customer-facing order number (may differ from order_id)
  std::string currency;  // ISO 4217
  OrderStatus status = OrderStatus::kPending;
  absl::Time date_created_gmt = absl::InfinitePast();  // InfinitePast when the shop omits it
  absl::Time date_modified_gmt = absl::InfinitePast();
  Customer customer;
  std::vector<OrderLine> lines;
  std::vector<ShippingLine> shipping;
  std::vector<FeeLine> fees;
  std::vector<CouponLine> coupons;
  Money discount_total;
  Money shipping_total;
  Money total_tax;
  Money total;
  PaymentState payment;
  Money refunds_total;  // sum of the refunds so far; <= 0 (WooCommerce reports them negative)
  std::string customer_note;

  // "store_id:order_id", e.g. "main:14": the order's external reference across systems.
  std::string Reference() const;
};

}  // namespace keelson::model
