// Public types of the webvl API, shared by the page-side client and the worker.
import type { BackendName } from '../engine/backend';
import type { AdapterSummary, BackendChoice, ModelPlacement } from '../engine/select';
import type { LoadProgress } from '../models/model-store';
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
  /** Caption bounds (BLIP models): `maxTokens` from 1 to this (one per decoder position). */
  readonly maxCaptionTokens?: number;
  /** Caption bounds: `numBeams` from 1 to this, the beams whose host state fits in 64 MiB at full length. */
  readonly maxBeams?: number;
}

export interface RuntimeInfo {
  readonly backend: BackendName;
  readonly backendReason: string;
  readonly backendDescription: string;
  readonly webgpu: boolean;
  readonly adapter?: AdapterSummary;
  readonly crossOriginIsolated: boolean;
  readonly model?: LoadedModelInfo;
  /** Stage timings (ms) of the last request. */
  readonly lastTimings?: Timings;
}

export interface Timed<T> {
  readonly result: T;
  readonly timings: Timings;
}

export interface CaptionCallOptions {
  /** An integer from 1 to info().model.maxCaptionTokens; default generation_config's max_length. */
  maxTokens?: number;
  /** 1 (default) = greedy; more = beam search; at most info().model.maxBeams. */
  numBeams?: number;
  onToken?: (t: CaptionToken) => void;
  signal?: AbortSignal;
}

export interface IndexSearchOptions {
  /** Hits to return: an integer from 1 to 10,000 (256 with rerank); default 5. */
  k?: number;
  /** Re-rank the ITC candidates with the ITM head (BLIP models). */
  rerank?: boolean;
  /** How many ITC candidates to re-rank: from k to 256 (default 2·k, within that). */
  candidates?: number;
}

export interface CapFiltOptions {
  /** ITM probability a caption needs to be kept: a number from 0 to 1. */
  threshold: number;
  /** Web text that came with each image, filtered alongside the synthetic caption. */
  texts?: (string | undefined)[];
  signal?: AbortSignal;
}
