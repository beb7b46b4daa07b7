// Store conformance: the inventory tables (positions and their ledger, reservations, the dirty
// set, published levels, reconciliation runs and drift). Exact values; FakeClock only.

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_conformance.h"
#include "tests/support/status_matchers.h"

namespace keelson::store::testing {
namespace {

using model::InventoryPosition;
using model::Movement;
using model::MovementKind;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Movement Move(std::string sku, std::string location, MovementKind kind, int64_t quantity,
              std::string correlation_id = "evt-1") {
  return {.sku = std::move(sku),
          .location = std::move(location),
          .kind = kind,
          .quantity = quantity,
          .source = "wms",
          .correlation_id = std::move(correlation_id)};
}

TEST_P(StoreConformanceTest, InventoryMovementsUpdatePositionsAndAppendToTheLedger) {
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<InventoryPosition> none, store_->GetPositions("A"));
  EXPECT_THAT(none, IsEmpty());
  const absl::Time occurred = clock_.Now() - absl::Minutes(5);
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    Movement set = Move("A", "WH2", MovementKind::kSetOnHand, 12);
    set.at = occurred;
    auto p = tx.ApplyMovement(set);
    if (!p.ok()) return p.status();
    EXPECT_EQ(p->on_hand, 12);
    EXPECT_EQ(p->as_of, occurred);
    if (auto r = tx.ApplyMovement(Move("A", "WH1", MovementKind::kReceipt, 4)); !r.ok()) {
      return r.status();
    }
    p = tx.ApplyMovement(Move("A", "WH2", MovementKind::kReserve, 5, "main:14"));
    if (!p.ok()) return p.status();
    EXPECT_EQ(p->reserved, 5);
    Movement inbound = Move("A", "WH1", MovementKind::kSetInbound, 30);
    inbound.expected_at = clock_.Now() + absl::Hours(48);
    if (auto r = tx.ApplyMovement(inbound); !r.ok()) return r.status();
    // Reads inside the transaction see its own writes.
    auto in_tx = tx.GetPositions("A");
    if (!in_tx.ok()) return in_tx.status();
    EXPECT_EQ(in_tx->size(), 2u);
    return absl::OkStatus();
  }));
  clock_.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.ApplyMovement(Move("A", "WH2", MovementKind::kConsume, 2, "main:14")).status();
  }));

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<InventoryPosition> ps, store_->GetPositions("A"));
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].location, "WH1");
  EXPECT_EQ(ps[0].on_hand, 4);
  EXPECT_EQ(ps[0].inbound, 30);
  EXPECT_EQ(ps[0].inbound_expected_at, clock_.Now() - absl::Seconds(1) + absl::Hours(48));
  EXPECT_EQ(ps[0].as_of, absl::InfinitePast());
  EXPECT_EQ(ps[1].location, "WH2");
  EXPECT_EQ(ps[1].on_hand, 10);
  EXPECT_EQ(ps[1].reserved, 3);
  EXPECT_EQ(ps[1].allocated, 0);
  EXPECT_EQ(ps[1].as_of, occurred);
  EXPECT_EQ(ps[1].updated_at, clock_.Now());

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Movement> ledger, store_->ListMovements("A", 0, 100));
  ASSERT_EQ(ledger.size(), 5u);
  EXPECT_EQ(ledger[0].kind, MovementKind::kSetOnHand);
  EXPECT_EQ(ledger[0].at, occurred);
  EXPECT_EQ(ledger[0].recorded_at, clock_.Now() - absl::Seconds(1));
  EXPECT_EQ(ledger[0].source, "wms");
  EXPECT_EQ(ledger[0].correlation_id, "evt-1");
  EXPECT_EQ(ledger[2].kind, MovementKind::kReserve);
  EXPECT_EQ(ledger[2].correlation_id, "main:14");
  EXPECT_EQ(ledger[3].expected_at, ledger[3].recorded_at + absl::Hours(48));
  EXPECT_EQ(ledger[4].kind, MovementKind::kConsume);
  EXPECT_EQ(ledger[4].quantity, 2);
  EXPECT_EQ(ledger[4].at, clock_.Now());  // defaults to the transaction's time
  KEELSON_ASSERT_OK_AND_ASSIGN(ledger, store_->ListMovements("A", ledger[2].id, 1));
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger[0].kind, MovementKind::kSetInbound);
}

