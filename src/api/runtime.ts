// The page-side client: createRuntime() starts a module worker and returns a typed facade over it. Arguments
// are checked here (api/arguments.ts) before anything is posted; images are converted to transferable forms
// and moved (not copied); callbacks cross as Comlink proxies; errors come back as WebvlError with their code.
// Every call runs through a CallGate, so dispose() settles whatever is still pending.
import * as Comlink from 'comlink';
import { WebvlError } from '../errors';
import type { WireImage } from '../vision/image-input';
import { type ImageInput, toWireImage } from '../vision/image-input';
import { fromWire } from '../worker/errors';
import type { WorkerApi } from '../worker/worker-api';
import {
  askArguments,
  capfiltArguments,
  captionArguments,
  chatImagesArgument,
  chatMessagesArgument,
  classifyArguments,
  indexItems,
  indexName,
  loadArguments,
  questionMessages,
  removeIds,
  runtimeOptions,
  searchArguments,
  textsOf,
} from './arguments';
import { CallGate } from './call-gate';
import type {
  AnswerResult,
  AnswerToken,
  AskCallOptions,
  CapFiltItem,
  CapFiltOptions,
  CaptionCallOptions,
  CaptionResult,
  CaptionToken,
  ChatMessage,
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
import { defaultOrtWasm, startRuntimeWorker } from './worker-start';

/** One image to add to an index. */
export interface IndexItem {
  /** Unique within the index (add() refuses an id it holds; upsert() replaces it). */
  readonly id: string;
  readonly image: ImageInput;
  /** Stored with the entry and returned with search hits. */
  readonly meta?: Record<string, unknown>;
}

/** A named embedding index of images, persisted in IndexedDB, from {@link Runtime.openIndex}. */
export interface IndexHandle {
  readonly name: string;
  /** 'gpu' when the matrix lives in a GPU buffer and search runs in WGSL. */
  readonly backend: 'gpu' | 'cpu';
  /**
   * Embeds and stores the images; all of them or none. Resolves to the new size. An id the index already
   * holds (or one id twice in the batch) rejects the whole batch with DUPLICATE_ID; upsert() replaces.
   */
  add(items: readonly IndexItem[]): Promise<number>;
  /** Like add(), but an id the index holds is replaced (its image, vector and meta). */
  upsert(items: readonly IndexItem[]): Promise<number>;
  /** The images best matching `query`, best first: ITC top-k, optionally re-ranked with ITM. */
  search(query: string, options?: IndexSearchOptions): Promise<RetrievalHit[]>;
  /** Removes entries by id; resolves to the new size. */
  remove(ids: readonly string[]): Promise<number>;
  /** Number of entries. */
  size(): Promise<number>;
  /** Removes every entry. */
  clear(): Promise<void>;
}

/** A running runtime: one worker, one loaded model at a time. Create one with {@link createRuntime}. */
export interface Runtime {
  /** The backend in use and why, the adapter, wasm threading, the loaded model, the last request's timings. */
  info(): Promise<RuntimeInfo>;
  /**
   * Loads a model folder: a Hugging Face / transformers.js folder as it is (CLIP, SigLIP, BLIP by config.json),
   * or one with a manifest.json, whose files are then checked against their SHA-256. A Hub address
   * (https://huggingface.co/org/name, …/tree/<rev>, …/resolve/<rev>/) works when its origin is allowed. Cached
   * files are used when present, so a second load makes no request; `refresh: true` asks the network again.
   */
  load(modelUrl: string, options?: LoadOptions): Promise<LoadedModelInfo>;
  /** Releases the loaded model's sessions. */
  unload(): Promise<void>;
  /**
   * Zero-shot classification: how well each label describes the image, as probabilities over the labels, best
   * first. `options.template` turns a label into a prompt (`'a photo of a {}'`, where `{}` is the label); an
   * array of templates is a prompt ensemble (their text embeddings are averaged).
   */
  classify(
    image: ImageInput,
    labels: readonly string[],
    options?: { template?: string | readonly string[] },
  ): Promise<LabelScore[]>;
  /** Unit-length image embedding. */
  embedImage(image: ImageInput): Promise<Float32Array>;
  /** Unit-length text embeddings, one per text. */
  embedText(texts: string | readonly string[]): Promise<Float32Array[]>;
  /** Image–text agreement for each text: ITC cosine and, for models with an ITM head, a match probability. */
  match(image: ImageInput, texts: readonly string[]): Promise<MatchScore[]>;
  /** Writes a caption (BLIP-family models): greedy, or beam search with `numBeams`; tokens stream to `onToken`. */
  caption(image: ImageInput, options?: CaptionCallOptions): Promise<CaptionResult>;
  /**
   * Answers a question about the image (llava-family models, LLaVA or BLIP-2 style); tokens stream to
   * `onToken`. A blank question is EMPTY_TEXT; one that does not fit the context with the image, TEXT_TOO_LONG;
   * any other model, UNSUPPORTED_TASK. An array asks about several images (1 to 16, in order: see `chat`).
   */
  ask(
    image: ImageInput | readonly ImageInput[],
    question: string,
    options?: AskCallOptions,
  ): Promise<AnswerResult>;
  /**
   * Answers the last user message of a conversation about the image. Pass the whole conversation each turn
   * (user and assistant messages, the last one the user's): the runtime keeps the image's features and the
   * conversation's KV cache, so the next turn about the same image only feeds what is new. A conversation that
   * no longer fits the context is CONTEXT_FULL. An array of images (1 to 16) puts them all, in order, in the first
   * user message, for models whose chat template takes each image as a content part (SmolVLM, Qwen2-VL, Gemma3); a
   * template that writes one image refuses more with INVALID_INPUT, as VQA classifiers do. PaliGemma has no chat
   * template: it answers one user message (its images, then the prompt); a longer conversation is INVALID_INPUT.
   */
  chat(
    image: ImageInput | readonly ImageInput[],
    messages: readonly ChatMessage[],
    options?: AskCallOptions,
  ): Promise<AnswerResult>;
  /** BLIP's CapFilt: captions each image, then keeps the captions (and given web texts) that ITM accepts. */
  capfilt(images: readonly ImageInput[], options: CapFiltOptions): Promise<CapFiltItem[]>;
  /** Opens (or creates) the named index, stored in IndexedDB and searched on the GPU when there is one. */
  openIndex(name: string): Promise<IndexHandle>;
  /**
   * Ends the runtime. Calls still pending reject at once with DISPOSED, as does every later call. Resolves
   * once the worker has released its GPU resources (the model's sessions, index matrices, its devices) and
   * been terminated; a worker that cannot answer within 10 s is terminated anyway, which frees them too.
   */
  dispose(): Promise<void>;
}

/**
 * How long dispose() lets the worker release its GPU resources before terminating it regardless. Pending
 * calls are rejected at once either way; only dispose()'s own promise waits (for a worker in the middle of a
 * long synchronous step, such as compiling a graph's pipelines).
 */
const SHUTDOWN_GRACE_MS = 10_000;

/** Worker answers become WebvlErrors; a DataCloneError here can only be an image that cannot move. */
async function remote<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const error = fromWire(e);
    if (error instanceof WebvlError) throw error;
    if (error instanceof Error && error.name === 'DataCloneError') {
      throw new WebvlError(
        'BAD_IMAGE',
        `an image could not be sent to the worker (closed or detached?): ${error.message}`,
      );
    }
    throw new WebvlError('INTERNAL', `the runtime worker failed: ${String(error)}`);
  }
}

