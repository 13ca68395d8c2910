// GroupNormalization (and InstanceNormalization, one channel per group) over NC… tensors: the channels of a group
// are contiguous, so each (n, group) is one row of channels_per_group · spatial values. One workgroup per row and
// one barrier, with layer-norm.wgsl's numerics: every thread sums d = x − x[row start] and d² over its share
// of the row (the shift keeps E[d²] − E[d]² free of cancellation at large means), the partial sums meet in
// workgroup memory, and each thread then normalizes its share: (x − mean) / sqrt(var + eps) · scale + bias.
// scale and bias hold one value per channel, or one per group (GroupNormalization-18): `per_channel`.
const WG: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  groups: u32,
  channels_per_group: u32,
  spatial: u32,
  per_channel: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;

var<workgroup> partial: array<vec2<f32>, WG>;

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
  let shift = x[base];
  var acc = vec2<f32>(0.0);
  for (var c = lid; c < u.cols; c += WG) {
    let d = x[base + c] - shift;
    acc += vec2<f32>(d, d * d);
  }
  partial[lid] = acc;
  workgroupBarrier();
  var total = vec2<f32>(0.0);
  for (var t = 0u; t < WG; t++) {
    total += partial[t];
  }
  let n = f32(u.cols);
  let mean_d = total.x / n;
  let mean = shift + mean_d;
  let inv_std = inverseSqrt(max(total.y / n - mean_d * mean_d, 0.0) + u.eps);
  let group = row % u.groups;
  for (var c = lid; c < u.cols; c += WG) {
    let at = select(group, group * u.channels_per_group + c / u.spatial, u.per_channel != 0u);
    out[base + c] = (x[base + c] - mean) * inv_std * scale[at] + bias[at];
  }
}
