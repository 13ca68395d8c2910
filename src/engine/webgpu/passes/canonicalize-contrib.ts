// onnxruntime's contrib ops (what its transformer optimizer writes, com.microsoft domain) rewritten into the
// standard ops and our fused ones, so the usual passes and kernels serve them: SkipLayerNormalization becomes
// Add + LayerNorm (the residual fusion folds the Add back in), BiasGelu / FastGelu Add + Gelu (the Linear
// fusion absorbs both into a matmul epilogue), Gelu / QuickGelu our Gelu, the Simplified (RMS) norms our
// LayerNorm with rms=1, RotaryEmbedding and MRotaryEmbedding our Rotary in its cache form (positions read on the
// GPU), the hybrid decoders' LinearAttentionGate and GatedRMSNorm standard ops; opset 23's standard RotaryEmbedding
// our Rotary too. Runs first, before shapes are inferred.
import { hostTensor } from '../../tensor';
import { attrFloat, attrInt, attrInts, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import { replaceNodesWith } from './pattern';

const MS = 'com.microsoft';

function add(name: string, a: string, b: string, out: string): Node {
  return { name, opType: 'Add', domain: '', attrs: {}, inputs: [a, b], outputs: [out] };
}

function gelu(name: string, x: string, out: string, approximate: 'none' | 'tanh' | 'quick'): Node {
  return {
    name,
    opType: 'Gelu',
    domain: WEBVL_DOMAIN,
    attrs: { approximate: { type: 'string', value: approximate } },
    inputs: [x],
    outputs: [out],
  };
}

function layerNorm(node: Node, inputs: string[], outputs: string[], rms: boolean): Node {
  return {
    name: node.name,
    opType: 'LayerNorm',
    domain: WEBVL_DOMAIN,
    attrs: {
      epsilon: { type: 'float', value: attrFloat(node, 'epsilon', 1e-5) },
      ...(rms ? { rms: { type: 'int', value: 1 } } : {}),
    },
    inputs,
    outputs,
  };
}

function standard(name: string, opType: string, inputs: string[], output: string): Node {
  return { name, opType, domain: '', attrs: {}, inputs, outputs: [output] };
}

/**
 * GatedRMSNorm: Y = X · rsqrt(mean(X²) + ε) · scale · SiLU(gate), the mean over each group of C = |scale| values
 * of the last axis: X read as rows of C, one RMS LayerNorm, read back in X's shape, times SiLU(gate). Needs scale
 * as a constant (its length fixes the rows).
 */
function gatedRmsNorm(graph: Graph, node: Node): Node[] | undefined {
  const [x, scale, gate] = node.inputs;
  const weight = graph.initializers.get(scale);
  if (!weight || weight.dims.length !== 1 || !gate) return undefined;
  const n = node.name;
  const rowsShape = `${n}_rows_shape`;
  graph.initializers.set(
    rowsShape,
    hostTensor('int64', [2], BigInt64Array.from([-1n, BigInt(weight.dims[0])])),
  );
  return [
    standard(`${n}_shape`, 'Shape', [x], `${n}_x_shape`),
    standard(`${n}_rows`, 'Reshape', [x, rowsShape], `${n}_x_rows`),
    layerNorm(node, [`${n}_x_rows`, scale, ''], [`${n}_normed_rows`], true),
    standard(`${n}_normed`, 'Reshape', [`${n}_normed_rows`, `${n}_x_shape`], `${n}_normed_x`),
    standard(`${n}_gate_sigmoid`, 'Sigmoid', [gate], `${n}_gate_sigmoid_out`),
    standard(`${n}_gate_silu`, 'Mul', [gate, `${n}_gate_sigmoid_out`], `${n}_gate_silu_out`),
    standard(n, 'Mul', [`${n}_normed_x`, `${n}_gate_silu_out`], node.outputs[0]),
  ];
}

/** LinearAttentionGate: decay = decay_scale · Softplus(a + dt_bias); beta = Sigmoid(b) where asked for. */
function linearAttentionGate(node: Node): Node[] | undefined {
  const [a, dtBias, decayScale, b] = node.inputs;
  const [decay, beta] = node.outputs;
  if (beta && !b) return undefined;
  const n = node.name;
  const nodes = [
    standard(`${n}_biased`, 'Add', [a, dtBias], `${n}_biased_out`),
    standard(`${n}_softplus`, 'Softplus', [`${n}_biased_out`], `${n}_softplus_out`),
    standard(n, 'Mul', [`${n}_softplus_out`, decayScale], decay),
  ];
  if (beta) nodes.push(standard(`${n}_beta`, 'Sigmoid', [b], beta));
  return nodes;
}

/**
 * Our Rotary in its cache form over `inputs` (x, cos, sin, positions; positions absent: caches with a row per
 * token), with the node's interleaved / num_heads / rotary_embedding_dim and `extra` attributes. Its lowering reads
 * the layout (3-D [B, S, H·D] or 4-D [B, H, S, D]) off x.
 */
function rotary(node: Node, inputs: string[], extra: Node['attrs'] = {}): Node {
  const int = (name: string) => ({ type: 'int' as const, value: attrInt(node, name, 0) });
  return {
    name: node.name,
    opType: 'Rotary',
    domain: WEBVL_DOMAIN,
    attrs: {
      interleaved: int('interleaved'),
      num_heads: int('num_heads'),
      rotary_embedding_dim: int('rotary_embedding_dim'),
      ...(inputs[3] ? {} : { token_caches: { type: 'int' as const, value: 1 } }),
      ...extra,
    },
    inputs: inputs[3] ? inputs : inputs.slice(0, 3),
    outputs: [node.outputs[0]],
  };
}

/** The nodes that replace one contrib node, or undefined to leave it (load() then refuses it). */
function rewrite(graph: Graph, node: Node): Node[] | undefined {
  // Opset 23's RotaryEmbedding: inputs x, cos_cache, sin_cache, position_ids (absent: caches per token).
  if (node.opType === 'RotaryEmbedding' && (node.domain === '' || node.domain === 'ai.onnx'))
    return [rotary(node, [...node.inputs])];
  // onnxruntime registers SimplifiedLayerNormalization in the default domain, the rest under com.microsoft.
  const simplified =
    node.opType === 'SimplifiedLayerNormalization' && (node.domain === '' || node.domain === 'ai.onnx');
  if (node.domain !== MS && !simplified) return undefined;
  const [x, second] = node.inputs;
  const out = node.outputs[0];
  switch (node.opType) {
    case 'Gelu':
      return [gelu(node.name, x, out, 'none')];
    case 'QuickGelu':
      return Math.abs(attrFloat(node, 'alpha', 1.702) - 1.702) < 1e-6
        ? [gelu(node.name, x, out, 'quick')]
        : undefined;
    case 'BiasGelu':
    case 'FastGelu': {
      const approximate = node.opType === 'BiasGelu' ? 'none' : 'tanh';
      if (!second) return [gelu(node.name, x, out, approximate)];
      const sum = `${node.name}_biased`;
      return [add(`${node.name}_bias`, x, second, sum), gelu(node.name, sum, out, approximate)];
    }
    case 'SkipLayerNormalization':
    case 'SkipSimplifiedLayerNormalization': {
      const rms = node.opType === 'SkipSimplifiedLayerNormalization';
      const [input, skip, gamma] = node.inputs;
      const beta = rms ? '' : (node.inputs[3] ?? '');
      const bias = rms ? node.inputs[3] : node.inputs[4];
      // Outputs: output, mean, inv_std_var, input_skip_bias_sum; the statistics are not produced here.
      const [y, mean, invStd, sum] = node.outputs;
      if (mean || invStd) return undefined;
      const nodes: Node[] = [];
      let residual = skip;
      if (bias) {
        residual = `${node.name}_skip_bias`;
        nodes.push(add(`${node.name}_add_bias`, skip, bias, residual));
      }
      nodes.push(layerNorm(node, [input, gamma, beta, residual], sum ? [y, sum] : [y], rms));
      return nodes;
    }
    case 'RotaryEmbedding': {
      // Inputs x, position_ids, cos_cache, sin_cache. onnxruntime ignores `scale`.
      const [input, positions, cos, sin] = node.inputs;
      return [rotary(node, [input, cos, sin, positions])];
    }
    case 'MRotaryEmbedding': {
      // Inputs x, position_ids [3, B, S], cos_cache, sin_cache: three position streams. Packed batching is a form
      // we do not lower (load() then refuses the node).
      if (attrInt(node, 'is_packed_batching', 0) !== 0) return undefined;
      const [input, positions, cos, sin] = node.inputs;
      return [
        rotary(node, [input, cos, sin, positions], {
          mrope_section: { type: 'ints', value: attrInts(node, 'mrope_section') ?? [] },
          mrope_layout: { type: 'int', value: attrInt(node, 'mrope_layout', 0) },
        }),
      ];
    }
    case 'GatedRMSNorm':
      return gatedRmsNorm(graph, node);
    case 'LinearAttentionGate':
      return linearAttentionGate(node);
    case 'SimplifiedLayerNormalization': {
      if (attrInt(node, 'axis', -1) !== -1 || node.outputs[1]) return undefined;
      return [layerNorm(node, [x, second, ''], [out], true)];
    }
    default:
      return undefined;
  }
}

/** Returns the number of contrib nodes rewritten. */
export function canonicalizeContrib(graph: Graph): number {
  let count = 0;
  for (const node of [...graph.nodes]) {
    const replacement = rewrite(graph, node);
    if (!replacement) continue;
    replaceNodesWith(graph, [node], replacement);
    count++;
  }
  return count;
}
