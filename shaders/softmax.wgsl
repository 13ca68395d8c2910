// Softmax or LogSoftmax along one axis. The tensor is viewed as [outer, axis, inner]; one workgroup per
// (outer, inner) row, threads stride over the axis. Max-subtracted (numerically stable). Each reduction is one
// barrier: threads write partials, then every thread combines all WG of them (barriers dominate on software
// adapters). Placeholder FINISH: the output of element v from the row's max and its sum of exp(v − max).
const WG: u32 = 64u;

struct Params {
  rows: u32,
  axis_len: u32,
  inner: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> u: Params;

fn finish(v: f32, row_max: f32, total: f32) -> f32 {
  return {{FINISH}};
}

var<workgroup> part_max: array<f32, WG>;
var<workgroup> part_sum: array<f32, WG>;

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
  let base = (row / u.inner) * u.axis_len * u.inner + row % u.inner;
  let step = u.inner;

  var m = -3.402823e38;
  for (var j = lid; j < u.axis_len; j += WG) {
    m = max(m, x[base + j * step]);
  }
  part_max[lid] = m;
  workgroupBarrier();
  var row_max = part_max[0];
  for (var t = 1u; t < WG; t++) {
    row_max = max(row_max, part_max[t]);
  }

  var sum = 0.0;
  for (var j = lid; j < u.axis_len; j += WG) {
    sum += exp(x[base + j * step] - row_max);
  }
  part_sum[lid] = sum;
  workgroupBarrier();
  var total = 0.0;
  for (var t = 0u; t < WG; t++) {
    total += part_sum[t];
  }
  for (var j = lid; j < u.axis_len; j += WG) {
    let idx = base + j * step;
    y[idx] = finish(x[idx], row_max, total);
  }
}

// Barrier-free variant for software adapters (SwiftShader), where workgroup barriers cost far more than the
// arithmetic: one thread per row, three passes over it (max, sum, write). Rows are u.rows; WG rows per group.
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
  let base = (row / u.inner) * u.axis_len * u.inner + row % u.inner;
  let step = u.inner;
  var m = -3.402823e38;
  for (var j = 0u; j < u.axis_len; j++) {
    m = max(m, x[base + j * step]);
  }
  var sum = 0.0;
  for (var j = 0u; j < u.axis_len; j++) {
    sum += exp(x[base + j * step] - m);
  }
  for (var j = 0u; j < u.axis_len; j++) {
    let idx = base + j * step;
    y[idx] = finish(x[idx], m, sum);
  }
}
