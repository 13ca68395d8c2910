// Every graph of the Hugging Face corpus (tests/corpus/hf) run by onnxruntime's CPU provider on the seeded inputs
// of its folder's reference.json, against the PyTorch outputs stored there: transformers' own exports (*-hf, from
// the GPU machine) and scripts/export_hf.py's (*-export, from our modules). The runtime tests then compare the
// public API with PyTorch; this one pins the graphs themselves, and that the KV-cache decoder pair equals the
// full-sequence decoder.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

const CORPUS = 'tests/corpus/hf';
type Ref = { dims: number[]; data: number[] };
type Reference = { inputs: Record<string, Ref>; outputs: Record<string, Ref> };

const reference = (folder: string): Reference =>
  JSON.parse(readFileSync(`${CORPUS}/${folder}/reference.json`, 'utf8'));

const int64 = (r: Ref, dims = r.dims) => new ort.Tensor('int64', BigInt64Array.from(r.data, BigInt), dims);
const float32 = (r: Ref) => new ort.Tensor('float32', Float32Array.from(r.data), r.dims);

async function session(folder: string, graph: string) {
  return ort.InferenceSession.create(`${CORPUS}/${folder}/onnx/${graph}.onnx`, {
    executionProviders: ['cpu'],
  });
}

/** max |got − want| over max |want|, on the rows given (all by default). */
function relDiff(got: ArrayLike<number>, want: ArrayLike<number>, rowLength = want.length, rows?: number[]) {
  const picks = rows ?? Array.from({ length: want.length / rowLength }, (_, i) => i);
  let diff = 0;
  let scale = 0;
  for (const r of picks) {
    for (let j = r * rowLength; j < (r + 1) * rowLength; j++) {
      diff = Math.max(diff, Math.abs(got[j] - want[j]));
      scale = Math.max(scale, Math.abs(want[j]));
    }
  }
  return diff / scale;
}

function unitRows(data: ArrayLike<number>, dim: number): Float32Array {
  const out = Float32Array.from(data);
  for (let r = 0; r < out.length / dim; r++) {
    const n = Math.hypot(...out.subarray(r * dim, (r + 1) * dim));
    for (let j = r * dim; j < (r + 1) * dim; j++) out[j] /= n;
  }
  return out;
}

const TOL = 1e-4;

describe.each([
  ['siglip-hf', 'siglip'],
  ['siglip-export', 'siglip'],
  ['clip-export', 'clip'],
] as const)('%s: graphs = PyTorch (%s)', (folder, family) => {
  const ref = reference(folder);
  const o = ref.outputs;
  const dim = o.text_embeds.dims[1];
  // CLIP's reference pads row 1 (attention_mask 0 at the end); its text tower, exported as Optimum does, takes
  // no mask, so only the unpadded row compares there.
  const maskedRows = ref.inputs.attention_mask ? [0] : undefined;

  it('model.onnx: logits_per_image, text_embeds, image_embeds', async () => {
    const s = await session(folder, 'model');
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(ref.inputs.input_ids),
      pixel_values: float32(ref.inputs.pixel_values),
    };
    if (s.inputNames.includes('attention_mask')) feeds.attention_mask = int64(ref.inputs.attention_mask);
    const out = await s.run(feeds);
    for (const name of ['logits_per_image', 'text_embeds', 'image_embeds']) {
      expect(relDiff(out[name].data as Float32Array, o[name].data), name).toBeLessThan(TOL);
    }
  });

  it('towers: vision_model and text_model give the combined graph’s embeddings', async () => {
    const vision = await (await session(folder, 'vision_model')).run({
      pixel_values: float32(ref.inputs.pixel_values),
    });
    const text = await (await session(folder, 'text_model')).run({ input_ids: int64(ref.inputs.input_ids) });
    const embed = family === 'siglip' ? 'pooler_output' : ['image_embeds', 'text_embeds'];
    const image = vision[typeof embed === 'string' ? embed : embed[0]].data as Float32Array;
    const txt = text[typeof embed === 'string' ? embed : embed[1]].data as Float32Array;
    expect(relDiff(unitRows(image, dim), o.image_embeds.data)).toBeLessThan(TOL);
    expect(relDiff(unitRows(txt, dim), o.text_embeds.data, dim, maskedRows)).toBeLessThan(TOL);
  });
});

