// LayerNorm over the last axis with an optional fused residual add: y = x (+ residual);
// out = (y − mean) / sqrt(var + eps) · gamma (+ beta); with `rms`, mean = 0 and var = mean(y²) (RMSNorm).
// One workgroup per row and ONE barrier per row (barriers
// dominate on software adapters): every thread accumulates Σd and Σd² of d = y − y[0] (shifting by a sample of
// the row keeps E[d²] − E[d]² free of the cancellation E[y²] − E[y]² suffers at large means), writes the pair to
// workgroup memory, and after the barrier each thread sums all WG pairs itself. Missing optional inputs are bound as aliases of
// x/gamma and skipped through uniforms. DECLS adds the optional outputs: sum_out receives y (the residual stream,
// SUM_STORE), mean_out / inv_std_out one value per row (STATS_STORE), then the uniforms.
const WG: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  has_residual: u32,
  has_beta: u32,
  /** RMSNorm (SimplifiedLayerNormalization): no mean is subtracted, out = y / sqrt(mean(y²) + eps) · gamma. */
  rms: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> residual: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
{{DECLS}}

var<workgroup> partial: array<vec2<f32>, WG>;

fn load(i: u32) -> f32 {
  var y = x[i];
  if (u.has_residual != 0u) {
    y += residual[i];
  }
  return y;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = group_id(wid, groups);
  if (row >= u.rows) {
    return;
  }
  let base = row * u.cols;
  let shift = select(load(base), 0.0, u.rms != 0u);
  var acc = vec2<f32>(0.0);
  for (var c = lid; c < u.cols; c += WG) {
    let y = load(base + c);
    {{SUM_STORE}}
    let d = y - shift;
    acc += vec2<f32>(d, d * d);
  }
  partial[lid] = acc;
  workgroupBarrier();
  var total = vec2<f32>(0.0);
  for (var t = 0u; t < WG; t++) {
    total += partial[t];
  }
  let n = f32(u.cols);
  let mean_d = select(total.x / n, 0.0, u.rms != 0u);
  let variance = max(total.y / n - mean_d * mean_d, 0.0);
  let mean = shift + mean_d;
  let inv_std = inverseSqrt(variance + u.eps);
  if (lid == 0u) {
    {{STATS_STORE}}
  }
  for (var c = lid; c < u.cols; c += WG) {
    var r = (load(base + c) - mean) * inv_std * gamma[c];
    if (u.has_beta != 0u) {
      r += beta[c];
    }
    out[base + c] = r;
  }
}

// Barrier-free variant for software adapters (SwiftShader), where workgroup barriers cost far more than the
// arithmetic: one thread per row, the same shifted sums, then one pass writing the result.
@compute @workgroup_size(WG)
fn main_rows(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = group_id(wid, groups) * WG + lid;
  if (row >= u.rows) {
    return;
  }
  let base = row * u.cols;
  let shift = select(load(base), 0.0, u.rms != 0u);
  var acc = vec2<f32>(0.0);
  for (var c = 0u; c < u.cols; c++) {
    let y = load(base + c);
    {{SUM_STORE}}
    let d = y - shift;
    acc += vec2<f32>(d, d * d);
  }
  let n = f32(u.cols);
  let mean_d = select(acc.x / n, 0.0, u.rms != 0u);
  let mean = shift + mean_d;
  let inv_std = inverseSqrt(max(acc.y / n - mean_d * mean_d, 0.0) + u.eps);
  {{STATS_STORE}}
  for (var c = 0u; c < u.cols; c++) {
    var r = (load(base + c) - mean) * inv_std * gamma[c];
    if (u.has_beta != 0u) {
      r += beta[c];
    }
    out[base + c] = r;
  }
}
