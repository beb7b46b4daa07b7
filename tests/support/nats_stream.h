#pragma once
// Test helper: reads a whole NATS JetStream stream back (js_GetMsg by sequence), to check what
// Keelson published. Needs a reachable nats-server with JetStream (KEELSON_TEST_NATS_URL, set by
// scripts/test-services.sh).

#include <nats/nats.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace keelson::testing {

struct StreamMessage {
  uint64_t seq = 0;
  std::string subject;
  std::string msg_id;  // Nats-Msg-Id
  std::string keelson_subject;
  std::string data;
};

// The URL of the test NATS server, or "" when the suite runs without one.
inline std::string TestNatsUrl() {
  const char* url = std::getenv("KEELSON_TEST_NATS_URL");
  return url == nullptr ? "" : url;
}

class NatsTestClient {
 public:
  NatsTestClient() = default;
  ~NatsTestClient() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) {
      natsConnection_Close(nc_);
      natsConnection_Destroy(nc_);
    }
  }
  NatsTestClient(const NatsTestClient&) = delete;
  NatsTestClient& operator=(const NatsTestClient&) = delete;

  absl::Status Connect(const std::string& url) {
    if (natsStatus s = natsConnection_ConnectTo(&nc_, url.c_str()); s != NATS_OK) {
      return absl::UnavailableError(absl::StrCat("connect ", url, ": ", natsStatus_GetText(s)));
    }
    if (natsStatus s = natsConnection_JetStream(&js_, nc_, nullptr); s != NATS_OK) {
      return absl::UnavailableError(natsStatus_GetText(s));
    }
    return absl::OkStatus();
  }

  // Every message of `stream`, by sequence; kNotFound when the stream does not exist.
  absl::StatusOr<std::vector<StreamMessage>> ReadAll(const std::string& stream) {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND) return absl::NotFoundError(stream);
    if (s != NATS_OK) return absl::UnavailableError(natsStatus_GetText(s));
    const uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
    const uint64_t count = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    std::vector<StreamMessage> out;
    if (count == 0) return out;
    for (uint64_t seq = first; seq <= last; ++seq) {
      natsMsg* msg = nullptr;
      s = js_GetMsg(&msg, js_, stream.c_str(), seq, nullptr, &jerr);
      if (s == NATS_NOT_FOUND) continue;
      if (s != NATS_OK) return absl::UnavailableError(natsStatus_GetText(s));
      StreamMessage m;
      m.seq = seq;
      m.subject = natsMsg_GetSubject(msg);
      const char* v = nullptr;
      if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &v) == NATS_OK && v != nullptr) m.msg_id = v;
      v = nullptr;
      if (natsMsgHeader_Get(msg, "Keelson-Subject", &v) == NATS_OK && v != nullptr) {
        m.keelson_subject = v;
      }
      m.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
      natsMsg_Destroy(msg);
      out.push_back(std::move(m));
    }
    return out;
  }

  void DeleteStream(const std::string& stream) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    (void)js_DeleteStream(js_, stream.c_str(), nullptr, &jerr);
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace keelson::testing
