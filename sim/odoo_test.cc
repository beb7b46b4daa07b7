// The Odoo simulator on the wire, through the real curl client: the request and error shapes
// the adapter relies on, per protocol and version.

#include "sim/odoo.h"

#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_client.h"
#include "tests/support/status_matchers.h"

namespace keelson::sim {
namespace {

using json = nlohmann::json;

class OdooSimTest : public ::testing::Test {
 protected:
  void StartSim(std::string version) {
    OdooSim::Options o;
    o.version = std::move(version);
    sim_ = std::make_unique<OdooSim>(o);
    KEELSON_ASSERT_OK(sim_->Start());
  }

  net::OutboundResponse Post(std::string path, const json& body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::OutboundRequest req;
    req.method = "POST";
    req.url = sim_->url() + path;
    req.headers = std::move(headers);
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body.dump();
    req.timeout = absl::Seconds(10);
    absl::StatusOr<net::OutboundResponse> res = http_->Send(req);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? *res : net::OutboundResponse{};
  }

  json Rpc(std::string service, std::string method, json args, int* http_status = nullptr) {
    net::OutboundResponse res =
        Post("/jsonrpc", {{"jsonrpc", "2.0"},
                          {"method", "call"},
                          {"id", 7},
                          {"params", {{"service", service}, {"method", method}, {"args", args}}}});
    if (http_status != nullptr) *http_status = res.status;
    return json::parse(res.body, nullptr, false);
  }

  json Execute(std::string model, std::string method, json args, json kwargs = json::object()) {
    return Rpc("object", "execute_kw",
               {"keelson", 2, "admin", std::move(model), std::move(method), std::move(args),
                std::move(kwargs)});
  }

  net::OutboundResponse Json2(std::string model, std::string method, const json& body,
                              std::string key = "sim-odoo-api-key") {
    return Post("/json/2/" + model + "/" + method, body,
                {{"Authorization", "bearer " + key}, {"X-Odoo-Database", "keelson"}});
  }

  int64_t CreatePartner() {
    json r = Execute("res.partner", "create", {{{"name", "Ada"}, {"email", "ada@example.com"}}});
    return r["result"].get<int64_t>();
  }

