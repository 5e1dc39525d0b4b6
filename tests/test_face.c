/* test_face.c: face detection and alignment (ingest/face_*.h).
 *
 * References are independent of the code under test: brute-force sums for
 * the integral images, hand-made cascades whose answer follows from their
 * design, and OpenCV's own outputs stored as fixtures in tests/data/face/
 * (made by gen_fixtures.py with cv2; the command is in each file's header).
 * Tests needing /usr/share/opencv4 or ../shared/data skip with a note. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emo_fs.h"
#include "emo_image.h"
#include "face_align.h"
#include "face_cascade.h"
#include "face_cascade_data.h"
#include "face_detect.h"
#include "face_eval.h"
#include "face_integral.h"
#include "face_resize.h"
#include "face_warp.h"
#include "test_support.h"

#define HAAR_DIR "/usr/share/opencv4/haarcascades"
#define LBP_DIR "/usr/share/opencv4/lbpcascades"
#define FIX_DIR "tests/data/face"

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int have_cascades(void)
{
    if (exists(HAAR_DIR "/haarcascade_frontalface_default.xml")) return 1;
    printf("note: %s missing, test skipped\n", HAAR_DIR);
    return 0;
}

static FaceCascade *load_or_fail(const char *path)
{
    FaceCascade *c = NULL;
    EmoError err;
    EmoStatus st = face_cascade_load(path, &c, &err);
    ck_assert_msg(st == EMO_OK, "%s", err.msg);
    return c;
}

static FaceCascade *load_xml(const char *xml, EmoStatus want, EmoError *err)
{
    FaceCascade *c = NULL;
    ck_assert_int_eq(face_cascade_load_memory(xml, strlen(xml), "test.xml", &c, err), want);
    return c;
}

/* The synthetic image of gen_fixtures.py. */
static void synth(uint8_t *img, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) img[y * w + x] = (uint8_t)((x * x * 3 + y * 7 + x * y * 5) % 251);
}

static void noise(uint8_t *img, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) img[i] = (uint8_t)(ts_rand(&s) >> 56);
}

/* ---- integral images ---- */

START_TEST(integral_sums_match_brute_force)
{
    enum { W = 37, H = 23 };
    uint8_t img[W * H];
    noise(img, sizeof img, 7);
    int st = W + 1;
    uint32_t sum[(W + 1) * (H + 1)], sq[(W + 1) * (H + 1)], tl[(W + 1) * (H + 1)];
    uint32_t scratch[1024];
    ck_assert_uint_le(face_integral_tilted_scratch(W, H), 1024);
    face_integral(img, W, H, W, sum, sq, st);
    face_integral_tilted(img, W, H, W, tl, st, scratch);
    for (int Y = 0; Y <= H; Y++)
        for (int X = 0; X <= W; X++) {
            uint64_t s = 0, q = 0, t = 0;
            for (int y = 0; y < Y; y++)
                for (int x = 0; x < W; x++) {
                    int v = img[y * W + x];
                    if (x < X) { s += v; q += (uint64_t)v * v; }
                    /* cv::integral's tilted definition */
                    if (abs(x - X + 1) <= Y - 1 - y) t += v;
                }
            ck_assert_uint_eq(sum[Y * st + X], s);
            ck_assert_uint_eq(sq[Y * st + X], q);
            ck_assert_uint_eq(tl[Y * st + X], t);
        }
}
END_TEST

START_TEST(squared_sum_window_survives_wraparound)
{
    /* 300x300 of 255: the total squared sum (5.85e9) wraps uint32, but a
     * window difference read in uint32 is exact (notes section 2). */
    enum { W = 300, H = 300 };
    uint8_t *img = malloc(W * H);
    memset(img, 255, W * H);
    uint32_t *sum = malloc(sizeof(uint32_t) * (W + 1) * (H + 1)), *sq = malloc(sizeof(uint32_t) * (W + 1) * (H + 1));
    face_integral(img, W, H, W, sum, sq, W + 1);
    int st = W + 1, x = 250, y = 260, w = 40, h = 30;
    uint32_t q = sq[y * st + x] - sq[y * st + x + w] - sq[(y + h) * st + x] + sq[(y + h) * st + x + w];
    ck_assert_uint_eq(q, (uint32_t)(w * h) * 65025u);
    ck_assert((uint64_t)W * H * 65025u > UINT32_MAX);
    free(img);
    free(sum);
    free(sq);
}
END_TEST

/* ---- resize and warp against cv2's output ---- */

/* Reads the next "<tag> w h" block of numbers from a fixture; 0 at EOF. */
static int read_block(FILE *f, const char *tag, int *w, int *h, uint8_t **px)
{
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char t[32];
        if (line[0] == '#') continue;
        if (sscanf(line, "%31s %d %d", t, w, h) == 3 && strcmp(t, tag) == 0) {
            *px = malloc((size_t)*w * *h);
            for (int i = 0; i < *w * *h; i++) {
                int v;
                ck_assert_int_eq(fscanf(f, "%d", &v), 1);
                (*px)[i] = (uint8_t)v;
            }
            return 1;
        }
    }
    return 0;
}

