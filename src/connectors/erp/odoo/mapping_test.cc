#include "connectors/erp/odoo/mapping.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::odoo {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

model::Money Eur(int64_t minor) { return model::Money{minor, "EUR"}; }

model::Order Order(std::vector<std::string> skus) {
  model::Order o;
  o.store_id = "main";
  o.order_id = 14;
  o.number = "14";
  o.currency = "EUR";
  int64_t id = 1;
  for (const auto& sku : skus) {
    model::OrderLine l;
    l.line_id = id++;
    l.sku = sku;
    l.name = "Item " + sku;
    l.quantity_ordered = 3;
    l.unit_price = Eur(1999);
    o.lines.push_back(l);
  }
  return o;
}

TEST(OdooMapOrderStateTest, StatesOfEveryVersion) {
  EXPECT_EQ(MapOrderState("draft", false), ErpOrderState::kOpen);
  EXPECT_EQ(MapOrderState("sent", false), ErpOrderState::kOpen);
  EXPECT_EQ(MapOrderState("sale", false), ErpOrderState::kConfirmed);
  EXPECT_EQ(MapOrderState("sale", true), ErpOrderState::kDone);   // 17+: locked
  EXPECT_EQ(MapOrderState("done", false), ErpOrderState::kDone);  // <= 16
  EXPECT_EQ(MapOrderState("cancel", false), ErpOrderState::kCancelled);
  EXPECT_EQ(MapOrderState("waiting_approval", false), ErpOrderState::kOpen);
}

TEST(OdooSaleOrderFieldsTest, LockedOnlyFrom17) {
  EXPECT_THAT(SaleOrderFields(16), ::testing::Not(::testing::Contains("locked")));
  EXPECT_THAT(SaleOrderFields(17), ::testing::Contains("locked"));
}

TEST(OdooMapSaleOrderTest, FalseReferenceBecomesEmpty) {
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef r, MapSaleOrder(json{{"id", 42},
                                                                {"name", "S00042"},
                                                                {"client_order_ref", false},
                                                                {"state", "sale"},
                                                                {"locked", false}}));
  EXPECT_EQ(r.id, "42");
  EXPECT_EQ(r.number, "S00042");
  EXPECT_EQ(r.external_reference, "");
  EXPECT_EQ(r.state, ErpOrderState::kConfirmed);
  EXPECT_THAT(MapSaleOrder(json{{"name", "S1"}}).status(), StatusIs(absl::StatusCode::kInternal));
}

TEST(OdooPartnerValuesTest, BillingAddressWithoutEmptyFields) {
  model::Customer c;
  c.email = "ada@example.com";
  c.billing.first_name = "Ada";
  c.billing.last_name = " Lovelace ";
  c.billing.city = "London";
  json v = PartnerValues(c, 7);
  EXPECT_EQ(v, (json{{"name", "Ada Lovelace"},
                     {"email", "ada@example.com"},
                     {"city", "London"},
                     {"country_id", 7}}));
  model::Customer company;
  company.email = "ops@acme.test";
  company.billing.company = "ACME";
  EXPECT_EQ(PartnerName(company), "ACME");
  model::Customer bare;
  bare.email = "x@y.z";
  EXPECT_EQ(PartnerName(bare), "x@y.z");
  EXPECT_FALSE(PartnerValues(bare, std::nullopt).contains("country_id"));
}

TEST(OdooSaleOrderValuesTest, LinesAsCreateCommands) {
  model::Order o = Order({"A", "B"});
  KEELSON_ASSERT_OK_AND_ASSIGN(json v, SaleOrderValues(o, 9, {{"A", 1}, {"B", 2}}, {}));
  EXPECT_EQ(v["partner_id"], 9);
  EXPECT_EQ(v["client_order_ref"], "main:14");
  EXPECT_EQ(v["origin"], "WooCommerce main #14");
  ASSERT_EQ(v["order_line"].size(), 2u);
  EXPECT_EQ(
      v["order_line"][0],
      (json{
          0,
          0,
          {{"product_id", 1}, {"product_uom_qty", 3}, {"price_unit", 19.99}, {"name", "Item A"}}}));
}

TEST(OdooSaleOrderValuesTest, UnknownSkusAreNamedAll) {
  model::Order o = Order({"A", "NOPE", "", "NOPE"});
  absl::StatusOr<json> v = SaleOrderValues(o, 9, {{"A", 1}}, {});
  EXPECT_THAT(v.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(v.status().message()), ::testing::StartsWith("unknown SKU 'NOPE', ''"));
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("main:14"));
}

TEST(OdooSaleOrderValuesTest, ShippingAndFeesOnProductsOrAsNotes) {
  model::Order o = Order({"A"});
  o.shipping.push_back({"flat_rate", "Flat rate", Eur(500), Eur(0)});
  o.shipping.push_back({"free_shipping", "Free", Eur(0), Eur(0)});  // nothing to book
  o.fees.push_back({"Gift wrap", Eur(250), Eur(0)});
  KEELSON_ASSERT_OK_AND_ASSIGN(
      json on_products,
      SaleOrderValues(o, 9, {{"A", 1}}, {.shipping_product_id = 50, .fee_product_id = 51}));
  ASSERT_EQ(on_products["order_line"].size(), 3u);
  EXPECT_EQ(on_products["order_line"][1][2], (json{{"product_id", 50},
                                                   {"product_uom_qty", 1},
                                                   {"price_unit", 5.0},
                                                   {"name", "Shipping: Flat rate"}}));
  EXPECT_EQ(on_products["order_line"][2][2]["product_id"], 51);
  EXPECT_EQ(on_products["order_line"][2][2]["name"], "Fee: Gift wrap");

  KEELSON_ASSERT_OK_AND_ASSIGN(json notes, SaleOrderValues(o, 9, {{"A", 1}}, {}));
  ASSERT_EQ(notes["order_line"].size(), 3u);
  EXPECT_EQ(notes["order_line"][1][2],
            (json{{"display_type", "line_note"}, {"name", "Shipping: Flat rate, 5.00 EUR"}}));
  EXPECT_EQ(notes["order_line"][2][2]["name"], "Fee: Gift wrap, 2.50 EUR");
}

TEST(OdooToOdooAmountTest, UsesTheCurrencyExponent) {
  EXPECT_EQ(ToOdooAmount(Eur(1250)), 12.5);
  EXPECT_EQ(ToOdooAmount({500, "JPY"}), 500.0);
  EXPECT_EQ(ToOdooAmount({1234, "KWD"}), 1.234);
  EXPECT_EQ(ToOdooAmount(Eur(-300)), -3.0);
}

}  // namespace
}  // namespace keelson::connectors::odoo
