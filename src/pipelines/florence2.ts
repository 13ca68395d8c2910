// Florence-2 (transformers.js' layout: vision_encoder, embed_tokens, encoder_model, decoder_model_merged), an
// encoder-decoder that answers task tokens. A task ('<CAPTION>', '<OCR>', …) becomes its prompt
// (preprocessor_config.json's task_prompts_without_inputs); the encoder reads [image features; prompt
// embeddings], and the merged decoder generates from decoder_start_token_id under generation_config.json's rules,
// as transformers' generate applies them: the first token forced to forced_bos_token_id, the last allowed one to
// forced_eos_token_id, and no n-gram of no_repeat_ngram_size repeated. Tasks with an input (phrase grounding:
// task_prompts_with_input) put it in their prompt. Answers are read as transformers.js' Florence2Processor reads
// them (florence2-answer.ts): text, or regions for the tasks answered with boxes (<OD>, grounding) or quads
// (<OCR_WITH_REGION>); segmentation's polygons as transformers' post-processor reads them.
import type { Session } from '../engine/backend';
import { hostTensor, joinSequence, type Tensor, toHostFloats } from '../engine/tensor';
import { WebvlError } from '../errors';
import type { RgbaImage } from '../vision/preprocess';
import {
  CAPTION_CACHE_BLOCK,
  type CaptionDecoder,
  type CaptionOptions,
  type CaptionResult,
  type CaptionSource,
  decodeBeam,
  decodeGreedy,
} from './caption';
import { disposeTensor, embedTokens, preprocess } from './encode';
import { ANSWER_KINDS, type AnswerKind, answerRegions, answerText } from './florence2-answer';
import { type DecoderHandle, DecoderState, type KvShape } from './generate/decoder-state';
import { GREEDY } from './generate/sampling';
import type { LoadedModel } from './loaded-model';
import type { ModelConfigJson } from './model-family';
import type { Stopwatch } from './timings';

/** Most positions a decoder config may declare (as BLIP's max_length is bounded). */
const MAX_DECODER_POSITIONS = 100_000;

/** The task a Florence-2 caption runs when none is asked for. */
export const DEFAULT_FLORENCE_TASK = '<CAPTION>';

export interface Florence2Spec {
  /** Tasks without an input, each with the prompt the encoder reads. */
  readonly prompts: ReadonlyMap<string, string>;
  /** Tasks that take an input, each with its prompt template ('{input}' is where the input goes). */
  readonly inputPrompts: ReadonlyMap<string, string>;
  /** Every task the processor names, with its answer's post-processing type ('pure_text' when unnamed). */
  readonly answerTypes: ReadonlyMap<string, string>;
  readonly decoderStartTokenId: number;
  readonly eosTokenId: number;
  readonly forcedBosTokenId?: number;
  readonly forcedEosTokenId?: number;
  /** 0: no rule. */
  readonly noRepeatNgramSize: number;
  /** generation_config's max_length: the decoder's sequence, its start token included. */
  readonly maxLength: number;
  /** Positions of the decoder. */
  readonly maxPositions: number;
  readonly kv: KvShape;
}

export interface Florence2 {
  readonly spec: Florence2Spec;
  readonly visionEncoder: Session;
  readonly embedTokens: Session;
  readonly encoder: Session;
  /** The merged decoder, with a KV cache on its device when its backend keeps one (ours). */
  readonly decoder: DecoderHandle;
}

export interface Florence2ProcessorJson {
  tasks_answer_post_processing_type?: Record<string, unknown>;
  task_prompts_without_inputs?: Record<string, unknown>;
  task_prompts_with_input?: Record<string, unknown>;
}

export interface Florence2GenerationJson {
  decoder_start_token_id?: unknown;
  eos_token_id?: unknown;
  forced_bos_token_id?: unknown;
  forced_eos_token_id?: unknown;
  no_repeat_ngram_size?: unknown;
  max_length?: unknown;
}

const isId = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;

function invalid(why: string): never {
  throw new WebvlError('INVALID_MODEL', `a Florence-2 folder needs ${why}`);
}

/** An optional id: absent or null is none, anything else must be an id. */
function optionalId(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  return isId(v) ? v : invalid(`generation_config.json's ${name} to be a token id`);
}

