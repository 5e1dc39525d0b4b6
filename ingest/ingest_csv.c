/* ingest_csv.c: streaming FER2013 CSV reader (see ingest_csv.h). */
#include "ingest_csv.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "emo_record.h"
#include "ingest_lines.h"

/* A FER2013 row is about 9 KB; 4 MB allows 1024x1024 images and still bounds
 * memory when a file has no newlines at all. */
#define CSV_MAX_LINE (4u << 20)
#define CSV_MAX_FIELDS 64

struct IngestCsv {
    FILE *fp;
    int own_fp;
    char *name;
    const IngestLabelMap *labels;
    int col_emotion, col_pixels, col_usage;   /* -1 if absent */
    int ncols;                                /* columns the header declared (0 if none) */
    IngestLines in;                           /* the current line, its number, bytes read */
    uint64_t size;
    char *pending;                            /* a headerless file's first data line */
};

/* Reads one line into c->in.buf (without the newline, CR stripped). Returns
 * 1 on a line, 0 at EOF, -1 on read error, -2 if the line exceeded the
 * limit (the rest of it is consumed and dropped). A NUL byte stays in the
 * line; the caller rejects such a row by its number (ingest_lines.h). */
static int read_line(IngestCsv *c, size_t *len, int *has_nul)
{
    int flags = 0;
    int r = ingest_lines_next(&c->in, len, &flags);
    if (r == 1 && (flags & INGEST_LINE_TOO_LONG)) return -2;
    if (has_nul) *has_nul = r == 1 && (flags & INGEST_LINE_HAS_NUL);
    return r;
}

/* Splits a line in place into fields, honouring double quotes ("" inside a
 * quoted field is a quote). Trims spaces around each field. Returns the
 * number of fields (at most max). */
static int split_fields(char *s, char **fields, int max)
{
    int n = 0;
    char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) break;
                if (*p == '"') {
                    if (p[1] == '"') { *out++ = '"'; p += 2; continue; }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            while (*p && *p != ',') p++; /* junk after the closing quote */
        } else {
            while (*p && *p != ',') *out++ = *p++;
        }
        char *end = out;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        int more = *p == ',';
        *end = 0;
        if (n < max) fields[n++] = start;
        if (!more) break;
        p++;
    }
    return n;
}

static int header_column(const char *f, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcasecmp(f, names[i]) == 0) return 1;
    return 0;
}

static int is_integer(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

/* Parses the header (or recognises a headerless data line). */
static EmoStatus parse_header(IngestCsv *c, EmoError *err)
{
    size_t len;
    int r = read_line(c, &len, NULL);
    if (r == 0) return emo_error_set(err, EMO_ERR_FORMAT, "%s: empty file", c->name);
    if (r == -1) return emo_error_set(err, EMO_ERR_IO, "%s: read error: %s", c->name, strerror(errno));
    if (r == -2) return emo_error_set(err, EMO_ERR_FORMAT, "%s: line 1 longer than %u bytes", c->name, CSV_MAX_LINE);
    char *line = c->in.buf;
    if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB && (unsigned char)line[2] == 0xBF)
        line += 3; /* UTF-8 BOM from spreadsheet exports */
    char *copy = strdup(line);
    if (!copy) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", c->name);
    char *f[CSV_MAX_FIELDS];
    int n = split_fields(line, f, CSV_MAX_FIELDS);
    static const char *const emo_names[] = {"emotion", "label", "class", "expression", NULL};
    static const char *const pix_names[] = {"pixels", "pixel", "image", NULL};
    static const char *const use_names[] = {"usage", "split", "set", NULL};
    c->col_emotion = c->col_pixels = c->col_usage = -1;
    for (int i = 0; i < n; i++) {
        if (c->col_emotion < 0 && header_column(f[i], emo_names)) c->col_emotion = i;
        else if (c->col_pixels < 0 && header_column(f[i], pix_names)) c->col_pixels = i;
        else if (c->col_usage < 0 && header_column(f[i], use_names)) c->col_usage = i;
    }
    if (c->col_pixels >= 0) {
        c->ncols = n;
        free(copy);
        return EMO_OK;
    }
    /* No header: accept a Kaggle-order data line (integer, many numbers). */
    if (n >= 2 && is_integer(f[0]) && strchr(f[1], ' ')) {
        c->col_emotion = 0;
        c->col_pixels = 1;
        c->col_usage = n >= 3 ? 2 : -1;
        c->ncols = 0;
        c->pending = copy;
        return EMO_OK;
    }
    free(copy);
    return emo_error_set(err, EMO_ERR_FORMAT, "%s: line 1: no 'pixels' column (expected a FER2013 CSV header "
                         "like emotion,pixels,Usage)", c->name);
}

