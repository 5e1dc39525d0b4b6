/* test_ingest.c: the ingest library pieces, each against an independent
 * reference: label maps, the FER2013 CSV reader, the folder walk on a
 * hostile tree, resize, pHash (vs a naive double DCT), the dedup index (vs
 * a linear scan), the split, robots.txt rules, HTML links, URL helpers and
 * per-item processing. No shared data needed: inputs are generated here. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emo_fs.h"
#include "emo_image.h"
#include "emo_record.h"
#include "ingest_csv.h"
#include "ingest_dedup.h"
#include "ingest_html.h"
#include "ingest_http.h"
#include "ingest_labels.h"
#include "ingest_lines.h"
#include "ingest_phash.h"
#include "ingest_process.h"
#include "ingest_resize.h"
#include "ingest_robots.h"
#include "ingest_split.h"
#include "ingest_walk.h"
#include "test_support.h"

/*-*** Labels ***/

START_TEST(labels_builtin_and_map)
{
    ck_assert_int_eq(ingest_labels_resolve(NULL, "Happiness"), 3);
    ck_assert_int_eq(ingest_labels_resolve(NULL, "SCARED"), 2);
    ck_assert_int_eq(ingest_labels_resolve(NULL, "calm"), 4);
    ck_assert_int_eq(ingest_labels_resolve(NULL, "contempt"), INGEST_LABEL_UNKNOWN);
    ck_assert_int_eq(ingest_labels_resolve(NULL, "skip"), INGEST_LABEL_UNKNOWN); /* directive only in maps */
    IngestLabelMap *m;
    EmoError err;
    const char *text = "# CK+ codes\nAN\tangry\nha = happy\ncontempt: skip\nmisc unlabeled\n"
                       "Very Happy   surprise\r\n\n";
    ck_assert_int_eq(ingest_labels_parse(text, "map.txt", &m, &err), EMO_OK);
    ck_assert_int_eq(ingest_labels_count(m), 5);
    ck_assert_int_eq(ingest_labels_resolve(m, "an"), 0);
    ck_assert_int_eq(ingest_labels_resolve(m, "HA"), 3);
    ck_assert_int_eq(ingest_labels_resolve(m, "Contempt"), INGEST_LABEL_SKIP);
    ck_assert_int_eq(ingest_labels_resolve(m, "misc"), INGEST_LABEL_UNLABELED);
    ck_assert_int_eq(ingest_labels_resolve(m, "very happy"), 6); /* names may hold spaces */
    ck_assert_int_eq(ingest_labels_resolve(m, "sad"), 5);        /* built-ins still apply */
    ingest_labels_free(m);
    ck_assert_int_eq(ingest_labels_parse("ok happy\nbad grumpy\n", "m2", &m, &err), EMO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "m2: line 2"));
    ck_assert_int_eq(ingest_labels_parse("lonely\n", "m3", &m, &err), EMO_ERR_FORMAT);
}
END_TEST

/*-*** CSV ***/

static char *pixel_string(const uint8_t *px, int n)
{
    char *s = malloc((size_t)n * 4 + 1), *p = s;
    for (int i = 0; i < n; i++) p += sprintf(p, i ? " %u" : "%u", px[i]);
    return s;
}

