// Tile staging for matmul.wgsl with scalar loads: any M, N, K. A[row0.., k0..] and B[k0.., col0..] are 1024
// words each, 16 per thread; consecutive threads read consecutive addresses along the contiguous axis.
@group(0) @binding(0) var<storage, read> a: array<f32>;
// B comes from matmul-b-f32.wgsl or matmul-b-f16.wgsl (b_at).

fn stage_tiles(lid: u32, row0: u32, col0: u32, k0: u32, a_base: u32, b_base: u32) {
  for (var t = 0u; t < 16u; t++) {
    let e = lid + t * WG;
    let r = e / TILE;
    let c = e % TILE;
    let gm = row0 + r;
    let gk = k0 + c;
    var av = 0.0;
    if (gm < u.m && gk < u.k) {
      av = a[a_base + gm * u.k + gk];
    }
    a_tile[r][c] = av;
    var bv = 0.0;
    if (u.trans_b != 0u) {
      // B is [N, K]: walk k fastest; the tile is still stored [k][n].
      let gn = col0 + r;
      if (gn < u.n && gk < u.k) {
        bv = b_at(b_base + gn * u.k + gk);
      }
      b_tile[c][r] = bv;
    } else {
      let gk2 = k0 + r;
      let gn = col0 + c;
      if (gk2 < u.k && gn < u.n) {
        bv = b_at(b_base + gk2 * u.n + gn);
      }
      b_tile[r][c] = bv;
    }
  }
}
