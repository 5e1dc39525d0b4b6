/* gen_seeds.c: writes the binary seed inputs of the fuzz corpora that the
 * emo library itself produces (shards, block payloads, model files, small
 * PNG/JPEG encodings, CMYK and progressive JPEGs). Not part of the build;
 * run by tests/fuzz/corpus/tools/gen_seeds.sh, which says how.
 *
 *   gen_seeds OUTDIR FER_JPEG...
 * writes OUTDIR/fuzz_shard/, fuzz_block/, fuzz_model/, fuzz_image/. */
#include <stdio.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emo_block.h"
#include "emo_dataset.h"
#include "emo_fs.h"
#include "emo_image.h"
#include "emo_model.h"
#include "emo_predict.h"
#include "emo_shard.h"

static void die(const char *what, const EmoError *err)
{
    fprintf(stderr, "gen_seeds: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static void put(const char *dir, const char *name, const void *data, size_t size)
{
    char *path = emo_path_join(dir, name);
    EmoError err;
    if (emo_write_file_atomic(path, data, size, &err) != EMO_OK) die(path, &err);
    free(path);
}

static void copy_file(const char *from, const char *dir, const char *name)
{
    uint8_t *d;
    size_t n;
    EmoError err;
    if (emo_read_file(from, 0, &d, &n, &err) != EMO_OK) die(from, &err);
    put(dir, name, d, n);
    free(d);
}

/* A dataset of `n` records (cycled from faces[]) written with the library;
 * its shard files are copied into outdir as <prefix>-<shard name>. */
static void make_dataset(const char *tmp, const char *outdir, const char *prefix, EmoImage *faces, int nfaces,
                         int n, uint32_t per_block, uint32_t per_shard, int augmented)
{
    char *dir = emo_path_join(tmp, prefix);
    EmoDatasetWriterOptions opt = {per_block, per_shard, 0, 1, "{\"tool\":\"gen_seeds\"}"};
    EmoDatasetWriter *w;
    EmoError err;
    if (emo_dataset_writer_open(&w, dir, &opt, &err) != EMO_OK) die(dir, &err);
    for (int i = 0; i < n; i++) {
        EmoImage *f = &faces[i % nfaces];
        char src[64];
        snprintf(src, sizeof src, "train/%s/face-%d.jpg", emo_class_name(i % 7), i);
        EmoRecord r = {0, augmented && i % 2 ? 0x1234u + (uint64_t)i : 0, i % 8 == 7 ? EMO_LABEL_NONE : i % 7,
                       (uint16_t)f->width, (uint16_t)f->height, (uint8_t)f->channels,
                       augmented && i % 2 ? EMO_ORIGIN_AUGMENTED : EMO_ORIGIN_ORIGINAL, i,
                       src, augmented && i % 2 ? "flip=1 rot=-7.5 seed=42" : "", f->pixels};
        if (emo_dataset_writer_add(w, &r, &err) != EMO_OK) die("add", &err);
    }
    if (emo_dataset_writer_close(w, &err) != EMO_OK) die("close", &err);
    EmoManifest m;
    if (emo_manifest_load(dir, &m, &err) != EMO_OK) die("manifest", &err);
    for (int i = 0; i < m.num_shards; i++) {
        char *p = emo_path_join(dir, m.shards[i].name);
        char name[256];
        snprintf(name, sizeof name, "%s-%s", prefix, m.shards[i].name);
        copy_file(p, outdir, name);
        free(p);
    }
    emo_manifest_free(&m);
    free(dir);
}

/* One block payload of the given records, encoded with `predictors`. */
static void make_block(const char *outdir, const char *name, EmoImage *imgs, int n, uint32_t predictors,
                       int augmented)
{
    EmoBlockBuilder b;
    memset(&b, 0, sizeof b);
    EmoError err;
    for (int i = 0; i < n; i++) {
        EmoImage *f = &imgs[i];
        char src[64];
        snprintf(src, sizeof src, "s%d.png", i);
        EmoRecord r = {0, augmented ? 7 : 0, i % 8 - 1, (uint16_t)f->width, (uint16_t)f->height,
                       (uint8_t)f->channels, augmented ? EMO_ORIGIN_AUGMENTED : EMO_ORIGIN_ORIGINAL, -1,
                       i % 3 ? src : "", augmented ? "zoom=1.1" : "", f->pixels};
        if (emo_block_builder_add(&b, &r, &err) != EMO_OK) die("block add", &err);
    }
    uint8_t *out = NULL;
    size_t cap = 0, size = 0;
    if (emo_block_encode(&b, predictors, &out, &cap, &size, &err) != EMO_OK) die("encode", &err);
    put(outdir, name, out, size);
    free(out);
    emo_block_builder_free(&b);
}

static void synth(EmoImage *img, int w, int h, int c, unsigned seed)
{
    /* channels 2 and 4 are valid records, not EmoImages: allocate by hand */
    img->width = w;
    img->height = h;
    img->channels = c;
    img->pixels = malloc((size_t)w * h * c);
    if (!img->pixels) die("alloc", NULL);
    for (int i = 0; i < w * h * c; i++) img->pixels[i] = (uint8_t)((i * 37u + seed * 101u + (i / w) * 11u) & 255);
}

/* A JPEG written straight with libjpeg: CMYK and/or progressive. */
static void make_jpeg(const char *outdir, const char *name, int cmyk, int progressive, int gray)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    unsigned char *mem = NULL;
    unsigned long msize = 0;
    jpeg_mem_dest(&ci, &mem, &msize);
    ci.image_width = 16;
    ci.image_height = 12;
    ci.input_components = cmyk ? 4 : gray ? 1 : 3;
    ci.in_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    if (cmyk) jpeg_set_colorspace(&ci, JCS_YCCK);
    jpeg_set_quality(&ci, 80, TRUE);
    if (progressive) jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    unsigned char row[16 * 4];
    while (ci.next_scanline < ci.image_height) {
        for (int i = 0; i < 16 * ci.input_components; i++)
            row[i] = (unsigned char)(i * 13 + ci.next_scanline * 17);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&ci, &rp, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    put(outdir, name, mem, msize);
    free(mem);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gen_seeds OUTDIR FER_JPEG...\n");
        return 2;
    }
    const char *out = argv[1];
    EmoError err;
    const char *gt = getenv("GEN_TMP");
    char *tmp = gt && *gt ? strdup(gt) : emo_path_join(out, "tmp");
    emo_remove_tree(tmp, NULL);
    const char *subs[] = {"fuzz_shard", "fuzz_block", "fuzz_model", "fuzz_image"};
    char *dirs[4];
    for (int i = 0; i < 4; i++) {
        dirs[i] = emo_path_join(out, subs[i]);
        if (emo_mkdir_p(dirs[i], &err) != EMO_OK) die(dirs[i], &err);
    }
    if (emo_mkdir_p(tmp, &err) != EMO_OK) die(tmp, &err);

    int nfaces = argc - 2;
    EmoImage *faces = calloc((size_t)nfaces, sizeof *faces);
    EmoDecodeOptions gray = {1, 0};
    for (int i = 0; i < nfaces; i++)
        if (emo_image_load(argv[2 + i], &gray, &faces[i], &err) != EMO_OK) die(argv[2 + i], &err);

    /* Shards: real faces, 1 and several blocks; one with augmented records;
     * a 32-record block (one MED32 interleaved group); tiny RGB records. */
    make_dataset(tmp, dirs[0], "one", faces, nfaces, 1, 0, 0, 0);
    make_dataset(tmp, dirs[0], "three-blocks", faces, nfaces, 5, 2, 0, 1);
    EmoImage tiny[40];
    for (int i = 0; i < 40; i++) synth(&tiny[i], 4, 4, 1, (unsigned)i);
    make_dataset(tmp, dirs[0], "med32", tiny, 40, 33, 0, 0, 0);
    EmoImage rgb[3];
    for (int i = 0; i < 3; i++) synth(&rgb[i], 5 + i, 3, 3, (unsigned)i);
    make_dataset(tmp, dirs[0], "rgb", rgb, 3, 3, 2, 0, 0);
    {   /* a shard with no blocks at all */
        EmoShardWriter *sw;
        char *p = emo_path_join(tmp, "empty.emo");
        if (emo_shard_writer_open(&sw, p, &err) != EMO_OK) die(p, &err);
        if (emo_shard_writer_close(sw, NULL, NULL, &err) != EMO_OK) die(p, &err);
        copy_file(p, dirs[0], "empty.emo");
        free(p);
    }

    /* Block payloads: each predictor on small gray/RGB records, a mixed
     * block, and a MED32 group of 32 4x4 records plus a straggler. */
    static const char *pn[] = {"none", "left", "up", "grad", "avg", "paeth", "med"};
    EmoImage mix[4];
    synth(&mix[0], 6, 5, 1, 1);
    synth(&mix[1], 3, 7, 3, 2);
    synth(&mix[2], 2, 2, 4, 3);
    synth(&mix[3], 1, 1, 2, 4);
    for (int p = 0; p < EMO_PRED__COUNT; p++) {
        char name[64];
        snprintf(name, sizeof name, "pred-%s", pn[p]);
        make_block(dirs[1], name, mix, 4, 1u << p, p == 3);
    }
    make_block(dirs[1], "all-predictors", mix, 4, (1u << EMO_PRED__COUNT) - 1, 0);
    make_block(dirs[1], "med32-group", tiny, 33, 1u << EMO_PRED_MED, 0);
    make_block(dirs[1], "empty", tiny, 0, 1u << EMO_PRED_MED, 0);

    /* Model files: a tiny config and small arrays (the reader checks
     * counts against the header, not against a network). */
    EmoModel m;
    memset(&m, 0, sizeof m);
    m.cfg.input_c = 1;
    m.cfg.input_h = m.cfg.input_w = 48;
    m.cfg.input_mean = 0.5f;
    m.cfg.input_std = 0.25f;
    m.cfg.stem_width[0] = 8;
    m.cfg.stem_width[1] = 8;
    m.cfg.n_modules = 4;
    for (int i = 0; i < 4; i++) m.cfg.module_width[i] = 16u << i;
    m.cfg.n_classes = 7;
    for (int i = 0; i < 7; i++) snprintf(m.cfg.class_names[i], EMO_MODEL_CLASS_NAME_MAX, "%s", emo_class_name(i));
    float params[24], bufs[8];
    for (int i = 0; i < 24; i++) params[i] = (float)i * 0.125f - 1.0f;
    for (int i = 0; i < 8; i++) bufs[i] = (float)(i % 2);
    uint8_t extra[12] = "resume-state";
    m.params = params;
    m.n_params = 24;
    m.buffers = bufs;
    m.n_buffers = 8;
    char *mp = emo_path_join(dirs[2], "small.emomodel");
    if (emo_model_write(mp, &m, &err) != EMO_OK) die(mp, &err);
    free(mp);
    m.extra = extra;
    m.n_extra = sizeof extra;
    m.cfg.n_classes = 2;
    m.cfg.n_modules = 0;
    mp = emo_path_join(dirs[2], "extra-2class.emomodel");
    if (emo_model_write(mp, &m, &err) != EMO_OK) die(mp, &err);
    free(mp);

    /* Images the library encodes, and libjpeg-made variants. */
    EmoImage g, c;
    synth(&g, 9, 7, 1, 5);
    synth(&c, 7, 9, 3, 6);
    uint8_t *enc;
    size_t n;
    if (emo_image_encode_png(&g, 9, &enc, &n, &err) != EMO_OK) die("png", &err);
    put(dirs[3], "gray-9x7.png", enc, n);
    free(enc);
    if (emo_image_encode_png(&c, 9, &enc, &n, &err) != EMO_OK) die("png", &err);
    put(dirs[3], "rgb-7x9.png", enc, n);
    free(enc);
    if (emo_image_encode_jpeg(&g, 75, &enc, &n, &err) != EMO_OK) die("jpeg", &err);
    put(dirs[3], "gray-9x7.jpg", enc, n);
    free(enc);
    if (emo_image_encode_jpeg(&c, 75, &enc, &n, &err) != EMO_OK) die("jpeg", &err);
    put(dirs[3], "rgb-7x9.jpg", enc, n);
    free(enc);
    make_jpeg(dirs[3], "cmyk.jpg", 1, 0, 0);
    make_jpeg(dirs[3], "progressive-rgb.jpg", 0, 1, 0);
    make_jpeg(dirs[3], "progressive-gray.jpg", 0, 1, 1);
    emo_image_free(&g);
    emo_image_free(&c);

    for (int i = 0; i < nfaces; i++) emo_image_free(&faces[i]);
    free(faces);
    for (int i = 0; i < 40; i++) emo_image_free(&tiny[i]);
    for (int i = 0; i < 3; i++) emo_image_free(&rgb[i]);
    for (int i = 0; i < 4; i++) emo_image_free(&mix[i]);
    emo_remove_tree(tmp, NULL);
    free(tmp);
    for (int i = 0; i < 4; i++) free(dirs[i]);
    return 0;
}
