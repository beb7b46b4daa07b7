// Every X12 fixture in testdata/edi/ (real files from permissively licensed repositories, see
// testdata/edi/README.md) through the reader and the validator: the exact verdicts and X12 codes,
// the same verdicts when the bytes arrive a few at a time, and a response that can be built.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "edi/ack.h"
#include "edi/test_util.h"
#include "gmock/gmock.h"

namespace keelson::edi {
namespace {

using ::testing::ElementsAreArray;
using testing::FixturePath;
using testing::ReadFileBytes;
using testing::Summarize;
using testing::ValidateBytes;

struct Fixture {
  const char* file;
  std::vector<std::string> expected;  // testing::Summarize of the verdict
};

// The expectations; the fixture README's notes say why each is what it is.
const std::vector<Fixture>& Fixtures() {
  static const auto* fixtures = new std::vector<Fixture>{
      {"ediengine/856.Crossdock.OK.edi",
       {"ISA#1 A 000 []", "  GS SH 91 A 1/1/1 []", "    ST 856 0001 A []"}},
      {"ediengine/940.2.OK.edi",
       {"ISA#1 A 000 []", "  GS OW 9221 A 1/1/1 []", "    ST 940 20066 A []"}},
      {"ediengine/940.OK.edi",
       {"ISA#1 A 000 []", "  GS OW 3317 A 1/1/1 []", "    ST 940 0001 A []"}},
      {"ediengine/940.W05.Only.edi",
       {"ISA#1 A 000 []", "  GS OW 9221 R 1/1/0 []", "    ST 940 20066 R [5] AK3 W01*3*3"}},
      {"ediengine/940_Failed_SE01.edi",
       {"ISA#1 A 000 []", "  GS OW 9221 R 1/1/0 []",
        "    ST 940 20066 R [4 5] AK3 W01*5*8(1*330*1,2*355*4)"}},
      {"ediengine/AckTest.edi",
       {"ISA#1 A 000 []", "  GS OW 9221 P 2/2/1 []", "    ST 940 20066 A []",
        "    ST 940 20067 R [5] AK3 N9*7*8(1*128*1)", "  GS OW 9222 A 1/1/1 []",
        "    ST 940 20068 A []"}},
      {"ediengine/ControlNumbersMismatch.edi",
       {"ISA#1 E 001 [001]", "  GS OW 3314 R 1/1/0 [4]", "    ST 940 0001 R [3]"}},
      {"ediengine/MultipleInterchangesAndGroups.edi",
       {"ISA#1 A 000 []", "  GS OW 3313 A 2/2/2 []", "    ST 940 0001 A []", "    ST 940 0002 A []",
        "  GS OW 3314 A 1/1/1 []", "    ST 940 0001 A []", "ISA#2 A 000 []",
        "  GS OW 3315 A 2/2/2 []", "    ST 940 0001 A []", "    ST 940 0002 A []",
        "  GS OW 3316 A 1/1/1 []", "    ST 940 0001 A []"}},
      {"ediengine/NonEdi.edi", {"not-x12@0"}},
      {"ediengine/WrongGroupsAndTranCount.edi",
       {"ISA#1 E 021 [021]", "  GS OW 3314 R 2/1/1 [5]", "    ST 940 0001 A []"}},
      {"gozer/asn856.txt", {"ISA#1 E 001 [001]", "  GS SH 49 A 1/1/1 []", "    ST 856 0008 A []"}},
      {"gozer/x12.missing.ISA.txt", {"not-x12@0"}},
      {"gozer/x12.wrong.GS.txt",
       {"ISA#1 R 024 [024 021]", "  GS SH 99 R 1/1/0 []", "    ST AAA 0003 R [6 4]"}},
      {"gozer/x12.wrong.ISA.txt", {"not-x12@0"}},
      {"node-x12/856.edi", {"ISA#1 A 000 []", "  GS SH 49 A 1/1/1 []", "    ST 856 0008 A []"}},
      {"staedi/empty997.edi",
       {"ISA#1 A 000 []", "  GS FA 1 R 1/1/0 []", "    ST 997 0001 R [5] AK3 AK1*2*3 AK3 AK9*2*3"}},
      {"staedi/invalid997.edi",
       {"ISA#1 A 000 []", "  GS FA 000005 R 1/1/0 []",
        "    ST 997 0001 R [5] AK3 AK1*2*8(1*479*5) AK3 AK4*5*8(2*725*6)"}},
      {"staedi/invalid997_min.edi",
       {"ISA#1 R 024 [024 024]", "  GS FA 000005 R 1/1/0 [4]",
        "    ST 997 0001 R [5] AK3 AK1*2*8(1*479*5)"}},
      {"staedi/invalid999.edi",
       {"ISA#1 A 000 []", "  GS FA 287 R 1/1/0 []", "    ST 999 2870001 R [1 4]"}},
      {"staedi/simple997-multiple-interchanges.edi",
       {"ISA#1 A 000 []", "  GS FA 000005 A 1/1/1 []", "    ST 997 0001 A []", "ISA#2 A 000 []",
        "  GS FA 000005 A 1/1/1 []", "    ST 997 0001 A []", "ISA#3 A 000 []",
        "  GS FA 000005 A 1/1/1 []", "    ST 997 0001 A []"}},
      {"staedi/simple997.edi",
       {"ISA#1 A 000 []", "  GS FA 000005 A 1/1/1 []", "    ST 997 0001 A []"}},
      {"staedi/simple999.edi",
       {"ISA#1 A 000 []", "  GS FA 287 R 1/1/0 []", "    ST 999 2870001 R [1]"}},
      {"staedi/ts210_80char.edi",
       {"ISA#1 A 000 []", "  GS IM 2619 R 1/1/0 []", "    ST 210 1305 R [1]"}},
      {"staedi/ts214_ellipses_segterm.edi",
       {"ISA#1 A 000 []", "  GS QM 75776 R 1/1/0 []", "    ST 214 757760001 R [1]"}},
      {"staedi/x12_interchange_ack.txt", {"ISA#1 A 000 []"}},
      {"x12-types/004060_856.edi",
       {"ISA#1 A 000 []", "  GS SH 49 A 1/1/1 []", "    ST 856 0008 A []"}},
      {"x12-types/940_1edisource_backslash_subsep.edi",
       {"ISA#1 E 001 [001]", "  GS OW 3317 R 1/1/1 [4]", "    ST 940 0001 A []"}},
      {"x12-types/940_babelway.edi",
       {"ISA#1 A 000 []", "  GS OW 575103 A 1/1/1 []", "    ST 940 0001 A []"}},
      {"x12-types/940_generalmills_cancel_isa16_missing.edi",
       {"ISA#1 A 000 []", "  GS OW 4313 A 1/1/1 []", "    ST 940 43130001 A []"}},
      {"x12-types/940_generalmills_change_isa16_missing.edi",
       {"ISA#1 A 000 []", "  GS OW 4332 A 1/1/1 []", "    ST 940 43320001 A []"}},
      {"x12-types/940_generalmills_new.edi",
       {"ISA#1 A 000 []", "  GS OW 4311 A 1/1/1 []", "    ST 940 43110001 A []"}},
      {"x12-types/940_invalid_isa_missing_fields.edi", {"ISA#1 R 022 [022]"}},
      {"x12-types/940_invalid_isa_no_segment_terminator.edi", {"ISA#1 R 004 [004]"}},
      {"x12-types/940_invalid_isa_tag.edi", {"not-x12@0"}},
      {"x12-types/940_invalid_isa_wrong_element_separator.edi", {"ISA#1 R 026 [026]"}},
      {"x12-types/945_nonfixed_width_isa.edi",
       {"ISA#1 A 000 []", "  GS SW 000000123 R 1/1/0 []", "    ST 945 000006123 R [4]"}},
  };
  return *fixtures;
}

class EdiFixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(EdiFixtureTest, VerdictHasTheExpectedCodes) {
  const Fixture& f = GetParam();
  const std::string data = ReadFileBytes(FixturePath(f.file));
  ASSERT_FALSE(data.empty()) << f.file;
  const FileVerdict v = ValidateBytes(data);
  EXPECT_THAT(Summarize(v), ElementsAreArray(f.expected)) << f.file;
}

TEST_P(EdiFixtureTest, SameVerdictWhenBytesArriveAFewAtATime) {
  const Fixture& f = GetParam();
  const std::string data = ReadFileBytes(FixturePath(f.file));
  X12Reader::Options small{.max_segment_bytes = 512, .read_chunk = 1024};
  EXPECT_EQ(Summarize(ValidateBytes(data, 7, small)), Summarize(ValidateBytes(data))) << f.file;
}

TEST_P(EdiFixtureTest, ResponseCanBeBuiltAndReadsBackAccepted) {
  const Fixture& f = GetParam();
  const FileVerdict v = ValidateBytes(ReadFileBytes(FixturePath(f.file)));
  InMemoryControlNumbers numbers;
  AckOptions options{.now = absl::FromUnixSeconds(1'700'000'000)};
  for (const InterchangeVerdict& ic : v.interchanges) {
    absl::StatusOr<std::string> r = BuildResponse(ic, numbers, options);
    ASSERT_TRUE(r.ok()) << f.file << ": " << r.status();
    if (r->empty()) continue;
    // What Keelson sends is itself valid X12.
    const FileVerdict back = ValidateBytes(*r);
    EXPECT_TRUE(back.Accepted()) << f.file << "\n"
                                 << *r << "\n"
                                 << ::testing::PrintToString(Summarize(back));
  }
}

std::string Name(const ::testing::TestParamInfo<Fixture>& info) {
  std::string name = info.param.file;
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Testdata, EdiFixtureTest, ::testing::ValuesIn(Fixtures()), Name);

// Every file under testdata/edi/ has an expectation (a new fixture cannot be forgotten).
TEST(EdiFixtureListTest, EveryFixtureFileIsListed) {
  std::set<std::string> listed;
  for (const Fixture& f : Fixtures()) listed.insert(f.file);
  const std::filesystem::path root = FixturePath("");
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (name == "README.md" || name == ".gitattributes") continue;
    const std::string rel = std::filesystem::relative(entry.path(), root).string();
    EXPECT_TRUE(listed.count(rel) > 0) << rel << " has no expectation in x12_fixtures_test.cc";
  }
}

}  // namespace
}  // namespace keelson::edi
