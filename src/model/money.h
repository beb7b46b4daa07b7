#pragma once
// Exact money: integer minor units plus an ISO 4217 currency code. No floating point anywhere
// except transiently inside ParseMoneyNumber (see there). Plain value type; thread-compatible.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keelson::model {

struct Money {
  int64_t minor = 0;     // amount in minor units of `currency` (cents for EUR, yen for JPY)
  std::string currency;  // ISO 4217 alphabetic code, e.g. "EUR"

  friend bool operator==(const Money&, const Money&) = default;
};

// Number of minor-unit digits of an ISO 4217 currency: 0 for JPY, KRW, VND, CLP, ISK, UGX, XAF,
// XOF, PYG (and the other zero-decimal codes), 3 for BHD, KWD, OMR, JOD, TND, IQD, LYD, 4 for
// CLF and UYW, and 2 for everything else, including codes this table does not know.
int CurrencyExponent(std::string_view code);

// Parses a plain decimal string exactly: optional '-', one or more digits, optional '.' followed
// by one or more digits ("12.50", "-3.00", "0", "4.9", "1234567.891" for KWD). No exponent, no
// '+', no spaces, no grouping. Fraction digits beyond CurrencyExponent(currency) are accepted only
// if they are all zeros ("12.500" EUR); otherwise kInvalidArgument. Never rounds.
// Errors: kInvalidArgument for malformed text or a currency that is not three letters A-Z;
// kOutOfRange when the amount does not fit int64 minor units.
absl::StatusOr<Money> ParseMoney(std::string_view decimal, std::string_view currency);

// Parses a JSON number (WooCommerce's `line_items[].price`, e.g. 19.99 or 13.456667) into Money.
// nlohmann stores a non-integer JSON number as a double; this reads its shortest round-trip text
// (json::dump(), which for a value parsed from JSON reproduces the sender's digits) and converts
// that decimal exactly, then ROUNDS HALF-EVEN to the currency's exponent. This is the one place
// in Keelson where money is rounded. Integer JSON numbers are converted exactly.
// Errors: kInvalidArgument if `value` is not a number or the currency is invalid; kOutOfRange
// when it does not fit.
absl::StatusOr<Money> ParseMoneyNumber(const nlohmann::json& value, std::string_view currency);

// Formats with exactly CurrencyExponent(currency) fraction digits: "12.50", "-3.00", "500" (JPY),
// "1.234" (KWD). No currency symbol or code.
std::string FormatMoney(const Money& money);

}  // namespace keelson::model
