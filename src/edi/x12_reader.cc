#include "edi/x12_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/strings.h"

namespace keelson::edi {
namespace {

// Offsets of the 16 element separators in a fixed-width ISA ("ISA" is 0..2).
constexpr size_t kIsaSeparators[16] = {3,  6,  17, 20, 31, 34, 50,  53,
                                       69, 76, 81, 83, 89, 99, 101, 103};
constexpr size_t kIsaComponentAt = 104;
constexpr size_t kIsaTerminatorAt = 105;
// Enough to decide on any ISA: fixed (106), wrapped (a few line breaks more) or unpadded.
constexpr size_t kIsaLookahead = 512;

bool IsAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool IsCrLf(unsigned char c) { return c == '\r' || c == '\n'; }
// A byte that can separate elements or components.
bool IsSeparator(unsigned char c) { return !IsAlnum(c) && c != ' ' && !IsCrLf(c) && c != 0; }
// Between segments and between interchanges; never data.
bool IsFiller(unsigned char c) {
  return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == 0x1A || c == 0;
}

size_t Utf8Length(unsigned char lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 1;
}

// Printable rendering of a few bytes for messages.
std::string Printable(std::string_view bytes, size_t max = 32) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    const unsigned char c = bytes[i];
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += absl::StrFormat("\\x%02X", c);
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

std::string Quoted(unsigned char c) {
  return core::Cat("'", Printable(std::string_view(reinterpret_cast<const char*>(&c), 1)), "'");
}

// Splits the ISA on `sep` as far as it goes (for addressing a TA1 when the header is bad).
std::vector<std::string> BestEffortFields(std::string_view bytes, char sep) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t i = 0; i < bytes.size() && fields.size() < 17; ++i) {
    const char c = bytes[i];
    if (IsCrLf(c)) break;
    if (c == sep) {
      fields.emplace_back(bytes.substr(start, i - start));
      start = i + 1;
    }
  }
  if (fields.size() < 17 && start < bytes.size()) {
    size_t e = start;
    while (e < bytes.size() && !IsCrLf(bytes[e]) && e - start < 15) ++e;
    fields.emplace_back(bytes.substr(start, e - start));
  }
  return fields;
}

IsaHeader Fail(IsaHeader h, std::string code, std::string message) {
  h.ok = false;
  h.ta1_code = std::move(code);
  h.message = std::move(message);
  return h;
}

}  // namespace

