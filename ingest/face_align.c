/* face_align.c: eye search, pair choice and the aligning warp (see face_align.h). */
#include "face_align.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face_resize.h"
#include "face_warp.h"

/* Eye centres relative to the face box (fractions of its width/height,
 * box edges at 0 and 1): (14, 18.5) and (32, 18.5) in pixel-centre
 * coordinates of a 48x48 box crop, i.e. (x + 0.5) / 48. */
#define EYE_LX (14.5 / 48.0)
#define EYE_RX (32.5 / 48.0)
#define EYE_Y (19.0 / 48.0)

/* The search band inside the box, as fractions of the box height: the
 * eyes were measured at 0.385h; the band leaves room for tilt and brows. */
#define BAND_Y0 0.12
#define BAND_Y1 0.66

void face_align_params_default(FaceAlignParams *p)
{
    p->eye_cascade = NULL;
    p->eye_cascade_fallback = NULL;
    p->out_size = 48;
    p->margin = FACE_ALIGN_DEFAULT_MARGIN;
}

/* Picks the plausible pair among eye boxes given in face-box coordinates
 * scaled by k (face width = k * box width). Returns 1 and the centres in
 * box fractions, or 0. */
static int pick_pair(const FaceBox *e, int n, double fw, double fh, double y_off,
                     double *lx, double *ly, double *rx, double *ry)
{
    double best = 1e30;
    int found = 0;
    for (int i = 0; i < n; i++) {
        double cxi = (e[i].x + 0.5 * e[i].w) / fw, cyi = (e[i].y + 0.5 * e[i].h + y_off) / fh;
        double wi = e[i].w / fw;
        if (cxi >= 0.5 || wi < 0.08 || wi > 0.5) continue;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double cxj = (e[j].x + 0.5 * e[j].w) / fw, cyj = (e[j].y + 0.5 * e[j].h + y_off) / fh;
            double wj = e[j].w / fw;
            if (cxj <= 0.5 || wj < 0.08 || wj > 0.5) continue;
            double dx = cxj - cxi, dy = (cyj - cyi) * fh / fw;
            if (dx < 0.22 || dx > 0.6) continue;
            if (fabs(atan2(dy, dx)) > 30.0 * M_PI / 180.0) continue;
            double ratio = wi > wj ? wi / wj : wj / wi;
            if (ratio > 2.0) continue;
            /* distance to the expected positions, plus a size-mismatch term */
            double cost = hypot(cxi - EYE_LX, cyi - EYE_Y) + hypot(cxj - EYE_RX, cyj - EYE_Y) + 0.1 * log(ratio);
            if (cost < best) {
                best = cost;
                *lx = cxi;
                *ly = cyi;
                *rx = cxj;
                *ry = cyj;
                found = 1;
            }
        }
    }
    return found;
}

/* Runs one eye cascade on the band image (bw x bh, the face resized to
 * FACE_ALIGN_SEARCH_W wide) and picks a pair; centres in box fractions. */
static int eyes_in_band(const FaceCascade *eye, const uint8_t *band, int bw, int bh, int y_off, double fh,
                        double *lx, double *ly, double *rx, double *ry, EmoError *err, EmoStatus *st)
{
    FaceDetectParams dp;
    face_detect_params_default(&dp);
    dp.min_neighbors = 3;
    dp.min_w = dp.min_h = (int)(0.08 * bw);
    dp.max_w = dp.max_h = (int)(0.5 * bw);
    dp.threads = 1; /* a small image; callers parallelize over faces */
    FaceBox *e = NULL;
    int n = 0;
    *st = face_detect(eye, band, bw, bh, bw, &dp, &e, &n, err);
    if (*st != EMO_OK) return 0;
    int ok = pick_pair(e, n, bw, fh, y_off, lx, ly, rx, ry);
    free(e);
    return ok;
}

int face_align_find_eyes(const uint8_t *gray, int w, int h, int stride, const FaceBox *box,
                         const FaceAlignParams *p, float *lx, float *ly, float *rx, float *ry,
                         EmoError *err)
{
    if (!p->eye_cascade || box->w < 4 || box->h < 4) return 0;
    /* the band of the box where eyes can be, clipped to the image */
    int by0 = box->y + (int)floor(BAND_Y0 * box->h), by1 = box->y + (int)ceil(BAND_Y1 * box->h);
    int bx0 = box->x, bx1 = box->x + box->w;
    if (bx0 < 0) bx0 = 0;
    if (by0 < 0) by0 = 0;
    if (bx1 > w) bx1 = w;
    if (by1 > h) by1 = h;
    if (bx1 - bx0 < 4 || by1 - by0 < 4) return 0;
    double k = (double)FACE_ALIGN_SEARCH_W / box->w;
    int bw = (int)lround((bx1 - bx0) * k), bh = (int)lround((by1 - by0) * k);
    if (bw < 8 || bh < 8) return 0;
    uint8_t *band = malloc((size_t)bw * bh + face_resize_scratch_bytes(bx1 - bx0, by1 - by0, bw, bh) + 16);
    if (!band) {
        emo_error_set(err, EMO_ERR_NOMEM, "face_align: out of memory");
        return -1;
    }
    void *scratch = (void *)(((uintptr_t)(band + (size_t)bw * bh) + 15) & ~(uintptr_t)15);
    face_resize_linear_exact(gray + (size_t)by0 * stride + bx0, bx1 - bx0, by1 - by0, stride, band, bw, bh, bw,
                             scratch);
    /* band pixel (u, v) <-> box fraction ((u+0.5)/k + bx0 - box->x) / box->w, likewise y */
    double fw = box->w * k, fh = box->h * k;
    double y_off = (by0 - box->y) * k, x_off = (bx0 - box->x) * k;
    double l_x, l_y, r_x, r_y;
    EmoStatus st = EMO_OK;
    int which = 0;
    const FaceCascade *cs[2] = {p->eye_cascade, p->eye_cascade_fallback};
    for (int c = 0; c < 2 && !which && st == EMO_OK; c++) {
        if (!cs[c]) continue;
        if (eyes_in_band(cs[c], band, bw, bh, (int)y_off, fh, &l_x, &l_y, &r_x, &r_y, err, &st)) which = c + 1;
    }
    free(band);
    if (st != EMO_OK) return -1;
    if (!which) return 0;
    /* box fractions (with the band's x offset) -> image pixel-centre coordinates */
    *lx = (float)(box->x + (l_x + x_off / fw) * box->w - 0.5);
    *ly = (float)(box->y + l_y * box->h - 0.5);
    *rx = (float)(box->x + (r_x + x_off / fw) * box->w - 0.5);
    *ry = (float)(box->y + r_y * box->h - 0.5);
    return which;
}

