/* test_shard.c: pixel predictors (emo_predict.h), the column-wise block
 * layout (emo_block.h) and the shard container (emo_shard.h), including
 * every kind of damage a shard file can have. Inputs are generated here. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "emo_block.h"
#include "emo_fs.h"
#include "emo_predict.h"
#include "emo_shard.h"
#include "test_support.h"

/* Smooth image with edges and noise: exercises every branch of MED/Paeth. */
static void gen_image(uint8_t *px, int w, int h, int c, uint64_t *st)
{
    int gx = (int)(ts_rand(st) % 9) - 4, gy = (int)(ts_rand(st) % 9) - 4, base = (int)(ts_rand(st) % 256);
    int edge = (int)(ts_rand(st) % (unsigned)(w + 1));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                px[((size_t)y * w + x) * c + k] =
                    (uint8_t)(base + gx * x + gy * y + (x > edge ? 90 : 0) + (int)(ts_rand(st) % 13) + 40 * k);
}

/* The predictors written out from their definitions (SHARDS.md), as an
 * independent reference for the library's encoders and decoders. */
static int ref_pred(int p, int a, int b, int c)
{
    int mx = a > b ? a : b, mn = a < b ? a : b, g = a + b - c;
    int pa = abs(g - a), pb = abs(g - b), pc = abs(g - c);
    switch (p) {
    case EMO_PRED_LEFT: return a;
    case EMO_PRED_UP: return b;
    case EMO_PRED_GRAD: return g;
    case EMO_PRED_AVG: return (a + b) / 2;
    case EMO_PRED_PAETH: return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    case EMO_PRED_MED: return c >= mx ? mn : c <= mn ? mx : g;
    default: return 0;
    }
}

static void ref_encode(int p, const uint8_t *px, uint8_t *res, int w, int h, int c)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                size_t i = ((size_t)y * w + x) * c + k;
                int pred;
                if (p == EMO_PRED_NONE || (x == 0 && y == 0)) pred = 0;
                else if (y == 0) pred = px[i - c];
                else if (x == 0) pred = px[i - (size_t)w * c];
                else pred = ref_pred(p, px[i - c], px[i - (size_t)w * c], px[i - (size_t)w * c - c]);
                res[i] = (uint8_t)(px[i] - pred);
            }
}

START_TEST(predictors_match_reference_and_roundtrip)
{
    static const int sizes[][3] = {{48, 48, 1}, {1, 1, 1}, {17, 5, 1}, {5, 17, 1}, {33, 20, 3}, {64, 2, 1}, {3, 3, 4}};
    uint64_t st = 12345;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int w = sizes[si][0], h = sizes[si][1], c = sizes[si][2];
        size_t n = (size_t)w * h * c;
        uint8_t *px = malloc(n), *res = malloc(n), *ref = malloc(n), *scr = malloc(n);
        for (int trial = 0; trial < 4; trial++) {
            gen_image(px, w, h, c, &st);
            for (int p = 0; p < EMO_PRED__COUNT; p++) {
                emo_predict_encode((EmoPredictor)p, px, res, w, h, c);
                ref_encode(p, px, ref, w, h, c);
                ck_assert_msg(memcmp(res, ref, n) == 0, "%s encode differs at %dx%dx%d", emo_predict_name(p), w, h, c);
                emo_predict_decode((EmoPredictor)p, res, w, h, c);
                ck_assert_msg(memcmp(res, px, n) == 0, "%s roundtrip fails at %dx%dx%d", emo_predict_name(p), w, h, c);
            }
            EmoPredictor best = emo_predict_choose(0x7f, px, res, scr, w, h, c);
            ref_encode(best, px, ref, w, h, c);
            ck_assert(memcmp(res, ref, n) == 0);
            emo_predict_decode(best, res, w, h, c);
            ck_assert(memcmp(res, px, n) == 0);
        }
        free(px); free(res); free(ref); free(scr);
    }
    /* A horizontal ramp: left differences are constant, raw values are not. */
    uint8_t ramp[64], res[64], scr[64];
    for (int i = 0; i < 64; i++) ramp[i] = (uint8_t)(3 * (i % 8));
    ck_assert_int_eq(emo_predict_choose((1u << EMO_PRED_NONE) | (1u << EMO_PRED_LEFT), ramp, res, scr, 8, 8, 1),
                     EMO_PRED_LEFT);
}
END_TEST

