// attention.wgsl with f16 arithmetic (shader-f16; `enable f16;` is prepended): K/V tiles are staged as
// vec4<f16> (half the workgroup memory and bandwidth of f32), each score is a sum of f16 dot products of four
// terms added up in f32, and the running max, sum and output accumulator stay f32, so the error does not grow
// with the number of keys. Same uniforms, bindings, key sources and strided addressing as attention.wgsl
// (attention-io.wgsl, attention-keys*.wgsl, prepended); D is a multiple of 4.
const D: u32 = {{D}}u;
const D4: u32 = D / 4u;
const BR: u32 = {{BR}}u;
const BC: u32 = {{BC}}u;

var<workgroup> k_tile: array<vec4<f16>, BC * D4>;
var<workgroup> v_tile: array<vec4<f16>, BC * D4>;

@compute @workgroup_size(BR)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let h = wid.y;
  let row0 = wid.x * BR;
  let row = row0 + lid;
  let valid = row < u.sq;

  var qr: array<vec4<f16>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var d4 = 0u; d4 < D4; d4++) {
    acc[d4] = vec4<f32>(0.0);
    var x = vec4<f32>(0.0);
    if (valid) {
      for (var i = 0u; i < 4u; i++) {
        x[i] = query_at(b, h, row, 4u * d4 + i);
      }
    }
    qr[d4] = vec4<f16>(x);
  }
  var m = start_max(h);
  var l = start_sum();

  // Keys this workgroup needs at all (uniform), and the last one this thread's row may see.
  let kv_end = visible_keys(row0 + BR);
  let my_end = min(kv_end, visible_keys(row + 1u));
  // Under a causal window, the first key the workgroup's first row sees, and this thread's row.
  let kv_begin = first_visible_key(row0);
  let my_begin = first_visible_key(row);

  for (var t0 = kv_begin; t0 < kv_end; t0 += BC) {
    let tile_len = min(BC, kv_end - t0);
    for (var e = lid; e < BC * D4; e += BR) {
      let j = e / D4;
      let d = (e % D4) * 4u;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (j < tile_len) {
        for (var i = 0u; i < 4u; i++) {
          kv[i] = key_at(b, h, t0 + j, d + i);
          vv[i] = value_at(b, h, t0 + j, d + i);
        }
      }
      k_tile[e] = vec4<f16>(kv);
      v_tile[e] = vec4<f16>(vv);
    }
    workgroupBarrier();
    if (valid) {
      let n = min(tile_len, select(0u, my_end - t0, my_end > t0));
      let j0 = select(0u, my_begin - t0, my_begin > t0);
      for (var j = j0; j < n; j++) {
        var s = 0.0;
        for (var d4 = 0u; d4 < D4; d4++) {
          s += f32(dot(qr[d4], k_tile[j * D4 + d4]));
        }
        s = capped(s);
        if (u.has_mask != 0u) {
          s += mask_at(b, h, row, t0 + j);
        }
        if (s > m) {
          let corr = exp(m - s);
          l *= corr;
          for (var d4 = 0u; d4 < D4; d4++) {
            acc[d4] *= corr;
          }
          m = s;
        }
        let p = exp(s - m);
        l += p;
        for (var d4 = 0u; d4 < D4; d4++) {
          acc[d4] = fma(vec4<f32>(v_tile[j * D4 + d4]), vec4<f32>(p), acc[d4]);
        }
      }
    }
    workgroupBarrier();
  }

  if (valid) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var d4 = 0u; d4 < D4; d4++) {
      for (var i = 0u; i < 4u; i++) {
        write_out(b, h, row, 4u * d4 + i, acc[d4][i] * inv);
      }
    }
  }
}
