#!/bin/sh
# Builds the libFuzzer target fuzz/x12_fuzz.cc with clang (the default build uses g++, so this
# is not part of it). Needs clang++ and libclang-rt-14-dev (deps/debian-packages.txt).
# Output: build/fuzz/x12_fuzz.
set -eu
cd "$(dirname "$0")/.."
out="${OUT:-build/fuzz}"
mkdir -p "$out"
sources=$(ls src/edi/*.cc | grep -v '_test\.cc$')
# shellcheck disable=SC2046
${CXX:-clang++} -std=c++20 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Isrc $sources fuzz/x12_fuzz.cc -o "$out/x12_fuzz" \
  $(pkg-config --libs absl_status absl_statusor absl_strings absl_str_format absl_time \
    absl_civil_time absl_flat_hash_map absl_synchronization)
echo "built $out/x12_fuzz"
