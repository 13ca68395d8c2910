// A model folder turned into sessions + tokenizer + preprocessing plan. config.json names the family
// (model-family.ts), which decides the graphs (graph-plan.ts), the scoring and the text padding; the dtype
// picks each graph's file as transformers.js does (models/dtype.ts).
import type { ExternalData, Session, SessionOptions } from '../engine/backend';
import type { PixelPipeline } from '../engine/pixels';
import type { BackendSelector } from '../engine/select';
import { WebvlError } from '../errors';
import { type DTypeOption, type ModelDType, pickDType } from '../models/dtype';
import { ExternalDataReader } from '../models/external-data';
import { LoadCounter } from '../models/load-counter';
import type { FolderFile, ModelFolder } from '../models/model-folder';
import type { LoadProgress, LoadStage, ProgressListener } from '../models/model-store';
import { type GraphIo, graphIo, ONNX_FLOAT16 } from '../onnx/graph-io';
import { TextTokenizer, type TokenizerConfigJson } from '../text/tokenizer';
import { isPatchProcessor, patchPreprocessPlan, planPatches } from '../vision/image-patches';
import { isTiledProcessor, planTiles, tilePreprocessPlan } from '../vision/image-tiles';
import { isLfm2Processor, lfm2PreprocessPlan, planLfm2Tiles } from '../vision/lfm2-tiles';
import {
  fixedOutputSize,
  type PreprocessorConfigJson,
  type PreprocessPlan,
  planPreprocess,
} from '../vision/preprocessor-config';
import { type ArchitectureInfo, architectureOf } from './architecture';
import type { Vlm } from './ask';
import { type CaptionLimits, captionLimits } from './caption-limits';
import {
  type Florence2,
  type Florence2GenerationJson,
  type Florence2ProcessorJson,
  type Florence2Spec,
  florence2Spec,
} from './florence2';
import {
  isRecurrentState,
  type KvCacheFactory,
  type KvShape,
  type StateInput,
} from './generate/decoder-state';
import { MAX_TOP_K } from './generate/sampling';
import { planGraphs } from './graph-plan';
import {
  configScoring,
  embeddingOutput,
  familyOf,
  type GraphRole,
  initialScoring,
  type ModelConfigJson,
  type ModelFamily,
  type Scoring,
} from './model-family';
import { type VlmSpec, vlmSpec } from './vlm-spec';
import { warmUp } from './warm-up';

export type { DTypeOption, GraphRole, ModelDType };
export type ModelKind = ModelFamily;

export interface GenerationConfig {
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly maxLength: number;
}

/** One graph of a loaded model: its role, the file read, and that file's dtype. */
export interface LoadedGraph {
  /** What the graph does in the model ('vision', 'text', 'combined', 'itm', 'decoder', …). */
  readonly role: GraphRole;
  /** The file read, relative to the folder ('onnx/vision_model_q4.onnx'). */
  readonly file: string;
  /** That file's dtype. */
  readonly dtype: ModelDType;
  /** The external-data files its weights were read from, relative to the folder; absent when it has none. */
  readonly externalData?: readonly string[];
}

