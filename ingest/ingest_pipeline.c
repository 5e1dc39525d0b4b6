/* ingest_pipeline.c: batches in input order, parallel processing, ordered
 * commit (see ingest_pipeline.h). */
#include "ingest_pipeline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_record.h"
#include "ingest_dedup.h"
#include "ingest_labels.h"
#include "ingest_sources.h"

/* Items per batch: enough to keep every thread busy through the uneven
 * cost of detection, small enough that a batch of decoded downloads stays
 * a few MB. */
#define INGEST_BATCH 256
#define INGEST_BATCH_BYTES ((size_t)64 << 20)

typedef struct {
    char *source;
    int64_t row;
    int split;
    int label;
} KeptRef;

typedef struct {
    const IngestOptions *o;
    IngestLabelMap *labels;
    IngestFaceEngine *faces;
    char face_error[EMO_ERROR_MSG_MAX];
    IngestPhash phash;
    IngestProcessConfig pcfg;
    IngestSources *sources;
    IngestDedup *dedup;
    KeptRef *kept;
    size_t nkept, kept_cap;
    EmoDatasetWriter *writers[INGEST_NUM_SPLITS];
    char *produced_by;
    char *cache_dir;
    IngestReport *report;
    EmoAtomicFile boxes;
    int boxes_open;
} Run;

void ingest_options_default(IngestOptions *o)
{
    memset(o, 0, sizeof *o);
    o->crawl_depth = 1;
    o->crawl_label = EMO_LABEL_NONE;
    o->crawl_max_pages = 1000;
    ingest_http_options_default(&o->http);
    o->size = 48;
    o->detect = INGEST_DETECT_AUTO;
    ingest_face_options_default(&o->face);
    o->dedup = INGEST_DEDUP_EXACT;
    o->near_threshold = INGEST_NEAR_THRESHOLD_DEFAULT;
    ingest_split_default(&o->split);
}

/*-*** Options as JSON (report and manifests) ***/

static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_string("(not UTF-8)");
}

static json_t *string_list(const char *const *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, jstr(v[i]));
    return a;
}

/* Everything that decides the output, nothing that does not (threads,
 * progress), so the manifests are identical whatever the thread count. */
static json_t *options_json(const IngestOptions *o)
{
    static const char *const detect[] = {"auto", "always", "never"};
    static const char *const dedup[] = {"off", "exact", "near"};
    json_t *j = json_object();
    json_object_set_new(j, "size", json_integer(o->size));
    json_object_set_new(j, "detect", json_string(detect[o->detect]));
    json_object_set_new(j, "min_input_size", json_integer(o->min_input));
    json_object_set_new(j, "dedup", json_string(dedup[o->dedup]));
    if (o->dedup == INGEST_DEDUP_NEAR) json_object_set_new(j, "near_threshold", json_integer(o->near_threshold));
    if (o->split.fixed != INGEST_SPLIT_NONE) {
        json_object_set_new(j, "split", json_string(ingest_split_name(o->split.fixed)));
    } else {
        json_t *f = json_array();
        for (int i = 0; i < INGEST_NUM_SPLITS; i++) json_array_append_new(f, json_real(o->split.frac[i]));
        json_object_set_new(j, "split", f);
    }
    json_object_set_new(j, "seed", json_integer((json_int_t)o->split.seed));
    if (o->labels_path) json_object_set_new(j, "labels", jstr(o->labels_path));
    if (o->detect != INGEST_DETECT_NEVER) {
        json_t *d = json_object();
        json_object_set_new(d, "cascade", jstr(o->face.cascade));
        json_object_set_new(d, "eye_cascade", jstr(o->face.eye_cascade));
        if (o->face.eye_fallback) json_object_set_new(d, "eye_cascade_fallback", jstr(o->face.eye_fallback));
        json_object_set_new(d, "scale_factor", json_real(o->face.scale_factor));
        json_object_set_new(d, "min_neighbors", json_integer(o->face.min_neighbors));
        json_object_set_new(d, "min_size", json_integer(o->face.min_size));
        json_object_set_new(d, "max_size", json_integer(o->face.max_size));
        json_object_set_new(d, "faces", json_string(o->face.all_faces ? "all" : "largest"));
        if (o->face.margin >= 0) json_object_set_new(d, "margin", json_real(o->face.margin));
        json_object_set_new(j, "detector", d);
    }
    if (o->n_url_lists || o->ncrawls) {
        json_t *h = json_object();
        json_object_set_new(h, "max_bytes", json_integer((json_int_t)o->http.max_bytes));
        json_object_set_new(h, "timeout_ms", json_integer(o->http.timeout_ms));
        json_object_set_new(h, "retries", json_integer(o->http.retries));
        json_object_set_new(h, "rate", json_real(o->http.rate));
        json_object_set_new(h, "max_redirects", json_integer(o->http.max_redirects));
        if (o->ncrawls) {
            json_object_set_new(h, "depth", json_integer(o->crawl_depth));
            json_object_set_new(h, "label", json_string(emo_class_name(o->crawl_label)));
            json_object_set_new(h, "max_pages", json_integer(o->crawl_max_pages));
        }
        json_object_set_new(j, "http", h);
    }
    return j;
}

