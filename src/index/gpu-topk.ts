// The index's embedding matrix kept in one GPU buffer, searched with shaders/index-topk.wgsl (a partial
// top-k per chunk of rows over many workgroups, then one merge workgroup: two dispatches, one submit). Rows
// are written in place as entries are added (and the last row moved into a hole on removal), so the matrix
// is never re-uploaded whole; the buffer doubles when it fills. Every buffer is reused across searches,
// so memory stays flat however many queries run.
import topkWgsl from '../../shaders/index-topk.wgsl?raw';
import { isSoftwareDevice } from '../engine/adapter-kind';
import { WebvlError } from '../errors';
import type { Hit } from './cpu-topk';

/** The kernel's private top-k list length (MAX_K in the shader). */
export const GPU_MAX_K = 64;
const HIT_BYTES = 8;
/** Rows one workgroup of the partial pass scores (4 per invocation). */
const ROWS_PER_WORKGROUP = 1024;

export class GpuMatrix {
  private matrix: GPUBuffer;
  private capacity: number;
  private readonly query: GPUBuffer;
  private readonly hits: GPUBuffer;
  private readonly readback: GPUBuffer;
  private candidates: GPUBuffer;
  private readonly partialParams: GPUBuffer;
  private readonly mergeParams: GPUBuffer;
  private readonly partial: GPUComputePipeline;
  private readonly merge: GPUComputePipeline;
  /** Software adapters pay per workgroup barrier round: there one workgroup scans all rows. */
  private readonly oneWorkgroup: boolean;
  private searching: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly device: GPUDevice,
    readonly dim: number,
    initialRows = 256,
    /** Scan all rows in one workgroup (default: on software adapters only). */
    oneWorkgroup = isSoftwareDevice(device),
  ) {
    this.capacity = Math.max(1, initialRows);
    this.matrix = this.newMatrix(this.capacity);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    this.query = device.createBuffer({ label: 'index query', size: dim * 4, usage });
    this.hits = device.createBuffer({
      label: 'index hits',
      size: GPU_MAX_K * HIT_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    this.readback = device.createBuffer({
      label: 'index hits readback',
      size: GPU_MAX_K * HIT_BYTES,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const uniform = () =>
      device.createBuffer({
        label: 'index params',
        size: 16,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
    this.partialParams = uniform();
    this.mergeParams = uniform();
    this.oneWorkgroup = oneWorkgroup;
    this.candidates = this.newCandidates(this.capacity);
    const module = device.createShaderModule({ code: topkWgsl });
    const pipeline = (entryPoint: string) =>
      device.createComputePipeline({
        label: `index top-k ${entryPoint}`,
        layout: 'auto',
        compute: { module, entryPoint },
      });
    this.partial = pipeline('partial');
    this.merge = pipeline('merge');
  }

  private newCandidates(rows: number): GPUBuffer {
    const groups = Math.ceil(rows / ROWS_PER_WORKGROUP);
    return this.device.createBuffer({
      label: 'index candidates',
      size: groups * GPU_MAX_K * HIT_BYTES,
      usage: GPUBufferUsage.STORAGE,
    });
  }

  private newMatrix(rows: number): GPUBuffer {
    return this.device.createBuffer({
      label: 'index matrix',
      size: rows * this.dim * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
  }

  /** Writes `rows` ([m, dim] row-major) starting at row `at`, growing the buffer when needed. */
  writeRows(at: number, rows: Float32Array): void {
    const m = rows.length / this.dim;
    if (at + m > this.capacity) {
      let cap = this.capacity;
      while (cap < at + m) cap *= 2;
      const bigger = this.newMatrix(cap);
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(this.matrix, 0, bigger, 0, this.capacity * this.dim * 4);
      this.device.queue.submit([enc.finish()]);
      this.matrix.destroy();
      this.matrix = bigger;
      this.capacity = cap;
      this.candidates.destroy();
      this.candidates = this.newCandidates(cap);
    }
    this.device.queue.writeBuffer(this.matrix, at * this.dim * 4, rows as Float32Array<ArrayBuffer>);
  }

  /** Top-k of the first `n` rows against a unit query; k ≤ GPU_MAX_K. */
  search(query: Float32Array, n: number, k: number): Promise<Hit[]> {
    // One search at a time: the hits and readback buffers are shared.
    const run = this.searching.then(() => this.searchNow(query, n, k));
    this.searching = run.catch(() => undefined);
    return run;
  }

  private async searchNow(query: Float32Array, n: number, k: number): Promise<Hit[]> {
    const kk = Math.min(k, n);
    if (kk <= 0) return [];
    if (kk > GPU_MAX_K) throw new WebvlError('INVALID_INPUT', `k must be ≤ ${GPU_MAX_K} on the GPU path`);
    const { device } = this;
    device.queue.writeBuffer(this.query, 0, query as Float32Array<ArrayBuffer>);
    const groups = this.oneWorkgroup ? 1 : Math.ceil(n / ROWS_PER_WORKGROUP);
    const chunk = Math.ceil(n / groups);
    device.queue.writeBuffer(this.partialParams, 0, new Uint32Array([n, this.dim, kk, chunk]));
    device.queue.writeBuffer(this.mergeParams, 0, new Uint32Array([groups * kk, this.dim, kk, 0]));
    const bind = (pipeline: GPUComputePipeline, entries: [number, GPUBuffer][]) =>
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: entries.map(([binding, buffer]) => ({ binding, resource: { buffer } })),
      });
    const enc = device.createCommandEncoder({ label: 'index search' });
    const pass = enc.beginComputePass();
    pass.setPipeline(this.partial);
    pass.setBindGroup(
      0,
      bind(this.partial, [
        [0, this.matrix],
        [1, this.query],
        [2, this.candidates],
        [3, this.partialParams],
      ]),
    );
    pass.dispatchWorkgroups(groups);
    pass.setPipeline(this.merge);
    pass.setBindGroup(
      0,
      bind(this.merge, [
        [2, this.hits],
        [3, this.mergeParams],
        [4, this.candidates],
      ]),
    );
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(this.hits, 0, this.readback, 0, kk * HIT_BYTES);
    device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, kk * HIT_BYTES);
    const raw = this.readback.getMappedRange(0, kk * HIT_BYTES).slice(0);
    this.readback.unmap();
    const scores = new Float32Array(raw);
    const rows = new Uint32Array(raw);
    const out: Hit[] = [];
    for (let i = 0; i < kk; i++) out.push({ score: scores[i * 2], row: rows[i * 2 + 1] });
    return out;
  }

  destroy(): void {
    for (const b of [
      this.matrix,
      this.candidates,
      this.query,
      this.hits,
      this.readback,
      this.partialParams,
      this.mergeParams,
    ])
      b.destroy();
  }
}

/** A device for the index when WebGPU is there; undefined means the CPU path. */
export async function requestIndexDevice(): Promise<GPUDevice | undefined> {
  try {
    const adapter = await globalThis.navigator?.gpu?.requestAdapter();
    if (!adapter) return undefined;
    // The defaults (128 MiB bindings) hold only ~130k rows of 256 floats; take what the adapter offers.
    const { maxBufferSize, maxStorageBufferBindingSize } = adapter.limits;
    return await adapter.requestDevice({ requiredLimits: { maxBufferSize, maxStorageBufferBindingSize } });
  } catch {
    return undefined;
  }
}
