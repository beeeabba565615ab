#version 450
// BN_OP_BITLINEAR, m == 1, plain integer math. See bitlinear_gemv.glsl.
#extension GL_GOOGLE_include_directive : require
#define BN_M 1
#define BN_DOT4 0
#include "bitlinear_gemv.glsl"
