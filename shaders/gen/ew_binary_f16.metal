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
    uint _554;
    if (f16)
    {
        _554 = (n >> uint(1)) + (n & 1u);
    }
    else
    {
        _554 = n;
    }
    return _554;
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
float ew_h2f(thread const uint& h)
{
    uint _sign = (h & 32768u) << uint(16);
    uint e = (h >> uint(10)) & 31u;
    uint m = h & 1023u;
    if (e == 0u)
    {
        return as_type<float>(as_type<uint>(float(m) * 5.9604644775390625e-08) | _sign);
    }
    if (e == 31u)
    {
        return as_type<float>((_sign | 2139095040u) | (m << uint(13)));
    }
    return as_type<float>((_sign | ((e + 112u) << uint(23))) | (m << uint(13)));
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
    bool _313 = ew_isnan(param);
    bool _320;
    if (!_313)
    {
        float param_1 = y;
        _320 = ew_isnan(param_1);
    }
    else
    {
        _320 = _313;
    }
    if (_320)
    {
        return ew_nan();
    }
    float ax = abs(x);
    float ay = abs(y);
    bool yinf = ay == ew_inf();
    bool _337 = !yinf;
    bool _344;
    if (_337)
    {
        _344 = floor(y) == y;
    }
    else
    {
        _344 = _337;
    }
    bool yint = _344;
    bool _350 = yint && (ay < 16777216.0);
    bool _357;
    if (_350)
    {
        _357 = (uint(ay) & 1u) == 1u;
    }
    else
    {
        _357 = _350;
    }
    bool yodd = _357;
    if (yinf)
    {
        if (ax == 1.0)
        {
            return 1.0;
        }
        float _371;
        if ((ax > 1.0) == (y > 0.0))
        {
            _371 = ew_inf();
        }
        else
        {
            _371 = 0.0;
        }
        return _371;
    }
    if (ax == 0.0)
    {
        if (y < 0.0)
        {
            float _387;
            if (yodd)
            {
                float param_2 = ew_inf();
                float param_3 = x;
                _387 = ew_copysign(param_2, param_3);
            }
            else
            {
                _387 = ew_inf();
            }
            return _387;
        }
        return yodd ? x : 0.0;
    }
    if (ax == ew_inf())
    {
        float _411;
        if (y < 0.0)
        {
            _411 = 0.0;
        }
        else
        {
            _411 = ew_inf();
        }
        float r = _411;
        float _421;
        if ((x < 0.0) && yodd)
        {
            _421 = -r;
        }
        else
        {
            _421 = r;
        }
        return _421;
    }
    if ((x < 0.0) && (!yint))
    {
        return ew_nan();
    }
    float r_1 = pow(ax, y);
    float _447;
    if ((x < 0.0) && yodd)
    {
        _447 = -r_1;
    }
    else
    {
        _447 = r_1;
    }
    return _447;
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

static inline __attribute__((always_inline))
uint ew_f2h(thread const float& f)
{
    uint x = as_type<uint>(f);
    uint _sign = (x >> uint(16)) & 32768u;
    uint ex = (x >> uint(23)) & 255u;
    uint mant = x & 8388607u;
    if (ex == 255u)
    {
        uint _184;
        if (mant != 0u)
        {
            _184 = 512u | (mant >> uint(13));
        }
        else
        {
            _184 = 0u;
        }
        return (_sign | 31744u) | _184;
    }
    int e = int(ex) - 112;
    if (e >= 31)
    {
        return _sign | 31744u;
    }
    if (e <= 0)
    {
        if (e < (-10))
        {
            return _sign;
        }
        mant |= 8388608u;
        uint shift = uint(14 - e);
        uint h = mant >> shift;
        uint rem = mant & ((1u << shift) - 1u);
        uint half_ = 1u << (shift - 1u);
        bool _244 = rem > half_;
        bool _257;
        if (!_244)
        {
            bool _250 = rem == half_;
            bool _256;
            if (_250)
            {
                _256 = (h & 1u) != 0u;
            }
            else
            {
                _256 = _250;
            }
            _257 = _256;
        }
        else
        {
            _257 = _244;
        }
        if (_257)
        {
            h++;
        }
        return _sign | h;
    }
    uint h_1 = (uint(e) << uint(10)) | (mant >> uint(13));
    uint rem_1 = mant & 8191u;
    bool _279 = rem_1 > 4096u;
    bool _291;
    if (!_279)
    {
        bool _284 = rem_1 == 4096u;
        bool _290;
        if (_284)
        {
            _290 = (h_1 & 1u) != 0u;
        }
        else
        {
            _290 = _284;
        }
        _291 = _290;
    }
    else
    {
        _291 = _279;
    }
    if (_291)
    {
        h_1++;
    }
    return _sign | h_1;
}

kernel void ew_binary_f16(constant BinaryParams& pc [[buffer(8)]], const device InA& _701 [[buffer(0)]], const device InB& _720 [[buffer(1)]], device Out& _780 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    int op = int(pc.op);
    uint param = pc.numel;
    bool param_1 = true;
    uint words = ew_words(param, param_1);
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    uint param_2 = words;
    if (g >= ew_groups(param_2))
    {
        return;
    }
    uint w0 = (g * 1024u) + gl_LocalInvocationID.x;
    uint2 _step = ew_steps(pc);
    uint hi;
    for (int k = 0; k < 4; k++)
    {
        uint w = w0 + uint(k * 256);
        if (w >= words)
        {
            break;
        }
        uint e0 = 2u * w;
        bool two = (e0 + 1u) < pc.numel;
        uint2 o0 = uint2(pc.a_offset, pc.b_offset) + (uint2(e0) * _step);
        uint2 o1 = o0 + _step;
        uint param_3 = (_701.a[o0.x >> uint(1)] >> ((o0.x & 1u) << uint(4))) & 65535u;
        uint param_4 = (_720.b[o0.y >> uint(1)] >> ((o0.y & 1u) << uint(4))) & 65535u;
        int param_5 = op;
        float param_6 = ew_h2f(param_3);
        float param_7 = ew_h2f(param_4);
        float r0 = ew_binary_math(param_5, param_6, param_7);
        if (two)
        {
            uint param_8 = (_701.a[o1.x >> uint(1)] >> ((o1.x & 1u) << uint(4))) & 65535u;
            uint param_9 = (_720.b[o1.y >> uint(1)] >> ((o1.y & 1u) << uint(4))) & 65535u;
            int param_10 = op;
            float param_11 = ew_h2f(param_8);
            float param_12 = ew_h2f(param_9);
            float param_13 = ew_binary_math(param_10, param_11, param_12);
            hi = ew_f2h(param_13);
        }
        else
        {
            hi = _780.o[w] >> uint(16);
        }
        float param_14 = r0;
        _780.o[w] = ew_f2h(param_14) | (hi << uint(16));
    }
}

