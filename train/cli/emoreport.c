/* emoreport: one HTML page with pictures of a whole pipeline run.
 *
 *   emoreport -o report/ [--metrics run/metrics.csv] [--eval eval.json]
 *             [--ingest-report ingest/ingest-report.json] [--dataset NAME=DIR]...
 *             [--preview aug/preview.png] [--samples grid.png]
 *             [--predictions predictions.jsonl] [--opts DIR] [--title TEXT]
 *
 * Reads what the stages left behind (emotrain's metrics.csv, an eval.json
 * with a confusion matrix, emoingest's report, dataset manifests, emoaugment's
 * preview sheet, emopredict's JSON lines) and writes into the output folder:
 *
 *   curves.png      loss and accuracy vs epoch (train and validation)
 *   recall.png      validation recall of each class vs epoch
 *   confusion.png   confusion-matrix heat map (row-normalized, with counts)
 *   classes.png     per-class precision, recall and F1 (also as a table)
 *   data.png        records per class and split (and after augmentation)
 *   preview.png     the augmentation preview sheet (copied)
 *   index.html      all of it on one page, with the numbers beside the pictures
 *   plots/          the gnuplot scripts and data behind each PNG
 *
 * Every input is optional: a section whose input is missing says so. Plots
 * are drawn by gnuplot (pngcairo, else png); without gnuplot the page keeps
 * its tables. Every file is written atomically, index.html last.
 * Exit: 0 written, 1 failed, 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_record.h"

#define MAX_CLASSES 16
#define MAX_DATASETS 8
#define MAX_COLS 64

/* One color per class, the same in every chart and in the page. */
static const char *const class_colors[EMO_NUM_CLASSES] = {
    "#d62728", "#8c564b", "#9467bd", "#e6a100", "#7f7f7f", "#1f77b4", "#17becf",
};

static const char *prog = "emoreport";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: warning: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p) die("out of memory");
    return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) die("out of memory");
    return s;
}

static int file_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads a whole text file (NULL if missing or unreadable; warns unless missing). */
static char *read_text(const char *path)
{
    uint8_t *data;
    size_t n;
    EmoError err;
    EmoStatus s = emo_read_file(path, 256u << 20, &data, &n, &err);
    if (s != EMO_OK) {
        if (s != EMO_ERR_NOT_FOUND) warn("%s", err.msg);
        return NULL;
    }
    return (char *)data;
}

/* Copies src to dir/name atomically; 0 on success. */
static int copy_file(const char *src, const char *dir, const char *name)
{
    uint8_t *data;
    size_t n;
    EmoError err;
    if (emo_read_file(src, 512u << 20, &data, &n, &err) != EMO_OK) {
        warn("%s", err.msg);
        return -1;
    }
    char *dst = emo_path_join(dir, name);
    int rc = emo_write_file_atomic(dst, data, n, &err) == EMO_OK ? 0 : -1;
    if (rc) warn("%s", err.msg);
    free(dst);
    free(data);
    return rc;
}

/* Writes a string to dir/name atomically. */
static void write_text(const char *dir, const char *name, const char *text)
{
    char *path = emo_path_join(dir, name);
    EmoError err;
    if (emo_write_file_atomic(path, text, strlen(text), &err) != EMO_OK) die("%s", err.msg);
    free(path);
}

/* A growable string. */
typedef struct {
    char *s;
    size_t len, cap;
} Buf;

static void buf_add(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(Buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) die("format error");
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) die("out of memory");
        b->s = s;
        b->cap = cap;
    }
}

/* Appends s with &, <, >, " escaped. */
static void buf_html(Buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': buf_add(b, "&amp;"); break;
        case '<': buf_add(b, "&lt;"); break;
        case '>': buf_add(b, "&gt;"); break;
        case '"': buf_add(b, "&quot;"); break;
        default: buf_add(b, "%c", *s);
        }
    }
}

/*-*** Training metrics (metrics.csv or JSON lines) ***/

typedef struct {
    int ncols, nrows;
    char *names[MAX_COLS];
    double *rows;   /* nrows * ncols, NAN where a cell is empty or not a number */
} Table;

static double table_at(const Table *t, int r, int c) { return t->rows[(size_t)r * t->ncols + c]; }

static void table_push_row(Table *t, const double *row, int *cap)
{
    if (t->nrows == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        t->rows = realloc(t->rows, (size_t)*cap * t->ncols * sizeof(double));
        if (!t->rows) die("out of memory");
    }
    memcpy(t->rows + (size_t)t->nrows * t->ncols, row, t->ncols * sizeof(double));
    t->nrows++;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '"') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n' || e[-1] == '"')) *--e = 0;
    return s;
}

static double parse_num(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno) return NAN;
    while (*end == ' ' || *end == '%') end++;
    return *end ? NAN : v;
}

/* CSV with a header row, or JSON lines of flat objects (numbers kept). */
static int table_load(const char *path, Table *t)
{
    memset(t, 0, sizeof *t);
    char *text = read_text(path);
    if (!text) return -1;
    int cap = 0;
    char *save = NULL;
    const char *p = text;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    if (*p == '{') {
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            json_error_t je;
            json_t *o = json_loads(line, 0, &je);
            if (!json_is_object(o)) { json_decref(o); continue; }
            const char *k;
            json_t *v;
            json_object_foreach(o, k, v) {
                if (!json_is_number(v)) continue;
                int found = 0;
                for (int c = 0; c < t->ncols; c++) found |= strcmp(t->names[c], k) == 0;
                if (!found && t->ncols < MAX_COLS) {
                    if (t->nrows) { warn("%s: key %s first seen after row 1: ignored", path, k); continue; }
                    t->names[t->ncols++] = xstrdup(k);
                }
            }
            double row[MAX_COLS];
            for (int c = 0; c < t->ncols; c++) {
                json_t *v2 = json_object_get(o, t->names[c]);
                row[c] = json_is_number(v2) ? json_number_value(v2) : NAN;
            }
            if (t->ncols) table_push_row(t, row, &cap);
            json_decref(o);
        }
    } else {
        int first = 1;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (*trim(line) == 0 || line[0] == '#') continue;
            double row[MAX_COLS];
            int c = 0;
            char *fsave = NULL;
            for (char *f = strtok_r(line, ",", &fsave); f && c < MAX_COLS; f = strtok_r(NULL, ",", &fsave), c++) {
                if (first)
                    t->names[c] = xstrdup(trim(f));
                else
                    row[c] = parse_num(trim(f));
            }
            if (first) {
                t->ncols = c;
                first = 0;
                continue;
            }
            for (; c < t->ncols; c++) row[c] = NAN;
            table_push_row(t, row, &cap);
        }
    }
    free(text);
    if (t->ncols == 0 || t->nrows == 0) {
        warn("%s: no rows of metrics", path);
        return -1;
    }
    return 0;
}

static void table_free(Table *t)
{
    for (int c = 0; c < t->ncols; c++) free(t->names[c]);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* Lower-cased column name with '-', ' ', '/' and '.' turned into '_'. */
static void norm_name(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++) {
        char ch = in[i];
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if (ch == '-' || ch == ' ' || ch == '/' || ch == '.') ch = '_';
        out[i] = ch;
    }
    out[i] = 0;
}

static int has_word(const char *name, const char *w) { return strstr(name, w) != NULL; }

static int is_val(const char *n) { return has_word(n, "val") || has_word(n, "valid") || has_word(n, "test"); }

/* Which column holds what: the trainer may spell its header a few ways. */
typedef struct {
    int epoch, train_loss, train_acc, val_loss, val_acc, val_f1, seconds, lr, best;
    int recall[EMO_NUM_CLASSES];
} MetricCols;

