// Connector pause/resume: the switch is in the store (so another process sees it), audited on the
// timeline, and read through a short cache.

#include "jobs/controls.h"

#include <memory>

#include "core/clock.h"
#include "gtest/gtest.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/status_matchers.h"

namespace keelson::jobs {
namespace {

class ControlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KEELSON_ASSERT_OK_AND_ASSIGN(store_,
                                 store::OpenSqliteStore(store::SqliteOptions{.path = ":memory:"}));
  }
  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ControlsTest, PauseIsSharedThroughTheStoreAndAudited) {
  ConnectorControls cli(store_.get(), &clock_, {"erp", "woocommerce"});
  ConnectorControls serve(store_.get(), &clock_, {"erp", "woocommerce"}, absl::Seconds(1));
  EXPECT_FALSE(serve.IsPaused("erp"));

  KEELSON_ASSERT_OK(cli.Pause("erp", "BC upgrade window", "cli"));
  // The other process's cached "running" holds until its cache ages out.
  EXPECT_FALSE(serve.IsPaused("erp"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(serve.IsPaused("erp"));
  EXPECT_FALSE(serve.IsPaused("woocommerce"));

  KEELSON_ASSERT_OK_AND_ASSIGN(PauseState st, serve.Get("erp"));
  EXPECT_TRUE(st.paused);
  EXPECT_EQ(st.reason, "BC upgrade window");
  EXPECT_EQ(st.by, "cli");
  EXPECT_EQ(st.since, clock_.Now() - absl::Seconds(1));

  clock_.Advance(absl::Minutes(5));
  KEELSON_ASSERT_OK(serve.Resume("erp", "ops-api"));
  EXPECT_FALSE(serve.IsPaused("erp"));  // its own write updates its cache at once

  KEELSON_ASSERT_OK_AND_ASSIGN(auto events, store_->ListTimeline("connector:erp", 10));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "connector.paused");
  EXPECT_EQ(events[1].kind, "connector.resumed");
  EXPECT_NE(events[0].detail_json.find("BC upgrade window"), std::string::npos);

  KEELSON_ASSERT_OK_AND_ASSIGN(auto all, cli.List());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].connector, "erp");
  EXPECT_FALSE(all[0].paused);
  EXPECT_EQ(all[1].connector, "woocommerce");
  EXPECT_FALSE(all[1].paused);
}

TEST_F(ControlsTest, UnknownConnectorIsNotFound) {
  ConnectorControls c(store_.get(), &clock_, {"erp"});
  absl::Status s = c.Pause("sap", "", "cli");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(s.message()).find("known: erp"), std::string::npos) << s;
}

}  // namespace
}  // namespace keelson::jobs
