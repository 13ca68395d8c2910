// The recurrence of ONNX RNN, GRU and LSTM (shaders/rnn.wgsl): one dispatch, a workgroup per direction, after the
// input projection X·Wᵀ of every step (plan/lowering-rnn.ts computes it, packs the biases and fills the state).
import activationsWgsl from '../../../../shaders/activations.wgsl?raw';
import rnnWgsl from '../../../../shaders/rnn.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  elementCount,
  expectDims,
  expectFloat32,
  invalid,
  isFloat,
  specialize,
  UniformWriter,
} from './common';

export type RnnCell = 'RNN' | 'GRU' | 'LSTM';

/** Gates per cell, in ONNX's weight order (RNN i; GRU z, r, h; LSTM i, o, f, c). */
export const RNN_GATES: Readonly<Record<RnnCell, number>> = { RNN: 1, GRU: 3, LSTM: 4 };
/** Activation functions per direction: f (RNN); f, g (GRU); f, g, h (LSTM). */
export const RNN_ACTIVATION_COUNT: Readonly<Record<RnnCell, number>> = { RNN: 1, GRU: 2, LSTM: 3 };

/** The activation functions that take no alpha or beta, as WGSL of x (activations.wgsl's safe forms). */
export const RNN_ACTIVATIONS: Readonly<Record<string, string>> = {
  Sigmoid: 'sigmoid_f32(x)',
  Tanh: 'tanh_f32(x)',
  Relu: 'max(x, 0.0)',
  Softsign: 'x / (1.0 + abs(x))',
  Softplus: 'select(log(1.0 + exp(x)), x, x > 20.0)',
};

export interface RnnParams {
  readonly cell: RnnCell;
  readonly seq: number;
  readonly batch: number;
  readonly hidden: number;
  readonly directions: 1 | 2;
  /** One direction, walked from the last step (direction = reverse). */
  readonly reverse: boolean;
  /** X and Y are [batch, seq, …] (layout = 1). */
  readonly batchMajor: boolean;
  readonly linearBeforeReset: boolean;
  /** Bounds every activation input to [−clip, clip]. */
  readonly clip?: number;
  /** RNN_ACTIVATIONS names, RNN_ACTIVATION_COUNT per direction. */
  readonly activations: readonly string[];
}

/**
 * xw [dirs, rows, gates·hidden] (rows in X's order), r [dirs, gates·hidden, hidden], bias: Wb and Rb
 * [dirs, 2·gates·hidden] then the peepholes [dirs, 3·hidden] (LSTM), lens [batch] (integers), y (Y's dims),
 * state [dirs, 5, batch, hidden] holding H_0 in slot 0 and C_0 in slot 2.
 */
export function rnnRecurrence(
  ctx: KernelContext,
  xw: GpuView,
  r: GpuView,
  bias: GpuView,
  lens: GpuView,
  y: GpuView,
  state: GpuView,
  p: RnnParams,
): void {
  const { cell, seq, batch, hidden, directions } = p;
  const gh = RNN_GATES[cell] * hidden;
  for (const [name, v] of [
    ['projection', xw],
    ['recurrence weight', r],
    ['bias', bias],
    ['output', y],
    ['state', state],
  ] as const)
    expectFloat32(`${cell} ${name}`, v);
  if (isFloat(lens.dtype)) invalid(`${cell}: sequence lengths must be integers`);
  expectDims(`${cell} projection`, xw, [directions, seq * batch, gh]);
  expectDims(`${cell} recurrence weight`, r, [directions, gh, hidden]);
  expectDims(`${cell} sequence lengths`, lens, [batch]);
  expectDims(`${cell} state`, state, [directions, 5, batch, hidden]);
  expectDims(
    `${cell} output`,
    y,
    p.batchMajor ? [batch, seq, directions, hidden] : [seq, directions, batch, hidden],
  );
  const peepholeAt = directions * 2 * gh;
  const biasLength = peepholeAt + (cell === 'LSTM' ? directions * 3 * hidden : 0);
  if (elementCount(bias.dims) !== biasLength)
    invalid(`${cell}: ${elementCount(bias.dims)} bias values, expected ${biasLength}`);
  const perDirection = RNN_ACTIVATION_COUNT[cell];
  if (p.activations.length !== perDirection * directions)
    invalid(`${cell}: ${p.activations.length} activations for ${directions} direction(s)`);
  const cases = p.activations.map((name, slot) => {
    const expr = RNN_ACTIVATIONS[name];
    if (!expr) invalid(`${cell}: activation '${name}' is not supported`);
    return `case ${slot}u: {\n      return ${expr};\n    }`;
  });
  if (p.clip !== undefined && !(p.clip > 0)) invalid(`${cell}: clip ${p.clip} must be positive`);
  if (seq * batch * hidden === 0) return;
  ctx.record({
    label: cell,
    wgsl:
      activationsWgsl +
      specialize(rnnWgsl, {
        CELL: ['RNN', 'GRU', 'LSTM'].indexOf(cell),
        ACTIVATIONS: cases.join('\n    '),
        CLIP: p.clip === undefined ? 'x' : 'clamp(x, -u.clip, u.clip)',
      }),
    cacheKey: `rnn|${cell}|${p.activations.join(',')}|${p.clip === undefined ? '' : 'clip'}`,
    workgroups: [directions],
    bindings: [xw, r, bias, lens, y, state],
    uniforms: new UniformWriter()
      .u32s([seq, batch, hidden, RNN_GATES[cell]])
      .u32s([p.batchMajor ? 1 : 0, directions, p.reverse ? 1 : 0, p.linearBeforeReset ? 1 : 0])
      .u32s([peepholeAt, perDirection])
      .f32s([p.clip ?? 0])
      .finish(),
  });
}
