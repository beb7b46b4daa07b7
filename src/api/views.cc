#include "api/views.h"

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

}  // namespace keelson::api
