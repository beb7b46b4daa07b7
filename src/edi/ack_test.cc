// 997 and TA1: what Keelson sends back for a received interchange (addressing, control numbers,
// codes, delimiters), and reading the 997s and TA1s partners send.

#include "edi/ack.h"

#include <gtest/gtest.h>

#include "edi/test_util.h"
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"

namespace keelson::edi {
namespace {

using ::testing::ElementsAre;
using testing::FixturePath;
using ::testing::HasSubstr;
using testing::Interchange940;
using testing::Isa;
using ::testing::IsEmpty;
using testing::ReadFileBytes;
using testing::Set940;
using testing::ValidateBytes;

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2024, 3, 5, 14, 7, 0), absl::UTCTimeZone());

AckOptions Options(Delimiters d = {}, std::string line_end = "\n") {
  return AckOptions{.delimiters = std::move(d), .line_end = std::move(line_end), .now = kNow};
}

std::string Respond(const std::string& received, ControlNumberSource& numbers,
                    const AckOptions& options = Options()) {
  const FileVerdict v = ValidateBytes(received);
  EXPECT_EQ(v.interchanges.size(), 1u);
  absl::StatusOr<std::string> r = BuildResponse(v.interchanges.at(0), numbers, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : "";
}

TEST(EdiAckTest, PartiallyAcceptedGroupGets997WithAk3Ak4AndAk9P) {
  InMemoryControlNumbers numbers;
  const std::string r = Respond(ReadFileBytes(FixturePath("ediengine/AckTest.edi")), numbers);
  EXPECT_EQ(r,
            "ISA*00*          *00*          *ZZ*WAREHOUSE      *ZZ*VENDOR         *240305*1407*U*"
            "00401*000000001*0*P*>~\n"
            "GS*FA*WAREHOUSE*VENDOR*20240305*1407*1*X*004010~\n"
            "ST*997*0001~\n"
            "AK1*OW*9221~\n"
            "AK2*940*20066~\n"
            "AK5*A~\n"
            "AK2*940*20067~\n"
            "AK3*N9*7**8~\n"
            "AK4*1*128*1~\n"
            "AK5*R*5~\n"
            "AK9*P*2*2*1~\n"
            "SE*10*0001~\n"
            "GE*1*1~\n"
            "GS*FA*WAREHOUSE*VENDOR*20240305*1407*2*X*004010~\n"
            "ST*997*0001~\n"
            "AK1*OW*9222~\n"
            "AK2*940*20068~\n"
            "AK5*A~\n"
            "AK9*A*1*1*1~\n"
            "SE*6*0001~\n"
            "GE*1*2~\n"
            "IEA*2*000000001~\n");
}

TEST(EdiAckTest, EnvelopeErrorsGetATa1AndStill997WhenOnlyCountsDisagree) {
  InMemoryControlNumbers numbers;
  const std::string r =
      Respond(ReadFileBytes(FixturePath("ediengine/ControlNumbersMismatch.edi")), numbers);
  EXPECT_THAT(r, HasSubstr("~\nTA1*000003438*101127*1719*E*001~\nGS*FA*3111350000*7705551212*"));
  EXPECT_THAT(r, HasSubstr("AK2*940*0001~\nAK5*R*3~\nAK9*R*1*1*0*4~\n"));
}

TEST(EdiAckTest, RejectedInterchangeGetsOnlyATa1) {
  InMemoryControlNumbers numbers;
  std::string data = Interchange940();
  data.replace(data.find("*240102*"), 8, "*241399*");  // ISA09 not a date
  const std::string r = Respond(data, numbers);
  EXPECT_THAT(r, HasSubstr("TA1*000000001*241399*1230*R*014~"));
  EXPECT_THAT(r, ::testing::Not(HasSubstr("ST*997")));
  EXPECT_THAT(r, HasSubstr("IEA*0*000000001~"));
}

TEST(EdiAckTest, UnreadableIsaStillAddressableGetsATa1) {
  InMemoryControlNumbers numbers;
  const std::string r = Respond(
      ReadFileBytes(FixturePath("x12-types/940_invalid_isa_no_segment_terminator.edi")), numbers);
  EXPECT_THAT(r, HasSubstr("*ZZ*TESTTPLEDI     *08*925119TEST     *"));
  EXPECT_THAT(r, HasSubstr("TA1*000000009*111201*1108*R*004~"));
}

TEST(EdiAckTest, NothingWhenTheIsaCannotBeAddressed) {
  InMemoryControlNumbers numbers;
  EXPECT_THAT(
      Respond(ReadFileBytes(FixturePath("x12-types/940_invalid_isa_missing_fields.edi")), numbers),
      IsEmpty());
}

TEST(EdiAckTest, AcknowledgmentsAreNotAcknowledgedUnlessATa1IsRequested) {
  InMemoryControlNumbers numbers;
  EXPECT_THAT(Respond(ReadFileBytes(FixturePath("staedi/simple997.edi")), numbers), IsEmpty());
  // ISA14 = 1 asks for a TA1, whatever the content.
  std::string requested = ReadFileBytes(FixturePath("staedi/simple997.edi"));
  requested.replace(requested.find("*508121953*0*P*"), 15, "*508121953*1*P*");
  const std::string r = Respond(requested, numbers);
  EXPECT_THAT(r, HasSubstr("TA1*508121953*050812*1953*A*000~"));
  EXPECT_THAT(r, ::testing::Not(HasSubstr("ST*997")));
}

TEST(EdiAckTest, ControlNumbersComeFromTheCallerPerPartner) {
  InMemoryControlNumbers numbers;
  const std::string a = Interchange940();
  std::string b = a;
  b.replace(b.find("SENDER         "), 15, "OTHER          ");
  EXPECT_THAT(Respond(a, numbers), HasSubstr("*000000001*0*P*>~"));
  EXPECT_THAT(Respond(a, numbers),
              HasSubstr("*000000002*0*P*>~\nGS*FA*RECEIVER*SENDER*20240305*1407*2*"));
  EXPECT_THAT(Respond(b, numbers), HasSubstr("*ZZ*OTHER          *240305*1407*U*00401*000000001*"));
  // Wraps after 999999999.
  InMemoryControlNumbers high(999'999'999);
  EXPECT_EQ(*high.NextInterchange("ZZ:X"), 999'999'999);
  EXPECT_EQ(*high.NextInterchange("ZZ:X"), 1);
}

class FailingNumbers : public ControlNumberSource {
 public:
  absl::StatusOr<int64_t> NextInterchange(std::string_view) override {
    return absl::UnavailableError("counter store down");
  }
  absl::StatusOr<int64_t> NextGroup(std::string_view) override { return 1; }
};

TEST(EdiAckTest, ControlNumberErrorsArePassedOn) {
  FailingNumbers numbers;
  const FileVerdict v = ValidateBytes(Interchange940());
  EXPECT_THAT(BuildResponse(v.interchanges[0], numbers, Options()),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(EdiAckTest, ResponseUsesItsOwnDelimitersAndNeverLeaksThemInBadData) {
  InMemoryControlNumbers numbers;
  // Received with '|' as separator; W0101 "2~x" holds the response's terminator.
  std::string data = Interchange940('|', '^', "\n");
  data.replace(data.find("W01|2|EA"), 8, "W01|2~x|EA");
  const std::string r = Respond(data, numbers, Options({'*', '>', "~"}, ""));
  EXPECT_THAT(r, HasSubstr("AK3*W01*5**8~AK4*1*330*6*2?x~AK5*R*5~"));
  const std::string custom = Respond(Interchange940(), numbers, Options({'|', '^', "\n"}, ""));
  EXPECT_THAT(custom, HasSubstr("|0|P|^\nGS|FA|RECEIVER|SENDER|"));
  EXPECT_TRUE(ValidateBytes(custom).Accepted()) << custom;
}

TEST(EdiAckTest, OurResponseReadsBackAsTheSameVerdict) {
  InMemoryControlNumbers numbers;
  const FileVerdict v = ValidateBytes(ReadFileBytes(FixturePath("ediengine/940_Failed_SE01.edi")));
  const std::string r = *BuildResponse(v.interchanges[0], numbers, Options());
  absl::StatusOr<ReceivedAcks> acks = ReadAcks(r);
  ASSERT_TRUE(acks.ok()) << acks.status();
  ASSERT_EQ(acks->acks.size(), 1u);
  const FunctionalAck& a = acks->acks[0];
  EXPECT_EQ(a.functional_id, "OW");
  EXPECT_EQ(a.group_control_number, "9221");
  EXPECT_EQ(a.code, "R");
  EXPECT_EQ(a.included, 1);
  EXPECT_EQ(a.received, 1);
  EXPECT_EQ(a.accepted, 0);
  ASSERT_EQ(a.sets.size(), 1u);
  EXPECT_EQ(a.sets[0].set_id, "940");
  EXPECT_EQ(a.sets[0].control_number, "20066");
  EXPECT_EQ(a.sets[0].code, "R");
  EXPECT_THAT(a.sets[0].error_codes, ElementsAre("4", "5"));
  ASSERT_EQ(a.sets[0].segment_notes.size(), 1u);
  const SegmentNote& n = a.sets[0].segment_notes[0];
  EXPECT_EQ(n.segment_id, "W01");
  EXPECT_EQ(n.position, 5);
  EXPECT_EQ(n.code, "8");
  ASSERT_EQ(n.elements.size(), 2u);
  EXPECT_EQ(n.elements[1].position, 2);
  EXPECT_EQ(n.elements[1].reference, "355");
  EXPECT_EQ(n.elements[1].code, "4");
  EXPECT_EQ(n.elements[1].bad_value, "1");
  EXPECT_FALSE(a.Accepted());
}

TEST(EdiAckTest, ParsesAReceivedRejecting997) {
  absl::StatusOr<ReceivedAcks> acks = ReadAcks(ReadFileBytes(FixturePath("staedi/simple997.edi")));
  ASSERT_TRUE(acks.ok()) << acks.status();
  ASSERT_EQ(acks->acks.size(), 1u);
  const FunctionalAck& a = acks->acks[0];
  EXPECT_EQ(a.functional_id, "HC");
  EXPECT_EQ(a.group_control_number, "000001");
  EXPECT_EQ(a.code, "R");
  EXPECT_EQ(a.included, 1);
  EXPECT_EQ(a.accepted, 0);
  ASSERT_EQ(a.sets.size(), 1u);
  EXPECT_EQ(a.sets[0].set_id, "837");
  EXPECT_EQ(a.sets[0].control_number, "0021");
  EXPECT_EQ(a.sets[0].code, "R");
  EXPECT_THAT(a.sets[0].error_codes, ElementsAre("5"));
  ASSERT_EQ(a.sets[0].segment_notes.size(), 1u);
  EXPECT_EQ(a.sets[0].segment_notes[0].segment_id, "NM1");
  EXPECT_EQ(a.sets[0].segment_notes[0].position, 8);
  ASSERT_EQ(a.sets[0].segment_notes[0].elements.size(), 1u);
  const ElementNote& e = a.sets[0].segment_notes[0].elements[0];
  EXPECT_EQ(e.position, 8);
  EXPECT_EQ(e.reference, "66");
  EXPECT_EQ(e.code, "7");
  EXPECT_EQ(e.bad_value, "MI");
}

TEST(EdiAckTest, ParsesEveryAckOfSeveralInterchangesAndTa1s) {
  absl::StatusOr<ReceivedAcks> acks =
      ReadAcks(ReadFileBytes(FixturePath("staedi/simple997-multiple-interchanges.edi")));
  ASSERT_TRUE(acks.ok());
  EXPECT_EQ(acks->acks.size(), 3u);
  absl::StatusOr<ReceivedAcks> ta1 =
      ReadAcks(ReadFileBytes(FixturePath("staedi/x12_interchange_ack.txt")));
  ASSERT_TRUE(ta1.ok());
  ASSERT_EQ(ta1->ta1s.size(), 1u);
  EXPECT_EQ(ta1->ta1s[0].control_number, "000000050");
  EXPECT_EQ(ta1->ta1s[0].ack, "A");
  EXPECT_EQ(ta1->ta1s[0].note_code, "000");
}

TEST(EdiAckTest, MalformedAcksAreInvalidArguments) {
  absl::StatusOr<std::vector<TransactionSet>> sets =
      ReadTransactionSets(ReadFileBytes(FixturePath("staedi/empty997.edi")));
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_THAT(ParseFunctionalAck((*sets)[0]), StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<std::vector<TransactionSet>> order = ReadTransactionSets(Interchange940());
  EXPECT_THAT(ParseFunctionalAck((*order)[0]), StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string bad_count = Isa() + "GS*FA*S*R*20240102*1230*9*X*004010~ST*997*0001~" +
                                "AK1*OW*7~AK9*A*one*1*1~SE*4*0001~GE*1*9~IEA*1*000000001~";
  absl::StatusOr<ReceivedAcks> acks = ReadAcks(bad_count);
  EXPECT_THAT(acks, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(acks.status().message(), HasSubstr("AK902 \"one\" at segment 3"));
}

}  // namespace
}  // namespace keelson::edi
