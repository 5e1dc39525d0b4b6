/* test_pipelines.c: the make fragments in pipelines/ and the report.
 *
 * - With stand-in programs (shell scripts that log their arguments and write
 *   the files each stage is known by), the fragments rerun exactly what an
 *   option change needs: augmentation options rerun augment and train but not
 *   ingest; EPOCHS reruns train onwards; THREADS reruns nothing; a failed
 *   stage keeps the previous outputs and is redone next time; make -q / -n
 *   tell the truth without writing anything.
 * - emoreport's page renders in headless Chromium with every image loaded
 *   (skipped with a note when chromium is not installed).
 * - With the real programs (skipped while they are not built): the FER2013
 *   pipeline on a tiny slice of the shipped sample, end to end, timestamps
 *   checked stage by stage; the crawl pipeline against a local HTTP server
 *   serving tests/crawl/site; the folder pipeline on a few JAFFE photos
 *   (detect + align; skipped without ../shared/data).
 *
 * Run from the repository root (scripts/run_tests.sh does). */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emo_fs.h"
#include "emo_image.h"
#include "test_support.h"

static const char *const classes[7] = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};

/* ---- helpers ---- */

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static struct timespec mtime_of(const char *path)
{
    struct stat st;
    struct timespec z = {0, 0};
    if (stat(path, &st) != 0) return z;
    return st.st_mtim;
}

static int same_time(struct timespec a, struct timespec b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    ck_assert(vasprintf(&s, fmt, ap) >= 0);
    va_end(ap);
    return s;
}

static int count_lines_with(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) n++;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

static int have_program(const char *name)
{
    return ts_run(NULL, "command -v %s >/dev/null 2>&1", name) == 0;
}

/* EMO_BIN as an absolute path (malloc'd). */
static char *bin_dir(void)
{
    char *p = ts_bin("x");
    p[strlen(p) - 2] = 0;
    char buf[4096];
    ck_assert_msg(realpath(p, buf) != NULL, "no program folder %s", p);
    free(p);
    return strdup(buf);
}

static int real_program(const char *name)
{
    char *p = ts_bin(name);
    int ok = access(p, X_OK) == 0;
    free(p);
    return ok;
}

/* The repository root is the working directory (run_tests.sh runs there). */
static void check_cwd(void)
{
    ck_assert_msg(exists("pipelines/common.mk"), "run from the repository root (pipelines/common.mk not found)");
}

/* ---- stand-in programs ---- */

/* One script, linked under each program's name. It appends "NAME ARGS" to
 * $FAKE_LOG, fails when $FAKE_FAIL names it, and writes the files that the
 * fragments wait for. */
static const char *fake_script =
    "#!/bin/sh\n"
    "name=$(basename \"$0\")\n"
    "echo \"$name $*\" >> \"$FAKE_LOG\"\n"
    "out=; prev=; json=; ev=0\n"
    "for a in \"$@\"; do\n"
    "  case \"$prev\" in -o) out=$a;; --json) json=$a;; esac\n"
    "  [ \"$a\" = --eval ] && ev=1\n"
    "  prev=$a\n"
    "done\n"
    "# a training run that fails has written a checkpoint first (like a killed run)\n"
    "if [ $name = emotrain ] && [ $ev = 0 ]; then mkdir -p \"$out\"; echo ckpt > \"$out/checkpoint.emomodel\"; fi\n"
    "if [ \"${FAKE_FAIL:-}\" = \"$name\" ]; then echo \"$name: failing on purpose\" >&2; exit 1; fi\n"
    "man() { mkdir -p \"$1\"; printf '{\"num_records\": %s}\\n' \"$2\" > \"$1/manifest.json\"; }\n"
    "case $name in\n"
    "  emoingest) man \"$out/train\" 10; man \"$out/val\" 4; echo '{\"rejected\":[]}' > \"$out/ingest-report.json\";;\n"
    "  emoaugment) man \"$out\" 20;;\n"
    "  emotrain) if [ $ev = 1 ]; then echo '{\"accuracy\":0.5}' > \"$json\";\n"
    "            else mkdir -p \"$out\"; echo model > \"$out/best.emomodel\"; echo epoch,train_loss > \"$out/metrics.csv\"; fi;;\n"
    "  emopredict) echo '{\"file\":\"x.jpg\",\"label\":\"happy\"}';;\n"
    "  emoshard) touch \"$out\";;\n"
    "  emoreport) mkdir -p \"$out\"; echo '<html></html>' > \"$out/index.html\";;\n"
    "esac\n";

typedef struct {
    char *dir, *bin, *data, *out, *log;
} Fake;

