#include "connectors/erp/odoo/client.h"

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/strings.h"
#include "jobs/retry_policy.h"

namespace keelson::connectors::odoo {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxMessage = 500;

std::string Truncate(std::string s) {
  if (s.size() > kMaxMessage) {
    s.resize(kMaxMessage);
    s += "...";
  }
  return s;
}

std::string_view ShortName(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

bool IsAuthFault(const OdooFault& f) {
  return ShortName(f.name) == "AccessDenied" || f.rpc_code == 100;
}

std::string BaseUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string StringOr(const json& j, const char* key, std::string fallback = "") {
  if (j.is_object()) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return fallback;
}

// A non-200 answer: an Odoo JSON error object, a bare JSON string (some JSON-2 builds), or a
// proxy's page.
OdooFault FaultFromHttp(const net::OutboundResponse& r) {
  OdooFault f;
  f.http_status = r.status;
  f.retry_after = ParseRetryAfter(r.Header("retry-after"));
  json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    f.name = StringOr(body, "name");
    f.message = StringOr(body, "message");
  } else if (body.is_string()) {
    f.message = body.get<std::string>();
  }
  if (f.message.empty()) {
    std::string snippet(absl::StripAsciiWhitespace(r.body.substr(0, 120)));
    f.message = snippet.empty() ? "empty body" : snippet;
  }
  return f;
}

}  // namespace

absl::StatusOr<Protocol> ParseProtocol(std::string_view name) {
  if (name == "auto" || name.empty()) return Protocol::kAuto;
  if (name == "jsonrpc") return Protocol::kJsonRpc;
  if (name == "json2") return Protocol::kJson2;
  return absl::InvalidArgumentError(
      absl::StrCat("odoo protocol '", core::AbslSv(name), "': want auto, jsonrpc or json2"));
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kAuto:
      return "auto";
    case Protocol::kJsonRpc:
      return "jsonrpc";
    case Protocol::kJson2:
      return "json2";
  }
  return "unknown";
}

absl::StatusOr<ServerVersion> ParseServerVersion(const json& result) {
  ServerVersion v;
  const json* info = nullptr;
  if (result.is_object() && result.contains("server_version_info")) {
    info = &result["server_version_info"];
    v.version = StringOr(result, "server_version");
  } else if (result.is_object() && result.contains("version_info")) {
    info = &result["version_info"];
    v.version = StringOr(result, "version");
  }
  if (info == nullptr || !info->is_array() || info->empty()) {
    return absl::InternalError(
        absl::StrCat("odoo version: unexpected answer ", Truncate(result.dump())));
  }
  const json& head = (*info)[0];
  if (head.is_number_integer()) {
    v.major = head.get<int>();
  } else if (head.is_string()) {  // Odoo Online: ["saas~17", 4, 0, "final", 0, ""]
    absl::string_view s = head.get_ref<const std::string&>();
    absl::ConsumePrefix(&s, "saas~");
    if (!absl::SimpleAtoi(s, &v.major)) v.major = 0;
  }
  if (info->size() > 1 && (*info)[1].is_number_integer()) v.minor = (*info)[1].get<int>();
  if (v.major <= 0) {
    return absl::InternalError(
        absl::StrCat("odoo version: cannot read the major version from ", info->dump()));
  }
  if (v.version.empty()) v.version = absl::StrCat(v.major, ".", v.minor);
  return v;
}

std::optional<absl::Duration> ParseRetryAfter(std::string_view value) {
  int64_t seconds = 0;
  if (value.empty() ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(core::AbslSv(value)), &seconds) || seconds < 0) {
    return std::nullopt;
  }
  return absl::Seconds(seconds);
}

std::string EscapeLike(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '%' || c == '_') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

