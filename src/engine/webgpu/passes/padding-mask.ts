// Key padding masks as onnxruntime's attention contrib ops take them (MultiHeadAttention's key_padding_mask,
// Attention's mask_index), turned into one additive mask [B, 1, S|1, T] of 0 and mask_filter_value (default
// −10000, as onnxruntime adds it) built on the GPU:
// - [B]: each row's key length (keys from it on are masked);
// - [2B]: key lengths, then each row's first key (keys before it are masked: left padding);
// - [B, T] or [B, S, T]: 1 keeps a key, 0 masks it.
import { attrFloat, type Node } from '../ir/ir';
import type { NodeBuilder } from './node-builder';

/** The additive mask for `mask` (a value of `b`'s graph) over [batch, seq, total]; `fail` refuses other forms. */
export function paddingMask(
  b: NodeBuilder,
  node: Node,
  mask: string,
  [batch, seq, total]: readonly number[],
  fail: (why: string) => never,
): string {
  const md = b.shape(mask)?.dims ?? [];
  const filter = b.constant('float32', [], [attrFloat(node, 'mask_filter_value', -10000)]);
  const zero = b.constant('float32', [], [0]);
  // Integer constants in the mask's own dtype (onnxruntime takes int32; int64 compares the same).
  const intType = b.shape(mask)?.dtype === 'int64' ? 'int64' : 'int32';
  // 0 where `cond` says a key is kept (the filter value where it says masked), as [B, 1, S|1, T].
  const additive = (cond: string, shape: number[], condKeeps = true) =>
    b.add('Reshape', [
      b.add('Where', condKeeps ? [cond, zero, filter] : [cond, filter, zero])[0],
      b.constant('int64', [4], shape),
    ])[0];
  if (md.length === 1 && (md[0] === batch || md[0] === 2 * batch)) {
    const keys = b.constant(
      intType,
      [1, total],
      Array.from({ length: total }, (_, j) => j),
    );
    // Entries start … start + B − 1 of the mask, one a row.
    const column = (start: number) => {
      const part =
        md[0] === batch
          ? mask
          : b.add('Slice', [
              mask,
              b.constant('int64', [1], [start]),
              b.constant('int64', [1], [start + batch]),
              b.constant('int64', [1], [0]),
            ])[0];
      return b.add('Reshape', [part, b.constant('int64', [2], [batch, 1])])[0];
    };
    let kept = b.add('Less', [keys, column(0)])[0];
    if (md[0] === 2 * batch)
      kept = b.add('And', [kept, b.add('GreaterOrEqual', [keys, column(batch)])[0]])[0];
    return additive(kept, [batch, 1, 1, total]);
  }
  if (
    (md.length === 2 && md.join() === [batch, total].join()) ||
    (md.length === 3 && md.join() === [batch, seq, total].join())
  ) {
    const masked = b.add('Equal', [mask, b.constant(intType, [], [0])])[0];
    const shape = md.length === 2 ? [batch, 1, 1, total] : [batch, 1, seq, total];
    return additive(masked, shape, false);
  }
  return fail(`a key padding mask of dims [${md}] for batch ${batch}, ${seq} queries and ${total} keys`);
}
