/* test_image.c: PNG/JPEG decode and encode (formats/emo_image.h).
 *
 * Inputs are written in the test with libpng and libjpeg directly (every PNG
 * color type, CMYK JPEG), so expected pixels are known independently of the
 * code under test. OpenCV references live in tests/data/images (made with
 * python3-opencv 4.6 on the same libjpeg/libpng; see the README there):
 * rgb24.png + rgb24.cv2gray is cv2.cvtColor(RGB2GRAY); color24.jpg +
 * color24.cv2gray/.cv2rgb are cv2.imread(path, 0) and cv2.imread(path, 1). */
#include <check.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "emo_fs.h"
#include "emo_image.h"
#include "test_support.h"

#define FIXTURES "tests/data/images"

/*-*** Helpers: writing test inputs with libpng/libjpeg directly ***/

typedef struct {
    uint8_t *data;
    size_t size, cap;
} MemBuf;

static void membuf_put(MemBuf *b, const void *p, size_t n)
{
    if (b->size + n > b->cap) {
        b->cap = (b->size + n) * 2 + 1024;
        b->data = realloc(b->data, b->cap);
        ck_assert_ptr_nonnull(b->data);
    }
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void png_put(png_structp png, png_bytep d, size_t n)
{
    membuf_put(png_get_io_ptr(png), d, n);
}

static void png_noflush(png_structp png)
{
    (void)png;
}

/* A PNG of the given layout. `rows` holds h rows of packed PNG-native bytes
 * (big-endian 16-bit samples, packed sub-byte samples). */
typedef struct {
    int w, h, color, depth, interlace;
    const uint8_t *rows;
    const png_color *pal;
    int npal;
    const png_byte *trns;
    int ntrns;
} PngSpec;

static uint8_t *write_png(const PngSpec *s, size_t *size)
{
    MemBuf out = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    png_bytep *rows = malloc(sizeof *rows * (size_t)s->h);
    if (setjmp(png_jmpbuf(png))) ck_abort_msg("libpng failed writing the test input");
    png_set_write_fn(png, &out, png_put, png_noflush);
    png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth, s->color, s->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->pal) png_set_PLTE(png, info, s->pal, s->npal);
    if (s->trns) png_set_tRNS(png, info, s->trns, s->ntrns, NULL);
    png_write_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    for (int y = 0; y < s->h; y++) rows[y] = (png_bytep)(uintptr_t)(s->rows + (size_t)y * rowbytes);
    png_write_image(png, rows); /* does the Adam7 passes itself when interlaced */
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *size = out.size;
    return out.data;
}

static uint8_t *rand_bytes(size_t n, uint64_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(ts_rand(&st) >> 56);
    return p;
}

/* Smooth content (JPEG-friendly): gradients plus a soft blob. */
static uint8_t *smooth_image(int w, int h, int ch)
{
    uint8_t *p = malloc((size_t)w * h * ch);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < ch; c++) {
                double dx = x - w / 2.0, dy = y - h / 2.0;
                double v = 40 + 3.0 * x + 1.5 * y * (c + 1) + 60 * exp(-(dx * dx + dy * dy) / 100.0);
                p[((size_t)y * w + x) * ch + c] = (uint8_t)(v > 255 ? 255 : v);
            }
    return p;
}

static EmoStatus decode(const uint8_t *d, size_t n, int want, EmoImage *img, EmoError *err)
{
    EmoDecodeOptions o = {want, 0};
    return emo_image_decode(d, n, "test", &o, img, err);
}

/* Decodes and checks size and channels; fails the test on error. */
static void decode_ok(const uint8_t *d, size_t n, int want, int w, int h, EmoImage *img)
{
    EmoError err;
    EmoStatus s = decode(d, n, want, img, &err);
    ck_assert_msg(s == EMO_OK, "decode failed: %s", err.msg);
    ck_assert_int_eq(img->width, w);
    ck_assert_int_eq(img->height, h);
    ck_assert_int_eq(img->channels, want);
}

static void assert_bytes_eq(const uint8_t *a, const uint8_t *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(a[i] == b[i], "%s: byte %zu is %d, want %d", what, i, a[i], b[i]);
}

/* BT.601 luma in double precision: the definition, not our fixed point. */
static double luma(double r, double g, double b)
{
    return 0.299 * r + 0.587 * g + 0.114 * b;
}

/* Gray from RGB, checked against the exact definition: rounding of the
 * fixed point may differ by one only where the exact value is near .5. */
