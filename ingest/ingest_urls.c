/* ingest_urls.c: URL list reader (see ingest_urls.h). */
#include "ingest_urls.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emo_record.h"
#include "ingest_http.h"
#include "ingest_lines.h"

#define URLS_MAX_LINE 8192

struct IngestUrlList {
    FILE *fp;
    int own;
    char *name;
    const IngestLabelMap *labels;
    IngestLines in;
};

EmoStatus ingest_urls_open_stream(IngestUrlList **out, FILE *fp, const char *name, const IngestLabelMap *labels,
                                  EmoError *err)
{
    IngestUrlList *u = calloc(1, sizeof *u);
    if (!u || !(u->name = strdup(name))) {
        free(u);
        *out = NULL;
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
    }
    u->fp = fp;
    ingest_lines_init(&u->in, fp, URLS_MAX_LINE);
    u->labels = labels;
    *out = u;
    return EMO_OK;
}

EmoStatus ingest_urls_open(IngestUrlList **out, const char *path, const IngestLabelMap *labels, EmoError *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return emo_error_set(err, errno == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO, "%s: %s", path, strerror(errno));
    EmoStatus s = ingest_urls_open_stream(out, fp, path, labels, err);
    if (s != EMO_OK) fclose(fp);
    else (*out)->own = 1;
    return s;
}

static EmoStatus reject(IngestUrlList *u, IngestUrlLine *l, IngestReason r, const char *what, EmoError *err)
{
    EmoStatus s = ingest_item_reject(&l->reject, u->name, l->line, r, "%s: line %lld: %s", u->name,
                                     (long long)l->line, what);
    return s == EMO_OK ? EMO_OK : emo_error_set(err, s, "out of memory");
}

EmoStatus ingest_urls_next(IngestUrlList *u, IngestUrlLine *l, EmoError *err)
{
    memset(l, 0, sizeof *l);
    for (;;) {
        /* A line with a NUL byte or over the limit is rejected as a bad
         * line by its number, never split or merged (ingest_lines.h). */
        size_t n;
        int flags;
        int r = ingest_lines_next(&u->in, &n, &flags);
        if (r == 0) break;
        if (r < 0)
            return emo_error_set(err, errno == ENOMEM ? EMO_ERR_NOMEM : EMO_ERR_IO, "%s: line %lld: %s", u->name,
                                 (long long)u->in.lineno + 1, errno == ENOMEM ? "out of memory" : strerror(errno));
        l->line = u->in.lineno;
        if (flags & INGEST_LINE_TOO_LONG) return reject(u, l, INGEST_REJ_BAD_LINE, "longer than 8 KB", err);
        if (flags & INGEST_LINE_HAS_NUL) return reject(u, l, INGEST_REJ_BAD_LINE, "contains a NUL byte", err);
        char *buf = u->in.buf;
        while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = 0;
        char *s = buf;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        char *tab = strchr(s, '\t');
        char *label_s = NULL;
        if (tab) {
            *tab = 0;
            label_s = tab + 1;
            while (isspace((unsigned char)*label_s)) label_s++;
            char *e = tab;
            while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
        }
        l->label = EMO_LABEL_NONE;
        if (label_s && *label_s) {
            int lab = ingest_labels_resolve(u->labels, label_s);
            if (lab == INGEST_LABEL_UNKNOWN) {
                char what[256];
                snprintf(what, sizeof what, "label '%.100s' is not a class", label_s);
                return reject(u, l, INGEST_REJ_UNKNOWN_LABEL, what, err);
            }
            if (lab == INGEST_LABEL_SKIP) return reject(u, l, INGEST_REJ_EXCLUDED, "label mapped to 'skip'", err);
            l->label = lab;
        }
        char *origin = ingest_url_origin(s);
        if (!origin) {
            char what[256];
            snprintf(what, sizeof what, "'%.100s' is not an http(s) URL", s);
            return reject(u, l, INGEST_REJ_BAD_LINE, what, err);
        }
        free(origin);
        l->url = strdup(s);
        if (!l->url) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        return EMO_OK;
    }
    return EMO_ERR_EOF; /* read errors were returned by ingest_lines_next */
}

void ingest_url_line_free(IngestUrlLine *l)
{
    free(l->url);
    ingest_item_free(&l->reject);
    memset(l, 0, sizeof *l);
}

void ingest_urls_close(IngestUrlList *u)
{
    if (!u) return;
    if (u->own) fclose(u->fp);
    ingest_lines_free(&u->in);
    free(u->name);
    free(u);
}
