/* emo_shard.c: the shard container: header, zstd frames, index, trailer
 * (see emo_shard.h and SHARDS.md). */
#include "emo_shard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "emo_fs.h"

static const char emo_shard_magic[8] = {'E', 'M', 'O', 'S', 'H', 'A', 'R', 'D'};
static const char emo_shard_end_magic[8] = {'E', 'M', 'O', 'S', 'H', 'E', 'N', 'D'};

/*-*** Little-endian helpers (the format is LE whatever the host) ***/

static void emo_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void emo_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t emo_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t emo_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Grows a malloc'd buffer to at least `need` bytes. */
static int emo_grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need && *buf) return 1;
    size_t n = *cap ? *cap : 4096;
    while (n < need) n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p) return 0;
    *buf = p;
    *cap = n;
    return 1;
}

/*-*** Compression ***/

struct EmoShardCompressor {
    ZSTD_CCtx *cctx;
};

EmoStatus emo_shard_compressor_create(EmoShardCompressor **out, int level, EmoError *err)
{
    *out = NULL;
    EmoShardCompressor *c = calloc(1, sizeof *c);
    if (!c || !(c->cctx = ZSTD_createCCtx())) {
        free(c);
        return emo_error_set(err, EMO_ERR_NOMEM, "zstd: out of memory");
    }
    if (level == 0) level = EMO_SHARD_DEFAULT_LEVEL;
    /* Content size and checksum are what let a reader allocate exactly and
     * detect damage; single-threaded zstd keeps frames identical whatever
     * the writer's own thread count. */
    size_t r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1);
    if (ZSTD_isError(r)) {
        emo_shard_compressor_free(c);
        return emo_error_set(err, EMO_ERR_ARG, "zstd level %d: %s", level, ZSTD_getErrorName(r));
    }
    *out = c;
    return EMO_OK;
}

void emo_shard_compressor_free(EmoShardCompressor *c)
{
    if (!c) return;
    ZSTD_freeCCtx(c->cctx);
    free(c);
}

EmoStatus emo_shard_compress(EmoShardCompressor *c, const void *payload, size_t size,
                             uint8_t **out, size_t *cap, size_t *out_size, EmoError *err)
{
    if (size > EMO_SHARD_MAX_BLOCK_BYTES)
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "block of %zu bytes exceeds the %u-byte limit",
                             size, EMO_SHARD_MAX_BLOCK_BYTES);
    size_t bound = ZSTD_compressBound(size);
    if (!emo_grow(out, cap, bound)) return emo_error_set(err, EMO_ERR_NOMEM, "zstd: out of memory");
    size_t r = ZSTD_compress2(c->cctx, *out, *cap, payload, size);
    if (ZSTD_isError(r)) return emo_error_set(err, EMO_ERR_IO, "zstd: %s", ZSTD_getErrorName(r));
    *out_size = r;
    return EMO_OK;
}

/*-*** Writer ***/

struct EmoShardWriter {
    EmoAtomicFile file;
    XXH64_state_t *hash;    /* of every byte written, for the manifest */
    uint64_t offset;        /* bytes written so far */
    uint64_t records;
    EmoShardBlockEntry *blocks;
    size_t nblocks, cap;
};

static EmoStatus emo_shard_write(EmoShardWriter *w, const void *data, size_t n, EmoError *err)
{
    if (n && fwrite(data, 1, n, w->file.fp) != n)
        return emo_error_set(err, EMO_ERR_IO, "%s: write failed: %s", w->file.path, strerror(errno));
    XXH64_update(w->hash, data, n);
    w->offset += n;
    return EMO_OK;
}

EmoStatus emo_shard_writer_open(EmoShardWriter **out, const char *path, EmoError *err)
{
    *out = NULL;
    EmoShardWriter *w = calloc(1, sizeof *w);
    if (!w || !(w->hash = XXH64_createState())) {
        free(w);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    }
    XXH64_reset(w->hash, 0);
    EmoStatus s = emo_atomic_open(&w->file, path, err);
    if (s != EMO_OK) {
        XXH64_freeState(w->hash);
        free(w);
        return s;
    }
    uint8_t hdr[EMO_SHARD_HEADER_BYTES] = {0};
    memcpy(hdr, emo_shard_magic, 8);
    emo_put_u32(hdr + 8, EMO_SHARD_VERSION);
    emo_put_u32(hdr + 12, EMO_SHARD_HEADER_BYTES);
    s = emo_shard_write(w, hdr, sizeof hdr, err);
    if (s != EMO_OK) {
        emo_shard_writer_abort(w);
        return s;
    }
    *out = w;
    return EMO_OK;
}

