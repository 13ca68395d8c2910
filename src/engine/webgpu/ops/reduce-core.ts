// The engine's barrier-free reductions (shaders/reduce-core.wgsl), chosen on software adapters for float32 and
// while ./reduce.ts is a stub (see ../kernel-fallback.ts). Same semantics as ./reduce.ts, float32 only.
import wgsl from '../../../../shaders/reduce-core.wgsl?raw';
import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { ReduceOp, ReduceParams } from './types';

const BODIES: Record<ReduceOp, [init: string, step: string, finish: string]> = {
  Sum: ['0.0', 'acc += v;', 'acc'],
  Mean: ['0.0', 'acc += v;', 'acc / f32(u.reduced)'],
  Max: ['-3.4028234663852886e38', 'acc = max(acc, v);', 'acc'],
  Min: ['3.4028234663852886e38', 'acc = min(acc, v);', 'acc'],
  Prod: ['1.0', 'acc *= v;', 'acc'],
  L1: ['0.0', 'acc += abs(v);', 'acc'],
  L2: ['0.0', 'acc += v * v;', 'sqrt(acc)'],
  SumSquare: ['0.0', 'acc += v * v;', 'acc'],
  // Two-pass free log-sum-exp would need the max first; this form is exact enough for the small ranges seen.
  LogSumExp: ['0.0', 'acc += exp(v);', 'log(acc)'],
};

export function reduceCore(ctx: KernelContext, x: GpuView, out: GpuView, params: ReduceParams): void {
  const rank = x.dims.length;
  if (rank > 8) throw new WebvlError('INVALID_INPUT', `reduce: rank ${rank} > 8`);
  const axes = new Set(
    (params.axes && params.axes.length > 0 ? params.axes : x.dims.map((_, i) => i)).map((a) =>
      a < 0 ? a + rank : a,
    ),
  );
  const strides = new Array<number>(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= x.dims[i];
  }
  const keptDims: number[] = [];
  const keptStr: number[] = [];
  const redDims: number[] = [];
  const redStr: number[] = [];
  x.dims.forEach((d, i) => {
    if (axes.has(i)) {
      redDims.push(d);
      redStr.push(strides[i]);
    } else {
      keptDims.push(d);
      keptStr.push(strides[i]);
    }
  });
  const outputs = keptDims.reduce((a, b) => a * b, 1);
  const reduced = redDims.reduce((a, b) => a * b, 1);
  const u = new Uint32Array(4 + 4 * 8);
  u.set([outputs, reduced, keptDims.length, redDims.length]);
  u.set(keptDims, 4);
  u.set(keptStr, 12);
  u.set(redDims, 20);
  u.set(redStr, 28);
  const [init, step, finish] = BODIES[params.op];
  const source = wgsl
    .replaceAll('{{INIT}}', init)
    .replaceAll('{{STEP}}', step)
    .replaceAll('{{FINISH}}', finish);
  const groups = Math.ceil(outputs / 64);
  const gx = Math.min(Math.max(groups, 1), 65535);
  ctx.record({
    label: 'reduce-core',
    wgsl: source,
    cacheKey: `reduce-core:${params.op}`,
    workgroups: [gx, Math.ceil(groups / gx) || 1],
    bindings: [x, out],
    uniforms: u.buffer,
  });
}
