/* bench_shard_read.c: how fast and how small shards are, next to the JPEG
 * folder they were imported from, measured in one run on one thread.
 *
 *   bench_shard_read JPEG_DIR SHARD_DIR [REPS]
 *   bench_shard_read --codec SHARD_DIR [REPS]
 *
 * Prints (one "key value" line each): the JPEG folder's bytes, the shards'
 * bytes, the same faces as PNG level 9 (encoded here), libjpeg-turbo's
 * decode rate from memory (all files preloaded), the shard streaming rate
 * (emo_dataset_reader, no prefetch thread, page cache warm), the same with
 * prefetch, and the ratio; then the codec's parts per CPU-second on the
 * same records: block encode (MED + layout), zstd compression at levels 1
 * and 9, zstd decompression and block decode (MED + un-interleave) alone.
 * --codec prints only those. Rates are the median of REPS runs (default 3).
 * A benchmark: it prints, it never asserts (exit 1 only if it cannot run). */
#include <dirent.h>
#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "emo_block.h"
#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_image.h"
#include "emo_predict.h"
#include "emo_shard.h"

typedef struct {
    uint8_t **data;
    size_t *size;
    size_t n, cap;
} BenchFiles;

static double bench_clock(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double bench_now(void)
{
    return bench_clock(CLOCK_MONOTONIC);
}

/* CPU seconds of the calling thread: on a machine shared with other jobs
 * this is the steadier measure of single-thread work. */
static double bench_cpu(void)
{
    return bench_clock(CLOCK_THREAD_CPUTIME_ID);
}

static int bench_has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

/* Reads every .jpg/.jpeg file under dir (recursively) into memory. */
static void bench_collect(const char *dir, BenchFiles *f)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = emo_path_join(dir, e->d_name);
        struct stat st;
        if (p && stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                bench_collect(p, f);
            } else if (bench_has_suffix(p, ".jpg") || bench_has_suffix(p, ".jpeg")) {
                uint8_t *data;
                size_t n;
                if (emo_read_file(p, 0, &data, &n, NULL) == EMO_OK) {
                    if (f->n == f->cap) {
                        f->cap = f->cap ? f->cap * 2 : 1024;
                        f->data = realloc(f->data, f->cap * sizeof *f->data);
                        f->size = realloc(f->size, f->cap * sizeof *f->size);
                    }
                    f->data[f->n] = data;
                    f->size[f->n++] = n;
                }
            }
        }
        free(p);
    }
    closedir(d);
}

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
} BenchJpegErr;

static void bench_jpeg_exit(j_common_ptr cinfo)
{
    longjmp(((BenchJpegErr *)cinfo->err)->jmp, 1);
}

/* libjpeg-turbo decode of every file to gray, from memory; returns seconds
 * (wall; *cpu gets the thread's CPU seconds). */
static double bench_jpeg_pass(const BenchFiles *f, uint64_t *checksum, double *cpu)
{
    struct jpeg_decompress_struct cinfo;
    BenchJpegErr jerr;
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = bench_jpeg_exit;
    jpeg_create_decompress(&cinfo);
    static uint8_t out[4096 * 4];
    uint64_t sum = 0;
    double t = bench_now(), c = bench_cpu();
    for (size_t i = 0; i < f->n; i++) {
        if (setjmp(jerr.jmp)) {
            jpeg_abort_decompress(&cinfo);
            continue;
        }
        jpeg_mem_src(&cinfo, f->data[i], (unsigned long)f->size[i]);
        jpeg_read_header(&cinfo, TRUE);
        cinfo.out_color_space = JCS_GRAYSCALE;
        jpeg_start_decompress(&cinfo);
        if (cinfo.output_width > sizeof out) {
            jpeg_abort_decompress(&cinfo);
            continue;
        }
        while (cinfo.output_scanline < cinfo.output_height) {
            JSAMPROW row = out;
            jpeg_read_scanlines(&cinfo, &row, 1);
            if (cinfo.output_scanline == 1) sum += out[0]; /* first pixel, as the shard pass sums */
        }
        jpeg_finish_decompress(&cinfo);
    }
    t = bench_now() - t;
    *cpu = bench_cpu() - c;
    jpeg_destroy_decompress(&cinfo);
    *checksum = sum;
    return t;
}

