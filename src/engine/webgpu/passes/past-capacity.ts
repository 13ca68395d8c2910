// Decoders whose positions come from the length of their past (no position_ids input: BLIP's text decoder,
// BART, Florence-2, Whisper) read a KV cache held at a fixed capacity as a decoder with position_ids does: one plan for
// every step. The plan is built for pasts of `capacity` slots and takes the slots filled as input PAST_LENGTH.
//
// What the graph derives from the past's length is found by specializing it twice, for capacities C and
// C + 1, and comparing the two plans node by node. They must have the same nodes; int attributes may differ
// (shapes and strides), and so may constants read as shape parameters. A folded integer constant read as data
// that is exactly one greater in the second plan is a position: it becomes (value − C) + PAST_LENGTH. Every
// attention whose keys include the past hides slots [PAST_LENGTH, C) through its additive mask. Anything else
// that differs, or a past read by anything but a concat feeding fused attention, makes the graph ineligible:
// the session then runs the exact plan on pasts cut to their filled length (session.ts).
// Two capacities are two points: a value that agrees at both is taken as a constant, and one that steps by one
// as the length itself. A graph that clamped or halved the length (no decoder we know of does) would be
// misread; past-capacity.test.ts checks the forms exporters write against onnxruntime-node.
import { isCrossAttentionPast, PAST_LENGTH } from '../../backend';
import type { HostTensor } from '../../tensor';
import { strides as contiguous, sliceRanges, toValues } from '../ir/const-eval';
import {
  type Attr,
  attrInt,
  attrInts,
  consumers,
  freshName,
  type Graph,
  type Node,
  opKey,
  WEBVL_DOMAIN,
} from '../ir/ir';
import { int, ints, NodeBuilder } from './node-builder';
import { type Specialized, specialize } from './optimize';
import { isSteeringSlot } from './run-time-values';

/** Past inputs are [batch, heads, positions, headDim]. */
const PAST_AXIS = 2;
/** What the mask adds for a slot the attention must not see (transformers' finfo(float32).min). */
const HIDDEN = -3.4028234663852886e38;

/**
 * The graph's past key/value inputs that grow a position a step: a seq2seq decoder's cross-attention pasts
 * (Optimum's past_key_values.N.encoder.*) span the encoder's positions, fixed for the whole sequence, and are fed
 * as they are.
 */
export function pastInputs(graph: Graph): string[] {
  return graph.inputs
    .filter((v) => v.name.startsWith('past_key_values.') && !isCrossAttentionPast(v.name))
    .map((v) => v.name);
}

/**
 * The plan's graph for pasts of `dims[past][2]` slots of which input PAST_LENGTH (int64 scalar) are filled, or
 * undefined when the graph's use of its past's length is not one this pass can rewrite.
 */
export function specializeAtCapacity(
  source: Graph,
  dims: Readonly<Record<string, readonly number[]>>,
  values: ReadonlyMap<string, HostTensor> = new Map(),
): Specialized | undefined {
  const pasts = pastInputs(source);
  if (pasts.length === 0) return undefined;
  const capacity = dims[pasts[0]]?.[PAST_AXIS];
  if (pasts.some((p) => dims[p]?.length !== 4 || dims[p][PAST_AXIS] !== capacity)) return undefined;
  const wider: Record<string, readonly number[]> = { ...dims };
  const grow = (d: readonly number[], axis: number) => d.map((n, i) => (i === axis ? n + 1 : n));
  for (const p of pasts) wider[p] = grow(dims[p], PAST_AXIS);
  // An attention mask covers the past and the new positions.
  const mask = dims.attention_mask;
  if (mask) wider.attention_mask = grow(mask, mask.length - 1);
  const keep = { keepLookups: true };
  const at = specialize(source, dims, values, new Map(), keep);
  const positions = positionConstants(at, specialize(source, wider, values, new Map(), keep));
  const overPast = positions && attentionsOverPast(at, pasts);
  if (!positions || !overPast) return undefined;
  rewrite(at, capacity, positions, overPast.attentions);
  readCacheInPlace(at, overPast.concats);
  return at;
}

