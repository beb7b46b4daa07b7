// Order-to-cash flow on a real SQLite store and the real job runner, with a fake ERP and a fake
// shop write-back; time comes from a FakeClock (no sleeps).

#include "flows/order_to_cash.h"

#include "flows/backfill.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/orders.h"
#include "api/woocommerce_webhooks.h"
#include "connectors/woocommerce/mapping.h"
#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/signature.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/drain.h"
#include "tests/support/fake_erp.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::flows {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FakeShop final : public ShopWriteBack {
 public:
  absl::StatusOr<json> FetchOrder(int64_t order_id) override {
    auto it = current_.find(order_id);
    if (it == current_.end()) return absl::NotFoundError("no such order");
    ++fetches_;
    return it->second;
  }
  absl::StatusOr<std::optional<std::string>> GetOrderMeta(int64_t order_id,
                                                          std::string_view key) override {
    auto it = meta_.find({order_id, std::string(key)});
    if (it == meta_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::Status AddOrderNote(int64_t order_id, std::string_view note) override {
    if (fail_notes_ > 0) {
      --fail_notes_;
      return absl::UnavailableError("502 Bad Gateway");
    }
    notes_[order_id].emplace_back(note);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> HasOrderNote(int64_t order_id, std::string_view note) override {
    for (const auto& n : notes_[order_id]) {
      if (n == note) return true;
    }
    return false;
  }
  absl::Status SetOrderMeta(int64_t order_id, std::string_view key,
                            std::string_view value) override {
    if (fail_meta_ > 0) {
      --fail_meta_;
      return absl::UnavailableError("502 Bad Gateway");
    }
    meta_[{order_id, std::string(key)}] = std::string(value);
    return absl::OkStatus();
  }
  int fail_meta_ = 0;
  std::map<int64_t, std::vector<std::string>> notes_;
  std::map<std::pair<int64_t, std::string>, std::string> meta_;
  int fail_notes_ = 0;
  std::map<int64_t, json> current_;  // what FetchOrder answers
  int fetches_ = 0;
};

// A WooCommerce REST v3 order, as an order webhook carries it.
json WooOrder(int64_t id, std::string status, int modified_second,
              std::vector<std::string> skus = {"WIDGET-1"}) {
  json lines = json::array();
  int64_t line_id = 1;
  for (const auto& sku : skus) {
    lines.push_back({{"id", line_id++}, {"name", "Item " + sku}, {"product_id", 10},
                     {"variation_id", 0}, {"quantity", 2}, {"subtotal", "25.00"},
                     {"subtotal_tax", "0.00"}, {"total", "25.00"}, {"total_tax", "0.00"},
                     {"sku", sku}, {"price", 12.5}});
  }
  return {{"id", id},
          {"number", std::to_string(id)},
          {"status", status},
          {"currency", "EUR"},
          {"date_created_gmt", "2026-11-20T10:00:00"},
          {"date_modified_gmt", absl::StrFormat("2026-11-20T10:%02d:%02d", modified_second / 60,
                                                modified_second % 60)},
          {"customer_id", 0},
          {"billing", {{"first_name", "Ada"}, {"last_name", "Lovelace"},
                       {"email", "ada@example.com"}, {"country", "GB"}}},
          {"line_items", lines},
          {"total", absl::StrCat(25 * skus.size(), ".00")},
          {"date_paid_gmt", status == "pending" ? json(nullptr) : json("2026-11-20T10:00:00")}};
}

class OrderToCashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    erp_.AddItem("WIDGET-1");
    flow_ = std::make_unique<OrderToCash>(
        &erp_,
        [](std::string_view store_id, const json& payload) {
          return connectors::woocommerce::MapOrder(store_id, payload);
        },
        [this](std::string_view store_id) -> ShopWriteBack* {
          return store_id == "main" ? &shop_ : nullptr;
        },
        OrderToCashOptions{.events = events::Emitter(true)});
    handlers_.Register(api::kWooIngestJobKind,
                       MakeWebhookIngestHandler([this](jobs::JobContext& ctx,
                                                       const IngestedDelivery& d) {
                         return flow_->OnDelivery(ctx, d);
                       }));
    flow_->Register(handlers_);
    jobs::RunnerOptions options;
    options.owner = "test";
    runner_ = std::make_unique<jobs::Runner>(store_.get(), &clock_, &handlers_, options);
  }

  // Stores a delivery and its ingest job as intake does.
  void Deliver(const std::string& topic, const json& body, std::string store_id = "main") {
    const std::string raw = body.dump();
    const std::string resource = topic.substr(0, topic.find('.'));
    store::DeliveryToAccept d{
        .source = "woocommerce",
        .store_id = store_id,
        .topic = topic,
        .dedupe_key = net::Sha256HexParts({"woocommerce", store_id, resource, raw}),
        .headers_json = "{}",
        .body = raw,
        .correlation_id = absl::StrCat("corr-", ++deliveries_),
        .job_kind = api::kWooIngestJobKind,
        .job_partition_key = OrderToCash::PartitionKey(store_id, body["id"].get<int64_t>())};
    auto r = store_->AcceptDeliveries(std::span(&d, 1), clock_.Now());
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // Runs jobs until none is due, moving the fake clock past retry backoffs.
  void Drain() { keelson::testing::DrainJobs(*runner_, *store_, clock_); }

  store::OrderRecord Held(int64_t id) {
    auto r = store_->GetOrder("main", id);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : store::OrderRecord{};
  }

  std::vector<std::string> TimelineKinds(int64_t id) {
    auto events = store_->ListTimeline(absl::StrCat("order:main:", id), 100);
    std::vector<std::string> kinds;
    if (events.ok()) {
      for (const auto& e : *events) kinds.push_back(e.kind);
    }
    return kinds;
  }

  std::vector<store::Job> DeadJobs() {
    auto jobs = store_->ListJobs({.state = store::JobState::kDead});
    EXPECT_TRUE(jobs.ok());
    return jobs.ok() ? *jobs : std::vector<store::Job>{};
  }

  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  testing::FakeErp erp_;
  FakeShop shop_;
  std::unique_ptr<OrderToCash> flow_;
  jobs::HandlerRegistry handlers_;
  std::unique_ptr<jobs::Runner> runner_;
  int deliveries_ = 0;
};

TEST_F(OrderToCashTest, PaidOrderBecomesOneErpOrderAndTheNumberIsWrittenBack) {
  Deliver("order.created", WooOrder(14, "processing", 1));
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:14"), 1);
  const store::OrderRecord held = Held(14);
  EXPECT_EQ(held.erp_state, "created");
  EXPECT_EQ(held.erp_number, "SO1001");
  EXPECT_THAT(shop_.notes_[14],
              ElementsAre("Keelson: ERP sales order SO1001 created in fake_erp."));
  EXPECT_EQ((shop_.meta_[{14, "_keelson_erp_ref"}]), "SO1001");
  EXPECT_THAT(TimelineKinds(14), ElementsAre("webhook.received", "order.updated",
                                             "erp.order_created", "shop.erp_ref_written"));
  auto xref = store_->FindXrefByExternalId("so1001");
  ASSERT_TRUE(xref.ok() && xref->has_value());
  EXPECT_EQ((*xref)->keelson_id, "main:14");
}

TEST_F(OrderToCashTest, DuplicatesAndOutOfOrderUpdatesMakeExactlyOneOrder) {
  // created (pending), then two updates delivered newest first, each three times.
  const json created = WooOrder(15, "pending", 1);
  const json paid = WooOrder(15, "processing", 2);
  const json completed = WooOrder(15, "completed", 3);
  for (int i = 0; i < 3; ++i) Deliver("order.created", created);
  for (int i = 0; i < 3; ++i) Deliver("order.updated", completed);
  for (int i = 0; i < 3; ++i) Deliver("order.updated", paid);  // older: dropped
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:15"), 1);
  EXPECT_EQ(erp_.create_calls(), 1);
  EXPECT_EQ(Held(15).status, "completed");
  EXPECT_EQ(shop_.notes_[15].size(), 1u);
  EXPECT_TRUE(DeadJobs().empty());
  const auto kinds = TimelineKinds(15);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "order.stale_dropped"), 1);
}

