/* test_augment.c: the transforms of augment/ checked against independent
 * references: exact mirrors and quarter turns, a double-precision bilinear
 * warp, transforms applied one at a time, closed-form tone curves. Inputs
 * are generated here, so the suite needs no data files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aug_affine.h"
#include "aug_apply.h"
#include "aug_params.h"
#include "aug_pixel.h"
#include "aug_rng.h"
#include "aug_warp.h"
#include "test_support.h"

/*-*** helpers ***/

static uint8_t *random_image(int w, int h, uint64_t seed)
{
    uint8_t *p = malloc((size_t)w * h);
    ck_assert_ptr_nonnull(p);
    uint64_t s = seed;
    for (int i = 0; i < w * h; i++) p[i] = (uint8_t)(ts_rand(&s) >> 56);
    return p;
}

/* A smooth image: bilinear interpolation of it is accurate to a small
 * fraction of a gray level, so differences measure geometry, not blur. */
static double smooth_value(double x, double y)
{
    return 128 + 90 * sin(x / 9.0 + y / 13.0) * cos(y / 17.0 - x / 23.0);
}

static uint8_t *smooth_image(int w, int h)
{
    uint8_t *p = malloc((size_t)w * h);
    ck_assert_ptr_nonnull(p);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) p[y * w + x] = (uint8_t)lround(smooth_value(x, y));
    return p;
}

static int max_abs_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m) m = d;
    }
    return m;
}

static AugParams only(unsigned bits)
{
    AugParams p = aug_params_none();
    p.applied = bits;
    return p;
}

static const AugBorder replicate = {AUG_BORDER_REPLICATE, 0};

/*-*** geometric ***/

START_TEST(flip_twice_is_identity_and_flip_mirrors)
{
    const int sizes[][2] = {{48, 48}, {37, 29}, {2, 5}, {1, 1}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        uint8_t *src = random_image(w, h, 11 + k), *a = malloc(w * h), *b = malloc(w * h);
        AugWorkspace ws = {0};
        AugParams p = only(AUG_T_FLIP);
        ck_assert_int_eq(aug_apply(&p, &replicate, src, w, h, 1, a, &ws, NULL), EMO_OK);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) ck_assert_int_eq(a[y * w + x], src[y * w + (w - 1 - x)]);
        ck_assert_int_eq(aug_apply(&p, &replicate, a, w, h, 1, b, &ws, NULL), EMO_OK);
        ck_assert_int_eq(memcmp(b, src, (size_t)w * h), 0);
        aug_workspace_free(&ws);
        free(src), free(a), free(b);
    }
}
END_TEST

START_TEST(rotation_zero_is_identity)
{
    const AugBorder borders[] = {{AUG_BORDER_REPLICATE, 0}, {AUG_BORDER_REFLECT, 0}, {AUG_BORDER_CONSTANT, 77}};
    for (int path = 0; path < 3; path++)
        for (int bi = 0; bi < 3; bi++) {
            int w = 48, h = 40;
            uint8_t *src = random_image(w, h, 5), *dst = malloc(w * h);
            AugWorkspace ws = {0};
            ws.warp.path = path;
            AugParams p = only(AUG_T_ROTATE);
            p.rotate = 0;
            ck_assert_int_eq(aug_apply(&p, &borders[bi], src, w, h, 1, dst, &ws, NULL), EMO_OK);
            ck_assert_msg(memcmp(dst, src, (size_t)w * h) == 0, "path %d border %d", path, bi);
            aug_workspace_free(&ws);
            free(src), free(dst);
        }
}
END_TEST

START_TEST(rotation_90_matches_transpose_flip)
{
    const int n = 48;
    uint8_t *src = random_image(n, n, 99), *dst = malloc(n * n);
    for (int path = 0; path < 3; path++)
        for (int sign = -1; sign <= 1; sign += 2) {
            AugWorkspace ws = {0};
            ws.warp.path = path;
            AugParams p = only(AUG_T_ROTATE);
            p.rotate = 90.0 * sign;
            ck_assert_int_eq(aug_apply(&p, &replicate, src, n, n, 1, dst, &ws, NULL), EMO_OK);
            /* Counter-clockwise on screen: the top row comes from the right
             * column, read top to bottom: dst(x, y) = src(n-1-y, x)
             * (transpose, then flip vertically); clockwise is the mirror. */
            int worst = 0;
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++) {
                    int want = sign > 0 ? src[x * n + (n - 1 - y)] : src[(n - 1 - x) * n + y];
                    int d = abs(dst[y * n + x] - want);
                    if (d > worst) worst = d;
                }
            ck_assert_msg(worst <= 1, "path %d sign %d: max diff %d", path, sign, worst);
            aug_workspace_free(&ws);
        }
    free(src), free(dst);
}
END_TEST