static void find_cols(const Table *t, MetricCols *m)
{
    m->epoch = m->train_loss = m->train_acc = m->val_loss = m->val_acc = m->val_f1 = m->seconds = m->lr = m->best = -1;
    for (int k = 0; k < EMO_NUM_CLASSES; k++) m->recall[k] = -1;
    for (int c = 0; c < t->ncols; c++) {
        char n[128];
        norm_name(t->names[c], n, sizeof n);
        if (m->epoch < 0 && strcmp(n, "epoch") == 0) m->epoch = c;
        else if (m->best < 0 && (strcmp(n, "best") == 0 || strcmp(n, "is_best") == 0)) m->best = c;
        else if (has_word(n, "recall")) {
            if (has_word(n, "train")) continue;
            for (int k = 0; k < EMO_NUM_CLASSES; k++)
                if (m->recall[k] < 0 && has_word(n, emo_class_name(k))) m->recall[k] = c;
        } else if (has_word(n, "f1")) {
            if (m->val_f1 < 0 && !has_word(n, "train")) m->val_f1 = c;
        } else if (has_word(n, "loss")) {
            if (is_val(n)) { if (m->val_loss < 0) m->val_loss = c; }
            else if (m->train_loss < 0) m->train_loss = c;
        } else if (has_word(n, "acc")) {
            if (is_val(n)) { if (m->val_acc < 0) m->val_acc = c; }
            else if (m->train_acc < 0) m->train_acc = c;
        } else if (m->seconds < 0 && (has_word(n, "elapsed") || has_word(n, "seconds") || strcmp(n, "time") == 0 ||
                                      strcmp(n, "time_s") == 0 || strcmp(n, "sec") == 0 || strcmp(n, "wall") == 0)) {
            m->seconds = c;
        } else if (m->lr < 0 && (strcmp(n, "lr") == 0 || has_word(n, "learning_rate"))) {
            m->lr = c;
        }
    }
}

/* Fractions in [0,1] are shown as percentages; values already in percent stay. */
static double col_scale(const Table *t, int c)
{
    if (c < 0) return 1;
    double mx = 0;
    for (int r = 0; r < t->nrows; r++) {
        double v = table_at(t, r, c);
        if (!isnan(v) && v > mx) mx = v;
    }
    return mx <= 1.0 + 1e-9 ? 100.0 : 1.0;
}

/*-*** Evaluation (eval.json) ***/

typedef struct {
    int have, have_cm;
    int k;                                   /* number of classes */
    char *names[MAX_CLASSES];
    uint64_t cm[MAX_CLASSES][MAX_CLASSES];   /* [true][predicted] */
    double accuracy, macro_f1;               /* NAN when unknown */
    double precision[MAX_CLASSES], recall[MAX_CLASSES], f1[MAX_CLASSES];
    uint64_t support[MAX_CLASSES];
    uint64_t total;
    char *split;                             /* what the eval ran on, if said */
} Eval;

static json_t *obj_get_any(json_t *o, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(o, *keys);
        if (v) return v;
    }
    return NULL;
}

/* A K x K array of arrays of numbers. */
static int parse_matrix(json_t *a, Eval *e)
{
    if (!json_is_array(a)) return 0;
    size_t k = json_array_size(a);
    if (k < 2 || k > MAX_CLASSES) return 0;
    for (size_t i = 0; i < k; i++) {
        json_t *row = json_array_get(a, i);
        if (!json_is_array(row) || json_array_size(row) != k) return 0;
        for (size_t j = 0; j < k; j++) {
            json_t *v = json_array_get(row, j);
            if (!json_is_number(v) || json_number_value(v) < 0) return 0;
            e->cm[i][j] = (uint64_t)llround(json_number_value(v));
        }
    }
    e->k = (int)k;
    return 1;
}

static int eval_load(const char *path, Eval *e)
{
    memset(e, 0, sizeof *e);
    e->accuracy = e->macro_f1 = NAN;
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (file_exists(path)) warn("%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        warn("%s: not a JSON object", path);
        json_decref(root);
        return -1;
    }
    static const char *const acc_keys[] = {"accuracy", "acc", "val_accuracy", "val_acc", NULL};
    static const char *const f1_keys[] = {"macro_f1", "macro-f1", "macroF1", "f1_macro", "val_macro_f1", NULL};
    static const char *const cm_keys[] = {"confusion", "confusion_matrix", "confusionMatrix", NULL};
    static const char *const cls_keys[] = {"classes", "class_names", "labels", NULL};
    static const char *const split_keys[] = {"split", "dataset", "shards", NULL};
    json_t *v = obj_get_any(root, acc_keys);
    if (json_is_number(v)) e->accuracy = json_number_value(v);
    v = obj_get_any(root, f1_keys);
    if (json_is_number(v)) e->macro_f1 = json_number_value(v);
    v = obj_get_any(root, split_keys);
    if (json_is_string(v)) e->split = xstrdup(json_string_value(v));
    /* emotrain --eval names the datasets it read: .../val -> "validation set" */
    json_t *dsets = json_object_get(root, "datasets");
    if (!e->split && json_is_array(dsets) && json_array_size(dsets) == 1) {
        json_t *d0 = json_array_get(dsets, 0);
        const char *p = json_is_string(d0) ? json_string_value(d0) : json_is_object(d0) ? json_string_value(json_object_get(d0, "path")) : NULL;
        if (p) {
            char *dup = xstrdup(p);
            size_t n = strlen(dup);
            while (n > 1 && dup[n - 1] == '/') dup[--n] = 0;
            const char *base = strrchr(dup, '/') ? strrchr(dup, '/') + 1 : dup;
            e->split = xstrdup(strcmp(base, "val") == 0 || strcmp(base, "validation") == 0 ? "validation set"
                               : strcmp(base, "test") == 0 ? "test set"
                               : strcmp(base, "train") == 0 ? "training set" : base);
            free(dup);
        }
    }
    json_t *cm = obj_get_any(root, cm_keys);
    /* {"confusion": {"matrix": [[...]], "classes": [...]}} is also accepted. */
    json_t *cls = obj_get_any(root, cls_keys);
    if (json_is_object(cm)) {
        if (!cls) cls = obj_get_any(cm, cls_keys);
        json_t *inner = json_object_get(cm, "matrix");
        if (!inner) inner = json_object_get(cm, "counts");
        cm = inner;
    }
    e->have_cm = parse_matrix(cm, e);
    if (!e->have_cm) e->k = EMO_NUM_CLASSES;
    for (int i = 0; i < e->k; i++) {
        json_t *n = json_is_array(cls) ? json_array_get(cls, (size_t)i) : NULL;
        e->names[i] = xstrdup(json_is_string(n) ? json_string_value(n) : emo_class_name(i));
    }
    if (e->have_cm) {
        /* Everything per class follows from the matrix, so the table and the
         * heat map cannot disagree. Macro-F1 over classes seen in labels or
         * predictions (sklearn's convention, as emotrain computes it). */
        uint64_t diag = 0;
        double f1sum = 0;
        int f1n = 0;
        for (int i = 0; i < e->k; i++) {
            uint64_t row = 0, col = 0;
            for (int j = 0; j < e->k; j++) {
                row += e->cm[i][j];
                col += e->cm[j][i];
            }
            e->support[i] = row;
            e->total += row;
            diag += e->cm[i][i];
            e->precision[i] = col ? (double)e->cm[i][i] / col : 0;
            e->recall[i] = row ? (double)e->cm[i][i] / row : 0;
            double pr = e->precision[i] + e->recall[i];
            e->f1[i] = pr > 0 ? 2 * e->precision[i] * e->recall[i] / pr : 0;
            if (row || col) {
                f1sum += e->f1[i];
                f1n++;
            }
        }
        if (e->total) {
            e->accuracy = (double)diag / e->total;
            if (isnan(e->macro_f1)) e->macro_f1 = f1n ? f1sum / f1n : 0;
        }
    }
    if (e->accuracy > 1.0 + 1e-9) e->accuracy /= 100;
    if (e->macro_f1 > 1.0 + 1e-9) e->macro_f1 /= 100;
    e->have = 1;
    json_decref(root);
    return 0;
}

/*-*** Datasets (manifests) ***/

typedef struct {
    char *name;
    int ok;
    uint64_t counts[EMO_NUM_CLASSES];
    uint64_t total, unlabeled, augmented;
    int width, height;
} DataSet;

