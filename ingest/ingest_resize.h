/* ingest_resize.h: gray image resampling for crops (pass-through faces,
 * fallback crops, perceptual-hash thumbnails).
 *
 * Each axis is resampled on its own: area averaging when shrinking (each
 * output pixel is the coverage-weighted mean of the source pixels under it,
 * as OpenCV's INTER_AREA), bilinear with pixel-centre alignment when
 * enlarging. Equal sizes copy exactly, so a 48x48 FER2013 face passes
 * through bit for bit and keeps its content id. */
#ifndef INGEST_RESIZE_H
#define INGEST_RESIZE_H

#include <stdint.h>

#include "emo_error.h"

/* Resamples the sw x sh region at src (row stride sstride bytes) into a
 * dw x dh buffer (stride dw). Allocates scratch internally. */
EmoStatus ingest_resize_gray(const uint8_t *src, int sw, int sh, int sstride, uint8_t *dst, int dw, int dh,
                             EmoError *err);

/* Like ingest_resize_gray into a float buffer (no rounding), used for hashes. */
EmoStatus ingest_resize_gray_f(const uint8_t *src, int sw, int sh, int sstride, float *dst, int dw, int dh,
                               EmoError *err);

/* The centred square crop of a w x h image: its origin and side. */
void ingest_center_square(int w, int h, int *x, int *y, int *side);

#endif /* INGEST_RESIZE_H */
