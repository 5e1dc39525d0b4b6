/* face_eval.h: run a cascade on the windows of one pyramid level.
 *
 * A level is one scaled image with its integral images. face_eval_prepare
 * turns the cascade's window-relative rectangles into offsets for the
 * level's integral stride (OpenCV's "optimized features"); face_eval_row
 * then classifies every window of one row with OpenCV's step and its
 * skip-after-stage-0 rule, and returns the x of the windows that pass all
 * stages. Arithmetic follows the notes exactly (float32 features times the
 * variance factor, double stage sums, strict '<' node tests), so the vector
 * path and the scalar reference give the same windows bit for bit. */
#ifndef FACE_EVAL_H
#define FACE_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "face_cascade_data.h"

/* Extra elements face_eval_row may read past the end of each integral
 * buffer (vector lanes past the last window); allocate them, any value. */
#define FACE_EVAL_PAD 64

/* A Haar feature as corner offsets from the window origin:
 * rect sum = p[o0] - p[o1] - p[o2] + p[o3]. */
typedef struct {
    int32_t ofs[3][4];
    float w[3];
    int32_t nrects;
    int32_t tilted;
} FaceHaarOpt;

/* An LBP feature: the 4x4 grid of integral points of its 3x3 cells. */
typedef struct {
    int32_t ofs[16];
} FaceLbpOpt;

typedef struct {
    const FaceCascade *c;
    int stride;                /* integral row stride, elements */
    const uint32_t *sum;       /* (sw+1) x (sh+1) + FACE_EVAL_PAD */
    const uint32_t *sqsum;     /* Haar only */
    const uint32_t *tilted;    /* Haar with tilted features only */
    FaceHaarOpt *haar;         /* prepared features (Haar) */
    FaceLbpOpt *lbp;           /* prepared features (LBP) */
    int32_t nofs[4];           /* variance rect (1, 1, W-2, H-2) */
    double area;
} FaceEvalLevel;

/* Bytes of feature buffer face_eval_prepare needs for c. */
size_t face_eval_prepare_bytes(const FaceCascade *c);

/* Fills lv's offsets for integral stride `stride`; buf (face_eval_prepare_bytes,
 * 16-byte aligned) holds the prepared features. Set lv->sum/sqsum/tilted after. */
void face_eval_prepare(FaceEvalLevel *lv, const FaceCascade *c, int stride, void *buf);

/* Classifies the window at (x, y) with scalar code (the reference):
 * 1 = passes every stage; 0 = rejected by stage 0; -k = rejected by stage k;
 * -1 also for a variance reject (nearly flat window), as in OpenCV. */
int face_eval_window(const FaceEvalLevel *lv, int x, int y);

/* Scans row y: x = 0, step, ... < nx, skipping the next x after a stage-0
 * reject. Writes the x of windows passing all stages to xs (room for nx)
 * and returns their count. Uses the vector path when it applies. */
int face_eval_row(const FaceEvalLevel *lv, int y, int nx, int step, int *xs);

/* The same with the scalar reference only (for tests and fallback). */
int face_eval_row_scalar(const FaceEvalLevel *lv, int y, int nx, int step, int *xs);

#endif /* FACE_EVAL_H */