START_TEST(csv_reads_variants_and_rejects_bad_rows)
{
    uint64_t st = 7;
    uint8_t px[3][2304];
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 2304; i++) px[r][i] = (uint8_t)ts_rand(&st);
    char *p0 = pixel_string(px[0], 2304), *p1 = pixel_string(px[1], 2304), *p2 = pixel_string(px[2], 16);
    /* BOM, reordered columns with spaces, quotes, CRLF; Kaggle code 4 = sad, 6 = neutral. */
    size_t cap = 64000;
    char *text = malloc(cap);
    snprintf(text, cap,
             "\xEF\xBB\xBFUsage, pixels, emotion\r\n"
             "Training, \"%s\", 4\r\n"            /* line 2: sad, train */
             "PublicTest, %s, 6\r\n"              /* line 3: neutral, val */
             "\r\n"                               /* blank: not a row */
             "PrivateTest, 1 2 3, 0\r\n"          /* line 5: 3 values, not square */
             "Training, 1 2 x3 4, 0\r\n"          /* line 6: non-numeric */
             "Training\r\n"                       /* line 7: short row */
             "Training, 1 2 300 4, 0\r\n"         /* line 8: over 255 */
             "Training, %s, 9\r\n"                /* line 9: emotion code out of range */
             "Bogus, 1 2 3 4, 1\r\n"              /* line 10: unknown usage */
             ", %s, happy\r\n",                   /* line 11: 4x4, name label, no usage */
             p0, p1, p1, p2);
    FILE *fp = fmemopen(text, strlen(text), "rb");
    IngestCsv *c;
    EmoError err;
    ck_assert_int_eq(ingest_csv_open_stream(&c, fp, "mem.csv", NULL, &err), EMO_OK);
    IngestItem it;
    struct { IngestItemKind kind; int64_t row; int label; int split; const char *why; } want[] = {
        {INGEST_ITEM_PIXELS, 2, 5, INGEST_SPLIT_TRAIN, NULL},
        {INGEST_ITEM_PIXELS, 3, 4, INGEST_SPLIT_VAL, NULL},
        {INGEST_ITEM_REJECT, 5, 0, 0, "not a square"},
        {INGEST_ITEM_REJECT, 6, 0, 0, "non-numeric pixel value 'x3' at position 3"},
        {INGEST_ITEM_REJECT, 7, 0, 0, "1 field, expected 3"},
        {INGEST_ITEM_REJECT, 8, 0, 0, "over 255"},
        {INGEST_ITEM_REJECT, 9, 0, 0, "not 0..6"},
        {INGEST_ITEM_REJECT, 10, 0, 0, "unknown Usage 'Bogus'"},
        {INGEST_ITEM_PIXELS, 11, 3, INGEST_SPLIT_NONE, NULL},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        ck_assert_int_eq(ingest_csv_next(c, &it, &err), EMO_OK);
        ck_assert_int_eq(it.kind, want[k].kind);
        ck_assert_int_eq(it.source_row, want[k].row);
        ck_assert_str_eq(it.source, "mem.csv");
        if (want[k].kind == INGEST_ITEM_PIXELS) {
            ck_assert_int_eq(it.label, want[k].label);
            ck_assert_int_eq(it.split, want[k].split);
            const uint8_t *ref = k == 0 ? px[0] : k == 1 ? px[1] : px[2];
            int n = k < 2 ? 2304 : 16;
            ck_assert_int_eq(it.width * it.height, n);
            ck_assert_int_eq((int)it.nbytes, n);
            ck_assert(memcmp(it.bytes, ref, (size_t)n) == 0);
        } else {
            ck_assert_int_eq(it.reason, INGEST_REJ_BAD_CSV_ROW);
            ck_assert_msg(strstr(it.detail, want[k].why), "row %lld: %s", (long long)want[k].row, it.detail);
            char line[32];
            snprintf(line, sizeof line, "line %lld", (long long)want[k].row);
            ck_assert_ptr_nonnull(strstr(it.detail, line));
        }
        ingest_item_free(&it);
    }
    ck_assert_int_eq(ingest_csv_next(c, &it, &err), EMO_ERR_EOF);
    ingest_csv_close(c);
    fclose(fp);

    /* No header: Kaggle order assumed, the first line is data (row 1). */
    snprintf(text, cap, "3,%s,Training\n", p1);
    fp = fmemopen(text, strlen(text), "rb");
    ck_assert_int_eq(ingest_csv_open_stream(&c, fp, "nohdr.csv", NULL, &err), EMO_OK);
    ck_assert_int_eq(ingest_csv_next(c, &it, &err), EMO_OK);
    ck_assert_int_eq(it.kind, INGEST_ITEM_PIXELS);
    ck_assert_int_eq(it.source_row, 1);
    ck_assert_int_eq(it.label, 3);
    ck_assert(memcmp(it.bytes, px[1], 2304) == 0);
    ingest_item_free(&it);
    ck_assert_int_eq(ingest_csv_next(c, &it, &err), EMO_ERR_EOF);
    ingest_csv_close(c);
    fclose(fp);

    /* Not a FER CSV at all. */
    snprintf(text, cap, "name,age\nbob,3\n");
    fp = fmemopen(text, strlen(text), "rb");
    ck_assert_int_eq(ingest_csv_open_stream(&c, fp, "other.csv", NULL, &err), EMO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "other.csv"));
    fclose(fp);
    free(text);
    free(p0);
    free(p1);
    free(p2);
}
END_TEST

/*-*** Folder walk ***/

static void mk(const char *dir, const char *rel, const char *data, size_t n)
{
    char *p = emo_path_join(dir, rel);
    char *slash = strrchr(p, '/');
    *slash = 0;
    ck_assert_int_eq(emo_mkdir_p(p, NULL), EMO_OK);
    *slash = '/';
    ts_write(p, data, n);
    free(p);
}

