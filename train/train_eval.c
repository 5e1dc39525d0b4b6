/* train_eval.c: one inference pass over a dataset (see train_eval.h). */
#include "train_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_augment.h"

EmoStatus train_evaluate(NetModel *m, TrainLoader *l, TrainMetrics *out, EmoError *err)
{
    return train_evaluate_tta(m, l, 0, out, err);
}

EmoStatus train_evaluate_tta(NetModel *m, TrainLoader *l, int tta_flip, TrainMetrics *out, EmoError *err)
{
    const NetConfig *cfg = net_config(m);
    const int K = (int)cfg->n_classes, W = (int)cfg->input_w, H = (int)cfg->input_h;
    const int maxb = net_max_batch(m);
    float *mirror = NULL, *probs = NULL;
    if (tta_flip) {
        mirror = malloc((size_t)maxb * (size_t)W * (size_t)H * sizeof *mirror);
        probs = malloc((size_t)maxb * (size_t)K * sizeof *probs);
        if (!mirror || !probs) {
            free(mirror);
            free(probs);
            return emo_error_set(err, EMO_ERR_NOMEM, "evaluate: out of memory");
        }
    }
    EmoStatus st = train_loader_start(l, 0, 0, err);
    TrainBatch b;
    const NetLossOpts plain = {0};
    while (st == EMO_OK && (st = train_loader_next(l, &b, err)) == EMO_OK) {
        if (b.count > maxb) {
            st = emo_error_set(err, EMO_ERR_ARG, "evaluate: batch of %d over the model's %d", b.count, maxb);
            break;
        }
        net_forward(m, b.x, b.count, 0);
        if (!tta_flip) {
            float loss = net_loss(m, b.labels, &plain);
            train_metrics_add_batch(out, b.labels, net_logits(m), (size_t)b.count, loss);
            continue;
        }
        memcpy(probs, net_probs(m), (size_t)b.count * (size_t)K * sizeof *probs);
        train_hflip_images(b.x, mirror, (size_t)b.count, W, H);
        net_forward(m, mirror, b.count, 0);
        const float *p2 = net_probs(m);
        for (int i = 0; i < b.count; i++) {
            float *p = probs + (size_t)i * (size_t)K;
            for (int c = 0; c < K; c++) p[c] = 0.5f * (p[c] + p2[(size_t)i * (size_t)K + (size_t)c]);
            double pl = p[b.labels[i]];
            train_metrics_add(out, b.labels[i], train_argmax(p, K), -log(pl > 1e-30 ? pl : 1e-30));
        }
    }
    train_loader_stop(l);
    free(mirror);
    free(probs);
    return st == EMO_ERR_EOF ? EMO_OK : st;
}

EmoStatus train_bn_recalibrate(NetModel *m, TrainLoader *l, uint64_t epoch, int batches, EmoError *err)
{
    /* Momentum 1/(k+1) on the k-th batch: the running statistics end as the
     * plain average over all `batches` batches, every batch weighted alike
     * ("precise BN"). An exponential average with the training momentum
     * (0.1) kept only the last ~20 batches (~1,300 faces): per-class
     * validation recall then moved by up to 20 points between epochs at
     * learning rates too small to change the weights much. */
    const float train_momentum = net_bn_momentum(m);
    EmoStatus st = EMO_OK;
    int done = 0;
    while (done < batches) {
        if ((st = train_loader_start(l, epoch++, 0, err)) != EMO_OK) break;
        TrainBatch b;
        int got = 0;
        st = EMO_OK;
        while (done < batches && (st = train_loader_next(l, &b, err)) == EMO_OK) {
            net_set_bn_momentum(m, 1.0f / (float)(done + 1));
            net_forward(m, b.x, b.count, 1);
            done++;
            got++;
        }
        train_loader_stop(l);
        if (done < batches && st != EMO_ERR_EOF) break;
        st = EMO_OK;
        if (got == 0) break; /* nothing to read: leave the statistics as they are */
    }
    net_set_bn_momentum(m, train_momentum);
    return st;
}
