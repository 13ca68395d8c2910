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
  let i = (wid.y * groups.x + wid.x) * 256u + lid;
  if (i >= u.n) {
    return;
  }
  var rem = i;
  var ic = 0u;
  var ix = 0u;
  var iy = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let dim = u.dims[d / 4][d % 4];
    let c = rem % dim;
    rem = rem / dim;
    ic += c * u.c_strides[d / 4][d % 4];
    ix += c * u.x_strides[d / 4][d % 4];
    iy += c * u.y_strides[d / 4][d % 4];
  }
  out[i] = select(y[iy], x[ix], cond[ic] != 0);
}