START_TEST(walk_labels_splits_and_hostile_entries)
{
    char *root = ts_tempdir();
    char *top = emo_path_join(root, "photos");
    mk(top, "train/Happy/b.png", "x", 1);
    mk(top, "train/Happy/a.png", "x", 1);
    mk(top, "validation/anger/c.jpg", "x", 1);
    mk(top, "surprised/deeper/d.jpg", "x", 1);   /* nearest class folder above */
    mk(top, "flat.jpg", "x", 1);                 /* no class: unlabeled */
    mk(top, "misc/e.jpg", "x", 1);               /* unknown folder: noted */
    mk(top, "Contempt/f.jpg", "x", 1);           /* mapped to skip */
    mk(top, "empty.png", "", 0);
    mk(top, ".hidden/g.jpg", "x", 1);
    mk(top, ".DS_Store", "x", 1);
    char *p = emo_path_join(top, "train/Happy/loop");
    ck_assert_int_eq(symlink("..", p), 0);       /* points back up: a loop */
    free(p);
    p = emo_path_join(top, "dangling.jpg");
    ck_assert_int_eq(symlink("nowhere.jpg", p), 0);
    free(p);
    p = emo_path_join(top, "self.jpg");
    ck_assert_int_eq(symlink("self.jpg", p), 0);   /* ELOOP */
    free(p);
    p = emo_path_join(top, "pipe.jpg");
    ck_assert_int_eq(mkfifo(p, 0600), 0);          /* must never be opened */
    free(p);

    IngestLabelMap *m;
    ck_assert_int_eq(ingest_labels_parse("contempt skip\n", "map", &m, NULL), EMO_OK);
    IngestWalkOptions wo = {.labels = m};
    IngestWalk *w;
    EmoError err;
    ck_assert_int_eq(ingest_walk_open(&w, top, &wo, &err), EMO_OK);
    /* Expected in bytewise-sorted depth-first order. */
    struct { const char *rel; IngestItemKind kind; int label; int split; IngestReason reason; } want[] = {
        {"Contempt", INGEST_ITEM_REJECT, 0, 0, INGEST_REJ_EXCLUDED},
        {"dangling.jpg", INGEST_ITEM_REJECT, 0, 0, INGEST_REJ_UNREADABLE},
        {"empty.png", INGEST_ITEM_REJECT, 0, 0, INGEST_REJ_EMPTY},
        {"flat.jpg", INGEST_ITEM_FILE, EMO_LABEL_NONE, INGEST_SPLIT_NONE, 0},
        {"misc/e.jpg", INGEST_ITEM_FILE, EMO_LABEL_NONE, INGEST_SPLIT_NONE, 0},
        {"pipe.jpg", INGEST_ITEM_REJECT, 0, 0, INGEST_REJ_NOT_FILE},
        {"self.jpg", INGEST_ITEM_REJECT, 0, 0, INGEST_REJ_SYMLINK_LOOP},
        {"surprised/deeper/d.jpg", INGEST_ITEM_FILE, 6, INGEST_SPLIT_NONE, 0},
        {"train/Happy/a.png", INGEST_ITEM_FILE, 3, INGEST_SPLIT_TRAIN, 0},
        {"train/Happy/b.png", INGEST_ITEM_FILE, 3, INGEST_SPLIT_TRAIN, 0},
        {"train/Happy/loop", INGEST_ITEM_REJECT, 0, 0, INGEST_REJ_SYMLINK_LOOP},
        {"validation/anger/c.jpg", INGEST_ITEM_FILE, 0, INGEST_SPLIT_VAL, 0},
    };
    IngestItem it;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        ck_assert_int_eq(ingest_walk_next(w, &it, &err), EMO_OK);
        char *exp = emo_path_join(top, want[k].rel);
        ck_assert_str_eq(it.source, exp);
        free(exp);
        ck_assert_int_eq(it.kind, want[k].kind);
        if (it.kind == INGEST_ITEM_FILE) {
            ck_assert_int_eq(it.label, want[k].label);
            ck_assert_int_eq(it.split, want[k].split);
        } else {
            ck_assert_int_eq(it.reason, want[k].reason);
            ck_assert_ptr_nonnull(strstr(it.detail, want[k].rel));
        }
        ingest_item_free(&it);
    }
    ck_assert_int_eq(ingest_walk_next(w, &it, &err), EMO_ERR_EOF);
    const IngestWalkStats *ws = ingest_walk_stats(w);
    ck_assert_uint_eq(ws->hidden, 2);
    ck_assert_int_eq(ws->n_unknown_dirs, 2); /* misc, deeper */
    ingest_walk_close(w);
    ingest_labels_free(m);
    free(top);
    ts_rmtree(root);
    free(root);
}
END_TEST

