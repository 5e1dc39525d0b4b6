/* aug_warp.c: the fixed-point bilinear warp and its double-precision
 * reference (see aug_warp.h). */
#include "aug_warp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

/* Fraction bits of the blend weights: 10 bits keep the two-stage blend
 * (255 * 1024 * 1024 < 2^31) in 32-bit integers while the position error
 * (1/2048 pixel) stays far below a gray level. */
#define AUG_WBITS 10
#define AUG_WONE (1 << AUG_WBITS)
/* Half a weight step in 16.16 units: fractions round to nearest. */
#define AUG_WROUND (1 << (15 - AUG_WBITS))
#define AUG_BLEND_ROUND (1u << (2 * AUG_WBITS - 1))

/* The fixed-point path holds source coordinates, offset to be non-negative,
 * in 16.16 int32: images up to this side, maps landing within a few image
 * sizes of the source (zoom <= 2, shifts of one image, any rotation). */
#define AUG_FAST_MAX_SIDE 4096

int aug_border_index(int i, int n, AugBorderMode mode)
{
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case AUG_BORDER_REPLICATE:
        return i < 0 ? 0 : n - 1;
    case AUG_BORDER_REFLECT: {
        /* dcba|abcd|dcba is periodic with period 2n. */
        long p = 2L * n;
        long m = ((long)i % p + p) % p;
        return (int)(m < n ? m : p - 1 - m);
    }
    case AUG_BORDER_CONSTANT:
    default:
        return -1;
    }
}

void aug_warp_scratch_free(AugWarpScratch *s)
{
    if (!s) return;
    free(s->xmap);
    free(s->ymap);
    free(s->padded);
    memset(s, 0, sizeof *s);
}

static int grow(void **p, size_t *cap, size_t need)
{
    if (*cap >= need) return 1;
    void *q = realloc(*p, need);
    if (!q) return 0;
    *p = q;
    *cap = need;
    return 1;
}

/* One output row through the index tables (the general path: any border,
 * any channel count). `ch` is a compile-time constant at the gray call site,
 * so the channel loop disappears there. */
static inline void warp_row_tables(const uint8_t *restrict src, uint8_t *restrict drow, int w, int ch,
                                   int32_t sx, int32_t dx, int32_t sy, int32_t dy,
                                   const int32_t *restrict xmap, const int32_t *restrict ymap)
{
    for (int x = 0; x < w; x++, sx += dx, sy += dy) {
        int32_t ix = sx >> 16, iy = sy >> 16;
        uint32_t fx = ((uint32_t)(sx & 0xFFFF) + AUG_WROUND) >> (16 - AUG_WBITS);
        uint32_t fy = ((uint32_t)(sy & 0xFFFF) + AUG_WROUND) >> (16 - AUG_WBITS);
        const uint8_t *r0 = src + ymap[iy], *r1 = src + ymap[iy + 1];
        int32_t c0 = xmap[ix], c1 = xmap[ix + 1];
        for (int c = 0; c < ch; c++) {
            uint32_t t0 = r0[c0 + c] * (AUG_WONE - fx) + r0[c1 + c] * fx;
            uint32_t t1 = r1[c0 + c] * (AUG_WONE - fx) + r1[c1 + c] * fx;
            drow[x * ch + c] = (uint8_t)((t0 * (AUG_WONE - fy) + t1 * fy + AUG_BLEND_ROUND) >> (2 * AUG_WBITS));
        }
    }
}

/* The gray fast path. The source is a buffer whose valid area is
 * [0, xspan] x [0, yspan] (the image plus any border ring already filled in),
 * and clamping a sample point into that area gives the right value: true
 * for replicate (the ring is the edge) and constant (a 1-pixel ring of the
 * value), and for reflect when the ring covers every point sampled. Taps
 * stay inside because the left tap is limited to span-1 and then carries
 * the whole weight (fraction 1024) at the far edge. No tables, no branches:
 * the loop is plain integer arithmetic plus four byte loads. */
typedef struct {
    const uint8_t *base;    /* top-left of the valid area */
    int32_t stride;
    int32_t xspan, yspan;   /* valid area is [0, span] in each axis */
} FastSrc;