START_TEST(med_x32_matches_scalar)
{
    static const int sizes[][2] = {{48, 48}, {1, 1}, {7, 3}, {3, 9}, {31, 17}};
    uint64_t st = 777;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int w = sizes[si][0], h = sizes[si][1];
        size_t n = (size_t)w * h;
        uint8_t *px = malloc(32 * n), *res = malloc(n), *inter = malloc(32 * n);
        for (int k = 0; k < 32; k++) {
            gen_image(px + k * n, w, h, 1, &st);
            ref_encode(EMO_PRED_MED, px + k * n, res, w, h, 1);
            for (size_t j = 0; j < n; j++) inter[j * 32 + k] = res[j];
        }
        emo_predict_decode_med_x32(inter, w, h);
        for (int k = 0; k < 32; k++)
            for (size_t j = 0; j < n; j++) ck_assert_uint_eq(inter[j * 32 + k], px[k * n + j]);
        free(px); free(res); free(inter);
    }
}
END_TEST

/* Image kinds for the SIMD == scalar tests: 0 real-like (gen_image), 1
 * uniform noise (every MED branch and mod-256 wrap), 2 flat, 3 0/255 checker
 * (extreme differences), 4 a face-like blob with a gradient background. */
static void gen_kind(uint8_t *px, int w, int h, int kind, uint64_t *st)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *o = px + (size_t)y * w + x;
            int cx = x - w / 2, cy = y - h / 2;
            switch (kind) {
            case 1: *o = (uint8_t)ts_rand(st); break;
            case 2: *o = 137; break;
            case 3: *o = (x + y) % 2 ? 255 : 0; break;
            case 4: *o = (uint8_t)(cx * cx + cy * cy < w * h / 6 ? 200 - (cx * cx + cy * cy) / 4 : 30 + 2 * y);
                    *o = (uint8_t)(*o + (int)(ts_rand(st) % 5)); break;
            default: break;
            }
        }
    if (kind == 0) gen_image(px, w, h, 1, st);
}

START_TEST(med_x32_encode_matches_scalar)
{
    /* Widths below, at and above 16 and 32 (tile and vector steps), 1-pixel
     * images, pixel counts that are and are not multiples of 16. */
    static const int sizes[][2] = {{48, 48}, {1, 1}, {2, 1}, {1, 2}, {7, 3}, {3, 9}, {31, 17}, {16, 1},
                                   {17, 1}, {32, 2}, {33, 33}, {64, 64}, {100, 3}, {1, 40}, {65, 5}};
    uint64_t st = 4711;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const int w = sizes[si][0], h = sizes[si][1];
        const size_t n = (size_t)w * h;
        for (int kind = 0; kind < 6; kind++) {
            /* kind 5: every image of a different kind (mixed content) */
            uint8_t *px = malloc(32 * (n + 3)), *res = malloc(n), *want = malloc(32 * n), *got = malloc(32 * n + 1);
            uint8_t *split = malloc(32 * n);
            const uint8_t *src[EMO_PREDICT_LANES];
            for (int k = 0; k < 32; k++) {
                /* Odd offsets: the images need not be aligned or adjacent. */
                uint8_t *img = px + k * (n + 3) + (size_t)(k % 3);
                gen_kind(img, w, h, kind < 5 ? kind : k % 5, &st);
                src[k] = img;
                ref_encode(EMO_PRED_MED, img, res, w, h, 1);
                for (size_t j = 0; j < n; j++) want[j * 32 + k] = res[j];
                /* The one-image encoder (32-pixel rows) against the reference too. */
                emo_predict_encode(EMO_PRED_MED, img, got, w, h, 1);
                ck_assert_msg(memcmp(got, res, n) == 0, "MED encode %dx%d kind %d image %d", w, h, kind, k);
            }
            got[32 * n] = 0xa5; /* canary: nothing written past the end */
            emo_predict_encode_med_x32(src, got, w, h);
            ck_assert_msg(memcmp(got, want, 32 * n) == 0, "x32 encode differs at %dx%d kind %d", w, h, kind);
            ck_assert_uint_eq(got[32 * n], 0xa5);
            /* Decode both ways back to the pixels (inter: the pixels interleaved). */
            uint8_t *inter = malloc(32 * n);
            for (int k = 0; k < 32; k++)
                for (size_t j = 0; j < n; j++) inter[j * 32 + k] = src[k][j];
            emo_predict_decode_med_x32_split(got, split, w, h);
            for (int k = 0; k < 32; k++)
                ck_assert_msg(memcmp(split + k * n, src[k], n) == 0, "split decode %dx%d kind %d image %d", w, h,
                              kind, k);
            ck_assert_msg(memcmp(got, inter, 32 * n) == 0, "split decode leaves %dx%d kind %d", w, h, kind);
            memcpy(got, want, 32 * n);
            emo_predict_decode_med_x32(got, w, h);
            ck_assert_msg(memcmp(got, inter, 32 * n) == 0, "x32 decode %dx%d kind %d", w, h, kind);
            free(px); free(res); free(want); free(got); free(split); free(inter);
        }
    }
}
END_TEST

