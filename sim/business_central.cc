#include "sim/business_central.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "core/ids.h"
#include "core/strings.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "sim/delayer.h"

namespace keelson::sim {
namespace {

namespace http = net::http;
using json = nlohmann::json;
using core::AbslSv;

using core::Cat;

constexpr char kEmptyGuid[] = "00000000-0000-0000-0000-000000000000";

std::string Upper(std::string_view s) { return absl::AsciiStrToUpper(AbslSv(s)); }
bool IEquals(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(AbslSv(a), AbslSv(b));
}

std::string NewGuid() {
  std::string h = core::NewCorrelationId();  // 32 lowercase hex digits (time, then random)
  return Cat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-", h.substr(16, 4), "-",
             h.substr(20, 12));
}

bool IsGuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

double Round2(double v) { return std::round(v * 100.0) / 100.0; }

double MoneyToDecimal(const model::Money& m) {
  return static_cast<double>(m.minor) / std::pow(10.0, model::CurrencyExponent(m.currency));
}

std::string Date(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }
std::string DateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string Etag(int64_t version, std::string_view id) {
  // Opaque to clients, as BC's are; changes with every modification.
  return Cat("W/\"JzE5OzE", version, id.substr(0, 8), "Oyc=\"");
}

net::HttpResponse JsonResponse(http::status status, const json& body) {
  return net::Text(status, body.dump(-1, ' ', false, json::error_handler_t::replace),
                   "application/json; odata.metadata=minimal; odata.streaming=true");
}

// BC's error body. Messages end with a correlation id, as BC's do.
net::HttpResponse BcError(http::status status, std::string_view code, std::string_view message) {
  json body = {
      {"error", {{"code", code}, {"message", Cat(message, "  CorrelationId:  ", NewGuid(), ".")}}}};
  return JsonResponse(status, body);
}

net::HttpResponse StringTooLong(std::string_view value, size_t max) {
  return BcError(http::status::bad_request, "Application_StringExceededLength",
                 absl::StrFormat("The length of the string is %d, but it must be less than or "
                                 "equal to %d characters. Value: %s",
                                 value.size(), max, AbslSv(value)));
}

net::HttpResponse QuerySyntax() {
  return BcError(http::status::bad_request, "BadRequest_NotFound",
                 "Bad Request - Error in query syntax.");
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexVal(s[i + 1]) >= 0 && HexVal(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexVal(s[i + 1]) * 16 + HexVal(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  for (absl::string_view kv : absl::StrSplit(AbslSv(body), '&', absl::SkipEmpty())) {
    std::string_view skv = core::StdSv(kv);
    size_t eq = skv.find('=');
    out[FormDecode(skv.substr(0, eq))] =
        eq == std::string_view::npos ? "" : FormDecode(skv.substr(eq + 1));
  }
  return out;
}

// `$filter` as this simulator understands it: `field OP literal` clauses joined by `or`, where
// OP is eq, ne, gt, ge, lt or le and the literal is quoted ('O''Brien', quotes doubled as OData
// escapes them) or bare (a number or a DateTimeOffset such as 2026-03-01T10:00:00Z, as OData v4
// writes them). Anything else is a syntax error.
struct Clause {
  std::string field;
  std::string op = "eq";
  std::string value;
  bool quoted = true;
};
std::optional<std::vector<Clause>> ParseFilter(std::string_view f) {
  std::vector<Clause> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < f.size() && f[i] == ' ') ++i;
  };
  while (true) {
    skip_ws();
    size_t start = i;
    while (i < f.size() && (absl::ascii_isalnum(static_cast<unsigned char>(f[i])) || f[i] == '_')) {
      ++i;
    }
    if (i == start) return std::nullopt;
    Clause c{std::string(f.substr(start, i - start))};
    skip_ws();
    c.op = std::string(f.substr(i, 2));
    if (c.op != "eq" && c.op != "ne" && c.op != "gt" && c.op != "ge" && c.op != "lt" &&
        c.op != "le") {
      return std::nullopt;
    }
    i += 2;
    skip_ws();
    if (i >= f.size()) return std::nullopt;
    if (f[i] != '\'') {
      c.quoted = false;
      size_t v = i;
      while (i < f.size() && f[i] != ' ') ++i;
      c.value = std::string(f.substr(v, i - v));
    } else {
      ++i;
      bool closed = false;
      while (i < f.size()) {
        if (f[i] == '\'') {
          if (i + 1 < f.size() && f[i + 1] == '\'') {
            c.value.push_back('\'');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        c.value.push_back(f[i++]);
      }
      if (!closed) return std::nullopt;
    }
    out.push_back(std::move(c));
    skip_ws();
    if (i == f.size()) return out;
    if (f.substr(i, 2) != "or" || i + 2 >= f.size() || f[i + 2] != ' ') return std::nullopt;
    i += 2;
  }
}

// Whether `actual` satisfies the clause. DateTimeOffset fields compare as instants (a bare
// literal is required there, as in OData v4); others compare as strings, case-insensitively
// (SQL Server's collation, as BC online uses).
std::optional<bool> ClauseMatches(const Clause& c, std::string_view actual, bool datetime) {
  int cmp = 0;
  if (datetime) {
    absl::Time a, v;
    std::string err;
    if (c.quoted || !absl::ParseTime(absl::RFC3339_full, AbslSv(c.value), &v, &err) ||
        !absl::ParseTime(absl::RFC3339_full, AbslSv(actual), &a, &err)) {
      return std::nullopt;
    }
    cmp = a < v ? -1 : (a > v ? 1 : 0);
  } else {
    if (!c.quoted) return std::nullopt;  // only string properties are filtered here
    std::string x = absl::AsciiStrToLower(AbslSv(actual));
    std::string y = absl::AsciiStrToLower(c.value);
    cmp = x < y ? -1 : (x > y ? 1 : 0);
  }
  if (c.op == "eq") return cmp == 0;
  if (c.op == "ne") return cmp != 0;
  if (c.op == "gt") return cmp > 0;
  if (c.op == "ge") return cmp >= 0;
  if (c.op == "lt") return cmp < 0;
  return cmp <= 0;
}

// "salesOrders(5d11...)" -> {"salesOrders", "5d11..."}; "items" -> {"items", nullopt}.
struct Segment {
  std::string name;
  std::optional<std::string> key;
};
std::optional<Segment> ParseSegment(std::string_view s) {
  size_t open = s.find('(');
  if (open == std::string_view::npos) return Segment{std::string(s), std::nullopt};
  if (s.back() != ')') return std::nullopt;
  std::string key(s.substr(open + 1, s.size() - open - 2));
  return Segment{std::string(s.substr(0, open)), key};
}

struct Customer {
  std::string id, number, display_name, type = "Company", address_line1, address_line2, city, state,
                                        country, postal_code, phone_number, email, website,
                                        currency_code, blocked = " ";
  int64_t version = 1;
  absl::Time modified;
};

struct Item {
  std::string id, number, display_name;
  double unit_price = 0;
  bool blocked = false;
  int64_t version = 1;
  absl::Time modified;
  double inventory = 0;  // the Inventory FlowField: sum of the item ledger entries' quantities
};

struct Account {
  std::string id, number, display_name;
};

struct Line {
  std::string id, document_id, line_type, item_id, account_id, object_number, description,
      unit_of_measure_code;
  int sequence = 0;
  double quantity = 0, unit_price = 0, discount_amount = 0, shipped_quantity = 0,
         invoiced_quantity = 0;
  // "Qty. to Ship": initialised to the outstanding quantity (the default "Remainder" setting of
  // Sales & Receivables Setup), set by the client, consumed by posting.
  double ship_quantity = 0;
  int64_t version = 1;
  double Amount() const { return Round2(quantity * unit_price - discount_amount); }
  double Outstanding() const { return quantity - shipped_quantity; }
  // "Qty. to Invoice" follows "Qty. to Ship" plus what was shipped and not yet invoiced.
  double InvoiceQuantity() const { return ship_quantity + shipped_quantity - invoiced_quantity; }
  bool CompletelyShipped() const { return quantity != 0 && shipped_quantity >= quantity; }
};

struct Order {
  std::string id, number, external_document_number, order_date, posting_date,
      requested_delivery_date, customer_id, customer_number, customer_name, ship_to_name,
      ship_to_contact, ship_to_address_line1, ship_to_address_line2, ship_to_city, ship_to_state,
      ship_to_country, ship_to_post_code, currency_code, email, phone_number, salesperson;
  bool partial_shipping = true;
  std::string header_status = "Open";  // Sales Header: Open | Released | Pending Approval | ...
  int64_t version = 1;
  absl::Time modified;
  std::vector<Line> lines;
  int next_sequence = 10000;

  // What the API shows (codeunit 5496 "Graph Mgt - Sales Order Buffer").
  std::string ApiStatus() const {
    if (header_status == "Pending Approval") return "In Review";
    if (header_status == "Released" || header_status == "Pending Prepayment") return "Open";
    return "Draft";
  }
  bool FullyShipped() const {
    for (const Line& l : lines) {
      if (l.line_type != "Comment" && !l.CompletelyShipped()) return false;
    }
    return true;
  }
  bool AnyShipped() const {
    for (const Line& l : lines) {
      if (l.shipped_quantity != 0) return true;
    }
    return false;
  }
  // Everything shipped and invoiced: posting deletes such an order (Sales-Post).
  bool Completed() const {
    bool any = false;
    for (const Line& l : lines) {
      if (l.line_type == "Comment" || l.quantity == 0) continue;
      any = true;
      if (l.shipped_quantity < l.quantity || l.invoiced_quantity < l.quantity) return false;
    }
    return any;
  }
};

// A posted sales shipment (table 110 "Sales Shipment Header" and its lines), as shipAndInvoice
// leaves it: the order's external document number and the units of each line shipped.
struct PostedShipmentLine {
  std::string id, line_type, object_number, description, unit_of_measure_code;
  int sequence = 0;
  double quantity = 0;
};
struct PostedShipment {
  std::string id, number, external_document_number, order_number, customer_number, customer_name,
      posting_date;
  std::vector<PostedShipmentLine> lines;
};

// A string property: where it lives, its BC length and whether it is a Code field.
template <typename T>
struct StrField {
  const char* name;
  std::string T::*member;
  size_t max_len;
  bool code;
};

const std::vector<StrField<Customer>>& CustomerFields() {
  static const auto* f = new std::vector<StrField<Customer>>{
      {"displayName", &Customer::display_name, 100, false},
      {"addressLine1", &Customer::address_line1, 100, false},
      {"addressLine2", &Customer::address_line2, 50, false},
      {"city", &Customer::city, 30, false},
      {"state", &Customer::state, 30, false},
      {"country", &Customer::country, 10, true},
      {"postalCode", &Customer::postal_code, 20, true},
      {"phoneNumber", &Customer::phone_number, 30, false},
      {"email", &Customer::email, 80, false},
      {"website", &Customer::website, 80, false},
      {"currencyCode", &Customer::currency_code, 10, true},
  };
  return *f;
}

const std::vector<StrField<Order>>& OrderFields() {
  static const auto* f = new std::vector<StrField<Order>>{
      {"externalDocumentNumber", &Order::external_document_number, 35, true},
      {"shipToName", &Order::ship_to_name, 100, false},
      {"shipToContact", &Order::ship_to_contact, 100, false},
      {"shipToAddressLine1", &Order::ship_to_address_line1, 100, false},
      {"shipToAddressLine2", &Order::ship_to_address_line2, 50, false},
      {"shipToCity", &Order::ship_to_city, 30, false},
      {"shipToState", &Order::ship_to_state, 30, false},
      {"shipToCountry", &Order::ship_to_country, 10, true},
      {"shipToPostCode", &Order::ship_to_post_code, 20, true},
      {"currencyCode", &Order::currency_code, 10, true},
      {"email", &Order::email, 80, false},
      {"phoneNumber", &Order::phone_number, 30, false},
      {"salesperson", &Order::salesperson, 20, true},
      {"orderDate", &Order::order_date, 10, false},
      {"requestedDeliveryDate", &Order::requested_delivery_date, 10, false},
  };
  return *f;
}

// Sets a string property from JSON, enforcing type and length; nullopt when all is well.
template <typename T>
std::optional<net::HttpResponse> SetString(T& entity, const StrField<T>& field, const json& value) {
  if (!value.is_string()) {
    return BcError(http::status::bad_request, "BadRequest",
                   Cat("Cannot convert the literal '", value.dump(),
                       "' to the expected "
                       "type 'Edm.String' for property '",
                       field.name, "'."));
  }
  std::string v = value.get<std::string>();
  if (v.size() > field.max_len) return StringTooLong(v, field.max_len);
  entity.*field.member = field.code ? Upper(v) : v;
  return std::nullopt;
}

net::HttpResponse UnknownProperty(std::string_view name, std::string_view type) {
  return BcError(http::status::bad_request, "BadRequest",
                 Cat("The property '", name, "' does not exist on type 'Microsoft.NAV.", type,
                     "'. Make sure to only use property names that are defined by "
                     "the type or mark the type as open type."));
}

net::HttpResponse ReadOnly(std::string_view name) {
  return BcError(http::status::bad_request, "BadRequest_InvalidOperation",
                 Cat("Control '", name, "' is read-only."));
}

}  // namespace

class BusinessCentralSim::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {
    absl::MutexLock l(&mu_);
    latency_ = options_.latency;
    rng_.seed(options_.seed);
    for (const auto& [number, name] : options_.accounts) {
      accounts_.push_back({NewGuid(), Upper(number), name});
    }
  }

  ~Impl() { Stop(); }

  absl::Status Start() {
    net::Router router;
    const std::string api = "/v2.0/{tenant}/{env}/api/v2.0";
    router.Add(http::verb::post, "/{tenant}/oauth2/v2.0/token",
               [this](net::HttpRequest& req, net::Responder respond) { respond(OnToken(req)); });
    for (http::verb verb :
         {http::verb::get, http::verb::post, http::verb::patch, http::verb::delete_}) {
      for (const char* tail : {"/{s0}", "/{s0}/{s1}", "/{s0}/{s1}/{s2}", "/{s0}/{s1}/{s2}/{s3}"}) {
        router.Add(verb, api + tail, [this](net::HttpRequest& req, net::Responder respond) {
          OnApi(req, std::move(respond));
        });
      }
    }
    AddAdminRoutes(router);
    server_ = std::make_unique<net::HttpServer>(
        net::HttpServerOptions{
            .host = options_.host, .port = options_.port, .threads = options_.threads},
        std::move(router));
    return server_->Start();
  }

  void Stop() {
    if (server_ == nullptr) return;
    server_->Stop();
    // Pending answers hold their connections; release them before the server goes away.
    delayer_.Stop();
    std::deque<Pending> queued;
    {
      absl::MutexLock l(&mu_);
      queued.swap(queue_);
    }
    queued.clear();
    server_.reset();
  }

  uint16_t port() const { return server_ ? server_->port() : 0; }
  std::string origin() const { return Cat("http://", options_.host, ":", port()); }
  std::string base_url() const {
    return Cat(origin(), "/v2.0/", options_.tenant, "/", options_.environment, "/api/v2.0");
  }
  std::string token_url() const {
    return Cat(origin(), "/", options_.tenant, "/oauth2/v2.0/token");
  }
  const Options& options() const { return options_; }

  // ---- accessors ----
  std::string AddItem(std::string_view number, std::string_view name, const model::Money& price) {
    absl::MutexLock l(&mu_);
    std::string n = Upper(number);
    for (Item& it : items_) {
      if (it.number == n) {
        it.display_name = std::string(name);
        it.unit_price = MoneyToDecimal(price);
        ++it.version;
        it.modified = Now();
        return it.id;
      }
    }
    items_.push_back({NewGuid(), n, std::string(name), MoneyToDecimal(price), false, 1, Now()});
    return items_.back().id;
  }
  bool SetItemInventory(std::string_view number, double quantity, bool touch) {
    absl::MutexLock l(&mu_);
    for (Item& it : items_) {
      if (it.number != Upper(number)) continue;
      it.inventory = quantity;
      if (touch) {
        ++it.version;
        it.modified = Now();
      }
      return true;
    }
    return false;
  }
  void SetItemBlocked(std::string_view number, bool blocked) {
    absl::MutexLock l(&mu_);
    for (Item& it : items_) {
      if (it.number == Upper(number)) {
        it.blocked = blocked;
        ++it.version;
      }
    }
  }
  void AddAccount(std::string_view number, std::string_view name) {
    absl::MutexLock l(&mu_);
    accounts_.push_back({NewGuid(), Upper(number), std::string(name)});
  }
  int64_t CountSalesOrders(std::string_view ref) const {
    absl::MutexLock l(&mu_);
    return std::count_if(orders_.begin(), orders_.end(),
                         [&](const Order& o) { return IEquals(o.external_document_number, ref); });
  }
  std::vector<std::pair<std::string, std::string>> SalesOrderReferences() const {
    absl::MutexLock l(&mu_);
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(orders_.size());
    for (const Order& o : orders_) out.emplace_back(o.external_document_number, o.number);
    return out;
  }
  int64_t SalesOrderLineCount(std::string_view ref) const {
    absl::MutexLock l(&mu_);
    const Order* o = FindByRef(ref);
    return o == nullptr ? -1 : static_cast<int64_t>(o->lines.size());
  }
  int64_t CountCustomers(std::string_view email) const {
    absl::MutexLock l(&mu_);
    return std::count_if(customers_.begin(), customers_.end(),
                         [&](const Customer& c) { return IEquals(c.email, email); });
  }
  bool SetOrderStatus(std::string_view ref, std::string_view status) {
    static const char* kStatuses[] = {"Open", "Released", "Pending Approval", "Pending Prepayment"};
    absl::MutexLock l(&mu_);
    Order* o = FindByRef(ref);
    if (o == nullptr) return false;
    for (const char* s : kStatuses) {
      if (IEquals(s, status)) {
        o->header_status = s;
        Touch(*o);
        return true;
      }
    }
    return false;
  }
  bool MarkShipped(std::string_view ref) {
    absl::MutexLock l(&mu_);
    Order* o = FindByRef(ref);
    if (o == nullptr) return false;
    for (Line& line : o->lines) {
      line.shipped_quantity = line.quantity;
      line.ship_quantity = 0;
      ++line.version;
    }
    o->header_status = "Released";
    Touch(*o);
    return true;
  }
  std::optional<json> SalesOrderJson(std::string_view ref) const {
    absl::MutexLock l(&mu_);
    const Order* o = FindByRef(ref);
    if (o == nullptr) return std::nullopt;
    return OrderJson(*o, true);
  }
  std::vector<ShippedLine> ShippedLines(std::string_view ref) const {
    absl::MutexLock l(&mu_);
    const Order* o = FindByRef(ref);
    if (o == nullptr) {
      for (const Order& d : deleted_orders_) {
        if (IEquals(d.external_document_number, ref)) o = &d;
      }
    }
    std::vector<ShippedLine> out;
    if (o == nullptr) return out;
    for (const Line& line : o->lines) {
      out.push_back({line.line_type, line.object_number, line.quantity, line.shipped_quantity,
                     line.ship_quantity, line.invoiced_quantity});
    }
    return out;
  }
  int64_t PostedShipmentCount(std::string_view ref) const {
    absl::MutexLock l(&mu_);
    return std::count_if(shipments_.begin(), shipments_.end(), [&](const PostedShipment& s) {
      return IEquals(s.external_document_number, ref);
    });
  }
  bool SalesOrderDeleted(std::string_view ref) const {
    absl::MutexLock l(&mu_);
    if (FindByRef(ref) != nullptr) return false;
    for (const Order& d : deleted_orders_) {
      if (IEquals(d.external_document_number, ref)) return true;
    }
    return false;
  }
  void DropResponseAfterNextShipAndInvoice() {
    absl::MutexLock l(&mu_);
    drop_next_ship_ = true;
  }
  void DropResponseAfterNextOrderCreate() {
    absl::MutexLock l(&mu_);
    drop_next_order_create_ = true;
  }
  void FailNextRequests(int n, int status) {
    absl::MutexLock l(&mu_);
    fail_next_ = n;
    fail_status_ = status;
  }
  void SetLatency(absl::Duration d, absl::Duration jitter) {
    absl::MutexLock l(&mu_);
    latency_ = d;
    latency_jitter_ = jitter;
  }
  void SetOutage(bool on, OutageMode mode) {
    absl::MutexLock l(&mu_);
    outage_ = on;
    outage_mode_ = mode;
  }
  void Throttle429Next(int n) {
    absl::MutexLock l(&mu_);
    storm_next_ = n;
  }
  void Throttle429For(absl::Duration d) {
    absl::MutexLock l(&mu_);
    storm_until_ = Now() + d;
  }
  void SetResetProbability(double p) {
    absl::MutexLock l(&mu_);
    reset_probability_ = p;
  }
  void SetDropAfterCommitProbability(double p) {
    absl::MutexLock l(&mu_);
    drop_probability_ = p;
  }
  void SeedFaults(uint64_t seed) {
    absl::MutexLock l(&mu_);
    rng_.seed(seed);
  }
  void ClearFaults() {
    absl::MutexLock l(&mu_);
    outage_ = false;
    storm_next_ = 0;
    storm_until_ = absl::InfinitePast();
    reset_probability_ = 0;
    drop_probability_ = 0;
    fail_next_ = 0;
    drop_next_order_create_ = false;
    drop_next_ship_ = false;
    latency_ = options_.latency;
    latency_jitter_ = absl::ZeroDuration();
  }
  void RevokeTokens() {
    absl::MutexLock l(&mu_);
    tokens_.clear();
  }
  Stats stats() const {
    absl::MutexLock l(&mu_);
    return stats_;
  }

 private:
  struct Pending {
    std::shared_ptr<net::HttpRequest> req;
    net::Responder respond;
  };

  absl::Time Now() const { return options_.clock->Now(); }

  // ---- token endpoint (Microsoft identity platform, client credentials) ----
  net::HttpResponse OnToken(net::HttpRequest& req) {
    auto aad_error = [](http::status status, std::string_view error, int code,
                        std::string_view description) {
      json body = {{"error", error},
                   {"error_description", Cat("AADSTS", code, ": ", description)},
                   {"error_codes", json::array({code})},
                   {"trace_id", NewGuid()},
                   {"correlation_id", NewGuid()}};
      return JsonResponse(status, body);
    };
    {
      absl::MutexLock l(&mu_);
      ++stats_.token_requests;
    }
    if (req.params["tenant"] != options_.tenant) {
      return aad_error(http::status::bad_request, "invalid_request", 90002,
                       Cat("Tenant '", req.params["tenant"], "' not found."));
    }
    std::map<std::string, std::string> form = ParseForm(req.raw.body());
    if (form["grant_type"] != "client_credentials") {
      return aad_error(http::status::bad_request, "unsupported_grant_type", 70003,
                       "The app requested an unsupported grant type.");
    }
    if (form["client_id"] != options_.client_id) {
      return aad_error(http::status::bad_request, "unauthorized_client", 700016,
                       "Application was not found in the directory.");
    }
    if (form["client_secret"].empty()) {
      return aad_error(http::status::unauthorized, "invalid_client", 7000218,
                       "The request body must contain the following parameter: "
                       "'client_assertion' or 'client_secret'.");
    }
    if (form["client_secret"] != options_.client_secret) {
      return aad_error(http::status::unauthorized, "invalid_client", 7000215,
                       "Invalid client secret provided.");
    }
    if (form["scope"].empty()) {
      return aad_error(http::status::bad_request, "invalid_request", 900144,
                       "The request body must contain the following parameter: 'scope'.");
    }
    if (form["scope"] != options_.scope) {
      return aad_error(http::status::bad_request, "invalid_scope", 1002012,
                       "The provided value for scope is not valid.");
    }
    std::string token =
        Cat("eyJ0eXAiOiJKV1Qi.", core::NewCorrelationId(), core::NewCorrelationId());
    const int64_t lifetime = absl::ToInt64Seconds(options_.token_lifetime);
    {
      absl::MutexLock l(&mu_);
      tokens_[token] = Now() + options_.token_lifetime;
      ++stats_.tokens_issued;
    }
    return JsonResponse(http::status::ok, {{"token_type", "Bearer"},
                                           {"expires_in", lifetime},
                                           {"ext_expires_in", lifetime},
                                           {"access_token", token}});
  }

  bool AuthorizedLocked(const net::HttpRequest& req) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::string_view h = req.Header("Authorization");
    if (h.size() < 8 || !IEquals(h.substr(0, 7), "Bearer ")) return false;
    auto it = tokens_.find(std::string(h.substr(7)));
    return it != tokens_.end() && Now() < it->second;
  }

