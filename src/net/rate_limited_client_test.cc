#include "net/rate_limited_client.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace keelson::net {
namespace {

// Answers 200 with the request URL as body, or a configured error; counts concurrent calls.
class FakeInner final : public HttpClient {
 public:
  absl::StatusOr<OutboundResponse> Send(const OutboundRequest& request) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    mu_.Await(absl::Condition(
        +[](bool* open) { return *open; }, &open_));
    --in_flight_;
    if (!error_.ok()) return error_;
    OutboundResponse r;
    r.status = 200;
    r.body = request.url;
    return r;
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  void FailWith(absl::Status s) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(s);
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int in_flight() {
    absl::MutexLock lock(&mu_);
    return in_flight_;
  }
  int max_in_flight() {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }

 private:
  absl::Mutex mu_;
  bool open_ = true;
  int calls_ = 0;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  absl::Status error_;
};

OutboundRequest Get(std::string url) {
  OutboundRequest r;
  r.url = std::move(url);
  return r;
}

// Sleeps on the fake clock: advancing it is the whole effect.
std::function<void(absl::Duration)> AdvanceOn(core::FakeClock* clock,
                                              std::vector<absl::Duration>* waits) {
  return [clock, waits](absl::Duration d) {
    waits->push_back(d);
    clock->Advance(d);
  };
}

constexpr absl::Duration kSlack = absl::Microseconds(1);  // double -> Duration rounding

TEST(RateLimitedHttpClientTest, SpacesRequestsAtTheRateAfterTheBurst) {
  FakeInner inner;
  core::FakeClock clock;
  std::vector<absl::Duration> waits;
  RateLimitedHttpClient client(
      inner,
      {.requests_per_second = 10, .burst = 1, .clock = &clock, .sleep = AdvanceOn(&clock, &waits)});
  const absl::Time start = clock.Now();
  for (int i = 0; i < 10; ++i) KEELSON_ASSERT_OK(client.Send(Get("http://x/")));
  ASSERT_EQ(waits.size(), 9u);  // the first request used the one token in the bucket
  for (absl::Duration w : waits) EXPECT_LE(absl::AbsDuration(w - absl::Milliseconds(100)), kSlack);
  EXPECT_LE(absl::AbsDuration(clock.Now() - start - absl::Milliseconds(900)), 9 * kSlack);
  RateLimitStats s = client.stats();
  EXPECT_EQ(s.sent, 10);
  EXPECT_EQ(s.waited_for_token, 9);
  EXPECT_EQ(s.waited_for_slot, 0);
  EXPECT_EQ(inner.calls(), 10);
}

TEST(RateLimitedHttpClientTest, DefaultBurstIsOneSecondWorthAndRefillIsCapped) {
  FakeInner inner;
  core::FakeClock clock;
  std::vector<absl::Duration> waits;
  RateLimitedHttpClient client(
      inner, {.requests_per_second = 5, .clock = &clock, .sleep = AdvanceOn(&clock, &waits)});
  for (int i = 0; i < 5; ++i) KEELSON_ASSERT_OK(client.Send(Get("http://x/")));
  EXPECT_TRUE(waits.empty());
  KEELSON_ASSERT_OK(client.Send(Get("http://x/")));
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_LE(absl::AbsDuration(waits[0] - absl::Milliseconds(200)), kSlack);

  // A long idle period refills to the burst, not beyond it.
  waits.clear();
  clock.Advance(absl::Minutes(10));
  for (int i = 0; i < 5; ++i) KEELSON_ASSERT_OK(client.Send(Get("http://x/")));
  EXPECT_TRUE(waits.empty());
  KEELSON_ASSERT_OK(client.Send(Get("http://x/")));
  EXPECT_EQ(waits.size(), 1u);
}

TEST(RateLimitedHttpClientTest, ConcurrentCallersEachReserveTheirOwnLaterToken) {
  FakeInner inner;
  core::FakeClock clock;  // never advanced: every caller sees the same instant
  absl::Mutex mu;
  std::vector<absl::Duration> waits;
  RateLimitedHttpClient client(
      inner,
      {.requests_per_second = 10, .burst = 1, .clock = &clock, .sleep = [&](absl::Duration d) {
         absl::MutexLock lock(&mu);
         waits.push_back(d);
       }});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(client.Send(Get("http://x/")).ok());
    });
  }
  for (auto& t : threads) t.join();
  // 20 requests at one instant: one free token, then reservations 100 ms, 200 ms, ... 1.9 s.
  std::sort(waits.begin(), waits.end());
  ASSERT_EQ(waits.size(), 19u);
  for (size_t i = 0; i < waits.size(); ++i) {
    EXPECT_LE(absl::AbsDuration(waits[i] - absl::Milliseconds(100) * static_cast<int64_t>(i + 1)),
              kSlack)
        << i;
  }
  EXPECT_EQ(client.stats().waited_for_token, 19);
}

TEST(RateLimitedHttpClientTest, CapsRequestsInFlight) {
  FakeInner inner;
  inner.Close();  // hold every request inside the inner client until opened
  RateLimitedHttpClient client(inner, {.concurrency = 3});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] { EXPECT_TRUE(client.Send(Get("http://x/")).ok()); });
  }
  // Wait (bounded, as a failure guard only) until 3 are inside and 5 are blocked on the cap.
  const absl::Time guard = absl::Now() + absl::Seconds(30);
  while ((inner.in_flight() < 3 || client.stats().waited_for_slot < 5) && absl::Now() < guard) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(inner.in_flight(), 3);
  EXPECT_EQ(client.stats().in_flight, 3);
  EXPECT_EQ(client.stats().waited_for_slot, 5);
  inner.Open();
  for (auto& t : threads) t.join();
  EXPECT_EQ(inner.calls(), 8);
  EXPECT_EQ(inner.max_in_flight(), 3);
  RateLimitStats s = client.stats();
  EXPECT_EQ(s.sent, 8);
  EXPECT_EQ(s.max_in_flight, 3);
  EXPECT_EQ(s.in_flight, 0);
}

TEST(RateLimitedHttpClientTest, PassesAnswersAndErrorsThroughUnchanged) {
  FakeInner inner;
  RateLimitedHttpClient client(inner, {});
  KEELSON_ASSERT_OK_AND_ASSIGN(OutboundResponse r, client.Send(Get("http://x/a")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "http://x/a");
  inner.FailWith(absl::UnavailableError("connection reset"));
  EXPECT_THAT(client.Send(Get("http://x/b")), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(client.stats().sent, 2);
  EXPECT_EQ(client.stats().in_flight, 0);
}

}  // namespace
}  // namespace keelson::net