TEST_F(OrderToCashTest, PendingOrderIsNotSentUntilPaid) {
  Deliver("order.created", WooOrder(16, "pending", 1));
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:16"), 0);
  EXPECT_EQ(Held(16).erp_state, "none");
  Deliver("order.updated", WooOrder(16, "processing", 2));
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:16"), 1);
}

TEST_F(OrderToCashTest, CreateThatTimedOutAfterCommitIsFoundNotRepeated) {
  erp_.CommitThenFailNextCreate();
  Deliver("order.created", WooOrder(17, "processing", 1));
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:17"), 1);
  EXPECT_EQ(erp_.create_calls(), 2);  // the lost answer, then the verified retry
  EXPECT_EQ(Held(17).erp_state, "created");
  EXPECT_EQ(shop_.notes_[17].size(), 1u);
}

TEST_F(OrderToCashTest, UnknownSkuParksWithReasonAndReplayCreatesOnce) {
  Deliver("order.created", WooOrder(18, "processing", 1, {"WIDGET-1", "NEW-THING"}));
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:18"), 0);
  std::vector<store::Job> dead = DeadJobs();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].kind, kErpCreateJobKind);
  EXPECT_EQ(dead[0].dead_reason, "business");
  EXPECT_THAT(dead[0].last_error, HasSubstr("unknown SKU 'NEW-THING'"));
  EXPECT_EQ(dead[0].attempts, 1);  // not retried

  erp_.AddItem("NEW-THING");
  KEELSON_ASSERT_OK(store_->ReplayJob(dead[0].id, clock_.Now()));
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:18"), 1);
  EXPECT_EQ(Held(18).erp_state, "created");
  EXPECT_TRUE(DeadJobs().empty());
}

