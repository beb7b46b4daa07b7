// Conformance cases for EDI: control numbers per partner (monotonic, wrapping, committed with the
// transaction that takes them), inbound files recorded once per content digest, outbound files
// with their bytes, and the documents Keelson sends with their control numbers and
// acknowledgments (see store_conformance.h).

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_conformance.h"
#include "tests/support/status_matchers.h"

// Inside a transaction body: assign the value or return the error.
#define EDI_ASSIGN_OR_RETURN_(lhs, expr) \
  do {                                   \
    auto r_ = (expr);                    \
    if (!r_.ok()) return r_.status();    \
    lhs = std::move(*r_);                \
  } while (0)

namespace keelson::store::testing {
namespace {

TEST_P(StoreConformanceTest, EdiControlNumbersArePerPartnerAndKindMonotonicAndWrap) {
  std::vector<int64_t> got;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    for (int i = 0; i < 3; ++i) {
      auto n = tx.NextControlNumber("acme", "isa", 999999999);
      if (!n.ok()) return n.status();
      got.push_back(*n);
    }
    auto g = tx.NextControlNumber("acme", "gs", 999999999);
    if (!g.ok()) return g.status();
    got.push_back(*g);
    auto other = tx.NextControlNumber("globex", "isa", 999999999);
    if (!other.ok()) return other.status();
    got.push_back(*other);
    return absl::OkStatus();
  }));
  EXPECT_THAT(got, ::testing::ElementsAre(1, 2, 3, 1, 1));

  // A transaction that fails gives its numbers back: none was used.
  EXPECT_EQ(store_
                ->Transact(clock_.Now(),
                           [&](Tx& tx) -> absl::Status {
                             auto n = tx.NextControlNumber("acme", "isa", 999999999);
                             EXPECT_TRUE(n.ok());
                             EXPECT_EQ(*n, 4);
                             return absl::AbortedError("the file could not be prepared");
                           })
                .code(),
            absl::StatusCode::kAborted);
  // After max comes 1 (ISA13 is nine digits).
  int64_t a = 0, b = 0, c = 0;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    EDI_ASSIGN_OR_RETURN_(a, tx.NextControlNumber("acme", "isa", 5));
    EDI_ASSIGN_OR_RETURN_(b, tx.NextControlNumber("acme", "isa", 5));
    EDI_ASSIGN_OR_RETURN_(c, tx.NextControlNumber("acme", "isa", 5));
    return absl::OkStatus();
  }));
  EXPECT_EQ(a, 4);
  EXPECT_EQ(b, 5);
  EXPECT_EQ(c, 1);
}

EdiFile Inbound(std::string name, std::string sha) {
  return EdiFile{.partner = "acme",
                 .direction = "in",
                 .name = std::move(name),
                 .sha256 = std::move(sha),
                 .size = 120,
                 .state = "processed",
                 .detail_json = R"({"sets":1})"};
}

