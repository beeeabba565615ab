#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct DequantizeTernaryParams
{
    uint n;
    uint k;
    uint reserved0;
    uint reserved1;
};

struct Scale
{
    float scale[1];
};

struct Packed
{
    uint _packed[1];
};

struct Weights
{
    float4 w4[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_kp(thread const uint& k)
{
    return (k + 127u) & 4294967168u;
}

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

kernel void dequantize_ternary(constant DequantizeTernaryParams& p [[buffer(8)]], const device Packed& _114 [[buffer(0)]], const device Scale& _106 [[buffer(1)]], device Weights& _179 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    uint param = p.k;
    uint wpr = bn_kp(param) >> uint(4);
    uint total = p.n * wpr;
    uint idx = (bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups) * 256u) + gl_LocalInvocationID.x;
    if (idx >= total)
    {
        return;
    }
    uint row = idx / wpr;
    uint t = idx - (row * wpr);
    uint col0 = ((t >> uint(3)) * 128u) + ((t & 7u) * 4u);
    uint base = row * p.k;
    float s = _106.scale[0];
    uint word = _114._packed[idx];
    bool aligned = (p.k & 3u) == 0u;
    for (uint pl = 0u; pl < 4u; pl++)
    {
        uint col = col0 + (32u * pl);
        uint4 c = (uint4(word) >> (uint4(0u, 8u, 16u, 24u) + uint4(2u * pl))) & uint4(3u);
        float4 v = (float4(c) - float4(1.0)) * s;
        if (aligned)
        {
            if (col < p.k)
            {
                _179.w4[(base + col) >> uint(2)] = v;
            }
        }
        else
        {
            for (uint i = 0u; i < 4u; i++)
            {
                uint e = (base + col) + i;
                if ((col + i) < p.k)
                {
                    ((device float*)&_179.w4[e >> uint(2)])[e & 3u] = v[i];
                }
            }
        }
    }
}

