/* ingest_sources.c: the ordered chain of input sources (see ingest_sources.h). */
#include "ingest_sources.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emo_image.h"
#include "emo_record.h"
#include "ingest_csv.h"
#include "ingest_urls.h"
#include "ingest_walk.h"

typedef enum { SRC_DIR, SRC_CSV, SRC_FILE, SRC_OTHER, SRC_URLS, SRC_CRAWL } SourceKind;

typedef struct {
    SourceKind kind;
    const char *arg;
    int done;
    uint64_t estimate;      /* folder: pre-counted files */
    uint64_t items;         /* items produced */
} Source;

struct IngestSources {
    IngestSourcesConfig cfg;
    Source *src;
    int n, cur;
    /* the open reader of the current source */
    IngestWalk *walk;
    IngestCsv *csv;
    IngestUrlList *urls;
    IngestCrawl *crawl;
    IngestHttp *http;
    /* notes kept for the report */
    json_t *walk_notes;     /* array of objects, one per folder */
    json_t *crawl_notes;
};

EmoStatus ingest_sources_open(IngestSources **out, const IngestSourcesConfig *cfg, EmoError *err)
{
    *out = NULL;
    IngestSources *s = calloc(1, sizeof *s);
    int total = cfg->npaths + cfg->n_url_lists + cfg->ncrawls;
    if (!s || !(s->src = calloc((size_t)(total ? total : 1), sizeof *s->src)) ||
        !(s->walk_notes = json_array()) || !(s->crawl_notes = json_array())) {
        ingest_sources_close(s);
        return emo_error_set(err, EMO_ERR_NOMEM, "sources: out of memory");
    }
    s->cfg = *cfg;
    for (int i = 0; i < cfg->npaths; i++) {
        const char *p = cfg->paths[i];
        struct stat st;
        if (stat(p, &st) != 0) {
            int e = errno;
            ingest_sources_close(s);
            return emo_error_set(err, e == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO, "%s: %s", p, strerror(e));
        }
        Source *src = &s->src[s->n++];
        src->arg = p;
        if (S_ISDIR(st.st_mode)) {
            src->kind = SRC_DIR;
            if (cfg->count_files) src->estimate = ingest_walk_count(p, cfg->max_depth);
        } else if (S_ISREG(st.st_mode)) {
            src->kind = ingest_csv_is_csv(p) ? SRC_CSV : SRC_FILE;
        } else {
            src->kind = SRC_OTHER;
        }
    }
    for (int i = 0; i < cfg->n_url_lists; i++) {
        struct stat st;
        const char *p = cfg->url_lists[i];
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            int e = errno;
            ingest_sources_close(s);
            return emo_error_set(err, EMO_ERR_NOT_FOUND, "--urls %s: %s", p,
                                 e ? strerror(e) : "not a regular file");
        }
        s->src[s->n++] = (Source){.kind = SRC_URLS, .arg = p};
    }
    for (int i = 0; i < cfg->ncrawls; i++) {
        char *origin = ingest_url_origin(cfg->crawls[i]);
        if (!origin) {
            ingest_sources_close(s);
            return emo_error_set(err, EMO_ERR_ARG, "--crawl '%s': not an http(s) URL", cfg->crawls[i]);
        }
        free(origin);
        s->src[s->n++] = (Source){.kind = SRC_CRAWL, .arg = cfg->crawls[i]};
    }
    *out = s;
    return EMO_OK;
}

static EmoStatus need_http(IngestSources *s, EmoError *err)
{
    if (s->http) return EMO_OK;
    return ingest_http_open(&s->http, &s->cfg.http, err);
}

/* json_string refuses invalid UTF-8 (paths may hold any bytes). */
static json_t *jstr(const char *v)
{
    json_t *j = json_string(v);
    return j ? j : json_string("(not UTF-8)");
}

static void note_walk(IngestSources *s, const char *root)
{
    const IngestWalkStats *ws = ingest_walk_stats(s->walk);
    json_t *o = json_object();
    if (!o) return;
    json_object_set_new(o, "folder", jstr(root));
    json_object_set_new(o, "files", json_integer((json_int_t)ws->files));
    json_object_set_new(o, "rejected_entries", json_integer((json_int_t)ws->rejects));
    json_object_set_new(o, "hidden_skipped", json_integer((json_int_t)ws->hidden));
    json_t *dirs = json_array();
    for (int i = 0; i < ws->n_unknown_dirs; i++) {
        json_array_append_new(dirs, jstr(ws->unknown_dirs[i]));
    }
    json_object_set_new(o, "folders_not_a_class_or_split", dirs);
    json_array_append_new(s->walk_notes, o);
}

