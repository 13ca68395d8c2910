// CPU twins of unary, binary, where and cast: plain loops in float64 (tests only).
import type { BinaryOp, UnaryOp } from '../ops/types';
import { broadcastIndex, broadcastShape, type CpuTensor, coordsOf, cpuTensor } from './tensor';

/** erf to ~1e-15 by its Maclaurin series (|x| < 3) or the continued fraction of erfc — independent of the GPU's. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))), evaluated bottom-up.
    let f = 0;
    for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  }
  return x < 0 ? -r : r;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export function unaryScalar(op: UnaryOp, v: number, alpha?: number, beta?: number): number {
  switch (op) {
    case 'Identity':
      return v;
    case 'Abs':
      return Math.abs(v);
    case 'Neg':
      return -v;
    case 'Relu':
      return Math.max(v, 0);
    case 'Sigmoid':
      return sigmoid(v);
    case 'Tanh':
      return Math.tanh(v);
    case 'Erf':
      return erf(v);
    case 'Exp':
      return Math.exp(v);
    case 'Log':
      return Math.log(v);
    case 'Sqrt':
      return Math.sqrt(v);
    case 'Reciprocal':
      return 1 / v;
    case 'Floor':
      return Math.floor(v);
    case 'Ceil':
      return Math.ceil(v);
    case 'Round': {
      const f = Math.floor(v);
      const d = v - f;
      if (d > 0.5) return f + 1;
      if (d < 0.5) return f;
      return f % 2 === 0 ? f : f + 1;
    }
    case 'Sin':
      return Math.sin(v);
    case 'Cos':
      return Math.cos(v);
    case 'Sign':
      return Math.sign(v);
    case 'Not':
      return v === 0 ? 1 : 0;
    case 'Gelu':
      return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'GeluTanh':
      return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    case 'QuickGelu':
      return v * sigmoid(1.702 * v);
    case 'LeakyRelu':
      return v >= 0 ? v : v * (alpha ?? 0.01);
    case 'Clip':
      return Math.min(Math.max(v, alpha ?? -Infinity), beta ?? Infinity);
    case 'HardSigmoid':
      return Math.min(Math.max((alpha ?? 0.2) * v + (beta ?? 0.5), 0), 1);
    case 'Softplus':
      return Math.log1p(Math.exp(v));
    case 'Tan':
      return Math.tan(v);
    case 'Asin':
      return Math.asin(v);
    case 'Acos':
      return Math.acos(v);
    case 'Atan':
      return Math.atan(v);
    case 'Sinh':
      return Math.sinh(v);
    case 'Cosh':
      return Math.cosh(v);
    case 'Asinh':
      return Math.asinh(v);
    case 'Acosh':
      return Math.acosh(v);
    case 'Atanh':
      return Math.atanh(v);
    case 'Softsign':
      return v / (1 + Math.abs(v));
    case 'Elu':
      return v > 0 ? v : (alpha ?? 1) * Math.expm1(v);
    case 'Selu':
      return (beta ?? 1.0507009873554805) * (v > 0 ? v : (alpha ?? 1.6732632423543772) * Math.expm1(v));
    case 'Celu': {
      const a = alpha ?? 1;
      return Math.max(0, v) + Math.min(0, a * Math.expm1(v / a));
    }
    case 'ThresholdedRelu':
      return v > (alpha ?? 1) ? v : 0;
    case 'HardSwish':
      return v * Math.min(Math.max(v / 6 + 0.5, 0), 1);
    case 'Shrink': {
      const [lambd, bias] = [alpha ?? 0.5, beta ?? 0];
      return v < -lambd ? v + bias : v > lambd ? v - bias : 0;
    }
  }
}

export function unaryCpu(op: UnaryOp, x: CpuTensor, alpha?: number, beta?: number): CpuTensor {
  return cpuTensor(
    x.dims,
    Array.from(x.data, (v) => unaryScalar(op, v, alpha, beta)),
  );
}

/** `integer` selects ONNX's integer semantics (truncating Div, Python-style Mod). */
export function binaryScalar(op: BinaryOp, x: number, y: number, integer = false): number {
  switch (op) {
    case 'Add':
      return x + y;
    case 'Sub':
      return x - y;
    case 'Mul':
      return x * y;
    case 'Div':
      return integer ? Math.trunc(x / y) : x / y;
    case 'Pow':
      // Integer results (an integer base) truncate toward zero, like C's cast of pow().
      return integer ? Math.trunc(x ** y) : x ** y;
    case 'Max':
      return Math.max(x, y);
    case 'Min':
      return Math.min(x, y);
    case 'Mod':
      return integer ? x - Math.floor(x / y) * y : x % y;
    case 'FMod':
      return x % y;
    case 'Equal':
      return x === y ? 1 : 0;
    case 'Less':
      return x < y ? 1 : 0;
    case 'LessOrEqual':
      return x <= y ? 1 : 0;
    case 'Greater':
      return x > y ? 1 : 0;
    case 'GreaterOrEqual':
      return x >= y ? 1 : 0;
    case 'And':
      return x !== 0 && y !== 0 ? 1 : 0;
    case 'Or':
      return x !== 0 || y !== 0 ? 1 : 0;
    case 'Xor':
      return (x !== 0) !== (y !== 0) ? 1 : 0;
    case 'PRelu':
      return x >= 0 ? x : x * y;
    // uint8 values: shifts past 7 leave nothing.
    case 'BitShiftLeft':
      return y < 8 ? (x * 2 ** y) % 256 : 0;
    case 'BitShiftRight':
      return y < 8 ? Math.floor(x / 2 ** y) : 0;
  }
}

export function binaryCpu(op: BinaryOp, a: CpuTensor, b: CpuTensor, integer = false): CpuTensor {
  const dims = broadcastShape(a.dims, b.dims);
  const out = cpuTensor(dims);
  for (let i = 0; i < out.data.length; i++) {
    const c = coordsOf(i, dims);
    out.data[i] = binaryScalar(
      op,
      a.data[broadcastIndex(c, a.dims)],
      b.data[broadcastIndex(c, b.dims)],
      integer,
    );
  }
  return out;
}

export function whereCpu(cond: CpuTensor, x: CpuTensor, y: CpuTensor): CpuTensor {
  const dims = broadcastShape(cond.dims, x.dims, y.dims);
  const out = cpuTensor(dims);
  for (let i = 0; i < out.data.length; i++) {
    const c = coordsOf(i, dims);
    out.data[i] =
      cond.data[broadcastIndex(c, cond.dims)] !== 0
        ? x.data[broadcastIndex(c, x.dims)]
        : y.data[broadcastIndex(c, y.dims)];
  }
  return out;
}

/** Cast between float and the integer family: float→int truncates toward zero, →bool is (x != 0). */
export function castCpu(x: CpuTensor, to: 'float' | 'int' | 'bool'): CpuTensor {
  const f =
    to === 'float'
      ? (v: number) => v
      : to === 'int'
        ? (v: number) => Math.trunc(v) + 0
        : (v: number) => (v !== 0 ? 1 : 0);
  return cpuTensor(x.dims, Array.from(x.data, f));
}
