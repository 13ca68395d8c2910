// Tile staging for matmul.wgsl with vec4 loads: needs K % 4 == 0 and (unless B is transposed) N % 4 == 0, so
// every vec4 is either wholly inside or wholly outside the matrix. 256 vec4 per tile, 4 per thread.
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
// B comes from matmul-b-f32x4.wgsl or matmul-b-f16x4.wgsl (b4_at).

fn stage_tiles(lid: u32, row0: u32, col0: u32, k0: u32, a_base: u32, b_base: u32) {
  for (var t = 0u; t < 4u; t++) {
    let e = lid + t * WG;
    let r = e / (TILE / 4u);
    let c = (e % (TILE / 4u)) * 4u;
    let gm = row0 + r;
    var av = vec4<f32>(0.0);
    if (gm < u.m && k0 + c < u.k) {
      av = a[(a_base + gm * u.k + k0 + c) / 4u];
    }
    a_tile[r][c] = av.x;
    a_tile[r][c + 1u] = av.y;
    a_tile[r][c + 2u] = av.z;
    a_tile[r][c + 3u] = av.w;
    var bv = vec4<f32>(0.0);
    if (u.trans_b != 0u) {
      let gn = col0 + r;
      if (gn < u.n && k0 + c < u.k) {
        bv = b4_at((b_base + gn * u.k + k0 + c) / 4u);
      }
      b_tile[c][r] = bv.x;
      b_tile[c + 1u][r] = bv.y;
      b_tile[c + 2u][r] = bv.z;
      b_tile[c + 3u][r] = bv.w;
    } else {
      let gk = k0 + r;
      if (gk < u.k && col0 + c < u.n) {
        bv = b4_at((b_base + gk * u.n + col0 + c) / 4u);
      }
      b_tile[r][c] = bv.x;
      b_tile[r][c + 1u] = bv.y;
      b_tile[r][c + 2u] = bv.z;
      b_tile[r][c + 3u] = bv.w;
    }
  }
}
