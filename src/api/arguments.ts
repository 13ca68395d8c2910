// Page-side reading of public call arguments: types and shapes are checked, and what will be posted is
// checked to be sendable, before anything reaches the worker. Ranges that depend on the loaded model
// (maxTokens, numBeams) and on the index are checked in the worker; both name fields the same way.
import type { BackendChoice } from '../engine/select';
import { WebvlError } from '../errors';
import {
  MAX_CHAT_IMAGES,
  MAX_CHAT_MESSAGES,
  MAX_ID_LENGTH,
  MAX_IDS_PER_REMOVE,
  MAX_IMAGES_PER_CALL,
  MAX_INDEX_NAME_LENGTH,
  MAX_MESSAGE_CHARS,
  MAX_TEMPLATES,
  MAX_TEXTS_PER_CALL,
} from '../limits';
import { checkDTypeOption } from '../models/dtype';
import type { LoadProgress } from '../models/model-store';
import { arrayOf, invalid, oneOf, optionalBoolean, optionsObject, stringOf, stringsOf } from '../validation';
import { resolveOrtWasm } from './ort-location';
import { assertSendable } from './sendable';

const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'ort-webgpu', 'wasm'];
const MAX_URL_LENGTH = 8_192;
const MAX_TEMPLATE_LENGTH = 10_000;

export function callbackOf<F>(field: string, v: unknown): F | undefined {
  if (v !== undefined && typeof v !== 'function') throw invalid(field, `must be a function; got ${typeof v}`);
  return v as F | undefined;
}

export function signalOf(field: string, v: unknown): AbortSignal | undefined {
  if (v !== undefined && !(typeof AbortSignal !== 'undefined' && v instanceof AbortSignal)) {
    throw invalid(field, 'must be an AbortSignal');
  }
  return v as AbortSignal | undefined;
}

export function runtimeOptions(v: unknown) {
  const o = optionsObject('options', v);
  const allowedOrigins = stringsOf('options.allowedOrigins', o.allowedOrigins ?? [], 1_000, MAX_URL_LENGTH);
  allowedOrigins.forEach((origin, i) => {
    let parsed: string | undefined;
    try {
      parsed = new URL(origin).origin;
    } catch {
      parsed = undefined;
    }
    if (parsed !== origin)
      throw invalid(`options.allowedOrigins[${i}]`, `is not an origin (like 'https://cdn.example')`);
  });
  return {
    backend: oneOf('options.backend', o.backend, BACKENDS, 'auto'),
    allowedOrigins,
    indexOnGpu: optionalBoolean('options.indexOnGpu', o.indexOnGpu) ?? true,
    onProgress: callbackOf<(p: LoadProgress) => void>('options.onProgress', o.onProgress),
    // Resolved here, against the page: the worker's own base URL is its script.
    ortWasm: resolveOrtWasm(
      o.ortWasmPaths as string | undefined,
      globalThis.document?.baseURI ?? globalThis.location?.href ?? 'http://localhost/',
    ),
  };
}

/** A relative model URL means relative to the page, not to the worker script that fetches it. */
function againstPage(url: string): string {
  const page = globalThis.location?.href;
  if (!page) return url;
  try {
    return new URL(url, page).href;
  } catch {
    return url; // not a URL at all: the worker refuses it with INVALID_INPUT
  }
}

export function loadArguments(modelUrl: unknown, v: unknown) {
  const o = optionsObject('options', v);
  return {
    url: againstPage(stringOf('modelUrl', modelUrl, MAX_URL_LENGTH)),
    onProgress: callbackOf<(p: LoadProgress) => void>('options.onProgress', o.onProgress),
    refresh: optionalBoolean('options.refresh', o.refresh) === true,
    // undefined: config.json's transformers.js_config.dtype, else fp32 (decided once the config is read).
    dtype: checkDTypeOption(o.dtype, 'options.dtype'),
    warmUp: optionalBoolean('options.warmUp', o.warmUp) ?? true,
  };
}

/** One text or a list; each must be a string (emptiness and length are the tokenizer's to judge). */
export function textsOf(field: string, v: unknown): string[] {
  return typeof v === 'string' ? [v] : stringsOf(field, v, MAX_TEXTS_PER_CALL);
}

export function classifyArguments(labels: unknown, v: unknown) {
  const o = optionsObject('options', v);
  const t = o.template;
  const template =
    t === undefined || typeof t === 'string'
      ? t === undefined
        ? undefined
        : stringOf('options.template', t, MAX_TEMPLATE_LENGTH, false)
      : stringsOf('options.template', t, MAX_TEMPLATES, MAX_TEMPLATE_LENGTH);
  return { labels: stringsOf('labels', labels, MAX_TEXTS_PER_CALL), template };
}

