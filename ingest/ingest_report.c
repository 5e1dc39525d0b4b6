/* ingest_report.c: the JSON run report (see ingest_report.h). */
#include "ingest_report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emo_fs.h"

struct IngestReport {
    IngestCounts c;
    json_t *rejected;     /* array */
    json_t *duplicates;   /* array */
    json_t *warnings;     /* array */
    json_t *extra;        /* object: options, inputs, ... */
};

EmoStatus ingest_report_create(IngestReport **out, EmoError *err)
{
    IngestReport *r = calloc(1, sizeof *r);
    if (r) {
        r->rejected = json_array();
        r->duplicates = json_array();
        r->warnings = json_array();
        r->extra = json_object();
    }
    if (!r || !r->rejected || !r->duplicates || !r->warnings || !r->extra) {
        ingest_report_free(r);
        *out = NULL;
        return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    }
    *out = r;
    return EMO_OK;
}

void ingest_report_free(IngestReport *r)
{
    if (!r) return;
    json_decref(r->rejected);
    json_decref(r->duplicates);
    json_decref(r->warnings);
    json_decref(r->extra);
    free(r);
}

const IngestCounts *ingest_report_counts(const IngestReport *r)
{
    return &r->c;
}

void ingest_report_input(IngestReport *r)
{
    r->c.inputs++;
}

void ingest_report_accept(IngestReport *r, int split, int label, IngestFacePath path)
{
    r->c.records++;
    if (split >= 0 && split < INGEST_NUM_SPLITS)
        r->c.split_class[split][label >= 0 && label < EMO_NUM_CLASSES ? label : EMO_NUM_CLASSES]++;
    if (path >= 0 && path < INGEST_PATH__COUNT) r->c.by_path[path]++;
}

/* json_string rejects invalid UTF-8; paths can be any bytes. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (!j) {
        /* replace bytes that are not ASCII so that the source stays readable */
        size_t n = strlen(s);
        char *t = malloc(n + 1);
        if (!t) return NULL;
        for (size_t i = 0; i <= n; i++) t[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
        j = json_string(t);
        free(t);
    }
    return j;
}

static EmoStatus append(json_t *arr, json_t *obj, EmoError *err)
{
    if (!obj || json_array_append_new(arr, obj) != 0)
        return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    return EMO_OK;
}

EmoStatus ingest_report_reject(IngestReport *r, const char *source, int64_t row, IngestReason reason,
                               const char *detail, EmoError *err)
{
    r->c.rejected++;
    if (reason >= 0 && reason < INGEST_REJ__COUNT) r->c.by_reason[reason]++;
    json_t *o = json_object();
    if (!o) return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    json_object_set_new(o, "source", jstr(source));
    if (row >= 0) json_object_set_new(o, "row", json_integer(row));
    json_object_set_new(o, "reason", json_string(ingest_reason_name(reason)));
    json_object_set_new(o, "detail", jstr(detail ? detail : ""));
    return append(r->rejected, o, err);
}

EmoStatus ingest_report_duplicate(IngestReport *r, const IngestDupInfo *d, EmoError *err)
{
    if (d->near) r->c.dup_near++;
    else r->c.dup_exact++;
    int cross = d->split != d->of_split;
    if (cross) {
        r->c.dup_cross_split++;
        if (d->split >= 0 && d->split < INGEST_NUM_SPLITS && d->of_split >= 0 && d->of_split < INGEST_NUM_SPLITS)
            r->c.cross_pairs[d->split][d->of_split]++;
    }
    if (d->dropped) r->c.dup_dropped++;
    int conflict = d->label != d->of_label;
    if (conflict) r->c.dup_label_conflicts++;
    json_t *o = json_object();
    if (!o) return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    json_object_set_new(o, "source", jstr(d->source));
    if (d->row >= 0) json_object_set_new(o, "row", json_integer(d->row));
    json_object_set_new(o, "split", json_string(ingest_split_name(d->split)));
    json_object_set_new(o, "duplicate_of", jstr(d->of_source));
    if (d->of_row >= 0) json_object_set_new(o, "duplicate_of_row", json_integer(d->of_row));
    json_object_set_new(o, "duplicate_of_split", json_string(ingest_split_name(d->of_split)));
    json_object_set_new(o, "kind", json_string(d->near ? "near" : "exact"));
    if (d->near) json_object_set_new(o, "distance", json_integer(d->distance));
    json_object_set_new(o, "cross_split", json_boolean(cross));
    if (conflict) {
        json_object_set_new(o, "label", json_string(emo_class_name(d->label)));
        json_object_set_new(o, "duplicate_of_label", json_string(emo_class_name(d->of_label)));
    }
    json_object_set_new(o, "dropped", json_boolean(d->dropped));
    return append(r->duplicates, o, err);
}

