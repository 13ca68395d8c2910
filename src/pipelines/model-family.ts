// Model families, told apart by config.json (model_type, else architectures), each with the graphs it
// loads, how image–text logits become scores, and how text is padded:
//   clip    separate towers (onnx/vision_model + onnx/text_model) or the combined onnx/model.onnx
//           (logits_per_image); softmax over cos · exp(logit_scale).
//   siglip  the same graphs; sigmoid of cos · exp(logit_scale) + logit_bias; text padded to max_length
//           (SigLIP pools its last position); embeddings are the towers' pooler_output (attention-pooling head).
//   blip    webvl's BLIP layout (transformers.js has none): vision_model, text_model (ITC), itm_model,
//           decoder_model (+ decoder_with_past_model), per the heads config.json names.
//   llava   transformers.js' LLaVA layout, a generative VLM (also BLIP-2 style, its Q-Former inside the image
//           encoder): vision_encoder (image features in the language model's width), embed_tokens and
//           decoder_model_merged; questions through the folder's chat template. Idefics3 and SmolVLM folders
//           (model_type idefics3, smolvlm) have the same graphs; their processor cuts an image into tiles.
//           Qwen2-VL, Qwen2.5-VL, Qwen3-VL and Qwen3.5 folders (qwen2_vl, qwen2_5_vl, qwen3_vl, qwen3_5) too: an
//           image is its own grid of patches, positions are 3-D (M-RoPE); Qwen3.5's decoder is a hybrid whose
//           linear-attention layers carry a state from step to step (past_conv.N, past_recurrent.N).
//           Gemma3 folders (gemma3) too: the template's <start_of_image> becomes the image's tokens between its
//           start and end tokens. PaliGemma folders (paligemma) have no chat template: the image, then one prompt.
//           FastVLM folders (llava_qwen2) are LLaVA's, their language model's fields at the top of config.json.
//           LFM2-VL folders (lfm2_vl): tiles and a thumbnail of patch grids of their own size (SigLIP2 NaFlex), and a
//           hybrid decoder whose convolution layers carry a state from step to step (past_conv.N).
//   vilt    single stream (ViLT): vision_model embeds the patches (patch_embeds, with position and modality-type
//           embeddings), fusion_model runs the one transformer over [text; patches] → itm_logits, vqa_logits.
//           No embeddings: every image–text pair is a forward pass of fusion_model.
//   vlmo    mixture of modality experts (VLMo): vision_model is the image expert (image_embeds, and the
//           patch_embeds fusion reads), text_model the text expert (text_embeds), fusion_model the fusion mode
//           (itm_logits, vqa_logits); retrieval runs as a dual encoder, ITM and VQA as a fusion encoder.
//   coca    contrastive captioner (CoCa): vision_model gives image_embeds (the contrastive pooler query) and the
//           decoder's pooled image tokens (last_hidden_state) in one pass; text_model the unimodal decoder's
//           embedding; decoder_model (+ decoder_with_past_model) the captioner, fed as BLIP's is.
//   florence2  an encoder-decoder answering task tokens (Florence-2, transformers.js' layout): vision_encoder
//           (image features), embed_tokens, encoder_model over [image features; task prompt] and
//           decoder_model_merged (Optimum's seq2seq merge: self- and cross-attention keys/values per layer).
// VQA answers of vilt/vlmo are config.json's id2label, as transformers' ViltForQuestionAnswering keeps them.
// Our models/clip-tiny and models/blip-tiny are clip and blip folders that carry logit_scale in config.json.
import { WebvlError } from '../errors';

export type ModelFamily = 'clip' | 'siglip' | 'blip' | 'llava' | 'vilt' | 'vlmo' | 'coca' | 'florence2';

const FAMILIES: readonly ModelFamily[] = [
  'clip',
  'siglip',
  'blip',
  'llava',
  'vilt',
  'vlmo',
  'coca',
  'florence2',
];

/** Other model types that are a family's: their folders have the family's graphs. */
const FAMILY_OF_TYPE: Readonly<Record<string, ModelFamily>> = {
  idefics3: 'llava',
  smolvlm: 'llava',
  qwen2_vl: 'llava',
  qwen2_5_vl: 'llava',
  qwen3_vl: 'llava',
  qwen3_5: 'llava',
  lfm2_vl: 'llava',
  gemma3: 'llava',
  paligemma: 'llava',
  llava_qwen2: 'llava',
};