static json_t *inputs_json(const IngestOptions *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "paths", string_list(o->paths, o->npaths));
    if (o->n_url_lists) json_object_set_new(j, "url_lists", string_list(o->url_lists, o->n_url_lists));
    if (o->ncrawls) json_object_set_new(j, "crawls", string_list(o->crawls, o->ncrawls));
    return j;
}

/*-*** Commit (sequential, input order) ***/

static char *split_dir(const Run *r, int split)
{
    return emo_path_join(r->o->out_dir, ingest_split_name(split));
}

static EmoStatus writer_for(Run *r, int split, EmoDatasetWriter **w, EmoError *err)
{
    if (!r->writers[split]) {
        char *dir = split_dir(r, split);
        if (!dir) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        EmoDatasetWriterOptions wo = {0};
        wo.records_per_shard = r->o->shard_records > 0 ? (uint32_t)r->o->shard_records : 0;
        wo.threads = r->o->threads > 0 ? r->o->threads : 1;
        wo.produced_by = r->produced_by;
        EmoStatus s = emo_dataset_writer_open(&r->writers[split], dir, &wo, err);
        free(dir);
        if (s != EMO_OK) return s;
    }
    *w = r->writers[split];
    return EMO_OK;
}

static EmoStatus keep_ref(Run *r, const char *source, int64_t row, int split, int label, EmoError *err)
{
    if (r->nkept == r->kept_cap) {
        size_t nc = r->kept_cap ? r->kept_cap * 2 : 4096;
        KeptRef *nk = realloc(r->kept, nc * sizeof *nk);
        if (!nk) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        r->kept = nk;
        r->kept_cap = nc;
    }
    /* Consecutive records from one source (a CSV, a multi-face image)
     * share one copy of its name. */
    int share = r->nkept && strcmp(r->kept[r->nkept - 1].source, source) == 0;
    char *s = share ? r->kept[r->nkept - 1].source : strdup(source);
    if (!s) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    r->kept[r->nkept].source = s;
    r->kept[r->nkept].row = row;
    r->kept[r->nkept].split = split;
    r->kept[r->nkept].label = label;
    r->nkept++;
    return EMO_OK;
}

static void write_box_line(Run *r, const char *source, int64_t row, const IngestCrop *c)
{
    if (!r->boxes_open) return;
    FILE *f = r->boxes.fp;
    /* Tabs and newlines in names would break the TSV: they are escaped. */
    for (const char *p = source; *p; p++) {
        if (*p == '\t') fputs("\\t", f);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\\') fputs("\\\\", f);
        else fputc(*p, f);
    }
    if (row >= 0) fprintf(f, ":%lld", (long long)row);
    fprintf(f, "\t%d\t%d\t%d\t%d", c->box[0], c->box[1], c->box[2], c->box[3]);
    if (c->eyes_found) fprintf(f, "\t%.1f\t%.1f\t%.1f\t%.1f\n", c->eyes[0], c->eyes[1], c->eyes[2], c->eyes[3]);
    else fputs("\t-\t-\t-\t-\n", f);
}

