// ONNX GridSample over [N, C, H, W], as PyTorch's grid_sample and onnxruntime compute it: one thread per output
// element of [N, C, Ho, Wo]. The grid's (x, y) in [-1, 1] are mapped to pixel coordinates (align_corners: the
// corner pixels' centres, else their outer edges); MODE 0 nearest (round half to even), 1 bilinear, 2 bicubic
// (Keys, a = −0.75) read taps that PADDING (0 zeros, 1 border, 2 reflection) keeps in the image. Nearest and
// bilinear also clamp or reflect the coordinate itself, as the ONNX reference does, which gives them the same
// taps; bicubic pads only its taps (the reference would shift the coordinate first, PyTorch and onnxruntime do
// not).
struct Params {
  n: u32,
  channels: u32,
  height: u32,
  width: u32,
  out_height: u32,
  out_width: u32,
  align_corners: u32,
  _pad: u32,
}

const MODE: u32 = {{MODE}}u;
const PADDING: u32 = {{PADDING}}u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> grid: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: Params;

/** The image's extent along an axis of `size` pixels: [lo, hi] as the reflection folds about it. */
fn extent(size: u32) -> vec2<f32> {
  return select(vec2<f32>(-0.5, f32(size) - 0.5), vec2<f32>(0.0, f32(size) - 1.0), u.align_corners == 1u);
}

/** v folded back into [lo, hi], about whichever edge it passed, as often as it takes. */
fn reflect_into(v: f32, lo: f32, hi: f32) -> f32 {
  let range = hi - lo;
  if (range <= 0.0) {
    return lo;
  }
  if (v < lo) {
    let d = lo - v;
    let folds = floor(d / range);
    let r = d - folds * range;
    return select(hi - r, lo + r, folds % 2.0 == 0.0);
  }
  if (v > hi) {
    let d = v - hi;
    let folds = floor(d / range);
    let r = d - folds * range;
    return select(lo + r, hi - r, folds % 2.0 == 0.0);
  }
  return v;
}

/** Pixel coordinate of normalized g along an axis of `size` pixels, padded as PADDING says. */
fn coordinate(g: f32, size: u32) -> f32 {
  var v = select(((g + 1.0) * f32(size) - 1.0) * 0.5, (g + 1.0) * 0.5 * f32(size - 1u), u.align_corners == 1u);
  if (MODE == 0u) {
    v = round(v);
  }
  let e = extent(size);
  if (MODE != 2u && (v < e.x || v > e.y)) {
    if (PADDING == 1u) {
      v = clamp(v, 0.0, f32(size) - 1.0);
    } else if (PADDING == 2u) {
      v = reflect_into(v, e.x, e.y);
    }
  }
  return v;
}

/** Index i along an axis of `size`, or −1 for a zero (zeros padding outside the image). */
fn tap(i: i32, size: u32) -> i32 {
  if (i >= 0 && i < i32(size)) {
    return i;
  }
  if (PADDING == 0u) {
    return -1;
  }
  if (PADDING == 1u) {
    return clamp(i, 0, i32(size) - 1);
  }
  let e = extent(size);
  return i32(reflect_into(f32(i), e.x, e.y));
}

fn pixel(plane: u32, row: i32, col: i32) -> f32 {
  let r = tap(row, u.height);
  let c = tap(col, u.width);
  if (r < 0 || c < 0) {
    return 0.0;
  }
  return x[plane + u32(r) * u.width + u32(c)];
}

fn cubic_weights(t: f32) -> vec4<f32> {
  let a = -0.75;
  let t1 = t + 1.0;
  let t2 = 1.0 - t;
  let t3 = 2.0 - t;
  return vec4<f32>(
    ((a * t1 - 5.0 * a) * t1 + 8.0 * a) * t1 - 4.0 * a,
    ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0,
    ((a + 2.0) * t2 - (a + 3.0)) * t2 * t2 + 1.0,
    ((a * t3 - 5.0 * a) * t3 + 8.0 * a) * t3 - 4.0 * a,
  );
}

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
  let at = coords3(i, vec4<u32>(u.channels, u.out_height, u.out_width, 1u));
  let batch = at.w;
  let g = ((batch * u.out_height + at.y) * u.out_width + at.z) * 2u;
  let px = coordinate(grid[g], u.width);
  let py = coordinate(grid[g + 1u], u.height);
  let plane = (batch * u.channels + at.x) * u.height * u.width;
  if (MODE == 0u) {
    y[i] = pixel(plane, i32(py), i32(px));
    return;
  }
  let fx = floor(px);
  let fy = floor(py);
  let col = i32(fx);
  let row = i32(fy);
  if (MODE == 1u) {
    let wx = px - fx;
    let wy = py - fy;
    let top = mix(pixel(plane, row, col), pixel(plane, row, col + 1), wx);
    let bottom = mix(pixel(plane, row + 1, col), pixel(plane, row + 1, col + 1), wx);
    y[i] = mix(top, bottom, wy);
    return;
  }
  let wx = cubic_weights(px - fx);
  let wy = cubic_weights(py - fy);
  var acc = 0.0;
  for (var r = 0; r < 4; r++) {
    let line = vec4<f32>(
      pixel(plane, row - 1 + r, col - 1),
      pixel(plane, row - 1 + r, col),
      pixel(plane, row - 1 + r, col + 1),
      pixel(plane, row - 1 + r, col + 2),
    );
    acc += wy[r] * dot(wx, line);
  }
  y[i] = acc;
}
