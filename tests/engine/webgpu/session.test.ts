// The executor end to end in Node: plan, buffer reuse, plan cache, GPU-resident outputs as feeds.
import { afterAll, describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { layerNormCpu } from '../../../src/engine/webgpu/cpu/layer-norm';
import { cpuTensor } from '../../../src/engine/webgpu/cpu/tensor';
import type { WebGpuDeviceTensor } from '../../../src/engine/webgpu/gpu/device-tensor';
import type { Graph, Node } from '../../../src/engine/webgpu/ir/ir';
import { nodeGpu } from './gpu';

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

function node(opType: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node {
  return { name: outputs[0], opType, domain: '', attrs, inputs, outputs };
}

/** y = Transpose(Reshape(x·2 + b, [B, 2, C/2]), perm 0,2,1); m = Cast(mask) + 1 (float). */
function graph(): Graph {
  return {
    nodes: [
      node('Mul', ['x', 'two'], ['x2']),
      node('Add', ['x2', 'b'], ['xb']),
      node('Reshape', ['xb', 'shape'], ['r']),
      node('Transpose', ['r'], ['y'], { perm: { type: 'ints', value: [0, 2, 1] } }),
      node('Cast', ['mask'], ['mf'], { to: { type: 'int', value: 1 } }),
      node('Add', ['mf', 'one'], ['m']),
    ],
    initializers: new Map<string, HostTensor>([
      ['two', hostTensor('float32', [], [2])],
      ['one', hostTensor('float32', [], [1])],
      ['b', hostTensor('float32', [4], [0.5, -1, 2, 3])],
      ['shape', hostTensor('int64', [3], [0, 2, 2])],
    ]),
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['batch', 4] },
      { name: 'mask', dtype: 'int64', shape: ['batch', 3] },
    ],
    outputs: [
      { name: 'y', dtype: 'float32' },
      { name: 'm', dtype: 'float32' },
    ],
    valueInfo: new Map(),
    opset: 17,
  };
}

/** The same computation with plain loops. */
function expected(x: Float32Array, batch: number, mask: number[]): { y: number[]; m: number[] } {
  const b = [0.5, -1, 2, 3];
  const y: number[] = [];
  for (let n = 0; n < batch; n++) {
    const xb = [0, 1, 2, 3].map((c) => x[n * 4 + c] * 2 + b[c]);
    // r[n] is [[xb0, xb1], [xb2, xb3]]; transposed: [[xb0, xb2], [xb1, xb3]]
    y.push(xb[0], xb[2], xb[1], xb[3]);
  }
  return { y, m: mask.map((v) => v + 1) };
}

