// Which graph files of a folder a load reads: the family's graphs in the dtype picked for each. CLIP and
// SigLIP take the separate towers when config.json carries the trained logit scale (and bias), and the
// combined onnx/model.onnx otherwise (its logits hold them); BLIP takes the graphs of the heads it names;
// ViLT its patch embedding and fusion graph, VLMo its two experts and fusion graph (a VQA-only VLMo: no text
// expert), CoCa its image and text
// sides and caption decoder (the cached-step decoder optional, as BLIP's); Florence-2 its image encoder,
// embeddings, text encoder and merged decoder.
// Graphs are looked for under onnx/ (transformers.js' layout), then at the folder's root (what optimum-cli export
// onnx and ORTModel.save_pretrained write). A file the plan needs and the folder lacks is MODEL_NOT_FOUND naming
// that file.
import { WebvlError } from '../errors';
import { GRAPH_DIR, graphFile, type ModelDType } from '../models/dtype';
import type { FolderFile, ModelFolder } from '../models/model-folder';
import {
  blipHeads,
  fusionHeads,
  GRAPH_NAMES,
  type GraphRole,
  type ModelConfigJson,
  type ModelFamily,
} from './model-family';

export interface PlannedGraph {
  readonly role: GraphRole;
  readonly file: FolderFile;
  readonly dtype: ModelDType;
}

function notFound(folder: ModelFolder, files: readonly { file: string; dtype: ModelDType }[]): WebvlError {
  const named = files.map((f) => (f.dtype === 'fp32' ? f.file : `${f.file} (the ${f.dtype} variant)`));
  return new WebvlError(
    'MODEL_NOT_FOUND',
    `${folder.url.href} has no ${named.join(' and no ')} (nor at its root)`,
    {
      files: files.map((f) => f.file),
    },
  );
}

export async function planGraphs(
  folder: ModelFolder,
  family: ModelFamily,
  config: ModelConfigJson,
  scoringInConfig: boolean,
  dtypeOf: (graph: string) => ModelDType,
): Promise<PlannedGraph[]> {
  const want = (role: GraphRole) => {
    const dtype = dtypeOf(GRAPH_NAMES[role]);
    return { role, dtype, file: graphFile(GRAPH_NAMES[role], dtype) };
  };
  const open = async (role: GraphRole) => {
    const w = want(role);
    const file = (await folder.open(w.file)) ?? (await folder.open(w.file.slice(GRAPH_DIR.length)));
    return { ...w, found: file };
  };
  const planned = (xs: Awaited<ReturnType<typeof open>>[]): PlannedGraph[] =>
    xs.map((x) => ({ role: x.role, dtype: x.dtype, file: x.found as FolderFile }));
  const discard = (xs: Awaited<ReturnType<typeof open>>[]) => {
    for (const x of xs) x.found?.discard?.();
  };

  const fixed = async (required: GraphRole[], optional: GraphRole[] = []): Promise<PlannedGraph[]> => {
    const got = await Promise.all([...required, ...optional].map(open));
    const missing = got.filter((g) => !g.found && required.includes(g.role));
    if (missing.length) {
      discard(got);
      throw notFound(folder, missing);
    }
    return planned(got.filter((g) => g.found));
  };
  if (family === 'llava') return fixed(['visionEncoder', 'embedTokens', 'decoderMerged']);
  if (family === 'florence2') return fixed(['visionEncoder', 'embedTokens', 'encoder', 'decoderMerged']);
  if (family === 'vilt') return fixed(['vision', 'fusion']);
  if (family === 'vlmo')
    return fixed(fusionHeads(config).scoring ? ['vision', 'text', 'fusion'] : ['vision', 'fusion']);
  if (family === 'coca') return fixed(['vision', 'text', 'decoder'], ['decoderWithPast']);
  if (family === 'blip') {
    const heads = blipHeads(config);
    const required: GraphRole[] = ['vision'];
    if (heads.retrieval) required.push('text', 'itm');
    if (heads.captioning) required.push('decoder');
    return fixed(required, heads.captioning ? ['decoderWithPast'] : []);
  }

  const missing: { file: string; dtype: ModelDType }[] = [];
  const attempt = async (roles: GraphRole[]): Promise<PlannedGraph[] | undefined> => {
    const got = await Promise.all(roles.map(open));
    if (got.every((g) => g.found)) return planned(got);
    discard(got);
    missing.push(...got.filter((g) => !g.found));
    return undefined;
  };
  // Towers need the trained scale from config.json; the combined graph carries it in its logits.
  const towers: GraphRole[] = ['vision', 'text'];
  const order = scoringInConfig ? [towers, ['combined' as const]] : [['combined' as const], towers];
  for (const roles of order) {
    const plan = await attempt(roles);
    if (plan) return plan;
  }
  throw notFound(folder, missing);
}
