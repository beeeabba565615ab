// rows_common.glsl — helpers of the "rows" tensor-op shaders (reduce, softmax, rmsnorm,
// rmsnorm_quant, rope). Included after bn_common.glsl and rows_plan.h.
//
// Element access: every operand is declared as an array of 32-bit words; f32 element e is
// word e, f16 element e is half (e & 1) of word e >> 1 (the low half first). f16 values are
// widened and rounded here with integer code (round to nearest even, exactly like the CPU
// backend and src/dtype.ts's f32ToF16Bits), so every backend produces the same f16 bits
// from the same f32 value, whatever its float16 conversion or denormal modes are.
//
// Workgroup reductions use a shared-memory tree in a fixed order (no subgroup operations):
// the result does not depend on the subgroup size, and a value is bit-for-bit the same in
// every shader that reduces the same row the same way (rmsnorm and rmsnorm_quant rely on it).
// Accumulations are `precise` (no re-association, no fused multiply-add).

// ---- f16 <-> f32 ---------------------------------------------------------------------------

// binary16 bits (low 16 bits of h) → f32, exact. Subnormals go through an exact product so
// that no f32 denormal is ever formed.
float bn_h2f(uint h) {
  uint sign = (h & 0x8000u) << 16;
  uint em = h & 0x7FFFu;
  uint b;
  if (em < 0x400u) {
    b = floatBitsToUint(float(em) * 5.9604644775390625e-8);  // em · 2^-24
  } else if (em >= 0x7C00u) {
    b = (em << 13) | 0x7F800000u;  // Inf / NaN (payload kept)
  } else {
    b = (em << 13) + 0x38000000u;
  }
  return uintBitsToFloat(b | sign);
}

// f32 → binary16 bits, round to nearest even; NaN → 0x7E00 | its top payload bits.
uint bn_f2h(float v) {
  uint x = floatBitsToUint(v);
  uint sign = (x >> 16) & 0x8000u;
  uint a = x & 0x7FFFFFFFu;
  uint r;
  if (a >= 0x47800000u) {  // >= 65536, Inf, NaN
    r = a > 0x7F800000u ? (0x7E00u | ((a & 0x7FFFFFu) >> 13)) : 0x7C00u;
  } else if (a < 0x38800000u) {  // below 2^-14: a multiple of 2^-24 after adding 0.5
    precise float s = uintBitsToFloat(a) + 0.5;
    r = floatBitsToUint(s) - 0x3F000000u;
  } else {
    r = (a + 0xC8000FFFu + ((a >> 13) & 1u)) >> 13;
  }
  return r | sign;
}

uint bn_pack_h2(float lo, float hi) {
  return bn_f2h(lo) | (bn_f2h(hi) << 16);
}

// Element e of a word array holding f32 (f16 == false) or f16 values.
#define BN_LOAD(buf, e, f16)                                                              \
  ((f16) ? bn_h2f((buf[(e) >> 1] >> (((e) & 1u) << 4)) & 0xFFFFu) : uintBitsToFloat(buf[e]))

// ---- accumulation ------------------------------------------------------------------------

// Kahan summation: (s, c) += x. Once s is ±Inf or NaN, c is 0 and s stays what IEEE
// addition makes of it (so Inf − Inf gives NaN, as a plain sum would).
void bn_kahan_add(inout float s, inout float c, float x) {
  precise float y = x - c;
  precise float t = s + y;
  precise float e = (t - s) - y;
  bool finite = !isinf(t) && !isnan(t);
  c = finite ? e : 0.0;
  s = t;
}

// The compensated value of a Kahan pair.
float bn_kahan_value(float s, float c) {
  precise float v = s - c;
  return (isinf(s) || isnan(s)) ? s : v;
}

// Max / min that propagate NaN (the running value a, the next value b).
float bn_max_nan(float a, float b) {
  return isnan(a) ? a : ((isnan(b) || b > a) ? b : a);
}
float bn_min_nan(float a, float b) {
  return isnan(a) ? a : ((isnan(b) || b < a) ? b : a);
}

