// A plan: one specialized graph turned into a fixed list of dispatches over fixed buffers. Built once per
// input-shape signature; a run then only writes inputs, encodes the dispatches and reads outputs.
import { WebvlError } from '../../../errors';
import { type DType, type HostTensor, sizeOf } from '../../tensor';
import type { BufferPool } from '../gpu/buffer-pool';
import { BUFFER_COPY_DST, BUFFER_COPY_SRC, BUFFER_STORAGE } from '../gpu/gpu-flags';
import type { PipelineCache } from '../gpu/pipeline-cache';
import { toValues } from '../ir/const-eval';
import { type Graph, type Node, opKey, topologicalOrder, WEBVL_DOMAIN } from '../ir/ir';
import { derivedFrom } from '../passes/derived-constants';
import type { Specialized } from '../passes/optimize';
import {
  alignUp,
  bindGroupOf,
  buildDispatches,
  type Dispatch,
  encodeDispatches,
  gpuElementBytes,
} from './dispatch';
import type { GpuView, KernelContext, KernelFeatures, ProgramSpec } from './kernel-context';
import { FOLD_ONLY_OPS, type LowerArgs, lowering, VIEW_OPS } from './lowering';

export const STORAGE_USAGE = BUFFER_STORAGE | BUFFER_COPY_SRC | BUFFER_COPY_DST;

/** Converts host data into what the kernels read: f32 stays, float16 widens to f32, integers/bools → i32. */
export function toGpuData(t: HostTensor): Float32Array | Int32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  if (t.dtype === 'float16') return Float32Array.from(toValues(t).data);
  const out = new Int32Array(t.data.length);
  if (t.data instanceof BigInt64Array) {
    for (let i = 0; i < out.length; i++) {
      const v = t.data[i];
      out[i] = v > 2147483647n ? 2147483647 : v < -2147483648n ? -2147483648 : Number(v);
    }
  } else {
    out.set(t.data as ArrayLike<number>);
  }
  return out;
}

/** float16 data as uploaded for the matmul kernels' half-precision B: raw halves, padded to whole u32 words. */
export function toGpuHalfData(t: HostTensor): Uint16Array {
  const halves = t.data as Uint16Array;
  if (halves.length % 2 === 0) return halves;
  const padded = new Uint16Array(halves.length + 1);
  padded.set(halves);
  return padded;
}

/** How a constant is stored on the GPU when not as the kernels' usual f32 / i32 words. */
export type WeightFormat = 'half' | 'packed';

/**
 * Constants stored in another form: float16 ones that only ever serve as B of a matmul or as a Gather's table
 * stay half (keep-half-weights.ts); the packed quantized weights of QMatMul and QGather nodes (input 1) go up as their
 * raw bytes (pack-quantized.ts, pack-quantized-gather.ts).
 */
function weightFormats(graph: Graph): Map<string, WeightFormat> {
  const out = new Map<string, WeightFormat>();
  const bad = new Set<string>();
  for (const n of graph.nodes) {
    const matmul =
      ((n.domain === '' || n.domain === 'ai.onnx') && (n.opType === 'MatMul' || n.opType === 'Gemm')) ||
      (n.domain === WEBVL_DOMAIN && n.opType === 'Linear');
    const quantized = n.domain === WEBVL_DOMAIN && (n.opType === 'QMatMul' || n.opType === 'QGather');
    const gather = (n.domain === '' || n.domain === 'ai.onnx') && n.opType === 'Gather';
    n.inputs.forEach((name, slot) => {
      const t = graph.initializers.get(name);
      if (quantized && slot === 1 && t) out.set(name, 'packed');
      else if (t?.dtype === 'float16' && ((matmul && slot === 1) || (gather && slot === 0)))
        out.set(name, 'half');
      else if (t?.dtype === 'float16') bad.add(name);
    });
  }
  for (const name of bad) if (out.get(name) === 'half') out.delete(name);
  return out;
}

/** A constant's bytes as uploaded in `format` (whole u32 words). */
export function gpuWeightData(t: HostTensor, format?: WeightFormat): ArrayBufferView {
  if (format === 'half') return toGpuHalfData(t);
  if (format === 'packed') return t.data;
  return toGpuData(t);
}

