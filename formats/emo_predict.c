/* emo_predict.c: pixel predictors (see emo_predict.h).
 *
 * Edge rule shared by all predictors (part of the format): the first pixel
 * of each channel is predicted as 0, the rest of the first row from the left
 * neighbour a, the rest of the first column from the neighbour above b.
 * Only interior pixels use the predictor's own formula.
 *
 * Decoding speed matters most (a dataset is written once and read every
 * epoch), so LEFT, UP and GRAD, whose inverses are prefix sums and row
 * additions, have SIMD paths for gray images; the nonlinear predictors (AVG,
 * PAETH, MED) carry a pixel-to-pixel dependency and are decoded by a scalar
 * loop, except MED on 32 interleaved images at once (the layout the writer
 * uses for groups of same-size gray records), which is 32 bytes per step.
 * Encoding has no such chain (all neighbours are known pixels): MED encodes
 * 32 pixels per step for one gray image, and 32 images per step into the
 * interleaved layout (emo_predict_encode_med_x32), which augmentation's
 * write throughput depends on. */
#include "emo_predict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The 32-lane MED kernels use AVX2, else SSE2, else plain GCC vector
 * extensions (other CPUs); -DEMO_PREDICT_GENERIC forces the last, so tests
 * can check it on x86 too. */
#if defined(__AVX2__) && !defined(EMO_PREDICT_GENERIC)
#define EMO_X32_AVX2 1
#define EMO_X32_SSE2 0
#elif defined(__SSE2__) && !defined(EMO_PREDICT_GENERIC)
#define EMO_X32_AVX2 0
#define EMO_X32_SSE2 1
#else
#define EMO_X32_AVX2 0
#define EMO_X32_SSE2 0
#endif

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSSE3__)
#include <tmmintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
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

static void emo_encode_med1(const uint8_t *px, uint8_t *res, int w, int h);