TEST_F(OrderToCashTest, TransientErpFailuresAreRetried) {
  erp_.FailNextCalls(3);
  Deliver("order.created", WooOrder(19, "processing", 1));
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:19"), 1);
  EXPECT_EQ(Held(19).erp_state, "created");
}

TEST_F(OrderToCashTest, CancellationAfterCreationCancelsTheErpOrder) {
  Deliver("order.created", WooOrder(20, "processing", 1));
  Drain();
  Deliver("order.updated", WooOrder(20, "cancelled", 2));
  Drain();
  std::vector<testing::FakeErp::SalesOrder> orders = erp_.Orders();
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].ref.state, connectors::ErpOrderState::kCancelled);
  EXPECT_EQ(Held(20).erp_state, "cancelled");
}

// Business events: one order.accepted per ERP order however often its webhooks come and its job
// runs, then order.cancelled, in that order, in the outbox (the relay publishes them).
TEST_F(OrderToCashTest, AcceptedAndCancelledEventsAreWrittenOnceEachInOrder) {
  erp_.CommitThenFailNextCreate();  // the create job runs twice
  Deliver("order.created", WooOrder(21, "processing", 1));
  Deliver("order.updated", WooOrder(21, "processing", 1));
  Drain();
  Deliver("order.updated", WooOrder(21, "cancelled", 2));
  Drain();
  auto pending = store_->ListPendingEvents(100);
  ASSERT_TRUE(pending.ok()) << pending.status();
  std::vector<std::string> ids;
  for (const auto& e : *pending) ids.push_back(e.event_id);
  EXPECT_THAT(ids, ::testing::ElementsAre("order.accepted:main:21", "order.cancelled:main:21"));
  ASSERT_EQ(pending->size(), 2u);
  const json accepted = json::parse((*pending)[0].payload_json);
  EXPECT_EQ(accepted["type"], "order.accepted");
  EXPECT_EQ(accepted["subject"], "main:21");
  EXPECT_EQ(accepted["data"]["reference"], "main:21");
  EXPECT_EQ(accepted["data"]["erp_number"], erp_.Orders()[0].ref.number);
  EXPECT_EQ(accepted["data"]["lines"].size(), 1u);
  EXPECT_EQ(accepted["data"]["lines"][0]["sku"], "WIDGET-1");
  const json cancelled = json::parse((*pending)[1].payload_json);
  EXPECT_EQ(cancelled["data"]["erp_number"], erp_.Orders()[0].ref.number);
  EXPECT_EQ((*pending)[0].correlation_id.substr(0, 5), "corr-");
}

TEST_F(OrderToCashTest, CancellationBeforeTheCreateRanCreatesNothing) {
  Deliver("order.created", WooOrder(21, "processing", 1));
  Deliver("order.updated", WooOrder(21, "cancelled", 2));
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:21"), 0);
  EXPECT_EQ(Held(21).erp_state, "skipped");
}

