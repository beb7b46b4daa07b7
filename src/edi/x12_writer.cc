#include "edi/x12_writer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/strings.h"

namespace keelson::edi {
namespace {

constexpr int64_t kMaxControl = 999'999'999;

std::string Pad(std::string_view v, size_t n) {
  std::string out(v.substr(0, n));
  out.resize(n, ' ');
  return out;
}

}  // namespace

int64_t InMemoryControlNumbers::Next(absl::flat_hash_map<std::string, int64_t>& m,
                                     std::string_view partner) {
  auto [it, inserted] = m.try_emplace(std::string(partner), first_);
  if (!inserted) it->second = it->second >= kMaxControl ? 1 : it->second + 1;
  return it->second;
}

absl::StatusOr<int64_t> InMemoryControlNumbers::NextInterchange(std::string_view partner) {
  absl::MutexLock lock(&mu_);
  return Next(interchange_, partner);
}

absl::StatusOr<int64_t> InMemoryControlNumbers::NextGroup(std::string_view partner) {
  absl::MutexLock lock(&mu_);
  return Next(group_, partner);
}

std::string PartnerKey(std::string_view qualifier, std::string_view id) {
  return core::Cat(TrimSpaces(qualifier), ":", TrimSpaces(id));
}

std::string EnvelopeParams::PartnerKey() const {
  return edi::PartnerKey(receiver_qualifier, receiver_id);
}

InterchangeWriter::InterchangeWriter(Delimiters delimiters, std::string line_end)
    : d_(std::move(delimiters)), line_end_(std::move(line_end)) {}

absl::Status InterchangeWriter::Write(std::string_view id, const std::string_view* elements,
                                      size_t n) {
  while (n > 0 && elements[n - 1].empty()) --n;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view v = elements[i];
    const bool bad = v.find(d_.element) != std::string_view::npos ||
                     (d_.component != 0 && v.find(d_.component) != std::string_view::npos) ||
                     v.find(d_.segment) != std::string_view::npos ||
                     v.find_first_of("\r\n") != std::string_view::npos;
    // ISA16 is the component separator itself.
    if (bad && !(id == "ISA" && i == 15)) {
      return absl::InvalidArgumentError(
          core::Cat(id, i + 1 < 10 ? "0" : "", i + 1, " \"", v,
                    "\" contains an X12 delimiter or a line break and cannot be written"));
    }
  }
  out_ += core::Cat(id);
  for (size_t i = 0; i < n; ++i) out_ += core::Cat(std::string_view(&d_.element, 1), elements[i]);
  out_ += core::Cat(d_.segment, line_end_);
  if (in_set_) ++segments_;
  return absl::OkStatus();
}

absl::Status InterchangeWriter::Add(std::string_view id,
                                    std::initializer_list<std::string_view> elements) {
  return Write(id, elements.begin(), elements.size());
}

absl::Status InterchangeWriter::Add(std::string_view id, const std::vector<std::string>& elements) {
  std::vector<std::string_view> views(elements.begin(), elements.end());
  return Write(id, views.data(), views.size());
}

absl::Status InterchangeWriter::BeginInterchange(const EnvelopeParams& p, int64_t control) {
  if (in_interchange_) return absl::FailedPreconditionError("interchange already open");
  if (control < 1 || control > kMaxControl) {
    return absl::InvalidArgumentError(core::Cat("ISA13 ", control, " out of 1..999999999"));
  }
  if (p.sender_id.empty() || p.receiver_id.empty() || p.sender_id.size() > 15 ||
      p.receiver_id.size() > 15 || p.sender_qualifier.size() != 2 ||
      p.receiver_qualifier.size() != 2) {
    return absl::InvalidArgumentError(
        "ISA sender and receiver: 2-character qualifiers and IDs of 1 to 15 characters");
  }
  out_.clear();
  params_ = p;
  isa13_ = absl::StrFormat("%09d", control);
  groups_ = 0;
  const std::string date = absl::FormatTime("%y%m%d", p.now, p.zone);
  const std::string time = absl::FormatTime("%H%M", p.now, p.zone);
  const std::string component(1, d_.component);
  const std::string sender = Pad(p.sender_id, 15), receiver = Pad(p.receiver_id, 15);
  const std::string usage(1, p.usage);
  const std::string_view elements[] = {"00",
                                       std::string_view("          "),
                                       "00",
                                       std::string_view("          "),
                                       p.sender_qualifier,
                                       sender,
                                       p.receiver_qualifier,
                                       receiver,
                                       date,
                                       time,
                                       "U",
                                       "00401",
                                       isa13_,
                                       p.ack_requested ? "1" : "0",
                                       usage,
                                       component};
  if (absl::Status s = Write("ISA", elements, 16); !s.ok()) return s;
  in_interchange_ = true;
  return absl::OkStatus();
}

absl::Status InterchangeWriter::BeginGroup(std::string_view functional_id,
                                           std::string_view application_sender,
                                           std::string_view application_receiver, int64_t control) {
  if (!in_interchange_ || in_group_) return absl::FailedPreconditionError("no interchange open");
  if (control < 1 || control > kMaxControl) {
    return absl::InvalidArgumentError(core::Cat("GS06 ", control, " out of 1..999999999"));
  }
  gs06_ = core::Cat(control);
  sets_ = 0;
  const std::string date = absl::FormatTime("%Y%m%d", params_.now, params_.zone);
  const std::string time = absl::FormatTime("%H%M", params_.now, params_.zone);
  if (absl::Status s = Add("GS", {functional_id, application_sender, application_receiver, date,
                                  time, gs06_, "X", "004010"});
      !s.ok()) {
    return s;
  }
  in_group_ = true;
  ++groups_;
  return absl::OkStatus();
}

absl::Status InterchangeWriter::BeginSet(std::string_view id, std::string_view control) {
  if (!in_group_ || in_set_) return absl::FailedPreconditionError("no group open");
  st02_ = std::string(control);
  in_set_ = true;
  segments_ = 0;
  ++sets_;
  return Add("ST", {id, control});
}

absl::Status InterchangeWriter::EndSet() {
  if (!in_set_) return absl::FailedPreconditionError("no transaction set open");
  const std::string count = core::Cat(segments_ + 1);
  absl::Status s = Add("SE", {count, st02_});
  in_set_ = false;
  return s;
}

absl::Status InterchangeWriter::EndGroup() {
  if (!in_group_ || in_set_) return absl::FailedPreconditionError("no group open");
  in_group_ = false;
  return Add("GE", {core::Cat(sets_), gs06_});
}

absl::StatusOr<std::string> InterchangeWriter::EndInterchange() {
  if (!in_interchange_ || in_group_) return absl::FailedPreconditionError("no interchange open");
  if (absl::Status s = Add("IEA", {core::Cat(groups_), isa13_}); !s.ok()) return s;
  in_interchange_ = false;
  return std::move(out_);
}

}  // namespace keelson::edi
