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
    float4 x4[1];
};

struct ActQ
{
    uint xq[1];
};

struct ActScale
{
    uint scale_bits[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(256u, 1u, 1u);

static inline __attribute__((always_inline))
uint bn_group_linear(thread uint3& gl_WorkGroupID, thread uint3& gl_NumWorkGroups)
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x) + gl_WorkGroupID.x;
}

static inline __attribute__((always_inline))
float bn_amax4(thread const float4& v, thread float& amax)
{
    float4 a = abs(v);
    bool _453 = a.x > amax;
    bool _460;
    if (!_453)
    {
        _460 = isnan(a.x);
    }
    else
    {
        _460 = _453;
    }
    float _461;
    if (_460)
    {
        _461 = a.x;
    }
    else
    {
        _461 = amax;
    }
    amax = _461;
    bool _472 = a.y > amax;
    bool _479;
    if (!_472)
    {
        _479 = isnan(a.y);
    }
    else
    {
        _479 = _472;
    }
    float _480;
    if (_479)
    {
        _480 = a.y;
    }
    else
    {
        _480 = amax;
    }
    amax = _480;
    bool _492 = a.z > amax;
    bool _499;
    if (!_492)
    {
        _499 = isnan(a.z);
    }
    else
    {
        _499 = _492;
    }
    float _500;
    if (_499)
    {
        _500 = a.z;
    }
    else
    {
        _500 = amax;
    }
    amax = _500;
    bool _512 = a.w > amax;
    bool _519;
    if (!_512)
    {
        _519 = isnan(a.w);
    }
    else
    {
        _519 = _512;
    }
    float _520;
    if (_519)
    {
        _520 = a.w;
    }
    else
    {
        _520 = amax;
    }
    return _520;
}

static inline __attribute__((always_inline))
bool bn_decompose(thread const float& x, thread uint& M, thread int& e)
{
    uint b = as_type<uint>(x);
    uint E = (b >> uint(23)) & 255u;
    uint f = b & 8388607u;
    if (E == 0u)
    {
        int z = 23 - int(spvFindUMSB(f));
        M = f << uint(min(z, 23));
        e = (-149) - z;
    }
    else
    {
        M = f | 8388608u;
        e = int(E) - 150;
    }
    bool _135 = ((b >> uint(31)) == 0u) && (E != 255u);
    bool _143;
    if (_135)
    {
        _143 = (E != 0u) || (f != 0u);
    }
    else
    {
        _143 = _135;
    }
    return _143;
}

static inline __attribute__((always_inline))
uint bn_shr64_lo(thread const uint& qh, thread const uint& ql, thread const int& sh)
{
    if (sh >= 64)
    {
        return 0u;
    }
    if (sh >= 32)
    {
        return qh >> uint(sh - 32);
    }
    if (sh == 0)
    {
        return ql;
    }
    return (ql >> uint(sh)) | (qh << uint(32 - sh));
}

