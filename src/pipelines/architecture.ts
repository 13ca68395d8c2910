// What each family's architecture can do, and how: the seeds' taxonomy (ViLT's figure 2) as the runtime sees it.
// A dual encoder scores a pair by the dot product of two embeddings (cheap: texts and images are encoded once);
// a fusion encoder runs a forward pass per pair over both (accurate on fine-grained matches, costly); a single
// stream (ViLT) has only that forward pass, so retrieval scores every pair. VLMo is both: its experts are a dual
// encoder, its fusion mode a fusion encoder. A task the architecture has no head for is UNSUPPORTED_TASK, never
// an answer from some other head.
import { WebvlError } from '../errors';
import { blipHeads, fusionHeads, type ModelConfigJson, type ModelFamily } from './model-family';

/** A call of the runtime API, as the architecture table names it. */
export type TaskName = 'classify' | 'match' | 'caption' | 'ask' | 'embed' | 'search';

/**
 * How a task runs: 'dual encoder' (embeddings and a dot product), 'single stream' (a forward pass per image–text
 * pair from the image's patch embeddings, with no separate encoders at all), 'dual encoder + fusion' (both
 * scores, or a fusion encoder re-ranking the dual encoder's candidates, a forward pass per pair), 'decoder'
 * (generated token by token), 'classifier' (a fusion pass and a head over a fixed answer list).
 */
export type TaskMode = 'dual encoder' | 'single stream' | 'dual encoder + fusion' | 'decoder' | 'classifier';

/** The design of a model and how each task runs on it (null: the architecture cannot do it). */
export interface ArchitectureInfo {
  /** 'dual encoder' (CLIP, SigLIP), 'fused encoders' (ALBEF/BLIP), 'single stream' (ViLT), 'modality experts' (VLMo), 'contrastive captioner' (CoCa), 'generative' (LLaVA, BLIP-2, Florence-2). */
  readonly design:
    | 'dual encoder'
    | 'fused encoders'
    | 'single stream'
    | 'modality experts'
    | 'contrastive captioner'
    | 'generative';
  /** Each call and the mode it runs in on this design; null where the design cannot do it (UNSUPPORTED_TASK). */
  readonly tasks: Readonly<Record<TaskName, TaskMode | null>>;
}

/** What the last request ran, from {@link RuntimeInfo.lastRun}. */
export interface RunMode {
  /** The call that ran ('embed' for embedImage and embedText, 'search' for an index search). */
  readonly task: TaskName;
  /** How it ran on the model's architecture. */
  readonly mode: TaskMode;
  /** Image–text pairs scored by a forward pass each (0 when only embeddings were compared). */
  readonly pairs: number;
}

const ARCHITECTURES: Readonly<Record<ModelFamily, ArchitectureInfo>> = {
  clip: {
    design: 'dual encoder',
    tasks: {
      classify: 'dual encoder',
      match: 'dual encoder',
      caption: null,
      ask: null,
      embed: 'dual encoder',
      search: 'dual encoder',
    },
  },
  siglip: {
    design: 'dual encoder',
    tasks: {
      classify: 'dual encoder',
      match: 'dual encoder',
      caption: null,
      ask: null,
      embed: 'dual encoder',
      search: 'dual encoder',
    },
  },
  blip: {
    design: 'fused encoders',
    tasks: {
      classify: 'dual encoder',
      match: 'dual encoder + fusion',
      caption: 'decoder',
      ask: null,
      embed: 'dual encoder',
      search: 'dual encoder',
    },
  },
  vilt: {
    design: 'single stream',
    tasks: {
      classify: 'single stream',
      match: 'single stream',
      caption: null,
      ask: 'classifier',
      embed: null,
      search: 'single stream',
    },
  },
  vlmo: {
    design: 'modality experts',
    tasks: {
      classify: 'dual encoder',
      match: 'dual encoder + fusion',
      caption: null,
      ask: 'classifier',
      embed: 'dual encoder',
      search: 'dual encoder',
    },
  },
  coca: {
    design: 'contrastive captioner',
    tasks: {
      classify: 'dual encoder',
      match: 'dual encoder',
      caption: 'decoder',
      ask: null,
      embed: 'dual encoder',
      search: 'dual encoder',
    },
  },
  llava: {
    design: 'generative',
    tasks: { classify: null, match: null, caption: null, ask: 'decoder', embed: null, search: null },
  },
  // Florence-2's tasks are prompts of one encoder-decoder; webvl serves those answered in text through caption.
  florence2: {
    design: 'generative',
    tasks: { classify: null, match: null, caption: 'decoder', ask: null, embed: null, search: null },
  },
};

/**
 * The design of a family, with the tasks its folder has no head for taken away: a BLIP folder of one head
 * (blipHeads), a ViLT or VLMo checkpoint fine-tuned for VQA alone (fusionHeads).
 */
export function architectureOf(family: ModelFamily, config: ModelConfigJson = {}): ArchitectureInfo {
  const design = ARCHITECTURES[family];
  const absent: TaskName[] = [];
  const scoringTasks: TaskName[] = ['classify', 'match', 'embed', 'search'];
  if (family === 'blip') {
    const heads = blipHeads(config);
    if (!heads.retrieval) absent.push(...scoringTasks);
    if (!heads.captioning) absent.push('caption');
  }
  if (family === 'vilt' || family === 'vlmo') {
    const heads = fusionHeads(config);
    if (!heads.scoring) absent.push(...scoringTasks);
    if (!heads.vqa) absent.push('ask');
  }
  if (absent.length === 0) return design;
  const tasks = { ...design.tasks };
  for (const t of absent) tasks[t] = null;
  return { design: design.design, tasks };
}

const WHY: Readonly<Record<TaskName, string>> = {
  classify: 'it has no image–text scoring head',
  match: 'it has no image–text scoring head',
  caption: 'it has no caption decoder (load a BLIP, CoCa or Florence-2 model)',
  ask: 'it cannot answer questions (load a ViLT, VLMo or llava-family model)',
  embed: 'it has no image or text embedding: a single-stream model scores each image–text pair in one pass',
  search: 'it has no image–text scoring head',
};

/** UNSUPPORTED_TASK for a task the model's architecture cannot do, naming the family and why. */
export function unsupportedTask(
  url: string,
  family: ModelFamily,
  task: TaskName,
  why = WHY[task],
): WebvlError {
  return new WebvlError('UNSUPPORTED_TASK', `${url} is a ${family} model: ${why}`, { family, task });
}

/** Throws UNSUPPORTED_TASK when the loaded model cannot do the task: its design, or its folder's heads. */
export function requireTask(
  model: { readonly url: string; readonly kind: ModelFamily; readonly architecture: ArchitectureInfo },
  task: TaskName,
): TaskMode {
  const mode = model.architecture.tasks[task];
  if (mode !== null) return mode;
  const byDesign = ARCHITECTURES[model.kind].tasks[task] === null;
  const why = byDesign
    ? WHY[task]
    : `its folder has no head for ${task} (a single-task checkpoint: config.json's architectures name its heads)`;
  throw unsupportedTask(model.url, model.kind, task, why);
}
