// Passes on small graphs: node counts before/after, and numerical equivalence of the graph before and
// after (both run by the float64 test interpreter), plus the fixture's NumPy reference.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { cloneGraph, type Graph, type Node } from '../../../src/engine/webgpu/ir/ir';
import { decodeModel } from '../../../src/engine/webgpu/ir/onnx-decode';
import { dropUnreadInitializers, eliminateDeadCode } from '../../../src/engine/webgpu/passes/dead-code';
import { foldConstants } from '../../../src/engine/webgpu/passes/fold-constants';
import { inferShapes } from '../../../src/engine/webgpu/passes/infer-shapes';
import { specialize } from '../../../src/engine/webgpu/passes/optimize';
import { packQuantizedWeights } from '../../../src/engine/webgpu/passes/pack-quantized';
import { uniformFloats } from '../../support/random';
import { interpret } from './reference-interpreter';

function maxDiff(a: HostTensor, b: HostTensor): number {
  expect(a.dims).toEqual(b.dims);
  let m = 0;
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

function ops(g: Graph): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of g.nodes) {
    const k = n.domain ? `${n.domain}:${n.opType}` : n.opType;
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}

function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Node['attrs'] = {},
  domain = '',
): Node {
  return { name: outputs[0], opType, domain, attrs, inputs, outputs };
}

function scalar(v: number): HostTensor {
  return hostTensor('float32', [], [v]);
}

function graph(
  nodes: Node[],
  inits: Record<string, HostTensor>,
  inputs: Graph['inputs'],
  outputs: string[],
): Graph {
  return {
    nodes,
    initializers: new Map(Object.entries(inits)),
    inputs,
    outputs: outputs.map((name) => ({ name, dtype: 'float32' })),
    valueInfo: new Map(),
    opset: 17,
  };
}

const randn = (n: number, seed: number) => uniformFloats(n, seed, -2, 2);

interface JsonTensor {
  dtype: string;
  dims: number[];
  data: number[];
}

describe('transformer-block fixture through the passes', () => {
  const source = decodeModel(readFileSync('e2e/fixtures/transformer-block/model.onnx'));
  const ref = JSON.parse(readFileSync('e2e/fixtures/transformer-block/reference.json', 'utf8')) as Record<
    string,
    Record<string, JsonTensor>
  >;
  const feeds = {
    x: hostTensor('float32', ref.inputs.x.dims, ref.inputs.x.data),
    attention_mask: hostTensor('int64', ref.inputs.attention_mask.dims, ref.inputs.attention_mask.data),
  };
  const expected = hostTensor('float32', ref.outputs.y.dims, ref.outputs.y.data);

  it('fuses one attention, two layer norms (one with the residual add), one GELU, Q/K/V merged: 6 linears → 4; 46 nodes → 12', () => {
    const s = specialize(source, { x: [2, 7, 32], attention_mask: [2, 7] });
    expect(source.nodes.length).toBe(46);
    expect(s.counts).toMatchObject({
      attention: 1,
      layerNorm: 2,
      residualLayerNorm: 1,
      gelu: 1,
      linear: 6,
      mergedProjections: 2,
    });
    expect(ops(s.graph)).toEqual({
      'webvl:LayerNorm': 2,
      'webvl:Linear': 4,
      'webvl:Attention': 1,
      Unsqueeze: 1,
      Cast: 1,
      Sub: 1,
      Mul: 1,
      Add: 1,
    });
    const ln2 = s.graph.nodes.find((n) => n.opType === 'LayerNorm' && n.outputs[0] === 'h2');
    expect(ln2?.inputs).toEqual(['x', 'ln2_g', 'ln2_b', 'o1']);
    expect(ln2?.outputs).toEqual(['h2', 'r1']); // r1 is the next skip connection's input
    expect(
      s.graph.nodes.find((n) => n.opType === 'Linear' && n.outputs[0] === 'g4')?.attrs.activation,
    ).toEqual({
      type: 'string',
      value: 'gelu-erf',
    });
  });

  it('the fused graph computes what the original graph and NumPy compute', () => {
    const s = specialize(source, { x: [2, 7, 32], attention_mask: [2, 7] });
    const before = interpret(source, feeds).y;
    const after = interpret(s.graph, feeds).y;
    expect(maxDiff(before, expected)).toBeLessThan(1e-5);
    expect(maxDiff(after, expected)).toBeLessThan(1e-5);
  });

  it('rejects inputs whose symbolic dims disagree', () => {
    expect(() => specialize(source, { x: [2, 7, 32], attention_mask: [3, 7] })).toThrow(/batch/);
  });
});