START_TEST(fast_warp_matches_double_reference)
{
    /* Random maps (rotations, zooms, shifts, shears, far outside the image),
     * every border mode and kernel, odd sizes, against aug_warp_ref. */
    uint64_t s = 1234;
    const int sizes[][2] = {{48, 48}, {33, 17}, {7, 50}, {2, 2}, {1, 9}, {64, 64}};
    for (int iter = 0; iter < 300; iter++) {
        int w = sizes[iter % 6][0], h = sizes[iter % 6][1];
        uint8_t *src = random_image(w, h, (uint64_t)iter + 1);
        uint8_t *fast = malloc(w * h), *ref = malloc(w * h);
        double u[8];
        for (int i = 0; i < 8; i++) u[i] = (double)(ts_rand(&s) >> 11) / 9007199254740992.0 * 2 - 1;
        double far = iter % 10 == 0 ? 3.0 : 0.3; /* sometimes land well outside */
        AugAffine a = {{1 + 0.5 * u[0], 0.5 * u[1], far * w * u[2], 0.5 * u[3], 1 + 0.5 * u[4], far * h * u[5]}};
        AugBorder b = {(AugBorderMode)(iter % 3), (uint8_t)(iter * 37)};
        aug_warp_ref(src, w, h, 1, ref, &a, &b);
        uint8_t *simd = malloc(w * h);
        for (int path = 0; path < 3; path++) {
            AugWarpScratch ws = {0};
            ws.path = path;
            ck_assert_int_eq(aug_warp(src, w, h, 1, fast, &a, &b, &ws, NULL), EMO_OK);
            int d = max_abs_diff(fast, ref, (size_t)w * h);
            ck_assert_msg(d <= 1, "iter %d path %d border %d size %dx%d: max diff %d", iter, path, b.mode, w,
                          h, d);
            /* The SIMD kernel is the scalar one's arithmetic, lane for lane:
             * builds with and without AVX2 write the same bytes. */
            if (path == AUG_WARP_PATH_AUTO) memcpy(simd, fast, (size_t)w * h);
            if (path == AUG_WARP_PATH_SCALAR) ck_assert_int_eq(memcmp(simd, fast, (size_t)w * h), 0);
            aug_warp_scratch_free(&ws);
        }
        free(src), free(fast), free(ref), free(simd);
    }
}
END_TEST

START_TEST(warp_three_channels_matches_reference)
{
    int w = 20, h = 15;
    uint8_t *src = random_image(w * 3, h, 8), *fast = malloc(w * h * 3), *ref = malloc(w * h * 3);
    AugAffine a = aug_affine_rotate(33, 9.5, 7);
    for (int m = 0; m < 3; m++) {
        AugBorder b = {(AugBorderMode)m, 200};
        AugWarpScratch ws = {0};
        aug_warp_ref(src, w, h, 3, ref, &a, &b);
        ck_assert_int_eq(aug_warp(src, w, h, 3, fast, &a, &b, &ws, NULL), EMO_OK);
        ck_assert_int_le(max_abs_diff(fast, ref, (size_t)w * h * 3), 1);
        aug_warp_scratch_free(&ws);
    }
    free(src), free(fast), free(ref);
}
END_TEST

