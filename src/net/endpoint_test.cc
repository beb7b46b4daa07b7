#include "net/endpoint.h"

#include <deque>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "core/status_payloads.h"
#include "gtest/gtest.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "tests/support/status_matchers.h"

namespace keelson::net {
namespace {

constexpr int kUnlimited = std::numeric_limits<int>::max();

OutboundResponse Answer(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                        std::string body = "") {
  OutboundResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

OutboundRequest Get(std::string url = "http://erp.test/api/items?sig=secret") {
  OutboundRequest r;
  r.url = std::move(url);
  return r;
}

// Answers from a script, one entry per call in the order calls arrive (200 once the script is
// empty), and records the (fake) time of each call. Hold() keeps every call inside Send until
// Release(); an entry added with ThenHeld() keeps its call inside until ReleaseHeld().
class ScriptedInner final : public HttpClient {
 public:
  explicit ScriptedInner(core::Clock* clock) : clock_(clock) {}

  absl::StatusOr<OutboundResponse> Send(const OutboundRequest&) override {
    absl::MutexLock lock(&mu_);
    sent_at_.push_back(clock_->Now());
    ++entered_;
    Entry e{Answer(200), false};
    if (!script_.empty()) {
      e = std::move(script_.front());
      script_.pop_front();
    }
    const int ticket = e.held ? ++held_tickets_ : 0;
    while (hold_all_ || ticket > held_released_) changed_.Wait(&mu_);
    return e.answer;
  }

  void Then(absl::StatusOr<OutboundResponse> r, int times = 1) {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < times; ++i) script_.push_back({r, false});
  }
  void ThenHeld(absl::StatusOr<OutboundResponse> r) {
    absl::MutexLock lock(&mu_);
    script_.push_back({std::move(r), true});
  }
  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_all_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    hold_all_ = false;
    changed_.SignalAll();
  }
  void ReleaseHeld() {
    absl::MutexLock lock(&mu_);
    ++held_released_;
    changed_.SignalAll();
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return entered_;
  }
  std::vector<absl::Time> sent_at() {
    absl::MutexLock lock(&mu_);
    return sent_at_;
  }

 private:
  struct Entry {
    absl::StatusOr<OutboundResponse> answer;
    bool held;
  };
  core::Clock* clock_;
  absl::Mutex mu_;
  absl::CondVar changed_;
  bool hold_all_ = false;
  int held_tickets_ = 0;
  int held_released_ = 0;
  int entered_ = 0;
  std::deque<Entry> script_;
  std::vector<absl::Time> sent_at_;
};

// Waits (bounded, as a failure guard only) for another thread to reach a state.
template <typename Pred>
bool Eventually(Pred pred) {
  const absl::Time guard = absl::Now() + absl::Seconds(30);
  while (!pred() && absl::Now() < guard) absl::SleepFor(absl::Milliseconds(1));
  return pred();
}

// The usual test set-up: a fake clock, a sleep that advances it (recording each wait), and a
// scripted remote.
struct Fixture {
  core::FakeClock clock;
  std::vector<absl::Duration> waits;
  ScriptedInner inner{&clock};