/**
 * What a graph does in a model: towers, the combined CLIP/SigLIP graph, BLIP's heads; a generative VLM's image
 * encoder (with its projector or Q-Former), token embeddings and merged language-model decoder.
 */
export type GraphRole =
  | 'vision'
  | 'text'
  | 'combined'
  | 'itm'
  | 'decoder'
  | 'decoderWithPast'
  | 'visionEncoder'
  | 'embedTokens'
  | 'decoderMerged'
  | 'encoder'
  | 'fusion';

/** Graph roles and their file names (`onnx/<name><dtype suffix>.onnx`). */
export const GRAPH_NAMES: Readonly<Record<GraphRole, string>> = {
  vision: 'vision_model',
  text: 'text_model',
  combined: 'model',
  itm: 'itm_model',
  decoder: 'decoder_model',
  decoderWithPast: 'decoder_with_past_model',
  visionEncoder: 'vision_encoder',
  embedTokens: 'embed_tokens',
  decoderMerged: 'decoder_model_merged',
  encoder: 'encoder_model',
  fusion: 'fusion_model',
};

/** A language model's fields: config.json's text_config, or its top level (Qwen2-VL, FastVLM). */
export interface TextConfigJson {
  bos_token_id?: number;
  eos_token_id?: number;
  sep_token_id?: number;
  pad_token_id?: number;
  max_position_embeddings?: number;
  /** A LLaMA-style language model's shape (LLaVA). */
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  hidden_size?: number;
  head_dim?: number;
  vocab_size?: number;
  /** Qwen2-VL's rotary sections (M-RoPE). */
  rope_scaling?: { type?: string; mrope_section?: unknown };
  /** transformers 5 writes the rotary settings here instead of rope_scaling. */
  rope_parameters?: { mrope_section?: unknown; partial_rotary_factor?: unknown };
  /** The share of each head that rotates (Qwen3.5: 0.25); M-RoPE's sections cover that share. */
  partial_rotary_factor?: unknown;
  /** Local attention (Gemma3, Mistral): positions a windowed layer sees; Qwen2 names one it does not use. */
  sliding_window?: number | null;
  use_sliding_window?: boolean;
  layer_types?: string[];
}

export interface ModelConfigJson extends TextConfigJson {
  model_type?: string;
  architectures?: string[];
  /** Written by webvl's exporters (and our tiny models): the trained temperature, log-space. */
  logit_scale?: number;
  /** SigLIP's trained bias, written by scripts/export_hf.py. */
  logit_bias?: number;
  logit_scale_init_value?: number;
  itm_bos_token_id?: number;
  /** LLaVA: the token whose embeddings the image features replace, and how many of them an image takes. */
  image_token_index?: number;
  image_seq_length?: number;
  /** Idefics3 names its image token so; its connector merges scale_factor² patches into one feature. */
  image_token_id?: number;
  scale_factor?: number;
  /** Gemma3: how many image tokens an image takes. */
  mm_tokens_per_image?: number;
  /** Qwen2-VL: the token before an image's tokens. */
  vision_start_token_id?: number;
  text_config?: TextConfigJson;
  vision_config?: { image_size?: number; patch_size?: number };
  /** VQA classifiers (vilt, vlmo): answer index → answer text. */
  id2label?: Record<string, string>;
  'transformers.js_config'?: { dtype?: unknown; use_external_data_format?: unknown };
}

const FAMILY_OF_ARCHITECTURE: Readonly<Record<string, ModelFamily>> = {
  CLIPModel: 'clip',
  SiglipModel: 'siglip',
  BlipModel: 'blip',
  BlipForImageTextRetrieval: 'blip',
  BlipForConditionalGeneration: 'blip',
  LlavaForConditionalGeneration: 'llava',
  Idefics3ForConditionalGeneration: 'llava',
  SmolVLMForConditionalGeneration: 'llava',
  Qwen2VLForConditionalGeneration: 'llava',
  Qwen2_5_VLForConditionalGeneration: 'llava',
  Qwen3VLForConditionalGeneration: 'llava',
  Qwen3_5ForConditionalGeneration: 'llava',
  Lfm2VlForConditionalGeneration: 'llava',
  Gemma3ForConditionalGeneration: 'llava',
  PaliGemmaForConditionalGeneration: 'llava',
  LlavaQwen2ForCausalLM: 'llava',
  ViltModel: 'vilt',
  ViltForQuestionAnswering: 'vilt',
  ViltForImageAndTextRetrieval: 'vilt',
  VlmoModel: 'vlmo',
  VlmoForQuestionAnswering: 'vlmo',
  CoCaModel: 'coca',
  Florence2ForConditionalGeneration: 'florence2',
};

