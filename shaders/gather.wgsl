// ONNX Gather along one axis: data viewed as [outer, axis_len, inner], indices flattened to n_idx;
// out[o, j, i] = data[o, indices[j], i]. Copies 32-bit words through the table reader prepended
// (gather-table-words.wgsl: any 32-bit dtype; gather-table-f16.wgsl: a float16 table, each element widened to
// f32). Negative indices wrap; out-of-range indices (an ONNX error) are clamped rather than read out of bounds.
// `data` may hold only rows [lo, lo + len) of the axis (a table split over several bindings, one dispatch per
// piece): elements whose row lies outside are left for another piece's dispatch. A whole table has lo = 0.
struct Params {
  n: u32,
  axis_len: u32,
  inner: u32,
  n_idx: u32,
  lo: u32,
  len: u32,
}

@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.n) {
    return;
  }
  let inner_i = i % u.inner;
  let t = i / u.inner;
  let j = t % u.n_idx;
  let o = t / u.n_idx;
  var idx = indices[j];
  if (idx < 0) {
    idx += i32(u.axis_len);
  }
  let row = u32(clamp(idx, 0, i32(u.axis_len) - 1));
  if (row < u.lo || row >= u.lo + u.len) {
    return;
  }
  out[i] = table_word((o * u.len + row - u.lo) * u.inner + inner_i);
}
