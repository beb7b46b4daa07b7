#include "sim/odoo.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "core/strings.h"

namespace keelson::sim {
namespace {

using json = nlohmann::json;
namespace http = net::http;

// ---------------------------------------------------------------------------------------
// Errors. The simulated ORM raises these the way Odoo raises its Python exceptions; the
// request handlers catch them and serialise them in the protocol's error shape.

struct OdooError {
  std::string name;  // fully qualified Python name, e.g. "odoo.exceptions.UserError"
  std::string message;
  int http_status = 500;  // what JSON-2 answers (the exception's http_status)
};

// A fault injected with FailNextCall: answered at the HTTP level, not as an Odoo error.
struct InjectedHttpFailure {
  int http_status = 503;
};

[[noreturn]] void Raise(std::string name, std::string message, int http_status) {
  throw OdooError{std::move(name), std::move(message), http_status};
}
[[noreturn]] void UserError(std::string m) {
  Raise("odoo.exceptions.UserError", std::move(m), 422);
}
[[noreturn]] void ValidationError(std::string m) {
  Raise("odoo.exceptions.ValidationError", std::move(m), 422);
}
[[noreturn]] void AccessError(std::string m) {
  Raise("odoo.exceptions.AccessError", std::move(m), 403);
}
[[noreturn]] void AccessDenied() { Raise("odoo.exceptions.AccessDenied", "Access Denied", 403); }
[[noreturn]] void MissingError(std::string m) {
  Raise("odoo.exceptions.MissingError", std::move(m), 404);
}
[[noreturn]] void ValueError(std::string m) { Raise("builtins.ValueError", std::move(m), 500); }
[[noreturn]] void TypeError(std::string m) { Raise("builtins.TypeError", std::move(m), 422); }

// ---------------------------------------------------------------------------------------
// Schema.

enum class FieldType { kInteger, kChar, kFloat, kBoolean, kSelection, kMany2one, kOne2many };

struct FieldDef {
  FieldType type = FieldType::kChar;
  std::string comodel;    // many2one / one2many
  std::string inverse;    // one2many: the many2one on the comodel
  bool computed = false;  // read-only, derived on read
  int min_major = 0;      // exists from this version on
  int max_major = 1000;   // exists up to this version
};

using Schema = std::map<std::string, FieldDef>;

const std::map<std::string, Schema>& Schemas() {
  static const auto* schemas = new std::map<std::string, Schema>{
      {"res.country",
       {{"name", {FieldType::kChar}},
        {"code", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}}}},
      {"res.partner",
       {{"name", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"email", {FieldType::kChar}},
        {"phone", {FieldType::kChar}},
        {"street", {FieldType::kChar}},
        {"street2", {FieldType::kChar}},
        {"city", {FieldType::kChar}},
        {"zip", {FieldType::kChar}},
        {"country_id", {FieldType::kMany2one, "res.country"}},
        {"ref", {FieldType::kChar}},
        {"comment", {FieldType::kChar}},
        {"is_company", {FieldType::kBoolean}},
        {"active", {FieldType::kBoolean}}}},
      {"product.product",
       {{"default_code", {FieldType::kChar}},
        {"name", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"list_price", {FieldType::kFloat}},
        {"sale_ok", {FieldType::kBoolean}},
        {"type", {FieldType::kSelection}},  // consu (goods, the default here) | service
        {"active", {FieldType::kBoolean}}}},
      {"stock.location",
       {{"name", {FieldType::kChar}},
        {"complete_name", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"usage", {FieldType::kSelection}},
        {"active", {FieldType::kBoolean}}}},
      {"stock.lot",
       {{"name", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"product_id", {FieldType::kMany2one, "product.product"}}}},
      // Datetimes are stored as Odoo sends them, "2026-03-01 10:00:00" (UTC, whole seconds), so
      // they compare as strings.
      {"stock.quant",
       {{"product_id", {FieldType::kMany2one, "product.product"}},
        {"location_id", {FieldType::kMany2one, "stock.location"}},
        {"lot_id", {FieldType::kMany2one, "stock.lot"}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"quantity", {FieldType::kFloat}},
        {"reserved_quantity", {FieldType::kFloat}},
        {"write_date", {FieldType::kChar}}}},
      {"sale.order",
       {{"name", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"partner_id", {FieldType::kMany2one, "res.partner"}},
        {"client_order_ref", {FieldType::kChar}},
        {"origin", {FieldType::kChar}},
        {"note", {FieldType::kChar}},
        {"state", {FieldType::kSelection}},
        {"locked", {FieldType::kBoolean, "", "", false, 17}},
        {"order_line", {FieldType::kOne2many, "sale.order.line", "order_id"}},
        {"picking_ids", {FieldType::kOne2many, "stock.picking", "sale_id"}},
        {"amount_total", {FieldType::kFloat, "", "", true}}}},
      {"sale.order.line",
       {{"order_id", {FieldType::kMany2one, "sale.order"}},
        {"product_id", {FieldType::kMany2one, "product.product"}},
        {"name", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"display_type", {FieldType::kSelection}},
        {"sequence", {FieldType::kInteger}},
        {"product_uom_qty", {FieldType::kFloat}},
        {"price_unit", {FieldType::kFloat}},
        {"price_subtotal", {FieldType::kFloat, "", "", true}},
        // sale_stock: the done quantity of the line's moves to the customer.
        {"qty_delivered", {FieldType::kFloat, "", "", true}}}},
      // A delivery order (sale_stock creates one when the order is confirmed). `sale_id` is a
      // stored related field of the procurement group's sale order; `picking_type_code` the
      // related code of the operation type.
      {"stock.picking",
       {{"name", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"origin", {FieldType::kChar}},
        {"sale_id", {FieldType::kMany2one, "sale.order"}},
        {"partner_id", {FieldType::kMany2one, "res.partner"}},
        {"state", {FieldType::kSelection}},
        {"picking_type_code", {FieldType::kSelection}},
        {"backorder_id", {FieldType::kMany2one, "stock.picking"}},
        {"move_ids", {FieldType::kOne2many, "stock.move", "picking_id"}},
        {"date_done", {FieldType::kChar}}}},
      // `quantity` (reserved, then done) and `picked` from 17 on; `quantity_done` up to 16.
      {"stock.move",
       {{"name", {FieldType::kChar}},
        {"display_name", {FieldType::kChar, "", "", true}},
        {"picking_id", {FieldType::kMany2one, "stock.picking"}},
        {"product_id", {FieldType::kMany2one, "product.product"}},
        {"sale_line_id", {FieldType::kMany2one, "sale.order.line"}},
        {"product_uom_qty", {FieldType::kFloat}},
        {"quantity", {FieldType::kFloat, "", "", false, 17}},
        {"picked", {FieldType::kBoolean, "", "", false, 17}},
        {"quantity_done", {FieldType::kFloat, "", "", false, 0, 16}},
        {"state", {FieldType::kSelection}}}},
  };
  return *schemas;
}

struct MethodSig {
  bool record_method = false;  // ids are extracted from the first positional argument
  std::vector<std::string> params;
  std::string only_model;  // empty: every model
};

const std::map<std::string, MethodSig>& Methods() {
  static const auto* methods = new std::map<std::string, MethodSig>{
      {"search", {false, {"domain", "offset", "limit", "order"}}},
      {"search_read", {false, {"domain", "fields", "offset", "limit", "order"}}},
      {"search_count", {false, {"domain", "limit"}}},
      {"read", {true, {"fields", "load"}}},
      {"create", {false, {"vals_list"}}},
      {"write", {true, {"vals"}}},
      {"action_confirm", {true, {}, "sale.order"}},
      {"action_cancel", {true, {}, "sale.order"}},
      {"button_validate", {true, {}, "stock.picking"}},
  };
  return *methods;
}

std::string Lower(std::string_view s) { return absl::AsciiStrToLower(core::AbslSv(s)); }

// SQL LIKE: '%' any run, '_' any one character, backslash escapes the next character.
bool LikeMatch(std::string_view text, std::string_view pattern, bool icase) {
  auto eq = [icase](char a, char b) {
    return icase ? absl::ascii_tolower(static_cast<unsigned char>(a)) ==
                       absl::ascii_tolower(static_cast<unsigned char>(b))
                 : a == b;
  };
  // Iterative matcher with backtracking on the last '%'.
  size_t t = 0, p = 0, star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      char pc = pattern[p];
      size_t step = 1;
      bool any = false;
      if (pc == '\\' && p + 1 < pattern.size()) {
        pc = pattern[p + 1];
        step = 2;
      } else if (pc == '_') {
        any = true;
      }
      if (any || eq(pc, text[t])) {
        p += step;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

bool IsFalsy(const json& v) { return v.is_null() || (v.is_boolean() && !v.get<bool>()); }

bool JsonEquals(const json& a, const json& b) {
  if (IsFalsy(a) && IsFalsy(b)) return true;
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

int JsonCompare(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) return a.get<std::string>().compare(b.get<std::string>());
  if (IsFalsy(a) && !IsFalsy(b)) return -1;
  if (!IsFalsy(a) && IsFalsy(b)) return 1;
  return 0;
}

std::pair<int, int> ParseVersion(std::string_view version) {
  std::string_view v = version;
  absl::string_view av = core::AbslSv(v);
  absl::ConsumePrefix(&av, "saas~");
  std::vector<std::string> parts = absl::StrSplit(av, '.');
  int major = 0, minor = 0;
  if (!parts.empty()) (void)absl::SimpleAtoi(parts[0], &major);
  if (parts.size() > 1) (void)absl::SimpleAtoi(parts[1], &minor);
  return {major, minor};
}

net::HttpResponse JsonResponse(int status, const json& body) {
  net::HttpResponse res = net::Json(static_cast<http::status>(status),
                                    body.dump(-1, ' ', false, json::error_handler_t::replace));
  res.set(http::field::content_type, "application/json; charset=utf-8");
  return res;
}

net::HttpResponse HtmlError(int status, int retry_after_seconds) {
  std::string reason(http::obsolete_reason(static_cast<http::status>(status)));
  net::HttpResponse res = net::Text(
      static_cast<http::status>(status),
      absl::StrCat("<html><head><title>", status, " ", reason, "</title></head><body><h1>", status,
                   " ", reason, "</h1></body></html>"),
      "text/html");
  if (retry_after_seconds > 0)
    res.set(http::field::retry_after, std::to_string(retry_after_seconds));
  return res;
}

enum class Protocol { kJsonRpc, kJson2 };

}  // namespace

// ---------------------------------------------------------------------------------------

struct OdooSim::Impl {
  struct Model {
    std::map<int64_t, json> records;  // id -> stored fields (many2one as id or false)
    int64_t next_id = 1;
  };

  explicit Impl(const Options& o, int major) : options(o), major(major) {
    const char* kCountries[][2] = {
        {"GB", "United Kingdom"}, {"US", "United States"}, {"DE", "Germany"}, {"FR", "France"},
        {"NL", "Netherlands"},    {"BE", "Belgium"},       {"ES", "Spain"},   {"IT", "Italy"},
        {"IE", "Ireland"},        {"AT", "Austria"}};
    for (const auto& c : kCountries) {
      Insert("res.country", {{"code", c[0]}, {"name", c[1]}});
    }
    // The company's own partner, without email, as a fresh database has.
    Insert("res.partner", {{"name", "My Company"}, {"is_company", true}, {"active", true}});
    // A fresh database's first warehouse and the customers' location.
    Insert("stock.location",
           {{"name", "Stock"}, {"complete_name", "WH/Stock"}, {"usage", "internal"}});
    Insert("stock.location",
           {{"name", "Customers"}, {"complete_name", "Partners/Customers"}, {"usage", "customer"}});
  }

  const Options& options;
  const int major;

  absl::Mutex mu;
  std::map<std::string, Model> models ABSL_GUARDED_BY(mu);
  int64_t uid ABSL_GUARDED_BY(mu) = 2;
  int64_t order_sequence ABSL_GUARDED_BY(mu) = 0;
  Stats stats ABSL_GUARDED_BY(mu);
  std::map<std::string, int64_t> calls ABSL_GUARDED_BY(mu);
  bool drop_next_create ABSL_GUARDED_BY(mu) = false;
  bool drop_next_validate ABSL_GUARDED_BY(mu) = false;
  int64_t picking_sequence ABSL_GUARDED_BY(mu) = 0;
  int fail_next ABSL_GUARDED_BY(mu) = 0;
  int fail_status ABSL_GUARDED_BY(mu) = 503;
  int fail_retry_after ABSL_GUARDED_BY(mu) = 0;
  std::map<std::string, int> fail_calls ABSL_GUARDED_BY(mu);  // "model.method" -> status
  absl::Duration latency ABSL_GUARDED_BY(mu) = absl::ZeroDuration();

  // --- Schema helpers (no state) --------------------------------------------------------

  const Schema& SchemaOf(const std::string& model) const {
    auto it = Schemas().find(model);
    if (it == Schemas().end()) {
      // Odoo: registry[model] raises KeyError for JSON-RPC; JSON-2 answers 404.
      Raise("builtins.KeyError", absl::StrCat("'", model, "'"), 404);
    }
    return it->second;
  }

  const FieldDef* Field(const std::string& model, const std::string& field) const {
    const Schema& s = SchemaOf(model);
    auto it = s.find(field);
    if (it == s.end()) return nullptr;
    if (major < it->second.min_major || major > it->second.max_major) return nullptr;
    return &it->second;
  }

  const FieldDef& FieldOrRaise(const std::string& model, const std::string& field) const {
    const FieldDef* f = Field(model, field);
    if (f == nullptr)
      ValueError(absl::StrCat("Invalid field '", field, "' on model '", model, "'"));
    return *f;
  }

  // --- Storage -------------------------------------------------------------------------

  int64_t Insert(const std::string& model, json values) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Model& m = models[model];
    int64_t id = m.next_id++;
    json rec = json::object();
    for (const auto& [name, def] : SchemaOf(model)) {
      if (def.computed || def.type == FieldType::kOne2many) continue;
      if (major < def.min_major || major > def.max_major) continue;
      switch (def.type) {
        case FieldType::kFloat:
          rec[name] = 0.0;
          break;
        case FieldType::kInteger:
          rec[name] = 0;
          break;
        default:
          rec[name] = false;
      }
    }
    if (rec.contains("active")) rec["active"] = true;
    if (rec.contains("sale_ok")) rec["sale_ok"] = true;
    if (model == "sale.order") rec["state"] = "draft";
    for (auto& [k, v] : values.items()) rec[k] = v;
    rec["id"] = id;
    m.records[id] = std::move(rec);
    return id;
  }

  json* Find(const std::string& model, int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto mit = models.find(model);
    if (mit == models.end()) return nullptr;
    auto it = mit->second.records.find(id);
    return it == mit->second.records.end() ? nullptr : &it->second;
  }

  std::vector<int64_t> Children(const std::string& comodel, const std::string& inverse, int64_t id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<int64_t> out;
    for (const auto& [cid, rec] : models[comodel].records) {
      if (rec.value(inverse, json(false)) == json(id)) out.push_back(cid);
    }
    return out;
  }

  std::string DisplayName(const std::string& model, int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    json* r = Find(model, id);
    if (r == nullptr) return "";
    // stock.location's _rec_name is complete_name ("WH/Stock").
    const json& name = (*r)[model == "stock.location" ? "complete_name" : "name"];
    return name.is_string() ? name.get<std::string>() : "";
  }

  // The value of `field` as read() shows it.
  json ReadValue(const std::string& model, const json& rec, const std::string& field)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (field == "id") return rec["id"];
    const FieldDef& def = FieldOrRaise(model, field);
    const int64_t id = rec["id"].get<int64_t>();
    if (field == "display_name") return rec.value("name", json(false));
    if (model == "sale.order" && field == "amount_total") {
      double total = 0;
      for (int64_t lid : Children("sale.order.line", "order_id", id)) {
        const json& l = *Find("sale.order.line", lid);
        total += l["product_uom_qty"].get<double>() * l["price_unit"].get<double>();
      }
      return total;
    }
    if (model == "sale.order.line" && field == "price_subtotal") {
      return rec["product_uom_qty"].get<double>() * rec["price_unit"].get<double>();
    }
    if (model == "sale.order.line" && field == "qty_delivered") {
      double done = 0;
      for (int64_t mid : Children("stock.move", "sale_line_id", id)) {
        const json& m = *Find("stock.move", mid);
        if (m["state"] == "done") done += MoveQty(m);
      }
      return done;
    }
    if (def.type == FieldType::kOne2many) return Children(def.comodel, def.inverse, id);
    if (def.type == FieldType::kMany2one) {
      const json& v = rec[field];
      if (IsFalsy(v)) return false;
      return json::array({v, DisplayName(def.comodel, v.get<int64_t>())});
    }
    return rec.value(field, json(false));
  }

