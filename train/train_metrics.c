/* train_metrics.c: confusion matrix, accuracy, precision/recall, macro-F1. */
#include "train_metrics.h"

#include <string.h>

void train_metrics_reset(TrainMetrics *m)
{
    memset(m, 0, sizeof *m);
}

void train_metrics_add(TrainMetrics *m, int label, int pred, double loss)
{
    if (label < 0 || label >= EMO_NUM_CLASSES || pred < 0 || pred >= EMO_NUM_CLASSES) return;
    m->confusion[label][pred]++;
    m->loss_sum += loss;
    m->count++;
}

int train_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void train_metrics_add_batch(TrainMetrics *m, const int *labels, const float *logits, size_t n,
                             double mean_loss)
{
    for (size_t i = 0; i < n; i++)
        train_metrics_add(m, labels[i], train_argmax(logits + i * EMO_NUM_CLASSES, EMO_NUM_CLASSES),
                          mean_loss);
}

void train_metrics_summarize(const TrainMetrics *m, TrainMetricSummary *s)
{
    memset(s, 0, sizeof *s);
    s->count = m->count;
    uint64_t correct = 0;
    for (int t = 0; t < EMO_NUM_CLASSES; t++)
        for (int p = 0; p < EMO_NUM_CLASSES; p++) {
            s->support[t] += m->confusion[t][p];
            s->predicted[p] += m->confusion[t][p];
            if (t == p) correct += m->confusion[t][p];
        }
    if (m->count == 0) return;
    s->loss = m->loss_sum / (double)m->count;
    s->accuracy = (double)correct / (double)m->count;
    double f1_sum = 0;
    int classes = 0;
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        double tp = (double)m->confusion[c][c];
        s->precision[c] = s->predicted[c] ? tp / (double)s->predicted[c] : 0;
        s->recall[c] = s->support[c] ? tp / (double)s->support[c] : 0;
        double pr = s->precision[c] + s->recall[c];
        s->f1[c] = pr > 0 ? 2 * s->precision[c] * s->recall[c] / pr : 0;
        if (s->support[c] || s->predicted[c]) {
            f1_sum += s->f1[c];
            classes++;
        }
    }
    s->macro_f1 = classes ? f1_sum / classes : 0;
}
