// bn_common.glsl — helpers shared by the bitnet-metal compute shaders.
//
// Included after #version and the #extension lines of each shaders/*.comp. Everything here
// is plain GLSL 4.50 that SPIRV-Cross translates to MSL 2.3. Requires
// GL_EXT_control_flow_attributes (for [[unroll]]).

#include "bn_plan.h"

// Linear index of this workgroup in a (possibly 2-D folded) 1-D grid; see bn_plan.h.
uint bn_group_linear() {
  return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}

// Padded k of the packed ternary and int8 activation layouts (k < 2^24 for bitlinear).
uint bn_kp(uint k) {
  return (k + 127u) & ~127u;
}

// ---- exact (correctly rounded) float division ---------------------------------------------
// Vulkan only promises 2.5 ulp for OpFDiv and Metal is no better with fast math off, but the
// quantizers' numerics are defined with IEEE f32 division (127/amax, amax/127, sum/count):
// one ulp there moves a rounding boundary, and integer results must match other backends
// exactly. So these divisions are done with integer long division and round-to-nearest-even.
// They run once per row / tensor, never in an inner loop.

// x = M · 2^e with M in [2^23, 2^24) for a positive finite nonzero x (subnormals are
// normalised from their bits, so a flush-to-zero device still reads them exactly); false for
// zero, negative, infinite and NaN x.
bool bn_decompose(float x, out uint M, out int e) {
  uint b = floatBitsToUint(x);
  uint E = (b >> 23) & 0xFFu;
  uint f = b & 0x7FFFFFu;
  if (E == 0u) {
    int z = 23 - findMSB(f);  // f != 0 checked below; findMSB(0) = -1 gives z = 24
    M = f << uint(min(z, 23));
    e = -149 - z;
  } else {
    M = f | 0x800000u;
    e = int(E) - 150;
  }
  return (b >> 31) == 0u && E != 255u && (E != 0u || f != 0u);
}

// Bit `pos` of the 64-bit integer (qh:ql); 0 outside 0..63.
uint bn_bit64(uint qh, uint ql, int pos) {
  if (pos < 0 || pos > 63) return 0u;
  return pos >= 32 ? (qh >> uint(pos - 32)) & 1u : (ql >> uint(pos)) & 1u;
}

// Whether any of the bits [0, pos) of (qh:ql) is set (pos clamped to 0..64).
bool bn_any_below64(uint qh, uint ql, int pos) {
  if (pos <= 0) return false;
  if (pos < 32) return (ql & ((1u << uint(pos)) - 1u)) != 0u;
  if (ql != 0u) return true;
  if (pos == 32) return false;
  if (pos >= 64) return qh != 0u;
  return (qh & ((1u << uint(pos - 32)) - 1u)) != 0u;
}

// The low 32 bits of (qh:ql) >> sh, for sh >= 0 (0 when sh >= 64).
uint bn_shr64_lo(uint qh, uint ql, int sh) {
  if (sh >= 64) return 0u;
  if (sh >= 32) return qh >> uint(sh - 32);
  if (sh == 0) return ql;
  return (ql >> uint(sh)) | (qh << uint(32 - sh));
}

// The f32 bits of (Q + f) · 2^e2 rounded to nearest (ties to even), where Q = (qh:ql) has at
// least 25 significant bits and f in [0, 1) is nonzero exactly when `sticky`; subnormal
// results are rounded on their own grid (2^-149). Returns 0xFFFFFFFF on overflow.
uint bn_round_q64_bits(uint qh, uint ql, int e2, bool sticky) {
  int t = qh != 0u ? 32 + findMSB(qh) : findMSB(ql);
  int sh = max(t - 23, -149 - e2);  // LSB position of the result's grid, in bits of Q
  uint mant = bn_shr64_lo(qh, ql, sh);
  uint round_bit = bn_bit64(qh, ql, sh - 1);
  bool rest = sticky || bn_any_below64(qh, ql, sh - 1);
  if (round_bit != 0u && (rest || (mant & 1u) != 0u)) mant += 1u;
  if (mant >= 0x1000000u) {  // rounding carried into a new binade
    mant >>= 1;
    sh += 1;
  }
  if (mant < 0x800000u) return mant;  // subnormal (or zero): e2 + sh == -149
  int E = e2 + sh + 150;
  if (E > 254) return 0xFFFFFFFFu;
  return (uint(E) << 23) | (mant & 0x7FFFFFu);
}

// a / b correctly rounded (ties to even, subnormal results included) for positive finite
// a, b; otherwise (zero, infinite, NaN or negative operands, or overflow) the plain division,
// which gives what IEEE gives for those cases.
float bn_div_rn(float a, float b) {
  uint Ma, Mb;
  int ea, eb;
  bool okA = bn_decompose(a, Ma, ea);
  bool okB = bn_decompose(b, Mb, eb);
  if (!okA || !okB) return a / b;
  // Restoring division: q = floor(Ma · 2^25 / Mb), in [2^24, 2^26).
  uint rem = Ma;
  uint q = 0u;
  for (int i = 0; i < 26; ++i) {
    q <<= 1;
    if (rem >= Mb) {
      rem -= Mb;
      q |= 1u;
    }
    rem <<= 1;
  }
  uint r = bn_round_q64_bits(0u, q, ea - eb - 25, rem != 0u);
  return r != 0xFFFFFFFFu ? uintBitsToFloat(r) : a / b;
}

