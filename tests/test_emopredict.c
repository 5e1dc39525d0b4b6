/* test_emopredict.c: emopredict and the predict library (train/predict_*.h).
 *
 * The model is made here (a tiny network with seeded random weights, saved
 * with net_save): the checks are about the program's contract, not about
 * accuracy. JAFFE photos from ../shared/data are used when present (the
 * test says so and skips that part when they are not). */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emo_fs.h"
#include "emo_image.h"
#include "net_model.h"
#include "predict_classify.h"
#include "predict_format.h"
#include "test_support.h"

static char *make_model(const char *dir)
{
    NetConfig cfg;
    net_config_default(&cfg);
    cfg.stem_width[0] = cfg.stem_width[1] = 8;
    cfg.n_modules = 1;
    cfg.module_width[0] = 16;
    NetModel *m;
    EmoError err;
    ck_assert_msg(net_create(&m, &cfg, 4, &err) == EMO_OK, "%s", err.msg);
    net_init_params(m, 3);
    char *path = emo_path_join(dir, "tiny.emomodel");
    ck_assert_msg(net_save(m, path, NULL, 0, &err) == EMO_OK, "%s", err.msg);
    net_free(m);
    return path;
}

static void write_png(const char *path, int w, int h, int channels, uint64_t seed, int flat)
{
    EmoImage img;
    ck_assert_int_eq(emo_image_alloc(&img, w, h, channels, NULL), EMO_OK);
    uint64_t st = seed;
    for (size_t i = 0; i < (size_t)w * h * channels; i++) img.pixels[i] = flat ? 128 : (uint8_t)ts_rand(&st);
    EmoError err;
    ck_assert_msg(emo_image_save_png(&img, path, &err) == EMO_OK, "%s", err.msg);
    emo_image_free(&img);
}

/* Checks one face line: the keys, a known label, probabilities summing to 1. */
static void check_face_line(json_t *o, const char *file)
{
    static const char *const classes[7] = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};
    ck_assert_str_eq(json_string_value(json_object_get(o, "file")), file);
    json_t *box = json_object_get(o, "box");
    ck_assert(json_is_object(box));
    ck_assert_int_gt(json_integer_value(json_object_get(box, "w")), 0);
    const char *label = json_string_value(json_object_get(o, "label"));
    ck_assert_ptr_nonnull(label);
    json_t *probs = json_object_get(o, "probabilities");
    double sum = 0, best = -1;
    const char *arg = NULL;
    for (int c = 0; c < 7; c++) {
        json_t *v = json_object_get(probs, classes[c]);
        ck_assert_msg(json_is_number(v), "no probability for %s", classes[c]);
        double p = json_number_value(v);
        ck_assert(p >= 0 && p <= 1);
        sum += p;
        if (p > best) {
            best = p;
            arg = classes[c];
        }
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-3);
    ck_assert_str_eq(label, arg);
    ck_assert_double_eq_tol(json_number_value(json_object_get(o, "confidence")), best, 1e-4);
}

/* Runs emopredict; returns its exit code and its stdout lines parsed. */
static int predict(const char *dir, json_t **lines, int cap, int *n, const char *fmt_args)
{
    char *bin = ts_bin("emopredict");
    char *out = emo_path_join(dir, "out.jsonl"), *errp = emo_path_join(dir, "err.txt");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", bin, fmt_args, out, errp);
    int rc = ts_run(NULL, "%s", cmd);
    char *text = ts_slurp(out, NULL);
    ck_assert_ptr_nonnull(text);
    *n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        ck_assert_msg(o != NULL, "not JSON: %s (%s)", line, je.text);
        ck_assert_int_lt(*n, cap);
        lines[(*n)++] = o;
    }
    free(text);
    free(bin);
    free(out);
    free(errp);
    return rc;
}

static void free_lines(json_t **lines, int n)
{
    for (int i = 0; i < n; i++) json_decref(lines[i]);
}

