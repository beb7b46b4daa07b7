// The keelson command line. Exit codes: 0 ok, 1 user error (bad config, bad argument),
// 2 runtime failure.

#include <CLI/CLI.hpp>
#include <iostream>

#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/dead_letters.h"
#include "api/views.h"
#include "app/config.h"
#include "app/demo.h"
#include "app/server.h"
#include "app/wiring.h"
#include "edi/check.h"
#include "jobs/controls.h"
#include "core/clock.h"
#include "net/signature.h"
#include "obs/log.h"

namespace keelson::app {
namespace {

constexpr int kOk = 0;
constexpr int kUserError = 1;
constexpr int kRuntimeError = 2;

// Loads and validates the config, printing every error. nullopt when it is unusable.
std::optional<Config> Load(const std::string& path) {
  ConfigResult r = LoadConfigFile(path);
  if (!r.ok()) {
    std::cerr << "keelson: " << path << ": " << r.errors.size()
              << (r.errors.size() == 1 ? " error" : " errors") << "\n"
              << FormatErrors(r.errors);
    return std::nullopt;
  }
  return std::move(r.config);
}

int WithStore(const std::string& config_path,
              const std::function<int(store::Store&, const Config&)>& fn) {
  auto config = Load(config_path);
  if (!config) return kUserError;
  auto store = OpenStore(*config);
  if (!store.ok()) {
    std::cerr << "keelson: " << store.status().message() << "\n";
    return kRuntimeError;
  }
  return fn(**store, *config);
}

int Fail(const absl::Status& s) {
  std::cerr << "keelson: " << s.message() << "\n";
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
      return kUserError;
    default:
      return kRuntimeError;
  }
}

void PrintJobRow(const store::Job& j) {
  std::cout << j.id << "\t" << j.kind << "\t" << j.dead_reason << "\t" << j.attempts << "\t"
            << api::FormatRfc3339(j.updated_at) << "\t" << j.correlation_id << "\t"
            << j.last_error.substr(0, 120) << "\n";
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"Keelson: the retail integration hub between WooCommerce, ERPs and fulfillment"};
  app.require_subcommand(1);
  std::string config_path = "keelson.yaml";

  auto* serve = app.add_subcommand("serve", "run the hub");
  serve->add_option("--config,-c", config_path, "configuration file")->capture_default_str();
  std::string ready_file;
  serve->add_option("--ready-file", ready_file,
                    "write the bound port here once listening (for port 0)");

  auto* check = app.add_subcommand("check-config", "validate a config; print every error");
  check->add_option("--config,-c", config_path, "configuration file")->capture_default_str();

  auto* version = app.add_subcommand("version", "print the version");

  auto* sim_cmd = app.add_subcommand("sim", "run one simulator standalone: woocommerce, "
                                            "business-central, odoo or edi-warehouse");
  SimOptions sim_options;
  sim_cmd->add_option("name", sim_options.name,
                      "woocommerce | business-central | odoo | edi-warehouse")
      ->required();
  sim_cmd->add_option("--port", sim_options.port, "listen port (0 = any)")->capture_default_str();
  sim_cmd->add_option("--webhook-target", sim_options.webhook_target,
                      "woocommerce: where to send webhooks (Keelson's webhook URL)");
  sim_cmd->add_option("--odoo-version", sim_options.odoo_version,
                      "odoo: server version; 19.0 enables the JSON-2 API")
      ->capture_default_str();
  sim_cmd->add_option("--dir", sim_options.dir, "edi-warehouse: the local folder it trades in");
  sim_cmd->add_option("--sftp", sim_options.sftp, "edi-warehouse: user@host[:port] instead");
  sim_cmd->add_option("--key", sim_options.key, "edi-warehouse: SFTP private key file");
  sim_cmd->add_option("--host-key", sim_options.host_key,
                      "edi-warehouse: the SFTP server's SHA256:... fingerprint");
  sim_cmd->add_flag("--insecure-accept-any-host-key", sim_options.insecure_accept_any_host_key,
                    "edi-warehouse: do not check the SFTP host key (tests and demos only)");
  sim_cmd->add_option("--inbound", sim_options.inbound,
                      "edi-warehouse: where Keelson writes 940s")
      ->capture_default_str();
  sim_cmd->add_option("--outbound", sim_options.outbound,
                      "edi-warehouse: where it writes 997s and 945s")
      ->capture_default_str();
  sim_cmd->add_option("--short-every", sim_options.short_every,
                      "edi-warehouse: every Nth 940 ships one unit short");
  sim_cmd->add_option("--split-every", sim_options.split_every,
                      "edi-warehouse: every Nth 940 ships in two 945s");
  sim_cmd->add_option("--reject-every", sim_options.reject_every,
                      "edi-warehouse: every Nth 940 is rejected in the 997");