START_TEST(resize_matches_cv2_linear_exact)
{
    FILE *f = fopen(FIX_DIR "/cv_resize.txt", "r");
    if (!f) { printf("note: cv_resize.txt missing, test skipped\n"); return; }
    uint8_t src[40 * 30];
    synth(src, 40, 30);
    int w, h, cases = 0;
    uint8_t *want;
    while (read_block(f, "resize", &w, &h, &want)) {
        uint8_t *got = malloc((size_t)w * h);
        void *scratch = malloc(face_resize_scratch_bytes(40, 30, w, h));
        face_resize_linear_exact(src, 40, 30, 40, got, w, h, w, scratch);
        for (int i = 0; i < w * h; i++)
            ck_assert_msg(got[i] == want[i], "%dx%d pixel %d: got %d, cv2 %d", w, h, i, got[i], want[i]);
        free(got);
        free(scratch);
        free(want);
        cases++;
    }
    fclose(f);
    ck_assert_int_ge(cases, 5);
}
END_TEST

START_TEST(warp_matches_cv2_replicate)
{
    FILE *f = fopen(FIX_DIR "/cv_warp.txt", "r");
    if (!f) { printf("note: cv_warp.txt missing, test skipped\n"); return; }
    uint8_t src[40 * 30];
    synth(src, 40, 30);
    char line[4096];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        double cx, cy, ang, sc, tx, ty;
        if (sscanf(line, "params %lf %lf %lf %lf %lf %lf", &cx, &cy, &ang, &sc, &tx, &ty) != 6) continue;
        /* our rotation matrix must equal cv2.getRotationMatrix2D's (+ shift) */
        FaceAffine m = face_affine_rotate_scale(cx, cy, ang, sc, cx + tx, cy + ty);
        double M[6];
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert_int_eq(sscanf(line, "matrix %lf %lf %lf %lf %lf %lf", &M[0], &M[1], &M[2], &M[3], &M[4], &M[5]), 6);
        for (int i = 0; i < 6; i++) ck_assert_double_eq_tol(m.m[i], M[i], 1e-9);
        for (int i = 0; i < 6; i++) m.m[i] = M[i]; /* warp with cv2's exact doubles */
        int w, h;
        uint8_t *want;
        ck_assert(read_block(f, "warp", &w, &h, &want));
        uint8_t got[24 * 20];
        ck_assert(w == 24 && h == 20);
        face_warp_affine(src, 40, 30, 40, &m, got, w, h, w);
        for (int i = 0; i < w * h; i++)
            ck_assert_msg(got[i] == want[i], "case %d pixel (%d,%d): got %d, cv2 %d", cases, i % w, i / w, got[i], want[i]);
        free(want);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 4);
}
END_TEST

START_TEST(rotation_moves_known_points)
{
    /* A bright 3x3 dot at (30, 12) in a dark 64x48 image. Rotating by 30
     * degrees about (20, 20) with scale 1.5 and moving the centre to (24, 24)
     * must put the dot where the matrix sends (30, 12), and the inverse must
     * send it back. */
    enum { W = 64, H = 48, OW = 48, OH = 48 };
    uint8_t img[W * H], out[OW * OH];
    memset(img, 0, sizeof img);
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) img[(12 + dy) * W + 30 + dx] = 255;
    FaceAffine m = face_affine_rotate_scale(20, 20, 30, 1.5, 24, 24);
    double ex, ey;
    face_affine_apply(&m, 30, 12, &ex, &ey);
    /* by hand: v = (10, -8); CCW by 30 deg on screen (y down) then x1.5 */
    double c = cos(M_PI / 6), s = sin(M_PI / 6);
    ck_assert_double_eq_tol(ex, 24 + 1.5 * (c * 10 + s * -8), 1e-9);
    ck_assert_double_eq_tol(ey, 24 + 1.5 * (-s * 10 + c * -8), 1e-9);
    FaceAffine inv = face_affine_invert(&m);
    double bx, by;
    face_affine_apply(&inv, ex, ey, &bx, &by);
    ck_assert_double_eq_tol(bx, 30, 1e-9);
    ck_assert_double_eq_tol(by, 12, 1e-9);
    face_warp_affine(img, W, H, W, &m, out, OW, OH, OW);
    double sx = 0, sy = 0, sw = 0;
    for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++) {
            sx += out[y * OW + x] * x;
            sy += out[y * OW + x] * y;
            sw += out[y * OW + x];
        }
    ck_assert(sw > 0);
    ck_assert_double_eq_tol(sx / sw, ex, 0.3);
    ck_assert_double_eq_tol(sy / sw, ey, 0.3);
    /* replicate border: a warp that looks left of the image copies column 0 */
    uint8_t ramp[8 * 4], o2[4 * 4];
    for (int i = 0; i < 32; i++) ramp[i] = (uint8_t)(10 + (i % 8) * 20);
    FaceAffine shift = {{1, 0, 10, 0, 1, 0}}; /* dst = src + 10: dst x<10 reads src x<0 */
    face_warp_affine(ramp, 8, 4, 8, &shift, o2, 4, 4, 4);
    for (int i = 0; i < 16; i++) ck_assert_int_eq(o2[i], 10);
}
END_TEST

