// Public types of the webvl API, shared by the page-side client and the worker.
import type { BackendName } from '../engine/backend';
import type { AdapterSummary, BackendChoice, ModelPlacement } from '../engine/select';
import type { LoadProgress, LoadStage } from '../models/model-store';
import type { ArchitectureInfo, RunMode, TaskMode, TaskName } from '../pipelines/architecture';
import type { AnswerResult, AnswerToken, ChatCapabilities, ChatMessage } from '../pipelines/ask';
import type { CapFiltItem } from '../pipelines/capfilt';
import type { CaptionResult, CaptionToken } from '../pipelines/caption';
import type { LabelScore } from '../pipelines/classify';
import type { CaptionRegions } from '../pipelines/florence2-answer';
import type { DTypeOption, GraphRole, LoadedGraph, ModelDType, ModelKind } from '../pipelines/loaded-model';
import type { MatchScore } from '../pipelines/match';
import type { ModelFamily } from '../pipelines/model-family';
import type { RetrievalHit } from '../pipelines/retrieve';
import type { Timings } from '../pipelines/timings';

export type {
  AnswerResult,
  AnswerToken,
  ArchitectureInfo,
  BackendChoice,
  BackendName,
  CapFiltItem,
  CaptionRegions,
  CaptionResult,
  CaptionToken,
  ChatCapabilities,
  ChatMessage,
  DTypeOption,
  GraphRole,
  LabelScore,
  LoadedGraph,
  LoadProgress,
  LoadStage,
  MatchScore,
  ModelDType,
  ModelFamily,
  ModelKind,
  RetrievalHit,
  RunMode,
  TaskMode,
  TaskName,
  Timings,
};

/** Options of {@link Runtime.load}. */
export interface LoadOptions {
  /** Hears each stage of the load, with byte and file or graph counts; overrides the runtime's `onProgress`. */
  onProgress?: (p: LoadProgress) => void;
  /** Re-read the manifest (or, for a folder without one, its files) from the network to pick up a re-export. */
  refresh?: boolean;
  /**
   * Which weights, as transformers.js names them: 'fp32' (onnx/<graph>.onnx), 'fp16', 'q8' / 'quantized',
   * 'int8', 'uint8', 'q4', 'q4f16', 'bnb4' (onnx/<graph>_<suffix>.onnx); one for every graph or a record by
   * graph name (`{ vision_model: 'fp16', text_model: 'q8' }`); 'auto' = transformers.js' device default. Default:
   * config.json's transformers.js_config.dtype, else 'fp32'. A folder without the file rejects with
   * MODEL_NOT_FOUND naming it.
   */
  dtype?: DTypeOption;
  /**
   * Run every graph once (a grey image, a one-word text) before `load` resolves, so that kernels are compiled
   * and the first request runs at full speed. Default true.
   */
  warmUp?: boolean;
}

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** 'auto' (default) picks per device and per model; see RuntimeInfo.backendReason. */
  backend?: BackendChoice;
  /** Progress of every load of this runtime (see {@link LoadProgress}). */
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

