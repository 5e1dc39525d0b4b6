/* face_detect.h: OpenCV-compatible multi-scale cascade detection.
 *
 * face_detect() is cv2.CascadeClassifier.detectMultiScale reimplemented from
 * ../shared/notes/opencv-cascades.md: the same scale list, INTER_LINEAR_EXACT
 * pyramid, window step, skip-after-stage-0 rule, float32 feature arithmetic
 * and groupRectangles (eps 0.2), so for the same cascade and parameters it
 * returns the boxes cv2 4.6 returns (checked by tests/compare). It does not
 * need OpenCV, only its cascade XML files.
 *
 * The image is 8-bit gray. Work is split over scales with OpenMP; the boxes
 * do not depend on the thread count. */
#ifndef FACE_DETECT_H
#define FACE_DETECT_H

#include <stdint.h>

#include "emo_error.h"
#include "face_cascade.h"

/* detectMultiScale's parameters, under OpenCV's names. */
typedef struct {
    double scale_factor;   /* > 1; pyramid step (OpenCV scaleFactor) */
    int min_neighbors;     /* keep clusters with more members; <= 0 = raw windows */
    int min_w, min_h;      /* minSize; 0 = no minimum */
    int max_w, max_h;      /* maxSize; 0 (either) = the image size */
    int threads;           /* OpenMP threads; <= 0 = OpenMP's default */
} FaceDetectParams;

/* cv2's Python defaults: scaleFactor 1.1, minNeighbors 3, minSize (0,0),
 * maxSize (0,0); threads 0. */
void face_detect_params_default(FaceDetectParams *p);

/* A detection in image pixels. neighbors = the number of raw windows in its
 * cluster (OpenCV's numDetections); 1 for raw output (min_neighbors <= 0). */
typedef struct {
    int x, y, w, h;
    int neighbors;
} FaceBox;

/* Detects objects in a gray image (w x h, row stride `stride` bytes).
 * On success *boxes is malloc'd (NULL when *n == 0; free() it) and sorted
 * deterministically by area descending, then y, x, w, h ascending. Boxes
 * are clipped to the image, as OpenCV clips them. An image smaller than the
 * window gives no boxes. Errors: EMO_ERR_ARG (bad parameters),
 * EMO_ERR_NOMEM. */
EmoStatus face_detect(const FaceCascade *c, const uint8_t *gray, int w, int h, int stride,
                      const FaceDetectParams *p, FaceBox **boxes, int *n, EmoError *err);

/* Index of the largest box (first in face_detect's order), or -1 if n == 0. */
int face_detect_largest(const FaceBox *boxes, int n);

#endif /* FACE_DETECT_H */
