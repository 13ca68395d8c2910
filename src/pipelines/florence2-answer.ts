// Florence-2's answers as transformers.js' Florence2Processor.post_process_generation reads them: the text decoded
// with its special tokens kept but <s> and </s>, and, for region tasks, the location tokens (<loc_0> … <loc_999>,
// bins of a thousandth of the image) turned into boxes in the image's pixels: four per box (x1, y1, x2, y2), eight
// per quad (OCR with regions), each after the label it follows (a region with no text repeats the last label).
// Segmentation answers are polygons, read as transformers' Florence2PostProcessor reads them
// (parse_description_with_polygons_from_text_and_spans; transformers.js does not parse them): runs of location
// tokens split by <sep> are polygons of one region, <poly> … </poly> delimit a region's, each point at the centre
// of its bins as boxes are.

/** How a task's answer is read (preprocessor_config.json's tasks_answer_post_processing_type). */
export type AnswerKind =
  | 'pure_text'
  | 'bboxes'
  | 'description_with_bboxes'
  | 'phrase_grounding'
  | 'ocr'
  | 'polygons'
  | 'description_with_bboxes_or_polygons';

export const ANSWER_KINDS: readonly string[] = [
  'pure_text',
  'bboxes',
  'description_with_bboxes',
  'phrase_grounding',
  'ocr',
  'polygons',
  'description_with_bboxes_or_polygons',
] satisfies AnswerKind[];

/** Regions a Florence-2 region task found. */
export interface CaptionRegions {
  /**
   * 'box': [x1, y1, x2, y2]; 'quad': [x1, y1, x2, y2, x3, y3, x4, y4] (OCR with regions); 'polygon': each region's
   * outline (segmentation), in `polygons`.
   */
  readonly shape: 'box' | 'quad' | 'polygon';
  /**
   * The text before each region's location tokens, trimmed (a box or quad without text repeats the last label; a
   * polygon region's label is its phrase, empty where the task writes none).
   */
  readonly labels: readonly string[];
  /** Each box or quad's corners in the image's pixels: the centre of each location bin, scaled to the image. */
  readonly boxes: readonly (readonly number[])[];
  /**
   * 'polygon' only: each region's polygons (one or more), each [x1, y1, x2, y2, …] in the image's pixels, as
   * boxes' corners are.
   */
  readonly polygons?: readonly (readonly (readonly number[])[])[];
}

const BINS = 1000;
const loc = '<loc_(\\d+)>';
const QUAD = new RegExp(`(.+?)${loc.repeat(8)}`, 'gm');
const BOX = new RegExp(`([^<]+)?${loc.repeat(4)}`, 'gm');

/** The answer's text: decoded with special tokens kept, then <s> and </s> removed (as transformers.js does). */
export function answerText(decodedWithSpecials: string): string {
  return decodedWithSpecials.replaceAll('<s>', '').replaceAll('</s>', '');
}

/** Pixels of bin `b` on an axis `size` pixels long: the bin's centre. */
const atBin = (b: number, size: number) => ((b + 0.5) / BINS) * size;

/** The regions of a region task's answer text, in an image of `width` × `height` pixels. */
export function answerRegions(text: string, kind: AnswerKind, width: number, height: number): CaptionRegions {
  if (kind === 'polygons') return polygonRegions(text, width, height, true);
  // Open-vocabulary detection answers in polygons where it writes <poly>, else in boxes.
  if (kind === 'description_with_bboxes_or_polygons' && text.includes('<poly>'))
    return polygonRegions(text, width, height, false);
  const shape = kind === 'ocr' ? 'quad' : 'box';
  const labels: string[] = [];
  const boxes: number[][] = [];
  for (const [, label, ...bins] of text.matchAll(shape === 'quad' ? QUAD : BOX)) {
    labels.push(label ? label.trim() : (labels.at(-1) ?? ''));
    boxes.push(bins.map((b, i) => atBin(Number(b), i % 2 === 0 ? width : height)));
  }
  return { shape, labels, boxes };
}

const POLY_TOKEN = '(?:<loc_\\d+>|<sep>|<poly>|</poly>)';
/** Runs of four or more polygon tokens, after a phrase (or alone, where a phrase may be empty). */
const POLY_RUN = new RegExp(`([^<]+${POLY_TOKEN}{4,})`, 'g');
const POLY_RUN_BARE = new RegExp(`(?:${POLY_TOKEN}{4,})`, 'g');
/** A phrase: what comes before the first location or polygon token. */
const PHRASE = /^\s*(.*?)(?=<od>|<\/od>|<box>|<\/box>|<bbox>|<\/bbox>|<loc_|<poly>)/;
const POLY_INSTANCE = /<poly>(.*?)<\/poly>/g;
const POLYGON = /((?:<loc_\d+>)+)(?:<sep>|$)/g;

/**
 * transformers' parse_description_with_polygons_from_text_and_spans (no box at the start): each run of polygon
 * tokens is a region labelled with the phrase before it; `bare` lets that phrase be empty (the 'polygons' answer
 * type).
 */
function polygonRegions(text: string, width: number, height: number, bare: boolean): CaptionRegions {
  const labels: string[] = [];
  const polygons: number[][][] = [];
  for (const m of text.matchAll(bare ? POLY_RUN_BARE : POLY_RUN)) {
    const run = m[1] ?? m[0];
    const stripped = run.replace(/^<loc_\d+>/, '');
    if (!stripped && !bare) continue;
    const phrase = PHRASE.exec(stripped);
    if (!phrase) continue;
    const parts =
      run.includes('<poly>') && run.includes('</poly>')
        ? [...run.matchAll(POLY_INSTANCE)].map((p) => p[1])
        : [run];
    for (const part of parts) {
      const outlines = [...part.matchAll(POLYGON)].map(([, locs]) => {
        const bins = [...locs.matchAll(/<loc_(\d+)>/g)].map((b) => Number(b[1]));
        // An odd count leaves a lone x: dropped.
        return bins
          .slice(0, bins.length - (bins.length % 2))
          .map((b, i) => atBin(b, i % 2 === 0 ? width : height));
      });
      if (outlines.length === 0) continue;
      labels.push(phrase[0].trim());
      polygons.push(outlines);
    }
  }
  return { shape: 'polygon', labels, boxes: [], polygons };
}
