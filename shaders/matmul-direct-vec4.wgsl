// matmul-direct.wgsl for K and N multiples of 4 with B stored [K, N]: A and B are read as vec4, four K steps
// per iteration.
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
// B (binding 1) comes from matmul-b-f32x4.wgsl or matmul-b-f16x4.wgsl (b4_at).
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
{{BIAS_DECL}}

fn compute_block(batch: u32, bn: u32, bm: u32, aoff: u32, boff: u32) {
  let row0 = bm * 4u;
  let n4 = u.n / 4u;
  let k4 = u.k / 4u;
  // Rows past M repeat the last row (results discarded), so the loop has no bounds checks.
  let r0 = (aoff + min(row0, u.m - 1u) * u.k) / 4u;
  let r1 = (aoff + min(row0 + 1u, u.m - 1u) * u.k) / 4u;
  let r2 = (aoff + min(row0 + 2u, u.m - 1u) * u.k) / 4u;
  let r3 = (aoff + min(row0 + 3u, u.m - 1u) * u.k) / 4u;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  var bi = boff / 4u + bn;
  for (var kk = 0u; kk < k4; kk++) {
    let b0 = b4_at(bi);
    let b1 = b4_at(bi + n4);
    let b2 = b4_at(bi + 2u * n4);
    let b3 = b4_at(bi + 3u * n4);
    bi += 4u * n4;
    let a0 = a[r0 + kk];
    let a1 = a[r1 + kk];
    let a2 = a[r2 + kk];
    let a3 = a[r3 + kk];
    c0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    c1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    c2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    c3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
  }
  let rows = array<vec4<f32>, 4>(c0, c1, c2, c3);
  for (var r = 0u; r < 4u; r++) {
    let row = row0 + r;
    if (row >= u.m) {
      break;
    }
    var v = u.alpha * rows[r];
    {{BIAS_ADD}}
    let o = (batch * u.m + row) * n4 + bn;
    out[o] = vec4<f32>(activate(v.x), activate(v.y), activate(v.z), activate(v.w)){{GATE}};
  }
}
