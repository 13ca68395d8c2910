// Batched, broadcasting matmul: out[b] = act(alpha · A[b] × B[b] + bias). 32×32 output tile per workgroup of
// 8×8 threads, each thread owning a 4×4 register block (rows ty + 8i, cols tx + 8j, so neighbouring threads
// read neighbouring workgroup-memory words). K is walked in 32-wide slabs staged in workgroup memory; only the
// staging loads check bounds (zero padding), so any M, N, K works and the inner loop has no branches.
// Transposed B, bias and activation are uniforms, not specializations: the branches are uniform (cheap) and one
// pipeline serves every MatMul/Gemm/Linear of a model (SwiftShader spends ~2 s compiling each variant).
// Without a bias the executor binds A again in its slot (read-only aliasing is allowed) and has_bias is 0.
// Two variants differ only in how tiles are staged: scalar loads (any shape) or vec4 loads (K, and N unless B
// is transposed, multiples of 4).
const TILE: u32 = 32u;
const WG: u32 = 64u;
// Params, bias, out and u: matmul-io.wgsl, prepended. a (binding 0), b (binding 1) and stage_tiles() come from
// matmul-load-scalar.wgsl or matmul-load-vec4.wgsl.

var<workgroup> a_tile: array<array<f32, TILE>, TILE>;
var<workgroup> b_tile: array<array<f32, TILE>, TILE>;

@compute @workgroup_size(8, 8, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid3: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let tx = lid3.x;
  let ty = lid3.y;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;

  let bases = batch_bases(wid.z);
  let a_base = bases.x;
  let b_base = bases.y;

  var acc: array<array<f32, 4>, 4>;
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      acc[i][j] = 0.0;
    }
  }

  for (var k0 = 0u; k0 < u.k; k0 += TILE) {
    stage_tiles(lid, row0, col0, k0, a_base, b_base);
    workgroupBarrier();
    for (var kk = 0u; kk < TILE; kk++) {
      var av4: array<f32, 4>;
      var bv4: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av4[i] = a_tile[ty + 8u * i][kk];
        bv4[i] = b_tile[kk][tx + 8u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] = fma(av4[i], bv4[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }

  let out_base = wid.z * u.m * u.n;
  for (var i = 0u; i < 4u; i++) {
    let gm = row0 + ty + 8u * i;
    if (gm >= u.m) {
      continue;
    }
    for (var j = 0u; j < 4u; j++) {
      let gn = col0 + tx + 8u * j;
      if (gn < u.n) {
        out[out_base + gm * u.n + gn] = epilogue(acc[i][j], gm, gn, out_base + gm * u.n + gn);
      }
    }
  }
}
