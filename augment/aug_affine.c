/* aug_affine.c: affine map algebra (see aug_affine.h). */
#include "aug_affine.h"

#include <math.h>

AugAffine aug_affine_identity(void)
{
    AugAffine a = {{1, 0, 0, 0, 1, 0}};
    return a;
}

AugAffine aug_affine_compose(const AugAffine *a, const AugAffine *b)
{
    const double *x = a->m, *y = b->m;
    AugAffine r = {{
        x[0] * y[0] + x[1] * y[3], x[0] * y[1] + x[1] * y[4], x[0] * y[2] + x[1] * y[5] + x[2],
        x[3] * y[0] + x[4] * y[3], x[3] * y[1] + x[4] * y[4], x[3] * y[2] + x[4] * y[5] + x[5],
    }};
    return r;
}

int aug_affine_invert(const AugAffine *a, AugAffine *inv)
{
    const double *m = a->m;
    double det = m[0] * m[4] - m[1] * m[3];
    if (fabs(det) < 1e-12) return 0;
    double i0 = m[4] / det, i1 = -m[1] / det, i3 = -m[3] / det, i4 = m[0] / det;
    AugAffine r = {{i0, i1, -(i0 * m[2] + i1 * m[5]), i3, i4, -(i3 * m[2] + i4 * m[5])}};
    *inv = r;
    return 1;
}

AugAffine aug_affine_hflip(int width)
{
    AugAffine a = {{-1, 0, (double)(width - 1), 0, 1, 0}};
    return a;
}

AugAffine aug_affine_rotate(double degrees, double cx, double cy)
{
    /* Exact quarter turns: sin/cos of a multiple of pi/2 in floating point
     * leave ~1e-16 residues; snapping them keeps 90-degree rotations exact. */
    double rad = degrees * (M_PI / 180.0);
    double c = cos(rad), s = sin(rad);
    if (fabs(c) < 1e-15) c = 0;
    if (fabs(s) < 1e-15) s = 0;
    /* y points down, so "counter-clockwise on screen" is this sign pattern
     * (the same matrix as cv::getRotationMatrix2D). */
    AugAffine a = {{c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy}};
    return a;
}

AugAffine aug_affine_scale(double sx, double sy, double cx, double cy)
{
    AugAffine a = {{sx, 0, cx - sx * cx, 0, sy, cy - sy * cy}};
    return a;
}

AugAffine aug_affine_translate(double tx, double ty)
{
    AugAffine a = {{1, 0, tx, 0, 1, ty}};
    return a;
}

void aug_affine_apply(const AugAffine *a, double x, double y, double *ox, double *oy)
{
    *ox = a->m[0] * x + a->m[1] * y + a->m[2];
    *oy = a->m[3] * x + a->m[4] * y + a->m[5];
}
