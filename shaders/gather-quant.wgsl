// Gather along axis 0 from a packed quantized table (passes/pack-quantized-gather.ts): out[j, r] =
// table[indices[j], r] dequantized by matmul-b-quant.wgsl's b_at (prepended, binding 1), the table read as
// [rows, inner] logical elements. Negative indices wrap; indices still outside the table give 0, as
// onnxruntime's GatherBlockQuantized does.
struct Params {
  n: u32,
  rows: u32,
  inner: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: Params;

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
  var idx = indices[i / u.inner];
  if (idx < 0) {
    idx += i32(u.rows);
  }
  if (idx < 0 || idx >= i32(u.rows)) {
    out[i] = 0.0;
    return;
  }
  out[i] = b_at(u32(idx) * u.inner + i % u.inner);
}