static void dataset_load(DataSet *d, const char *spec)
{
    memset(d, 0, sizeof *d);
    const char *eq = strchr(spec, '=');
    if (!eq) die("--dataset wants NAME=DIR, not '%s'", spec);
    d->name = xstrdup(spec);
    d->name[eq - spec] = 0;
    EmoManifest m;
    EmoError err;
    memset(&m, 0, sizeof m);
    if (emo_manifest_load(eq + 1, &m, &err) != EMO_OK) {
        warn("%s", err.msg);
        return;
    }
    for (int c = 0; c < EMO_NUM_CLASSES; c++) d->counts[c] = m.class_counts[c];
    d->total = m.num_records;
    d->unlabeled = m.unlabeled;
    d->augmented = m.augmented;
    d->width = m.width;
    d->height = m.height;
    d->ok = 1;
    emo_manifest_free(&m);
}

/*-*** Ingest report ***/

typedef struct {
    char *reason;
    int count;
} ReasonCount;

typedef struct {
    int have;
    Buf facts;       /* <tr> rows of the top-level scalars */
    ReasonCount *reasons;
    int nreasons;
    int nrejected;
    Buf examples;    /* <tr> rows: input, reason (the first few) */
} IngestInfo;

static const char *json_str_any(json_t *o, const char *const *keys)
{
    json_t *v = obj_get_any(o, keys);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The reason's kind: the text before the first ':' or " (" ("duplicate of X" -> "duplicate"). */
static char *reason_kind(const char *r)
{
    char *k = xstrdup(r);
    size_t n = strcspn(k, ":(");
    k[n] = 0;
    char *of = strstr(k, " of ");
    if (of) *of = 0;
    char *t = trim(k);
    if (t != k) memmove(k, t, strlen(t) + 1);
    return k;
}

/* Walks the JSON for objects that carry a "reason": those are the rejections. */
static void collect_rejections(json_t *j, IngestInfo *in, int depth)
{
    static const char *const reason_keys[] = {"reason", "why", "error", NULL};
    static const char *const input_keys[] = {"input", "path", "file", "source", "url", "name", NULL};
    if (depth > 6) return;
    if (json_is_object(j)) {
        const char *reason = json_str_any(j, reason_keys);
        if (reason) {
            const char *input = json_str_any(j, input_keys);
            const char *detail = json_string_value(json_object_get(j, "detail"));
            json_t *row = json_object_get(j, "row");
            char *kind = reason_kind(reason);
            int i = 0;
            for (; i < in->nreasons; i++)
                if (strcmp(in->reasons[i].reason, kind) == 0) break;
            if (i == in->nreasons) {
                in->reasons = realloc(in->reasons, (size_t)(in->nreasons + 1) * sizeof *in->reasons);
                if (!in->reasons) die("out of memory");
                in->reasons[in->nreasons].reason = kind;
                in->reasons[in->nreasons++].count = 0;
            } else {
                free(kind);
            }
            in->reasons[i].count++;
            if (in->nrejected < 50) {
                buf_add(&in->examples, "<tr><td class=\"path\">");
                buf_html(&in->examples, input ? input : "");
                if (json_is_integer(row)) buf_add(&in->examples, " row %lld", (long long)json_integer_value(row));
                buf_add(&in->examples, "</td><td>");
                buf_html(&in->examples, reason);
                if (detail && *detail) {
                    buf_add(&in->examples, ": ");
                    buf_html(&in->examples, detail);
                }
                buf_add(&in->examples, "</td></tr>\n");
            }
            in->nrejected++;
            return;
        }
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) collect_rejections(v, in, depth + 1);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) collect_rejections(v, in, depth + 1);
    }
}

static int cmp_reason(const void *a, const void *b)
{
    const ReasonCount *x = a, *y = b;
    return y->count - x->count;
}

static void fact_row(Buf *b, const char *key, const char *val)
{
    buf_add(b, "<tr><th>");
    buf_html(b, key);
    buf_add(b, "</th><td>");
    buf_html(b, val);
    buf_add(b, "</td></tr>\n");
}

/* Scalars at the top level and in the objects below it ("totals": {...},
 * "duplicates": {"cross_split_pairs": {...}}), two levels at most. Settings
 * and per-class counts are shown elsewhere. */
static void collect_facts(json_t *o, const char *prefix, int depth, IngestInfo *in)
{
    static const char *const skip[] = {"options", "sources", "counts", "list", "rejected", "tool", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int skipped = 0;
        for (int i = 0; skip[i]; i++) skipped |= strcmp(k, skip[i]) == 0;
        if (skipped) continue;
        char key[256];
        snprintf(key, sizeof key, "%s%s", prefix, k);
        for (char *p = key; *p; p++)
            if (*p == '_') *p = ' ';
        char val[256];
        if (json_is_integer(v))
            snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(val, sizeof val, "%.4g", json_real_value(v));
        else if (json_is_string(v) && strlen(json_string_value(v)) < 200)
            snprintf(val, sizeof val, "%s", json_string_value(v));
        else if (json_is_boolean(v))
            snprintf(val, sizeof val, "%s", json_is_true(v) ? "yes" : "no");
        else if (json_is_object(v) && depth < 2 && json_object_size(v) <= 16) {
            char p2[300];
            snprintf(p2, sizeof p2, "%s: ", key);
            collect_facts(v, p2, depth + 1, in);
            continue;
        } else if (json_is_array(v) && depth == 0 && json_array_size(v) > 0 && json_is_string(json_array_get(v, 0))) {
            size_t i;
            json_t *s;
            json_array_foreach(v, i, s) if (json_is_string(s)) fact_row(&in->facts, key, json_string_value(s));
            continue;
        } else
            continue;
        fact_row(&in->facts, key, val);
    }
}

static void ingest_load(const char *path, IngestInfo *in)
{
    memset(in, 0, sizeof *in);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (file_exists(path)) warn("%s:%d: %s", path, je.line, je.text);
        return;
    }
    if (json_is_object(root)) collect_facts(root, "", 0, in);
    /* emoingest lists them under "rejected"; elsewhere, any object with a reason */
    json_t *rej = json_is_object(root) ? json_object_get(root, "rejected") : NULL;
    collect_rejections(json_is_array(rej) ? rej : root, in, 0);
    if (in->nreasons > 1) qsort(in->reasons, (size_t)in->nreasons, sizeof *in->reasons, cmp_reason);
    in->have = 1;
    json_decref(root);
}

/*-*** Predictions (emopredict JSON lines) ***/

typedef struct {
    char *file;      /* as printed */
    char *copy;      /* name inside the report, or NULL if the image could not be copied */
    char *label;     /* NULL: no face */
    double prob[EMO_NUM_CLASSES];
    int have_prob;
    int faces;
} Prediction;

static int predictions_load(const char *path, const char *outdir, Prediction **out)
{
    char *text = read_text(path);
    if (!text) return 0;
    Prediction *p = NULL;
    int n = 0;
    char *save = NULL;
    static const char *const file_keys[] = {"file", "image", "path", "input", NULL};
    static const char *const label_keys[] = {"label", "emotion", "class", "prediction", NULL};
    static const char *const prob_keys[] = {"probabilities", "probs", "scores", "probability", NULL};
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!json_is_object(o)) { json_decref(o); continue; }
        const char *file = json_str_any(o, file_keys);
        if (!file) { json_decref(o); continue; }
        /* several faces in one image: keep the first, count the rest */
        int i = 0;
        for (; i < n; i++)
            if (strcmp(p[i].file, file) == 0) break;
        if (i < n) {
            p[i].faces++;
            json_decref(o);
            continue;
        }
        p = realloc(p, (size_t)(n + 1) * sizeof *p);
        if (!p) die("out of memory");
        Prediction *q = &p[n++];
        memset(q, 0, sizeof *q);
        q->file = xstrdup(file);
        const char *label = json_str_any(o, label_keys);
        if (label) {
            q->label = xstrdup(label);
            q->faces = 1;
        }
        json_t *pr = obj_get_any(o, prob_keys);
        for (int c = 0; c < EMO_NUM_CLASSES; c++) {
            json_t *v = json_is_array(pr) ? json_array_get(pr, (size_t)c)
                        : json_is_object(pr) ? json_object_get(pr, emo_class_name(c)) : NULL;
            if (json_is_number(v)) {
                q->prob[c] = json_number_value(v);
                q->have_prob = 1;
            }
        }
        const char *base = strrchr(file, '/');
        base = base ? base + 1 : file;
        char *name = xasprintf("pred-%02d-%s", n, base);
        for (char *s = name; *s; s++)
            if (!(*s == '.' || *s == '-' || *s == '_' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                  (*s >= 'A' && *s <= 'Z')))
                *s = '_';
        if (file_exists(file) && copy_file(file, outdir, name) == 0)
            q->copy = name;
        else
            free(name);
        json_decref(o);
    }
    free(text);
    *out = p;
    return n;
}

