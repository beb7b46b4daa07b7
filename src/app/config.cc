#include "app/config.h"
#include "core/strings.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace keelson::app {
namespace {

constexpr int64_t kMinBodyLimitBytes = 1024;
constexpr int64_t kMaxBodyLimitBytes = int64_t{1} << 30;
constexpr std::string_view kStoreIdPattern = "^[a-z0-9][a-z0-9_-]{0,63}$";

// ---------------------------------------------------------------------------------------------
// Small pure helpers.

// Debian's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0), so
// std::string_view must be converted explicitly before it goes into absl::StrCat and friends.

std::string JoinKey(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", core::AbslSv(key));
}

std::string JoinIndex(const std::string& path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsHttpUrl(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWith(core::AbslSv(url), core::AbslSv(scheme)) && url.size() > scheme.size()) return true;
  }
  return false;
}

bool IsStoreId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(id.front())) return false;
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return lower_alnum(c) || c == '_' || c == '-'; });
}

bool IsLowerHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Splits "host:port" / "[v6]:port" into host (without brackets) and port.
bool ParseListen(std::string_view listen, std::string* host, uint16_t* port) {
  std::string_view h;
  std::string_view p;
  if (!listen.empty() && listen.front() == '[') {
    const size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return false;
    }
    h = listen.substr(1, close - 1);
    p = listen.substr(close + 2);
    if (h.find(':') == std::string_view::npos) return false;  // brackets are for IPv6 only
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return false;
    h = listen.substr(0, colon);
    p = listen.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) return false;  // IPv6 must be bracketed
  }
  if (h.empty()) return false;
  for (char c : h) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' &&
        c != ':' && c != '%') {
      return false;
    }
  }
  if (p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  uint32_t value = 0;
  if (!absl::SimpleAtoi(core::AbslSv(p), &value) || value > 65535) return false;
  *host = std::string(h);
  *port = static_cast<uint16_t>(value);
  return true;
}

std::string OneOfMessage(const std::vector<std::string_view>& allowed) {
  std::string message = "must be one of ";
  for (size_t i = 0; i < allowed.size(); ++i) {
    absl::StrAppend(&message, i == 0 ? "" : ", ", core::AbslSv(allowed[i]));
  }
  return message;
}

// Numeric bounds plus the message to report when a value falls outside them.
struct Bounds {
  int64_t min;
  int64_t max;
  std::string_view message;
};

constexpr Bounds kPositive{1, std::numeric_limits<int64_t>::max(), "must be > 0"};
constexpr Bounds kNonNegative{0, std::numeric_limits<int64_t>::max(), "must be >= 0"};

// ---------------------------------------------------------------------------------------------
// Decoder: walks the YAML tree, fills a Config and collects every error.

class Decoder {
 public:
  Decoder(const EnvLookup& env, std::vector<ConfigError>* errors) : env_(env), errors_(errors) {}

  void Root(const YAML::Node& root, Config* config);

 private:
  using Handler = std::function<void(const YAML::Node& value, const std::string& path)>;
  struct Field {
    std::string_view key;
    Handler handle;
  };

  void Error(std::string path, std::string message) {
    errors_->push_back(ConfigError{std::move(path), std::move(message)});
  }
  bool HasErrorAt(const std::string& path) const {
    return std::any_of(errors_->begin(), errors_->end(),
                       [&](const ConfigError& e) { return e.path == path; });
  }

  // Dispatches each key of a mapping to its field; unknown and duplicate keys are errors. Null
  // values are skipped (treated as absent). A null `node` is an absent (empty) mapping.
  void Map(const YAML::Node& node, const std::string& path, const std::vector<Field>& fields);
  // Calls item(node, path) for each entry of a sequence. Returns false if `node` is not a list.
  bool List(const YAML::Node& node, const std::string& path,
            const std::function<void(const YAML::Node&, const std::string&)>& item);
  // True (after reporting) if `node` is not a mapping; for list items.
  bool RequireMapping(const YAML::Node& node, const std::string& path);

  // Scalar text after ${VAR} substitution; nullopt after reporting an error. `type_error` is
  // reported when the node is not a scalar.
  std::optional<std::string> Scalar(const YAML::Node& node, const std::string& path,
                                    std::string_view type_error);
  std::optional<std::string> Substitute(std::string_view text, const std::string& path);
  std::optional<int64_t> Integer(const YAML::Node& node, const std::string& path, Bounds bounds,
                                 int64_t type_min, int64_t type_max);

  // Field builders.
  Field Str(std::string_view key, std::string* out);
  Field Enum(std::string_view key, std::string* out, std::vector<std::string_view> allowed);
  Field Sec(std::string_view key, Secret* out);
  Field Int64(std::string_view key, int64_t* out, Bounds bounds);
  Field Int(std::string_view key, int* out, Bounds bounds);
  Field PositiveNumber(std::string_view key, double* out);
  Field Bool(std::string_view key, bool* out);
  Field EnumList(std::string_view key, std::vector<std::string>* out,
                 std::vector<std::string_view> allowed);
  Field Section(std::string_view key, Handler handler) { return Field{key, std::move(handler)}; }

  void Server(const YAML::Node& node, const std::string& path, ServerConfig* server);
  void Storage(const YAML::Node& node, const std::string& path, StorageConfig* storage);
  void Stores(const YAML::Node& node, const std::string& path, std::vector<StoreConfig>* stores);
  void Erp(const YAML::Node& node, const std::string& path, ErpConfig* erp);
  void Jobs(const YAML::Node& node, const std::string& path, JobsConfig* jobs);
  void Limits(const YAML::Node& node, const std::string& path, LimitsConfig* limits);
  void OrderToCash(const YAML::Node& node, const std::string& path, OrderToCashConfig* o2c);
  void Log(const YAML::Node& node, const std::string& path, LogConfig* log);
  void Ops(const YAML::Node& node, const std::string& path, OpsConfig* ops);
  void Sla(const YAML::Node& node, const std::string& path, SlaConfig* sla);
  void Events(const YAML::Node& node, const std::string& path, EventsConfig* events);
  void Fulfillment(const YAML::Node& node, const std::string& path, FulfillmentConfig* f);
  void EdiPartner(const YAML::Node& node, const std::string& path,
                  connectors::edi::EdiPartnerOptions* o);
  // A duration given in milliseconds.
  Field Millis(std::string_view key, absl::Duration* out, Bounds bounds);
  // One character (an X12 delimiter).
  Field Char(std::string_view key, char* out);
  // A list of non-empty strings.
  Field Strings(std::string_view key, std::vector<std::string>* out);
  void Inventory(const YAML::Node& node, const std::string& path, InventoryConfig* inventory);

