// x12_parse_load: X12 parse throughput and memory on a large file. The targets (issue 6, EDI):
// "X12 parse >= 100 MB/s on one core, memory flat on a 1 GB file".
//
// 1. Writes --size_mb of X12 to --path (default /tmp/keelson_x12_parse_load.edi): interchanges
//    of two groups each, one of 856 ship notices (S/O/P/I, 3 items each) and one of 945
//    shipping advices (2 lines each), 250 sets per group, '~' + LF terminators — what a 3PL's
//    daily batch looks like, repeated.
// 2. A warm-up pass over the first --warmup_mb only, then ru_maxrss (peak RSS so far).
// 3. Reads the whole file, single-threaded, three times:
//      tokenize   X12Reader alone (segments and elements split);
//      validate   X12Reader + X12Validator (envelopes, counts, control numbers, segment and
//                 element rules), accepted sets counted, not kept;
//      sets       ForEachTransactionSet + Parse856/Parse945 on every set (the document path).
//    Prints MB/s and segments/s of each, and ru_maxrss after each: flat memory means the peak
//    after the 1 GB passes is the peak after the warm-up.
// 4. Deletes the file unless --keep.
//
//   x12_parse_load [--size_mb 1024] [--warmup_mb 16] [--path FILE] [--keep]

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "edi/documents.h"
#include "edi/transaction_set.h"
#include "edi/x12_reader.h"
#include "edi/x12_validator.h"

