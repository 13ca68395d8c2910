// Barrier-free matmul for software adapters (SwiftShader runs workgroup barriers as coroutine switches, which
// cost more than the arithmetic): each invocation computes a 4×4 output block straight from global memory,
// still reusing every loaded A and B value four times. Same Params, bindings, grid (32×32 outputs per 8×8
// workgroup) and semantics as matmul.wgsl. Indices are clamped in the k loop (no branches) and only the
// stores are bounds-checked.
const TILE: u32 = 32u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch_rank: u32,
  alpha: f32,
  trans_b: u32,
  has_bias: u32,
  /** 0 none, 1 relu, 2 gelu-erf, 3 gelu-tanh, 4 quick-gelu; bias_len 1 broadcasts a scalar bias. */
  act: u32,
  bias_len: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  batch_dims: array<vec4<u32>, 2>,
  a_batch_strides: array<vec4<u32>, 2>,
  b_batch_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;

fn activation(v: f32) -> f32 {
  switch u.act {
    case 1u: {
      return max(v, 0.0);
    }
    case 2u: {
      return gelu_erf(v);
    }
    case 3u: {
      return gelu_tanh(v);
    }
    case 4u: {
      return quick_gelu(v);
    }
    default: {
      return v;
    }
  }
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  var rem = wid.z;
  var a_base = 0u;
  var b_base = 0u;
  for (var kk = 0u; kk < u.batch_rank; kk++) {
    let d = u.batch_rank - 1u - kk;
    let dim = u.batch_dims[d / 4u][d % 4u];
    let c = rem % dim;
    rem /= dim;
    a_base += c * u.a_batch_strides[d / 4u][d % 4u];
    b_base += c * u.b_batch_strides[d / 4u][d % 4u];
  }
  let row0 = wid.y * TILE + lid3.y * 4u;
  let col0 = wid.x * TILE + lid3.x * 4u;
  if (row0 >= u.m || col0 >= u.n) {
    return;
  }
  // Clamped row/column starts (rows and columns past the edge recompute the last one; their stores are
  // skipped), so the k loop has no branches. vec4 accumulators: SwiftShader keeps them in registers, where a
  // dynamically indexed 4×4 scalar array would live in memory.
  let r0 = a_base + min(row0, u.m - 1u) * u.k;
  let r1 = a_base + min(row0 + 1u, u.m - 1u) * u.k;
  let r2 = a_base + min(row0 + 2u, u.m - 1u) * u.k;
  let r3 = a_base + min(row0 + 3u, u.m - 1u) * u.k;
  let n0 = min(col0, u.n - 1u);
  let n1 = min(col0 + 1u, u.n - 1u);
  let n2 = min(col0 + 2u, u.n - 1u);
  let n3 = min(col0 + 3u, u.n - 1u);
  let transposed = u.trans_b != 0u;
  // Element offsets of the four B columns, and the step between consecutive k.
  let c0 = b_base + select(n0, n0 * u.k, transposed);
  let c1 = b_base + select(n1, n1 * u.k, transposed);
  let c2 = b_base + select(n2, n2 * u.k, transposed);
  let c3 = b_base + select(n3, n3 * u.k, transposed);
  let b_step = select(u.n, 1u, transposed);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < u.k; k++) {
    let kb = k * b_step;
    let bv = vec4<f32>(b[c0 + kb], b[c1 + kb], b[c2 + kb], b[c3 + kb]);
    acc0 = fma(vec4<f32>(a[r0 + k]), bv, acc0);
    acc1 = fma(vec4<f32>(a[r1 + k]), bv, acc1);
    acc2 = fma(vec4<f32>(a[r2 + k]), bv, acc2);
    acc3 = fma(vec4<f32>(a[r3 + k]), bv, acc3);
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let out_base = wid.z * u.m * u.n;
  for (var i = 0u; i < 4u; i++) {
    let gm = row0 + i;
    for (var j = 0u; j < 4u; j++) {
      let gn = col0 + j;
      if (gm < u.m && gn < u.n) {
        var v = acc[i][j] * u.alpha;
        if (u.has_bias != 0u) {
          v += bias[select(gn, 0u, u.bias_len == 1u)];
        }
        out[out_base + gm * u.n + gn] = activation(v);
      }
    }
  }
}
