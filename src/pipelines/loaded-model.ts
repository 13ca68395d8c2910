// A model folder turned into sessions + tokenizer + preprocessing plan. Which graphs are loaded follows the
// folder: CLIP has vision + text; the BLIP family adds ITM and the caption decoder (with and without past).
import type { Session } from '../engine/backend';
import type { PixelPipeline } from '../engine/pixels';
import type { BackendSelector } from '../engine/select';
import { WebvlError } from '../errors';
import { graphIo } from '../models/graph-io';
import type { LoadProgress, LoadStage, ModelStore, ProgressListener } from '../models/model-store';
import { TextTokenizer, type TokenizerConfigJson } from '../text/tokenizer';
import {
  type PreprocessorConfigJson,
  type PreprocessPlan,
  planPreprocess,
} from '../vision/preprocessor-config';
import { type CaptionLimits, captionLimits } from './caption-limits';
import { warmUp } from './warm-up';

export type ModelKind = 'clip' | 'blip';

/**
 * Which weights of a model folder to load, as transformers.js names them: 'fp32' = onnx/<graph>.onnx,
 * 'fp16' = onnx/<graph>_fp16.onnx (float16 weights widened by Cast nodes: half the download; compute stays f32).
 */
export type ModelDType = 'fp32' | 'fp16';

export interface GenerationConfig {
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly maxLength: number;
}

export interface LoadedModel {
  readonly url: string;
  readonly kind: ModelKind;
  readonly tokenizer: TextTokenizer;
  readonly plan: PreprocessPlan;
  /** exp(logit_scale): the temperature ITC similarities are multiplied by. */
  readonly scale: number;
  /** First token the ITM encoder expects in place of [CLS], when the model says so. */
  readonly itmBosTokenId?: number;
  readonly vision: Session;
  /** Preprocessing on the vision graph's GPU, when its backend has it (a WebGPU backend); else the CPU does it. */
  readonly pixels?: PixelPipeline;
  readonly text: Session;
  readonly itm?: Session;
  readonly decoder?: Session;
  readonly decoderWithPast?: Session;
  readonly generation?: GenerationConfig;
  /** Bounds on caption length and beams (BLIP models). */
  readonly captionLimits?: CaptionLimits;
  /** Total bytes of the files loaded. */
  readonly bytes: number;
  /** Milliseconds spent in each stage of the load (download and compilation overlap, so they may sum to more). */
  readonly stageMs: Readonly<Record<LoadStage, number>>;
  release(): Promise<void>;
}

export interface LoadModelOptions {
  readonly onProgress?: ProgressListener;
  /** Run every graph once before returning (default true; see warm-up.ts). */
  readonly warmUp?: boolean;
}

/** Graph files of the fp32 variant; other dtypes add a suffix (transformers.js naming). */
export const GRAPHS = {
  vision: 'onnx/vision_model.onnx',
  text: 'onnx/text_model.onnx',
  itm: 'onnx/itm_model.onnx',
  decoder: 'onnx/decoder_model.onnx',
  decoderWithPast: 'onnx/decoder_with_past_model.onnx',
} as const;

export type GraphKey = keyof typeof GRAPHS;

