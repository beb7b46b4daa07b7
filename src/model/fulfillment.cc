#include "model/fulfillment.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace keelson::model {

std::string_view NodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kWarehouse: return "warehouse";
    case NodeKind::kThirdParty: return "3pl";
    case NodeKind::kDropShip: return "dropship";
  }
  return "?";
}

std::optional<NodeKind> ParseNodeKind(std::string_view name) {
  for (NodeKind k : {NodeKind::kWarehouse, NodeKind::kThirdParty, NodeKind::kDropShip}) {
    if (NodeKindName(k) == name) return k;
  }
  return std::nullopt;
}

std::string_view SegmentKindName(SegmentKind kind) {
  switch (kind) {
    case SegmentKind::kShip: return "ship";
    case SegmentKind::kBackorder: return "backorder";
    case SegmentKind::kPreorder: return "preorder";
  }
  return "?";
}

bool Serves(const FulfillmentNode& node, std::string_view sku, const Destination& to) {
  const bool sku_ok = node.skus.empty() ||
                      std::any_of(node.skus.begin(), node.skus.end(), [&](const std::string& p) {
                        return sku.substr(0, p.size()) == p;
                      });
  if (!sku_ok) return false;
  if (node.regions.empty()) return true;
  const std::string full = to.state.empty() ? to.country : absl::StrCat(to.country, "-", to.state);
  return std::any_of(node.regions.begin(), node.regions.end(),
                     [&](const std::string& r) { return r == to.country || r == full; });
}

namespace {

// Stock as this routing sees it: what it took is gone for the next line.
class Stock {
 public:
  explicit Stock(const RoutingInputs& in) : in_(in) {}
  int64_t At(const std::string& sku, const std::string& location) {
    auto key = std::make_pair(sku, location);
    auto it = left_.find(key);
    if (it == left_.end()) {
      const int64_t v = in_.available ? std::max<int64_t>(0, in_.available(sku, location)) : 0;
      it = left_.emplace(key, v).first;
    }
    return it->second;
  }
  void Take(const std::string& sku, const std::string& location, int64_t n) {
    At(sku, location);
    left_[{sku, location}] -= n;
  }
  // Units `node` can ship of `sku` (a large number for untracked nodes).
  int64_t NodeHas(const FulfillmentNode& node, const std::string& sku) {
    if (node.untracked) return INT64_MAX / 4;
    int64_t n = 0;
    for (const std::string& loc : node.locations) n += At(sku, loc);
    return n;
  }

 private:
  const RoutingInputs& in_;
  std::map<std::pair<std::string, std::string>, int64_t> left_;
};

struct Remaining {
  const RouteLine* line;
  int64_t qty;
};

}  // namespace

absl::StatusOr<std::vector<Segment>> Route(const std::vector<RouteLine>& lines,
                                           const Destination& to,
                                           const std::vector<FulfillmentNode>& nodes,
                                           const RoutingInputs& inputs) {
  for (const RouteLine& l : lines) {
    if (l.sku.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", l.line_id, " has no SKU"));
    }
    if (l.quantity <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", l.line_id, " (", l.sku, ") has quantity ", l.quantity));
    }
  }
  std::vector<const FulfillmentNode*> order;
  for (const FulfillmentNode& n : nodes) order.push_back(&n);
  std::sort(order.begin(), order.end(), [](const FulfillmentNode* a, const FulfillmentNode* b) {
    return std::tie(a->priority, a->cost, a->id) < std::tie(b->priority, b->cost, b->id);
  });
  Stock stock(inputs);
  std::map<std::string, Segment> ship;  // by node id
  auto take = [&](const FulfillmentNode& node, const RouteLine& line, int64_t qty) {
    Segment& seg = ship[node.id];
    seg.node_id = node.id;
    seg.kind = SegmentKind::kShip;
    if (node.untracked) {
      seg.lines.push_back({line.line_id, line.sku, qty, ""});
      return;
    }
    for (const std::string& loc : node.locations) {
      if (qty == 0) break;
      const int64_t n = std::min(qty, stock.At(line.sku, loc));
      if (n <= 0) continue;
      stock.Take(line.sku, loc, n);
      seg.lines.push_back({line.line_id, line.sku, n, loc});
      qty -= n;
    }
  };

  std::vector<Remaining> rest;
  std::vector<Remaining> preorders;
  for (const RouteLine& l : lines) {
    if (inputs.release_at && inputs.release_at(l.sku).has_value()) {
      preorders.push_back({&l, l.quantity});
    } else {
      rest.push_back({&l, l.quantity});
    }
  }

  // 1 and 2: whole lines, the node covering the most of them first.
  while (!rest.empty()) {
    const FulfillmentNode* best = nullptr;
    size_t best_n = 0;
    for (const FulfillmentNode* n : order) {
      size_t covered = 0;
      for (const Remaining& r : rest) {
        if (Serves(*n, r.line->sku, to) && stock.NodeHas(*n, r.line->sku) >= r.qty) ++covered;
      }
      if (covered > best_n) {
        best = n;
        best_n = covered;
      }
    }
    if (best == nullptr) break;
    std::vector<Remaining> next;
    for (const Remaining& r : rest) {
      if (Serves(*best, r.line->sku, to) && stock.NodeHas(*best, r.line->sku) >= r.qty) {
        take(*best, *r.line, r.qty);
      } else {
        next.push_back(r);
      }
    }
    rest = std::move(next);
  }
  // 3: split what no single node has.
  for (Remaining& r : rest) {
    for (const FulfillmentNode* n : order) {
      if (r.qty == 0) break;
      if (!Serves(*n, r.line->sku, to)) continue;
      const int64_t has = std::min(r.qty, stock.NodeHas(*n, r.line->sku));
      if (has <= 0) continue;
      take(*n, *r.line, has);
      r.qty -= has;
    }
  }

  std::vector<Segment> out;
  for (const FulfillmentNode* n : order) {
    auto it = ship.find(n->id);
    if (it != ship.end()) out.push_back(std::move(it->second));
  }
  // 4: holds, one segment per (kind, node that will ship it, promised date).
  std::map<std::tuple<int, std::string, absl::Time>, Segment> holds;
  auto hold = [&](SegmentKind kind, const RouteLine& line, int64_t qty,
                  std::optional<absl::Time> promised) {
    std::string node_id;
    for (const FulfillmentNode* n : order) {
      if (Serves(*n, line.sku, to)) {
        node_id = n->id;
        break;
      }
    }
    const absl::Time key_time = promised.value_or(absl::InfiniteFuture());
    Segment& seg = holds[{static_cast<int>(kind), node_id, key_time}];
    seg.kind = kind;
    seg.node_id = node_id;
    seg.promised = promised;
    seg.lines.push_back({line.line_id, line.sku, qty, ""});
  };
  for (const Remaining& r : preorders) {
    hold(SegmentKind::kPreorder, *r.line, r.qty, inputs.release_at(r.line->sku));
  }
  for (const Remaining& r : rest) {
    if (r.qty == 0) continue;
    hold(SegmentKind::kBackorder, *r.line, r.qty,
         inputs.inbound_at ? inputs.inbound_at(r.line->sku) : std::nullopt);
  }
  for (auto& [key, seg] : holds) out.push_back(std::move(seg));
  return out;
}

}  // namespace keelson::model
