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

struct X
{
    uint xw[1];
};

struct RopeParams
{
    uint tokens;
    uint heads;
    uint head_dim;
    uint dtype;
    float theta;
    uint reserved0;
    uint reserved1;
    uint reserved2;
};

struct Pos
{
    int pos[1];
};

struct Y
{
    uint yw[1];
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
    bool _142 = ((b >> uint(31)) == 0u) && (E != 255u);
    bool _150;
    if (_142)
    {
        _150 = (E != 0u) || (f != 0u);
    }
    else
    {
        _150 = _142;
    }
    return _150;
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
    uint _166;
    if (pos >= 32)
    {
        _166 = (qh >> uint(pos - 32)) & 1u;
    }
    else
    {
        _166 = (ql >> uint(pos)) & 1u;
    }
    return _166;
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
    int _267;
    if (qh != 0u)
    {
        _267 = 32 + int(spvFindUMSB(qh));
    }
    else
    {
        _267 = int(spvFindUMSB(ql));
    }
    int t = _267;
    int sh = max((t - 23), ((-149) - e2));
    uint param = qh;
    uint param_1 = ql;
    int param_2 = sh;
    uint mant = bn_shr64_lo(param, param_1, param_2);
    uint param_3 = qh;
    uint param_4 = ql;
    int param_5 = sh - 1;
    uint round_bit = bn_bit64(param_3, param_4, param_5);
    bool _314;
    if (!sticky)
    {
        uint param_6 = qh;
        uint param_7 = ql;
        int param_8 = sh - 1;
        _314 = bn_any_below64(param_6, param_7, param_8);
    }
    else
    {
        _314 = sticky;
    }
    bool rest = _314;
    bool _316 = round_bit != 0u;
    bool _327;
    if (_316)
    {
        bool _326;
        if (!rest)
        {
            _326 = (mant & 1u) != 0u;
        }
        else
        {
            _326 = rest;
        }
        _327 = _326;
    }
    else
    {
        _327 = _316;
    }
    if (_327)
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
    bool _374 = bn_decompose(param, param_1, param_2);
    uint Ma = param_1;
    int ea = param_2;
    bool okA = _374;
    float param_3 = b;
    uint param_4;
    int param_5;
    bool _384 = bn_decompose(param_3, param_4, param_5);
    uint Mb = param_4;
    int eb = param_5;
    bool okB = _384;
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
    float _442;
    if (r != 4294967295u)
    {
        _442 = as_type<float>(r);
    }
    else
    {
        _442 = a / b;
    }
    return _442;
}

static inline __attribute__((always_inline))
float2 bn_rope_cs(thread const int& pos, thread const uint& i, thread const uint& d, thread const float& log2theta)
{
    float param = float(2u * i);
    float param_1 = float(d);
    float ex = bn_div_rn(param, param_1);
    float arg = spvFMul(ex, log2theta);
    float inv = exp2(-arg);
    float th = spvFMul(float(pos), inv);
    float k = rint(spvFMul(th, 0.15915493667125701904296875));
    float r = spvFSub(spvFSub(spvFSub(th, spvFMul(k, 6.28125)), spvFMul(k, 0.00193530716933310031890869140625)), spvFMul(k, 1.0253131677018245682120323181152e-11));
    return float2(cos(r), sin(r));
}

static inline __attribute__((always_inline))
float bn_h2f(thread const uint& h)
{
    uint _sign = (h & 32768u) << uint(16);
    uint em = h & 32767u;
    uint b;
    if (em < 1024u)
    {
        b = as_type<uint>(float(em) * 5.9604644775390625e-08);
    }
    else
    {
        if (em >= 31744u)
        {
            b = (em << uint(13)) | 2139095040u;
        }
        else
        {
            b = (em << uint(13)) + 939524096u;
        }
    }
    return as_type<float>(b | _sign);
}

static inline __attribute__((always_inline))
float rotated(thread const uint& base, thread const uint& e, thread const uint& h, thread const float2& cs, thread const bool& f16, const device X& v_635)
{
    uint _618;
    if (e < h)
    {
        _618 = e;
    }
    else
    {
        _618 = e - h;
    }
    uint i = _618;
    float _629;
    if (f16)
    {
        uint param = (v_635.xw[(base + i) >> uint(1)] >> (((base + i) & 1u) << uint(4))) & 65535u;
        _629 = bn_h2f(param);
    }
    else
    {
        _629 = as_type<float>(v_635.xw[base + i]);
    }
    float x1 = _629;
    float _664;
    if (f16)
    {
        uint param_1 = (v_635.xw[((base + i) + h) >> uint(1)] >> ((((base + i) + h) & 1u) << uint(4))) & 65535u;
        _664 = bn_h2f(param_1);
    }
    else
    {
        _664 = as_type<float>(v_635.xw[(base + i) + h]);
    }
    float x2 = _664;
    if (e < h)
    {
        float y = spvFSub(spvFMul(x1, cs.x), spvFMul(x2, cs.y));
        return y;
    }
    float y_1 = spvFAdd(spvFMul(x1, cs.y), spvFMul(x2, cs.x));
    return y_1;
}

