// The typed documents: the 940 Keelson writes (golden text, valid X12, errors named), and the
// 945, 856 and 846 it reads, against the real fixtures where a permissively licensed one exists
// and against hand-written sets for the rest.

#include "edi/documents.h"

#include <gtest/gtest.h>

#include <numeric>

#include "edi/test_util.h"
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"

namespace keelson::edi {
namespace {

using ::testing::ElementsAre;
using testing::FixturePath;
using ::testing::HasSubstr;
using testing::Isa;
using testing::ReadFileBytes;
using testing::ValidateBytes;

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2024, 3, 5, 9, 30, 0), absl::UTCTimeZone());

WarehouseShippingOrder AnOrder() {
  WarehouseShippingOrder o;
  o.order_id = "main-1042-1";
  o.purchase_order = "1042";
  o.ship_to = Party{.name = "Jane Doe",
                    .address = {"12 Harbour Road", "Flat 3"},
                    .city = "Bristol",
                    .state = "",
                    .postal_code = "BS1 5AB",
                    .country = "GB"};
  o.warehouse = Party{.name = "Acme 3PL Avonmouth", .id_qualifier = "91", .id = "AVON1"};
  o.ship_by = absl::CivilDay(2024, 3, 6);
  o.notes = {"Gift wrap"};
  o.transport_method = "U";
  o.carrier_scac = "UPSN";
  o.routing = "UPS GROUND";
  o.lines = {WarehouseOrderLine{.quantity = 2,
                                .sku = "TEE-BLK-M",
                                .upc = "012345678905",
                                .description = "Tee black M",
                                .line_id = "1"},
             WarehouseOrderLine{.quantity = 1, .sku = "MUG-01", .line_id = "2"}};
  return o;
}

EnvelopeParams Envelope() {
  return EnvelopeParams{.sender_qualifier = "ZZ",
                        .sender_id = "KEELSON",
                        .receiver_qualifier = "ZZ",
                        .receiver_id = "ACME3PL",
                        .usage = 'T',
                        .now = kNow};
}

TEST(EdiDocumentsTest, Builds940) {
  InMemoryControlNumbers numbers(41);
  absl::StatusOr<std::string> x12 = Build940(AnOrder(), Envelope(), numbers, {}, "\n");
  ASSERT_TRUE(x12.ok()) << x12.status();
  EXPECT_EQ(*x12,
            "ISA*00*          *00*          *ZZ*KEELSON        *ZZ*ACME3PL        *240305*0930*U*"
            "00401*000000041*0*T*>~\n"
            "GS*OW*KEELSON*ACME3PL*20240305*0930*41*X*004010~\n"
            "ST*940*0001~\n"
            "W05*N*main-1042-1*1042~\n"
            "N1*ST*Jane Doe~\n"
            "N3*12 Harbour Road*Flat 3~\n"
            "N4*Bristol**BS1 5AB*GB~\n"
            "N1*WH*Acme 3PL Avonmouth*91*AVON1~\n"
            "G62*10*20240306~\n"
            "NTE*WHI*Gift wrap~\n"
            "W66*PP*U***UPS GROUND*****UPSN~\n"
            "LX*1~\n"
            "W01*2*EA**SK*TEE-BLK-M*UP*012345678905~\n"
            "G69*Tee black M~\n"
            "N9*LI*1~\n"
            "LX*2~\n"
            "W01*1*EA**SK*MUG-01~\n"
            "N9*LI*2~\n"
            "W76*3~\n"
            "SE*18*0001~\n"
            "GE*1*41~\n"
            "IEA*1*000000041~\n");
  // It is valid X12 by Keelson's own validator.
  const FileVerdict v = ValidateBytes(*x12);
  EXPECT_TRUE(v.Accepted()) << ::testing::PrintToString(testing::Summarize(v));
}

TEST(EdiDocumentsTest, Build940NamesWhatCannotBeWritten) {
  InMemoryControlNumbers numbers;
  WarehouseShippingOrder o = AnOrder();
  o.lines.clear();
  EXPECT_THAT(Build940(o, Envelope(), numbers), StatusIs(absl::StatusCode::kInvalidArgument));
  o = AnOrder();
  o.lines[1].sku = "MUG~01";
  absl::StatusOr<std::string> r = Build940(o, Envelope(), numbers);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("lines[1]"));
  EXPECT_THAT(r.status().message(), HasSubstr("W0105 \"MUG~01\""));
  o = AnOrder();
  o.lines[0].quantity = 0;
  EXPECT_THAT(Build940(o, Envelope(), numbers).status().message(), HasSubstr("lines[0].quantity"));
  o = AnOrder();
  o.order_id = std::string(23, 'x');
  EXPECT_THAT(Build940(o, Envelope(), numbers).status().message(), HasSubstr("order_id"));
  EnvelopeParams no_receiver = Envelope();
  no_receiver.receiver_id.clear();
  EXPECT_THAT(Build940(AnOrder(), no_receiver, numbers),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EdiDocumentsTest, CancellationNeedsNoLines) {
  InMemoryControlNumbers numbers;
  WarehouseShippingOrder o = AnOrder();
  o.purpose = 'F';
  o.lines.clear();
  absl::StatusOr<std::string> x12 = Build940(o, Envelope(), numbers);
  ASSERT_TRUE(x12.ok()) << x12.status();
  EXPECT_THAT(*x12, HasSubstr("W05*F*main-1042-1*1042~"));
  EXPECT_THAT(*x12, HasSubstr("W76*0~"));
  EXPECT_TRUE(ValidateBytes(*x12).Accepted());
}

