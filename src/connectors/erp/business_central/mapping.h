#pragma once
// Canonical model <-> Business Central API v2.0 JSON, without I/O. README.md has the field
// tables and the sources.
//
// Pure functions; thread-safe.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/erp.h"
#include "model/money.h"
#include "model/order.h"

namespace keelson::connectors::business_central {

// BC's Code[35] externalDocumentNumber.
inline constexpr size_t kMaxExternalDocumentNumber = 35;
// BC's Code[20] item numbers (lineObjectNumber).
inline constexpr size_t kMaxItemNumber = 20;

// The reference as BC stores it (Code fields are upper-cased); kInvalidArgument past 35
// characters, since BC would refuse it.
absl::StatusOr<std::string> ExternalDocumentNumber(std::string_view reference);

// An OData string literal: quoted, with quotes doubled ("O'Brien" -> 'O''Brien').
std::string ODataString(std::string_view s);

// `s` cut to at most `max_chars` UTF-8 characters (BC's Text[n] counts characters).
std::string TruncateText(std::string_view s, size_t max_chars);

// Money as the JSON number BC's decimal fields take (12.5 for "12.50" EUR, 500 for 500 JPY).
nlohmann::json Decimal(const model::Money& money);

// POST customers body for `customer`: displayName (company, else first and last name, else the
// email), type Company/Person, billing address, phone, email lower-cased. kInvalidArgument for a
// guest without email or an email BC cannot hold (Text[80]).
absl::StatusOr<nlohmann::json> CustomerPayload(const model::Customer& customer);

absl::StatusOr<ErpCustomerRef> CustomerRefFromJson(const nlohmann::json& customer);

struct OrderMappingOptions {
  // G/L account numbers for shipping and fee lines ("Account" lines). Empty: an order with a
  // non-zero shipping or fee amount is kFailedPrecondition (revenue is never dropped silently).
  std::string shipping_account;
  std::string fee_account;
  // The company's local currency (LCY): orders in it are sent without currencyCode, as BC keeps
  // LCY documents blank. Empty: currencyCode is always sent.
  std::string lcy_code;
};

// POST salesOrders body, lines included (deep insert): item lines by SKU, then shipping and fee
// lines on their G/L accounts. Prices are net of tax; BC applies its own tax setup.
absl::StatusOr<nlohmann::json> SalesOrderPayload(const model::Order& order,
                                                 const ErpCustomerRef& customer,
                                                 const OrderMappingOptions& options);

// The order's state from a salesOrder read with $expand=salesOrderLines:
//   lines all at quantity 0 (Keelson's cancellation)   kCancelled
//   every line with a quantity fully shipped           kDone
//   status "Open" (Sales Header Released / Pending Prepayment), or anything shipped  kConfirmed
//   status "Draft" (Sales Header Open) or "In Review"  kOpen
ErpOrderState OrderState(const nlohmann::json& order);

// id, number, externalDocumentNumber and OrderState.
absl::StatusOr<ErpOrderRef> OrderRefFromJson(const nlohmann::json& order);

// A stock row from an item read from `items`: sku = number, location "" (BC's `inventory` is the
// item's total over every location), on_hand = inventory rounded down, modified_at =
// lastModifiedDateTime. nullopt for items that hold no stock (type Service or Non-Inventory)
// and for an item without number; kInternal when lastModifiedDateTime is unreadable.
absl::StatusOr<std::optional<ErpStockRow>> StockRowFromItem(const nlohmann::json& item);

// `t` as the DateTimeOffset literal BC's $filter takes: 2026-03-01T10:00:00.123Z.
std::string ODataDateTime(absl::Time t);

// True when `id` has the GUID shape BC keys have (8-4-4-4-12 hex digits).
bool IsGuid(std::string_view id);

}  // namespace keelson::connectors::business_central
