/* train_weights.c: class-weight schemes (see train_weights.h). */
#include "train_weights.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strict number parse: the whole token must be a finite number. */
static int parse_double(const char *s, const char *end, double *out)
{
    char buf[64];
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *e;
    errno = 0;
    double v = strtod(buf, &e);
    if (errno || *e || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

EmoStatus train_class_weights_parse(const char *text, TrainClassWeightSpec *spec, EmoError *err)
{
    memset(spec, 0, sizeof *spec);
    spec->beta = TRAIN_CW_EFFECTIVE_BETA_DEFAULT;
    if (!text || !*text)
        return emo_error_set(err, EMO_ERR_ARG, "class weights: empty");
    if (strcmp(text, "none") == 0) { spec->kind = TRAIN_CW_NONE; return EMO_OK; }
    if (strcmp(text, "inverse") == 0) { spec->kind = TRAIN_CW_INVERSE; return EMO_OK; }
    if (strcmp(text, "sqrt") == 0) { spec->kind = TRAIN_CW_SQRT; return EMO_OK; }
    if (strncmp(text, "effective", 9) == 0) {
        spec->kind = TRAIN_CW_EFFECTIVE;
        if (text[9] == '\0') return EMO_OK;
        double b;
        if (text[9] != ':' || !parse_double(text + 10, text + strlen(text), &b) || !(b > 0 && b < 1))
            return emo_error_set(err, EMO_ERR_ARG,
                                 "class weights: '%s': expected effective:BETA with 0 < BETA < 1", text);
        spec->beta = b;
        return EMO_OK;
    }
    /* Seven comma-separated weights. */
    const char *p = text;
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        double v;
        if (!parse_double(p, end, &v) || v < 0)
            return emo_error_set(err, EMO_ERR_ARG,
                                 "class weights: '%s': expected none|inverse|sqrt|effective[:beta] "
                                 "or %d non-negative numbers w0,...,w%d", text, EMO_NUM_CLASSES,
                                 EMO_NUM_CLASSES - 1);
        spec->manual[c] = v;
        if (c < EMO_NUM_CLASSES - 1) {
            if (!comma)
                return emo_error_set(err, EMO_ERR_ARG, "class weights: '%s': %d numbers given, need %d", text,
                                     c + 1, EMO_NUM_CLASSES);
            p = comma + 1;
        } else if (comma) {
            return emo_error_set(err, EMO_ERR_ARG, "class weights: '%s': more than %d numbers", text,
                                 EMO_NUM_CLASSES);
        }
    }
    spec->kind = TRAIN_CW_MANUAL;
    return EMO_OK;
}

EmoStatus train_class_weights_compute(const TrainClassWeightSpec *spec,
                                      const uint64_t counts[EMO_NUM_CLASSES],
                                      float w[EMO_NUM_CLASSES], EmoError *err)
{
    double raw[EMO_NUM_CLASSES];
    double total = 0;
    int present = 0;
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        total += (double)counts[c];
        present += counts[c] > 0;
    }
    if (present == 0)
        return emo_error_set(err, EMO_ERR_ARG, "class weights: the training data has no labeled records");
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        double n = (double)counts[c];
        if (n == 0) { raw[c] = 0; continue; }
        switch (spec->kind) {
        case TRAIN_CW_NONE: raw[c] = 1; break;
        case TRAIN_CW_INVERSE: raw[c] = total / (EMO_NUM_CLASSES * n); break;
        case TRAIN_CW_SQRT: raw[c] = sqrt(total / (EMO_NUM_CLASSES * n)); break;
        /* 1 - b^n computed as -expm1(n log b): exact for b near 1, where
         * b^n would lose every digit that matters. */
        case TRAIN_CW_EFFECTIVE: raw[c] = (1 - spec->beta) / -expm1(n * log(spec->beta)); break;
        case TRAIN_CW_MANUAL: raw[c] = spec->manual[c]; break;
        default: return emo_error_set(err, EMO_ERR_ARG, "class weights: unknown scheme %d", (int)spec->kind);
        }
    }
    double sum = 0;
    for (int c = 0; c < EMO_NUM_CLASSES; c++) sum += raw[c];
    if (!(sum > 0))
        return emo_error_set(err, EMO_ERR_ARG, "class weights: all weights of the classes present are 0");
    double scale = present / sum;
    for (int c = 0; c < EMO_NUM_CLASSES; c++) w[c] = (float)(raw[c] * scale);
    return EMO_OK;
}

void train_class_weights_describe(const TrainClassWeightSpec *spec, char *buf, unsigned cap)
{
    if (!cap) return;
    switch (spec->kind) {
    case TRAIN_CW_NONE: snprintf(buf, cap, "none"); break;
    case TRAIN_CW_INVERSE: snprintf(buf, cap, "inverse"); break;
    case TRAIN_CW_SQRT: snprintf(buf, cap, "sqrt"); break;
    case TRAIN_CW_EFFECTIVE: snprintf(buf, cap, "effective:%g", spec->beta); break;
    case TRAIN_CW_MANUAL: {
        unsigned off = 0;
        buf[0] = '\0';
        for (int c = 0; c < EMO_NUM_CLASSES && off < cap; c++) {
            int n = snprintf(buf + off, cap - off, "%s%g", c ? "," : "", spec->manual[c]);
            if (n < 0) break;
            off += (unsigned)n;
        }
        break;
    }
    default: snprintf(buf, cap, "?"); break;
    }
}