static void assert_gray_of(const uint8_t *gray, const uint8_t *rgb, size_t npix)
{
    for (size_t i = 0; i < npix; i++) {
        double y = luma(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
        double d = fabs(gray[i] - y);
        ck_assert_msg(d <= 0.5 + 1e-9 || (d < 1.0 && fabs(y - floor(y) - 0.5) < 0.01),
                      "pixel %zu: gray %d, luma %.3f", i, gray[i], y);
    }
}

/*-*** PNG color types ***/

START_TEST(png_gray8_and_gray_to_rgb)
{
    int w = 37, h = 23;
    uint8_t *px = rand_bytes((size_t)w * h, 1);
    PngSpec s = {w, h, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, px, NULL, 0, NULL, 0};
    size_t n;
    uint8_t *png = write_png(&s, &n);
    ck_assert_int_eq(emo_image_sniff(png, n), EMO_IMAGE_PNG);
    EmoImage img;
    decode_ok(png, n, 1, w, h, &img);
    assert_bytes_eq(img.pixels, px, (size_t)w * h, "gray");
    emo_image_free(&img);
    decode_ok(png, n, 3, w, h, &img);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++) ck_assert_int_eq(img.pixels[3 * i + c], px[i]);
    emo_image_free(&img);
    ck_assert_ptr_null(img.pixels);
    free(png);
    free(px);
}
END_TEST

START_TEST(png_gray_low_bit_depths)
{
    int w = 19, h = 5;
    for (int depth = 1; depth <= 4; depth *= 2) { /* 1, 2, 4 */
        int maxv = (1 << depth) - 1;
        size_t rowbytes = ((size_t)w * depth + 7) / 8;
        uint8_t *rows = calloc(rowbytes * h, 1);
        uint8_t *want = malloc((size_t)w * h);
        uint64_t st = 7;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = (int)(ts_rand(&st) >> 60) & maxv;
                size_t bit = (size_t)x * depth; /* MSB first */
                rows[y * rowbytes + bit / 8] |= (uint8_t)(v << (8 - depth - bit % 8));
                want[y * w + x] = (uint8_t)(v * 255 / maxv); /* exact: maxv divides 255 */
            }
        PngSpec s = {w, h, PNG_COLOR_TYPE_GRAY, depth, PNG_INTERLACE_NONE, rows, NULL, 0, NULL, 0};
        size_t n;
        uint8_t *png = write_png(&s, &n);
        EmoImage img;
        decode_ok(png, n, 1, w, h, &img);
        assert_bytes_eq(img.pixels, want, (size_t)w * h, "low-depth gray");
        emo_image_free(&img);
        free(png);
        free(rows);
        free(want);
    }
}
END_TEST

START_TEST(png_gray_alpha_drops_alpha)
{
    int w = 16, h = 9;
    uint8_t *ga = rand_bytes((size_t)w * h * 2, 2);
    PngSpec s = {w, h, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, ga, NULL, 0, NULL, 0};
    size_t n;
    uint8_t *png = write_png(&s, &n);
    EmoImage img;
    decode_ok(png, n, 1, w, h, &img);
    for (int i = 0; i < w * h; i++) ck_assert_int_eq(img.pixels[i], ga[2 * i]);
    emo_image_free(&img);
    free(png);
    free(ga);
}
END_TEST

START_TEST(png_rgb_and_rgba)
{
    int w = 21, h = 17;
    size_t npix = (size_t)w * h;
    uint8_t *rgba = rand_bytes(npix * 4, 3);
    uint8_t *rgb = malloc(npix * 3);
    for (size_t i = 0; i < npix; i++) memcpy(rgb + 3 * i, rgba + 4 * i, 3);

    PngSpec s = {w, h, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, rgb, NULL, 0, NULL, 0};
    size_t n;
    uint8_t *png = write_png(&s, &n);
    EmoImage img;
    decode_ok(png, n, 3, w, h, &img);
    assert_bytes_eq(img.pixels, rgb, npix * 3, "rgb");
    emo_image_free(&img);
    decode_ok(png, n, 1, w, h, &img);
    assert_gray_of(img.pixels, rgb, npix);
    emo_image_free(&img);
    free(png);

    s.color = PNG_COLOR_TYPE_RGB_ALPHA;
    s.rows = rgba;
    png = write_png(&s, &n);
    decode_ok(png, n, 3, w, h, &img);
    assert_bytes_eq(img.pixels, rgb, npix * 3, "rgba -> rgb");
    emo_image_free(&img);
    decode_ok(png, n, 1, w, h, &img);
    assert_gray_of(img.pixels, rgb, npix);
    emo_image_free(&img);
    free(png);
    free(rgb);
    free(rgba);
}
END_TEST

