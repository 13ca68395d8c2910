// A seeded corpus of broken and hostile ONNX files, derived from a valid model, for the reliability tests.
import { onnx } from 'onnx-proto';
import { rng } from '../../tests/support/random';

export interface HostileModel {
  name: string;
  bytes: Uint8Array;
}

interface Parts {
  graph: onnx.IGraphProto;
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
}

function mutate(base: Uint8Array, edit: (p: Parts) => void): Uint8Array {
  const m = onnx.ModelProto.decode(base);
  const graph = m.graph;
  if (!graph?.node || !graph.initializer) throw new Error('base model has no graph');
  edit({ graph, nodes: graph.node, initializers: graph.initializer });
  return onnx.ModelProto.encode(m).finish();
}

export function hostileModels(base: Uint8Array, seed = 7): HostileModel[] {
  const rand = rng(seed);
  const out: HostileModel[] = [];
  for (const frac of [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999]) {
    const cut = Math.floor(base.length * frac);
    out.push({ name: `truncated at ${cut} of ${base.length} bytes`, bytes: base.slice(0, cut) });
  }
  for (const size of [1, 17, 1000, 65536]) {
    out.push({
      name: `${size} random bytes`,
      bytes: Uint8Array.from({ length: size }, () => Math.floor(rand() * 256)),
    });
  }
  for (let k = 0; k < 6; k++) {
    const b = base.slice();
    for (let i = 0; i < 40; i++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
    out.push({ name: `40 bit flips (variant ${k})`, bytes: b });
  }
  out.push({
    name: 'initializer declares more elements than its data holds',
    bytes: mutate(base, ({ initializers }) => {
      initializers[0].dims = [4096, 4096];
    }),
  });
  out.push({
    name: 'initializer declares 2 GB (536870912 float32) with no data',
    bytes: mutate(base, ({ initializers }) => {
      const t = initializers[0];
      t.dims = [536870912];
      t.rawData = new Uint8Array(0);
      t.floatData = [];
    }),
  });
  out.push({
    name: 'graph input with a huge declared dim',
    bytes: mutate(base, ({ graph }) => {
      const dim = graph.input?.[0]?.type?.tensorType?.shape?.dim;
      if (!dim) throw new Error('base model input has no shape');
      dim[0] = onnx.TensorShapeProto.Dimension.create({ dimValue: 1e12 });
    }),
  });
  out.push({
    name: 'cyclic graph (first node consumes the last node output)',
    bytes: mutate(base, ({ nodes }) => {
      nodes[0].input = [(nodes[nodes.length - 1].output ?? [])[0]];
    }),
  });
  out.push({
    name: 'initializer dtype says int64 but holds float bytes',
    bytes: mutate(base, ({ initializers }) => {
      const t = initializers[0];
      t.dataType = onnx.TensorProto.DataType.INT64;
    }),
  });
  out.push({
    name: 'unknown op type',
    bytes: mutate(base, ({ nodes }) => {
      nodes[1].opType = 'NoSuchOpAnywhere';
    }),
  });
  out.push({
    name: 'node input that nothing produces',
    bytes: mutate(base, ({ nodes }) => {
      (nodes[2].input ?? [])[0] = 'a_value_nobody_makes';
    }),
  });
  return out;
}
