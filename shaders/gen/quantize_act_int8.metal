#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

// Implementation of the unsigned GLSL findMSB() function
template<typename T>
inline T spvFindUMSB(T x)
{
    return select(clz(T(0)) - (clz(x) + T(1)), T(-1), x == T(0));
}

struct QuantizeActParams
{
    uint m;
    uint k;
    uint reserved0;
    uint reserved1;
};

struct Act
{
    float x[1];
};

struct ActQ
{
    uint xq[1];
};

struct ActScale
{
    float scale[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
bool bn_decompose(thread const float& x, thread uint& M, thread int& e)
{
    uint b = as_type<uint>(x);
    uint E = (b >> uint(23)) & 255u;
    M = (b & 8388607u) | 8388608u;
    e = int(E) - 150;
    return (((b >> uint(31)) == 0u) && (E != 0u)) && (E != 255u);
}

static inline __attribute__((always_inline))
uint bn_bit64(thread const uint& qh, thread const uint& ql, thread const int& pos)
{
    uint _108;
    if (pos >= 32)
    {
        _108 = (qh >> uint(pos - 32)) & 1u;
    }
    else
    {
        _108 = (ql >> uint(pos)) & 1u;
    }
    return _108;
}

static inline __attribute__((always_inline))
bool bn_any_below64(thread const uint& qh, thread const uint& ql, thread const int& pos)
{
    if (pos <= 0)
    {
        return false;
    }
    if (pos < 32)
    {
        return (ql & ((1u << uint(pos)) - 1u)) != 0u;
    }
    if (ql != 0u)
    {
        return true;
    }
    if (pos == 32)
    {
        return false;
    }
    if (pos >= 64)
    {
        return qh != 0u;
    }
    return (qh & ((1u << uint(pos - 32)) - 1u)) != 0u;
}

static inline __attribute__((always_inline))
float bn_round_q64(thread const uint& qh, thread const uint& ql, thread const int& e2, thread const bool& sticky)
{
    int _177;
    if (qh != 0u)
    {
        _177 = 32 + int(spvFindUMSB(qh));
    }
    else
    {
        _177 = int(spvFindUMSB(ql));
    }
    int t = _177;
    int sh = t - 23;
    uint _193;
    if (sh >= 32)
    {
        _193 = qh >> uint(sh - 32);
    }
    else
    {
        _193 = (ql >> uint(sh)) | (qh << uint(32 - sh));
    }
    uint mant = _193;
    mant &= 16777215u;
    uint param = qh;
    uint param_1 = ql;
    int param_2 = sh - 1;
    uint round_bit = bn_bit64(param, param_1, param_2);
    bool _239;
    if (!sticky)
    {
        uint param_3 = qh;
        uint param_4 = ql;
        int param_5 = sh - 1;
        _239 = bn_any_below64(param_3, param_4, param_5);
    }
    else
    {
        _239 = sticky;
    }
    bool rest = _239;
    bool _241 = round_bit != 0u;
    bool _252;
    if (_241)
    {
        bool _251;
        if (!rest)
        {
            _251 = (mant & 1u) != 0u;
        }
        else
        {
            _251 = rest;
        }
        _252 = _251;
    }
    else
    {
        _252 = _241;
    }
    if (_252)
    {
        mant++;
        if (mant == 16777216u)
        {
            mant = 8388608u;
            sh++;
        }
    }
    int E = (e2 + sh) + 150;
    if ((E < 1) || (E > 254))
    {
        return -1.0;
    }
    return as_type<float>((uint(E) << uint(23)) | (mant & 8388607u));
}

static inline __attribute__((always_inline))
float bn_div_rn(thread const float& a, thread const float& b)
{
    float param = a;
    uint param_1;
    int param_2;
    bool _295 = bn_decompose(param, param_1, param_2);
    uint Ma = param_1;
    int ea = param_2;
    bool okA = _295;
    float param_3 = b;
    uint param_4;
    int param_5;
    bool _305 = bn_decompose(param_3, param_4, param_5);
    uint Mb = param_4;
    int eb = param_5;
    bool okB = _305;
    if ((!okA) || (!okB))
    {
        return a / b;
    }
    uint rem = Ma;
    uint q = 0u;
    for (int i = 0; i < 26; i++)
    {
        q = q << uint(1);
        if (rem >= Mb)
        {
            rem -= Mb;
            q |= 1u;
        }
        rem = rem << uint(1);
    }
    uint param_6 = 0u;
    uint param_7 = q;
    int param_8 = (ea - eb) - 25;
    bool param_9 = rem != 0u;
    float r = bn_round_q64(param_6, param_7, param_8, param_9);
    float _364;
    if (r >= 0.0)
    {
        _364 = r;
    }
    else
    {
        _364 = a / b;
    }
    return _364;
}

static inline __attribute__((always_inline))
uint bn_kp(thread const uint& k)
{
    return (k + 127u) & 4294967168u;
}

kernel void quantize_act_int8(constant QuantizeActParams& p [[buffer(8)]], const device Act& _413 [[buffer(0)]], device ActQ& _570 [[buffer(1)]], device ActScale& _586 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float red[256];
    uint row = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (row >= p.m)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    uint base = row * p.k;
    float amax = 0.0;
    for (uint c = tid; c < p.k; c += 256u)
    {
        float a = abs(_413.x[base + c]);
        amax = (a > amax) ? a : amax;
    }
    red[tid] = amax;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 128u; s > 0u; s = s >> uint(1))
    {
        bool _450 = tid < s;
        bool _462;
        if (_450)
        {
            _462 = red[tid + s] > red[tid];
        }
        else
        {
            _462 = _450;
        }
        if (_462)
        {
            red[tid] = red[tid + s];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    amax = red[0];
    float _479;
    if (amax == 0.0)
    {
        _479 = 0.0;
    }
    else
    {
        float param = 127.0;
        float param_1 = amax;
        _479 = bn_div_rn(param, param_1);
    }
    float inv = _479;
    uint param_2 = p.k;
    uint words = bn_kp(param_2) >> uint(2);
    uint obase = row * words;
    float _530;
    float _547;
    for (uint wd = tid; wd < words; wd += 256u)
    {
        uint packedw = 0u;
        for (uint b = 0u; b < 4u; b++)
        {
            uint col = (wd * 4u) + b;
            if (col < p.k)
            {
                _530 = _413.x[base + col];
            }
            else
            {
                _530 = 0.0;
            }
            float v = _530;
            float r = rint(v * inv);
            if (isnan(r))
            {
                _547 = 0.0;
            }
            else
            {
                _547 = fast::clamp(r, -127.0, 127.0);
            }
            r = _547;
            packedw |= ((uint(int(r)) & 255u) << (8u * b));
        }
        _570.xq[obase + wd] = packedw;
    }
    if (tid == 0u)
    {
        float _590;
        if (amax == 0.0)
        {
            _590 = 0.0;
        }
        else
        {
            float param_3 = amax;
            float param_4 = 127.0;
            _590 = bn_div_rn(param_3, param_4);
        }
        _586.scale[row] = _590;
    }
}

