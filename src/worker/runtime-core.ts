// Everything the worker does, as a plain class (so it reads without the messaging around it). One request
// runs at a time — sessions are not re-entrant — and every failure becomes a typed error while the worker
// keeps serving. Arguments are checked again here (the page checked types; ranges that depend on the model
// are only known here). shutdown() (from dispose()) stops what runs and releases every GPU resource.

import type { LoadedModelInfo, RuntimeInfo, Timed, WasmThreading } from '../api/types';
import { type OrtWasmLocation, ortWasmThreads, setOrtWasmLocation } from '../engine/ort/ort-env';
import type { BackendChoice, BackendSelector } from '../engine/select';
import { type DeviceProbe, probeDevice, BackendSelector as Selector } from '../engine/select';
import { WebvlError } from '../errors';
import { EmbeddingIndex } from '../index/embedding-index';
import { requestIndexDevice } from '../index/gpu-topk';
import { IdbIndexStorage, type IndexStorage, MemoryIndexStorage } from '../index/storage';
import {
  MAX_ANSWER_TOKENS,
  MAX_CHAT_MESSAGES,
  MAX_ID_LENGTH,
  MAX_IDS_PER_REMOVE,
  MAX_IMAGES_PER_CALL,
  MAX_INDEX_NAME_LENGTH,
  MAX_MESSAGE_CHARS,
  MAX_RERANK_CANDIDATES,
  MAX_SEARCH_K,
  MAX_TEMPLATES,
  MAX_TEXTS_PER_CALL,
} from '../limits';
import { checkDTypeOption } from '../models/dtype';
import { openModelFolder } from '../models/model-folder';
import type { ProgressListener } from '../models/model-store';
import { type RunMode, requireTask, unsupportedTask } from '../pipelines/architecture';
import {
  type AnswerResult,
  type AnswerToken,
  answer,
  type ChatMessage,
  type Conversation,
  chatCapabilities,
  vlmOf,
} from '../pipelines/ask';
import { type CapFiltItem, capfilt } from '../pipelines/capfilt';
import { type CaptionResult, captionBeam, captionGreedy, type TokenListener } from '../pipelines/caption';
import { classifyImage, type LabelScore } from '../pipelines/classify';
import { disposeTensor, encodeImages, encodeTexts, imageTokens } from '../pipelines/encode';
import {
  captionFlorence,
  DEFAULT_FLORENCE_TASK,
  defaultFlorenceTokens,
  servedTasks,
  taskPlan,
} from '../pipelines/florence2';
import {
  checkSampling,
  GREEDY,
  MAX_REPETITION_PENALTY,
  MAX_TOP_K,
  MIN_REPETITION_PENALTY,
  type Sampling,
} from '../pipelines/generate/sampling';
import { type DTypeOption, type LoadedModel, loadModel } from '../pipelines/loaded-model';
import { type MatchScore, matchEncoded } from '../pipelines/match';
import { normalizeRows } from '../pipelines/math';
import { type IndexRecord, indexRecords, type RetrievalHit, retrieve } from '../pipelines/retrieve';
import { Stopwatch, type Timings } from '../pipelines/timings';
import { answerByClassifier, TOP_ANSWERS } from '../pipelines/vqa';
import {
  arrayOf,
  integerIn,
  numberIn,
  oneOf,
  optionalBoolean,
  optionsObject,
  stringOf,
  stringsOf,
} from '../validation';
import { decodeWireImage, type WireImage } from '../vision/image-input';
import { type RgbaImage, resizeToModel } from '../vision/preprocess';

export interface WorkerLoadOptions {
  readonly refresh?: boolean;
  readonly dtype?: DTypeOption;
  readonly warmUp?: boolean;
}

export interface CoreOptions {
  backend: BackendChoice;
  allowedOrigins: string[];
  indexOnGpu: boolean;
  /** Where onnxruntime-web's binary is; undefined: ort-env's default. */
  ortWasm?: OrtWasmLocation;
}

export interface IndexItemWire {
  readonly id: string;
  readonly image: WireImage;
  readonly meta?: Record<string, unknown>;
}

function wasmThreading(): WasmThreading {
  const threads = ortWasmThreads();
  return {
    threads,
    reason:
      globalThis.crossOriginIsolated === true
        ? `cross-origin isolated: ${threads} wasm threads`
        : 'not cross-origin isolated (no COOP/COEP headers): wasm runs single-threaded',
  };
}

