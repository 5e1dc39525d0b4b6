/* test_emotrain.c: the emotrain program end to end, on small generated
 * datasets and a tiny network (--arch 8,8:16) so that every run takes a
 * second or two of CPU:
 *   - the training loss falls and the run directory is complete;
 *   - a run stopped twice mid-epoch, or SIGKILLed at a random moment, and
 *     resumed ends with byte-identical models to an uninterrupted run
 *     (with --ema: and the saved models are the checkpoint's average);
 *   - a corrupted shard stops training with a message naming shard and
 *     block, or with --skip-corrupt is skipped and reported;
 *   - early stopping ends the run when the monitored metric stalls;
 *   - --eval's confusion matrix sums to the number of records;
 *   - usage errors exit 2, --help documents every option. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_image.h"
#include "net_model.h"
#include "net_optim.h"
#include "test_support.h"
#include "train_checkpoint.h"

#define TINY "--arch 8,8:16 --batch 16 --threads 1 --seed 7"

/* Writes n records per class, told apart by brightness, so a tiny net
 * learns them in a few epochs. */
static void make_faces(const char *dir, int per_class, uint64_t seed)
{
    EmoDatasetWriterOptions o = {0};
    o.records_per_block = 16;
    o.records_per_shard = 64;
    EmoDatasetWriter *w;
    EmoError err;
    ck_assert_msg(emo_dataset_writer_open(&w, dir, &o, &err) == EMO_OK, "%s", err.msg);
    uint8_t px[48 * 48];
    uint64_t st = seed;
    for (int i = 0; i < per_class * 7; i++) {
        int c = i % 7;
        /* Brightness by class (the net ends in global average pooling, so
         * a class must show in the content, not only in a position), with
         * a dark square at a random place as a distraction. */
        for (int p = 0; p < 48 * 48; p++) px[p] = (uint8_t)(20 + 30 * c + ts_rand(&st) % 40);
        int x0 = (int)(ts_rand(&st) % 36), y0 = (int)(ts_rand(&st) % 36);
        for (int y = y0; y < y0 + 12; y++)
            for (int x = x0; x < x0 + 12; x++) px[y * 48 + x] = (uint8_t)(ts_rand(&st) % 30);
        EmoRecord r = {0};
        r.label = c;
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

typedef struct {
    char *dir, *train, *val, *bin, *log;
} Fixture;

static void fixture_open(Fixture *f)
{
    f->dir = ts_tempdir();
    f->train = emo_path_join(f->dir, "train");
    f->val = emo_path_join(f->dir, "val");
    f->log = emo_path_join(f->dir, "log.txt");
    f->bin = ts_bin("emotrain");
    make_faces(f->train, 40, 11); /* 280 records: 17 full batches + 8 */
    make_faces(f->val, 10, 99);   /* 70 */
}

static void fixture_close(Fixture *f)
{
    ts_rmtree(f->dir);
    free(f->dir);
    free(f->train);
    free(f->val);
    free(f->bin);
    free(f->log);
}

static char *run_dir(const Fixture *f, const char *name)
{
    return emo_path_join(f->dir, name);
}

/* Column `col` (0-based) of every data row of a metrics.csv. */
static int csv_column(const char *path, int col, double *out, int cap)
{
    char *text = ts_slurp(path, NULL);
    ck_assert_msg(text != NULL, "no %s", path);
    int n = 0;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save); /* header */
    while ((line = strtok_r(NULL, "\n", &save)) && n < cap) {
        char *p = line;
        for (int c = 0; c < col && p; c++) {
            p = strchr(p, ',');
            if (p) p++;
        }
        ck_assert_ptr_nonnull(p);
        out[n++] = strtod(p, NULL);
    }
    free(text);
    return n;
}

static int files_equal(const char *a, const char *b)
{
    size_t na, nb;
    char *x = ts_slurp(a, &na), *y = ts_slurp(b, &nb);
    int eq = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

static int exists(const char *dir, const char *name)
{
    char *p = emo_path_join(dir, name);
    FILE *fp = fopen(p, "rb");
    free(p);
    if (fp) fclose(fp);
    return fp != NULL;
}

START_TEST(loss_falls_and_run_dir_complete)
{
    Fixture f;
    fixture_open(&f);
    char *rd = run_dir(&f, "run");
    int rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' --epochs 4 --lr 3e-3 --schedule constant " TINY,
                    f.bin, f.train, f.val, rd);
    char *log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, log);
    ck_assert_ptr_nonnull(strstr(log, "class weights:"));
    ck_assert_ptr_nonnull(strstr(log, "epoch   4"));
    ck_assert_ptr_nonnull(strstr(log, "confusion matrix"));
    free(log);
    const char *files[] = {"best.emomodel", "last.emomodel", "checkpoint.emomodel", "metrics.csv", "eval.json",
                           "confusion.png"};
    for (size_t i = 0; i < 6; i++) ck_assert_msg(exists(rd, files[i]), "missing %s", files[i]);
    char *csv = emo_path_join(rd, "metrics.csv");
    double loss[8], acc[8];
    ck_assert_int_eq(csv_column(csv, 4, loss, 8), 4);
    ck_assert_int_eq(csv_column(csv, 7, acc, 8), 4);
    ck_assert_msg(loss[3] < 0.7 * loss[0], "train loss %g -> %g did not fall", loss[0], loss[3]);
    ck_assert_msg(acc[3] > 0.4, "val accuracy %g (chance is 0.14)", acc[3]);
    /* eval.json: the best model's confusion matrix covers every val record. */
    char *ej = emo_path_join(rd, "eval.json");
    json_error_t je;
    json_t *j = json_load_file(ej, 0, &je);
    ck_assert_msg(j != NULL, "%s", je.text);
    json_t *cm = json_object_get(j, "confusion");
    json_int_t sum = 0;
    for (size_t r = 0; r < json_array_size(cm); r++)
        for (size_t c = 0; c < json_array_size(json_array_get(cm, r)); c++)
            sum += json_integer_value(json_array_get(json_array_get(cm, r), c));
    ck_assert_int_eq(sum, 70);
    json_decref(j);
    free(ej);
    free(csv);
    free(rd);
    fixture_close(&f);
}
END_TEST

