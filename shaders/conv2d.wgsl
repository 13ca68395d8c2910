// Direct 2-D convolution, NCHW, with strides, pads, dilations, groups, bias and a fused activation.
// One thread per output element; the filter loops run over Cin/group × kH × kW. Patch embeddings (stride =
// kernel) touch every input pixel once, so this is already bandwidth-bound there.
struct Params {
  n: u32,
  c_in: u32,
  h: u32,
  w: u32,
  c_out: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  stride_h: u32,
  stride_w: u32,
  pad_top: u32,
  pad_left: u32,
  dil_h: u32,
  dil_w: u32,
  group: u32,
  has_bias: u32,
  act: u32,
  total: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;


@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.total) {
    return;
  }
  let ox = i % u.ow;
  let oy = (i / u.ow) % u.oh;
  let co = (i / (u.ow * u.oh)) % u.c_out;
  let b = i / (u.ow * u.oh * u.c_out);
  let cin_per_group = u.c_in / u.group;
  let cout_per_group = u.c_out / u.group;
  let ci0 = (co / cout_per_group) * cin_per_group;
  var acc = 0.0;
  for (var c = 0u; c < cin_per_group; c++) {
    let x_plane = (b * u.c_in + ci0 + c) * u.h;
    let w_plane = (co * cin_per_group + c) * u.kh;
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = i32(oy * u.stride_h + ky * u.dil_h) - i32(u.pad_top);
      if (iy < 0 || iy >= i32(u.h)) {
        continue;
      }
      let x_row = (x_plane + u32(iy)) * u.w;
      let w_row = (w_plane + ky) * u.kw;
      for (var kx = 0u; kx < u.kw; kx++) {
        let ix = i32(ox * u.stride_w + kx * u.dil_w) - i32(u.pad_left);
        if (ix >= 0 && ix < i32(u.w)) {
          acc = fma(x[x_row + u32(ix)], wt[w_row + kx], acc);
        }
      }
    }
  }
  if (u.has_bias != 0u) {
    acc += bias[co];
  }
  out[i] = activate_code(u.act, acc);
}
