// Runs exported graphs with onnxruntime-web (wasm, in Node) on cases written by verify.py and compares to torch.
// usage: node models/train/verify_onnx.mjs CASES.json  -> prints JSON {case: max_abs_err | tokens match}
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;
const file = process.argv[2];
const spec = JSON.parse(readFileSync(file, 'utf8'));
const base = dirname(resolve(file));
const sessions = new Map();
async function session(p) {
  if (!sessions.has(p)) sessions.set(p, await ort.InferenceSession.create(readFileSync(p)));
  return sessions.get(p);
}
function tensor(t) {
  if (t.dtype === 'int64') return new ort.Tensor('int64', BigInt64Array.from(t.data.map(BigInt)), t.dims);
  return new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}
function maxErr(a, b) {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - b[i]));
  return m;
}
const report = {};
for (const c of spec.cases) {
  const s = await session(resolve(base, c.model));
  if (c.kind === 'greedy') {
    // decoder_model on [bos], then decoder_with_past one token at a time
    const enc = tensor(c.encoder_hidden_states);
    const B = c.encoder_hidden_states.dims[0];
    const sp = await session(resolve(base, c.model_with_past));
    let out = await s.run({
      input_ids: new ort.Tensor('int64', new BigInt64Array(B).fill(BigInt(c.bos)), [B, 1]),
      encoder_hidden_states: enc,
    });
    const toks = Array.from({ length: B }, () => []);
    const done = new Array(B).fill(false);
    for (let step = 0; step < c.max_new; step++) {
      const logits = out.logits; // [B,L,V]
      const [, L, V] = logits.dims;
      const next = new BigInt64Array(B);
      for (let b = 0; b < B; b++) {
        let best = 0;
        const off = (b * L + (L - 1)) * V;
        for (let v = 1; v < V; v++) if (logits.data[off + v] > logits.data[off + best]) best = v;
        next[b] = BigInt(best);
        if (!done[b]) toks[b].push(best);
        if (best === c.eos) done[b] = true;
      }
      if (done.every(Boolean)) break;
      const feeds = { input_ids: new ort.Tensor('int64', next, [B, 1]), encoder_hidden_states: enc };
      for (let i = 0; i < c.layers; i++) {
        feeds[`past_key_values.${i}.key`] = out[`present.${i}.key`];
        feeds[`past_key_values.${i}.value`] = out[`present.${i}.value`];
      }
      out = await sp.run(feeds);
    }
    const same = JSON.stringify(toks) === JSON.stringify(c.expected_tokens);
    report[c.name] = { tokens_identical: same, onnx: toks, torch: c.expected_tokens };
    continue;
  }
  const feeds = {};
  for (const [k, v] of Object.entries(c.feeds)) feeds[k] = tensor(v);
  const out = await s.run(feeds);
  const errs = {};
  for (const [k, v] of Object.entries(c.expected)) {
    if (JSON.stringify(Array.from(out[k].dims)) !== JSON.stringify(v.dims))
      throw new Error(`${c.name}.${k}: dims ${out[k].dims} vs ${v.dims}`);
    errs[k] = maxErr(out[k].data, v.data);
  }
  report[c.name] = errs;
}
console.log(JSON.stringify(report, null, 1));