static inline void warp_gray_scalar(const FastSrc *fs, uint8_t *restrict drow, int x0, int w,
                                    int32_t sx, int32_t dx, int32_t sy, int32_t dy)
{
    const uint8_t *restrict b = fs->base;
    const int32_t stride = fs->stride;
    const int32_t xmax = fs->xspan << 16, ymax = fs->yspan << 16;
    const int32_t ixmax = fs->xspan - 1, iymax = fs->yspan - 1;
    for (int x = x0; x < w; x++) {
        int32_t px = sx + x * dx, py = sy + x * dy;
        px = px < 0 ? 0 : px > xmax ? xmax : px;
        py = py < 0 ? 0 : py > ymax ? ymax : py;
        int32_t ix = px >> 16, iy = py >> 16;
        ix = ix > ixmax ? ixmax : ix;
        iy = iy > iymax ? iymax : iy;
        uint32_t fx = (uint32_t)(px - (ix << 16) + AUG_WROUND) >> (16 - AUG_WBITS);
        uint32_t fy = (uint32_t)(py - (iy << 16) + AUG_WROUND) >> (16 - AUG_WBITS);
        const uint8_t *p = b + iy * stride + ix;
        uint32_t t0 = p[0] * (AUG_WONE - fx) + p[1] * fx;
        uint32_t t1 = p[stride] * (AUG_WONE - fx) + p[stride + 1] * fx;
        drow[x] = (uint8_t)((t0 * (AUG_WONE - fy) + t1 * fy + AUG_BLEND_ROUND) >> (2 * AUG_WBITS));
    }
}

#ifdef __AVX2__
/* The same arithmetic, 8 pixels at a time. Each pair of horizontal taps is
 * one 32-bit gather: the upper row reads bytes [i, i+3] and uses bytes 0-1,
 * the lower row reads [i+stride-2, i+stride+1] and uses bytes 2-3, so
 * neither read leaves the buffer (the first cannot pass the last row, the
 * second cannot start before the first). Returns the first x not done. */
static int warp_gray_avx2(const FastSrc *fs, uint8_t *restrict drow, int w,
                          int32_t sx, int32_t dx, int32_t sy, int32_t dy)
{
    const int *top = (const int *)(const void *)fs->base;
    const int *bot = (const int *)(const void *)(fs->base + fs->stride - 2);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i px = _mm256_add_epi32(_mm256_set1_epi32(sx), _mm256_mullo_epi32(lane, _mm256_set1_epi32(dx)));
    __m256i py = _mm256_add_epi32(_mm256_set1_epi32(sy), _mm256_mullo_epi32(lane, _mm256_set1_epi32(dy)));
    const __m256i stepx = _mm256_set1_epi32(8 * dx), stepy = _mm256_set1_epi32(8 * dy);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i xmax = _mm256_set1_epi32(fs->xspan << 16), ymax = _mm256_set1_epi32(fs->yspan << 16);
    const __m256i ixmax = _mm256_set1_epi32(fs->xspan - 1), iymax = _mm256_set1_epi32(fs->yspan - 1);
    const __m256i stride = _mm256_set1_epi32(fs->stride), bytemask = _mm256_set1_epi32(0xFF);
    const __m256i wround = _mm256_set1_epi32(AUG_WROUND), bround = _mm256_set1_epi32(AUG_BLEND_ROUND);
    int x = 0;
    for (; x + 8 <= w; x += 8) {
        __m256i cx = _mm256_min_epi32(_mm256_max_epi32(px, zero), xmax);
        __m256i cy = _mm256_min_epi32(_mm256_max_epi32(py, zero), ymax);
        __m256i ix = _mm256_min_epi32(_mm256_srai_epi32(cx, 16), ixmax);
        __m256i iy = _mm256_min_epi32(_mm256_srai_epi32(cy, 16), iymax);
        __m256i fx = _mm256_srli_epi32(_mm256_add_epi32(_mm256_sub_epi32(cx, _mm256_slli_epi32(ix, 16)), wround),
                                       16 - AUG_WBITS);
        __m256i fy = _mm256_srli_epi32(_mm256_add_epi32(_mm256_sub_epi32(cy, _mm256_slli_epi32(iy, 16)), wround),
                                       16 - AUG_WBITS);
        __m256i idx = _mm256_add_epi32(_mm256_mullo_epi32(iy, stride), ix);
        __m256i g0 = _mm256_i32gather_epi32(top, idx, 1);
        __m256i g1 = _mm256_i32gather_epi32(bot, idx, 1);
        __m256i p00 = _mm256_and_si256(g0, bytemask);
        __m256i p01 = _mm256_and_si256(_mm256_srli_epi32(g0, 8), bytemask);
        __m256i p10 = _mm256_and_si256(_mm256_srli_epi32(g1, 16), bytemask);
        __m256i p11 = _mm256_srli_epi32(g1, 24);
        /* t = p0 * (1 - f) + p1 * f, written as p0 * 1 + (p1 - p0) * f. */
        __m256i t0 = _mm256_add_epi32(_mm256_slli_epi32(p00, AUG_WBITS),
                                      _mm256_mullo_epi32(_mm256_sub_epi32(p01, p00), fx));
        __m256i t1 = _mm256_add_epi32(_mm256_slli_epi32(p10, AUG_WBITS),
                                      _mm256_mullo_epi32(_mm256_sub_epi32(p11, p10), fx));
        __m256i v = _mm256_add_epi32(_mm256_slli_epi32(t0, AUG_WBITS),
                                     _mm256_mullo_epi32(_mm256_sub_epi32(t1, t0), fy));
        v = _mm256_srli_epi32(_mm256_add_epi32(v, bround), 2 * AUG_WBITS);
        /* 8 x int32 (each 0..255) -> 8 bytes: packs work per 128-bit lane. */
        __m256i v16 = _mm256_packus_epi32(v, v);
        __m256i v8 = _mm256_packus_epi16(v16, v16);
        uint32_t lo = (uint32_t)_mm256_extract_epi32(v8, 0), hi = (uint32_t)_mm256_extract_epi32(v8, 4);
        memcpy(drow + x, &lo, 4);
        memcpy(drow + x + 4, &hi, 4);
        px = _mm256_add_epi32(px, stepx);
        py = _mm256_add_epi32(py, stepy);
    }
    return x;
}
#endif

