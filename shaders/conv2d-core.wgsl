// Direct 2-D convolution (NCHW), one invocation per output element, with groups, strides, pads, dilations.
struct Params {
  n: u32,
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  ho: u32,
  wo: u32,
  group: u32,
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  pt: u32,
  pl: u32,
  dh: u32,
  dw: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
{{DECLS}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * groups.x + wid.x) * 256u + lid;
  if (e >= u.n * u.cout * u.ho * u.wo) {
    return;
  }
  let ox = e % u.wo;
  let oy = (e / u.wo) % u.ho;
  let oc = (e / (u.wo * u.ho)) % u.cout;
  let b = e / (u.wo * u.ho * u.cout);
  let cpg = u.cin / u.group;
  let g = oc / (u.cout / u.group);
  var acc = {{BIAS}};
  for (var c = 0u; c < cpg; c++) {
    let ic = g * cpg + c;
    for (var i = 0u; i < u.kh; i++) {
      let iy = i32(oy * u.sh + i * u.dh) - i32(u.pt);
      if (iy < 0 || iy >= i32(u.h)) {
        continue;
      }
      for (var j = 0u; j < u.kw; j++) {
        let ix = i32(ox * u.sw + j * u.dw) - i32(u.pl);
        if (ix < 0 || ix >= i32(u.w)) {
          continue;
        }
        acc += x[((b * u.cin + ic) * u.h + u32(iy)) * u.w + u32(ix)] * wt[((oc * cpg + c) * u.kh + i) * u.kw + j];
      }
    }
  }
  out[e] = {{ACT}};
}
