// Image preprocessing in one pass: RGBA8 pixels (one u32 each, R in the low byte) → crop → bilinear resize with
// half-pixel centres (no antialiasing) → · rescale → (v − mean[c]) / std[c] → out [1, 3, OH, OW] float32.
struct Params {
  src_w: u32,
  src_h: u32,
  out_w: u32,
  out_h: u32,
  crop_x: f32,
  crop_y: f32,
  crop_w: f32,
  crop_h: f32,
  rescale: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  mean: vec4<f32>,
  inv_std: vec4<f32>,
}

@group(0) @binding(0) var<storage, read> image: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: Params;

fn pixel(x: u32, y: u32) -> vec3<f32> {
  return unpack4x8unorm(image[y * u.src_w + x]).rgb * 255.0;
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= u.out_w || gid.y >= u.out_h) {
    return;
  }
  // Source coordinates of this output pixel's centre, clamped to the crop (edge pixels replicate).
  let sx = clamp((f32(gid.x) + 0.5) * u.crop_w / f32(u.out_w) - 0.5, 0.0, u.crop_w - 1.0) + u.crop_x;
  let sy = clamp((f32(gid.y) + 0.5) * u.crop_h / f32(u.out_h) - 0.5, 0.0, u.crop_h - 1.0) + u.crop_y;
  let x0 = u32(floor(sx));
  let y0 = u32(floor(sy));
  let x1 = min(x0 + 1u, u32(u.crop_x + u.crop_w) - 1u);
  let y1 = min(y0 + 1u, u32(u.crop_y + u.crop_h) - 1u);
  let fx = sx - f32(x0);
  let fy = sy - f32(y0);
  let top = mix(pixel(x0, y0), pixel(x1, y0), fx);
  let bottom = mix(pixel(x0, y1), pixel(x1, y1), fx);
  let rgb = (mix(top, bottom, fy) * u.rescale - u.mean.rgb) * u.inv_std.rgb;
  let plane = u.out_w * u.out_h;
  let at = gid.y * u.out_w + gid.x;
  out[at] = rgb.r;
  out[plane + at] = rgb.g;
  out[2u * plane + at] = rgb.b;
}
