// Elementwise binary ops with NumPy broadcasting: out[i] = OP(a[ia], b[ib]) (b may have its own scalar type: Pow), where ia/ib come from out's
// coordinates and per-input strides (0 on broadcast dims). When {{SAME_SHAPE}} is true all three are walked
// linearly (the common case: no index arithmetic at all).
struct Params {
  n: u32,
  rank: u32,
  _pad0: u32,
  _pad1: u32,
  dims: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<{{IN}}>;
@group(0) @binding(1) var<storage, read> b: array<{{IN_B}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{OUT}}>;
@group(0) @binding(3) var<uniform> u: Params;

// A NaN the compiler cannot constant-fold (WGSL rejects NaN constants).
var<private> nan_bits: u32 = 0x7fc00000u;

fn pow_onnx(x: f32, y: f32) -> f32 {
  // WGSL pow is undefined for x < 0 and for 0^0; ONNX follows C pow.
  if (y == 0.0) {
    return 1.0;
  }
  if (y == 2.0) {
    return x * x;
  }
  let r = pow(abs(x), y);
  if (x >= 0.0) {
    return r;
  }
  if (y != floor(y)) {
    return bitcast<f32>(nan_bits);
  }
  return select(r, -r, fract(y * 0.5) != 0.0);
}

// Integer power by squaring (wrapping like C). Negative exponents: 1/x^|y| truncated toward zero.
fn pow_int(x: i32, y: i32) -> i32 {
  if (y < 0) {
    if (x == 1) {
      return 1;
    }
    if (x == -1) {
      return select(1, -1, (y & 1) != 0);
    }
    return 0;
  }
  var r = 1;
  var base = x;
  var e = y;
  loop {
    if (e == 0) {
      break;
    }
    if ((e & 1) != 0) {
      r = r * base;
    }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}

fn apply(x: {{IN}}, y: {{IN_B}}) -> {{OUT}} {
  return {{EXPR}};
}

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
  if ({{SAME_SHAPE}}) {
    out[i] = apply(a[i], b[i]);
    return;
  }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let dim = at8(u.dims, u32(d));
    let c = rem % dim;
    rem = rem / dim;
    ia += c * at8(u.a_strides, u32(d));
    ib += c * at8(u.b_strides, u32(d));
  }
  out[i] = apply(a[ia], b[ib]);
}