describe('WebGpuSession', () => {
  it('runs a small graph, caches the plan per shape signature, reports stats', async () => {
    const session = await backend.loadGraph(graph());
    for (const batch of [2, 3, 2]) {
      const x = Float32Array.from({ length: batch * 4 }, (_, i) => Math.sin(i) * 3);
      const mask = Array.from({ length: batch * 3 }, (_, i) => i % 2);
      const out = await session.run({
        x: hostTensor('float32', [batch, 4], x),
        mask: hostTensor('int64', [batch, 3], mask),
      });
      const want = expected(x, batch, mask);
      const y = out.y as HostTensor;
      expect(y.dims).toEqual([batch, 2, 2]);
      for (const [i, v] of Array.from(y.data as Float32Array).entries()) expect(v).toBeCloseTo(want.y[i], 5);
      expect(Array.from((out.m as HostTensor).data as Float32Array)).toEqual(want.m);
      // Reshape is free; Mul, Add, Transpose, Cast, Add are one dispatch each.
      expect(session.lastRunStats()).toEqual({
        dispatches: 5,
        bytesRead: batch * 4 * 4 + batch * 3 * 4,
        feedsInPlace: 0,
        // The constants 2, b [4] and 1 as f32 words (the Reshape's shape folds away).
        weightBytes: (1 + 4 + 1) * 4,
      });
    }
    expect(session.describePlan()?.signature).toBe('x:2x4;mask:2x3');
    await session.release();
  });

  it('prepare builds the plan without running: output shapes as a run gives them, and the run reuses it', async () => {
    const session = await backend.loadGraph(graph());
    const { pipelines } = await backend.engineDevice();
    const shapes = await session.prepare({
      x: { dtype: 'float32', dims: [3, 4] },
      mask: { dtype: 'int64', dims: [3, 3] },
    });
    expect(shapes).toEqual({
      y: { dtype: 'float32', dims: [3, 2, 2] },
      m: { dtype: 'float32', dims: [3, 3] },
    });
    expect(session.lastRunStats()).toBeUndefined(); // nothing ran
    const compiled = pipelines.size;
    const x = Float32Array.from({ length: 12 }, (_, i) => i / 3);
    const mask = [1, 0, 1, 0, 0, 1, 1, 1, 0];
    const out = await session.run({
      x: hostTensor('float32', [3, 4], x),
      mask: hostTensor('int64', [3, 3], mask),
    });
    expect(pipelines.size).toBe(compiled);
    expect(session.describePlan()?.signature).toBe('x:3x4;mask:3x3');
    const want = expected(x, 3, mask);
    for (const [i, v] of Array.from((out.y as HostTensor).data as Float32Array).entries()) {
      expect(v).toBeCloseTo(want.y[i], 5);
    }
    for (const name of ['y', 'm']) expect(out[name].dims).toEqual(shapes?.[name].dims);
    await session.release();
  });

  it('keeps a plan per past length for a growing decoder: a second pass over 24 lengths builds none', async () => {
    // present = Concat(past, Neg(x)) along axis 1, as a decoder without a position input grows its past.
    const g: Graph = {
      nodes: [
        node('Neg', ['x'], ['nx']),
        node('Concat', ['past', 'nx'], ['present'], { axis: { type: 'int', value: 1 } }),
      ],
      initializers: new Map(),
      inputs: [
        { name: 'past', dtype: 'float32', shape: [1, 'past_length', 4] },
        { name: 'x', dtype: 'float32', shape: [1, 1, 4] },
      ],
      outputs: [{ name: 'present', dtype: 'float32' }],
      valueInfo: new Map(),
      opset: 17,
    };
    const decode = async (session: Awaited<ReturnType<WebGpuBackend['loadGraph']>>) => {
      let past = hostTensor('float32', [1, 0, 4], new Float32Array(0));
      for (let step = 0; step < 24; step++) {
        const x = Float32Array.from({ length: 4 }, (_, i) => step * 4 + i);
        past = (await session.run({ past, x: hostTensor('float32', [1, 1, 4], x) })).present as HostTensor;
      }
      // Every step appended the negated row: the present holds -0, -1, …, -95.
      expect(Array.from(past.data as Float32Array)).toEqual(Array.from({ length: 96 }, (_, i) => -i));
      return session.describePlan()?.planCache;
    };
    const session = await backend.loadGraph(g);
    expect(await decode(session)).toMatchObject({ plans: 24, built: 24 });
    expect(await decode(session)).toMatchObject({ plans: 24, built: 24 });
    await session.release();

    // A budget of 0 bytes keeps only the plan in use: every step plans again.
    const { device } = await backend.engineDevice();
    const lean = new WebGpuBackend({ device, planCacheBytes: 0 });
    const leanSession = await lean.loadGraph(g);
    expect(await decode(leanSession)).toMatchObject({ plans: 1, built: 24 });
    const cache = await decode(leanSession);
    expect(cache).toMatchObject({ plans: 1, built: 48 });
    expect(cache?.bytes).toBeGreaterThan(0);
    await leanSession.release();
    expect(() => new WebGpuBackend({ planCacheBytes: -1 })).toThrow(/planCacheBytes/);
    expect(() => new WebGpuBackend({ planCacheBytes: 1.5 })).toThrow(/planCacheBytes/);
  });

  it('profiles a run: one timed entry per dispatch, in the plan order, named by node and kernel', async () => {
    const session = await backend.loadGraph(graph());
    const feeds = {
      x: hostTensor('float32', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]),
      mask: hostTensor('int64', [2, 3], [1, 0, 1, 0, 0, 1]),
    };
    const profile = await session.profile(feeds);
    const plan = session.describePlan();
    expect(profile).toBeDefined();
    // SwiftShader has timestamp-query; Reshape is a view (no dispatch): Mul, Add, Transpose, Cast, Add.
    expect(profile?.map((d) => d.node)).toEqual(
      plan?.steps.flatMap((s) => Array.from({ length: s.dispatches }, () => s.name)),
    );
    expect(profile?.map((d) => d.op)).toEqual(['Mul', 'Add', 'Transpose', 'Cast', 'Add']);
    for (const d of profile ?? []) {
      expect(plan?.programKeys).toContain(d.program);
      expect(d.ms).toBeGreaterThanOrEqual(0);
    }
    expect(profile?.reduce((sum, d) => sum + d.ms, 0)).toBeGreaterThan(0);
    // The plan is the one runs use: a plain run after the profile builds nothing new.
    await session.run(feeds);
    expect(session.describePlan()?.planCache.built).toBe(1);
    await session.release();

    // Outputs a profiled run would keep on the GPU go back to the pool: profiling leaks nothing.
    const kept = await backend.loadGraph(graph(), { keepOnDevice: ['y'] });
    const { pool } = await backend.engineDevice();
    await kept.profile(feeds);
    const inUse = pool.inUseCount;
    for (let i = 0; i < 3; i++) await kept.profile(feeds);
    expect(pool.inUseCount).toBe(inUse);
    await kept.release();
  });

  it('keeps outputs on the GPU and takes them back as feeds without a read-back', async () => {
    // z = x·2 + b keeps x's shape, so z can be fed back in as x.
    const g = graph();
    g.outputs = [{ name: 'xb', dtype: 'float32' }];
    const session = await backend.loadGraph(g, { keepOnDevice: ['xb'] });
    const x = Float32Array.from({ length: 8 }, (_, i) => i - 3);
    const mask = hostTensor('int64', [2, 3], [1, 0, 1, 1, 1, 0]);
    const first = await session.run({ x: hostTensor('float32', [2, 4], x), mask });
    const z = first.xb as WebGpuDeviceTensor;
    expect(z.location).toBe('gpu');
    expect(z.dims).toEqual([2, 4]);
    expect(session.lastRunStats()?.bytesRead).toBe(0);
    const second = await session.run({ x: z, mask });
    expect(session.lastRunStats()?.bytesRead).toBe(0);
    const result = await (second.xb as WebGpuDeviceTensor).download();
    const b = [0.5, -1, 2, 3];
    const want = Array.from(x, (v, i) => (v * 2 + b[i % 4]) * 2 + b[i % 4]);
    expect(Array.from(result.data as Float32Array)).toEqual(want);
    z.dispose();
    (second.xb as WebGpuDeviceTensor).dispose();
    await session.release();
  });

  it('reads device feeds in place, whichever buffer each run brings, and host feeds as before', async () => {
    const g = graph();
    g.outputs = [{ name: 'xb', dtype: 'float32' }];
    const session = await backend.loadGraph(g, { keepOnDevice: ['xb'] });
    const mask = hostTensor('int64', [2, 3], [1, 0, 1, 1, 1, 0]);
    const b = [0.5, -1, 2, 3];
    const xs = [0, 1].map((k) => Float32Array.from({ length: 8 }, (_, i) => (i - 3) * (k + 1)));
    // Two device tensors (each a first run's output, x·2 + b) to feed back as x.
    const onDevice = [];
    for (const x of xs)
      onDevice.push(
        (await session.run({ x: hostTensor('float32', [2, 4], x), mask })).xb as WebGpuDeviceTensor,
      );
    const twice = (x: Float32Array) => Array.from(x, (v, i) => (v * 2 + b[i % 4]) * 2 + b[i % 4]);
    const once = (x: Float32Array) => Array.from(x, (v, i) => v * 2 + b[i % 4]);
    // Alternate: device A, device B, a host feed (back to the plan's own buffer), device A again.
    const order = [0, 1, -1, 0];
    for (const k of order) {
      const x = k < 0 ? hostTensor('float32', [2, 4], xs[1]) : onDevice[k];
      const out = (await session.run({ x, mask })).xb as WebGpuDeviceTensor;
      expect(session.lastRunStats()?.feedsInPlace).toBe(k < 0 ? 0 : 1);
      const got = Array.from((await out.download()).data as Float32Array);
      expect(got).toEqual(k < 0 ? once(xs[1]) : twice(xs[k]));
      out.dispose();
    }
    for (const t of onDevice) t.dispose();
    await session.release();
  });

  it('copies a device feed that a graph output shares storage with (a Reshape of an input)', async () => {
    const g = graph();
    g.outputs = [{ name: 'r0', dtype: 'float32' }];
    g.nodes.push(node('Reshape', ['x', 'flat'], ['r0']));
    g.initializers.set('flat', hostTensor('int64', [2], [0, 4]));
    const session = await backend.loadGraph(g, { keepOnDevice: ['r0'] });
    const mask = hostTensor('int64', [2, 3], [1, 0, 1, 1, 1, 0]);
    const x = Float32Array.from({ length: 8 }, (_, i) => i + 0.5);
    const first = (await session.run({ x: hostTensor('float32', [2, 4], x), mask })).r0 as WebGpuDeviceTensor;
    const second = (await session.run({ x: first, mask })).r0 as WebGpuDeviceTensor;
    expect(session.lastRunStats()?.feedsInPlace).toBe(0);
    expect(Array.from((await second.download()).data as Float32Array)).toEqual(Array.from(x));
    first.dispose();
    second.dispose();
    await session.release();
  });

  it('a float16 input holds float16 values: a float32 feed is rounded to nearest even, a float16 feed read as it is', async () => {
    const g: Graph = {
      nodes: [node('Cast', ['x'], ['y'], { to: { type: 'int', value: 1 } })],
      initializers: new Map(),
      inputs: [{ name: 'x', dtype: 'float16', shape: [4] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      valueInfo: new Map(),
      opset: 17,
    };
    const session = await backend.loadGraph(g, { label: 'half input' });
    // 0.1 and 1/3 are not halves; 2049 ties between 2048 and 2050 (even: 2048); 65520 rounds to infinity.
    const values = [0.1, 1 / 3, 2049, 65520];
    // Rounded by hand: 0.1 → 0x2e66 = 0.0999755859375, 1/3 → 0x3555 = 0.333251953125.
    const rounded = [0.0999755859375, 0.333251953125, 2048, Number.POSITIVE_INFINITY];
    const fromFloats = await session.run({ x: hostTensor('float32', [4], values) });
    expect(Array.from((fromFloats.y as HostTensor).data as Float32Array)).toEqual(rounded);
    const halves = hostTensor('float16', [4], [0x2e66, 0x3555, 0x6800, 0x7c00]);
    const fromHalves = await session.run({ x: halves });
    expect(Array.from((fromHalves.y as HostTensor).data as Float32Array)).toEqual(rounded);
    await session.release();
  });

  it('reuses buffers across a long chain: 11 intermediates live in 2 buffers', async () => {
    // y = Neg(Sigmoid(Neg(Sigmoid(…x)))) — 12 nodes, each value dead after the next node reads it.
    const nodes: Node[] = [];
    let prev = 'x';
    for (let i = 0; i < 12; i++) {
      const out = i === 11 ? 'y' : `t${i}`;
      nodes.push(node(i % 2 === 0 ? 'Sigmoid' : 'Neg', [prev], [out]));
      prev = out;
    }
    const g: Graph = {
      nodes,
      initializers: new Map(),
      inputs: [{ name: 'x', dtype: 'float32', shape: [4096] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      valueInfo: new Map(),
      opset: 17,
    };
    const pool = (await backend.engineDevice()).pool;
    const session = await backend.loadGraph(g);
    const before = pool.createdCount;
    const x = Float32Array.from({ length: 4096 }, (_, i) => Math.cos(i) * 5);
    const out = await session.run({ x: hostTensor('float32', [4096], x) });
    // Input + output + two ping-pong temporaries at most (the pool may already hold some from earlier tests).
    expect(pool.createdCount - before).toBeLessThanOrEqual(4);
    expect(session.describePlan()?.dispatches).toBe(12);
    const want = Array.from(x, (v) => {
      let t = v;
      for (let i = 0; i < 12; i++) t = i % 2 === 0 ? 1 / (1 + Math.exp(-t)) : -t;
      return t;
    });
    const got = Array.from((out.y as HostTensor).data as Float32Array);
    got.forEach((v, i) => {
      expect(v).toBeCloseTo(want[i], 6);
    });
    await session.release();
  });

  it('ONNX forms: Dropout mask output, Conv auto_pad SAME_*, Mod fmod=1 on int64, Pow with mixed dtypes', async () => {
    const g: Graph = {
      nodes: [
        node('Dropout', ['x'], ['xd', 'keep']),
        // 1×1×3×3 ones kernel over a 1×1×4×4 input, stride 2: SAME_* pads 1 pixel in total per axis.
        node('Conv', ['img', 'w'], ['upper'], {
          auto_pad: { type: 'string', value: 'SAME_UPPER' },
          strides: { type: 'ints', value: [2, 2] },
        }),
        node('Conv', ['img', 'w'], ['lower'], {
          auto_pad: { type: 'string', value: 'SAME_LOWER' },
          strides: { type: 'ints', value: [2, 2] },
        }),
        node('Mod', ['i', 'j'], ['fmod'], { fmod: { type: 'int', value: 1 } }),
        node('Mod', ['i', 'j'], ['pymod']),
        node('Pow', ['xd', 'i'], ['pf']),
      ],
      initializers: new Map<string, HostTensor>([
        ['w', hostTensor('float32', [1, 1, 3, 3], new Array(9).fill(1))],
        ['j', hostTensor('int64', [4], [2, -2, -2, 2])],
      ]),
      inputs: [
        { name: 'x', dtype: 'float32', shape: [4] },
        { name: 'img', dtype: 'float32', shape: [1, 1, 4, 4] },
        { name: 'i', dtype: 'int64', shape: [4] },
      ],
      outputs: ['xd', 'keep', 'upper', 'lower', 'fmod', 'pymod', 'pf'].map((name) => ({
        name,
        dtype:
          name === 'keep'
            ? ('bool' as const)
            : name.endsWith('mod')
              ? ('int64' as const)
              : ('float32' as const),
      })),
      valueInfo: new Map(),
      opset: 17,
    };
    const session = await backend.loadGraph(g);
    const img = Array.from({ length: 16 }, (_, k) => k);
    const out = await session.run({
      x: hostTensor('float32', [4], [1.5, -2, 0.5, 3]),
      img: hostTensor('float32', [1, 1, 4, 4], img),
      i: hostTensor('int64', [4], [-7, 7, -7, 3]),
    });
    const values = (name: string) => Array.from((out[name] as HostTensor).data, Number);
    expect(values('xd')).toEqual([1.5, -2, 0.5, 3]);
    expect(values('keep')).toEqual([1, 1, 1, 1]);
    // Sums of the 3×3 windows: SAME_UPPER pads [0, 0] before and [1, 1] after, SAME_LOWER [1, 1] before.
    const window = (r0: number, c0: number) => {
      let s = 0;
      for (let r = r0; r < r0 + 3; r++)
        for (let c = c0; c < c0 + 3; c++) if (r >= 0 && r < 4 && c >= 0 && c < 4) s += img[r * 4 + c];
      return s;
    };
    expect(values('upper')).toEqual([window(0, 0), window(0, 2), window(2, 0), window(2, 2)]);
    expect(values('lower')).toEqual([window(-1, -1), window(-1, 1), window(1, -1), window(1, 1)]);
    expect(values('fmod')).toEqual([-1, 1, -1, 1]);
    expect(values('pymod')).toEqual([1, -1, -1, 1]);
    const pf = values('pf');
    for (const [k, v] of [1.5 ** -7, (-2) ** 7, 0.5 ** -7, 3 ** 3].entries()) expect(pf[k]).toBeCloseTo(v, 4);
    await session.release();
  });

  it('LayerNormalization with its Mean and InvStdDev outputs (fused, stats=1) matches the CPU twin', async () => {
    const x = [1, 2, 3, 4, -1, 0.5, 8, 2];
    const gamma = [1, 0.5, 2, -1];
    const beta = [0, 1, 0, 0.25];
    const session = await backend.loadGraph({
      nodes: [
        node('LayerNormalization', ['x', 'g', 'b'], ['y', 'mean', 'inv'], {
          epsilon: { type: 'float', value: 0.01 },
        }),
      ],
      initializers: new Map<string, HostTensor>([
        ['g', hostTensor('float32', [4], gamma)],
        ['b', hostTensor('float32', [4], beta)],
      ]),
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4] }],
      outputs: ['y', 'mean', 'inv'].map((name) => ({ name, dtype: 'float32' as const })),
      valueInfo: new Map(),
      opset: 17,
    });
    const out = await session.run({ x: hostTensor('float32', [2, 4], x) });
    const want = layerNormCpu(
      cpuTensor([2, 4], x),
      cpuTensor([4], gamma),
      cpuTensor([4], beta),
      undefined,
      0.01,
    );
    expect(session.describePlan()?.opCounts).toEqual({ 'webvl:LayerNorm': 1 });
    for (const [name, w] of [
      ['y', want.out],
      ['mean', want.mean],
      ['inv', want.invStdDev],
    ] as const) {
      const got = out[name] as HostTensor;
      expect(got.dims).toEqual(w.dims);
      for (const [i, v] of Array.from(got.data as Float32Array).entries())
        expect(v).toBeCloseTo(w.data[i], 5);
    }
    await session.release();
  });
});