static void fake_setup(Fake *f)
{
    check_cwd();
    f->dir = ts_tempdir();
    f->bin = pathf("%s/bin", f->dir);
    f->data = pathf("%s/data", f->dir);
    f->out = pathf("%s/out", f->dir);
    f->log = pathf("%s/log", f->dir);
    ck_assert_int_eq(emo_mkdir_p(f->bin, NULL), EMO_OK);
    char *script = pathf("%s/fake.sh", f->bin);
    ts_write(script, fake_script, strlen(fake_script));
    ck_assert_int_eq(chmod(script, 0755), 0);
    const char *progs[] = {"emoingest", "emoaugment", "emotrain", "emopredict", "emoreport", "emoshard"};
    for (int i = 0; i < 6; i++) {
        char *l = pathf("%s/%s", f->bin, progs[i]);
        ck_assert_int_eq(symlink("fake.sh", l), 0);
        free(l);
    }
    free(script);
    char *cls = pathf("%s/train/happy", f->data);
    ck_assert_int_eq(emo_mkdir_p(cls, NULL), EMO_OK);
    char *img = pathf("%s/a.jpg", cls);
    ts_write(img, "x", 1);
    free(img);
    free(cls);
}

static void fake_teardown(Fake *f)
{
    ts_rmtree(f->dir);
    free(f->dir);
    free(f->bin);
    free(f->data);
    free(f->out);
    free(f->log);
}

/* Runs the fer2013 fragment with the stand-ins; returns make's exit status.
 * The log of program runs is reset first; `extra` is appended to the command. */
static int fake_make(Fake *f, const char *extra)
{
    unlink(f->log);
    char *out = pathf("%s/make.out", f->dir);
    int rc = ts_run(out, "FAKE_LOG='%s' make --no-print-directory -f pipelines/fer2013.mk BIN='%s' DATA='%s' OUT='%s' %s",
                    f->log, f->bin, f->data, f->out, extra);
    if (rc != 0 && !strstr(extra, "FAKE_FAIL") && !strstr(extra, "-q")) {
        char *text = ts_slurp(out, NULL);
        fprintf(stderr, "make failed:\n%s\n", text ? text : "");
        free(text);
    }
    free(out);
    return rc;
}

static char *fake_log(Fake *f)
{
    char *s = ts_slurp(f->log, NULL);
    return s ? s : strdup("");
}

START_TEST(stages_rerun_only_what_changed)
{
    Fake f;
    fake_setup(&f);
    ck_assert_int_eq(fake_make(&f, ""), 0);
    char *log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emoingest "), 1);
    ck_assert_int_eq(count_lines_with(log, "emoaugment "), 1);
    ck_assert_int_eq(count_lines_with(log, "emotrain --shards"), 1);
    ck_assert_int_eq(count_lines_with(log, "emotrain --eval"), 1);
    ck_assert_int_eq(count_lines_with(log, "emoreport "), 1);
    /* every stage is told the thread count; the eval runs on val (no test split) */
    ck_assert_ptr_nonnull(strstr(log, "--threads"));
    ck_assert_ptr_nonnull(strstr(log, "ingest/val --threads"));
    free(log);
    char *report = pathf("%s/report/index.html", f.out);
    ck_assert(exists(report));

    /* Nothing changed: nothing runs, and make -q agrees. */
    ck_assert_int_eq(fake_make(&f, ""), 0);
    log = fake_log(&f);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_int_eq(fake_make(&f, "-q report"), 0);

    /* THREADS does not change results: nothing reruns. */
    ck_assert_int_eq(fake_make(&f, "THREADS=7 -q report"), 0);

    /* Augmentation options: make -q says out of date, make -n shows augment
     * and train but not ingest, and neither writes anything. */
    char *ing_manifest = pathf("%s/ingest/train/manifest.json", f.out);
    char *aug_manifest = pathf("%s/aug/train/manifest.json", f.out);
    char *model = pathf("%s/train/best.emomodel", f.out);
    struct timespec ing0 = mtime_of(ing_manifest);
    struct timespec aug0 = mtime_of(aug_manifest), model0 = mtime_of(model);
    ck_assert_int_ne(fake_make(&f, "AUG='--copies 2 --flip 0.5' -q report"), 0);
    ck_assert_int_eq(fake_make(&f, "AUG='--copies 2 --flip 0.5' -n report"), 0);
    char *nout = pathf("%s/make.out", f.dir);
    char *dry = ts_slurp(nout, NULL);
    ck_assert_ptr_nonnull(dry);
    ck_assert_ptr_nonnull(strstr(dry, "emoaugment"));
    ck_assert_ptr_nonnull(strstr(dry, "emotrain --shards"));
    ck_assert_ptr_null(strstr(dry, "emoingest"));
    free(dry);
    ck_assert_int_eq(fake_make(&f, "-q report"), 0);   /* the dry runs changed nothing */

    /* ... and for real: augment, train, eval and report rerun; ingest does not. */
    usleep(20000);
    ck_assert_int_eq(fake_make(&f, "AUG='--copies 2 --flip 0.5'"), 0);
    log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emoingest "), 0);
    ck_assert_int_eq(count_lines_with(log, "emoaugment "), 1);
    ck_assert_ptr_nonnull(strstr(log, "--copies 2 --flip 0.5"));
    ck_assert_int_eq(count_lines_with(log, "emotrain --shards"), 1);
    ck_assert_int_eq(count_lines_with(log, "emotrain --eval"), 1);
    ck_assert_int_eq(count_lines_with(log, "emoreport "), 1);
    free(log);
    ck_assert(same_time(mtime_of(ing_manifest), ing0));
    ck_assert(!same_time(mtime_of(aug_manifest), aug0));
    ck_assert(!same_time(mtime_of(model), model0));

    /* EPOCHS: train onwards. */
    ck_assert_int_eq(fake_make(&f, "AUG='--copies 2 --flip 0.5' EPOCHS=3"), 0);
    log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emoingest "), 0);
    ck_assert_int_eq(count_lines_with(log, "emoaugment "), 0);
    ck_assert_int_eq(count_lines_with(log, "emotrain --shards"), 1);
    ck_assert_ptr_nonnull(strstr(log, "--epochs 3"));
    free(log);

    /* New data: everything. */
    char *img = pathf("%s/train/happy/b.jpg", f.data);
    ts_write(img, "yy", 2);
    ck_assert_int_eq(fake_make(&f, "AUG='--copies 2 --flip 0.5' EPOCHS=3"), 0);
    log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emoingest "), 1);
    ck_assert_int_eq(count_lines_with(log, "emoaugment "), 1);
    ck_assert_int_eq(count_lines_with(log, "emotrain --shards"), 1);
    free(log);

    /* AUG=off trains on the ingested faces directly, without augmenting. */
    ck_assert_int_eq(fake_make(&f, "AUG=off EPOCHS=3"), 0);
    log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emoaugment "), 0);
    ck_assert_ptr_nonnull(strstr(log, "emotrain --shards "));
    ck_assert_ptr_nonnull(strstr(log, "/ingest/train --val"));
    free(log);

    free(img);
    free(nout);
    free(ing_manifest);
    free(aug_manifest);
    free(model);
    free(report);
    fake_teardown(&f);
}
END_TEST

