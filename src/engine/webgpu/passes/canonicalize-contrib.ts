// onnxruntime's contrib ops (what its transformer optimizer writes, com.microsoft domain) rewritten into the
// standard ops and our fused ones, so the usual passes and kernels serve them: SkipLayerNormalization becomes
// Add + LayerNorm (the residual fusion folds the Add back in), BiasGelu / FastGelu Add + Gelu (the Linear
// fusion absorbs both into a matmul epilogue), Gelu / QuickGelu our Gelu, the Simplified (RMS) norms our
// LayerNorm with rms=1, RotaryEmbedding our Rotary in its cache form (positions read on the GPU). Runs first,
// before shapes are inferred.
import { attrFloat, attrInt, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
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

/** The nodes that replace one contrib node, or undefined to leave it (load() then refuses it). */
function rewrite(node: Node): Node[] | undefined {
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
      // Inputs x, position_ids, cos_cache, sin_cache → Rotary(x, cos, sin, positions); its lowering reads the
      // layout (3-D [B, S, H·D] or 4-D [B, H, S, D]) off x. onnxruntime ignores `scale`.
      const [input, positions, cos, sin] = node.inputs;
      const int = (name: string) => ({ type: 'int' as const, value: attrInt(node, name, 0) });
      return [
        {
          name: node.name,
          opType: 'Rotary',
          domain: WEBVL_DOMAIN,
          attrs: {
            interleaved: int('interleaved'),
            num_heads: int('num_heads'),
            rotary_embedding_dim: int('rotary_embedding_dim'),
          },
          inputs: [input, cos, sin, positions],
          outputs: [out],
        },
      ];
    }
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
    const replacement = rewrite(node);
    if (!replacement) continue;
    replaceNodesWith(graph, [node], replacement);
    count++;
  }
  return count;
}
