#include "connectors/woocommerce/rest_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "connectors/woocommerce/oauth1.h"
#include "core/clock.h"
#include "core/strings.h"
#include "jobs/retry_policy.h"
#include "net/signature.h"
#include "sim/woocommerce.h"
#include "tests/support/http_client.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::woocommerce {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Testdata(const std::string& name) {
  return keelson::testing::ReadFile(std::string(KEELSON_SOURCE_DIR) + "/testdata/woocommerce/" +
                                    name);
}

// Records requests and answers with a scripted response (or a transport error).
class FakeHttp final : public net::HttpClient {
 public:
  absl::StatusOr<net::OutboundResponse> Send(const net::OutboundRequest& request) override {
    requests.push_back(request);
    if (timeout_naming_url) {
      // As the curl client does: the error names the full URL it sent.
      return absl::DeadlineExceededError(
          absl::StrCat(request.method, " ", request.url, ": Timeout was reached"));
    }
    if (!transport_error.ok()) return transport_error;
    return response;
  }
  std::vector<net::OutboundRequest> requests;
  net::OutboundResponse response{.status = 200, .body = "{}"};
  absl::Status transport_error;
  bool timeout_naming_url = false;
};

std::string HeaderOf(const net::OutboundRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (absl::EqualsIgnoreCase(k, core::AbslSv(name))) return v;
  }
  return "";
}

// Splits "base?k=v&..." into the base and its decoded parameters.
std::pair<std::string, std::map<std::string, std::string>> SplitUrl(const std::string& url) {
  std::map<std::string, std::string> params;
  size_t q = url.find('?');
  if (q == std::string::npos) return {url, params};
  for (absl::string_view kv : absl::StrSplit(url.substr(q + 1), '&')) {
    size_t eq = kv.find('=');
    auto decode = [](absl::string_view s) {
      std::string out;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
          out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
          i += 2;
        } else {
          out.push_back(s[i]);
        }
      }
      return out;
    };
    params[decode(kv.substr(0, eq))] = decode(kv.substr(eq + 1));
  }
  return {url.substr(0, q), params};
}

// ---------------------------------------------------------------------------------------------
// OAuth 1.0a signing against a request WooCommerce 7.8.0 accepted.

TEST(WooOAuth1Test, ReproducesTheBaseStringAndSignatureWooCommerceAccepted) {
  const nlohmann::json v = nlohmann::json::parse(Testdata("oauth1.get-orders.vector.json"));
  QueryParams params = {{"per_page", v["query"]["per_page"]}};
  for (const char* k :
       {"oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature_method"}) {
    params.emplace_back(k, v["oauth_params"][k].get<std::string>());
  }
  const std::string base = OAuthBaseString("GET", v["url"].get<std::string>(), params);
  EXPECT_EQ(base, v["signature_base_string"].get<std::string>());
  EXPECT_EQ(
      OAuthSign(OAuthSignatureMethod::kHmacSha256, v["consumer_secret"].get<std::string>(), base),
      v["oauth_params"]["oauth_signature"].get<std::string>());
}

TEST(WooOAuth1Test, AddOAuthParamsSignsTheRequestParametersToo) {
  const nlohmann::json v = nlohmann::json::parse(Testdata("oauth1.get-orders.vector.json"));
  QueryParams params = {{"per_page", "1"}};
  AddOAuthParams("GET", v["url"].get<std::string>(),
                 v["oauth_params"]["oauth_consumer_key"].get<std::string>(),
                 v["consumer_secret"].get<std::string>(), OAuthSignatureMethod::kHmacSha256,
                 1795332828, "75902757c84c183601807d8f7ab1e435", params);
  ASSERT_EQ(params.size(), 6u);
  EXPECT_EQ(params.back().first, "oauth_signature");
  EXPECT_EQ(params.back().second, v["oauth_params"]["oauth_signature"].get<std::string>());
}

