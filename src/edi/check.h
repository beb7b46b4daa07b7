#pragma once
// `keelson edi check FILE`: validate a trading partner's X12 file before go-live.
//
// Prints, per interchange, group and transaction set, the verdict (accepted, or each error with
// its X12 code, the segment's ordinal and its byte offset), the tolerances applied (BOM, CR/LF,
// unpadded ISA, ...), then the 997 and/or TA1 Keelson would send back for each interchange.
//
// Exit codes (the CLI's convention: 0 ok, 1 user error, 2 runtime failure):
//   0  everything accepted: every interchange TA1 A, every group AK9 A, no bytes outside
//      interchanges;
//   1  anything else: a rejected set, a partially accepted group (AK9 P: the partner must fix
//      and resend the rejected sets), an interchange accepted with errors (TA1 E), an
//      unreadable ISA, a file that is not X12 or has no interchange;
//   2  the file cannot be read (missing, unreadable, an I/O error).
// Thread-safe (no shared state).

#include <ostream>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace keelson::edi {

struct CheckOptions {
  absl::Time now = absl::Now();  // dates of the response envelopes
  bool show_response = true;
};

int RunCheck(const std::string& path, std::ostream& out, std::ostream& err,
             const CheckOptions& options = {});

}  // namespace keelson::edi
