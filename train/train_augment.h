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

/* Mirrors n images of w x h floats left-right, src into dst (not aliased).
 * Test-time augmentation averages a face's prediction with its mirror's. */
void train_hflip_images(const float *src, float *dst, size_t n, int w, int h);

#endif /* TRAIN_AUGMENT_H */
