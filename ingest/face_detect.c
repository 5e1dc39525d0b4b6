/* face_detect.c: detectMultiScale: scale list, pyramid levels, window scan,
 * grouping (see face_detect.h; notes section 3).
 *
 * Levels are independent, so they are the unit of parallel work: each
 * OpenMP thread takes whole levels (largest first, dynamic schedule) with
 * its own scratch buffers, and writes the windows it finds into that
 * level's own list. Lists are concatenated in level order afterwards, so
 * the raw candidates, and hence the grouped boxes, are the same for any
 * thread count. */
#include "face_detect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "face_eval.h"
#include "face_group.h"
#include "face_integral.h"
#include "face_resize.h"

/* OpenCV's groupRectangles eps in detectMultiScale (hard-coded there). */
#define FACE_GROUP_EPS 0.2

void face_detect_params_default(FaceDetectParams *p)
{
    p->scale_factor = 1.1;
    p->min_neighbors = 3;
    p->min_w = p->min_h = 0;
    p->max_w = p->max_h = 0;
    p->threads = 0;
}

/* One pyramid level: its float scale, scaled size, step, and the windows
 * found there (filled by whichever thread runs the level). */
typedef struct {
    float scale;
    int sw, sh;
    int step;
    FaceBox *found;
    int nfound;
    int cap;
    long long work;   /* window count, to schedule big levels first */
} Level;

/* Per-thread scratch, sized for the biggest level. */
typedef struct {
    uint8_t *img;
    uint32_t *sum, *sqsum, *tilted, *tscratch;
    void *rscratch;
    void *feat;
    int *xs;
} Scratch;

static void scratch_free(Scratch *s)
{
    free(s->img);
    free(s->sum);
    free(s->sqsum);
    free(s->tilted);
    free(s->tscratch);
    free(s->rscratch);
    free(s->feat);
    free(s->xs);
    memset(s, 0, sizeof *s);
}

static int scratch_alloc(Scratch *s, const FaceCascade *c, int iw, int ih, int maxw, int maxh)
{
    size_t ipix = (size_t)(maxw + 1) * (maxh + 1) + FACE_EVAL_PAD;
    memset(s, 0, sizeof *s);
    s->img = malloc((size_t)maxw * maxh);
    s->sum = malloc(ipix * sizeof *s->sum);
    if (c->type == FACE_FEATURE_HAAR) s->sqsum = malloc(ipix * sizeof *s->sqsum);
    if (c->has_tilted) {
        s->tilted = malloc(ipix * sizeof *s->tilted);
        s->tscratch = malloc(face_integral_tilted_scratch(maxw, maxh) * sizeof *s->tscratch);
    }
    s->rscratch = malloc(face_resize_scratch_bytes(iw, ih, maxw, maxh));
    s->feat = malloc(face_eval_prepare_bytes(c) + 16);
    s->xs = malloc((size_t)(maxw + 1) * sizeof *s->xs);
    if (!s->img || !s->sum || (c->type == FACE_FEATURE_HAAR && !s->sqsum) ||
        (c->has_tilted && (!s->tilted || !s->tscratch)) || !s->rscratch || !s->feat || !s->xs) {
        scratch_free(s);
        return -1;
    }
    /* the vector path may read (and ignore) a few elements past the end */
    memset(s->sum + ipix - FACE_EVAL_PAD, 0, FACE_EVAL_PAD * sizeof *s->sum);
    if (s->sqsum) memset(s->sqsum + ipix - FACE_EVAL_PAD, 0, FACE_EVAL_PAD * sizeof *s->sqsum);
    if (s->tilted) memset(s->tilted + ipix - FACE_EVAL_PAD, 0, FACE_EVAL_PAD * sizeof *s->tilted);
    return 0;
}

static int push_box(Level *L, FaceBox b)
{
    if (L->nfound == L->cap) {
        int cap = L->cap ? 2 * L->cap : 64;
        FaceBox *nb = realloc(L->found, (size_t)cap * sizeof *nb);
        if (!nb) return -1;
        L->found = nb;
        L->cap = cap;
    }
    L->found[L->nfound++] = b;
    return 0;
}