TransactionSet OnlySet(const std::string& x12) {
  absl::StatusOr<std::vector<TransactionSet>> sets = ReadTransactionSets(x12);
  EXPECT_TRUE(sets.ok()) << sets.status();
  EXPECT_EQ(sets->size(), 1u);
  return sets->empty() ? TransactionSet() : (*sets)[0];
}

TEST(EdiDocumentsTest, Parses945FromARealFile) {
  const TransactionSet set =
      OnlySet(ReadFileBytes(FixturePath("x12-types/945_nonfixed_width_isa.edi")));
  absl::StatusOr<ShippingAdvice> a = Parse945(set);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->reporting_code, "F");
  EXPECT_EQ(a->order_id, "IF102");
  EXPECT_EQ(a->ship_date, absl::CivilDay(2019, 6, 4));
  EXPECT_EQ(a->shipment_id, "BOL12345");
  EXPECT_EQ(a->purchase_order, "PO9865");
  EXPECT_EQ(a->transport_method, "M");
  EXPECT_EQ(a->carrier_scac, "NPLT");
  EXPECT_EQ(a->routing, "NORTHPOINT TRANSPOR");
  EXPECT_EQ(a->payment_method, "PP");
  ASSERT_EQ(a->parties.size(), 2u);
  EXPECT_EQ(a->parties[0].entity, "ST");
  EXPECT_EQ(a->parties[0].postal_code, "66216-4563");
  ASSERT_EQ(a->lines.size(), 1u);
  const ShippedLine& l = a->lines[0];
  EXPECT_EQ(l.status, "CC");
  EXPECT_EQ(l.ordered, 3000);
  EXPECT_EQ(l.shipped, 3000);
  EXPECT_EQ(l.difference, 0);
  EXPECT_EQ(l.uom, "EA");
  EXPECT_EQ(l.sku_qualifier, "VN");
  EXPECT_EQ(l.sku, "123456789");
  EXPECT_EQ(l.lot, "LOT12314");
  EXPECT_THAT(l.license_plates, ElementsAre("LPN6569"));
  EXPECT_EQ(a->total_units, 3000);
  EXPECT_EQ(a->total_weight, "15000");
  EXPECT_EQ(a->weight_uom, "LB");
}

std::string Wrap(std::string_view functional_id, std::string body, int segments) {
  return Isa() + "GS*" + std::string(functional_id) + "*SENDER*RECEIVER*20240102*1230*5*X*004010~" +
         body + "SE*" + std::to_string(segments) + "*0001~GE*1*5~IEA*1*000000001~";
}

TEST(EdiDocumentsTest, Parses945TrackingFromN9AndMan) {
  const std::string x12 = Wrap("SW",
                               "ST*945*0001~W06*F*main-1042-1*20240306*SHP-9**1042~"
                               "N9*BM*BOL-77~W27*U*UPSN~"
                               "LX*1~MAN*CP*1Z999AA10123456784~"
                               "W12*CC*2*2*0*EA**SK*TEE-BLK-M~N9*LI*1~"
                               "LX*2~W12*CP*1*0*1*EA**SK*MUG-01~N9*LI*2~N9*2I*TRK-2~"
                               "W03*2~",
                               14);
  EXPECT_TRUE(ValidateBytes(x12).Accepted());
  absl::StatusOr<ShippingAdvice> a = Parse945(OnlySet(x12));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->order_id, "main-1042-1");
  EXPECT_EQ(a->carrier_scac, "UPSN");
  EXPECT_THAT(a->references, ElementsAre(Reference{"BM", "BOL-77"}));
  ASSERT_EQ(a->lines.size(), 2u);
  EXPECT_EQ(a->lines[0].line_id, "1");
  EXPECT_THAT(a->lines[0].tracking, ElementsAre("1Z999AA10123456784"));
  EXPECT_EQ(a->lines[1].status, "CP");
  EXPECT_EQ(a->lines[1].shipped, 0);
  EXPECT_EQ(a->lines[1].difference, 1);
  EXPECT_EQ(a->lines[1].line_id, "2");
  EXPECT_THAT(a->lines[1].tracking, ElementsAre("TRK-2"));
}