  EndpointOptions Options(EndpointOptions o = {}) {
    if (o.name.empty()) o.name = "erp";
    o.clock = &clock;
    o.sleep = [this](absl::Duration d) {
      waits.push_back(d);
      clock.Advance(d);
    };
    return o;
  }
};

BreakerOptions Breaker(int consecutive, int window = 1000, double ratio = 0.5) {
  BreakerOptions b;
  b.consecutive_failures = consecutive;
  b.window = window;
  b.failure_ratio = ratio;
  return b;
}

TEST(EndpointTest, OpensAfterConsecutiveServerErrorsAndFailsFastWithoutCallingTheRemote) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(3)}));
  f.inner.Then(Answer(503), 3);
  for (int i = 0; i < 2; ++i) {
    KEELSON_ASSERT_OK_AND_ASSIGN(OutboundResponse r, endpoint.Send(Get()));
    EXPECT_EQ(r.status, 503);  // passed through unchanged
    EXPECT_EQ(endpoint.state(), BreakerState::kClosed);
  }
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kOpen);

  absl::StatusOr<OutboundResponse> r = endpoint.Send(Get());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(core::WasNotAttempted(r.status()));
  EXPECT_NE(r.status().message().find("circuit open for erp until 2026-01-01T00:00:05"),
            absl::string_view::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("HTTP 503 on GET /api/items"), absl::string_view::npos)
      << r.status();
  EXPECT_EQ(r.status().message().find("secret"), absl::string_view::npos);  // no query string
  EXPECT_EQ(f.inner.calls(), 3);
  EXPECT_TRUE(f.waits.empty());

  EndpointSnapshot s = endpoint.snapshot();
  EXPECT_EQ(s.state, BreakerState::kOpen);
  EXPECT_EQ(s.open_until, f.clock.Now() + absl::Seconds(5));
  EXPECT_EQ(s.sent, 3);
  EXPECT_EQ(s.failures, 3);
  EXPECT_EQ(s.rejected_open, 1);
  EXPECT_EQ(s.last_error, "HTTP 503 on GET /api/items");
  EXPECT_EQ(s.last_error_at, f.clock.Now());
}

TEST(EndpointTest, TransportErrorsAreFailuresAndPassThroughUnmarked) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(2)}));
  f.inner.Then(absl::DeadlineExceededError("timed out after 30s"), 2);
  absl::StatusOr<OutboundResponse> r = endpoint.Send(Get());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(r.status().message(), "timed out after 30s");
  EXPECT_FALSE(core::WasNotAttempted(r.status()));  // it was sent: the outcome is uncertain
  EXPECT_THAT(endpoint.Send(Get()), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(endpoint.state(), BreakerState::kOpen);
  EXPECT_EQ(endpoint.snapshot().last_error,
            "DEADLINE_EXCEEDED: timed out after 30s on GET /api/items");
}

TEST(EndpointTest, OpensOnTheFailureRatioOnlyOverAFullWindow) {
  Fixture f;
  // No consecutive rule: only the ratio, 50% of 10 calls.
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(0, 10, 0.5)}));
  f.inner.Then(Answer(500), 5);  // 5 of 5 failed, but the window is not full yet
  f.inner.Then(Answer(200), 4);  // 5 of 9
  f.inner.Then(Answer(502), 1);  // 6 of 10
  for (int i = 0; i < 9; ++i) {
    KEELSON_ASSERT_OK(endpoint.Send(Get()));
    EXPECT_EQ(endpoint.state(), BreakerState::kClosed) << i;
  }
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kOpen);
}

TEST(EndpointTest, TheRatioWindowSlides) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(0, 4, 0.75)}));
  // F F S S | S F F -> windows: [F F S S] 2/4, [F S S S] 1/4, [S S S F] 1/4, [S S F F] 2/4.
  for (int status : {500, 500, 200, 200, 200, 500, 500}) f.inner.Then(Answer(status));
  for (int i = 0; i < 7; ++i) KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kClosed);
  f.inner.Then(Answer(504));  // [S F F F] 3/4
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kOpen);
}

TEST(EndpointTest, ClientErrorsAndOtherServerErrorsCountAsSuccess) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(2, 4, 0.75)}));
  // Never two technical failures in a row, never 3 of 4: 4xx and 501 show the remote is up.
  for (int status : {500, 404, 503, 400, 502, 501, 500, 422, 504, 409}) {
    f.inner.Then(Answer(status));
  }
  for (int i = 0; i < 10; ++i) KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kClosed);
  EXPECT_EQ(endpoint.snapshot().failures, 5);
}

TEST(EndpointTest, AdmitInEachState) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(1)}));
  EXPECT_EQ(endpoint.Admit(), kUnlimited);
  f.inner.Then(Answer(500));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kOpen);
  EXPECT_EQ(endpoint.Admit(), 0);
  f.clock.Advance(absl::Seconds(5) - absl::Milliseconds(1));
  EXPECT_EQ(endpoint.Admit(), 0);
  f.clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(endpoint.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(endpoint.Admit(), 1);
  KEELSON_ASSERT_OK(endpoint.Send(Get()));  // the probe: 200
  EXPECT_EQ(endpoint.state(), BreakerState::kClosed);
  EXPECT_EQ(endpoint.Admit(), kUnlimited);
}

