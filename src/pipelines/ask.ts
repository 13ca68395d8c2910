// Asking about an image with a generative VLM (the llava family, LLaVA-, BLIP-2- or Idefics3/SmolVLM-style): the
// chat template renders the conversation, the image encoder's features take the place of the image tokens, and
// the decoder answers token by token. The prompt's pieces (text before the image, the image features, the text
// after) are joined where they live, buffer copies on our engine's device, into one prefill run; so the image
// features go from the image encoder to the decoder with no read-back. An Idefics3 image is several runs of image
// tokens, one per tile, each after the tokens that name its place; each tile is encoded alone, so each run's
// features are a tensor of their own. A Qwen2-VL image is resized to a patch grid of its own (its run is as long
// as the grid has image tokens), and its positions are 3-D: the image's tokens take their row and column
// (M-RoPE). A Gemma3 image's tokens sit between its start and end tokens. A PaliGemma prompt is the image's
// tokens, <bos>, one prompt and a line break, all fed in one step (its first step attends both ways). An LFM2-VL
// image is one run per tile and one for its thumbnail (or one run), each piece a patch grid of its own size. A
// conversation keeps its cache: the next chat turn about the same image feeds only what the previous turns did
// not (the image is encoded once; PaliGemma's prompts start over on the same image features, and so does a
// hybrid decoder's chat whose new prompt does not go on from everything fed: its states cannot be cut back).
import type { Session } from '../engine/backend';
import { type HostTensor, hostTensor, joinSequence, type Tensor, toHost } from '../engine/tensor';
import { WebvlError } from '../errors';
import { MAX_CHAT_IMAGES } from '../limits';
import { imagePatches, patchGrid, patchTokens } from '../vision/image-patches';
import { type TilePlan, tileCount, tileGeometry, tileImage } from '../vision/image-tiles';
import { type Lfm2TilePlan, lfm2Geometry, lfm2Pieces, lfm2PieceTokens } from '../vision/lfm2-tiles';
import type { RgbaImage } from '../vision/preprocess';
import { disposeTensor, embedTokens, preprocess, withDims } from './encode';
import { type DecoderHandle, DecoderState, type PositionMap } from './generate/decoder-state';
import { GREEDY, type Sampling } from './generate/sampling';
import type { LoadedModel } from './loaded-model';
import { nextTask } from './next-task';
import type { Stopwatch } from './timings';
import {
  type Lfm2Images,
  type PatchedImages,
  parsedTemplate,
  type TiledImages,
  type VlmSpec,
} from './vlm-spec';

/** One message of a conversation about an image. */
export interface ChatMessage {
  /**
   * Who said it: the user's questions, the model's answers (as it gave them), or (first, at most once) the system's
   * instructions, for models whose chat template has a system role.
   */
  readonly role: 'system' | 'user' | 'assistant';
  /** The text. */
  readonly content: string;
}

/** One generated token, as `onToken` hears it. */
export interface AnswerToken {
  /** The token generated at this step. */
  readonly tokenId: number;
  /** The answer so far. */
  readonly text: string;
  /** 0-based. */
  readonly step: number;
}

export interface AskOptions {
  /** Most tokens to generate (default: what the context leaves, at most 64). */
  readonly maxTokens?: number;
  /** Default greedy. */
  readonly sampling?: Sampling;
  /**
   * transformers' repetition penalty over the prompt's and the answer's tokens (1: none); default the folder's
   * generation_config.json repetition_penalty (spec.repetitionPenalty). The caller checks its range.
   */
  readonly repetitionPenalty?: number;
  /** Awaited per token; returning true stops the answer with ABORTED. */
  readonly onToken?: (t: AnswerToken) => undefined | boolean | Promise<undefined | boolean>;
  readonly signal?: AbortSignal;
  /**
   * Benchmarks only: go on past the end token for the full maxTokens (feeding it like any token), so every
   * engine times the same number of steps.
   */
  readonly ignoreEos?: boolean;
  /**
   * Idefics3: false encodes the image as its global tile alone, whatever the folder says (the warm-up: every tile
   * has the same shape). Default true: tiles as the processor cuts them.
   */
  readonly splitTiles?: boolean;
  /** Qwen2-VL: the most pixels the image is resized to (default, and at most: the processor's max_pixels). */
  readonly maxPixels?: number;
}

/** An answer, and how much of the prompt the conversation's cache already held. */
export interface AnswerResult {
  /** The answer. */
  readonly text: string;
  /** Its token ids, without the end token. */
  readonly tokenIds: number[];
  /** 'eos': the model ended the answer; 'length': maxTokens, or the context, ran out first. */
  readonly stop: 'eos' | 'length';
  /** Positions of the prompt, the image's included. */
  readonly promptTokens: number;
  /** Of those, how many an earlier turn had fed already (its KV cache was reused). */
  readonly reusedTokens: number;
  /** Whether the KV cache stayed on the GPU at a fixed capacity (one plan for every step). */
  readonly cacheOnDevice: boolean;
  /**
   * A VQA classifier's (ViLT, VLMo) best answers with their probabilities (softmax over every answer it knows),
   * best first, as many as `options.topAnswers` (default 5); `text` is the first. Absent for generative models.
   */
  readonly answers?: readonly { readonly answer: string; readonly probability: number }[];
}