static void note_crawl(IngestSources *s, const char *url)
{
    const IngestCrawlStats *cs = ingest_crawl_stats(s->crawl);
    json_t *o = json_object();
    if (!o) return;
    json_object_set_new(o, "start", jstr(url));
    json_object_set_new(o, "robots_txt_status", json_integer(cs->robots_status));
    json_object_set_new(o, "pages", json_integer((json_int_t)cs->pages));
    json_object_set_new(o, "images", json_integer((json_int_t)cs->images));
    json_object_set_new(o, "robots_blocked", json_integer((json_int_t)cs->robots_blocked));
    json_object_set_new(o, "off_host_links", json_integer((json_int_t)cs->off_host));
    json_object_set_new(o, "other_links", json_integer((json_int_t)cs->other));
    json_object_set_new(o, "pages_over_limit", json_integer((json_int_t)cs->page_limit));
    json_array_append_new(s->crawl_notes, o);
}

static void close_current(IngestSources *s)
{
    Source *src = &s->src[s->cur];
    if (s->walk) {
        note_walk(s, src->arg);
        ingest_walk_close(s->walk);
        s->walk = NULL;
    }
    ingest_csv_close(s->csv);
    s->csv = NULL;
    ingest_urls_close(s->urls);
    s->urls = NULL;
    if (s->crawl) {
        note_crawl(s, src->arg);
        ingest_crawl_close(s->crawl);
        s->crawl = NULL;
    }
    src->done = 1;
    s->cur++;
}

static EmoStatus reject_err(IngestItem *it, const char *source, int64_t row, IngestReason r, const char *msg,
                            EmoError *err)
{
    EmoStatus st = ingest_item_reject(it, source, row, r, "%s", msg);
    return st == EMO_OK ? EMO_OK : emo_error_set(err, st, "out of memory");
}

/* One URL-list line to an item: fetch, then image bytes or a reject. */
static EmoStatus fetch_line(IngestSources *s, const char *list, IngestUrlLine *line, IngestItem *it, EmoError *err)
{
    IngestFetch f;
    EMO_RETURN_IF_ERR(ingest_http_get(s->http, line->url, 1, &f, err));
    EmoStatus st = EMO_OK;
    (void)list;
    if (f.reason != INGEST_OK) {
        st = reject_err(it, line->url, line->line, f.reason, f.detail, err);
    } else if (emo_image_sniff(f.body, f.size) == EMO_IMAGE_UNKNOWN) {
        char detail[700];
        snprintf(detail, sizeof detail, "%s: not an image (Content-Type %.100s)", line->url,
                 f.content_type ? f.content_type : "unknown");
        st = reject_err(it, line->url, line->line, INGEST_REJ_NOT_IMAGE, detail, err);
    } else {
        memset(it, 0, sizeof *it);
        it->kind = INGEST_ITEM_BYTES;
        it->source = line->url;
        line->url = NULL;
        it->source_row = line->line;
        it->label = line->label;
        it->split = INGEST_SPLIT_NONE;
        it->bytes = f.body;
        it->nbytes = f.size;
        f.body = NULL;
    }
    if (st == EMO_OK && it->kind == INGEST_ITEM_REJECT) it->label = line->label;
    ingest_fetch_free(&f);
    return st;
}

