#include "edi/x12_dictionary.h"

#include <algorithm>
#include <array>
#include <functional>
#include <iterator>
#include <vector>

#include "edi/x12_reader.h"

namespace keelson::edi {
namespace {

using T = ElementType;
constexpr bool M = true;
constexpr bool O = false;

// Envelope and control segments (X12.5/X12.6, 4010).
constexpr ElementRule kGS[] = {{1, M, T::kID, 2, 2, "479"},        {2, M, T::kAN, 2, 15, "142"},
                               {3, M, T::kAN, 2, 15, "124"},       {4, M, T::kDT, 8, 8, "373"},
                               {5, M, T::kTM, 4, 8, "337"},        {6, M, T::kN0, 1, 9, "28"},
                               {7, M, T::kID, 1, 2, "455", "T|X"}, {8, M, T::kAN, 1, 12, "480"}};
constexpr ElementRule kGE[] = {{1, M, T::kN0, 1, 6, "97"}, {2, M, T::kN0, 1, 9, "28"}};
constexpr ElementRule kST[] = {
    {1, M, T::kID, 3, 3, "143"}, {2, M, T::kAN, 4, 9, "329"}, {3, O, T::kAN, 1, 35, "1705"}};
constexpr ElementRule kSE[] = {{1, M, T::kN0, 1, 10, "96"}, {2, M, T::kAN, 4, 9, "329"}};
constexpr ElementRule kTA1[] = {{1, M, T::kN0, 9, 9, "I12"},
                                {2, M, T::kDT, 6, 6, "I08"},
                                {3, M, T::kTM, 4, 4, "I09"},
                                {4, M, T::kID, 1, 1, "I17", "A|E|R"},
                                {5, M, T::kID, 3, 3, "I18"}};

// 997.
constexpr ElementRule kAK1[] = {
    {1, M, T::kID, 2, 2, "479"}, {2, M, T::kN0, 1, 9, "28"}, {3, O, T::kAN, 1, 12, "480"}};
constexpr ElementRule kAK2[] = {
    {1, M, T::kID, 3, 3, "143"}, {2, M, T::kAN, 4, 9, "329"}, {3, O, T::kAN, 1, 35, "1705"}};
constexpr ElementRule kAK3[] = {{1, M, T::kID, 2, 3, "721"},
                                {2, M, T::kN0, 1, 6, "719"},
                                {3, O, T::kAN, 1, 4, "447"},
                                {4, O, T::kID, 1, 3, "720"}};
constexpr ElementRule kAK4[] = {{1, M, T::kN0, 1, 2, "722", "", 1},
                                {2, O, T::kN0, 1, 4, "725"},
                                {3, M, T::kID, 1, 3, "723"},
                                {4, O, T::kAN, 1, 99, "724"}};
constexpr ElementRule kAK5[] = {{1, M, T::kID, 1, 1, "717", "A|E|M|R|W|X"},
                                {2, O, T::kID, 1, 3, "718"},
                                {3, O, T::kID, 1, 3, "718"},
                                {4, O, T::kID, 1, 3, "718"},
                                {5, O, T::kID, 1, 3, "718"},
                                {6, O, T::kID, 1, 3, "718"}};
constexpr ElementRule kAK9[] = {{1, M, T::kID, 1, 1, "715", "A|E|M|P|R|W|X"},
                                {2, M, T::kN0, 1, 6, "97"},
                                {3, M, T::kN0, 1, 6, "123"},
                                {4, M, T::kN0, 1, 6, "2"},
                                {5, O, T::kID, 1, 3, "716"},
                                {6, O, T::kID, 1, 3, "716"},
                                {7, O, T::kID, 1, 3, "716"},
                                {8, O, T::kID, 1, 3, "716"},
                                {9, O, T::kID, 1, 3, "716"}};

// Warehouse segments the document mappings read.
constexpr ElementRule kW05[] = {{1, M, T::kID, 1, 1, "473"}, {2, M, T::kAN, 1, 22, "324"}};
constexpr ElementRule kW01[] = {{1, M, T::kR, 1, 15, "330"}, {2, M, T::kID, 2, 2, "355"}};
constexpr ElementRule kW76[] = {{1, M, T::kR, 1, 15, "347"}};
constexpr ElementRule kW06[] = {{1, M, T::kID, 1, 1, "473"}, {3, O, T::kDT, 8, 8, "373"}};
constexpr ElementRule kW12[] = {
    {1, M, T::kID, 2, 2, "368"}, {2, O, T::kR, 1, 15, "330"}, {3, O, T::kR, 1, 10, "382"}};
constexpr ElementRule kW27[] = {{1, M, T::kID, 1, 2, "91"}};
constexpr ElementRule kW03[] = {{1, M, T::kR, 1, 10, "382"}};
constexpr ElementRule kLX[] = {{1, M, T::kN0, 1, 6, "554"}};
constexpr ElementRule kN1[] = {{1, M, T::kID, 2, 3, "98"}};
constexpr ElementRule kN9[] = {{1, M, T::kID, 2, 3, "128"}};
constexpr ElementRule kREF[] = {{1, M, T::kID, 2, 3, "128"}};
constexpr ElementRule kG62[] = {{2, O, T::kDT, 8, 8, "373"}, {4, O, T::kTM, 4, 8, "337"}};
constexpr ElementRule kDTM[] = {
    {1, M, T::kID, 3, 3, "374"}, {2, O, T::kDT, 8, 8, "373"}, {3, O, T::kTM, 4, 8, "337"}};
constexpr ElementRule kMAN[] = {{1, M, T::kID, 1, 2, "88"}, {2, M, T::kAN, 1, 48, "87"}};
// 856.
constexpr ElementRule kBSN[] = {{1, M, T::kID, 2, 2, "353"},
                                {2, M, T::kAN, 2, 30, "396"},
                                {3, M, T::kDT, 8, 8, "373"},
                                {4, M, T::kTM, 4, 8, "337"}};
constexpr ElementRule kHL[] = {
    {1, M, T::kAN, 1, 12, "628"}, {2, O, T::kAN, 1, 12, "734"}, {3, M, T::kID, 1, 2, "735"}};
constexpr ElementRule kPRF[] = {{1, M, T::kAN, 1, 22, "324"}};
constexpr ElementRule kLIN[] = {{2, M, T::kID, 2, 2, "235"}, {3, M, T::kAN, 1, 48, "234"}};
constexpr ElementRule kSN1[] = {{2, M, T::kR, 1, 10, "382"}, {3, M, T::kID, 2, 2, "355"}};
constexpr ElementRule kCTT[] = {{1, M, T::kN0, 1, 6, "354"}, {2, O, T::kR, 1, 10, "347"}};
// 846.
constexpr ElementRule kBIA[] = {{1, M, T::kID, 2, 2, "353"},
                                {2, M, T::kID, 2, 2, "755"},
                                {3, M, T::kAN, 1, 30, "127"},
                                {4, M, T::kDT, 8, 8, "373"}};
constexpr ElementRule kQTY[] = {{1, M, T::kID, 2, 2, "673"}, {2, O, T::kR, 1, 15, "380"}};

constexpr SegmentRule kSegments[] = {
    {"AK1", 3, kAK1}, {"AK2", 3, kAK2}, {"AK3", 4, kAK3}, {"AK4", 4, kAK4}, {"AK5", 6, kAK5},
    {"AK9", 9, kAK9}, {"BIA", 0, kBIA}, {"BSN", 0, kBSN}, {"CTT", 0, kCTT}, {"DTM", 0, kDTM},
    {"G62", 0, kG62}, {"GE", 2, kGE},   {"GS", 8, kGS},   {"HL", 4, kHL},   {"LIN", 0, kLIN},
    {"LX", 1, kLX},   {"MAN", 0, kMAN}, {"N1", 0, kN1},   {"N9", 0, kN9},   {"PRF", 0, kPRF},
    {"QTY", 0, kQTY}, {"REF", 0, kREF}, {"SE", 2, kSE},   {"SN1", 0, kSN1}, {"ST", 3, kST},
    {"TA1", 5, kTA1}, {"W01", 0, kW01}, {"W03", 0, kW03}, {"W05", 0, kW05}, {"W06", 0, kW06},
    {"W12", 0, kW12}, {"W27", 0, kW27}, {"W76", 0, kW76},
};

// Segments of each supported set (4010 tables, generous: what real partners send).
constexpr std::string_view k940Allowed[] = {
    "W05", "N1",  "N2",  "N3",  "N4",  "G61", "N9",  "G62", "NTE", "W66", "FOB", "LM",
    "LQ",  "W09", "PER", "LX",  "MAN", "W01", "G69", "W20", "AT8", "QTY", "W76", "G66",
    "W08", "W10", "MEA", "PID", "LH1", "LH2", "LH3", "LFH", "LEP", "LH4", "LHT", "LHR"};
constexpr std::string_view k940Mandatory[] = {"W05", "W01"};
constexpr std::string_view k945Allowed[] = {
    "W06", "N1",  "N2",  "N3",  "N4",  "N9",  "G62", "NTE", "W27", "W28", "W10", "G72", "LX",
    "MAN", "W12", "G69", "W20", "AT8", "QTY", "W03", "MEA", "PAL", "FOB", "LM",  "LQ",  "PER",
    "W11", "W21", "W19", "G66", "REF", "SAC", "PID", "TD5", "TD3", "DTM", "SN1", "W09"};
constexpr std::string_view k945Mandatory[] = {"W06", "W12"};
constexpr std::string_view k856Allowed[] = {
    "BSN", "DTM", "HL",  "LIN", "SN1", "SLN", "PRF", "PO4", "PID", "MEA", "PWK",
    "PKG", "TD1", "TD5", "TD3", "TD4", "TSD", "REF", "PER", "LH1", "LH2", "LH3",
    "LFH", "LEP", "LH4", "LHT", "LHR", "CLD", "MAN", "FOB", "PAL", "N1",  "N2",
    "N3",  "N4",  "SDQ", "ETD", "CUR", "SAC", "GF",  "YNQ", "CTT", "TXI", "QTY",
    "V1",  "DTP", "NTE", "MSG", "PLD", "INC", "AMT", "ITA", "CTP", "FOB", "G39"};
constexpr std::string_view k856Mandatory[] = {"BSN", "HL"};
constexpr std::string_view k846Allowed[] = {
    "BIA", "CUR", "REF", "PER", "MEA", "DTM", "N1",  "N2",  "N3",  "N4",  "LIN", "SLN", "PID",
    "PO4", "CTP", "QTY", "SCH", "SDQ", "LDT", "MAN", "CTT", "G39", "PKG", "FOB", "SAC", "ITA",
    "LX",  "TD5", "PAL", "LM",  "LQ",  "G53", "DD",  "ITD", "SLN", "AMT", "LS",  "LE",  "MSG"};
constexpr std::string_view k846Mandatory[] = {"BIA", "LIN"};
constexpr std::string_view k997Allowed[] = {"AK1", "AK2", "AK3", "AK4", "AK5", "AK9"};
constexpr std::string_view k997Mandatory[] = {"AK1", "AK9"};

constexpr SetRule kSets[] = {
    {"846", "IB", k846Allowed, k846Mandatory}, {"856", "SH", k856Allowed, k856Mandatory},
    {"940", "OW", k940Allowed, k940Mandatory}, {"945", "SW", k945Allowed, k945Mandatory},
    {"997", "FA", k997Allowed, k997Mandatory},
};

// Lookups by SegmentKey, built once: the rules sorted by key, and each set's allowed keys.
struct Index {
  std::vector<std::pair<uint32_t, const SegmentRule*>> rules;
  std::vector<std::vector<uint32_t>> allowed;  // parallel to kSets
};

const Index& GetIndex() {
  static const Index* index = [] {
    auto* i = new Index();
    for (const SegmentRule& r : kSegments) i->rules.emplace_back(SegmentKey(r.id), &r);
    std::sort(i->rules.begin(), i->rules.end());
    for (const SetRule& set : kSets) {
      std::vector<uint32_t> keys;
      for (std::string_view id : set.allowed) keys.push_back(SegmentKey(id));
      std::sort(keys.begin(), keys.end());
      i->allowed.push_back(std::move(keys));
    }
    return i;
  }();
  return *index;
}

}  // namespace

const SegmentRule* FindSegmentRule(uint32_t key) {
  const auto& rules = GetIndex().rules;
  auto it = std::lower_bound(rules.begin(), rules.end(), key,
                             [](const auto& r, uint32_t k) { return r.first < k; });
  return it != rules.end() && it->first == key && key != 0 ? it->second : nullptr;
}

const SegmentRule* FindSegmentRule(std::string_view segment_id) {
  return FindSegmentRule(SegmentKey(segment_id));
}

bool SetAllows(const SetRule& set, uint32_t key) {
  const std::less<const SetRule*> before;
  if (key == 0) return false;
  if (before(&set, std::begin(kSets)) || !before(&set, std::end(kSets))) {
    for (std::string_view id : set.allowed) {
      if (SegmentKey(id) == key) return true;
    }
    return false;
  }
  const auto& keys = GetIndex().allowed[&set - std::begin(kSets)];
  return std::binary_search(keys.begin(), keys.end(), key);
}

bool SetAllows(const SetRule& set, std::string_view segment_id) {
  return SetAllows(set, SegmentKey(segment_id));
}

const SetRule* FindSetRule(std::string_view set_id) {
  for (const SetRule& r : kSets) {
    if (r.id == set_id) return &r;
  }
  return nullptr;
}

}  // namespace keelson::edi
