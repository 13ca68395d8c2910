// ONNX DFT and STFT as matmuls by a transform matrix computed on the host when planning (an audio model's
// windows are a few hundred samples): each output bin's real and imaginary parts are dot products of the signal
// with cosines and sines, so one matmul computes every bin of every row. STFT first gathers its frames with one
// strided copy and folds a constant window into the matrix (or multiplies by one computed at run time).
import { dftParams, stftParams } from '../ir/signal-params';
import * as ops from '../ops';
import { contiguousStrides, elementCount } from '../ops/common';
import type { GpuView } from './kernel-context';
import { type LowerArgs, need, unsupported } from './lower-args';

/** Transform matrices above this many elements are refused (a 4,096-point DFT of a real signal is 34M). */
const MAX_TRANSFORM_ELEMENTS = 1 << 24;

/**
 * [samples · channels, bins · 2]: row (j, re|im) × column (k, re|im) of the DFT of length n over the first
 * `samples` samples (a shorter signal is zero-padded, a longer one cut), channels 1 (real) or 2 (complex),
 * each sample weighted by `window`; the inverse divides by n.
 */
function transformMatrix(
  a: LowerArgs,
  samples: number,
  channels: number,
  n: number,
  bins: number,
  inverse: boolean,
  window?: ArrayLike<number>,
): GpuView {
  const rows = samples * channels;
  if (rows * bins * 2 > MAX_TRANSFORM_ELEMENTS)
    unsupported(a.node, `a ${rows} × ${bins * 2} transform matrix is too large`);
  const w = new Float32Array(rows * bins * 2);
  const sign = inverse ? 1 : -1;
  const scale = inverse ? 1 / n : 1;
  for (let j = 0; j < Math.min(samples, n); j++) {
    const weight = (window ? window[j] : 1) * scale;
    for (let k = 0; k < bins; k++) {
      // e^{iθ} with θ = ∓2π·jk/n (jk reduced mod n first, for precision).
      const theta = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      const [cos, sin] = [Math.cos(theta) * weight, Math.sin(theta) * weight];
      const re = (j * channels * bins + k) * 2;
      w[re] = cos;
      w[re + 1] = sin;
      if (channels === 2) {
        // (i·b)·e^{iθ} = −b·sin θ + i·b·cos θ.
        const im = re + bins * 2;
        w[im] = -sin;
        w[im + 1] = cos;
      }
    }
  }
  return a.ctx.constant('float32', [rows, bins * 2], w);
}

/** DFT along any axis but the last (ir/signal-params.ts reads the node). */
export function dft(a: LowerArgs): void {
  const x = need(a, 0);
  if (x.dtype !== 'float32') unsupported(a.node, `a ${x.dtype} input`);
  const { axis, length, bins, inverse } = dftParams(a.node, x.dims, a.constant, a.opset);
  const rank = x.dims.length;
  const channels = x.dims[rank - 1];
  const samples = x.dims[axis];
  // The signal axis moves next to the channels: [rest…, samples, channels].
  const perm = [...x.dims.keys()].filter((d) => d !== axis && d !== rank - 1).concat([axis, rank - 1]);
  const moved = perm.some((p, i) => p !== i);
  const restDims = perm.slice(0, -2).map((d) => x.dims[d]);
  const rows = elementCount(restDims);
  let signal = x;
  if (moved) {
    signal = a.ctx.scratch(
      'float32',
      perm.map((d) => x.dims[d]),
    );
    ops.transpose(a.ctx, x, signal, perm);
  }
  const out = a.outputs[0];
  const product = moved ? a.ctx.scratch('float32', [...restDims, bins, 2]) : out;
  ops.matmul(
    a.ctx,
    { ...signal, dims: [rows, samples * channels] },
    transformMatrix(a, samples, channels, length, bins, inverse),
    null,
    { ...product, dims: [rows, bins * 2] },
  );
  if (moved) {
    // Back: the bins to the signal axis' place.
    const back = x.dims.map((_, d) => perm.indexOf(d));
    ops.transpose(a.ctx, product, out, back);
  }
}

/** STFT of signal [batch, length, channels]: frames of frame_length every frame_step samples, windowed. */
export function stft(a: LowerArgs): void {
  const x = need(a, 0);
  if (x.dtype !== 'float32') unsupported(a.node, `a ${x.dtype} signal`);
  const windowView = a.inputs[2];
  const { step, frameLength, frames, bins } = stftParams(a.node, x.dims, windowView?.dims, a.constant);
  const [batch, length, channels] = x.dims;
  // Frames [batch, frames, frame_length, channels], overlapping reads of the signal.
  const frameDims = [batch, frames, frameLength, channels];
  let framed: GpuView = a.ctx.scratch('float32', frameDims);
  ops.copyStrided(
    a.ctx,
    x,
    [length * channels, step * channels, channels, 1],
    0,
    framed,
    contiguousStrides(frameDims),
    0,
    frameDims,
    'STFT frames',
  );
  const constantWindow = windowView ? a.constant(2)?.data : undefined;
  if (windowView && !constantWindow) {
    const weighted = a.ctx.scratch('float32', frameDims);
    ops.binary(a.ctx, framed, { ...windowView, dims: [frameLength, 1] }, weighted, 'Mul');
    framed = weighted;
  }
  ops.matmul(
    a.ctx,
    { ...framed, dims: [batch * frames, frameLength * channels] },
    transformMatrix(a, frameLength, channels, frameLength, bins, false, constantWindow),
    null,
    { ...a.outputs[0], dims: [batch * frames, bins * 2] },
  );
}
