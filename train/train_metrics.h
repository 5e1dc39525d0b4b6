/* train_metrics.h: classification metrics accumulated over a pass.
 *
 * One TrainMetrics collects a confusion matrix and a loss sum while batches
 * stream past; train_metrics_summarize turns it into accuracy, macro-F1 and
 * per-class precision/recall/F1. Macro-F1 averages F1 over the classes that
 * occur in the labels or the predictions (sklearn's convention), so a class
 * absent from a small validation set does not drag the mean to 0. */
#ifndef TRAIN_METRICS_H
#define TRAIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "emo_record.h"

typedef struct {
    uint64_t confusion[EMO_NUM_CLASSES][EMO_NUM_CLASSES];  /* [true][predicted] */
    double loss_sum;                                      /* sum of per-record losses */
    uint64_t count;                                       /* records added */
} TrainMetrics;

typedef struct {
    uint64_t count;
    double loss;                              /* mean loss (0 if count is 0) */
    double accuracy;
    double macro_f1;
    double precision[EMO_NUM_CLASSES];
    double recall[EMO_NUM_CLASSES];
    double f1[EMO_NUM_CLASSES];
    uint64_t support[EMO_NUM_CLASSES];        /* records whose label is c */
    uint64_t predicted[EMO_NUM_CLASSES];      /* records predicted as c */
} TrainMetricSummary;

void train_metrics_reset(TrainMetrics *m);

/* Adds one record: its true label (0..6), the predicted class and its loss.
 * Labels outside 0..6 are ignored. */
void train_metrics_add(TrainMetrics *m, int label, int pred, double loss);

/* Adds a batch: labels[n], logits[n][7] (argmax is the prediction) and the
 * batch's mean loss (counted once per record). */
void train_metrics_add_batch(TrainMetrics *m, const int *labels, const float *logits, size_t n,
                             double mean_loss);

/* The index of the largest of x[0..n-1] (the first on ties). */
int train_argmax(const float *x, int n);

void train_metrics_summarize(const TrainMetrics *m, TrainMetricSummary *s);

#endif /* TRAIN_METRICS_H */
