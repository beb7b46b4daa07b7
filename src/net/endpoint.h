#pragma once
// net::Endpoint: everything the hub does to be a good client of one remote API, and to survive
// a bad one, as a decorator around another HttpClient. One Endpoint per remote (per ERP, per
// WooCommerce store, per 3PL account), shared by every adapter and job that calls that remote.
//
// In the order a call meets them:
//   1. Circuit breaker. While the remote is known to be down, Send fails at once, before the
//      request reaches anything, with kUnavailable marked core::MarkNotAttempted: the job runner
//      then waits without spending one of the job's attempts. Admit() tells the runner how many
//      new jobs for this remote may start, so it does not even dequeue work for a dead remote.
//   2. Concurrency cap: at most `concurrency` requests in flight; further callers block.
//   3. Pacing: a token bucket of `requests_per_second` holding at most `burst` tokens, exactly as
//      RateLimitedHttpClient (slot before token, callers spaced 1/rate apart, a window of length W
//      never sees more than burst + rate * W sends), plus what the remote says about its limits:
//        - a 429 or 503 with a retry delay pauses the WHOLE endpoint until then: no caller gets a
//          token (or, without a bucket, is let through) before `paused_until`, including callers
//          already waiting for their token;
//        - a "remaining calls: 0" header pauses it until the advertised reset;
//        - with `adaptive`, a 429 halves the current rate (not below min_requests_per_second) and
//          each later success gives back configured_rate / 20, up to the configured rate (AIMD).
//          Only the first 429 among requests sent at the old rate halves it, so a burst of 429s
//          answering one burst of requests halves once, not once per request.
//      One pause is never longer than `max_pause` (5 minutes by default): a remote that asks for
//      an hour is paused five minutes at a time, and the job runner's backoff (which reads the
//      adapters' Retry-After through jobs::WithRetryAfter) does the rest.
//   4. The inner Send. Its answer is returned to the caller unchanged, whatever it is: adapters
//      classify answers, and the decorator never resends.
//
// Remote headers understood (checked against each vendor's documentation):
//   Retry-After (RFC 9110 section 10.2.3): delta-seconds or an HTTP-date, on 429 and 503.
//   x-retry-after / x-remaining-calls: ShipBob ("x-retry-after: 25 - rate limit is exceeded, try
//     again in 25 seconds"; "x-remaining-calls: 0"), https://developer.shipbob.com/rate-limit.
//     ShipBob sends no reset time: remaining 0 pauses only when a retry delay comes with it.
//   RateLimit-Remaining / RateLimit-Reset / RateLimit-Retry-After: the WooCommerce Store API
//     (opt-in, POST/PUT/PATCH/DELETE only; Reset is a Unix timestamp, Retry-After seconds),
//     https://developer.woocommerce.com/docs/apis/store-api/rate-limiting; the same names in the
//     IETF draft (draft-ietf-httpapi-ratelimit-headers, Reset in delta-seconds).
//   X-RateLimit-Remaining / X-RateLimit-Reset: the common vendor spelling (GitHub style, Reset
//     usually a Unix timestamp).
//   A Reset value above 10 years' worth of seconds is read as a Unix timestamp, otherwise as
//   delta-seconds, which covers both readings.
//   Business Central answers 429 without Retry-After ("Handling Status Code 429 requires the
//   client to adopt a retry logic while providing a cool off period",
//   https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/
//   dynamics-rate-limits) and 503/504 sometimes with one: the adaptive rate is what slows down
//   against a bare 429.
//
// Circuit breaker. A technical failure is a non-OK Status from the inner Send (timeout, reset,
// refused) or an HTTP 500, 502, 503 or 504 answer. A 429 is rate, not failure; every other answer
// (2xx, 3xx, other 4xx and 5xx) shows the remote is up and counts as a success.
//   closed     calls go through. Opens after `consecutive_failures` technical failures in a row,
//              or when at least `failure_ratio` of the last `window` calls failed (the ratio rule
//              waits for a full window).
//   open       calls fail fast until open_until = (time of opening) + open period. The first open
//              period is `open_for`.
//   half-open  after open_until, exactly one call (the probe) goes through; the others fail fast
//              as while open. Probe success (anything but a technical failure) closes the circuit
//              and resets the counters and the open period; probe failure opens it again with the
//              open period doubled, up to `max_open_for`.
// The move from open to half-open is a matter of time: Admit(), state() and snapshot() report it
// as soon as open_until passes; the breaker metric and the transition log follow when the probe is
// sent. Answers to calls sent before a transition (a slow call that started while closed and ends
// after the circuit opened) count in the metrics but not for the breaker.
//
// Metrics (when `metrics` is not null; `connector` is options.name):
//   keelson_connector_breaker_state{connector}               gauge: 0 closed, 1 half-open, 2 open
//   keelson_connector_requests_total{connector,result}       counter; result: ok (1xx-3xx),
//       client_error (4xx but 429), server_error (5xx), transport_error (non-OK Status),
//       throttled (429), rejected_open (failed fast by the breaker; never sent)
//   keelson_connector_rate_limit{connector}                  gauge: current rate in req/s,
//                                                            0 = unlimited
//   keelson_connector_breaker_transitions_total{connector,to} counter; to: closed, half_open, open
//   keelson_connector_request_seconds{connector}             histogram of the inner Send on
//                                                            options.clock (waits excluded)
// Breaker transitions are logged (warn when opening, info otherwise) with fields connector, from,
// to, error.
//
// Time: reads `clock` and waits through `sleep`; both default to real time. Tests inject a
// core::FakeClock and a sleep that advances it.
// Ownership: borrows `inner`, `clock`, `metrics` (and whatever `sleep` captures); they must outlive
// the Endpoint.
// Thread-safety: every method is thread-safe. The internal mutex is never held while calling the
// inner client, sleeping or logging.

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "net/http_client.h"
#include "obs/metrics.h"

