/* aug_apply.h: turn one image into one variant: apply an AugParams, or draw
 * the params for (seed, record id, copy index) and apply them.
 *
 * Order of application: the geometric part (flip, zoom, rotation, shift) as
 * ONE bilinear warp, then the tone table (brightness, contrast, gamma), blur,
 * noise, and erasing last (as torchvision's FER recipes do). */
#ifndef AUG_APPLY_H
#define AUG_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "aug_params.h"
#include "aug_warp.h"
#include "emo_error.h"

/* Per-thread scratch memory, reused across images (no allocation per image
 * once warmed up). Zero-initialize; free with aug_workspace_free. */
typedef struct {
    AugWarpScratch warp;
    float *blur_tmp;
    size_t blur_cap;     /* floats */
} AugWorkspace;

void aug_workspace_free(AugWorkspace *ws);

/* dst = the variant of src (width x height x channels, 1..4) described by p.
 * src and dst must not overlap. Fails only on bad shapes or out of memory. */
EmoStatus aug_apply(const AugParams *p, const AugBorder *border, const uint8_t *src, int width,
                    int height, int channels, uint8_t *dst, AugWorkspace *ws, EmoError *err);

/* Draws the params of variant (seed, record_id, copy) from cfg, applies them
 * (dst as in aug_apply) and, if params_text is non-NULL, writes their text
 * (AUG_PARAMS_TEXT_MAX bytes) there. The same inputs always give the same
 * bytes, whichever thread runs it. */
EmoStatus aug_make_variant(const AugConfig *cfg, uint64_t seed, uint64_t record_id, uint32_t copy,
                           const uint8_t *src, int width, int height, int channels, uint8_t *dst,
                           char *params_text, AugWorkspace *ws, EmoError *err);

#endif /* AUG_APPLY_H */
