/** Every failure webvl reports carries one of these codes, so callers can branch without parsing messages. */
export type WebvlErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'INTEGRITY_MISMATCH'
  | 'UNSUPPORTED_MODEL'
  | 'UNSUPPORTED_OP'
  | 'INVALID_MODEL'
  | 'INVALID_INPUT'
  | 'BAD_IMAGE'
  | 'EMPTY_LABELS'
  /** A question (or chat message) with no text in it. */
  | 'EMPTY_TEXT'
  | 'TEXT_TOO_LONG'
  /** A conversation that no longer fits the language model's context (too many turns, or too long ones). */
  | 'CONTEXT_FULL'
  /** A task the loaded model's architecture cannot do (asking a question of CLIP, captioning with SigLIP…). */
  | 'UNSUPPORTED_TASK'
  | 'NO_WEBGPU'
  | 'DEVICE_LOST'
  | 'ABORTED'
  | 'NOT_LOADED'
  /** The runtime was disposed: calls pending at that moment and every later call. */
  | 'DISPOSED'
  /** index.add() of an id the index already holds (or an id twice in one batch); upsert() replaces. */
  | 'DUPLICATE_ID'
  /** A model does not fit the GPU: a tensor larger than one buffer binding, or an allocation the GPU refused. */
  | 'OUT_OF_MEMORY'
  | 'INTERNAL';

/** What every webvl call rejects with: a message for people and a `code` for programs. */
export class WebvlError extends Error {
  /** Which kind of failure; stable across versions, unlike the message. */
  readonly code: WebvlErrorCode;
  /** Extra facts about the failure when there are some (the file, the op, the limit that was exceeded…). */
  readonly details?: Record<string, unknown>;

  constructor(code: WebvlErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'WebvlError';
    this.code = code;
    this.details = details;
  }

  /** Plain-object form that survives structured clone (Comlink, postMessage). */
  toJSON(): { name: 'WebvlError'; code: WebvlErrorCode; message: string; details?: Record<string, unknown> } {
    return { name: 'WebvlError', code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is a {@link WebvlError} (also for errors re-created from the worker's messages). */
export function isWebvlError(e: unknown): e is WebvlError {
  return e instanceof WebvlError;
}
