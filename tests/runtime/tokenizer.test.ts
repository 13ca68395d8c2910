import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { TextTokenizer } from '../../src/text/tokenizer';

// A small BERT-style WordPiece tokenizer written out by hand, so the expected ids below can be worked out
// on paper: lower-casing, whitespace/punctuation split, '##' continuation pieces, [CLS] … [SEP].
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a', 'red', 'circle', 'big', '##ger', 'than', '.', 'star'];
const vocab = Object.fromEntries(VOCAB.map((t, i) => [t, i]));
const special = (id: number) => ({
  id,
  content: VOCAB[id],
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});
const tokenizerJson = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [special(0), special(1), special(2), special(3)],
  normalizer: {
    type: 'BertNormalizer',
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: null,
    lowercase: true,
  },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
    ],
    pair: [],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
    },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
    vocab,
  },
};
const config = { model_max_length: 8, pad_token: '[PAD]', do_lower_case: true };

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
  return 'returned';
}

describe('TextTokenizer', () => {
  const tok = TextTokenizer.fromJson(tokenizerJson, config);

  it('encodes with [CLS]/[SEP], lower-cases, splits punctuation and word pieces', () => {
    // "A RED circle bigger." → a red circle big ##ger .
    expect(tok.encode('A RED circle bigger.')).toEqual([2, 4, 5, 6, 7, 8, 10, 3]);
    expect(tok.encode('a zebra')).toEqual([2, 4, 1, 3]);
  });

  it('pads a batch on the right to its longest row with the pad id and a 0 mask', () => {
    const b = tok.encodeBatch(['a star', 'a red circle']);
    expect(b.dims).toEqual([2, 5]);
    expect(Array.from(b.inputIds, Number)).toEqual([2, 4, 11, 3, 0, 2, 4, 5, 6, 3]);
    expect(Array.from(b.attentionMask, Number)).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
    expect(b.lengths).toEqual([4, 5]);
  });

  it('rejects text longer than model_max_length with TEXT_TOO_LONG (no silent truncation)', () => {
    expect(codeOf(() => tok.encode('a red circle bigger than a star'))).toBe('TEXT_TOO_LONG');
  });

  it('rejects empty text and empty batches with INVALID_INPUT', () => {
    expect(codeOf(() => tok.encode('   '))).toBe('INVALID_INPUT');
    expect(codeOf(() => tok.encodeBatch([]))).toBe('INVALID_INPUT');
  });

  it('decodes ids back to text without special tokens', () => {
    expect(tok.decode([2, 4, 5, 6, 7, 8, 3])).toBe('a red circle bigger');
  });
});