describe.each(['blip-hf', 'blip-export'])('%s: graphs = PyTorch (blip)', (folder) => {
  const ref = reference(folder);
  const i = ref.inputs;
  const o = ref.outputs;

  it('vision_model, text_model, itm_model, decoder_model', async () => {
    const vision = await (await session(folder, 'vision_model')).run({
      pixel_values: float32(i.pixel_values),
    });
    expect(relDiff(vision.image_embeds.data as Float32Array, o.image_embeds.data)).toBeLessThan(TOL);
    const text = await (await session(folder, 'text_model')).run({
      input_ids: int64(i.input_ids),
      attention_mask: int64(i.attention_mask),
    });
    expect(relDiff(text.text_embeds.data as Float32Array, o.text_embeds.data)).toBeLessThan(TOL);
    const itm = await (await session(folder, 'itm_model')).run({
      input_ids: int64(i.input_ids),
      attention_mask: int64(i.attention_mask),
      encoder_hidden_states: vision.last_hidden_state,
    });
    expect(relDiff(itm.itm_logits.data as Float32Array, o.itm_logits.data)).toBeLessThan(TOL);
    const dec = await (await session(folder, 'decoder_model')).run({
      input_ids: int64(i.decoder_input_ids),
      attention_mask: int64(i.attention_mask),
      encoder_hidden_states: vision.last_hidden_state,
    });
    expect(relDiff(dec.logits.data as Float32Array, o.logits.data)).toBeLessThan(TOL);
  });

  if (folder === 'blip-export') {
    it('decoder_with_past_model, fed the cache token by token, gives the full decoder’s logits', async () => {
      const vision = await (await session(folder, 'vision_model')).run({
        pixel_values: float32(i.pixel_values),
      });
      const first = await session(folder, 'decoder_model');
      const step = await session(folder, 'decoder_with_past_model');
      const [batch, seq] = i.decoder_input_ids.dims;
      const vocab = o.logits.dims[2];
      const ids = (from: number, to: number) => {
        const data: number[] = [];
        for (let b = 0; b < batch; b++)
          data.push(...i.decoder_input_ids.data.slice(b * seq + from, b * seq + to));
        return new ort.Tensor('int64', BigInt64Array.from(data, BigInt), [batch, to - from]);
      };
      const mask = (len: number) => {
        const data: number[] = [];
        for (let b = 0; b < batch; b++) data.push(...i.attention_mask.data.slice(b * seq, b * seq + len));
        return new ort.Tensor('int64', BigInt64Array.from(data, BigInt), [batch, len]);
      };
      const states = vision.last_hidden_state;
      let out = await first.run({
        input_ids: ids(0, 3),
        attention_mask: mask(3),
        encoder_hidden_states: states,
      });
      const got = new Float32Array(batch * seq * vocab);
      const keep = (logits: ort.Tensor, at: number, len: number) => {
        const d = logits.data as Float32Array;
        for (let b = 0; b < batch; b++)
          got.set(d.subarray(b * len * vocab, (b + 1) * len * vocab), (b * seq + at) * vocab);
      };
      keep(out.logits, 0, 3);
      for (let t = 3; t < seq; t++) {
        const feeds: Record<string, ort.Tensor> = {
          input_ids: ids(t, t + 1),
          attention_mask: mask(t + 1),
          encoder_hidden_states: states,
        };
        for (const name of step.inputNames.filter((n) => n.startsWith('past_key_values.'))) {
          feeds[name] = out[name.replace('past_key_values.', 'present.')];
        }
        out = await step.run(feeds);
        keep(out.logits, t, 1);
      }
      expect(relDiff(got, o.logits.data)).toBeLessThan(TOL);
    });
  }
});