  // Odoo checks the requested field names before reading any record.
  void CheckFields(const std::string& model, const json& fields) {
    if (IsFalsy(fields)) return;
    if (!fields.is_array()) TypeError("fields must be a list of field names");
    for (const json& f : fields) {
      if (!f.is_string()) TypeError("fields must be a list of field names");
      if (f.get<std::string>() != "id") FieldOrRaise(model, f.get<std::string>());
    }
  }

  json Render(const std::string& model, const json& rec, const json& fields)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    json out = json::object();
    out["id"] = rec["id"];
    std::vector<std::string> names;
    if (fields.is_array() && !fields.empty()) {
      for (const json& f : fields) {
        if (!f.is_string()) TypeError("fields must be a list of field names");
        names.push_back(f.get<std::string>());
      }
    } else {
      for (const auto& [name, def] : SchemaOf(model)) {
        if (major >= def.min_major && major <= def.max_major) names.push_back(name);
      }
    }
    for (const std::string& n : names) out[n] = ReadValue(model, rec, n);
    return out;
  }

  // --- Domains -------------------------------------------------------------------------

  bool EvalLeaf(const std::string& model, const json& rec, const json& leaf)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!leaf[0].is_string() || !leaf[1].is_string()) ValueError("Invalid leaf " + leaf.dump());
    const std::string field = leaf[0].get<std::string>();
    const std::string op = Lower(leaf[1].get<std::string>());
    const json& value = leaf[2];
    // A path through a many2one ("location_id.usage"): the leaf is evaluated on the comodel's
    // record; an empty many2one matches nothing.
    if (size_t dot = field.find('.'); dot != std::string::npos) {
      const std::string head = field.substr(0, dot);
      const FieldDef* def = Field(model, head);
      if (def == nullptr || def->type != FieldType::kMany2one) {
        ValueError(absl::StrCat("Invalid field ", model, ".", head, " in leaf ", leaf.dump()));
      }
      const json& ref = rec[head];
      json* target = IsFalsy(ref) ? nullptr : Find(def->comodel, ref.get<int64_t>());
      if (target == nullptr) return false;
      return EvalLeaf(def->comodel, *target, json::array({field.substr(dot + 1), leaf[1], value}));
    }
    json actual;
    if (field == "id") {
      actual = rec["id"];
    } else {
      const FieldDef* def = Field(model, field);
      if (def == nullptr) {
        ValueError(absl::StrCat("Invalid field ", model, ".", field, " in leaf ", leaf.dump()));
      }
      if (def->type == FieldType::kOne2many) ValueError("one2many leaves are not simulated");
      actual = (field == "display_name") ? rec.value("name", json(false)) : rec[field];
    }
    if (op == "=") return JsonEquals(actual, value);
    if (op == "!=") return !JsonEquals(actual, value);
    if (op == "in" || op == "not in") {
      if (!value.is_array()) ValueError("The value of an 'in' leaf must be a list");
      bool found = false;
      for (const json& v : value) found = found || JsonEquals(actual, v);
      return op == "in" ? found : !found;
    }
    if (op == "<") return JsonCompare(actual, value) < 0;
    if (op == "<=") return JsonCompare(actual, value) <= 0;
    if (op == ">") return JsonCompare(actual, value) > 0;
    if (op == ">=") return JsonCompare(actual, value) >= 0;
    const bool negate = absl::StartsWith(op, "not ");
    std::string base = negate ? op.substr(4) : op;
    if (base == "like" || base == "ilike" || base == "=like" || base == "=ilike") {
      if (!value.is_string()) ValueError("like operators take a string");
      std::string pattern = value.get<std::string>();
      if (base[0] != '=') pattern = "%" + pattern + "%";
      bool match = actual.is_string() &&
                   LikeMatch(actual.get<std::string>(), pattern, absl::StrContains(base, "ilike"));
      return negate ? !match : match;
    }
    ValueError(absl::StrCat("Invalid leaf operator '", op, "'"));
  }

  bool EvalExpr(const std::string& model, const json& rec, const json& domain, size_t& i)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (i >= domain.size()) ValueError("Domain " + domain.dump() + " is syntactically not correct");
    const json& t = domain[i++];
    if (t.is_string()) {
      const std::string op = t.get<std::string>();
      if (op == "!") return !EvalExpr(model, rec, domain, i);
      if (op == "&" || op == "|") {
        bool a = EvalExpr(model, rec, domain, i);
        bool b = EvalExpr(model, rec, domain, i);
        return op == "&" ? (a && b) : (a || b);
      }
      ValueError("Invalid domain operator '" + op + "'");
    }
    if (t.is_array() && t.size() == 3) return EvalLeaf(model, rec, t);
    ValueError("Invalid leaf " + t.dump());
  }

  bool Matches(const std::string& model, const json& rec, const json& domain)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (IsFalsy(domain)) return true;
    if (!domain.is_array()) ValueError("Domain must be a list");
    bool result = true;
    size_t i = 0;
    while (i < domain.size()) result = EvalExpr(model, rec, domain, i) && result;
    return result;
  }

  std::vector<int64_t> Search(const std::string& model, const json& domain, const json& offset,
                              const json& limit, const json& order)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<const json*> hits;
    for (const auto& [id, rec] : models[model].records) {
      if (rec.contains("active") && !rec["active"].get<bool>()) continue;
      if (Matches(model, rec, domain)) hits.push_back(&rec);
    }
    // sale.order's default _order is "date_order desc, id desc": newest first.
    std::string spec = (order.is_string() && !order.get<std::string>().empty())
                           ? order.get<std::string>()
                           : (model == "sale.order" ? "id desc" : "id asc");
    std::vector<std::pair<std::string, bool>> keys;  // field, descending
    for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
      std::vector<std::string> words =
          absl::StrSplit(absl::StripAsciiWhitespace(part), ' ', absl::SkipEmpty());
      if (words.empty()) continue;
      if (words[0] != "id") FieldOrRaise(model, words[0]);
      keys.emplace_back(words[0], words.size() > 1 && Lower(words[1]) == "desc");
    }
    std::stable_sort(hits.begin(), hits.end(), [&](const json* a, const json* b) {
      for (const auto& [f, desc] : keys) {
        int c = JsonCompare((*a).value(f, json(false)), (*b).value(f, json(false)));
        if (c != 0) return desc ? c > 0 : c < 0;
      }
      return false;
    });
    size_t off = offset.is_number_integer() ? offset.get<size_t>() : 0;
    size_t lim = limit.is_number_integer() ? limit.get<size_t>() : hits.size();
    std::vector<int64_t> ids;
    for (size_t k = off; k < hits.size() && ids.size() < lim; ++k) {
      ids.push_back((*hits[k])["id"].get<int64_t>());
    }
    return ids;
  }

  // --- Writes --------------------------------------------------------------------------

  void CheckValue(const std::string& model, const std::string& field, const FieldDef& def,
                  const json& v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    switch (def.type) {
      case FieldType::kMany2one:
        if (IsFalsy(v)) return;
        if (!v.is_number_integer()) {
          ValueError(absl::StrCat("Wrong value for ", model, ".", field, ": ", v.dump()));
        }
        if (Find(def.comodel, v.get<int64_t>()) == nullptr) {
          ValidationError(absl::StrCat(
              "The operation cannot be completed: another model requires the record being "
              "deleted. If possible, archive it instead.\n\nModel: ",
              model, "\nConstraint: ", absl::StrReplaceAll(model, {{".", "_"}}), "_", field,
              "_fkey"));
        }
        return;
      case FieldType::kFloat:
      case FieldType::kInteger:
        if (!v.is_number() && !IsFalsy(v)) {
          ValueError(absl::StrCat("Wrong value for ", model, ".", field, ": ", v.dump()));
        }
        return;
      case FieldType::kBoolean:
        return;
      default:
        if (!v.is_string() && !IsFalsy(v)) {
          ValueError(absl::StrCat("Wrong value for ", model, ".", field, ": ", v.dump()));
        }
    }
  }

  // Splits `vals` into stored values and one2many commands; validates every field.
  json PrepareValues(const std::string& model, const json& vals, json* o2m)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!vals.is_object()) TypeError("values must be a dictionary");
    json stored = json::object();
    for (const auto& [k, v] : vals.items()) {
      const FieldDef& def = FieldOrRaise(model, k);
      if (def.computed) continue;  // Odoo ignores writes on computed, non-inverse fields
      if (def.type == FieldType::kOne2many) {
        (*o2m)[k] = v;
        continue;
      }
      CheckValue(model, k, def, v);
      stored[k] = v;
    }
    return stored;
  }

  void ApplyOne2many(const std::string& model, int64_t id, const json& o2m)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (const auto& [field, commands] : o2m.items()) {
      const FieldDef& def = FieldOrRaise(model, field);
      if (!commands.is_array()) ValueError("one2many values must be a list of commands");
      for (const json& c : commands) {
        if (!c.is_array() || c.empty() || !c[0].is_number_integer() || c[0].get<int>() != 0 ||
            c.size() != 3) {
          ValueError("only the create command [0, 0, values] is simulated");
        }
        json vals = c[2];
        if (!vals.is_object()) TypeError("command values must be a dictionary");
        vals[def.inverse] = id;
        CreateOne(def.comodel, vals);
      }
    }
  }

  int64_t CreateOne(const std::string& model, const json& vals) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    json o2m = json::object();
    json stored = PrepareValues(model, vals, &o2m);
    if (model == "res.partner") {
      if (!stored.contains("name") || IsFalsy(stored["name"]) ||
          stored["name"].get<std::string>().empty()) {
        ValidationError("Contacts require a name");
      }
    } else if (model == "sale.order") {
      if (!stored.contains("partner_id") || IsFalsy(stored["partner_id"])) {
        ValidationError(
            "The operation cannot be completed:\n- Create/update: a mandatory field is not "
            "set.\n- Delete: another model requires the record being deleted. If possible, "
            "archive it instead.\n\nModel: Sales Order (sale.order)\nField: Customer "
            "(partner_id)");
      }
      if (!stored.contains("name") || IsFalsy(stored["name"])) {
        stored["name"] = absl::StrFormat("S%05d", ++order_sequence);
      }
      if (stored.contains("state") && stored["state"] != "draft") {
        ValueError("state is set by the workflow, not on create");
      }
    } else if (model == "sale.order.line") {
      if (!stored.contains("order_id") || IsFalsy(stored["order_id"])) {
        ValidationError("Missing required field 'order_id' on sale.order.line");
      }
      const bool note = stored.contains("display_type") && !IsFalsy(stored["display_type"]);
      if (note) {
        std::string t = stored["display_type"].get<std::string>();
        if (t != "line_note" && t != "line_section") {
          ValueError("Wrong value for sale.order.line.display_type: '" + t + "'");
        }
        if (stored.contains("product_id") && !IsFalsy(stored["product_id"])) {
          ValidationError("Forbidden product on a section or note line.");
        }
      } else if (!stored.contains("product_id") || IsFalsy(stored["product_id"])) {
        ValidationError("Missing required product on a sale order line.");
      }
      if (!note && (!stored.contains("name") || IsFalsy(stored["name"]))) {
        stored["name"] = DisplayName("product.product", stored["product_id"].get<int64_t>());
      }
      if (!note && !stored.contains("price_unit")) {
        stored["price_unit"] =
            Find("product.product", stored["product_id"].get<int64_t>())->at("list_price");
      }
      if (!stored.contains("product_uom_qty") && !note) stored["product_uom_qty"] = 1.0;
    }
    int64_t id = Insert(model, stored);
    ApplyOne2many(model, id, o2m);
    return id;
  }

  // --- Methods -------------------------------------------------------------------------

  std::vector<int64_t> IdsOf(const json& v) {
    std::vector<int64_t> ids;
    if (IsFalsy(v)) return ids;
    if (v.is_number_integer()) return {v.get<int64_t>()};
    if (!v.is_array()) TypeError("ids must be a list of integers");
    for (const json& x : v) {
      if (!x.is_number_integer()) TypeError("ids must be a list of integers");
      ids.push_back(x.get<int64_t>());
    }
    return ids;
  }

  void Exists(const std::string& model, const std::vector<int64_t>& ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<std::string> missing;
    for (int64_t id : ids) {
      if (Find(model, id) == nullptr) missing.push_back(std::to_string(id));
    }
    if (!missing.empty()) {
      MissingError(absl::StrCat("Record does not exist or has been deleted.\n(Record: ", model, "(",
                                absl::StrJoin(missing, ", "), ",), User: ", uid, ")"));
    }
  }

  // --- Deliveries (sale_stock, stock) -------------------------------------------------

  // A move's quantity: reserved, then done (17+), or done (quantity_done, up to 16).
  double MoveQty(const json& m) const {
    const char* f = major >= 17 ? "quantity" : "quantity_done";
    return m.value(f, json(0.0)).is_number() ? m[f].get<double>() : 0.0;
  }

  // action_confirm's procurement: one outgoing picking with a move per goods line, reserved in
  // full (reservation "at confirmation"; quants are not consulted here).
  void CreateDelivery(int64_t order_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const json& so = *Find("sale.order", order_id);
    std::vector<int64_t> goods;
    for (int64_t lid : Children("sale.order.line", "order_id", order_id)) {
      const json& l = *Find("sale.order.line", lid);
      if (!IsFalsy(l["display_type"]) || IsFalsy(l["product_id"])) continue;
      const json* product = Find("product.product", l["product_id"].get<int64_t>());
      if (product != nullptr && (*product).value("type", json(false)) == "service") continue;
      goods.push_back(lid);
    }
    if (goods.empty()) return;
    const int64_t picking = Insert("stock.picking", {{"name", NextPickingName()},
                                                     {"origin", so["name"]},
                                                     {"sale_id", order_id},
                                                     {"partner_id", so["partner_id"]},
                                                     {"state", "assigned"},
                                                     {"picking_type_code", "outgoing"}});
    for (int64_t lid : goods) {
      const json& l = *Find("sale.order.line", lid);
      AddMove(picking, l["product_id"].get<int64_t>(), lid, l["product_uom_qty"].get<double>(),
              l["name"]);
    }
  }

  std::string NextPickingName() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return absl::StrFormat("WH/OUT/%05d", ++picking_sequence);
  }

  void AddMove(int64_t picking, int64_t product, int64_t sale_line, double qty, const json& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    json vals = {{"name", name},           {"picking_id", picking},
                 {"product_id", product},  {"sale_line_id", sale_line},
                 {"product_uom_qty", qty}, {"state", "assigned"}};
    if (major >= 17) {
      vals["quantity"] = qty;  // reserved
      vals["picked"] = false;
    } else {
      vals["quantity_done"] = 0.0;
    }
    Insert("stock.move", vals);
  }

  // stock.picking.button_validate as Odoo 17/18 run it (16: quantity_done and the immediate
  // transfer wizard): a transfer without quantities is refused; moves with a quantity but none
  // picked are all marked picked; unless the context says `skip_backorder`, a transfer with less
  // than its demand returns the stock.backorder.confirmation wizard and validates nothing.
  // Otherwise the picked quantities are done and the rest goes to a backorder — or is cancelled
  // for pickings in `picking_ids_not_to_backorder`.
  json ButtonValidate(const std::vector<int64_t>& ids, const json& context)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto ctx = [&](const char* key) {
      return context.is_object() && context.contains(key) && !IsFalsy(context[key]);
    };
    std::vector<int64_t> not_to_backorder;
    if (context.is_object() && context.contains("picking_ids_not_to_backorder")) {
      not_to_backorder = IdsOf(context["picking_ids_not_to_backorder"]);
    }
    auto open_moves = [&](int64_t pid) {
      std::vector<int64_t> out;
      for (int64_t mid : Children("stock.move", "picking_id", pid)) {
        const json& m = *Find("stock.move", mid);
        if (m["state"] != "done" && m["state"] != "cancel") out.push_back(mid);
      }
      return out;
    };
    for (int64_t pid : ids) {
      const json& p = *Find("stock.picking", pid);
      if (p["state"] == "done" || p["state"] == "cancel") {
        UserError(absl::StrCat("The transfer ", p["name"].get<std::string>(),
                               " is already done or cancelled."));
      }
      bool any_qty = false, any_picked = false;
      for (int64_t mid : open_moves(pid)) {
        const json& m = *Find("stock.move", mid);
        any_qty = any_qty || MoveQty(m) > 0;
        any_picked = any_picked || (major >= 17 && m.value("picked", false));
      }
      if (!any_qty) {
        if (major <= 16 && !ctx("skip_immediate")) {
          return json{{"name", "Immediate Transfer?"},
                      {"type", "ir.actions.act_window"},
                      {"res_model", "stock.immediate.transfer"},
                      {"target", "new"}};
        }
        UserError(
            "You cannot validate a transfer if no quantities are reserved. To force the "
            "transfer, encode quantities.");
      }
      if (major >= 17 && !any_picked) {
        for (int64_t mid : open_moves(pid)) (*Find("stock.move", mid))["picked"] = true;
      }
    }
    if (!ctx("skip_backorder")) {
      for (int64_t pid : ids) {
        for (int64_t mid : open_moves(pid)) {
          const json& m = *Find("stock.move", mid);
          const bool picked = major >= 17 ? m.value("picked", false) : MoveQty(m) > 0;
          if (!picked || MoveQty(m) < m["product_uom_qty"].get<double>()) {
            return json{{"name", "Create Backorder?"},
                        {"type", "ir.actions.act_window"},
                        {"res_model", "stock.backorder.confirmation"},
                        {"target", "new"},
                        {"context", {{"default_pick_ids", json::array({json::array({4, pid})})}}}};
          }
        }
      }
    }
    const std::string now = absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::UTCTimeZone());
    for (int64_t pid : ids) {
      const bool cancel_rest = std::find(not_to_backorder.begin(), not_to_backorder.end(), pid) !=
                               not_to_backorder.end();
      std::vector<std::pair<int64_t, double>> split;  // partly done move, remaining demand
      std::vector<int64_t> carry;                     // moves not done at all
      for (int64_t mid : open_moves(pid)) {
        json& m = *Find("stock.move", mid);
        const double qty = MoveQty(m);
        const bool picked = major >= 17 ? m.value("picked", false) : qty > 0;
        const double demand = m["product_uom_qty"].get<double>();
        if (picked && qty > 0) {
          m["state"] = "done";
          m["product_uom_qty"] = qty;
          if (qty < demand) split.emplace_back(mid, demand - qty);
        } else {
          carry.push_back(mid);
        }
      }
      json& p = *Find("stock.picking", pid);
      p["state"] = "done";
      p["date_done"] = now;
      if (cancel_rest) {
        for (int64_t mid : carry) (*Find("stock.move", mid))["state"] = "cancel";
        continue;
      }
      if (split.empty() && carry.empty()) continue;
      const json origin = p["origin"], sale = p["sale_id"], partner = p["partner_id"];
      const int64_t backorder = Insert("stock.picking", {{"name", NextPickingName()},
                                                         {"origin", origin},
                                                         {"sale_id", sale},
                                                         {"partner_id", partner},
                                                         {"backorder_id", pid},
                                                         {"state", "assigned"},
                                                         {"picking_type_code", "outgoing"}});
      for (int64_t mid : carry) {
        json& m = *Find("stock.move", mid);
        m["picking_id"] = backorder;
        if (major >= 17) {
          m["quantity"] = m["product_uom_qty"];
          m["picked"] = false;
        }
      }
      for (const auto& [mid, remaining] : split) {
        const json m = *Find("stock.move", mid);
        AddMove(backorder, m["product_id"].get<int64_t>(), m["sale_line_id"].get<int64_t>(),
                remaining, m["name"]);
      }
    }
    return true;
  }

  // Runs model.method with bound arguments. Sets *drop when the answer must be lost.
  json Execute(Protocol protocol, const std::string& model, const std::string& method,
               std::vector<int64_t> ids, json args, const json& context, bool* drop)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const std::string key = model + "." + method;
    if (auto f = fail_calls.find(key); f != fail_calls.end()) {
      int status = f->second;
      fail_calls.erase(f);
      ++stats.injected_failures;
      throw InjectedHttpFailure{status};
    }
    ++calls[key];
    auto arg = [&](const char* name) -> const json& {
      static const json kNull;
      auto it = args.find(name);
      return it == args.end() ? kNull : *it;
    };

    if (method == "search") {
      return Search(model, arg("domain"), arg("offset"), arg("limit"), arg("order"));
    }
    if (method == "search_count") {
      return Search(model, arg("domain"), json(), arg("limit"), json()).size();
    }
    if (method == "search_read") {
      CheckFields(model, arg("fields"));
      json out = json::array();
      for (int64_t id : Search(model, arg("domain"), arg("offset"), arg("limit"), arg("order"))) {
        out.push_back(Render(model, *Find(model, id), arg("fields")));
      }
      return out;
    }
    if (method == "read") {
      CheckFields(model, arg("fields"));
      Exists(model, ids);
      json out = json::array();
      for (int64_t id : ids) out.push_back(Render(model, *Find(model, id), arg("fields")));
      return out;
    }
    if (method == "create") {
      const json& vals = arg("vals_list");
      const bool single = vals.is_object();
      if (!single && !vals.is_array()) TypeError("create() takes a dict or a list of dicts");
      // One transaction: validate everything on a copy, commit only when all succeed.
      std::map<std::string, Model> snapshot = models;
      int64_t seq = order_sequence;
      std::vector<int64_t> created;
      try {
        if (single) {
          created.push_back(CreateOne(model, vals));
        } else {
          for (const json& v : vals) created.push_back(CreateOne(model, v));
        }
      } catch (...) {
        models = std::move(snapshot);
        order_sequence = seq;
        throw;
      }
      if (model == "sale.order" && drop_next_create) {
        drop_next_create = false;
        ++stats.dropped_responses;
        *drop = true;
      }
      if (single && protocol == Protocol::kJsonRpc) return created[0];
      return created;
    }
    if (method == "write") {
      Exists(model, ids);
      json o2m = json::object();
      json stored = PrepareValues(model, arg("vals"), &o2m);
      for (int64_t id : ids) {
        for (auto& [k, v] : stored.items()) (*Find(model, id))[k] = v;
        ApplyOne2many(model, id, o2m);
      }
      return true;
    }
    if (method == "action_confirm") {
      Exists(model, ids);
      for (int64_t id : ids) {
        json& so = *Find(model, id);
        const std::string state = so["state"].get<std::string>();
        if (state != "draft" && state != "sent") {
          if (major <= 16) {
            UserError(absl::StrCat(
                "It is not allowed to confirm an order in the following states: ", state));
          }
          UserError("Some orders are not in a state requiring confirmation.");
        }
        for (int64_t lid : Children("sale.order.line", "order_id", id)) {
          const json& l = *Find("sale.order.line", lid);
          if (IsFalsy(l["display_type"]) && IsFalsy(l["product_id"])) {
            UserError("A line on these orders missing a product, you cannot confirm it.");
          }
        }
      }
      for (int64_t id : ids) {
        (*Find(model, id))["state"] = "sale";
        CreateDelivery(id);
      }
      return true;
    }
    if (method == "action_cancel") {
      Exists(model, ids);
      for (int64_t id : ids) {
        const json& so = *Find(model, id);
        if ((so.contains("locked") && so["locked"].get<bool>()) || so["state"] == "done") {
          UserError("You cannot cancel a locked order. Please unlock it first.");
        }
      }
      bool warn = !(context.is_object() && context.value("disable_cancel_warning", false));
      bool any_non_draft = false;
      for (int64_t id : ids)
        any_non_draft = any_non_draft || (*Find(model, id))["state"] != "draft";
      if (warn && any_non_draft) {
        if (ids.size() != 1) ValueError("Expected singleton: sale.order" + json(ids).dump());
        // The wizard action Odoo returns instead of cancelling (sale.order.cancel).
        return json{{"name", "Cancel Sales Order"},
                    {"view_mode", "form"},
                    {"res_model", "sale.order.cancel"},
                    {"type", "ir.actions.act_window"},
                    {"context", {{"default_order_id", ids[0]}, {"mark_so_as_canceled", true}}},
                    {"target", "new"}};
      }
      for (int64_t id : ids) {
        (*Find(model, id))["state"] = "cancel";
        for (int64_t pid : Children("stock.picking", "sale_id", id)) {
          json& p = *Find("stock.picking", pid);
          if (p["state"] == "done") continue;
          p["state"] = "cancel";
          for (int64_t mid : Children("stock.move", "picking_id", pid)) {
            (*Find("stock.move", mid))["state"] = "cancel";
          }
        }
      }
      return true;
    }
    if (method == "button_validate") {
      Exists(model, ids);
      json result = ButtonValidate(ids, context);
      if (result == json(true) && drop_next_validate) {
        drop_next_validate = false;
        ++stats.dropped_responses;
        *drop = true;
      }
      return result;
    }
    ValueError("unsimulated method " + method);
  }

  // Resolves the method and binds positional + keyword arguments to named parameters.
  json Call(Protocol protocol, const std::string& model, const std::string& method, json ids_json,
            const json& positional, const json& kwargs, bool* drop)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    SchemaOf(model);
    if (!method.empty() && method[0] == '_') {
      AccessError(absl::StrCat("Private methods (such as '", model, ".", method,
                               "') cannot be called remotely."));
    }
    auto sig_it = Methods().find(method);
    if (sig_it == Methods().end() ||
        (!sig_it->second.only_model.empty() && sig_it->second.only_model != model)) {
      Raise("builtins.AttributeError",
            absl::StrCat("The method '", method, "' does not exist on the model '", model, "'"),
            404);
    }
    const MethodSig& sig = sig_it->second;
    json pos = positional.is_array() ? positional : json::array();
    if (sig.record_method && protocol == Protocol::kJsonRpc) {
      if (pos.empty()) TypeError(absl::StrCat(method, "() missing the record ids"));
      ids_json = pos[0];
      pos.erase(pos.begin());
    }
    if (!sig.record_method && !IsFalsy(ids_json) && !(ids_json.is_array() && ids_json.empty())) {
      TypeError(absl::StrCat("cannot call ", model, ".", method, " with ids"));
    }
    if (pos.size() > sig.params.size()) {
      TypeError(absl::StrFormat("%s() takes %d positional arguments but %d were given", method,
                                sig.params.size() + 1, pos.size() + 1));
    }
    json bound = json::object();
    for (size_t i = 0; i < pos.size(); ++i) bound[sig.params[i]] = pos[i];
    json context = json::object();
    if (kwargs.is_object()) {
      for (const auto& [k, v] : kwargs.items()) {
        if (k == "context") {
          context = v;
          continue;
        }
        if (std::find(sig.params.begin(), sig.params.end(), k) == sig.params.end()) {
          TypeError(absl::StrCat(method, "() got an unexpected keyword argument '", k, "'"));
        }
        if (bound.contains(k)) {
          TypeError(absl::StrCat(method, "() got multiple values for argument '", k, "'"));
        }
        bound[k] = v;
      }
    }
    if (method == "create" && !bound.contains("vals_list")) {
      TypeError("create() missing 1 required positional argument: 'vals_list'");
    }
    if ((method == "search" || method == "search_count") && !bound.contains("domain")) {
      TypeError(absl::StrCat(method, "() missing 1 required positional argument: 'domain'"));
    }
    return Execute(protocol, model, method, IdsOf(ids_json), std::move(bound), context, drop);
  }
};

