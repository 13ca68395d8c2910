// The engine's core kernels (ops/*-core.ts) on a real device (SwiftShader) vs float64 loops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuView, KernelContext, ProgramSpec } from '../../../src/engine/webgpu/kernel-context';
import { layerNormCore } from '../../../src/engine/webgpu/ops/layer-norm-core';
import { matmulCore } from '../../../src/engine/webgpu/ops/matmul-core';
import { reduceCore } from '../../../src/engine/webgpu/ops/reduce-core';
import { nodeGpu } from './gpu';

let device: GPUDevice;
beforeAll(async () => {
  const adapter = await nodeGpu().requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  device = await adapter.requestDevice();
});
afterAll(() => device?.destroy());

function data(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 4 - 2;
  });
}

function upload(dims: number[], values?: Float32Array): GpuView {
  const n = dims.reduce((a, b) => a * b, 1);
  const buffer = device.createBuffer({
    size: Math.max(16, n * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  if (values)
    device.queue.writeBuffer(buffer, 0, values.buffer as ArrayBuffer, values.byteOffset, values.byteLength);
  return { buffer, dtype: 'float32', dims };
}

/** Records through a minimal context, runs, reads back `outs`. */
async function run(record: (ctx: KernelContext) => void, outs: GpuView[]): Promise<Float32Array[]> {
  const programs: ProgramSpec[] = [];
  const ctx: KernelContext = {
    device,
    features: {
      shaderF16: false,
      subgroups: false,
      maxInvocationsPerWorkgroup: 256,
      maxWorkgroupStorageSize: 16384,
      maxComputeWorkgroupsPerDimension: 65535,
      softwareAdapter: true,
    },
    record: (p) => programs.push(p),
    scratch: () => {
      throw new Error('core kernels use no scratch');
    },
  };
  record(ctx);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const p of programs) {
    const pipeline = await device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: p.wgsl }) },
    });
    const entries: GPUBindGroupEntry[] = p.bindings.map((v, i) => ({
      binding: i,
      resource: { buffer: v.buffer, size: v.dims.reduce((a, b) => a * b, 1) * 4 },
    }));
    if (p.uniforms) {
      const u = device.createBuffer({
        size: Math.ceil(p.uniforms.byteLength / 16) * 16,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(u, 0, p.uniforms);
      entries.push({ binding: p.bindings.length, resource: { buffer: u } });
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(p.workgroups[0], p.workgroups[1] ?? 1, p.workgroups[2] ?? 1);
  }
  pass.end();
  const stagings = outs.map((o) => {
    const size = o.dims.reduce((a, b) => a * b, 1) * 4;
    const s = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(o.buffer, 0, s, 0, size);
    return s;
  });
  device.queue.submit([encoder.finish()]);
  return Promise.all(
    stagings.map(async (s) => {
      await s.mapAsync(GPUMapMode.READ);
      const out = new Float32Array(s.getMappedRange().slice(0));
      s.unmap();
      return out;
    }),
  );
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('core kernels vs float64 loops', () => {
  it('matmul: broadcast batch [2,1]×[3], transposed B, bias, GELU epilogue, ragged sizes', async () => {
    const [m, k, n] = [5, 19, 7];
    const a = data(2 * 1 * m * k, 1);
    const b = data(3 * n * k, 2); // [3, N, K] (transposed)
    const bias = data(n, 3);
    const out = upload([2, 3, m, n]);
    const [got] = await run(
      (ctx) =>
        matmulCore(ctx, upload([2, 1, m, k], a), upload([3, n, k], b), upload([n], bias), out, {
          transposeB: true,
          activation: 'gelu-tanh',
        }),
      [out],
    );
    const want: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let r = 0; r < m; r++)
          for (let c = 0; c < n; c++) {
            let s = bias[c];
            for (let t = 0; t < k; t++) s += a[(i * m + r) * k + t] * b[(j * n + c) * k + t];
            want.push(0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s ** 3))));
          }
    expect(maxDiff(got, want)).toBeLessThan(2e-5);
  });

  it('matmul vec4 path (K, N multiples of 4): [2, 6, 16] × [16, 12] + bias, ReLU', async () => {
    const [m, k, n] = [6, 16, 12];
    const a = data(2 * m * k, 9);
    const b = data(k * n, 10);
    const bias = data(n, 11);
    const out = upload([2, m, n]);
    const [got] = await run(
      (ctx) =>
        matmulCore(ctx, upload([2, m, k], a), upload([k, n], b), upload([n], bias), out, {
          activation: 'relu',
        }),
      [out],
    );
    const want: number[] = [];
    for (let i = 0; i < 2 * m; i++)
      for (let c = 0; c < n; c++) {
        let s = bias[c];
        for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * n + c];
        want.push(Math.max(s, 0));
      }
    expect(maxDiff(got, want)).toBeLessThan(2e-5);
  });

  it('layer norm with residual add and residual-sum output', async () => {
    const [rows, cols] = [6, 33];
    const x = data(rows * cols, 4);
    const r = data(rows * cols, 5);
    const g = data(cols, 6);
    const b = data(cols, 7);
    const out = upload([rows, cols]);
    const sum = upload([rows, cols]);
    const [y, s] = await run(
      (ctx) =>
        layerNormCore(
          ctx,
          upload([rows, cols], x),
          upload([cols], g),
          upload([cols], b),
          upload([rows, cols], r),
          out,
          sum,
          { epsilon: 1e-5 },
        ),
      [out, sum],
    );
    const wantY: number[] = [];
    const wantS: number[] = [];
    for (let i = 0; i < rows; i++) {
      const row = Array.from({ length: cols }, (_, c) => x[i * cols + c] + r[i * cols + c]);
      const mu = row.reduce((p, v) => p + v, 0) / cols;
      const va = row.reduce((p, v) => p + (v - mu) ** 2, 0) / cols;
      row.forEach((v, c) => {
        wantS.push(v);
        wantY.push(((v - mu) / Math.sqrt(va + 1e-5)) * g[c] + b[c]);
      });
    }
    expect(maxDiff(s, wantS)).toBeLessThan(1e-6);
    expect(maxDiff(y, wantY)).toBeLessThan(1e-5);
  });

  it('reduce: Sum over a middle axis, Mean over the last, Max over all', async () => {
    const dims = [3, 4, 5];
    const x = data(60, 8);
    const xv = () => upload(dims, x);
    const sum = upload([3, 1, 5]);
    const mean = upload([3, 4]);
    const max = upload([1, 1, 1]);
    const [s, me, mx] = await run(
      (ctx) => {
        reduceCore(ctx, xv(), sum, { op: 'Sum', axes: [1] });
        reduceCore(ctx, xv(), mean, { op: 'Mean', axes: [-1], keepdims: false });
        reduceCore(ctx, xv(), max, { op: 'Max' });
      },
      [sum, mean, max],
    );
    const at = (i: number, j: number, l: number) => x[(i * 4 + j) * 5 + l];
    const wantSum: number[] = [];
    for (let i = 0; i < 3; i++)
      for (let l = 0; l < 5; l++) wantSum.push([0, 1, 2, 3].reduce((p, j) => p + at(i, j, l), 0));
    const wantMean: number[] = [];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) wantMean.push([0, 1, 2, 3, 4].reduce((p, l) => p + at(i, j, l), 0) / 5);
    expect(maxDiff(s, wantSum)).toBeLessThan(1e-5);
    expect(maxDiff(me, wantMean)).toBeLessThan(1e-6);
    expect(mx[0]).toBe(Math.max(...x));
  });
});
