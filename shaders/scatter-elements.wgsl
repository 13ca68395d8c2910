// ONNX ScatterElements (and Scatter), gather form: one thread per output element p. The updates that can land on
// p are those whose coordinates equal p's off the axis; the thread walks them along the axis in order, so
// repeated indices apply in order, race-free. Elements no update addresses keep data's value. Placeholders: T
// (the element type) and COMBINE (the reduction of old and update).
struct Params {
  n: u32,
  rank: u32,
  axis: u32,
  // Length of the indices along the axis.
  line: u32,
  dims: array<vec4<u32>, 2>,
  index_dims: array<vec4<u32>, 2>,
  index_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> data: array<{{T}}>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read> updates: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(4) var<uniform> u: Params;

fn combine(old: {{T}}, update: {{T}}) -> {{T}} {
  return {{COMBINE}};
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
  // p's coordinates: its position along the axis, and the start of its line among the indices (off-axis
  // coordinates past the indices' extent mean no update reaches p).
  var rem = i;
  var along = 0u;
  var line_start = 0u;
  var reached = true;
  for (var k = 0u; k < u.rank; k++) {
    let d = u.rank - 1u - k;
    let c = rem % at8(u.dims, d);
    rem /= at8(u.dims, d);
    if (d == u.axis) {
      along = c;
    } else if (c >= at8(u.index_dims, d)) {
      reached = false;
    } else {
      line_start += c * at8(u.index_strides, d);
    }
  }
  var value = data[i];
  if (reached) {
    let len = i32(at8(u.dims, u.axis));
    let step = at8(u.index_strides, u.axis);
    for (var j = 0u; j < u.line; j++) {
      let e = line_start + j * step;
      var idx = indices[e];
      if (idx < 0) {
        idx += len;
      }
      if (idx == i32(along)) {
        value = combine(value, updates[e]);
      }
    }
  }
  out[i] = value;
}
