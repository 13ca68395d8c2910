// The committed generative VLMs (llava-tiny, blip2-tiny; models/train/export_llava.py) against PyTorch, from a
// reference file models/train/verify_llava.py wrote: the chat template + tokenizer give the ids torch was fed, and
// the ONNX graphs run with onnxruntime-node give torch's greedy tokens, turn by turn, with the KV cache.
import { existsSync, readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { type ChatState, loadLlavaOrt, pixelValues } from '../support/llava-ort';

interface Reference {
  max_new: number;
  cases: {
    image: number;
    rgb_zlib_base64: string;
    turns: { question: string; prompt: number[]; expected_tokens: number[]; answer: string }[];
  }[];
}

const models = ['llava-tiny', 'blip2-tiny'].filter((name) =>
  existsSync(`tests/models/${name}.reference.json`),
);

describe.each(models)('%s = PyTorch', (name) => {
  const dir = `models/${name}`;
  const ref = JSON.parse(readFileSync(`tests/models/${name}.reference.json`, 'utf8')) as Reference;

  it('the chat template and tokenizer give the prompts torch was fed', () => {
    const config = JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8'));
    const proc = JSON.parse(readFileSync(`${dir}/processor_config.json`, 'utf8'));
    const tokenizer = new Tokenizer(JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8')), config);
    const template = new Template(config.chat_template);
    const nImage = Math.floor(64 / proc.patch_size) ** 2 + proc.num_additional_image_tokens;
    for (const c of ref.cases) {
      const messages: { role: string; content: string }[] = [];
      let expected: number[] = [];
      for (const [k, turn] of c.turns.entries()) {
        messages.push({ role: 'user', content: turn.question });
        // a later turn's prompt starts with the previous answer's </s>, already in `expected`
        expected = expected.concat(k === 0 ? turn.prompt : turn.prompt.slice(1));
        const text = template
          .render({ messages, add_generation_prompt: true, bos_token: config.bos_token })
          .replace(proc.image_token, proc.image_token.repeat(nImage));
        expect(Array.from(tokenizer.encode(text).ids)).toEqual(expected);
        messages.push({ role: 'assistant', content: turn.answer });
        expected = expected.concat(turn.expected_tokens);
      }
    }
  });

  it('greedy tokens with the KV cache (first step, cached steps, later turns prefilled on the cache)', async () => {
    const model = await loadLlavaOrt(dir);
    for (const c of ref.cases) {
      const rgb = new Uint8Array(inflateSync(Buffer.from(c.rgb_zlib_base64, 'base64')));
      const features = await model.imageFeatures(pixelValues(rgb));
      let state: ChatState | null = null;
      for (const turn of c.turns) {
        const got = await model.answer(turn.prompt, features, state, ref.max_new);
        expect(got.tokens, `image ${c.image}: ${turn.question}`).toEqual(turn.expected_tokens);
        state = got.state;
      }
    }
  });
});