export interface LoadedModel {
  readonly url: string;
  readonly kind: ModelKind;
  readonly tokenizer: TextTokenizer;
  readonly plan: PreprocessPlan;
  /** Input size [H, W] of every image, when the processor fixes one (used to feed the combined graph). */
  readonly imageSize: readonly [number, number];
  readonly scoring: Scoring;
  /** Texts are padded to this many tokens (SigLIP), else to the longest of the batch. */
  readonly textLength?: number;
  /**
   * Names of the towers' embedding outputs (image_embeds / text_embeds, SigLIP's pooler_output; none for a
   * single-stream model), and of the vision output that pair scoring and captioning read: the image tokens
   * (last_hidden_state: BLIP's ITM and decoder, CoCa's decoder) or the patch embeddings (patch_embeds: the
   * ViLT/VLMo fusion graph's input).
   */
  readonly embeddings: { readonly image?: string; readonly text?: string; readonly tokens: string };
  /** The design and how each task runs on it (architecture.ts). */
  readonly architecture: ArchitectureInfo;
  /** First token the ITM encoder expects in place of [CLS], when the model says so. */
  readonly itmBosTokenId?: number;
  readonly vision?: Session;
  /** Preprocessing on the vision graph's GPU, when its backend has it (a WebGPU backend); else the CPU does it. */
  readonly pixels?: PixelPipeline;
  readonly text?: Session;
  /** CLIP/SigLIP's combined graph (input_ids + pixel_values → logits_per_image, both embeddings). */
  readonly combined?: Session;
  readonly itm?: Session;
  /** ViLT's single-stream transformer or VLMo's fusion mode: [text; patch_embeds] → itm_logits, vqa_logits. */
  readonly fusion?: Session;
  /** The VQA classifier's answers, by index (config.json's id2label). */
  readonly answers?: readonly string[];
  /** Patch embeddings per image [positions, width], as vision_model declares patch_embeds (ViLT, VLMo). */
  readonly patchShape?: readonly [number, number];
  readonly decoder?: Session;
  readonly decoderWithPast?: Session;
  /**
   * decoder_with_past's keys/values and a KV cache on its device, where its backend keeps one (ours): captions
   * then decode every step after the first with one plan.
   */
  readonly captionCache?: {
    readonly kv: KvShape;
    readonly factory: () => Promise<KvCacheFactory | undefined>;
  };
  readonly generation?: GenerationConfig;
  /** Bounds on caption length and beams (BLIP models). */
  readonly captionLimits?: CaptionLimits;
  /** A generative VLM's graphs and settings (the llava family): what ask and chat run. */
  readonly vlm?: Vlm;
  /** Florence-2's graphs and settings: what caption runs on that family. */
  readonly florence?: Florence2;
  readonly graphs: readonly LoadedGraph[];
  /** False when the folder had no manifest, so nothing could be checked against a hash. */
  readonly verified: boolean;
  /** Total bytes of the files loaded. */
  readonly bytes: number;
  /** Milliseconds spent in each stage of the load (download and compilation overlap, so they may sum to more). */
  readonly stageMs: Readonly<Record<LoadStage, number>>;
  release(): Promise<void>;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;

/** Positions the caption decoder has: the text config's, else the tokenizer's limit, else the generation length. */
function decoderPositions(
  config: ModelConfigJson,
  tokenizer: TextTokenizer,
  generation: GenerationConfig,
): number {
  const declared = config.text_config?.max_position_embeddings;
  if (isCount(declared)) return declared;
  return isCount(tokenizer.maxLength) ? tokenizer.maxLength : generation.maxLength;
}

interface GenerationConfigJson {
  bos_token_id?: number;
  decoder_start_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
  max_length?: number;
}

/**
 * BLIP's captioning settings as transformers' BlipForConditionalGeneration.generate uses them: it starts from
 * text_config.bos_token_id and stops at text_config.sep_token_id; generation_config.json fills the rest.
 */
function toGeneration(config: ModelConfigJson, g: GenerationConfigJson): GenerationConfig {
  const t = config.text_config ?? {};
  const bos = t.bos_token_id ?? g.bos_token_id ?? g.decoder_start_token_id;
  const eos = t.sep_token_id ?? (Array.isArray(g.eos_token_id) ? g.eos_token_id[0] : g.eos_token_id);
  // transformers' GenerationConfig default when the folder has no generation_config.json.
  const maxLength = g.max_length ?? 20;
  const pad = t.pad_token_id ?? g.pad_token_id ?? 0;
  const isId = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  if (!isId(bos) || !isId(eos) || !isId(pad) || !isCount(maxLength) || maxLength > 100_000) {
    throw new WebvlError(
      'INVALID_MODEL',
      'a BLIP captioning model needs token ids (text_config bos_token_id, sep_token_id, or generation_config.json) and a max_length that are counts',
    );
  }
  return { bosTokenId: bos, eosTokenId: eos, padTokenId: pad, maxLength };
}

/**
 * Output names straight from the ONNX bytes (graph-io.ts), so that a GPU session can be asked to keep some on
 * the GPU without creating it twice. Bytes that do not parse are the model's fault.
 */
function outputNames(model: Uint8Array, label: string): string[] {
  const io = graphIo(model);
  if (!io) throw new WebvlError('INVALID_MODEL', `${label}: not an ONNX model (its graph does not parse)`);
  return [...io.outputs.keys()];
}

/** Names of outputs worth keeping on the GPU for a graph (image tokens and features, embeddings, KV cache). */
function deviceOutputs(role: GraphRole, outputNames: readonly string[]): string[] {
  if (role === 'vision') return outputNames.filter((n) => n === 'last_hidden_state' || n === 'patch_embeds');
  if (role === 'visionEncoder') return outputNames.filter((n) => n === 'image_features');
  if (role === 'embedTokens') return outputNames.filter((n) => n === 'inputs_embeds');
  if (role === 'encoder') return outputNames.filter((n) => n === 'last_hidden_state');
  if (role === 'decoder' || role === 'decoderWithPast' || role === 'decoderMerged')
    return outputNames.filter((n) => n.startsWith('present'));
  return [];
}

/** A text decoder's inputs that stay the same for a whole sequence (DecoderState's context feeds). */
export const CONTEXT_INPUTS: readonly string[] = ['encoder_hidden_states', 'encoder_attention_mask'];

/**
 * Session options of a graph: what to keep on the GPU; a generative decoder also picks its next token there.
 * An encoder-decoder's merged decoder (Florence-2) is scored on its logits (its generation rules read them) and
 * reads a fixed-capacity KV cache by its past length; its cross-attention keys/values come from the first step.
 */
function sessionOptions(
  role: GraphRole,
  keep: string[],
  kind: ModelFamily,
): SessionOptions & { label: string } {
  if (kind === 'florence2')
    return {
      label: role,
      ...(keep.length ? { keepOnDevice: keep } : {}),
      ...(role === 'decoderMerged' ? { pastLength: true } : {}),
    };
  return {
    label: role,
    ...(keep.length ? { keepOnDevice: keep } : {}),
    ...(role === 'decoderMerged'
      ? { nextToken: { logits: 'logits', topK: MAX_TOP_K, repetitionPenalty: true } }
      : {}),
    // A decoder fed step by step reads a fixed-capacity KV cache in place, and the image states it is fed at
    // every step have their cross-attention keys/values computed once (the first-piece decoder runs once a
    // sequence: a prelude would only add a plan there).
    ...(role === 'decoderWithPast' || role === 'decoderMerged'
      ? { pastLength: true, contextInputs: CONTEXT_INPUTS }
      : {}),
  };
}

/**
 * The shape of a decoder's keys/values as its graph declares its past inputs ([batch, heads, positions,
 * headDim]); undefined when heads or headDim is not a number there.
 */
function kvShapeOf(io: GraphIo | undefined): KvShape | undefined {
  // A seq2seq decoder's self-attention pasts are past_key_values.N.decoder.key.
  const keys = [...(io?.inputs ?? [])].filter(([name]) =>
    /^past_key_values\.\d+\.(decoder\.)?key$/.test(name),
  );
  const [, heads, , headDim] = keys[0]?.[1] ?? [];
  if (!heads || !headDim || keys.some(([, d]) => d[1] !== heads || d[3] !== headDim)) return undefined;
  return { layers: keys.length, heads, headDim };
}

function parseJson<T>(folder: ModelFolder, file: string, bytes: Uint8Array | undefined): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw new WebvlError('INVALID_MODEL', `${folder.url.href}${file} is not JSON`);
  }
}

