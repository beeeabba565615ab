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

struct MatA
{
    float4 a4[1];
};

struct MatB
{
    float4 b4[1];
};

struct MatC
{
    float c[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(64u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

kernel void matmul_f32_gemv(constant MatmulF32Params& p [[buffer(8)]], const device MatA& _125 [[buffer(0)]], const device MatB& _143 [[buffer(1)]], device MatC& _333 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float red[256];
    uint groups = (p.n + 3u) / 4u;
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (g >= groups)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    spvUnsafeArray<uint, 4> rbase;
    for (uint r = 0u; r < 4u; r++)
    {
        rbase[r] = min(((g * 4u) + r), (p.n - 1u)) * p.k;
    }
    spvUnsafeArray<float, 4> acc;
    for (uint r_1 = 0u; r_1 < 4u; r_1++)
    {
        acc[r_1] = 0.0;
    }
    if ((p.k & 3u) == 0u)
    {
        uint k4 = p.k >> uint(2);
        for (uint i = tid; i < k4; i += 64u)
        {
            float4 av = _125.a4[i];
            for (uint r_2 = 0u; r_2 < 4u; r_2++)
            {
                float4 bv = _143.b4[(rbase[r_2] >> uint(2)) + i];
                acc[r_2] = fma(av.x, bv.x, acc[r_2]);
                acc[r_2] = fma(av.y, bv.y, acc[r_2]);
                acc[r_2] = fma(av.z, bv.z, acc[r_2]);
                acc[r_2] = fma(av.w, bv.w, acc[r_2]);
            }
        }
    }
    else
    {
        for (uint i_1 = tid; i_1 < p.k; i_1 += 64u)
        {
            float av_1 = ((device float*)&_125.a4[i_1 >> uint(2)])[i_1 & 3u];
            for (uint r_3 = 0u; r_3 < 4u; r_3++)
            {
                uint e = rbase[r_3] + i_1;
                acc[r_3] = fma(av_1, ((device float*)&_143.b4[e >> uint(2)])[e & 3u], acc[r_3]);
            }
        }
    }
    for (uint r_4 = 0u; r_4 < 4u; r_4++)
    {
        red[(r_4 * 64u) + tid] = acc[r_4];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 32u; s > 0u; s = s >> uint(1))
    {
        if (tid < s)
        {
            for (uint r_5 = 0u; r_5 < 4u; r_5++)
            {
                uint _298 = (r_5 * 64u) + tid;
                red[_298] += red[((r_5 * 64u) + tid) + s];
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid < 4u)
    {
        uint row = (g * 4u) + tid;
        if (row < p.n)
        {
            _333.c[row] = red[tid * 64u];
        }
    }
}