TEST(EndpointTest, HalfOpenLetsExactlyOneProbeThrough) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(1)}));
  f.inner.Then(Answer(503));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  f.clock.Advance(absl::Seconds(5));
  ASSERT_EQ(endpoint.Admit(), 1);

  f.inner.Hold();
  std::thread probe([&] {
    absl::StatusOr<OutboundResponse> r = endpoint.Send(Get());
    EXPECT_TRUE(r.ok()) << r.status();
  });
  ASSERT_TRUE(Eventually([&] { return f.inner.calls() == 2; }));  // the probe is at the remote
  EXPECT_EQ(endpoint.Admit(), 0);
  EXPECT_EQ(endpoint.state(), BreakerState::kHalfOpen);

  // Two more callers while the probe is out: both fail fast, neither reaches the remote.
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<OutboundResponse> r = endpoint.Send(Get());
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_TRUE(core::WasNotAttempted(r.status()));
    EXPECT_NE(r.status().message().find("half-open"), absl::string_view::npos) << r.status();
  }
  EXPECT_EQ(f.inner.calls(), 2);

  f.inner.Release();
  probe.join();
  EXPECT_EQ(endpoint.state(), BreakerState::kClosed);
  EXPECT_EQ(endpoint.Admit(), kUnlimited);
  EXPECT_EQ(endpoint.snapshot().rejected_open, 2);
}

TEST(EndpointTest, ProbeFailureReopensWithTheOpenPeriodDoubledUpToTheCap) {
  Fixture f;
  BreakerOptions b = Breaker(1);
  b.open_for = absl::Seconds(5);
  b.max_open_for = absl::Seconds(12);
  Endpoint endpoint(f.inner, f.Options({.breaker = b}));
  f.inner.Then(Answer(503), 4);

  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().open_until, f.clock.Now() + absl::Seconds(5));
  f.clock.Advance(absl::Seconds(5));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));  // probe fails
  EXPECT_EQ(endpoint.state(), BreakerState::kOpen);
  EXPECT_EQ(endpoint.snapshot().open_until, f.clock.Now() + absl::Seconds(10));

  f.clock.Advance(absl::Seconds(9));
  EXPECT_THAT(endpoint.Send(Get()), StatusIs(absl::StatusCode::kUnavailable));  // still open
  f.clock.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));  // probe fails again: 20 s, capped at 12
  EXPECT_EQ(endpoint.snapshot().open_until, f.clock.Now() + absl::Seconds(12));
  EXPECT_EQ(f.inner.calls(), 3);
}

TEST(EndpointTest, ProbeSuccessClosesAndResetsCountersAndOpenPeriod) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(2)}));
  f.inner.Then(Answer(500), 3);  // open, then a failed probe: 10 s
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  f.clock.Advance(absl::Seconds(5));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  f.clock.Advance(absl::Seconds(10));
  f.inner.Then(Answer(404));  // a 4xx is a live remote: the probe succeeds
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kClosed);
  EXPECT_EQ(endpoint.snapshot().open_until, absl::InfinitePast());

  f.inner.Then(Answer(500), 2);
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kClosed);  // the count started again from zero
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kOpen);
  EXPECT_EQ(endpoint.snapshot().open_until, f.clock.Now() + absl::Seconds(5));  // not 20 s
}

TEST(EndpointTest, AnAnswerToACallSentBeforeTheCircuitOpenedDoesNotCount) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.breaker = Breaker(1)}));
  // A slow call is sent while closed; meanwhile another call fails and opens the circuit.
  f.inner.ThenHeld(Answer(200));
  f.inner.Then(Answer(500));
  std::thread slow([&] { EXPECT_TRUE(endpoint.Send(Get()).ok()); });
  ASSERT_TRUE(Eventually([&] { return f.inner.calls() == 1; }));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  ASSERT_EQ(endpoint.state(), BreakerState::kOpen);
  // The slow call's late 200 says nothing about the remote now: the circuit stays open.
  f.inner.ReleaseHeld();
  slow.join();
  EXPECT_EQ(endpoint.state(), BreakerState::kOpen);
  EXPECT_EQ(endpoint.Admit(), 0);
}

