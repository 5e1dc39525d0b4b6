/* emoshard: look inside datasets of shards, check them, and move faces in
 * and out of them (ls, stats, verify, grid, export, import).
 *
 * A thin program over formats/: emo_dataset.h streams records, emo_shard.h
 * and emo_block.h give verify its block-level view, emo_image.h reads and
 * writes PNG/JPEG. Only this file prints and picks exit codes. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emo_block.h"
#include "emo_dataset.h"
#include "emo_font.h"
#include "emo_fs.h"
#include "emo_image.h"
#include "emo_record.h"
#include "emo_shard.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

#define IMPORT_MAX_PIXELS_DEFAULT (2048u * 2048u)

static void usage(FILE *f)
{
    fprintf(f,
"usage: emoshard COMMAND [options] ARGS\n"
"\n"
"Looks inside emo datasets (a directory of manifest.json + shard-NNNNN.emo,\n"
"see formats/SHARDS.md), checks them, and converts image folders to and from\n"
"them. Where DIR is not a dataset but holds datasets as subdirectories\n"
"(e.g. train/ val/ test/), stats and verify report each of them.\n"
"\n"
"Commands:\n"
"  ls DIR            one TSV line per record, in stored order:\n"
"                      shard  block  index  id(hex)  label  WxHxC  source\n"
"  stats DIR         records per class (per split when DIR holds several\n"
"                    datasets), unlabeled and augmented counts, image size,\n"
"                    shard bytes, bytes per record, compression ratio vs raw\n"
"  verify DIR        checks everything: manifest, each shard's size and\n"
"                    XXH64, header, index checksum and block offsets, every\n"
"                    block's zstd checksum and layout, record counts, class\n"
"                    counts, and each record id against its pixels. Faults go\n"
"                    to stderr, one line each naming shard and block; exit 1\n"
"                    if any. Otherwise prints a summary and exits 0.\n"
"  grid DIR -o FILE.png [--n N] [--cols C] [--seed S]\n"
"                    contact sheet of N records (default 64) in C columns\n"
"                    (default 8), each labelled with its class. Without --seed\n"
"                    the first N records; with it a seeded uniform sample.\n"
"  export DIR -o FOLDER\n"
"                    writes every record as FOLDER/<class>/<id>.png (class\n"
"                    'unlabeled' for records without a label)\n"
"  import FOLDER -o DIR [--threads T] [--level L] [--block-records N]\n"
"                    [--shard-records N] [--max-pixels N] [--strict]\n"
"                    makes a dataset of already-cropped faces: each\n"
"                    subfolder of FOLDER named after a class (any alias\n"
"                    emo_class_from_name knows: angry/anger, happy/happiness,\n"
"                    ...; 'unlabeled' for none) holds .png/.jpg/.jpeg files;\n"
"                    files directly in FOLDER are unlabeled. Files are taken\n"
"                    in name order, decoded to 8-bit gray, not resized, no\n"
"                    face detection. A file that cannot be read is reported\n"
"                    on stderr (one line naming the file and the reason) and\n"
"                    skipped; the run continues. Subfolders that are not class\n"
"                    names are reported and skipped.\n"
"                      --threads T        compression threads (default: all\n"
"                                         cores; output is identical for any T)\n"
"                      --level L          zstd level (default %d)\n"
"                      --block-records N  records per block (default 256)\n"
"                      --shard-records N  records per shard (default 8192)\n"
"                      --max-pixels N     larger images are skipped (default %u)\n"
"                      --strict           exit 1 if any file was skipped\n"
"\n"
"Options for every command:\n"
"  -q, --quiet       no summary or progress on stderr\n"
"  -h, --help        this text\n"
"  -V, --version     print the version\n"
"Progress goes to stderr, only when stderr is a terminal.\n"
"\n"
"Exit status: 0 ok, 1 failed (a damaged dataset, an unreadable input, a\n"
"write error), 2 usage error.\n",
            EMO_SHARD_DEFAULT_LEVEL, IMPORT_MAX_PIXELS_DEFAULT);
}

typedef struct {
    int quiet;
    int progress;       /* stderr is a TTY and not quiet */
    const char *out;    /* -o */
    int n, cols;        /* grid */
    uint64_t seed;
    int have_seed;
    int threads, level, strict;
    uint32_t block_records, shard_records;
    uint64_t max_pixels;
} Opts;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("emoshard: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_FAILED;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-' || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/*-*** Datasets in DIR: DIR itself, or its subdirectories with a manifest ***/

typedef struct {
    char *name;   /* split name ("." for DIR itself) */
    char *path;
} DsRef;

static int ds_cmp(const void *a, const void *b)
{
    return strcmp(((const DsRef *)a)->name, ((const DsRef *)b)->name);
}

static int has_manifest(const char *dir)
{
    char *p = emo_path_join(dir, EMO_MANIFEST_NAME);
    struct stat st;
    int ok = p && stat(p, &st) == 0;
    free(p);
    return ok;
}

/* Fills *refs; returns the count (0: none found, with the reason printed). */
static size_t find_datasets(const char *dir, DsRef **refs)
{
    *refs = NULL;
    if (has_manifest(dir)) {
        *refs = calloc(1, sizeof **refs);
        (*refs)[0].name = strdup(".");
        (*refs)[0].path = strdup(dir);
        return 1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fail("%s: %s", dir, strerror(errno));
        return 0;
    }
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = emo_path_join(dir, e->d_name);
        if (p && has_manifest(p)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                *refs = realloc(*refs, cap * sizeof **refs);
            }
            (*refs)[n].name = strdup(e->d_name);
            (*refs)[n++].path = p;
        } else {
            free(p);
        }
    }
    closedir(d);
    if (n == 0) fail("%s/" EMO_MANIFEST_NAME ": missing: %s is not a dataset (and holds none)", dir, dir);
    qsort(*refs, n, sizeof **refs, ds_cmp);
    return n;
}

