#include "net/endpoint.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/status_payloads.h"
#include "core/strings.h"
#include "obs/log.h"

namespace keelson::net {
namespace {

constexpr size_t kMaxErrorText = 300;
// Reset values above this are Unix timestamps: no remote resets a quota 10 years from now, and no
// Unix timestamp of this century is this small.
constexpr int64_t kEpochThresholdSeconds = int64_t{10} * 365 * 24 * 3600;

std::string_view Trim(std::string_view s) {
  return core::StdSv(absl::StripAsciiWhitespace(core::AbslSv(s)));
}

// Non-negative decimal integer, digits only ("+5" and "-1" are not delta-seconds).
std::optional<int64_t> ParseSeconds(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t v = 0;
  if (!absl::SimpleAtoi(core::AbslSv(s), &v)) return std::nullopt;  // overflow
  return v;
}

// The URL without scheme, host and query: the query may carry signatures (WooCommerce OAuth 1.0a).
std::string_view PathOf(std::string_view url) {
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
    size_t slash = url.find('/');
    url = slash == std::string_view::npos ? std::string_view("/") : url.substr(slash);
  }
  return url.substr(0, url.find('?'));
}

std::string Describe(const absl::StatusOr<OutboundResponse>& response,
                     const OutboundRequest& request) {
  std::string text;
  if (!response.ok()) {
    text = absl::StrCat(absl::StatusCodeToString(response.status().code()), ": ",
                        response.status().message());
  } else {
    text = absl::StrCat("HTTP ", response->status);
  }
  absl::StrAppend(&text, " on ", request.method, " ", core::AbslSv(PathOf(request.url)));
  if (text.size() > kMaxErrorText) text = absl::StrCat(text.substr(0, kMaxErrorText), "...");
  return text;
}

}  // namespace

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kHalfOpen:
      return "half_open";
    case BreakerState::kOpen:
      return "open";
  }
  return "unknown";
}

std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (std::optional<int64_t> seconds = ParseSeconds(value)) return absl::Seconds(*seconds);
  // IMF-fixdate first (what everyone sends), then the two obsolete forms RFC 9110 section 5.6.7
  // asks recipients to accept.
  static constexpr const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT",
                                             "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  const std::string text(value);
  for (const char* format : kFormats) {
    absl::Time when;
    std::string err;
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &when, &err)) {
      return std::max(absl::ZeroDuration(), when - now);
    }
  }
  return std::nullopt;
}

std::optional<absl::Duration> ParseRateLimitReset(std::string_view value, absl::Time now) {
  std::optional<int64_t> seconds = ParseSeconds(Trim(value));
  if (!seconds) return std::nullopt;
  if (*seconds > kEpochThresholdSeconds) {
    return std::max(absl::ZeroDuration(), absl::FromUnixSeconds(*seconds) - now);
  }
  return absl::Seconds(*seconds);
}

std::optional<absl::Duration> RemotePause(const OutboundResponse& response, absl::Time now) {
  // Retry-After and the vendors' spellings of it. Only on 429 and 503: on a 3xx it is a redirect
  // delay, and elsewhere it is not about load.
  auto retry_after = [&]() -> std::optional<absl::Duration> {
    for (std::string_view name :
         {"retry-after", "ratelimit-retry-after", "x-ratelimit-retry-after", "x-retry-after"}) {
      if (auto d = ParseRetryAfter(response.Header(name), now)) return d;
    }
    return std::nullopt;
  };
  std::optional<absl::Duration> pause;
  if (response.status == 429 || response.status == 503) pause = retry_after();

  // "No calls left in this window": hold off until the window resets, even on a 200, instead of
  // spending the next request on a certain 429.
  struct Quota {
    std::string_view remaining;
    std::string_view reset;  // "" when the vendor documents none
  };
  static constexpr Quota kQuotas[] = {{"ratelimit-remaining", "ratelimit-reset"},
                                      {"x-ratelimit-remaining", "x-ratelimit-reset"},
                                      {"x-remaining-calls", ""}};
  for (const Quota& q : kQuotas) {
    std::optional<int64_t> remaining = ParseSeconds(Trim(response.Header(q.remaining)));
    if (!remaining || *remaining != 0) continue;
    std::optional<absl::Duration> until_reset;
    if (!q.reset.empty()) until_reset = ParseRateLimitReset(response.Header(q.reset), now);
    // Without a reset time (ShipBob), a retry delay sent along is the best word we have.
    if (!until_reset) until_reset = retry_after();
    if (until_reset && (!pause || *until_reset > *pause)) pause = until_reset;
  }
  return pause;
}

