#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct MatmulF32Params
{
    uint m;
    uint n;
    uint k;
    uint b_trans;
};

struct Scratch
{
    float partial[1];
};

struct MatC
{
    float c[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

kernel void matmul_f32_gemv_kn_reduce(constant MatmulF32Params& p [[buffer(8)]], device MatC& _91 [[buffer(2)]], const device Scratch& _73 [[buffer(7)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    uint col = (bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups) * 256u) + gl_LocalInvocationID.x;
    if (col >= p.n)
    {
        return;
    }
    uint slices = (p.k + 255u) / 256u;
    float s = 0.0;
    for (uint i = 0u; i < slices; i++)
    {
        s += _73.partial[(i * p.n) + col];
    }
    _91.c[col] = s;
}