TEST(EndpointTest, TooManyRequestsDoesNotOpenTheBreakerAndHalvesTheRateSuccessesRestoreIt) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.requests_per_second = 10,
                                        .burst = 1,
                                        .min_requests_per_second = 1,
                                        .breaker = Breaker(2)}));
  EXPECT_EQ(endpoint.snapshot().rate, 10);
  f.inner.Then(Answer(429), 5);
  for (double expected : {5.0, 2.5, 1.25, 1.0, 1.0}) {  // floor: min_requests_per_second
    KEELSON_ASSERT_OK_AND_ASSIGN(OutboundResponse r, endpoint.Send(Get()));
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(endpoint.snapshot().rate, expected);
  }
  EXPECT_EQ(endpoint.state(), BreakerState::kClosed);
  EXPECT_EQ(endpoint.snapshot().answered_429, 5);
  EXPECT_EQ(endpoint.snapshot().failures, 0);

  // The bucket paces at the reduced rate: 1 req/s now.
  f.waits.clear();
  KEELSON_ASSERT_OK(endpoint.Send(Get()));  // success: 1 + 0.5
  ASSERT_EQ(f.waits.size(), 1u);
  EXPECT_LE(absl::AbsDuration(f.waits[0] - absl::Seconds(1)), absl::Microseconds(1));
  EXPECT_EQ(endpoint.snapshot().rate, 1.5);
  for (int i = 0; i < 16; ++i) KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().rate, 9.5);
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().rate, 10);  // never above the configured rate
  EXPECT_EQ(endpoint.snapshot().configured_rate, 10);
}

TEST(EndpointTest, A429BurstAnsweringOneBurstHalvesOnce) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.requests_per_second = 8, .burst = 4}));
  f.inner.Then(Answer(429), 4);
  f.inner.Hold();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { EXPECT_TRUE(endpoint.Send(Get()).ok()); });
  ASSERT_TRUE(Eventually([&] { return f.inner.calls() == 4; }));  // all four sent at rate 8
  f.inner.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(endpoint.snapshot().rate, 4);
  EXPECT_EQ(endpoint.snapshot().answered_429, 4);
}

TEST(EndpointTest, NonAdaptiveKeepsTheRate) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.requests_per_second = 10, .adaptive = false}));
  f.inner.Then(Answer(429));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().rate, 10);
}

TEST(EndpointTest, RetryAfterSecondsPausesTheWholeEndpoint) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options());  // no bucket: the pause still applies
  const absl::Time t0 = f.clock.Now();
  f.inner.Then(Answer(429, {{"retry-after", "7"}}));
  KEELSON_ASSERT_OK_AND_ASSIGN(OutboundResponse r, endpoint.Send(Get("http://erp.test/a")));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "7");  // the adapter still sees it
  EXPECT_EQ(endpoint.snapshot().paused_until, t0 + absl::Seconds(7));

  // A different request (another job, another path) waits too.
  KEELSON_ASSERT_OK(endpoint.Send(Get("http://erp.test/b")));
  ASSERT_EQ(f.inner.sent_at().size(), 2u);
  EXPECT_GE(f.inner.sent_at()[1], t0 + absl::Seconds(7));
  EXPECT_EQ(endpoint.snapshot().paused_until, absl::InfinitePast());  // over
}

TEST(EndpointTest, RetryAfterHttpDateOn503Pauses) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options());
  const absl::Time t0 = f.clock.Now();  // 2026-01-01T00:00:00Z
  f.inner.Then(Answer(503, {{"retry-after", "Thu, 01 Jan 2026 00:00:20 GMT"}}));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().paused_until, t0 + absl::Seconds(20));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_GE(f.inner.sent_at()[1], t0 + absl::Seconds(20));
}