START_TEST(failed_stage_keeps_old_outputs_and_reruns)
{
    Fake f;
    fake_setup(&f);
    ck_assert_int_eq(fake_make(&f, "EPOCHS=2"), 0);
    char *model = pathf("%s/train/best.emomodel", f.out);
    char *tmp = pathf("%s/train.tmp", f.out);
    struct timespec m0 = mtime_of(model);

    /* The trainer fails: make fails, the previous model stays, eval and the
     * report are not redone from it. */
    ck_assert_int_ne(fake_make(&f, "EPOCHS=3 FAKE_FAIL=emotrain"), 0);
    ck_assert(exists(model));
    ck_assert(same_time(mtime_of(model), m0));
    char *log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emotrain --eval"), 0);
    ck_assert_int_eq(count_lines_with(log, "emoreport "), 0);
    free(log);

    /* The next run with the same options resumes the interrupted run from
     * its checkpoint, then evaluates and reports. */
    ck_assert_int_eq(fake_make(&f, "EPOCHS=3"), 0);
    log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emoingest "), 0);
    ck_assert_int_eq(count_lines_with(log, "emotrain --shards"), 1);
    ck_assert_ptr_nonnull(strstr(log, "--resume"));
    ck_assert_int_eq(count_lines_with(log, "emotrain --eval"), 1);
    free(log);
    ck_assert(!exists(tmp));

    /* Interrupted, then rerun with other options: a fresh start, no --resume. */
    ck_assert_int_ne(fake_make(&f, "EPOCHS=4 FAKE_FAIL=emotrain"), 0);
    ck_assert(exists(tmp));
    ck_assert_int_eq(fake_make(&f, "EPOCHS=5"), 0);
    log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emotrain --shards"), 1);
    ck_assert_ptr_null(strstr(log, "--resume"));
    free(log);

    /* Interrupted, then the training set changes: a fresh start too. */
    ck_assert_int_ne(fake_make(&f, "EPOCHS=5 AUG='--copies 3' FAKE_FAIL=emotrain"), 0);
    usleep(20000);
    char *newimg = pathf("%s/train/happy/c.jpg", f.data);
    ts_write(newimg, "zzz", 3);
    free(newimg);
    ck_assert_int_eq(fake_make(&f, "EPOCHS=5 AUG='--copies 3'"), 0);
    log = fake_log(&f);
    ck_assert_int_eq(count_lines_with(log, "emoingest "), 1);
    ck_assert_ptr_null(strstr(log, "--resume"));
    free(log);

    /* A failing report leaves no half-written index.html behind. */
    char *report = pathf("%s/report/index.html", f.out);
    unlink(report);
    ck_assert_int_ne(fake_make(&f, "EPOCHS=3 FAKE_FAIL=emoreport"), 0);
    ck_assert(!exists(report));
    free(report);
    free(model);
    free(tmp);
    fake_teardown(&f);
}
END_TEST

