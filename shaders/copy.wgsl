// Strided copy of 32-bit words: for every coordinate c of `dims`,
// dst[dst_start + c·dst_strides] = src[src_start + c·src_strides]. Transpose, Slice, Expand, Concat and KV-cache
// appends are all this one program with different strides (src strides may be negative: reversed slices).
struct Params {
  n: u32,
  rank: u32,
  src_start: i32,
  dst_start: u32,
  dims: array<vec4<u32>, 2>,
  src_strides: array<vec4<i32>, 2>,
  dst_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
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
  var rem = i;
  var src_index = u.src_start;
  var dst_index = u.dst_start;
  for (var k = 0u; k < u.rank; k++) {
    let d = u.rank - 1u - k;
    let dim = at8(u.dims, d);
    let c = rem % dim;
    rem = rem / dim;
    src_index += i32(c) * at8i(u.src_strides, d);
    dst_index += c * at8(u.dst_strides, d);
  }
  dst[dst_index] = src[u32(src_index)];
}
