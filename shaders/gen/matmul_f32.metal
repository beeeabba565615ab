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
    float a[1];
};

struct MatB
{
    float b[1];
};

struct MatC
{
    float c[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

kernel void matmul_f32(constant MatmulF32Params& p [[buffer(8)]], const device MatA& _118 [[buffer(0)]], const device MatB& _187 [[buffer(1)]], device MatC& _355 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float4 As[272];
    threadgroup float4 Bs[272];
    uint n0 = gl_WorkGroupID.x * 64u;
    uint m0 = gl_WorkGroupID.y * 64u;
    uint tid = gl_LocalInvocationID.x;
    uint tx = tid & 15u;
    uint ty = tid >> uint(4);
    spvUnsafeArray<float4, 4> acc;
    for (uint i = 0u; i < 4u; i++)
    {
        acc[i] = float4(0.0);
    }
    uint s_kk = tid & 15u;
    uint s_q = tid >> uint(4);
    for (uint k0 = 0u; k0 < p.k; k0 += 16u)
    {
        uint kcol = k0 + s_kk;
        float4 v = float4(0.0);
        for (uint i_1 = 0u; i_1 < 4u; i_1++)
        {
            uint r = (m0 + (4u * s_q)) + i_1;
            bool _104 = r < p.m;
            bool _111;
            if (_104)
            {
                _111 = kcol < p.k;
            }
            else
            {
                _111 = _104;
            }
            if (_111)
            {
                v[i_1] = _118.a[(r * p.k) + kcol];
            }
        }
        As[(s_kk * 17u) + s_q] = v;
        if (p.b_trans != 0u)
        {
            uint kcol_1 = k0 + s_kk;
            float4 v_1 = float4(0.0);
            for (uint i_2 = 0u; i_2 < 4u; i_2++)
            {
                uint r_1 = (n0 + (4u * s_q)) + i_2;
                bool _173 = r_1 < p.n;
                bool _180;
                if (_173)
                {
                    _180 = kcol_1 < p.k;
                }
                else
                {
                    _180 = _173;
                }
                if (_180)
                {
                    v_1[i_2] = _187.b[(r_1 * p.k) + kcol_1];
                }
            }
            Bs[(s_kk * 17u) + s_q] = v_1;
        }
        else
        {
            uint kk = s_q;
            uint krow = k0 + kk;
            float4 v_2 = float4(0.0);
            for (uint i_3 = 0u; i_3 < 4u; i_3++)
            {
                uint col = (n0 + (4u * s_kk)) + i_3;
                bool _232 = krow < p.k;
                bool _239;
                if (_232)
                {
                    _239 = col < p.n;
                }
                else
                {
                    _239 = _232;
                }
                if (_239)
                {
                    v_2[i_3] = _187.b[(krow * p.n) + col];
                }
            }
            Bs[(kk * 17u) + s_kk] = v_2;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint kk_1 = 0u; kk_1 < 16u; kk_1++)
        {
            float4 av = As[(kk_1 * 17u) + ty];
            float4 bv = Bs[(kk_1 * 17u) + tx];
            for (uint i_4 = 0u; i_4 < 4u; i_4++)
            {
                acc[i_4] = fma(float4(av[i_4]), bv, acc[i_4]);
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    for (uint i_5 = 0u; i_5 < 4u; i_5++)
    {
        uint r_2 = (m0 + (4u * ty)) + i_5;
        if (r_2 < p.m)
        {
            for (uint j = 0u; j < 4u; j++)
            {
                uint col_1 = (n0 + (4u * tx)) + j;
                if (col_1 < p.n)
                {
                    _355.c[(r_2 * p.n) + col_1] = acc[i_5][j];
                }
            }
        }
    }
}