  // ---- the API: gatekeeping ----
  void OnApi(net::HttpRequest& req, net::Responder respond) {
    auto r = std::make_shared<net::HttpRequest>(std::move(req));
    std::optional<net::HttpResponse> early;
    bool close = false;
    {
      absl::MutexLock l(&mu_);
      ++stats_.requests;
      if (outage_ && outage_mode_ == OutageMode::kClose) {
        ++stats_.outage_closed;
        close = true;
      } else if (outage_) {
        ++stats_.answered_503;
        ++stats_.outage_503;
        early = BcError(http::status::service_unavailable, "ServiceUnavailable",
                        "The service is temporarily unavailable because of maintenance. "
                        "Please try again later.");
        early->set(http::field::retry_after, RetryAfterSeconds());
      } else if (reset_probability_ > 0 && ChanceLocked(reset_probability_)) {
        ++stats_.resets;
        close = true;
      } else if (fail_next_ > 0) {
        --fail_next_;
        early = InjectedFailureLocked();
      } else if (storm_next_ > 0 || Now() < storm_until_) {
        if (storm_next_ > 0) --storm_next_;
        ++stats_.answered_429;
        ++stats_.storm_429;
        early = BcError(http::status::too_many_requests, "Application_TooManyRequests",
                        "Too many requests reached. Please try again later.");
      } else if (!AuthorizedLocked(*r)) {
        ++stats_.answered_401;
        early = BcError(http::status::unauthorized, "Authentication_InvalidCredentials",
                        "The server has rejected the client credentials.");
        early->set(http::field::www_authenticate,
                   Cat("Bearer authorization_uri=\"https://login.microsoftonline.com/",
                       options_.tenant, "/oauth2/authorize\", error=\"invalid_token\""));
      } else {
        const absl::Time now = Now();
        while (!window_.empty() && window_.front() <= now - options_.window) window_.pop_front();
        if (static_cast<int64_t>(window_.size()) >= options_.requests_per_window) {
          ++stats_.answered_429;
          early = BcError(
              http::status::too_many_requests, "TooManyRequests",
              absl::StrFormat("Too many requests: the limit of %d requests in %d "
                              "seconds was reached.",
                              options_.requests_per_window, absl::ToInt64Seconds(options_.window)));
        } else if (in_flight_ >= options_.max_concurrent) {
          if (static_cast<int>(queue_.size()) < options_.max_queue) {
            window_.push_back(now);
            queue_.push_back({r, std::move(respond)});
            return;
          }
          ++stats_.answered_429;
          early = BcError(http::status::too_many_requests, "TooManyRequests",
                          absl::StrFormat("Too many concurrent requests: %d are being processed "
                                          "and %d are queued.",
                                          in_flight_, queue_.size()));
        } else {
          window_.push_back(now);
          ++in_flight_;
          stats_.max_in_flight = std::max(stats_.max_in_flight, in_flight_);
        }
      }
    }
    if (close) {
      // Nothing processed, nothing answered: letting the responder go closes the connection.
      net::Responder gone = std::move(respond);
      return;
    }
    if (early) {
      respond(std::move(*early));
      return;
    }
    Run(std::move(r), std::move(respond));
  }