START_TEST(png_palette_with_transparency)
{
    int w = 13, h = 8;
    png_color pal[16];
    png_byte trns[16];
    uint64_t st = 4;
    for (int i = 0; i < 16; i++) {
        pal[i].red = (png_byte)(ts_rand(&st) >> 56);
        pal[i].green = (png_byte)(ts_rand(&st) >> 56);
        pal[i].blue = (png_byte)(ts_rand(&st) >> 56);
        trns[i] = (png_byte)(i * 16);
    }
    for (int depth = 4; depth <= 8; depth += 4) {
        size_t rowbytes = ((size_t)w * depth + 7) / 8;
        uint8_t *rows = calloc(rowbytes * h, 1);
        uint8_t *want = malloc((size_t)w * h * 3);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int idx = (int)(ts_rand(&st) >> 60);
                if (depth == 8)
                    rows[y * rowbytes + x] = (uint8_t)idx;
                else
                    rows[y * rowbytes + x / 2] |= (uint8_t)(x % 2 ? idx : idx << 4);
                uint8_t *o = want + 3 * ((size_t)y * w + x);
                o[0] = pal[idx].red;
                o[1] = pal[idx].green;
                o[2] = pal[idx].blue;
            }
        PngSpec s = {w, h, PNG_COLOR_TYPE_PALETTE, depth, PNG_INTERLACE_NONE, rows, pal, 16, trns, 16};
        size_t n;
        uint8_t *png = write_png(&s, &n);
        EmoImage img;
        decode_ok(png, n, 3, w, h, &img);
        assert_bytes_eq(img.pixels, want, (size_t)w * h * 3, "palette");
        emo_image_free(&img);
        decode_ok(png, n, 1, w, h, &img);
        assert_gray_of(img.pixels, want, (size_t)w * h);
        emo_image_free(&img);
        free(png);
        free(rows);
        free(want);
    }
}
END_TEST

START_TEST(png_16bit_rounds_to_8)
{
    int w = 11, h = 7;
    for (int color = 0; color < 2; color++) {
        int ch = color ? 3 : 1;
        size_t nsamp = (size_t)w * h * ch;
        uint16_t *v = malloc(nsamp * 2);
        uint8_t *be = malloc(nsamp * 2);
        uint64_t st = 5;
        for (size_t i = 0; i < nsamp; i++) {
            v[i] = (uint16_t)(ts_rand(&st) >> 48);
            if (i < 4) v[i] = (uint16_t[]){0, 65535, 128, 32895}[i]; /* edges and .5 points */
            be[2 * i] = (uint8_t)(v[i] >> 8);
            be[2 * i + 1] = (uint8_t)v[i];
        }
        PngSpec s = {w, h, color ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, be, NULL,
                     0, NULL, 0};
        size_t n;
        uint8_t *png = write_png(&s, &n);
        EmoImage img;
        decode_ok(png, n, ch, w, h, &img);
        for (size_t i = 0; i < nsamp; i++) {
            double exact = v[i] * 255.0 / 65535.0;
            ck_assert_msg(fabs(img.pixels[i] - exact) <= 0.5 + 1e-9, "16-bit sample %u -> %d (exact %.3f)", v[i],
                          img.pixels[i], exact);
        }
        emo_image_free(&img);
        free(png);
        free(v);
        free(be);
    }
}
END_TEST

START_TEST(png_interlaced)
{
    int w = 13, h = 11; /* odd sizes exercise partial Adam7 blocks */
    for (int color = 0; color < 2; color++) {
        int ch = color ? 3 : 1;
        uint8_t *px = rand_bytes((size_t)w * h * ch, 6 + color);
        PngSpec s = {w, h, color ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_ADAM7, px, NULL, 0,
                     NULL, 0};
        size_t n;
        uint8_t *png = write_png(&s, &n);
        EmoImage img;
        decode_ok(png, n, ch, w, h, &img);
        assert_bytes_eq(img.pixels, px, (size_t)w * h * ch, "interlaced");
        emo_image_free(&img);
        free(png);
        free(px);
    }
}
END_TEST

/*-*** Gray conversion ***/

