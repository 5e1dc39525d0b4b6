/* emoaugment: augment a dataset, shards in -> shards out; the command-line
 * face of augment/ (aug_run for the dataset, aug_preview for the sheet).
 *
 * This file only parses options, prints and picks exit codes: 0 ok,
 * 1 failed (unreadable or corrupt input, write error), 2 usage (unknown
 * option, value out of range). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "aug_preview.h"
#include "aug_run.h"

#define PROG "emoaugment"
#define MAX_COPIES 1000
#define MAX_THREADS 256

static void usage(FILE *f)
{
    fprintf(f,
"usage: emoaugment --shards IN -o OUT [options]\n"
"       emoaugment --shards IN --preview SHEET.png [options]\n"
"\n"
"Reads the dataset IN (a directory with manifest.json and shards, as written\n"
"by emoingest or emoshard) and writes OUT, a new dataset holding augmented\n"
"variants of its records: each input record gets --copies variants, plus\n"
"itself with --keep-original. Geometric transforms (flip, rotation, shift,\n"
"zoom) are composed into one affine map and applied once with bilinear\n"
"interpolation; then brightness, contrast and gamma (one table), blur,\n"
"noise and erasing. Pixels saturate at 0 and 255; size and gray stay.\n"
"\n"
"Each output record keeps the input's label, source and size, has origin\n"
"\"augmented\", parent_id = the input record's id, id = XXH64 of its pixels,\n"
"and params = the values drawn, e.g. \"flip=1 rot=-3.20 shift=1.25,-0.50\n"
"zoom=1.043,0.981 bright=1.071\", which replay the variant exactly.\n"
"The variant for (record id, copy index, --seed) is always the same,\n"
"whatever --threads or the shard order. OUT appears only when complete (a\n"
"failed run leaves any previous OUT as it was).\n"
"\n"
"Dataset:\n"
"  -s, --shards DIR        input dataset (required)\n"
"  -o, --output DIR        output dataset (replaced atomically); may be left\n"
"                          out with --preview to only draw the sheet\n"
"  -k, --copies K          variants per input record, 0..%d (default 1)\n"
"      --keep-original     also copy each input record unchanged\n"
"      --balance [TARGET]  oversample minority classes with extra variants\n"
"                          until each class has TARGET records in OUT\n"
"                          (default: the largest class's count in OUT);\n"
"                          extras are spread evenly over a class's records;\n"
"                          classes at or above TARGET are left as they are\n"
"      --seed N            random seed, any unsigned 64-bit number (default 1)\n"
"  -j, --threads N         threads, 1..%d (default: all cores)\n"
"      --level L           zstd level of the output shards, 1..19 (default 1:\n"
"                          on augmented FER2013 higher levels measured no\n"
"                          smaller and 2-4x slower)\n"
"\n"
"Transforms. X[@P] means: magnitude X, applied to a variant with\n"
"probability P (0..1, default 1); magnitude 0 turns a transform off.\n"
"Values are drawn uniformly from the ranges shown.\n"
"      --flip P            horizontal flip with probability P (default 0.5)\n"
"      --rotate DEG[@P]    rotate by U(-DEG, DEG) degrees about the centre,\n"
"                          positive = counter-clockwise; 0..180 (default 10)\n"
"      --shift F[@P]       shift by U(-F, F) x width and x height pixels;\n"
"      --shift FX,FY[@P]   0..1 each (default 0.1)\n"
"      --zoom Z[@P]        zoom factors zx, zy ~ U(1-Z, 1+Z), drawn\n"
"                          independently, Keras semantics (> 1 zooms out);\n"
"                          0..0.9 (default 0.1)\n"
"      --brightness B[@P]  multiply by U(1-B, 1+B); 0..1 (default 0.2)\n"
"      --brightness-mode mul|add\n"
"                          add: add U(-B, B) x 255 gray levels instead\n"
"      --contrast C[@P]    scale about the image mean by U(1-C, 1+C); 0..1\n"
"                          (default 0)\n"
"      --gamma G[@P]       v -> 255 (v/255)^g, g ~ U(1-G, 1+G); 0..0.9\n"
"                          (default 0)\n"
"      --blur S[@P]        Gaussian blur, sigma ~ U(0.1, S) pixels; 0..10\n"
"                          (default 0)\n"
"      --noise S[@P]       additive noise, sigma ~ U(0, S) gray levels; 0..128\n"
"                          (default 0)\n"
"      --erase A[@P]       random erasing: a rectangle of U(0.02, A) of the\n"
"                          area, aspect 0.3..3.3, filled with --erase-value;\n"
"                          A = 0 or 0.02..1 (default 0)\n"
"      --erase-value V     fill gray level for --erase, 0..255 (default 0)\n"
"      --border MODE       what lies outside the image for the geometric\n"
"                          transforms: replicate (aaa|abc|ccc, Keras\n"
"                          \"nearest\", the default), reflect (cba|abc|cba),\n"
"                          constant[:V] (gray V, default 0)\n"
"  Defaults are the common FER2013 recipe (Keras ImageDataGenerator with\n"
"  rotation 10, shifts 0.1, zoom 0.1, horizontal flip; +-20%% brightness).\n"
"\n"
"Preview:\n"
"      --preview FILE      write a PNG contact sheet: per row an original\n"
"                          and its variants 0..V-1 (the very copies written\n"
"                          with the same options and seed); drawn after OUT\n"
"                          is complete, or alone when -o is not given\n"
"      --preview-rows N    originals, spread over the classes, 1..256 (default 8)\n"
"      --preview-variants V  variants per original, 1..64 (default 7)\n"
"      --preview-scale S   pixel zoom, 1..16 (default 2)\n"
"\n"
"Other:\n"
"  -q, --quiet             no summary; progress is shown only on a terminal\n"
"  -h, --help              this help\n"
"  -V, --version           version\n"
"\n"
"Output: a summary on stdout (records in and out, seconds, records/s, and\n"
"per-class counts with --balance); progress with rate and ETA on stderr\n"
"when stderr is a terminal. OUT's manifest.json holds the resulting class\n"
"counts and, under produced_by, these options.\n"
"\n"
"Exit status: 0 ok; 1 failed (missing or corrupt input shard, named in the\n"
"message; write error), nothing written; 2 usage error.\n"
"\n"
"Examples:\n"
"  emoaugment -s data/train -o data/train-aug --copies 10 --seed 7\n"
"  emoaugment -s data/train -o data/train-bal --keep-original --copies 0 \\\n"
"             --balance\n"
"  emoaugment -s data/train --preview sheet.png --rotate 20 --erase 0.2@0.5\n",
            MAX_COPIES, MAX_THREADS);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see " PROG " --help)\n");
    return 2;
}

/*-*** value parsing: whole-string, finite, no silent truncation ***/

