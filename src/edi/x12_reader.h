#pragma once
// Streaming X12 tokenizer: bytes in, segments out, in constant memory whatever the file size.
//
// X12Reader pulls bytes from a ByteSource through one fixed-size buffer and returns one event at
// a time (Next()): a segment, an issue (bytes that are not X12, an unreadable ISA), or the end.
// A Segment is a set of views into that buffer, valid until the next call to Next(); copy it
// (OwnedSegment) to keep it.
//
// Delimiters are read from every ISA, so one file may hold several interchanges with different
// delimiters. Tolerated, and recorded in notes() for the interchange (see src/edi/README.md):
//   - a UTF-8 byte-order mark, NULs, 0x1A (DOS end of file) and whitespace between interchanges;
//   - CR, LF, spaces and tabs after a segment terminator; a newline as the terminator itself
//     (CRLF or LF; blank lines are skipped);
//   - CR/LF inside a segment (80-column wrapped files, copy/paste): removed, when the terminator
//     is not a newline;
//   - an ISA not padded to its fixed widths (split on the element separator instead);
//   - an ISA wrapped across lines;
//   - a multi-byte UTF-8 segment terminator (U+2026 "…"): the whole character terminates;
//   - "ISA16 lost": the ISA ends "*~" + newline and every following line ends with "~": the "~"
//     is the terminator and the interchange has no component separator;
//   - a last segment without terminator at end of file.
// Anything else that is not an interchange is reported as an issue and skipped up to the next
// "ISA". The reader never reads outside its buffer on any input (fuzzed: fuzz/x12_fuzz.cc).
//
// Thread-compatible: one reader per thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keelson::edi {

// Separators of one interchange.
struct Delimiters {
  char element = '*';
  char component = '>';       // '\0' when the interchange has none (ISA16 lost)
  std::string segment = "~";  // 1 to 4 bytes; "\n" when newlines terminate segments
  bool NewlineTerminated() const { return segment == "\n" || segment == "\r"; }
};

// Where a segment is in the input.
struct SegmentPosition {
  int64_t interchange = 0;     // 1-based index of its interchange in the file
  int64_t in_interchange = 0;  // 1-based ordinal within the interchange (ISA = 1)
  int64_t in_set = 0;          // 1-based ordinal within its transaction set (ST = 1), 0 outside
  uint64_t offset = 0;         // byte offset of the segment's first byte in the input
};

// A segment ID as a number, for fast comparison: 0 unless the ID has 2 or 3 bytes.
constexpr uint32_t SegmentKey(std::string_view id) {
  if (id.size() < 2 || id.size() > 3) return 0;
  uint32_t k = (static_cast<uint32_t>(static_cast<unsigned char>(id[0])) << 16) |
               (static_cast<uint32_t>(static_cast<unsigned char>(id[1])) << 8);
  if (id.size() == 3) k |= (1u << 24) | static_cast<unsigned char>(id[2]);
  return k;
}

// One segment: views into the reader's buffer, valid until the next X12Reader::Next().
class Segment {
 public:
  std::string_view id() const { return fields_.empty() ? std::string_view() : fields_[0]; }
  uint32_t key() const { return key_; }  // SegmentKey(id())
  // Number of data elements after the ID, trailing empty ones included.
  size_t size() const { return fields_.empty() ? 0 : fields_.size() - 1; }
  // Data element `i` (1-based, X12 numbering: element(1) is ST01); empty when absent.
  std::string_view element(size_t i) const {
    return i < fields_.size() ? fields_[i] : std::string_view();
  }
  // Component `j` (1-based) of element `i`; the whole element when there is no component
  // separator. Empty when absent.
  std::string_view component(size_t i, size_t j) const;
  std::string_view text() const { return text_; }  // without the terminator
  const SegmentPosition& position() const { return position_; }
  char component_separator() const { return component_; }
  // The segment was longer than the reader's limit; only its first bytes are here.
  bool truncated() const { return truncated_; }

 private:
  friend class X12Reader;
  std::vector<std::string_view> fields_;  // [0] = segment ID
  std::string_view text_;
  SegmentPosition position_;
  uint32_t key_ = 0;
  char component_ = 0;
  bool truncated_ = false;
};

// A segment copied out of the reader; same accessors.
class OwnedSegment {
 public:
  OwnedSegment() = default;
  explicit OwnedSegment(const Segment& s);
  std::string_view id() const { return fields_.empty() ? std::string_view() : fields_[0]; }
  size_t size() const { return fields_.empty() ? 0 : fields_.size() - 1; }
  std::string_view element(size_t i) const {
    return i < fields_.size() ? std::string_view(fields_[i]) : std::string_view();
  }
  std::string_view component(size_t i, size_t j) const;
  const SegmentPosition& position() const { return position_; }

 private:
  std::vector<std::string> fields_;
  SegmentPosition position_;
  char component_ = 0;
};

// Component `j` (1-based) of `element` split on `separator` ('\0' = none).
std::string_view ComponentOf(std::string_view element, char separator, size_t j);

