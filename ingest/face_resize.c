/* face_resize.c: bit-exact INTER_LINEAR_EXACT resize (see face_resize.h). */
#include "face_resize.h"

#include <math.h>

/* Per destination index along one axis: source index and weight of the
 * next source sample (0..256), or clamp = 1 when one sample is used. */
typedef struct {
    int32_t i;
    int32_t c1;
    int32_t clamp;
} AxisTap;

size_t face_resize_scratch_bytes(int sw, int sh, int dw, int dh)
{
    (void)sw;
    (void)sh;
    return (size_t)(dw + dh) * sizeof(AxisTap) + (size_t)2 * dw * sizeof(uint32_t);
}

static void axis_taps(int n, int dn, AxisTap *t)
{
    double inv = (double)dn / n;
    double scale = 1.0 / inv;
    for (int d = 0; d < dn; d++) {
        double f = scale * (d + 0.5) - 0.5;
        double fl = floor(f);
        int i = (int)fl;
        if (i < 0 || n == 1) {
            t[d] = (AxisTap){0, 0, 1};
        } else if (i >= n - 1) {
            t[d] = (AxisTap){n - 1, 0, 1};
        } else {
            /* nearbyint: round half to even in the default rounding mode */
            int c1 = (int)nearbyint((f - fl) * 256.0);
            t[d] = (AxisTap){i, c1, 0};
        }
    }
}

/* Horizontal pass of one source row into 8.8 fixed point. */
static void hpass(const uint8_t *p, const AxisTap *tx, int dw, uint32_t *out)
{
    for (int d = 0; d < dw; d++) {
        const AxisTap *t = &tx[d];
        if (t->clamp) out[d] = (uint32_t)p[t->i] << 8;
        else out[d] = (uint32_t)(256 - t->c1) * p[t->i] + (uint32_t)t->c1 * p[t->i + 1];
    }
}

static void area_half(const uint8_t *src, int sstride, uint8_t *dst, int dw, int dh, int dstride)
{
    for (int y = 0; y < dh; y++) {
        const uint8_t *a = src + (size_t)(2 * y) * sstride, *b = a + sstride;
        uint8_t *o = dst + (size_t)y * dstride;
        for (int x = 0; x < dw; x++)
            o[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
    }
}

/* Two cached horizontal-pass rows; dst rows walk the source forward, so
 * each source row is filtered once. */
typedef struct {
    uint32_t *slot[2];
    int tag[2];
} RowCache;

static const uint32_t *cached_row(RowCache *rc, int r, int keep, const uint8_t *src, int sstride,
                                  const AxisTap *tx, int dw)
{
    if (rc->tag[0] == r) return rc->slot[0];
    if (rc->tag[1] == r) return rc->slot[1];
    int v = rc->tag[0] == keep ? 1 : rc->tag[1] == keep ? 0 : rc->tag[0] < rc->tag[1] ? 0 : 1;
    hpass(src + (size_t)r * sstride, tx, dw, rc->slot[v]);
    rc->tag[v] = r;
    return rc->slot[v];
}

void face_resize_linear_exact(const uint8_t *src, int sw, int sh, int sstride,
                              uint8_t *dst, int dw, int dh, int dstride, void *scratch)
{
    if (dw * 2 == sw && dh * 2 == sh) {
        area_half(src, sstride, dst, dw, dh, dstride);
        return;
    }
    AxisTap *tx = scratch, *ty = tx + dw;
    RowCache rc = {{(uint32_t *)(ty + dh), (uint32_t *)(ty + dh) + dw}, {-1, -1}};
    axis_taps(sw, dw, tx);
    axis_taps(sh, dh, ty);
    for (int y = 0; y < dh; y++) {
        const AxisTap *t = &ty[y];
        uint8_t *o = dst + (size_t)y * dstride;
        if (t->clamp) {
            const uint32_t *h0 = cached_row(&rc, t->i, -1, src, sstride, tx, dw);
            for (int x = 0; x < dw; x++) o[x] = (uint8_t)((h0[x] + 128) >> 8);
            continue;
        }
        const uint32_t *h0 = cached_row(&rc, t->i, t->i + 1, src, sstride, tx, dw);
        const uint32_t *h1 = cached_row(&rc, t->i + 1, t->i, src, sstride, tx, dw);
        uint32_t c1 = (uint32_t)t->c1, c0 = 256 - c1;
        for (int x = 0; x < dw; x++) o[x] = (uint8_t)((c0 * h0[x] + c1 * h1[x] + 32768) >> 16);
    }
}
