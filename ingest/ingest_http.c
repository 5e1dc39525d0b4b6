/* ingest_http.c: bounded, rate-limited, retried, cached GETs (see ingest_http.h). */
#include "ingest_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "emo_fs.h"

typedef struct {
    char *origin;
    double last;         /* monotonic seconds of the last request start */
    double interval;     /* minimum spacing */
} HostSlot;

struct IngestHttp {
    IngestHttpOptions opt;
    CURL *curl;
    char *ua;
    char *cache_urls, *cache_objects;   /* subdirectories, or NULL */
    HostSlot *hosts;
    int nhosts;
    IngestHttpStats stats;
};

typedef struct {
    uint8_t *data;
    size_t size, cap;
    uint64_t limit;
    int over;
} Body;

void ingest_http_options_default(IngestHttpOptions *o)
{
    memset(o, 0, sizeof *o);
    o->max_bytes = 20u << 20;
    o->timeout_ms = 30000;
    o->connect_timeout_ms = 10000;
    o->retries = 2;
    o->backoff_ms = 500;
    o->rate = 2.0;
    o->max_redirects = 5;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

EmoStatus ingest_http_open(IngestHttp **out, const IngestHttpOptions *o, EmoError *err)
{
    *out = NULL;
    IngestHttp *h = calloc(1, sizeof *h);
    if (!h) return emo_error_set(err, EMO_ERR_NOMEM, "http: out of memory");
    if (o) h->opt = *o;
    else ingest_http_options_default(&h->opt);
    char ua[128];
    snprintf(ua, sizeof ua, "emoingest/%s", EMO_VERSION);
    h->ua = strdup(h->opt.user_agent && *h->opt.user_agent ? h->opt.user_agent : ua);
    h->curl = curl_easy_init();
    if (!h->ua || !h->curl) {
        ingest_http_close(h);
        return emo_error_set(err, EMO_ERR_NOMEM, "http: cannot initialise libcurl");
    }
    if (h->opt.cache_dir && *h->opt.cache_dir) {
        h->cache_urls = emo_path_join(h->opt.cache_dir, "urls");
        h->cache_objects = emo_path_join(h->opt.cache_dir, "objects");
        if (!h->cache_urls || !h->cache_objects) {
            ingest_http_close(h);
            return emo_error_set(err, EMO_ERR_NOMEM, "http: out of memory");
        }
        EmoStatus s = emo_mkdir_p(h->cache_urls, err);
        if (s == EMO_OK) s = emo_mkdir_p(h->cache_objects, err);
        if (s != EMO_OK) {
            ingest_http_close(h);
            return s;
        }
    }
    *out = h;
    return EMO_OK;
}

void ingest_http_close(IngestHttp *h)
{
    if (!h) return;
    if (h->curl) curl_easy_cleanup(h->curl);
    for (int i = 0; i < h->nhosts; i++) free(h->hosts[i].origin);
    free(h->hosts);
    free(h->ua);
    free(h->cache_urls);
    free(h->cache_objects);
    free(h);
}

const IngestHttpStats *ingest_http_stats(const IngestHttp *h)
{
    return &h->stats;
}

void ingest_fetch_free(IngestFetch *f)
{
    if (!f) return;
    free(f->content_type);
    free(f->final_url);
    free(f->body);
    memset(f, 0, sizeof *f);
}

/*-*** URLs ***/

static CURLU *parse_url(const char *url)
{
    CURLU *u = curl_url();
    if (!u) return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_URLENCODE) != CURLUE_OK) {
        curl_url_cleanup(u);
        return NULL;
    }
    char *scheme = NULL;
    int ok = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    curl_free(scheme);
    if (!ok) {
        curl_url_cleanup(u);
        return NULL;
    }
    return u;
}

char *ingest_url_origin(const char *url)
{
    CURLU *u = parse_url(url);
    if (!u) return NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        size_t n = strlen(scheme) + strlen(host) + strlen(port) + 5;
        out = malloc(n);
        if (out) {
            snprintf(out, n, "%s://%s:%s", scheme, host, port);
            for (char *p = out; *p; p++)
                if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

char *ingest_url_resolve(const char *base, const char *ref)
{
    CURLU *u = parse_url(base);
    if (!u) return NULL;
    char *out = NULL, *tmp = NULL;
    if (curl_url_set(u, CURLUPART_URL, ref, CURLU_URLENCODE) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
        if (curl_url_get(u, CURLUPART_URL, &tmp, 0) == CURLUE_OK) {
            /* the result must still be http(s): "mailto:" and "javascript:" are not */
            if (strncmp(tmp, "http://", 7) == 0 || strncmp(tmp, "https://", 8) == 0) out = strdup(tmp);
        }
        curl_free(tmp);
    }
    curl_url_cleanup(u);
    return out;
}

char *ingest_url_path(const char *url)
{
    CURLU *u = parse_url(url);
    if (!u) return NULL;
    char *path = NULL, *query = NULL, *out = NULL;
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK) query = NULL;
        size_t n = strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
        out = malloc(n);
        if (out) snprintf(out, n, "%s%s%s", path, query ? "?" : "", query ? query : "");
    }
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return out;
}