namespace {

using namespace keelson::edi;

long MaxRssMb() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

std::string Pad9(int64_t n) { return absl::StrFormat("%09d", n); }

// One interchange: 250 856s and 250 945s.
std::string Interchange(int64_t n) {
  std::string out;
  out.reserve(256 * 1024);
  const std::string control = Pad9(n);
  out +=
      "ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*KEELSON        *240305*0930*U*"
      "00401*" +
      control + "*0*P*>~\n";
  int64_t set = 0;
  // 856 group.
  out += absl::StrFormat("GS*SH*ACME3PL*KEELSON*20240305*0930*%d*X*004010~\n", 2 * n);
  for (int i = 0; i < 250; ++i) {
    const std::string st = absl::StrFormat("%04d", ++set);
    const size_t start = out.size();
    int segments = 0;
    auto seg = [&](const std::string& s) {
      out += s;
      out += "~\n";
      ++segments;
    };
    seg("ST*856*" + st);
    seg(absl::StrFormat("BSN*00*SHP%d-%d*20240305*0930*0001", n, i));
    seg("HL*1**S");
    seg("TD1*CTN*3****G*7.5*LB");
    seg("TD5**2*UPSN*U*UPS GROUND");
    seg(absl::StrFormat("REF*BM*BOL%d%04d", n, i));
    seg(absl::StrFormat("REF*CN*1Z999AA1%010d", n * 1000 + i));
    seg("DTM*011*20240305");
    seg("N1*ST*Jane Doe");
    seg("N3*12 Harbour Road");
    seg("N4*Bristol**BS1 5AB*GB");
    seg("HL*2*1*O");
    seg(absl::StrFormat("PRF*main-%d-%d", n, i));
    seg("HL*3*2*P");
    seg(absl::StrFormat("MAN*GM*00012345600%09d", n * 1000 + i));
    for (int k = 0; k < 3; ++k) {
      seg(absl::StrFormat("HL*%d*3*I", 4 + k));
      seg(absl::StrFormat("LIN**SK*SKU-%05d*UP*0123456789%02d", (i * 3 + k) % 50000, k));
      seg("SN1**2*EA");
      seg("PID*F****Organic cotton tee, black, size M");
    }
    seg("CTT*6*6");
    out += absl::StrFormat("SE*%d*%s~\n", segments + 1, st);
    (void)start;
  }
  out += absl::StrFormat("GE*250*%d~\n", 2 * n);
  // 945 group.
  out += absl::StrFormat("GS*SW*ACME3PL*KEELSON*20240305*0930*%d*X*004010~\n", 2 * n + 1);
  for (int i = 0; i < 250; ++i) {
    const std::string st = absl::StrFormat("%04d", ++set);
    int segments = 0;
    auto seg = [&](const std::string& s) {
      out += s;
      out += "~\n";
      ++segments;
    };
    seg("ST*945*" + st);
    seg(absl::StrFormat("W06*F*main-%d-%d*20240305*SHP%d-%d**%d", n, i, n, i, 1000 + i));
    seg("N1*ST*Jane Doe");
    seg("N4*Bristol**BS1 5AB*GB");
    seg("W27*U*UPSN*UPS GROUND*PP");
    for (int k = 0; k < 2; ++k) {
      seg(absl::StrFormat("LX*%d", k + 1));
      seg(absl::StrFormat("W12*CC*2*2*0*EA**SK*SKU-%05d", (i * 2 + k) % 50000));
      seg(absl::StrFormat("N9*LI*%d", k + 1));
      seg(absl::StrFormat("MAN*CP*1Z999AA1%010d", n * 1000 + i));
    }
    seg("W03*4*3.2*LB");
    out += absl::StrFormat("SE*%d*%s~\n", segments + 1, st);
  }
  out += absl::StrFormat("GE*250*%d~\n", 2 * n + 1);
  out += "IEA*2*" + control + "~\n";
  return out;
}

class CountingListener : public ValidationListener {
 public:
  void OnInterchange(InterchangeVerdict v) override {
    ++interchanges;
    if (v.ack != 'A') ++rejected;
    for (const GroupVerdict& g : v.groups) {
      sets += g.received_sets;
      if (g.ack != 'A') ++rejected;
    }
  }
  void OnFileProblem(const Problem&) override { ++rejected; }
  int64_t interchanges = 0, sets = 0, rejected = 0;
};

struct Pass {
  double seconds = 0;
  int64_t segments = 0;
};

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Pass Tokenize(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  X12Reader reader(*OpenFileSource(path));
  Pass p;
  size_t elements = 0;
  for (;;) {
    absl::StatusOr<ReadEvent> ev = reader.Next();
    if (!ev.ok()) {
      std::fprintf(stderr, "read: %s\n", std::string(ev.status().message()).c_str());
      std::exit(2);
    }
    if (*ev == ReadEvent::kEnd) break;
    if (*ev == ReadEvent::kSegment) {
      ++p.segments;
      elements += reader.segment().size();
    }
  }
  p.seconds = Seconds(start);
  if (elements == 0) std::exit(3);
  return p;
}

Pass ValidateFile(const std::string& path, CountingListener* listener) {
  const auto start = std::chrono::steady_clock::now();
  X12Reader reader(*OpenFileSource(path));
  X12Validator validator(listener, {.retain_accepted_sets = false});
  if (!Validate(reader, validator).ok()) std::exit(2);
  Pass p;
  p.seconds = Seconds(start);
  return p;
}

Pass Documents(const std::string& path, int64_t* items, int64_t* errors) {
  const auto start = std::chrono::steady_clock::now();
  X12Reader reader(*OpenFileSource(path));
  Pass p;
  absl::Status s = ForEachTransactionSet(reader, [&](const TransactionSet& set) {
    p.segments += static_cast<int64_t>(set.segments.size());
    if (set.id == "856") {
      absl::StatusOr<ShipNotice> n = Parse856(set);
      if (n.ok()) {
        *items += static_cast<int64_t>(n->items.size());
      } else {
        ++*errors;
      }
    } else if (set.id == "945") {
      absl::StatusOr<ShippingAdvice> a = Parse945(set);
      if (a.ok()) {
        *items += static_cast<int64_t>(a->lines.size());
      } else {
        ++*errors;
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) std::exit(2);
  p.seconds = Seconds(start);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t size_mb = 1024, warmup_mb = 16;
  std::string path = "/tmp/keelson_x12_parse_load.edi";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--size_mb") {
      size_mb = std::atoll(next().c_str());
    } else if (a == "--warmup_mb") {
      warmup_mb = std::atoll(next().c_str());
    } else if (a == "--path") {
      path = next();
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr,
                   "usage: x12_parse_load [--size_mb 1024] [--warmup_mb 16] [--path FILE] "
                   "[--keep]\n");
      return 1;
    }
  }
  const long rss_start = MaxRssMb();

  // 1. The file, and a small one of the same shape for the warm-up.
  const std::string warm_path = path + ".warmup";
  auto write = [](const std::string& p, int64_t mb, int64_t* written) {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (f == nullptr) {
      std::perror(p.c_str());
      std::exit(2);
    }
    int64_t n = 0;
    *written = 0;
    while (*written < mb * 1024 * 1024) {
      const std::string ic = Interchange(++n);
      std::fwrite(ic.data(), 1, ic.size(), f);
      *written += static_cast<int64_t>(ic.size());
    }
    std::fclose(f);
    return n;
  };
  int64_t bytes = 0, warm_bytes = 0;
  const auto gen = std::chrono::steady_clock::now();
  const int64_t interchanges = write(path, size_mb, &bytes);
  write(warm_path, warmup_mb, &warm_bytes);
  std::printf("file: %s, %.1f MB, %lld interchanges, %lld sets (written in %.1f s)\n", path.c_str(),
              bytes / 1e6, static_cast<long long>(interchanges),
              static_cast<long long>(interchanges * 500), Seconds(gen));

  // 2. Warm-up.
  {
    CountingListener l;
    Tokenize(warm_path);
    ValidateFile(warm_path, &l);
    int64_t items = 0, errors = 0;
    Documents(warm_path, &items, &errors);
  }
  const long rss_warm = MaxRssMb();
  std::printf("peak RSS: %ld MB at start, %ld MB after the %.1f MB warm-up\n", rss_start, rss_warm,
              warm_bytes / 1e6);

  // 3. The passes.
  const double mb = bytes / 1e6;
  Pass t = Tokenize(path);
  std::printf("tokenize: %7.1f MB/s  %6.2f M segments/s  (%.2f s)  peak RSS %ld MB\n",
              mb / t.seconds, t.segments / t.seconds / 1e6, t.seconds, MaxRssMb());
  CountingListener l;
  Pass v = ValidateFile(path, &l);
  std::printf(
      "validate: %7.1f MB/s  %6.2f M segments/s  (%.2f s)  peak RSS %ld MB  "
      "[%lld interchanges, %lld sets, %lld not accepted]\n",
      mb / v.seconds, t.segments / v.seconds / 1e6, v.seconds, MaxRssMb(),
      static_cast<long long>(l.interchanges), static_cast<long long>(l.sets),
      static_cast<long long>(l.rejected));
  int64_t items = 0, errors = 0;
  Pass d = Documents(path, &items, &errors);
  std::printf(
      "sets+documents: %7.1f MB/s  (%.2f s)  peak RSS %ld MB  [%lld items/lines, %lld "
      "parse errors]\n",
      mb / d.seconds, d.seconds, MaxRssMb(), static_cast<long long>(items),
      static_cast<long long>(errors));
  std::printf("memory flat: %s (peak %ld MB after the warm-up, %ld MB after %.0f MB)\n",
              MaxRssMb() <= rss_warm + 8 ? "yes" : "NO", rss_warm, MaxRssMb(), mb);

  std::remove(warm_path.c_str());
  if (!keep) std::remove(path.c_str());
  return l.rejected == 0 && errors == 0 ? 0 : 1;
}