START_TEST(stopped_and_resumed_equals_uninterrupted)
{
    Fixture f;
    fixture_open(&f);
    char *a = run_dir(&f, "a"), *b = run_dir(&f, "b");
    /* With weight averaging, whose average the checkpoint must carry too. */
    const char *opts = "--epochs 3 --lr 2e-3 --schedule cosine --warmup 0.5 --hflip --shuffle-buffer 50 --ema 0.9 " TINY;
    int rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' %s", f.bin, f.train, f.val, a, opts);
    ck_assert_int_eq(rc, 0);
    /* 18 batches per epoch: stop in epoch 2 (batch 25), then in epoch 3
     * (batch 45), then finish. */
    rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' %s --stop-after 25", f.bin, f.train, f.val, b, opts);
    char *log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 1 && strstr(log, "--resume"), "exit %d: %s", rc, log);
    free(log);
    rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' %s --resume --stop-after 20", f.bin, f.train, f.val, b,
                opts);
    log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 1 && strstr(log, "resuming at epoch 2, batch 7"), "exit %d: %s", rc, log);
    free(log);
    rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' %s --resume", f.bin, f.train, f.val, b, opts);
    log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 0 && strstr(log, "resuming at epoch 3, batch 9"), "exit %d: %s", rc, log);
    free(log);
    const char *same[] = {"last.emomodel", "best.emomodel"};
    for (int i = 0; i < 2; i++) {
        char *pa = emo_path_join(a, same[i]), *pb = emo_path_join(b, same[i]);
        ck_assert_msg(files_equal(pa, pb), "%s differs after resume", same[i]);
        free(pa);
        free(pb);
    }
    /* The saved models are the average, which the checkpoint keeps beside
     * the live weights it resumes from. */
    char *ck = emo_path_join(a, "checkpoint.emomodel"), *last = emo_path_join(a, "last.emomodel");
    NetOptConfig oc;
    net_optim_config_default(&oc, NET_OPT_ADAM);
    oc.ema_decay = 0.9f;
    NetModel *live, *saved;
    TrainState ts;
    NetOptim o;
    EmoError err;
    train_state_init(&ts);
    ck_assert_msg(train_checkpoint_load(ck, 16, &live, &ts, &oc, &o, &err) == EMO_OK, "%s", err.msg);
    ck_assert_msg(net_load(&saved, last, 16, NULL, NULL, &err) == EMO_OK, "%s", err.msg);
    const size_t np = net_param_count(saved);
    ck_assert_uint_eq(np, o.n);
    ck_assert_mem_eq(net_params(saved), net_optim_average(&o), np * sizeof(float));
    ck_assert_msg(memcmp(net_params(saved), net_params(live), np * sizeof(float)) != 0,
                  "last.emomodel holds the live weights, not their average");
    net_free(live);
    net_free(saved);
    net_optim_free(&o);
    train_state_free(&ts);
    free(ck);
    free(last);
    /* The per-epoch metrics match too (columns 3.. are not times). */
    char *ca = emo_path_join(a, "metrics.csv"), *cb = emo_path_join(b, "metrics.csv");
    for (int col = 3; col <= 8; col++) {
        double va[4], vb[4];
        ck_assert_int_eq(csv_column(ca, col, va, 4), 3);
        ck_assert_int_eq(csv_column(cb, col, vb, 4), 3);
        for (int r = 0; r < 3; r++) ck_assert_double_eq(va[r], vb[r]);
    }
    /* A resume with other options is refused. */
    rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' %s --resume --lr 1e-2", f.bin, f.train, f.val, b, opts);
    log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 1 && strstr(log, "other options"), "exit %d: %s", rc, log);
    free(log);
    free(ca);
    free(cb);
    free(a);
    free(b);
    fixture_close(&f);
}
END_TEST

