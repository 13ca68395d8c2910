// What the ask/chat pipeline needs to know of a generative VLM folder (the llava family): the chat template,
// the image token and how many positions an image takes, the language model's key/value shape and context.
// Idefics3 folders (SmolVLM) cut an image into tiles: each tile is a run of image tokens in the prompt, after
// the tokens that name its place (Idefics3Processor's expansion of the one <image> the template writes). Qwen2-VL
// folders resize an image to a patch grid of its own, so each image is its own number of image tokens, and their
// language model takes 3-D positions (temporal, row, column: M-RoPE). Gemma3 folders write <start_of_image> where
// an image goes, which their processor expands to the image's tokens between start and end tokens; their language
// model has local layers (a sliding window). PaliGemma folders have no chat template: the prompt is the image's
// tokens, <bos>, one prompt and a line break, and the image and prompt attend both ways (a prefix LM).
import { Template } from '@huggingface/jinja';
import { WebvlError } from '../errors';
import type { TextTokenizer, TokenizerConfigJson } from '../text/tokenizer';
import type { PatchPlan } from '../vision/image-patches';
import type { TilePlan } from '../vision/image-tiles';
import type { Lfm2TilePlan } from '../vision/lfm2-tiles';
import type { KvShape } from './generate/decoder-state';
import {
  isRepetitionPenalty,
  MAX_REPETITION_PENALTY,
  MAX_TOP_K,
  MIN_REPETITION_PENALTY,
  type Sampling,
} from './generate/sampling';
import type { ModelConfigJson, TextConfigJson } from './model-family';

/** Idefics3's tiling: the processor's plan and the strings its prompt expansion writes. */
export interface TiledImages {
  readonly plan: TilePlan;
  /** The text the chat template writes for the image, which the expansion replaces. */
  readonly imageText: string;
  readonly fakeToken: string;
  readonly globalToken: string;
  /** The vision encoder's pixel_values rank: 5 ([batch, images, 3, H, W]) as transformers.js exports it, or 4. */
  readonly pixelRank: 4 | 5;
}

/** Qwen2-VL's images: patches of a grid sized per image. */
export interface PatchedImages {
  readonly plan: PatchPlan;
  /** The vision encoder's grid input: grid_thw (transformers.js' Qwen2-VL export) or image_grid_thw. */
  readonly gridInput: string;
}

/** LFM2-VL's images: tiles and a thumbnail, or one image, between its start and end tokens. */
export interface Lfm2Images {
  readonly plan: Lfm2TilePlan;
  /** The image token the template writes, which the expansion repeats for each piece. */
  readonly imageText: string;
  readonly start: string;
  readonly end: string;
  /** Before the thumbnail's run. */
  readonly thumbnail: string;
}

/** Gemma3's image: the text the template writes for it, and what its processor writes instead. */
export interface WrappedImages {
  /** What the template writes (boi_token). */
  readonly marker: string;
  /** Before and after the image's run of image tokens. */
  readonly before: string;
  readonly after: string;
}

export interface VlmSpec {
  /**
   * Jinja chat template: chat_template.jinja's, chat_template.json's, tokenizer_config.json's (its 'default' where
   * it names several), else LLaVA-1.5's.
   */
  readonly chatTemplate: string;
  /** The strings the template writes for the start and end of a sequence. */
  readonly bosToken: string;
  readonly eosToken: string;
  /** The tokens that end an answer (generation_config.json's eos_token_id, one or several). */
  readonly eosTokenIds: readonly number[];
  /** The token the template writes where the image goes; its embeddings are replaced by the image features. */
  readonly imageTokenId: number;
  /**
   * Positions one run of image tokens takes in the language model: how many feature vectors the image encoder
   * returns for the image (for a tile, with tiling). 0 with patches: each image has its own.
   */
  readonly imageTokens: number;
  /** Idefics3's tiles; absent where an image is one run (LLaVA). */
  readonly tiles?: TiledImages;
  /** Qwen2-VL's patch grids. */
  readonly patches?: PatchedImages;
  /** LFM2-VL's tiles and thumbnail. */
  readonly lfm2?: Lfm2Images;
  /** The language model's rotary sections when it takes 3-D position_ids [3, batch, seq] (M-RoPE). */
  readonly mropeSection?: readonly number[];
  /** Gemma3's image start and end around each image's tokens. */
  readonly wrapped?: WrappedImages;
  /**
   * PaliGemma: no chat template; one prompt after the images' tokens and <bos>, all attended both ways on the
   * first step (so a prompt is never fed on top of another's cache).
   */
  readonly prefixLm?: boolean;
  /**
   * Positions a local layer of the language model sees (Gemma3's sliding window), when fewer than it has. Its mask
   * counts cache slots, so the cache must hold positions without gaps: no fixed-capacity cache.
   */
  readonly slidingWindow?: number;
  readonly kv: KvShape;
  /** Positions the language model has (prompt, image and answer together). */
  readonly maxPositions: number;
  /** The language model's vocabulary size (text_config.vocab_size), where the config gives it. */
  readonly vocab?: number;
  /** Answers' default repetition penalty: generation_config.json's repetition_penalty, else 1 (none). */
  readonly repetitionPenalty: number;
  /**
   * The sampling generation_config.json recommends (do_sample true), within what a request may ask (topK at most
   * MAX_TOP_K); answers stay greedy unless a request asks for it.
   */
  readonly suggestedSampling?: Sampling;
}

