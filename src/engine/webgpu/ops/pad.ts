// ONNX Pad (shaders/pad.wgsl): constant, reflect, edge and wrap modes, negative pads crop.
import padWgsl from '../../../../shaders/pad.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  contiguousStrides,
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  UniformWriter,
} from './common';

const MAX_RANK = 8;
export type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';
const MODE_CODE: Record<PadMode, number> = { constant: 0, reflect: 1, edge: 2, wrap: 3 };

/** `pads`: begin of every axis, then end of every axis (ONNX order); `value` fills in constant mode. */
export function pad(
  ctx: KernelContext,
  x: GpuView,
  out: GpuView,
  pads: readonly number[],
  mode: PadMode,
  value: number,
): void {
  const rank = x.dims.length;
  if (rank > MAX_RANK) invalid(`Pad: rank ${rank} exceeds ${MAX_RANK}`);
  if (pads.length !== 2 * rank) invalid(`Pad: ${pads.length} pads for rank ${rank}`);
  if (x.dtype === 'float16') invalid('Pad: float16 views are not supported');
  const outDims = x.dims.map((d, i) => d + pads[i] + pads[i + rank]);
  if (outDims.some((d) => d < 0)) invalid('Pad: pads crop below zero');
  expectDims('Pad output', out, outDims);
  const n = elementCount(outDims);
  if (n === 0) return;
  if (mode !== 'constant' && x.dims.some((d, i) => d === 0 && outDims[i] > 0))
    invalid(`Pad: ${mode} mode needs a non-empty input`);
  // The constant as the element's 32-bit pattern: f32 bits, or an i32 for the integer family.
  const bits = new Uint32Array(new (x.dtype === 'float32' ? Float32Array : Int32Array)([value]).buffer)[0];
  ctx.record({
    label: 'Pad',
    wgsl: padWgsl,
    cacheKey: 'pad',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, out],
    uniforms: new UniformWriter()
      .u32s([n, rank, MODE_CODE[mode], bits])
      .u32Array(outDims, 2)
      .u32Array(x.dims, 2)
      .u32Array(contiguousStrides(x.dims), 2)
      .u32Array(
        pads.slice(0, rank).map((p) => p | 0),
        2,
      )
      .finish(),
  });
}