/** What info().model reports about a loaded model. */
function describeModel(
  model: LoadedModel,
  selector: BackendSelector,
  dtype: DTypeOption | undefined,
  loadMs: number,
): LoadedModelInfo {
  return {
    url: model.url,
    kind: model.kind,
    architecture: model.architecture,
    dtype: dtype ?? model.graphs[0]?.dtype ?? 'fp32',
    graphs: model.graphs,
    verified: model.verified,
    scoring: { kind: model.scoring.kind, source: model.scoring.source },
    bytes: model.bytes,
    loadMs,
    placements: selector.placements,
    imageSize: model.imageSize,
    preprocessing: model.pixels ? 'gpu' : 'cpu',
    maxTextTokens: model.tokenizer.maxLength,
    maxCaptionTokens: model.captionLimits?.maxTokens,
    maxBeams: model.captionLimits?.maxBeams,
    captionTasks: model.florence && servedTasks(model.florence.spec),
    answers: model.answers,
    maxAnswerTokens: model.vlm ? Math.min(MAX_ANSWER_TOKENS, model.vlm.spec.maxPositions - 1) : undefined,
    contextLength: model.vlm?.spec.maxPositions,
    chat: model.vlm && chatCapabilities(model, model.vlm),
    repetitionPenalty: model.vlm?.spec.repetitionPenalty,
    sampling: model.vlm?.spec.suggestedSampling && { ...model.vlm.spec.suggestedSampling },
    stageMs: model.stageMs,
  };
}

/** A chat message as the worker accepts it: a role and non-empty text within the length limit. */
function chatMessages(v: unknown): ChatMessage[] {
  const messages = arrayOf('messages', v, MAX_CHAT_MESSAGES).map((m, i) => {
    const o = optionsObject(`messages[${i}]`, m);
    if (o.role === undefined) throw new WebvlError('INVALID_INPUT', `messages[${i}].role is missing`);
    const role = oneOf(`messages[${i}].role`, o.role, ['system', 'user', 'assistant'] as const, 'user');
    if (role === 'system' && i > 0)
      throw new WebvlError('INVALID_INPUT', `messages[${i}]: a system message comes first, and once`, {
        field: `messages[${i}].role`,
      });
    const content = stringOf(`messages[${i}].content`, o.content, MAX_MESSAGE_CHARS, false);
    if (content.trim() === '') throw new WebvlError('EMPTY_TEXT', `messages[${i}] has no text`, { index: i });
    return { role, content };
  });
  if (messages.length === 0) throw new WebvlError('EMPTY_TEXT', 'no messages: ask a question');
  if (messages[messages.length - 1].role !== 'user')
    throw new WebvlError('INVALID_INPUT', 'the last message must be the user’s question');
  return messages;
}

/** Sampling options: each number checked (integer where it must be, in range); greedy when absent. */
function samplingOf(v: unknown): Sampling {
  if (v === undefined) return GREEDY;
  const o = optionsObject('options.sampling', v);
  const s: Sampling = {
    temperature:
      o.temperature === undefined ? 1 : numberIn('options.sampling.temperature', o.temperature, 1e-3, 100),
    topK: integerIn('options.sampling.topK', o.topK, 1, MAX_TOP_K, MAX_TOP_K),
    topP: o.topP === undefined ? 1 : numberIn('options.sampling.topP', o.topP, 1e-6, 1),
    minP: o.minP === undefined ? 0 : numberIn('options.sampling.minP', o.minP, 0, 1),
    seed: integerIn('options.sampling.seed', o.seed, 0, 0xffffffff, 0),
  };
  checkSampling(s);
  return s;
}

/** options.repetitionPenalty: a number in range; undefined (the folder's default) when absent. */
function repetitionPenaltyOf(v: unknown): number | undefined {
  return v === undefined
    ? undefined
    : numberIn('options.repetitionPenalty', v, MIN_REPETITION_PENALTY, MAX_REPETITION_PENALTY);
}

