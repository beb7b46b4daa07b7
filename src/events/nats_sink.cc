#include "events/nats_sink.h"

#include <nats/nats.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "obs/log.h"

namespace keelson::events {
namespace {

std::string NatsError(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string msg = natsStatus_GetText(s);
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0') {
    absl::StrAppend(&msg, ": ", last);
  }
  if (jerr != 0) absl::StrAppend(&msg, " (JetStream error ", static_cast<int>(jerr), ")");
  return msg;
}

}  // namespace

struct NatsJetStreamSink::Conn {
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  ~Conn() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) {
      natsConnection_Close(nc);
      natsConnection_Destroy(nc);
    }
    if (opts != nullptr) natsOptions_Destroy(opts);
  }
};

NatsJetStreamSink::NatsJetStreamSink(NatsSinkOptions options) : options_(std::move(options)) {}

NatsJetStreamSink::~NatsJetStreamSink() {
  std::lock_guard<std::mutex> l(mu_);
  DropLocked();
}

std::string NatsJetStreamSink::SubjectFor(std::string_view type) const {
  return absl::StrCat(options_.subject_prefix, ".", std::string(type));
}

void NatsJetStreamSink::DropLocked() { conn_.reset(); }

absl::Status NatsJetStreamSink::Connect() {
  std::lock_guard<std::mutex> l(mu_);
  return ConnectLocked();
}

absl::Status NatsJetStreamSink::ConnectLocked() {
  if (conn_ != nullptr && conn_->nc != nullptr && !natsConnection_IsClosed(conn_->nc)) {
    return absl::OkStatus();
  }
  DropLocked();
  auto c = std::make_unique<Conn>();
  const int64_t timeout_ms = absl::ToInt64Milliseconds(options_.timeout);
  natsStatus s = natsOptions_Create(&c->opts);
  if (s == NATS_OK) s = natsOptions_SetURL(c->opts, options_.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(c->opts, timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetName(c->opts, "keelson");
  // Keep reconnecting in the background; a publish during the gap fails and is retried.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(c->opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(c->opts, 500);
  if (s == NATS_OK && !options_.token.empty()) {
    s = natsOptions_SetToken(c->opts, options_.token.c_str());
  }
  if (s != NATS_OK) return absl::InvalidArgumentError("NATS options: " + NatsError(s));
  s = natsConnection_Connect(&c->nc, c->opts);
  if (s != NATS_OK) {
    return absl::UnavailableError(
        absl::StrCat("NATS connect to ", options_.url, ": ", NatsError(s)));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = timeout_ms;
  s = natsConnection_JetStream(&c->js, c->nc, &jo);
  if (s != NATS_OK) return absl::UnavailableError("JetStream context: " + NatsError(s));

  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  s = js_GetStreamInfo(&si, c->js, options_.stream.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
  } else if (s == NATS_NOT_FOUND && options_.create_stream) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const std::string subjects = absl::StrCat(options_.subject_prefix, ".>");
    const char* subject_list[] = {subjects.c_str()};
    cfg.Name = options_.stream.c_str();
    cfg.Description = "Keelson business events (docs/events.md)";
    cfg.Subjects = subject_list;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = absl::ToInt64Nanoseconds(options_.duplicate_window);
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, c->js, &cfg, nullptr, &jerr);
    if (s != NATS_OK) {
      return absl::UnavailableError(
          absl::StrCat("creating JetStream stream ", options_.stream, ": ", NatsError(s, jerr)));
    }
    jsStreamInfo_Destroy(si);
    obs::LogInfo("JetStream stream created",
                 {{"stream", options_.stream}, {"subjects", subjects}});
  } else {
    return absl::UnavailableError(absl::StrCat("JetStream stream ", options_.stream, ": ",
                                               NatsError(s, jerr)));
  }
  conn_ = std::move(c);
  return absl::OkStatus();
}

EventSink::Result NatsJetStreamSink::Publish(std::span<const store::OutboxEvent> events) {
  std::lock_guard<std::mutex> l(mu_);
  Result r;
  if (absl::Status s = ConnectLocked(); !s.ok()) {
    r.error = s;
    return r;
  }
  for (const store::OutboxEvent& e : events) {
    natsMsg* msg = nullptr;
    const std::string subject = SubjectFor(e.type);
    natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, e.payload_json.data(),
                                  static_cast<int>(e.payload_json.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Keelson-Subject", e.key.c_str());
    if (s == NATS_OK && !e.correlation_id.empty()) {
      s = natsMsgHeader_Set(msg, "Keelson-Correlation-Id", e.correlation_id.c_str());
    }
    if (s != NATS_OK) {
      natsMsg_Destroy(msg);
      r.error = absl::InternalError("NATS message: " + NatsError(s));
      return r;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = e.event_id.c_str();
    po.ExpectStream = options_.stream.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_PublishMsg(&ack, conn_->js, msg, &po, &jerr);
    natsMsg_Destroy(msg);
    if (ack != nullptr) jsPubAck_Destroy(ack);
    if (s != NATS_OK) {
      r.error = absl::UnavailableError(
          absl::StrCat("publishing ", e.event_id, " to ", subject, ": ", NatsError(s, jerr)));
      if (s == NATS_CONNECTION_CLOSED) DropLocked();
      return r;
    }
    ++r.published;
  }
  return r;
}

}  // namespace keelson::events
