// im2col: a convolution's input windows laid out as the B operand of a matmul (ops/conv2d.ts multiplies the
// [Cout, K] weights by it, giving NCHW directly): cols[b, k, p] = x[b, c, iy, ix], zero in the padding, with
// k = (c·KH + ky)·KW + kx and p = oy·OW + ox. One thread writes 4 consecutive p of one (b, k) row.
struct Params {
  c_in: u32,
  h: u32,
  w: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  stride_h: u32,
  stride_w: u32,
  pad_top: u32,
  pad_left: u32,
  dil_h: u32,
  dil_w: u32,
  k_rows: u32,
  p_cols: u32,
  total: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> cols: array<f32>;
@group(0) @binding(2) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = group_id(wid, groups) * 256u + lid;
  if (t >= u.total) {
    return;
  }
  let blocks = (u.p_cols + 3u) / 4u;
  let p0 = (t % blocks) * 4u;
  let row = t / blocks;
  let k = row % u.k_rows;
  let b = row / u.k_rows;
  let kx = k % u.kw;
  let ky = (k / u.kw) % u.kh;
  let c = k / (u.kw * u.kh);
  let plane = (b * u.c_in + c) * u.h;
  for (var j = 0u; j < 4u; j++) {
    let p = p0 + j;
    if (p >= u.p_cols) {
      break;
    }
    let iy = i32((p / u.ow) * u.stride_h + ky * u.dil_h) - i32(u.pad_top);
    let ix = i32((p % u.ow) * u.stride_w + kx * u.dil_w) - i32(u.pad_left);
    let inside = iy >= 0 && iy < i32(u.h) && ix >= 0 && ix < i32(u.w);
    let at = (plane + u32(max(iy, 0))) * u.w + u32(max(ix, 0));
    cols[row * u.p_cols + p] = select(0.0, x[select(0u, at, inside)], inside);
  }
}