START_TEST(fragments_reject_missing_inputs)
{
    check_cwd();
    char *dir = ts_tempdir();
    char *out = pathf("%s/make.out", dir);
    ck_assert_int_ne(ts_run(out, "make --no-print-directory -f pipelines/fer2013.mk OUT=%s/o", dir), 0);
    char *text = ts_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(text, "DATA"));
    free(text);
    ck_assert_int_ne(ts_run(out, "make --no-print-directory -f pipelines/crawl.mk OUT=%s/o", dir), 0);
    ck_assert_int_ne(ts_run(out, "make --no-print-directory -f pipelines/crawl.mk START=http://127.0.0.1:9/ OUT=%s/o", dir), 0);
    text = ts_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(text, "LABEL"));
    free(text);
    /* help names the commands each stage runs */
    ck_assert_int_eq(ts_run(out, "make --no-print-directory -f pipelines/folder.mk help DATA=x BIN=/nonexistent"), 0);
    text = ts_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(text, "emoaugment --shards"));
    free(text);
    free(out);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- the report in a browser ---- */

/* Opens index.html in headless Chromium and checks that the page's own
 * check (data-images-ok on <body>) saw every <img> load; also takes a
 * screenshot beside it. Returns 0 when chromium is missing (skipped). */
static int check_renders(const char *report_dir, int min_images)
{
    if (!have_program("chromium")) {
        fprintf(stderr, "test_pipelines: NOTE: chromium not installed, the browser check of %s is skipped "
                        "(scripts/deps.sh --extra installs it)\n", report_dir);
        return 0;
    }
    char *profile = ts_tempdir();
    char *dom = pathf("%s/dom.html", profile);
    char *shot = pathf("%s/screenshot.png", report_dir);
    const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                        "--disable-background-networking --disable-component-update --disable-sync "
                        "--disable-dev-shm-usage --hide-scrollbars --virtual-time-budget=10000";
    int rc = ts_run(NULL, "timeout 120 chromium %s --user-data-dir='%s' --dump-dom 'file://%s/index.html' >'%s' 2>/dev/null",
                    flags, profile, report_dir, dom);
    ck_assert_msg(rc == 0, "chromium --dump-dom failed (%d)", rc);
    char *text = ts_slurp(dom, NULL);
    ck_assert_ptr_nonnull(text);
    char *ok = strstr(text, "data-images-ok=\"");
    ck_assert_msg(ok != NULL, "the page's image check did not run");
    char *broken = strstr(text, "data-images-broken=\"");
    ck_assert_msg(strncmp(ok, "data-images-ok=\"yes\"", 20) == 0, "images failed to load: %.200s", broken ? broken : "?");
    char *count = strstr(text, "data-images=\"");
    ck_assert_ptr_nonnull(count);
    int n = atoi(count + 13);
    ck_assert_msg(n >= min_images, "only %d images on the page, expected at least %d", n, min_images);
    free(text);
    /* The screenshot, for people (and proof the page paints). */
    rc = ts_run(NULL, "timeout 120 chromium %s --user-data-dir='%s' --window-size=1280,2400 --screenshot='%s' "
                      "'file://%s/index.html' >/dev/null 2>&1",
                flags, profile, shot, report_dir);
    ck_assert_int_eq(rc, 0);
    EmoImage img;
    ck_assert_int_eq(emo_image_load(shot, NULL, &img, NULL), EMO_OK);
    ck_assert_int_eq(img.width, 1280);
    emo_image_free(&img);
    ts_rmtree(profile);
    free(profile);
    free(dom);
    free(shot);
    return n;
}

/* Each PNG in the report decodes and is not tiny. */
static int check_pngs(const char *report_dir)
{
    DIR *d = opendir(report_dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".png") != 0 || strcmp(de->d_name, "screenshot.png") == 0) continue;
        char *p = pathf("%s/%s", report_dir, de->d_name);
        EmoImage img;
        EmoError err;
        ck_assert_msg(emo_image_load(p, NULL, &img, &err) == EMO_OK, "%s", err.msg);
        ck_assert_msg(img.width >= 100 && img.height >= 48, "%s is %dx%d", p, img.width, img.height);
        emo_image_free(&img);
        free(p);
        n++;
    }
    closedir(d);
    return n;
}