/* ---- hand-made cascades ---- */

/* 10x10 window, one stage, one stump on feature "right half minus left
 * half" (whole window -1, right half +2). Normalized by the window's
 * standard deviation, the value peaks at an exact dark|bright step: for a
 * 0|255 step it is 12750 / 8160 = 1.5625 (sums over the window and the
 * inner 8x8 variance rect); any other window scores lower. The node passes
 * values >= 1.5 (right leaf +1) and the stage needs a sum >= 0. */
static const char *STEP_XML =
    "<?xml version=\"1.0\"?>\n<opencv_storage>\n<cascade type_id=\"opencv-cascade-classifier\">"
    "<stageType>BOOST</stageType><featureType>HAAR</featureType><height>10</height><width>10</width>"
    "<featureParams><maxCatCount>0</maxCatCount></featureParams><stages><_>"
    "<stageThreshold>0.</stageThreshold><weakClassifiers><_><internalNodes>0 -1 0 1.5</internalNodes>"
    "<leafValues>-1. 1.</leafValues></_></weakClassifiers></_></stages>"
    "<features><_><rects><_>0 0 10 10 -1.</_><_>5 0 5 10 2.</_></rects></_></features>"
    "</cascade></opencv_storage>\n";

START_TEST(tiny_haar_cascade_finds_the_step)
{
    EmoError err;
    FaceCascade *c = load_xml(STEP_XML, EMO_OK, &err);
    int ww, wh;
    ck_assert_int_eq(face_cascade_window(c, &ww, &wh), 0);
    ck_assert(ww == 10 && wh == 10);
    enum { W = 64, H = 48 };
    uint8_t img[W * H];
    memset(img, 128, sizeof img);
    /* the step pattern at (20, 30): even coordinates, as scale 1 steps by 2 */
    for (int y = 30; y < 40; y++)
        for (int x = 20; x < 30; x++) img[y * W + x] = x < 25 ? 0 : 255;
    FaceDetectParams p;
    face_detect_params_default(&p);
    p.min_neighbors = 0;
    p.min_w = p.max_w = p.min_h = p.max_h = 10; /* one scale */
    FaceBox *b;
    int n;
    ck_assert_int_eq(face_detect(c, img, W, H, W, &p, &b, &n, &err), EMO_OK);
    ck_assert_int_eq(n, 1);
    ck_assert(b[0].x == 20 && b[0].y == 30 && b[0].w == 10 && b[0].h == 10);
    free(b);
    /* the same image on the scalar reference, window by window */
    FaceEvalLevel lv;
    static uint32_t sum[(W + 1) * (H + 1) + FACE_EVAL_PAD], sq[(W + 1) * (H + 1) + FACE_EVAL_PAD];
    void *feat = malloc(face_eval_prepare_bytes(c));
    face_integral(img, W, H, W, sum, sq, W + 1);
    face_eval_prepare(&lv, c, W + 1, feat);
    lv.sum = sum;
    lv.sqsum = sq;
    ck_assert_int_eq(face_eval_window(&lv, 20, 30), 1);
    ck_assert_int_eq(face_eval_window(&lv, 22, 30), 0);   /* stage 0 reject */
    ck_assert_int_eq(face_eval_window(&lv, 0, 0), -1);    /* flat: variance reject */
    free(feat);
    face_cascade_free(c);
}
END_TEST

/* LBP 3x3 window of 1x1 cells; the single node goes left (+1) only for
 * code 0, i.e. every neighbour darker than the centre: a strict local
 * maximum. Flat areas give code 255 (>= everywhere), so only bright dots
 * are detected, at (dot - 1), if the scan visits that window: at scale 1
 * the step is 2 and every stage-0 reject skips the next x, so along a flat
 * row only x = 0, 4, 8, ... are visited. */
static const char *DOT_LBP_XML =
    "<?xml version=\"1.0\"?>\n<opencv_storage>\n<cascade type_id=\"opencv-cascade-classifier\">"
    "<stageType>BOOST</stageType><featureType>LBP</featureType><height>3</height><width>3</width>"
    "<featureParams><maxCatCount>256</maxCatCount></featureParams><stages><_>"
    "<stageThreshold>0.</stageThreshold><weakClassifiers><_>"
    "<internalNodes>0 -1 0 1 0 0 0 0 0 0 0</internalNodes><leafValues>1. -1.</leafValues></_>"
    "</weakClassifiers></_></stages><features><_><rect>0 0 1 1</rect></_></features>"
    "</cascade></opencv_storage>\n";

