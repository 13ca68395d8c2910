// Checks tests/corpus/florence2-random (scripts/make_florence2_random.py) against its reference.json: the tokenizer
// with @huggingface/tokenizers and with transformers.js' AutoTokenizer (byte-level pieces, <s> … </s>, the location
// tokens <loc_0> … <loc_999> kept adjacent when decoded), transformers.js' Florence2Processor (construct_prompts and
// post_process_generation, whose results are printed), and the four graphs with onnxruntime-node run as
// transformers.js runs Florence-2:
// vision_encoder → embed_tokens → [image features ; prompt embeddings] → encoder_model → decoder_model_merged, its
// first step with use_cache_branch false and empty pasts, then cached steps fed the decoder's presents and the
// FIRST step's encoder presents (the cached branch's present.*.encoder.* are Optimum's empty constants, ignored).
// Greedy decoding with Florence-2's processors: forced BOS, no repeated 3-grams, forced EOS at max_length.
// usage: node scripts/check_florence2_random.mjs [MODEL_DIR]
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { AutoProcessor, AutoTokenizer, env } from '@huggingface/transformers';
import ort from 'onnxruntime-node';

const dir = resolve(process.argv[2] ?? new URL('../tests/corpus/florence2-random', import.meta.url).pathname);
const ref = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8'));
const json = (name) => JSON.parse(readFileSync(`${dir}/${name}`, 'utf8'));
const config = json('config.json');
const gen = json('generation_config.json');
const pre = json('preprocessor_config.json');
const { n_layers, heads, head_dim } = {
  n_layers: config.text_config.decoder_layers,
  heads: config.text_config.decoder_attention_heads,
  head_dim: config.text_config.d_model / config.text_config.decoder_attention_heads,
};
const TOL = 1e-4;
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};
const maxDiff = (a, b) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), a.length === b.length ? 0 : Infinity);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// --- tokenizer ---------------------------------------------------------------------------------------------------
const V = config.text_config.vocab_size;
const LOC0 = ref.config.loc_token_start;
check(V === ref.config.vocab && V === LOC0 + 1000, `vocab_size ${V} = <loc_0> ${LOC0} + 1000`);
env.localModelPath = `${dirname(dir)}/`;
env.allowRemoteModels = false;
const tokenizers = {
  '@huggingface/tokenizers': new Tokenizer(json('tokenizer.json'), json('tokenizer_config.json')),
  'transformers.js AutoTokenizer': await AutoTokenizer.from_pretrained(basename(dir)),
};
for (const [name, tk] of Object.entries(tokenizers)) {
  const encode = (text) => {
    const out = tk.encode(text); // transformers.js' gives the ids, @huggingface/tokenizers' an encoding
    return Array.from(out.ids ?? out);
  };
  const decode = (ids, skip) => tk.decode(ids, { skip_special_tokens: skip });
  const id = (token) => (tk.token_to_id ? tk.token_to_id(token) : tk.convert_tokens_to_ids(token));
  check(
    id('<loc_0>') === LOC0 && id('<loc_999>') === V - 1 && id('<s>') === 0 && id('</s>') === 2,
    `${name}: <loc_0> ${id('<loc_0>')}, <loc_999> ${id('<loc_999>')}`,
  );
  for (const [task, t] of Object.entries(ref.tasks)) {
    const ids = encode(t.prompt);
    check(
      same(ids, t.input_ids) && ids[0] === 0 && ids.at(-1) === 2 && !ids.includes(3),
      `${name}: ${task} encode ${JSON.stringify(t.prompt)} → ${JSON.stringify(ids)}`,
    );
    const text = decode(t.greedy, true);
    if (t.text !== undefined) check(text === t.text, `${name}: ${task} decode → ${JSON.stringify(text)}`);
    check(
      !/<loc_|<s>|<\/s>/.test(text),
      `${name}: ${task} decode, specials skipped, has no <loc_*>, <s>, </s>`,
    );
  }
  // Location tokens decode adjacent to their neighbours; Ġ pieces give single spaces; specials skip.
  const ids = [0, id('describe'), LOC0 + 1, LOC0 + 6, id('Ġw0'), id('Ġw1'), LOC0 + 999, id('?'), 2];
  const kept = decode(ids, false);
  check(
    kept === '<s>describe<loc_1><loc_6> w0 w1<loc_999>?</s>',
    `${name}: decode ${JSON.stringify(ids)} → ${JSON.stringify(kept)}`,
  );
  const skipped = decode(ids, true);
  check(skipped === 'describe w0 w1?', `${name}: decode, specials skipped → ${JSON.stringify(skipped)}`);
  const locs = encode('Locate<loc_5><loc_999> in the image.');
  check(
    same(locs, [0, id('locate'), LOC0 + 5, V - 1, id('Ġin'), id('Ġthe'), id('Ġimage'), id('.'), 2]),
    `${name}: encode with location tokens → ${JSON.stringify(locs)}`,
  );
}