static void write_manifest(const char *dir, const int counts[7], int augmented)
{
    ck_assert_int_eq(emo_mkdir_p(dir, NULL), EMO_OK);
    char body[2048];
    int n = 0, total = 0;
    for (int c = 0; c < 7; c++) total += counts[c];
    n += snprintf(body + n, sizeof body - n,
                  "{\"format\":\"emo-dataset\",\"format_version\":1,\"num_records\":%d,\"class_names\":[", total);
    for (int c = 0; c < 7; c++) n += snprintf(body + n, sizeof body - n, "%s\"%s\"", c ? "," : "", classes[c]);
    n += snprintf(body + n, sizeof body - n, "],\"class_counts\":{");
    for (int c = 0; c < 7; c++) n += snprintf(body + n, sizeof body - n, "%s\"%s\":%d", c ? "," : "", classes[c], counts[c]);
    n += snprintf(body + n, sizeof body - n,
                  "},\"unlabeled\":0,\"augmented\":%d,\"image\":{\"width\":48,\"height\":48,\"channels\":1},"
                  "\"raw_pixel_bytes\":%d,\"shards\":[{\"name\":\"shard-00000.emo\",\"records\":%d,\"bytes\":1,"
                  "\"xxh64\":\"0123456789abcdef\"}],\"produced_by\":null}\n",
                  augmented, total * 2304, total);
    char *p = pathf("%s/manifest.json", dir);
    ts_write(p, body, (size_t)n);
    free(p);
}

