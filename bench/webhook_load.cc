// webhook_load: a closed-loop load driver for Keelson's WooCommerce webhook intake.
//
// Opens --concurrency keep-alive HTTP/1.1 connections. Each one sends signed
// `POST /v1/webhooks/woocommerce/{store}` requests back to back. By default every body is distinct:
// the template's top-level "id" and "number" values are replaced with a fresh sequence number, so
// that each request is a durable insert and the server's dedup cannot absorb it. Responses during
// the --warmup are not counted; then it measures for --duration seconds and prints a human summary
// and one `SUMMARY {json}` line. See bench/README.md.
//
// Bodies are built and signed on the fly, one request ahead. The next body is prepared while the
// current request waits for its response, so the build cost is not part of the measured latency.
// The build cost (a ~5 KB copy plus HMAC-SHA256) is measured at startup and printed.

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

// Keep the std headers in their own block above Boost: Boost 1.74's asio/awaitable.hpp uses
// std::exchange without including <utility>.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kIoTimeout = std::chrono::seconds(30);
// After a socket error, reconnect after 10 ms, doubling up to 1 s while errors continue.
constexpr auto kMinBackoff = std::chrono::milliseconds(10);
constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);
// At the end, requests in flight get this long to complete (so the server sees clean closes
// rather than resets), then every socket is closed; then the io_context is stopped.
constexpr auto kDrainGrace = std::chrono::seconds(5);
constexpr auto kCloseGrace = std::chrono::seconds(1);
constexpr char kBadSignature[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

constexpr char kUsage[] =
    "usage: webhook_load --url http://HOST:PORT/v1/webhooks/woocommerce/STORE --secret S\n"
    "                    --body FILE --concurrency N --duration SECONDS\n"
    "                    [--warmup SECONDS=2] [--unique 0|1=1] [--threads N=1]\n"
    "                    [--bad-signature 0|1=0] [--max-requests N] [--json-out FILE]\n"
    "                    [--seq-start N]\n"
    "  --unique 1         every body distinct (top-level \"id\" and \"number\" = sequence number)\n"
    "  --seq-start N      first sequence number (default: microseconds since the Unix epoch, so\n"
    "                     consecutive runs against one database never repeat a body)\n"
    "  --max-requests N   send at most N requests in total (warm-up included), then stop\n"
    "  --json-out FILE    append the SUMMARY JSON line to FILE\n"
    "Exit status: 0 when the run happened (even with errors), 1 on bad arguments.\n";

// ----------------------------------------------------------------------------------------------
// Command line.

struct Options {
  std::string url;
  std::string secret;
  std::string body_path;
  std::string json_out;
  int concurrency = 0;
  double duration_s = 0;
  double warmup_s = 2;
  bool unique = true;
  int threads = 1;
  bool bad_signature = false;
  uint64_t max_requests = 0;  // 0 = unlimited
  std::optional<uint64_t> seq_start;
};

template <typename T>
bool ParseNumber(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool ParseSeconds(std::string_view text, double& out) {
  // std::from_chars for double is available in GCC 11+, but strtod keeps this portable.
  std::string copy(text);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size() && out >= 0 && out < 1e7;
}

bool ParseBool(std::string_view text, bool& out) {
  if (text == "0" || text == "false") {
    out = false;
  } else if (text == "1" || text == "true") {
    out = true;
  } else {
    return false;
  }
  return true;
}

// Returns an error message, or an empty string on success.
std::string ParseArgs(int argc, char** argv, Options& opt) {
  bool have_concurrency = false;
  bool have_duration = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg.substr(0, 2) != "--") return "unexpected argument '" + std::string(arg) + "'";
    std::string_view name = arg;
    std::string_view value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= argc) return "missing value for " + std::string(name);
      value = argv[++i];
    }
    const std::string bad = "bad value '" + std::string(value) + "' for " + std::string(name);
    if (name == "--url") {
      opt.url = value;
    } else if (name == "--secret") {
      opt.secret = value;
    } else if (name == "--body") {
      opt.body_path = value;
    } else if (name == "--json-out") {
      opt.json_out = value;
    } else if (name == "--concurrency") {
      if (!ParseNumber(value, opt.concurrency) || opt.concurrency < 1 || opt.concurrency > 20000) {
        return bad;
      }
      have_concurrency = true;
    } else if (name == "--duration") {
      if (!ParseSeconds(value, opt.duration_s) || opt.duration_s <= 0) return bad;
      have_duration = true;
    } else if (name == "--warmup") {
      if (!ParseSeconds(value, opt.warmup_s)) return bad;
    } else if (name == "--unique") {
      if (!ParseBool(value, opt.unique)) return bad;
    } else if (name == "--threads") {
      if (!ParseNumber(value, opt.threads) || opt.threads < 1 || opt.threads > 256) return bad;
    } else if (name == "--bad-signature") {
      if (!ParseBool(value, opt.bad_signature)) return bad;
    } else if (name == "--max-requests") {
      if (!ParseNumber(value, opt.max_requests) || opt.max_requests == 0) return bad;
    } else if (name == "--seq-start") {
      uint64_t v = 0;
      // Keep the ids exactly representable as JSON doubles (< 2^53).
      if (!ParseNumber(value, v) || v >= (uint64_t{1} << 53)) return bad;
      opt.seq_start = v;
    } else {
      return "unknown option " + std::string(name);
    }
  }
  if (opt.url.empty()) return "--url is required";
  if (opt.secret.empty()) return "--secret is required";
  if (opt.body_path.empty()) return "--body is required";
  if (!have_concurrency) return "--concurrency is required";
  if (!have_duration) return "--duration is required";
  return "";
}

