// The validator, one X12 code at a time: a valid interchange, then each interchange (TA105),
// group (AK905), set (AK502), segment (AK304) and element (AK403) error it reports, the
// A/E/R and A/P/R verdicts, and the memory caps.

#include "edi/x12_validator.h"

#include <gtest/gtest.h>

#include "edi/test_util.h"
#include "gmock/gmock.h"

namespace keelson::edi {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Interchange940;
using testing::Isa;
using ::testing::IsEmpty;
using testing::Set940;
using testing::Summarize;
using testing::ValidateBytes;

// `data` with the first `from` replaced by `to`.
std::string Replace(std::string data, std::string_view from, std::string_view to) {
  const size_t at = data.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) data.replace(at, from.size(), to);
  return data;
}

std::vector<std::string> Check(const std::string& data) { return Summarize(ValidateBytes(data)); }

TEST(X12ValidatorTest, AValidInterchangeIsAccepted) {
  const FileVerdict v = ValidateBytes(Interchange940());
  EXPECT_TRUE(v.Accepted());
  EXPECT_THAT(Summarize(v),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []"));
  ASSERT_EQ(v.interchanges.size(), 1u);
  const InterchangeVerdict& ic = v.interchanges[0];
  EXPECT_TRUE(ic.Addressable());
  EXPECT_EQ(ic.Isa(6), "SENDER         ");
  EXPECT_EQ(ic.groups[0].sets[0].segment_count, 7);
}

// --- Interchange (TA105) ---

TEST(X12ValidatorTest, IeaControlNumberMismatchIs001AndAcceptedWithErrors) {
  const FileVerdict v =
      ValidateBytes(Replace(Interchange940(), "IEA*1*000000001", "IEA*1*000000002"));
  EXPECT_THAT(Summarize(v),
              ElementsAre("ISA#1 E 001 [001]", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []"));
  EXPECT_FALSE(v.Accepted());
  EXPECT_THAT(v.interchanges[0].problems[0].message, HasSubstr("IEA02 '000000002'"));
}

TEST(X12ValidatorTest, UnpaddedIeaControlNumberIsTheSameNumber) {
  const FileVerdict v = ValidateBytes(Replace(Interchange940(), "IEA*1*000000001", "IEA*1*1"));
  EXPECT_TRUE(v.Accepted());
  EXPECT_THAT(v.interchanges[0].notes, ElementsAre(HasSubstr("only as a number")));
}

TEST(X12ValidatorTest, IeaGroupCountIs021) {
  EXPECT_THAT(Check(Replace(Interchange940(), "IEA*1*", "IEA*3*")),
              ElementsAre("ISA#1 E 021 [021]", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []"));
}

TEST(X12ValidatorTest, MissingIeaIs023) {
  std::string data = Interchange940();
  data.resize(data.find("IEA"));
  EXPECT_THAT(Check(data),
              ElementsAre("ISA#1 R 023 [023]", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []"));
}

TEST(X12ValidatorTest, InvalidGsIs024) {
  EXPECT_THAT(Check(Replace(Interchange940(), "*20240102*1230*7*", "*20240230*1230*7*")),
              ElementsAre("ISA#1 R 024 [024]", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []"));
}

TEST(X12ValidatorTest, StraySegmentBetweenIsaAndGsIs024) {
  const FileVerdict v = ValidateBytes(Replace(Interchange940(), "GS*OW", "XX*1~GS*OW"));
  EXPECT_EQ(v.interchanges[0].note_code, "024");
  EXPECT_THAT(v.interchanges[0].problems[0].message, HasSubstr("unexpected segment 'XX'"));
  EXPECT_EQ(v.interchanges[0].problems[0].offset, 106u);
  EXPECT_EQ(v.interchanges[0].problems[0].segment, 2);
}

TEST(X12ValidatorTest, SameInterchangeTwiceIs025) {
  EXPECT_THAT(Check(Interchange940() + Interchange940()),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []",
                          "ISA#2 R 025 [025]", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []"));
}

TEST(X12ValidatorTest, IsaElementValuesHaveTheirOwnCodes) {
  const std::string good = Interchange940();
  struct Case {
    std::string from, to, code;
  };
  for (const Case& c : std::vector<Case>{
           {"*240102*1230*", "*241302*1230*", "014"},
           {"*240102*1230*", "*240102*2460*", "015"},
           {"*00401*000000001*", "*0040A*000000001*", "017"},
           {"*0*P*>", "*2*P*>", "019"},
           {"*0*P*>", "*0*X*>", "020"},
           {"*ZZ*SENDER         *", "*ZZ*               *", "006"},
           {"*U*00401*", "*X*00401*", "016"},
       }) {
    const FileVerdict v = ValidateBytes(Replace(good, c.from, c.to));
    ASSERT_EQ(v.interchanges.size(), 1u) << c.code;
    EXPECT_EQ(v.interchanges[0].ack, 'R') << c.code;
    EXPECT_EQ(v.interchanges[0].note_code, c.code) << c.to;
  }
}

TEST(X12ValidatorTest, UnreadableIsaIsAnInterchangeRejectedWithItsCode) {
  std::string data = Interchange940();
  data[17] = '|';
  const FileVerdict v = ValidateBytes(data);
  EXPECT_THAT(Summarize(v), ElementsAre("ISA#1 R 026 [026]"));
  EXPECT_FALSE(v.interchanges[0].readable);
}

TEST(X12ValidatorTest, BytesThatAreNotX12AreFileProblems) {
  const FileVerdict v = ValidateBytes("GS*OW*1~" + Interchange940());
  EXPECT_THAT(Summarize(v), ElementsAre("not-x12@0", "ISA#1 A 000 []", "  GS OW 7 A 1/1/1 []",
                                        "    ST 940 0001 A []"));
  EXPECT_FALSE(v.Accepted());
}

// --- Group (AK905) ---

TEST(X12ValidatorTest, GroupTrailerErrors) {
  EXPECT_THAT(Check(Replace(Interchange940(), "GE*1*7", "GE*2*7")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 2/1/1 [5]", "    ST 940 0001 A []"));
  EXPECT_THAT(Check(Replace(Interchange940(), "GE*1*7", "GE*1*8")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/1 [4]", "    ST 940 0001 A []"));
  EXPECT_THAT(Check(Replace(Interchange940(), "GE*1*7~", "")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/1 [3]", "    ST 940 0001 A []"));
  // GE02 "07" is the same number as GS06 "7".
  EXPECT_THAT(Check(Replace(Interchange940(), "GE*1*7", "GE*1*07")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []"));
}

TEST(X12ValidatorTest, DuplicateGroupControlNumberAndBadSyntaxAre6) {
  const std::string group =
      "GS*OW*SENDER*RECEIVER*20240102*1230*7*X*004010~" + Set940() + "GE*1*7~";
  const std::string data = Replace(Interchange940(), "IEA*1*", group + "IEA*2*");
  EXPECT_THAT(Check(data),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 A 1/1/1 []", "    ST 940 0001 A []",
                          "  GS OW 7 R 1/1/1 [6]", "    ST 940 0001 A []"));
  EXPECT_THAT(
      Check(Replace(Replace(Interchange940(), "*1230*7*", "*1230*X7*"), "GE*1*7", "GE*1*X7")),
      ElementsAre("ISA#1 A 000 []", "  GS OW X7 R 1/1/1 [6]", "    ST 940 0001 A []"));
}

TEST(X12ValidatorTest, SegmentsBetweenSetsRejectTheGroup) {
  const FileVerdict v = ValidateBytes(Replace(Interchange940(), "ST*940", "T*940"));
  // The orphans reach the SE, which has no ST either: no set, GE01 1 but 0 received.
  EXPECT_THAT(Summarize(v), ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/0/0 [5]"));
  EXPECT_THAT(v.interchanges[0].groups[0].problems[0].message,
              HasSubstr("segment 'T' outside a transaction set"));
}

TEST(X12ValidatorTest, PartiallyAcceptedGroupIsP) {
  const std::string bad = Replace(Set940('*', "~", "0002"), "W01*2*EA", "W01**EA");
  const std::string data = Replace(Interchange940(), "GE*1*7", bad + "GE*2*7");
  EXPECT_THAT(Check(data),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 P 2/2/1 []", "    ST 940 0001 A []",
                          "    ST 940 0002 R [5] AK3 W01*5*8(1*330*1)"));
}

// --- Set (AK502) ---

TEST(X12ValidatorTest, SetEnvelopeErrors) {
  EXPECT_THAT(Check(Replace(Interchange940(), "SE*7*0001", "SE*6*0001")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 940 0001 R [4]"));
  EXPECT_THAT(Check(Replace(Interchange940(), "SE*7*0001", "SE*7*0009")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 940 0001 R [3]"));
  EXPECT_THAT(Check(Replace(Interchange940(), "SE*7*0001~", "")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 940 0001 R [2]"));
  EXPECT_THAT(Check(Replace(Interchange940(), "ST*940*0001", "ST*850*0001")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 850 0001 R [1]"));
  EXPECT_THAT(Check(Replace(Interchange940(), "ST*940*0001", "ST*94*0001")),
              ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 94 0001 R [6]"));
  EXPECT_THAT(
      Check(Replace(Replace(Interchange940(), "ST*940*0001", "ST*940*01"), "SE*7*0001", "SE*7*01")),
      ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 940 01 R [7]"));
}

TEST(X12ValidatorTest, DuplicateSetControlNumberIs23) {
  const std::string data = Replace(Interchange940(), "GE*1*7", Set940() + "GE*2*7");
  EXPECT_THAT(Check(data), ElementsAre("ISA#1 A 000 []", "  GS OW 7 P 2/2/1 []",
                                       "    ST 940 0001 A []", "    ST 940 0001 R [23]"));
}

// --- Segments (AK304) and elements (AK403) ---

TEST(X12ValidatorTest, SegmentErrors) {
  EXPECT_THAT(
      Check(Replace(Interchange940(), "N1*ST", "n1*ST")),
      ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 940 0001 R [5] AK3 n1*3*1"));
  EXPECT_THAT(
      Check(Replace(Interchange940(), "N1*ST", "BEG*ST")),
      ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 940 0001 R [5] AK3 BEG*3*6"));
  EXPECT_THAT(
      Check(Replace(Replace(Interchange940(), "W05*N*ORDER1~", ""), "SE*7", "SE*6")),
      ElementsAre("ISA#1 A 000 []", "  GS OW 7 R 1/1/0 []", "    ST 940 0001 R [5] AK3 W05*6*3"));
}

TEST(X12ValidatorTest, ElementErrorsCarryTheirAk403Codes) {
  struct Case {
    std::string from, to, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"W01*2*EA", "W01**EA", "AK3 W01*5*8(1*330*1)"},
           {"W01*2*EA", "W01*2*E", "AK3 W01*5*8(2*355*4)"},
           {"W01*2*EA", "W01*2*EAX", "AK3 W01*5*8(2*355*5)"},
           {"W01*2*EA", "W01*2a*EA", "AK3 W01*5*8(1*330*6)"},
           {"W01*2*EA", "W01*2.5*EA", ""},
           {"LX*1", "LX*1.5", "AK3 LX*4*8(1*554*6)"},
           {"LX*1", "LX*1\x01", "AK3 LX*4*8(1*554*6)"},
           {"N1*ST*JANE DOE", "N1*ST*JANE DOE~G62*10*20240230", "AK3 G62*4*8(2*373*8)"},
           {"N1*ST*JANE DOE", "N1*ST*JANE DOE~G62*10*20240229*1*2460", "AK3 G62*4*8(4*337*9)"},
       }) {
    std::string data = Replace(Interchange940(), c.from, c.to);
    if (c.to.find("G62") != std::string::npos) data = Replace(data, "SE*7", "SE*8");
    const std::vector<std::string> s = Check(data);
    ASSERT_EQ(s.size(), 3u) << c.to;
    EXPECT_EQ(s[2],
              c.expected.empty() ? "    ST 940 0001 A []" : "    ST 940 0001 R [5] " + c.expected)
        << c.to;
  }
}

// A 997 with its own rules: AK2 loops close with AK5, codes from lists, too many elements.
TEST(X12ValidatorTest, FunctionalAckRules) {
  auto ack = [](std::string body, int segments) {
    return Isa() + "GS*FA*SENDER*RECEIVER*20240102*1230*9*X*004010~ST*997*0001~" + body + "SE*" +
           std::to_string(segments) + "*0001~GE*1*9~IEA*1*000000001~";
  };
  EXPECT_THAT(Check(ack("AK1*OW*7~AK2*940*0001~AK5*A~AK9*A*1*1*1~", 6)),
              ElementsAre("ISA#1 A 000 []", "  GS FA 9 A 1/1/1 []", "    ST 997 0001 A []"));
  EXPECT_THAT(
      Check(ack("AK1*OW*7~AK2*940*0001~AK9*A*1*1*1~", 5)),
      ElementsAre("ISA#1 A 000 []", "  GS FA 9 R 1/1/0 []", "    ST 997 0001 R [5] AK3 AK5*4*3"));
  EXPECT_THAT(Check(ack("AK1*OW*7~AK2*940*0001~AK5*Q~AK9*A*1*1*1~", 6)),
              ElementsAre("ISA#1 A 000 []", "  GS FA 9 R 1/1/0 []",
                          "    ST 997 0001 R [5] AK3 AK5*4*8(1*717*7)"));
  EXPECT_THAT(Check(ack("AK1*OW*7*004010*X~AK9*A*0*0*0~", 4)),
              ElementsAre("ISA#1 A 000 []", "  GS FA 9 R 1/1/0 []",
                          "    ST 997 0001 R [5] AK3 AK1*2*8(4**3)"));
}

TEST(X12ValidatorTest, CancellationWaivesTheDetailLines) {
  std::string cancel =
      Replace(Replace(Interchange940(), "W05*N", "W05*F"), "LX*1~W01*2*EA**SK*SKU-1~", "");
  cancel = Replace(cancel, "SE*7", "SE*5");
  EXPECT_TRUE(ValidateBytes(cancel).Accepted());
  // An original order without lines is missing its W01.
  EXPECT_FALSE(ValidateBytes(Replace(cancel, "W05*F", "W05*N")).Accepted());
}

// --- Listener and memory caps ---

class CountingListener : public ValidationListener {
 public:
  void OnSet(const InterchangeVerdict&, const GroupVerdict& g, const SetVerdict& s) override {
    sets.push_back(g.control_number + "/" + s.control_number + "/" + std::string(1, s.ack));
  }
  void OnInterchange(InterchangeVerdict v) override { interchanges.push_back(std::move(v)); }
  void OnFileProblem(const Problem&) override {}
  std::vector<std::string> sets;
  std::vector<InterchangeVerdict> interchanges;
};

TEST(X12ValidatorTest, WithoutRetainingAcceptedSetsOnlyRejectedOnesAreKept) {
  std::string sets;
  for (int i = 1; i <= 50; ++i) {
    char control[8];
    std::snprintf(control, sizeof control, "%04d", i);
    std::string set = Set940('*', "~", control);
    if (i == 17) set = Replace(set, "W01*2*EA", "W01**EA");
    sets += set;
  }
  const std::string data = Replace(Replace(Interchange940(), Set940(), sets), "GE*1*7", "GE*50*7");
  X12Reader reader(StringSource(data));
  CountingListener listener;
  X12Validator validator(&listener, {.retain_accepted_sets = false});
  ASSERT_TRUE(Validate(reader, validator).ok());
  ASSERT_EQ(listener.interchanges.size(), 1u);
  const GroupVerdict& g = listener.interchanges[0].groups[0];
  EXPECT_EQ(g.received_sets, 50);
  EXPECT_EQ(g.accepted_sets, 49);
  EXPECT_EQ(g.ack, 'P');
  ASSERT_EQ(g.sets.size(), 1u);
  EXPECT_EQ(g.sets[0].control_number, "0017");
  ASSERT_EQ(listener.sets.size(), 50u);
  EXPECT_EQ(listener.sets[16], "7/0017/R");
}

TEST(X12ValidatorTest, SegmentNotesAreCappedPerSet) {
  std::string bad_lines;
  for (int i = 0; i < 30; ++i) bad_lines += "LX*x~";
  const std::string data =
      Replace(Replace(Interchange940(), "W76*2~", bad_lines + "W76*2~"), "SE*7", "SE*37");
  X12Reader reader(StringSource(data));
  CollectingListener listener;
  X12Validator validator(&listener, {.max_notes_per_set = 10});
  ASSERT_TRUE(Validate(reader, validator).ok());
  const SetVerdict& s = listener.verdict().interchanges[0].groups[0].sets[0];
  EXPECT_EQ(s.segment_notes.size(), 10u);
  EXPECT_EQ(s.segment_notes_dropped, 20);
}

TEST(X12ValidatorTest, CodeTextsComeFromTheX12Lists) {
  EXPECT_EQ(Ta1NoteText("022"), "invalid control structure");
  EXPECT_EQ(GroupErrorText("5"), "number of included transaction sets does not match actual count");
  EXPECT_EQ(SetErrorText("4"), "number of included segments does not match actual count");
  EXPECT_EQ(SegmentErrorText("8"), "segment has data element errors");
  EXPECT_EQ(ElementErrorText("8"), "invalid date");
  EXPECT_THAT(Ta1NoteText("999"), IsEmpty());
}

}  // namespace
}  // namespace keelson::edi