TEST_P(StoreConformanceTest, InventoryImpossibleMovementFailsAndWritesNothing) {
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.ApplyMovement(Move("A", "WH1", MovementKind::kSetOnHand, 3)).status();
  }));
  absl::Status st = store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.ApplyMovement(Move("A", "WH1", MovementKind::kRelease, 1)).status();
  });
  EXPECT_THAT(st, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(st.message()), HasSubstr("A@WH1: release of 1 would take reserved"));
  st = store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.ApplyMovement(Move("A", "WH1", MovementKind::kAdjustment, -4)).status();
  });
  EXPECT_THAT(std::string(st.message()), HasSubstr("on_hand below zero (on_hand is 3)"));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<InventoryPosition> ps, store_->GetPositions("A"));
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].on_hand, 3);
  EXPECT_EQ(ps[0].reserved, 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Movement> ledger, store_->ListMovements("A", 0, 100));
  EXPECT_EQ(ledger.size(), 1u);
}

TEST_P(StoreConformanceTest, InventoryTransactEachRollsBackOnlyTheFailedWrite) {
  std::vector<std::function<absl::Status(Tx&)>> fns = {
      [](Tx& tx) {
        return tx.ApplyMovement(Move("A", "WH1", MovementKind::kSetOnHand, 3)).status();
      },
      // Writes, then fails: its own write is rolled back.
      [](Tx& tx) -> absl::Status {
        if (auto p = tx.ApplyMovement(Move("B", "WH1", MovementKind::kSetOnHand, 7, "evt-2"));
            !p.ok()) {
          return p.status();
        }
        return tx.ApplyMovement(Move("B", "WH1", MovementKind::kRelease, 1, "evt-2")).status();
      },
      // Sees what the first one wrote.
      [](Tx& tx) -> absl::Status {
        auto ps = tx.GetPositions("A");
        if (!ps.ok()) return ps.status();
        if (ps->size() != 1 || (*ps)[0].on_hand != 3) return absl::InternalError("not seen");
        return tx.ApplyMovement(Move("A", "WH1", MovementKind::kReceipt, 2, "evt-3")).status();
      }};
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<absl::Status> results,
                               store_->TransactEach(clock_.Now(), fns));
  ASSERT_EQ(results.size(), 3u);
  KEELSON_EXPECT_OK(results[0]);
  EXPECT_THAT(results[1], StatusIs(absl::StatusCode::kFailedPrecondition));
  KEELSON_EXPECT_OK(results[2]);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<InventoryPosition> a, store_->GetPositions("A"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].on_hand, 5);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<InventoryPosition> b, store_->GetPositions("B"));
  EXPECT_THAT(b, IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Movement> ledger, store_->ListMovements("B", 0, 100));
  EXPECT_THAT(ledger, IsEmpty());
}

TEST_P(StoreConformanceTest, InventoryReservationsAreUpsertedPerOrderSkuLocation) {
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    for (const Reservation& r : {Reservation{.order_ref = "main:14",
                                .sku = "B",
                                .location = "WH1",
                                .channel = "main",
                                .reserved = 2},
                                 Reservation{.order_ref = "main:14",
                                 .sku = "A",
                                 .location = "WH2",
                                 .channel = "main",
                                 .reserved = 1},
                                 Reservation{.order_ref = "main:15",
                                 .sku = "A",
                                 .location = "WH2",
                                 .channel = "main",
                                 .reserved = 9}}) {
      if (auto s = tx.PutReservation(r); !s.ok()) return s;
    }
    return tx.PutReservation({.order_ref = "main:14",
                              .sku = "B",
                              .location = "WH1",
                              .channel = "main",
                              .reserved = 0,
                              .consumed = 2});
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Reservation> rs, store_->GetReservations("main:14"));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].sku, "A");
  EXPECT_EQ(rs[0].reserved, 1);
  EXPECT_EQ(rs[1].sku, "B");
  EXPECT_EQ(rs[1].reserved, 0);
  EXPECT_EQ(rs[1].consumed, 2);
  EXPECT_EQ(rs[1].updated_at, clock_.Now());
  KEELSON_ASSERT_OK_AND_ASSIGN(rs, store_->GetReservations("main:99"));
  EXPECT_THAT(rs, IsEmpty());
}

