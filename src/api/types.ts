// Public types of the webvl API, shared by the page-side client and the worker.
import type { BackendName } from '../engine/backend';
import type { AdapterSummary, BackendChoice, ModelPlacement } from '../engine/select';
import type { LoadProgress, LoadStage } from '../models/model-store';
import type { CapFiltItem } from '../pipelines/capfilt';
import type { CaptionResult, CaptionToken } from '../pipelines/caption';
import type { LabelScore } from '../pipelines/classify';
import type { ModelDType } from '../pipelines/loaded-model';
import type { MatchScore } from '../pipelines/match';
import type { RetrievalHit } from '../pipelines/retrieve';
import type { Timings } from '../pipelines/timings';

export type {
  BackendChoice,
  BackendName,
  CapFiltItem,
  CaptionResult,
  CaptionToken,
  LabelScore,
  LoadProgress,
  LoadStage,
  MatchScore,
  ModelDType,
  RetrievalHit,
  Timings,
};

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Re-read the manifest from the network to pick up a re-exported model. */
  refresh?: boolean;
  /** Default 'fp32'. A folder without the variant rejects with MODEL_NOT_FOUND. */
  dtype?: ModelDType;
  /**
   * Run every graph once (a grey image, a one-word text) before `load` resolves, so that kernels are compiled
   * and the first request runs at full speed. Default true.
   */
  warmUp?: boolean;
}

export interface RuntimeOptions {
  /** 'auto' (default) picks per device and per model; see RuntimeInfo.backendReason. */
  backend?: BackendChoice;
  /** Byte-level progress of model downloads (cache hits report too, with fromCache). */
  onProgress?: (p: LoadProgress) => void;
  /** Origins other than the page's own that model and image URLs may come from. */
  allowedOrigins?: string[];
  /** Keep the embedding index matrix on the GPU when WebGPU exists (default true). */
  indexOnGpu?: boolean;
  /**
   * Where onnxruntime-web's binary (`ort-wasm-simd-threaded.asyncify.wasm`, the one file it loads) is served: a
   * folder URL, or the file's own URL (ending in `.wasm`), relative to the page. Default: the copy shipped next
   * to webvl's module, which the app's bundler emits with the app.
   */
  ortWasmPaths?: string;
}

export interface LoadedModelInfo {
  readonly url: string;
  readonly kind: 'clip' | 'blip';
  readonly dtype: ModelDType;
  readonly bytes: number;
  readonly loadMs: number;
  readonly placements: readonly ModelPlacement[];
  /** Model input size [height, width]. */
  readonly imageSize: readonly [number, number];
  /** Where images are resized and normalized: on the vision graph's GPU (our engine) or on the CPU. */
  readonly preprocessing: 'gpu' | 'cpu';
  readonly maxTextTokens: number;
  /** Milliseconds spent in each stage of the load; downloading and compiling overlap, so they may add up to more. */
  readonly stageMs: Readonly<Record<LoadStage, number>>;
}

export interface RuntimeInfo {
  readonly backend: BackendName;
  readonly backendReason: string;
  readonly backendDescription: string;
  readonly webgpu: boolean;
  readonly adapter?: AdapterSummary;
  readonly crossOriginIsolated: boolean;
  /** onnxruntime-web's wasm threads, and why that many. */
  readonly wasm: WasmThreading;
  readonly model?: LoadedModelInfo;
  /** Stage timings (ms) of the last request. */
  readonly lastTimings?: Timings;
}

export interface WasmThreading {
  /** 1 unless the page is cross-origin isolated: more threads need SharedArrayBuffer. */
  readonly threads: number;
  /** Says which, e.g. that the page lacks the COOP/COEP headers and so wasm runs single-threaded. */
  readonly reason: string;
}

export interface Timed<T> {
  readonly result: T;
  readonly timings: Timings;
}

export interface CaptionCallOptions {
  maxTokens?: number;
  /** 1 (default) = greedy; more = beam search. */
  numBeams?: number;
  onToken?: (t: CaptionToken) => void;
  signal?: AbortSignal;
}

export interface IndexSearchOptions {
  k?: number;
  /** Re-rank the ITC candidates with the ITM head (BLIP models). */
  rerank?: boolean;
  /** How many ITC candidates to re-rank (default 2·k). */
  candidates?: number;
}

export interface CapFiltOptions {
  /** ITM probability a caption needs to be kept. */
  threshold: number;
  /** Web text that came with each image, filtered alongside the synthetic caption. */
  texts?: (string | undefined)[];
  signal?: AbortSignal;
}
