#include "connectors/erp/business_central/mapping.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::business_central {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

model::Money Eur(int64_t minor) { return {minor, "EUR"}; }

model::Order SampleOrder() {
  model::Order o;
  o.store_id = "main";
  o.order_id = 42;
  o.currency = "EUR";
  o.date_created_gmt = absl::FromUnixSeconds(1'767'225'600 + 3600);  // 2026-01-01 01:00 UTC
  o.customer.email = " Ada@Example.COM ";
  o.customer.billing = {.first_name = "Ada",
                        .last_name = "Lovelace",
                        .address_1 = "12 Analytical Row",
                        .city = "London",
                        .postcode = "n1 9gu",
                        .country = "gb",
                        .phone = "+44 20 7946 0000"};
  model::OrderLine l;
  l.sku = "widget-1";
  l.quantity_ordered = 2;
  l.subtotal = Eur(2500);
  l.total = Eur(2500);
  l.unit_price = Eur(1250);
  o.lines = {l};
  o.shipping_total = Eur(0);
  return o;
}

TEST(BcMappingTest, ExternalDocumentNumberIsUpperCasedCode35) {
  EXPECT_EQ(ExternalDocumentNumber("main:14").value(), "MAIN:14");
  EXPECT_TRUE(ExternalDocumentNumber(std::string(35, 'a')).ok());
  EXPECT_THAT(ExternalDocumentNumber(std::string(36, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ExternalDocumentNumber(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BcMappingTest, ODataStringDoublesQuotes) {
  EXPECT_EQ(ODataString("main:14"), "'main:14'");
  EXPECT_EQ(ODataString("o'brien@example.com"), "'o''brien@example.com'");
}

TEST(BcMappingTest, TruncateTextCountsCharactersNotBytes) {
  EXPECT_EQ(TruncateText("Zoë Ørsted", 3), "Zoë");
  EXPECT_EQ(TruncateText("ééé", 2), "éé");
  EXPECT_EQ(TruncateText("short", 30), "short");
}

TEST(BcMappingTest, DecimalFollowsTheCurrencyExponent) {
  EXPECT_EQ(Decimal(Eur(1250)).dump(), "12.5");
  EXPECT_EQ(Decimal(Eur(1999)).dump(), "19.99");
  EXPECT_EQ(Decimal(Eur(-100)).dump(), "-1.0");
  EXPECT_EQ(Decimal({500, "JPY"}).dump(), "500");
  EXPECT_EQ(Decimal({1234, "KWD"}).dump(), "1.234");
}

TEST(BcMappingTest, CustomerPayloadForAPersonAndACompany) {
  model::Customer c = SampleOrder().customer;
  c.billing.address_1 = std::string(120, 'x');
  KEELSON_ASSERT_OK_AND_ASSIGN(json p, CustomerPayload(c));
  EXPECT_EQ(p["displayName"], "Ada Lovelace");
  EXPECT_EQ(p["type"], "Person");
  EXPECT_EQ(p["email"], "ada@example.com");
  EXPECT_EQ(p["country"], "GB");
  EXPECT_EQ(p["postalCode"], "N1 9GU");
  EXPECT_EQ(p["addressLine1"].get<std::string>().size(), 100u);
  EXPECT_FALSE(p.contains("addressLine2"));

  c.billing.company = "Analytical Engines Ltd";
  KEELSON_ASSERT_OK_AND_ASSIGN(json q, CustomerPayload(c));
  EXPECT_EQ(q["displayName"], "Analytical Engines Ltd");
  EXPECT_EQ(q["type"], "Company");

  c.email = "";
  EXPECT_THAT(CustomerPayload(c), StatusIs(absl::StatusCode::kInvalidArgument));
  c.email = std::string(75, 'a') + "@x.com";
  EXPECT_THAT(CustomerPayload(c), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BcMappingTest, SalesOrderPayloadHeaderAndItemLines) {
  KEELSON_ASSERT_OK_AND_ASSIGN(
      json p, SalesOrderPayload(SampleOrder(), {.id = "cust-guid", .number = "C00010"}, {}));
  EXPECT_EQ(p["externalDocumentNumber"], "MAIN:42");
  EXPECT_EQ(p["customerId"], "cust-guid");
  EXPECT_EQ(p["currencyCode"], "EUR");
  EXPECT_EQ(p["orderDate"], "2026-01-01");
  EXPECT_EQ(p["email"], "ada@example.com");
  EXPECT_EQ(p["shipToName"], "Ada Lovelace");  // no shipping address: the billing one
  EXPECT_EQ(p["shipToCountry"], "GB");
  ASSERT_EQ(p["salesOrderLines"].size(), 1u);
  const json& line = p["salesOrderLines"][0];
  EXPECT_EQ(line["lineType"], "Item");
  EXPECT_EQ(line["lineObjectNumber"], "WIDGET-1");
  EXPECT_EQ(line["quantity"], 2);
  EXPECT_EQ(line["unitPrice"], 12.5);
  EXPECT_FALSE(line.contains("discountAmount"));
}

TEST(BcMappingTest, LocalCurrencyIsLeftBlank) {
  KEELSON_ASSERT_OK_AND_ASSIGN(json p,
                               SalesOrderPayload(SampleOrder(), {.id = "c"}, {.lcy_code = "eur"}));
  EXPECT_FALSE(p.contains("currencyCode"));
}

TEST(BcMappingTest, LinePricesAlwaysMultiplyOutToTheLineTotal) {
  model::Order o = SampleOrder();
  struct Case {
    int64_t qty, subtotal, total, unit, discount;
  };
  for (const Case& c :
       {Case{3, 1000, 1000, 334, 2}, Case{2, 2500, 2000, 1250, 500}, Case{7, 700, 0, 100, 700},
        Case{1, 999, 999, 999, 0}, Case{4, 1001, 1001, 251, 3}}) {
    o.lines[0].quantity_ordered = c.qty;
    o.lines[0].subtotal = Eur(c.subtotal);
    o.lines[0].total = Eur(c.total);
    KEELSON_ASSERT_OK_AND_ASSIGN(json p, SalesOrderPayload(o, {.id = "c"}, {}));
    const json& line = p["salesOrderLines"][0];
    EXPECT_EQ(line["unitPrice"], Decimal(Eur(c.unit))) << c.qty << " " << c.total;
    EXPECT_EQ(line.value("discountAmount", json(0.0)).get<double>(),
              Decimal(Eur(c.discount)).get<double>())
        << c.qty << " " << c.total;
  }
}

TEST(BcMappingTest, ShippingAndFeesNeedTheirAccounts) {
  model::Order o = SampleOrder();
  o.shipping = {{.method_title = "", .total = Eur(495)}};
  o.fees = {{.name = "Gift wrap", .total = Eur(150)}, {.name = "Zero", .total = Eur(0)}};
  KEELSON_ASSERT_OK_AND_ASSIGN(
      json p,
      SalesOrderPayload(o, {.id = "c"}, {.shipping_account = "6610", .fee_account = "6620"}));
  ASSERT_EQ(p["salesOrderLines"].size(), 3u);  // the zero fee is left out
  EXPECT_EQ(p["salesOrderLines"][1], json({{"lineType", "Account"},
                                           {"lineObjectNumber", "6610"},
                                           {"description", "Shipping"},
                                           {"quantity", 1},
                                           {"unitPrice", 4.95}}));
  EXPECT_EQ(p["salesOrderLines"][2]["description"], "Gift wrap");

  absl::StatusOr<json> missing = SalesOrderPayload(o, {.id = "c"}, {.shipping_account = "6610"});
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("fee"));
}

TEST(BcMappingTest, LinesBcCannotHoldAreUnknownSkus) {
  model::Order o = SampleOrder();
  o.lines[0].sku = "";
  EXPECT_THAT(SalesOrderPayload(o, {.id = "c"}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  o.lines[0].sku = std::string(21, 'A');
  absl::StatusOr<json> p = SalesOrderPayload(o, {.id = "c"}, {});
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("unknown SKU"));
  o.lines.clear();
  EXPECT_THAT(SalesOrderPayload(o, {.id = "c"}, {}), StatusIs(absl::StatusCode::kInvalidArgument));
}

json Lines(std::initializer_list<std::pair<double, double>> qty_shipped) {
  json lines = json::array();
  for (auto [q, s] : qty_shipped) {
    lines.push_back({{"lineType", "Item"}, {"quantity", q}, {"shippedQuantity", s}});
  }
  return lines;
}

TEST(BcMappingTest, OrderStateFromStatusAndLines) {
  EXPECT_EQ(OrderState({{"status", "Draft"}}), ErpOrderState::kOpen);
  EXPECT_EQ(OrderState({{"status", "In Review"}}), ErpOrderState::kOpen);
  EXPECT_EQ(OrderState({{"status", "Open"}}), ErpOrderState::kConfirmed);  // released
  EXPECT_EQ(OrderState({{"status", "Released"}}), ErpOrderState::kConfirmed);
  EXPECT_EQ(OrderState({{"status", "Draft"}, {"salesOrderLines", Lines({{2, 0}, {1, 0}})}}),
            ErpOrderState::kOpen);
  EXPECT_EQ(OrderState({{"status", "Draft"}, {"salesOrderLines", Lines({{0, 0}, {0, 0}})}}),
            ErpOrderState::kCancelled);
  EXPECT_EQ(OrderState({{"status", "Open"}, {"salesOrderLines", Lines({{2, 2}, {1, 1}})}}),
            ErpOrderState::kDone);
  EXPECT_EQ(OrderState({{"status", "Open"}, {"salesOrderLines", Lines({{2, 1}, {1, 0}})}}),
            ErpOrderState::kConfirmed);
  json comment_only = {{"status", "Draft"},
                       {"salesOrderLines", {{{"lineType", "Comment"}, {"quantity", 0}}}}};
  EXPECT_EQ(OrderState(comment_only), ErpOrderState::kOpen);
  EXPECT_EQ(OrderState({{"status", 7}, {"salesOrderLines", "junk"}}), ErpOrderState::kOpen);
}

TEST(BcMappingTest, OrderRefFromTheDocumentedShape) {
  // Field names and values as in Microsoft's "Get salesOrders" (API v2.0) example.
  json doc = {{"id", "b6f4017a-b749-ee11-ad0b-a1422c0f7f1f"},
              {"number", "101005"},
              {"externalDocumentNumber", ""},
              {"orderDate", "2015-12-31"},
              {"customerNumber", "10000"},
              {"currencyCode", "GBP"}};
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef ref, OrderRefFromJson(doc));
  EXPECT_EQ(ref.id, "b6f4017a-b749-ee11-ad0b-a1422c0f7f1f");
  EXPECT_EQ(ref.number, "101005");
  EXPECT_EQ(ref.state, ErpOrderState::kOpen);
  EXPECT_THAT(OrderRefFromJson(json::object()), StatusIs(absl::StatusCode::kInternal));
  EXPECT_TRUE(IsGuid(ref.id));
  EXPECT_FALSE(IsGuid("999999"));
  EXPECT_FALSE(IsGuid("b6f4017a-b749-ee11-ad0b-a1422c0f7f1g"));
}

}  // namespace
}  // namespace keelson::connectors::business_central