std::string_view ComponentOf(std::string_view element, char separator, size_t j) {
  if (j == 0) return {};
  if (separator == 0) return j == 1 ? element : std::string_view();
  size_t start = 0;
  for (size_t k = 1;; ++k) {
    const size_t e = element.find(separator, start);
    if (k == j) return element.substr(start, e == std::string_view::npos ? e : e - start);
    if (e == std::string_view::npos) return {};
    start = e + 1;
  }
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view Segment::component(size_t i, size_t j) const {
  return ComponentOf(element(i), component_, j);
}

OwnedSegment::OwnedSegment(const Segment& s)
    : position_(s.position()), component_(s.component_separator()) {
  fields_.reserve(s.size() + 1);
  fields_.emplace_back(s.id());
  for (size_t i = 1; i <= s.size(); ++i) fields_.emplace_back(s.element(i));
}

std::string_view OwnedSegment::component(size_t i, size_t j) const {
  return ComponentOf(element(i), component_, j);
}

// ---------------------------------------------------------------------------------------------
// Sources

namespace {

class StringByteSource : public ByteSource {
 public:
  explicit StringByteSource(std::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char* dst, size_t n) override {
    const size_t k = std::min(n, data_.size() - at_);
    if (k > 0) std::memcpy(dst, data_.data() + at_, k);
    at_ += k;
    return k;
  }

 private:
  std::string_view data_;
  size_t at_ = 0;
};

class FileByteSource : public ByteSource {
 public:
  FileByteSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileByteSource() override { ::close(fd_); }
  absl::StatusOr<size_t> Read(char* dst, size_t n) override {
    for (;;) {
      const ssize_t r = ::read(fd_, dst, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      return absl::InternalError(core::Cat(path_, ": read: ", std::strerror(errno)));
    }
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

std::unique_ptr<ByteSource> StringSource(std::string_view data) {
  return std::make_unique<StringByteSource>(data);
}

absl::StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    const std::string msg = core::Cat(path, ": ", std::strerror(e));
    if (e == ENOENT || e == ENOTDIR) return absl::NotFoundError(msg);
    if (e == EACCES || e == EPERM) return absl::PermissionDeniedError(msg);
    return absl::InternalError(msg);
  }
  return std::make_unique<FileByteSource>(fd, path);
}

// ---------------------------------------------------------------------------------------------
// ISA

IsaHeader ParseIsaHeader(std::string_view bytes, bool at_eof) {
  IsaHeader h;
  if (bytes.size() < 4 || bytes.substr(0, 3) != "ISA") {
    return Fail(std::move(h), at_eof ? "023" : "022", "no ISA segment");
  }
  const unsigned char e = bytes[3];
  h.fields = BestEffortFields(bytes, static_cast<char>(e));
  if (!IsSeparator(e)) {
    return Fail(std::move(h), "026",
                core::Cat("invalid element separator ", Quoted(e), " after ISA"));
  }

  // 1. Fixed width, as the standard has it.
  std::string logical;      // the ISA's bytes without line breaks (wrapped files)
  std::vector<size_t> raw;  // raw index of each logical byte
  auto mismatches = [&](std::string_view s) {
    std::vector<size_t> bad;
    for (size_t at : kIsaSeparators) {
      if (static_cast<unsigned char>(s[at]) != e) bad.push_back(at);
    }
    return bad;
  };
  size_t component_at = 0;  // raw index of ISA16
  size_t term_at = 0;       // raw index of the segment terminator
  bool fixed = false;
  std::vector<size_t> raw_mismatch;
  if (bytes.size() > kIsaTerminatorAt) {
    raw_mismatch = mismatches(bytes);
    if (raw_mismatch.empty()) {
      fixed = true;
      component_at = kIsaComponentAt;
      term_at = kIsaTerminatorAt;
      logical.assign(bytes.substr(0, kIsaComponentAt));
    }
  }
  // 2. Fixed width once line breaks are removed (a file wrapped at 80 columns).
  if (!fixed) {
    for (size_t i = 0; i < bytes.size() && logical.size() <= kIsaTerminatorAt; ++i) {
      if (IsCrLf(bytes[i])) continue;
      logical += bytes[i];
      raw.push_back(i);
    }
    if (logical.size() > kIsaTerminatorAt && raw[kIsaTerminatorAt] != kIsaTerminatorAt &&
        mismatches(logical).empty()) {
      fixed = true;
      component_at = raw[kIsaComponentAt];
      term_at = raw[kIsaTerminatorAt];
      logical.resize(kIsaComponentAt);
      h.notes.push_back("ISA wrapped across lines (a file hard-wrapped at a fixed width)");
    } else {
      logical.clear();
    }
  }
  // One stray character where a separator belongs: a wrong separator rather than an unpadded ISA.
  if (!fixed && !raw_mismatch.empty() && raw_mismatch.size() <= 2) {
    bool punctuation = true;
    for (size_t at : raw_mismatch) punctuation = punctuation && IsSeparator(bytes[at]);
    if (punctuation) {
      const size_t at = raw_mismatch.front();
      return Fail(std::move(h), "026",
                  core::Cat("invalid data element separator: ", Quoted(bytes[at]), " at ISA byte ",
                            at, " where ", Quoted(e), " belongs"));
    }
  }
  // 3. Not padded: split on the element separator.
  if (!fixed) {
    size_t count = 1;  // the separator at 3
    size_t start = 4;
    size_t i = 4;
    for (; i < bytes.size() && count < 16; ++i) {
      const unsigned char c = bytes[i];
      if (c == e) {
        ++count;
        start = i + 1;
        if (count == 16) break;
      } else if (IsCrLf(c)) {
        return Fail(std::move(h), "022",
                    core::Cat("the ISA has ", count, " of 16 elements before a line break"));
      } else if (i - start >= 15) {
        return Fail(std::move(h), "022",
                    core::Cat("ISA element ", count,
                              " is longer than 15 characters: the ISA "
                              "is not terminated where it should be"));
      }
    }
    if (count < 16) {
      return Fail(
          std::move(h), at_eof ? "023" : "022",
          core::Cat("the ISA has ", count, " of 16 elements", at_eof ? " when the file ends" : ""));
    }
    component_at = i + 1;
    term_at = i + 2;
    logical.assign(bytes.substr(0, i));
    h.notes.push_back("ISA not padded to its fixed widths; read by splitting on the separator");
  }
  if (term_at >= bytes.size()) {
    return Fail(std::move(h), "023", "the file ends inside the ISA");
  }
  const unsigned char c = bytes[component_at];
  const unsigned char s = bytes[term_at];

  // Fields: "ISA", ISA01..ISA15 from the logical bytes, ISA16.
  std::vector<std::string> fields;
  {
    size_t from = 4;
    fields.emplace_back("ISA");
    for (size_t k = 1; k < 16; ++k) {
      size_t to = from;
      while (to < logical.size() && static_cast<unsigned char>(logical[to]) != e) ++to;
      fields.emplace_back(logical.substr(from, to - from));
      from = to + 1;
    }
    fields.emplace_back(1, static_cast<char>(c));
  }
  h.fields = fields;

  if (IsAlnum(s) || s == e || s == ' ' || s == 0) {
    return Fail(std::move(h), "004",
                core::Cat("invalid segment terminator ", Quoted(s),
                          " after ISA16 (is ISA16 or the terminator missing?)"));
  }
  Delimiters d;
  d.element = static_cast<char>(e);
  size_t consumed = term_at + 1;
  if (IsCrLf(s)) {
    d.segment =
        (s == '\r' && (term_at + 1 >= bytes.size() || bytes[term_at + 1] != '\n')) ? "\r" : "\n";
    // "ISA16 lost": the ISA ends "*~" + newline and the next line ends with '~' too. Then '~'
    // terminates segments and there is no component separator.
    size_t line = term_at;
    while (line < bytes.size() && IsCrLf(bytes[line])) ++line;
    size_t eol = line;
    while (eol < bytes.size() && !IsCrLf(bytes[eol])) ++eol;
    if (IsSeparator(c) && c != e && eol < bytes.size() && eol > line &&
        static_cast<unsigned char>(bytes[eol - 1]) == c) {
      d.segment.assign(1, static_cast<char>(c));
      d.component = 0;
      h.fields[16].clear();
      consumed = component_at + 1;
      h.notes.push_back(core::Cat("ISA16 missing: ", Quoted(c),
                                  " ends every segment, so it is taken as the segment "
                                  "terminator; the interchange has no component separator"));
      h.ok = true;
      h.delimiters = d;
      h.consumed = consumed;
      return h;
    }
    h.notes.push_back("segments terminated by newlines");
  } else {
    const size_t len = Utf8Length(s);
    bool multi = len > 1 && term_at + len <= bytes.size();
    for (size_t k = 1; multi && k < len; ++k) {
      const unsigned char b = bytes[term_at + k];
      multi = b >= 0x80 && b <= 0xBF;
    }
    if (multi) {
      d.segment.assign(bytes.substr(term_at, len));
      consumed = term_at + len;
      h.notes.push_back(core::Cat("segment terminator is the ", len, "-byte UTF-8 character \"",
                                  d.segment, "\""));
    } else {
      d.segment.assign(1, static_cast<char>(s));
    }
  }
  if (!IsSeparator(c) || c == e || c == s) {
    return Fail(std::move(h), "027",
                core::Cat("invalid component element separator ", Quoted(c), " in ISA16"));
  }
  d.component = static_cast<char>(c);
  h.ok = true;
  h.delimiters = d;
  h.consumed = consumed;
  return h;
}

// ---------------------------------------------------------------------------------------------
// Reader

X12Reader::X12Reader(std::unique_ptr<ByteSource> source)
    : X12Reader(std::move(source), Options()) {}

X12Reader::X12Reader(std::unique_ptr<ByteSource> source, Options options)
    : source_(std::move(source)), options_(options) {
  options_.max_segment_bytes = std::max<size_t>(options_.max_segment_bytes, kIsaLookahead);
  options_.read_chunk = std::max<size_t>(options_.read_chunk, 1024);
  buf_.resize(options_.max_segment_bytes + options_.read_chunk + kIsaLookahead);
}

bool X12Reader::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    base_offset_ += pos_;
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size()) return false;  // callers never let this happen
  absl::StatusOr<size_t> n = source_->Read(buf_.data() + end_, buf_.size() - end_);
  if (!n.ok()) {
    io_status_ = n.status();
    eof_ = true;
    return false;
  }
  if (*n == 0) {
    eof_ = true;
    return false;
  }
  end_ += *n;
  return true;
}

bool X12Reader::Ensure(size_t n) {
  while (end_ - pos_ < n && Fill()) {
  }
  return end_ - pos_ >= n;
}

bool X12Reader::AtIsa(size_t at) {
  return at + 4 <= end_ && buf_[at] == 'I' && buf_[at + 1] == 'S' && buf_[at + 2] == 'A' &&
         IsSeparator(buf_[at + 3]);
}

void X12Reader::AddNote(std::string note) {
  if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) {
    notes_.push_back(std::move(note));
  }
}

