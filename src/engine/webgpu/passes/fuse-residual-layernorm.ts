// Residual + LayerNorm fusion: LayerNorm(a + b) becomes one LayerNorm node that adds the residual itself and,
// when the sum is read elsewhere (the next skip connection of a pre-LN transformer), also writes the sum.
import type { Graph } from '../ir/ir';
import { WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { replaceNodes, rewriteEach } from './pattern';

/** Returns the number of residual adds folded into layer norms. */
export function fuseResidualLayerNorm(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  return rewriteEach(graph, (ln, view) => {
    if (ln.domain !== WEBVL_DOMAIN || ln.opType !== 'LayerNorm' || ln.inputs[3] || ln.outputs.length > 1)
      return false;
    const v = view();
    const add = v.producedBy(ln.inputs[0], 'Add');
    if (!add || add.inputs.some((i) => v.isConstant(i))) return false;
    const [a, b] = add.inputs;
    const dims = (x: string) => shapes.get(x)?.dims.join();
    const sameShape = dims(a) === dims(add.outputs[0]) && dims(b) === dims(add.outputs[0]);
    if (!sameShape || shapes.get(a)?.dtype !== 'float32' || shapes.get(b)?.dtype !== 'float32') return false;
    const sum = add.outputs[0];
    const sumReadElsewhere = v.outputs.has(sum) || (v.consumers.get(sum) ?? []).some((n) => n !== ln);
    const node = {
      ...ln,
      attrs: { ...ln.attrs },
      inputs: [a, ln.inputs[1], ln.inputs[2] ?? '', b],
      outputs: sumReadElsewhere ? [ln.outputs[0], sum] : [ln.outputs[0]],
    };
    replaceNodes(graph, [add, ln], node);
    return true;
  });
}
