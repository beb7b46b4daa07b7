#include "connectors/erp/odoo/adapter.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/erp/odoo/mapping.h"
#include "core/strings.h"

namespace keelson::connectors::odoo {
namespace {

using json = nlohmann::json;

std::string Lower(std::string_view s) { return absl::AsciiStrToLower(core::AbslSv(s)); }

std::optional<int64_t> ParseId(std::string_view id) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(core::AbslSv(id), &v) || v <= 0) return std::nullopt;
  return v;
}

std::string StrField(const json& record, const char* field) {
  auto it = record.find(field);
  return (it != record.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// The first id of a create's answer: JSON-RPC gives an id for a dict and ids for a list,
// JSON-2 always ids.
absl::StatusOr<int64_t> CreatedId(const json& result, std::string_view what) {
  if (result.is_number_integer()) return result.get<int64_t>();
  if (result.is_array() && !result.empty() && result[0].is_number_integer()) {
    return result[0].get<int64_t>();
  }
  return absl::InternalError(
      absl::StrCat("odoo ", core::AbslSv(what), ".create: unexpected answer ", result.dump()));
}

// A float quantity of Odoo as whole units (Keelson ships whole units).
int64_t Units(const json& v) { return v.is_number() ? std::llround(v.get<double>()) : 0; }

}  // namespace

// --- KeyedLocks ----------------------------------------------------------------------------

KeyedLocks::Guard::Guard(KeyedLocks* owner, std::string key) : owner_(owner), key_(std::move(key)) {
  Entry* e;
  {
    absl::MutexLock lock(&owner_->mu_);
    auto& slot = owner_->entries_[key_];
    if (slot == nullptr) slot = std::make_unique<Entry>();
    ++slot->users;
    e = slot.get();
  }
  e->mu.Lock();
}

KeyedLocks::Guard::~Guard() {
  absl::MutexLock lock(&owner_->mu_);
  auto it = owner_->entries_.find(key_);
  it->second->mu.Unlock();
  if (--it->second->users == 0) owner_->entries_.erase(it);
}

size_t KeyedLocks::size() {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

// --- OdooAdapter ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<OdooAdapter>> OdooAdapter::Create(OdooAdapterOptions options,
                                                                 net::HttpClient& http) {
  std::vector<std::string> missing;
  if (options.url.empty()) missing.push_back("url");
  if (options.protocol == Protocol::kJson2) {
    if (options.api_key.empty()) missing.push_back("api_key (protocol json2)");
  } else {
    if (options.database.empty()) missing.push_back("database");
    if (options.username.empty()) missing.push_back("username");
    if (options.password.empty() && options.api_key.empty()) {
      missing.push_back("password or api_key");
    }
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("odoo adapter: missing ", absl::StrJoin(missing, ", ")));
  }
  return std::make_unique<OdooAdapter>(std::move(options), http);
}

OdooAdapter::OdooAdapter(OdooAdapterOptions options, net::HttpClient& http)
    : options_(std::move(options)),
      client_(ClientOptions{.url = options_.url,
                            .database = options_.database,
                            .username = options_.username,
                            .password = options_.password,
                            .api_key = options_.api_key,
                            .timeout = options_.timeout,
                            .protocol = options_.protocol},
              http) {}

absl::StatusOr<int> OdooAdapter::Major() {
  absl::StatusOr<ServerVersion> v = client_.Version();
  if (!v.ok()) return v.status();
  return v->major;
}

absl::StatusOr<std::optional<int64_t>> OdooAdapter::CountryId(std::string_view code) {
  const std::string key = absl::AsciiStrToUpper(core::AbslSv(code));
  if (key.empty()) return std::optional<int64_t>();
  {
    absl::MutexLock lock(&cache_mu_);
    if (auto it = countries_.find(key); it != countries_.end()) return it->second;
  }
  absl::StatusOr<json> r = client_.Call(
      "res.country", "search_read",
      {.params = {{"domain", {{"code", "=", key}}}, {"fields", {"id"}}, {"limit", 1}}});
  if (!r.ok()) return r.status();
  std::optional<int64_t> id;
  if (r->is_array() && !r->empty() && (*r)[0]["id"].is_number_integer()) {
    id = (*r)[0]["id"].get<int64_t>();
  }
  absl::MutexLock lock(&cache_mu_);
  countries_[key] = id;
  return id;
}

