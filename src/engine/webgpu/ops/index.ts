// Our WGSL kernels, as the executor calls them.
//
// Calling convention: `kernel(ctx, ...inputs, ...outputs, params)`. Each kernel checks dtypes and dims of its
// views (WebvlError 'INVALID_INPUT' on mismatch) and records one or a few programs through `ctx.record`. Outputs
// must be allocated by the caller with the exact dims the kernel documents; kernels never allocate outputs.
//
// GPU dtype conventions (WGSL has no 64-bit or 8-bit storage types):
// - 'float32' → f32. 'float16' is a storage format for matmul/linear B only (weights): two halves per u32 word,
//   widened to f32 on load with unpack2x16float (no shader-f16 needed); other kernels reject float16 views.
// - 'int32', 'int64', 'bool', 'uint8', 'int8' → one i32 per element. int64 tensors are downcast to i32 when
//   uploaded (token ids, shapes and indices all fit) and widened back on download; bool is 0/1.
// - resizeNormalize's image input is the exception: RGBA8 pixels packed four bytes per u32 ('uint8' view whose
//   dims are [height, width, 4]; its buffer holds width*height u32 words).

/**
 * argmax(ctx, x, out): per row over the last axis; out has x.dims without the last axis (int32, first maximal
 * index on ties). topk(ctx, x, values, indices, params): per row over the last axis; values/indices
 * [..., k], sorted (largest first by default), lower index first on ties.
 */
export { argmax, topk } from './argmax-topk';
/**
 * attention(ctx, q, k, v, mask, out, params): out = softmax(scale · q kᵀ + mask [+ causal]) v, flash-style in
 * one dispatch (online softmax, K/V tiles in workgroup memory, no Sq×Sk matrix in global memory).
 * q/k/v may be any views of buffers, described as 4-D [B, H, S, D] with element strides (params.q/k/v) —
 * packed QKV, [B, S, H*D] or [B, H, S, D] all work without a copy. D ≤ 128.
 * mask: null or a float32 additive mask of rank ≤ 4 broadcast to [B, H, Sq, Sk] (e.g. [B,1,1,Sk], [B,1,Sq,Sk],
 * [1,1,Sq,Sk], [Sq,Sk]). Rows whose keys are all masked with a finite value (-10000, -3.4e38) give what ONNX
 * Softmax gives; rows where every score is -inf give 0.
 * KV cache: k and v are ONE buffer each holding past + new keys ([B, H, past+Sq, D], e.g. ONNX's present_key
 * produced by Concat, or a preallocated cache [B, H, capacity, D] that the executor appends into with
 * `copyStrided` and then views through params.k/v with shape Sk = past + Sq and the cache's strides);
 * pastLength defaults to Sk − Sq, so causal decoding needs no extra parameter.
 * Up to 4 query rows (decoding) it records attention-decode.wgsl (a workgroup per row, keys split over its
 * threads); otherwise attention.wgsl (32 query rows per workgroup, K/V tiles of 32 keys). Always one dispatch.
 */
export { attention } from './attention';
/**
 * binary(ctx, a, b, out, op): NumPy broadcasting, out dims = broadcast(a, b). Arithmetic on float32 or the i32
 * family (same dtype both sides); comparisons write 'bool'; And/Or/Xor on bool.
 * where(ctx, cond, x, y, out): out = cond ? x : y, three-way broadcasting.
 */
export { binary, where } from './binary';
/** convTranspose(ctx, x, w, bias, out, params): ConvTranspose over 1-3 spatial axes, gather form. */
export { convTranspose } from './conv-transpose';
/**
 * conv2d(ctx, x, w, bias, out, params): NCHW, x [N, Cin, H, W], w [Cout, Cin/group, kH, kW], bias [Cout] or
 * null; out [N, Cout, Ho, Wo]. Strides, pads, dilations, groups, fused activation.
 */
export { conv2d } from './conv2d';
/**
 * Data movement, all one strided-copy program:
 * transpose(ctx, x, out, perm) — any perm (default reversed);
 * slice(ctx, x, out, params) — ONNX Slice (negative starts/ends/steps, clamped);
 * expand(ctx, x, out) — broadcast x to out.dims (ONNX Expand; caller computes out dims);
 * concat(ctx, inputs, out, axis) — one dispatch per input;
 * copyStrided(ctx, src, srcStrides, srcStart, dst, dstStrides, dstStart, dims) — the general form (e.g. to
 * append new K/V into a preallocated cache).
 * All work for any dtype (copies 32-bit words).
 */