/** Default answer length when the call gives none. */
const DEFAULT_MAX_TOKENS = 64;

/**
 * What a conversation has fed its decoder: token ids, and the image as one marker per position, -1 − k for the
 * k-th run of image tokens (an Idefics3 tile; LLaVA's image is run 0).
 */
const runMarker = (run: number) => -1 - run;
const runOf = (position: number) => -1 - position;
const isImage = (position: number) => position < 0;

/** The sessions and settings of a loaded llava-family model. */
export interface Vlm {
  readonly spec: VlmSpec;
  readonly visionEncoder: Session;
  readonly embedTokens: Session;
  readonly decoder: DecoderHandle;
}

export function vlmOf(model: LoadedModel): Vlm {
  if (!model.vlm) {
    throw new WebvlError(
      'UNSUPPORTED_TASK',
      `${model.url} is a ${model.kind} model: it cannot answer questions (load a ViLT, VLMo or llava-family model)`,
      { family: model.kind, task: 'ask' },
    );
  }
  return model.vlm;
}

/**
 * A conversation about its images (one, or several in order): their features on the device and its decoder state,
 * kept between turns.
 */
export class Conversation {
  /** Token ids fed so far (run markers where the images' features went). */
  fed: number[] = [];
  /** Positions of each run of image tokens, in prompt order. */
  readonly runLengths: readonly number[];

  constructor(
    readonly imageKey: string,
    /** One tensor per run of image tokens, in prompt order. */
    readonly features: readonly Tensor[],
    public state: DecoderState,
    /** Each image's layout, in order. */
    readonly layouts: readonly ImageLayout[],
  ) {
    this.runLengths = runLengthsOf(layouts);
  }

  /** Starts over on the same image features (a new conversation, or a decoder that cannot rewind). */
  restart(state: DecoderState): void {
    this.state.release();
    this.state = state;
    this.fed = [];
  }

  release(): void {
    this.state.release();
    for (const f of this.features) disposeTensor(f);
  }
}

/** A cheap identity for an image (its size and an FNV-1a hash of its pixels): same key, same features. */
export function imageKey(image: RgbaImage): string {
  let h = 0x811c9dc5;
  const d = image.data;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i], 0x01000193);
  return `${image.width}x${image.height}:${(h >>> 0).toString(16)}`;
}

/**
 * Whether a chat template reads each message's content as a list of parts ({type: 'image'}, {type: 'text',
 * text}), as llava-hf's and SmolVLM's do, rather than as a string. A template that tests `is string` takes
 * strings too, and gets them (its other branches may print a message's content whole, as our tiny models' do).
 */
