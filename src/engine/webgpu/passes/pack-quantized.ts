// Quantized weights, packed once at load: every quantized matmul becomes one webvl QMatMul whose B is a single
// packed tensor (block scales, block zero points and 4- or 8-bit codes, see packQuantizedWeight), which the
// matmul kernels dequantize as they read it (shaders/matmul-b-quant.wgsl). Forms:
// - com.microsoft MatMulNBits (transformers.js q4 / q4f16; onnxruntime's quantizers at 2 and 8 bits too): codes
//   [N, K/block, block·bits/8], scales, packed or float zero points (default 2^(bits−1)), an optional bias.
// - DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scale) (onnxruntime quantize_dynamic: q8 / int8 /
//   uint8 / quantized): per-tensor or per-column 8-bit weights. The activation's dynamic quantization is
//   dropped: the product is computed in f32 on the dequantized weights (W8A32), closer to the float model than
//   ORT's integer path; the difference is that activation rounding (the tolerance tests document).
// - DequantizeLinear of constant codes blocked along K into a MatMul (opset 21 QDQ: int4 / uint4 / int8):
//   packed as MatMulNBits is, at 4 bits when every code fits a nibble.
// - Any other DequantizeLinear of a constant (quantized embedding tables): folded to float32 here, once.
// - com.microsoft GatherBlockQuantized (q4 embedding tables): packed the same way, read by webvl QGather
//   (pack-quantized-gather.ts).
// - com.microsoft MatMulBnb4 (transformers.js bnb4: FP4 / NF4 codes, a lookup table, times block absmax):
//   dequantized here to a float32 weight and a plain MatMul, exactly as onnxruntime's CPU kernel dequantizes
//   (not kept packed: the codes are not an affine map, which the quantized matmul kernels read).
// Runs on the source graph before load() checks ops, so what it cannot rewrite is refused there (and the
// graph falls back to onnxruntime-web).
import { WebvlError } from '../../../errors';
import { toHalfBits } from '../../half';
import type { HostTensor } from '../../tensor';
import { toValues, type Values } from '../ir/const-eval';
import { type Attr, attrInt, freshName, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import { packGatherBlockQuantized } from './pack-quantized-gather';
import { GraphView, replaceNodes, replaceNodesWith } from './pattern';

/** Layout of a packed quantized weight, in 32-bit words from the start of the tensor. */
export interface QuantLayout {
  /** Output columns N and reduction length K; B is addressed as [N, K] (transposed). */
  readonly n: number;
  readonly k: number;
  readonly bits: 4 | 8;
  readonly blockSize: number;
  readonly blocksPerRow: number;
  /**
   * Scales kept float16, two a word, where the file gives them so (q4f16): exact, and 0.5 bits a weight fewer
   * at blocks of 32. Else float32.
   */
  readonly halfScales: boolean;
  /**
   * The zero point of every block when they are all one value (symmetric files give none: 2^(bits−1)), held in
   * the shader instead of a byte a block (0.25 bits a weight at blocks of 32). null: a byte per block.
   */
  readonly uniformZeroPoint: number | null;
  /** Word offsets: scales [N·blocks], one zero-point byte per block unless uniform, then the codes. */
  readonly zeroPointWord: number;
  readonly codeWord: number;
}

export function quantLayout(
  n: number,
  k: number,
  bits: 4 | 8,
  blockSize: number,
  halfScales = false,
  uniformZeroPoint: number | null = null,
): QuantLayout {
  const blocksPerRow = Math.ceil(k / blockSize);
  const blocks = n * blocksPerRow;
  const zeroPointWord = halfScales ? Math.ceil(blocks / 2) : blocks;
  return {
    n,
    k,
    bits,
    blockSize,
    blocksPerRow,
    halfScales,
    uniformZeroPoint,
    zeroPointWord,
    codeWord: zeroPointWord + (uniformZeroPoint === null ? Math.ceil(blocks / 4) : 0),
  };
}

/** A quantized weight to pack: B as [N, K], codes already unsigned, a scale and zero point per block along K. */
export interface QuantSource {
  readonly n: number;
  readonly k: number;
  readonly bits: 4 | 8;
  readonly blockSize: number;
  readonly halfScales?: boolean;
  readonly code: (n: number, k: number) => number;
  readonly scale: (block: number) => number;
  readonly zeroPoint: (block: number) => number;
}

/**
 * Packs a quantized weight into one byte tensor in the layout it returns (quantLayout(): scales, a zero-point
 * byte per block unless they are all one value, codes).
 */
export function packQuantized(q: QuantSource): { layout: QuantLayout; bytes: Uint8Array } {
  const blocks = q.n * Math.ceil(q.k / q.blockSize);
  const first = q.zeroPoint(0);
  let uniform = true;
  for (let b = 1; b < blocks && uniform; b++) uniform = q.zeroPoint(b) === first;
  const layout = quantLayout(q.n, q.k, q.bits, q.blockSize, q.halfScales ?? false, uniform ? first : null);
  const { n, k, bits, zeroPointWord, codeWord } = layout;
  const codeBytes = Math.ceil((n * k * bits) / 8);
  const bytes = new Uint8Array(codeWord * 4 + Math.ceil(codeBytes / 4) * 4);
  const view = new DataView(bytes.buffer);
  for (let b = 0; b < blocks; b++) {
    if (layout.halfScales) view.setUint16(b * 2, toHalfBits(q.scale(b)), true);
    else view.setFloat32(b * 4, q.scale(b), true);
    if (!uniform) bytes[zeroPointWord * 4 + b] = q.zeroPoint(b);
  }
  const base = codeWord * 4;
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < k; col++) {
      const i = row * k + col;
      const c = q.code(row, col);
      if (bits === 8) bytes[base + i] = c;
      else bytes[base + (i >> 1)] |= (c & 15) << ((i & 1) * 4);
    }
  }
  return { layout, bytes };
}

