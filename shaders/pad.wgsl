// ONNX Pad: each output element reads the input at its coordinates minus the leading pads; outside the input
// the mode decides: 0 constant (u.value, as the element's 32-bit pattern), 1 reflect, 2 edge, 3 wrap.
// Copies 32-bit words (any 32-bit dtype). Negative pads crop, which the same index arithmetic covers.
struct Params {
  n: u32,
  rank: u32,
  mode: u32,
  value: u32,
  out_dims: array<vec4<u32>, 2>,
  in_dims: array<vec4<u32>, 2>,
  in_strides: array<vec4<u32>, 2>,
  pads_begin: array<vec4<i32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.n) {
    return;
  }
  var rem = i;
  var at = 0u;
  var inside = true;
  for (var k = 0u; k < u.rank; k++) {
    let d = u.rank - 1u - k;
    let c = i32(rem % at8(u.out_dims, d));
    rem /= at8(u.out_dims, d);
    let len = i32(at8(u.in_dims, d));
    var src = c - at8i(u.pads_begin, d);
    if (src < 0 || src >= len) {
      if (u.mode == 0u) {
        inside = false;
      } else if (u.mode == 1u) {
        // Reflect about the edges, without repeating them; period 2·(len − 1).
        let period = max(2 * (len - 1), 1);
        var r = src % period;
        if (r < 0) {
          r += period;
        }
        src = select(r, period - r, r >= len);
      } else if (u.mode == 2u) {
        src = clamp(src, 0, len - 1);
      } else {
        src = src % len;
        if (src < 0) {
          src += len;
        }
      }
    }
    at += u32(max(src, 0)) * at8(u.in_strides, d);
  }
  out[i] = select(u.value, x[at], inside);
}
