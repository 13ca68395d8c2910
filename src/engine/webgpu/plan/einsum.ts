// ONNX Einsum, every form, as the engine's own kernels. Ellipses become letters of their own (broadcast from the
// right, as NumPy does); a letter twice in one operand reads the diagonal (one strided copy); a size-1 axis that
// broadcasts against a larger one is dropped from its operand. One operand is then a transpose and a sum; more
// are contracted left to right, two at a time, as batched matmuls (letters in both operands and the result are
// the batch, letters in both operands only are contracted), with transposes around them and sums of letters
// only one operand has.
import { WebvlError } from '../../../errors';
import * as ops from '../ops';
import { contiguousStrides } from '../ops/common';
import type { GpuView, KernelContext } from './kernel-context';

export interface EinsumTerms {
  readonly operands: readonly string[];
  readonly output: string;
}

function refuse(equation: string, why: string): never {
  throw new WebvlError('UNSUPPORTED_OP', `Einsum '${equation}': ${why}`, { ops: ['Einsum'] });
}

function invalid(equation: string, why: string): never {
  throw new WebvlError('INVALID_MODEL', `Einsum '${equation}': ${why}`);
}

/**
 * Parses "ij,jk->ik" for operands of the given ranks. An implicit output lists the letters seen once,
 * alphabetically, after the ellipsis' axes, as ONNX says; each ellipsis becomes letters no term uses.
 */
export function parseEinsum(equation: string, ranks: readonly number[]): EinsumTerms {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, explicit] = eq.split('->');
  const written = lhs.split(',');
  if (written.length !== ranks.length)
    invalid(equation, `${written.length} terms for ${ranks.length} inputs`);
  if (!/^[a-zA-Z.,]*(->[a-zA-Z.]*)?$/.test(eq)) invalid(equation, 'not an einsum equation');
  const used = new Set(eq.replace(/[^a-zA-Z]/g, ''));
  const spare = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].filter((c) => !used.has(c));
  const ellipsisRanks = written.map((t, i) => {
    const dots = t.split('...').length - 1;
    if (dots > 1 || t.replace('...', '').includes('.')) invalid(equation, `term '${t}'`);
    const rank = ranks[i] - t.replace('...', '').length;
    if (dots === 0 ? rank !== 0 : rank < 0) invalid(equation, `term '${t}' for rank ${ranks[i]}`);
    return rank;
  });
  const ellipsis = spare.slice(0, Math.max(0, ...ellipsisRanks)).join('');
  const operands = written.map((t, i) =>
    t.replace('...', ellipsis.slice(ellipsis.length - ellipsisRanks[i])),
  );
  const counts = new Map<string, number>();
  for (const t of operands) for (const c of new Set(t)) counts.set(c, (counts.get(c) ?? 0) + 1);
  let output: string;
  if (explicit !== undefined) {
    if (explicit.split('...').length > 2) invalid(equation, `output '${explicit}'`);
    output = explicit.replace('...', ellipsis);
  } else {
    const once = [...counts].filter(
      ([c, n]) => n === 1 && !ellipsis.includes(c) && !operands.some((t) => t.split(c).length > 2),
    );
    output =
      ellipsis +
      once
        .map(([c]) => c)
        .sort()
        .join('');
  }
  if (new Set(output).size !== output.length) invalid(equation, `a letter twice in the output '${output}'`);
  for (const c of output) if (!counts.has(c)) invalid(equation, `output letter '${c}' is in no operand`);
  return { operands, output };
}

function letterSizes(terms: EinsumTerms, dims: readonly (readonly number[])[]): Map<string, number> {
  const sizes = new Map<string, number>();
  terms.operands.forEach((t, i) => {
    if (t.length !== dims[i].length)
      throw new WebvlError('INVALID_MODEL', `Einsum: '${t}' for rank ${dims[i].length}`);
    const seenHere = new Map<string, number>();
    [...t].forEach((c, k) => {
      const d = dims[i][k];
      // A diagonal's axes must agree exactly.
      if (seenHere.has(c) && seenHere.get(c) !== d)
        throw new WebvlError('INVALID_MODEL', `Einsum: diagonal '${c}' of sizes ${seenHere.get(c)} and ${d}`);
      seenHere.set(c, d);
      const seen = sizes.get(c);
      if (seen !== undefined && seen !== d && seen !== 1 && d !== 1)
        throw new WebvlError('INVALID_MODEL', `Einsum: letter '${c}' has sizes ${seen} and ${d}`);
      sizes.set(c, Math.max(seen ?? d, d));
    });
  });
  return sizes;
}

export function einsumDims(equation: string, dims: readonly (readonly number[])[]): number[] {
  const terms = parseEinsum(
    equation,
    dims.map((d) => d.length),
  );
  const sizes = letterSizes(terms, dims);
  return [...terms.output].map((c) => sizes.get(c) as number);
}

/** `x` (letters `from`) rearranged into the order `to` (a permutation of from), through scratch if needed. */
function arrange(ctx: KernelContext, x: GpuView, from: string, to: string): GpuView {
  if (from === to) return x;
  const perm = [...to].map((c) => from.indexOf(c));
  const out = ctx.scratch(
    x.dtype,
    perm.map((p) => x.dims[p]),
  );
  ops.transpose(ctx, x, out, perm);
  return out;
}

