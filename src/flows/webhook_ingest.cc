#include "flows/webhook_ingest.h"

#include "absl/strings/str_cat.h"
#include "obs/log.h"

namespace keelson::flows {

jobs::JobHandler MakeWebhookIngestHandler(ResourceHandler on_resource) {
  return [on_resource](jobs::JobContext& ctx) -> absl::Status {
    const nlohmann::json payload =
        nlohmann::json::parse(ctx.job.payload, nullptr, /*allow_exceptions=*/false);
    if (!payload.is_object() || !payload.contains("delivery_id") ||
        !payload["delivery_id"].is_number_integer()) {
      return absl::DataLossError(absl::StrCat("ingest job payload is not {\"delivery_id\":N}: ",
                                              ctx.job.payload.substr(0, 200)));
    }
    auto delivery = ctx.store.GetDelivery(payload["delivery_id"].get<int64_t>());
    if (!delivery.ok()) return delivery.status();
    const store::Delivery& d = *delivery;
    const std::string resource = d.topic.substr(0, d.topic.find('.'));

    nlohmann::json body = nlohmann::json::parse(d.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("id") || !body["id"].is_number_integer()) {
      const std::string reason =
          body.is_discarded()
              ? "body is not valid JSON"
              : "body is not a JSON object with an integer \"id\"";
      ctx.Defer([id = d.id, corr = d.correlation_id, topic = d.topic,
                 reason](store::Tx& tx) -> absl::Status {
        if (auto s = tx.SetDeliveryStatus(id, "rejected", reason); !s.ok()) return s;
        return tx.AppendTimeline(
            {.entity = absl::StrCat("delivery:", id),
             .correlation_id = corr,
             .kind = "webhook.rejected",
             .detail_json = nlohmann::json{{"topic", topic}, {"reason", reason}}.dump()});
      });
      return absl::DataLossError(absl::StrCat("delivery ", d.id, " (", d.topic, "): ", reason));
    }

    const std::string entity =
        absl::StrCat(resource, ":", d.store_id, ":", body["id"].get<int64_t>());
    nlohmann::json detail = {{"topic", d.topic}, {"delivery_id", d.id}};
    for (const char* k : {"status", "date_modified_gmt"}) {
      if (body.contains(k) && body[k].is_string()) detail[k] = body[k];
    }
    ctx.Defer([id = d.id, corr = d.correlation_id, entity,
               detail = detail.dump()](store::Tx& tx) -> absl::Status {
      if (auto s = tx.SetDeliveryStatus(id, "processed", ""); !s.ok()) return s;
      return tx.AppendTimeline(
          {.entity = entity, .correlation_id = corr, .kind = "webhook.received",
           .detail_json = detail});
    });
    obs::LogDebug("delivery ingested",
                  {{"delivery_id", d.id}, {"topic", d.topic}, {"entity", entity}},
                  d.correlation_id);
    if (on_resource) {
      return on_resource(ctx, IngestedDelivery{d, resource, entity, body});
    }
    return absl::OkStatus();
  };
}

jobs::JobHandler MakePurgeHandler(absl::Duration retention) {
  return [retention](jobs::JobContext& ctx) -> absl::Status {
    auto n = ctx.store.PurgeDoneJobs(ctx.clock.Now() - retention);
    if (!n.ok()) return n.status();
    if (*n > 0) obs::LogInfo("purged finished jobs", {{"count", *n}});
    return absl::OkStatus();
  };
}

}  // namespace keelson::flows
