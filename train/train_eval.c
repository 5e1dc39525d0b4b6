/* train_eval.c: one inference pass over a dataset (see train_eval.h). */
#include "train_eval.h"

EmoStatus train_evaluate(NetModel *m, TrainLoader *l, TrainMetrics *out, EmoError *err)
{
    EMO_RETURN_IF_ERR(train_loader_start(l, 0, 0, err));
    TrainBatch b;
    EmoStatus st;
    const NetLossOpts plain = {0};
    while ((st = train_loader_next(l, &b, err)) == EMO_OK) {
        if (b.count > net_max_batch(m)) {
            train_loader_stop(l);
            return emo_error_set(err, EMO_ERR_ARG, "evaluate: batch of %d over the model's %d", b.count,
                                 net_max_batch(m));
        }
        net_forward(m, b.x, b.count, 0);
        float loss = net_loss(m, b.labels, &plain);
        train_metrics_add_batch(out, b.labels, net_logits(m), (size_t)b.count, loss);
    }
    train_loader_stop(l);
    return st == EMO_ERR_EOF ? EMO_OK : st;
}
