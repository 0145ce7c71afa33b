// Per-layer times of one model in ONNX Runtime (onnxruntime-node with its profiler) beside
// edgert's (`edgert bench --profile --json`), to find where a whole-model gap comes from.
//   node layers.mjs MODEL INPUT_DIR THREADS RUNS ROUNDS -- EDGERT_BENCH_COMMAND...
// The two runtimes take turns, ROUNDS times (edgert's command, then RUNS profiled ORT runs
// on one session), so a slow phase of a shared machine falls on both. A node's time is the
// median over rounds of its median per run in the round: a few slow runs do not move it.
// ORT fuses BatchNormalization, activations and residual Adds into its convolutions and
// renames them, so nodes are matched by op type and position in the execution order: the
// k-th Conv of one runtime against the k-th Conv of the other (ORT's FusedConv counts as a
// Conv). Where the counts of an op type differ, its nodes are paired in order by weight
// shape (edgert's JSON gives each node's constant weight, ORT's profile its input shapes),
// the rest reported as totals. ORT's first 3 runs are warm-up; its kernel times exclude its
// binding's copies.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readNpy, npyName } from './npy.mjs';

const require = createRequire(import.meta.url);
const ortDir = process.env.EDGERT_ORT_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../.cache/ort');
const ort = require(path.join(ortDir, 'node_modules/onnxruntime-node'));
const argv = process.argv.slice(2), dash = argv.indexOf('--');
if (dash < 0 || dash + 1 >= argv.length) throw new Error('usage: layers.mjs MODEL INPUT_DIR THREADS RUNS ROUNDS -- EDGERT_BENCH_COMMAND...');
const [model, inDir, threads = '1', runsArg = '20', roundsArg = '1'] = argv.slice(0, dash);
const edgertCmd = argv.slice(dash + 1);
const runs = Math.max(1, Number(runsArg)), rounds = Math.max(1, Number(roundsArg)), warmup = 3;
const median = (v) => {
  const s = v.slice().sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// One round of ORT: a new session with its profiler, 3 warm-up runs and RUNS timed ones;
// the session is released before edgert runs (its pool's spinning threads would otherwise
// take edgert's cores: at 2 threads on 2 cores they added a third to edgert's node times).
// Returns the profile's events.
const ortRound = async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgert-layers-'));
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all', intraOpNumThreads: Number(threads), interOpNumThreads: 1,
    enableProfiling: true, profileFilePrefix: path.join(tmp, 'ort'),
  });
  const feeds = {};
  for (const name of session.inputNames) {
    const a = readNpy(path.join(inDir, npyName(name)));
    feeds[name] = new ort.Tensor(a.type, a.data, a.dims);
  }
  for (let i = 0; i < warmup + runs; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = fs.readdirSync(tmp).find((f) => f.endsWith('.json'));
  if (!file) throw new Error(`ORT wrote no profile into ${tmp}`);
  const events = JSON.parse(fs.readFileSync(path.join(tmp, file), 'utf8'));
  fs.rmSync(tmp, { recursive: true, force: true });
  return events;
};
// edgert's nodes per round, in its JSON's order of execution; ORT's profile events.
const edRounds = [], ortRounds = [];
for (let r = 0; r < rounds; r++) {
  edRounds.push(JSON.parse(execFileSync(edgertCmd[0], edgertCmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26 })));
  ortRounds.push(await ortRound());
}

// ORT: per node, in first-seen order: op, input shapes, kernel times of every run.
const ortNodes = new Map();
for (const events of ortRounds) for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const name = e.name.slice(0, -'_kernel_time'.length);
  if (!ortNodes.has(name)) {
    const shapes = (e.args.input_type_shape || []).map((s) => Object.values(s)[0]);
    ortNodes.set(name, { name, op: e.args.op_name, shapes, times: [] });
  }
  ortNodes.get(name).times.push(e.dur / 1000);
}
// A node's time: the median over rounds of its median in the round (each round's first 3
// runs are warm-up).
const ortList = [...ortNodes.values()].map((n) => {
  const per = [], each = warmup + runs;
  for (let r = 0; r < rounds; r++) per.push(median(n.times.slice(r * each + warmup, (r + 1) * each)));
  return { ...n, ms: median(per) };
});
const edList = edRounds[0].profile.by_node.slice().sort((a, b) => a.index - b.index).map((n) => {
  const per = edRounds.map((d) => d.profile.by_node.find((m) => m.node === n.node).median_ms);
  return { ...n, ms: median(per) };
});

const byOp = (list) => {
  const m = new Map();
  for (const n of list) {
    if (!m.has(n.op)) m.set(n.op, []);
    m.get(n.op).push(n);
  }
  return m;
};
// ORT's NCHWc pass turns a BatchNormalization it cannot fold into a 1x1 depthwise Conv; when
// edgert runs as many standalone BNs as ORT has such Convs, they are matched as BNs.
const isBnConv = (n) => n.op === 'Conv' && n.shapes[1] && n.shapes[1].length === 4 && n.shapes[1][1] === 1 &&
                        n.shapes[1][2] === 1 && n.shapes[1][3] === 1 && n.shapes[0] && n.shapes[0][1] === n.shapes[1][0];
