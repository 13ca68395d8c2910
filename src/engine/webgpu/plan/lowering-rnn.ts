// ONNX RNN, GRU and LSTM: the input projection X·Wᵀ of every step and direction as one batched matmul, the biases
// and peepholes packed into one buffer, the initial state copied into place, then the recurrence
// (ops/rnn.ts, one dispatch) and the final H (and C) copied out. What it refuses: recurrentFormProblem.
import { attrFloat, attrInt, attrString, type Node } from '../ir/ir';
import * as ops from '../ops';
import { RNN_ACTIVATION_COUNT, RNN_ACTIVATIONS, RNN_GATES, type RnnCell } from '../ops/rnn';
import type { GpuView } from './kernel-context';
import { type LowerArgs, type Lowering, need, packInputs, unsupported } from './lower-args';

const DEFAULT_ACTIVATIONS: Readonly<Record<RnnCell, readonly string[]>> = {
  RNN: ['Tanh'],
  GRU: ['Sigmoid', 'Tanh'],
  LSTM: ['Sigmoid', 'Tanh', 'Tanh'],
};

const DIRECTIONS = ['forward', 'reverse', 'bidirectional'];

/** The activation names a node asks for, spelled as RNN_ACTIVATIONS spells them (ONNX compares them ignoring case). */
function activations(node: Pick<Node, 'attrs'>, cell: RnnCell, directions: number): readonly string[] {
  const given = node.attrs.activations;
  const names =
    given?.type === 'strings'
      ? given.value
      : Array.from({ length: directions }, () => DEFAULT_ACTIVATIONS[cell]).flat();
  return names.map((n) => Object.keys(RNN_ACTIVATIONS).find((c) => c.toLowerCase() === n.toLowerCase()) ?? n);
}

/**
 * Why the engine cannot run this RNN / GRU / LSTM node, decidable from the node alone (load() refuses it then),
 * or undefined: activations with alpha / beta or outside RNN_ACTIVATIONS, LSTM's input_forget, unknown directions.
 */
export function recurrentFormProblem(node: Node): string | undefined {
  const cell = node.opType as RnnCell;
  if (node.attrs.activation_alpha || node.attrs.activation_beta) return 'activation_alpha / activation_beta';
  if (cell === 'LSTM' && attrInt(node, 'input_forget', 0) !== 0) return 'input_forget';
  const direction = attrString(node, 'direction', 'forward');
  if (!DIRECTIONS.includes(direction)) return `direction '${direction}'`;
  if (node.attrs.activations && node.attrs.activations.type !== 'strings')
    return 'activations must be strings';
  const names = activations(node, cell, direction === 'bidirectional' ? 2 : 1);
  if (names.length !== RNN_ACTIVATION_COUNT[cell] * (direction === 'bidirectional' ? 2 : 1))
    return `${names.length} activations for direction '${direction}'`;
  const unknown = names.find((n) => !RNN_ACTIVATIONS[n]);
  return unknown ? `activation '${unknown}'` : undefined;
}

export function rnnLowering(cell: RnnCell): Lowering {
  return (a: LowerArgs) => {
    const [x, w, r] = [need(a, 0), need(a, 1), need(a, 2)];
    const node = a.node;
    const problem = recurrentFormProblem(node);
    if (problem) unsupported(node, problem);
    const direction = attrString(node, 'direction', 'forward');
    const directions = direction === 'bidirectional' ? 2 : 1;
    const batchMajor = attrInt(node, 'layout', 0) === 1;
    if (x.dims.length !== 3) unsupported(node, `input [${x.dims}]`);
    const [seq, batch] = batchMajor ? [x.dims[1], x.dims[0]] : [x.dims[0], x.dims[1]];
    const hidden = r.dims[2];
    const gh = RNN_GATES[cell] * hidden;
    const clip = attrFloat(node, 'clip');
    // X [1, rows, input] × W [dirs, gates·hidden, input]ᵀ → [dirs, rows, gates·hidden].
    const xw = a.ctx.scratch('float32', [directions, seq * batch, gh]);
    ops.matmul(a.ctx, { ...x, dims: [1, seq * batch, x.dims[2]] }, w, null, xw, { transposeB: true });
    const bias = packInputs(a, 'float32', [
      { index: 3, absentLength: directions * 2 * gh },
      ...(cell === 'LSTM' ? [{ index: 7, absentLength: directions * 3 * hidden }] : []),
    ]);
    const lens = a.inputs[4] ?? a.ctx.constant('int32', [batch], new Int32Array(batch).fill(seq));
    // State [dirs, 5, batch, hidden]: zeros, then H_0 into slot 0 and C_0 into slot 2.
    const state = a.ctx.scratch('float32', [directions, 5, batch, hidden]);
    ops.expand(a.ctx, a.ctx.constant('float32', [], new Float32Array(1)), state);
    const stateDims = [directions, batch, hidden];
    const slotStrides = [5 * batch * hidden, hidden, 1];
    // H_0, C_0, Y_h and Y_c are [dirs, batch, hidden], or [batch, dirs, hidden] with layout 1.
    const outerStrides = batchMajor ? [hidden, directions * hidden, 1] : [batch * hidden, hidden, 1];
    const slot = (i: number) => i * batch * hidden;
    for (const [input, at] of [
      [a.inputs[5], 0],
      [a.inputs[6], 2],
    ] as const)
      if (input) ops.copyStrided(a.ctx, input, outerStrides, 0, state, slotStrides, slot(at), stateDims);
    const y: GpuView =
      a.outputs[0] ??
      a.ctx.scratch(
        'float32',
        batchMajor ? [batch, seq, directions, hidden] : [seq, directions, batch, hidden],
      );
    ops.rnnRecurrence(a.ctx, xw, r, bias.view, lens, y, state, {
      cell,
      seq,
      batch,
      hidden,
      directions,
      reverse: direction === 'reverse',
      batchMajor,
      linearBeforeReset: attrInt(node, 'linear_before_reset', 0) !== 0,
      clip,
      activations: activations(node, cell, directions),
    });
    // The last H is in slot seq % 2 (entries past their length kept theirs); C in slot 2.
    for (const [out, at] of [
      [a.outputs[1], seq % 2],
      [a.outputs[2], 2],
    ] as const)
      if (out) ops.copyStrided(a.ctx, state, slotStrides, slot(at), out, outerStrides, 0, stateDims);
  };
}