export function takesContentParts(template: string): boolean {
  if (/\bis\s+string\b/.test(template)) return false;
  return /for\s+\w+\s+in\s+(message|m|msg)(\[\s*['"]content['"]\s*\]|\.content)|content['"]?\]?\s*\[\s*0\s*\]/.test(
    template,
  );
}

/**
 * Whether a chat template can write a system message: it names the role, or writes each message's role as it is
 * (SmolVLM's `message['role'] | capitalize`). Others would write it as another's (LLaVA-1.5's as the assistant's).
 */
export function hasSystemRole(template: string): boolean {
  return /['"]system['"]/.test(template) || /\{\{[^}]*\b\w+(\[\s*['"]role['"]\s*\]|\.role\b)/.test(template);
}

/** What a generative VLM's conversations may hold, from its chat template and prompt format. */
export interface ChatCapabilities {
  /** Whether a conversation may open with a system message. */
  readonly systemMessage: boolean;
  /** Whether a conversation may hold earlier turns (PaliGemma answers one prompt). */
  readonly turns: boolean;
  /** How many images a conversation may hold: 1 where the chat template writes one image. */
  readonly maxImages: number;
}

/**
 * The conversations `vlm` takes. The image count is found by rendering a two-image question as a request would:
 * a template that writes one image refuses it (any typed refusal of the probe counts as one image: info() must
 * not fail where a one-image request would not).
 */
export function chatCapabilities(model: LoadedModel, vlm: Vlm): ChatCapabilities {
  const { spec } = vlm;
  let maxImages = MAX_CHAT_IMAGES;
  try {
    const probe = imageLayout(spec, { height: 64, width: 64 });
    promptPositions(model, spec, [{ role: 'user', content: 'a' }], [probe, probe]);
  } catch (e) {
    if (!(e instanceof WebvlError)) throw e;
    maxImages = 1;
  }
  return {
    systemMessage: !spec.prefixLm && hasSystemRole(spec.chatTemplate),
    turns: !spec.prefixLm,
    maxImages,
  };
}

/**
 * The conversation as the chat template writes it; the images are the first user message's first parts. A template
 * that refuses the conversation (raise_exception: roles that do not alternate, say) is INVALID_INPUT, with its
 * words.
 */
export function renderChat(
  spec: VlmSpec,
  messages: readonly ChatMessage[],
  images = 1,
  /** Whether the template opens the assistant's answer (as it does for a question). */
  generationPrompt = true,
): string {
  const template = spec.chatTemplate;
  if (messages.some((m) => m.role === 'system') && !hasSystemRole(template))
    throw new WebvlError(
      'INVALID_INPUT',
      "this model's chat template has no system role: leave the system message out",
      {
        field: 'messages',
      },
    );
  const parts = takesContentParts(template);
  // A template that takes both forms gets the image's message as parts where only its parts branch writes the
  // image (Qwen2-VL's `content['type']`, Qwen3-VL's `content.type`), the other messages as strings.
  const imageParts =
    !parts &&
    /\bis\s+string\b/.test(template) &&
    /(\[\s*['"]type['"]\s*\]|\.type)\s*==\s*['"]image['"]/.test(template);
  const firstUser = messages.findIndex((m) => m.role === 'user');
  try {
    return parsedTemplate(template).render({
      messages: messages.map((m, i) => ({
        role: m.role,
        content:
          parts || (imageParts && i === firstUser)
            ? [
                ...(i === firstUser ? new Array(images).fill({ type: 'image' }) : []),
                { type: 'text', text: m.content },
              ]
            : m.content,
      })),
      bos_token: spec.bosToken,
      eos_token: spec.eosToken,
      add_generation_prompt: generationPrompt,
    });
  } catch (e) {
    throw new WebvlError(
      'INVALID_INPUT',
      `the model's chat template refused the conversation: ${(e as Error).message}`,
    );
  }
}

/** How an image's tiles are laid out: rows × cols tiles and the global one, or one image (0 × 0). */
export interface TileGrid {
  readonly rows: number;
  readonly cols: number;
}

/** How one image enters the prompt: runs of image tokens, each as long (or as runTokens says). */
export interface ImageLayout {
  /** Idefics3's and LFM2-VL's tile grid (0 × 0: one image). */
  readonly grid: TileGrid;
  readonly runs: number;
  readonly tokensPerRun: number;
  /** LFM2-VL: each run's length (its tiles', then its thumbnail's). */
  readonly runTokens?: readonly number[];
  /** Qwen2-VL: the image's tokens as rows × columns (patches merged), which its 3-D positions follow. */
  readonly tokenGrid?: readonly [number, number];
}

/** The positions of each run of image tokens of images laid out as `layouts`, in prompt order. */
export function runLengthsOf(layouts: readonly ImageLayout[]): number[] {
  return layouts.flatMap((l) => l.runTokens ?? new Array<number>(l.runs).fill(l.tokensPerRun));
}

/** The layout of an Idefics3 image cut into `grid`'s tiles (0 × 0: the global image alone). */
export function tiledLayout(spec: VlmSpec, grid: TileGrid): ImageLayout {
  return { grid, runs: tileCount(grid), tokensPerRun: spec.imageTokens };
}

/** How an image of this size enters the prompt of `spec`'s model. */
export function imageLayout(
  spec: VlmSpec,
  { height, width }: { readonly height: number; readonly width: number },
  split = true,
): ImageLayout {
  if (spec.tiles) return tiledLayout(spec, tileGeometry(tilesFor(spec.tiles, split), height, width));
  if (spec.lfm2) {
    const plan = lfm2PlanFor(spec.lfm2, split);
    const { rows, cols, pieces } = lfm2Geometry(plan, height, width);
    const runTokens = pieces.map((piece) => lfm2PieceTokens(plan, piece));
    return { grid: { rows, cols }, runs: pieces.length, tokensPerRun: runTokens[0], runTokens };
  }
  const single = { rows: 0, cols: 0 };
  if (!spec.patches) return { grid: single, runs: 1, tokensPerRun: spec.imageTokens };
  const { plan } = spec.patches;
  const grid = patchGrid(plan, height, width);
  return {
    grid: single,
    runs: 1,
    tokensPerRun: patchTokens(plan, grid),
    tokenGrid: [grid[1] / plan.merge, grid[2] / plan.merge],
  };
}

/** Where an image's tokens start in the prompt, and their rows × columns. */
export interface ImageSpan {
  readonly start: number;
  readonly grid: readonly [number, number];
}

/**
 * Qwen2-VL's 3-D positions (transformers' get_rope_index) for a prompt whose images' tokens lie at `images` (in
 * order): text counts on from the last position, plus one (0, 1, … at first); an image's tokens share one temporal
 * position, the next, and take it plus their row and it plus their column; text after an image goes on from the
 * largest of those, plus one.
 */
export function mropePositions(images: readonly ImageSpan[]): PositionMap {
  // Text at index i is at i + shift: the shift before each image, and after the last.
  const spans: (ImageSpan & { readonly base: number; readonly shiftAfter: number })[] = [];
  let shift = 0;
  for (const image of images) {
    const [rows, cols] = image.grid;
    const base = image.start + shift;
    shift = base + Math.max(rows, cols) - (image.start + rows * cols);
    spans.push({ ...image, base, shiftAfter: shift });
  }
  return (i: number) => {
    let before = 0;
    for (const { start, grid, base, shiftAfter } of spans) {
      if (i < start) break;
      const k = i - start;
      if (k < grid[0] * grid[1]) return [base, base + Math.floor(k / grid[1]), base + (k % grid[1])];
      before = shiftAfter;
    }
    return [i + before, i + before, i + before];
  };
}

/**
 * Idefics3Processor's expansion of the image: a run of image tokens per tile, after <row_r_col_c>, a line per
 * row, then the global image's run after <global-img>; an image that is not split is that last run alone.
 */
export function tiledImagePrompt(
  tiles: TiledImages,
  { rows, cols }: TileGrid,
  tokensPerTile: number,
): string {
  const run = tiles.imageText.repeat(tokensPerTile);
  const global = `${tiles.fakeToken}${tiles.globalToken}${run}${tiles.fakeToken}`;
  if (rows === 0 && cols === 0) return global;
  let text = '';
  for (let r = 1; r <= rows; r++) {
    for (let c = 1; c <= cols; c++) text += `${tiles.fakeToken}<row_${r}_col_${c}>${run}`;
    text += '\n';
  }
  return `${text}\n${global}`;
}

/**
 * Lfm2VlProcessor's expansion of the image: its start token; a tiled image's runs (row by row), each after an
 * <|img_row_r_col_c|> label, then the thumbnail's run after its token; or the one image's run; its end token.
 * transformers' resize_and_split keeps the grid's width as its "rows", so the labels count r up to the number of
 * columns and c up to the number of rows (a 3-wide, 1-high image is r1c1, r2c1, r3c1); the model was trained so.
 */
export function lfm2ImagePrompt(lfm2: Lfm2Images, layout: ImageLayout): string {
  const runs = runLengthsOf([layout]);
  const run = (k: number) => lfm2.imageText.repeat(runs[k]);
  const { rows, cols } = layout.grid;
  if (rows === 0) return `${lfm2.start}${run(0)}${lfm2.end}`;
  let text = lfm2.start;
  for (let r = 0; r < cols; r++)
    for (let c = 0; c < rows; c++) text += `<|img_row_${r + 1}_col_${c + 1}|>${run(r * rows + c)}`;
  if (runs.length > rows * cols) text += `${lfm2.thumbnail}${run(rows * cols)}`;
  return text + lfm2.end;
}

function imagesError(found: number, images: number): WebvlError {
  return new WebvlError(
    'INVALID_INPUT',
    `the chat template put ${found} image${found === 1 ? '' : 's'} in the prompt where the conversation has ${images}`,
  );
}

/**
 * The conversation about images laid out as `layouts` (one per image, in order) rendered by the chat template and
 * tokenized, each run of image tokens marked by its index. A LLaVA image is one run (the template's image token,
 * or a run of them, expanded to imageTokens positions); an Idefics3 image is expanded as its processor does, to
 * one run of imageTokens per tile; a Qwen2-VL image to one run as long as its grid has image tokens.
 */
export function promptPositions(
  model: LoadedModel,
  spec: VlmSpec,
  messages: readonly ChatMessage[],
  layouts: readonly ImageLayout[] = [{ grid: { rows: 0, cols: 0 }, runs: 1, tokensPerRun: spec.imageTokens }],
  /** false: the conversation so far, without the opening of the assistant's answer. */
  generationPrompt = true,
): number[] {
  const lengths = runLengthsOf(layouts);
  if (spec.prefixLm)
    return [
      ...lengths.flatMap((n, run) => new Array<number>(n).fill(runMarker(run))),
      ...model.tokenizer.promptIds(paliGemmaPrompt(spec, messages)),
    ];
  let text = renderChat(spec, messages, layouts.length, generationPrompt);
  const imageToken = model.tokenizer.tokenOf(spec.imageTokenId) ?? '';
  const { tiles, wrapped, lfm2 } = spec;
  const written = tiles
    ? tiles.imageText
    : lfm2
      ? lfm2.imageText
      : spec.patches
        ? imageToken
        : wrapped?.marker;
  // A template that writes no image (FastVLM's is Qwen2's) gets the image token and a line break before the first
  // user message's text, as LLaVA's conversations put it.
  if (written === undefined && imageToken && !text.includes(imageToken))
    text = renderChat(
      spec,
      withImageTokens(messages, imageToken.concat('\n').repeat(layouts.length)),
      layouts.length,
      generationPrompt,
    );
  if (written !== undefined) {
    const pieces = text.split(written);
    if (!written || !imageToken || pieces.length !== layouts.length + 1)
      throw imagesError(pieces.length - 1, layouts.length);
    // Each image the template writes becomes its runs, as its processor expands it.
    const expand = (layout: ImageLayout) =>
      tiles
        ? tiledImagePrompt(tiles, layout.grid, layout.tokensPerRun)
        : lfm2
          ? lfm2ImagePrompt(lfm2, layout)
          : `${wrapped?.before ?? ''}${imageToken.repeat(layout.tokensPerRun)}${wrapped?.after ?? ''}`;
    text = pieces.map((piece, k) => (k === 0 ? piece : expand(layouts[k - 1]) + piece)).join('');
  }
  const ids = model.tokenizer.promptIds(text);
  const out: number[] = [];
  let run = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== spec.imageTokenId) {
      out.push(ids[i]);
      continue;
    }
    let end = i + 1;
    while (ids[end] === spec.imageTokenId) end++;
    const length = lengths[run] ?? spec.imageTokens;
    // LLaVA: a run of image tokens (one, or already expanded by the template) is where an image goes. Idefics3,
    // Qwen2-VL and Gemma3: the expansion wrote each run at its full length.
    if (written !== undefined && end - i !== length)
      throw new WebvlError('INVALID_MODEL', `a run of ${end - i} image tokens where an image has ${length}`);
    out.push(...new Array<number>(length).fill(runMarker(run)));
    run++;
    i = end - 1;
  }
  // LLaVA's images are a run each: the runs are the images the template wrote.
  if (run !== lengths.length) throw imagesError(run, layouts.length);
  return out;
}

/** `messages` with `prefix` before the first user message's text. */
function withImageTokens(messages: readonly ChatMessage[], prefix: string): ChatMessage[] {
  const first = messages.findIndex((m) => m.role === 'user');
  return messages.map((m, i) => (i === first ? { ...m, content: prefix + m.content } : m));
}

/**
 * PaliGemmaProcessor's text after the images' tokens: <bos>, the prompt, a line break. PaliGemma answers one
 * prompt (it has no chat template): a conversation of one user message.
 */
function paliGemmaPrompt(spec: VlmSpec, messages: readonly ChatMessage[]): string {
  if (messages.length !== 1 || messages[0].role !== 'user')
    throw new WebvlError(
      'INVALID_INPUT',
      `a PaliGemma model answers one prompt (it has no chat template): ask, or chat with one user message, not ${messages.length} messages`,
      { field: 'messages' },
    );
  return `${spec.bosToken}${messages[0].content}\n`;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new WebvlError('ABORTED', 'the answer was cancelled');
}

const embed = (vlm: Vlm, ids: readonly number[]): Promise<Tensor> =>
  embedTokens(vlm.embedTokens, hostTensor('int64', [1, ids.length], ids));

/**
 * Feeds positions [from, end) of `positions`; returns the token the decoder chose after the last. The pieces (text
 * embedded, runs of image features) are joined into one sequence where the backend can (the host's tensors, our
 * engine's device tensors): one prefill run, however many tiles. Elsewhere they are fed one after another.
 */
async function feedPositions(
  vlm: Vlm,
  conv: Conversation,
  positions: readonly number[],
  from: number,
  /** false: no token is wanted after the last position (a first part of the prompt). */
  pick = true,
): Promise<number> {
  const pieces: { tensor: Tensor; embedded: boolean; end: number }[] = [];
  try {
    for (let at = from; at < positions.length; ) {
      if (isImage(positions[at])) {
        const run = runOf(positions[at]);
        const tensor = conv.features[run];
        at += conv.runLengths[run];
        pieces.push({ tensor, embedded: false, end: at });
      } else {
        let end = at;
        while (end < positions.length && !isImage(positions[end])) end++;
        pieces.push({ tensor: await embed(vlm, positions.slice(at, end)), embedded: true, end });
        at = end;
      }
    }
    let joined = pieces.length > 1 ? joinSequence(pieces.map((p) => p.tensor)) : undefined;
    // A prefix LM's prompt attends both ways only within one step: pieces that do not join where they live are
    // joined on the host.
    if (!joined && pieces.length > 1 && vlm.spec.prefixLm) {
      joined = joinSequence(await Promise.all(pieces.map((p) => toHost(p.tensor))));
      if (!joined)
        throw new WebvlError('INVALID_MODEL', "the image features and the prompt's embeddings do not join");
    }
    let token = -1;
    if (joined) {
      try {
        token = await conv.state.feed(joined, pick);
      } finally {
        disposeTensor(joined);
      }
      conv.fed = positions.slice();
      return token;
    }
    for (const [i, p] of pieces.entries()) {
      token = await conv.state.feed(p.tensor, pick && i === pieces.length - 1);
      conv.fed = positions.slice(0, p.end);
    }
    return token;
  } finally {
    for (const p of pieces) if (p.embedded) disposeTensor(p.tensor);
  }
}

/**
 * One run of the vision encoder: its image_features, checked to be one run of `tokens` image tokens ([1, tokens,
 * hidden]; Qwen2-VL's [tokens, hidden] is taken as that).
 */
async function visionFeatures(
  vlm: Vlm,
  feeds: Record<string, Tensor>,
  tokens: number,
  watch: Stopwatch,
): Promise<Tensor> {
  const out = await watch.time('vision', () => vlm.visionEncoder.run(feeds));
  for (const [k, t] of Object.entries(out)) if (k !== 'image_features') disposeTensor(t);
  const features = out.image_features;
  const dims = features?.dims ?? [];
  const flat = dims.length === 2 && dims[0] === tokens;
  if (!flat && (dims.length !== 3 || dims[0] !== 1 || dims[1] !== tokens)) {
    disposeTensor(features);
    throw new WebvlError(
      'INVALID_MODEL',
      `vision_encoder gave image_features [${dims}], expected [1, ${tokens}, hidden]`,
    );
  }
  return flat ? withDims(features, [1, ...dims]) : features;
}

/** The image's features, one tensor per run of image tokens (LLaVA: one; Idefics3: one per tile, in order). */
export async function encodeImageFeatures(
  model: LoadedModel,
  vlm: Vlm,
  image: RgbaImage,
  watch: Stopwatch,
  split = true,
): Promise<Tensor[]> {
  const { tiles, patches, lfm2 } = vlm.spec;
  if (tiles) return encodeTiles(vlm, tiles, image, watch, split);
  if (lfm2) return encodeLfm2Pieces(vlm, lfm2, image, watch, split);
  if (patches) return [await encodePatches(vlm, patches, image, watch)];
  const pixels = await watch.time('preprocess', () => preprocess(model, [image]));
  try {
    return [await visionFeatures(vlm, { pixel_values: pixels }, vlm.spec.imageTokens, watch)];
  } finally {
    disposeTensor(pixels);
  }
}

/** Qwen2-VL: the image's patches and their grid, one vision encoder run. */
async function encodePatches(
  vlm: Vlm,
  patches: PatchedImages,
  image: RgbaImage,
  watch: Stopwatch,
): Promise<Tensor> {
  const { pixels, grid } = await watch.time('preprocess', async () => imagePatches(image, patches.plan));
  const rows = grid[0] * grid[1] * grid[2];
  return visionFeatures(
    vlm,
    {
      pixel_values: hostTensor('float32', [rows, pixels.length / rows], pixels),
      [patches.gridInput]: hostTensor('int64', [1, 3], grid),
    },
    patchTokens(patches.plan, grid),
    watch,
  );
}

/**
 * Idefics3: the tiles, each encoded alone (a batch of one image, its pixel mask all kept), so each run's features
 * are a tensor of their own, fed where its run goes. The vision encoder sees each image alone either way.
 */
async function encodeTiles(
  vlm: Vlm,
  tiles: TiledImages,
  image: RgbaImage,
  watch: Stopwatch,
  split: boolean,
): Promise<Tensor[]> {
  const tiled = await watch.time('preprocess', async () => tileImage(image, tilesFor(tiles, split)));
  const t = tiled.edge;
  const lead = tiles.pixelRank === 5 ? [1, 1] : [1];
  const mask: HostTensor | undefined = vlm.visionEncoder.inputNames.includes('pixel_attention_mask')
    ? hostTensor('bool', [...lead, t, t], new Uint8Array(t * t).fill(1))
    : undefined;
  const features: Tensor[] = [];
  try {
    for (let k = 0; k < tiled.count; k++) {
      const tile = await watch.time('preprocess', async () => tiled.tile(k));
      const pixels = hostTensor('float32', [...lead, 3, t, t], tile);
      features.push(
        await visionFeatures(
          vlm,
          { pixel_values: pixels, ...(mask ? { pixel_attention_mask: mask } : {}) },
          vlm.spec.imageTokens,
          watch,
        ),
      );
    }
  } catch (e) {
    for (const f of features) disposeTensor(f);
    throw e;
  }
  return features;
}

/**
 * LFM2-VL: each piece (tile, thumbnail, or the one image) encoded alone, its patches as they are (no padding: the
 * mask keeps them all) with its patch grid, so each run's features are a tensor of their own.
 */
async function encodeLfm2Pieces(
  vlm: Vlm,
  lfm2: Lfm2Images,
  image: RgbaImage,
  watch: Stopwatch,
  split: boolean,
): Promise<Tensor[]> {
  const plan = lfm2PlanFor(lfm2, split);
  const { geometry, piece } = await watch.time('preprocess', async () => lfm2Pieces(image, plan));
  const inputs = vlm.visionEncoder.inputNames;
  const features: Tensor[] = [];
  try {
    for (let k = 0; k < geometry.pieces.length; k++) {
      const { patches, rows, cols } = await watch.time('preprocess', async () => piece(k));
      const n = rows * cols;
      const feeds: Record<string, Tensor> = {
        pixel_values: hostTensor('float32', [1, n, patches.length / n], patches),
      };
      if (inputs.includes('pixel_attention_mask'))
        feeds.pixel_attention_mask = hostTensor('int64', [1, n], new BigInt64Array(n).fill(1n));
      if (inputs.includes('spatial_shapes')) feeds.spatial_shapes = hostTensor('int64', [1, 2], [rows, cols]);
      features.push(await visionFeatures(vlm, feeds, lfm2PieceTokens(plan, geometry.pieces[k]), watch));
    }
  } catch (e) {
    for (const f of features) disposeTensor(f);
    throw e;
  }
  return features;
}

/** LFM2-VL's tiling, or (split false: the warm-up's) the one smart-resized image whatever the folder says. */
function lfm2PlanFor(lfm2: Lfm2Images, split: boolean): Lfm2TilePlan {
  return split ? lfm2.plan : { ...lfm2.plan, split: false };
}

/** The folder's tiling, or (split false: the warm-up's) one tile-sized image whatever the folder says. */
function tilesFor(tiles: TiledImages, split: boolean): TilePlan {
  return split ? tiles.plan : { ...tiles.plan, split: false };
}

/** The model with its images' pixels bounded by `maxPixels` (Qwen2-VL; within the processor's own bounds). */
function withMaxPixels(vlm: Vlm, maxPixels: number | undefined): Vlm {
  const patches = vlm.spec.patches;
  if (maxPixels === undefined) return vlm;
  if (
    !patches ||
    !Number.isInteger(maxPixels) ||
    maxPixels < patches.plan.minPixels ||
    maxPixels > patches.plan.maxPixels
  )
    throw new WebvlError('INVALID_INPUT', `maxPixels ${maxPixels} does not apply to this model's images`, {
      field: 'options.maxPixels',
    });
  const plan = { ...patches.plan, maxPixels };
  return { ...vlm, spec: { ...vlm.spec, patches: { ...patches, plan } } };
}

/** Where each image's tokens start in `positions` (Qwen2-VL's images: one run each), with their grids. */
function imageSpans(positions: readonly number[], layouts: readonly ImageLayout[]): ImageSpan[] {
  return layouts.map((layout, k) => {
    const start = positions.indexOf(runMarker(k));
    if (!layout.tokenGrid || start < 0) throw imagesError(0, layouts.length);
    return { start, grid: layout.tokenGrid };
  });
}

/** The token ids of a prompt as the model's processor gives them: each image position is the image token. */
function promptTokenIds(positions: readonly number[], imageTokenId: number): number[] {
  return positions.map((p) => (isImage(p) ? imageTokenId : p));
}

/**
 * Where the conversation so far ends in `positions` (the prompt without the opening of the answer), if it is a
 * place to split the prompt's feed at: past `from`, before the end, outside any image run.
 */
function historyEnd(
  model: LoadedModel,
  spec: VlmSpec,
  messages: readonly ChatMessage[],
  layouts: readonly ImageLayout[],
  positions: readonly number[],
  from: number,
): number | undefined {
  if (spec.prefixLm) return undefined;
  const history = promptPositions(model, spec, messages, layouts, false);
  const end = history.length;
  const splits = end > from && end < positions.length && outsideRuns(positions, end) === end;
  return splits && commonPrefix(history, positions) === end ? end : undefined;
}

/** The first position at or before `at` that does not split a run of image tokens. */
function outsideRuns(positions: readonly number[], at: number): number {
  let n = at;
  while (n > 0 && n < positions.length && isImage(positions[n]) && positions[n - 1] === positions[n]) n--;
  return n;
}

/**
 * Answers the last user message of `messages` about `images` (one, or several: all parts of the first user
 * message, in order), reusing `previous` (the last conversation) when it is about the same images and its fed
 * tokens begin the new prompt. Returns the answer and the conversation to keep (the caller releases the one it
 * replaces).
 */
export async function answer(
  model: LoadedModel,
  images: RgbaImage | readonly RgbaImage[],
  messages: readonly ChatMessage[],
  previous: Conversation | undefined,
  options: AskOptions,
  watch: Stopwatch,
): Promise<{ result: AnswerResult; conversation: Conversation }> {
  const split = options.splitTiles ?? true;
  const vlm = withMaxPixels(vlmOf(model), options.maxPixels);
  const { spec } = vlm;
  const list: readonly RgbaImage[] = Array.isArray(images) ? images : [images as RgbaImage];
  if (list.length < 1 || list.length > MAX_CHAT_IMAGES)
    throw new WebvlError(
      'INVALID_INPUT',
      `a conversation is about 1 to ${MAX_CHAT_IMAGES} images, not ${list.length}`,
      {
        field: 'images',
      },
    );
  const layouts = list.map((image) => imageLayout(spec, image, split));
  const positions = promptPositions(model, spec, messages, layouts);
  if (positions.length + 1 > spec.maxPositions) {
    const [code, what] =
      messages.length > 1
        ? (['CONTEXT_FULL', 'the conversation'] as const)
        : (['TEXT_TOO_LONG', 'the question and the image'] as const);
    throw new WebvlError(
      code,
      `${what} take ${positions.length} positions; the model has ${spec.maxPositions}`,
      {
        tokens: positions.length,
        maxPositions: spec.maxPositions,
      },
    );
  }
  const room = spec.maxPositions - positions.length;
  const maxTokens = Math.min(options.maxTokens ?? DEFAULT_MAX_TOKENS, room);
  // The same images at other pixel bounds are other features.
  const key = `${list.map(imageKey).join(';')}|${vlm.spec.patches?.plan.maxPixels ?? ''}`;

  // Reuse the previous turns' cache as far as the new prompt begins with what they fed: never a part of the
  // image, and never everything (the last position must be fed to get a token out).
  let conv = previous?.imageKey === key ? previous : undefined;
  let reused =
    conv && !spec.prefixLm
      ? outsideRuns(positions, Math.min(commonPrefix(conv.fed, positions), positions.length - 1))
      : 0;
  // A hybrid decoder's recurrent state goes back only to its checkpoint (or goes on from all it was fed).
  if (conv?.state.recurrent && reused < conv.state.length) {
    const at = conv.state.checkpointLength;
    reused = at !== undefined && at <= reused ? at : 0;
  }
  let fresh: Conversation | undefined;
  if (conv) {
    try {
      conv.state.rewind(reused);
    } catch {
      reused = 0; // a decoder that keeps no cache it can rewind starts over, on the same image features
    }
    if (reused === 0)
      conv.restart(new DecoderState(vlm.decoder, options.sampling ?? GREEDY, spec.maxPositions));
  } else {
    const features: Tensor[] = [];
    try {
      for (const image of list)
        features.push(...(await encodeImageFeatures(model, vlm, image, watch, split)));
    } catch (e) {
      for (const f of features) disposeTensor(f);
      throw e;
    }
    fresh = new Conversation(
      key,
      features,
      new DecoderState(vlm.decoder, options.sampling ?? GREEDY, spec.maxPositions),
      layouts,
    );
    conv = fresh;
  }
  const c = conv;
  c.state.setSampling(options.sampling ?? GREEDY);
  c.state.setRepetitionPenalty(
    options.repetitionPenalty ?? spec.repetitionPenalty,
    promptTokenIds(positions, spec.imageTokenId),
  );
  if (spec.mropeSection) c.state.setPositionMap(mropePositions(imageSpans(positions, layouts)));
  const tokens: number[] = [];
  let stop: AnswerResult['stop'] = 'length';
  try {
    checkAbort(options.signal);
    const checkpoint = c.state.recurrent
      ? historyEnd(model, spec, messages, layouts, positions, reused)
      : undefined;
    let token = await watch.time('prefill', async () => {
      // A hybrid decoder keeps its states where the conversation so far ends, which the next turn's prompt
      // begins with even where the template writes this answer otherwise than it was generated (Qwen3.5 drops
      // the empty think block): two runs instead of one, so that the next turn need not feed the image again.
      if (checkpoint !== undefined) {
        await feedPositions(vlm, c, positions.slice(0, checkpoint), reused, false);
        c.state.markCheckpoint();
      }
      return feedPositions(vlm, c, positions, checkpoint ?? reused);
    });
    for (let step = 0; ; step++) {
      if (spec.eosTokenIds.includes(token) && !options.ignoreEos) {
        stop = 'eos';
        break;
      }
      tokens.push(token);
      const halt = await options.onToken?.({ tokenId: token, text: model.tokenizer.decode(tokens), step });
      if (halt === true) throw new WebvlError('ABORTED', 'the answer was cancelled');
      if (tokens.length >= maxTokens) break;
      await nextTask();
      checkAbort(options.signal);
      const embeds = await embed(vlm, [token]);
      try {
        token = await watch.time('decode', () => c.state.feed(embeds));
      } finally {
        disposeTensor(embeds);
      }
      c.fed.push(tokens[tokens.length - 1]);
    }
  } catch (e) {
    fresh?.release(); // a failed first turn about an image leaves nothing worth keeping
    throw e;
  }
  return {
    conversation: c,
    result: {
      text: model.tokenizer.decode(tokens),
      tokenIds: tokens,
      stop,
      promptTokens: positions.length,
      reusedTokens: reused,
      cacheOnDevice: c.state.cacheOnDevice,
    },
  };
}
