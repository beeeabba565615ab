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

template<typename T>
[[clang::optnone]] T spvFMul(T l, T r)
{
    return fma(l, r, T(0));
}

template<typename T, int Cols, int Rows>
[[clang::optnone]] vec<T, Cols> spvFMulVectorMatrix(vec<T, Rows> v, matrix<T, Cols, Rows> m)
{
    vec<T, Cols> res = vec<T, Cols>(0);
    for (uint i = Rows; i > 0; --i)
    {
        vec<T, Cols> tmp(0);
        for (uint j = 0; j < Cols; ++j)
        {
            tmp[j] = m[j][i - 1];
        }
        res = fma(tmp, vec<T, Cols>(v[i - 1]), res);
    }
    return res;
}

template<typename T, int Cols, int Rows>
[[clang::optnone]] vec<T, Rows> spvFMulMatrixVector(matrix<T, Cols, Rows> m, vec<T, Cols> v)
{
    vec<T, Rows> res = vec<T, Rows>(0);
    for (uint i = Cols; i > 0; --i)
    {
        res = fma(m[i - 1], vec<T, Rows>(v[i - 1]), res);
    }
    return res;
}

template<typename T, int LCols, int LRows, int RCols, int RRows>
[[clang::optnone]] matrix<T, RCols, LRows> spvFMulMatrixMatrix(matrix<T, LCols, LRows> l, matrix<T, RCols, RRows> r)
{
    matrix<T, RCols, LRows> res;
    for (uint i = 0; i < RCols; i++)
    {
        vec<T, RCols> tmp(0);
        for (uint j = 0; j < LCols; j++)
        {
            tmp = fma(vec<T, RCols>(r[i][j]), l[j], tmp);
        }
        res[i] = tmp;
    }
    return res;
}

struct BitlinearParams
{
    uint m;
    uint n;
    uint k;
    uint mode;
};

struct PackedWeights
{
    uint4 pw[1];
};

struct ActQ
{
    uint4 xq[1];
};

struct Out
{
    uint y[1];
};

struct WeightScale
{
    float w_scale[1];
};

struct ActScale
{
    float x_scale[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(64u, 1u, 1u);

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

static inline __attribute__((always_inline))
int4 bn_unpack_s8(thread const uint& a)
{
    return int4(extract_bits(int(a), uint(0), uint(8)), extract_bits(int(a), uint(8), uint(8)), extract_bits(int(a), uint(16), uint(8)), int(a) >> 24);
}

kernel void bitlinear_gemv_m8(constant BitlinearParams& p [[buffer(8)]], const device PackedWeights& _205 [[buffer(0)]], const device WeightScale& _510 [[buffer(1)]], const device ActQ& _250 [[buffer(2)]], const device ActScale& _517 [[buffer(3)]], device Out& _497 [[buffer(4)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint gl_SubgroupID [[simdgroup_index_in_threadgroup]], uint gl_NumSubgroups [[simdgroups_per_threadgroup]])
{
    threadgroup int red[2048];
    uint param = p.k;
    uint kp = bn_kp(param);
    uint chunks = kp >> uint(6);
    uint xrow = kp >> uint(4);
    uint groups = (p.n + 3u) / 4u;
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (g >= groups)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    spvUnsafeArray<uint, 4> wbase;
    for (uint r = 0u; r < 4u; r++)
    {
        wbase[r] = min(((g * 4u) + r), (p.n - 1u)) * chunks;
    }
    spvUnsafeArray<spvUnsafeArray<int, 8>, 4> part;
    for (uint r_1 = 0u; r_1 < 4u; r_1++)
    {
        for (uint i = 0u; i < 8u; i++)
        {
            part[r_1][i] = 0;
        }
    }
    spvUnsafeArray<int, 8> xsum;
    for (uint i_1 = 0u; i_1 < 8u; i_1++)
    {
        xsum[i_1] = 0;
    }
    spvUnsafeArray<uint4, 4> w;
    for (uint c = tid; c < chunks; c += 64u)
    {
        uint xb = ((c >> uint(1)) << uint(3)) + (c & 1u);
        for (uint r_2 = 0u; r_2 < 4u; r_2++)
        {
            w[r_2] = _205.pw[wbase[r_2] + c];
        }
        for (uint i_2 = 0u; i_2 < 8u; i_2++)
        {
            if (i_2 < p.m)
            {
                uint xbase = (i_2 * xrow) + xb;
                for (uint pl = 0u; pl < 4u; pl++)
                {
                    uint4 xv = _250.xq[xbase + (2u * pl)];
                    for (uint q = 0u; q < 4u; q++)
                    {
                        uint param_1 = xv[q];
                        int4 xs = bn_unpack_s8(param_1);
                        xsum[i_2] += ((xs.x + xs.y) + (xs.z + xs.w));
                        for (uint r_3 = 0u; r_3 < 4u; r_3++)
                        {
                            uint ww = w[r_3][q] >> (2u * pl);
                            part[r_3][i_2] += ((((int(ww & 3u) * xs.x) + (int((ww >> uint(8)) & 3u) * xs.y)) + (int((ww >> uint(16)) & 3u) * xs.z)) + (int((ww >> uint(24)) & 3u) * xs.w));
                        }
                    }
                }
            }
        }
    }
    for (uint r_4 = 0u; r_4 < 4u; r_4++)
    {
        for (uint i_3 = 0u; i_3 < 8u; i_3++)
        {
            part[r_4][i_3] -= xsum[i_3];
        }
    }
    uint sg = gl_SubgroupID;
    for (uint r_5 = 0u; r_5 < 4u; r_5++)
    {
        for (uint i_4 = 0u; i_4 < 8u; i_4++)
        {
            int s = simd_sum(part[r_5][i_4]);
            bool _406 = simd_is_first();
            if (_406)
            {
                red[((sg * 32u) + (r_5 * 8u)) + i_4] = s;
            }
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (tid < 32u)
    {
        uint r_6 = tid / 8u;
        uint i_5 = tid - (r_6 * 8u);
        uint row = (g * 4u) + r_6;
        bool _449 = row < p.n;
        bool _456;
        if (_449)
        {
            _456 = i_5 < p.m;
        }
        else
        {
            _456 = _449;
        }
        if (_456)
        {
            int acc_total = 0;
            uint nsg = gl_NumSubgroups;
            for (uint s_1 = 0u; s_1 < nsg; s_1++)
            {
                acc_total += red[(s_1 * 32u) + tid];
            }
            uint o = (i_5 * p.n) + row;
            if (p.mode == 1u)
            {
                _497.y[o] = uint(acc_total);
            }
            else
            {
                float sc = spvFMul(_510.w_scale[0], _517.x_scale[i_5]);
                float v = spvFMul(float(acc_total), sc);
                _497.y[o] = as_type<uint>(v);
            }
        }
    }
}

