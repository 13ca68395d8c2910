// Integer arithmetic of ONNX's quantized ops (ops/integer.ts): one thread per output sums
// (a − a_zero)·(b − b_zero) in i32, as onnxruntime does (wrapping past 2^31). MatMulInteger and ConvInteger write
// the sum; QLinearMatMul and QLinearConv add the int32 bias, requantize with a_scale·b_scale / y_scale (rounded
// half to even), add y's zero point and saturate. Codes are one i32 per element (ops/index.ts). Zero points and
// scales are read at row % length and column % length, so one value serves the tensor, one per row or column each
// row or column, and one per row of every batch each of those. `ints` holds the zero points and the bias, `scales`
// the scales, each at an offset in the uniform. Placeholders: SCALES (its binding, or nothing), FINISH (finish()'s
// body) and UNIFORM (the uniform's binding).
struct Params {
  n: u32,
  // MatMul: rows, reduction length and columns of one product.
  m: u32,
  k: u32,
  cols: u32,
  a_zero_len: u32,
  b_zero_len: u32,
  a_scale_len: u32,
  b_scale_len: u32,
  b_zero_at: u32,
  y_zero_at: u32,
  bias_at: u32,
  bias_len: u32,
  b_scale_at: u32,
  y_scale_at: u32,
  // The output type's range.
  lo: i32,
  hi: i32,
  batch_rank: u32,
  a_zero_at: u32,
  a_scale_at: u32,
  _pad: u32,
  batch_dims: array<vec4<u32>, 2>,
  // Element offsets of each batch coordinate in A and B (0 where broadcast).
  a_batch_strides: array<vec4<u32>, 2>,
  b_batch_strides: array<vec4<u32>, 2>,
  // Conv: [N, C, d0, d1, d2] with 1-D and 2-D padded to three spatial axes of size 1.
  in_channels: u32,
  out_channels: u32,
  in_group: u32,
  out_group: u32,
  in_dims: vec4<u32>,
  out_dims: vec4<u32>,
  kernel: vec4<u32>,
  strides: vec4<u32>,
  dilations: vec4<u32>,
  pads_begin: vec4<i32>,
}

@group(0) @binding(0) var<storage, read> a: array<i32>;
@group(0) @binding(1) var<storage, read> b: array<i32>;
@group(0) @binding(2) var<storage, read> ints: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<i32>;
{{SCALES}}
@group(0) @binding({{UNIFORM}}) var<uniform> u: Params;

fn finish(acc: i32, row: u32, col: u32) -> i32 {
  {{FINISH}}
}

/** [batch…, M, K] × [batch…, K, N]: row = the output's row across A's batches, col = its column across B's. */
@compute @workgroup_size(256)
fn matmul_integer(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.n) {
    return;
  }
  let col = i % u.cols;
  let row = (i / u.cols) % u.m;
  let batch = i / (u.cols * u.m);
  let a_base = strided_offset(batch, 0u, u.batch_rank, u.batch_dims, u.a_batch_strides);
  let b_base = strided_offset(batch, 0u, u.batch_rank, u.batch_dims, u.b_batch_strides);
  let a_row = a_base / u.k + row;
  let b_col = b_base / u.k + col;
  let a_zero = ints[u.a_zero_at + a_row % u.a_zero_len];
  let b_zero = ints[u.b_zero_at + b_col % u.b_zero_len];
  var acc = 0i;
  for (var t = 0u; t < u.k; t++) {
    acc += (a[a_base + row * u.k + t] - a_zero) * (b[b_base + t * u.cols + col] - b_zero);
  }
  y[i] = finish(acc, a_row, b_col);
}

/** x [N, C, …] with one zero point and scale, w [Cout, C/group, …] with one per output channel (or one). */
@compute @workgroup_size(256)
fn conv_integer(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.n) {
    return;
  }
  let at_out = coords3(i, u.out_dims);
  let plane = at_out.w;
  let oc = plane % u.out_channels;
  let batch = plane / u.out_channels;
  let g = oc / u.out_group;
  let origin = vec3<i32>(at_out.xyz * u.strides.xyz) - u.pads_begin.xyz;
  let in_size = vec3<i32>(u.in_dims.xyz);
  let taps = u.kernel.x * u.kernel.y * u.kernel.z;
  let in_plane = u.in_dims.x * u.in_dims.y * u.in_dims.z;
  let x_zero = ints[u.a_zero_at];
  let w_zero = ints[u.b_zero_at + oc % u.b_zero_len];
  var acc = 0i;
  for (var c = 0u; c < u.in_group; c++) {
    let x_base = (batch * u.in_channels + g * u.in_group + c) * in_plane;
    let w_base = (oc * u.in_group + c) * taps;
    for (var j0 = 0u; j0 < u.kernel.x; j0++) {
      for (var j1 = 0u; j1 < u.kernel.y; j1++) {
        for (var j2 = 0u; j2 < u.kernel.z; j2++) {
          // Padding holds x's zero point, which adds nothing.
          let q = origin + vec3<i32>(vec3<u32>(j0, j1, j2) * u.dilations.xyz);
          if (any(q < vec3<i32>(0)) || any(q >= in_size)) {
            continue;
          }
          let at = vec3<u32>(q);
          acc += (a[x_base + (at.x * u.in_dims.y + at.y) * u.in_dims.z + at.z] - x_zero) *
            (b[w_base + (j0 * u.kernel.y + j1) * u.kernel.z + j2] - w_zero);
        }
      }
    }
  }
  y[i] = finish(acc, 0u, oc);
}