absl::StatusOr<ReadEvent> X12Reader::Next() {
  for (;;) {
    switch (state_) {
      case State::kBetween:
        return NextBetween();
      case State::kInInterchange:
        return NextInInterchange();
      case State::kSkipRestOfSegment: {
        // The rest of an over-long segment: up to its terminator.
        const std::string& term = delimiters_.segment;
        for (;;) {
          const void* p = pos_ < end_ ? std::memchr(&buf_[pos_], term[0], end_ - pos_) : nullptr;
          if (p == nullptr) {
            pos_ = end_;
            if (!Fill()) break;
            continue;
          }
          pos_ = static_cast<const char*>(p) - buf_.data();
          if (term.size() > 1 && !Ensure(term.size())) {
            pos_ = end_;
            break;
          }
          if (std::memcmp(&buf_[pos_], term.data(), term.size()) == 0) {
            pos_ += term.size();
            break;
          }
          ++pos_;
        }
        if (!io_status_.ok()) return io_status_;
        state_ = State::kInInterchange;
        continue;
      }
    }
  }
}

absl::StatusOr<ReadEvent> X12Reader::NextBetween() {
  for (;;) {
    if (pos_ >= end_ && !Fill()) break;
    const unsigned char c = buf_[pos_];
    if (IsFiller(c)) {
      ++pos_;
      continue;
    }
    if (c == 0xEF && Ensure(3) && static_cast<unsigned char>(buf_[pos_ + 1]) == 0xBB &&
        static_cast<unsigned char>(buf_[pos_ + 2]) == 0xBF) {
      pos_ += 3;
      pending_notes_.push_back("UTF-8 byte-order mark skipped");
      continue;
    }
    break;
  }
  if (!io_status_.ok()) return io_status_;
  if (pos_ >= end_) return ReadEvent::kEnd;
  Ensure(4);
  const uint64_t offset = base_offset_ + pos_;
  if (AtIsa(pos_)) {
    Ensure(kIsaLookahead);
    const size_t avail = std::min(end_ - pos_, kIsaLookahead);
    IsaHeader h =
        ParseIsaHeader(std::string_view(&buf_[pos_], avail), eof_ && avail < kIsaLookahead);
    ++interchange_;
    if (h.ok) {
      state_ = State::kInInterchange;
      SetDelimiters(h.delimiters);
      notes_ = std::move(pending_notes_);
      pending_notes_.clear();
      for (auto& n : h.notes) notes_.push_back(std::move(n));
      crlf_note_ = false;
      isa_text_.clear();
      for (size_t i = 0; i < h.fields.size(); ++i) {
        if (i > 0) isa_text_ += delimiters_.element;
        isa_text_ += h.fields[i];
      }
      segment_.fields_.clear();
      size_t start = 0;
      for (size_t i = 0; i < h.fields.size(); ++i) {
        segment_.fields_.emplace_back(isa_text_.data() + start, h.fields[i].size());
        start += h.fields[i].size() + 1;
      }
      segment_.text_ = isa_text_;
      segment_.key_ = SegmentKey("ISA");
      segment_.component_ = delimiters_.component;
      segment_.truncated_ = false;
      in_interchange_ = 1;
      in_set_ = 0;
      segment_.position_ = {interchange_, 1, 0, offset};
      pos_ += h.consumed;
      return ReadEvent::kSegment;
    }
    issue_ = ReaderIssue{.kind = ReaderIssue::Kind::kBadIsa,
                         .offset = offset,
                         .interchange = interchange_,
                         .ta1_code = std::move(h.ta1_code),
                         .message = std::move(h.message),
                         .isa_fields = std::move(h.fields)};
    notes_ = std::move(pending_notes_);
    pending_notes_.clear();
    pos_ += 3;
  } else {
    issue_ = ReaderIssue{.kind = ReaderIssue::Kind::kNotX12, .offset = offset};
    issue_.message = core::Cat("not X12: expected \"ISA\" at byte ", offset, ", found \"",
                               Printable(std::string_view(&buf_[pos_], end_ - pos_)), "\"");
  }
  // Skip to the next "ISA".
  for (;;) {
    const void* p = pos_ < end_ ? std::memchr(&buf_[pos_], 'I', end_ - pos_) : nullptr;
    if (p == nullptr) {
      pos_ = end_;
      if (!Fill()) break;
      continue;
    }
    pos_ = static_cast<const char*>(p) - buf_.data();
    if (!Ensure(4)) {
      pos_ = end_;
      break;
    }
    if (AtIsa(pos_)) break;
    ++pos_;
  }
  if (!io_status_.ok()) return io_status_;
  issue_.length = base_offset_ + pos_ - issue_.offset;
  return ReadEvent::kIssue;
}