static inline __attribute__((always_inline))
uint bn_bit64(thread const uint& qh, thread const uint& ql, thread const int& pos)
{
    if ((pos < 0) || (pos > 63))
    {
        return 0u;
    }
    uint _159;
    if (pos >= 32)
    {
        _159 = (qh >> uint(pos - 32)) & 1u;
    }
    else
    {
        _159 = (ql >> uint(pos)) & 1u;
    }
    return _159;
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
uint bn_round_q64_bits(thread const uint& qh, thread const uint& ql, thread const int& e2, thread const bool& sticky)
{
    int _260;
    if (qh != 0u)
    {
        _260 = 32 + int(spvFindUMSB(qh));
    }
    else
    {
        _260 = int(spvFindUMSB(ql));
    }
    int t = _260;
    int sh = max((t - 23), ((-149) - e2));
    uint param = qh;
    uint param_1 = ql;
    int param_2 = sh;
    uint mant = bn_shr64_lo(param, param_1, param_2);
    uint param_3 = qh;
    uint param_4 = ql;
    int param_5 = sh - 1;
    uint round_bit = bn_bit64(param_3, param_4, param_5);
    bool _307;
    if (!sticky)
    {
        uint param_6 = qh;
        uint param_7 = ql;
        int param_8 = sh - 1;
        _307 = bn_any_below64(param_6, param_7, param_8);
    }
    else
    {
        _307 = sticky;
    }
    bool rest = _307;
    bool _309 = round_bit != 0u;
    bool _320;
    if (_309)
    {
        bool _319;
        if (!rest)
        {
            _319 = (mant & 1u) != 0u;
        }
        else
        {
            _319 = rest;
        }
        _320 = _319;
    }
    else
    {
        _320 = _309;
    }
    if (_320)
    {
        mant++;
    }
    if (mant >= 16777216u)
    {
        mant = mant >> uint(1);
        sh++;
    }
    if (mant < 8388608u)
    {
        return mant;
    }
    int E = (e2 + sh) + 150;
    if (E > 254)
    {
        return 4294967295u;
    }
    return (uint(E) << uint(23)) | (mant & 8388607u);
}

static inline __attribute__((always_inline))
float bn_div_rn(thread const float& a, thread const float& b)
{
    float param = a;
    uint param_1;
    int param_2;
    bool _367 = bn_decompose(param, param_1, param_2);
    uint Ma = param_1;
    int ea = param_2;
    bool okA = _367;
    float param_3 = b;
    uint param_4;
    int param_5;
    bool _377 = bn_decompose(param_3, param_4, param_5);
    uint Mb = param_4;
    int eb = param_5;
    bool okB = _377;
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
    uint r = bn_round_q64_bits(param_6, param_7, param_8, param_9);
    float _435;
    if (r != 4294967295u)
    {
        _435 = as_type<float>(r);
    }
    else
    {
        _435 = a / b;
    }
    return _435;
}

static inline __attribute__((always_inline))
uint bn_kp(thread const uint& k)
{
    return (k + 127u) & 4294967168u;
}

static inline __attribute__((always_inline))
uint bn_quant4(thread const float4& v, thread const float& inv)
{
    float4 r = rint(v * inv);
    uint w = 0u;
    float _550;
    for (uint b = 0u; b < 4u; b++)
    {
        if (isnan(r[b]))
        {
            _550 = 0.0;
        }
        else
        {
            _550 = fast::clamp(r[b], -127.0, 127.0);
        }
        float q = _550;
        w |= ((uint(int(q)) & 255u) << (8u * b));
    }
    return w;
}

kernel void quantize_act_int8(constant QuantizeActParams& p [[buffer(8)]], const device Act& _629 [[buffer(0)]], device ActQ& _824 [[buffer(1)]], device ActScale& _844 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float red[256];
    uint row = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (row >= p.m)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    uint k = p.k;
    uint base = row * k;
    bool aligned = (k & 3u) == 0u;
    uint k4 = k >> uint(2);
    float amax = 0.0;
    if (aligned)
    {
        uint b4 = base >> uint(2);
        for (uint c = tid; c < k4; c += 256u)
        {
            float4 param = _629.x4[b4 + c];
            float param_1 = amax;
            float _639 = bn_amax4(param, param_1);
            amax = _639;
        }
    }
    else
    {
        for (uint c_1 = tid; c_1 < k; c_1 += 256u)
        {
            uint e = base + c_1;
            float a = abs(((device float*)&_629.x4[e >> uint(2)])[e & 3u]);
            bool _669 = a > amax;
            bool _675;
            if (!_669)
            {
                _675 = isnan(a);
            }
            else
            {
                _675 = _669;
            }
            amax = _675 ? a : amax;
        }
    }
    red[tid] = amax;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 128u; s > 0u; s = s >> uint(1))
    {
        bool _700 = tid < s;
        bool _722;
        if (_700)
        {
            bool _711 = red[tid + s] > red[tid];
            bool _721;
            if (!_711)
            {
                _721 = isnan(red[tid + s]);
            }
            else
            {
                _721 = _711;
            }
            _722 = _721;
        }
        else
        {
            _722 = _700;
        }
        if (_722)
        {
            red[tid] = red[tid + s];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    amax = red[0];
    bool nan_row = isnan(amax);
    float _744;
    if ((amax == 0.0) || nan_row)
    {
        _744 = 0.0;
    }
    else
    {
        float param_2 = 127.0;
        float param_3 = amax;
        _744 = bn_div_rn(param_2, param_3);
    }
    float inv = _744;
    uint param_4 = k;
    uint words = bn_kp(param_4) >> uint(2);
    uint obase = row * words;
    for (uint wd = tid; wd < words; wd += 256u)
    {
        float4 v = float4(0.0);
        if (aligned)
        {
            if (wd < k4)
            {
                v = _629.x4[(base >> uint(2)) + wd];
            }
        }
        else
        {
            for (uint b = 0u; b < 4u; b++)
            {
                uint col = (wd * 4u) + b;
                uint e_1 = base + col;
                if (col < k)
                {
                    v[b] = ((device float*)&_629.x4[e_1 >> uint(2)])[e_1 & 3u];
                }
            }
        }
        float4 param_5 = v;
        float param_6 = inv;
        _824.xq[obase + wd] = bn_quant4(param_5, param_6);
    }
    if (tid == 0u)
    {
        uint _847;
        if (nan_row)
        {
            _847 = 2143289344u;
        }
        else
        {
            uint _854;
            if (amax == 0.0)
            {
                _854 = 0u;
            }
            else
            {
                float param_7 = amax;
                float param_8 = 127.0;
                _854 = as_type<uint>(bn_div_rn(param_7, param_8));
            }
            _847 = _854;
        }
        _844.scale_bits[row] = _847;
    }
}

