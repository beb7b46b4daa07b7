#pragma once
// The own warehouse, run from the ERP: its work order is the ERP sales order Keelson already
// created (order-to-cash), and the warehouse (or the WMS beside the ERP) picks from it. Releasing
// a segment to it therefore calls nothing remote: it records that the segment is the warehouse's
// to ship, under the ERP's name. Shipments come back through POST /v1/fulfillment/shipments
// (a WMS, a scanner app, a script) like any provider's.
//
// Thread-safety: stateless.

#include <string>

#include "absl/strings/str_cat.h"
#include "connectors/fulfillment.h"

namespace keelson::connectors {

class ErpWarehouseProvider final : public FulfillmentProvider {
 public:
  explicit ErpWarehouseProvider(std::string erp_name) : erp_name_(std::move(erp_name)) {}
  std::string_view name() const override { return "erp"; }
  absl::StatusOr<ReleaseResult> Release(const ReleaseRequest& request,
                                        const ReleaseOptions&) override {
    return ReleaseResult{.provider_id = absl::StrCat(erp_name_, ":", request.order_ref),
                         .already_existed = false};
  }

 private:
  std::string erp_name_;
};

}  // namespace keelson::connectors