static int parse_double(const char *s, double *v)
{
    char *e;
    errno = 0;
    *v = strtod(s, &e);
    return e != s && *e == '\0' && errno == 0 && isfinite(*v);
}

static int parse_u64(const char *s, uint64_t *v)
{
    if (!*s || *s == '-' || *s == '+') return 0;
    char *e;
    errno = 0;
    unsigned long long x = strtoull(s, &e, 10);
    if (*e != '\0' || errno != 0) return 0;
    *v = x;
    return 1;
}

/* "X" or "X@P" (and for shift "X,Y" or "X,Y@P"). */
static int parse_knob(const char *s, int two, double *x, double *y, double *p)
{
    char buf[128];
    if (strlen(s) >= sizeof buf) return 0;
    strcpy(buf, s);
    char *at = strchr(buf, '@');
    *p = 1;
    if (at) {
        *at = '\0';
        if (!parse_double(at + 1, p)) return 0;
    }
    char *comma = two ? strchr(buf, ',') : NULL;
    if (comma) {
        *comma = '\0';
        return parse_double(buf, x) && parse_double(comma + 1, y);
    }
    if (!parse_double(buf, x)) return 0;
    if (y) *y = *x;
    return 1;
}

/* Parses --NAME X[@P] from optarg into *mag and *p; prints the usage
 * error and returns 0 if malformed (ranges are checked later, together). */
static int knob(const char *name, double *mag, double *p)
{
    double x, q;
    if (!parse_knob(optarg, 0, &x, NULL, &q)) {
        usage_error("--%s %s: expected X or X@P", name, optarg);
        return 0;
    }
    *mag = x, *p = q;
    return 1;
}

/*-*** progress and summary ***/

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    double start, last;
    int shown;
} Progress;

static void on_progress(void *user, uint64_t in, uint64_t total, uint64_t out)
{
    Progress *p = user;
    double t = now();
    if (t - p->last < 0.2 && in < total) return;
    p->last = t;
    double el = t - p->start, rate = el > 0 ? in / el : 0;
    double eta = rate > 0 && total > in ? (total - in) / rate : 0;
    fprintf(stderr, "\r" PROG ": %llu/%llu records (%.0f%%), %llu written, %.0f records/s, ETA %.0f s   ",
            (unsigned long long)in, (unsigned long long)total, total ? 100.0 * in / total : 100.0,
            (unsigned long long)out, el > 0 ? out / el : 0, eta);
    p->shown = 1;
}

