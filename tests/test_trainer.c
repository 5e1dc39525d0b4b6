/* test_trainer.c: the trainer library (train/train_*.h) piece by piece:
 * class-weight formulas, metrics, schedules, augmentation, the streaming
 * loader (order, determinism, resume skipping, mixing, corrupt shards) and
 * the report renderings. The end-to-end runs (loss falls, kill + resume,
 * eval) are in test_emotrain.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_image.h"
#include "test_support.h"
#include "net_model.h"
#include "train_augment.h"
#include "train_eval.h"
#include "train_loader.h"
#include "train_metrics.h"
#include "train_report.h"
#include "train_schedule.h"
#include "train_weights.h"

/* FER2013 Training counts in our class order (angry, disgust, fear, happy,
 * neutral, sad, surprise). */
static const uint64_t fer_counts[7] = {3995, 436, 4097, 7215, 4965, 4830, 3171};

/*-*** Class weights ***/

static void expect_normalized(const double raw[7], const float w[7])
{
    double sum = 0;
    for (int c = 0; c < 7; c++) sum += raw[c];
    for (int c = 0; c < 7; c++) ck_assert_double_eq_tol(w[c], raw[c] * 7 / sum, 1e-5);
    double mean = 0;
    for (int c = 0; c < 7; c++) mean += w[c] / 7.0;
    ck_assert_double_eq_tol(mean, 1.0, 1e-5);
}

START_TEST(class_weights_match_formulas)
{
    TrainClassWeightSpec spec;
    float w[7];
    double raw[7], N = 0;
    for (int c = 0; c < 7; c++) N += (double)fer_counts[c];

    ck_assert_int_eq(train_class_weights_parse("inverse", &spec, NULL), EMO_OK);
    ck_assert_int_eq(train_class_weights_compute(&spec, fer_counts, w, NULL), EMO_OK);
    for (int c = 0; c < 7; c++) raw[c] = N / (7.0 * (double)fer_counts[c]);
    expect_normalized(raw, w);
    /* The known sklearn "balanced" value for disgust is 9.41 before normalization. */
    ck_assert_double_eq_tol(raw[1], 9.41, 0.01);
    ck_assert_float_gt(w[1], w[3] * 16.0f);

    ck_assert_int_eq(train_class_weights_parse("sqrt", &spec, NULL), EMO_OK);
    ck_assert_int_eq(train_class_weights_compute(&spec, fer_counts, w, NULL), EMO_OK);
    for (int c = 0; c < 7; c++) raw[c] = sqrt(N / (7.0 * (double)fer_counts[c]));
    expect_normalized(raw, w);

    const double betas[] = {0.99, 0.999, 0.9999};
    for (int i = 0; i < 3; i++) {
        char text[64];
        snprintf(text, sizeof text, "effective:%g", betas[i]);
        ck_assert_int_eq(train_class_weights_parse(text, &spec, NULL), EMO_OK);
        ck_assert_double_eq_tol(spec.beta, betas[i], 1e-12);
        ck_assert_int_eq(train_class_weights_compute(&spec, fer_counts, w, NULL), EMO_OK);
        for (int c = 0; c < 7; c++) raw[c] = (1 - betas[i]) / (1 - pow(betas[i], (double)fer_counts[c]));
        expect_normalized(raw, w);
    }
    /* Cui et al. at beta 0.9999 normalized to sum C: disgust 4.08, happy 0.34. */
    ck_assert_double_eq_tol(w[1], 4.08, 0.01);
    ck_assert_double_eq_tol(w[3], 0.34, 0.01);
    ck_assert_int_eq(train_class_weights_parse("effective", &spec, NULL), EMO_OK);
    ck_assert_double_eq(spec.beta, TRAIN_CW_EFFECTIVE_BETA_DEFAULT);

    ck_assert_int_eq(train_class_weights_parse("none", &spec, NULL), EMO_OK);
    ck_assert_int_eq(train_class_weights_compute(&spec, fer_counts, w, NULL), EMO_OK);
    for (int c = 0; c < 7; c++) ck_assert_float_eq(w[c], 1.0f);

    ck_assert_int_eq(train_class_weights_parse("1,2,3,4,5,6,7", &spec, NULL), EMO_OK);
    ck_assert_int_eq(train_class_weights_compute(&spec, fer_counts, w, NULL), EMO_OK);
    for (int c = 0; c < 7; c++) ck_assert_double_eq_tol(w[c], (c + 1) / 4.0, 1e-6);
}
END_TEST

