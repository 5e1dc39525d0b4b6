/* face_warp.c: cv::warpAffine (INTER_LINEAR, BORDER_REPLICATE) in fixed point. */
#include "face_warp.h"

#include <math.h>
#include <stddef.h>

#define AB_BITS 10
#define AB_SCALE (1 << AB_BITS)
#define INTER_BITS 5
#define INTER_TAB (1 << INTER_BITS)

FaceAffine face_affine_rotate_scale(double cx, double cy, double angle_deg, double scale, double tx, double ty)
{
    double a = angle_deg * (M_PI / 180.0);
    double al = scale * cos(a), be = scale * sin(a);
    FaceAffine m = {{al, be, (1 - al) * cx - be * cy, -be, al, be * cx + (1 - al) * cy}};
    m.m[2] += tx - cx;
    m.m[5] += ty - cy;
    return m;
}

void face_affine_apply(const FaceAffine *m, double x, double y, double *ox, double *oy)
{
    *ox = m->m[0] * x + m->m[1] * y + m->m[2];
    *oy = m->m[3] * x + m->m[4] * y + m->m[5];
}

/* The same steps, in the same order, as OpenCV's invertAffineTransform use
 * in warpAffine, so the rounded fixed-point map matches. */
FaceAffine face_affine_invert(const FaceAffine *in)
{
    double M[6];
    for (int i = 0; i < 6; i++) M[i] = in->m[i];
    double D = M[0] * M[4] - M[1] * M[3];
    D = D != 0. ? 1. / D : 0.;
    double A11 = M[4] * D, A22 = M[0] * D;
    M[0] = A11;
    M[1] *= -D;
    M[3] *= -D;
    M[4] = A22;
    double b1 = -M[0] * M[2] - M[1] * M[5];
    double b2 = -M[3] * M[2] - M[4] * M[5];
    M[2] = b1;
    M[5] = b2;
    FaceAffine r;
    for (int i = 0; i < 6; i++) r.m[i] = M[i];
    return r;
}

static inline int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static inline int round_sat(double v)
{
    if (v >= 2147483647.0) return 2147483647;
    if (v <= -2147483648.0) return -2147483647 - 1;
    return (int)lrint(v);
}

void face_warp_affine(const uint8_t *src, int sw, int sh, int sstride, const FaceAffine *m,
                      uint8_t *dst, int dw, int dh, int dstride)
{
    FaceAffine inv = face_affine_invert(m);
    const double *M = inv.m;
    for (int y = 0; y < dh; y++) {
        int X0 = round_sat((M[1] * y + M[2]) * AB_SCALE) + AB_SCALE / INTER_TAB / 2;
        int Y0 = round_sat((M[4] * y + M[5]) * AB_SCALE) + AB_SCALE / INTER_TAB / 2;
        uint8_t *o = dst + (size_t)y * dstride;
        for (int x = 0; x < dw; x++) {
            int adelta = round_sat(M[0] * x * AB_SCALE), bdelta = round_sat(M[3] * x * AB_SCALE);
            int X = (X0 + adelta) >> (AB_BITS - INTER_BITS);
            int Y = (Y0 + bdelta) >> (AB_BITS - INTER_BITS);
            int ix = X >> INTER_BITS, iy = Y >> INTER_BITS;
            int fx = X & (INTER_TAB - 1), fy = Y & (INTER_TAB - 1);
            int x0 = clampi(ix, 0, sw - 1), x1 = clampi(ix + 1, 0, sw - 1);
            int y0 = clampi(iy, 0, sh - 1), y1 = clampi(iy + 1, 0, sh - 1);
            const uint8_t *r0 = src + (size_t)y0 * sstride, *r1 = src + (size_t)y1 * sstride;
            int v = r0[x0] * (INTER_TAB - fy) * (INTER_TAB - fx) * INTER_TAB +
                    r0[x1] * (INTER_TAB - fy) * fx * INTER_TAB + r1[x0] * fy * (INTER_TAB - fx) * INTER_TAB +
                    r1[x1] * fy * fx * INTER_TAB;
            o[x] = (uint8_t)((v + (1 << 14)) >> 15);
        }
    }
}
