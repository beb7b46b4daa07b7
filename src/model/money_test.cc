#include "model/money.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/order.h"
#include "tests/support/status_matchers.h"

namespace keelson::model {
namespace {

Money M(int64_t minor, std::string currency) { return Money{minor, std::move(currency)}; }

TEST(MoneyTest, CurrencyExponentFollowsIso4217) {
  EXPECT_EQ(CurrencyExponent("EUR"), 2);
  EXPECT_EQ(CurrencyExponent("USD"), 2);
  EXPECT_EQ(CurrencyExponent("HUF"), 2);
  EXPECT_EQ(CurrencyExponent("JPY"), 0);
  EXPECT_EQ(CurrencyExponent("KRW"), 0);
  EXPECT_EQ(CurrencyExponent("XOF"), 0);
  EXPECT_EQ(CurrencyExponent("KWD"), 3);
  EXPECT_EQ(CurrencyExponent("BHD"), 3);
  EXPECT_EQ(CurrencyExponent("ZZZ"), 2);  // unknown: default
}

TEST(MoneyTest, ParsesExactDecimals) {
  EXPECT_EQ(*ParseMoney("12.50", "EUR"), M(1250, "EUR"));
  EXPECT_EQ(*ParseMoney("-3.00", "EUR"), M(-300, "EUR"));
  EXPECT_EQ(*ParseMoney("0", "EUR"), M(0, "EUR"));
  EXPECT_EQ(*ParseMoney("-0.00", "EUR"), M(0, "EUR"));
  EXPECT_EQ(*ParseMoney("4.9", "EUR"), M(490, "EUR"));
  EXPECT_EQ(*ParseMoney("61.88", "EUR"), M(6188, "EUR"));
  EXPECT_EQ(*ParseMoney("12.500", "EUR"), M(1250, "EUR"));  // extra zeros are exact
  EXPECT_EQ(*ParseMoney("1500", "JPY"), M(1500, "JPY"));
  EXPECT_EQ(*ParseMoney("1500.00", "JPY"), M(1500, "JPY"));
  EXPECT_EQ(*ParseMoney("1234567.891", "KWD"), M(1234567891, "KWD"));
  EXPECT_EQ(*ParseMoney("0.5", "KWD"), M(500, "KWD"));
  EXPECT_EQ(*ParseMoney("92233720368547758.07", "EUR"), M(INT64_MAX, "EUR"));
}

TEST(MoneyTest, RejectsTooManyFractionDigits) {
  EXPECT_EQ(ParseMoney("12.501", "EUR").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMoney("1.5", "JPY").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMoney("1.2345", "KWD").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MoneyTest, RejectsGarbage) {
  for (const char* bad : {"", "-", ".", "1.", ".5", "+1.00", "1,00", "1.0.0", " 1.00", "1.00 ",
                          "abc", "12a", "1e2", "--1", "NaN"}) {
    EXPECT_EQ(ParseMoney(bad, "EUR").status().code(), absl::StatusCode::kInvalidArgument)
        << "\"" << bad << "\"";
  }
  EXPECT_EQ(ParseMoney("1.00", "eur").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMoney("1.00", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMoney("1.00", "EURO").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MoneyTest, HugeAmountsAreOutOfRange) {
  EXPECT_EQ(ParseMoney("92233720368547758.08", "EUR").status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseMoney("99999999999999999999999999999", "EUR").status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseMoney("-99999999999999999999999999999.00", "JPY").status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(MoneyTest, ParseMoneyNumberUsesTheJsonText) {
  using nlohmann::json;
  EXPECT_EQ(*ParseMoneyNumber(json::parse("19.99"), "EUR"), M(1999, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("15"), "EUR"), M(1500, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("53.1"), "EUR"), M(5310, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("-3.5"), "EUR"), M(-350, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("0.1"), "KWD"), M(100, "KWD"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("1500"), "JPY"), M(1500, "JPY"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("1e2"), "EUR"), M(10000, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("1.5e-3"), "EUR"), M(0, "EUR"));
}

TEST(MoneyTest, ParseMoneyNumberRoundsHalfEven) {
  using nlohmann::json;
  EXPECT_EQ(*ParseMoneyNumber(json::parse("13.456667"), "EUR"), M(1346, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("0.125"), "EUR"), M(12, "EUR"));   // tie -> even
  EXPECT_EQ(*ParseMoneyNumber(json::parse("0.135"), "EUR"), M(14, "EUR"));   // tie -> even
  EXPECT_EQ(*ParseMoneyNumber(json::parse("0.1251"), "EUR"), M(13, "EUR"));  // above tie
  EXPECT_EQ(*ParseMoneyNumber(json::parse("0.1249"), "EUR"), M(12, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("-0.125"), "EUR"), M(-12, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("-0.135"), "EUR"), M(-14, "EUR"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("2.5"), "JPY"), M(2, "JPY"));
  EXPECT_EQ(*ParseMoneyNumber(json::parse("3.5"), "JPY"), M(4, "JPY"));
}

TEST(MoneyTest, ParseMoneyNumberErrors) {
  using nlohmann::json;
  EXPECT_EQ(ParseMoneyNumber(json("19.99"), "EUR").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMoneyNumber(json(nullptr), "EUR").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMoneyNumber(json::parse("19.99"), "xx").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMoneyNumber(json::parse("1e300"), "EUR").status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseMoneyNumber(json::parse("18446744073709551615"), "EUR").status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(MoneyTest, Formats) {
  EXPECT_EQ(FormatMoney(M(1250, "EUR")), "12.50");
  EXPECT_EQ(FormatMoney(M(-300, "EUR")), "-3.00");
  EXPECT_EQ(FormatMoney(M(0, "EUR")), "0.00");
  EXPECT_EQ(FormatMoney(M(5, "EUR")), "0.05");
  EXPECT_EQ(FormatMoney(M(-5, "EUR")), "-0.05");
  EXPECT_EQ(FormatMoney(M(1500, "JPY")), "1500");
  EXPECT_EQ(FormatMoney(M(1234567891, "KWD")), "1234567.891");
  EXPECT_EQ(FormatMoney(M(INT64_MIN, "EUR")), "-92233720368547758.08");
}

TEST(MoneyTest, FormatRoundTripsParse) {
  for (const char* s : {"12.50", "-3.00", "0.00", "0.01", "123456789.99"}) {
    KEELSON_ASSERT_OK_AND_ASSIGN(Money m, ParseMoney(s, "EUR"));
    EXPECT_EQ(FormatMoney(m), s);
  }
}

// Order's small functions live in model/order.cc; their tests sit here with the rest of the
// model's value types.
TEST(OrderModelTest, WooStatusRoundTrips) {
  for (OrderStatus s : {OrderStatus::kPending, OrderStatus::kOnHold, OrderStatus::kProcessing,
                        OrderStatus::kCompleted, OrderStatus::kCancelled, OrderStatus::kRefunded,
                        OrderStatus::kFailed, OrderStatus::kDraft, OrderStatus::kTrash}) {
    EXPECT_EQ(ParseWooStatus(StatusName(s)), s) << StatusName(s);
  }
  EXPECT_EQ(ParseWooStatus("on-hold"), OrderStatus::kOnHold);
  EXPECT_EQ(ParseWooStatus("checkout-draft"), OrderStatus::kDraft);
  EXPECT_EQ(StatusName(OrderStatus::kProcessing), "processing");
  EXPECT_EQ(ParseWooStatus("Processing"), std::nullopt);
  EXPECT_EQ(ParseWooStatus("wc-processing"), std::nullopt);
  EXPECT_EQ(ParseWooStatus("shipped"), std::nullopt);
  EXPECT_EQ(ParseWooStatus(""), std::nullopt);
}

TEST(OrderModelTest, ReferenceIsStoreColonOrderId) {
  Order o;
  o.store_id = "main";
  o.order_id = 14;
  EXPECT_EQ(o.Reference(), "main:14");
}

}  // namespace
}  // namespace keelson::model