/*-*** Rate limiting ***/

static HostSlot *host_slot(IngestHttp *h, const char *url)
{
    char *origin = ingest_url_origin(url);
    if (!origin) return NULL;
    for (int i = 0; i < h->nhosts; i++)
        if (strcmp(h->hosts[i].origin, origin) == 0) {
            free(origin);
            return &h->hosts[i];
        }
    HostSlot *ns = realloc(h->hosts, (size_t)(h->nhosts + 1) * sizeof *ns);
    if (!ns) {
        free(origin);
        return NULL;
    }
    h->hosts = ns;
    HostSlot *s = &h->hosts[h->nhosts++];
    s->origin = origin;
    s->last = -1e9;
    s->interval = h->opt.rate > 0 ? 1.0 / h->opt.rate : 0;
    return s;
}

void ingest_http_set_host_delay(IngestHttp *h, const char *url, double seconds)
{
    HostSlot *s = host_slot(h, url);
    if (s && seconds > s->interval) s->interval = seconds;
}

static void wait_turn(IngestHttp *h, const char *url)
{
    HostSlot *s = host_slot(h, url);
    if (!s) return;
    double t = now_s(), due = s->last + s->interval;
    if (t < due) {
        sleep_s(due - t);
        t = now_s();
    }
    s->last = t;
}

/*-*** Cache ***/

static char *cache_url_path(const IngestHttp *h, const char *url)
{
    char name[32];
    snprintf(name, sizeof name, "%016" PRIx64, (uint64_t)XXH64(url, strlen(url), 0));
    return emo_path_join(h->cache_urls, name);
}

/* Looks url up in the cache; fills f on a verified hit. */
static int cache_lookup(const IngestHttp *h, const char *url, IngestFetch *f)
{
    char *ipath = cache_url_path(h, url);
    if (!ipath) return 0;
    uint8_t *idx;
    size_t n;
    int hit = 0;
    if (emo_read_file(ipath, 1 << 16, &idx, &n, NULL) == EMO_OK) {
        /* lines: object hash, content type, final URL, URL */
        char *save = NULL;
        char *hash = strtok_r((char *)idx, "\n", &save);
        char *ctype = strtok_r(NULL, "\n", &save);
        char *final = strtok_r(NULL, "\n", &save);
        char *orig = strtok_r(NULL, "\n", &save);
        if (hash && ctype && final && orig && strcmp(orig, url) == 0 && strlen(hash) == 16) {
            char *opath = emo_path_join(h->cache_objects, hash);
            uint8_t *body;
            size_t bsize;
            if (opath && emo_read_file(opath, h->opt.max_bytes ? h->opt.max_bytes : 0, &body, &bsize, NULL) == EMO_OK) {
                char check[32];
                snprintf(check, sizeof check, "%016" PRIx64, (uint64_t)XXH64(body, bsize, 0));
                if (strcmp(check, hash) == 0) { /* a damaged object is a miss, not data */
                    f->body = body;
                    f->size = bsize;
                    f->content_type = strcmp(ctype, "-") ? strdup(ctype) : NULL;
                    f->final_url = strdup(final);
                    f->status = 200;
                    f->from_cache = 1;
                    f->reason = INGEST_OK;
                    hit = 1;
                } else {
                    free(body);
                }
            }
            free(opath);
        }
        free(idx);
    }
    free(ipath);
    return hit;
}

static EmoStatus cache_store(const IngestHttp *h, const char *url, const IngestFetch *f, EmoError *err)
{
    char hash[32];
    snprintf(hash, sizeof hash, "%016" PRIx64, (uint64_t)XXH64(f->body, f->size, 0));
    char *opath = emo_path_join(h->cache_objects, hash);
    char *ipath = cache_url_path(h, url);
    EmoStatus s = EMO_OK;
    if (!opath || !ipath) s = emo_error_set(err, EMO_ERR_NOMEM, "cache: out of memory");
    FILE *probe = s == EMO_OK ? fopen(opath, "rb") : NULL;
    if (probe) fclose(probe); /* same content already stored (content addressing) */
    else if (s == EMO_OK) s = emo_write_file_atomic(opath, f->body, f->size, err);
    if (s == EMO_OK) {
        size_t n = strlen(url) * 2 + 600;
        char *idx = malloc(n);
        if (!idx) s = emo_error_set(err, EMO_ERR_NOMEM, "cache: out of memory");
        else {
            /* content types and URLs never contain newlines (curl rejects them) */
            int len = snprintf(idx, n, "%s\n%s\n%s\n%s\n", hash,
                               f->content_type && *f->content_type ? f->content_type : "-",
                               f->final_url ? f->final_url : url, url);
            s = emo_write_file_atomic(ipath, idx, (size_t)len, err);
            free(idx);
        }
    }
    free(opath);
    free(ipath);
    return s;
}