struct Target {
  std::string host;
  std::string port;
  std::string target;
  std::string host_header;
};

std::optional<Target> ParseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  Target t;
  t.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  t.host_header = std::string(authority);
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    t.host = authority.substr(1, close - 1);
    if (colon != std::string_view::npos && colon > close) {
      t.port = authority.substr(colon + 1);
    }
  } else {
    t.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) t.port = authority.substr(colon + 1);
  }
  if (t.port.empty()) t.port = "80";
  uint16_t port_num = 0;
  if (t.host.empty() || !ParseNumber(std::string_view(t.port), port_num) || port_num == 0) {
    return std::nullopt;
  }
  return t;
}

// ----------------------------------------------------------------------------------------------
// Bodies and signatures.

struct Span {
  size_t begin = 0;
  size_t end = 0;
};

// Finds the value of the first `"key":` member of the top-level object. Strings are skipped, so a
// nested or quoted "id" cannot match. For a string value the span is its contents without quotes;
// for a number it is the number's characters. Returns nullopt when the key is missing or the value
// is some other type.
std::optional<Span> FindTopLevelMember(std::string_view json, std::string_view key) {
  auto skip_ws = [&](size_t k) {
    while (k < json.size() &&
           (json[k] == ' ' || json[k] == '\t' || json[k] == '\n' || json[k] == '\r')) {
      ++k;
    }
    return k;
  };
  int depth = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      size_t j = i + 1;
      while (j < json.size() && json[j] != '"') j += json[j] == '\\' ? 2u : 1u;
      if (j >= json.size()) return std::nullopt;
      std::string_view str = json.substr(i + 1, j - i - 1);
      i = j;
      if (depth != 1 || str != key) continue;
      size_t k = skip_ws(j + 1);
      if (k >= json.size() || json[k] != ':') continue;  // a value that equals the key
      k = skip_ws(k + 1);
      if (k >= json.size()) return std::nullopt;
      if (json[k] == '"') {
        size_t e = k + 1;
        while (e < json.size() && json[e] != '"') e += json[e] == '\\' ? 2u : 1u;
        if (e >= json.size()) return std::nullopt;
        return Span{k + 1, e};
      }
      size_t e = k;
      while (e < json.size() && (json[e] == '-' || (json[e] >= '0' && json[e] <= '9'))) ++e;
      if (e == k) return std::nullopt;
      return Span{k, e};
    }
  }
  return std::nullopt;
}

