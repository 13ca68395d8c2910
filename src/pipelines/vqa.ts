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

/** How many of the classifier's best answers a result lists. */
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
  // One step: the whole answer at once, its id the answer's index in id2label.
  if ((await onToken?.({ tokenId: best, text, step: 0 })) === true)
    throw new WebvlError('ABORTED', 'the answer was cancelled');
  return {
    text,
    tokenIds: model.tokenizer.contentIds(text),
    stop: 'eos',
    promptTokens: textTokens + patches,
    reusedTokens: 0,
    cacheOnDevice: false,
    answers: order.slice(0, TOP_ANSWERS).map(([p, i]) => ({ answer: answers[i], probability: p })),
  };
}