absl::StatusOr<std::optional<int64_t>> OdooAdapter::ProductId(std::string_view default_code) {
  absl::StatusOr<json> r =
      client_.Call("product.product", "search_read",
                   {.params = {{"domain", {{"default_code", "=", std::string(default_code)}}},
                               {"fields", {"id"}},
                               {"order", "id asc"},
                               {"limit", 1}}});
  if (!r.ok()) return r.status();
  if (r->is_array() && !r->empty() && (*r)[0]["id"].is_number_integer()) {
    return std::optional<int64_t>((*r)[0]["id"].get<int64_t>());
  }
  return std::optional<int64_t>();
}

absl::StatusOr<ErpCustomerRef> OdooAdapter::FindOrCreateCustomer(const model::Customer& customer) {
  const std::string email(absl::StripAsciiWhitespace(customer.email));
  if (email.empty()) {
    return absl::InvalidArgumentError(
        "odoo: a guest order without an email cannot be matched to an Odoo contact");
  }
  KeyedLocks::Guard guard = partner_locks_.Lock(Lower(email));

  absl::StatusOr<json> found =
      client_.Call("res.partner", "search_read",
                   {.params = {{"domain", {{"email", "=ilike", EscapeLike(email)}}},
                               {"fields", {"id", "email", "ref"}},
                               {"order", "id asc"},
                               {"limit", 20}}});
  if (!found.ok()) return found.status();
  for (const json& p : *found) {
    if (absl::EqualsIgnoreCase(StrField(p, "email"), email) && p["id"].is_number_integer()) {
      return ErpCustomerRef{std::to_string(p["id"].get<int64_t>()), StrField(p, "ref")};
    }
  }

  absl::StatusOr<std::optional<int64_t>> country = CountryId(customer.billing.country);
  if (!country.ok()) return country.status();
  model::Customer c = customer;
  c.email = email;
  absl::StatusOr<json> created =
      client_.Call("res.partner", "create",
                   {.params = {{"vals_list", json::array({PartnerValues(c, *country)})}},
                    .kind = CallKind::kWrite});
  if (!created.ok()) return created.status();
  absl::StatusOr<int64_t> id = CreatedId(*created, "res.partner");
  if (!id.ok()) return id.status();
  return ErpCustomerRef{std::to_string(*id), ""};
}

absl::StatusOr<std::optional<json>> OdooAdapter::FindOrderRecord(std::string_view reference) {
  absl::StatusOr<int> major = Major();
  if (!major.ok()) return major.status();
  // client_order_ref is a plain Char: =ilike compares case-insensitively, and escaping keeps
  // '_' in a store id from matching any character. The exact comparison below is the rule.
  absl::StatusOr<json> r =
      client_.Call("sale.order", "search_read",
                   {.params = {{"domain", {{"client_order_ref", "=ilike", EscapeLike(reference)}}},
                               {"fields", SaleOrderFields(*major)},
                               {"order", "id asc"}}});
  if (!r.ok()) return r.status();
  for (const json& so : *r) {
    if (absl::EqualsIgnoreCase(StrField(so, "client_order_ref"), core::AbslSv(reference))) {
      return std::optional<json>(so);
    }
  }
  return std::optional<json>();
}

absl::StatusOr<json> OdooAdapter::ReadOrderRecord(int64_t id) {
  absl::StatusOr<int> major = Major();
  if (!major.ok()) return major.status();
  absl::StatusOr<json> r = client_.Call(
      "sale.order", "read",
      {.ids = std::vector<int64_t>{id}, .params = {{"fields", SaleOrderFields(*major)}}});
  if (!r.ok()) return r.status();
  if (!r->is_array() || r->empty()) {
    return absl::NotFoundError(absl::StrCat("odoo sale.order.read: no sale.order ", id));
  }
  return (*r)[0];
}

absl::StatusOr<std::optional<ErpOrderRef>> OdooAdapter::FindSalesOrder(std::string_view reference) {
  absl::StatusOr<std::optional<json>> found = FindOrderRecord(reference);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::optional<ErpOrderRef>();
  absl::StatusOr<ErpOrderRef> ref = MapSaleOrder(**found);
  if (!ref.ok()) return ref.status();
  return std::optional<ErpOrderRef>(*std::move(ref));
}

