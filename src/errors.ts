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
  | 'TEXT_TOO_LONG'
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

export class WebvlError extends Error {
  readonly code: WebvlErrorCode;
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

export function isWebvlError(e: unknown): e is WebvlError {
  return e instanceof WebvlError;
}
