/* aug_warp.h: resample an 8-bit image through an affine map, once, with
 * bilinear interpolation and a chosen border.
 *
 * The map given is the inverse one: it takes each destination pixel centre to
 * the source point it samples (so every output pixel is defined; see
 * aug_affine.h for coordinates). Border modes, named as in Keras' fill_mode
 * and OpenCV's borderMode, say what lies outside the source:
 *   replicate  aaaa|abcd|dddd   (Keras "nearest", the default)
 *   reflect    dcba|abcd|dcba   (Keras "reflect", OpenCV BORDER_REFLECT)
 *   constant   kkkk|abcd|kkkk   (a fixed gray value k)
 *
 * aug_warp is the fast kernel. Per output row it starts from the exactly
 * computed source coordinate in 16.16 fixed point and steps by a constant
 * increment. Gray images clamp each sample point into a source buffer whose
 * edge already holds the border (the image itself for replicate, a copy with
 * a filled ring for constant and reflect), so the inner loop is branch-free
 * integer arithmetic: with AVX2, 8 pixels per step, each pair of horizontal
 * taps one 32-bit gather. Other channel counts, and reflect maps reaching far
 * outside, use per-image tables of border-mapped rows and columns. Blend
 * weights have 10 bits; the error against the exact bilinear value is below
 * one gray level, and every path writes the same bytes as the scalar code.
 * aug_warp_ref is the plain double-precision reference it is tested
 * against; it is also used for maps the fixed-point ranges cannot hold. */
#ifndef AUG_WARP_H
#define AUG_WARP_H

#include <stddef.h>
#include <stdint.h>

#include "aug_affine.h"
#include "emo_error.h"

typedef enum {
    AUG_BORDER_REPLICATE = 0,
    AUG_BORDER_REFLECT,
    AUG_BORDER_CONSTANT,
} AugBorderMode;

typedef struct {
    AugBorderMode mode;
    uint8_t value;      /* the gray level outside the image, for constant */
} AugBorder;

/* Kernel choice. AUTO: gray images take the clamped fast path (AVX2 when
 * compiled for it), others the table path. */
typedef enum {
    AUG_WARP_PATH_AUTO = 0,
    AUG_WARP_PATH_SCALAR,   /* the fast path without SIMD */
    AUG_WARP_PATH_TABLES,   /* the general table path */
} AugWarpPath;

/* Reusable scratch memory for aug_warp (index tables, padded source). Zero it
 * before first use (AugWarpScratch s = {0};); it grows on demand and is
 * freed with aug_warp_scratch_free. One per thread. */
typedef struct {
    int32_t *xmap;      /* column offset of each source x the image can reach */
    int32_t *ymap;      /* row offset of each source y */
    size_t xmap_cap, ymap_cap;
    uint8_t *padded;    /* source copy with a border ring (constant, reflect) */
    size_t padded_cap;
    int path;           /* AugWarpPath: which kernel (tests and benchmarks compare them) */
} AugWarpScratch;

void aug_warp_scratch_free(AugWarpScratch *s);

/* dst[y][x] = bilinear sample of src at inv(x, y), for a width x height
 * image of `channels` interleaved 8-bit channels (1..4). src and dst must not
 * overlap. Fails only with EMO_ERR_NOMEM (scratch growth) or EMO_ERR_ARG. */
EmoStatus aug_warp(const uint8_t *src, int width, int height, int channels, uint8_t *dst,
                   const AugAffine *inv, const AugBorder *border, AugWarpScratch *scratch,
                   EmoError *err);

/* The reference: the same result computed pixel by pixel in double precision,
 * rounded to nearest. */
void aug_warp_ref(const uint8_t *src, int width, int height, int channels, uint8_t *dst,
                  const AugAffine *inv, const AugBorder *border);

/* The reference on float images (one channel), with no rounding at all: the
 * tests chain it to apply transforms one at a time without 8-bit losses. */
void aug_warp_ref_f32(const float *src, int width, int height, float *dst,
                      const AugAffine *inv, const AugBorder *border);

/* Where a source index i (any integer) reads from under `mode` in a row of
 * n samples: 0..n-1, or -1 for "outside" (constant mode). */
int aug_border_index(int i, int n, AugBorderMode mode);

#endif /* AUG_WARP_H */