START_TEST(no_face_crop_and_bad_file)
{
    char *dir = ts_tempdir();
    char *model = make_model(dir);
    char *flat = emo_path_join(dir, "flat.png"), *crop = emo_path_join(dir, "crop.png"),
         *bad = emo_path_join(dir, "bad.jpg");
    write_png(flat, 320, 200, 3, 1, 1);
    write_png(crop, 48, 48, 1, 5, 0);
    ts_write(bad, "not an image", 12);
    char args[4096];
    snprintf(args, sizeof args, "--model '%s' '%s' '%s' '%s'", model, flat, crop, bad);
    json_t *lines[8];
    int n;
    int rc = predict(dir, lines, 8, &n, args);
    /* One unreadable image: exit 1, but the others are still answered. */
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "file")), flat);
    ck_assert_int_eq(json_integer_value(json_object_get(lines[0], "faces")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(lines[0], "width")), 320);
    /* A 48x48 crop with no detectable face is taken whole (--whole auto). */
    check_face_line(lines[1], crop);
    ck_assert(json_is_true(json_object_get(lines[1], "whole_image")));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(lines[2], "error")), "bad.jpg"));
    free_lines(lines, n);
    /* Without the bad file: exit 0 (no face is an answer, not a failure);
     * --whole never: the crop is "no face" too. */
    snprintf(args, sizeof args, "--model '%s' --whole never '%s' '%s'", model, flat, crop);
    rc = predict(dir, lines, 8, &n, args);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(json_integer_value(json_object_get(lines[1], "faces")), 0);
    free_lines(lines, n);
    /* A missing model: exit 1 naming it; usage errors: exit 2. */
    snprintf(args, sizeof args, "--model '%s/none.emomodel' '%s'", dir, flat);
    ck_assert_int_eq(predict(dir, lines, 8, &n, args), 1);
    ck_assert_int_eq(predict(dir, lines, 8, &n, "--model x"), 2);
    ck_assert_int_eq(predict(dir, lines, 8, &n, "--whole sometimes x.png"), 2);
    ck_assert_int_eq(predict(dir, lines, 8, &n, "--bogus x.png"), 2);
    char *bin = ts_bin("emopredict"), *log = emo_path_join(dir, "help.txt");
    ck_assert_int_eq(ts_run(log, "'%s' --help", bin), 0);
    char *help = ts_slurp(log, NULL);
    ck_assert_ptr_nonnull(strstr(help, "--annotate"));
    ck_assert_ptr_nonnull(strstr(help, "Exit status"));
    free(help);
    free(log);
    free(bin);
    free(flat);
    free(crop);
    free(bad);
    free(model);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(jaffe_faces_and_annotation)
{
    const char *data = ts_shared_data();
    char jaffe[4096];
    if (data) snprintf(jaffe, sizeof jaffe, "%s/jaffe-dev/happy/KA.HA1.29.png", data);
    if (!data || access(jaffe, R_OK) != 0) {
        fprintf(stderr, "test_emopredict: ../shared/data/jaffe-dev missing: JAFFE check skipped\n");
        return;
    }
    char *dir = ts_tempdir();
    char *model = make_model(dir);
    char *ann = emo_path_join(dir, "ann.png");
    char args[8192];
    snprintf(args, sizeof args, "--model '%s' --annotate '%s' '%s'", model, ann, jaffe);
    json_t *lines[8];
    int n;
    ck_assert_int_eq(predict(dir, lines, 8, &n, args), 0);
    ck_assert_int_eq(n, 1);
    check_face_line(lines[0], jaffe);
    ck_assert(json_is_false(json_object_get(lines[0], "whole_image")));
    json_t *box = json_object_get(lines[0], "box");
    int bx = (int)json_integer_value(json_object_get(box, "x")), by = (int)json_integer_value(json_object_get(box, "y"));
    int bw = (int)json_integer_value(json_object_get(box, "w"));
    /* The face of a 256x256 JAFFE portrait is large and roughly central. */
    ck_assert(bw > 100 && bx > 10 && bx + bw < 250 && by > 10);
    free_lines(lines, n);
    /* The annotated picture: same size, colored where the box is, gray elsewhere. */
    EmoImage src, out;
    EmoDecodeOptions rgb = {.want_channels = 3};
    ck_assert_int_eq(emo_image_load(jaffe, &rgb, &src, NULL), EMO_OK);
    ck_assert_int_eq(emo_image_load(ann, &rgb, &out, NULL), EMO_OK);
    ck_assert_int_eq(out.width, src.width);
    ck_assert_int_eq(out.height, src.height);
    int colored = 0, changed_far = 0;
    for (int y = 0; y < out.height; y++)
        for (int x = 0; x < out.width; x++) {
            const uint8_t *p = out.pixels + 3 * ((size_t)y * out.width + x);
            const uint8_t *q = src.pixels + 3 * ((size_t)y * src.width + x);
            colored += p[0] != p[1] || p[1] != p[2];
            int near = x >= bx - 40 && x <= bx + bw + 40 && y >= by - 40 && y <= by + bw + 40;
            if (!near && memcmp(p, q, 3) != 0) changed_far++;
        }
    ck_assert_int_gt(colored, 4 * bw);
    ck_assert_int_eq(changed_far, 0);
    emo_image_free(&src);
    emo_image_free(&out);
    free(ann);
    free(model);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(library_classify_and_json)
{
    char *dir = ts_tempdir();
    char *model = make_model(dir);
    NetModel *m;
    EmoError err;
    ck_assert_int_eq(net_load(&m, model, 4, NULL, NULL, &err), EMO_OK);
    /* 10 crops in batches of at most 4; the same crop twice gives the same answer. */
    uint8_t crops[10 * 48 * 48];
    uint64_t st = 9;
    for (size_t i = 0; i < sizeof crops; i++) crops[i] = (uint8_t)ts_rand(&st);
    memcpy(crops + 9 * 48 * 48, crops, 48 * 48);
    PredictFace f[10];
    memset(f, 0, sizeof f);
    ck_assert_int_eq(predict_classify(m, crops, 10, NULL, 0, f, &err), EMO_OK);
    for (int i = 0; i < 10; i++) {
        float s = 0;
        for (int c = 0; c < 7; c++) s += f[i].probs[c];
        ck_assert_float_eq_tol(s, 1.0f, 1e-4f);
        ck_assert(f[i].label >= 0 && f[i].label < 7);
    }
    ck_assert_mem_eq(f[0].probs, f[9].probs, 7 * sizeof(float));
    /* With flip TTA: the mean of a crop's and its mirror's probabilities, so
     * a crop and its mirror image get the same answer. */
    uint8_t pair[2 * 48 * 48];
    memcpy(pair, crops, 48 * 48);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++) pair[48 * 48 + y * 48 + x] = crops[y * 48 + 47 - x];
    PredictFace g[2], plain[2];
    memset(g, 0, sizeof g);
    memset(plain, 0, sizeof plain);
    TrainView views[TRAIN_TTA_MAX_VIEWS];
    char desc[32];
    ck_assert_int_eq(train_tta_parse("flip", views, desc, sizeof desc, &err), 2);
    ck_assert_int_eq(predict_classify(m, pair, 2, views, 2, g, &err), EMO_OK);
    ck_assert_int_eq(predict_classify(m, pair, 2, NULL, 0, plain, &err), EMO_OK);
    for (int c = 0; c < 7; c++) {
        ck_assert_float_eq_tol(g[0].probs[c], g[1].probs[c], 1e-6f);
        ck_assert_float_eq_tol(g[0].probs[c], 0.5f * (plain[0].probs[c] + plain[1].probs[c]), 1e-6f);
    }
    /* The ten shifted views of a crop are those of its mirror image, so
     * both get the same answer, which differs from the flip-only one. */
    ck_assert_int_eq(train_tta_parse("shift:3", views, desc, sizeof desc, &err), 10);
    ck_assert_str_eq(desc, "shift:3");
    PredictFace h[2];
    memset(h, 0, sizeof h);
    ck_assert_int_eq(predict_classify(m, pair, 2, views, 10, h, &err), EMO_OK);
    float diff = 0;
    for (int c = 0; c < 7; c++) {
        ck_assert_float_eq_tol(h[0].probs[c], h[1].probs[c], 1e-6f);
        diff += fabsf(h[0].probs[c] - g[0].probs[c]);
    }
    ck_assert_msg(diff > 1e-6f, "shift TTA gave the flip TTA's answer");
    char *line = predict_json_face("a \"b\".png", 0, 1, &f[0], net_config(m));
    json_t *o = json_loads(line, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "file")), "a \"b\".png");
    json_decref(o);
    free(line);
    net_free(m);
    free(model);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("emopredict");
    TCase *tc = tcase_create("emopredict");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, library_classify_and_json);
    tcase_add_test(tc, no_face_crop_and_bad_file);
    tcase_add_test(tc, jaffe_faces_and_annotation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
