/* emodetect: run the cascade face detector (and eye alignment) over images
 * and print the boxes as TSV; the command-line face of ingest/face_*.
 *
 * Used to compare with OpenCV (tests/compare/compare_opencv.sh), to
 * benchmark (tests/bench/bench_detect.sh) and to look at aligned crops.
 * Images are decoded first and detection is timed on its own, as
 * opencv_detect.py does, so the summary line compares like with like. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "emo_fs.h"
#include "emo_image.h"
#include "face_align.h"
#include "face_detect.h"

#define DEFAULT_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
#define DEFAULT_EYE "/usr/share/opencv4/haarcascades/haarcascade_eye.xml"
#define DEFAULT_EYE_FALLBACK "/usr/share/opencv4/haarcascades/haarcascade_eye_tree_eyeglasses.xml"

static void usage(FILE *f)
{
    fprintf(f,
"usage: emodetect [options] DIR|FILE...\n"
"\n"
"Detects faces with an OpenCV cascade (reimplemented; no OpenCV needed, only\n"
"its XML files) in PNG/JPEG images and prints one TSV line per box:\n"
"    path  x  y  w  h\n"
"DIR arguments are walked recursively (.png .jpg .jpeg, sorted) and their\n"
"images are printed relative to DIR, as opencv_detect.py does; FILE paths\n"
"are printed as given. With --align each line also has the eye positions\n"
"used and the eye angle (or '-' five times when no eye pair was found):\n"
"    path  x  y  w  h  left_x  left_y  right_x  right_y  angle_deg\n"
"\n"
"Detector (cv2.CascadeClassifier.detectMultiScale's parameters and defaults):\n"
"  --cascade FILE        cascade XML (default %s)\n"
"  --scale-factor F      pyramid step, > 1 (default 1.1)\n"
"  --min-neighbors N     keep boxes with more than N raw windows; 0 = raw windows (default 3)\n"
"  --min-size N|WxH      smallest box (default 0 = none)\n"
"  --max-size N|WxH      largest box (default 0 = the image size)\n"
"  --threads N           OpenMP threads (default 0 = all cores)\n"
"  --parallel MODE       images: each thread takes whole images (default, best\n"
"                        throughput); levels: images one by one, each split over\n"
"                        the threads by pyramid level (as OpenCV splits an image).\n"
"                        The boxes are the same either way.\n"
"  --largest             keep only the largest box per image\n"
"\n"
"Alignment (eyes found with an eye cascade inside the face box; the face\n"
"is rotated so the eyes are level and scaled to a fixed eye template):\n"
"  --align               print eye positions and angle after each box\n"
"  --align-out DIR       write each aligned crop as DIR/<name>.<i>.png, <name> the\n"
"                        printed path with '/' turned to '_', <i> the box index\n"
"                        (implies --align)\n"
"  --eye-cascade FILE    eye cascade (default %s)\n"
"  --eye-fallback FILE   tried when the first finds no pair (default %s;\n"
"                        'none' to disable)\n"
"  --out-size N          aligned crop size (default 48)\n"
"  --margin F            frame = the box grown by F box sizes per side, for aligned\n"
"                        and fallback crops alike (default %.2f: the eye template\n"
"                        already frames a face as an OpenCV frontalface box does)\n"
"  --residual            re-detect eyes on each aligned crop (upscaled) and print\n"
"                        their angle in the last column instead of the source\n"
"                        eye angle ('-' if no pair is found on the crop)\n"
"  --sheet FILE          write all aligned crops into one contact-sheet PNG\n"
"                        (16 per row, input order; implies --align)\n"
"\n"
"Output:\n"
"  --out FILE            write the TSV to FILE (atomically) instead of stdout\n"
"  --quiet               no summary line on stderr\n"
"  --help, --version\n"
"\n"
"A summary line goes to stderr: images, with_face, faces, detect_s (detection\n"
"and alignment time, images already decoded), images_per_s, threads, parallel.\n"
"Exit status: 0 ok, 1 an image or cascade failed, 2 usage.\n",
            DEFAULT_CASCADE, DEFAULT_EYE, DEFAULT_EYE_FALLBACK, FACE_ALIGN_DEFAULT_MARGIN);
}

/* One input image: path to open and the name to print. */
typedef struct {
    char *path;
    char *name;
} Input;

typedef struct {
    Input *v;
    int n, cap;
} InputList;