/*-*** Resize ***/

START_TEST(resize_area_identity_and_upscale)
{
    uint64_t st = 3;
    uint8_t src[96 * 96], dst[48 * 48], same[96 * 96];
    for (int i = 0; i < 96 * 96; i++) src[i] = (uint8_t)ts_rand(&st);
    ck_assert_int_eq(ingest_resize_gray(src, 96, 96, 96, dst, 48, 48, NULL), EMO_OK);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++) {
            int s = src[(2 * y) * 96 + 2 * x] + src[(2 * y) * 96 + 2 * x + 1] + src[(2 * y + 1) * 96 + 2 * x] +
                    src[(2 * y + 1) * 96 + 2 * x + 1];
            int ref = (int)floor(s / 4.0 + 0.5);
            ck_assert_int_le(abs(dst[y * 48 + x] - ref), 1); /* float accumulation may round the .5 either way */
        }
    ck_assert_int_eq(ingest_resize_gray(src, 96, 96, 96, same, 96, 96, NULL), EMO_OK);
    ck_assert(memcmp(src, same, sizeof src) == 0);
    uint8_t flat[10 * 7], big[33 * 50];
    memset(flat, 77, sizeof flat);
    ck_assert_int_eq(ingest_resize_gray(flat, 10, 7, 10, big, 33, 50, NULL), EMO_OK);
    for (size_t i = 0; i < sizeof big; i++) ck_assert_int_eq(big[i], 77);
    int x, y, side;
    ingest_center_square(100, 60, &x, &y, &side);
    ck_assert_int_eq(x, 20);
    ck_assert_int_eq(y, 0);
    ck_assert_int_eq(side, 60);
}
END_TEST

/*-*** pHash ***/

static uint64_t naive_phash32(const uint8_t *img)
{
    /* Full 32x32 DCT-II in double, low 8x8, median: the textbook recipe. */
    double coef[64];
    for (int v = 0; v < 8; v++)
        for (int u = 0; u < 8; u++) {
            double acc = 0;
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    acc += img[y * 32 + x] * cos(M_PI * (2 * x + 1) * u / 64.0) * cos(M_PI * (2 * y + 1) * v / 64.0);
            coef[v * 8 + u] = acc;
        }
    double s[64];
    memcpy(s, coef, sizeof s);
    for (int i = 1; i < 64; i++)
        for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
            double t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    double med = (s[31] + s[32]) / 2;
    uint64_t h = 0;
    for (int i = 0; i < 64; i++)
        if (coef[i] > med) h |= 1ull << (63 - i);
    return h;
}

START_TEST(phash_matches_naive_and_is_robust)
{
    IngestPhash ph;
    ingest_phash_init(&ph);
    uint64_t st = 11;
    int same = 0, far = 0;
    for (int t = 0; t < 20; t++) {
        uint8_t img[32 * 32];
        /* smooth random images (sums of a few waves), like faces at 32x32 */
        double a = (double)(ts_rand(&st) % 100) / 10, b = (double)(ts_rand(&st) % 100) / 10;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                img[y * 32 + x] = (uint8_t)(128 + 60 * sin(x / (1 + a)) * cos(y / (1 + b)) + (ts_rand(&st) % 9));
        uint64_t h;
        ck_assert_int_eq(ingest_phash_compute(&ph, img, 32, 32, 32, &h, NULL), EMO_OK);
        /* float vs double can flip a bit whose coefficient sits on the median */
        if (ingest_hamming(h, naive_phash32(img)) <= 1) same++;
        /* brightness +6 barely moves it */
        uint8_t br[32 * 32];
        for (int i = 0; i < 32 * 32; i++) br[i] = (uint8_t)(img[i] > 249 ? 255 : img[i] + 6);
        uint64_t hb;
        ingest_phash_compute(&ph, br, 32, 32, 32, &hb, NULL);
        ck_assert_int_le(ingest_hamming(h, hb), 4);
        uint8_t other[32 * 32];
        for (int i = 0; i < 32 * 32; i++) other[i] = (uint8_t)ts_rand(&st);
        uint64_t ho;
        ingest_phash_compute(&ph, other, 32, 32, 32, &ho, NULL);
        if (ingest_hamming(h, ho) > 12) far++;
    }
    ck_assert_int_eq(same, 20);
    ck_assert_int_ge(far, 19);
}
END_TEST

/*-*** Dedup ***/