EmoStatus emo_shard_writer_add(EmoShardWriter *w, const void *frame, size_t csize, size_t usize,
                               uint32_t records, EmoError *err)
{
    if (csize > UINT32_MAX || usize > EMO_SHARD_MAX_BLOCK_BYTES)
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "%s: block too large", w->file.path);
    if (w->nblocks == w->cap) {
        size_t n = w->cap ? w->cap * 2 : 64;
        EmoShardBlockEntry *b = realloc(w->blocks, n * sizeof *b);
        if (!b) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", w->file.path);
        w->blocks = b;
        w->cap = n;
    }
    EmoShardBlockEntry e = {w->offset, (uint32_t)csize, (uint32_t)usize, records};
    EMO_RETURN_IF_ERR(emo_shard_write(w, frame, csize, err));
    w->blocks[w->nblocks++] = e;
    w->records += records;
    return EMO_OK;
}

static void emo_shard_writer_free(EmoShardWriter *w)
{
    XXH64_freeState(w->hash);
    free(w->blocks);
    free(w);
}

EmoStatus emo_shard_writer_close(EmoShardWriter *w, uint64_t *bytes, uint64_t *xxh64, EmoError *err)
{
    size_t isize = w->nblocks * EMO_SHARD_INDEX_ENTRY_BYTES + 16;
    uint8_t *idx = malloc(isize + EMO_SHARD_TRAILER_BYTES);
    if (!idx) {
        emo_shard_writer_abort(w);
        return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
    }
    uint64_t index_offset = w->offset;
    for (size_t i = 0; i < w->nblocks; i++) {
        uint8_t *e = idx + i * EMO_SHARD_INDEX_ENTRY_BYTES;
        emo_put_u64(e, w->blocks[i].offset);
        emo_put_u32(e + 8, w->blocks[i].csize);
        emo_put_u32(e + 12, w->blocks[i].usize);
        emo_put_u32(e + 16, w->blocks[i].records);
        emo_put_u32(e + 20, 0);
    }
    emo_put_u64(idx + isize - 16, w->records);
    emo_put_u64(idx + isize - 8, XXH64(idx, isize - 8, 0));
    uint8_t *t = idx + isize;
    emo_put_u64(t, index_offset);
    emo_put_u32(t + 8, (uint32_t)w->nblocks);
    emo_put_u32(t + 12, EMO_SHARD_VERSION);
    memcpy(t + 16, emo_shard_end_magic, 8);
    EmoStatus s = emo_shard_write(w, idx, isize + EMO_SHARD_TRAILER_BYTES, err);
    free(idx);
    if (s != EMO_OK) {
        emo_shard_writer_abort(w);
        return s;
    }
    uint64_t total = w->offset, hash = XXH64_digest(w->hash);
    s = emo_atomic_commit(&w->file, err);
    emo_shard_writer_free(w);
    if (s != EMO_OK) return s;
    if (bytes) *bytes = total;
    if (xxh64) *xxh64 = hash;
    return EMO_OK;
}

void emo_shard_writer_abort(EmoShardWriter *w)
{
    if (!w) return;
    emo_atomic_abort(&w->file);
    emo_shard_writer_free(w);
}

/*-*** Reader ***/

struct EmoShardReader {
    char *path;
    int fd;
    uint64_t file_bytes;
    uint64_t records;
    uint32_t nblocks;
    EmoShardBlockEntry *blocks;
    ZSTD_DCtx *dctx;
    uint8_t *cbuf;        /* compressed frame being read */
    size_t ccap;
};

static EmoStatus emo_pread_all(const EmoShardReader *r, void *buf, size_t n, uint64_t off, EmoError *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(r->fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return emo_error_set(err, EMO_ERR_IO, "%s: read failed: %s", r->path, strerror(errno));
        if (k == 0)
            return emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated: file ends at byte %llu",
                                 r->path, (unsigned long long)(off + got));
        got += (size_t)k;
    }
    return EMO_OK;
}