TEST(EndpointTest, RetryAfterOnOtherAnswersIsNotAPause) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options());
  f.inner.Then(Answer(301, {{"retry-after", "30"}, {"location", "/elsewhere"}}));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().paused_until, absl::InfinitePast());
}

TEST(EndpointTest, APauseHoldsCallersAlreadyWaitingForTheirToken) {
  core::FakeClock clock;
  ScriptedInner inner(&clock);
  absl::Mutex mu;
  std::vector<absl::Duration> waits;
  bool gate_closed = true;  // the first sleep blocks until the test opens it
  int sleeping = 0;
  EndpointOptions options;
  options.name = "erp";
  options.requests_per_second = 1;
  options.burst = 1;
  options.clock = &clock;
  options.sleep = [&](absl::Duration d) {
    {
      absl::MutexLock lock(&mu);
      waits.push_back(d);
      ++sleeping;
      mu.Await(absl::Condition(
          +[](bool* closed) { return !*closed; }, &gate_closed));
      --sleeping;
    }
    clock.Advance(d);
  };
  Endpoint endpoint(inner, options);
  const absl::Time t0 = clock.Now();

  // A takes the only token and is held at the remote; B reserves the next token (due in 1 s) and
  // sleeps for it.
  inner.Hold();
  inner.Then(Answer(429, {{"retry-after", "30"}}));
  std::thread a([&] { EXPECT_TRUE(endpoint.Send(Get()).ok()); });
  ASSERT_TRUE(Eventually([&] { return inner.calls() == 1; }));
  std::thread b([&] { EXPECT_TRUE(endpoint.Send(Get()).ok()); });
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return sleeping == 1;
  }));
  // A's answer pauses the endpoint for 30 s while B is asleep.
  inner.Release();
  a.join();
  EXPECT_EQ(endpoint.snapshot().paused_until, t0 + absl::Seconds(30));
  {
    absl::MutexLock lock(&mu);
    gate_closed = false;
  }
  b.join();
  ASSERT_EQ(inner.sent_at().size(), 2u);
  EXPECT_GE(inner.sent_at()[1], t0 + absl::Seconds(30));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0], absl::Seconds(1));   // B's token
  EXPECT_EQ(waits[1], absl::Seconds(29));  // then the rest of the pause
}

TEST(EndpointTest, RemainingZeroPausesUntilTheReset) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.requests_per_second = 100}));
  const absl::Time t0 = f.clock.Now();
  // IETF draft spelling, delta-seconds, on a successful answer.
  f.inner.Then(Answer(
      200, {{"ratelimit-limit", "25"}, {"ratelimit-remaining", "0"}, {"ratelimit-reset", "12"}}));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().paused_until, t0 + absl::Seconds(12));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_GE(f.inner.sent_at()[1], t0 + absl::Seconds(12));

  // X- spelling with a Unix timestamp (WooCommerce Store API and GitHub style resets).
  const absl::Time t1 = f.clock.Now();
  f.inner.Then(Answer(200, {{"x-ratelimit-remaining", "0"},
                            {"x-ratelimit-reset", std::to_string(absl::ToUnixSeconds(t1) + 40)}}));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().paused_until, t1 + absl::Seconds(40));

  // Calls left: no pause.
  f.clock.Advance(absl::Seconds(40));
  f.inner.Then(Answer(200, {{"ratelimit-remaining", "3"}, {"ratelimit-reset", "12"}}));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().paused_until, absl::InfinitePast());
}

TEST(EndpointTest, APauseIsCappedAtMaxPause) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options());
  const absl::Time t0 = f.clock.Now();
  f.inner.Then(Answer(429, {{"retry-after", "86400"}}));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.snapshot().paused_until, t0 + absl::Minutes(5));
}

TEST(EndpointTest, SpacesRequestsAtTheRateAfterTheBurst) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.requests_per_second = 10, .burst = 1}));
  for (int i = 0; i < 10; ++i) KEELSON_ASSERT_OK(endpoint.Send(Get()));
  ASSERT_EQ(f.waits.size(), 9u);
  for (absl::Duration w : f.waits) {
    EXPECT_LE(absl::AbsDuration(w - absl::Milliseconds(100)), absl::Microseconds(1));
  }
  EXPECT_EQ(endpoint.snapshot().sent, 10);
}