/** LLaVA-1.5's conversation format, for folders whose tokenizer_config.json carries no chat_template. */
const LLAVA_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% if loop.first %}<image>\n{% endif %}" +
  "{{ message['content'] }} {% else %}ASSISTANT: {{ message['content'] }}{{ eos_token }}{% endif %}{% endfor %}" +
  '{% if add_generation_prompt %}ASSISTANT:{% endif %}';

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;

function tokenString(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  const content = (t as { content?: unknown } | null)?.content;
  return typeof content === 'string' ? content : undefined;
}

/** What else a folder says of its processor: processor_config.json, and a chat template kept apart. */
export interface VlmFolderFiles {
  readonly tokenizerConfig: TokenizerConfigJson;
  readonly generation: {
    eos_token_id?: number | number[];
    repetition_penalty?: unknown;
    do_sample?: unknown;
    temperature?: unknown;
    top_k?: unknown;
    top_p?: unknown;
    min_p?: unknown;
  };
  /**
   * processor_config.json (Idefics3: image_seq_len; Gemma3: image_seq_length; LLaVA's processor: patch_size and
   * num_additional_image_tokens, from which it counts an image's tokens).
   */
  readonly processor?: {
    /** LFM2-VL's processor strings (Lfm2VlProcessor's defaults where absent). */
    image_token?: unknown;
    image_start_token?: unknown;
    image_end_token?: unknown;
    image_thumbnail?: unknown;
    image_seq_len?: unknown;
    image_seq_length?: unknown;
    patch_size?: unknown;
    num_additional_image_tokens?: unknown;
  };
  /** The pixel values' height and width, where every image has the same (a resize to a size, or a crop). */
  readonly pixelSize?: { readonly height: number; readonly width: number };
  /** preprocessor_config.json's image_seq_length (PaliGemma's processor reads it there). */
  readonly preprocessorImageTokens?: unknown;
  /** chat_template.jinja, or chat_template.json's chat_template: newer folders keep the template there. */
  readonly chatTemplate?: string;
  /** Idefics3's tiling, where the preprocessor config is Idefics3's. */
  readonly tilePlan?: TilePlan;
  readonly pixelRank?: number;
  /** Qwen2-VL's patches, where the preprocessor config is Qwen2-VL's, and its vision encoder's input names. */
  readonly patchPlan?: PatchPlan;
  /** LFM2-VL's tiling, where the preprocessor config is Lfm2VlImageProcessor's. */
  readonly lfm2Plan?: Lfm2TilePlan;
  readonly visionInputs?: readonly string[];
}

/** Chat templates parsed so far, by source: parsed once per model, not per question. */
const PARSED = new Map<string, Template>();
const PARSED_KEPT = 16;

/** The chat template parsed (@huggingface/jinja), from a small cache; throws what the parser throws. */
export function parsedTemplate(source: string): Template {
  let t = PARSED.get(source);
  if (!t) {
    t = new Template(source);
    if (PARSED.size >= PARSED_KEPT) PARSED.delete(PARSED.keys().next().value as string);
    PARSED.set(source, t);
  }
  return t;
}

/** tokenizer_config.json's chat_template: a string, or a list of named templates ('default' is the chat one). */
function templateOf(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  if (!Array.isArray(t)) return undefined;
  const named = t as { name?: unknown; template?: unknown }[];
  const pick = named.find((x) => x?.name === 'default') ?? named[0];
  return typeof pick?.template === 'string' ? pick.template : undefined;
}