/** Files of a generative VLM's processor that a folder may have beside its tokenizer. */
const VLM_PROCESSOR_FILES = ['processor_config.json', 'chat_template.jinja', 'chat_template.json'];

/** The chat template a folder keeps apart from tokenizer_config.json, as transformers reads it: .jinja first. */
function chatTemplateOf(folder: ModelFolder, files: ReadonlyMap<string, Uint8Array>): string | undefined {
  const jinja = files.get('chat_template.jinja');
  if (jinja) return new TextDecoder().decode(jinja);
  if (!files.has('chat_template.json')) return undefined;
  const t = parseJson<{ chat_template?: unknown }>(
    folder,
    'chat_template.json',
    files.get('chat_template.json'),
  );
  if (typeof t.chat_template !== 'string')
    throw new WebvlError('INVALID_MODEL', `${folder.url.href}chat_template.json has no chat_template string`);
  return t.chat_template;
}

async function openRequired(folder: ModelFolder, file: string): Promise<FolderFile> {
  const f = await folder.open(file);
  if (!f) throw new WebvlError('MODEL_NOT_FOUND', `${folder.url.href} has no ${file}`, { files: [file] });
  return f;
}

/** SigLIP reads the last position, so its text is always padded to the length it was trained with. */
function textLengthOf(
  family: ModelFamily,
  tokenizer: TextTokenizer,
  config: ModelConfigJson,
): number | undefined {
  if (family !== 'siglip') return undefined;
  if (Number.isFinite(tokenizer.maxLength)) return tokenizer.maxLength;
  return config.text_config?.max_position_embeddings ?? 64;
}

