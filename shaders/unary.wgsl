// Elementwise unary ops and casts: y[i] = OP(x[i]). {{IN}}/{{OUT}} are the storage scalars, {{EXPR}} the op on
// `v` (activations.wgsl is prepended, so erf/gelu helpers are in scope).
struct Params {
  n: u32,
  alpha: f32,
  beta: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<{{IN}}>;
@group(0) @binding(1) var<storage, read_write> y: array<{{OUT}}>;
@group(0) @binding(2) var<uniform> u: Params;

fn apply(v: {{IN}}) -> {{OUT}} {
  return {{EXPR}};
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
  y[i] = apply(x[i]);
}
