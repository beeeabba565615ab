#version 450
// BN_OP_BITLINEAR, m == 1, plain integer math; geometry BN_BLV_W128T32R4U2_*
// (bn_plan.h). See bitlinear_gemv_team.glsl.
#extension GL_GOOGLE_include_directive : require
#include "bn_plan.h"
#define GV_WG BN_BLV_W128T32R4U2_WG
#define GV_TEAM BN_BLV_W128T32R4U2_TEAM
#define GV_RT BN_BLV_W128T32R4U2_RT
#define GV_U BN_BLV_W128T32R4U2_U
#define BN_DOT4 0
#include "bitlinear_gemv_team.glsl"
