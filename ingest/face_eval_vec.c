/* face_eval_vec.c: the row scan, VW windows at a time (GCC vector extensions).
 *
 * Windows x0 .. x0+VW-1 of a row read their rectangle corners at the same
 * offsets plus the lane index, so every corner is one unaligned vector load
 * and the float/double arithmetic is the scalar code's, lane by lane (same
 * operations, same order, no FMA): the results equal face_eval_window's.
 *
 * OpenCV's skip rule (after a stage-0 reject the next x is not visited)
 * depends only on stage-0 outcomes, so a block first runs stage 0 on all
 * lanes, then walks the visited x left to right, and only the visited lanes
 * that passed stay alive for the later stages; the block stops as soon as
 * no lane is alive. Lanes not on the step grid are simply never alive.
 * With step 2 half the lanes are wasted, which still beats scalar code.
 *
 * Cascades this path does not cover (trees with VW or more leaves) use the
 * scalar reference; building with -DFACE_EVAL_SCALAR uses it everywhere. */
#include "face_eval.h"

#include <math.h>
#include <string.h>

/* GCC only: clang defines __GNUC__ too but lacks __builtin_shuffle. */
#if !defined(FACE_EVAL_SCALAR) && defined(__GNUC__) && !defined(__clang__)
/* 8 lanes: with AVX-512 the floats fill a ymm and the double stage sums
 * one zmm. 16 lanes measured 25% slower here (jaffe-dev, one thread): the
 * double sums need two registers, and in late stages few lanes are alive. */
#if defined(FACE_VW)
#define VW FACE_VW
#else
#define VW 8
#endif

typedef int32_t vi __attribute__((vector_size(VW * 4)));
typedef uint32_t vu __attribute__((vector_size(VW * 4)));
typedef float vf __attribute__((vector_size(VW * 4)));
typedef double vd __attribute__((vector_size(VW * 8)));
/* Half-width types: a double accumulator of VW lanes is two registers, kept
 * as two variables so the compiler does not spill it on every add. */
typedef float vfh __attribute__((vector_size(VW * 2)));
typedef double vdh __attribute__((vector_size(VW * 4)));

/* Stage sums of VW lanes, low and high halves. */
typedef struct {
    vdh lo, hi;
} Acc;

static inline void acc_add(Acc *a, vf v)
{
    vfh l, h;
    memcpy(&l, &v, sizeof l);
    memcpy(&h, (const char *)&v + sizeof l, sizeof h);
    a->lo += __builtin_convertvector(l, vdh);
    a->hi += __builtin_convertvector(h, vdh);
}

static inline double acc_lane(const Acc *a, int l)
{
    return l < VW / 2 ? a->lo[l] : a->hi[l - VW / 2];
}

