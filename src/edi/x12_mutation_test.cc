// Deterministic fuzzing that runs with `make test` (no clang needed): a few thousand random
// mutations of every fixture (fixed seed) through the whole X12 path (testing::Exercise, the
// same checks as fuzz/x12_fuzz.cc), plus the seeds the libFuzzer runs found interesting.
// Nothing may crash (the ASan preset turns a bad read into a failure), responses must read back
// as X12, and trickled input must give the same verdict.

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "edi/test_util.h"

namespace keelson::edi {
namespace {

using testing::Exercise;
using testing::FixturePath;
using testing::ReadFileBytes;

constexpr int kMutationsPerFixture = 300;

std::vector<std::string> Fixtures() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(FixturePath(""))) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name != "README.md" && name != ".gitattributes") {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One to four edits of the kinds that break X12 files in real life and in fuzzers.
std::string Mutate(std::string s, std::mt19937& rng) {
  static const std::vector<std::string> kTokens = {"ISA",
                                                   "GS*",
                                                   "ST*",
                                                   "SE*",
                                                   "GE*",
                                                   "IEA*",
                                                   "~",
                                                   "*",
                                                   ">",
                                                   "\r\n",
                                                   "\n",
                                                   "\x1A",
                                                   "\xEF\xBB\xBF",
                                                   "\xE2\x80\xA6",
                                                   "HL*1*9*I~",
                                                   "AK2*940*0001~",
                                                   "ST*997*0001~",
                                                   "W12*CC*~",
                                                   "LIN**SK~",
                                                   "SN1**1.5*EA~",
                                                   "QTY*33*x~",
                                                   "ISA*00*          *00*          *ZZ*"};
  auto pick = [&](size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  const int edits = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < edits; ++i) {
    const size_t at = pick(s.size() + 1);
    switch (pick(7)) {
      case 0:  // flip a byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(pick(256));
        break;
      case 1:  // insert a random byte
        s.insert(at, 1, static_cast<char>(pick(256)));
        break;
      case 2:  // delete a range
        s.erase(at, pick(40));
        break;
      case 3:  // duplicate a range
        if (at < s.size()) s.insert(at, s.substr(at, pick(200)));
        break;
      case 4:  // insert an X12 token
        s.insert(at, kTokens[pick(kTokens.size())]);
        break;
      case 5:  // truncate
        s.resize(at);
        break;
      case 6:  // swap the element separator for another one somewhere
        if (!s.empty()) {
          const size_t k = s.find('*', pick(s.size()));
          if (k != std::string::npos) s[k] = "|^:~!"[pick(5)];
        }
        break;
    }
  }
  return s;
}

TEST(X12MutationTest, ThousandsOfMutatedFixturesNeverBreakTheParser) {
  std::mt19937 rng(20240305);
  int runs = 0;
  for (const std::string& path : Fixtures()) {
    const std::string original = ReadFileBytes(path);
    ASSERT_EQ(Exercise(original), "") << path;
    for (int i = 0; i < kMutationsPerFixture; ++i) {
      const std::string mutated = Mutate(original, rng);
      const std::string problem = Exercise(mutated);
      ASSERT_EQ(problem, "") << path << " mutation " << i << ":\n" << mutated;
      ++runs;
    }
  }
  EXPECT_GE(runs, 10000);
}

// The committed libFuzzer seeds (fuzz/corpus/), among them inputs that once broke something.
TEST(X12MutationTest, FuzzCorpusSeeds) {
  const std::filesystem::path corpus = std::filesystem::path(KEELSON_SOURCE_DIR) / "fuzz/corpus";
  int seeds = 0;
  for (const auto& e : std::filesystem::directory_iterator(corpus)) {
    if (!e.is_regular_file()) continue;
    EXPECT_EQ(Exercise(ReadFileBytes(e.path().string())), "") << e.path();
    ++seeds;
  }
  EXPECT_GT(seeds, 30);
}

}  // namespace
}  // namespace keelson::edi
