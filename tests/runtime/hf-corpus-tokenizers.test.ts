// The corpus' tokenizer.json files (a real CLIP BPE and BERT WordPiece from transformers, our SigLIP-style Unigram)
// through the runtime's tokenizer give the ids the PyTorch references were computed from (scripts/hf_reference.py
// tokenizes the same texts by vocabulary lookup, without tokenizers).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../src/text/tokenizer';

const CORPUS = 'tests/corpus/hf';
const json = (path: string) => JSON.parse(readFileSync(`${CORPUS}/${path}`, 'utf8'));

function tokenizer(folder: string) {
  return TextTokenizer.fromJson(json(`${folder}/tokenizer.json`), json(`${folder}/tokenizer_config.json`));
}

describe('corpus tokenizers = the ids of the PyTorch references', () => {
  it.each(['siglip-hf', 'siglip-export'])(
    '%s: SentencePiece Unigram, </s> appended, padded to max_length',
    (folder) => {
      const ref = json(`${folder}/reference-api.json`);
      const t = tokenizer(folder);
      expect(t.maxLength).toBe(16);
      const prompts = ref.labels.map((l: string) => ref.template.replace('{}', l));
      const batch = t.encodeBatch(prompts, { padTo: t.maxLength });
      expect(Array.from(batch.inputIds, Number)).toEqual(ref.promptIds.flat());
      expect(t.padId).toBe(1);
    },
  );

  it('clip-export: CLIP BPE with <|startoftext|> … <|endoftext|>', () => {
    const ref = json('clip-export/reference-api.json');
    const t = tokenizer('clip-export');
    const prompts = ref.labels.map((l: string) => ref.template.replace('{}', l));
    const batch = t.encodeBatch(prompts);
    expect(Array.from(batch.inputIds, Number)).toEqual(ref.promptIds.flat());
  });

  it.each(['blip-hf', 'blip-export'])('%s: BERT WordPiece, [CLS] … [SEP]', (folder) => {
    const ref = json(`${folder}/reference-api.json`);
    const t = tokenizer(folder);
    ref.texts.forEach((text: string, i: number) => {
      expect(t.encode(text)).toEqual(ref.textIds[i]);
    });
    // The caption prompt's tokens without [CLS]/[SEP], as the decoder start gets them.
    expect(t.encode('a photo of', false)).toEqual(ref.textIds[0].slice(1, 4));
  });
});
