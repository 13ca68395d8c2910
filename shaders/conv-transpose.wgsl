// ONNX ConvTranspose, gather form: one thread per output element of [N, Cout, o0, o1, o2] (1-D and 2-D padded to
// three spatial axes of size 1). Input position q feeds output o through tap j when o + pad_begin − j·dilation =
// q·stride; each thread walks its group's input channels and the taps, keeping those that land on an input
// element. Weights are [Cin, Cout/group, k0, k1, k2]. Placeholders: BIAS (its binding, or nothing), START (the
// accumulator's first value: the bias, or 0) and UNIFORM (the uniform's binding).
struct Params {
  n: u32,
  in_channels: u32,
  out_channels: u32,
  // Channels per group, in and out.
  in_group: u32,
  out_group: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  in_dims: vec4<u32>,
  out_dims: vec4<u32>,
  kernel: vec4<u32>,
  strides: vec4<u32>,
  dilations: vec4<u32>,
  pads_begin: vec4<i32>,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
{{BIAS}}
@group(0) @binding({{UNIFORM}}) var<uniform> u: Params;

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
  let at_out = coords3(i, u.out_dims);
  let o = at_out.xyz;
  let plane = at_out.w;
  let oc = plane % u.out_channels;
  let batch = plane / u.out_channels;
  let g = oc / u.out_group;
  let in_size = vec3<i32>(u.in_dims.xyz);
  let stride = vec3<i32>(u.strides.xyz);
  let shifted = vec3<i32>(o) + u.pads_begin.xyz;
  let taps = u.kernel.x * u.kernel.y * u.kernel.z;
  let in_plane = u.in_dims.x * u.in_dims.y * u.in_dims.z;
  var acc: f32 = {{START}};
  for (var c = 0u; c < u.in_group; c++) {
    let ic = g * u.in_group + c;
    let x_base = (batch * u.in_channels + ic) * in_plane;
    let w_base = (ic * u.out_group + oc % u.out_group) * taps;
    for (var j0 = 0u; j0 < u.kernel.x; j0++) {
      for (var j1 = 0u; j1 < u.kernel.y; j1++) {
        for (var j2 = 0u; j2 < u.kernel.z; j2++) {
          let t = shifted - vec3<i32>(vec3<u32>(j0, j1, j2) * u.dilations.xyz);
          if (any(t < vec3<i32>(0)) || any(t % stride != vec3<i32>(0))) {
            continue;
          }
          let q = t / stride;
          if (any(q >= in_size)) {
            continue;
          }
          let at = vec3<u32>(q);
          acc += x[x_base + (at.x * u.in_dims.y + at.y) * u.in_dims.z + at.z] *
            w[w_base + (j0 * u.kernel.y + j1) * u.kernel.z + j2];
        }
      }
    }
  }
  y[i] = acc;
}
