// ONNX ReverseSequence: one thread per element. Along the time axis, the first seq_lens[b] elements of batch
// entry b come in reverse order and the rest as they are. Lengths past the time axis count as its length.
// Placeholders: T (the element type) and L (the lengths' element type).
struct Params {
  n: u32,
  time: u32,
  batch: u32,
  // Elements per step along the time and the batch axis.
  time_stride: u32,
  batch_stride: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> lens: array<{{L}}>;
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
  let t = (i / u.time_stride) % u.time;
  let b = (i / u.batch_stride) % u.batch;
  let len = u32(clamp(i32(lens[b]), 0i, i32(u.time)));
  var source = i;
  if (t < len) {
    source = i - t * u.time_stride + (len - 1u - t) * u.time_stride;
  }
  y[i] = x[source];
}