namespace keelson::net {

struct BreakerOptions {
  bool enabled = true;
  // Opens after this many technical failures in a row (<= 0: no such rule).
  int consecutive_failures = 5;
  // ...or when at least this share of the last `window` calls failed (<= 0 or > 1: no such rule).
  double failure_ratio = 0.5;
  // Calls in the ratio window; the ratio rule needs a full window.
  int window = 20;
  // First open period.
  absl::Duration open_for = absl::Seconds(5);
  // The open period doubles after each failed probe, up to this.
  absl::Duration max_open_for = absl::Seconds(60);
};

struct EndpointOptions {
  // Metrics and log label: "erp", "woocommerce:main".
  std::string name;
  // Average rate; <= 0: no token bucket (remote pauses still apply).
  double requests_per_second = 0;
  // Bucket capacity in requests; <= 0 means one second's worth (at least 1), as RateLimitOptions.
  double burst = 0;
  // Requests in flight at once; <= 0: no cap.
  int concurrency = 0;
  // AIMD on 429 (only when requests_per_second > 0).
  bool adaptive = true;
  // Floor of the adaptive rate (never above requests_per_second).
  double min_requests_per_second = 0.5;
  BreakerOptions breaker;
  // Time source. Never null.
  core::Clock* clock = core::Clock::Real();
  // Waits for `d` on `clock`'s time line. Empty means absl::SleepFor (real time).
  std::function<void(absl::Duration)> sleep;
  // Longest single pause taken on the remote's word (Retry-After, remaining 0 until reset).
  absl::Duration max_pause = absl::Minutes(5);
};

enum class BreakerState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };
// "closed", "half_open", "open" (the metric label values).
std::string_view BreakerStateName(BreakerState state);

struct EndpointSnapshot {
  std::string name;
  BreakerState state = BreakerState::kClosed;
  absl::Time open_until = absl::InfinitePast();  // when open or half-open; InfinitePast if closed
  double rate = 0;                               // current (adaptive) rate, req/s; 0 = unlimited
  double configured_rate = 0;                    // options.requests_per_second (0 = unlimited)
  int in_flight = 0;                             // requests between slot and answer
  int waiting_for_slot = 0;                      // callers blocked on the concurrency cap
  int64_t sent = 0;                              // requests handed to the inner client
  int64_t failures = 0;       // technical failures (transport errors, 500/502/503/504)
  int64_t rejected_open = 0;  // calls failed fast by the breaker
  int64_t answered_429 = 0;
  absl::Time paused_until = absl::InfinitePast();  // bucket held by the remote; InfinitePast if not
  std::string last_error;                          // last technical failure; "" if none yet
  absl::Time last_error_at = absl::InfinitePast();
};

