/* emo_predict.c: pixel predictors (see emo_predict.h).
 *
 * Edge rule shared by all predictors (part of the format): the first pixel
 * of each channel is predicted as 0, the rest of the first row from the left
 * neighbour a, the rest of the first column from the neighbour above b.
 * Only interior pixels use the predictor's own formula.
 *
 * Decoding speed matters more than encoding speed (a dataset is written once
 * and read every epoch), so LEFT, UP and GRAD, whose inverses are prefix sums
 * and row additions, have SIMD paths for gray images; the nonlinear
 * predictors (AVG, PAETH, MED) carry a pixel-to-pixel dependency and are
 * decoded by a scalar loop. */
#include "emo_predict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSSE3__)
#include <tmmintrin.h>
#endif

static const char *const emo_pred_names[EMO_PRED__COUNT] = {
    "none", "left", "up", "grad", "avg", "paeth", "med",
};

const char *emo_predict_name(int pred)
{
    if (pred < 0 || pred >= EMO_PRED__COUNT) return "?";
    return emo_pred_names[pred];
}

static inline int emo_paeth(int a, int b, int c)
{
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
}

static inline int emo_med(int a, int b, int c)
{
    int mx = a > b ? a : b, mn = a < b ? a : b;
    if (c >= mx) return mn;
    if (c <= mn) return mx;
    return a + b - c;
}

/* Prediction of an interior pixel from its neighbours. */
static inline int emo_pred_interior(EmoPredictor pred, int a, int b, int c)
{
    switch (pred) {
    case EMO_PRED_LEFT: return a;
    case EMO_PRED_UP: return b;
    case EMO_PRED_GRAD: return a + b - c;
    case EMO_PRED_AVG: return (a + b) >> 1;
    case EMO_PRED_PAETH: return emo_paeth(a, b, c);
    case EMO_PRED_MED: return emo_med(a, b, c);
    default: return 0;
    }
}

/* Reference implementation of both directions: pixel i of `src` is decoded
 * (encode: read as pixels; decode: residuals made pixels in place), with
 * neighbours always read from the pixel buffer `px`. */
static void emo_predict_generic(EmoPredictor pred, const uint8_t *src, uint8_t *dst, const uint8_t *px,
                                int w, int h, int c, int decode)
{
    const size_t stride = (size_t)w * (size_t)c;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = px + (size_t)y * stride;
        const uint8_t *up = row - stride;
        for (int x = 0; x < w; x++) {
            for (int k = 0; k < c; k++) {
                size_t i = (size_t)x * (size_t)c + (size_t)k;
                int p;
                if (y == 0) p = x == 0 ? 0 : row[i - (size_t)c];
                else if (x == 0) p = up[i];
                else p = emo_pred_interior(pred, row[i - (size_t)c], up[i], up[i - (size_t)c]);
                size_t o = (size_t)y * stride + i;
                dst[o] = decode ? (uint8_t)(src[o] + p) : (uint8_t)(src[o] - p);
            }
        }
    }
}

void emo_predict_encode(EmoPredictor pred, const uint8_t *px, uint8_t *res, int w, int h, int c)
{
    if (pred == EMO_PRED_NONE || w <= 0 || h <= 0) {
        memcpy(res, px, (size_t)w * (size_t)h * (size_t)c);
        return;
    }
    emo_predict_generic(pred, px, res, px, w, h, c, 0);
}

/* p[i] += p[i-1] for i in [0, n), where p[-1] is `carry` (gray only). */
static inline uint8_t emo_prefix_sum(uint8_t *p, int n, uint8_t carry)
{
    int i = 0;
#if defined(__SSSE3__)
    __m128i acc = _mm_set1_epi8((char)carry);
    const __m128i last = _mm_set1_epi8(15);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        v = _mm_add_epi8(v, _mm_slli_si128(v, 1));
        v = _mm_add_epi8(v, _mm_slli_si128(v, 2));
        v = _mm_add_epi8(v, _mm_slli_si128(v, 4));
        v = _mm_add_epi8(v, _mm_slli_si128(v, 8));
        v = _mm_add_epi8(v, acc);
        _mm_storeu_si128((__m128i *)(p + i), v);
        acc = _mm_shuffle_epi8(v, last);
    }
    carry = (uint8_t)_mm_cvtsi128_si32(acc);
