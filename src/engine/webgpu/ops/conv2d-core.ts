// The engine's own direct convolution (shaders/conv2d-core.wgsl), used while ./conv2d.ts is not yet
// implemented (see ../kernel-fallback.ts). Same signature and semantics as ./conv2d.ts.
import wgsl from '../../../../shaders/conv2d-core.wgsl?raw';
import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { Conv2dParams } from './types';

export function conv2dCore(
  ctx: KernelContext,
  x: GpuView,
  w: GpuView,
  bias: GpuView | null,
  out: GpuView,
  params: Conv2dParams = {},
): void {
  const [n, cin, h, wd] = x.dims;
  const [cout, , kh, kw] = w.dims;
  const [, , ho, wo] = out.dims;
  const act = params.activation ?? 'none';
  if (act !== 'none' && act !== 'relu')
    throw new WebvlError('INVALID_INPUT', `conv2d-core: activation ${act}`);
  const [sh, sw] = params.strides ?? [1, 1];
  const [pt, pl] = params.pads ?? [0, 0, 0, 0];
  const [dh, dw] = params.dilations ?? [1, 1];
  const group = params.group ?? 1;
  const bindings = bias ? [x, w, out, bias] : [x, w, out];
  const decls = bias
    ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;\n@group(0) @binding(4) var<uniform> u: Params;'
    : '@group(0) @binding(3) var<uniform> u: Params;';
  const source = wgsl
    .replaceAll('{{DECLS}}', decls)
    .replaceAll('{{BIAS}}', bias ? 'bias[oc]' : '0.0')
    .replaceAll('{{ACT}}', act === 'relu' ? 'max(acc, 0.0)' : 'acc');
  const uniforms = new Uint32Array([n, cin, h, wd, cout, ho, wo, group, kh, kw, sh, sw, pt, pl, dh, dw])
    .buffer;
  const total = n * cout * ho * wo;
  const groups = Math.ceil(total / 256);
  const gx = Math.min(Math.max(groups, 1), 65535);
  ctx.record({
    label: 'conv2d-core',
    wgsl: source,
    cacheKey: `conv2d-core:${bias !== null}:${act}`,
    workgroups: [gx, Math.ceil(groups / gx) || 1],
    bindings,
    uniforms,
  });
}