static void free_datasets(DsRef *refs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(refs[i].name);
        free(refs[i].path);
    }
    free(refs);
}

/*-*** ls ***/

static int cmd_ls(const char *dir, const Opts *o)
{
    (void)o;
    EmoDatasetReader *r;
    EmoError err;
    EmoReaderOptions ro = {0, 1, 0};
    if (emo_dataset_reader_open(&r, dir, &ro, &err) != EMO_OK) return fail("%s", err.msg);
    const EmoManifest *m = emo_dataset_reader_manifest(r);
    EmoRecordBlock b;
    EmoStatus s;
    while ((s = emo_dataset_reader_next_block(r, &b, &err)) == EMO_OK) {
        for (size_t i = 0; i < b.count; i++) {
            const EmoRecord *rec = &b.records[i];
            printf("%s\t%d\t%zu\t%016" PRIx64 "\t%s\t%ux%ux%u\t%s\n", m->shards[b.shard].name, b.block, i, rec->id,
                   emo_class_name(rec->label), rec->width, rec->height, rec->channels, rec->source);
        }
    }
    emo_dataset_reader_close(r);
    if (s != EMO_ERR_EOF) return fail("%s", err.msg);
    if (fflush(stdout) != 0) return fail("stdout: %s", strerror(errno));
    return EXIT_OK;
}

/*-*** stats ***/

