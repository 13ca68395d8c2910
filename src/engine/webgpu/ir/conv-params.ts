// ONNX Conv (and ConvInteger, QLinearConv): the geometry a node asks for once its input and weight shapes are
// known, over any number of spatial axes, shared by shape inference (op-shapes.ts) and the lowerings. The
// attribute checks are shared with ConvTranspose (conv-transpose-params.ts). auto_pad SAME_UPPER / SAME_LOWER
// pad so that out = ceil(in / stride), the odd one at the end (UPPER) or at the start (LOWER).
import { WebvlError } from '../../../errors';
import { attrInt, attrInts, attrString, type Node } from './ir';
import type { PoolParams } from './pool-params';

/** A pool's window geometry, plus groups and output channels. */
export interface ConvParams extends Omit<PoolParams, 'countIncludePad' | 'storageOrder'> {
  readonly group: number;
  readonly outChannels: number;
}

/**
 * Windows that tile the input (a patch embedding): strides equal to the kernel, no padding or dilation. The one
 * form of Conv over three spatial axes the engine runs (plan/lowering.ts patchConv), with one group.
 */
export function isPatchConv(
  p: Pick<ConvParams, 'kernel' | 'strides' | 'dilations' | 'padsBegin' | 'padsEnd'>,
): boolean {
  return (
    p.kernel.every((k, i) => p.strides[i] === k && p.dilations[i] === 1) &&
    [...p.padsBegin, ...p.padsEnd].every((v) => v === 0)
  );
}

/** The attributes every convolution shares, read and checked for `rank` spatial axes. */
export interface ConvAttributes {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** The `pads` attribute: begins then ends. */
  readonly pads: readonly number[];
  readonly autoPad: 'NOTSET' | 'VALID' | 'SAME_UPPER' | 'SAME_LOWER';
  readonly group: number;
  /** INVALID_MODEL naming the node. */
  readonly fail: (why: string) => never;
}

const AUTO_PADS = ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'] as const;
const isAutoPad = (v: string): v is ConvAttributes['autoPad'] => (AUTO_PADS as readonly string[]).includes(v);

export function convAttributes(
  node: Node,
  xDims: readonly number[],
  wDims: readonly number[],
): ConvAttributes {
  const fail = (why: string): never => {
    throw new WebvlError('INVALID_MODEL', `${node.opType} node '${node.name}': ${why}`);
  };
  const rank = xDims.length - 2;
  if (rank < 1 || wDims.length !== xDims.length) fail(`input [${xDims}] and weight [${wDims}]`);
  const group = attrInt(node, 'group', 1);
  if (!Number.isInteger(group) || group < 1 || xDims[1] % group !== 0)
    fail(`${xDims[1]} input channels in ${group} groups`);
  const kernel = attrInts(node, 'kernel_shape') ?? wDims.slice(2);
  if (kernel.join() !== wDims.slice(2).join()) fail(`kernel_shape [${kernel}] but weight [${wDims}]`);
  const ints = (name: string, fallback: number, length = rank): readonly number[] => {
    const v = attrInts(node, name) ?? Array<number>(length).fill(fallback);
    if (v.length !== length) fail(`${name} [${v}] for ${rank} spatial axes`);
    return v;
  };
  const strides = ints('strides', 1);
  const dilations = ints('dilations', 1);
  const pads = ints('pads', 0, 2 * rank);
  if ([...strides, ...dilations].some((v) => !Number.isInteger(v) || v < 1))
    fail('strides and dilations must be positive');
  if (pads.some((v) => !Number.isInteger(v) || v < 0)) fail('pads must not be negative');
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (!isAutoPad(autoPad)) return fail(`auto_pad '${autoPad}'`);
  return { kernel, strides, dilations, pads, autoPad, group, fail };
}

export function convParams(node: Node, xDims: readonly number[], wDims: readonly number[]): ConvParams {
  const { kernel, strides, dilations, pads, autoPad, group, fail } = convAttributes(node, xDims, wDims);
  const spatial = xDims.slice(2);
  const rank = spatial.length;
  const outChannels = wDims[0];
  if (wDims[1] * group !== xDims[1] || outChannels % group !== 0)
    fail(`input [${xDims}], weight [${wDims}], group ${group}`);
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  const outSpatial = spatial.map((size, i) => {
    const span = (kernel[i] - 1) * dilations[i] + 1;
    let [begin, end] = [pads[i], pads[i + rank]];
    if (autoPad === 'VALID') [begin, end] = [0, 0];
    else if (autoPad !== 'NOTSET') {
      const total = Math.max((Math.ceil(size / strides[i]) - 1) * strides[i] + span - size, 0);
      const small = Math.floor(total / 2);
      begin = autoPad === 'SAME_LOWER' ? total - small : small;
      end = total - begin;
    }
    padsBegin.push(begin);
    padsEnd.push(end);
    return Math.floor((size + begin + end - span) / strides[i]) + 1;
  });
  if (outSpatial.some((d) => d < 1)) fail(`no output from input [${xDims}] and weight [${wDims}]`);
  return { kernel, strides, dilations, padsBegin, padsEnd, outSpatial, group, outChannels };
}
