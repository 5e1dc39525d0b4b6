/* face_integral.c: integral, squared and tilted integral images (see face_integral.h). */
#include "face_integral.h"

#include <string.h>

void face_integral(const uint8_t *img, int w, int h, int istride,
                   uint32_t *sum, uint32_t *sqsum, int ostride)
{
    memset(sum, 0, (size_t)(w + 1) * sizeof *sum);
    if (sqsum) memset(sqsum, 0, (size_t)(w + 1) * sizeof *sqsum);
    for (int y = 0; y < h; y++) {
        const uint8_t *p = img + (size_t)y * istride;
        const uint32_t *s0 = sum + (size_t)y * ostride;
        uint32_t *s1 = sum + (size_t)(y + 1) * ostride;
        uint32_t row = 0;
        s1[0] = 0;
        for (int x = 0; x < w; x++) {
            row += p[x];
            s1[x + 1] = s0[x + 1] + row;
        }
        if (sqsum) {
            const uint32_t *q0 = sqsum + (size_t)y * ostride;
            uint32_t *q1 = sqsum + (size_t)(y + 1) * ostride;
            uint32_t rq = 0;
            q1[0] = 0;
            for (int x = 0; x < w; x++) {
                rq += (uint32_t)p[x] * p[x];
                q1[x + 1] = q0[x + 1] + rq;
            }
        }
    }
}

/* The recurrence T(X,Y) = T(X-1,Y-1) + T(X+1,Y-1) - T(X,Y-2) + I(X-1,Y-1)
 * + I(X-1,Y-2) needs T at columns outside 0..w, where the triangle still
 * covers image pixels. We run it on a row widened by h+1 columns on each
 * side: beyond that margin T is truly zero, so the edges are exact. */
size_t face_integral_tilted_scratch(int w, int h)
{
    return (size_t)3 * (size_t)(w + 2 * h + 5);
}

void face_integral_tilted(const uint8_t *img, int w, int h, int istride,
                          uint32_t *tilted, int ostride, uint32_t *scratch)
{
    int m = h + 2;                    /* margin columns each side */
    int ew = w + 1 + 2 * m;           /* extended width, X = -m .. w+m */
    uint32_t *r2 = scratch, *r1 = scratch + ew, *r0 = scratch + 2 * ew; /* rows Y-2, Y-1, Y */
    memset(scratch, 0, (size_t)3 * ew * sizeof *scratch);
    memset(tilted, 0, (size_t)(w + 1) * sizeof *tilted);   /* row 0 */
    for (int Y = 1; Y <= h; Y++) {
        const uint8_t *p1 = img + (size_t)(Y - 1) * istride;               /* image row Y-1 */
        const uint8_t *p2 = Y >= 2 ? img + (size_t)(Y - 2) * istride : NULL; /* row Y-2 */
        r0[0] = r0[ew - 1] = 0;
        for (int e = 1; e < ew - 1; e++) {
            int X = e - m;
            uint32_t v = r1[e - 1] + r1[e + 1] - r2[e];
            int ix = X - 1;
            if (ix >= 0 && ix < w) {
                v += p1[ix];
                if (p2) v += p2[ix];
            }
            r0[e] = v;
        }
        memcpy(tilted + (size_t)Y * ostride, r0 + m, (size_t)(w + 1) * sizeof *r0);
        uint32_t *t = r2;
        r2 = r1;
        r1 = r0;
        r0 = t;
    }
}