static inline vu ld(const uint32_t *p)
{
    vu v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline vu rect_u(const uint32_t *p, const int32_t o[4])
{
    return ld(p + o[0]) - ld(p + o[1]) - ld(p + o[2]) + ld(p + o[3]);
}

static inline vi bcast_i(int32_t v)
{
    vi r;
    for (int i = 0; i < VW; i++) r[i] = v;
    return r;
}

static inline vf bcast_f(float v)
{
    vf r;
    for (int i = 0; i < VW; i++) r[i] = v;
    return r;
}

static inline int any(vi m)
{
    vi z = {0};
    return memcmp(&m, &z, sizeof m) != 0;
}

/* (m ? a : b) on bit patterns */
static inline vi sel(vi m, vi a, vi b)
{
    return (m & a) | (~m & b);
}

static inline int32_t f_bits(float f)
{
    int32_t v;
    memcpy(&v, &f, 4);
    return v;
}

/* Feature value (before the variance factor) of VW windows. */
static inline __attribute__((always_inline)) vf haar_v(const FaceHaarOpt *f, const uint32_t *ps, const uint32_t *pt)
{
    const uint32_t *p = f->tilted ? pt : ps;
    vf v = bcast_f(f->w[0]) * __builtin_convertvector((vi)rect_u(p, f->ofs[0]), vf) +
           bcast_f(f->w[1]) * __builtin_convertvector((vi)rect_u(p, f->ofs[1]), vf);
    if (f->nrects == 3) v += bcast_f(f->w[2]) * __builtin_convertvector((vi)rect_u(p, f->ofs[2]), vf);
    return v;
}

/* LBP codes (0..255) of VW windows. */
static inline __attribute__((always_inline)) vi lbp_v(const FaceLbpOpt *f, const uint32_t *p)
{
    const int32_t *o = f->ofs;
    vi P[16];
    for (int k = 0; k < 16; k++) P[k] = (vi)ld(p + o[k]);
#define CELL(a, b, c, d) (P[a] - P[b] - P[c] + P[d])
    vi cv = CELL(5, 6, 9, 10);
    return ((CELL(0, 1, 4, 5) >= cv) & 128) | ((CELL(1, 2, 5, 6) >= cv) & 64) | ((CELL(2, 3, 6, 7) >= cv) & 32) |
           ((CELL(6, 7, 10, 11) >= cv) & 16) | ((CELL(10, 11, 14, 15) >= cv) & 8) |
           ((CELL(9, 10, 13, 14) >= cv) & 4) | ((CELL(8, 9, 12, 13) >= cv) & 2) | ((CELL(4, 5, 8, 9) >= cv) & 1);
#undef CELL
}

/* Go-left mask of one node for VW windows. */
static inline __attribute__((always_inline)) vi node_left(const FaceEvalLevel *lv, int node, const uint32_t *ps, const uint32_t *pt, vf vnf)
{
    const FaceCascade *c = lv->c;
    const FaceNode *nd = &c->nodes[node];
    if (c->type == FACE_FEATURE_HAAR) {
        vf v = haar_v(&lv->haar[nd->feature], ps, pt) * vnf;
        return (vi)(v < bcast_f(nd->threshold));
    }
    vi code = lbp_v(&lv->lbp[nd->feature], ps);
    const uint32_t *sub = c->subsets + (size_t)node * c->subset_words;
    vi table = {0};
    for (int k = 0; k < c->subset_words && k < VW; k++) table[k] = (int32_t)sub[k];
    vi word = __builtin_shuffle(table, code >> 5);
    vi bit = (vi)(((vu)word >> (vu)(code & 31)) & 1);
    return bit != 0;
}

/* Sum of one stage's leaves for VW windows (double, as the scalar code). */
static inline __attribute__((always_inline)) Acc stage_sum(const FaceEvalLevel *lv, const FaceStage *st,
                                                           const uint32_t *ps, const uint32_t *pt, vf vnf, vi alive)
{
    const FaceCascade *c = lv->c;
    Acc acc = {{0}, {0}};
    for (int t = st->first_tree; t < st->first_tree + st->ntrees; t++) {
        const FaceTree *tr = &c->trees[t];
        const float *leaves = c->leaves + tr->first_leaf;
        vi leaf;
        if (tr->nnodes == 1) {
            const FaceNode *nd = &c->nodes[tr->first_node];
            vi m = node_left(lv, tr->first_node, ps, pt, vnf);
            leaf = sel(m, bcast_i(f_bits(leaves[-nd->left])), bcast_i(f_bits(leaves[-nd->right])));
        } else {
            /* Walk all lanes down together: node k is evaluated only if an
             * alive lane stands on it. A child code <= 0 is a leaf, stored
             * as -(leaf+1) so it never equals a node index. */
            vi cur = {0};
            for (int k = 0; k < tr->nnodes; k++) {
                vi at = cur == bcast_i(k);
                if (!any(at & alive)) continue;
                const FaceNode *nd = &c->nodes[tr->first_node + k];
                vi gl = node_left(lv, tr->first_node + k, ps, pt, vnf);
                int lc = nd->left > 0 ? nd->left : nd->left - 1, rc = nd->right > 0 ? nd->right : nd->right - 1;
                cur = sel(at, sel(gl, bcast_i(lc), bcast_i(rc)), cur);
            }
            vi idx = -cur - 1;
            idx = sel(idx < 0, bcast_i(0), idx); /* lanes never walked */
            vi table = {0};
            for (int k = 0; k <= tr->nnodes; k++) table[k] = f_bits(leaves[k]);
            leaf = __builtin_shuffle(table, idx);
        }
        acc_add(&acc, (vf)leaf);
    }
    return acc;
}

int face_eval_row(const FaceEvalLevel *lv, int y, int nx, int step, int *xs)
{
    const FaceCascade *c = lv->c;
    if (c->max_tree_nodes + 1 > VW || (c->type == FACE_FEATURE_LBP && c->subset_words > VW))
        return face_eval_row_scalar(lv, y, nx, step, xs);
    int n = 0, next_x = 0;
    size_t row = (size_t)y * lv->stride;
    for (int x0 = 0; x0 < nx; x0 += VW) {
        if (next_x >= x0 + VW) continue;
        const uint32_t *ps = lv->sum + row + x0;
        const uint32_t *pt = lv->tilted ? lv->tilted + row + x0 : ps;
        vf vnf = bcast_f(1.f);
        int32_t var_ok[VW];
        if (c->type == FACE_FEATURE_HAAR) {
            vi s = (vi)rect_u(ps, lv->nofs);
            vu q = rect_u(lv->sqsum + row + x0, lv->nofs);
            vd sd = __builtin_convertvector(s, vd), qd = __builtin_convertvector(q, vd);
            vd nf = lv->area * qd - sd * sd;
            for (int l = 0; l < VW; l++) {
                if (nf[l] > 0.) {
                    float v = (float)(1. / sqrt(nf[l]));
                    vnf[l] = v;
                    var_ok[l] = lv->area * v < 0.1;
                } else {
                    var_ok[l] = 0;
                }
            }
        } else {
            for (int l = 0; l < VW; l++) var_ok[l] = 1;
        }
        vi all = bcast_i(-1);
        Acc acc0 = stage_sum(lv, &c->stages[0], ps, pt, vnf, all);
        int32_t alive_a[VW] = {0};
        int nalive = 0;
        double thr0 = (double)c->stages[0].threshold;
        /* the sequential walk with the skip rule, over this block */
        while (next_x < x0 + VW && next_x < nx) {
            int l = next_x - x0;
            int code = !var_ok[l] ? -1 : acc_lane(&acc0, l) < thr0 ? 0 : 1;
            if (code == 1) {
                alive_a[l] = -1;
                nalive++;
            }
            next_x += code == 0 ? 2 * step : step;
        }
        if (!nalive) continue;
        vi alive;
        memcpy(&alive, alive_a, sizeof alive);
        for (int si = 1; si < c->nstages && any(alive); si++) {
            Acc acc = stage_sum(lv, &c->stages[si], ps, pt, vnf, alive);
            vdh thr = {0};
            thr += (double)c->stages[si].threshold;
            /* alive &= (acc >= thr), as a lane mask */
            typedef int64_t vlh __attribute__((vector_size(VW * 4)));
            vlh plo = acc.lo >= thr, phi = acc.hi >= thr;
            typedef int32_t vih __attribute__((vector_size(VW * 2)));
            vih mlo = __builtin_convertvector(plo, vih), mhi = __builtin_convertvector(phi, vih);
            vi pass;
            memcpy(&pass, &mlo, sizeof mlo);
            memcpy((char *)&pass + sizeof mlo, &mhi, sizeof mhi);
            alive &= pass;
        }
        for (int l = 0; l < VW; l++)
            if (alive[l]) xs[n++] = x0 + l;
    }
    return n;
}

#else /* no vector extensions: the scalar reference */

int face_eval_row(const FaceEvalLevel *lv, int y, int nx, int step, int *xs)
{
    return face_eval_row_scalar(lv, y, nx, step, xs);
}

#endif