EmoStatus ingest_csv_open_stream(IngestCsv **out, FILE *fp, const char *name, const IngestLabelMap *labels,
                                 EmoError *err)
{
    *out = NULL;
    IngestCsv *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name ? name : ""))) {
        free(c);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name ? name : "csv");
    }
    c->fp = fp;
    ingest_lines_init(&c->in, fp, CSV_MAX_LINE);
    c->labels = labels;
    EmoStatus s = parse_header(c, err);
    if (s != EMO_OK) {
        ingest_csv_close(c);
        return s;
    }
    *out = c;
    return EMO_OK;
}

EmoStatus ingest_csv_open(IngestCsv **out, const char *path, const IngestLabelMap *labels, EmoError *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return emo_error_set(err, errno == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO, "%s: %s", path,
                             strerror(errno));
    struct stat st;
    uint64_t size = fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    /* Big stdio buffer: the file is read once, front to back. */
    setvbuf(fp, NULL, _IOFBF, 1 << 16);
    EmoStatus s = ingest_csv_open_stream(out, fp, path, labels, err);
    if (s != EMO_OK) {
        fclose(fp);
        return s;
    }
    (*out)->own_fp = 1;
    (*out)->size = size;
    return EMO_OK;
}

/* Parses "v v v ..." into a malloc'd byte array. Returns NULL and a reason
 * in `why` on failure. */
static uint8_t *parse_pixels(const char *s, size_t *count, char *why, size_t why_size)
{
    size_t cap = 2304, n = 0;
    uint8_t *px = malloc(cap);
    if (!px) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        unsigned v = 0;
        int digits = 0;
        const char *tok = p;
        while (isdigit((unsigned char)*p)) {
            if (v <= 1000) v = v * 10 + (unsigned)(*p - '0');
            p++;
            digits++;
        }
        if (*p == '.') { /* "12.0": some exports write floats; accept integral ones */
            p++;
            while (*p == '0') p++;
        }
        if (!digits || (*p && *p != ' ' && *p != '\t')) {
            const char *e = tok;
            while (*e && *e != ' ' && *e != '\t') e++;
            snprintf(why, why_size, "non-numeric pixel value '%.*s' at position %zu",
                     (int)(e - tok > 20 ? 20 : e - tok), tok, n + 1);
            free(px);
            return NULL;
        }
        if (v > 255) {
            snprintf(why, why_size, "pixel value %.*s at position %zu is over 255", digits > 9 ? 9 : digits, tok,
                     n + 1);
            free(px);
            return NULL;
        }
        if (n == cap) {
            uint8_t *np = realloc(px, cap * 2);
            if (!np) {
                free(px);
                snprintf(why, why_size, "out of memory");
                return NULL;
            }
            px = np;
            cap *= 2;
        }
        px[n++] = (uint8_t)v;
    }
    *count = n;
    return px;
}

static int isqrt_exact(size_t n)
{
    size_t r = 0;
    while ((r + 1) * (r + 1) <= n) r++;
    return r * r == n ? (int)r : -1;
}