START_TEST(class_weights_edge_cases)
{
    TrainClassWeightSpec spec;
    EmoError err;
    float w[7];
    const char *bad[] = {"", "inverse2", "effective:1", "effective:0", "effective:x", "1,2,3", "1,2,3,4,5,6,7,8",
                         "1,2,3,-4,5,6,7", "1,2,,4,5,6,7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(train_class_weights_parse(bad[i], &spec, &err), EMO_ERR_ARG);
        ck_assert(strlen(err.msg) > 0);
    }
    /* A class with no examples gets 0 and is left out of the mean. */
    uint64_t counts[7] = {10, 0, 10, 20, 10, 10, 10};
    ck_assert_int_eq(train_class_weights_parse("inverse", &spec, NULL), EMO_OK);
    ck_assert_int_eq(train_class_weights_compute(&spec, counts, w, NULL), EMO_OK);
    ck_assert_float_eq(w[1], 0.0f);
    double mean = 0;
    for (int c = 0; c < 7; c++) mean += c == 1 ? 0 : w[c] / 6.0;
    ck_assert_double_eq_tol(mean, 1.0, 1e-6);
    ck_assert_double_eq_tol(w[0] / w[3], 2.0, 1e-6);
    uint64_t none[7] = {0};
    ck_assert_int_eq(train_class_weights_compute(&spec, none, w, &err), EMO_ERR_ARG);
    char desc[64];
    train_class_weights_parse("effective:0.9999", &spec, NULL);
    train_class_weights_describe(&spec, desc, sizeof desc);
    ck_assert_str_eq(desc, "effective:0.9999");
}
END_TEST

/*-*** Metrics ***/

START_TEST(metrics_by_hand)
{
    TrainMetrics m;
    train_metrics_reset(&m);
    /* angry: 3 right, 1 as fear; fear: 2 right, 2 as angry; happy: 1 predicted
     * as happy but really neutral. Classes 1, 5, 6 never occur. */
    int pairs[][2] = {{0, 0}, {0, 0}, {0, 0}, {0, 2}, {2, 2}, {2, 2}, {2, 0}, {2, 0}, {4, 3}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) train_metrics_add(&m, pairs[i][0], pairs[i][1], 1.0 + i);
    train_metrics_add(&m, 9, 0, 100); /* ignored */
    TrainMetricSummary s;
    train_metrics_summarize(&m, &s);
    ck_assert_uint_eq(s.count, 9);
    ck_assert_double_eq_tol(s.loss, 5.0, 1e-12);
    ck_assert_double_eq_tol(s.accuracy, 5.0 / 9, 1e-12);
    ck_assert_double_eq_tol(s.precision[0], 3.0 / 5, 1e-12);
    ck_assert_double_eq_tol(s.recall[0], 3.0 / 4, 1e-12);
    ck_assert_double_eq_tol(s.precision[2], 2.0 / 3, 1e-12);
    ck_assert_double_eq_tol(s.recall[2], 2.0 / 4, 1e-12);
    ck_assert_double_eq(s.f1[3], 0);
    double f1a = 2 * 0.6 * 0.75 / 1.35, f1f = 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5);
    /* Averaged over the 4 classes that occur (angry, fear, happy, neutral). */
    ck_assert_double_eq_tol(s.macro_f1, (f1a + f1f) / 4, 1e-12);

    float logits[2 * 7] = {0};
    int labels[2] = {6, 1};
    logits[6] = 3;
    logits[7 + 2] = 1;
    train_metrics_add_batch(&m, labels, logits, 2, 0.5);
    ck_assert_uint_eq(m.confusion[6][6], 1);
    ck_assert_uint_eq(m.confusion[1][2], 1);
    ck_assert_uint_eq(m.count, 11);
}
END_TEST

/*-*** Schedules ***/