Endpoint::Endpoint(HttpClient& inner, EndpointOptions options, obs::Registry* metrics)
    : inner_(inner),
      options_(std::move(options)),
      burst_(options_.burst > 0 ? options_.burst : std::max(1.0, options_.requests_per_second)),
      min_rate_(std::min(options_.min_requests_per_second, options_.requests_per_second)) {
  if (metrics != nullptr) {
    const std::string& name = options_.name;
    metrics_.state = metrics->GetGauge("keelson_connector_breaker_state",
                                       "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                                       {{"connector", name}});
    metrics_.rate = metrics->GetGauge("keelson_connector_rate_limit",
                                      "Current client-side rate limit in requests per second "
                                      "(0 = unlimited).",
                                      {{"connector", name}});
    static constexpr const char* kResults[] = {"ok", "client_error", "server_error",
                                               "transport_error", "throttled"};
    const std::string help = "Requests to a connector's remote, by result.";
    for (int i = 0; i < 5; ++i) {
      metrics_.results[i] = metrics->GetCounter("keelson_connector_requests_total", help,
                                                {{"connector", name}, {"result", kResults[i]}});
    }
    metrics_.rejected_open =
        metrics->GetCounter("keelson_connector_requests_total", help,
                            {{"connector", name}, {"result", "rejected_open"}});
    for (BreakerState s : {BreakerState::kClosed, BreakerState::kHalfOpen, BreakerState::kOpen}) {
      metrics_.to[static_cast<int>(s)] = metrics->GetCounter(
          "keelson_connector_breaker_transitions_total", "Circuit breaker transitions, by target.",
          {{"connector", name}, {"to", std::string(BreakerStateName(s))}});
    }
    metrics_.seconds = metrics->GetHistogram("keelson_connector_request_seconds",
                                             "Duration of requests to a connector's remote.",
                                             obs::LatencyBucketsSeconds(), {{"connector", name}});
  }
  absl::MutexLock lock(&mu_);
  rate_ = std::max(0.0, options_.requests_per_second);
  // Start full: the first `burst` requests go out at once, as after any idle period.
  tokens_ = burst_;
  refilled_at_ = options_.clock->Now();
  open_period_ = options_.breaker.open_for;
  if (metrics_.state != nullptr) metrics_.state->Set(0);
  if (metrics_.rate != nullptr) metrics_.rate->Set(rate_);
}

absl::StatusOr<OutboundResponse> Endpoint::Send(const OutboundRequest& request) {
  std::vector<Transition> transitions;
  absl::Status rejected;
  {
    absl::MutexLock lock(&mu_);
    rejected = CheckBreakerLocked(options_.clock->Now(), nullptr, &transitions);
    if (!rejected.ok()) ++rejected_open_;
  }
  if (!rejected.ok()) {
    Emit(transitions);
    if (metrics_.rejected_open != nullptr) metrics_.rejected_open->Inc();
    return rejected;
  }

  AcquireSlot();
  WaitForTurn();
  // The circuit may have opened while this caller waited: check again, and take the probe, at the
  // last moment before sending.
  Ticket ticket;
  {
    absl::MutexLock lock(&mu_);
    rejected = CheckBreakerLocked(options_.clock->Now(), &ticket, &transitions);
    if (!rejected.ok()) {
      ++rejected_open_;
      --in_flight_;
      slot_freed_.Signal();
    } else {
      ++sent_;
      ticket.seq = ++send_seq_;
    }
  }
  if (!rejected.ok()) {
    Emit(transitions);
    if (metrics_.rejected_open != nullptr) metrics_.rejected_open->Inc();
    return rejected;
  }

  const absl::Time start = options_.clock->Now();
  absl::StatusOr<OutboundResponse> response = inner_.Send(request);
  const absl::Time end = options_.clock->Now();

  Result result;
  bool technical_failure = false;
  if (!response.ok()) {
    result = Result::kTransportError;
    technical_failure = true;
  } else {
    const int code = response->status;
    if (code == 429) {
      result = Result::kThrottled;
    } else if (code >= 500) {
      result = Result::kServerError;
      technical_failure = code == 500 || code == 502 || code == 503 || code == 504;
    } else if (code >= 400) {
      result = Result::kClientError;
    } else {
      result = Result::kOk;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    RecordLocked(ticket, result, technical_failure, response, request, end, &transitions);
    --in_flight_;
    slot_freed_.Signal();
  }
  Emit(transitions);
  if (obs::Counter* c = metrics_.results[static_cast<int>(result)]) c->Inc();
  if (metrics_.seconds != nullptr) metrics_.seconds->Observe(absl::ToDoubleSeconds(end - start));
  return response;
}

BreakerState Endpoint::EffectiveStateLocked(absl::Time now) const {
  if (state_ == BreakerState::kOpen && now >= open_until_) return BreakerState::kHalfOpen;
  return state_;
}

absl::Status Endpoint::CheckBreakerLocked(absl::Time now, Ticket* ticket,
                                          std::vector<Transition>* transitions) {
  if (ticket != nullptr) ticket->generation = generation_;
  if (!options_.breaker.enabled) return absl::OkStatus();
  switch (EffectiveStateLocked(now)) {
    case BreakerState::kClosed:
      return absl::OkStatus();
    case BreakerState::kOpen:
      return core::MarkNotAttempted(absl::UnavailableError(
          absl::StrCat("circuit open for ", options_.name, " until ",
                       absl::FormatTime(absl::RFC3339_sec, open_until_, absl::UTCTimeZone()), " (",
                       absl::FormatDuration(absl::Ceil(open_until_ - now, absl::Seconds(1))),
                       " left): ", last_error_)));
    case BreakerState::kHalfOpen:
      if (probe_in_flight_) {
        return core::MarkNotAttempted(
            absl::UnavailableError(absl::StrCat("circuit half-open for ", options_.name,
                                                ", waiting for the probe request: ", last_error_)));
      }
      if (ticket != nullptr) {
        if (state_ != BreakerState::kHalfOpen)
          TransitionLocked(BreakerState::kHalfOpen, now, transitions);
        probe_in_flight_ = true;
        ticket->probe = true;
        ticket->generation = generation_;
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

void Endpoint::TransitionLocked(BreakerState to, absl::Time now,
                                std::vector<Transition>* transitions) {
  const BreakerState from = state_;
  state_ = to;
  ++generation_;
  consecutive_failures_ = 0;
  window_.clear();
  window_failures_ = 0;
  switch (to) {
    case BreakerState::kOpen:
      if (from == BreakerState::kHalfOpen) {
        open_period_ = std::min(open_period_ * 2, options_.breaker.max_open_for);
      } else {
        open_period_ = options_.breaker.open_for;
      }
      open_until_ = now + open_period_;
      break;
    case BreakerState::kClosed:
      open_period_ = options_.breaker.open_for;
      open_until_ = absl::InfinitePast();
      break;
    case BreakerState::kHalfOpen:
      break;
  }
  if (metrics_.state != nullptr) metrics_.state->Set(static_cast<int>(to));
  if (obs::Counter* c = metrics_.to[static_cast<int>(to)]) c->Inc();
  transitions->push_back({from, to, last_error_, open_period_});
}

void Endpoint::RecordLocked(const Ticket& ticket, Result result, bool technical_failure,
                            const absl::StatusOr<OutboundResponse>& response,
                            const OutboundRequest& request, absl::Time now,
                            std::vector<Transition>* transitions) {
  if (technical_failure) {
    ++failures_;
    last_error_ = Describe(response, request);
    last_error_at_ = now;
  }
  if (result == Result::kThrottled) ++answered_429_;

  // The remote's own word on when to call again.
  if (response.ok()) {
    if (std::optional<absl::Duration> pause = RemotePause(*response, now)) {
      PauseLocked(now + std::min(*pause, options_.max_pause));
    }
  }

  // AIMD. Requests sent before the last decrease were paced at the old rate: their 429s are the
  // same news and must not halve again.
  if (options_.adaptive && options_.requests_per_second > 0) {
    if (result == Result::kThrottled) {
      if (ticket.seq > last_decrease_seq_) {
        SetRateLocked(std::max(min_rate_, rate_ * 0.5), now);
        last_decrease_seq_ = send_seq_;
      }
    } else if (!technical_failure && rate_ < options_.requests_per_second) {
      SetRateLocked(
          std::min(options_.requests_per_second, rate_ + options_.requests_per_second / 20), now);
    }
  }

  if (!options_.breaker.enabled) return;
  const BreakerOptions& b = options_.breaker;
  if (ticket.probe) {
    probe_in_flight_ = false;
    TransitionLocked(technical_failure ? BreakerState::kOpen : BreakerState::kClosed, now,
                     transitions);
    return;
  }
  // An answer to a call sent in an earlier period says nothing about the remote now.
  if (state_ != BreakerState::kClosed || ticket.generation != generation_) return;
  consecutive_failures_ = technical_failure ? consecutive_failures_ + 1 : 0;
  if (b.window > 0) {
    window_.push_back(technical_failure);
    window_failures_ += technical_failure ? 1 : 0;
    if (static_cast<int>(window_.size()) > b.window) {
      window_failures_ -= window_.front() ? 1 : 0;
      window_.pop_front();
    }
  }
  const bool too_many_in_a_row =
      b.consecutive_failures > 0 && consecutive_failures_ >= b.consecutive_failures;
  const bool too_high_a_share = b.window > 0 && b.failure_ratio > 0 && b.failure_ratio <= 1 &&
                                static_cast<int>(window_.size()) == b.window &&
                                window_failures_ >= b.failure_ratio * b.window;
  if (technical_failure && (too_many_in_a_row || too_high_a_share)) {
    TransitionLocked(BreakerState::kOpen, now, transitions);
  }
}

void Endpoint::AcquireSlot() {
  absl::MutexLock lock(&mu_);
  if (options_.concurrency > 0 && in_flight_ >= options_.concurrency) {
    ++waiting_for_slot_;
    while (in_flight_ >= options_.concurrency) slot_freed_.Wait(&mu_);
    --waiting_for_slot_;
  }
  ++in_flight_;
}

void Endpoint::WaitForTurn() {
  for (;;) {
    absl::Duration wait;
    std::optional<uint64_t> reserved_in_epoch;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time now = options_.clock->Now();
      if (paused_until_ > now) {
        wait = paused_until_ - now;
      } else {
        wait = ReserveTokenLocked(now);
        reserved_in_epoch = pause_epoch_;
      }
    }
    if (wait > absl::ZeroDuration()) Sleep(wait);
    if (!reserved_in_epoch) continue;
    absl::MutexLock lock(&mu_);
    // A pause that arrived while this caller slept voided its reservation: queue again behind it.
    if (pause_epoch_ == *reserved_in_epoch) return;
  }
}

void Endpoint::RefillLocked(absl::Time now) {
  if (now > refilled_at_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - refilled_at_) * rate_);
    refilled_at_ = now;
  }
}

absl::Duration Endpoint::ReserveTokenLocked(absl::Time now) {
  if (options_.requests_per_second <= 0) return absl::ZeroDuration();
  RefillLocked(now);
  tokens_ -= 1;
  if (tokens_ >= 0) return absl::ZeroDuration();
  // The deficit is this caller's place in the queue of reservations: its token is due when the
  // bucket has refilled back to zero.
  return absl::Seconds(-tokens_ / rate_);
}

void Endpoint::SetRateLocked(double rate, absl::Time now) {
  // Tokens earned so far were earned at the old rate.
  RefillLocked(now);
  rate_ = rate;
  if (metrics_.rate != nullptr) metrics_.rate->Set(rate_);
}

void Endpoint::PauseLocked(absl::Time until) {
  if (until <= paused_until_ || until <= options_.clock->Now()) return;
  paused_until_ = until;
  ++pause_epoch_;
  // The bucket restarts at the end of the pause with one token: the remote has just said we were
  // too fast, so the callers queued behind the pause leave one by one at the rate, not in a burst.
  tokens_ = std::min(1.0, burst_);
  refilled_at_ = until;
}

void Endpoint::Sleep(absl::Duration d) {
  if (options_.sleep) {
    options_.sleep(d);
  } else {
    absl::SleepFor(d);
  }
}

void Endpoint::Emit(const std::vector<Transition>& transitions) const {
  for (const Transition& t : transitions) {
    obs::Fields fields = {{"connector", options_.name},
                          {"from", std::string(BreakerStateName(t.from))},
                          {"to", std::string(BreakerStateName(t.to))},
                          {"error", t.error}};
    if (t.to == BreakerState::kOpen) {
      fields.emplace_back("open_for_seconds", absl::ToDoubleSeconds(t.open_for));
      obs::LogWarn("circuit breaker opened", fields);
    } else {
      obs::LogInfo(t.to == BreakerState::kClosed ? "circuit breaker closed"
                                                 : "circuit breaker half-open, sending a probe",
                   fields);
    }
  }
}

int Endpoint::Admit() const {
  absl::MutexLock lock(&mu_);
  if (!options_.breaker.enabled) return std::numeric_limits<int>::max();
  switch (EffectiveStateLocked(options_.clock->Now())) {
    case BreakerState::kClosed:
      return std::numeric_limits<int>::max();
    case BreakerState::kOpen:
      return 0;
    case BreakerState::kHalfOpen:
      return probe_in_flight_ ? 0 : 1;
  }
  return 0;
}

BreakerState Endpoint::state() const {
  absl::MutexLock lock(&mu_);
  return EffectiveStateLocked(options_.clock->Now());
}

EndpointSnapshot Endpoint::snapshot() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = options_.clock->Now();
  EndpointSnapshot s;
  s.name = options_.name;
  s.state = EffectiveStateLocked(now);
  s.open_until = state_ == BreakerState::kClosed ? absl::InfinitePast() : open_until_;
  s.rate = options_.requests_per_second > 0 ? rate_ : 0;
  s.configured_rate = std::max(0.0, options_.requests_per_second);
  s.in_flight = in_flight_;
  s.waiting_for_slot = waiting_for_slot_;
  s.sent = sent_;
  s.failures = failures_;
  s.rejected_open = rejected_open_;
  s.answered_429 = answered_429_;
  s.paused_until = paused_until_ > now ? paused_until_ : absl::InfinitePast();
  s.last_error = last_error_;
  s.last_error_at = last_error_at_;
  return s;
}

}  // namespace keelson::net
