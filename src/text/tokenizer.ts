// Text → int64 input_ids / attention_mask batches over @huggingface/tokenizers (the same tokenizer.json the
// Python side wrote). Policy for long text: we REJECT with TEXT_TOO_LONG rather than truncate, because a
// silently shortened label or query changes what is being compared; callers see the limit in the error.
import { Tokenizer } from '@huggingface/tokenizers';
import { WebvlError } from '../errors';

export interface TokenizerConfigJson {
  model_max_length?: number;
  pad_token?: string | { content: string };
  do_lower_case?: boolean;
  [key: string]: unknown;
}

export interface EncodedBatch {
  /** Row-major [batch, seqLen] int64 ids, right-padded with the pad id. */
  readonly inputIds: BigInt64Array;
  /** 1 for real tokens, 0 for padding. */
  readonly attentionMask: BigInt64Array;
  readonly dims: readonly [number, number];
  /** Tokens per text before padding (special tokens included). */
  readonly lengths: readonly number[];
}

export interface EncodeOptions {
  /** Pad every row to this length instead of the longest row. */
  padTo?: number;
  /** Whether to add [CLS]/[SEP]-style special tokens (the post-processor's template). Default true. */
  addSpecialTokens?: boolean;
}

// Large sentinel HF writes when a tokenizer has no real limit.
const NO_LIMIT = 1e12;

/**
 * Ids of the special tokens that carry no text ([CLS], [SEP], [PAD], …): tokenizer.json's added tokens marked
 * special, except the unknown token, which stands for characters the vocabulary lacks and so is content.
 */
function contentlessIds(tokenizerJson: object): Set<number> {
  const json = tokenizerJson as { added_tokens?: { id?: unknown; content?: unknown; special?: unknown }[] };
  const unk = (tokenizerJson as { model?: { unk_token?: unknown } }).model?.unk_token;
  const ids = new Set<number>();
  for (const t of json.added_tokens ?? []) {
    if (t.special === true && typeof t.id === 'number' && t.content !== unk) ids.add(t.id);
  }
  return ids;
}

export class TextTokenizer {
  readonly maxLength: number;
  readonly padId: number;

  private constructor(
    private readonly tokenizer: Tokenizer,
    config: TokenizerConfigJson,
    private readonly specialIds: ReadonlySet<number>,
  ) {
    const max = config.model_max_length;
    this.maxLength = typeof max === 'number' && max > 0 && max < NO_LIMIT ? max : Number.POSITIVE_INFINITY;
    const pad = typeof config.pad_token === 'string' ? config.pad_token : config.pad_token?.content;
    this.padId = (pad !== undefined ? tokenizer.token_to_id(pad) : undefined) ?? 0;
  }

  static fromJson(tokenizerJson: object, config: TokenizerConfigJson): TextTokenizer {
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tokenizerJson, config);
    } catch (e) {
      throw new WebvlError('INVALID_MODEL', `tokenizer.json could not be read: ${(e as Error).message}`);
    }
    return new TextTokenizer(tok, config, contentlessIds(tokenizerJson));
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  tokenOf(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  /**
   * Ids of a prompt a chat template has already rendered (its special tokens written out as text, which the
   * tokenizer's added tokens recognise); nothing is added. Its length is the caller's to check, against the
   * language model's context rather than the tokenizer's limit.
   */
  promptIds(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * The ids that carry the text, without special tokens. Two texts with the same content ids are the same
   * text to the model (case, spacing and characters the normalizer drops make no difference).
   */
  contentIds(text: string): number[] {
    if (typeof text !== 'string' || text.trim() === '') {
      throw new WebvlError('INVALID_INPUT', 'text is empty', { reason: 'empty-text' });
    }
    return this.tokenizer
      .encode(text, { add_special_tokens: false })
      .ids.filter((id) => !this.specialIds.has(id));
  }

  /** Whether the text has anything for the model to read (see contentIds). */
  hasContent(text: string): boolean {
    return typeof text === 'string' && text.trim() !== '' && this.contentIds(text).length > 0;
  }

  /**
   * Ids of one text (special tokens per the template unless turned off). Text that leaves only special
   * tokens (control or format characters, a lone surrogate, '[PAD]') is INVALID_INPUT: nothing to encode.
   */
  encode(text: string, addSpecialTokens = true): number[] {
    if (this.contentIds(text).length === 0) {
      throw new WebvlError(
        'INVALID_INPUT',
        `text ${JSON.stringify(text.slice(0, 40))} has no tokens once special and dropped characters are removed`,
        { reason: 'no-tokens' },
      );
    }
    const ids = this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    if (ids.length > this.maxLength) {
      throw new WebvlError(
        'TEXT_TOO_LONG',
        `text has ${ids.length} tokens; this model takes at most ${this.maxLength}`,
        { tokens: ids.length, maxLength: this.maxLength, text: text.slice(0, 80) },
      );
    }
    return ids;
  }

  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): EncodedBatch {
    if (!Array.isArray(texts) || texts.length === 0) {
      throw new WebvlError('INVALID_INPUT', 'no texts given', { reason: 'empty-batch' });
    }
    const rows = texts.map((t) => this.encode(t, options.addSpecialTokens ?? true));
    const longest = Math.max(...rows.map((r) => r.length));
    const seqLen = options.padTo ?? longest;
    if (seqLen < longest) {
      throw new WebvlError('TEXT_TOO_LONG', `a text has ${longest} tokens; padTo is ${seqLen}`);
    }
    const inputIds = new BigInt64Array(rows.length * seqLen).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(rows.length * seqLen);
    rows.forEach((ids, b) => {
      for (let i = 0; i < ids.length; i++) {
        inputIds[b * seqLen + i] = BigInt(ids[i]);
        attentionMask[b * seqLen + i] = 1n;
      }
    });
    return { inputIds, attentionMask, dims: [rows.length, seqLen], lengths: rows.map((r) => r.length) };
  }

  /** Text of the ids; no ids (a caption that ended at once) is the empty string. */
  decode(ids: readonly number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }
}