std::string SignBase64(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  std::string out(4 * ((mac_len + 2) / 3) + 1, '\0');  // EVP_EncodeBlock writes a NUL
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(mac_len));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Builds request bodies from a template. Thread-safe: Make() only reads the factory.
class BodyFactory {
 public:
  // Returns an error message, or an empty string on success.
  std::string Init(std::string tmpl, std::string secret, bool unique, bool bad_signature) {
    tmpl_ = std::move(tmpl);
    secret_ = std::move(secret);
    unique_ = unique;
    bad_signature_ = bad_signature;
    if (unique_) {
      std::optional<Span> id = FindTopLevelMember(tmpl_, "id");
      if (!id || tmpl_[id->begin] == '-') {
        return "body has no top-level numeric \"id\" (needed for --unique 1)";
      }
      holes_.push_back(*id);
      if (std::optional<Span> number = FindTopLevelMember(tmpl_, "number"); number) {
        if (tmpl_[number->begin - 1] != '"') return "body's top-level \"number\" is not a string";
        holes_.push_back(*number);
      } else {
        has_number_ = false;
      }
      std::sort(holes_.begin(), holes_.end(),
                [](const Span& a, const Span& b) { return a.begin < b.begin; });
    }
    fixed_signature_ = bad_signature_ ? std::string(kBadSignature) : SignBase64(secret_, tmpl_);
    return "";
  }

  // Fills `body` and `signature` for sequence number `seq`. Reuses their capacity.
  void Make(uint64_t seq, std::string& body, std::string& signature) const {
    if (!unique_) {
      body.assign(tmpl_);
      signature.assign(fixed_signature_);
      return;
    }
    char digits[24];
    char* digits_end = std::to_chars(digits, digits + sizeof(digits), seq).ptr;
    std::string_view num(digits, static_cast<size_t>(digits_end - digits));
    body.clear();
    size_t pos = 0;
    for (const Span& hole : holes_) {
      body.append(tmpl_, pos, hole.begin - pos);
      body.append(num);
      pos = hole.end;
    }
    body.append(tmpl_, pos, std::string::npos);
    if (bad_signature_) {
      signature.assign(kBadSignature);
    } else {
      signature = SignBase64(secret_, body);
    }
  }

  size_t template_size() const { return tmpl_.size(); }
  bool has_number() const { return has_number_; }

 private:
  std::string tmpl_;
  std::string secret_;
  std::string fixed_signature_;
  std::vector<Span> holes_;
  bool unique_ = true;
  bool bad_signature_ = false;
  bool has_number_ = true;
};

// ----------------------------------------------------------------------------------------------
// The run.

// Shared by all connections. Connections touch only the atomics. The condition variable wakes the
// main thread when every connection has finished (the --max-requests cap was reached).
struct RunState {
  Clock::time_point measure_start;
  Clock::time_point deadline;
  uint64_t seq_start = 0;
  uint64_t max_requests = 0;  // 0 = unlimited
  std::atomic<uint64_t> issued{0};
  std::atomic<bool> stop{false};

  std::mutex mu;
  std::condition_variable cv;
  int active = 0;  // guarded by mu

  void ConnectionDone() {
    std::lock_guard<std::mutex> lock(mu);
    if (--active == 0) cv.notify_all();
  }
};

struct PhaseStats {
  uint64_t requests = 0;  // responses received
  uint64_t accepted = 0;  // 2xx
  uint64_t errors = 0;    // connect/read/write/timeout failures
  std::map<int, uint64_t> status;

  void Add(const PhaseStats& o) {
    requests += o.requests;
    accepted += o.accepted;
    errors += o.errors;
    for (const auto& [code, n] : o.status) status[code] += n;
  }
};

struct ConnStats {
  PhaseStats warmup;
  PhaseStats measured;
  std::vector<uint32_t> latencies_us;  // measured phase only
  uint64_t connects = 0;
  uint64_t reconnects = 0;     // after an error or a server-side close
  uint64_t server_closes = 0;  // responses without keep-alive
  std::map<std::string, uint64_t> error_kinds;
};

