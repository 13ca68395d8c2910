// Picks the backend for `backend: 'auto'` per device and per model, and records why, so runtime.info()
// can show the decision. Rules (DESIGN.md): no WebGPU → wasm; a software/fallback adapter (SwiftShader,
// llvmpipe, WARP) runs compute far slower than ORT's wasm, so → wasm; a real GPU → our engine ('webgpu'),
// and a model our engine rejects (UNSUPPORTED_OP, or the engine not built yet) → onnxruntime-web's webgpu.

import { WebvlError } from '../errors';
import { holdsFloat16 } from '../onnx/graph-io';
import { isSoftwareAdapter } from './adapter-kind';
import type {
  Backend,
  BackendName,
  KvCache,
  KvCacheSpec,
  Session,
  SessionOptions,
  TensorShape,
} from './backend';
import { OrtBackend } from './ort/ort-backend';
import type { PixelPipeline } from './pixels';
import type { Tensor } from './tensor';

/** A backend, or 'auto': per device and per graph, with the reason in {@link RuntimeInfo.backendReason}. */
export type BackendChoice = BackendName | 'auto';

/** The WebGPU adapter the worker found. */
export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** True for software or fallback adapters (SwiftShader, llvmpipe, Microsoft Basic Render Driver). */
  readonly software: boolean;
  /** Whether it offers `shader-f16`, which onnxruntime-web's WebGPU provider needs for float16 graphs. */
  readonly shaderF16?: boolean;
}

export interface DeviceProbe {
  readonly webgpu: boolean;
  readonly adapter?: AdapterSummary;
}

export interface BackendDecision {
  readonly name: BackendName;
  readonly reason: string;
}

export async function probeDevice(): Promise<DeviceProbe> {
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) return { webgpu: false };
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch {
    adapter = null;
  }
  if (!adapter) return { webgpu: false };
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  return {
    webgpu: true,
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      description: info.description ?? '',
      software: isSoftwareAdapter(adapter),
      shaderF16: adapter.features?.has('shader-f16') ?? false,
    },
  };
}

/** The device-level choice: which backend a model starts on. */
export function decideBackend(choice: BackendChoice, probe: DeviceProbe): BackendDecision {
  if (choice !== 'auto') {
    if (choice !== 'wasm' && !probe.webgpu) {
      throw new WebvlError('NO_WEBGPU', `backend '${choice}' needs WebGPU, and this browser has no adapter`);
    }
    return { name: choice, reason: `requested '${choice}'` };
  }
  if (!probe.webgpu) return { name: 'wasm', reason: 'no WebGPU adapter → onnxruntime-web wasm' };
  const a = probe.adapter!;
  const label = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  if (a.software) {
    return {
      name: 'wasm',
      reason: `software WebGPU adapter (${label}) is slower than wasm → onnxruntime-web wasm`,
    };
  }
  return { name: 'webgpu', reason: `hardware WebGPU adapter (${label}) → webvl's own WebGPU engine` };
}

// Our engine is written in parallel with this file; a glob import resolves to nothing until it exists,
// so the build works either way.
const engineModules = import.meta.glob<{ WebGpuBackend?: new () => Backend }>('./webgpu/backend.ts');

async function createOwnBackend(): Promise<Backend> {
  const load = engineModules['./webgpu/backend.ts'];
  if (!load) throw new WebvlError('UNSUPPORTED_OP', "webvl's WebGPU engine is not part of this build");
  try {
    const mod = await load();
    if (!mod.WebGpuBackend) throw new Error('src/engine/webgpu/backend.ts exports no WebGpuBackend');
    return new mod.WebGpuBackend();
  } catch (e) {
    if (e instanceof WebvlError) throw e;
    throw new WebvlError('UNSUPPORTED_OP', `webvl's WebGPU engine failed to start: ${(e as Error).message}`);
  }
}

export async function createBackend(name: BackendName): Promise<Backend> {
  return name === 'webgpu' ? createOwnBackend() : new OrtBackend(name);
}

/** Where one graph of a model runs, and why. */
export interface ModelPlacement {
  /** The graph: 'vision', 'text', 'itm', 'decoder', 'decoderWithPast'. */
  readonly label: string;
  readonly backend: BackendName;
  readonly reason: string;
}

