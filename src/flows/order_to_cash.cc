#include "flows/order_to_cash.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/strings.h"
#include "obs/log.h"
#include "obs/metrics.h"

namespace keelson::flows {

struct OrderKey {
  std::string store_id;
  int64_t order_id = 0;
  std::string Reference() const { return absl::StrCat(store_id, ":", order_id); }
  std::string Entity() const { return absl::StrCat("order:", store_id, ":", order_id); }
};

namespace {

using nlohmann::json;

absl::StatusOr<OrderKey> ParseKey(const std::string& payload) {
  json p = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!p.is_object() || !p.contains("store") || !p["store"].is_string() ||
      !p.contains("order_id") || !p["order_id"].is_number_integer()) {
    return absl::DataLossError(
        absl::StrCat("job payload is not {\"store\":S,\"order_id\":N}: ", payload.substr(0, 200)));
  }
  return OrderKey{p["store"].get<std::string>(), p["order_id"].get<int64_t>()};
}

std::string KeyPayload(const OrderKey& key) {
  return json{{"store", key.store_id}, {"order_id", key.order_id}}.dump();
}

// Operators read timelines; a detail is a small JSON object.
store::TimelineEvent Event(const OrderKey& key, const std::string& correlation_id,
                           std::string kind, json detail) {
  return {.entity = key.Entity(),
          .correlation_id = correlation_id,
          .kind = std::move(kind),
          .detail_json = detail.dump()};
}

// Jobs that follow up on this one: same partition (so they run after it, in order), same
// correlation id (so `keelson trace` follows the chain).
store::NewJob FollowUp(const char* kind, const OrderKey& key, const std::string& correlation_id,
                       int max_attempts) {
  return {.kind = kind,
          .partition_key = OrderToCash::PartitionKey(key.store_id, key.order_id),
          .payload = KeyPayload(key),
          .correlation_id = correlation_id,
          .max_attempts = max_attempts};
}

using jobs::MayHaveRunBefore;

// Whether two versions of an order differ in what the flow acts on (status, total, lines); meta
// data and notes (our own write-back among them) do not count.
bool MateriallyDifferent(const json& incoming, const std::string& held_json) {
  json held = json::parse(held_json, nullptr, /*allow_exceptions=*/false);
  if (!held.is_object()) return true;
  for (const char* k : {"status", "total", "line_items", "currency"}) {
    const bool a = incoming.contains(k), b = held.contains(k);
    if (a != b || (a && incoming[k] != held[k])) return true;
  }
  return false;
}

struct HeldOrder {
  OrderKey key;
  store::OrderRecord record;
};

// The order a follow-up job is about, as held now. kNotFound when it is not held (it always is:
// the job was enqueued with the row).
absl::StatusOr<HeldOrder> LoadHeld(const jobs::JobContext& ctx) {
  absl::StatusOr<OrderKey> key = ParseKey(ctx.job.payload);
  if (!key.ok()) return key.status();
  auto rec = ctx.store.GetOrder(key->store_id, key->order_id);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) {
    return absl::NotFoundError(absl::StrCat("order ", key->Reference(), " is not held"));
  }
  return HeldOrder{*std::move(key), **std::move(rec)};
}

}  // namespace

bool IsCancellation(model::OrderStatus status) {
  return status == model::OrderStatus::kCancelled || status == model::OrderStatus::kRefunded ||
         status == model::OrderStatus::kTrash;
}

std::string OrderToCash::PartitionKey(std::string_view store_id, int64_t order_id) {
  return absl::StrCat("woo:", core::AbslSv(store_id), ":order:", order_id);
}

OrderToCash::OrderToCash(connectors::ErpAdapter* erp, OrderMapper mapper,
                         std::function<ShopWriteBack*(std::string_view)> shop_for,
                         OrderToCashOptions options, obs::Registry* metrics)
    : erp_(erp),
      mapper_(std::move(mapper)),
      shop_for_(std::move(shop_for)),
      options_(std::move(options)) {
  if (metrics != nullptr) {
    const obs::Labels erp_label = {{"erp", std::string(erp_->name())}};
    m_created_ = metrics->GetCounter("keelson_erp_orders_created_total",
                                     "ERP sales orders created by order-to-cash", erp_label);
    m_cancelled_ = metrics->GetCounter("keelson_erp_orders_cancelled_total",
                                       "ERP sales orders cancelled by order-to-cash", erp_label);
    m_stale_ = metrics->GetCounter(
        "keelson_order_snapshots_dropped_total",
        "Order deliveries dropped because a newer or equal version was already held");
    m_writebacks_ = metrics->GetCounter("keelson_shop_writebacks_total",
                                        "ERP numbers written back to the shop");
  }
}

