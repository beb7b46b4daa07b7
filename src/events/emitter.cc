#include "events/emitter.h"

#include <utility>

#include "absl/time/time.h"

namespace keelson::events {

absl::Status Emitter::Emit(store::Tx& tx, std::string_view type, std::string id,
                           std::string subject, nlohmann::json data,
                           std::string_view correlation_id) const {
  if (!enabled_) return absl::OkStatus();
  const absl::Time now = tx.now();
  nlohmann::json doc = {
      {"specversion", "1.0"},
      {"id", id},
      {"source", source_},
      {"type", type},
      {"subject", subject},
      {"time", absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", now, absl::UTCTimeZone())},
      {"datacontenttype", "application/json"},
      {"data", std::move(data)},
  };
  if (!correlation_id.empty()) doc["correlationid"] = correlation_id;
  store::OutboxEvent e;
  e.event_id = std::move(id);
  e.type = std::string(type);
  e.key = std::move(subject);
  e.payload_json = doc.dump();
  e.correlation_id = std::string(correlation_id);
  e.occurred_at = now;
  return tx.AppendEvent(e).status();
}

}  // namespace keelson::events