// `s` without leading and trailing spaces (ISA IDs are padded with them).
std::string_view TrimSpaces(std::string_view s);

// Where bytes come from. Read() returns 0 only at end of input.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual absl::StatusOr<size_t> Read(char* dst, size_t n) = 0;
};

// Reads `data`, which must outlive the source.
std::unique_ptr<ByteSource> StringSource(std::string_view data);
// Reads a file with plain read(2) calls. kNotFound / kPermissionDenied / kInternal on open.
absl::StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path);

// Something in the input that is not a usable segment.
struct ReaderIssue {
  enum class Kind {
    kNotX12,  // bytes outside any interchange (no "ISA" where one must start)
    kBadIsa,  // an "ISA" whose delimiters cannot be determined; skipped to the next "ISA"
  };
  Kind kind = Kind::kNotX12;
  uint64_t offset = 0;
  uint64_t length = 0;      // bytes skipped
  int64_t interchange = 0;  // kBadIsa: the index this interchange would have had
  std::string ta1_code;     // kBadIsa: TA105 interchange note code (004, 022, 023, 026, 027)
  std::string message;      // what is wrong, for people
  // kBadIsa: the ISA's elements as far as they could be split on the element separator
  // ([0] = "ISA"), so that a TA1 can still be addressed when ISA05-ISA13 are readable.
  std::vector<std::string> isa_fields;
};

enum class ReadEvent { kSegment, kIssue, kEnd };

// The result of reading an ISA header (exposed for tests).
struct IsaHeader {
  bool ok = false;
  Delimiters delimiters;
  size_t consumed = 0;              // input bytes up to and including the segment terminator
  std::vector<std::string> fields;  // "ISA", ISA01..ISA16
  std::vector<std::string> notes;   // tolerances applied
  std::string ta1_code;             // when !ok
  std::string message;              // when !ok
};
// Reads the ISA at the start of `bytes` (which starts with "ISA"). `at_eof`: no more bytes follow.
// Needs up to 512 bytes to decide; a prefix shorter than that is judged only when at_eof.
IsaHeader ParseIsaHeader(std::string_view bytes, bool at_eof);

class X12Reader {
 public:
  struct Options {
    // Longest segment kept whole; longer ones are returned truncated (Segment::truncated()).
    // The reader's memory is about twice this plus the read chunk.
    size_t max_segment_bytes = 64 * 1024;
    size_t read_chunk = 64 * 1024;
  };
  explicit X12Reader(std::unique_ptr<ByteSource> source);
  X12Reader(std::unique_ptr<ByteSource> source, Options options);

  // The next event. Errors only for I/O failures of the source.
  absl::StatusOr<ReadEvent> Next();

  const Segment& segment() const { return segment_; }  // after kSegment
  const ReaderIssue& issue() const { return issue_; }  // after kIssue
  // Of the current (or last) interchange.
  const Delimiters& delimiters() const { return delimiters_; }
  // Tolerances applied to the current interchange so far (may grow while it is read).
  const std::vector<std::string>& notes() const { return notes_; }
  uint64_t bytes_read() const { return base_offset_ + end_; }

 private:
  enum class State { kBetween, kInInterchange, kSkipRestOfSegment };

  bool Fill();  // more bytes after end_; false at end of input or on error (io_status_)
  bool Ensure(size_t n);
  absl::StatusOr<ReadEvent> NextBetween();
  absl::StatusOr<ReadEvent> NextInInterchange();
  bool AtIsa(size_t at);  // "ISA" + a separator at buf_[at]
  void AddNote(std::string note);
  void SetDelimiters(const Delimiters& d);
  // The segment buf_[begin, end). `starts_` holds where its elements start (relative to begin)
  // unless `resplit` (line breaks to remove, or truncated): then it is split again.
  void EmitSegment(size_t begin, size_t end, bool truncated, bool resplit);

  std::unique_ptr<ByteSource> source_;
  Options options_;
  std::vector<char> buf_;
  size_t pos_ = 0;            // next unread byte
  size_t end_ = 0;            // end of valid bytes
  uint64_t base_offset_ = 0;  // input offset of buf_[0]
  bool eof_ = false;
  absl::Status io_status_;
  State state_ = State::kBetween;

  Delimiters delimiters_;
  std::vector<std::string> notes_;
  std::vector<std::string> pending_notes_;  // file-level notes (BOM) for the next interchange
  bool crlf_note_ = false;
  // Byte classes for the scan: 0 data, 1 element separator, 2 CR/LF to remove, 3 terminator.
  uint8_t class_[256] = {};
  std::vector<uint32_t> starts_;  // element starts of the segment being scanned
  std::string isa_text_;          // the current ISA, logical bytes (views point here)
  std::string scratch_;           // a segment with CR/LF removed
  Segment segment_;
  ReaderIssue issue_;
  int64_t interchange_ = 0;
  int64_t in_interchange_ = 0;
  int64_t in_set_ = 0;
};

}  // namespace keelson::edi