bool OrderToCash::WantsErpOrder(model::OrderStatus status) const {
  return std::find(options_.create_on.begin(), options_.create_on.end(), status) !=
         options_.create_on.end();
}

void OrderToCash::Register(jobs::HandlerRegistry& registry) {
  registry.Register(kErpCreateJobKind, [this](jobs::JobContext& ctx) { return CreateInErp(ctx); });
  registry.Register(kErpCancelJobKind, [this](jobs::JobContext& ctx) { return CancelInErp(ctx); });
  registry.Register(kShopWritebackJobKind,
                    [this](jobs::JobContext& ctx) { return WriteBack(ctx); });
}

absl::Status OrderToCash::OnDelivery(jobs::JobContext& ctx, const IngestedDelivery& d) {
  if (d.resource != "order") return absl::OkStatus();
  const OrderKey key{d.delivery.store_id, d.payload["id"].get<int64_t>()};
  const std::string& corr = d.delivery.correlation_id;

  auto held = ctx.store.GetOrder(key.store_id, key.order_id);
  if (!held.ok()) return held.status();

  store::OrderRecord record{.store_id = key.store_id, .order_id = key.order_id,
                            .correlation_id = corr};
  std::optional<model::OrderStatus> status;
  const bool deleted = d.payload.size() == 1;  // WooCommerce's `{"id":N}` stub
  StockHooks::Lines lines;
  if (deleted) {
    // A permanently deleted order has no version of its own; it supersedes whatever is held.
    record.version = ctx.clock.Now();
    record.status = "deleted";
    record.snapshot_json = held->has_value() ? (*held)->snapshot_json : d.payload.dump();
    if (held->has_value()) {
      record.customer_email = (*held)->customer_email;
      record.total = (*held)->total;
      record.currency = (*held)->currency;
    }
  } else {
    absl::StatusOr<model::Order> order = mapper_(key.store_id, d.payload);
    if (!order.ok()) {
      // Unmappable: kept in the inbox with the reason, and the job parks as a business
      // exception an operator can replay once the cause is fixed.
      const std::string reason(order.status().message());
      ctx.Defer([id = d.delivery.id, reason, key, corr](store::Tx& tx) -> absl::Status {
        if (auto s = tx.SetDeliveryStatus(id, "rejected", reason); !s.ok()) return s;
        return tx.AppendTimeline(
            Event(key, corr, "order.unmappable", {{"delivery_id", id}, {"reason", reason}}));
      });
      return absl::InvalidArgumentError(
          absl::StrCat("order ", key.Reference(), " cannot be mapped: ", reason));
    }
    status = order->status;
    record.version = order->date_modified_gmt;
    record.status = std::string(model::StatusName(order->status));
    record.snapshot_json = std::string(d.delivery.body);
    record.customer_email = order->customer.email;
    record.total = model::FormatMoney(order->total);
    record.currency = order->currency;
    for (const model::OrderLine& l : order->lines) {
      if (!l.sku.empty()) lines.emplace_back(l.sku, l.quantity_ordered);
    }
  }

  bool replace_equal = false;
  if (!deleted && held->has_value() && record.version == (*held)->version &&
      MateriallyDifferent(d.payload, (*held)->snapshot_json)) {
    // Two changes within one second of the shop's clock: only the shop knows which is current.
    replace_equal = true;
    if (ShopWriteBack* shop = shop_for_ ? shop_for_(key.store_id) : nullptr) {
      absl::StatusOr<nlohmann::json> current = shop->FetchOrder(key.order_id);
      if (!current.ok()) return current.status();
      absl::StatusOr<model::Order> order = mapper_(key.store_id, *current);
      if (!order.ok()) return order.status();
      status = order->status;
      record.version = order->date_modified_gmt;
      record.status = std::string(model::StatusName(order->status));
      record.snapshot_json = current->dump();
      lines.clear();
      for (const model::OrderLine& l : order->lines) {
        if (!l.sku.empty()) lines.emplace_back(l.sku, l.quantity_ordered);
      }
    }
  }

  if (held->has_value() && (record.version < (*held)->version ||
                            (record.version == (*held)->version && !replace_equal))) {
    if (m_stale_) m_stale_->Inc();
    if (record.version < (*held)->version) {
      ctx.Defer([key, corr, v = record.version, hv = (*held)->version,
                 id = d.delivery.id](store::Tx& tx) {
        return tx.AppendTimeline(Event(key, corr, "order.stale_dropped",
                                       {{"delivery_id", id},
                                        {"version", absl::FormatTime(v)},
                                        {"held_version", absl::FormatTime(hv)}}));
      });
    }
    return absl::OkStatus();
  }

  const std::string erp_state = held->has_value() ? (*held)->erp_state : "none";
  std::string next_erp_state = erp_state;
  const char* follow_up = nullptr;
  if (deleted || IsCancellation(*status)) {
    if (erp_state == "pending" || erp_state == "created") {
      follow_up = kErpCancelJobKind;
      next_erp_state = "cancel_pending";
    }
  } else if (WantsErpOrder(*status) && (erp_state == "none" || erp_state == "skipped")) {
    follow_up = kErpCreateJobKind;
    next_erp_state = "pending";
  }

  enum class Stock { kNone, kReserve, kConsume, kRelease };
  Stock stock = Stock::kNone;
  if (deleted || IsCancellation(*status)) {
    stock = Stock::kRelease;
  } else if (*status == model::OrderStatus::kCompleted) {
    stock = Stock::kConsume;
  } else if (WantsErpOrder(*status)) {
    stock = Stock::kReserve;
  }
  ctx.Defer([this, record, key, corr, follow_up, next_erp_state, erp_state, replace_equal,
             stock, lines = std::move(lines),
             held_erp = held->has_value() ? **held : store::OrderRecord{}](
                store::Tx& tx) -> absl::Status {
    auto written = tx.PutOrderIfNewer(record, replace_equal);
    if (!written.ok()) return written.status();
    if (!*written) return absl::OkStatus();  // a newer one won in between (cannot happen in-partition)
    const StockHooks& hooks = options_.stock;
    const std::string ref = key.Reference();
    absl::Status moved;
    switch (stock) {
      case Stock::kReserve:
        if (hooks.reserve) moved = hooks.reserve(tx, key.store_id, ref, lines);
        break;
      case Stock::kConsume:
        // Reserve first (idempotent): an order seen for the first time as completed still
        // takes its units out of stock.
        if (hooks.reserve) moved = hooks.reserve(tx, key.store_id, ref, lines);
        if (moved.ok() && hooks.consume) moved = hooks.consume(tx, key.store_id, ref, lines);
        break;
      case Stock::kRelease:
        if (hooks.release) moved = hooks.release(tx, key.store_id, ref);
        break;
      case Stock::kNone:
        break;
    }
    if (!moved.ok()) return moved;
    if (auto s = tx.AppendTimeline(Event(key, corr, "order.updated",
                                         {{"status", record.status},
                                          {"version", absl::FormatTime(record.version)}}));
        !s.ok())
      return s;
    if (follow_up == nullptr) return absl::OkStatus();
    if (next_erp_state != erp_state) {
      if (auto s = tx.SetOrderErp(key.store_id, key.order_id, next_erp_state, held_erp.erp_id,
                                  held_erp.erp_number);
          !s.ok())
        return s;
    }
    return tx.EnqueueJob(FollowUp(follow_up, key, corr, options_.max_attempts)).status();
  });
  return absl::OkStatus();
}