export function florence2Spec(
  config: ModelConfigJson,
  processor: Florence2ProcessorJson,
  generation: Florence2GenerationJson,
  kv: KvShape | undefined,
): Florence2Spec {
  const text = config.text_config ?? {};
  const types = new Map<string, string>();
  for (const [task, type] of Object.entries(processor.tasks_answer_post_processing_type ?? {}))
    if (typeof type === 'string') types.set(task, type);
  const promptsOf = (field: 'task_prompts_without_inputs' | 'task_prompts_with_input') => {
    const listed = processor[field] ?? {};
    if (typeof listed !== 'object') invalid(`preprocessor_config.json's ${field} to be an object`);
    const prompts = new Map<string, string>();
    for (const [task, prompt] of Object.entries(listed)) {
      if (typeof prompt !== 'string') invalid(`a prompt string for task ${task}`);
      prompts.set(task, prompt);
      // transformers.js' default type is pure_text.
      if (!types.has(task)) types.set(task, 'pure_text');
    }
    return prompts;
  };
  if (!processor.task_prompts_without_inputs)
    invalid("preprocessor_config.json's task_prompts_without_inputs (the task prompts)");
  const prompts = promptsOf('task_prompts_without_inputs');
  const inputPrompts = promptsOf('task_prompts_with_input');
  const start = generation.decoder_start_token_id ?? text.eos_token_id;
  const eos = Array.isArray(generation.eos_token_id)
    ? generation.eos_token_id[0]
    : (generation.eos_token_id ?? text.eos_token_id);
  if (!isId(start) || !isId(eos)) invalid('a decoder_start_token_id and an eos_token_id');
  const ngram = generation.no_repeat_ngram_size ?? 0;
  if (!isId(ngram)) invalid("generation_config.json's no_repeat_ngram_size to be a count");
  // transformers' GenerationConfig default, as for BLIP; the same bounds as BLIP's.
  const maxLength = generation.max_length ?? 20;
  const within = (n: unknown): n is number => isId(n) && n >= 2 && n <= MAX_DECODER_POSITIONS;
  if (!within(maxLength))
    invalid(`generation_config.json's max_length to be from 2 to ${MAX_DECODER_POSITIONS}`);
  const positions = text.max_position_embeddings ?? 1024;
  if (!within(positions))
    invalid(`text_config's max_position_embeddings to be from 2 to ${MAX_DECODER_POSITIONS}`);
  if (!kv) invalid('decoder_model_merged to declare its past keys/values as [batch, heads, positions, size]');
  return {
    prompts,
    inputPrompts,
    answerTypes: types,
    decoderStartTokenId: start,
    eosTokenId: eos,
    forcedBosTokenId: optionalId(generation.forced_bos_token_id, 'forced_bos_token_id'),
    forcedEosTokenId: optionalId(generation.forced_eos_token_id, 'forced_eos_token_id'),
    noRepeatNgramSize: ngram,
    maxLength,
    maxPositions: positions,
    kv,
  };
}

/** The tasks whose answers webvl reads, in the processor's order (without inputs first). */
export function servedTasks(spec: Florence2Spec): string[] {
  return [...spec.prompts.keys(), ...spec.inputPrompts.keys()].filter((t) =>
    ANSWER_KINDS.includes(spec.answerTypes.get(t) ?? ''),
  );
}

function badTask(spec: Florence2Spec, field: string, why: string): never {
  throw new WebvlError('INVALID_INPUT', `${why}; tasks served: ${servedTasks(spec).join(', ')}`, { field });
}

/** What a task asks: the encoder's prompt, and how its answer is read. */
export interface TaskPlan {
  readonly prompt: string;
  readonly answer: AnswerKind;
}

/**
 * A task's prompt, built as transformers.js' construct_prompts builds it, and how its answer is read. INVALID_INPUT
 * for a task the processor does not name, one whose answer type webvl does not read, an input given to a task
 * without one or missing from a task with one.
 */