TEST(EdiDocumentsTest, Parse945Errors) {
  const std::string fraction = Wrap("SW", "ST*945*0001~W06*F*O1~LX*1~W12*CC*1.5*1*0*EA**SK*A~", 5);
  absl::StatusOr<ShippingAdvice> a = Parse945(OnlySet(fraction));
  EXPECT_THAT(a, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a.status().message(),
              HasSubstr("W1202 \"1.5\" is not a whole quantity at segment 4 (W12, byte "));
  EXPECT_THAT(Parse945(OnlySet(Wrap("SW", "ST*945*0001~W06*F*O1~", 3))).status().message(),
              HasSubstr("has no W12"));
  EXPECT_THAT(Parse945(OnlySet(Wrap("SW", "ST*945*0001~W06*F*O1*2024*~", 3))).status().message(),
              HasSubstr("W0603 \"2024\" is not a date"));
  EXPECT_THAT(Parse945(OnlySet(ReadFileBytes(FixturePath("node-x12/856.edi")))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EdiDocumentsTest, Parses856HierarchyFromARealFile) {
  absl::StatusOr<ShipNotice> n = Parse856(OnlySet(ReadFileBytes(FixturePath("node-x12/856.edi"))));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->purpose, "14");
  EXPECT_EQ(n->shipment_id, "829716");
  EXPECT_EQ(n->date, absl::CivilDay(2011, 12, 6));
  EXPECT_EQ(n->structure, "0002");
  EXPECT_EQ(n->carrier_scac, "XXXX");
  EXPECT_EQ(n->bill_of_lading, "999999-001");
  EXPECT_THAT(n->tracking, ElementsAre("5787970539"));
  EXPECT_EQ(n->ship_date, absl::CivilDay(2011, 12, 6));
  ASSERT_EQ(n->levels.size(), 4u);
  EXPECT_EQ(n->levels[0].code, "S");
  EXPECT_EQ(n->levels[0].parent, -1);
  EXPECT_EQ(n->levels[1].code, "O");
  EXPECT_EQ(n->levels[1].parent, 0);
  EXPECT_EQ(n->levels[1].purchase_order, "99999817");
  EXPECT_EQ(n->levels[3].parent, 1);
  ASSERT_EQ(n->items.size(), 2u);
  EXPECT_EQ(n->items[0].sku, "87787D");
  EXPECT_EQ(n->items[0].shipped, 24);
  EXPECT_EQ(n->items[0].uom, "EA");
  EXPECT_EQ(n->items[0].description, "BLUE WIDGET");
  EXPECT_EQ(n->items[0].purchase_order, "99999817");
  EXPECT_THAT(n->items[0].tracking, ElementsAre("5787970539"));
  EXPECT_EQ(n->items[1].sku, "99887D");
  EXPECT_EQ(n->items[1].shipped, 6);
  // CTT: the number of HL segments and the sum of the shipped quantities.
  EXPECT_EQ(n->ctt_lines, static_cast<int64_t>(n->levels.size()));
  EXPECT_EQ(n->ctt_hash, "30");
  EXPECT_EQ(n->items[0].shipped + n->items[1].shipped, 30);
}

TEST(EdiDocumentsTest, Parses856PacksAndOrdersOfACrossDock) {
  absl::StatusOr<ShipNotice> n =
      Parse856(OnlySet(ReadFileBytes(FixturePath("ediengine/856.Crossdock.OK.edi"))));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->levels.size(), 13u);
  EXPECT_EQ(n->ctt_lines, 13);
  EXPECT_EQ(n->carrier_scac, "OVNT");  // TD5**2*OVNT: TD502 "2" says TD503 is a SCAC
  ASSERT_EQ(n->items.size(), 5u);
  std::vector<std::string> orders, packs;
  for (const ShipNoticeItem& it : n->items) {
    orders.push_back(it.purchase_order);
    packs.push_back(it.pack_id);
    EXPECT_EQ(it.shipped, 12);
    EXPECT_EQ(n->levels[it.level].code, "I");
  }
  EXPECT_THAT(orders, ElementsAre("POREF00", "POREF00", "POREF00", "POREF00", "POREF01"));
  EXPECT_EQ(packs[0], "00000715670002152360");
  EXPECT_EQ(n->items[1].sku, "0000000000831");
  EXPECT_THAT(n->tracking, ElementsAre("0000000008741"));
}

