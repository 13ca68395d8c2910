// ONNX Gather, one invocation per output element: out[o, i, n] = data[o, idx[i] (negative wraps), n].
// Elements are 32-bit words (f32 or the i32 family), so one program serves every dtype.
struct Params {
  total: u32,
  count: u32,
  axis_len: u32,
  inner: u32,
}

@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * groups.x + wid.x) * 256u + lid;
  if (e >= u.total) {
    return;
  }
  let n = e % u.inner;
  let i = (e / u.inner) % u.count;
  let o = e / (u.inner * u.count);
  var idx = indices[i];
  if (idx < 0) {
    idx += i32(u.axis_len);
  }
  let j = u32(clamp(idx, 0, i32(u.axis_len) - 1));
  out[e] = data[(o * u.axis_len + j) * u.inner + n];
}