// ---------------------------------------------------------------------------------------

OdooSim::OdooSim() : OdooSim(Options()) {}

OdooSim::OdooSim(Options options) : options_(std::move(options)) {
  major_ = ParseVersion(options_.version).first;
  impl_ = std::make_unique<Impl>(options_, major_);
}

OdooSim::~OdooSim() { Stop(); }

absl::Status OdooSim::Start() {
  net::HttpServerOptions so;
  so.host = options_.host;
  so.port = options_.port;
  so.threads = options_.threads;
  server_ = std::make_unique<net::HttpServer>(so, BuildRouter());
  return server_->Start();
}

void OdooSim::Stop() {
  if (server_) server_->Stop();
}

uint16_t OdooSim::port() const { return server_ ? server_->port() : 0; }

std::string OdooSim::url() const { return absl::StrCat("http://", options_.host, ":", port()); }

int64_t OdooSim::AddProduct(std::string_view default_code, std::string_view name,
                            double list_price) {
  absl::MutexLock lock(&impl_->mu);
  return impl_->Insert("product.product", {{"default_code", std::string(default_code)},
                                           {"name", std::string(name)},
                                           {"list_price", list_price}});
}

int64_t OdooSim::AddLocation(std::string_view complete_name, std::string_view usage) {
  absl::MutexLock lock(&impl_->mu);
  for (const auto& [id, rec] : impl_->models["stock.location"].records) {
    if (rec["complete_name"] == json(std::string(complete_name))) return id;
  }
  std::string_view name = complete_name.substr(complete_name.rfind('/') + 1);
  return impl_->Insert("stock.location", {{"name", std::string(name)},
                                          {"complete_name", std::string(complete_name)},
                                          {"usage", std::string(usage)}});
}

