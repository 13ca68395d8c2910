// Scalar activation helpers shared by unary, matmul, gemv and conv2d (prepended to those programs).

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below f32 resolution near 1). WGSL has no erf.
fn erf_f32(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let y = 1.0 - poly * exp(-ax * ax);
  return select(y, -y, x < 0.0);
}

// tanh through clamping: some drivers compute tanh from exp and overflow to NaN for |x| > ~44.
fn tanh_f32(x: f32) -> f32 {
  return tanh(clamp(x, -15.0, 15.0));
}

// sin and cos to f32 accuracy. WGSL's builtins promise only 2^-11 absolute error on [-π, π] (and nothing
// outside it), which window functions like Blackman's, a difference of cosines, turn into 1e-3 relative errors.
// Cody–Waite reduction by π/2 (three-part constant), then Taylor polynomials on [-π/4, π/4].
fn quarter_turns(x: f32) -> vec2<f32> {
  let q = round(x * 0.63661977236758134);
  var r = fma(-q, 1.5707963705062866, x);
  r = fma(-q, -4.3711388286737929e-8, r);
  r = fma(-q, -1.7151245100059164e-15, r);
  return vec2<f32>(r, q);
}

fn sin_poly(r: f32) -> f32 {
  let r2 = r * r;
  return r + r * r2 * (-0.16666666666666666 + r2 * (0.008333333333333333 + r2 * (-1.984126984126984e-4 + r2 * 2.7557319223985893e-6)));
}

fn cos_poly(r: f32) -> f32 {
  let r2 = r * r;
  return 1.0 + r2 * (-0.5 + r2 * (0.041666666666666664 + r2 * (-0.001388888888888889 + r2 * 2.48015873015873e-5)));
}

fn sin_f32(x: f32) -> f32 {
  let t = quarter_turns(x);
  let k = i32(t.y) & 3;
  let s = sin_poly(t.x);
  let c = cos_poly(t.x);
  return select(select(select(-c, -s, k == 2), c, k == 1), s, k == 0);
}

fn cos_f32(x: f32) -> f32 {
  let t = quarter_turns(x);
  let k = i32(t.y) & 3;
  let s = sin_poly(t.x);
  let c = cos_poly(t.x);
  return select(select(select(s, -c, k == 2), -s, k == 1), c, k == 0);
}

fn sigmoid_f32(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

fn gelu_erf(x: f32) -> f32 {
  return 0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476));
}

fn gelu_tanh(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh_f32(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

fn quick_gelu(x: f32) -> f32 {
  return x * sigmoid_f32(1.702 * x);
}

fn silu(x: f32) -> f32 {
  return x * sigmoid_f32(x);
}

// The fused activation of matmul, gemv and conv2d, chosen by a uniform code (one pipeline serves them all):
// 0 none, 1 relu, 2 gelu-erf, 3 gelu-tanh, 4 quick-gelu, 5 silu.
fn activate_code(code: u32, v: f32) -> f32 {
  switch code {
    case 1u: {
      return max(v, 0.0);
    }
    case 2u: {
      return gelu_erf(v);
    }
    case 3u: {
      return gelu_tanh(v);
    }
    case 4u: {
      return quick_gelu(v);
    }
    case 5u: {
      return silu(v);
    }
    default: {
      return v;
    }
  }
}
