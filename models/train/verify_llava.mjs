// Runs an exported llava-tiny / blip2-tiny folder with onnxruntime-node the way a runtime does (vision_encoder ->
// embed_tokens -> image features written over the <image> embeddings -> decoder_model_merged: first step, then
// cached steps) and compares the greedy tokens and a few raw outputs with torch's, from cases verify_llava.py wrote.
// usage: node models/train/verify_llava.mjs MODEL_DIR CASES.json   -> JSON report on stdout
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const dir = process.argv[2];
const spec = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
const text = config.text_config;
const layers = text.num_hidden_layers;
const kvHeads = text.num_key_value_heads;
const headDim = text.head_dim;
const session = (name) => ort.InferenceSession.create(`${dir}/onnx/${name}.onnx`);
const [vision, embed, decoder] = await Promise.all([
  session('vision_encoder'),
  session('embed_tokens'),
  session('decoder_model_merged'),
]);

const ids64 = (ids) => new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
const maxErr = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

async function embedWithImage(ids, features) {
  const { inputs_embeds: e } = await embed.run({ input_ids: ids64(ids) });
  const D = e.dims[2];
  const out = Float32Array.from(e.data);
  let k = 0;
  ids.forEach((id, t) => {
    if (id === config.image_token_index) out.set(features.subarray(k * D, ++k * D), t * D);
  });
  return new ort.Tensor('float32', out, e.dims);
}

// One decoder call; past = presents of the previous call or null (first step).
async function step(embeds, total, past) {
  const L = embeds.dims[1];
  const feeds = {
    inputs_embeds: embeds,
    attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: L }, (_, i) => BigInt(total - L + i)), [1, L]),
    use_cache_branch: new ort.Tensor('bool', [past !== null], [1]),
  };
  for (let i = 0; i < layers; i++)
    for (const kv of ['key', 'value'])
      feeds[`past_key_values.${i}.${kv}`] =
        past?.[`present.${i}.${kv}`] ?? new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
  return decoder.run(feeds);
}

const argmaxLast = (logits) => {
  const [, L, V] = logits.dims;
  const row = logits.data.subarray((L - 1) * V, L * V);
  let best = 0;
  for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
  return best;
};

// Greedy answer to `prompt` on top of `state` ({past, total} or null); returns tokens and the new state.
async function answer(prompt, features, state, maxNew) {
  let out = await step(await embedWithImage(prompt, features), (state?.total ?? 0) + prompt.length, state?.past ?? null);
  let total = (state?.total ?? 0) + prompt.length;
  const tokens = [];
  for (let i = 0; i < maxNew; i++) {
    const next = argmaxLast(out.logits);
    tokens.push(next);
    if (next === text.eos_token_id) break;
    total += 1;
    out = await step(await embedWithImage([next], features), total, out);
  }
  return { tokens, state: { past: out, total } };
}

const report = { cases: [], all_tokens_identical: true };
for (const c of spec.cases) {
  const px = new ort.Tensor('float32', Float32Array.from(c.pixel_values), [1, 3, 64, 64]);
  const { image_features: f } = await vision.run({ pixel_values: px });
  const r = { name: c.name, image_features_max_abs_err: maxErr(f.data, c.image_features) };
  let state = null;
  r.turns = [];
  for (const turn of c.turns) {
    const got = await answer(turn.prompt, f.data, state, spec.max_new);
    // the cache holds every token fed so far; the answer's last token (</s>) was not fed and opens the next prompt
    state = got.state;
    const same = JSON.stringify(got.tokens) === JSON.stringify(turn.expected_tokens);
    report.all_tokens_identical &&= same;
    r.turns.push({ tokens_identical: same, onnx: got.tokens, torch: turn.expected_tokens });
  }
  if (c.first_logits) {
    const out = await step(await embedWithImage(c.turns[0].prompt, f.data), c.turns[0].prompt.length, null);
    r.first_step_logits_max_abs_err = maxErr(out.logits.data, c.first_logits);
  }
  report.cases.push(r);
}
console.log(JSON.stringify(report, null, 1));
