#!/usr/bin/env bash
# Installs onnxruntime-node (its CPU library only) into $EDGERT_ORT_DIR once; sourced by
# the bench scripts. ONNXRUNTIME_NODE_INSTALL=skip stops its install script downloading
# GPU files, which fails without the wider internet.
if [ ! -d "$EDGERT_ORT_DIR/node_modules/onnxruntime-node" ]; then
  mkdir -p "$EDGERT_ORT_DIR"
  (cd "$EDGERT_ORT_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund onnxruntime-node >/dev/null)
fi
