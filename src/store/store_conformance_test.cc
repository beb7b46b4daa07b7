// The Store conformance suite: every engine instantiates StoreConformanceTest (see
// store_conformance.h) and must pass all of these. Only behaviour promised by store.h is
// asserted; all times come from a FakeClock.

#include "store/store_conformance.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace keelson::store::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::string StateOf(const Job& job) { return std::string(JobStateName(job.state)); }

std::vector<int64_t> SortedIds(const std::vector<Job>& jobs) {
  std::vector<int64_t> ids;
  for (const Job& j : jobs) ids.push_back(j.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<int64_t> Ids(const std::vector<Job>& jobs) {
  std::vector<int64_t> ids;
  for (const Job& j : jobs) ids.push_back(j.id);
  return ids;
}

std::vector<std::string> Kinds(const std::vector<TimelineEvent>& events) {
  std::vector<std::string> kinds;
  for (const TimelineEvent& e : events) kinds.push_back(e.kind);
  return kinds;
}

std::string DeliveryPayload(int64_t delivery_id) {
  return absl::StrCat("{\"delivery_id\":", delivery_id, "}");
}

DeliveryToAccept MakeDelivery(std::string dedupe_key, std::string correlation_id,
                              std::string partition_key) {
  DeliveryToAccept d;
  d.source = "woocommerce";
  d.store_id = "main";
  d.topic = "order.created";
  d.dedupe_key = std::move(dedupe_key);
  d.headers_json = R"({"X-WC-Webhook-Topic":"order.created"})";
  d.body = absl::StrCat(R"({"id":)", d.dedupe_key.size(), "}");
  d.correlation_id = std::move(correlation_id);
  d.job_kind = "woocommerce.ingest";
  d.job_partition_key = std::move(partition_key);
  return d;
}

constexpr absl::Duration kLease = absl::Seconds(30);

// ---- inbox ---------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, PingSucceeds) { KEELSON_EXPECT_OK(store_->Ping()); }

TEST_P(StoreConformanceTest, AcceptDeliveriesStoresEachWithExactlyOneJob) {
  const absl::Time t0 = clock_.Now();
  std::vector<DeliveryToAccept> batch = {
      MakeDelivery("k1", "corr-1", "order:main:1001"),
      MakeDelivery("k2", "corr-2", "order:main:1002"),
      MakeDelivery("k3", "corr-3", ""),
  };
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AcceptResult> results,
                               store_->AcceptDeliveries(batch, t0));
  ASSERT_EQ(results.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(results[i].duplicate) << i;
    EXPECT_GT(results[i].delivery_id, 0) << i;
    EXPECT_EQ(results[i].correlation_id, batch[i].correlation_id) << i;
  }
  EXPECT_NE(results[0].delivery_id, results[1].delivery_id);
  EXPECT_NE(results[0].delivery_id, results[2].delivery_id);
  EXPECT_NE(results[1].delivery_id, results[2].delivery_id);

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store_->ListJobs(JobFilter{}));
  ASSERT_EQ(jobs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(absl::StrCat("delivery ", i));
    const std::string payload = DeliveryPayload(results[i].delivery_id);
    auto it =
        std::find_if(jobs.begin(), jobs.end(), [&](const Job& j) { return j.payload == payload; });
    ASSERT_NE(it, jobs.end()) << payload;
    EXPECT_EQ(
        std::count_if(jobs.begin(), jobs.end(), [&](const Job& j) { return j.payload == payload; }),
        1);
    EXPECT_EQ(it->kind, "woocommerce.ingest");
    EXPECT_EQ(it->partition_key, batch[i].job_partition_key);
    EXPECT_EQ(it->correlation_id, batch[i].correlation_id);
    EXPECT_EQ(StateOf(*it), "queued");
    EXPECT_EQ(it->attempts, 0);
    EXPECT_EQ(it->run_at, t0);
    EXPECT_EQ(it->enqueued_at, t0);
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t count, store_->CountDeliveries());
  EXPECT_EQ(count, 3);
}

TEST_P(StoreConformanceTest, AcceptDeliveriesDeduplicatesAcrossAndWithinBatches) {
  const absl::Time t0 = clock_.Now();
  std::vector<DeliveryToAccept> first = {MakeDelivery("k1", "corr-1", "order:main:1"),
                                         MakeDelivery("k2", "corr-2", "order:main:2"),
                                         MakeDelivery("k3", "corr-3", "order:main:3")};
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AcceptResult> r1, store_->AcceptDeliveries(first, t0));
  ASSERT_EQ(r1.size(), 3u);

  clock_.Advance(absl::Seconds(5));
  std::vector<DeliveryToAccept> second = {
      MakeDelivery("k2", "corr-redelivered", "order:main:2"),  // a redelivery of k2
      MakeDelivery("k4", "corr-4", "order:main:4"),            // new
      MakeDelivery("k4", "corr-4-again", "order:main:4"),      // k4 twice in one batch
      MakeDelivery("k1", "corr-1-again", "order:main:1"),      // a redelivery of k1
  };
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AcceptResult> r2,
                               store_->AcceptDeliveries(second, clock_.Now()));
  ASSERT_EQ(r2.size(), 4u);
  EXPECT_TRUE(r2[0].duplicate);
  EXPECT_EQ(r2[0].delivery_id, r1[1].delivery_id);
  EXPECT_EQ(r2[0].correlation_id, "corr-2");
  EXPECT_FALSE(r2[1].duplicate);
  EXPECT_EQ(r2[1].correlation_id, "corr-4");
  for (const AcceptResult& r : r1) EXPECT_NE(r2[1].delivery_id, r.delivery_id);
  EXPECT_TRUE(r2[2].duplicate);
  EXPECT_EQ(r2[2].delivery_id, r2[1].delivery_id);
  EXPECT_EQ(r2[2].correlation_id, "corr-4");
  EXPECT_TRUE(r2[3].duplicate);
  EXPECT_EQ(r2[3].delivery_id, r1[0].delivery_id);
  EXPECT_EQ(r2[3].correlation_id, "corr-1");

  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t count, store_->CountDeliveries());
  EXPECT_EQ(count, 4);
  // One job per distinct delivery, none for the duplicates.
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store_->ListJobs(JobFilter{}));
  ASSERT_EQ(jobs.size(), 4u);
  std::vector<std::string> payloads;
  for (const Job& j : jobs) payloads.push_back(j.payload);
  EXPECT_THAT(
      payloads,
      UnorderedElementsAre(DeliveryPayload(r1[0].delivery_id), DeliveryPayload(r1[1].delivery_id),
                           DeliveryPayload(r1[2].delivery_id), DeliveryPayload(r2[1].delivery_id)));
  // The stored delivery is the first one, untouched by the redelivery.
  KEELSON_ASSERT_OK_AND_ASSIGN(Delivery d2, store_->GetDelivery(r1[1].delivery_id));
  EXPECT_EQ(d2.correlation_id, "corr-2");
  EXPECT_EQ(d2.received_at, t0);
}

TEST_P(StoreConformanceTest, AcceptDeliveriesEmptyBatchIsANoOp) {
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AcceptResult> results,
                               store_->AcceptDeliveries({}, clock_.Now()));
  EXPECT_EQ(results.size(), 0u);
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t count, store_->CountDeliveries());
  EXPECT_EQ(count, 0);
}

