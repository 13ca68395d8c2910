// The methods the runtime worker exposes over Comlink, as a factory so the same object can be served on a
// module worker (runtime.worker.ts) or, in Node tests, on one end of a MessageChannel. Every method converts
// its failure into a plain WireError (structured-clone safe) for the page to turn back into a WebvlError.
import * as Comlink from 'comlink';
import type { SamplingOptions } from '../api/types';
import type { LoadProgress } from '../models/model-store';
import type { AnswerToken, ChatMessage } from '../pipelines/ask';
import type { TokenListener } from '../pipelines/caption';
import type { WireImage } from '../vision/image-input';
import { toWireError } from './errors';
import { type CoreOptions, type IndexItemWire, RuntimeCore, type WorkerLoadOptions } from './runtime-core';

async function guard<T>(f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    // Thrown as a plain object: Comlink passes non-Error values through structured clone unchanged.
    throw toWireError(e);
  }
}

/**
 * Callbacks arrive as Comlink proxies, each holding a MessagePort whose other end keeps the caller's function
 * alive on the page. Release them when the call is over, or every caption/load leaks a port on both sides.
 */
async function releasing<T>(callback: unknown, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } finally {
    (callback as { [Comlink.releaseProxy]?: () => void } | undefined)?.[Comlink.releaseProxy]?.();
  }
}

export function createWorkerApi() {
  let core: RuntimeCore | undefined;
  const ready = (): RuntimeCore => {
    if (!core) throw new Error('runtime worker used before init()');
    return core;
  };
  return {
    init: (options: CoreOptions) =>
      guard(() => {
        core = new RuntimeCore(options);
      }),
    info: () => guard(() => ready().info()),
    load: (url: string, onProgress?: (p: LoadProgress) => void, options?: WorkerLoadOptions) =>
      releasing(onProgress, () => guard(() => ready().load(url, onProgress, options))),
    unload: () => guard(() => ready().unload()),
    classify: (image: WireImage, labels: string[], template?: string | string[]) =>
      guard(() => ready().classify(image, labels, template)),
    embedImage: (image: WireImage) => guard(() => ready().embedImage(image)),
    embedText: (texts: string[]) => guard(() => ready().embedText(texts)),
    match: (image: WireImage, texts: string[]) => guard(() => ready().match(image, texts)),
    caption: (
      image: WireImage,
      options: {
        maxTokens?: number;
        numBeams?: number;
        prompt?: string;
        task?: string;
        taskInput?: string;
      },
      onToken: TokenListener | undefined,
      requestId: number | undefined,
    ) => releasing(onToken, () => guard(() => ready().caption(image, options, onToken, requestId))),
    chat: (
      image: WireImage | WireImage[],
      messages: ChatMessage[],
      options: {
        maxTokens?: number;
        sampling?: SamplingOptions;
        repetitionPenalty?: number;
        topAnswers?: number;
        maxPixels?: number;
      },
      onToken: ((t: AnswerToken) => boolean | undefined) | undefined,
      requestId: number | undefined,
    ) => releasing(onToken, () => guard(() => ready().chat(image, messages, options, onToken, requestId))),
    capfilt: (
      images: WireImage[],
      texts: (string | undefined)[] | undefined,
      threshold: number,
      requestId?: number,
    ) => guard(() => ready().capfilt(images, texts, threshold, requestId)),
    abort: (requestId: number) => guard(() => ready().abort(requestId)),
    indexOpen: (name: string) => guard(() => ready().indexOpen(name)),
    indexAdd: (name: string, items: IndexItemWire[]) => guard(() => ready().indexAdd(name, items)),
    indexUpsert: (name: string, items: IndexItemWire[]) => guard(() => ready().indexUpsert(name, items)),
    indexSearch: (
      name: string,
      query: string,
      options: { k?: number; rerank?: boolean; candidates?: number },
    ) => guard(() => ready().indexSearch(name, query, options)),
    indexRemove: (name: string, ids: string[]) => guard(() => ready().indexRemove(name, ids)),
    indexSize: (name: string) => guard(() => ready().indexSize(name)),
    indexClear: (name: string) => guard(() => ready().indexClear(name)),
    /** dispose(): release GPU resources before the page terminates the worker. */
    shutdown: () => guard(() => core?.shutdown()),
  };
}

export type WorkerApi = ReturnType<typeof createWorkerApi>;