/**
 * For a decoder that takes position_ids (its attention_mask hides a cache's free slots, so nothing in the graph
 * depends on how many are filled): the plan for pasts of `dims[past][2]` slots that reads them in place, as
 * specializeAtCapacity's plans do; undefined when its attentions do not read past ‖ new (nothing to gain).
 */
export function specializeInPlace(
  source: Graph,
  dims: Readonly<Record<string, readonly number[]>>,
  values: ReadonlyMap<string, HostTensor> = new Map(),
): Specialized | undefined {
  const pasts = pastInputs(source);
  if (pasts.length === 0) return undefined;
  const at = specialize(source, dims, values);
  const overPast = attentionsOverPast(at, pasts);
  if (!overPast || !readCacheInPlace(at, overPast.concats)) return undefined;
  return at;
}

type Uses = Map<string, { node: Node; slot: number }[]>;

/**
 * Where plan `b` (one more past slot) differs from plan `a`: the constants of `a` read as data that count
 * positions (each element one greater in `b`), with their readers; undefined when anything else differs.
 */
function positionConstants(a: Specialized, b: Specialized): Uses | undefined {
  const ga = a.graph;
  const gb = b.graph;
  if (ga.nodes.length !== gb.nodes.length || ga.outputs.length !== gb.outputs.length) return undefined;
  // b's value names as a's: node outputs get fresh names in each plan.
  const same = new Map<string, string>(ga.inputs.map((v) => [v.name, v.name]));
  const uses: Uses = new Map();
  for (let i = 0; i < ga.nodes.length; i++) {
    const na = ga.nodes[i];
    const nb = gb.nodes[i];
    if (opKey(na) !== opKey(nb) || na.inputs.length !== nb.inputs.length) return undefined;
    if (na.outputs.length !== nb.outputs.length || !sameAttrs(na.attrs, nb.attrs)) return undefined;
    for (let slot = 0; slot < na.inputs.length; slot++) {
      const ia = na.inputs[slot];
      const ib = nb.inputs[slot];
      const ta = ia ? ga.initializers.get(ia) : undefined;
      const tb = ib ? gb.initializers.get(ib) : undefined;
      if (ta && tb) {
        if (ta === tb || sameTensor(ta, tb) || SHAPE_ONLY[opKey(na)] === slot || sameFill(ta, tb)) continue;
        if (na.opType === 'Slice' && isSteeringSlot(na, slot)) {
          // The node is a Gather from here on: its other inputs are the window, already compared.
          if (!sliceToGather(a, b, na, nb, uses)) return undefined;
          break;
        }
        if (isSteeringSlot(na, slot) || !countsOneMore(ta, tb)) return undefined;
        use(uses, ia, na, slot);
      } else if (ta || tb || (ia ? same.get(ib) : ib) !== ia) return undefined;
    }
    na.outputs.forEach((o, k) => {
      same.set(nb.outputs[k], o);
    });
  }
  return uses;
}

function use(uses: Uses, name: string, node: Node, slot: number): void {
  const readers = uses.get(name) ?? [];
  readers.push({ node, slot });
  uses.set(name, readers);
}

/** Inputs that only give a shape: a different value there is a different (capacity-sized) shape, no more. */
const SHAPE_ONLY: Record<string, number> = { Reshape: 1, Expand: 1, Tile: 1, ConstantOfShape: 0 };

/**
 * A Slice of a model constant at a window that moves with the past (`position_ids[:, past : past + s]`)
 * becomes a Gather of the window's positions, which are then rewritten as positions; false when the
 * window does anything else (grows, moves on two axes, strides).
 */