START_TEST(report_renders_with_every_picture)
{
    check_cwd();
    char *emoreport = ts_bin("emoreport");
    ck_assert_msg(access(emoreport, X_OK) == 0, "%s not built", emoreport);
    char *dir = ts_tempdir();

    /* Inputs as the stages write them. */
    char *metrics = pathf("%s/metrics.csv", dir);
    FILE *fp = fopen(metrics, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "epoch,train_loss,train_acc,val_loss,val_acc,val_macro_f1");
    for (int c = 0; c < 7; c++) fprintf(fp, ",val_recall_%s", classes[c]);
    fprintf(fp, ",seconds\n");
    for (int e = 1; e <= 6; e++) {
        fprintf(fp, "%d,%.3f,%.3f,%.3f,%.3f,%.3f", e, 1.9 - 0.2 * e, 0.2 + 0.08 * e, 2.0 - 0.15 * e, 0.18 + 0.06 * e,
                0.15 + 0.06 * e);
        for (int c = 0; c < 7; c++) fprintf(fp, ",%.3f", 0.1 + 0.05 * e + 0.02 * c);
        fprintf(fp, ",%d\n", 30 * e);
    }
    fclose(fp);
    char *eval = pathf("%s/eval.json", dir);
    const char *ej =
        "{\"records\":140,\"accuracy\":0.3,\"macro_f1\":0.28,"
        "\"classes\":[\"angry\",\"disgust\",\"fear\",\"happy\",\"neutral\",\"sad\",\"surprise\"],"
        "\"confusion\":[[8,1,2,3,2,3,1],[2,6,3,2,2,3,2],[3,1,5,3,3,3,2],[1,0,1,15,1,1,1],"
        "[2,1,2,3,7,3,2],[3,1,3,2,3,6,2],[1,0,2,2,1,1,13]]}";
    ts_write(eval, ej, strlen(ej));
    char *ingest = pathf("%s/ingest-report.json", dir);
    const char *ij = "{\"inputs\":702,\"records\":700,\"rejected\":[{\"input\":\"x/a.jpg\",\"reason\":\"not an image\"},"
                     "{\"input\":\"x/b.jpg\",\"reason\":\"duplicate of x/c.jpg\"}]}";
    ts_write(ingest, ij, strlen(ij));
    const int train_counts[7] = {80, 80, 80, 80, 80, 80, 80}, val_counts[7] = {20, 20, 20, 20, 20, 20, 20};
    const int aug_counts[7] = {160, 160, 160, 160, 160, 160, 160};
    char *dtrain = pathf("%s/ing/train", dir), *dval = pathf("%s/ing/val", dir), *daug = pathf("%s/aug/train", dir);
    write_manifest(dtrain, train_counts, 0);
    write_manifest(dval, val_counts, 0);
    write_manifest(daug, aug_counts, 560);
    /* a preview sheet and a face for the predictions */
    EmoImage sheet;
    ck_assert_int_eq(emo_image_alloc(&sheet, 192, 96, 1, NULL), EMO_OK);
    for (int y = 0; y < 96; y++)
        for (int x = 0; x < 192; x++) sheet.pixels[y * 192 + x] = (uint8_t)((x * 4 + y * 2) & 255);
    char *preview = pathf("%s/preview.png", dir);
    ck_assert_int_eq(emo_image_save_png(&sheet, preview, NULL), EMO_OK);
    char *face = pathf("%s/face.png", dir);
    ck_assert_int_eq(emo_image_save_png(&sheet, face, NULL), EMO_OK);
    emo_image_free(&sheet);
    char *preds = pathf("%s/predictions.jsonl", dir);
    char *pj = pathf("{\"file\":\"%s\",\"box\":[0,0,48,48],\"label\":\"happy\",\"probabilities\":"
                     "{\"angry\":0.05,\"disgust\":0.01,\"fear\":0.04,\"happy\":0.7,\"neutral\":0.1,\"sad\":0.05,\"surprise\":0.05}}\n",
                     face);
    ts_write(preds, pj, strlen(pj));
    char *opts = pathf("%s/opts", dir);
    ck_assert_int_eq(emo_mkdir_p(opts, NULL), EMO_OK);
    char *o1 = pathf("%s/train", opts);
    ts_write(o1, "emotrain --epochs 6\n", 20);

    char *rep = pathf("%s/report", dir);
    char *out = pathf("%s/emoreport.out", dir);
    int rc = ts_run(out, "'%s' -o '%s' --title 'test <report>' --metrics '%s' --eval '%s' --ingest-report '%s' "
                         "--dataset train='%s' --dataset val='%s' --dataset 'train, augmented=%s' --preview '%s' "
                         "--predictions '%s' --opts '%s'",
                    emoreport, rep, metrics, eval, ingest, dtrain, dval, daug, preview, preds, opts);
    char *msg = ts_slurp(out, NULL);
    ck_assert_msg(rc == 0, "emoreport failed: %s", msg ? msg : "");
    free(msg);

    char *index = pathf("%s/index.html", rep);
    char *html = ts_slurp(index, NULL);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "test &lt;report&gt;"));    /* escaped */
    ck_assert_ptr_nonnull(strstr(html, "emotrain --epochs 6"));      /* the commands */
    ck_assert_ptr_nonnull(strstr(html, "duplicate"));                /* rejections grouped */
    ck_assert_ptr_nonnull(strstr(html, "140"));                      /* eval faces */
    const char *want[] = {"curves.png", "recall.png", "confusion.png", "classes.png", "data.png", "preview.png"};
    for (int i = 0; i < 6; i++) {
        if (!have_program("gnuplot") && i < 5) continue;
        ck_assert_msg(strstr(html, want[i]) != NULL, "index.html lacks %s", want[i]);
        char *p = pathf("%s/%s", rep, want[i]);
        ck_assert_msg(exists(p), "%s missing", p);
        free(p);
    }
    free(html);
    int npng = check_pngs(rep);
    ck_assert_int_ge(npng, have_program("gnuplot") ? 6 : 1);
    check_renders(rep, have_program("gnuplot") ? 7 : 2);

    /* Missing inputs: still a page, saying what is missing. */
    char *rep2 = pathf("%s/report2", dir);
    ck_assert_int_eq(ts_run(out, "'%s' -o '%s' --metrics '%s/nope.csv' --eval '%s/nope.json'", emoreport, rep2, dir, dir), 0);
    char *index2 = pathf("%s/index.html", rep2);
    html = ts_slurp(index2, NULL);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "No training metrics"));
    free(html);
    ck_assert_int_eq(ts_run(out, "'%s' --nonsense", emoreport), 2);

    free(index2);
    free(rep2);
    free(index);
    free(out);
    free(rep);
    free(o1);
    free(opts);
    free(pj);
    free(preds);
    free(face);
    free(preview);
    free(dtrain);
    free(dval);
    free(daug);
    free(ingest);
    free(eval);
    free(metrics);
    free(emoreport);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- the real programs ---- */

/* The programs are built and take the options the fragments give them. */
static int real_pipeline_ready(void)
{
    const char *progs[] = {"emoingest", "emoaugment", "emotrain", "emotrain", "emoreport", "emoshard"};
    const char *flag[] = {"--split", "--keep-original", "--shards", "--eval", "--dataset", "grid"};
    for (int i = 0; i < 6; i++) {
        char *p = ts_bin(progs[i]);
        int ok = real_program(progs[i]) && ts_run(NULL, "'%s' --help 2>&1 | grep -q -- '%s'", p, flag[i]) == 0;
        free(p);
        if (!ok) {
            fprintf(stderr, "test_pipelines: NOTE: %s (with %s) not built yet, real pipeline test skipped\n", progs[i],
                    flag[i]);
            return 0;
        }
    }
    return 1;
}

/* A tiny FER2013-style tree: N train and M val faces per class from the sample. */
static char *tiny_fer(const char *dir, int ntrain, int nval)
{
    char *data = pathf("%s/fer", dir);
    int rc = ts_run(NULL,
                    "set -e; for s in train:%d val:%d; do sp=${s%%:*}; n=${s#*:}; "
                    "for c in angry disgust fear happy neutral sad surprise; do mkdir -p '%s'/$sp/$c; "
                    "ls pipelines/sample/fer2013-mini/$sp/$c | head -n $n | while read f; do "
                    "cp pipelines/sample/fer2013-mini/$sp/$c/$f '%s'/$sp/$c/; done; done; done",
                    ntrain, nval, data, data);
    ck_assert_int_eq(rc, 0);
    return data;
}

