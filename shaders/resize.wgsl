// ONNX Resize, one output element per invocation, any rank ≤ 8. The sampling itself was decided on the host
// (ops/resize.ts: coordinate transformation, nearest rounding, linear / cubic weights, in onnxruntime's f32
// arithmetic): for every axis and output coordinate, `taps` holds one entry of six words — the first input
// index (i32), the number of taps (0: outside a tf_crop_and_resize window, write the extrapolation value), then
// up to four f32 weights. An element is the weighted sum over every combination of its axes' taps (separable),
// indices clamped to the input's edges. Without interpolation (nearest) the one selected 32-bit word is copied,
// so any 32-bit dtype resizes; otherwise x and out hold f32 bit patterns.
const ENTRY: u32 = 6u;

struct Params {
  n: u32,
  rank: u32,
  interpolate: u32,
  extrapolation: u32,
  in_dims: array<vec4<u32>, 2>,
  out_dims: array<vec4<u32>, 2>,
  in_strides: array<vec4<u32>, 2>,
  /** Entry index of each axis' coordinate 0 in `taps`. */
  first_entry: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> taps: array<u32>;
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
  var entry: array<u32, 8>;
  var combos = 1u;
  var rem = i;
  for (var k = 0u; k < u.rank; k++) {
    let a = u.rank - 1u - k;
    let dim = at8(u.out_dims, a);
    let e = (at8(u.first_entry, a) + rem % dim) * ENTRY;
    rem /= dim;
    let count = taps[e + 1u];
    if (count == 0u) {
      out[i] = u.extrapolation;
      return;
    }
    entry[a] = e;
    combos *= count;
  }
  var sum = 0.0;
  for (var t = 0u; t < combos; t++) {
    var r = t;
    var at = 0u;
    var w = 1.0;
    for (var k = 0u; k < u.rank; k++) {
      let a = u.rank - 1u - k;
      let e = entry[a];
      let count = taps[e + 1u];
      let j = r % count;
      r /= count;
      let len = i32(at8(u.in_dims, a));
      at += u32(clamp(bitcast<i32>(taps[e]) + i32(j), 0, len - 1)) * at8(u.in_strides, a);
      w *= bitcast<f32>(taps[e + 2u + j]);
    }
    if (u.interpolate == 0u) {
      out[i] = x[at];
      return;
    }
    sum += w * bitcast<f32>(x[at]);
  }
  out[i] = bitcast<u32>(sum);
}