int64_t OdooSim::SetQuant(std::string_view default_code, std::string_view location, double quantity,
                          double reserved_quantity, std::optional<absl::Time> at,
                          std::string_view lot) {
  const int64_t location_id = AddLocation(location);
  absl::MutexLock lock(&impl_->mu);
  int64_t product_id = -1;
  for (const auto& [id, rec] : impl_->models["product.product"].records) {
    if (rec["default_code"] == json(std::string(default_code))) {
      product_id = id;
      break;
    }
  }
  if (product_id < 0) return -1;
  json lot_id = false;
  if (!lot.empty()) {
    for (const auto& [id, rec] : impl_->models["stock.lot"].records) {
      if (rec["name"] == json(std::string(lot)) && rec["product_id"] == json(product_id))
        lot_id = id;
    }
    if (lot_id == json(false)) {
      lot_id = impl_->Insert("stock.lot", {{"name", std::string(lot)}, {"product_id", product_id}});
    }
  }
  const std::string write_date =
      absl::FormatTime("%Y-%m-%d %H:%M:%S", at.value_or(absl::Now()), absl::UTCTimeZone());
  for (auto& [id, rec] : impl_->models["stock.quant"].records) {
    if (rec["product_id"] == json(product_id) && rec["location_id"] == json(location_id) &&
        rec["lot_id"] == lot_id) {
      rec["quantity"] = quantity;
      rec["reserved_quantity"] = reserved_quantity;
      rec["write_date"] = write_date;
      return id;
    }
  }
  return impl_->Insert("stock.quant", {{"product_id", product_id},
                                       {"location_id", location_id},
                                       {"lot_id", lot_id},
                                       {"quantity", quantity},
                                       {"reserved_quantity", reserved_quantity},
                                       {"write_date", write_date}});
}

