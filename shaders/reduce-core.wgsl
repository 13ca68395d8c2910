// Reductions over any set of axes, one invocation per output element. The input is described as kept dims
// (decomposing the output index) and reduced dims (walked by the loop), each with its input element stride.
struct Params {
  outputs: u32,
  reduced: u32,
  kept_rank: u32,
  red_rank: u32,
  kept_dims: array<vec4<u32>, 2>,
  kept_str: array<vec4<u32>, 2>,
  red_dims: array<vec4<u32>, 2>,
  red_str: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: Params;

fn at(a: array<vec4<u32>, 2>, i: u32) -> u32 {
  return a[i / 4u][i % 4u];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = (wid.y * groups.x + wid.x) * 64u + lid;
  if (o >= u.outputs) {
    return;
  }
  var rem = o;
  var base = 0u;
  for (var d = i32(u.kept_rank) - 1; d >= 0; d--) {
    let size = at(u.kept_dims, u32(d));
    base += (rem % size) * at(u.kept_str, u32(d));
    rem = rem / size;
  }
  var acc = {{INIT}};
  for (var r = 0u; r < u.reduced; r++) {
    var rr = r;
    var off = base;
    for (var d = i32(u.red_rank) - 1; d >= 0; d--) {
      let size = at(u.red_dims, u32(d));
      off += (rr % size) * at(u.red_str, u32(d));
      rr = rr / size;
    }
    let v = x[off];
    {{STEP}}
  }
  out[o] = {{FINISH}};
}
