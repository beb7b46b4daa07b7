#include "api/views.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::api {

std::string FormatRfc3339(absl::Time t) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

namespace {
nlohmann::json ParsedOrRaw(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return text;
  return j;
}
}  // namespace

nlohmann::json JobToJson(const store::Job& j, bool with_payload) {
  nlohmann::json out = {{"id", j.id},
                        {"kind", j.kind},
                        {"partition_key", j.partition_key},
                        {"state", store::JobStateName(j.state)},
                        {"attempts", j.attempts},
                        {"max_attempts", j.max_attempts},
                        {"run_at", FormatRfc3339(j.run_at)},
                        {"enqueued_at", FormatRfc3339(j.enqueued_at)},
                        {"updated_at", FormatRfc3339(j.updated_at)},
                        {"deadline_at", FormatRfc3339(j.deadline_at)},
                        {"correlation_id", j.correlation_id},
                        {"last_error", j.last_error},
                        {"dead_reason", j.dead_reason}};
  // The order a job is about: its partition is "woo:<store>:order:<id>".
  if (std::string_view(j.partition_key).starts_with("woo:")) {
    const std::string_view rest = std::string_view(j.partition_key).substr(4);
    const size_t colon = rest.find(":order:");
    if (colon != std::string_view::npos) {
      out["ref"] = absl::StrCat(core::AbslSv(rest.substr(0, colon)), ":",
                                core::AbslSv(rest.substr(colon + 7)));
    }
  }
  if (with_payload) out["payload"] = ParsedOrRaw(j.payload);
  return out;
}

nlohmann::json DeliveryToJson(const store::Delivery& d, bool with_body) {
  nlohmann::json out = {{"id", d.id},
                        {"source", d.source},
                        {"store_id", d.store_id},
                        {"topic", d.topic},
                        {"status", d.status},
                        {"error", d.error},
                        {"received_at", FormatRfc3339(d.received_at)},
                        {"correlation_id", d.correlation_id},
                        {"headers", ParsedOrRaw(d.headers_json)}};
  if (with_body) out["body"] = d.body;  // raw text as received, not re-serialised
  return out;
}

nlohmann::json TimelineToJson(const store::TimelineEvent& e) {
  return {{"id", e.id},
          {"entity", e.entity},
          {"at", FormatRfc3339(e.at)},
          {"kind", e.kind},
          {"correlation_id", e.correlation_id},
          {"detail", ParsedOrRaw(e.detail_json)}};
}

namespace {

std::string Amount(const model::Money& m) { return model::FormatMoney(m); }

nlohmann::json AddressToJson(const model::Address& a) {
  return {{"first_name", a.first_name}, {"last_name", a.last_name}, {"company", a.company},
          {"address_1", a.address_1},   {"address_2", a.address_2}, {"city", a.city},
          {"state", a.state},           {"postcode", a.postcode},   {"country", a.country},
          {"email", a.email},           {"phone", a.phone}};
}

}  // namespace

nlohmann::json OrderToJson(const model::Order& o) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : o.lines) {
    lines.push_back({{"line_id", l.line_id},
                     {"sku", l.sku},
                     {"name", l.name},
                     {"product_id", l.product_id},
                     {"variation_id", l.variation_id},
                     {"quantity",
                      {{"ordered", l.quantity_ordered},
                       {"allocated", l.quantity_allocated},
                       {"shipped", l.quantity_shipped},
                       {"cancelled", l.quantity_cancelled},
                       {"returned", l.quantity_returned}}},
                     {"unit_price", Amount(l.unit_price)},
                     {"subtotal", Amount(l.subtotal)},
                     {"total", Amount(l.total)},
                     {"total_tax", Amount(l.total_tax)}});
  }
  nlohmann::json shipping = nlohmann::json::array();
  for (const auto& s : o.shipping) {
    shipping.push_back({{"method_id", s.method_id}, {"method_title", s.method_title},
                        {"total", Amount(s.total)}, {"total_tax", Amount(s.total_tax)}});
  }
  nlohmann::json fees = nlohmann::json::array();
  for (const auto& f : o.fees) {
    fees.push_back(
        {{"name", f.name}, {"total", Amount(f.total)}, {"total_tax", Amount(f.total_tax)}});
  }
  nlohmann::json coupons = nlohmann::json::array();
  for (const auto& c : o.coupons) {
    coupons.push_back({{"code", c.code}, {"discount", Amount(c.discount)}});
  }
  return {{"reference", o.Reference()},
          {"store_id", o.store_id},
          {"order_id", o.order_id},
          {"number", o.number},
          {"status", std::string(model::StatusName(o.status))},
          {"currency", o.currency},
          {"date_created_gmt", FormatRfc3339(o.date_created_gmt)},
          {"date_modified_gmt", FormatRfc3339(o.date_modified_gmt)},
          {"customer",
           {{"external_id", o.customer.external_id},
            {"email", o.customer.email},
            {"billing", AddressToJson(o.customer.billing)},
            {"shipping", AddressToJson(o.customer.shipping)}}},
          {"lines", lines},
          {"shipping_lines", shipping},
          {"fee_lines", fees},
          {"coupon_lines", coupons},
          {"discount_total", Amount(o.discount_total)},
          {"shipping_total", Amount(o.shipping_total)},
          {"total_tax", Amount(o.total_tax)},
          {"total", Amount(o.total)},
          {"refunds_total", Amount(o.refunds_total)},
          {"payment",
           {{"paid", o.payment.paid},
            {"method", o.payment.method},
            {"transaction_id", o.payment.transaction_id}}},
          {"customer_note", o.customer_note}};
}

}  // namespace keelson::api
