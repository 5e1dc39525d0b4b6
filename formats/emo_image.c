/* emo_image.c: PNG (libpng) and JPEG (libjpeg-turbo) decode/encode to and
 * from 8-bit gray or RGB buffers (see emo_image.h).
 *
 * Both codecs report fatal errors by longjmp. Each codec call is split in
 * two: an outer function owns every resource in a context struct, and an
 * inner "run" function holds the setjmp. Whatever the inner function
 * allocated is reachable from the context, which is not an automatic object
 * of the function that called setjmp, so its fields stay valid after the
 * longjmp (C11 7.13.2.1p3) and the outer function frees them on every path.
 *
 * Gray conversion is BT.601 in 15-bit fixed point with rounding,
 *     Y = (9798 R + 19235 G + 3735 B + 16384) >> 15,
 * which is bit-exact with OpenCV 4.6 cv2.cvtColor(..., COLOR_RGB2GRAY) on
 * 8-bit data (checked on random images; OpenCV 3's 14-bit table 4899/9617/
 * 1868 differs in about 0.3% of pixels). Note cv2.imread(png, 0) is not
 * cvtColor: it lets libpng convert (coefficients 9797/19234/3737, truncated)
 * and is 1 lower on about half the pixels of an RGB PNG. For JPEG, gray
 * output is libjpeg's own (the Y plane of YCbCr), as cv2.imread(jpg, 0). */
#include "emo_image.h"

#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE without including it */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "emo_fs.h"

/*-*** Common ***/

static const char *image_name(const char *name)
{
    return name && *name ? name : "<memory>";
}

EmoImageFormat emo_image_sniff(const uint8_t *data, size_t size)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (!data) return EMO_IMAGE_UNKNOWN;
    if (size >= 8 && memcmp(data, png_magic, 8) == 0) return EMO_IMAGE_PNG;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return EMO_IMAGE_JPEG;
    return EMO_IMAGE_UNKNOWN;
}

EmoStatus emo_image_alloc(EmoImage *img, int width, int height, int channels, EmoError *err)
{
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3))
        return emo_error_set(err, EMO_ERR_ARG, "image: invalid size %dx%dx%d", width, height, channels);
    uint64_t n = (uint64_t)width * (uint64_t)height * (uint64_t)channels;
    if (n > SIZE_MAX)
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "image: %dx%dx%d does not fit in memory", width, height,
                             channels);
    img->pixels = calloc((size_t)n, 1);
    if (!img->pixels)
        return emo_error_set(err, EMO_ERR_NOMEM, "image: out of memory for %dx%dx%d", width, height, channels);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return EMO_OK;
}

void emo_image_free(EmoImage *img)
{
    if (!img) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

void emo_image_rgb_to_gray(const uint8_t *rgb, uint8_t *gray, size_t npixels)
{
    /* 0.299, 0.587, 0.114 in Q15 (sum 32768, so white stays 255). */
    for (size_t i = 0; i < npixels; i++) {
        uint32_t r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
        gray[i] = (uint8_t)((r * 9798u + g * 19235u + b * 3735u + 16384u) >> 15);
    }
}

/* Validated decode options: channels 1 or 3 and a pixel limit. */
static EmoStatus decode_opts(const EmoDecodeOptions *opt, const char *name, int *channels, uint64_t *max_pixels,
                             EmoError *err)
{
    *channels = opt && opt->want_channels ? opt->want_channels : 1;
    *max_pixels = opt && opt->max_pixels ? opt->max_pixels : EMO_IMAGE_MAX_PIXELS_DEFAULT;
    if (*channels != 1 && *channels != 3)
        return emo_error_set(err, EMO_ERR_ARG, "%s: want_channels must be 1 or 3, not %d", name, *channels);
    return EMO_OK;
}

static EmoStatus check_dims(const char *name, uint64_t w, uint64_t h, uint64_t max_pixels, EmoError *err)
{
    if (w == 0 || h == 0) return emo_error_set(err, EMO_ERR_CORRUPT, "%s: empty image (%llux%llu)", name,
                                               (unsigned long long)w, (unsigned long long)h);
    if (w * h > max_pixels || w > INT32_MAX || h > INT32_MAX)
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "%s: %llux%llu is over the %llu-pixel limit", name,
                             (unsigned long long)w, (unsigned long long)h, (unsigned long long)max_pixels);
    return EMO_OK;
}