export { concat, copyStrided, expand, slice, tile, transpose, trilu } from './copy';
/** cumsum(ctx, x, out, axis, exclusive, reverse): ONNX CumSum (float32 or the i32 family). */
export { cumsum } from './cumsum';
/** det(ctx, x, out): ONNX Det of float32 [..., n, n]. */
export { det } from './det';
/**
 * gather(ctx, data, indices, out, axis): ONNX Gather (embeddings: axis 0). indices: i32 family, negative
 * indices wrap. out dims = data[:axis] + indices + data[axis+1:].
 * gatherQuantized(ctx, table, layout, rowDims, indices, out): rows of a packed 4/8-bit table
 * (com.microsoft GatherBlockQuantized, packed at load), dequantized as read; out-of-range indices give 0.
 * gatherRows(ctx, pieces, rowStarts, indices, out): Gather on axis 0 of a table split into pieces of
 * consecutive rows, one dispatch per piece.
 */
export { gather, gatherQuantized, gatherRows } from './gather';
/**
 * gatherElements(ctx, data, indices, out, axis): ONNX GatherElements (out dims = indices dims).
 * scatterNd(ctx, data, indices, updates, out, reduction): ONNX ScatterND (none / add / mul / max / min) into a copy
 * of data. scatterElements(ctx, data, indices, updates, out, axis, reduction): ONNX ScatterElements, gather form.
 */
export { gatherElements, scatterElements, scatterNd } from './gather-elements';
/**
 * gatherNd(ctx, data, indices, out, batchDims): ONNX GatherND; out dims = indices.dims[..-1] +
 * data.dims[batchDims + k ..] (gatherNdDims). indices: i32 family, negative values wrap.
 */
export { gatherNd, gatherNdDims } from './gather-nd';
/** gridSample(ctx, x, grid, out, params): ONNX GridSample over 2-D images. */
export { gridSample } from './grid-sample';
/**
 * groupNorm(ctx, x, scale, bias, out, params): GroupNormalization over x [N, C, ...] (statistics per batch and
 * group of C / groups channels), scale/bias per channel or per group; InstanceNormalization is groups = C.
 */
export { type GroupNormParams, groupNorm } from './group-norm';
/**
 * matmulInteger(ctx, a, b, out, operands) and convInteger(ctx, x, w, out, params, operands): MatMulInteger and
 * ConvInteger (8-bit codes, int32 sums), or QLinearMatMul and QLinearConv when operands.requant is given.
 */
export { convInteger, matmulInteger } from './integer';
/**
 * kvAppend(ctx, past, fresh, seqlens, out, params): a key/value cache [B, H, T, D] after a step — each batch
 * row's past, then its S new rows (strided view of `fresh`) at seqlens[b] + 1 − S (0 on a first prompt),
 * zeros after (GroupQueryAttention's presents).
 */
export { type KvAppendParams, kvAppend } from './kv-append';
/**
 * layerNorm(ctx, x, gamma, beta, residual, out, sumOut, params): over the last axis,
 * out = (y − mean(y)) / sqrt(var(y) + eps) · gamma + beta with y = x (+ residual when given).
 * gamma/beta: [C]; beta may be null. residual: same dims as x or null. sumOut: null or a view that receives y
 * (pre-LN transformers need the residual sum for the next skip connection); sumOut requires a residual.
 */
export { layerNorm } from './layer-norm';
/**
 * linearAttention(ctx, query, key, value, past, decay, beta, out, present, params): com.microsoft LinearAttention,
 * a recurrent state per head walked token by token under one of four update rules; causalConv(ctx, x, weight,
 * bias, past, y, present, params): com.microsoft CausalConvWithState, the depthwise causal convolution before it.
 */
export {
  type CausalConvParams,
  causalConv,
  type LinearAttentionParams,
  linearAttention,
} from './linear-attention';
/**
 * matmul(ctx, a, b, bias, out, params): out = act(alpha · A×B + bias), or act(alpha · A×B) · gate when params.gate
 * says the bias operand is a gate of out's dims.
 * a [..., M, K], b [..., K, N] (or [..., N, K] with transposeB); batch dims broadcast NumPy-style; a rank-1 a is
 * [1, K] and a rank-1 b is [K, 1] with that dim dropped from out, as ONNX MatMul says. bias: [N] or null.
 * out: [...broadcast batch, M, N], float32. 32×32 tiles in workgroup memory, 4×4 outputs per thread; vec4
 * staging loads when K (and N, unless B is transposed) are multiples of 4; any M, N, K. One dispatch; two
 * pipelines in all (scalar / vec4), as transB, bias and activation are uniforms.
 * linear(ctx, x, w, bias, out, params): the same function, named for the fused MatMul+Add(+activation).
 */