START_TEST(border_modes_fill_as_named)
{
    /* Shift a 4-wide ramp right by 2 pixels: the two columns entering on the
     * left show the border rule. */
    int w = 4, h = 3;
    uint8_t src[12], dst[12];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) src[y * w + x] = (uint8_t)(10 * (x + 1)); /* a b c d = 10 20 30 40 */
    AugAffine inv = aug_affine_translate(-2, 0);
    const struct { AugBorder b; uint8_t left[2]; } cases[] = {
        {{AUG_BORDER_REPLICATE, 0}, {10, 10}},  /* aa|ab */
        {{AUG_BORDER_REFLECT, 0}, {20, 10}},    /* ba|ab */
        {{AUG_BORDER_CONSTANT, 99}, {99, 99}},  /* kk|ab */
    };
    for (int c = 0; c < 3; c++)
        for (int path = 0; path < 3; path++) {
            AugWarpScratch ws = {0};
            ws.path = path;
            ck_assert_int_eq(aug_warp(src, w, h, 1, dst, &inv, &cases[c].b, &ws, NULL), EMO_OK);
            for (int y = 0; y < h; y++) {
                ck_assert_int_eq(dst[y * w + 0], cases[c].left[0]);
                ck_assert_int_eq(dst[y * w + 1], cases[c].left[1]);
                ck_assert_int_eq(dst[y * w + 2], 10);
                ck_assert_int_eq(dst[y * w + 3], 20);
            }
            aug_warp_scratch_free(&ws);
        }
}
END_TEST

START_TEST(composed_affine_equals_steps_one_by_one)
{
    const int w = 64, h = 56;
    uint8_t *src = smooth_image(w, h), *composed = malloc(w * h);
    AugParams p = only(AUG_T_FLIP | AUG_T_ROTATE | AUG_T_SHIFT | AUG_T_ZOOM);
    p.rotate = 8.37, p.shift_x = 3.25, p.shift_y = -2.5, p.zoom_x = 1.085, p.zoom_y = 0.93;
    AugWorkspace ws = {0};
    ck_assert_int_eq(aug_apply(&p, &replicate, src, w, h, 1, composed, &ws, NULL), EMO_OK);

    /* The documented order, one warp per step, in float (no rounding between
     * steps): flip; zoom about the centre (Keras: sampling scaled by z);
     * rotate counter-clockwise by p.rotate; shift. Each step's warp takes
     * its own inverse map. */
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    AugAffine steps[4] = {
        aug_affine_hflip(w),
        aug_affine_scale(p.zoom_x, p.zoom_y, cx, cy),
        aug_affine_rotate(-p.rotate, cx, cy),
        aug_affine_translate(-p.shift_x, -p.shift_y),
    };
    /* The chain starts from the smooth function itself (unrounded), so what
     * it measures is geometry, not four resamplings of 8-bit rounding noise. */
    float *a = malloc(sizeof(float) * w * h), *b = malloc(sizeof(float) * w * h);
    for (int i = 0; i < w * h; i++) a[i] = (float)smooth_value(i % w, i / w);
    for (int k = 0; k < 4; k++) {
        aug_warp_ref_f32(a, w, h, b, &steps[k], &replicate);
        float *t = a;
        a = b, b = t;
    }
    /* Compare where no step sampled near the border (there, clamping at
     * different stages legitimately differs: a zoom-in step crops what a
     * later rotation would bring back): every intermediate point of the
     * chain is at least 2 pixels inside its image. */
    AugAffine inv = aug_params_inverse_map(&p, w, h);
    int compared = 0, worst = 0, worst_exact = 0;
    float *exact = malloc(sizeof(float) * w * h), *srcf = malloc(sizeof(float) * w * h);
    for (int i = 0; i < w * h; i++) srcf[i] = src[i];
    aug_warp_ref_f32(srcf, w, h, exact, &inv, &replicate);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double px = x, py = y;
            int inside = 1;
            for (int k = 3; k >= 0 && inside; k--) {
                aug_affine_apply(&steps[k], px, py, &px, &py);
                inside = px >= 2 && py >= 2 && px <= w - 3 && py <= h - 3;
            }
            if (!inside) continue;
            int d = abs((int)composed[y * w + x] - (int)lrintf(a[y * w + x]));
            if (d > worst) worst = d;
            d = abs((int)composed[y * w + x] - (int)lrintf(exact[y * w + x]));
            if (d > worst_exact) worst_exact = d;
            compared++;
        }
    ck_assert_int_gt(compared, w * h / 2);
    ck_assert_msg(worst <= 1, "max diff %d (vs exact composed %d)", worst, worst_exact);

    /* And the matrix itself is the steps' composition, point by point. */
    for (int y = 0; y < h; y += 7)
        for (int x = 0; x < w; x += 5) {
            double px = x, py = y, qx, qy;
            for (int k = 3; k >= 0; k--) { /* the output goes back through shift, rotate, zoom, flip */
                aug_affine_apply(&steps[k], px, py, &qx, &qy);
                px = qx, py = qy;
            }
            aug_affine_apply(&inv, x, y, &qx, &qy);
            ck_assert_double_eq_tol(px, qx, 1e-9);
            ck_assert_double_eq_tol(py, qy, 1e-9);
        }
    aug_workspace_free(&ws);
    free(src), free(composed), free(a), free(b), free(exact), free(srcf);
}
END_TEST