START_TEST(tiny_lbp_cascade_finds_dots)
{
    EmoError err;
    FaceCascade *c = load_xml(DOT_LBP_XML, EMO_OK, &err);
    ck_assert_str_eq(face_cascade_feature_name(c), "LBP");
    enum { W = 40, H = 30 };
    uint8_t img[W * H];
    memset(img, 50, sizeof img);
    img[11 * W + 13] = 200; /* window (12, 10) */
    img[21 * W + 33] = 200; /* window (32, 20) */
    img[5 * W + 11] = 200;  /* window (10, 4): skipped after the reject at x = 8 */
    FaceDetectParams p;
    face_detect_params_default(&p);
    p.scale_factor = 1.5;   /* 3 * 1.5 rounds past the max size: one scale */
    p.min_neighbors = 0;
    p.min_w = p.max_w = p.min_h = p.max_h = 3;
    FaceBox *b;
    int n;
    ck_assert_int_eq(face_detect(c, img, W, H, W, &p, &b, &n, &err), EMO_OK);
    ck_assert_int_eq(n, 2);
    /* equal areas: sorted by y then x */
    ck_assert(b[0].x == 12 && b[0].y == 10);
    ck_assert(b[1].x == 32 && b[1].y == 20);
    free(b);
    face_cascade_free(c);
}
END_TEST

/* ---- loader errors ---- */

START_TEST(malformed_and_non_cascade_xml_are_errors)
{
    EmoError err;
    char *trunc = strdup(STEP_XML);
    trunc[strlen(trunc) / 2] = 0;
    load_xml(trunc, EMO_ERR_FORMAT, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "test.xml"));
    ck_assert_ptr_nonnull(strstr(err.msg, "malformed"));
    free(trunc);

    load_xml("<?xml version=\"1.0\"?><html><body/></html>", EMO_ERR_FORMAT, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "not an OpenCV cascade"));
    load_xml("<?xml version=\"1.0\"?><opencv_storage><camera_matrix>1 2 3</camera_matrix></opencv_storage>",
             EMO_ERR_FORMAT, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "not an OpenCV cascade"));

    /* a feature index past the feature list */
    char *bad = strdup(STEP_XML);
    char *p = strstr(bad, "0 -1 0 1.5");
    p[5] = '7';
    load_xml(bad, EMO_ERR_FORMAT, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "feature"));
    free(bad);
    /* a rect outside the 10x10 window */
    bad = strdup(STEP_XML);
    p = strstr(bad, "5 0 5 10 2.");
    p[0] = '9';
    load_xml(bad, EMO_ERR_FORMAT, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "outside the window"));
    free(bad);
    /* a number that is not one */
    bad = strdup(STEP_XML);
    p = strstr(bad, "-1. 1.");
    p[0] = 'x';
    load_xml(bad, EMO_ERR_FORMAT, &err);
    free(bad);
    /* HOG is a cascade we do not support */
    bad = strdup(STEP_XML);
    p = strstr(bad, "HAAR");
    memcpy(p, "HOG ", 4);
    load_xml(bad, EMO_ERR_UNSUPPORTED, &err);
    free(bad);

    FaceCascade *c = NULL;
    ck_assert_int_eq(face_cascade_load("/nonexistent/cascade.xml", &c, &err), EMO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/cascade.xml"));
    ck_assert_ptr_null(c);
    face_cascade_free(NULL);
}
END_TEST

START_TEST(every_opencv_cascade_loads)
{
    if (!have_cascades()) return;
    static const char *files[] = {
        HAAR_DIR "/haarcascade_frontalface_default.xml", HAAR_DIR "/haarcascade_frontalface_alt2.xml",
        HAAR_DIR "/haarcascade_eye.xml", HAAR_DIR "/haarcascade_eye_tree_eyeglasses.xml",
        HAAR_DIR "/haarcascade_smile.xml", HAAR_DIR "/haarcascade_frontalface_alt_tree.xml",
        HAAR_DIR "/haarcascade_licence_plate_rus_16stages.xml", LBP_DIR "/lbpcascade_frontalface.xml",
        LBP_DIR "/lbpcascade_frontalface_improved.xml",
    };
    /* window sizes and stage counts as listed in the notes, section 1 */
    static const int want[][3] = {{24, 24, 25}, {20, 20, 20}, {20, 20, 24}, {20, 20, -1}, {36, 18, -1},
                                  {20, 20, -1}, {64, 16, 16},  {24, 24, 20}, {45, 45, -1}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (!exists(files[i])) continue;
        FaceCascade *c = load_or_fail(files[i]);
        int w, h;
        face_cascade_window(c, &w, &h);
        ck_assert_msg(w == want[i][0] && h == want[i][1], "%s: window %dx%d", files[i], w, h);
        if (want[i][2] > 0) ck_assert_int_eq(face_cascade_stage_count(c), want[i][2]);
        face_cascade_free(c);
    }
    /* counts from the notes: frontalface_default 2913 stumps/features */
    FaceCascade *c = load_or_fail(HAAR_DIR "/haarcascade_frontalface_default.xml");
    ck_assert_int_eq(c->ntrees, 2913);
    ck_assert_int_eq(c->nfeatures, 2913);
    ck_assert(c->stumps_only && !c->has_tilted);
    face_cascade_free(c);
    if (exists(HAAR_DIR "/haarcascade_eye_tree_eyeglasses.xml")) {
        c = load_or_fail(HAAR_DIR "/haarcascade_eye_tree_eyeglasses.xml");
        ck_assert(c->has_tilted && c->max_tree_nodes == 3);
        face_cascade_free(c);
    }
}
END_TEST