/** Device-wide objects a plan builds on. */
export interface PlanDeps {
  readonly device: GPUDevice;
  readonly features: KernelFeatures;
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  /**
   * GPU copy of a model initializer, uploaded once per session (keyed by the tensor object and format): f32 /
   * i32 words, the float16 tensor's raw halves, or a packed quantized weight's raw bytes.
   */
  weight(t: HostTensor, format?: WeightFormat): GPUBuffer;
}

interface Storage {
  buffer?: GPUBuffer;
  bytes: number;
  lastUse: number;
  kind: 'input' | 'output' | 'temp' | 'const';
}

interface ValueSlot {
  storage: Storage;
  dtype: DType;
  dims: readonly number[];
  format?: WeightFormat;
}

export interface PlanStep {
  readonly op: string;
  readonly name: string;
  readonly dispatches: number;
}

export interface PlanOutput {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Set when the output is a constant (folded completely): no GPU work needed. */
  readonly constant?: HostTensor;
  readonly buffer?: GPUBuffer;
  readonly bytes: number;
}

export interface PlanInput {
  readonly name: string;
  /** How the buffer holds it: float16 inputs are held as float32. */
  readonly dtype: DType;
  /** The dtype the graph declares. */
  readonly declared: DType;
  readonly dims: readonly number[];
  readonly buffer: GPUBuffer;
  readonly bytes: number;
}

export class Plan {
  readonly steps: PlanStep[] = [];
  readonly inputs: PlanInput[] = [];
  readonly outputs: PlanOutput[] = [];
  /** The distinct pipeline cache keys of the plan's programs (which kernel variants it runs). */
  programKeys: readonly string[] = [];
  private dispatchList: Dispatch[] = [];
  /** Per dispatch, in order: the step it serves and its program's pipeline cache key. */
  private dispatchOrigins: { readonly step: PlanStep; readonly program: string }[] = [];
  private readonly owned: GPUBuffer[] = [];
  private readonly pooled: GPUBuffer[] = [];
  private programs: readonly ProgramSpec[] = [];
  private uniformBuffer: GPUBuffer | undefined;
  /**
   * Inputs whose dispatches may read a fed device buffer in place of the plan's own (bindFeeds): the buffer
   * they read now, and which dispatches read it. An input a graph output shares storage with is not here.
   */
  private readonly rebindable = new Map<string, { own: GPUBuffer; bound: GPUBuffer; readers: number[] }>();

  private constructor(
    private readonly deps: PlanDeps,
    readonly specialized: Specialized,
    /**
     * The plan of the work that depends only on context inputs (passes/hoist-context.ts): run when those
     * change, its outputs are this plan's inputs of the same names. Owned: released with this plan.
     */
    readonly prelude?: Plan,
  ) {}

  get dispatchCount(): number {
    return this.dispatchList.length;
  }

  /** GPU memory the plan holds while cached: its inputs, intermediates, scratch and uniforms (not weights). */
  get gpuBytes(): number {
    let bytes = this.prelude?.gpuBytes ?? 0;
    for (const b of this.owned) bytes += b.size;
    for (const b of this.pooled) bytes += b.size;
    return bytes;
  }

  /** Builds the plan: buffer lifetimes → reuse, kernels recorded, pipelines compiled, bind groups made. */
  static async build(deps: PlanDeps, specialized: Specialized, prelude?: Plan): Promise<Plan> {
    const plan = new Plan(deps, specialized, prelude);
    try {
      const programs = plan.record();
      await plan.finish(programs);
    } catch (e) {
      plan.release();
      throw e;
    }
    return plan;
  }