TEST(WooOAuth1Test, EncodesReservedCharactersTwiceInTheBaseString) {
  // RFC 5849 3.4.1.3.2: values are encoded, then the whole parameter string again.
  EXPECT_EQ(OAuthBaseString("get", "http://s.example/wp-json/wc/v3/orders",
                            {{"modified_after", "2026-01-01T10:00:00"}, {"a b", "c+d"}}),
            "GET&http%3A%2F%2Fs.example%2Fwp-json%2Fwc%2Fv3%2Forders&"
            "a%2520b%3Dc%252Bd%26modified_after%3D2026-01-01T10%253A00%253A00");
}

TEST(WooOAuth1Test, SignatureMethodsAndNonces) {
  EXPECT_EQ(*ParseOAuthSignatureMethod("HMAC-SHA1"), OAuthSignatureMethod::kHmacSha1);
  EXPECT_THAT(ParseOAuthSignatureMethod("PLAINTEXT"), StatusIs(absl::StatusCode::kInvalidArgument));
  // HMAC-SHA1 is 20 bytes: 28 base64 characters.
  EXPECT_EQ(OAuthSign(OAuthSignatureMethod::kHmacSha1, "cs", "GET&x&y").size(), 28u);
  const std::string a = NewOAuthNonce(), b = NewOAuthNonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

// ---------------------------------------------------------------------------------------------
// Error classification.

net::OutboundResponse Answer(int status, std::string body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {.status = status, .body = std::move(body), .headers = std::move(headers)};
}

TEST(WooClassifyResponseTest, MapsEveryClassOfAnswer) {
  EXPECT_TRUE(ClassifyResponse(Answer(200, "{}"), "GET /orders/1").ok());
  EXPECT_TRUE(ClassifyResponse(Answer(201, "{}"), "POST /orders/1/notes").ok());

  absl::Status s =
      ClassifyResponse(Answer(401, Testdata("error.401.no-auth.response.json")), "GET /orders");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(s.message(),
            "GET /orders: HTTP 401 woocommerce_rest_cannot_view: Sorry, you cannot list "
            "resources.");

  s = ClassifyResponse(Answer(404, Testdata("error.404.order.response.json")), "GET /orders/9");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(s.message()), HasSubstr("woocommerce_rest_shop_order_invalid_id"));

  s = ClassifyResponse(Answer(400, Testdata("error.400.invalid-param.response.json")), "PUT x");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(s.message()), HasSubstr("rest_invalid_param: Invalid parameter(s)"));

  EXPECT_THAT(
      ClassifyResponse(Answer(413, Testdata("error.413.batch-too-large.response.json")), "POST x"),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ClassifyResponse(Answer(403, R"({"code":"rest_forbidden","message":"No."})"), "x"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(ClassifyResponse(Answer(409, "{}"), "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ClassifyResponse(Answer(408, ""), "x"), StatusIs(absl::StatusCode::kUnavailable));
  for (int code : {500, 502, 503, 504}) {
    EXPECT_THAT(ClassifyResponse(Answer(code, "<html>Bad gateway</html>"), "x"),
                StatusIs(absl::StatusCode::kUnavailable))
        << code;
  }
  s = ClassifyResponse(Answer(301, "", {{"location", "https://shop.example/wp-json/?k=ck_x"}}),
                       "GET /orders");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), HasSubstr("redirect to https://shop.example/wp-json/"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("ck_x")));
}

TEST(WooClassifyResponseTest, TooManyRequestsCarriesRetryAfter) {
  absl::Status s = ClassifyResponse(Answer(429, "", {{"retry-after", "7"}}), "GET /orders");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_TRUE(jobs::RetryAfterOf(s).has_value());
  EXPECT_EQ(*jobs::RetryAfterOf(s), absl::Seconds(7));

  s = ClassifyResponse(Answer(429, ""), "GET /orders");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(jobs::RetryAfterOf(s).has_value());
}

// ---------------------------------------------------------------------------------------------
// Requests on the wire (fake transport).

class WooRestClientWireTest : public ::testing::Test {
 protected:
  std::unique_ptr<RestClient> Client(std::string url) {
    return NewRestClient({.store_url = std::move(url),
                          .consumer_key = "ck_live",
                          .consumer_secret = "cs_secret",
                          .timeout = absl::Seconds(9),
                          .clock = &clock_},
                         http_);
  }
  core::FakeClock clock_{absl::FromUnixSeconds(1795332828)};
  FakeHttp http_;
};

TEST_F(WooRestClientWireTest, HttpsUsesBasicAuthAndNoQueryCredentials) {
  http_.response = Answer(200, Testdata("order.created.body.json"));
  auto client = Client("https://shop.example.com/");
  KEELSON_ASSERT_OK_AND_ASSIGN(nlohmann::json order, client->GetOrder(14));
  EXPECT_EQ(order["id"], 14);
  ASSERT_EQ(http_.requests.size(), 1u);
  const net::OutboundRequest& r = http_.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://shop.example.com/wp-json/wc/v3/orders/14");
  EXPECT_EQ(HeaderOf(r, "Authorization"), "Basic " + net::Base64Encode("ck_live:cs_secret"));
  EXPECT_EQ(r.timeout, absl::Seconds(9));
}

TEST_F(WooRestClientWireTest, HttpSignsTheQueryWithOAuthAndSendsNoSecret) {
  http_.response = Answer(200, "[]", {{"x-wp-total", "0"}, {"x-wp-totalpages", "0"}});
  auto client = Client("http://127.0.0.1:8081");
  KEELSON_ASSERT_OK_AND_ASSIGN(
      OrdersPage page, client->ListOrders({.modified_after = absl::FromUnixSeconds(1795332000) +
                                                             absl::Milliseconds(900),
                                           .page = 2,
                                           .per_page = 50}));
  EXPECT_TRUE(page.orders.empty());
  ASSERT_EQ(http_.requests.size(), 1u);
  const net::OutboundRequest& r = http_.requests[0];
  EXPECT_EQ(HeaderOf(r, "Authorization"), "");
  EXPECT_THAT(r.url, Not(HasSubstr("cs_secret")));
  auto [base, params] = SplitUrl(r.url);
  EXPECT_EQ(base, "http://127.0.0.1:8081/wp-json/wc/v3/orders");
  EXPECT_EQ(params["modified_after"], "2026-11-22T07:20:00");  // whole seconds, UTC
  EXPECT_EQ(params["dates_are_gmt"], "true");
  EXPECT_EQ(params["orderby"], "modified");
  EXPECT_EQ(params["order"], "asc");
  EXPECT_EQ(params["page"], "2");
  EXPECT_EQ(params["per_page"], "50");
  EXPECT_EQ(params["oauth_consumer_key"], "ck_live");
  EXPECT_EQ(params["oauth_signature_method"], "HMAC-SHA256");
  EXPECT_EQ(params["oauth_timestamp"], "1795332828");
  EXPECT_EQ(params["oauth_nonce"].size(), 32u);
  // The signature covers every other parameter.
  const std::string signature = params["oauth_signature"];
  params.erase("oauth_signature");
  QueryParams signed_params(params.begin(), params.end());
  EXPECT_EQ(signature, OAuthSign(OAuthSignatureMethod::kHmacSha256, "cs_secret",
                                 OAuthBaseString("GET", base, signed_params)));
}

TEST_F(WooRestClientWireTest, ListOrdersReadsThePaginationHeaders) {
  http_.response = Answer(200, "[" + Testdata("order.created.body.json") + "]",
                          {{"x-wp-total", "201"}, {"x-wp-totalpages", "3"}});
  auto client = Client("https://shop.example.com");
  KEELSON_ASSERT_OK_AND_ASSIGN(OrdersPage page, client->ListOrders({}));
  ASSERT_EQ(page.orders.size(), 1u);
  EXPECT_EQ(page.orders[0]["number"], "14");
  EXPECT_EQ(page.total, 201);
  EXPECT_EQ(page.total_pages, 3);
  auto [base, params] = SplitUrl(http_.requests[0].url);
  EXPECT_FALSE(params.contains("modified_after"));  // InfinitePast: no lower bound
  EXPECT_EQ(params["per_page"], "100");
}

TEST_F(WooRestClientWireTest, MissingPaginationHeadersAssumeMoreAfterAFullPage) {
  auto client = Client("https://shop.example.com");
  http_.response = Answer(200, "[{\"id\":1},{\"id\":2}]");
  KEELSON_ASSERT_OK_AND_ASSIGN(OrdersPage page, client->ListOrders({.page = 3, .per_page = 2}));
  EXPECT_EQ(page.total_pages, 4);
  EXPECT_EQ(page.total, 7);
  http_.response = Answer(200, "[{\"id\":1}]");
  KEELSON_ASSERT_OK_AND_ASSIGN(page, client->ListOrders({.page = 3, .per_page = 2}));
  EXPECT_EQ(page.total_pages, 3);
  EXPECT_EQ(page.total, 5);
}

TEST_F(WooRestClientWireTest, AddOrderNotePostsTheNoteAndReturnsItsId) {
  http_.response = Answer(201, Testdata("order-note.create.response.json"));
  auto client = Client("https://shop.example.com");
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id,
                               client->AddOrderNote(14, "ERP order S-1 / \"A\"", false));
  EXPECT_EQ(id, 5);
  const net::OutboundRequest& r = http_.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://shop.example.com/wp-json/wc/v3/orders/14/notes");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json({{"note", "ERP order S-1 / \"A\""}, {"customer_note", false}}));
}