/** The attributes every packed-weight node carries, from which the lowering rebuilds its layout. */
export function layoutAttrs(layout: QuantLayout): Record<string, Attr> {
  const attrs: Record<string, Attr> = {
    bits: { type: 'int', value: layout.bits },
    block_size: { type: 'int', value: layout.blockSize },
    half_scales: { type: 'int', value: layout.halfScales ? 1 : 0 },
  };
  if (layout.uniformZeroPoint !== null) attrs.zero_point = { type: 'int', value: layout.uniformZeroPoint };
  return attrs;
}

/** layoutAttrs() read back, for a weight of N rows by K. */
export function layoutFromAttrs(node: Node, n: number, k: number): QuantLayout {
  const zero = node.attrs.zero_point;
  return quantLayout(
    n,
    k,
    attrInt(node, 'bits', 4) === 8 ? 8 : 4,
    attrInt(node, 'block_size', 0),
    attrInt(node, 'half_scales', 0) === 1,
    zero?.type === 'int' ? zero.value : null,
  );
}

function qmatmul(name: string, inputs: string[], output: string, layout: QuantLayout): Node {
  return {
    name,
    opType: 'QMatMul',
    domain: WEBVL_DOMAIN,
    attrs: {
      ...layoutAttrs(layout),
      K: { type: 'int', value: layout.k },
      N: { type: 'int', value: layout.n },
    },
    inputs,
    outputs: [output],
  };
}

/** Layouts of the weights packed into each graph, so a weight two If branches share is packed once. */
const packedLayouts = new WeakMap<Graph, Map<string, QuantLayout>>();

/** Packs `source` as initializer `name` of `graph` (once) and returns its layout. */
export function packOnce(graph: Graph, name: string, source: () => QuantSource): QuantLayout {
  const layouts = packedLayouts.get(graph) ?? new Map<string, QuantLayout>();
  packedLayouts.set(graph, layouts);
  const known = layouts.get(name);
  if (known && graph.initializers.has(name)) return known;
  const { layout, bytes } = packQuantized(source());
  const t: HostTensor = { location: 'cpu', dtype: 'uint8', dims: [bytes.length], data: bytes };
  graph.initializers.set(name, t);
  layouts.set(name, layout);
  return layout;
}

