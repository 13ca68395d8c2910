// ONNX GatherND: indices [..., k] address slices of data (its first batch_dims axes shared with indices).
// out[t, j] = data[batch(t) · batch_stride + Σ_m idx[t, m] · stride[b + m] + j] for each of the n_tuples index
// tuples t and the `inner` elements j of the slice they address. Copies 32-bit words (any 32-bit dtype).
// Negative indices wrap; out-of-range ones (an ONNX error) are clamped rather than read out of bounds.
struct Params {
  n: u32,
  inner: u32,
  k: u32,
  /** Index tuples per batch element (n_tuples / batches). */
  tuples_per_batch: u32,
  batch_stride: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  /** Dims and element strides of the k indexed axes of data. */
  dims: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.n) {
    return;
  }
  let t = i / u.inner;
  var at = (t / u.tuples_per_batch) * u.batch_stride + i % u.inner;
  for (var m = 0u; m < u.k; m++) {
    let dim = i32(at8(u.dims, m));
    var idx = indices[t * u.k + m];
    if (idx < 0) {
      idx += dim;
    }
    at += u32(clamp(idx, 0, dim - 1)) * at8(u.strides, m);
  }
  out[i] = data[at];
}