static int cmd_stats(const char *dir, const Opts *o)
{
    (void)o;
    DsRef *refs;
    size_t n = find_datasets(dir, &refs);
    if (n == 0) return EXIT_FAILED;
    EmoManifest *ms = calloc(n, sizeof *ms);
    int rc = EXIT_OK;
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        EmoError err;
        if (emo_manifest_load(refs[i].path, &ms[i], &err) != EMO_OK) rc = fail("%s", err.msg);
    }
    if (rc == EXIT_OK) {
        int multi = n > 1;
        printf("%-12s", "split");
        for (size_t i = 0; i < n; i++) printf(" %14s", refs[i].name);
        if (multi) printf(" %14s", "total");
        printf("\n");
        uint64_t tot_rec = 0, tot_bytes = 0, tot_raw = 0;
        for (size_t i = 0; i < n; i++) {
            tot_rec += ms[i].num_records;
            tot_raw += ms[i].raw_pixel_bytes;
            for (int k = 0; k < ms[i].num_shards; k++) tot_bytes += ms[i].shards[k].bytes;
        }
        for (int c = -1; c < EMO_NUM_CLASSES + 2; c++) {
            const char *label = c < 0 ? "records" : c < EMO_NUM_CLASSES ? ms[0].class_names[c]
                                                  : c == EMO_NUM_CLASSES ? "unlabeled" : "augmented";
            printf("%-12s", label);
            uint64_t sum = 0;
            for (size_t i = 0; i < n; i++) {
                uint64_t v = c < 0 ? ms[i].num_records : c < EMO_NUM_CLASSES ? ms[i].class_counts[c]
                             : c == EMO_NUM_CLASSES ? ms[i].unlabeled : ms[i].augmented;
                sum += v;
                double share = ms[i].num_records ? 100.0 * (double)v / (double)ms[i].num_records : 0;
                if (c < 0) printf(" %14" PRIu64, v);
                else printf(" %7" PRIu64 " %5.1f%%", v, share);
            }
            if (multi) {
                if (c < 0) printf(" %14" PRIu64, sum);
                else printf(" %7" PRIu64 " %5.1f%%", sum, tot_rec ? 100.0 * (double)sum / (double)tot_rec : 0);
            }
            printf("\n");
        }
        printf("%-12s", "image");
        for (size_t i = 0; i < n; i++) {
            char buf[32];
            if (ms[i].width) snprintf(buf, sizeof buf, "%dx%dx%d", ms[i].width, ms[i].height, ms[i].channels);
            else snprintf(buf, sizeof buf, "mixed");
            printf(" %14s", buf);
        }
        printf("\n%-12s", "shards");
        for (size_t i = 0; i < n; i++) printf(" %14d", ms[i].num_shards);
        printf("\n%-12s", "bytes");
        for (size_t i = 0; i < n; i++) {
            uint64_t b = 0;
            for (int k = 0; k < ms[i].num_shards; k++) b += ms[i].shards[k].bytes;
            printf(" %14" PRIu64, b);
        }
        if (multi) printf(" %14" PRIu64, tot_bytes);
        printf("\n%-12s", "bytes/record");
        for (size_t i = 0; i < n; i++) {
            uint64_t b = 0;
            for (int k = 0; k < ms[i].num_shards; k++) b += ms[i].shards[k].bytes;
            printf(" %14.1f", ms[i].num_records ? (double)b / (double)ms[i].num_records : 0.0);
        }
        if (multi) printf(" %14.1f", tot_rec ? (double)tot_bytes / (double)tot_rec : 0.0);
        printf("\n%-12s", "raw_bytes");
        for (size_t i = 0; i < n; i++) printf(" %14" PRIu64, ms[i].raw_pixel_bytes);
        if (multi) printf(" %14" PRIu64, tot_raw);
        printf("\n%-12s", "ratio");
        for (size_t i = 0; i < n; i++) {
            uint64_t b = 0;
            for (int k = 0; k < ms[i].num_shards; k++) b += ms[i].shards[k].bytes;
            printf(" %13.3fx", b ? (double)ms[i].raw_pixel_bytes / (double)b : 0.0);
        }
        if (multi) printf(" %13.3fx", tot_bytes ? (double)tot_raw / (double)tot_bytes : 0.0);
        printf("\n");
    }
    for (size_t i = 0; i < n; i++) emo_manifest_free(&ms[i]);
    free(ms);
    free_datasets(refs, n);
    return rc;
}

/*-*** verify ***/

typedef struct {
    uint64_t faults, records, blocks, shards;
    int printed_id_faults;
} VerifyTally;

