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

struct ActQ
{
    uint4 xq[1];
};

struct PackedWeights
{
    uint4 pw[1];
};

struct WeightScale
{
    float w_scale[1];
};

struct ActScale
{
    float x_scale[1];
};

struct Out
{
    uint y[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_kp(thread const uint& k)
{
    return (k + 127u) & 4294967168u;
}

static inline __attribute__((always_inline))
int4 bn_unpack_s8(thread const uint& a)
{
    return int4(extract_bits(int(a), uint(0), uint(8)), extract_bits(int(a), uint(8), uint(8)), extract_bits(int(a), uint(16), uint(8)), int(a) >> 24);
}

kernel void bitlinear_gemm_dot4(constant BitlinearParams& p [[buffer(8)]], const device PackedWeights& _226 [[buffer(0)]], const device WeightScale& _449 [[buffer(1)]], const device ActQ& _180 [[buffer(2)]], const device ActScale& _478 [[buffer(3)]], device Out& _518 [[buffer(4)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup uint4 xs_s[576];
    threadgroup uint4 ws_s[576];
    uint param = p.k;
    uint kp = bn_kp(param);
    uint chunks = kp >> uint(6);
    uint xrow = kp >> uint(4);
    uint nblocks = kp >> uint(7);
    uint n0 = gl_WorkGroupID.x * 64u;
    uint m0 = gl_WorkGroupID.y * 64u;
    uint tid = gl_LocalInvocationID.x;
    uint tx = tid & 15u;
    uint ty = tid >> uint(4);
    spvUnsafeArray<spvUnsafeArray<int, 4>, 4> acc;
    for (uint a = 0u; a < 4u; a++)
    {
        for (uint b = 0u; b < 4u; b++)
        {
            acc[a][b] = 0;
        }
    }
    uint4 _174;
    uint4 _220;
    spvUnsafeArray<uint4, 4> xa;
    spvUnsafeArray<uint4, 4> wb;
    spvUnsafeArray<int4, 4> xv;
    spvUnsafeArray<int4, 4> wv;
    for (uint blk = 0u; blk < nblocks; blk++)
    {
        for (uint j = 0u; j < 2u; j++)
        {
            uint idx = tid + (j * 256u);
            uint row = idx >> uint(3);
            uint col = idx & 7u;
            uint gm = m0 + row;
            if (gm < p.m)
            {
                _174 = _180.xq[((gm * xrow) + (blk * 8u)) + col];
            }
            else
            {
                _174 = uint4(0u);
            }
            xs_s[(row * 9u) + col] = _174;
        }
        if (tid < 128u)
        {
            uint row_1 = tid >> uint(1);
            uint h = tid & 1u;
            uint gn = n0 + row_1;
            if (gn < p.n)
            {
                _220 = _226.pw[((gn * chunks) + (blk * 2u)) + h];
            }
            else
            {
                _220 = uint4(1431655765u);
            }
            uint4 w = _220;
            for (uint pl = 0u; pl < 4u; pl++)
            {
                ws_s[((row_1 * 9u) + (2u * pl)) + h] = (((w >> uint4(2u * pl)) & uint4(50529027u)) + uint4(2139062143u)) ^ uint4(2155905152u);
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint kq = 0u; kq < 8u; kq++)
        {
            for (uint a_1 = 0u; a_1 < 4u; a_1++)
            {
                xa[a_1] = xs_s[((ty + (16u * a_1)) * 9u) + kq];
            }
            for (uint b_1 = 0u; b_1 < 4u; b_1++)
            {
                wb[b_1] = ws_s[((tx + (16u * b_1)) * 9u) + kq];
            }
            for (uint q = 0u; q < 4u; q++)
            {
                for (uint a_2 = 0u; a_2 < 4u; a_2++)
                {
                    uint param_1 = xa[a_2][q];
                    xv[a_2] = bn_unpack_s8(param_1);
                }
                for (uint b_2 = 0u; b_2 < 4u; b_2++)
                {
                    uint param_2 = wb[b_2][q];
                    wv[b_2] = bn_unpack_s8(param_2);
                }
                for (uint a_3 = 0u; a_3 < 4u; a_3++)
                {
                    for (uint b_3 = 0u; b_3 < 4u; b_3++)
                    {
                        acc[a_3][b_3] += ((((xv[a_3].x * wv[b_3].x) + (xv[a_3].y * wv[b_3].y)) + (xv[a_3].z * wv[b_3].z)) + (xv[a_3].w * wv[b_3].w));
                    }
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    float ws = _449.w_scale[0];
    for (uint a_4 = 0u; a_4 < 4u; a_4++)
    {
        uint row_2 = (m0 + ty) + (16u * a_4);
        if (row_2 < p.m)
        {
            float xsc = _478.x_scale[row_2];
            for (uint b_4 = 0u; b_4 < 4u; b_4++)
            {
                uint col_1 = (n0 + tx) + (16u * b_4);
                if (col_1 < p.n)
                {
                    uint o = (row_2 * p.n) + col_1;
                    if (p.mode == 1u)
                    {
                        _518.y[o] = uint(acc[a_4][b_4]);
                    }
                    else
                    {
                        float sc = spvFMul(ws, xsc);
                        float v = spvFMul(float(acc[a_4][b_4]), sc);
                        _518.y[o] = as_type<uint>(v);
                    }
                }
            }
        }
    }
}