static void warp_row_gray(const FastSrc *fs, uint8_t *restrict drow, int w, int32_t sx, int32_t dx,
                          int32_t sy, int32_t dy, int simd)
{
    int x = 0;
#ifdef __AVX2__
    if (simd) x = warp_gray_avx2(fs, drow, w, sx, dx, sy, dy);
#else
    (void)simd;
#endif
    warp_gray_scalar(fs, drow, x, w, sx, dx, sy, dy);
}

/* Source coordinates of the corners' images: the bounding box of every
 * point the warp samples (an affine map sends the output rectangle to a
 * parallelogram, whose extremes are its corners). */
static void sample_bbox(const AugAffine *inv, int w, int h, double *xmin, double *xmax,
                        double *ymin, double *ymax)
{
    *xmin = *ymin = INFINITY;
    *xmax = *ymax = -INFINITY;
    for (int k = 0; k < 4; k++) {
        double px = (k & 1) ? w - 1 : 0, py = (k & 2) ? h - 1 : 0, qx, qy;
        aug_affine_apply(inv, px, py, &qx, &qy);
        *xmin = fmin(*xmin, qx), *xmax = fmax(*xmax, qx);
        *ymin = fmin(*ymin, qy), *ymax = fmax(*ymax, qy);
    }
}

/* Reflect mode keeps the fast path while the points sampled stay within
 * this many pixels of the image (the default recipe reaches ~12 on 48x48). */
#define AUG_REFLECT_MAX_RING 24

/* Fills the buffer of the gray fast path: for replicate the source itself;
 * otherwise a copy with a ring of `ring` pixels filled by the border mode.
 * Returns 0 if the fast path does not apply (then the table path runs). */
