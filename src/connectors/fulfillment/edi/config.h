#pragma once
// Typed configuration of one EDI trading partner (a 3PL or warehouse exchanging X12 4010 files
// with Keelson) for EdiProvider. app/config parses fulfillment.edi.partners[] into it (README.md
// "Configuration"); this header does not know YAML. ValidateEdiPartnerOptions lists every problem
// with its key path, as the config loader reports them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "edi/transport/sftp_transport.h"
#include "edi/x12_reader.h"

namespace keelson::connectors::edi {

struct EdiPartnerOptions {
  // The partner's id: nodes name it as their provider "edi:<id>"; the store keys its files,
  // documents and control numbers by it. Letters, digits, '-', '_'.
  std::string id;

  // Envelopes of what Keelson sends (ISA05/06 -> ISA07/08, GS02 -> GS03). What the partner sends
  // must be addressed to Keelson's id and come from the partner's, else it is refused (TA1 R).
  std::string sender_qualifier = "ZZ";    // Keelson's ISA05
  std::string sender_id;                  // Keelson's ISA06 (1-15 characters)
  std::string receiver_qualifier = "ZZ";  // the partner's ISA07
  std::string receiver_id;                // the partner's ISA08
  std::string gs_sender;                  // GS02; default sender_id
  std::string gs_receiver;                // GS03; default receiver_id
  char usage = 'P';                       // ISA15: P production, T test
  bool ack_requested = false;             // ISA14: ask the partner for a TA1
  keelson::edi::Delimiters delimiters;    // element '*', component '>', segment '~'
  std::string line_end = "\n";            // after each segment terminator: "" or "\n"

  // Folders on the partner's side (relative to the login folder / local root, or absolute).
  std::string outbound_folder = "to_partner";           // Keelson writes 940s, 997s, TA1s here
  std::string inbound_folder = "from_partner";          // the partner writes 945s, 856s, 846s, 997s
  std::string archive_folder = "from_partner/archive";  // processed inbound files
  std::string error_folder = "from_partner/error";      // rejected / malformed inbound files
  std::string file_prefix = "keelson_";  // outbound names: <prefix><type>_<ISA13>.x12

  absl::Duration poll_interval = absl::Seconds(60);  // the inbound folder is read this often
  // A file modified more recently than this is read only once a second listing saw it unchanged.
  absl::Duration settle = absl::Seconds(2);
  // A release waits this long for others to share its interchange; then up to `max_batch`
  // 940s go in one file.
  absl::Duration batch_window = absl::Seconds(1);
  int max_batch = 500;
  int max_files_per_poll = 100;
  uint64_t max_file_bytes = 64ull << 20;
  int max_attempts = 12;  // of the edi.send / edi.poll jobs (app/ sets jobs.max_attempts)

  // 846 inventory advice: the Keelson location its levels are for. Set: each level becomes a
  // stock event (absolute on-hand) in the ledger; empty: the levels and their difference from
  // the ledger are only recorded on the partner's timeline.
  std::string inventory_location;
  // QTY01 qualifiers read as the on-hand quantity, first found wins (33 "quantity available for
  // sale", 17 "quantity on hand").
  std::vector<std::string> inventory_qualifiers = {"17", "33"};

  // Transport.
  std::string transport = "sftp";  // sftp | local
  keelson::edi::SftpOptions sftp;  // transport sftp
  std::string local_root;          // transport local: the folder the others are relative to
};

// "edi:<id>": the provider name nodes use.
std::string ProviderName(std::string_view partner_id);

// Every problem, as "<path>.<key>: <what is wrong>" (path e.g. "fulfillment.edi.partners[0]").
std::vector<std::string> ValidateEdiPartnerOptions(const EdiPartnerOptions& options,
                                                   std::string_view path);

}  // namespace keelson::connectors::edi