/*-*** gnuplot ***/

static int gp_missing;        /* gnuplot could not be run */
static const char *gp_term;   /* "pngcairo" or "png" */

/* Runs `gnuplot script` in dir; 0 on success. */
static int run_gnuplot(const char *dir, const char *script)
{
    if (gp_missing) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(126);
        if (!script) {
            /* probe: does this gnuplot have pngcairo? */
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
            execlp("gnuplot", "gnuplot", "-e", "set terminal pngcairo", (char *)NULL);
        } else {
            execlp("gnuplot", "gnuplot", script, (char *)NULL);
        }
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) die("waitpid: %s", strerror(errno));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        gp_missing = 1;
        warn("gnuplot not found: the report has no plots (install gnuplot-nox: make deps)");
        return -1;
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Writes plots/NAME.gp (which writes NAME.png.tmp) and runs it; renames to NAME.png. */
static int plot(const char *outdir, const char *name, int width, int height, const char *body)
{
    if (gp_missing) return -1;
    char *script = xasprintf(
        "# %s.png, drawn by emoreport; rerun from the report folder: gnuplot plots/%s.gp\n"
        "set terminal %s size %d,%d %s\n"
        "set output '%s.png.tmp'\n"
        "set border 3 lw 1 lc rgb '#666666'\n"
        "set tics nomirror textcolor rgb '#333333'\n"
        "set grid ytics lt 1 lc rgb '#e4e4e4' lw 1\n"
        "set key noenhanced textcolor rgb '#333333'\n"
        "set datafile separator whitespace\n"
        "%s\n"
        "unset output\n",
        name, name, gp_term, width, height,
        strcmp(gp_term, "pngcairo") == 0 ? "enhanced font 'Sans,11' background rgb 'white'"
                                          : "enhanced font 'Sans,10' background rgb '#ffffff'",
        name, body);
    char *gp = xasprintf("plots/%s.gp", name);
    write_text(outdir, gp, script);
    int rc = run_gnuplot(outdir, gp);
    char *tmp = xasprintf("%s/%s.png.tmp", outdir, name);
    char *png = xasprintf("%s/%s.png", outdir, name);
    if (rc == 0 && file_exists(tmp)) {
        if (rename(tmp, png) != 0) die("rename %s: %s", png, strerror(errno));
    } else {
        unlink(tmp);
        if (!gp_missing) warn("gnuplot failed on %s/%s", outdir, gp);
        rc = -1;
    }
    free(tmp);
    free(png);
    free(gp);
    free(script);
    return rc;
}

/* The training curves: loss (left) and accuracy/macro-F1 (right) vs epoch. */
static int plot_curves(const char *outdir, const Table *t, const MetricCols *m, int best_row)
{
    if (m->train_loss < 0 && m->val_loss < 0 && m->train_acc < 0 && m->val_acc < 0) return -1;
    int cols[6] = {m->train_loss, m->val_loss, m->train_acc, m->val_acc, m->val_f1, -1};
    double scale[6] = {1, 1, col_scale(t, m->train_acc), col_scale(t, m->val_acc), col_scale(t, m->val_f1), 1};
    Buf d = {0};
    buf_add(&d, "# epoch train_loss val_loss train_acc%% val_acc%% val_macro_f1%%\n");
    for (int r = 0; r < t->nrows; r++) {
        double ep = m->epoch >= 0 ? table_at(t, r, m->epoch) : r + 1;
        buf_add(&d, "%g", ep);
        for (int i = 0; i < 5; i++) {
            double v = cols[i] >= 0 ? table_at(t, r, cols[i]) * scale[i] : NAN;
            if (isnan(v)) buf_add(&d, " NaN");
            else buf_add(&d, " %.6g", v);
        }
        buf_add(&d, "\n");
    }
    write_text(outdir, "plots/curves.dat", d.s);
    free(d.s);
    double first = m->epoch >= 0 ? table_at(t, 0, m->epoch) : 1;
    double last = m->epoch >= 0 ? table_at(t, t->nrows - 1, m->epoch) : t->nrows;
    double best_ep = best_row >= 0 ? (m->epoch >= 0 ? table_at(t, best_row, m->epoch) : best_row + 1) : NAN;
    Buf b = {0};
    double pad = last > first ? (last - first) * 0.04 : 0.5;
    buf_add(&b, "set xrange [%g:%g]\n", first - pad, last + pad);
    if (last - first <= 20) buf_add(&b, "set xtics 1\n");
    /* One legend for both panels (the colors mean the same in each), centred
     * under the whole figure. */
    buf_add(&b, "set xlabel 'epoch' textcolor rgb '#333333'\n"
                "set style line 1 lc rgb '#1f77b4' lw 2.5 pt 7 ps 0.9\n"
                "set style line 2 lc rgb '#ff7f0e' lw 2.5 pt 7 ps 0.9\n"
                "set style line 3 lc rgb '#2ca02c' lw 2 dt 2 pt 5 ps 0.8\n");
    if (!isnan(best_ep))
        buf_add(&b, "set arrow 1 from %g, graph 0 to %g, graph 1 nohead lc rgb '#999999' dt 3 lw 1.5\n"
                    "set label 1 'best' at %g, graph 1.035 center textcolor rgb '#777777' font ',10'\n",
                best_ep, best_ep, best_ep);
    buf_add(&b, "set multiplot\nunset key\n"
                "set tmargin at screen 0.9\nset bmargin at screen 0.2\n"
                "set lmargin at screen 0.07\nset rmargin at screen 0.48\n");
    buf_add(&b, "set title 'Loss (lower is better)' font ',13' textcolor rgb '#222222'\nset ylabel ''\nset yrange [0:*]\n");
    buf_add(&b, "plot ");
    int any = 0;
    if (m->train_loss >= 0) { buf_add(&b, "'plots/curves.dat' using 1:2 with linespoints ls 1"); any = 1; }
    if (m->val_loss >= 0) buf_add(&b, "%s'plots/curves.dat' using 1:3 with linespoints ls 2", any++ ? ", " : "");
    if (!any) buf_add(&b, "NaN notitle");
    buf_add(&b, "\nset lmargin at screen 0.57\nset rmargin at screen 0.98\n"
                "set title 'Accuracy and macro-F1 (%%)' noenhanced\nset yrange [0:100]\nset ytics 10\nplot ");
    any = 0;
    if (m->train_acc >= 0) buf_add(&b, "'plots/curves.dat' using 1:4 with linespoints ls 1"), any++;
    if (m->val_acc >= 0) buf_add(&b, "%s'plots/curves.dat' using 1:5 with linespoints ls 2", any++ ? ", " : "");
    if (m->val_f1 >= 0) buf_add(&b, "%s'plots/curves.dat' using 1:6 with linespoints ls 3", any++ ? ", " : "");
    if (!any) buf_add(&b, "NaN notitle");
    /* The legend: an empty plot across the bottom of the figure. */
    int train_any = m->train_loss >= 0 || m->train_acc >= 0, val_any = m->val_loss >= 0 || m->val_acc >= 0;
    buf_add(&b, "\nunset title\nunset xlabel\nunset border\nunset tics\nunset grid\nunset arrow\nunset label\n"
                "set xrange [0:1]\nset yrange [0:1]\n"
                "set lmargin at screen 0.05\nset rmargin at screen 0.95\nset tmargin at screen 0.08\nset bmargin at screen 0.01\n"
                "set key center center horizontal samplen 3 width 2\nplot NaN notitle");
    if (train_any) buf_add(&b, ", NaN with linespoints ls 1 title 'train'");
    if (val_any) buf_add(&b, ", NaN with linespoints ls 2 title 'validation'");
    if (m->val_f1 >= 0) buf_add(&b, ", NaN with linespoints ls 3 title 'validation macro-F1'");
    buf_add(&b, "\nunset multiplot");
    int rc = plot(outdir, "curves", 1100, 460, b.s);
    free(b.s);
    return rc;
}

