// Seeded, bounded fuzzing of the ONNX decoder and the graph passes: whatever the bytes, the engine either
// produces a graph or throws a WebvlError, never another exception, never a hang.
import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../src/engine/webgpu/ir/onnx-decode';
import { specialize } from '../../src/engine/webgpu/passes/optimize';
import { isWebvlError } from '../../src/errors';
import { rng } from '../support/random';

const BASE = new Uint8Array(readFileSync('e2e/fixtures/transformer-block/model.onnx'));
const ITERATIONS = 1000;

/** Concrete dims for every graph input: symbolic dims become small numbers. */
function inputDims(graph: ReturnType<typeof decodeModel>, rand: () => number): Record<string, number[]> {
  const sym = new Map<string, number>();
  return Object.fromEntries(
    graph.inputs.map((v) => [
      v.name,
      (v.shape ?? [2]).map((d) => {
        if (typeof d === 'number') return d;
        if (!sym.has(d)) sym.set(d, 1 + Math.floor(rand() * 8));
        return sym.get(d)!;
      }),
    ]),
  );
}

function byteMutation(rand: () => number): Uint8Array {
  const b = BASE.slice();
  switch (Math.floor(rand() * 4)) {
    case 0:
      return b.slice(0, Math.floor(rand() * b.length));
    case 1:
      for (let i = 0; i < 1 + rand() * 64; i++)
        b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
      return b;
    case 2: {
      const at = Math.floor(rand() * b.length);
      const junk = Uint8Array.from({ length: 1 + Math.floor(rand() * 32) }, () => Math.floor(rand() * 256));
      return Uint8Array.from([...b.slice(0, at), ...junk, ...b.slice(at)]);
    }
    default: {
      const at = Math.floor(rand() * b.length);
      return Uint8Array.from([...b.slice(0, at), ...b.slice(at + 1 + Math.floor(rand() * 64))]);
    }
  }
}

/** Well-formed protobuf with semantically hostile content: wrong dims, attributes, wiring, dtypes. */
function structuralMutation(rand: () => number): Uint8Array {
  const m = onnx.ModelProto.decode(BASE);
  const g = m.graph as onnx.GraphProto;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const nodes = g.node as onnx.NodeProto[];
  const inits = g.initializer as onnx.TensorProto[];
  for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
    switch (Math.floor(rand() * 6)) {
      case 0:
        pick(inits).dims = [Math.floor(rand() * 70000), Math.floor(rand() * 3)];
        break;
      case 1: {
        const attrs = (pick(nodes).attribute ?? []) as onnx.AttributeProto[];
        if (attrs.length) {
          const a = pick(attrs);
          a.i = Math.floor(rand() * 20) - 10;
          a.ints = (a.ints ?? []).map(() => Math.floor(rand() * 10) - 5);
          a.f = rand() * 2 - 1;
        }
        break;
      }
      case 2: {
        const inputs = pick(nodes).input ?? [];
        inputs[Math.floor(rand() * inputs.length)] = (pick(nodes).output ?? [''])[0];
        break;
      }
      case 3:
        pick(inits).dataType = pick([1, 6, 7, 9, 10, 11, 16]);
        break;
      case 4:
        pick(nodes).opType = pick(['Add', 'MatMul', 'Softmax', 'Reshape', 'Gather', 'Transpose', 'Concat']);
        break;
      default:
        nodes.splice(Math.floor(rand() * nodes.length), 1);
    }
  }
  return onnx.ModelProto.encode(m).finish();
}

function exercise(bytes: Uint8Array, rand: () => number): 'ok' | 'typed' {
  try {
    const graph = decodeModel(bytes);
    specialize(graph, inputDims(graph, rand));
    return 'ok';
  } catch (e) {
    if (isWebvlError(e)) return 'typed';
    throw new Error(`untyped failure: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

describe('ONNX decoder + passes fuzzing (seeded)', () => {
  it('the unmutated model decodes and specializes', () => {
    expect(exercise(BASE, rng(1))).toBe('ok');
  });

  for (const [name, mutate] of [
    ['byte-level mutations', byteMutation],
    ['structural mutations', structuralMutation],
  ] as const) {
    it(`${name}: ${ITERATIONS} cases, each a graph or a WebvlError`, () => {
      const rand = rng(name.length * 7919);
      const tally = { ok: 0, typed: 0 };
      for (let i = 0; i < ITERATIONS; i++) {
        const bytes = mutate(rand);
        let outcome: 'ok' | 'typed';
        try {
          outcome = exercise(bytes, rand);
        } catch (e) {
          throw new Error(`case ${i}: ${(e as Error).message}`);
        }
        tally[outcome] += 1;
      }
      console.log(`${name}: ${JSON.stringify(tally)}`);
      // Most mutations must be caught; a few harmless ones may still decode.
      expect(tally.typed).toBeGreaterThan(ITERATIONS / 4);
    });
  }
});