TEST_P(StoreConformanceTest, GetDeliveryReturnsExactBytesAndHeaders) {
  const absl::Time t0 = clock_.Now();
  DeliveryToAccept json = MakeDelivery("dk-json", "corr-json", "order:main:77");
  json.topic = "order.updated";
  json.headers_json =
      R"({"X-WC-Webhook-Topic":"order.updated","X-WC-Webhook-Signature":"q8\/+Zx==",)"
      R"("X-WC-Webhook-Delivery-ID":"4711"})";
  json.body =
      R"({"id":77,"permalink":"https:\/\/shop.example\/?p=77","note":"Caf\u00e9 \"quoted\"",)"
      R"("name":"Größe ✓ 🛒","path":"C:\\tmp\\x"})";
  DeliveryToAccept binary = MakeDelivery("dk-bin", "corr-bin", "");
  // Control characters, DEL, multi-byte UTF-8 and a lone backslash: no NUL.
  binary.body = "\x01\x02\x1f\x7f \xc3\xa9\xe2\x9c\x93\xf0\x9f\x9b\x92 tab\there\r\n\\";
  binary.headers_json = "{}";
  std::vector<DeliveryToAccept> batch = {json, binary};
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AcceptResult> r, store_->AcceptDeliveries(batch, t0));
  ASSERT_EQ(r.size(), 2u);

  KEELSON_ASSERT_OK_AND_ASSIGN(Delivery d, store_->GetDelivery(r[0].delivery_id));
  EXPECT_EQ(d.id, r[0].delivery_id);
  EXPECT_EQ(d.source, "woocommerce");
  EXPECT_EQ(d.store_id, "main");
  EXPECT_EQ(d.topic, "order.updated");
  EXPECT_EQ(d.dedupe_key, "dk-json");
  EXPECT_EQ(d.headers_json, json.headers_json);
  EXPECT_EQ(d.body, json.body);
  EXPECT_EQ(d.body.size(), json.body.size());
  EXPECT_EQ(d.correlation_id, "corr-json");
  EXPECT_EQ(d.received_at, t0);
  EXPECT_EQ(d.status, "received");
  EXPECT_EQ(d.error, "");

  KEELSON_ASSERT_OK_AND_ASSIGN(Delivery b, store_->GetDelivery(r[1].delivery_id));
  EXPECT_EQ(b.body, binary.body);
  EXPECT_EQ(b.body.size(), binary.body.size());
  EXPECT_EQ(b.headers_json, "{}");
}

TEST_P(StoreConformanceTest, GetDeliveryMissingIsNotFound) {
  absl::StatusOr<Delivery> d = store_->GetDelivery(424242);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kNotFound) << d.status();
}

// ---- transactions --------------------------------------------------------------------------

TEST_P(StoreConformanceTest, TransactCommitsEverythingOnOk) {
  const absl::Time t0 = clock_.Now();
  int64_t job_id = 0;
  absl::Status st = store_->Transact(t0, [&](Tx& tx) -> absl::Status {
    EXPECT_EQ(tx.now(), t0);
    NewJob job;
    job.kind = "erp.create_order";
    job.partition_key = "order:main:1";
    job.payload = R"({"order":1})";
    job.correlation_id = "corr-tx";
    job.max_attempts = 7;
    absl::StatusOr<int64_t> id = tx.EnqueueJob(job);
    if (!id.ok()) return id.status();
    job_id = *id;
    if (auto s = tx.AppendTimeline({.entity = "order:main:1",
                                    .correlation_id = "corr-tx",
                                    .at = t0,
                                    .kind = "erp.order_queued",
                                    .detail_json = R"({"job":1})"});
        !s.ok()) {
      return s;
    }
    return tx.PutXref({"order", "main:1", "business_central", "SO-1001"});
  });
  KEELSON_ASSERT_OK(st);

  KEELSON_ASSERT_OK_AND_ASSIGN(Job job, store_->GetJob(job_id));
  EXPECT_EQ(job.id, job_id);
  EXPECT_EQ(job.kind, "erp.create_order");
  EXPECT_EQ(job.partition_key, "order:main:1");
  EXPECT_EQ(job.payload, R"({"order":1})");
  EXPECT_EQ(job.correlation_id, "corr-tx");
  EXPECT_EQ(StateOf(job), "queued");
  EXPECT_EQ(job.attempts, 0);
  EXPECT_EQ(job.max_attempts, 7);
  EXPECT_EQ(job.run_at, t0);
  EXPECT_EQ(job.enqueued_at, t0);
  EXPECT_EQ(job.deadline_at, absl::InfiniteFuture());
  EXPECT_EQ(job.dead_reason, "");

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<TimelineEvent> events,
                               store_->ListTimeline("order:main:1", 100));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "erp.order_queued");
  EXPECT_EQ(events[0].detail_json, R"({"job":1})");

  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<Xref> xref,
                               store_->GetXref("order", "main:1", "business_central"));
  ASSERT_TRUE(xref.has_value());
  EXPECT_EQ(xref->external_id, "SO-1001");
}

TEST_P(StoreConformanceTest, EnqueueJobKeepsRunAtAndDeadline) {
  const absl::Time t0 = clock_.Now();
  NewJob job;
  job.kind = "later";
  job.payload = "{}";
  job.run_at = t0 + absl::Minutes(5);
  job.deadline = absl::Hours(2);
  const int64_t id = Enqueue(job);
  KEELSON_ASSERT_OK_AND_ASSIGN(Job got, store_->GetJob(id));
  EXPECT_EQ(got.run_at, t0 + absl::Minutes(5));
  EXPECT_EQ(got.enqueued_at, t0);
  EXPECT_EQ(got.deadline_at, t0 + absl::Hours(2));
}

TEST_P(StoreConformanceTest, TransactRollsBackEverythingOnError) {
  const absl::Time t0 = clock_.Now();
  int64_t job_id = 0;
  absl::Status st = store_->Transact(t0, [&](Tx& tx) -> absl::Status {
    NewJob job;
    job.kind = "erp.create_order";
    job.payload = "{}";
    absl::StatusOr<int64_t> id = tx.EnqueueJob(job);
    if (!id.ok()) return id.status();
    job_id = *id;
    if (auto s = tx.AppendTimeline({.entity = "order:main:2",
                                    .correlation_id = "corr-rb",
                                    .at = t0,
                                    .kind = "k",
                                    .detail_json = "{}"});
        !s.ok()) {
      return s;
    }
    if (auto s = tx.PutXref({"order", "main:2", "business_central", "SO-2"}); !s.ok()) return s;
    absl::StatusOr<bool> fresh = tx.PutIdempotencyKey("effect:rb");
    if (!fresh.ok()) return fresh.status();
    EXPECT_TRUE(*fresh);
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted) << st;
  ASSERT_NE(job_id, 0);

  EXPECT_EQ(store_->GetJob(job_id).status().code(), absl::StatusCode::kNotFound);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store_->ListJobs(JobFilter{}));
  EXPECT_THAT(Ids(jobs), IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<TimelineEvent> events,
                               store_->ListTimeline("order:main:2", 100));
  EXPECT_THAT(Kinds(events), IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<TimelineEvent> by_corr,
                               store_->ListTimelineByCorrelation("corr-rb", 100));
  EXPECT_THAT(Kinds(by_corr), IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<Xref> xref,
                               store_->GetXref("order", "main:2", "business_central"));
  EXPECT_FALSE(xref.has_value());
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<absl::Time> next, store_->NextRunAt());
  EXPECT_FALSE(next.has_value());
  // The idempotency key was rolled back too: it is new again.
  bool fresh_again = false;
  KEELSON_ASSERT_OK(store_->Transact(t0, [&](Tx& tx) -> absl::Status {
    absl::StatusOr<bool> fresh = tx.PutIdempotencyKey("effect:rb");
    if (!fresh.ok()) return fresh.status();
    fresh_again = *fresh;
    return absl::OkStatus();
  }));
  EXPECT_TRUE(fresh_again);
}