void emo_predict_encode(EmoPredictor pred, const uint8_t *px, uint8_t *res, int w, int h, int c)
{
    if (pred == EMO_PRED_NONE || w <= 0 || h <= 0) {
        memcpy(res, px, (size_t)w * (size_t)h * (size_t)c);
        return;
    }
    if (pred == EMO_PRED_MED && c == 1) {
        emo_encode_med1(px, res, w, h);
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
 * AVX2 (one register) or SSE2 (two) as the target allows, from one source.
 * Unsigned byte min/max have no vector-extension spelling, so they use the
 * SSE2/AVX2 instructions where there are some (a select elsewhere). */
typedef uint8_t EmoV32 __attribute__((vector_size(32)));

/* Without AVX, GCC and Clang warn that 32-byte vector arguments and returns
 * are passed differently than with AVX (-Wpsabi). Every function here that
 * takes or returns one is static, so no such value crosses an ABI boundary. */
#if defined(__GNUC__) && !defined(__AVX__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

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

#if EMO_X32_SSE2
typedef union {
    EmoV32 v;
    __m128i h[2];
} EmoV32Halves;
#endif

static inline EmoV32 emo_v32_min(EmoV32 a, EmoV32 b)
{
#if EMO_X32_AVX2
    return (EmoV32)_mm256_min_epu8((__m256i)a, (__m256i)b);
#elif EMO_X32_SSE2
    EmoV32Halves x = {.v = a}, y = {.v = b};
    x.h[0] = _mm_min_epu8(x.h[0], y.h[0]);
    x.h[1] = _mm_min_epu8(x.h[1], y.h[1]);
    return x.v;
#else
    EmoV32 m = (EmoV32)(a < b);
    return (a & m) | (b & ~m);
#endif
}

static inline EmoV32 emo_v32_max(EmoV32 a, EmoV32 b)
{
#if EMO_X32_AVX2
    return (EmoV32)_mm256_max_epu8((__m256i)a, (__m256i)b);
#elif EMO_X32_SSE2
    EmoV32Halves x = {.v = a}, y = {.v = b};
    x.h[0] = _mm_max_epu8(x.h[0], y.h[0]);
    x.h[1] = _mm_max_epu8(x.h[1], y.h[1]);
    return x.v;
#else
    EmoV32 m = (EmoV32)(a > b);
    return (a & m) | (b & ~m);
#endif
}

/* MED as min/max: its prediction is a + b - median(a, b, c) (c >= max(a,b)
 * gives min(a,b), c <= min(a,b) gives max(a,b), else a + b - c), and the
 * median of three is a clamp. The result lies in [min(a,b), max(a,b)], so
 * computing it mod 256 is exact. */
static inline EmoV32 emo_v32_median3(EmoV32 a, EmoV32 b, EmoV32 c)
{
    return emo_v32_max(emo_v32_min(a, b), emo_v32_min(emo_v32_max(a, b), c));
}

/*-*** 32 x 16 byte transposes (the interleaved layout <-> record order) ***/

/* The transposes must be inlined and fully unrolled so that their 16
 * vectors stay in registers: left to -O2, GCC keeps them in a stack array
 * and the un-interleave costs 3x as much (measured). */
#if defined(__clang__)
#define EMO_UNROLL _Pragma("unroll")
#else
#define EMO_UNROLL _Pragma("GCC unroll 16")
#endif
#define EMO_INLINE static inline __attribute__((always_inline))

#if EMO_X32_AVX2
/* Two independent 16x16 byte transposes, one per 128-bit lane (AVX2
 * unpacks work per lane): row m of the result is column m of the input. */
EMO_INLINE void emo_tr16_x2(__m256i a[16])
{
    __m256i b[16], c[16], d[16];
    EMO_UNROLL
    for (int k = 0; k < 8; k++) {
        b[2 * k] = _mm256_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
        b[2 * k + 1] = _mm256_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
    }
    EMO_UNROLL
    for (int g = 0; g < 16; g += 4) {
        c[g] = _mm256_unpacklo_epi16(b[g], b[g + 2]);
        c[g + 1] = _mm256_unpackhi_epi16(b[g], b[g + 2]);
        c[g + 2] = _mm256_unpacklo_epi16(b[g + 1], b[g + 3]);
        c[g + 3] = _mm256_unpackhi_epi16(b[g + 1], b[g + 3]);
    }
    EMO_UNROLL
    for (int g = 0; g < 16; g += 8) {
        EMO_UNROLL
        for (int k = 0; k < 4; k++) {
            d[g + 2 * k] = _mm256_unpacklo_epi32(c[g + k], c[g + k + 4]);
            d[g + 2 * k + 1] = _mm256_unpackhi_epi32(c[g + k], c[g + k + 4]);
        }
    }
    EMO_UNROLL
    for (int k = 0; k < 8; k++) {
        a[2 * k] = _mm256_unpacklo_epi64(d[k], d[k + 8]);
        a[2 * k + 1] = _mm256_unpackhi_epi64(d[k], d[k + 8]);
    }
}
#elif EMO_X32_SSE2
EMO_INLINE void emo_tr16(__m128i a[16])
{
    __m128i b[16], c[16], d[16];
    EMO_UNROLL
    for (int k = 0; k < 8; k++) {
        b[2 * k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
        b[2 * k + 1] = _mm_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
    }
    EMO_UNROLL
    for (int g = 0; g < 16; g += 4) {
        c[g] = _mm_unpacklo_epi16(b[g], b[g + 2]);
        c[g + 1] = _mm_unpackhi_epi16(b[g], b[g + 2]);
        c[g + 2] = _mm_unpacklo_epi16(b[g + 1], b[g + 3]);
        c[g + 3] = _mm_unpackhi_epi16(b[g + 1], b[g + 3]);
    }
    EMO_UNROLL
    for (int g = 0; g < 16; g += 8) {
        EMO_UNROLL
        for (int k = 0; k < 4; k++) {
            d[g + 2 * k] = _mm_unpacklo_epi32(c[g + k], c[g + k + 4]);
            d[g + 2 * k + 1] = _mm_unpackhi_epi32(c[g + k], c[g + k + 4]);
        }
    }
    EMO_UNROLL
    for (int k = 0; k < 8; k++) {
        a[2 * k] = _mm_unpacklo_epi64(d[k], d[k + 8]);
        a[2 * k + 1] = _mm_unpackhi_epi64(d[k], d[k + 8]);
    }
}
#endif

/* Pixels [j0, j0 + 16) of the 32 interleaved images in `src` to record
 * order: image k's pixel j to dst[k*npx + j]. */
EMO_INLINE void emo_split16(const uint8_t *src, uint8_t *dst, size_t npx, size_t j0)
{
#if EMO_X32_AVX2
    __m256i a[16];
    EMO_UNROLL
    for (int k = 0; k < 16; k++) a[k] = _mm256_loadu_si256((const __m256i *)(src + (j0 + (size_t)k) * 32));
    emo_tr16_x2(a);
    EMO_UNROLL
    for (int k = 0; k < 16; k++) {
        uint8_t *o = dst + (size_t)k * npx + j0;
        _mm_storeu_si128((__m128i *)o, _mm256_castsi256_si128(a[k]));
        _mm_storeu_si128((__m128i *)(o + 16 * npx), _mm256_extracti128_si256(a[k], 1));
    }
#elif EMO_X32_SSE2
    EMO_UNROLL
    for (int half = 0; half < 2; half++) {
        __m128i a[16];
        EMO_UNROLL
        for (int k = 0; k < 16; k++)
            a[k] = _mm_loadu_si128((const __m128i *)(src + (j0 + (size_t)k) * 32 + 16 * half));
        emo_tr16(a);
        EMO_UNROLL
        for (int k = 0; k < 16; k++) _mm_storeu_si128((__m128i *)(dst + (size_t)(16 * half + k) * npx + j0), a[k]);
    }
#else
    EMO_UNROLL
    for (size_t j = j0; j < j0 + 16; j++)
        EMO_UNROLL
        for (size_t k = 0; k < 32; k++) dst[k * npx + j] = src[j * 32 + k];
#endif
}

/* The inverse: pixels [j0, j0 + 16) of the 32 images src[k] into the
 * interleaved layout at dst (byte j*32 + k). A transpose is its own
 * inverse, so this is the same network with loads and stores swapped. */
EMO_INLINE void emo_join16(const uint8_t *const src[EMO_PREDICT_LANES], uint8_t *dst, size_t j0)
{
#if EMO_X32_AVX2
    __m256i a[16];
    EMO_UNROLL
    for (int k = 0; k < 16; k++)
        a[k] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(src[k] + j0))),
                                       _mm_loadu_si128((const __m128i *)(src[k + 16] + j0)), 1);
    emo_tr16_x2(a);
    EMO_UNROLL
    for (int k = 0; k < 16; k++) _mm256_storeu_si256((__m256i *)(dst + (j0 + (size_t)k) * 32), a[k]);
#elif EMO_X32_SSE2
    EMO_UNROLL
    for (int half = 0; half < 2; half++) {
        __m128i a[16];
        EMO_UNROLL
        for (int k = 0; k < 16; k++) a[k] = _mm_loadu_si128((const __m128i *)(src[16 * half + k] + j0));
        emo_tr16(a);
        EMO_UNROLL
        for (int k = 0; k < 16; k++) _mm_storeu_si128((__m128i *)(dst + (j0 + (size_t)k) * 32 + 16 * half), a[k]);
    }
#else
    EMO_UNROLL
    for (size_t j = j0; j < j0 + 16; j++)
        EMO_UNROLL
        for (size_t k = 0; k < 32; k++) dst[j * 32 + k] = src[k][j];
#endif
}

