/* emoingest: folders, FER2013 CSVs, URL lists and crawls in; clean, split,
 * de-duplicated 48x48 face datasets and a report out. The command-line face
 * of ingest/ingest_pipeline.h: parses options, shows progress, prints the
 * summary and chooses the exit code; the library does the work. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "emo_record.h"
#include "ingest_dedup.h"
#include "ingest_labels.h"
#include "ingest_pipeline.h"

static void usage(FILE *f)
{
    fprintf(f,
"usage: emoingest [options] [DIR|FILE.csv|IMAGE ...] [--urls FILE] [--crawl URL] -o OUT\n"
"\n"
"Turns face images into 48x48 gray datasets: OUT/train, OUT/val, OUT/test\n"
"(only the non-empty ones; shards + manifest.json, see emoshard) and\n"
"OUT/ingest-report.json (counts per split and class, every rejected input\n"
"with its reason, duplicates and train/test leakage).\n"
"\n"
"Sources (any mix, read in this order: positional arguments as given, then\n"
"--urls lists, then crawls):\n"
"  DIR                   a folder tree. Folder names are labels (case-insensitive,\n"
"                        with aliases: anger, happiness, surprised, scared, calm,\n"
"                        ...); the nearest class folder above a file wins; files\n"
"                        with none are unlabeled. Folders named train, val,\n"
"                        validation, test (also training, publictest, privatetest)\n"
"                        set the split. Entries are read in sorted order; hidden\n"
"                        files are skipped; symlink loops, unreadable, empty and\n"
"                        non-image files are rejected with the reason.\n"
"  FILE.csv              a FER2013-style CSV (emotion,pixels,Usage in any order,\n"
"                        spaces after commas allowed; Kaggle emotion codes or class\n"
"                        names). Usage Training/PublicTest/PrivateTest sets\n"
"                        train/val/test. Streamed; bad rows are rejected with their\n"
"                        line number (the header is line 1), which is also each\n"
"                        record's source_row.\n"
"  IMAGE                 a single PNG or JPEG (unlabeled).\n"
"  --urls FILE           one 'URL[<TAB>label]' a line ('#' comments).\n"
"  --crawl URL           crawl from URL on its host only, following <a> links\n"
"                        --depth hops (default 1) and fetching <img> images;\n"
"                        robots.txt is honoured. Repeatable.\n"
"  --depth N             crawl depth (default 1; 0 = the start page's images)\n"
"  --label NAME          label of the crawled images (default: unlabeled)\n"
"  --max-pages N         HTML pages fetched per crawl at most (default 1000)\n"
"  --labels FILE         map of names to classes: 'NAME CLASS' a line, CLASS a\n"
"                        class, 'unlabeled' or 'skip'; consulted before the\n"
"                        built-in names for folders, URL-list labels, CSV names.\n"
"\n"
"HTTP (libcurl; every request bounded):\n"
"  --cache DIR           content-addressed download cache (default OUT/http-cache);\n"
"                        re-runs take bodies from it instead of the network\n"
"  --no-cache            do not read or write a cache\n"
"  --max-bytes N         largest body accepted, K/M/G suffixes (default 20M)\n"
"  --timeout S           seconds per request, whole transfer (default 30)\n"
"  --connect-timeout S   seconds to connect (default 10)\n"
"  --retries N           retries after timeouts, transport errors, 429, 5xx\n"
"                        (default 2), with exponential backoff from --backoff S\n"
"                        (default 0.5)\n"
"  --rate R              requests per second per host (default 2; 0 = no limit;\n"
"                        a robots.txt Crawl-delay can only slow it)\n"
"  --max-redirects N     default 5\n"
"  --user-agent S        default emoingest/%s\n"
"\n"
"Faces:\n"
"  --size N              output side in pixels (default 48)\n"
"  --detect MODE         auto (default): images already face-crop-sized (both\n"
"                        sides <= 2*size, aspect within 1.25, e.g. FER2013's\n"
"                        48x48) pass through: centre square resized to --size;\n"
"                        larger images are detected and aligned. always: detect\n"
"                        in every image. never: centre square of every image.\n"
"  --min-input-size N    images smaller than NxN are rejected as too small\n"
"                        (default size/2)\n"
"  --max-pixels N        decode limit, rejects bigger images from the header\n"
"                        (default 64M pixels)\n"
"  --cascade FILE        face cascade (default %s)\n"
"  --eye-cascade FILE    eye cascade for alignment (default %s;\n"
"                        'none': crop the detector box without aligning)\n"
"  --eye-fallback FILE   tried when no eye pair is found (default %s;\n"
"                        'none' to disable)\n"
"  --scale-factor F      detector pyramid step, OpenCV's scaleFactor (default 1.1)\n"
"  --min-neighbors N     OpenCV's minNeighbors (default 5)\n"
"  --min-size N          smallest face, pixels (default 30)\n"
"  --max-size N          largest face, pixels (default 0 = no limit)\n"
"  --largest             keep the largest face of an image (default)\n"
"  --all-faces           keep every face (source_row = face index)\n"
"  --margin F            frame grown by F * face size on every side (default 0)\n"
"  --boxes FILE          write every face used as TSV: source x y w h and the\n"
"                        eye centres (left x y, right x y; '-' when the eyes were\n"
"                        not found and the box was cropped unaligned)\n"
"\n"
"Duplicates and splits:\n"
"  --dedup MODE          exact (default): drop records whose pixels equal an\n"
"                        earlier record's; near: also drop records whose 64-bit\n"
"                        DCT perceptual hash is within --near-threshold bits of an\n"
"                        earlier one (re-encodes, slight crops, brightness\n"
"                        changes); off: keep all (exact duplicates are still\n"
"                        reported). The first occurrence in input order is kept,\n"
"                        across splits too: list an evaluation set first to keep\n"
"                        it whole. Every duplicate is listed in the report, and\n"
"                        those across splits (train/test leakage) are flagged.\n"
"                        FER2013 Training+PublicTest holds 1532 exact copies (280\n"
"                        val images are copies of train images, 66 copies carry\n"
"                        another label): the default keeps 30766 of 32298;\n"
"                        --dedup off gives the official counts (28709 + 3589).\n"
"  --near-threshold N    Hamming distance for --dedup near (default %d of 64). On\n"
"                        FER2013 every sampled pair within 4 bits was the same\n"
"                        photo (recropped, re-toned); at 7-8 bits about one pair\n"
"                        in five showed different people. Train+val with the\n"
"                        default: 1423 exact + 930 near duplicates dropped.\n"
"  --split A,B,C         train,val,test fractions for records whose source has\n"
"                        no split (default 0.8,0.1,0.1). Placement is a seeded hash\n"
"                        of the record's pixels, so adding images never moves\n"
"                        earlier ones and exact copies always land together.\n"
"  --split NAME          train, val or test: everything goes there, whatever the\n"
"                        source says (e.g. to build an evaluation set)\n"
"  --seed N              seed of the hash split (default 0)\n"
"\n"
"Run:\n"
"  -o, --output OUT      output directory (required). A split this run did not\n"
"                        produce is removed from OUT if an earlier run left one.\n"
"  --threads N           OpenMP threads (default: all cores); the output is\n"
"                        byte-identical whatever N is\n"
"  --shard-records N     records per shard (default: the writer's, 8192)\n"
"  --quiet               no progress and no summary on stderr\n"
"  --help, --version\n"
"\n"
"Progress (rate, ETA) goes to stderr when it is a terminal; a summary line\n"
"follows unless --quiet. Exit status: 0 the run completed (even if some inputs\n"
"were rejected: see the report), 1 nothing usable was produced or a fatal error\n"
"(missing input, unwritable output), 2 usage.\n",
            EMO_VERSION, INGEST_FACE_CASCADE_DEFAULT, INGEST_EYE_CASCADE_DEFAULT, INGEST_EYE_FALLBACK_DEFAULT,
            INGEST_NEAR_THRESHOLD_DEFAULT);
}

enum {
    OPT_URLS = 256, OPT_CRAWL, OPT_DEPTH, OPT_LABEL, OPT_MAX_PAGES, OPT_LABELS, OPT_CACHE, OPT_NO_CACHE,
    OPT_MAX_BYTES, OPT_TIMEOUT, OPT_CONNECT_TIMEOUT, OPT_RETRIES, OPT_BACKOFF, OPT_RATE, OPT_MAX_REDIRECTS,
    OPT_USER_AGENT, OPT_SIZE, OPT_DETECT, OPT_MIN_INPUT, OPT_MAX_PIXELS, OPT_CASCADE, OPT_EYE_CASCADE,
    OPT_EYE_FALLBACK, OPT_SCALE_FACTOR, OPT_MIN_NEIGHBORS, OPT_MIN_SIZE, OPT_MAX_SIZE, OPT_LARGEST,
    OPT_ALL_FACES, OPT_MARGIN, OPT_BOXES, OPT_DEDUP, OPT_NEAR_THRESHOLD, OPT_SPLIT, OPT_SEED, OPT_THREADS,
    OPT_SHARD_RECORDS, OPT_QUIET, OPT_HELP, OPT_VERSION,
};

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'},
    {"urls", required_argument, 0, OPT_URLS},
    {"crawl", required_argument, 0, OPT_CRAWL},
    {"depth", required_argument, 0, OPT_DEPTH},
    {"label", required_argument, 0, OPT_LABEL},
    {"max-pages", required_argument, 0, OPT_MAX_PAGES},
    {"labels", required_argument, 0, OPT_LABELS},
    {"cache", required_argument, 0, OPT_CACHE},
    {"no-cache", no_argument, 0, OPT_NO_CACHE},
    {"max-bytes", required_argument, 0, OPT_MAX_BYTES},
    {"timeout", required_argument, 0, OPT_TIMEOUT},
    {"connect-timeout", required_argument, 0, OPT_CONNECT_TIMEOUT},
    {"retries", required_argument, 0, OPT_RETRIES},
    {"backoff", required_argument, 0, OPT_BACKOFF},
    {"rate", required_argument, 0, OPT_RATE},
    {"max-redirects", required_argument, 0, OPT_MAX_REDIRECTS},
    {"user-agent", required_argument, 0, OPT_USER_AGENT},
    {"size", required_argument, 0, OPT_SIZE},
    {"detect", required_argument, 0, OPT_DETECT},
    {"min-input-size", required_argument, 0, OPT_MIN_INPUT},
    {"max-pixels", required_argument, 0, OPT_MAX_PIXELS},
    {"cascade", required_argument, 0, OPT_CASCADE},
    {"eye-cascade", required_argument, 0, OPT_EYE_CASCADE},
    {"eye-fallback", required_argument, 0, OPT_EYE_FALLBACK},
    {"scale-factor", required_argument, 0, OPT_SCALE_FACTOR},
    {"min-neighbors", required_argument, 0, OPT_MIN_NEIGHBORS},
    {"min-size", required_argument, 0, OPT_MIN_SIZE},
    {"max-size", required_argument, 0, OPT_MAX_SIZE},
    {"largest", no_argument, 0, OPT_LARGEST},
    {"all-faces", no_argument, 0, OPT_ALL_FACES},
    {"margin", required_argument, 0, OPT_MARGIN},
    {"boxes", required_argument, 0, OPT_BOXES},
    {"dedup", required_argument, 0, OPT_DEDUP},
    {"near-threshold", required_argument, 0, OPT_NEAR_THRESHOLD},
    {"split", required_argument, 0, OPT_SPLIT},
    {"seed", required_argument, 0, OPT_SEED},
    {"threads", required_argument, 0, OPT_THREADS},
    {"shard-records", required_argument, 0, OPT_SHARD_RECORDS},
    {"quiet", no_argument, 0, OPT_QUIET},
    {"help", no_argument, 0, OPT_HELP},
    {"version", no_argument, 0, OPT_VERSION},
    {0, 0, 0, 0},
};

/* Strict number parsing: the whole argument, within [lo, hi]. */
static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "emoingest: %s '%s': expected an integer in %ld..%ld\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "emoingest: %s '%s': expected a number in %g..%g\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* "20M", "512K", "1G", "1000" -> bytes. */
static int parse_bytes(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1024.0, end++;
    else if (*end == 'm' || *end == 'M') mul = 1024.0 * 1024, end++;
    else if (*end == 'g' || *end == 'G') mul = 1024.0 * 1024 * 1024, end++;
    if (*end == 'b' || *end == 'B') end++;
    if (errno || end == s || *end || !(v > 0) || v * mul > 1e15) {
        fprintf(stderr, "emoingest: %s '%s': expected a size like 20M, 512K or 1000\n", opt, s);
        return -1;
    }
    *out = (uint64_t)(v * mul);
    return 0;
}

