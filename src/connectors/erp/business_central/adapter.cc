#include "connectors/erp/business_central/adapter.h"

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/strings.h"

namespace keelson::connectors::business_central {
namespace {

using json = nlohmann::json;

std::string Upper(std::string_view s) { return absl::AsciiStrToUpper(core::AbslSv(s)); }

// The body of a successful answer as JSON; kInternal when it is not.
absl::StatusOr<json> Body(const net::OutboundResponse& r, std::string_view what) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError(absl::StrCat("business_central: ", core::AbslSv(what),
                                            ": the answer is not a JSON object"));
  }
  return j;
}

// The `value` array of a collection answer.
absl::StatusOr<json> Values(const net::OutboundResponse& r, std::string_view what) {
  absl::StatusOr<json> j = Body(r, what);
  if (!j.ok()) return j.status();
  if (!j->contains("value") || !(*j)["value"].is_array()) {
    return absl::InternalError(
        absl::StrCat("business_central: ", core::AbslSv(what), ": the answer has no value array"));
  }
  return (*j)["value"];
}

std::string Filter(std::string_view expression) {
  return absl::StrCat("$filter=", net::UrlEncode(expression));
}

// Items per lookup: keeps the URL short (BC item numbers are at most 20 characters).
constexpr size_t kItemsPerQuery = 20;

// A decimal quantity of BC as whole units (quantities Keelson sends are whole).
int64_t Units(const json& v) { return v.is_number() ? std::llround(v.get<double>()) : 0; }

std::string Str(const json& o, const char* field) {
  auto it = o.find(field);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The shipment's cumulative targets by upper-cased item number.
std::map<std::string, int64_t> Targets(const ErpShipmentPost& post) {
  std::map<std::string, int64_t> out;
  for (const ErpShippedLine& l : post.lines) {
    out[Upper(core::StdSv(absl::StripAsciiWhitespace(l.sku)))] += l.shipped_total;
  }
  return out;
}

}  // namespace

BusinessCentralAdapter::BusinessCentralAdapter(AdapterOptions options, net::HttpClient& http)
    : options_(std::move(options)), client_(options_.client, http) {}

absl::StatusOr<ErpCustomerRef> BusinessCentralAdapter::FindOrCreateCustomer(
    const model::Customer& customer) {
  absl::StatusOr<json> payload = CustomerPayload(customer);
  if (!payload.ok()) return payload.status();
  const std::string email = (*payload)["email"].get<std::string>();

  {
    absl::MutexLock l(&customers_mu_);
    while (customers_in_progress_.contains(email)) customers_cv_.Wait(&customers_mu_);
    customers_in_progress_.insert(email);
  }
  absl::Cleanup done = [&] {
    absl::MutexLock l(&customers_mu_);
    customers_in_progress_.erase(email);
    customers_cv_.SignalAll();
  };

  absl::StatusOr<net::OutboundResponse> found = client_.Call(
      "GET", absl::StrCat("/customers?", Filter(absl::StrCat("email eq ", ODataString(email)))));
  if (!found.ok()) return found.status();
  absl::StatusOr<json> values = Values(*found, "GET customers");
  if (!values.ok()) return values.status();
  for (const json& c : *values) {
    if (c.is_object() && c.contains("email") && c["email"].is_string() &&
        absl::EqualsIgnoreCase(c["email"].get<std::string>(), email)) {
      return CustomerRefFromJson(c);
    }
  }
  absl::StatusOr<net::OutboundResponse> created =
      client_.Call("POST", "/customers", payload->dump());
  if (!created.ok()) return created.status();
  absl::StatusOr<json> body = Body(*created, "POST customers");
  if (!body.ok()) return body.status();
  return CustomerRefFromJson(*body);
}

