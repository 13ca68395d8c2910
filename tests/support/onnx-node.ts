// An ONNX node for the engine's IR from plain attribute values: numbers are ints, arrays ints, strings strings.
import type { Node } from '../../src/engine/webgpu/ir/ir';

export type AttrValues = Record<string, number | string | number[]>;

export function onnxNode(opType: string, attrs: AttrValues, inputs = ['x'], outputs = ['y']): Node {
  return {
    name: opType.toLowerCase(),
    opType,
    domain: '',
    inputs,
    outputs,
    attrs: Object.fromEntries(
      Object.entries(attrs).map(([k, v]) => [
        k,
        typeof v === 'string'
          ? { type: 'string' as const, value: v }
          : Array.isArray(v)
            ? { type: 'ints' as const, value: v }
            : { type: 'int' as const, value: v },
      ]),
    ),
  };
}
