/* train_report.h: an evaluation report as text, JSON and a PNG heat map.
 *
 * The same TrainMetrics (see train_metrics.h) is rendered three ways: a
 * fixed-width text table for terminals and model cards, a JSON object for
 * machines, and a confusion-matrix heat map (rows = true class, columns =
 * predicted, shaded by row-normalized share, i.e. by recall). */
#ifndef TRAIN_REPORT_H
#define TRAIN_REPORT_H

#include <jansson.h>

#include "emo_error.h"
#include "train_metrics.h"

/* The text report (summary line, per-class table, confusion matrix), as a
 * malloc'd NUL-terminated string; NULL if out of memory. */
char *train_report_text(const TrainMetrics *m);

/* The confusion matrix alone as text (rows true, columns predicted); malloc'd. */
char *train_report_confusion_text(const TrainMetrics *m);

/* The report as a new JSON object:
 *   {"records", "loss", "accuracy", "macro_f1", "classes": [names],
 *    "per_class": [{"class", "precision", "recall", "f1", "support"}],
 *    "confusion": [[...] per true class]}
 * NULL if out of memory. The caller owns the reference (json_decref). */
json_t *train_report_json(const TrainMetrics *m);

/* Renders the heat map with a title line (may be NULL) and writes it as a
 * PNG atomically. */
EmoStatus train_report_confusion_png(const TrainMetrics *m, const char *title, const char *path, EmoError *err);

#endif /* TRAIN_REPORT_H */
