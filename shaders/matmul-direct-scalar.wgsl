// matmul-direct.wgsl for any K and N and B stored [K, N] or [N, K] ({{B_LOAD}}).
@group(0) @binding(0) var<storage, read> a: array<f32>;
// B (binding 1) comes from matmul-b-f32.wgsl or matmul-b-f16.wgsl (b_at).
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
{{BIAS_DECL}}

fn load_b(boff: u32, kk: u32, col: u32) -> f32 {
  if (col >= u.n) {
    return 0.0;
  }
  return {{B_LOAD}};
}

fn compute_block(batch: u32, bn: u32, bm: u32, aoff: u32, boff: u32) {
  let row0 = bm * 4u;
  let col0 = bn * 4u;
  var acc: array<vec4<f32>, 4>;
  for (var kk = 0u; kk < u.k; kk++) {
    let bv = vec4<f32>(load_b(boff, kk, col0), load_b(boff, kk, col0 + 1u), load_b(boff, kk, col0 + 2u), load_b(boff, kk, col0 + 3u));
    for (var r = 0u; r < 4u; r++) {
      let row = min(row0 + r, u.m - 1u);
      acc[r] += a[aoff + row * u.k + kk] * bv;
    }
  }
  for (var r = 0u; r < 4u; r++) {
    let row = row0 + r;
    if (row >= u.m) {
      break;
    }
    for (var c = 0u; c < 4u; c++) {
      let col = col0 + c;
      if (col < u.n) {
        var v = u.alpha * acc[r][c];
        {{BIAS_ADD}}
        let o = (batch * u.m + row) * u.n + col;
        out[o] = activate(v){{GATE}};
      }
    }
  }
}
