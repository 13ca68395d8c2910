// Softmax along one axis. The tensor is viewed as [outer, axis, inner]; one workgroup per (outer, inner) row,
// threads stride over the axis. Max-subtracted (numerically stable), tree reductions in workgroup memory.
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

var<workgroup> scratch: array<f32, WG>;

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
  let base = (row / u.inner) * u.axis_len * u.inner + row % u.inner;
  let step = u.inner;

  var m = -3.402823e38;
  for (var j = lid; j < u.axis_len; j += WG) {
    m = max(m, x[base + j * step]);
  }
  scratch[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      scratch[lid] = max(scratch[lid], scratch[lid + s]);
    }
    workgroupBarrier();
  }
  let row_max = scratch[0];
  workgroupBarrier();

  var sum = 0.0;
  for (var j = lid; j < u.axis_len; j += WG) {
    sum += exp(x[base + j * step] - row_max);
  }
  scratch[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      scratch[lid] += scratch[lid + s];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / scratch[0];
  for (var j = lid; j < u.axis_len; j += WG) {
    let idx = base + j * step;
    y[idx] = exp(x[idx] - row_max) * inv;
  }
}