START_TEST(schedules_shape)
{
    TrainScheduleConfig c;
    TrainScheduleState s;
    train_schedule_init(&s);
    train_schedule_defaults(&c, TRAIN_SCHED_COSINE, 1e-3, 10);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 0), 1e-3, 1e-15);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 5), 5e-4, 1e-12);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 10), 0, 1e-15);
    c.warmup_epochs = 2;
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 0), 1e-5, 1e-15);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 1), 1e-3 * 0.505, 1e-12);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 2), 1e-3, 1e-12);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 6), 5e-4, 1e-12);

    train_schedule_defaults(&c, TRAIN_SCHED_ONECYCLE, 1e-2, 10);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 0), 1e-2 / 25, 1e-12);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 3), 1e-2, 1e-12);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 10), 1e-2 / 25 / 1e4, 1e-12);
    ck_assert(train_schedule_lr(&c, &s, 2) < 1e-2 && train_schedule_lr(&c, &s, 4) < 1e-2);

    train_schedule_defaults(&c, TRAIN_SCHED_PLATEAU, 1e-3, 10);
    c.patience = 2;
    c.min_lr = 2e-4;
    ck_assert_int_eq(train_schedule_epoch_end(&c, &s, 0.5), 0);
    ck_assert_int_eq(train_schedule_epoch_end(&c, &s, 0.6), 0);
    ck_assert_int_eq(train_schedule_epoch_end(&c, &s, 0.6), 0);      /* 1 bad epoch */
    ck_assert_int_eq(train_schedule_epoch_end(&c, &s, 0.59), 1);     /* 2: cut */
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 4), 5e-4, 1e-15);
    train_schedule_epoch_end(&c, &s, 0.1);
    ck_assert_int_eq(train_schedule_epoch_end(&c, &s, 0.1), 1);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 6), 2.5e-4, 1e-15);
    train_schedule_epoch_end(&c, &s, 0.1);
    train_schedule_epoch_end(&c, &s, 0.1);
    ck_assert_double_eq_tol(train_schedule_lr(&c, &s, 8), 2e-4, 1e-15); /* floor */
    ck_assert_int_eq(train_schedule_epoch_end(&c, &s, 0.7), 0);
    ck_assert_int_eq(s.bad_epochs, 0);

    TrainScheduleKind k;
    ck_assert_int_eq(train_schedule_parse("onecycle", &k, NULL), EMO_OK);
    ck_assert_int_eq(k, TRAIN_SCHED_ONECYCLE);
    ck_assert_int_eq(train_schedule_parse("linear", &k, NULL), EMO_ERR_ARG);
}
END_TEST

/*-*** Augmentation ***/

START_TEST(augment_identity_flip_and_draws)
{
    uint8_t img[48 * 48];
    uint64_t st = 7;
    for (int i = 0; i < 48 * 48; i++) img[i] = (uint8_t)ts_rand(&st);
    float a[48 * 48], b[48 * 48];
    TrainAugment none, flip, all;
    ck_assert_int_eq(train_augment_parse("none", &none, NULL), EMO_OK);
    ck_assert_int_eq(train_augment_parse("flip", &flip, NULL), EMO_OK);
    ck_assert_int_eq(train_augment_parse("flip,shift=0.1,rotate=10,zoom=0.1,brightness=0.2", &all, NULL), EMO_OK);
    ck_assert(!train_augment_active(&none) && train_augment_active(&flip));
    ck_assert_int_eq(train_augment_parse("spin=3", &all, NULL), EMO_ERR_ARG);
    ck_assert_int_eq(train_augment_parse("shift=0.9", &all, NULL), EMO_ERR_ARG);
    train_augment_parse("flip,shift=0.1,rotate=10,zoom=0.1,brightness=0.2", &all, NULL);

    TrainRng r1, r2, r3;
    train_rng_seed(&r1, 5);
    train_rng_seed(&r2, 5);
    train_rng_seed(&r3, 5);
    train_augment_apply(&none, &r1, img, 48, 48, a);
    train_pixels_to_float(img, 48 * 48, b);
    ck_assert_mem_eq(a, b, sizeof a);
    /* The RNG advances the same whatever is enabled. */
    train_augment_apply(&all, &r2, img, 48, 48, b);
    ck_assert_uint_eq(r1.state, r2.state);
    for (int i = 0; i < 48 * 48; i++) ck_assert(b[i] >= 0 && b[i] <= 1);

    /* Flips happen about half the time, and then exactly mirror. */
    int flipped = 0;
    for (int k = 0; k < 200; k++) {
        train_augment_apply(&flip, &r3, img, 48, 48, a);
        int mirror = 1, same = 1;
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 48; x++) {
                float v = img[y * 48 + x] / 255.0f;
                if (fabsf(a[y * 48 + (47 - x)] - v) > 1e-6f) mirror = 0;
                if (fabsf(a[y * 48 + x] - v) > 1e-6f) same = 0;
            }
        ck_assert(mirror || same);
        flipped += mirror;
    }
    ck_assert_int_gt(flipped, 60);
    ck_assert_int_lt(flipped, 140);
}
END_TEST

/*-*** Loader ***/

/* Writes n records (indices first..first+n-1) whose first two pixels
 * encode their index (i & 255, i >> 8), with label label_of(i), in blocks
 * and shards of the given sizes. */