START_TEST(fer2013_pipeline_end_to_end)
{
    check_cwd();
    if (!real_pipeline_ready()) return;
    char *dir = ts_tempdir();
    char *data = tiny_fer(dir, 8, 3);
    char *bin = bin_dir();
    char *out = pathf("%s/out", dir);
    char *log = pathf("%s/make.out", dir);
    const char *small = "EPOCHS=1 THREADS=2";
#define RUN_MAKE(extra)                                                                                     \
    ts_run(log, "make --no-print-directory -f pipelines/fer2013.mk BIN='%s' DATA='%s' OUT='%s' %s %s", bin, data, \
           out, small, extra)
    int rc = RUN_MAKE("AUG='--copies 1 --keep-original --flip 0.5'");
    char *text = ts_slurp(log, NULL);
    ck_assert_msg(rc == 0, "pipeline failed:\n%s", text ? text : "");
    ck_assert_ptr_nonnull(strstr(text, "Report: "));
    free(text);
    char *ing = pathf("%s/ingest/train/manifest.json", out);
    char *aug = pathf("%s/aug/train/manifest.json", out);
    char *model = pathf("%s/train/best.emomodel", out);
    char *eval = pathf("%s/eval.json", out);
    char *rep = pathf("%s/report", out);
    ck_assert(exists(ing) && exists(aug) && exists(model) && exists(eval));
    check_pngs(rep);
    check_renders(rep, 4);

    /* Up to date; then changed augmentation: augment and train rerun, ingest not. */
    ck_assert_int_eq(RUN_MAKE("AUG='--copies 1 --keep-original --flip 0.5' -q report"), 0);
    struct timespec t_ing = mtime_of(ing), t_aug = mtime_of(aug), t_model = mtime_of(model), t_eval = mtime_of(eval);
    rc = RUN_MAKE("AUG='--copies 1 --keep-original --rotate 5'");
    text = ts_slurp(log, NULL);
    ck_assert_msg(rc == 0, "rerun failed:\n%s", text ? text : "");
    ck_assert_ptr_null(strstr(text, "== ingest"));
    ck_assert_ptr_nonnull(strstr(text, "== augment"));
    ck_assert_ptr_nonnull(strstr(text, "== train"));
    free(text);
    ck_assert(same_time(mtime_of(ing), t_ing));
    ck_assert(!same_time(mtime_of(aug), t_aug));
    ck_assert(!same_time(mtime_of(model), t_model));
    ck_assert(!same_time(mtime_of(eval), t_eval));
#undef RUN_MAKE
    free(rep);
    free(eval);
    free(model);
    free(aug);
    free(ing);
    free(log);
    free(out);
    free(bin);
    free(data);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(folder_pipeline_on_photos)
{
    check_cwd();
    if (!real_pipeline_ready()) return;
    const char *shared = ts_shared_data();
    if (!shared) {
        fprintf(stderr, "test_pipelines: NOTE: ../shared/data missing, folder pipeline test skipped\n");
        return;
    }
    /* 3 JAFFE photos per class (256x256, uncropped): the detect + align path. */
    char *dir = ts_tempdir();
    char *data = pathf("%s/photos", dir);
    int rc = ts_run(NULL,
                    "set -e; for c in angry disgust fear happy neutral sad surprise; do mkdir -p '%s'/$c; "
                    "ls '%s/jaffe-dev/'$c | head -n 3 | while read f; do cp '%s/jaffe-dev/'$c/$f '%s'/$c/; done; done",
                    data, shared, shared, data);
    ck_assert_int_eq(rc, 0);
    char *bin = bin_dir();
    char *out = pathf("%s/out", dir);
    char *log = pathf("%s/make.out", dir);
    rc = ts_run(log,
                "make --no-print-directory -f pipelines/folder.mk BIN='%s' DATA='%s' OUT='%s' EPOCHS=1 THREADS=2 "
                "INGEST='--detect auto --split 0.6,0.4,0' AUG='--copies 1 --keep-original'",
                bin, data, out);
    char *text = ts_slurp(log, NULL);
    ck_assert_msg(rc == 0, "folder pipeline failed:\n%s", text ? text : "");
    free(text);
    /* the faces were found and aligned, not passed through */
    char *rep_json = pathf("%s/ingest/ingest-report.json", out);
    text = ts_slurp(rep_json, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "aligned_on_eyes"));
    free(text);
    char *samples = pathf("%s/ingest/samples.png", out);
    ck_assert(exists(samples));
    char *rep = pathf("%s/report", out);
    check_pngs(rep);
    check_renders(rep, 5);
    free(rep);
    free(samples);
    free(rep_json);
    free(log);
    free(out);
    free(bin);
    free(data);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/* Starts python3's http.server on 127.0.0.1 (a free port) serving `root`,
 * bounded by `timeout`; returns its pid and the port. */
static pid_t start_server(const char *root, const char *logdir, int *port)
{
    char *logp = pathf("%s/server.log", logdir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *lf = freopen(logp, "w", stdout);
        (void)lf;
        dup2(1, 2);
        setpgid(0, 0);
        execlp("timeout", "timeout", "300", "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
               "--directory", root, (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (int i = 0; i < 100 && !*port; i++) {
        usleep(100000);
        char *text = ts_slurp(logp, NULL);
        const char *p = text ? strstr(text, " port ") : NULL;
        if (p) *port = atoi(p + 6);
        free(text);
    }
    free(logp);
    if (!*port) {
        kill(-pid, SIGTERM);
        waitpid(pid, NULL, 0);
        ck_abort_msg("the local HTTP server did not start");
    }
    return pid;
}

static void stop_server(pid_t pid)
{
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

START_TEST(crawl_pipeline_from_local_server)
{
    check_cwd();
    if (!real_pipeline_ready()) return;
    if (!have_program("python3")) {
        fprintf(stderr, "test_pipelines: NOTE: python3 missing, crawl test skipped\n");
        return;
    }
    char *emoingest = ts_bin("emoingest");
    if (ts_run(NULL, "'%s' --help 2>&1 | grep -q -- --crawl", emoingest) != 0) {
        fprintf(stderr, "test_pipelines: NOTE: emoingest has no --crawl yet, crawl test skipped\n");
        free(emoingest);
        return;
    }
    free(emoingest);
    char *dir = ts_tempdir();
    char root[4096];
    ck_assert_ptr_nonnull(realpath("tests/crawl/site", root));
    int port;
    pid_t server = start_server(root, dir, &port);
    char *urls = pathf("%s/urls.txt", dir);
    ck_assert_int_eq(ts_run(NULL, "sed 's|@BASE@|http://127.0.0.1:%d|' tests/crawl/urls.txt.in > '%s'", port, urls), 0);
    char *bin = bin_dir();
    char *out = pathf("%s/out", dir);
    char *log = pathf("%s/make.out", dir);
    int rc = ts_run(log,
                    "timeout 600 make --no-print-directory -f pipelines/crawl.mk BIN='%s' OUT='%s' URLS='%s' "
                    "START=http://127.0.0.1:%d/index.html DEPTH=1 LABEL=happy EPOCHS=1 THREADS=2 "
                    "INGEST='--split 0.5,0.5,0 --rate 0' AUG='--copies 1 --keep-original'",
                    bin, out, urls, port);
    stop_server(server);
    char *text = ts_slurp(log, NULL);
    ck_assert_msg(rc == 0, "crawl pipeline failed:\n%s", text ? text : "");
    free(text);
    char *rep_json = pathf("%s/ingest/ingest-report.json", out);
    text = ts_slurp(rep_json, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "127.0.0.1"));   /* sources are the URLs */
    free(text);
    char *model = pathf("%s/train/best.emomodel", out);
    ck_assert(exists(model));
    char *rep = pathf("%s/report", out);
    check_renders(rep, 3);
    free(rep);
    free(model);
    free(rep_json);
    free(log);
    free(out);
    free(bin);
    free(urls);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    /* The fragments read these from the environment (make's ?=), and a
     * surrounding make (make test) would pass its flags down: start clean. */
    const char *vars[] = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "OUT", "EPOCHS", "THREADS", "SEED",
                          "AUG", "TRAIN", "INGEST", "EVAL_SPLIT", "PREDICT_IMAGES", "TITLE", "DATA", "URLS",
                          "START", "DEPTH", "LABEL", "BUILD", "BIN"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    Suite *s = suite_create("pipelines");
    TCase *tc = tcase_create("make");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, stages_rerun_only_what_changed);
    tcase_add_test(tc, failed_stage_keeps_old_outputs_and_reruns);
    tcase_add_test(tc, fragments_reject_missing_inputs);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("report");
    tcase_set_timeout(tr, 300);
    tcase_add_test(tr, report_renders_with_every_picture);
    suite_add_tcase(s, tr);
    TCase *te = tcase_create("end_to_end");
    tcase_set_timeout(te, 1200);
    tcase_add_test(te, fer2013_pipeline_end_to_end);
    tcase_add_test(te, crawl_pipeline_from_local_server);
    tcase_add_test(te, folder_pipeline_on_photos);
    suite_add_tcase(s, te);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
