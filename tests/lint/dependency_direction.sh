#!/usr/bin/env bash
# runtime/ and simd/ must not include protobuf or onnx/ headers (they would still compile,
# since protobuf's headers sit in /usr/include), and simd/ must not include runtime headers.
set -u
root=$1
bad=$(grep -rnE '#include *[<"](google/protobuf|onnx/|onnx\.pb\.h|edgert/onnx/)' "$root/runtime" "$root/simd" 2>/dev/null)
bad+=$(grep -rnE '#include *[<"]edgert/(graph|session|tensor|error)\.h' "$root/simd" 2>/dev/null)
if [ -n "$bad" ]; then
  echo "dependency direction violated:"
  echo "$bad"
  exit 1
fi
echo "dependency direction: ok"