absl::StatusOr<ErpOrderRef> OdooAdapter::ConfirmAndRead(const json& record) {
  absl::StatusOr<ErpOrderRef> ref = MapSaleOrder(record);
  if (!ref.ok() || ref->state != ErpOrderState::kOpen) return ref;
  const int64_t id = record["id"].get<int64_t>();
  absl::StatusOr<json> confirmed =
      client_.Call("sale.order", "action_confirm",
                   {.ids = std::vector<int64_t>{id}, .kind = CallKind::kStateChange});
  absl::StatusOr<json> now = ReadOrderRecord(id);
  if (!confirmed.ok()) {
    // A confirm that did happen (replayed by a proxy, or a lost answer read back later) is
    // refused as "not in a state requiring confirmation": what counts is the state now.
    if (now.ok()) {
      absl::StatusOr<ErpOrderRef> after = MapSaleOrder(*now);
      if (after.ok() && after->state == ErpOrderState::kConfirmed) return after;
    }
    return confirmed.status();
  }
  if (!now.ok()) return now.status();
  return MapSaleOrder(*now);
}

absl::StatusOr<ErpOrderRef> OdooAdapter::CreateSalesOrder(const model::Order& order,
                                                          const ErpCustomerRef& customer,
                                                          const CreateOrderOptions&) {
  std::optional<int64_t> partner_id = ParseId(customer.id);
  if (!partner_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("odoo: customer id '", customer.id, "' is not a res.partner id"));
  }
  const std::string reference = order.Reference();
  KeyedLocks::Guard guard = order_locks_.Lock(Lower(reference));

  // Always look first: Odoo does not keep client_order_ref unique, and an earlier attempt may
  // have created the order and lost the answer or the confirm.
  absl::StatusOr<std::optional<json>> existing = FindOrderRecord(reference);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return ConfirmAndRead(**existing);

  absl::flat_hash_map<std::string, int64_t> products;
  std::vector<std::string> skus;
  for (const std::string& sku : OrderSkus(order)) {
    if (!sku.empty()) skus.push_back(sku);
  }
  if (!skus.empty()) {
    absl::StatusOr<json> r = client_.Call("product.product", "search_read",
                                          {.params = {{"domain", {{"default_code", "in", skus}}},
                                                      {"fields", {"id", "default_code"}},
                                                      {"order", "id asc"}}});
    if (!r.ok()) return r.status();
    for (const json& p : *r) {
      const std::string code = StrField(p, "default_code");
      if (!code.empty() && p["id"].is_number_integer())
        products.try_emplace(code, p["id"].get<int64_t>());
    }
  }

  ExtraLineProducts extras;
  auto resolve_extra = [&](const std::string& code, bool needed, const char* option,
                           std::optional<int64_t>* out) -> absl::Status {
    if (code.empty() || !needed) return absl::OkStatus();
    absl::StatusOr<std::optional<int64_t>> id = ProductId(code);
    if (!id.ok()) return id.status();
    if (!id->has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("odoo: ", option, " '", code,
                       "' is not the default_code of any product.product in Odoo"));
    }
    *out = *id;
    return absl::OkStatus();
  };
  bool has_shipping = false, has_fees = false;
  for (const auto& s : order.shipping) has_shipping = has_shipping || s.total.minor != 0;
  for (const auto& f : order.fees) has_fees = has_fees || f.total.minor != 0;
  if (absl::Status s = resolve_extra(options_.shipping_product_code, has_shipping,
                                     "shipping_product_code", &extras.shipping_product_id);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = resolve_extra(options_.fee_product_code, has_fees, "fee_product_code",
                                     &extras.fee_product_id);
      !s.ok()) {
    return s;
  }

  absl::StatusOr<json> vals = SaleOrderValues(order, *partner_id, products, extras);
  if (!vals.ok()) return vals.status();
  absl::StatusOr<json> created =
      client_.Call("sale.order", "create",
                   {.params = {{"vals_list", json::array({*vals})}}, .kind = CallKind::kWrite});
  // A lost answer (kUnavailable / kDeadlineExceeded) is returned as is: the next attempt finds
  // the order by its reference.
  if (!created.ok()) return created.status();
  absl::StatusOr<int64_t> id = CreatedId(*created, "sale.order");
  if (!id.ok()) return id.status();
  return ConfirmAndRead(json{{"id", *id}, {"state", "draft"}});
}

absl::StatusOr<ErpOrderRef> OdooAdapter::GetSalesOrder(std::string_view id) {
  std::optional<int64_t> n = ParseId(id);
  if (!n) {
    return absl::NotFoundError(
        absl::StrCat("odoo: no sale.order with id '", core::AbslSv(id), "'"));
  }
  absl::StatusOr<json> record = ReadOrderRecord(*n);
  if (!record.ok()) return record.status();
  return MapSaleOrder(*record);
}

