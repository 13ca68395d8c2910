// ONNX AveragePool / MaxPool (and their Global forms): one thread per output element of [N·C, o0, o1, o2], 1-D
// and 2-D pools padded to three spatial axes of size 1. Window taps sit at o·stride − pad_begin + j·dilation;
// taps outside the input are skipped. MODE: 0 max (ties keep the first tap, as onnxruntime), 1 mean over the taps
// inside the input, 2 mean over the taps inside the padded input (count_include_pad). Placeholders: T (the element
// type), LOWEST (its most negative value), MODE, INDICES (MaxPool's second output: its binding, or nothing),
// WRITE_INDEX (the statement that writes it, or nothing) and UNIFORM (the uniform's binding).
struct Params {
  n: u32,
  storage_order: u32,
  _pad0: u32,
  _pad1: u32,
  in_dims: vec4<u32>,
  out_dims: vec4<u32>,
  kernel: vec4<u32>,
  strides: vec4<u32>,
  dilations: vec4<u32>,
  pads_begin: vec4<i32>,
  // Per axis, input size + end pad: taps from here on lie outside the padded input.
  padded_end: vec4<i32>,
}

const MODE: u32 = {{MODE}}u;

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> y: array<{{T}}>;
{{INDICES}}
@group(0) @binding({{UNIFORM}}) var<uniform> u: Params;

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
  let at_out = coords3(i, u.out_dims);
  let o = at_out.xyz;
  let plane = at_out.w;
  let in_size = vec3<i32>(u.in_dims.xyz);
  let start = vec3<i32>(o * u.strides.xyz) - u.pads_begin.xyz;
  let step = vec3<i32>(u.dilations.xyz);
  let base = plane * u.in_dims.x * u.in_dims.y * u.in_dims.z;
  var best: {{T}} = {{LOWEST}};
  var best_at = -1;
  var sum = 0.0;
  var inside = 0u;
  var padded = 0u;
  for (var j0 = 0u; j0 < u.kernel.x; j0++) {
    for (var j1 = 0u; j1 < u.kernel.y; j1++) {
      for (var j2 = 0u; j2 < u.kernel.z; j2++) {
        let p = start + vec3<i32>(vec3<u32>(j0, j1, j2)) * step;
        if (all(p < u.padded_end.xyz)) {
          padded += 1u;
        }
        if (any(p < vec3<i32>(0)) || any(p >= in_size)) {
          continue;
        }
        let q = vec3<u32>(p);
        let at = base + (q.x * u.in_dims.y + q.y) * u.in_dims.z + q.z;
        let v = x[at];
        inside += 1u;
        if (MODE == 0u) {
          if (best_at < 0 || v > best) {
            best = v;
            // Indices count in the whole input; column-major puts the first spatial axis fastest.
            let local = select(
              (q.x * u.in_dims.y + q.y) * u.in_dims.z + q.z,
              q.x + (q.y + q.z * u.in_dims.y) * u.in_dims.x,
              u.storage_order == 1u,
            );
            best_at = i32(base + local);
          }
        } else {
          sum += f32(v);
        }
      }
    }
  }
  if (MODE == 0u) {
    y[i] = best;
    {{WRITE_INDEX}}
  } else {
    let count = select(inside, padded, MODE == 2u);
    y[i] = {{T}}(select(0.0, sum / f32(max(count, 1u)), inside > 0u));
  }
}