  net::HttpResponse InjectedFailureLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (fail_status_ == 503) ++stats_.answered_503;
    if (fail_status_ == 429) ++stats_.answered_429;
    net::HttpResponse res =
        fail_status_ == 429
            ? BcError(http::status::too_many_requests, "TooManyRequests", "Too many requests.")
            : BcError(static_cast<http::status>(fail_status_), "Internal_ServerError",
                      "The service is temporarily unavailable.");
    if (fail_status_ == 503) res.set(http::field::retry_after, RetryAfterSeconds());
    return res;
  }

  std::string RetryAfterSeconds() const {
    return Cat(std::max<int64_t>(1, absl::ToInt64Seconds(options_.retry_after)));
  }

  bool ChanceLocked(double p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
  }

  void Run(std::shared_ptr<net::HttpRequest> r, net::Responder respond) {
    bool drop = false;
    net::HttpResponse res;
    absl::Duration latency;
    {
      absl::MutexLock l(&mu_);
      ++stats_.admitted;
      try {
        res = DispatchLocked(*r, &drop);
      } catch (const std::exception&) {
        // A body whose fields have unexpected JSON types.
        res = BcError(http::status::bad_request, "BadRequest", "Invalid Request Body");
      }
      latency = latency_;
      if (latency_jitter_ > absl::ZeroDuration()) {
        latency += absl::Nanoseconds(std::uniform_int_distribution<int64_t>(
            0, absl::ToInt64Nanoseconds(latency_jitter_) - 1)(rng_));
      }
      if (latency > absl::ZeroDuration()) ++stats_.delayed;
    }
    if (latency > absl::ZeroDuration()) {
      auto shared_res = std::make_shared<net::HttpResponse>(std::move(res));
      auto shared_respond = std::make_shared<net::Responder>(std::move(respond));
      delayer_.After(latency, [this, shared_res, shared_respond, drop]() mutable {
        Complete(std::move(*shared_res), std::move(*shared_respond), drop);
      });
      return;
    }
    Complete(std::move(res), std::move(respond), drop);
  }

  void Complete(net::HttpResponse res, net::Responder respond, bool drop) {
    std::optional<Pending> next;
    {
      absl::MutexLock l(&mu_);
      --in_flight_;
      if (drop) ++stats_.dropped;
      if (!queue_.empty()) {
        next = std::move(queue_.front());
        queue_.pop_front();
        ++in_flight_;
        stats_.max_in_flight = std::max(stats_.max_in_flight, in_flight_);
      }
    }
    if (drop) {
      // The order is committed; the client gets no answer: letting the responder go closes
      // the connection (the server holds the session only through it).
      net::Responder gone = std::move(respond);
    } else {
      respond(std::move(res));
    }
    if (next) Run(std::move(next->req), std::move(next->respond));
  }

  // ---- the API: resources ----
  net::HttpResponse DispatchLocked(net::HttpRequest& req, bool* drop)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (req.params["tenant"] != options_.tenant || req.params["env"] != options_.environment) {
      return BcError(
          http::status::not_found, "BadRequest_NotFound",
          Cat("No HTTP resource was found that matches the request URI '", req.path, "'."));
    }
    std::vector<Segment> segs;
    for (const char* name : {"s0", "s1", "s2", "s3"}) {
      auto it = req.params.find(name);
      if (it == req.params.end()) break;
      std::optional<Segment> seg = ParseSegment(it->second);
      if (!seg) return QuerySyntax();
      segs.push_back(std::move(*seg));
    }
    const http::verb method = req.raw.method();
    if (segs[0].name != "companies") return NoSegment(segs[0].name);
    if (!segs[0].key) {
      if (segs.size() == 1 && method == http::verb::get) {
        return JsonResponse(http::status::ok,
                            {{"@odata.context", base_url() + "/$metadata#companies"},
                             {"value", json::array({CompanyJson()})}});
      }
      return MethodNotAllowed(method, "companies");
    }
    if (!IEquals(*segs[0].key, options_.company_id)) {
      return BcError(http::status::not_found, "BadRequest_ResourceNotFound",
                     Cat("Resource not found for the segment 'companies'."));
    }
    if (segs.size() == 1) {
      if (method != http::verb::get) return MethodNotAllowed(method, "companies");
      return JsonResponse(http::status::ok, CompanyJson());
    }
    for (size_t i = 1; i < segs.size(); ++i) {
      if (segs[i].key && !IsGuid(*segs[i].key)) return QuerySyntax();
    }
    const Segment& entity = segs[1];
    if (entity.name == "customers" && segs.size() == 2) return Customers(req, method, entity);
    if (entity.name == "items" && segs.size() == 2) return Items(req, method, entity);
    if (entity.name == "salesOrders") return SalesOrders(req, method, segs, drop);
    if (entity.name == "salesShipments") return SalesShipments(req, method, segs);
    return NoSegment(segs.back().name);
  }

  static net::HttpResponse NoSegment(std::string_view name) {
    return BcError(http::status::not_found, "BadRequest_ResourceNotFound",
                   Cat("Resource not found for the segment '", name, "'."));
  }
  static net::HttpResponse MethodNotAllowed(http::verb method, std::string_view what) {
    return BcError(http::status::method_not_allowed, "BadRequest_MethodNotAllowed",
                   Cat("'", std::string(http::to_string(method)), "' requests for '", what,
                       "' are not allowed within Microsoft Dynamics 365 Business "
                       "Central OData web services."));
  }
  static net::HttpResponse NotExist(std::string_view table, std::string_view field,
                                    std::string_view value, http::status status) {
    return BcError(status, "Internal_RecordNotFound",
                   Cat("The ", table,
                       " does not exist. Identification fields and "
                       "values: ",
                       field, "='", value, "'"));
  }

  json CompanyJson() const {
    return {{"id", options_.company_id},
            {"systemVersion", "24.0.16410.18056"},
            {"name", options_.company_name},
            {"displayName", options_.company_name},
            {"businessProfileId", ""}};
  }

  std::string Context(std::string_view set) const {
    return Cat(base_url(), "/$metadata#companies(", options_.company_id, ")/", set);
  }

  // Applies $filter with `getter(entity, field)` -> value or nullopt for an unknown field.
  template <typename T, typename Getter>
  std::optional<std::vector<const T*>> Filter(const net::HttpRequest& req,
                                              const std::vector<T>& all, Getter getter) const {
    std::vector<const T*> out;
    std::string filter = req.QueryParam("$filter");
    std::optional<std::vector<Clause>> clauses;
    if (!filter.empty()) {
      clauses = ParseFilter(filter);
      if (!clauses) return std::nullopt;
      for (const Clause& c : *clauses) {
        if (!getter(T{}, c.field)) return std::nullopt;
      }
    }
    for (const T& e : all) {
      bool match = !clauses;
      if (clauses) {
        for (const Clause& c : *clauses) {
          std::optional<std::string> v = getter(e, c.field);
          std::optional<bool> m =
              ClauseMatches(c, v.value_or(""), c.field == "lastModifiedDateTime");
          if (!m) return std::nullopt;
          if (*m) match = true;
        }
      }
      if (match) out.push_back(&e);
    }
    int64_t top = 0;
    if (absl::SimpleAtoi(req.QueryParam("$top"), &top) && top >= 0 &&
        static_cast<size_t>(top) < out.size()) {
      out.resize(top);
    }
    return out;
  }

  // -- customers --
  json CustomerJson(const Customer& c) const {
    return {{"@odata.etag", Etag(c.version, c.id)},
            {"id", c.id},
            {"number", c.number},
            {"displayName", c.display_name},
            {"type", c.type},
            {"addressLine1", c.address_line1},
            {"addressLine2", c.address_line2},
            {"city", c.city},
            {"state", c.state},
            {"country", c.country},
            {"postalCode", c.postal_code},
            {"phoneNumber", c.phone_number},
            {"email", c.email},
            {"website", c.website},
            {"salespersonCode", ""},
            {"balanceDue", 0},
            {"creditLimit", 0},
            {"taxLiable", false},
            {"taxAreaId", kEmptyGuid},
            {"taxAreaDisplayName", ""},
            {"taxRegistrationNumber", ""},
            {"currencyId", kEmptyGuid},
            {"currencyCode", c.currency_code},
            {"paymentTermsId", kEmptyGuid},
            {"shipmentMethodId", kEmptyGuid},
            {"paymentMethodId", kEmptyGuid},
            {"blocked", c.blocked},
            {"lastModifiedDateTime", DateTime(c.modified)}};
  }

  net::HttpResponse Customers(net::HttpRequest& req, http::verb method, const Segment& seg)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (seg.key) {
      if (method != http::verb::get) return MethodNotAllowed(method, "customers");
      for (const Customer& c : customers_) {
        if (IEquals(c.id, *seg.key)) {
          json j = CustomerJson(c);
          j["@odata.context"] = Context("customers/$entity");
          return JsonResponse(http::status::ok, j);
        }
      }
      return NotExist("Customer", "Id", *seg.key, http::status::not_found);
    }
    if (method == http::verb::get) {
      auto found = Filter(req, customers_,
                          [](const Customer& c, std::string_view f) -> std::optional<std::string> {
                            if (f == "email") return c.email;
                            if (f == "number") return c.number;
                            if (f == "displayName") return c.display_name;
                            if (f == "id") return c.id;
                            return std::nullopt;
                          });
      if (!found) return QuerySyntax();
      json value = json::array();
      for (const Customer* c : *found) value.push_back(CustomerJson(*c));
      return JsonResponse(http::status::ok,
                          {{"@odata.context", Context("customers")}, {"value", value}});
    }
    if (method != http::verb::post) return MethodNotAllowed(method, "customers");
    json body = json::parse(req.raw.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return BcError(http::status::bad_request, "BadRequest", "Invalid Request Body");
    }
    Customer c;
    for (const auto& [key, value] : body.items()) {
      if (absl::StartsWith(key, "@odata.")) continue;
      auto f = std::find_if(CustomerFields().begin(), CustomerFields().end(),
                            [&](const StrField<Customer>& sf) { return key == sf.name; });
      if (f != CustomerFields().end()) {
        if (auto err = SetString(c, *f, value)) return *err;
      } else if (key == "type") {
        if (value != "Company" && value != "Person") {
          return BcError(http::status::bad_request, "BadRequest",
                         Cat("The value '", value.dump(), "' is not valid for type."));
        }
        c.type = value.get<std::string>();
      } else if (key == "number") {
        return BcError(http::status::bad_request, "Application_DialogException",
                       "You may not enter numbers manually. If you want to enter numbers "
                       "manually, please activate Manual Nos. in No. Series CUST.");
      } else if (key == "id" || key == "balanceDue" || key == "lastModifiedDateTime") {
        return ReadOnly(key);
      } else if (key == "blocked" || key == "taxLiable" || key == "creditLimit" ||
                 key == "salespersonCode" || key == "taxRegistrationNumber") {
        continue;  // accepted, not modelled
      } else {
        return UnknownProperty(key, "customer");
      }
    }
    c.id = NewGuid();
    c.number = absl::StrFormat("C%05d", 10 * (++customer_seq_));
    c.modified = Now();
    customers_.push_back(c);
    ++stats_.customers_created;
    json j = CustomerJson(c);
    j["@odata.context"] = Context("customers/$entity");
    return JsonResponse(http::status::created, j);
  }

  // -- items --
  json ItemJson(const Item& it) const {
    return {{"@odata.etag", Etag(it.version, it.id)},
            {"id", it.id},
            {"number", it.number},
            {"displayName", it.display_name},
            {"type", "Inventory"},
            {"itemCategoryId", kEmptyGuid},
            {"itemCategoryCode", ""},
            {"blocked", it.blocked},
            {"gtin", ""},
            {"inventory", it.inventory},
            {"unitPrice", it.unit_price},
            {"priceIncludesTax", false},
            {"unitCost", 0},
            {"taxGroupId", kEmptyGuid},
            {"taxGroupCode", ""},
            {"baseUnitOfMeasureId", kEmptyGuid},
            {"baseUnitOfMeasureCode", "PCS"},
            {"generalProductPostingGroupId", kEmptyGuid},
            {"generalProductPostingGroupCode", "RETAIL"},
            {"inventoryPostingGroupId", kEmptyGuid},
            {"inventoryPostingGroupCode", "RESALE"},
            {"lastModifiedDateTime", DateTime(it.modified)}};
  }

  net::HttpResponse Items(net::HttpRequest& req, http::verb method, const Segment& seg)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (method != http::verb::get) return MethodNotAllowed(method, "items");
    if (seg.key) {
      for (const Item& it : items_) {
        if (IEquals(it.id, *seg.key)) return JsonResponse(http::status::ok, ItemJson(it));
      }
      return NotExist("Item", "Id", *seg.key, http::status::not_found);
    }
    auto found =
        Filter(req, items_, [](const Item& it, std::string_view f) -> std::optional<std::string> {
          if (f == "number") return it.number;
          if (f == "displayName") return it.display_name;
          if (f == "id") return it.id;
          if (f == "lastModifiedDateTime") return DateTime(it.modified);
          return std::nullopt;
        });
    if (!found) return QuerySyntax();
    // Server-driven paging as BC does it: in primary key order ("No."), at most
    // `Prefer: odata.maxpagesize` entities (20,000 without it), and an @odata.nextLink that
    // carries a key-based $skiptoken (rows inserted or changed meanwhile neither repeat nor get
    // skipped on the pages still to come).
    std::vector<const Item*> rows = *found;
    std::sort(rows.begin(), rows.end(),
              [](const Item* a, const Item* b) { return a->number < b->number; });
    const std::string skiptoken = req.QueryParam("$skiptoken");
    if (!skiptoken.empty()) {
      std::erase_if(rows, [&](const Item* it) { return it->number <= Upper(skiptoken); });
    }
    int64_t skip = 0;
    if (absl::SimpleAtoi(req.QueryParam("$skip"), &skip) && skip > 0) {
      rows.erase(rows.begin(), rows.begin() + std::min<size_t>(skip, rows.size()));
    }
    size_t page_size = 20000;
    bool preference_applied = false;
    std::string_view prefer = req.Header("Prefer");
    if (size_t at = prefer.find("odata.maxpagesize="); at != std::string_view::npos) {
      int64_t n = 0;
      std::string_view digits = prefer.substr(at + 18);
      digits = digits.substr(0, digits.find_first_not_of("0123456789"));
      if (absl::SimpleAtoi(AbslSv(digits), &n) && n > 0) {
        page_size = static_cast<size_t>(n);
        preference_applied = true;
      }
    }
    json body = {{"@odata.context", Context("items")}};
    if (rows.size() > page_size) {
      rows.resize(page_size);
      std::string query = Cat("$skiptoken=", net::UrlEncode(rows.back()->number));
      if (std::string filter = req.QueryParam("$filter"); !filter.empty()) {
        query = Cat("$filter=", net::UrlEncode(filter), "&", query);
      }
      body["@odata.nextLink"] =
          Cat(base_url(), "/companies(", options_.company_id, ")/items?", query);
    }
    json value = json::array();
    for (const Item* it : rows) value.push_back(ItemJson(*it));
    body["value"] = std::move(value);
    net::HttpResponse res = JsonResponse(http::status::ok, body);
    if (preference_applied) {
      res.set("Preference-Applied", Cat("odata.maxpagesize=", page_size));
    }
    return res;
  }

  // -- sales orders --
  json LineJson(const Line& l) const {
    const double amount = l.Amount();
    return {{"@odata.etag", Etag(l.version, l.id)},
            {"id", l.id},
            {"documentId", l.document_id},
            {"sequence", l.sequence},
            {"itemId", l.item_id.empty() ? kEmptyGuid : l.item_id},
            {"accountId", l.account_id.empty() ? kEmptyGuid : l.account_id},
            {"lineType", l.line_type},
            {"lineObjectNumber", l.object_number},
            {"description", l.description},
            {"unitOfMeasureId", kEmptyGuid},
            {"unitOfMeasureCode", l.unit_of_measure_code},
            {"quantity", l.quantity},
            {"unitPrice", l.unit_price},
            {"discountAmount", l.discount_amount},
            {"discountPercent", 0},
            {"discountAppliedBeforeTax", true},
            {"amountExcludingTax", amount},
            {"taxCode", ""},
            {"taxPercent", 0},
            {"totalTaxAmount", 0},
            {"amountIncludingTax", amount},
            {"invoiceDiscountAllocation", 0},
            {"netAmount", amount},
            {"netTaxAmount", 0},
            {"netAmountIncludingTax", amount},
            {"shipmentDate", ""},
            {"shippedQuantity", l.shipped_quantity},
            {"invoicedQuantity", l.invoiced_quantity},
            {"invoiceQuantity", l.InvoiceQuantity()},
            {"shipQuantity", l.ship_quantity},
            {"itemVariantId", kEmptyGuid}};
  }

  json OrderJson(const Order& o, bool with_lines) const {
    const Customer* c = FindCustomer(o.customer_id);
    double total = 0;
    for (const Line& l : o.lines) total += l.Amount();
    total = Round2(total);
    json j = {{"@odata.etag", Etag(o.version, o.id)},
              {"id", o.id},
              {"number", o.number},
              {"externalDocumentNumber", o.external_document_number},
              {"orderDate", o.order_date},
              {"postingDate", o.posting_date},
              {"customerId", o.customer_id},
              {"customerNumber", o.customer_number},
              {"customerName", o.customer_name},
              {"billToName", o.customer_name},
              {"billToCustomerId", o.customer_id},
              {"billToCustomerNumber", o.customer_number},
              {"shipToName", o.ship_to_name},
              {"shipToContact", o.ship_to_contact},
              {"sellToAddressLine1", c ? c->address_line1 : ""},
              {"sellToAddressLine2", c ? c->address_line2 : ""},
              {"sellToCity", c ? c->city : ""},
              {"sellToCountry", c ? c->country : ""},
              {"sellToState", c ? c->state : ""},
              {"sellToPostCode", c ? c->postal_code : ""},
              {"billToAddressLine1", c ? c->address_line1 : ""},
              {"billToAddressLine2", c ? c->address_line2 : ""},
              {"billToCity", c ? c->city : ""},
              {"billToCountry", c ? c->country : ""},
              {"billToState", c ? c->state : ""},
              {"billToPostCode", c ? c->postal_code : ""},
              {"shipToAddressLine1", o.ship_to_address_line1},
              {"shipToAddressLine2", o.ship_to_address_line2},
              {"shipToCity", o.ship_to_city},
              {"shipToCountry", o.ship_to_country},
              {"shipToState", o.ship_to_state},
              {"shipToPostCode", o.ship_to_post_code},
              {"shortcutDimension1Code", ""},
              {"shortcutDimension2Code", ""},
              {"currencyId", kEmptyGuid},
              {"currencyCode", o.currency_code},
              {"pricesIncludeTax", false},
              {"paymentTermsId", kEmptyGuid},
              {"shipmentMethodId", kEmptyGuid},
              {"salesperson", o.salesperson},
              {"partialShipping", o.partial_shipping},
              {"requestedDeliveryDate",
               o.requested_delivery_date.empty() ? "0001-01-01" : o.requested_delivery_date},
              {"discountAmount", 0},
              {"discountAppliedBeforeTax", true},
              {"totalAmountExcludingTax", total},
              {"totalTaxAmount", 0},
              {"totalAmountIncludingTax", total},
              {"fullyShipped", o.FullyShipped()},
              {"status", o.ApiStatus()},
              {"lastModifiedDateTime", DateTime(o.modified)},
              {"phoneNumber", o.phone_number},
              {"email", o.email}};
    if (with_lines) {
      json lines = json::array();
      for (const Line& l : o.lines) lines.push_back(LineJson(l));
      j["salesOrderLines"] = lines;
    }
    return j;
  }

  // nullopt: no $expand; true: salesOrderLines; an error for anything else.
  static std::variant<bool, net::HttpResponse> ExpandLines(const net::HttpRequest& req) {
    std::string expand = req.QueryParam("$expand");
    if (expand.empty()) return false;
    if (expand == "salesOrderLines") return true;
    return BcError(
        http::status::bad_request, "BadRequest",
        Cat("Could not find a property named '", expand, "' on type 'Microsoft.NAV.salesOrder'."));
  }

  std::optional<net::HttpResponse> CheckIfMatch(const net::HttpRequest& req, int64_t version,
                                                std::string_view id) const {
    std::string_view if_match = req.Header("If-Match");
    if (if_match.empty()) {
      return BcError(http::status::bad_request, "BadRequest_InvalidToken",
                     "Could not validate the client concurrency token required by the service. "
                     "Please provide a valid token in the client request.");
    }
    if (if_match != "*" && if_match != Etag(version, id)) {
      return BcError(http::status::precondition_failed, "Request_EntityChanged",
                     "Another user has already changed the record.");
    }
    return std::nullopt;
  }

  static std::optional<net::HttpResponse> StatusMustBeOpen(const Order& o) {
    if (o.header_status == "Open") return std::nullopt;
    return BcError(http::status::bad_request, "Application_FieldValidationException",
                   Cat("Status must be equal to 'Open'  in Sales Header: Document "
                       "Type=Order, No.=",
                       o.number, ". Current value is '", o.header_status, "'."));
  }

  net::HttpResponse SalesOrders(net::HttpRequest& req, http::verb method,
                                const std::vector<Segment>& segs, bool* drop)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto expand = ExpandLines(req);
    if (auto* err = std::get_if<net::HttpResponse>(&expand)) return *err;
    const bool with_lines = std::get<bool>(expand);
    const Segment& seg = segs[1];
    if (!seg.key) {
      if (segs.size() != 2) return NoSegment(segs.back().name);
      if (method == http::verb::get) {
        auto found = Filter(req, orders_,
                            [](const Order& o, std::string_view f) -> std::optional<std::string> {
                              if (f == "externalDocumentNumber") return o.external_document_number;
                              if (f == "number") return o.number;
                              if (f == "customerNumber") return o.customer_number;
                              if (f == "status") return o.ApiStatus();
                              if (f == "id") return o.id;
                              return std::nullopt;
                            });
        if (!found) return QuerySyntax();
        json value = json::array();
        for (const Order* o : *found) value.push_back(OrderJson(*o, with_lines));
        return JsonResponse(http::status::ok,
                            {{"@odata.context", Context("salesOrders")}, {"value", value}});
      }
      if (method == http::verb::post) return CreateOrder(req, with_lines, drop);
      return MethodNotAllowed(method, "salesOrders");
    }
    Order* o = FindOrder(*seg.key);
    if (o == nullptr) {
      return NotExist("Sales Order Entity Buffer", "Id", *seg.key, http::status::not_found);
    }
    if (segs.size() == 2) {
      if (method == http::verb::get) {
        json j = OrderJson(*o, with_lines);
        j["@odata.context"] = Context("salesOrders/$entity");
        return JsonResponse(http::status::ok, j);
      }
      if (method == http::verb::patch) return PatchOrder(req, *o);
      if (method == http::verb::delete_) return DeleteOrder(req, *o);
      return MethodNotAllowed(method, "salesOrders");
    }
    if (segs[2].name == "Microsoft.NAV.shipAndInvoice" && !segs[2].key && segs.size() == 3) {
      if (method != http::verb::post) return MethodNotAllowed(method, "shipAndInvoice");
      return ShipAndInvoice(*o, drop);
    }
    if (segs[2].name != "salesOrderLines" || segs.size() != 3) return NoSegment(segs.back().name);
    if (!segs[2].key) {
      if (method != http::verb::get) return MethodNotAllowed(method, "salesOrderLines");
      json value = json::array();
      for (const Line& l : o->lines) value.push_back(LineJson(l));
      return JsonResponse(http::status::ok,
                          {{"@odata.context", Context("salesOrderLines")}, {"value", value}});
    }
    auto line = std::find_if(o->lines.begin(), o->lines.end(),
                             [&](const Line& l) { return IEquals(l.id, *segs[2].key); });
    if (line == o->lines.end()) {
      return NotExist("Sales Invoice Line Aggregate", "Id", *segs[2].key, http::status::not_found);
    }
    if (method == http::verb::get) return JsonResponse(http::status::ok, LineJson(*line));
    if (method == http::verb::patch) return PatchLine(req, *o, *line);
    return MethodNotAllowed(method, "salesOrderLines");
  }

  // Validates one line of a deep insert; fills `out`.
  std::optional<net::HttpResponse> BuildLine(const json& in, Line* out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!in.is_object()) {
      return BcError(http::status::bad_request, "BadRequest", "Invalid Request Body");
    }
    std::string object_number;
    for (const auto& [key, value] : in.items()) {
      if (absl::StartsWith(key, "@odata.")) continue;
      if (key == "lineType" || key == "lineObjectNumber" || key == "description" ||
          key == "unitOfMeasureCode" || key == "itemId" || key == "accountId") {
        if (!value.is_string()) {
          return BcError(http::status::bad_request, "BadRequest",
                         Cat("Cannot convert the literal '", value.dump(),
                             "' to the expected type 'Edm.String'."));
        }
        std::string v = value.get<std::string>();
        if (key == "lineType") out->line_type = v;
        if (key == "lineObjectNumber") {
          if (v.size() > 20) return StringTooLong(v, 20);
          object_number = Upper(v);
        }
        if (key == "description") {
          if (v.size() > 100) return StringTooLong(v, 100);
          out->description = v;
        }
        if (key == "unitOfMeasureCode") out->unit_of_measure_code = Upper(v);
        if (key == "itemId") out->item_id = v;
        if (key == "accountId") out->account_id = v;
      } else if (key == "quantity" || key == "unitPrice" || key == "discountAmount") {
        if (!value.is_number()) {
          return BcError(http::status::bad_request, "BadRequest",
                         Cat("Cannot convert the literal '", value.dump(),
                             "' to the expected type 'Edm.Decimal'."));
        }
        double v = value.get<double>();
        if (key == "quantity") out->quantity = v;
        if (key == "unitPrice") out->unit_price = v;
        if (key == "discountAmount") out->discount_amount = v;
      } else if (key == "sequence") {
        continue;
      } else if (key == "id" || key == "documentId" || key == "amountExcludingTax" ||
                 key == "amountIncludingTax" || key == "shippedQuantity") {
        return ReadOnly(key);
      } else {
        return UnknownProperty(key, "salesOrderLine");
      }
    }
    const bool has_price = in.contains("unitPrice");
    if (out->line_type.empty()) out->line_type = object_number.empty() ? "Comment" : "Item";
    if (out->line_type == "Item") {
      const Item* item = nullptr;
      for (const Item& it : items_) {
        if ((!object_number.empty() && it.number == object_number) ||
            (!out->item_id.empty() && IEquals(it.id, out->item_id))) {
          item = &it;
        }
      }
      if (item == nullptr) {
        return object_number.empty()
                   ? NotExist("Item", "Id", out->item_id, http::status::bad_request)
                   : NotExist("Item", "No.", object_number, http::status::bad_request);
      }
      if (item->blocked) {
        return BcError(http::status::bad_request, "Application_FieldValidationException",
                       Cat("Blocked must be equal to 'No'  in Item: No.=", item->number,
                           ". Current value is 'Yes'."));
      }
      out->item_id = item->id;
      out->object_number = item->number;
      if (out->description.empty()) out->description = item->display_name;
      if (!has_price) out->unit_price = item->unit_price;
      if (out->unit_of_measure_code.empty()) out->unit_of_measure_code = "PCS";
    } else if (out->line_type == "Account") {
      const Account* account = nullptr;
      for (const Account& a : accounts_) {
        if ((!object_number.empty() && a.number == object_number) ||
            (!out->account_id.empty() && IEquals(a.id, out->account_id))) {
          account = &a;
        }
      }
      if (account == nullptr) {
        return NotExist("G/L Account", "No.", object_number, http::status::bad_request);
      }
      out->account_id = account->id;
      out->object_number = account->number;
      if (out->description.empty()) out->description = account->display_name;
    } else if (out->line_type == "Comment") {
      out->quantity = 0;
      out->unit_price = 0;
    } else {
      return BcError(
          http::status::bad_request, "BadRequest",
          Cat("The value '", out->line_type, "' is not supported for lineType by this simulator."));
    }
    // Negative prices only on G/L account lines (a discount or credit booked as a fee).
    if (out->quantity < 0 || out->discount_amount < 0 ||
        (out->unit_price < 0 && out->line_type != "Account")) {
      return BcError(http::status::bad_request, "Application_DialogException",
                     "The value must be greater than or equal to 0.");
    }
    return std::nullopt;
  }

  net::HttpResponse CreateOrder(net::HttpRequest& req, bool with_lines, bool* drop)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    json body = json::parse(req.raw.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return BcError(http::status::bad_request, "BadRequest", "Invalid Request Body");
    }
    Order o;
    std::string customer_id, customer_number;
    for (const auto& [key, value] : body.items()) {
      if (absl::StartsWith(key, "@odata.") || key == "salesOrderLines") continue;
      auto f = std::find_if(OrderFields().begin(), OrderFields().end(),
                            [&](const StrField<Order>& sf) { return key == sf.name; });
      if (f != OrderFields().end()) {
        if (auto err = SetString(o, *f, value)) return *err;
      } else if (key == "customerId" || key == "customerNumber") {
        if (!value.is_string()) return UnknownProperty(key, "salesOrder");
        (key == "customerId" ? customer_id : customer_number) = value.get<std::string>();
      } else if (key == "partialShipping") {
        if (!value.is_boolean()) return UnknownProperty(key, "salesOrder");
        o.partial_shipping = value.get<bool>();
      } else if (key == "id" || key == "number" || key == "status" || key == "customerName" ||
                 key == "totalAmountExcludingTax" || key == "totalAmountIncludingTax" ||
                 key == "fullyShipped" || key == "lastModifiedDateTime") {
        return ReadOnly(key);
      } else {
        return UnknownProperty(key, "salesOrder");
      }
    }
    if (customer_id.empty() && customer_number.empty()) {
      return BcError(http::status::bad_request, "Application_DialogException",
                     "A customerNumber or a customerID must be provided.");
    }
    const Customer* customer = nullptr;
    for (const Customer& c : customers_) {
      if ((!customer_id.empty() && IEquals(c.id, customer_id)) ||
          (customer_id.empty() && IEquals(c.number, customer_number))) {
        customer = &c;
      }
    }
    if (customer == nullptr) {
      return customer_id.empty()
                 ? NotExist("Customer", "No.", Upper(customer_number), http::status::bad_request)
                 : NotExist("Customer", "Id", customer_id, http::status::bad_request);
    }
    if (customer->blocked == "All") {
      return BcError(http::status::bad_request, "Application_DialogException",
                     Cat("You cannot create this type of document when Customer ", customer->number,
                         " is blocked with type All"));
    }
    o.id = NewGuid();
    if (body.contains("salesOrderLines")) {
      const json& lines = body["salesOrderLines"];
      if (!lines.is_array()) {
        return BcError(http::status::bad_request, "BadRequest", "Invalid Request Body");
      }
      // A deep insert is one transaction: a bad line creates nothing.
      for (const json& in : lines) {
        Line line;
        if (auto err = BuildLine(in, &line)) return *err;
        line.ship_quantity = line.quantity;
        line.id = NewGuid();
        line.document_id = o.id;
        line.sequence = o.next_sequence;
        o.next_sequence += 10000;
        o.lines.push_back(std::move(line));
      }
    }
    o.number = Cat("S-ORD", 101000 + (++order_seq_));
    o.customer_id = customer->id;
    o.customer_number = customer->number;
    o.customer_name = customer->display_name;
    if (o.ship_to_name.empty()) o.ship_to_name = customer->display_name;
    if (o.order_date.empty()) o.order_date = Date(Now());
    o.posting_date = o.order_date;
    o.modified = Now();
    orders_.push_back(std::move(o));
    ++stats_.orders_created;
    if (drop_next_order_create_) {
      drop_next_order_create_ = false;
      *drop = true;
    } else if (drop_probability_ > 0 && ChanceLocked(drop_probability_)) {
      *drop = true;
    }
    json j = OrderJson(orders_.back(), with_lines);
    j["@odata.context"] = Context("salesOrders/$entity");
    return JsonResponse(http::status::created, j);
  }

  net::HttpResponse PatchOrder(net::HttpRequest& req, Order& o) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (auto err = CheckIfMatch(req, o.version, o.id)) return *err;
    json body = json::parse(req.raw.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return BcError(http::status::bad_request, "BadRequest", "Invalid Request Body");
    }
    if (auto err = StatusMustBeOpen(o)) return *err;
    Order updated = o;
    for (const auto& [key, value] : body.items()) {
      if (absl::StartsWith(key, "@odata.")) continue;
      auto f = std::find_if(OrderFields().begin(), OrderFields().end(),
                            [&](const StrField<Order>& sf) { return key == sf.name; });
      if (f != OrderFields().end()) {
        if (auto err = SetString(updated, *f, value)) return *err;
      } else if (key == "partialShipping" && value.is_boolean()) {
        updated.partial_shipping = value.get<bool>();
      } else if (key == "id" || key == "number" || key == "status" || key == "customerId" ||
                 key == "customerNumber" || key == "fullyShipped") {
        return ReadOnly(key);
      } else {
        return UnknownProperty(key, "salesOrder");
      }
    }
    o = std::move(updated);
    Touch(o);
    return JsonResponse(http::status::ok, OrderJson(o, false));
  }

  net::HttpResponse DeleteOrder(net::HttpRequest& req, Order& o)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (auto err = CheckIfMatch(req, o.version, o.id)) return *err;
    if (o.AnyShipped()) {
      return BcError(http::status::bad_request, "Application_DialogException",
                     Cat("You cannot delete order ", o.number,
                         " because one or more lines have been shipped."));
    }
    const std::string id = o.id;
    orders_.erase(
        std::remove_if(orders_.begin(), orders_.end(), [&](const Order& x) { return x.id == id; }),
        orders_.end());
    return net::Text(http::status::no_content, "", "application/json");
  }

  net::HttpResponse PatchLine(net::HttpRequest& req, Order& o, Line& line)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (auto err = CheckIfMatch(req, line.version, line.id)) return *err;
    json body = json::parse(req.raw.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return BcError(http::status::bad_request, "BadRequest", "Invalid Request Body");
    }
    Line updated = line;
    std::optional<double> ship;
    bool header_fields = false;  // fields that need the Sales Header open (TestStatusOpen)
    for (const auto& [key, value] : body.items()) {
      if (absl::StartsWith(key, "@odata.")) continue;
      if (key == "quantity" || key == "unitPrice" || key == "discountAmount" ||
          key == "shipQuantity") {
        if (!value.is_number() || value.get<double>() < 0) {
          return BcError(http::status::bad_request, "BadRequest",
                         Cat("Invalid value for '", key, "'."));
        }
        double v = value.get<double>();
        if (key == "quantity") updated.quantity = v;
        if (key == "unitPrice") updated.unit_price = v;
        if (key == "discountAmount") updated.discount_amount = v;
        if (key == "shipQuantity") {
          ship = v;
        } else {
          header_fields = true;
        }
      } else if (key == "description" && value.is_string()) {
        if (value.get<std::string>().size() > 100) {
          return StringTooLong(value.get<std::string>(), 100);
        }
        updated.description = value.get<std::string>();
        header_fields = true;
      } else if (key == "id" || key == "documentId" || key == "lineType" ||
                 key == "lineObjectNumber" || key == "shippedQuantity" ||
                 key == "invoicedQuantity" || key == "invoiceQuantity") {
        return ReadOnly(key);
      } else {
        return UnknownProperty(key, "salesOrderLine");
      }
    }
    // "Qty. to Ship" may change on a released order; the other fields may not.
    if (header_fields) {
      if (auto err = StatusMustBeOpen(o)) return *err;
    }
    if (updated.quantity < updated.shipped_quantity) {
      return BcError(http::status::bad_request, "Application_DialogException",
                     absl::StrFormat("You cannot reduce Quantity to %g because %g has already "
                                     "been shipped.",
                                     updated.quantity, updated.shipped_quantity));
    }
    // Validating Quantity initialises Qty. to Ship to the new outstanding quantity.
    if (updated.quantity != line.quantity) updated.ship_quantity = updated.Outstanding();
    if (ship) {
      if (*ship > updated.Outstanding()) {
        return BcError(
            http::status::bad_request, "Application_DialogException",
            absl::StrFormat("You cannot ship more than %g units.", updated.Outstanding()));
      }
      updated.ship_quantity = *ship;
    }
    ++updated.version;
    line = std::move(updated);
    Touch(o);
    return JsonResponse(http::status::ok, LineJson(line));
  }

  // -- posted sales shipments (read-only) --
  json ShipmentLineJson(const PostedShipment& sh, const PostedShipmentLine& l) const {
    return {{"@odata.etag", Etag(1, l.id)},
            {"id", l.id},
            {"documentId", sh.id},
            {"documentNo", sh.number},
            {"sequence", l.sequence},
            {"lineType", l.line_type},
            {"lineObjectNumber", l.object_number},
            {"description", l.description},
            {"unitOfMeasureCode", l.unit_of_measure_code},
            {"quantity", l.quantity},
            {"shipmentDate", sh.posting_date}};
  }

  json ShipmentJson(const PostedShipment& sh, bool with_lines) const {
    json j = {{"@odata.etag", Etag(1, sh.id)},
              {"id", sh.id},
              {"number", sh.number},
              {"externalDocumentNumber", sh.external_document_number},
              {"postingDate", sh.posting_date},
              {"customerNumber", sh.customer_number},
              {"customerName", sh.customer_name}};
    if (with_lines) {
      json lines = json::array();
      for (const PostedShipmentLine& l : sh.lines) lines.push_back(ShipmentLineJson(sh, l));
      j["salesShipmentLines"] = lines;
    }
    return j;
  }

  net::HttpResponse SalesShipments(net::HttpRequest& req, http::verb method,
                                   const std::vector<Segment>& segs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (method != http::verb::get) return MethodNotAllowed(method, "salesShipments");
    const std::string expand = req.QueryParam("$expand");
    if (!expand.empty() && expand != "salesShipmentLines") {
      return BcError(http::status::bad_request, "BadRequest",
                     Cat("Could not find a property named '", expand,
                         "' on type 'Microsoft.NAV.salesShipment'."));
    }
    const bool with_lines = !expand.empty();
    if (!segs[1].key) {
      if (segs.size() != 2) return NoSegment(segs.back().name);
      auto found =
          Filter(req, shipments_,
                 [](const PostedShipment& sh, std::string_view f) -> std::optional<std::string> {
                   if (f == "externalDocumentNumber") return sh.external_document_number;
                   if (f == "number") return sh.number;
                   if (f == "customerNumber") return sh.customer_number;
                   return std::nullopt;
                 });
      if (!found) return QuerySyntax();
      json value = json::array();
      for (const PostedShipment* sh : *found) value.push_back(ShipmentJson(*sh, with_lines));
      return JsonResponse(http::status::ok,
                          {{"@odata.context", Context("salesShipments")}, {"value", value}});
    }
    auto sh = std::find_if(shipments_.begin(), shipments_.end(),
                           [&](const PostedShipment& x) { return IEquals(x.id, *segs[1].key); });
    if (sh == shipments_.end()) {
      return NotExist("Sales Shipment Header", "Id", *segs[1].key, http::status::not_found);
    }
    if (segs.size() == 2) return JsonResponse(http::status::ok, ShipmentJson(*sh, with_lines));
    if (segs[2].name != "salesShipmentLines" || segs[2].key || segs.size() != 3) {
      return NoSegment(segs.back().name);
    }
    json value = json::array();
    for (const PostedShipmentLine& l : sh->lines) value.push_back(ShipmentLineJson(*sh, l));
    return JsonResponse(http::status::ok,
                        {{"@odata.context", Context("salesShipmentLines")}, {"value", value}});
  }

  // POST salesOrders({id})/Microsoft.NAV.shipAndInvoice: posts "Qty. to Ship" of every line as
  // one sales shipment and invoices what is shipped (Sales-Post with Ship and Invoice), then
  // re-initialises Qty. to Ship to what is outstanding. An order that ends completely shipped and
  // invoiced is deleted, as BC deletes it after posting; its posted shipments remain.
  net::HttpResponse ShipAndInvoice(Order& o, bool* drop) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bool to_ship = false, to_invoice = false;
    for (const Line& l : o.lines) {
      if (l.line_type == "Comment") continue;
      if (l.ship_quantity > 0) to_ship = true;
      if (l.InvoiceQuantity() > 0) to_invoice = true;
    }
    if (!to_ship && !to_invoice) {
      return BcError(http::status::bad_request, "Application_DialogException",
                     "There is nothing to post.");
    }
    if (to_ship) {
      PostedShipment shipment;
      shipment.id = NewGuid();
      shipment.number = Cat("S-SHPT", 102000 + (++shipment_seq_));
      shipment.external_document_number = o.external_document_number;
      shipment.order_number = o.number;
      shipment.customer_number = o.customer_number;
      shipment.customer_name = o.customer_name;
      shipment.posting_date = Date(Now());
      for (const Line& l : o.lines) {
        if (l.line_type == "Comment" || l.ship_quantity <= 0) continue;
        shipment.lines.push_back({NewGuid(), l.line_type, l.object_number, l.description,
                                  l.unit_of_measure_code, l.sequence, l.ship_quantity});
      }
      shipments_.push_back(std::move(shipment));
      ++stats_.shipments_posted;
    }
    for (Line& l : o.lines) {
      if (l.line_type == "Comment") continue;
      l.shipped_quantity += l.ship_quantity;
      l.invoiced_quantity = l.shipped_quantity;
      l.ship_quantity = l.Outstanding();
      ++l.version;
    }
    o.header_status = "Released";  // posting releases the document first
    Touch(o);
    if (o.Completed()) {
      const std::string id = o.id;
      auto it =
          std::find_if(orders_.begin(), orders_.end(), [&](const Order& x) { return x.id == id; });
      deleted_orders_.push_back(std::move(*it));
      orders_.erase(it);
    }
    if (drop_next_ship_) {
      drop_next_ship_ = false;
      *drop = true;
    }
    return net::Text(http::status::no_content, "", "application/json");
  }

  void Touch(Order& o) {
    ++o.version;
    o.modified = Now();
  }

  Order* FindOrder(std::string_view id) {
    for (Order& o : orders_) {
      if (IEquals(o.id, id)) return &o;
    }
    return nullptr;
  }
  Order* FindByRef(std::string_view ref) {
    for (Order& o : orders_) {
      if (IEquals(o.external_document_number, ref)) return &o;
    }
    return nullptr;
  }
  const Order* FindByRef(std::string_view ref) const {
    return const_cast<Impl*>(this)->FindByRef(ref);
  }
  const Customer* FindCustomer(std::string_view id) const {
    for (const Customer& c : customers_) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }

  // ---- /_sim admin endpoints ----
  // Admin handlers answer 400 instead of letting a JSON type error escape into the server.
  static net::Handler Safe(net::Handler h) {
    return [h = std::move(h)](net::HttpRequest& req, net::Responder respond) {
      try {
        h(req, respond);
      } catch (const std::exception& e) {
        respond(JsonResponse(http::status::bad_request, {{"error", e.what()}}));
      }
    };
  }

  void AddAdminRoutes(net::Router& router) {
    auto add = [&router](http::verb verb, std::string path, net::Handler h) {
      router.Add(verb, std::move(path), Safe(std::move(h)));
    };
    auto reply = [](const net::Responder& respond, http::status status, const json& body) {
      respond(JsonResponse(status, body));
    };
    add(http::verb::get, "/_sim/stats", [this, reply](net::HttpRequest&, net::Responder r) {
      Stats s = stats();
      reply(r, http::status::ok,
            {{"requests", s.requests},
             {"admitted", s.admitted},
             {"answered_401", s.answered_401},
             {"answered_429", s.answered_429},
             {"answered_503", s.answered_503},
             {"dropped", s.dropped},
             {"outage_503", s.outage_503},
             {"outage_closed", s.outage_closed},
             {"resets", s.resets},
             {"storm_429", s.storm_429},
             {"delayed", s.delayed},
             {"token_requests", s.token_requests},
             {"tokens_issued", s.tokens_issued},
             {"orders_created", s.orders_created},
             {"shipments_posted", s.shipments_posted},
             {"customers_created", s.customers_created},
             {"max_in_flight", s.max_in_flight}});
    });
    add(http::verb::post, "/_sim/items", [this, reply](net::HttpRequest& req, net::Responder r) {
      json b = json::parse(req.raw.body(), nullptr, false);
      if (b.is_discarded() || !b.value("number", json()).is_string() ||
          !b.value("unitPrice", json()).is_number()) {
        return reply(r, http::status::bad_request,
                     {{"error", "want {\"number\",\"displayName\",\"unitPrice\"}"}});
      }
      // Two decimals, as the demo's prices are.
      model::Money price{static_cast<int64_t>(std::llround(b["unitPrice"].get<double>() * 100)),
                         "EUR"};
      std::string id =
          AddItem(b["number"].get<std::string>(), b.value("displayName", std::string()), price);
      reply(r, http::status::created, {{"id", id}});
    });
    add(http::verb::post, "/_sim/items/inventory",
        [this, reply](net::HttpRequest& req, net::Responder r) {
          json b = json::parse(req.raw.body(), nullptr, false);
          if (b.is_discarded() || !b.value("number", json()).is_string() ||
              !b.value("inventory", json()).is_number()) {
            return reply(r, http::status::bad_request,
                         {{"error", "want {\"number\",\"inventory\",\"posted\"}"}});
          }
          const bool posted = b.value("posted", false);
          if (!SetItemInventory(b["number"].get<std::string>(), b["inventory"].get<double>(),
                                !posted)) {
            return reply(r, http::status::not_found, {{"error", "no such item"}});
          }
          reply(r, http::status::ok, {{"ok", true}});
        });
    add(http::verb::post, "/_sim/accounts", [this, reply](net::HttpRequest& req, net::Responder r) {
      json b = json::parse(req.raw.body(), nullptr, false);
      if (b.is_discarded() || !b.value("number", json()).is_string()) {
        return reply(r, http::status::bad_request,
                     {{"error", "want {\"number\",\"displayName\"}"}});
      }
      AddAccount(b["number"].get<std::string>(), b.value("displayName", std::string()));
      reply(r, http::status::created, json::object());
    });
    add(http::verb::get, "/_sim/salesOrders",
        [this, reply](net::HttpRequest& req, net::Responder r) {
          std::string ref = req.QueryParam("externalDocumentNumber");
          std::optional<json> order = SalesOrderJson(ref);
          reply(r, http::status::ok,
                {{"count", CountSalesOrders(ref)},
                 {"lines", SalesOrderLineCount(ref)},
                 {"status", order ? (*order)["status"] : json()}});
        });
    add(http::verb::post, "/_sim/salesOrders/status",
        [this, reply](net::HttpRequest& req, net::Responder r) {
          json b = json::parse(req.raw.body(), nullptr, false);
          bool ok = !b.is_discarded() && b.value("externalDocumentNumber", json()).is_string() &&
                    b.value("status", json()).is_string() &&
                    SetOrderStatus(b["externalDocumentNumber"].get<std::string>(),
                                   b["status"].get<std::string>());
          reply(r, ok ? http::status::ok : http::status::not_found, {{"ok", ok}});
        });
    add(http::verb::post, "/_sim/salesOrders/ship",
        [this, reply](net::HttpRequest& req, net::Responder r) {
          json b = json::parse(req.raw.body(), nullptr, false);
          bool ok = !b.is_discarded() && b.value("externalDocumentNumber", json()).is_string() &&
                    MarkShipped(b["externalDocumentNumber"].get<std::string>());
          reply(r, ok ? http::status::ok : http::status::not_found, {{"ok", ok}});
        });
    add(http::verb::get, "/_sim/customers", [this, reply](net::HttpRequest& req, net::Responder r) {
      reply(r, http::status::ok, {{"count", CountCustomers(req.QueryParam("email"))}});
    });
    add(http::verb::post, "/_sim/faults", [this, reply](net::HttpRequest& req, net::Responder r) {
      json b = json::parse(req.raw.body(), nullptr, false);
      if (b.is_discarded() || !b.is_object()) {
        return reply(r, http::status::bad_request, {{"error", "want a JSON object"}});
      }
      const std::string mode = b.value("outage_mode", std::string("503"));
      if (mode != "503" && mode != "close") {
        return reply(r, http::status::bad_request,
                     {{"error", "outage_mode: \"503\" or \"close\""}});
      }
      if (b.value("clear", false)) ClearFaults();
      if (b.value("seed", json()).is_number_unsigned()) SeedFaults(b["seed"].get<uint64_t>());
      if (b.value("outage", json()).is_boolean()) {
        SetOutage(b["outage"].get<bool>(), mode == "close" ? OutageMode::kClose : OutageMode::k503);
      }
      if (b.value("throttle_429_next", json()).is_number_integer()) {
        Throttle429Next(b["throttle_429_next"].get<int>());
      }
      if (b.value("throttle_429_ms", json()).is_number()) {
        Throttle429For(absl::Milliseconds(b["throttle_429_ms"].get<double>()));
      }
      if (b.value("reset_probability", json()).is_number()) {
        SetResetProbability(b["reset_probability"].get<double>());
      }
      if (b.value("drop_after_commit_probability", json()).is_number()) {
        SetDropAfterCommitProbability(b["drop_after_commit_probability"].get<double>());
      }
      if (b.value("fail_next", json()).is_number_integer()) {
        FailNextRequests(b["fail_next"].get<int>(), b.value("status", 503));
      }
      if (b.value("drop_next_order_create", false)) DropResponseAfterNextOrderCreate();
      if (b.value("drop_next_ship_and_invoice", false)) DropResponseAfterNextShipAndInvoice();
      if (b.value("latency_ms", json()).is_number() ||
          b.value("latency_jitter_ms", json()).is_number()) {
        absl::Duration latency, jitter;
        {
          absl::MutexLock l(&mu_);
          latency = latency_;
          jitter = latency_jitter_;
        }
        if (b.value("latency_ms", json()).is_number()) {
          latency = absl::Milliseconds(b["latency_ms"].get<double>());
        }
        if (b.value("latency_jitter_ms", json()).is_number()) {
          jitter = absl::Milliseconds(b["latency_jitter_ms"].get<double>());
        }
        SetLatency(latency, jitter);
      }
      if (b.value("revoke_tokens", false)) RevokeTokens();
      reply(r, http::status::ok, json::object());
    });
  }

  const Options options_;
  std::unique_ptr<net::HttpServer> server_;
  Delayer delayer_;

  mutable absl::Mutex mu_;
  std::vector<Customer> customers_ ABSL_GUARDED_BY(mu_);
  std::vector<Item> items_ ABSL_GUARDED_BY(mu_);
  std::vector<Account> accounts_ ABSL_GUARDED_BY(mu_);
  std::vector<Order> orders_ ABSL_GUARDED_BY(mu_);
  // Orders posting deleted (completely shipped and invoiced), kept for the test accessors.
  std::vector<Order> deleted_orders_ ABSL_GUARDED_BY(mu_);
  std::vector<PostedShipment> shipments_ ABSL_GUARDED_BY(mu_);
  int64_t customer_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t order_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t shipment_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, absl::Time> tokens_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Time> window_ ABSL_GUARDED_BY(mu_);
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_next_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_status_ ABSL_GUARDED_BY(mu_) = 503;
  bool drop_next_order_create_ ABSL_GUARDED_BY(mu_) = false;
  bool drop_next_ship_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration latency_ ABSL_GUARDED_BY(mu_);
  absl::Duration latency_jitter_ ABSL_GUARDED_BY(mu_);
  bool outage_ ABSL_GUARDED_BY(mu_) = false;
  OutageMode outage_mode_ ABSL_GUARDED_BY(mu_) = OutageMode::k503;
  int storm_next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time storm_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  double reset_probability_ ABSL_GUARDED_BY(mu_) = 0;
  double drop_probability_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

