// ONNX OneHot: one thread per output element; its coordinate along the new axis is compared with the index at the
// element's other coordinates. Negative indices count from the end; out-of-range and (float) non-integral ones
// match nothing, as onnxruntime and the ONNX reference compare them. Placeholders: T (values' and the output's
// element type) and I (the indices' element type).
struct Params {
  n: u32,
  depth: u32,
  // Output elements per step along the new axis, and per step of the axis before it.
  inner: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<{{I}}>;
@group(0) @binding(1) var<storage, read> values: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;
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
  let j = (i / u.inner) % u.depth;
  let outer = i / (u.inner * u.depth);
  // Compared as f32: exact for integers below 2^24, and a fraction never equals a position.
  var idx = f32(indices[outer * u.inner + i % u.inner]);
  if (idx < 0.0) {
    idx += f32(u.depth);
  }
  out[i] = values[select(0u, 1u, idx == f32(j))];
}