static EmoStatus commit_crop(Run *r, const IngestItem *it, const IngestCrop *c, int64_t row, EmoError *err)
{
    const IngestOptions *o = r->o;
    int split = ingest_split_assign(&o->split, it->split, c->id);
    int near = 0, dist = 0;
    int64_t e = ingest_dedup_find_exact(r->dedup, c->id);
    if (e < 0 && o->dedup == INGEST_DEDUP_NEAR) {
        e = ingest_dedup_find_near(r->dedup, c->phash, &dist);
        near = e >= 0;
    }
    if (e >= 0) {
        const KeptRef *k = &r->kept[e];
        IngestDupInfo d = {.source = it->source, .row = row, .split = split, .label = it->label,
                           .of_source = k->source, .of_row = k->row, .of_split = k->split, .of_label = k->label, .near = near, .distance = dist,
                           .dropped = o->dedup != INGEST_DEDUP_OFF};
        EMO_RETURN_IF_ERR(ingest_report_duplicate(r->report, &d, err));
        if (d.dropped) {
            char detail[1400], of[700];
            if (k->row >= 0) snprintf(of, sizeof of, "%s:%lld", k->source, (long long)k->row);
            else snprintf(of, sizeof of, "%s", k->source);
            if (near)
                snprintf(detail, sizeof detail, "near duplicate of %s (%s; pHash distance %d)", of,
                         ingest_split_name(k->split), dist);
            else
                snprintf(detail, sizeof detail, "duplicate of %s (%s)", of, ingest_split_name(k->split));
            return ingest_report_reject(r->report, it->source, row,
                                        near ? INGEST_REJ_NEAR_DUPLICATE : INGEST_REJ_DUPLICATE, detail, err);
        }
    }
    EMO_RETURN_IF_ERR(ingest_dedup_add(r->dedup, c->id, c->phash, NULL, err));
    EMO_RETURN_IF_ERR(keep_ref(r, it->source, row, split, it->label, err));
    EmoDatasetWriter *w = NULL;
    EMO_RETURN_IF_ERR(writer_for(r, split, &w, err));
    EmoRecord rec = {
        .id = c->id,
        .parent_id = 0,
        .label = it->label,
        .width = (uint16_t)o->size,
        .height = (uint16_t)o->size,
        .channels = 1,
        .origin = EMO_ORIGIN_ORIGINAL,
        .source_row = row,
        .source = it->source,
        .params = "",
        .pixels = c->pixels,
    };
    EMO_RETURN_IF_ERR(emo_dataset_writer_add(w, &rec, err));
    ingest_report_accept(r->report, split, it->label, c->path);
    return EMO_OK;
}

static EmoStatus commit(Run *r, const IngestItem *it, const IngestResult *res, EmoError *err)
{
    ingest_report_input(r->report);
    if (res->reason != INGEST_OK)
        return ingest_report_reject(r->report, it->source, it->source_row, res->reason, res->detail, err);
    for (int k = 0; k < res->ncrops; k++) {
        const IngestCrop *c = &res->crops[k];
        int64_t row = it->source_row >= 0 ? it->source_row : r->o->face.all_faces ? k : -1;
        if (c->path != INGEST_PATH_PASS) write_box_line(r, it->source, it->source_row, c);
        EMO_RETURN_IF_ERR(commit_crop(r, it, c, row, err));
    }
    return EMO_OK;
}

/*-*** Setup and teardown ***/

static void run_free(Run *r)
{
    for (int s = 0; s < INGEST_NUM_SPLITS; s++) emo_dataset_writer_abort(r->writers[s]);
    if (r->boxes_open) emo_atomic_abort(&r->boxes);
    ingest_sources_close(r->sources);
    ingest_dedup_free(r->dedup);
    for (size_t i = 0; i < r->nkept; i++)
        if (i == 0 || r->kept[i].source != r->kept[i - 1].source) free(r->kept[i].source);
    free(r->kept);
    ingest_face_close(r->faces);
    ingest_labels_free(r->labels);
    ingest_report_free(r->report);
    free(r->produced_by);
    free(r->cache_dir);
}

static EmoStatus check_options(const IngestOptions *o, EmoError *err)
{
    if (!o->out_dir || !*o->out_dir) return emo_error_set(err, EMO_ERR_ARG, "no output directory (-o DIR)");
    if (o->npaths + o->n_url_lists + o->ncrawls == 0)
        return emo_error_set(err, EMO_ERR_ARG, "no inputs (folders, CSV files, --urls or --crawl)");
    if (o->size < 8 || o->size > 1024) return emo_error_set(err, EMO_ERR_ARG, "--size %d: expected 8..1024", o->size);
    if (o->dedup == INGEST_DEDUP_NEAR && (o->near_threshold < 0 || o->near_threshold > INGEST_NEAR_THRESHOLD_MAX))
        return emo_error_set(err, EMO_ERR_ARG, "--near-threshold %d: expected 0..%d", o->near_threshold,
                             INGEST_NEAR_THRESHOLD_MAX);
    if (o->ncrawls && (o->crawl_depth < 0 || o->crawl_depth > 100))
        return emo_error_set(err, EMO_ERR_ARG, "--depth %d: expected 0..100", o->crawl_depth);
    return EMO_OK;
}

