/* ingest_crawl.c: breadth-first same-host crawler (see ingest_crawl.h). */
#include "ingest_crawl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "emo_image.h"
#include "emo_record.h"
#include "ingest_html.h"
#include "ingest_robots.h"

typedef struct {
    char *url;
    int depth;
    int is_image;
} QueuedLink;

struct IngestCrawl {
    IngestHttp *http;
    IngestCrawlOptions opt;
    char *origin;
    IngestRobots *robots;
    QueuedLink *queue;
    size_t head, tail, cap;
    uint64_t *seen;           /* open addressing set of XXH64(url); 0 = empty */
    size_t seen_cap, seen_n;
    IngestCrawlStats stats;
};

static int seen_insert(IngestCrawl *c, const char *url)
{
    uint64_t h = XXH64(url, strlen(url), 0);
    if (!h) h = 1;
    if ((c->seen_n + 1) * 2 > c->seen_cap) {
        size_t nc = c->seen_cap ? c->seen_cap * 2 : 1024;
        uint64_t *ns = calloc(nc, sizeof *ns);
        if (!ns) return -1;
        for (size_t i = 0; i < c->seen_cap; i++)
            if (c->seen[i]) {
                size_t j = c->seen[i] & (nc - 1);
                while (ns[j]) j = (j + 1) & (nc - 1);
                ns[j] = c->seen[i];
            }
        free(c->seen);
        c->seen = ns;
        c->seen_cap = nc;
    }
    size_t j = h & (c->seen_cap - 1);
    while (c->seen[j]) {
        if (c->seen[j] == h) return 0;
        j = (j + 1) & (c->seen_cap - 1);
    }
    c->seen[j] = h;
    c->seen_n++;
    return 1;
}

/* Queues url unless already seen; takes ownership of url. */
static int enqueue(IngestCrawl *c, char *url, int depth, int is_image)
{
    int fresh = seen_insert(c, url);
    if (fresh <= 0) {
        free(url);
        return fresh;
    }
    if (c->tail == c->cap) {
        if (c->head > 0) { /* reuse the consumed front */
            memmove(c->queue, c->queue + c->head, (c->tail - c->head) * sizeof *c->queue);
            c->tail -= c->head;
            c->head = 0;
        }
        if (c->tail == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 64;
            QueuedLink *nq = realloc(c->queue, nc * sizeof *nq);
            if (!nq) {
                free(url);
                return -1;
            }
            c->queue = nq;
            c->cap = nc;
        }
    }
    c->queue[c->tail++] = (QueuedLink){url, depth, is_image};
    return 1;
}

EmoStatus ingest_crawl_open(IngestCrawl **out, IngestHttp *http, const char *url, const IngestCrawlOptions *o,
                            EmoError *err)
{
    *out = NULL;
    IngestCrawl *c = calloc(1, sizeof *c);
    if (!c) return emo_error_set(err, EMO_ERR_NOMEM, "crawl: out of memory");
    c->http = http;
    if (o) c->opt = *o;
    else {
        c->opt.depth = 1;
        c->opt.label = EMO_LABEL_NONE;
    }
    if (c->opt.max_pages <= 0) c->opt.max_pages = 1000;
    if (!c->opt.agent) c->opt.agent = "emoingest";
    c->origin = ingest_url_origin(url);
    if (!c->origin) {
        free(c);
        return emo_error_set(err, EMO_ERR_ARG, "--crawl '%s': not an http(s) URL", url);
    }
    /* robots.txt first: it decides what the crawl may touch. */
    size_t n = strlen(c->origin) + 16;
    char *robots_url = malloc(n);
    if (!robots_url) {
        ingest_crawl_close(c);
        return emo_error_set(err, EMO_ERR_NOMEM, "crawl: out of memory");
    }
    snprintf(robots_url, n, "%s/robots.txt", c->origin);
    IngestFetch f;
    EmoStatus s = ingest_http_get(http, robots_url, 0, &f, err);
    if (s == EMO_OK) {
        c->stats.robots_status = f.status;
        if (f.reason == INGEST_OK)
            s = ingest_robots_parse((const char *)f.body, f.size, c->opt.agent, &c->robots, err);
        else
            s = ingest_robots_fixed(f.status >= 400 && f.status < 500, &c->robots, err);
        if (s == EMO_OK && ingest_robots_crawl_delay(c->robots) > 0)
            ingest_http_set_host_delay(http, robots_url, ingest_robots_crawl_delay(c->robots));
    }
    ingest_fetch_free(&f);
    free(robots_url);
    char *start = s == EMO_OK ? ingest_url_resolve(url, url) : NULL;
    if (s == EMO_OK && (!start || enqueue(c, start, 0, 0) < 0))
        s = emo_error_set(err, EMO_ERR_NOMEM, "crawl: out of memory");
    if (s != EMO_OK) {
        ingest_crawl_close(c);
        return s;
    }
    *out = c;
    return EMO_OK;
}