static inline __attribute__((always_inline))
uint bn_f2h(thread const float& v)
{
    uint x = as_type<uint>(v);
    uint _sign = (x >> uint(16)) & 32768u;
    uint a = x & 2147483647u;
    uint r;
    if (a >= 1199570944u)
    {
        uint _516;
        if (a > 2139095040u)
        {
            _516 = 32256u | ((a & 8388607u) >> uint(13));
        }
        else
        {
            _516 = 31744u;
        }
        r = _516;
    }
    else
    {
        if (a < 947912704u)
        {
            float s = spvFAdd(as_type<float>(a), 0.5);
            r = as_type<uint>(s) - 1056964608u;
        }
        else
        {
            r = ((a + 3355447295u) + ((a >> uint(13)) & 1u)) >> uint(13);
        }
    }
    return r | _sign;
}

static inline __attribute__((always_inline))
uint bn_pack_h2(thread const float& lo, thread const float& hi)
{
    float param = lo;
    float param_1 = hi;
    return bn_f2h(param) | (bn_f2h(param_1) << uint(16));
}

kernel void rope(const device X& v_635 [[buffer(0)]], constant RopeParams& p [[buffer(8)]], const device Pos& _831 [[buffer(1)]], device Y& _902 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    uint t = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (t >= p.tokens)
    {
        return;
    }
    uint tid = gl_LocalInvocationID.x;
    bool f16 = p.dtype == 1u;
    uint d = p.head_dim;
    uint h = d >> uint(1);
    uint columns = f16 ? h : d;
    uint _764;
    if (columns > 128u)
    {
        _764 = 256u;
    }
    else
    {
        uint _772;
        if (columns > 64u)
        {
            _772 = 128u;
        }
        else
        {
            uint _779;
            if (columns > 32u)
            {
                _779 = 64u;
            }
            else
            {
                uint _786;
                if (columns > 16u)
                {
                    _786 = 32u;
                }
                else
                {
                    uint _793;
                    if (columns > 8u)
                    {
                        _793 = 16u;
                    }
                    else
                    {
                        uint _800;
                        if (columns > 4u)
                        {
                            _800 = 8u;
                        }
                        else
                        {
                            uint _806;
                            if (columns > 2u)
                            {
                                _806 = 4u;
                            }
                            else
                            {
                                _806 = (columns > 1u) ? 2u : 1u;
                            }
                            _800 = _806;
                        }
                        _793 = _800;
                    }
                    _786 = _793;
                }
                _779 = _786;
            }
            _772 = _779;
        }
        _764 = _772;
    }
    uint lanes = 256u / _764;
    uint lane = tid / _764;
    int ps = _831.pos[t];
    float l2t = log2(p.theta);
    uint _845 = tid & (_764 - 1u);
    uint _862;
    uint _929;
    uint _951;
    for (uint cw = _764, col = _845; col < columns; col += cw)
    {
        if (!f16)
        {
            if (col < h)
            {
                _862 = col;
            }
            else
            {
                _862 = col - h;
            }
            int param = ps;
            uint param_1 = _862;
            uint param_2 = d;
            float param_3 = l2t;
            float2 cs = bn_rope_cs(param, param_1, param_2, param_3);
            for (uint hd = lane; hd < p.heads; hd += lanes)
            {
                uint base = ((t * p.heads) + hd) * d;
                uint param_4 = base;
                uint param_5 = col;
                uint param_6 = h;
                float2 param_7 = cs;
                bool param_8 = false;
                _902.yw[base + col] = as_type<uint>(rotated(param_4, param_5, param_6, param_7, param_8, v_635));
            }
        }
        else
        {
            uint e = 2u * col;
            if (e < h)
            {
                _929 = e;
            }
            else
            {
                _929 = e - h;
            }
            int param_9 = ps;
            uint param_10 = _929;
            uint param_11 = d;
            float param_12 = l2t;
            float2 cs0 = bn_rope_cs(param_9, param_10, param_11, param_12);
            if ((e + 1u) < h)
            {
                _951 = e + 1u;
            }
            else
            {
                _951 = (e + 1u) - h;
            }
            int param_13 = ps;
            uint param_14 = _951;
            uint param_15 = d;
            float param_16 = l2t;
            float2 cs1 = bn_rope_cs(param_13, param_14, param_15, param_16);
            for (uint hd_1 = lane; hd_1 < p.heads; hd_1 += lanes)
            {
                uint base_1 = ((t * p.heads) + hd_1) * d;
                uint param_17 = base_1;
                uint param_18 = e;
                uint param_19 = h;
                float2 param_20 = cs0;
                bool param_21 = true;
                float lo = rotated(param_17, param_18, param_19, param_20, param_21, v_635);
                uint param_22 = base_1;
                uint param_23 = e + 1u;
                uint param_24 = h;
                float2 param_25 = cs1;
                bool param_26 = true;
                float hi = rotated(param_22, param_23, param_24, param_25, param_26, v_635);
                float param_27 = lo;
                float param_28 = hi;
                _902.yw[(base_1 >> uint(1)) + col] = bn_pack_h2(param_27, param_28);
            }
        }
    }
}