class Connection {
 public:
  Connection(asio::io_context& ioc, const Target& target,
             const tcp::resolver::results_type& endpoints, const BodyFactory& bodies,
             RunState& state)
      : stream_(asio::make_strand(ioc)),
        backoff_(stream_.get_executor()),
        endpoints_(endpoints),
        bodies_(bodies),
        state_(state) {
    // The request head is written by hand: it is the same for every request except the last three
    // fields, and serialising it with Beast's http::request costs more CPU than the rest of the
    // client path.
    head_prefix_ = "POST " + target.target + " HTTP/1.1\r\nHost: " + target.host_header +
                   "\r\n"
                   "Content-Type: application/json\r\n"
                   "User-Agent: WooCommerce/9.4.1 Hookshot (WordPress/6.7)\r\n"
                   "X-WC-Webhook-Source: https://shop.example.com/\r\n"
                   "X-WC-Webhook-Topic: order.created\r\n"
                   "X-WC-Webhook-Resource: order\r\n"
                   "X-WC-Webhook-Event: created\r\n"
                   "X-WC-Webhook-ID: 17\r\n";
    stats_.latencies_us.reserve(16384);
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [this] { Connect(); });
  }

  // Called from the main thread once state_.stop is set. With `force` false, a request in flight
  // may finish first (its response is not counted); anything else pending is aborted.
  void Stop(bool force) {
    asio::post(stream_.get_executor(), [this, force] {
      if (in_flight_ && !force) return;
      beast::error_code ignored;
      stream_.socket().close(ignored);
      backoff_.cancel();
    });
  }

  const ConnStats& stats() const { return stats_; }

 private:
  void Connect() {
    if (state_.stop) return Finish();
    stream_.expires_after(kIoTimeout);
    stream_.async_connect(endpoints_, [this](beast::error_code ec, const tcp::endpoint&) {
      if (state_.stop) return Finish();
      if (ec) return Fail(ec, "connect");
      beast::error_code ignored;
      stream_.socket().set_option(tcp::no_delay(true), ignored);
      ++stats_.connects;
      SendNext();
    });
  }

  // Takes the next sequence number and builds its body. False when --max-requests is used up.
  bool PrepareNext() {
    uint64_t n = state_.issued.fetch_add(1, std::memory_order_relaxed);
    if (state_.max_requests != 0 && n >= state_.max_requests) return false;
    next_seq_ = state_.seq_start + n;
    bodies_.Make(next_seq_, next_body_, next_signature_);
    next_ready_ = true;
    return true;
  }

  void SendNext() {
    // Nothing is sent after the deadline, even before the main thread sets `stop`.
    if (state_.stop || Clock::now() > state_.deadline) return Finish();
    if (!next_ready_ && !PrepareNext()) return Finish();
    next_ready_ = false;
    body_.swap(next_body_);
    char hex[17];
    char* hex_end = std::to_chars(hex, hex + sizeof(hex), next_seq_, 16).ptr;
    char len[24];
    char* len_end = std::to_chars(len, len + sizeof(len), body_.size()).ptr;
    head_.assign(head_prefix_);
    head_.append("X-WC-Webhook-Delivery-ID: ").append(hex, hex_end);
    head_.append("\r\nX-WC-Webhook-Signature: ").append(next_signature_);
    head_.append("\r\nContent-Length: ").append(len, len_end).append("\r\n\r\n");
    std::array<asio::const_buffer, 2> request = {asio::buffer(head_), asio::buffer(body_)};
    stream_.expires_after(kIoTimeout);
    sent_at_ = Clock::now();
    in_flight_ = true;
    asio::async_write(stream_, request, [this](beast::error_code ec, size_t) {
      if (ec) return Fail(ec, "write");
      res_ = {};
      http::async_read(stream_, buffer_, res_,
                       [this](beast::error_code read_ec, size_t) { OnRead(read_ec); });
      // Build the following body while the server works on this one.
      if (!state_.stop && !PrepareNext()) exhausted_ = true;
    });
  }

  void OnRead(beast::error_code ec) {
    Clock::time_point now = Clock::now();
    in_flight_ = false;
    if (state_.stop) return Finish();
    if (ec) return Fail(ec, "read");
    backoff_delay_ = kMinBackoff;
    PhaseStats* phase = nullptr;
    if (now >= state_.measure_start && now <= state_.deadline) {
      phase = &stats_.measured;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_).count();
      stats_.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    } else if (now < state_.measure_start) {
      phase = &stats_.warmup;
    }
    if (phase != nullptr) {
      ++phase->requests;
      unsigned code = res_.result_int();
      if (code >= 200 && code < 300) {
        ++phase->accepted;
      } else {
        ++phase->status[static_cast<int>(code)];
      }
    }
    if (exhausted_) return Finish();
    if (!res_.keep_alive()) {
      ++stats_.server_closes;
      Reconnect(/*after_error=*/false);
      return;
    }
    SendNext();
  }

  void Fail(beast::error_code ec, const char* what) {
    Clock::time_point now = Clock::now();
    in_flight_ = false;
    if (state_.stop) return Finish();  // our own close at the end, not the server's fault
    if (now >= state_.measure_start && now <= state_.deadline) {
      ++stats_.measured.errors;
    } else if (now < state_.measure_start) {
      ++stats_.warmup.errors;
    }
    ++stats_.error_kinds[std::string(what) + ": " + ec.message()];
    if (exhausted_) return Finish();
    Reconnect(/*after_error=*/true);
  }

  // A server-side close reconnects at once; an error waits for the (growing) backoff.
  void Reconnect(bool after_error) {
    ++stats_.reconnects;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    buffer_.clear();
    if (!after_error) return Connect();
    backoff_.expires_after(backoff_delay_);
    backoff_delay_ = std::min<std::chrono::milliseconds>(backoff_delay_ * 2, kMaxBackoff);
    backoff_.async_wait([this](beast::error_code) { Connect(); });
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    backoff_.cancel();
    state_.ConnectionDone();
  }

  beast::tcp_stream stream_;
  asio::steady_timer backoff_;
  std::chrono::milliseconds backoff_delay_ = kMinBackoff;
  const tcp::resolver::results_type& endpoints_;
  const BodyFactory& bodies_;
  RunState& state_;

  beast::flat_buffer buffer_;
  std::string head_prefix_;
  std::string head_;
  std::string body_;
  http::response<http::string_body> res_;
  std::string next_body_;
  std::string next_signature_;
  uint64_t next_seq_ = 0;
  bool next_ready_ = false;
  bool exhausted_ = false;
  bool finished_ = false;
  bool in_flight_ = false;  // a request is being written or its response read
  Clock::time_point sent_at_;
  ConnStats stats_;
};