/* A growing malloc'd output buffer, shared by both encoders. */
typedef struct {
    uint8_t *data;
    size_t size;
    size_t cap;
} ImgBuf;

static int imgbuf_reserve(ImgBuf *b, size_t extra)
{
    if (b->cap - b->size >= extra) return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->size < extra) {
        if (cap > SIZE_MAX / 2) return 0;
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) return 0;
    b->data = p;
    b->cap = cap;
    return 1;
}

/*-*** PNG decode ***/

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t size;
    size_t pos;
    int want;                 /* 1 or 3 */
    uint64_t max_pixels;
    png_structp png;
    png_infop info;
    uint8_t *buf;             /* decoded rows, `buf_channels` per pixel */
    int buf_channels;
    png_bytep *rows;
    int width, height;
    int truncated;            /* the read callback ran out of data */
    int too_large;            /* our own header check failed */
    int unsupported;          /* a layout we do not convert */
    int nomem;
    char msg[EMO_ERROR_MSG_MAX]; /* libpng's error text */
} PngDec;

static void png_on_error(png_structp png, png_const_charp msg)
{
    PngDec *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* libraries stay silent; warnings do not change the pixels */
}

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    PngDec *d = png_get_io_ptr(png);
    if (n > d->size - d->pos) {
        d->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(out, d->data + d->pos, n);
    d->pos += n;
}