function sliceToGather(a: Specialized, b: Specialized, na: Node, nb: Node, uses: Uses): boolean {
  const dataDims = a.shapes.get(na.inputs[0])?.dims;
  const outDims = a.shapes.get(na.outputs[0])?.dims;
  if (!dataDims || !outDims || dataDims.join() !== b.shapes.get(nb.inputs[0])?.dims.join()) return false;
  const wa = sliceRangesOf(a.graph, na, dataDims);
  const wb = sliceRangesOf(b.graph, nb, dataDims);
  if (!wa || !wb) return false;
  const moved = wa.start.flatMap((x, axis) => (x === wb.start[axis] ? [] : [axis]));
  if (moved.length !== 1) return false;
  const axis = moved[0];
  const count = outDims[axis];
  const moves = wb.start[axis] === wa.start[axis] + 1 && wb.count[axis] === count && wa.count[axis] === count;
  if (wa.step[axis] !== 1 || !moves) return false;
  // Every other axis is taken whole, so the Gather's output is the Slice's.
  if (outDims.some((d, i) => i !== axis && d !== dataDims[i])) return false;
  const window = freshName(`${na.name}_window`);
  a.graph.initializers.set(window, {
    location: 'cpu',
    dtype: 'int64',
    dims: [count],
    data: BigInt64Array.from({ length: count }, (_, i) => BigInt(wa.start[axis] + i)),
  });
  a.shapes.set(window, { dtype: 'int64', dims: [count] });
  na.opType = 'Gather';
  na.inputs = [na.inputs[0], window];
  na.attrs = { axis: int(axis) };
  use(uses, window, na, 1);
  return true;
}

/** A Slice's start, step and count per axis of data `dims` (ONNX's clamping), when its parameters are constants. */
function sliceRangesOf(
  graph: Graph,
  node: Node,
  dims: readonly number[],
): ReturnType<typeof sliceRanges> | undefined {
  const read = (slot: number) => {
    const t = node.inputs[slot] ? graph.initializers.get(node.inputs[slot]) : undefined;
    return t ? Array.from(toValues(t).data) : undefined;
  };
  const [starts, ends, axes, steps] = [read(1), read(2), read(3), read(4)];
  if (!starts || !ends || (node.inputs[3] && !axes) || (node.inputs[4] && !steps)) return undefined;
  return sliceRanges(dims, starts, ends, axes, steps);
}

/** Attributes equal but for int ones (dims, strides, axes sized by the past). */
function sameAttrs(a: Record<string, Attr>, b: Record<string, Attr>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => {
    const x = a[k];
    const y = b[k];
    if (!y || x.type !== y.type) return false;
    if (x.type === 'int' || x.type === 'ints') return true;
    if (x.type === 'graph') return false;
    if (x.type === 'tensor') return sameTensor(x.value, y.value as HostTensor);
    return JSON.stringify(x.value) === JSON.stringify(y.value);
  });
}