class Endpoint final : public HttpClient {
 public:
  Endpoint(HttpClient& inner, EndpointOptions options, obs::Registry* metrics = nullptr);
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Breaker, slot, pacing, then inner.Send; the answer unchanged. Fails fast (without waiting or
  // calling inner) with kUnavailable marked core::MarkNotAttempted while the circuit is open or a
  // half-open probe is in flight; the message names the endpoint, the time it reopens and the last
  // error.
  absl::StatusOr<OutboundResponse> Send(const OutboundRequest& request) override;

  // For the job runner's admission: how many NEW jobs that use this endpoint may start now.
  // Closed (or breaker disabled): std::numeric_limits<int>::max(); open before open_until: 0;
  // after open_until (half-open): 1 while no probe is in flight, else 0.
  int Admit() const;
  BreakerState state() const;
  EndpointSnapshot snapshot() const;
  const EndpointOptions& options() const { return options_; }

 private:
  enum class Result { kOk, kClientError, kServerError, kTransportError, kThrottled };
  // What one admitted call needs to remember until its answer.
  struct Ticket {
    bool probe = false;
    uint64_t generation = 0;  // breaker period the call was sent in
    uint64_t seq = 0;         // send order, for "sent before the last rate decrease"
  };
  struct Transition {
    BreakerState from;
    BreakerState to;
    std::string error;
    absl::Duration open_for;
  };
  struct Metrics {
    obs::Gauge* state = nullptr;
    obs::Gauge* rate = nullptr;
    obs::Counter* results[5] = {};  // by Result
    obs::Counter* rejected_open = nullptr;
    obs::Counter* to[3] = {};  // by BreakerState
    obs::Histogram* seconds = nullptr;
  };

  // Checks the breaker for a call at `now`. With `ticket`, admits the call for sending (taking the
  // half-open probe); without, only tells whether it would be rejected. Returns the rejection.
  absl::Status CheckBreakerLocked(absl::Time now, Ticket* ticket,
                                  std::vector<Transition>* transitions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  BreakerState EffectiveStateLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TransitionLocked(BreakerState to, absl::Time now, std::vector<Transition>* transitions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Books the answer of an admitted call: counters, remote pauses, adaptive rate, breaker.
  void RecordLocked(const Ticket& ticket, Result result, bool technical_failure,
                    const absl::StatusOr<OutboundResponse>& response,
                    const OutboundRequest& request, absl::Time now,
                    std::vector<Transition>* transitions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void AcquireSlot();
  // Waits until the remote's pause is over and this caller's token is due.
  void WaitForTurn();
  absl::Duration ReserveTokenLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefillLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetRateLocked(double rate, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PauseLocked(absl::Time until) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Sleep(absl::Duration d);
  void Emit(const std::vector<Transition>& transitions) const;

  HttpClient& inner_;
  const EndpointOptions options_;
  const double burst_;
  const double min_rate_;
  Metrics metrics_;  // all null without a registry

  mutable absl::Mutex mu_;
  absl::CondVar slot_freed_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_for_slot_ ABSL_GUARDED_BY(mu_) = 0;

  // Token bucket: tokens at `refilled_at_`; negative when callers hold reservations not yet due.
  double rate_ ABSL_GUARDED_BY(mu_) = 0;
  double tokens_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time refilled_at_ ABSL_GUARDED_BY(mu_);
  absl::Time paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Bumped by every pause: a reservation made in an older epoch was voided and is made again.
  uint64_t pause_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t send_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_decrease_seq_ ABSL_GUARDED_BY(mu_) = 0;

  // Breaker. kHalfOpen is stored once the probe is sent; before that an expired kOpen is reported
  // as half-open (EffectiveStateLocked).
  BreakerState state_ ABSL_GUARDED_BY(mu_) = BreakerState::kClosed;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time open_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration open_period_ ABSL_GUARDED_BY(mu_);
  bool probe_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<bool> window_ ABSL_GUARDED_BY(mu_);  // true = technical failure, newest at the back
  int window_failures_ ABSL_GUARDED_BY(mu_) = 0;

  int64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rejected_open_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t answered_429_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time last_error_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Parses Retry-After (RFC 9110 section 10.2.3): delta-seconds, or an HTTP-date (IMF-fixdate, and
// the obsolete RFC 850 and asctime forms recipients must accept) taken relative to `now` (a date
// in the past is zero). nullopt if absent or invalid (including a negative number).
std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now);

// Parses a RateLimit-Reset / X-RateLimit-Reset value: non-negative integer seconds, read as a Unix
// timestamp when larger than 10 years' worth of seconds, else as delta-seconds. nullopt if invalid.
std::optional<absl::Duration> ParseRateLimitReset(std::string_view value, absl::Time now);

// How long the remote asked us to hold off, from the headers above: the Retry-After family on a
// 429 or 503, and "remaining: 0" until its reset. nullopt if it asked nothing. Not capped.
std::optional<absl::Duration> RemotePause(const OutboundResponse& response, absl::Time now);

}  // namespace keelson::net
