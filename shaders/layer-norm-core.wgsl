// Layer norm over the last axis, one workgroup of 64 per row: y = x (+ residual); out = (y − mean)/√(var + eps)·γ + β.
// Two reductions (mean, then variance of the centred values) for accuracy. Placeholders switch
// the optional residual input, residual-sum output and β.
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

var<workgroup> partial: array<f32, 64>;

fn load(i: u32) -> f32 {
  {{LOAD}}
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      partial[lid] += partial[lid + s];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * groups.x + wid.x;
  if (row >= u.rows) {
    return;
  }
  let base = row * u.cols;
  var s = 0.0;
  for (var c = lid; c < u.cols; c += 64u) {
    s += load(base + c);
  }
  let mean = reduce_sum(s, lid) / f32(u.cols);
  var q = 0.0;
  for (var c = lid; c < u.cols; c += 64u) {
    let d = load(base + c) - mean;
    q += d * d;
  }
  let inv = inverseSqrt(reduce_sum(q, lid) / f32(u.cols) + u.eps);
  for (var c = lid; c < u.cols; c += 64u) {
    let y = load(base + c);
    {{STORE_SUM}}
    out[base + c] = (y - mean) * inv * gamma[c]{{BETA}};
  }
}
