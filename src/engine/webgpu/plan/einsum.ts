// ONNX Einsum in the forms exporters write, as the engine's own kernels: one operand is a transpose and a sum;
// two operands are a batched matmul (letters in both operands and the output are the batch, letters in both
// operands only are contracted), with transposes around it and sums of letters only one operand has.
// Diagonals (a letter twice in one operand) and ellipses are refused.
import { WebvlError } from '../../../errors';
import * as ops from '../ops';
import type { GpuView, KernelContext } from './kernel-context';

export interface EinsumTerms {
  readonly operands: readonly string[];
  readonly output: string;
}

function refuse(equation: string, why: string): never {
  throw new WebvlError('UNSUPPORTED_OP', `Einsum '${equation}': ${why}`, { ops: ['Einsum'] });
}

/** Parses "ij,jk->ik" (an implicit output lists the letters seen once, alphabetically, as ONNX says). */
export function parseEinsum(equation: string, operandCount: number): EinsumTerms {
  const eq = equation.replace(/\s+/g, '');
  if (eq.includes('.')) refuse(equation, 'ellipses are not supported');
  const [lhs, explicit] = eq.split('->');
  const operands = lhs.split(',');
  if (operands.length !== operandCount)
    refuse(equation, `${operands.length} terms for ${operandCount} inputs`);
  if (operands.length > 2) refuse(equation, 'more than two operands');
  for (const t of operands)
    if (new Set(t).size !== t.length) refuse(equation, 'a repeated letter in one operand (a diagonal)');
  const counts = new Map<string, number>();
  for (const t of operands) for (const c of t) counts.set(c, (counts.get(c) ?? 0) + 1);
  const output =
    explicit ??
    [...counts]
      .filter(([, n]) => n === 1)
      .map(([c]) => c)
      .sort()
      .join('');
  for (const c of output) if (!counts.has(c)) refuse(equation, `output letter '${c}' is in no operand`);
  return { operands, output };
}

function letterSizes(terms: EinsumTerms, dims: readonly (readonly number[])[]): Map<string, number> {
  const sizes = new Map<string, number>();
  terms.operands.forEach((t, i) => {
    if (t.length !== dims[i].length)
      throw new WebvlError('INVALID_MODEL', `Einsum: '${t}' for rank ${dims[i].length}`);
    [...t].forEach((c, k) => {
      const d = dims[i][k];
      const seen = sizes.get(c);
      if (seen !== undefined && seen !== d && seen !== 1 && d !== 1)
        throw new WebvlError('INVALID_MODEL', `Einsum: letter '${c}' has sizes ${seen} and ${d}`);
      sizes.set(c, Math.max(seen ?? d, d));
    });
  });
  return sizes;
}

export function einsumDims(equation: string, dims: readonly (readonly number[])[]): number[] {
  const terms = parseEinsum(equation, dims.length);
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

export function einsum(ctx: KernelContext, equation: string, inputs: readonly GpuView[], out: GpuView): void {
  const terms = parseEinsum(equation, inputs.length);
  const { output } = terms;
  if (inputs.length === 1) {
    const [summed, letters] = sumOut(ctx, inputs[0], terms.operands[0], output);
    const perm = [...output].map((c) => letters.indexOf(c));
    if (perm.every((p, i) => p === i)) ops.expand(ctx, summed, out);
    else ops.transpose(ctx, summed, out, perm);
    return;
  }
  const [ta, tb] = terms.operands;
  // Letters only one operand has and the output lacks are summed away first.
  const [a, la] = sumOut(ctx, inputs[0], ta, tb + output);
  const [b, lb] = sumOut(ctx, inputs[1], tb, ta + output);
  const batch = [...output].filter((c) => la.includes(c) && lb.includes(c)).join('');
  const left = [...output].filter((c) => la.includes(c) && !lb.includes(c)).join('');
  const right = [...output].filter((c) => lb.includes(c) && !la.includes(c)).join('');
  const contract = [...la].filter((c) => lb.includes(c) && !output.includes(c)).join('');
  const sizes = letterSizes({ operands: [la, lb], output }, [a.dims, b.dims]);
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
