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
    uint a[1];
};

struct MatB
{
    uint b[1];
};

struct MatC
{
    float c[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint gemm_a_base(thread const uint& z, constant MatmulParams& p)
{
    uint _67;
    if (p.batch > 1u)
    {
        _67 = z * p.a_batch_stride;
    }
    else
    {
        _67 = 0u;
    }
    return _67;
}

static inline __attribute__((always_inline))
uint gemm_b_base(thread const uint& z, constant MatmulParams& p)
{
    uint _82;
    if (p.batch > 1u)
    {
        _82 = z * p.b_batch_stride;
    }
    else
    {
        _82 = 0u;
    }
    return _82;
}

static inline __attribute__((always_inline))
bool gemm_trans_a(constant MatmulParams& p)
{
    return (p.flags & 1u) != 0u;
}

static inline __attribute__((always_inline))
bool gemm_trans_b(constant MatmulParams& p)
{
    return (p.flags & 2u) != 0u;
}

static inline __attribute__((always_inline))
float4 ldA4(thread const uint& e, const device MatA& v_117)
{
    uint w = e >> uint(1);
    if ((e & 1u) == 0u)
    {
        return float4(float2(as_type<half2>(v_117.a[w])), float2(as_type<half2>(v_117.a[w + 1u])));
    }
    return float4(float2(as_type<half2>(v_117.a[w])).y, float2(as_type<half2>(v_117.a[w + 1u])), float2(as_type<half2>(v_117.a[w + 2u])).x);
}

static inline __attribute__((always_inline))
float gemm_half(thread const uint& word, thread const uint& e)
{
    float2 h = float2(as_type<half2>(word));
    float _103;
    if ((e & 1u) != 0u)
    {
        _103 = h.y;
    }
    else
    {
        _103 = h.x;
    }
    return _103;
}

static inline __attribute__((always_inline))
float ldA(thread const uint& e, const device MatA& v_117)
{
    uint param = v_117.a[e >> uint(1)];
    uint param_1 = e;
    return gemm_half(param, param_1);
}

static inline __attribute__((always_inline))
float4 ldB4(thread const uint& e, const device MatB& v_134)
{
    uint w = e >> uint(1);
    if ((e & 1u) == 0u)
    {
        return float4(float2(as_type<half2>(v_134.b[w])), float2(as_type<half2>(v_134.b[w + 1u])));
    }
    return float4(float2(as_type<half2>(v_134.b[w])).y, float2(as_type<half2>(v_134.b[w + 1u])), float2(as_type<half2>(v_134.b[w + 2u])).x);
}

static inline __attribute__((always_inline))
float ldB(thread const uint& e, const device MatB& v_134)
{
    uint param = v_134.b[e >> uint(1)];
    uint param_1 = e;
    return gemm_half(param, param_1);
}

kernel void gemm_f16(constant MatmulParams& p [[buffer(8)]], const device MatA& v_117 [[buffer(0)]], const device MatB& v_134 [[buffer(1)]], device MatC& _1218 [[buffer(2)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]])
{
    threadgroup float4 As[272];
    threadgroup float4 Bs[272];
    uint tid = gl_LocalInvocationID.x;
    uint tx = tid & 15u;
    uint ty = tid >> uint(4);
    uint tiles_m = (p.m + 63u) / 64u;
    uint fold = gl_WorkGroupID.y / tiles_m;
    uint tm = gl_WorkGroupID.y - (fold * tiles_m);
    uint zl = gl_WorkGroupID.z + (gl_NumWorkGroups.z * fold);
    uint z = zl;
    uint kb = 0u;
    uint ke = p.k;
    if (z >= p.batch)
    {
        return;
    }
    uint m0 = tm * 64u;
    uint n0 = gl_WorkGroupID.x * 64u;
    uint param = z;
    uint abase = gemm_a_base(param, p);
    uint param_1 = z;
    uint bbase = gemm_b_base(param_1, p);
    bool ta = gemm_trans_a(p);
    bool tb = gemm_trans_b(p);
    bool _315 = (m0 + 64u) <= p.m;
    bool _323;
    if (_315)
    {
        _323 = (n0 + 64u) <= p.n;
    }
    else
    {
        _323 = _315;
    }
    bool rows_full = _323;
    spvUnsafeArray<spvUnsafeArray<float4, 1>, 4> acc;
    for (uint i = 0u; i < 4u; i++)
    {
        for (uint j = 0u; j < 1u; j++)
        {
            acc[i][j] = float4(0.0);
        }
    }
    bool _364;
    if (rows_full)
    {
        _364 = (kb + 16u) <= ke;
    }
    else
    {
        _364 = rows_full;
    }
    bool full = _364;
    float4 va;
    uint sa;
    if (ta)
    {
        uint r4 = tid % 16u;
        uint kk = tid / 16u;
        uint kr = kb + kk;
        uint r = m0 + (4u * r4);
        if (full)
        {
            uint param_2 = (abase + (kr * p.m)) + r;
            va = ldA4(param_2, v_117);
        }
        else
        {
            va = float4(0.0);
            if (kr < ke)
            {
                for (uint i_1 = 0u; i_1 < 4u; i_1++)
                {
                    if ((r + i_1) < p.m)
                    {
                        uint param_3 = ((abase + (kr * p.m)) + r) + i_1;
                        va[i_1] = ldA(param_3, v_117);
                    }
                }
            }
        }
        sa = (kk * 17u) + r4;
    }
    else
    {
        uint kk_1 = tid % 16u;
        uint q = tid / 16u;
        uint kc = kb + kk_1;
        uint r_1 = m0 + (4u * q);
        va = float4(0.0);
        if (full)
        {
            for (uint i_2 = 0u; i_2 < 4u; i_2++)
            {
                uint param_4 = (abase + ((r_1 + i_2) * p.k)) + kc;
                va[i_2] = ldA(param_4, v_117);
            }
        }
        else
        {
            if (kc < ke)
            {
                for (uint i_3 = 0u; i_3 < 4u; i_3++)
                {
                    if ((r_1 + i_3) < p.m)
                    {
                        uint param_5 = (abase + ((r_1 + i_3) * p.k)) + kc;
                        va[i_3] = ldA(param_5, v_117);
                    }
                }
            }
        }
        sa = (kk_1 * 17u) + q;
    }
    float4 vb;
    uint sb;
    if (!tb)
    {
        uint r4_1 = tid % 16u;
        uint kk_2 = tid / 16u;
        uint kr_1 = kb + kk_2;
        uint r_2 = n0 + (4u * r4_1);
        if (full)
        {
            uint param_6 = (bbase + (kr_1 * p.n)) + r_2;
            vb = ldB4(param_6, v_134);
        }
        else
        {
            vb = float4(0.0);
            if (kr_1 < ke)
            {
                for (uint i_4 = 0u; i_4 < 4u; i_4++)
                {
                    if ((r_2 + i_4) < p.n)
                    {
                        uint param_7 = ((bbase + (kr_1 * p.n)) + r_2) + i_4;
                        vb[i_4] = ldB(param_7, v_134);
                    }
                }
            }
        }
        sb = (kk_2 * 17u) + r4_1;
    }
    else
    {
        uint kk_3 = tid % 16u;
        uint q_1 = tid / 16u;
        uint kc_1 = kb + kk_3;
        uint r_3 = n0 + (4u * q_1);
        vb = float4(0.0);
        if (full)
        {
            for (uint i_5 = 0u; i_5 < 4u; i_5++)
            {
                uint param_8 = (bbase + ((r_3 + i_5) * p.k)) + kc_1;
                vb[i_5] = ldB(param_8, v_134);
            }
        }
        else
        {
            if (kc_1 < ke)
            {
                for (uint i_6 = 0u; i_6 < 4u; i_6++)
                {
                    if ((r_3 + i_6) < p.n)
                    {
                        uint param_9 = (bbase + ((r_3 + i_6) * p.k)) + kc_1;
                        vb[i_6] = ldB(param_9, v_134);
                    }
                }
            }
        }
        sb = (kk_3 * 17u) + q_1;
    }
    spvUnsafeArray<float4, 1> av;
    spvUnsafeArray<float4, 1> bv;
    for (uint k0 = kb; k0 < ke; k0 += 16u)
    {
        threadgroup_barrier(mem_flags::mem_threadgroup);
        As[sa] = va;
        Bs[sb] = vb;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        uint kn = k0 + 16u;
        if (kn < ke)
        {
            bool _726;
            if (rows_full)
            {
                _726 = (kn + 16u) <= ke;
            }
            else
            {
                _726 = rows_full;
            }
            bool full_1 = _726;
            if (ta)
            {
                uint r4_2 = tid % 16u;
                uint kk_4 = tid / 16u;
                uint kr_2 = kn + kk_4;
                uint r_4 = m0 + (4u * r4_2);
                if (full_1)
                {
                    uint param_10 = (abase + (kr_2 * p.m)) + r_4;
                    va = ldA4(param_10, v_117);
                }
                else
                {
                    va = float4(0.0);
                    if (kr_2 < ke)
                    {
                        for (uint i_7 = 0u; i_7 < 4u; i_7++)
                        {
                            if ((r_4 + i_7) < p.m)
                            {
                                uint param_11 = ((abase + (kr_2 * p.m)) + r_4) + i_7;
                                va[i_7] = ldA(param_11, v_117);
                            }
                        }
                    }
                }
                sa = (kk_4 * 17u) + r4_2;
            }
            else
            {
                uint kk_5 = tid % 16u;
                uint q_2 = tid / 16u;
                uint kc_2 = kn + kk_5;
                uint r_5 = m0 + (4u * q_2);
                va = float4(0.0);
                if (full_1)
                {
                    for (uint i_8 = 0u; i_8 < 4u; i_8++)
                    {
                        uint param_12 = (abase + ((r_5 + i_8) * p.k)) + kc_2;
                        va[i_8] = ldA(param_12, v_117);
                    }
                }
                else
                {
                    if (kc_2 < ke)
                    {
                        for (uint i_9 = 0u; i_9 < 4u; i_9++)
                        {
                            if ((r_5 + i_9) < p.m)
                            {
                                uint param_13 = (abase + ((r_5 + i_9) * p.k)) + kc_2;
                                va[i_9] = ldA(param_13, v_117);
                            }
                        }
                    }
                }
                sa = (kk_5 * 17u) + q_2;
            }
            if (!tb)
            {
                uint r4_3 = tid % 16u;
                uint kk_6 = tid / 16u;
                uint kr_3 = kn + kk_6;
                uint r_6 = n0 + (4u * r4_3);
                if (full_1)
                {
                    uint param_14 = (bbase + (kr_3 * p.n)) + r_6;
                    vb = ldB4(param_14, v_134);
                }
                else
                {
                    vb = float4(0.0);
                    if (kr_3 < ke)
                    {
                        for (uint i_10 = 0u; i_10 < 4u; i_10++)
                        {
                            if ((r_6 + i_10) < p.n)
                            {
                                uint param_15 = ((bbase + (kr_3 * p.n)) + r_6) + i_10;
                                vb[i_10] = ldB(param_15, v_134);
                            }
                        }
                    }
                }
                sb = (kk_6 * 17u) + r4_3;
            }
            else
            {
                uint kk_7 = tid % 16u;
                uint q_3 = tid / 16u;
                uint kc_3 = kn + kk_7;
                uint r_7 = n0 + (4u * q_3);
                vb = float4(0.0);
                if (full_1)
                {
                    for (uint i_11 = 0u; i_11 < 4u; i_11++)
                    {
                        uint param_16 = (bbase + ((r_7 + i_11) * p.k)) + kc_3;
                        vb[i_11] = ldB(param_16, v_134);
                    }
                }
                else
                {
                    if (kc_3 < ke)
                    {
                        for (uint i_12 = 0u; i_12 < 4u; i_12++)
                        {
                            if ((r_7 + i_12) < p.n)
                            {
                                uint param_17 = (bbase + ((r_7 + i_12) * p.k)) + kc_3;
                                vb[i_12] = ldB(param_17, v_134);
                            }
                        }
                    }
                }
                sb = (kk_7 * 17u) + q_3;
            }
        }
        for (uint kk_8 = 0u; kk_8 < 16u; kk_8++)
        {
            for (uint r_8 = 0u; r_8 < 1u; r_8++)
            {
                av[r_8] = As[((kk_8 * 17u) + ty) + (16u * r_8)];
                bv[r_8] = Bs[((kk_8 * 17u) + tx) + (16u * r_8)];
            }
            for (uint ri = 0u; ri < 1u; ri++)
            {
                for (uint i_13 = 0u; i_13 < 4u; i_13++)
                {
                    for (uint rj = 0u; rj < 1u; rj++)
                    {
                        acc[(ri * 4u) + i_13][rj] = fma(float4(av[ri][i_13]), bv[rj], acc[(ri * 4u) + i_13][rj]);
                    }
                }
            }
        }
    }
    uint cbase = (z * p.m) * p.n;
    for (uint ri_1 = 0u; ri_1 < 1u; ri_1++)
    {
        for (uint i_14 = 0u; i_14 < 4u; i_14++)
        {
            uint row = ((m0 + (64u * ri_1)) + (4u * ty)) + i_14;
            if (row < p.m)
            {
                for (uint rj_1 = 0u; rj_1 < 1u; rj_1++)
                {
                    for (uint j_1 = 0u; j_1 < 4u; j_1++)
                    {
                        uint col = ((n0 + (64u * rj_1)) + (4u * tx)) + j_1;
                        if (col < p.n)
                        {
                            _1218.c[(cbase + (row * p.n)) + col] = acc[(ri_1 * 4u) + i_14][rj_1][j_1];
                        }
                    }
                }
            }
        }
    }
}