static void write_dataset(const char *dir, int n, int first, int (*label_of)(int i), uint32_t per_block,
                          uint32_t per_shard)
{
    EmoDatasetWriterOptions o = {0};
    o.records_per_block = per_block;
    o.records_per_shard = per_shard;
    EmoDatasetWriter *w;
    EmoError err;
    ck_assert_msg(emo_dataset_writer_open(&w, dir, &o, &err) == EMO_OK, "%s", err.msg);
    uint8_t px[48 * 48];
    for (int k = 0; k < n; k++) {
        int i = first + k;
        for (int p = 0; p < 48 * 48; p++) px[p] = (uint8_t)(p * 7 + i);
        px[0] = (uint8_t)(i & 255);
        px[1] = (uint8_t)(i >> 8);
        EmoRecord r = {0};
        r.label = label_of(i);
        r.width = 48;
        r.height = 48;
        r.channels = 1;
        r.source = "";
        r.params = "";
        r.source_row = i;
        r.pixels = px;
        ck_assert_msg(emo_dataset_writer_add(w, &r, &err) == EMO_OK, "%s", err.msg);
    }
    ck_assert_msg(emo_dataset_writer_close(w, &err) == EMO_OK, "%s", err.msg);
}

static int label_mod7(int i)
{
    return i % 7;
}

static int label_mod7_unlabeled(int i)
{
    return i % 10 == 9 ? EMO_LABEL_NONE : i % 7;
}

/* Writes a dataset of n records whose first two pixels encode their index
 * (i & 255, i >> 8), label i % 7, except every 10th when `unlabeled`. */
static void make_dataset(const char *dir, int n, int first, int unlabeled)
{
    write_dataset(dir, n, first, unlabeled ? label_mod7_unlabeled : label_mod7, 16, 64);
}

static int batch_id(const TrainBatch *b, int k)
{
    const float *x = b->x + (size_t)k * 48 * 48;
    return (int)lrintf(x[0] * 255) | (int)lrintf(x[1] * 255) << 8;
}

/* Reads a whole epoch into ids[]; returns the count. */
static int read_epoch(TrainLoader *l, uint64_t epoch, uint64_t skip, int *ids, int cap, int *batches)
{
    EmoError err;
    ck_assert_int_eq(train_loader_start(l, epoch, skip, &err), EMO_OK);
    int n = 0, nb = 0;
    TrainBatch b;
    EmoStatus st;
    while ((st = train_loader_next(l, &b, &err)) == EMO_OK) {
        ck_assert_uint_eq(b.index, skip + (uint64_t)nb);
        for (int k = 0; k < b.count; k++) {
            ck_assert_int_lt(n, cap);
            ids[n] = batch_id(&b, k);
            ck_assert_int_eq(b.labels[k], ids[n] % 7);
            n++;
        }
        nb++;
    }
    ck_assert_msg(st == EMO_ERR_EOF, "%s", err.msg);
    if (batches) *batches = nb;
    return n;
}

/* Test-time views: the parsed sets, and what one view does to pixels
 * (move by whole pixels with the edge replicated; mirror, then move). */
START_TEST(tta_views_parse_and_move_pixels)
{
    TrainView v[TRAIN_TTA_MAX_VIEWS];
    char desc[32];
    EmoError err;
    ck_assert_int_eq(train_tta_parse("none", v, desc, sizeof desc, &err), 1);
    ck_assert(!v[0].flip && !v[0].dx && !v[0].dy);
    ck_assert_int_eq(train_tta_parse("flip", v, desc, sizeof desc, &err), 2);
    ck_assert(v[1].flip && !v[1].dx && !v[1].dy);
    ck_assert_int_eq(train_tta_parse("shift", v, desc, sizeof desc, &err), 10);
    ck_assert_str_eq(desc, "shift:2");
    int moved = 0, flipped = 0;
    for (int i = 0; i < 10; i++) {
        flipped += v[i].flip;
        moved += abs(v[i].dx) + abs(v[i].dy);
        for (int j = 0; j < i; j++)
            ck_assert_msg(v[i].flip != v[j].flip || v[i].dx != v[j].dx || v[i].dy != v[j].dy, "views %d, %d", i, j);
    }
    ck_assert_int_eq(flipped, 5);
    ck_assert_int_eq(moved, 8 * 2);
    const char *bad[] = {"shift:0", "shift:9", "shift:", "shift:2x", "shifty", "crops", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(train_tta_parse(bad[i], v, desc, sizeof desc, &err) == 0, "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "shift:PX"));
    }
    /* A 4x3 image with value 10*y + x. */
    float img[12], out[12];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) img[y * 4 + x] = (float)(10 * y + x);
    train_view_images(img, out, 1, 4, 3, (TrainView){0, 1, 0}); /* right by 1 */
    const float right[12] = {0, 0, 1, 2, 10, 10, 11, 12, 20, 20, 21, 22};
    ck_assert_mem_eq(out, right, sizeof out);
    train_view_images(img, out, 1, 4, 3, (TrainView){0, 0, -2}); /* up by 2 */
    const float up[12] = {20, 21, 22, 23, 20, 21, 22, 23, 20, 21, 22, 23};
    ck_assert_mem_eq(out, up, sizeof out);
    train_view_images(img, out, 1, 4, 3, (TrainView){1, 1, 0}); /* mirror, then right by 1 */
    const float mr[12] = {3, 3, 2, 1, 13, 13, 12, 11, 23, 23, 22, 21};
    ck_assert_mem_eq(out, mr, sizeof out);
    float two[24], out2[24];
    memcpy(two, img, sizeof img);
    memcpy(two + 12, img, sizeof img);
    train_view_images(two, out2, 2, 4, 3, (TrainView){1, 0, 0}); /* both images of a batch, mirrored */
    const float mirror[12] = {3, 2, 1, 0, 13, 12, 11, 10, 23, 22, 21, 20};
    ck_assert_mem_eq(out2, mirror, sizeof mirror);
    ck_assert_mem_eq(out2 + 12, mirror, sizeof mirror);
}
END_TEST

