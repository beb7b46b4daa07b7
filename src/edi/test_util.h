#pragma once
// Test helpers for src/edi (header-only, used by the *_test.cc files here and the fuzz
// regression test): fixture paths, a source that hands out a few bytes at a time, and a compact
// one-line-per-verdict summary of a FileVerdict that tests compare exactly.

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "edi/ack.h"
#include "edi/documents.h"
#include "edi/transaction_set.h"
#include "edi/x12_reader.h"
#include "edi/x12_validator.h"

namespace keelson::edi::testing {

#ifdef KEELSON_SOURCE_DIR
inline std::string FixturePath(std::string_view relative) {
  return core::Cat(KEELSON_SOURCE_DIR, "/testdata/edi/", relative);
}
#endif

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Hands out at most `step` bytes per Read (cycling 1..step), to put buffer refills everywhere.
class TrickleSource : public ByteSource {
 public:
  TrickleSource(std::string data, size_t step) : data_(std::move(data)), step_(step) {}
  absl::StatusOr<size_t> Read(char* dst, size_t n) override {
    const size_t want = 1 + (calls_++ % step_);
    const size_t k = std::min({n, want, data_.size() - at_});
    std::copy_n(data_.data() + at_, k, dst);
    at_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t step_;
  size_t at_ = 0;
  size_t calls_ = 0;
};

// One line per verdict:
//   "not-x12@<offset>"
//   "ISA#<n> <A|E|R> <TA105> [<codes of all problems>]"
//   "  GS <GS01> <GS06> <AK901> <included>/<received>/<accepted> [<AK905s>]"
//   "    ST <ST01> <ST02> <AK501> [<AK502s>] AK3 <id>*<pos>*<code>(<AK4 pos>*<ref>*<code>,...) ..."
inline std::vector<std::string> Summarize(const FileVerdict& v) {
  std::vector<std::string> out;
  for (const Problem& p : v.problems) out.push_back(core::Cat("not-x12@", p.offset));
  for (const InterchangeVerdict& ic : v.interchanges) {
    std::vector<std::string> codes;
    for (const Problem& p : ic.problems) codes.push_back(p.code);
    out.push_back(core::Cat("ISA#", ic.index, " ", std::string(1, ic.ack), " ", ic.note_code, " [",
                            absl::StrJoin(codes, " "), "]"));
    for (const GroupVerdict& g : ic.groups) {
      out.push_back(core::Cat("  GS ", g.functional_id, " ", g.control_number, " ",
                              std::string(1, g.ack), " ", g.declared_sets.value_or(g.received_sets),
                              "/", g.received_sets, "/", g.accepted_sets, " [",
                              absl::StrJoin(g.codes, " "), "]"));
      for (const SetVerdict& s : g.sets) {
        std::string line = core::Cat("    ST ", s.id, " ", s.control_number, " ",
                                     std::string(1, s.ack), " [", absl::StrJoin(s.codes, " "), "]");
        for (const SegmentNote& n : s.segment_notes) {
          std::vector<std::string> elements;
          for (const ElementNote& e : n.elements) {
            elements.push_back(core::Cat(e.position, e.component ? core::Cat(":", e.component) : "",
                                         "*", e.reference, "*", e.code));
          }
          line += core::Cat(" AK3 ", n.segment_id, "*", n.position, "*", n.code);
          if (!elements.empty()) line += core::Cat("(", absl::StrJoin(elements, ","), ")");
        }
        out.push_back(std::move(line));
      }
    }
  }
  return out;
}

// A fixed-width ISA with the given delimiters (ISA06 SENDER, ISA08 RECEIVER).
inline std::string Isa(char e = '*', char c = '>', std::string_view term = "~",
                       std::string_view control = "000000001", char ack_requested = '0') {
  std::string s = "ISA";
  for (std::string_view v :
       {std::string_view("00"), std::string_view("          "), std::string_view("00"),
        std::string_view("          "), std::string_view("ZZ"), std::string_view("SENDER         "),
        std::string_view("ZZ"), std::string_view("RECEIVER       "), std::string_view("240102"),
        std::string_view("1230"), std::string_view("U"), std::string_view("00401"), control,
        std::string_view(&ack_requested, 1), std::string_view("P")}) {
    s += e;
    s += v;
  }
  s += e;
  s += c;
  s += term;
  return s;
}

// The segments of a valid 940 (ST..SE, 7 segments), joined with `e`, each followed by `term`.
inline std::string Set940(char e = '*', std::string_view term = "~",
                          std::string_view control = "0001") {
  std::string out;
  for (std::string seg :
       {std::string("ST*940*") + std::string(control), std::string("W05*N*ORDER1"),
        std::string("N1*ST*JANE DOE"), std::string("LX*1"), std::string("W01*2*EA**SK*SKU-1"),
        std::string("W76*2"), std::string("SE*7*") + std::string(control)}) {
    std::replace(seg.begin(), seg.end(), '*', e);
    out += seg;
    out += term;
  }
  return out;
}

// A valid interchange: one OW group with one 940.
inline std::string Interchange940(char e = '*', char c = '>', std::string_view term = "~",
                                  std::string_view control = "000000001") {
  std::string gs = "GS*OW*SENDER*RECEIVER*20240102*1230*7*X*004010";
  std::string ge = "GE*1*7";
  std::string iea = std::string("IEA*1*") + std::string(control);
  for (std::string* x : {&gs, &ge, &iea}) std::replace(x->begin(), x->end(), '*', e);
  return Isa(e, c, term, control) + gs + std::string(term) + Set940(e, term) + ge +
         std::string(term) + iea + std::string(term);
}

inline FileVerdict ValidateBytes(std::string data, size_t trickle = 0,
                                 X12Reader::Options options = {}) {
  std::unique_ptr<ByteSource> source;
  if (trickle > 0) {
    source = std::make_unique<TrickleSource>(std::move(data), trickle);
  } else {
    source = std::make_unique<TrickleSource>(data, data.size() + 1);
  }
  X12Reader reader(std::move(source), options);
  CollectingListener listener;
  X12Validator validator(&listener);
  absl::Status s = Validate(reader, validator);
  (void)s;  // in-memory sources do not fail
  return listener.verdict();
}

// Any bytes through the whole X12 path, as the fuzzer (fuzz/x12_fuzz.cc) and the mutation test
// do: ISA header parsing, the reader with small buffers, the validator, the response (which must
// read back as one readable interchange), the same verdict when bytes trickle in, the
// transaction-set reader, the documents and the 997 parser. Returns "" or what broke.
inline std::string Exercise(std::string_view input, bool compare_trickle = true) {
  if (input.substr(0, 3) == "ISA") {
    IsaHeader h = ParseIsaHeader(input, true);
    if (h.ok && (h.consumed > input.size() || h.delimiters.segment.empty())) {
      return "ParseIsaHeader consumed more than it was given";
    }
  }
  const X12Reader::Options small{.max_segment_bytes = 512, .read_chunk = 1024};
  const FileVerdict verdict = ValidateBytes(std::string(input), 0, small);
  if (compare_trickle &&
      Summarize(ValidateBytes(std::string(input), 3, small)) != Summarize(verdict)) {
    return "different verdict when the bytes arrive a few at a time";
  }
  InMemoryControlNumbers numbers;
  AckOptions options{.now = absl::FromUnixSeconds(1'700'000'000)};
  for (const InterchangeVerdict& ic : verdict.interchanges) {
    absl::StatusOr<std::string> response = BuildResponse(ic, numbers, options);
    if (!response.ok() || response->empty()) continue;
    const FileVerdict back = ValidateBytes(*response);
    if (!back.problems.empty() || back.interchanges.size() != 1 || !back.interchanges[0].readable) {
      return core::Cat("the response does not read back as one interchange:\n", *response);
    }
  }
  X12Reader sets_reader(StringSource(input), small);
  absl::Status s = ForEachTransactionSet(sets_reader,
                                         [](const TransactionSet& set) {
                                           if (set.id == "945") (void)Parse945(set);
                                           if (set.id == "856") (void)Parse856(set);
                                           if (set.id == "846") (void)Parse846(set);
                                           if (set.id == "997" || set.id == "999")
                                             (void)ParseFunctionalAck(set);
                                           return absl::OkStatus();
                                         },
                                         {.max_segments = 10'000});
  if (!s.ok()) return core::Cat("ForEachTransactionSet: ", s.message());
  return "";
}

}  // namespace keelson::edi::testing
