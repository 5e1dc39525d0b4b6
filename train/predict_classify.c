/* predict_classify.c: batched inference over face crops. */
#include "predict_classify.h"

#include <stdlib.h>
#include <string.h>

#include "train_augment.h"
#include "train_metrics.h"

EmoStatus predict_classify(NetModel *m, const uint8_t *crops, int n, int tta_flip, PredictFace *faces,
                           EmoError *err)
{
    const NetConfig *cfg = net_config(m);
    const size_t px = (size_t)cfg->input_h * (size_t)cfg->input_w;
    const int K = (int)cfg->n_classes, maxb = net_max_batch(m);
    float *x = malloc(2 * (size_t)maxb * px * sizeof *x);
    if (!x) return emo_error_set(err, EMO_ERR_NOMEM, "predict: out of memory");
    float *mirror = x + (size_t)maxb * px;
    for (int i0 = 0; i0 < n; i0 += maxb) {
        int b = n - i0 < maxb ? n - i0 : maxb;
        /* Same scaling as training (pixel / 255); the model standardizes. */
        train_pixels_to_float(crops + (size_t)i0 * px, (size_t)b * px, x);
        net_forward(m, x, b, 0);
        const float *p = net_probs(m);
        for (int k = 0; k < b; k++) {
            PredictFace *f = &faces[i0 + k];
            memcpy(f->probs, p + (size_t)k * (size_t)K, (size_t)K * sizeof *p);
        }
        if (tta_flip) {
            train_hflip_images(x, mirror, (size_t)b, (int)cfg->input_w, (int)cfg->input_h);
            net_forward(m, mirror, b, 0);
            p = net_probs(m);
            for (int k = 0; k < b; k++)
                for (int c = 0; c < K; c++)
                    faces[i0 + k].probs[c] = 0.5f * (faces[i0 + k].probs[c] + p[(size_t)k * (size_t)K + (size_t)c]);
        }
        for (int k = 0; k < b; k++) faces[i0 + k].label = train_argmax(faces[i0 + k].probs, K);
    }
    free(x);
    return EMO_OK;
}
