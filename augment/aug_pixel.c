/* aug_pixel.c: tone table, blur, noise and erasing (see aug_pixel.h). */
#include "aug_pixel.h"

#include <math.h>
#include <string.h>

#include "aug_rng.h"

AugTone aug_tone_identity(void)
{
    AugTone t = {0, 1.0, 1.0, 1.0};
    return t;
}

static double clamp255(double v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

static double tone_bright(const AugTone *t, double v)
{
    return clamp255(t->bright_add ? v + t->bright : v * t->bright);
}

void aug_tone_lut(const AugTone *t, const uint32_t *hist, uint8_t lut[256])
{
    double mean = 0;
    if (t->contrast != 1.0 && hist) {
        double sum = 0, n = 0;
        for (int v = 0; v < 256; v++) {
            sum += hist[v] * tone_bright(t, v);
            n += hist[v];
        }
        mean = n > 0 ? sum / n : 0;
    }
    for (int v = 0; v < 256; v++) {
        double x = tone_bright(t, v);
        if (t->contrast != 1.0) x = clamp255(mean + (x - mean) * t->contrast);
        if (t->gamma != 1.0) x = 255.0 * pow(x / 255.0, t->gamma);
        lut[v] = (uint8_t)floor(clamp255(x) + 0.5);
    }
}

void aug_lut_apply(uint8_t *img, size_t n, const uint8_t lut[256])
{
    for (size_t i = 0; i < n; i++) img[i] = lut[img[i]];
}

void aug_histogram(const uint8_t *img, size_t n, uint32_t hist[256])
{
    memset(hist, 0, 256 * sizeof *hist);
    for (size_t i = 0; i < n; i++) hist[img[i]]++;
}

/* dst[i] = v[i] rounded to nearest and saturated to 0..255, via int32
 * scratch `q` (n entries): in two steps because the vectorizer handles
 * float -> int32 and int32 -> byte, not float -> byte in one loop. */
static void aug_round_to_bytes(const float *restrict v, uint8_t *restrict dst, size_t n,
                               int32_t *restrict q)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = v[i] + 0.5f;
        a = a < 0.f ? 0.f : a;
        a = a > 255.f ? 255.f : a;
        q[i] = (int32_t)a; /* truncation of a >= 0 is floor */
    }
#pragma omp simd
    for (size_t i = 0; i < n; i++) dst[i] = (uint8_t)q[i];
}

/* reflect-101: gfedcb|abcdefgh|gfedcba (for n == 1 every index is 0). */
static int reflect101(int i, int n)
{
    if (i >= 0 && i < n) return i; /* the common case, without a division */
    if (n == 1) return 0;
    int p = 2 * (n - 1);
    i %= p;
    if (i < 0) i += p;
    return i < n ? i : p - i;
}

#define AUG_BLUR_MAX_RADIUS 32

void aug_blur(uint8_t *img, int width, int height, int channels, double sigma, float *tmp)
{
    if (!(sigma > 0)) return;
    int r = (int)ceil(3.0 * sigma);
    if (r > AUG_BLUR_MAX_RADIUS) r = AUG_BLUR_MAX_RADIUS;
    float k[2 * AUG_BLUR_MAX_RADIUS + 1];
    double sum = 0;
    for (int i = -r; i <= r; i++) sum += exp(-0.5 * i * i / (sigma * sigma));
    for (int i = -r; i <= r; i++) k[i + r] = (float)(exp(-0.5 * i * i / (sigma * sigma)) / sum);

    /* Horizontal pass into float, vertical pass back to bytes. Each pass
     * accumulates one tap at a time over a whole (padded) row, a plain
     * multiply-add loop; reflect-101 is resolved once per row when the
     * padded row is built, not per tap. "omp simd" asks for vector code
     * that -O2's cheap cost model would not emit (it will not add the
     * runtime alias checks); element-wise, so the result is the same. */
    size_t stride = (size_t)width * channels;
    float *acc = tmp + (size_t)height * stride;   /* one row past the image */
    float *pad = acc + stride;                    /* (width + 2r) * channels */
    for (int y = 0; y < height; y++) {
        const uint8_t *row = img + y * stride;
        for (int x = -r; x < width + r; x++) {
            const uint8_t *px = row + (size_t)reflect101(x, width) * channels;
            for (int c = 0; c < channels; c++) pad[(size_t)(x + r) * channels + c] = px[c];
        }
        float *out = tmp + y * stride;
        memset(out, 0, stride * sizeof *out);
        for (int i = 0; i <= 2 * r; i++) {
            const float *src = pad + (size_t)i * channels;
            float kw = k[i];
#pragma omp simd
            for (size_t j = 0; j < stride; j++) out[j] += kw * src[j];
        }
    }
    for (int y = 0; y < height; y++) {
        memset(acc, 0, stride * sizeof *acc);
        for (int i = -r; i <= r; i++) {
            const float *src = tmp + reflect101(y + i, height) * stride;
            float kw = k[i + r];
#pragma omp simd
            for (size_t j = 0; j < stride; j++) acc[j] += kw * src[j];
        }
        aug_round_to_bytes(acc, img + y * stride, stride, (int32_t *)pad);
    }
}

/* Floats aug_blur needs in `tmp`. */
size_t aug_blur_tmp_floats(int width, int height, int channels)
{
    return ((size_t)height + 1) * width * channels + ((size_t)width + 2 * AUG_BLUR_MAX_RADIUS) * channels;
}

void aug_noise(uint8_t *img, size_t n, double sigma, uint64_t seed)
{
    if (!(sigma > 0)) return;
    /* SplitMix64's i-th output is mix(state0 + (i+1) * golden), so the
     * stream can be computed for 64 pixels at a time without a loop-carried
     * dependency (vectorized, 64-bit multiplies); it equals drawing the same
     * numbers one after another from aug_rng_from_seed. */
    const uint64_t s0 = aug_rng_from_seed(seed).state;
    /* Four 16-bit uniforms sum to mean 2*65535, variance 4*(65536^2-1)/12. */
    const float scale = (float)(sigma / (65536.0 * sqrt(4.0 / 12.0)));
    int32_t sum[64];
    for (size_t base = 0; base < n; base += 64) {
        size_t m = n - base < 64 ? n - base : 64;
#pragma omp simd
        for (size_t i = 0; i < m; i++) {
            uint64_t b = aug_mix64(s0 + (base + i + 1) * 0x9E3779B97F4A7C15ull);
            sum[i] = (int32_t)(b & 0xFFFF) + (int32_t)((b >> 16) & 0xFFFF) + (int32_t)((b >> 32) & 0xFFFF) +
                     (int32_t)(b >> 48) - 2 * 65535;
        }
        uint8_t *p = img + base;
        float v[64];
#pragma omp simd
        for (size_t i = 0; i < m; i++) v[i] = (float)p[i] + (float)sum[i] * scale;
        aug_round_to_bytes(v, p, m, sum);
    }
}

void aug_erase(uint8_t *img, int width, int height, int channels,
               int x, int y, int w, int h, uint8_t value)
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > width ? width : x + w, y1 = y + h > height ? height : y + h;
    if (x1 <= x0) return;
    for (int yy = y0; yy < y1; yy++)
        memset(img + ((size_t)yy * width + x0) * channels, value, (size_t)(x1 - x0) * channels);
}