  void RequireNonEmpty(bool empty, const std::string& path) {
    if (empty && !HasErrorAt(path)) Error(path, "required");
  }
  void CheckHttpUrl(const std::string& url, const std::string& path) {
    if (!url.empty() && !IsHttpUrl(url) && !HasErrorAt(path)) {
      Error(path, "must start with http:// or https://");
    }
  }

  const EnvLookup& env_;
  std::vector<ConfigError>* errors_;
};

void Decoder::Map(const YAML::Node& node, const std::string& path,
                  const std::vector<Field>& fields) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    Error(path, path.empty() ? "the document must be a mapping" : "must be a mapping");
    return;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      Error(path, "keys must be strings");
      continue;
    }
    const std::string& key = it->first.Scalar();
    const std::string key_path = JoinKey(path, key);
    if (!seen.insert(key).second) {
      Error(key_path, "duplicate key");
      continue;
    }
    auto field =
        std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == key; });
    if (field == fields.end()) {
      std::string message = "unknown key";
      size_t best = 3;
      std::string_view suggestion;
      for (const Field& f : fields) {
        const size_t distance = EditDistance(key, f.key);
        if (distance < best && distance < f.key.size()) {
          best = distance;
          suggestion = f.key;
        }
      }
      if (!suggestion.empty()) {
        absl::StrAppend(&message, " (did you mean \"", core::AbslSv(suggestion), "\"?)");
      }
      Error(key_path, std::move(message));
      continue;
    }
    if (it->second.IsNull()) continue;
    field->handle(it->second, key_path);
  }
}

bool Decoder::List(const YAML::Node& node, const std::string& path,
                   const std::function<void(const YAML::Node&, const std::string&)>& item) {
  if (!node.IsSequence()) {
    Error(path, "must be a list");
    return false;
  }
  for (size_t i = 0; i < node.size(); ++i) item(node[i], JoinIndex(path, i));
  return true;
}

bool Decoder::RequireMapping(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) return false;
  Error(path, "must be a mapping");
  return true;
}

std::optional<std::string> Decoder::Scalar(const YAML::Node& node, const std::string& path,
                                           std::string_view type_error) {
  if (!node.IsScalar()) {
    Error(path, std::string(type_error));
    return std::nullopt;
  }
  return Substitute(node.Scalar(), path);
}