/* Header, trailer and index, each checked before the next is trusted. */
static EmoStatus emo_shard_load_index(EmoShardReader *r, EmoError *err)
{
    const char *p = r->path;
    if (r->file_bytes == 0) return emo_error_set(err, EMO_ERR_CORRUPT, "%s: empty file (0 bytes)", p);
    uint8_t hdr[EMO_SHARD_HEADER_BYTES];
    size_t hn = r->file_bytes < sizeof hdr ? (size_t)r->file_bytes : sizeof hdr;
    EMO_RETURN_IF_ERR(emo_pread_all(r, hdr, hn, 0, err));
    if (hn < 8 || memcmp(hdr, emo_shard_magic, 8) != 0) {
        if (hn < 8 && memcmp(hdr, emo_shard_magic, hn) == 0)
            return emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated: %zu bytes, no header", p, hn);
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: not an emo shard (bad magic)", p);
    }
    if (hn < sizeof hdr)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated: %zu bytes, header incomplete", p, hn);
    uint32_t version = emo_get_u32(hdr + 8);
    if (version > EMO_SHARD_VERSION)
        return emo_error_set(err, EMO_ERR_VERSION,
                             "%s: shard format version %u is newer than this program reads (%d); upgrade emo",
                             p, version, EMO_SHARD_VERSION);
    if (version == 0 || emo_get_u32(hdr + 12) != EMO_SHARD_HEADER_BYTES)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: damaged header", p);
    if (r->file_bytes < EMO_SHARD_HEADER_BYTES + 16 + EMO_SHARD_TRAILER_BYTES)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated: %llu bytes, no index or trailer", p,
                             (unsigned long long)r->file_bytes);

    uint8_t t[EMO_SHARD_TRAILER_BYTES];
    EMO_RETURN_IF_ERR(emo_pread_all(r, t, sizeof t, r->file_bytes - sizeof t, err));
    if (memcmp(t + 16, emo_shard_end_magic, 8) != 0)
        return emo_error_set(err, EMO_ERR_CORRUPT,
                             "%s: truncated or incomplete: no trailer at the end of its %llu bytes", p,
                             (unsigned long long)r->file_bytes);
    uint64_t index_offset = emo_get_u64(t);
    uint32_t nblocks = emo_get_u32(t + 8);
    uint64_t isize = (uint64_t)nblocks * EMO_SHARD_INDEX_ENTRY_BYTES + 16;
    /* Compared without sums: a hostile index_offset near 2^64 must not wrap
     * into "fits" and size a huge allocation below. */
    uint64_t room = r->file_bytes - EMO_SHARD_TRAILER_BYTES; /* >= header+16, checked above */
    if (emo_get_u32(t + 12) != version || index_offset < EMO_SHARD_HEADER_BYTES ||
        index_offset > room || isize != room - index_offset)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: damaged trailer (index offset/size out of range)", p);

    uint8_t *idx = malloc((size_t)isize);
    r->blocks = calloc(nblocks ? nblocks : 1, sizeof *r->blocks);
    if (!idx || !r->blocks) {
        free(idx);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", p);
    }
    EmoStatus s = emo_pread_all(r, idx, (size_t)isize, index_offset, err);
    if (s != EMO_OK) {
        free(idx);
        return s;
    }
    if (XXH64(idx, (size_t)isize - 8, 0) != emo_get_u64(idx + isize - 8)) {
        free(idx);
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: index checksum mismatch", p);
    }
    /* Blocks must tile the file from the header to the index exactly. */
    uint64_t expect = EMO_SHARD_HEADER_BYTES, records = 0;
    for (uint32_t i = 0; i < nblocks; i++) {
        const uint8_t *e = idx + (size_t)i * EMO_SHARD_INDEX_ENTRY_BYTES;
        EmoShardBlockEntry b = {emo_get_u64(e), emo_get_u32(e + 8), emo_get_u32(e + 12), emo_get_u32(e + 16)};
        if (b.offset != expect || b.csize == 0 || b.usize > EMO_SHARD_MAX_BLOCK_BYTES) {
            free(idx);
            return emo_error_set(err, EMO_ERR_CORRUPT, "%s: index: block %u has a bad offset or size", p, i);
        }
        expect += b.csize;
        records += b.records;
        r->blocks[i] = b;
    }
    uint64_t total = emo_get_u64(idx + isize - 16);
    free(idx);
    if (expect != index_offset || records != total)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: index does not add up (blocks vs index offset or records)", p);
    r->nblocks = nblocks;
    r->records = total;
    return EMO_OK;
}

