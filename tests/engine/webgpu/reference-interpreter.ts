// A float64 interpreter of IR graphs, for tests only: runs a graph before and after the passes so their
// numerical equivalence can be checked without a GPU. Fused webvl ops are implemented from their
// definitions (not from the passes' code).
import type { HostTensor } from '../../../src/engine/tensor';
import {
  evaluate,
  fromValues,
  size,
  strides,
  toValues,
  type Values,
} from '../../../src/engine/webgpu/ir/const-eval';
import {
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  type Graph,
  type Node,
  topologicalOrder,
} from '../../../src/engine/webgpu/ir/ir';

function erf(x: number): number {
  const v = evaluate(
    { name: 'e', opType: 'Erf', domain: '', attrs: {}, inputs: ['x'], outputs: ['y'] },
    [{ dtype: 'float32', dims: [1], data: Float64Array.of(x) }],
    17,
  );
  return v ? v[0].data[0] : Number.NaN;
}

function matmul(a: Values, b: Values): Values {
  const [m, k] = a.dims.slice(-2);
  const n = b.dims[b.dims.length - 1];
  const batchA = a.dims.slice(0, -2);
  const batchB = b.dims.slice(0, -2);
  const batch = batchA.length >= batchB.length ? batchA : batchB;
  const nb = size(batch);
  const out = new Float64Array(nb * m * n);
  for (let bi = 0; bi < nb; bi++) {
    const ao = (size(batchA) === 1 ? 0 : bi) * m * k;
    const bo = (size(batchB) === 1 ? 0 : bi) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a.data[ao + i * k + t] * b.data[bo + t * n + j];
        out[bi * m * n + i * n + j] = s;
      }
  }
  return { dtype: 'float32', dims: [...batch, m, n], data: out };
}

function lastAxisRows(x: Values, f: (row: Float64Array) => Float64Array): Values {
  const c = x.dims[x.dims.length - 1];
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length / c; r++) out.set(f(x.data.subarray(r * c, (r + 1) * c)), r * c);
  return { ...x, data: out };
}

