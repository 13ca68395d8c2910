// The CPU twins' tensor: dims + float64 values (ints and bools are stored as exact integers in the doubles).
export interface CpuTensor {
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

export function cpuTensor(dims: readonly number[], data?: ArrayLike<number>): CpuTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const values = data ? Float64Array.from(data) : new Float64Array(n);
  if (values.length !== n) throw new Error(`cpuTensor: ${values.length} values for dims [${dims}]`);
  return { dims: [...dims], data: values };
}

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** Coordinates of flat index `i` in `dims` (row-major). */
export function coordsOf(i: number, dims: readonly number[]): number[] {
  const c = new Array<number>(dims.length);
  let rem = i;
  for (let d = dims.length - 1; d >= 0; d--) {
    c[d] = rem % dims[d];
    rem = Math.floor(rem / dims[d]);
  }
  return c;
}

/** Flat index of `coords` in `dims`, reading broadcast (size-1 or missing leading) dims at 0. */
export function broadcastIndex(coords: readonly number[], dims: readonly number[]): number {
  const offset = coords.length - dims.length;
  let idx = 0;
  for (let d = 0; d < dims.length; d++) idx = idx * dims[d] + (dims[d] === 1 ? 0 : coords[d + offset]);
  return idx;
}

export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1 && d !== 1 && v !== d) throw new Error(`cannot broadcast [${shapes.join('] [')}]`);
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}