static EmoStatus setup(Run *r, const IngestOptions *o, EmoError *err)
{
    EMO_RETURN_IF_ERR(check_options(o, err));
    if (o->labels_path) EMO_RETURN_IF_ERR(ingest_labels_load(o->labels_path, &r->labels, err));

    /* Sources first: a mistyped input stops the run before anything else. */
    IngestSourcesConfig sc = {0};
    sc.paths = o->paths;
    sc.npaths = o->npaths;
    sc.url_lists = o->url_lists;
    sc.n_url_lists = o->n_url_lists;
    sc.crawls = o->crawls;
    sc.ncrawls = o->ncrawls;
    sc.crawl.depth = o->crawl_depth;
    sc.crawl.label = o->crawl_label;
    sc.crawl.max_pages = o->crawl_max_pages;
    sc.http = o->http;
    if (!sc.http.cache_dir) {
        r->cache_dir = emo_path_join(o->out_dir, "http-cache");
        if (!r->cache_dir) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        sc.http.cache_dir = r->cache_dir;
    }
    sc.labels = r->labels;
    sc.count_files = o->progress != NULL;
    EMO_RETURN_IF_ERR(ingest_sources_open(&r->sources, &sc, err));

    /* Cascades: required for --detect always; for auto, a missing cascade
     * only matters if an image needs detection, so the run goes on and
     * those images are rejected with the reason. */
    if (o->detect != INGEST_DETECT_NEVER) {
        IngestFaceOptions fo = o->face;
        fo.out_size = o->size;
        EmoError ferr;
        if (ingest_face_open(&r->faces, &fo, &ferr) != EMO_OK) {
            if (o->detect == INGEST_DETECT_ALWAYS) {
                *err = ferr;
                return ferr.status;
            }
            snprintf(r->face_error, sizeof r->face_error, "%s", ferr.msg);
        }
    }
    ingest_phash_init(&r->phash);
    r->pcfg.size = o->size;
    r->pcfg.detect = o->detect;
    r->pcfg.min_input = o->min_input > 0 ? o->min_input : o->size / 2;
    r->pcfg.max_pixels = o->max_pixels;
    r->pcfg.max_file_bytes = o->max_file_bytes ? o->max_file_bytes : (256u << 20);
    r->pcfg.faces = r->faces;
    r->pcfg.phash = &r->phash;

    EMO_RETURN_IF_ERR(ingest_dedup_create(&r->dedup, o->dedup == INGEST_DEDUP_NEAR ? o->near_threshold : -1, err));
    EMO_RETURN_IF_ERR(emo_mkdir_p(o->out_dir, err));
    EMO_RETURN_IF_ERR(ingest_report_create(&r->report, o->out_dir, err));

    json_t *pb = json_object();
    json_object_set_new(pb, "tool", json_string("emoingest"));
    json_object_set_new(pb, "version", json_string(EMO_VERSION));
    json_object_set_new(pb, "options", options_json(o));
    json_object_set_new(pb, "inputs", inputs_json(o));
    r->produced_by = json_dumps(pb, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *opts = json_dumps(json_object_get(pb, "options"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(pb);
    if (!r->produced_by || !opts) {
        free(opts);
        return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    }
    EmoStatus s = ingest_report_set_json(r->report, "options", opts, err);
    free(opts);
    if (s != EMO_OK) return s;
    if (*r->face_error) {
        char msg[EMO_ERROR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "face detection unavailable: %s", r->face_error);
        EMO_RETURN_IF_ERR(ingest_report_warning(r->report, msg, err));
    }
    if (o->boxes_path) {
        EMO_RETURN_IF_ERR(emo_atomic_open(&r->boxes, o->boxes_path, err));
        r->boxes_open = 1;
        fputs("# source\tx\ty\tw\th\tleft_eye_x\tleft_eye_y\tright_eye_x\tright_eye_y\n", r->boxes.fp);
    }
    return EMO_OK;
}

/* Removes out/<split> left by an earlier run if this run wrote no such split. */
static EmoStatus remove_stale_split(Run *r, int split, EmoError *err)
{
    char *dir = split_dir(r, split);
    char *man = dir ? emo_path_join(dir, "manifest.json") : NULL;
    EmoStatus s = EMO_OK;
    struct stat st;
    if (!dir || !man) s = emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    else if (stat(man, &st) == 0) s = emo_remove_tree(dir, err);
    free(man);
    free(dir);
    return s;
}

static EmoStatus finish(Run *r, IngestSummary *sum, EmoError *err)
{
    const IngestOptions *o = r->o;
    char *src = ingest_sources_report_json(r->sources);
    if (!src) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    EmoStatus s = ingest_report_set_json(r->report, "sources", src, err);
    free(src);
    if (s != EMO_OK) return s;
    for (int i = 0; i < INGEST_NUM_SPLITS; i++) {
        if (r->writers[i]) {
            EmoDatasetWriter *w = r->writers[i];
            r->writers[i] = NULL; /* close frees it, also on failure */
            EMO_RETURN_IF_ERR(emo_dataset_writer_close(w, err));
        } else {
            EMO_RETURN_IF_ERR(remove_stale_split(r, i, err));
        }
    }
    if (r->boxes_open) {
        r->boxes_open = 0;
        EMO_RETURN_IF_ERR(emo_atomic_commit(&r->boxes, err));
    }
    char *rpath = emo_path_join(o->out_dir, "ingest-report.json");
    if (!rpath) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    s = ingest_report_write(r->report, rpath, err);
    if (sum) {
        sum->counts = *ingest_report_counts(r->report);
        snprintf(sum->report_path, sizeof sum->report_path, "%s", rpath);
    }
    free(rpath);
    return s;
}

EmoStatus ingest_run(const IngestOptions *o, IngestSummary *sum, EmoError *err)
{
    Run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    if (sum) memset(sum, 0, sizeof *sum);
    EmoStatus s = setup(&r, o, err);
    IngestItem *items = s == EMO_OK ? calloc(INGEST_BATCH, sizeof *items) : NULL;
    IngestResult *results = s == EMO_OK ? calloc(INGEST_BATCH, sizeof *results) : NULL;
    if (s == EMO_OK && (!items || !results)) s = emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    int threads = o->threads;
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#endif
    if (threads <= 0) threads = 1;
    (void)threads;
    uint64_t done = 0;
    int eof = 0;
    while (s == EMO_OK && !eof) {
        int nb = 0;
        size_t batch_bytes = 0;
        /* A batch also ends at INGEST_BATCH_BYTES of downloaded or CSV
         * data held in memory: 256 bodies at --max-bytes would be GBs. */
        while (nb < INGEST_BATCH && batch_bytes < INGEST_BATCH_BYTES) {
            EmoStatus ns = ingest_sources_next(r.sources, &items[nb], err);
            if (ns == EMO_ERR_EOF) {
                eof = 1;
                break;
            }
            if (ns != EMO_OK) {
                s = ns;
                break;
            }
            batch_bytes += items[nb].nbytes;
            nb++;
        }
        if (s != EMO_OK) {
            for (int i = 0; i < nb; i++) ingest_item_free(&items[i]);
            break;
        }
        /* The one parallel step: items are independent, results land in
         * their own slots, and the commit below reads them in order. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int i = 0; i < nb; i++) ingest_process_item(&r.pcfg, &items[i], &results[i]);
        for (int i = 0; i < nb; i++) {
            if (s == EMO_OK) s = commit(&r, &items[i], &results[i], err);
            ingest_result_free(&results[i]);
            ingest_item_free(&items[i]);
        }
        done += (uint64_t)nb;
        if (s == EMO_OK && o->progress) {
            const IngestCounts *c = ingest_report_counts(r.report);
            IngestProgress p = {.items_done = done, .records = c->records, .rejected = c->rejected,
                                .fraction = eof ? 1.0 : ingest_sources_progress(r.sources)};
            o->progress(o->progress_ctx, &p);
        }
    }
    free(items);
    free(results);
    if (s == EMO_OK) s = finish(&r, sum, err);
    run_free(&r);
    return s;
}