std::optional<std::string> Decoder::Substitute(std::string_view text, const std::string& path) {
  std::string out;
  out.reserve(text.size());
  bool ok = true;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      Error(path, "unterminated ${ in value");
      return std::nullopt;
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    i = close + 1;
    const size_t sep = inner.find(":-");
    const std::string_view name = inner.substr(0, sep);
    if (!IsEnvName(name)) {
      // Never echo the reference: its default may be a secret.
      Error(path, "invalid environment variable reference (expected ${NAME} or ${NAME:-default})");
      ok = false;
      continue;
    }
    std::optional<std::string> value = env_ ? env_(std::string(name)) : std::nullopt;
    if (sep != std::string_view::npos && (!value.has_value() || value->empty())) {
      out += inner.substr(sep + 2);
    } else if (value.has_value()) {
      out += *value;
    } else {
      Error(path, absl::StrCat("environment variable ", core::AbslSv(name), " is not set"));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<int64_t> Decoder::Integer(const YAML::Node& node, const std::string& path,
                                        Bounds bounds, int64_t type_min, int64_t type_max) {
  std::optional<std::string> text = Scalar(node, path, "must be an integer");
  if (!text.has_value()) return std::nullopt;
  int64_t value = 0;
  if (!absl::SimpleAtoi(*text, &value)) {
    Error(path, "must be an integer");
    return std::nullopt;
  }
  if (value < type_min || value > type_max) {
    Error(path, "is out of range");
    return std::nullopt;
  }
  if (value < bounds.min || value > bounds.max) {
    Error(path, std::string(bounds.message));
    return std::nullopt;
  }
  return value;
}

Decoder::Field Decoder::Str(std::string_view key, std::string* out) {
  return Field{key, [this, out](const YAML::Node& node, const std::string& path) {
                 if (auto text = Scalar(node, path, "must be a string")) *out = std::move(*text);
               }};
}

Decoder::Field Decoder::Enum(std::string_view key, std::string* out,
                             std::vector<std::string_view> allowed) {
  return Field{key, [this, out, allowed = std::move(allowed)](const YAML::Node& node,
                                                              const std::string& path) {
                 std::optional<std::string> text = Scalar(node, path, "must be a string");
                 if (!text.has_value()) return;
                 if (std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
                   Error(path, OneOfMessage(allowed));
                   return;
                 }
                 *out = std::move(*text);
               }};
}

Decoder::Field Decoder::Sec(std::string_view key, Secret* out) {
  return Field{key, [this, out](const YAML::Node& node, const std::string& path) {
                 if (auto text = Scalar(node, path, "must be a string")) {
                   *out = Secret(std::move(*text));
                 }
               }};
}

Decoder::Field Decoder::Int64(std::string_view key, int64_t* out, Bounds bounds) {
  return Field{key, [this, out, bounds](const YAML::Node& node, const std::string& path) {
                 if (auto v = Integer(node, path, bounds, std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max())) {
                   *out = *v;
                 }
               }};
}

Decoder::Field Decoder::Int(std::string_view key, int* out, Bounds bounds) {
  return Field{key, [this, out, bounds](const YAML::Node& node, const std::string& path) {
                 if (auto v = Integer(node, path, bounds, std::numeric_limits<int>::min(),
                                      std::numeric_limits<int>::max())) {
                   *out = static_cast<int>(*v);
                 }
               }};
}

Decoder::Field Decoder::PositiveNumber(std::string_view key, double* out) {
  return Field{key, [this, out](const YAML::Node& node, const std::string& path) {
                 std::optional<std::string> text = Scalar(node, path, "must be a number");
                 if (!text.has_value()) return;
                 double value = 0;
                 if (!absl::SimpleAtod(*text, &value) || !std::isfinite(value)) {
                   Error(path, "must be a number");
                   return;
                 }
                 if (value <= 0) {
                   Error(path, "must be > 0");
                   return;
                 }
                 *out = value;
               }};
}

Decoder::Field Decoder::Bool(std::string_view key, bool* out) {
  return Field{key, [this, out](const YAML::Node& node, const std::string& path) {
                 std::optional<std::string> text = Scalar(node, path, "must be true or false");
                 if (!text.has_value()) return;
                 if (*text == "true") {
                   *out = true;
                 } else if (*text == "false") {
                   *out = false;
                 } else {
                   Error(path, "must be true or false");
                 }
               }};
}

Decoder::Field Decoder::EnumList(std::string_view key, std::vector<std::string>* out,
                                 std::vector<std::string_view> allowed) {
  return Field{key, [this, out, allowed = std::move(allowed)](const YAML::Node& node,
                                                              const std::string& path) {
                 if (!node.IsSequence()) {
                   Error(path, "must be a list");
                   return;
                 }
                 std::vector<std::string> values;
                 for (size_t i = 0; i < node.size(); ++i) {
                   const std::string item_path = JoinIndex(path, i);
                   std::optional<std::string> text = Scalar(node[i], item_path, "must be a string");
                   if (!text.has_value()) continue;
                   if (std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
                     Error(item_path, OneOfMessage(allowed));
                     continue;
                   }
                   values.push_back(std::move(*text));
                 }
                 if (node.size() == 0) Error(path, "must not be empty");
                 *out = std::move(values);
               }};
}

void Decoder::Root(const YAML::Node& root, Config* config) {
  Map(root, "",
      {
          Section("server", [&](const YAML::Node& n,
                                const std::string& p) { Server(n, p, &config->server); }),
          Section("storage", [&](const YAML::Node& n,
                                 const std::string& p) { Storage(n, p, &config->storage); }),
          Section("stores", [&](const YAML::Node& n,
                                const std::string& p) { Stores(n, p, &config->stores); }),
          Section("erp",
                  [&](const YAML::Node& n, const std::string& p) { Erp(n, p, &config->erp); }),
          Section("order_to_cash",
                  [&](const YAML::Node& n, const std::string& p) {
                    OrderToCash(n, p, &config->order_to_cash);
                  }),
          Section("inventory", [&](const YAML::Node& n,
                                   const std::string& p) { Inventory(n, p, &config->inventory); }),
          Section("jobs",
                  [&](const YAML::Node& n, const std::string& p) { Jobs(n, p, &config->jobs); }),
          Section("log",
                  [&](const YAML::Node& n, const std::string& p) { Log(n, p, &config->log); }),
          Section("ops",
                  [&](const YAML::Node& n, const std::string& p) { Ops(n, p, &config->ops); }),
          Section("sla",
                  [&](const YAML::Node& n, const std::string& p) { Sla(n, p, &config->sla); }),
          Section("fulfillment", [&](const YAML::Node& n, const std::string& p) {
            Fulfillment(n, p, &config->fulfillment);
          }),
          Section("events", [&](const YAML::Node& n,
                                const std::string& p) { Events(n, p, &config->events); }),
      });
  for (size_t i = 0; i < config->fulfillment.nodes.size(); ++i) {
    const FulfillmentNodeConfig& n = config->fulfillment.nodes[i];
    const std::string p = JoinKey(JoinIndex("fulfillment.nodes", i), "provider");
    if (n.provider == "erp" && config->erp.type.empty() && !HasErrorAt(p)) {
      Error(p, "provider \"erp\" needs an erp section");
    }
  }
  if (!config->sla.rules_given) config->sla.rules = DefaultSlaRules();
  if (config->stores.empty() && !HasErrorAt("stores") && !HasErrorAt("")) {
    Error("stores", "at least one store is required");
  }
  for (size_t i = 0; i < config->inventory.channels.size(); ++i) {
    const std::string& store = config->inventory.channels[i].store;
    const std::string p = JoinKey(JoinIndex("inventory.channels", i), "store");
    if (!store.empty() && config->FindStore(store) == nullptr && !HasErrorAt(p)) {
      Error(p, absl::StrCat("no store with id \"", store, "\" in stores"));
    }
  }
}

void Decoder::Server(const YAML::Node& node, const std::string& path, ServerConfig* server) {
  Map(node, path,
      {
          Str("listen", &server->listen),
          Int64("body_limit_bytes", &server->body_limit_bytes,
                Bounds{kMinBodyLimitBytes, kMaxBodyLimitBytes,
                       "must be between 1024 and 1073741824 (1 GiB)"}),
          Int("io_threads", &server->io_threads, kNonNegative),
          Int64("request_timeout_ms", &server->request_timeout_ms, kPositive),
      });
  const std::string listen_path = JoinKey(path, "listen");
  if (!HasErrorAt(listen_path) && !ParseListen(server->listen, &server->host, &server->port)) {
    Error(listen_path, "must be host:port with port 0-65535");
  }
}

void Decoder::Storage(const YAML::Node& node, const std::string& path, StorageConfig* storage) {
  Map(node, path,
      {
          Enum("engine", &storage->engine, {"sqlite", "postgres"}),
          Str("path", &storage->path),
          Sec("dsn", &storage->dsn),
          Int("pool_size", &storage->pool_size, kPositive),
          Int("group_commit_max_batch", &storage->group_commit_max_batch, kPositive),
          Int64("busy_timeout_ms", &storage->busy_timeout_ms, kNonNegative),
          Bool("intake_journal", &storage->intake_journal),
          Str("intake_journal_dir", &storage->intake_journal_dir),
      });
  if (HasErrorAt(JoinKey(path, "engine"))) return;
  if (storage->engine == "sqlite") {
    const std::string p = JoinKey(path, "path");
    if (storage->path.empty() && !HasErrorAt(p)) Error(p, "required when engine is sqlite");
  } else if (storage->engine == "postgres") {
    const std::string p = JoinKey(path, "dsn");
    if (storage->dsn.empty() && !HasErrorAt(p)) Error(p, "required when engine is postgres");
  }
}

void Decoder::Stores(const YAML::Node& node, const std::string& path,
                     std::vector<StoreConfig>* stores) {
  const bool is_list = List(node, path, [&](const YAML::Node& item, const std::string& p) {
    StoreConfig& store = stores->emplace_back();
    if (RequireMapping(item, p)) return;
    Map(item, p,
        {
            Str("id", &store.id),
            Str("url", &store.url),
            Sec("consumer_key", &store.consumer_key),
            Sec("consumer_secret", &store.consumer_secret),
            Sec("webhook_secret", &store.webhook_secret),
            Section("limits", [&](const YAML::Node& n,
                                  const std::string& lp) { Limits(n, lp, &store.limits); }),
        });
    const std::string id_path = JoinKey(p, "id");
    RequireNonEmpty(store.id.empty(), id_path);
    if (!store.id.empty() && !IsStoreId(store.id)) {
      Error(id_path, absl::StrCat("must match ", core::AbslSv(kStoreIdPattern)));
    }
    const std::string url_path = JoinKey(p, "url");
    RequireNonEmpty(store.url.empty(), url_path);
    CheckHttpUrl(store.url, url_path);
    RequireNonEmpty(store.webhook_secret.empty(), JoinKey(p, "webhook_secret"));
  });
  if (!is_list) return;
  std::set<std::string> ids;
  for (size_t i = 0; i < stores->size(); ++i) {
    const std::string& id = (*stores)[i].id;
    const std::string id_path = JoinKey(JoinIndex(path, i), "id");
    if (id.empty() || HasErrorAt(id_path)) continue;
    if (!ids.insert(id).second) Error(id_path, absl::StrCat("duplicate store id \"", id, "\""));
  }
}

void Decoder::Erp(const YAML::Node& node, const std::string& path, ErpConfig* erp) {
  erp->present = true;
  const std::string auth_path = JoinKey(path, "auth");
  Map(node, path,
      {
          Enum("type", &erp->type, {"business_central", "odoo"}),
          Str("url", &erp->url),
          Str("company_id", &erp->company_id),
          Section("auth",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {
                            Str("token_url", &erp->auth.token_url),
                            Str("client_id", &erp->auth.client_id),
                            Sec("client_secret", &erp->auth.client_secret),
                            Str("scope", &erp->auth.scope),
                        });
                  }),
          Str("database", &erp->database),
          Str("username", &erp->username),
          Sec("password", &erp->password),
          Sec("api_key", &erp->api_key),
          Enum("protocol", &erp->protocol, {"auto", "jsonrpc", "json2"}),
          Section("mapping",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {
                            Str("shipping", &erp->mapping.shipping),
                            Str("fees", &erp->mapping.fees),
                            Str("local_currency", &erp->mapping.local_currency),
                        });
                  }),
          Section("limits", [&](const YAML::Node& n,
                                const std::string& p) { Limits(n, p, &erp->limits); }),
      });
  RequireNonEmpty(erp->type.empty(), JoinKey(path, "type"));
  RequireNonEmpty(erp->url.empty(), JoinKey(path, "url"));
  if (erp->type == "business_central") {
    RequireNonEmpty(erp->company_id.empty(), JoinKey(path, "company_id"));
    RequireNonEmpty(erp->auth.token_url.empty(), JoinKey(auth_path, "token_url"));
    RequireNonEmpty(erp->auth.client_id.empty(), JoinKey(auth_path, "client_id"));
    RequireNonEmpty(erp->auth.client_secret.value().empty(), JoinKey(auth_path, "client_secret"));
  } else if (erp->type == "odoo") {
    RequireNonEmpty(erp->database.empty(), JoinKey(path, "database"));
    RequireNonEmpty(erp->username.empty() && erp->api_key.value().empty(),
                    JoinKey(path, "username"));
    if (erp->password.value().empty() && erp->api_key.value().empty() &&
        !HasErrorAt(JoinKey(path, "password"))) {
      Error(JoinKey(path, "password"), "required (or api_key)");
    }
  }
  CheckHttpUrl(erp->url, JoinKey(path, "url"));
  CheckHttpUrl(erp->auth.token_url, JoinKey(auth_path, "token_url"));
}