TEST_P(StoreConformanceTest, TransactFailingOperationRollsBackEarlierOnes) {
  int64_t job_id = 0;
  absl::Status st = store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    NewJob job;
    job.kind = "k";
    job.payload = "{}";
    absl::StatusOr<int64_t> id = tx.EnqueueJob(job);
    if (!id.ok()) return id.status();
    job_id = *id;
    return tx.SetDeliveryStatus(987654, "processed", "");  // no such delivery
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound) << st;
  EXPECT_EQ(store_->GetJob(job_id).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, PutIdempotencyKeyIsNewOnlyOnce) {
  std::vector<bool> seen;
  auto put = [&](std::string_view key) {
    return store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
      absl::StatusOr<bool> fresh = tx.PutIdempotencyKey(key);
      if (!fresh.ok()) return fresh.status();
      seen.push_back(*fresh);
      return absl::OkStatus();
    });
  };
  KEELSON_ASSERT_OK(put("erp:order:main:1:create"));
  KEELSON_ASSERT_OK(put("erp:order:main:1:create"));
  KEELSON_ASSERT_OK(put("erp:order:main:2:create"));
  // Twice inside one transaction.
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<bool> fresh = tx.PutIdempotencyKey("mail:welcome:7");
      if (!fresh.ok()) return fresh.status();
      seen.push_back(*fresh);
    }
    return absl::OkStatus();
  }));
  EXPECT_THAT(seen, ElementsAre(true, false, true, true, false));
}

TEST_P(StoreConformanceTest, SetDeliveryStatusUpdatesAndMissingIsNotFound) {
  std::vector<DeliveryToAccept> batch = {MakeDelivery("k1", "c1", "")};
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AcceptResult> r,
                               store_->AcceptDeliveries(batch, clock_.Now()));
  ASSERT_EQ(r.size(), 1u);
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.SetDeliveryStatus(r[0].delivery_id, "rejected", "body is not valid JSON");
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(Delivery d, store_->GetDelivery(r[0].delivery_id));
  EXPECT_EQ(d.status, "rejected");
  EXPECT_EQ(d.error, "body is not valid JSON");

  absl::Status missing = store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.SetDeliveryStatus(r[0].delivery_id + 1000, "processed", "");
  });
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
}

// ---- claiming ------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, ClaimRunsOneJobPerPartitionInEnqueueOrder) {
  const int64_t a1 = Enqueue("k", "p:A");
  const int64_t a2 = Enqueue("k", "p:A");
  const int64_t a3 = Enqueue("k", "p:A");
  const int64_t b1 = Enqueue("k", "p:B");
  const absl::Time t0 = clock_.Now();

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> first, store_->ClaimJobs("w1", t0, kLease, 10));
  EXPECT_THAT(SortedIds(first), ElementsAre(a1, b1));
  for (const Job& j : first) {
    EXPECT_EQ(StateOf(j), "running");
    EXPECT_EQ(j.lease_owner, "w1");
    EXPECT_EQ(j.lease_expires_at, t0 + kLease);
    EXPECT_EQ(j.attempts, 1);
  }
  // A1 is running: nothing else of p:A may start, even for another worker.
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> none, store_->ClaimJobs("w2", t0, kLease, 10));
  EXPECT_THAT(Ids(none), IsEmpty());

  KEELSON_ASSERT_OK(store_->CompleteJob(a1, "w1", t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> second, store_->ClaimJobs("w1", t0, kLease, 10));
  EXPECT_THAT(Ids(second), ElementsAre(a2));
  KEELSON_ASSERT_OK_AND_ASSIGN(none, store_->ClaimJobs("w2", t0, kLease, 10));
  EXPECT_THAT(Ids(none), IsEmpty());

  KEELSON_ASSERT_OK(store_->CompleteJob(b1, "w1", t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(none, store_->ClaimJobs("w2", t0, kLease, 10));
  EXPECT_THAT(Ids(none), IsEmpty());  // B is empty now, A2 still runs

  KEELSON_ASSERT_OK(store_->CompleteJob(a2, "w1", t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> third, store_->ClaimJobs("w2", t0, kLease, 10));
  EXPECT_THAT(Ids(third), ElementsAre(a3));
  KEELSON_ASSERT_OK(store_->CompleteJob(a3, "w2", t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(none, store_->ClaimJobs("w2", t0, kLease, 10));
  EXPECT_THAT(Ids(none), IsEmpty());
}

TEST_P(StoreConformanceTest, ClaimFilterHandsOutOnlyItsKindsAndKeepsPartitionOrder) {
  const int64_t erp1 = Enqueue("erp.create", "order:1");
  const int64_t shop1 = Enqueue("shop.note", "order:1");  // behind erp1 in its partition
  const int64_t shop2 = Enqueue("shop.note", "order:2");
  const int64_t local = Enqueue("ingest", "order:3");
  const absl::Time t0 = clock_.Now();

  const ClaimFilter shop{.kinds = {"shop.note"}};
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> got,
                               store_->ClaimJobs("w", t0, kLease, 10, shop));
  // shop1 waits for erp1, which the shop lane may not take.
  EXPECT_THAT(Ids(got), ElementsAre(shop2));

  const ClaimFilter rest{.kinds = {"shop.note", "erp.create"}, .exclude = true};
  KEELSON_ASSERT_OK_AND_ASSIGN(got, store_->ClaimJobs("w", t0, kLease, 10, rest));
  EXPECT_THAT(Ids(got), ElementsAre(local));

  const ClaimFilter erp{.kinds = {"erp.create"}};
  KEELSON_ASSERT_OK_AND_ASSIGN(got, store_->ClaimJobs("w", t0, kLease, 10, erp));
  EXPECT_THAT(Ids(got), ElementsAre(erp1));
  KEELSON_ASSERT_OK(store_->CompleteJob(erp1, "w", t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(got, store_->ClaimJobs("w", t0, kLease, 10, shop));
  EXPECT_THAT(Ids(got), ElementsAre(shop1));
}

TEST_P(StoreConformanceTest, RetryNotAttemptedDoesNotCountTheAttempt) {
  NewJob job;
  job.kind = "erp.create";
  job.max_attempts = 2;
  const int64_t id = Enqueue(job);
  const absl::Time t0 = clock_.Now();
  for (int i = 0; i < 5; ++i) {
    KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> got,
                                 store_->ClaimJobs("w", t0, kLease, 10));
    ASSERT_THAT(Ids(got), ElementsAre(id));
    EXPECT_EQ(got[0].attempts, 1);
    KEELSON_ASSERT_OK_AND_ASSIGN(
        std::vector<absl::Status> r,
        store_->RecordOutcomes(std::vector<JobOutcome>{{.job_id = id,
                                                        .owner = "w",
                                                        .kind = JobOutcome::Kind::kRetry,
                                                        .run_at = t0,
                                                        .error = "circuit open",
                                                        .not_attempted = true}},
                               t0));
    KEELSON_ASSERT_OK(r[0]);
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(Job j, store_->GetJob(id));
  EXPECT_EQ(StateOf(j), "queued");
  EXPECT_EQ(j.attempts, 0);
  EXPECT_EQ(j.last_error, "circuit open");
}

TEST_P(StoreConformanceTest, ClaimTakesUnpartitionedJobsTogether) {
  const int64_t e1 = Enqueue("k", "");
  const int64_t e2 = Enqueue("k", "");
  const int64_t e3 = Enqueue("k", "");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs,
                               store_->ClaimJobs("w1", clock_.Now(), kLease, 10));
  EXPECT_THAT(SortedIds(jobs), ElementsAre(e1, e2, e3));
}

TEST_P(StoreConformanceTest, ClaimSkipsJobsUntilTheirRunAt) {
  const absl::Time t0 = clock_.Now();
  NewJob later;
  later.kind = "k";
  later.payload = "{}";
  later.run_at = t0 + absl::Seconds(10);
  const int64_t id = Enqueue(later);

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store_->ClaimJobs("w1", t0, kLease, 10));
  EXPECT_THAT(Ids(jobs), IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(
      jobs, store_->ClaimJobs("w1", t0 + absl::Seconds(10) - absl::Milliseconds(1), kLease, 10));
  EXPECT_THAT(Ids(jobs), IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(jobs, store_->ClaimJobs("w1", t0 + absl::Seconds(10), kLease, 10));
  EXPECT_THAT(Ids(jobs), ElementsAre(id));
}

TEST_P(StoreConformanceTest, ClaimRespectsMaxOldestFirst) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Enqueue("k", ""));
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> a, store_->ClaimJobs("w1", t0, kLease, 2));
  EXPECT_THAT(SortedIds(a), ElementsAre(ids[0], ids[1]));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> b, store_->ClaimJobs("w1", t0, kLease, 2));
  EXPECT_THAT(SortedIds(b), ElementsAre(ids[2], ids[3]));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c, store_->ClaimJobs("w1", t0, kLease, 2));
  EXPECT_THAT(SortedIds(c), ElementsAre(ids[4]));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> d, store_->ClaimJobs("w1", t0, kLease, 2));
  EXPECT_THAT(Ids(d), IsEmpty());
}

