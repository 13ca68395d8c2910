// Matrix-vector product for M = 1 (decoding steps, pooled embeddings): out[b, n] = act(alpha · a[b, :] · B[b][:, n]
// + bias[n]). The 32×32-tile matmul would keep 1 row of its 32 busy here.
// B as [K, N]: one thread per output column, threads of a workgroup on consecutive columns (coalesced rows of
// B), a[b, k0..k0+256) staged in workgroup memory. B as [N, K] (transposed): 8 columns per workgroup, 32
// lanes per column striding over k (coalesced), then a tree sum over the lanes.
// Params, bias, out and u: matmul-io.wgsl, prepended (the same layout as matmul.wgsl).
const WG: u32 = 256u;
const LANES: u32 = 32u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
// B (binding 1) comes from matmul-b-f32.wgsl or matmul-b-f16.wgsl (b_at).

var<workgroup> a_chunk: array<f32, WG>;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bases = batch_bases(wid.z);
  let a_base = bases.x;
  let b_base = bases.y;
  let out_base = wid.z * u.n;

  if (u.trans_b == 0u) {
    let n = wid.x * WG + lid;
    var acc = 0.0;
    for (var k0 = 0u; k0 < u.k; k0 += WG) {
      var av = 0.0;
      if (k0 + lid < u.k) {
        av = a[a_base + k0 + lid];
      }
      a_chunk[lid] = av;
      workgroupBarrier();
      if (n < u.n) {
        let len = min(WG, u.k - k0);
        for (var t = 0u; t < len; t++) {
          acc = fma(a_chunk[t], b_at(b_base + (k0 + t) * u.n + n), acc);
        }
      }
      workgroupBarrier();
    }
    if (n < u.n) {
      out[out_base + n] = epilogue(acc, 0u, n, out_base + n);
    }
  } else {
    let col = lid / LANES;
    let lane = lid % LANES;
    let n = wid.x * (WG / LANES) + col;
    var acc = 0.0;
    if (n < u.n) {
      for (var k = lane; k < u.k; k += LANES) {
        acc = fma(a[a_base + k], b_at(b_base + n * u.k + k), acc);
      }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
      if (lane < s) {
        partial[lid] += partial[lid + s];
      }
      workgroupBarrier();
    }
    if (lane == 0u && n < u.n) {
      out[out_base + n] = epilogue(partial[lid], 0u, n, out_base + n);
    }
  }
}