void Decoder::OrderToCash(const YAML::Node& node, const std::string& path,
                          OrderToCashConfig* o2c) {
  Map(node, path,
      {
          EnumList("create_on", &o2c->create_on, {"processing", "completed", "on-hold"}),
          Bool("write_back", &o2c->write_back),
          Int64("backfill_interval_s", &o2c->backfill_interval_s, kNonNegative),
          Int64("backfill_overlap_s", &o2c->backfill_overlap_s, kNonNegative),
          Int64("backfill_lookback_hours", &o2c->backfill_lookback_hours, kPositive),
      });
}

void Decoder::Limits(const YAML::Node& node, const std::string& path, LimitsConfig* limits) {
  BreakerConfig& b = limits->breaker;
  Map(node, path,
      {
          PositiveNumber("requests_per_second", &limits->requests_per_second),
          PositiveNumber("burst", &limits->burst),
          Int("concurrency", &limits->concurrency, kPositive),
          Int64("timeout_ms", &limits->timeout_ms, kPositive),
          Bool("adaptive", &limits->adaptive),
          Int64("backoff_base_ms", &limits->backoff_base_ms, kPositive),
          Int64("backoff_cap_ms", &limits->backoff_cap_ms, kPositive),
          Section("breaker",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {
                            Bool("enabled", &b.enabled),
                            Int("consecutive_failures", &b.consecutive_failures, kPositive),
                            PositiveNumber("failure_ratio", &b.failure_ratio),
                            Int("window", &b.window, kPositive),
                            Int64("open_ms", &b.open_ms, kPositive),
                            Int64("max_open_ms", &b.max_open_ms, kPositive),
                        });
                    const std::string ratio = JoinKey(p, "failure_ratio");
                    if (!HasErrorAt(ratio) && b.failure_ratio > 1) Error(ratio, "must be <= 1");
                    const std::string max_open = JoinKey(p, "max_open_ms");
                    if (!HasErrorAt(max_open) && !HasErrorAt(JoinKey(p, "open_ms")) &&
                        b.max_open_ms < b.open_ms) {
                      Error(max_open, "must be >= open_ms");
                    }
                  }),
      });
  if (limits->backoff_base_ms > 0 && limits->backoff_cap_ms > 0 &&
      limits->backoff_cap_ms < limits->backoff_base_ms &&
      !HasErrorAt(JoinKey(path, "backoff_cap_ms"))) {
    Error(JoinKey(path, "backoff_cap_ms"), "must be >= backoff_base_ms");
  }
}