static int plot_recall(const char *outdir, const Table *t, const MetricCols *m)
{
    int any = 0;
    for (int k = 0; k < EMO_NUM_CLASSES; k++) any |= m->recall[k] >= 0;
    if (!any) return -1;
    Buf d = {0};
    buf_add(&d, "# epoch");
    for (int k = 0; k < EMO_NUM_CLASSES; k++) buf_add(&d, " %s", emo_class_name(k));
    buf_add(&d, "\n");
    for (int r = 0; r < t->nrows; r++) {
        buf_add(&d, "%g", m->epoch >= 0 ? table_at(t, r, m->epoch) : r + 1);
        for (int k = 0; k < EMO_NUM_CLASSES; k++) {
            double v = m->recall[k] >= 0 ? table_at(t, r, m->recall[k]) * col_scale(t, m->recall[k]) : NAN;
            if (isnan(v)) buf_add(&d, " NaN");
            else buf_add(&d, " %.6g", v);
        }
        buf_add(&d, "\n");
    }
    write_text(outdir, "plots/recall.dat", d.s);
    free(d.s);
    double first = m->epoch >= 0 ? table_at(t, 0, m->epoch) : 1;
    double last = m->epoch >= 0 ? table_at(t, t->nrows - 1, m->epoch) : t->nrows;
    double pad = last > first ? (last - first) * 0.04 : 0.5;
    Buf b = {0};
    buf_add(&b, "set xrange [%g:%g]\n%sset yrange [0:100]\nset ytics 20\n"
                "set xlabel 'epoch' textcolor rgb '#333333'\n"
                "set title 'Validation recall per class (%%)' font ',13' noenhanced\n"
                "set key outside right center vertical\nset lmargin 7\nplot ",
            first - pad, last + pad, last - first <= 20 ? "set xtics 1\n" : "");
    int n = 0;
    for (int k = 0; k < EMO_NUM_CLASSES; k++) {
        if (m->recall[k] < 0) continue;
        buf_add(&b, "%s'plots/recall.dat' using 1:%d with linespoints lw 2 pt 7 ps 0.7 lc rgb '%s' title '%s'",
                n++ ? ", " : "", k + 2, class_colors[k], emo_class_name(k));
    }
    int rc = plot(outdir, "recall", 900, 380, b.s);
    free(b.s);
    return rc;
}

static int plot_confusion(const char *outdir, const Eval *e)
{
    if (!e->have_cm) return -1;
    Buf d = {0};
    buf_add(&d, "# predicted true share_of_true_class count\n");
    for (int i = 0; i < e->k; i++) {
        for (int j = 0; j < e->k; j++) {
            double share = e->support[i] ? (double)e->cm[i][j] / e->support[i] : 0;
            buf_add(&d, "%d %d %.6f %llu\n", j, i, share, (unsigned long long)e->cm[i][j]);
        }
        buf_add(&d, "\n");
    }
    write_text(outdir, "plots/confusion.dat", d.s);
    free(d.s);
    Buf b = {0};
    buf_add(&b, "unset grid\nset border 0\nunset key\nset tics scale 0\nset size ratio -1\n"
                "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n", e->k - 0.5, e->k - 0.5);
    buf_add(&b, "set xtics rotate by 35 right (");
    for (int i = 0; i < e->k; i++) buf_add(&b, "%s'%s' %d", i ? ", " : "", e->names[i], i);
    buf_add(&b, ")\nset ytics (");
    for (int i = 0; i < e->k; i++) buf_add(&b, "%s'%s' %d", i ? ", " : "", e->names[i], i);
    buf_add(&b, ")\nset xlabel 'predicted class' font ',12' textcolor rgb '#333333'\n"
                "set ylabel 'true class' font ',12' textcolor rgb '#333333'\n"
                "set cbrange [0:100]\nset cbtics 20\nset cblabel '%% of the true class' noenhanced textcolor rgb '#333333'\n"
                "set palette defined (0 '#ffffff', 0.25 '#c6dbef', 0.5 '#6baed6', 0.75 '#2171b5', 1 '#08306b')\n"
                "set title 'Confusion matrix (%llu faces)' font ',13' noenhanced\n",
            (unsigned long long)e->total);
    buf_add(&b, "plot 'plots/confusion.dat' using 1:2:($3*100) with image, \\\n"
                "     '' using 1:2:(sprintf('%%d\\n%%.0f%%%%', $4, $3*100)):($3 > 0.5 ? 0xffffff : 0x222222) "
                "with labels textcolor rgb variable font ',10' noenhanced\n");
    int rc = plot(outdir, "confusion", 720, 640, b.s);
    free(b.s);
    return rc;
}

static int plot_classes(const char *outdir, const Eval *e)
{
    if (!e->have_cm) return -1;
    Buf d = {0};
    buf_add(&d, "# class precision%% recall%% f1%%\n");
    for (int i = 0; i < e->k; i++)
        buf_add(&d, "%s %.3f %.3f %.3f\n", e->names[i], e->precision[i] * 100, e->recall[i] * 100, e->f1[i] * 100);
    write_text(outdir, "plots/classes.dat", d.s);
    free(d.s);
    Buf b = {0};
    buf_add(&b, "set style data histograms\nset style histogram clustered gap 1.4\n"
                "set style fill solid 0.9 noborder\nset boxwidth 0.9\n"
                "set yrange [0:100]\nset ytics 20\nset xtics scale 0\nset xrange [-0.6:%g]\n"
                "set title 'Precision, recall and F1 per class (%%)' font ',13' noenhanced\n"
                "set key below horizontal\n"
                "plot 'plots/classes.dat' using 2:xtic(1) lc rgb '#9ecae1' title 'precision', "
                "'' using 3 lc rgb '#3182bd' title 'recall', '' using 4 lc rgb '#08306b' title 'F1'",
            e->k - 0.4);
    int rc = plot(outdir, "classes", 900, 380, b.s);
    free(b.s);
    return rc;
}

static int plot_data(const char *outdir, const DataSet *ds, int nds)
{
    int n = 0;
    for (int i = 0; i < nds; i++) n += ds[i].ok;
    if (!n) return -1;
    static const char *const colors[] = {"#3182bd", "#fd8d3c", "#74c476", "#9e9ac8", "#969696", "#e377c2", "#bcbd22", "#17becf"};
    Buf d = {0};
    buf_add(&d, "# class");
    for (int i = 0; i < nds; i++)
        if (ds[i].ok) buf_add(&d, " %s", ds[i].name);
    buf_add(&d, "\n");
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        buf_add(&d, "%s", emo_class_name(c));
        for (int i = 0; i < nds; i++)
            if (ds[i].ok) buf_add(&d, " %llu", (unsigned long long)ds[i].counts[c]);
        buf_add(&d, "\n");
    }
    write_text(outdir, "plots/data.dat", d.s);
    free(d.s);
    Buf b = {0};
    buf_add(&b, "set style data histograms\nset style histogram clustered gap 1.4\n"
                "set style fill solid 0.9 noborder\nset yrange [0:*]\nset xtics scale 0\n"
                "set title 'Faces per class in each dataset' font ',13' noenhanced\n"
                "set key below horizontal\nset xrange [-0.6:6.6]\nplot ");
    int col = 2, k = 0;
    for (int i = 0; i < nds; i++) {
        if (!ds[i].ok) continue;
        buf_add(&b, "%s'plots/data.dat' using %d%s lc rgb '%s' title '%s'", k ? ", " : "", col,
                k ? "" : ":xtic(1)", colors[k % 8], ds[i].name);
        col++;
        k++;
    }
    int rc = plot(outdir, "data", 900, 360, b.s);
    free(b.s);
    return rc;
}

/*-*** The page ***/