/* The pixel section a block must hold, from the reference encoder and the
 * grouping rule as SHARDS.md states it (MED only). */
static uint8_t *ref_block_pixels(const EmoBlockBuilder *b, size_t *size)
{
    uint8_t *out = malloc(b->pixel_bytes + 1), *p = out;
    const size_t n = b->count;
    for (size_t i = 0; i < n;) {
        const EmoBlockEntry *e = &b->entries[i];
        const size_t npx = (size_t)e->width * e->height * e->channels;
        int group = i % 32 == 0 && i + 32 <= n;
        for (size_t k = i; group && k < i + 32; k++)
            group = b->entries[k].channels == 1 && b->entries[k].width == e->width &&
                    b->entries[k].height == e->height;
        if (group) {
            uint8_t *res = malloc(npx);
            for (size_t k = 0; k < 32; k++) {
                ref_encode(EMO_PRED_MED, b->arena + b->entries[i + k].pixels_off, res, e->width, e->height, 1);
                for (size_t j = 0; j < npx; j++) p[j * 32 + k] = res[j];
            }
            free(res);
            p += 32 * npx;
            i += 32;
        } else {
            ref_encode(EMO_PRED_MED, b->arena + e->pixels_off, p, e->width, e->height, e->channels);
            p += npx;
            i++;
        }
    }
    *size = (size_t)(p - out);
    return out;
}

START_TEST(block_encode_matches_scalar_layout)
{
    /* Block sizes around the group size; shapes: all 48x48, a size change
     * inside the first group, a color record in the second, 32 small then
     * 32 large, and a size that changes every record. */
    static const size_t counts[] = {1, 31, 32, 33, 63, 64, 65, 96, 100, 256};
    uint64_t st = 99;
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        for (int shape = 0; shape < 5; shape++) {
            const size_t n = counts[ci];
            EmoBlockBuilder b = {0};
            uint8_t *px = malloc(64 * 64 * 3);
            for (size_t i = 0; i < n; i++) {
                int w = 48, h = 48, c = 1;
                if (shape == 1 && i == 5) { w = 47; h = 48; }
                if (shape == 2 && i == 40) c = 3;
                if (shape == 3) { w = i < 32 ? 13 : 64; h = i < 32 ? 7 : 64; }
                if (shape == 4) { w = 1 + (int)(i % 40); h = 1 + (int)(i % 23); }
                if (c == 1) gen_kind(px, w, h, (int)(i % 5), &st);
                else gen_image(px, w, h, c, &st);
                EmoRecord r = {0, 0, (int32_t)(i % 7), (uint16_t)w, (uint16_t)h, (uint8_t)c, 0, -1, "s", "", px};
                ck_assert_int_eq(emo_block_builder_add(&b, &r, NULL), EMO_OK);
            }
            uint8_t *payload = NULL, *pix = NULL;
            size_t cap = 0, size = 0, pixcap = 0, rcap = 0, count = 0, want_size;
            EmoRecord *recs = NULL;
            EmoError err;
            ck_assert_int_eq(emo_block_encode(&b, 1u << EMO_PRED_MED, &payload, &cap, &size, &err), EMO_OK);
            uint8_t *want = ref_block_pixels(&b, &want_size);
            ck_assert_uint_eq(want_size, b.pixel_bytes);
            ck_assert_msg(memcmp(payload + size - want_size, want, want_size) == 0,
                          "block pixels differ: %zu records, shape %d", n, shape);
            ck_assert_msg(emo_block_decode(payload, size, &pix, &pixcap, &recs, &rcap, &count, &err) == EMO_OK, "%s",
                          err.msg);
            ck_assert_uint_eq(count, n);
            int same = 1;
            for (size_t i = 0; i < n; i++) {
                const EmoBlockEntry *e = &b.entries[i];
                same &= memcmp(recs[i].pixels, b.arena + e->pixels_off, (size_t)e->width * e->height * e->channels) == 0;
            }
            ck_assert_msg(same, "block decode: %zu records, shape %d", n, shape);
            free(want); free(payload); free(pix); free(recs); free(px);
            emo_block_builder_free(&b);
        }
    }
}
END_TEST