  auto* connector = app.add_subcommand(
      "connector", "operator controls: list, pause (hold its jobs), resume a connector");
  connector->require_subcommand(1);
  std::string connector_name, pause_reason;
  auto* connector_list = connector->add_subcommand("list", "each connector and whether paused");
  connector_list->add_option("--config,-c", config_path, "configuration file")
      ->capture_default_str();
  auto* connector_pause = connector->add_subcommand(
      "pause", "hold the connector's jobs (queued, not failed) until resumed");
  connector_pause->add_option("name", connector_name, "erp | woocommerce")->required();
  connector_pause->add_option("--reason", pause_reason, "why (kept with the pause, audited)");
  connector_pause->add_option("--config,-c", config_path, "configuration file");
  auto* connector_resume = connector->add_subcommand("resume", "run the connector's jobs again");
  connector_resume->add_option("name", connector_name, "erp | woocommerce")->required();
  connector_resume->add_option("--config,-c", config_path, "configuration file");
  auto* demo = app.add_subcommand(
      "demo", "simulators + hub on SQLite, with orders streamed through; prints where to look");
  DemoOptions demo_options;
  demo->add_option("--orders", demo_options.orders, "orders to stream")->capture_default_str();
  demo->add_option("--port", demo_options.port, "the hub's port")->capture_default_str();
  demo->add_option("--dir", demo_options.dir, "working directory (database, config)")
      ->capture_default_str();
  demo->add_option("--erp", demo_options.erp, "business_central | odoo")->capture_default_str();
  demo->add_flag("--once", demo_options.once, "exit once the orders went through");
  demo->add_option("--api-key", demo_options.api_key,
                   "the console's ops API key (default: a fresh random one, printed)");

  auto* dlq = app.add_subcommand("dlq", "dead letters: list, show, replay");
  dlq->require_subcommand(1);
  dlq->add_option("--config,-c", config_path, "configuration file")->capture_default_str();
  auto* dlq_list = dlq->add_subcommand("list", "list dead letters");
  std::string reason, kind;
  int limit = 100;
  int64_t after = 0;
  dlq_list->add_option("--reason", reason, "only this dead reason (business, poison, ...)");
  dlq_list->add_option("--kind", kind, "only this job kind");
  dlq_list->add_option("--limit", limit, "at most this many")->capture_default_str();
  dlq_list->add_option("--after", after, "ids greater than this (paging)");
  dlq_list->add_option("--config,-c", config_path, "configuration file");
  auto* dlq_show = dlq->add_subcommand("show", "one dead letter, with payload and delivery");
  int64_t job_id = 0;
  dlq_show->add_option("id", job_id, "job id")->required();
  dlq_show->add_option("--config,-c", config_path, "configuration file");
  auto* dlq_replay = dlq->add_subcommand("replay", "put dead letters back in the queue");
  bool all = false;
  std::vector<std::string> filters;
  dlq_replay->add_option("id", job_id, "job id");
  dlq_replay->add_flag("--all", all, "every dead letter (narrowed by --filter)");
  dlq_replay->add_option("--filter", filters, "reason=R or kind=K (with --all)");
  dlq_replay->add_option("--config,-c", config_path, "configuration file");

