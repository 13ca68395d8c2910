// WebGpuBackend.load(): what it refuses, and with which typed error, before any GPU work.
import { describe, expect, it } from 'vitest';
import { supportedOps, unsupportedOps, WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { WebvlError } from '../../../src/errors';
import { onnx } from '../../support/onnx-proto';

function model(ops: { opType: string; domain?: string }[]): Uint8Array {
  const f32 = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } },
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: ops.map((o, i) => ({
          opType: o.opType,
          domain: o.domain ?? '',
          name: `n${i}`,
          input: [i === 0 ? 'x' : `v${i - 1}`],
          output: [i === ops.length - 1 ? 'y' : `v${i}`],
        })),
        input: [f32('x')],
        output: [f32('y')],
      },
    }),
  ).finish();
}

async function loadError(bytes: Uint8Array): Promise<WebvlError> {
  // No GPU is given: load() must reject before it ever asks for a device.
  const backend = new WebGpuBackend({ gpu: undefined });
  try {
    await backend.load(bytes);
  } catch (e) {
    if (e instanceof WebvlError) return e;
    throw e;
  }
  throw new Error('load() accepted the model');
}

describe('WebGpuBackend.load', () => {
  it('rejects ops it cannot run with UNSUPPORTED_OP, naming them', async () => {
    const e = await loadError(
      model([{ opType: 'Relu' }, { opType: 'Loop' }, { opType: 'Foo', domain: 'com.example' }]),
    );
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.details?.ops).toEqual(['Loop', 'com.example:Foo']);
  });

  it('rejects unsupported forms of supported ops at load time (casts to types not held, com.microsoft Attention with past_sequence_length)', () => {
    const ln = (axis: number) => ({
      opType: 'LayerNormalization',
      domain: '',
      attrs: { axis: { type: 'int' as const, value: axis } },
      inputs: ['x', 'g'],
    });
    // Any axis: the normalized axes are flattened into one row (lowering.ts).
    expect(unsupportedOps([ln(-1)])).toEqual([]);
    expect(unsupportedOps([ln(1)])).toEqual([]);
    // The optional Mean / InvStdDev outputs: any of them (one alone: the other goes to scratch).
    expect(unsupportedOps([{ ...ln(-1), outputs: ['y', 'mean', 'inv'] }])).toEqual([]);
    expect(unsupportedOps([{ ...ln(-1), outputs: ['y', '', ''] }])).toEqual([]);
    expect(unsupportedOps([{ ...ln(-1), outputs: ['y', 'mean'] }])).toEqual([]);
    expect(unsupportedOps([{ ...ln(-1), outputs: ['y', '', 'inv'] }])).toEqual([]);
    // Dropout runs as inference (y = x, mask all true); a training_mode input is read when the plan is made
    // (random dropping is refused then, see fold-constants.ts), so load() accepts it.
    const dropout = (inputs: string[]) => ({
      opType: 'Dropout',
      domain: '',
      attrs: {},
      inputs,
      outputs: ['y', 'z'],
    });
    expect(unsupportedOps([dropout(['x', 'ratio'])])).toEqual([]);
    expect(unsupportedOps([dropout(['x', 'ratio', 'training_mode'])])).toEqual([]);
    const cast = (to: number) => ({
      opType: 'Cast',
      domain: '',
      attrs: { to: { type: 'int' as const, value: to } },
      inputs: ['x'],
    });
    // Cast to float16 runs too: half values are held as f32 and rounded (unary.ts).
    expect(unsupportedOps([cast(1)])).toEqual([]);
    expect(unsupportedOps([cast(10)])).toEqual([]);
    // bfloat16 is held as float32; string (8), float8 (17) and int4 (22) are not held.
    expect(unsupportedOps([cast(16)])).toEqual([]);
    for (const to of [8, 17, 22]) expect(unsupportedOps([cast(to)])).toEqual(['Cast']);
    const msAttention = (inputs: string[]) => ({
      opType: 'Attention',
      domain: 'com.microsoft',
      attrs: {},
      inputs,
    });
    expect(unsupportedOps([msAttention(['x', 'w', 'b'])])).toEqual([]);
    // mask_index runs (passes/padding-mask.ts); past_sequence_length (input 6) does not.
    expect(unsupportedOps([msAttention(['x', 'w', 'b', 'mask_index'])])).toEqual([]);
    expect(unsupportedOps([msAttention(['x', 'w', 'b', '', '', '', 'past_sequence_length'])])).toEqual([
      'com.microsoft:Attention',
    ]);
  });

  it('rejects corrupt bytes with INVALID_MODEL', async () => {
    const bytes = model([{ opType: 'Relu' }]);
    expect((await loadError(bytes.subarray(0, bytes.length - 7))).code).toBe('INVALID_MODEL');
  });

  it('asks for a device only for models it can run (no WebGPU here → NO_WEBGPU)', async () => {
    const g = globalThis as { navigator?: unknown };
    const saved = g.navigator;
    Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
    try {
      expect((await loadError(model([{ opType: 'Relu' }, { opType: 'Softmax' }]))).code).toBe('NO_WEBGPU');
    } finally {
      Object.defineProperty(globalThis, 'navigator', { value: saved, configurable: true });
    }
  });

  it('claims the ONNX ops of the transformer models, and unsupportedOps agrees with supportedOps', () => {
    const claimed = supportedOps();
    for (const op of [
      'MatMul',
      'Gemm',
      'Softmax',
      'LayerNormalization',
      'Gather',
      'Conv',
      'Erf',
      'Reshape',
      'Shape',
    ]) {
      expect(claimed).toContain(op);
    }
    expect(unsupportedOps(claimed.map((opType) => ({ opType, domain: '' })))).toEqual([]);
    expect(unsupportedOps([{ opType: 'Loop', domain: '' }])).toEqual(['Loop']);
  });
});
