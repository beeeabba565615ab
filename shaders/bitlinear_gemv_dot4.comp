#version 450
// BN_OP_BITLINEAR, m == 1, packed int8 dot products (BN_CAP_INT_DOT). See bitlinear_gemv.glsl.
#extension GL_GOOGLE_include_directive : require
#define BN_M 1
#define BN_DOT4 1
#include "bitlinear_gemv.glsl"