const edBn = edList.filter((n) => n.op === 'BatchNormalization').length;
if (edBn > 0 && !ortList.some((n) => n.op === 'BatchNormalization') && ortList.filter(isBnConv).length === edBn)
  for (const n of ortList) if (isBnConv(n)) n.op = 'BatchNormalization';
for (const n of ortList) if (n.op === 'FusedConv') n.op = 'Conv';
const ortByOp = byOp(ortList), edByOp = byOp(edList);
const sameShape = (a, b) => Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]);
// Pairs in execution order by weight shape: each edgert node with the next ORT node of its
// weight's shape; nodes left over on either side are returned unpaired.
const alignByWeight = (eds, orts) => {
  const pairs = [], edLeft = [], ortLeft = [];
  let j = 0;
  for (const e of eds) {
    let k = j;
    while (k < orts.length && !sameShape(e.weight, orts[k].shapes[1])) k++;
    if (k === orts.length) {
      edLeft.push(e);
      continue;
    }
    ortLeft.push(...orts.slice(j, k));
    pairs.push([e, orts[k]]);
    j = k + 1;
  }
  ortLeft.push(...orts.slice(j));
  return { pairs, edLeft, ortLeft };
};
// A convolution's class from ORT's recorded input and weight shapes.
const convClass = (n) => {
  const [x, w] = n.shapes;
  if (!x || !w || w.length < 3) return 'Conv';
  const k = w.slice(2).reduce((a, b) => a * b, 1);
  const res = n.shapes.length > 3 ? '+residual' : '';
  if (w[1] === 1 && x[1] > 1) return `Conv depthwise ${w.slice(2).join('x')}${res}`;
  if (k === 1) return `Conv 1x1${res}`;
  return `Conv ${w.slice(2).join('x')}${res}`;
};
const fmt = (v, w = 8) => v.toFixed(1).padStart(w);
const classes = new Map();
const add = (cls, e, o) => {
  if (!classes.has(cls)) classes.set(cls, { n: 0, ed: 0, ort: 0 });
  const c = classes.get(cls);
  c.n += 1, c.ed += e, c.ort += o;
};
const rows = [];
const sum = (list) => list.reduce((a, n) => a + n.ms, 0) * 1000;
for (const [op, eds] of edByOp) {
  const orts = ortByOp.get(op) || [];
  let pairs = eds.map((e, i) => [e, orts[i]]), edLeft = [], ortLeft = [];
  if (orts.length !== eds.length) ({ pairs, edLeft, ortLeft } = alignByWeight(eds, orts));
  if (edLeft.length || ortLeft.length)
    add(`${op} (unmatched: ${edLeft.length} edgert, ${ortLeft.length} ORT nodes)`, sum(edLeft), sum(ortLeft));
  for (const [e, o] of pairs) {
    const cls = op === 'Conv' ? convClass(o) : op;
    add(cls, e.ms * 1000, o.ms * 1000);
    rows.push({ e, o, cls });
  }
}
for (const [op, orts] of ortByOp)
  if (!edByOp.has(op)) add(`${op} (ORT only)`, 0, orts.reduce((a, n) => a + n.ms, 0) * 1000);

console.log(`${model}, ${threads} thread(s), ${rounds} x ${runs} runs, alternating; median microseconds per run`);
console.log(`${'edgert node'.padEnd(24)} ${'ORT node'.padEnd(24)} ${'input'.padEnd(20)} ${'weight'.padEnd(18)}   edgert      ORT  ratio`);
for (const { e, o } of rows) {
  const [x = [], w = []] = o.shapes;
  console.log(`${e.node.slice(0, 24).padEnd(24)} ${o.name.slice(0, 24).padEnd(24)} ${JSON.stringify(x).padEnd(20)} ` +
              `${JSON.stringify(w).padEnd(18)} ${fmt(e.ms * 1000)} ${fmt(o.ms * 1000)} ${(e.ms / o.ms).toFixed(2).padStart(6)}`);
}
console.log('\nby class:');
let te = 0, to = 0;
for (const [cls, c] of [...classes].sort((a, b) => (b[1].ed - b[1].ort) - (a[1].ed - a[1].ort))) {
  te += c.ed, to += c.ort;
  const ratio = c.ort > 0 ? (c.ed / c.ort).toFixed(2) : '-';
  console.log(`${cls.padEnd(48)} ${String(c.n).padStart(4)} ${fmt(c.ed, 10)} ${fmt(c.ort, 10)} ${ratio.padStart(6)}  gap ${fmt(c.ed - c.ort)}`);
}
console.log(`${'total'.padEnd(48)} ${''.padStart(4)} ${fmt(te, 10)} ${fmt(to, 10)} ${(te / to).toFixed(2).padStart(6)}`);