async function wire(image: unknown): Promise<WireImage> {
  const { wire, transfer } = await toWireImage(image as ImageInput);
  return transfer.length ? Comlink.transfer(wire, transfer) : wire;
}

/** Comlink only transfers what is marked on a top-level argument, so arrays are marked as a whole. */
async function wireAll<T>(images: readonly unknown[], build: (w: WireImage, i: number) => T): Promise<T[]> {
  const parts = await Promise.all(images.map((im) => toWireImage(im as ImageInput)));
  const out = parts.map((p, i) => build(p.wire, i));
  return Comlink.transfer(
    out,
    parts.flatMap((p) => p.transfer),
  );
}

let nextRequestId = 1;

/**
 * A caller's callback (onProgress, onToken) that throws is reported like an event listener's exception and
 * does not change the call: the load or caption goes on.
 */
function reporting<A>(callback: (arg: A) => void): (arg: A) => void {
  return (arg) => {
    try {
      callback(arg);
    } catch (e) {
      const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
      if (report) report(e);
      else console.error(e);
    }
  };
}

/**
 * Starts a runtime: a module worker that will load a model and run its graphs. Resolves once the worker is up;
 * call {@link Runtime.load} next.
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  runtimeOptions(options); // bad options are refused before a worker is started
  return connectRuntime(startRuntimeWorker(), options);
}

/** What the facade talks to: a module worker, or (Node tests) a MessagePort served by createWorkerApi(). */
export interface RuntimeEndpoint extends Comlink.Endpoint {
  terminate(): void;
}