namespace {
std::vector<const json*> OrdersByRef(std::map<int64_t, json>& records, std::string_view ref) {
  std::vector<const json*> out;
  for (const auto& [id, rec] : records) {
    const json& r = rec["client_order_ref"];
    if (r.is_string() && absl::EqualsIgnoreCase(r.get<std::string>(), core::AbslSv(ref))) {
      out.push_back(&rec);
    }
  }
  return out;
}
}  // namespace

int64_t OdooSim::CountSaleOrders(std::string_view ref) {
  absl::MutexLock lock(&impl_->mu);
  return OrdersByRef(impl_->models["sale.order"].records, ref).size();
}

int64_t OdooSim::SaleOrderLineCount(std::string_view ref) {
  absl::MutexLock lock(&impl_->mu);
  auto orders = OrdersByRef(impl_->models["sale.order"].records, ref);
  if (orders.empty()) return -1;
  return impl_->Children("sale.order.line", "order_id", (*orders[0])["id"].get<int64_t>()).size();
}

std::optional<json> OdooSim::SaleOrder(std::string_view ref) {
  absl::MutexLock lock(&impl_->mu);
  auto orders = OrdersByRef(impl_->models["sale.order"].records, ref);
  if (orders.empty()) return std::nullopt;
  return *orders[0];
}

