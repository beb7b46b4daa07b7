// The outbox relay against the SQLite store with a recording sink: order, the acknowledged
// prefix, resumption after a failure, one publisher at a time. (nats_sink_test.cc runs the real
// NATS JetStream sink.)

#include "events/relay.h"

#include <string>
#include <vector>

#include "core/clock.h"
#include "events/emitter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "obs/metrics.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/status_matchers.h"

namespace keelson::events {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Records what it is given; fails (once) at the event with id `fail_at` when set.
class RecordingSink final : public EventSink {
 public:
  Result Publish(std::span<const store::OutboxEvent> events) override {
    Result r;
    for (const store::OutboxEvent& e : events) {
      if (e.event_id == fail_at) {
        fail_at.clear();
        r.error = absl::UnavailableError("sink down");
        return r;
      }
      ids.push_back(e.event_id);
      ++r.published;
    }
    return r;
  }
  std::string_view name() const override { return "recording"; }

  std::vector<std::string> ids;
  std::string fail_at;
};

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(s).value();
  }

  void EmitEvents(int n, const std::string& prefix = "e") {
    const Emitter emitter(true);
    for (int i = 0; i < n; ++i) {
      KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
        return emitter.Emit(tx, kOrderAccepted, prefix + std::to_string(next_++), "main:1",
                            {{"i", i}}, "corr");
      }));
    }
  }

  RelayOptions Options(std::string node, int batch = 4) {
    RelayOptions o;
    o.node_id = std::move(node);
    o.batch = batch;
    return o;
  }

  std::unique_ptr<store::Store> store_;
  core::FakeClock clock_;
  int next_ = 0;
};

TEST_F(RelayTest, PublishesEveryPendingEventInOrderAcrossBatchesAndMarksThem) {
  EmitEvents(10);
  RecordingSink sink;
  OutboxRelay relay(store_.get(), &sink, &clock_, Options("a", 4));
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, relay.RunOnce());
  EXPECT_EQ(n, 10);
  EXPECT_THAT(sink.ids, ElementsAre("e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto pending, store_->ListPendingEvents(100));
  EXPECT_THAT(pending, IsEmpty());
  // Nothing new: nothing published again.
  KEELSON_ASSERT_OK_AND_ASSIGN(n, relay.RunOnce());
  EXPECT_EQ(n, 0);
  EXPECT_EQ(sink.ids.size(), 10u);
}

TEST_F(RelayTest, AFailureKeepsTheRestPendingAndTheNextRoundResumesInOrder) {
  EmitEvents(6);
  RecordingSink sink;
  sink.fail_at = "e3";
  obs::Registry metrics;
  OutboxRelay relay(store_.get(), &sink, &clock_, Options("a", 100), &metrics);
  absl::StatusOr<int64_t> first = relay.RunOnce();
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(sink.ids, ElementsAre("e0", "e1", "e2"));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto pending, store_->ListPendingEvents(100));
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].event_id, "e3");

  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, relay.RunOnce());
  EXPECT_EQ(n, 3);
  EXPECT_THAT(sink.ids, ElementsAre("e0", "e1", "e2", "e3", "e4", "e5"));
  const std::string text = metrics.Render();
  EXPECT_THAT(text, ::testing::HasSubstr("keelson_events_published_total{sink=\"recording\"} 6"));
  EXPECT_THAT(text,
              ::testing::HasSubstr("keelson_events_publish_errors_total{sink=\"recording\"} 1"));
  EXPECT_THAT(text, ::testing::HasSubstr("keelson_events_pending 0"));
}

TEST_F(RelayTest, OnlyTheLeaseHolderPublishesAndStoppingHandsOver) {
  EmitEvents(3);
  RecordingSink sink_a, sink_b;
  OutboxRelay a(store_.get(), &sink_a, &clock_, Options("node-a"));
  OutboxRelay b(store_.get(), &sink_b, &clock_, Options("node-b"));
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, a.RunOnce());
  EXPECT_EQ(n, 3);
  EmitEvents(2);
  KEELSON_ASSERT_OK_AND_ASSIGN(n, b.RunOnce());
  EXPECT_EQ(n, 0);  // a holds the lease
  EXPECT_THAT(sink_b.ids, IsEmpty());
  // a goes silent: after the lease's ttl b takes over and publishes what waits.
  clock_.Advance(absl::Seconds(16));
  KEELSON_ASSERT_OK_AND_ASSIGN(n, b.RunOnce());
  EXPECT_EQ(n, 2);
  EXPECT_THAT(sink_b.ids, ElementsAre("e3", "e4"));
  // b stops (releases): a takes over at once, without waiting for the ttl.
  b.Stop();
  EmitEvents(1);
  KEELSON_ASSERT_OK_AND_ASSIGN(n, a.RunOnce());
  EXPECT_EQ(n, 1);
  EXPECT_THAT(sink_a.ids, ElementsAre("e0", "e1", "e2", "e5"));
}

TEST_F(RelayTest, TheEventDocumentIsACloudEvent) {
  clock_.Set(absl::FromUnixSeconds(1764936000));  // 2025-12-05T12:00:00Z
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
    return Emitter(true).Emit(tx, kOrderShipped, "order.shipped:shipbob:9", "main:14",
                              {{"carrier", "UPS"}}, "c0ffee");
  }));
  // A disabled emitter writes nothing.
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
    return Emitter(false).Emit(tx, kOrderShipped, "x", "main:14", {}, "");
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto pending, store_->ListPendingEvents(10));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].type, "order.shipped");
  EXPECT_EQ(pending[0].key, "main:14");
  EXPECT_EQ(nlohmann::json::parse(pending[0].payload_json),
            nlohmann::json::parse(R"({"specversion":"1.0","id":"order.shipped:shipbob:9",
              "source":"keelson","type":"order.shipped","subject":"main:14",
              "time":"2025-12-05T12:00:00.000Z","datacontenttype":"application/json",
              "correlationid":"c0ffee","data":{"carrier":"UPS"}})"));
}

}  // namespace
}  // namespace keelson::events