/** Sums `x` (letters `from`) over the letters not in `keep`; returns the result and its letters. */
function sumOut(ctx: KernelContext, x: GpuView, from: string, keep: string): [GpuView, string] {
  const axes = [...from].flatMap((c, i) => (keep.includes(c) ? [] : [i]));
  if (axes.length === 0) return [x, from];
  const kept = [...from].filter((c) => keep.includes(c)).join('');
  const out = ctx.scratch(
    x.dtype,
    [...from].flatMap((_c, i) => (axes.includes(i) ? [] : [x.dims[i]])),
  );
  ops.reduce(ctx, x, out, { op: 'Sum', axes, keepdims: false });
  return [out, kept];
}

const product = (ds: readonly number[]) => ds.reduce((a, b) => a * b, 1);

/** One operand with each letter once: the diagonal of repeated letters (a strided copy), size-1 broadcasts dropped. */
function prepare(
  ctx: KernelContext,
  x: GpuView,
  letters: string,
  sizes: ReadonlyMap<string, number>,
): [GpuView, string] {
  const unique = [...new Set(letters)].join('');
  let view = x;
  if (unique.length !== letters.length) {
    const strides = contiguousStrides(x.dims);
    const dims = [...unique].map((c) => x.dims[letters.indexOf(c)]);
    const diagonalStrides = [...unique].map((c) =>
      [...letters].reduce((sum, l, k) => sum + (l === c ? strides[k] : 0), 0),
    );
    view = ctx.scratch(x.dtype, dims);
    ops.copyStrided(ctx, x, diagonalStrides, 0, view, contiguousStrides(dims), 0, dims, 'Einsum diagonal');
  }
  const kept = [...unique].filter((c, k) => !(view.dims[k] === 1 && (sizes.get(c) ?? 1) > 1)).join('');
  if (kept === unique) return [view, unique];
  return [{ ...view, dims: [...kept].map((c) => view.dims[unique.indexOf(c)]) }, kept];
}

export function einsum(ctx: KernelContext, equation: string, inputs: readonly GpuView[], out: GpuView): void {
  const terms = parseEinsum(
    equation,
    inputs.map((v) => v.dims.length),
  );
  const sizes = letterSizes(
    terms,
    inputs.map((v) => v.dims),
  );
  const operands = inputs.map((x, i) => prepare(ctx, x, terms.operands[i], sizes));
  const { output } = terms;
  if (operands.length === 1) {
    const [summed, letters] = sumOut(ctx, operands[0][0], operands[0][1], output);
    const perm = [...output].map((c) => letters.indexOf(c));
    if (perm.every((p, i) => p === i)) ops.expand(ctx, summed, out);
    else ops.transpose(ctx, summed, out, perm);
    return;
  }
  // Left to right: each product keeps the letters the output or a later operand still needs.
  let [acc, accLetters] = operands[0];
  for (let i = 1; i < operands.length; i++) {
    const [b, bLetters] = operands[i];
    const last = i === operands.length - 1;
    const later =
      operands
        .slice(i + 1)
        .map(([, l]) => l)
        .join('') + output;
    const letters = last
      ? output
      : [...new Set(accLetters + bLetters)].filter((c) => later.includes(c)).join('');
    const target = last
      ? out
      : ctx.scratch(
          out.dtype,
          [...letters].map((c) => sizes.get(c) as number),
        );
    contractPair(ctx, equation, acc, accLetters, b, bLetters, target, letters, sizes);
    [acc, accLetters] = [target, letters];
  }
}

/** out (letters `output`) = the product of a and b summed over the letters neither keeps. */
function contractPair(
  ctx: KernelContext,
  equation: string,
  a0: GpuView,
  ta: string,
  b0: GpuView,
  tb: string,
  out: GpuView,
  output: string,
  sizes: ReadonlyMap<string, number>,
): void {
  // Letters only one operand has and the output lacks are summed away first.
  const [a, la] = sumOut(ctx, a0, ta, tb + output);
  const [b, lb] = sumOut(ctx, b0, tb, ta + output);
  const batch = [...output].filter((c) => la.includes(c) && lb.includes(c)).join('');
  const left = [...output].filter((c) => la.includes(c) && !lb.includes(c)).join('');
  const right = [...output].filter((c) => lb.includes(c) && !la.includes(c)).join('');
  const contract = [...la].filter((c) => lb.includes(c) && !output.includes(c)).join('');
  const size = (letters: string) => product([...letters].map((c) => sizes.get(c) as number));
  for (const c of batch)
    if (a.dims[la.indexOf(c)] !== b.dims[lb.indexOf(c)]) refuse(equation, `batch letter '${c}' broadcasts`);
  const am = arrange(ctx, a, la, batch + left + contract);
  const bm = arrange(ctx, b, lb, batch + contract + right);
  const mDims = [size(batch), size(left), size(right)];
  const have = batch + left + right;
  // In the output's own order the product lands in the output; otherwise in scratch, then one transpose.
  const product3 = have === output ? { ...out, dims: mDims } : ctx.scratch(out.dtype, mDims);
  ops.matmul(
    ctx,
    { ...am, dims: [size(batch), size(left), size(contract)] },
    { ...bm, dims: [size(batch), size(contract), size(right)] },
    null,
    product3,
  );
  if (have === output) return;
  const result = { ...product3, dims: [...have].map((c) => sizes.get(c) as number) };
  ops.transpose(
    ctx,
    result,
    out,
    [...output].map((c) => have.indexOf(c)),
  );
}
