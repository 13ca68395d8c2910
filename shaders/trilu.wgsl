// ONNX Trilu over the last two axes: out = x where the element is on the kept side of diagonal k, else 0.
// upper keeps col − row ≥ k, lower keeps col − row ≤ k. Copies 32-bit words (any 32-bit dtype; 0 is zero).
struct Params {
  n: u32,
  rows: u32,
  cols: u32,
  upper: u32,
  k: i32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> u: Params;

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
  let col = i32(i % u.cols);
  let row = i32((i / u.cols) % u.rows);
  let d = col - row;
  let keep = select(d <= u.k, d >= u.k, u.upper != 0u);
  out[i] = select(0u, x[i], keep);
}
