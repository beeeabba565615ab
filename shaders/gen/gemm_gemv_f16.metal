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
    uint4 a4[1];
};

struct MatB
{
    uint4 b4[1];
};

struct MatC
{
    float c[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(64u, 1u, 1u);

static inline __attribute__((always_inline))
uint gemv_rows(constant MatmulParams& p)
{
    uint _101;
    if (p.m == 1u)
    {
        _101 = p.n;
    }
    else
    {
        _101 = p.m;
    }
    return _101;
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
    uint _65;
    if (p.batch > 1u)
    {
        _65 = z * p.a_batch_stride;
    }
    else
    {
        _65 = 0u;
    }
    return _65;
}

static inline __attribute__((always_inline))
uint gemm_b_base(thread const uint& z, constant MatmulParams& p)
{
    uint _80;
    if (p.batch > 1u)
    {
        _80 = z * p.b_batch_stride;
    }
    else
    {
        _80 = 0u;
    }
    return _80;
}

static inline __attribute__((always_inline))
float dotv(thread const uint4& x, thread const uint4& y, thread float& acc)
{
    for (uint j = 0u; j < 4u; j++)
    {
        float2 xv = float2(as_type<half2>(x[j]));
        float2 yv = float2(as_type<half2>(y[j]));
        acc = fma(xv.x, yv.x, acc);
        acc = fma(xv.y, yv.y, acc);
    }
    return acc;
}

static inline __attribute__((always_inline))
float gemm_half(thread const uint& word, thread const uint& e)
{
    float2 h = float2(as_type<half2>(word));
    float _121;
    if ((e & 1u) != 0u)
    {
        _121 = h.y;
    }
    else
    {
        _121 = h.x;
    }
    return _121;
}

kernel void gemm_gemv_f16(constant MatmulParams& p [[buffer(8)]], const device MatA& _324 [[buffer(0)]], const device MatB& _331 [[buffer(1)]], device MatC& _640 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
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
    uint _203;
    if (vA)
    {
        uint param = z;
        _203 = gemm_a_base(param, p);
    }
    else
    {
        uint param_1 = z;
        _203 = gemm_b_base(param_1, p);
    }
    uint vbase = _203;
    uint _216;
    if (vA)
    {
        uint param_2 = z;
        _216 = gemm_b_base(param_2, p);
    }
    else
    {
        uint param_3 = z;
        _216 = gemm_a_base(param_3, p);
    }
    uint mbase = _216;
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
    bool _276 = (p.k % 8u) == 0u;
    bool _282;
    if (_276)
    {
        _282 = (vbase % 8u) == 0u;
    }
    else
    {
        _282 = _276;
    }
    bool _288;
    if (_282)
    {
        _288 = (mbase % 8u) == 0u;
    }
    else
    {
        _288 = _282;
    }
    bool aligned = _288;
    if (vA)
    {
        if (aligned)
        {
            uint kv = p.k / 8u;
            uint v0 = vbase / 8u;
            for (uint i = tid; i < kv; i += 64u)
            {
                for (uint r_2 = 0u; r_2 < 4u; r_2++)
                {
                    uint4 param_4 = _324.a4[v0 + i];
                    uint4 param_5 = _331.b4[(rbase[r_2] / 8u) + i];
                    float param_6 = acc[r_2];
                    float _349 = dotv(param_4, param_5, param_6);
                    acc[r_2] = _349;
                }
            }
        }
        else
        {
            for (uint i_1 = tid; i_1 < p.k; i_1 += 64u)
            {
                uint param_7 = ((device uint*)&_324.a4[(vbase + i_1) >> uint(3)])[((vbase + i_1) >> uint(1)) & 3u];
                uint param_8 = vbase + i_1;
                float xv = gemm_half(param_7, param_8);
                for (uint r_3 = 0u; r_3 < 4u; r_3++)
                {
                    uint param_9 = ((device uint*)&_331.b4[(rbase[r_3] + i_1) >> uint(3)])[((rbase[r_3] + i_1) >> uint(1)) & 3u];
                    uint param_10 = rbase[r_3] + i_1;
                    acc[r_3] = fma(xv, gemm_half(param_9, param_10), acc[r_3]);
                }
            }
        }
    }
    else
    {
        if (aligned)
        {
            uint kv_1 = p.k / 8u;
            uint v0_1 = vbase / 8u;
            for (uint i_2 = tid; i_2 < kv_1; i_2 += 64u)
            {
                for (uint r_4 = 0u; r_4 < 4u; r_4++)
                {
                    uint4 param_11 = _331.b4[v0_1 + i_2];
                    uint4 param_12 = _324.a4[(rbase[r_4] / 8u) + i_2];
                    float param_13 = acc[r_4];
                    float _478 = dotv(param_11, param_12, param_13);
                    acc[r_4] = _478;
                }
            }
        }
        else
        {
            for (uint i_3 = tid; i_3 < p.k; i_3 += 64u)
            {
                uint param_14 = ((device uint*)&_331.b4[(vbase + i_3) >> uint(3)])[((vbase + i_3) >> uint(1)) & 3u];
                uint param_15 = vbase + i_3;
                float xv_1 = gemm_half(param_14, param_15);
                for (uint r_5 = 0u; r_5 < 4u; r_5++)
                {
                    uint param_16 = ((device uint*)&_324.a4[(rbase[r_5] + i_3) >> uint(3)])[((rbase[r_5] + i_3) >> uint(1)) & 3u];
                    uint param_17 = rbase[r_5] + i_3;
                    acc[r_5] = fma(xv_1, gemm_half(param_16, param_17), acc[r_5]);
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
                uint _606 = (r_7 * 64u) + tid;
                red[_606] += red[((r_7 * 64u) + tid) + s];
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid < 4u)
    {
        uint row = (g * 4u) + tid;
        if (row < R)
        {
            _640.c[(z * R) + row] = red[tid * 64u];
        }
    }
}