/* ---- detection edge cases ---- */

START_TEST(small_black_and_white_images_give_no_boxes)
{
    EmoError err;
    FaceCascade *c = have_cascades() ? load_or_fail(HAAR_DIR "/haarcascade_frontalface_default.xml")
                                     : load_xml(STEP_XML, EMO_OK, &err);
    FaceDetectParams p;
    face_detect_params_default(&p);
    ck_assert(p.scale_factor == 1.1 && p.min_neighbors == 3 && p.min_w == 0 && p.max_w == 0);
    FaceBox *b = (FaceBox *)1;
    int n = -1;
    uint8_t small[9 * 7];
    noise(small, sizeof small, 3);
    ck_assert_int_eq(face_detect(c, small, 9, 7, 9, &p, &b, &n, &err), EMO_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(b);
    uint8_t *img = malloc(120 * 100);
    for (int v = 0; v <= 255; v += 255) {
        memset(img, v, 120 * 100);
        p.min_neighbors = 0; /* not even a raw window */
        ck_assert_int_eq(face_detect(c, img, 120, 100, 120, &p, &b, &n, &err), EMO_OK);
        ck_assert_int_eq(n, 0);
    }
    p.scale_factor = 1.0;
    ck_assert_int_eq(face_detect(c, img, 120, 100, 120, &p, &b, &n, &err), EMO_ERR_ARG);
    free(img);
    face_cascade_free(c);
}
END_TEST

/* Accept-all cascade (as tests/compare/accept_all.xml): every window with
 * enough variance is a detection, so raw output shows which windows the
 * scan visits. */
static const char *ACCEPT_XML =
    "<?xml version=\"1.0\"?>\n<opencv_storage>\n<cascade type_id=\"opencv-cascade-classifier\">"
    "<stageType>BOOST</stageType><featureType>HAAR</featureType><height>10</height><width>10</width>"
    "<stages><_><stageThreshold>-100.</stageThreshold><weakClassifiers><_><internalNodes>0 -1 0 0."
    "</internalNodes><leafValues>1. 1.</leafValues></_></weakClassifiers></_></stages>"
    "<features><_><rects><_>0 0 10 10 -1.</_><_>0 0 5 5 4.</_></rects></_></features>"
    "</cascade></opencv_storage>\n";

START_TEST(min_size_over_the_image_uses_the_closest_scale)
{
    /* cv2: when no window size lies in [minSize, maxSize], the one closest
     * to minSize is scanned. 10 * 1.25^k fitting 50: 10 12 16 20 24 31 38
     * 48, so minSize 60 scans 48x48 windows only, and minSize 40 with
     * maxSize 30 scans 38x38. */
    EmoError err;
    FaceCascade *c = load_xml(ACCEPT_XML, EMO_OK, &err);
    uint8_t img[50 * 50];
    noise(img, sizeof img, 5);
    FaceDetectParams p;
    face_detect_params_default(&p);
    p.scale_factor = 1.25;
    p.min_neighbors = 0;
    int sizes[2][3] = {{60, 0, 48}, {40, 30, 38}};
    for (int k = 0; k < 2; k++) {
        p.min_w = p.min_h = sizes[k][0];
        p.max_w = p.max_h = sizes[k][1];
        FaceBox *b;
        int n;
        ck_assert_int_eq(face_detect(c, img, 50, 50, 50, &p, &b, &n, &err), EMO_OK);
        ck_assert_int_gt(n, 0);
        for (int i = 0; i < n; i++) ck_assert(b[i].h == sizes[k][2] || b[i].y + b[i].h == 50);
        free(b);
    }
    face_cascade_free(c);
}
END_TEST

static void check_rows_same(const FaceCascade *c, const uint8_t *img, int W, int H)
{
    /* the vector row scan against the scalar reference, on one level */
    int st = W + 1;
    size_t n = (size_t)st * (H + 1) + FACE_EVAL_PAD;
    uint32_t *sum = calloc(n, 4), *sq = calloc(n, 4), *tl = calloc(n, 4);
    uint32_t *scr = malloc(face_integral_tilted_scratch(W, H) * 4);
    void *feat = malloc(face_eval_prepare_bytes(c));
    face_integral(img, W, H, W, sum, sq, st);
    face_integral_tilted(img, W, H, W, tl, st, scr);
    FaceEvalLevel lv;
    face_eval_prepare(&lv, c, st, feat);
    lv.sum = sum;
    lv.sqsum = sq;
    lv.tilted = c->has_tilted ? tl : NULL;
    int nx = W - c->win_w + 1;
    int *a = malloc(sizeof(int) * nx), *b = malloc(sizeof(int) * nx);
    for (int step = 1; step <= 2; step++)
        for (int y = 0; y + c->win_h <= H; y += step) {
            int na = face_eval_row(&lv, y, nx, step, a), nb = face_eval_row_scalar(&lv, y, nx, step, b);
            ck_assert_int_eq(na, nb);
            for (int i = 0; i < na; i++) ck_assert_int_eq(a[i], b[i]);
        }
    free(a);
    free(b);
    free(sum);
    free(sq);
    free(tl);
    free(scr);
    free(feat);
}

START_TEST(vector_scan_equals_scalar_reference)
{
    if (!have_cascades()) return;
    const char *jroot = ts_shared_data();
    static const char *files[] = {HAAR_DIR "/haarcascade_frontalface_default.xml",
                                  HAAR_DIR "/haarcascade_frontalface_alt2.xml",
                                  HAAR_DIR "/haarcascade_eye_tree_eyeglasses.xml", LBP_DIR "/lbpcascade_frontalface.xml"};
    EmoImage im = {0};
    char path[4096];
    if (jroot) {
        snprintf(path, sizeof path, "%s/jaffe-dev/angry/KA.AN1.39.png", jroot);
        EmoDecodeOptions o = {1, 0};
        if (emo_image_load(path, &o, &im, NULL) != EMO_OK) memset(&im, 0, sizeof im);
    }
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (!exists(files[i])) continue;
        FaceCascade *c = load_or_fail(files[i]);
        if (im.pixels) {
            /* a real face at a scale where windows pass deep stages */
            uint8_t *half = malloc(128 * 128);
            void *scratch = malloc(face_resize_scratch_bytes(256, 256, 128, 128));
            face_resize_linear_exact(im.pixels, im.width, im.height, im.width, half, 128, 128, 128, scratch);
            check_rows_same(c, half, 128, 128);
            free(half);
            free(scratch);
        }
        uint8_t noisy[70 * 50];
        noise(noisy, sizeof noisy, 11 + i);
        check_rows_same(c, noisy, 70, 50);
        face_cascade_free(c);
    }
    emo_image_free(&im);
}
END_TEST

