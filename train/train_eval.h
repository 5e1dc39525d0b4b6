/* train_eval.h: run a model over a dataset and collect metrics.
 *
 * Inference mode (batch norm with running statistics, no parameter
 * change). The loss reported is plain cross-entropy (no class weights, no
 * smoothing), so validation losses compare across runs trained with
 * different loss options. */
#ifndef TRAIN_EVAL_H
#define TRAIN_EVAL_H

#include "emo_error.h"
#include "net_model.h"
#include "train_augment.h"
#include "train_loader.h"
#include "train_metrics.h"

/* Streams one pass of `l` (which should be in evaluation order) through m,
 * adding every record to `out` (not reset first). Batches must fit
 * net_max_batch(m). Errors are the loader's (shard, block). */
EmoStatus train_evaluate(NetModel *m, TrainLoader *l, TrainMetrics *out, EmoError *err);

/* The same with test-time augmentation: each face's class probabilities
 * are the mean over the n_views views of it (train_augment.h), and the
 * loss is -log of that mean for the true class (n_views forward passes per
 * batch). With one view, the identity, it is train_evaluate. */
EmoStatus train_evaluate_tta(NetModel *m, TrainLoader *l, const TrainView *views, int n_views, TrainMetrics *out,
                             EmoError *err);

/* Class probabilities of B <= net_max_batch(m) images x (B,1,H,W) as the
 * mean over n_views views of each (eval mode): probs (B,K) overwritten.
 * scratch holds one batch of images (B*H*W floats). */
void train_forward_views(NetModel *m, const float *x, int B, const TrainView *views, int n_views, float *scratch,
                         float *probs);

/* Re-estimates the batch-norm running statistics of m for its current
 * weights ("precise BN"): `batches` forward passes in training mode over
 * l (training order starting at `epoch`, continuing into the following
 * epochs if one is too short), with no gradient and no weight change.
 * Why: the running averages kept during training mix statistics of many
 * past weights; at high learning rates they lag the final weights enough
 * to cost validation accuracy (measured on FER2013 at epoch 6: 37.6% with
 * the running averages, 50.4% after this). The result is the plain
 * average of the batches' statistics (momentum 1/(k+1)), so the old values
 * are gone after the first batch and no batch counts more than another. */
EmoStatus train_bn_recalibrate(NetModel *m, TrainLoader *l, uint64_t epoch, int batches, EmoError *err);

#endif /* TRAIN_EVAL_H */