START_TEST(shift_moves_content_and_zoom_follows_keras)
{
    /* A single bright pixel: shifting by (+3, -2) moves it there; zoom 2
     * about the centre (sampling scaled by 2) halves its distance from the
     * centre, Keras' "z > 1 zooms out". */
    int w = 21, h = 21;
    uint8_t src[21 * 21] = {0}, dst[21 * 21];
    src[4 * w + 16] = 200; /* (x 16, y 4): 6 right of and 6 above the centre (10, 10) */
    AugWorkspace ws = {0};
    AugBorder k0 = {AUG_BORDER_CONSTANT, 0};
    AugParams p = only(AUG_T_SHIFT);
    p.shift_x = 3, p.shift_y = -2;
    ck_assert_int_eq(aug_apply(&p, &k0, src, w, h, 1, dst, &ws, NULL), EMO_OK);
    ck_assert_int_eq(dst[2 * w + 19], 200);
    p = only(AUG_T_ZOOM);
    p.zoom_x = p.zoom_y = 2;
    ck_assert_int_eq(aug_apply(&p, &k0, src, w, h, 1, dst, &ws, NULL), EMO_OK);
    ck_assert_int_eq(dst[7 * w + 13], 200);
    aug_workspace_free(&ws);
}
END_TEST

/*-*** photometric ***/

START_TEST(brightness_saturates_at_0_and_255)
{
    uint8_t src[256], dst[256];
    for (int v = 0; v < 256; v++) src[v] = (uint8_t)v;
    AugWorkspace ws = {0};
    const struct { int add; double b; } cases[] = {{0, 1.5}, {0, 0.4}, {0, 3.0}, {1, 100}, {1, -100}, {1, 255}, {1, -255}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        AugParams p = only(AUG_T_BRIGHT);
        p.bright_add = cases[c].add, p.bright = cases[c].b;
        ck_assert_int_eq(aug_apply(&p, &replicate, src, 16, 16, 1, dst, &ws, NULL), EMO_OK);
        for (int v = 0; v < 256; v++) {
            double want = cases[c].add ? v + cases[c].b : v * cases[c].b;
            want = want < 0 ? 0 : want > 255 ? 255 : floor(want + 0.5);
            ck_assert_msg(dst[v] == (uint8_t)want, "case %zu v %d: got %d want %g", c, v, dst[v], want);
        }
    }
    /* 200 * 1.5 = 300 must clip to 255, not wrap to 44. */
    AugParams p = only(AUG_T_BRIGHT);
    p.bright = 1.5;
    ck_assert_int_eq(aug_apply(&p, &replicate, src, 16, 16, 1, dst, &ws, NULL), EMO_OK);
    ck_assert_int_eq(dst[200], 255);
    aug_workspace_free(&ws);
}
END_TEST

