#include "net/rate_limited_client.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace keelson::net {

RateLimitedHttpClient::RateLimitedHttpClient(HttpClient& inner, RateLimitOptions options)
    : inner_(inner),
      options_(std::move(options)),
      burst_(options_.burst > 0 ? options_.burst : std::max(1.0, options_.requests_per_second)) {
  absl::MutexLock lock(&mu_);
  // Start full: the first `burst` requests go out at once, as after any idle period.
  tokens_ = burst_;
  refilled_at_ = options_.clock->Now();
}

absl::StatusOr<OutboundResponse> RateLimitedHttpClient::Send(const OutboundRequest& request) {
  AcquireSlot();
  const absl::Duration wait = ReserveToken();
  if (wait > absl::ZeroDuration()) {
    if (options_.sleep) {
      options_.sleep(wait);
    } else {
      absl::SleepFor(wait);
    }
  }
  absl::StatusOr<OutboundResponse> response = inner_.Send(request);
  ReleaseSlot();
  return response;
}

void RateLimitedHttpClient::AcquireSlot() {
  absl::MutexLock lock(&mu_);
  if (options_.concurrency > 0 && in_flight_ >= options_.concurrency) {
    ++stats_.waited_for_slot;
    while (in_flight_ >= options_.concurrency) slot_freed_.Wait(&mu_);
  }
  ++in_flight_;
  ++stats_.sent;
  stats_.max_in_flight = std::max(stats_.max_in_flight, in_flight_);
}

void RateLimitedHttpClient::ReleaseSlot() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
  slot_freed_.Signal();
}

absl::Duration RateLimitedHttpClient::ReserveToken() {
  if (options_.requests_per_second <= 0) return absl::ZeroDuration();
  const double rate = options_.requests_per_second;
  absl::MutexLock lock(&mu_);
  const absl::Time now = options_.clock->Now();
  if (now > refilled_at_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - refilled_at_) * rate);
    refilled_at_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return absl::ZeroDuration();
  // The deficit is this caller's place in the queue of reservations: its token is due when the
  // bucket has refilled back to zero.
  const absl::Duration wait = absl::Seconds(-tokens_ / rate);
  ++stats_.waited_for_token;
  stats_.token_wait += wait;
  return wait;
}

RateLimitStats RateLimitedHttpClient::stats() const {
  absl::MutexLock lock(&mu_);
  RateLimitStats s = stats_;
  s.in_flight = in_flight_;
  return s;
}

}  // namespace keelson::net
