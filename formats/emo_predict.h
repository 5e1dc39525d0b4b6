/* emo_predict.h: lossless pixel predictors applied before zstd.
 *
 * zstd finds repeats; face pixels rarely repeat exactly, but neighbouring
 * pixels are close, so a shard stores each pixel as its difference from a
 * prediction made from already-decoded neighbours (residual = x - pred,
 * mod 256). Residuals cluster around 0 and zstd's Huffman stage codes them
 * in fewer bits than the pixels themselves (measurements in SHARDS.md).
 *
 * Neighbours of x, per channel:   c b
 *                                 a x
 * Neighbours outside the image are 0 (as in PNG), so every predictor falls
 * back to "left" on the first row and "up" on the first column.
 *
 * The predictor id is stored per record in the shard, so ids are part of the
 * file format: never renumber them. */
#ifndef EMO_PREDICT_H
#define EMO_PREDICT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    EMO_PRED_NONE = 0,   /* x */
    EMO_PRED_LEFT = 1,   /* a */
    EMO_PRED_UP = 2,     /* b */
    EMO_PRED_GRAD = 3,   /* a + b - c, mod 256 (separable: decodes as two prefix sums) */
    EMO_PRED_AVG = 4,    /* (a + b) / 2 */
    EMO_PRED_PAETH = 5,  /* PNG's Paeth */
    EMO_PRED_MED = 6,    /* LOCO-I / JPEG-LS median edge detector */
    EMO_PRED__COUNT
} EmoPredictor;

/* Short name ("left", "med", ...); "?" for an unknown id. */
const char *emo_predict_name(int pred);

/* Residuals of `px` (w*h*c bytes, row-major, interleaved) into `res`
 * (same size; must not alias px). */
void emo_predict_encode(EmoPredictor pred, const uint8_t *px, uint8_t *res, int w, int h, int c);

/* Inverse of emo_predict_encode, in place: residuals become pixels. */
void emo_predict_decode(EmoPredictor pred, uint8_t *buf, int w, int h, int c);

/* Records decoded together by emo_predict_decode_med_x32. */
#define EMO_PREDICT_LANES 32

/* MED decode of EMO_PREDICT_LANES gray w x h images stored interleaved
 * (byte j*32 + k is pixel j of image k), in place. One image's MED decode is
 * a serial chain through the left neighbour; 32 images side by side make
 * that chain 32 bytes wide, so SIMD runs it at vector speed. */
void emo_predict_decode_med_x32(uint8_t *buf, int w, int h);

/* emo_predict_decode_med_x32, then the images written out record by record:
 * image k's w*h pixels to dst + k*w*h (dst must not overlap buf). The
 * un-interleave runs on each stretch of 16 pixels right after it is decoded,
 * while it is still in L1. buf is left holding the interleaved pixels. */
void emo_predict_decode_med_x32_split(uint8_t *buf, uint8_t *dst, int w, int h);

/* MED encode of EMO_PREDICT_LANES gray w x h images (src[k] is image k,
 * row-major) into the interleaved layout: byte j*32 + k of `res` (32*w*h
 * bytes, not overlapping any src) is residual j of image k, byte for byte
 * what emo_predict_encode(EMO_PRED_MED, src[k], ...) gives. */
void emo_predict_encode_med_x32(const uint8_t *const src[EMO_PREDICT_LANES], uint8_t *res, int w, int h);

/* The predictor from `allowed` (a bit mask of 1u << EmoPredictor) whose
 * residuals of `px` have the lowest estimated coded size (order-0 entropy).
 * Writes that predictor's residuals to `res`. `scratch` holds w*h*c bytes. */
EmoPredictor emo_predict_choose(uint32_t allowed, const uint8_t *px, uint8_t *res, uint8_t *scratch,
                                int w, int h, int c);

#endif /* EMO_PREDICT_H */
