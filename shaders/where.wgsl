// out = cond ? x : y with three-way NumPy broadcasting (strides 0 on broadcast dims).
struct Params {
  n: u32,
  rank: u32,
  _pad0: u32,
  _pad1: u32,
  dims: array<vec4<u32>, 2>,
  c_strides: array<vec4<u32>, 2>,
  x_strides: array<vec4<u32>, 2>,
  y_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> cond: array<i32>;
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read> y: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(4) var<uniform> u: Params;

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
  var ic = 0u;
  var ix = 0u;
  var iy = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let dim = at8(u.dims, u32(d));
    let c = rem % dim;
    rem = rem / dim;
    ic += c * at8(u.c_strides, u32(d));
    ix += c * at8(u.x_strides, u32(d));
    iy += c * at8(u.y_strides, u32(d));
  }
  out[i] = select(y[iy], x[ix], cond[ic] != 0);
}