START_TEST(luma_known_values)
{
    /* 0.299*255 = 76.245, 0.587*255 = 149.685, 0.114*255 = 29.07. */
    const uint8_t rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128};
    const uint8_t want[] = {76, 150, 29, 255, 0, 128};
    uint8_t gray[6];
    emo_image_rgb_to_gray(rgb, gray, 6);
    assert_bytes_eq(gray, want, 6, "rgb_to_gray");

    /* The same colors through a decoded RGB PNG. */
    PngSpec s = {6, 1, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, rgb, NULL, 0, NULL, 0};
    size_t n;
    uint8_t *png = write_png(&s, &n);
    EmoImage img;
    decode_ok(png, n, 1, 6, 1, &img);
    assert_bytes_eq(img.pixels, want, 6, "decoded luma");
    emo_image_free(&img);
    free(png);
}
END_TEST

static uint8_t *fixture(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, name);
    uint8_t *d = (uint8_t *)ts_slurp(path, n);
    ck_assert_msg(d != NULL, "missing fixture %s (run from the repository root)", path);
    return d;
}

START_TEST(gray_matches_opencv_cvtcolor)
{
    size_t n, ng;
    uint8_t *png = fixture("rgb24.png", &n);
    uint8_t *ref = fixture("rgb24.cv2gray", &ng);
    ck_assert_uint_eq(ng, 24 * 24);
    EmoImage img;
    decode_ok(png, n, 1, 24, 24, &img);
    assert_bytes_eq(img.pixels, ref, ng, "vs cv2.cvtColor RGB2GRAY");
    emo_image_free(&img);
    free(png);
    free(ref);
}
END_TEST

START_TEST(jpeg_matches_opencv_imread)
{
    size_t n, ng, nc;
    uint8_t *jpg = fixture("color24.jpg", &n);
    uint8_t *gray = fixture("color24.cv2gray", &ng);
    uint8_t *rgb = fixture("color24.cv2rgb", &nc);
    ck_assert_int_eq(emo_image_sniff(jpg, n), EMO_IMAGE_JPEG);
    EmoImage img;
    decode_ok(jpg, n, 1, 24, 24, &img);
    assert_bytes_eq(img.pixels, gray, ng, "vs cv2.imread(path, 0)");
    emo_image_free(&img);
    decode_ok(jpg, n, 3, 24, 24, &img);
    assert_bytes_eq(img.pixels, rgb, nc, "vs cv2.imread(path, 1)");
    emo_image_free(&img);
    free(jpg);
    free(gray);
    free(rgb);
}
END_TEST

/*-*** Encoders ***/

START_TEST(png_encode_roundtrip_is_lossless)
{
    for (int ch = 1; ch <= 3; ch += 2) {
        EmoImage src;
        ck_assert_int_eq(emo_image_alloc(&src, 29, 31, ch, NULL), EMO_OK);
        uint8_t *px = rand_bytes((size_t)29 * 31 * ch, 9);
        memcpy(src.pixels, px, (size_t)29 * 31 * ch);
        uint8_t *out;
        size_t n;
        EmoError err;
        ck_assert_int_eq(emo_image_encode_png(&src, 9, &out, &n, &err), EMO_OK);
        /* Read back with libpng's simplified API: independent of our decoder. */
        png_image pi;
        memset(&pi, 0, sizeof pi);
        pi.version = PNG_IMAGE_VERSION;
        ck_assert(png_image_begin_read_from_memory(&pi, out, n));
        ck_assert_uint_eq(pi.width, 29);
        ck_assert_uint_eq(pi.height, 31);
        pi.format = ch == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
        uint8_t *back = malloc(PNG_IMAGE_SIZE(pi));
        ck_assert(png_image_finish_read(&pi, NULL, back, 0, NULL));
        assert_bytes_eq(back, px, (size_t)29 * 31 * ch, "libpng readback");
        free(back);
        EmoImage img;
        decode_ok(out, n, ch, 29, 31, &img);
        assert_bytes_eq(img.pixels, px, (size_t)29 * 31 * ch, "roundtrip");
        emo_image_free(&img);
        free(out);
        free(px);
        emo_image_free(&src);
    }
}
END_TEST