/*-*** Fetch ***/

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    Body *b = ud;
    size_t n = size * nmemb;
    if (b->limit && b->size + n > b->limit) {
        b->over = 1;
        return 0; /* aborts the transfer: the body is over --max-bytes */
    }
    if (b->size + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 65536;
        while (nc < b->size + n + 1) nc *= 2;
        uint8_t *nd = realloc(b->data, nc);
        if (!nd) return 0;
        b->data = nd;
        b->cap = nc;
    }
    memcpy(b->data + b->size, ptr, n);
    b->size += n;
    b->data[b->size] = 0;
    return n;
}

/* One attempt. Returns 1 if a retry may help. */
static int attempt(IngestHttp *h, const char *url, IngestFetch *f)
{
    CURL *c = h->curl;
    Body b = {.limit = h->opt.max_bytes};
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)h->opt.max_redirects);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opt.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opt.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, h->ua);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (h->opt.max_bytes) curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->opt.max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);

    wait_turn(h, url);
    h->stats.requests++;
    CURLcode rc = curl_easy_perform(c);
    h->stats.bytes += b.size;
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    f->status = status;
    char *ct = NULL, *eff = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
    free(f->content_type);
    free(f->final_url);
    f->content_type = ct ? strdup(ct) : NULL;
    f->final_url = strdup(eff ? eff : url);

    int retry = 0;
    if (b.over || rc == CURLE_FILESIZE_EXCEEDED) {
        f->reason = INGEST_REJ_TOO_LARGE;
        snprintf(f->detail, sizeof f->detail, "%s: body over --max-bytes %llu", url,
                 (unsigned long long)h->opt.max_bytes);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        f->reason = INGEST_REJ_TIMEOUT;
        snprintf(f->detail, sizeof f->detail, "%s: no complete answer within %.1f s", url, h->opt.timeout_ms / 1000.0);
        retry = 1;
    } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
        f->reason = INGEST_REJ_HTTP;
        snprintf(f->detail, sizeof f->detail, "%s: more than %d redirects", url, h->opt.max_redirects);
    } else if (rc != CURLE_OK) {
        f->reason = INGEST_REJ_NETWORK;
        snprintf(f->detail, sizeof f->detail, "%s: %s", url, *ebuf ? ebuf : curl_easy_strerror(rc));
        retry = rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT && rc != CURLE_WRITE_ERROR;
    } else if (status >= 400) {
        f->reason = INGEST_REJ_HTTP;
        snprintf(f->detail, sizeof f->detail, "%s: HTTP %ld", url, status);
        retry = status == 429 || status >= 500;
    } else if (b.size == 0) {
        f->reason = INGEST_REJ_EMPTY;
        snprintf(f->detail, sizeof f->detail, "%s: empty body (HTTP %ld)", url, status);
    } else {
        f->reason = INGEST_OK;
        f->detail[0] = 0;
        f->body = b.data;
        f->size = b.size;
        return 0;
    }
    free(b.data);
    return retry;
}

EmoStatus ingest_http_get(IngestHttp *h, const char *url, int use_cache, IngestFetch *f, EmoError *err)
{
    memset(f, 0, sizeof *f);
    if (use_cache && h->cache_urls && cache_lookup(h, url, f)) {
        h->stats.cache_hits++;
        return EMO_OK;
    }
    long delay = h->opt.backoff_ms;
    for (int a = 0;; a++) {
        int retry = attempt(h, url, f);
        if (!retry || a >= h->opt.retries) break;
        h->stats.retries++;
        sleep_s(delay / 1000.0);
        delay *= 2;
    }
    if (f->reason == INGEST_OK && use_cache && h->cache_urls) {
        /* A cache that cannot be written is not worth failing the run for,
         * but the caller is told (err) so the program can warn once. */
        EmoError cerr;
        if (cache_store(h, url, f, &cerr) != EMO_OK && err) *err = cerr;
    }
    return EMO_OK;
}