void Decoder::Jobs(const YAML::Node& node, const std::string& path, JobsConfig* jobs) {
  Map(node, path,
      {
          Section("lanes",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {
                            Int("erp", &jobs->lane_erp, kPositive),
                            Int("woocommerce", &jobs->lane_woocommerce, kPositive),
                            Int("core", &jobs->lane_core, kPositive),
                        });
                  }),
          Int("workers", &jobs->workers, kPositive),
          Int64("lease_ms", &jobs->lease_ms, kPositive),
          Int64("poll_interval_ms", &jobs->poll_interval_ms, kPositive),
          Int("max_attempts", &jobs->max_attempts, kPositive),
          Int64("backoff_base_ms", &jobs->backoff_base_ms, kPositive),
          Int64("backoff_cap_ms", &jobs->backoff_cap_ms, kPositive),
          Int64("deadline_ms", &jobs->deadline_ms, kPositive),
          Int64("retention_hours", &jobs->retention_hours, kPositive),
      });
  const std::string cap_path = JoinKey(path, "backoff_cap_ms");
  if (!HasErrorAt(cap_path) && !HasErrorAt(JoinKey(path, "backoff_base_ms")) &&
      jobs->backoff_cap_ms < jobs->backoff_base_ms) {
    Error(cap_path, "must be >= backoff_base_ms");
  }
}

void Decoder::Log(const YAML::Node& node, const std::string& path, LogConfig* log) {
  Map(node, path,
      {
          Enum("level", &log->level, {"trace", "debug", "info", "warn", "error"}),
          Enum("format", &log->format, {"json", "text"}),
      });
}

void Decoder::Inventory(const YAML::Node& node, const std::string& path,
                        InventoryConfig* inventory) {
  inventory->present = true;
  constexpr Bounds kPercent{0, 100, "must be between 0 and 100"};
  Map(node, path,
      {
          Section("channels",
                  [&](const YAML::Node& n, const std::string& p) {
                    List(n, p, [&](const YAML::Node& item, const std::string& ip) {
                      InventoryChannelConfig& c = inventory->channels.emplace_back();
                      if (RequireMapping(item, ip)) return;
                      Map(item, ip,
                          {
                              Str("store", &c.store),
                              Section("locations",
                                      [&](const YAML::Node& ln, const std::string& lp) {
                                        const bool list = List(
                                            ln, lp,
                                            [&](const YAML::Node& loc, const std::string& locp) {
                                              auto text = Scalar(loc, locp, "must be a string");
                                              if (!text) return;
                                              if (text->empty()) {
                                                Error(locp, "must not be empty");
                                                return;
                                              }
                                              c.locations.push_back(std::move(*text));
                                            });
                                        if (list && ln.size() == 0) Error(lp, "must not be empty");
                                      }),
                              Bool("backorderable", &c.backorderable),
                              Int64("inbound_horizon_days", &c.inbound_horizon_days, kNonNegative),
                              Int64("percent", &c.percent, kPercent),
                              Int64("cap", &c.cap, kNonNegative),
                              Int64("holdback", &c.holdback, kNonNegative),
                          });
                      RequireNonEmpty(c.store.empty(), JoinKey(ip, "store"));
                      RequireNonEmpty(c.locations.empty(), JoinKey(ip, "locations"));
                    });
                    std::set<std::string> seen;
                    for (size_t i = 0; i < inventory->channels.size(); ++i) {
                      const std::string& store = inventory->channels[i].store;
                      if (!store.empty() && !seen.insert(store).second) {
                        Error(JoinKey(JoinIndex(p, i), "store"),
                              absl::StrCat("duplicate channel for store \"", store, "\""));
                      }
                    }
                  }),
          Int("publish_batch", &inventory->publish_batch,
              Bounds{1, 1000, "must be between 1 and 1000"}),
          Int64("reconcile_interval_s", &inventory->reconcile_interval_s, kNonNegative),
          Int64("erp_poll_interval_s", &inventory->erp_poll_interval_s, kNonNegative),
          Int64("erp_poll_overlap_s", &inventory->erp_poll_overlap_s, kNonNegative),
          Int64("erp_full_scan_every", &inventory->erp_full_scan_every, kNonNegative),
          Section("erp_locations",
                  [&](const YAML::Node& n, const std::string& p) {
                    if (RequireMapping(n, p)) return;
                    std::map<std::string, std::string> target_of;  // Keelson's -> ERP's
                    for (auto it = n.begin(); it != n.end(); ++it) {
                      if (!it->first.IsScalar()) {
                        Error(p, "keys must be strings");
                        continue;
                      }
                      const std::string erp_location = it->first.Scalar();
                      const std::string ip = JoinKey(p, erp_location);
                      auto target = Scalar(it->second, ip, "must be a string");
                      if (!target) continue;
                      if (target->empty()) {
                        Error(ip, "must not be empty");
                        continue;
                      }
                      auto [prev, fresh] = target_of.try_emplace(*target, erp_location);
                      if (!fresh) {
                        // Two ERP levels would overwrite each other in one Keelson location.
                        Error(ip, absl::StrCat("\"", *target, "\" is already the location of \"",
                                               prev->second, "\""));
                        continue;
                      }
                      inventory->erp_locations[erp_location] = std::move(*target);
                    }
                  }),
          Str("erp_default_location", &inventory->erp_default_location),
      });
  if (inventory->channels.empty() && !HasErrorAt(JoinKey(path, "channels"))) {
    Error(JoinKey(path, "channels"), "at least one channel is required");
  }
}