TEST_F(WooRestClientWireTest, UpdateOrderPutsOnlyTheFieldsSet) {
  http_.response = Answer(200, Testdata("order.created.body.json"));
  auto client = Client("https://shop.example.com");
  KEELSON_ASSERT_OK(client->UpdateOrder(
      14, {.status = "completed", .meta_data = {{"_keelson_erp_ref", "S-ORD101001"}}}));
  KEELSON_ASSERT_OK(client->UpdateOrder(14, {.meta_data = {{"a", "b"}}}));
  KEELSON_ASSERT_OK(client->UpdateOrder(14, {}));  // nothing to send: no request
  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.requests[0].method, "PUT");
  EXPECT_EQ(http_.requests[0].url, "https://shop.example.com/wp-json/wc/v3/orders/14");
  EXPECT_EQ(nlohmann::json::parse(http_.requests[0].body),
            nlohmann::json::parse(R"({"status":"completed","meta_data":[)"
                                  R"({"key":"_keelson_erp_ref","value":"S-ORD101001"}]})"));
  EXPECT_EQ(nlohmann::json::parse(http_.requests[1].body),
            nlohmann::json::parse(R"({"meta_data":[{"key":"a","value":"b"}]})"));
}

TEST_F(WooRestClientWireTest, ErrorsAreClassifiedAndNeverNameTheCredentials) {
  auto client = Client("http://127.0.0.1:8081");
  http_.response = Answer(404, Testdata("error.404.order.response.json"));
  EXPECT_THAT(client->GetOrder(99), StatusIs(absl::StatusCode::kNotFound));

  http_.response = Answer(200, "<html>maintenance</html>");
  EXPECT_THAT(client->GetOrder(99), StatusIs(absl::StatusCode::kInternal));

  http_.timeout_naming_url = true;
  absl::Status s = client->GetOrder(99).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(std::string(s.message()), HasSubstr("GET /orders/99"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("Timeout was reached"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("ck_live")));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("oauth_signature")));
}

