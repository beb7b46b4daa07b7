#include "model/order.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::model {
namespace {

struct StatusSlug {
  OrderStatus status;
  std::string_view slug;
};

constexpr StatusSlug kStatusSlugs[] = {
    {OrderStatus::kPending, "pending"},       {OrderStatus::kOnHold, "on-hold"},
    {OrderStatus::kProcessing, "processing"}, {OrderStatus::kCompleted, "completed"},
    {OrderStatus::kCancelled, "cancelled"},   {OrderStatus::kRefunded, "refunded"},
    {OrderStatus::kFailed, "failed"},         {OrderStatus::kDraft, "checkout-draft"},
    {OrderStatus::kTrash, "trash"},
};

}  // namespace

std::optional<OrderStatus> ParseWooStatus(std::string_view slug) {
  for (const StatusSlug& s : kStatusSlugs) {
    if (s.slug == slug) return s.status;
  }
  return std::nullopt;
}

std::string_view StatusName(OrderStatus status) {
  for (const StatusSlug& s : kStatusSlugs) {
    if (s.status == status) return s.slug;
  }
  return "unknown";
}

std::string Order::Reference() const { return absl::StrCat(core::AbslSv(store_id), ":", order_id); }

}  // namespace keelson::model
