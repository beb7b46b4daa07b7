// The streaming tokenizer: delimiters from every ISA, the tolerances (BOM, CR/LF, newline
// terminators, unpadded and wrapped ISAs, multi-byte terminators, ISA16 lost), positions, bad
// ISAs with their TA1 codes, garbage between interchanges, refills at every byte, over-long
// segments and I/O errors.

#include "edi/x12_reader.h"

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
using testing::TrickleSource;

struct Read {
  std::vector<std::string> segments;  // text of each segment
  std::vector<SegmentPosition> positions;
  std::vector<ReaderIssue> issues;
  std::vector<std::vector<std::string>> notes;  // reader notes at each IEA
  std::vector<Delimiters> delimiters;           // at each ISA
};

Read ReadAllFrom(std::unique_ptr<ByteSource> source, X12Reader::Options options = {}) {
  X12Reader reader(std::move(source), options);
  Read r;
  for (;;) {
    absl::StatusOr<ReadEvent> ev = reader.Next();
    EXPECT_TRUE(ev.ok()) << ev.status();
    if (!ev.ok() || *ev == ReadEvent::kEnd) break;
    if (*ev == ReadEvent::kIssue) {
      r.issues.push_back(reader.issue());
      continue;
    }
    r.segments.emplace_back(reader.segment().text());
    r.positions.push_back(reader.segment().position());
    if (reader.segment().id() == "ISA") r.delimiters.push_back(reader.delimiters());
    if (reader.segment().id() == "IEA") r.notes.push_back(reader.notes());
  }
  return r;
}

Read ReadAll(std::string_view data, X12Reader::Options options = {}) {
  return ReadAllFrom(StringSource(data), options);
}

TEST(X12ReaderTest, TakesTheDelimitersFromTheIsa) {
  const std::string data = Interchange940('|', '^', "\x15");
  Read r = ReadAll(data);
  ASSERT_EQ(r.segments.size(), 11u);
  EXPECT_EQ(r.segments[1], "GS|OW|SENDER|RECEIVER|20240102|1230|7|X|004010");
  EXPECT_EQ(r.segments.back(), "IEA|1|000000001");
  ASSERT_EQ(r.delimiters.size(), 1u);
  EXPECT_EQ(r.delimiters[0].element, '|');
  EXPECT_EQ(r.delimiters[0].component, '^');
  EXPECT_EQ(r.delimiters[0].segment, "\x15");
  EXPECT_THAT(r.issues, IsEmpty());
}

TEST(X12ReaderTest, SplitsElementsAndComponents) {
  const std::string data = Isa() + "GS*FA*A*B*20240102*1230*1*X*004010~AK4*1>3**5*BAD~";
  X12Reader reader(StringSource(data));
  ASSERT_EQ(*reader.Next(), ReadEvent::kSegment);  // ISA
  EXPECT_EQ(reader.segment().size(), 16u);
  EXPECT_EQ(reader.segment().element(16), ">");
  EXPECT_EQ(reader.segment().element(6), "SENDER         ");
  ASSERT_EQ(*reader.Next(), ReadEvent::kSegment);  // GS
  ASSERT_EQ(*reader.Next(), ReadEvent::kSegment);  // AK4
  const Segment& s = reader.segment();
  EXPECT_EQ(s.id(), "AK4");
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.element(1), "1>3");
  EXPECT_EQ(s.component(1, 1), "1");
  EXPECT_EQ(s.component(1, 2), "3");
  EXPECT_EQ(s.component(1, 3), "");
  EXPECT_EQ(s.element(2), "");
  EXPECT_EQ(s.element(4), "BAD");
  EXPECT_EQ(s.element(5), "");  // absent
  EXPECT_EQ(s.element(99), "");
}

TEST(X12ReaderTest, RereadsDelimitersAtEveryIsa) {
  // Like a mailbag: each interchange has its own separators and terminator.
  const std::string data = Interchange940('*', '>', "\x15") + "\r\n" +
                           Interchange940('*', ':', "\n", "000000002") +
                           Interchange940('!', '@', "~ ", "000000003") +
                           Interchange940('*', '}', "~\r\n", "000000004") + "\x1A";
  Read r = ReadAll(data);
  EXPECT_THAT(r.issues, IsEmpty());
  ASSERT_EQ(r.delimiters.size(), 4u);
  EXPECT_EQ(r.delimiters[0].segment, "\x15");
  EXPECT_EQ(r.delimiters[1].segment, "\n");
  EXPECT_EQ(r.delimiters[1].component, ':');
  EXPECT_EQ(r.delimiters[2].element, '!');
  EXPECT_EQ(r.delimiters[2].segment, "~");
  EXPECT_EQ(r.delimiters[3].component, '}');
  ASSERT_EQ(r.segments.size(), 44u);
  EXPECT_EQ(r.segments[22 + 3], "W05!N!ORDER1");  // third interchange, element separator '!'
  EXPECT_EQ(r.positions[43].interchange, 4);
  EXPECT_EQ(r.segments[43], "IEA*1*000000004");
}