START_TEST(loader_order_determinism_and_resume)
{
    char *dir = ts_tempdir();
    char *a = emo_path_join(dir, "a"), *b = emo_path_join(dir, "b");
    make_dataset(a, 300, 0, 1);     /* 30 unlabeled */
    make_dataset(b, 100, 1000, 0);
    const char *dirs[2] = {a, b};
    TrainLoaderOptions o = {0};
    o.dirs = dirs;
    o.num_dirs = 2;
    o.batch_size = 32;
    o.shuffle = 1;
    o.shuffle_buffer = 50;
    o.seed = 42;
    TrainLoader *l;
    EmoError err;
    ck_assert_msg(train_loader_open(&l, &o, &err) == EMO_OK, "%s", err.msg);
    ck_assert_uint_eq(train_loader_records(l), 370);
    uint64_t counts[7];
    train_loader_class_counts(l, counts);
    uint64_t sum = 0;
    for (int c = 0; c < 7; c++) sum += counts[c];
    ck_assert_uint_eq(sum, 370);
    /* 370 = 11 * 32 + 18. */
    ck_assert_uint_eq(train_loader_batches_per_epoch(l), 12);

    int e0[400], e0b[400], e1[400], tail[400];
    int nb;
    int n = read_epoch(l, 0, 0, e0, 400, &nb);
    ck_assert_int_eq(n, 370);
    ck_assert_int_eq(nb, 12);
    ck_assert_uint_eq(train_loader_skipped_unlabeled(l), 30);
    /* Every labeled record exactly once. */
    char seen[1100] = {0};
    for (int i = 0; i < n; i++) {
        ck_assert(e0[i] >= 0 && e0[i] < 1100);
        ck_assert(!seen[e0[i]]);
        seen[e0[i]] = 1;
        ck_assert(e0[i] >= 1000 || e0[i] % 10 != 9);
    }
    /* Shuffled, and the two datasets mixed: some record of b is among the first 100. */
    int in_order = 0, b_early = 0;
    for (int i = 1; i < n; i++) in_order += e0[i] == e0[i - 1] + 1;
    for (int i = 0; i < 100; i++) b_early += e0[i] >= 1000;
    ck_assert_int_lt(in_order, 50);
    ck_assert_int_gt(b_early, 5);
    /* Same epoch again: same order. Next epoch: a different one. */
    ck_assert_int_eq(read_epoch(l, 0, 0, e0b, 400, NULL), 370);
    ck_assert_mem_eq(e0, e0b, sizeof(int) * 370);
    ck_assert_int_eq(read_epoch(l, 1, 0, e1, 400, NULL), 370);
    ck_assert(memcmp(e0, e1, sizeof(int) * 370) != 0);
    /* Resume: skipping 5 batches yields exactly the rest of the epoch. */
    ck_assert_int_eq(read_epoch(l, 1, 5, tail, 400, &nb), 370 - 5 * 32);
    ck_assert_int_eq(nb, 7);
    ck_assert_mem_eq(tail, e1 + 5 * 32, sizeof(int) * (370 - 5 * 32));
    /* Stop mid-epoch, then start again: no hang, same stream. */
    ck_assert_int_eq(train_loader_start(l, 0, 0, &err), EMO_OK);
    TrainBatch bt;
    ck_assert_int_eq(train_loader_next(l, &bt, &err), EMO_OK);
    train_loader_stop(l);
    ck_assert_int_eq(read_epoch(l, 0, 0, e0b, 400, NULL), 370);
    ck_assert_mem_eq(e0, e0b, sizeof(int) * 370);
    train_loader_close(l);

    /* Evaluation order: manifest order, every record, short last batch kept. */
    o.shuffle = 0;
    o.num_dirs = 1;
    o.dirs = dirs + 1;
    ck_assert_int_eq(train_loader_open(&l, &o, &err), EMO_OK);
    ck_assert_int_eq(read_epoch(l, 3, 0, e0, 400, &nb), 100);
    ck_assert_int_eq(nb, 4);
    for (int i = 0; i < 100; i++) ck_assert_int_eq(e0[i], 1000 + i);
    train_loader_close(l);
    free(a);
    free(b);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/* Flips a byte in the middle of the dataset's second shard. */
static char *corrupt_shard(const char *dir)
{
    EmoManifest m;
    ck_assert_int_eq(emo_manifest_load(dir, &m, NULL), EMO_OK);
    ck_assert_int_ge(m.num_shards, 2);
    char *path = emo_path_join(dir, m.shards[1].name);
    uint8_t *data;
    size_t size;
    ck_assert_int_eq(emo_read_file(path, 0, &data, &size, NULL), EMO_OK);
    data[size / 2] ^= 0x5A;
    ts_write(path, data, size);
    free(data);
    char *name = strdup(m.shards[1].name);
    emo_manifest_free(&m);
    free(path);
    return name;
}

/* A dataset written in class order, as emoingest writes class folders
 * (7 x 1024 records, 256 per block, 2048 per shard: two classes a shard,
 * and a shuffle buffer the size of a shard, as FER2013's 8192 with the
 * default 8192-record shards): training batches must still mix the
 * classes. With shards visited one at a time the buffer's content drifted
 * with the shard being read: 5.6 classes a batch and up to 41% of 16
 * consecutive batches from one class (the FER2013 model chased the latest
 * classes). With one random order over all blocks: 6.8-6.9 classes a batch
 * and at most 23-28% (the balanced share is 14%). The check: at least 6.3
 * classes a batch on average, at most 340 of 1024 records of one class in
 * any 16 batches, at most 40 of 64 in a batch. */
static int label_by_1024(int i)
{
    return i / 1024;
}

START_TEST(loader_mixes_classes_of_class_sorted_shards)
{
    char *dir = ts_tempdir();
    write_dataset(dir, 7 * 1024, 0, label_by_1024, 256, 2048); /* sorted by class */
    EmoError err;
    const char *dirs[] = {dir};
    TrainLoaderOptions lo = {0};
    lo.dirs = dirs;
    lo.num_dirs = 1;
    lo.batch_size = 64;
    lo.shuffle = 1;
    lo.shuffle_buffer = 2048;
    lo.seed = 5;
    TrainLoader *l;
    ck_assert_msg(train_loader_open(&l, &lo, &err) == EMO_OK, "%s", err.msg);
    for (uint64_t epoch = 0; epoch < 3; epoch++) {
        ck_assert_int_eq(train_loader_start(l, epoch, 0, &err), EMO_OK);
        TrainBatch b;
        int nb = 0, worst = 0, distinct = 0, win[7] = {0}, worst_win = 0;
        while (train_loader_next(l, &b, &err) == EMO_OK) {
            int cnt[7] = {0};
            for (int k = 0; k < b.count; k++) {
                cnt[b.labels[k]]++;
            }
            for (int c = 0; c < 7; c++) {
                if (b.count == 64 && cnt[c] > worst) worst = cnt[c];
                distinct += cnt[c] > 0;
                win[c] += cnt[c];
            }
            nb++;
            if (nb % 16 == 0) { /* windows of 1024 records */
                for (int c = 0; c < 7; c++) {
                    if (win[c] > worst_win) worst_win = win[c];
                    win[c] = 0;
                }
            }
        }
        ck_assert_int_eq(nb, 7 * 1024 / 64);
        printf("loader_mixes_classes: epoch %d: at most %d of 64 from one class, %.2f classes a batch, "
               "at most %d of 1024 in 16 batches\n", (int)epoch, worst, distinct / (double)nb, worst_win);
        fflush(stdout);
        ck_assert_msg(worst <= 40, "epoch %d: a batch of 64 held %d records of one class", (int)epoch, worst);
        ck_assert_msg(distinct >= 6.3 * nb, "epoch %d: %.2f classes a batch", (int)epoch, distinct / (double)nb);
        ck_assert_msg(worst_win <= 340, "epoch %d: 16 batches held %d of 1024 records of one class", (int)epoch,
                      worst_win);
    }
    train_loader_close(l);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(loader_corrupt_shard_error_or_skip)
{
    char *dir = ts_tempdir();
    char *a = emo_path_join(dir, "a");
    make_dataset(a, 256, 0, 0);
    char *shard = corrupt_shard(a);
    const char *dirs[1] = {a};
    TrainLoaderOptions o = {0};
    o.dirs = dirs;
    o.num_dirs = 1;
    o.batch_size = 16;
    o.shuffle = 0;
    TrainLoader *l;
    EmoError err;
    ck_assert_int_eq(train_loader_open(&l, &o, &err), EMO_OK);
    ck_assert_int_eq(train_loader_start(l, 0, 0, &err), EMO_OK);
    TrainBatch b;
    EmoStatus st;
    int n = 0;
    while ((st = train_loader_next(l, &b, &err)) == EMO_OK) n += b.count;
    ck_assert_int_eq(st, EMO_ERR_CORRUPT);
    ck_assert_msg(strstr(err.msg, shard) && strstr(err.msg, "block"), "message: %s", err.msg);
    ck_assert_int_ge(n, 64); /* the first shard came through before the fault */
    train_loader_close(l);

    o.skip_corrupt = 1;
    o.shuffle = 1;
    o.seed = 3;
    ck_assert_int_eq(train_loader_open(&l, &o, &err), EMO_OK);
    int ids[300];
    n = read_epoch(l, 0, 0, ids, 300, NULL);
    ck_assert_int_eq(n, 256 - 16);
    ck_assert_uint_eq(train_loader_skipped_blocks(l), 1);
    train_loader_close(l);
    free(shard);
    free(a);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(loader_rejects_bad_input)
{
    char *dir = ts_tempdir();
    TrainLoaderOptions o = {0};
    const char *dirs[1] = {dir};
    o.dirs = dirs;
    o.num_dirs = 1;
    o.batch_size = 8;
    TrainLoader *l;
    EmoError err;
    ck_assert_int_eq(train_loader_open(&l, &o, &err), EMO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "manifest"));
    o.batch_size = 0;
    ck_assert_int_eq(train_loader_open(&l, &o, &err), EMO_ERR_ARG);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** BN recalibration ***/

START_TEST(bn_recalibration_is_the_plain_average_of_batches)
{
    char *dir = ts_tempdir();
    char *a = emo_path_join(dir, "a");
    make_dataset(a, 64, 0, 0);
    const char *dirs[1] = {a};
    TrainLoaderOptions o = {0};
    o.dirs = dirs;
    o.num_dirs = 1;
    o.batch_size = 8;
    o.shuffle = 1;
    o.seed = 4;
    TrainLoader *l;
    EmoError err;
    ck_assert_int_eq(train_loader_open(&l, &o, &err), EMO_OK);
    NetConfig cfg;
    net_config_default(&cfg);
    cfg.stem_width[0] = cfg.stem_width[1] = 8;
    cfg.n_modules = 1;
    cfg.module_width[0] = 16;
    NetModel *m;
    ck_assert_int_eq(net_create(&m, &cfg, 8, &err), EMO_OK);
    net_init_params(m, 1);
    size_t nb = net_buffer_count(m), np = net_param_count(m);
    float *mean = calloc(nb, sizeof *mean), *params = malloc(np * sizeof *params);
    memcpy(params, net_params(m), np * sizeof *params);
    /* The expected result: each of the 12 batches' own statistics
     * (momentum 1 replaces the running ones), averaged. 12 batches run past
     * the 8 batches of one epoch into the next, as recalibration does. */
    enum { BATCHES = 12 };
    net_set_bn_momentum(m, 1.0f);
    int seen = 0;
    for (uint64_t epoch = 0; seen < BATCHES; epoch++) {
        ck_assert_int_eq(train_loader_start(l, epoch, 0, &err), EMO_OK);
        TrainBatch b;
        while (seen < BATCHES && train_loader_next(l, &b, &err) == EMO_OK) {
            net_forward(m, b.x, b.count, 1);
            for (size_t i = 0; i < nb; i++) mean[i] += net_buffers(m)[i] / BATCHES;
            seen++;
        }
        train_loader_stop(l);
    }
    net_set_bn_momentum(m, NET_BN_MOMENTUM);
    /* From two stale starting points far from the data the result is that
     * average: nothing of the start is left and the early batches count as
     * much as the late ones (an exponential average with momentum 0.1 keeps
     * 0.9^12 = 28% of the start and fails here). The weights do not move and
     * the training momentum is back. */
    for (int run = 0; run < 2; run++) {
        float *buf = net_buffers(m);
        for (size_t i = 0; i < nb; i++) buf[i] = run ? 70.0f : -3.0f;
        ck_assert_msg(train_bn_recalibrate(m, l, 0, BATCHES, &err) == EMO_OK, "%s", err.msg);
        for (size_t i = 0; i < nb; i++)
            ck_assert_msg(fabsf(buf[i] - mean[i]) <= 1e-5f + 1e-5f * fabsf(mean[i]), "run %d buffer %zu: %g vs %g",
                          run, i, buf[i], mean[i]);
        ck_assert_float_eq(net_bn_momentum(m), NET_BN_MOMENTUM);
    }
    ck_assert_mem_eq(params, net_params(m), np * sizeof *params);
    free(mean);
    free(params);
    net_free(m);
    train_loader_close(l);
    free(a);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** Reports ***/

START_TEST(report_text_json_png)
{
    TrainMetrics m;
    train_metrics_reset(&m);
    uint64_t st = 1;
    for (int i = 0; i < 500; i++) {
        int t = (int)(ts_rand(&st) % 7);
        int p = ts_rand(&st) % 3 ? t : (int)(ts_rand(&st) % 7);
        train_metrics_add(&m, t, p, 0.25);
    }
    char *text = train_report_text(&m);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "records 500"));
    ck_assert_ptr_nonnull(strstr(text, "surprise"));
    ck_assert_ptr_nonnull(strstr(text, "confusion matrix"));
    free(text);

    json_t *j = train_report_json(&m);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 500);
    json_t *conf = json_object_get(j, "confusion");
    ck_assert_int_eq(json_array_size(conf), 7);
    json_int_t total = 0;
    for (size_t r = 0; r < 7; r++)
        for (size_t c = 0; c < 7; c++) total += json_integer_value(json_array_get(json_array_get(conf, r), c));
    ck_assert_int_eq(total, 500);
    ck_assert_int_eq(json_array_size(json_object_get(j, "per_class")), 7);
    json_decref(j);

    char *dir = ts_tempdir();
    char *png = emo_path_join(dir, "c.png");
    EmoError err;
    ck_assert_msg(train_report_confusion_png(&m, "test", png, &err) == EMO_OK, "%s", err.msg);
    EmoImage img;
    EmoDecodeOptions d = {.want_channels = 3};
    ck_assert_int_eq(emo_image_load(png, &d, &img, &err), EMO_OK);
    ck_assert_int_gt(img.width, 7 * 40);
    ck_assert_int_gt(img.height, 7 * 30);
    /* Some dark (diagonal) and some light cells. */
    int dark = 0, light = 0;
    for (int i = 0; i < img.width * img.height; i++) {
        int y = img.pixels[3 * i] + img.pixels[3 * i + 1] + img.pixels[3 * i + 2];
        dark += y < 200;
        light += y > 700;
    }
    ck_assert_int_gt(dark, 1000);
    ck_assert_int_gt(light, 1000);
    emo_image_free(&img);
    /* Unwritable path: an error naming it. */
    char *bad = emo_path_join(dir, "missing/c.png");
    ck_assert_int_ne(train_report_confusion_png(&m, NULL, bad, &err), EMO_OK);
    free(bad);
    free(png);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer");
    TCase *tc = tcase_create("trainer");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, class_weights_match_formulas);
    tcase_add_test(tc, class_weights_edge_cases);
    tcase_add_test(tc, metrics_by_hand);
    tcase_add_test(tc, schedules_shape);
    tcase_add_test(tc, augment_identity_flip_and_draws);
    tcase_add_test(tc, tta_views_parse_and_move_pixels);
    tcase_add_test(tc, loader_order_determinism_and_resume);
    tcase_add_test(tc, loader_mixes_classes_of_class_sorted_shards);
    tcase_add_test(tc, loader_corrupt_shard_error_or_skip);
    tcase_add_test(tc, loader_rejects_bad_input);
    tcase_add_test(tc, bn_recalibration_is_the_plain_average_of_batches);
    tcase_add_test(tc, report_text_json_png);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