static void fault(VerifyTally *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fault(VerifyTally *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("emoshard: verify: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    t->faults++;
}

static void verify_dataset(const char *dir, const Opts *o, VerifyTally *t)
{
    EmoManifest m;
    EmoError err;
    if (emo_manifest_load(dir, &m, &err) != EMO_OK) {
        fault(t, "%s", err.msg);
        return;
    }
    uint64_t counts[EMO_NUM_CLASSES] = {0}, unl = 0, aug = 0, raw = 0, total = 0;
    uint8_t *payload = NULL, *pixbuf = NULL;
    size_t pcap = 0, pixcap = 0, rcap = 0;
    EmoRecord *recs = NULL;
    for (int si = 0; si < m.num_shards; si++) {
        const EmoShardInfo *info = &m.shards[si];
        char *path = emo_path_join(dir, info->name);
        uint64_t hash = 0, bytes = 0;
        if (emo_shard_file_xxh64(path, &hash, &bytes, &err) != EMO_OK) {
            fault(t, "%s", err.msg);
            free(path);
            continue;
        }
        if (bytes != info->bytes)
            fault(t, "%s: %" PRIu64 " bytes but " EMO_MANIFEST_NAME " says %" PRIu64, path, bytes, info->bytes);
        else if (hash != info->xxh64)
            fault(t, "%s: file XXH64 %016" PRIx64 " but " EMO_MANIFEST_NAME " says %016" PRIx64, path, hash,
                  info->xxh64);
        EmoShardReader *sh;
        if (emo_shard_open(&sh, path, &err) != EMO_OK) {
            fault(t, "%s", err.msg);
            free(path);
            continue;
        }
        t->shards++;
        if (emo_shard_num_records(sh) != info->records)
            fault(t, "%s: index holds %" PRIu64 " records but " EMO_MANIFEST_NAME " says %" PRIu64, path,
                  emo_shard_num_records(sh), info->records);
        for (uint32_t b = 0; b < emo_shard_num_blocks(sh); b++) {
            size_t size, count;
            if (emo_shard_read_block(sh, b, &payload, &pcap, &size, &err) != EMO_OK) {
                fault(t, "%s", err.msg);
                continue;
            }
            if (emo_block_decode(payload, size, &pixbuf, &pixcap, &recs, &rcap, &count, &err) != EMO_OK) {
                fault(t, "%s: block %u: %s", path, b, err.msg);
                continue;
            }
            t->blocks++;
            if (count != emo_shard_block(sh, b)->records)
                fault(t, "%s: block %u: %zu records, index says %u", path, b, count, emo_shard_block(sh, b)->records);
            for (size_t i = 0; i < count; i++) {
                const EmoRecord *r = &recs[i];
                size_t npx = (size_t)r->width * r->height * r->channels;
                if (emo_record_hash_pixels(r->pixels, npx) != r->id) {
                    if (t->printed_id_faults++ < 10)
                        fault(t, "%s: block %u: record %zu: id %016" PRIx64 " is not the hash of its pixels", path, b,
                              i, r->id);
                    else
                        t->faults++;
                }
                if (m.width && (r->width != m.width || r->height != m.height || r->channels != m.channels))
                    fault(t, "%s: block %u: record %zu is %ux%ux%u, " EMO_MANIFEST_NAME " says %dx%dx%d", path, b, i,
                          r->width, r->height, r->channels, m.width, m.height, m.channels);
                if (r->label == EMO_LABEL_NONE) unl++;
                else counts[r->label]++;
                aug += r->origin == EMO_ORIGIN_AUGMENTED;
                raw += npx;
            }
            total += count;
            if (o->progress) fprintf(stderr, "\rverify: %s %" PRIu64 " records", dir, total);
        }
        emo_shard_close(sh);
        free(path);
    }
    if (o->progress) fputc('\n', stderr);
    if (total != m.num_records)
        fault(t, "%s/" EMO_MANIFEST_NAME ": says %" PRIu64 " records, shards hold %" PRIu64, dir, m.num_records, total);
    for (int c = 0; c < EMO_NUM_CLASSES; c++)
        if (counts[c] != m.class_counts[c])
            fault(t, "%s/" EMO_MANIFEST_NAME ": says %" PRIu64 " %s, shards hold %" PRIu64, dir, m.class_counts[c],
                  m.class_names[c], counts[c]);
    if (unl != m.unlabeled || aug != m.augmented || raw != m.raw_pixel_bytes)
        fault(t, "%s/" EMO_MANIFEST_NAME ": unlabeled/augmented/raw_pixel_bytes disagree with the shards", dir);
    t->records += total;
    free(payload);
    free(pixbuf);
    free(recs);
    emo_manifest_free(&m);
}

static int cmd_verify(const char *dir, const Opts *o)
{
    DsRef *refs;
    size_t n = find_datasets(dir, &refs);
    if (n == 0) return EXIT_FAILED;
    VerifyTally t = {0};
    for (size_t i = 0; i < n; i++) verify_dataset(refs[i].path, o, &t);
    free_datasets(refs, n);
    if (t.faults) {
        fprintf(stderr, "emoshard: verify: %s: %" PRIu64 " fault%s\n", dir, t.faults, t.faults == 1 ? "" : "s");
        return EXIT_FAILED;
    }
    printf("%s: ok: %" PRIu64 " records in %" PRIu64 " shards, %" PRIu64
           " blocks; every checksum, count and id matches\n",
           dir, t.records, t.shards, t.blocks);
    return EXIT_OK;
}

/*-*** grid ***/

typedef struct {
    EmoImage img;   /* gray copy */
    int label;
} GridCell;

static uint64_t grid_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int grid_copy(GridCell *cell, const EmoRecord *r)
{
    emo_image_free(&cell->img);
    if (emo_image_alloc(&cell->img, r->width, r->height, 1, NULL) != EMO_OK) return 0;
    size_t np = (size_t)r->width * r->height;
    if (r->channels == 1) {
        memcpy(cell->img.pixels, r->pixels, np);
    } else if (r->channels >= 3) {
        for (size_t i = 0; i < np; i++) {
            const uint8_t *p = r->pixels + i * r->channels;
            cell->img.pixels[i] = (uint8_t)((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
        }
    } else {
        for (size_t i = 0; i < np; i++) cell->img.pixels[i] = r->pixels[i * r->channels];
    }
    cell->label = r->label;
    return 1;
}

static int cmd_grid(const char *dir, const Opts *o)
{
    if (!o->out) return fail("grid: -o FILE.png is required"), EXIT_USAGE;
    EmoDatasetReader *r;
    EmoError err;
    EmoReaderOptions ro = {0, 1, 0};
    if (emo_dataset_reader_open(&r, dir, &ro, &err) != EMO_OK) return fail("%s", err.msg);
    GridCell *cells = calloc((size_t)o->n, sizeof *cells);
    uint64_t rng = o->seed, seen = 0;
    int have = 0, rc = EXIT_OK;
    EmoRecord rec;
    EmoStatus s;
    while ((s = emo_dataset_reader_next(r, &rec, &err)) == EMO_OK) {
        seen++;
        int slot = -1;
        if (have < o->n) slot = have++;
        else if (!o->have_seed) break;
        else {
            uint64_t j = grid_rng(&rng) % seen; /* reservoir sampling: each record kept with p = n/seen */
            if (j < (uint64_t)o->n) slot = (int)j;
        }
        if (slot >= 0 && !grid_copy(&cells[slot], &rec)) {
            rc = fail("grid: out of memory");
            break;
        }
    }
    emo_dataset_reader_close(r);
    if (rc == EXIT_OK && s != EMO_OK && s != EMO_ERR_EOF) rc = fail("%s", err.msg);
    if (rc == EXIT_OK && have == 0) rc = fail("grid: %s holds no records", dir);
    if (rc == EXIT_OK) {
        int cw = 0, chh = 0;
        for (int i = 0; i < have; i++) {
            if (cells[i].img.width > cw) cw = cells[i].img.width;
            if (cells[i].img.height > chh) chh = cells[i].img.height;
        }
        int label_w = emo_font_text_width("unlabeled") + 2;
        if (cw < label_w) cw = label_w;
        const int pad = 2, strip = EMO_FONT_HEIGHT + 3;
        int cols = o->cols < have ? o->cols : have, rows = (have + cols - 1) / cols;
        int cellw = cw + pad, cellh = chh + strip + pad;
        EmoImage sheet;
        if (emo_image_alloc(&sheet, cols * cellw + pad, rows * cellh + pad, 1, &err) != EMO_OK) {
            rc = fail("grid: %s", err.msg);
        } else {
            for (int i = 0; i < have; i++) {
                const EmoImage *im = &cells[i].img;
                int x0 = pad + (i % cols) * cellw + (cw - im->width) / 2, y0 = pad + (i / cols) * cellh;
                for (int y = 0; y < im->height; y++)
                    memcpy(sheet.pixels + (size_t)(y0 + y) * (size_t)sheet.width + (size_t)x0,
                           im->pixels + (size_t)y * (size_t)im->width, (size_t)im->width);
                const char *name = emo_class_name(cells[i].label);
                int tx = pad + (i % cols) * cellw + (cw - emo_font_text_width(name)) / 2;
                emo_font_draw(&sheet, tx, y0 + chh + 2, name, 255);
            }
            if (emo_image_save_png(&sheet, o->out, &err) != EMO_OK) rc = fail("%s", err.msg);
            else if (!o->quiet) fprintf(stderr, "emoshard: grid: %d records -> %s\n", have, o->out);
            emo_image_free(&sheet);
        }
    }
    for (int i = 0; i < o->n; i++) emo_image_free(&cells[i].img);
    free(cells);
    return rc;
}

/*-*** export ***/

static int cmd_export(const char *dir, const Opts *o)
{
    if (!o->out) return fail("export: -o FOLDER is required"), EXIT_USAGE;
    EmoDatasetReader *r;
    EmoError err;
    EmoReaderOptions ro = {0, 1, 0};
    if (emo_dataset_reader_open(&r, dir, &ro, &err) != EMO_OK) return fail("%s", err.msg);
    int rc = EXIT_OK;
    int made[EMO_NUM_CLASSES + 1] = {0};
    uint64_t n = 0;
    EmoRecord rec;
    EmoStatus s;
    while ((s = emo_dataset_reader_next(r, &rec, &err)) == EMO_OK) {
        int k = rec.label == EMO_LABEL_NONE ? EMO_NUM_CLASSES : rec.label;
        char *sub = emo_path_join(o->out, emo_class_name(rec.label));
        if (!sub) {
            rc = fail("export: out of memory");
            break;
        }
        if (!made[k]) {
            if (emo_mkdir_p(sub, &err) != EMO_OK) {
                free(sub);
                rc = fail("%s", err.msg);
                break;
            }
            made[k] = 1;
        }
        char name[32];
        snprintf(name, sizeof name, "%016" PRIx64 ".png", rec.id);
        char *path = emo_path_join(sub, name);
        free(sub);
        /* save_png only reads the pixels; EmoImage has no const variant. */
        EmoImage img = {rec.width, rec.height, rec.channels, (uint8_t *)(uintptr_t)rec.pixels};
        EmoStatus ws = rec.channels == 1 || rec.channels == 3 ? emo_image_save_png(&img, path, &err)
                                                             : emo_error_set(&err, EMO_ERR_UNSUPPORTED,
                                                                             "%s: %u channels", path, rec.channels);
        free(path);
        if (ws != EMO_OK) {
            rc = fail("%s", err.msg);
            break;
        }
        n++;
        if (o->progress && n % 1024 == 0) fprintf(stderr, "\rexport: %" PRIu64 " images", n);
    }
    emo_dataset_reader_close(r);
    if (o->progress) fputc('\n', stderr);
    if (rc == EXIT_OK && s != EMO_ERR_EOF) rc = fail("%s", err.msg);
    if (rc == EXIT_OK && !o->quiet) fprintf(stderr, "emoshard: export: %" PRIu64 " images -> %s\n", n, o->out);
    return rc;
}

/*-*** import ***/

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of a directory (without . and ..); NULL on error. */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 64;
    char **v = malloc(cap * sizeof *v);
    *n = 0;
    struct dirent *e;
    while (v && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (*n == cap) {
            cap *= 2;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (v) qsort(v, *n, sizeof *v, name_cmp);
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int is_image_name(const char *s)
{
    const char *dot = strrchr(s, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

typedef struct {
    EmoDatasetWriter *w;
    const Opts *o;
    uint64_t added, skipped, seen;
} ImportRun;

/* Decodes one file and appends it; reports and counts unreadable ones. */
static EmoStatus import_file(ImportRun *run, const char *path, const char *rel, int label, EmoError *err)
{
    run->seen++;
    EmoDecodeOptions dopt = {1, run->o->max_pixels};
    EmoImage img;
    EmoError e;
    if (emo_image_load(path, &dopt, &img, &e) != EMO_OK) {
        fprintf(stderr, "emoshard: import: %s\n", e.msg);
        run->skipped++;
        return EMO_OK;
    }
    if (img.width > EMO_BLOCK_MAX_SIDE || img.height > EMO_BLOCK_MAX_SIDE) {
        fprintf(stderr, "emoshard: import: %s: %dx%d is too large for a record\n", path, img.width, img.height);
        emo_image_free(&img);
        run->skipped++;
        return EMO_OK;
    }
    EmoRecord rec = {0, 0, label, (uint16_t)img.width, (uint16_t)img.height, 1, EMO_ORIGIN_ORIGINAL, -1, rel, "",
                     img.pixels};
    EmoStatus s = emo_dataset_writer_add(run->w, &rec, err);
    emo_image_free(&img);
    if (s == EMO_OK) run->added++;
    if (run->o->progress && run->seen % 1024 == 0)
        fprintf(stderr, "\rimport: %" PRIu64 " images, %" PRIu64 " skipped", run->added, run->skipped);
    return s;
}

static char *import_produced_by(const char *folder, const Opts *o, int threads)
{
    char absdir[PATH_MAX];
    const char *in = realpath(folder, absdir) ? absdir : folder;
    json_t *root = json_pack("{s:s, s:s, s:{s:i, s:i, s:I, s:I, s:I}, s:[s]}", "tool", "emoshard import", "version",
                             EMO_VERSION, "options", "level", o->level ? o->level : EMO_SHARD_DEFAULT_LEVEL,
                             "threads", threads, "block_records",
                             (json_int_t)(o->block_records ? o->block_records : 256), "shard_records",
                             (json_int_t)(o->shard_records ? o->shard_records : 8192), "max_pixels",
                             (json_int_t)o->max_pixels, "inputs", in);
    if (!root) return NULL;
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return s;
}

static int cmd_import(const char *folder, const Opts *o)
{
    if (!o->out) return fail("import: -o DIR is required"), EXIT_USAGE;
    size_t n;
    char **names = list_dir(folder, &n);
    if (!names) return fail("%s: cannot read directory: %s", folder, strerror(errno));
    int threads = o->threads;
    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)(nc > 64 ? 64 : nc) : 1;
    }
    char *pb = import_produced_by(folder, o, threads);
    EmoDatasetWriterOptions wo = {o->block_records, o->shard_records, o->level, threads, pb};
    ImportRun run = {NULL, o, 0, 0, 0};
    EmoError err;
    if (emo_dataset_writer_open(&run.w, o->out, &wo, &err) != EMO_OK) {
        free(pb);
        free_list(names, n);
        return fail("%s", err.msg);
    }
    EmoStatus s = EMO_OK;
    /* Loose files first (unlabeled), then class folders, all in name order. */
    for (int pass = 0; pass < 2 && s == EMO_OK; pass++) {
        for (size_t i = 0; i < n && s == EMO_OK; i++) {
            char *p = emo_path_join(folder, names[i]);
            struct stat st;
            if (!p || stat(p, &st) != 0) {
                free(p);
                continue;
            }
            if (pass == 0 && S_ISREG(st.st_mode) && is_image_name(names[i])) {
                s = import_file(&run, p, names[i], EMO_LABEL_NONE, &err);
            } else if (pass == 1 && S_ISDIR(st.st_mode)) {
                int label = emo_class_from_name(names[i]);
                if (label == EMO_LABEL_NONE && strcasecmp(names[i], "unlabeled") != 0) {
                    fprintf(stderr, "emoshard: import: %s: not a class name, skipped\n", p);
                    free(p);
                    continue;
                }
                size_t nf;
                char **files = list_dir(p, &nf);
                if (!files) {
                    fprintf(stderr, "emoshard: import: %s: cannot read directory: %s\n", p, strerror(errno));
                    run.skipped++;
                }
                for (size_t k = 0; files && k < nf && s == EMO_OK; k++) {
                    if (!is_image_name(files[k])) continue;
                    char *fp = emo_path_join(p, files[k]);
                    size_t rl = strlen(names[i]) + strlen(files[k]) + 2;
                    char *rel = malloc(rl);
                    if (!fp || !rel) s = emo_error_set(&err, EMO_ERR_NOMEM, "out of memory");
                    else {
                        snprintf(rel, rl, "%s/%s", names[i], files[k]);
                        s = import_file(&run, fp, rel, label, &err);
                    }
                    free(fp);
                    free(rel);
                }
                if (files) free_list(files, nf);
            }
            free(p);
        }
    }
    free_list(names, n);
    free(pb);
    if (o->progress) fputc('\n', stderr);
    if (s == EMO_OK && run.added == 0) {
        emo_dataset_writer_abort(run.w);
        return fail("import: no readable .png/.jpg/.jpeg images under %s; nothing written", folder);
    }
    if (s != EMO_OK) {
        emo_dataset_writer_abort(run.w);
        return fail("%s", err.msg);
    }
    if (emo_dataset_writer_close(run.w, &err) != EMO_OK) return fail("%s", err.msg);
    if (!o->quiet)
        fprintf(stderr, "emoshard: import: %" PRIu64 " images -> %s (%" PRIu64 " skipped)\n", run.added, o->out,
                run.skipped);
    return run.skipped && o->strict ? EXIT_FAILED : EXIT_OK;
}

/*-*** main ***/

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("emoshard %s (shard format %d)\n", EMO_VERSION, EMO_SHARD_VERSION);
        return EXIT_OK;
    }
    Opts o = {0};
    o.n = 64;
    o.cols = 8;
    o.max_pixels = IMPORT_MAX_PIXELS_DEFAULT;
    enum { OPT_N = 256, OPT_COLS, OPT_SEED, OPT_THREADS, OPT_LEVEL, OPT_BLOCK, OPT_SHARD, OPT_MAXPX, OPT_STRICT };
    static const struct option longopts[] = {
        {"help", no_argument, 0, 'h'},        {"version", no_argument, 0, 'V'},
        {"quiet", no_argument, 0, 'q'},       {"out", required_argument, 0, 'o'},
        {"n", required_argument, 0, OPT_N},   {"cols", required_argument, 0, OPT_COLS},
        {"seed", required_argument, 0, OPT_SEED}, {"threads", required_argument, 0, OPT_THREADS},
        {"level", required_argument, 0, OPT_LEVEL}, {"block-records", required_argument, 0, OPT_BLOCK},
        {"shard-records", required_argument, 0, OPT_SHARD}, {"max-pixels", required_argument, 0, OPT_MAXPX},
        {"strict", no_argument, 0, OPT_STRICT}, {0, 0, 0, 0},
    };
    int c;
    uint64_t v;
    optind = 2;
    while ((c = getopt_long(argc, argv, "hVqo:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("emoshard %s (shard format %d)\n", EMO_VERSION, EMO_SHARD_VERSION); return EXIT_OK;
        case 'q': o.quiet = 1; break;
        case 'o': o.out = optarg; break;
        case OPT_N:
            if (!parse_u64(optarg, 1, 100000, &v)) goto bad;
            o.n = (int)v;
            break;
        case OPT_COLS:
            if (!parse_u64(optarg, 1, 1000, &v)) goto bad;
            o.cols = (int)v;
            break;
        case OPT_SEED:
            if (!parse_u64(optarg, 0, UINT64_MAX, &o.seed)) goto bad;
            o.have_seed = 1;
            break;
        case OPT_THREADS:
            if (!parse_u64(optarg, 1, 64, &v)) goto bad;
            o.threads = (int)v;
            break;
        case OPT_LEVEL:
            if (!parse_u64(optarg, 1, 22, &v)) goto bad;
            o.level = (int)v;
            break;
        case OPT_BLOCK:
            if (!parse_u64(optarg, 1, 1u << 20, &v)) goto bad;
            o.block_records = (uint32_t)v;
            break;
        case OPT_SHARD:
            if (!parse_u64(optarg, 1, UINT32_MAX, &v)) goto bad;
            o.shard_records = (uint32_t)v;
            break;
        case OPT_MAXPX:
            if (!parse_u64(optarg, 1, UINT64_MAX, &o.max_pixels)) goto bad;
            break;
        case OPT_STRICT: o.strict = 1; break;
        default:
            fprintf(stderr, "emoshard: try 'emoshard --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "emoshard: %s: expected exactly one DIR/FOLDER argument; try 'emoshard --help'\n", cmd);
        return EXIT_USAGE;
    }
    o.progress = !o.quiet && isatty(STDERR_FILENO);
    const char *arg = argv[optind];
    if (!strcmp(cmd, "ls")) return cmd_ls(arg, &o);
    if (!strcmp(cmd, "stats")) return cmd_stats(arg, &o);
    if (!strcmp(cmd, "verify")) return cmd_verify(arg, &o);
    if (!strcmp(cmd, "grid")) return cmd_grid(arg, &o);
    if (!strcmp(cmd, "export")) return cmd_export(arg, &o);
    if (!strcmp(cmd, "import")) return cmd_import(arg, &o);
    fprintf(stderr, "emoshard: unknown command '%s'; try 'emoshard --help'\n", cmd);
    return EXIT_USAGE;
bad:
    fprintf(stderr, "emoshard: %s: bad value '%s'; try 'emoshard --help'\n", argv[optind - 1], optarg);
    return EXIT_USAGE;
}
