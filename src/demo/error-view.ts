// Errors as the demo shows them: a box styled as an error, with the WebvlError code and a hint on what to do.
import type { WebvlErrorCode } from '../errors';
import { h } from './dom';

const HINTS: Record<WebvlErrorCode, string> = {
  MODEL_NOT_FOUND:
    'The model files could not be fetched. On a first visit the network is needed; check the URL.',
  INTEGRITY_MISMATCH:
    'A model file did not match its manifest hash and was not used. Reload to fetch it again.',
  UNSUPPORTED_MODEL: 'This model uses something the runtime cannot run. Try another backend (?backend=wasm).',
  UNSUPPORTED_OP: 'A graph needs an operator this backend lacks. Try ?backend=auto or ?backend=wasm.',
  INVALID_MODEL: 'A model file is damaged or not an ONNX model.',
  INVALID_INPUT: 'Check the values in the form: one of them is not accepted.',
  BAD_IMAGE: 'That file could not be decoded as an image. Try a PNG, JPEG, GIF or WebP.',
  EMPTY_LABELS: 'Add at least one label; separate labels with commas.',
  EMPTY_TEXT: 'Type a question first.',
  TEXT_TOO_LONG: 'Shorten the text: the model reads a limited number of tokens and does not truncate.',
  CONTEXT_FULL: 'The conversation no longer fits the model’s context. Start a new one.',
  UNSUPPORTED_TASK: 'This model cannot do that task; load one that can (an Ask model for questions).',
  NO_WEBGPU: 'This browser has no WebGPU adapter. Use ?backend=auto or ?backend=wasm.',
  DEVICE_LOST: 'The GPU was reset. Run the task again; the runtime recovers on a new device.',
  ABORTED: 'Stopped as asked.',
  NOT_LOADED: 'The model is not loaded yet; wait for its status line to say ready.',
  DISPOSED: 'This runtime was shut down; reload the page.',
  DUPLICATE_ID: 'The index already holds an image with that id; rebuild the index to start over.',
  OUT_OF_MEMORY:
    'The device ran out of memory for this model or request; try the wasm backend (?backend=wasm).',
  INTERNAL: 'Something failed inside webvl. The message below says what; the browser console may say more.',
};

export function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

export function errorView(e: unknown): HTMLElement {
  const code = errorCode(e);
  const message = e instanceof Error ? e.message : String(e);
  const hint = HINTS[code as WebvlErrorCode] ?? 'Unexpected failure; the message below says what happened.';
  const box = h(
    'div',
    { class: 'error', role: 'alert', 'data-code': code },
    h('div', { class: 'error-head' }, h('span', { class: 'error-code' }, code), h('span', {}, hint)),
    h('div', { class: 'error-message' }, message),
  );
  return box;
}