void Decoder::Ops(const YAML::Node& node, const std::string& path, OpsConfig* ops) {
  Map(node, path,
      {
          Section("api_keys",
                  [&](const YAML::Node& n, const std::string& p) {
                    List(n, p, [&](const YAML::Node& item, const std::string& item_path) {
                      OpsKey& key = ops->api_keys.emplace_back();
                      if (RequireMapping(item, item_path)) return;
                      Map(item, item_path,
                          {Str("name", &key.name), Str("sha256", &key.sha256),
                           EnumList("scopes", &key.scopes, {"ops", "ops:read"})});
                      RequireNonEmpty(key.name.empty(), JoinKey(item_path, "name"));
                      const std::string sha_path = JoinKey(item_path, "sha256");
                      RequireNonEmpty(key.sha256.empty(), sha_path);
                      if (!key.sha256.empty() && !IsLowerHex64(key.sha256) &&
                          !HasErrorAt(sha_path)) {
                        Error(sha_path, "must be 64 lowercase hex characters");
                      }
                    });
                    std::set<std::string> names;
                    for (size_t i = 0; i < ops->api_keys.size(); ++i) {
                      const std::string& name = ops->api_keys[i].name;
                      if (!name.empty() && !names.insert(name).second) {
                        Error(JoinKey(JoinIndex(p, i), "name"),
                              absl::StrCat("duplicate api key name \"", name, "\""));
                      }
                    }
                  }),
      });
}

Decoder::Field Decoder::Strings(std::string_view key, std::vector<std::string>* out) {
  return Section(key, [this, out](const YAML::Node& n, const std::string& p) {
    List(n, p, [&](const YAML::Node& v, const std::string& vp) {
      auto text = Scalar(v, vp, "must be a string");
      if (!text) return;
      if (text->empty()) {
        Error(vp, "must not be empty");
        return;
      }
      out->push_back(std::move(*text));
    });
  });
}

void Decoder::Fulfillment(const YAML::Node& node, const std::string& path, FulfillmentConfig* f) {
  f->present = true;
  Map(node, path,
      {
          Section("nodes",
                  [&](const YAML::Node& n, const std::string& p) {
                    List(n, p, [&](const YAML::Node& item, const std::string& ip) {
                      FulfillmentNodeConfig& c = f->nodes.emplace_back();
                      if (RequireMapping(item, ip)) return;
                      Map(item, ip,
                          {
                              Str("id", &c.id),
                              Enum("kind", &c.kind, {"warehouse", "3pl", "dropship"}),
                              Field{"provider",
                                    [&](const YAML::Node& pn, const std::string& pp) {
                                      auto text = Scalar(pn, pp, "must be a string");
                                      if (!text) return;
                                      if (*text != "erp" && *text != "shipbob" &&
                                          !(absl::StartsWith(*text, "edi:") && text->size() > 4)) {
                                        Error(pp, "must be one of erp, shipbob, edi:<partner id>");
                                        return;
                                      }
                                      c.provider = std::move(*text);
                                    }},
                              Strings("locations", &c.locations),
                              Strings("skus", &c.skus),
                              Strings("regions", &c.regions),
                              Int64("priority", &c.priority, kNonNegative),
                              Int64("cost", &c.cost, kNonNegative),
                              Bool("untracked", &c.untracked),
                          });
                      RequireNonEmpty(c.id.empty(), JoinKey(ip, "id"));
                      RequireNonEmpty(c.provider.empty(), JoinKey(ip, "provider"));
                      if (c.locations.empty() && !c.untracked && !HasErrorAt(JoinKey(ip, "locations"))) {
                        Error(JoinKey(ip, "locations"),
                              "required unless the node is untracked (drop-ship)");
                      }
                    });
                    std::set<std::string> ids;
                    for (size_t i = 0; i < f->nodes.size(); ++i) {
                      if (f->nodes[i].provider == "shipbob" && !node["shipbob"]) {
                        Error(JoinKey(JoinIndex(p, i), "provider"),
                              "provider \"shipbob\" needs a fulfillment.shipbob section");
                      }
                      const std::string& id = f->nodes[i].id;
                      if (!id.empty() && !ids.insert(id).second) {
                        Error(JoinKey(JoinIndex(p, i), "id"),
                              absl::StrCat("duplicate node id \"", id, "\""));
                      }
                    }
                  }),
          Section("shipbob",
                  [&](const YAML::Node& n, const std::string& p) {
                    ShipBobConfig& sb = f->shipbob;
                    sb.present = true;
                    Map(n, p,
                        {
                            Str("url", &sb.url),
                            Sec("token", &sb.token),
                            Int64("channel_id", &sb.channel_id, kPositive),
                            Sec("webhook_secret", &sb.webhook_secret),
                            Str("default_shipping_method", &sb.default_shipping_method),
                            Enum("order_type", &sb.order_type, {"DTC", "DropShip", "B2B"}),
                            Section("limits",
                                    [&](const YAML::Node& ln, const std::string& lp) {
                                      Limits(ln, lp, &sb.limits);
                                    }),
                        });
                    CheckHttpUrl(sb.url, JoinKey(p, "url"));
                    RequireNonEmpty(sb.token.value().empty(), JoinKey(p, "token"));
                    RequireNonEmpty(sb.channel_id == 0, JoinKey(p, "channel_id"));
                    RequireNonEmpty(sb.webhook_secret.value().empty(),
                                    JoinKey(p, "webhook_secret"));
                  }),
          Section("edi",
                  [&](const YAML::Node& n, const std::string& p) {
                    f->edi.present = true;
                    Map(n, p,
                        {Section("partners", [&](const YAML::Node& pn, const std::string& pp) {
                          List(pn, pp, [&](const YAML::Node& item, const std::string& ip) {
                            auto& o = f->edi.partners.emplace_back();
                            if (RequireMapping(item, ip)) return;
                            EdiPartner(item, ip, &o);
                          });
                        })});
                    std::set<std::string> ids;
                    for (size_t i = 0; i < f->edi.partners.size(); ++i) {
                      const std::string& id = f->edi.partners[i].id;
                      if (!id.empty() && !ids.insert(id).second) {
                        Error(JoinKey(JoinIndex(JoinKey(p, "partners"), i), "id"),
                              absl::StrCat("duplicate partner id \"", id, "\""));
                      }
                    }
                  }),
          Int64("hold_recheck_s", &f->hold_recheck_s, kNonNegative),
      });
  // An EDI node names a configured trading partner.
  for (size_t i = 0; i < f->nodes.size(); ++i) {
    const std::string& provider = f->nodes[i].provider;
    if (!absl::StartsWith(provider, "edi:")) continue;
    const std::string partner = provider.substr(4);
    const bool known = std::any_of(f->edi.partners.begin(), f->edi.partners.end(),
                                   [&](const auto& o) { return o.id == partner; });
    if (!known) {
      Error(JoinKey(JoinIndex(JoinKey(path, "nodes"), i), "provider"),
            absl::StrCat("no trading partner \"", partner, "\" in fulfillment.edi.partners"));
    }
  }
}