/**
 * MatMulNBits (2-, 4- or 8-bit codes, no g_idx, which onnxruntime deprecates) → QMatMul, and an Add where it has
 * a bias. 2-bit codes are held as 4-bit ones, since the kernels read nibbles or bytes. Zero points: absent
 * (2^(bits−1)), packed uint8 (bits each, as B), or unpacked floats; floats that are not whole codes cannot be a
 * zero-point byte, so that weight is dequantized to float32 here instead, as MatMulBnb4's is. In an If branch
 * (`graph`), weights may live in the enclosing model (`top`), where the packed weight goes too, so that both
 * branches of a merged decoder share it.
 */
function packNBits(graph: Graph, node: Node, top: Graph = graph): boolean {
  if (node.domain !== 'com.microsoft' || node.opType !== 'MatMulNBits') return false;
  const [a, bName, sName, zName, gIdx, biasName] = node.inputs;
  const get = (name: string) => graph.initializers.get(name) ?? top.initializers.get(name);
  const b = get(bName);
  const scales = get(sName);
  const zeros = zName ? get(zName) : undefined;
  if (!b || !scales || (zName && !zeros) || gIdx) return false;
  const bits = attrInt(node, 'bits', 4);
  if (bits !== 2 && bits !== 4 && bits !== 8) return false;
  const k = attrInt(node, 'K', 0);
  const n = attrInt(node, 'N', 0);
  const blockSize = attrInt(node, 'block_size', 0);
  if (k <= 0 || n <= 0 || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) return false;
  const blocksPerRow = Math.ceil(k / blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const s = toValues(scales).data;
  const packedZeros = zeros?.dtype === 'uint8';
  const zeroBytesPerRow = Math.ceil((blocksPerRow * bits) / 8);
  const zeroCount = packedZeros ? n * zeroBytesPerRow : n * blocksPerRow;
  const bad =
    b.data.length !== n * blocksPerRow * blobBytes
      ? `B has ${b.data.length} bytes, K=${k} N=${n} bits=${bits} block_size=${blockSize} need ${n * blocksPerRow * blobBytes}`
      : s.length !== n * blocksPerRow
        ? `${s.length} scales for ${n * blocksPerRow} blocks`
        : zeros && zeros.data.length !== zeroCount
          ? `${zeros.data.length} zero points for ${n * blocksPerRow} blocks (${zeroCount} expected)`
          : undefined;
  if (bad) throw new WebvlError('INVALID_MODEL', `MatMulNBits node '${node.name}': ${bad}`);
  const mask = (1 << bits) - 1;
  const perByte = 8 / bits;
  const codes = b.data as Uint8Array;
  const code = (row: number, col: number) => {
    const within = col % blockSize;
    const byte =
      codes[(row * blocksPerRow + Math.floor(col / blockSize)) * blobBytes + Math.floor(within / perByte)];
    return (byte >> ((within % perByte) * bits)) & mask;
  };
  const floatZeros = zeros && !packedZeros ? toValues(zeros).data : undefined;
  const zeroPoint = (blk: number): number => {
    if (floatZeros) return floatZeros[blk];
    if (!zeros) return 1 << (bits - 1);
    const row = Math.floor(blk / blocksPerRow);
    const j = blk % blocksPerRow;
    return (
      ((zeros.data[row * zeroBytesPerRow + Math.floor(j / perByte)] as number) >> ((j % perByte) * bits)) &
      mask
    );
  };
  const outputs = [node.outputs[0]];
  const replacement: Node[] = [];
  if (biasName) {
    const product = freshName(`${node.outputs[0]}_unbiased`);
    replacement.push({
      name: `${node.name}_bias`,
      opType: 'Add',
      domain: '',
      attrs: {},
      inputs: [product, biasName],
      outputs: [node.outputs[0]],
    });
    outputs[0] = product;
  }
  // Zero points that are whole codes fit the packed form; others only a dequantized float32 weight.
  const wholeCodes = !floatZeros || floatZeros.every((z) => Number.isInteger(z) && z >= 0 && z <= mask);
  const weight = `${bName}_webvl_${wholeCodes ? `q${bits}` : 'dequantized'}`;
  let product: Node;
  if (wholeCodes) {
    const layout = packOnce(top, weight, () => ({
      n,
      k,
      bits: bits === 8 ? 8 : 4,
      blockSize,
      halfScales: scales.dtype === 'float16',
      code,
      scale: (blk) => s[blk],
      zeroPoint,
    }));
    product = qmatmul(node.name, [a, weight], outputs[0], layout);
  } else {
    // (made once, for both branches of a merged decoder)
    if (!top.initializers.has(weight)) {
      const w = new Float32Array(k * n);
      for (let row = 0; row < n; row++)
        for (let col = 0; col < k; col++) {
          const blk = row * blocksPerRow + Math.floor(col / blockSize);
          w[col * n + row] = Math.fround((code(row, col) - zeroPoint(blk)) * s[blk]);
        }
      top.initializers.set(weight, { location: 'cpu', dtype: 'float32', dims: [k, n], data: w });
    }
    product = { name: node.name, opType: 'MatMul', domain: '', attrs: {}, inputs: [a, weight], outputs };
  }
  replaceNodesWith(graph, [node], [product, ...replacement]);
  return true;
}

/** onnxruntime's bnb4 code tables (blockwise_quant_block_bnb4.h): quant_type 0 FP4, 1 NF4. */
const BNB4_CODES: readonly (readonly number[])[] = [
  [
    0, 5.208333333e-3, 0.66666667, 1, 0.33333333, 0.5, 0.16666667, 0.25, -0, -5.208333333e-3, -0.66666667, -1,
    -0.33333333, -0.5, -0.16666667, -0.25,
  ],
  [
    -1, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1,
  ],
];

/**
 * MatMulBnb4 with constant codes and absmax (transB = 1, its default) → MatMul by the dequantized weight, laid
 * out [K, N]. Codes: B flattened [N, K], two per byte, high nibble first; absmax per block of that flat order.
 */
function dequantizeBnb4(graph: Graph, node: Node, top: Graph = graph): boolean {
  if (node.domain !== 'com.microsoft' || node.opType !== 'MatMulBnb4') return false;
  const [a, bName, absmaxName] = node.inputs;
  const get = (name: string) => graph.initializers.get(name) ?? top.initializers.get(name);
  const b = get(bName);
  const absmax = get(absmaxName);
  const quantType = attrInt(node, 'quant_type', -1);
  if (!b || !absmax || b.dtype !== 'uint8' || attrInt(node, 'transB', 1) !== 1) return false;
  if (quantType !== 0 && quantType !== 1) return false;
  const k = attrInt(node, 'K', 0);
  const n = attrInt(node, 'N', 0);
  const blockSize = attrInt(node, 'block_size', 0);
  const scales = toValues(absmax).data;
  const bad =
    k <= 0 || n <= 0 || blockSize <= 0 || blockSize % 2 !== 0
      ? `K=${k} N=${n} block_size=${blockSize}`
      : b.data.length !== Math.ceil((n * k) / 2)
        ? `B has ${b.data.length} bytes, N·K/2 = ${Math.ceil((n * k) / 2)}`
        : scales.length !== Math.ceil((n * k) / blockSize)
          ? `${scales.length} absmax values for ${Math.ceil((n * k) / blockSize)} blocks`
          : undefined;
  if (bad) throw new WebvlError('INVALID_MODEL', `MatMulBnb4 node '${node.name}': ${bad}`);
  const codes = b.data as Uint8Array;
  const table = BNB4_CODES[quantType];
  const w = new Float32Array(k * n);
  for (let i = 0; i < n * k; i++) {
    const code = i % 2 === 0 ? codes[i >> 1] >> 4 : codes[i >> 1] & 15;
    const row = Math.floor(i / k); // B's row: an output column
    w[(i % k) * n + row] = Math.fround(table[code] * scales[Math.floor(i / blockSize)]);
  }
  const weight = `${bName}_webvl_dequantized`;
  top.initializers.set(weight, { location: 'cpu', dtype: 'float32', dims: [k, n], data: w });
  replaceNodes(graph, [node], {
    name: node.name,
    opType: 'MatMul',
    domain: '',
    attrs: {},
    inputs: [a, weight],
    outputs: [node.outputs[0]],
  });
  return true;
}

/** The If branches below `graph`, at any depth. */
function branchesOf(graph: Graph): Graph[] {
  return graph.nodes.flatMap((n) =>
    Object.values(n.attrs).flatMap((a) => (a.type === 'graph' ? [a.value, ...branchesOf(a.value)] : [])),
  );
}

/** One value per column of an [K, N] weight, from a scalar or [N] constant. */
function perColumn(v: Values, n: number): ((col: number) => number) | undefined {
  if (v.data.length === 1) return () => v.data[0];
  if (v.data.length === n) return (col) => v.data[col];
  return undefined;
}

/** The chain onnxruntime's quantize_dynamic writes around an integer op: DQL(x) → op → Cast → Mul(xs · ws). */
interface DynamicQuantMatch {
  /** The float input, before quantization. */
  x: string;
  weight: HostTensor;
  weightZero?: HostTensor;
  weightScale: HostTensor;
  /** Nodes the float op replaces, and the output it writes. */
  remove: Node[];
  out: string;
}

function matchDynamicQuant(
  graph: Graph,
  v: GraphView,
  node: Node,
  op: string,
): DynamicQuantMatch | undefined {
  if ((node.domain !== '' && node.domain !== 'ai.onnx') || node.opType !== op) return undefined;
  const [aq, wName, aZero, wZero] = node.inputs;
  const dql = v.producedBy(aq, 'DynamicQuantizeLinear');
  const weight = graph.initializers.get(wName);
  if (!dql || !weight || dql.outputs[2] !== aZero) return undefined;
  const xScale = dql.outputs[1];
  const cast = v.onlyConsumer(node.outputs[0], 'Cast');
  const mul = cast && v.onlyConsumer(cast.outputs[0], 'Mul');
  const scaleName = mul && v.other(mul, cast.outputs[0]);
  const scaleMul = scaleName ? v.producedBy(scaleName, 'Mul') : undefined;
  const wScaleName = scaleMul && v.other(scaleMul, xScale);
  const weightScale = wScaleName ? graph.initializers.get(wScaleName) : undefined;
  const weightZero = wZero ? graph.initializers.get(wZero) : undefined;
  if (!cast || attrInt(cast, 'to', 0) !== 1 || !mul || !scaleMul || !weightScale || (wZero && !weightZero))
    return undefined;
  if (weight.dtype !== 'uint8' && weight.dtype !== 'int8') return undefined;
  const remove = [node, cast, mul];
  if (v.usedOnlyBy(scaleMul.outputs[0], [mul])) remove.push(scaleMul);
  return { x: dql.inputs[0], weight, weightZero, weightScale, remove, out: mul.outputs[0] };
}

/** DynamicQuantizeLinear → MatMulInteger → Cast → Mul(x_scale · w_scale) → QMatMul (8-bit, W8A32). */
function packDynamicQuant(graph: Graph, v: GraphView, node: Node): boolean {
  const m = matchDynamicQuant(graph, v, node, 'MatMulInteger');
  if (m?.weight.dims.length !== 2) return false;
  const [kDim, nDim] = m.weight.dims;
  const scaleOf = perColumn(toValues(m.weightScale), nDim);
  const zeroOf = m.weightZero ? perColumn(toValues(m.weightZero), nDim) : () => 0;
  if (!scaleOf || !zeroOf) return false;
  // int8 codes become unsigned by adding 128 to codes and zero point alike.
  const shift = m.weight.dtype === 'int8' ? 128 : 0;
  const codes = m.weight.data as Uint8Array | Int8Array;
  const w = `${node.inputs[1]}_webvl_q8`;
  const layout = packOnce(graph, w, () => ({
    n: nDim,
    k: kDim,
    bits: 8,
    blockSize: kDim,
    code: (row, col) => codes[col * nDim + row] + shift,
    scale: (blk) => scaleOf(blk),
    zeroPoint: (blk) => zeroOf(blk) + shift,
  }));
  replaceNodes(graph, m.remove, qmatmul(node.name, [m.x, w], m.out, layout));
  return true;
}

/** The same chain around ConvInteger (a quantized patch embedding) → Conv on weights dequantized here. */
function unquantizeDynamicConv(graph: Graph, v: GraphView, node: Node): boolean {
  const m = matchDynamicQuant(graph, v, node, 'ConvInteger');
  // 1-D or 2-D (the Conv lowering's forms).
  if (!m || m.weight.dims.length < 3 || m.weight.dims.length > 4) return false;
  const channels = m.weight.dims[0];
  const perChannel = m.weight.data.length / channels;
  const scaleOf = perColumn(toValues(m.weightScale), channels);
  const zeroOf = m.weightZero ? perColumn(toValues(m.weightZero), channels) : () => 0;
  if (!scaleOf || !zeroOf) return false;
  const w = toValues(m.weight).data;
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / perChannel);
    out[i] = (w[i] - zeroOf(c)) * scaleOf(c);
  }
  const name = `${node.inputs[1]}_webvl_dequantized`;
  graph.initializers.set(name, { location: 'cpu', dtype: 'float32', dims: m.weight.dims, data: out });
  replaceNodes(graph, m.remove, {
    name: node.name,
    opType: 'Conv',
    domain: '',
    attrs: { ...node.attrs },
    inputs: [m.x, name],
    outputs: [m.out],
  });
  return true;
}

