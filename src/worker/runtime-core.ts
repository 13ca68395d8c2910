// Everything the worker does, as a plain class (so it reads without the messaging around it). One request
// runs at a time — sessions are not re-entrant — and every failure becomes a typed error while the worker
// keeps serving.

import type { LoadedModelInfo, RuntimeInfo, Timed } from '../api/types';
import type { BackendChoice, BackendSelector } from '../engine/select';
import { type DeviceProbe, probeDevice, BackendSelector as Selector } from '../engine/select';
import { WebvlError } from '../errors';
import { EmbeddingIndex } from '../index/embedding-index';
import { requestIndexDevice } from '../index/gpu-topk';
import { IdbIndexStorage, type IndexStorage, MemoryIndexStorage } from '../index/storage';
import { checkDTypeOption } from '../models/dtype';
import { openModelFolder } from '../models/model-folder';
import type { ProgressListener } from '../models/model-store';
import { type CapFiltItem, capfilt } from '../pipelines/capfilt';
import { type CaptionResult, captionBeam, captionGreedy, type TokenListener } from '../pipelines/caption';
import { classifyImage, type LabelScore } from '../pipelines/classify';
import { disposeTensor, encodeImages, encodeTexts, imageTokens } from '../pipelines/encode';
import { type DTypeOption, type LoadedModel, loadModel } from '../pipelines/loaded-model';
import { type MatchScore, matchEncoded } from '../pipelines/match';
import { normalizeRows } from '../pipelines/math';
import { type RetrievalHit, retrieve } from '../pipelines/retrieve';
import { Stopwatch, type Timings } from '../pipelines/timings';
import { decodeWireImage, type WireImage } from '../vision/image-input';
import { type RgbaImage, resizeToModel } from '../vision/preprocess';

export interface WorkerLoadOptions {
  readonly refresh?: boolean;
  readonly dtype?: DTypeOption;
}

export interface CoreOptions {
  backend: BackendChoice;
  allowedOrigins: string[];
  indexOnGpu: boolean;
}

export interface IndexItemWire {
  readonly id: string;
  readonly image: WireImage;
  readonly meta?: Record<string, unknown>;
}

export class RuntimeCore {
  private selector: BackendSelector | undefined;
  private probe: DeviceProbe | undefined;
  private model: LoadedModel | undefined;
  private modelInfo: LoadedModelInfo | undefined;
  /** The dtype option of the last load, to reload the same files after a device loss. */
  private requestedDType: DTypeOption | undefined;
  private lastTimings: Timings | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly aborts = new Map<number, AbortController>();
  private readonly indexes = new Map<string, Promise<EmbeddingIndex>>();
  private indexDevice: Promise<GPUDevice | undefined> | undefined;
  /** GPU devices of this worker lost so far (destroyed, driver reset): a request that fails after one is DEVICE_LOST. */
  private deviceLosses = 0;
  private currentIndexDevice: GPUDevice | undefined;
  /** Devices the loaded model's sessions run on (our engine's), watched for loss. */
  private modelDevices: GPUDevice[] = [];
  /** Set when a model device is lost: the next request re-creates the backends and reloads the model first. */
  private modelDeviceLost = false;
  private readonly storage: IndexStorage =
    typeof indexedDB === 'undefined' ? new MemoryIndexStorage() : new IdbIndexStorage();

  constructor(private readonly options: CoreOptions) {}

