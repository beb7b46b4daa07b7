// libFuzzer target: any bytes through the whole X12 path (edi::testing::Exercise): ISA header
// parsing, the streaming reader with small buffers (refills and truncation everywhere), the
// validator, the same verdict when the bytes trickle in, the 997/TA1 response (which must read
// back as one readable interchange), the transaction-set reader, the document mappings and the
// 997 parser. Crashes, sanitizer reports and broken invariants abort.
// Build and run: fuzz/build.sh, then fuzz/run.sh (see fuzz/README.md).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "edi/test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem =
      keelson::edi::testing::Exercise(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "invariant broken: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
