#pragma clang diagnostic ignored "-Wmissing-prototypes"
#pragma clang diagnostic ignored "-Wmissing-braces"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

template<typename T, size_t Num>
struct spvUnsafeArray
{
    T elements[Num ? Num : 1];
    
    thread T& operator [] (size_t pos) thread
    {
        return elements[pos];
    }
    constexpr const thread T& operator [] (size_t pos) const thread
    {
        return elements[pos];
    }
    
    device T& operator [] (size_t pos) device
    {
        return elements[pos];
    }
    constexpr const device T& operator [] (size_t pos) const device
    {
        return elements[pos];
    }
    
    constexpr const constant T& operator [] (size_t pos) const constant
    {
        return elements[pos];
    }
    
    threadgroup T& operator [] (size_t pos) threadgroup
    {
        return elements[pos];
    }
    constexpr const threadgroup T& operator [] (size_t pos) const threadgroup
    {
        return elements[pos];
    }
};

struct MatmulF32Params
{
    uint m;
    uint n;
    uint k;
    uint b_trans;
};

struct MatB
{
    float4 b4[1];
};

struct MatA
{
    float4 a4[1];
};

struct MatC
{
    float c[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(128u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

kernel void matmul_f32_gemv_t128r4u4(constant MatmulF32Params& p [[buffer(8)]], const device MatA& _210 [[buffer(0)]], const device MatB& _169 [[buffer(1)]], device MatC& _416 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float red[512];
    uint groups = (p.n + 3u) / 4u;
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (g >= groups)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    uint team = tid / 128u;
    uint lane = tid - (team * 128u);
    uint row0 = (g * 4u) + (team * 4u);
    spvUnsafeArray<uint, 4> rbase;
    for (uint r = 0u; r < 4u; r++)
    {
        rbase[r] = min((row0 + r), (p.n - 1u)) * p.k;
    }
    spvUnsafeArray<float, 4> acc;
    for (uint r_1 = 0u; r_1 < 4u; r_1++)
    {
        acc[r_1] = 0.0;
    }
    if ((p.k & 3u) == 0u)
    {
        uint k4 = p.k >> uint(2);
        spvUnsafeArray<float4, 16> bv;
        for (uint i0 = lane; i0 < k4; i0 += 512u)
        {
            for (uint j = 0u; j < 4u; j++)
            {
                uint i = min((i0 + (j * 128u)), (k4 - 1u));
                for (uint r_2 = 0u; r_2 < 4u; r_2++)
                {
                    bv[(j * 4u) + r_2] = _169.b4[(rbase[r_2] >> uint(2)) + i];
                }
            }
            for (uint j_1 = 0u; j_1 < 4u; j_1++)
            {
                uint i_1 = i0 + (j_1 * 128u);
                if (false || (i_1 < k4))
                {
                    float4 av = _210.a4[i_1];
                    for (uint r_3 = 0u; r_3 < 4u; r_3++)
                    {
                        float4 b = bv[(j_1 * 4u) + r_3];
                        acc[r_3] = fma(av.x, b.x, acc[r_3]);
                        acc[r_3] = fma(av.y, b.y, acc[r_3]);
                        acc[r_3] = fma(av.z, b.z, acc[r_3]);
                        acc[r_3] = fma(av.w, b.w, acc[r_3]);
                    }
                }
            }
        }
    }
    else
    {
        for (uint i_2 = lane; i_2 < p.k; i_2 += 128u)
        {
            float av_1 = ((device float*)&_210.a4[i_2 >> uint(2)])[i_2 & 3u];
            for (uint r_4 = 0u; r_4 < 4u; r_4++)
            {
                uint e = rbase[r_4] + i_2;
                acc[r_4] = fma(av_1, ((device float*)&_169.b4[e >> uint(2)])[e & 3u], acc[r_4]);
            }
        }
    }
    for (uint r_5 = 0u; r_5 < 4u; r_5++)
    {
        red[(((team * 4u) + r_5) * 128u) + lane] = acc[r_5];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 64u; s > 0u; s = s >> uint(1))
    {
        if (lane < s)
        {
            for (uint r_6 = 0u; r_6 < 4u; r_6++)
            {
                uint o = (((team * 4u) + r_6) * 128u) + lane;
                red[o] += red[o + s];
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid < 4u)
    {
        uint row = (g * 4u) + tid;
        if (row < p.n)
        {
            _416.c[row] = red[tid * 128u];
        }
    }
}