  /** Runs requests one after another; a failed one does not block the next. */
  /** `retry: false` for requests whose side effects reach the caller as they run (streamed caption tokens). */
  private serial<T>(f: () => Promise<T>, retry = true): Promise<T> {
    const run = this.queue.then(() => this.reportDeviceLoss(f, retry));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs f; if it fails because a GPU device was lost (while it ran, or just before with the loss not yet
   * reported), recovery is under way (see indexDeviceFor, watchModelDevices) and f is retried once on the new
   * device. Without a retry, or when the retry fails too, the failure is DEVICE_LOST.
   */
  private async reportDeviceLoss<T>(f: () => Promise<T>, retry: boolean): Promise<T> {
    if (this.modelDeviceLost) await this.recoverModel();
    const losses = this.deviceLosses;
    try {
      return await f();
    } catch (e) {
      // device.lost resolves in a task of its own, possibly after the failure it caused: give it a moment.
      const watched = [this.currentIndexDevice, ...this.modelDevices].filter((d) => d !== undefined);
      if (this.deviceLosses === losses && watched.length > 0) {
        await Promise.race([...watched.map((d) => d.lost), new Promise((r) => setTimeout(r, 100))]);
      }
      if (this.deviceLosses === losses || (e instanceof WebvlError && e.code !== 'INTERNAL')) throw e;
      if (retry) return this.reportDeviceLoss(f, false);
      throw new WebvlError(
        'DEVICE_LOST',
        `the GPU device was lost during the request; retry it (${String(e)})`,
      );
    }
  }

  /** Watches the GPU devices the selector's backends run on; a loss marks the model for reloading. */
  private async watchModelDevices(selector: BackendSelector): Promise<void> {
    const devices = await selector.gpuDevices();
    this.modelDevices = devices;
    for (const d of devices) {
      void d.lost.then(() => {
        if (this.selector !== selector) return;
        this.deviceLosses++;
        this.modelDeviceLost = true;
      });
    }
  }

  /** After a device loss: new backends (new devices), the same model loaded again (from Cache Storage). */
  private async recoverModel(): Promise<void> {
    const url = this.modelInfo?.url;
    const old = this.model;
    this.selector = undefined;
    this.modelDevices = [];
    this.model = undefined;
    await old?.release().catch(() => undefined);
    if (!url) {
      this.modelDeviceLost = false;
      return;
    }
    const selector = await this.getSelector();
    const folder = await openModelFolder(url, { allowedOrigins: this.options.allowedOrigins });
    this.model = await loadModel(folder, selector, { dtype: this.requestedDType });
    this.modelDeviceLost = false;
    await this.watchModelDevices(selector);
  }

  /**
   * The index device, acquired once. When it is lost, indexes are dropped (their GPU matrices are gone) and
   * reopened from IndexedDB, on a new device, by the next request that uses them.
   */
  private indexDeviceFor(): Promise<GPUDevice | undefined> {
    if (!this.indexDevice) {
      const acquired: Promise<GPUDevice | undefined> = requestIndexDevice().then((device) => {
        this.currentIndexDevice = device;
        void device?.lost.then(() => {
          this.deviceLosses++;
          if (this.indexDevice !== acquired) return;
          this.indexDevice = undefined;
          this.indexes.clear();
        });
        return device;
      });
      this.indexDevice = acquired;
    }
    return this.indexDevice;
  }

  private async getSelector(): Promise<BackendSelector> {
    this.probe ??= await probeDevice();
    this.selector ??= await Selector.create(this.options.backend);
    return this.selector;
  }

  private requireModel(): LoadedModel {
    if (!this.model) throw new WebvlError('NOT_LOADED', 'no model loaded; call load(modelUrl) first');
    return this.model;
  }

  private allowUrl = (url: URL): boolean =>
    url.origin === globalThis.location?.origin || this.options.allowedOrigins.includes(url.origin);

  private async pixels(wire: WireImage): Promise<RgbaImage> {
    return decodeWireImage(wire, this.allowUrl);
  }

  private async timed<T>(f: (watch: Stopwatch) => Promise<T>): Promise<Timed<T>> {
    const watch = new Stopwatch();
    const result = await watch.time('total', () => f(watch));
    this.lastTimings = watch.timings;
    return { result, timings: watch.timings };
  }

  async info(): Promise<RuntimeInfo> {
    const selector = await this.getSelector();
    return {
      backend: selector.decision.name,
      backendReason: selector.decision.reason,
      backendDescription: await selector.describe(),
      webgpu: this.probe?.webgpu ?? false,
      adapter: this.probe?.adapter,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      model: this.modelInfo,
      lastTimings: this.lastTimings,
    };
  }

  load(
    modelUrl: string,
    onProgress?: ProgressListener,
    { refresh = false, dtype }: WorkerLoadOptions = {},
  ): Promise<LoadedModelInfo> {
    return this.serial(async () => {
      const t0 = performance.now();
      const requested = checkDTypeOption(dtype);
      const selector = await this.getSelector();
      const folder = await openModelFolder(modelUrl, {
        allowedOrigins: this.options.allowedOrigins,
        refresh,
      });
      const model = await loadModel(folder, selector, { dtype: requested, onProgress });
      await this.model?.release();
      this.model = model;
      this.requestedDType = requested;
      this.modelDeviceLost = false;
      await this.watchModelDevices(selector);
      this.modelInfo = {
        url: model.url,
        kind: model.kind,
        dtype: requested ?? model.graphs[0]?.dtype ?? 'fp32',
        graphs: model.graphs,
        verified: model.verified,
        scoring: { kind: model.scoring.kind, source: model.scoring.source },
        bytes: model.bytes,
        loadMs: performance.now() - t0,
        placements: selector.placements,
        imageSize: model.imageSize,
        preprocessing: model.pixels ? 'gpu' : 'cpu',
        maxTextTokens: model.tokenizer.maxLength,
      };
      return this.modelInfo;
    });
  }

  unload(): Promise<void> {
    return this.serial(async () => {
      await this.model?.release();
      this.model = undefined;
      this.modelInfo = undefined;
    });
  }

  classify(image: WireImage, labels: string[], template?: string | string[]): Promise<Timed<LabelScore[]>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        const model = this.requireModel();
        const img = await watch.time('decode-image', () => this.pixels(image));
        return classifyImage(model, img, labels, template, watch);
      }),
    );
  }

  embedImage(image: WireImage): Promise<Timed<Float32Array>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        const model = this.requireModel();
        const enc = await encodeImages(model, [await this.pixels(image)], watch);
        disposeTensor(enc.tokens);
        return normalizeRows(enc.embeds, 1, enc.dim);
      }),
    );
  }

  embedText(texts: string[]): Promise<Timed<Float32Array[]>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        const t = await encodeTexts(this.requireModel(), texts, watch);
        const n = normalizeRows(t.embeds, t.count, t.dim);
        return Array.from({ length: t.count }, (_, i) => n.slice(i * t.dim, (i + 1) * t.dim));
      }),
    );
  }

  match(image: WireImage, texts: string[]): Promise<Timed<MatchScore[]>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        const model = this.requireModel();
        const enc = await encodeImages(model, [await this.pixels(image)], watch);
        try {
          return await matchEncoded(model, enc, 0, texts, watch);
        } finally {
          disposeTensor(enc.tokens);
        }
      }),
    );
  }

  private signalFor(requestId: number | undefined): AbortSignal | undefined {
    if (requestId === undefined) return undefined;
    const c = new AbortController();
    this.aborts.set(requestId, c);
    return c.signal;
  }

  abort(requestId: number): void {
    this.aborts.get(requestId)?.abort();
  }

  caption(
    image: WireImage,
    options: { maxTokens?: number; numBeams?: number; prompt?: string },
    onToken: TokenListener | undefined,
    requestId: number | undefined,
  ): Promise<Timed<CaptionResult>> {
    const signal = this.signalFor(requestId);
    return this.serial(
      () =>
        this.timed(async (watch) => {
          if (signal?.aborted) throw new WebvlError('ABORTED', 'caption was cancelled');
          const model = this.requireModel();
          const enc = await encodeImages(model, [await this.pixels(image)], watch);
          try {
            const opts = {
              maxTokens: options.maxTokens,
              numBeams: options.numBeams,
              prompt: options.prompt,
              onToken,
              signal,
            };
            return (options.numBeams ?? 1) > 1
              ? await captionBeam(model, imageTokens(enc), opts, watch)
              : await captionGreedy(model, imageTokens(enc), opts, watch);
          } finally {
            disposeTensor(enc.tokens);
          }
        }),
      false, // tokens already streamed to onToken must not be streamed again
    ).finally(() => requestId !== undefined && this.aborts.delete(requestId));
  }

  capfilt(
    images: WireImage[],
    texts: (string | undefined)[] | undefined,
    threshold: number,
    requestId: number | undefined,
  ): Promise<Timed<CapFiltItem[]>> {
    const signal = this.signalFor(requestId);
    return this.serial(() =>
      this.timed(async (watch) => {
        const model = this.requireModel();
        const pixels = await Promise.all(images.map((w) => this.pixels(w)));
        return capfilt(model, pixels, texts, threshold, signal, watch);
      }),
    ).finally(() => requestId !== undefined && this.aborts.delete(requestId));
  }

  // --- index ---------------------------------------------------------------------------------------

  private index(name: string): Promise<EmbeddingIndex> {
    let idx = this.indexes.get(name);
    if (!idx) {
      idx = (async () => {
        const device = this.options.indexOnGpu ? await this.indexDeviceFor() : undefined;
        return EmbeddingIndex.open(name, { storage: this.storage, device });
      })();
      idx.catch(() => this.indexes.delete(name));
      this.indexes.set(name, idx);
    }
    return idx;
  }

  async indexOpen(name: string): Promise<{ size: number; backend: 'gpu' | 'cpu' }> {
    const idx = await this.index(name);
    return { size: idx.size(), backend: idx.backend };
  }

  indexAdd(name: string, items: IndexItemWire[]): Promise<Timed<number>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        const model = this.requireModel();
        if (!Array.isArray(items) || items.length === 0)
          throw new WebvlError('INVALID_INPUT', 'no items to add');
        // Decode and embed everything first: a bad image anywhere aborts the batch before the index changes.
        const small = await watch.time('decode-image', () =>
          Promise.all(items.map(async (it) => resizeToModel(await this.pixels(it.image), model.plan))),
        );
        const embeds: Float32Array[] = [];
        const BATCH = 16;
        for (let i = 0; i < small.length; i += BATCH) {
          const enc = await encodeImages(model, small.slice(i, i + BATCH), watch);
          disposeTensor(enc.tokens);
          for (let r = 0; r < enc.count; r++) embeds.push(enc.embeds.slice(r * enc.dim, (r + 1) * enc.dim));
        }
        const idx = await this.index(name);
        return watch.time('index', () =>
          idx.add(
            items.map((it, i) => ({
              id: it.id,
              vector: embeds[i],
              payload: new Uint8Array(
                small[i].data.buffer,
                small[i].data.byteOffset,
                small[i].data.byteLength,
              ),
              meta: it.meta,
            })),
          ),
        );
      }),
    );
  }

  indexSearch(
    name: string,
    query: string,
    options: { k?: number; rerank?: boolean; candidates?: number },
  ): Promise<Timed<RetrievalHit[]>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        const model = this.requireModel();
        const idx = await this.index(name);
        const size = this.modelInfo?.imageSize ?? [64, 64];
        return retrieve(
          model,
          idx,
          query,
          { k: options.k ?? 5, rerank: options.rerank, candidates: options.candidates },
          size,
          watch,
        );
      }),
    );
  }

  async indexRemove(name: string, ids: string[]): Promise<number> {
    return (await this.index(name)).remove(ids);
  }

  async indexSize(name: string): Promise<number> {
    return (await this.index(name)).size();
  }

  async indexClear(name: string): Promise<void> {
    await (await this.index(name)).clear();
  }
}
