// Rotary position embedding in the rotate-half form LLaMA-style models export:
// out = x · cos + rotate_half(x) · sin, rotate_half(x) = concat(−x[h:], x[:h]) over the last axis (h = d / 2).
// cos and sin share one shape, broadcast to x's (typically [b, 1, s, d] against [b, heads, s, d]).
struct Params {
  n: u32,
  rank: u32,
  half: u32,
  _pad: u32,
  dims: array<vec4<u32>, 2>,
  cs_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> cos_t: array<f32>;
@group(0) @binding(2) var<storage, read> sin_t: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * groups.x + wid.x) * 256u + lid;
  if (i >= u.n) {
    return;
  }
  var rem = i;
  var ic = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let dim = u.dims[d / 4][d % 4];
    ic += (rem % dim) * u.cs_strides[d / 4][d % 4];
    rem = rem / dim;
  }
  let first_half = i % (2u * u.half) < u.half;
  let rotated = select(x[i - u.half], -x[i + u.half], first_half);
  out[i] = x[i] * cos_t[ic] + rotated * sin_t[ic];
}
