// ONNX RoiAlign: one thread per output [roi, channel, ph, pw]. The roi's bin is sampled on a grid (sampling_ratio
// per side, or ceil(roi size / output size)); each sample is the bilinear interpolation of its four neighbours,
// as onnxruntime and the ONNX reference compute it (samples beyond one pixel outside count 0, edges clamp).
// avg: the mean of the samples; max: the largest weighted neighbour of any sample (their formula).
struct Params {
  n: u32,
  channels: u32,
  height: u32,
  width: u32,
  out_h: u32,
  out_w: u32,
  sampling_ratio: u32,
  // 1: half_pixel (offset by half a pixel, rois may be smaller than one); 0: output_half_pixel.
  half_pixel: u32,
  spatial_scale: f32,
  max_mode: u32,
  // Images in x: a batch index outside them gives zeros.
  images: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> rois: array<f32>;
@group(0) @binding(2) var<storage, read> batch_indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
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
  let pw = i % u.out_w;
  let ph = (i / u.out_w) % u.out_h;
  let c = (i / (u.out_w * u.out_h)) % u.channels;
  let r = i / (u.out_w * u.out_h * u.channels);
  let offset = select(0.0, 0.5, u.half_pixel == 1u);
  let start_w = rois[r * 4u] * u.spatial_scale - offset;
  let start_h = rois[r * 4u + 1u] * u.spatial_scale - offset;
  var roi_w = rois[r * 4u + 2u] * u.spatial_scale - offset - start_w;
  var roi_h = rois[r * 4u + 3u] * u.spatial_scale - offset - start_h;
  if (u.half_pixel == 0u) {
    roi_w = max(roi_w, 1.0);
    roi_h = max(roi_h, 1.0);
  }
  let bin_h = roi_h / f32(u.out_h);
  let bin_w = roi_w / f32(u.out_w);
  let grid_h = select(u32(ceil(roi_h / f32(u.out_h))), u.sampling_ratio, u.sampling_ratio > 0u);
  let grid_w = select(u32(ceil(roi_w / f32(u.out_w))), u.sampling_ratio, u.sampling_ratio > 0u);
  let count = f32(max(grid_h * grid_w, 1u));
  let h = f32(u.height);
  let w = f32(u.width);
  let image = batch_indices[r];
  if (image < 0i || u32(image) >= u.images) {
    y[i] = 0.0;
    return;
  }
  let base = (u32(image) * u.channels + c) * u.height * u.width;
  var acc = 0.0;
  var seen = false;
  for (var iy = 0u; iy < grid_h; iy++) {
    let sy = start_h + f32(ph) * bin_h + (f32(iy) + 0.5) * bin_h / f32(grid_h);
    for (var ix = 0u; ix < grid_w; ix++) {
      let sx = start_w + f32(pw) * bin_w + (f32(ix) + 0.5) * bin_w / f32(grid_w);
      var wts = vec4<f32>(0.0);
      var at = vec4<u32>(0u);
      if (!(sy < -1.0 || sy > h || sx < -1.0 || sx > w)) {
        var yy = max(sy, 0.0);
        var xx = max(sx, 0.0);
        var y_low = u32(yy);
        var x_low = u32(xx);
        var y_high = y_low + 1u;
        var x_high = x_low + 1u;
        if (y_low >= u.height - 1u) {
          y_low = u.height - 1u;
          y_high = y_low;
          yy = f32(y_low);
        }
        if (x_low >= u.width - 1u) {
          x_low = u.width - 1u;
          x_high = x_low;
          xx = f32(x_low);
        }
        let ly = yy - f32(y_low);
        let lx = xx - f32(x_low);
        wts = vec4<f32>((1.0 - ly) * (1.0 - lx), (1.0 - ly) * lx, ly * (1.0 - lx), ly * lx);
        at = vec4<u32>(y_low * u.width + x_low, y_low * u.width + x_high, y_high * u.width + x_low, y_high * u.width + x_high);
      }
      let v = wts * vec4<f32>(x[base + at.x], x[base + at.y], x[base + at.z], x[base + at.w]);
      if (u.max_mode == 1u) {
        let m = max(max(v.x, v.y), max(v.z, v.w));
        acc = select(m, max(acc, m), seen);
        seen = true;
      } else {
        acc += v.x + v.y + v.z + v.w;
      }
    }
  }
  y[i] = select(acc / count, acc, u.max_mode == 1u);
}