START_TEST(contrast_and_gamma_follow_their_formulas)
{
    /* Half the pixels 50, half 150: mean 100. Contrast 1.5 gives 25 and 175;
     * then gamma 2 gives 255 (v/255)^2. */
    uint8_t src[64], dst[64];
    for (int i = 0; i < 64; i++) src[i] = i < 32 ? 50 : 150;
    AugWorkspace ws = {0};
    AugParams p = only(AUG_T_CONTRAST);
    p.contrast = 1.5;
    ck_assert_int_eq(aug_apply(&p, &replicate, src, 8, 8, 1, dst, &ws, NULL), EMO_OK);
    ck_assert_int_eq(dst[0], 25);
    ck_assert_int_eq(dst[63], 175);
    p.applied |= AUG_T_GAMMA;
    p.gamma = 2;
    ck_assert_int_eq(aug_apply(&p, &replicate, src, 8, 8, 1, dst, &ws, NULL), EMO_OK);
    ck_assert_int_eq(dst[0], (int)lround(255 * pow(25 / 255.0, 2)));
    ck_assert_int_eq(dst[63], (int)lround(255 * pow(175 / 255.0, 2)));
    aug_workspace_free(&ws);
}
END_TEST

START_TEST(blur_matches_direct_convolution)
{
    int w = 31, h = 27;
    uint8_t *src = random_image(w, h, 77), *dst = malloc(w * h);
    AugWorkspace ws = {0};
    AugParams p = only(AUG_T_BLUR);
    p.blur = 1.3;
    ck_assert_int_eq(aug_apply(&p, &replicate, src, w, h, 1, dst, &ws, NULL), EMO_OK);
    /* 2-D Gaussian sum with reflect-101, in double, at every pixel. */
    int r = (int)ceil(3 * p.blur);
    double norm = 0;
    for (int i = -r; i <= r; i++) norm += exp(-0.5 * i * i / (p.blur * p.blur));
    int worst = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double acc = 0;
            for (int j = -r; j <= r; j++)
                for (int i = -r; i <= r; i++) {
                    int xx = x + i, yy = y + j;
                    xx = xx < 0 ? -xx : xx >= w ? 2 * (w - 1) - xx : xx;
                    yy = yy < 0 ? -yy : yy >= h ? 2 * (h - 1) - yy : yy;
                    acc += exp(-0.5 * (i * i + j * j) / (p.blur * p.blur)) * src[yy * w + xx];
                }
            int d = abs((int)lround(acc / (norm * norm)) - dst[y * w + x]);
            if (d > worst) worst = d;
        }
    ck_assert_int_le(worst, 1);
    aug_workspace_free(&ws);
    free(src), free(dst);
}
END_TEST