START_TEST(jpeg_encode_roundtrip_within_tolerance)
{
    for (int ch = 1; ch <= 3; ch += 2) {
        int w = 48, h = 40;
        EmoImage src = {w, h, ch, smooth_image(w, h, ch)};
        uint8_t *out;
        size_t n;
        EmoError err;
        ck_assert_int_eq(emo_image_encode_jpeg(&src, 95, &out, &n, &err), EMO_OK);
        ck_assert_int_eq(emo_image_sniff(out, n), EMO_IMAGE_JPEG);
        EmoImage img;
        decode_ok(out, n, ch, w, h, &img);
        size_t ns = (size_t)w * h * ch;
        double sum = 0;
        int maxd = 0;
        for (size_t i = 0; i < ns; i++) {
            int d = abs(img.pixels[i] - src.pixels[i]);
            sum += d;
            if (d > maxd) maxd = d;
        }
        ck_assert_msg(maxd <= 12 && sum / ns < 2.0, "JPEG q95 error: max %d mean %.2f", maxd, sum / ns);
        emo_image_free(&img);
        free(out);
        emo_image_free(&src);
    }
}
END_TEST

START_TEST(encode_rejects_bad_arguments)
{
    EmoImage img;
    ck_assert_int_eq(emo_image_alloc(&img, 4, 4, 1, NULL), EMO_OK);
    uint8_t *out;
    size_t n;
    EmoError err;
    ck_assert_int_eq(emo_image_encode_jpeg(&img, 0, &out, &n, &err), EMO_ERR_ARG);
    ck_assert_int_eq(emo_image_encode_png(&img, 10, &out, &n, &err), EMO_ERR_ARG);
    ck_assert_ptr_null(out);
    EmoImage bad = {4, 4, 2, img.pixels};
    ck_assert_int_eq(emo_image_encode_png(&bad, -1, &out, &n, &err), EMO_ERR_ARG);
    ck_assert_int_eq(emo_image_alloc(&bad, 0, 4, 1, &err), EMO_ERR_ARG);
    emo_image_free(&img);
}
END_TEST

START_TEST(save_png_and_jpeg_files)
{
    char *dir = ts_tempdir();
    char *png_path = emo_path_join(dir, "a.png");
    char *jpg_path = emo_path_join(dir, "a.jpg");
    EmoImage src = {40, 30, 3, smooth_image(40, 30, 3)};
    EmoError err;
    ck_assert_int_eq(emo_image_save_png(&src, png_path, &err), EMO_OK);
    ck_assert_int_eq(emo_image_save_jpeg(&src, jpg_path, 90, &err), EMO_OK);
    EmoDecodeOptions rgb = {3, 0};
    EmoImage img;
    ck_assert_int_eq(emo_image_load(png_path, &rgb, &img, &err), EMO_OK);
    assert_bytes_eq(img.pixels, src.pixels, 40 * 30 * 3, "saved png");
    emo_image_free(&img);
    ck_assert_int_eq(emo_image_load(jpg_path, &rgb, &img, &err), EMO_OK);
    ck_assert_int_eq(img.width, 40);
    emo_image_free(&img);
    /* A directory that does not exist: I/O error naming the path. */
    char *bad = emo_path_join(dir, "no/such/dir/b.png");
    ck_assert_int_ne(emo_image_save_png(&src, bad, &err), EMO_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "b.png"));
    ck_assert_int_eq(emo_image_load(bad, NULL, &img, &err), EMO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "b.png"));
    free(bad);
    emo_image_free(&src);
    free(png_path);
    free(jpg_path);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/*-*** CMYK JPEG ***/

/* Writes an Adobe CMYK JPEG with libjpeg (jpeg_set_defaults picks JCS_CMYK
 * and the Adobe marker for CMYK input). Left half one color, right another. */
static uint8_t *write_cmyk_jpeg(int w, int h, const uint8_t left[4], const uint8_t right[4], unsigned long *size)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    unsigned char *out = NULL;
    *size = 0;
    jpeg_mem_dest(&ci, &out, size);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 4;
    ci.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 100, TRUE);
    ck_assert_int_eq(ci.jpeg_color_space, JCS_CMYK);
    ck_assert(ci.write_Adobe_marker);
    jpeg_start_compress(&ci, TRUE);
    uint8_t *row = malloc((size_t)w * 4);
    for (int x = 0; x < w; x++) memcpy(row + 4 * x, x < w / 2 ? left : right, 4);
    while (ci.next_scanline < ci.image_height) jpeg_write_scanlines(&ci, &row, 1);
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    return out;
}

