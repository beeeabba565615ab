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

struct RmsnormParams
{
    uint rows;
    uint cols;
    uint dtype;
    float eps;
};

struct W
{
    float w[1];
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
void bn_kahan_add(thread float& s, thread float& c, thread const float& x)
{
    float y = spvFSub(x, c);
    float t = spvFAdd(s, y);
    float e = spvFSub(spvFSub(t, s), y);
    bool _593 = !isinf(t);
    bool _599;
    if (_593)
    {
        _599 = !isnan(t);
    }
    else
    {
        _599 = _593;
    }
    bool finite = _599;
    c = finite ? e : 0.0;
    s = t;
}

static inline __attribute__((always_inline))
float bn_kahan_value(thread const float& s, thread const float& c)
{
    float v = spvFSub(s, c);
    bool _610 = isinf(s);
    bool _616;
    if (!_610)
    {
        _616 = isnan(s);
    }
    else
    {
        _616 = _610;
    }
    return _616 ? s : v;
}

static inline __attribute__((always_inline))
float bn_seg_sum(thread const float& v, thread const uint& L, thread uint3& gl_LocalInvocationID, threadgroup float (&bn_tree)[256])
{
    uint tid = gl_LocalInvocationID.x;
    uint lane = tid & (L - 1u);
    bn_tree[tid] = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint _694 = L >> uint(1);
    for (uint h = _694; h > 0u; h = h >> uint(1))
    {
        if (lane < h)
        {
            float s = spvFAdd(bn_tree[tid], bn_tree[tid + h]);
            bn_tree[tid] = s;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    float r = bn_tree[tid - lane];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return r;
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
    bool _153 = ((b >> uint(31)) == 0u) && (E != 255u);
    bool _161;
    if (_153)
    {
        _161 = (E != 0u) || (f != 0u);
    }
    else
    {
        _161 = _153;
    }
    return _161;
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
    uint _177;
    if (pos >= 32)
    {
        _177 = (qh >> uint(pos - 32)) & 1u;
    }
    else
    {
        _177 = (ql >> uint(pos)) & 1u;
    }
    return _177;
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
    int _278;
    if (qh != 0u)
    {
        _278 = 32 + int(spvFindUMSB(qh));
    }
    else
    {
        _278 = int(spvFindUMSB(ql));
    }
    int t = _278;
    int sh = max((t - 23), ((-149) - e2));
    uint param = qh;
    uint param_1 = ql;
    int param_2 = sh;
    uint mant = bn_shr64_lo(param, param_1, param_2);
    uint param_3 = qh;
    uint param_4 = ql;
    int param_5 = sh - 1;
    uint round_bit = bn_bit64(param_3, param_4, param_5);
    bool _325;
    if (!sticky)
    {
        uint param_6 = qh;
        uint param_7 = ql;
        int param_8 = sh - 1;
        _325 = bn_any_below64(param_6, param_7, param_8);
    }
    else
    {
        _325 = sticky;
    }
    bool rest = _325;
    bool _327 = round_bit != 0u;
    bool _338;
    if (_327)
    {
        bool _337;
        if (!rest)
        {
            _337 = (mant & 1u) != 0u;
        }
        else
        {
            _337 = rest;
        }
        _338 = _337;
    }
    else
    {
        _338 = _327;
    }
    if (_338)
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
    bool _385 = bn_decompose(param, param_1, param_2);
    uint Ma = param_1;
    int ea = param_2;
    bool okA = _385;
    float param_3 = b;
    uint param_4;
    int param_5;
    bool _395 = bn_decompose(param_3, param_4, param_5);
    uint Mb = param_4;
    int eb = param_5;
    bool okB = _395;
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
    float _453;
    if (r != 4294967295u)
    {
        _453 = as_type<float>(r);
    }
    else
    {
        _453 = a / b;
    }
    return _453;
}

static inline __attribute__((always_inline))
float bn_rms_scale(thread const float& ss, thread const uint& cols, thread const float& eps)
{
    float param = ss;
    float param_1 = float(cols);
    float mean = bn_div_rn(param, param_1);
    float v = spvFAdd(mean, eps);
    float r = rsqrt(v);
    bool _637 = r > 0.0;
    bool _643;
    if (_637)
    {
        _643 = !isinf(r);
    }
    else
    {
        _643 = _637;
    }
    bool _649;
    if (_643)
    {
        _649 = !isnan(r);
    }
    else
    {
        _649 = _643;
    }
    if (_649)
    {
        float hv = spvFMul(0.5, v);
        float t = spvFMul(spvFMul(hv, r), r);
        float corr = spvFSub(1.5, t);
        float r1 = spvFMul(r, corr);
        r = r1;
    }
    return r;
}

static inline __attribute__((always_inline))
float value(thread const uint& row, thread const uint& j, thread const uint& slot, thread const bool& f16, const device X& v_739, constant RmsnormParams& p, threadgroup float (&st_r)[256], const device W& v_789)
{
    float _733;
    if (f16)
    {
        uint param = (v_739.xw[((row * p.cols) + j) >> uint(1)] >> ((((row * p.cols) + j) & 1u) << uint(4))) & 65535u;
        _733 = bn_h2f(param);
    }
    else
    {
        _733 = as_type<float>(v_739.xw[(row * p.cols) + j]);
    }
    float x = _733;
    float y = spvFMul(spvFMul(x, st_r[slot]), v_789.w[j]);
    return y;
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
        uint _527;
        if (a > 2139095040u)
        {
            _527 = 32256u | ((a & 8388607u) >> uint(13));
        }
        else
        {
            _527 = 31744u;
        }
        r = _527;
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

kernel void rmsnorm(const device X& v_739 [[buffer(0)]], constant RmsnormParams& p [[buffer(8)]], const device W& v_789 [[buffer(1)]], device Y& _1276 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float bn_tree[256];
    threadgroup float st_r[256];
    uint tid = gl_LocalInvocationID.x;
    bool f16 = p.dtype == 1u;
    uint _815;
    if ((((p.cols - 1u) / 8u) + 1u) > 128u)
    {
        _815 = 256u;
    }
    else
    {
        uint _826;
        if ((((p.cols - 1u) / 8u) + 1u) > 64u)
        {
            _826 = 128u;
        }
        else
        {
            uint _837;
            if ((((p.cols - 1u) / 8u) + 1u) > 32u)
            {
                _837 = 64u;
            }
            else
            {
                uint _848;
                if ((((p.cols - 1u) / 8u) + 1u) > 16u)
                {
                    _848 = 32u;
                }
                else
                {
                    uint _858;
                    if ((((p.cols - 1u) / 8u) + 1u) > 8u)
                    {
                        _858 = 16u;
                    }
                    else
                    {
                        uint _869;
                        if ((((p.cols - 1u) / 8u) + 1u) > 4u)
                        {
                            _869 = 8u;
                        }
                        else
                        {
                            uint _879;
                            if ((((p.cols - 1u) / 8u) + 1u) > 2u)
                            {
                                _879 = 4u;
                            }
                            else
                            {
                                _879 = ((((p.cols - 1u) / 8u) + 1u) > 1u) ? 2u : 1u;
                            }
                            _869 = _879;
                        }
                        _858 = _869;
                    }
                    _848 = _858;
                }
                _837 = _848;
            }
            _826 = _837;
        }
        _815 = _826;
    }
    uint L = _815;
    uint _904;
    if ((((p.cols - 1u) / 8u) + 1u) > 128u)
    {
        _904 = 256u;
    }
    else
    {
        uint _914;
        if ((((p.cols - 1u) / 8u) + 1u) > 64u)
        {
            _914 = 128u;
        }
        else
        {
            uint _924;
            if ((((p.cols - 1u) / 8u) + 1u) > 32u)
            {
                _924 = 64u;
            }
            else
            {
                uint _934;
                if ((((p.cols - 1u) / 8u) + 1u) > 16u)
                {
                    _934 = 32u;
                }
                else
                {
                    uint _944;
                    if ((((p.cols - 1u) / 8u) + 1u) > 8u)
                    {
                        _944 = 16u;
                    }
                    else
                    {
                        uint _954;
                        if ((((p.cols - 1u) / 8u) + 1u) > 4u)
                        {
                            _954 = 8u;
                        }
                        else
                        {
                            uint _964;
                            if ((((p.cols - 1u) / 8u) + 1u) > 2u)
                            {
                                _964 = 4u;
                            }
                            else
                            {
                                _964 = ((((p.cols - 1u) / 8u) + 1u) > 1u) ? 2u : 1u;
                            }
                            _954 = _964;
                        }
                        _944 = _954;
                    }
                    _934 = _944;
                }
                _924 = _934;
            }
            _914 = _924;
        }
        _904 = _914;
    }
    uint _983;
    if (_904 < 256u)
    {
        uint _992;
        if ((((p.cols - 1u) / 8u) + 1u) > 128u)
        {
            _992 = 256u;
        }
        else
        {
            uint _1002;
            if ((((p.cols - 1u) / 8u) + 1u) > 64u)
            {
                _1002 = 128u;
            }
            else
            {
                uint _1012;
                if ((((p.cols - 1u) / 8u) + 1u) > 32u)
                {
                    _1012 = 64u;
                }
                else
                {
                    uint _1022;
                    if ((((p.cols - 1u) / 8u) + 1u) > 16u)
                    {
                        _1022 = 32u;
                    }
                    else
                    {
                        uint _1032;
                        if ((((p.cols - 1u) / 8u) + 1u) > 8u)
                        {
                            _1032 = 16u;
                        }
                        else
                        {
                            uint _1042;
                            if ((((p.cols - 1u) / 8u) + 1u) > 4u)
                            {
                                _1042 = 8u;
                            }
                            else
                            {
                                uint _1052;
                                if ((((p.cols - 1u) / 8u) + 1u) > 2u)
                                {
                                    _1052 = 4u;
                                }
                                else
                                {
                                    _1052 = ((((p.cols - 1u) / 8u) + 1u) > 1u) ? 2u : 1u;
                                }
                                _1042 = _1052;
                            }
                            _1032 = _1042;
                        }
                        _1022 = _1032;
                    }
                    _1012 = _1022;
                }
                _1002 = _1012;
            }
            _992 = _1002;
        }
        _983 = 256u / _992;
    }
    else
    {
        bool _1079;
        if (f16)
        {
            _1079 = (p.cols & 1u) != 0u;
        }
        else
        {
            _1079 = f16;
        }
        _983 = _1079 ? 2u : 1u;
    }
    uint R = _983;
    uint g = bn_group_linear(gl_WorkGroupID, gl_NumWorkGroups);
    if (g >= (((p.rows - 1u) / R) + 1u))
    {
        return;
    }
    uint r0 = g * R;
    uint nr = min(R, (p.rows - r0));
    uint lane = tid & (L - 1u);
    uint _1113 = 256u / L;
    uint _1140;
    float _1161;
    for (uint at_once = _1113, first = 0u; first < nr; first += at_once)
    {
        uint slot = first + (tid / L);
        uint base = (r0 + slot) * p.cols;
        if (slot < nr)
        {
            _1140 = p.cols;
        }
        else
        {
            _1140 = 0u;
        }
        uint end = _1140;
        float s = 0.0;
        float c = 0.0;
        for (uint j = lane; j < end; j += L)
        {
            if (f16)
            {
                uint param = (v_739.xw[(base + j) >> uint(1)] >> (((base + j) & 1u) << uint(4))) & 65535u;
                _1161 = bn_h2f(param);
            }
            else
            {
                _1161 = as_type<float>(v_739.xw[base + j]);
            }
            float x = _1161;
            float x2 = spvFMul(x, x);
            float param_1 = s;
            float param_2 = c;
            float param_3 = x2;
            bn_kahan_add(param_1, param_2, param_3);
            s = param_1;
            c = param_2;
        }
        float param_4 = s;
        float param_5 = c;
        float param_6 = bn_kahan_value(param_4, param_5);
        uint param_7 = L;
        float _1212 = bn_seg_sum(param_6, param_7, gl_LocalInvocationID, bn_tree);
        float ss = _1212;
        if ((lane == 0u) && (slot < nr))
        {
            float param_8 = ss;
            uint param_9 = p.cols;
            float param_10 = p.eps;
            st_r[slot] = bn_rms_scale(param_8, param_9, param_10);
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint e0 = r0 * p.cols;
    uint n = nr * p.cols;
    if (!f16)
    {
        uint _1264;
        for (uint k = tid; k < n; k += 256u)
        {
            if (R == 1u)
            {
                _1264 = 0u;
            }
            else
            {
                _1264 = k / p.cols;
            }
            uint slot_1 = _1264;
            uint param_11 = r0 + slot_1;
            uint param_12 = k - (slot_1 * p.cols);
            uint param_13 = slot_1;
            bool param_14 = false;
            _1276.yw[e0 + k] = as_type<uint>(value(param_11, param_12, param_13, param_14, v_739, p, st_r, v_789));
        }
        return;
    }
    uint w0 = e0 >> uint(1);
    uint word;
    for (uint k_1 = tid; (2u * k_1) < n; k_1 += 256u)
    {
        uint e = 2u * k_1;
        uint slot_2 = e / p.cols;
        uint param_15 = r0 + slot_2;
        uint param_16 = e - (slot_2 * p.cols);
        uint param_17 = slot_2;
        bool param_18 = true;
        float lo = value(param_15, param_16, param_17, param_18, v_739, p, st_r, v_789);
        if ((e + 1u) < n)
        {
            uint slot2 = (e + 1u) / p.cols;
            uint param_19 = r0 + slot2;
            uint param_20 = (e + 1u) - (slot2 * p.cols);
            uint param_21 = slot2;
            bool param_22 = true;
            float param_23 = lo;
            float param_24 = value(param_19, param_20, param_21, param_22, v_739, p, st_r, v_789);
            word = bn_pack_h2(param_23, param_24);
        }
        else
        {
            float param_25 = lo;
            word = bn_f2h(param_25) | (_1276.yw[w0 + k_1] & 4294901760u);
        }
        _1276.yw[w0 + k_1] = word;
    }
}

