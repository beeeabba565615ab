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
    uint _555;
    if (f16)
    {
        _555 = (n >> uint(1)) + (n & 1u);
    }
    else
    {
        _555 = n;
    }
    return _555;
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
uint2 ew_offsets(thread const uint& e, constant BinaryParams& pc)
{
    uint2 off = uint2(pc.a_offset, pc.b_offset);
    uint rem = e;
    for (int d = 5; d >= 0; d--)
    {
        if (uint(d) < pc.rank)
        {
            uint n = pc.shape[d];
            uint q = rem / n;
            uint i = rem - (q * n);
            off += (uint2(i) * uint2(pc.a_strides[d], pc.b_strides[d]));
            rem = q;
        }
    }
    return off;
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
    bool _314 = ew_isnan(param);
    bool _321;
    if (!_314)
    {
        float param_1 = y;
        _321 = ew_isnan(param_1);
    }
    else
    {
        _321 = _314;
    }
    if (_321)
    {
        return ew_nan();
    }
    float ax = abs(x);
    float ay = abs(y);
    bool yinf = ay == ew_inf();
    bool _338 = !yinf;
    bool _345;
    if (_338)
    {
        _345 = floor(y) == y;
    }
    else
    {
        _345 = _338;
    }
    bool yint = _345;
    bool _351 = yint && (ay < 16777216.0);
    bool _358;
    if (_351)
    {
        _358 = (uint(ay) & 1u) == 1u;
    }
    else
    {
        _358 = _351;
    }
    bool yodd = _358;
    if (yinf)
    {
        if (ax == 1.0)
        {
            return 1.0;
        }
        float _372;
        if ((ax > 1.0) == (y > 0.0))
        {
            _372 = ew_inf();
        }
        else
        {
            _372 = 0.0;
        }
        return _372;
    }
    if (ax == 0.0)
    {
        if (y < 0.0)
        {
            float _388;
            if (yodd)
            {
                float param_2 = ew_inf();
                float param_3 = x;
                _388 = ew_copysign(param_2, param_3);
            }
            else
            {
                _388 = ew_inf();
            }
            return _388;
        }
        return yodd ? x : 0.0;
    }
    if (ax == ew_inf())
    {
        float _412;
        if (y < 0.0)
        {
            _412 = 0.0;
        }
        else
        {
            _412 = ew_inf();
        }
        float r = _412;
        float _422;
        if ((x < 0.0) && yodd)
        {
            _422 = -r;
        }
        else
        {
            _422 = r;
        }
        return _422;
    }
    if ((x < 0.0) && (!yint))
    {
        return ew_nan();
    }
    float r_1 = pow(ax, y);
    float _448;
    if ((x < 0.0) && yodd)
    {
        _448 = -r_1;
    }
    else
    {
        _448 = r_1;
    }
    return _448;
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
        uint _185;
        if (mant != 0u)
        {
            _185 = 512u | (mant >> uint(13));
        }
        else
        {
            _185 = 0u;
        }
        return (_sign | 31744u) | _185;
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
        bool _245 = rem > half_;
        bool _258;
        if (!_245)
        {
            bool _251 = rem == half_;
            bool _257;
            if (_251)
            {
                _257 = (h & 1u) != 0u;
            }
            else
            {
                _257 = _251;
            }
            _258 = _257;
        }
        else
        {
            _258 = _245;
        }
        if (_258)
        {
            h++;
        }
        return _sign | h;
    }
    uint h_1 = (uint(e) << uint(10)) | (mant >> uint(13));
    uint rem_1 = mant & 8191u;
    bool _280 = rem_1 > 4096u;
    bool _292;
    if (!_280)
    {
        bool _285 = rem_1 == 4096u;
        bool _291;
        if (_285)
        {
            _291 = (h_1 & 1u) != 0u;
        }
        else
        {
            _291 = _285;
        }
        _292 = _291;
    }
    else
    {
        _292 = _280;
    }
    if (_292)
    {
        h_1++;
    }
    return _sign | h_1;
}

kernel void ew_binary_f16_strided(constant BinaryParams& pc [[buffer(8)]], const device InA& _719 [[buffer(0)]], const device InB& _738 [[buffer(1)]], device Out& _798 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
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
    uint2 _705;
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
        uint param_3 = e0;
        uint2 o0 = ew_offsets(param_3, pc);
        if (two)
        {
            uint param_4 = e0 + 1u;
            _705 = ew_offsets(param_4, pc);
        }
        else
        {
            _705 = o0;
        }
        uint2 o1 = _705;
        uint param_5 = (_719.a[o0.x >> uint(1)] >> ((o0.x & 1u) << uint(4))) & 65535u;
        uint param_6 = (_738.b[o0.y >> uint(1)] >> ((o0.y & 1u) << uint(4))) & 65535u;
        int param_7 = op;
        float param_8 = ew_h2f(param_5);
        float param_9 = ew_h2f(param_6);
        float r0 = ew_binary_math(param_7, param_8, param_9);
        if (two)
        {
            uint param_10 = (_719.a[o1.x >> uint(1)] >> ((o1.x & 1u) << uint(4))) & 65535u;
            uint param_11 = (_738.b[o1.y >> uint(1)] >> ((o1.y & 1u) << uint(4))) & 65535u;
            int param_12 = op;
            float param_13 = ew_h2f(param_10);
            float param_14 = ew_h2f(param_11);
            float param_15 = ew_binary_math(param_12, param_13, param_14);
            hi = ew_f2h(param_15);
        }
        else
        {
            hi = _798.o[w] >> uint(16);
        }
        float param_16 = r0;
        _798.o[w] = ew_f2h(param_16) | (hi << uint(16));
    }
}