absl::Status OrderToCash::CreateInErp(jobs::JobContext& ctx) {
  absl::StatusOr<HeldOrder> held = LoadHeld(ctx);
  if (!held.ok()) return held.status();
  const OrderKey* key = &held->key;
  const std::string& corr = ctx.job.correlation_id;
  const store::OrderRecord& r = held->record;
  if (r.erp_state == "created" || r.erp_state == "cancelled") return absl::OkStatus();

  json snapshot = json::parse(r.snapshot_json, nullptr, /*allow_exceptions=*/false);
  const bool deleted = r.status == "deleted";
  std::optional<model::Order> order;
  if (!deleted) {
    absl::StatusOr<model::Order> mapped = mapper_(key->store_id, snapshot);
    if (!mapped.ok()) return mapped.status();
    order = std::move(mapped).value();
  }
  if (deleted || !WantsErpOrder(order->status)) {
    // Cancelled (or otherwise no longer wanted) before we created it. If an earlier attempt may
    // have created it after all, find and cancel that one.
    std::string cancelled_id;
    if (MayHaveRunBefore(ctx.job)) {
      auto found = erp_->FindSalesOrder(key->Reference());
      if (!found.ok()) return found.status();
      if (found->has_value()) {
        if (auto s = erp_->CancelSalesOrder((*found)->id); !s.ok()) return s;
        cancelled_id = (*found)->id;
      }
    }
    ctx.Defer([key = *key, corr, cancelled_id, status = r.status](store::Tx& tx) -> absl::Status {
      if (auto s = tx.SetOrderErp(key.store_id, key.order_id,
                                  cancelled_id.empty() ? "skipped" : "cancelled", cancelled_id, "");
          !s.ok())
        return s;
      return tx.AppendTimeline(Event(key, corr, "erp.create_skipped",
                                     {{"status", status}, {"cancelled_erp_id", cancelled_id}}));
    });
    return absl::OkStatus();
  }

  absl::StatusOr<connectors::ErpCustomerRef> customer = erp_->FindOrCreateCustomer(order->customer);
  if (!customer.ok()) return customer.status();
  absl::StatusOr<connectors::ErpOrderRef> created = erp_->CreateSalesOrder(
      *order, *customer, {.verify_first = MayHaveRunBefore(ctx.job)});
  if (!created.ok()) return created.status();
  if (m_created_) m_created_->Inc();
  obs::LogInfo("ERP sales order created",
               {{"order", key->Reference()}, {"erp", std::string(erp_->name())},
                {"erp_number", created->number}},
               corr);
  json accepted;
  if (options_.events.enabled()) {
    json lines = json::array();
    for (const model::OrderLine& l : order->lines) {
      lines.push_back({{"line_id", l.line_id}, {"sku", l.sku}, {"quantity", l.quantity_ordered},
                       {"total", model::FormatMoney(l.total)}});
    }
    accepted = {{"store_id", key->store_id},
                {"order_id", key->order_id},
                {"reference", key->Reference()},
                {"number", order->number},
                {"status", r.status},
                {"erp", erp_->name()},
                {"erp_id", created->id},
                {"erp_number", created->number},
                {"customer_email", order->customer.email},
                {"currency", order->currency},
                {"total", model::FormatMoney(order->total)},
                {"lines", std::move(lines)}};
  }
  ctx.Defer([this, key = *key, corr, created = *created, customer = *customer,
             accepted = std::move(accepted)](store::Tx& tx) -> absl::Status {
    if (auto s = tx.SetOrderErp(key.store_id, key.order_id, "created", created.id, created.number);
        !s.ok())
      return s;
    if (auto s = tx.PutXref({"order", key.Reference(), std::string(erp_->name()), created.number});
        !s.ok())
      return s;
    if (auto s = tx.AppendTimeline(Event(key, corr, "erp.order_created",
                                         {{"erp", erp_->name()},
                                          {"erp_id", created.id},
                                          {"erp_number", created.number},
                                          {"customer", customer.number.empty() ? customer.id
                                                                               : customer.number}}));
        !s.ok())
      return s;
    if (auto s = options_.events.Emit(tx, events::kOrderAccepted,
                                      absl::StrCat(events::kOrderAccepted, ":", key.Reference()),
                                      key.Reference(), accepted, corr);
        !s.ok())
      return s;
    if (options_.on_erp_created) return options_.on_erp_created(tx, key.store_id, key.order_id, corr);
    return absl::OkStatus();
  });
  if (!options_.write_back) return absl::OkStatus();
  // Write back at once (the common case costs no extra job); if the shop fails, the ERP order
  // still commits as created and a write-back job of its own retries.
  absl::Status written = WriteBackNow(ctx, *key, created->number, MayHaveRunBefore(ctx.job));
  if (!written.ok()) {
    ctx.Defer([this, key = *key, corr, error = written.ToString()](store::Tx& tx) -> absl::Status {
      if (auto s = tx.AppendTimeline(
              Event(key, corr, "shop.writeback_deferred", {{"error", error}}));
          !s.ok())
        return s;
      return tx.EnqueueJob(FollowUp(kShopWritebackJobKind, key, corr, options_.max_attempts))
          .status();
    });
  }
  return absl::OkStatus();
}

