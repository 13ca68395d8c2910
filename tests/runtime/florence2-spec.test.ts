// Florence-2's settings read from its folder (tasks, generation rules) and the logits processors its captions
// apply, on hand-computed cases of transformers' NoRepeatNGramLogitsProcessor.
import { describe, expect, it } from 'vitest';
import { banRepeatedNgrams, florence2Spec, taskPrompt } from '../../src/pipelines/florence2';

const KV = { layers: 2, heads: 4, headDim: 8 };
const PROCESSOR = {
  tasks_answer_post_processing_type: { '<OCR>': 'pure_text', '<OD>': 'description_with_bboxes' },
  task_prompts_without_inputs: {
    '<CAPTION>': 'What does the image describe?',
    '<OCR>': 'What is the text in the image?',
    '<OD>': 'Locate the objects with category name in the image.',
  },
};
const GENERATION = {
  decoder_start_token_id: 2,
  eos_token_id: 2,
  forced_bos_token_id: 0,
  forced_eos_token_id: 2,
  no_repeat_ngram_size: 3,
  max_length: 20,
};
const spec = () => florence2Spec({ text_config: { max_position_embeddings: 64 } }, PROCESSOR, GENERATION, KV);

/** The tokens a rule left possible, of a vocabulary of `v`. */
function allowed(sequence: number[], n: number, v = 6): number[] {
  const lp = new Float64Array(v);
  banRepeatedNgrams(lp, sequence, n);
  return [...lp.keys()].filter((i) => lp[i] !== Number.NEGATIVE_INFINITY);
}

describe('no_repeat_ngram_size, as transformers bans repeated n-grams', () => {
  it('bans the tokens that followed an earlier occurrence of the last n − 1 tokens', () => {
    // 3-grams of [2 0 4 5 2 0]: (2 0 4), (0 4 5), (4 5 2), (5 2 0); the tail (2 0) was followed by 4.
    expect(allowed([2, 0, 4, 5, 2, 0], 3)).toEqual([0, 1, 2, 3, 5]);
    // The tail (0 4) was followed by 5 and by 1.
    expect(allowed([0, 4, 5, 0, 4, 1, 0, 4], 3)).toEqual([0, 2, 3, 4]);
  });

  it('bans nothing before a whole n-gram exists, nor with size 0', () => {
    expect(allowed([2], 3)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(allowed([2, 2, 2, 2], 0)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('size 1 bans every token already in the sequence; size 2 bans what followed the last token', () => {
    expect(allowed([1, 3, 1], 1)).toEqual([0, 2, 4, 5]);
    expect(allowed([1, 3, 1, 4, 1], 2)).toEqual([0, 1, 2, 5]);
  });
});

describe("a Florence-2 folder's settings", () => {
  it('reads the generation rules and serves the tasks answered in text', () => {
    const s = spec();
    expect(s).toMatchObject({
      decoderStartTokenId: 2,
      eosTokenId: 2,
      forcedBosTokenId: 0,
      forcedEosTokenId: 2,
      noRepeatNgramSize: 3,
      maxLength: 20,
      maxPositions: 64,
      kv: KV,
    });
    // A task the type map does not list is plain text (transformers.js' default).
    expect([...s.prompts.keys()]).toEqual(['<CAPTION>', '<OCR>']);
    expect(taskPrompt(s, '<OCR>')).toBe('What is the text in the image?');
  });

  it('a task answered with regions, or unknown, is INVALID_INPUT naming the tasks served', () => {
    expect(() => taskPrompt(spec(), '<OD>')).toThrow(
      expect.objectContaining({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/regions \(description_with_bboxes\).*<CAPTION>, <OCR>/),
      }),
    );
    expect(() => taskPrompt(spec(), 'describe it')).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/not a task/) }),
    );
  });

  it('missing task prompts, ids that are not ids, or an undeclared cache are INVALID_MODEL', () => {
    const cases: [object, object, typeof KV | undefined, RegExp][] = [
      [{}, GENERATION, KV, /task_prompts_without_inputs/],
      [{ task_prompts_without_inputs: { '<CAPTION>': 3 } }, GENERATION, KV, /prompt string/],
      [PROCESSOR, { ...GENERATION, forced_bos_token_id: -1 }, KV, /forced_bos_token_id/],
      [PROCESSOR, { ...GENERATION, no_repeat_ngram_size: 1.5 }, KV, /no_repeat_ngram_size/],
      [PROCESSOR, { ...GENERATION, max_length: 1 }, KV, /max_length/],
      [PROCESSOR, { eos_token_id: 2 }, KV, /decoder_start_token_id/],
      [PROCESSOR, GENERATION, undefined, /past keys\/values/],
    ];
    for (const [processor, generation, kv, why] of cases)
      expect(() => florence2Spec({}, processor, generation, kv), String(why)).toThrow(
        expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringMatching(why) }),
      );
  });

  it('an eos list ends at its first id; null forced ids are none', () => {
    const s = florence2Spec(
      {},
      PROCESSOR,
      { ...GENERATION, eos_token_id: [2, 5], forced_bos_token_id: null, forced_eos_token_id: undefined },
      KV,
    );
    expect([s.eosTokenId, s.forcedBosTokenId, s.forcedEosTokenId, s.maxPositions]).toEqual([
      2,
      undefined,
      undefined,
      1024,
    ]);
  });
});