/* Builds a block of `n` records of mixed shapes (groups and singles). */
static void fill_builder(EmoBlockBuilder *b, uint8_t **store, size_t n, int mixed, uint64_t seed)
{
    uint64_t st = seed;
    *store = malloc(n * 64 * 64 * 3);
    for (size_t i = 0; i < n; i++) {
        int w = 48, h = 48, c = 1;
        if (mixed && i >= 40 && i < 45) { w = 13; h = 7; }
        if (mixed && i == 70) c = 3;
        uint8_t *px = *store + i * 64 * 64 * 3;
        gen_image(px, w, h, c, &st);
        char src[64];
        snprintf(src, sizeof src, "dir/face_%zu.png", i);
        EmoRecord r = {0, i % 2 ? ts_rand(&st) : 0, (int32_t)(i % 8) - 1, (uint16_t)w, (uint16_t)h, (uint8_t)c,
                       (uint8_t)(i % 2), (int64_t)i - 3, src, i % 2 ? "flip=1" : "", px};
        ck_assert_int_eq(emo_block_builder_add(b, &r, NULL), EMO_OK);
    }
}

START_TEST(block_roundtrip_groups_and_singles)
{
    for (int mixed = 0; mixed < 2; mixed++) {
        for (int predset = 0; predset < 2; predset++) {
            EmoBlockBuilder b = {0};
            uint8_t *store;
            const size_t n = 100;
            fill_builder(&b, &store, n, mixed, 5 + (uint64_t)mixed);
            uint32_t mask = predset ? 0x7f : (1u << EMO_PRED_MED);
            uint8_t *payload = NULL, *pix = NULL;
            size_t cap = 0, size = 0, pixcap = 0, rcap = 0, count = 0;
            EmoRecord *recs = NULL;
            EmoError err;
            ck_assert_int_eq(emo_block_encode(&b, mask, &payload, &cap, &size, &err), EMO_OK);
            ck_assert_msg(emo_block_decode(payload, size, &pix, &pixcap, &recs, &rcap, &count, &err) == EMO_OK, "%s",
                          err.msg);
            ck_assert_uint_eq(count, n);
            for (size_t i = 0; i < n; i++) {
                const EmoBlockEntry *e = &b.entries[i];
                size_t npx = (size_t)e->width * e->height * e->channels;
                const uint8_t *want = b.arena + e->pixels_off;
                ck_assert_uint_eq(recs[i].width, e->width);
                ck_assert_uint_eq(recs[i].channels, e->channels);
                ck_assert_uint_eq(recs[i].id, XXH64(want, npx, 0));
                ck_assert_uint_eq(recs[i].parent_id, e->parent_id);
                ck_assert_int_eq(recs[i].label, (int)(i % 8) - 1);
                ck_assert_int_eq(recs[i].source_row, (int64_t)i - 3);
                char src[64];
                snprintf(src, sizeof src, "dir/face_%zu.png", i);
                ck_assert_str_eq(recs[i].source, src);
                ck_assert_str_eq(recs[i].params, i % 2 ? "flip=1" : "");
                ck_assert_msg(memcmp(recs[i].pixels, want, npx) == 0, "pixels of record %zu", i);
            }
            free(payload); free(pix); free(recs); free(store);
            emo_block_builder_free(&b);
        }
    }
}
END_TEST

