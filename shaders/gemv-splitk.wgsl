// Matrix-vector product for one output row with B stored [K, N] (ONNX MatMul weights), split along K so that
// even a 1024 × 4096 product spreads over hundreds of workgroups: the 256-column kernel (gemv.wgsl) launched
// only N/256 of them and left most of a large GPU idle (86 GB/s on an H200).
// A workgroup owns 256 columns (64 threads × 4 columns, read as vec4: N % 4 == 0) and one K chunk; its 4 lanes
// of 64 threads take every 4th k of the chunk, then sum in workgroup memory. With one chunk `main` applies the
// epilogue and writes the row; with several, the program binds a scratch buffer in `out`'s slot, `main` writes
// partial sums [batch, splits, N] there, and `reduce` (scratch bound as `a`) adds them and applies the epilogue.
// Params (splits, chunk), bias, out, u, batch_bases(), epilogue(): matmul-io.wgsl; b4_at(): matmul-b-*x4.wgsl.
const WG: u32 = 256u;
const GROUPS: u32 = 64u;
const LANES: u32 = WG / GROUPS;
const COLUMNS: u32 = GROUPS * 4u;

@group(0) @binding(0) var<storage, read> a: array<f32>;

var<workgroup> lane_sums: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bases = batch_bases(wid.z);
  let group = lid % GROUPS;
  let lane = lid / GROUPS;
  let n4 = wid.x * GROUPS + group;
  let columns4 = u.n / 4u;
  let k_begin = wid.y * u.chunk;
  let k_end = min(u.k, k_begin + u.chunk);
  var acc = vec4<f32>(0.0);
  if (n4 < columns4) {
    for (var k = k_begin + lane; k < k_end; k += LANES) {
      acc = fma(vec4<f32>(a[bases.x + k]), b4_at((bases.y + k * u.n) / 4u + n4), acc);
    }
  }
  lane_sums[lid] = acc;
  workgroupBarrier();
  if (lane != 0u || n4 >= columns4) {
    return;
  }
  var sum = acc;
  for (var l = 1u; l < LANES; l++) {
    sum += lane_sums[l * GROUPS + group];
  }
  let n = n4 * 4u;
  if (u.splits == 1u) {
    for (var i = 0u; i < 4u; i++) {
      out[wid.z * u.n + n + i] = epilogue(sum[i], 0u, n + i, wid.z * u.n + n + i);
    }
  } else {
    let at = (wid.z * u.splits + wid.y) * u.n + n;
    for (var i = 0u; i < 4u; i++) {
      out[at + i] = sum[i];
    }
  }
}

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x * WG + lid;
  if (n >= u.n) {
    return;
  }
  var sum = 0.0;
  // B is bound here too (the programs share one binding list); this never-true read keeps it in the layout.
  if (u.k == 0xffffffffu) {
    sum = b4_at(0u).x;
  }
  for (var s = 0u; s < u.splits; s++) {
    sum += a[(wid.z * u.splits + s) * u.n + n];
  }
  out[wid.z * u.n + n] = epilogue(sum, 0u, n, wid.z * u.n + n);
}