START_TEST(dedup_near_matches_linear_scan)
{
    for (int thr = 0; thr <= 10; thr += 2) {
        IngestDedup *d;
        ck_assert_int_eq(ingest_dedup_create(&d, thr, NULL), EMO_OK);
        uint64_t st = 99 + (uint64_t)thr;
        enum { N = 3000 };
        static uint64_t hs[N];
        for (int i = 0; i < N; i++) {
            /* clusters: every 10th hash is a base, others flip a few bits of one */
            if (i % 10 == 0) hs[i] = ts_rand(&st);
            else {
                hs[i] = hs[i - i % 10];
                int flips = (int)(ts_rand(&st) % 12);
                for (int f = 0; f < flips; f++) hs[i] ^= 1ull << (ts_rand(&st) % 64);
            }
        }
        for (int i = 0; i < N; i++) {
            int dist = -1;
            int64_t got = ingest_dedup_find_near(d, hs[i], &dist);
            int64_t best = -1;
            int bd = 65;
            for (int j = 0; j < i; j++) {
                int dj = ingest_hamming(hs[i], hs[j]);
                if (dj <= thr && dj < bd) {
                    bd = dj;
                    best = j;
                }
            }
            ck_assert_int_eq(got, best);
            if (best >= 0) ck_assert_int_eq(dist, bd);
            ck_assert_int_eq(ingest_dedup_add(d, (uint64_t)i * 7919 + 1, hs[i], NULL, NULL), EMO_OK);
        }
        ck_assert_int_eq(ingest_dedup_find_exact(d, 7919 * 5 + 1), 5);
        ck_assert_int_eq(ingest_dedup_find_exact(d, 2), -1);
        ingest_dedup_free(d);
    }
    IngestDedup *d;
    ck_assert_int_eq(ingest_dedup_create(&d, -1, NULL), EMO_OK);
    ck_assert_int_eq(ingest_dedup_add(d, 42, 0, NULL, NULL), EMO_OK);
    ck_assert_int_eq(ingest_dedup_add(d, 42, 0, NULL, NULL), EMO_OK);
    ck_assert_int_eq(ingest_dedup_find_exact(d, 42), 0); /* keeps the first */
    ck_assert_int_eq(ingest_dedup_find_near(d, 0, NULL), -1);
    ingest_dedup_free(d);
    ck_assert_int_eq(ingest_dedup_create(&d, 99, NULL), EMO_ERR_ARG);
}
END_TEST

/*-*** Split ***/

START_TEST(split_parse_assign_stable)
{
    IngestSplitSpec s;
    ingest_split_default(&s);
    EmoError err;
    ck_assert_int_eq(ingest_split_parse("8,1,1", &s, &err), EMO_OK);
    ck_assert(fabs(s.frac[0] - 0.8) < 1e-12 && fabs(s.frac[2] - 0.1) < 1e-12);
    ck_assert_int_eq(ingest_split_parse("0.8,0.2", &s, &err), EMO_ERR_ARG);
    ck_assert_int_eq(ingest_split_parse("a,b,c", &s, &err), EMO_ERR_ARG);
    ck_assert_int_eq(ingest_split_parse("0,0,0", &s, &err), EMO_ERR_ARG);
    ck_assert_int_eq(ingest_split_parse("0.7,0.2,0.1", &s, &err), EMO_OK);
    uint64_t st = 5;
    int n[3] = {0};
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        uint64_t id = ts_rand(&st);
        int a = ingest_split_assign(&s, INGEST_SPLIT_NONE, id);
        ck_assert_int_eq(a, ingest_split_assign(&s, INGEST_SPLIT_NONE, id)); /* a pure function of id */
        n[a]++;
        ck_assert_int_eq(ingest_split_assign(&s, INGEST_SPLIT_VAL, id), INGEST_SPLIT_VAL); /* source wins */
    }
    /* binomial: 5 sigma bounds */
    ck_assert(fabs(n[0] - 0.7 * N) < 5 * sqrt(N * 0.7 * 0.3));
    ck_assert(fabs(n[1] - 0.2 * N) < 5 * sqrt(N * 0.2 * 0.8));
    ck_assert(fabs(n[2] - 0.1 * N) < 5 * sqrt(N * 0.1 * 0.9));
    /* a different seed places records differently */
    IngestSplitSpec s2 = s;
    s2.seed = 12345;
    int moved = 0;
    st = 5;
    for (int i = 0; i < 1000; i++) {
        uint64_t id = ts_rand(&st);
        moved += ingest_split_assign(&s, INGEST_SPLIT_NONE, id) != ingest_split_assign(&s2, INGEST_SPLIT_NONE, id);
    }
    ck_assert_int_gt(moved, 200);
    /* fixed split overrides the source */
    ck_assert_int_eq(ingest_split_parse("test", &s, &err), EMO_OK);
    ck_assert_int_eq(ingest_split_assign(&s, INGEST_SPLIT_TRAIN, 1), INGEST_SPLIT_TEST);
    /* zero test fraction never receives records */
    ck_assert_int_eq(ingest_split_parse("1,1,0", &s, &err), EMO_OK);
    for (int i = 0; i < 2000; i++) ck_assert_int_ne(ingest_split_assign(&s, INGEST_SPLIT_NONE, ts_rand(&st)), 2);
}
END_TEST