Decoder::Field Decoder::Millis(std::string_view key, absl::Duration* out, Bounds bounds) {
  return Field{key, [this, out, bounds](const YAML::Node& node, const std::string& path) {
                 if (auto v = Integer(node, path, bounds, std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max())) {
                   *out = absl::Milliseconds(*v);
                 }
               }};
}

Decoder::Field Decoder::Char(std::string_view key, char* out) {
  return Field{key, [this, out](const YAML::Node& node, const std::string& path) {
                 auto text = Scalar(node, path, "must be a string");
                 if (!text) return;
                 if (text->size() != 1) {
                   Error(path, "must be one character");
                   return;
                 }
                 *out = (*text)[0];
               }};
}

void Decoder::EdiPartner(const YAML::Node& node, const std::string& path,
                         connectors::edi::EdiPartnerOptions* o) {
  std::string usage(1, o->usage), line_end = "lf";
  int64_t timeout_ms = absl::ToInt64Milliseconds(o->sftp.timeout);
  int64_t port = o->sftp.port, max_file_bytes = static_cast<int64_t>(o->max_file_bytes);
  Secret passphrase;
  std::vector<std::string> qualifiers;
  Map(node, path,
      {
          Str("id", &o->id),
          Section("isa",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {Str("sender_qualifier", &o->sender_qualifier),
                         Str("sender_id", &o->sender_id),
                         Str("receiver_qualifier", &o->receiver_qualifier),
                         Str("receiver_id", &o->receiver_id), Enum("usage", &usage, {"P", "T"}),
                         Bool("ack_requested", &o->ack_requested)});
                  }),
          Section("gs",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p, {Str("sender", &o->gs_sender), Str("receiver", &o->gs_receiver)});
                  }),
          Section("delimiters",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {Char("element", &o->delimiters.element),
                         Char("component", &o->delimiters.component),
                         Str("segment", &o->delimiters.segment),
                         Enum("line_end", &line_end, {"none", "lf", "crlf"})});
                  }),
          Enum("transport", &o->transport, {"sftp", "local"}),
          Section("sftp",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {Str("host", &o->sftp.host), Int64("port", &port, kPositive),
                         Str("user", &o->sftp.user), Str("key_file", &o->sftp.key_file),
                         Sec("key_passphrase", &passphrase),
                         Str("known_hosts", &o->sftp.known_hosts_file),
                         Str("host_key_sha256", &o->sftp.host_key_sha256),
                         Bool("insecure_accept_any_host_key", &o->sftp.insecure_accept_any_host_key),
                         Int64("timeout_ms", &timeout_ms, kPositive)});
                  }),
          Section("local",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p, {Str("root", &o->local_root)});
                  }),
          Section("folders",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {Str("outbound", &o->outbound_folder), Str("inbound", &o->inbound_folder),
                         Str("archive", &o->archive_folder), Str("error", &o->error_folder)});
                  }),
          Str("file_prefix", &o->file_prefix),
          Millis("poll_interval_ms", &o->poll_interval, kPositive),
          Millis("settle_ms", &o->settle, kNonNegative),
          Millis("batch_window_ms", &o->batch_window, kNonNegative),
          Int("max_batch", &o->max_batch, kPositive),
          Int("max_files_per_poll", &o->max_files_per_poll, kPositive),
          Int64("max_file_bytes", &max_file_bytes, kPositive),
          Section("inventory",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {Str("location", &o->inventory_location),
                         Strings("qualifiers", &qualifiers)});
                  }),
      });
  if (!qualifiers.empty()) o->inventory_qualifiers = std::move(qualifiers);
  o->usage = usage.empty() ? 'P' : usage[0];
  o->line_end = line_end == "crlf" ? "\r\n" : line_end == "lf" ? "\n" : "";
  o->sftp.port = static_cast<int>(port);
  o->sftp.timeout = absl::Milliseconds(timeout_ms);
  o->sftp.key_passphrase = passphrase.value();
  o->sftp.label = absl::StrCat("edi:", o->id);
  o->max_file_bytes = static_cast<uint64_t>(max_file_bytes);
  // What the connector checks (ids, folders, the SFTP host key choice), each at its key.
  for (const std::string& e : connectors::edi::ValidateEdiPartnerOptions(*o, path)) {
    const size_t colon = e.find(": ");
    const std::string key = colon == std::string::npos ? path : e.substr(0, colon);
    if (HasErrorAt(key)) continue;  // already reported by the decoder
    Error(key, colon == std::string::npos ? e : e.substr(colon + 2));
  }
}

void Decoder::Events(const YAML::Node& node, const std::string& path, EventsConfig* events) {
  Map(node, path,
      {
          Section("nats",
                  [&](const YAML::Node& n, const std::string& p) {
                    NatsEventsConfig& nats = events->nats;
                    Map(n, p,
                        {
                            Str("url", &nats.url),
                            Str("stream", &nats.stream),
                            Str("subject_prefix", &nats.subject_prefix),
                            Bool("create_stream", &nats.create_stream),
                            Int64("duplicate_window_s", &nats.duplicate_window_s, kPositive),
                            Sec("token", &nats.token),
                            Int64("timeout_ms", &nats.timeout_ms, kPositive),
                        });
                    const std::string url_path = JoinKey(p, "url");
                    RequireNonEmpty(nats.url.empty(), url_path);
                    if (!nats.url.empty() && !HasErrorAt(url_path) &&
                        !absl::StartsWith(nats.url, "nats://") &&
                        !absl::StartsWith(nats.url, "tls://")) {
                      Error(url_path, "must start with nats:// or tls://");
                    }
                    // Stream names may not hold whitespace, '.', '*', '>', '/' or '\\'.
                    const std::string stream_path = JoinKey(p, "stream");
                    if (!HasErrorAt(stream_path) &&
                        (nats.stream.empty() ||
                         nats.stream.find_first_of(" \t.*>/\\") != std::string::npos)) {
                      Error(stream_path, "must be a name without spaces, '.', '*', '>', '/', '\\'");
                    }
                    const std::string prefix_path = JoinKey(p, "subject_prefix");
                    if (!HasErrorAt(prefix_path) &&
                        (nats.subject_prefix.empty() ||
                         nats.subject_prefix.find_first_of(" \t*>") != std::string::npos ||
                         absl::StartsWith(nats.subject_prefix, ".") ||
                         absl::EndsWith(nats.subject_prefix, "."))) {
                      Error(prefix_path, "must be subject tokens without spaces or wildcards");
                    }
                  }),
          Int("batch", &events->batch, Bounds{1, 10000, "must be between 1 and 10000"}),
          Int64("keep_published_h", &events->keep_published_h, kPositive),
      });
}

