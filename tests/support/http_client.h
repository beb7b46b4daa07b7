#pragma once
// A small synchronous HTTP/1.1 client for tests (Boost.Beast): one keep-alive connection, real
// sockets. Not thread-safe: one client per thread.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace keelson::testing {

struct HttpResult {
  int status = 0;  // 0 when the request failed at the socket level
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;  // socket-level error text
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port);
  ~HttpClient();
  HttpResult Request(const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     const std::string& body = "");
  HttpResult Get(const std::string& target) { return Request("GET", target); }

 private:
  bool Connect(std::string* error);
  std::string host_;
  uint16_t port_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::beast::tcp_stream> stream_;
};

// Headers WooCommerce sends with a delivery of `topic`, signed over `body` with `secret`.
std::vector<std::pair<std::string, std::string>> WooHeaders(const std::string& topic,
                                                            const std::string& body,
                                                            const std::string& secret);

std::string ReadFile(const std::string& path);

}  // namespace keelson::testing
