#!/usr/bin/env bash
# Builds the route-language fuzz target with clang++ (libFuzzer, AddressSanitizer,
# UndefinedBehaviorSanitizer) and runs it: every regression input once, then a time-bounded
# session over the seed corpus. Any crash, sanitizer report, leak or timeout fails the script;
# the input that caused it is left in <build-dir>/fuzz/artifacts/ — fix the bug and keep the input
# in tests/fuzz/regressions/route/.
#
#   tests/fuzz/run_route_fuzz.sh [build|run|all] [build-dir]      (default: all build)
#   ROUTE_FUZZ_SECONDS=45  length of the fuzzing session
#
# The main build uses g++, so the fuzz target is compiled here, on its own, into
# <build-dir>/fuzz/; objects are rebuilt only when a source or header changed.
set -euo pipefail

mode="${1:-all}"
src="$(cd "$(dirname "$0")/../.." && pwd)"
build_root="$(mkdir -p "${2:-$src/build}" && cd "${2:-$src/build}" && pwd)"
out="$build_root/fuzz"
bin="$out/route_fuzz"
seconds="${ROUTE_FUZZ_SECONDS:-45}"
cxx="${FUZZ_CXX:-clang++}"

build() {
  if ! command -v "$cxx" >/dev/null; then
    echo "run_route_fuzz: $cxx not found; scripts/install-deps.sh installs clang" >&2
    exit 1
  fi
  mkdir -p "$out/obj"
  local absl_modules="absl_status absl_statusor absl_strings absl_str_format absl_flat_hash_map
    absl_flat_hash_set"
  # shellcheck disable=SC2086
  local cflags="-std=c++20 -O1 -g -fno-omit-frame-pointer -Wall -Wextra
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -I$src $(pkg-config --cflags $absl_modules)"
  # shellcheck disable=SC2086
  local libs="$(pkg-config --libs $absl_modules)"
  local sources=("$src"/tests/fuzz/route_fuzz.cc)
  local f
  for f in "$src"/common/route/*.cc; do
    # The proto adapter needs protobuf; the language does not.
    [[ "$f" == */proto_message.cc ]] || sources+=("$f")
  done
  local newest_header
  newest_header="$(ls -t "$src"/common/route/*.h "$src"/common/status_macros.h | head -n 1)"
  local objects=() pids=() obj
  for f in "${sources[@]}"; do
    obj="$out/obj/$(basename "${f%.cc}").o"
    objects+=("$obj")
    if [[ ! -f "$obj" || "$f" -nt "$obj" || "$newest_header" -nt "$obj" ]]; then
      # shellcheck disable=SC2086
      "$cxx" $cflags -c "$f" -o "$obj" &
      pids+=($!)
      # Two compilers at a time: the project builds on 2 cores.
      if [[ ${#pids[@]} -ge 2 ]]; then
        wait "${pids[0]}"
        pids=("${pids[@]:1}")
      fi
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  local need_link=0
  [[ -f "$bin" ]] || need_link=1
  for obj in "${objects[@]}"; do [[ "$obj" -nt "$bin" ]] && need_link=1; done
  if [[ $need_link -eq 1 ]]; then
    # shellcheck disable=SC2086
    "$cxx" -fsanitize=fuzzer,address,undefined "${objects[@]}" $libs -o "$bin"
  fi
  echo "run_route_fuzz: built $bin"
}

run() {
  if [[ ! -x "$bin" ]]; then
    echo "run_route_fuzz: $bin is missing; run '$0 build' first" >&2
    exit 1
  fi
  mkdir -p "$out/corpus" "$out/artifacts"
  local common=(-timeout=10 -rss_limit_mb=2048 -max_len=4096
    "-dict=$src/tests/fuzz/route.dict" "-artifact_prefix=$out/artifacts/")
  local found="run_route_fuzz: FAILED; the input is in $out/artifacts/ — fix the bug, then keep the
input in tests/fuzz/regressions/route/ so it runs every time"
  echo "== regressions"
  "$bin" "${common[@]}" -runs=0 "$src/tests/fuzz/regressions/route" || {
    echo "$found" >&2
    exit 1
  }
  echo "== fuzzing for ${seconds}s"
  # New inputs go to the first (scratch) directory; the seed corpus in the tree is only read.
  "$bin" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    "$out/corpus" "$src/tests/fuzz/corpus/route" "$src/tests/fuzz/regressions/route" || {
    echo "$found" >&2
    exit 1
  }
}

case "$mode" in
  build) build ;;
  run) run ;;
  all)
    build
    run
    ;;
  *)
    echo "usage: $0 [build|run|all] [build-dir]" >&2
    exit 2
    ;;
esac
