// Runs an ONNX model in ONNX Runtime (onnxruntime-node) on the inputs edgert saved and
// compares every output with edgert's.
//   node compare.mjs MODEL INPUT_DIR EDGERT_OUTPUT_DIR [THREADS]
// With EDGERT_ORT_RUNS=N it also times N runs of ORT's session.run (after 3 warm-up runs).
// Prints one line per output with the max absolute error and that error relative to the
// largest |reference| value; exits 1 when any relative error exceeds EDGERT_RTOL (1e-4).
import path from 'node:path';
import { createRequire } from 'node:module';
import { readNpy, npyName } from './npy.mjs';

const require = createRequire(import.meta.url);
const ortDir = process.env.EDGERT_ORT_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../.cache/ort');
const ort = require(path.join(ortDir, 'node_modules/onnxruntime-node'));
const [model, inDir, outDir, threads = '1'] = process.argv.slice(2);
const rtol = Number(process.env.EDGERT_RTOL || '1e-4');

const session = await ort.InferenceSession.create(model, {
  graphOptimizationLevel: 'all', intraOpNumThreads: Number(threads), interOpNumThreads: 1,
});
const feeds = {};
for (const name of session.inputNames) {
  const a = readNpy(path.join(inDir, npyName(name)));
  feeds[name] = new ort.Tensor(a.type, a.data, a.dims);
}
const results = await session.run(feeds);
let ok = true;
for (const name of session.outputNames) {
  const ref = results[name];
  const got = readNpy(path.join(outDir, npyName(name)));
  const same = ref.dims.length === got.dims.length && ref.dims.every((d, i) => Number(d) === got.dims[i]);
  if (!same) {
    console.log(`${name}: shape [${got.dims}] from edgert, [${ref.dims}] from ORT`);
    ok = false;
    continue;
  }
  let maxAbs = 0, maxRef = 0, worst = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const r = Number(ref.data[i]), g = Number(got.data[i]);
    const d = Math.abs(r - g);
    if (d > maxAbs || Number.isNaN(d)) { maxAbs = Number.isNaN(d) ? Infinity : d; worst = i; }
    maxRef = Math.max(maxRef, Math.abs(r));
  }
  const rel = maxRef > 0 ? maxAbs / maxRef : maxAbs;
  const pass = rel <= rtol;
  ok &&= pass;
  console.log(`${name}: [${ref.dims}] max abs ${maxAbs.toExponential(3)} (element ${worst}), relative ${rel.toExponential(3)} ${pass ? 'ok' : 'MISMATCH'}`);
}
const runs = Number(process.env.EDGERT_ORT_RUNS || '0');
if (runs > 0) {
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(`ort latency: median ${ms[Math.floor(ms.length / 2)].toFixed(3)} ms, min ${ms[0].toFixed(3)} ms over ${runs} runs, ${threads} threads`);
}
process.exit(ok ? 0 : 1);
