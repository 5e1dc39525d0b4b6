/* emo_model.h: the trained-model file format (.emomodel).
 *
 * One file holds everything needed to rebuild a network and classify: the
 * architecture config (widths, number of modules, classes and their names,
 * input normalization), the learned parameters, the batch-norm running
 * statistics, and an optional opaque "extra" blob a trainer may use for
 * checkpoint state (optimizer moments, RNG, data position). This module knows
 * nothing about the network itself (train/ does): it stores float arrays and
 * checks their counts, never their meaning.
 *
 * Layout, all integers little-endian, floats IEEE-754 binary32 little-endian:
 *
 *   offset size  field
 *   0      8     magic "EMOMODEL"
 *   8      4     u32 version (EMO_MODEL_VERSION; a reader refuses newer ones)
 *   12     4     u32 header_size: bytes from offset 0 to the first parameter
 *   16     ...   config (see emo_model_write in emo_model.c for the order):
 *                u32 input_c, input_h, input_w; f32 input_mean, input_std;
 *                u32 stem_width[2]; u32 n_modules; u32 module_width[8];
 *                u32 n_classes; char class_names[32][32] (NUL-padded);
 *                u64 n_params; u64 n_buffers; u64 n_extra
 *   header_size  f32 params[n_params]      (layout: train/net_model.h)
 *                f32 buffers[n_buffers]    (BN running mean/var)
 *                u8  extra[n_extra]
 *   end-8  8     u64 XXH64 (seed 0) of every byte before it
 *
 * A file is written atomically (formats/emo_fs.h): it appears complete or
 * not at all. The reader checks magic, version, sizes (truncation), the
 * checksum (any flipped byte), and config sanity, and names the file in
 * every error message. */
#ifndef EMO_MODEL_H
#define EMO_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"

#define EMO_MODEL_MAGIC "EMOMODEL"
#define EMO_MODEL_VERSION 1u
#define EMO_MODEL_MAX_MODULES 8
#define EMO_MODEL_MAX_CLASSES 32
#define EMO_MODEL_CLASS_NAME_MAX 32 /* bytes including the NUL */

/* Architecture and preprocessing: what is needed to rebuild the network.
 * train/ uses this struct directly as its NetConfig. */
typedef struct {
    uint32_t input_c, input_h, input_w; /* 1, 48, 48 */
    float input_mean, input_std;        /* x = (pixel/255 - mean) / std */
    uint32_t stem_width[2];             /* conv A and conv B output channels */
    uint32_t n_modules;                 /* separable residual modules */
    uint32_t module_width[EMO_MODEL_MAX_MODULES];
    uint32_t n_classes;
    char class_names[EMO_MODEL_MAX_CLASSES][EMO_MODEL_CLASS_NAME_MAX];
} EmoModelConfig;

/* A model file in memory. Arrays are malloc'd by emo_model_read and freed by
 * emo_model_free; for emo_model_write they are the caller's. */
typedef struct {
    EmoModelConfig cfg;
    float *params;     /* [n_params] */
    uint64_t n_params;
    float *buffers;    /* [n_buffers] */
    uint64_t n_buffers;
    uint8_t *extra;    /* [n_extra], may be NULL when n_extra == 0 */
    uint64_t n_extra;
} EmoModel;

/* Writes m to path atomically. Fails with EMO_ERR_ARG on an insane config
 * (the same checks the reader makes), EMO_ERR_IO on write failure. */
EmoStatus emo_model_write(const char *path, const EmoModel *m, EmoError *err);

/* Reads and verifies path into m (zeroed first). Errors, each naming the
 * file: EMO_ERR_NOT_FOUND/EMO_ERR_IO (cannot read), EMO_ERR_FORMAT (not a
 * model file, insane config), EMO_ERR_VERSION (newer format version),
 * EMO_ERR_CORRUPT (truncated, trailing bytes, checksum mismatch). On error m
 * holds nothing to free. */
EmoStatus emo_model_read(const char *path, EmoModel *m, EmoError *err);

/* Parses a model from memory; `name` is used in error messages. */
EmoStatus emo_model_parse(const uint8_t *data, size_t size, const char *name, EmoModel *m, EmoError *err);

/* Checks a config for sanity (limits, nonzero sizes, finite positive std);
 * on failure sets err with `name` as the file name. */
EmoStatus emo_model_config_check(const EmoModelConfig *cfg, const char *name, EmoError *err);

/* Frees the arrays of a model returned by emo_model_read; safe on zeroed m. */
void emo_model_free(EmoModel *m);

#endif /* EMO_MODEL_H */