/** id2label as a list: keys 0..n-1, each a non-empty answer (a VQA head needs every index named). */
function answersOf(config: ModelConfigJson): string[] {
  const map = config.id2label;
  const bad = (why: string): never => {
    throw new WebvlError('INVALID_MODEL', `config.json of a VQA model: id2label ${why}`);
  };
  if (!map || typeof map !== 'object') return bad('is missing');
  const n = Object.keys(map).length;
  if (n === 0) bad('is empty');
  return Array.from({ length: n }, (_, i) => {
    const a = map[String(i)];
    return typeof a === 'string' && a.trim() !== '' ? a : bad(`has no answer for index ${i}`);
  });
}

/** [positions, width] of vision_model's patch_embeds; a ViLT/VLMo graph must fix both (index entries keep them). */
function patchShapeOf(vision: GraphIo | undefined): [number, number] {
  const dims = vision?.outputs.get('patch_embeds');
  const [, n, d] = dims ?? [];
  if (dims?.length !== 3 || n === undefined || d === undefined) {
    throw new WebvlError(
      'INVALID_MODEL',
      'vision_model must declare patch_embeds as [batch, positions, width]',
    );
  }
  return [n, d];
}

/** Which vision output the fusion graph or decoder reads. */
function tokensOutput(family: ModelFamily): string {
  return family === 'vilt' || family === 'vlmo' ? 'patch_embeds' : 'last_hidden_state';
}

export interface LoadModelOptions {
  /** Which weights, as transformers.js names them (default: config.json's transformers.js_config, else fp32). */
  readonly dtype?: DTypeOption;
  readonly onProgress?: ProgressListener;
  /** Run every graph once before returning (default true; see warm-up.ts). */
  readonly warmUp?: boolean;
}

/** The llava family's sessions as the ask pipeline takes them; undefined for other families. */
function vlmSessions(
  sessions: Partial<Record<GraphRole, Session>>,
  kvCache: () => Promise<KvCacheFactory | undefined>,
  spec: () => VlmSpec,
  /** The decoder's inputs and outputs as its graph declares them. */
  decoderIo: GraphIo | undefined,
): Vlm | undefined {
  const { visionEncoder, embedTokens, decoderMerged, encoder } = sessions;
  // An encoder-decoder (Florence-2) has these graphs too, but does not answer chats.
  if (!visionEncoder || !embedTokens || !decoderMerged || encoder) return undefined;
  const s = spec();
  // A sliding window's mask counts cache slots: a fixed-capacity cache's gap before the new positions would
  // stretch it, so such a decoder feeds its pasts as they grew.
  const cache = s.slidingWindow ? async () => undefined : kvCache;
  return {
    spec: s,
    visionEncoder,
    embedTokens,
    decoder: {
      session: decoderMerged,
      kv: s.kv,
      kvCache: cache,
      vocab: decoderIo?.outputs.get('logits')?.[2] ?? s.vocab,
      states: recurrentStatesOf(decoderIo),
    },
  };
}

/** A hybrid decoder's recurrent state inputs (LFM2's past_conv.N …) as its graph declares them. */
function recurrentStatesOf(io: GraphIo | undefined): ReadonlyMap<string, StateInput> {
  const states = new Map<string, StateInput>();
  for (const [name, dims] of io?.inputs ?? [])
    if (isRecurrentState(name))
      states.set(name, { dims, dtype: io?.elementTypes.get(name) === ONNX_FLOAT16 ? 'float16' : 'float32' });
  return states;
}

