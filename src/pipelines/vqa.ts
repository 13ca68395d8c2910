// Asking a VQA classifier (ViLT, VLMo's fusion mode): the question and the image's patch embeddings go through
// the fusion graph once, and the answer is the top entry of the classifier over the model's answer list
// (config.json's id2label), as ViltForQuestionAnswering answers. A conversation is read as the models were
// trained to read it: earlier turns flattened in front of the question ('q1 a1 q2'), no cache to keep.
import { WebvlError } from '../errors';
import type { RgbaImage } from '../vision/preprocess';
import type { AnswerResult, AnswerToken, ChatMessage } from './ask';
import { disposeTensor, encodeImages, imageTokens } from './encode';
import { fusionLogits } from './fusion';
import type { LoadedModel } from './loaded-model';
import { softmax } from './math';
import type { Stopwatch } from './timings';

/** How many of the classifier's best answers a result lists, unless the call says (options.topAnswers). */
export const TOP_ANSWERS = 5;

/** The text the classifier reads for a conversation: every message's text in order, space-separated. */
export function classifierQuestion(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content.trim()).join(' ');
}

export async function answerByClassifier(
  model: LoadedModel,
  image: RgbaImage,
  messages: readonly ChatMessage[],
  onToken: ((t: AnswerToken) => undefined | boolean | Promise<undefined | boolean>) | undefined,
  watch: Stopwatch,
  topAnswers = TOP_ANSWERS,
): Promise<AnswerResult> {
  const answers = model.answers;
  if (!answers || !model.fusion) throw new WebvlError('INTERNAL', 'answerByClassifier: not a VQA classifier');
  const question = classifierQuestion(messages);
  const textTokens = model.tokenizer.encode(question).length; // TEXT_TOO_LONG / INVALID_INPUT before any run
  const enc = await encodeImages(model, [image], watch);
  let logits: Float32Array;
  let patches: number;
  try {
    const tokens = imageTokens(enc);
    patches = tokens.dims[1];
    const out = await fusionLogits(model, tokens, [0], [question], ['vqa_logits'], watch);
    logits = out.vqa_logits!.data;
  } finally {
    disposeTensor(enc.tokens);
  }
  if (logits.length !== answers.length) {
    throw new WebvlError(
      'INVALID_MODEL',
      `the VQA head scores ${logits.length} answers; config.json's id2label names ${answers.length}`,
    );
  }
  const probs = softmax(Array.from(logits));
  const order = probs.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const best = order[0][1];
  const text = answers[best];
  watch.ran('ask', 'classifier', 1);
  // The answer is chosen whole; it streams as its tokens, as a generated answer would, so onToken and
  // tokenIds agree with a generative model's (ids of the tokenizer, the text so far).
  const tokenIds = model.tokenizer.contentIds(text);
  for (const [step, tokenId] of tokenIds.entries()) {
    const sofar = model.tokenizer.decode(tokenIds.slice(0, step + 1));
    if ((await onToken?.({ tokenId, text: sofar, step })) === true)
      throw new WebvlError('ABORTED', 'the answer was cancelled');
  }
  return {
    text,
    tokenIds,
    stop: 'eos',
    promptTokens: textTokens + patches,
    reusedTokens: 0,
    cacheOnDevice: false,
    answers: order.slice(0, topAnswers).map(([p, i]) => ({ answer: answers[i], probability: p })),
  };
}