/**
 * DequantizeLinear's parameters for constant codes, per the spec: one scale (per tensor), one per index of
 * `axis`, or (opset 21's block_size) one per block of `blockSize` along `axis`, the scale tensor x's shape with
 * that dim divided. `paramIndex(i)` is the scale / zero-point index of x's element i.
 */
function dequantizeParams(node: Node, x: HostTensor, scaleCount: number) {
  const rank = x.dims.length;
  const axisAttr = attrInt(node, 'axis', 1);
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  const blockSize = attrInt(node, 'block_size', 0);
  const along = x.dims[axis] ?? 1;
  const inner = x.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const blocks = blockSize > 0 ? Math.ceil(along / blockSize) : along;
  const outer = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
  if (scaleCount === 1) return { axis, blockSize, paramIndex: () => 0 };
  if (axis < 0 || axis >= rank || scaleCount !== (blockSize > 0 ? outer * blocks * inner : along))
    return undefined;
  const paramIndex = (i: number): number => {
    const a = Math.floor(i / inner) % along;
    if (blockSize <= 0) return a;
    const o = Math.floor(i / (inner * along));
    return (o * blocks + Math.floor(a / blockSize)) * inner + (i % inner);
  };
  return { axis, blockSize, paramIndex };
}

/**
 * DequantizeLinear of constant codes blocked along K (opset 21's int4 / uint4 / int8 QDQ weights, as
 * onnxruntime's quantizers write them) whose only reader is a MatMul's B → QMatMul with the weight packed: 4-bit
 * when every code and zero point fits a nibble, else 8-bit. Signed codes are offset to unsigned ones, zero
 * points with them, so (code − zero point) is unchanged.
 */