START_TEST(sigkill_then_resume_equals_uninterrupted)
{
    Fixture f;
    fixture_open(&f);
    char *a = run_dir(&f, "a"), *k = run_dir(&f, "k");
    const char *opts = "--epochs 2 --lr 2e-3 " TINY;
    int rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' %s", f.bin, f.train, f.val, a, opts);
    ck_assert_int_eq(rc, 0);
    /* Kill -9 once the first checkpoint exists (whenever that is: the
     * point does not matter, the result must not depend on it). */
    rc = ts_run(f.log,
                "'%s' --shards '%s' --val '%s' -o '%s' %s --checkpoint-every 3 & pid=$!; "
                "while [ ! -f '%s/checkpoint.emomodel' ] && kill -0 $pid 2>/dev/null; do sleep 0.02; done; "
                "kill -9 $pid 2>/dev/null; wait $pid; exit 0",
                f.bin, f.train, f.val, k, opts, k);
    ck_assert_int_eq(rc, 0);
    rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' %s --checkpoint-every 3 --resume", f.bin, f.train,
                f.val, k, opts);
    char *log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, log);
    free(log);
    char *pa = emo_path_join(a, "last.emomodel"), *pk = emo_path_join(k, "last.emomodel");
    ck_assert_msg(files_equal(pa, pk), "last.emomodel differs after kill -9 and resume");
    free(pa);
    free(pk);
    free(a);
    free(k);
    fixture_close(&f);
}
END_TEST

/* Flips a byte in the middle of the second shard (size unchanged). */
static char *corrupt_second_shard(const char *dir)
{
    EmoManifest m;
    ck_assert_int_eq(emo_manifest_load(dir, &m, NULL), EMO_OK);
    char *path = emo_path_join(dir, m.shards[1].name);
    uint8_t *data;
    size_t size;
    ck_assert_int_eq(emo_read_file(path, 0, &data, &size, NULL), EMO_OK);
    data[size / 2] ^= 0xA5;
    ts_write(path, data, size);
    free(data);
    free(path);
    char *name = strdup(m.shards[1].name);
    emo_manifest_free(&m);
    return name;
}