/* Streams every record; returns seconds, or -1 on error. */
static double bench_shard_pass(const char *dir, int prefetch, uint64_t *records, uint64_t *checksum, double *cpu)
{
    EmoDatasetReader *r;
    EmoError err;
    EmoReaderOptions ro = {0, prefetch, 0};
    double t = bench_now(), c = bench_cpu();
    if (emo_dataset_reader_open(&r, dir, &ro, &err) != EMO_OK) {
        fprintf(stderr, "bench_shard_read: %s\n", err.msg);
        return -1;
    }
    EmoRecordBlock b;
    EmoStatus s;
    uint64_t n = 0, sum = 0;
    while ((s = emo_dataset_reader_next_block(r, &b, &err)) == EMO_OK) {
        for (size_t i = 0; i < b.count; i++) sum += b.records[i].pixels[0]; /* touch the data */
        n += b.count;
    }
    emo_dataset_reader_close(r);
    t = bench_now() - t;
    *cpu = bench_cpu() - c;
    if (s != EMO_ERR_EOF) {
        fprintf(stderr, "bench_shard_read: %s\n", err.msg);
        return -1;
    }
    *records = n;
    *checksum = sum;
    return t;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

/*-*** Codec parts, each timed alone on records held in memory ***/

typedef struct {
    EmoRecord *rec;
    size_t n;
} BenchRecords;

static int bench_load_records(const char *dir, BenchRecords *out)
{
    EmoDatasetReader *r;
    EmoError err;
    EmoReaderOptions ro = {0, 0, 0};
    if (emo_dataset_reader_open(&r, dir, &ro, &err) != EMO_OK) {
        fprintf(stderr, "bench_shard_read: %s\n", err.msg);
        return -1;
    }
    size_t cap = 0;
    EmoRecord rec;
    EmoStatus s;
    out->n = 0;
    out->rec = NULL;
    while ((s = emo_dataset_reader_next(r, &rec, &err)) == EMO_OK) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 4096;
            out->rec = realloc(out->rec, cap * sizeof *out->rec);
        }
        size_t npx = (size_t)rec.width * rec.height * rec.channels;
        uint8_t *px = malloc(npx);
        memcpy(px, rec.pixels, npx);
        rec.pixels = px;
        rec.source = strdup(rec.source);
        rec.params = strdup(rec.params);
        out->rec[out->n++] = rec;
    }
    emo_dataset_reader_close(r);
    return s == EMO_ERR_EOF ? 0 : -1;
}

static void bench_free_records(BenchRecords *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free((void *)b->rec[i].pixels);
        free((void *)b->rec[i].source);
        free((void *)b->rec[i].params);
    }
    free(b->rec);
}

/* One pass over all records in blocks of 256: CPU seconds of block encode
 * (cpu[0]) and of zstd at level 1 (cpu[1]) and 9 (cpu[2]); compressed
 * bytes at 1 and 9 in bytes[]. */
static void bench_encode_pass(const BenchRecords *b, double cpu[3], uint64_t bytes[2])
{
    EmoBlockBuilder bb = {0};
    EmoShardCompressor *c1, *c9;
    emo_shard_compressor_create(&c1, 1, NULL);
    emo_shard_compressor_create(&c9, 9, NULL);
    uint8_t *payload = NULL, *frame = NULL;
    size_t pcap = 0, fcap = 0, psize, fsize;
    cpu[0] = cpu[1] = cpu[2] = 0;
    bytes[0] = bytes[1] = 0;
    for (size_t i = 0; i < b->n; i += 256) {
        emo_block_builder_reset(&bb);
        for (size_t k = i; k < b->n && k < i + 256; k++) emo_block_builder_add(&bb, &b->rec[k], NULL);
        double t0 = bench_cpu();
        emo_block_encode(&bb, 1u << EMO_PRED_MED, &payload, &pcap, &psize, NULL);
        double t1 = bench_cpu();
        emo_shard_compress(c1, payload, psize, &frame, &fcap, &fsize, NULL);
        bytes[0] += fsize;
        double t2 = bench_cpu();
        emo_shard_compress(c9, payload, psize, &frame, &fcap, &fsize, NULL);
        bytes[1] += fsize;
        double t3 = bench_cpu();
        cpu[0] += t1 - t0;
        cpu[1] += t2 - t1;
        cpu[2] += t3 - t2;
    }
    free(payload);
    free(frame);
    emo_shard_compressor_free(c1);
    emo_shard_compressor_free(c9);
    emo_block_builder_free(&bb);
}

