/* ingest_report.c: the JSON run report (see ingest_report.h). */
#include "ingest_report.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emo_fs.h"

/* The rejected and duplicate lists grow with the input (a scraped tree can
 * hold millions of copies and junk files), so they are not kept in memory:
 * each entry is spooled as one compact JSON line to an unlinked temporary
 * file and copied into the report when it is written. Holding them as
 * jansson objects cost 2-3 KB per entry: 812 MB peak RSS on FER2013
 * replicated 10x (tests/RELIABILITY.md, bug 7). */
typedef struct {
    FILE *fp;             /* unlinked temporary file, one JSON object a line */
    uint64_t n;           /* lines in it */
    int failed;           /* a write failed (reported when the report is written) */
    int err_no;
} Spool;

struct IngestReport {
    IngestCounts c;
    Spool rejected;
    Spool duplicates;
    json_t *warnings;     /* array (a handful: setup problems) */
    json_t *extra;        /* object: options, inputs, ... */
};

/* An anonymous temporary file in `dir` (the output directory, so that the
 * spool is on the disk the user chose for the output, not a small /tmp), or
 * tmpfile() without one. Unlinked at once: a killed run leaves nothing. */
static FILE *spool_open(const char *dir)
{
    if (!dir) return tmpfile();
    char *tmpl = emo_path_join(dir, ".ingest-report.spool.XXXXXX");
    if (!tmpl) return NULL;
    int fd = mkstemp(tmpl);
    FILE *fp = NULL;
    if (fd >= 0) {
        unlink(tmpl);
        fp = fdopen(fd, "w+");
        if (!fp) close(fd);
    }
    free(tmpl);
    return fp;
}

EmoStatus ingest_report_create(IngestReport **out, const char *spool_dir, EmoError *err)
{
    *out = NULL;
    IngestReport *r = calloc(1, sizeof *r);
    if (!r) return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    r->warnings = json_array();
    r->extra = json_object();
    if (!r->warnings || !r->extra) {
        ingest_report_free(r);
        return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    }
    r->rejected.fp = spool_open(spool_dir);
    r->duplicates.fp = r->rejected.fp ? spool_open(spool_dir) : NULL;
    if (!r->duplicates.fp) {
        int e = errno;
        ingest_report_free(r);
        return emo_error_set(err, EMO_ERR_IO, "%s: cannot create the report's temporary file: %s",
                             spool_dir ? spool_dir : "tmpfile", strerror(e));
    }
    *out = r;
    return EMO_OK;
}

void ingest_report_free(IngestReport *r)
{
    if (!r) return;
    if (r->rejected.fp) fclose(r->rejected.fp);
    if (r->duplicates.fp) fclose(r->duplicates.fp);
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

/* Writes `obj` (consumed) as one line of the spool. A failed write is
 * remembered and reported by ingest_report_write, which then writes no
 * report: the run fails rather than leave a report that silently lacks
 * entries. */
static EmoStatus spool(Spool *sp, json_t *obj, EmoError *err)
{
    if (!obj) return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!line) return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    if (!sp->failed && (fputs(line, sp->fp) < 0 || fputc('\n', sp->fp) == EOF)) {
        sp->failed = 1;
        sp->err_no = errno;
    }
    free(line);
    sp->n++;
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
    return spool(&r->rejected, o, err);
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
    return spool(&r->duplicates, o, err);
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

/*-*** Writing: the small parts through jansson, the spooled lists copied ***/

/* `text` with `indent` more spaces after each newline: nests a value that
 * json_dumps indented from column 0 (JSON strings hold no raw newline). */
static void put_indented(FILE *f, const char *text, int indent)
{
    for (const char *p = text; *p; p++) {
        fputc(*p, f);
        if (*p == '\n') fprintf(f, "%*s", indent, "");
    }
}

static void put_key(FILE *f, const char *key, int indent, int *first)
{
    fputs(*first ? "\n" : ",\n", f);
    *first = 0;
    fprintf(f, "%*s\"%s\": ", indent, "", key); /* keys are this file's own ASCII names */
}

static EmoStatus put_value(FILE *f, const char *key, json_t *value, int indent, int *first, EmoError *err)
{
    char *text = json_dumps(value, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!text) return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    put_key(f, key, indent, first);
    put_indented(f, text, indent);
    free(text);
    return EMO_OK;
}

/* Every member of `obj`, in order. */
static EmoStatus put_members(FILE *f, json_t *obj, int indent, int *first, EmoError *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) EMO_RETURN_IF_ERR(put_value(f, key, value, indent, first, err));
    return EMO_OK;
}