function packDequantizedMatMul(graph: Graph, node: Node): boolean {
  const dq = constantDequantize(graph, node);
  if (dq?.x.dims.length !== 2 || (dq.x.dtype !== 'int8' && dq.x.dtype !== 'uint8')) return false;
  const { x, scales, zeros } = dq;
  const xName = node.inputs[0];
  const out = node.outputs[0];
  const readers = [graph, ...branchesOf(graph)].flatMap((g) => g.nodes.filter((n) => n.inputs.includes(out)));
  const matmul = readers[0];
  if (readers.length !== 1 || matmul.opType !== 'MatMul' || matmul.domain !== '' || matmul.inputs[0] === out)
    return false;
  if (!graph.nodes.includes(matmul) || graph.outputs.some((o) => o.name === out)) return false;
  const [k, n] = x.dims;
  const params = dequantizeParams(node, x, scales.data.length);
  if (params?.axis !== 0 || params.blockSize <= 0) return false;
  const codes = x.data as Int8Array | Uint8Array;
  const zv = zeros ? (zeros.data as Int8Array | Uint8Array) : undefined;
  const signed = x.dtype === 'int8';
  const [low, high] = signed ? [-8, 7] : [0, 15];
  const fits = (v: ArrayLike<number>) => Array.prototype.every.call(v, (c: number) => c >= low && c <= high);
  const bits = fits(codes) && (!zv || fits(zv)) ? 4 : 8;
  const offset = signed ? 2 ** (bits - 1) : 0;
  const blocksPerRow = Math.ceil(k / params.blockSize);
  const sv = toValues(scales).data;
  // Packed block `blk` is block (blk mod blocksPerRow) along K of output column ⌊blk / blocksPerRow⌋: the
  // scale and zero point of its first element, x[k0][column].
  const param = (blk: number) =>
    params.paramIndex((blk % blocksPerRow) * params.blockSize * n + Math.floor(blk / blocksPerRow));
  const weight = `${xName}_webvl_dq${bits}`;
  const layout = packOnce(graph, weight, () => ({
    n,
    k,
    bits,
    blockSize: params.blockSize,
    halfScales: scales.dtype === 'float16',
    code: (row, col) => codes[col * n + row] + offset,
    scale: (blk) => sv[param(blk)],
    zeroPoint: (blk) => (zv ? zv[param(blk)] : 0) + offset,
  }));
  graph.nodes = graph.nodes.filter((m) => m !== node);
  replaceNodes(graph, [matmul], qmatmul(matmul.name, [matmul.inputs[0], weight], matmul.outputs[0], layout));
  return true;
}