TEST(EndpointTest, CapsRequestsInFlight) {
  Fixture f;
  Endpoint endpoint(f.inner, f.Options({.concurrency = 2}));
  f.inner.Hold();
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) threads.emplace_back([&] { EXPECT_TRUE(endpoint.Send(Get()).ok()); });
  ASSERT_TRUE(Eventually(
      [&] { return f.inner.calls() == 2 && endpoint.snapshot().waiting_for_slot == 3; }));
  EXPECT_EQ(f.inner.calls(), 2);
  EXPECT_EQ(endpoint.snapshot().in_flight, 2);
  f.inner.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.inner.calls(), 5);
  EXPECT_EQ(endpoint.snapshot().in_flight, 0);
}

TEST(EndpointTest, DisabledBreakerNeverOpens) {
  Fixture f;
  BreakerOptions b = Breaker(1);
  b.enabled = false;
  Endpoint endpoint(f.inner, f.Options({.breaker = b}));
  f.inner.Then(Answer(503), 10);
  for (int i = 0; i < 10; ++i) KEELSON_ASSERT_OK(endpoint.Send(Get()));
  EXPECT_EQ(endpoint.state(), BreakerState::kClosed);
  EXPECT_EQ(endpoint.Admit(), kUnlimited);
  EXPECT_EQ(f.inner.calls(), 10);
}

TEST(EndpointTest, MetricsAndTransitionLog) {
  std::vector<std::string> lines;
  absl::Mutex lines_mu;
  obs::InitLogging("info", obs::LogFormat::kJson);
  obs::SetLogSinkForTest([&](std::string_view line) {
    absl::MutexLock lock(&lines_mu);
    lines.emplace_back(line);
  });
  Fixture f;
  obs::Registry registry;
  Endpoint endpoint(f.inner,
                    f.Options({.name = "woocommerce:main",
                               .requests_per_second = 4,
                               .burst = 4,
                               .breaker = Breaker(2)}),
                    &registry);
  f.inner.Then(Answer(200));
  f.inner.Then(Answer(404));
  f.inner.Then(Answer(429));
  f.inner.Then(absl::UnavailableError("connection refused"));
  f.inner.Then(Answer(503));
  for (int i = 0; i < 5; ++i) (void)endpoint.Send(Get());
  EXPECT_THAT(endpoint.Send(Get()), StatusIs(absl::StatusCode::kUnavailable));
  obs::SetLogSinkForTest(nullptr);

  const std::string text = registry.Render();
  auto has = [&](const std::string& sample) {
    EXPECT_NE(text.find(sample + "\n"), std::string::npos) << sample << "\n" << text;
  };
  has("keelson_connector_breaker_state{connector=\"woocommerce:main\"} 2");
  has("keelson_connector_requests_total{connector=\"woocommerce:main\",result=\"ok\"} 1");
  has("keelson_connector_requests_total{connector=\"woocommerce:main\",result=\"client_error\"} "
      "1");
  has("keelson_connector_requests_total{connector=\"woocommerce:main\",result=\"throttled\"} 1");
  has("keelson_connector_requests_total{connector=\"woocommerce:main\",result=\"transport_error\"}"
      " 1");
  has("keelson_connector_requests_total{connector=\"woocommerce:main\",result=\"server_error\"} "
      "1");
  has("keelson_connector_requests_total{connector=\"woocommerce:main\",result=\"rejected_open\"} "
      "1");
  has("keelson_connector_rate_limit{connector=\"woocommerce:main\"} 2");  // halved by the 429
  has("keelson_connector_breaker_transitions_total{connector=\"woocommerce:main\",to=\"open\"} 1");
  has("keelson_connector_breaker_transitions_total{connector=\"woocommerce:main\",to=\"closed\"} "
      "0");
  has("keelson_connector_request_seconds_count{connector=\"woocommerce:main\"} 5");

  // Half-open and closed again: the gauge follows.
  f.clock.Advance(absl::Seconds(5));
  KEELSON_ASSERT_OK(endpoint.Send(Get()));
  const std::string after = registry.Render();
  EXPECT_NE(after.find("keelson_connector_breaker_state{connector=\"woocommerce:main\"} 0\n"),
            std::string::npos);
  EXPECT_NE(after.find("keelson_connector_breaker_transitions_total{connector=\"woocommerce:main\","
                       "to=\"half_open\"} 1\n"),
            std::string::npos);

  absl::MutexLock lock(&lines_mu);
  ASSERT_EQ(lines.size(), 1u);  // the sink was removed before the probe
  EXPECT_NE(lines[0].find("\"level\":\"warn\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"connector\":\"woocommerce:main\",\"from\":\"closed\",\"to\":\"open\","
                          "\"error\":\"HTTP 503 on GET /api/items\""),
            std::string::npos)
      << lines[0];
}

