/* emopredict: find the faces in photos and say which emotion each shows.
 *
 * For every image: decode (PNG or JPEG, any size), detect faces with the
 * ingest face library (OpenCV-compatible cascades; photos over --max-side
 * pixels are shrunk for detection), align each face on its eyes to the
 * model's 48x48 input, classify it, and print one JSON line per face
 * (predict_format.h). --annotate draws the boxes and labels into a PNG.
 * This is the one program that links both train/ and ingest/.
 * --help below is the manual. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emo_fs.h"
#include "emo_image.h"
#include "ingest_face.h"
#include "ingest_resize.h"
#include "net_model.h"
#include "predict_classify.h"
#include "predict_format.h"

#ifndef EMO_VERSION
#define EMO_VERSION "unknown"
#endif

static const char help_text[] =
    "emopredict: detect faces in photos and classify their emotion.\n"
    "\n"
    "usage: emopredict [--model M] [--annotate OUT.png] [options] IMAGE...\n"
    "\n"
    "For each PNG or JPEG image (any size), finds the faces with an OpenCV Haar\n"
    "cascade, aligns each on its eyes to the model's input (48x48 gray), and\n"
    "prints one JSON line per face on stdout:\n"
    "  {\"file\": F, \"face\": i, \"faces\": n, \"box\": {\"x\", \"y\", \"w\", \"h\"},\n"
    "   \"aligned\": true|false, \"whole_image\": false, \"label\": \"happy\",\n"
    "   \"confidence\": 0.93, \"probabilities\": {\"angry\": 0.01, ...}}\n"
    "An image in which no face is found gets one line\n"
    "  {\"file\": F, \"faces\": 0, \"width\": W, \"height\": H}\n"
    "and an image that cannot be read one line {\"file\": F, \"error\": MESSAGE}\n"
    "(the message also goes to stderr). Boxes are in the image's own pixels.\n"
    "\n"
    "Options\n"
    "  --model M            model file (default: $EMO_MODEL, else the pretrained\n"
    "                       models/fer2013.emomodel of the source tree this program\n"
    "                       was built in, else PREFIX/share/emo/fer2013.emomodel)\n"
    "  --annotate OUT.png   also write the image with boxes and labels; with several\n"
    "                       images, OUT-1.png, OUT-2.png, ... in argument order\n"
    "  --largest            only the largest face of each image\n"
    "  --whole auto|always|never\n"
    "                       take the whole image as one face: 'always' (for\n"
    "                       pre-cropped faces), 'never', or 'auto' (default): when\n"
    "                       no face is found in an image of at most 96 pixels a\n"
    "                       side, as FER2013's 48x48 crops are. Such lines say\n"
    "                       \"whole_image\": true\n"
    "  --cascade FILE       face cascade (default %s)\n"
    "  --eye-cascade FILE   eye cascade for alignment, or 'none' (default %s)\n"
    "  --eye-fallback FILE  second eye cascade, or 'none' (default %s)\n"
    "  --scale-factor F     detector pyramid step (default 1.1)\n"
    "  --min-neighbors N    detector strictness (default 5)\n"
    "  --min-size N         smallest face in pixels (default 30)\n"
    "  --max-side N         shrink larger photos to N pixels for detection (default 1600)\n"
    "  --tta=MODE           test-time augmentation: average each face's class\n"
    "                       probabilities over views of it. shift[:PX] (the\n"
    "                       default, shift:2): the face and its mirror image,\n"
    "                       each also moved PX pixels left, right, up and down\n"
    "                       (10 views; +1.4 points on FER2013 for the shipped\n"
    "                       model, and a few ms a face); flip (or a bare --tta):\n"
    "                       the face and its mirror; none: the face alone\n"
    "  --precision P        fp32 (default) or bf16: bfloat16 products, fp32 sums\n"
    "                       (AVX512_BF16 CPUs; faster or slower by CPU: on a Xeon\n"
    "                       model 0xCF, 538 against 951 images/s for fp32)\n"
    "  --threads N          compute threads (default 1)\n"
    "  --quiet              no messages on stderr except errors\n"
    "  --help, --version\n"
    "\n"
    "Exit status: 0 every image was processed (whether or not it had a face);\n"
    "1 some image could not be read or processed (the others still are), or the\n"
    "model or a cascade could not be loaded; 2 usage error.\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "emopredict: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\nusage: emopredict [--model M] [--annotate OUT.png] [options] IMAGE...\n"
                    "Try 'emopredict --help'.\n");
    return 2;
}

/* The default model: $EMO_MODEL, the source tree's models/ (the binary is
 * <tree>/<build>/bin/emopredict), or an installed copy. Malloc'd. */