/* Reductions over the batch go in fixed chunks, in a fixed order (BN
 * statistics and gradients, weight gradients): the model does not depend
 * on the thread count. Widths of 16 and 32 take the register-tiled 1x1
 * kernels and the fused batch norms (net_conv.c). */
START_TEST(same_model_at_any_thread_count)
{
    Fixture f;
    fixture_open(&f);
    char *a = run_dir(&f, "t1"), *b = run_dir(&f, "t2");
    const char *opts = "--epochs 1 --lr 2e-3 --arch 16,16:32 --batch 16 --seed 7 --quiet";
    ck_assert_int_eq(ts_run(f.log, "'%s' --shards '%s' -o '%s' %s --threads 1", f.bin, f.train, a, opts), 0);
    ck_assert_int_eq(ts_run(f.log, "'%s' --shards '%s' -o '%s' %s --threads 2", f.bin, f.train, b, opts), 0);
    char *ma = emo_path_join(a, "last.emomodel"), *mb = emo_path_join(b, "last.emomodel");
    ck_assert_msg(files_equal(ma, mb), "%s and %s differ", ma, mb);
    free(ma);
    free(mb);
    free(a);
    free(b);
    fixture_close(&f);
}
END_TEST

START_TEST(early_stop_and_monitor)
{
    Fixture f;
    fixture_open(&f);
    char *rd = run_dir(&f, "run");
    /* With a rate of 1e-12 the weights do not change, so the monitored
     * accuracy does not improve on epoch 1: patience 1 stops after epoch 2
     * of 5. --bn-recal 0: the re-estimated BN statistics average 50 batches
     * taken from a new place in the data each epoch, which moved this tiny
     * validation set's accuracy by a face; this test is about the stopping
     * rule, not BN. */
    int rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' --epochs 5 --lr 1e-12 --early-stop 1 "
                           "--monitor accuracy --bn-recal 0 " TINY, f.bin, f.train, f.val, rd);
    char *log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, log);
    ck_assert_msg(strstr(log, "early stop after epoch 2"), "no early stop in: %s", log);
    ck_assert_ptr_nonnull(strstr(log, "best epoch 1 of 2"));
    free(log);
    char *csv = emo_path_join(rd, "metrics.csv");
    double best[8];
    ck_assert_int_eq(csv_column(csv, 16, best, 8), 2);
    ck_assert(best[0] == 1 && best[1] == 0);
    free(csv);
    free(rd);
    fixture_close(&f);
}
END_TEST

START_TEST(corrupt_shard_is_named_or_skipped)
{
    Fixture f;
    fixture_open(&f);
    char *shard = corrupt_second_shard(f.train);
    char *rd = run_dir(&f, "run");
    int rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' --epochs 1 " TINY, f.bin, f.train, f.val, rd);
    char *log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, log);
    ck_assert_msg(strstr(log, shard) && strstr(log, "block"), "no shard/block in: %s", log);
    free(log);
    rc = ts_run(f.log, "'%s' --shards '%s' --val '%s' -o '%s' --epochs 1 --skip-corrupt " TINY, f.bin, f.train,
                f.val, rd);
    log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, log);
    ck_assert_msg(strstr(log, "skipped 1 corrupt block"), "no skip report in: %s", log);
    free(log);
    free(rd);
    free(shard);
    fixture_close(&f);
}
END_TEST

