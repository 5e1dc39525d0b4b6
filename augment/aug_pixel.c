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

/* reflect-101: gfedcb|abcdefgh|gfedcba (for n == 1 every index is 0). */
static int reflect101(int i, int n)
{
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

    /* Horizontal pass into float, vertical pass back to bytes. Taps that
     * fall outside use reflect-101; the interior runs without index mapping
     * (a plain multiply-add loop the compiler vectorizes). */
    size_t stride = (size_t)width * channels;
    for (int y = 0; y < height; y++) {
        const uint8_t *row = img + y * stride;
        float *out = tmp + y * stride;
        for (int x = 0; x < width; x++) {
            int inside = x - r >= 0 && x + r < width;
            for (int c = 0; c < channels; c++) {
                float acc = 0;
                if (inside)
                    for (int i = -r; i <= r; i++) acc += k[i + r] * row[(x + i) * channels + c];
                else
                    for (int i = -r; i <= r; i++)
                        acc += k[i + r] * row[reflect101(x + i, width) * channels + c];
                out[x * channels + c] = acc;
            }
        }
    }
    float *acc = tmp + (size_t)height * stride; /* one row past the image */
    for (int y = 0; y < height; y++) {
        memset(acc, 0, stride * sizeof *acc);
        for (int i = -r; i <= r; i++) {
            const float *src = tmp + reflect101(y + i, height) * stride;
            float kw = k[i + r];
            for (size_t j = 0; j < stride; j++) acc[j] += kw * src[j];
        }
        uint8_t *out = img + y * stride;
        for (size_t j = 0; j < stride; j++) {
            float v = floorf(acc[j] + 0.5f);
            out[j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

void aug_noise(uint8_t *img, size_t n, double sigma, uint64_t seed)
{
    if (!(sigma > 0)) return;
    AugRng rng = aug_rng_from_seed(seed);
    /* Four 16-bit uniforms sum to mean 2*65535, variance 4*(65536^2-1)/12. */
    const double scale = sigma / (65536.0 * sqrt(4.0 / 12.0));
    for (size_t i = 0; i < n; i++) {
        uint64_t b = aug_rng_next(&rng);
        int32_t s = (int32_t)(b & 0xFFFF) + (int32_t)((b >> 16) & 0xFFFF) +
                    (int32_t)((b >> 32) & 0xFFFF) + (int32_t)(b >> 48) - 2 * 65535;
        double v = floor(img[i] + s * scale + 0.5);
        img[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
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