absl::Status MapOdooFault(const OdooFault& fault, std::string_view operation, CallKind kind) {
  std::string msg = absl::StrCat("odoo ", core::AbslSv(operation), ": ");
  if (!fault.name.empty()) absl::StrAppend(&msg, fault.name, ": ");
  absl::StrAppend(&msg, Truncate(fault.message));
  if (fault.http_status != 200) absl::StrAppend(&msg, " (HTTP ", fault.http_status, ")");
  auto with_retry_after = [&](absl::Status s) {
    return fault.retry_after ? jobs::WithRetryAfter(std::move(s), *fault.retry_after) : s;
  };

  if (fault.http_status == 429) return with_retry_after(absl::ResourceExhaustedError(msg));

  const std::string_view n = ShortName(fault.name);
  if (n == "AccessDenied" || n == "SessionExpiredException" || fault.rpc_code == 100 ||
      fault.name == "werkzeug.exceptions.Unauthorized") {
    return absl::UnauthenticatedError(msg);
  }
  if (n == "AccessError" || fault.name == "werkzeug.exceptions.Forbidden") {
    return absl::PermissionDeniedError(msg);
  }
  if (n == "MissingError" || fault.name == "werkzeug.exceptions.NotFound") {
    return absl::NotFoundError(msg);
  }
  if (n == "ValidationError") return absl::InvalidArgumentError(msg);
  if (n == "UserError") {
    return kind == CallKind::kStateChange ? absl::FailedPreconditionError(msg)
                                          : absl::InvalidArgumentError(msg);
  }
  if (n == "RedirectWarning") return absl::FailedPreconditionError(msg);
  if (n == "LockError" || n == "ConcurrencyError" || n == "SerializationFailure" ||
      n == "LockNotAvailable" || n == "TransactionRollbackError") {
    return absl::AbortedError(msg);
  }
  if (n == "ValueError" || n == "TypeError" || n == "KeyError" || n == "AttributeError" ||
      fault.name == "werkzeug.exceptions.BadRequest" ||
      fault.name == "werkzeug.exceptions.UnprocessableEntity") {
    return absl::InvalidArgumentError(msg);
  }
  const int s = fault.http_status;
  if (s >= 500) return with_retry_after(absl::UnavailableError(msg));
  if (s == 401) return absl::UnauthenticatedError(msg);
  if (s == 403) return absl::PermissionDeniedError(msg);
  if (s == 404) return absl::NotFoundError(msg);
  if (s == 408) return absl::DeadlineExceededError(msg);
  if (s == 409) return absl::AbortedError(msg);
  if (s >= 400) return absl::InvalidArgumentError(msg);
  // An error Odoo reported that no rule above knows (psycopg2.OperationalError, ...): retried
  // as unexpected rather than parked.
  return absl::InternalError(msg);
}

// ---------------------------------------------------------------------------------------

OdooClient::OdooClient(ClientOptions options, net::HttpClient& http)
    : options_(std::move(options)), http_(http) {}

int64_t OdooClient::authentications() const {
  absl::MutexLock lock(&mu_);
  return authentications_;
}

const std::string& OdooClient::RpcSecret() const {
  return options_.password.empty() ? options_.api_key : options_.password;
}

OdooClient::Reply OdooClient::Classify(std::string_view operation, CallKind kind,
                                       const absl::StatusOr<net::OutboundResponse>& response,
                                       bool jsonrpc) {
  if (!response.ok()) {
    // Transport: kUnavailable / kDeadlineExceeded keep their code (uncertain outcome).
    return {absl::Status(response.status().code(), absl::StrCat("odoo ", core::AbslSv(operation),
                                                                ": ", response.status().message())),
            std::nullopt};
  }
  const net::OutboundResponse& r = *response;
  if (r.status != 200) {
    OdooFault f = FaultFromHttp(r);
    return {MapOdooFault(f, operation, kind), f};
  }
  json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return {absl::UnavailableError(
                absl::StrCat("odoo ", core::AbslSv(operation), ": answer is not JSON (HTTP 200)")),
            std::nullopt};
  }
  if (!jsonrpc) return {std::move(body), std::nullopt};
  if (!body.is_object()) {
    return {absl::UnavailableError(
                absl::StrCat("odoo ", core::AbslSv(operation), ": not a JSON-RPC answer")),
            std::nullopt};
  }
  if (auto err = body.find("error"); err != body.end()) {
    OdooFault f;
    f.http_status = 200;
    if (err->is_object()) {
      if (auto c = err->find("code"); c != err->end() && c->is_number_integer()) {
        f.rpc_code = c->get<int>();
      }
      const json data = err->value("data", json::object());
      f.name = StringOr(data, "name");
      f.message = StringOr(data, "message", StringOr(*err, "message", "no message"));
    }
    return {MapOdooFault(f, operation, kind), f};
  }
  if (auto res = body.find("result"); res != body.end()) return {std::move(*res), std::nullopt};
  return {absl::UnavailableError(
              absl::StrCat("odoo ", core::AbslSv(operation), ": JSON-RPC answer without result")),
          std::nullopt};
}

OdooClient::Reply OdooClient::PostJsonRpc(std::string_view operation, const json& params,
                                          CallKind kind, bool fresh_connection) {
  static std::atomic<int64_t> next_id{1};
  net::OutboundRequest req;
  req.method = "POST";
  req.url = BaseUrl(options_.url) + "/jsonrpc";
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body =
      json{{"jsonrpc", "2.0"}, {"method", "call"}, {"params", params}, {"id", next_id.fetch_add(1)}}
          .dump(-1, ' ', false, json::error_handler_t::replace);
  req.timeout = options_.timeout;
  req.fresh_connection = fresh_connection;
  return Classify(operation, kind, http_.Send(req), /*jsonrpc=*/true);
}

OdooClient::Reply OdooClient::PostJson2(std::string_view operation, std::string_view model,
                                        std::string_view method, const json& body, CallKind kind) {
  net::OutboundRequest req;
  req.method = "POST";
  req.url = absl::StrCat(BaseUrl(options_.url), "/json/2/", net::UrlEncode(model), "/",
                         net::UrlEncode(method));
  req.headers = {{"Content-Type", "application/json; charset=utf-8"},
                 {"Accept", "application/json"},
                 {"Authorization", "bearer " + options_.api_key}};
  if (!options_.database.empty()) req.headers.emplace_back("X-Odoo-Database", options_.database);
  req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  req.timeout = options_.timeout;
  req.fresh_connection = kind != CallKind::kRead;
  return Classify(operation, kind, http_.Send(req), /*jsonrpc=*/false);
}