json OdooSim::SaleOrderLines(std::string_view ref) {
  absl::MutexLock lock(&impl_->mu);
  json out = json::array();
  auto orders = OrdersByRef(impl_->models["sale.order"].records, ref);
  if (orders.empty()) return out;
  for (int64_t lid :
       impl_->Children("sale.order.line", "order_id", (*orders[0])["id"].get<int64_t>())) {
    out.push_back(*impl_->Find("sale.order.line", lid));
  }
  return out;
}

int64_t OdooSim::CountPartners(std::string_view email) {
  absl::MutexLock lock(&impl_->mu);
  int64_t n = 0;
  for (const auto& [id, rec] : impl_->models["res.partner"].records) {
    const json& e = rec["email"];
    if (e.is_string() && absl::EqualsIgnoreCase(e.get<std::string>(), core::AbslSv(email))) ++n;
  }
  return n;
}

std::optional<json> OdooSim::Partner(std::string_view email) {
  absl::MutexLock lock(&impl_->mu);
  for (const auto& [id, rec] : impl_->models["res.partner"].records) {
    const json& e = rec["email"];
    if (e.is_string() && absl::EqualsIgnoreCase(e.get<std::string>(), core::AbslSv(email))) {
      return rec;
    }
  }
  return std::nullopt;
}

bool OdooSim::SetOrderState(std::string_view ref, std::string_view state) {
  absl::MutexLock lock(&impl_->mu);
  bool any = false;
  for (auto& [id, rec] : impl_->models["sale.order"].records) {
    const json& r = rec["client_order_ref"];
    if (!r.is_string() || !absl::EqualsIgnoreCase(r.get<std::string>(), core::AbslSv(ref))) {
      continue;
    }
    any = true;
    if (state == "done" && major_ >= 17) {
      rec["state"] = "sale";
      rec["locked"] = true;
    } else {
      rec["state"] = std::string(state);
      if (rec.contains("locked")) rec["locked"] = false;
    }
  }
  return any;
}

void OdooSim::SetUid(int64_t uid) {
  absl::MutexLock lock(&impl_->mu);
  impl_->uid = uid;
}