static char *default_model(void)
{
    const char *env = getenv("EMO_MODEL");
    if (env && *env) return strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        const char *rel[] = {"/../../models/fer2013.emomodel", "/../share/emo/fer2013.emomodel"};
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        for (int i = 0; i < 2; i++) {
            char path[PATH_MAX + 64];
            snprintf(path, sizeof path, "%s%s", exe, rel[i]);
            if (access(path, R_OK) == 0) return strdup(path);
        }
    }
    return strdup("models/fer2013.emomodel");
}

/* OUT.png -> OUT-k.png (k >= 1), for several images. Malloc'd. */
static char *numbered(const char *path, int k)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash)) dot = path + strlen(path);
    size_t n = strlen(path) + 24;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%.*s-%d%s", (int)(dot - path), path, k, dot);
    return s;
}

typedef enum { WHOLE_AUTO, WHOLE_ALWAYS, WHOLE_NEVER } WholeMode;

typedef struct {
    NetModel *model;
    IngestFaceEngine *faces;
    WholeMode whole;
    int max_side;
    TrainView views[TRAIN_TTA_MAX_VIEWS];
    int n_views;
    int quiet;
} Ctx;

static void print_line(char *line)
{
    if (line) {
        puts(line);
        free(line);
    }
    fflush(stdout);
}

/* Processes one image; returns 0 on success. */
static int process(const Ctx *cx, const char *file, const char *annotate)
{
    const NetConfig *cfg = net_config(cx->model);
    const int S = (int)cfg->input_w;
    EmoError err;
    EmoImage img = {0};
    IngestFace *found = NULL;
    PredictFace *pf = NULL;
    uint8_t *crops = NULL, *small = NULL;
    int nfound = 0, rc = 1;
    if (emo_image_load(file, NULL, &img, &err) != EMO_OK) goto fail;

    /* Detect on a shrunk copy of very large photos; boxes scale back. */
    const uint8_t *det = img.pixels;
    int dw = img.width, dh = img.height;
    double back = 1;
    int side = img.width > img.height ? img.width : img.height;
    if (cx->whole != WHOLE_ALWAYS && side > cx->max_side) {
        back = (double)side / cx->max_side;
        dw = (int)(img.width / back + 0.5);
        dh = (int)(img.height / back + 0.5);
        if (dw < 1) dw = 1;
        if (dh < 1) dh = 1;
        small = malloc((size_t)dw * (size_t)dh);
        if (!small) {
            emo_error_set(&err, EMO_ERR_NOMEM, "%s: out of memory", file);
            goto fail;
        }
        if (ingest_resize_gray(img.pixels, img.width, img.height, img.width, small, dw, dh, &err) != EMO_OK) goto fail;
        det = small;
    }
    if (cx->whole != WHOLE_ALWAYS && ingest_face_find(cx->faces, det, dw, dh, dw, &found, &nfound, &err) != EMO_OK)
        goto fail;
    int whole = cx->whole == WHOLE_ALWAYS || (cx->whole == WHOLE_AUTO && nfound == 0 && side <= 96);
    int n = whole ? 1 : nfound;
    if (n == 0) {
        print_line(predict_json_noface(file, img.width, img.height));
        rc = 0;
        goto annotate;
    }
    pf = calloc((size_t)n, sizeof *pf);
    crops = malloc((size_t)n * (size_t)S * (size_t)S);
    if (!pf || !crops) {
        emo_error_set(&err, EMO_ERR_NOMEM, "%s: out of memory", file);
        goto fail;
    }
    if (whole) {
        /* The centred square, scaled to the input, like a FER2013 crop. */
        int x, y, sq;
        ingest_center_square(img.width, img.height, &x, &y, &sq);
        if (ingest_resize_gray(img.pixels + (size_t)y * (size_t)img.width + (size_t)x, sq, sq, img.width, crops, S,
                               S, &err) != EMO_OK)
            goto fail;
        pf[0].x = x;
        pf[0].y = y;
        pf[0].w = sq;
        pf[0].h = sq;
        pf[0].whole_image = 1;
    } else {
        for (int i = 0; i < n; i++) {
            memcpy(crops + (size_t)i * (size_t)S * (size_t)S, found[i].pixels, (size_t)S * (size_t)S);
            pf[i].x = (int)(found[i].x * back + 0.5);
            pf[i].y = (int)(found[i].y * back + 0.5);
            pf[i].w = (int)(found[i].w * back + 0.5);
            pf[i].h = (int)(found[i].h * back + 0.5);
            pf[i].aligned = found[i].eyes_found != 0;
        }
    }
    if (predict_classify(cx->model, crops, n, cx->views, cx->n_views, pf, &err) != EMO_OK) goto fail;
    for (int i = 0; i < n; i++) print_line(predict_json_face(file, i, n, &pf[i], cfg));
    rc = 0;
annotate:
    if (annotate) {
        EmoImage rgb;
        EmoDecodeOptions d = {.want_channels = 3};
        if (emo_image_load(file, &d, &rgb, &err) != EMO_OK) {
            rc = 1;
            goto fail;
        }
        predict_annotate(&rgb, pf, pf ? n : 0, cfg);
        EmoStatus st = emo_image_save_png(&rgb, annotate, &err);
        emo_image_free(&rgb);
        if (st != EMO_OK) {
            rc = 1;
            goto fail;
        }
        if (!cx->quiet) fprintf(stderr, "emopredict: wrote %s\n", annotate);
    }
    goto done;
fail:
    fprintf(stderr, "emopredict: %s\n", err.msg);
    print_line(predict_json_error(file, err.msg));
    rc = 1;
done:
    ingest_faces_free(found, nfound);
    free(pf);
    free(crops);
    free(small);
    emo_image_free(&img);
    return rc;
}

