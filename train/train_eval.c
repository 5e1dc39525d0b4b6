/* train_eval.c: one inference pass over a dataset (see train_eval.h). */
#include "train_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_augment.h"

void train_forward_views(NetModel *m, const float *x, int B, const TrainView *views, int n_views, float *scratch,
                         float *probs)
{
    const NetConfig *cfg = net_config(m);
    const int K = (int)cfg->n_classes, W = (int)cfg->input_w, H = (int)cfg->input_h;
    memset(probs, 0, (size_t)B * (size_t)K * sizeof *probs);
    for (int v = 0; v < n_views; v++) {
        train_view_images(x, scratch, (size_t)B, W, H, views[v]);
        net_forward(m, scratch, B, 0);
        const float *p = net_probs(m);
        for (size_t i = 0; i < (size_t)B * (size_t)K; i++) probs[i] += p[i] / (float)n_views;
    }
}

EmoStatus train_evaluate(NetModel *m, TrainLoader *l, TrainMetrics *out, EmoError *err)
{
    const TrainView face = {0, 0, 0};
    return train_evaluate_tta(m, l, &face, 1, out, err);
}

EmoStatus train_evaluate_tta(NetModel *m, TrainLoader *l, const TrainView *views, int n_views, TrainMetrics *out,
                             EmoError *err)
{
    const NetConfig *cfg = net_config(m);
    const int K = (int)cfg->n_classes, W = (int)cfg->input_w, H = (int)cfg->input_h;
    const int maxb = net_max_batch(m);
    const int plain = n_views == 1 && !views[0].flip && !views[0].dx && !views[0].dy;
    float *view = NULL, *probs = NULL;
    if (!plain) {
        view = malloc((size_t)maxb * (size_t)W * (size_t)H * sizeof *view);
        probs = malloc((size_t)maxb * (size_t)K * sizeof *probs);
        if (!view || !probs) {
            free(view);
            free(probs);
            return emo_error_set(err, EMO_ERR_NOMEM, "evaluate: out of memory");
        }
    }
    EmoStatus st = train_loader_start(l, 0, 0, err);
    TrainBatch b;
    const NetLossOpts no_weights = {0};
    while (st == EMO_OK && (st = train_loader_next(l, &b, err)) == EMO_OK) {
        if (b.count > maxb) {
            st = emo_error_set(err, EMO_ERR_ARG, "evaluate: batch of %d over the model's %d", b.count, maxb);
            break;
        }
        if (plain) {
            net_forward(m, b.x, b.count, 0);
            float loss = net_loss(m, b.labels, &no_weights);
            train_metrics_add_batch(out, b.labels, net_logits(m), (size_t)b.count, loss);
            continue;
        }
        train_forward_views(m, b.x, b.count, views, n_views, view, probs);
        for (int i = 0; i < b.count; i++) {
            const float *p = probs + (size_t)i * (size_t)K;
            double pl = p[b.labels[i]];
            train_metrics_add(out, b.labels[i], train_argmax(p, K), -log(pl > 1e-30 ? pl : 1e-30));
        }
    }
    train_loader_stop(l);
    free(view);
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