export function taskPlan(spec: Florence2Spec, task: string, input?: string): TaskPlan {
  const type = spec.answerTypes.get(task);
  const fixed = spec.prompts.get(task);
  const template = spec.inputPrompts.get(task);
  if (type === undefined || (fixed === undefined && template === undefined))
    badTask(spec, 'options.task', `options.task '${task}' is not a task of this model`);
  if (!ANSWER_KINDS.includes(type))
    badTask(spec, 'options.task', `options.task '${task}' answers with ${type}, which webvl does not read`);
  const answer = type as AnswerKind;
  if (fixed !== undefined) {
    if (input !== undefined) badTask(spec, 'options.taskInput', `options.task '${task}' takes no input`);
    return { prompt: fixed, answer };
  }
  if (input === undefined)
    badTask(spec, 'options.taskInput', `options.task '${task}' needs options.taskInput`);
  // transformers.js is given the task and its input as one text, which the template takes whole, less the task.
  return { prompt: (template as string).replaceAll('{input}', task + input).replaceAll(task, ''), answer };
}

/** Sets every log-probability to −∞ but `token`'s, which becomes 0 (transformers' forced-token processors). */
function force(logProbs: Float64Array, token: number): void {
  logProbs.fill(Number.NEGATIVE_INFINITY);
  logProbs[token] = 0;
}

/**
 * Bans each token that would repeat an n-gram of `sequence` (transformers' NoRepeatNGramLogitsProcessor): the
 * tokens that followed an earlier occurrence of the sequence's last n − 1 tokens.
 */
export function banRepeatedNgrams(logProbs: Float64Array, sequence: readonly number[], n: number): void {
  if (n < 1 || sequence.length + 1 < n) return;
  const tail = sequence.length - (n - 1);
  for (let i = 0; i + n <= sequence.length; i++) {
    let same = true;
    for (let k = 0; k < n - 1 && same; k++) same = sequence[i + k] === sequence[tail + k];
    if (same) logProbs[sequence[i + n - 1]] = Number.NEGATIVE_INFINITY;
  }
}

/** Tokens a caption may choose by default: max_length counts the decoder's start token. */
export function defaultFlorenceTokens(spec: Florence2Spec): number {
  return spec.maxLength - 1;
}

/** The encoder's input: the image features, then the prompt's embeddings (joined where they live). */
async function encoderInput(features: Tensor, prompt: Tensor): Promise<Tensor> {
  const joined = joinSequence([features, prompt]);
  if (joined) return joined;
  // Device tensors that cannot be joined in place (onnxruntime-web's): joined on the host.
  const host = joinSequence([await toHostFloats(features), await toHostFloats(prompt)]);
  if (!host)
    throw new WebvlError(
      'INVALID_MODEL',
      "vision_encoder's image_features and embed_tokens' embeddings differ in width",
    );
  return host;
}

/** The encoder's states for an image and a prompt, and their attention mask (every position kept). */
async function encode(
  model: LoadedModel,
  f: Florence2,
  image: RgbaImage,
  promptIds: readonly number[],
  watch: Stopwatch,
): Promise<{ states: Tensor; mask: Tensor }> {
  const pixels = await watch.time('preprocess', () => preprocess(model, [image]));
  let features: Tensor | undefined;
  let prompt: Tensor | undefined;
  let input: Tensor | undefined;
  try {
    const out = await watch.time('vision', () => f.visionEncoder.run({ pixel_values: pixels }));
    for (const [k, t] of Object.entries(out)) if (k !== 'image_features') disposeTensor(t);
    features = out.image_features;
    if (features?.dims.length !== 3 || features.dims[0] !== 1)
      throw new WebvlError('INVALID_MODEL', `vision_encoder gave image_features [${features?.dims}]`);
    // The encoder has a position per image feature and prompt token; a longer input would read past its table.
    const positions = features.dims[1] + promptIds.length;
    if (positions > f.spec.maxPositions)
      throw new WebvlError(
        'TEXT_TOO_LONG',
        `the task's prompt (${promptIds.length} tokens) and the image's ${features.dims[1]} features exceed the encoder's ${f.spec.maxPositions} positions`,
        { tokens: positions, maxLength: f.spec.maxPositions },
      );
    prompt = await embedTokens(f.embedTokens, hostTensor('int64', [1, promptIds.length], promptIds));
    input = await encoderInput(features, prompt);
    const n = input.dims[1];
    const mask = hostTensor('int64', [1, n], new BigInt64Array(n).fill(1n));
    const feeds: Record<string, Tensor> = {};
    for (const name of f.encoder.inputNames) {
      if (name === 'inputs_embeds') feeds[name] = input;
      else if (name === 'attention_mask') feeds[name] = mask;
      else
        throw new WebvlError(
          'INVALID_MODEL',
          `encoder_model has an input we do not know how to feed: '${name}'`,
        );
    }
    const encoded = await watch.time('encoder', () => f.encoder.run(feeds));
    for (const [k, t] of Object.entries(encoded)) if (k !== 'last_hidden_state') disposeTensor(t);
    if (!encoded.last_hidden_state)
      throw new WebvlError('INVALID_MODEL', 'encoder_model has no last_hidden_state');
    return { states: encoded.last_hidden_state, mask };
  } finally {
    disposeTensor(pixels);
    disposeTensor(features);
    disposeTensor(prompt);
    disposeTensor(input);
  }
}