// (hi + lo) / N correctly rounded, where (hi, lo) is a non-negative float-float value
// (|lo| <= ulp(hi)/2, as bn_ff_add leaves it) and N < 2^31 is an integer. Used for the
// absmean scale: the sum is accurate to about 2^-44 relative, so the f32 mean matches a
// double-precision reference except in the rarest ties.
float bn_ffdiv_u32(float hi, float lo, uint N) {
  if (N == 0u) return 0.0;
  if (hi == 0.0 && lo == 0.0) return 0.0;
  uint Mh;
  int eh;
  if (!bn_decompose(hi, Mh, eh) || N >= 0x80000000u) return (hi + lo) / float(N);
  // A = Mh · 2^40 + floor(lo · 2^(40 - eh)), a 64-bit integer; `frac` = a fraction was cut.
  uint ah = Mh << 8;
  uint al = 0u;
  bool frac = false;
  uint lb = floatBitsToUint(lo);
  if ((lb & 0x7FFFFFFFu) != 0u) {
    uint lE = (lb >> 23) & 0xFFu;
    if (lE == 255u) return (hi + lo) / float(N);
    uint Ml = lE == 0u ? (lb & 0x7FFFFFu) : ((lb & 0x7FFFFFu) | 0x800000u);
    int el = lE == 0u ? -149 : int(lE) - 150;
    int sh = el + 40 - eh;  // <= 16 since |lo| <= ulp(hi)/2
    if (sh > 16) return (hi + lo) / float(N);
    uint lh = 0u;
    uint ll = 0u;
    if (sh >= 0) {
      ll = Ml << uint(sh);
      lh = sh == 0 ? 0u : (Ml >> uint(32 - sh));
    } else if (sh > -32) {
      ll = Ml >> uint(-sh);
      frac = (Ml & ((1u << uint(-sh)) - 1u)) != 0u;
    } else {
      frac = true;
    }
    if ((lb >> 31) != 0u) {
      // floor of a negative value: subtract the magnitude, one more if a fraction was cut.
      if (frac) {
        ll += 1u;
        if (ll == 0u) lh += 1u;
      }
      uint borrow = al < ll ? 1u : 0u;
      al -= ll;
      ah = ah - lh - borrow;
    } else {
      uint nl = al + ll;
      uint carry = nl < al ? 1u : 0u;
      al = nl;
      ah = ah + lh + carry;
    }
  }
  // 64-bit by 32-bit long division: Q = floor(A / N) >= 2^32, rem = A mod N.
  uint qh = 0u;
  uint ql = 0u;
  uint rem = 0u;
  for (int i = 63; i >= 0; --i) {
    rem = (rem << 1) | bn_bit64(ah, al, i);
    qh = (qh << 1) | (ql >> 31);
    ql <<= 1;
    if (rem >= N) {
      rem -= N;
      ql |= 1u;
    }
  }
  uint r = bn_round_q64_bits(qh, ql, eh - 40, frac || rem != 0u);
  return r != 0xFFFFFFFFu ? uintBitsToFloat(r) : (hi + lo) / float(N);
}

// ---- float-float (double-f32) accumulation --------------------------------------------------
// Error-free transformations; `precise` (NoContraction) keeps drivers from re-associating or
// fusing them away. Only used by the absmean reduction of quantize_ternary.

// Non-finite values: once hi is +inf or NaN, lo is 0 and hi stays what IEEE addition makes
// of it (+inf, or NaN when a NaN was added), so the mean is +inf / NaN like a plain sum's.

// (hi, lo) += x for x >= 0 (TwoSum; no ordering precondition).
void bn_ff_add1(inout float hi, inout float lo, float x) {
  precise float s = hi + x;
  precise float bp = s - hi;
  precise float e = (hi - (s - bp)) + (x - bp);
  precise float l = lo + e;
  bool finite = !isinf(s) && !isnan(s);
  hi = s;
  lo = finite ? l : 0.0;
}

// Normalised sum of two non-negative float-float values.
vec2 bn_ff_add(vec2 a, vec2 b) {
  precise float s = a.x + b.x;
  precise float bp = s - a.x;
  precise float e = (a.x - (s - bp)) + (b.x - bp);
  precise float t = e + (a.y + b.y);
  precise float hi = s + t;
  precise float lo = t - (hi - s);
  if (isinf(s) || isnan(s)) return vec2(s, 0.0);
  return vec2(hi, lo);
}

// ---- ternary code helpers -------------------------------------------------------------------
// A packed word holds 16 weights: byte b at bits 8b+2p..8b+2p+1 for plane p. Codes are
// 0 → -1, 1 → 0, 2 → +1.

// The four codes of plane p as unsigned bytes 0..2.
uint bn_codes(uint w, uint p) {
  return (w >> (2u * p)) & 0x03030303u;
}

// Unsigned code bytes 0/1/2 → signed bytes -1/0/+1 (0xFF/0x00/0x01): no carries cross bytes.
uint bn_codes_signed(uint c) {
  return (c + 0x7F7F7F7Fu) ^ 0x80808080u;
}