START_TEST(jpeg_cmyk_adobe_inverted)
{
    /* Adobe CMYK stores 255 - ink: (200,100,50,K'=255) is RGB (200,100,50),
     * and no color ink with K'=128 is gray 128. */
    const uint8_t left[4] = {200, 100, 50, 255}, right[4] = {255, 255, 255, 128};
    unsigned long n;
    uint8_t *jpg = write_cmyk_jpeg(32, 16, left, right, &n);
    EmoImage img;
    decode_ok(jpg, n, 3, 32, 16, &img);
    /* Sample away from the color edge, where JPEG ringing lives. */
    for (int y = 0; y < 16; y++) {
        const uint8_t *l = img.pixels + 3 * (y * 32 + 4), *r = img.pixels + 3 * (y * 32 + 27);
        ck_assert_msg(abs(l[0] - 200) <= 3 && abs(l[1] - 100) <= 3 && abs(l[2] - 50) <= 3, "left %d %d %d", l[0],
                      l[1], l[2]);
        for (int c = 0; c < 3; c++) ck_assert_msg(abs(r[c] - 128) <= 3, "right %d", r[c]);
    }
    emo_image_free(&img);
    decode_ok(jpg, n, 1, 32, 16, &img);
    double yl = luma(200, 100, 50); /* 124.2 */
    ck_assert_msg(fabs(img.pixels[4] - yl) <= 3, "gray %d vs %.1f", img.pixels[4], yl);
    ck_assert_msg(abs(img.pixels[27] - 128) <= 3, "gray %d", img.pixels[27]);
    emo_image_free(&img);
    free(jpg);
}
END_TEST

START_TEST(jpeg_progressive_gray_and_gray_to_rgb)
{
    /* A progressive grayscale JPEG written with libjpeg directly. */
    int w = 40, h = 24;
    uint8_t *px = smooth_image(w, h, 1);
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    unsigned char *jpg = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&ci, &jpg, &n);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 1;
    ci.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 98, TRUE);
    jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = px + (size_t)ci.next_scanline * w;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);

    EmoImage g, rgb;
    decode_ok(jpg, n, 1, w, h, &g);
    for (int i = 0; i < w * h; i++)
        ck_assert_msg(abs(g.pixels[i] - px[i]) <= 4, "pixel %d: %d vs %d", i, g.pixels[i], px[i]);
    decode_ok(jpg, n, 3, w, h, &rgb);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++) ck_assert_int_eq(rgb.pixels[3 * i + c], g.pixels[i]);
    emo_image_free(&g);
    emo_image_free(&rgb);
    free(jpg);
    free(px);
}
END_TEST

/*-*** Bad input ***/

static uint8_t *noise_png(int w, int h, size_t *n)
{
    uint8_t *px = rand_bytes((size_t)w * h, 11);
    PngSpec s = {w, h, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, px, NULL, 0, NULL, 0};
    uint8_t *png = write_png(&s, n);
    free(px);
    return png;
}

static uint8_t *noise_jpeg(int w, int h, size_t *n)
{
    EmoImage src;
    ck_assert_int_eq(emo_image_alloc(&src, w, h, 1, NULL), EMO_OK);
    uint8_t *px = rand_bytes((size_t)w * h, 12);
    memcpy(src.pixels, px, (size_t)w * h);
    free(px);
    uint8_t *out;
    ck_assert_int_eq(emo_image_encode_jpeg(&src, 90, &out, n, NULL), EMO_OK);
    emo_image_free(&src);
    return out;
}

