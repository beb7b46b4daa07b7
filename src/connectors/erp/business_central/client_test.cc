#include "connectors/erp/business_central/client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobs/retry_policy.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::business_central {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

net::OutboundResponse Answer(int status, std::string body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
  net::OutboundResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string Bc(std::string code, std::string message) {
  return R"({"error":{"code":")" + code + R"(","message":")" + message + R"("}})";
}

absl::Status Classify(const net::OutboundResponse& r) {
  return StatusFromResponse(r, "POST salesOrders", absl::FromUnixSeconds(1'767'225'600));
}

TEST(StatusFromResponseTest, SuccessIsOk) {
  for (int status : {200, 201, 204}) KEELSON_EXPECT_OK(Classify(Answer(status, "")));
}

TEST(StatusFromResponseTest, ThrottlingAndOutagesAreRetryableWithTheirRetryAfter) {
  absl::Status bare = Classify(Answer(429, Bc("TooManyRequests", "slow down")));
  EXPECT_THAT(bare, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(jobs::RetryAfterOf(bare).has_value());

  absl::Status told = Classify(Answer(429, "", {{"retry-after", "7"}}));
  EXPECT_THAT(told, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(jobs::RetryAfterOf(told), absl::Seconds(7));

  absl::Status busy = Classify(Answer(503, "", {{"retry-after", "2"}}));
  EXPECT_THAT(busy, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(jobs::RetryAfterOf(busy), absl::Seconds(2));

  // An HTTP-date, 30 s after `now`.
  absl::Status dated =
      Classify(Answer(503, "", {{"retry-after", "Thu, 01 Jan 2026 00:00:30 GMT"}}));
  EXPECT_EQ(jobs::RetryAfterOf(dated), absl::Seconds(30));

  for (int status : {500, 502, 504}) {
    EXPECT_THAT(Classify(Answer(status, Bc("Internal_ServerError", "boom"))),
                StatusIs(absl::StatusCode::kUnavailable))
        << status;
  }
  EXPECT_THAT(Classify(Answer(408, "")), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(StatusFromResponseTest, CredentialsPermissionsAndMissingRecords) {
  EXPECT_THAT(Classify(Answer(401, Bc("Authentication_InvalidCredentials", "rejected"))),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // The identity platform's own error shape, 400 or 401.
  EXPECT_THAT(
      Classify(Answer(400, R"({"error":"invalid_scope","error_description":"AADSTS1002012"})")),
      StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Classify(Answer(401, R"({"error":"invalid_client","error_description":"x"})")),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Classify(Answer(403, Bc("Authorization_InsufficientPermissions", "no"))),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(
      Classify(Answer(404, Bc("Internal_RecordNotFound",
                              "The Sales Order Entity Buffer does not exist. Identification "
                              "fields and values: Id='x'"))),
      StatusIs(absl::StatusCode::kNotFound));
  // An item named by id, not by number, is a missing record, not an unknown SKU.
  EXPECT_THAT(Classify(Answer(404, Bc("Internal_RecordNotFound",
                                      "The Item does not exist. Identification fields and "
                                      "values: Id='5d115c9c'"))),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(StatusFromResponseTest, ConcurrentChangesAreAborted) {
  EXPECT_THAT(Classify(Answer(412, Bc("Request_EntityChanged",
                                      "Another user has already "
                                      "changed the record."))),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(Classify(Answer(409, "")), StatusIs(absl::StatusCode::kAborted));
}

TEST(StatusFromResponseTest, UnknownItemIsAnUnknownSku) {
  absl::Status s = Classify(Answer(
      400, Bc("Internal_RecordNotFound",
              "The Item does not exist. Identification fields and values: No.='NO-SUCH-SKU'  "
              "CorrelationId:  0f6a.")));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), StartsWith("unknown SKU 'NO-SUCH-SKU'"));
}

TEST(StatusFromResponseTest, BusinessRulesAreFailedPreconditionAndBadDataInvalidArgument) {
  for (const char* code : {"Application_DialogException", "Application_FieldValidationException",
                           "Internal_InvalidTableRelation", "Internal_RecordNotFound"}) {
    EXPECT_THAT(Classify(Answer(400, Bc(code, "Customer C00010 is blocked"))),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << code;
  }
  for (const char* code : {"Application_StringExceededLength", "BadRequest",
                           "BadRequest_InvalidToken", "Application_InvalidGUID"}) {
    EXPECT_THAT(Classify(Answer(400, Bc(code, "bad"))),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << code;
  }
  EXPECT_THAT(Classify(Answer(400, "<html>Bad Request</html>")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Classify(Answer(405, Bc("BadRequest_MethodNotAllowed", "no"))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusFromResponseTest, MessageNamesTheCallAndBcCodeAndIsBounded) {
  absl::Status s =
      Classify(Answer(400, Bc("Application_StringExceededLength", std::string(5000, 'x'))));
  const std::string m(s.message());
  EXPECT_THAT(m, StartsWith("business_central: POST salesOrders: HTTP 400 "
                            "Application_StringExceededLength: xxx"));
  EXPECT_LT(m.size(), 600u);
  EXPECT_THAT(m, Not(HasSubstr("Authorization")));
}

TEST(ParseBcErrorTest, ReadsCodeAndMessageOrNothing) {
  std::optional<BcError> e = ParseBcError(Bc("BadRequest", "Invalid Request Body"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "BadRequest");
  EXPECT_EQ(e->message, "Invalid Request Body");
  EXPECT_FALSE(ParseBcError("not json").has_value());
  EXPECT_FALSE(ParseBcError(R"({"error":"invalid_client"})").has_value());
}

}  // namespace
}  // namespace keelson::connectors::business_central