TEST_P(StoreConformanceTest, PartitionHeadWaitingForRetryBlocksLaterJobs) {
  const int64_t a1 = Enqueue("k", "p:A");
  const int64_t a2 = Enqueue("k", "p:A");
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store_->ClaimJobs("w1", t0, kLease, 10));
  ASSERT_THAT(Ids(jobs), ElementsAre(a1));
  KEELSON_ASSERT_OK(store_->RetryJob(a1, "w1", t0 + absl::Minutes(1), "503 from ERP", t0));

  KEELSON_ASSERT_OK_AND_ASSIGN(Job head, store_->GetJob(a1));
  EXPECT_EQ(StateOf(head), "queued");
  EXPECT_EQ(head.run_at, t0 + absl::Minutes(1));
  EXPECT_EQ(head.last_error, "503 from ERP");
  EXPECT_EQ(head.lease_owner, "");

  // A2 is due but must wait behind A1.
  KEELSON_ASSERT_OK_AND_ASSIGN(jobs, store_->ClaimJobs("w1", t0 + absl::Seconds(59), kLease, 10));
  EXPECT_THAT(Ids(jobs), IsEmpty());
  const absl::Time t1 = t0 + absl::Minutes(1);
  KEELSON_ASSERT_OK_AND_ASSIGN(jobs, store_->ClaimJobs("w1", t1, kLease, 10));
  ASSERT_THAT(Ids(jobs), ElementsAre(a1));
  EXPECT_EQ(jobs[0].attempts, 2);
  KEELSON_ASSERT_OK(store_->CompleteJob(a1, "w1", t1));
  KEELSON_ASSERT_OK_AND_ASSIGN(jobs, store_->ClaimJobs("w1", t1, kLease, 10));
  EXPECT_THAT(Ids(jobs), ElementsAre(a2));
}

TEST_P(StoreConformanceTest, DeadPartitionHeadDoesNotBlockLaterJobs) {
  const int64_t a1 = Enqueue("k", "p:A");
  const int64_t a2 = Enqueue("k", "p:A");
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store_->ClaimJobs("w1", t0, kLease, 10));
  ASSERT_THAT(Ids(jobs), ElementsAre(a1));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(a1, "w1", "business", "422", t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(jobs, store_->ClaimJobs("w1", t0, kLease, 10));
  EXPECT_THAT(Ids(jobs), ElementsAre(a2));
}

TEST_P(StoreConformanceTest, ReplayedJobWaitsWhileItsPartitionIsRunning) {
  // A1 dies, A2 starts; an operator replays A1 while A2 still runs. A1 has the lower id but must
  // not run alongside A2: one job per partition at a time.
  const int64_t a1 = Enqueue("k", "p:A");
  const int64_t a2 = Enqueue("k", "p:A");
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store_->ClaimJobs("w1", t0, kLease, 10));
  ASSERT_THAT(Ids(jobs), ElementsAre(a1));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(a1, "w1", "business", "422", t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(jobs, store_->ClaimJobs("w1", t0, kLease, 10));
  ASSERT_THAT(Ids(jobs), ElementsAre(a2));

  KEELSON_ASSERT_OK(store_->ReplayJob(a1, t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(jobs, store_->ClaimJobs("w2", t0, kLease, 10));
  EXPECT_THAT(Ids(jobs), IsEmpty()) << "replayed A1 claimed while A2 is running";

  KEELSON_ASSERT_OK(store_->CompleteJob(a2, "w1", t0));
  KEELSON_ASSERT_OK_AND_ASSIGN(jobs, store_->ClaimJobs("w2", t0, kLease, 10));
  EXPECT_THAT(Ids(jobs), ElementsAre(a1));
}

TEST_P(StoreConformanceTest, ClaimWithMaxZeroClaimsNothing) {
  Enqueue("k", "");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs,
                               store_->ClaimJobs("w1", clock_.Now(), kLease, 0));
  EXPECT_THAT(Ids(jobs), IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats stats, store_->GetJobStats(clock_.Now()));
  EXPECT_EQ(stats.queued, 1);
  EXPECT_EQ(stats.running, 0);
}

// ---- leases --------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, ExpiredLeaseIsReclaimedAndOldOwnerIsFenced) {
  enum class Op { kComplete, kRetry, kDeadLetter };
  int n = 0;
  for (Op op : {Op::kComplete, Op::kRetry, Op::kDeadLetter}) {
    SCOPED_TRACE(absl::StrCat("op ", static_cast<int>(op)));
    const int64_t id = Enqueue("erp.push", absl::StrCat("p:", n++));
    const absl::Time t0 = clock_.Now();
    KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> w1, store_->ClaimJobs("w1", t0, kLease, 10));
    ASSERT_THAT(Ids(w1), ElementsAre(id));
    EXPECT_EQ(w1[0].attempts, 1);

    // Still within the lease: not reclaimable.
    KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> early,
                                 store_->ClaimJobs("w2", t0 + absl::Seconds(29), kLease, 10));
    EXPECT_THAT(Ids(early), IsEmpty());

    clock_.Advance(absl::Seconds(31));
    const absl::Time t1 = clock_.Now();
    KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> w2, store_->ClaimJobs("w2", t1, kLease, 10));
    ASSERT_THAT(Ids(w2), ElementsAre(id));
    EXPECT_EQ(w2[0].attempts, 2);
    EXPECT_EQ(w2[0].lease_owner, "w2");
    EXPECT_EQ(w2[0].lease_expires_at, t1 + kLease);

    // w1 lost the job: every fenced operation fails and changes nothing.
    EXPECT_EQ(store_->CompleteJob(id, "w1", t1).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(store_->RetryJob(id, "w1", t1, "late", t1).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(store_->DeadLetterJob(id, "w1", "business", "late", t1).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(store_->ExtendLease(id, "w1", t1 + absl::Hours(1)).code(),
              absl::StatusCode::kFailedPrecondition);
    KEELSON_ASSERT_OK_AND_ASSIGN(Job still, store_->GetJob(id));
    EXPECT_EQ(StateOf(still), "running");
    EXPECT_EQ(still.lease_owner, "w2");
    EXPECT_EQ(still.attempts, 2);
    EXPECT_EQ(still.lease_expires_at, t1 + kLease);

    KEELSON_ASSERT_OK_AND_ASSIGN(Job before, store_->GetJob(id));
    switch (op) {
      case Op::kComplete: {
        KEELSON_ASSERT_OK(store_->CompleteJob(id, "w2", t1));
        KEELSON_ASSERT_OK_AND_ASSIGN(Job j, store_->GetJob(id));
        EXPECT_EQ(StateOf(j), "done");
        break;
      }
      case Op::kRetry: {
        // Far in the future so that later iterations do not claim it again.
        KEELSON_ASSERT_OK(store_->RetryJob(id, "w2", t1 + absl::Hours(24), "503", t1));
        KEELSON_ASSERT_OK_AND_ASSIGN(Job j, store_->GetJob(id));
        EXPECT_EQ(StateOf(j), "queued");
        EXPECT_EQ(j.run_at, t1 + absl::Hours(24));
        EXPECT_EQ(j.last_error, "503");
        break;
      }
      case Op::kDeadLetter: {
        KEELSON_ASSERT_OK(store_->DeadLetterJob(id, "w2", "poison", "bad json", t1));
        KEELSON_ASSERT_OK_AND_ASSIGN(Job j, store_->GetJob(id));
        EXPECT_EQ(StateOf(j), "dead");
        EXPECT_EQ(j.dead_reason, "poison");
        EXPECT_EQ(j.last_error, "bad json");
        break;
      }
    }
    // Once finished (or requeued), w2 cannot act on it twice either.
    EXPECT_EQ(store_->CompleteJob(id, "w2", t1).code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST_P(StoreConformanceTest, LeaseExpiredOnFinalAttemptDeadLetters) {
  NewJob job;
  job.kind = "crashy";
  job.partition_key = "p:A";
  job.payload = "{}";
  job.max_attempts = 2;
  const int64_t id = Enqueue(job);
  const int64_t follower = Enqueue("k", "p:A");

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c1,
                               store_->ClaimJobs("w1", clock_.Now(), kLease, 10));
  ASSERT_THAT(Ids(c1), ElementsAre(id));
  clock_.Advance(absl::Seconds(31));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c2,
                               store_->ClaimJobs("w2", clock_.Now(), kLease, 10));
  ASSERT_THAT(Ids(c2), ElementsAre(id));
  EXPECT_EQ(c2[0].attempts, 2);
  // The worker dies again on its last attempt: the job is dead, not retried forever, and the
  // partition moves on.
  clock_.Advance(absl::Seconds(31));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c3,
                               store_->ClaimJobs("w3", clock_.Now(), kLease, 10));
  EXPECT_THAT(Ids(c3), ElementsAre(follower));

  KEELSON_ASSERT_OK_AND_ASSIGN(Job dead, store_->GetJob(id));
  EXPECT_EQ(StateOf(dead), "dead");
  EXPECT_EQ(dead.dead_reason, "max_attempts");
  EXPECT_EQ(dead.attempts, 2);
  EXPECT_EQ(dead.lease_owner, "");
  EXPECT_EQ(store_->CompleteJob(id, "w2", clock_.Now()).code(),
            absl::StatusCode::kFailedPrecondition);
  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats stats, store_->GetJobStats(clock_.Now()));
  EXPECT_EQ(stats.dead, 1);
  EXPECT_THAT(stats.dead_by_reason, ElementsAre(Pair("max_attempts", 1)));
}

