#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan + UBSan, everything instrumented), seeds them
# with the zoo's small models and every model of the ONNX backend suite, and runs each for a
# fixed number of inputs from a fixed seed (so a CI run repeats a prefix of the runs made here
# before landing), capped in time. Any crash, leak, timeout or sanitizer report fails the
# script and leaves the reproducer in WORK_DIR/findings_<harness>.
#   tests/fuzz/run.sh [WORK_DIR]
# Environment: EDGERT (an edgert CLI, to add the zoo's small models to the seeds and compile only its tier),
#   FUZZERS (default "fuzz_load fuzz_fold"), FUZZ_SEED (1), FUZZ_RUNS_fuzz_load (1000000),
#   FUZZ_RUNS_fuzz_fold (1500000), FUZZ_MAX_SECONDS (240 per harness).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(realpath -m "${1:-build-fuzz}")
testdata=${EDGERT_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
# With EDGERT given, only the kernel tier it runs on this machine is compiled (the harnesses
# run the same one, as `edgert --version` reports it): the instrumented tier units are most
# of the build's time. Otherwise every tier.
tiers="sse2;avx2;avx512"
if [ -n "${EDGERT:-}" ]; then
  t=$("$EDGERT" --version | awk '$1 == "kernels:" { print $2 }')
  case "$t" in sse2 | avx2 | avx512) tiers=$t ;; esac
fi
# Everything at -O1, the kernel units too (EDGERT_KERNEL_FLAGS comes after their -O3): on
# the AVX2 tier the build took 135 s instead of 180 (CPU 258 s instead of 331; elementwise.cpp
# 104 s instead of 151, avx2.cpp 81 instead of 122), and in 40 s from the same seeds fuzz_load
# ran 248k inputs instead of 288k and fuzz_fold 304k instead of 307k, reaching more coverage
# (12444 and 6178 edges against 11938 and 5780: less inlining, more edges).
CC=clang CXX=clang++ cmake -S . -B "$work" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGERT_FUZZ=ON \
  -DEDGERT_X86_ISAS="$tiers" -DEDGERT_KERNEL_FLAGS=-O1 \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DEDGERT_BUILD_TESTS=OFF -DEDGERT_BUILD_BENCH=OFF -DEDGERT_BUILD_TOOLS=OFF >/dev/null
cmake --build "$work" --target fuzz_load fuzz_fold

seeds=$work/seeds
rm -rf "$seeds" && mkdir -p "$seeds"
find "$testdata" -name model.onnx | sort | while read -r f; do
  cp "$f" "$seeds/$(echo "$f" | md5sum | cut -c1-16).onnx"
done
if [ -n "${EDGERT:-}" ]; then
  for m in tiny_cnn tiny_densenet tiny_dynamic; do "$EDGERT" zoo "$m" -o "$seeds/zoo_$m.onnx" >/dev/null; done
fi
echo "seeds: $(ls "$seeds" | wc -l) models"

# The harnesses run side by side, each on one core (libFuzzer runs one process): on two
# cores CI's two 60-second runs took 60 s instead of 120. Each one's report is printed
# whole, in order, when all have finished.
fuzz_one() {
  local f=$1 runs_var=FUZZ_RUNS_$1 default_runs=1000000
  [ "$f" = fuzz_fold ] && default_runs=1500000
  local runs=${!runs_var:-$default_runs} corpus=$work/corpus_$f findings=$work/findings_$f status=0
  rm -rf "$corpus" "$findings" && mkdir -p "$corpus" "$findings"
  echo "== $f: $runs inputs, seed ${FUZZ_SEED:-1}"
  local start=$(date +%s)
  if ! (cd "$findings" &&
        ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$work/$f" -seed="${FUZZ_SEED:-1}" -runs="$runs" -max_total_time="${FUZZ_MAX_SECONDS:-240}" -timeout=10 \
          -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 "$corpus" "$seeds" > log.txt 2>&1); then
    status=1
    grep -E "ERROR|runtime error|SUMMARY|Test unit written|internal error|folded form" "$findings/log.txt" | head -n 20 || true
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|^stat::peak_rss_mb" "$findings/log.txt" || true
  echo "   $(( $(date +%s) - start ))s"
  if ls "$findings"/crash-* "$findings"/leak-* "$findings"/timeout-* "$findings"/oom-* >/dev/null 2>&1; then
    echo "FAIL: $f found inputs that break it:"; ls "$findings"
    status=1
  fi
  return $status
}
pids=() names=()
for f in ${FUZZERS:-fuzz_load fuzz_fold}; do
  fuzz_one "$f" > "$work/report_$f.txt" 2>&1 &
  pids+=($!) names+=("$f")
done
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || status=1
  cat "$work/report_${names[$i]}.txt"
done
exit $status