TEST_F(OrderToCashTest, DeletedStubCancelsTheErpOrder) {
  Deliver("order.created", WooOrder(22, "processing", 1));
  Drain();
  clock_.Set(absl::FromUnixSeconds(1'800'000'000));  // after the order's own versions
  Deliver("order.deleted", json{{"id", 22}});
  Drain();
  std::vector<testing::FakeErp::SalesOrder> orders = erp_.Orders();
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].ref.state, connectors::ErpOrderState::kCancelled);
  EXPECT_EQ(Held(22).status, "deleted");
}

TEST_F(OrderToCashTest, UnmappableOrderIsKeptRejectedAndParked) {
  json bad = WooOrder(23, "processing", 1);
  bad["line_items"][0]["quantity"] = "two";
  Deliver("order.created", bad);
  Drain();
  EXPECT_EQ(erp_.CountOrders("main:23"), 0);
  std::vector<store::Job> dead = DeadJobs();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].kind, api::kWooIngestJobKind);
  EXPECT_EQ(dead[0].dead_reason, "business");
  EXPECT_THAT(dead[0].last_error, HasSubstr("line_items[0].quantity"));
  auto delivery = store_->GetDelivery(1);
  ASSERT_TRUE(delivery.ok());
  EXPECT_EQ(delivery->status, "rejected");
  EXPECT_THAT(delivery->error, HasSubstr("line_items[0].quantity"));
}

TEST_F(OrderToCashTest, WriteBackRetryDoesNotRepeatTheNote) {
  shop_.fail_notes_ = 2;
  Deliver("order.created", WooOrder(24, "processing", 1));
  Drain();
  EXPECT_EQ(shop_.notes_[24].size(), 1u);
  EXPECT_EQ((shop_.meta_[{24, "_keelson_erp_ref"}]), "SO1001");
  // The create job's own write-back failed: the ERP order committed anyway, and a write-back
  // job of its own retried until the shop took it.
  EXPECT_THAT(TimelineKinds(24),
              ElementsAre("webhook.received", "order.updated", "erp.order_created",
                          "shop.writeback_deferred", "shop.erp_ref_written"));
  EXPECT_EQ(Held(24).erp_state, "created");
}

// The note went through but the meta write after it failed (or the process died between the
// two): the retry finds the note and writes only the meta.
TEST_F(OrderToCashTest, NoteWrittenBeforeAFailedMetaWriteIsNotRepeated) {
  shop_.fail_meta_ = 1;
  Deliver("order.created", WooOrder(25, "processing", 1));
  Drain();
  EXPECT_EQ(shop_.notes_[25].size(), 1u);
  EXPECT_EQ((shop_.meta_[{25, "_keelson_erp_ref"}]), "SO1001");
}

TEST_F(OrderToCashTest, StoreWithoutRestCredentialsSkipsWriteBackVisibly) {
  Deliver("order.created", WooOrder(25, "processing", 1), "outlet");
  Drain();
  EXPECT_EQ(erp_.CountOrders("outlet:25"), 1);
  auto events = store_->ListTimeline("order:outlet:25", 100);
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->back().kind, "shop.writeback_skipped");
}