/** What {@link Runtime.load} loaded, and how. */
export interface LoadedModelInfo {
  /** The model folder's absolute URL. */
  readonly url: string;
  /** The family config.json names: 'clip', 'siglip', 'blip', 'llava', 'vilt', 'vlmo', 'coca' or 'florence2'. */
  readonly kind: ModelKind;
  /**
   * The model's design in the seeds' taxonomy ('dual encoder', 'fused encoders', 'single stream', 'modality
   * experts', 'contrastive captioner', 'generative') and the mode each task runs in on it ('dual encoder',
   * 'single stream': every image–text pair a forward pass, 'dual encoder + fusion', 'decoder', 'classifier');
   * null for a task it cannot do, which rejects with UNSUPPORTED_TASK.
   */
  readonly architecture: ArchitectureInfo;
  /** The dtype asked for (each graph's own is in `graphs`). */
  readonly dtype: DTypeOption;
  /** The graph files read, with their dtype; `placements` says where each runs and why. */
  readonly graphs: readonly LoadedGraph[];
  /** Whether a manifest.json checked every file's SHA-256 (false: the folder had none). */
  readonly verified: boolean;
  /**
   * How image–text scores are made: softmax (CLIP, BLIP ITC) or sigmoid (SigLIP), with the scale and bias
   * from config.json, the combined graph's logits, or the model's initial values when neither gives them.
   */
  readonly scoring: { readonly kind: 'softmax' | 'sigmoid'; readonly source: string };
  /** Bytes of the files loaded. */
  readonly bytes: number;
  /** Milliseconds the load took, from the call to ready. */
  readonly loadMs: number;
  /** Which backend each graph runs on, and why. */
  readonly placements: readonly ModelPlacement[];
  /** Model input size [height, width]. */
  readonly imageSize: readonly [number, number];
  /** Where images are resized and normalized: on the vision graph's GPU (our engine) or on the CPU. */
  readonly preprocessing: 'gpu' | 'cpu';
  /** Longest text the model reads, in tokens; longer text is refused with TEXT_TOO_LONG. */
  readonly maxTextTokens: number;
  /** Caption bounds (BLIP models): `maxTokens` from 1 to this (one per decoder position). */
  readonly maxCaptionTokens?: number;
  /** Caption bounds: `numBeams` from 1 to this, the beams whose host state fits in 64 MiB at full length. */
  readonly maxBeams?: number;
  /** Florence-2: the tasks `caption` takes as `options.task` (those whose answers webvl reads), in the folder's order. */
  readonly captionTasks?: readonly string[];
  /** VQA classifiers (ViLT, VLMo): the answers they choose from. */
  readonly answers?: readonly string[];
  /** Ask/chat bounds (llava-family models): `maxTokens` from 1 to this. */
  readonly maxAnswerTokens?: number;
  /** Positions of the language model: a conversation's prompt, image and answers together. */
  readonly contextLength?: number;
  /** What `chat` takes (llava-family models): a system message, earlier turns, how many images. */
  readonly chat?: ChatCapabilities;
  /**
   * llava-family models: the repetition penalty answers use unless `options.repetitionPenalty` says otherwise
   * (generation_config.json's repetition_penalty; 1, none, where it has none).
   */
  readonly repetitionPenalty?: number;
  /**
   * llava-family models whose generation_config.json samples (do_sample): the sampling it recommends, within
   * webvl's bounds (topK at most 64). Answers are greedy unless a request passes `sampling`; pass this one to answer
   * as the model's authors suggest.
   */
  readonly sampling?: SamplingOptions;
  /** Milliseconds spent in each stage of the load; downloading and compiling overlap, so they may add up to more. */
  readonly stageMs: Readonly<Record<LoadStage, number>>;
}

/** What a runtime runs on, from {@link Runtime.info}. */
export interface RuntimeInfo {
  /** The backend models start on ('auto' resolved). */
  readonly backend: BackendName;
  /** Why that backend, e.g. "software WebGPU adapter … → onnxruntime-web wasm". */
  readonly backendReason: string;
  /** The backend and its device in words. */
  readonly backendDescription: string;
  /** Whether the worker has a WebGPU adapter. */
  readonly webgpu: boolean;
  readonly adapter?: AdapterSummary;
  /** Whether the page is cross-origin isolated (COOP/COEP), which wasm threads need. */
  readonly crossOriginIsolated: boolean;
  /** onnxruntime-web's wasm threads, and why that many. */
  readonly wasm: WasmThreading;
  /** The loaded model, if any. */
  readonly model?: LoadedModelInfo;
  /** Stage timings (ms) of the last request. */
  readonly lastTimings?: Timings;
  /**
   * How the last request ran: which mode of the model's architecture (dual encoder, fusion, single stream, …)
   * and how many image–text pairs took a forward pass each. Set by classify, match, embedImage, embedText,
   * caption, ask, chat and index search; absent before any of them, and after a request of another kind (adding
   * to an index, CapFilt).
   */
  readonly lastRun?: RunMode;
}

/** How onnxruntime-web's wasm runs: on how many threads, and why. */
export interface WasmThreading {
  /** 1 unless the page is cross-origin isolated: more threads need SharedArrayBuffer. */
  readonly threads: number;
  /** Says which, e.g. that the page lacks the COOP/COEP headers and so wasm runs single-threaded. */
  readonly reason: string;
}

/** A result with the stage timings (ms) of the request that produced it. */
export interface Timed<T> {
  readonly result: T;
  readonly timings: Timings;
}

/** Sampling instead of greedy decoding, for {@link AskCallOptions}. */
export interface SamplingOptions {
  /** Softmax temperature, in (0, 100]; default 1. */
  temperature?: number;
  /** Candidates considered per token: an integer from 1 (greedy) to 64; default 64. */
  topK?: number;
  /** Nucleus: the most likely candidates whose probability adds up to topP, in (0, 1]; default 1. */
  topP?: number;
  /**
   * Min-p: leaves out candidates less likely than minP times the most likely one (after topK and topP, as
   * transformers' MinPLogitsWarper), in [0, 1]; default 0 (none).
   */
  minP?: number;
  /** Seeds the draws (an integer from 0 to 2^32 − 1; default 0): the same seed gives the same answer. */
  seed?: number;
}