static int png_dec_run(PngDec *d)
{
    if (setjmp(png_jmpbuf(d->png))) return 0;
    png_set_read_fn(d->png, d, png_read_mem);
    /* libpng's own limit (1,000,000 per side) would call a 2M-wide header
     * a bad PNG; lift it so our pixel limit decides, as TOO_LARGE. */
    png_set_user_limits(d->png, 0x7fffffffu, 0x7fffffffu);
    png_read_info(d->png, d->info);

    png_uint_32 w = png_get_image_width(d->png, d->info);
    png_uint_32 h = png_get_image_height(d->png, d->info);
    EmoError e;
    if (check_dims(d->name, w, h, d->max_pixels, &e) != EMO_OK) {
        d->too_large = 1;
        snprintf(d->msg, sizeof d->msg, "%s", e.msg);
        return 0;
    }
    int color = png_get_color_type(d->png, d->info);
    int depth = png_get_bit_depth(d->png, d->info);

    /* Normalize everything to 8-bit gray or 8-bit RGB without alpha. */
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(d->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(d->png);
    if (depth == 16) png_set_scale_16(d->png); /* rounds, unlike png_set_strip_16 */
    /* Alpha is dropped, not composited (as OpenCV's IMREAD_GRAYSCALE/COLOR).
     * tRNS is never expanded for gray/RGB; for palettes palette_to_rgb may
     * expand it, and strip_alpha removes it again. */
    png_set_strip_alpha(d->png);
    if (d->want == 3 && !(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(d->png);
    png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->info);

    int ch = png_get_channels(d->png, d->info);
    if (png_get_bit_depth(d->png, d->info) != 8 || (ch != 1 && ch != 3)) {
        d->unsupported = 1;
        snprintf(d->msg, sizeof d->msg, "PNG layout %d channels x %d bits after conversion", ch,
                 png_get_bit_depth(d->png, d->info));
        return 0;
    }
    size_t rowbytes = png_get_rowbytes(d->png, d->info);
    if (rowbytes != (size_t)w * (size_t)ch) {
        d->unsupported = 1;
        snprintf(d->msg, sizeof d->msg, "unexpected PNG row size %zu", rowbytes);
        return 0;
    }
    d->width = (int)w;
    d->height = (int)h;
    d->buf_channels = ch;
    d->buf = malloc(rowbytes * h);
    d->rows = malloc(sizeof *d->rows * h);
    if (!d->buf || !d->rows) {
        d->nomem = 1;
        return 0;
    }
    for (png_uint_32 y = 0; y < h; y++) d->rows[y] = d->buf + (size_t)y * rowbytes;
    png_read_image(d->png, d->rows);
    /* Checks the CRCs up to IEND, so a file cut after the pixels still fails. */
    png_read_end(d->png, NULL);
    return 1;
}

static EmoStatus decode_png(const uint8_t *data, size_t size, const char *name, int want, uint64_t max_pixels,
                            EmoImage *img, EmoError *err)
{
    PngDec d;
    memset(&d, 0, sizeof d);
    d.name = name;
    d.data = data;
    d.size = size;
    d.want = want;
    d.max_pixels = max_pixels;
    d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, png_on_error, png_on_warning);
    if (!d.png) return emo_error_set(err, EMO_ERR_NOMEM, "%s: cannot create PNG reader", name);
    d.info = png_create_info_struct(d.png);
    EmoStatus s = EMO_OK;
    if (!d.info) {
        s = emo_error_set(err, EMO_ERR_NOMEM, "%s: cannot create PNG info", name);
    } else if (!png_dec_run(&d)) {
        if (d.too_large)
            s = emo_error_set(err, EMO_ERR_TOO_LARGE, "%s", d.msg);
        else if (d.truncated)
            s = emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated PNG (%zu bytes)", name, size);
        else if (d.unsupported)
            s = emo_error_set(err, EMO_ERR_UNSUPPORTED, "%s: %s", name, d.msg);
        else if (d.nomem)
            s = emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory decoding PNG", name);
        else
            s = emo_error_set(err, EMO_ERR_CORRUPT, "%s: bad PNG: %s", name, d.msg);
    }
    png_destroy_read_struct(&d.png, d.info ? &d.info : NULL, NULL);
    free(d.rows);
    if (s != EMO_OK) {
        free(d.buf);
        return s;
    }
    memset(img, 0, sizeof *img);
    img->width = d.width;
    img->height = d.height;
    img->channels = want;
    if (d.buf_channels == want) {
        img->pixels = d.buf;
        return EMO_OK;
    }
    /* Only RGB -> gray is left: gray -> RGB was done by libpng. */
    size_t npix = (size_t)d.width * (size_t)d.height;
    img->pixels = malloc(npix);
    if (!img->pixels) {
        free(d.buf);
        memset(img, 0, sizeof *img);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
    }
    emo_image_rgb_to_gray(d.buf, img->pixels, npix);
    free(d.buf);
    return EMO_OK;
}

/*-*** JPEG decode ***/

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    int saw_eof;       /* JWRN_JPEG_EOF: the source ran dry, libjpeg faked an EOI */
    char msg[JMSG_LENGTH_MAX];
} JpegErr;

static void jpeg_on_error_exit(j_common_ptr cinfo)
{
    JpegErr *e = (JpegErr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jb, 1);
}

static void jpeg_on_emit(j_common_ptr cinfo, int level)
{
    /* level < 0 is a warning. libjpeg keeps decoding damaged data with a
     * warning; the one we refuse is a truncated stream, which it pads with
     * gray. Other "corrupt data" warnings are tolerated, as OpenCV does. */
    JpegErr *e = (JpegErr *)cinfo->err;
    if (level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) e->saw_eof = 1;
    }
}

static void jpeg_on_output(j_common_ptr cinfo)
{
    (void)cinfo; /* libraries never print */
}

static void jpeg_err_init(JpegErr *e)
{
    memset(e, 0, sizeof *e);
    jpeg_std_error(&e->pub);
    e->pub.error_exit = jpeg_on_error_exit;
    e->pub.emit_message = jpeg_on_emit;
    e->pub.output_message = jpeg_on_output;
}

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t size;
    int want;
    uint64_t max_pixels;
    struct jpeg_decompress_struct cinfo;
    JpegErr jerr;
    int created;
    int too_large;
    int nomem;
    int cmyk;            /* decoded as CMYK, converted by us */
    int cmyk_inverted;   /* Adobe (Photoshop) convention: 255 = no ink */
    uint8_t *buf;        /* decoded rows, out_color_components per pixel */
    int width, height, comps;
    char msg[EMO_ERROR_MSG_MAX];
} JpegDec;

