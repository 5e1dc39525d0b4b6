/* bench_augment.c: per-transform cost of augment/ on 48x48 gray faces.
 *
 * Prints one line per transform: nanoseconds per image and images/s on one
 * thread (median of 5 timed rounds), for the fast warp next to its
 * double-precision reference, each photometric transform alone, and the full
 * default recipe (flip + rotate + shift + zoom + brightness) as
 * aug_make_variant runs it (draw, apply, params text). Images are synthetic
 * (gradients plus texture): no transform's cost depends on pixel values.
 *
 *   build/bench/bench_augment [IMAGES_PER_ROUND]   (default 20000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aug_apply.h"
#include "aug_pixel.h"

#define W 48
#define H 48
#define NIMG 256
#define ROUNDS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const char *name;
    AugConfig cfg;
    int reference_warp;   /* time aug_warp_ref instead */
    int path;             /* AugWarpPath of the fast warp */
} Case;

static uint8_t imgs[NIMG][W * H];
static uint8_t out[W * H];

static double run_case(const Case *c, int n, AugWorkspace *ws, unsigned *sink)
{
    double t[ROUNDS];
    AugBorder border = {AUG_BORDER_REPLICATE, 0};
    ws->warp.path = c->path;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            if (c->reference_warp) {
                AugRng rng = aug_rng_for_variant(1, (uint64_t)i, 0);
                AugParams p;
                aug_params_sample(&c->cfg, &rng, W, H, &p);
                AugAffine inv = aug_params_inverse_map(&p, W, H);
                aug_warp_ref(imgs[i % NIMG], W, H, 1, out, &inv, &border);
            } else {
                char text[AUG_PARAMS_TEXT_MAX];
                aug_make_variant(&c->cfg, 1, (uint64_t)i, (uint32_t)r, imgs[i % NIMG], W, H, 1, out,
                                 text, ws, NULL);
            }
            *sink += out[i % (W * H)];
        }
        t[r] = now() - t0;
    }
    qsort(t, ROUNDS, sizeof t[0], cmp_double);
    return t[ROUNDS / 2];
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n < 1) n = 20000;
    uint64_t s = 7;
    for (int i = 0; i < NIMG; i++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                imgs[i][y * W + x] = (uint8_t)((x * 3 + y * 2 + i) + (s >> 60));
            }

    AugConfig off = aug_config_default();
    off.flip_p = 0, off.rotate = 0, off.shift_x = off.shift_y = 0, off.zoom = 0, off.bright = 0;
    Case cases[20];
    int nc = 0;
#define ADD(label, ...) do { Case c_ = {label, off, 0, AUG_WARP_PATH_AUTO}; __VA_ARGS__; cases[nc++] = c_; } while (0)
    ADD("none (copy)", (void)0);
    ADD("flip", c_.cfg.flip_p = 1);
    ADD("rotate 10", c_.cfg.rotate = 10);
    ADD("rotate 10 (scalar fixed-point kernel)", c_.cfg.rotate = 10, c_.path = AUG_WARP_PATH_SCALAR);
    ADD("rotate 10 (table kernel)", c_.cfg.rotate = 10, c_.path = AUG_WARP_PATH_TABLES);
    ADD("rotate 10 (double-precision reference warp)", c_.cfg.rotate = 10, c_.reference_warp = 1);
    ADD("shift 0.1", c_.cfg.shift_x = c_.cfg.shift_y = 0.1);
    ADD("zoom 0.1", c_.cfg.zoom = 0.1);
    ADD("rotate 10, border reflect", c_.cfg.rotate = 10, c_.cfg.border.mode = AUG_BORDER_REFLECT);
    ADD("rotate 10, border constant", c_.cfg.rotate = 10, c_.cfg.border.mode = AUG_BORDER_CONSTANT);
    ADD("brightness 0.2", c_.cfg.bright = 0.2);
    ADD("contrast 0.2", c_.cfg.contrast = 0.2);
    ADD("gamma 0.2", c_.cfg.gamma = 0.2);
    ADD("blur 1.5", c_.cfg.blur = 1.5);
    ADD("noise 8", c_.cfg.noise = 8);
    ADD("erase 0.33", c_.cfg.erase = 0.33);
    Case def = {"default recipe (flip rotate shift zoom brightness)", aug_config_default(), 0,
                AUG_WARP_PATH_AUTO};
    cases[nc++] = def;
#undef ADD

    AugWorkspace ws = {0};
    unsigned sink = 0;
    printf("augment per-transform cost, 48x48 gray, one thread, median of %d rounds of %d images\n",
           ROUNDS, n);
    for (int i = 0; i < nc; i++) {
        int m = cases[i].reference_warp ? n / 10 + 1 : n;
        double t = run_case(&cases[i], m, &ws, &sink);
        printf("  %-52s %8.0f ns/image %10.0f images/s\n", cases[i].name, t / m * 1e9, m / t);
    }
    aug_workspace_free(&ws);
    fprintf(stderr, "(checksum %u)\n", sink);
    return 0;
}
