// Image preprocessing as Pillow does it, in two passes: RGBA8 pixels (one u32 each, R in the low byte)
// → horizontal resample (taps given per output column) → round to 8 bits → vertical resample → round to 8 bits
// → centre crop / zero pad → v · scale[c] − shift[c] into out [N, 3, OH, OW] at image `out_offset`.
// Taps (Pillow's antialiased bilinear or bicubic: the support widens when shrinking; bicubic has negative lobes,
// hence the clamp) come precomputed from the CPU, so both paths use the same weights; see src/vision/preprocess.ts.
struct Params {
  src_w: u32,
  src_h: u32,
  // Size after resizing, before the crop.
  res_w: u32,
  res_h: u32,
  out_w: u32,
  out_h: u32,
  // Crop offsets into the resized image (negative: pad with zeros).
  top: i32,
  left: i32,
  // Taps layout in `taps`: per axis [start × n, count × n, weights × n·max_taps], x axis first.
  max_taps_x: u32,
  max_taps_y: u32,
  taps_y_base: u32,
  // First element of this image in `out` (image index · 3 · OH · OW).
  out_offset: u32,
  scale: vec4<f32>,
  shift: vec4<f32>,
}

@group(0) @binding(0) var<storage, read> image: array<u32>;
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var<storage, read_write> mid: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;

fn rgb_of(word: u32) -> vec3<f32> {
  return vec3<f32>(f32(word & 0xffu), f32((word >> 8u) & 0xffu), f32((word >> 16u) & 0xffu));
}

// Pillow rounds half up (not to even) and clamps to 0..255 between passes.
fn to_byte(v: vec3<f32>) -> vec3<f32> {
  return clamp(floor(v + 0.5), vec3<f32>(0.0), vec3<f32>(255.0));
}

// mid [3, src_h, res_w]: rows resampled horizontally. An unchanged width keeps the exact pixel values.
@compute @workgroup_size(16, 16, 1)
fn horizontal(@builtin(global_invocation_id) gid: vec3<u32>) {
  _ = &out; // both entry points share one binding layout
  let x = gid.x;
  let y = gid.y;
  if (x >= u.res_w || y >= u.src_h) {
    return;
  }
  let n = u.res_w;
  let start = u32(taps[x]);
  let count = u32(taps[n + x]);
  let weights = 2u * n + x * u.max_taps_x;
  var acc = vec3<f32>(0.0);
  for (var k = 0u; k < count; k++) {
    acc += taps[weights + k] * rgb_of(image[y * u.src_w + start + k]);
  }
  let v = select(to_byte(acc), acc, u.res_w == u.src_w);
  let plane = u.src_h * u.res_w;
  let at = y * u.res_w + x;
  mid[at] = v.r;
  mid[plane + at] = v.g;
  mid[2u * plane + at] = v.b;
}

// out: columns of mid resampled vertically, cropped, rescaled and normalized.
@compute @workgroup_size(16, 16, 1)
fn vertical(@builtin(global_invocation_id) gid: vec3<u32>) {
  _ = &image;
  let x = gid.x;
  let y = gid.y;
  if (x >= u.out_w || y >= u.out_h) {
    return;
  }
  let sx = i32(x) + u.left;
  let sy = i32(y) + u.top;
  var v = vec3<f32>(0.0);
  if (sx >= 0 && sx < i32(u.res_w) && sy >= 0 && sy < i32(u.res_h)) {
    let plane = u.src_h * u.res_w;
    let n = u.res_h;
    let row = u32(sy);
    let start = u32(taps[u.taps_y_base + row]);
    let count = u32(taps[u.taps_y_base + n + row]);
    let weights = u.taps_y_base + 2u * n + row * u.max_taps_y;
    var acc = vec3<f32>(0.0);
    for (var k = 0u; k < count; k++) {
      let at = (start + k) * u.res_w + u32(sx);
      acc += taps[weights + k] * vec3<f32>(mid[at], mid[plane + at], mid[2u * plane + at]);
    }
    v = select(to_byte(acc), acc, u.res_h == u.src_h);
  }
  let rgb = v * u.scale.rgb - u.shift.rgb;
  let out_plane = u.out_w * u.out_h;
  let at = u.out_offset + y * u.out_w + x;
  out[at] = rgb.r;
  out[out_plane + at] = rgb.g;
  out[2u * out_plane + at] = rgb.b;
}
