#include "model/money.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::model {
namespace {

using core::AbslSv;

constexpr int64_t kMaxMinor = std::numeric_limits<int64_t>::max();

struct Decimal {
  bool negative = false;
  std::string int_digits;   // at least one digit
  std::string frac_digits;  // possibly empty
};

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

absl::Status ValidateCurrency(std::string_view currency) {
  bool ok = currency.size() == 3;
  for (char c : currency) ok = ok && c >= 'A' && c <= 'Z';
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("currency \"", AbslSv(currency), "\": must be a three-letter ISO 4217 code"));
  }
  return absl::OkStatus();
}

absl::Status Malformed(std::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat("\"", AbslSv(text), "\": not a decimal amount"));
}

// Grammar: -?[0-9]+(\.[0-9]+)? and, if allow_exponent, an optional [eE][+-]?[0-9]+ that is
// folded into the digits (the exponent form is what json::dump() emits for large/small doubles).
absl::StatusOr<Decimal> SplitDecimal(std::string_view text, bool allow_exponent) {
  Decimal d;
  std::string_view rest = text;
  if (!rest.empty() && rest.front() == '-') {
    d.negative = true;
    rest.remove_prefix(1);
  }
  int exp10 = 0;
  if (allow_exponent) {
    if (size_t e = rest.find_first_of("eE"); e != std::string_view::npos) {
      std::string_view exp_text = rest.substr(e + 1);
      rest = rest.substr(0, e);
      bool exp_negative = false;
      if (!exp_text.empty() && (exp_text.front() == '+' || exp_text.front() == '-')) {
        exp_negative = exp_text.front() == '-';
        exp_text.remove_prefix(1);
      }
      // Doubles never need more than three exponent digits; anything longer is not a double.
      if (!IsDigits(exp_text) || exp_text.size() > 3) return Malformed(text);
      for (char c : exp_text) exp10 = exp10 * 10 + (c - '0');
      if (exp_negative) exp10 = -exp10;
    }
  }
  size_t dot = rest.find('.');
  std::string_view int_part = rest.substr(0, dot);
  std::string_view frac_part =
      dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  if (!IsDigits(int_part)) return Malformed(text);
  if (dot != std::string_view::npos && !IsDigits(frac_part)) return Malformed(text);
  if (exp10 == 0) {
    d.int_digits = std::string(int_part);
    d.frac_digits = std::string(frac_part);
    return d;
  }
  // Move the decimal point by exp10 places.
  std::string digits = absl::StrCat(AbslSv(int_part), AbslSv(frac_part));
  int point = static_cast<int>(int_part.size()) + exp10;
  if (point <= 0) {
    d.int_digits = "0";
    d.frac_digits = std::string(static_cast<size_t>(-point), '0') + digits;
  } else if (point >= static_cast<int>(digits.size())) {
    d.int_digits = digits + std::string(point - digits.size(), '0');
  } else {
    d.int_digits = digits.substr(0, point);
    d.frac_digits = digits.substr(point);
  }
  return d;
}

enum class Rounding { kExact, kHalfEven };

absl::StatusOr<Money> ToMoney(const Decimal& d, std::string_view original,
                              std::string_view currency, Rounding rounding) {
  const int exponent = CurrencyExponent(currency);
  const size_t kept_len = std::min(d.frac_digits.size(), static_cast<size_t>(exponent));
  std::string kept = d.frac_digits.substr(0, kept_len);
  kept.resize(exponent, '0');
  const std::string_view dropped = std::string_view(d.frac_digits).substr(kept_len);
  bool dropped_nonzero = dropped.find_first_not_of('0') != std::string_view::npos;
  if (dropped_nonzero && rounding == Rounding::kExact) {
    return absl::InvalidArgumentError(absl::StrCat("\"", AbslSv(original), "\": more than ",
                                                   exponent, " fraction digits for ",
                                                   AbslSv(currency)));
  }
  int64_t magnitude = 0;
  const std::string all = d.int_digits + kept;
  for (char c : all) {
    if (__builtin_mul_overflow(magnitude, int64_t{10}, &magnitude) ||
        __builtin_add_overflow(magnitude, int64_t{c - '0'}, &magnitude)) {
      return absl::OutOfRangeError(
          absl::StrCat("\"", AbslSv(original), "\": amount does not fit in 64-bit minor units"));
    }
  }
  if (dropped_nonzero) {
    // Round half-even on the magnitude, which is symmetric for negative amounts.
    bool up = false;
    if (dropped.front() > '5') {
      up = true;
    } else if (dropped.front() == '5') {
      bool beyond_half = dropped.substr(1).find_first_not_of('0') != std::string_view::npos;
      up = beyond_half || (magnitude % 2 == 1);
    }
    if (up && magnitude == kMaxMinor) {
      return absl::OutOfRangeError(
          absl::StrCat("\"", AbslSv(original), "\": amount does not fit in 64-bit minor units"));
    }
    if (up) ++magnitude;
  }
  return Money{.minor = d.negative ? -magnitude : magnitude, .currency = std::string(currency)};
}

}  // namespace

int CurrencyExponent(std::string_view code) {
  static constexpr std::string_view kZero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                               "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
                                               "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::string_view kThree[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  static constexpr std::string_view kFour[] = {"CLF", "UYW"};
  for (std::string_view c : kZero) {
    if (c == code) return 0;
  }
  for (std::string_view c : kThree) {
    if (c == code) return 3;
  }
  for (std::string_view c : kFour) {
    if (c == code) return 4;
  }
  return 2;
}

absl::StatusOr<Money> ParseMoney(std::string_view decimal, std::string_view currency) {
  if (absl::Status s = ValidateCurrency(currency); !s.ok()) return s;
  absl::StatusOr<Decimal> d = SplitDecimal(decimal, /*allow_exponent=*/false);
  if (!d.ok()) return d.status();
  return ToMoney(*d, decimal, currency, Rounding::kExact);
}

absl::StatusOr<Money> ParseMoneyNumber(const nlohmann::json& value, std::string_view currency) {
  if (absl::Status s = ValidateCurrency(currency); !s.ok()) return s;
  if (!value.is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslSv(value.type_name()), ": must be a JSON number"));
  }
  // dump() of an integer is its exact digits; of a double, the shortest text that round-trips,
  // which for a number read from JSON is the sender's own digits (19.99 -> "19.99"). A
  // non-finite double dumps as "null" and fails the grammar below.
  const std::string text = value.dump();
  absl::StatusOr<Decimal> d = SplitDecimal(text, /*allow_exponent=*/true);
  if (!d.ok()) return d.status();
  return ToMoney(*d, text, currency, Rounding::kHalfEven);
}

std::string FormatMoney(const Money& money) {
  const int exponent = CurrencyExponent(money.currency);
  // Unsigned magnitude so INT64_MIN formats too.
  uint64_t magnitude =
      money.minor < 0 ? 0 - static_cast<uint64_t>(money.minor) : static_cast<uint64_t>(money.minor);
  std::string digits = std::to_string(magnitude);
  if (digits.size() <= static_cast<size_t>(exponent)) {
    digits.insert(0, exponent + 1 - digits.size(), '0');
  }
  std::string out = money.minor < 0 ? "-" : "";
  if (exponent == 0) return out + digits;
  size_t point = digits.size() - exponent;
  return absl::StrCat(out, digits.substr(0, point), ".", digits.substr(point));
}

}  // namespace keelson::model
