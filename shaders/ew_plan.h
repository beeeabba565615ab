/*
 * ew_plan.h — geometry and polynomial coefficients of the elementwise tensor ops (BN_OP_BINARY,
 * BN_OP_UNARY), shared by the shaders (shaders/ew_*.comp through ew_common.glsl), the GPU
 * plan (objc/core/gpu_plan_elementwise.c) and the CPU kernels
 * (objc/cpu/tensor_elementwise.c), so the grid a plan dispatches, the work a workgroup does
 * and the math of every backend come from one place. Plain #defines only (GLSL and C).
 * After a change: deno run -A tools/shaders.ts, then deno run -A build.ts --force (build.ts
 * does not hash this file).
 *
 * Elementwise kernels (ew_binary_*, ew_unary_*): a workgroup of BN_EW_WG invocations writes
 * BN_EW_CHUNK consecutive 32-bit output words, each invocation BN_EW_PER_THREAD of them,
 * BN_EW_WG apart (coalesced). A word is one f32 element or two f16 elements (so no two
 * invocations ever write the same word). Grid: ceil(words / BN_EW_CHUNK) groups, folded as
 * bn_plan.h describes (up to 2^32 - 1 elements).
 *
 * Tiled transpose (ew_transpose_*): COPY whose two innermost output dims (R, C) read the
 * source with strides (1, S): a BN_EW_TILE x BN_EW_TILE tile per workgroup of
 * BN_EW_TILE x BN_EW_TILE_ROWS invocations, through shared memory padded to BN_EW_TILE + 1
 * columns (no bank conflicts); grid (ceil(C / tile), ceil(R / tile), batch).
 */
#ifndef BN_EW_PLAN_H
#define BN_EW_PLAN_H

#define BN_EW_WG 256
#define BN_EW_PER_THREAD 4
#define BN_EW_CHUNK 1024 /* BN_EW_WG * BN_EW_PER_THREAD */

#define BN_EW_TILE 32
#define BN_EW_TILE_ROWS 8

/* BN_MAX_RANK and the op ids as the shaders see them (= BN_BINARY_* / BN_UNARY_* of
 * bitnet_metal.h; gpu_plan_elementwise.c static-asserts that they agree). */
#define BN_EW_MAX_RANK 6
#define BN_EW_ADD 0
#define BN_EW_SUB 1
#define BN_EW_MUL 2
#define BN_EW_DIV 3
#define BN_EW_MAX 4
#define BN_EW_MIN 5
#define BN_EW_POW 6
#define BN_EW_COPY 0
#define BN_EW_NEG 1
#define BN_EW_ABS 2
#define BN_EW_EXP 3
#define BN_EW_LOG 4
#define BN_EW_SQRT 5
#define BN_EW_RSQRT 6
#define BN_EW_TANH 7
#define BN_EW_SIGMOID 8
#define BN_EW_RELU 9
#define BN_EW_RELU2 10
#define BN_EW_SILU 11
#define BN_EW_GELU 12

/* erf(x) for f32, |error| < 1e-7 (measured 8.8e-8 over every f32 in [0, 4.5] against a
 * 30-digit reference), the same sequence of correctly rounded f32 adds and multiplies on
 * every backend (no contraction: -ffp-contract=off in C, `precise` in GLSL), so GELU is
 * bit-identical across backends. Minimax polynomials (fitted for this project), a = |x|:
 *   a < 1:     erf = a + a·PA(a²)                   (PA ≈ erf(a)/a − 1)
 *   a < 2.25:  erf = 1 − PB(a − 1.625)              (PB ≈ erfc)
 *   a < 3.9:   erf = 1 − PC(a − 3.075)              (PC ≈ erfc)
 *   else       erf = 1                              (erfc(3.9) = 3.5e-8 < ulp(1)/2 ≈ 6e-8)
 * with the sign of x. Coefficients highest degree first (Horner). */
#define BN_ERF_A_N 7
#define BN_ERF_A 7.889115659054369e-05f, -0.0008020840468816459f, 0.005189535208046436f, \
  -0.026854444295167923f, 0.11283600330352783f, -0.3761262595653534f, 0.12837916612625122f
#define BN_ERF_B_N 10
#define BN_ERF_B_MID 1.625f
#define BN_ERF_B -0.001262033125385642f, 0.0008710593683645129f, 0.00612042099237442f, \
  -0.014509206637740135f, 0.0021470480132848024f, 0.0497315488755703f, \
  -0.11484157294034958f, 0.130766823887825f, -0.08047223836183548f, 0.021556271240115166f
#define BN_ERF_C_N 10
#define BN_ERF_C_MID 3.075f
#define BN_ERF_C -5.79023753743968e-06f, 0.00010377342550782487f, -0.00032582669518887997f, \
  0.0005654694978147745f, -0.0007232348434627056f, 0.0007170222816057503f, \
  -0.0005277341115288436f, 0.000271758675808087f, -8.827027340885252e-05f, \
  1.3690789273823611e-05f
#define BN_ERF_AB 1.0f
#define BN_ERF_BC 2.25f
#define BN_ERF_ONE 3.9f

/* tanh(x), a = |x|: a < 0.625: a + a·(s·PT(s)), s = a² (PT ≈ (tanh(a)/a − 1)/s, fitted);
 * else e = exp(−2a), (1 − e)/(1 + e) (no overflow for any a); sign of x. Relative error
 * 1.9e-7 with a correctly rounded exp and division; GPUs add their exp/div error. */
#define BN_TANH_SMALL 0.625f
#define BN_TANH_N 5
#define BN_TANH -0.006113183684647083f, 0.021010076627135277f, -0.053854070603847504f, \
  0.13332794606685638f, -0.333333283662796f

/* 1/√2 as f32 (GELU's erf argument is x · BN_SQRT1_2). */
#define BN_SQRT1_2 0.70710677f

#endif /* BN_EW_PLAN_H */
