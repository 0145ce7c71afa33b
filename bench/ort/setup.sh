#!/usr/bin/env bash
# Shared prologue of the bench scripts that run a model in edgert and in ONNX Runtime;
# sourced with the script's arguments (MODEL [edgert run options]) after `here` and `root`
# are set. Installs onnxruntime-node (its CPU library only) into $EDGERT_ORT_DIR once
# (ONNXRUNTIME_NODE_INSTALL=skip stops its install script downloading GPU files, which fails
# without the wider internet), picks up --threads, and runs edgert once on seeded inputs,
# saving them to $work/in and its outputs to $work/out; $work goes when the script exits.
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
edgert_args=("$@")