interface ConfigJson {
  logit_scale?: number;
  model_type?: string;
  itm_bos_token_id?: number;
  text_config?: { max_position_embeddings?: unknown };
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;

/** Positions the caption decoder has: the text config's, else the tokenizer's limit, else the generation length. */
function decoderPositions(
  config: ConfigJson,
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

function toGeneration(g: GenerationConfigJson): GenerationConfig {
  const bos = g.bos_token_id ?? g.decoder_start_token_id;
  const eos = Array.isArray(g.eos_token_id) ? g.eos_token_id[0] : g.eos_token_id;
  if (bos === undefined || eos === undefined) {
    throw new WebvlError('INVALID_MODEL', 'generation_config.json needs bos_token_id and eos_token_id');
  }
  const maxLength = g.max_length ?? 32;
  const isId = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  if (!isId(bos) || !isId(eos) || !isCount(maxLength) || maxLength > 100_000) {
    throw new WebvlError(
      'INVALID_MODEL',
      'generation_config.json has token ids or max_length that are not counts',
    );
  }
  return { bosTokenId: bos, eosTokenId: eos, padTokenId: g.pad_token_id ?? 0, maxLength };
}

/** Names of outputs worth keeping on the GPU for a graph (image tokens, KV cache). */
function deviceOutputs(key: GraphKey, outputNames: readonly string[]): string[] {
  if (key === 'vision') return outputNames.filter((n) => n === 'last_hidden_state');
  if (key === 'decoder' || key === 'decoderWithPast')
    return outputNames.filter((n) => n.startsWith('present'));
  return [];
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

function graphFile(key: GraphKey, dtype: ModelDType): string {
  return dtype === 'fp32' ? GRAPHS[key] : GRAPHS[key].replace(/\.onnx$/, `_${dtype}.onnx`);
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
  store: ModelStore,
  selector: BackendSelector,
  dtype: ModelDType,
  { onProgress, warmUp: warm = true }: LoadModelOptions = {},
): Promise<LoadedModel> {
  const has = (k: GraphKey) => store.has(graphFile(k, 'fp32')) || store.has(graphFile(k, dtype));
  const kind: ModelKind = has('itm') || has('decoder') ? 'blip' : 'clip';
  const jsonFiles = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'];
  if (kind === 'blip') jsonFiles.push('generation_config.json');
  const graphKeys = (Object.keys(GRAPHS) as GraphKey[]).filter(
    (k) => kind === 'blip' || k === 'vision' || k === 'text',
  );
  for (const k of graphKeys) {
    if (!store.has(graphFile(k, dtype))) {
      const what = dtype === 'fp32' ? '' : ` (no ${dtype} variant)`;
      throw new WebvlError('MODEL_NOT_FOUND', `${store.url.href} lacks ${graphFile(k, dtype)}${what}`);
    }
  }
  const graphOf = new Map(graphKeys.map((k) => [graphFile(k, dtype), k]));
  const files = [...jsonFiles, ...graphOf.keys()];
  store.sizeOf(files); // a file missing from the manifest is MODEL_NOT_FOUND before anything starts
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
  const stageEvent = (stage: LoadStage, k: GraphKey): void => {
    const done = bytesSoFar?.loaded ?? 0;
    const size = store.sizeOf([graphFile(k, dtype)]); // the graph's bytes are all in by now
    report({
      stage,
      step: graphKeys.indexOf(k) + 1,
      steps: graphKeys.length,
      model: store.url.href,
      file: graphFile(k, dtype),
      fileLoaded: size,
      fileTotal: size,
      loaded: done,
      total: bytesSoFar?.total ?? done,
      fromCache: bytesSoFar?.fromCache ?? false,
    });
  };

  // Each graph is compiled as soon as its bytes are verified, while the next file downloads; one at a time,
  // so placements are recorded in graph order.
  const sessions: Partial<Record<GraphKey, Session>> = {};
  let compiling: Promise<void> = Promise.resolve();
  const compile = (k: GraphKey, model: Uint8Array) => {
    compiling = compiling.then(() =>
      clock.time('compiling', async () => {
        stageEvent('compiling', k);
        await prepared;
        const keep = selector.decision.name === 'wasm' ? [] : deviceOutputs(k, outputNames(model, k));
        sessions[k] = await selector.load(
          model,
          keep.length ? { label: k, keepOnDevice: keep } : { label: k },
        );
      }),
    );
    compiling.catch(() => undefined); // awaited below; a failure here must not go unhandled meanwhile
  };
  const releaseAll = () =>
    Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
  let bytes: Map<string, Uint8Array>;
  try {
    bytes = await store.loadFiles(files, report, (file, b) => {
      const k = graphOf.get(file);
      if (k) compile(k, b);
    });
    clock.mark(undefined);
    await compiling;
  } catch (e) {
    await compiling.catch(() => undefined);
    await releaseAll();
    throw e;
  }
  const json = <T>(f: string): T => {
    try {
      return JSON.parse(new TextDecoder().decode(bytes.get(f))) as T;
    } catch {
      throw new WebvlError('INVALID_MODEL', `${store.url.href}${f} is not JSON`);
    }
  };
  let model: LoadedModel;
  try {
    const config = json<ConfigJson>('config.json');
    if (typeof config.logit_scale !== 'number') {
      throw new WebvlError('INVALID_MODEL', 'config.json has no numeric logit_scale');
    }
    const tokenizer = TextTokenizer.fromJson(
      json<object>('tokenizer.json'),
      json<TokenizerConfigJson>('tokenizer_config.json'),
    );
    const plan = planPreprocess(json<PreprocessorConfigJson>('preprocessor_config.json'));
    const generation =
      kind === 'blip' ? toGeneration(json<GenerationConfigJson>('generation_config.json')) : undefined;
    let total = 0;
    for (const b of bytes.values()) total += b.length;
    // GPU preprocessing is an optimisation: if it cannot start, the CPU path does the same work.
    const pixels = await selector.pixelPipeline('vision').catch(() => undefined);
    const limits =
      generation &&
      captionLimits(
        decoderPositions(config, tokenizer, generation),
        graphIo(bytes.get(graphFile('vision', dtype))!),
        graphIo(bytes.get(graphFile('decoder', dtype))!),
      );
    model = {
      url: store.url.href,
      kind,
      tokenizer,
      plan,
      scale: Math.exp(config.logit_scale),
      itmBosTokenId: config.itm_bos_token_id,
      vision: sessions.vision!,
      pixels,
      text: sessions.text!,
      itm: sessions.itm,
      decoder: sessions.decoder,
      decoderWithPast: sessions.decoderWithPast,
      generation,
      captionLimits: limits,
      bytes: total,
      stageMs: clock.ms,
      async release() {
        await releaseAll();
      },
    };
    if (warm) await clock.time('warming-up', () => warmUp(model, (k) => stageEvent('warming-up', k)));
  } catch (e) {
    await releaseAll();
    throw e;
  }
  return model;
}
