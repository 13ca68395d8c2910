// Checks that tokenizer.json loads in @huggingface/tokenizers and matches the Python ids.
// usage: node models/train/check_tokenizer.mjs MODEL_DIR CASES.json
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

const dir = process.argv[2];
const cases = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const tk = new Tokenizer(
  JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8')),
  JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8')),
);
let bad = 0;
for (const c of cases) {
  const ids = Array.from(tk.encode(c.text).ids);
  if (JSON.stringify(ids) !== JSON.stringify(c.ids)) {
    bad++;
    console.log('MISMATCH', c.text, ids, c.ids);
  }
}
console.log(`${cases.length - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