// --- transformers.js' Florence2Processor: prompts, and the answers' post-processing (printed) -----------------------
const processor = await AutoProcessor.from_pretrained(basename(dir));
const [side] = ref.image_rgb.dims;
for (const [task, t] of Object.entries(ref.tasks)) {
  const [prompt] = processor.construct_prompts(task + (t.input ?? ''));
  const ids = Array.from(processor.tokenizer(prompt).input_ids.data, Number);
  check(
    prompt === t.prompt && same(ids, t.input_ids),
    `processor: construct_prompts(${JSON.stringify(task + (t.input ?? ''))}) → ${JSON.stringify(prompt)} → ` +
      JSON.stringify(ids),
  );
  // What transformers.js' generate returns (decoder start, the answer, EOS), decoded with the specials kept.
  const text = processor.batch_decode([[gen.decoder_start_token_id, ...t.greedy, gen.eos_token_id]], {
    skip_special_tokens: false,
  })[0];
  // transformers.js does not read polygons (segmentation): their text is printed alone.
  const polygons = processor.tasks_answer_post_processing_type.get(task) === 'polygons';
  const result = polygons ? '(polygons)' : processor.post_process_generation(text, task, [side, side]);
  console.log(`     ${task} ${JSON.stringify(text)}\n     → ${JSON.stringify(result)}`);
}

// --- graphs ------------------------------------------------------------------------------------------------------
const load = (name) => ort.InferenceSession.create(`${dir}/onnx/${name}.onnx`);
const [vision, embed, encoder, decoder] = await Promise.all(
  ['vision_encoder', 'embed_tokens', 'encoder_model', 'decoder_model_merged'].map(load),
);
const f32 = (data, dims) => new ort.Tensor('float32', Float32Array.from(data), dims);
const i64 = (data, dims) => new ort.Tensor('int64', BigInt64Array.from(data.map(BigInt)), dims);

// The processor's pixels from the test image (no resize at this size): rescale, normalise, HWC → CHW.
const pixels = new Float32Array(3 * side * side);
for (let c = 0; c < 3; c++)
  for (let p = 0; p < side * side; p++)
    pixels[c * side * side + p] =
      (ref.image_rgb.data[p * 3 + c] * pre.rescale_factor - pre.image_mean[c]) / pre.image_std[c];
check(
  maxDiff(pixels, ref.pixel_values.data) < 1e-5,
  `pixel_values from image_rgb (max diff ${maxDiff(pixels, ref.pixel_values.data).toExponential(2)})`,
);

const { image_features } = await vision.run({
  pixel_values: f32(ref.pixel_values.data, ref.pixel_values.dims),
});
const dFeat = maxDiff(image_features.data, ref.image_features.data);
check(
  same(image_features.dims, ref.image_features.dims) && dFeat < TOL,
  `image_features ${JSON.stringify(image_features.dims)} (max diff ${dFeat.toExponential(2)})`,
);

async function encode(ids) {
  const { inputs_embeds } = await embed.run({ input_ids: i64(ids, [1, ids.length]) });
  const [n, d] = image_features.dims.slice(1);
  const data = new Float32Array((n + ids.length) * d);
  data.set(image_features.data);
  data.set(inputs_embeds.data, n * d);
  const len = n + ids.length;
  const mask = i64(new Array(len).fill(1), [1, len]);
  const { last_hidden_state } = await encoder.run({
    inputs_embeds: f32(data, [1, len, d]),
    attention_mask: mask,
  });
  return { states: last_hidden_state, mask };
}

const pastNames = [];
for (let i = 0; i < n_layers; i++)
  for (const part of ['decoder', 'encoder'])
    for (const kv of ['key', 'value']) pastNames.push(`${i}.${part}.${kv}`);

// What the cached branch returns for present.*.encoder.* (Optimum's empty constants, whatever the step).
const cachedEncoderPresentDims = new Set();