START_TEST(noise_has_the_asked_sigma_and_no_bias)
{
    const int n = 200000;
    uint8_t *img = malloc(n);
    memset(img, 128, n);
    aug_noise(img, n, 10.0, 42);
    double sum = 0, sq = 0;
    int beyond2 = 0;
    for (int i = 0; i < n; i++) {
        double d = img[i] - 128.0;
        sum += d, sq += d * d;
        if (fabs(d) > 20) beyond2++;
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    ck_assert_double_eq_tol(mean, 0, 0.1);
    ck_assert_double_eq_tol(sd, 10.0, 0.3); /* rounding adds 1/12 variance */
    /* Gaussian: 4.6% beyond 2 sigma; the 4-term sum gives ~4.3%. */
    ck_assert_double_eq_tol((double)beyond2 / n, 0.045, 0.01);
    /* Saturation, not wrap-around, at both ends. */
    memset(img, 250, 1000);
    memset(img + 1000, 3, 1000);
    aug_noise(img, 2000, 50, 7);
    free(img);
}
END_TEST

START_TEST(erase_fills_its_rectangle_only)
{
    int w = 20, h = 10;
    uint8_t *src = random_image(w, h, 3), *dst = malloc(w * h);
    for (int i = 0; i < w * h; i++) src[i] |= 1; /* never 0, so the fill is visible */
    AugWorkspace ws = {0};
    AugParams p = only(AUG_T_ERASE);
    p.erase_x = 3, p.erase_y = 2, p.erase_w = 5, p.erase_h = 4, p.erase_value = 0;
    ck_assert_int_eq(aug_apply(&p, &replicate, src, w, h, 1, dst, &ws, NULL), EMO_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int in = x >= 3 && x < 8 && y >= 2 && y < 6;
            ck_assert_int_eq(dst[y * w + x], in ? 0 : src[y * w + x]);
        }
    aug_workspace_free(&ws);
    free(src), free(dst);
}
END_TEST

/*-*** parameters ***/

static AugConfig everything_on(void)
{
    AugConfig c = aug_config_default();
    c.contrast = 0.3, c.gamma = 0.3, c.blur = 1.5, c.noise = 8, c.erase = 0.3, c.erase_value = 17;
    return c;
}

START_TEST(params_text_replays_the_variant_exactly)
{
    AugConfig c = everything_on();
    int w = 48, h = 48;
    uint8_t *src = random_image(w, h, 1), *a = malloc(w * h), *b = malloc(w * h);
    AugWorkspace ws = {0};
    unsigned seen = 0;
    for (uint32_t copy = 0; copy < 400; copy++) {
        c.bright_add = copy % 2;
        char text[AUG_PARAMS_TEXT_MAX], again[AUG_PARAMS_TEXT_MAX];
        ck_assert_int_eq(aug_make_variant(&c, 9, 0xABCDEF, copy, src, w, h, 1, a, text, &ws, NULL), EMO_OK);
        AugParams p;
        EmoError err;
        ck_assert_msg(aug_params_parse(text, &p, &err) == EMO_OK, "%s: %s", text, err.msg);
        seen |= p.applied;
        aug_params_format(&p, again, sizeof again);
        ck_assert_str_eq(text, again);
        ck_assert_int_eq(aug_apply(&p, &c.border, src, w, h, 1, b, &ws, NULL), EMO_OK);
        ck_assert_msg(memcmp(a, b, (size_t)w * h) == 0, "replay of \"%s\" differs", text);
    }
    ck_assert_uint_eq(seen, 0x3FF); /* every transform fired at least once */
    aug_workspace_free(&ws);
    free(src), free(a), free(b);
}
END_TEST

/* The documented text, written with snprintf as an independent reference
 * for the integer formatter. */
static void reference_text(const AugParams *p, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
#define ADD(...) (n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__))
#define SP (n ? " " : "")
    unsigned a = p->applied;
    if (a & AUG_T_FLIP) ADD("%sflip=1", SP);
    if (a & AUG_T_ROTATE) ADD("%srot=%.2f", SP, p->rotate);
    if (a & AUG_T_SHIFT) ADD("%sshift=%.2f,%.2f", SP, p->shift_x, p->shift_y);
    if (a & AUG_T_ZOOM) ADD("%szoom=%.3f,%.3f", SP, p->zoom_x, p->zoom_y);
    if (a & AUG_T_BRIGHT) {
        if (p->bright_add) ADD("%sbadd=%.1f", SP, p->bright);
        else ADD("%sbright=%.3f", SP, p->bright);
    }
    if (a & AUG_T_CONTRAST) ADD("%scontrast=%.3f", SP, p->contrast);
    if (a & AUG_T_GAMMA) ADD("%sgamma=%.3f", SP, p->gamma);
    if (a & AUG_T_BLUR) ADD("%sblur=%.2f", SP, p->blur);
    if (a & AUG_T_NOISE) ADD("%snoise=%.2f/%08x", SP, p->noise, (unsigned)p->noise_seed);
    if (a & AUG_T_ERASE)
        ADD("%serase=%d,%d,%d,%d,%d", SP, p->erase_x, p->erase_y, p->erase_w, p->erase_h, p->erase_value);
    if (!n) ADD("none");
#undef SP
#undef ADD
}

START_TEST(params_text_matches_printf)
{
    AugConfig c = everything_on();
    c.rotate = 180, c.shift_x = c.shift_y = 1, c.zoom = 0.9, c.bright = 1, c.flip_p = 0.5;
    c.erase_p = c.noise_p = c.blur_p = 0.5;
    for (int i = 0; i < 20000; i++) {
        c.bright_add = i % 2;
        AugRng r = aug_rng_for_variant(11, (uint64_t)i, 0);
        AugParams p;
        aug_params_sample(&c, &r, 40 + i % 60, 30 + i % 70, &p);
        char got[AUG_PARAMS_TEXT_MAX], want[512];
        int n = aug_params_format(&p, got, sizeof got);
        reference_text(&p, want, sizeof want);
        ck_assert_str_eq(got, want);
        ck_assert_int_eq(n, (int)strlen(want));
    }
    AugParams none = aug_params_none();
    char t[AUG_PARAMS_TEXT_MAX];
    aug_params_format(&none, t, sizeof t);
    ck_assert_str_eq(t, "none");
}
END_TEST

START_TEST(params_text_rejects_garbage)
{
    const char *bad[] = {"rot=", "rot=abc", "flip=2", "zoom=1.0", "zoom=1,0", "shift=1;2", "noise=3/zz",
                         "noise=3", "erase=1,2,3", "erase=1,2,3,4,300", "warp=1", "rot=1x", "gamma=0"};
    AugParams p;
    EmoError err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(aug_params_parse(bad[i], &p, &err) == EMO_ERR_FORMAT, "accepted \"%s\"", bad[i]);
    ck_assert_int_eq(aug_params_parse("none", &p, &err), EMO_OK);
    ck_assert_uint_eq(p.applied, 0);
    ck_assert_int_eq(aug_params_parse("flip=1 rot=-3.20 bright=1.070", &p, &err), EMO_OK);
    ck_assert_uint_eq(p.applied, AUG_T_FLIP | AUG_T_ROTATE | AUG_T_BRIGHT);
    ck_assert_double_eq(p.rotate, -3.2);
    ck_assert_double_eq(p.bright, 1.07);
}
END_TEST

START_TEST(sampling_is_deterministic_and_ranges_hold)
{
    AugConfig c = everything_on();
    c.rotate = 15, c.shift_x = 0.2, c.shift_y = 0.05, c.zoom = 0.3;
    int fired[10] = {0};
    const int n = 4000;
    for (int i = 0; i < n; i++) {
        AugRng r1 = aug_rng_for_variant(5, (uint64_t)i * 7919, (uint32_t)(i % 3));
        AugRng r2 = aug_rng_for_variant(5, (uint64_t)i * 7919, (uint32_t)(i % 3));
        AugParams p, q;
        aug_params_sample(&c, &r1, 48, 40, &p);
        aug_params_sample(&c, &r2, 48, 40, &q);
        char tp[AUG_PARAMS_TEXT_MAX], tq[AUG_PARAMS_TEXT_MAX]; /* the text holds every applied value */
        aug_params_format(&p, tp, sizeof tp);
        aug_params_format(&q, tq, sizeof tq);
        ck_assert_str_eq(tp, tq);
        ck_assert_uint_eq(p.applied, q.applied);
        for (int b = 0; b < 10; b++) fired[b] += (p.applied >> b) & 1;
        if (p.applied & AUG_T_ROTATE) ck_assert(fabs(p.rotate) <= 15);
        if (p.applied & AUG_T_SHIFT) ck_assert(fabs(p.shift_x) <= 0.2 * 48 && fabs(p.shift_y) <= 0.05 * 40);
        if (p.applied & AUG_T_ZOOM)
            ck_assert(p.zoom_x >= 0.7 && p.zoom_x <= 1.3 && p.zoom_y >= 0.7 && p.zoom_y <= 1.3);
        if (p.applied & AUG_T_BRIGHT) ck_assert(p.bright >= 0.8 && p.bright <= 1.2);
        if (p.applied & AUG_T_GAMMA) ck_assert(p.gamma >= 0.7 && p.gamma <= 1.3);
        if (p.applied & AUG_T_BLUR) ck_assert(p.blur >= 0.1 && p.blur <= 1.5);
        if (p.applied & AUG_T_ERASE) {
            ck_assert(p.erase_x >= 0 && p.erase_x + p.erase_w <= 48);
            ck_assert(p.erase_y >= 0 && p.erase_y + p.erase_h <= 40);
            ck_assert(p.erase_w * p.erase_h <= 0.3 * 48 * 40 * 1.3);
        }
    }
    /* Flip at p = 0.5: binomial sd is ~32 of 4000. */
    ck_assert_int_ge(fired[0], n / 2 - 200);
    ck_assert_int_le(fired[0], n / 2 + 200);
    for (int b = 1; b < 8; b++) ck_assert_int_eq(fired[b], n); /* p = 1 */
    ck_assert_int_ge(fired[8], n - 20); /* noise sigma may round to 0.00: not applied */
    ck_assert_int_ge(fired[9], n * 9 / 10);                   /* erase may find no fit */
}
END_TEST

START_TEST(turning_a_transform_on_keeps_the_others)
{
    AugConfig a = aug_config_default(), b = aug_config_default();
    b.gamma = 0.2, b.noise = 5;
    for (int i = 0; i < 100; i++) {
        AugRng ra = aug_rng_for_variant(3, (uint64_t)i, 0), rb = aug_rng_for_variant(3, (uint64_t)i, 0);
        AugParams p, q;
        aug_params_sample(&a, &ra, 48, 48, &p);
        aug_params_sample(&b, &rb, 48, 48, &q);
        ck_assert_uint_eq(p.applied, q.applied & ~(unsigned)(AUG_T_GAMMA | AUG_T_NOISE));
        ck_assert(p.rotate == q.rotate && p.shift_x == q.shift_x && p.zoom_y == q.zoom_y && p.bright == q.bright);
    }
}
END_TEST

START_TEST(variants_differ_by_copy_seed_and_id)
{
    AugRng r[4] = {aug_rng_for_variant(1, 100, 0), aug_rng_for_variant(1, 100, 1),
                   aug_rng_for_variant(2, 100, 0), aug_rng_for_variant(1, 101, 0)};
    uint64_t v[4];
    for (int i = 0; i < 4; i++) v[i] = aug_rng_next(&r[i]);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) ck_assert(v[i] != v[j]);
}
END_TEST

