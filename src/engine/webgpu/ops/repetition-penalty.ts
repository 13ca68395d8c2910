// The repetition penalty of a generation step (shaders/repetition-penalty.wgsl): the logits of tokens the sequence
// already holds, pushed away from being picked again, before the next-token head chooses.
import penaltyWgsl from '../../../../shaders/repetition-penalty.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { ELEMENTWISE_WORKGROUP, expectDims, expectFloat32, grid1d, invalid, UniformWriter } from './common';

/**
 * logits [rows, vocab] (float32), seen [rows, words] (a bitset of the tokens held, token t is bit t % 32 of word
 * t / 32, int32 words; tokens past it are not held), penalty [rows] (float32) → out [rows, vocab].
 */
export function repetitionPenalty(
  ctx: KernelContext,
  logits: GpuView,
  seen: GpuView,
  penalty: GpuView,
  out: GpuView,
): void {
  expectFloat32('RepetitionPenalty logits', logits);
  expectFloat32('RepetitionPenalty penalty', penalty);
  if (logits.dims.length !== 2)
    invalid(`RepetitionPenalty: logits must be [rows, vocab], got [${logits.dims}]`);
  const [rows, vocab] = logits.dims;
  if (seen.dtype !== 'int32' || seen.dims.length !== 2 || seen.dims[0] !== rows)
    invalid(`RepetitionPenalty: seen must be int32 [${rows}, words], got ${seen.dtype} [${seen.dims}]`);
  const words = seen.dims[1];
  if (words < 1) invalid('RepetitionPenalty: the bitset has no words');
  expectDims('RepetitionPenalty penalty', penalty, [rows]);
  expectDims('RepetitionPenalty output', out, logits.dims);
  const n = rows * vocab;
  if (n === 0) return;
  ctx.record({
    label: 'RepetitionPenalty',
    wgsl: penaltyWgsl,
    cacheKey: 'repetition-penalty',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [logits, seen, penalty, out],
    uniforms: new UniformWriter().u32s([rows, vocab, words, 0]).finish(),
  });
}