TEST_P(StoreConformanceTest, InventoryDirtyMarksCoalesceAndSurviveUntilCleared) {
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    for (const char* sku : {"C", "A", "C", "B", "C"}) {
      if (auto s = tx.MarkDirty("main", sku); !s.ok()) return s;
    }
    return tx.MarkDirty("outlet", "A");
  }));
  // Same transaction time for every mark: ties break by SKU.
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<std::string> dirty, store_->ListDirty("main", 10));
  EXPECT_THAT(dirty, ElementsAre("A", "B", "C"));

  DirtyBatch batch;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    auto b = tx.TakeDirty("main", 2, /*taker=*/7);
    if (!b.ok()) return b.status();
    batch = *b;
    return absl::OkStatus();
  }));
  EXPECT_THAT(batch.skus, ElementsAre("A", "B"));
  EXPECT_EQ(batch.remaining, 1);

  // "B" changes again while job 7 publishes: job 7's clear must keep it.
  clock_.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(
      store_->Transact(clock_.Now(), [&](Tx& tx) { return tx.MarkDirty("main", "B"); }));
  int64_t cleared = 0;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    auto n = tx.ClearDirty("main", 7);
    if (!n.ok()) return n.status();
    cleared = *n;
    return absl::OkStatus();
  }));
  EXPECT_EQ(cleared, 1);  // only "A"
  KEELSON_ASSERT_OK_AND_ASSIGN(dirty, store_->ListDirty("main", 10));
  EXPECT_THAT(dirty, ElementsAre("C", "B"));  // "B" re-marked later goes to the back
  KEELSON_ASSERT_OK_AND_ASSIGN(dirty, store_->ListDirty("outlet", 10));
  EXPECT_THAT(dirty, ElementsAre("A"));

  // A taker that died: its claimed rows are claimed again by the next one.
  KEELSON_ASSERT_OK(
      store_->Transact(clock_.Now(), [&](Tx& tx) { return tx.TakeDirty("main", 1, 8).status(); }));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    auto b = tx.TakeDirty("main", 10, 9);
    if (!b.ok()) return b.status();
    batch = *b;
    return tx.ClearDirty("main", 9).status();
  }));
  EXPECT_THAT(batch.skus, ElementsAre("C", "B"));
  EXPECT_EQ(batch.remaining, 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(dirty, store_->ListDirty("main", 10));
  EXPECT_THAT(dirty, IsEmpty());
}

TEST_P(StoreConformanceTest, InventoryPublishedLevelsAreUpserted) {
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<PublishedLevel> got,
                               store_->GetPublished("main", "A"));
  EXPECT_FALSE(got.has_value());
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.PutPublished(
        {.store_id = "main", .sku = "A", .quantity = 7, .stock_status = "instock"});
  }));
  clock_.Advance(absl::Seconds(3));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.PutPublished({.store_id = "main",
                            .sku = "A",
                            .quantity = 0,
                            .stock_status = "outofstock",
                            .status = "rejected",
                            .error = "unknown SKU"});
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(got, store_->GetPublished("main", "A"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->quantity, 0);
  EXPECT_EQ(got->stock_status, "outofstock");
  EXPECT_EQ(got->status, "rejected");
  EXPECT_EQ(got->error, "unknown SKU");
  EXPECT_EQ(got->at, clock_.Now());
  KEELSON_ASSERT_OK_AND_ASSIGN(got, store_->GetPublished("outlet", "A"));
  EXPECT_FALSE(got.has_value());
}