static int add_input(InputList *l, const char *path, const char *name)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        Input *nv = realloc(l->v, (size_t)cap * sizeof *nv);
        if (!nv) return -1;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n].path = strdup(path);
    l->v[l->n].name = strdup(name);
    if (!l->v[l->n].path || !l->v[l->n].name) return -1;
    l->n++;
    return 0;
}

static int is_image_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

/* Recursive walk; `rel` is the path relative to the root argument. */
static int walk(InputList *l, const char *dir, const char *rel)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "emodetect: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *full = emo_path_join(dir, e->d_name);
        char *r = rel[0] ? emo_path_join(rel, e->d_name) : strdup(e->d_name);
        struct stat st;
        if (!full || !r) rc = -1;
        else if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) rc |= walk(l, full, r);
        else if (is_image_name(e->d_name) && add_input(l, full, r) != 0) rc = -1;
        free(full);
        free(r);
    }
    closedir(d);
    return rc;
}

static int cmp_input(const void *a, const void *b)
{
    return strcmp(((const Input *)a)->path, ((const Input *)b)->path);
}

static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || a < 0 || a > 1000000) return -1;
    long b = a;
    if (*end == 'x' || *end == 'X') {
        const char *p = end + 1;
        b = strtol(p, &end, 10);
        if (end == p || b < 0 || b > 1000000) return -1;
    }
    if (*end) return -1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* "a/b/c.png" -> "a_b_c.png": one flat folder of crops. */
static char *crop_name(const char *dir, const char *name, int i)
{
    size_t n = strlen(name);
    char *flat = malloc(n + 32);
    if (!flat) return NULL;
    for (size_t k = 0; k < n; k++) flat[k] = name[k] == '/' ? '_' : name[k];
    snprintf(flat + n, 32, ".%d.png", i);
    char *p = emo_path_join(dir, flat);
    free(flat);
    return p;
}

/* What one image produced (filled by a worker, printed by main). */
typedef struct {
    FaceBox *boxes;
    int n;
    FaceAlignInfo *infos;   /* with --align */
    double *residual;       /* with --residual; NAN = no eye pair on the crop */
    uint8_t *crops;         /* with --sheet: n crops of out_size^2 */
    char err[EMO_ERROR_MSG_MAX + 64];
} Result;

static int omp_thread0(void)
{
#ifdef _OPENMP
    return omp_get_thread_num() == 0;
#else
    return 1;
#endif
}

/* Detects, optionally aligns (writing crops) and records one image. */
static void process_image(const Input *in, const EmoImage *img, const FaceCascade *cas, const FaceDetectParams *dp,
                          const FaceAlignParams *ap, int largest, int residual, const char *align_out, int keep,
                          Result *r)
{
    EmoError err;
    if (!img->pixels) return; /* decode failed, already reported */
    if (face_detect(cas, img->pixels, img->width, img->height, img->width, dp, &r->boxes, &r->n, &err) != EMO_OK) {
        snprintf(r->err, sizeof r->err, "%s: %s", in->path, err.msg);
        return;
    }
    if (largest && r->n > 1) r->n = 1; /* boxes are sorted largest first */
    if (!ap || r->n == 0) return;
    r->infos = calloc((size_t)r->n, sizeof *r->infos);
    r->residual = calloc((size_t)r->n, sizeof *r->residual);
    size_t csz = (size_t)ap->out_size * ap->out_size;
    uint8_t *crop = malloc(csz);
    if (keep) r->crops = malloc(csz * r->n);
    if (!r->infos || !r->residual || !crop || (keep && !r->crops)) {
        snprintf(r->err, sizeof r->err, "%s: out of memory", in->path);
        free(crop);
        return;
    }
    for (int k = 0; k < r->n; k++) {
        if (face_align(img->pixels, img->width, img->height, img->width, &r->boxes[k], ap, crop, &r->infos[k],
                       &err) != EMO_OK) {
            snprintf(r->err, sizeof r->err, "%s: %s", in->path, err.msg);
            break;
        }
        if (align_out) {
            char *cp = crop_name(align_out, in->name, k);
            EmoImage ci = {ap->out_size, ap->out_size, 1, crop};
            if (!cp || emo_image_save_png(&ci, cp, &err) != EMO_OK) {
                snprintf(r->err, sizeof r->err, "%s", cp ? err.msg : "out of memory");
                free(cp);
                break;
            }
            free(cp);
        }
        if (keep) memcpy(r->crops + csz * k, crop, csz);
        r->residual[k] = NAN;
        double ang;
        if (residual && face_align_residual(crop, ap->out_size, ap, &ang, &err) == EMO_OK) r->residual[k] = ang;
    }
    free(crop);
}

