// Reductions over any set of axes. One workgroup per output element; its threads stride over the reduced
// elements. Kept and reduced coordinates are decoded from per-group dims/strides (uniforms), so any axes work
// without a transpose. The placeholders INIT, PRE (maps each element), COMBINE (of `a` and `b`) and FINAL (of
// `total` and the count `n`) specialize the op; T is its scalar (f32, or i32 for integer tensors).
const WG: u32 = 64u;

struct Params {
  outputs: u32,
  reduced: u32,
  kept_rank: u32,
  red_rank: u32,
  kept_dims: array<vec4<u32>, 2>,
  kept_strides: array<vec4<u32>, 2>,
  red_dims: array<vec4<u32>, 2>,
  red_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> y: array<{{T}}>;
@group(0) @binding(2) var<uniform> u: Params;

var<workgroup> scratch: array<{{T}}, WG>;

// Offset of output o's first element: its kept coordinates through kept_strides.
fn kept_base(o: u32) -> u32 {
  return strided_offset(o, 0u, u.kept_rank, u.kept_dims, u.kept_strides);
}

// Offset of the r-th reduced element of the output starting at `base`.
fn reduced_index(base: u32, r: u32) -> u32 {
  return strided_offset(r, base, u.red_rank, u.red_dims, u.red_strides);
}

fn combine(a: {{T}}, b: {{T}}) -> {{T}} {
  return {{COMBINE}};
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let o = group_id(wid, groups);
  if (o >= u.outputs) {
    return;
  }
  let base = kept_base(o);
  var acc: {{T}} = {{INIT}};
  for (var r = lid; r < u.reduced; r += WG) {
    let idx = reduced_index(base, r);
    let v = {{PRE}};
    acc = combine(acc, v);
  }
  // One barrier: thread 0 combines all WG partials itself (barriers dominate on software adapters).
  scratch[lid] = acc;
  workgroupBarrier();
  if (lid == 0u) {
    var total = scratch[0];
    for (var t = 1u; t < WG; t++) {
      total = combine(total, scratch[t]);
    }
    let n = {{T}}(u.reduced);
    y[o] = {{FINAL}};
  }
}

// Barrier-free variant for software adapters (SwiftShader): one thread per output element walks all of its
// reduced elements alone.
@compute @workgroup_size(WG)
fn main_rows(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let o = group_id(wid, groups) * WG + lid;
  if (o >= u.outputs) {
    return;
  }
  let base = kept_base(o);
  var total: {{T}} = {{INIT}};
  for (var r = 0u; r < u.reduced; r++) {
    let idx = reduced_index(base, r);
    let v = {{PRE}};
    total = combine(total, v);
  }
  let n = {{T}}(u.reduced);
  y[o] = {{FINAL}};
}
