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

// Register-blocked variant: one thread computes 4 output channels (of one group) × 4 consecutive output columns,
// so each input value loaded serves 4 channels and each weight serves 4 columns (16 FMAs per 8 loads, where
// the direct kernel does 1 per 2). Needs Cout per group % 4 = 0; `total` counts threads:
// N × Cout/4 × OH × ceil(OW/4).
@compute @workgroup_size(256)
fn main_blocked(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.total) {
    return;
  }
  let col_blocks = (u.ow + 3u) / 4u;
  let ox0 = (i % col_blocks) * 4u;
  let oy = (i / col_blocks) % u.oh;
  let co0 = ((i / (col_blocks * u.oh)) % (u.c_out / 4u)) * 4u;
  let b = i / (col_blocks * u.oh * (u.c_out / 4u));
  let cin_per_group = u.c_in / u.group;
  let ci0 = (co0 / (u.c_out / u.group)) * cin_per_group;
  let k_area = u.kh * u.kw;
  let w_stride = cin_per_group * k_area;
  var acc: array<vec4<f32>, 4>;
  for (var c = 0u; c < cin_per_group; c++) {
    let x_plane = (b * u.c_in + ci0 + c) * u.h;
    let w_plane = (co0 * cin_per_group + c) * k_area;
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = i32(oy * u.stride_h + ky * u.dil_h) - i32(u.pad_top);
      if (iy < 0 || iy >= i32(u.h)) {
        continue;
      }
      let x_row = (x_plane + u32(iy)) * u.w;
      for (var kx = 0u; kx < u.kw; kx++) {
        let k = w_plane + ky * u.kw + kx;
        let wv = vec4<f32>(wt[k], wt[k + w_stride], wt[k + 2u * w_stride], wt[k + 3u * w_stride]);
        for (var j = 0u; j < 4u; j++) {
          let ix = i32((ox0 + j) * u.stride_w + kx * u.dil_w) - i32(u.pad_left);
          if (ix >= 0 && ix < i32(u.w)) {
            acc[j] = fma(vec4<f32>(x[x_row + u32(ix)]), wv, acc[j]);
          }
        }
      }
    }
  }
  var bv = vec4<f32>(0.0);
  if (u.has_bias != 0u) {
    bv = vec4<f32>(bias[co0], bias[co0 + 1u], bias[co0 + 2u], bias[co0 + 3u]);
  }
  for (var j = 0u; j < 4u; j++) {
    let ox = ox0 + j;
    if (ox >= u.ow) {
      break;
    }
    let v = acc[j] + bv;
    for (var q = 0u; q < 4u; q++) {
      out[((b * u.c_out + co0 + q) * u.oh + oy) * u.ow + ox] = activate_code(u.act, v[q]);
    }
  }
}
