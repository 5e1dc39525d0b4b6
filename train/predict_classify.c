/* predict_classify.c: batched inference over face crops. */
#include "predict_classify.h"

#include <stdlib.h>
#include <string.h>

#include "train_augment.h"
#include "train_eval.h"
#include "train_metrics.h"

EmoStatus predict_classify(NetModel *m, const uint8_t *crops, int n, const TrainView *views, int n_views,
                           PredictFace *faces, EmoError *err)
{
    const NetConfig *cfg = net_config(m);
    const int W = (int)cfg->input_w, H = (int)cfg->input_h;
    const size_t px = (size_t)H * (size_t)W;
    const int K = (int)cfg->n_classes, maxb = net_max_batch(m);
    const TrainView face = {0, 0, 0};
    if (!views || n_views < 1) {
        views = &face;
        n_views = 1;
    }
    float *x = malloc((2 * (size_t)maxb * px + (size_t)maxb * (size_t)K) * sizeof *x);
    if (!x) return emo_error_set(err, EMO_ERR_NOMEM, "predict: out of memory");
    float *view = x + (size_t)maxb * px, *probs = view + (size_t)maxb * px;
    for (int i0 = 0; i0 < n; i0 += maxb) {
        int b = n - i0 < maxb ? n - i0 : maxb;
        /* Same scaling as training (pixel / 255); the model standardizes. */
        train_pixels_to_float(crops + (size_t)i0 * px, (size_t)b * px, x);
        train_forward_views(m, x, b, views, n_views, view, probs);
        for (int k = 0; k < b; k++) {
            memcpy(faces[i0 + k].probs, probs + (size_t)k * (size_t)K, (size_t)K * sizeof *probs);
            faces[i0 + k].label = train_argmax(faces[i0 + k].probs, K);
        }
    }
    free(x);
    return EMO_OK;
}
