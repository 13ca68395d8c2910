// Independent references for the runtime tests: onnxruntime-web InferenceSessions created directly (not
// through our Backend), pixels normalised by hand, token ids supplied by the test (built from the vocab),
// softmax and greedy decoding written out again without a KV cache.
import { getOrt } from '../../src/engine/ort/ort-env';

type Ort = ReturnType<typeof getOrt>;
type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

const sessions = new Map<string, Promise<OrtSession>>();

function session(url: string): Promise<OrtSession> {
  let s = sessions.get(url);
  if (!s) {
    s = (async () => {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
      return getOrt().InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    })();
    sessions.set(url, s);
  }
  return s;
}

export async function refPixels(modelUrl: string, pngUrl: string): Promise<Float32Array> {
  const pre = await (await fetch(`${modelUrl}preprocessor_config.json`)).json();
  const blob = await (await fetch(pngUrl)).blob();
  const bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(bmp, 0, 0);
  const { data, width, height } = ctx.getImageData(0, 0, bmp.width, bmp.height);
  if (width !== 64 || height !== 64) throw new Error('reference handles 64×64 scenes only');
  const out = new Float32Array(3 * 64 * 64);
  for (let ch = 0; ch < 3; ch++) {
    for (let i = 0; i < 64 * 64; i++) {
      out[ch * 4096 + i] = (data[i * 4 + ch] / 255 - pre.image_mean[ch]) / pre.image_std[ch];
    }
  }
  return out;
}

function ids(rows: ReadonlyArray<readonly number[]>): {
  ids: BigInt64Array;
  mask: BigInt64Array;
  dims: number[];
} {
  const L = Math.max(...rows.map((r) => r.length));
  const out = new BigInt64Array(rows.length * L);
  const mask = new BigInt64Array(rows.length * L);
  rows.forEach((r, b) => {
    r.forEach((v, i) => {
      out[b * L + i] = BigInt(v);
      mask[b * L + i] = 1n;
    });
  });
  return { ids: out, mask, dims: [rows.length, L] };
}

function unit(v: Float32Array): number[] {
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return Array.from(v, (x) => x / n);
}

export async function refImageTokens(modelUrl: string, pngUrl: string, graph = 'vision_model') {
  const ort = getOrt();
  const vision = await session(`${modelUrl}onnx/${graph}.onnx`);
  const px = await refPixels(modelUrl, pngUrl);
  const out = await vision.run({ pixel_values: new ort.Tensor('float32', px, [1, 3, 64, 64]) });
  return { embeds: out.image_embeds.data as Float32Array, tokens: out.last_hidden_state };
}

export async function refTextEmbeds(
  modelUrl: string,
  tokenIds: ReadonlyArray<readonly number[]>,
): Promise<Float32Array[]> {
  const ort = getOrt();
  const text = await session(`${modelUrl}onnx/text_model.onnx`);
  const t = ids(tokenIds);
  const out = await text.run({
    input_ids: new ort.Tensor('int64', t.ids, t.dims),
    attention_mask: new ort.Tensor('int64', t.mask, t.dims),
  });
  const d = out.text_embeds.dims[1];
  const data = out.text_embeds.data as Float32Array;
  return tokenIds.map((_, i) => data.slice(i * d, (i + 1) * d));
}

