// Layer norm over the last axis, one invocation per row (no barriers: software adapters run those slowly):
// y = x (+ residual); out = (y − mean)/√(var + eps)·γ + β, variance from the centred values for accuracy.
// Placeholders switch the optional residual input, residual-sum output and β.
struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
{{DECLS}}

fn load(i: u32) -> f32 {
  {{LOAD}}
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = (wid.y * groups.x + wid.x) * 64u + lid;
  if (row >= u.rows) {
    return;
  }
  let base = row * u.cols;
  var s = 0.0;
  for (var c = 0u; c < u.cols; c++) {
    s += load(base + c);
  }
  let mean = s / f32(u.cols);
  var q = 0.0;
  for (var c = 0u; c < u.cols; c++) {
    let d = load(base + c) - mean;
    q += d * d;
  }
  let inv = inverseSqrt(q / f32(u.cols) + u.eps);
  for (var c = 0u; c < u.cols; c++) {
    let y = load(base + c);
    {{STORE_SUM}}
    out[base + c] = (y - mean) * inv * gamma[c]{{BETA}};
  }
}
