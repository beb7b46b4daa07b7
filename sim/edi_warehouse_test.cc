// The EDI warehouse simulator over a local folder: a 940 interchange answered with a 997 and
// 945s, and the configured misbehaviour (short, split, rejected) as exact X12.

#include "sim/edi_warehouse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "edi/ack.h"
#include "edi/documents.h"
#include "edi/transaction_set.h"
#include "edi/transport/local_transport.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"

namespace keelson::sim {
namespace {

namespace x12 = keelson::edi;
using ::testing::ElementsAre;

x12::WarehouseShippingOrder Order(std::string id, std::vector<std::pair<std::string, int64_t>> l) {
  x12::WarehouseShippingOrder o;
  o.order_id = std::move(id);
  o.purchase_order = "PO-" + o.order_id;
  o.ship_to = {.entity = "ST", .name = "Erika Mustermann"};
  int n = 0;
  for (auto& [sku, q] : l) {
    o.lines.push_back({.quantity = q, .sku = sku, .line_id = std::to_string(++n)});
  }
  return o;
}

class EdiWarehouseSimTest : public ::testing::Test {
 protected:
  void Send(const std::vector<x12::WarehouseShippingOrder>& orders) {
    x12::InterchangeWriter w({}, "\n");
    ASSERT_TRUE(w.BeginInterchange({.sender_id = "KEELSON",
                                    .receiver_id = "ACME3PL",
                                    .now = absl::FromUnixSeconds(1'767'225'600)},
                                   41)
                    .ok());
    ASSERT_TRUE(w.BeginGroup("OW", "KEELSON", "ACME3PL", 41).ok());
    int st = 0;
    for (const auto& o : orders)
      ASSERT_TRUE(x12::Write940(o, "000" + std::to_string(++st), w).ok());
    ASSERT_TRUE(w.EndGroup().ok());
    auto text = w.EndInterchange();
    ASSERT_TRUE(text.ok());
    ASSERT_TRUE(t_->MakeDirs("to_partner").ok());
    ASSERT_TRUE(t_->WriteAtomic("to_partner", "keelson_940_000000041.x12", *text).ok());
  }
  std::string Out(const std::string& name) {
    return keelson::testing::ReadFile(dir_.File("from_partner/" + name));
  }

  keelson::testing::TempDir dir_;
  std::unique_ptr<x12::FileTransport> t_ = x12::NewLocalTransport(dir_.path());
};

TEST_F(EdiWarehouseSimTest, ShipsShortSplitsAndRejectsAsConfigured) {
  EdiWarehouseSim::Options o;
  o.short_every = 2;   // the 2nd and 4th 940
  o.split_every = 3;   // the 3rd
  o.reject_every = 4;  // the 4th: rejected, so not shipped short
  EdiWarehouseSim sim(t_.get(), o);
  Send({Order("main:1/1", {{"A", 2}}), Order("main:2/1", {{"A", 3}, {"B", 1}}),
        Order("main:3/1", {{"A", 1}, {"B", 2}, {"C", 1}}), Order("main:4/1", {{"D", 5}})});
  KEELSON_ASSERT_OK_AND_ASSIGN(int handled, sim.PollOnce());
  EXPECT_EQ(handled, 1);
  EXPECT_TRUE(std::filesystem::exists(dir_.File("to_partner/done/keelson_940_000000041.x12")));
  // The 997: group 41 partially accepted, the 4th set rejected with AK3 W01 / AK4 W0105.
  KEELSON_ASSERT_OK_AND_ASSIGN(auto acks, x12::ReadAcks(Out("acme_997_000000001.x12")));
  ASSERT_EQ(acks.acks.size(), 1u);
  EXPECT_EQ(acks.acks[0].group_control_number, "41");
  EXPECT_EQ(acks.acks[0].code, "P");
  EXPECT_EQ(acks.acks[0].received, 4);
  EXPECT_EQ(acks.acks[0].accepted, 3);
  ASSERT_EQ(acks.acks[0].sets.size(), 4u);
  EXPECT_EQ(acks.acks[0].sets[3].control_number, "0004");
  EXPECT_EQ(acks.acks[0].sets[3].code, "R");
  ASSERT_EQ(acks.acks[0].sets[3].segment_notes.size(), 1u);
  EXPECT_EQ(acks.acks[0].sets[3].segment_notes[0].segment_id, "W01");
  // The 945s: in full, short by one, split in two.
  KEELSON_ASSERT_OK_AND_ASSIGN(auto sets, x12::ReadTransactionSets(Out("acme_945_000000002.x12")));
  ASSERT_EQ(sets.size(), 4u);
  std::vector<std::string> got;
  for (const auto& s : sets) {
    KEELSON_ASSERT_OK_AND_ASSIGN(x12::ShippingAdvice a, x12::Parse945(s));
    std::string line = a.order_id + " " + a.shipment_id + " " + a.carrier_scac + ":";
    for (const auto& l : a.lines) {
      line += " " + l.sku + "=" + std::to_string(*l.shipped) + "/" + std::to_string(*l.ordered) +
              " " + l.status + " #" + l.line_id;
    }
    got.push_back(line);
  }
  EXPECT_THAT(got, ElementsAre("main:1/1 ACME3PL-SH1 UPSN: A=2/2 CC #1",
                               "main:2/1 ACME3PL-SH2 UPSN: A=2/3 CP #1 B=1/1 CC #2",
                               "main:3/1 ACME3PL-SH3-1 UPSN: A=1/1 CC #1",
                               "main:3/1 ACME3PL-SH3-2 UPSN: B=2/2 CC #2 C=1/1 CC #3"));
  const auto stats = sim.stats();
  EXPECT_EQ(stats.orders_received, 4);
  EXPECT_EQ(stats.orders_rejected, 1);
  EXPECT_EQ(stats.shipments, 4);
  EXPECT_EQ(stats.files_997, 1);
  EXPECT_EQ(stats.files_945, 1);
  ASSERT_EQ(sim.orders().size(), 4u);
  EXPECT_EQ(sim.orders()[1].lines[0].quantity, 3);
}

}  // namespace
}  // namespace keelson::sim