absl::Status OrderToCash::CancelInErp(jobs::JobContext& ctx) {
  absl::StatusOr<HeldOrder> held = LoadHeld(ctx);
  if (!held.ok()) return held.status();
  const OrderKey* key = &held->key;
  const std::string& corr = ctx.job.correlation_id;
  const store::OrderRecord& r = held->record;
  if (r.erp_state == "cancelled" || r.erp_state == "skipped") return absl::OkStatus();
  std::string erp_id = r.erp_id;
  std::string erp_number = r.erp_number;
  if (erp_id.empty()) {
    auto found = erp_->FindSalesOrder(key->Reference());
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      ctx.Defer([key = *key, corr](store::Tx& tx) -> absl::Status {
        if (auto s = tx.SetOrderErp(key.store_id, key.order_id, "skipped", "", ""); !s.ok())
          return s;
        return tx.AppendTimeline(Event(key, corr, "erp.cancel_skipped",
                                       {{"reason", "no ERP order was created"}}));
      });
      return absl::OkStatus();
    }
    erp_id = (*found)->id;
    erp_number = (*found)->number;
  }
  if (auto s = erp_->CancelSalesOrder(erp_id); !s.ok()) return s;
  if (m_cancelled_) m_cancelled_->Inc();
  ctx.Defer([this, key = *key, corr, erp_id, erp_number](store::Tx& tx) -> absl::Status {
    if (auto s = tx.SetOrderErp(key.store_id, key.order_id, "cancelled", erp_id, erp_number);
        !s.ok())
      return s;
    if (auto s = options_.events.Emit(
            tx, events::kOrderCancelled, absl::StrCat(events::kOrderCancelled, ":", key.Reference()),
            key.Reference(),
            {{"store_id", key.store_id}, {"order_id", key.order_id},
             {"reference", key.Reference()}, {"erp", erp_->name()}, {"erp_id", erp_id},
             {"erp_number", erp_number}},
            corr);
        !s.ok())
      return s;
    return tx.AppendTimeline(Event(key, corr, "erp.order_cancelled",
                                   {{"erp", erp_->name()}, {"erp_number", erp_number}}));
  });
  return absl::OkStatus();
}