TEST_P(StoreConformanceTest, ExtendLeaseKeepsJobFromBeingReclaimed) {
  const int64_t id = Enqueue("slow", "");
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c, store_->ClaimJobs("w1", t0, kLease, 10));
  ASSERT_THAT(Ids(c), ElementsAre(id));

  KEELSON_ASSERT_OK(store_->ExtendLease(id, "w1", t0 + absl::Seconds(50)));
  KEELSON_ASSERT_OK_AND_ASSIGN(Job j, store_->GetJob(id));
  EXPECT_EQ(j.lease_expires_at, t0 + absl::Seconds(50));

  for (int s : {31, 40, 49}) {
    KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> other,
                                 store_->ClaimJobs("w2", t0 + absl::Seconds(s), kLease, 10));
    EXPECT_THAT(Ids(other), IsEmpty()) << "at +" << s << "s";
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(j, store_->GetJob(id));
  EXPECT_EQ(StateOf(j), "running");
  EXPECT_EQ(j.lease_owner, "w1");
  EXPECT_EQ(j.attempts, 1);
  KEELSON_ASSERT_OK(store_->CompleteJob(id, "w1", t0 + absl::Seconds(49)));
  KEELSON_ASSERT_OK_AND_ASSIGN(j, store_->GetJob(id));
  EXPECT_EQ(StateOf(j), "done");
  // Not running any more: nothing to extend.
  EXPECT_EQ(store_->ExtendLease(id, "w1", t0 + absl::Hours(1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(StoreConformanceTest, ExtendedLeaseStillExpiresEventually) {
  const int64_t id = Enqueue("slow", "");
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c, store_->ClaimJobs("w1", t0, kLease, 10));
  ASSERT_THAT(Ids(c), ElementsAre(id));
  KEELSON_ASSERT_OK(store_->ExtendLease(id, "w1", t0 + absl::Seconds(50)));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> other,
                               store_->ClaimJobs("w2", t0 + absl::Seconds(51), kLease, 10));
  ASSERT_THAT(Ids(other), ElementsAre(id));
  EXPECT_EQ(other[0].attempts, 2);
  EXPECT_EQ(other[0].lease_owner, "w2");
}

// ---- dead letters and replay ---------------------------------------------------------------

TEST_P(StoreConformanceTest, ReplayRequeuesDeadJobWithFreshDeadlineWindow) {
  const absl::Time t0 = clock_.Now();
  NewJob job;
  job.kind = "erp.create_order";
  job.partition_key = "order:main:9";
  job.payload = "{}";
  job.deadline = absl::Hours(1);
  const int64_t id = Enqueue(job);
  KEELSON_ASSERT_OK_AND_ASSIGN(Job enqueued, store_->GetJob(id));
  EXPECT_EQ(enqueued.deadline_at, t0 + absl::Hours(1));

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c, store_->ClaimJobs("w1", t0, absl::Hours(2), 1));
  ASSERT_THAT(Ids(c), ElementsAre(id));
  clock_.Advance(absl::Minutes(50));
  const absl::Time t_dead = clock_.Now();
  KEELSON_ASSERT_OK(store_->DeadLetterJob(id, "w1", "business", "HTTP 422: unknown SKU", t_dead));
  KEELSON_ASSERT_OK_AND_ASSIGN(Job dead, store_->GetJob(id));
  EXPECT_EQ(StateOf(dead), "dead");
  EXPECT_EQ(dead.dead_reason, "business");
  EXPECT_EQ(dead.last_error, "HTTP 422: unknown SKU");
  EXPECT_EQ(dead.lease_owner, "");
  EXPECT_EQ(dead.updated_at, t_dead);

  clock_.Advance(absl::Minutes(5));
  const absl::Time t_replay = clock_.Now();
  KEELSON_ASSERT_OK(store_->ReplayJob(id, t_replay));
  KEELSON_ASSERT_OK_AND_ASSIGN(Job replayed, store_->GetJob(id));
  EXPECT_EQ(StateOf(replayed), "queued");
  EXPECT_EQ(replayed.attempts, 0);
  EXPECT_EQ(replayed.dead_reason, "");
  EXPECT_EQ(replayed.lease_owner, "");
  EXPECT_EQ(replayed.run_at, t_replay);
  EXPECT_EQ(replayed.deadline_at, t_replay + absl::Hours(1));

  KEELSON_ASSERT_OK_AND_ASSIGN(c, store_->ClaimJobs("w2", t_replay, kLease, 10));
  ASSERT_THAT(Ids(c), ElementsAre(id));
  EXPECT_EQ(c[0].attempts, 1);
}