EmoStatus ingest_sources_next(IngestSources *s, IngestItem *it, EmoError *err)
{
    memset(it, 0, sizeof *it);
    while (s->cur < s->n) {
        Source *src = &s->src[s->cur];
        EmoStatus st;
        switch (src->kind) {
        case SRC_DIR:
            if (!s->walk) {
                IngestWalkOptions wo = {.labels = s->cfg.labels, .max_depth = s->cfg.max_depth};
                EmoError werr;
                if (ingest_walk_open(&s->walk, src->arg, &wo, &werr) != EMO_OK) {
                    close_current(s);
                    src->items++;
                    return reject_err(it, src->arg, -1, INGEST_REJ_UNREADABLE, werr.msg, err);
                }
            }
            st = ingest_walk_next(s->walk, it, err);
            break;
        case SRC_CSV:
            if (!s->csv) {
                EmoError cerr;
                if (ingest_csv_open(&s->csv, src->arg, s->cfg.labels, &cerr) != EMO_OK) {
                    close_current(s);
                    src->items++;
                    return reject_err(it, src->arg, 1, INGEST_REJ_BAD_CSV_ROW, cerr.msg, err);
                }
            }
            st = ingest_csv_next(s->csv, it, err);
            if (st == EMO_ERR_IO) { /* a read error ends this file, not the run */
                EmoError rerr = *err;
                close_current(s);
                return reject_err(it, src->arg, -1, INGEST_REJ_UNREADABLE, rerr.msg, err);
            }
            break;
        case SRC_FILE:
            close_current(s);
            it->kind = INGEST_ITEM_FILE;
            it->source = strdup(src->arg);
            if (!it->source) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
            it->source_row = -1;
            it->label = EMO_LABEL_NONE;
            it->split = INGEST_SPLIT_NONE;
            return EMO_OK;
        case SRC_OTHER:
            close_current(s);
            return reject_err(it, src->arg, -1, INGEST_REJ_NOT_FILE, "not a regular file or folder", err);
        case SRC_URLS: {
            if (!s->urls) {
                EMO_RETURN_IF_ERR(need_http(s, err));
                EmoError uerr;
                if (ingest_urls_open(&s->urls, src->arg, s->cfg.labels, &uerr) != EMO_OK) {
                    close_current(s);
                    return reject_err(it, src->arg, -1, INGEST_REJ_UNREADABLE, uerr.msg, err);
                }
            }
            IngestUrlLine line;
            st = ingest_urls_next(s->urls, &line, err);
            if (st == EMO_OK) {
                if (line.url) {
                    st = fetch_line(s, src->arg, &line, it, err);
                } else {
                    *it = line.reject;
                    memset(&line.reject, 0, sizeof line.reject);
                }
                ingest_url_line_free(&line);
            } else if (st == EMO_ERR_IO) {
                EmoError rerr = *err;
                close_current(s);
                return reject_err(it, src->arg, -1, INGEST_REJ_UNREADABLE, rerr.msg, err);
            }
            break;
        }
        case SRC_CRAWL:
            if (!s->crawl) {
                EMO_RETURN_IF_ERR(need_http(s, err));
                EMO_RETURN_IF_ERR(ingest_crawl_open(&s->crawl, s->http, src->arg, &s->cfg.crawl, err));
            }
            st = ingest_crawl_next(s->crawl, it, err);
            break;
        default:
            st = EMO_ERR_EOF;
        }
        if (st == EMO_ERR_EOF) {
            close_current(s);
            continue;
        }
        if (st == EMO_OK) src->items++;
        return st;
    }
    return EMO_ERR_EOF;
}

double ingest_sources_progress(const IngestSources *s)
{
    if (s->n == 0) return 1.0;
    double done = 0;
    int known = 1;
    for (int i = 0; i < s->n; i++) {
        const Source *src = &s->src[i];
        if (src->done) done += 1;
        else if (i == s->cur) {
            if (src->kind == SRC_CSV && s->csv && ingest_csv_size(s->csv))
                done += (double)ingest_csv_bytes_read(s->csv) / (double)ingest_csv_size(s->csv);
            else if (src->kind == SRC_DIR && src->estimate)
                done += src->items >= src->estimate ? 0.99 : (double)src->items / (double)src->estimate;
            else known = 0;
        }
    }
    return known ? done / s->n : -1;
}

char *ingest_sources_report_json(const IngestSources *s)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_t *inputs = json_array();
    static const char *const kinds[] = {"folder", "csv", "image", "other", "url list", "crawl"};
    for (int i = 0; i < s->n; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "kind", json_string(kinds[s->src[i].kind]));
        json_object_set_new(e, "path", jstr(s->src[i].arg));
        json_object_set_new(e, "items", json_integer((json_int_t)s->src[i].items));
        json_array_append_new(inputs, e);
    }
    json_object_set_new(o, "inputs", inputs);
    json_object_set(o, "folders", s->walk_notes);
    json_object_set(o, "crawls", s->crawl_notes);
    if (s->http) {
        const IngestHttpStats *hs = ingest_http_stats(s->http);
        json_t *h = json_object();
        json_object_set_new(h, "requests", json_integer((json_int_t)hs->requests));
        json_object_set_new(h, "cache_hits", json_integer((json_int_t)hs->cache_hits));
        json_object_set_new(h, "bytes", json_integer((json_int_t)hs->bytes));
        json_object_set_new(h, "retries", json_integer((json_int_t)hs->retries));
        json_object_set_new(o, "http", h);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

void ingest_sources_close(IngestSources *s)
{
    if (!s) return;
    ingest_walk_close(s->walk);
    ingest_csv_close(s->csv);
    ingest_urls_close(s->urls);
    ingest_crawl_close(s->crawl);
    ingest_http_close(s->http);
    json_decref(s->walk_notes);
    json_decref(s->crawl_notes);
    free(s->src);
    free(s);
}
