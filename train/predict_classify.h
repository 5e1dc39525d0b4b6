/* predict_classify.h: class probabilities for face crops.
 *
 * emopredict's model step: crops (already detected and aligned, gray, the
 * model's input size) go through the network in inference mode, in
 * batches of up to net_max_batch, and come back as softmax probabilities in
 * the order of the model's class names (its config, not a fixed list, so a
 * model trained on other classes labels its own way). */
#ifndef PREDICT_CLASSIFY_H
#define PREDICT_CLASSIFY_H

#include <stdint.h>

#include "emo_error.h"
#include "net_model.h"
#include "train_augment.h"

/* One classified face. */
typedef struct {
    int x, y, w, h;         /* box in the source image's pixels */
    int aligned;            /* 1: eye-aligned crop; 0: box crop */
    int whole_image;        /* 1: the whole image was taken as the face */
    int label;              /* argmax of probs */
    float probs[EMO_MODEL_MAX_CLASSES];
} PredictFace;

/* Classifies n crops (n x input_h x input_w bytes, row-major) with m,
 * filling faces[i].probs and faces[i].label (other fields untouched).
 * With more than one view (test-time augmentation, train_augment.h), a
 * crop's probabilities are the mean over its views; NULL views or n_views
 * <= 1 classify the crop as it is. */
EmoStatus predict_classify(NetModel *m, const uint8_t *crops, int n, const TrainView *views, int n_views,
                           PredictFace *faces, EmoError *err);

#endif /* PREDICT_CLASSIFY_H */
