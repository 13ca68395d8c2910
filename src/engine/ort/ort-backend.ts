import { WebvlError } from '../../errors';
import type { Backend, BackendName, ExternalData, RunStats, Session, SessionOptions } from '../backend';
import type { PixelBatchSpec, PixelJob, PixelPipeline } from '../pixels';
import {
  asFloatKind,
  type DeviceTensor,
  type DType,
  type HostTensor,
  type Tensor,
  type TensorData,
  toHost,
} from '../tensor';
import type { GpuPixelPipeline } from '../webgpu/pixel-pipeline';
import { getOrt, type Ort } from './ort-env';
import { identityModel } from './ort-warm-model';

type OrtTensor = InstanceType<Ort['Tensor']>;
type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

/** A GPU-resident ORT output, handed on to the next ORT graph without a read-back. */
class OrtDeviceTensor implements DeviceTensor {
  readonly location = 'gpu';
  constructor(readonly ortTensor: OrtTensor) {}
  get dtype(): DType {
    return this.ortTensor.type as DType;
  }
  get dims(): readonly number[] {
    return this.ortTensor.dims;
  }
  async download(): Promise<HostTensor> {
    const data = await this.ortTensor.getData();
    return {
      location: 'cpu',
      dtype: this.dtype,
      dims: [...this.dims],
      data: hostData(this.dtype, data as ArrayBufferView),
    };
  }
  dispose(): void {
    this.ortTensor.dispose();
  }
}

async function toOrtTensor(ort: Ort, t: Tensor): Promise<OrtTensor> {
  if (t instanceof OrtDeviceTensor) return t.ortTensor;
  const host = t.location === 'cpu' ? t : await t.download();
  return new ort.Tensor(host.dtype, host.data, host.dims);
}

/**
 * An ORT tensor's data as webvl holds it: float16 as its bits (Uint16Array). Where the runtime has Float16Array,
 * onnxruntime-web hands float16 data as one, whose elements are numbers, not bits; the bytes are the same.
 */
function hostData(dtype: string, data: ArrayBufferView): TensorData {
  if (dtype === 'float16' && !(data instanceof Uint16Array))
    return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  return data as TensorData;
}

function bytesOf(t: OrtTensor): number {
  return (t.data as ArrayBufferView).byteLength;
}

/** Maps ORT's failures to our typed errors, keeping ORT's message. At load time every failure is the model's. */
export function ortError(e: unknown, label: string, phase: 'load' | 'run'): WebvlError {
  const message = e instanceof Error ? e.message : String(e);
  if (/no available backend found/i.test(message)) {
    // onnxruntime-web itself did not start: nothing is wrong with the model.
    return new WebvlError(
      'INTERNAL',
      `${label}: onnxruntime-web could not start; is its binary served where ortWasmPaths points? ${message}`,
      { reason: 'onnxruntime-web-start' },
    );
  }
  // A lost WebGPU device surfaces as a failed buffer map (its message also names size_t, which must not
  // read as a bad input below).
  if (/device was lost|device lost|mapAsync/i.test(message)) {
    return new WebvlError('DEVICE_LOST', `${label}: onnxruntime-web's WebGPU device was lost: ${message}`);
  }
  if (phase === 'load') {
    const unsupported =
      /could not find an implementation|not implemented|unsupported op|no opset import for domain/i;
    return unsupported.test(message)
      ? new WebvlError('UNSUPPORTED_OP', `${label}: onnxruntime-web has no kernel for an op: ${message}`)
      : new WebvlError('INVALID_MODEL', `${label}: onnxruntime-web could not load the model: ${message}`);
  }
  if (/input|dims|shape|type|size/i.test(message)) {
    return new WebvlError('INVALID_INPUT', `${label}: ${message}`);
  }
  return new WebvlError('INTERNAL', `${label}: ${message}`);
}

class OrtSessionWrapper implements Session {
  private stats: RunStats | undefined;
  /** The float kind each float input declares: onnxruntime takes only that one. */
  private readonly floatInputs: ReadonlyMap<string, 'float32' | 'float16'>;

  constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    private readonly label: string,
  ) {
    this.floatInputs = new Map(
      (session.inputMetadata ?? []).flatMap((m) =>
        m.isTensor && (m.type === 'float32' || m.type === 'float16') ? [[m.name, m.type] as const] : [],
      ),
    );
  }

  /** `t` as onnxruntime takes it for input `name`: float32 and float16 feeds become the kind it declares. */
  private async feed(name: string, t: Tensor): Promise<OrtTensor> {
    const want = this.floatInputs.get(name);
    if (!want || t.dtype === want || (t.dtype !== 'float32' && t.dtype !== 'float16'))
      return toOrtTensor(this.ort, t);
    return toOrtTensor(this.ort, asFloatKind(await toHost(t), want));
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    for (const name of this.session.inputNames) {
      if (!(name in feeds)) {
        throw new WebvlError('INVALID_INPUT', `${this.label}: missing input '${name}'`, {
          expected: this.inputNames,
        });
      }
    }
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = await this.feed(name, t);
    let results: Record<string, OrtTensor>;
    try {
      results = (await this.session.run(ortFeeds)) as Record<string, OrtTensor>;
    } catch (e) {
      throw ortError(e, this.label, 'run');
    }
    const out: Record<string, Tensor> = {};
    let bytesRead = 0;
    for (const [name, t] of Object.entries(results)) {
      if (t.location === 'gpu-buffer') {
        out[name] = new OrtDeviceTensor(t);
      } else {
        bytesRead += bytesOf(t);
        out[name] = {
          location: 'cpu',
          dtype: t.type as DType,
          dims: [...t.dims],
          data: hostData(t.type, t.data as ArrayBufferView),
        };
      }
    }
    this.stats = { bytesRead };
    return out;
  }

  lastRunStats(): RunStats | undefined {
    return this.stats;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Preprocessing on onnxruntime-web's own WebGPU device with our kernel (src/engine/webgpu/pixel-pipeline.ts):
 * the result is handed to ORT as a gpu-buffer tensor, so pixel values never visit the CPU on this backend either.
 */
class OrtPixelPipeline implements PixelPipeline {
  constructor(
    private readonly ort: Ort,
    private readonly inner: GpuPixelPipeline,
  ) {}

  fits(job: PixelJob): boolean {
    return this.inner.fits(job);
  }

  async run(jobs: readonly PixelJob[], spec: PixelBatchSpec): Promise<Tensor> {
    const t = await this.inner.run(jobs, spec);
    const ortTensor = this.ort.Tensor.fromGpuBuffer(t.buffer, {
      dataType: 'float32',
      dims: [...t.dims],
      dispose: () => t.dispose(),
    });
    return new OrtDeviceTensor(ortTensor);
  }
}

/** onnxruntime-web with its `webgpu` or `wasm` execution provider: our fallback and our reference. */
export class OrtBackend implements Backend {
  private pixels: Promise<PixelPipeline | undefined> | undefined;
  private prepared: Promise<void> | undefined;
  private sessionCreated = false;

  constructor(readonly name: Extract<BackendName, 'ort-webgpu' | 'wasm'>) {}

  /**
   * onnxruntime-web's WebGPU device, once a session has made it ('ort-webgpu' only; asking earlier would make
   * ORT create one), so the runtime can watch it for loss and destroy it when disposed.
   */
  async gpuDevice(): Promise<GPUDevice | undefined> {
    if (this.name !== 'ort-webgpu' || !this.sessionCreated) return undefined;
    return getOrt().env.webgpu.device;
  }

  /** On 'ort-webgpu', once a session exists (ORT has made its device): our resize kernel on ORT's device. */
  pixelPipeline(): Promise<PixelPipeline | undefined> {
    if (this.name !== 'ort-webgpu') return Promise.resolve(undefined);
    this.pixels ??= (async () => {
      const ort = getOrt();
      const device = await ort.env.webgpu.device;
      // The engine module is loaded on demand, as select.ts does, so wasm-only pages never fetch it.
      const [{ engineOnDevice }, { GpuPixelPipeline }] = await Promise.all([
        import('../webgpu/backend'),
        import('../webgpu/pixel-pipeline'),
      ]);
      return new OrtPixelPipeline(ort, new GpuPixelPipeline(engineOnDevice(device)));
    })();
    return this.pixels;
  }

  /** Initialises onnxruntime-web through a throw-away session on a one-node model (it has no init call). */
  prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const provider = this.name === 'wasm' ? 'wasm' : 'webgpu';
      const session = await getOrt().InferenceSession.create(identityModel(), {
        executionProviders: [provider],
      });
      this.sessionCreated = true;
      await session.release();
    })().catch(() => undefined);
    return this.prepared;
  }

  describe(): string {
    const ort = getOrt();
    return this.name === 'wasm'
      ? `onnxruntime-web ${ort.env.versions.web} wasm (${ort.env.wasm.numThreads} threads)`
      : `onnxruntime-web ${ort.env.versions.web} webgpu`;
  }

  async load(model: Uint8Array, options: SessionOptions = {}): Promise<Session> {
    const ort = getOrt();
    const label = options.label ?? 'model';
    const provider = this.name === 'wasm' ? 'wasm' : 'webgpu';
    const keep = new Set(this.name === 'ort-webgpu' ? (options.keepOnDevice ?? []) : []);
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        // Errors only: ORT otherwise warns on every webgpu session that shape ops run on the CPU (by design).
        logSeverityLevel: 3,
        preferredOutputLocation: keep.size
          ? Object.fromEntries([...keep].map((n) => [n, 'gpu-buffer' as const]))
          : undefined,
        externalData: options.externalData ? externalDataFiles(options.externalData) : undefined,
      });
    } catch (e) {
      throw ortError(e, label, 'load');
    }
    this.sessionCreated = true;
    return new OrtSessionWrapper(ort, session, label);
  }
}

/** onnxruntime-web's form of a graph's external-data files: a path (the tensors' `location`) and its bytes. */
function externalDataFiles(files: ExternalData): { path: string; data: Uint8Array }[] {
  const entries = files instanceof Map ? [...files] : Object.entries(files);
  return entries.map(([path, data]) => ({ path, data }));
}
