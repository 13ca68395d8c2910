// The generation head (engine/backend.ts NextTokenHead) as graph nodes: the last position's logits, a repetition
// penalty if asked (ops/repetition-penalty.ts), then ArgMax, or TopK and SampleTopK (ops/sample.ts). Added once at
// load, so every plan of the decoder ends in one token id.
import { WebvlError } from '../../../errors';
import { NEXT_TOKEN, type NextTokenHead, REPEATED_TOKENS, REPETITION_PENALTY, SAMPLING } from '../../backend';
import { freshName, type Graph, WEBVL_DOMAIN } from '../ir/ir';

/** The most candidates SampleTopK draws from (TopK runs k rounds over the vocabulary). */
export const MAX_SAMPLING_TOP_K = 256;

export function withNextTokenHead(graph: Graph, head: NextTokenHead): Graph {
  const logits = graph.outputs.find((o) => o.name === head.logits);
  if (!logits) throw new WebvlError('INVALID_MODEL', `the decoder has no output '${head.logits}'`);
  if (!Number.isInteger(head.topK) || head.topK < 1 || head.topK > MAX_SAMPLING_TOP_K)
    throw new WebvlError(
      'INVALID_INPUT',
      `topK must be an integer in [1, ${MAX_SAMPLING_TOP_K}], got ${head.topK}`,
    );
  const last = freshName('last_logits');
  const lastIndex = freshName('last_index');
  const initializers = new Map(graph.initializers);
  initializers.set(lastIndex, { location: 'cpu', dtype: 'int64', dims: [], data: new BigInt64Array([-1n]) });
  const batch = logits.shape?.[0] ?? 'batch';
  const nodes = [
    ...graph.nodes,
    {
      name: freshName('gather_last'),
      opType: 'Gather',
      domain: '',
      attrs: { axis: { type: 'int' as const, value: 1 } },
      inputs: [head.logits, lastIndex],
      outputs: [last],
    },
  ];
  const inputs = [...graph.inputs];
  let chosenFrom = last;
  if (head.repetitionPenalty) {
    const vocab = logits.shape?.[2];
    chosenFrom = freshName('penalized_logits');
    nodes.push({
      name: freshName('repetition_penalty'),
      opType: 'RepetitionPenalty',
      domain: WEBVL_DOMAIN,
      attrs: {},
      inputs: [last, REPEATED_TOKENS, REPETITION_PENALTY],
      outputs: [chosenFrom],
    });
    const words = typeof vocab === 'number' ? Math.ceil(vocab / 32) : 'words';
    inputs.push(
      { name: REPEATED_TOKENS, dtype: 'int32', shape: [batch, words] },
      { name: REPETITION_PENALTY, dtype: 'float32', shape: [batch] },
    );
  }
  if (head.topK === 1) {
    nodes.push({
      name: freshName('argmax'),
      opType: 'ArgMax',
      domain: '',
      attrs: { axis: { type: 'int', value: -1 }, keepdims: { type: 'int', value: 0 } },
      inputs: [chosenFrom],
      outputs: [NEXT_TOKEN],
    });
  } else {
    const k = freshName('k');
    const values = freshName('top_values');
    const indices = freshName('top_indices');
    initializers.set(k, {
      location: 'cpu',
      dtype: 'int64',
      dims: [1],
      data: new BigInt64Array([BigInt(head.topK)]),
    });
    nodes.push(
      {
        name: freshName('topk'),
        opType: 'TopK',
        domain: '',
        attrs: { axis: { type: 'int', value: -1 } },
        inputs: [chosenFrom, k],
        outputs: [values, indices],
      },
      {
        name: freshName('sample'),
        opType: 'SampleTopK',
        domain: WEBVL_DOMAIN,
        attrs: {},
        inputs: [values, indices, SAMPLING],
        outputs: [NEXT_TOKEN],
      },
    );
    inputs.push({ name: SAMPLING, dtype: 'float32', shape: [batch, 5] });
  }
  const outputs = graph.outputs.filter((o) => head.keepLogits || o.name !== head.logits);
  outputs.push({ name: NEXT_TOKEN, dtype: 'int64', shape: [batch] });
  return { ...graph, nodes, initializers, inputs, outputs };
}