EmoStatus ingest_report_warning(IngestReport *r, const char *msg, EmoError *err)
{
    return append(r->warnings, jstr(msg), err);
}

EmoStatus ingest_report_set_json(IngestReport *r, const char *key, const char *text, EmoError *err)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) return emo_error_set(err, EMO_ERR_ARG, "report: bad JSON for '%s': %s", key, je.text);
    json_object_set_new(r->extra, key, v);
    return EMO_OK;
}

static json_t *class_counts(const uint64_t *n)
{
    json_t *o = json_object();
    uint64_t total = 0;
    for (int k = 0; k <= EMO_NUM_CLASSES; k++) {
        json_object_set_new(o, emo_class_name(k < EMO_NUM_CLASSES ? k : EMO_LABEL_NONE), json_integer((json_int_t)n[k]));
        total += n[k];
    }
    json_object_set_new(o, "total", json_integer((json_int_t)total));
    return o;
}

EmoStatus ingest_report_write(const IngestReport *r, const char *path, EmoError *err)
{
    const IngestCounts *c = &r->c;
    json_t *root = json_object();
    if (!root) return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    json_object_set_new(root, "tool", json_string("emoingest"));
    json_object_set_new(root, "version", json_string(EMO_VERSION));
    json_object_update(root, r->extra);

    json_t *tot = json_object();
    json_object_set_new(tot, "inputs", json_integer((json_int_t)c->inputs));
    json_object_set_new(tot, "records", json_integer((json_int_t)c->records));
    json_object_set_new(tot, "rejected", json_integer((json_int_t)c->rejected));
    json_object_set_new(root, "totals", tot);

    json_t *splits = json_object();
    uint64_t all[EMO_NUM_CLASSES + 1] = {0};
    for (int s = 0; s < INGEST_NUM_SPLITS; s++) {
        json_object_set_new(splits, ingest_split_name(s), class_counts(c->split_class[s]));
        for (int k = 0; k <= EMO_NUM_CLASSES; k++) all[k] += c->split_class[s][k];
    }
    json_object_set_new(splits, "all", class_counts(all));
    json_object_set_new(root, "counts", splits);

    json_t *paths = json_object();
    json_object_set_new(paths, "pass_through", json_integer((json_int_t)c->by_path[INGEST_PATH_PASS]));
    json_object_set_new(paths, "aligned_on_eyes", json_integer((json_int_t)c->by_path[INGEST_PATH_ALIGNED]));
    json_object_set_new(paths, "box_fallback", json_integer((json_int_t)c->by_path[INGEST_PATH_BOX]));
    json_object_set_new(root, "face_paths", paths);

    json_t *reasons = json_object();
    for (int i = 1; i < INGEST_REJ__COUNT; i++)
        if (c->by_reason[i])
            json_object_set_new(reasons, ingest_reason_name((IngestReason)i), json_integer((json_int_t)c->by_reason[i]));
    json_object_set_new(root, "rejected_by_reason", reasons);

    json_t *dup = json_object();
    json_object_set_new(dup, "exact", json_integer((json_int_t)c->dup_exact));
    json_object_set_new(dup, "near", json_integer((json_int_t)c->dup_near));
    json_object_set_new(dup, "dropped", json_integer((json_int_t)c->dup_dropped));
    json_object_set_new(dup, "cross_split", json_integer((json_int_t)c->dup_cross_split));
    json_object_set_new(dup, "label_conflicts", json_integer((json_int_t)c->dup_label_conflicts));
    json_t *pairs = json_object();
    for (int a = 0; a < INGEST_NUM_SPLITS; a++)
        for (int b = 0; b < INGEST_NUM_SPLITS; b++)
            if (c->cross_pairs[a][b]) {
                char key[32];
                snprintf(key, sizeof key, "%s~%s", ingest_split_name(a), ingest_split_name(b));
                json_object_set_new(pairs, key, json_integer((json_int_t)c->cross_pairs[a][b]));
            }
    json_object_set_new(dup, "cross_split_pairs", pairs);
    json_object_set(dup, "list", r->duplicates);
    json_object_set_new(root, "duplicates", dup);

    json_object_set(root, "warnings", r->warnings);
    json_object_set(root, "rejected", r->rejected);

    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    text[n] = 0;
    EmoAtomicFile f;
    EmoStatus s = emo_atomic_open(&f, path, err);
    if (s == EMO_OK) {
        fwrite(text, 1, n, f.fp);
        fputc('\n', f.fp);
        s = emo_atomic_commit(&f, err);
    }
    free(text);
    return s;
}
