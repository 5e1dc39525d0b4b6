/* face_resize.h: OpenCV's INTER_LINEAR_EXACT resize of an 8-bit gray image.
 *
 * The cascade detector scales the image, not the features, so its pyramid
 * must reproduce cv::resize(..., INTER_LINEAR_EXACT) bit for bit or the
 * windows see different pixels (notes section 3): 8-bit fixed-point
 * coefficients (round half to even), a horizontal pass in 8.8 fixed point,
 * a vertical pass rounded from 16.16; clamped edges; and an exact 2x
 * downscale in both axes done as INTER_AREA's rounded 2x2 mean. */
#ifndef FACE_RESIZE_H
#define FACE_RESIZE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of scratch face_resize_linear_exact needs for these sizes. */
size_t face_resize_scratch_bytes(int sw, int sh, int dw, int dh);

/* Resizes src (sw x sh) to dst (dw x dh). All sizes >= 1. scratch must be
 * face_resize_scratch_bytes() bytes, aligned for int32. */
void face_resize_linear_exact(const uint8_t *src, int sw, int sh, int sstride,
                              uint8_t *dst, int dw, int dh, int dstride, void *scratch);

#endif /* FACE_RESIZE_H */