/* Scales, resizes, integrates and scans one level. */
static int run_level(const FaceCascade *c, const uint8_t *gray, int iw, int ih, int stride,
                     Level *L, int nstripes, Scratch *s)
{
    int W = c->win_w, H = c->win_h;
    const uint8_t *img = gray;
    int istride = stride;
    if (L->sw != iw || L->sh != ih) {
        face_resize_linear_exact(gray, iw, ih, stride, s->img, L->sw, L->sh, L->sw, s->rscratch);
        img = s->img;
        istride = L->sw;
    }
    int ist = L->sw + 1;
    face_integral(img, L->sw, L->sh, istride, s->sum, s->sqsum, ist);
    if (c->has_tilted) face_integral_tilted(img, L->sw, L->sh, istride, s->tilted, ist, s->tscratch);
    FaceEvalLevel lv;
    void *feat = (void *)(((uintptr_t)s->feat + 15) & ~(uintptr_t)15);
    face_eval_prepare(&lv, c, ist, feat);
    lv.sum = s->sum;
    lv.sqsum = s->sqsum;
    lv.tilted = s->tilted;
    int nx = L->sw - W + 1, ny = L->sh - H + 1;
    /* candidate size: cvRound of int * float scale, computed in float */
    int bw = (int)lrintf((float)W * L->scale), bh = (int)lrintf((float)H * L->scale);
    /* OpenCV scans the rows in nstripes stripes of whole steps each,
     * stripe = max(ceil(floor(ny / step) / nstripes), 1) * step, and
     * stops at nstripes * stripe: with step 2 and an odd row count the last
     * row is skipped whenever nstripes divides floor(ny / 2). Found with an
     * accept-all cascade against cv2; nstripes comes from the first level. */
    int q = ny / L->step, ns = nstripes;
    int stripe = ((q + ns - 1) / ns > 1 ? (q + ns - 1) / ns : 1) * L->step;
    int ylim = ns * stripe < ny ? ns * stripe : ny;
    for (int y = 0; y < ylim; y += L->step) {
        int k = face_eval_row(&lv, y, nx, L->step, s->xs);
        for (int i = 0; i < k; i++) {
            FaceBox b = {(int)lrintf((float)s->xs[i] * L->scale), (int)lrintf((float)y * L->scale), bw, bh, 1};
            if (push_box(L, b) != 0) return -1;
        }
    }
    return 0;
}

static int cmp_work(const void *a, const void *b, void *ctx)
{
    const Level *lv = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (lv[i].work != lv[j].work) return lv[i].work > lv[j].work ? -1 : 1;
    return i - j;
}