absl::Status OdooClient::EnsureVersion() {
  {
    absl::MutexLock lock(&mu_);
    if (version_) return absl::OkStatus();
  }
  absl::MutexLock setup(&setup_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (version_) return absl::OkStatus();
  }
  absl::StatusOr<ServerVersion> version;
  Reply r = PostJsonRpc("common.version",
                        {{"service", "common"}, {"method", "version"}, {"args", json::array()}},
                        CallKind::kRead, false);
  if (r.result.ok()) {
    version = ParseServerVersion(*r.result);
  } else if (r.fault && r.fault->http_status == 404) {
    // /jsonrpc is gone (Odoo 22+ per the deprecation notice): GET /web/version instead.
    net::OutboundRequest req;
    req.url = BaseUrl(options_.url) + "/web/version";
    req.timeout = options_.timeout;
    Reply w = Classify("web.version", CallKind::kRead, http_.Send(req), /*jsonrpc=*/false);
    if (!w.result.ok()) return w.result.status();
    version = ParseServerVersion(*w.result);
  } else {
    return r.result.status();
  }
  if (!version.ok()) return version.status();

  Protocol protocol = options_.protocol;
  if (protocol == Protocol::kAuto) {
    protocol =
        (version->major >= 19 && !options_.api_key.empty()) ? Protocol::kJson2 : Protocol::kJsonRpc;
  } else if (protocol == Protocol::kJson2) {
    if (options_.api_key.empty()) {
      return absl::FailedPreconditionError("odoo: protocol json2 needs an api_key");
    }
    if (version->major < 19) {
      return absl::FailedPreconditionError(absl::StrCat(
          "odoo: protocol json2 needs Odoo 19 or later; the server runs ", version->version));
    }
  }
  absl::MutexLock lock(&mu_);
  version_ = *version;
  protocol_ = protocol;
  return absl::OkStatus();
}

absl::StatusOr<ServerVersion> OdooClient::Version() {
  if (absl::Status s = EnsureVersion(); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return *version_;
}

absl::StatusOr<Protocol> OdooClient::ActiveProtocol() {
  if (absl::Status s = EnsureVersion(); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return protocol_;
}

absl::StatusOr<int64_t> OdooClient::Uid(std::optional<int64_t> stale) {
  auto cached = [&]() -> std::optional<int64_t> {
    absl::MutexLock lock(&mu_);
    if (uid_ && uid_ != stale) return uid_;
    return std::nullopt;
  };
  if (auto uid = cached()) return *uid;
  absl::MutexLock setup(&setup_mu_);
  if (auto uid = cached()) return *uid;  // another thread authenticated meanwhile
  {
    absl::MutexLock lock(&mu_);
    ++authentications_;
  }
  Reply r =
      PostJsonRpc("common.authenticate",
                  {{"service", "common"},
                   {"method", "authenticate"},
                   {"args", {options_.database, options_.username, RpcSecret(), json::object()}}},
                  CallKind::kRead, false);
  if (!r.result.ok()) return r.result.status();
  if (!r.result->is_number_integer()) {
    return absl::UnauthenticatedError(absl::StrCat("odoo common.authenticate: login '",
                                                   options_.username, "' was refused on database '",
                                                   options_.database, "'"));
  }
  absl::MutexLock lock(&mu_);
  uid_ = r.result->get<int64_t>();
  return *uid_;
}

absl::StatusOr<json> OdooClient::Call(std::string_view model, std::string_view method,
                                      const CallOptions& call) {
  absl::StatusOr<Protocol> protocol = ActiveProtocol();
  if (!protocol.ok()) return protocol.status();
  const std::string operation = absl::StrCat(core::AbslSv(model), ".", core::AbslSv(method));

  if (*protocol == Protocol::kJson2) {
    json body = call.params.is_object() ? call.params : json::object();
    if (call.ids) body["ids"] = *call.ids;
    if (!call.context.empty()) body["context"] = call.context;
    return PostJson2(operation, model, method, body, call.kind).result;
  }

  json kwargs = call.params.is_object() ? call.params : json::object();
  if (!call.context.empty()) kwargs["context"] = call.context;
  json args = json::array();
  if (call.ids) args.push_back(*call.ids);
  std::optional<int64_t> stale;
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<int64_t> uid = Uid(stale);
    if (!uid.ok()) return uid.status();
    Reply r = PostJsonRpc(operation,
                          {{"service", "object"},
                           {"method", "execute_kw"},
                           {"args",
                            {options_.database, *uid, RpcSecret(), std::string(model),
                             std::string(method), args, kwargs}}},
                          call.kind, call.kind != CallKind::kRead);
    if (!r.result.ok() && attempt == 0 && r.fault && IsAuthFault(*r.fault)) {
      stale = *uid;  // password rotated, user re-created, session gone: authenticate again
      continue;
    }
    return std::move(r.result);
  }
}

}  // namespace keelson::connectors::odoo