/** The family a config names; UNSUPPORTED_MODEL naming what it says otherwise. */
export function familyOf(config: ModelConfigJson): ModelFamily {
  const type = config.model_type;
  const named =
    FAMILIES.find((f) => f === type) ??
    (type !== undefined && Object.hasOwn(FAMILY_OF_TYPE, type) ? FAMILY_OF_TYPE[type] : undefined);
  if (named) return named;
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  const known = architectures.find((a) => Object.hasOwn(FAMILY_OF_ARCHITECTURE, a));
  if (type === undefined && known) return FAMILY_OF_ARCHITECTURE[known];
  const says = type !== undefined ? `model_type '${type}'` : 'no model_type';
  const archs = architectures.length ? ` (architectures ${architectures.join(', ')})` : '';
  throw new WebvlError(
    'UNSUPPORTED_MODEL',
    `config.json has ${says}${archs}: webvl runs the ${FAMILIES.slice(0, -1).join(', ')} and ${FAMILIES.at(-1)} families`,
    { modelType: type, architectures },
  );
}

/** The heads a BLIP folder has by its architectures (none named: both, as our blip-tiny). */
export function blipHeads(config: ModelConfigJson): { retrieval: boolean; captioning: boolean } {
  const a = Array.isArray(config.architectures) ? config.architectures : [];
  const retrieval = a.includes('BlipForImageTextRetrieval') || a.includes('BlipModel');
  const captioning = a.includes('BlipForConditionalGeneration');
  return retrieval || captioning ? { retrieval, captioning } : { retrieval: true, captioning: true };
}

/**
 * The heads a ViLT or VLMo folder has by its architectures. A checkpoint fine-tuned for VQA alone names only
 * `*ForQuestionAnswering`, as transformers' ViltForQuestionAnswering releases do: its ITM head (and VLMo's experts'
 * embeddings) no longer match the encoder, so it has no image–text scoring. VlmoModel, or no head named: both.
 */
export function fusionHeads(config: ModelConfigJson): { scoring: boolean; vqa: boolean } {
  const a = Array.isArray(config.architectures) ? config.architectures : [];
  const vqa = a.includes('ViltForQuestionAnswering') || a.includes('VlmoForQuestionAnswering');
  const scoring = a.includes('ViltForImageAndTextRetrieval');
  // VlmoModel (our full VLMo), ViltModel or nothing named: every head.
  return (vqa || scoring) && !a.includes('VlmoModel') ? { scoring, vqa } : { scoring: true, vqa: true };
}

/** How image–text logits are made and turned into scores. */
export interface Scoring {
  readonly kind: 'softmax' | 'sigmoid';
  /** exp(logit_scale). */
  readonly scale: number;
  readonly bias: number;
  /** Where scale and bias came from: config.json, or the model's initial values (no trained ones given). */
  readonly source: 'config' | 'initial values' | 'combined graph';
}

/** Scoring from config.json's trained values, when it carries them (webvl exports, our tiny models). */
export function configScoring(family: ModelFamily, config: ModelConfigJson): Scoring | undefined {
  if (typeof config.logit_scale !== 'number') return undefined;
  if (family !== 'siglip') {
    return { kind: 'softmax', scale: Math.exp(config.logit_scale), bias: 0, source: 'config' };
  }
  if (typeof config.logit_bias !== 'number') return undefined;
  return { kind: 'sigmoid', scale: Math.exp(config.logit_scale), bias: config.logit_bias, source: 'config' };
}

/**
 * The models' initial values, for folders whose trained ones are nowhere to be read (separate towers without
 * a combined graph; BLIP's retrieval head, whose ITC temperature transformers does not keep).
 */
export function initialScoring(family: ModelFamily, config: ModelConfigJson): Scoring {
  if (family === 'siglip') return { kind: 'sigmoid', scale: 10, bias: -10, source: 'initial values' };
  const init = typeof config.logit_scale_init_value === 'number' ? config.logit_scale_init_value : 2.6592;
  return { kind: 'softmax', scale: Math.exp(init), bias: 0, source: 'initial values' };
}

/** The output of a tower that is its embedding. */
export function embeddingOutput(family: ModelFamily, role: 'vision' | 'text'): string {
  if (family === 'siglip') return 'pooler_output';
  return role === 'vision' ? 'image_embeds' : 'text_embeds';
}