TEST_P(StoreConformanceTest, ReplayWithoutDeadlineKeepsNoDeadline) {
  const int64_t id = Enqueue("k", "");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c,
                               store_->ClaimJobs("w1", clock_.Now(), kLease, 1));
  ASSERT_THAT(Ids(c), ElementsAre(id));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(id, "w1", "poison", "x", clock_.Now()));
  clock_.Advance(absl::Hours(3));
  KEELSON_ASSERT_OK(store_->ReplayJob(id, clock_.Now()));
  KEELSON_ASSERT_OK_AND_ASSIGN(Job j, store_->GetJob(id));
  EXPECT_EQ(StateOf(j), "queued");
  EXPECT_EQ(j.deadline_at, absl::InfiniteFuture());
  EXPECT_EQ(j.run_at, clock_.Now());
}

TEST_P(StoreConformanceTest, ReplayRejectsJobsThatAreNotDead) {
  const int64_t queued = Enqueue("k", "");
  const int64_t running = Enqueue("k", "");
  const int64_t done = Enqueue("k", "");
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c, store_->ClaimJobs("w1", t0, kLease, 10));
  ASSERT_EQ(c.size(), 3u);
  KEELSON_ASSERT_OK(store_->RetryJob(queued, "w1", t0 + absl::Minutes(1), "e", t0));
  KEELSON_ASSERT_OK(store_->CompleteJob(done, "w1", t0));

  EXPECT_EQ(store_->ReplayJob(queued, t0).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->ReplayJob(running, t0).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->ReplayJob(done, t0).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->ReplayJob(done + 1000, t0).code(), absl::StatusCode::kNotFound);

  // Nothing changed.
  KEELSON_ASSERT_OK_AND_ASSIGN(Job q, store_->GetJob(queued));
  EXPECT_EQ(StateOf(q), "queued");
  EXPECT_EQ(q.attempts, 1);
  EXPECT_EQ(q.run_at, t0 + absl::Minutes(1));
  KEELSON_ASSERT_OK_AND_ASSIGN(Job r, store_->GetJob(running));
  EXPECT_EQ(StateOf(r), "running");
  KEELSON_ASSERT_OK_AND_ASSIGN(Job d, store_->GetJob(done));
  EXPECT_EQ(StateOf(d), "done");
  EXPECT_EQ(store_->GetJob(done + 1000).status().code(), absl::StatusCode::kNotFound);
}

// ---- listing, stats, purge -----------------------------------------------------------------

TEST_P(StoreConformanceTest, ListJobsFiltersAndPages) {
  const absl::Time t0 = clock_.Now();
  auto make = [&](std::string kind, std::string corr, absl::Time run_at) {
    NewJob j;
    j.kind = std::move(kind);
    j.payload = "{}";
    j.correlation_id = std::move(corr);
    j.run_at = run_at;
    return Enqueue(j);
  };
  const int64_t j1 = make("a", "c1", t0);
  const int64_t j2 = make("b", "c1", t0);
  const int64_t j3 = make("a", "c2", t0);
  const int64_t j4 = make("a", "c2", t0);
  const int64_t j5 = make("b", "c3", t0);
  const int64_t j6 = make("a", "c1", t0 + absl::Hours(1));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c, store_->ClaimJobs("w1", t0, absl::Hours(2), 10));
  ASSERT_THAT(SortedIds(c), ElementsAre(j1, j2, j3, j4, j5));
  const absl::Time t1 = t0 + absl::Seconds(10);
  KEELSON_ASSERT_OK(store_->CompleteJob(j1, "w1", t1));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(j2, "w1", "business", "422", t1));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(j3, "w1", "poison", "bad json", t1));
  KEELSON_ASSERT_OK(store_->RetryJob(j4, "w1", t0 + absl::Seconds(5), "timeout", t1));
  // j5 stays running, j6 stays queued (not due for an hour).

  auto list = [&](JobFilter f) -> std::vector<int64_t> {
    absl::StatusOr<std::vector<Job>> jobs = store_->ListJobs(f);
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? Ids(*jobs) : std::vector<int64_t>{};
  };
  EXPECT_THAT(list({}), ElementsAre(j1, j2, j3, j4, j5, j6));
  EXPECT_THAT(list({.state = JobState::kQueued}), ElementsAre(j4, j6));
  EXPECT_THAT(list({.state = JobState::kRunning}), ElementsAre(j5));
  EXPECT_THAT(list({.state = JobState::kDone}), ElementsAre(j1));
  EXPECT_THAT(list({.state = JobState::kDead}), ElementsAre(j2, j3));
  EXPECT_THAT(list({.kind = "a"}), ElementsAre(j1, j3, j4, j6));
  EXPECT_THAT(list({.kind = "zzz"}), IsEmpty());
  EXPECT_THAT(list({.dead_reason = "business"}), ElementsAre(j2));
  EXPECT_THAT(list({.state = JobState::kDead, .dead_reason = "poison"}), ElementsAre(j3));
  EXPECT_THAT(list({.correlation_id = "c1"}), ElementsAre(j1, j2, j6));
  EXPECT_THAT(list({.kind = "a", .correlation_id = "c2"}), ElementsAre(j3, j4));
  EXPECT_THAT(list({.state = JobState::kQueued, .kind = "b"}), IsEmpty());
  EXPECT_THAT(list({.limit = 3}), ElementsAre(j1, j2, j3));
  EXPECT_THAT(list({.after_id = j2, .limit = 2}), ElementsAre(j3, j4));
  EXPECT_THAT(list({.after_id = j4, .limit = 2}), ElementsAre(j5, j6));
  EXPECT_THAT(list({.after_id = j6, .limit = 2}), IsEmpty());
  EXPECT_THAT(list({.kind = "a", .after_id = j3, .limit = 1}), ElementsAre(j4));

  KEELSON_ASSERT_OK_AND_ASSIGN(Job retried, store_->GetJob(j4));
  EXPECT_EQ(retried.last_error, "timeout");
  EXPECT_EQ(retried.updated_at, t1);
}

TEST_P(StoreConformanceTest, JobStatsAndNextRunAtAreExact) {
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats empty, store_->GetJobStats(t0));
  EXPECT_EQ(empty.queued + empty.running + empty.done + empty.dead + empty.due, 0);
  EXPECT_EQ(empty.oldest_due_age, absl::ZeroDuration());
  EXPECT_THAT(empty.dead_by_reason, IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<absl::Time> none, store_->NextRunAt());
  EXPECT_FALSE(none.has_value());

  std::vector<int64_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Enqueue("k", ""));
  NewJob later;
  later.kind = "k";
  later.payload = "{}";
  later.run_at = t0 + absl::Hours(1);
  const int64_t j_later = Enqueue(later);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c, store_->ClaimJobs("w1", t0, absl::Hours(2), 6));
  ASSERT_EQ(c.size(), 6u);
  const absl::Time t1 = t0 + absl::Seconds(10);
  KEELSON_ASSERT_OK(store_->CompleteJob(ids[0], "w1", t1));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(ids[1], "w1", "business", "422", t1));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(ids[2], "w1", "poison", "x", t1));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(ids[3], "w1", "business", "409", t1));
  KEELSON_ASSERT_OK(store_->RetryJob(ids[4], "w1", t0 + absl::Seconds(5), "timeout", t1));
  // ids[5] keeps running.

  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats s, store_->GetJobStats(t0 + absl::Seconds(30)));
  EXPECT_EQ(s.queued, 2);
  EXPECT_EQ(s.running, 1);
  EXPECT_EQ(s.done, 1);
  EXPECT_EQ(s.dead, 3);
  EXPECT_EQ(s.due, 1);
  EXPECT_EQ(s.oldest_due_age, absl::Seconds(25));
  EXPECT_THAT(s.dead_by_reason, UnorderedElementsAre(Pair("business", 2), Pair("poison", 1)));

  // Before the retry is due nothing is due.
  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats early, store_->GetJobStats(t0 + absl::Seconds(4)));
  EXPECT_EQ(early.queued, 2);
  EXPECT_EQ(early.due, 0);
  EXPECT_EQ(early.oldest_due_age, absl::ZeroDuration());

  // An hour later both queued jobs are due; the oldest has waited since t0 + 5 s.
  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats late, store_->GetJobStats(t0 + absl::Hours(1)));
  EXPECT_EQ(late.due, 2);
  EXPECT_EQ(late.oldest_due_age, absl::Hours(1) - absl::Seconds(5));

  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<absl::Time> next, store_->NextRunAt());
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, t0 + absl::Seconds(5));
  // Once the retried job is done, the next run is the delayed one.
  KEELSON_ASSERT_OK_AND_ASSIGN(c, store_->ClaimJobs("w1", t0 + absl::Seconds(5), kLease, 10));
  ASSERT_THAT(Ids(c), ElementsAre(ids[4]));
  KEELSON_ASSERT_OK_AND_ASSIGN(next, store_->NextRunAt());
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, t0 + absl::Hours(1));
  KEELSON_ASSERT_OK_AND_ASSIGN(c, store_->ClaimJobs("w1", t0 + absl::Hours(1), kLease, 10));
  // ids[4]'s 30 s lease ran out, so it comes back alongside j_later; ids[5] holds a 2 h lease.
  EXPECT_THAT(SortedIds(c), ElementsAre(ids[4], j_later));
  KEELSON_ASSERT_OK_AND_ASSIGN(next, store_->NextRunAt());
  EXPECT_FALSE(next.has_value());
}

