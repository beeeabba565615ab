#version 450
// BN_OP_BITLINEAR, m == 1, packed int8 dot products (BN_CAP_INT_DOT); geometry BN_BLV_W256T64R4U4_*
// (bn_plan.h). See bitlinear_gemv_team.glsl.
#extension GL_GOOGLE_include_directive : require
#include "bn_plan.h"
#define GV_WG BN_BLV_W256T64R4U4_WG
#define GV_TEAM BN_BLV_W256T64R4U4_TEAM
#define GV_RT BN_BLV_W256T64R4U4_RT
#define GV_U BN_BLV_W256T64R4U4_U
#define BN_DOT4 1
#include "bitlinear_gemv_team.glsl"
