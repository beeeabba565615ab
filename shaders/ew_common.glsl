// ew_common.glsl — math and layout helpers of the elementwise shaders (ew_*.comp).
//
// The math mirrors objc/cpu/tensor_elementwise.c operation for operation (see the semantics
// there). Buffers are 32-bit words: f32 values as bits, f16 values as halves of words
// (element i in word i >> 1, low half first), so no arithmetic ever touches a COPY, NEG or
// ABS and f16 conversions are ours (round to nearest even, bit-exact with src/dtype.ts),
// not the driver's packHalf2x16. The GLSL built-ins of undefined special cases
// (log/sqrt/inversesqrt of x <= 0, pow of x < 0, exp of ±inf) are guarded explicitly.
// Included after #version and the #extension lines (GL_GOOGLE_include_directive,
// GL_EXT_control_flow_attributes).

#include "bn_common.glsl"
#include "ew_plan.h"

bool ew_isnan(float x) {
  return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u;
}

float ew_inf() {
  return uintBitsToFloat(0x7f800000u);
}

float ew_nan() {
  return uintBitsToFloat(0x7fc00000u);
}

// |r| with the sign of s.
float ew_copysign(float r, float s) {
  return uintBitsToFloat((floatBitsToUint(r) & 0x7fffffffu) | (floatBitsToUint(s) & 0x80000000u));
}

// ---- f16 <-> f32 ------------------------------------------------------------------------------

// binary16 bits (low 16 bits of h) -> f32, exact.
float ew_h2f(uint h) {
  uint sign = (h & 0x8000u) << 16;
  uint e = (h >> 10) & 0x1fu;
  uint m = h & 0x3ffu;
  if (e == 0u) {
    return uintBitsToFloat(floatBitsToUint(float(m) * 5.9604644775390625e-8) | sign);
  }
  if (e == 31u) return uintBitsToFloat(sign | 0x7f800000u | (m << 13));
  return uintBitsToFloat(sign | ((e + 112u) << 23) | (m << 13));
}

// f32 -> binary16 bits, round to nearest even (src/dtype.ts f32ToF16Bits, bit for bit).
uint ew_f2h(float f) {
  uint x = floatBitsToUint(f);
  uint sign = (x >> 16) & 0x8000u;
  uint ex = (x >> 23) & 0xffu;
  uint mant = x & 0x7fffffu;
  if (ex == 0xffu) return sign | 0x7c00u | (mant != 0u ? (0x200u | (mant >> 13)) : 0u);
  int e = int(ex) - 112;
  if (e >= 31) return sign | 0x7c00u;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000u;
    uint shift = uint(14 - e);
    uint h = mant >> shift;
    uint rem = mant & ((1u << shift) - 1u);
    uint half_ = 1u << (shift - 1u);
    if (rem > half_ || (rem == half_ && (h & 1u) != 0u)) h += 1u;
    return sign | h;
  }
  uint h = (uint(e) << 10) | (mant >> 13);
  uint rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) h += 1u;
  return sign | h;
}

// Element i of an f16 buffer of words (a macro: GLSL cannot pass buffers to functions).
#define EW_LD16(BUF, I) ((BUF[(I) >> 1] >> (((I) & 1u) << 4)) & 0xffffu)

// ---- unary math (objc/cpu/tensor_elementwise.c has the same sequences) --------------------

// exp with the overflow/underflow ends pinned (the built-in's are not specified).
float ew_exp(float x) {
  if (x >= 88.8) return ew_inf();
  if (x <= -104.0) return 0.0;
  return exp(x);
}

float ew_erf(float x) {
  const float A[BN_ERF_A_N] = float[BN_ERF_A_N](BN_ERF_A);
  const float B[BN_ERF_B_N] = float[BN_ERF_B_N](BN_ERF_B);
  const float C[BN_ERF_C_N] = float[BN_ERF_C_N](BN_ERF_C);
  float a = abs(x);
  precise float r;
  if (a < BN_ERF_AB) {
    precise float s = a * a;
    precise float p = A[0];
    [[unroll]] for (int i = 1; i < BN_ERF_A_N; ++i) p = p * s + A[i];
    r = a + a * p;
  } else if (a < BN_ERF_BC) {
    precise float t = a - BN_ERF_B_MID;
    precise float p = B[0];
    [[unroll]] for (int i = 1; i < BN_ERF_B_N; ++i) p = p * t + B[i];
    r = 1.0 - p;
  } else if (a < BN_ERF_ONE) {
    precise float t = a - BN_ERF_C_MID;
    precise float p = C[0];
    [[unroll]] for (int i = 1; i < BN_ERF_C_N; ++i) p = p * t + C[i];
    r = 1.0 - p;
  } else {
    r = 1.0;
  }
  return ew_copysign(r, x);
}

float ew_tanh(float x) {
  const float T[BN_TANH_N] = float[BN_TANH_N](BN_TANH);
  float a = abs(x);
  precise float r;
  if (a < BN_TANH_SMALL) {
    precise float s = a * a;
    precise float p = T[0];
    [[unroll]] for (int i = 1; i < BN_TANH_N; ++i) p = p * s + T[i];
    r = a + a * (s * p);
  } else {
    precise float e = ew_exp(-2.0 * a);
    r = (1.0 - e) / (1.0 + e);
  }
  return ew_copysign(r, x);
}