absl::Status OdooAdapter::CancelSalesOrder(std::string_view id) {
  std::optional<int64_t> n = ParseId(id);
  if (!n) {
    return absl::NotFoundError(
        absl::StrCat("odoo: no sale.order with id '", core::AbslSv(id), "'"));
  }
  absl::StatusOr<json> record = ReadOrderRecord(*n);
  if (!record.ok()) return record.status();
  absl::StatusOr<ErpOrderRef> ref = MapSaleOrder(*record);
  if (!ref.ok()) return ref.status();
  if (ref->state == ErpOrderState::kCancelled) return absl::OkStatus();
  if (ref->state == ErpOrderState::kDone) {
    return absl::FailedPreconditionError(absl::StrCat(
        "odoo sale.order ", ref->number, " is locked (done): it can no longer be cancelled"));
  }
  // Without disable_cancel_warning, Odoo answers a confirmed order's action_cancel with the
  // sale.order.cancel wizard (an action to show) and cancels nothing.
  absl::StatusOr<json> r = client_.Call("sale.order", "action_cancel",
                                        {.ids = std::vector<int64_t>{*n},
                                         .context = {{"disable_cancel_warning", true}},
                                         .kind = CallKind::kStateChange});
  if (!r.ok()) return r.status();
  if (r->is_object()) {
    return absl::FailedPreconditionError(
        absl::StrCat("odoo sale.order ", ref->number, ": action_cancel asked for the ",
                     StrField(*r, "res_model"), " wizard instead of cancelling"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ErpStockPage> OdooAdapter::ListStockChanges(absl::Time since,
                                                           std::string_view page_token) {
  static const std::vector<std::string> kQuantFields = {"product_id", "location_id", "quantity",
                                                        "reserved_quantity", "write_date"};
  // Stock at internal locations only: customer, supplier, transit and virtual locations hold
  // quants too, and none of them is stock a shop can sell.
  json domain = json::array({json::array({"location_id.usage", "=", "internal"})});
  if (since != absl::InfinitePast()) {
    // write_date keeps whole seconds: `>=` on the second `since` falls in re-reads that second.
    domain.push_back(json::array({"write_date", ">=", OdooDateTime(since)}));
  }
  if (!page_token.empty()) {
    // Keyset paging on (write_date, id): a quant written while the pages are read moves behind
    // the key and is read on a later page, instead of shifting the others past an offset.
    const size_t bar = page_token.rfind('|');
    int64_t last_id = 0;
    if (bar == std::string_view::npos ||
        !absl::SimpleAtoi(core::AbslSv(page_token.substr(bar + 1)), &last_id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "odoo: stock page token '", core::AbslSv(page_token), "' is not 'write_date|id'"));
    }
    const std::string last_date(page_token.substr(0, bar));
    domain.push_back("|");
    domain.push_back(json::array({"write_date", ">", last_date}));
    domain.push_back("&");
    domain.push_back(json::array({"write_date", "=", last_date}));
    domain.push_back(json::array({"id", ">", last_id}));
  }
  absl::StatusOr<json> changed = client_.Call("stock.quant", "search_read",
                                              {.params = {{"domain", domain},
                                                          {"fields", kQuantFields},
                                                          {"order", "write_date asc, id asc"},
                                                          {"limit", options_.stock_page_size}}});
  if (!changed.ok()) return changed.status();
  ErpStockPage page;
  if (!changed->is_array() || changed->empty()) return page;
  if (static_cast<int>(changed->size()) >= options_.stock_page_size) {
    const json& last = changed->back();
    if (last.value("write_date", json()).is_string() && last.value("id", json()).is_number()) {
      page.next_page_token =
          absl::StrCat(last["write_date"].get<std::string>(), "|", last["id"].get<int64_t>());
    }
  }

  // A changed quant is one lot or package of a product at a location: read all of them there,
  // so the row is the location's total.
  std::vector<int64_t> product_ids, location_ids;
  absl::flat_hash_set<std::pair<int64_t, int64_t>> pairs;
  for (const json& q : *changed) {
    auto product = Many2one(q.value("product_id", json()));
    auto location = Many2one(q.value("location_id", json()));
    if (!product || !location) continue;
    if (!pairs.insert({product->first, location->first}).second) continue;
    if (std::find(product_ids.begin(), product_ids.end(), product->first) == product_ids.end()) {
      product_ids.push_back(product->first);
    }
    if (std::find(location_ids.begin(), location_ids.end(), location->first) ==
        location_ids.end()) {
      location_ids.push_back(location->first);
    }
  }
  if (pairs.empty()) return page;
  absl::StatusOr<json> all = client_.Call(
      "stock.quant", "search_read",
      {.params = {{"domain", json::array({json::array({"product_id", "in", product_ids}),
                                          json::array({"location_id", "in", location_ids})})},
                  {"fields", kQuantFields},
                  {"order", "id asc"}}});
  if (!all.ok()) return all.status();
  json quants = json::array();
  for (const json& q : *all) {
    auto product = Many2one(q.value("product_id", json()));
    auto location = Many2one(q.value("location_id", json()));
    if (product && location && pairs.contains({product->first, location->first})) {
      quants.push_back(q);
    }
  }
  absl::StatusOr<json> products = client_.Call(
      "product.product", "read", {.ids = product_ids, .params = {{"fields", {"default_code"}}}});
  if (!products.ok()) return products.status();
  absl::flat_hash_map<int64_t, std::string> codes;
  for (const json& p : *products) {
    if (p.value("id", json()).is_number_integer()) {
      codes[p["id"].get<int64_t>()] = StrField(p, "default_code");
    }
  }
  page.rows = StockRowsFromQuants(quants, codes);
  return page;
}

}  // namespace keelson::connectors::odoo

namespace keelson::connectors::odoo {

absl::StatusOr<ErpShipmentResult> OdooAdapter::PostShipment(const ErpShipmentPost& post) {
  std::optional<int64_t> order_id = ParseId(post.order_id);
  if (!order_id) {
    return absl::NotFoundError(absl::StrCat("odoo: no sale.order with id '", post.order_id, "'"));
  }
  absl::StatusOr<int> major = Major();
  if (!major.ok()) return major.status();
  absl::StatusOr<json> order = ReadOrderRecord(*order_id);
  if (!order.ok()) return order.status();
  const std::string name = StrField(*order, "name");
  if (StrField(*order, "state") == "cancel") {
    return absl::FailedPreconditionError(
        absl::StrCat("odoo sale.order ", name, " is cancelled; nothing can be delivered"));
  }

  // What Odoo holds as delivered, per SKU: qty_delivered of the order's lines.
  absl::StatusOr<json> lines = client_.Call(
      "sale.order.line", "search_read",
      {.params = {{"domain", json::array({json::array({"order_id", "=", *order_id})})},
                  {"fields", {"product_id", "product_uom_qty", "qty_delivered", "display_type"}},
                  {"order", "id asc"}}});
  if (!lines.ok()) return lines.status();
  std::vector<int64_t> product_ids;
  for (const json& l : *lines) {
    if (auto p = Many2one(l.value("product_id", json())); p) product_ids.push_back(p->first);
  }
  absl::flat_hash_map<int64_t, std::string> codes;
  if (!product_ids.empty()) {
    absl::StatusOr<json> products = client_.Call(
        "product.product", "read", {.ids = product_ids, .params = {{"fields", {"default_code"}}}});
    if (!products.ok()) return products.status();
    for (const json& p : *products) {
      if (p.value("id", json()).is_number_integer()) {
        codes[p["id"].get<int64_t>()] = StrField(p, "default_code");
      }
    }
  }
  std::map<std::string, int64_t> targets;
  for (const ErpShippedLine& l : post.lines) targets[l.sku] += l.shipped_total;
  ErpShipmentResult result{.document = name};
  std::map<int64_t, int64_t> need;  // product id -> units to deliver now
  for (const auto& [sku, target] : targets) {
    int64_t ordered = 0, delivered = 0, product = 0;
    for (const json& l : *lines) {
      auto p = Many2one(l.value("product_id", json()));
      if (!p || codes[p->first] != sku) continue;
      product = p->first;
      ordered += Units(l.value("product_uom_qty", json()));
      delivered += Units(l.value("qty_delivered", json()));
    }
    if (product == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("odoo sale.order ", name, " has no line for SKU '", sku, "'"));
    }
    // Delivered units stay as they are: only the difference is validated, so a post repeated
    // after a lost answer delivers nothing twice.
    const int64_t diff = target - delivered;
    if (diff <= 0) continue;
    if (diff > ordered - delivered) {
      return absl::FailedPreconditionError(absl::StrCat(
          "odoo: cannot deliver ", diff, " more of SKU '", sku, "' on sale.order ", name, ": ",
          ordered - delivered, " outstanding (", delivered, " delivered already)"));
    }
    need[product] += diff;
    result.posted.push_back({sku, diff});
  }
  if (result.posted.empty()) return result;

  // The order's open deliveries and their open moves, oldest first.
  absl::StatusOr<json> pickings = client_.Call(
      "stock.picking", "search_read",
      {.params = {
           {"domain", json::array({json::array({"sale_id", "=", *order_id}),
                                   json::array({"picking_type_code", "=", "outgoing"}),
                                   json::array({"state", "not in",
                                                json::array({"draft", "done", "cancel"})})})},
           {"fields", {"name", "state"}},
           {"order", "id asc"}}});
  if (!pickings.ok()) return pickings.status();
  std::vector<int64_t> picking_ids;
  std::map<int64_t, std::string> picking_names;
  for (const json& p : *pickings) {
    if (!p.value("id", json()).is_number_integer()) continue;
    picking_ids.push_back(p["id"].get<int64_t>());
    picking_names[picking_ids.back()] = StrField(p, "name");
  }
  json moves = json::array();
  if (!picking_ids.empty()) {
    absl::StatusOr<json> m = client_.Call(
        "stock.move", "search_read",
        {.params = {{"domain", json::array({json::array({"picking_id", "in", picking_ids}),
                                            json::array({"state", "not in",
                                                         json::array({"done", "cancel"})})})},
                    {"fields", {"picking_id", "product_id", "product_uom_qty"}},
                    {"order", "id asc"}}});
    if (!m.ok()) return m.status();
    moves = *m;
  }
  // Each picking's moves get what this shipment takes of them (0 for the others: Odoo 17+
  // reserves the whole demand as `quantity`, which would deliver everything).
  std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> plan;  // picking -> (move, qty)
  for (int64_t pid : picking_ids) {
    for (const json& m : moves) {
      auto picking = Many2one(m.value("picking_id", json()));
      auto product = Many2one(m.value("product_id", json()));
      if (!picking || picking->first != pid || !product) continue;
      int64_t& left = need[product->first];
      const int64_t take = std::min(left, Units(m.value("product_uom_qty", json())));
      left -= take;
      plan[pid].emplace_back(m["id"].get<int64_t>(), take);
    }
  }
  for (const auto& [product, left] : need) {
    if (left > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("odoo sale.order ", name, ": its open deliveries cannot take ", left,
                       " unit(s) of ", codes[product], " (create or unlock the delivery in Odoo)"));
    }
  }
  std::vector<std::string> validated;
  for (const auto& [pid, takes] : plan) {
    bool any = false;
    std::vector<int64_t> zero;
    for (const auto& [move, qty] : takes) {
      if (qty == 0) {
        zero.push_back(move);
        continue;
      }
      any = true;
      const json vals =
          *major >= 17 ? json{{"quantity", qty}, {"picked", true}} : json{{"quantity_done", qty}};
      absl::StatusOr<json> w = client_.Call("stock.move", "write",
                                            {.ids = std::vector<int64_t>{move},
                                             .params = {{"vals", vals}},
                                             .kind = CallKind::kWrite});
      if (!w.ok()) return w.status();
    }
    if (!any) continue;
    if (!zero.empty()) {
      const json vals =
          *major >= 17 ? json{{"quantity", 0}, {"picked", false}} : json{{"quantity_done", 0}};
      absl::StatusOr<json> w =
          client_.Call("stock.move", "write",
                       {.ids = zero, .params = {{"vals", vals}}, .kind = CallKind::kWrite});
      if (!w.ok()) return w.status();
    }
    // skip_backorder: the rest of the demand goes to a backorder picking at once, instead of the
    // stock.backorder.confirmation wizard a person would answer (button_validate →
    // _pre_action_done_hook; _action_done then creates the backorder). 16 also asks for the
    // immediate-transfer wizard unless told to skip it.
    json context = {{"skip_backorder", true}};
    if (*major <= 16) context["skip_immediate"] = true;
    absl::StatusOr<json> done = client_.Call(
        "stock.picking", "button_validate",
        {.ids = std::vector<int64_t>{pid}, .context = context, .kind = CallKind::kStateChange});
    if (!done.ok()) return done.status();
    if (done->is_object()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "odoo stock.picking ", picking_names[pid], ": button_validate asked for the ",
          StrField(*done, "res_model"), " wizard instead of validating"));
    }
    validated.push_back(picking_names[pid]);
  }
  result.document = absl::StrCat(name, " ", absl::StrJoin(validated, ","));
  return result;
}

}  // namespace keelson::connectors::odoo