/* "key": [ the spool's lines ] */
static EmoStatus put_spool(FILE *f, const char *key, Spool *sp, int indent, int *first, const char *path,
                           EmoError *err)
{
    if (sp->failed)
        return emo_error_set(err, EMO_ERR_IO, "%s: the report's temporary file could not be written: %s", path,
                             strerror(sp->err_no));
    if (fflush(sp->fp) != 0 || fseek(sp->fp, 0, SEEK_SET) != 0)
        return emo_error_set(err, EMO_ERR_IO, "%s: the report's temporary file: %s", path, strerror(errno));
    put_key(f, key, indent, first);
    fputc('[', f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t n = 0;
    while ((len = getline(&line, &cap, sp->fp)) > 0) {
        if (line[len - 1] == '\n') line[--len] = 0;
        fprintf(f, "%s\n%*s", n ? "," : "", indent + 1, "");
        fwrite(line, 1, (size_t)len, f);
        n++;
    }
    free(line);
    if (ferror(sp->fp) || n != sp->n)
        return emo_error_set(err, EMO_ERR_IO, "%s: the report's temporary file could not be read back", path);
    if (n) fprintf(f, "\n%*s", indent, "");
    fputc(']', f);
    return EMO_OK;
}

EmoStatus ingest_report_write(IngestReport *r, const char *path, EmoError *err)
{
    const IngestCounts *c = &r->c;
    json_t *head = json_object();   /* the members before "duplicates" */
    if (!head) return emo_error_set(err, EMO_ERR_NOMEM, "report: out of memory");
    json_object_set_new(head, "tool", json_string("emoingest"));
    json_object_set_new(head, "version", json_string(EMO_VERSION));
    json_object_update(head, r->extra);

    json_t *tot = json_object();
    json_object_set_new(tot, "inputs", json_integer((json_int_t)c->inputs));
    json_object_set_new(tot, "records", json_integer((json_int_t)c->records));
    json_object_set_new(tot, "rejected", json_integer((json_int_t)c->rejected));
    json_object_set_new(head, "totals", tot);

    json_t *splits = json_object();
    uint64_t all[EMO_NUM_CLASSES + 1] = {0};
    for (int s = 0; s < INGEST_NUM_SPLITS; s++) {
        json_object_set_new(splits, ingest_split_name(s), class_counts(c->split_class[s]));
        for (int k = 0; k <= EMO_NUM_CLASSES; k++) all[k] += c->split_class[s][k];
    }
    json_object_set_new(splits, "all", class_counts(all));
    json_object_set_new(head, "counts", splits);

    json_t *paths = json_object();
    json_object_set_new(paths, "pass_through", json_integer((json_int_t)c->by_path[INGEST_PATH_PASS]));
    json_object_set_new(paths, "aligned_on_eyes", json_integer((json_int_t)c->by_path[INGEST_PATH_ALIGNED]));
    json_object_set_new(paths, "box_fallback", json_integer((json_int_t)c->by_path[INGEST_PATH_BOX]));
    json_object_set_new(head, "face_paths", paths);

    json_t *reasons = json_object();
    for (int i = 1; i < INGEST_REJ__COUNT; i++)
        if (c->by_reason[i])
            json_object_set_new(reasons, ingest_reason_name((IngestReason)i), json_integer((json_int_t)c->by_reason[i]));
    json_object_set_new(head, "rejected_by_reason", reasons);

    json_t *dup = json_object();     /* "duplicates", before its "list" */
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

    EmoAtomicFile f;
    EmoStatus s = emo_atomic_open(&f, path, err);
    if (s == EMO_OK) {
        int first = 1, dfirst = 1;
        fputc('{', f.fp);
        s = put_members(f.fp, head, 1, &first, err);
        if (s == EMO_OK) {
            put_key(f.fp, "duplicates", 1, &first);
            fputc('{', f.fp);
            s = put_members(f.fp, dup, 2, &dfirst, err);
        }
        if (s == EMO_OK) s = put_spool(f.fp, "list", &r->duplicates, 2, &dfirst, path, err);
        if (s == EMO_OK) {
            fputs("\n }", f.fp);
            s = put_value(f.fp, "warnings", r->warnings, 1, &first, err);
        }
        if (s == EMO_OK) s = put_spool(f.fp, "rejected", &r->rejected, 1, &first, path, err);
        if (s == EMO_OK) {
            fputs("\n}\n", f.fp);
            s = emo_atomic_commit(&f, err);
        } else {
            emo_atomic_abort(&f);
        }
    }
    json_decref(head);
    json_decref(dup);
    return s;
}