static int fast_source(const uint8_t *src, int w, int h, const AugBorder *border, double xmin,
                       double xmax, double ymin, double ymax, AugWarpScratch *s, FastSrc *fs,
                       int *nomem)
{
    if (w < 2 || h < 2) return 0;
    int ring;
    if (border->mode == AUG_BORDER_REPLICATE) {
        fs->base = src, fs->stride = w, fs->xspan = w - 1, fs->yspan = h - 1;
        return 1;
    } else if (border->mode == AUG_BORDER_CONSTANT) {
        ring = 1;
    } else {
        double over = fmax(fmax(-xmin, xmax - (w - 1)), fmax(-ymin, ymax - (h - 1)));
        if (over > AUG_REFLECT_MAX_RING) return 0;
        ring = over < 0 ? 1 : (int)ceil(over) + 1;
    }
    int pw = w + 2 * ring, ph = h + 2 * ring;
    if (!grow((void **)&s->padded, &s->padded_cap, (size_t)pw * ph)) {
        *nomem = 1;
        return 0;
    }
    for (int py = 0; py < ph; py++) {
        uint8_t *row = s->padded + (size_t)py * pw;
        int sy = aug_border_index(py - ring, h, border->mode);
        if (sy < 0) {
            memset(row, border->value, pw);
            continue;
        }
        const uint8_t *srow = src + (size_t)sy * w;
        for (int px = 0; px < ring; px++) {
            int a = aug_border_index(px - ring, w, border->mode);
            int b = aug_border_index(w + px, w, border->mode);
            row[px] = a < 0 ? border->value : srow[a];
            row[ring + w + px] = b < 0 ? border->value : srow[b];
        }
        memcpy(row + ring, srow, w);
    }
    fs->base = s->padded, fs->stride = pw, fs->xspan = pw - 1, fs->yspan = ph - 1;
    return 1;
}

EmoStatus aug_warp(const uint8_t *src, int width, int height, int channels, uint8_t *dst,
                   const AugAffine *inv, const AugBorder *border, AugWarpScratch *s, EmoError *err)
{
    if (width < 1 || height < 1 || channels < 1 || channels > 4)
        return emo_error_set(err, EMO_ERR_ARG, "warp: bad image shape %dx%dx%d", width, height, channels);
    const double *m = inv->m;
    for (int i = 0; i < 6; i++)
        if (!isfinite(m[i])) return emo_error_set(err, EMO_ERR_ARG, "warp: non-finite matrix");

    double xmin, xmax, ymin, ymax;
    sample_bbox(inv, width, height, &xmin, &xmax, &ymin, &ymax);
    if (width > AUG_FAST_MAX_SIDE || height > AUG_FAST_MAX_SIDE || xmin < -2.0 * width - 8 ||
        xmax > 3.0 * width + 8 || ymin < -2.0 * height - 8 || ymax > 3.0 * height + 8) {
        aug_warp_ref(src, width, height, channels, dst, inv, border);
        return EMO_OK;
    }
    const double q = 65536.0;
    int32_t dx = (int32_t)lrint(m[0] * q), dy = (int32_t)lrint(m[3] * q);

    /* Each row starts from its exactly computed coordinate (no error carried
     * from row to row) and steps by the first matrix column in 16.16. */
    FastSrc fs;
    int nomem = 0;
    if (channels == 1 && s->path != AUG_WARP_PATH_TABLES &&
        fast_source(src, width, height, border, xmin, xmax, ymin, ymax, s, &fs, &nomem)) {
        /* Coordinates relative to the valid area's corner; clamped to a few
         * pixels outside it so that x * dx cannot overflow int32. */
        double ox = (fs.xspan - (width - 1)) / 2.0, oy = (fs.yspan - (height - 1)) / 2.0;
        for (int y = 0; y < height; y++) {
            int32_t sx = (int32_t)lrint((m[1] * y + m[2] + ox) * q);
            int32_t sy = (int32_t)lrint((m[4] * y + m[5] + oy) * q);
            warp_row_gray(&fs, dst + (size_t)y * width, width, sx, dx, sy, dy,
                          s->path != AUG_WARP_PATH_SCALAR);
        }
        return EMO_OK;
    }
    if (nomem) return emo_error_set(err, EMO_ERR_NOMEM, "warp: out of memory");

    /* General path: tables map every source row/column the samples can reach
     * (bounding box plus a margin for the +1 taps and rounding) to where the
     * border mode reads it. */
    int x_lo = (int)floor(xmin) - 2, x_hi = (int)floor(xmax) + 3;
    int y_lo = (int)floor(ymin) - 2, y_hi = (int)floor(ymax) + 3;
    size_t nx = (size_t)(x_hi - x_lo + 1), ny = (size_t)(y_hi - y_lo + 1);

    /* Constant mode reads "outside" from an extra column and row holding the
     * border value, so it needs no branch in the inner loop either. */
    const uint8_t *base = src;
    size_t stride = (size_t)width * channels;
    if (border->mode == AUG_BORDER_CONSTANT) {
        size_t pstride = (size_t)(width + 1) * channels;
        if (!grow((void **)&s->padded, &s->padded_cap, pstride * (height + 1)))
            return emo_error_set(err, EMO_ERR_NOMEM, "warp: out of memory");
        for (int y = 0; y < height; y++) {
            memcpy(s->padded + y * pstride, src + y * stride, stride);
            memset(s->padded + y * pstride + stride, border->value, channels);
        }
        memset(s->padded + height * pstride, border->value, pstride);
        base = s->padded;
        stride = pstride;
    }
    if (!grow((void **)&s->xmap, &s->xmap_cap, nx * sizeof *s->xmap) ||
        !grow((void **)&s->ymap, &s->ymap_cap, ny * sizeof *s->ymap))
        return emo_error_set(err, EMO_ERR_NOMEM, "warp: out of memory");
    for (size_t i = 0; i < nx; i++) {
        int j = aug_border_index(x_lo + (int)i, width, border->mode);
        s->xmap[i] = (j < 0 ? width : j) * channels;
    }
    for (size_t i = 0; i < ny; i++) {
        int j = aug_border_index(y_lo + (int)i, height, border->mode);
        s->ymap[i] = (int32_t)((size_t)(j < 0 ? height : j) * stride);
    }
    for (int y = 0; y < height; y++) {
        int32_t sx = (int32_t)lrint((m[1] * y + m[2] - x_lo) * q);
        int32_t sy = (int32_t)lrint((m[4] * y + m[5] - y_lo) * q);
        uint8_t *drow = dst + (size_t)y * width * channels;
        if (channels == 1)
            warp_row_tables(base, drow, width, 1, sx, dx, sy, dy, s->xmap, s->ymap);
        else
            warp_row_tables(base, drow, width, channels, sx, dx, sy, dy, s->xmap, s->ymap);
    }
    return EMO_OK;
}

