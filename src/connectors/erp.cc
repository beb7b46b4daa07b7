#include "connectors/erp.h"

namespace keelson::connectors {

std::string_view ErpOrderStateName(ErpOrderState state) {
  switch (state) {
    case ErpOrderState::kOpen:
      return "open";
    case ErpOrderState::kConfirmed:
      return "confirmed";
    case ErpOrderState::kCancelled:
      return "cancelled";
    case ErpOrderState::kDone:
      return "done";
  }
  return "unknown";
}

}  // namespace keelson::connectors