absl::StatusOr<std::optional<ErpOrderRef>> BusinessCentralAdapter::FindByExternalDocumentNumber(
    std::string_view edn) {
  absl::StatusOr<net::OutboundResponse> r = client_.Call(
      "GET", absl::StrCat("/salesOrders?",
                          Filter(absl::StrCat("externalDocumentNumber eq ", ODataString(edn))),
                          "&$expand=salesOrderLines"));
  if (!r.ok()) return r.status();
  absl::StatusOr<json> values = Values(*r, "GET salesOrders");
  if (!values.ok()) return values.status();
  for (const json& o : *values) {
    if (o.is_object() && o.contains("externalDocumentNumber") &&
        o["externalDocumentNumber"].is_string() &&
        absl::EqualsIgnoreCase(o["externalDocumentNumber"].get<std::string>(), core::AbslSv(edn))) {
      absl::StatusOr<ErpOrderRef> ref = OrderRefFromJson(o);
      if (!ref.ok()) return ref.status();
      return std::optional<ErpOrderRef>(std::move(*ref));
    }
  }
  return std::optional<ErpOrderRef>();
}

absl::StatusOr<std::optional<ErpOrderRef>> BusinessCentralAdapter::FindSalesOrder(
    std::string_view reference) {
  absl::StatusOr<std::string> edn = ExternalDocumentNumber(reference);
  if (!edn.ok()) return edn.status();
  return FindByExternalDocumentNumber(*edn);
}