/* Every block of the dataset's shards: CPU seconds of reading +
 * decompressing (cpu[0]) and of block decode (cpu[1]). */
static int bench_decode_pass(const char *dir, const EmoManifest *m, double cpu[2], uint64_t *records)
{
    uint8_t *payload = NULL, *pix = NULL;
    size_t pcap = 0, pixcap = 0, rcap = 0, size, count;
    EmoRecord *recs = NULL;
    EmoError err;
    cpu[0] = cpu[1] = 0;
    *records = 0;
    for (int si = 0; si < m->num_shards; si++) {
        char *path = emo_path_join(dir, m->shards[si].name);
        EmoShardReader *r;
        if (emo_shard_open(&r, path, &err) != EMO_OK) {
            fprintf(stderr, "bench_shard_read: %s\n", err.msg);
            free(path);
            return -1;
        }
        free(path);
        for (uint32_t bi = 0; bi < emo_shard_num_blocks(r); bi++) {
            double t0 = bench_cpu();
            EmoStatus s = emo_shard_read_block(r, bi, &payload, &pcap, &size, &err);
            double t1 = bench_cpu();
            if (s == EMO_OK) s = emo_block_decode(payload, size, &pix, &pixcap, &recs, &rcap, &count, &err);
            double t2 = bench_cpu();
            if (s != EMO_OK) {
                fprintf(stderr, "bench_shard_read: %s\n", err.msg);
                emo_shard_close(r);
                return -1;
            }
            cpu[0] += t1 - t0;
            cpu[1] += t2 - t1;
            *records += count;
        }
        emo_shard_close(r);
    }
    free(payload);
    free(pix);
    free(recs);
    return 0;
}

