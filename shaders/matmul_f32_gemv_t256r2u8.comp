#version 450
// BN_OP_MATMUL_F32, m == 1, b_trans == 1; geometry BN_MMV_T256R2U8_* (bn_plan.h).
// See matmul_f32_gemv_team.glsl.
#extension GL_GOOGLE_include_directive : require
#include "bn_plan.h"
#define GV_WG BN_MMV_T256R2U8_WG
#define GV_TEAM BN_MMV_T256R2U8_TEAM
#define GV_RT BN_MMV_T256R2U8_RT
#define GV_U BN_MMV_T256R2U8_U
#include "matmul_f32_gemv_team.glsl"