/** @internal The facade over an endpoint that serves the worker API; createRuntime() passes its worker. */
export async function connectRuntime(
  worker: RuntimeEndpoint,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  let settings: ReturnType<typeof runtimeOptions>;
  try {
    settings = runtimeOptions(options);
  } catch (e) {
    worker.terminate();
    throw e;
  }
  const api = Comlink.wrap<WorkerApi>(worker);
  // A worker script that fails to load would leave every call pending forever; fail them instead.
  const crashed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => {
      const message = (e as ErrorEvent).message;
      reject(
        new WebvlError('INTERNAL', `the runtime worker failed: ${message || 'could not load its script'}`),
      );
    });
  });
  crashed.catch(() => undefined);
  const started = remote(() =>
    api.init({
      backend: settings.backend,
      allowedOrigins: settings.allowedOrigins,
      indexOnGpu: settings.indexOnGpu,
      ortWasm: settings.ortWasm ?? defaultOrtWasm(),
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
  const gate = new CallGate();
  /** A public call: gated (dispose settles it), and a page-side failure that is not typed becomes one. */
  const call = <T>(f: () => Promise<T>): Promise<T> =>
    gate.run(async () => {
      try {
        return await f();
      } catch (e) {
        if (e instanceof WebvlError) throw e;
        throw new WebvlError('INVALID_INPUT', `the arguments could not be read: ${String(e)}`);
      }
    });

  // Messages leave in call order even when an earlier call takes longer to prepare (images are converted
  // asynchronously), so with the worker's FIFO queue, calls resolve in the order they were made.
  let lastPost: Promise<void> = Promise.resolve();
  /** Prepares at once, posts after the previous call has posted. Must be called synchronously by a call. */
  const ordered = <P, T>(prepare: () => Promise<P>, send: (prepared: P) => Promise<T>): Promise<T> => {
    const prepared = prepare();
    const previous = lastPost;
    let posted!: () => void;
    lastPost = new Promise<void>((resolve) => {
      posted = resolve;
    });
    return (async () => {
      try {
        const p = await prepared;
        await previous;
        return await send(p);
      } finally {
        void previous.then(posted);
      }
    })();
  };
  /** A call that only posts: ordered, gated. */
  const request = <P, T>(prepare: () => Promise<P>, send: (prepared: P) => Promise<T>): Promise<T> =>
    call(() => ordered(prepare, send));

  /** Runs f with a request id the signal can abort in the worker; the listener goes when the call ends. */
  const withSignal = async <T>(
    signal: AbortSignal | undefined,
    f: (id: number | undefined) => Promise<T>,
  ) => {
    if (!signal) return f(undefined);
    if (signal.aborted) throw new WebvlError('ABORTED', 'cancelled before it started');
    const id = nextRequestId++;
    const onAbort = () => {
      if (!gate.closed) api.abort(id).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await f(id);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };

  const putItems = (name: string, items: readonly IndexItem[], replace: boolean) =>
    request(
      async () => {
        const checked = indexItems(items);
        return wireAll(
          checked.map((it) => it.image),
          (image, i) => ({ id: checked[i].id, image, meta: checked[i].meta }),
        );
      },
      async (wires) =>
        result(await remote(() => (replace ? api.indexUpsert(name, wires) : api.indexAdd(name, wires)))),
    );

  const nothing = async () => undefined;
  let disposing: Promise<void> | undefined;
  /** ask and chat: the messages, then tokens streamed back through a proxy that also reports the signal. */
  const converse = (
    image: ImageInput | readonly ImageInput[],
    messages: () => unknown[],
    opts: AskCallOptions | undefined,
  ) =>
    call(() => {
      const list = messages();
      const a = askArguments(opts);
      const images = chatImagesArgument(image);
      return withSignal(a.signal, (id) =>
        ordered(
          (): Promise<WireImage | WireImage[]> => (images ? wireAll(images, (w) => w) : wire(image)),
          async (w) => {
            const user = a.onToken as ((t: AnswerToken) => void) | undefined;
            const signal = a.signal;
            const onToken =
              user || signal
                ? Comlink.proxy((t: AnswerToken) => {
                    if (user) reporting(user)(t);
                    return signal?.aborted === true;
                  })
                : undefined;
            const options = a.numbers as Pick<
              AskCallOptions,
              'maxTokens' | 'sampling' | 'repetitionPenalty' | 'topAnswers' | 'maxPixels'
            >;
            return result<AnswerResult>(
              await remote(() => api.chat(w, list as ChatMessage[], options, onToken, id)),
            );
          },
        ),
      );
    });

  const runtime: Runtime = {
    info: () => request(nothing, () => remote(() => api.info())),
    load: (modelUrl, loadOptions) =>
      request(
        async () => loadArguments(modelUrl, loadOptions),
        (a) => {
          const listener = a.onProgress ?? settings.onProgress;
          return remote(() =>
            api.load(a.url, listener ? Comlink.proxy(reporting(listener)) : undefined, {
              refresh: a.refresh,
              dtype: a.dtype,
              warmUp: a.warmUp,
            }),
          );
        },
      ),
    unload: () => request(nothing, () => remote(() => api.unload())),
    classify: (image, labels, opts) =>
      request(
        async () => ({ ...classifyArguments(labels, opts), w: await wire(image) }),
        async (a) => result(await remote(() => api.classify(a.w, a.labels, a.template))),
      ),
    embedImage: (image) =>
      request(
        () => wire(image),
        async (w) => result(await remote(() => api.embedImage(w))),
      ),
    embedText: (texts) =>
      request(
        async () => textsOf('texts', texts),
        async (t) => result(await remote(() => api.embedText(t))),
      ),
    match: (image, texts) =>
      request(
        async () => ({ t: textsOf('texts', texts), w: await wire(image) }),
        async (a) => result(await remote(() => api.match(a.w, a.t))),
      ),
    caption: (image, opts) =>
      call(() => {
        const a = captionArguments(opts);
        return withSignal(a.signal, (id) =>
          ordered(
            () => wire(image),
            async (w) => {
              const user = a.onToken as ((t: CaptionToken) => void) | undefined;
              const signal = a.signal;
              // Returns "stop?" to the worker, which awaits it each step.
              const onToken =
                user || signal
                  ? Comlink.proxy((t: CaptionToken) => {
                      if (user) reporting(user)(t);
                      return signal?.aborted === true;
                    })
                  : undefined;
              const numbers = a.numbers as { maxTokens?: number; numBeams?: number };
              const options = {
                ...numbers,
                ...(a.prompt === undefined ? {} : { prompt: a.prompt }),
                ...(a.task === undefined ? {} : { task: a.task }),
                ...(a.taskInput === undefined ? {} : { taskInput: a.taskInput }),
              };
              return result(await remote(() => api.caption(w, options, onToken, id)));
            },
          ),
        );
      }),
    ask: (image, question, opts) => converse(image, () => questionMessages(question), opts),
    chat: (image, messages, opts) => converse(image, () => chatMessagesArgument(messages), opts),
    capfilt: (images, opts) =>
      call(() => {
        const a = capfiltArguments(images, opts);
        return withSignal(a.signal, (id) =>
          ordered(
            () => wireAll(a.images, (w) => w),
            async (wires) => result(await remote(() => api.capfilt(wires, a.texts, a.threshold, id))),
          ),
        );
      }),
    openIndex: (nameArgument) =>
      request(
        async () => indexName(nameArgument),
        async (name) => {
          const opened = await remote(() => api.indexOpen(name));
          const handle: IndexHandle = {
            name,
            backend: opened.backend,
            add: (items) => putItems(name, items, false),
            upsert: (items) => putItems(name, items, true),
            search: (query, o) =>
              request(
                async () => searchArguments(query, o),
                async (a) =>
                  result(
                    await remote(() =>
                      api.indexSearch(
                        name,
                        a.query,
                        a.options as { k?: number; rerank?: boolean; candidates?: number },
                      ),
                    ),
                  ),
              ),
            remove: (ids) =>
              request(
                async () => removeIds(ids),
                (checked) => remote(() => api.indexRemove(name, checked)),
              ),
            size: () => request(nothing, () => remote(() => api.indexSize(name))),
            clear: () => request(nothing, () => remote(() => api.indexClear(name))),
          };
          return handle;
        },
      ),
    dispose() {
      disposing ??= (async () => {
        gate.close('dispose() was called');
        // Let the worker release its GPU resources; a worker stuck in a long computation is not waited for.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
        });
        await Promise.race([api.shutdown().catch(() => undefined), grace]);
        clearTimeout(timer);
        void Promise.resolve(api[Comlink.releaseProxy]()).catch(() => undefined);
        worker.terminate();
      })();
      return disposing;
    },
  };
  Object.defineProperty(runtime, 'lastTimings', { get: () => last });
  return runtime;
}
