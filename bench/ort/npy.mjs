// Minimal .npy reader and writer for the ORT side-by-side scripts.
import fs from 'node:fs';

const TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array], '<i2': ['int16', Int16Array], '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array], '<u2': ['uint16', Uint16Array],
};

export function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const t = TYPES[descr];
  if (!t) throw new Error(`${path}: unsupported dtype ${descr}`);
  const data = buf.subarray(hstart + hlen);
  const copy = new Uint8Array(data.length);
  copy.set(data);
  return { type: t[0], dims: shape, data: new t[1](copy.buffer) };
}

export function npyName(name) {
  let s = name.length ? name : 'output';
  s = s.replace(/[^A-Za-z0-9._-]/g, '_');
  if (s[0] === '.') s = '_' + s.slice(1);
  return s + '.npy';
}