export function captionArguments(v: unknown) {
  const o = optionsObject('options', v);
  const numbers = { maxTokens: o.maxTokens, numBeams: o.numBeams };
  assertSendable('options', numbers);
  const prompt =
    o.prompt === undefined ? undefined : stringOf('options.prompt', o.prompt, MAX_TEMPLATE_LENGTH);
  const task = o.task === undefined ? undefined : stringOf('options.task', o.task, MAX_TEMPLATE_LENGTH);
  const taskInput =
    o.taskInput === undefined ? undefined : stringOf('options.taskInput', o.taskInput, MAX_TEMPLATE_LENGTH);
  return {
    numbers,
    prompt,
    task,
    taskInput,
    onToken: callbackOf<(t: never) => void>('options.onToken', o.onToken),
    signal: signalOf('options.signal', o.signal),
  };
}

/** ask/chat: the numbers and sampling go to the worker as they are (it checks each one); callbacks stay here. */
export function askArguments(v: unknown) {
  const o = optionsObject('options', v);
  const numbers = {
    maxTokens: o.maxTokens,
    sampling: o.sampling,
    repetitionPenalty: o.repetitionPenalty,
    topAnswers: o.topAnswers,
    maxPixels: o.maxPixels,
  };
  assertSendable('options', numbers);
  return {
    numbers,
    onToken: callbackOf<(t: never) => void>('options.onToken', o.onToken),
    signal: signalOf('options.signal', o.signal),
  };
}

/** One question as a chat of one user message; a blank question is EMPTY_TEXT before anything is posted. */
export function questionMessages(question: unknown): { role: 'user'; content: string }[] {
  const content = stringOf('question', question, MAX_MESSAGE_CHARS, false);
  if (content.trim() === '') throw new WebvlError('EMPTY_TEXT', 'the question is empty');
  return [{ role: 'user', content }];
}

/**
 * The images of ask/chat when given as an array (1 to MAX_CHAT_IMAGES), else undefined (one image, checked when it
 * is read).
 */
export function chatImagesArgument(image: unknown): readonly unknown[] | undefined {
  if (!Array.isArray(image)) return undefined;
  if (image.length < 1 || image.length > MAX_CHAT_IMAGES)
    throw new WebvlError(
      'INVALID_INPUT',
      `a conversation is about 1 to ${MAX_CHAT_IMAGES} images, not ${image.length}`,
      {
        field: 'image',
      },
    );
  return image;
}

export function chatMessagesArgument(messages: unknown): unknown[] {
  const list = arrayOf('messages', messages, MAX_CHAT_MESSAGES);
  assertSendable('messages', list);
  return list;
}

export function capfiltArguments(images: unknown, v: unknown) {
  const o = optionsObject('options', v);
  const texts =
    o.texts === undefined
      ? undefined
      : arrayOf('options.texts', o.texts, MAX_IMAGES_PER_CALL).map((t, i) =>
          t === undefined ? undefined : stringOf(`options.texts[${i}]`, t, Number.POSITIVE_INFINITY, false),
        );
  assertSendable('options.threshold', o.threshold);
  return {
    images: arrayOf('images', images, MAX_IMAGES_PER_CALL),
    threshold: o.threshold as number,
    texts,
    signal: signalOf('options.signal', o.signal),
  };
}

export const indexName = (v: unknown): string => stringOf('name', v, MAX_INDEX_NAME_LENGTH);

export interface IndexItemArgument {
  readonly id: string;
  readonly image: unknown;
  readonly meta?: Record<string, unknown>;
}

export function indexItems(v: unknown): IndexItemArgument[] {
  return arrayOf('items', v, MAX_IMAGES_PER_CALL).map((item, i) => {
    const it = optionsObject(`items[${i}]`, item);
    const id = stringOf(`items[${i}].id`, it.id, MAX_ID_LENGTH);
    if (it.meta !== undefined) {
      if (typeof it.meta !== 'object' || it.meta === null || Array.isArray(it.meta))
        throw invalid(`items[${i}].meta`, 'must be an object');
      assertSendable(`items[${i}].meta`, it.meta);
    }
    return { id, image: it.image, meta: it.meta as Record<string, unknown> | undefined };
  });
}

export function searchArguments(query: unknown, v: unknown) {
  const o = optionsObject('options', v);
  const options = { k: o.k, rerank: o.rerank, candidates: o.candidates };
  assertSendable('options', options);
  return { query: stringOf('query', query, Number.POSITIVE_INFINITY, false), options };
}

export const removeIds = (v: unknown): string[] => stringsOf('ids', v, MAX_IDS_PER_REMOVE, MAX_ID_LENGTH);
