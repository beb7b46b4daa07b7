#pragma once
// An in-process simulator of a 3PL warehouse that trades X12 4010 over files, for tests, benches
// and the demo (`keelson sim edi-warehouse`). It watches its inbound folder (Keelson's outbound)
// over any edi::FileTransport — SFTP or a local directory — and for every settled file:
//   - validates it (edi/x12_validator.h) and answers with the 997 (and TA1 where the verdict
//     says) Keelson's own code would send, from the warehouse's own control numbers;
//   - for each accepted 940 (W05 order id, W01 lines with their N9*LI line ids) writes a 945
//     shipping every line in full: W06 F <order id> <date> <shipment id>, N9*2I tracking,
//     W27 carrier, per line LX / W12 CC ordered shipped 0 EA SK <sku> / N9*LI <line id>, W03 —
//     all 945s of one input file in one interchange (group SW);
//   - takes Keelson's 997s about its 945s and counts them;
//   - moves the file into its done folder.
// Configurable misbehaviour, counted over the 940s in the order they are read (every Nth; 0 =
// never): `short_every` ships one unit less on the first line of more than one unit (W12 CP with
// the difference), `split_every` ships the lines in two 945s (two shipment ids), `reject_every`
// rejects the 940 in the 997 (AK5 R 5, AK3 W01 8 / AK4 W0101 7) and ships nothing for it.
// Responses are written "name.tmp" then renamed, like any careful partner.
//
// Thread-safety: Start/Stop/PollOnce/accessors from any thread (PollOnce runs one poll at a
// time). Ownership: borrows the transport, which must outlive the simulator.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "edi/transport/file_transport.h"
#include "edi/x12_reader.h"

namespace keelson::sim {

class EdiWarehouseSim {
 public:
  struct Options {
    std::string inbound_folder = "to_partner";  // Keelson's outbound folder
    std::string done_folder = "to_partner/done";
    std::string outbound_folder = "from_partner";  // Keelson's inbound folder
    std::string file_prefix = "acme_";
    // The warehouse's ISA ids (what it sends from), and Keelson's (what it sends to).
    std::string qualifier = "ZZ";
    std::string id = "ACME3PL";
    std::string keelson_qualifier = "ZZ";
    std::string keelson_id = "KEELSON";
    keelson::edi::Delimiters delimiters;
    std::string line_end = "\n";
    absl::Duration poll_interval = absl::Milliseconds(200);
    absl::Duration settle = absl::ZeroDuration();
    std::string carrier_scac = "UPSN";
    int short_every = 0;
    int split_every = 0;
    int reject_every = 0;
    bool send_945 = true;
  };

  struct Stats {
    int64_t files_read = 0;
    int64_t interchanges = 0;
    int64_t orders_received = 0;  // 940s read
    int64_t orders_rejected = 0;  // 940s rejected in the 997 (reject_every)
    int64_t files_997 = 0;        // response files written (997 / TA1)
    int64_t files_945 = 0;
    int64_t shipments = 0;      // 945 transaction sets written
    int64_t acks_received = 0;  // Keelson's 997 groups about the 945s
    int64_t acks_rejected = 0;  // ... that did not accept everything
    int64_t poll_errors = 0;
  };

  struct Line {
    std::string sku;
    int64_t quantity = 0;
    std::string line_id;
  };
  struct Order {
    std::string order_id;  // W0502
    std::string purchase_order;
    std::string ship_to;
    std::vector<Line> lines;
    int times = 0;  // how often it was received
  };

  EdiWarehouseSim(keelson::edi::FileTransport* transport, Options options);
  ~EdiWarehouseSim();

  // Polls every options.poll_interval on a thread of its own (errors are counted and logged).
  void Start();
  void Stop();
  // One poll: reads every settled file and answers it. Returns how many files it handled.
  absl::StatusOr<int> PollOnce();

  Stats stats() const;
  std::vector<Order> orders() const;  // by order id
  const Options& options() const { return o_; }

 private:
  absl::Status Handle(const std::string& name, const std::string& content);
  absl::Status Write(const std::string& name, const std::string& content);
  int64_t NextInterchange();
  int64_t NextGroup();

  keelson::edi::FileTransport* t_;
  const Options o_;
  mutable std::mutex mu_;  // stats, orders, counters
  std::mutex poll_mu_;     // one poll at a time
  keelson::edi::SettleTracker settle_;
  Stats stats_;
  std::map<std::string, Order> orders_;
  int64_t isa13_ = 0, gs06_ = 0, shipment_seq_ = 0, order_seq_ = 0;
  std::thread thread_;
  absl::Notification stop_;
  bool started_ = false;
};

}  // namespace keelson::sim
