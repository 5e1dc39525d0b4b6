/* ingest_dedup.c: exact and multi-index-hashed near-duplicate index. */
#include "ingest_dedup.h"

#include <stdlib.h>
#include <string.h>

#include "ingest_phash.h"

/* Open-addressing map uint64 -> int64 (value -1 marks an empty slot). */
typedef struct {
    uint64_t *keys;
    int64_t *vals;
    size_t cap;   /* power of two */
    size_t n;
} U64Map;

static uint64_t mix64(uint64_t x)
{
    /* splitmix64 finalizer: chunk values are tiny integers, ids are
     * already random; both need spreading over the table. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static int map_init(U64Map *m, size_t cap)
{
    m->cap = cap;
    m->n = 0;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        m->keys = NULL;
        m->vals = NULL;
        return -1;
    }
    for (size_t i = 0; i < cap; i++) m->vals[i] = -1;
    return 0;
}

static void map_free(U64Map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t map_slot(const U64Map *m, uint64_t key)
{
    size_t i = (size_t)mix64(key) & (m->cap - 1);
    while (m->vals[i] != -1 && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    return i;
}

static int64_t map_get(const U64Map *m, uint64_t key)
{
    return m->vals[map_slot(m, key)];
}

/* Sets key -> val (overwriting). */
static int map_put(U64Map *m, uint64_t key, int64_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        U64Map big;
        if (map_init(&big, m->cap * 2) != 0) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->vals[i] != -1) {
                size_t j = map_slot(&big, m->keys[i]);
                big.keys[j] = m->keys[i];
                big.vals[j] = m->vals[i];
                big.n++;
            }
        map_free(m);
        *m = big;
    }
    size_t i = map_slot(m, key);
    if (m->vals[i] == -1) m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

struct IngestDedup {
    int threshold;         /* -1: exact only */
    int nchunks;
    int chunk_shift[INGEST_NEAR_THRESHOLD_MAX + 1];
    int chunk_bits[INGEST_NEAR_THRESHOLD_MAX + 1];
    U64Map exact;          /* id -> first entry */
    U64Map *heads;         /* per chunk: chunk value -> latest entry with it */
    int64_t **next;        /* per chunk: entry -> previous entry with the same value */
    uint64_t *phash;       /* per entry */
    int64_t n, cap;
};

EmoStatus ingest_dedup_create(IngestDedup **out, int near_threshold, EmoError *err)
{
    *out = NULL;
    if (near_threshold > INGEST_NEAR_THRESHOLD_MAX)
        return emo_error_set(err, EMO_ERR_ARG, "near-duplicate threshold %d is over %d", near_threshold,
                             INGEST_NEAR_THRESHOLD_MAX);
    IngestDedup *d = calloc(1, sizeof *d);
    if (!d || map_init(&d->exact, 1024) != 0) {
        free(d);
        return emo_error_set(err, EMO_ERR_NOMEM, "dedup: out of memory");
    }
    d->threshold = near_threshold < 0 ? -1 : near_threshold;
    if (d->threshold >= 0) {
        d->nchunks = d->threshold + 1;
        int base = 64 / d->nchunks, extra = 64 % d->nchunks, shift = 0;
        for (int j = 0; j < d->nchunks; j++) {
            d->chunk_bits[j] = base + (j < extra);
            d->chunk_shift[j] = shift;
            shift += d->chunk_bits[j];
        }
        d->heads = calloc((size_t)d->nchunks, sizeof *d->heads);
        d->next = calloc((size_t)d->nchunks, sizeof *d->next);
        if (!d->heads || !d->next) {
            ingest_dedup_free(d);
            return emo_error_set(err, EMO_ERR_NOMEM, "dedup: out of memory");
        }
        for (int j = 0; j < d->nchunks; j++)
            if (map_init(&d->heads[j], 1024) != 0) {
                ingest_dedup_free(d);
                return emo_error_set(err, EMO_ERR_NOMEM, "dedup: out of memory");
            }
    }
    *out = d;
    return EMO_OK;
}

void ingest_dedup_free(IngestDedup *d)
{
    if (!d) return;
    map_free(&d->exact);
    if (d->heads)
        for (int j = 0; j < d->nchunks; j++) map_free(&d->heads[j]);
    if (d->next)
        for (int j = 0; j < d->nchunks; j++) free(d->next[j]);
    free(d->heads);
    free(d->next);
    free(d->phash);
    free(d);
}

static uint64_t chunk_of(const IngestDedup *d, uint64_t h, int j)
{
    int bits = d->chunk_bits[j];
    uint64_t mask = bits >= 64 ? ~0ull : ((1ull << bits) - 1);
    return (h >> d->chunk_shift[j]) & mask;
}

int64_t ingest_dedup_find_exact(const IngestDedup *d, uint64_t id)
{
    return map_get(&d->exact, id);
}

int64_t ingest_dedup_find_near(const IngestDedup *d, uint64_t phash, int *distance)
{
    int64_t best = -1;
    int best_d = 65;
    if (d->threshold < 0) return -1;
    for (int j = 0; j < d->nchunks; j++) {
        for (int64_t e = map_get(&d->heads[j], chunk_of(d, phash, j)); e != -1; e = d->next[j][e]) {
            int dist = ingest_hamming(phash, d->phash[e]);
            if (dist <= d->threshold && (dist < best_d || (dist == best_d && e < best))) {
                best = e;
                best_d = dist;
            }
        }
    }
    if (best >= 0 && distance) *distance = best_d;
    return best;
}

EmoStatus ingest_dedup_add(IngestDedup *d, uint64_t id, uint64_t phash, int64_t *index, EmoError *err)
{
    if (d->n == d->cap) {
        int64_t nc = d->cap ? d->cap * 2 : 1024;
        uint64_t *np = realloc(d->phash, (size_t)nc * sizeof *np);
        if (!np) return emo_error_set(err, EMO_ERR_NOMEM, "dedup: out of memory");
        d->phash = np;
        for (int j = 0; j < d->nchunks; j++) {
            int64_t *nn = realloc(d->next[j], (size_t)nc * sizeof *nn);
            if (!nn) return emo_error_set(err, EMO_ERR_NOMEM, "dedup: out of memory");
            d->next[j] = nn;
        }
        d->cap = nc;
    }
    int64_t e = d->n;
    d->phash[e] = phash;
    if (map_get(&d->exact, id) == -1 && map_put(&d->exact, id, e) != 0)
        return emo_error_set(err, EMO_ERR_NOMEM, "dedup: out of memory");
    for (int j = 0; j < d->nchunks; j++) {
        uint64_t c = chunk_of(d, phash, j);
        d->next[j][e] = map_get(&d->heads[j], c);
        if (map_put(&d->heads[j], c, e) != 0) return emo_error_set(err, EMO_ERR_NOMEM, "dedup: out of memory");
    }
    d->n++;
    if (index) *index = e;
    return EMO_OK;
}

int64_t ingest_dedup_count(const IngestDedup *d)
{
    return d->n;
}
