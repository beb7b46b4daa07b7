#pragma once
// Client-side pacing for a remote with published limits (Business Central: 6,000 requests per
// 5-minute sliding window and 5 concurrent requests per user). RateLimitedHttpClient decorates
// another HttpClient with
//   (a) a concurrency cap: at most `concurrency` requests in flight; further callers block on a
//       condition variable until a slot frees (first come, first served is not guaranteed), and
//   (b) a token bucket of `requests_per_second`, holding at most `burst` tokens. A caller that
//       finds the bucket empty reserves the next token and sleeps until it is due, so callers are
//       spaced exactly 1/rate apart however many threads call at once.
// The slot is taken before the token, so a request is sent at the instant its token is due and
// the sends of any window of length W never exceed burst + rate * W. That is what keeps a
// sliding-window limit like Business Central's from answering 429: set `requests_per_second` to
// the allowed average and `burst` small (1 is exact; the default, one second's worth, can exceed
// a window by that many requests right after an idle period).
//
// This is pacing, not retry policy: the decorator never resends and never interprets the answer
// (a 429 passes through to the adapter, which classifies it).
//
// Time: the token bucket reads `clock` and waits through `sleep`; both default to the real clock.
// Tests inject a core::FakeClock and a sleep that advances it, so nothing waits on wall time.
//
// Ownership: borrows `inner`, `clock` (and whatever `sleep` captures); they must outlive this.
// Thread-safety: Send and stats() are thread-safe.

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "net/http_client.h"

namespace keelson::net {

struct RateLimitOptions {
  // Average rate; <= 0 disables the token bucket.
  double requests_per_second = 0;
  // Bucket capacity in requests; <= 0 means one second's worth (at least 1).
  double burst = 0;
  // Requests in flight at once; <= 0 disables the cap.
  int concurrency = 0;
  // Time source of the token bucket. Never null.
  core::Clock* clock = core::Clock::Real();
  // Waits for `d` on `clock`'s time line. Empty means absl::SleepFor (real time).
  std::function<void(absl::Duration)> sleep;
};

struct RateLimitStats {
  int64_t sent = 0;              // requests handed to the inner client
  int64_t waited_for_token = 0;  // of those, how many had to wait for the token bucket
  int64_t waited_for_slot = 0;   // of those, how many blocked on the concurrency cap
  absl::Duration token_wait = absl::ZeroDuration();  // sum of the token-bucket waits
  int in_flight = 0;                                 // now
  int max_in_flight = 0;                             // highest seen
};

class RateLimitedHttpClient final : public HttpClient {
 public:
  RateLimitedHttpClient(HttpClient& inner, RateLimitOptions options);

  absl::StatusOr<OutboundResponse> Send(const OutboundRequest& request) override;

  RateLimitStats stats() const;
  const RateLimitOptions& options() const { return options_; }

 private:
  void AcquireSlot();
  void ReleaseSlot();
  // Reserves one token and returns how long the caller must wait before using it.
  absl::Duration ReserveToken();

  HttpClient& inner_;
  const RateLimitOptions options_;
  const double burst_;

  mutable absl::Mutex mu_;
  absl::CondVar slot_freed_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Tokens at `refilled_at_`; negative when callers have reserved tokens not yet due.
  double tokens_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time refilled_at_ ABSL_GUARDED_BY(mu_);
  RateLimitStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keelson::net
