/* train_augment.c: one affine warp per image (see train_augment.h). */
#include "train_augment.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EmoStatus train_augment_parse(const char *text, TrainAugment *a, EmoError *err)
{
    memset(a, 0, sizeof *a);
    if (!text || !*text || strcmp(text, "none") == 0) return EMO_OK;
    char *copy = strdup(text);
    if (!copy) return emo_error_set(err, EMO_ERR_NOMEM, "augment: out of memory");
    EmoStatus st = EMO_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "flip") == 0 || strcmp(tok, "hflip") == 0) {
            a->hflip = 1;
            continue;
        }
        char *eq = strchr(tok, '=');
        double v = 0;
        char *end = NULL;
        if (eq) {
            errno = 0;
            v = strtod(eq + 1, &end);
        }
        if (!eq || end == eq + 1 || *end || errno || !(v >= 0) || !isfinite(v)) {
            st = emo_error_set(err, EMO_ERR_ARG,
                               "augment: '%s': expected flip, shift=F, rotate=DEG, zoom=F, brightness=F", tok);
            break;
        }
        *eq = '\0';
        if (strcmp(tok, "shift") == 0 && v < 0.5) a->shift = v;
        else if (strcmp(tok, "rotate") == 0 && v <= 180) a->rotate = v;
        else if (strcmp(tok, "zoom") == 0 && v < 1) a->zoom = v;
        else if (strcmp(tok, "brightness") == 0 && v < 1) a->brightness = v;
        else {
            st = emo_error_set(err, EMO_ERR_ARG,
                               "augment: '%s=%g': unknown or out of range (shift < 0.5, rotate <= 180, "
                               "zoom < 1, brightness < 1)", tok, v);
            break;
        }
    }
    free(copy);
    return st;
}

int train_augment_active(const TrainAugment *a)
{
    return a->hflip || a->shift > 0 || a->rotate > 0 || a->zoom > 0 || a->brightness > 0;
}

void train_pixels_to_float(const uint8_t *src, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i] * (1.0f / 255.0f);
}

static inline float px(const uint8_t *src, int w, int h, int x, int y)
{
    x = x < 0 ? 0 : x >= w ? w - 1 : x;
    y = y < 0 ? 0 : y >= h ? h - 1 : y;
    return src[(size_t)y * (size_t)w + (size_t)x];
}

void train_augment_apply(const TrainAugment *a, TrainRng *rng, const uint8_t *src, int w, int h, float *dst)
{
    /* Always six draws, in this order (see the header). */
    double u_flip = train_rng_uniform(rng), u_dx = train_rng_uniform(rng), u_dy = train_rng_uniform(rng);
    double u_rot = train_rng_uniform(rng), u_zoom = train_rng_uniform(rng), u_bright = train_rng_uniform(rng);
    int flip = a->hflip && u_flip < 0.5;
    double dx = a->shift * w * (2 * u_dx - 1), dy = a->shift * h * (2 * u_dy - 1);
    double ang = a->rotate * (2 * u_rot - 1) * M_PI / 180;
    double zoom = 1 + a->zoom * (2 * u_zoom - 1);
    float gain = (float)(1 + a->brightness * (2 * u_bright - 1)) * (1.0f / 255.0f);
    size_t n = (size_t)w * (size_t)h;
    if (!flip && dx == 0 && dy == 0 && ang == 0 && zoom == 1) {
        for (size_t i = 0; i < n; i++) {
            float v = src[i] * gain;
            dst[i] = v > 1 ? 1 : v;
        }
        return;
    }
    /* Output pixel p maps to source c + R(-ang) (p - c - d) / zoom: rotate
     * and zoom about the centre, then shift; flipping mirrors the output. */
    double cx = (w - 1) * 0.5, cy = (h - 1) * 0.5;
    double cs = cos(ang) / zoom, sn = sin(ang) / zoom;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double ox = (flip ? (w - 1 - x) : x) - cx - dx, oy = y - cy - dy;
            double sx = cx + cs * ox + sn * oy, sy = cy - sn * ox + cs * oy;
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            float fx = (float)(sx - x0), fy = (float)(sy - y0);
            float top = px(src, w, h, x0, y0) * (1 - fx) + px(src, w, h, x0 + 1, y0) * fx;
            float bot = px(src, w, h, x0, y0 + 1) * (1 - fx) + px(src, w, h, x0 + 1, y0 + 1) * fx;
            float v = (top * (1 - fy) + bot * fy) * gain;
            dst[(size_t)y * (size_t)w + (size_t)x] = v > 1 ? 1 : v < 0 ? 0 : v;
        }
}

int train_tta_parse(const char *text, TrainView views[TRAIN_TTA_MAX_VIEWS], char *desc, size_t n_desc,
                    EmoError *err)
{
    const TrainView face = {0, 0, 0}, mirror = {1, 0, 0};
    views[0] = face;
    if (!text || strcmp(text, "none") == 0) {
        if (desc) snprintf(desc, n_desc, "none");
        return 1;
    }
    views[1] = mirror;
    if (strcmp(text, "flip") == 0) {
        if (desc) snprintf(desc, n_desc, "flip");
        return 2;
    }
    long px = 2;
    if (strncmp(text, "shift", 5) == 0 && (text[5] == '\0' || text[5] == ':')) {
        char *end = NULL;
        if (text[5] == ':') {
            errno = 0;
            px = strtol(text + 6, &end, 10);
        }
        if (text[5] == '\0' || (end != text + 6 && !*end && !errno && px >= 1 && px <= 8)) {
            static const int dirs[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
            int n = 2;
            for (int f = 0; f < 2; f++)
                for (int d = 0; d < 4; d++) views[n++] = (TrainView){f, dirs[d][0] * (int)px, dirs[d][1] * (int)px};
            if (desc) snprintf(desc, n_desc, "shift:%ld", px);
            return n;
        }
    }
    emo_error_set(err, EMO_ERR_ARG, "test-time augmentation '%s': expected none, flip, shift or shift:PX (1..8)",
                  text);
    return 0;
}

void train_view_images(const float *src, float *dst, size_t n, int w, int h, TrainView v)
{
    for (size_t i = 0; i < n; i++) {
        const float *a = src + i * (size_t)w * (size_t)h;
        float *b = dst + i * (size_t)w * (size_t)h;
        for (int y = 0; y < h; y++) {
            int sy = y - v.dy;
            sy = sy < 0 ? 0 : sy >= h ? h - 1 : sy;
            for (int x = 0; x < w; x++) {
                int sx = v.flip ? w - 1 - (x - v.dx) : x - v.dx; /* mirror, then move */
                sx = sx < 0 ? 0 : sx >= w ? w - 1 : sx;
                b[(size_t)y * (size_t)w + (size_t)x] = a[(size_t)sy * (size_t)w + (size_t)sx];
            }
        }
    }
}