int main(int argc, char **argv)
{
    enum { O_MODEL = 256, O_ANNOTATE, O_LARGEST, O_WHOLE, O_CASCADE, O_EYE, O_EYE_FB, O_SCALE, O_NEIGH, O_MINSIZE,
           O_MAXSIDE, O_THREADS, O_QUIET, O_HELP, O_VERSION, O_TTA, O_PRECISION };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL},         {"annotate", required_argument, 0, O_ANNOTATE},
        {"largest", no_argument, 0, O_LARGEST},           {"whole", required_argument, 0, O_WHOLE},
        {"cascade", required_argument, 0, O_CASCADE},     {"eye-cascade", required_argument, 0, O_EYE},
        {"eye-fallback", required_argument, 0, O_EYE_FB}, {"scale-factor", required_argument, 0, O_SCALE},
        {"min-neighbors", required_argument, 0, O_NEIGH}, {"min-size", required_argument, 0, O_MINSIZE},
        {"max-side", required_argument, 0, O_MAXSIDE},    {"threads", required_argument, 0, O_THREADS},
        {"quiet", no_argument, 0, O_QUIET},               {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},           {"tta", optional_argument, 0, O_TTA},
        {"precision", required_argument, 0, O_PRECISION}, {0, 0, 0, 0},
    };
    IngestFaceOptions fo;
    ingest_face_options_default(&fo);
    fo.all_faces = 1;
    char *model_path = NULL;
    const char *annotate = NULL;
    Ctx cx = {.whole = WHOLE_AUTO, .max_side = 1600};
    cx.n_views = train_tta_parse("shift", cx.views, NULL, 0, NULL);
    int threads = 1, c;
    NetInferMode precision = NET_INFER_FP32;
    char *end;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: free(model_path); model_path = strdup(optarg); break;
        case O_ANNOTATE: annotate = optarg; break;
        case O_LARGEST: fo.all_faces = 0; break;
        case O_WHOLE:
            if (!strcmp(optarg, "auto")) cx.whole = WHOLE_AUTO;
            else if (!strcmp(optarg, "always")) cx.whole = WHOLE_ALWAYS;
            else if (!strcmp(optarg, "never")) cx.whole = WHOLE_NEVER;
            else return usage_error("--whole '%s': expected auto, always or never", optarg);
            break;
        case O_CASCADE: fo.cascade = optarg; break;
        case O_EYE: fo.eye_cascade = strcmp(optarg, "none") ? optarg : ""; break;
        case O_EYE_FB: fo.eye_fallback = strcmp(optarg, "none") ? optarg : ""; break;
        case O_SCALE:
            errno = 0;
            fo.scale_factor = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(fo.scale_factor > 1.0 && fo.scale_factor < 10))
                return usage_error("--scale-factor '%s': expected a number over 1", optarg);
            break;
        case O_NEIGH:
        case O_MINSIZE:
        case O_MAXSIDE:
        case O_THREADS: {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            long lo = c == O_NEIGH ? 0 : c == O_MINSIZE ? 0 : c == O_MAXSIDE ? 64 : 1;
            if (end == optarg || *end || errno || v < lo || v > 1000000)
                return usage_error("'%s': expected a whole number in range", optarg);
            if (c == O_NEIGH) fo.min_neighbors = (int)v;
            else if (c == O_MINSIZE) fo.min_size = (int)v;
            else if (c == O_MAXSIDE) cx.max_side = (int)v;
            else threads = (int)v;
            break;
        }
        case O_QUIET: cx.quiet = 1; break;
        case O_TTA: {
            EmoError terr;
            cx.n_views = train_tta_parse(optarg ? optarg : "flip", cx.views, NULL, 0, &terr);
            if (!cx.n_views) {
                free(model_path);
                return usage_error("--tta: %s", terr.msg);
            }
            break;
        }
        case O_PRECISION:
            if (!net_infer_mode_parse(optarg, &precision)) {
                free(model_path);
                return usage_error("--precision '%s': expected fp32, bf16 or layers", optarg);
            }
            break;
        case O_HELP:
            printf(help_text, INGEST_FACE_CASCADE_DEFAULT, INGEST_EYE_CASCADE_DEFAULT, INGEST_EYE_FALLBACK_DEFAULT);
            free(model_path);
            return 0;
        case O_VERSION:
            printf("emopredict %s\n", EMO_VERSION);
            free(model_path);
            return 0;
        case ':': free(model_path); return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: free(model_path); return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        free(model_path);
        return usage_error("%s", "no image given");
    }
    if (!model_path) model_path = default_model();
    int nimg = argc - optind, rc = 0;
    EmoError err;
    net_set_threads(threads);
    if (net_load(&cx.model, model_path, 16, NULL, NULL, &err) != EMO_OK ||
        net_set_infer_mode(cx.model, precision, &err) != EMO_OK) {
        fprintf(stderr, "emopredict: %s\n", err.msg);
        net_free(cx.model);
        free(model_path);
        return 1;
    }
    const NetConfig *cfg = net_config(cx.model);
    if (cfg->input_c != 1 || cfg->input_w != cfg->input_h) {
        fprintf(stderr, "emopredict: %s: the model takes %ux%ux%u input; faces are square gray crops\n", model_path,
                cfg->input_c, cfg->input_h, cfg->input_w);
        net_free(cx.model);
        free(model_path);
        return 1;
    }
    fo.out_size = (int)cfg->input_w;
    if (cx.whole != WHOLE_ALWAYS && ingest_face_open(&cx.faces, &fo, &err) != EMO_OK) {
        fprintf(stderr, "emopredict: %s\n", err.msg);
        net_free(cx.model);
        free(model_path);
        return 1;
    }
    if (!cx.quiet) fprintf(stderr, "emopredict: model %s\n", model_path);
    for (int i = 0; i < nimg; i++) {
        char *out = NULL;
        if (annotate) out = nimg == 1 ? strdup(annotate) : numbered(annotate, i + 1);
        if (annotate && !out) {
            fprintf(stderr, "emopredict: out of memory\n");
            rc = 1;
            break;
        }
        if (process(&cx, argv[optind + i], out) != 0) rc = 1;
        free(out);
    }
    ingest_face_close(cx.faces);
    net_free(cx.model);
    free(model_path);
    return rc;
}