typedef struct {
    double start;
    double last;   /* last line printed: at most 4 lines a second */
    int tty;
} Progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void on_progress(void *ctx, const IngestProgress *p)
{
    Progress *pr = ctx;
    if (!pr->tty) return;
    double tn = now_s();
    if (tn - pr->last < 0.25 && p->fraction < 1.0) return;
    pr->last = tn;
    double t = tn - pr->start;
    double rate = t > 0 ? p->items_done / t : 0;
    char eta[32] = "?";
    if (p->fraction > 0.001 && p->fraction <= 1.0) {
        double left = t * (1.0 - p->fraction) / p->fraction;
        snprintf(eta, sizeof eta, "%d:%02d", (int)left / 60, (int)left % 60);
    }
    fprintf(stderr, "\remoingest: %llu inputs, %llu records, %llu rejected, %.0f inputs/s, ETA %s   ",
            (unsigned long long)p->items_done, (unsigned long long)p->records, (unsigned long long)p->rejected,
            rate, eta);
}

/* Growable argv-backed lists. */
typedef struct {
    const char **v;
    int n;
} StrList;

static int push(StrList *l, const char *s)
{
    const char **nv = realloc(l->v, (size_t)(l->n + 1) * sizeof *nv);
    if (!nv) return -1;
    l->v = nv;
    l->v[l->n++] = s;
    return 0;
}