type BackendFactory = (name: BackendName) => Promise<Backend>;

/** A GPU device one of the selector's backends runs on. */
export interface BackendDevice {
  readonly backend: BackendName;
  readonly device: GPUDevice;
}

/** Backends that expose their device: ours (engineDevice) and onnxruntime-web's WebGPU provider (gpuDevice). */
type DeviceBackend = Backend & {
  engineDevice?: () => Promise<{ device: GPUDevice }>;
  gpuDevice?: () => Promise<GPUDevice | undefined>;
};

export interface SelectorOptions {
  /**
   * False once onnxruntime-web's WebGPU device was lost in this worker: ORT keeps using the lost device for
   * every later session (checked with 1.30), so its graphs go to ORT's wasm instead.
   */
  ortWebgpu?: boolean;
  /** The worker's device probe, when it already has one (no second requestAdapter). */
  probe?: DeviceProbe;
}

const ORT_WEBGPU_LOST =
  "onnxruntime-web's WebGPU device was lost and ORT cannot make another in this worker → onnxruntime-web wasm";

const HALF_WITHOUT_SHADER_F16 =
  "the graph computes in float16 and this adapter has no shader-f16, which onnxruntime-web's WebGPU provider needs";

/**
 * Loads graphs onto the decided backend, falling back per model: in 'auto' mode a graph our engine refuses
 * (UNSUPPORTED_OP at load, or at its first run) goes to onnxruntime-web webgpu. Every placement is recorded
 * with its reason.
 */
export class BackendSelector {
  private readonly placed = new Map<string, ModelPlacement>();
  private readonly backends = new Map<BackendName, Promise<Backend>>();

  constructor(
    readonly decision: BackendDecision,
    private readonly auto: boolean,
    private readonly factory: BackendFactory = createBackend,
    private readonly ortWebgpu = true,
    /** The adapter's shader-f16: without it, a float16 graph our engine hands on goes to wasm, not ORT's WebGPU. */
    private readonly shaderF16 = true,
  ) {}

  static async create(choice: BackendChoice, options: SelectorOptions = {}): Promise<BackendSelector> {
    const ortWebgpu = options.ortWebgpu ?? true;
    const probe = options.probe ?? (await probeDevice());
    let decision = decideBackend(choice, probe);
    if (decision.name === 'ort-webgpu' && !ortWebgpu) decision = { name: 'wasm', reason: ORT_WEBGPU_LOST };
    return new BackendSelector(
      decision,
      choice === 'auto',
      createBackend,
      ortWebgpu,
      probe.adapter?.shaderF16 ?? true,
    );
  }

  /** Starts the decided backend ahead of its first load (see Backend.prepare); never rejects. */
  async prepare(): Promise<void> {
    const backend = await this.backend(this.decision.name).catch(() => undefined);
    await backend?.prepare?.();
  }

  /** Where each graph (by label) runs, and why. */
  get placements(): ModelPlacement[] {
    return [...this.placed.values()];
  }

  private backend(name: BackendName): Promise<Backend> {
    let b = this.backends.get(name);
    if (!b) {
      b = this.factory(name);
      // A failed start is not cached, so a later load can try again.
      b.catch(() => this.backends.delete(name));
      this.backends.set(name, b);
    }
    return b;
  }

  /** GPU devices of the backends started so far (ours, ORT's WebGPU provider), for device loss and release. */
  async gpuDevices(): Promise<BackendDevice[]> {
    const out: BackendDevice[] = [];
    for (const [name, started] of this.backends) {
      const b = (await started.catch(() => undefined)) as DeviceBackend | undefined;
      const device = b?.engineDevice
        ? (await b.engineDevice().catch(() => undefined))?.device
        : await b?.gpuDevice?.().catch(() => undefined);
      if (device) out.push({ backend: name, device });
    }
    return out;
  }

  /** Image preprocessing on the device of the backend a graph was placed on, if that backend has it. */
  async pixelPipeline(label: string): Promise<PixelPipeline | undefined> {
    const placed = this.placed.get(label);
    if (!placed) return undefined;
    const backend = await this.backend(placed.backend);
    return backend.pixelPipeline?.();
  }

