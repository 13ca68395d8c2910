// Compares an exported llava-tiny / blip2-tiny folder, run with onnxruntime-node (tests/support/llava-ort.ts), with
// torch on the cases verify_llava.py wrote: image features, first-step logits, greedy tokens per chat turn.
// usage: npx tsx models/train/verify_llava.ts MODEL_DIR CASES.json   -> JSON report on stdout
import { readFileSync } from 'node:fs';
import { type ChatState, loadLlavaOrt } from '../../tests/support/llava-ort.ts';

interface Turn {
  prompt: number[];
  expected_tokens: number[];
}
interface Case {
  name: string;
  pixel_values: number[];
  image_features: number[];
  first_logits?: number[];
  turns: Turn[];
}

const [dir, casesFile] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(casesFile, 'utf8')) as { max_new: number; cases: Case[] };
const model = await loadLlavaOrt(dir);
const maxErr = (a: ArrayLike<number>, b: number[]) => {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const report = { all_tokens_identical: true, cases: [] as unknown[] };
for (const c of spec.cases) {
  const features = await model.imageFeatures(Float32Array.from(c.pixel_values));
  const r: Record<string, unknown> = {
    name: c.name,
    image_features_max_abs_err: maxErr(features, c.image_features),
  };
  const turns = [];
  let state: ChatState | null = null;
  for (const [k, turn] of c.turns.entries()) {
    const got = await model.answer(turn.prompt, features, state, spec.max_new);
    state = got.state;
    if (k === 0 && c.first_logits) r.first_step_logits_max_abs_err = maxErr(got.firstLogits, c.first_logits);
    const same = JSON.stringify(got.tokens) === JSON.stringify(turn.expected_tokens);
    report.all_tokens_identical &&= same;
    turns.push({ tokens_identical: same, onnx: got.tokens, torch: turn.expected_tokens });
  }
  r.turns = turns;
  report.cases.push(r);
}
console.log(JSON.stringify(report, null, 1));
