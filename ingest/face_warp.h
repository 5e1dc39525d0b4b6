/* face_warp.h: affine warp of an 8-bit gray image, bilinear, replicate border.
 *
 * The arithmetic is cv::warpAffine's INTER_LINEAR fixed point (inverse map
 * in 1/1024 units, 1/32-pixel taps, 15-bit weights; notes section 4), with
 * BORDER_REPLICATE: taps outside the image read the nearest edge pixel. So
 * face_warp_affine(src, M) equals cv2.warpAffine(src, M, (dw, dh),
 * flags=INTER_LINEAR, borderMode=BORDER_REPLICATE) bit for bit
 * (tests/data/face/warp_*.txt holds cv2's output as the check).
 *
 * Coordinates are pixel centres: pixel (i, j) is the point (i, j). */
#ifndef FACE_WARP_H
#define FACE_WARP_H

#include <stdint.h>

/* m maps source points to destination points: dst = [m0 m1; m3 m4] src + (m2, m5). */
typedef struct {
    double m[6];
} FaceAffine;

/* Rotation by angle_deg (counter-clockwise on screen, as
 * cv::getRotationMatrix2D) and uniform scale about centre (cx, cy), then
 * the centre moved to (tx, ty). */
FaceAffine face_affine_rotate_scale(double cx, double cy, double angle_deg, double scale, double tx, double ty);

/* Applies m to a point. */
void face_affine_apply(const FaceAffine *m, double x, double y, double *ox, double *oy);

/* Inverts m (a singular m gives all zeros, as OpenCV does). */
FaceAffine face_affine_invert(const FaceAffine *m);

/* dst(x, y) = src(m^-1 (x, y)), bilinear, replicate border. */
void face_warp_affine(const uint8_t *src, int sw, int sh, int sstride, const FaceAffine *m,
                      uint8_t *dst, int dw, int dh, int dstride);

#endif /* FACE_WARP_H */