export function vlmSpec(config: ModelConfigJson, tokenizer: TextTokenizer, files: VlmFolderFiles): VlmSpec {
  const { tokenizerConfig, generation } = files;
  // Qwen2-VL's config keeps the language model's fields at its top level.
  const t = config.text_config ?? config;
  const bad = (what: string): never => {
    throw new WebvlError('INVALID_MODEL', `config.json of a llava model: ${what}`);
  };
  const layers = isCount(t.num_hidden_layers)
    ? t.num_hidden_layers
    : bad('text_config.num_hidden_layers is not a count');
  const heads = isCount(t.num_attention_heads)
    ? t.num_attention_heads
    : bad('text_config.num_attention_heads is not a count');
  const kvHeads = t.num_key_value_heads ?? heads;
  const headDim = t.head_dim ?? (isCount(t.hidden_size) ? t.hidden_size / heads : undefined);
  if (!isCount(kvHeads) || !isCount(headDim)) bad('text_config has no key/value head count or head size');
  const maxPositions = isCount(t.max_position_embeddings)
    ? t.max_position_embeddings
    : bad('text_config.max_position_embeddings is not a count');
  const imageTokenId = config.image_token_index ?? config.image_token_id;
  if (typeof imageTokenId !== 'number' || !Number.isInteger(imageTokenId) || imageTokenId < 0)
    bad('no image_token_index (or image_token_id)');
  const tiles = files.tilePlan && tiledImages(files.tilePlan, files.pixelRank, tokenizer);
  const patches = files.patchPlan && patchedImages(files.patchPlan, files.visionInputs ?? []);
  const lfm2 =
    files.lfm2Plan && lfm2Images(files.lfm2Plan, files.processor, tokenizer, imageTokenId as number);
  const imageTokens = tiles
    ? tileTokens(config, files.processor)
    : patches || lfm2
      ? 0
      : (config.image_seq_length ??
        files.processor?.image_seq_length ??
        files.preprocessorImageTokens ??
        config.mm_tokens_per_image ??
        llavaProcessorTokens(files));
  if (!patches && !lfm2 && !isCount(imageTokens)) bad('image_seq_length is not a count');
  const wrapped = isGemma3(config)
    ? wrappedImages(tokenizerConfig, tokenizer, imageTokenId as number)
    : undefined;
  const prefixLm = isPaliGemma(config);
  const rotaryShare = t.partial_rotary_factor ?? t.rope_parameters?.partial_rotary_factor ?? 1;
  if (typeof rotaryShare !== 'number' || !(rotaryShare > 0 && rotaryShare <= 1))
    bad(`partial_rotary_factor ${JSON.stringify(rotaryShare)} is not in (0, 1]`);
  const mropeSection = mropeOf(
    t.rope_scaling?.mrope_section ?? t.rope_parameters?.mrope_section,
    Math.round((headDim as number) * (rotaryShare as number)),
  );
  if (patches && !mropeSection) bad('a Qwen2-VL config needs rope_scaling.mrope_section');
  // PaliGemma's prompt is its processor's, not a template's.
  const chatTemplate = prefixLm
    ? ''
    : (files.chatTemplate ?? templateOf(tokenizerConfig.chat_template) ?? LLAVA_TEMPLATE);
  try {
    parsedTemplate(chatTemplate); // parsed here, so a broken one fails the load, not the first question
  } catch (e) {
    bad(`its chat template does not parse: ${(e as Error).message}`);
  }
  const eosIds = generation.eos_token_id ?? t.eos_token_id;
  const eosTokenIds = (Array.isArray(eosIds) ? eosIds : [eosIds]).filter((id) => Number.isInteger(id));
  if (eosTokenIds.length === 0) bad('no eos_token_id (text_config or generation_config.json)');
  const repetitionPenalty = generation.repetition_penalty ?? 1;
  if (!isRepetitionPenalty(repetitionPenalty))
    throw new WebvlError(
      'INVALID_MODEL',
      `generation_config.json: repetition_penalty ${JSON.stringify(repetitionPenalty)} should be a number from ${MIN_REPETITION_PENALTY} to ${MAX_REPETITION_PENALTY}`,
    );
  const suggestedSampling = suggestedSamplingOf(generation);
  return {
    chatTemplate,
    bosToken: tokenString(tokenizerConfig.bos_token) ?? '',
    eosToken: tokenString(tokenizerConfig.eos_token) ?? tokenizer.tokenOf(eosTokenIds[0] as number) ?? '',
    eosTokenIds: eosTokenIds as number[],
    imageTokenId: imageTokenId as number,
    imageTokens: imageTokens as number,
    ...(tiles ? { tiles } : {}),
    ...(patches ? { patches } : {}),
    ...(lfm2 ? { lfm2 } : {}),
    ...(mropeSection ? { mropeSection } : {}),
    ...(wrapped ? { wrapped } : {}),
    ...(prefixLm ? { prefixLm } : {}),
    ...slidingWindowOf(t, maxPositions),
    kv: { layers, heads: kvHeads as number, headDim: headDim as number },
    maxPositions,
    ...(isCount(t.vocab_size) ? { vocab: t.vocab_size } : {}),
    repetitionPenalty,
    ...(suggestedSampling ? { suggestedSampling } : {}),
  };
}

