#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

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

template<typename T>
[[clang::optnone]] T spvFAdd(T l, T r)
{
    return fma(T(1), l, r);
}

template<typename T>
[[clang::optnone]] T spvFSub(T l, T r)
{
    return fma(T(-1), r, l);
}

struct BinaryParams
{
    uint op;
    uint dtype;
    uint rank;
    uint numel;
    uint shape[6];
    uint a_strides[6];
    uint b_strides[6];
    uint a_offset;
    uint b_offset;
    uint reserved0;
    uint reserved1;
};

struct InA
{
    uint a[1];
};

struct InB
{
    uint b[1];
};

struct Out
{
    uint o[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint ew_words(thread const uint& n, thread const bool& f16)
{
    uint _350;
    if (f16)
    {
        _350 = (n >> uint(1)) + (n & 1u);
    }
    else
    {
        _350 = n;
    }
    return _350;
}

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
uint ew_groups(thread const uint& words)
{
    return (words / 1024u) + uint((words % 1024u) != 0u);
}

static inline __attribute__((always_inline))
uint2 ew_steps(constant BinaryParams& pc)
{
    uint2 s = uint2(0u);
    for (int d = 0; d < 6; d++)
    {
        if (pc.shape[d] > 1u)
        {
            s |= uint2(pc.a_strides[d], pc.b_strides[d]);
        }
    }
    return uint2(uint(s.x != 0u), uint(s.y != 0u));
}

static inline __attribute__((always_inline))
bool ew_isnan(thread const float& x)
{
    return (as_type<uint>(x) & 2147483647u) > 2139095040u;
}

static inline __attribute__((always_inline))
float ew_nan()
{
    return as_type<float>(2143289344u);
}

static inline __attribute__((always_inline))
float ew_inf()
{
    return as_type<float>(2139095040u);
}

static inline __attribute__((always_inline))
float ew_copysign(thread const float& r, thread const float& s)
{
    return as_type<float>((as_type<uint>(r) & 2147483647u) | (as_type<uint>(s) & 2147483648u));
}

static inline __attribute__((always_inline))
float ew_pow(thread const float& x, thread const float& y)
{
    if ((y == 0.0) || (x == 1.0))
    {
        return 1.0;
    }
    float param = x;
    bool _109 = ew_isnan(param);
    bool _116;
    if (!_109)
    {
        float param_1 = y;
        _116 = ew_isnan(param_1);
    }
    else
    {
        _116 = _109;
    }
    if (_116)
    {
        return ew_nan();
    }
    float ax = abs(x);
    float ay = abs(y);
    bool yinf = ay == ew_inf();
    bool _133 = !yinf;
    bool _140;
    if (_133)
    {
        _140 = floor(y) == y;
    }
    else
    {
        _140 = _133;
    }
    bool yint = _140;
    bool _146 = yint && (ay < 16777216.0);
    bool _153;
    if (_146)
    {
        _153 = (uint(ay) & 1u) == 1u;
    }
    else
    {
        _153 = _146;
    }
    bool yodd = _153;
    if (yinf)
    {
        if (ax == 1.0)
        {
            return 1.0;
        }
        float _167;
        if ((ax > 1.0) == (y > 0.0))
        {
            _167 = ew_inf();
        }
        else
        {
            _167 = 0.0;
        }
        return _167;
    }
    if (ax == 0.0)
    {
        if (y < 0.0)
        {
            float _183;
            if (yodd)
            {
                float param_2 = ew_inf();
                float param_3 = x;
                _183 = ew_copysign(param_2, param_3);
            }
            else
            {
                _183 = ew_inf();
            }
            return _183;
        }
        return yodd ? x : 0.0;
    }
    if (ax == ew_inf())
    {
        float _207;
        if (y < 0.0)
        {
            _207 = 0.0;
        }
        else
        {
            _207 = ew_inf();
        }
        float r = _207;
        float _217;
        if ((x < 0.0) && yodd)
        {
            _217 = -r;
        }
        else
        {
            _217 = r;
        }
        return _217;
    }
    if ((x < 0.0) && (!yint))
    {
        return ew_nan();
    }
    float r_1 = pow(ax, y);
    float _243;
    if ((x < 0.0) && yodd)
    {
        _243 = -r_1;
    }
    else
    {
        _243 = r_1;
    }
    return _243;
}

static inline __attribute__((always_inline))
float ew_binary_math(thread const int& op, thread const float& a, thread const float& b)
{
    switch (op)
    {
        case 0:
        {
            float r = spvFAdd(a, b);
            return r;
        }
        case 1:
        {
            float r_1 = spvFSub(a, b);
            return r_1;
        }
        case 2:
        {
            float r_2 = spvFMul(a, b);
            return r_2;
        }
        case 3:
        {
            float r_3 = a / b;
            return r_3;
        }
        case 4:
        {
            float param = a;
            if (ew_isnan(param))
            {
                return a;
            }
            float param_1 = b;
            if (ew_isnan(param_1))
            {
                return b;
            }
            return (a > b) ? a : b;
        }
        case 5:
        {
            float param_2 = a;
            if (ew_isnan(param_2))
            {
                return a;
            }
            float param_3 = b;
            if (ew_isnan(param_3))
            {
                return b;
            }
            return (a < b) ? a : b;
        }
        case 6:
        {
            float param_4 = a;
            float param_5 = b;
            return ew_pow(param_4, param_5);
        }
        default:
        {
            return a;
        }
    }
}

kernel void ew_binary_f32(constant BinaryParams& pc [[buffer(8)]], const device InA& _484 [[buffer(0)]], const device InB& _495 [[buffer(1)]], device Out& _504 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    int op = int(pc.op);
    uint param = pc.numel;
    bool param_1 = false;
    uint words = ew_words(param, param_1);
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    uint param_2 = words;
    if (g >= ew_groups(param_2))
    {
        return;
    }
    uint w0 = (g * 1024u) + gl_LocalInvocationID.x;
    uint2 _step = ew_steps(pc);
    for (int k = 0; k < 4; k++)
    {
        uint w = w0 + uint(k * 256);
        if (w >= words)
        {
            break;
        }
        uint2 off = uint2(pc.a_offset, pc.b_offset) + (uint2(w) * _step);
        float x = as_type<float>(_484.a[off.x]);
        float y = as_type<float>(_495.b[off.y]);
        int param_3 = op;
        float param_4 = x;
        float param_5 = y;
        _504.o[w] = as_type<uint>(ew_binary_math(param_3, param_4, param_5));
    }
}