// Nearest-rank percentile of a sorted sample, in milliseconds.
double PercentileMs(const std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  double rank = q * static_cast<double>(sorted.size());
  size_t idx = static_cast<size_t>(rank);
  if (static_cast<double>(idx) < rank) ++idx;  // ceil
  idx = std::clamp<size_t>(idx, 1, sorted.size()) - 1;
  return sorted[idx] / 1000.0;
}

std::string Format(const char* fmt, double a) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, a);
  return buf;
}

std::string StatusBreakdown(const PhaseStats& s) {
  std::ostringstream out;
  if (s.accepted > 0) out << "2xx x " << s.accepted;
  for (const auto& [code, n] : s.status) {
    if (out.tellp() > 0) out << ", ";
    out << code << " x " << n;
  }
  return out.tellp() > 0 ? out.str() : "none";
}

int Run(const Options& opt) {
  std::optional<Target> target = ParseUrl(opt.url);
  if (!target) {
    std::cerr << "webhook_load: --url must look like http://HOST:PORT/PATH (no https): " << opt.url
              << "\n";
    return 1;
  }
  std::ifstream in(opt.body_path, std::ios::binary);
  if (!in) {
    std::cerr << "webhook_load: cannot read --body " << opt.body_path << "\n";
    return 1;
  }
  std::string tmpl((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BodyFactory bodies;
  if (std::string err = bodies.Init(tmpl, opt.secret, opt.unique, opt.bad_signature);
      !err.empty()) {
    std::cerr << "webhook_load: " << opt.body_path << ": " << err << "\n";
    return 1;
  }

  asio::io_context ioc(opt.threads);
  tcp::resolver::results_type endpoints;
  {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    endpoints = resolver.resolve(target->host, target->port, ec);
    if (ec) {
      std::cerr << "webhook_load: cannot resolve " << target->host << ": " << ec.message() << "\n";
      return 1;
    }
  }

  RunState state;
  state.max_requests = opt.max_requests;
  state.seq_start = opt.seq_start.value_or(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()));

  // What it costs to build and sign one body (on the driver's CPU, off the latency path).
  double build_us = 0;
  {
    constexpr int kRounds = 2000;
    std::string body, sig;
    Clock::time_point t0 = Clock::now();
    for (int i = 0; i < kRounds; ++i)
      bodies.Make(state.seq_start + static_cast<uint64_t>(i), body, sig);
    build_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kRounds;
  }

  std::printf("webhook_load: POST %s  concurrency=%d threads=%d unique=%d bad-signature=%d\n",
              opt.url.c_str(), opt.concurrency, opt.threads, opt.unique ? 1 : 0,
              opt.bad_signature ? 1 : 0);
  std::printf("  body: %s (%zu B template%s), first seq %llu, build+sign %.1f us/body\n",
              opt.body_path.c_str(), bodies.template_size(),
              opt.unique ? (bodies.has_number() ? ", id+number replaced" : ", id replaced") : "",
              static_cast<unsigned long long>(state.seq_start), build_us);
  std::printf(
      "  warm-up %.1f s, measuring %.1f s%s\n", opt.warmup_s, opt.duration_s,
      opt.max_requests
          ? (" (at most " + std::to_string(opt.max_requests) + " requests in total)").c_str()
          : "");
  std::fflush(stdout);

  std::vector<std::unique_ptr<Connection>> conns;
  conns.reserve(static_cast<size_t>(opt.concurrency));
  for (int i = 0; i < opt.concurrency; ++i) {
    conns.push_back(std::make_unique<Connection>(ioc, *target, endpoints, bodies, state));
  }

  Clock::time_point start = Clock::now();
  state.measure_start = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(opt.warmup_s));
  state.deadline = state.measure_start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(opt.duration_s));
  state.active = opt.concurrency;
  std::clock_t cpu0 = std::clock();

  auto guard = asio::make_work_guard(ioc);
  for (auto& c : conns) c->Start();
  std::vector<std::thread> workers;
  for (int i = 0; i < opt.threads; ++i) workers.emplace_back([&ioc] { ioc.run(); });

  bool all_finished = false;
  {
    std::unique_lock<std::mutex> lock(state.mu);
    all_finished = state.cv.wait_until(lock, state.deadline, [&] { return state.active == 0; });
  }
  Clock::time_point now = Clock::now();
  bool exhausted = all_finished && now < state.deadline;  // only --max-requests ends a run early
  Clock::time_point end = std::min(now, state.deadline);
  state.stop = true;
  for (auto& c : conns) c->Stop(/*force=*/false);
  guard.reset();
  auto all_done = [&] { return state.active == 0; };
  bool drained = false;
  bool clean_stop = true;
  {
    std::unique_lock<std::mutex> lock(state.mu);
    drained = state.cv.wait_for(lock, kDrainGrace, all_done);
  }
  if (!drained) {
    for (auto& c : conns) c->Stop(/*force=*/true);
    std::unique_lock<std::mutex> lock(state.mu);
    clean_stop = state.cv.wait_for(lock, kCloseGrace, all_done);
  }
  if (!clean_stop) ioc.stop();
  for (auto& t : workers) t.join();
  double cpu_s = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;

  // Merge.
  PhaseStats warmup, measured;
  ConnStats total;
  std::vector<uint32_t> lat;
  for (const auto& c : conns) {
    const ConnStats& s = c->stats();
    warmup.Add(s.warmup);
    measured.Add(s.measured);
    total.connects += s.connects;
    total.reconnects += s.reconnects;
    total.server_closes += s.server_closes;
    for (const auto& [kind, n] : s.error_kinds) total.error_kinds[kind] += n;
    lat.insert(lat.end(), s.latencies_us.begin(), s.latencies_us.end());
  }
  conns.clear();
  std::sort(lat.begin(), lat.end());
  double measured_s = std::chrono::duration<double>(end - state.measure_start).count();
  if (measured_s < 0) measured_s = 0;
  double accepted_per_s = measured_s > 0 ? static_cast<double>(measured.accepted) / measured_s : 0;
  double requests_per_s = measured_s > 0 ? static_cast<double>(measured.requests) / measured_s : 0;
  uint64_t non2xx = measured.requests - measured.accepted;
  uint64_t issued =
      std::min<uint64_t>(state.issued.load(), opt.max_requests ? opt.max_requests : UINT64_MAX);
  double p50 = PercentileMs(lat, 0.50), p90 = PercentileMs(lat, 0.90);
  double p99 = PercentileMs(lat, 0.99), p999 = PercentileMs(lat, 0.999);
  double max_ms = lat.empty() ? 0 : lat.back() / 1000.0;

  if (exhausted) {
    std::printf("  stopped early: --max-requests %llu used up after %.2f s of measurement\n",
                static_cast<unsigned long long>(opt.max_requests), measured_s);
  }
  std::printf("  warm-up: %llu responses (%s), %llu errors\n",
              static_cast<unsigned long long>(warmup.requests), StatusBreakdown(warmup).c_str(),
              static_cast<unsigned long long>(warmup.errors));
  std::printf(
      "  measured %.2f s: %llu responses (%.1f/s), %llu accepted (%.1f/s), %llu non-2xx, "
      "%llu errors\n",
      measured_s, static_cast<unsigned long long>(measured.requests), requests_per_s,
      static_cast<unsigned long long>(measured.accepted), accepted_per_s,
      static_cast<unsigned long long>(non2xx), static_cast<unsigned long long>(measured.errors));
  std::printf("  status: %s\n", StatusBreakdown(measured).c_str());
  std::printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (n=%zu)\n", p50,
              p90, p99, p999, max_ms, lat.size());
  std::printf("  connections: %llu connects, %llu reconnects (%llu server closes)%s\n",
              static_cast<unsigned long long>(total.connects),
              static_cast<unsigned long long>(total.reconnects),
              static_cast<unsigned long long>(total.server_closes),
              drained ? "" : ", requests still in flight 5 s after the end were cut off");
  for (const auto& [kind, n] : total.error_kinds) {
    std::printf("  error (all phases): %s x %llu\n", kind.c_str(),
                static_cast<unsigned long long>(n));
  }
  std::printf("  driver: %llu bodies issued, %.2f CPU-s (%.1f us per response)\n",
              static_cast<unsigned long long>(issued), cpu_s,
              warmup.requests + measured.requests > 0
                  ? cpu_s * 1e6 / static_cast<double>(warmup.requests + measured.requests)
                  : 0.0);

  std::ostringstream json;
  json << "{\"concurrency\":" << opt.concurrency << ",\"requests\":" << measured.requests
       << ",\"accepted\":" << measured.accepted
       << ",\"accepted_per_s\":" << Format("%.1f", accepted_per_s)
       << ",\"p50_ms\":" << Format("%.3f", p50) << ",\"p90_ms\":" << Format("%.3f", p90)
       << ",\"p99_ms\":" << Format("%.3f", p99) << ",\"p999_ms\":" << Format("%.3f", p999)
       << ",\"max_ms\":" << Format("%.3f", max_ms) << ",\"non2xx\":" << non2xx
       << ",\"errors\":" << measured.errors << "}";
  std::printf("SUMMARY %s\n", json.str().c_str());
  std::fflush(stdout);
  if (!opt.json_out.empty()) {
    std::ofstream out(opt.json_out, std::ios::app);
    out << json.str() << "\n";
    if (!out) std::cerr << "webhook_load: cannot append to " << opt.json_out << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (std::string err = ParseArgs(argc, argv, opt); !err.empty()) {
    std::cerr << "webhook_load: " << err << "\n" << kUsage;
    return 1;
  }
  return Run(opt);
}