/** The merged decoder over a batch of rows, fed token ids embedded by embed_tokens. */
function florenceDecoder(f: Florence2, states: Tensor, mask: Tensor): CaptionDecoder {
  // Captions' blocks: short answers attend over few free slots, and still plan once per block.
  const state = new DecoderState(f.decoder, GREEDY, f.spec.maxPositions, CAPTION_CACHE_BLOCK, {
    encoder_hidden_states: states,
    encoder_attention_mask: mask,
  });
  return {
    async next(rows) {
      const embeds = await embedTokens(
        f.embedTokens,
        hostTensor('int64', [rows.length, rows[0].length], rows.flat()),
      );
      try {
        return await state.logitsAfter(embeds);
      } finally {
        disposeTensor(embeds);
      }
    },
    reorder: (rows) => state.reorder(rows),
    onDevice: () => state.pastOnDevice,
    release: () => state.release(),
  };
}

export interface FlorenceCaptionOptions extends CaptionOptions {
  /** A task token of the model (default '<CAPTION>'). */
  task?: string;
  /** The input of a task that takes one (the phrases to ground). */
  taskInput?: string;
}

/** A caption (or another text task's answer) of a Florence-2 model: greedy, or beam search with numBeams > 1. */
export async function captionFlorence(
  model: LoadedModel,
  f: Florence2,
  image: RgbaImage,
  options: FlorenceCaptionOptions,
  watch: Stopwatch,
): Promise<CaptionResult> {
  const { spec } = f;
  const plan = taskPlan(spec, options.task ?? DEFAULT_FLORENCE_TASK, options.taskInput);
  const promptIds = model.tokenizer.encode(plan.prompt, true);
  // Location tokens are special tokens: the text keeps them, as transformers.js decodes Florence-2's answers.
  const text = (ids: readonly number[]) => answerText(model.tokenizer.decode(ids, false));
  const start = [spec.decoderStartTokenId];
  // The last token chosen is never fed back: a start of one leaves every position.
  const maxTokens = Math.min(options.maxTokens ?? defaultFlorenceTokens(spec), spec.maxPositions);
  const { states, mask } = await encode(model, f, image, promptIds, watch);
  try {
    const source: CaptionSource = {
      start,
      eosTokenId: spec.eosTokenId,
      maxTokens,
      decoder: florenceDecoder(f, states, mask),
      text,
      constrain(logProbs, ids, step) {
        banRepeatedNgrams(logProbs, [...start, ...ids], spec.noRepeatNgramSize);
        if (step === 0 && spec.forcedBosTokenId !== undefined) force(logProbs, spec.forcedBosTokenId);
        if (step === maxTokens - 1 && spec.forcedEosTokenId !== undefined)
          force(logProbs, spec.forcedEosTokenId);
      },
    };
    const result =
      (options.numBeams ?? 1) > 1
        ? await decodeBeam(source, options, watch)
        : await decodeGreedy(source, options, watch);
    if (plan.answer === 'pure_text') return result;
    return { ...result, regions: answerRegions(result.text, plan.answer, image.width, image.height) };
  } finally {
    disposeTensor(states);
  }
}