TEST(X12ReaderTest, PositionsAreOrdinalsAndByteOffsets) {
  const std::string data = "\xEF\xBB\xBF" + Interchange940();
  Read r = ReadAll(data);
  ASSERT_EQ(r.segments.size(), 11u);
  // ISA at byte 3 (after the BOM), GS right after the 106-byte ISA.
  EXPECT_EQ(r.positions[0].offset, 3u);
  EXPECT_EQ(r.positions[1].offset, 3u + 106u);
  EXPECT_EQ(r.positions[0].in_interchange, 1);
  EXPECT_EQ(r.positions[0].in_set, 0);
  // ST = 1 ... SE = 7 within the set; GE and IEA outside.
  EXPECT_EQ(r.segments[2].substr(0, 2), "ST");
  EXPECT_EQ(r.positions[2].in_set, 1);
  EXPECT_EQ(r.positions[8].in_set, 7);
  EXPECT_EQ(r.positions[9].in_set, 0);
  EXPECT_EQ(r.positions[10].in_interchange, 11);
  for (size_t i = 0; i < r.segments.size(); ++i) {
    EXPECT_EQ(data.substr(r.positions[i].offset, r.segments[i].size()), r.segments[i]) << i;
  }
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_THAT(r.notes[0], ElementsAre("UTF-8 byte-order mark skipped"));
}

TEST(X12ReaderTest, NewlineTerminatorWithCrLf) {
  Read r = ReadAll(Interchange940('*', '>', "\r\n"));
  ASSERT_EQ(r.segments.size(), 11u);
  EXPECT_EQ(r.delimiters[0].segment, "\n");
  EXPECT_EQ(r.segments[3], "W05*N*ORDER1");  // no trailing CR
  EXPECT_THAT(r.notes[0], ElementsAre("segments terminated by newlines"));
}

TEST(X12ReaderTest, LineBreaksInsideSegmentsAreRemoved) {
  std::string data = Interchange940();
  data.insert(data.find("W05*N") + 4, "\r\n");  // "W05*\r\nN*ORDER1"
  Read r = ReadAll(data);
  EXPECT_EQ(r.segments[3], "W05*N*ORDER1");
  EXPECT_THAT(r.notes[0], ElementsAre("line breaks inside segments removed"));
}

TEST(X12ReaderTest, UnpaddedIsaIsSplitOnTheSeparator) {
  Read r = ReadAll(ReadFileBytes(FixturePath("x12-types/945_nonfixed_width_isa.edi")));
  ASSERT_FALSE(r.segments.empty());
  EXPECT_EQ(r.segments[0],
            "ISA*00* *00* *ZZ*YOUR-ID-HERE *ZZ*WAQE *200901*1409*U*00401*043000123*0*P*>");
  EXPECT_EQ(r.delimiters[0].segment, "~");
  EXPECT_EQ(r.delimiters[0].component, '>');
  EXPECT_EQ(r.segments.size(), 20u);
  EXPECT_THAT(r.notes[0], ElementsAre(HasSubstr("not padded")));
}

TEST(X12ReaderTest, IsaWrappedAtEightyColumns) {
  Read r = ReadAll(ReadFileBytes(FixturePath("staedi/ts210_80char.edi")));
  ASSERT_GT(r.segments.size(), 3u);
  EXPECT_EQ(r.segments[0].substr(69, 20), "*200918*0224*U*00401");
  EXPECT_EQ(r.segments[2], "ST*210*1305");  // wrapped between "1" and "305"
  EXPECT_EQ(r.segments.back(), "IEA*1*000026003");
  EXPECT_THAT(r.notes[0],
              ElementsAre(HasSubstr("ISA wrapped"), "line breaks inside segments removed"));
}