START_TEST(truncated_files_are_corrupt_and_named)
{
    char *dir = ts_tempdir();
    size_t npng, njpg;
    uint8_t *png = noise_png(48, 48, &npng);
    uint8_t *jpg = noise_jpeg(48, 48, &njpg);
    const struct {
        const char *name;
        const uint8_t *data;
        size_t size;
    } cases[] = {{"half.png", png, npng / 2}, {"half.jpg", jpg, njpg / 2}};
    for (int i = 0; i < 2; i++) {
        char *path = emo_path_join(dir, cases[i].name);
        ts_write(path, cases[i].data, cases[i].size);
        EmoImage img;
        EmoError err;
        ck_assert_int_eq(emo_image_load(path, NULL, &img, &err), EMO_ERR_CORRUPT);
        ck_assert_msg(strstr(err.msg, cases[i].name) != NULL, "message does not name the file: %s", err.msg);
        ck_assert_ptr_null(img.pixels);
        free(path);
    }
    free(png);
    free(jpg);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(every_truncation_fails_cleanly)
{
    /* Every prefix of a valid file: no crash, no leak (ASan/valgrind), and
     * the right code: too short for the magic is FORMAT, else CORRUPT. */
    size_t npng, njpg;
    uint8_t *png = noise_png(16, 16, &npng);
    uint8_t *jpg = noise_jpeg(16, 16, &njpg);
    for (int f = 0; f < 2; f++) {
        const uint8_t *d = f ? jpg : png;
        size_t n = f ? njpg : npng, magic = f ? 3 : 8;
        for (size_t k = 0; k < n; k++) {
            EmoImage img;
            EmoError err;
            EmoStatus s = decode(d, k, 1, &img, &err);
            ck_assert_msg(s == (k < magic ? EMO_ERR_FORMAT : EMO_ERR_CORRUPT), "%s cut at %zu/%zu: %s (%s)",
                          f ? "jpeg" : "png", k, n, emo_status_name(s), err.msg);
            ck_assert_ptr_null(img.pixels);
        }
        EmoImage img;
        decode_ok(d, n, 1, 16, 16, &img); /* the whole file is fine */
        emo_image_free(&img);
    }
    free(png);
    free(jpg);
}
END_TEST

START_TEST(png_bad_crc_is_corrupt)
{
    size_t n;
    uint8_t *png = noise_png(32, 32, &n);
    png[n / 2] ^= 0x5a; /* inside IDAT: its CRC no longer matches */
    EmoImage img;
    EmoError err;
    ck_assert_int_eq(decode(png, n, 1, &img, &err), EMO_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "test"));
    png[n / 2] ^= 0x5a;
    png[20] ^= 0x01; /* IHDR height, before any pixel buffer exists */
    ck_assert_int_eq(decode(png, n, 1, &img, &err), EMO_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "IHDR"));
    free(png);
}
END_TEST

START_TEST(zero_length_text_and_mislabeled_files)
{
    char *dir = ts_tempdir();
    EmoImage img;
    EmoError err;

    char *empty = emo_path_join(dir, "empty.jpg");
    ts_write(empty, "", 0);
    ck_assert_int_eq(emo_image_load(empty, NULL, &img, &err), EMO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty.jpg"));

    char *text = emo_path_join(dir, "notes.jpg");
    const char *words = "these are not the pixels you are looking for\n";
    ts_write(text, words, strlen(words));
    ck_assert_int_eq(emo_image_load(text, NULL, &img, &err), EMO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "notes.jpg"));

    /* PNG bytes behind a .jpg name decode as PNG. */
    size_t n;
    uint8_t *png = noise_png(20, 10, &n);
    char *mis = emo_path_join(dir, "really-a-png.jpg");
    ts_write(mis, png, n);
    ck_assert_int_eq(emo_image_load(mis, NULL, &img, &err), EMO_OK);
    ck_assert_int_eq(img.width, 20);
    ck_assert_int_eq(img.height, 10);
    EmoImage ref;
    decode_ok(png, n, 1, 20, 10, &ref);
    assert_bytes_eq(img.pixels, ref.pixels, 200, "mislabeled png");
    emo_image_free(&ref);
    emo_image_free(&img);

    ck_assert_int_eq(emo_image_sniff(NULL, 0), EMO_IMAGE_UNKNOWN);
    ck_assert_int_eq(emo_image_sniff((const uint8_t *)"\xff\xd8", 2), EMO_IMAGE_UNKNOWN);
    free(png);
    free(empty);
    free(text);
    free(mis);
    ts_rmtree(dir);
    free(dir);
}
END_TEST

/* CRC-32 (ISO-HDLC, as PNG uses), bitwise: independent of libpng/zlib. */
static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

START_TEST(huge_headers_are_rejected_before_decoding)
{
    EmoImage img;
    EmoError err;
    /* PNG: IHDR is the first chunk (bytes 8..32): width at 16, height at 20,
     * CRC over type+data at 29. Claim 100000 x 100000 = 10^10 pixels. */
    size_t n;
    uint8_t *png = noise_png(8, 8, &n);
    ck_assert(memcmp(png + 12, "IHDR", 4) == 0);
    put_be32(png + 16, 100000);
    put_be32(png + 20, 100000);
    put_be32(png + 29, crc32_ref(png + 12, 17));
    ck_assert_int_eq(decode(png, n, 1, &img, &err), EMO_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "100000x100000"));
    ck_assert_ptr_null(img.pixels);
    /* Over libpng's default 1,000,000-per-side limit (2M x 40 = 80 MP): still
     * our TOO_LARGE, not libpng's "exceeds user limit" error. */
    put_be32(png + 16, 2000000);
    put_be32(png + 20, 40);
    put_be32(png + 29, crc32_ref(png + 12, 17));
    EmoStatus s = decode(png, n, 1, &img, &err);
    ck_assert_msg(s == EMO_ERR_TOO_LARGE, "got %s: %s", emo_status_name(s), err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "2000000x40"));
    free(png);

    /* JPEG: SOF0 holds height then width in 16 bits (max 65535); claim
     * 60000 x 60000 = 3.6e9 pixels, over the 64 MP default. */
    uint8_t *jpg = noise_jpeg(8, 8, &n);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < n && !sof; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) sof = i;
    ck_assert_msg(sof, "no SOF0 marker");
    jpg[sof + 5] = 60000 >> 8;
    jpg[sof + 6] = 60000 & 0xFF;
    jpg[sof + 7] = 60000 >> 8;
    jpg[sof + 8] = 60000 & 0xFF;
    ck_assert_int_eq(decode(jpg, n, 1, &img, &err), EMO_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "60000x60000"));
    ck_assert_ptr_null(img.pixels);
    free(jpg);
}
END_TEST

