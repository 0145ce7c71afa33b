#!/usr/bin/env bash
# Layer by layer: MODEL's nodes timed in edgert (`edgert bench --profile`) and in ONNX
# Runtime (its profiler, through onnxruntime-node) on the same seeded inputs, matched by op
# type and execution order; prints every matched node and totals per class of layer
# (1x1, depthwise, other convolutions, other op types), largest gap first.
#   bench/compare_layers.sh MODEL [edgert run options, e.g. --threads 2 --shape x=1,3,224,224]
# The two take turns ROUNDS times (default 3), RUNS timed runs each (default 20); a node's
# time is the median over rounds of its median run, so a shared machine's slow phases and
# spikes move it little. ORT comes from $EDGERT_ORT_DIR as in
# compare_ort.sh; EDGERT=path/to/edgert picks the binary. Profiled times include each
# runtime's profiling overhead, so compare ratios, not sums with compare_ort.sh's medians.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${RUNS:-20}
rounds=${ROUNDS:-3}
. "$here/ort/setup.sh"
node "$here/ort/layers.mjs" "$model" "$work/in" "$threads" "$runs" "$rounds" -- \
  "$edgert" bench "$model" "${edgert_args[@]}" --runs "$runs" --profile --json
