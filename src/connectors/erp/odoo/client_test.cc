// MapOdooFault (the one place Odoo's answers become status codes) and the small parsers.

#include "connectors/erp/odoo/client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobs/retry_policy.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::odoo {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using Code = absl::StatusCode;

OdooFault RpcError(std::string name, std::string message = "boom") {
  // JSON-RPC: HTTP 200, error.code 200, data.name.
  return OdooFault{
      .http_status = 200, .rpc_code = 200, .name = std::move(name), .message = std::move(message)};
}

OdooFault Http(int status, std::string name = "", std::string message = "boom") {
  return OdooFault{.http_status = status, .name = std::move(name), .message = std::move(message)};
}

struct Case {
  OdooFault fault;
  CallKind kind;
  Code want;
};

TEST(OdooFaultMappingTest, EveryRule) {
  const Case cases[] = {
      // Errors inside an HTTP 200 (JSON-RPC).
      {RpcError("odoo.exceptions.AccessDenied"), CallKind::kRead, Code::kUnauthenticated},
      {RpcError("odoo.exceptions.AccessError"), CallKind::kRead, Code::kPermissionDenied},
      {RpcError("odoo.exceptions.MissingError"), CallKind::kRead, Code::kNotFound},
      {RpcError("odoo.exceptions.ValidationError"), CallKind::kWrite, Code::kInvalidArgument},
      {RpcError("odoo.exceptions.ValidationError"), CallKind::kStateChange, Code::kInvalidArgument},
      {RpcError("odoo.exceptions.UserError"), CallKind::kWrite, Code::kInvalidArgument},
      {RpcError("odoo.exceptions.UserError"), CallKind::kStateChange, Code::kFailedPrecondition},
      {RpcError("odoo.exceptions.RedirectWarning"), CallKind::kWrite, Code::kFailedPrecondition},
      {RpcError("odoo.exceptions.LockError"), CallKind::kWrite, Code::kAborted},
      {RpcError("psycopg2.errors.SerializationFailure"), CallKind::kWrite, Code::kAborted},
      {RpcError("builtins.ValueError"), CallKind::kRead, Code::kInvalidArgument},
      {RpcError("builtins.TypeError"), CallKind::kRead, Code::kInvalidArgument},
      {RpcError("psycopg2.OperationalError"), CallKind::kRead, Code::kInternal},
      {OdooFault{.http_status = 200, .rpc_code = 100, .name = "odoo.http.SessionExpiredException"},
       CallKind::kRead, Code::kUnauthenticated},
      // JSON-2: HTTP statuses with a JSON error object.
      {Http(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey"), CallKind::kRead,
       Code::kUnauthenticated},
      {Http(403, "odoo.exceptions.AccessDenied"), CallKind::kRead, Code::kUnauthenticated},
      {Http(403, "odoo.exceptions.AccessError"), CallKind::kRead, Code::kPermissionDenied},
      {Http(404, "odoo.exceptions.MissingError"), CallKind::kRead, Code::kNotFound},
      {Http(404, "werkzeug.exceptions.NotFound"), CallKind::kRead, Code::kNotFound},
      {Http(422, "odoo.exceptions.UserError"), CallKind::kStateChange, Code::kFailedPrecondition},
      {Http(422, "odoo.exceptions.ValidationError"), CallKind::kWrite, Code::kInvalidArgument},
      {Http(422, "werkzeug.exceptions.UnprocessableEntity"), CallKind::kRead,
       Code::kInvalidArgument},
      {Http(409, "odoo.exceptions.LockError"), CallKind::kWrite, Code::kAborted},
      {Http(500, ""), CallKind::kRead, Code::kUnavailable},
      {Http(500, "builtins.ValueError"), CallKind::kRead, Code::kInvalidArgument},
      // Whatever sits in front of Odoo.
      {Http(429), CallKind::kRead, Code::kResourceExhausted},
      {Http(502), CallKind::kWrite, Code::kUnavailable},
      {Http(503), CallKind::kRead, Code::kUnavailable},
      {Http(504), CallKind::kRead, Code::kUnavailable},
      {Http(401), CallKind::kRead, Code::kUnauthenticated},
      {Http(403), CallKind::kRead, Code::kPermissionDenied},
      {Http(404), CallKind::kRead, Code::kNotFound},
      {Http(408), CallKind::kRead, Code::kDeadlineExceeded},
      {Http(413), CallKind::kWrite, Code::kInvalidArgument},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(MapOdooFault(c.fault, "sale.order.create", c.kind), StatusIs(c.want))
        << "http " << c.fault.http_status << " name '" << c.fault.name << "'";
  }
}

TEST(OdooFaultMappingTest, MessageSaysWhatOdooSaidAndWhere) {
  absl::Status s =
      MapOdooFault(Http(422, "odoo.exceptions.UserError", "You cannot cancel a locked order."),
                   "sale.order.action_cancel", CallKind::kStateChange);
  EXPECT_EQ(s.message(),
            "odoo sale.order.action_cancel: odoo.exceptions.UserError: You cannot cancel a locked "
            "order. (HTTP 422)");
  absl::Status rpc =
      MapOdooFault(RpcError("odoo.exceptions.AccessError", "no"), "x.read", CallKind::kRead);
  EXPECT_EQ(rpc.message(), "odoo x.read: odoo.exceptions.AccessError: no");
  EXPECT_LE(
      MapOdooFault(Http(500, "", std::string(5000, 'x')), "x", CallKind::kRead).message().size(),
      600u);
}

TEST(OdooFaultMappingTest, RetryAfterRidesOn429And5xxOnly) {
  OdooFault f = Http(503);
  f.retry_after = absl::Seconds(30);
  EXPECT_EQ(jobs::RetryAfterOf(MapOdooFault(f, "x", CallKind::kRead)), absl::Seconds(30));
  f.http_status = 429;
  EXPECT_EQ(jobs::RetryAfterOf(MapOdooFault(f, "x", CallKind::kRead)), absl::Seconds(30));
  f.http_status = 404;
  EXPECT_EQ(jobs::RetryAfterOf(MapOdooFault(f, "x", CallKind::kRead)), std::nullopt);
}

TEST(OdooParseRetryAfterTest, DeltaSecondsOnly) {
  EXPECT_EQ(ParseRetryAfter("120"), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 5 "), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

TEST(OdooParseServerVersionTest, CommonVersionWebVersionAndSaas) {
  KEELSON_ASSERT_OK_AND_ASSIGN(
      ServerVersion v17,
      ParseServerVersion(json{{"server_version", "17.0"},
                              {"server_version_info", {17, 0, 0, "final", 0, ""}},
                              {"server_serie", "17.0"},
                              {"protocol_version", 1}}));
  EXPECT_EQ(v17.major, 17);
  EXPECT_EQ(v17.version, "17.0");
  KEELSON_ASSERT_OK_AND_ASSIGN(
      ServerVersion saas,
      ParseServerVersion(json{{"server_version", "saas~18.2"},
                              {"server_version_info", {"saas~18", 2, 0, "final", 0, ""}}}));
  EXPECT_EQ(saas.major, 18);
  EXPECT_EQ(saas.minor, 2);
  KEELSON_ASSERT_OK_AND_ASSIGN(
      ServerVersion web,
      ParseServerVersion(json{{"version_info", {19, 0, 0, "final", 0, ""}}, {"version", "19.0"}}));
  EXPECT_EQ(web.major, 19);
  EXPECT_THAT(ParseServerVersion(json{{"hello", 1}}).status(), StatusIs(Code::kInternal));
}

TEST(OdooParseProtocolTest, NamesTheBadValue) {
  EXPECT_EQ(*ParseProtocol("auto"), Protocol::kAuto);
  EXPECT_EQ(*ParseProtocol("jsonrpc"), Protocol::kJsonRpc);
  EXPECT_EQ(*ParseProtocol("json2"), Protocol::kJson2);
  absl::StatusOr<Protocol> bad = ParseProtocol("xmlrpc");
  EXPECT_THAT(bad.status(), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'xmlrpc'"));
}

TEST(OdooEscapeLikeTest, EscapesWildcardsAndBackslash) {
  EXPECT_EQ(EscapeLike("main:14"), "main:14");
  EXPECT_EQ(EscapeLike("eu_shop:1"), "eu\\_shop:1");
  EXPECT_EQ(EscapeLike("50%\\"), "50\\%\\\\");
}

}  // namespace
}  // namespace keelson::connectors::odoo
