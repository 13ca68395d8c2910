// The benchmark rows: graphs from e2e/fixtures and models/, with inputs shaped as each model expects.
import { existsSync, readFileSync } from 'node:fs';
import type { CaptionRowSpec, GraphRowSpec, IndexRowSpec } from './spec';

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

export function indexRows(quick: boolean): IndexRowSpec[] {
  const dim = readConfig('blip-tiny')?.projection_dim ?? readConfig('clip-tiny')?.projection_dim ?? 128;
  const sizes = quick ? [10_000] : [10_000, 100_000];
  return sizes.map((rows) => ({ id: `index search ${rows / 1000}k × ${dim}, top-10`, rows, dim, k: 10 }));
}

export function captionRows(): CaptionRowSpec[] {
  if (!existsSync('models/blip-tiny/onnx/decoder_with_past_model.onnx')) return [];
  return [
    {
      id: 'blip-tiny caption, greedy 16 tokens',
      model: '/models/blip-tiny/',
      image: '/models/data/eval/00001.png',
      tokens: 16,
    },
  ];
}