/*-*** robots.txt ***/

START_TEST(robots_rules)
{
    const char *txt = "User-agent: googlebot\nDisallow: /\n\n"
                      "User-agent: *\nDisallow: /private/\nAllow: /private/ok\nDisallow: /*.gif$\n"
                      "Disallow: /tmp*/x\nCrawl-delay: 2.5\n# comment\nSitemap: /s.xml\n";
    IngestRobots *r;
    ck_assert_int_eq(ingest_robots_parse(txt, strlen(txt), "emoingest", &r, NULL), EMO_OK);
    ck_assert(ingest_robots_allowed(r, "/index.html"));
    ck_assert(!ingest_robots_allowed(r, "/private/a.png"));
    ck_assert(ingest_robots_allowed(r, "/private/ok.png"));      /* longer Allow wins */
    ck_assert(!ingest_robots_allowed(r, "/a/b.gif"));
    ck_assert(ingest_robots_allowed(r, "/a/b.gif?x=1"));         /* $ anchors the end */
    ck_assert(!ingest_robots_allowed(r, "/tmp123/x/y"));
    ck_assert(ingest_robots_allowed(r, "/robots.txt"));
    ck_assert(fabs(ingest_robots_crawl_delay(r) - 2.5) < 1e-9);
    ingest_robots_free(r);
    /* our own group wins over '*'; grouped agents share rules */
    const char *t2 = "User-agent: *\nDisallow: /\n\nUser-agent: other\nUser-agent: EmoIngest\nDisallow: /no\n";
    ck_assert_int_eq(ingest_robots_parse(t2, strlen(t2), "emoingest", &r, NULL), EMO_OK);
    ck_assert(ingest_robots_allowed(r, "/yes"));
    ck_assert(!ingest_robots_allowed(r, "/no/x"));
    ingest_robots_free(r);
    /* equal length: Allow wins the tie */
    const char *t3 = "User-agent: *\nDisallow: /p\nAllow: /p\n";
    ck_assert_int_eq(ingest_robots_parse(t3, strlen(t3), "emoingest", &r, NULL), EMO_OK);
    ck_assert(ingest_robots_allowed(r, "/p/q"));
    ingest_robots_free(r);
    /* a pathological pattern stays fast (no exponential backtracking) */
    char pat[400] = "User-agent: *\nDisallow: /";
    for (int i = 0; i < 60; i++) strcat(pat, "*a");
    strcat(pat, "b\n");
    ck_assert_int_eq(ingest_robots_parse(pat, strlen(pat), "emoingest", &r, NULL), EMO_OK);
    char path[3000] = "/";
    for (int i = 0; i < 2000; i++) strcat(path, "a");
    ck_assert(ingest_robots_allowed(r, path));
    ingest_robots_free(r);
    ck_assert_int_eq(ingest_robots_fixed(0, &r, NULL), EMO_OK);
    ck_assert(!ingest_robots_allowed(r, "/anything"));
    ingest_robots_free(r);
}
END_TEST

/*-*** HTML and URLs ***/

