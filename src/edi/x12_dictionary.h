#pragma once
// The slice of the X12 4010 dictionary Keelson validates: which transaction sets it supports
// (940, 945, 856, 846, 997), which segments each may hold, which are mandatory, and the element
// rules (mandatory, type, length, code list) of the envelope segments and of the segments the
// document mappings read. Segments not listed here are not element-checked: the aim is to
// catch what would break Keelson's mapping and what every X12 translator rejects, not to be a
// complete implementation guide. Constant tables; thread-safe.

#include <cstdint>
#include <span>
#include <string_view>

namespace keelson::edi {

enum class ElementType : uint8_t {
  kAN,  // string
  kID,  // identifier (code)
  kN0,  // integer
  kR,   // decimal
  kDT,  // date CCYYMMDD (or YYMMDD when max is 6)
  kTM,  // time HHMM[SS[d..]]
};

struct ElementRule {
  uint8_t position;  // 1-based
  bool mandatory;
  ElementType type;
  uint8_t min_length;
  uint8_t max_length;
  std::string_view reference;  // data element reference number, for AK402
  std::string_view codes;      // kID: allowed codes separated by '|', empty = not checked
  uint8_t component = 0;       // > 0: the rule applies to this component of a composite
};

struct SegmentRule {
  std::string_view id;
  uint8_t max_elements;  // 0 = not checked
  std::span<const ElementRule> elements;
};

// Element rules of a segment; nullptr when Keelson does not check its elements. `key` is
// SegmentKey(segment_id) (x12_reader.h).
const SegmentRule* FindSegmentRule(std::string_view segment_id);
const SegmentRule* FindSegmentRule(uint32_t key);

struct SetRule {
  std::string_view id;                          // ST01
  std::string_view functional_group;            // GS01 it belongs in
  std::span<const std::string_view> allowed;    // segment IDs besides ST/SE
  std::span<const std::string_view> mandatory;  // must appear at least once
};

// nullptr when Keelson does not support the transaction set.
const SetRule* FindSetRule(std::string_view set_id);
// Whether the segment may appear in `set` (ST and SE excluded); `key` is SegmentKey(id).
bool SetAllows(const SetRule& set, std::string_view segment_id);
bool SetAllows(const SetRule& set, uint32_t key);

}  // namespace keelson::edi
