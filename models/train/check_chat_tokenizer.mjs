// Checks a chat model's tokenizer files in JavaScript: the chat template (rendered with @huggingface/jinja, as
// transformers.js does) with <image> expanded, tokenized by @huggingface/tokenizers, gives the Python ids.
// usage: node models/train/check_chat_tokenizer.mjs MODEL_DIR CASES.json
//   CASES: [{messages, add_generation_prompt, ids} | {text, ids}]
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';

const dir = process.argv[2];
const cases = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const config = JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8'));
const proc = JSON.parse(readFileSync(`${dir}/processor_config.json`, 'utf8'));
const tk = new Tokenizer(JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8')), config);
const template = new Template(config.chat_template);
const nImage = Math.floor(64 / proc.patch_size) ** 2 + proc.num_additional_image_tokens;
let bad = 0;
for (const c of cases) {
  let text = c.text;
  if (c.messages) {
    text = template.render({
      messages: c.messages,
      add_generation_prompt: c.add_generation_prompt,
      bos_token: config.bos_token,
      eos_token: config.eos_token,
    });
    text = text.replace(proc.image_token, proc.image_token.repeat(nImage));
  }
  const ids = Array.from(tk.encode(text).ids);
  if (JSON.stringify(ids) !== JSON.stringify(c.ids)) {
    bad++;
    if (bad < 5)
      console.log(
        'MISMATCH',
        JSON.stringify(text).slice(0, 300),
        ids.join(' '),
        '\nexpected',
        c.ids.join(' '),
      );
  }
}
console.log(`${cases.length - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
