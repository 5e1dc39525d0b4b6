/* fuzz_shard.c: the shard reader (formats/emo_shard.h): header, trailer,
 * index, then every block's zstd frame and its column-wise payload
 * (emo_block_decode), as a dataset reader would walk them.
 *
 * emo_shard_open takes a path, so each input is written to one file in a
 * per-process scratch directory (in /dev/shm when there is one, so the
 * fuzzer is not disk-bound); the directory is removed at exit.
 *
 * Checksums would stop a fuzzer at the door, so when the index checksum is
 * the only thing wrong the target also re-runs the input with the checksum
 * fixed up: the inputs stay plain shard files (the corpus is real shards)
 * and the fuzzer still reaches the index and block parsing behind it. Block
 * payloads themselves are fuzzed directly by fuzz_block. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "emo_block.h"
#include "emo_fs.h"
#include "emo_shard.h"

static char *fuzz_dir;
static char *fuzz_path;

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

static void fuzz_cleanup(void)
{
    if (fuzz_path) unlink(fuzz_path);
    if (fuzz_dir) rmdir(fuzz_dir);
    free(fuzz_path);
    free(fuzz_dir);
}

static void fuzz_init(void)
{
    if (fuzz_dir) return;
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
    if (!base) base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/emo-fuzz-shard-XXXXXX", base);
    fuzz_check(mkdtemp(buf) != NULL);
    fuzz_dir = strdup(buf);
    fuzz_path = emo_path_join(fuzz_dir, "shard-00000.emo");
    atexit(fuzz_cleanup);
}

/* A plain write (no fsync, no rename): the file is scratch. */
static void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    fuzz_check(f != NULL);
    fuzz_check(size == 0 || fwrite(data, 1, size, f) == size);
    fuzz_check(fclose(f) == 0);
}

static uint64_t fuzz_get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Opens the file and reads every block; returns the open status. */
static EmoStatus fuzz_read_shard(int *checksum_only)
{
    EmoShardReader *r;
    EmoError err;
    EmoStatus s = emo_shard_open(&r, fuzz_path, &err);
    *checksum_only = s == EMO_ERR_CORRUPT && strstr(err.msg, "index checksum mismatch") != NULL;
    if (s != EMO_OK) {
        fuzz_check(r == NULL && err.status == s && strstr(err.msg, "shard-00000.emo") != NULL);
        return s;
    }
    uint32_t nb = emo_shard_num_blocks(r);
    uint64_t total = 0;
    uint8_t *buf = NULL;
    size_t cap = 0;
    EmoRecord *recs = NULL;
    uint8_t *pix = NULL;
    size_t rcap = 0, pixcap = 0;
    for (uint32_t i = 0; i < nb; i++) {
        const EmoShardBlockEntry *b = emo_shard_block(r, i);
        fuzz_check(b != NULL);
        fuzz_check(b->offset + b->csize <= emo_shard_file_bytes(r));
        total += b->records;
        size_t size = 0;
        s = emo_shard_read_block(r, i, &buf, &cap, &size, &err);
        if (s != EMO_OK) {
            /* Every block error names the shard and the block. */
            char want[32];
            snprintf(want, sizeof want, "block %u", i);
            fuzz_check(strstr(err.msg, "shard-00000.emo") && strstr(err.msg, want));
            continue;
        }
        fuzz_check(size == b->usize);
        size_t count;
        if (emo_block_decode(buf, size, &pix, &pixcap, &recs, &rcap, &count, &err) == EMO_OK) {
            for (size_t k = 0; k < count; k++) {
                const EmoRecord *rec = &recs[k];
                size_t npx = (size_t)rec->width * rec->height * rec->channels;
                fuzz_check(npx > 0 && ((rec->pixels >= buf && rec->pixels + npx <= buf + size) ||
                                       (pix && rec->pixels >= pix && rec->pixels + npx <= pix + pixcap)));
                fuzz_check(strlen(rec->source) < size && strlen(rec->params) < size);
            }
        }
    }
    fuzz_check(emo_shard_block(r, nb) == NULL);
    fuzz_check(total == emo_shard_num_records(r));
    free(buf);
    free(pix);
    free(recs);
    emo_shard_close(r);
    return EMO_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    fuzz_write(fuzz_path, data, size);
    int checksum_only;
    fuzz_read_shard(&checksum_only);
    if (checksum_only && size >= EMO_SHARD_TRAILER_BYTES) {
        /* The trailer was found and points at the index: fix its XXH64. */
        const uint8_t *t = data + size - EMO_SHARD_TRAILER_BYTES;
        uint64_t off = fuzz_get_le(t, 8), nb = fuzz_get_le(t + 8, 4);
        uint64_t isize = nb * EMO_SHARD_INDEX_ENTRY_BYTES + 16;
        if (off < size && isize <= size - off) {
            uint8_t *copy = malloc(size);
            fuzz_check(copy != NULL);
            memcpy(copy, data, size);
            uint64_t h = XXH64(copy + off, (size_t)isize - 8, 0);
            for (int i = 0; i < 8; i++) copy[off + isize - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
            fuzz_write(fuzz_path, copy, size);
            free(copy);
            fuzz_read_shard(&checksum_only);
            fuzz_check(!checksum_only);
        }
    }
    return 0;
}