static int jpeg_dec_run(JpegDec *d)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    if (setjmp(d->jerr.jb)) return 0;
    jpeg_create_decompress(ci);
    d->created = 1;
    jpeg_mem_src(ci, d->data, (unsigned long)d->size);
    jpeg_read_header(ci, TRUE);
    EmoError e;
    if (check_dims(d->name, ci->image_width, ci->image_height, d->max_pixels, &e) != EMO_OK) {
        d->too_large = 1;
        snprintf(d->msg, sizeof d->msg, "%s", e.msg);
        return 0;
    }
    if (ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK) {
        /* libjpeg does not convert CMYK to RGB; it does YCCK -> CMYK. */
        ci->out_color_space = JCS_CMYK;
        d->cmyk = 1;
        d->cmyk_inverted = ci->saw_Adobe_marker;
    } else {
        ci->out_color_space = d->want == 1 ? JCS_GRAYSCALE : JCS_RGB;
    }
    jpeg_start_decompress(ci);
    d->width = (int)ci->output_width;
    d->height = (int)ci->output_height;
    d->comps = ci->output_components;
    size_t stride = (size_t)d->width * (size_t)d->comps;
    d->buf = malloc(stride * (size_t)d->height);
    if (!d->buf) {
        d->nomem = 1;
        return 0;
    }
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = d->buf + (size_t)ci->output_scanline * stride;
        jpeg_read_scanlines(ci, &row, 1);
    }
    jpeg_finish_decompress(ci);
    return 1;
}

/* CMYK -> RGB. Inverted (Adobe) data stores 255 - ink, so R = C'K'/255;
 * plain data stores ink, so R = (255-C)(255-K)/255. Rounded. */
static void jpeg_cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t npix, int inverted)
{
    for (size_t i = 0; i < npix; i++) {
        const uint8_t *p = cmyk + 4 * i;
        unsigned k = inverted ? p[3] : 255u - p[3];
        for (int c = 0; c < 3; c++) {
            unsigned v = inverted ? p[c] : 255u - p[c];
            rgb[3 * i + c] = (uint8_t)((v * k + 127u) / 255u);
        }
    }
}