#endif
    for (; i < n; i++) carry = p[i] = (uint8_t)(p[i] + carry);
    return carry;
}

/* Gray fast paths: row 0 is always a plain prefix sum (edge rule). */
static void emo_decode_left1(uint8_t *buf, int w, int h)
{
    emo_prefix_sum(buf, w, 0);
    for (int y = 1; y < h; y++) {
        uint8_t *row = buf + (size_t)y * (size_t)w;
        emo_prefix_sum(row, w, row[-w]); /* x0 = r0 + b0, then left */
    }
}

static void emo_decode_up1(uint8_t *buf, int w, int h)
{
    emo_prefix_sum(buf, w, 0);
    for (int y = 1; y < h; y++) {
        uint8_t *row = buf + (size_t)y * (size_t)w;
        const uint8_t *up = row - w;
        for (int x = 0; x < w; x++) row[x] = (uint8_t)(row[x] + up[x]);
    }
}

/* GRAD's residual x - a - b + c is the horizontal difference of the vertical
 * difference d = x - b, so its inverse is a row prefix sum (giving d) plus
 * the row above. */
static void emo_decode_grad1(uint8_t *buf, int w, int h)
{
    emo_prefix_sum(buf, w, 0);
    for (int y = 1; y < h; y++) {
        uint8_t *row = buf + (size_t)y * (size_t)w;
        const uint8_t *up = row - w;
        emo_prefix_sum(row, w, 0);
        for (int x = 0; x < w; x++) row[x] = (uint8_t)(row[x] + up[x]);
    }
}

/* Nonlinear predictors, gray: the edge rule peeled off the inner loop. */
#define EMO_DECODE_SERIAL1(NAME, EXPR)                                       \
    static void NAME(uint8_t *buf, int w, int h)                             \
    {                                                                        \
        emo_prefix_sum(buf, w, 0);                                           \
        for (int y = 1; y < h; y++) {                                        \
            uint8_t *row = buf + (size_t)y * (size_t)w;                      \
            const uint8_t *up = row - w;                                     \
            int a = row[0] = (uint8_t)(row[0] + up[0]);                      \
            for (int x = 1; x < w; x++) {                                    \
                int b = up[x], c = up[x - 1];                                \
                (void)c;                                                     \
                a = row[x] = (uint8_t)(row[x] + (EXPR));                     \
            }                                                                \
        }                                                                    \
    }
EMO_DECODE_SERIAL1(emo_decode_avg1, (a + b) >> 1)
EMO_DECODE_SERIAL1(emo_decode_paeth1, emo_paeth(a, b, c))
EMO_DECODE_SERIAL1(emo_decode_med1, emo_med(a, b, c))

/* 32 lanes, written with GCC/Clang vector extensions: the compiler emits
 * AVX2 (one register) or SSE2 (two) as the target allows, from one source. */
typedef uint8_t EmoV32 __attribute__((vector_size(32)));