/** Florence-2's sessions as its caption pipeline takes them. */
function florenceSessions(
  sessions: Partial<Record<GraphRole, Session>>,
  spec: Florence2Spec,
  kvCache: () => Promise<KvCacheFactory | undefined>,
): Florence2 {
  const { visionEncoder, embedTokens, encoder, decoderMerged } = sessions;
  if (!visionEncoder || !embedTokens || !encoder || !decoderMerged)
    throw new WebvlError('INTERNAL', 'a Florence-2 graph was planned but not compiled');
  return {
    spec,
    visionEncoder,
    embedTokens,
    encoder,
    decoder: { session: decoderMerged, kv: spec.kv, kvCache },
  };
}

/** Florence-2's tokens as the caption options read them (its max_length counts the decoder's start token). */
function florenceGeneration(spec: Florence2Spec): GenerationConfig {
  return {
    bosTokenId: spec.decoderStartTokenId,
    eosTokenId: spec.eosTokenId,
    padTokenId: spec.eosTokenId,
    maxLength: spec.maxLength,
  };
}

function captionCache(
  io: GraphIo | undefined,
  factory: () => Promise<KvCacheFactory | undefined>,
): LoadedModel['captionCache'] {
  const kv = kvShapeOf(io);
  return kv && { kv, factory };
}

/** Adds up the time spent in each load stage; stages may overlap (a graph compiles while the next downloads). */
class StageClock {
  readonly ms: Record<LoadStage, number> = { downloading: 0, verifying: 0, compiling: 0, 'warming-up': 0 };
  private current: { stage: LoadStage; since: number } | undefined;

  /** Byte progress arrives as a stream of events: time runs in the stage of the latest one. */
  mark(stage: LoadStage | undefined): void {
    const now = performance.now();
    if (this.current) this.ms[this.current.stage] += now - this.current.since;
    this.current = stage ? { stage, since: now } : undefined;
  }

  async time<T>(stage: LoadStage, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.ms[stage] += performance.now() - t0;
    }
  }
}

