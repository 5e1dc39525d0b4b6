/* ingest_http.h: polite, bounded HTTP GETs for URL lists and crawls
 * (libcurl).
 *
 * Every request is bounded: body size (--max-bytes, checked against
 * Content-Length and again while streaming, so a server that lies or never
 * stops is cut off), redirects (--max-redirects, http/https only), total
 * time (--timeout) and connect time. Requests to one host are spaced by the
 * rate limit (--rate requests/s; a robots.txt Crawl-delay can only slow it
 * down). Transport errors, timeouts, 429 and 5xx are retried with
 * exponential backoff (--retries, doubling from --backoff); 4xx are final.
 *
 * With a cache directory, a successful body is stored under its content
 * hash (objects/<xxh64>) and the URL under urls/<xxh64 of URL> pointing at
 * it, so re-runs do not re-fetch and identical bodies are stored once.
 * Failures are not cached: a re-run tries them again. */
#ifndef INGEST_HTTP_H
#define INGEST_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"
#include "ingest_types.h"

typedef struct {
    const char *cache_dir;       /* NULL or "" = no cache */
    uint64_t max_bytes;          /* body limit (default 20 MiB) */
    long timeout_ms;             /* whole request (default 30 s) */
    long connect_timeout_ms;     /* default 10 s */
    int retries;                 /* extra attempts after a retryable failure (default 2) */
    long backoff_ms;             /* first retry delay, doubled each time (default 500 ms) */
    double rate;                 /* requests per second per host; 0 = no limit (default 2) */
    int max_redirects;           /* default 5 */
    const char *user_agent;      /* default "emoingest/<version>" */
} IngestHttpOptions;

void ingest_http_options_default(IngestHttpOptions *o);

typedef struct {
    IngestReason reason;         /* INGEST_OK or why it failed */
    char detail[512];            /* failure message naming the URL */
    long status;                 /* last HTTP status (0 if none) */
    char *content_type;          /* malloc'd, may be NULL */
    char *final_url;             /* after redirects, malloc'd */
    uint8_t *body;               /* malloc'd (NUL-terminated, not counted) */
    size_t size;
    int from_cache;
} IngestFetch;

typedef struct {
    uint64_t requests;           /* network requests made (attempts, robots.txt included) */
    uint64_t cache_hits;
    uint64_t bytes;              /* body bytes received over the network */
    uint64_t retries;
} IngestHttpStats;

typedef struct IngestHttp IngestHttp;

EmoStatus ingest_http_open(IngestHttp **h, const IngestHttpOptions *o, EmoError *err);
void ingest_http_close(IngestHttp *h);

/* GETs url. EMO_OK whenever the call itself worked: check f->reason for the
 * outcome. use_cache = 0 for pages whose content may change (robots.txt).
 * Errors only for memory or an unusable cache directory. */
EmoStatus ingest_http_get(IngestHttp *h, const char *url, int use_cache, IngestFetch *f, EmoError *err);

/* Asks the rate limiter to space requests to url's host by at least
 * `seconds` (robots.txt Crawl-delay). Never speeds up. */
void ingest_http_set_host_delay(IngestHttp *h, const char *url, double seconds);

void ingest_fetch_free(IngestFetch *f);

const IngestHttpStats *ingest_http_stats(const IngestHttp *h);

/* "scheme://host:port" of a URL (lower-cased, default port made explicit),
 * malloc'd; NULL if the URL does not parse or is not http(s). */
char *ingest_url_origin(const char *url);

/* Resolves `ref` against `base` (RFC 3986), dropping any #fragment;
 * malloc'd, NULL if it does not resolve to an http(s) URL. */
char *ingest_url_resolve(const char *base, const char *ref);

/* The path+query of a URL ("/a/b?x"), malloc'd; NULL if it does not parse. */
char *ingest_url_path(const char *url);

#endif /* INGEST_HTTP_H */
