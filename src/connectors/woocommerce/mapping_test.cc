#include "connectors/woocommerce/mapping.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/time/time.h"
#include "core/strings.h"
#include "tests/support/http_client.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::woocommerce {
namespace {

using model::Money;
using model::Order;
using model::OrderStatus;
using nlohmann::json;

json Testdata(const std::string& name) {
  return json::parse(keelson::testing::ReadFile(std::string(KEELSON_SOURCE_DIR) +
                                                "/testdata/woocommerce/" + name));
}

Money Eur(int64_t minor) { return Money{minor, "EUR"}; }

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

std::string Message(const absl::Status& s) { return std::string(core::StdSv(s.message())); }

// testdata/woocommerce/order.created.body.json: recorded from WooCommerce 7.8.0.
TEST(WooMappingTest, MapsRealOrderCreatedBody) {
  KEELSON_ASSERT_OK_AND_ASSIGN(Order o, MapOrder("main", Testdata("order.created.body.json")));
  EXPECT_EQ(o.store_id, "main");
  EXPECT_EQ(o.order_id, 14);
  EXPECT_EQ(o.Reference(), "main:14");
  EXPECT_EQ(o.number, "14");
  EXPECT_EQ(o.currency, "EUR");
  EXPECT_EQ(o.status, OrderStatus::kProcessing);
  EXPECT_EQ(o.date_created_gmt, Utc(2026, 11, 22, 7, 31, 23));
  EXPECT_EQ(o.date_modified_gmt, Utc(2026, 11, 22, 7, 31, 23));

  EXPECT_EQ(o.customer.external_id, 0);  // guest
  EXPECT_EQ(o.customer.email, "erika@example.com");
  EXPECT_EQ(o.customer.billing.first_name, "Erika");
  EXPECT_EQ(o.customer.billing.last_name, "Mustermann");
  EXPECT_EQ(o.customer.billing.address_1, "Hauptstr. 5");
  EXPECT_EQ(o.customer.billing.city, "Berlin");
  EXPECT_EQ(o.customer.billing.postcode, "10115");
  EXPECT_EQ(o.customer.billing.country, "DE");
  EXPECT_EQ(o.customer.billing.phone, "+49301234567");
  EXPECT_EQ(o.customer.shipping.address_1, "Hauptstr. 5");
  EXPECT_EQ(o.customer.shipping.email, "");

  ASSERT_EQ(o.lines.size(), 2u);
  EXPECT_EQ(o.lines[0].line_id, 1);
  EXPECT_EQ(o.lines[0].sku, "WID-BLUE");
  EXPECT_EQ(o.lines[0].name, "Widget Blue");
  EXPECT_EQ(o.lines[0].product_id, 10);
  EXPECT_EQ(o.lines[0].variation_id, 0);
  EXPECT_EQ(o.lines[0].quantity_ordered, 2);
  EXPECT_EQ(o.lines[0].quantity_shipped, 0);
  EXPECT_EQ(o.lines[0].unit_price, Eur(1999));  // "price":19.99
  EXPECT_EQ(o.lines[0].subtotal, Eur(3998));
  EXPECT_EQ(o.lines[0].total, Eur(3998));
  EXPECT_EQ(o.lines[0].total_tax, Eur(0));
  EXPECT_EQ(o.lines[1].line_id, 2);
  EXPECT_EQ(o.lines[1].sku, "TSHIRT-S");
  EXPECT_EQ(o.lines[1].name, "T-Shirt - S");
  EXPECT_EQ(o.lines[1].product_id, 11);
  EXPECT_EQ(o.lines[1].variation_id, 12);
  EXPECT_EQ(o.lines[1].quantity_ordered, 1);
  EXPECT_EQ(o.lines[1].unit_price, Eur(1500));  // "price":15 (a JSON integer)
  EXPECT_EQ(o.lines[1].subtotal, Eur(1500));
  EXPECT_EQ(o.lines[1].total, Eur(1500));

  ASSERT_EQ(o.shipping.size(), 1u);
  EXPECT_EQ(o.shipping[0].method_id, "flat_rate");
  EXPECT_EQ(o.shipping[0].method_title, "Flat Rate");
  EXPECT_EQ(o.shipping[0].total, Eur(490));
  EXPECT_EQ(o.shipping[0].total_tax, Eur(0));
  ASSERT_EQ(o.fees.size(), 1u);
  EXPECT_EQ(o.fees[0].name, "Gift wrap");
  EXPECT_EQ(o.fees[0].total, Eur(200));
  EXPECT_TRUE(o.coupons.empty());

  EXPECT_EQ(o.discount_total, Eur(0));
  EXPECT_EQ(o.shipping_total, Eur(490));
  EXPECT_EQ(o.total_tax, Eur(0));
  EXPECT_EQ(o.total, Eur(6188));
  EXPECT_EQ(o.refunds_total, Eur(0));
  // Lines + shipping + fees add up to the total in this payload.
  EXPECT_EQ(o.lines[0].total.minor + o.lines[1].total.minor + o.shipping[0].total.minor +
                o.fees[0].total.minor,
            o.total.minor);

  EXPECT_TRUE(o.payment.paid);
  EXPECT_EQ(o.payment.method, "bacs");
  EXPECT_EQ(o.payment.transaction_id, "");
  EXPECT_EQ(o.customer_note, "");
}

TEST(WooMappingTest, MapsPeerOrder) {
  KEELSON_ASSERT_OK_AND_ASSIGN(Order o, MapOrder("outlet", Testdata("peer-order.json")));
  EXPECT_EQ(o.Reference(), "outlet:72841");
  EXPECT_EQ(o.number, "72841");
  EXPECT_EQ(o.status, OrderStatus::kProcessing);
  EXPECT_EQ(o.currency, "EUR");
  EXPECT_EQ(o.date_created_gmt, Utc(2026, 11, 22, 8, 14, 7));
  EXPECT_EQ(o.date_modified_gmt, Utc(2026, 11, 22, 8, 14, 9));
  EXPECT_EQ(o.customer.external_id, 1187);
  EXPECT_EQ(o.customer.email, "j.mueller@bergwerk.example");
  EXPECT_EQ(o.customer.billing.first_name, "J\u00fcrgen");
  EXPECT_EQ(o.customer.billing.company, "Bergwerk GmbH");
  EXPECT_EQ(o.customer.billing.address_2, "Hinterhaus, 2. OG");
  EXPECT_EQ(o.customer.billing.city, "M\u00fcnchen");
  EXPECT_EQ(o.customer.billing.state, "BY");
  EXPECT_EQ(o.customer.shipping.address_1, "Lieferweg 5");
  EXPECT_EQ(o.customer.shipping.city, "Garching");
  EXPECT_EQ(o.customer.shipping.postcode, "85748");

  ASSERT_EQ(o.lines.size(), 3u);
  EXPECT_EQ(o.lines[0].line_id, 311);
  EXPECT_EQ(o.lines[0].sku, "HOOD-MER-CHA-L");
  EXPECT_EQ(o.lines[0].product_id, 93);
  EXPECT_EQ(o.lines[0].variation_id, 112);
  EXPECT_EQ(o.lines[0].quantity_ordered, 2);
  EXPECT_EQ(o.lines[0].unit_price, Eur(5310));  // 53.1
  EXPECT_EQ(o.lines[0].subtotal, Eur(11800));
  EXPECT_EQ(o.lines[0].total, Eur(10620));
  EXPECT_EQ(o.lines[0].total_tax, Eur(2018));
  EXPECT_EQ(o.lines[1].line_id, 312);
  EXPECT_EQ(o.lines[1].sku, "TEE-ORG-3PK");
  EXPECT_EQ(o.lines[1].quantity_ordered, 1);
  EXPECT_EQ(o.lines[1].unit_price, Eur(3591));
  EXPECT_EQ(o.lines[1].subtotal, Eur(3990));
  EXPECT_EQ(o.lines[1].total, Eur(3591));
  EXPECT_EQ(o.lines[1].total_tax, Eur(682));
  EXPECT_EQ(o.lines[2].line_id, 313);
  EXPECT_EQ(o.lines[2].sku, "SOCK-TRL-W-2P");
  EXPECT_EQ(o.lines[2].name, "Trail Socks \u00e9dition Hiver - 2 pairs");
  EXPECT_EQ(o.lines[2].quantity_ordered, 3);
  EXPECT_EQ(o.lines[2].unit_price, Eur(1346));  // 13.456667, rounded half-even
  EXPECT_EQ(o.lines[2].subtotal, Eur(4485));
  EXPECT_EQ(o.lines[2].total, Eur(4037));
  EXPECT_EQ(o.lines[2].total_tax, Eur(283));

  ASSERT_EQ(o.shipping.size(), 1u);
  EXPECT_EQ(o.shipping[0].method_id, "flat_rate");
  EXPECT_EQ(o.shipping[0].method_title, "DHL Paket");
  EXPECT_EQ(o.shipping[0].total, Eur(490));
  EXPECT_EQ(o.shipping[0].total_tax, Eur(93));
  EXPECT_TRUE(o.fees.empty());
  ASSERT_EQ(o.coupons.size(), 1u);
  EXPECT_EQ(o.coupons[0].code, "winter10");
  EXPECT_EQ(o.coupons[0].discount, Eur(2027));

  EXPECT_EQ(o.discount_total, Eur(2027));
  EXPECT_EQ(o.shipping_total, Eur(490));
  EXPECT_EQ(o.total_tax, Eur(3076));
  EXPECT_EQ(o.total, Eur(21731));
  EXPECT_EQ(o.refunds_total, Eur(0));

  EXPECT_TRUE(o.payment.paid);
  EXPECT_EQ(o.payment.method, "stripe");
  EXPECT_EQ(o.payment.transaction_id, "pi_3QaZ8sL2e1xYv0Nk1Hb7cD4F");
  EXPECT_EQ(o.customer_note, "Bitte beim Nachbarn abgeben, falls niemand da ist.");
}

TEST(WooMappingTest, SumsRefundsAndReadsUnpaidOrders) {
  json p = Testdata("order.created.body.json");
  p["refunds"] = json::parse(R"([{"id":20,"reason":"","total":"-5.00"},
                                 {"id":21,"reason":"damaged","total":"-1.50"}])");
  p["date_paid_gmt"] = nullptr;
  p["status"] = "on-hold";
  KEELSON_ASSERT_OK_AND_ASSIGN(Order o, MapOrder("main", p));
  EXPECT_EQ(o.refunds_total, Eur(-650));
  EXPECT_FALSE(o.payment.paid);
  EXPECT_EQ(o.status, OrderStatus::kOnHold);
}