int main(int argc, char **argv)
{
    IngestOptions o;
    ingest_options_default(&o);
    StrList paths = {0}, urls = {0}, crawls = {0};
    const char *crawl_label = NULL;
    int quiet = 0;
    int rc = 2;
    int c;
    long lv;
    double dv;
    while ((c = getopt_long(argc, argv, "o:", long_opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': o.out_dir = optarg; break;
        case OPT_URLS: bad = push(&urls, optarg); break;
        case OPT_CRAWL: bad = push(&crawls, optarg); break;
        case OPT_DEPTH: bad = parse_long("--depth", optarg, 0, 100, &lv); o.crawl_depth = (int)lv; break;
        case OPT_LABEL: crawl_label = optarg; break;
        case OPT_MAX_PAGES: bad = parse_long("--max-pages", optarg, 1, 10000000, &lv); o.crawl_max_pages = (int)lv; break;
        case OPT_LABELS: o.labels_path = optarg; break;
        case OPT_CACHE: o.http.cache_dir = optarg; break;
        case OPT_NO_CACHE: o.http.cache_dir = ""; break;
        case OPT_MAX_BYTES: bad = parse_bytes("--max-bytes", optarg, &o.http.max_bytes); break;
        case OPT_TIMEOUT:
            bad = parse_double("--timeout", optarg, 0.01, 86400, &dv);
            o.http.timeout_ms = (long)(dv * 1000);
            break;
        case OPT_CONNECT_TIMEOUT:
            bad = parse_double("--connect-timeout", optarg, 0.01, 86400, &dv);
            o.http.connect_timeout_ms = (long)(dv * 1000);
            break;
        case OPT_RETRIES: bad = parse_long("--retries", optarg, 0, 20, &lv); o.http.retries = (int)lv; break;
        case OPT_BACKOFF:
            bad = parse_double("--backoff", optarg, 0, 600, &dv);
            o.http.backoff_ms = (long)(dv * 1000);
            break;
        case OPT_RATE: bad = parse_double("--rate", optarg, 0, 1e6, &o.http.rate); break;
        case OPT_MAX_REDIRECTS: bad = parse_long("--max-redirects", optarg, 0, 100, &lv); o.http.max_redirects = (int)lv; break;
        case OPT_USER_AGENT: o.http.user_agent = optarg; break;
        case OPT_SIZE: bad = parse_long("--size", optarg, 8, 1024, &lv); o.size = (int)lv; break;
        case OPT_DETECT:
            if (strcmp(optarg, "auto") == 0) o.detect = INGEST_DETECT_AUTO;
            else if (strcmp(optarg, "always") == 0) o.detect = INGEST_DETECT_ALWAYS;
            else if (strcmp(optarg, "never") == 0) o.detect = INGEST_DETECT_NEVER;
            else {
                fprintf(stderr, "emoingest: --detect '%s': expected auto, always or never\n", optarg);
                bad = 1;
            }
            break;
        case OPT_MIN_INPUT: bad = parse_long("--min-input-size", optarg, 1, 100000, &lv); o.min_input = (int)lv; break;
        case OPT_MAX_PIXELS: bad = parse_bytes("--max-pixels", optarg, &o.max_pixels); break;
        case OPT_CASCADE: o.face.cascade = optarg; break;
        case OPT_EYE_CASCADE: o.face.eye_cascade = strcmp(optarg, "none") ? optarg : ""; break;
        case OPT_EYE_FALLBACK: o.face.eye_fallback = strcmp(optarg, "none") ? optarg : ""; break;
        case OPT_SCALE_FACTOR: bad = parse_double("--scale-factor", optarg, 1.0001, 10, &o.face.scale_factor); break;
        case OPT_MIN_NEIGHBORS: bad = parse_long("--min-neighbors", optarg, 0, 1000, &lv); o.face.min_neighbors = (int)lv; break;
        case OPT_MIN_SIZE: bad = parse_long("--min-size", optarg, 0, 100000, &lv); o.face.min_size = (int)lv; break;
        case OPT_MAX_SIZE: bad = parse_long("--max-size", optarg, 0, 100000, &lv); o.face.max_size = (int)lv; break;
        case OPT_LARGEST: o.face.all_faces = 0; break;
        case OPT_ALL_FACES: o.face.all_faces = 1; break;
        case OPT_MARGIN: bad = parse_double("--margin", optarg, 0, 2, &o.face.margin); break;
        case OPT_BOXES: o.boxes_path = optarg; break;
        case OPT_DEDUP:
            if (strcmp(optarg, "exact") == 0) o.dedup = INGEST_DEDUP_EXACT;
            else if (strcmp(optarg, "near") == 0) o.dedup = INGEST_DEDUP_NEAR;
            else if (strcmp(optarg, "off") == 0) o.dedup = INGEST_DEDUP_OFF;
            else {
                fprintf(stderr, "emoingest: --dedup '%s': expected exact, near or off\n", optarg);
                bad = 1;
            }
            break;
        case OPT_NEAR_THRESHOLD:
            bad = parse_long("--near-threshold", optarg, 0, INGEST_NEAR_THRESHOLD_MAX, &lv);
            o.near_threshold = (int)lv;
            break;
        case OPT_SPLIT: {
            EmoError e;
            if (ingest_split_parse(optarg, &o.split, &e) != EMO_OK) {
                fprintf(stderr, "emoingest: %s\n", e.msg);
                bad = 1;
            }
            break;
        }
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "emoingest: --seed '%s': expected a non-negative integer\n", optarg);
                bad = 1;
            }
            o.split.seed = v;
            break;
        }
        case OPT_THREADS: bad = parse_long("--threads", optarg, 1, 1024, &lv); o.threads = (int)lv; break;
        case OPT_SHARD_RECORDS: bad = parse_long("--shard-records", optarg, 1, 1 << 24, &lv); o.shard_records = (int)lv; break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_HELP: usage(stdout); rc = 0; goto out;
        case OPT_VERSION: printf("emoingest %s\n", EMO_VERSION); rc = 0; goto out;
        default: usage(stderr); goto out;
        }
        if (bad) goto out;
    }
    for (int i = optind; i < argc; i++)
        if (push(&paths, argv[i]) != 0) goto out;
    if (!o.out_dir) {
        fprintf(stderr, "emoingest: no output directory: -o OUT is required (see --help)\n");
        goto out;
    }
    if (paths.n + urls.n + crawls.n == 0) {
        fprintf(stderr, "emoingest: no inputs: give folders, CSV files, images, --urls or --crawl (see --help)\n");
        goto out;
    }
    if (crawl_label) {
        int l = ingest_labels_resolve(NULL, crawl_label);
        if (l == INGEST_LABEL_UNKNOWN && strcasecmp(crawl_label, "unlabeled") != 0) {
            fprintf(stderr, "emoingest: --label '%s': not a class (angry disgust fear happy neutral sad surprise)\n",
                    crawl_label);
            goto out;
        }
        o.crawl_label = l == INGEST_LABEL_UNKNOWN ? EMO_LABEL_NONE : l;
    }
    o.paths = paths.v;
    o.npaths = paths.n;
    o.url_lists = urls.v;
    o.n_url_lists = urls.n;
    o.crawls = crawls.v;
    o.ncrawls = crawls.n;
    Progress pr = {.start = now_s(), .tty = !quiet && isatty(2)};
    if (pr.tty) {
        o.progress = on_progress;
        o.progress_ctx = &pr;
    }

    IngestSummary sum;
    EmoError err;
    EmoStatus s = ingest_run(&o, &sum, &err);
    if (pr.tty) fprintf(stderr, "\r%*s\r", 100, "");
    if (s != EMO_OK) {
        fprintf(stderr, "emoingest: %s\n", err.msg);
        rc = s == EMO_ERR_ARG ? 2 : 1;
        goto out;
    }
    const IngestCounts *k = &sum.counts;
    if (!quiet) {
        double t = now_s() - pr.start;
        fprintf(stderr, "emoingest: %llu inputs -> %llu records (", (unsigned long long)k->inputs,
                (unsigned long long)k->records);
        int first = 1;
        for (int sp = 0; sp < INGEST_NUM_SPLITS; sp++) {
            uint64_t n = 0;
            for (int j = 0; j <= EMO_NUM_CLASSES; j++) n += k->split_class[sp][j];
            if (!n) continue;
            fprintf(stderr, "%s%s %llu", first ? "" : ", ", ingest_split_name(sp), (unsigned long long)n);
            first = 0;
        }
        fprintf(stderr, "%s), %llu rejected", first ? "none" : "", (unsigned long long)k->rejected);
        if (k->rejected) {
            fprintf(stderr, " (");
            int f2 = 1;
            for (int i = 1; i < INGEST_REJ__COUNT; i++)
                if (k->by_reason[i]) {
                    fprintf(stderr, "%s%llu %s", f2 ? "" : ", ", (unsigned long long)k->by_reason[i],
                            ingest_reason_name((IngestReason)i));
                    f2 = 0;
                }
            fprintf(stderr, ")");
        }
        if (k->dup_cross_split)
            fprintf(stderr, "; %llu duplicates across splits", (unsigned long long)k->dup_cross_split);
        fprintf(stderr, "; %.1f s, %.0f inputs/s; report %s\n", t, t > 0 ? k->inputs / t : 0, sum.report_path);
    }
    if (k->records == 0) {
        fprintf(stderr, "emoingest: nothing usable was produced (see %s)\n", sum.report_path);
        rc = 1;
        goto out;
    }
    rc = 0;
out:
    free(paths.v);
    free(urls.v);
    free(crawls.v);
    return rc;
}
