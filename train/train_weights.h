/* train_weights.h: per-class loss weights from a dataset's class counts.
 *
 * FER2013 is imbalanced (happy:disgust is 16.5:1), so a plain cross-entropy
 * learns to never say "disgust". The trainer scales each example's loss by
 * its class's weight. Every scheme here is normalized so that the mean
 * weight over the classes present in the data is 1: the loss keeps the
 * same scale as the unweighted one, so the learning rate need not change.
 *
 *   none          all 1
 *   inverse       N / (C n_c)              (sklearn's "balanced")
 *   sqrt          sqrt(N / (C n_c))        (a gentler inverse)
 *   effective[:b] (1 - b) / (1 - b^n_c)    (Cui et al. 2019, default b 0.999)
 *   w0,...,w6     given explicitly (still normalized to mean 1)
 *
 * A class with no examples gets weight 0 (it never occurs in the loss) and
 * is left out of the mean. */
#ifndef TRAIN_WEIGHTS_H
#define TRAIN_WEIGHTS_H

#include <stdint.h>

#include "emo_error.h"
#include "emo_record.h"

typedef enum {
    TRAIN_CW_NONE = 0,
    TRAIN_CW_INVERSE,
    TRAIN_CW_SQRT,
    TRAIN_CW_EFFECTIVE,
    TRAIN_CW_MANUAL,
} TrainClassWeightKind;

typedef struct {
    TrainClassWeightKind kind;
    double beta;                          /* effective: 0 < beta < 1 */
    double manual[EMO_NUM_CLASSES];       /* manual: the given weights, >= 0 */
} TrainClassWeightSpec;

#define TRAIN_CW_EFFECTIVE_BETA_DEFAULT 0.999

/* Parses "none", "inverse", "sqrt", "effective", "effective:0.9999" or seven
 * comma-separated non-negative numbers. EMO_ERR_ARG with a message on
 * anything else. */
EmoStatus train_class_weights_parse(const char *text, TrainClassWeightSpec *spec, EmoError *err);

/* Fills w[0..6] from the spec and the training class counts, normalized to
 * mean 1 over the classes with n_c > 0. EMO_ERR_ARG if no class has
 * examples or the manual weights of all present classes are 0. */
EmoStatus train_class_weights_compute(const TrainClassWeightSpec *spec,
                                      const uint64_t counts[EMO_NUM_CLASSES],
                                      float w[EMO_NUM_CLASSES], EmoError *err);

/* The canonical text of a spec ("inverse", "effective:0.999", "1,2,...")
 * into buf (always NUL-terminated). */
void train_class_weights_describe(const TrainClassWeightSpec *spec, char *buf, unsigned cap);

#endif /* TRAIN_WEIGHTS_H */