absl::Status OrderToCash::WriteBack(jobs::JobContext& ctx) {
  absl::StatusOr<HeldOrder> held = LoadHeld(ctx);
  if (!held.ok()) return held.status();
  if (held->record.erp_number.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("order ", held->key.Reference(), " has no ERP number to write back"));
  }
  // This job exists only because the create job's write-back failed part-way: always check.
  return WriteBackNow(ctx, held->key, held->record.erp_number, /*may_have_run_before=*/true);
}

absl::Status OrderToCash::WriteBackNow(jobs::JobContext& ctx, const OrderKey& key,
                                       const std::string& number, bool may_have_run_before) {
  const std::string& corr = ctx.job.correlation_id;
  ShopWriteBack* shop = shop_for_ ? shop_for_(key.store_id) : nullptr;
  if (shop == nullptr) {
    ctx.Defer([key, corr](store::Tx& tx) {
      return tx.AppendTimeline(Event(key, corr, "shop.writeback_skipped",
                                     {{"reason", "the store has no REST credentials configured"}}));
    });
    return absl::OkStatus();
  }
  // The note is not idempotent on the shop's side. The meta value is written after it, so when
  // it is already there both happened. Without it, an earlier attempt may still have written the
  // note (its answer lost, or the process killed between the two writes): look for it.
  const std::string note = absl::StrCat("Keelson: ERP sales order ", number, " created in ",
                                        core::AbslSv(erp_->name()), ".");
  bool note_there = false;
  if (may_have_run_before) {
    auto meta = shop->GetOrderMeta(key.order_id, kErpRefMetaKey);
    if (!meta.ok()) return meta.status();
    if (meta->has_value() && **meta == number) return absl::OkStatus();
    auto has = shop->HasOrderNote(key.order_id, note);
    if (!has.ok()) return has.status();
    note_there = *has;
  }
  if (!note_there) {
    if (auto s = shop->AddOrderNote(key.order_id, note); !s.ok()) return s;
  }
  if (auto s = shop->SetOrderMeta(key.order_id, kErpRefMetaKey, number); !s.ok()) return s;
  if (m_writebacks_) m_writebacks_->Inc();
  ctx.Defer([key, corr, number](store::Tx& tx) {
    return tx.AppendTimeline(Event(key, corr, "shop.erp_ref_written",
                                   {{"erp_number", number}, {"meta_key", kErpRefMetaKey}}));
  });
  return absl::OkStatus();
}

}  // namespace keelson::flows
