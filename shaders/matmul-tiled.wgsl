// Large-tile matmul for hardware GPUs: out[b] = act(alpha · A[b] × B[b] + bias), a TM×TN output tile per
// workgroup of (TN/RN)×(TM/RM) threads, each owning an RM×RN register block. Thread (tx, ty) owns rows
// ty + THREADS_Y·i and columns tx + THREADS_X·j, so a warp reads consecutive workgroup-memory words (no bank
// conflicts) and writes consecutive output columns. K is walked in BK-deep slabs staged as vec4 loads (K, and N
// unless B is transposed, multiples of 4); the next slab is fetched into registers while this one is multiplied.
// CT is the compute type: f32, or f16 under shader-f16, where each slab's products are summed in f16 and
// added to f32 accumulators (f16 sums over BK terms only, so the error does not grow with K).
// Params, bias, out and u: matmul-io.wgsl; b4_at(): matmul-b-f32x4.wgsl or matmul-b-f16x4.wgsl.
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const RM: u32 = {{RM}}u;
const RN: u32 = {{RN}}u;
const BK: u32 = {{BK}}u;
const THREADS_X: u32 = TN / RN;
const THREADS_Y: u32 = TM / RM;
const WG: u32 = THREADS_X * THREADS_Y;
/** vec4 loads per thread for a slab of A (TM×BK) and of B (BK×TN). */
const A_LOADS: u32 = TM * BK / 4u / WG;
const B_LOADS: u32 = BK * TN / 4u / WG;
const HALF: bool = {{HALF}};
alias CT = {{CT}};

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;

// Slabs, k-major: a_s[k·TM + m], b_s[k·TN + n].
var<workgroup> a_s: array<CT, BK * TM>;
var<workgroup> b_s: array<CT, BK * TN>;

fn load_a(e: u32, row0: u32, k0: u32, a_base: u32) -> vec4<f32> {
  let r = e / (BK / 4u);
  let c = (e % (BK / 4u)) * 4u;
  if (row0 + r < u.m && k0 + c < u.k) {
    return a[(a_base + (row0 + r) * u.k + k0 + c) / 4u];
  }
  return vec4<f32>(0.0);
}

fn store_a(e: u32, v: vec4<f32>) {
  let r = e / (BK / 4u);
  let c = (e % (BK / 4u)) * 4u;
  a_s[c * TM + r] = CT(v.x);
  a_s[(c + 1u) * TM + r] = CT(v.y);
  a_s[(c + 2u) * TM + r] = CT(v.z);
  a_s[(c + 3u) * TM + r] = CT(v.w);
}

fn load_b(e: u32, col0: u32, k0: u32, b_base: u32) -> vec4<f32> {
  if (u.trans_b != 0u) {
    // B stored [N, K]: vec4s run along k.
    let r = e / (BK / 4u);
    let c = (e % (BK / 4u)) * 4u;
    if (col0 + r < u.n && k0 + c < u.k) {
      return b4_at((b_base + (col0 + r) * u.k + k0 + c) / 4u);
    }
    return vec4<f32>(0.0);
  }
  let r = e / (TN / 4u);
  let c = (e % (TN / 4u)) * 4u;
  if (k0 + r < u.k && col0 + c < u.n) {
    return b4_at((b_base + (k0 + r) * u.n + col0 + c) / 4u);
  }
  return vec4<f32>(0.0);
}

fn store_b(e: u32, v: vec4<f32>) {
  if (u.trans_b != 0u) {
    let r = e / (BK / 4u);
    let c = (e % (BK / 4u)) * 4u;
    b_s[c * TN + r] = CT(v.x);
    b_s[(c + 1u) * TN + r] = CT(v.y);
    b_s[(c + 2u) * TN + r] = CT(v.z);
    b_s[(c + 3u) * TN + r] = CT(v.w);
    return;
  }
  let r = e / (TN / 4u);
  let c = (e % (TN / 4u)) * 4u;
  let at = r * TN + c;
  b_s[at] = CT(v.x);
  b_s[at + 1u] = CT(v.y);
  b_s[at + 2u] = CT(v.z);
  b_s[at + 3u] = CT(v.w);
}

@compute @workgroup_size(THREADS_X, THREADS_Y, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid3: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let tx = lid3.x;
  let ty = lid3.y;
  let row0 = wid.y * TM;
  let col0 = wid.x * TN;

  let bases = batch_bases(wid.z);
  let a_base = bases.x;
  let b_base = bases.y;

  var acc: array<array<f32, RN>, RM>;
  for (var i = 0u; i < RM; i++) {
    for (var j = 0u; j < RN; j++) {
      acc[i][j] = 0.0;
    }
  }
  var next_a: array<vec4<f32>, A_LOADS>;
  var next_b: array<vec4<f32>, B_LOADS>;
  for (var t = 0u; t < A_LOADS; t++) {
    next_a[t] = load_a(lid + t * WG, row0, 0u, a_base);
  }
  for (var t = 0u; t < B_LOADS; t++) {
    next_b[t] = load_b(lid + t * WG, col0, 0u, b_base);
  }

  for (var k0 = 0u; k0 < u.k; k0 += BK) {
    for (var t = 0u; t < A_LOADS; t++) {
      store_a(lid + t * WG, next_a[t]);
    }
    for (var t = 0u; t < B_LOADS; t++) {
      store_b(lid + t * WG, next_b[t]);
    }
    workgroupBarrier();
    // Fetch the next slab while this one is multiplied (loads past K read as zero and are never stored).
    if (k0 + BK < u.k) {
      for (var t = 0u; t < A_LOADS; t++) {
        next_a[t] = load_a(lid + t * WG, row0, k0 + BK, a_base);
      }
      for (var t = 0u; t < B_LOADS; t++) {
        next_b[t] = load_b(lid + t * WG, col0, k0 + BK, b_base);
      }
    }
    var part: array<array<CT, RN>, RM>;
    for (var kk = 0u; kk < BK; kk++) {
      var av: array<CT, RM>;
      var bv: array<CT, RN>;
      for (var i = 0u; i < RM; i++) {
        av[i] = a_s[kk * TM + ty + THREADS_Y * i];
      }
      for (var j = 0u; j < RN; j++) {
        bv[j] = b_s[kk * TN + tx + THREADS_X * j];
      }
      for (var i = 0u; i < RM; i++) {
        for (var j = 0u; j < RN; j++) {
          if (HALF) {
            part[i][j] = fma(av[i], bv[j], part[i][j]);
          } else {
            acc[i][j] = fma(f32(av[i]), f32(bv[j]), acc[i][j]);
          }
        }
      }
    }
    if (HALF) {
      for (var i = 0u; i < RM; i++) {
        for (var j = 0u; j < RN; j++) {
          acc[i][j] += f32(part[i][j]);
        }
      }
    }
    workgroupBarrier();
  }

  let out_base = wid.z * u.m * u.n;
  for (var i = 0u; i < RM; i++) {
    let gm = row0 + ty + THREADS_Y * i;
    if (gm >= u.m) {
      continue;
    }
    for (var j = 0u; j < RN; j++) {
      let gn = col0 + tx + THREADS_X * j;
      if (gn < u.n) {
        out[out_base + gm * u.n + gn] = epilogue(acc[i][j], gm, gn, out_base + gm * u.n + gn);
      }
    }
  }
}
