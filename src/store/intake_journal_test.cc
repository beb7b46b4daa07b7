// IntakeJournal over a SQLite file store in a temporary directory: what is answered is in the
// store exactly once with its job and the answered id; a journal left behind (as by a crash) is
// replayed at the next Open; a torn tail is a write never answered; damage elsewhere stops
// start-up; redeliveries are absorbed before they are written.

#include "store/intake_journal.h"

#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "gtest/gtest.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/status_matchers.h"

namespace keelson::store {
namespace {

namespace fs = std::filesystem;

DeliveryToAccept MakeDelivery(const std::string& key) {
  DeliveryToAccept d;
  d.source = "woocommerce";
  d.store_id = "main";
  d.topic = "order.updated";
  d.dedupe_key = key;
  d.headers_json = R"({"X-WC-Webhook-Topic":"order.updated"})";
  d.body = absl::StrCat(R"({"id":1,"key":")", key, R"(","pad":")", std::string(3000, 'x'), "\"}");
  d.correlation_id = absl::StrCat("corr-", key);
  d.job_kind = "woocommerce.ingest";
  d.job_partition_key = absl::StrCat("order:", key);
  return d;
}

class Answers {
 public:
  DeliveryIntake::Callback Add() {
    std::lock_guard<std::mutex> l(mu_);
    const size_t i = results_.size();
    results_.emplace_back(absl::UnknownError("no answer"));
    return [this, i](absl::StatusOr<AcceptResult> r) {
      std::lock_guard<std::mutex> l(mu_);
      results_[i] = std::move(r);
      ++answered_;
      cv_.notify_all();
    };
  }
  bool WaitAll() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] { return answered_ == results_.size(); });
  }
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] { return answered_ >= n; });
  }
  size_t Answered() {
    std::lock_guard<std::mutex> l(mu_);
    return answered_;
  }
  const absl::StatusOr<AcceptResult>& operator[](size_t i) const { return results_[i]; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<absl::StatusOr<AcceptResult>> results_;
  size_t answered_ = 0;
};

class IntakeJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("keelson-journal-", ::getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    OpenStore();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void OpenStore() {
    store_.reset();
    KEELSON_ASSERT_OK_AND_ASSIGN(store_,
                                 OpenSqliteStore({.path = (dir_ / "k.db").string()}));
  }
  IntakeJournalOptions Options(bool move = true) {
    return {.dir = (dir_ / "journal").string(), .move = move};
  }
  std::vector<fs::path> Segments() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_ / "journal")) {
      if (e.path().extension() == ".journal") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  int64_t Jobs() {
    auto n = store_->CountJobs(JobFilter{});
    return n.ok() ? *n : -1;
  }
  // One run of a server: opens a journal with `o`, journals deliveries <prefix><first> ..
  // <prefix><first + n - 1>, waits for every answer (and, with wait_moved, for the mover), and
  // stops it. Without a mover (o.move false) the deliveries stay in the journal, as after a crash.
  void Journal(const IntakeJournalOptions& o, const std::string& prefix, int first, int n,
               Answers& answers, bool wait_moved = false) {
    KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(o, store_.get(), &clock_));
    journal->Start();
    for (int i = first; i < first + n; ++i) {
      journal->Submit(MakeDelivery(absl::StrCat(prefix, i)), answers.Add());
    }
    ASSERT_TRUE(answers.WaitAll());
    if (wait_moved) journal->WaitMoved();
    journal->Stop();
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  core::FakeClock clock_{absl::FromUnixSeconds(1700000000)};
};