START_TEST(html_links_and_urls)
{
    const char *html = "<html><head><base href='/site/'></head><body>"
                       "<img src='a.png'><IMG SRC=\"/abs/b.jpg#frag\"><img srcset='c.png 1x, d.png 2x'>"
                       "<a href='page.html?x=1'>p</a><a href='mailto:x@y'>m</a><a href='javascript:void(0)'>j</a>"
                       "<a href='http://other.example/z.png'>o</a><p><b>unclosed <i>tags <img src='e.png'>";
    IngestLink *l;
    int n;
    ck_assert_int_eq(ingest_html_links((const uint8_t *)html, strlen(html), "http://h.test:8080/dir/index.html",
                                       &l, &n, NULL), EMO_OK);
    const char *want[] = {"http://h.test:8080/site/a.png", "http://h.test:8080/abs/b.jpg",
                          "http://h.test:8080/site/c.png", "http://h.test:8080/site/page.html?x=1",
                          "http://other.example/z.png", "http://h.test:8080/site/e.png"};
    int img[] = {1, 1, 1, 0, 0, 1};
    ck_assert_int_eq(n, 6);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(l[i].url, want[i]);
        ck_assert_int_eq(l[i].is_image, img[i]);
    }
    ingest_links_free(l, n);
    ck_assert_int_eq(ingest_html_links((const uint8_t *)"", 0, "http://h/", &l, &n, NULL), EMO_OK);
    ck_assert_int_eq(n, 0);
    ingest_links_free(l, n);
    ck_assert(ingest_html_is_html((const uint8_t *)"  <!DOCTYPE html><p>", 20, NULL));
    ck_assert(!ingest_html_is_html((const uint8_t *)"\x89PNG", 4, "image/png"));

    char *o = ingest_url_origin("HTTP://Example.COM/a?b");
    ck_assert_str_eq(o, "http://example.com:80");
    free(o);
    ck_assert_ptr_null(ingest_url_origin("ftp://x/y"));
    ck_assert_ptr_null(ingest_url_origin("not a url"));
    char *r = ingest_url_resolve("http://h/a/b/c.html", "../d.png");
    ck_assert_str_eq(r, "http://h/a/d.png");
    free(r);
    char *p = ingest_url_path("http://h:81/x/y.png?q=1");
    ck_assert_str_eq(p, "/x/y.png?q=1");
    free(p);
}
END_TEST

/*-*** Processing one item ***/

static IngestItem file_item(const char *path)
{
    IngestItem it = {.kind = INGEST_ITEM_FILE, .source = strdup(path), .source_row = -1,
                     .label = EMO_LABEL_NONE, .split = INGEST_SPLIT_NONE};
    return it;
}