static EmoStatus decode_jpeg(const uint8_t *data, size_t size, const char *name, int want, uint64_t max_pixels,
                             EmoImage *img, EmoError *err)
{
    JpegDec *d = calloc(1, sizeof *d); /* jmp_buf + cinfo: keep them off small stacks */
    if (!d) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
    d->name = name;
    d->data = data;
    d->size = size;
    d->want = want;
    d->max_pixels = max_pixels;
    jpeg_err_init(&d->jerr);
    d->cinfo.err = &d->jerr.pub;

    EmoStatus s = EMO_OK;
    int ok = jpeg_dec_run(d);
    if (!ok) {
        int code = d->jerr.pub.msg_code;
        if (d->too_large)
            s = emo_error_set(err, EMO_ERR_TOO_LARGE, "%s", d->msg);
        else if (d->nomem)
            s = emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory decoding JPEG", name);
        else if (d->jerr.saw_eof || code == JERR_INPUT_EOF || code == JERR_INPUT_EMPTY)
            s = emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated JPEG (%zu bytes): %s", name, size,
                              d->jerr.msg);
        else if (code == JERR_OUT_OF_MEMORY)
            s = emo_error_set(err, EMO_ERR_NOMEM, "%s: %s", name, d->jerr.msg);
        else if (code == JERR_BAD_PRECISION || code == JERR_NOT_COMPILED || code == JERR_CONVERSION_NOTIMPL)
            s = emo_error_set(err, EMO_ERR_UNSUPPORTED, "%s: unsupported JPEG: %s", name, d->jerr.msg);
        else
            s = emo_error_set(err, EMO_ERR_CORRUPT, "%s: bad JPEG: %s", name, d->jerr.msg);
    } else if (d->jerr.saw_eof) {
        s = emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated JPEG (%zu bytes): premature end of data", name,
                          size);
    }
    if (d->created) jpeg_destroy_decompress(&d->cinfo);

    size_t npix = (size_t)d->width * (size_t)d->height;
    if (s == EMO_OK && !d->cmyk && d->comps != want)
        s = emo_error_set(err, EMO_ERR_UNSUPPORTED, "%s: JPEG decoded to %d components", name, d->comps);
    if (s == EMO_OK && d->cmyk) {
        uint8_t *rgb = malloc(npix * 3);
        uint8_t *out = want == 1 ? malloc(npix) : rgb;
        if (!rgb || !out) {
            free(rgb);
            if (out != rgb) free(out);
            s = emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
        } else {
            jpeg_cmyk_to_rgb(d->buf, rgb, npix, d->cmyk_inverted);
            if (want == 1) {
                emo_image_rgb_to_gray(rgb, out, npix);
                free(rgb);
            }
            free(d->buf);
            d->buf = out;
        }
    }
    if (s == EMO_OK) {
        memset(img, 0, sizeof *img);
        img->width = d->width;
        img->height = d->height;
        img->channels = want;
        img->pixels = d->buf;
        d->buf = NULL;
    }
    free(d->buf);
    free(d);
    return s;
}

/*-*** Decode entry points ***/

EmoStatus emo_image_decode(const uint8_t *data, size_t size, const char *name, const EmoDecodeOptions *opt,
                           EmoImage *img, EmoError *err)
{
    name = image_name(name);
    memset(img, 0, sizeof *img);
    int want;
    uint64_t max_pixels;
    EMO_RETURN_IF_ERR(decode_opts(opt, name, &want, &max_pixels, err));
    if (!data || size == 0) return emo_error_set(err, EMO_ERR_FORMAT, "%s: empty file", name);
    switch (emo_image_sniff(data, size)) {
    case EMO_IMAGE_PNG:
        return decode_png(data, size, name, want, max_pixels, img, err);
    case EMO_IMAGE_JPEG:
        return decode_jpeg(data, size, name, want, max_pixels, img, err);
    default:
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: not a PNG or JPEG (unknown magic bytes)", name);
    }
}

EmoStatus emo_image_load(const char *path, const EmoDecodeOptions *opt, EmoImage *img, EmoError *err)
{
    memset(img, 0, sizeof *img);
    int want;
    uint64_t max_pixels;
    EMO_RETURN_IF_ERR(decode_opts(opt, path, &want, &max_pixels, err));
    /* A compressed image within the pixel limit is rarely over 8 bytes per
     * pixel; refuse to slurp files that could not possibly pass. */
    uint64_t limit = max_pixels * 8u + (1u << 20);
    size_t max_bytes = limit > SIZE_MAX ? 0 : (size_t)limit;
    uint8_t *data;
    size_t size;
    EMO_RETURN_IF_ERR(emo_read_file(path, max_bytes, &data, &size, err));
    EmoStatus s = emo_image_decode(data, size, path, opt, img, err);
    free(data);
    return s;
}

/*-*** PNG encode ***/

typedef struct {
    const EmoImage *img;
    int level;
    png_structp png;
    png_infop info;
    ImgBuf out;
    int nomem;
    char msg[EMO_ERROR_MSG_MAX];
} PngEnc;