function softmaxRow(row: Float64Array): Float64Array {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function layerNormRow(row: Float64Array, g: Values, b: Values | undefined, eps: number): Float64Array {
  const mu = row.reduce((a, v) => a + v, 0) / row.length;
  const vr = row.reduce((a, v) => a + (v - mu) ** 2, 0) / row.length;
  return row.map((v, i) => ((v - mu) / Math.sqrt(vr + eps)) * g.data[i] + (b ? b.data[i] : 0));
}

function gelu(x: number, approximate: string): number {
  if (approximate === 'tanh')
    return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  if (approximate === 'quick') return x / (1 + Math.exp(-1.702 * x));
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

function attention(node: Node, q: Values, k: Values, v: Values, mask: Values | undefined): Values {
  const view = (p: string) => ({
    shape: attrInts(node, `${p}_shape`) as number[],
    st: attrInts(node, `${p}_strides`) as number[],
    start: attrInt(node, `${p}_start`, 0),
  });
  const [qv, kv, vv] = [view('q'), view('k'), view('v')];
  const at = (t: Values, w: ReturnType<typeof view>, i: number[]) =>
    t.data[w.start + i[0] * w.st[0] + i[1] * w.st[1] + i[2] * w.st[2] + i[3] * w.st[3]];
  const [B, H, Sq, D] = qv.shape;
  const Sk = kv.shape[2];
  const Dv = vv.shape[3];
  const outDims = attrInts(node, 'out_dims') as number[];
  const os = attrInts(node, 'out_strides') as number[];
  const scale = attrFloat(node, 'scale', 1);
  const out = new Float64Array(size(outDims));
  const mDims = mask ? mask.dims : [];
  const mStr = strides(mDims);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Sq; i++) {
        const scores = new Float64Array(Sk);
        for (let j = 0; j < Sk; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += at(q, qv, [b, h, i, d]) * at(k, kv, [b, h, j, d]);
          s *= scale;
          if (mask) {
            const idx = [b, h, i, j].slice(4 - mDims.length);
            let off = 0;
            idx.forEach((x, a) => {
              off += (mDims[a] === 1 ? 0 : x) * mStr[a];
            });
            s += mask.data[off];
          }
          scores[j] = s;
        }
        const p = softmaxRow(scores);
        for (let d = 0; d < Dv; d++) {
          let acc = 0;
          for (let j = 0; j < Sk; j++) acc += p[j] * at(v, vv, [b, h, j, d]);
          out[b * os[0] + h * os[1] + i * os[2] + d * os[3]] = acc;
        }
      }
  return { dtype: 'float32', dims: outDims, data: out };
}

function reduceMeanLast(node: Node, x: Values, graph: Graph): Values {
  const axes =
    attrInts(node, 'axes') ?? Array.from(toValues(graph.initializers.get(node.inputs[1]) as HostTensor).data);
  if (axes.length !== 1 || (axes[0] !== -1 && axes[0] !== x.dims.length - 1))
    throw new Error('test interpreter: last-axis ReduceMean only');
  const c = x.dims[x.dims.length - 1];
  const out = new Float64Array(x.data.length / c);
  for (let r = 0; r < out.length; r++) for (let i = 0; i < c; i++) out[r] += x.data[r * c + i] / c;
  return { ...x, dims: [...x.dims.slice(0, -1), 1], data: out };
}

function conv(node: Node, x: Values, w: Values, b: Values | undefined): Values {
  const [n, c, hh, ww] = x.dims;
  const [o, , kh, kw] = w.dims;
  const [sh, sw] = attrInts(node, 'strides') ?? [1, 1];
  const [pt, pl] = attrInts(node, 'pads') ?? [0, 0, 0, 0];
  const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
  const oh = Math.floor((hh + pads[0] + pads[2] - kh) / sh) + 1;
  const ow = Math.floor((ww + pads[1] + pads[3] - kw) / sw) + 1;
  const out = new Float64Array(n * o * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++)
      for (let y = 0; y < oh; y++)
        for (let x0 = 0; x0 < ow; x0++) {
          let s = b ? b.data[oi] : 0;
          for (let ci = 0; ci < c; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const yy = y * sh - pt + i;
                const xx = x0 * sw - pl + j;
                if (yy < 0 || xx < 0 || yy >= hh || xx >= ww) continue;
                s += x.data[((ni * c + ci) * hh + yy) * ww + xx] * w.data[((oi * c + ci) * kh + i) * kw + j];
              }
          out[((ni * o + oi) * oh + y) * ow + x0] = s;
        }
  return { dtype: 'float32', dims: [n, o, oh, ow], data: out };
}

/** Runs `graph` on `feeds`, returning every graph output. Throws on ops it does not know. */
export function interpret(graph: Graph, feeds: Record<string, HostTensor>): Record<string, HostTensor> {
  const env = new Map<string, Values>();
  for (const [k, v] of graph.initializers) env.set(k, toValues(v));
  for (const [k, v] of Object.entries(feeds)) env.set(k, toValues(v));
  for (const node of topologicalOrder(graph)) {
    const ins = node.inputs.map((i) => (i ? env.get(i) : undefined));
    const x = ins[0] as Values;
    let outs: Values[] | undefined;
    const key = node.domain === 'webvl' ? `webvl:${node.opType}` : node.opType;
    switch (key) {
      case 'MatMul':
        outs = [matmul(x, ins[1] as Values)];
        break;
      case 'Softmax':
        outs = [lastAxisRows(x, softmaxRow)];
        break;
      case 'ReduceMean':
        outs = [reduceMeanLast(node, x, graph)];
        break;
      case 'LayerNormalization':
        outs = [
          lastAxisRows(x, (r) => layerNormRow(r, ins[1] as Values, ins[2], attrFloat(node, 'epsilon', 1e-5))),
        ];
        break;
      case 'webvl:LayerNorm': {
        // Optional residual (input 3) is added first; output 1 is that sum.
        const r = ins[3];
        const sum = r ? { ...x, data: x.data.map((v, i) => v + r.data[i]) } : x;
        const eps = attrFloat(node, 'epsilon', 1e-5);
        outs = [lastAxisRows(sum, (row) => layerNormRow(row, ins[1] as Values, ins[2], eps)), sum];
        break;
      }
      case 'webvl:Gelu':
        outs = [{ ...x, data: x.data.map((v) => gelu(v, attrString(node, 'approximate', 'none'))) }];
        break;
      case 'webvl:Linear': {
        const w = ins[1] as Values;
        const wt = attrInt(node, 'transB', 0)
          ? evaluate({ ...node, opType: 'Transpose', domain: '', attrs: {} }, [w], 17)?.[0]
          : w;
        const y = matmul(x, wt as Values);
        const bias = ins[2];
        const n = y.dims[y.dims.length - 1];
        const act = attrString(node, 'activation', 'none');
        const f = (v: number) =>
          act === 'relu'
            ? Math.max(v, 0)
            : act === 'none'
              ? v
              : gelu(v, act === 'gelu-erf' ? 'none' : act === 'gelu-tanh' ? 'tanh' : 'quick');
        outs = [
          {
            ...y,
            dims: [...x.dims.slice(0, -1), n],
            data: y.data.map((v, i) => f(v + (bias ? bias.data[i % n] : 0))),
          },
        ];
        break;
      }
      case 'webvl:Attention':
        outs = [attention(node, x, ins[1] as Values, ins[2] as Values, ins[3])];
        break;
      case 'webvl:StridedConcat': {
        // Input i is read as a view: dims_i with element strides strides_i over its source tensor.
        const outDims = attrInts(node, 'out_dims') as number[];
        const axis =
          attrInt(node, 'axis', 0) < 0 ? attrInt(node, 'axis', 0) + outDims.length : attrInt(node, 'axis', 0);
        const out = new Float64Array(size(outDims));
        const outStr = strides(outDims);
        let offset = 0;
        ins.forEach((src, i) => {
          const dims = attrInts(node, `dims_${i}`) as number[];
          const st = attrInts(node, `strides_${i}`) as number[];
          const own = strides(dims);
          for (let e = 0; e < size(dims); e++) {
            let from = 0;
            let to = 0;
            dims.forEach((d, k) => {
              const idx = Math.floor(e / own[k]) % d;
              from += idx * st[k];
              to += (idx + (k === axis ? offset : 0)) * outStr[k];
            });
            out[to] = (src as Values).data[from];
          }
          offset += dims[axis];
        });
        outs = [{ dtype: x.dtype, dims: outDims, data: out }];
        break;
      }
      case 'Gemm': {
        const w = ins[1] as Values;
        const wt = attrInt(node, 'transB', 0)
          ? evaluate({ ...node, opType: 'Transpose', attrs: {} }, [w], 17)?.[0]
          : w;
        const y = matmul(x, wt as Values);
        const c = ins[2];
        const n = y.dims[1];
        const alpha = attrFloat(node, 'alpha', 1);
        const beta = attrFloat(node, 'beta', 1);
        outs = [
          {
            ...y,
            data: y.data.map((v, i) => alpha * v + (c ? beta * c.data[c.data.length === n ? i % n : i] : 0)),
          },
        ];
        break;
      }
      case 'ReduceSum': {
        const axesIn = ins[1] ? Array.from(ins[1].data) : x.dims.map((_, i) => i);
        const axes = new Set(axesIn.map((a) => (a < 0 ? a + x.dims.length : a)));
        const keep = attrInt(node, 'keepdims', 1) === 1;
        const outDims = x.dims.map((d, i) => (axes.has(i) ? 1 : d));
        const out = new Float64Array(size(outDims));
        const inStr = strides(x.dims);
        const outStr = strides(outDims);
        for (let i = 0; i < x.data.length; i++) {
          let o = 0;
          for (let d = 0; d < x.dims.length; d++) {
            if (!axes.has(d)) o += (Math.floor(i / inStr[d]) % x.dims[d]) * outStr[d];
          }
          out[o] += x.data[i];
        }
        outs = [{ ...x, dims: keep ? outDims : x.dims.filter((_, d) => !axes.has(d)), data: out }];
        break;
      }
      case 'Conv':
        outs = [conv(node, x, ins[1] as Values, ins[2])];
        break;
      case 'Shape':
        outs = [{ dtype: 'int64', dims: [x.dims.length], data: Float64Array.from(x.dims) }];
        break;
      default:
        outs = evaluate(node, ins, graph.opset);
    }
    if (!outs) throw new Error(`test interpreter: no implementation for ${key}`);
    // Values stay float64 here: the interpreter is the exact reference both graphs are held to.
    outs.forEach((o, i) => {
      if (node.outputs[i]) env.set(node.outputs[i], o);
    });
  }
  const result: Record<string, HostTensor> = {};
  for (const o of graph.outputs) {
    const v = env.get(o.name) as Values;
    result[o.name] = fromValues({ ...v, dtype: v.dtype === 'float16' ? 'float32' : v.dtype });
  }
  return result;
}