BusinessCentralSim::BusinessCentralSim(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
BusinessCentralSim::~BusinessCentralSim() = default;

absl::Status BusinessCentralSim::Start() { return impl_->Start(); }
void BusinessCentralSim::Stop() { impl_->Stop(); }
uint16_t BusinessCentralSim::port() const { return impl_->port(); }
std::string BusinessCentralSim::base_url() const { return impl_->base_url(); }
std::string BusinessCentralSim::token_url() const { return impl_->token_url(); }
std::string BusinessCentralSim::KeelsonErpYaml() const {
  const Options& o = options();
  return absl::StrCat("erp:\n  type: business_central\n  url: \"", base_url(),
                      "\"\n  company_id: \"", o.company_id, "\"\n  auth: {token_url: \"",
                      token_url(), "\", client_id: \"", o.client_id, "\", client_secret: \"",
                      o.client_secret, "\", scope: \"", o.scope,
                      "\"}\n  mapping: {shipping: \"6610\", fees: \"6620\"}\n");
}
const BusinessCentralSim::Options& BusinessCentralSim::options() const { return impl_->options(); }
std::string BusinessCentralSim::AddItem(std::string_view number, std::string_view display_name,
                                        const model::Money& unit_price) {
  return impl_->AddItem(number, display_name, unit_price);
}
bool BusinessCentralSim::SetItemInventory(std::string_view number, double inventory,
                                          InventoryChange how) {
  return impl_->SetItemInventory(number, inventory, how == InventoryChange::kModify);
}
void BusinessCentralSim::SetItemBlocked(std::string_view number, bool blocked) {
  impl_->SetItemBlocked(number, blocked);
}
void BusinessCentralSim::AddAccount(std::string_view number, std::string_view display_name) {
  impl_->AddAccount(number, display_name);
}
int64_t BusinessCentralSim::CountSalesOrders(std::string_view reference) const {
  return impl_->CountSalesOrders(reference);
}
std::vector<std::pair<std::string, std::string>> BusinessCentralSim::SalesOrderReferences() const {
  return impl_->SalesOrderReferences();
}
int64_t BusinessCentralSim::SalesOrderLineCount(std::string_view reference) const {
  return impl_->SalesOrderLineCount(reference);
}
int64_t BusinessCentralSim::CountCustomers(std::string_view email) const {
  return impl_->CountCustomers(email);
}
bool BusinessCentralSim::SetOrderStatus(std::string_view reference, std::string_view status) {
  return impl_->SetOrderStatus(reference, status);
}
bool BusinessCentralSim::MarkShipped(std::string_view reference) {
  return impl_->MarkShipped(reference);
}
std::optional<nlohmann::json> BusinessCentralSim::SalesOrderJson(std::string_view reference) const {
  return impl_->SalesOrderJson(reference);
}
std::vector<BusinessCentralSim::ShippedLine> BusinessCentralSim::ShippedLines(
    std::string_view reference) const {
  return impl_->ShippedLines(reference);
}
int64_t BusinessCentralSim::PostedShipmentCount(std::string_view reference) const {
  return impl_->PostedShipmentCount(reference);
}
bool BusinessCentralSim::SalesOrderDeleted(std::string_view reference) const {
  return impl_->SalesOrderDeleted(reference);
}
void BusinessCentralSim::DropResponseAfterNextOrderCreate() {
  impl_->DropResponseAfterNextOrderCreate();
}
void BusinessCentralSim::DropResponseAfterNextShipAndInvoice() {
  impl_->DropResponseAfterNextShipAndInvoice();
}
void BusinessCentralSim::FailNextRequests(int n, int status) { impl_->FailNextRequests(n, status); }
void BusinessCentralSim::SetLatency(absl::Duration latency) {
  impl_->SetLatency(latency, absl::ZeroDuration());
}
void BusinessCentralSim::SetLatency(absl::Duration latency, absl::Duration jitter) {
  impl_->SetLatency(latency, jitter);
}
void BusinessCentralSim::SetOutage(bool on, OutageMode mode) { impl_->SetOutage(on, mode); }
void BusinessCentralSim::Throttle429Next(int n) { impl_->Throttle429Next(n); }
void BusinessCentralSim::Throttle429For(absl::Duration d) { impl_->Throttle429For(d); }
void BusinessCentralSim::SetResetProbability(double p) { impl_->SetResetProbability(p); }
void BusinessCentralSim::SetDropAfterCommitProbability(double p) {
  impl_->SetDropAfterCommitProbability(p);
}
void BusinessCentralSim::SeedFaults(uint64_t seed) { impl_->SeedFaults(seed); }
void BusinessCentralSim::ClearFaults() { impl_->ClearFaults(); }
void BusinessCentralSim::RevokeTokens() { impl_->RevokeTokens(); }
BusinessCentralSim::Stats BusinessCentralSim::stats() const { return impl_->stats(); }

}  // namespace keelson::sim
