// The page-side client: createRuntime() starts a module worker and returns a typed facade over it. Images
// are converted to transferable forms and moved (not copied); callbacks cross as Comlink proxies; errors
// come back as WebvlError with their code.
import * as Comlink from 'comlink';
import { WebvlError } from '../errors';
import type { WireImage } from '../vision/image-input';
import { type ImageInput, toWireImage } from '../vision/image-input';
import { fromWire } from '../worker/errors';
import type { WorkerApi } from '../worker/runtime.worker';
import type {
  CapFiltItem,
  CapFiltOptions,
  CaptionCallOptions,
  CaptionResult,
  CaptionToken,
  IndexSearchOptions,
  LabelScore,
  LoadedModelInfo,
  LoadOptions,
  MatchScore,
  RetrievalHit,
  RuntimeInfo,
  RuntimeOptions,
  Timed,
} from './types';

export interface IndexItem {
  readonly id: string;
  readonly image: ImageInput;
  readonly meta?: Record<string, unknown>;
}

export interface IndexHandle {
  readonly name: string;
  /** 'gpu' when the matrix lives in a GPU buffer and search runs in WGSL. */
  readonly backend: 'gpu' | 'cpu';
  /** Embeds and stores the images; all of them or none. Resolves to the new size. */
  add(items: readonly IndexItem[]): Promise<number>;
  search(query: string, options?: IndexSearchOptions): Promise<RetrievalHit[]>;
  remove(ids: readonly string[]): Promise<number>;
  size(): Promise<number>;
  clear(): Promise<void>;
}

export interface Runtime {
  info(): Promise<RuntimeInfo>;
  /**
   * Loads a model folder: a Hugging Face / transformers.js folder as it is (CLIP, SigLIP, BLIP by config.json),
   * or one with a manifest.json, whose files are then checked against their SHA-256. A Hub address
   * (https://huggingface.co/org/name, …/tree/<rev>, …/resolve/<rev>/) works when its origin is allowed. Cached
   * files are used when present, so a second load makes no request; `refresh: true` asks the network again.
   */
  load(modelUrl: string, options?: LoadOptions): Promise<LoadedModelInfo>;
  unload(): Promise<void>;
  classify(
    image: ImageInput,
    labels: readonly string[],
    /** `template` contains '{}' for the label; an array of templates is a prompt ensemble. */
    options?: { template?: string | readonly string[] },
  ): Promise<LabelScore[]>;
  /** Unit-length image embedding. */
  embedImage(image: ImageInput): Promise<Float32Array>;
  /** Unit-length text embeddings, one per text. */
  embedText(texts: string | readonly string[]): Promise<Float32Array[]>;
  match(image: ImageInput, texts: readonly string[]): Promise<MatchScore[]>;
  caption(image: ImageInput, options?: CaptionCallOptions): Promise<CaptionResult>;
  capfilt(images: readonly ImageInput[], options: CapFiltOptions): Promise<CapFiltItem[]>;
  openIndex(name: string): Promise<IndexHandle>;
  /** Stops the worker; the runtime cannot be used afterwards. */
  dispose(): void;
}

async function remote<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw fromWire(e);
  }
}

async function wire(image: ImageInput): Promise<WireImage> {
  const { wire, transfer } = await toWireImage(image);
  return transfer.length ? Comlink.transfer(wire, transfer) : wire;
}

/** Comlink only transfers what is marked on a top-level argument, so arrays are marked as a whole. */
async function wireAll<T>(
  images: readonly ImageInput[],
  build: (w: WireImage, i: number) => T,
): Promise<T[]> {
  const parts = await Promise.all(images.map((im) => toWireImage(im)));
  const out = parts.map((p, i) => build(p.wire, i));
  return Comlink.transfer(
    out,
    parts.flatMap((p) => p.transfer),
  );
}

let nextRequestId = 1;