TEST(ParseRetryAfterTest, DeltaSecondsAndHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01T00:00:00Z
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 5 ", now), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter("0", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Thursday, 01-Jan-26 00:01:00 GMT", now), absl::Minutes(1));  // RFC 850
  EXPECT_EQ(ParseRetryAfter("Thu Jan  1 00:00:09 2026", now), absl::Seconds(9));          // asctime
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), absl::ZeroDuration());  // past
}

TEST(ParseRetryAfterTest, InvalidIsNullopt) {
  const absl::Time now = absl::FromUnixSeconds(1'767'225'600);
  for (std::string_view v : {"", "  ", "-1", "+5", "1.5", "soon", "99999999999999999999999",
                             "Thu, 01 Jan 2026 00:00:30 GMT trailing"}) {
    EXPECT_EQ(ParseRetryAfter(v, now), std::nullopt) << v;
  }
}

TEST(ParseRateLimitResetTest, DeltaSecondsOrUnixTimestamp) {
  const absl::Time now = absl::FromUnixSeconds(1'767'225'600);
  EXPECT_EQ(ParseRateLimitReset("12", now), absl::Seconds(12));
  EXPECT_EQ(ParseRateLimitReset("1767225642", now), absl::Seconds(42));
  EXPECT_EQ(ParseRateLimitReset("1654880642", now), absl::ZeroDuration());  // in the past
  EXPECT_EQ(ParseRateLimitReset("x", now), std::nullopt);
}

TEST(RemotePauseTest, VendorHeaders) {
  const absl::Time now = absl::FromUnixSeconds(1'767'225'600);
  // ShipBob: x-retry-after on its 429, x-remaining-calls without a reset time.
  EXPECT_EQ(RemotePause(Answer(429, {{"x-retry-after", "25"}, {"x-remaining-calls", "0"}}), now),
            absl::Seconds(25));
  EXPECT_EQ(RemotePause(Answer(200, {{"x-remaining-calls", "0"}}), now), std::nullopt);
  // WooCommerce Store API example answer.
  EXPECT_EQ(RemotePause(Answer(429, {{"ratelimit-limit", "5"},
                                     {"ratelimit-remaining", "0"},
                                     {"ratelimit-reset", "1767225628"},
                                     {"ratelimit-retry-after", "28"}}),
                        now),
            absl::Seconds(28));
  // Business Central's bare 429: nothing to go on (the adaptive rate handles it).
  EXPECT_EQ(RemotePause(Answer(429), now), std::nullopt);
  // The longer of a retry delay and a reset wins.
  EXPECT_EQ(RemotePause(Answer(503, {{"retry-after", "5"},
                                     {"x-ratelimit-remaining", "0"},
                                     {"x-ratelimit-reset", "60"}}),
                        now),
            absl::Seconds(60));
  EXPECT_EQ(RemotePause(Answer(500, {{"retry-after", "5"}}), now), std::nullopt);
}

TEST(BreakerStateNameTest, LabelValues) {
  EXPECT_EQ(BreakerStateName(BreakerState::kClosed), "closed");
  EXPECT_EQ(BreakerStateName(BreakerState::kHalfOpen), "half_open");
  EXPECT_EQ(BreakerStateName(BreakerState::kOpen), "open");
}

}  // namespace
}  // namespace keelson::net