START_TEST(eval_confusion_sums_to_records)
{
    Fixture f;
    fixture_open(&f);
    char *rd = run_dir(&f, "run");
    int rc = ts_run(f.log, "'%s' --shards '%s' -o '%s' --epochs 1 --quiet " TINY, f.bin, f.train, rd);
    ck_assert_int_eq(rc, 0);
    char *model = emo_path_join(rd, "best.emomodel");
    char *js = emo_path_join(f.dir, "report.json"), *png = emo_path_join(f.dir, "cm.png");
    /* Evaluate on both datasets at once: 280 + 70 records. */
    rc = ts_run(f.log, "'%s' --eval --model '%s' --shards '%s' --shards '%s' --json '%s' --confusion-png '%s' --threads 1",
                f.bin, model, f.train, f.val, js, png);
    char *log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, log);
    ck_assert_ptr_nonnull(strstr(log, "records 350"));
    ck_assert_ptr_nonnull(strstr(log, "macro-F1"));
    free(log);
    json_error_t je;
    json_t *j = json_load_file(js, 0, &je);
    ck_assert_msg(j != NULL, "%s", je.text);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 350);
    json_t *cm = json_object_get(j, "confusion");
    ck_assert_int_eq(json_array_size(cm), 7);
    json_int_t sum = 0, support = 0;
    for (size_t r = 0; r < 7; r++)
        for (size_t c = 0; c < 7; c++) sum += json_integer_value(json_array_get(json_array_get(cm, r), c));
    json_t *per = json_object_get(j, "per_class");
    for (size_t r = 0; r < 7; r++) support += json_integer_value(json_object_get(json_array_get(per, r), "support"));
    ck_assert_int_eq(sum, 350);
    ck_assert_int_eq(support, 350);
    double acc = json_real_value(json_object_get(j, "accuracy"));
    ck_assert(acc >= 0 && acc <= 1);
    json_decref(j);
    EmoImage img;
    EmoError err;
    ck_assert_int_eq(emo_image_load(png, NULL, &img, &err), EMO_OK);
    emo_image_free(&img);
    /* --tta: the same records, two passes each; the JSON says so. */
    rc = ts_run(f.log, "'%s' --eval --tta --model '%s' --shards '%s' --json '%s' --quiet", f.bin, model, f.val, js);
    ck_assert_int_eq(rc, 0);
    j = json_load_file(js, 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "tta")), "flip");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 70);
    json_decref(j);
    /* --tta=shift:1: ten views each, still one answer per record; a bad mode is a usage error. */
    rc = ts_run(f.log, "'%s' --eval --tta=shift:1 --model '%s' --shards '%s' --json '%s'", f.bin, model, f.val, js);
    log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 0 && strstr(log, "shift:1, 10 views"), "exit %d: %s", rc, log);
    free(log);
    j = json_load_file(js, 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "tta")), "shift:1");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 70);
    json_decref(j);
    rc = ts_run(f.log, "'%s' --eval --tta=crops --model '%s' --shards '%s'", f.bin, model, f.val);
    log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 2 && strstr(log, "crops"), "exit %d: %s", rc, log);
    free(log);
    /* -o is the same as --json; a missing model is an error naming it. */
    rc = ts_run(f.log, "'%s' --eval --model '%s' --shards '%s' -o '%s' --quiet", f.bin, model, f.val, js);
    ck_assert_int_eq(rc, 0);
    rc = ts_run(f.log, "'%s' --eval --model '%s/nope.emomodel' --shards '%s'", f.bin, f.dir, f.val);
    log = ts_slurp(f.log, NULL);
    ck_assert_msg(rc == 1 && strstr(log, "nope.emomodel"), "exit %d: %s", rc, log);
    free(log);
    free(js);
    free(png);
    free(model);
    free(rd);
    fixture_close(&f);
}
END_TEST

