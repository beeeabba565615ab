#version 450
// BN_OP_BITLINEAR, 2 <= m <= 8, packed int8 dot products (BN_CAP_INT_DOT). See bitlinear_gemv.glsl.
#extension GL_GOOGLE_include_directive : require
#define BN_M BN_BL_GEMV_MAX_M
#define BN_DOT4 1
#include "bitlinear_gemv.glsl"
