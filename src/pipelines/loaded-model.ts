// A model folder turned into sessions + tokenizer + preprocessing plan. Which graphs are loaded follows the
// folder: CLIP has vision + text; the BLIP family adds ITM and the caption decoder (with and without past).
import type { Session } from '../engine/backend';
import type { PixelPipeline } from '../engine/pixels';
import type { BackendSelector } from '../engine/select';
import { WebvlError } from '../errors';
import { graphIo } from '../models/graph-io';
import type { ModelStore, ProgressListener } from '../models/model-store';
import { TextTokenizer, type TokenizerConfigJson } from '../text/tokenizer';
import {
  type PreprocessorConfigJson,
  type PreprocessPlan,
  planPreprocess,
} from '../vision/preprocessor-config';
import { type CaptionLimits, captionLimits } from './caption-limits';

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
  release(): Promise<void>;
}

/** Graph files of the fp32 variant; other dtypes add a suffix (transformers.js naming). */
const GRAPHS = {
  vision: 'onnx/vision_model.onnx',
  text: 'onnx/text_model.onnx',
  itm: 'onnx/itm_model.onnx',
  decoder: 'onnx/decoder_model.onnx',
  decoderWithPast: 'onnx/decoder_with_past_model.onnx',
} as const;

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
function deviceOutputs(key: keyof typeof GRAPHS, outputNames: readonly string[]): string[] {
  if (key === 'vision') return outputNames.filter((n) => n === 'last_hidden_state');
  if (key === 'decoder' || key === 'decoderWithPast')
    return outputNames.filter((n) => n.startsWith('present'));
  return [];
}

function graphFile(key: keyof typeof GRAPHS, dtype: ModelDType): string {
  return dtype === 'fp32' ? GRAPHS[key] : GRAPHS[key].replace(/\.onnx$/, `_${dtype}.onnx`);
}

export async function loadModel(
  store: ModelStore,
  selector: BackendSelector,
  dtype: ModelDType,
  onProgress?: ProgressListener,
): Promise<LoadedModel> {
  const has = (k: keyof typeof GRAPHS) => store.has(graphFile(k, 'fp32')) || store.has(graphFile(k, dtype));
  const kind: ModelKind = has('itm') || has('decoder') ? 'blip' : 'clip';
  const jsonFiles = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'];
  if (kind === 'blip') jsonFiles.push('generation_config.json');
  const graphKeys = (Object.keys(GRAPHS) as (keyof typeof GRAPHS)[]).filter(
    (k) => kind === 'blip' || k === 'vision' || k === 'text',
  );
  for (const k of graphKeys) {
    if (!store.has(graphFile(k, dtype))) {
      const what = dtype === 'fp32' ? '' : ` (no ${dtype} variant)`;
      throw new WebvlError('MODEL_NOT_FOUND', `${store.url.href} lacks ${graphFile(k, dtype)}${what}`);
    }
  }
  const files = [...jsonFiles, ...graphKeys.map((k) => graphFile(k, dtype))];
  const bytes = await store.loadFiles(files, onProgress);
  const json = <T>(f: string): T => {
    try {
      return JSON.parse(new TextDecoder().decode(bytes.get(f))) as T;
    } catch {
      throw new WebvlError('INVALID_MODEL', `${store.url.href}${f} is not JSON`);
    }
  };
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

  const sessions: Partial<Record<keyof typeof GRAPHS, Session>> = {};
  try {
    for (const k of graphKeys) {
      const model = bytes.get(graphFile(k, dtype))!;
      let session = await selector.load(model, { label: k });
      const keep = selector.decision.name === 'wasm' ? [] : deviceOutputs(k, session.outputNames);
      if (keep.length) {
        // Output names are only known once loaded; reload asking the backend to keep those on the GPU.
        await session.release();
        session = await selector.load(model, { label: k, keepOnDevice: keep });
      }
      sessions[k] = session;
    }
  } catch (e) {
    await Promise.all(Object.values(sessions).map((s) => s.release()));
    throw e;
  }
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
  return {
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
    async release() {
      await Promise.all(Object.values(sessions).map((s) => s.release()));
    },
  };
}