TEST_P(StoreConformanceTest, PurgeDoneJobsRemovesOnlyOldDoneJobs) {
  const absl::Time t0 = clock_.Now();
  const int64_t p1 = Enqueue("k", "");
  const int64_t p2 = Enqueue("k", "");
  const int64_t p3 = Enqueue("k", "");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c, store_->ClaimJobs("w1", t0, absl::Hours(2), 10));
  ASSERT_EQ(c.size(), 3u);
  const int64_t p4 = Enqueue("k", "");  // stays queued
  KEELSON_ASSERT_OK(store_->CompleteJob(p1, "w1", t0 + absl::Minutes(1)));
  KEELSON_ASSERT_OK(store_->CompleteJob(p2, "w1", t0 + absl::Minutes(5)));
  KEELSON_ASSERT_OK(store_->DeadLetterJob(p3, "w1", "business", "x", t0 + absl::Minutes(1)));

  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, store_->PurgeDoneJobs(t0 + absl::Minutes(1)));
  EXPECT_EQ(n, 0);  // finished at the cutoff, not before it
  KEELSON_ASSERT_OK_AND_ASSIGN(n, store_->PurgeDoneJobs(t0 + absl::Minutes(2)));
  EXPECT_EQ(n, 1);
  EXPECT_EQ(store_->GetJob(p1).status().code(), absl::StatusCode::kNotFound);
  KEELSON_EXPECT_OK(store_->GetJob(p2));
  KEELSON_ASSERT_OK_AND_ASSIGN(n, store_->PurgeDoneJobs(t0 + absl::Hours(24)));
  EXPECT_EQ(n, 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(n, store_->PurgeDoneJobs(t0 + absl::Hours(24)));
  EXPECT_EQ(n, 0);

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> left, store_->ListJobs(JobFilter{}));
  EXPECT_THAT(Ids(left), ElementsAre(p3, p4));
  EXPECT_EQ(StateOf(left[0]), "dead");
  EXPECT_EQ(StateOf(left[1]), "queued");
}

// ---- schedules -----------------------------------------------------------------------------

TEST_P(StoreConformanceTest, FireScheduleIfDueFiresOncePerInterval) {
  const absl::Duration interval = absl::Minutes(15);
  NewJob job;
  job.kind = "sync.stock";
  job.payload = R"({"full":false})";
  job.correlation_id = "schedule:stock";
  auto fire = [&](std::string_view name, absl::Time now) -> bool {
    absl::StatusOr<bool> r = store_->FireScheduleIfDue(name, interval, job, now);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && *r;
  };
  auto count = [&]() -> size_t {
    absl::StatusOr<std::vector<Job>> jobs = store_->ListJobs({.kind = "sync.stock"});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? jobs->size() : 0;
  };
  const absl::Time t0 = clock_.Now();
  EXPECT_TRUE(fire("stock", t0));  // a new schedule fires at once
  EXPECT_EQ(count(), 1u);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store_->ListJobs({.kind = "sync.stock"}));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].payload, R"({"full":false})");
  EXPECT_EQ(jobs[0].correlation_id, "schedule:stock");
  EXPECT_EQ(jobs[0].run_at, t0);
  EXPECT_EQ(StateOf(jobs[0]), "queued");

  EXPECT_FALSE(fire("stock", t0));
  EXPECT_FALSE(fire("stock", t0 + interval - absl::Milliseconds(1)));
  EXPECT_EQ(count(), 1u);
  EXPECT_TRUE(fire("stock", t0 + interval));
  EXPECT_EQ(count(), 2u);

  // Two callers (nodes) at the same instant: exactly one wins the slot.
  const absl::Time t2 = t0 + 2 * interval;
  const bool first = fire("stock", t2);
  const bool second = fire("stock", t2);
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_EQ(count(), 3u);

  // Another schedule is independent.
  EXPECT_TRUE(fire("prices", t2));
  EXPECT_EQ(count(), 4u);
  EXPECT_FALSE(fire("prices", t2 + absl::Minutes(1)));
  EXPECT_EQ(count(), 4u);
}

// ---- cross references and timeline ---------------------------------------------------------

TEST_P(StoreConformanceTest, XrefsAreUpsertedAndLookedUpExactly) {
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    if (auto s = tx.PutXref({"order", "main:1", "business_central", "SO-1001"}); !s.ok()) return s;
    if (auto s = tx.PutXref({"order", "main:1", "sap", "4711"}); !s.ok()) return s;
    return tx.PutXref({"customer", "main:1", "business_central", "C-9"});
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<Xref> x,
                               store_->GetXref("order", "main:1", "business_central"));
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->entity_type, "order");
  EXPECT_EQ(x->keelson_id, "main:1");
  EXPECT_EQ(x->system, "business_central");
  EXPECT_EQ(x->external_id, "SO-1001");
  KEELSON_ASSERT_OK_AND_ASSIGN(x, store_->GetXref("order", "main:1", "sap"));
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->external_id, "4711");
  KEELSON_ASSERT_OK_AND_ASSIGN(x, store_->GetXref("customer", "main:1", "business_central"));
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->external_id, "C-9");

  // Upsert replaces the external id.
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.PutXref({"order", "main:1", "business_central", "SO-1002"});
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(x, store_->GetXref("order", "main:1", "business_central"));
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->external_id, "SO-1002");

  KEELSON_ASSERT_OK_AND_ASSIGN(x, store_->GetXref("order", "main:2", "business_central"));
  EXPECT_FALSE(x.has_value());
  KEELSON_ASSERT_OK_AND_ASSIGN(x, store_->GetXref("order", "main:1", "netsuite"));
  EXPECT_FALSE(x.has_value());
  KEELSON_ASSERT_OK_AND_ASSIGN(x, store_->GetXref("invoice", "main:1", "business_central"));
  EXPECT_FALSE(x.has_value());
}

