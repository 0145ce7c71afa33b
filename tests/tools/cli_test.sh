#!/usr/bin/env bash
# End-to-end checks of the edgert program: every subcommand, the zoo through onnx::checker,
# and every kind of bad input (clear message, the documented exit status, no partial files).
#   cli_test.sh EDGERT [ONNX_CHECK]
set -u
edgert=$1
check=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
testdata=/usr/share/libonnx-testdata/data
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# expect STATUS PATTERN -- command...: exit status and a stderr/stdout fragment.
expect() {
  local want=$1 pattern=$2
  shift 3
  local out status
  out=$("$@" 2>&1)
  status=$?
  if [ "$status" -ne "$want" ]; then
    bad "'$*' exited $status, expected $want: $out"
  elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" <<<"$out"; then
    bad "'$*' output lacks '$pattern': $out"
  else
    ok
  fi
}

# --- help, version, usage ---
expect 0 "edgert" -- "$edgert" --help
expect 0 "kernels:" -- "$edgert" --version
for sub in run bench inspect zoo; do expect 0 "Usage" -- "$edgert" $sub --help; done
expect 2 "" -- "$edgert"
expect 2 "" -- "$edgert" frobnicate
expect 2 "model is required" -- "$edgert" run

# --- zoo ---
expect 0 "resnet50" -- "$edgert" zoo list
for m in tiny_cnn tiny_densenet tiny_dynamic resnet50 mobilenetv2 densenet121 efficientnet_b0; do
  expect 0 "wrote" -- "$edgert" zoo $m -o "$work/$m.onnx"
done
if [ -n "$check" ]; then
  for m in tiny_cnn tiny_densenet tiny_dynamic resnet50 mobilenetv2 densenet121 efficientnet_b0; do
    expect 0 ": ok" -- "$check" "$work/$m.onnx"
  done
fi
cp "$work/tiny_cnn.onnx" "$work/keep.onnx"
expect 2 "pass --force" -- "$edgert" zoo tiny_cnn -o "$work/keep.onnx" --seed 5
cmp -s "$work/tiny_cnn.onnx" "$work/keep.onnx" && ok || bad "zoo overwrote a file without --force"
expect 0 "wrote" -- "$edgert" zoo tiny_cnn -o "$work/keep.onnx" --seed 5 --force
expect 2 "unknown zoo model" -- "$edgert" zoo resnet51 -o "$work/x.onnx"

# --- run ---
expect 0 "output logits: float32 [1,10]" -- "$edgert" run "$work/tiny_cnn.onnx"
expect 0 "output logits: float32 [1,1000]" -- "$edgert" run "$work/resnet50.onnx" --threads 2
expect 0 "output probs: float32 [3,5]" -- "$edgert" run "$work/tiny_dynamic.onnx" --shape input=3,3,40,24
expect 0 "wrote" -- "$edgert" run "$work/tiny_cnn.onnx" --save-inputs "$work/in" --output-dir "$work/out1" --seed 7
[ -f "$work/in/input.npy" ] && [ -f "$work/out1/logits.npy" ] && ok || bad "run did not write input.npy and logits.npy"
ls "$work/out1" | grep -q tmp && bad "temporary files left in the output folder" || ok
expect 0 "wrote" -- "$edgert" run "$work/tiny_cnn.onnx" --input input="$work/in/input.npy" --output-dir "$work/out2"
cmp -s "$work/out1/logits.npy" "$work/out2/logits.npy" && ok || bad "the same .npy input gave different outputs"
expect 0 "wrote" -- "$edgert" run "$work/tiny_cnn.onnx" --no-fold --isa scalar --input input="$work/in/input.npy" --output-dir "$work/out3"
if [ -d "$testdata/node/test_relu" ]; then
  expect 0 "output y: float32 [3,4,5]" -- "$edgert" run "$testdata/node/test_relu/model.onnx" \
    --input x="$testdata/node/test_relu/test_data_set_0/input_0.pb"
fi

# --- inspect and bench ---
expect 0 "BatchNormalization" -- "$edgert" inspect "$work/resnet50.onnx"
expect 0 '"parameters"' -- "$edgert" inspect "$work/densenet121.onnx" --json
expect 0 "[N,3,H,W]" -- "$edgert" inspect "$work/tiny_dynamic.onnx"
expect 0 "median" -- "$edgert" bench "$work/tiny_cnn.onnx" --runs 5 --warmup 1
expect 0 "by operator type" -- "$edgert" bench "$work/tiny_densenet.onnx" --runs 3 --profile
expect 0 '"latency_ms"' -- "$edgert" bench "$work/tiny_cnn.onnx" --runs 3 --json