absl::StatusOr<ReadEvent> X12Reader::NextInInterchange() {
  for (;;) {
    if (pos_ >= end_ && !Fill()) break;
    if (!IsFiller(buf_[pos_])) break;
    ++pos_;
  }
  if (!io_status_.ok()) return io_status_;
  if (pos_ >= end_) {
    state_ = State::kBetween;
    return ReadEvent::kEnd;
  }
  Ensure(4);
  if (AtIsa(pos_)) {  // a new interchange although this one has no IEA
    state_ = State::kBetween;
    return NextBetween();
  }
  // One pass over the segment finds its element separators, line breaks and terminator.
  const std::string& term = delimiters_.segment;
  starts_.clear();
  bool crlf = false;
  size_t i = pos_;
  for (;;) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(buf_.data());
    while (i < end_ && class_[b[i]] == 0) ++i;
    if (i < end_) {
      const uint8_t k = class_[b[i]];
      if (k == 1) {
        starts_.push_back(static_cast<uint32_t>(i - pos_ + 1));
        ++i;
        continue;
      }
      if (k == 2) {
        crlf = true;
        ++i;
        continue;
      }
      if (term.size() > 1) {
        if (end_ - i < term.size() && !eof_) {
          const size_t rel = i - pos_;
          Fill();
          if (!io_status_.ok()) return io_status_;
          i = pos_ + rel;
          continue;
        }
        if (end_ - i < term.size() || std::memcmp(&buf_[i], term.data(), term.size()) != 0) {
          ++i;
          continue;
        }
      }
      EmitSegment(pos_, i, false, crlf);
      pos_ = i + term.size();
      if (segment_.key() == SegmentKey("IEA")) state_ = State::kBetween;
      return ReadEvent::kSegment;
    }
    if (end_ - pos_ >= options_.max_segment_bytes) {
      EmitSegment(pos_, pos_ + options_.max_segment_bytes, true, true);
      pos_ += options_.max_segment_bytes;
      state_ = State::kSkipRestOfSegment;
      return ReadEvent::kSegment;
    }
    const size_t rel = i - pos_;
    if (!Fill()) {
      if (!io_status_.ok()) return io_status_;
      // End of input inside a segment: the last segment had no terminator.
      if (!delimiters_.NewlineTerminated()) AddNote("the last segment has no terminator");
      EmitSegment(pos_, end_, false, crlf);
      pos_ = end_;
      if (segment_.key() == SegmentKey("IEA")) state_ = State::kBetween;
      return ReadEvent::kSegment;
    }
    i = pos_ + rel;
  }
}

