// ONNX ScatterND into a copy of data (the copy is a separate dispatch before this one): every index tuple t
// addresses a slice of `inner` elements that update t overwrites (reduction 0), adds to (1) or multiplies (2).
// One thread per element of a slice walks all tuples in order, so repeated indices apply in order, race-free.
// {{T}} is the element type (f32 or i32) and {{COMBINE}} the reduction on (old, update).
struct Params {
  inner: u32,
  tuples: u32,
  k: u32,
  _pad: u32,
  dims: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> indices: array<i32>;
@group(0) @binding(1) var<storage, read> updates: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(3) var<uniform> u: Params;

fn combine(old: {{T}}, update: {{T}}) -> {{T}} {
  return {{COMBINE}};
}

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let j = group_id(wid, groups) * 256u + lid;
  if (j >= u.inner) {
    return;
  }
  for (var t = 0u; t < u.tuples; t++) {
    var at = j;
    for (var m = 0u; m < u.k; m++) {
      let dim = i32(at8(u.dims, m));
      var idx = indices[t * u.k + m];
      if (idx < 0) {
        idx += dim;
      }
      at += u32(clamp(idx, 0, dim - 1)) * at8(u.strides, m);
    }
    out[at] = combine(out[at], updates[t * u.inner + j]);
  }
}