export class RuntimeCore {
  private selector: BackendSelector | undefined;
  private selectorStarting: Promise<BackendSelector> | undefined;
  private probe: DeviceProbe | undefined;
  private model: LoadedModel | undefined;
  private modelInfo: LoadedModelInfo | undefined;
  /** The dtype option of the last load, to reload the same files after a device loss. */
  private requestedDType: DTypeOption | undefined;
  private lastTimings: Timings | undefined;
  private lastRun: RunMode | undefined;
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
  /** onnxruntime-web's WebGPU device was lost: ORT cannot make another here, so its graphs move to wasm. */
  private ortWebgpuLost = false;
  /** The last ask/chat conversation: its image features and KV cache, reused by the next turn about that image. */
  private conversation: Conversation | undefined;
  /** Set by shutdown(): requests still queued, and any later one, are refused with DISPOSED. */
  private closed = false;
  /** Aborted by shutdown(), so a long request (caption, capfilt, index.add) stops at its next check. */
  private readonly lifetime = new AbortController();
  private readonly storage: IndexStorage =
    typeof indexedDB === 'undefined' ? new MemoryIndexStorage() : new IdbIndexStorage();

  constructor(private readonly options: CoreOptions) {
    if (options.ortWasm) setOrtWasmLocation(options.ortWasm);
  }

