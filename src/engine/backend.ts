import type { PixelPipeline } from './pixels';
import type { DType, Tensor } from './tensor';

/** Backends that can run an ONNX graph. `webgpu` is ours; the `ort-*` ones are onnxruntime-web. */
export type BackendName = 'webgpu' | 'ort-webgpu' | 'wasm';

/**
 * A generation head appended to a decoder: output {@link NEXT_TOKEN} [batch] (int64) is the token chosen at the
 * last position of `logits` [batch, seq, vocab], so a step reads back one id, not a vocabulary of logits.
 * `topK` 1 picks the highest; above 1 draws from the topK best by input {@link SAMPLING} [batch, 5] =
 * (temperature, top_p, uniform draw in [0, 1), top_k ≤ topK, min_p; top_k 1 is greedy). Backends that cannot
 * (onnxruntime) ignore it: check `session.outputNames`.
 */
export interface NextTokenHead {
  readonly logits: string;
  readonly topK: number;
  /**
   * Penalize the tokens the sequence holds before choosing (transformers' repetition_penalty), from inputs
   * {@link REPEATED_TOKENS} and {@link REPETITION_PENALTY}.
   */
  readonly repetitionPenalty?: boolean;
  /** Keep `logits` among the outputs (default: dropped, so it is neither kept nor read back). */
  readonly keepLogits?: boolean;
}

export const NEXT_TOKEN = 'next_token';
export const SAMPLING = 'sampling';
/**
 * Input (int32 [batch, words], words ≥ vocab / 32) of a head with a repetition penalty: the tokens each row's
 * sequence holds (prompt and answer so far), token t as bit t % 32 of word t / 32.
 */
export const REPEATED_TOKENS = 'repeated_tokens';
/** Input (float32 [batch]) of a head with a repetition penalty: each row's penalty (1: none). */
export const REPETITION_PENALTY = 'repetition_penalty';

/**
 * Input (int64 scalar) of a decoder loaded with {@link SessionOptions.pastLength}: how many of the slots of its
 * past_key_values.* feeds are filled. The pasts may then be fed at a fixed capacity (a {@link KvCache}). A run
 * whose pasts have free slots (PAST_LENGTH below their length) may return present.* outputs that hold only its
 * new positions: the cache is read in place, never concatenated. Take a present's last S positions either way.
 */
export const PAST_LENGTH = 'past_length';

/**
 * A seq2seq decoder's cross-attention keys/values (Optimum's past_key_values.N.encoder.*): computed from the
 * encoder's states once per sequence, so their length is the encoder's, not the past's.
 */
export function isCrossAttentionPast(name: string): boolean {
  return /^past_key_values\.\d+\.encoder\./.test(name);
}

/** A graph's external-data files (`use_external_data_format`), by the `location` its tensors name. */
export type ExternalData = ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;

export interface SessionOptions {
  /** The files the graph's external tensors live in; needed when its weights are not inside the .onnx file. */
  externalData?: ExternalData;
  /** Output names that should stay on the GPU (returned as DeviceTensor) instead of being read back. */
  keepOnDevice?: readonly string[];
  /** Free-form label used in errors and stats. */
  label?: string;
  nextToken?: NextTokenHead;
  /**
   * A decoder with past_key_values.* inputs also takes input {@link PAST_LENGTH}, so that it can read a
   * fixed-capacity KV cache in place. One whose positions come from its past's length (no position_ids: BLIP,
   * BART, Whisper) gets them from PAST_LENGTH instead; one with position_ids and an attention_mask needs nothing
   * more. Backends that cannot (onnxruntime) ignore it: check `session.inputNames`.
   */
  pastLength?: boolean;
  /**
   * Inputs that stay the same from run to run while the same tensor object is fed (a decoder's
   * encoder_hidden_states during one sequence): work that depends on them alone (cross-attention keys and
   * values) may be done once and reused until another tensor is fed. The caller must not change a fed
   * tensor's values in place. Backends may ignore it.
   */
  contextInputs?: readonly string[];
}