START_TEST(config_ranges_are_enforced)
{
    AugConfig c = aug_config_default();
    EmoError err;
    ck_assert_int_eq(aug_config_validate(&c, &err), EMO_OK);
    struct { double *field; double bad; const char *name; } cases[] = {
        {&c.flip_p, 1.5, "flip"}, {&c.rotate, 181, "rotate"}, {&c.shift_x, -0.1, "shift"},
        {&c.zoom, 0.95, "zoom"}, {&c.bright, 2, "brightness"}, {&c.gamma, NAN, "gamma"},
        {&c.noise, 200, "noise"}, {&c.blur, 11, "blur"}, {&c.erase, 0.01, "erase"},
        {&c.rotate_p, -1, "rotate probability"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double keep = *cases[i].field;
        *cases[i].field = cases[i].bad;
        ck_assert_int_eq(aug_config_validate(&c, &err), EMO_ERR_ARG);
        ck_assert_msg(strstr(err.msg, cases[i].name) != NULL, "%s", err.msg);
        *cases[i].field = keep;
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("augment");
    TCase *g = tcase_create("geometric");
    tcase_add_test(g, flip_twice_is_identity_and_flip_mirrors);
    tcase_add_test(g, rotation_zero_is_identity);
    tcase_add_test(g, rotation_90_matches_transpose_flip);
    tcase_add_test(g, fast_warp_matches_double_reference);
    tcase_add_test(g, warp_three_channels_matches_reference);
    tcase_add_test(g, border_modes_fill_as_named);
    tcase_add_test(g, composed_affine_equals_steps_one_by_one);
    tcase_add_test(g, shift_moves_content_and_zoom_follows_keras);
    suite_add_tcase(s, g);
    TCase *ph = tcase_create("photometric");
    tcase_add_test(ph, brightness_saturates_at_0_and_255);
    tcase_add_test(ph, contrast_and_gamma_follow_their_formulas);
    tcase_add_test(ph, blur_matches_direct_convolution);
    tcase_add_test(ph, noise_has_the_asked_sigma_and_no_bias);
    tcase_add_test(ph, erase_fills_its_rectangle_only);
    suite_add_tcase(s, ph);
    TCase *pa = tcase_create("params");
    tcase_add_test(pa, params_text_replays_the_variant_exactly);
    tcase_add_test(pa, params_text_matches_printf);
    tcase_add_test(pa, params_text_rejects_garbage);
    tcase_add_test(pa, sampling_is_deterministic_and_ranges_hold);
    tcase_add_test(pa, turning_a_transform_on_keeps_the_others);
    tcase_add_test(pa, variants_differ_by_copy_seed_and_id);
    tcase_add_test(pa, config_ranges_are_enforced);
    suite_add_tcase(s, pa);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