/* Decodes row y of the interleaved images in place (rows above done). */
static inline void emo_med_x32_row(uint8_t *buf, int w, int y)
{
    enum { L = EMO_PREDICT_LANES };
    const size_t row = (size_t)w * L;
    uint8_t *p = buf + (size_t)y * row;
    if (y == 0) { /* pixel 0 is predicted as 0, the rest of the row from a */
        EmoV32 a = emo_v32_load(p);
        for (int x = 1; x < w; x++) {
            p += L;
            a = emo_v32_load(p) + a;
            emo_v32_store(p, a);
        }
        return;
    }
    EmoV32 a = emo_v32_load(p) + emo_v32_load(p - row);
    emo_v32_store(p, a);
    for (int x = 1; x < w; x++) {
        p += L;
        EmoV32 b = emo_v32_load(p - row), c = emo_v32_load(p - row - L);
        /* pred = a + b - median(a, b, c) and median(a, b, c) = clamp(a,
         * min(b,c), max(b,c)): only max, min, sub depend on the previous
         * pixel, a 3-instruction chain. */
        EmoV32 lo = emo_v32_min(b, c), hi = emo_v32_max(b, c), t = emo_v32_load(p) + b;
        a = (t + a) - emo_v32_min(emo_v32_max(a, lo), hi);
        emo_v32_store(p, a);
    }
}