START_TEST(usage_help_version)
{
    Fixture f;
    f.dir = ts_tempdir();
    f.bin = ts_bin("emotrain");
    f.log = emo_path_join(f.dir, "log.txt");
    const char *bad[] = {"", "--shards x", "--shards x -o y --epochs 0", "--shards x -o y --class-weights bogus",
                         "--shards x -o y --schedule linear", "--shards x -o y --optimizer rmsprop",
                         "--shards x -o y --augment spin", "--shards x -o y --arch 8", "--eval --shards x",
                         "--shards x -o y --no-such-option", "--shards x -o y extra", "--shards x -o y --ema 1",
                         "--shards x -o y --ema -0.5", "--shards x -o y --tta=flip"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ts_run(f.log, "'%s' %s", f.bin, bad[i]);
        ck_assert_msg(rc == 2, "'%s' exited %d", bad[i], rc);
    }
    ck_assert_int_eq(ts_run(f.log, "'%s' --help", f.bin), 0);
    char *help = ts_slurp(f.log, NULL);
    const char *documented[] = {"--shards", "--val", "--output", "--epochs", "--batch", "--lr", "--optimizer",
                                "--momentum", "--nesterov", "--weight-decay", "--schedule", "--warmup",
                                "--class-weights", "--focal", "--label-smoothing", "--early-stop", "--monitor",
                                "--threads", "--seed", "--resume", "--skip-corrupt", "--quiet", "--eval",
                                "--model", "--confusion-png", "--json", "--augment", "--hflip", "--arch",
                                "--checkpoint-every", "--bench", "--tta", "EXIT STATUS"};
    for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++)
        ck_assert_msg(strstr(help, documented[i]) != NULL, "--help does not mention %s", documented[i]);
    free(help);
    ck_assert_int_eq(ts_run(f.log, "'%s' --version", f.bin), 0);
    char *ver = ts_slurp(f.log, NULL);
    ck_assert_ptr_nonnull(strstr(ver, "emotrain " EMO_VERSION));
    free(ver);
    ts_rmtree(f.dir);
    free(f.dir);
    free(f.bin);
    free(f.log);
}
END_TEST

/* Debian 12's OpenBLAS falls back to its SSE3 kernels ("Prescott") on CPUs
 * newer than it, at a third of the training speed; emotrain must notice and
 * run on AVX2 or AVX-512 kernels wherever the CPU has them (net_blas.h), and
 * must leave an OPENBLAS_CORETYPE the user set alone. */
START_TEST(gemm_kernels_match_the_cpu)
{
    char *dir = ts_tempdir(), *bin = ts_bin("emotrain"), *log = emo_path_join(dir, "log.txt");
    ck_assert_int_eq(ts_run(log, "env -u OPENBLAS_CORETYPE '%s' --version", bin), 0);
    char *ver = ts_slurp(log, NULL);
    const char *k = strstr(ver, "OpenBLAS kernels: ");
    ck_assert_msg(k != NULL, "--version does not name the kernels: %s", ver);
    k += strlen("OpenBLAS kernels: ");
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        const char *fast[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
        int ok = 0;
        for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++)
            ok |= strncmp(k, fast[i], strlen(fast[i])) == 0 && k[strlen(fast[i])] == ')';
        ck_assert_msg(ok, "an AVX2 CPU runs the GEMMs on: %s", k);
    }
    free(ver);
    ck_assert_int_eq(ts_run(log, "OPENBLAS_CORETYPE=Prescott '%s' --version", bin), 0);
    ver = ts_slurp(log, NULL);
    ck_assert_msg(strstr(ver, "OpenBLAS kernels: Prescott)") != NULL, "the user's choice was not kept: %s", ver);
    free(ver);
    ts_rmtree(dir);
    free(dir);
    free(bin);
    free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("emotrain");
    TCase *tc = tcase_create("emotrain");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, loss_falls_and_run_dir_complete);
    tcase_add_test(tc, stopped_and_resumed_equals_uninterrupted);
    tcase_add_test(tc, sigkill_then_resume_equals_uninterrupted);
    tcase_add_test(tc, same_model_at_any_thread_count);
    tcase_add_test(tc, early_stop_and_monitor);
    tcase_add_test(tc, corrupt_shard_is_named_or_skipped);
    tcase_add_test(tc, eval_confusion_sums_to_records);
    tcase_add_test(tc, usage_help_version);
    tcase_add_test(tc, gemm_kernels_match_the_cpu);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
