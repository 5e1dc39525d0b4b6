/* predict_format.h: emopredict's outputs, a JSON line per face and an
 * annotated picture.
 *
 * JSON lines (one object per line, keys in this order):
 *   a face:    {"file": F, "face": i, "faces": n,
 *               "box": {"x", "y", "w", "h"}, "aligned": bool,
 *               "whole_image": bool, "label": NAME, "confidence": p,
 *               "probabilities": {NAME: p, ...}}
 *   no face:   {"file": F, "faces": 0, "width": W, "height": H}
 *   an error:  {"file": F, "error": MESSAGE}
 * Class names and their order come from the model's config.
 *
 * Annotation draws each face's box and "label 93%" above it (below when
 * there is no room), in one color per class, with line width and text size
 * growing with the image so they stay legible on large photos. */
#ifndef PREDICT_FORMAT_H
#define PREDICT_FORMAT_H

#include "emo_image.h"
#include "net_model.h"
#include "predict_classify.h"

/* The JSON line (without the newline) for face i of n; malloc'd, NULL if
 * out of memory. */
char *predict_json_face(const char *file, int i, int n, const PredictFace *f, const NetConfig *cfg);

/* The JSON line for an image in which no face was found; malloc'd. */
char *predict_json_noface(const char *file, int width, int height);

/* The JSON line for an image that could not be processed; malloc'd. */
char *predict_json_error(const char *file, const char *message);

/* Draws the faces onto img (gray or RGB; RGB shows the class colors). */
void predict_annotate(EmoImage *img, const PredictFace *faces, int n, const NetConfig *cfg);

#endif /* PREDICT_FORMAT_H */
