#include "api/console.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "api/console_assets.h"
#include "tests/support/http_client.h"

namespace keelson::api {
namespace {

using keelson::testing::HttpClient;
using keelson::testing::ReadFile;

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::Router router;
    AddConsoleRoutes(router);
    server_ = std::make_unique<net::HttpServer>(
        net::HttpServerOptions{.host = "127.0.0.1", .port = 0, .threads = 1}, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }
  void TearDown() override {
    client_.reset();
    server_->Stop();
  }

  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
};

std::string TypeFor(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  return "";
}

TEST(ConsoleAssetsTest, TheTableHoldsEveryFileUnderConsoleByteForByte) {
  const std::filesystem::path dir = std::filesystem::path(KEELSON_SOURCE_DIR) / "console";
  std::set<std::string> on_disk;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) on_disk.insert(e.path().lexically_relative(dir).generic_string());
  }
  std::set<std::string> embedded;
  for (const ConsoleAsset& a : ConsoleAssets()) {
    embedded.insert(std::string(a.path));
    EXPECT_EQ(a.bytes, ReadFile((dir / a.path).string())) << a.path;
    EXPECT_EQ(a.etag.size(), 34u) << a.path;  // a quoted 32-hex-digit strong tag
    EXPECT_EQ(a.etag.front(), '"');
  }
  EXPECT_EQ(embedded, on_disk);
  EXPECT_TRUE(embedded.contains("index.html"));
  EXPECT_TRUE(embedded.contains("style.css"));
  EXPECT_TRUE(embedded.contains("js/app.js"));
}

TEST_F(ConsoleTest, ServesEveryAssetWithItsTypeAnETagNoCacheAndTheCsp) {
  ASSERT_FALSE(ConsoleAssets().empty());
  for (const ConsoleAsset& a : ConsoleAssets()) {
    const std::string path(a.path);
    auto r = client_->Get("/console/" + path);
    ASSERT_EQ(r.status, 200) << path << ": " << r.error;
    EXPECT_EQ(r.body, a.bytes) << path;
    EXPECT_EQ(r.headers["content-type"], TypeFor(path)) << path;
    EXPECT_EQ(r.headers["etag"], std::string(a.etag)) << path;
    EXPECT_EQ(r.headers["cache-control"], "no-cache") << path;
    EXPECT_NE(r.headers["content-security-policy"].find("default-src 'self'"), std::string::npos);
    EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  }
}

TEST_F(ConsoleTest, TheRootServesIndexAndTheBarePathRedirectsToIt) {
  auto index = client_->Get("/console/");
  ASSERT_EQ(index.status, 200) << index.error;
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.body, client_->Get("/console/index.html").body);
  EXPECT_NE(index.body.find("/console/js/app.js"), std::string::npos);

  auto bare = client_->Get("/console");
  EXPECT_EQ(bare.status, 301);
  EXPECT_EQ(bare.headers["location"], "/console/");
}

TEST_F(ConsoleTest, AMatchingIfNoneMatchAnswers304WithoutABody) {
  auto first = client_->Get("/console/js/app.js");
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());

  auto again = client_->Request("GET", "/console/js/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.headers["etag"], etag);

  // One of a list, and weak comparison (RFC 9110): still a match.
  auto listed =
      client_->Request("GET", "/console/js/app.js", {{"If-None-Match", "\"nope\", W/" + etag}});
  EXPECT_EQ(listed.status, 304);

  auto stale = client_->Request("GET", "/console/js/app.js", {{"If-None-Match", "\"stale\""}});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, first.body);

  // Another file's tag does not match this one.
  auto css = client_->Get("/console/style.css");
  auto other =
      client_->Request("GET", "/console/js/app.js", {{"If-None-Match", css.headers["etag"]}});
  EXPECT_EQ(other.status, 200);
}

TEST_F(ConsoleTest, UnknownPathsAre404AndNothingOutsideConsoleIsServed) {
  EXPECT_EQ(client_->Get("/console/nope.js").status, 404);
  EXPECT_EQ(client_->Get("/console/js/nope.js").status, 404);
  EXPECT_EQ(client_->Get("/console/../CMakeLists.txt").status, 404);
  EXPECT_EQ(client_->Get("/console/js/../../src/api/console.cc").status, 404);
  EXPECT_EQ(client_->Get("/index.html").status, 404);
  EXPECT_EQ(client_->Request("POST", "/console/index.html").status, 405);
}

}  // namespace
}  // namespace keelson::api