TEST_P(StoreConformanceTest, EdiInboundFileIsRecordedOncePerPartnerAndDigest) {
  EdiFilePut first, again, renamed, other_partner;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    EDI_ASSIGN_OR_RETURN_(first, tx.PutInboundFile(Inbound("945_1.x12", "aa11")));
    return absl::OkStatus();
  }));
  EXPECT_TRUE(first.recorded);
  EXPECT_GT(first.file.id, 0);
  EXPECT_EQ(first.file.name, "945_1.x12");
  EXPECT_EQ(first.file.created_at, clock_.Now());
  clock_.Advance(absl::Minutes(5));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    EDI_ASSIGN_OR_RETURN_(again, tx.PutInboundFile(Inbound("945_1.x12", "aa11")));
    EDI_ASSIGN_OR_RETURN_(renamed, tx.PutInboundFile(Inbound("copy_of_945_1.x12", "aa11")));
    EdiFile o = Inbound("945_1.x12", "aa11");
    o.partner = "globex";
    EDI_ASSIGN_OR_RETURN_(other_partner, tx.PutInboundFile(o));
    return absl::OkStatus();
  }));
  ASSERT_FALSE(again.recorded);
  EXPECT_EQ(again.file.id, first.file.id);
  EXPECT_EQ(again.file.name, "945_1.x12");
  EXPECT_EQ(again.file.state, "processed");
  EXPECT_EQ(again.file.created_at, clock_.Now() - absl::Minutes(5));
  ASSERT_FALSE(renamed.recorded);
  EXPECT_EQ(renamed.file.name, "945_1.x12");  // the one recorded first
  EXPECT_EQ(renamed.file.id, first.file.id);
  EXPECT_TRUE(other_partner.recorded);

  // A file recorded by a transaction that failed is not held: the next poll processes it.
  EXPECT_FALSE(store_
                   ->Transact(clock_.Now(),
                              [&](Tx& tx) -> absl::Status {
                                auto r = tx.PutInboundFile(Inbound("945_2.x12", "bb22"));
                                EXPECT_TRUE(r.ok());
                                return absl::UnavailableError("the shipment could not be queued");
                              })
                   .ok());
  EdiFilePut retried;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    EDI_ASSIGN_OR_RETURN_(retried, tx.PutInboundFile(Inbound("945_2.x12", "bb22")));
    return absl::OkStatus();
  }));
  EXPECT_TRUE(retried.recorded);

  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
    return tx.SetEdiFileState(first.file.id, "partial", R"({"rejected_sets":1})");
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto files,
                               store_->ListEdiFiles({.partner = "acme", .direction = "in"}));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "945_1.x12");
  EXPECT_EQ(files[0].state, "partial");
  EXPECT_EQ(files[0].detail_json, R"({"rejected_sets":1})");
  EXPECT_EQ(files[0].size, 120);
  EXPECT_EQ(files[1].name, "945_2.x12");
  EXPECT_EQ(
      store_
          ->Transact(clock_.Now(), [](Tx& tx) { return tx.SetEdiFileState(999, "processed", ""); })
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, EdiOutboundFileKeepsItsBytesUntilSent) {
  int64_t id = 0;
  const std::string bytes = "ISA*00*          *00*...~IEA*1*000000001~";
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    EDI_ASSIGN_OR_RETURN_(id, tx.PutOutboundFile({.partner = "acme",
                                                  .direction = "out",
                                                  .name = "940_1.x12",
                                                  .sha256 = "cc33",
                                                  .size = static_cast<int64_t>(bytes.size()),
                                                  .state = "prepared",
                                                  .content = bytes}));
    return absl::OkStatus();
  }));
  EXPECT_GT(id, 0);
  EXPECT_EQ(store_
                ->Transact(clock_.Now(),
                           [&](Tx& tx) {
                             return tx
                                 .PutOutboundFile({.partner = "acme",
                                                   .direction = "out",
                                                   .name = "940_1b.x12",
                                                   .sha256 = "cc33",
                                                   .state = "prepared",
                                                   .content = bytes})
                                 .status();
                           })
                .code(),
            absl::StatusCode::kAlreadyExists);
  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto prepared,
      store_->ListEdiFiles(
          {.partner = "acme", .direction = "out", .state = "prepared", .with_content = true}));
  ASSERT_EQ(prepared.size(), 1u);
  EXPECT_EQ(prepared[0].id, id);
  EXPECT_EQ(prepared[0].content, bytes);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto without,
                               store_->ListEdiFiles({.partner = "acme", .direction = "out"}));
  ASSERT_EQ(without.size(), 1u);
  EXPECT_EQ(without[0].content, "");
  KEELSON_ASSERT_OK(
      store_->Transact(clock_.Now(), [&](Tx& tx) { return tx.SetEdiFileState(id, "sent", ""); }));
  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto left,
      store_->ListEdiFiles({.partner = "acme", .direction = "out", .state = "prepared"}));
  EXPECT_THAT(left, ::testing::IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(auto inbound,
                               store_->ListEdiFiles({.partner = "acme", .direction = "in"}));
  EXPECT_THAT(inbound, ::testing::IsEmpty());
}

