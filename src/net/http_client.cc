#include "net/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/strings.h"

namespace keelson::net {

std::string_view OutboundResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        absl::EqualsIgnoreCase(core::AbslSv(k), core::AbslSv(name))) {
      return v;
    }
  }
  return {};
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexVal(s[i + 1]) >= 0 && HexVal(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexVal(s[i + 1]) * 16 + HexVal(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

namespace {

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  static_cast<std::string*>(userdata)->append(ptr, size * nmemb);
  return size * nmemb;
}

size_t WriteHeader(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(userdata);
  std::string_view line(buffer, size * nitems);
  if (line.starts_with("HTTP/")) {
    headers->clear();  // a new response (after 100-continue or a redirect)
    return size * nitems;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    absl::AsciiStrToLower(&name);
    std::string value(absl::StripAsciiWhitespace(core::AbslSv(line.substr(colon + 1))));
    headers->emplace_back(std::move(name), std::move(value));
  }
  return size * nitems;
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlClientOptions options) : options_(std::move(options)) {
    static GlobalInit init;
  }
  ~CurlHttpClient() override {
    for (CURL* h : pool_) curl_easy_cleanup(h);
  }

  absl::StatusOr<OutboundResponse> Send(const OutboundRequest& request) override {
    CURL* h = Borrow();
    if (h == nullptr) return absl::InternalError("curl_easy_init failed");
    OutboundResponse response;
    curl_slist* header_list = nullptr;
    for (const auto& [k, v] : request.headers) {
      header_list = curl_slist_append(header_list, absl::StrCat(k, ": ", v).c_str());
    }
    // libcurl adds "Expect: 100-continue" for large bodies; the peers here never need it.
    header_list = curl_slist_append(header_list, "Expect:");

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list);
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (request.fresh_connection) curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(request.timeout)));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
    if (request.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      // libcurl silently re-sends a request, POST included, when a reused keep-alive
      // connection closes before any answer byte arrives ("Connection died, retrying a fresh
      // connect"). For a create that the remote committed before the connection broke, that
      // re-send is a duplicate; on a fresh connection libcurl reports the failure instead, and
      // the caller looks the outcome up as the contract in http_client.h says.
      if (request.method == "POST" || request.method == "PATCH") {
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
      }
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(header_list);
    absl::Status error;
    if (rc != CURLE_OK) error = MapError(rc, request);
    Return(h, rc == CURLE_OK);
    if (!error.ok()) return error;
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  static absl::Status MapError(CURLcode rc, const OutboundRequest& request) {
    std::string what = absl::StrFormat("%s %s: %s", request.method, request.url,
                                       curl_easy_strerror(rc));
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return absl::DeadlineExceededError(what);
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return absl::InvalidArgumentError(what);
      default:
        return absl::UnavailableError(what);
    }
  }

  CURL* Borrow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pool_.empty()) {
        CURL* h = pool_.back();
        pool_.pop_back();
        curl_easy_reset(h);  // keeps the connection cache
        return h;
      }
    }
    return curl_easy_init();
  }

  void Return(CURL* h, bool healthy) {
    if (healthy) {
      std::lock_guard<std::mutex> lock(mu_);
      if (static_cast<int>(pool_.size()) < options_.max_pooled_handles) {
        pool_.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }

  CurlClientOptions options_;
  std::mutex mu_;
  std::vector<CURL*> pool_;
};

}  // namespace

std::unique_ptr<HttpClient> NewCurlHttpClient(CurlClientOptions options) {
  return std::make_unique<CurlHttpClient>(std::move(options));
}

}  // namespace keelson::net