/**
 * generation_config.json's sampling as transformers' defaults complete it (temperature 1, top_k 50, top_p 1, no
 * min_p), where do_sample is on and the temperature is above 0 (at 0 transformers decodes greedily); top_k 0 (off)
 * and above MAX_TOP_K become MAX_TOP_K, the most candidates the GPU head draws from. INVALID_MODEL for values that
 * are not numbers in transformers' ranges.
 */
function suggestedSamplingOf(generation: VlmFolderFiles['generation']): Sampling | undefined {
  if (generation.do_sample !== true) return undefined;
  const numberOr = (v: unknown, fallback: number, name: string, ok: (n: number) => boolean): number => {
    const n = v ?? fallback;
    if (typeof n !== 'number' || !Number.isFinite(n) || !ok(n))
      throw new WebvlError(
        'INVALID_MODEL',
        `generation_config.json: ${name} ${JSON.stringify(v)} is out of range`,
      );
    return n;
  };
  const temperature = numberOr(generation.temperature, 1, 'temperature', (t) => t >= 0);
  if (temperature === 0) return undefined;
  const topK = numberOr(generation.top_k, 50, 'top_k', (k) => Number.isInteger(k) && k >= 0);
  return {
    temperature: Math.min(temperature, 100),
    topK: topK === 0 ? MAX_TOP_K : Math.min(topK, MAX_TOP_K),
    topP: numberOr(generation.top_p, 1, 'top_p', (p) => p > 0 && p <= 1),
    minP: numberOr(generation.min_p, 0, 'min_p', (p) => p >= 0 && p <= 1),
  };
}

/**
 * Feature vectors per tile: processor_config.json's image_seq_len, else what the vision config implies (patches
 * per tile, merged scale_factor² at a time by the connector's pixel shuffle), as Idefics3Processor computes it.
 */
function tileTokens(config: ModelConfigJson, processor: VlmFolderFiles['processor']): unknown {
  if (processor?.image_seq_len !== undefined) return processor.image_seq_len;
  const v = config.vision_config ?? {};
  const scale = config.scale_factor ?? 2;
  if (!isCount(v.image_size) || !isCount(v.patch_size) || !isCount(scale)) return undefined;
  return (v.image_size / v.patch_size) ** 2 / scale ** 2;
}

function tiledImages(plan: TilePlan, pixelRank: number | undefined, tokenizer: TextTokenizer): TiledImages {
  // The strings Idefics3Processor writes; a tokenizer without them cannot hold the expanded prompt.
  const strings = {
    imageText: '<image>',
    fakeToken: '<fake_token_around_image>',
    globalToken: '<global-img>',
  };
  for (const s of Object.values(strings))
    if (tokenizer.tokenId(s) === undefined)
      throw new WebvlError('INVALID_MODEL', `an Idefics3 tokenizer must hold the token '${s}'`);
  return { plan, ...strings, pixelRank: pixelRank === 4 ? 4 : 5 };
}

/** LFM2-VL's expansion strings (processor_config.json's, else Lfm2VlProcessor's), each a token of the tokenizer. */
function lfm2Images(
  plan: Lfm2TilePlan,
  processor: VlmFolderFiles['processor'],
  tokenizer: TextTokenizer,
  imageTokenId: number,
): Lfm2Images {
  const named = (v: unknown, fallback: string) => tokenString(v) ?? fallback;
  const strings = {
    imageText: named(processor?.image_token, '<image>'),
    start: named(processor?.image_start_token, '<|image_start|>'),
    end: named(processor?.image_end_token, '<|image_end|>'),
    thumbnail: named(processor?.image_thumbnail, '<|img_thumbnail|>'),
  };
  for (const s of Object.values(strings))
    if (tokenizer.tokenId(s) === undefined)
      throw new WebvlError('INVALID_MODEL', `an LFM2-VL tokenizer must hold the token '${s}'`);
  if (tokenizer.tokenId(strings.imageText) !== imageTokenId)
    throw new WebvlError(
      'INVALID_MODEL',
      `the image token '${strings.imageText}' is not config.json's image_token_id ${imageTokenId}`,
    );
  return { plan, ...strings };
}

