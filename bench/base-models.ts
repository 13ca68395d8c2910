// Base-size benchmark models from weightless skeletons (bench/models/export_skeletons.py): every initializer
// marked `webvl-fill:<rule>` gets seeded random values, so every machine builds the same bytes without the
// hundreds of megabytes travelling. Works in Node and in the browser.
import { onnx } from 'onnx-proto';
import { toHalfBits } from '../src/engine/half';
import { rng } from '../tests/support/random';

const FILL_PREFIX = 'webvl-fill:';
const FLOAT = 1;
const UINT8 = 2;
const FLOAT16 = 10;

/** Values of one initializer: ones, zeros, or a zero-mean uniform distribution with the given standard deviation. */
function fillValues(rule: string, n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  if (rule === 'ones') return out.fill(1);
  if (rule === 'zeros') return out;
  const std = Number(rule.split(':')[1] ?? '0.02');
  if (!(std > 0)) throw new Error(`bad fill rule '${rule}'`);
  // Uniform on [-a, a] has standard deviation a/√3.
  const a = std * Math.sqrt(3);
  const rand = rng(seed);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * a;
  return out;
}

function rawBytes(values: Float32Array, dataType: number): Uint8Array {
  if (dataType === FLOAT) return new Uint8Array(values.buffer);
  if (dataType === FLOAT16) {
    const half = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) half[i] = toHalfBits(values[i]);
    return new Uint8Array(half.buffer);
  }
  throw new Error(`skeleton initializer of ONNX data type ${dataType} cannot be filled`);
}

/** Random bytes: packed 4-bit codes of a quantized weight (rule 'bytes'). */
function fillBytes(n: number, seed: number): Uint8Array {
  const rand = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

export interface FilledModel {
  bytes: Uint8Array;
  /** Weight elements filled (the model's parameter count, near enough). */
  parameters: number;
}

/** Fills a skeleton's marked initializers; the rest of the model is kept as exported. */
export function fillSkeleton(skeleton: Uint8Array, seed = 7): FilledModel {
  const model = onnx.ModelProto.decode(skeleton);
  let parameters = 0;
  let index = 0;
  for (const init of model.graph?.initializer ?? []) {
    const doc = init.docString ?? '';
    if (!doc.startsWith(FILL_PREFIX)) continue;
    const n = (init.dims ?? []).reduce((a, b) => a * Number(b), 1);
    const rule = doc.slice(FILL_PREFIX.length);
    const at = seed * 100_003 + index++;
    const packed = rule === 'bytes' && init.dataType === UINT8;
    init.rawData = packed ? fillBytes(n, at) : rawBytes(fillValues(rule, n, at), init.dataType ?? FLOAT);
    init.docString = '';
    // A byte of packed codes holds two 4-bit weights.
    parameters += packed ? 2 * n : n;
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), parameters };
}
