/* ingest_urls.c: URL list reader (see ingest_urls.h). */
#include "ingest_urls.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emo_record.h"
#include "ingest_http.h"

#define URLS_MAX_LINE 8192

struct IngestUrlList {
    FILE *fp;
    int own;
    char *name;
    const IngestLabelMap *labels;
    int64_t lineno;
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
    char buf[URLS_MAX_LINE];
    for (;;) {
        /* Byte by byte, not fgets + strlen: a NUL inside a line would
         * otherwise split it in two (found by fuzz_urls). A line with a NUL
         * is rejected as a bad line. */
        size_t n = 0;
        int c = EOF, nul = 0, too_long = 0;
        while ((c = getc_unlocked(u->fp)) != EOF && c != '\n') {
            if (c == 0) nul = 1;
            if (n < sizeof buf - 1) buf[n++] = (char)c;
            else too_long = 1;
        }
        if (c == EOF && n == 0 && !too_long) break;
        buf[n] = 0;
        u->lineno++;
        l->line = u->lineno;
        if (too_long) return reject(u, l, INGEST_REJ_BAD_LINE, "longer than 8 KB", err);
        if (nul) return reject(u, l, INGEST_REJ_BAD_LINE, "contains a NUL byte", err);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = 0;
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
    if (ferror(u->fp)) return emo_error_set(err, EMO_ERR_IO, "%s: read error", u->name);
    return EMO_ERR_EOF;
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
    free(u->name);
    free(u);
}
