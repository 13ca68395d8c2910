// Florence-2's answers as transformers.js' Florence2Processor.post_process_generation reads them: the text decoded
// with its special tokens kept but <s> and </s>, and, for region tasks, the location tokens (<loc_0> … <loc_999>,
// bins of a thousandth of the image) turned into boxes in the image's pixels: four per box (x1, y1, x2, y2), eight
// per quad (OCR with regions), each after the label it follows (a region with no text repeats the last label).

/** How a task's answer is read (preprocessor_config.json's tasks_answer_post_processing_type). */
export type AnswerKind = 'pure_text' | 'bboxes' | 'description_with_bboxes' | 'phrase_grounding' | 'ocr';

export const ANSWER_KINDS: readonly string[] = [
  'pure_text',
  'bboxes',
  'description_with_bboxes',
  'phrase_grounding',
  'ocr',
] satisfies AnswerKind[];

/** Regions a Florence-2 region task found. */
export interface CaptionRegions {
  /** 'box': [x1, y1, x2, y2]; 'quad': [x1, y1, x2, y2, x3, y3, x4, y4] (OCR with regions). */
  readonly shape: 'box' | 'quad';
  /** The text before each region's location tokens, trimmed (a region without text repeats the last label). */
  readonly labels: readonly string[];
  /** Each region's corners in the image's pixels: the centre of each location bin, scaled to the image. */
  readonly boxes: readonly (readonly number[])[];
}

const BINS = 1000;
const loc = '<loc_(\\d+)>';
const QUAD = new RegExp(`(.+?)${loc.repeat(8)}`, 'gm');
const BOX = new RegExp(`([^<]+)?${loc.repeat(4)}`, 'gm');

/** The answer's text: decoded with special tokens kept, then <s> and </s> removed (as transformers.js does). */
export function answerText(decodedWithSpecials: string): string {
  return decodedWithSpecials.replaceAll('<s>', '').replaceAll('</s>', '');
}

/** The regions of a region task's answer text, in an image of `width` × `height` pixels. */
export function answerRegions(text: string, kind: AnswerKind, width: number, height: number): CaptionRegions {
  const shape = kind === 'ocr' ? 'quad' : 'box';
  const labels: string[] = [];
  const boxes: number[][] = [];
  for (const [, label, ...bins] of text.matchAll(shape === 'quad' ? QUAD : BOX)) {
    labels.push(label ? label.trim() : (labels.at(-1) ?? ''));
    // Add 0.5: the centre of the bin.
    boxes.push(bins.map((b, i) => ((Number(b) + 0.5) / BINS) * (i % 2 === 0 ? width : height)));
  }
  return { shape, labels, boxes };
}