// ARGMAX order: whether (v2, i2) beats (v1, i1): a NaN first, then the larger value, then
// the lower index (so the result is the first occurrence).
bool bn_arg_better(float v1, uint i1, float v2, uint i2) {
  bool n1 = isnan(v1);
  bool n2 = isnan(v2);
  if (n1 || n2) return n2 && (!n1 || i2 < i1);
  return v2 > v1 || (v2 == v1 && i2 < i1);
}

// ---- rmsnorm --------------------------------------------------------------------------------

// r = 1/sqrt(ss/cols + eps): the mean is a correctly rounded division (cols <= 2^24 is
// exact as a float), then inversesqrt refined by one Newton step in f32.
float bn_rms_scale(float ss, uint cols, float eps) {
  float mean = bn_div_rn(ss, float(cols));
  precise float v = mean + eps;
  float r = inversesqrt(v);
  if (r > 0.0 && !isinf(r) && !isnan(r)) {
    precise float hv = 0.5 * v;
    precise float t = (hv * r) * r;
    precise float corr = 1.5 - t;
    precise float r1 = r * corr;
    r = r1;
  }
  return r;
}

// ---- rope ------------------------------------------------------------------------------------

// (cos θ, sin θ) for θ = float(pos) · theta^(-2i/d), with log2theta = log2(theta). The angle
// is reduced modulo 2π with a three-part constant (k · 6.28125 is exact for |k| < 2^16)
// before the builtins, which are accurate only near [-π, π].
vec2 bn_rope_cs(int pos, uint i, uint d, float log2theta) {
  float ex = bn_div_rn(float(2u * i), float(d));
  precise float arg = ex * log2theta;
  float inv = exp2(-arg);
  precise float th = float(pos) * inv;
  precise float k = roundEven(th * 0.15915493667125702);
  precise float r = ((th - k * 6.28125) - k * 0.0019353071693331003) - k * 1.0253131677018246e-11;
  return vec2(cos(r), sin(r));
}

// ---- segmented trees of the row shaders ----------------------------------------------------
// The workgroup is split into segments of L consecutive invocations (L a power of two, one
// row each); these reduce a value over each segment in a fixed tree and return the
// segment's result to all of its invocations. The shader declares
// `shared float bn_tree[BN_ROW_WG];` and defines BN_ROWS_TREE first; every invocation of the
// workgroup must call them with the same L (uniform control flow).
#ifdef BN_ROWS_TREE
float bn_seg_sum(float v, uint L) {
  uint tid = gl_LocalInvocationID.x;
  uint lane = tid & (L - 1u);
  bn_tree[tid] = v;
  barrier();
  for (uint h = L >> 1; h > 0u; h >>= 1) {
    if (lane < h) {
      precise float s = bn_tree[tid] + bn_tree[tid + h];
      bn_tree[tid] = s;
    }
    barrier();
  }
  float r = bn_tree[tid - lane];
  barrier();
  return r;
}

// Max over each segment where a NaN wins and stays (quantize_act_int8's amax).
float bn_seg_max_nan(float v, uint L) {
  uint tid = gl_LocalInvocationID.x;
  uint lane = tid & (L - 1u);
  bn_tree[tid] = v;
  barrier();
  for (uint h = L >> 1; h > 0u; h >>= 1) {
    if (lane < h) {
      float o = bn_tree[tid + h];
      if (o > bn_tree[tid] || isnan(o)) bn_tree[tid] = o;
    }
    barrier();
  }
  float r = bn_tree[tid - lane];
  barrier();
  return r;
}

// Max over each segment, ignoring NaN (a comparison never picks one).
float bn_seg_max(float v, uint L) {
  uint tid = gl_LocalInvocationID.x;
  uint lane = tid & (L - 1u);
  bn_tree[tid] = v;
  barrier();
  for (uint h = L >> 1; h > 0u; h >>= 1) {
    if (lane < h && bn_tree[tid + h] > bn_tree[tid]) bn_tree[tid] = bn_tree[tid + h];
    barrier();
  }
  float r = bn_tree[tid - lane];
  barrier();
  return r;
}
#endif
