// Picks the backend for `backend: 'auto'` per device and per model, and records why, so runtime.info()
// can show the decision. Rules (DESIGN.md): no WebGPU → wasm; a software/fallback adapter (SwiftShader,
// llvmpipe, WARP) runs compute far slower than ORT's wasm, so → wasm; a real GPU → our engine ('webgpu'),
// and a model our engine rejects (UNSUPPORTED_OP, or the engine not built yet) → onnxruntime-web's webgpu.
import { WebvlError } from '../errors';
import type { Backend, BackendName, Session, SessionOptions } from './backend';
import { OrtBackend } from './ort/ort-backend';

export type BackendChoice = BackendName | 'auto';

export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** True for software or fallback adapters (SwiftShader, llvmpipe, Microsoft Basic Render Driver). */
  readonly software: boolean;
}

export interface DeviceProbe {
  readonly webgpu: boolean;
  readonly adapter?: AdapterSummary;
}

export interface BackendDecision {
  readonly name: BackendName;
  readonly reason: string;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render|warp/i;

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
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`;
  return {
    webgpu: true,
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      description: info.description ?? '',
      software: fallback || SOFTWARE.test(text),
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

export interface ModelPlacement {
  readonly label: string;
  readonly backend: BackendName;
  readonly reason: string;
}

/**
 * Loads graphs onto the decided backend, falling back per model: a graph our engine refuses goes to
 * onnxruntime-web webgpu (when the decision was 'auto'). Every placement is recorded with its reason.
 */
export class BackendSelector {
  readonly placements: ModelPlacement[] = [];
  private readonly backends = new Map<BackendName, Promise<Backend>>();

  constructor(
    readonly decision: BackendDecision,
    private readonly auto: boolean,
  ) {}

  static async create(choice: BackendChoice): Promise<BackendSelector> {
    const decision = decideBackend(choice, await probeDevice());
    return new BackendSelector(decision, choice === 'auto');
  }

  private backend(name: BackendName): Promise<Backend> {
    let b = this.backends.get(name);
    if (!b) {
      b = createBackend(name);
      // A failed start is not cached, so a later load can try again.
      b.catch(() => this.backends.delete(name));
      this.backends.set(name, b);
    }
    return b;
  }

  async describe(): Promise<string> {
    return (await this.backend(this.decision.name).catch(() => undefined))?.describe() ?? this.decision.name;
  }

  async load(model: Uint8Array, options: SessionOptions & { label: string }): Promise<Session> {
    const first = this.decision.name;
    try {
      const session = await (await this.backend(first)).load(model, options);
      this.placements.push({ label: options.label, backend: first, reason: this.decision.reason });
      return session;
    } catch (e) {
      const unsupported = e instanceof WebvlError && e.code === 'UNSUPPORTED_OP';
      if (!(this.auto && first === 'webgpu' && unsupported)) throw e;
      const session = await (await this.backend('ort-webgpu')).load(model, options);
      this.placements.push({
        label: options.label,
        backend: 'ort-webgpu',
        reason: `webvl engine: ${(e as WebvlError).message} → onnxruntime-web webgpu`,
      });
      return session;
    }
  }
}