  /** Runs requests one after another; a failed one does not block the next. */
  /** `retry: false` for requests whose side effects reach the caller as they run (streamed caption tokens). */
  private serial<T>(f: () => Promise<T>, retry = true): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new WebvlError('DISPOSED', 'the runtime was disposed');
      return this.reportDeviceLoss(f, retry);
    });
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
      const maybeLoss = !(e instanceof WebvlError) || e.code === 'INTERNAL' || e.code === 'DEVICE_LOST';
      if (this.deviceLosses === losses || !maybeLoss || this.closed) throw e;
      if (retry) return this.reportDeviceLoss(f, false);
      throw new WebvlError(
        'DEVICE_LOST',
        `the GPU device was lost during the request; retry it (${String(e)})`,
      );
    }
  }

  /**
   * Watches the GPU devices the selector's backends run on (ours and onnxruntime-web's WebGPU provider); a
   * loss marks the model for reloading, on new devices, or on wasm for graphs ORT's WebGPU provider ran.
   */
  private async watchModelDevices(selector: BackendSelector): Promise<void> {
    const devices = await selector.gpuDevices();
    this.modelDevices = devices.map((d) => d.device);
    for (const { backend, device } of devices) {
      void device.lost.then(() => {
        if (this.selector !== selector) return;
        this.deviceLosses++;
        this.modelDeviceLost = true;
        if (backend === 'ort-webgpu') this.ortWebgpuLost = true;
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
    this.endConversation();
    await old?.release().catch(() => undefined);
    if (!url) {
      this.modelDeviceLost = false;
      return;
    }
    const t0 = performance.now();
    const dtype = this.requestedDType;
    const selector = await this.getSelector();
    const folder = await openModelFolder(url, { allowedOrigins: this.options.allowedOrigins });
    this.model = await loadModel(folder, selector, { dtype, warmUp: false });
    this.modelDeviceLost = false;
    await this.watchModelDevices(selector);
    // Placements and preprocessing may differ now (ORT's WebGPU graphs moved to wasm).
    this.modelInfo = describeModel(this.model, selector, dtype, performance.now() - t0);
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

  /** One selector at a time, even when two requests ask for it at once (a load and an info()). */
  private async getSelector(): Promise<BackendSelector> {
    if (this.selector) return this.selector;
    this.selectorStarting ??= (async () => {
      this.probe ??= await probeDevice();
      const selector = await Selector.create(this.options.backend, {
        ortWebgpu: !this.ortWebgpuLost,
        probe: this.probe,
      });
      this.selector = selector;
      return selector;
    })().finally(() => {
      this.selectorStarting = undefined;
    });
    return this.selectorStarting;
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
    this.lastRun = watch.run;
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
      wasm: wasmThreading(),
      model: this.modelInfo,
      lastTimings: this.lastTimings,
      lastRun: this.lastRun,
    };
  }

  load(
    modelUrl: string,
    onProgress?: ProgressListener,
    { refresh = false, dtype, warmUp = true }: WorkerLoadOptions = {},
  ): Promise<LoadedModelInfo> {
    return this.serial(async () => {
      const t0 = performance.now();
      stringOf('modelUrl', modelUrl, 8_192);
      const requested = checkDTypeOption(dtype, 'options.dtype');
      const selector = await this.getSelector();
      const folder = await openModelFolder(modelUrl, {
        allowedOrigins: this.options.allowedOrigins,
        refresh,
      });
      const model = await loadModel(folder, selector, { dtype: requested, onProgress, warmUp });
      this.endConversation();
      await this.model?.release();
      this.model = model;
      this.requestedDType = requested;
      this.modelDeviceLost = false;
      await this.watchModelDevices(selector);
      this.modelInfo = describeModel(model, selector, requested, performance.now() - t0);
      return this.modelInfo;
    });
  }

  unload(): Promise<void> {
    return this.serial(async () => {
      this.endConversation();
      await this.model?.release();
      this.model = undefined;
      this.modelInfo = undefined;
    });
  }

  classify(image: WireImage, labels: string[], template?: string | string[]): Promise<Timed<LabelScore[]>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        if (!Array.isArray(labels)) throw new WebvlError('EMPTY_LABELS', 'no labels given');
        stringsOf('labels', labels, MAX_TEXTS_PER_CALL);
        if (template !== undefined && typeof template !== 'string')
          stringsOf('options.template', template, MAX_TEMPLATES);
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
        watch.ran('embed', requireTask(model, 'embed'));
        const enc = await encodeImages(model, [await this.pixels(image)], watch);
        disposeTensor(enc.tokens);
        return normalizeRows(enc.embeds, 1, enc.dim);
      }),
    );
  }

  embedText(texts: string[]): Promise<Timed<Float32Array[]>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        stringsOf('texts', texts, MAX_TEXTS_PER_CALL);
        const model = this.requireModel();
        watch.ran('embed', requireTask(model, 'embed'));
        const t = await encodeTexts(model, texts, watch);
        const n = normalizeRows(t.embeds, t.count, t.dim);
        return Array.from({ length: t.count }, (_, i) => n.slice(i * t.dim, (i + 1) * t.dim));
      }),
    );
  }

  match(image: WireImage, texts: string[]): Promise<Timed<MatchScore[]>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        stringsOf('texts', texts, MAX_TEXTS_PER_CALL);
        const model = this.requireModel();
        requireTask(model, 'match');
        const enc = await encodeImages(model, [await this.pixels(image)], watch);
        try {
          return await matchEncoded(model, enc, 0, texts, watch);
        } finally {
          disposeTensor(enc.tokens);
        }
      }),
    );
  }

  /** The request's own signal (abort() from the page) joined with the runtime's (shutdown). */
  private signalFor(requestId: number | undefined): AbortSignal {
    if (requestId === undefined) return this.lifetime.signal;
    const c = new AbortController();
    this.aborts.set(requestId, c);
    return AbortSignal.any([c.signal, this.lifetime.signal]);
  }

  abort(requestId: number): void {
    this.aborts.get(requestId)?.abort();
  }

  caption(
    image: WireImage,
    options: { maxTokens?: number; numBeams?: number; prompt?: string; task?: string; taskInput?: string },
    onToken: TokenListener | undefined,
    requestId: number | undefined,
  ): Promise<Timed<CaptionResult>> {
    const signal = this.signalFor(requestId);
    return this.serial(
      () =>
        this.timed(async (watch) => {
          if (signal.aborted) throw new WebvlError('ABORTED', 'caption was cancelled');
          const model = this.requireModel();
          const { maxTokens, numBeams, prompt, task, taskInput } = this.captionOptions(model, options);
          if (model.florence) {
            watch.ran('caption', requireTask(model, 'caption'));
            const opts = { maxTokens, numBeams, task, taskInput, onToken, signal };
            return captionFlorence(model, model.florence, await this.pixels(image), opts, watch);
          }
          const enc = await encodeImages(model, [await this.pixels(image)], watch);
          try {
            const opts = { maxTokens, numBeams, prompt, onToken, signal };
            watch.ran('caption', requireTask(model, 'caption'));
            return numBeams > 1
              ? await captionBeam(model, imageTokens(enc), opts, watch)
              : await captionGreedy(model, imageTokens(enc), opts, watch);
          } finally {
            disposeTensor(enc.tokens);
          }
        }),
      false, // tokens already streamed to onToken must not be streamed again
    ).finally(() => requestId !== undefined && this.aborts.delete(requestId));
  }

  /**
   * Answers the last user message about the image (ask: one question; chat: the whole conversation so far, whose
   * earlier turns about the same image are reused from the cache). Tokens stream to onToken.
   */
  chat(
    image: WireImage | WireImage[],
    messages: unknown,
    options: {
      maxTokens?: number;
      sampling?: unknown;
      repetitionPenalty?: number;
      topAnswers?: number;
      maxPixels?: number;
    },
    onToken: ((t: AnswerToken) => undefined | boolean | Promise<undefined | boolean>) | undefined,
    requestId: number | undefined,
  ): Promise<Timed<AnswerResult>> {
    const signal = this.signalFor(requestId);
    return this.serial(
      () =>
        this.timed(async (watch) => {
          if (signal.aborted) throw new WebvlError('ABORTED', 'the answer was cancelled');
          const model = this.requireModel();
          requireTask(model, 'ask');
          if (model.fusion && model.answers) {
            // A VQA classifier: options are checked as for any model, but an answer is one class (maxTokens
            // cannot shorten it) and the classifier's top answer is the answer (sampling does not apply).
            const o = optionsObject('options', options);
            if (o.maxTokens !== undefined)
              integerIn('options.maxTokens', o.maxTokens, 1, MAX_ANSWER_TOKENS, 1);
            if (o.maxPixels !== undefined) noMaxPixels(model.url);
            samplingOf(o.sampling);
            repetitionPenaltyOf(o.repetitionPenalty);
            const top = integerIn(
              'options.topAnswers',
              o.topAnswers,
              1,
              model.answers.length,
              Math.min(TOP_ANSWERS, model.answers.length),
            );
            const turns = chatMessages(messages);
            if (turns[0].role === 'system')
              throw new WebvlError(
                'INVALID_INPUT',
                `${model.url} is a VQA classifier: it reads questions, not a system message`,
                { field: 'messages' },
              );
            if (Array.isArray(image) && image.length !== 1)
              throw new WebvlError(
                'INVALID_INPUT',
                `${model.url} answers about one image; it was given ${image.length}`,
                { field: 'image' },
              );
            this.endConversation();
            const one = Array.isArray(image) ? image[0] : image;
            return answerByClassifier(model, await this.pixels(one), turns, onToken, watch, top);
          }
          const vlm = vlmOf(model);
          const o = optionsObject('options', options);
          if (o.topAnswers !== undefined) {
            throw new WebvlError(
              'INVALID_INPUT',
              `options.topAnswers applies to VQA classifiers (ViLT, VLMo); ${model.url} generates its answer`,
              { field: 'options.topAnswers' },
            );
          }
          const maxTokens =
            o.maxTokens === undefined
              ? undefined
              : integerIn(
                  'options.maxTokens',
                  o.maxTokens,
                  1,
                  Math.min(MAX_ANSWER_TOKENS, vlm.spec.maxPositions - 1),
                  1,
                );
          const sampling = samplingOf(o.sampling);
          const repetitionPenalty = repetitionPenaltyOf(o.repetitionPenalty);
          const patches = vlm.spec.patches?.plan;
          if (o.maxPixels !== undefined && !patches) noMaxPixels(model.url);
          const maxPixels =
            o.maxPixels === undefined || !patches
              ? undefined
              : integerIn('options.maxPixels', o.maxPixels, patches.minPixels, patches.maxPixels, 1);
          const turns = chatMessages(messages);
          const pixels = Array.isArray(image)
            ? await Promise.all(image.map((w) => this.pixels(w)))
            : await this.pixels(image);
          const { result, conversation } = await answer(
            model,
            pixels,
            turns,
            this.conversation,
            {
              maxTokens,
              sampling,
              onToken,
              signal,
              ...(maxPixels ? { maxPixels } : {}),
              ...(repetitionPenalty !== undefined ? { repetitionPenalty } : {}),
            },
            watch,
          );
          if (conversation !== this.conversation) this.endConversation();
          this.conversation = conversation;
          watch.ran('ask', 'decoder');
          return result;
        }),
      false, // tokens already streamed to onToken must not be streamed again
    ).finally(() => requestId !== undefined && this.aborts.delete(requestId));
  }

  private endConversation(): void {
    this.conversation?.release();
    this.conversation = undefined;
  }

  /**
   * maxTokens: an integer from 1 to the decoder's positions (default: generation_config's max_length, within
   * that); numBeams: an integer from 1 to the model's memory-derived bound. Checked before any work is done.
   */
  private captionOptions(
    model: LoadedModel,
    options: unknown,
  ): { maxTokens: number; numBeams: number; prompt?: string; task?: string; taskInput?: string } {
    const o = optionsObject('options', options);
    const limits = model.captionLimits;
    if (!limits || !model.generation) throw unsupportedTask(model.url, model.kind, 'caption');
    const florence = model.florence?.spec;
    // Florence-2 is conditioned on a task's prompt, not on the caption's first words.
    if (florence && o.prompt !== undefined)
      throw new WebvlError(
        'INVALID_INPUT',
        `options.prompt is BLIP's caption prefix; ${model.url} is a Florence-2 model, which takes options.task`,
        { field: 'options.prompt' },
      );
    for (const field of ['task', 'taskInput'] as const)
      if (!florence && o[field] !== undefined)
        throw new WebvlError(
          'INVALID_INPUT',
          `options.${field} applies to Florence-2 models; ${model.url} is not one`,
          { field: `options.${field}` },
        );
    const fallback = Math.min(
      florence ? defaultFlorenceTokens(florence) : model.generation.maxLength,
      limits.maxTokens,
    );
    const task = o.task === undefined ? undefined : stringOf('options.task', o.task, 10_000);
    const taskInput =
      o.taskInput === undefined ? undefined : stringOf('options.taskInput', o.taskInput, 10_000);
    if (florence) taskPlan(florence, task ?? DEFAULT_FLORENCE_TASK, taskInput);
    return {
      maxTokens: integerIn('options.maxTokens', o.maxTokens, 1, limits.maxTokens, fallback),
      numBeams: integerIn('options.numBeams', o.numBeams, 1, limits.maxBeams, 1),
      prompt: o.prompt === undefined ? undefined : stringOf('options.prompt', o.prompt, 10_000),
      task,
      taskInput,
    };
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
        arrayOf('images', images, MAX_IMAGES_PER_CALL);
        numberIn('options.threshold', threshold, 0, 1);
        if (texts !== undefined) {
          arrayOf('options.texts', texts, MAX_IMAGES_PER_CALL).forEach((t, i) => {
            if (t !== undefined) stringOf(`options.texts[${i}]`, t, Number.POSITIVE_INFINITY, false);
          });
        }
        const model = this.requireModel();
        if (!model.decoder || (!model.itm && !model.fusion)) {
          throw unsupportedTask(
            model.url,
            model.kind,
            'caption',
            'CapFilt needs a caption decoder and an ITM head (load a BLIP model)',
          );
        }
        const pixels = await Promise.all(images.map((w) => this.pixels(w)));
        return capfilt(model, pixels, texts, threshold, signal, watch);
      }),
    ).finally(() => requestId !== undefined && this.aborts.delete(requestId));
  }

  // --- index ---------------------------------------------------------------------------------------
  // Every index call goes through the same queue as the model's requests, so calls resolve in the order
  // they were made (a remove() made after an add() sees the added entries).

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

  private namedIndex(name: unknown): Promise<EmbeddingIndex> {
    return this.index(stringOf('name', name, MAX_INDEX_NAME_LENGTH));
  }

  indexOpen(name: string): Promise<{ size: number; backend: 'gpu' | 'cpu' }> {
    return this.serial(async () => {
      const idx = await this.namedIndex(name);
      return { size: idx.size(), backend: idx.backend };
    });
  }

  indexAdd(name: string, items: IndexItemWire[]): Promise<Timed<number>> {
    return this.indexPut(name, items, false);
  }

  indexUpsert(name: string, items: IndexItemWire[]): Promise<Timed<number>> {
    return this.indexPut(name, items, true);
  }

  /** add (replace = false: existing ids → DUPLICATE_ID) or upsert; ids are checked before any image is embedded. */
  private indexPut(name: string, items: IndexItemWire[], replace: boolean): Promise<Timed<number>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        const model = this.requireModel();
        requireTask(model, 'search');
        const list = arrayOf('items', items, MAX_IMAGES_PER_CALL) as IndexItemWire[];
        if (list.length === 0) throw new WebvlError('INVALID_INPUT', 'no items to add');
        const ids = list.map((it, i) =>
          stringOf(`items[${i}].id`, optionsObject(`items[${i}]`, it).id, MAX_ID_LENGTH),
        );
        const idx = await this.namedIndex(name);
        const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
        const taken = replace ? [] : idx.existing(ids);
        if (twice.length > 0 || taken.length > 0) {
          const dup = [...new Set([...twice, ...taken])];
          throw new WebvlError(
            'DUPLICATE_ID',
            twice.length > 0
              ? `id ${dup.map((id) => `'${id}'`).join(', ')} appears twice in one batch`
              : `index '${idx.name}' already has ${dup.map((id) => `'${id}'`).join(', ')}; use upsert() to replace`,
            { ids: dup },
          );
        }
        // Decode and embed everything first: a bad image anywhere aborts the batch before the index changes.
        const small = await watch.time('decode-image', () =>
          Promise.all(list.map(async (it) => resizeToModel(await this.pixels(it.image), model.plan))),
        );
        const records: IndexRecord[] = [];
        const BATCH = 16;
        for (let i = 0; i < small.length; i += BATCH) {
          if (this.lifetime.signal.aborted) throw new WebvlError('DISPOSED', 'the runtime was disposed');
          records.push(...(await indexRecords(model, small.slice(i, i + BATCH), watch)));
        }
        const entries = list.map((it, i) => ({ id: ids[i], ...records[i], meta: it.meta }));
        return watch.time('index', () => (replace ? idx.upsert(entries) : idx.add(entries)));
      }),
    );
  }

  /**
   * k: an integer from 1 to MAX_SEARCH_K (with rerank, to MAX_RERANK_CANDIDATES); candidates: from k to
   * MAX_RERANK_CANDIDATES (default 2·k, within that).
   */
  indexSearch(name: string, query: string, options: unknown): Promise<Timed<RetrievalHit[]>> {
    return this.serial(() =>
      this.timed(async (watch) => {
        const o = optionsObject('options', options);
        const rerank = optionalBoolean('options.rerank', o.rerank) === true;
        const k = integerIn('options.k', o.k, 1, rerank ? MAX_RERANK_CANDIDATES : MAX_SEARCH_K, 5);
        const candidates = rerank
          ? integerIn(
              'options.candidates',
              o.candidates,
              k,
              MAX_RERANK_CANDIDATES,
              Math.min(2 * k, MAX_RERANK_CANDIDATES),
            )
          : integerIn('options.candidates', o.candidates, 1, MAX_RERANK_CANDIDATES, k);
        const text = stringOf('query', query, Number.POSITIVE_INFINITY, false);
        const model = this.requireModel();
        const idx = await this.namedIndex(name);
        const size = this.modelInfo?.imageSize ?? [64, 64];
        return retrieve(model, idx, text, { k, rerank, candidates }, size, watch);
      }),
    );
  }

  indexRemove(name: string, ids: string[]): Promise<number> {
    return this.serial(async () => {
      const list = stringsOf('ids', ids, MAX_IDS_PER_REMOVE, MAX_ID_LENGTH);
      return (await this.namedIndex(name)).remove(list);
    });
  }

  indexSize(name: string): Promise<number> {
    return this.serial(async () => (await this.namedIndex(name)).size());
  }

  indexClear(name: string): Promise<void> {
    return this.serial(async () => {
      await (await this.namedIndex(name)).clear();
    });
  }

  // --- shutdown ------------------------------------------------------------------------------------

  /**
   * For dispose(): refuse what is queued and anything later, stop the running request at its next check,
   * then release the model's sessions, the index matrices and destroy every GPU device this worker made
   * (destroying a device frees all its buffers). The page terminates the worker afterwards.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lifetime.abort();
    for (const c of this.aborts.values()) c.abort();
    await this.queue;
    const devices = (await this.selector?.gpuDevices().catch(() => [])) ?? [];
    this.selector = undefined; // a loss from here on is ours, not one to recover from
    this.endConversation();
    await this.model?.release().catch(() => undefined);
    this.model = undefined;
    this.modelInfo = undefined;
    for (const idx of this.indexes.values()) (await idx.catch(() => undefined))?.close();
    this.indexes.clear();
    const indexDevice = await this.indexDevice?.catch(() => undefined);
    this.indexDevice = undefined;
    for (const d of new Set([...devices.map((x) => x.device), indexDevice])) d?.destroy();
  }
}

/** INVALID_INPUT: maxPixels on a model whose images are not resized to a patch grid of their own. */
function noMaxPixels(url: string): never {
  throw new WebvlError(
    'INVALID_INPUT',
    `options.maxPixels applies to models that resize each image to a patch grid (Qwen2-VL); ${url} does not`,
    { field: 'options.maxPixels' },
  );
}