static EmoStatus reject(IngestItem *it, const char *url, IngestReason r, const char *detail, EmoError *err)
{
    EmoStatus s = ingest_item_reject(it, url, -1, r, "%s", detail);
    return s == EMO_OK ? EMO_OK : emo_error_set(err, s, "out of memory");
}

static int same_origin(const IngestCrawl *c, const char *url)
{
    char *o = ingest_url_origin(url);
    int same = o && strcmp(o, c->origin) == 0;
    free(o);
    return same;
}

EmoStatus ingest_crawl_next(IngestCrawl *c, IngestItem *it, EmoError *err)
{
    memset(it, 0, sizeof *it);
    while (c->head < c->tail) {
        QueuedLink q = c->queue[c->head++];
        char detail[700];
        if (!same_origin(c, q.url)) {
            if (!q.is_image) {
                c->stats.off_host++;
                free(q.url);
                continue;
            }
            snprintf(detail, sizeof detail, "%s: image on another host than %s (crawls stay on one host)", q.url,
                     c->origin);
            EmoStatus s = reject(it, q.url, INGEST_REJ_OFF_HOST, detail, err);
            free(q.url);
            return s;
        }
        char *path = ingest_url_path(q.url);
        int allowed = path && ingest_robots_allowed(c->robots, path);
        free(path);
        if (!allowed) {
            c->stats.robots_blocked++;
            snprintf(detail, sizeof detail, "%s: disallowed by %s/robots.txt", q.url, c->origin);
            EmoStatus s = reject(it, q.url, INGEST_REJ_ROBOTS, detail, err);
            free(q.url);
            return s;
        }
        if (!q.is_image && c->stats.pages >= (uint64_t)c->opt.max_pages) {
            c->stats.page_limit++;
            free(q.url);
            continue;
        }
        IngestFetch f;
        EmoStatus s = ingest_http_get(c->http, q.url, 1, &f, err);
        if (s != EMO_OK) {
            free(q.url);
            return s;
        }
        if (f.reason != INGEST_OK) {
            s = reject(it, q.url, f.reason, f.detail, err);
            ingest_fetch_free(&f);
            free(q.url);
            return s;
        }
        if (f.final_url && !same_origin(c, f.final_url)) {
            snprintf(detail, sizeof detail, "%s: redirected to another host (%.300s)", q.url, f.final_url);
            s = reject(it, q.url, INGEST_REJ_OFF_HOST, detail, err);
            ingest_fetch_free(&f);
            free(q.url);
            return s;
        }
        if (emo_image_sniff(f.body, f.size) != EMO_IMAGE_UNKNOWN) {
            it->kind = INGEST_ITEM_BYTES;
            it->source = q.url;
            it->source_row = -1;
            it->label = c->opt.label;
            it->split = INGEST_SPLIT_NONE;
            it->bytes = f.body;
            it->nbytes = f.size;
            f.body = NULL;
            ingest_fetch_free(&f);
            c->stats.images++;
            return EMO_OK;
        }
        if (q.is_image) {
            snprintf(detail, sizeof detail, "%s: not an image (Content-Type %.100s)", q.url,
                     f.content_type ? f.content_type : "unknown");
            s = reject(it, q.url, INGEST_REJ_NOT_IMAGE, detail, err);
            ingest_fetch_free(&f);
            free(q.url);
            return s;
        }
        if (!ingest_html_is_html(f.body, f.size, f.content_type)) {
            c->stats.other++;
            ingest_fetch_free(&f);
            free(q.url);
            continue;
        }
        c->stats.pages++;
        IngestLink *links;
        int nl;
        s = ingest_html_links(f.body, f.size, f.final_url ? f.final_url : q.url, &links, &nl, err);
        ingest_fetch_free(&f);
        free(q.url);
        if (s != EMO_OK) return s;
        for (int i = 0; i < nl && s == EMO_OK; i++) {
            if (!links[i].is_image && q.depth >= c->opt.depth) continue;
            if (enqueue(c, links[i].url, q.depth + 1, links[i].is_image) < 0)
                s = emo_error_set(err, EMO_ERR_NOMEM, "crawl: out of memory");
            links[i].url = NULL; /* enqueue took it */
        }
        ingest_links_free(links, nl);
        if (s != EMO_OK) return s;
    }
    return EMO_ERR_EOF;
}

const IngestCrawlStats *ingest_crawl_stats(const IngestCrawl *c)
{
    return &c->stats;
}

void ingest_crawl_close(IngestCrawl *c)
{
    if (!c) return;
    for (size_t i = c->head; i < c->tail; i++) free(c->queue[i].url);
    free(c->queue);
    free(c->seen);
    ingest_robots_free(c->robots);
    free(c->origin);
    free(c);
}
