/* face_cascade.h: load an OpenCV cascade classifier (XML) for face_detect.
 *
 * Reads the current ("opencv-cascade-classifier") format written by
 * opencv_traincascade and shipped by Debian's opencv-data: BOOST stages of
 * weak classifiers (stumps or small trees) over HAAR features (upright and
 * tilted) or LBP features. The old haartraining format
 * ("opencv-haar-classifier") is read too and converted in memory, as
 * cv2 4.6 does. Parsing uses libxml2; a file that is not a cascade, or is
 * malformed (bad numbers, indices out of range, features outside the
 * window), fails with EMO_ERR_FORMAT and a message naming file and reason.
 * A loaded cascade is read-only and may be shared between threads. */
#ifndef FACE_CASCADE_H
#define FACE_CASCADE_H

#include <stddef.h>

#include "emo_error.h"

typedef struct FaceCascade FaceCascade;

/* Loads a cascade XML file. On success *c owns the cascade
 * (free with face_cascade_free). */
EmoStatus face_cascade_load(const char *path, FaceCascade **c, EmoError *err);

/* Same, from an XML document held in memory; `name` is for messages. */
EmoStatus face_cascade_load_memory(const char *xml, size_t size, const char *name,
                                   FaceCascade **c, EmoError *err);

/* Frees a cascade; NULL-safe. */
void face_cascade_free(FaceCascade *c);

/* The detection window size (e.g. 24x24 for frontalface_default).
 * Returns 0, or -1 if c is NULL. */
int face_cascade_window(const FaceCascade *c, int *w, int *h);

/* "HAAR" or "LBP". */
const char *face_cascade_feature_name(const FaceCascade *c);

/* Number of stages (for tools and tests). */
int face_cascade_stage_count(const FaceCascade *c);

#endif /* FACE_CASCADE_H */