START_TEST(pixel_limit_option)
{
    size_t n;
    uint8_t *png = noise_png(20, 20, &n);
    EmoImage img;
    EmoError err;
    EmoDecodeOptions o = {1, 399};
    ck_assert_int_eq(emo_image_decode(png, n, "lim.png", &o, &img, &err), EMO_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "lim.png"));
    o.max_pixels = 400;
    ck_assert_int_eq(emo_image_decode(png, n, "lim.png", &o, &img, &err), EMO_OK);
    emo_image_free(&img);
    o.want_channels = 2;
    ck_assert_int_eq(emo_image_decode(png, n, "lim.png", &o, &img, &err), EMO_ERR_ARG);
    free(png);
}
END_TEST

START_TEST(shared_data_samples_decode)
{
    const char *shared = ts_shared_data();
    if (!shared) {
        printf("test_image: ../shared/data missing, skipping JAFFE check\n");
        return;
    }
    char *dir = emo_path_join(shared, "jaffe-dev/happy");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s' | head -3", dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char name[512];
    int count = 0;
    while (fgets(name, sizeof name, p)) {
        name[strcspn(name, "\n")] = 0;
        char *path = emo_path_join(dir, name);
        EmoImage img;
        EmoError err;
        ck_assert_msg(emo_image_load(path, NULL, &img, &err) == EMO_OK, "%s", err.msg);
        ck_assert_int_eq(img.width, 256); /* per shared/data/README.md */
        ck_assert_int_eq(img.height, 256);
        emo_image_free(&img);
        free(path);
        count++;
    }
    pclose(p);
    ck_assert_int_gt(count, 0);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("image");
    TCase *png = tcase_create("png");
    tcase_add_test(png, png_gray8_and_gray_to_rgb);
    tcase_add_test(png, png_gray_low_bit_depths);
    tcase_add_test(png, png_gray_alpha_drops_alpha);
    tcase_add_test(png, png_rgb_and_rgba);
    tcase_add_test(png, png_palette_with_transparency);
    tcase_add_test(png, png_16bit_rounds_to_8);
    tcase_add_test(png, png_interlaced);
    suite_add_tcase(s, png);
    TCase *gray = tcase_create("gray");
    tcase_add_test(gray, luma_known_values);
    tcase_add_test(gray, gray_matches_opencv_cvtcolor);
    tcase_add_test(gray, jpeg_matches_opencv_imread);
    suite_add_tcase(s, gray);
    TCase *enc = tcase_create("encode");
    tcase_add_test(enc, png_encode_roundtrip_is_lossless);
    tcase_add_test(enc, jpeg_encode_roundtrip_within_tolerance);
    tcase_add_test(enc, encode_rejects_bad_arguments);
    tcase_add_test(enc, save_png_and_jpeg_files);
    tcase_add_test(enc, jpeg_cmyk_adobe_inverted);
    tcase_add_test(enc, jpeg_progressive_gray_and_gray_to_rgb);
    suite_add_tcase(s, enc);
    TCase *bad = tcase_create("bad-input");
    tcase_add_test(bad, truncated_files_are_corrupt_and_named);
    tcase_add_test(bad, every_truncation_fails_cleanly);
    tcase_add_test(bad, png_bad_crc_is_corrupt);
    tcase_add_test(bad, zero_length_text_and_mislabeled_files);
    tcase_add_test(bad, huge_headers_are_rejected_before_decoding);
    tcase_add_test(bad, pixel_limit_option);
    tcase_add_test(bad, shared_data_samples_decode);
    suite_add_tcase(s, bad);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