  private record(): ProgramSpec[] {
    const { graph, shapes } = this.specialized;
    const { device, pool } = this.deps;
    const order = topologicalOrder(graph);
    const formats = weightFormats(graph);
    const slots = new Map<string, ValueSlot>();
    const shapeOf = (name: string) => {
      // Constants created by passes carry their own dims.
      const s = shapes.get(name) ?? graph.initializers.get(name);
      if (!s) throw new WebvlError('INTERNAL', `no shape inferred for '${name}'`);
      return s;
    };
    const newSlot = (name: string, kind: Storage['kind']): ValueSlot => {
      const s = shapeOf(name);
      const format = kind === 'const' ? formats.get(name) : undefined;
      if (format) {
        const bytesPerElement = format === 'half' ? 2 : 1;
        const slot: ValueSlot = {
          storage: { bytes: alignUp(Math.max(4, sizeOf(s.dims) * bytesPerElement), 4), lastUse: -1, kind },
          dtype: format === 'half' ? 'float16' : s.dtype,
          dims: s.dims,
          format,
        };
        slots.set(name, slot);
        return slot;
      }
      // float16 values (inputs, activations of fp16 exports) are held as f32: the kernels compute in f32, and
      // outputs are rounded back to half precision when read (readback.ts) or cast (Cast to float16).
      const bytes = Math.max(
        4,
        sizeOf(s.dims) * gpuElementBytes(s.dtype === 'float16' ? 'float32' : s.dtype),
      );
      const slot: ValueSlot = {
        storage: { bytes, lastUse: -1, kind },
        dtype: s.dtype === 'float16' ? 'float32' : s.dtype,
        dims: s.dims,
      };
      slots.set(name, slot);
      return slot;
    };
    for (const input of graph.inputs) {
      const slot = newSlot(input.name, 'input');
      const buffer = pool.acquire(slot.storage.bytes, STORAGE_USAGE, `input ${input.name}`);
      this.pooled.push(buffer);
      slot.storage.buffer = buffer;
      this.inputs.push({
        name: input.name,
        dtype: slot.dtype,
        declared: input.dtype,
        dims: slot.dims,
        buffer,
        bytes: slot.storage.bytes,
      });
    }
    // Constants go up when a kernel binds one (GpuView.buffer read), so the operands lowerings read on the host
    // (a Reshape's shape, Slice's starts, Resize's scales) never take a GPU buffer.
    const uploads = new Map<Storage, () => GPUBuffer>();
    const bufferOf = (storage: Storage): GPUBuffer | undefined => {
      const upload = uploads.get(storage);
      if (upload && !storage.buffer) storage.buffer = upload();
      uploads.delete(storage);
      return storage.buffer;
    };
    const constantSlot = (name: string): ValueSlot | undefined => {
      const t = graph.initializers.get(name);
      if (!t) return undefined;
      const slot = newSlot(name, 'const');
      uploads.set(slot.storage, () => {
        // The model's initializers, and constants derived from them alone, are the session's (shared by plans).
        const sources = this.specialized.sourceInitializers;
        if (sources.has(t) || derivedFrom(t)?.every((s) => sources.has(s)))
          return this.deps.weight(t, slot.format);
        // Folded at plan time: owned by this plan.
        const data = gpuWeightData(t, slot.format);
        const buffer = device.createBuffer({
          size: alignUp(Math.max(4, data.byteLength), 4),
          usage: STORAGE_USAGE,
          label: name,
        });
        device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
        this.owned.push(buffer);
        return buffer;
      });
      return slot;
    };

    // Pass 1: decide which values alias which storage and when each storage is last read.
    const outputNames = new Set(graph.outputs.map((o) => o.name));
    const isView = (n: Node) => (n.domain === '' || n.domain === 'ai.onnx') && VIEW_OPS.has(n.opType);
    order.forEach((node, step) => {
      for (const name of node.inputs) {
        if (!name) continue;
        const slot = slots.get(name) ?? constantSlot(name);
        if (!slot) throw new WebvlError('INTERNAL', `value '${name}' read before it is produced`);
        slot.storage.lastUse = Math.max(slot.storage.lastUse, step);
      }
      if (isView(node)) {
        const src = slots.get(node.inputs[0]) as ValueSlot;
        const s = shapeOf(node.outputs[0]);
        slots.set(node.outputs[0], { storage: src.storage, dtype: src.dtype, dims: s.dims });
        return;
      }
      if (FOLD_ONLY_OPS.has(node.opType) || !lowering(node)) {
        throw new WebvlError(
          'UNSUPPORTED_OP',
          `${opKey(node)} node '${node.name}' cannot run on the GPU here`,
          { ops: [opKey(node)] },
        );
      }
      for (const o of node.outputs) if (o) newSlot(o, outputNames.has(o) ? 'output' : 'temp');
    });
    for (const o of graph.outputs) {
      const slot = slots.get(o.name) ?? constantSlot(o.name);
      if (!slot) throw new WebvlError('INVALID_MODEL', `graph output '${o.name}' is never produced`);
      slot.storage.lastUse = Number.POSITIVE_INFINITY;
    }