/** Cancels the worker request when the signal fires; returns the request id to pass along. */
function linkSignal(api: Comlink.Remote<WorkerApi>, signal: AbortSignal | undefined): number | undefined {
  if (!signal) return undefined;
  if (signal.aborted) throw new WebvlError('ABORTED', 'cancelled before it started');
  const id = nextRequestId++;
  signal.addEventListener('abort', () => void api.abort(id), { once: true });
  return id;
}

export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const worker = new Worker(new URL('../worker/runtime.worker.ts', import.meta.url), {
    type: 'module',
    name: 'webvl-runtime',
  });
  const api = Comlink.wrap<WorkerApi>(worker);
  // A worker script that fails to load would leave every call pending forever; fail them instead.
  const crashed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => {
      reject(
        new WebvlError('INTERNAL', `the runtime worker failed: ${e.message || 'could not load its script'}`),
      );
    });
  });
  crashed.catch(() => undefined);
  const started = remote(() =>
    api.init({
      backend: options.backend ?? 'auto',
      allowedOrigins: options.allowedOrigins ?? [],
      indexOnGpu: options.indexOnGpu ?? true,
    }),
  );
  try {
    await Promise.race([started, crashed]);
  } catch (e) {
    worker.terminate();
    throw e;
  }
  let last: Timed<unknown>['timings'] | undefined;
  const result = <T>(t: Timed<T>): T => {
    last = t.timings;
    return t.result;
  };

  const runtime: Runtime = {
    info: () => remote(() => api.info()),
    async load(modelUrl, loadOptions = {}) {
      const listener = loadOptions.onProgress ?? options.onProgress;
      return remote(() =>
        api.load(modelUrl, listener ? Comlink.proxy(listener) : undefined, {
          refresh: loadOptions.refresh === true,
          dtype: loadOptions.dtype,
        }),
      );
    },
    unload: () => remote(() => api.unload()),
    async classify(image, labels, opts = {}) {
      const w = await wire(image);
      return result(
        await remote(() =>
          api.classify(
            w,
            [...labels],
            typeof opts.template === 'string' || !opts.template ? opts.template : [...opts.template],
          ),
        ),
      );
    },
    async embedImage(image) {
      const w = await wire(image);
      return result(await remote(() => api.embedImage(w)));
    },
    async embedText(texts) {
      return result(await remote(() => api.embedText(typeof texts === 'string' ? [texts] : [...texts])));
    },
    async match(image, texts) {
      const w = await wire(image);
      return result(await remote(() => api.match(w, [...texts])));
    },
    async caption(image, opts = {}) {
      const id = linkSignal(api, opts.signal);
      const w = await wire(image);
      const user = opts.onToken;
      const signal = opts.signal;
      // Returns "stop?" to the worker, which awaits it each step.
      const onToken =
        user || signal
          ? Comlink.proxy((t: CaptionToken) => {
              user?.(t);
              return signal?.aborted === true;
            })
          : undefined;
      return result(
        await remote(() =>
          api.caption(
            w,
            { maxTokens: opts.maxTokens, numBeams: opts.numBeams, prompt: opts.prompt },
            onToken,
            id,
          ),
        ),
      );
    },
    async capfilt(images, opts) {
      const id = linkSignal(api, opts.signal);
      const wires = await wireAll(images, (w) => w);
      return result(await remote(() => api.capfilt(wires, opts.texts, opts.threshold, id)));
    },
    async openIndex(name) {
      const opened = await remote(() => api.indexOpen(name));
      return {
        name,
        backend: opened.backend,
        async add(items) {
          const wires = await wireAll(
            items.map((it) => it.image),
            (image, i) => ({ id: items[i].id, image, meta: items[i].meta }),
          );
          return result(await remote(() => api.indexAdd(name, wires)));
        },
        async search(query, o = {}) {
          return result(await remote(() => api.indexSearch(name, query, o)));
        },
        remove: (ids) => remote(() => api.indexRemove(name, [...ids])),
        size: () => remote(() => api.indexSize(name)),
        clear: () => remote(() => api.indexClear(name)),
      };
    },
    dispose() {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
  Object.defineProperty(runtime, 'lastTimings', { get: () => last });
  return runtime;
}