/** A DequantizeLinear whose codes, scales and zero points (if any) are all constants. */
function constantDequantize(
  graph: Graph,
  node: Node,
): { x: HostTensor; scales: HostTensor; zeros?: HostTensor } | undefined {
  if ((node.domain !== '' && node.domain !== 'ai.onnx') || node.opType !== 'DequantizeLinear')
    return undefined;
  const [xName, sName, zName] = node.inputs;
  const x = graph.initializers.get(xName);
  const scales = graph.initializers.get(sName);
  const zeros = zName ? graph.initializers.get(zName) : undefined;
  return x && scales && (!zName || zeros) ? { x, scales, zeros } : undefined;
}

/** DequantizeLinear of constant codes (per tensor, per axis or blocked) → its float32 values, once. */
function foldDequantize(graph: Graph, node: Node): boolean {
  const dq = constantDequantize(graph, node);
  if (!dq) return false;
  const { x, scales: s, zeros: z } = dq;
  const sv = toValues(s).data;
  const zv = z ? toValues(z).data : new Float64Array(sv.length);
  const params = dequantizeParams(node, x, sv.length);
  if (!params || zv.length !== sv.length) return false;
  const xv = toValues(x);
  const out = new Float32Array(xv.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = params.paramIndex(i);
    out[i] = (xv.data[i] - zv[c]) * sv[c];
  }
  graph.initializers.set(node.outputs[0], { location: 'cpu', dtype: 'float32', dims: x.dims, data: out });
  graph.nodes = graph.nodes.filter((n) => n !== node);
  return true;
}