TEST_F(WooRestClientWireTest, RejectsBadArgumentsWithoutARequest) {
  EXPECT_THAT(Client("ftp://shop.example.com")->GetOrder(1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto client = Client("https://shop.example.com");
  EXPECT_THAT(client->ListOrders({.per_page = 101}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client->ListOrders({.page = 0}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(WooRestClientWireTest, ReadsTheRecordedBatchAnswers) {
  auto client = Client("https://shop.example.com");
  http_.response = Answer(200, Testdata("products.batch.stock-update.response.json"));
  const StockUpdate product[] = {{.id = 10, .stock_quantity = 42}};
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<BatchItemResult> r,
                               client->BatchUpdateProducts(product));
  ASSERT_EQ(r.size(), 1u);
  KEELSON_EXPECT_OK(r[0].status);
  EXPECT_EQ(r[0].stock.id, 10);
  EXPECT_EQ(r[0].stock.type, "simple");
  EXPECT_EQ(r[0].stock.sku, "WID-BLUE");
  EXPECT_EQ(r[0].stock.manage_stock, "true");
  EXPECT_EQ(r[0].stock.stock_quantity, 42);
  EXPECT_EQ(r[0].stock.stock_status, "instock");
  EXPECT_EQ(http_.requests[0].method, "POST");
  EXPECT_EQ(http_.requests[0].url, "https://shop.example.com/wp-json/wc/v3/products/batch");
  EXPECT_EQ(http_.requests[0].body, R"({"update":[{"id":10,"stock_quantity":42}]})");

  http_.response = Answer(200, Testdata("product-variations.batch.stock-update.response.json"));
  const StockUpdate variation[] = {{.id = 13, .stock_quantity = 3, .stock_status = "instock"}};
  KEELSON_ASSERT_OK_AND_ASSIGN(r, client->BatchUpdateVariations(11, variation));
  KEELSON_EXPECT_OK(r[0].status);
  EXPECT_EQ(r[0].stock.type, "variation");
  EXPECT_EQ(r[0].stock.parent_id, 11);
  EXPECT_EQ(r[0].stock.sku, "TSHIRT-M");
  EXPECT_EQ(r[0].stock.backorders, "notify");
  EXPECT_EQ(http_.requests[1].url,
            "https://shop.example.com/wp-json/wc/v3/products/11/variations/batch");
  EXPECT_EQ(http_.requests[1].body,
            R"({"update":[{"id":13,"stock_quantity":3,"stock_status":"instock"}]})");

  // An answer for another id than sent is not taken for the one sent.
  const StockUpdate other[] = {{.id = 12, .stock_quantity = 3}};
  KEELSON_ASSERT_OK_AND_ASSIGN(r, client->BatchUpdateVariations(11, other));
  EXPECT_THAT(r[0].status, StatusIs(absl::StatusCode::kInternal));

  http_.response = Answer(413, Testdata("error.413.batch-too-large.response.json"));
  absl::Status s = client->BatchUpdateProducts(product).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("HTTP 413 woocommerce_rest_request_entity_too_large"));

  std::vector<StockUpdate> too_many(101, StockUpdate{.id = 10, .stock_quantity = 1});
  const size_t sent = http_.requests.size();
  EXPECT_THAT(client->BatchUpdateProducts(too_many), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client->ListProducts({.per_page = 101}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(http_.requests.size(), sent);
}

TEST_F(WooRestClientWireTest, ListProductsAsksForTheStockFieldsOnly) {
  http_.response = Answer(200, Testdata("product-variations.list.response.json"));
  auto client = Client("https://shop.example.com");
  KEELSON_ASSERT_OK_AND_ASSIGN(ProductsPage page, client->ListVariations(11, 2, 50));
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].id, 13);
  EXPECT_EQ(page.items[0].parent_id, 11);
  EXPECT_EQ(page.items[1].stock_quantity, 4);
  auto [base, params] = SplitUrl(http_.requests[0].url);
  EXPECT_EQ(base, "https://shop.example.com/wp-json/wc/v3/products/11/variations");
  EXPECT_EQ(params["_fields"],
            "id,parent_id,type,sku,manage_stock,stock_quantity,stock_status,backorders,variations");
  EXPECT_EQ(params["page"], "2");
  EXPECT_EQ(params["per_page"], "50");

  http_.response = Answer(200, "[]");
  KEELSON_ASSERT_OK(client->ListProducts({.skus = {"A-1", "B 2"}, .type = "simple"}).status());
  std::tie(base, params) = SplitUrl(http_.requests[1].url);
  EXPECT_EQ(base, "https://shop.example.com/wp-json/wc/v3/products");
  EXPECT_EQ(params["sku"], "A-1,B 2");
  EXPECT_EQ(params["type"], "simple");
  EXPECT_EQ(params["per_page"], "100");
}

TEST(WooClassifyResponseTest, BatchItemErrorsMapLikeAnswers) {
  EXPECT_THAT(ClassifyItemError(400, "woocommerce_rest_product_invalid_id", "Invalid ID.", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ClassifyItemError(404, "woocommerce_rest_invalid_product_id", "…", "x"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ClassifyItemError(500, "db_error", "…", "x"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ClassifyItemError(0, "odd", "…", "x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(
      ClassifyItemError(400, "product_invalid_sku", "Invalid or duplicated SKU.",
                        "POST /products/batch item 7")
          .message(),
      "POST /products/batch item 7: HTTP 400 product_invalid_sku: Invalid or duplicated SKU.");
}

// ---------------------------------------------------------------------------------------------
// Against the simulator over real HTTP (OAuth 1.0a verified by the simulator's own code).

class WooRestClientSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<sim::WooCommerceSim>(sim::WooCommerceSim::Options{
        .consumer_key = "ck_sim", .consumer_secret = "cs_sim", .clock = &clock_});
    KEELSON_ASSERT_OK(sim_->Start());
    http_ = net::NewCurlHttpClient();
  }
  std::unique_ptr<RestClient> Client(
      std::string secret = "cs_sim",
      OAuthSignatureMethod method = OAuthSignatureMethod::kHmacSha256, std::string url = "") {
    return NewRestClient({.store_url = url.empty() ? sim_->url() : url,
                          .consumer_key = "ck_sim",
                          .consumer_secret = std::move(secret),
                          .timeout = absl::Seconds(10),
                          .oauth_signature_method = method,
                          .clock = &clock_},
                         *http_);
  }
  core::FakeClock clock_;
  std::unique_ptr<sim::WooCommerceSim> sim_;
  std::unique_ptr<net::HttpClient> http_;
};

TEST_F(WooRestClientSimTest, ReadsAndWritesBackWithBothSignatureMethods) {
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim_->CreateOrderSilently({}));
  for (auto method : {OAuthSignatureMethod::kHmacSha256, OAuthSignatureMethod::kHmacSha1}) {
    auto client = Client("cs_sim", method);
    KEELSON_ASSERT_OK_AND_ASSIGN(nlohmann::json order, client->GetOrder(id));
    EXPECT_EQ(order, *sim_->GetOrder(id));
    KEELSON_ASSERT_OK_AND_ASSIGN(int64_t note, client->AddOrderNote(id, "ERP S-1", false));
    EXPECT_GT(note, 0);
  }
  auto client = Client();
  KEELSON_ASSERT_OK(
      client->UpdateOrder(id, {.status = "completed", .meta_data = {{"_erp_ref", "S-ORD1"}}}));
  EXPECT_EQ(sim_->GetOrder(id)->at("status"), "completed");
  EXPECT_EQ(sim_->Meta(id, "_erp_ref"), "S-ORD1");
  std::vector<sim::WooNote> notes = sim_->Notes(id);
  ASSERT_EQ(notes.size(), 3u);  // two written back, one status change
  EXPECT_EQ(notes[0].note, "ERP S-1");
  EXPECT_EQ(notes[2].note, "Order status changed from Processing to Completed.");
  EXPECT_EQ(sim_->stats().rest_unauthorized, 0);
}

TEST_F(WooRestClientSimTest, WrongSecretOrHostIsUnauthenticated) {
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim_->CreateOrderSilently({}));
  absl::Status s = Client("cs_wrong")->GetOrder(id).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(s.message()), HasSubstr("provided signature does not match"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("cs_")));
  // WooCommerce signs over its own home URL: "localhost" is not "127.0.0.1".
  EXPECT_THAT(Client("cs_sim", OAuthSignatureMethod::kHmacSha256,
                     "http://localhost:" + std::to_string(sim_->port()))
                  ->GetOrder(id),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(sim_->stats().rest_unauthorized, 2);
}

TEST_F(WooRestClientSimTest, NotFoundThrottledAndUnavailable) {
  auto client = Client();
  EXPECT_THAT(client->GetOrder(424242), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(client->AddOrderNote(424242, "x", false), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(client->UpdateOrder(424242, {.status = "completed"}),
              StatusIs(absl::StatusCode::kInvalidArgument));  // WooCommerce answers 400 here
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim_->CreateOrderSilently({}));
  EXPECT_THAT(client->UpdateOrder(id, {.status = "shipped"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  sim_->FailNextRestRequests(1, 429, 3);
  absl::Status s = client->GetOrder(id).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(jobs::RetryAfterOf(s), absl::Seconds(3));
  sim_->FailNextRestRequests(1, 503);
  EXPECT_THAT(client->GetOrder(id), StatusIs(absl::StatusCode::kUnavailable));
  KEELSON_EXPECT_OK(client->GetOrder(id));
}

TEST_F(WooRestClientSimTest, ListsAndBatchUpdatesProductsAndVariations) {
  KEELSON_ASSERT_OK(sim_->AddProduct({.sku = "WID-BLUE", .stock_quantity = 10}).status());
  KEELSON_ASSERT_OK_AND_ASSIGN(
      sim::WooProductIds shirt,
      sim_->AddProduct({.sku = "TSHIRT",
                        .type = "variable",
                        .stock_quantity = 6,
                        .variations = {{.sku = "TSHIRT-S", .manage_stock = false},
                                       {.sku = "TSHIRT-M", .stock_quantity = 2}}}));
  auto client = Client();
  KEELSON_ASSERT_OK_AND_ASSIGN(ProductsPage page, client->ListProducts({.per_page = 1}));
  EXPECT_EQ(page.total, 2);
  EXPECT_EQ(page.total_pages, 2);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].sku, "WID-BLUE");
  KEELSON_ASSERT_OK_AND_ASSIGN(page, client->ListProducts({.skus = {"TSHIRT-S", "WID-BLUE"}}));
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[1].sku, "TSHIRT-S");
  EXPECT_EQ(page.items[1].type, "variation");
  EXPECT_EQ(page.items[1].parent_id, shirt.id);
  EXPECT_EQ(page.items[1].manage_stock, "parent");
  EXPECT_EQ(page.items[1].stock_quantity, 6);
  KEELSON_ASSERT_OK_AND_ASSIGN(page, client->ListVariations(shirt.id, 1, 100));
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[1].sku, "TSHIRT-M");
  EXPECT_EQ(page.items[1].manage_stock, "true");

  const StockUpdate products[] = {{.id = 10, .stock_quantity = 0},
                                  {.id = 999, .stock_quantity = 1},
                                  {.id = shirt.id, .stock_quantity = 9}};
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<BatchItemResult> r,
                               client->BatchUpdateProducts(products));
  ASSERT_EQ(r.size(), 3u);
  KEELSON_EXPECT_OK(r[0].status);
  EXPECT_EQ(r[0].stock.stock_status, "outofstock");
  EXPECT_THAT(r[1].status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(r[1].error_code, "woocommerce_rest_product_invalid_id");
  EXPECT_EQ(r[2].stock.stock_quantity, 9);
  EXPECT_EQ(sim_->StockBySku("TSHIRT-S")->stock_quantity, 9);
  const StockUpdate variations[] = {{.id = shirt.variation_ids[1], .stock_quantity = 5}};
  KEELSON_ASSERT_OK_AND_ASSIGN(r, client->BatchUpdateVariations(shirt.id, variations));
  KEELSON_EXPECT_OK(r[0].status);
  EXPECT_EQ(r[0].stock.stock_quantity, 5);
  EXPECT_EQ(sim_->StockBySku("TSHIRT-M")->stock_quantity, 5);
  sim_->FailNextRestRequests(1, 502);
  EXPECT_THAT(client->BatchUpdateVariations(shirt.id, variations),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(WooRestClientSimTest, ClosedPortIsUnavailable) {
  const std::string url = sim_->url();
  sim_.reset();  // closes the listening socket
  EXPECT_THAT(Client("cs_sim", OAuthSignatureMethod::kHmacSha256, url)->GetOrder(1),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace keelson::connectors::woocommerce
