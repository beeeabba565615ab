#version 450
// BN_OP_BITLINEAR, 2 <= m <= 8, plain integer math. See bitlinear_gemv.glsl.
#extension GL_GOOGLE_include_directive : require
#define BN_M BN_BL_GEMV_MAX_M
#define BN_DOT4 0
#include "bitlinear_gemv.glsl"
