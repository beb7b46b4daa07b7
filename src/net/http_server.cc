#include "net/http_server.h"

#include "core/thread_name.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/strings.h"
#include "net/http_client.h"

namespace keelson::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  for (absl::string_view seg : absl::StrSplit(core::AbslSv(path), '/', absl::SkipEmpty())) {
    out.emplace_back(seg);
  }
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Router& router, const HttpServerOptions& options)
      : stream_(std::move(socket)), router_(router), options_(options) {
    // Beast reads at most the buffer's free capacity per read_some, and the parser empties the
    // buffer as it goes: with the default 512 bytes, a 5 KiB webhook took 12 recvmsg calls and
    // 12 trips through the executor. One reservation makes it one read.
    buffer_.reserve(kReadBufferBytes);
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = ep.address().to_string();
  }

  void Run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(options_.body_limit);
    stream_.expires_after(absl::ToChronoMilliseconds(options_.read_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      Write(Problem(http::status::payload_too_large, "Payload Too Large",
                    absl::StrCat("request body exceeds the limit of ", options_.body_limit,
                                 " bytes")));
      return;
    }
    if (ec) return;  // timeout, reset, malformed request line: drop the connection

    HttpRequest req;
    req.raw = parser_->release();
    keep_alive_ = req.raw.keep_alive();
    version_ = req.raw.version();
    std::string_view target(req.raw.target().data(), req.raw.target().size());
    size_t q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.remote_address = remote_address_;

    bool path_known = false;
    const Handler* h = router_.Match(req.raw.method(), req.path, &req.params, &path_known);
    if (h == nullptr) {
      Write(path_known ? Problem(http::status::method_not_allowed, "Method Not Allowed",
                                 absl::StrCat(core::AbslSv(req.raw.method_string()),
                                              " is not allowed on ", req.path))
                       : Problem(http::status::not_found, "Not Found",
                                 absl::StrCat("no route for ", req.path)));
      return;
    }
    auto self = shared_from_this();
    (*h)(req, [self](HttpResponse res) {
      asio::post(self->stream_.get_executor(),
                 [self, res = std::move(res)]() mutable { self->Write(std::move(res)); });
    });
  }

  void Write(HttpResponse res) {
    res.version(version_);
    res.keep_alive(keep_alive_);
    res.set(http::field::server, "keelson");
    res.prepare_payload();
    auto sp = std::make_shared<HttpResponse>(std::move(res));
    http::async_write(stream_, *sp,
                      [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        if (!sp->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->DoRead();
                      });
  }

  static constexpr size_t kReadBufferBytes = 16 * 1024;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_address_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const Router& router_;
  const HttpServerOptions& options_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

std::string HttpRequest::QueryParam(std::string_view name) const {
  for (absl::string_view akv : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::string_view kv = core::StdSv(akv);
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    if (UrlDecode(k) == name) {
      return eq == std::string_view::npos ? std::string() : UrlDecode(kv.substr(eq + 1));
    }
  }
  return {};
}

void Router::Add(http::verb method, std::string pattern, Handler handler) {
  routes_.push_back({method, SplitPath(pattern), std::move(handler)});
}

const Handler* Router::Match(http::verb method, std::string_view path,
                             absl::flat_hash_map<std::string, std::string>* params,
                             bool* path_known) const {
  const std::vector<std::string> segs = SplitPath(path);
  *path_known = false;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    absl::flat_hash_map<std::string, std::string> captured;
    bool match = true;
    for (size_t i = 0; i < segs.size() && match; ++i) {
      const std::string& p = r.segments[i];
      if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
        captured[p.substr(1, p.size() - 2)] = UrlDecode(segs[i]);
      } else if (p != segs[i]) {
        match = false;
      }
    }
    if (!match) continue;
    *path_known = true;
    if (r.method != method) continue;
    *params = std::move(captured);
    return &r.handler;
  }
  return nullptr;
}

HttpResponse Problem(http::status status, std::string_view title, std::string_view detail,
                     std::string_view type) {
  nlohmann::json j = {{"type", type},
                      {"title", title},
                      {"status", static_cast<int>(status)},
                      {"detail", detail}};
  HttpResponse res{status, 11};
  res.set(http::field::content_type, "application/problem+json");
  res.body() = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

HttpResponse Json(http::status status, std::string body) {
  return Text(status, std::move(body), "application/json");
}

HttpResponse Text(http::status status, std::string body, std::string_view content_type) {
  HttpResponse res{status, 11};
  res.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  res.body() = std::move(body);
  return res;
}

HttpServer::HttpServer(HttpServerOptions options, Router router)
    : options_(std::move(options)),
      router_(std::move(router)),
      ioc_(std::max(1, options_.threads)),
      acceptor_(asio::make_strand(ioc_)) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad listen host ", options_.host));
  tcp::endpoint ep(address, options_.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":", options_.port, ": ", ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] {
      core::SetThreadName("kl-http");
      ioc_.run();
    });
  }
  return absl::OkStatus();
}

void HttpServer::DoAccept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      s.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(s), router_, options_)->Run();
    }
    DoAccept();
  });
}

void HttpServer::StopAccepting() {
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
}

void HttpServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace keelson::net
