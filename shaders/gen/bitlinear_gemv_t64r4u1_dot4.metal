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

kernel void bitlinear_gemv_t64r4u1_dot4(constant BitlinearParams& p [[buffer(8)]], const device PackedWeights& _177 [[buffer(0)]], const device WeightScale& _488 [[buffer(1)]], const device ActQ& _246 [[buffer(2)]], const device ActScale& _495 [[buffer(3)]], device Out& _475 [[buffer(4)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint gl_SubgroupID [[simdgroup_index_in_threadgroup]], uint gl_NumSubgroups [[simdgroups_per_threadgroup]])
{
    threadgroup int red[256];
    uint param = p.k;
    uint kp = bn_kp(param);
    uint chunks = kp >> uint(6);
    uint groups = (p.n + 3u) / 4u;
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (g >= groups)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    uint team = tid / 64u;
    uint lane = tid - (team * 64u);
    uint row0 = (g * 4u) + (team * 4u);
    spvUnsafeArray<uint, 4> wbase;
    for (uint r = 0u; r < 4u; r++)
    {
        wbase[r] = min((row0 + r), (p.n - 1u)) * chunks;
    }
    spvUnsafeArray<int, 4> part;
    for (uint r_1 = 0u; r_1 < 4u; r_1++)
    {
        part[r_1] = 0;
    }
    int xsum = 0;
    spvUnsafeArray<uint4, 4> w;
    spvUnsafeArray<uint, 4> a;
    for (uint c0 = lane; c0 < chunks; c0 += 64u)
    {
        for (uint j = 0u; j < 1u; j++)
        {
            uint c = min((c0 + (j * 64u)), (chunks - 1u));
            for (uint r_2 = 0u; r_2 < 4u; r_2++)
            {
                w[(j * 4u) + r_2] = _177.pw[wbase[r_2] + c];
            }
        }
        for (uint j_1 = 0u; j_1 < 1u; j_1++)
        {
            uint c_1 = c0 + (j_1 * 64u);
            if (true || (c_1 < chunks))
            {
                uint xb = ((c_1 >> uint(1)) << uint(3)) + (c_1 & 1u);
                for (uint r_3 = 0u; r_3 < 4u; r_3++)
                {
                    a[r_3] = 0u;
                }
                uint s = 0u;
                for (uint pl = 0u; pl < 4u; pl++)
                {
                    uint4 xv = _246.xq[xb + (2u * pl)];
                    for (uint q = 0u; q < 4u; q++)
                    {
                        uint X = xv[q];
                        uint v02 = uint(int(X << uint(24)) >> 8) + uint(int(X << uint(8)) >> 24);
                        uint v13 = (uint(int(X << uint(16)) >> 24) << uint(16)) + uint(int(X) >> 24);
                        s += (v02 + v13);
                        for (uint r_4 = 0u; r_4 < 4u; r_4++)
                        {
                            uint ww = w[(j_1 * 4u) + r_4][q] >> (2u * pl);
                            a[r_4] += (((ww & 196611u) * v02) + (((ww >> uint(8)) & 196611u) * v13));
                        }
                    }
                }
                for (uint r_5 = 0u; r_5 < 4u; r_5++)
                {
                    part[r_5] += (int(a[r_5] + 32768u) >> 16);
                }
                xsum += ((int(s + 32768u) >> 16) + (int(s << uint(16)) >> 16));
            }
        }
    }
    for (uint r_6 = 0u; r_6 < 4u; r_6++)
    {
        part[r_6] -= xsum;
    }
    int total = 0;
    uint sg = gl_SubgroupID;
    for (uint r_7 = 0u; r_7 < 4u; r_7++)
    {
        int s_1 = simd_sum(part[r_7]);
        bool _409 = simd_is_first();
        if (_409)
        {
            red[(sg * 4u) + r_7] = s_1;
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (tid < 4u)
    {
        uint nsg = gl_NumSubgroups;
        for (uint s_2 = 0u; s_2 < nsg; s_2++)
        {
            total += red[(s_2 * 4u) + tid];
        }
    }
    if (tid < 4u)
    {
        uint row = (g * 4u) + tid;
        if (row < p.n)
        {
            if (p.mode == 1u)
            {
                _475.y[row] = uint(total);
            }
            else
            {
                float sc = spvFMul(_488.w_scale[0], _495.x_scale[0]);
                float v = spvFMul(float(total), sc);
                _475.y[row] = as_type<uint>(v);
            }
        }
    }
}