  std::unique_ptr<OdooSim> sim_;
  std::unique_ptr<net::HttpClient> http_ = net::NewCurlHttpClient();
};

TEST_F(OdooSimTest, VersionAndAuthenticate) {
  StartSim("17.0");
  json v = Rpc("common", "version", json::array());
  EXPECT_EQ(v["jsonrpc"], "2.0");
  EXPECT_EQ(v["id"], 7);
  EXPECT_EQ(v["result"]["server_version"], "17.0");
  EXPECT_EQ(v["result"]["server_version_info"][0], 17);
  EXPECT_EQ(v["result"]["protocol_version"], 1);

  EXPECT_EQ(Rpc("common", "authenticate", {"keelson", "admin", "admin", json::object()})["result"],
            2);
  // An API key is accepted in place of the password.
  EXPECT_EQ(Rpc("common", "authenticate",
                {"keelson", "admin", "sim-odoo-api-key", json::object()})["result"],
            2);
  EXPECT_EQ(Rpc("common", "authenticate", {"keelson", "admin", "nope", json::object()})["result"],
            false);
  EXPECT_EQ(sim_->stats().authenticate_calls, 3);
  EXPECT_EQ(sim_->stats().version_calls, 1);
}

TEST_F(OdooSimTest, ErrorsArriveAsHttp200WithTheOdooErrorObject) {
  StartSim("17.0");
  int status = 0;
  json r =
      Rpc("object", "execute_kw",
          {"keelson", 2, "wrong", "res.partner", "search", json::array({json::array()})}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_FALSE(r.contains("result"));
  EXPECT_EQ(r["error"]["code"], 200);
  EXPECT_EQ(r["error"]["message"], "Odoo Server Error");
  EXPECT_EQ(r["error"]["data"]["name"], "odoo.exceptions.AccessDenied");
  EXPECT_EQ(r["error"]["data"]["message"], "Access Denied");
  EXPECT_EQ(r["error"]["data"]["arguments"][0], "Access Denied");

  json missing = Execute("sale.order", "read", {{999}}, {{"fields", {"state"}}});
  EXPECT_EQ(missing["error"]["data"]["name"], "odoo.exceptions.MissingError");

  json bad_kw = Execute("res.partner", "search", {json::array()}, {{"colour", "red"}});
  EXPECT_EQ(bad_kw["error"]["data"]["name"], "builtins.TypeError");

  json priv = Execute("sale.order", "_action_cancel", {{1}});
  EXPECT_EQ(priv["error"]["data"]["name"], "odoo.exceptions.AccessError");
}

TEST_F(OdooSimTest, Version19UsesErrorCodeZeroOnJsonRpc) {
  StartSim("19.0");
  json r = Rpc("object", "execute_kw",
               {"keelson", 2, "wrong", "res.partner", "search", json::array({json::array()})});
  EXPECT_EQ(r["error"]["code"], 0);
  EXPECT_EQ(r["error"]["data"]["name"], "odoo.exceptions.AccessDenied");
}

TEST_F(OdooSimTest, SaleOrderLifecycleOverJsonRpc) {
  StartSim("17.0");
  int64_t product = sim_->AddProduct("WIDGET-1", "Widget", 12.5);
  int64_t partner = CreatePartner();
  json created = Execute(
      "sale.order", "create",
      {{{"partner_id", partner},
        {"client_order_ref", "main:14"},
        {"order_line",
         {{0, 0, {{"product_id", product}, {"product_uom_qty", 2}, {"price_unit", 12.5}}}}}}});
  ASSERT_TRUE(created["result"].is_number_integer()) << created.dump();  // a dict -> an id
  int64_t id = created["result"].get<int64_t>();
  EXPECT_EQ(sim_->CountSaleOrders("MAIN:14"), 1);
  EXPECT_EQ(sim_->SaleOrderLineCount("main:14"), 1);

  json found = Execute("sale.order", "search_read", {{{"client_order_ref", "=ilike", "MAIN:14"}}},
                       {{"fields", {"name", "state", "partner_id", "locked"}}});
  ASSERT_EQ(found["result"].size(), 1u) << found.dump();
  EXPECT_EQ(found["result"][0]["id"], id);
  EXPECT_EQ(found["result"][0]["name"], "S00001");
  EXPECT_EQ(found["result"][0]["state"], "draft");
  EXPECT_EQ(found["result"][0]["partner_id"], json::array({partner, "Ada"}));
  EXPECT_EQ(found["result"][0]["locked"], false);

  EXPECT_EQ(Execute("sale.order", "action_confirm", {{id}})["result"], true);
  json again = Execute("sale.order", "action_confirm", {{id}});
  EXPECT_EQ(again["error"]["data"]["name"], "odoo.exceptions.UserError");

  // Without disable_cancel_warning Odoo answers with the cancel wizard and cancels nothing.
  json wizard = Execute("sale.order", "action_cancel", {{id}});
  EXPECT_EQ(wizard["result"]["res_model"], "sale.order.cancel");
  EXPECT_EQ((*sim_->SaleOrder("main:14"))["state"], "sale");
  json cancelled = Execute("sale.order", "action_cancel", {{id}},
                           {{"context", {{"disable_cancel_warning", true}}}});
  EXPECT_EQ(cancelled["result"], true);
  EXPECT_EQ((*sim_->SaleOrder("main:14"))["state"], "cancel");
  EXPECT_EQ(sim_->CallCount("sale.order", "action_cancel"), 2);
}

TEST_F(OdooSimTest, ConfirmingCreatesADeliveryThatValidatesIntoABackorder) {
  StartSim("17.0");
  int64_t product = sim_->AddProduct("WIDGET-1", "Widget", 12.5);
  int64_t partner = CreatePartner();
  int64_t id = Execute(
      "sale.order", "create",
      {{{"partner_id", partner},
        {"client_order_ref", "main:15"},
        {"order_line", {{0, 0, {{"product_id", product}, {"product_uom_qty", 3}}}}}}})["result"];
  ASSERT_EQ(Execute("sale.order", "action_confirm", {{id}})["result"], true);
  json pickings = Execute("stock.picking", "search_read",
                          {{{"sale_id", "=", id}, {"picking_type_code", "=", "outgoing"}}},
                          {{"fields", {"name", "state", "move_ids"}}})["result"];
  ASSERT_EQ(pickings.size(), 1u) << pickings.dump();
  EXPECT_EQ(pickings[0]["name"], "WH/OUT/00001");
  EXPECT_EQ(pickings[0]["state"], "assigned");
  const int64_t picking = pickings[0]["id"];
  const int64_t move = pickings[0]["move_ids"][0];
  json m = Execute("stock.move", "read", {{move}},
                   {{"fields", {"product_uom_qty", "quantity", "picked"}}})["result"][0];
  EXPECT_EQ(m["quantity"], 3);  // reserved in full at confirmation
  EXPECT_EQ(m["picked"], false);

  // Two of three: without skip_backorder Odoo asks the person at the screen.
  ASSERT_EQ(Execute("stock.move", "write", {{move}, {{"quantity", 2}, {"picked", true}}})["result"],
            true);
  json wizard = Execute("stock.picking", "button_validate", {{picking}});
  EXPECT_EQ(wizard["result"]["res_model"], "stock.backorder.confirmation") << wizard.dump();
  EXPECT_EQ(sim_->QtyDelivered("main:15", "WIDGET-1"), 0);
  json done = Execute("stock.picking", "button_validate", {{picking}},
                      {{"context", {{"skip_backorder", true}}}});
  EXPECT_EQ(done["result"], true) << done.dump();
  EXPECT_EQ(sim_->QtyDelivered("main:15", "WIDGET-1"), 2);
  json line = Execute("sale.order.line", "search_read", {{{"order_id", "=", id}}},
                      {{"fields", {"qty_delivered"}}})["result"][0];
  EXPECT_EQ(line["qty_delivered"], 2);
  json all = sim_->Pickings("main:15");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["state"], "done");
  EXPECT_EQ(all[1]["state"], "assigned");
  EXPECT_EQ(all[1]["backorder_id"], picking);
  EXPECT_EQ(all[1]["moves"][0]["product_uom_qty"], 1);

  // A validated picking cannot be validated again; nothing done at all is refused.
  EXPECT_EQ(Execute("stock.picking", "button_validate", {{picking}})["error"]["data"]["name"],
            "odoo.exceptions.UserError");
  const int64_t backorder = all[1]["id"];
  const int64_t rest = all[1]["moves"][0]["id"];
  ASSERT_EQ(Execute("stock.move", "write", {{rest}, {{"quantity", 0}}})["result"], true);
  json empty = Execute("stock.picking", "button_validate", {{backorder}},
                       {{"context", {{"skip_backorder", true}}}});
  EXPECT_EQ(empty["error"]["data"]["name"], "odoo.exceptions.UserError") << empty.dump();
}

TEST_F(OdooSimTest, Version16ValidatesQuantityDoneAndAsksForImmediateTransfer) {
  StartSim("16.0");
  int64_t product = sim_->AddProduct("WIDGET-1", "Widget", 12.5);
  int64_t partner = CreatePartner();
  int64_t id = Execute(
      "sale.order", "create",
      {{{"partner_id", partner},
        {"client_order_ref", "main:16"},
        {"order_line", {{0, 0, {{"product_id", product}, {"product_uom_qty", 2}}}}}}})["result"];
  ASSERT_EQ(Execute("sale.order", "action_confirm", {{id}})["result"], true);
  json p = sim_->Pickings("main:16");
  const int64_t picking = p[0]["id"];
  const int64_t move = p[0]["moves"][0]["id"];
  EXPECT_EQ(Execute("stock.picking", "button_validate", {{picking}})["result"]["res_model"],
            "stock.immediate.transfer");
  ASSERT_EQ(Execute("stock.move", "write", {{move}, {{"quantity_done", 2}}})["result"], true);
  EXPECT_EQ(Execute("stock.picking", "button_validate", {{picking}})["result"], true);
  EXPECT_EQ(sim_->QtyDelivered("main:16", "WIDGET-1"), 2);
  EXPECT_EQ(sim_->Pickings("main:16").size(), 1u);  // all done: no backorder
}

TEST_F(OdooSimTest, LockedOrdersRefuseCancelOn17AndDoneStateOn16) {
  StartSim("17.0");
  int64_t product = sim_->AddProduct("W", "W", 1);
  int64_t partner = CreatePartner();
  Execute("sale.order", "create",
          {{{"partner_id", partner},
            {"client_order_ref", "r1"},
            {"order_line", {{0, 0, {{"product_id", product}}}}}}});
  ASSERT_TRUE(sim_->SetOrderState("r1", "done"));
  EXPECT_EQ((*sim_->SaleOrder("r1"))["state"], "sale");
  EXPECT_EQ((*sim_->SaleOrder("r1"))["locked"], true);
  json r = Execute("sale.order", "action_cancel", {{1}},
                   {{"context", {{"disable_cancel_warning", true}}}});
  EXPECT_EQ(r["error"]["data"]["name"], "odoo.exceptions.UserError");

  StartSim("16.0");
  json locked = Execute("sale.order", "search_read", {json::array()}, {{"fields", {"locked"}}});
  EXPECT_EQ(locked["error"]["data"]["name"], "builtins.ValueError");  // no such field on 16
}

TEST_F(OdooSimTest, LikePatternsHonourWildcardsAndEscapes) {
  StartSim("17.0");
  json a = Execute("res.partner", "create", {{{"name", "A"}, {"email", "a_b@x.io"}}});
  json b = Execute("res.partner", "create", {{{"name", "B"}, {"email", "aXb@x.io"}}});
  auto count = [&](std::string pattern) {
    return Execute("res.partner", "search", {{{"email", "=ilike", pattern}}})["result"].size();
  };
  EXPECT_EQ(count("A_B@X.IO"), 2u);    // '_' matches any character
  EXPECT_EQ(count("a\\_b@x.io"), 1u);  // escaped, it is literal
  EXPECT_EQ(count("%@x.io"), 2u);
  EXPECT_EQ(count("a"), 0u);  // =ilike is whole-value
}

TEST_F(OdooSimTest, Json2NeedsTheApiKeyAndAnswersWithHttpStatuses) {
  StartSim("19.0");
  int64_t product = sim_->AddProduct("WIDGET-1", "Widget", 12.5);

  net::OutboundResponse unauth = Json2("res.partner", "search", {{"domain", json::array()}}, "x");
  EXPECT_EQ(unauth.status, 401);
  json ub = json::parse(unauth.body);
  EXPECT_EQ(ub["name"], "werkzeug.exceptions.Unauthorized");
  EXPECT_EQ(ub["message"], "Invalid apikey");
  // A password is not an API key.
  EXPECT_EQ(Json2("res.partner", "search", {{"domain", json::array()}}, "admin").status, 401);

  net::OutboundResponse created =
      Json2("res.partner", "create", {{"vals_list", {{{"name", "Ada"}, {"email", "a@x.io"}}}}});
  ASSERT_EQ(created.status, 200) << created.body;
  json ids = json::parse(created.body);
  ASSERT_TRUE(ids.is_array());  // a recordset comes back as its ids
  ASSERT_EQ(ids.size(), 1u);

  net::OutboundResponse read =
      Json2("product.product", "search_read",
            {{"domain", {{"default_code", "in", {"WIDGET-1"}}}}, {"fields", {"default_code"}}});
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(json::parse(read.body)[0]["id"], product);

  net::OutboundResponse missing =
      Json2("sale.order", "read", {{"ids", {42}}, {"fields", {"state"}}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["name"], "odoo.exceptions.MissingError");

  net::OutboundResponse bad_kw = Json2("res.partner", "search", {{"domian", json::array()}});
  EXPECT_EQ(bad_kw.status, 422);

  net::OutboundResponse user_error =
      Json2("res.partner", "create", {{"vals_list", {{{"email", "x"}}}}});
  EXPECT_EQ(user_error.status, 422);
  EXPECT_EQ(json::parse(user_error.body)["name"], "odoo.exceptions.ValidationError");

  net::OutboundRequest get;
  get.url = sim_->url() + "/web/version";
  KEELSON_ASSERT_OK_AND_ASSIGN(net::OutboundResponse version, http_->Send(get));
  EXPECT_EQ(json::parse(version.body)["version_info"][0], 19);
  EXPECT_EQ(sim_->stats().json2_requests, 7);
}

TEST_F(OdooSimTest, Json2IsNotServedBefore19) {
  StartSim("18.0");
  EXPECT_EQ(Json2("res.partner", "search", {{"domain", json::array()}}).status, 404);
}

TEST_F(OdooSimTest, DroppedCreateCommitsButNeverAnswers) {
  StartSim("17.0");
  int64_t product = sim_->AddProduct("W", "W", 1);
  int64_t partner = CreatePartner();
  sim_->DropResponseAfterNextOrderCreate();
  net::OutboundRequest req;
  req.method = "POST";
  req.url = sim_->url() + "/jsonrpc";
  req.headers = {{"Content-Type", "application/json"}};
  req.timeout = absl::Seconds(10);
  json vals = {{"partner_id", partner},
               {"client_order_ref", "lost:1"},
               {"order_line", {{0, 0, {{"product_id", product}}}}}};
  json args = {"keelson", 2, "admin", "sale.order", "create", json::array({vals})};
  json body = {{"jsonrpc", "2.0"},
               {"method", "call"},
               {"params", {{"service", "object"}, {"method", "execute_kw"}, {"args", args}}}};
  req.body = body.dump();
  req.fresh_connection = true;  // see ReusedConnectionMakesCurlReplayTheLostPost
  EXPECT_THAT(http_->Send(req).status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->CountSaleOrders("lost:1"), 1);
  EXPECT_EQ(sim_->stats().dropped_responses, 1);
  // Only the next create was affected.
  EXPECT_TRUE(Execute("sale.order", "search", {json::array()})["result"].is_array());
}

// On a kept-alive connection that dies before any answer byte, libcurl would send the same POST
// again by itself and the create would happen twice; net::HttpClient sends every POST on a fresh
// connection, so the loss is reported instead and the ERP holds one order.
TEST_F(OdooSimTest, LostAnswerOnAReusedConnectionIsReportedNotReplayed) {
  StartSim("17.0");
  int64_t product = sim_->AddProduct("W", "W", 1);
  int64_t partner = CreatePartner();  // leaves a kept-alive connection in the pool
  sim_->DropResponseAfterNextOrderCreate();
  json args = {"keelson", 2, "admin", "sale.order", "create",
               {{{"partner_id", partner},
                 {"client_order_ref", "twice:1"},
                 {"order_line", {{0, 0, {{"product_id", product}}}}}}}};
  net::OutboundRequest req;
  req.method = "POST";
  req.url = sim_->url() + "/jsonrpc";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = json{{"jsonrpc", "2.0"},
                  {"method", "call"},
                  {"params", {{"service", "object"}, {"method", "execute_kw"}, {"args", args}}}}
                 .dump();
  req.timeout = absl::Seconds(10);
  EXPECT_THAT(http_->Send(req).status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->stats().dropped_responses, 1);
  EXPECT_EQ(sim_->CountSaleOrders("twice:1"), 1);
}

TEST_F(OdooSimTest, InjectedFailuresAndStaleUid) {
  StartSim("17.0");
  sim_->FailNextRequests(1, 503, 7);
  net::OutboundResponse res = Post("/jsonrpc", json::object());
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.Header("retry-after"), "7");
  EXPECT_EQ(Rpc("common", "version", json::array())["result"]["server_version"], "17.0");

  sim_->FailNextCall("sale.order", "action_confirm", 502);
  int status = 0;
  Rpc("object", "execute_kw", {"keelson", 2, "admin", "sale.order", "action_confirm", {{1}}},
      &status);
  EXPECT_EQ(status, 502);
  EXPECT_EQ(sim_->stats().injected_failures, 2);
  EXPECT_EQ(sim_->CallCount("sale.order", "action_confirm"), 0);

  sim_->SetUid(9);
  EXPECT_EQ(Execute("res.partner", "search", {json::array()})["error"]["data"]["name"],
            "odoo.exceptions.AccessDenied");
  EXPECT_EQ(Rpc("common", "authenticate", {"keelson", "admin", "admin", json::object()})["result"],
            9);
}

TEST_F(OdooSimTest, AdminEndpoints) {
  StartSim("17.0");
  net::OutboundResponse p =
      Post("/_sim/products", {{"default_code", "SKU-9"}, {"name", "Nine"}, {"list_price", 9.5}});
  ASSERT_EQ(p.status, 200) << p.body;
  json found = Execute("product.product", "search_read", {{{"default_code", "=", "SKU-9"}}},
                       {{"fields", {"list_price"}}});
  EXPECT_EQ(found["result"][0]["list_price"], 9.5);

  net::OutboundRequest get;
  get.url = sim_->url() + "/_sim/sale_orders?client_order_ref=none";
  KEELSON_ASSERT_OK_AND_ASSIGN(net::OutboundResponse so, http_->Send(get));
  EXPECT_EQ(json::parse(so.body)["count"], 0);
  EXPECT_EQ(json::parse(so.body)["lines"], -1);
  EXPECT_EQ(Post("/_sim/faults", {{"fail_next_requests", 1}, {"status", 502}}).status, 200);
  EXPECT_EQ(Post("/jsonrpc", json::object()).status, 502);
  EXPECT_EQ(sim_->stats().requests, 2);  // admin calls are not counted
}

}  // namespace
}  // namespace keelson::sim