  /** A KV cache on the device of the backend a graph was placed on, when that backend keeps one there (ours). */
  async kvCache(label: string): Promise<((spec: KvCacheSpec) => Promise<KvCache>) | undefined> {
    const placed = this.placed.get(label);
    if (!placed) return undefined;
    const backend = await this.backend(placed.backend);
    const make = backend.kvCache?.bind(backend);
    return make && ((spec) => make(spec));
  }

  async describe(): Promise<string> {
    return (await this.backend(this.decision.name).catch(() => undefined))?.describe() ?? this.decision.name;
  }

  /** In 'auto' mode our engine hands a graph to onnxruntime-web when it lacks an op or the graph does not fit. */
  private canFallBack(e: unknown): e is WebvlError {
    return (
      this.auto &&
      this.decision.name === 'webgpu' &&
      e instanceof WebvlError &&
      (e.code === 'UNSUPPORTED_OP' || e.code === 'OUT_OF_MEMORY')
    );
  }

  private async loadOnOrt(model: Uint8Array, options: SessionOptions & { label: string }, why: WebvlError) {
    const noWebgpu = !this.ortWebgpu
      ? ORT_WEBGPU_LOST
      : !this.shaderF16 && holdsFloat16(model)
        ? HALF_WITHOUT_SHADER_F16
        : undefined;
    const target = noWebgpu ? 'wasm' : 'ort-webgpu';
    const session = await (await this.backend(target)).load(model, options);
    this.placed.set(options.label, {
      label: options.label,
      backend: target,
      reason: `webvl engine: ${why.message} → onnxruntime-web ${noWebgpu ? `wasm (${noWebgpu})` : 'webgpu'}`,
    });
    return session;
  }

  async load(model: Uint8Array, options: SessionOptions & { label: string }): Promise<Session> {
    const first = this.decision.name;
    let session: Session;
    try {
      session = await (await this.backend(first)).load(model, options);
    } catch (e) {
      if (!this.canFallBack(e)) throw e;
      return this.loadOnOrt(model, options, e);
    }
    this.placed.set(options.label, { label: options.label, backend: first, reason: this.decision.reason });
    return this.auto && first === 'webgpu'
      ? new FallbackSession(
          session,
          (why) => this.loadOnOrt(model, options, why),
          (e) => this.canFallBack(e),
        )
      : session;
  }
}

/**
 * Our engine may accept a graph and only find at run time that a kernel is missing; in 'auto' mode that
 * first failure moves the graph to onnxruntime-web for good and the run is repeated there.
 */
class FallbackSession implements Session {
  constructor(
    private inner: Session,
    private readonly reload: (why: WebvlError) => Promise<Session>,
    private readonly canFallBack: (e: unknown) => e is WebvlError,
  ) {}
  get inputNames() {
    return this.inner.inputNames;
  }
  get outputNames() {
    return this.inner.outputNames;
  }
  async run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    try {
      return await this.inner.run(feeds);
    } catch (e) {
      if (!this.canFallBack(e)) throw e;
      const old = this.inner;
      this.inner = await this.reload(e);
      await old.release();
      return this.inner.run(feeds);
    }
  }
  /**
   * Our engine's prepare. A kernel it lacks moves the graph to onnxruntime-web, as a failed run would; that one
   * prepares on its first run, so undefined says: run it.
   */
  async prepare(
    inputs: Readonly<Record<string, TensorShape>>,
  ): Promise<Record<string, TensorShape> | undefined> {
    if (!this.inner.prepare) return undefined;
    try {
      return await this.inner.prepare(inputs);
    } catch (e) {
      if (!this.canFallBack(e)) throw e;
      const old = this.inner;
      this.inner = await this.reload(e);
      await old.release();
      return undefined;
    }
  }

  lastRunStats() {
    return this.inner.lastRunStats();
  }
  profile(feeds: Readonly<Record<string, Tensor>>) {
    return this.inner.profile?.(feeds) ?? Promise.resolve(undefined);
  }
  release() {
    return this.inner.release();
  }
}