/* All aligned crops in one PNG, 16 per row, 2-pixel white gaps. */
static EmoStatus write_sheet(const char *path, const Result *res, int nimg, int S, EmoError *err)
{
    int total = 0;
    for (int i = 0; i < nimg; i++)
        if (res[i].crops) total += res[i].n;
    int cols = total < 16 ? (total > 0 ? total : 1) : 16, rows = (total + cols - 1) / cols;
    if (rows == 0) rows = 1;
    EmoImage sh;
    EMO_RETURN_IF_ERR(emo_image_alloc(&sh, cols * (S + 2) + 2, rows * (S + 2) + 2, 1, err));
    memset(sh.pixels, 255, (size_t)sh.width * sh.height);
    int t = 0;
    for (int i = 0; i < nimg; i++)
        for (int k = 0; res[i].crops && k < res[i].n; k++, t++) {
            int ox = 2 + (t % cols) * (S + 2), oy = 2 + (t / cols) * (S + 2);
            for (int y = 0; y < S; y++)
                memcpy(sh.pixels + (size_t)(oy + y) * sh.width + ox, res[i].crops + ((size_t)k * S + y) * S, (size_t)S);
        }
    EmoStatus st = emo_image_save_png(&sh, path, err);
    emo_image_free(&sh);
    return st;
}