void X12Reader::SetDelimiters(const Delimiters& d) {
  delimiters_ = d;
  std::memset(class_, 0, sizeof class_);
  if (!d.NewlineTerminated()) {
    class_[static_cast<unsigned char>('\r')] = 2;
    class_[static_cast<unsigned char>('\n')] = 2;
  }
  class_[static_cast<unsigned char>(d.element)] = 1;
  class_[static_cast<unsigned char>(d.segment[0])] = 3;
}

void X12Reader::EmitSegment(size_t begin, size_t end, bool truncated, bool resplit) {
  const char* b = buf_.data() + begin;
  size_t n = end - begin;
  segment_.fields_.clear();
  if (delimiters_.NewlineTerminated()) {
    while (n > 0 && IsCrLf(b[n - 1])) --n;
  } else if (resplit &&
             (std::memchr(b, '\n', n) != nullptr || std::memchr(b, '\r', n) != nullptr)) {
    scratch_.clear();
    for (size_t i = 0; i < n; ++i) {
      if (!IsCrLf(b[i])) scratch_ += b[i];
    }
    b = scratch_.data();
    n = scratch_.size();
    if (!crlf_note_) {
      crlf_note_ = true;
      AddNote("line breaks inside segments removed");
    }
  }
  if (resplit) {
    const char e = delimiters_.element;
    const char* p = b;
    const char* const stop = b + n;
    for (;;) {
      const char* q = static_cast<const char*>(std::memchr(p, e, stop - p));
      if (q == nullptr) {
        segment_.fields_.emplace_back(p, stop - p);
        break;
      }
      segment_.fields_.emplace_back(p, q - p);
      p = q + 1;
    }
  } else {
    size_t from = 0;
    for (uint32_t start : starts_) {
      if (start > n) break;  // newline mode: a separator inside the stripped CRs
      segment_.fields_.emplace_back(b + from, start - 1 - from);
      from = start;
    }
    segment_.fields_.emplace_back(b + from, n - from);
  }
  segment_.text_ = std::string_view(b, n);
  segment_.component_ = delimiters_.component;
  segment_.truncated_ = truncated;
  const std::string_view id = segment_.fields_[0];
  const uint32_t key = SegmentKey(id);
  segment_.key_ = key;
  if (key == SegmentKey("ST")) {
    in_set_ = 1;
  } else if (key == SegmentKey("GS") || key == SegmentKey("GE") || key == SegmentKey("IEA") ||
             key == SegmentKey("ISA")) {
    in_set_ = 0;
  } else if (in_set_ > 0) {
    ++in_set_;
  }
  segment_.position_ = {interchange_, ++in_interchange_, in_set_, base_offset_ + begin};
  if (key == SegmentKey("SE")) in_set_ = 0;
}

}  // namespace keelson::edi
