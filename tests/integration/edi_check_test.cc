// `keelson edi check FILE`, run as an integrator would before go-live: the verdicts with their
// X12 codes and positions, the 997/TA1 Keelson would send, and the exit codes (0 accepted,
// 1 rejected, 2 unreadable file).

#include <gtest/gtest.h>

#include <string>

#include "gmock/gmock.h"
#include "tests/support/process.h"

namespace keelson {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunKeelson;

std::string Fixture(const std::string& name) {
  return std::string(KEELSON_SOURCE_DIR) + "/testdata/edi/" + name;
}

TEST(EdiCheckCliTest, AcceptedFileExitsZeroAndShowsThe997) {
  auto r = RunKeelson({"edi", "check", Fixture("node-x12/856.edi")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("interchange 1 at byte 0 (ISA13 000000049, 12:4405197800 -> "
                                  "01:999999999): accepted (TA1 A 000)"));
  EXPECT_THAT(r.output, HasSubstr("set 856 0008 at byte 161: accepted (AK5 A)"));
  EXPECT_THAT(r.output, HasSubstr("response Keelson would send for interchange 1 (1 x 997):"));
  EXPECT_THAT(r.output, HasSubstr("*01*999999999      *12*4405197800     *"));
  EXPECT_THAT(r.output, HasSubstr("AK1*SH*49~\nAK2*856*0008~\nAK5*A~\nAK9*A*1*1*1~\n"));
  EXPECT_THAT(r.output, HasSubstr("verdict: accepted\n"));
}

TEST(EdiCheckCliTest, PartiallyAcceptedGroupIsRejectedWithPositionsAndCodes) {
  auto r = RunKeelson({"edi", "check", Fixture("ediengine/AckTest.edi")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("group 1 OW 9221 at byte 106: partially accepted (AK9 P: 2 "
                                  "included, 2 received, 1 accepted)"));
  EXPECT_THAT(r.output, HasSubstr("set 940 20067 at byte 306: rejected (AK5 R 5)"));
  EXPECT_THAT(r.output, HasSubstr("error AK304 8 (segment has data element errors) at segment 7 "
                                  "of the set (N9, byte 420)"));
  EXPECT_THAT(r.output, HasSubstr("AK403 1 (mandatory data element missing) in N901 (element "
                                  "128)"));
  EXPECT_THAT(r.output, HasSubstr("AK2*940*20067~\nAK3*N9*7**8~\nAK4*1*128*1~\nAK5*R*5~\n"
                                  "AK9*P*2*2*1~\n"));
  EXPECT_THAT(r.output, HasSubstr("verdict: rejected"));
}

TEST(EdiCheckCliTest, EnvelopeErrorsGetTheirTa1AndAk9Codes) {
  auto r = RunKeelson({"edi", "check", Fixture("ediengine/ControlNumbersMismatch.edi")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("accepted with errors (TA1 E 001)"));
  EXPECT_THAT(r.output, HasSubstr("error TA105 001 (the interchange control number in the header "
                                  "and trailer do not match) at byte 285 (segment 9 of the "
                                  "interchange): IEA02 '000003439' does not match ISA13 "
                                  "'000003438'"));
  EXPECT_THAT(r.output, HasSubstr("error AK905 4"));
  EXPECT_THAT(r.output, HasSubstr("error AK502 3"));
  EXPECT_THAT(r.output, HasSubstr("TA1*000003438*101127*1719*E*001~\n"));
  EXPECT_THAT(r.output, HasSubstr("AK9*R*1*1*0*4~\n"));
}

TEST(EdiCheckCliTest, UnreadableIsaAndNonX12AreRejectedWithAClearError) {
  auto isa = RunKeelson({"edi", "check", Fixture("x12-types/940_invalid_isa_missing_fields.edi")});
  EXPECT_EQ(isa.exit_code, 1) << isa.output;
  EXPECT_THAT(isa.output, HasSubstr("rejected (TA1 R 022)"));
  EXPECT_THAT(isa.output, HasSubstr("the ISA has 10 of 16 elements before a line break"));
  EXPECT_THAT(isa.output, HasSubstr("a TA1 cannot be addressed"));

  auto terminator =
      RunKeelson({"edi", "check", Fixture("x12-types/940_invalid_isa_no_segment_terminator.edi")});
  EXPECT_EQ(terminator.exit_code, 1);
  EXPECT_THAT(terminator.output, HasSubstr("TA1*000000009*111201*1108*R*004~"));

  auto garbage = RunKeelson({"edi", "check", Fixture("ediengine/NonEdi.edi")});
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_THAT(garbage.output, HasSubstr("error at byte 0: not X12: expected \"ISA\""));
  EXPECT_THAT(garbage.output, HasSubstr("verdict: rejected (no X12 interchange in the file)"));
}

TEST(EdiCheckCliTest, ToleratedOdditiesAreListed) {
  auto r = RunKeelson({"edi", "check", Fixture("x12-types/945_nonfixed_width_isa.edi")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("tolerated: ISA not padded to its fixed widths"));
  EXPECT_THAT(r.output, HasSubstr("error AK502 4 (number of included segments does not match "
                                  "actual count) at byte 473 (segment 18 of the interchange): "
                                  "SE01 '12' but the set has 16 segments"));
  auto lost =
      RunKeelson({"edi", "check", Fixture("x12-types/940_generalmills_change_isa16_missing.edi")});
  EXPECT_EQ(lost.exit_code, 0) << lost.output;
  EXPECT_THAT(lost.output, HasSubstr("tolerated: ISA16 missing"));
}

TEST(EdiCheckCliTest, AcknowledgmentsAreCheckedButNotAcknowledged) {
  auto r = RunKeelson({"edi", "check", Fixture("staedi/simple997-multiple-interchanges.edi")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("interchange 3 at byte 616"));
  EXPECT_THAT(r.output, HasSubstr("acknowledgments (997, TA1) are not acknowledged"));
  EXPECT_THAT(r.output, Not(HasSubstr("ST*997")));
}

TEST(EdiCheckCliTest, UnreadableFileExitsTwo) {
  auto r = RunKeelson({"edi", "check", "/nonexistent/partner.edi"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/partner.edi"));
  EXPECT_EQ(RunKeelson({"edi", "check"}).exit_code, 1);
  EXPECT_EQ(RunKeelson({"edi"}).exit_code, 1);
}

}  // namespace
}  // namespace keelson