START_TEST(process_pass_through_and_rejects)
{
    char *dir = ts_tempdir();
    IngestPhash ph;
    ingest_phash_init(&ph);
    IngestProcessConfig cfg = {.size = 48, .detect = INGEST_DETECT_AUTO, .min_input = 24, .phash = &ph};
    EmoImage img;
    ck_assert_int_eq(emo_image_alloc(&img, 48, 48, 1, NULL), EMO_OK);
    uint64_t st = 1;
    for (int i = 0; i < 48 * 48; i++) img.pixels[i] = (uint8_t)(ts_rand(&st) % 256);
    uint8_t *png;
    size_t npng;
    ck_assert_int_eq(emo_image_encode_png(&img, 6, &png, &npng, NULL), EMO_OK);
    char *good = emo_path_join(dir, "good.png");
    ts_write(good, png, npng);
    IngestItem it = file_item(good);
    IngestResult res;
    ingest_process_item(&cfg, &it, &res);
    ck_assert_int_eq(res.reason, INGEST_OK);
    ck_assert_int_eq(res.ncrops, 1);
    ck_assert(memcmp(res.crops[0].pixels, img.pixels, 48 * 48) == 0); /* pass-through is exact */
    ck_assert(res.crops[0].id == emo_record_hash_pixels(img.pixels, 48 * 48));
    ck_assert_int_eq(res.crops[0].path, INGEST_PATH_PASS);
    ingest_result_free(&res);
    ingest_item_free(&it);

    /* truncated PNG, text named .png, zero bytes, too small, no detector for a big image */
    char *trunc = emo_path_join(dir, "trunc.png"), *text = emo_path_join(dir, "text.png");
    char *zero = emo_path_join(dir, "zero.png"), *tiny = emo_path_join(dir, "tiny.png");
    char *big = emo_path_join(dir, "big.png"), *missing = emo_path_join(dir, "missing.png");
    ts_write(trunc, png, npng / 2);
    ts_write(text, "hello, I am text\n", 17);
    ts_write(zero, "", 0);
    EmoImage small;
    emo_image_alloc(&small, 10, 10, 1, NULL);
    uint8_t *sp;
    size_t ns;
    emo_image_encode_png(&small, 6, &sp, &ns, NULL);
    ts_write(tiny, sp, ns);
    EmoImage large;
    emo_image_alloc(&large, 300, 200, 1, NULL);
    uint8_t *lp;
    size_t nl;
    emo_image_encode_png(&large, 6, &lp, &nl, NULL);
    ts_write(big, lp, nl);
    struct { const char *path; IngestReason r; } cases[] = {
        {trunc, INGEST_REJ_CORRUPT}, {text, INGEST_REJ_NOT_IMAGE}, {zero, INGEST_REJ_EMPTY},
        {tiny, INGEST_REJ_TOO_SMALL}, {big, INGEST_REJ_ERROR}, {missing, INGEST_REJ_UNREADABLE},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        it = file_item(cases[k].path);
        ingest_process_item(&cfg, &it, &res);
        ck_assert_msg(res.reason == cases[k].r, "%s: got %s (%s)", cases[k].path, ingest_reason_name(res.reason),
                      res.detail);
        ck_assert_int_eq(res.ncrops, 0);
        ck_assert_ptr_nonnull(res.detail);
        ingest_result_free(&res);
        ingest_item_free(&it);
    }
    /* --detect never: centre square of the large image */
    cfg.detect = INGEST_DETECT_NEVER;
    it = file_item(big);
    ingest_process_item(&cfg, &it, &res);
    ck_assert_int_eq(res.reason, INGEST_OK);
    ck_assert_int_eq(res.crops[0].box[0], 50);
    ck_assert_int_eq(res.crops[0].box[2], 200);
    ingest_result_free(&res);
    ingest_item_free(&it);
    /* raw pixels (CSV rows) go the same way */
    IngestItem px = {.kind = INGEST_ITEM_PIXELS, .source = strdup("x.csv"), .source_row = 2,
                     .bytes = malloc(48 * 48), .nbytes = 48 * 48, .width = 48, .height = 48};
    memcpy(px.bytes, img.pixels, 48 * 48);
    ingest_process_item(&cfg, &px, &res);
    ck_assert_int_eq(res.reason, INGEST_OK);
    ck_assert(memcmp(res.crops[0].pixels, img.pixels, 48 * 48) == 0);
    ingest_result_free(&res);
    ingest_item_free(&px);

    ck_assert(ingest_is_face_sized(48, 48, 48));
    ck_assert(ingest_is_face_sized(96, 80, 48));
    ck_assert(!ingest_is_face_sized(97, 97, 48));
    ck_assert(!ingest_is_face_sized(60, 40, 48));
    free(png);
    free(sp);
    free(lp);
    emo_image_free(&img);
    emo_image_free(&small);
    emo_image_free(&large);
    free(good), free(trunc), free(text), free(zero), free(tiny), free(big), free(missing);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/* The line reader under the CSV and URL-list readers: every line comes out
 * once with its number, CR stripped, a NUL byte flagged instead of cutting
 * the line, an overlong line consumed whole and flagged, memory bounded. */
START_TEST(lines_numbers_nul_and_overlong)
{
    static const char data[] = "a\r\n\n  \n0123456789abc\r\nx\0y\n\0\nlast";
    FILE *fp = fmemopen((void *)data, sizeof data - 1, "rb");
    ck_assert_ptr_nonnull(fp);
    IngestLines r;
    ingest_lines_init(&r, fp, 8);
    struct {
        const char *text;
        size_t len;
        int flags;
    } want[] = {{"a", 1, 0},
                {"", 0, 0},
                {"  ", 2, 0},
                {"01234567", 8, INGEST_LINE_TOO_LONG},
                {"x\0y", 3, INGEST_LINE_HAS_NUL},
                {"\0", 1, INGEST_LINE_HAS_NUL},
                {"last", 4, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t len;
        int flags;
        ck_assert_int_eq(ingest_lines_next(&r, &len, &flags), 1);
        ck_assert_int_eq((int)r.lineno, (int)i + 1);
        ck_assert_uint_eq(len, want[i].len);
        ck_assert_int_eq(flags, want[i].flags);
        ck_assert_int_eq(memcmp(r.buf, want[i].text, len), 0);
        ck_assert_int_eq(r.buf[len], 0);
        ck_assert_uint_le(r.cap, 9); /* never more than max + 1 */
    }
    size_t len;
    int flags;
    ck_assert_int_eq(ingest_lines_next(&r, &len, &flags), 0);
    ck_assert_uint_eq(r.bytes_read, sizeof data - 1);
    ingest_lines_free(&r);
    fclose(fp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("ingest");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, labels_builtin_and_map);
    tcase_add_test(tc, csv_reads_variants_and_rejects_bad_rows);
    tcase_add_test(tc, lines_numbers_nul_and_overlong);
    tcase_add_test(tc, walk_labels_splits_and_hostile_entries);
    tcase_add_test(tc, resize_area_identity_and_upscale);
    tcase_add_test(tc, phash_matches_naive_and_is_robust);
    tcase_add_test(tc, dedup_near_matches_linear_scan);
    tcase_add_test(tc, split_parse_assign_stable);
    tcase_add_test(tc, robots_rules);
    tcase_add_test(tc, html_links_and_urls);
    tcase_add_test(tc, process_pass_through_and_rejects);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
