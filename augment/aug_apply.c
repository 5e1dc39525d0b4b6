/* aug_apply.c: one variant from one image (see aug_apply.h). */
#include "aug_apply.h"

#include <stdlib.h>
#include <string.h>

#include "aug_pixel.h"

void aug_workspace_free(AugWorkspace *ws)
{
    if (!ws) return;
    aug_warp_scratch_free(&ws->warp);
    free(ws->blur_tmp);
    memset(ws, 0, sizeof *ws);
}

EmoStatus aug_apply(const AugParams *p, const AugBorder *border, const uint8_t *src, int width,
                    int height, int channels, uint8_t *dst, AugWorkspace *ws, EmoError *err)
{
    if (width < 1 || height < 1 || channels < 1 || channels > 4)
        return emo_error_set(err, EMO_ERR_ARG, "augment: bad image shape %dx%dx%d", width, height,
                             channels);
    size_t n = (size_t)width * height * channels;
    unsigned a = p->applied;

    if (a & AUG_T_GEOMETRIC) {
        AugAffine inv = aug_params_inverse_map(p, width, height);
        EMO_RETURN_IF_ERR(aug_warp(src, width, height, channels, dst, &inv, border, &ws->warp, err));
    } else {
        memcpy(dst, src, n);
    }
    if (a & AUG_T_TONE) {
        AugTone t = aug_tone_identity();
        if (a & AUG_T_BRIGHT) t.bright_add = p->bright_add, t.bright = p->bright;
        if (a & AUG_T_CONTRAST) t.contrast = p->contrast;
        if (a & AUG_T_GAMMA) t.gamma = p->gamma;
        uint32_t hist[256];
        uint8_t lut[256];
        if (t.contrast != 1.0) aug_histogram(dst, n, hist);
        aug_tone_lut(&t, t.contrast != 1.0 ? hist : NULL, lut);
        aug_lut_apply(dst, n, lut);
    }
    if (a & AUG_T_BLUR) {
        size_t need = aug_blur_tmp_floats(width, height, channels);
        if (ws->blur_cap < need) {
            float *q = realloc(ws->blur_tmp, need * sizeof *q);
            if (!q) return emo_error_set(err, EMO_ERR_NOMEM, "augment: out of memory");
            ws->blur_tmp = q, ws->blur_cap = need;
        }
        aug_blur(dst, width, height, channels, p->blur, ws->blur_tmp);
    }
    if (a & AUG_T_NOISE) aug_noise(dst, n, p->noise, p->noise_seed);
    if (a & AUG_T_ERASE)
        aug_erase(dst, width, height, channels, p->erase_x, p->erase_y, p->erase_w, p->erase_h,
                  p->erase_value);
    return EMO_OK;
}

EmoStatus aug_make_variant(const AugConfig *cfg, uint64_t seed, uint64_t record_id, uint32_t copy,
                           const uint8_t *src, int width, int height, int channels, uint8_t *dst,
                           char *params_text, AugWorkspace *ws, EmoError *err)
{
    AugRng rng = aug_rng_for_variant(seed, record_id, copy);
    AugParams p;
    aug_params_sample(cfg, &rng, width, height, &p);
    if (params_text) aug_params_format(&p, params_text, AUG_PARAMS_TEXT_MAX);
    return aug_apply(&p, &cfg->border, src, width, height, channels, dst, ws, err);
}