EmoStatus ingest_csv_next(IngestCsv *c, IngestItem *it, EmoError *err)
{
    memset(it, 0, sizeof *it);
    for (;;) {
        char *line;
        int64_t row;
        if (c->pending) {
            /* headerless file: the first line is data */
            line = c->pending;
            row = 1;
        } else {
            size_t len;
            int has_nul = 0;
            int r = read_line(c, &len, &has_nul);
            if (r == 0) return EMO_ERR_EOF;
            if (r == -1) return emo_error_set(err, EMO_ERR_IO, "%s: line %lld: read error: %s", c->name,
                                              (long long)c->in.lineno + 1, strerror(errno));
            row = c->in.lineno;
            if (r == -2) {
                EmoStatus s = ingest_item_reject(it, c->name, row, INGEST_REJ_BAD_CSV_ROW,
                                                 "%s: line %lld: longer than %u bytes", c->name, (long long)row,
                                                 CSV_MAX_LINE);
                return s == EMO_OK ? EMO_OK : emo_error_set(err, s, "out of memory");
            }
            line = c->in.buf;
            size_t i = 0;
            while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
            if (i == len) continue; /* blank lines (a trailing newline) are not rows */
            /* Compared with len, not by a NUL: a line that starts with NUL
             * bytes is not blank (fuzz_csv: it was skipped, a row lost). */
            if (has_nul) {
                EmoStatus s = ingest_item_reject(it, c->name, row, INGEST_REJ_BAD_CSV_ROW,
                                                 "%s: line %lld: holds a NUL byte", c->name, (long long)row);
                return s == EMO_OK ? EMO_OK : emo_error_set(err, s, "out of memory");
            }
        }
        char *f[CSV_MAX_FIELDS];
        int n = split_fields(line, f, CSV_MAX_FIELDS);
        int need = c->col_pixels;
        if (c->col_emotion > need) need = c->col_emotion;
        if (c->col_usage > need) need = c->col_usage;
        char why[160] = "";
        int label = EMO_LABEL_NONE, split = INGEST_SPLIT_NONE;
        uint8_t *px = NULL;
        size_t npx = 0;
        if (n <= need) {
            snprintf(why, sizeof why, "%d field%s, expected %d", n, n == 1 ? "" : "s",
                     c->ncols ? c->ncols : need + 1);
        } else {
            const char *emo = c->col_emotion >= 0 ? f[c->col_emotion] : "";
            const char *use = c->col_usage >= 0 ? f[c->col_usage] : "";
            if (*emo) {
                if (is_integer(emo)) {
                    long code = strtol(emo, NULL, 10);
                    label = (code >= 0 && code <= 6) ? emo_class_from_kaggle((int)code) : EMO_LABEL_NONE;
                    if (label == EMO_LABEL_NONE) snprintf(why, sizeof why, "emotion code %.20s is not 0..6", emo);
                } else {
                    int l = ingest_labels_resolve(c->labels, emo);
                    if (l == INGEST_LABEL_UNKNOWN || l == INGEST_LABEL_SKIP)
                        snprintf(why, sizeof why, "emotion '%.40s' is not a class", emo);
                    else
                        label = l;
                }
            }
            if (!*why && *use) {
                split = ingest_split_from_name(use);
                if (split == INGEST_SPLIT_NONE) snprintf(why, sizeof why, "unknown Usage '%.40s'", use);
            }
            if (!*why) {
                px = parse_pixels(f[c->col_pixels], &npx, why, sizeof why);
                if (px) {
                    int side = isqrt_exact(npx);
                    if (npx == 0) snprintf(why, sizeof why, "no pixel values");
                    else if (side < 0)
                        snprintf(why, sizeof why, "%zu pixel values, not a square image (48x48 = 2304)", npx);
                    if (*why) {
                        free(px);
                        px = NULL;
                    } else {
                        it->width = it->height = side;
                    }
                }
            }
        }
        if (c->pending) {
            free(c->pending);
            c->pending = NULL;
        }
        if (!px) {
            EmoStatus s = ingest_item_reject(it, c->name, row, INGEST_REJ_BAD_CSV_ROW, "%s: line %lld: %s",
                                             c->name, (long long)row, why);
            it->label = label;
            it->split = split;
            return s == EMO_OK ? EMO_OK : emo_error_set(err, s, "out of memory");
        }
        it->kind = INGEST_ITEM_PIXELS;
        it->source = strdup(c->name);
        if (!it->source) {
            free(px);
            return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        }
        it->source_row = row;
        it->label = label;
        it->split = split;
        it->bytes = px;
        it->nbytes = npx;
        return EMO_OK;
    }
}

uint64_t ingest_csv_bytes_read(const IngestCsv *c)
{
    return c->in.bytes_read;
}

uint64_t ingest_csv_size(const IngestCsv *c)
{
    return c->size;
}

void ingest_csv_close(IngestCsv *c)
{
    if (!c) return;
    if (c->own_fp && c->fp) fclose(c->fp);
    ingest_lines_free(&c->in);
    free(c->pending);
    free(c->name);
    free(c);
}

int ingest_csv_is_csv(const char *path)
{
    size_t n = strlen(path);
    if (n >= 4 && strcasecmp(path + n - 4, ".csv") == 0) return 1;
    /* O_NONBLOCK + fstat: a fifo named like an input must not hang us. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return 0;
    struct stat st;
    FILE *fp = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "rb") : NULL;
    if (!fp) {
        close(fd);
        return 0;
    }
    char buf[512];
    int yes = 0;
    if (fgets(buf, sizeof buf, fp)) {
        for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);
        yes = strstr(buf, "pixels") != NULL && strchr(buf, ',') != NULL;
    }
    fclose(fp);
    return yes;
}
