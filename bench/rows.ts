// The benchmark rows: graphs from e2e/fixtures and models/, with inputs shaped as each model expects.
import { existsSync, readFileSync } from 'node:fs';
import type {
  ArchitectureRowSpec,
  AskRowSpec,
  CaptionRowSpec,
  DecodeRowSpec,
  GenerateRowSpec,
  GraphRowSpec,
  IndexRowSpec,
} from './spec';

interface ModelConfig {
  vocab_size?: number;
  text_config?: { vocab_size?: number };
  vision_config?: { num_image_tokens?: number; hidden_size?: number };
  projection_dim?: number;
}

function readConfig(folder: string): ModelConfig | undefined {
  const path = `models/${folder}/config.json`;
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ModelConfig) : undefined;
}

function textFeeds(batch: number, seq: number, vocab: number): GraphRowSpec['feeds'] {
  return [
    { name: 'input_ids', dtype: 'int64', dims: [batch, seq], low: 5, high: vocab },
    { name: 'attention_mask', dtype: 'int64', dims: [batch, seq], fill: 1 },
  ];
}

export function benchRows(quick: boolean): GraphRowSpec[] {
  const rows: GraphRowSpec[] = [
    {
      id: 'fixture transformer-block (b2×7, d32)',
      model: '/e2e/fixtures/transformer-block/model.onnx',
      feeds: [
        { name: 'x', dtype: 'float32', dims: [2, 7, 32] },
        { name: 'attention_mask', dtype: 'int64', dims: [2, 7], fill: 1 },
      ],
    },
  ];
  const clip = readConfig('clip-tiny');
  if (clip && existsSync('models/clip-tiny/onnx/vision_model.onnx')) {
    const vocab = clip.text_config?.vocab_size ?? clip.vocab_size ?? 64;
    for (const batch of quick ? [1] : [1, 8]) {
      rows.push({
        id: `clip-tiny image encoder b${batch}`,
        model: '/models/clip-tiny/onnx/vision_model.onnx',
        feeds: [{ name: 'pixel_values', dtype: 'float32', dims: [batch, 3, 64, 64] }],
        transformers: { folder: 'clip-tiny', cls: 'CLIPVisionModelWithProjection' },
      });
      if (!quick && existsSync('models/clip-tiny/onnx/vision_model_fp16.onnx')) {
        // The same graph with float16 weights (Cast nodes widen them; our engine keeps them half on the GPU).
        rows.push({
          id: `clip-tiny image encoder b${batch}, fp16 weights`,
          model: '/models/clip-tiny/onnx/vision_model_fp16.onnx',
          feeds: [{ name: 'pixel_values', dtype: 'float32', dims: [batch, 3, 64, 64] }],
        });
      }
      rows.push({
        id: `clip-tiny text encoder b${batch}`,
        model: '/models/clip-tiny/onnx/text_model.onnx',
        feeds: textFeeds(batch, 16, vocab),
        transformers: { folder: 'clip-tiny', cls: 'CLIPTextModelWithProjection' },
      });
    }
  }
  const blip = readConfig('blip-tiny');
  if (blip && existsSync('models/blip-tiny/onnx/itm_model.onnx')) {
    const tokens = blip.vision_config?.num_image_tokens ?? 65;
    const width = blip.vision_config?.hidden_size ?? 128;
    rows.push({
      id: 'blip-tiny ITM, 1 image × 8 texts',
      model: '/models/blip-tiny/onnx/itm_model.onnx',
      feeds: [
        ...textFeeds(8, 16, blip.text_config?.vocab_size ?? blip.vocab_size ?? 28),
        { name: 'encoder_hidden_states', dtype: 'float32', dims: [8, tokens, width] },
      ],
    });
  }
  return rows;
}

