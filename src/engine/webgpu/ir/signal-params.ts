// ONNX DFT and STFT: what a node asks for once its input's shape and its small inputs are known, shared by shape
// inference (op-shapes.ts) and the lowering (plan/lowering-signal.ts).
import { WebvlError } from '../../../errors';
import type { Values } from './const-eval';
import { attrInt, type Node } from './ir';

export interface DftParams {
  /** The signal's axis (never the last, which holds real or real and imaginary parts). */
  readonly axis: number;
  /** The transform's length n (the signal is cut or zero-padded to it). */
  readonly length: number;
  /** Output bins: n, or n / 2 + 1 one-sided. */
  readonly bins: number;
  readonly inverse: boolean;
}

export interface StftParams {
  readonly step: number;
  readonly frameLength: number;
  readonly frames: number;
  readonly bins: number;
}

function fail(node: Node, why: string): never {
  throw new WebvlError('INVALID_MODEL', `${node.opType} node '${node.name}': ${why}`);
}

/** Input i's first value; UNSUPPORTED_OP when it is not known when planning. */
function known(node: Node, constant: (i: number) => Values | undefined, i: number, what: string): number {
  const v = constant(i);
  if (!v || v.data.length === 0)
    throw new WebvlError(
      'UNSUPPORTED_OP',
      `${node.opType} node '${node.name}': ${what} must be known when planning`,
      {
        ops: [node.opType],
      },
    );
  return v.data[0];
}

/** DFT (opset 17: axis attribute, default 1; opset 20: axis input, default −2). */
export function dftParams(
  node: Node,
  dims: readonly number[],
  constant: (i: number) => Values | undefined,
  opset: number,
): DftParams {
  const rank = dims.length;
  const given =
    opset >= 20 ? (node.inputs[2] ? known(node, constant, 2, 'axis') : -2) : attrInt(node, 'axis', 1);
  const axis = given < 0 ? given + rank : given;
  if (rank < 2 || (dims[rank - 1] !== 1 && dims[rank - 1] !== 2) || axis < 0 || axis >= rank - 1)
    fail(node, `axis ${given} of input [${dims}]`);
  const length = node.inputs[1] ? known(node, constant, 1, 'dft_length') : dims[axis];
  if (!Number.isInteger(length) || length < 1) fail(node, `dft_length ${length}`);
  const bins = attrInt(node, 'onesided', 0) === 1 ? Math.floor(length / 2) + 1 : length;
  return { axis, length, bins, inverse: attrInt(node, 'inverse', 0) === 1 };
}

/** STFT of signal [batch, length, channels]: frames of frame_length (or the window's length) every frame_step. */
export function stftParams(
  node: Node,
  dims: readonly number[],
  windowDims: readonly number[] | undefined,
  constant: (i: number) => Values | undefined,
): StftParams {
  if (dims.length !== 3 || (dims[2] !== 1 && dims[2] !== 2)) fail(node, `signal [${dims}]`);
  const step = known(node, constant, 1, 'frame_step');
  const frameLength = node.inputs[3]
    ? known(node, constant, 3, 'frame_length')
    : (windowDims?.[0] ?? dims[1]);
  if (
    !Number.isInteger(step) ||
    step < 1 ||
    !Number.isInteger(frameLength) ||
    frameLength < 1 ||
    frameLength > dims[1] ||
    (windowDims && windowDims[0] !== frameLength)
  )
    fail(
      node,
      `frame_step ${step}, frame_length ${frameLength}, window [${windowDims}] for ${dims[1]} samples`,
    );
  return {
    step,
    frameLength,
    frames: Math.floor((dims[1] - frameLength) / step) + 1,
    bins: attrInt(node, 'onesided', 1) === 1 ? Math.floor(frameLength / 2) + 1 : frameLength,
  };
}