TEST_P(StoreConformanceTest, EdiDocumentsAreQueuedOnceSentAndAcknowledged) {
  bool first = false, second = false;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    EDI_ASSIGN_OR_RETURN_(
        first, tx.PutEdiDocument(
                   {.partner = "acme", .type = "940", .ref = "main:7/1", .body_json = "{}"}));
    EDI_ASSIGN_OR_RETURN_(
        second,
        tx.PutEdiDocument(
            {.partner = "acme", .type = "940", .ref = "main:7/1", .body_json = R"({"x":1})"}));
    if (auto s = tx.PutEdiDocument(
            {.partner = "acme", .type = "940", .ref = "main:8/1", .body_json = "{}"});
        !s.ok()) {
      return s.status();
    }
    return tx
        .PutEdiDocument({.partner = "globex", .type = "940", .ref = "main:7/1", .body_json = "{}"})
        .status();
  }));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto pending,
                               store_->ListEdiDocuments({.partner = "acme", .state = "pending"}));
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].ref, "main:7/1");
  EXPECT_EQ(pending[0].body_json, "{}");  // the second put wrote nothing
  EXPECT_EQ(pending[0].created_at, clock_.Now());
  EXPECT_EQ(pending[1].ref, "main:8/1");
  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto paged, store_->ListEdiDocuments({.partner = "acme", .after_id = pending[0].id}));
  ASSERT_EQ(paged.size(), 1u);
  EXPECT_EQ(paged[0].ref, "main:8/1");

  clock_.Advance(absl::Seconds(3));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    if (auto s = tx.SetEdiDocumentSent(pending[0].id, 41, 17, 23, "0001"); !s.ok()) return s;
    return tx.SetEdiDocumentSent(pending[1].id, 41, 17, 23, "0002");
  }));
  EXPECT_EQ(store_
                ->Transact(clock_.Now(),
                           [&](Tx& tx) {
                             return tx.SetEdiDocumentSent(pending[0].id, 42, 18, 24, "0001");
                           })
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_
                ->Transact(clock_.Now(),
                           [&](Tx& tx) { return tx.SetEdiDocumentSent(12345, 42, 18, 24, "0001"); })
                .code(),
            absl::StatusCode::kNotFound);

  // A 997 names the group and the set: the document is found inside the transaction.
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    std::vector<EdiDocument> found;
    EDI_ASSIGN_OR_RETURN_(
        found, tx.FindEdiDocuments({.partner = "acme", .group = 23, .set_control = "0002"}));
    EXPECT_EQ(found.size(), 1u);
    if (found.size() != 1) return absl::InternalError("not found");
    EXPECT_EQ(found[0].ref, "main:8/1");
    EXPECT_EQ(found[0].state, "sent");
    EXPECT_EQ(found[0].file_id, 41);
    EXPECT_EQ(found[0].interchange, 17);
    return tx.SetEdiDocumentAck(found[0].id, "rejected", R"({"ak5":"R","codes":["5"]})");
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto by_interchange,
                               store_->ListEdiDocuments({.partner = "acme", .interchange = 17}));
  ASSERT_EQ(by_interchange.size(), 2u);
  EXPECT_EQ(by_interchange[0].state, "sent");
  EXPECT_EQ(by_interchange[0].set_control, "0001");
  EXPECT_EQ(by_interchange[0].group, 23);
  EXPECT_EQ(by_interchange[0].updated_at, clock_.Now());
  EXPECT_EQ(by_interchange[1].state, "rejected");
  EXPECT_EQ(by_interchange[1].ack_json, R"({"ak5":"R","codes":["5"]})");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto by_ref,
                               store_->ListEdiDocuments({.partner = "globex", .ref = "main:7/1"}));
  ASSERT_EQ(by_ref.size(), 1u);
  EXPECT_EQ(by_ref[0].state, "pending");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto none,
                               store_->ListEdiDocuments({.partner = "acme", .type = "856"}));
  EXPECT_THAT(none, ::testing::IsEmpty());
  EXPECT_EQ(store_
                ->Transact(clock_.Now(),
                           [](Tx& tx) { return tx.SetEdiDocumentAck(999, "accepted", "{}"); })
                .code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace keelson::store::testing

#undef EDI_ASSIGN_OR_RETURN_