    // Pass 2: assign buffers (temps reuse freed ones) and record kernels node by node.
    const free: GPUBuffer[] = [];
    const takeBuffer = (storage: Storage, label: string): GPUBuffer => {
      let best = -1;
      for (let i = 0; i < free.length; i++) {
        const size = free[i].size;
        if (size >= storage.bytes && size <= storage.bytes * 4 && (best < 0 || size < free[best].size))
          best = i;
      }
      if (best >= 0) return free.splice(best, 1)[0];
      const buffer = pool.acquire(storage.bytes, STORAGE_USAGE, label);
      this.pooled.push(buffer);
      return buffer;
    };
    const programs: ProgramSpec[] = [];
    const ctx = this.kernelContext(programs);
    const view = (slot: ValueSlot): GpuView => {
      const { storage, dtype, dims } = slot;
      if (!uploads.has(storage)) return { buffer: storage.buffer as GPUBuffer, dtype, dims };
      return {
        get buffer() {
          return bufferOf(storage) as GPUBuffer;
        },
        dtype,
        dims,
      };
    };
    order.forEach((node, step) => {
      const before = programs.length;
      if (!isView(node)) {
        const outputs = node.outputs.map((o) => {
          const slot = slots.get(o) as ValueSlot;
          if (!slot.storage.buffer) slot.storage.buffer = takeBuffer(slot.storage, o);
          return view(slot);
        });
        const inputs = node.inputs.map((name) => (name ? view(slots.get(name) as ValueSlot) : null));
        const fn = lowering(node);
        const args: LowerArgs = {
          ctx,
          node,
          inputs,
          outputs,
          opset: graph.opset,
          constant: (i) => {
            const t = node.inputs[i] ? graph.initializers.get(node.inputs[i]) : undefined;
            return t && toValues(t);
          },
        };
        try {
          fn?.(args);
        } catch (e) {
          // Say which node failed: kernel errors only know their own views.
          if (e instanceof WebvlError)
            throw new WebvlError(e.code, `${opKey(node)} node '${node.name}': ${e.message}`, e.details);
          throw e;
        }
      }
      this.steps.push({ op: opKey(node), name: node.name, dispatches: programs.length - before });
      // Storage whose last reader was this node is free for the next nodes' outputs.
      const released = new Set<Storage>();
      for (const name of node.inputs) {
        const st = name ? slots.get(name)?.storage : undefined;
        if (st && st.kind === 'temp' && st.lastUse === step && st.buffer && !released.has(st)) {
          released.add(st);
          free.push(st.buffer);
        }
      }
      for (const o of node.outputs) {
        const st = slots.get(o)?.storage;
        // Outputs nobody reads (e.g. an unused second output) are free at once.
        if (st && st.kind === 'temp' && st.lastUse < 0 && st.buffer && !released.has(st))
          free.push(st.buffer);
      }
    });
    for (const o of graph.outputs) {
      const slot = slots.get(o.name) as ValueSlot;
      const t = graph.initializers.get(o.name);
      if (t) this.outputs.push({ name: o.name, dtype: t.dtype, dims: t.dims, constant: t, bytes: 0 });
      else {
        // A float16 output is held as f32 on the GPU and narrowed to halves when read back. The graph's declared
        // float kind wins over the inferred one: a Gather from a table kept half (keep-half-weights.ts) yields
        // float16 where the model, through its dropped Cast, declares float32.
        const inferred = shapes.get(o.name)?.dtype === 'float16' ? 'float16' : slot.dtype;
        const logical =
          slot.dtype === 'float32' && (o.dtype === 'float32' || o.dtype === 'float16') ? o.dtype : inferred;
        this.outputs.push({
          name: o.name,
          dtype: logical,
          dims: slot.dims,
          buffer: bufferOf(slot.storage),
          bytes: sizeOf(slot.dims) * gpuElementBytes(slot.dtype),
        });
      }
    }
    this.programKeys = [...new Set(programs.map((p) => p.cacheKey))];
    const outputBuffers = new Set(this.outputs.map((o) => o.buffer));
    for (const input of this.inputs) {
      if (outputBuffers.has(input.buffer)) continue;
      const readers = programs.flatMap((p, i) =>
        p.bindings.some((v) => v.buffer === input.buffer) ? [i] : [],
      );
      this.rebindable.set(input.name, { own: input.buffer, bound: input.buffer, readers });
    }
    const stepOf = this.steps.flatMap((step) => Array.from({ length: step.dispatches }, () => step));
    this.dispatchOrigins = programs.map((p, i) => ({ step: stepOf[i], program: p.cacheKey }));
    return programs;
  }