static const char *css =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;background:#f4f5f7;color:#222}"
    "header{background:#1f2d3d;color:#fff;padding:22px 32px}"
    "header h1{margin:0;font-size:24px;font-weight:600}header p{margin:6px 0 0;color:#b8c4d0;font-size:14px}"
    "main{max-width:1180px;margin:0 auto;padding:20px 24px 40px}"
    "section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:18px 22px;margin:18px 0}"
    "h2{font-size:18px;margin:0 0 12px;font-weight:600}"
    "h3{font-size:15px;margin:14px 0 8px;font-weight:600}"
    ".cards{display:flex;flex-wrap:wrap;gap:14px;margin-top:4px}"
    ".card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:14px 18px;min-width:150px;flex:1}"
    ".card .v{font-size:28px;font-weight:650;color:#1f4e79}.card .k{font-size:13px;color:#667;margin-top:2px}"
    "img.plot{max-width:100%;height:auto;display:block;margin:6px auto}"
    ".row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}.row>div{flex:1;min-width:320px}"
    "table{border-collapse:collapse;font-size:14px;margin:6px 0}"
    "th,td{padding:5px 10px;border-bottom:1px solid #e6e6e6;text-align:right}"
    "th{font-weight:600;color:#444;background:#fafafa}td:first-child,th:first-child{text-align:left;white-space:nowrap}"
    "td.path{font-family:ui-monospace,monospace;font-size:12px;text-align:left;word-break:break-all}"
    "table.facts th{text-align:left;background:none;font-weight:500;color:#555}"
    ".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}"
    ".bar{background:#e9eef4;height:8px;border-radius:4px;width:120px;display:inline-block;vertical-align:middle}"
    ".bar i{display:block;height:8px;border-radius:4px;background:#3182bd}"
    ".note{color:#777;font-size:14px}.missing{color:#a33;font-size:14px}"
    "pre{background:#f6f8fa;padding:10px 12px;border-radius:6px;overflow-x:auto;font-size:12.5px;white-space:pre-wrap;word-break:break-all}"
    ".preds{display:flex;flex-wrap:wrap;gap:18px}"
    ".pred{border:1px solid #e3e3e3;border-radius:8px;padding:10px;width:230px}"
    ".pred img{width:144px;height:144px;object-fit:contain;image-rendering:pixelated;display:block;margin:0 auto 8px;background:#eee}"
    ".pred .lbl{font-weight:650;font-size:16px;text-align:center;margin-bottom:6px}"
    ".pred table{font-size:12px;width:100%}.pred td{padding:1px 4px;border:0}"
    "footer{color:#889;font-size:12px;text-align:center;margin:20px}";

/* Sets data-images-ok on <body> once every <img> has loaded (tests read it
 * with headless Chromium's --dump-dom). */
static const char *js =
    "function emoCheckImages(){var im=document.images,bad=[];"
    "for(var i=0;i<im.length;i++){if(!im[i].complete||im[i].naturalWidth===0)bad.push(im[i].getAttribute('src'));}"
    "document.body.setAttribute('data-images',String(im.length));"
    "document.body.setAttribute('data-images-broken',bad.join(' '));"
    "document.body.setAttribute('data-images-ok',bad.length?'no':'yes');}"
    "window.addEventListener('load',emoCheckImages);";

static void pct(char *out, size_t cap, double v)
{
    if (isnan(v)) snprintf(out, cap, "&ndash;");
    else snprintf(out, cap, "%.1f%%", v * 100);
}

static void card(Buf *b, const char *value, const char *key)
{
    buf_add(b, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">", value);
    buf_html(b, key);
    buf_add(b, "</div></div>\n");
}

static void img(Buf *b, const char *src, const char *alt, int width)
{
    buf_add(b, "<img class=\"plot\" src=\"%s\" alt=\"", src);
    buf_html(b, alt);
    buf_add(b, "\" width=\"%d\">\n", width);
}

static const char *const opts_order[] = {"ingest", "augment", "train", "eval", "predict", NULL};

static void section_opts(Buf *b, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char *names[64];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 64)
        if (de->d_name[0] != '.' && !strstr(de->d_name, ".tmp")) names[n++] = xstrdup(de->d_name);
    closedir(d);
    if (!n) return;
    buf_add(b, "<section id=\"commands\"><h2>How this was made</h2>\n"
               "<p class=\"note\">The commands each stage ran (thread counts aside); the pipeline reruns a stage "
               "when its command changes.</p>\n");
    int done[64] = {0};
    for (int pass = 0; pass < 2; pass++) {
        for (int o = 0; pass == 0 ? opts_order[o] != NULL : o < n; o++) {
            int i = -1;
            if (pass == 0) {
                for (int j = 0; j < n; j++)
                    if (strcmp(names[j], opts_order[o]) == 0) i = j;
            } else {
                i = o;
            }
            if (i < 0 || done[i]) continue;
            done[i] = 1;
            char *path = emo_path_join(dir, names[i]);
            char *text = read_text(path);
            if (text) {
                buf_add(b, "<h3>");
                buf_html(b, names[i]);
                buf_add(b, "</h3><pre>");
                buf_html(b, trim(text));
                buf_add(b, "</pre>\n");
            }
            free(text);
            free(path);
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    buf_add(b, "</section>\n");
}

typedef struct {
    const char *outdir, *title, *metrics, *eval, *ingest, *preview, *samples, *predictions, *opts;
    const char *datasets[MAX_DATASETS];
    int ndatasets;
} Args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: emoreport -o DIR [options]\n"
            "Builds DIR/index.html with plots of a pipeline run; every input is optional.\n"
            "  -o, --out DIR             report folder (created)\n"
            "      --title TEXT          page title\n"
            "      --metrics FILE        emotrain's metrics.csv (or JSON lines): training curves\n"
            "      --eval FILE           eval.json with a confusion matrix: heat map, per-class table\n"
            "      --ingest-report FILE  emoingest's ingest-report.json: rejections and totals\n"
            "      --dataset NAME=DIR    a dataset whose class counts to chart (repeatable)\n"
            "      --preview FILE        emoaugment's --preview sheet (PNG)\n"
            "      --samples FILE        a grid of sample faces (PNG, e.g. emoshard grid)\n"
            "      --predictions FILE    emopredict's JSON lines (images shown with their labels)\n"
            "      --opts DIR            folder of per-stage command files (shown verbatim)\n"
            "  -h, --help\n");
}