static int bench_codec(const char *dir, int reps)
{
    BenchRecords b;
    EmoManifest m;
    EmoError err;
    if (emo_manifest_load(dir, &m, &err) != EMO_OK) {
        fprintf(stderr, "bench_shard_read: %s\n", err.msg);
        return -1;
    }
    if (bench_load_records(dir, &b) < 0) return -1;
    double enc[99], z1[99], z9[99], dz[99], dd[99];
    uint64_t bytes[2] = {0, 0}, nrec = 0;
    for (int k = 0; k < reps; k++) {
        double e[3], d[2];
        bench_encode_pass(&b, e, bytes);
        if (bench_decode_pass(dir, &m, d, &nrec) < 0) return -1;
        enc[k] = e[0];
        z1[k] = e[1];
        z9[k] = e[2];
        dz[k] = d[0];
        dd[k] = d[1];
    }
    const double n = (double)b.n;
    printf("codec_records %zu (per CPU-second, median of %d)\n", b.n, reps);
    printf("block_encode_per_s %.0f (MED + layout)\n", n / bench_median(enc, reps));
    printf("zstd1_compress_per_s %.0f (%llu bytes)\n", n / bench_median(z1, reps), (unsigned long long)bytes[0]);
    printf("zstd9_compress_per_s %.0f (%llu bytes)\n", n / bench_median(z9, reps), (unsigned long long)bytes[1]);
    printf("read_decompress_per_s %.0f (pread + zstd, the shards as stored)\n", (double)nrec / bench_median(dz, reps));
    printf("block_decode_per_s %.0f (MED + un-interleave)\n", (double)nrec / bench_median(dd, reps));
    bench_free_records(&b);
    emo_manifest_free(&m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--codec") == 0) {
        int reps = argc > 3 ? atoi(argv[3]) : 3;
        if (reps < 1 || reps > 99) reps = 3;
        return bench_codec(argv[2], reps) < 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: bench_shard_read JPEG_DIR SHARD_DIR [REPS] | --codec SHARD_DIR [REPS]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1 || reps > 99) reps = 3;
    BenchFiles f = {0};
    bench_collect(argv[1], &f);
    if (f.n == 0) {
        fprintf(stderr, "bench_shard_read: no JPEG files under %s\n", argv[1]);
        return 1;
    }
    uint64_t jpeg_bytes = 0;
    for (size_t i = 0; i < f.n; i++) jpeg_bytes += f.size[i];

    EmoManifest m;
    EmoError err;
    if (emo_manifest_load(argv[2], &m, &err) != EMO_OK) {
        fprintf(stderr, "bench_shard_read: %s\n", err.msg);
        return 1;
    }
    uint64_t shard_bytes = 0;
    for (int i = 0; i < m.num_shards; i++) shard_bytes += m.shards[i].bytes;

    /* PNG level 9 of the same faces, as the size yardstick the issue names. */
    uint64_t png_bytes = 0;
    for (size_t i = 0; i < f.n; i++) {
        EmoImage img;
        uint8_t *png;
        size_t n;
        if (emo_image_decode(f.data[i], f.size[i], NULL, NULL, &img, NULL) != EMO_OK) continue;
        if (emo_image_encode_png(&img, 9, &png, &n, NULL) == EMO_OK) {
            png_bytes += n;
            free(png);
        }
        emo_image_free(&img);
    }

    /* Interleave the measurements so machine noise hits both alike. */
    double tj[99], ts[99], tp[99], cj[99], cs[99], cp[99];
    uint64_t jsum = 0, ssum = 0, psum = 0, nrec = 0, nrec2 = 0;
    if (bench_shard_pass(argv[2], 0, &nrec, &ssum, &cs[0]) < 0) return 1; /* warm the page cache */
    for (int k = 0; k < reps; k++) {
        tj[k] = bench_jpeg_pass(&f, &jsum, &cj[k]);
        ts[k] = bench_shard_pass(argv[2], 0, &nrec, &ssum, &cs[k]);
        tp[k] = bench_shard_pass(argv[2], 1, &nrec2, &psum, &cp[k]);
        if (ts[k] < 0 || tp[k] < 0) return 1;
    }
    double j = (double)f.n / bench_median(tj, reps), jc = (double)f.n / bench_median(cj, reps);
    double s = (double)nrec / bench_median(ts, reps), sc = (double)nrec / bench_median(cs, reps);
    double p = (double)nrec2 / bench_median(tp, reps);
    printf("faces_jpeg %zu\n", f.n);
    printf("records_shards %llu\n", (unsigned long long)nrec);
    printf("raw_pixel_bytes %llu\n", (unsigned long long)m.raw_pixel_bytes);
    printf("jpeg_folder_bytes %llu\n", (unsigned long long)jpeg_bytes);
    printf("png9_bytes %llu\n", (unsigned long long)png_bytes);
    printf("shard_bytes %llu (%.3f of the JPEG folder, %.3f of PNG, %.3fx smaller than raw)\n",
           (unsigned long long)shard_bytes, (double)shard_bytes / (double)jpeg_bytes,
           (double)shard_bytes / (double)png_bytes, (double)m.raw_pixel_bytes / (double)shard_bytes);
    printf("jpeg_decode_per_s %.0f wall, %.0f per CPU-second (libjpeg-turbo, memory, 1 thread, median of %d)\n", j,
           jc, reps);
    printf("shard_read_per_s %.0f wall, %.0f per CPU-second (1 thread, no prefetch, median of %d)\n", s, sc, reps);
    printf("shard_read_prefetch_per_s %.0f wall (reader + 1 prefetch thread)\n", p);
    printf("shard_vs_jpeg %.1fx wall, %.1fx CPU\n", s / j, sc / jc);
    printf("checksums jpeg %llu shard %llu (%s)\n", (unsigned long long)jsum, (unsigned long long)ssum,
           jsum == ssum ? "same pixels" : "DIFFERENT");
    emo_manifest_free(&m);
    if (bench_codec(argv[2], reps) < 0) return 1;
    for (size_t i = 0; i < f.n; i++) free(f.data[i]);
    free(f.data);
    free(f.size);
    return 0;
}