function loadJsonFixture(name: string) {
  const ref = JSON.parse(readFileSync(`e2e/fixtures/${name}/reference.json`, 'utf8')) as Record<
    string,
    Record<string, JsonTensor>
  >;
  const tensors = (o: Record<string, JsonTensor>) =>
    Object.fromEntries(
      Object.entries(o).map(([k, t]) => [
        k,
        hostTensor(t.dtype === 'int64' ? 'int64' : 'float32', t.dims, t.data),
      ]),
    );
  return {
    graph: decodeModel(readFileSync(`e2e/fixtures/${name}/model.onnx`)),
    inputs: tensors(ref.inputs),
    outputs: tensors(ref.outputs),
  };
}

describe('the other fixtures through the passes (fused graph vs NumPy)', () => {
  const cases: [string, Record<string, number>][] = [
    [
      'cross-attention-block',
      { 'webvl:Attention': 1, 'webvl:LayerNorm': 2, 'webvl:Linear': 5, Mul: 1, Add: 1 },
    ],
    [
      'decoder-step',
      { 'webvl:Attention': 1, 'webvl:LayerNorm': 1, 'webvl:Linear': 4, 'webvl:StridedConcat': 2 },
    ],
    [
      'tiny-vit',
      { 'webvl:Attention': 1, 'webvl:LayerNorm': 4, 'webvl:Linear': 4, Conv: 1, MatMul: 1, Gather: 1 },
    ],
  ];
  for (const [name, expectedOps] of cases) {
    it(`${name}: fused as expected, same outputs as NumPy`, () => {
      const fx = loadJsonFixture(name);
      const dims = Object.fromEntries(Object.entries(fx.inputs).map(([k, t]) => [k, t.dims]));
      const s = specialize(fx.graph, dims);
      expect(ops(s.graph)).toMatchObject(expectedOps);
      // KV-cache appends copy the new keys/values in place of Transpose + Concat.
      if (name === 'decoder-step') expect(ops(s.graph).Transpose ?? 0).toBe(0);
      // No scale Mul or Softmax left next to the attention: the scale went into the fused node.
      expect(ops(s.graph).Softmax).toBeUndefined();
      const got = interpret(s.graph, fx.inputs);
      for (const [k, want] of Object.entries(fx.outputs)) expect(maxDiff(got[k], want)).toBeLessThan(1e-5);
    });
  }
});

describe('GELU forms', () => {
  const x = { name: 'x', dtype: 'float32' as const, shape: [2, 5] };
  const feeds = { x: hostTensor('float32', [2, 5], randn(10, 7)) };
  const cases: [string, Node[], Record<string, HostTensor>][] = [
    [
      'erf, 0.5·x first',
      [
        node('Mul', ['x', 'half'], ['hx']),
        node('Mul', ['x', 'rsqrt2'], ['s']),
        node('Erf', ['s'], ['e']),
        node('Add', ['one', 'e'], ['a']),
        node('Mul', ['hx', 'a'], ['y']),
      ],
      { half: scalar(0.5), rsqrt2: scalar(Math.SQRT1_2), one: scalar(1) },
    ],
    [
      'tanh',
      [
        node('Pow', ['x', 'three'], ['x3']),
        node('Mul', ['c', 'x3'], ['cx3']),
        node('Add', ['x', 'cx3'], ['inner']),
        node('Mul', ['inner', 'k'], ['ki']),
        node('Tanh', ['ki'], ['t']),
        node('Add', ['t', 'one'], ['a']),
        node('Mul', ['x', 'a'], ['xa']),
        node('Mul', ['xa', 'half'], ['y']),
      ],
      {
        three: scalar(3),
        c: scalar(0.044715),
        k: scalar(Math.sqrt(2 / Math.PI)),
        one: scalar(1),
        half: scalar(0.5),
      },
    ],
    [
      'QuickGELU',
      [node('Mul', ['x', 'c'], ['cx']), node('Sigmoid', ['cx'], ['s']), node('Mul', ['x', 's'], ['y'])],
      { c: scalar(1.702) },
    ],
  ];
  for (const [name, nodes, inits] of cases) {
    it(`${name}: ${nodes.length} nodes → one Gelu, same values`, () => {
      const g = graph(nodes, inits, [x], ['y']);
      const s = specialize(g, { x: [2, 5] });
      expect(ops(s.graph)).toEqual({ 'webvl:Gelu': 1 });
      expect(maxDiff(interpret(s.graph, feeds).y, interpret(g, feeds).y)).toBeLessThan(1e-6);
    });
  }

  it('leaves a look-alike with the wrong constant alone', () => {
    const g = graph(cases[2][1], { c: scalar(1.5) }, [x], ['y']);
    expect(ops(specialize(g, { x: [2, 5] }).graph)).toEqual({ Mul: 2, Sigmoid: 1 });
  });
});