/* JSON string body with the characters JSON requires escaped. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static const char *border_name(AugBorderMode m)
{
    return m == AUG_BORDER_REFLECT ? "reflect" : m == AUG_BORDER_CONSTANT ? "constant" : "replicate";
}

/* The produced_by object for the manifest: tool, version, every option. */
static char *produced_by(const AugRunOptions *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    const AugConfig *c = &o->cfg;
    fprintf(f, "{\"tool\":\"emoaugment\",\"version\":\"%s\",\"options\":{", EMO_VERSION);
    fprintf(f, "\"level\":%d,", o->zstd_level);
    fprintf(f, "\"copies\":%u,\"keep_original\":%s,\"balance\":%s,\"balance_target\":%llu,\"seed\":%llu,",
            o->copies, o->keep_original ? "true" : "false", o->balance ? "true" : "false",
            (unsigned long long)o->balance_target, (unsigned long long)o->seed);
    fprintf(f, "\"flip\":%.17g,\"rotate\":[%.17g,%.17g],\"shift\":[%.17g,%.17g,%.17g],\"zoom\":[%.17g,%.17g],",
            c->flip_p, c->rotate, c->rotate_p, c->shift_x, c->shift_y, c->shift_p, c->zoom, c->zoom_p);
    fprintf(f, "\"brightness\":[%.17g,%.17g],\"brightness_mode\":\"%s\",\"contrast\":[%.17g,%.17g],",
            c->bright, c->bright_p, c->bright_add ? "add" : "mul", c->contrast, c->contrast_p);
    fprintf(f, "\"gamma\":[%.17g,%.17g],\"blur\":[%.17g,%.17g],\"noise\":[%.17g,%.17g],",
            c->gamma, c->gamma_p, c->blur, c->blur_p, c->noise, c->noise_p);
    fprintf(f, "\"erase\":[%.17g,%.17g],\"erase_value\":%d,\"border\":\"%s\",\"border_value\":%d},",
            c->erase, c->erase_p, c->erase_value, border_name(c->border.mode), c->border.value);
    fprintf(f, "\"inputs\":[");
    json_str(f, o->input_dir);
    fprintf(f, "]}");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

enum {
    OPT_KEEP = 256, OPT_BALANCE, OPT_SEED, OPT_FLIP, OPT_ROTATE, OPT_SHIFT, OPT_ZOOM, OPT_BRIGHT,
    OPT_BRIGHT_MODE, OPT_CONTRAST, OPT_GAMMA, OPT_BLUR, OPT_NOISE, OPT_ERASE, OPT_ERASE_VALUE,
    OPT_BORDER, OPT_LEVEL, OPT_PREVIEW, OPT_PREVIEW_ROWS, OPT_PREVIEW_VARIANTS, OPT_PREVIEW_SCALE,
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"shards", required_argument, 0, 's'},
        {"output", required_argument, 0, 'o'},
        {"copies", required_argument, 0, 'k'},
        {"keep-original", no_argument, 0, OPT_KEEP},
        {"balance", optional_argument, 0, OPT_BALANCE},
        {"seed", required_argument, 0, OPT_SEED},
        {"threads", required_argument, 0, 'j'},
        {"level", required_argument, 0, OPT_LEVEL},
        {"flip", required_argument, 0, OPT_FLIP},
        {"rotate", required_argument, 0, OPT_ROTATE},
        {"shift", required_argument, 0, OPT_SHIFT},
        {"zoom", required_argument, 0, OPT_ZOOM},
        {"brightness", required_argument, 0, OPT_BRIGHT},
        {"brightness-mode", required_argument, 0, OPT_BRIGHT_MODE},
        {"contrast", required_argument, 0, OPT_CONTRAST},
        {"gamma", required_argument, 0, OPT_GAMMA},
        {"blur", required_argument, 0, OPT_BLUR},
        {"noise", required_argument, 0, OPT_NOISE},
        {"erase", required_argument, 0, OPT_ERASE},
        {"erase-value", required_argument, 0, OPT_ERASE_VALUE},
        {"border", required_argument, 0, OPT_BORDER},
        {"preview", required_argument, 0, OPT_PREVIEW},
        {"preview-rows", required_argument, 0, OPT_PREVIEW_ROWS},
        {"preview-variants", required_argument, 0, OPT_PREVIEW_VARIANTS},
        {"preview-scale", required_argument, 0, OPT_PREVIEW_SCALE},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    AugRunOptions o;
    memset(&o, 0, sizeof o);
    o.cfg = aug_config_default();
    o.copies = 1;
    o.seed = 1;
    /* Level 1, not the format's default (9, tuned for ingested data): on
     * augmented FER2013 it wrote 1% smaller shards (interpolated pixels leave
     * the long matches that higher levels look for rare) at 3x the speed,
     * and the writer is most of emoaugment's time. */
    o.zstd_level = 1;
#ifdef _OPENMP
    o.threads = omp_get_max_threads();
#else
    o.threads = 1;
#endif
    AugPreviewOptions pv = {8, 7, 2};
    const char *preview = NULL;
    int quiet = 0;
    AugConfig *c = &o.cfg;

    /* "+": stop at the first non-option, so that --balance can take its
     * optional TARGET as the next word without argv being permuted. */
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:s:o:k:j:qhV", longopts, NULL)) != -1) {
        uint64_t u;
        double x, y, p;
        switch (opt) {
        case 's': o.input_dir = optarg; break;
        case 'o': o.output_dir = optarg; break;
        case 'k':
            if (!parse_u64(optarg, &u) || u > MAX_COPIES)
                return usage_error("--copies %s: must be an integer 0..%d", optarg, MAX_COPIES);
            o.copies = (uint32_t)u;
            break;
        case OPT_KEEP: o.keep_original = 1; break;
        case OPT_BALANCE: {
            const char *t = optarg;
            if (!t && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9') t = argv[optind++];
            o.balance = 1;
            if (t && (!parse_u64(t, &u) || u < 1 || u > AUG_PLAN_MAX_TARGET))
                return usage_error("--balance %s: TARGET must be an integer 1..%llu", t, AUG_PLAN_MAX_TARGET);
            o.balance_target = t ? u : 0;
            break;
        }
        case OPT_SEED:
            if (!parse_u64(optarg, &o.seed)) return usage_error("--seed %s: must be an unsigned integer", optarg);
            break;
        case 'j':
            if (!parse_u64(optarg, &u) || u < 1 || u > MAX_THREADS)
                return usage_error("--threads %s: must be an integer 1..%d", optarg, MAX_THREADS);
            o.threads = (int)u;
            break;
        case OPT_LEVEL:
            if (!parse_u64(optarg, &u) || u < 1 || u > 19)
                return usage_error("--level %s: must be an integer 1..19", optarg);
            o.zstd_level = (int)u;
            break;
        case OPT_FLIP:
            if (!parse_double(optarg, &c->flip_p)) return usage_error("--flip %s: not a number", optarg);
            break;
        case OPT_ROTATE: if (!knob("rotate", &c->rotate, &c->rotate_p)) return 2; break;
        case OPT_ZOOM: if (!knob("zoom", &c->zoom, &c->zoom_p)) return 2; break;
        case OPT_BRIGHT: if (!knob("brightness", &c->bright, &c->bright_p)) return 2; break;
        case OPT_CONTRAST: if (!knob("contrast", &c->contrast, &c->contrast_p)) return 2; break;
        case OPT_GAMMA: if (!knob("gamma", &c->gamma, &c->gamma_p)) return 2; break;
        case OPT_BLUR: if (!knob("blur", &c->blur, &c->blur_p)) return 2; break;
        case OPT_NOISE: if (!knob("noise", &c->noise, &c->noise_p)) return 2; break;
        case OPT_ERASE: if (!knob("erase", &c->erase, &c->erase_p)) return 2; break;
        case OPT_SHIFT:
            if (!parse_knob(optarg, 1, &x, &y, &p))
                return usage_error("--shift %s: expected F, FX,FY, F@P or FX,FY@P", optarg);
            c->shift_x = x, c->shift_y = y, c->shift_p = p;
            break;
        case OPT_BRIGHT_MODE:
            if (strcmp(optarg, "mul") == 0) c->bright_add = 0;
            else if (strcmp(optarg, "add") == 0) c->bright_add = 1;
            else return usage_error("--brightness-mode %s: expected mul or add", optarg);
            break;
        case OPT_ERASE_VALUE:
            if (!parse_u64(optarg, &u) || u > 255) return usage_error("--erase-value %s: must be 0..255", optarg);
            c->erase_value = (uint8_t)u;
            break;
        case OPT_BORDER:
            if (strcmp(optarg, "replicate") == 0) {
                c->border.mode = AUG_BORDER_REPLICATE;
            } else if (strcmp(optarg, "reflect") == 0) {
                c->border.mode = AUG_BORDER_REFLECT;
            } else if (strncmp(optarg, "constant", 8) == 0 && (optarg[8] == '\0' || optarg[8] == ':')) {
                c->border.mode = AUG_BORDER_CONSTANT;
                c->border.value = 0;
                if (optarg[8] == ':') {
                    if (!parse_u64(optarg + 9, &u) || u > 255)
                        return usage_error("--border %s: constant value must be 0..255", optarg);
                    c->border.value = (uint8_t)u;
                }
            } else {
                return usage_error("--border %s: expected replicate, reflect or constant[:V]", optarg);
            }
            break;
        case OPT_PREVIEW: preview = optarg; break;
        case OPT_PREVIEW_ROWS:
        case OPT_PREVIEW_VARIANTS:
        case OPT_PREVIEW_SCALE: {
            int lim = opt == OPT_PREVIEW_ROWS ? 256 : opt == OPT_PREVIEW_VARIANTS ? 64 : 16;
            const char *nm = opt == OPT_PREVIEW_ROWS ? "rows" : opt == OPT_PREVIEW_VARIANTS ? "variants" : "scale";
            if (!parse_u64(optarg, &u) || u < 1 || u > (uint64_t)lim)
                return usage_error("--preview-%s %s: must be an integer 1..%d", nm, optarg, lim);
            *(opt == OPT_PREVIEW_ROWS ? &pv.rows : opt == OPT_PREVIEW_VARIANTS ? &pv.variants : &pv.scale) = (int)u;
            break;
        }
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf(PROG " %s\n", EMO_VERSION); return 0;
        case ':': return usage_error("%s: needs a value", argv[optind - 1]);
        default: return usage_error("%s: unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (!o.input_dir) return usage_error("--shards DIR is required");
    if (!o.output_dir && !preview) return usage_error("give -o OUT (or --preview FILE to only draw a sheet)");
    if (o.output_dir && o.copies == 0 && !o.keep_original && !(o.balance && o.balance_target))
        return usage_error("--copies 0 without --keep-original or --balance TARGET would write nothing");
    EmoError err;
    if (aug_config_validate(&o.cfg, &err) != EMO_OK) return usage_error("%s", err.msg);
    if (o.output_dir) {
        char *a = realpath(o.input_dir, NULL), *b = realpath(o.output_dir, NULL);
        int same = a && b && strcmp(a, b) == 0;
        free(a), free(b);
        if (same) return usage_error("-o %s: is the input dataset; write to another directory", o.output_dir);
    }

    int rc = 0;
    if (o.output_dir) {
        Progress pr = {now(), 0, 0};
        if (isatty(STDERR_FILENO)) o.progress = on_progress, o.progress_user = &pr;
        char *pb = produced_by(&o);
        o.produced_by = pb;
        AugRunStats st;
        EmoStatus s = aug_run(&o, &st, &err);
        free(pb);
        if (pr.shown) fputc('\n', stderr);
        if (s != EMO_OK) {
            fprintf(stderr, PROG ": error: %s\n", err.msg);
            fprintf(stderr, PROG ": nothing written to %s\n", o.output_dir);
            return 1;
        }
        double el = now() - pr.start;
        if (!quiet) {
            printf(PROG ": %llu records in, %llu out (%llu originals), %.2f s, %.0f records/s, %d threads -> %s\n",
                   (unsigned long long)st.records_in, (unsigned long long)st.records_out,
                   (unsigned long long)st.originals_out, el, el > 0 ? st.records_out / el : 0.0, o.threads,
                   o.output_dir);
            if (o.balance) {
                printf(PROG ": balance target %llu\n", (unsigned long long)st.plan.target);
                for (int k = 0; k < EMO_NUM_CLASSES; k++)
                    printf("  %-9s %8llu in -> %8llu out%s\n", emo_class_name(k),
                           (unsigned long long)st.plan.in_counts[k], (unsigned long long)st.plan.out_counts[k],
                           st.plan.in_counts[k] == 0 ? " (no records to oversample)" : "");
            }
        }
        for (int k = 0; o.balance && k < EMO_NUM_CLASSES; k++)
            if (st.plan.in_counts[k] == 0)
                fprintf(stderr, PROG ": warning: class %s has no records; it cannot reach the target\n",
                        emo_class_name(k));
    }
    if (preview) {
        if (aug_preview_dataset(o.input_dir, &o.cfg, o.seed, &pv, preview, &err) != EMO_OK) {
            fprintf(stderr, PROG ": error: preview: %s\n", err.msg);
            rc = 1;
        } else if (!quiet) {
            printf(PROG ": preview -> %s\n", preview);
        }
    }
    return rc;
}