/** rope_scaling.mrope_section: counts that add up to half the head size; undefined where absent. */
/** M-RoPE's three sections, which split the rotary half of each head (`rotaryDim` its rotating values). */
function mropeOf(section: unknown, rotaryDim: number): number[] | undefined {
  if (section === undefined) return undefined;
  const ok =
    Array.isArray(section) &&
    section.length === 3 &&
    section.every((n) => Number.isInteger(n) && n >= 0) &&
    section.reduce((a: number, b: number) => a + b, 0) === rotaryDim / 2;
  if (!ok)
    throw new WebvlError(
      'INVALID_MODEL',
      `config.json: rope_scaling.mrope_section ${JSON.stringify(section)} should be 3 counts adding up to ${rotaryDim / 2}`,
    );
  return section as number[];
}

/** The grid input a Qwen2-VL vision encoder takes beside pixel_values. */
function patchedImages(plan: PatchPlan, inputs: readonly string[]): PatchedImages {
  const gridInput = ['grid_thw', 'image_grid_thw'].find((n) => inputs.includes(n));
  if (!gridInput || !inputs.includes('pixel_values'))
    throw new WebvlError(
      'INVALID_MODEL',
      `a Qwen2-VL vision_encoder takes pixel_values and grid_thw (or image_grid_thw), not ${inputs.join(', ')}`,
    );
  return { plan, gridInput };
}

/**
 * LlavaProcessor's count of an image's tokens, where processor_config.json gives a patch size: patches of the pixel
 * values' height and width, plus num_additional_image_tokens (a class token).
 */
function llavaProcessorTokens({ processor, pixelSize }: VlmFolderFiles): number | undefined {
  const patch = processor?.patch_size;
  const extra = processor?.num_additional_image_tokens ?? 0;
  if (!pixelSize || !isCount(patch) || !Number.isInteger(extra) || (extra as number) < 0) return undefined;
  return Math.floor(pixelSize.height / patch) * Math.floor(pixelSize.width / patch) + (extra as number);
}

const modelIs = (config: ModelConfigJson, type: string, architecture: string): boolean =>
  config.model_type === type ||
  (config.model_type === undefined && !!config.architectures?.includes(architecture));
const isGemma3 = (config: ModelConfigJson) => modelIs(config, 'gemma3', 'Gemma3ForConditionalGeneration');
const isPaliGemma = (config: ModelConfigJson) =>
  modelIs(config, 'paligemma', 'PaliGemmaForConditionalGeneration');

/** Gemma3Processor's expansion of boi_token: "\n\n" boi, the image tokens, eoi "\n\n" (tokenizer_config.json's). */
function wrappedImages(
  config: TokenizerConfigJson,
  tokenizer: TextTokenizer,
  imageTokenId: number,
): WrappedImages {
  const named = config as { boi_token?: unknown; eoi_token?: unknown; image_token?: unknown };
  const [boi, eoi, image] = [named.boi_token, named.eoi_token, named.image_token].map(tokenString);
  if (!boi || !eoi || !image)
    throw new WebvlError(
      'INVALID_MODEL',
      'a Gemma3 tokenizer_config.json names boi_token, eoi_token and image_token',
    );
  if (tokenizer.tokenId(image) !== imageTokenId)
    throw new WebvlError(
      'INVALID_MODEL',
      `tokenizer_config.json's image_token '${image}' is not config.json's image_token_index ${imageTokenId}`,
    );
  for (const s of [boi, eoi])
    if (tokenizer.tokenId(s) === undefined)
      throw new WebvlError('INVALID_MODEL', `a Gemma3 tokenizer must hold the token '${s}'`);
  return { marker: boi, before: `\n\n${boi}`, after: `${eoi}\n\n` };
}

/**
 * The language model's sliding window, where a layer has one that is shorter than its positions: Gemma3's (its
 * layer_types name sliding_attention), not Qwen2's (use_sliding_window false).
 */
function slidingWindowOf(t: TextConfigJson, maxPositions: number): { slidingWindow?: number } {
  const window = t.sliding_window;
  if (!isCount(window) || window >= maxPositions || t.use_sliding_window === false) return {};
  if (Array.isArray(t.layer_types) && !t.layer_types.includes('sliding_attention')) return {};
  return { slidingWindow: window };
}
