// Loads an ONNX fixture and its NumPy reference (written by scripts/make_fixtures.py) in the page.
import { type DType, type HostTensor, hostTensor } from '../../src/engine/tensor';

interface JsonTensor {
  dtype: string;
  dims: number[];
  data: number[];
}

export interface Fixture {
  model: Uint8Array;
  inputs: Record<string, HostTensor>;
  outputs: Record<string, HostTensor>;
}

const NUMPY_DTYPES: Record<string, DType> = {
  float32: 'float32',
  int64: 'int64',
  int32: 'int32',
  uint8: 'uint8',
  bool: 'bool',
};

function fromJson(t: JsonTensor): HostTensor {
  const dtype = NUMPY_DTYPES[t.dtype];
  if (!dtype) throw new Error(`fixture dtype ${t.dtype} not handled`);
  return hostTensor(dtype, t.dims, t.data);
}

export async function loadFixture(name: string): Promise<Fixture> {
  const base = `/e2e/fixtures/${name}/`;
  const [model, ref] = await Promise.all([
    fetch(`${base}model.onnx`).then((r) => r.arrayBuffer()),
    fetch(`${base}reference.json`).then(
      (r) => r.json() as Promise<Record<string, Record<string, JsonTensor>>>,
    ),
  ]);
  const map = (o: Record<string, JsonTensor>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromJson(v)]));
  return { model: new Uint8Array(model), inputs: map(ref.inputs), outputs: map(ref.outputs) };
}

/** Max |a-b| and max |a-b|/(|b|+1e-6) over two float tensors. */
export function compare(actual: HostTensor, expected: HostTensor): { maxAbs: number; maxRel: number } {
  if (actual.dims.join(',') !== expected.dims.join(',')) {
    throw new Error(`shape [${actual.dims}] != expected [${expected.dims}]`);
  }
  let maxAbs = 0;
  let maxRel = 0;
  const a = actual.data as Float32Array;
  const b = expected.data as Float32Array;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    const r = d / (Math.abs(b[i]) + 1e-6);
    if (!(r <= maxRel)) maxRel = Number.isNaN(r) ? Number.POSITIVE_INFINITY : r;
  }
  return { maxAbs, maxRel };
}