/* Bilinear sample of channel c at (x, y) in double precision. */
static double sample_ref(const uint8_t *src, int w, int h, int ch, int c, double x, double y,
                         const AugBorder *b)
{
    /* Far-away points all read border pixels; clamping keeps int casts defined. */
    x = fmin(fmax(x, -1e6), 1e6);
    y = fmin(fmax(y, -1e6), 1e6);
    double fx0 = floor(x), fy0 = floor(y);
    double fx = x - fx0, fy = y - fy0;
    int x0 = (int)fx0, y0 = (int)fy0;
    double v[4];
    for (int k = 0; k < 4; k++) {
        int xi = aug_border_index(x0 + (k & 1), w, b->mode);
        int yi = aug_border_index(y0 + (k >> 1), h, b->mode);
        v[k] = (xi < 0 || yi < 0) ? b->value : src[((size_t)yi * w + xi) * ch + c];
    }
    return (v[0] * (1 - fx) + v[1] * fx) * (1 - fy) + (v[2] * (1 - fx) + v[3] * fx) * fy;
}

void aug_warp_ref(const uint8_t *src, int width, int height, int channels, uint8_t *dst,
                  const AugAffine *inv, const AugBorder *border)
{
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            double sx, sy;
            aug_affine_apply(inv, x, y, &sx, &sy);
            for (int c = 0; c < channels; c++) {
                double v = floor(sample_ref(src, width, height, channels, c, sx, sy, border) + 0.5);
                dst[((size_t)y * width + x) * channels + c] = (uint8_t)fmin(fmax(v, 0), 255);
            }
        }
}

void aug_warp_ref_f32(const float *src, int width, int height, float *dst,
                      const AugAffine *inv, const AugBorder *border)
{
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            double sx, sy;
            aug_affine_apply(inv, x, y, &sx, &sy);
            sx = fmin(fmax(sx, -1e6), 1e6);
            sy = fmin(fmax(sy, -1e6), 1e6);
            double fx0 = floor(sx), fy0 = floor(sy), fx = sx - fx0, fy = sy - fy0;
            double v[4];
            for (int k = 0; k < 4; k++) {
                int xi = aug_border_index((int)fx0 + (k & 1), width, border->mode);
                int yi = aug_border_index((int)fy0 + (k >> 1), height, border->mode);
                v[k] = (xi < 0 || yi < 0) ? border->value : src[(size_t)yi * width + xi];
            }
            dst[(size_t)y * width + x] =
                (float)((v[0] * (1 - fx) + v[1] * fx) * (1 - fy) + (v[2] * (1 - fx) + v[3] * fx) * fy);
        }
}
