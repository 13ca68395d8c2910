// What one benchmark row is, shared by the Node runner and the page.
export type EngineName =
  | 'webgpu'
  /** Our engine with f16 arithmetic (computePrecision 'f16', adapters with shader-f16). */
  | 'webgpu-f16'
  | 'ort-webgpu'
  | 'wasm'
  | 'auto'
  | 'transformers.js'
  | 'js-cpu'
  /** onnxruntime's native CPU provider (onnxruntime-node, or Python's onnxruntime where Node's is absent). */
  | 'ort-cpu'
  /** PyTorch on CUDA: the physical-limit anchor on a GPU machine (bench/node/torch_anchor.py). */
  | 'torch-cuda';
/** Engines that run ONNX graphs through webvl's Backend interface ('auto' = what webvl picks for users). */
export type GraphEngine = 'webgpu' | 'ort-webgpu' | 'wasm' | 'auto';

/**
 * Captioning of one image through the caption pipeline: greedy for exactly `tokens` tokens, or beam search for
 * at most `tokens` (it stops when its beams have ended).
 */
export interface CaptionRowSpec {
  id: string;
  model: string;
  image: string;
  tokens: number;
  /** Beams, for beam search; greedy when absent. */
  beams?: number;
}

/**
 * A question about an image to a generative VLM folder (the llava family), through the ask pipeline: image
 * encoding and prompt (time to the first token), then `tokens` decode steps timed one by one.
 */
export interface AskRowSpec {
  id: string;
  /** The model folder's URL. */
  model: string;
  question: string;
  tokens: number;
}

/**
 * Generation with a merged decoder fed embeddings (a VLM's language model): a prompt of `promptTokens` random
 * embeddings, then `tokens` steps, each fed a random embedding, timed one by one. Our engine keeps the KV
 * cache on the GPU at a fixed capacity and picks tokens there; the others feed presents back as pasts.
 */
export interface GenerateRowSpec {
  id: string;
  /** A skeleton (bench/models/*.skeleton.onnx) filled with seeded weights. */
  model: string;
  hidden: number;
  layers: number;
  kvHeads: number;
  headDim: number;
  promptTokens: number;
  tokens: number;
}

/** Index search over random unit vectors: ours on the GPU (WGSL top-k) vs exact top-k in plain JS. */
export interface IndexRowSpec {
  id: string;
  rows: number;
  dim: number;
  k: number;
}

/** Token-by-token decoding through a decoder_with_past graph: the KV cache stays on the device between steps. */
export interface DecodeRowSpec {
  id: string;
  model: string;
  /** Tokens decoded (timed one by one). */
  tokens: number;
  /** Cached tokens before the first step (a prompt already processed). */
  pastLength: number;
  layers: number;
  heads: number;
  headDim: number;
  encoderTokens: number;
  encoderDim: number;
  vocab: number;
}

export interface FeedSpec {
  name: string;
  dtype: 'float32' | 'int64' | 'bool';
  dims: number[];
  /** float32: uniform in [-1, 1); int64: uniform integers in [low, high). The same seed gives every engine the same input. */
  low?: number;
  high?: number;
  /** Fill with this constant instead (attention masks). */
  fill?: number;
  /** Fill with 0, 1, 2, … along the last axis instead (position ids). */
  positions?: boolean;
}

export interface GraphRowSpec {
  id: string;
  /** URL of the .onnx file, same origin. */
  model: string;
  feeds: FeedSpec[];
  /**
   * Largest relative difference from the reference that still counts as agreement (default 1e-3). Dynamic
   * 8-bit graphs: ORT quantizes activations, our engine does not (W8A32), so they differ by that rounding.
   */
  tolerance?: number;
  /** The model is a weightless skeleton (bench/models/*.skeleton.onnx) to fill with seeded weights first. */
  skeleton?: boolean;
  /** For transformers.js rows: the model folder id under /models/ and the class to load. */
  transformers?: { folder: string; cls: 'CLIPVisionModelWithProjection' | 'CLIPTextModelWithProjection' };
}

export interface RowResult {
  id: string;
  engine: EngineName;
  warmupMs: number;
  medianMs: number;
  p90Ms: number;
  repeats: number;
  dispatches?: number;
  bytesRead?: number;
  /** The row's agreement threshold when it is not the default (see GraphRowSpec.tolerance). */
  tolerance?: number;
  /** Largest relative difference of the first output against the reference engine (ORT wasm; JS for the index). */
  maxRelDiffVsReference?: number;
  /** Captioning: median time to the first token (image encoding included) and per token 1..N. */
  ttftMs?: number;
  perTokenMs?: number[];
  /** Peak bytes of GPU buffers alive during the row above those alive before it (0 for CPU engines). */
  peakGpuBytes?: number;
  /** Our engine: GPU bytes it holds for the model's weights after the row (RunStats.weightBytes). */
  weightGpuBytes?: number;
  /** Kernel rows: floating-point operations and bytes of memory traffic one run does (for GFLOP/s, GB/s). */
  flops?: number;
  bytesMoved?: number;
  /** Kernel rows: the variant measured (e.g. 'tiled 32', 'tiled 128 f16'). */
  variant?: string;
  /** For 'auto': the backend it chose, and why. */
  chosen?: string;
  /** `--profile` (our engine): GPU time by node op and kernel, most first (see ProfileEntry). */
  profile?: ProfileEntry[];
  error?: string;
}

/**
 * One node op on one kernel in a profiled run: the sum over its dispatches of each dispatch's median GPU time
 * across the profiled runs (timestamp queries, every dispatch in a pass of its own).
 */
export interface ProfileEntry {
  op: string;
  program: string;
  dispatches: number;
  ms: number;
}

/**
 * The architecture comparison's latencies through the public API, a trained model folder per row: searching an
 * index of `gallery` images for one text, and scoring one image–text pair (match with one text).
 */
export interface ArchitectureRowSpec {
  /** Short model name (the folder under models/). */
  name: string;
  /** The model folder's URL. */
  model: string;
  /** Gallery images, `gallery` of them. */
  images: string[];
  gallery: number;
  /** How search runs on this design (the row id says it). */
  searchMode: string;
  /** Re-rank the ITC top `candidates` with the fusion encoder (BLIP, VLMo). */
  rerank: boolean;
  query: string;
}