describe('initializers nothing reads', () => {
  it('are dropped, in the graph and its If branches; those a branch reads from the outer scope, or an output names, stay', () => {
    const branch = (name: string, reads: string, own: Record<string, HostTensor>) =>
      graph([node('Add', ['x', reads], [name])], own, [], [name]);
    const g = graph(
      [
        node('If', ['cond'], ['y'], {
          then_branch: { type: 'graph', value: branch('t', 'outer_w', { t_unused: scalar(1) }) },
          else_branch: { type: 'graph', value: branch('e', 'e_w', { e_w: scalar(2) }) },
        }),
      ],
      { outer_w: scalar(3), stale: scalar(4), shown: scalar(5) },
      [
        { name: 'x', dtype: 'float32', shape: [] },
        { name: 'cond', dtype: 'bool', shape: [] },
      ],
      ['y', 'shown'],
    );
    expect(dropUnreadInitializers(g).sort()).toEqual(['stale', 't_unused']);
    expect([...g.initializers.keys()].sort()).toEqual(['outer_w', 'shown']);
    const [thenBranch, elseBranch] = ['then_branch', 'else_branch'].map(
      (k) => (g.nodes[0].attrs[k] as { value: Graph }).value,
    );
    expect(thenBranch.initializers.size).toBe(0);
    expect([...elseBranch.initializers.keys()]).toEqual(['e_w']);
  });

  it("a q4 export's MatMulNBits codes, scales and zero points are gone once packed; every initializer left is read", () => {
    const g = decodeModel(new Uint8Array(readFileSync('tests/corpus/hf/llama-hf/onnx/model_q4.onnx')));
    const sources = new Set(
      g.nodes.filter((n) => n.opType === 'MatMulNBits').flatMap((n) => n.inputs.slice(1).filter(Boolean)),
    );
    expect(sources.size).toBeGreaterThan(0);
    const packed = packQuantizedWeights(g);
    const bytes = (gr: Graph) => [...gr.initializers.values()].reduce((a, t) => a + t.data.byteLength, 0);
    const before = bytes(g);
    dropUnreadInitializers(g);
    for (const name of sources) expect(g.initializers.has(name), name).toBe(false);
    for (const name of packed) expect(g.initializers.has(name), name).toBe(true);
    const read = new Set([...g.nodes.flatMap((n) => n.inputs), ...g.outputs.map((o) => o.name)]);
    for (const name of g.initializers.keys()) expect(read.has(name), name).toBe(true);
    console.log(`llama-hf q4: host initializer bytes ${before} → ${bytes(g)} after packing`);
    expect(bytes(g)).toBeLessThan(before);
  });
});

