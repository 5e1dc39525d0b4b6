/* face_integral.h: integral images for the cascade evaluator.
 *
 * All three are (w+1) x (h+1) with a zero first row and column, like
 * cv::integral: sum[y][x] = sum of img over rows < y, cols < x. They are
 * computed with unsigned 32-bit wrap-around, which is what OpenCV's int32
 * buffers hold; the evaluator takes window differences in uint32, so a
 * squared sum over 2^32 still gives the right window value (see the notes,
 * section 2). */
#ifndef FACE_INTEGRAL_H
#define FACE_INTEGRAL_H

#include <stddef.h>
#include <stdint.h>

/* Sum and squared sum (sqsum may be NULL). `ostride` is in elements and
 * must be >= w + 1. */
void face_integral(const uint8_t *img, int w, int h, int istride,
                   uint32_t *sum, uint32_t *sqsum, int ostride);

/* Elements of scratch face_integral_tilted needs. */
size_t face_integral_tilted_scratch(int w, int h);

/* 45-degree ("tilted") integral, cv::integral's third output:
 * t[Y][X] = sum of img(x, y) over y < Y and |x - X + 1| <= Y - 1 - y. */
void face_integral_tilted(const uint8_t *img, int w, int h, int istride,
                          uint32_t *tilted, int ostride, uint32_t *scratch);

#endif /* FACE_INTEGRAL_H */
