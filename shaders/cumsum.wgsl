// ONNX CumSum: one thread per line along the axis (outer × inner of them), summing its `length` elements in
// order (from the end with reverse), each output the sum up to and including its element, or before it
// (exclusive). Placeholder: T (the element type).
struct Params {
  lines: u32,
  length: u32,
  // Elements per step along the axis.
  inner: u32,
  exclusive: u32,
  reverse: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> y: array<{{T}}>;
@group(0) @binding(2) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let line = group_id(wid, groups) * 256u + lid;
  if (line >= u.lines) {
    return;
  }
  let base = (line / u.inner) * u.length * u.inner + line % u.inner;
  var acc: {{T}} = {{T}}(0);
  for (var step = 0u; step < u.length; step++) {
    let j = select(step, u.length - 1u - step, u.reverse == 1u);
    let at = base + j * u.inner;
    let v = x[at];
    if (u.exclusive == 1u) {
      y[at] = acc;
      acc += v;
    } else {
      acc += v;
      y[at] = acc;
    }
  }
}