START_TEST(block_decode_survives_damage)
{
    /* Random damage (after zstd's checksum, only a bug could produce it)
     * must give an error or records, never a crash or overread (ASan). */
    EmoBlockBuilder b = {0};
    uint8_t *store;
    fill_builder(&b, &store, 70, 1, 9);
    uint8_t *payload = NULL, *work = NULL, *pix = NULL;
    size_t cap = 0, size = 0, pixcap = 0, rcap = 0, count;
    EmoRecord *recs = NULL;
    ck_assert_int_eq(emo_block_encode(&b, 1u << EMO_PRED_MED, &payload, &cap, &size, NULL), EMO_OK);
    uint64_t st = 4242;
    int errors = 0;
    for (int t = 0; t < 3000; t++) {
        size_t n = t % 10 == 0 ? (size_t)(ts_rand(&st) % size) : size; /* sometimes truncated */
        work = realloc(work, size);
        memcpy(work, payload, size);
        /* Damage the metadata region mostly: that is where lengths live. */
        size_t lim = t % 2 ? 1200 : n;
        for (int k = 0; k < 1 + t % 3 && lim && n; k++)
            work[ts_rand(&st) % (lim < n ? lim : n)] ^= (uint8_t)(1u << (ts_rand(&st) % 8));
        EmoError err;
        EmoStatus s = emo_block_decode(work, n, &pix, &pixcap, &recs, &rcap, &count, &err);
        if (s != EMO_OK) {
            ck_assert_int_eq(s, EMO_ERR_CORRUPT);
            errors++;
        }
    }
    ck_assert_int_gt(errors, 100);
    free(payload); free(work); free(pix); free(recs); free(store);
    emo_block_builder_free(&b);
}
END_TEST

/*-*** Shard container ***/

static char *write_shard(const char *dir, int nblocks, uint64_t *bytes, uint64_t *xxh)
{
    char *path = emo_path_join(dir, "s.emo");
    EmoShardWriter *w;
    EmoShardCompressor *c;
    EmoError err;
    ck_assert_int_eq(emo_shard_writer_open(&w, path, &err), EMO_OK);
    ck_assert_int_eq(emo_shard_compressor_create(&c, 3, &err), EMO_OK);
    uint8_t *frame = NULL;
    size_t fcap = 0, fsize;
    uint8_t payload[5000];
    for (int b = 0; b < nblocks; b++) {
        for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * (size_t)(b + 1) / 7);
        ck_assert_int_eq(emo_shard_compress(c, payload, sizeof payload, &frame, &fcap, &fsize, &err), EMO_OK);
        ck_assert_int_eq(emo_shard_writer_add(w, frame, fsize, sizeof payload, (uint32_t)(10 + b), &err), EMO_OK);
    }
    ck_assert_int_eq(emo_shard_writer_close(w, bytes, xxh, &err), EMO_OK);
    emo_shard_compressor_free(c);
    free(frame);
    return path;
}

static EmoStatus open_shard(const char *path, EmoError *err)
{
    EmoShardReader *r;
    EmoStatus s = emo_shard_open(&r, path, err);
    if (s == EMO_OK) emo_shard_close(r);
    return s;
}