/* The frame: the box grown by margin on every side, in image coordinates. */
static void frame_of(const FaceBox *b, double margin, double *fx, double *fy, double *fw, double *fh)
{
    *fx = b->x - margin * b->w;
    *fy = b->y - margin * b->h;
    *fw = b->w * (1 + 2 * margin);
    *fh = b->h * (1 + 2 * margin);
}

EmoStatus face_align(const uint8_t *gray, int w, int h, int stride, const FaceBox *box,
                     const FaceAlignParams *p, uint8_t *out, FaceAlignInfo *info, EmoError *err)
{
    if (!gray || !box || !p || !out || !info) return emo_error_set(err, EMO_ERR_ARG, "face_align: NULL argument");
    if (w < 1 || h < 1 || stride < w || p->out_size < 1 || p->out_size > 65536 || !(p->margin >= 0) ||
        p->margin > 10)
        return emo_error_set(err, EMO_ERR_ARG, "face_align: bad image or parameters");
    if (box->w < 1 || box->h < 1)
        return emo_error_set(err, EMO_ERR_ARG, "face_align: empty box %dx%d", box->w, box->h);
    memset(info, 0, sizeof *info);
    info->box = *box;
    int S = p->out_size;
    float lx, ly, rx, ry;
    int which = face_align_find_eyes(gray, w, h, stride, box, p, &lx, &ly, &rx, &ry, err);
    if (which < 0) return err ? err->status : EMO_ERR_NOMEM;
    double fx, fy, fw, fh;
    frame_of(box, p->margin, &fx, &fy, &fw, &fh);
    FaceAffine m;
    if (which > 0) {
        info->eyes_found = which;
        info->left_x = lx;
        info->left_y = ly;
        info->right_x = rx;
        info->right_y = ry;
        double ang = atan2(ry - ly, rx - lx) * 180.0 / M_PI;
        info->angle_deg = (float)ang;
        /* template eye positions in the output (pixel centres) */
        double m1 = 1 + 2 * p->margin;
        double tlx = (EYE_LX + p->margin) / m1 * S - 0.5, trx = (EYE_RX + p->margin) / m1 * S - 0.5;
        double ty = (EYE_Y + p->margin) / m1 * S - 0.5;
        double scale = (trx - tlx) / hypot(rx - lx, ry - ly);
        /* rotate by +ang (cv convention: CCW on screen) undoes a clockwise-down eye line */
        m = face_affine_rotate_scale(0.5 * (lx + rx), 0.5 * (ly + ry), ang, scale, 0.5 * (tlx + trx), ty);
    } else {
        /* frame edges map to output edges: out = (src + 0.5 - f) * S / fw - 0.5 */
        double kx = S / fw, ky = S / fh;
        m = (FaceAffine){{kx, 0, (0.5 - fx) * kx - 0.5, 0, ky, (0.5 - fy) * ky - 0.5}};
    }
    face_warp_affine(gray, w, h, stride, &m, out, S, S, S);
    return EMO_OK;
}

EmoStatus face_align_residual(const uint8_t *crop, int size, const FaceAlignParams *p, double *angle_deg,
                              EmoError *err)
{
    if (!crop || !p || !angle_deg || size < 8) return emo_error_set(err, EMO_ERR_ARG, "face_align_residual: bad argument");
    /* the face box inside the crop: the crop is the frame (box + margin) */
    double m1 = 1 + 2 * p->margin;
    FaceBox box = {(int)lround(p->margin / m1 * size), (int)lround(p->margin / m1 * size),
                   (int)lround(size / m1), (int)lround(size / m1), 0};
    float lx, ly, rx, ry;
    int which = face_align_find_eyes(crop, size, size, size, &box, p, &lx, &ly, &rx, &ry, err);
    if (which < 0) return err ? err->status : EMO_ERR_NOMEM;
    if (which == 0) return emo_error_set(err, EMO_ERR_NOT_FOUND, "face_align_residual: no eye pair in the crop");
    *angle_deg = atan2(ry - ly, rx - lx) * 180.0 / M_PI;
    return EMO_OK;
}
