/* aug_pixel.h: the photometric transforms, on 8-bit images in place.
 *
 * Every result saturates to 0..255 (no wrap-around). Brightness, contrast
 * and gamma are point operations; they are folded into one 256-entry table
 * (aug_tone_lut) computed in double precision and rounded once, so chaining
 * them costs one pass and loses no precision between steps. */
#ifndef AUG_PIXEL_H
#define AUG_PIXEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int bright_add;     /* 0: multiply by `bright`; 1: add `bright` gray levels */
    double bright;      /* factor (1 = none) or offset (0 = none) */
    double contrast;    /* factor about the image mean (1 = none) */
    double gamma;       /* exponent on v/255 (1 = none) */
} AugTone;

/* The identity tone (factor 1, offset 0, contrast 1, gamma 1). */
AugTone aug_tone_identity(void);

/* Fills lut[v] = gamma(contrast(brightness(v))), each step clamped to
 * [0, 255] as the 8-bit step would be, rounded once at the end. Contrast
 * scales about `hist`'s mean after brightness (torchvision and albumentations
 * use the image mean too); hist (256 counts of the input image) may be NULL
 * when contrast is 1. */
void aug_tone_lut(const AugTone *t, const uint32_t *hist, uint8_t lut[256]);

/* img[i] = lut[img[i]] for n bytes. */
void aug_lut_apply(uint8_t *img, size_t n, const uint8_t lut[256]);

/* 256-bin histogram of n bytes. */
void aug_histogram(const uint8_t *img, size_t n, uint32_t hist[256]);

/* Separable Gaussian blur with standard deviation sigma (pixels; <= 0 is a
 * no-op), kernel radius ceil(3 sigma), border reflect-101 (OpenCV's
 * GaussianBlur default). `tmp` holds aug_blur_tmp_floats(...) floats. */
void aug_blur(uint8_t *img, int width, int height, int channels, double sigma, float *tmp);

/* Scratch floats aug_blur needs for an image of this shape. */
size_t aug_blur_tmp_floats(int width, int height, int channels);

/* Adds zero-mean noise of standard deviation sigma gray levels to n bytes,
 * from a stream seeded with `seed`. The noise is Irwin-Hall (a sum of four
 * uniforms, rescaled): Gaussian to within a few percent in every quantile up
 * to 3 sigma, and ~30x cheaper than Box-Muller, which would dominate the
 * per-image cost. */
void aug_noise(uint8_t *img, size_t n, double sigma, uint64_t seed);

/* Fills the rectangle [x, x+w) x [y, y+h) (clipped to the image) with
 * `value` (random erasing / cutout). */
void aug_erase(uint8_t *img, int width, int height, int channels,
               int x, int y, int w, int h, uint8_t value);

#endif /* AUG_PIXEL_H */