START_TEST(threads_do_not_change_boxes)
{
    EmoError err;
    const char *jroot = ts_shared_data();
    if (!have_cascades() || !jroot) {
        printf("note: needs cascades and ../shared/data, test skipped\n");
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/jaffe-dev/happy/NA.HA2.203.png", jroot);
    EmoImage im;
    EmoDecodeOptions o = {1, 0};
    ck_assert_int_eq(emo_image_load(path, &o, &im, &err), EMO_OK);
    FaceCascade *c = load_or_fail(HAAR_DIR "/haarcascade_eye.xml");
    FaceDetectParams p;
    face_detect_params_default(&p);
    p.min_neighbors = 1;
    FaceBox *b1, *b2;
    int n1, n2;
    p.threads = 1;
    ck_assert_int_eq(face_detect(c, im.pixels, im.width, im.height, im.width, &p, &b1, &n1, &err), EMO_OK);
    p.threads = 2;
    ck_assert_int_eq(face_detect(c, im.pixels, im.width, im.height, im.width, &p, &b2, &n2, &err), EMO_OK);
    ck_assert_int_gt(n1, 1);
    ck_assert_int_eq(n1, n2);
    ck_assert(memcmp(b1, b2, sizeof *b1 * n1) == 0);
    free(b1);
    free(b2);
    face_cascade_free(c);
    emo_image_free(&im);
}
END_TEST

/* ---- OpenCV's boxes on real photos ---- */

typedef struct {
    char cascade[128];
    double scale;
    int neigh, min;
    char path[256];
    int x, y, w, h;
} FixBox;

START_TEST(jaffe_boxes_equal_opencv_fixture)
{
    const char *jroot = ts_shared_data();
    FILE *f = fopen(FIX_DIR "/jaffe_opencv_boxes.tsv", "r");
    if (!have_cascades() || !jroot || !f) {
        printf("note: needs cascades, ../shared/data and the fixture, test skipped\n");
        if (f) fclose(f);
        return;
    }
    FixBox *fx = malloc(sizeof *fx * 2000);
    int nf = 0;
    char line[4096], images[6][128];
    int nimg = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "# images:", 9) == 0) {
            char *tok = strtok(line + 9, " \n");
            while (tok && nimg < 6) {
                snprintf(images[nimg++], sizeof images[0], "%s", tok);
                tok = strtok(NULL, " \n");
            }
            continue;
        }
        if (line[0] == '#') continue;
        FixBox *b = &fx[nf];
        if (sscanf(line, "%127s %lf %d %d %255s %d %d %d %d", b->cascade, &b->scale, &b->neigh, &b->min, b->path,
                   &b->x, &b->y, &b->w, &b->h) == 9 && nf < 1999)
            nf++;
    }
    fclose(f);
    ck_assert_int_eq(nimg, 6);
    ck_assert_int_gt(nf, 50);
    int checked = 0;
    EmoError err;
    for (int i = 0; i < nf; i++) {
        /* one run per (config, image), at the first fixture line of the config */
        if (i > 0 && strcmp(fx[i].cascade, fx[i - 1].cascade) == 0 && fx[i].scale == fx[i - 1].scale &&
            fx[i].neigh == fx[i - 1].neigh && fx[i].min == fx[i - 1].min)
            continue;
        char cpath[512];
        snprintf(cpath, sizeof cpath, "%s/%s", strncmp(fx[i].cascade, "lbp", 3) == 0 ? LBP_DIR : HAAR_DIR,
                 fx[i].cascade);
        FaceCascade *c = load_or_fail(cpath);
        FaceDetectParams p;
        face_detect_params_default(&p);
        p.scale_factor = fx[i].scale;
        p.min_neighbors = fx[i].neigh;
        p.min_w = p.min_h = fx[i].min;
        for (int k = 0; k < nimg; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/jaffe-dev/%s", jroot, images[k]);
            EmoImage im;
            EmoDecodeOptions o = {1, 0};
            ck_assert_int_eq(emo_image_load(path, &o, &im, &err), EMO_OK);
            FaceBox *b;
            int n;
            ck_assert_int_eq(face_detect(c, im.pixels, im.width, im.height, im.width, &p, &b, &n, &err), EMO_OK);
            /* every fixture box of this config and image is found, and no other */
            int want = 0;
            for (int j = i; j < nf && strcmp(fx[j].cascade, fx[i].cascade) == 0 && fx[j].scale == fx[i].scale &&
                            fx[j].neigh == fx[i].neigh && fx[j].min == fx[i].min;
                 j++) {
                if (strcmp(fx[j].path, images[k]) != 0) continue;
                want++;
                int found = 0;
                for (int m = 0; m < n; m++)
                    if (b[m].x == fx[j].x && b[m].y == fx[j].y && b[m].w == fx[j].w && b[m].h == fx[j].h) found = 1;
                ck_assert_msg(found, "%s %s: OpenCV box %d %d %d %d not found", fx[i].cascade, images[k], fx[j].x,
                              fx[j].y, fx[j].w, fx[j].h);
            }
            ck_assert_msg(n == want, "%s %s: %d boxes, OpenCV %d", fx[i].cascade, images[k], n, want);
            checked += n;
            free(b);
            emo_image_free(&im);
        }
        face_cascade_free(c);
    }
    ck_assert_int_eq(checked, nf);
    free(fx);
}
END_TEST

