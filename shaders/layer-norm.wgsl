// LayerNorm over the last axis with an optional fused residual add: y = x (+ residual);
// out = (y − mean) / sqrt(var + eps) · gamma (+ beta). One workgroup per row; two-pass statistics (mean, then
// Σ(y − mean)²) for accuracy, reductions in workgroup memory. Missing optional inputs are bound as aliases of
// x/gamma and skipped through uniforms. SUM_DECL/SUM_STORE add a binding that receives y (the residual stream).
const WG: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  has_residual: u32,
  has_beta: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> residual: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
{{SUM_DECL}}

var<workgroup> scratch: array<f32, WG>;

fn load(i: u32) -> f32 {
  var y = x[i];
  if (u.has_residual != 0u) {
    y += residual[i];
  }
  return y;
}

fn workgroup_sum(v: f32, lid: u32) -> f32 {
  scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      scratch[lid] += scratch[lid + s];
    }
    workgroupBarrier();
  }
  let total = scratch[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.y * groups.x + wid.x;
  if (row >= u.rows) {
    return;
  }
  let base = row * u.cols;
  var s = 0.0;
  for (var c = lid; c < u.cols; c += WG) {
    let y = load(base + c);
    s += y;
    {{SUM_STORE}}
  }
  let mean = workgroup_sum(s, lid) / f32(u.cols);
  var s2 = 0.0;
  for (var c = lid; c < u.cols; c += WG) {
    let dv = load(base + c) - mean;
    s2 += dv * dv;
  }
  let inv_std = inverseSqrt(workgroup_sum(s2, lid) / f32(u.cols) + u.eps);
  for (var c = lid; c < u.cols; c += WG) {
    var r = (load(base + c) - mean) * inv_std * gamma[c];
    if (u.has_beta != 0u) {
      r += beta[c];
    }
    out[base + c] = r;
  }
}