TEST_P(StoreConformanceTest, InventoryDriftRowsBelongToRunsAndTheLatestRunIsTheDefault) {
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK(store_->Transact(t0, [&](Tx& tx) -> absl::Status {
    if (auto s = tx.PutReconcileRun({.run_id = "main-1", .store_id = "main", .scanned = 3});
        !s.ok()) {
      return s;
    }
    for (const char* sku : {"A", "B", "C"}) {
      if (auto s = tx.AddDrift({.run_id = "main-1",
                                .store_id = "main",
                                .sku = sku,
                                .expected = 5,
                                .found = 4,
                                .expected_status = "instock",
                                .found_status = "instock",
                                .corrected = sku[0] != 'B'});
          !s.ok()) {
        return s;
      }
    }
    return tx.PutReconcileRun({.run_id = "main-1",
                               .store_id = "main",
                               .finished_at = t0,
                               .scanned = 3,
                               .drifted = 3,
                               .corrected = 2,
                               .unknown = 1});
  }));
  clock_.Advance(absl::Hours(1));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    if (auto s = tx.PutReconcileRun({.run_id = "main-2", .store_id = "main", .scanned = 3});
        !s.ok()) {
      return s;
    }
    return tx.AddDrift({.run_id = "main-2",
                        .store_id = "main",
                        .sku = "B",
                        .expected = 5,
                        .found = 4,
                        .corrected = true});
  }));

  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<ReconcileRun> run,
                               store_->GetReconcileRun("main", "main-1"));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->started_at, t0);
  EXPECT_EQ(run->finished_at, t0);
  EXPECT_EQ(run->drifted, 3);
  EXPECT_EQ(run->corrected, 2);
  EXPECT_EQ(run->unknown, 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(run, store_->GetReconcileRun("main", ""));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->run_id, "main-2");
  EXPECT_EQ(run->finished_at, absl::InfinitePast());  // not finished
  KEELSON_ASSERT_OK_AND_ASSIGN(run, store_->GetReconcileRun("outlet", ""));
  EXPECT_FALSE(run.has_value());

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<DriftRow> rows, store_->ListDrift({.store_id = "main"}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].run_id, "main-2");
  EXPECT_EQ(rows[0].sku, "B");
  EXPECT_TRUE(rows[0].corrected);
  EXPECT_EQ(rows[0].at, clock_.Now());

  KEELSON_ASSERT_OK_AND_ASSIGN(
      rows, store_->ListDrift({.store_id = "main", .run_id = "main-1", .limit = 2}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sku, "A");
  EXPECT_EQ(rows[1].sku, "B");
  EXPECT_FALSE(rows[1].corrected);
  EXPECT_EQ(rows[1].expected, 5);
  EXPECT_EQ(rows[1].found, 4);
  KEELSON_ASSERT_OK_AND_ASSIGN(
      rows, store_->ListDrift(
                {.store_id = "main", .run_id = "main-1", .after_id = rows[1].id, .limit = 2}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sku, "C");
  KEELSON_ASSERT_OK_AND_ASSIGN(rows, store_->ListDrift({.store_id = "outlet"}));
  EXPECT_THAT(rows, IsEmpty());
}

TEST_P(StoreConformanceTest, InventoryIdempotencyKeysCanBeDeleted) {
  bool existed = true;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    auto fresh = tx.PutIdempotencyKey("inventory.publish:main");
    if (!fresh.ok()) return fresh.status();
    EXPECT_TRUE(*fresh);
    auto d = tx.DeleteIdempotencyKey("inventory.publish:main");
    if (!d.ok()) return d.status();
    EXPECT_TRUE(*d);
    d = tx.DeleteIdempotencyKey("inventory.publish:main");
    if (!d.ok()) return d.status();
    existed = *d;
    auto again = tx.PutIdempotencyKey("inventory.publish:main");
    if (!again.ok()) return again.status();
    EXPECT_TRUE(*again);
    return absl::OkStatus();
  }));
  EXPECT_FALSE(existed);
}

}  // namespace
}  // namespace keelson::store::testing