/* ---- alignment ---- */

START_TEST(fallback_crop_is_the_box)
{
    /* no eye cascade: the crop is the box (margin 0) resized; on a
     * horizontal ramp the crop's columns must follow the box's columns */
    enum { W = 200, H = 150 };
    uint8_t *img = malloc(W * H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) img[y * W + x] = (uint8_t)x;
    FaceBox box = {40, 30, 96, 96, 5};
    FaceAlignParams ap;
    face_align_params_default(&ap);
    ck_assert_int_eq(ap.out_size, 48);
    uint8_t out[48 * 48];
    FaceAlignInfo info;
    EmoError err;
    ck_assert_int_eq(face_align(img, W, H, W, &box, &ap, out, &info, &err), EMO_OK);
    ck_assert_int_eq(info.eyes_found, 0);
    ck_assert_int_eq(info.box.x, 40);
    for (int x = 0; x < 48; x++) {
        /* output pixel x covers source columns 40 + 2x .. 40 + 2x + 1 */
        double want = 40 + 2 * x + 0.5;
        ck_assert_double_eq_tol(out[10 * 48 + x], want, 1.0);
    }
    /* margin 0.25: the frame is 1.5 box widths, starting at 40 - 24 */
    ap.margin = 0.25;
    ck_assert_int_eq(face_align(img, W, H, W, &box, &ap, out, &info, &err), EMO_OK);
    ck_assert_double_eq_tol(out[10 * 48 + 0], 16 + 1.5, 1.0);
    ck_assert_double_eq_tol(out[10 * 48 + 47], 16 + 47 * 3 + 1.5, 1.0);
    box.w = 0;
    ck_assert_int_eq(face_align(img, W, H, W, &box, &ap, out, &info, &err), EMO_ERR_ARG);
    free(img);
}
END_TEST