  auto* trace = app.add_subcommand("trace", "an order's timeline: main:1234, an ERP number or a correlation id");
  auto* apikey = app.add_subcommand("apikey", "ops API keys");
  apikey->require_subcommand(1);
  auto* apikey_new = apikey->add_subcommand(
      "new", "make a random key; print it once with the config entry holding its SHA-256");
  std::string key_name, key_scope = "ops";
  apikey_new->add_option("--name", key_name, "who or what uses it (shown in the audit log)")
      ->required();
  apikey_new->add_option("--scope", key_scope, "ops (reads and actions) | ops:read (GET only)")
      ->check(CLI::IsMember({"ops", "ops:read"}))
      ->capture_default_str();

  auto* edi = app.add_subcommand("edi", "EDI X12 tools");
  edi->require_subcommand(1);
  auto* edi_check = edi->add_subcommand(
      "check", "validate an X12 file: each verdict with its X12 codes, and the 997/TA1 Keelson "
               "would send back (exit 0 accepted, 1 rejected, 2 unreadable)");
  std::string edi_file;
  edi_check->add_option("file", edi_file, "the X12 file")->required();

  std::string ref;
  trace->add_option("ref", ref, "store:order_id, an ERP order number, or a correlation id")->required();
  trace->add_option("--config,-c", config_path, "configuration file")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kOk : kUserError;
  }

  if (sim_cmd->parsed()) return RunSim(sim_options);
  if (edi_check->parsed()) return edi::RunCheck(edi_file, std::cout, std::cerr);
  if (apikey_new->parsed()) {
    unsigned char raw[24];
    if (RAND_bytes(raw, sizeof raw) != 1) {
      std::cerr << "keelson: apikey: no randomness available\n";
      return kRuntimeError;
    }
    std::string key = "kls_";
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : raw) {
      key += kHex[c >> 4];
      key += kHex[c & 15];
    }
    std::cout << "key (shown once; give it to " << key_name << "):\n  " << key << "\n"
              << "config entry (under ops.api_keys):\n  - {name: " << key_name
              << ", sha256: \"" << net::Sha256Hex(key) << "\", scopes: [\"" << key_scope
              << "\"]}\n";
    return kOk;
  }
  if (demo->parsed()) return RunDemo(demo_options);
  if (version->parsed()) {
    std::cout << "keelson " << KEELSON_VERSION << "\n";
    return kOk;
  }
  if (check->parsed()) {
    auto config = Load(config_path);
    if (!config) return kUserError;
    std::cout << config_path << ": ok (" << config->stores.size() << " store"
              << (config->stores.size() == 1 ? "" : "s") << ", storage " << config->storage.engine
              << ")\n";
    return kOk;
  }
  if (serve->parsed()) {
    auto config = Load(config_path);
    if (!config) return kUserError;
    obs::InitLogging(config->log.level,
                     config->log.format == "text" ? obs::LogFormat::kText : obs::LogFormat::kJson);
    return Serve(*config, ServeOptions{.ready_file = ready_file});
  }
  if (dlq_list->parsed()) {
    return WithStore(config_path, [&](store::Store& st, const Config&) {
      store::JobFilter f;
      f.state = store::JobState::kDead;
      f.dead_reason = reason;
      f.kind = kind;
      f.limit = limit;
      f.after_id = after;
      auto jobs = st.ListJobs(f);
      if (!jobs.ok()) return Fail(jobs.status());
      std::cout << "ID\tKIND\tREASON\tATTEMPTS\tUPDATED\tCORRELATION\tLAST ERROR\n";
      for (const auto& j : *jobs) PrintJobRow(j);
      std::cout.flush();  // the count goes to stderr, after the rows
      std::cerr << jobs->size() << " dead letter" << (jobs->size() == 1 ? "" : "s") << "\n";
      return kOk;
    });
  }
  if (dlq_show->parsed()) {
    return WithStore(config_path, [&](store::Store& st, const Config&) {
      auto out = api::DeadLetterDetail(st, job_id);
      if (!out.ok()) return Fail(out.status());
      std::cout << out->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return kOk;
    });
  }
  if (dlq_replay->parsed()) {
    if (all == (job_id != 0)) {
      std::cerr << "keelson: dlq replay takes either an ID or --all\n";
      return kUserError;
    }
    store::JobFilter f;
    for (const std::string& flt : filters) {
      std::pair<std::string, std::string> kv = absl::StrSplit(flt, absl::MaxSplits('=', 1));
      if (kv.first == "reason") {
        f.dead_reason = kv.second;
      } else if (kv.first == "kind") {
        f.kind = kv.second;
      } else {
        std::cerr << "keelson: --filter " << flt << ": expected reason=… or kind=…\n";
        return kUserError;
      }
    }
    return WithStore(config_path, [&](store::Store& st, const Config&) {
      const absl::Time now = core::Clock::Real()->Now();
      if (!all) {
        if (absl::Status s = st.ReplayJob(job_id, now); !s.ok()) return Fail(s);
        std::cout << "replayed " << job_id << "\n";
        return kOk;
      }
      auto replayed = api::ReplayDeadLetters(st, f, now);
      if (!replayed.ok()) return Fail(replayed.status());
      const size_t n = replayed->size();
      std::cout << "replayed " << n << " dead letter" << (n == 1 ? "" : "s") << "\n";
      return kOk;
    });
  }
  if (connector_list->parsed() || connector_pause->parsed() || connector_resume->parsed()) {
    return WithStore(config_path, [&](store::Store& st, const Config&) {
      jobs::ConnectorControls controls(&st, core::Clock::Real(), {kErpConnector, kWooConnector});
      if (connector_pause->parsed()) {
        if (absl::Status s = controls.Pause(connector_name, pause_reason, "cli"); !s.ok()) {
          return Fail(s);
        }
        std::cout << "paused " << connector_name
                  << " (its jobs are held; a running keelson serve stops claiming them within a "
                     "second)\n";
        return kOk;
      }
      if (connector_resume->parsed()) {
        if (absl::Status s = controls.Resume(connector_name, "cli"); !s.ok()) return Fail(s);
        std::cout << "resumed " << connector_name << "\n";
        return kOk;
      }
      auto states = controls.List();
      if (!states.ok()) return Fail(states.status());
      std::cout << "CONNECTOR\tSTATE\tSINCE\tBY\tREASON\n";
      for (const jobs::PauseState& p : *states) {
        std::cout << p.connector << "\t" << (p.paused ? "paused" : "running") << "\t"
                  << (p.since == absl::InfinitePast() ? "-" : api::FormatRfc3339(p.since))
                  << "\t" << (p.by.empty() ? "-" : p.by) << "\t"
                  << (p.reason.empty() ? "-" : p.reason) << "\n";
      }
      return kOk;
    });
  }
  if (trace->parsed()) {
    return WithStore(config_path, [&](store::Store& st, const Config&) {
      const bool is_correlation =
          ref.size() == 32 && ref.find_first_not_of("0123456789abcdef") == std::string::npos;
      auto events = is_correlation ? st.ListTimelineByCorrelation(ref, 10000)
                                   : st.ListTimeline(absl::StrCat("order:", ref), 10000);
      if (!events.ok()) return Fail(events.status());
      if (events->empty() && !is_correlation) {
        // Not a store:order reference we hold: maybe an ERP number.
        auto xref = st.FindXrefByExternalId(ref);
        if (!xref.ok()) return Fail(xref.status());
        if (xref->has_value()) {
          events = st.ListTimeline(absl::StrCat((*xref)->entity_type, ":", (*xref)->keelson_id),
                                   10000);
          if (!events.ok()) return Fail(events.status());
        }
      }
      if (events->empty()) {
        std::cerr << "keelson: nothing recorded for " << ref << "\n";
        return kUserError;
      }
      for (const auto& e : *events) {
        std::cout << api::FormatRfc3339(e.at) << "  " << e.entity << "  " << e.kind << "  "
                  << e.detail_json << "  [" << e.correlation_id << "]\n";
      }
      return kOk;
    });
  }
  return kUserError;
}

}  // namespace keelson::app

int main(int argc, char** argv) { return keelson::app::Main(argc, argv); }