void Decoder::Sla(const YAML::Node& node, const std::string& path, SlaConfig* sla) {
  Map(node, path,
      {
          Int64("interval_s", &sla->interval_s, kPositive),
          Section("alert_webhook",
                  [&](const YAML::Node& n, const std::string& p) {
                    Map(n, p,
                        {Str("url", &sla->alert_webhook_url),
                         Enum("format", &sla->alert_webhook_format, {"slack", "json"})});
                    RequireNonEmpty(sla->alert_webhook_url.empty(), JoinKey(p, "url"));
                    CheckHttpUrl(sla->alert_webhook_url, JoinKey(p, "url"));
                  }),
          Section("rules",
                  [&](const YAML::Node& n, const std::string& p) {
                    sla->rules_given = true;
                    List(n, p, [&](const YAML::Node& item, const std::string& ip) {
                      SlaRuleConfig& r = sla->rules.emplace_back();
                      if (RequireMapping(item, ip)) return;
                      Map(item, ip,
                          {
                              Str("name", &r.name),
                              Str("description", &r.description),
                              Enum("subject", &r.subject,
                                   {"orders", "stock_publication", "jobs", "dead_letters",
                                    "segments", "shipments"}),
                              Strings("status", &r.status),
                              EnumList("erp_state", &r.erp_state,
                                       {"none", "pending", "created", "cancel_pending",
                                        "cancelled", "skipped"}),
                              Str("kind", &r.kind),
                              Int64("older_than_s", &r.older_than_s, kNonNegative),
                          });
                      RequireNonEmpty(r.name.empty(), JoinKey(ip, "name"));
                      RequireNonEmpty(r.subject.empty(), JoinKey(ip, "subject"));
                      if (r.subject != "orders" && r.subject != "" &&
                          (!r.erp_state.empty() ||
                           (!r.status.empty() && r.subject != "segments"))) {
                        Error(JoinKey(ip, r.erp_state.empty() ? "status" : "erp_state"),
                              r.erp_state.empty()
                                  ? "only rules with subject \"orders\" or \"segments\" filter "
                                    "on a status"
                                  : "only rules with subject \"orders\" filter on ERP states");
                      }
                      if (!r.kind.empty() && r.subject != "jobs" && r.subject != "dead_letters") {
                        Error(JoinKey(ip, "kind"),
                              "only rules with subject \"jobs\" or \"dead_letters\" filter on a "
                              "job kind");
                      }
                    });
                    std::set<std::string> names;
                    for (size_t i = 0; i < sla->rules.size(); ++i) {
                      const std::string& name = sla->rules[i].name;
                      if (!name.empty() && !names.insert(name).second) {
                        Error(JoinKey(JoinIndex(p, i), "name"),
                              absl::StrCat("duplicate rule name \"", name, "\""));
                      }
                    }
                  }),
      });
}

std::string SyntaxErrorMessage(const YAML::ParserException& e) {
  if (e.mark.is_null()) return absl::StrCat("YAML syntax error: ", e.msg);
  return absl::StrCat("YAML syntax error at line ", e.mark.line + 1, ", column ", e.mark.column + 1,
                      ": ", e.msg);
}

}  // namespace

std::vector<SlaRuleConfig> DefaultSlaRules() {
  return {
      {.name = "paid_not_in_erp",
       .description = "paid but not in the ERP after 5 min",
       .subject = "orders",
       .status = {"processing"},
       .erp_state = {"none", "pending"},
       .older_than_s = 300},
      {.name = "stock_not_published",
       .description = "stock change not published to the store after 2 min",
       .subject = "stock_publication",
       .older_than_s = 120},
      {.name = "dead_letters",
       .description = "dead letters waiting for an operator",
       .subject = "dead_letters",
       .older_than_s = 0},
  };
}

std::ostream& operator<<(std::ostream& os, const Secret& secret) {
  return os << secret.DebugString();
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

const StoreConfig* Config::FindStore(std::string_view id) const {
  for (const StoreConfig& store : stores) {
    if (store.id == id) return &store;
  }
  return nullptr;
}

ConfigResult ParseConfig(std::string_view yaml_text, const EnvLookup& env) {
  ConfigResult result;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    result.errors.push_back({"", SyntaxErrorMessage(e)});
    return result;
  } catch (const std::exception& e) {
    result.errors.push_back({"", absl::StrCat("cannot parse YAML: ", e.what())});
    return result;
  }
  if (documents.size() > 1) {
    result.errors.push_back(
        {"", absl::StrCat("expected one YAML document, found ", documents.size())});
    return result;
  }
  try {
    Decoder decoder(env, &result.errors);
    decoder.Root(documents.empty() ? YAML::Node() : documents.front(), &result.config);
  } catch (const std::exception& e) {
    // Defensive: yaml-cpp node accessors may throw on malformed trees.
    result.errors.push_back({"", absl::StrCat("internal error while reading config: ", e.what())});
  }
  return result;
}

ConfigResult LoadConfigFile(const std::string& path, const EnvLookup& env) {
  auto unreadable = [&](int error_number) {
    ConfigResult result;
    result.errors.push_back(
        {path, absl::StrCat("cannot read config file: ",
                            std::error_code(error_number, std::generic_category()).message())});
    return result;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unreadable(errno);
  std::string text;
  char buffer[16384];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error_number = errno;
      ::close(fd);
      return unreadable(error_number);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  ConfigResult result = ParseConfig(text, env);
  for (ConfigError& error : result.errors) {
    if (error.path.empty()) error.path = path;
  }
  return result;
}

std::string FormatErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& error : errors) {
    if (error.path.empty()) {
      absl::StrAppend(&out, error.message, "\n");
    } else {
      absl::StrAppend(&out, error.path, ": ", error.message, "\n");
    }
  }
  return out;
}

}  // namespace keelson::app
