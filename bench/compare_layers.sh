#!/usr/bin/env bash
# Layer by layer: MODEL's nodes timed in edgert (`edgert bench --profile`) and in ONNX
# Runtime (its profiler, through onnxruntime-node) on the same seeded inputs, matched by op
# type and execution order; prints every matched node and totals per class of layer
# (1x1, depthwise, other convolutions, other op types), largest gap first.
#   bench/compare_layers.sh MODEL [edgert run options, e.g. --threads 2 --shape x=1,3,224,224]
# RUNS=N sets the timed runs of each (default 20). ORT comes from $EDGERT_ORT_DIR as in
# compare_ort.sh; EDGERT=path/to/edgert picks the binary. Profiled times include each
# runtime's profiling overhead, so compare ratios, not sums with compare_ort.sh's medians.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${RUNS:-20}
. "$here/ort/setup.sh"
"$edgert" bench "$model" "${edgert_args[@]}" --runs "$runs" --profile --json >"$work/edgert.json"
node "$here/ort/layers.mjs" "$model" "$work/in" "$threads" "$runs" "$work/edgert.json"