static inline EmoV32 emo_v32_load(const uint8_t *p)
{
    EmoV32 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void emo_v32_store(uint8_t *p, EmoV32 v)
{
    memcpy(p, &v, sizeof v);
}

static inline EmoV32 emo_v32_select(EmoV32 mask, EmoV32 yes, EmoV32 no)
{
    return (yes & mask) | (no & ~mask);
}

static inline EmoV32 emo_med_v32(EmoV32 a, EmoV32 b, EmoV32 c)
{
    EmoV32 a_gt_b = (EmoV32)(a > b);
    EmoV32 mx = emo_v32_select(a_gt_b, a, b), mn = emo_v32_select(a_gt_b, b, a);
    EmoV32 t = emo_v32_select((EmoV32)(c <= mn), mx, a + b - c);
    return emo_v32_select((EmoV32)(c >= mx), mn, t);
}

void emo_predict_decode_med_x32(uint8_t *buf, int w, int h)
{
    if (w <= 0 || h <= 0) return;
    enum { L = EMO_PREDICT_LANES };
    const size_t row = (size_t)w * L;
    EmoV32 a = emo_v32_load(buf); /* pixel 0: predicted as 0 */
    for (int x = 1; x < w; x++) {
        uint8_t *p = buf + (size_t)x * L;
        a = emo_v32_load(p) + a;
        emo_v32_store(p, a);
    }
    for (int y = 1; y < h; y++) {
        uint8_t *p = buf + (size_t)y * row;
        a = emo_v32_load(p) + emo_v32_load(p - row);
        emo_v32_store(p, a);
        for (int x = 1; x < w; x++) {
            p += L;
            EmoV32 b = emo_v32_load(p - row), c = emo_v32_load(p - row - L);
            a = emo_v32_load(p) + emo_med_v32(a, b, c);
            emo_v32_store(p, a);
        }
    }
}

void emo_predict_decode(EmoPredictor pred, uint8_t *buf, int w, int h, int c)
{
    if (pred == EMO_PRED_NONE || w <= 0 || h <= 0) return;
    if (c == 1) {
        switch (pred) {
        case EMO_PRED_LEFT: emo_decode_left1(buf, w, h); return;
        case EMO_PRED_UP: emo_decode_up1(buf, w, h); return;
        case EMO_PRED_GRAD: emo_decode_grad1(buf, w, h); return;
        case EMO_PRED_AVG: emo_decode_avg1(buf, w, h); return;
        case EMO_PRED_PAETH: emo_decode_paeth1(buf, w, h); return;
        case EMO_PRED_MED: emo_decode_med1(buf, w, h); return;
        default: return;
        }
    }
    emo_predict_generic(pred, buf, buf, buf, w, h, c, 1);
}

/* Order-0 entropy of the residuals in bits: a close proxy for what zstd's
 * Huffman stage will spend on them. */
static double emo_residual_bits(const uint8_t *res, size_t n)
{
    uint32_t hist[256] = {0};
    for (size_t i = 0; i < n; i++) hist[res[i]]++;
    double bits = 0;
    for (int v = 0; v < 256; v++)
        if (hist[v]) bits -= hist[v] * log2((double)hist[v] / (double)n);
    return bits;
}

EmoPredictor emo_predict_choose(uint32_t allowed, const uint8_t *px, uint8_t *res, uint8_t *scratch,
                                int w, int h, int c)
{
    const size_t n = (size_t)w * (size_t)h * (size_t)c;
    if (allowed && !(allowed & (allowed - 1))) { /* one candidate: nothing to estimate */
        EmoPredictor only = (EmoPredictor)__builtin_ctz(allowed);
        if (only < EMO_PRED__COUNT) {
            emo_predict_encode(only, px, res, w, h, c);
            return only;
        }
    }
    EmoPredictor best = EMO_PRED_NONE;
    double best_bits = 0;
    int have = 0;
    for (int p = 0; p < EMO_PRED__COUNT; p++) {
        if (!(allowed & (1u << p))) continue;
        uint8_t *out = have ? scratch : res;
        emo_predict_encode((EmoPredictor)p, px, out, w, h, c);
        double bits = emo_residual_bits(out, n);
        if (!have || bits < best_bits) {
            if (have) memcpy(res, scratch, n);
            best = (EmoPredictor)p;
            best_bits = bits;
            have = 1;
        }
    }
    if (!have) emo_predict_encode(EMO_PRED_NONE, px, res, w, h, c);
    return best;
}
