#include "model/fulfillment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "absl/strings/str_cat.h"

namespace keelson::model {
namespace {

using StockMap = std::map<std::pair<std::string, std::string>, int64_t>;

RoutingInputs Inputs(const StockMap& stock,
                     std::map<std::string, absl::Time> inbound = {},
                     std::map<std::string, absl::Time> release = {}) {
  RoutingInputs in;
  in.available = [stock](std::string_view sku, std::string_view loc) -> int64_t {
    auto it = stock.find({std::string(sku), std::string(loc)});
    return it == stock.end() ? 0 : it->second;
  };
  in.inbound_at = [inbound](std::string_view sku) -> std::optional<absl::Time> {
    auto it = inbound.find(std::string(sku));
    if (it == inbound.end()) return std::nullopt;
    return it->second;
  };
  in.release_at = [release](std::string_view sku) -> std::optional<absl::Time> {
    auto it = release.find(std::string(sku));
    if (it == release.end()) return std::nullopt;
    return it->second;
  };
  return in;
}

std::string Describe(const std::vector<Segment>& segs) {
  std::string out;
  for (const Segment& s : segs) {
    absl::StrAppend(&out, std::string(SegmentKindName(s.kind)), "@", s.node_id, "[");
    for (const SegmentLine& l : s.lines) {
      absl::StrAppend(&out, l.sku, "x", l.quantity, l.location.empty() ? "" : "/", l.location, " ");
    }
    if (!s.lines.empty()) out.pop_back();
    absl::StrAppend(&out, "]", s.promised ? "+date" : "", ";");
  }
  return out;
}

const Destination kUs{"US", "CA"};

std::vector<FulfillmentNode> TwoNodes() {
  return {{.id = "wh1", .kind = NodeKind::kWarehouse, .provider = "erp",
           .locations = {"WH1", "WH1-OVERFLOW"}, .priority = 1},
          {.id = "shipbob", .kind = NodeKind::kThirdParty, .provider = "shipbob",
           .locations = {"SB-EAST"}, .priority = 2, .cost = 300}};
}

TEST(RouteTest, OneNodeThatHasEverythingShipsItAllInOneSegment) {
  auto segs = Route({{1, "A", 2}, {2, "B", 1}}, kUs, TwoNodes(),
                    Inputs({{{"A", "WH1"}, 1}, {{"A", "WH1-OVERFLOW"}, 5}, {{"B", "WH1"}, 1},
                            {{"A", "SB-EAST"}, 9}, {{"B", "SB-EAST"}, 9}}));
  ASSERT_TRUE(segs.ok()) << segs.status();
  EXPECT_EQ(Describe(*segs), "ship@wh1[Ax1/WH1 Ax1/WH1-OVERFLOW Bx1/WH1];");
}

TEST(RouteTest, FewerParcelsBeatPriority) {
  // wh1 has only A; the 3PL has both: one parcel from the 3PL rather than two.
  auto segs = Route({{1, "A", 2}, {2, "B", 1}}, kUs, TwoNodes(),
                    Inputs({{{"A", "WH1"}, 5}, {{"A", "SB-EAST"}, 2}, {{"B", "SB-EAST"}, 1}}));
  ASSERT_TRUE(segs.ok());
  EXPECT_EQ(Describe(*segs), "ship@shipbob[Ax2/SB-EAST Bx1/SB-EAST];");
}

TEST(RouteTest, ThreeLinesSplitAcrossTwoNodesPlusABackorder) {
  const absl::Time eta = absl::FromUnixSeconds(1'800'000'000);
  auto segs = Route({{1, "A", 2}, {2, "B", 1}, {3, "C", 3}}, kUs, TwoNodes(),
                    Inputs({{{"A", "WH1"}, 5}, {{"B", "SB-EAST"}, 4}, {{"C", "WH1"}, 1}},
                           {{"C", eta}}));
  ASSERT_TRUE(segs.ok());
  // C: 1 of 3 in WH1 is split off, the other 2 wait for the inbound stock.
  EXPECT_EQ(Describe(*segs),
            "ship@wh1[Ax2/WH1 Cx1/WH1];ship@shipbob[Bx1/SB-EAST];backorder@wh1[Cx2]+date;");
  EXPECT_EQ(segs->back().promised, eta);
}

TEST(RouteTest, ALineNoNodeHoldsInFullIsSplitByPriority) {
  auto segs = Route({{1, "A", 10}}, kUs, TwoNodes(),
                    Inputs({{{"A", "WH1"}, 6}, {{"A", "SB-EAST"}, 7}}));
  ASSERT_TRUE(segs.ok());
  EXPECT_EQ(Describe(*segs), "ship@wh1[Ax6/WH1];ship@shipbob[Ax4/SB-EAST];");
}

TEST(RouteTest, RegionsSkusAndUntrackedDropShip) {
  std::vector<FulfillmentNode> nodes = TwoNodes();
  nodes[0].regions = {"US"};
  nodes[1].regions = {"US-NY", "US-NJ"};  // the 3PL ships only to the east coast
  nodes.push_back({.id = "acme", .kind = NodeKind::kDropShip, .provider = "edi:acme",
                   .skus = {"DS-"}, .regions = {"US"}, .priority = 5, .untracked = true});
  auto segs = Route({{1, "A", 1}, {2, "DS-CHAIR", 2}}, kUs, nodes,
                    Inputs({{{"A", "SB-EAST"}, 5}}));
  ASSERT_TRUE(segs.ok());
  // California: the 3PL is out of region, wh1 has no A: A is backordered with no date.
  EXPECT_EQ(Describe(*segs), "ship@acme[DS-CHAIRx2];backorder@wh1[Ax1];");
  auto de = Route({{1, "DS-CHAIR", 1}}, {"DE", ""}, nodes, Inputs({}));
  ASSERT_TRUE(de.ok());
  EXPECT_EQ(Describe(*de), "backorder@[DS-CHAIRx1];");  // nobody ships drop-ship to Germany
}

TEST(RouteTest, PreorderWaitsForItsReleaseDateEvenWithStock) {
  const absl::Time release = absl::FromUnixSeconds(1'790'000'000);
  auto segs = Route({{1, "A", 1}, {2, "NEW", 2}}, kUs, TwoNodes(),
                    Inputs({{{"A", "WH1"}, 1}, {{"NEW", "WH1"}, 50}}, {}, {{"NEW", release}}));
  ASSERT_TRUE(segs.ok());
  EXPECT_EQ(Describe(*segs), "ship@wh1[Ax1/WH1];preorder@wh1[NEWx2]+date;");
  EXPECT_EQ(segs->back().promised, release);
}

TEST(RouteTest, RejectsLinesWithoutQuantityOrSku) {
  EXPECT_EQ(Route({{1, "A", 0}}, kUs, TwoNodes(), Inputs({})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Route({{1, "", 1}}, kUs, TwoNodes(), Inputs({})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Every unit lands in exactly one segment line, and no location gives more than it has.
TEST(RouteTest, PropertyEveryUnitOnceNoLocationOverdrawn) {
  std::mt19937 rng(20261205);
  const std::vector<std::string> skus = {"A", "B", "C", "D", "DS-1"};
  const std::vector<std::string> locs = {"L1", "L2", "L3", "L4"};
  for (int round = 0; round < 2000; ++round) {
    std::vector<FulfillmentNode> nodes;
    const int n_nodes = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n_nodes; ++i) {
      FulfillmentNode n{.id = absl::StrCat("n", i), .priority = static_cast<int>(rng() % 3),
                        .cost = static_cast<int64_t>(rng() % 500)};
      for (const auto& l : locs) {
        if (rng() % 2) n.locations.push_back(l);
      }
      if (rng() % 4 == 0) n.skus = {skus[rng() % skus.size()]};
      if (rng() % 6 == 0) n.untracked = true;
      if (rng() % 5 == 0) n.regions = {rng() % 2 ? "US" : "DE"};
      nodes.push_back(std::move(n));
    }
    StockMap stock;
    for (const auto& s : skus) {
      for (const auto& l : locs) stock[{s, l}] = static_cast<int64_t>(rng() % 6);
    }
    std::vector<RouteLine> lines;
    const int n_lines = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < n_lines; ++i) {
      lines.push_back({i + 1, skus[rng() % skus.size()], 1 + static_cast<int64_t>(rng() % 8)});
    }
    auto segs = Route(lines, kUs, nodes, Inputs(stock));
    ASSERT_TRUE(segs.ok());
    std::map<int64_t, int64_t> per_line;
    StockMap taken;
    for (const Segment& s : *segs) {
      for (const SegmentLine& l : s.lines) {
        ASSERT_GT(l.quantity, 0) << Describe(*segs);
        per_line[l.line_id] += l.quantity;
        if (!l.location.empty()) taken[{l.sku, l.location}] += l.quantity;
      }
    }
    for (const RouteLine& l : lines) {
      ASSERT_EQ(per_line[l.line_id], l.quantity) << "round " << round << ": " << Describe(*segs);
    }
    for (const auto& [key, n] : taken) {
      ASSERT_LE(n, stock[key]) << "round " << round << ": " << Describe(*segs);
    }
  }
}

}  // namespace
}  // namespace keelson::model