/** Options of {@link Runtime.ask} and {@link Runtime.chat}. */
export interface AskCallOptions {
  /**
   * An integer from 1 to info().model.maxAnswerTokens; default 64, less when the context leaves less. A VQA
   * classifier (ViLT, VLMo) checks it (1 to 1,024) and ignores it: its answer is one entry of its answer list.
   */
  maxTokens?: number;
  /**
   * Default greedy. Sampling runs on the GPU with our engine; one token id is read back per step. A VQA
   * classifier checks it and answers with its top answer.
   */
  sampling?: SamplingOptions;
  /**
   * transformers' repetition penalty: the logit of each token the prompt or the answer so far holds is divided by
   * it where positive, multiplied where negative, before the next token is chosen (so above 1 discourages repeats).
   * A number from 0.001 to 10; default the model's (`info().model.repetitionPenalty`: generation_config.json's
   * repetition_penalty, else 1, none). On our engine it runs on the GPU. A VQA classifier checks it and ignores it.
   */
  repetitionPenalty?: number;
  /**
   * VQA classifiers (ViLT, VLMo): how many of the best answers `AnswerResult.answers` lists, an integer from 1 to
   * the number of answers the model knows (`info().model.answers`); default 5. A generative model rejects it
   * with INVALID_INPUT.
   */
  topAnswers?: number;
  /**
   * Qwen2-VL and Qwen2.5-VL only: the most pixels the image is resized to, as transformers' processor takes
   * `max_pixels` per call. An integer from the processor's `min_pixels` to its `max_pixels` (the default): fewer
   * pixels make fewer image tokens, a faster answer that sees less detail. Other models reject it with
   * INVALID_INPUT.
   */
  maxPixels?: number;
  /** Hears the answer so far after each token, in order, before the result arrives. */
  onToken?: (t: AnswerToken) => void;
  /** Aborting it stops the answer with ABORTED. */
  signal?: AbortSignal;
}

/** Options of {@link Runtime.caption}. */
export interface CaptionCallOptions {
  /** An integer from 1 to info().model.maxCaptionTokens; default generation_config's max_length. */
  maxTokens?: number;
  /** Text the caption starts with (BLIP's conditional captioning); the result's text includes it. */
  prompt?: string;
  /**
   * Florence-2 only: the task token whose prompt the model answers, among those its processor answers in text
   * (`'<CAPTION>'`, the default, `'<DETAILED_CAPTION>'`, `'<MORE_DETAILED_CAPTION>'`, `'<OCR>'`) or in regions,
   * returned as `result.regions` (`'<OD>'`, `'<DENSE_REGION_CAPTION>'`, `'<REGION_PROPOSAL>'`,
   * `'<OCR_WITH_REGION>'`, `'<CAPTION_TO_PHRASE_GROUNDING>'`, …); other models reject it with INVALID_INPUT.
   */
  task?: string;
  /** Florence-2 only: the input of a task that takes one (the phrases `'<CAPTION_TO_PHRASE_GROUNDING>'` finds). */
  taskInput?: string;
  /** 1 (default) = greedy; more = beam search; at most info().model.maxBeams. */
  numBeams?: number;
  /** Hears the caption so far after each step, in order, before the result arrives. */
  onToken?: (t: CaptionToken) => void;
  /** Aborting it stops the caption with ABORTED. */
  signal?: AbortSignal;
}

/** Options of {@link IndexHandle.search}. */
export interface IndexSearchOptions {
  /** Hits to return: an integer from 1 to 10,000 (256 with rerank); default 5. */
  k?: number;
  /**
   * Re-rank the ITC candidates with a fusion encoder: BLIP's ITM head, VLMo's fusion mode. A model without one
   * (CLIP, SigLIP, CoCa) rejects it with UNSUPPORTED_TASK; a single-stream model (ViLT) scores every entry by ITM
   * whatever this says.
   */
  rerank?: boolean;
  /** How many ITC candidates to re-rank: from k to 256 (default 2·k, within that). */
  candidates?: number;
}

/** Options of {@link Runtime.capfilt}. */
export interface CapFiltOptions {
  /** ITM probability a caption needs to be kept: a number from 0 to 1. */
  threshold: number;
  /** Web text that came with each image, filtered alongside the synthetic caption. */
  texts?: (string | undefined)[];
  /** Aborting it stops the run with ABORTED. */
  signal?: AbortSignal;
}