TEST_F(IntakeJournalTest, EveryAnsweredDeliveryReachesTheStoreOnceWithItsJobAndItsId) {
  KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(Options(), store_.get(), &clock_));
  journal->Start();
  Answers answers;
  // 300 distinct deliveries, each of the first 50 sent twice.
  for (int i = 0; i < 300; ++i) journal->Submit(MakeDelivery(absl::StrCat("k", i)), answers.Add());
  for (int i = 0; i < 50; ++i) journal->Submit(MakeDelivery(absl::StrCat("k", i)), answers.Add());
  ASSERT_TRUE(answers.WaitAll());
  journal->WaitMoved();

  EXPECT_EQ(*store_->CountDeliveries(), 300);
  EXPECT_EQ(Jobs(), 300);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(answers[i].ok()) << answers[i].status();
    EXPECT_FALSE(answers[i]->duplicate);
    KEELSON_ASSERT_OK_AND_ASSIGN(Delivery d, store_->GetDelivery(answers[i]->delivery_id));
    EXPECT_EQ(d.dedupe_key, absl::StrCat("k", i));
    EXPECT_EQ(d.correlation_id, absl::StrCat("corr-k", i));
    EXPECT_EQ(d.received_at, clock_.Now());
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(answers[300 + i].ok());
    EXPECT_TRUE(answers[300 + i]->duplicate);
    EXPECT_EQ(answers[300 + i]->delivery_id, answers[i]->delivery_id);
    EXPECT_EQ(answers[300 + i]->correlation_id, absl::StrCat("corr-k", i));
  }
  journal->Stop();
  EXPECT_TRUE(Segments().empty()) << "a clean stop leaves no segment behind";
}

TEST_F(IntakeJournalTest, ARedeliveryOfAStoredDeliveryIsAbsorbedWithTheFirstId) {
  KEELSON_ASSERT_OK_AND_ASSIGN(
      std::vector<AcceptResult> before,
      store_->AcceptDeliveries(std::vector<DeliveryToAccept>{MakeDelivery("old")}, clock_.Now()));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(Options(), store_.get(), &clock_));
  journal->Start();
  Answers answers;
  journal->Submit(MakeDelivery("old"), answers.Add());
  journal->Submit(MakeDelivery("new"), answers.Add());
  ASSERT_TRUE(answers.WaitAll());
  journal->WaitMoved();
  ASSERT_TRUE(answers[0].ok());
  EXPECT_TRUE(answers[0]->duplicate);
  EXPECT_EQ(answers[0]->delivery_id, before[0].delivery_id);
  ASSERT_TRUE(answers[1].ok());
  EXPECT_FALSE(answers[1]->duplicate);
  EXPECT_GT(answers[1]->delivery_id, before[0].delivery_id);
  EXPECT_EQ(*store_->CountDeliveries(), 2);
  EXPECT_EQ(Jobs(), 2);
}

TEST_F(IntakeJournalTest, AJournalLeftBehindIsReplayedAtTheNextOpenWithTheAnsweredIds) {
  Answers answers;
  {
    KEELSON_ASSERT_OK_AND_ASSIGN(auto journal,
                                 IntakeJournal::Open(Options(/*move=*/false), store_.get(), &clock_));
    journal->Start();
    for (int i = 0; i < 200; ++i) {
      journal->Submit(MakeDelivery(absl::StrCat("k", i)), answers.Add());
    }
    ASSERT_TRUE(answers.WaitAll());
    // The backfill writes straight to the store meanwhile: its id must not take a journaled one.
    KEELSON_ASSERT_OK_AND_ASSIGN(
        std::vector<AcceptResult> polled,
        store_->AcceptDeliveries(std::vector<DeliveryToAccept>{MakeDelivery("polled")},
                                 clock_.Now()));
    EXPECT_GT(polled[0].delivery_id, answers[199]->delivery_id);
    journal->Stop();
  }
  EXPECT_EQ(*store_->CountDeliveries(), 1) << "nothing was moved";
  ASSERT_EQ(Segments().size(), 1u);

  OpenStore();  // as after a restart
  KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(Options(), store_.get(), &clock_));
  EXPECT_EQ(journal->recovery().records, 200);
  EXPECT_EQ(journal->recovery().replayed, 200);
  EXPECT_EQ(journal->recovery().torn_bytes, 0);
  EXPECT_TRUE(Segments().empty());
  EXPECT_EQ(*store_->CountDeliveries(), 201);
  EXPECT_EQ(Jobs(), 201);
  for (int i = 0; i < 200; ++i) {
    KEELSON_ASSERT_OK_AND_ASSIGN(Delivery d, store_->GetDelivery(answers[i]->delivery_id));
    EXPECT_EQ(d.dedupe_key, absl::StrCat("k", i));
  }
  // New deliveries are numbered above everything replayed.
  journal->Start();
  Answers more;
  journal->Submit(MakeDelivery("after"), more.Add());
  ASSERT_TRUE(more.WaitAll());
  EXPECT_GT(more[0]->delivery_id, answers[199]->delivery_id);
}

