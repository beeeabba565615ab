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

struct MatmulParams
{
    uint m;
    uint n;
    uint k;
    uint batch;
    uint flags;
    uint a_batch_stride;
    uint b_batch_stride;
    uint reserved0;
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
uint gemv_rows(constant MatmulParams& p)
{
    uint _96;
    if (p.m == 1u)
    {
        _96 = p.n;
    }
    else
    {
        _96 = p.m;
    }
    return _96;
}

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
bool gemv_v_is_a(constant MatmulParams& p)
{
    return p.m == 1u;
}

static inline __attribute__((always_inline))
uint gemm_a_base(thread const uint& z, constant MatmulParams& p)
{
    uint _60;
    if (p.batch > 1u)
    {
        _60 = z * p.a_batch_stride;
    }
    else
    {
        _60 = 0u;
    }
    return _60;
}

static inline __attribute__((always_inline))
uint gemm_b_base(thread const uint& z, constant MatmulParams& p)
{
    uint _75;
    if (p.batch > 1u)
    {
        _75 = z * p.b_batch_stride;
    }
    else
    {
        _75 = 0u;
    }
    return _75;
}

static inline __attribute__((always_inline))
float dotv(thread const float4& x, thread const float4& y, thread float& acc)
{
    acc = fma(x.x, y.x, acc);
    acc = fma(x.y, y.y, acc);
    acc = fma(x.z, y.z, acc);
    acc = fma(x.w, y.w, acc);
    return acc;
}

kernel void gemm_gemv_f32(constant MatmulParams& p [[buffer(8)]], const device MatA& _292 [[buffer(0)]], const device MatB& _299 [[buffer(1)]], device MatC& _575 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float red[256];
    uint R = gemv_rows(p);
    uint groups = (R + 3u) / 4u;
    uint L = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    uint z = L / groups;
    uint g = L - (z * groups);
    if (z >= p.batch)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    bool vA = gemv_v_is_a(p);
    uint _172;
    if (vA)
    {
        uint param = z;
        _172 = gemm_a_base(param, p);
    }
    else
    {
        uint param_1 = z;
        _172 = gemm_b_base(param_1, p);
    }
    uint vbase = _172;
    uint _185;
    if (vA)
    {
        uint param_2 = z;
        _185 = gemm_b_base(param_2, p);
    }
    else
    {
        uint param_3 = z;
        _185 = gemm_a_base(param_3, p);
    }
    uint mbase = _185;
    spvUnsafeArray<uint, 4> rbase;
    for (uint r = 0u; r < 4u; r++)
    {
        rbase[r] = mbase + (min(((g * 4u) + r), (R - 1u)) * p.k);
    }
    spvUnsafeArray<float, 4> acc;
    for (uint r_1 = 0u; r_1 < 4u; r_1++)
    {
        acc[r_1] = 0.0;
    }
    bool _244 = (p.k % 4u) == 0u;
    bool _250;
    if (_244)
    {
        _250 = (vbase % 4u) == 0u;
    }
    else
    {
        _250 = _244;
    }
    bool _256;
    if (_250)
    {
        _256 = (mbase % 4u) == 0u;
    }
    else
    {
        _256 = _250;
    }
    bool aligned = _256;
    if (vA)
    {
        if (aligned)
        {
            uint kv = p.k / 4u;
            uint v0 = vbase / 4u;
            for (uint i = tid; i < kv; i += 64u)
            {
                for (uint r_2 = 0u; r_2 < 4u; r_2++)
                {
                    float4 param_4 = _292.a4[v0 + i];
                    float4 param_5 = _299.b4[(rbase[r_2] / 4u) + i];
                    float param_6 = acc[r_2];
                    float _317 = dotv(param_4, param_5, param_6);
                    acc[r_2] = _317;
                }
            }
        }
        else
        {
            for (uint i_1 = tid; i_1 < p.k; i_1 += 64u)
            {
                float xv = ((device float*)&_292.a4[(vbase + i_1) >> uint(2)])[(vbase + i_1) & 3u];
                for (uint r_3 = 0u; r_3 < 4u; r_3++)
                {
                    acc[r_3] = fma(xv, ((device float*)&_299.b4[(rbase[r_3] + i_1) >> uint(2)])[(rbase[r_3] + i_1) & 3u], acc[r_3]);
                }
            }
        }
    }
    else
    {
        if (aligned)
        {
            uint kv_1 = p.k / 4u;
            uint v0_1 = vbase / 4u;
            for (uint i_2 = tid; i_2 < kv_1; i_2 += 64u)
            {
                for (uint r_4 = 0u; r_4 < 4u; r_4++)
                {
                    float4 param_7 = _299.b4[v0_1 + i_2];
                    float4 param_8 = _292.a4[(rbase[r_4] / 4u) + i_2];
                    float param_9 = acc[r_4];
                    float _430 = dotv(param_7, param_8, param_9);
                    acc[r_4] = _430;
                }
            }
        }
        else
        {
            for (uint i_3 = tid; i_3 < p.k; i_3 += 64u)
            {
                float xv_1 = ((device float*)&_299.b4[(vbase + i_3) >> uint(2)])[(vbase + i_3) & 3u];
                for (uint r_5 = 0u; r_5 < 4u; r_5++)
                {
                    acc[r_5] = fma(xv_1, ((device float*)&_292.a4[(rbase[r_5] + i_3) >> uint(2)])[(rbase[r_5] + i_3) & 3u], acc[r_5]);
                }
            }
        }
    }
    for (uint r_6 = 0u; r_6 < 4u; r_6++)
    {
        red[(r_6 * 64u) + tid] = acc[r_6];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 32u; s > 0u; s = s >> uint(1))
    {
        if (tid < s)
        {
            for (uint r_7 = 0u; r_7 < 4u; r_7++)
            {
                uint _541 = (r_7 * 64u) + tid;
                red[_541] += red[((r_7 * 64u) + tid) + s];
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid < 4u)
    {
        uint row = (g * 4u) + tid;
        if (row < R)
        {
            _575.c[(z * R) + row] = red[tid * 64u];
        }
    }
}

