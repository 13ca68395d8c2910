// ONNX MaxUnpool's scatter, after the output was filled with zeros: one thread per input element writes it at
// its index, a flat position in the output as MaxPool's Indices give it. Indices from a MaxPool are distinct or
// name the same input element (overlapping windows), whose writes then agree. Indices outside are skipped.
// Placeholder: T (the element type).
struct Params {
  n: u32,
  out_size: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<{{T}}>;
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
  let at = indices[i];
  if (at >= 0i && u32(at) < u.out_size) {
    y[u32(at)] = x[i];
  }
}