// One decoder run: returns the last position's logits; `cache` holds the past for the next run.
async function step(token, enc, cache) {
  const { inputs_embeds } = await embed.run({ input_ids: i64([token], [1, 1]) });
  const feeds = {
    encoder_attention_mask: enc.mask,
    encoder_hidden_states: enc.states,
    inputs_embeds,
    use_cache_branch: new ort.Tensor('bool', [cache !== null], [1]),
  };
  for (const name of pastNames)
    feeds[`past_key_values.${name}`] = cache?.[name] ?? f32([], [1, heads, 0, head_dim]);
  const out = await decoder.run(feeds);
  const next = {};
  for (const name of pastNames) {
    // transformers.js' getPastKeyValues: encoder presents of later steps are ignored, the first step's kept.
    next[name] = cache && name.includes('.encoder.') ? cache[name] : out[`present.${name}`];
  }
  if (cache) cachedEncoderPresentDims.add(JSON.stringify(out['present.0.encoder.key'].dims));
  const [, s, v] = out.logits.dims;
  return { logits: Array.from(out.logits.data.slice((s - 1) * v, s * v)), cache: next };
}

function bannedNgramTokens(ids, n) {
  if (ids.length + 1 < n) return new Set();
  const prefix = ids.slice(ids.length - n + 1).join(',');
  const banned = new Set();
  for (let i = 0; i + n <= ids.length; i++)
    if (ids.slice(i, i + n - 1).join(',') === prefix) banned.add(ids[i + n - 1]);
  return banned;
}

const argmax = (xs) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

async function generate(enc, { florence, maxNewTokens }) {
  const ids = [gen.decoder_start_token_id];
  const maxLength = 1 + maxNewTokens;
  const rows = [];
  let cache = null;
  let stop = 'max_new_tokens';
  while (ids.length < maxLength) {
    const r = await step(ids.at(-1), enc, cache);
    cache = r.cache;
    rows.push(r.logits);
    const scores = r.logits.slice();
    if (florence) {
      for (const t of bannedNgramTokens(ids, gen.no_repeat_ngram_size)) scores[t] = -Infinity;
      const forced =
        ids.length === 1
          ? gen.forced_bos_token_id
          : ids.length === maxLength - 1
            ? gen.forced_eos_token_id
            : null;
      if (forced !== null) scores.fill(-Infinity)[forced] = 0;
    }
    const tok = argmax(scores);
    if (tok === gen.eos_token_id) {
      stop = florence && ids.length === maxLength - 1 ? 'forced_eos' : 'eos';
      break;
    }
    ids.push(tok);
  }
  return { ids: ids.slice(1), stop, rows };
}

for (const [task, t] of Object.entries(ref.tasks)) {
  const enc = await encode(t.input_ids);
  if (t.encoder_last_hidden_state) {
    const d = maxDiff(enc.states.data, t.encoder_last_hidden_state.data);
    check(
      same(enc.states.dims, t.encoder_last_hidden_state.dims) && d < TOL,
      `${task} encoder last_hidden_state ${JSON.stringify(enc.states.dims)} (max diff ${d.toExponential(2)})`,
    );
  }
  const g = await generate(enc, { florence: true, maxNewTokens: ref.config.max_new_tokens });
  check(same(g.ids, t.greedy) && g.stop === t.stop, `${task} greedy ${JSON.stringify(g.ids)} (${g.stop})`);
  if (task === ref.greedy_plain.task) {
    const p = await generate(enc, { florence: false, maxNewTokens: ref.greedy_plain.max_new_tokens });
    check(
      same(p.ids, ref.greedy_plain.ids) && p.stop === ref.greedy_plain.stop,
      `${task} plain greedy ${JSON.stringify(p.ids)} (${p.stop})`,
    );
    ref.greedy_plain.step_logits.forEach((row, k) => {
      const d = maxDiff(p.rows[k], row);
      check(d < TOL, `${task} plain step ${k} logits (max diff ${d.toExponential(2)})`);
    });
  }
}
check(
  same([...cachedEncoderPresentDims], [JSON.stringify([0, heads, 1, head_dim])]),
  `cached branch present.0.encoder.key dims ${[...cachedEncoderPresentDims]} (empty; the first step's are kept)`,
);
console.log(failures ? `${failures} failed` : 'all passed');
process.exit(failures ? 1 : 0);