void emo_predict_decode_med_x32(uint8_t *buf, int w, int h)
{
    if (w <= 0 || h <= 0) return;
    for (int y = 0; y < h; y++) emo_med_x32_row(buf, w, y);
}

void emo_predict_decode_med_x32_split(uint8_t *buf, uint8_t *dst, int w, int h)
{
    if (w <= 0 || h <= 0) return;
    const size_t npx = (size_t)w * (size_t)h;
    size_t done = 0;
    for (int y = 0; y < h; y++) {
        emo_med_x32_row(buf, w, y);
        const size_t ready = (size_t)(y + 1) * (size_t)w;
        for (; done + 16 <= ready; done += 16) emo_split16(buf, dst, npx, done);
    }
    for (; done < npx; done++)
        for (size_t k = 0; k < EMO_PREDICT_LANES; k++) dst[k * npx + done] = buf[done * EMO_PREDICT_LANES + k];
}

void emo_predict_encode_med_x32(const uint8_t *const src[EMO_PREDICT_LANES], uint8_t *res, int w, int h)
{
    if (w <= 0 || h <= 0) return;
    enum { L = EMO_PREDICT_LANES };
    const size_t npx = (size_t)w * (size_t)h, row = (size_t)w * L;
    /* Interleave the pixels into res, then turn them into residuals in
     * place from the last pixel back: each residual needs only pixels at
     * lower offsets, which are still pixels when it is computed. */
    size_t j = 0;
    for (; j + 16 <= npx; j += 16) emo_join16(src, res, j);
    for (; j < npx; j++)
        for (size_t k = 0; k < L; k++) res[j * L + k] = src[k][j];
    for (int y = h - 1; y >= 1; y--) {
        uint8_t *p = res + (size_t)y * row + (size_t)(w - 1) * L;
        for (int x = w - 1; x >= 1; x--, p -= L) {
            EmoV32 a = emo_v32_load(p - L), b = emo_v32_load(p - row), c = emo_v32_load(p - row - L);
            emo_v32_store(p, emo_v32_load(p) - a - b + emo_v32_median3(a, b, c));
        }
        emo_v32_store(p, emo_v32_load(p) - emo_v32_load(p - row)); /* x = 0: from b */
    }
    for (int x = w - 1; x >= 1; x--) { /* row 0: from a; pixel 0 stays */
        uint8_t *p = res + (size_t)x * L;
        emo_v32_store(p, emo_v32_load(p) - emo_v32_load(p - L));
    }
}

/* MED encode of one gray image: rows are independent given the pixels, so
 * the interior is 32 pixels per step; the edge rule and row tails scalar. */
static void emo_encode_med1(const uint8_t *px, uint8_t *res, int w, int h)
{
    res[0] = px[0];
    for (int x = 1; x < w; x++) res[x] = (uint8_t)(px[x] - px[x - 1]);
    for (int y = 1; y < h; y++) {
        const uint8_t *row = px + (size_t)y * (size_t)w, *up = row - w;
        uint8_t *out = res + (size_t)y * (size_t)w;
        out[0] = (uint8_t)(row[0] - up[0]);
        int x = 1;
        for (; x + 32 <= w; x += 32) {
            EmoV32 a = emo_v32_load(row + x - 1), b = emo_v32_load(up + x), c = emo_v32_load(up + x - 1);
            emo_v32_store(out + x, emo_v32_load(row + x) - a - b + emo_v32_median3(a, b, c));
        }
        for (; x < w; x++) out[x] = (uint8_t)(row[x] - emo_med(row[x - 1], up[x], up[x - 1]));
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