/** Zero-shot probabilities: cos(unit image, unit text) × exp(logit_scale), softmax. */
export async function refClassify(
  modelUrl: string,
  pngUrl: string,
  promptIds: ReadonlyArray<readonly number[]>,
): Promise<number[]> {
  const config = await (await fetch(`${modelUrl}config.json`)).json();
  const img = unit((await refImageTokens(modelUrl, pngUrl)).embeds);
  const txt = (await refTextEmbeds(modelUrl, promptIds)).map(unit);
  const logits = txt.map((t) => Math.exp(config.logit_scale) * t.reduce((a, x, j) => a + x * img[j], 0));
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/** Prompt ensemble: per label, the re-normalised mean of its unit prompt embeddings over the templates. */
export async function refClassifyEnsemble(
  modelUrl: string,
  pngUrl: string,
  idsByTemplate: ReadonlyArray<ReadonlyArray<readonly number[]>>,
): Promise<number[]> {
  const config = await (await fetch(`${modelUrl}config.json`)).json();
  const img = unit((await refImageTokens(modelUrl, pngUrl)).embeds);
  const perTemplate = await Promise.all(
    idsByTemplate.map(async (rows) => (await refTextEmbeds(modelUrl, rows)).map(unit)),
  );
  const logits = idsByTemplate[0].map((_, label) => {
    const mean = img.map((_, j) => perTemplate.reduce((a, t) => a + t[label][j], 0));
    const n = Math.hypot(...mean);
    return Math.exp(config.logit_scale) * mean.reduce((a, x, j) => a + (x / n) * img[j], 0);
  });
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/** ITM match probabilities, one image against several token rows. */
export async function refItm(
  modelUrl: string,
  pngUrl: string,
  tokenIds: ReadonlyArray<readonly number[]>,
): Promise<number[]> {
  const ort = getOrt();
  const itm = await session(`${modelUrl}onnx/itm_model.onnx`);
  const { tokens } = await refImageTokens(modelUrl, pngUrl);
  const out: number[] = [];
  for (const row of tokenIds) {
    const t = ids([row]);
    const r = await itm.run({
      input_ids: new ort.Tensor('int64', t.ids, t.dims),
      attention_mask: new ort.Tensor('int64', t.mask, t.dims),
      encoder_hidden_states: tokens,
    });
    const [a, b] = Array.from(r.itm_logits.data as Float32Array);
    out.push(1 / (1 + Math.exp(a - b)));
  }
  return out;
}

/** Greedy decoding that re-runs the full decoder_model on the whole prefix each step (no KV cache). */
export async function refGreedyCaption(modelUrl: string, pngUrl: string, maxTokens: number) {
  const ort = getOrt();
  const gen = await (await fetch(`${modelUrl}generation_config.json`)).json();
  const dec = await session(`${modelUrl}onnx/decoder_model.onnx`);
  const { tokens } = await refImageTokens(modelUrl, pngUrl);
  const prefix = [gen.bos_token_id];
  const chosen: number[] = [];
  let logProb = 0;
  for (let t = 0; t < maxTokens; t++) {
    const r = await dec.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(prefix.map(BigInt)), [1, prefix.length]),
      encoder_hidden_states: tokens,
    });
    const V = r.logits.dims[2];
    const row = Array.from((r.logits.data as Float32Array).slice((prefix.length - 1) * V, prefix.length * V));
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    const m = Math.max(...row);
    logProb += row[best] - (m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0)));
    if (best === gen.eos_token_id) break;
    chosen.push(best);
    prefix.push(best);
  }
  return { tokenIds: chosen, logProb };
}

/** Sum of log-probabilities of a given token sequence (teacher forcing, full decoder). */
export async function refSequenceLogProb(
  modelUrl: string,
  pngUrl: string,
  tokenIds: readonly number[],
  withEos: boolean,
) {
  const ort = getOrt();
  const gen = await (await fetch(`${modelUrl}generation_config.json`)).json();
  const dec = await session(`${modelUrl}onnx/decoder_model.onnx`);
  const { tokens } = await refImageTokens(modelUrl, pngUrl);
  const prefix = [gen.bos_token_id, ...tokenIds];
  const r = await dec.run({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(prefix.map(BigInt)), [1, prefix.length]),
    encoder_hidden_states: tokens,
  });
  const V = r.logits.dims[2];
  const data = r.logits.data as Float32Array;
  const targets = withEos ? [...tokenIds, gen.eos_token_id] : tokenIds;
  let lp = 0;
  targets.forEach((tok, i) => {
    const row = Array.from(data.slice(i * V, (i + 1) * V));
    const m = Math.max(...row);
    lp += row[tok] - (m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0)));
  });
  return lp;
}