static void png_enc_error(png_structp png, png_const_charp msg)
{
    PngEnc *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_write_mem(png_structp png, png_bytep data, size_t n)
{
    PngEnc *e = png_get_io_ptr(png);
    if (!imgbuf_reserve(&e->out, n)) {
        e->nomem = 1;
        png_error(png, "out of memory");
    }
    memcpy(e->out.data + e->out.size, data, n);
    e->out.size += n;
}

static void png_flush_mem(png_structp png)
{
    (void)png;
}

static int png_enc_run(PngEnc *e)
{
    if (setjmp(png_jmpbuf(e->png))) return 0;
    const EmoImage *img = e->img;
    png_set_write_fn(e->png, e, png_write_mem, png_flush_mem);
    if (e->level >= 0) png_set_compression_level(e->png, e->level);
    png_set_IHDR(e->png, e->info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(e->png, e->info);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    for (int y = 0; y < img->height; y++)
        png_write_row(e->png, img->pixels + (size_t)y * stride);
    png_write_end(e->png, NULL);
    return 1;
}

static EmoStatus check_image(const EmoImage *img, const char *what, EmoError *err)
{
    if (!img || !img->pixels || img->width <= 0 || img->height <= 0 || (img->channels != 1 && img->channels != 3))
        return emo_error_set(err, EMO_ERR_ARG, "%s: invalid image", what);
    return EMO_OK;
}

EmoStatus emo_image_encode_png(const EmoImage *img, int level, uint8_t **out, size_t *out_size, EmoError *err)
{
    *out = NULL;
    *out_size = 0;
    EMO_RETURN_IF_ERR(check_image(img, "PNG encode", err));
    if (level < -1 || level > 9)
        return emo_error_set(err, EMO_ERR_ARG, "PNG encode: compression level %d not in -1..9", level);
    PngEnc e;
    memset(&e, 0, sizeof e);
    e.img = img;
    e.level = level;
    e.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e, png_enc_error, png_on_warning);
    if (!e.png) return emo_error_set(err, EMO_ERR_NOMEM, "PNG encode: cannot create writer");
    e.info = png_create_info_struct(e.png);
    EmoStatus s = EMO_OK;
    if (!e.info)
        s = emo_error_set(err, EMO_ERR_NOMEM, "PNG encode: cannot create info");
    else if (!png_enc_run(&e))
        s = emo_error_set(err, e.nomem ? EMO_ERR_NOMEM : EMO_ERR_ARG, "PNG encode: %s", e.msg);
    png_destroy_write_struct(&e.png, e.info ? &e.info : NULL);
    if (s != EMO_OK) {
        free(e.out.data);
        return s;
    }
    *out = e.out.data;
    *out_size = e.out.size;
    return EMO_OK;
}

/*-*** JPEG encode ***/

/* Our own destination manager: jpeg_mem_dest would leak its buffer when
 * compression fails, since nothing frees it on jpeg_destroy_compress. */
typedef struct {
    struct jpeg_destination_mgr pub;
    ImgBuf out;
    int nomem;
} JpegDest;

#define JPEG_DEST_CHUNK 16384

static void jpeg_dest_init(j_compress_ptr ci)
{
    JpegDest *d = (JpegDest *)ci->dest;
    if (!imgbuf_reserve(&d->out, JPEG_DEST_CHUNK)) {
        d->nomem = 1;
        ERREXIT(ci, JERR_OUT_OF_MEMORY);
    }
    d->pub.next_output_byte = d->out.data;
    d->pub.free_in_buffer = d->out.cap;
}

static boolean jpeg_dest_empty(j_compress_ptr ci)
{
    /* Called when the whole free space is used: everything up to cap is data. */
    JpegDest *d = (JpegDest *)ci->dest;
    d->out.size = d->out.cap;
    if (!imgbuf_reserve(&d->out, JPEG_DEST_CHUNK)) {
        d->nomem = 1;
        ERREXIT(ci, JERR_OUT_OF_MEMORY);
    }
    d->pub.next_output_byte = d->out.data + d->out.size;
    d->pub.free_in_buffer = d->out.cap - d->out.size;
    return TRUE;
}

static void jpeg_dest_term(j_compress_ptr ci)
{
    JpegDest *d = (JpegDest *)ci->dest;
    d->out.size = d->out.cap - d->pub.free_in_buffer;
}

typedef struct {
    const EmoImage *img;
    int quality;
    struct jpeg_compress_struct cinfo;
    JpegErr jerr;
    JpegDest dest;
    int created;
} JpegEnc;

static int jpeg_enc_run(JpegEnc *e)
{
    struct jpeg_compress_struct *ci = &e->cinfo;
    const EmoImage *img = e->img;
    if (setjmp(e->jerr.jb)) return 0;
    jpeg_create_compress(ci);
    e->created = 1;
    e->dest.pub.init_destination = jpeg_dest_init;
    e->dest.pub.empty_output_buffer = jpeg_dest_empty;
    e->dest.pub.term_destination = jpeg_dest_term;
    ci->dest = &e->dest.pub;
    ci->image_width = (JDIMENSION)img->width;
    ci->image_height = (JDIMENSION)img->height;
    ci->input_components = img->channels;
    ci->in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(ci);
    jpeg_set_quality(ci, e->quality, TRUE);
    jpeg_start_compress(ci, TRUE);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    while (ci->next_scanline < ci->image_height) {
        /* libjpeg's API takes non-const rows but does not write them. */
        JSAMPROW row = (JSAMPROW)(uintptr_t)(img->pixels + (size_t)ci->next_scanline * stride);
        jpeg_write_scanlines(ci, &row, 1);
    }
    jpeg_finish_compress(ci);
    return 1;
}

EmoStatus emo_image_encode_jpeg(const EmoImage *img, int quality, uint8_t **out, size_t *out_size, EmoError *err)
{
    *out = NULL;
    *out_size = 0;
    EMO_RETURN_IF_ERR(check_image(img, "JPEG encode", err));
    if (quality < 1 || quality > 100)
        return emo_error_set(err, EMO_ERR_ARG, "JPEG encode: quality %d not in 1..100", quality);
    if (img->width > JPEG_MAX_DIMENSION || img->height > JPEG_MAX_DIMENSION)
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "JPEG encode: %dx%d over JPEG's %d limit", img->width,
                             img->height, (int)JPEG_MAX_DIMENSION);
    JpegEnc *e = calloc(1, sizeof *e);
    if (!e) return emo_error_set(err, EMO_ERR_NOMEM, "JPEG encode: out of memory");
    e->img = img;
    e->quality = quality;
    jpeg_err_init(&e->jerr);
    e->cinfo.err = &e->jerr.pub;
    EmoStatus s = EMO_OK;
    if (!jpeg_enc_run(e))
        s = emo_error_set(err, e->dest.nomem ? EMO_ERR_NOMEM : EMO_ERR_ARG, "JPEG encode: %s", e->jerr.msg);
    if (e->created) jpeg_destroy_compress(&e->cinfo);
    if (s == EMO_OK) {
        *out = e->dest.out.data;
        *out_size = e->dest.out.size;
    } else {
        free(e->dest.out.data);
    }
    free(e);
    return s;
}

/*-*** Save ***/

static EmoStatus save_encoded(EmoStatus s, uint8_t *buf, size_t n, const char *path, EmoError *err)
{
    if (s != EMO_OK) {
        /* Put the file name in front of the encoder's message. */
        if (err) {
            char m[EMO_ERROR_MSG_MAX];
            snprintf(m, sizeof m, "%s", err->msg);
            emo_error_set(err, s, "%s: %s", path, m);
        }
        return s;
    }
    s = emo_write_file_atomic(path, buf, n, err);
    free(buf);
    return s;
}

EmoStatus emo_image_save_png(const EmoImage *img, const char *path, EmoError *err)
{
    uint8_t *buf;
    size_t n;
    EmoStatus s = emo_image_encode_png(img, -1, &buf, &n, err);
    return save_encoded(s, buf, n, path, err);
}

EmoStatus emo_image_save_jpeg(const EmoImage *img, const char *path, int quality, EmoError *err)
{
    uint8_t *buf;
    size_t n;
    EmoStatus s = emo_image_encode_jpeg(img, quality, &buf, &n, err);
    return save_encoded(s, buf, n, path, err);
}