void OdooSim::DropResponseAfterNextOrderCreate() {
  absl::MutexLock lock(&impl_->mu);
  impl_->drop_next_create = true;
}

void OdooSim::DropResponseAfterNextValidate() {
  absl::MutexLock lock(&impl_->mu);
  impl_->drop_next_validate = true;
}

double OdooSim::QtyDelivered(std::string_view ref, std::string_view default_code) {
  absl::MutexLock lock(&impl_->mu);
  auto orders = OrdersByRef(impl_->models["sale.order"].records, ref);
  double total = 0;
  if (orders.empty()) return total;
  const int64_t order_id = (*orders[0])["id"].get<int64_t>();
  for (int64_t lid : impl_->Children("sale.order.line", "order_id", order_id)) {
    const json& l = *impl_->Find("sale.order.line", lid);
    if (IsFalsy(l["product_id"])) continue;
    const json* product = impl_->Find("product.product", l["product_id"].get<int64_t>());
    if (product == nullptr || (*product)["default_code"] != json(std::string(default_code))) {
      continue;
    }
    total += impl_->ReadValue("sale.order.line", l, "qty_delivered").get<double>();
  }
  return total;
}

nlohmann::json OdooSim::Pickings(std::string_view ref) {
  absl::MutexLock lock(&impl_->mu);
  json out = json::array();
  auto orders = OrdersByRef(impl_->models["sale.order"].records, ref);
  if (orders.empty()) return out;
  for (int64_t pid :
       impl_->Children("stock.picking", "sale_id", (*orders[0])["id"].get<int64_t>())) {
    json p = *impl_->Find("stock.picking", pid);
    json moves = json::array();
    for (int64_t mid : impl_->Children("stock.move", "picking_id", pid)) {
      moves.push_back(*impl_->Find("stock.move", mid));
    }
    p["moves"] = moves;
    out.push_back(p);
  }
  return out;
}

void OdooSim::FailNextRequests(int n, int http_status, int retry_after_seconds) {
  absl::MutexLock lock(&impl_->mu);
  impl_->fail_next = n;
  impl_->fail_status = http_status;
  impl_->fail_retry_after = retry_after_seconds;
}

void OdooSim::FailNextCall(std::string_view model, std::string_view method, int http_status) {
  absl::MutexLock lock(&impl_->mu);
  impl_->fail_calls[absl::StrCat(core::AbslSv(model), ".", core::AbslSv(method))] = http_status;
}

void OdooSim::SetLatency(absl::Duration latency) {
  absl::MutexLock lock(&impl_->mu);
  impl_->latency = latency;
}

OdooSim::Stats OdooSim::stats() {
  absl::MutexLock lock(&impl_->mu);
  return impl_->stats;
}

int64_t OdooSim::CallCount(std::string_view model, std::string_view method) {
  absl::MutexLock lock(&impl_->mu);
  auto it = impl_->calls.find(absl::StrCat(core::AbslSv(model), ".", core::AbslSv(method)));
  return it == impl_->calls.end() ? 0 : it->second;
}

// ---------------------------------------------------------------------------------------
// HTTP.