describe('constant folding and dead code', () => {
  it('folds Shape → Gather → Unsqueeze → Concat shape arithmetic into the Reshape parameter', () => {
    // y = Reshape(x, [batch, -1]) with the batch taken from Shape(x) at run time.
    const g = graph(
      [
        node('Shape', ['x'], ['sh']),
        node('Gather', ['sh', 'zero'], ['b'], { axis: { type: 'int', value: 0 } }),
        node('Unsqueeze', ['b', 'ax0'], ['b1']),
        node('Concat', ['b1', 'minus1'], ['target'], { axis: { type: 'int', value: 0 } }),
        node('Reshape', ['x', 'target'], ['y']),
        node('Relu', ['x'], ['unused']),
      ],
      {
        zero: hostTensor('int64', [], [0]),
        ax0: hostTensor('int64', [1], [0]),
        minus1: hostTensor('int64', [1], [-1]),
      },
      [{ name: 'x', dtype: 'float32', shape: ['n', 3, 4] }],
      ['y'],
    );
    const copy = cloneGraph(g);
    const shapes = inferShapes(copy, { x: [5, 3, 4] });
    expect(copy.nodes.map((n) => n.opType)).toEqual(['Reshape', 'Relu']);
    expect(Array.from(copy.initializers.get('target')?.data as BigInt64Array, Number)).toEqual([5, -1]);
    expect(shapes.get('y')?.dims).toEqual([5, 12]);
    expect(eliminateDeadCode(copy)).toBe(1);
    expect(copy.nodes.map((n) => n.opType)).toEqual(['Reshape']);
    expect(copy.initializers.has('zero')).toBe(false);
  });

  it('folds reductions over any axes (positions from a mask of ones: ReduceSum over axis 1)', () => {
    const g = graph(
      [
        node('ConstantOfShape', ['shape'], ['ones'], {
          value: { type: 'tensor', value: hostTensor('int64', [1], [1]) },
        }),
        node('ReduceSum', ['ones', 'axis1'], ['len'], { keepdims: { type: 'int', value: 0 } }),
        node('ReduceMax', ['m'], ['mx'], { axes: { type: 'ints', value: [0] } }),
      ],
      {
        shape: hostTensor('int64', [2], [2, 5]),
        axis1: hostTensor('int64', [1], [1]),
        m: hostTensor('float32', [2, 3], [1, 9, 3, 4, 2, 6]),
      },
      [],
      ['len', 'mx'],
    );
    expect(foldConstants(g)).toBe(3);
    expect(Array.from(g.initializers.get('len')?.data as BigInt64Array, Number)).toEqual([5, 5]);
    expect(g.initializers.get('mx')?.dims).toEqual([1, 3]);
    expect(Array.from(g.initializers.get('mx')?.data as Float32Array)).toEqual([4, 9, 6]);
  });

  it('folds int64 arithmetic, Equal/Where, Range, ConstantOfShape and Expand on constants', () => {
    const g = graph(
      [
        node('Mul', ['a', 'b'], ['ab']),
        node('Sub', ['ab', 'one'], ['c']),
        node('Equal', ['c', 'five'], ['eq']),
        node('Where', ['eq', 'c', 'b'], ['w']),
        node('Range', ['zero', 'c', 'one'], ['r']),
        node('ConstantOfShape', ['w'], ['z'], {
          value: { type: 'tensor', value: hostTensor('float32', [1], [2.5]) },
        }),
        node('Expand', ['r', 'w'], ['e']),
      ],
      {
        a: hostTensor('int64', [1], [2]),
        b: hostTensor('int64', [1], [3]),
        one: hostTensor('int64', [], [1]),
        five: hostTensor('int64', [1], [5]),
        zero: hostTensor('int64', [], [0]),
      },
      [],
      ['z', 'e'],
    );
    // c = 2·3 − 1 = 5; eq = true → w = [5]; r = [0..4]; z = 2.5 × [5]; e = r.
    expect(foldConstants(g)).toBe(7);
    expect(g.nodes).toEqual([]);
    const get = (n: string) => Array.from(g.initializers.get(n)?.data as ArrayLike<number | bigint>, Number);
    expect(get('w')).toEqual([5]);
    expect(get('r')).toEqual([0, 1, 2, 3, 4]);
    expect(get('z')).toEqual([2.5, 2.5, 2.5, 2.5, 2.5]);
    expect(get('e')).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('attention variants', () => {
  const B = 2;
  const S = 3;
  const H = 2;
  const D = 4;
  const inits = {
    split: hostTensor('int64', [4], [B, S, H, D]),
    merge: hostTensor('int64', [3], [B, S, H * D]),
    sqrtd: scalar(Math.sqrt(D)),
  };
  const tr = (perm: number[]) => ({ perm: { type: 'ints' as const, value: perm } });
  const inputs = ['q', 'k', 'v'].map((name) => ({ name, dtype: 'float32' as const, shape: [B, S, H * D] }));
  const feeds = {
    q: hostTensor('float32', [B, S, H * D], randn(B * S * H * D, 1)),
    k: hostTensor('float32', [B, S, H * D], randn(B * S * H * D, 2)),
    v: hostTensor('float32', [B, S, H * D], randn(B * S * H * D, 3)),
  };

  it('Div scale and Kᵀ as a second Transpose: one Attention node reading the projections in place', () => {
    const g = graph(
      [
        ...['q', 'k', 'v'].flatMap((p) => [
          node('Reshape', [p, 'split'], [`${p}4`]),
          node('Transpose', [`${p}4`], [`${p}h`], tr([0, 2, 1, 3])),
        ]),
        node('Transpose', ['kh'], ['kt'], tr([0, 1, 3, 2])),
        node('MatMul', ['qh', 'kt'], ['s']),
        node('Div', ['s', 'sqrtd'], ['ss']),
        node('Softmax', ['ss'], ['p'], { axis: { type: 'int', value: -1 } }),
        node('MatMul', ['p', 'vh'], ['o']),
        node('Transpose', ['o'], ['ot'], tr([0, 2, 1, 3])),
        node('Reshape', ['ot', 'merge'], ['y']),
      ],
      inits,
      inputs,
      ['y'],
    );
    const s = specialize(g, { q: [B, S, H * D], k: [B, S, H * D], v: [B, S, H * D] });
    expect(ops(s.graph)).toEqual({ 'webvl:Attention': 1 });
    const att = s.graph.nodes[0];
    expect(att.inputs).toEqual(['q', 'k', 'v', '']);
    expect(att.attrs.k_strides).toEqual({ type: 'ints', value: [S * H * D, D, H * D, 1] });
    expect(maxDiff(interpret(s.graph, feeds).y, interpret(g, feeds).y)).toBeLessThan(1e-6);
  });

  it('com.microsoft MultiHeadAttention becomes the same node', () => {
    const g = graph(
      [
        node(
          'MultiHeadAttention',
          ['q', 'k', 'v'],
          ['y'],
          { num_heads: { type: 'int', value: H } },
          'com.microsoft',
        ),
      ],
      {},
      inputs,
      ['y'],
    );
    // The same computation written out with standard ops is the reference.
    const decomposed = graph(
      [
        ...['q', 'k', 'v'].flatMap((p) => [
          node('Reshape', [p, 'split'], [`${p}4`]),
          node('Transpose', [`${p}4`], [`${p}h`], tr(p === 'k' ? [0, 2, 3, 1] : [0, 2, 1, 3])),
        ]),
        node('MatMul', ['qh', 'kh'], ['s']),
        node('Div', ['s', 'sqrtd'], ['ss']),
        node('Softmax', ['ss'], ['p'], { axis: { type: 'int', value: -1 } }),
        node('MatMul', ['p', 'vh'], ['o']),
        node('Transpose', ['o'], ['ot'], tr([0, 2, 1, 3])),
        node('Reshape', ['ot', 'merge'], ['y']),
      ],
      inits,
      inputs,
      ['y'],
    );
    const s = specialize(g, { q: [B, S, H * D], k: [B, S, H * D], v: [B, S, H * D] });
    expect(ops(s.graph)).toEqual({ 'webvl:Attention': 1 });
    expect(maxDiff(interpret(s.graph, feeds).y, interpret(decomposed, feeds).y)).toBeLessThan(1e-6);
  });

  it('does not fuse when the probabilities are also a graph output', () => {
    const g = graph(
      [
        node('MatMul', ['q4', 'kt'], ['s']),
        node('Softmax', ['s'], ['p'], { axis: { type: 'int', value: -1 } }),
        node('MatMul', ['p', 'v4'], ['y']),
      ],
      {},
      [
        { name: 'q4', dtype: 'float32', shape: [1, 1, 3, 4] },
        { name: 'kt', dtype: 'float32', shape: [1, 1, 4, 3] },
        { name: 'v4', dtype: 'float32', shape: [1, 1, 3, 4] },
      ],
      ['y', 'p'],
    );
    const s = specialize(g, { q4: [1, 1, 3, 4], kt: [1, 1, 4, 3], v4: [1, 1, 3, 4] });
    expect(ops(s.graph)).toEqual({ MatMul: 2, Softmax: 1 });
  });
});
