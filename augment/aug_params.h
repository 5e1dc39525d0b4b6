/* aug_params.h: what to augment (AugConfig), what one variant got
 * (AugParams), drawing the latter from the former with an explicit AugRng,
 * and the compact "k=v" text stored in each output record.
 *
 * Each transform has a magnitude and a probability; it is applied to a
 * variant with that probability, with a value drawn uniformly from its range:
 *   flip       mirror left-right                      (p, default 0.5)
 *   rotate     angle ~ U(-R, R) degrees               (default R = 10)
 *   shift      dx ~ U(-Fx, Fx) * width, dy likewise    (default 0.1, 0.1)
 *   zoom       zx, zy ~ U(1-Z, 1+Z), independently;    (default 0.1)
 *              Keras semantics: z scales the sampling coordinates, so z > 1
 *              zooms out
 *   brightness multiply by U(1-B, 1+B), or with add mode add U(-B, B) * 255
 *                                                      (default 0.2)
 *   contrast   scale about the image mean by U(1-C, 1+C)          (off)
 *   gamma      v -> 255 (v/255)^g, g ~ U(1-G, 1+G)                (off)
 *   blur       Gaussian, sigma ~ U(0.1, S) pixels                 (off)
 *   noise      additive, sigma ~ U(0, S) gray levels              (off)
 *   erase      a rectangle of area U(0.02, A) * image area, aspect
 *              log-uniform in [0.3, 3.3], filled with a gray value (off)
 *              (torchvision RandomErasing's ranges)
 * Defaults are the common FER2013 recipe (Keras ImageDataGenerator with
 * rotation 10, shifts 0.1, zoom 0.1, horizontal flip; +-20% brightness).
 *
 * Drawn values are quantized to the precision they are printed with, so the
 * params text replays a variant exactly: parse it, apply it, same bytes. */
#ifndef AUG_PARAMS_H
#define AUG_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "aug_rng.h"
#include "aug_warp.h"
#include "emo_error.h"

typedef struct {
    double flip_p;
    double rotate, rotate_p;            /* max |angle|, degrees (0..180) */
    double shift_x, shift_y, shift_p;   /* max |shift|, fraction of the size (0..1) */
    double zoom, zoom_p;                /* max |z - 1| (0..0.9) */
    double bright, bright_p;            /* max |factor - 1| or |offset|/255 (0..1) */
    int bright_add;                     /* 0 multiply, 1 add */
    double contrast, contrast_p;        /* max |factor - 1| (0..1) */
    double gamma, gamma_p;              /* max |g - 1| (0..0.9) */
    double blur, blur_p;                /* max sigma, pixels (0..10) */
    double noise, noise_p;              /* max sigma, gray levels (0..128) */
    double erase, erase_p;              /* max area fraction (0 or 0.02..1) */
    uint8_t erase_value;                /* fill gray level */
    AugBorder border;                   /* for the geometric warp */
} AugConfig;

/* The defaults above. */
AugConfig aug_config_default(void);

/* Checks every field against its range. On failure returns EMO_ERR_ARG with a
 * message naming the option ("rotate 200: must be within 0..180"). */
EmoStatus aug_config_validate(const AugConfig *c, EmoError *err);

/* Bits of AugParams.applied. */
enum {
    AUG_T_FLIP = 1 << 0,
    AUG_T_ROTATE = 1 << 1,
    AUG_T_SHIFT = 1 << 2,
    AUG_T_ZOOM = 1 << 3,
    AUG_T_BRIGHT = 1 << 4,
    AUG_T_CONTRAST = 1 << 5,
    AUG_T_GAMMA = 1 << 6,
    AUG_T_BLUR = 1 << 7,
    AUG_T_NOISE = 1 << 8,
    AUG_T_ERASE = 1 << 9,
    AUG_T_GEOMETRIC = AUG_T_FLIP | AUG_T_ROTATE | AUG_T_SHIFT | AUG_T_ZOOM,
    AUG_T_TONE = AUG_T_BRIGHT | AUG_T_CONTRAST | AUG_T_GAMMA,
};

/* One variant's transform values. A transform whose bit is clear is the
 * identity whatever its fields hold. */
typedef struct {
    unsigned applied;           /* AUG_T_* */
    double rotate;              /* degrees, counter-clockwise */
    double shift_x, shift_y;    /* pixels */
    double zoom_x, zoom_y;      /* sampling scale, > 1 zooms out */
    int bright_add;             /* how `bright` applies */
    double bright;              /* factor, or offset in gray levels */
    double contrast;
    double gamma;
    double blur;                /* sigma, pixels */
    double noise;               /* sigma, gray levels */
    uint32_t noise_seed;        /* seeds the noise pattern */
    int erase_x, erase_y, erase_w, erase_h;
    uint8_t erase_value;
} AugParams;

/* Parameters with nothing applied. */
AugParams aug_params_none(void);

/* Draws one variant's parameters for a width x height image. The draws are
 * taken in a fixed layout (every transform consumes the same draws whether
 * enabled or not), so turning one transform on or off leaves the values of
 * the others unchanged for the same seed. */
void aug_params_sample(const AugConfig *c, AugRng *rng, int width, int height, AugParams *p);

/* Longest text aug_params_format writes, NUL included. */
#define AUG_PARAMS_TEXT_MAX 192

/* Writes "flip=1 rot=-3.20 shift=1.25,-0.50 zoom=1.043,0.981 bright=1.071
 * ..." listing the transforms applied, in application order; "none" if no
 * transform was applied. Keys: flip rot shift zoom bright (factor) badd
 * (offset) contrast gamma blur noise=SIGMA/SEEDHEX erase=X,Y,W,H,VALUE.
 * `cap` should be AUG_PARAMS_TEXT_MAX. Returns the length. */
int aug_params_format(const AugParams *p, char *buf, size_t cap);

/* Parses aug_params_format's text back. Unknown keys or malformed values
 * are EMO_ERR_FORMAT. */
EmoStatus aug_params_parse(const char *text, AugParams *p, EmoError *err);

/* The inverse map (destination -> source) of the geometric part for a
 * width x height image: the picture is flipped, zoomed and rotated about the
 * centre, then shifted, in that order. */
AugAffine aug_params_inverse_map(const AugParams *p, int width, int height);

#endif /* AUG_PARAMS_H */
