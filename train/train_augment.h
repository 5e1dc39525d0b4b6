/* train_augment.h: light on-the-fly augmentation inside the trainer's loader.
 *
 * Offline augmentation is emoaugment's job (more transforms, written once to
 * shards). This is the cheap per-epoch variety a training run wants anyway:
 * a random horizontal flip, shift, rotation and zoom composed into one
 * bilinear affine warp with edge-replicated borders (Keras's "nearest"
 * fill), and a brightness factor, on a 48x48 face. The cost is ~10 ns a
 * pixel, nothing next to the ~1 GFLOP the network spends on the image.
 *
 * Each call draws exactly six numbers from the RNG whatever is enabled, so
 * the stream of random numbers, and therefore resume, does not depend on
 * which records were skipped or converted. */
#ifndef TRAIN_AUGMENT_H
#define TRAIN_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"
#include "train_rng.h"

typedef struct {
    int hflip;          /* 1 = mirror left-right with probability 1/2 */
    double shift;       /* max translation as a fraction of the size (0.1 = +-4.8 px) */
    double rotate;      /* max rotation, degrees */
    double zoom;        /* scale drawn from [1 - zoom, 1 + zoom] */
    double brightness;  /* pixel factor drawn from [1 - b, 1 + b], clamped to [0, 1] after */
} TrainAugment;

/* Parses a comma-separated list: "flip", "shift=F", "rotate=DEG",
 * "zoom=F", "brightness=F", or "none". Unset fields are 0. */
EmoStatus train_augment_parse(const char *text, TrainAugment *a, EmoError *err);

/* 1 if any transform is enabled. */
int train_augment_active(const TrainAugment *a);

/* Converts a w*h gray image to floats in [0, 1] (pixel / 255). */
void train_pixels_to_float(const uint8_t *src, size_t n, float *dst);

/* Augments the w*h gray image src into dst (floats in [0, 1]), drawing the
 * transform from rng. With nothing enabled it equals train_pixels_to_float
 * (and still draws its six numbers). */
void train_augment_apply(const TrainAugment *a, TrainRng *rng, const uint8_t *src, int w, int h, float *dst);

/* Test-time augmentation: a face's class probabilities are averaged over
 * a few views of it, each a mirror image or not, moved by whole pixels
 * with the edges replicated (the border the training warp uses). */
typedef struct {
    int flip;    /* 1 = mirrored left-right */
    int dx, dy;  /* content moves right / down by this many pixels */
} TrainView;

#define TRAIN_TTA_MAX_VIEWS 10

/* Parses a test-time augmentation into its views, returns their count, or
 * 0 (with err set) on a bad name:
 *   "none"           1 view, the face
 *   "flip"           2: the face and its mirror image
 *   "shift[:PX]"     10: those two, each also moved PX pixels (default 2,
 *                    1..8) left, right, up and down: the "ten-crop" of
 *                    Krizhevsky et al. for a net trained on whole faces
 *                    with shift augmentation.
 * The description ("none", "flip", "shift:2") goes to desc (>= 16 bytes)
 * when it is not NULL. */
int train_tta_parse(const char *text, TrainView views[TRAIN_TTA_MAX_VIEWS], char *desc, size_t n_desc,
                    EmoError *err);

/* Writes view v of n images of w x h floats, src into dst (not aliased). */
void train_view_images(const float *src, float *dst, size_t n, int w, int h, TrainView v);

#endif /* TRAIN_AUGMENT_H */
