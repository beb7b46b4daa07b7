#!/bin/sh
# Runs the X12 fuzzer for SECONDS (default 300) on one core, starting from the committed seeds
# in fuzz/corpus/ and keeping what it learns in build/fuzz/corpus/ (not committed). Crashes are
# written to build/fuzz/ as crash-*; turn each into a regression seed or test.
set -eu
cd "$(dirname "$0")/.."
seconds="${1:-300}"
mkdir -p build/fuzz/corpus
exec build/fuzz/x12_fuzz -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -dict=fuzz/x12.dict -artifact_prefix=build/fuzz/ -print_final_stats=1 \
  build/fuzz/corpus fuzz/corpus
