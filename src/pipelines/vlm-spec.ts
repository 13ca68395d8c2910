// What the ask/chat pipeline needs to know of a generative VLM folder (the llava family): the chat template,
// the image token and how many positions an image takes, the language model's key/value shape and context.
import { WebvlError } from '../errors';
import type { TextTokenizer, TokenizerConfigJson } from '../text/tokenizer';
import type { KvShape } from './generate/decoder-state';
import type { ModelConfigJson } from './model-family';

export interface VlmSpec {
  /** Jinja chat template (tokenizer_config.json's chat_template, else LLaVA-1.5's). */
  readonly chatTemplate: string;
  /** The strings the template writes for the start and end of a sequence. */
  readonly bosToken: string;
  readonly eosToken: string;
  readonly eosTokenId: number;
  /** The token the template writes where the image goes; its embeddings are replaced by the image features. */
  readonly imageTokenId: number;
  /** Positions an image takes in the language model: how many feature vectors the image encoder returns. */
  readonly imageTokens: number;
  readonly kv: KvShape;
  /** Positions the language model has (prompt, image and answer together). */
  readonly maxPositions: number;
}

/** LLaVA-1.5's conversation format, for folders whose tokenizer_config.json carries no chat_template. */
const LLAVA_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% if loop.first %}<image>\n{% endif %}" +
  "{{ message['content'] }} {% else %}ASSISTANT: {{ message['content'] }}{{ eos_token }}{% endif %}{% endfor %}" +
  '{% if add_generation_prompt %}ASSISTANT:{% endif %}';

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;

function tokenString(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  const content = (t as { content?: unknown } | null)?.content;
  return typeof content === 'string' ? content : undefined;
}

export function vlmSpec(
  config: ModelConfigJson,
  tokenizerConfig: TokenizerConfigJson,
  tokenizer: TextTokenizer,
  generation: { eos_token_id?: number | number[] },
): VlmSpec {
  const t = config.text_config ?? {};
  const bad = (what: string): never => {
    throw new WebvlError('INVALID_MODEL', `config.json of a llava model: ${what}`);
  };
  const layers = isCount(t.num_hidden_layers)
    ? t.num_hidden_layers
    : bad('text_config.num_hidden_layers is not a count');
  const heads = isCount(t.num_attention_heads)
    ? t.num_attention_heads
    : bad('text_config.num_attention_heads is not a count');
  const kvHeads = t.num_key_value_heads ?? heads;
  const headDim = t.head_dim ?? (isCount(t.hidden_size) ? t.hidden_size / heads : undefined);
  if (!isCount(kvHeads) || !isCount(headDim)) bad('text_config has no key/value head count or head size');
  const maxPositions = isCount(t.max_position_embeddings)
    ? t.max_position_embeddings
    : bad('text_config.max_position_embeddings is not a count');
  const imageTokenId = config.image_token_index;
  if (typeof imageTokenId !== 'number' || !Number.isInteger(imageTokenId) || imageTokenId < 0)
    bad('no image_token_index');
  const imageTokens = isCount(config.image_seq_length)
    ? config.image_seq_length
    : bad('image_seq_length is not a count');
  const eosIds = generation.eos_token_id ?? t.eos_token_id;
  const eosTokenId = Array.isArray(eosIds) ? eosIds[0] : eosIds;
  if (typeof eosTokenId !== 'number') bad('no eos_token_id (text_config or generation_config.json)');
  const template = tokenizerConfig.chat_template;
  return {
    chatTemplate: typeof template === 'string' ? template : LLAVA_TEMPLATE,
    bosToken: tokenString(tokenizerConfig.bos_token) ?? '',
    eosToken: tokenString(tokenizerConfig.eos_token) ?? tokenizer.tokenOf(eosTokenId as number) ?? '',
    eosTokenId: eosTokenId as number,
    imageTokenId: imageTokenId as number,
    imageTokens,
    kv: { layers, heads: kvHeads as number, headDim: headDim as number },
    maxPositions,
  };
}
