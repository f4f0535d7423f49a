#!/usr/bin/env bash
# Builds one libFuzzer target (FUZZ_TARGET, default line_protocol) with clang (ASan + UBSan, every finding fatal) and
# runs it for a bounded time. Exits non-zero on any crash, leak, timeout or sanitizer report;
# the input that caused it is left in <build_dir>/artifacts/.
#
#   tests/fuzz/run_fuzz.sh [build_dir]     # default build/fuzz under the repository root
#   FUZZ_SECONDS=600 tests/fuzz/run_fuzz.sh
#   <build_dir>/line_protocol_fuzz <build_dir>/artifacts/crash-...   # replay one finding
#
# Environment: FUZZ_SECONDS (default 60), FUZZ_CXX (default clang++; gcc has no libFuzzer).
# The working corpus (<build_dir>/corpus/line_protocol) starts from the seeds in
# tests/fuzz/corpus/line_protocol and keeps what libFuzzer discovers between runs.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build/fuzz}"
seconds="${FUZZ_SECONDS:-60}"
cxx="${FUZZ_CXX:-clang++}"
target="${FUZZ_TARGET:-line_protocol}"

mkdir -p "$build/artifacts" "$build/corpus/$target"
build="$(cd "$build" && pwd)"
corpus="$build/corpus/$target"

extra=()
# Each parser builds from its own sources (header-only nlohmann_json where needed).
case "$target" in
  line_protocol)
    sources=(
      "$repo/protocol/line_protocol.cc"
      "$repo/protocol/line_protocol_error.cc"
      "$repo/protocol/line_protocol_scanner.cc"
      "$repo/protocol/line_protocol_values.cc"
    ) ;;
  stream_messages)
    sources=("$repo/protocol/stream_requests.cc" "$repo/protocol/json_text.cc") ;;
  query_string)
    # query_string.cc formats times with fmt: header-only here, as nothing else links it.
    sources=("$repo/protocol/query_string.cc")
    extra=(-DFMT_HEADER_ONLY) ;;
  influxql)
    sources=("$repo/protocol/influxql.cc" "$repo/protocol/query_string.cc")
    extra=(-DFMT_HEADER_ONLY) ;;
  json_text)
    sources=("$repo/protocol/json_text.cc") ;;
  line_reassembly)
    sources=() ;;  # header-only
  *) echo "run_fuzz: unknown target $target" >&2; exit 2 ;;
esac
sources+=("$repo/tests/fuzz/${target}_fuzz.cc")
dict=()
[ -f "$repo/tests/fuzz/${target}.dict" ] && dict=(-dict="$repo/tests/fuzz/${target}.dict")
echo "run_fuzz: building $build/${target}_fuzz with $cxx"
"$cxx" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  "${extra[@]}" -I"$repo" "${sources[@]}" -o "$build/${target}_fuzz"

if [ -d "$repo/tests/fuzz/corpus/$target" ]; then
  cp -f "$repo/tests/fuzz/corpus/$target/"* "$corpus/"
fi

echo "run_fuzz: fuzzing $target for ${seconds}s (corpus $corpus)"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
# -max_len: real lines are ~100 bytes; 4 KiB allows many lines per input while keeping each
# execution fast. -timeout: a single input taking 10 s is a hang worth reporting.
"$build/${target}_fuzz" \
  -max_total_time="$seconds" \
  -max_len=4096 \
  -timeout=10 \
  -rss_limit_mb=2048 \
  "${dict[@]}" \
  -artifact_prefix="$build/artifacts/" \
  -print_final_stats=1 \
  "$corpus"
echo "run_fuzz: $target clean after ${seconds}s"
