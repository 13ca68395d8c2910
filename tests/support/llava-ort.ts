// A reference run of an exported llava-tiny / blip2-tiny folder (transformers.js' LLaVA layout) with
// onnxruntime-node, step by step as a runtime takes them: vision_encoder → embed_tokens → image features written
// over the <image> embeddings → decoder_model_merged (first step, then cached steps; a later chat turn is prefilled
// on top of the cache). Used by the model's vitest check and by models/train/verify_llava.py (through tsx).
// Graphs that declare float16 inputs and outputs (a float16 export without keep_io_types) are fed float16,
// rounded to nearest even, and read back widened.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { floatsToHalfs, halfsToFloats } from '../../src/engine/half';

interface TextConfig {
  num_hidden_layers: number;
  num_key_value_heads: number;
  head_dim: number;
  eos_token_id: number;
}

export interface LlavaOrt {
  imageTokenId: number;
  eosTokenId: number;
  imageFeatures(pixelValues: Float32Array): Promise<Float32Array>;
  /** Greedy answer to `prompt` (ids) on top of `state` (null: a new conversation). */
  answer(
    prompt: number[],
    features: Float32Array,
    state: ChatState | null,
    maxNew: number,
  ): Promise<{ tokens: number[]; state: ChatState; firstLogits: Float32Array }>;
}

/** The decoder's presents after the tokens fed so far (the last answer token is not fed). */
export interface ChatState {
  past: ort.InferenceSession.OnnxValueMapType;
  total: number;
}

const int64 = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

/** A float output's values as float32, whichever float kind the graph declares. */
const floats = (t: ort.Tensor): Float32Array =>
  t.type === 'float16' ? halfsToFloats(t.data as Uint16Array) : (t.data as Float32Array);

/** Runs `session` with float32 feeds narrowed to float16 where it declares float16 inputs. */
function runAsDeclared(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  const half = new Set(
    session.inputMetadata.filter((m) => m.isTensor && m.type === 'float16').map((m) => m.name),
  );
  const fed = Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => [
      name,
      half.has(name) && t.type === 'float32'
        ? new ort.Tensor('float16', floatsToHalfs(t.data as Float32Array), t.dims)
        : t,
    ]),
  );
  return session.run(fed);
}

/** `suffix`: the dtype's file suffix ('_fp16' reads onnx/vision_encoder_fp16.onnx, …). */
export async function loadLlavaOrt(dir: string, suffix = ''): Promise<LlavaOrt> {
  const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
  const text = config.text_config as TextConfig;
  const imageTokenId = config.image_token_index as number;
  const open = (name: string) => ort.InferenceSession.create(`${dir}/onnx/${name}${suffix}.onnx`);
  const [vision, embed, decoder] = await Promise.all([
    open('vision_encoder'),
    open('embed_tokens'),
    open('decoder_model_merged'),
  ]);

  async function embedWithImage(ids: number[], features: Float32Array): Promise<ort.Tensor> {
    const { inputs_embeds: e } = await runAsDeclared(embed, { input_ids: int64(ids, [1, ids.length]) });
    const D = e.dims[2];
    const out = Float32Array.from(floats(e));
    let k = 0;
    ids.forEach((id, t) => {
      if (id !== imageTokenId) return;
      out.set(features.subarray(k * D, (k + 1) * D), t * D);
      k++;
    });
    return new ort.Tensor('float32', out, e.dims);
  }

  async function step(embeds: ort.Tensor, total: number, past: ChatState['past'] | null) {
    const L = embeds.dims[1];
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: embeds,
      attention_mask: int64(new Array(total).fill(1), [1, total]),
      position_ids: int64(
        Array.from({ length: L }, (_, i) => total - L + i),
        [1, L],
      ),
      use_cache_branch: new ort.Tensor('bool', [past !== null], [1]),
    };
    for (let i = 0; i < text.num_hidden_layers; i++)
      for (const kv of ['key', 'value'])
        feeds[`past_key_values.${i}.${kv}`] =
          (past?.[`present.${i}.${kv}`] as ort.Tensor | undefined) ??
          new ort.Tensor('float32', new Float32Array(0), [1, text.num_key_value_heads, 0, text.head_dim]);
    return runAsDeclared(decoder, feeds);
  }

  function argmaxLast(logits: ort.Tensor): number {
    const [, L, V] = logits.dims;
    const row = floats(logits).subarray((L - 1) * V, L * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
    return best;
  }

  return {
    imageTokenId,
    eosTokenId: text.eos_token_id,
    async imageFeatures(pixelValues) {
      const side = Math.sqrt(pixelValues.length / 3);
      const px = new ort.Tensor('float32', pixelValues, [1, 3, side, side]);
      const { image_features } = await runAsDeclared(vision, { pixel_values: px });
      return floats(image_features);
    },
    async answer(prompt, features, state, maxNew) {
      let total = (state?.total ?? 0) + prompt.length;
      let out = await step(await embedWithImage(prompt, features), total, state?.past ?? null);
      const firstLogits = Float32Array.from(floats(out.logits as ort.Tensor));
      const tokens: number[] = [];
      for (let i = 0; i < maxNew; i++) {
        const next = argmaxLast(out.logits as ort.Tensor);
        tokens.push(next);
        if (next === text.eos_token_id) break;
        total += 1;
        out = await step(await embedWithImage([next], features), total, out);
      }
      return { tokens, state: { past: out, total }, firstLogits };
    },
  };
}

/**
 * Square RGB bytes (HWC) at the model's input size → pixel_values [1,3,side,side] as preprocessor_config.json
 * says: x/255, then mean and std (llava-tiny's 0.5 and 0.25 by default).
 */
export function pixelValues(rgb: ArrayLike<number>, mean = 0.5, std = 0.25): Float32Array {
  const pixels = rgb.length / 3;
  const out = new Float32Array(3 * pixels);
  for (let p = 0; p < pixels; p++)
    for (let c = 0; c < 3; c++) out[c * pixels + p] = (rgb[p * 3 + c] / 255 - mean) / std;
  return out;
}