TEST(EdiDocumentsTest, Parse856RejectsABrokenHierarchy) {
  auto parse = [](std::string body, int segments) {
    return Parse856(OnlySet(Wrap("SH", "ST*856*0001~BSN*00*S1*20240102*1200~" + body, segments)));
  };
  EXPECT_THAT(parse("HL*1**S~HL*2*9*O~", 5).status().message(),
              HasSubstr("HL02 \"9\" names no earlier HL at segment 4"));
  EXPECT_THAT(parse("HL*1**S~HL*1*1*O~", 5).status().message(),
              HasSubstr("HL01 \"1\" is used twice"));
  EXPECT_THAT(parse("LIN**SK*A~HL*1**S~", 5).status().message(), HasSubstr("LIN outside an HL"));
  EXPECT_THAT(parse("HL*1**S~HL*2*1*I~LIN**SK*A~SN1**2.5*EA~", 7).status().message(),
              HasSubstr("SN102 \"2.5\" is not a whole quantity"));
  EXPECT_THAT(Parse856(OnlySet(Wrap("SH", "ST*856*0001~HL*1**S~", 3))).status().message(),
              HasSubstr("has no BSN"));
}

// A hand-written 846 (no permissively licensed 846 fixture exists): a heading warehouse, an item
// with on-hand and available quantities, one with quantities per location, one located by its
// own N1 loop.
TEST(EdiDocumentsTest, Parses846QuantitiesPerItemAndLocation) {
  const std::string x12 = Wrap("IB",
                               "ST*846*0001~BIA*00*SI*INV-20240305*20240305~"
                               "N1*WH*Acme 3PL Avonmouth*91*AVON1~"
                               "LIN**SK*TEE-BLK-M*UP*012345678905~PID*F****Tee black M~"
                               "QTY*17*40*EA~QTY*33*35*EA~"
                               "LIN**VN*MUG-01~SDQ*EA*54*AVON1*12*LEEDS2*0~"
                               "LIN**SK*CAP-02~N1*WH**91*LEEDS2~QTY*33*5~"
                               "CTT*3~",
                               14);
  EXPECT_TRUE(ValidateBytes(x12).Accepted());
  absl::StatusOr<InventoryAdvice> a = Parse846(OnlySet(x12));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->report_type, "SI");
  EXPECT_EQ(a->reference, "INV-20240305");
  EXPECT_EQ(a->date, absl::CivilDay(2024, 3, 5));
  EXPECT_EQ(a->location, "AVON1");
  ASSERT_EQ(a->items.size(), 3u);
  const InventoryItem& tee = a->items[0];
  EXPECT_EQ(tee.sku, "TEE-BLK-M");
  EXPECT_EQ(tee.description, "Tee black M");
  EXPECT_EQ(tee.location, "AVON1");
  ASSERT_EQ(tee.quantities.size(), 2u);
  EXPECT_EQ(tee.quantities[0].qualifier, "17");
  EXPECT_EQ(tee.quantities[0].quantity, 40);
  EXPECT_EQ(tee.quantities[1].quantity, 35);
  EXPECT_EQ(tee.quantities[1].uom, "EA");
  const InventoryItem& mug = a->items[1];
  EXPECT_EQ(mug.sku, "MUG-01");
  ASSERT_EQ(mug.by_location.size(), 2u);
  EXPECT_EQ(mug.by_location[0].location, "AVON1");
  EXPECT_EQ(mug.by_location[0].quantity, 12);
  EXPECT_EQ(mug.by_location[1].location, "LEEDS2");
  EXPECT_EQ(mug.by_location[1].quantity, 0);
  const InventoryItem& cap = a->items[2];
  EXPECT_EQ(cap.location, "LEEDS2");
  ASSERT_EQ(cap.quantities.size(), 1u);
  EXPECT_EQ(cap.quantities[0].quantity, 5);
}

TEST(EdiDocumentsTest, Parse846Errors) {
  EXPECT_THAT(Parse846(OnlySet(Wrap("IB", "ST*846*0001~BIA*00*SI*R*20240305~QTY*33*1~", 4)))
                  .status()
                  .message(),
              HasSubstr("QTY before any LIN"));
  EXPECT_THAT(
      Parse846(OnlySet(Wrap("IB", "ST*846*0001~BIA*00*SI*R*20240305~LIN**SK*A~QTY*33*x~", 5)))
          .status()
          .message(),
      HasSubstr("QTY02 \"x\" is not a whole quantity"));
  EXPECT_THAT(Parse846(OnlySet(Wrap("IB", "ST*846*0001~LIN**SK*A~", 3))).status().message(),
              HasSubstr("has no BIA"));
}

}  // namespace
}  // namespace keelson::edi
