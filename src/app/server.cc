#include "app/server.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/console.h"
#include "api/fulfillment.h"
#include "api/inventory.h"
#include "api/ops.h"
#include "api/ops_views.h"
#include "api/orders.h"
#include "api/woocommerce_webhooks.h"
#include "app/wiring.h"
#include "connectors/woocommerce/mapping.h"
#include "connectors/fulfillment/edi/provider.h"
#include "connectors/fulfillment/erp_warehouse.h"
#include "connectors/fulfillment/shipbob/provider.h"
#include "core/ids.h"
#include "events/nats_sink.h"
#include "events/relay.h"
#include "flows/backfill.h"
#include "flows/fulfillment.h"
#include "flows/erp_stock.h"
#include "flows/inventory.h"
#include "flows/order_to_cash.h"
#include "flows/webhook_ingest.h"
#include "jobs/runner.h"
#include "jobs/scheduler.h"
#include "net/http_server.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "ops/overview.h"
#include "ops/sla.h"
#include "store/group_commit.h"
#include "store/intake_journal.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "edi/transport/local_transport.h"
#include "edi/transport/sftp_transport.h"

namespace keelson::app {
namespace {

absl::Status WriteReadyFile(const std::string& path, uint16_t port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << port << "\n";
    if (!f) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<model::Order> MapWooOrder(std::string_view store_id, const nlohmann::json& payload) {
  return connectors::woocommerce::MapOrder(store_id, payload);
}

// Explicit registration of every job kind (no static registrars). `o2c` is null when no ERP is
// configured: deliveries are then ingested and recorded, and nothing is sent anywhere.
void RegisterJobHandlers(const Config& config, const Connectors& connectors,
                         flows::OrderToCash* o2c, jobs::HandlerRegistry& handlers) {
  flows::ResourceHandler on_resource;
  if (o2c != nullptr) {
    on_resource = [o2c](jobs::JobContext& ctx, const flows::IngestedDelivery& d) {
      return o2c->OnDelivery(ctx, d);
    };
    o2c->Register(handlers);
  }
  handlers.Register(api::kWooIngestJobKind, flows::MakeWebhookIngestHandler(on_resource));
  handlers.Register("jobs.purge", flows::MakePurgeHandler(absl::Hours(config.jobs.retention_hours)));
  handlers.Register(
      flows::kBackfillJobKind,
      flows::MakeBackfillHandler(
          [&connectors](std::string_view store_id) { return connectors.PollerFor(store_id); },
          {.overlap = absl::Seconds(config.order_to_cash.backfill_overlap_s),
           .first_lookback = absl::Hours(config.order_to_cash.backfill_lookback_hours),
           .ingest_job_kind = api::kWooIngestJobKind}));
}

flows::InventoryOptions InventoryOptionsFrom(const Config& config) {
  flows::InventoryOptions o;
  for (const InventoryChannelConfig& c : config.inventory.channels) {
    model::ChannelRule r;
    r.channel = c.store;
    r.locations = c.locations;
    r.backorderable = c.backorderable;
    r.inbound_horizon = absl::Hours(24 * c.inbound_horizon_days);
    r.percent = static_cast<int>(c.percent);
    if (c.cap >= 0) r.cap = c.cap;
    r.holdback = c.holdback;
    o.channels.push_back(std::move(r));
  }
  o.publish_batch = config.inventory.publish_batch;
  o.max_attempts = config.jobs.max_attempts;
  o.events = events::Emitter(config.events.enabled());
  return o;
}

// Order-to-cash moves stock through these, in the commit that accepts the order's new state.
flows::StockHooks StockHooksFor(flows::InventoryService* inv) {
  flows::StockHooks h;
  if (inv == nullptr) return h;
  auto to_lines = [](const flows::StockHooks::Lines& lines) {
    std::vector<flows::InventoryLine> out;
    for (const auto& [sku, qty] : lines) out.push_back({sku, qty});
    return out;
  };
  h.reserve = [inv, to_lines](store::Tx& tx, std::string_view store, std::string_view ref,
                              const flows::StockHooks::Lines& lines) -> absl::Status {
    if (inv->Channel(store) == nullptr) return absl::OkStatus();
    const auto l = to_lines(lines);
    return inv->Reserve(tx, ref, l, store).status();
  };
  h.consume = [inv, to_lines](store::Tx& tx, std::string_view store, std::string_view ref,
                              const flows::StockHooks::Lines& lines) -> absl::Status {
    if (inv->Channel(store) == nullptr) return absl::OkStatus();
    const auto l = to_lines(lines);
    return inv->Consume(tx, ref, l).status();
  };
  h.release = [inv](store::Tx& tx, std::string_view store, std::string_view ref) -> absl::Status {
    if (inv->Channel(store) == nullptr) return absl::OkStatus();
    return inv->Release(tx, ref).status();
  };
  return h;
}

flows::OrderToCashOptions OrderToCashOptionsFrom(const Config& config) {
  flows::OrderToCashOptions o;
  o.create_on.clear();
  for (const std::string& s : config.order_to_cash.create_on) {
    if (auto status = model::ParseWooStatus(s)) o.create_on.push_back(*status);
  }
  o.write_back = config.order_to_cash.write_back;
  o.max_attempts = config.jobs.max_attempts;
  o.events = events::Emitter(config.events.enabled());
  return o;
}

ops::SlaMonitor::Options SlaOptionsFrom(const Config& config) {
  ops::SlaMonitor::Options o;
  o.interval = absl::Seconds(config.sla.interval_s);
  o.webhook_url = config.sla.alert_webhook_url;
  o.webhook_format = config.sla.alert_webhook_format;
  for (const SlaRuleConfig& r : config.sla.rules) {
    o.rules.push_back({.name = r.name,
                       .description = r.description,
                       .subject = ops::ParseSlaSubject(r.subject).value_or(ops::SlaSubject::kOrders),
                       .statuses = r.status,
                       .erp_states = r.erp_state,
                       .kind = r.kind,
                       .older_than = absl::Seconds(r.older_than_s)});
  }
  return o;
}

}  // namespace

absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const Config& config) {
  if (config.storage.engine == "postgres") {
    auto store = store::OpenPostgresStore({.dsn = config.storage.dsn.value(),
                                           .pool_size = config.storage.pool_size});
    // Name the setting to fix, never its value (the DSN may hold a password).
    if (!store.ok()) {
      return absl::Status(store.status().code(),
                          absl::StrCat("storage.dsn: ", store.status().message()));
    }
    return store;
  }
  if (config.storage.engine != "sqlite") {
    return absl::UnimplementedError(absl::StrCat("storage.engine: \"", config.storage.engine,
                                                 "\" is not available in this build"));
  }
  std::filesystem::path p(config.storage.path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
  }
  return store::OpenSqliteStore({.path = config.storage.path,
                                 .busy_timeout_ms = config.storage.busy_timeout_ms});
}

int Serve(const Config& config, const ServeOptions& options) {
  // Block the stop signals in every thread; this one waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto store_or = OpenStore(config);
  if (!store_or.ok()) {
    obs::LogError("cannot open the store", {{"error", store_or.status().ToString()}});
    return 2;
  }
  std::unique_ptr<store::Store> store = std::move(*store_or);
  const core::Clock* clock = core::Clock::Real();
  obs::Registry& metrics = obs::Registry::Default();

  auto connectors_or = BuildConnectors(config, &metrics);
  if (!connectors_or.ok()) {
    obs::LogError("cannot set up the connectors", {{"error", connectors_or.status().ToString()}});
    return 2;
  }
  std::unique_ptr<Connectors> connectors = std::move(*connectors_or);
  // Fulfillment: the configured nodes and the providers that release to them. Declared before
  // the inventory service, whose stock arrivals release fulfillment's holds.
  std::unique_ptr<connectors::ErpWarehouseProvider> erp_warehouse;
  std::unique_ptr<net::HttpClient> shipbob_http;
  std::unique_ptr<connectors::shipbob::ShipBobProvider> shipbob;
  std::unique_ptr<flows::FulfillmentService> fulfillment;
  std::vector<std::unique_ptr<connectors::edi::EdiProvider>> edi_partners;
  const bool fulfills = config.fulfillment.present && !config.fulfillment.nodes.empty();
  std::unique_ptr<flows::InventoryService> inventory;
  if (config.inventory.present) {
    flows::InventoryOptions io = InventoryOptionsFrom(config);
    if (fulfills) {
      io.on_stock_arrived = [&fulfillment](store::Tx& tx, std::string_view sku,
                                           std::string_view location) -> absl::Status {
        return fulfillment ? fulfillment->OnStockArrived(tx, sku, location) : absl::OkStatus();
      };
    }
    inventory = std::make_unique<flows::InventoryService>(connectors->stock_sink.get(),
                                                          std::move(io), &metrics);
  }
  if (fulfills) {
    std::map<std::string, connectors::FulfillmentProvider*, std::less<>> providers;
    if (connectors->erp != nullptr) {
      erp_warehouse =
          std::make_unique<connectors::ErpWarehouseProvider>(std::string(connectors->erp->name()));
      providers["erp"] = erp_warehouse.get();
    }
    if (config.fulfillment.shipbob.present) {
      const ShipBobConfig& c = config.fulfillment.shipbob;
      connectors::shipbob::ShipBobOptions so;
      so.base_url = c.url;
      so.token = c.token.value();
      so.channel_id = c.channel_id;
      so.webhook_secret = c.webhook_secret.value();
      so.default_shipping_method = c.default_shipping_method;
      so.order_type = c.order_type;
      if (c.limits.requests_per_second > 0) so.limits.requests_per_second = c.limits.requests_per_second;
      if (c.limits.burst > 0) so.limits.burst = c.limits.burst;
      if (c.limits.concurrency > 0) so.limits.concurrency = c.limits.concurrency;
      so.limits.timeout = absl::Milliseconds(c.limits.timeout_ms);
      so.limits.adaptive = c.limits.adaptive;
      shipbob_http = net::NewCurlHttpClient();
      shipbob = std::make_unique<connectors::shipbob::ShipBobProvider>(so, *shipbob_http);
      providers["shipbob"] = shipbob.get();
    }
    // EDI trading partners: what they send reaches the flow (and the ledger) through these hooks.
    for (connectors::edi::EdiPartnerOptions po : config.fulfillment.edi.partners) {
      po.max_attempts = config.jobs.max_attempts;
      std::unique_ptr<edi::FileTransport> transport;
      if (po.transport == "local") {
        transport = edi::NewLocalTransport(po.local_root);
      } else {
        auto sftp = edi::NewSftpTransport(po.sftp);
        if (!sftp.ok()) {
          obs::LogError("cannot set up the EDI transport",
                        {{"partner", po.id}, {"error", sftp.status().ToString()}});
          return 2;
        }
        transport = std::move(*sftp);
        if (po.sftp.insecure_accept_any_host_key) {
          obs::LogWarn("EDI partner's SFTP host key is not checked "
                       "(insecure_accept_any_host_key: for tests and demos only)",
                       {{"partner", po.id}, {"host", po.sftp.host}});
        }
      }
      connectors::edi::EdiHooks hooks;
      hooks.shipment = [&fulfillment](store::Tx& tx, const connectors::Shipment& sh,
                                      std::string_view corr) {
        return fulfillment->EnqueueShipment(tx, sh, corr);
      };
      hooks.refused = [&fulfillment](store::Tx& tx, std::string_view segment,
                                     std::string_view reason, std::string_view corr) {
        return fulfillment->EnqueueRefusal(tx, segment, reason, corr);
      };
      if (inventory != nullptr) {
        hooks.stock = [inv = inventory.get()](
                          store::Tx& tx,
                          const connectors::edi::StockLevel& l) -> absl::StatusOr<std::string> {
          auto r = inv->ApplyStockEvent(tx, {.event_id = l.event_id,
                                             .sku = l.sku,
                                             .location = l.location,
                                             .on_hand = l.on_hand,
                                             .occurred_at = l.as_of,
                                             .source = l.source});
          if (!r.ok()) return r.status();
          return std::string(flows::StockEventResultName(*r));
        };
      }
      auto p = std::make_unique<connectors::edi::EdiProvider>(po, std::move(transport),
                                                             store.get(), clock, hooks, &metrics);
      providers[std::string(p->name())] = p.get();
      edi_partners.push_back(std::move(p));
    }
    flows::FulfillmentOptions fo;
    fo.max_attempts = config.jobs.max_attempts;
    fo.events = events::Emitter(config.events.enabled());
    for (const FulfillmentNodeConfig& n : config.fulfillment.nodes) {
      fo.nodes.push_back({.id = n.id,
                          .kind = model::ParseNodeKind(n.kind).value_or(model::NodeKind::kWarehouse),
                          .provider = n.provider,
                          .locations = n.locations,
                          .skus = n.skus,
                          .regions = n.regions,
                          .priority = static_cast<int>(n.priority),
                          .cost = n.cost,
                          .untracked = n.untracked});
    }
    if (inventory != nullptr) {
      fo.consume = [inv = inventory.get()](store::Tx& tx, std::string_view store_id,
                                           std::string_view ref,
                                           const std::vector<flows::InventoryLine>& shipped) {
        if (inv->Channel(store_id) == nullptr) return absl::OkStatus();
        return inv->Consume(tx, ref, shipped).status();
      };
      fo.reserve = [inv = inventory.get()](store::Tx& tx, std::string_view store_id,
                                           std::string_view ref,
                                           const std::vector<flows::InventoryLine>& lines) {
        if (inv->Channel(store_id) == nullptr) return absl::OkStatus();
        return inv->ReserveAt(tx, ref, lines, store_id).status();
      };
      fo.write_off = [inv = inventory.get()](store::Tx& tx, std::string_view store_id,
                                             std::string_view ref,
                                             const std::vector<flows::InventoryLine>& lines) {
        if (inv->Channel(store_id) == nullptr) return absl::OkStatus();
        return inv->WriteOff(tx, ref, lines).status();
      };
    }
    // Shipments are posted to the ERP the orders went to and to the shop they came from.
    fo.erp = connectors->erp.get();
    fo.shop_for = [c = connectors.get()](std::string_view store_id) {
      return c->ShopFor(store_id);
    };
    fulfillment = std::make_unique<flows::FulfillmentService>(std::move(providers), &MapWooOrder,
                                                              std::move(fo), &metrics);
  }
  std::unique_ptr<flows::OrderToCash> o2c;
  if (connectors->erp != nullptr) {
    flows::OrderToCashOptions o2c_options = OrderToCashOptionsFrom(config);
    o2c_options.stock = StockHooksFor(inventory.get());
    if (fulfillment != nullptr) {
      o2c_options.on_erp_created = [f = fulfillment.get()](store::Tx& tx, std::string_view store_id,
                                                          int64_t order_id,
                                                          std::string_view corr) {
        return f->EnqueueRoute(tx, store_id, order_id, corr);
      };
    }
    o2c = std::make_unique<flows::OrderToCash>(
        connectors->erp.get(), &MapWooOrder,
        [c = connectors.get()](std::string_view store_id) { return c->ShopFor(store_id); },
        std::move(o2c_options), &metrics);
  } else {
    obs::LogWarn("no erp configured: orders are received and recorded, but not sent to an ERP");
  }

  jobs::HandlerRegistry handlers;
  RegisterJobHandlers(config, *connectors, o2c.get(), handlers);
  if (inventory != nullptr) inventory->Register(handlers);
  if (fulfillment != nullptr) fulfillment->Register(handlers);
  if (!edi_partners.empty()) {
    std::vector<connectors::edi::EdiProvider*> partners;
    for (const auto& p : edi_partners) partners.push_back(p.get());
    connectors::edi::RegisterEdiJobs(handlers, std::move(partners));
  }
  // Stock truth from the ERP, when there is both an ERP and a ledger to put it in.
  const bool erp_stock_poll = inventory != nullptr && connectors->erp != nullptr &&
                              config.inventory.erp_poll_interval_s > 0;
  if (erp_stock_poll) {
    handlers.Register(
        flows::kErpStockPollJobKind,
        flows::MakeErpStockPollHandler(
            connectors->erp.get(), inventory.get(),
            {.overlap = absl::Seconds(config.inventory.erp_poll_overlap_s),
             .full_scan_every = static_cast<int>(config.inventory.erp_full_scan_every),
             .locations = config.inventory.erp_locations,
             .default_location = config.inventory.erp_default_location,
             .max_attempts = config.jobs.max_attempts}));
  }
  jobs::ConnectorControls controls(store.get(), clock, {kErpConnector, kWooConnector});
  jobs::RunnerOptions ro;
  ro.workers = config.jobs.workers;
  ro.lanes = BuildLanes(config, *connectors, &controls);
  ro.lease = absl::Milliseconds(config.jobs.lease_ms);
  ro.poll_interval = absl::Milliseconds(config.jobs.poll_interval_ms);
  ro.policy.max_attempts = config.jobs.max_attempts;
  ro.policy.base = absl::Milliseconds(config.jobs.backoff_base_ms);
  ro.policy.cap = absl::Milliseconds(config.jobs.backoff_cap_ms);
  ro.policy.deadline = absl::Milliseconds(config.jobs.deadline_ms);
  jobs::Runner runner(store.get(), clock, &handlers, ro, &metrics);

  jobs::Scheduler scheduler(store.get(), clock);
  scheduler.Add("jobs.purge", absl::Hours(1),
                store::NewJob{.kind = "jobs.purge", .partition_key = "jobs.purge",
                              .payload = "{}", .max_attempts = 3});
  if (config.order_to_cash.backfill_interval_s > 0) {
    for (const StoreConfig& s : config.stores) {
      if (connectors->PollerFor(s.id) == nullptr) continue;
      const std::string name = flows::BackfillCursorName(s.id);
      scheduler.Add(name, absl::Seconds(config.order_to_cash.backfill_interval_s),
                    store::NewJob{.kind = flows::kBackfillJobKind,
                                  .partition_key = name,
                                  .payload = nlohmann::json{{"store", s.id}}.dump(),
                                  // A poll that fails retries like any shop call: a burst of
                                  // 503s from the shop is not an operator's problem.
                                  .max_attempts = config.jobs.max_attempts});
    }
  }

  if (inventory != nullptr && config.inventory.reconcile_interval_s > 0) {
    for (const model::ChannelRule& c : inventory->channels()) {
      scheduler.Add(absl::StrCat(flows::kInventoryReconcileJobKind, ":", c.channel),
                    absl::Seconds(config.inventory.reconcile_interval_s),
                    inventory->ReconcileJob(c.channel));
    }
  }

  for (const auto& p : edi_partners) {
    // Each partner's inbound folder (the scheduler ticks every second: that is the shortest).
    scheduler.Add(absl::StrCat(connectors::edi::kEdiPollJobKind, ":", p->options().id),
                  p->options().poll_interval, p->PollJob());
  }
  if (fulfillment != nullptr && config.fulfillment.hold_recheck_s > 0) {
    scheduler.Add(flows::kFulfillmentHoldsJobKind, absl::Seconds(config.fulfillment.hold_recheck_s),
                  fulfillment->HoldsJob());
  }

  if (erp_stock_poll) {
    scheduler.Add(flows::kErpStockPollJobKind, absl::Seconds(config.inventory.erp_poll_interval_s),
                  flows::ErpStockPollJob(config.jobs.max_attempts));
  }

  // Intake: through the journal on SQLite (replaying what a crash left in it first), straight
  // into the store otherwise.
  std::unique_ptr<store::DeliveryIntake> intake;
  if (config.storage.engine == "sqlite" && config.storage.intake_journal &&
      config.storage.path != ":memory:") {
    auto journal = store::IntakeJournal::Open(
        {.dir = config.storage.intake_journal_dir.empty()
                    ? absl::StrCat(config.storage.path, ".intake")
                    : config.storage.intake_journal_dir,
         .max_batch = config.storage.group_commit_max_batch},
        store.get(), clock, &metrics);
    if (!journal.ok()) {
      obs::LogError("cannot open the intake journal (storage.intake_journal_dir)",
                    {{"error", journal.status().ToString()}});
      return 2;
    }
    intake = std::move(*journal);
  } else {
    intake = std::make_unique<store::GroupCommitter>(
        store.get(), clock, config.storage.group_commit_max_batch, &metrics);
  }
  store::DeliveryIntake& committer = *intake;
  committer.set_on_commit([&runner] { runner.Notify(); });

  std::vector<api::WebhookStore> hook_stores;
  for (const StoreConfig& s : config.stores) {
    hook_stores.push_back({s.id, s.webhook_secret.value()});
  }
  api::WooCommerceWebhooks webhooks(std::move(hook_stores), &committer, &metrics);

  std::atomic<bool> ready{false};
  api::OpsDeps ops;
  ops.store = store.get();
  ops.clock = clock;
  ops.metrics = &metrics;
  for (const OpsKey& k : config.ops.api_keys) ops.api_keys.push_back({k.name, k.sha256, k.scopes});
  ops.on_replay = [&runner] { runner.Notify(); };
  ops.ready = [&ready] { return ready.load(); };
  ops.controls = &controls;
  ops.on_resume = [&runner] { runner.Notify(); };
  ops.connector_health = [c = connectors.get(), &controls] {
    return ConnectorHealth(*c, &controls);
  };
  metrics.AddCallbackGauge(
      "keelson_connector_paused", "1 while an operator has paused the connector (jobs held).",
      [&controls] {
        std::vector<std::pair<obs::Labels, double>> out;
        for (const std::string& name : controls.connectors()) {
          out.push_back({{{"connector", name}}, controls.IsPaused(name) ? 1.0 : 0.0});
        }
        return out;
      });
  ops.create_on = config.order_to_cash.create_on;
  ops.mapper = &MapWooOrder;

  // SLA rules, evaluated on a thread of their own; the console's overview charts likewise.
  std::unique_ptr<net::HttpClient> alert_http;
  if (!config.sla.alert_webhook_url.empty()) alert_http = net::NewCurlHttpClient();
  ops::SlaMonitor sla(store.get(), clock, &metrics, alert_http.get(), SlaOptionsFrom(config));
  ops::OverviewSampler sampler(store.get(), clock, &metrics, [&sla] {
    int64_t n = 0;
    for (const auto& s : sla.Snapshot()) n += s.count;
    return n;
  });
  ops.sla = &sla;
  ops.sampler = &sampler;
  if (ops.api_keys.empty()) {
    obs::LogWarn("no ops.api_keys configured: /ops is open to anyone who can reach the server");
  }

  net::Router router;
  router.Add(net::http::verb::post, "/v1/webhooks/woocommerce/{store_id}",
             [&webhooks](net::HttpRequest& req, net::Responder respond) {
               webhooks.Handle(req, std::move(respond));
             });
  api::AddServiceRoutes(router, ops);
  api::AddOpsRoutes(router, ops);
  api::AddOpsViewRoutes(router, ops);
  api::AddOrderRoutes(router, ops, &MapWooOrder);
  api::AddConsoleRoutes(router);
  // Stock events share one durable commit per batch, as webhook intake does.
  store::TxGroupCommitter event_committer(store.get(), clock,
                                          config.storage.group_commit_max_batch, "inventory",
                                          &metrics);
  if (inventory != nullptr) {
    api::AddInventoryRoutes(router, ops, inventory.get(), [&runner] { runner.Notify(); },
                            &event_committer);
  }
  if (fulfillment != nullptr) {
    api::AddFulfillmentRoutes(router, ops, fulfillment.get(), [&runner] { runner.Notify(); });
    if (shipbob != nullptr) {
      api::AddShipBobWebhookRoute(router, ops, fulfillment.get(), shipbob.get(),
                                  [&runner] { runner.Notify(); });
    }
    if (!edi_partners.empty()) {
      std::vector<std::string> ids;
      for (const auto& p : edi_partners) ids.push_back(p->options().id);
      api::AddEdiRoutes(router, ops, std::move(ids));
    }
  }
  api::AddStoreGauges(ops);
  api::AddBusinessGauges(ops);

  // Business events: the outbox, published to NATS JetStream by whichever node holds the lease.
  std::unique_ptr<events::NatsJetStreamSink> event_sink;
  std::unique_ptr<events::OutboxRelay> relay;
  if (config.events.enabled()) {
    const NatsEventsConfig& n = config.events.nats;
    event_sink = std::make_unique<events::NatsJetStreamSink>(events::NatsSinkOptions{
        .url = n.url,
        .stream = n.stream,
        .subject_prefix = n.subject_prefix,
        .create_stream = n.create_stream,
        .duplicate_window = absl::Seconds(n.duplicate_window_s),
        .token = n.token.value(),
        .timeout = absl::Milliseconds(n.timeout_ms)});
    if (absl::Status s = event_sink->Connect(); !s.ok()) {
      // Not fatal: events wait in the outbox until NATS is reachable.
      obs::LogWarn("NATS is not reachable yet; business events wait in the outbox",
                   {{"key", "events.nats.url"}, {"error", s.ToString()}});
    }
    relay = std::make_unique<events::OutboxRelay>(
        store.get(), event_sink.get(), clock,
        events::RelayOptions{.node_id = core::NewInstanceId("events"),
                             .batch = config.events.batch,
                             .keep_published = absl::Hours(config.events.keep_published_h)},
        &metrics);
  }

  net::HttpServerOptions ho;
  ho.host = config.server.host;
  ho.port = config.server.port;
  ho.threads = config.server.io_threads > 0
                   ? config.server.io_threads
                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ho.body_limit = static_cast<uint64_t>(config.server.body_limit_bytes);
  ho.read_timeout = absl::Milliseconds(config.server.request_timeout_ms);
  net::HttpServer server(ho, std::move(router));

  committer.Start();
  event_committer.Start();
  runner.Start();
  scheduler.Start(absl::Seconds(1), [&runner] { runner.Notify(); });
  if (absl::Status s = server.Start(); !s.ok()) {
    obs::LogError("cannot start the HTTP server", {{"error", s.ToString()}});
    scheduler.Stop();
    runner.Stop();
    event_committer.Stop();
    committer.Stop();
    return 2;
  }
  ready = true;
  sla.Start();
  sampler.Start();
  if (relay != nullptr) relay->Start();
  obs::LogInfo("keelson listening",
               {{"address", absl::StrCat(ho.host, ":", server.port())},
                {"port", server.port()},
                {"storage", config.storage.path},
                {"stores", config.stores.size()},
                {"lanes", [&ro] {
                   std::string out;
                   for (const auto& l : ro.lanes) {
                     absl::StrAppend(&out, out.empty() ? "" : ",", l.name, "=", l.workers);
                   }
                   return out;
                 }()},
                {"version", KEELSON_VERSION}});
  if (!options.ready_file.empty()) {
    if (absl::Status s = WriteReadyFile(options.ready_file, server.port()); !s.ok()) {
      obs::LogError("cannot write the ready file", {{"error", s.ToString()}});
    }
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  obs::LogInfo("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  ready = false;
  server.StopAccepting();
  committer.Stop();  // commits and answers every delivery already read
  event_committer.Stop();  // and every stock event
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the answers go out
  server.Stop();
  sla.Stop();
  sampler.Stop();
  scheduler.Stop();
  runner.Stop();
  if (relay != nullptr) relay->Stop();  // after the last job's events are in the outbox
  for (const char* g : {"keelson_connector_paused", "keelson_orders", "keelson_orders_awaiting_erp",
                        "keelson_inventory_unpublished_skus", "keelson_inventory_sync_lag_seconds",
                        "keelson_shipments_awaiting_erp",
                        "keelson_jobs", "keelson_jobs_due", "keelson_jobs_oldest_due_age_seconds",
                        "keelson_dead_letters"}) {
    metrics.RemoveCallbackGauge(g);
  }
  obs::LogInfo("stopped");
  return 0;
}

}  // namespace keelson::app