TEST_F(OrderToCashTest, OrderViewShowsCanonicalOrderErpReferenceAndTimeline) {
  Deliver("order.created", WooOrder(26, "processing", 1));
  Drain();
  auto mapper = [](std::string_view store_id, const json& payload) {
    return connectors::woocommerce::MapOrder(store_id, payload);
  };
  KEELSON_ASSERT_OK_AND_ASSIGN(json view, api::OrderView(*store_, mapper, "main", 26));
  EXPECT_EQ(view["reference"], "main:26");
  EXPECT_EQ(view["status"], "processing");
  EXPECT_EQ(view["erp"]["state"], "created");
  EXPECT_EQ(view["erp"]["number"], "SO1001");
  EXPECT_EQ(view["order"]["total"], "25.00");
  EXPECT_EQ(view["order"]["lines"][0]["sku"], "WIDGET-1");
  EXPECT_EQ(view["order"]["lines"][0]["quantity"]["ordered"], 2);
  EXPECT_EQ(view["order"]["lines"][0]["unit_price"], "12.50");
  ASSERT_EQ(view["timeline"].size(), 4u);
  EXPECT_EQ(view["timeline"][2]["kind"], "erp.order_created");
  EXPECT_THAT(api::OrderView(*store_, mapper, "main", 999).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(OrderToCashTest, BackfillCatchesAnOrderWhoseWebhookNeverCameAndOnlyOnce) {
  clock_.Set(absl::FromUnixSeconds(1'763'640'000));  // 2025-11-20T12:00:00Z, after the orders
  std::vector<json> shop_orders = {WooOrder(30, "processing", 5), WooOrder(31, "pending", 7)};
  absl::Time asked_since;
  ModifiedOrdersPoller poller = [&](absl::Time since, absl::Duration overlap,
                                    const std::function<absl::Status(const json&)>& on_order)
      -> absl::StatusOr<PollResult> {
    asked_since = since - overlap;
    PollResult r;
    for (const json& o : shop_orders) {
      if (auto s = on_order(o); !s.ok()) return s;
      ++r.orders;
    }
    r.high_water = absl::FromUnixSeconds(1'763'632'807);  // 2025-11-20T10:00:07Z
    return r;
  };
  handlers_.Register(kBackfillJobKind,
                     MakeBackfillHandler(
                         [&](std::string_view store_id) -> const ModifiedOrdersPoller* {
                           return store_id == "main" ? &poller : nullptr;
                         },
                         {.overlap = absl::Minutes(10),
                          .first_lookback = absl::Hours(24),
                          .ingest_job_kind = api::kWooIngestJobKind}));
  auto run_backfill = [&] {
    testing::EnqueueJob(*store_, clock_.Now(),
                        {.kind = kBackfillJobKind, .payload = R"({"store":"main"})"});
    Drain();
  };
  run_backfill();
  EXPECT_EQ(asked_since, clock_.Now() - absl::Hours(24) - absl::Minutes(10));
  EXPECT_EQ(erp_.CountOrders("main:30"), 1);
  EXPECT_EQ(erp_.CountOrders("main:31"), 0);  // pending: not paid
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<std::string> cursor,
                               store_->GetCursor(BackfillCursorName("main")));
  ASSERT_TRUE(cursor.has_value());
  EXPECT_EQ(*cursor, "2025-11-20T10:00:07+00:00");
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t deliveries, store_->CountDeliveries());
  EXPECT_EQ(deliveries, 2);

  // The next poll reads the same orders again (overlap): nothing new is stored or created.
  run_backfill();
  EXPECT_EQ(asked_since, absl::FromUnixSeconds(1'763'632'807) - absl::Minutes(10));
  KEELSON_ASSERT_OK_AND_ASSIGN(deliveries, store_->CountDeliveries());
  EXPECT_EQ(deliveries, 2);
  EXPECT_EQ(erp_.CountOrders("main:30"), 1);
  EXPECT_EQ(erp_.create_calls(), 1);
}

TEST_F(OrderToCashTest, TwoChangesInOneSecondAreSettledByAskingTheShop) {
  // Paid and cancelled within the same second: both carry the same date_modified_gmt.
  Deliver("order.created", WooOrder(40, "processing", 1));
  Drain();
  ASSERT_EQ(Held(40).erp_state, "created");
  shop_.current_[40] = WooOrder(40, "cancelled", 1);
  Deliver("order.updated", WooOrder(40, "cancelled", 1));
  Drain();
  EXPECT_EQ(shop_.fetches_, 1);
  EXPECT_EQ(Held(40).status, "cancelled");
  EXPECT_EQ(Held(40).erp_state, "cancelled");
  // A same-second delivery that only differs in meta data is a duplicate: no fetch.
  json with_meta = WooOrder(40, "cancelled", 1);
  with_meta["meta_data"] = json::array({{{"key", "_keelson_erp_ref"}, {"value", "SO1001"}}});
  Deliver("order.updated", with_meta);
  Drain();
  EXPECT_EQ(shop_.fetches_, 1);
}

TEST_F(OrderToCashTest, SameSecondChangeWhereTheShopSaysOtherwiseKeepsTheShopsVersion) {
  Deliver("order.created", WooOrder(41, "pending", 1));
  Drain();
  // A stale "on-hold" delivery arrives with the held second, but the shop says processing.
  shop_.current_[41] = WooOrder(41, "processing", 1);
  Deliver("order.updated", WooOrder(41, "on-hold", 1));
  Drain();
  EXPECT_EQ(Held(41).status, "processing");
  EXPECT_EQ(erp_.CountOrders("main:41"), 1);
}

}  // namespace
}  // namespace keelson::flows
