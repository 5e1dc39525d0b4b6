/* face_eval.c: prepared features and the scalar window classifier (the
 * reference the vector path in face_eval_vec.c must equal). */
#include "face_eval.h"

#include <math.h>
#include <string.h>

size_t face_eval_prepare_bytes(const FaceCascade *c)
{
    size_t one = c->type == FACE_FEATURE_LBP ? sizeof(FaceLbpOpt) : sizeof(FaceHaarOpt);
    return (size_t)c->nfeatures * one;
}

void face_eval_prepare(FaceEvalLevel *lv, const FaceCascade *c, int stride, void *buf)
{
    memset(lv, 0, sizeof *lv);
    lv->c = c;
    lv->stride = stride;
    int W = c->win_w, H = c->win_h;
    if (c->type == FACE_FEATURE_LBP) {
        lv->lbp = buf;
        for (int i = 0; i < c->nfeatures; i++) {
            const FaceLbpFeature *f = &c->lbp[i];
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 4; k++)
                    lv->lbp[i].ofs[j * 4 + k] = (f->y + j * f->h) * stride + f->x + k * f->w;
        }
        return;
    }
    lv->haar = buf;
    for (int i = 0; i < c->nfeatures; i++) {
        const FaceHaarFeature *f = &c->haar[i];
        FaceHaarOpt *o = &lv->haar[i];
        memset(o, 0, sizeof *o);
        o->nrects = f->nrects;
        o->tilted = f->tilted;
        for (int r = 0; r < f->nrects; r++) {
            const FaceHaarRect *q = &f->r[r];
            o->w[r] = q->weight;
            if (!f->tilted) {
                o->ofs[r][0] = q->y * stride + q->x;
                o->ofs[r][1] = q->y * stride + q->x + q->w;
                o->ofs[r][2] = (q->y + q->h) * stride + q->x;
                o->ofs[r][3] = (q->y + q->h) * stride + q->x + q->w;
            } else {
                o->ofs[r][0] = q->y * stride + q->x;
                o->ofs[r][1] = (q->y + q->h) * stride + q->x - q->h;
                o->ofs[r][2] = (q->y + q->w) * stride + q->x + q->w;
                o->ofs[r][3] = (q->y + q->w + q->h) * stride + q->x + q->w - q->h;
            }
        }
    }
    lv->nofs[0] = stride + 1;
    lv->nofs[1] = stride + W - 1;
    lv->nofs[2] = (H - 1) * stride + 1;
    lv->nofs[3] = (H - 1) * stride + W - 1;
    lv->area = (double)(W - 2) * (H - 2);
}

/* Window difference in uint32 (wrap-around is intended, see face_integral.h). */
static inline uint32_t rect_u(const uint32_t *p, const int32_t o[4])
{
    return p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]];
}

static inline float haar_value(const FaceHaarOpt *f, const uint32_t *ps, const uint32_t *pt)
{
    const uint32_t *p = f->tilted ? pt : ps;
    float v = f->w[0] * (float)(int32_t)rect_u(p, f->ofs[0]) + f->w[1] * (float)(int32_t)rect_u(p, f->ofs[1]);
    if (f->nrects == 3) v += f->w[2] * (float)(int32_t)rect_u(p, f->ofs[2]);
    return v;
}

static inline int lbp_code(const FaceLbpOpt *f, const uint32_t *p)
{
    const int32_t *o = f->ofs;
#define CELL(a, b, c, d) ((int32_t)(p[o[a]] - p[o[b]] - p[o[c]] + p[o[d]]))
    int32_t cv = CELL(5, 6, 9, 10);
    return (CELL(0, 1, 4, 5) >= cv ? 128 : 0) | (CELL(1, 2, 5, 6) >= cv ? 64 : 0) |
           (CELL(2, 3, 6, 7) >= cv ? 32 : 0) | (CELL(6, 7, 10, 11) >= cv ? 16 : 0) |
           (CELL(10, 11, 14, 15) >= cv ? 8 : 0) | (CELL(9, 10, 13, 14) >= cv ? 4 : 0) |
           (CELL(8, 9, 12, 13) >= cv ? 2 : 0) | (CELL(4, 5, 8, 9) >= cv ? 1 : 0);
#undef CELL
}

int face_eval_window(const FaceEvalLevel *lv, int x, int y)
{
    const FaceCascade *c = lv->c;
    size_t base = (size_t)y * lv->stride + x;
    const uint32_t *ps = lv->sum + base;
    float vnf = 1.f;
    if (c->type == FACE_FEATURE_HAAR) {
        int32_t s = (int32_t)(ps[lv->nofs[0]] - ps[lv->nofs[1]] - ps[lv->nofs[2]] + ps[lv->nofs[3]]);
        const uint32_t *pq = lv->sqsum + base;
        uint32_t q = pq[lv->nofs[0]] - pq[lv->nofs[1]] - pq[lv->nofs[2]] + pq[lv->nofs[3]];
        double nf = lv->area * (double)q - (double)s * (double)s;
        if (nf <= 0.) return -1;
        vnf = (float)(1. / sqrt(nf));
        if (!(lv->area * vnf < 0.1)) return -1;
    }
    const uint32_t *pt = lv->tilted ? lv->tilted + base : ps;
    for (int si = 0; si < c->nstages; si++) {
        const FaceStage *st = &c->stages[si];
        double acc = 0.;
        for (int t = st->first_tree; t < st->first_tree + st->ntrees; t++) {
            const FaceTree *tr = &c->trees[t];
            const FaceNode *nodes = c->nodes + tr->first_node;
            int idx = 0;
            do {
                const FaceNode *nd = &nodes[idx];
                int left;
                if (c->type == FACE_FEATURE_HAAR) {
                    float v = haar_value(&lv->haar[nd->feature], ps, pt) * vnf;
                    left = v < nd->threshold;
                } else {
                    int code = lbp_code(&lv->lbp[nd->feature], ps);
                    const uint32_t *sub = c->subsets + (size_t)(tr->first_node + idx) * c->subset_words;
                    left = (sub[code >> 5] >> (code & 31)) & 1;
                }
                idx = left ? nd->left : nd->right;
            } while (idx > 0);
            acc += (double)c->leaves[tr->first_leaf - idx];
        }
        if (acc < (double)st->threshold) return -si;
    }
    return 1;
}

int face_eval_row_scalar(const FaceEvalLevel *lv, int y, int nx, int step, int *xs)
{
    int n = 0;
    for (int x = 0; x < nx; x += step) {
        int r = face_eval_window(lv, x, y);
        if (r > 0) xs[n++] = x;
        if (r == 0) x += step;
    }
    return n;
}