TEST(X12ReaderTest, MultiByteEllipsisTerminator) {
  Read r = ReadAll(ReadFileBytes(FixturePath("staedi/ts214_ellipses_segterm.edi")));
  EXPECT_EQ(r.delimiters[0].segment, "\xE2\x80\xA6");
  EXPECT_EQ(r.segments[3], "B10*0542550913*7727019*XXXX");
  EXPECT_EQ(r.segments.back(), "IEA*1*000075776");
  EXPECT_THAT(r.issues, IsEmpty());
}

TEST(X12ReaderTest, MultiByteTerminatorSplitAcrossReads) {
  const std::string data = ReadFileBytes(FixturePath("staedi/ts214_ellipses_segterm.edi"));
  Read whole = ReadAll(data);
  Read trickled = ReadAllFrom(std::make_unique<TrickleSource>(data, 2),
                              {.max_segment_bytes = 512, .read_chunk = 1024});
  EXPECT_EQ(trickled.segments, whole.segments);
}

TEST(X12ReaderTest, LostIsa16TakesTheTildeAsTerminator) {
  Read r =
      ReadAll(ReadFileBytes(FixturePath("x12-types/940_generalmills_change_isa16_missing.edi")));
  EXPECT_EQ(r.delimiters[0].segment, "~");
  EXPECT_EQ(r.delimiters[0].component, '\0');
  EXPECT_EQ(r.segments[1], "GS*OW*6125404455*TESTTPLEDI*20111223*0938*4332*T*004010UCS");
  EXPECT_EQ(r.segments.back(), "IEA*1*000000028");
  EXPECT_THAT(r.notes[0], ElementsAre(HasSubstr("ISA16 missing")));
}

TEST(X12ReaderTest, GarbageIsReportedAndSkippedToTheNextIsa) {
  const std::string data = "hello world\n" + Interchange940() + "trailing junk";
  Read r = ReadAll(data);
  ASSERT_EQ(r.issues.size(), 2u);
  EXPECT_EQ(r.issues[0].kind, ReaderIssue::Kind::kNotX12);
  EXPECT_EQ(r.issues[0].offset, 0u);
  EXPECT_EQ(r.issues[0].length, 12u);
  EXPECT_THAT(r.issues[0].message, HasSubstr("hello world"));
  EXPECT_EQ(r.issues[1].offset, data.size() - 13);
  EXPECT_EQ(r.segments.size(), 11u);
  EXPECT_EQ(r.positions[0].offset, 12u);
}

struct BadIsaCase {
  std::string name;
  std::string data;
  std::string code;
};

TEST(X12ReaderTest, UnreadableIsaCarriesItsTa1Code) {
  std::string wrong_separator = Isa();
  wrong_separator[17] = '|';
  std::string terminator_alnum = Isa('*', '>', "G");
  std::string component_alnum = Isa('*', 'Z', "~");
  const std::vector<BadIsaCase> cases = {
      {"separator after ISA is a letter", "ISAX00X" + std::string(200, 'X'), ""},
      {"one wrong separator", wrong_separator + "GS*", "026"},
      {"alphanumeric terminator", terminator_alnum + "S*", "004"},
      {"alphanumeric component separator", component_alnum + "GS*OW~", "027"},
      {"short ISA", "ISA*00*          *00*~\nGS*OW*1~", "022"},
      {"file ends in the ISA", "ISA*00*          *00*  ", "023"},
  };
  for (const BadIsaCase& c : cases) {
    Read r = ReadAll(c.data);
    if (c.code.empty()) {
      // "ISAX" is not an ISA at all (X is no separator): not X12.
      ASSERT_EQ(r.issues.size(), 1u) << c.name;
      EXPECT_EQ(r.issues[0].kind, ReaderIssue::Kind::kNotX12) << c.name;
      continue;
    }
    ASSERT_GE(r.issues.size(), 1u) << c.name;
    EXPECT_EQ(r.issues[0].kind, ReaderIssue::Kind::kBadIsa) << c.name;
    EXPECT_EQ(r.issues[0].ta1_code, c.code) << c.name << ": " << r.issues[0].message;
    EXPECT_EQ(r.issues[0].interchange, 1) << c.name;
    EXPECT_THAT(r.segments, IsEmpty()) << c.name;
  }
}

TEST(X12ReaderTest, ReadingResumesAtTheNextIsaAfterABadOne) {
  std::string bad = Isa('*', 'Z', "~");
  Read r = ReadAll(bad + "GS*OW~" + Interchange940('*', '>', "~", "000000002"));
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(r.issues[0].ta1_code, "027");
  ASSERT_EQ(r.segments.size(), 11u);
  EXPECT_EQ(r.positions[0].interchange, 2);
}

