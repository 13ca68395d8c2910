// Florence-2's settings read from its folder (tasks, generation rules) and the logits processors its captions
// apply, on hand-computed cases of transformers' NoRepeatNGramLogitsProcessor.
import { describe, expect, it } from 'vitest';
import { banRepeatedNgrams, florence2Spec, taskPlan } from '../../src/pipelines/florence2';
import { answerRegions, answerText } from '../../src/pipelines/florence2-answer';

const KV = { layers: 2, heads: 4, headDim: 8 };
const PROCESSOR = {
  tasks_answer_post_processing_type: {
    '<OCR>': 'pure_text',
    '<OD>': 'description_with_bboxes',
    '<CAPTION_TO_PHRASE_GROUNDING>': 'phrase_grounding',
    '<REGION_TO_SEGMENTATION>': 'polygons',
    '<HEATMAP>': 'heatmap',
  },
  task_prompts_without_inputs: {
    '<CAPTION>': 'What does the image describe?',
    '<OCR>': 'What is the text in the image?',
    '<OD>': 'Locate the objects with category name in the image.',
    '<HEATMAP>': 'Where does the image draw the eye?',
  },
  task_prompts_with_input: {
    '<CAPTION_TO_PHRASE_GROUNDING>': 'Locate the phrases in the caption: {input}',
    '<REGION_TO_SEGMENTATION>': 'What is the polygon mask of region {input}',
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
  it('reads the generation rules and every task, with how its answer is read', () => {
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
    expect(taskPlan(s, '<CAPTION>')).toEqual({
      prompt: 'What does the image describe?',
      answer: 'pure_text',
    });
    expect(taskPlan(s, '<OD>')).toEqual({
      prompt: 'Locate the objects with category name in the image.',
      answer: 'description_with_bboxes',
    });
    // As construct_prompts builds it from '<CAPTION_TO_PHRASE_GROUNDING>a red circle'.
    expect(taskPlan(s, '<CAPTION_TO_PHRASE_GROUNDING>', 'a red circle')).toEqual({
      prompt: 'Locate the phrases in the caption: a red circle',
      answer: 'phrase_grounding',
    });
  });

  it('an unknown task, an answer webvl does not read, an input given or missing are INVALID_INPUT naming the tasks served', () => {
    const cases: [string, string | undefined, string, RegExp][] = [
      ['describe it', undefined, 'options.task', /not a task/],
      ['<HEATMAP>', undefined, 'options.task', /heatmap, which webvl does not read/],
      ['<OD>', 'cats', 'options.taskInput', /takes no input/],
      ['<CAPTION_TO_PHRASE_GROUNDING>', undefined, 'options.taskInput', /needs options.taskInput/],
    ];
    for (const [task, input, field, why] of cases)
      expect(() => taskPlan(spec(), task, input), task).toThrow(
        expect.objectContaining({
          code: 'INVALID_INPUT',
          details: { field },
          message: expect.stringMatching(
            new RegExp(
              `${why.source}.*tasks served: <CAPTION>, <OCR>, <OD>, <CAPTION_TO_PHRASE_GROUNDING>, <REGION_TO_SEGMENTATION>$`,
            ),
          ),
        }),
      );
  });

  it('missing task prompts, ids that are not ids, or an undeclared cache are INVALID_MODEL', () => {
    const cases: [object, object, typeof KV | undefined, RegExp][] = [
      [{}, GENERATION, KV, /task_prompts_without_inputs/],
      [{ task_prompts_without_inputs: { '<CAPTION>': 3 } }, GENERATION, KV, /prompt string/],
      [PROCESSOR, { ...GENERATION, forced_bos_token_id: -1 }, KV, /forced_bos_token_id/],
      [PROCESSOR, { ...GENERATION, no_repeat_ngram_size: 1.5 }, KV, /no_repeat_ngram_size/],
      [PROCESSOR, { ...GENERATION, max_length: 1 }, KV, /max_length to be from 2 to 100000/],
      [PROCESSOR, { ...GENERATION, max_length: 100_001 }, KV, /max_length/],
      [PROCESSOR, { eos_token_id: 2 }, KV, /decoder_start_token_id/],
      [PROCESSOR, GENERATION, undefined, /past keys\/values/],
    ];
    const huge = { text_config: { max_position_embeddings: 1e9 } };
    expect(() => florence2Spec(huge, PROCESSOR, GENERATION, KV)).toThrow(
      expect.objectContaining({
        code: 'INVALID_MODEL',
        message: expect.stringMatching(/max_position_embeddings/),
      }),
    );
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

function expectNear(got: readonly (readonly number[])[], want: number[][]): void {
  expect(got.map((b) => b.length)).toEqual(want.map((b) => b.length));
  for (const [i, box] of got.entries())
    for (const [j, v] of box.entries()) expect(v).toBeCloseTo(want[i][j], 9);
}

describe("Florence-2's answers, read as transformers.js' post_process_generation reads them", () => {
  it('the text keeps location tokens but not <s> and </s>', () => {
    expect(answerText('<s>a cat<loc_1><loc_2></s>')).toBe('a cat<loc_1><loc_2>');
  });

  it('boxes: four bins after a label, each at its centre, x by the width and y by the height', () => {
    const text =
      'a cat<loc_0><loc_499><loc_999><loc_9><loc_10><loc_20><loc_30><loc_40>dog<loc_1><loc_2><loc_3>';
    // The second box has no text before it: it repeats the label. Three bins make no box.
    const got = answerRegions(text, 'description_with_bboxes', 200, 100);
    expect([got.shape, got.labels]).toEqual(['box', ['a cat', 'a cat']]);
    expectNear(got.boxes, [
      [0.1, 49.95, 199.9, 0.95],
      [2.1, 2.05, 6.1, 4.05],
    ]);
  });

  it('polygons: runs of bins split by <sep>, points at bin centres; a lone x dropped; no phrase needed', () => {
    // transformers' parse_description_with_polygons_from_text_and_spans, 'polygons' (an empty phrase allowed):
    // one region of two polygons (the <sep>), the second with 7 bins (its last x dropped).
    const text =
      '<loc_100><loc_200><loc_300><loc_200><loc_300><loc_400><sep><loc_0><loc_999><loc_10><loc_20><loc_30><loc_40><loc_50>';
    const got = answerRegions(text, 'polygons', 1000, 500);
    expect([got.shape, got.labels, got.boxes]).toEqual(['polygon', [''], []]);
    expect(got.polygons).toHaveLength(1);
    expectNear(got.polygons?.[0] ?? [], [
      [100.5, 100.25, 300.5, 100.25, 300.5, 200.25],
      [0.5, 499.75, 10.5, 10.25, 30.5, 20.25],
    ]);
    // Fewer than four tokens make no region.
    expect(answerRegions('<loc_1><loc_2><loc_3>', 'polygons', 10, 10).polygons).toEqual([]);
  });

  it('open-vocabulary detection: polygons per <poly> … </poly> after a phrase where it writes <poly>, else boxes', () => {
    const text =
      'a cat<poly><loc_0><loc_0><loc_10><loc_0><loc_10><loc_10></poly><poly><loc_5><loc_5><loc_6><loc_6></poly>';
    const got = answerRegions(text, 'description_with_bboxes_or_polygons', 100, 100);
    // Each <poly> instance is a region with the phrase's label.
    expect([got.shape, got.labels]).toEqual(['polygon', ['a cat', 'a cat']]);
    expectNear(got.polygons?.[0] ?? [], [[0.05, 0.05, 1.05, 0.05, 1.05, 1.05]]);
    expectNear(got.polygons?.[1] ?? [], [[0.55, 0.55, 0.65, 0.65]]);
    const boxes = answerRegions(
      'a dog<loc_0><loc_0><loc_999><loc_999>',
      'description_with_bboxes_or_polygons',
      100,
      100,
    );
    expect([boxes.shape, boxes.labels, boxes.polygons]).toEqual(['box', ['a dog'], undefined]);
    expectNear(boxes.boxes, [[0.05, 0.05, 99.95, 99.95]]);
  });

  it('quads: eight bins after a label (OCR with regions)', () => {
    const bins = [0, 1, 2, 3, 4, 5, 6, 7].map((b) => `<loc_${b * 100}>`).join('');
    const got = answerRegions(`</s>TOTAL 12${bins}x`, 'ocr', 1000, 500);
    expect(got.shape).toBe('quad');
    expect(got.labels).toEqual(['</s>TOTAL 12']);
    expectNear(got.boxes, [[0.5, 50.25, 200.5, 150.25, 400.5, 250.25, 600.5, 350.25]]);
  });
});