absl::Status BusinessCentralAdapter::CheckItems(const model::Order& order) {
  std::vector<std::string> unseen;  // upper-cased, in order, distinct
  {
    absl::MutexLock l(&items_mu_);
    std::set<std::string> seen;
    for (const model::OrderLine& line : order.lines) {
      std::string n = Upper(core::StdSv(absl::StripAsciiWhitespace(line.sku)));
      if (!known_items_.contains(n) && seen.insert(n).second) unseen.push_back(n);
    }
  }
  for (size_t start = 0; start < unseen.size(); start += kItemsPerQuery) {
    std::vector<std::string> clauses;
    for (size_t i = start; i < unseen.size() && i < start + kItemsPerQuery; ++i) {
      clauses.push_back(absl::StrCat("number eq ", ODataString(unseen[i])));
    }
    absl::StatusOr<net::OutboundResponse> r =
        client_.Call("GET", absl::StrCat("/items?", Filter(absl::StrJoin(clauses, " or "))));
    if (!r.ok()) return r.status();
    absl::StatusOr<json> values = Values(*r, "GET items");
    if (!values.ok()) return values.status();
    absl::MutexLock l(&items_mu_);
    if (known_items_.size() >= options_.max_known_items) known_items_.clear();
    for (const json& item : *values) {
      if (!item.is_object() || !item.contains("number") || !item["number"].is_string()) continue;
      const std::string number = Upper(item["number"].get<std::string>());
      if (item.contains("blocked") && item["blocked"] == true) {
        return absl::FailedPreconditionError(absl::StrCat(
            "SKU '", number, "' is blocked in Business Central: unblock the item to sell it"));
      }
      known_items_.insert(number);
    }
  }
  absl::MutexLock l(&items_mu_);
  for (const model::OrderLine& line : order.lines) {
    std::string n = Upper(core::StdSv(absl::StripAsciiWhitespace(line.sku)));
    if (!known_items_.contains(n)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "unknown SKU '", line.sku, "': no item with number '", n, "' in Business Central"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ErpOrderRef> BusinessCentralAdapter::CreateSalesOrder(
    const model::Order& order, const ErpCustomerRef& customer, const CreateOrderOptions& options) {
  // Everything that needs no request first: a payload BC would refuse costs nothing.
  absl::StatusOr<json> payload = SalesOrderPayload(order, customer, options_.mapping);
  if (!payload.ok()) return payload.status();
  const std::string edn = (*payload)["externalDocumentNumber"].get<std::string>();
  if (options.verify_first) {
    absl::StatusOr<std::optional<ErpOrderRef>> existing = FindByExternalDocumentNumber(edn);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) return **existing;
  }
  if (absl::Status s = CheckItems(order); !s.ok()) return s;
  absl::StatusOr<net::OutboundResponse> r = client_.Call("POST", "/salesOrders", payload->dump());
  if (!r.ok()) {
    if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
      // Perhaps an item went away or was blocked after it was seen: forget what this process
      // knows, so the next attempt looks the items up again and names the one at fault.
      absl::MutexLock l(&items_mu_);
      known_items_.clear();
    }
    return r.status();
  }
  absl::StatusOr<json> body = Body(*r, "POST salesOrders");
  if (!body.ok()) return body.status();
  return OrderRefFromJson(*body);
}

absl::StatusOr<json> BusinessCentralAdapter::ReadOrder(std::string_view id) {
  // Only GUIDs can name a sales order; anything else would be a malformed URL to BC.
  if (!IsGuid(id)) {
    return absl::NotFoundError(
        absl::StrCat("business_central: no sales order with id '", core::AbslSv(id), "'"));
  }
  absl::StatusOr<net::OutboundResponse> r = client_.Call(
      "GET", absl::StrCat("/salesOrders(", core::AbslSv(id), ")?$expand=salesOrderLines"));
  if (!r.ok()) return r.status();
  return Body(*r, "GET salesOrders");
}

absl::StatusOr<ErpOrderRef> BusinessCentralAdapter::GetSalesOrder(std::string_view id) {
  absl::StatusOr<json> order = ReadOrder(id);
  if (!order.ok()) return order.status();
  return OrderRefFromJson(*order);
}

absl::Status BusinessCentralAdapter::CancelSalesOrder(std::string_view id) {
  absl::StatusOr<json> order = ReadOrder(id);
  if (!order.ok()) return order.status();
  absl::StatusOr<ErpOrderRef> ref = OrderRefFromJson(*order);
  if (!ref.ok()) return ref.status();
  switch (ref->state) {
    case ErpOrderState::kCancelled:
      return absl::OkStatus();
    case ErpOrderState::kDone:
      return absl::FailedPreconditionError(absl::StrCat(
          "business_central: sales order ", ref->number, " is shipped; too late to cancel"));
    case ErpOrderState::kConfirmed:
      return absl::FailedPreconditionError(
          absl::StrCat("business_central: sales order ", ref->number,
                       " is released or partly shipped; reopen it in Business Central (or "
                       "cancel it there) first"));
    case ErpOrderState::kOpen:
      break;
  }
  const std::string status = (*order).contains("status") && (*order)["status"].is_string()
                                 ? (*order)["status"].get<std::string>()
                                 : std::string();
  if (status != "Draft") {
    return absl::FailedPreconditionError(absl::StrCat("business_central: sales order ", ref->number,
                                                      " is ", status,
                                                      "; only a Draft order can be cancelled"));
  }
  for (const json& line : (*order)["salesOrderLines"]) {
    if (!line.is_object() || !line.contains("quantity") || !line["quantity"].is_number() ||
        line["quantity"].get<double>() == 0 || !line.contains("id") || !line["id"].is_string()) {
      continue;
    }
    std::string etag = line.contains("@odata.etag") && line["@odata.etag"].is_string()
                           ? line["@odata.etag"].get<std::string>()
                           : "*";
    absl::StatusOr<net::OutboundResponse> r =
        client_.Call("PATCH",
                     absl::StrCat("/salesOrders(", core::AbslSv(id), ")/salesOrderLines(",
                                  line["id"].get<std::string>(), ")"),
                     R"({"quantity":0})", {{"If-Match", etag}});
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<ErpStockPage> BusinessCentralAdapter::ListStockChanges(absl::Time since,
                                                                      std::string_view page_token) {
  std::string path;
  if (page_token.empty()) {
    path = "/items";
    if (since != absl::InfinitePast()) {
      // `ge`, not `gt`: a re-read from a high-water mark must see the rows at that instant.
      path = absl::StrCat(path, "?",
                          Filter(absl::StrCat("lastModifiedDateTime ge ", ODataDateTime(since))));
    }
  } else {
    // The nextLink is BC's own URL; only ever send the token back to the same company.
    const std::string prefix = absl::StrCat(options_.client.base_url, "/companies(",
                                            options_.client.company_id, ")/items");
    if (!absl::StartsWith(core::AbslSv(page_token), prefix)) {
      return absl::InvalidArgumentError(
          "business_central: the stock page token is not a nextLink of this company's items");
    }
    path = std::string(page_token.substr(prefix.size() - std::string_view("/items").size()));
  }
  absl::StatusOr<net::OutboundResponse> r = client_.Call(
      "GET", path, {}, {{"Prefer", absl::StrCat("odata.maxpagesize=", options_.stock_page_size)}});
  if (!r.ok()) return r.status();
  absl::StatusOr<json> body = Body(*r, "GET items");
  if (!body.ok()) return body.status();
  if (!body->contains("value") || !(*body)["value"].is_array()) {
    return absl::InternalError("business_central: GET items: the answer has no value array");
  }
  ErpStockPage page;
  for (const json& item : (*body)["value"]) {
    absl::StatusOr<std::optional<ErpStockRow>> row = StockRowFromItem(item);
    if (!row.ok()) return row.status();
    if (row->has_value()) page.rows.push_back(std::move(**row));
  }
  if (auto it = body->find("@odata.nextLink"); it != body->end() && it->is_string()) {
    page.next_page_token = it->get<std::string>();
  }
  return page;
}

}  // namespace keelson::connectors::business_central

namespace keelson::connectors::business_central {

absl::StatusOr<ErpShipmentResult> BusinessCentralAdapter::PostShipment(
    const ErpShipmentPost& post) {
  const std::map<std::string, int64_t> targets = Targets(post);
  absl::StatusOr<json> order = ReadOrder(post.order_id);
  if (!order.ok()) {
    if (order.status().code() == absl::StatusCode::kNotFound) {
      return PostedBeforeDeletion(post, targets, order.status());
    }
    return order.status();
  }
  absl::StatusOr<ErpOrderRef> ref = OrderRefFromJson(*order);
  if (!ref.ok()) return ref.status();
  if (ref->state == ErpOrderState::kCancelled) {
    return absl::FailedPreconditionError(absl::StrCat("business_central: sales order ", ref->number,
                                                      " is cancelled; nothing can be shipped"));
  }
  struct Line {
    std::string id, etag, number;
    int sequence = 0;
    int64_t quantity = 0, shipped = 0, ship_quantity = 0, want = 0;
  };
  std::vector<Line> lines;
  if (auto it = order->find("salesOrderLines"); it != order->end() && it->is_array()) {
    for (const json& l : *it) {
      if (!l.is_object() || Str(l, "lineType") != "Item") continue;
      lines.push_back({.id = Str(l, "id"),
                       .etag = Str(l, "@odata.etag"),
                       .number = Upper(Str(l, "lineObjectNumber")),
                       .sequence = l.value("sequence", 0),
                       .quantity = Units(l.value("quantity", json())),
                       .shipped = Units(l.value("shippedQuantity", json())),
                       .ship_quantity = Units(l.value("shipQuantity", json()))});
    }
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.sequence < b.sequence; });
  ErpShipmentResult result{.document = ref->number};
  for (const auto& [sku, target] : targets) {
    int64_t shipped = 0, outstanding = 0;
    bool found = false;
    for (const Line& l : lines) {
      if (l.number != sku) continue;
      found = true;
      shipped += l.shipped;
      outstanding += std::max<int64_t>(0, l.quantity - l.shipped);
    }
    if (!found) {
      return absl::FailedPreconditionError(absl::StrCat(
          "business_central: sales order ", ref->number, " has no line for SKU '", sku, "'"));
    }
    // What BC already holds as shipped stays as it is: only the difference is posted, so a
    // post repeated after a lost answer ships nothing twice.
    int64_t diff = target - shipped;
    if (diff <= 0) continue;
    if (diff > outstanding) {
      return absl::FailedPreconditionError(absl::StrCat(
          "business_central: cannot ship ", diff, " more of SKU '", sku, "' on sales order ",
          ref->number, ": ", outstanding, " outstanding (", shipped, " shipped already)"));
    }
    result.posted.push_back({sku, diff});
    for (Line& l : lines) {
      if (l.number != sku || diff == 0) continue;
      const int64_t n = std::min(diff, std::max<int64_t>(0, l.quantity - l.shipped));
      l.want += n;
      diff -= n;
    }
  }
  if (result.posted.empty()) return result;
  // "Qty. to Ship" of every item line: what this shipment takes, 0 elsewhere (BC initialises it
  // to the outstanding quantity, which would post the whole order).
  for (const Line& l : lines) {
    if (l.ship_quantity == l.want) continue;
    absl::StatusOr<net::OutboundResponse> r = client_.Call(
        "PATCH",
        absl::StrCat("/salesOrders(", core::AbslSv(post.order_id), ")/salesOrderLines(", l.id, ")"),
        json{{"shipQuantity", l.want}}.dump(), {{"If-Match", l.etag.empty() ? "*" : l.etag}});
    if (!r.ok()) return r.status();
  }
  absl::StatusOr<net::OutboundResponse> posted = client_.Call(
      "POST",
      absl::StrCat("/salesOrders(", core::AbslSv(post.order_id), ")/Microsoft.NAV.shipAndInvoice"));
  if (!posted.ok()) return posted.status();
  return result;
}

absl::StatusOr<ErpShipmentResult> BusinessCentralAdapter::PostedBeforeDeletion(
    const ErpShipmentPost& post, const std::map<std::string, int64_t>& targets,
    const absl::Status& not_found) {
  // Posting the last units of an order ships and invoices it completely, and BC then deletes the
  // order; its posted sales shipments keep the external document number.
  absl::StatusOr<std::string> edn = ExternalDocumentNumber(post.reference);
  if (!edn.ok()) return not_found;
  absl::StatusOr<net::OutboundResponse> r = client_.Call(
      "GET", absl::StrCat("/salesShipments?",
                          Filter(absl::StrCat("externalDocumentNumber eq ", ODataString(*edn))),
                          "&$expand=salesShipmentLines"));
  if (!r.ok()) return r.status();
  absl::StatusOr<json> values = Values(*r, "GET salesShipments");
  if (!values.ok()) return values.status();
  std::map<std::string, int64_t> shipped;
  std::vector<std::string> numbers;
  for (const json& sh : *values) {
    if (!sh.is_object() || !absl::EqualsIgnoreCase(Str(sh, "externalDocumentNumber"), *edn)) {
      continue;
    }
    numbers.push_back(Str(sh, "number"));
    if (auto it = sh.find("salesShipmentLines"); it != sh.end() && it->is_array()) {
      for (const json& l : *it) {
        if (l.is_object() && Str(l, "lineType") == "Item") {
          shipped[Upper(Str(l, "lineObjectNumber"))] += Units(l.value("quantity", json()));
        }
      }
    }
  }
  if (numbers.empty()) return not_found;
  for (const auto& [sku, target] : targets) {
    const int64_t have = shipped.count(sku) ? shipped.at(sku) : 0;
    if (have < target) {
      return absl::FailedPreconditionError(absl::StrCat(
          "business_central: sales order ", post.order_number,
          " no longer exists (BC deletes an order once it is completely shipped and invoiced) and "
          "its posted shipments hold ",
          have, " of SKU '", sku, "', not ", target));
    }
  }
  return ErpShipmentResult{.document = absl::StrJoin(numbers, ",")};
}

}  // namespace keelson::connectors::business_central