TEST_F(IntakeJournalTest, ATornTailIsIgnoredAndDamageInAnOlderSegmentStopsStartUp) {
  IntakeJournalOptions o = Options(/*move=*/false);
  o.segment_bytes = 8 * 1024;  // about two deliveries per segment
  o.max_batch = 1;
  Answers answers;
  ASSERT_NO_FATAL_FAILURE(Journal(o, "k", 0, 6, answers));
  std::vector<fs::path> segments = Segments();
  ASSERT_GE(segments.size(), 3u);
  {
    // A write cut short by the crash: the header of a 100-byte record of this segment (magic,
    // segment id, length, CRC) and 10 bytes of its payload.
    const std::string name = segments.back().filename().string();
    const uint64_t segment = std::stoull(name.substr(7, name.size() - 7 - 8));
    std::string torn = "KLJ2";
    for (int i = 0; i < 8; ++i) torn += static_cast<char>((segment >> (8 * i)) & 0xff);
    torn += std::string("\x64\0\0\0", 4) + std::string("\x01\x02\x03\x04", 4);
    torn += "ten bytes.";
    std::ofstream tail(segments.back(), std::ios::binary | std::ios::app);
    tail << torn;
  }
  {
    KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(o, store_.get(), &clock_));
    EXPECT_EQ(journal->recovery().records, 6);
    EXPECT_EQ(journal->recovery().replayed, 6);
    EXPECT_EQ(journal->recovery().torn_bytes, 30);
  }
  EXPECT_EQ(*store_->CountDeliveries(), 6);

  // Now damage the middle of a segment that is not the last one.
  Answers more;
  ASSERT_NO_FATAL_FAILURE(Journal(o, "k", 6, 6, more));
  segments = Segments();
  ASSERT_GE(segments.size(), 2u);
  {
    std::fstream f(segments.front(), std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(100);
    f.put('#');
  }
  auto broken = IntakeJournal::Open(o, store_.get(), &clock_);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(broken.status().message().find(segments.front().string()), std::string::npos)
      << broken.status();
}

TEST_F(IntakeJournalTest, AMoverTooFarBehindHoldsBackTheAnswersUntilStop) {
  IntakeJournalOptions o = Options(/*move=*/false);  // the mover never catches up
  o.max_unmoved = 5;
  o.max_batch = 1;
  Answers answers;
  {
    KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(o, store_.get(), &clock_));
    journal->Start();
    for (int i = 0; i < 10; ++i) journal->Submit(MakeDelivery(absl::StrCat("k", i)), answers.Add());
    ASSERT_TRUE(answers.WaitFor(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(answers.Answered(), 5u) << "the sixth waits for the mover";
    EXPECT_EQ(journal->Unmoved(), 5);
    journal->Stop();  // answers the rest; they stay in the journal
  }
  ASSERT_TRUE(answers.WaitAll());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(answers[i].ok()) << answers[i].status();
  KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(Options(), store_.get(), &clock_));
  EXPECT_EQ(journal->recovery().replayed, 10);
  EXPECT_EQ(*store_->CountDeliveries(), 10);
}

