// Batched matmul with bias and activation epilogue: out[b, m, n] = act(alpha · Σk A[b, m, k]·B[b, k, n] + bias[n]).
// Each invocation computes a 4×4 output block straight from global memory: no workgroup memory and no
// barriers, which software adapters (SwiftShader emulates barriers with coroutines) run far faster, while
// the 4×4 block still reuses every loaded A and B value four times. Batch dims are broadcast through
// per-batch element offsets (stride 0 where an operand is broadcast).
struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  bdims: vec4<u32>,
  astr: vec4<u32>,
  bstr: vec4<u32>,
  alpha: f32,
  blocks_n: u32,
  blocks_m: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
{{BIAS_DECL}}

fn erf_f32(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let y = 1.0 - poly * exp(-ax * ax);
  return select(y, -y, x < 0.0);
}

fn activate(x: f32) -> f32 {
  {{ACT}}
}

fn load_b(boff: u32, kk: u32, col: u32) -> f32 {
  if (col >= u.n) {
    return 0.0;
  }
  return {{B_LOAD}};
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * groups.x + wid.x) * 64u + lid;
  let per_batch = u.blocks_n * u.blocks_m;
  if (t >= per_batch * u.batch) {
    return;
  }
  let batch = t / per_batch;
  let bn = t % u.blocks_n;
  let bm = (t / u.blocks_n) % u.blocks_m;
  var rem = batch;
  var aoff = 0u;
  var boff = 0u;
  for (var d = 3i; d >= 0; d--) {
    let size = u.bdims[d];
    let idx = rem % size;
    rem = rem / size;
    aoff += idx * u.astr[d];
    boff += idx * u.bstr[d];
  }
  let row0 = bm * 4u;
  let col0 = bn * 4u;
  var acc: array<vec4<f32>, 4>;
  for (var kk = 0u; kk < u.k; kk++) {
    let bv = vec4<f32>(load_b(boff, kk, col0), load_b(boff, kk, col0 + 1u), load_b(boff, kk, col0 + 2u), load_b(boff, kk, col0 + 3u));
    for (var r = 0u; r < 4u; r++) {
      let row = min(row0 + r, u.m - 1u);
      acc[r] += a[aoff + row * u.k + kk] * bv;
    }
  }
  for (var r = 0u; r < 4u; r++) {
    let row = row0 + r;
    if (row >= u.m) {
      break;
    }
    for (var c = 0u; c < 4u; c++) {
      let col = col0 + c;
      if (col < u.n) {
        var v = u.alpha * acc[r][c];
        {{BIAS_ADD}}
        out[(batch * u.m + row) * u.n + col] = activate(v);
      }
    }
  }
}