START_TEST(aligned_jaffe_faces_have_level_eyes)
{
    const char *jroot = ts_shared_data();
    if (!have_cascades() || !jroot) {
        printf("note: needs cascades and ../shared/data, test skipped\n");
        return;
    }
    FaceCascade *face = load_or_fail(HAAR_DIR "/haarcascade_frontalface_default.xml");
    FaceCascade *eye = load_or_fail(HAAR_DIR "/haarcascade_eye.xml");
    static const char *imgs[] = {"angry/KA.AN1.39.png", "happy/NA.HA2.203.png", "neutral/KM.NE1.1.png"};
    FaceAlignParams ap;
    face_align_params_default(&ap);
    ap.eye_cascade = eye;
    EmoError err;
    for (int i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/jaffe-dev/%s", jroot, imgs[i]);
        EmoImage im;
        EmoDecodeOptions o = {1, 0};
        ck_assert_int_eq(emo_image_load(path, &o, &im, &err), EMO_OK);
        FaceDetectParams p;
        face_detect_params_default(&p);
        p.min_neighbors = 5;
        p.min_w = p.min_h = 30;
        FaceBox *b;
        int n;
        ck_assert_int_eq(face_detect(face, im.pixels, im.width, im.height, im.width, &p, &b, &n, &err), EMO_OK);
        ck_assert_int_ge(n, 1);
        uint8_t out[48 * 48];
        FaceAlignInfo info;
        ck_assert_int_eq(face_align(im.pixels, im.width, im.height, im.width, &b[0], &ap, out, &info, &err), EMO_OK);
        ck_assert_int_eq(info.eyes_found, 1);
        /* eyes inside the box, left of right, about 0.38 box widths apart */
        ck_assert(info.left_x > b[0].x && info.right_x < b[0].x + b[0].w && info.left_x < info.right_x);
        double d = hypot(info.right_x - info.left_x, info.right_y - info.left_y) / b[0].w;
        ck_assert_msg(d > 0.3 && d < 0.46, "eye distance %.3f box widths", d);
        double res;
        ck_assert_int_eq(face_align_residual(out, 48, &ap, &res, &err), EMO_OK);
        ck_assert_msg(fabs(res) < 4.0, "%s: residual eye angle %.2f deg", imgs[i], res);
        free(b);
        emo_image_free(&im);
    }
    face_cascade_free(face);
    face_cascade_free(eye);
}
END_TEST

/* ---- the emodetect program ---- */

START_TEST(emodetect_cli)
{
    char *bin = ts_bin("emodetect");
    if (!exists(bin)) {
        printf("note: %s not built, test skipped\n", bin);
        free(bin);
        return;
    }
    char *dir = ts_tempdir();
    char out[4200], xml[4200], img[4200];
    snprintf(out, sizeof out, "%s/out.txt", dir);
    ck_assert_int_eq(ts_run(out, "%s --help", bin), 0);
    char *s = ts_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "--scale-factor"));
    ck_assert_ptr_nonnull(strstr(s, "--min-neighbors"));
    free(s);
    ck_assert_int_eq(ts_run(out, "%s --version", bin), 0);
    ck_assert_int_eq(ts_run(out, "%s --scale-factor 0.9 x", bin), 2);
    ck_assert_int_eq(ts_run(out, "%s --bogus x", bin), 2);
    ck_assert_int_eq(ts_run(out, "%s", bin), 2);
    /* the step cascade on a PNG holding the step at (20, 30) */
    snprintf(xml, sizeof xml, "%s/step.xml", dir);
    ts_write(xml, STEP_XML, strlen(STEP_XML));
    EmoImage im;
    ck_assert_int_eq(emo_image_alloc(&im, 64, 48, 1, NULL), EMO_OK);
    memset(im.pixels, 128, 64 * 48);
    for (int y = 30; y < 40; y++)
        for (int x = 20; x < 30; x++) im.pixels[y * 64 + x] = x < 25 ? 0 : 255;
    snprintf(img, sizeof img, "%s/sub", dir);
    ck_assert_int_eq(emo_mkdir_p(img, NULL), EMO_OK);
    snprintf(img, sizeof img, "%s/sub/step.png", dir);
    ck_assert_int_eq(emo_image_save_png(&im, img, NULL), EMO_OK);
    emo_image_free(&im);
    ck_assert_int_eq(ts_run(out, "%s --quiet --cascade %s --min-neighbors 0 --min-size 10 --max-size 10 %s", bin, xml,
                            dir),
                     0);
    s = ts_slurp(out, NULL);
    ck_assert_str_eq(s, "sub/step.png\t20\t30\t10\t10\n");
    free(s);
    /* a cascade that is not one: exit 1 with the file named */
    ck_assert_int_eq(ts_run(out, "%s --cascade %s %s", bin, img, dir), 1);
    s = ts_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(s, "step.png"));
    free(s);
    ts_rmtree(dir);
    free(dir);
    free(bin);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("face");
    TCase *tc = tcase_create("face");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, integral_sums_match_brute_force);
    tcase_add_test(tc, squared_sum_window_survives_wraparound);
    tcase_add_test(tc, resize_matches_cv2_linear_exact);
    tcase_add_test(tc, warp_matches_cv2_replicate);
    tcase_add_test(tc, rotation_moves_known_points);
    tcase_add_test(tc, tiny_haar_cascade_finds_the_step);
    tcase_add_test(tc, tiny_lbp_cascade_finds_dots);
    tcase_add_test(tc, malformed_and_non_cascade_xml_are_errors);
    tcase_add_test(tc, every_opencv_cascade_loads);
    tcase_add_test(tc, small_black_and_white_images_give_no_boxes);
    tcase_add_test(tc, min_size_over_the_image_uses_the_closest_scale);
    tcase_add_test(tc, vector_scan_equals_scalar_reference);
    tcase_add_test(tc, threads_do_not_change_boxes);
    tcase_add_test(tc, jaffe_boxes_equal_opencv_fixture);
    tcase_add_test(tc, fallback_crop_is_the_box);
    tcase_add_test(tc, aligned_jaffe_faces_have_level_eyes);
    tcase_add_test(tc, emodetect_cli);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
