#!/usr/bin/env bash
# Runs MODEL in edgert and in ONNX Runtime on the same seeded inputs and compares outputs.
#   bench/compare_ort.sh MODEL [edgert run options, e.g. --shape x=1,3,224,224 --threads 2]
# ONNX Runtime comes from the npm package onnxruntime-node, installed once into
# $EDGERT_ORT_DIR (default .cache/ort); EDGERT=path/to/edgert picks the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
export EDGERT_ORT_DIR=${EDGERT_ORT_DIR:-$root/.cache/ort}
edgert=${EDGERT:-$root/build/edgert}
[ $# -ge 1 ] || { echo "usage: $0 MODEL [edgert run options]" >&2; exit 2; }
model=$1; shift
if [ ! -d "$EDGERT_ORT_DIR/node_modules/onnxruntime-node" ]; then
  mkdir -p "$EDGERT_ORT_DIR"
  (cd "$EDGERT_ORT_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund onnxruntime-node >/dev/null)
fi
threads=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in -t|--threads) threads=${args[$((i + 1))]} ;; esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$edgert" run "$model" --save-inputs "$work/in" --output-dir "$work/out" "$@" >/dev/null
node "$here/ort/compare.mjs" "$model" "$work/in" "$work/out" "$threads"