EmoStatus emo_shard_open(EmoShardReader **out, const char *path, EmoError *err)
{
    *out = NULL;
    EmoShardReader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    }
    r->fd = -1;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        EmoStatus s = emo_error_set(err, errno == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO, "%s: cannot open: %s",
                                    path, strerror(errno));
        emo_shard_close(r);
        return s;
    }
    struct stat st;
    if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        emo_shard_close(r);
        return emo_error_set(err, EMO_ERR_IO, "%s: not a regular file", path);
    }
    r->file_bytes = (uint64_t)st.st_size;
    EmoStatus s = emo_shard_load_index(r, err);
    if (s == EMO_OK && !(r->dctx = ZSTD_createDCtx()))
        s = emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    if (s != EMO_OK) {
        emo_shard_close(r);
        return s;
    }
    *out = r;
    return EMO_OK;
}

void emo_shard_close(EmoShardReader *r)
{
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    free(r->blocks);
    free(r->cbuf);
    free(r->path);
    free(r);
}

const char *emo_shard_path(const EmoShardReader *r) { return r->path; }
uint32_t emo_shard_num_blocks(const EmoShardReader *r) { return r->nblocks; }
uint64_t emo_shard_num_records(const EmoShardReader *r) { return r->records; }
uint64_t emo_shard_file_bytes(const EmoShardReader *r) { return r->file_bytes; }

const EmoShardBlockEntry *emo_shard_block(const EmoShardReader *r, uint32_t i)
{
    return i < r->nblocks ? &r->blocks[i] : NULL;
}

EmoStatus emo_shard_read_block(EmoShardReader *r, uint32_t i, uint8_t **buf, size_t *cap,
                               size_t *size, EmoError *err)
{
    if (i >= r->nblocks)
        return emo_error_set(err, EMO_ERR_ARG, "%s: block %u: no such block (%u blocks)", r->path, i, r->nblocks);
    const EmoShardBlockEntry *b = &r->blocks[i];
    if (!emo_grow(&r->cbuf, &r->ccap, b->csize) || !emo_grow(buf, cap, b->usize ? b->usize : 1))
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: block %u: out of memory", r->path, i);
    EmoStatus rs = emo_pread_all(r, r->cbuf, b->csize, b->offset, err);
    if (rs != EMO_OK) {
        /* Name the block too: a shard cut short under a long-running reader
         * is found here, and the user needs to know where the stream broke. */
        if (err) {
            char msg[EMO_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            const char *why = strncmp(msg, r->path, strlen(r->path)) == 0 ? msg + strlen(r->path) + 2 : msg;
            if (why > msg + strlen(msg)) why = msg;
            emo_error_set(err, rs, "%s: block %u: %s", r->path, i, why);
        }
        return rs;
    }
    /* Without the checksum flag zstd would accept a damaged frame silently. */
    /* Frame_Header_Descriptor bit 2 is Content_Checksum_flag (RFC 8878 3.1.1.1.1). */
    if (b->csize < 6 || emo_get_u32(r->cbuf) != ZSTD_MAGICNUMBER || !(r->cbuf[4] & 0x04) ||
        ZSTD_getFrameContentSize(r->cbuf, b->csize) != b->usize)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: block %u: damaged zstd frame header", r->path, i);
    size_t n = ZSTD_decompressDCtx(r->dctx, *buf, *cap, r->cbuf, b->csize);
    if (ZSTD_isError(n))
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: block %u: %s", r->path, i,
                             ZSTD_getErrorCode(n) == ZSTD_error_checksum_wrong ? "checksum mismatch"
                                                                                : ZSTD_getErrorName(n));
    if (n != b->usize)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: block %u: %zu bytes decompressed, index says %u", r->path,
                             i, n, b->usize);
    *size = n;
    return EMO_OK;
}

EmoStatus emo_shard_file_xxh64(const char *path, uint64_t *hash, uint64_t *bytes, EmoError *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return emo_error_set(err, errno == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO, "%s: cannot open: %s", path,
                             strerror(errno));
    XXH64_state_t *st = XXH64_createState();
    uint8_t *buf = malloc(1 << 20);
    if (!st || !buf) {
        XXH64_freeState(st);
        free(buf);
        close(fd);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    }
    XXH64_reset(st, 0);
    uint64_t total = 0;
    EmoStatus s = EMO_OK;
    for (;;) {
        ssize_t k = read(fd, buf, 1 << 20);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            s = emo_error_set(err, EMO_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (k == 0) break;
        XXH64_update(st, buf, (size_t)k);
        total += (uint64_t)k;
    }
    if (s == EMO_OK) {
        *hash = XXH64_digest(st);
        if (bytes) *bytes = total;
    }
    XXH64_freeState(st);
    free(buf);
    close(fd);
    return s;
}