TEST_P(StoreConformanceTest, TimelineListsInOrderByEntityAndByCorrelation) {
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK(store_->Transact(t0, [&](Tx& tx) -> absl::Status {
    if (auto s = tx.AppendTimeline({.entity = "delivery:17",
                                    .correlation_id = "c1",
                                    .at = t0,
                                    .kind = "webhook.received",
                                    .detail_json = R"({"topic":"order.created"})"});
        !s.ok()) {
      return s;
    }
    if (auto s = tx.AppendTimeline({.entity = "order:main:1",
                                    .correlation_id = "c1",
                                    .at = t0 + absl::Milliseconds(1),
                                    .kind = "order.ingested",
                                    .detail_json = R"({"status":"processing"})"});
        !s.ok()) {
      return s;
    }
    // No `at`: the event is stamped with the transaction's time.
    return tx.AppendTimeline({.entity = "order:main:1",
                              .correlation_id = "c1",
                              .kind = "erp.order_queued",
                              .detail_json = "{}"});
  }));
  clock_.Advance(absl::Minutes(2));
  const absl::Time t1 = clock_.Now();
  KEELSON_ASSERT_OK(store_->Transact(t1, [&](Tx& tx) -> absl::Status {
    if (auto s = tx.AppendTimeline({.entity = "order:main:1",
                                    .correlation_id = "c2",
                                    .at = t1,
                                    .kind = "erp.order_created",
                                    .detail_json = R"({"external_id":"SO-1001"})"});
        !s.ok()) {
      return s;
    }
    return tx.AppendTimeline({.entity = "order:main:2",
                              .correlation_id = "c2",
                              .at = t1,
                              .kind = "order.ingested",
                              .detail_json = "{}"});
  }));

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<TimelineEvent> order1,
                               store_->ListTimeline("order:main:1", 100));
  ASSERT_THAT(Kinds(order1),
              ElementsAre("order.ingested", "erp.order_queued", "erp.order_created"));
  EXPECT_LT(order1[0].id, order1[1].id);
  EXPECT_LT(order1[1].id, order1[2].id);
  EXPECT_EQ(order1[0].entity, "order:main:1");
  EXPECT_EQ(order1[0].correlation_id, "c1");
  EXPECT_EQ(order1[0].at, t0 + absl::Milliseconds(1));
  EXPECT_EQ(order1[0].detail_json, R"({"status":"processing"})");
  EXPECT_EQ(order1[1].at, t0);
  EXPECT_EQ(order1[1].detail_json, "{}");
  EXPECT_EQ(order1[2].correlation_id, "c2");
  EXPECT_EQ(order1[2].at, t1);
  EXPECT_EQ(order1[2].detail_json, R"({"external_id":"SO-1001"})");

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<TimelineEvent> limited,
                               store_->ListTimeline("order:main:1", 2));
  EXPECT_THAT(Kinds(limited), ElementsAre("order.ingested", "erp.order_queued"));

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<TimelineEvent> c1,
                               store_->ListTimelineByCorrelation("c1", 100));
  EXPECT_THAT(Kinds(c1), ElementsAre("webhook.received", "order.ingested", "erp.order_queued"));
  ASSERT_EQ(c1.size(), 3u);
  EXPECT_EQ(c1[0].entity, "delivery:17");
  EXPECT_EQ(c1[0].detail_json, R"({"topic":"order.created"})");

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<TimelineEvent> c2,
                               store_->ListTimelineByCorrelation("c2", 100));
  ASSERT_EQ(c2.size(), 2u);
  EXPECT_EQ(c2[0].entity, "order:main:1");
  EXPECT_EQ(c2[1].entity, "order:main:2");

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<TimelineEvent> nothing,
                               store_->ListTimeline("order:main:404", 100));
  EXPECT_THAT(Kinds(nothing), IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(nothing, store_->ListTimelineByCorrelation("c404", 100));
  EXPECT_THAT(Kinds(nothing), IsEmpty());
}

}  // namespace

TEST_P(StoreConformanceTest, XrefFoundByExternalIdCaseInsensitively) {
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.PutXref({"order", "main:7", "business_central", "S-ORD101007"});
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<Xref> x, store_->FindXrefByExternalId("s-ord101007"));
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->keelson_id, "main:7");
  EXPECT_EQ(x->system, "business_central");
  KEELSON_ASSERT_OK_AND_ASSIGN(x, store_->FindXrefByExternalId("S-ORD101008"));
  EXPECT_FALSE(x.has_value());
}

// ---- orders and cursors --------------------------------------------------------------------

TEST_P(StoreConformanceTest, OrderSnapshotIsReplacedOnlyByANewerVersion) {
  const absl::Time v1 = absl::FromUnixSeconds(1700000000);
  OrderRecord r{.store_id = "main", .order_id = 14, .version = v1, .status = "pending",
                .snapshot_json = R"({"id":14,"v":1})", .correlation_id = "c1"};
  auto put = [&](const OrderRecord& rec, bool replace_equal = false) {
    bool written = false;
    EXPECT_TRUE(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
                        auto w = tx.PutOrderIfNewer(rec, replace_equal);
                        if (!w.ok()) return w.status();
                        written = *w;
                        return absl::OkStatus();
                      }).ok());
    return written;
  };
  EXPECT_TRUE(put(r));
  OrderRecord same = r;
  same.snapshot_json = R"({"id":14,"v":"same"})";
  EXPECT_FALSE(put(same));  // equal version: not newer
  OrderRecord older = r;
  older.version = v1 - absl::Seconds(5);
  older.status = "cancelled";
  EXPECT_FALSE(put(older));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<OrderRecord> got, store_->GetOrder("main", 14));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, "pending");
  EXPECT_EQ(got->snapshot_json, R"({"id":14,"v":1})");
  EXPECT_EQ(got->erp_state, "none");
  EXPECT_EQ(got->version, v1);

  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.SetOrderErp("main", 14, "created", "guid-1", "S-ORD1");
  }));
  OrderRecord newer = r;
  newer.version = v1 + absl::Seconds(1);
  newer.status = "processing";
  newer.snapshot_json = R"({"id":14,"v":2})";
  newer.correlation_id = "c2";
  EXPECT_TRUE(put(newer));
  KEELSON_ASSERT_OK_AND_ASSIGN(got, store_->GetOrder("main", 14));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, "processing");
  EXPECT_EQ(got->snapshot_json, R"({"id":14,"v":2})");
  EXPECT_EQ(got->correlation_id, "c2");
  EXPECT_EQ(got->erp_state, "created");  // untouched by the snapshot write
  EXPECT_EQ(got->erp_id, "guid-1");
  EXPECT_EQ(got->erp_number, "S-ORD1");

  // Equal version replaces only when asked to; older never does.
  OrderRecord tie = newer;
  tie.status = "cancelled";
  tie.snapshot_json = R"({"id":14,"v":"tie"})";
  EXPECT_FALSE(put(tie));
  EXPECT_TRUE(put(tie, /*replace_equal=*/true));
  EXPECT_FALSE(put(older, /*replace_equal=*/true));
  KEELSON_ASSERT_OK_AND_ASSIGN(got, store_->GetOrder("main", 14));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, "cancelled");
  EXPECT_EQ(got->erp_state, "created");

  KEELSON_ASSERT_OK_AND_ASSIGN(got, store_->GetOrder("main", 15));
  EXPECT_FALSE(got.has_value());
  EXPECT_EQ(store_->Transact(clock_.Now(), [&](Tx& tx) {
              return tx.SetOrderErp("main", 15, "created", "x", "y");
            }).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, CursorsAreUpserted) {
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<std::string> c, store_->GetCursor("backfill:main"));
  EXPECT_FALSE(c.has_value());
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.PutCursor("backfill:main", "2026-11-23T10:00:00Z");
  }));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.PutCursor("backfill:main", "2026-11-23T11:00:00Z");
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(c, store_->GetCursor("backfill:main"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, "2026-11-23T11:00:00Z");
}

// Engines instantiate the suite in their own test files (e.g. sqlite/sqlite_store_test.cc).
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreConformanceTest);

}  // namespace keelson::store::testing
