#include "tests/support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "net/signature.h"

namespace keelson::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpClient::HttpClient(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}
HttpClient::~HttpClient() = default;

bool HttpClient::Connect(std::string* error) {
  beast::error_code ec;
  stream_ = std::make_unique<beast::tcp_stream>(ioc_);
  stream_->connect(tcp::endpoint(boost::asio::ip::make_address(host_), port_), ec);
  if (ec) {
    *error = ec.message();
    stream_.reset();
    return false;
  }
  return true;
}

HttpResult HttpClient::Request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& body) {
  HttpResult out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!stream_ && !Connect(&out.error)) return out;
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host_);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    stream_->expires_after(std::chrono::seconds(30));
    http::write(*stream_, req, ec);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (!ec) http::read(*stream_, buf, parser, ec);
    if (ec) {
      // A kept-alive connection the server closed: reconnect once.
      stream_.reset();
      out.error = ec.message();
      continue;
    }
    auto res = parser.release();
    out.status = res.result_int();
    out.body = res.body();
    for (const auto& f : res) {
      out.headers[absl::AsciiStrToLower(std::string(f.name_string()))] = std::string(f.value());
    }
    out.error.clear();
    if (!res.keep_alive()) stream_.reset();
    return out;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> WooHeaders(const std::string& topic,
                                                            const std::string& body,
                                                            const std::string& secret) {
  std::string resource = topic.substr(0, topic.find('.'));
  std::string event = topic.substr(topic.find('.') + 1);
  return {{"Content-Type", "application/json"},
          {"User-Agent", "WooCommerce/7.8.0 Hookshot (WordPress/6.1.9)"},
          {"X-WC-Webhook-Source", "http://127.0.0.1:8081/"},
          {"X-WC-Webhook-Topic", topic},
          {"X-WC-Webhook-Resource", resource},
          {"X-WC-Webhook-Event", event},
          {"X-WC-Webhook-Signature", net::HmacSha256Base64(secret, body)},
          {"X-WC-Webhook-ID", "1"},
          {"X-WC-Webhook-Delivery-ID", "e853ed2826d6dd6eab43492d2897cf3a"}};
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace keelson::testing