  private kernelContext(programs: ProgramSpec[]): KernelContext {
    const { device, features } = this.deps;
    return {
      device,
      features,
      record: (program) => {
        programs.push(program);
      },
      scratch: (dtype, dims) => {
        const bytes = Math.max(4, sizeOf(dims) * gpuElementBytes(dtype));
        const buffer = this.deps.pool.acquire(bytes, STORAGE_USAGE, 'scratch');
        this.pooled.push(buffer);
        return { buffer, dtype, dims };
      },
      constant: (dtype, dims, data) => {
        const buffer = device.createBuffer({
          size: alignUp(Math.max(4, data.byteLength), 4),
          usage: STORAGE_USAGE,
          label: 'kernel constant',
        });
        device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
        this.owned.push(buffer);
        return { buffer, dtype, dims };
      },
    };
  }

  private async finish(programs: ProgramSpec[]): Promise<void> {
    const built = await buildDispatches(this.deps.device, this.deps.pipelines, programs);
    if (built.uniformBuffer) this.owned.push(built.uniformBuffer);
    this.dispatchList = built.dispatches;
    this.programs = programs;
    this.uniformBuffer = built.uniformBuffer;
  }

  /**
   * Makes the dispatches read these device buffers (by input name) where they would read the plan's own input
   * buffers, so a run need not copy them in (a KV cache is read where it lives); inputs not named go back to
   * their own buffers. Returns the inputs now read in place: the caller writes the others as usual. Bind groups
   * are made anew only when a buffer changes, so a cache fed step after step costs nothing.
   */
  bindFeeds(feeds: ReadonlyMap<string, GPUBuffer>): Set<string> {
    const inPlace = new Set<string>();
    const changed = new Set<number>();
    for (const [name, input] of this.rebindable) {
      const feed = feeds.get(name);
      const want = feed && (feed.usage & BUFFER_STORAGE) !== 0 ? feed : input.own;
      if (want !== input.own) inPlace.add(name);
      if (want === input.bound) continue;
      input.bound = want;
      for (const i of input.readers) changed.add(i);
    }
    if (changed.size === 0) return inPlace;
    const bound = new Map([...this.rebindable.values()].map((r) => [r.own, r.bound]));
    for (const i of changed) {
      const program = this.programs[i];
      const d = this.dispatchList[i];
      const rebound: ProgramSpec = {
        ...program,
        bindings: program.bindings.map((v) => ({ ...v, buffer: bound.get(v.buffer) ?? v.buffer })),
      };
      const uniforms =
        this.uniformBuffer && d.uniformOffset >= 0
          ? { buffer: this.uniformBuffer, offset: d.uniformOffset }
          : undefined;
      this.dispatchList[i] = {
        ...d,
        bindGroup: bindGroupOf(this.deps.device, d.pipeline, rebound, uniforms),
      };
    }
    return inPlace;
  }

  /** Records every dispatch of the plan into one compute pass. */
  encode(encoder: GPUCommandEncoder): void {
    encodeDispatches(encoder, this.dispatchList);
  }

  /** Where each dispatch comes from (profiles): its step (node) and program, in dispatch order. */
  get origins(): readonly { readonly step: PlanStep; readonly program: string }[] {
    return this.dispatchOrigins;
  }

  /**
   * Records every dispatch in a compute pass of its own that writes a timestamp at its start and end (queries
   * 2i and 2i + 1, over query sets of `perSet` queries each): GPU time per dispatch, for profiles.
   */
  encodeTimed(encoder: GPUCommandEncoder, querySets: readonly GPUQuerySet[], perSet: number): void {
    this.dispatchList.forEach((d, i) => {
      const querySet = querySets[Math.floor((2 * i) / perSet)];
      const first = (2 * i) % perSet;
      const pass = encoder.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: first, endOfPassWriteIndex: first + 1 },
      });
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
      pass.end();
    });
  }

  release(): void {
    this.prelude?.release();
    for (const b of this.owned) b.destroy();
    for (const b of this.pooled) this.deps.pool.release(b);
    this.owned.length = 0;
    this.pooled.length = 0;
    this.dispatchList = [];
    this.programs = [];
    this.rebindable.clear();
  }
}
