// A first run of every graph of a freshly loaded model (a grey image, a one-word text) through the same pipeline
// code that real requests use. onnxruntime-web's WebGPU provider and our engine build their kernels on a
// graph's first run with a given shape; doing that during load() means the user's first request does not pay
// for it, and "loaded" means "usable at full speed".

import type { RgbaImage } from '../vision/preprocess';
import { outputSize } from '../vision/preprocessor-config';
import { answer } from './ask';
import { captionGreedy } from './caption';
import { dryRun } from './dry-run';
import { disposeTensor, encodeImages, encodeTexts } from './encode';
import { captionFlorence, type Florence2 } from './florence2';
import { type FusionOutput, fusionLogits } from './fusion';
import { itmProbabilities } from './itm';
import type { LoadedModel } from './loaded-model';
import type { GraphRole } from './model-family';
import { Stopwatch } from './timings';

/** A mid-grey RGBA image of the size given. */
function greyImage(height: number, width: number): RgbaImage {
  return { width, height, data: new Uint8Array(width * height * 4).fill(128) };
}

/**
 * Runs each graph once (through dryRun: where the backend can, it only prepares); `onGraph` hears which graph
 * is about to run. Graphs that do not feed each other run
 * concurrently (vision with text; then ITM, fusion and the decoder, all on the image tokens), so that a GPU backend
 * compiles their pipelines (createComputePipelineAsync) at the same time rather than one graph after another.
 */
export async function warmUp(loaded: LoadedModel, onGraph: (graph: GraphRole) => void): Promise<void> {
  if (loaded.vlm) return warmUpVlm(loaded, onGraph);
  if (loaded.florence) return warmUpFlorence(loaded, loaded.florence, onGraph);
  const model = dryRun(loaded);
  const grey = greyImage(
    ...(model.plan.resize?.kind === 'exact' ? outputSize(model.plan, 1, 1) : outputSize(model.plan, 64, 64)),
  );
  // A CLIP/SigLIP folder may hold the combined graph instead of the towers: it serves both sides.
  onGraph(model.vision ? 'vision' : 'combined');
  const vision = encodeImages(model, [grey], new Stopwatch());
  if (model.text) onGraph('text');
  const texts = model.text || model.combined ? encodeTexts(model, ['a'], new Stopwatch()) : undefined;
  const [images] = await Promise.all([vision, texts]);
  try {
    const rest: Promise<unknown>[] = [];
    if (model.itm && images.tokens) {
      onGraph('itm');
      rest.push(itmProbabilities(model, images.tokens, [0], ['a'], new Stopwatch()));
    }
    if (model.fusion && images.tokens) {
      onGraph('fusion');
      // Only the heads the folder has: a single-task checkpoint lacks the other's logits.
      const { match, ask } = model.architecture.tasks;
      const heads: FusionOutput[] = [
        ...(match ? (['itm_logits'] as const) : []),
        ...(ask ? (['vqa_logits'] as const) : []),
      ];
      rest.push(fusionLogits(model, images.tokens, [0], ['a'], heads, new Stopwatch()));
    }
    if (model.decoder && model.decoderWithPast && images.tokens) {
      onGraph('decoder');
      // Two tokens: the first step runs decoder_model, the second decoder_with_past_model.
      rest.push(captionGreedy(model, images.tokens, { maxTokens: 2, minTokens: 2 }, new Stopwatch()));
    }
    await Promise.all(rest);
  } finally {
    if (images.tokens) disposeTensor(images.tokens);
  }
}

/**
 * A generative VLM answers one token about a grey image: the image encoder, the embeddings, the decoder's first
 * step and (for a second token) its cached step, as a real question runs them. Its merged decoder picks its
 * branch from an input's value, so it cannot be prepared from shapes alone: these are real runs.
 */
async function warmUpVlm(model: LoadedModel, onGraph: (graph: GraphRole) => void): Promise<void> {
  const grey = greyImage(...outputSize(model.plan, 64, 64));
  onGraph('visionEncoder');
  const { conversation } = await answer(
    model,
    grey,
    [{ role: 'user', content: 'a' }],
    undefined,
    { maxTokens: 2, splitTiles: false }, // an Idefics3 image as its global tile alone
    new Stopwatch(),
  );
  conversation.release();
}

/**
 * Florence-2 captions a grey image in two tokens: the image and text encoders, then the merged decoder's first
 * step and its cached step (real runs, as for a generative VLM: the branch is picked by an input's value).
 */
async function warmUpFlorence(
  model: LoadedModel,
  florence: Florence2,
  onGraph: (graph: GraphRole) => void,
): Promise<void> {
  const grey = greyImage(...outputSize(model.plan, 64, 64));
  onGraph('visionEncoder');
  await captionFlorence(model, florence, grey, { maxTokens: 2, minTokens: 2 }, new Stopwatch());
}