export { linear, matmul } from './matmul';
/** maxUnpool(ctx, x, indices, out): ONNX MaxUnpool (zeros, then x at MaxPool's flat indices). */
export { maxUnpool } from './max-unpool';
/** oneHot(ctx, indices, values, out, depth, axis): ONNX OneHot. */
export { oneHot } from './one-hot';
/** pad(ctx, x, out, pads, mode, value): ONNX Pad (constant / reflect / edge / wrap; negative pads crop). */
export { pad } from './pad';
/** pool(ctx, kind, x, out, params, indices?): AveragePool / MaxPool of any window over 1-3 spatial axes. */
export { pool } from './pool';
/** reduce(ctx, x, out, params): ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSumExp over axes, keepdims. */
export { reduce } from './reduce';
/**
 * repetitionPenalty(ctx, logits, seen, penalty, out): logits [rows, vocab]; the tokens whose bit is set in the
 * row's int32 bitset seen [rows, words] are divided by penalty [rows] where positive, multiplied where negative.
 */
export { repetitionPenalty } from './repetition-penalty';
/**
 * resize(ctx, x, out, params): ONNX Resize (opset 11+) with its parameters resolved (ir/resize-params.ts):
 * nearest (any 32-bit dtype), linear and cubic (float32) over any axes of rank ≤ 8, every coordinate mode.
 */
export { resize } from './resize';
/**
 * resizeNormalize(ctx, image, taps, out, params): RGBA8 image → separable resample with the given taps (Pillow's
 * order: horizontal, round to 8 bits, vertical, round) → crop window → v·scale − shift per channel → image
 * `batchIndex` of out [N, 3, H, W] float32. Two dispatches. packResampleTaps lays out the taps view.
 */
export { packResampleTaps, resizeNormalize } from './resize-normalize';
/** reverseSequence(ctx, x, lens, out, timeAxis, batchAxis): ONNX ReverseSequence. */
export { reverseSequence } from './reverse-sequence';
/**
 * rnnRecurrence(ctx, xw, r, bias, lens, y, state, params): the recurrence of ONNX RNN / GRU / LSTM after the input
 * projection, one dispatch (a workgroup per direction).
 */
export { rnnRecurrence } from './rnn';
/** roiAlign(ctx, x, rois, batchIndices, out, params): ONNX RoiAlign (avg or max). */
export { roiAlign } from './roi-align';
/**
 * rotary(ctx, x, cos, sin, out): out = x·cos + rotate_half(x)·sin over the last axis (rotate_half(x) =
 * concat(−x[d/2:], x[:d/2])); cos and sin share dims, broadcast to x's. float32.
 * rotaryCache(ctx, x, cos, sin, positions, out, params): com.microsoft RotaryEmbedding — caches
 * [positions, R/2] read at each token's position, rotate-half or interleaved pairs, the first R values of each
 * head rotated ([B, S, H·D] or [B, H, S, D]).
 */
export { type RotaryCacheParams, rotary, rotaryCache } from './rotary';
/**
 * sampleTopK(ctx, values, indices, sampling, token): per row of TopK's [rows, k] values (best first) and indices,
 * a token drawn by sampling [rows, 5] = (temperature, top_p, uniform draw in [0, 1), top_k ≤ k, min_p); token
 * [rows].
 */
export { sampleTopK } from './sample';
/** softmax(ctx, x, out, axis): numerically stable softmax along any axis (negative allowed). float32. */
export { softmax } from './softmax';
export type {
  Activation,
  AttentionParams,
  AttentionVariant,
  BinaryOp,
  Conv2dParams,
  Conv2dVariant,
  LayerNormParams,
  MatmulParams,
  MatmulVariant,
  PackedTapsLayout,
  ReduceOp,
  ReduceParams,
  ResampleTaps,
  ResizeNormalizeParams,
  SliceParams,
  Strided4,
  TopKParams,
  UnaryOp,
  UnaryParams,
} from './types';
/**
 * unary(ctx, x, out, params): elementwise op (see UnaryOp); float32 (Abs/Neg/Relu/Sign also int; Not on bool).
 * gelu(ctx, x, out, approximate): 'none' (erf), 'tanh', or 'quick' (x·sigmoid(1.702x)).
 * cast(ctx, x, out, to?): between float32 and the i32 family (int32/int64/bool/...); float→int truncates toward 0,
 * (u)int8 and (u)int16 targets wrap to their width, float16 ones round to half, anything→bool is (x != 0).
 * dequantize / quantize(ctx, x, out, scale, zeroPoint): (De)QuantizeLinear with one scale and zero point.
 */
export { cast, dequantize, gelu, isInf, isNan, quantize, quantizedRange, unary } from './unary';