enum {
    OPT_CASCADE = 256, OPT_SCALE, OPT_NEIGH, OPT_MIN, OPT_MAX, OPT_THREADS, OPT_LARGEST, OPT_ALIGN,
    OPT_ALIGN_OUT, OPT_EYE, OPT_EYE_FB, OPT_OUT_SIZE, OPT_MARGIN, OPT_OUT, OPT_QUIET, OPT_HELP,
    OPT_VERSION, OPT_RESIDUAL, OPT_PARALLEL, OPT_SHEET
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"cascade", required_argument, 0, OPT_CASCADE},
        {"scale-factor", required_argument, 0, OPT_SCALE},
        {"min-neighbors", required_argument, 0, OPT_NEIGH},
        {"min-size", required_argument, 0, OPT_MIN},
        {"max-size", required_argument, 0, OPT_MAX},
        {"threads", required_argument, 0, OPT_THREADS},
        {"largest", no_argument, 0, OPT_LARGEST},
        {"align", no_argument, 0, OPT_ALIGN},
        {"align-out", required_argument, 0, OPT_ALIGN_OUT},
        {"eye-cascade", required_argument, 0, OPT_EYE},
        {"eye-fallback", required_argument, 0, OPT_EYE_FB},
        {"out-size", required_argument, 0, OPT_OUT_SIZE},
        {"margin", required_argument, 0, OPT_MARGIN},
        {"residual", no_argument, 0, OPT_RESIDUAL},
        {"parallel", required_argument, 0, OPT_PARALLEL},
        {"sheet", required_argument, 0, OPT_SHEET},
        {"out", required_argument, 0, OPT_OUT},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"help", no_argument, 0, OPT_HELP},
        {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0},
    };
    const char *cascade_path = DEFAULT_CASCADE, *eye_path = DEFAULT_EYE, *eye_fb_path = DEFAULT_EYE_FALLBACK;
    const char *align_out = NULL, *out_path = NULL, *sheet = NULL;
    int largest = 0, align = 0, quiet = 0, residual = 0, per_image = 1;
    FaceDetectParams dp;
    face_detect_params_default(&dp);
    FaceAlignParams ap;
    face_align_params_default(&ap);
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case OPT_CASCADE: cascade_path = optarg; break;
        case OPT_SCALE:
            dp.scale_factor = strtod(optarg, &end);
            if (end == optarg || *end || !(dp.scale_factor > 1.0) || dp.scale_factor > 100) {
                fprintf(stderr, "emodetect: --scale-factor must be a number > 1\n");
                return 2;
            }
            break;
        case OPT_NEIGH:
            if (parse_int(optarg, 0, 100000, &dp.min_neighbors) != 0) {
                fprintf(stderr, "emodetect: --min-neighbors must be an integer >= 0\n");
                return 2;
            }
            break;
        case OPT_MIN:
            if (parse_size(optarg, &dp.min_w, &dp.min_h) != 0) {
                fprintf(stderr, "emodetect: --min-size must be N or WxH\n");
                return 2;
            }
            break;
        case OPT_MAX:
            if (parse_size(optarg, &dp.max_w, &dp.max_h) != 0) {
                fprintf(stderr, "emodetect: --max-size must be N or WxH\n");
                return 2;
            }
            break;
        case OPT_THREADS:
            if (parse_int(optarg, 0, 1024, &dp.threads) != 0) {
                fprintf(stderr, "emodetect: --threads must be an integer 0..1024\n");
                return 2;
            }
            break;
        case OPT_LARGEST: largest = 1; break;
        case OPT_ALIGN: align = 1; break;
        case OPT_ALIGN_OUT: align_out = optarg; align = 1; break;
        case OPT_EYE: eye_path = optarg; break;
        case OPT_EYE_FB: eye_fb_path = strcmp(optarg, "none") == 0 ? NULL : optarg; break;
        case OPT_OUT_SIZE:
            if (parse_int(optarg, 8, 4096, &ap.out_size) != 0) {
                fprintf(stderr, "emodetect: --out-size must be an integer 8..4096\n");
                return 2;
            }
            break;
        case OPT_MARGIN:
            ap.margin = strtod(optarg, &end);
            if (end == optarg || *end || !(ap.margin >= 0.0 && ap.margin <= 2.0)) {
                fprintf(stderr, "emodetect: --margin must be a number in 0..2\n");
                return 2;
            }
            break;
        case OPT_RESIDUAL: residual = 1; align = 1; break;
        case OPT_PARALLEL:
            if (strcmp(optarg, "images") == 0) per_image = 1;
            else if (strcmp(optarg, "levels") == 0) per_image = 0;
            else {
                fprintf(stderr, "emodetect: --parallel must be images or levels\n");
                return 2;
            }
            break;
        case OPT_SHEET: sheet = optarg; align = 1; break;
        case OPT_OUT: out_path = optarg; break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_HELP: usage(stdout); return 0;
        case OPT_VERSION: printf("emodetect %s\n", EMO_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }

    EmoError err;
    FaceCascade *cas = NULL, *eye = NULL, *eye_fb = NULL;
    if (face_cascade_load(cascade_path, &cas, &err) != EMO_OK) {
        fprintf(stderr, "emodetect: %s\n", err.msg);
        return 1;
    }
    if (align) {
        if (face_cascade_load(eye_path, &eye, &err) != EMO_OK ||
            (eye_fb_path && face_cascade_load(eye_fb_path, &eye_fb, &err) != EMO_OK)) {
            fprintf(stderr, "emodetect: %s\n", err.msg);
            face_cascade_free(cas);
            face_cascade_free(eye);
            return 1;
        }
        ap.eye_cascade = eye;
        ap.eye_cascade_fallback = eye_fb;
    }
    if (align_out && emo_mkdir_p(align_out, &err) != EMO_OK) {
        fprintf(stderr, "emodetect: %s\n", err.msg);
        return 1;
    }

    /* Collect inputs: directories walked and sorted, files as given. */
    InputList in = {0};
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "emodetect: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int first = in.n;
            if (walk(&in, argv[i], "") != 0) rc = 1;
            qsort(in.v + first, (size_t)(in.n - first), sizeof *in.v, cmp_input);
        } else if (add_input(&in, argv[i], argv[i]) != 0) {
            fprintf(stderr, "emodetect: out of memory\n");
            return 1;
        }
    }

    /* Decode everything first (timed apart), then detect. */
    EmoImage *imgs = calloc((size_t)in.n + 1, sizeof *imgs);
    EmoDecodeOptions dopt = {.want_channels = 1, .max_pixels = 0};
    for (int i = 0; i < in.n; i++) {
        if (emo_image_load(in.v[i].path, &dopt, &imgs[i], &err) != EMO_OK) {
            fprintf(stderr, "emodetect: %s\n", err.msg);
            rc = 1;
        }
    }

    EmoAtomicFile af;
    FILE *out = stdout;
    if (out_path) {
        if (emo_atomic_open(&af, out_path, &err) != EMO_OK) {
            fprintf(stderr, "emodetect: %s\n", err.msg);
            return 1;
        }
        out = af.fp;
    }
    /* Detect (and align) every image; results are kept per image and
     * printed in input order afterwards, so the output does not depend on
     * the thread count or schedule. */
    Result *res = calloc((size_t)in.n + 1, sizeof *res);
    if (!res) {
        fprintf(stderr, "emodetect: out of memory\n");
        return 1;
    }
    int nthreads = dp.threads;
