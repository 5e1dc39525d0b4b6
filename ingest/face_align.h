/* face_align.h: eye-based alignment of a detected face to a FER-like crop.
 *
 * Eyes are searched with an eye cascade (haarcascade_eye.xml, then an
 * optional fallback such as haarcascade_eye_tree_eyeglasses.xml) in the
 * upper part of the face box, upscaled so the face is FACE_ALIGN_SEARCH_W
 * pixels wide (the eye window is 20x20; small faces would otherwise have
 * no scale to search). Among the candidates the plausible pair closest to
 * the expected eye positions is kept (left eye in the left half, right in
 * the right half, 0.22-0.6 face widths apart, tilt under 30 degrees).
 *
 * The face is then rotated about the eye midpoint so the eyes are level and
 * scaled so they land on the template: in a 48x48 crop with margin 0 the
 * eye centres are at (14, 18.5) and (32, 18.5) (pixel-centre coordinates),
 * which is where eyes sit relative to an OpenCV frontalface box (measured
 * on JAFFE: 0.29w / 0.67w, 0.385h), so aligned and fallback crops frame the
 * face alike, as FER2013's faces are framed. The template scales with
 * out_size; a margin m widens the frame by m * box size on every side, for
 * both paths. Bilinear warp, replicate border (face_warp.h).
 * Without a pair the crop is the box plus margin, unrotated (eyes_found 0). */
#ifndef FACE_ALIGN_H
#define FACE_ALIGN_H

#include <stdint.h>

#include "emo_error.h"
#include "face_cascade.h"
#include "face_detect.h"

#define FACE_ALIGN_DEFAULT_MARGIN 0.0
/* Face width the eye search region is resized to. */
#define FACE_ALIGN_SEARCH_W 160

typedef struct {
    const FaceCascade *eye_cascade;           /* NULL: always the fallback crop */
    const FaceCascade *eye_cascade_fallback;  /* tried when no pair found; may be NULL */
    int out_size;                             /* output is out_size x out_size */
    double margin;                            /* extra frame per side, fraction of the box */
} FaceAlignParams;

/* out_size 48, margin FACE_ALIGN_DEFAULT_MARGIN, no cascades. */
void face_align_params_default(FaceAlignParams *p);

typedef struct {
    FaceBox box;          /* the face box aligned */
    int eyes_found;       /* 0 = fallback crop (box + margin); 1 = eyes from
                             eye_cascade; 2 = from eye_cascade_fallback */
    float left_x, left_y, right_x, right_y;  /* eye centres in the source image
                                                (left = smaller x); 0 if none */
    float angle_deg;      /* eye-line angle in the source (rotation undone); 0 if none */
} FaceAlignInfo;

/* Writes out_size*out_size gray pixels of the aligned face to out.
 * Errors: EMO_ERR_ARG (bad box or parameters), EMO_ERR_NOMEM. */
EmoStatus face_align(const uint8_t *gray, int w, int h, int stride, const FaceBox *box,
                     const FaceAlignParams *p, uint8_t *out, FaceAlignInfo *info, EmoError *err);

/* Finds the eye pair in a face box (as face_align does); returns 1 or 2
 * (which cascade) with the centres in image coordinates, or 0 if none. */
int face_align_find_eyes(const uint8_t *gray, int w, int h, int stride, const FaceBox *box,
                         const FaceAlignParams *p, float *lx, float *ly, float *rx, float *ry,
                         EmoError *err);

/* Quality check: re-detects the eyes on an aligned crop (size x size, made
 * with the same p) and gives their residual eye-line angle in degrees
 * (0 = level). EMO_ERR_NOT_FOUND when no pair is found. */
EmoStatus face_align_residual(const uint8_t *crop, int size, const FaceAlignParams *p,
                              double *angle_deg, EmoError *err);

#endif /* FACE_ALIGN_H */