TEST_F(IntakeJournalTest, TwoProcessesCannotShareAJournal) {
  KEELSON_ASSERT_OK_AND_ASSIGN(auto first, IntakeJournal::Open(Options(), store_.get(), &clock_));
  auto second = IntakeJournal::Open(Options(), store_.get(), &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another Keelson process"), std::string::npos);
}

TEST_F(IntakeJournalTest, MovedSegmentsAreReusedAndWhatTheyHeldBeforeIsNeverReplayed) {
  IntakeJournalOptions o = Options();
  o.segment_bytes = 8 * 1024;  // about two deliveries per segment
  o.max_batch = 1;
  auto spares = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_ / "journal")) {
      n += e.path().extension() == ".spare" ? 1 : 0;
    }
    return n;
  };
  Answers first;
  ASSERT_NO_FATAL_FAILURE(Journal(o, "k", 0, 12, first, /*wait_moved=*/true));
  EXPECT_EQ(*store_->CountDeliveries(), 12);
  EXPECT_EQ(spares(), 2) << "moved segments are kept for reuse, at most spare_segments";
  EXPECT_TRUE(Segments().empty());

  // Now nothing is moved (as if the process died): the first new segments are the reused files,
  // whose older records (k0..k11, with other segment ids) lie right after the new ones.
  o.move = false;
  Answers answers;
  ASSERT_NO_FATAL_FAILURE(Journal(o, "n", 0, 7, answers));
  EXPECT_EQ(spares(), 0) << "both spares were taken as segments";
  ASSERT_EQ(Segments().size(), 3u) << "two reused files, then a new one";

  OpenStore();
  o.move = true;
  KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(o, store_.get(), &clock_));
  EXPECT_EQ(journal->recovery().records, 7);
  EXPECT_EQ(journal->recovery().replayed, 7);
  EXPECT_EQ(journal->recovery().torn_bytes, 0);
  EXPECT_EQ(*store_->CountDeliveries(), 19);
  EXPECT_EQ(Jobs(), 19);
  for (int i = 0; i < 7; ++i) {
    KEELSON_ASSERT_OK_AND_ASSIGN(Delivery d, store_->GetDelivery(answers[i]->delivery_id));
    EXPECT_EQ(d.dedupe_key, absl::StrCat("n", i));
  }
}

// A segment written by a Keelson from before segments were reused ("KLJ1" records: magic,
// length, CRC-32, payload; no segment id, no end marker) is still replayed after an upgrade.
TEST_F(IntakeJournalTest, AJournalLeftByAnOlderKeelsonIsReplayed) {
  auto u32 = [](std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  auto u64 = [](std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  auto legacy = [&](int64_t id, const std::string& key) {
    const DeliveryToAccept d = MakeDelivery(key);
    std::string payload;
    u64(payload, static_cast<uint64_t>(id));
    u64(payload, 1700000000000ull);
    for (const std::string* f : {&d.source, &d.store_id, &d.topic, &d.dedupe_key,
                                 &d.headers_json, &d.body, &d.correlation_id, &d.job_kind,
                                 &d.job_partition_key}) {
      u32(payload, static_cast<uint32_t>(f->size()));
      payload += *f;
    }
    std::string rec = "KLJ1";
    u32(rec, static_cast<uint32_t>(payload.size()));
    u32(rec, static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                         reinterpret_cast<const Bytef*>(payload.data()),
                                         static_cast<uInt>(payload.size()))));
    return rec + payload;
  };
  fs::create_directories(dir_ / "journal");
  {
    std::ofstream a(dir_ / "journal" / "intake-00000000000000000001.journal", std::ios::binary);
    a << legacy(1, "old1") << legacy(2, "old2");
    std::ofstream b(dir_ / "journal" / "intake-00000000000000000003.journal", std::ios::binary);
    b << legacy(3, "old3");
  }
  IntakeJournalOptions o = Options();
  o.segment_bytes = 1024;  // both files are "full-size": only their format keeps them from reuse
  KEELSON_ASSERT_OK_AND_ASSIGN(auto journal, IntakeJournal::Open(o, store_.get(), &clock_));
  EXPECT_EQ(journal->recovery().records, 3);
  EXPECT_EQ(journal->recovery().replayed, 3);
  EXPECT_EQ(journal->recovery().torn_bytes, 0);
  for (int id = 1; id <= 3; ++id) {
    KEELSON_ASSERT_OK_AND_ASSIGN(Delivery d, store_->GetDelivery(id));
    EXPECT_EQ(d.dedupe_key, absl::StrCat("old", id));
  }
  // Those files are removed, not kept for reuse (their records carry no segment id).
  for (const auto& e : fs::directory_iterator(dir_ / "journal")) {
    EXPECT_NE(e.path().extension(), ".spare") << e.path();
  }
}

}  // namespace
}  // namespace keelson::store