struct ErrorCase {
  const char* name;
  void (*mutate)(json&);
  const char* message;
};

TEST(WooMappingTest, RejectsBadPayloadsNamingTheField) {
  const ErrorCase cases[] = {
      {"missing line_items", [](json& p) { p.erase("line_items"); }, "line_items: is required"},
      {"line_items not array", [](json& p) { p["line_items"] = "x"; },
       "line_items: must be an array"},
      {"zero quantity", [](json& p) { p["line_items"][1]["quantity"] = 0; },
       "line_items[1].quantity: must be a positive integer"},
      {"fractional quantity", [](json& p) { p["line_items"][1]["quantity"] = 1.5; },
       "line_items[1].quantity: must be a positive integer"},
      {"string quantity", [](json& p) { p["line_items"][0]["quantity"] = "2"; },
       "line_items[0].quantity: must be a positive integer"},
      {"unknown status", [](json& p) { p["status"] = "shipped"; },
       "status: unknown order status \"shipped\""},
      {"status not string", [](json& p) { p["status"] = 1; }, "status: must be a string"},
      {"missing id", [](json& p) { p.erase("id"); }, "id: must be a positive integer"},
      {"string id", [](json& p) { p["id"] = "14"; }, "id: must be a positive integer"},
      {"missing currency", [](json& p) { p.erase("currency"); }, "currency: is required"},
      {"missing total", [](json& p) { p.erase("total"); }, "total: is required"},
      {"numeric total", [](json& p) { p["total"] = 61.88; }, "total: must be a decimal string"},
      {"too precise total", [](json& p) { p["total"] = "61.885"; }, "total: \"61.885\""},
      {"missing modified", [](json& p) { p.erase("date_modified_gmt"); },
       "date_modified_gmt: is required"},
      {"bad modified", [](json& p) { p["date_modified_gmt"] = "22.11.2026"; },
       "date_modified_gmt: not a WooCommerce GMT time"},
      {"bad line total", [](json& p) { p["line_items"][0]["total"] = "abc"; },
       "line_items[0].total: \"abc\""},
      {"bad price", [](json& p) { p["line_items"][0]["price"] = "19.99"; },
       "line_items[0].price: string: must be a JSON number"},
      {"bad shipping total", [](json& p) { p["shipping_lines"][0]["total"] = 4.9; },
       "shipping_lines[0].total: must be a decimal string"},
      {"billing not object", [](json& p) { p["billing"] = "x"; }, "billing: must be an object"},
      {"bad billing city", [](json& p) { p["billing"]["city"] = 5; },
       "billing.city: must be a string"},
  };
  for (const ErrorCase& c : cases) {
    json p = Testdata("order.created.body.json");
    c.mutate(p);
    absl::StatusOr<Order> o = MapOrder("main", p);
    ASSERT_FALSE(o.ok()) << c.name;
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(Message(o.status()).rfind(c.message, 0), 0u)
        << c.name << ": got \"" << Message(o.status()) << "\"";
  }
  EXPECT_EQ(MapOrder("main", json::array()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WooMappingTest, HugeAmountIsOutOfRange) {
  json p = Testdata("order.created.body.json");
  p["total"] = "99999999999999999999.00";
  absl::StatusOr<Order> o = MapOrder("main", p);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Message(o.status()).rfind("total: ", 0), 0u) << o.status();
}

TEST(WooMappingTest, RecognisesDeletedStub) {
  EXPECT_TRUE(IsDeletedStub(Testdata("order.deleted.body.json")));
  EXPECT_TRUE(IsDeletedStub(json::parse(R"({"id":72841})")));
  EXPECT_FALSE(IsDeletedStub(Testdata("order.created.body.json")));
  EXPECT_FALSE(IsDeletedStub(json::parse(R"({"id":"14"})")));
  EXPECT_FALSE(IsDeletedStub(json::parse(R"({"id":0})")));
  EXPECT_FALSE(IsDeletedStub(json::parse(R"({"id":14,"status":"trash"})")));
  EXPECT_FALSE(IsDeletedStub(json::parse(R"([14])")));
  // The stub is not an order.
  EXPECT_EQ(MapOrder("main", Testdata("order.deleted.body.json")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace keelson::connectors::woocommerce
