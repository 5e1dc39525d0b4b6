/* ingest_resize.c: separable area/bilinear resampling (see ingest_resize.h). */
#include "ingest_resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One output pixel's taps along an axis. */
typedef struct {
    int first;    /* index of the first weight in the weight list */
    int count;
} AxisSpan;

typedef struct {
    AxisSpan *span;   /* per output index */
    int *src;         /* source index per tap */
    float *w;         /* weight per tap; each span sums to 1 */
    int ntaps;
} AxisTable;

static void axis_free(AxisTable *t)
{
    free(t->span);
    free(t->src);
    free(t->w);
}

/* Builds the tap table mapping n_in source samples to n_out outputs. */
static int axis_build(AxisTable *t, int n_in, int n_out)
{
    memset(t, 0, sizeof *t);
    double scale = (double)n_in / n_out;
    int max_taps = scale > 1.0 ? (int)ceil(scale) + 1 : 2;
    t->span = malloc((size_t)n_out * sizeof *t->span);
    t->src = malloc((size_t)n_out * (size_t)max_taps * sizeof *t->src);
    t->w = malloc((size_t)n_out * (size_t)max_taps * sizeof *t->w);
    if (!t->span || !t->src || !t->w) {
        axis_free(t);
        return -1;
    }
    for (int o = 0; o < n_out; o++) {
        t->span[o].first = t->ntaps;
        if (scale > 1.0) {
            /* area: source interval [o*scale, (o+1)*scale) */
            double a = o * scale, b = (o + 1) * scale;
            int i0 = (int)floor(a), i1 = (int)ceil(b);
            if (i1 > n_in) i1 = n_in;
            for (int i = i0; i < i1; i++) {
                double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
                if (hi <= lo) continue;
                t->src[t->ntaps] = i;
                t->w[t->ntaps] = (float)((hi - lo) / scale);
                t->ntaps++;
            }
        } else if (n_in == n_out) {
            t->src[t->ntaps] = o;
            t->w[t->ntaps] = 1.0f;
            t->ntaps++;
        } else {
            /* bilinear, centres aligned: x_in = (o + 0.5) * scale - 0.5 */
            double x = (o + 0.5) * scale - 0.5;
            if (x < 0) x = 0;
            int i = (int)floor(x);
            if (i >= n_in - 1) {
                t->src[t->ntaps] = n_in - 1;
                t->w[t->ntaps] = 1.0f;
                t->ntaps++;
            } else {
                float f = (float)(x - i);
                t->src[t->ntaps] = i;
                t->w[t->ntaps] = 1.0f - f;
                t->ntaps++;
                t->src[t->ntaps] = i + 1;
                t->w[t->ntaps] = f;
                t->ntaps++;
            }
        }
        t->span[o].count = t->ntaps - t->span[o].first;
    }
    return 0;
}

static EmoStatus resize_core(const uint8_t *src, int sw, int sh, int sstride, uint8_t *dst8, float *dstf,
                             int dw, int dh, EmoError *err)
{
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0)
        return emo_error_set(err, EMO_ERR_ARG, "resize: bad size %dx%d -> %dx%d", sw, sh, dw, dh);
    if (dst8 && sw == dw && sh == dh) {
        for (int y = 0; y < sh; y++) memcpy(dst8 + (size_t)y * dw, src + (size_t)y * sstride, (size_t)sw);
        return EMO_OK;
    }
    AxisTable tx, ty;
    if (axis_build(&tx, sw, dw) != 0) return emo_error_set(err, EMO_ERR_NOMEM, "resize: out of memory");
    if (axis_build(&ty, sh, dh) != 0) {
        axis_free(&tx);
        return emo_error_set(err, EMO_ERR_NOMEM, "resize: out of memory");
    }
    /* Horizontal pass over every source row, then vertical. */
    float *tmp = malloc((size_t)sh * (size_t)dw * sizeof *tmp);
    if (!tmp) {
        axis_free(&tx);
        axis_free(&ty);
        return emo_error_set(err, EMO_ERR_NOMEM, "resize: out of memory");
    }
    for (int y = 0; y < sh; y++) {
        const uint8_t *row = src + (size_t)y * sstride;
        float *out = tmp + (size_t)y * dw;
        for (int x = 0; x < dw; x++) {
            const AxisSpan *s = &tx.span[x];
            float acc = 0;
            for (int k = s->first; k < s->first + s->count; k++) acc += tx.w[k] * row[tx.src[k]];
            out[x] = acc;
        }
    }
    for (int y = 0; y < dh; y++) {
        const AxisSpan *s = &ty.span[y];
        for (int x = 0; x < dw; x++) {
            float acc = 0;
            for (int k = s->first; k < s->first + s->count; k++) acc += ty.w[k] * tmp[(size_t)ty.src[k] * dw + x];
            if (dstf) {
                dstf[(size_t)y * dw + x] = acc;
            } else {
                int v = (int)(acc + 0.5f);
                dst8[(size_t)y * dw + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    free(tmp);
    axis_free(&tx);
    axis_free(&ty);
    return EMO_OK;
}

EmoStatus ingest_resize_gray(const uint8_t *src, int sw, int sh, int sstride, uint8_t *dst, int dw, int dh,
                             EmoError *err)
{
    return resize_core(src, sw, sh, sstride, dst, NULL, dw, dh, err);
}

EmoStatus ingest_resize_gray_f(const uint8_t *src, int sw, int sh, int sstride, float *dst, int dw, int dh,
                               EmoError *err)
{
    return resize_core(src, sw, sh, sstride, NULL, dst, dw, dh, err);
}

void ingest_center_square(int w, int h, int *x, int *y, int *side)
{
    int s = w < h ? w : h;
    *side = s;
    *x = (w - s) / 2;
    *y = (h - s) / 2;
}