int main(int argc, char **argv)
{
    Args a;
    memset(&a, 0, sizeof a);
    a.title = "emo: training report";
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},       {"title", required_argument, 0, 't'},
        {"metrics", required_argument, 0, 'm'},   {"eval", required_argument, 0, 'e'},
        {"ingest-report", required_argument, 0, 'i'}, {"dataset", required_argument, 0, 'd'},
        {"preview", required_argument, 0, 'p'},   {"samples", required_argument, 0, 's'},
        {"predictions", required_argument, 0, 'P'}, {"opts", required_argument, 0, 'O'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': a.outdir = optarg; break;
        case 't': a.title = optarg; break;
        case 'm': a.metrics = optarg; break;
        case 'e': a.eval = optarg; break;
        case 'i': a.ingest = optarg; break;
        case 'd':
            if (a.ndatasets == MAX_DATASETS) { fprintf(stderr, "emoreport: at most %d --dataset\n", MAX_DATASETS); return 2; }
            if (!strchr(optarg, '=')) { fprintf(stderr, "emoreport: --dataset wants NAME=DIR\n"); return 2; }
            a.datasets[a.ndatasets++] = optarg;
            break;
        case 'p': a.preview = optarg; break;
        case 's': a.samples = optarg; break;
        case 'P': a.predictions = optarg; break;
        case 'O': a.opts = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!a.outdir || optind != argc) {
        usage(stderr);
        return 2;
    }

    EmoError err;
    char *plots = emo_path_join(a.outdir, "plots");
    if (emo_mkdir_p(plots, &err) != EMO_OK) die("%s", err.msg);
    free(plots);
    gp_term = "pngcairo";
    if (run_gnuplot(a.outdir, NULL) != 0 && !gp_missing) gp_term = "png";

    /* Inputs. */
    Table t;
    MetricCols mc;
    memset(&t, 0, sizeof t);
    memset(&mc, 0, sizeof mc);
    int have_metrics = a.metrics && table_load(a.metrics, &t) == 0;
    if (have_metrics) find_cols(&t, &mc);
    Eval ev;
    memset(&ev, 0, sizeof ev);
    int have_eval = a.eval && eval_load(a.eval, &ev) == 0;
    IngestInfo ing;
    memset(&ing, 0, sizeof ing);
    if (a.ingest) ingest_load(a.ingest, &ing);
    DataSet ds[MAX_DATASETS];
    for (int i = 0; i < a.ndatasets; i++) dataset_load(&ds[i], a.datasets[i]);
    Prediction *preds = NULL;
    int npreds = a.predictions ? predictions_load(a.predictions, a.outdir, &preds) : 0;

    /* Best epoch: as the trainer marked it, else by validation macro-F1, else
     * validation accuracy. */
    int best_row = -1;
    if (have_metrics && mc.best >= 0)
        for (int r = 0; r < t.nrows; r++)
            if (table_at(&t, r, mc.best) == 1) best_row = r;
    if (have_metrics && best_row < 0) {
        int key = mc.val_f1 >= 0 ? mc.val_f1 : mc.val_acc;
        double best = -1;
        for (int r = 0; key >= 0 && r < t.nrows; r++) {
            double v = table_at(&t, r, key);
            if (!isnan(v) && v > best) { best = v; best_row = r; }
        }
    }

    /* Pictures. */
    int have_curves = have_metrics && plot_curves(a.outdir, &t, &mc, best_row) == 0;
    int have_recall = have_metrics && plot_recall(a.outdir, &t, &mc) == 0;
    int have_conf = have_eval && plot_confusion(a.outdir, &ev) == 0;
    int have_classes = have_eval && plot_classes(a.outdir, &ev) == 0;
    int have_data = plot_data(a.outdir, ds, a.ndatasets) == 0;
    int have_preview = a.preview && file_exists(a.preview) && copy_file(a.preview, a.outdir, "preview.png") == 0;
    int have_samples = a.samples && file_exists(a.samples) && copy_file(a.samples, a.outdir, "samples.png") == 0;
    if (a.preview && !have_preview) warn("%s: no augmentation preview", a.preview);

    /* The page. */
    Buf b = {0};
    buf_add(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    buf_html(&b, a.title);
    buf_add(&b, "</title>\n<style>%s</style>\n<script>%s</script>\n</head>\n<body>\n<header><h1>", css, js);
    buf_html(&b, a.title);
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    buf_add(&b, "</h1><p>Made by emoreport %s on %s from the stages' outputs.</p></header>\n<main>\n", EMO_VERSION, when);

    /* Headline numbers. */
    buf_add(&b, "<div class=\"cards\">\n");
    char v[64];
    if (have_eval) {
        const char *on = ev.split ? ev.split : "evaluation set";
        pct(v, sizeof v, ev.accuracy);
        char *k = xasprintf("accuracy on the %s (%llu faces)", on, (unsigned long long)ev.total);
        card(&b, v, k);
        free(k);
        pct(v, sizeof v, ev.macro_f1);
        k = xasprintf("macro-F1 on the %s", on);
        card(&b, v, k);
        free(k);
        if (ev.have_cm) {
            int maj = 0;
            for (int i = 1; i < ev.k; i++)
                if (ev.support[i] > ev.support[maj]) maj = i;
            pct(v, sizeof v, ev.total ? (double)ev.support[maj] / ev.total : NAN);
            k = xasprintf("what always answering '%s' would score", ev.names[maj]);
            card(&b, v, k);
            free(k);
        }
    }
    if (have_metrics) {
        snprintf(v, sizeof v, "%d", t.nrows);
        card(&b, v, best_row >= 0 ? "epochs trained" : "epochs");
        if (best_row >= 0) {
            snprintf(v, sizeof v, "%g", mc.epoch >= 0 ? table_at(&t, best_row, mc.epoch) : best_row + 1.0);
            card(&b, v, mc.best >= 0 ? "best epoch (the model kept)" : mc.val_f1 >= 0 ? "best epoch (validation macro-F1)" : "best epoch (validation accuracy)");
        }
        if (mc.seconds >= 0) {
            double s = table_at(&t, t.nrows - 1, mc.seconds);
            if (!isnan(s)) {
                if (s >= 3600) snprintf(v, sizeof v, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
                else snprintf(v, sizeof v, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
                card(&b, v, "training time");
            }
        }
    }
    for (int i = 0; i < a.ndatasets; i++) {
        if (!ds[i].ok) continue;
        snprintf(v, sizeof v, "%llu", (unsigned long long)ds[i].total);
        char *k = xasprintf("faces in %s", ds[i].name);
        card(&b, v, k);
        free(k);
    }
    buf_add(&b, "</div>\n");

    /* Training. */
    buf_add(&b, "<section id=\"training\"><h2>Training curves</h2>\n");
    if (have_curves) {
        buf_add(&b, "<p class=\"note\">Each point is one epoch. The validation curves tell how the model does on faces it never "
                    "trained on; a gap that keeps growing between train and validation means overfitting.</p>\n");
        img(&b, "curves.png", "loss and accuracy vs epoch", 1100);
        if (have_recall) img(&b, "recall.png", "validation recall per class vs epoch", 900);
    } else if (have_metrics) {
        buf_add(&b, "<p class=\"missing\">%s</p>\n", gp_missing ? "gnuplot is not installed: no plots (make deps)." : "No loss or accuracy columns in the metrics.");
    } else {
        buf_add(&b, "<p class=\"missing\">No training metrics%s.</p>\n", a.metrics ? " (metrics file missing or empty)" : "");
    }
    if (have_metrics) {
        buf_add(&b, "<details><summary>metrics per epoch</summary><table><tr>");
        for (int c = 0; c < t.ncols; c++) {
            buf_add(&b, "<th>");
            buf_html(&b, t.names[c]);
            buf_add(&b, "</th>");
        }
        buf_add(&b, "</tr>\n");
        for (int r = 0; r < t.nrows; r++) {
            buf_add(&b, "<tr%s>", r == best_row ? " style=\"background:#eef6ee\"" : "");
            for (int c = 0; c < t.ncols; c++) {
                double x = table_at(&t, r, c);
                if (isnan(x)) buf_add(&b, "<td></td>");
                else buf_add(&b, "<td>%.4g</td>", x);
            }
            buf_add(&b, "</tr>\n");
        }
        buf_add(&b, "</table></details>\n");
    }
    buf_add(&b, "</section>\n");

    /* Evaluation. */
    buf_add(&b, "<section id=\"evaluation\"><h2>How well it recognizes each emotion</h2>\n");
    if (have_eval && ev.have_cm) {
        buf_add(&b, "<div class=\"row\"><div>\n");
        if (have_conf) img(&b, "confusion.png", "confusion matrix heat map", 600);
        buf_add(&b, "<p class=\"note\">Row = the true emotion, column = what the model said; the diagonal is right. "
                    "Each row is shaded by its share of that emotion's faces.</p>\n</div><div>\n");
        buf_add(&b, "<table><tr><th>class</th><th>faces</th><th>precision</th><th>recall</th><th>F1</th><th></th></tr>\n");
        for (int i = 0; i < ev.k; i++) {
            char p1[32], p2[32], p3[32];
            pct(p1, sizeof p1, ev.precision[i]);
            pct(p2, sizeof p2, ev.recall[i]);
            pct(p3, sizeof p3, ev.f1[i]);
            buf_add(&b, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>",
                    i < EMO_NUM_CLASSES ? class_colors[i] : "#888");
            buf_html(&b, ev.names[i]);
            buf_add(&b, "</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td>"
                        "<td><span class=\"bar\" title=\"F1\"><i style=\"width:%.0f%%\"></i></span></td></tr>\n",
                    (unsigned long long)ev.support[i], p1, p2, p3, ev.f1[i] * 100);
        }
        char p1[32], p2[32];
        pct(p1, sizeof p1, ev.accuracy);
        pct(p2, sizeof p2, ev.macro_f1);
        buf_add(&b, "<tr><th>all</th><th>%llu</th><th></th><th>accuracy %s</th><th>macro %s</th><th></th></tr>\n</table>\n",
                (unsigned long long)ev.total, p1, p2);
        buf_add(&b, "<p class=\"note\">Precision: of the faces called this emotion, the share that were. "
                    "Recall: of the faces showing it, the share found. F1 balances the two.</p>\n");
        buf_add(&b, "</div></div>\n");
        if (have_classes) img(&b, "classes.png", "precision, recall and F1 per class", 900);
    } else if (have_eval) {
        char p1[32], p2[32];
        pct(p1, sizeof p1, ev.accuracy);
        pct(p2, sizeof p2, ev.macro_f1);
        buf_add(&b, "<p>Accuracy %s, macro-F1 %s. <span class=\"missing\">The evaluation has no confusion matrix.</span></p>\n", p1, p2);
    } else {
        buf_add(&b, "<p class=\"missing\">No evaluation%s.</p>\n", a.eval ? " (eval file missing or unreadable)" : "");
    }
    buf_add(&b, "</section>\n");

    /* Predictions. */
    if (npreds) {
        buf_add(&b, "<section id=\"predictions\"><h2>The model on a few photos</h2>\n<div class=\"preds\">\n");
        for (int i = 0; i < npreds; i++) {
            Prediction *p = &preds[i];
            buf_add(&b, "<div class=\"pred\">");
            if (p->copy) {
                buf_add(&b, "<img src=\"%s\" alt=\"", p->copy);
                buf_html(&b, p->file);
                buf_add(&b, "\">");
            }
            buf_add(&b, "<div class=\"lbl\">");
            buf_html(&b, p->label ? p->label : "no face found");
            if (p->faces > 1) buf_add(&b, " <span class=\"note\">(+%d faces)</span>", p->faces - 1);
            buf_add(&b, "</div>");
            if (p->have_prob) {
                buf_add(&b, "<table>");
                for (int c = 0; c < EMO_NUM_CLASSES; c++)
                    buf_add(&b, "<tr><td>%s</td><td><span class=\"bar\"><i style=\"width:%.0f%%;background:%s\"></i></span></td>"
                                "<td>%.0f%%</td></tr>",
                            emo_class_name(c), p->prob[c] * 100, class_colors[c], p->prob[c] * 100);
                buf_add(&b, "</table>");
            }
            buf_add(&b, "<div class=\"note path\" style=\"font-size:11px;word-break:break-all\">");
            buf_html(&b, p->file);
            buf_add(&b, "</div></div>\n");
        }
        buf_add(&b, "</div></section>\n");
    }

    /* Data. */
    buf_add(&b, "<section id=\"data\"><h2>The data</h2>\n");
    int nok = 0;
    for (int i = 0; i < a.ndatasets; i++) nok += ds[i].ok;
    if (nok) {
        if (have_data) img(&b, "data.png", "faces per class in each dataset", 900);
        buf_add(&b, "<div class=\"row\"><div>\n<h3>Faces per dataset</h3>\n<table><tr><th>class</th>");
        for (int i = 0; i < a.ndatasets; i++)
            if (ds[i].ok) {
                buf_add(&b, "<th>");
                buf_html(&b, ds[i].name);
                buf_add(&b, "</th>");
            }
        buf_add(&b, "</tr>\n");
        for (int c = 0; c < EMO_NUM_CLASSES; c++) {
            buf_add(&b, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>%s</td>", class_colors[c], emo_class_name(c));
            for (int i = 0; i < a.ndatasets; i++)
                if (ds[i].ok) buf_add(&b, "<td>%llu</td>", (unsigned long long)ds[i].counts[c]);
            buf_add(&b, "</tr>\n");
        }
        int any_unl = 0;
        for (int i = 0; i < a.ndatasets; i++) any_unl |= ds[i].ok && ds[i].unlabeled;
        if (any_unl) {
            buf_add(&b, "<tr><td>unlabeled</td>");
            for (int i = 0; i < a.ndatasets; i++)
                if (ds[i].ok) buf_add(&b, "<td>%llu</td>", (unsigned long long)ds[i].unlabeled);
            buf_add(&b, "</tr>\n");
        }
        buf_add(&b, "<tr><th>total</th>");
        for (int i = 0; i < a.ndatasets; i++)
            if (ds[i].ok) buf_add(&b, "<th>%llu</th>", (unsigned long long)ds[i].total);
        buf_add(&b, "</tr>\n<tr><td>image size</td>");
        for (int i = 0; i < a.ndatasets; i++)
            if (ds[i].ok) {
                if (ds[i].width) buf_add(&b, "<td>%dx%d</td>", ds[i].width, ds[i].height);
                else buf_add(&b, "<td>mixed</td>");
            }
        buf_add(&b, "</tr>\n</table>\n</div><div>\n");
    } else {
        if (a.ndatasets) buf_add(&b, "<p class=\"missing\">No dataset manifests could be read.</p>\n");
        buf_add(&b, "<div class=\"row\"><div>\n");
    }
    if (ing.have) {
        buf_add(&b, "<h3>Ingest</h3>\n");
        if (ing.facts.len) buf_add(&b, "<table class=\"facts\">%s</table>\n", ing.facts.s);
        if (ing.nrejected) {
            buf_add(&b, "<p>%d input%s rejected:</p>\n<table><tr><th>reason</th><th>inputs</th></tr>\n", ing.nrejected,
                    ing.nrejected == 1 ? "" : "s");
            for (int i = 0; i < ing.nreasons; i++) {
                buf_add(&b, "<tr><td>");
                buf_html(&b, ing.reasons[i].reason);
                buf_add(&b, "</td><td>%d</td></tr>\n", ing.reasons[i].count);
            }
            buf_add(&b, "</table>\n<details><summary>the first %d rejected inputs</summary>\n<table>%s</table></details>\n",
                    ing.nrejected < 50 ? ing.nrejected : 50, ing.examples.s);
        } else {
            buf_add(&b, "<p class=\"note\">No input was rejected.</p>\n");
        }
    } else if (a.ingest) {
        buf_add(&b, "<p class=\"missing\">No ingest report (%s).</p>\n", file_exists(a.ingest) ? "unreadable" : "missing");
    }
    buf_add(&b, "</div></div>\n");
    if (have_samples) {
        buf_add(&b, "<h3>Some of the faces</h3>\n");
        img(&b, "samples.png", "sample faces", 0);
    }
    buf_add(&b, "</section>\n");

    /* Augmentation. */
    buf_add(&b, "<section id=\"augmentation\"><h2>Augmentation preview</h2>\n");
    if (have_preview) {
        buf_add(&b, "<p class=\"note\">Original faces next to the variants the augmentation made of them: check that they still "
                    "look like the same emotion.</p>\n");
        img(&b, "preview.png", "augmentation preview sheet", 0);
    } else {
        buf_add(&b, "<p class=\"missing\">No augmentation preview%s.</p>\n", a.preview ? " (file missing)" : "");
    }
    buf_add(&b, "</section>\n");

    if (a.opts) section_opts(&b, a.opts);
    buf_add(&b, "</main>\n<footer>Plots by gnuplot; sources in plots/. emo %s</footer>\n</body></html>\n", EMO_VERSION);

    /* width="0" from img(.., 0) means natural size: drop the attribute. */
    for (char *s = b.s; (s = strstr(s, " width=\"0\"")) != NULL;) memmove(s, s + 10, strlen(s + 10) + 1);
    write_text(a.outdir, "index.html", b.s);
    char *index = emo_path_join(a.outdir, "index.html");
    printf("%s\n", index);
    free(index);

    free(b.s);
    if (have_metrics) table_free(&t);
    if (have_eval)
        for (int i = 0; i < ev.k; i++) free(ev.names[i]);
    if (have_eval) free(ev.split);
    for (int i = 0; i < ing.nreasons; i++) free(ing.reasons[i].reason);
    free(ing.reasons);
    free(ing.facts.s);
    free(ing.examples.s);
    for (int i = 0; i < a.ndatasets; i++) free(ds[i].name);
    for (int i = 0; i < npreds; i++) {
        free(preds[i].file);
        free(preds[i].copy);
        free(preds[i].label);
    }
    free(preds);
    return 0;
}