export interface RunStats {
  /** GPU dispatches (ours) or graph nodes executed (ORT), where the backend knows it. */
  dispatches?: number;
  /** Bytes read back to the CPU in the last run. */
  bytesRead: number;
  /** Inputs fed as device tensors that the run read where they were, without a copy (ours). */
  feedsInPlace?: number;
  /** GPU bytes the session holds for the model's constants, in every storage format it uploaded (ours). */
  weightBytes?: number;
}

/** One GPU dispatch of a profiled run: the graph node (after fusion) it serves, its kernel and its GPU time. */
export interface DispatchTime {
  /** The node's op after fusion ('webvl:Attention', 'MatMul', …). */
  readonly op: string;
  readonly node: string;
  /** The kernel variant: its pipeline cache key (e.g. `matmul|tile64|…`). */
  readonly program: string;
  readonly ms: number;
}

/** A tensor's type and shape without its data. */
export interface TensorShape {
  readonly dtype: DType;
  readonly dims: readonly number[];
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Run the graph. Outputs named in `keepOnDevice` may come back as DeviceTensor. */
  run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  /**
   * Builds what a run on inputs of these shapes needs (our engine: the plan and its compiled pipelines) without
   * running it, and says what the outputs would be. Backends that prepare on their first run omit it (or
   * resolve to undefined): run them instead.
   */
  prepare?(inputs: Readonly<Record<string, TensorShape>>): Promise<Record<string, TensorShape> | undefined>;
  /** Counters from the last run, where the backend can measure them. */
  lastRunStats(): RunStats | undefined;
  /**
   * Runs once on `feeds` and says how long each GPU dispatch took, where the backend can measure it (our engine
   * on a device with timestamp-query); undefined elsewhere.
   */
  profile?(feeds: Readonly<Record<string, Tensor>>): Promise<readonly DispatchTime[] | undefined>;
  release(): Promise<void>;
}

/** The key/value tensors of a decoder: past input names, each [batch, heads, positions, headDim]. */
export interface KvCacheSpec {
  readonly names: readonly string[];
  readonly batch: number;
  readonly heads: number;
  readonly headDim: number;
  readonly capacity: number;
}

/**
 * A decoder's key/value cache held at a fixed capacity, so that every generation step has the same input shapes
 * (one plan) and the cache never leaves the device: the decoder reads all `capacity` slots as its past, the
 * attention mask hides those at `length` and beyond, and each step's new keys/values are copied into the next
 * free slots of the cache.
 */
export interface KvCache {
  readonly capacity: number;
  /** Slots filled. */
  readonly length: number;
  /** The cache as past feeds by name, each [batch, heads, capacity, headDim]. Valid until the next append. */
  pasts(): Record<string, Tensor>;
  /**
   * Copies positions [from, from + count) of each present tensor (keyed by its past name) into slots
   * [length, length + count); length grows by count.
   */
  append(presents: Readonly<Record<string, Tensor>>, from: number, count: number): Promise<void>;
  /** Forgets the slots from `length` on (a chat going back to a shared prefix). */
  truncate(length: number): void;
  /**
   * Row i becomes what row `rows[i]` held, and the batch becomes `rows.length` (beam search keeping its best
   * hypotheses: a row may be kept twice or dropped). The tensors `pasts()` gave before are no longer valid.
   */
  reorder(rows: readonly number[]): Promise<void>;
  /** Rows: the batch, as reordering left it. */
  readonly batch: number;
  release(): void;
}

export interface Backend {
  readonly name: BackendName;
  /** Parse, validate and prepare a model. Rejects with a WebvlError (INVALID_MODEL, UNSUPPORTED_OP, …). */
  load(model: Uint8Array, options?: SessionOptions): Promise<Session>;
  /** Human-readable description of the device this backend runs on. */
  describe(): string;
  /** Image preprocessing on this backend's device, for GPU backends (undefined: the CPU does it). */
  pixelPipeline?(): Promise<PixelPipeline | undefined>;
  /**
   * Starts what the backend needs before its first load (onnxruntime-web: fetching and compiling its binary,
   * its threads or device; our engine: the device), so that it overlaps with downloading a model. Never
   * rejects: a failure shows again, typed, at load().
   */
  prepare?(): Promise<void>;
  /** A key/value cache on this backend's device, for backends that keep one there (ours). */
  kvCache?(spec: KvCacheSpec): Promise<KvCache>;
}
