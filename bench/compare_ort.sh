#!/usr/bin/env bash
# Runs MODEL in edgert and in ONNX Runtime on the same seeded inputs, compares every
# output, and with RUNS=N also times both (medians, ratio, peak RSS of each process).
#   bench/compare_ort.sh MODEL [edgert run options, e.g. --shape x=1,3,224,224 --threads 2]
# ROUNDS=K (with RUNS) times the two K times, alternating ORT and edgert, and ends with a
# summary: each round's ratio of medians, the median of those ratios and the medians and
# minimums over the rounds. On a shared machine bursts from other tenants hit one runtime's
# runs and not the other's; alternating rounds and taking medians keeps a burst out of the
# ratio. PAIRED=N (C API only) adds N pairs of runs timed in one process, one run of each
# runtime per pair in random order, and prints the median of the per-pair ratios: the figure
# that holds best on a host whose speed swings within seconds.
# ONNX Runtime comes from the npm package onnxruntime-node, installed once into
# $EDGERT_ORT_DIR (default .cache/ort). With build/bench/ort_bench present, ORT runs through
# its C API (no binding copies); otherwise through Node (outputs compared, timing includes
# the binding's copies). EDGERT=path/to/edgert picks the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ort_bench=${ORT_BENCH:-$root/build/bench/ort_bench}
runs=${RUNS:-${EDGERT_ORT_RUNS:-0}}
. "$here/ort/setup.sh"
lib=$(ls "$EDGERT_ORT_DIR"/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so.1 2>/dev/null | head -1)
rounds=${ROUNDS:-1}
[ "$runs" -gt 0 ] || rounds=1
for ((round = 1; round <= rounds; round++)); do
  if [ -x "$ort_bench" ] && [ -n "$lib" ]; then
    "$ort_bench" "$lib" "$model" "$work/in" "$work/out" --threads "$threads" --runs "$((runs > 0 ? runs : 1))" \
      --paired "${PAIRED:-0}"
  else
    EDGERT_ORT_RUNS=$runs node "$here/ort/compare.mjs" "$model" "$work/in" "$work/out" "$threads"
  fi
  if [ "$runs" -gt 0 ]; then
    "$edgert" bench "$model" "${edgert_args[@]}" --runs "$runs" --json |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
        console.log(`edgert: load ${(j.load_ms.import+j.load_ms.compile).toFixed(1)} ms, median ${j.latency_ms.median.toFixed(3)} ms, min ${j.latency_ms.min.toFixed(3)} ms over ${j.runs} runs, ${j.threads} threads, peak RSS ${j.peak_rss_mb.overall.toFixed(1)} MiB`)})'
  fi
done | tee "$work/rounds.txt"
[ "$rounds" -gt 1 ] || exit 0
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
const pick = (who) => lines.filter((l) => l.startsWith(who)).map((l) => ({
  median: +/median ([0-9.]+) ms/.exec(l)[1], min: +/min ([0-9.]+) ms/.exec(l)[1]}));
const ort = pick("ort "), ert = pick("edgert:");
if (ort.length !== ert.length || ort.length === 0) { console.error("compare_ort: rounds did not all finish"); process.exit(1); }
const med = (v) => { const s = [...v].sort((a, b) => a - b), n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const ratios = ert.map((e, i) => e.median / ort[i].median);
const em = med(ert.map((e) => e.median)), om = med(ort.map((o) => o.median));
const emin = Math.min(...ert.map((e) => e.min)), omin = Math.min(...ort.map((o) => o.min));
console.log(`rounds: ${ratios.length}; edgert / ORT per round: ${ratios.map((r) => r.toFixed(2)).join(" ")}`);
console.log(`summary: median ratio ${med(ratios).toFixed(3)}; medians of medians edgert ${em.toFixed(3)} ms, ORT ${om.toFixed(3)} ms (${(em / om).toFixed(3)}); minimums edgert ${emin.toFixed(3)} ms, ORT ${omin.toFixed(3)} ms (${(emin / omin).toFixed(3)})`);
' "$work/rounds.txt"
