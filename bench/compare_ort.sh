#!/usr/bin/env bash
# Runs MODEL in edgert and in ONNX Runtime on the same seeded inputs, compares every
# output, and with RUNS=N also times both (medians, ratio, peak RSS of each process).
#   bench/compare_ort.sh MODEL [edgert run options, e.g. --shape x=1,3,224,224 --threads 2]
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
if [ -x "$ort_bench" ] && [ -n "$lib" ]; then
  "$ort_bench" "$lib" "$model" "$work/in" "$work/out" --threads "$threads" --runs "$((runs > 0 ? runs : 1))"
else
  EDGERT_ORT_RUNS=$runs node "$here/ort/compare.mjs" "$model" "$work/in" "$work/out" "$threads"
fi
if [ "$runs" -gt 0 ]; then
  "$edgert" bench "$model" "${edgert_args[@]}" --runs "$runs" --json |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
      console.log(`edgert: load ${(j.load_ms.import+j.load_ms.compile).toFixed(1)} ms, median ${j.latency_ms.median.toFixed(3)} ms, min ${j.latency_ms.min.toFixed(3)} ms over ${j.runs} runs, ${j.threads} threads, peak RSS ${j.peak_rss_mb.overall.toFixed(1)} MiB`)})'
fi
