// The NATS JetStream sink and the relay against a real nats-server (KEELSON_TEST_NATS_URL, started
// by scripts/test-services.sh for `make test`): the stream is created, each event lands once with
// its id, in order, and a relay that publishes again after a crash adds nothing.

#include "events/nats_sink.h"

#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "events/emitter.h"
#include "events/relay.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/nats_stream.h"
#include "tests/support/status_matchers.h"

namespace keelson::events {
namespace {

using ::testing::ElementsAre;

class NatsSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = keelson::testing::TestNatsUrl();
    if (url_.empty()) GTEST_SKIP() << "KEELSON_TEST_NATS_URL is not set (make test starts NATS)";
    // A stream and subject space of this test's own, so tests never see each other's events.
    const std::string tag = core::NewCorrelationId().substr(22);  // its random tail
    stream_ = "KTEST_" + tag;
    prefix_ = "ktest" + tag;
    KEELSON_ASSERT_OK(reader_.Connect(url_));
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    if (!stream_.empty()) reader_.DeleteStream(stream_);
  }

  NatsSinkOptions Options() const {
    return {.url = url_, .stream = stream_, .subject_prefix = prefix_,
            .duplicate_window = absl::Minutes(10), .timeout = absl::Seconds(5)};
  }

  void Emit(std::string_view type, const std::string& id, const std::string& subject) {
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
      return Emitter(true).Emit(tx, type, id, subject, {{"id", id}}, "corr-" + id);
    }));
  }

  std::string url_, stream_, prefix_;
  keelson::testing::NatsTestClient reader_;
  std::unique_ptr<store::Store> store_;
  core::FakeClock clock_;
};

TEST_F(NatsSinkTest, CreatesTheStreamAndPublishesEachEventOnceInOrderWithItsId) {
  Emit(kOrderAccepted, "order.accepted:main:1", "main:1");
  Emit(kInventoryChanged, "inventory.changed:aa", "SKU-1@WH1");
  Emit(kOrderShipped, "order.shipped:shipbob:7", "main:1");
  NatsJetStreamSink sink(Options());
  OutboxRelay relay(store_.get(), &sink, &clock_, {.node_id = "n1"});
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, relay.RunOnce());
  EXPECT_EQ(n, 3);

  KEELSON_ASSERT_OK_AND_ASSIGN(auto msgs, reader_.ReadAll(stream_));
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].subject, prefix_ + ".order.accepted");
  EXPECT_EQ(msgs[0].msg_id, "order.accepted:main:1");
  EXPECT_EQ(msgs[0].keelson_subject, "main:1");
  EXPECT_EQ(msgs[1].subject, prefix_ + ".inventory.changed");
  EXPECT_EQ(msgs[1].keelson_subject, "SKU-1@WH1");
  EXPECT_EQ(msgs[2].subject, prefix_ + ".order.shipped");
  EXPECT_EQ(msgs[2].msg_id, "order.shipped:shipbob:7");
  const nlohmann::json doc = nlohmann::json::parse(msgs[2].data);
  EXPECT_EQ(doc["specversion"], "1.0");
  EXPECT_EQ(doc["id"], "order.shipped:shipbob:7");
  EXPECT_EQ(doc["type"], "order.shipped");
  EXPECT_EQ(doc["correlationid"], "corr-order.shipped:shipbob:7");
  EXPECT_EQ(doc["data"]["id"], "order.shipped:shipbob:7");
}

TEST_F(NatsSinkTest, PublishingAgainAfterACrashBeforeTheMarkAddsNothingToTheStream) {
  for (int i = 0; i < 5; ++i) Emit(kOrderAccepted, "order.accepted:main:" + std::to_string(i),
                                   "main:" + std::to_string(i));
  NatsJetStreamSink sink(Options());
  // A relay that published but died before marking: the events are still pending.
  KEELSON_ASSERT_OK_AND_ASSIGN(auto pending, store_->ListPendingEvents(100));
  ASSERT_EQ(pending.size(), 5u);
  EventSink::Result first = sink.Publish(std::span(pending).first(3));
  KEELSON_ASSERT_OK(first.error);
  EXPECT_EQ(first.published, 3u);
  // The next leader publishes all five.
  NatsJetStreamSink other(Options());
  OutboxRelay relay(store_.get(), &other, &clock_, {.node_id = "n2"});
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, relay.RunOnce());
  EXPECT_EQ(n, 5);

  KEELSON_ASSERT_OK_AND_ASSIGN(auto msgs, reader_.ReadAll(stream_));
  std::vector<std::string> ids;
  for (const auto& m : msgs) ids.push_back(m.msg_id);
  EXPECT_THAT(ids, ElementsAre("order.accepted:main:0", "order.accepted:main:1",
                               "order.accepted:main:2", "order.accepted:main:3",
                               "order.accepted:main:4"));
}

TEST_F(NatsSinkTest, AnUnreachableServerFailsThePublishAndKeepsEverythingPending) {
  Emit(kOrderAccepted, "order.accepted:main:1", "main:1");
  NatsSinkOptions o = Options();
  o.url = "nats://127.0.0.1:1";  // nothing listens there
  o.timeout = absl::Milliseconds(300);
  NatsJetStreamSink sink(o);
  OutboxRelay relay(store_.get(), &sink, &clock_, {.node_id = "n1"});
  absl::StatusOr<int64_t> n = relay.RunOnce();
  EXPECT_EQ(n.status().code(), absl::StatusCode::kUnavailable) << n.status();
  KEELSON_ASSERT_OK_AND_ASSIGN(auto pending, store_->ListPendingEvents(10));
  EXPECT_EQ(pending.size(), 1u);
}

}  // namespace
}  // namespace keelson::events
