/* train_report.c: text, JSON and PNG renderings of evaluation metrics. */
#include "train_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emo_image.h"
#include "emo_record.h"
#include "train_draw.h"

static void confusion_table(FILE *f, const TrainMetrics *m)
{
    fprintf(f, "confusion matrix (rows = true class, columns = predicted)\n%-9s", "");
    for (int p = 0; p < EMO_NUM_CLASSES; p++) fprintf(f, " %8s", emo_class_name(p));
    fputc('\n', f);
    for (int t = 0; t < EMO_NUM_CLASSES; t++) {
        fprintf(f, "%-9s", emo_class_name(t));
        for (int p = 0; p < EMO_NUM_CLASSES; p++) fprintf(f, " %8llu", (unsigned long long)m->confusion[t][p]);
        fputc('\n', f);
    }
}

char *train_report_confusion_text(const TrainMetrics *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    confusion_table(f, m);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *train_report_text(const TrainMetrics *m)
{
    TrainMetricSummary s;
    train_metrics_summarize(m, &s);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fprintf(f, "records %llu  accuracy %.4f  macro-F1 %.4f  loss %.4f\n", (unsigned long long)s.count,
            s.accuracy, s.macro_f1, s.loss);
    fprintf(f, "%-9s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < EMO_NUM_CLASSES; c++)
        fprintf(f, "%-9s %9.4f %9.4f %9.4f %9llu\n", emo_class_name(c), s.precision[c], s.recall[c], s.f1[c],
                (unsigned long long)s.support[c]);
    confusion_table(f, m);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

json_t *train_report_json(const TrainMetrics *m)
{
    TrainMetricSummary s;
    train_metrics_summarize(m, &s);
    json_t *o = json_object();
    json_t *names = json_array(), *per = json_array(), *conf = json_array();
    if (!o || !names || !per || !conf) goto oom;
    json_object_set_new(o, "records", json_integer((json_int_t)s.count));
    json_object_set_new(o, "loss", json_real(s.loss));
    json_object_set_new(o, "accuracy", json_real(s.accuracy));
    json_object_set_new(o, "macro_f1", json_real(s.macro_f1));
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        json_array_append_new(names, json_string(emo_class_name(c)));
        json_t *pc = json_pack("{s:s, s:f, s:f, s:f, s:I}", "class", emo_class_name(c), "precision",
                               s.precision[c], "recall", s.recall[c], "f1", s.f1[c], "support",
                               (json_int_t)s.support[c]);
        json_t *row = json_array();
        if (!pc || !row) {
            json_decref(pc);
            json_decref(row);
            goto oom;
        }
        json_array_append_new(per, pc);
        for (int p = 0; p < EMO_NUM_CLASSES; p++) json_array_append_new(row, json_integer((json_int_t)m->confusion[c][p]));
        json_array_append_new(conf, row);
    }
    json_object_set_new(o, "classes", names);
    json_object_set_new(o, "per_class", per);
    json_object_set_new(o, "confusion", conf);
    return o;
oom:
    json_decref(o);
    json_decref(names);
    json_decref(per);
    json_decref(conf);
    return NULL;
}

/*-*** Heat map ***/

enum { CELL_W = 54, CELL_H = 34, LEFT = 62, TOP = 34, BOTTOM = 26, RIGHT = 8 };

/* White -> dark blue as the row share goes 0 -> 1 (matplotlib "Blues" ends). */
static void shade(double v, uint8_t rgb[3])
{
    static const double lo[3] = {247, 251, 255}, hi[3] = {8, 48, 107};
    if (v < 0) v = 0;
    if (v > 1) v = 1;
    for (int i = 0; i < 3; i++) rgb[i] = (uint8_t)(lo[i] + (hi[i] - lo[i]) * v + 0.5);
}

EmoStatus train_report_confusion_png(const TrainMetrics *m, const char *title, const char *path, EmoError *err)
{
    static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255}, grid[3] = {160, 160, 160};
    const int n = EMO_NUM_CLASSES;
    EmoImage img;
    EMO_RETURN_IF_ERR(emo_image_alloc(&img, LEFT + n * CELL_W + RIGHT, TOP + n * CELL_H + BOTTOM, 3, err));
    memset(img.pixels, 255, (size_t)img.width * (size_t)img.height * 3);

    TrainMetricSummary s;
    train_metrics_summarize(m, &s);
    char buf[160];
    train_draw_text(&img, 4, 4, title ? title : "confusion matrix", 1, black);
    train_draw_text(&img, 4, TOP - 12, "true/pred", 1, black);
    for (int c = 0; c < n; c++) {
        int tw;
        train_draw_text_size(emo_class_name(c), 1, &tw, NULL);
        train_draw_text(&img, LEFT + c * CELL_W + (CELL_W - tw) / 2, TOP - 12, emo_class_name(c), 1, black);
        train_draw_text(&img, 4, TOP + c * CELL_H + CELL_H / 2 - 4, emo_class_name(c), 1, black);
    }
    for (int t = 0; t < n; t++)
        for (int p = 0; p < n; p++) {
            uint64_t v = m->confusion[t][p];
            double share = s.support[t] ? (double)v / (double)s.support[t] : 0;
            uint8_t rgb[3];
            shade(share, rgb);
            int x = LEFT + p * CELL_W, y = TOP + t * CELL_H;
            train_draw_fill(&img, x, y, CELL_W, CELL_H, rgb);
            train_draw_rect(&img, x, y, CELL_W, CELL_H, 1, grid);
            const uint8_t *ink = share > 0.5 ? white : black;
            int tw;
            snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
            train_draw_text_size(buf, 1, &tw, NULL);
            train_draw_text(&img, x + (CELL_W - tw) / 2, y + 7, buf, 1, ink);
            snprintf(buf, sizeof buf, "%.1f%%", 100 * share);
            train_draw_text_size(buf, 1, &tw, NULL);
            train_draw_text(&img, x + (CELL_W - tw) / 2, y + 19, buf, 1, ink);
        }
    snprintf(buf, sizeof buf, "n=%llu acc=%.2f%% macro-f1=%.4f", (unsigned long long)s.count, 100 * s.accuracy,
             s.macro_f1);
    train_draw_text(&img, 4, TOP + n * CELL_H + 9, buf, 1, black);
    EmoStatus st = emo_image_save_png(&img, path, err);
    emo_image_free(&img);
    return st;
}
