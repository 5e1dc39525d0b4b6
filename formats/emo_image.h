/* emo_image.h: decode and encode PNG and JPEG, into 8-bit gray or RGB.
 *
 * Decoding sniffs the magic bytes, never the file name, so a PNG named .jpg
 * decodes as PNG and a text file named .jpg is EMO_ERR_FORMAT. libpng's
 * longjmp and libjpeg's error_exit are caught inside: no call here exits or
 * aborts the process. Images over `max_pixels` are rejected from the header,
 * before any pixel buffer is allocated (decompression bombs).
 *
 * Gray conversion is ITU-R BT.601 luma, Y = 0.299 R + 0.587 G + 0.114 B,
 * rounded. Alpha is dropped (as OpenCV's IMREAD_GRAYSCALE does); 16-bit
 * samples are reduced to 8 bits by rounding. */
#ifndef EMO_IMAGE_H
#define EMO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "emo_error.h"

/* An 8-bit image, row-major, interleaved channels, stride = width*channels. */
typedef struct {
    int width;
    int height;
    int channels;     /* 1 = gray, 3 = RGB */
    uint8_t *pixels;  /* malloc'd, width*height*channels bytes */
} EmoImage;

typedef enum {
    EMO_IMAGE_UNKNOWN = 0,
    EMO_IMAGE_PNG,
    EMO_IMAGE_JPEG,
} EmoImageFormat;

/* Default decode limit: 64 megapixels. */
#define EMO_IMAGE_MAX_PIXELS_DEFAULT (64u * 1024u * 1024u)

typedef struct {
    int want_channels;     /* 1 = gray (default when 0), 3 = RGB */
    uint64_t max_pixels;   /* 0 = EMO_IMAGE_MAX_PIXELS_DEFAULT */
} EmoDecodeOptions;

/* Format by magic bytes (PNG: 89 50 4E 47 0D 0A 1A 0A; JPEG: FF D8 FF). */
EmoImageFormat emo_image_sniff(const uint8_t *data, size_t size);

/* Decodes a PNG or JPEG held in memory. `name` is used in error messages
 * only (may be NULL). On success img->pixels is malloc'd; free with
 * emo_image_free. Truncated data is EMO_ERR_CORRUPT; unknown magic or an
 * empty buffer EMO_ERR_FORMAT; over the pixel limit EMO_ERR_TOO_LARGE. */
EmoStatus emo_image_decode(const uint8_t *data, size_t size, const char *name,
                           const EmoDecodeOptions *opt, EmoImage *img, EmoError *err);

/* Reads and decodes a file (see emo_image_decode). */
EmoStatus emo_image_load(const char *path, const EmoDecodeOptions *opt, EmoImage *img, EmoError *err);

/* Encodes to PNG (compression level 0..9, -1 = libpng default) into a
 * malloc'd buffer. */
EmoStatus emo_image_encode_png(const EmoImage *img, int level, uint8_t **out, size_t *out_size, EmoError *err);

/* Encodes to JPEG (quality 1..100) into a malloc'd buffer. */
EmoStatus emo_image_encode_jpeg(const EmoImage *img, int quality, uint8_t **out, size_t *out_size, EmoError *err);

/* Writes a PNG file atomically (temp + rename). */
EmoStatus emo_image_save_png(const EmoImage *img, const char *path, EmoError *err);

/* Writes a JPEG file atomically (temp + rename). */
EmoStatus emo_image_save_jpeg(const EmoImage *img, const char *path, int quality, EmoError *err);

/* Allocates a zeroed image. */
EmoStatus emo_image_alloc(EmoImage *img, int width, int height, int channels, EmoError *err);

/* Frees pixels and zeroes the struct; NULL-safe. */
void emo_image_free(EmoImage *img);

/* RGB -> gray with BT.601 weights (in place allowed only if dst != src). */
void emo_image_rgb_to_gray(const uint8_t *rgb, uint8_t *gray, size_t npixels);

#endif /* EMO_IMAGE_H */