# --- fold ---
expect 0 "53 folded, 0 kept" -- "$edgert" fold "$work/resnet50.onnx" -o "$work/r50f.onnx" --verify --report "$work/r50f.json"
grep -q '"folded": 53' "$work/r50f.json" && ok || bad "fold report lacks the folded count"
grep -q "folded into Conv" "$work/r50f.json" && ok || bad "fold report lacks per-BN verdicts"
expect 0 "BatchNormalization" -- "$edgert" fold "$work/densenet121.onnx" -o "$work/dnf.onnx" --report "$work/dnf.json"
grep -q "not folded: its input comes from Concat" "$work/dnf.json" && ok || bad "fold report lacks the reason a BN stays"
if [ -n "$check" ]; then expect 0 ": ok" -- "$check" "$work/r50f.onnx" "$work/dnf.onnx"; fi
expect 0 "folded into Conv" -- "$edgert" inspect "$work/resnet50.onnx"
expect 0 "0 folded, 53 standalone" -- "$edgert" run "$work/resnet50.onnx" --no-fold
expect 0 "53 folded, 0 standalone" -- "$edgert" run "$work/resnet50.onnx"
expect 0 "0 folded, 0 standalone" -- "$edgert" run "$work/r50f.onnx"
cp "$work/tiny_cnn.onnx" "$work/fold_me.onnx"
expect 2 "pass --in-place" -- "$edgert" fold "$work/fold_me.onnx" -o "$work/fold_me.onnx"
cmp -s "$work/tiny_cnn.onnx" "$work/fold_me.onnx" && ok || bad "fold overwrote its input without --in-place"
expect 0 "dry run" -- "$edgert" fold "$work/fold_me.onnx" -o "$work/never3.onnx" --dry-run
[ -e "$work/never3.onnx" ] && bad "--dry-run wrote a model" || ok
expect 0 "wrote" -- "$edgert" fold "$work/fold_me.onnx" --in-place --verify
cmp -s "$work/tiny_cnn.onnx" "$work/fold_me.onnx" && bad "--in-place left the model unchanged" || ok
expect 3 "no such file" -- "$edgert" fold "$work/missing.onnx" -o "$work/x.onnx"
printf 'not a model' > "$work/fold_garbage.onnx"
expect 4 "not a valid ONNX model" -- "$edgert" fold "$work/fold_garbage.onnx" -o "$work/never4.onnx"
[ -e "$work/never4.onnx" ] && bad "a failed fold wrote a model" || ok
ls -a "$work" | grep -q edgert-tmp && bad "fold left a temporary file" || ok

# --- conformance ---
if [ -d "$testdata/node/test_relu" ]; then
  expect 0 "1 passed, 0 failed, 0 unsupported" -- "$edgert" conformance "$testdata/node/test_relu" --json "$work/conf.json"
  grep -q '"Relu"' "$work/conf.json" && ok || bad "conformance --json lacks the operator table"
  expect 0 "0 passed, 0 failed, 1 unsupported" -- "$edgert" conformance "$testdata/node/test_det_2d"
fi
expect 3 "does not exist" -- "$edgert" conformance "$work/nowhere"

# --- bad input: message, exit status, no partial output ---
expect 3 "no such file" -- "$edgert" run "$work/missing.onnx"
head -c 3000 "$work/tiny_cnn.onnx" > "$work/truncated.onnx"
expect 4 "truncated.onnx" -- "$edgert" run "$work/truncated.onnx" --output-dir "$work/never1"
[ -e "$work/never1" ] && bad "a failed run created its output folder" || ok
printf 'PK\003\004 this is a zip, not a model' > "$work/garbage.onnx"
expect 4 "not a valid ONNX model" -- "$edgert" inspect "$work/garbage.onnx"
: > "$work/empty.onnx"
expect 4 "no graph" -- "$edgert" run "$work/empty.onnx"
if [ -d "$testdata/node/test_det_2d" ]; then
  expect 5 "unsupported operator 'Det'" -- "$edgert" run "$testdata/node/test_det_2d/model.onnx"
  expect 5 "Det (domain 'ai.onnx'" -- "$edgert" inspect "$testdata/node/test_det_2d/model.onnx"
  expect 6 "expected float32, got int64" -- "$edgert" run "$work/tiny_cnn.onnx" \
    --input input="$testdata/node/test_argmax_default_axis_example/test_data_set_0/output_0.pb"
fi
expect 6 "expected shape [N,3,32,32]" -- "$edgert" run "$work/tiny_cnn.onnx" --shape input=1,3,31,32 --output-dir "$work/never2"
[ -e "$work/never2/logits.npy" ] && bad "a failed run wrote an output" || ok
expect 2 "is not a dimension" -- "$edgert" run "$work/tiny_cnn.onnx" --shape input=1,3,a,32
expect 2 "not an input of the model" -- "$edgert" run "$work/tiny_cnn.onnx" --input nope="$work/in/input.npy"
printf '\223NUMPY\001\000v\000{' > "$work/bad.npy"
expect 4 "bad.npy" -- "$edgert" run "$work/tiny_cnn.onnx" --input input="$work/bad.npy"
expect 7 "tensor size limit" -- "$edgert" run "$work/resnet50.onnx" --max-tensor-mb 1
expect 2 "unknown ISA" -- "$edgert" run "$work/tiny_cnn.onnx" --isa avx9000

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