export async function loadModel(
  folder: ModelFolder,
  selector: BackendSelector,
  { dtype, onProgress, warmUp: warm = true }: LoadModelOptions = {},
): Promise<LoadedModel> {
  // The backend starts (onnxruntime-web compiles its binary; our engine gets its device) while files download.
  // Sessions wait for it: onnxruntime-web's WebGPU provider refuses to create two sessions at once.
  const prepared = selector.prepare();
  const clock = new StageClock();
  let bytesSoFar: LoadProgress | undefined;
  const report = (p: LoadProgress) => {
    if (p.stage === 'downloading' || p.stage === 'verifying') {
      bytesSoFar = p;
      clock.mark(p.stage);
    }
    onProgress?.(p);
  };
  const counter = new LoadCounter(folder.url.href, report);
  // config.json first: it says which family, hence which other files.
  const configBytes = await counter.read([await openRequired(folder, 'config.json')]);
  const config = parseJson<ModelConfigJson>(folder, 'config.json', configBytes.get('config.json'));
  const kind = familyOf(config);
  // A VQA classifier's answers are checked before any graph is fetched.
  const answers = kind === 'vilt' || kind === 'vlmo' ? answersOf(config) : undefined;
  const tjsConfig = config['transformers.js_config'] ?? {};
  const generative = kind === 'blip' || kind === 'llava' || kind === 'coca' || kind === 'florence2';
  // A generative VLM's processor may keep more beside the tokenizer: its own config (Idefics3's image_seq_len)
  // and the chat template, in newer folders.
  const vlmFiles = kind === 'llava' ? VLM_PROCESSOR_FILES : [];
  const opened = await Promise.all([
    openRequired(folder, 'preprocessor_config.json'),
    openRequired(folder, 'tokenizer.json'),
    folder.open('tokenizer_config.json'),
    generative ? folder.open('generation_config.json') : undefined,
    ...vlmFiles.map((f) => folder.open(f)),
  ]);
  const jsons = await counter.read(opened.filter((f) => f !== undefined));
  const json = <T>(file: string, fallback?: T): T =>
    jsons.has(file) ? parseJson<T>(folder, file, jsons.get(file)) : (fallback as T);
  const processorConfig = json<PreprocessorConfigJson>('preprocessor_config.json');
  const lfm2Plan =
    kind === 'llava' && isLfm2Processor(processorConfig) ? planLfm2Tiles(processorConfig) : undefined;
  const tilePlan =
    kind === 'llava' && !lfm2Plan && isTiledProcessor(processorConfig)
      ? planTiles(processorConfig)
      : undefined;
  const patchPlan =
    kind === 'llava' && !lfm2Plan && !tilePlan && isPatchProcessor(processorConfig)
      ? planPatches(processorConfig)
      : undefined;
  // Tiles and patches are cut on the CPU; the plan says what one tile is (its size, the pixel values' affine map),
  // or the least image a patch grid takes.
  const plan = lfm2Plan
    ? lfm2PreprocessPlan(lfm2Plan)
    : tilePlan
      ? tilePreprocessPlan(tilePlan)
      : patchPlan
        ? patchPreprocessPlan(patchPlan)
        : planPreprocess(processorConfig);
  const tokenizer = TextTokenizer.fromJson(
    json<object>('tokenizer.json'),
    json<TokenizerConfigJson>('tokenizer_config.json', {}),
  );

  const trained = configScoring(kind, config);
  const backend = selector.decision.name;
  const graphs = await planGraphs(folder, kind, config, kind === 'blip' || trained !== undefined, (graph) =>
    pickDType(dtype, tjsConfig.dtype, graph, backend),
  );
  const stageEvent = (stage: LoadStage, role: GraphRole): void => {
    const g = graphs.find((x) => x.role === role);
    const done = bytesSoFar?.loaded ?? 0;
    const size = g?.file.size ?? 0;
    report({
      stage,
      step: graphs.findIndex((x) => x.role === role) + 1,
      steps: graphs.length,
      model: folder.url.href,
      file: g?.file.file ?? role,
      fileLoaded: size,
      fileTotal: size,
      loaded: done,
      total: bytesSoFar?.total ?? done,
      fromCache: bytesSoFar?.fromCache ?? false,
    });
  };
  // Each graph is compiled as soon as its bytes are in, while the next file downloads; one at a time, so
  // placements are recorded in graph order.
  const sessions: Partial<Record<GraphRole, Session>> = {};
  const releaseAll = () =>
    Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
  let compiling: Promise<void> = Promise.resolve();
  const compile = (role: GraphRole, model: Uint8Array, externalData: ExternalData | undefined) => {
    compiling = compiling.then(() =>
      clock.time('compiling', async () => {
        stageEvent('compiling', role);
        await prepared;
        const keep = backend === 'wasm' ? [] : deviceOutputs(role, outputNames(model, role));
        sessions[role] = await selector.load(model, { ...sessionOptions(role, keep, kind), externalData });
      }),
    );
    compiling.catch(() => undefined); // awaited below; a failure here must not go unhandled meanwhile
  };
  const external = new ExternalDataReader<GraphRole>(folder);
  let bytes: Map<string, Uint8Array>;
  try {
    bytes = await counter.read(
      graphs.map((g) => g.file),
      // A graph whose weights live in external-data files is compiled once the last of them is in.
      async (file, b) => {
        const g = graphs.find((x) => x.file.file === file);
        const more = g ? await external.graphRead(g.role, file, b) : external.fileRead(file, b);
        for (const ready of external.complete()) compile(ready.key, ready.model, ready.externalData);
        return more;
      },
    );
    clock.mark(undefined);
    await compiling;
  } catch (e) {
    await compiling.catch(() => undefined);
    await releaseAll();
    throw e;
  }
  // Each graph's declared inputs and outputs, read once from its bytes.
  const ios = new Map<GraphRole, GraphIo | undefined>();
  const graphIoOf = (role: GraphRole) => {
    if (!ios.has(role)) {
      const g = graphs.find((x) => x.role === role);
      ios.set(role, g ? graphIo(bytes.get(g.file.file)!) : undefined);
    }
    return ios.get(role);
  };

  let model: LoadedModel;
  try {
    const florence =
      kind === 'florence2'
        ? florenceSessions(
            sessions,
            florence2Spec(
              config,
              processorConfig as Florence2ProcessorJson,
              json<Florence2GenerationJson>('generation_config.json', {}),
              kvShapeOf(graphIoOf('decoderMerged')),
            ),
            () => selector.kvCache('decoderMerged'),
          )
        : undefined;
    const generation = florence
      ? florenceGeneration(florence.spec)
      : graphs.some((g) => g.role === 'decoder')
        ? toGeneration(config, json<GenerationConfigJson>('generation_config.json', {}))
        : undefined;
    const limits = florence
      ? captionLimits(florence.spec.maxPositions, graphIoOf('encoder'), graphIoOf('decoderMerged'))
      : generation &&
        captionLimits(
          decoderPositions(config, tokenizer, generation),
          graphIoOf('vision'),
          graphIoOf('decoder'),
        );
    // GPU preprocessing is an optimisation: if it cannot start, the CPU path does the same work.
    const imageRole = sessions.vision ? 'vision' : sessions.visionEncoder ? 'visionEncoder' : undefined;
    // It writes float32: a graph that declares float16 pixels (a float16 export without keep_io_types) takes
    // the CPU path's, rounded to float16 as its input declares.
    const halfPixels = imageRole && graphIoOf(imageRole)?.elementTypes.get('pixel_values') === ONNX_FLOAT16;
    const pixels =
      imageRole && !halfPixels && !tilePlan && !patchPlan && !lfm2Plan
        ? await selector.pixelPipeline(imageRole).catch(() => undefined)
        : undefined;
    const scoring: Scoring =
      trained ??
      (sessions.combined
        ? { ...initialScoring(kind, config), source: 'combined graph' }
        : initialScoring(kind, config));
    const side = config.vision_config?.image_size ?? 224;
    const architecture = architectureOf(kind, config);
    model = {
      url: folder.url.href,
      kind,
      tokenizer,
      plan,
      imageSize: fixedOutputSize(plan) ?? [side, side],
      scoring,
      textLength: textLengthOf(kind, tokenizer, config),
      embeddings: {
        image: architecture.tasks.embed === null ? undefined : embeddingOutput(kind, 'vision'),
        text: architecture.tasks.embed === null ? undefined : embeddingOutput(kind, 'text'),
        tokens: tokensOutput(kind),
      },
      architecture,
      itmBosTokenId: config.itm_bos_token_id,
      vision: sessions.vision,
      pixels,
      text: sessions.text,
      combined: sessions.combined,
      itm: sessions.itm,
      fusion: sessions.fusion,
      answers,
      patchShape: kind === 'vilt' || kind === 'vlmo' ? patchShapeOf(graphIoOf('vision')) : undefined,
      decoder: sessions.decoder,
      decoderWithPast: sessions.decoderWithPast,
      captionCache: captionCache(graphIoOf('decoderWithPast'), () => selector.kvCache('decoderWithPast')),
      generation,
      captionLimits: limits,
      florence,
      vlm: vlmSessions(
        sessions,
        () => selector.kvCache('decoderMerged'),
        () =>
          vlmSpec(config, tokenizer, {
            tokenizerConfig: json<TokenizerConfigJson>('tokenizer_config.json', {}),
            generation: json('generation_config.json', {}),
            processor: json('processor_config.json', {}),
            preprocessorImageTokens: (processorConfig as { image_seq_length?: unknown }).image_seq_length,
            pixelSize: pixelSizeOf(fixedOutputSize(plan)),
            chatTemplate: chatTemplateOf(folder, jsons),
            tilePlan,
            lfm2Plan,
            pixelRank: graphIoOf('visionEncoder')?.inputs.get('pixel_values')?.length,
            patchPlan,
            visionInputs: [...(graphIoOf('visionEncoder')?.inputs.keys() ?? [])],
          }),
        graphIoOf('decoderMerged'),
      ),
      graphs: graphs.map((g) => {
        const data = external.filesOf(g.role);
        return {
          role: g.role,
          file: g.file.file,
          dtype: g.dtype,
          ...(data.length ? { externalData: data } : {}),
        };
      }),
      verified: folder.verified,
      bytes: counter.bytes,
      stageMs: clock.ms,
      async release() {
        await releaseAll();
      },
    };
    if (warm) await clock.time('warming-up', () => warmUp(model, (role) => stageEvent('warming-up', role)));
  } catch (e) {
    await releaseAll();
    throw e;
  }
  return model;
}

const pixelSizeOf = (size: [number, number] | undefined) =>
  size ? { height: size[0], width: size[1] } : undefined;