// x >= 0: 1/(1 + e^-x); x < 0: e^x/(1 + e^x) (one exp of -|x|, numerator selected).
float ew_sigmoid(float x) {
  precise float e = ew_exp(-abs(x));
  precise float d = 1.0 + e;
  precise float r = (x >= 0.0 ? 1.0 : e) / d;
  return r;
}

float ew_relu(float x) {
  return (x > 0.0 || ew_isnan(x)) ? x : 0.0;
}

// Arithmetic unary ops (COPY, NEG and ABS are bit operations, see ew_unary_bits).
float ew_unary_math(int op, float x) {
  if (ew_isnan(x)) return x;
  switch (op) {
    case BN_EW_EXP:
      return ew_exp(x);
    case BN_EW_LOG:
      if (x < 0.0) return ew_nan();
      if (x == 0.0) return -ew_inf();
      if (x == ew_inf()) return x;
      return log(x);
    case BN_EW_SQRT:
      if (x < 0.0) return ew_nan();
      if (x == 0.0 || x == ew_inf()) return x;
      return sqrt(x);
    case BN_EW_RSQRT:
      if (x < 0.0) return ew_nan();
      if (x == 0.0) return ew_copysign(ew_inf(), x);
      if (x == ew_inf()) return 0.0;
      return inversesqrt(x);
    case BN_EW_TANH:
      return ew_tanh(x);
    case BN_EW_SIGMOID:
      return ew_sigmoid(x);
    case BN_EW_RELU:
      return ew_relu(x);
    case BN_EW_RELU2: {
      float r = ew_relu(x);
      precise float r2 = r * r;
      return r2;
    }
    case BN_EW_SILU: {
      precise float r = x * ew_sigmoid(x);
      return r;
    }
    case BN_EW_GELU: {
      precise float t = x * BN_SQRT1_2;
      float e = ew_erf(t);
      precise float r = (0.5 * x) * (1.0 + e);
      return r;
    }
    default:
      return x;
  }
}

// f32 bits -> f32 bits.
uint ew_unary_bits(int op, uint xb) {
  if (op == BN_EW_COPY) return xb;
  if (op == BN_EW_NEG) return xb ^ 0x80000000u;
  if (op == BN_EW_ABS) return xb & 0x7fffffffu;
  return floatBitsToUint(ew_unary_math(op, uintBitsToFloat(xb)));
}

// f16 bits -> f16 bits (arithmetic in f32, rounded to nearest even).
uint ew_unary_h(int op, uint h) {
  if (op == BN_EW_COPY) return h;
  if (op == BN_EW_NEG) return h ^ 0x8000u;
  if (op == BN_EW_ABS) return h & 0x7fffu;
  return ew_f2h(ew_unary_math(op, ew_h2f(h)));
}

// ---- binary math -----------------------------------------------------------------------------

// C99 Annex F powf, with the magnitude of the finite cases from the pow built-in.
float ew_pow(float x, float y) {
  if (y == 0.0 || x == 1.0) return 1.0;
  if (ew_isnan(x) || ew_isnan(y)) return ew_nan();
  float ax = abs(x);
  float ay = abs(y);
  bool yinf = ay == ew_inf();
  bool yint = !yinf && floor(y) == y;
  bool yodd = yint && ay < 16777216.0 && (uint(ay) & 1u) == 1u;
  if (yinf) {
    if (ax == 1.0) return 1.0;
    return ((ax > 1.0) == (y > 0.0)) ? ew_inf() : 0.0;
  }
  if (ax == 0.0) {
    if (y < 0.0) return yodd ? ew_copysign(ew_inf(), x) : ew_inf();
    return yodd ? x : 0.0;
  }
  if (ax == ew_inf()) {
    float r = y < 0.0 ? 0.0 : ew_inf();
    return (x < 0.0 && yodd) ? -r : r;
  }
  if (x < 0.0 && !yint) return ew_nan();
  float r = pow(ax, y);
  return (x < 0.0 && yodd) ? -r : r;
}

float ew_binary_math(int op, float a, float b) {
  switch (op) {
    case BN_EW_ADD: {
      precise float r = a + b;
      return r;
    }
    case BN_EW_SUB: {
      precise float r = a - b;
      return r;
    }
    case BN_EW_MUL: {
      precise float r = a * b;
      return r;
    }
    case BN_EW_DIV: {
      precise float r = a / b;
      return r;
    }
    case BN_EW_MAX:
      if (ew_isnan(a)) return a;
      if (ew_isnan(b)) return b;
      return a > b ? a : b;
    case BN_EW_MIN:
      if (ew_isnan(a)) return a;
      if (ew_isnan(b)) return b;
      return a < b ? a : b;
    case BN_EW_POW:
      return ew_pow(a, b);
    default:
      return a;
  }
}

// ---- grid ------------------------------------------------------------------------------------

// Number of BN_EW_CHUNK-word groups for `words` output words (no overflow near 2^32).
uint ew_groups(uint words) {
  return words / uint(BN_EW_CHUNK) + ((words % uint(BN_EW_CHUNK)) != 0u ? 1u : 0u);
}

// Output words of n elements.
uint ew_words(uint n, bool f16) {
  return f16 ? (n >> 1) + (n & 1u) : n;
}