namespace {

json SerializeError(const OdooError& e) {
  return json{{"name", e.name},
              {"message", e.message},
              {"arguments", json::array({e.message})},
              {"context", json::object()},
              {"debug", absl::StrCat("Traceback (most recent call last):\n  (simulated)\n", e.name,
                                     ": ", e.message, "\n")}};
}

std::optional<json> ParseBody(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace

net::Router OdooSim::BuildRouter() {
  net::Router router;
  Impl* impl = impl_.get();
  const Options* opts = &options_;
  const int major = major_;

  // Latency, the request counter and FailNextRequests, for every non-admin request.
  auto pre = [impl](Protocol* protocol) -> std::optional<net::HttpResponse> {
    absl::Duration latency;
    {
      absl::MutexLock lock(&impl->mu);
      latency = impl->latency;
    }
    if (latency > absl::ZeroDuration()) absl::SleepFor(latency);
    absl::MutexLock lock(&impl->mu);
    ++impl->stats.requests;
    if (protocol != nullptr) {
      ++(*protocol == Protocol::kJsonRpc ? impl->stats.jsonrpc_requests
                                         : impl->stats.json2_requests);
    }
    if (impl->fail_next > 0) {
      --impl->fail_next;
      ++impl->stats.injected_failures;
      return HtmlError(impl->fail_status, impl->fail_retry_after);
    }
    return std::nullopt;
  };

  router.Add(
      http::verb::post, "/jsonrpc",
      [impl, opts, major, pre](net::HttpRequest& req, net::Responder respond) {
        Protocol p = Protocol::kJsonRpc;
        if (auto early = pre(&p)) return respond(std::move(*early));
        std::optional<json> body = ParseBody(req.raw.body());
        json id = nullptr;
        auto reply_error = [&](const OdooError& e) {
          // Odoo's JsonRPCDispatcher.handle_error: error.code 200 ("totally arbitrary")
          // up to 18, 0 from 19 on; always HTTP 200.
          json err{{"code", major >= 19 ? 0 : 200},
                   {"message", "Odoo Server Error"},
                   {"data", SerializeError(e)}};
          respond(JsonResponse(200, {{"jsonrpc", "2.0"}, {"id", id}, {"error", err}}));
        };
        if (!body || !body->is_object()) {
          return reply_error(
              {"werkzeug.exceptions.BadRequest", "400 Bad Request: Invalid JSON data", 400});
        }
        id = body->value("id", json(nullptr));
        bool drop = false;
        try {
          const json& params = body->at("params");
          const std::string service = params.at("service").get<std::string>();
          const std::string method = params.at("method").get<std::string>();
          json args = params.value("args", json::array());
          if (!args.is_array()) TypeError("args must be a list");
          json result;
          absl::MutexLock lock(&impl->mu);
          auto check_db = [&](const json& db) {
            if (!db.is_string() || db.get<std::string>() != opts->database) {
              Raise("psycopg2.OperationalError",
                    absl::StrCat("connection to server failed: FATAL:  database \"",
                                 db.is_string() ? db.get<std::string>() : db.dump(),
                                 "\" does not exist"),
                    500);
            }
          };
          auto secret_ok = [&](const json& pw) {
            return pw.is_string() && (pw.get<std::string>() == opts->password ||
                                      pw.get<std::string>() == opts->api_key);
          };
          if (service == "common") {
            if (method == "version") {
              ++impl->stats.version_calls;
              auto [maj, min] = ParseVersion(opts->version);
              json head = absl::StartsWith(opts->version, "saas~")
                              ? json(absl::StrCat("saas~", maj))
                              : json(maj);
              result = {{"server_version", opts->version},
                        {"server_version_info", {head, min, 0, "final", 0, ""}},
                        {"server_serie", opts->version},
                        {"protocol_version", 1}};
            } else if (method == "login" || method == "authenticate") {
              ++impl->stats.authenticate_calls;
              if (args.size() < 3) TypeError(method + "() missing arguments");
              check_db(args[0]);
              result =
                  (args[1] == opts->login && secret_ok(args[2])) ? json(impl->uid) : json(false);
            } else {
              Raise("builtins.KeyError", "'" + method + "'", 404);
            }
          } else if (service == "object") {
            if (method != "execute_kw" && method != "execute") {
              Raise("builtins.NameError", absl::StrCat("Method not available ", method), 404);
            }
            if (args.size() < 5) TypeError(method + "() missing arguments");
            check_db(args[0]);
            if (!args[1].is_number_integer() || args[1].get<int64_t>() != impl->uid ||
                !secret_ok(args[2])) {
              AccessDenied();
            }
            const std::string model = args[3].get<std::string>();
            const std::string m = args[4].get<std::string>();
            json positional = json::array();
            json kwargs = json::object();
            if (method == "execute_kw") {
              if (args.size() > 5) positional = args[5];
              if (args.size() > 6) kwargs = args[6];
            } else {
              for (size_t i = 5; i < args.size(); ++i) positional.push_back(args[i]);
            }
            result = impl->Call(Protocol::kJsonRpc, model, m, json(), positional, kwargs, &drop);
          } else {
            Raise("builtins.KeyError", "'" + service + "'", 404);
          }
          // Committed. Returning without calling `respond` drops the last reference to the
          // server's session, which closes the socket: the client sees the connection end with
          // no answer.
          if (drop) return;
          respond(JsonResponse(200, {{"jsonrpc", "2.0"}, {"id", id}, {"result", result}}));
        } catch (const OdooError& e) {
          reply_error(e);
        } catch (const InjectedHttpFailure& f) {
          respond(HtmlError(f.http_status, 0));
        } catch (const json::exception& e) {
          reply_error({"builtins.TypeError", e.what(), 422});
        }
      });

  if (major >= 19) {
    router.Add(http::verb::get, "/web/version",
               [impl, opts, pre](net::HttpRequest&, net::Responder respond) {
                 if (auto early = pre(nullptr)) return respond(std::move(*early));
                 auto [maj, min] = ParseVersion(opts->version);
                 {
                   absl::MutexLock lock(&impl->mu);
                   ++impl->stats.version_calls;
                 }
                 respond(JsonResponse(200, {{"version_info", {maj, min, 0, "final", 0, ""}},
                                            {"version", opts->version}}));
               });

    router.Add(
        http::verb::post, "/json/2/{model}/{method}",
        [impl, opts, pre](net::HttpRequest& req, net::Responder respond) {
          Protocol p = Protocol::kJson2;
          if (auto early = pre(&p)) return respond(std::move(*early));
          auto reply_error = [&](const OdooError& e) {
            respond(JsonResponse(e.http_status, SerializeError(e)));
          };
          std::string auth(req.Header("Authorization"));
          absl::string_view key = auth;
          if (!absl::ConsumePrefix(&key, "bearer ") && !absl::ConsumePrefix(&key, "Bearer ")) {
            key = "";
          }
          if (key.empty() || std::string(key) != opts->api_key) {
            return reply_error({"werkzeug.exceptions.Unauthorized", "Invalid apikey", 401});
          }
          std::string db(req.Header("X-Odoo-Database"));
          if (!db.empty() && db != opts->database) {
            return reply_error({"werkzeug.exceptions.NotFound",
                                absl::StrCat("database \"", db, "\" not found"), 404});
          }
          json body = json::object();
          if (!req.raw.body().empty()) {
            std::optional<json> parsed = ParseBody(req.raw.body());
            if (!parsed) {
              return reply_error(
                  {"werkzeug.exceptions.BadRequest", "could not parse the body as json", 400});
            }
            if (!parsed->is_object()) {
              return reply_error({"werkzeug.exceptions.BadRequest",
                                  "could not parse the body, expecting a json object", 400});
            }
            body = std::move(*parsed);
          }
          const std::string model = req.params["model"];
          const std::string method = req.params["method"];
          bool drop = false;
          try {
            json ids = body.contains("ids") ? body["ids"] : json::array();
            body.erase("ids");
            json result;
            {
              absl::MutexLock lock(&impl->mu);
              if (Schemas().find(model) == Schemas().end()) {
                Raise("werkzeug.exceptions.NotFound",
                      absl::StrCat("the model '", model, "' does not exist"), 404);
              }
              result = impl->Call(Protocol::kJson2, model, method, ids, json::array(), body, &drop);
            }
            if (drop) return;  // as in /jsonrpc: the connection closes unanswered
            respond(JsonResponse(200, result));
          } catch (const OdooError& e) {
            OdooError out = e;
            if (e.name == "builtins.AttributeError") {
              out = {"werkzeug.exceptions.NotFound", e.message, 404};
            } else if (e.name == "builtins.TypeError") {
              out = {"werkzeug.exceptions.UnprocessableEntity", e.message, 422};
            }
            reply_error(out);
          } catch (const InjectedHttpFailure& f) {
            respond(HtmlError(f.http_status, 0));
          } catch (const json::exception& e) {
            reply_error({"werkzeug.exceptions.UnprocessableEntity", e.what(), 422});
          }
        });
  }

  // --- Admin ---------------------------------------------------------------------------
  auto bad = [](std::string detail) {
    return net::Problem(http::status::bad_request, "Bad Request", detail);
  };
  router.Add(http::verb::post, "/_sim/products",
             [this, bad](net::HttpRequest& req, net::Responder respond) {
               std::optional<json> b = ParseBody(req.raw.body());
               if (!b || !b->is_object() || !(*b)["default_code"].is_string()) {
                 return respond(bad("need {\"default_code\",\"name\",\"list_price\"}"));
               }
               std::string code = (*b)["default_code"].get<std::string>();
               std::string name = b->value("name", code);
               double price = b->value("list_price", 0.0);
               respond(JsonResponse(200, {{"id", AddProduct(code, name, price)}}));
             });
  router.Add(
      http::verb::post, "/_sim/quants", [this, bad](net::HttpRequest& req, net::Responder respond) {
        std::optional<json> b = ParseBody(req.raw.body());
        if (!b || !b->is_object() || !(*b)["default_code"].is_string() ||
            !(*b)["location"].is_string() || !(*b)["quantity"].is_number()) {
          return respond(bad("need {\"default_code\",\"location\",\"quantity\"}"));
        }
        int64_t id =
            SetQuant((*b)["default_code"].get<std::string>(), (*b)["location"].get<std::string>(),
                     (*b)["quantity"].get<double>(), b->value("reserved_quantity", 0.0),
                     std::nullopt, b->value("lot", std::string()));
        if (id < 0) return respond(bad("no product with that default_code"));
        respond(JsonResponse(200, {{"id", id}}));
      });
  router.Add(
      http::verb::get, "/_sim/sale_orders", [this](net::HttpRequest& req, net::Responder respond) {
        std::string ref = req.QueryParam("client_order_ref");
        std::optional<json> so = SaleOrder(ref);
        respond(
            JsonResponse(200, {{"count", CountSaleOrders(ref)},
                               {"lines", SaleOrderLineCount(ref)},
                               {"state", so ? (*so)["state"] : json(nullptr)},
                               {"locked", so ? so->value("locked", json(false)) : json(nullptr)}}));
      });
  router.Add(http::verb::post, "/_sim/sale_orders/state",
             [this, bad](net::HttpRequest& req, net::Responder respond) {
               std::optional<json> b = ParseBody(req.raw.body());
               if (!b || !b->is_object() || !(*b)["client_order_ref"].is_string() ||
                   !(*b)["state"].is_string()) {
                 return respond(bad("need {\"client_order_ref\",\"state\"}"));
               }
               if (!SetOrderState((*b)["client_order_ref"].get<std::string>(),
                                  (*b)["state"].get<std::string>())) {
                 return respond(net::Problem(http::status::not_found, "Not Found",
                                             "no sale order with that client_order_ref"));
               }
               respond(JsonResponse(200, {{"ok", true}}));
             });
  router.Add(http::verb::get, "/_sim/partners",
             [this](net::HttpRequest& req, net::Responder respond) {
               respond(JsonResponse(200, {{"count", CountPartners(req.QueryParam("email"))}}));
             });
  router.Add(http::verb::post, "/_sim/faults",
             [this, bad](net::HttpRequest& req, net::Responder respond) {
               std::optional<json> b = ParseBody(req.raw.body());
               if (!b || !b->is_object()) return respond(bad("need a JSON object"));
               try {
                 if (b->value("drop_response_after_next_order_create", false)) {
                   DropResponseAfterNextOrderCreate();
                 }
                 if (b->value("drop_response_after_next_validate", false)) {
                   DropResponseAfterNextValidate();
                 }
                 if (int n = b->value("fail_next_requests", 0); n > 0) {
                   FailNextRequests(n, b->value("status", 503), b->value("retry_after", 0));
                 }
                 if (b->contains("latency_ms")) {
                   SetLatency(absl::Milliseconds((*b)["latency_ms"].get<int64_t>()));
                 }
               } catch (const json::exception& e) {
                 return respond(bad(e.what()));
               }
               respond(JsonResponse(200, {{"ok", true}}));
             });
  router.Add(http::verb::post, "/_sim/uid",
             [this, bad](net::HttpRequest& req, net::Responder respond) {
               std::optional<json> b = ParseBody(req.raw.body());
               if (!b || !b->is_object() || !(*b)["uid"].is_number_integer()) {
                 return respond(bad("need {\"uid\": N}"));
               }
               SetUid((*b)["uid"].get<int64_t>());
               respond(JsonResponse(200, {{"ok", true}}));
             });
  router.Add(http::verb::get, "/_sim/stats", [this](net::HttpRequest&, net::Responder respond) {
    Stats s = stats();
    json calls = json::object();
    {
      absl::MutexLock lock(&impl_->mu);
      for (const auto& [k, v] : impl_->calls) calls[k] = v;
    }
    respond(JsonResponse(200, {{"requests", s.requests},
                               {"jsonrpc_requests", s.jsonrpc_requests},
                               {"json2_requests", s.json2_requests},
                               {"version_calls", s.version_calls},
                               {"authenticate_calls", s.authenticate_calls},
                               {"injected_failures", s.injected_failures},
                               {"dropped_responses", s.dropped_responses},
                               {"calls", calls}}));
  });
  return router;
}

}  // namespace keelson::sim
