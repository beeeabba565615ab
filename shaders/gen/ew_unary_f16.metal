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

struct UnaryParams
{
    uint op;
    uint dtype;
    uint rank;
    uint numel;
    uint shape[6];
    uint a_strides[6];
    uint a_offset;
    uint reserved0;
    uint reserved1;
    uint reserved2;
};

struct InA
{
    uint a[1];
};

struct Out
{
    uint o[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

constant spvUnsafeArray<float, 7> _368 = spvUnsafeArray<float, 7>({ 7.8891156590543687343597412109375e-05, -0.0008020840468816459178924560546875, 0.005189535208046436309814453125, -0.0268544442951679229736328125, 0.11283600330352783203125, -0.3761262595653533935546875, 0.128379166126251220703125 });
constant spvUnsafeArray<float, 10> _417 = spvUnsafeArray<float, 10>({ -0.00126203312538564205169677734375, 0.000871059368364512920379638671875, 0.006120420992374420166015625, -0.01450920663774013519287109375, 0.00214704801328480243682861328125, 0.0497315488755702972412109375, -0.114841572940349578857421875, 0.13076682388782501220703125, -0.080472238361835479736328125, 0.02155627124011516571044921875 });
constant spvUnsafeArray<float, 10> _460 = spvUnsafeArray<float, 10>({ -5.7902375374396797269582748413086e-06, 0.00010377342550782486796379089355469, -0.00032582669518887996673583984375, 0.00056546949781477451324462890625, -0.0007232348434627056121826171875, 0.0007170222816057503223419189453125, -0.0005277341115288436412811279296875, 0.00027175867580808699131011962890625, -8.8270273408852517604827880859375e-05, 1.3690789273823611438274383544922e-05 });
constant spvUnsafeArray<float, 5> _510 = spvUnsafeArray<float, 5>({ -0.006113183684647083282470703125, 0.02101007662713527679443359375, -0.053854070603847503662109375, 0.13332794606685638427734375, -0.3333332836627960205078125 });

static inline __attribute__((always_inline))
uint ew_words(thread const uint& n, thread const bool& f16)
{
    uint _767;
    if (f16)
    {
        _767 = (n >> uint(1)) + (n & 1u);
    }
    else
    {
        _767 = n;
    }
    return _767;
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
uint ew_step(constant UnaryParams& pc)
{
    uint s = 0u;
    for (int d = 0; d < 6; d++)
    {
        if (pc.shape[d] > 1u)
        {
            s |= pc.a_strides[d];
        }
    }
    return uint(s != 0u);
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
float ew_inf()
{
    return as_type<float>(2139095040u);
}

static inline __attribute__((always_inline))
float ew_exp(thread const float& x)
{
    if (x >= 88.8000030517578125)
    {
        return ew_inf();
    }
    if (x <= (-104.0))
    {
        return 0.0;
    }
    return exp(x);
}

static inline __attribute__((always_inline))
float ew_nan()
{
    return as_type<float>(2143289344u);
}

static inline __attribute__((always_inline))
float ew_copysign(thread const float& r, thread const float& s)
{
    return as_type<float>((as_type<uint>(r) & 2147483647u) | (as_type<uint>(s) & 2147483648u));
}

static inline __attribute__((always_inline))
float ew_tanh(thread const float& x)
{
    float a = abs(x);
    float r;
    if (a < 0.625)
    {
        float s = spvFMul(a, a);
        float p = -0.006113183684647083282470703125;
        for (int i = 1; i < 5; i++)
        {
            p = spvFAdd(spvFMul(p, s), _510[i]);
        }
        r = spvFAdd(a, spvFMul(a, spvFMul(s, p)));
    }
    else
    {
        float param = spvFMul(-2.0, a);
        float e = ew_exp(param);
        r = spvFSub(1.0, e) / spvFAdd(1.0, e);
    }
    float param_1 = r;
    float param_2 = x;
    return ew_copysign(param_1, param_2);
}

static inline __attribute__((always_inline))
float ew_sigmoid(thread const float& x)
{
    float param = -abs(x);
    float e = ew_exp(param);
    float d = spvFAdd(1.0, e);
    float r = ((x >= 0.0) ? 1.0 : e) / d;
    return r;
}

static inline __attribute__((always_inline))
float ew_relu(thread const float& x)
{
    bool _566 = x > 0.0;
    bool _573;
    if (!_566)
    {
        float param = x;
        _573 = ew_isnan(param);
    }
    else
    {
        _573 = _566;
    }
    return _573 ? x : 0.0;
}

static inline __attribute__((always_inline))
float ew_erf(thread const float& x)
{
    float a = abs(x);
    float r;
    if (a < 1.0)
    {
        float s = spvFMul(a, a);
        float p = 7.8891156590543687343597412109375e-05;
        for (int i = 1; i < 7; i++)
        {
            p = spvFAdd(spvFMul(p, s), _368[i]);
        }
        r = spvFAdd(a, spvFMul(a, p));
    }
    else
    {
        if (a < 2.25)
        {
            float t = spvFSub(a, 1.625);
            float p_1 = -0.00126203312538564205169677734375;
            for (int i_1 = 1; i_1 < 10; i_1++)
            {
                p_1 = spvFAdd(spvFMul(p_1, t), _417[i_1]);
            }
            r = spvFSub(1.0, p_1);
        }
        else
        {
            if (a < 3.900000095367431640625)
            {
                float t_1 = spvFSub(a, 3.0750000476837158203125);
                float p_2 = -5.7902375374396797269582748413086e-06;
                for (int i_2 = 1; i_2 < 10; i_2++)
                {
                    p_2 = spvFAdd(spvFMul(p_2, t_1), _460[i_2]);
                }
                r = spvFSub(1.0, p_2);
            }
            else
            {
                r = 1.0;
            }
        }
    }
    float param = r;
    float param_1 = x;
    return ew_copysign(param, param_1);
}

static inline __attribute__((always_inline))
float ew_unary_math(thread const int& op, thread const float& x)
{
    float param = x;
    if (ew_isnan(param))
    {
        return x;
    }
    switch (op)
    {
        case 3:
        {
            float param_1 = x;
            return ew_exp(param_1);
        }
        case 4:
        {
            if (x < 0.0)
            {
                return ew_nan();
            }
            if (x == 0.0)
            {
                return -ew_inf();
            }
            if (x == ew_inf())
            {
                return x;
            }
            return log(x);
        }
        case 5:
        {
            if (x < 0.0)
            {
                return ew_nan();
            }
            bool _632 = x == 0.0;
            bool _639;
            if (!_632)
            {
                _639 = x == ew_inf();
            }
            else
            {
                _639 = _632;
            }
            if (_639)
            {
                return x;
            }
            return sqrt(x);
        }
        case 6:
        {
            if (x < 0.0)
            {
                return ew_nan();
            }
            if (x == 0.0)
            {
                float param_2 = ew_inf();
                float param_3 = x;
                return ew_copysign(param_2, param_3);
            }
            if (x == ew_inf())
            {
                return 0.0;
            }
            return rsqrt(x);
        }
        case 7:
        {
            float param_4 = x;
            return ew_tanh(param_4);
        }
        case 8:
        {
            float param_5 = x;
            return ew_sigmoid(param_5);
        }
        case 9:
        {
            float param_6 = x;
            return ew_relu(param_6);
        }
        case 10:
        {
            float param_7 = x;
            float r = ew_relu(param_7);
            float r2 = spvFMul(r, r);
            return r2;
        }
        case 11:
        {
            float param_8 = x;
            float r_1 = spvFMul(x, ew_sigmoid(param_8));
            return r_1;
        }
        case 12:
        {
            float t = spvFMul(x, 0.707106769084930419921875);
            float param_9 = t;
            float e = ew_erf(param_9);
            float r_2 = spvFMul(spvFMul(0.5, x), spvFAdd(1.0, e));
            return r_2;
        }
        default:
        {
            return x;
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
        uint _198;
        if (mant != 0u)
        {
            _198 = 512u | (mant >> uint(13));
        }
        else
        {
            _198 = 0u;
        }
        return (_sign | 31744u) | _198;
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
        bool _258 = rem > half_;
        bool _271;
        if (!_258)
        {
            bool _264 = rem == half_;
            bool _270;
            if (_264)
            {
                _270 = (h & 1u) != 0u;
            }
            else
            {
                _270 = _264;
            }
            _271 = _270;
        }
        else
        {
            _271 = _258;
        }
        if (_271)
        {
            h++;
        }
        return _sign | h;
    }
    uint h_1 = (uint(e) << uint(10)) | (mant >> uint(13));
    uint rem_1 = mant & 8191u;
    bool _293 = rem_1 > 4096u;
    bool _305;
    if (!_293)
    {
        bool _298 = rem_1 == 4096u;
        bool _304;
        if (_298)
        {
            _304 = (h_1 & 1u) != 0u;
        }
        else
        {
            _304 = _298;
        }
        _305 = _304;
    }
    else
    {
        _305 = _293;
    }
    if (_305)
    {
        h_1++;
    }
    return _sign | h_1;
}

static inline __attribute__((always_inline))
uint ew_unary_h(thread const int& op, thread const uint& h)
{
    if (op == 0)
    {
        return h;
    }
    if (op == 1)
    {
        return h ^ 32768u;
    }
    if (op == 2)
    {
        return h & 32767u;
    }
    uint param = h;
    int param_1 = op;
    float param_2 = ew_h2f(param);
    float param_3 = ew_unary_math(param_1, param_2);
    return ew_f2h(param_3);
}

kernel void ew_unary_f16(constant UnaryParams& pc [[buffer(8)]], const device InA& _893 [[buffer(0)]], device Out& _931 [[buffer(1)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
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
    uint _step = ew_step(pc);
    uint _911;
    for (int k = 0; k < 4; k++)
    {
        uint w = w0 + uint(k * 256);
        if (w >= words)
        {
            break;
        }
        uint e0 = 2u * w;
        bool two = (e0 + 1u) < pc.numel;
        uint o0 = pc.a_offset + (e0 * _step);
        uint o1 = o0 + _step;
        int param_3 = op;
        uint param_4 = (_893.a[o0 >> uint(1)] >> ((o0 & 1u) << uint(4))) & 65535u;
        uint lo = ew_unary_h(param_3, param_4);
        if (two)
        {
            int param_5 = op;
            uint param_6 = (_893.a[o1 >> uint(1)] >> ((o1 & 1u) << uint(4))) & 65535u;
            _911 = ew_unary_h(param_5, param_6);
        }
        else
        {
            _911 = _931.o[w] >> uint(16);
        }
        uint hi = _911;
        _931.o[w] = lo | (hi << uint(16));
    }
}