#ifdef _OPENMP
    if (nthreads <= 0) nthreads = omp_get_max_threads();
#else
    nthreads = 1;
#endif
    int show_progress = !quiet && isatty(2);
    int done = 0;
    double t0 = now_s();
    if (per_image) {
        /* whole images per thread: no synchronization inside an image */
        FaceDetectParams one = dp;
        one.threads = 1;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
#endif
        for (int i = 0; i < in.n; i++) {
            process_image(&in.v[i], &imgs[i], cas, &one, align ? &ap : NULL, largest, residual, align_out, sheet != NULL,
                          &res[i]);
            if (show_progress) {
#ifdef _OPENMP
#pragma omp atomic
#endif
                done++;
                if (omp_thread0()) fprintf(stderr, "\r%d/%d", done, in.n);
            }
        }
    } else {
        dp.threads = nthreads;
        for (int i = 0; i < in.n; i++) {
            process_image(&in.v[i], &imgs[i], cas, &dp, align ? &ap : NULL, largest, residual, align_out, sheet != NULL,
                          &res[i]);
            if (show_progress && i % 8 == 0) fprintf(stderr, "\r%d/%d", i, in.n);
        }
    }
    double t_detect = now_s() - t0;
    if (sheet && write_sheet(sheet, res, in.n, ap.out_size, &err) != EMO_OK) {
        fprintf(stderr, "emodetect: %s\n", err.msg);
        rc = 1;
    }
    int with_face = 0, faces = 0;
    for (int i = 0; i < in.n; i++) {
        Result *r = &res[i];
        if (r->err[0]) {
            fprintf(stderr, "emodetect: %s\n", r->err);
            rc = 1;
        }
        if (r->n > 0) with_face++;
        faces += r->n;
        for (int k = 0; k < r->n; k++) {
            const FaceBox *b = &r->boxes[k];
            fprintf(out, "%s\t%d\t%d\t%d\t%d", in.v[i].name, b->x, b->y, b->w, b->h);
            if (align && r->infos) {
                const FaceAlignInfo *fi = &r->infos[k];
                if (fi->eyes_found > 0)
                    fprintf(out, "\t%.1f\t%.1f\t%.1f\t%.1f", fi->left_x, fi->left_y, fi->right_x, fi->right_y);
                else
                    fprintf(out, "\t-\t-\t-\t-");
                if (residual)
                    isnan(r->residual[k]) ? fprintf(out, "\t-") : fprintf(out, "\t%.2f", r->residual[k]);
                else
                    fi->eyes_found > 0 ? fprintf(out, "\t%.2f", fi->angle_deg) : fprintf(out, "\t-");
            }
            fputc('\n', out);
        }
        free(r->boxes);
        free(r->infos);
        free(r->residual);
        free(r->crops);
    }
    free(res);
    if (show_progress) fprintf(stderr, "\r%*s\r", 20, "");
    if (out_path) {
        if (emo_atomic_commit(&af, &err) != EMO_OK) {
            fprintf(stderr, "emodetect: %s\n", err.msg);
            rc = 1;
        }
    } else if (fflush(stdout) != 0) {
        fprintf(stderr, "emodetect: stdout: %s\n", strerror(errno));
        rc = 1;
    }
    if (!quiet)
        fprintf(stderr, "images=%d with_face=%d faces=%d detect_s=%.3f images_per_s=%.1f threads=%d parallel=%s\n",
                in.n, with_face, faces, t_detect, t_detect > 0 ? in.n / t_detect : 0.0, nthreads,
                per_image ? "images" : "levels");
    for (int i = 0; i < in.n; i++) {
        emo_image_free(&imgs[i]);
        free(in.v[i].path);
        free(in.v[i].name);
    }
    free(imgs);
    free(in.v);
    face_cascade_free(cas);
    face_cascade_free(eye);
    face_cascade_free(eye_fb);
    return rc;
}