/** Dead DynamicQuantizeLinear nodes (every MatMulInteger reading them was packed). */
function dropUnreadQuantizers(graph: Graph): void {
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const o of graph.outputs) read.add(o.name);
  graph.nodes = graph.nodes.filter(
    (n) => n.opType !== 'DynamicQuantizeLinear' || n.outputs.some((o) => read.has(o)),
  );
}

/** Packs every quantized matmul it can and folds constant dequantizations; returns the packed weights' names. */
export function packQuantizedWeights(graph: Graph): Set<string> {
  const before = new Set(graph.initializers.keys());
  for (const node of [...graph.nodes])
    packNBits(graph, node) ||
      dequantizeBnb4(graph, node) ||
      packDequantizedMatMul(graph, node) ||
      foldDequantize(graph, node) ||
      packGatherBlockQuantized(graph, node);
  // Merged decoders keep their matmuls inside If branches.
  for (const branch of branchesOf(graph))
    for (const node of [...branch.nodes])
      packNBits(branch, node, graph) || dequantizeBnb4(branch, node, graph);
  let v = new GraphView(graph);
  for (const node of [...graph.nodes]) {
    if (packDynamicQuant(graph, v, node) || unquantizeDynamicConv(graph, v, node)) v = new GraphView(graph);
  }
  dropUnreadQuantizers(graph);
  const packedNames = new Set<string>();
  for (const g of [graph, ...branchesOf(graph)])
    for (const n of g.nodes)
      if (
        n.domain === WEBVL_DOMAIN &&
        (n.opType === 'QMatMul' || n.opType === 'QGather') &&
        !before.has(n.inputs[1])
      )
        packedNames.add(n.inputs[1]);
  return packedNames;
}
