// ONNX Det: one thread per matrix of [..., n, n]. It copies its matrix into `work` and eliminates it there,
// with partial pivoting: the determinant is the product of the pivots, negated once per row swap.
struct Params {
  matrices: u32,
  n: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> work: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: Params;

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let m = group_id(wid, groups) * 64u + lid;
  if (m >= u.matrices) {
    return;
  }
  let n = u.n;
  let base = m * n * n;
  for (var i = 0u; i < n * n; i++) {
    work[base + i] = x[base + i];
  }
  var det = 1.0;
  for (var c = 0u; c < n; c++) {
    var pivot_row = c;
    var best = abs(work[base + c * n + c]);
    for (var r = c + 1u; r < n; r++) {
      let v = abs(work[base + r * n + c]);
      if (v > best) {
        best = v;
        pivot_row = r;
      }
    }
    if (best == 0.0) {
      det = 0.0;
      break;
    }
    if (pivot_row != c) {
      for (var k = c; k < n; k++) {
        let t = work[base + c * n + k];
        work[base + c * n + k] = work[base + pivot_row * n + k];
        work[base + pivot_row * n + k] = t;
      }
      det = -det;
    }
    let pivot = work[base + c * n + c];
    det *= pivot;
    for (var r = c + 1u; r < n; r++) {
      let f = work[base + r * n + c] / pivot;
      for (var k = c + 1u; k < n; k++) {
        work[base + r * n + k] -= f * work[base + c * n + k];
      }
    }
  }
  y[m] = det;
}