EmoStatus face_detect(const FaceCascade *c, const uint8_t *gray, int w, int h, int stride,
                      const FaceDetectParams *p, FaceBox **boxes, int *n, EmoError *err)
{
    if (!boxes || !n) return emo_error_set(err, EMO_ERR_ARG, "face_detect: NULL output");
    *boxes = NULL;
    *n = 0;
    if (!c || !gray || !p) return emo_error_set(err, EMO_ERR_ARG, "face_detect: NULL argument");
    if (w < 1 || h < 1 || stride < w)
        return emo_error_set(err, EMO_ERR_ARG, "face_detect: bad image size %dx%d (stride %d)", w, h, stride);
    if (!(p->scale_factor > 1.0) || !isfinite(p->scale_factor))
        return emo_error_set(err, EMO_ERR_ARG, "face_detect: scale factor must be > 1 (got %g)", p->scale_factor);
    if (p->min_w < 0 || p->min_h < 0 || p->max_w < 0 || p->max_h < 0)
        return emo_error_set(err, EMO_ERR_ARG, "face_detect: negative min/max size");
    int W = c->win_w, H = c->win_h;
    int maxw = p->max_w, maxh = p->max_h;
    if (maxw == 0 || maxh == 0) { maxw = w; maxh = h; }

    /* The scale list (notes section 3): factor in double, window rounded.
     * First every factor whose window fits the image; then those within
     * [minSize, maxSize] (stopping at the first over maxSize). If none is
     * left, cv2 uses the one factor whose window is closest to minSize
     * (squared distance, first on ties), so e.g. minSize larger than the
     * image still scans the largest window: found with an accept-all
     * cascade on noise images. */
    int nall = 0, cap = 0;
    double *factors = NULL;
    for (double factor = 1.0;; factor *= p->scale_factor) {
        int ww = (int)lrint(W * factor), wh = (int)lrint(H * factor);
        if (ww > w || wh > h) break;
        if (nall == cap) {
            cap = cap ? 2 * cap : 64;
            double *nf = realloc(factors, (size_t)cap * sizeof *nf);
            if (!nf) { free(factors); return emo_error_set(err, EMO_ERR_NOMEM, "face_detect: out of memory"); }
            factors = nf;
        }
        factors[nall++] = factor;
    }
    int nlev = 0;
    Level *lev = calloc((size_t)(nall > 0 ? nall : 1), sizeof *lev);
    if (!lev) { free(factors); return emo_error_set(err, EMO_ERR_NOMEM, "face_detect: out of memory"); }
    for (int i = 0; i < nall; i++) {
        int ww = (int)lrint(W * factors[i]), wh = (int)lrint(H * factors[i]);
        if (ww > maxw || wh > maxh) break;
        if (ww < p->min_w || wh < p->min_h) continue;
        lev[nlev++].scale = (float)factors[i];
    }
    if (nlev == 0 && nall > 0) {
        int best = 0;
        double bd = INFINITY;
        for (int i = 0; i < nall; i++) {
            double dx = p->min_w - (int)lrint(W * factors[i]), dy = p->min_h - (int)lrint(H * factors[i]);
            double d = dx * dx + dy * dy;
            if (d < bd) {
                bd = d;
                best = i;
            }
        }
        lev[nlev++].scale = (float)factors[best];
    }
    free(factors);
    for (int i = 0; i < nlev; i++) {
        Level *L = &lev[i];
        L->sw = (int)lrintf((float)w / L->scale);
        L->sh = (int)lrintf((float)h / L->scale);
        L->step = L->scale >= 2.f ? 1 : 2;
        long long nx = L->sw - W + 1, ny = L->sh - H + 1;
        L->work = nx > 0 && ny > 0 ? nx * ny / ((long long)L->step * L->step) + (long long)L->sw * L->sh / 16 : 0;
    }
    if (nlev <= 0) { free(lev); return EMO_OK; } /* <= tells GCC nlev > 0 below */

    int *order = malloc((size_t)nlev * sizeof *order);
    if (!order) { free(lev); return emo_error_set(err, EMO_ERR_NOMEM, "face_detect: out of memory"); }
    for (int i = 0; i < nlev; i++) order[i] = i;
    qsort_r(order, (size_t)nlev, sizeof *order, cmp_work, lev);
    int bigw = 0, bigh = 0;
    for (int i = 0; i < nlev; i++) {
        if (lev[i].sw > bigw) bigw = lev[i].sw;
        if (lev[i].sh > bigh) bigh = lev[i].sh;
    }

    /* OpenCV's stripe count: ceil(working width / 32) of the first level */
    int nstripes = (lev[0].sw - W + 1 + 31) / 32;
    if (nstripes < 1) nstripes = 1;

    int failed = 0;
    int nthreads = p->threads;
#ifdef _OPENMP
    if (nthreads <= 0) nthreads = omp_get_max_threads();
    if (nthreads > nlev) nthreads = nlev;
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
#endif
    {
        Scratch s;
        int ok = scratch_alloc(&s, c, w, h, bigw, bigh) == 0;
        if (!ok) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            failed = 1;
        }
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (int k = 0; k < nlev; k++) {
            if (!ok) continue;
            Level *L = &lev[order[k]];
            if (L->sw < W || L->sh < H) continue;
            if (run_level(c, gray, w, h, stride, L, nstripes, &s) != 0) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
                failed = 1;
            }
        }
        if (ok) scratch_free(&s);
    }
    (void)nthreads;
    free(order);

    EmoStatus st = EMO_OK;
    int total = 0;
    for (int i = 0; i < nlev; i++) total += lev[i].nfound;
    FaceBox *all = NULL;
    if (failed) {
        st = emo_error_set(err, EMO_ERR_NOMEM, "face_detect: out of memory (%dx%d image)", w, h);
    } else if (total > 0) {
        all = malloc((size_t)total * sizeof *all);
        if (!all) {
            st = emo_error_set(err, EMO_ERR_NOMEM, "face_detect: out of memory (%d windows)", total);
        } else {
            int k = 0;
            for (int i = 0; i < nlev; i++) {
                if (lev[i].nfound) memcpy(all + k, lev[i].found, (size_t)lev[i].nfound * sizeof *all);
                k += lev[i].nfound;
            }
            int m;
            st = face_group_rectangles(all, total, p->min_neighbors, FACE_GROUP_EPS, &m, err);
            if (st == EMO_OK) {
                m = face_boxes_clip_sort(all, m, w, h);
                if (m > 0) {
                    *boxes = all;
                    *n = m;
                    all = NULL;
                }
            }
        }
    }
    free(all);
    for (int i = 0; i < nlev; i++) free(lev[i].found);
    free(lev);
    return st;
}

int face_detect_largest(const FaceBox *boxes, int n)
{
    (void)boxes;
    return n > 0 ? 0 : -1;
}
