// ONNX GatherElements: out[c] = data[c with its `axis` coordinate replaced by indices[c]] for every coordinate c
// of indices (= of the output). Copies 32-bit words. Negative indices wrap; out-of-range ones are clamped.
struct Params {
  n: u32,
  rank: u32,
  axis: u32,
  _pad: u32,
  dims: array<vec4<u32>, 2>,
  data_dims: array<vec4<u32>, 2>,
  data_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> data: array<u32>;
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
  var rem = i;
  var at = 0u;
  for (var k = 0u; k < u.rank; k++) {
    let d = u.rank - 1u - k;
    var c = rem % at8(u.dims, d);
    rem /= at8(u.dims, d);
    if (d == u.axis) {
      let len = i32(at8(u.data_dims, d));
      var idx = indices[i];
      if (idx < 0) {
        idx += len;
      }
      c = u32(clamp(idx, 0, len - 1));
    }
    at += c * at8(u.data_strides, d);
  }
  out[i] = data[at];
}
