/* ingest_face.h: the detect-and-align step of ingest behind one small
 * interface: cascades loaded once, then for each image the faces found
 * (largest only, or all), each aligned on the eyes and cropped to the
 * output size (face_detect.h + face_align.h do the work).
 *
 * The engine is read-only after ingest_face_open, so one engine serves all
 * OpenMP workers; each call runs the detector single-threaded because ingest
 * parallelizes over images instead. */
#ifndef INGEST_FACE_H
#define INGEST_FACE_H

#include <stdint.h>

#include "emo_error.h"

#define INGEST_FACE_CASCADE_DEFAULT "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
#define INGEST_EYE_CASCADE_DEFAULT "/usr/share/opencv4/haarcascades/haarcascade_eye.xml"
#define INGEST_EYE_FALLBACK_DEFAULT "/usr/share/opencv4/haarcascades/haarcascade_eye_tree_eyeglasses.xml"

typedef struct {
    const char *cascade;       /* face cascade XML */
    const char *eye_cascade;   /* eye cascade XML; "" = no eye alignment */
    const char *eye_fallback;  /* second eye cascade, tried when the first finds no pair; NULL/"" = none */
    double scale_factor;       /* OpenCV scaleFactor */
    int min_neighbors;         /* OpenCV minNeighbors */
    int min_size;              /* minSize (square), pixels; 0 = none */
    int max_size;              /* maxSize (square), pixels; 0 = none */
    int all_faces;             /* 0: the largest face only */
    double margin;             /* extra border around the face, fraction of its size; < 0 = aligner default */
    int out_size;              /* output side (48) */
} IngestFaceOptions;

/* Ingest's defaults: frontalface_default, eye and (as fallback)
 * eye_tree_eyeglasses cascades; scaleFactor 1.1, minNeighbors 5, minSize 30
 * (fewer false positives than OpenCV's 3 / none, which matter more than the
 * odd missed face when building a training set); largest face; the
 * aligner's default margin; 48 px. */
void ingest_face_options_default(IngestFaceOptions *o);

typedef struct IngestFaceEngine IngestFaceEngine;

/* Loads the cascades. Errors name the cascade file. EMO_ERR_UNSUPPORTED if
 * this build has no detector. */
EmoStatus ingest_face_open(IngestFaceEngine **e, const IngestFaceOptions *o, EmoError *err);
void ingest_face_close(IngestFaceEngine *e);

typedef struct {
    int x, y, w, h;            /* detector box in image pixels */
    int neighbors;
    int eyes_found;            /* 1: aligned on both eyes; 0: box crop fallback */
    double left_x, left_y, right_x, right_y;  /* eye centres in image pixels (if eyes_found) */
    double angle_deg;          /* rotation applied */
    uint8_t *pixels;           /* out_size x out_size gray, malloc'd */
} IngestFace;

/* Detects and aligns. *faces is malloc'd (NULL when *n == 0); free with
 * ingest_faces_free. No face is *n == 0 and EMO_OK. */
EmoStatus ingest_face_find(const IngestFaceEngine *e, const uint8_t *gray, int w, int h, int stride,
                           IngestFace **faces, int *n, EmoError *err);

void ingest_faces_free(IngestFace *faces, int n);

#endif /* INGEST_FACE_H */
