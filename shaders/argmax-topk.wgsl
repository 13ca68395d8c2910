// Per-row ArgMax and TopK over the last axis ({{T}}: f32, or i32 for integer inputs); one workgroup per row.
// Order: better value first ({{BETTER}} compares values), then ties by index ({{TIE}}: the lower index, as
// ONNX says, or the higher one for ArgMax/ArgMin's select_last_index).
// TopK runs k rounds; round r picks the best element strictly after the previous pick in that total order, so
// nothing has to be marked or copied.
const WG: u32 = 256u;

struct Params {
  rows: u32,
  len: u32,
  k: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> values: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> indices: array<i32>;
@group(0) @binding(3) var<uniform> u: Params;

var<workgroup> best_v: array<{{T}}, WG>;
var<workgroup> best_i: array<u32, WG>;

const NONE: u32 = 0xffffffffu;

fn better(v: {{T}}, i: u32, w: {{T}}, j: u32) -> bool {
  if (j == NONE) {
    return i != NONE;
  }
  if (i == NONE) {
    return false;
  }
  return {{BETTER}} || (v == w && {{TIE}});
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
  let base = row * u.len;
  var prev_v = {{T}}(0);
  var prev_i = NONE;
  for (var r = 0u; r < u.k; r++) {
    var bv = {{T}}(0);
    var bi = NONE;
    for (var j = lid; j < u.len; j += WG) {
      let v = x[base + j];
      // Only candidates ranked after the previous pick (all of them in the first round).
      if ((prev_i == NONE || better(prev_v, prev_i, v, j)) && better(v, j, bv, bi)) {
        bv = v;
        bi = j;
      }
    }
    best_v[lid] = bv;
    best_i[lid] = bi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s && better(best_v[lid + s], best_i[lid + s], best_v[lid], best_i[lid])) {
        best_v[lid] = best_v[lid + s];
        best_i[lid] = best_i[lid + s];
      }
      workgroupBarrier();
    }
    prev_v = best_v[0];
    prev_i = best_i[0];
    workgroupBarrier();
    if (lid == 0u) {
      values[row * u.k + r] = prev_v;
      indices[row * u.k + r] = i32(prev_i);
    }
  }
}

// Barrier-free variant for software adapters (SwiftShader): one thread per row runs the k rounds alone.
@compute @workgroup_size(64)
fn main_rows(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = group_id(wid, groups) * 64u + lid;
  if (row >= u.rows) {
    return;
  }
  let base = row * u.len;
  var prev_v = {{T}}(0);
  var prev_i = NONE;
  for (var r = 0u; r < u.k; r++) {
    var bv = {{T}}(0);
    var bi = NONE;
    for (var j = 0u; j < u.len; j++) {
      let v = x[base + j];
      if ((prev_i == NONE || better(prev_v, prev_i, v, j)) && better(v, j, bv, bi)) {
        bv = v;
        bi = j;
      }
    }
    values[row * u.k + r] = bv;
    indices[row * u.k + r] = i32(bi);
    prev_v = bv;
    prev_i = bi;
  }
}
