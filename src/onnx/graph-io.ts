// The declared input/output shapes and element types of an ONNX graph, read straight from the protobuf wire
// format: only ModelProto.graph → GraphProto.input/output → ValueInfoProto.name/type → tensor_type is parsed,
// and every other field (initializers included) is skipped, so this costs microseconds even for large files.
// Used to size caption beams (pipelines/caption-limits.ts) without a backend.
import { Cursor, children } from './proto-wire';

/** A dimension: a number when the graph fixes it, undefined when it is symbolic ('batch_size') or absent. */
export type DeclaredShape = readonly (number | undefined)[];

export interface GraphIo {
  readonly inputs: ReadonlyMap<string, DeclaredShape>;
  readonly outputs: ReadonlyMap<string, DeclaredShape>;
  /** The ONNX element type of each input and output (1 float32, 10 float16, 7 int64, …) where declared. */
  readonly elementTypes: ReadonlyMap<string, number>;
}

/** TensorProto.DataType.FLOAT16. */
export const ONNX_FLOAT16 = 10;

const utf8 = new TextDecoder();

interface ValueInfo {
  readonly name: string;
  readonly shape: DeclaredShape;
  readonly elementType: number | undefined;
}

function valueInfo(bytes: Uint8Array, start: number, end: number): ValueInfo | undefined {
  const [name] = children(bytes, start, end, 1);
  if (!name) return undefined;
  const shape: (number | undefined)[] = [];
  let elementType: number | undefined;
  for (const [ts, te] of children(bytes, start, end, 2)) {
    for (const [tt, tte] of children(bytes, ts, te, 1)) {
      // TypeProto.Tensor: elem_type = 1 (a varint), shape = 2.
      const c = new Cursor(bytes, tt, tte);
      while (!c.done) {
        const f = c.next();
        if (f.no === 1 && f.value !== undefined) elementType = f.value;
      }
      for (const [ss, se] of children(bytes, tt, tte, 2)) {
        for (const [ds, de] of children(bytes, ss, se, 1)) {
          let dim: number | undefined;
          const c = new Cursor(bytes, ds, de);
          while (!c.done) {
            const f = c.next();
            if (f.no === 1 && f.value !== undefined) dim = f.value;
          }
          shape.push(dim);
        }
      }
    }
  }
  return { name: utf8.decode(bytes.subarray(name[0], name[1])), shape, elementType };
}

/** Declared shapes of the graph's inputs and outputs; undefined when the bytes are not a readable model. */
export function graphIo(model: Uint8Array): GraphIo | undefined {
  try {
    const [graph] = children(model, 0, model.length, 7);
    if (!graph) return undefined;
    const read = (no: number) =>
      children(model, graph[0], graph[1], no)
        .map(([s, e]) => valueInfo(model, s, e))
        .filter((v) => v !== undefined);
    const inputs = read(11);
    const outputs = read(12);
    const shapes = (vs: ValueInfo[]) => new Map(vs.map((v) => [v.name, v.shape]));
    return {
      inputs: shapes(inputs),
      outputs: shapes(outputs),
      elementTypes: new Map(
        [...inputs, ...outputs].flatMap((v) =>
          v.elementType === undefined ? [] : [[v.name, v.elementType] as const],
        ),
      ),
    };
  } catch {
    return undefined;
  }
}

const utf8Name = (bytes: Uint8Array, [s, e]: [number, number]) => utf8.decode(bytes.subarray(s, e));

/** A varint field numbered `no` in [start, end), or undefined. */
function varintField(bytes: Uint8Array, start: number, end: number, no: number): number | undefined {
  const c = new Cursor(bytes, start, end);
  let found: number | undefined;
  while (!c.done) {
    const f = c.next();
    if (f.no === no && f.value !== undefined) found = f.value;
  }
  return found;
}

/**
 * Whether a graph computes in float16 anywhere: a float16 initializer, constant, input or output, or a Cast to
 * float16, in the graph or its subgraphs. Read from the wire format, tensor bytes skipped; a model that does not
 * parse says false.
 */
export function holdsFloat16(model: Uint8Array): boolean {
  const isHalfTensor = ([s, e]: [number, number]) => varintField(model, s, e, 2) === ONNX_FLOAT16;
  const graphHalf = (start: number, end: number): boolean => {
    // GraphProto: initializer 5, input 11, output 12; node 1 → attribute 5 → t 5 / tensors 10 / g 6 / graphs 11.
    if (children(model, start, end, 5).some(isHalfTensor)) return true;
    const io = [...children(model, start, end, 11), ...children(model, start, end, 12)];
    if (io.some(([s, e]) => valueInfo(model, s, e)?.elementType === ONNX_FLOAT16)) return true;
    for (const [ns, ne] of children(model, start, end, 1)) {
      const [op] = children(model, ns, ne, 4);
      const cast = op !== undefined && utf8Name(model, op) === 'Cast';
      for (const [as, ae] of children(model, ns, ne, 5)) {
        const [name] = children(model, as, ae, 1);
        if (cast && name && utf8Name(model, name) === 'to' && varintField(model, as, ae, 3) === ONNX_FLOAT16)
          return true;
        if ([...children(model, as, ae, 5), ...children(model, as, ae, 10)].some(isHalfTensor)) return true;
        for (const [gs, ge] of [...children(model, as, ae, 6), ...children(model, as, ae, 11)])
          if (graphHalf(gs, ge)) return true;
      }
    }
    return false;
  };
  try {
    return children(model, 0, model.length, 7).some(([s, e]) => graphHalf(s, e));
  } catch {
    return false;
  }
}
