#include "connectors/fulfillment/edi/config.h"

#include "absl/strings/ascii.h"
#include "core/strings.h"

namespace keelson::connectors::edi {

using core::Cat;

std::string ProviderName(std::string_view partner_id) { return Cat("edi:", partner_id); }

std::vector<std::string> ValidateEdiPartnerOptions(const EdiPartnerOptions& o,
                                                   std::string_view path) {
  std::vector<std::string> errors;
  auto bad = [&](std::string_view key, std::string_view what) {
    errors.push_back(Cat(path, ".", key, ": ", what));
  };
  if (o.id.empty()) {
    bad("id", "required");
  } else {
    for (char c : o.id) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
        bad("id", "only letters, digits, '-' and '_'");
        break;
      }
    }
  }
  auto isa_id = [&](std::string_view key, const std::string& v, bool required) {
    if (v.empty()) {
      if (required) bad(key, "required");
      return;
    }
    if (v.size() > 15) bad(key, "at most 15 characters (ISA06/ISA08)");
  };
  isa_id("isa.sender_id", o.sender_id, true);
  isa_id("isa.receiver_id", o.receiver_id, true);
  if (o.sender_qualifier.size() != 2) bad("isa.sender_qualifier", "two characters (ISA05)");
  if (o.receiver_qualifier.size() != 2) bad("isa.receiver_qualifier", "two characters (ISA07)");
  if (o.gs_sender.size() > 15) bad("gs.sender", "at most 15 characters (GS02)");
  if (o.gs_receiver.size() > 15) bad("gs.receiver", "at most 15 characters (GS03)");
  if (o.usage != 'P' && o.usage != 'T') bad("isa.usage", "P or T");
  const auto& d = o.delimiters;
  if (d.element == d.component || d.segment.empty() || d.segment.size() > 4 ||
      d.segment.find(d.element) != std::string::npos ||
      d.segment.find(d.component) != std::string::npos ||
      absl::ascii_isalnum(static_cast<unsigned char>(d.element)) ||
      absl::ascii_isalnum(static_cast<unsigned char>(d.component))) {
    bad("delimiters",
        "element, component and segment delimiters must differ and not be letters "
        "or digits");
  }
  if (o.line_end != "" && o.line_end != "\n" && o.line_end != "\r\n") {
    bad("delimiters.line_end", "none, lf or crlf");
  }
  if (o.outbound_folder.empty()) bad("folders.outbound", "required");
  if (o.inbound_folder.empty()) bad("folders.inbound", "required");
  if (o.archive_folder.empty()) bad("folders.archive", "required");
  if (o.error_folder.empty()) bad("folders.error", "required");
  if (!o.inbound_folder.empty() &&
      (o.inbound_folder == o.outbound_folder || o.archive_folder == o.inbound_folder ||
       o.error_folder == o.inbound_folder)) {
    bad("folders", "inbound must differ from outbound, archive and error");
  }
  if (o.poll_interval <= absl::ZeroDuration()) bad("poll_interval_ms", "must be > 0");
  if (o.settle < absl::ZeroDuration()) bad("settle_ms", "must be >= 0");
  if (o.batch_window < absl::ZeroDuration()) bad("batch_window_ms", "must be >= 0");
  if (o.max_batch <= 0 || o.max_batch > 9999)
    bad("max_batch", "must be 1..9999 (ST02 is 4 digits)");
  if (o.max_files_per_poll <= 0) bad("max_files_per_poll", "must be > 0");
  if (o.max_file_bytes == 0) bad("max_file_bytes", "must be > 0");
  if (o.inventory_qualifiers.empty()) bad("inventory.qualifiers", "at least one QTY01 code");
  if (o.transport == "sftp") {
    for (std::string& e : keelson::edi::ValidateSftpOptions(o.sftp, Cat(path, ".sftp"))) {
      errors.push_back(std::move(e));
    }
  } else if (o.transport == "local") {
    if (o.local_root.empty()) bad("local.root", "required for transport local");
  } else {
    bad("transport", "must be one of sftp, local");
  }
  return errors;
}

}  // namespace keelson::connectors::edi