TEST(X12ReaderTest, ANewIsaEndsAnInterchangeWithoutIea) {
  std::string first = Interchange940();
  first.resize(first.find("IEA"));
  Read r = ReadAll(first + Interchange940('|', '^', "\n", "000000002"));
  ASSERT_EQ(r.delimiters.size(), 2u);
  EXPECT_EQ(r.delimiters[1].element, '|');
  EXPECT_EQ(r.segments.size(), 10u + 11u);
}

TEST(X12ReaderTest, EverySplitOfTheInputGivesTheSameSegments) {
  const std::string data = Interchange940('*', '>', "\x15") + Interchange940('*', ':', "\r\n") +
                           Interchange940('*', '>', "~\n");
  Read whole = ReadAll(data);
  for (size_t step : {1u, 2u, 3u, 5u, 13u, 64u}) {
    Read r = ReadAllFrom(std::make_unique<TrickleSource>(data, step),
                         {.max_segment_bytes = 512, .read_chunk = 1024});
    EXPECT_EQ(r.segments, whole.segments) << "step " << step;
    ASSERT_EQ(r.positions.size(), whole.positions.size());
    for (size_t i = 0; i < r.positions.size(); ++i) {
      EXPECT_EQ(r.positions[i].offset, whole.positions[i].offset) << i;
    }
  }
}

TEST(X12ReaderTest, OverlongSegmentIsTruncatedAndReadingGoesOn) {
  std::string data = Interchange940();
  data.insert(data.find("W76"), "NTE*WHI*" + std::string(5000, 'x') + "~");
  X12Reader reader(StringSource(data), {.max_segment_bytes = 1024, .read_chunk = 1024});
  std::vector<std::string> ids;
  bool truncated = false;
  for (;;) {
    absl::StatusOr<ReadEvent> ev = reader.Next();
    ASSERT_TRUE(ev.ok());
    if (*ev == ReadEvent::kEnd) break;
    ASSERT_EQ(*ev, ReadEvent::kSegment);
    ids.emplace_back(reader.segment().id());
    if (reader.segment().truncated()) {
      truncated = true;
      EXPECT_EQ(reader.segment().text().size(), 1024u);
    }
  }
  EXPECT_TRUE(truncated);
  EXPECT_THAT(ids, ElementsAre("ISA", "GS", "ST", "W05", "N1", "LX", "W01", "NTE", "W76", "SE",
                               "GE", "IEA"));
}

TEST(X12ReaderTest, LastSegmentWithoutTerminator) {
  std::string data = Interchange940();
  data.pop_back();  // the final '~'
  Read r = ReadAll(data);
  EXPECT_EQ(r.segments.back(), "IEA*1*000000001");
  EXPECT_THAT(r.notes[0], ElementsAre("the last segment has no terminator"));
}

class FailingSource : public ByteSource {
 public:
  explicit FailingSource(std::string prefix) : prefix_(std::move(prefix)) {}
  absl::StatusOr<size_t> Read(char* dst, size_t n) override {
    if (done_) return absl::DataLossError("disk on fire");
    done_ = true;
    const size_t k = std::min(n, prefix_.size());
    std::copy_n(prefix_.data(), k, dst);
    return k;
  }

 private:
  std::string prefix_;
  bool done_ = false;
};

TEST(X12ReaderTest, SourceErrorsAreReturned) {
  X12Reader reader(std::make_unique<FailingSource>(Isa() + "GS*OW"));  // owns its bytes
  absl::StatusOr<ReadEvent> ev;
  do {
    ev = reader.Next();
  } while (ev.ok() && *ev != ReadEvent::kEnd);
  EXPECT_THAT(ev, StatusIs(absl::StatusCode::kDataLoss));
}

TEST(X12ReaderTest, MissingFileIsNotFound) {
  EXPECT_THAT(OpenFileSource("/nonexistent/keelson.edi"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(X12ReaderTest, ParseIsaHeaderNeedsOnlyThePrefix) {
  const std::string isa = Isa('*', '>', "~");
  IsaHeader h = ParseIsaHeader(isa + "GS*", false);
  ASSERT_TRUE(h.ok) << h.message;
  EXPECT_EQ(h.consumed, 106u);
  EXPECT_EQ(h.fields.size(), 17u);
  EXPECT_EQ(h.fields[13], "000000001");
}

}  // namespace
}  // namespace keelson::edi
