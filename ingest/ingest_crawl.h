/* ingest_crawl.h: a same-host crawl from one start URL, yielding the images
 * it finds as input items (--crawl URL --depth N --label L).
 *
 * Breadth-first, links in document order, each URL fetched once. Depth 0 is
 * the start page and its images; depth N also follows <a> links N hops
 * away, on the start URL's host (scheme, host and port) only. robots.txt is
 * fetched first and honoured (a 4xx robots.txt means no rules; 5xx or no
 * answer means nothing may be fetched, RFC 9309), its Crawl-delay slows the
 * rate limit. Images: anything whose bytes are PNG or JPEG, whether linked
 * by <img> or <a>. An <img> that is not an image, a fetch that fails, a
 * disallowed URL or an image on another host becomes a reject item. */
#ifndef INGEST_CRAWL_H
#define INGEST_CRAWL_H

#include <stdint.h>

#include "emo_error.h"
#include "ingest_http.h"
#include "ingest_types.h"

typedef struct {
    int depth;             /* default 1 */
    int label;             /* label of every image (EMO_LABEL_NONE = unlabeled) */
    int max_pages;         /* HTML pages fetched at most (default 1000) */
    const char *agent;     /* robots.txt product token (default "emoingest") */
} IngestCrawlOptions;

typedef struct {
    uint64_t pages;        /* HTML pages fetched and parsed */
    uint64_t images;       /* image items produced */
    uint64_t off_host;     /* page links to other hosts, not followed */
    uint64_t robots_blocked;
    uint64_t other;        /* <a> links that were neither HTML nor an image */
    uint64_t page_limit;   /* pages skipped by max_pages */
    long robots_status;    /* HTTP status of robots.txt (0: no answer) */
} IngestCrawlStats;

typedef struct IngestCrawl IngestCrawl;

/* Fetches robots.txt and queues the start URL. EMO_ERR_ARG if url is not
 * http(s). The http client is borrowed (it must outlive the crawl). */
EmoStatus ingest_crawl_open(IngestCrawl **c, IngestHttp *http, const char *url, const IngestCrawlOptions *o,
                            EmoError *err);

/* Next image (INGEST_ITEM_BYTES) or reject. EMO_ERR_EOF when the crawl is done. */
EmoStatus ingest_crawl_next(IngestCrawl *c, IngestItem *it, EmoError *err);

const IngestCrawlStats *ingest_crawl_stats(const IngestCrawl *c);

void ingest_crawl_close(IngestCrawl *c);

#endif /* INGEST_CRAWL_H */