export function indexRows(quick: boolean, sizes?: readonly { rows: number; dim: number }[]): IndexRowSpec[] {
  const dim = readConfig('blip-tiny')?.projection_dim ?? readConfig('clip-tiny')?.projection_dim ?? 128;
  const chosen =
    sizes ?? (quick ? [{ rows: 10_000, dim }] : [10_000, 100_000].map((rows) => ({ rows, dim })));
  return chosen.map(({ rows, dim: d }) => ({
    id: `index search ${rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1000}k`} × ${d}, top-10`,
    rows,
    dim: d,
    k: 10,
  }));
}

export function captionRows(quick: boolean): CaptionRowSpec[] {
  // Florence-2's encoder-decoder: the image and task prompt encoded once, then the merged decoder step by step
  // (tests/corpus/florence2-random; full runs only).
  const florence: CaptionRowSpec[] = quick
    ? []
    : [
        {
          id: 'Florence-2 (random weights) <CAPTION>, greedy 16 tokens',
          model: '/corpus/florence2-random/',
          image: '/models/data/eval/00001.png',
          tokens: 16,
        },
      ];
  if (!existsSync('models/blip-tiny/onnx/decoder_with_past_model.onnx')) return florence;
  return [
    ...florence,
    {
      id: 'blip-tiny caption, greedy 16 tokens',
      model: '/models/blip-tiny/',
      image: '/models/data/eval/00001.png',
      tokens: 16,
    },
    {
      id: 'blip-tiny caption, 3 beams, up to 16 tokens',
      model: '/models/blip-tiny/',
      image: '/models/data/eval/00001.png',
      tokens: 16,
      beams: 3,
    },
  ];
}

/** Base-size architectures (bench/models/export_skeletons.py), or the same graphs at a tiny size. */
export type BaseSize = 'base' | 'tiny';

const BASE = {
  base: {
    image: 224,
    vDim: 768,
    tokens: 197,
    vocab: 30524,
    textLen: 35,
    dLayers: 12,
    dHeads: 16,
    dHeadDim: 64,
  },
  tiny: { image: 32, vDim: 64, tokens: 17, vocab: 512, textLen: 12, dLayers: 2, dHeads: 4, dHeadDim: 16 },
} as const;

function skeletonUrl(name: string, size: BaseSize): string {
  return `/bench/models/${name}${size === 'base' ? '' : '-tiny'}.skeleton.onnx`;
}

export function baseRows(size: BaseSize, batches: readonly number[]): GraphRowSpec[] {
  const c = BASE[size];
  const label = size === 'base' ? '' : ' (tiny)';
  return [
    ...batches.map((batch) => ({
      id: `ViT-B/16 image encoder${label} b${batch}`,
      model: skeletonUrl('vit-b16', size),
      skeleton: true,
      feeds: [{ name: 'pixel_values', dtype: 'float32' as const, dims: [batch, 3, c.image, c.image] }],
    })),
    {
      id: `BERT-base ITM${label}, 1 image × 8 texts`,
      model: skeletonUrl('itm-base', size),
      skeleton: true,
      feeds: [
        ...textFeeds(8, c.textLen, c.vocab),
        { name: 'encoder_hidden_states', dtype: 'float32', dims: [8, c.tokens, c.vDim] },
      ],
    },
  ];
}

export function decodeRows(size: BaseSize, tokens: number): DecodeRowSpec[] {
  const c = BASE[size];
  return [
    {
      id: `decoder ${size === 'base' ? '259M fp16 weights' : '(tiny)'}, ${tokens} tokens after 16`,
      model: skeletonUrl('decoder-base', size),
      tokens,
      pastLength: 16,
      layers: c.dLayers,
      heads: c.dHeads,
      headDim: c.dHeadDim,
      encoderTokens: c.tokens,
      encoderDim: c.vDim,
      vocab: c.vocab,
    },
  ];
}

/**
 * Real exporters' tiny graphs (tests/corpus: transformers 5.17 + torch 2.11, onnxruntime's q4 / q8 quantizers,
 * Optimum's merged-decoder layout), one row per dtype, so speed and peak GPU memory compare across dtypes.
 */
export function exportRows(): GraphRowSpec[] {
  const llama = (dtype: string, file: string): GraphRowSpec => ({
    id: `LLaMA-style decoder (tiny HF export), 9 tokens, ${dtype}`,
    model: `/tests/corpus/hf/llama-hf/onnx/${file}`,
    feeds: [
      { name: 'input_ids', dtype: 'int64', dims: [1, 9], low: 3, high: 256 },
      { name: 'attention_mask', dtype: 'int64', dims: [1, 9], fill: 1 },
      { name: 'position_ids', dtype: 'int64', dims: [1, 9], positions: true },
    ],
  });
  const siglip = (dtype: string, file: string): GraphRowSpec => ({
    id: `SigLIP vision tower (tiny HF export) b4, ${dtype}`,
    model: `/tests/corpus/hf/siglip-hf/onnx/${file}`,
    feeds: [{ name: 'pixel_values', dtype: 'float32', dims: [4, 3, 32, 32] }],
  });
  const merged = (step: 'first' | 'cached'): GraphRowSpec => ({
    id: `merged decoder (tiny), ${step} step`,
    model: '/tests/corpus/merged/decoder_model_merged.onnx',
    feeds: [
      { name: 'input_ids', dtype: 'int64', dims: [2, step === 'first' ? 4 : 1], low: 5, high: 64 },
      { name: 'encoder_hidden_states', dtype: 'float32', dims: [2, 5, 24] },
      ...[0, 1].flatMap((l) =>
        ['key', 'value'].map((kv) => ({
          name: `past_key_values.${l}.${kv}`,
          dtype: 'float32' as const,
          dims: [2, 4, step === 'first' ? 0 : 8, 8],
        })),
      ),
      { name: 'use_cache_branch', dtype: 'bool', dims: [1], fill: step === 'first' ? 0 : 1 },
    ],
  });
  // ORT's integer path rounds activations to 8 bits, ours does not (tests/engine/webgpu/real-exports.test.ts).
  const q8 = (row: GraphRowSpec): GraphRowSpec => ({ ...row, tolerance: 3e-2 });
  return [
    llama('fp32', 'model.onnx'),
    llama('q4', 'model_q4.onnx'),
    q8(llama('q8', 'model_quantized.onnx')),
    siglip('fp32', 'vision_model.onnx'),
    q8(siglip('q8', 'vision_model_quantized.onnx')),
    merged('first'),
    merged('cached'),
  ];
}

/**
 * The seeds' five designs at the sizes models/train/taxo.py trains them (bench/models/export_taxo_skeletons.py),
 * untrained: speed does not depend on the weights. Scoring 8 captions against one image: a dual encoder encodes
 * the 8 texts (and the image once); fused encoders and single-stream or fusion-mode models run one forward pass
 * per pair over the image's 65 tokens.
 */
export function taxonomyRows(): GraphRowSpec[] {
  const VOCAB = 160; // models/train/tokv2.py
  const texts = (n: number) => textFeeds(n, 16, VOCAB);
  const tokens = (n: number) => ({ dtype: 'float32' as const, dims: [n, 65, 128] });
  const row = (id: string, graph: string, feeds: GraphRowSpec['feeds']): GraphRowSpec => ({
    id,
    model: `/bench/models/taxo-${graph}.skeleton.onnx`,
    skeleton: true,
    feeds,
  });
  const image = [{ name: 'pixel_values', dtype: 'float32' as const, dims: [1, 3, 64, 64] }];
  return [
    row('taxonomy: CLIP image encoder b1', 'clip-vision', image),
    row('taxonomy: CLIP text encoder, 8 texts', 'clip-text', texts(8)),
    row('taxonomy: BLIP ITM, 1 image × 8 texts', 'blip-itm', [
      ...texts(8),
      { name: 'encoder_hidden_states', ...tokens(8) },
    ]),
    row('taxonomy: ViLT patch embedding b1', 'vilt-vision', image),
    row('taxonomy: ViLT single stream, 1 image × 8 texts', 'vilt-fusion', [
      ...texts(8),
      { name: 'patch_embeds', ...tokens(8) },
    ]),
    row('taxonomy: VLMo image expert b1', 'vlmo-vision', image),
    row('taxonomy: VLMo text expert, 8 texts', 'vlmo-text', texts(8)),
    row('taxonomy: VLMo fusion mode, 1 image × 8 texts', 'vlmo-fusion', [
      ...texts(8),
      { name: 'patch_embeds', ...tokens(8) },
    ]),
    row('taxonomy: CoCa image encoder + attentional pooling b1', 'coca-vision', image),
    row('taxonomy: CoCa decoder, 8-token prompt', 'coca-decoder', [
      { name: 'input_ids', dtype: 'int64', dims: [1, 8], low: 5, high: VOCAB },
      { name: 'encoder_hidden_states', dtype: 'float32', dims: [1, 16, 128] },
    ]),
  ];
}

/**
 * Questions to a generative VLM: llava-tiny and blip2-tiny when models/ has them (32 tokens, so token 32 can be
 * compared with token 2), else the random-weight test folder (quick runs in npm test).
 */
export function askRows(quick: boolean): AskRowSpec[] {
  const tokens = quick ? 4 : 32;
  const trained = ['llava-tiny', 'blip2-tiny'].filter((m) =>
    existsSync(`models/${m}/onnx/decoder_model_merged.onnx`),
  );
  const folders =
    quick || trained.length === 0
      ? [['llava (random weights)', '/corpus/llava-random/']]
      : trained.map((m) => [m, `/models/${m}/`]);
  // Idefics3's tiles: the image upsized and cut into 2 × 2 tiles plus the global one, five vision runs and a
  // prompt of ten pieces (tests/corpus/smolvlm-random).
  if (!quick) folders.push(['SmolVLM (random weights, 2×2 tiles + global)', '/corpus/smolvlm-random/']);
  // Qwen2-VL: the image resized to its own patch grid, one vision run, 3-D positions (tests/corpus/qwen2vl-random).
  if (!quick) folders.push(['Qwen2-VL (random weights, own patch grid)', '/corpus/qwen2vl-random/']);
  // Qwen2.5-VL: window attention in the vision tower, its window order folded from the grid.
  if (!quick) folders.push(['Qwen2.5-VL (random weights, windowed vision)', '/corpus/qwen25vl-random/']);
  // Qwen3-VL: learned position embeddings resampled to the grid in the graph, interleaved M-RoPE.
  if (!quick) folders.push(['Qwen3-VL (random weights, resampled positions)', '/corpus/qwen3vl-random/']);
  // LFM2-VL: the image as one patch grid of its own size; a hybrid decoder with convolution states.
  if (!quick) folders.push(['LFM2-VL (random weights, hybrid decoder)', '/corpus/lfm2vl-random/']);
  // Qwen3.5: a hybrid decoder of Gated DeltaNet layers (LinearAttention, CausalConvWithState) and gated attention.
  if (!quick) folders.push(['Qwen3.5 (random weights, Gated DeltaNet hybrid)', '/corpus/qwen35-random/']);
  // Gemma3: a local layer's sliding window shorter than the prompt, so pasts grow (no fixed-capacity cache).
  if (!quick) folders.push(['Gemma3 (random weights, sliding window)', '/corpus/gemma3-random/']);
  // PaliGemma: no chat template, the image and prompt fed in one step that attends both ways.
  if (!quick) folders.push(['PaliGemma (random weights, prefix LM)', '/corpus/paligemma-random/']);
  return folders.map(([name, model]) => ({
    id: `${name} ask: image + question, then ${tokens} tokens`,
    model,
    question: 'how many objects are there?',
    tokens,
  }));
}

/** The q4 LLaMA-style merged decoder (bench/models/export_skeletons.py llama): prompt, then `tokens` steps. */
export function generateRows(size: BaseSize, tokens: number): GenerateRowSpec[] {
  const base = size === 'base';
  return [
    {
      id: `LLaMA-style decoder ${base ? '~300M, q4' : '(tiny), q4'}: ${base ? 64 : 8} prompt positions, then ${tokens} tokens`,
      model: skeletonUrl('llama-q4', size),
      hidden: base ? 1024 : 64,
      layers: base ? 24 : 2,
      kvHeads: base ? 4 : 2,
      headDim: base ? 64 : 16,
      promptTokens: base ? 64 : 8,
      tokens,
    },
  ];
}

/** The architecture comparison's models (trained on shapes world v2), as the README table lists them. */
const ARCHITECTURES = [
  { name: 'clip-v2', searchMode: 'dual encoder: one text pass + a dot product per image', rerank: false },
  { name: 'blip-v2', searchMode: 'dual encoder, then ITM on the top 16', rerank: true },
  { name: 'vilt-tiny', searchMode: 'single stream: a forward pass per image', rerank: false },
  {
    name: 'vlmo-tiny',
    searchMode: 'experts as a dual encoder, then fusion mode on the top 16',
    rerank: true,
  },
  { name: 'coca-tiny', searchMode: 'dual encoder: one text pass + a dot product per image', rerank: false },
];

/**
 * Search and pair latencies of each trained architecture over `gallery` images of models/data/v2-taxo (a
 * single-stream model over `singleStreamGallery`: it runs a forward pass per image, minutes on a software GPU).
 */
export function architectureRows(gallery: number, singleStreamGallery: number): ArchitectureRowSpec[] {
  const data = 'models/data/v2-taxo';
  if (!existsSync(`${data}/scenes.jsonl`)) return [];
  const files = readFileSync(`${data}/scenes.jsonl`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { file: string }).file);
  return ARCHITECTURES.filter((a) => existsSync(`models/${a.name}/config.json`)).map((a) => {
    const n = Math.min(files.length, a.name.startsWith('vilt') ? singleStreamGallery : gallery);
    return {
      ...a,
      model: `/models/${a.name}/`,
      images: files.slice(0, n).map((f) => `/${data}/${f}`),
      gallery: n,
      query: 'a large red circle left of a small blue square',
    };
  });
}