START_TEST(shard_roundtrip_and_index)
{
    char *dir = ts_tempdir();
    uint64_t bytes, xxh;
    char *path = write_shard(dir, 5, &bytes, &xxh);
    size_t n;
    char *data = ts_slurp(path, &n);
    ck_assert_uint_eq(n, bytes);
    ck_assert_uint_eq(XXH64(data, n, 0), xxh);
    ck_assert(memcmp(data, "EMOSHARD", 8) == 0);
    ck_assert(memcmp(data + n - 8, "EMOSHEND", 8) == 0);
    uint64_t h2, b2;
    ck_assert_int_eq(emo_shard_file_xxh64(path, &h2, &b2, NULL), EMO_OK);
    ck_assert_uint_eq(h2, xxh);
    ck_assert_uint_eq(b2, n);

    EmoShardReader *r;
    EmoError err;
    ck_assert_int_eq(emo_shard_open(&r, path, &err), EMO_OK);
    ck_assert_uint_eq(emo_shard_num_blocks(r), 5);
    ck_assert_uint_eq(emo_shard_num_records(r), 10 + 11 + 12 + 13 + 14);
    uint8_t *buf = NULL;
    size_t cap = 0, size;
    for (int b = 4; b >= 0; b--) { /* random access: any order */
        ck_assert_int_eq(emo_shard_read_block(r, (uint32_t)b, &buf, &cap, &size, &err), EMO_OK);
        ck_assert_uint_eq(size, 5000);
        for (size_t i = 0; i < size; i++) ck_assert_uint_eq(buf[i], (uint8_t)(i * (size_t)(b + 1) / 7));
        ck_assert_uint_eq(emo_shard_block(r, (uint32_t)b)->records, 10 + (uint32_t)b);
    }
    ck_assert_int_eq(emo_shard_read_block(r, 5, &buf, &cap, &size, &err), EMO_ERR_ARG);
    free(buf);
    emo_shard_close(r);
    free(data);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(shard_damage_is_named)
{
    char *dir = ts_tempdir();
    uint64_t bytes, xxh;
    char *path = write_shard(dir, 3, &bytes, &xxh);
    size_t n;
    uint8_t *good = (uint8_t *)ts_slurp(path, &n);
    uint8_t *bad = malloc(n);
    EmoError err;

    /* Truncated anywhere: corrupt, named, says truncated. */
    size_t cuts[] = {n - 1, n - 24, n / 2, 40, 31, 5};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ts_write(path, good, cuts[i]);
        ck_assert_int_eq(open_shard(path, &err), EMO_ERR_CORRUPT);
        ck_assert_ptr_nonnull(strstr(err.msg, "s.emo"));
        ck_assert_msg(strstr(err.msg, "truncated"), "%s", err.msg);
    }
    /* Zero length. */
    ts_write(path, "", 0);
    ck_assert_int_eq(open_shard(path, &err), EMO_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "s.emo"));
    ck_assert_ptr_nonnull(strstr(err.msg, "empty"));
    /* Not a shard. */
    ts_write(path, "GIF89a this is not a shard at all, really not a shard", 53);
    ck_assert_int_eq(open_shard(path, &err), EMO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "s.emo"));
    /* Newer version. */
    memcpy(bad, good, n);
    bad[8] = EMO_SHARD_VERSION + 1;
    ts_write(path, bad, n);
    ck_assert_int_eq(open_shard(path, &err), EMO_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(err.msg, "s.emo"));
    /* Flipped byte in the index. */
    memcpy(bad, good, n);
    bad[n - 24 - 16 - 10] ^= 0x01;
    ts_write(path, bad, n);
    ck_assert_int_eq(open_shard(path, &err), EMO_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "index checksum"));
    /* Flipped byte inside block 1: the index is fine, reading block 1 fails. */
    EmoShardReader *r;
    ts_write(path, good, n);
    ck_assert_int_eq(emo_shard_open(&r, path, &err), EMO_OK);
    const EmoShardBlockEntry e1 = *emo_shard_block(r, 1);
    emo_shard_close(r);
    for (uint32_t off = 0; off < e1.csize; off += 7) {
        memcpy(bad, good, n);
        bad[e1.offset + off] ^= 0x40;
        ts_write(path, bad, n);
        ck_assert_int_eq(emo_shard_open(&r, path, &err), EMO_OK);
        uint8_t *buf = NULL;
        size_t cap = 0, size;
        ck_assert_int_eq(emo_shard_read_block(r, 0, &buf, &cap, &size, &err), EMO_OK);
        EmoStatus s = emo_shard_read_block(r, 1, &buf, &cap, &size, &err);
        ck_assert_msg(s == EMO_ERR_CORRUPT, "flip at %u not detected", off);
        ck_assert_msg(strstr(err.msg, "s.emo: block 1"), "%s", err.msg);
        ck_assert_int_eq(emo_shard_read_block(r, 2, &buf, &cap, &size, &err), EMO_OK);
        free(buf);
        emo_shard_close(r);
    }
    free(bad);
    free(good);
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(abort_leaves_nothing)
{
    char *dir = ts_tempdir();
    char *path = emo_path_join(dir, "x.emo");
    EmoShardWriter *w;
    ck_assert_int_eq(emo_shard_writer_open(&w, path, NULL), EMO_OK);
    ck_assert_int_eq(emo_shard_writer_add(w, "abc", 3, 3, 1, NULL), EMO_OK);
    emo_shard_writer_abort(w);
    char *s = ts_slurp(path, NULL);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(ts_run(NULL, "test -z \"$(ls -A '%s')\"", dir), 0); /* no temp file either */
    free(path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shard");
    TCase *tc = tcase_create("shard");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, predictors_match_reference_and_roundtrip);
    tcase_add_test(tc, med_x32_matches_scalar);
    tcase_add_test(tc, med_x32_encode_matches_scalar);
    tcase_add_test(tc, block_encode_matches_scalar_layout);
    tcase_add_test(tc, block_roundtrip_groups_and_singles);
    tcase_add_test(tc, block_decode_survives_damage);
    tcase_add_test(tc, shard_roundtrip_and_index);
    tcase_add_test(tc, shard_damage_is_named);
    tcase_add_test(tc, abort_leaves_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
