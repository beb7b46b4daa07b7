#pragma once
// HTTP/1.1 server on Boost.Beast: keep-alive, a body limit (413 past it), a read timeout, and a
// tiny router with `{param}` path segments. Handlers answer through a Responder that may be
// called later from any thread (intake answers only once its group commit is durable), so no
// I/O thread ever waits on the disk.
//
// Thread-safety: a Router is filled before Start and read-only after. The server runs
// `threads` I/O threads; each connection's work is serialised on its own strand.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace keelson::net {

namespace http = boost::beast::http;

using HttpResponse = http::response<http::string_body>;

struct HttpRequest {
  http::request<http::string_body> raw;
  std::string path;   // target without the query string
  std::string query;  // after '?', undecoded
  std::string remote_address;
  absl::flat_hash_map<std::string, std::string> params;  // from `{name}` segments
  std::string principal;  // who made it: the API key's name once authenticated ("" = anonymous)

  std::string_view Header(std::string_view name) const {
    auto it = raw.find(boost::beast::string_view(name.data(), name.size()));
    return it == raw.end() ? std::string_view() : std::string_view(it->value());
  }
  // Value of `name` in the query string (percent-decoded), or "" if absent.
  std::string QueryParam(std::string_view name) const;
};

// Must be called exactly once per request, from any thread.
using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&, Responder)>;

class Router {
 public:
  // pattern: "/v1/webhooks/woocommerce/{store_id}"; segments in braces capture one segment.
  void Add(http::verb method, std::string pattern, Handler handler);
  // Finds the handler; fills params. *path_known tells a 405 from a 404 when it returns null.
  const Handler* Match(http::verb method, std::string_view path,
                       absl::flat_hash_map<std::string, std::string>* params,
                       bool* path_known) const;

 private:
  struct Route {
    http::verb method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// RFC 9457 problem details: {"type","title","status","detail"} as application/problem+json.
HttpResponse Problem(http::status status, std::string_view title, std::string_view detail,
                     std::string_view type = "about:blank");
HttpResponse Json(http::status status, std::string body);
HttpResponse Text(http::status status, std::string body, std::string_view content_type);

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = any free port; see HttpServer::port()
  int threads = 2;
  uint64_t body_limit = 4 * 1024 * 1024;
  absl::Duration read_timeout = absl::Seconds(30);
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Router router);
  ~HttpServer();
  // Binds and starts the I/O threads. Error names the address when it cannot bind.
  absl::Status Start();
  uint16_t port() const { return port_; }
  // Stops accepting new connections (in-flight requests may still be answered).
  void StopAccepting();
  // Stops all I/O and joins the threads. Idempotent.
  void Stop();

 private:
  void DoAccept();

  HttpServerOptions options_;
  Router router_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace keelson::net
