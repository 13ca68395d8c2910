// Batched matmul with bias and activation epilogue: out[b, m, n] = act(alpha · Σk A[b, m, k]·B[b, k, n] + bias[n]).
// 16×16 output tile per workgroup, K walked in 16-wide tiles staged in workgroup memory. Batch dims are
// broadcast through per-batch element offsets (batch strides 0 where an operand is broadcast).
// Placeholders (filled by matmul-core.ts): B layout, optional bias binding, activation body.
struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  // Batch index decomposition: up to 4 broadcast batch dims (outer → inner), with A and B strides per dim.
  bdims: vec4<u32>,
  astr: vec4<u32>,
  bstr: vec4<u32>,
  alpha: f32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
{{BIAS_DECL}}

const TILE: u32 = 16u;
var<workgroup> ta: array<array<f32, 16>, 16>;
var<workgroup> tb: array<array<f32, 16>, 16>;

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

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let batch = wid.z;
  // Element offsets of this batch in A and B.
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
  let row = wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  var acc = 0.0;
  let tiles = (u.k + TILE - 1u) / TILE;
  for (var t = 0u; t < tiles; t++) {
    let ka = t * TILE + lid.x;
    ta[lid.y][lid.x] = select(0.0, a[aoff + row * u.k + ka], row < u.m && ka < u.k);
    let kb = t * TILE + lid.y;
    var bv = 0.0;
    if (col < u.n && kb < u.k) {
      bv = {{B_LOAD}};
    }
    tb[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var i = 0u; i < TILE; i++) {
      acc += ta[lid.y][i] * tb[i][lid.x];
    }
    workgroupBarrier();
  }
  if (row < u.m && col < u.n) {
    var v = u.alpha * acc;
    {{BIAS_ADD}}
    out[(batch * u.m + row) * u.n + col] = activate(v);
  }
}