function sameTensor(a: HostTensor, b: HostTensor): boolean {
  if (a.dtype !== b.dtype || a.dims.join() !== b.dims.join()) return false;
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Both tensors one value throughout, the same one (a mask of ones over the past, say), whatever their dims. */
function sameFill(a: HostTensor, b: HostTensor): boolean {
  if (a.dtype !== b.dtype || a.data.length === 0 || b.data.length === 0) return false;
  const first = (a.data as ArrayLike<number | bigint>)[0];
  const uniform = (t: HostTensor) => Array.prototype.every.call(t.data, (v: number | bigint) => v === first);
  return uniform(a) && uniform(b);
}

/** Integer tensors of one shape, each element of `b` one more than `a`'s: positions counted from the past. */
function countsOneMore(a: HostTensor, b: HostTensor): boolean {
  if (a.dtype !== b.dtype || (a.dtype !== 'int64' && a.dtype !== 'int32')) return false;
  if (a.dims.join() !== b.dims.join()) return false;
  const x = toValues(a).data;
  const y = toValues(b).data;
  return x.every((v, i) => y[i] === v + 1);
}

/**
 * The fused attentions whose keys are a past concatenated with the new keys (on the positions axis), and those
 * concatenations; undefined when a past, or its concatenation, is read by anything else.
 */
function attentionsOverPast(
  at: Specialized,
  pasts: readonly string[],
): { attentions: Node[]; concats: Node[] } | undefined {
  const readers = consumers(at.graph);
  const found = new Set<Node>();
  const concats: Node[] = [];
  for (const past of pasts) {
    for (const concat of readers.get(past) ?? []) {
      const isConcat =
        (concat.domain === '' && concat.opType === 'Concat') ||
        (concat.domain === WEBVL_DOMAIN && concat.opType === 'StridedConcat');
      const axis = attrInt(concat, 'axis', 0);
      if (!isConcat || concat.inputs[0] !== past || (axis + 4) % 4 !== PAST_AXIS) return undefined;
      concats.push(concat);
      const present = concat.outputs[0];
      const total = at.shapes.get(present)?.dims[PAST_AXIS];
      for (const r of readers.get(present) ?? []) {
        // An Identity that only names a graph output (an inlined If's result).
        if (r.domain === '' && r.opType === 'Identity' && !readers.has(r.outputs[0])) continue;
        if (r.domain !== WEBVL_DOMAIN || r.opType !== 'Attention') return undefined;
        if (r.inputs[0] === present || r.inputs[3] === present) return undefined;
        if (r.inputs[1] !== present) continue; // values: hidden keys give them weight 0
        if (attrInts(r, 'k_shape')?.[PAST_AXIS] !== total || attrInt(r, 'k_start', 0) !== 0) return undefined;
        found.add(r);
      }
    }
  }
  return found.size > 0 ? { attentions: [...found], concats } : undefined;
}

function rewrite(at: Specialized, capacity: number, positions: Uses, attentions: readonly Node[]): void {
  const { graph, shapes } = at;
  graph.inputs.push({ name: PAST_LENGTH, dtype: 'int64', shape: [] });
  shapes.set(PAST_LENGTH, { dtype: 'int64', dims: [] });
  const b = new NodeBuilder(graph, shapes, 'past_capacity');
  let length32: string | undefined;
  for (const [name, readers] of positions) {
    const t = graph.initializers.get(name) as HostTensor;
    const dtype = t.dtype as 'int32' | 'int64';
    const base = b.constant(
      dtype,
      t.dims,
      Array.from(toValues(t).data, (v) => v - capacity),
    );
    if (dtype === 'int32' && !length32) length32 = b.add('Cast', [PAST_LENGTH], { to: int(6) })[0];
    const [position] = b.add('Add', [base, dtype === 'int32' ? (length32 as string) : PAST_LENGTH]);
    for (const { node, slot } of readers) node.inputs[slot] = position;
  }
  // Key j < capacity is cache slot j, seen while j < PAST_LENGTH; the keys after are this step's, always seen.
  const masks = new Map<number, string>();
  const maskOf = (keys: number): string => {
    let mask = masks.get(keys);
    if (!mask) {
      const slot = b.constant(
        'int64',
        [keys],
        Array.from({ length: keys }, (_, j) => (j < capacity ? j : -1)),
      );
      const [seen] = b.add('Less', [slot, PAST_LENGTH]);
      const zero = b.constant('float32', [], [0]);
      const hidden = b.constant('float32', [], [HIDDEN]);
      [mask] = b.add('Where', [seen, zero, hidden]);
      masks.set(keys, mask);
    }
    return mask;
  };
  const slotMasks = attentions.map(
    (node) => [node, maskOf((attrInts(node, 'k_shape') as readonly number[])[PAST_AXIS])] as const,
  );
  graph.nodes.unshift(...b.nodes);
  // An attention that has a mask already adds the slots' mask to it, just before it runs.
  for (const [node, slots] of slotMasks) {
    const own = node.inputs[3];
    if (!own) {
      node.inputs[3] = slots;
      continue;
    }
    const add = new NodeBuilder(graph, shapes, 'past_capacity');
    [node.inputs[3]] = add.add('Add', [own, slots]);
    graph.nodes.splice(graph.nodes.indexOf(node), 0, ...add.nodes);
  }
}

/** A concatenation's second input (this step's keys or values) as a strided 4-D view. */
interface Fresh {
  readonly source: string;
  readonly dims: readonly number[];
  readonly strides: readonly number[];
  readonly start: number;
}

/** What `concat` (past ‖ new on the positions axis) appends, when it reads the past whole and in order. */
function freshOf(at: Specialized, concat: Node): Fresh | undefined {
  if (concat.inputs.length !== 2) return undefined;
  const [past, source] = concat.inputs;
  const pastDims = at.shapes.get(past)?.dims;
  if (!pastDims) return undefined;
  if (concat.opType === 'Concat') {
    const dims = at.shapes.get(source)?.dims;
    return dims && { source, dims, strides: contiguous(dims), start: 0 };
  }
  const sameList = (a: readonly number[] | undefined, b: readonly number[]) => a?.join() === b.join();
  if (!sameList(attrInts(concat, 'dims_0'), pastDims)) return undefined;
  if (!sameList(attrInts(concat, 'strides_0'), contiguous(pastDims)) || attrInt(concat, 'start_0', 0) !== 0)
    return undefined;
  const dims = attrInts(concat, 'dims_1');
  const strides = attrInts(concat, 'strides_1');
  return dims && strides && { source, dims, strides, start: attrInt(concat, 'start_1', 0) };
}

/**
 * Every attention over past ‖ new reads the cache in place and the new keys and values as a tail
 * (ops/attention.ts), and each present holds only the new positions: a step reads its cache once instead of
 * copying it into a concatenation first. Done for all the concatenations or for none: an attention needs
 * tails for both its keys and its values.
 */
function readCacheInPlace(at: Specialized, concats: readonly Node[]): boolean {
  const { graph, shapes } = at;
  const readers = consumers(graph);
  const fresh = new Map<Node, Fresh>();
  for (const concat of concats) {
    const f = freshOf(at, concat);
    const presentDims = at.shapes.get(concat.outputs[0])?.dims;
    if (!f || !presentDims) return false;
    // Attentions must read the present whole, in its own layout.
    for (const r of readers.get(concat.outputs[0]) ?? []) {
      if (r.opType !== 'Attention') continue;
      for (const [slot, prefix] of [
        [1, 'k'],
        [2, 'v'],
      ] as const) {
        if (r.inputs[slot] !== concat.outputs[0]) continue;
        const whole =
          attrInts(r, `${prefix}_shape`)?.join() === presentDims.join() &&
          attrInts(r, `${prefix}_strides`)?.join() === contiguous(presentDims).join() &&
          attrInt(r, `${prefix}_start`, 0) === 0;
        if (!whole) return false;
      }
    }
    fresh.set(concat, f);
  }
  const byPresent = new Map(concats.map((c) => [c.outputs[0], c]));
  const pairs: { node: Node; k: Node; v: Node }[] = [];
  for (const node of graph.nodes) {
    if (node.domain !== WEBVL_DOMAIN || node.opType !== 'Attention') continue;
    const k = byPresent.get(node.inputs[1]);
    const v = byPresent.get(node.inputs[2]);
    if (k && v) pairs.push({ node, k, v });
    else if (k || v) return false; // keys over a past, values not (no decoder does this): leave all as they are
  }
  for (const { node, k, v } of pairs) {
    const tails = [
      ['k', 'kt', k, 1],
      ['v', 'vt', v, 2],
    ] as const;
    for (const [prefix, tailPrefix, concat, slot] of tails) {
      const past = concat.inputs[0];
      const pastDims = shapes.get(past)?.dims as readonly number[];
      const f = fresh.get(concat) as Fresh;
      node.inputs[slot] = past;
      node.attrs[`${prefix}_shape`] = ints(pastDims);
      node.attrs[`${prefix}_strides`] = ints(contiguous(pastDims));
      node.attrs[`${prefix}_start`] = int(0);
      node.attrs[`${tailPrefix}_shape`] = ints(f.dims);
      node.attrs[`${tailPrefix}_strides`] = ints(f.strides);
      node.attrs[`${tailPrefix}_start`] = int(f.start);
    }
    while (node.inputs.length < 4) node.inputs.push('');
    node.inputs[4] = (fresh.get(k) as Fresh).source;
    node.inputs[5] = (fresh.get(v) as Fresh).source;
  }
  // Each present becomes a copy of the new positions alone (what a KV cache appends).
  for (const [concat, f] of fresh) {
    concat.opType = 'StridedConcat';
    concat.domain = WEBVL_DOMAIN;
    concat.inputs = [f.source];
    concat.attrs = {
      axis: int(PAST_AXIS),
      dims_0: ints(f.dims),
      strides_0: ints(f.strides),
      start_0: int(f.start),
    };
    const present = concat.outputs[0];
    const dtype = shapes.get(present)?.dtype ?? 'float32';
    shapes.set(present, { dtype, dims: [...f.dims] });
    for (const r of readers.get(present) ?? [])
      if (r.opType === 'Identity') shapes.set(r.outputs[0], { dtype, dims: [...f.dims] });
  }
  return true;
}
