/* ingest_process.c: read, decode, crop/detect, hash one item (see ingest_process.h). */
#include "ingest_process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emo_image.h"
#include "emo_record.h"
#include "ingest_resize.h"

int ingest_is_face_sized(int w, int h, int size)
{
    int lo = w < h ? w : h, hi = w < h ? h : w;
    return hi <= 2 * size && hi * 4 <= lo * 5;
}

static void set_reject(IngestResult *res, IngestReason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_reject(IngestResult *res, IngestReason r, const char *fmt, ...)
{
    char buf[EMO_ERROR_MSG_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    res->reason = r;
    free(res->detail);
    res->detail = strdup(buf);
}

EmoStatus ingest_read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *size, EmoError *err)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return emo_error_set(err, errno == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return emo_error_set(err, EMO_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: not a regular file", path);
    }
    if (max_bytes && (uint64_t)st.st_size > max_bytes) {
        close(fd);
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "%s: %lld bytes, over the %llu-byte limit", path,
                             (long long)st.st_size, (unsigned long long)max_bytes);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    }
    /* Read to EOF rather than trusting st_size: files can change under us. */
    for (;;) {
        if (n == cap) {
            if (max_bytes && n > max_bytes) break;
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return emo_error_set(err, EMO_ERR_IO, "%s: read: %s", path, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (max_bytes && n > max_bytes) {
        free(buf);
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "%s: over the %llu-byte limit", path,
                             (unsigned long long)max_bytes);
    }
    *data = buf;
    *size = n;
    return EMO_OK;
}

static IngestReason reason_of_decode(EmoStatus s)
{
    switch (s) {
    case EMO_ERR_FORMAT: return INGEST_REJ_NOT_IMAGE;
    case EMO_ERR_TOO_LARGE: return INGEST_REJ_TOO_LARGE;
    case EMO_ERR_NOMEM: return INGEST_REJ_ERROR;
    default: return INGEST_REJ_CORRUPT;
    }
}

static int finish_crop(const IngestProcessConfig *cfg, IngestCrop *c, IngestResult *res)
{
    EmoError err;
    c->id = emo_record_hash_pixels(c->pixels, (uint64_t)cfg->size * (uint64_t)cfg->size);
    if (ingest_phash_compute(cfg->phash, c->pixels, cfg->size, cfg->size, cfg->size, &c->phash, &err) != EMO_OK) {
        set_reject(res, INGEST_REJ_ERROR, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* Centre square, resized: the pass-through and --detect never path. */
static void crop_square(const IngestProcessConfig *cfg, const uint8_t *gray, int w, int h, IngestResult *res)
{
    EmoError err;
    IngestCrop *c = calloc(1, sizeof *c);
    uint8_t *px = malloc((size_t)cfg->size * cfg->size);
    if (!c || !px) {
        free(c);
        free(px);
        set_reject(res, INGEST_REJ_ERROR, "out of memory");
        return;
    }
    int x, y, side;
    ingest_center_square(w, h, &x, &y, &side);
    if (ingest_resize_gray(gray + (size_t)y * w + x, side, side, w, px, cfg->size, cfg->size, &err) != EMO_OK) {
        free(c);
        free(px);
        set_reject(res, INGEST_REJ_ERROR, "%s", err.msg);
        return;
    }
    c->pixels = px;
    c->path = INGEST_PATH_PASS;
    c->box[0] = x;
    c->box[1] = y;
    c->box[2] = c->box[3] = side;
    res->crops = c;
    res->ncrops = 1;
    if (finish_crop(cfg, c, res) != 0) {
        free(px);
        free(c);
        res->crops = NULL;
        res->ncrops = 0;
    }
}

static void detect_faces(const IngestProcessConfig *cfg, const char *name, const uint8_t *gray, int w, int h,
                         IngestResult *res)
{
    EmoError err;
    IngestFace *faces = NULL;
    int n = 0;
    if (!cfg->faces) {
        set_reject(res, INGEST_REJ_ERROR, "%s: face detection is not available", name);
        return;
    }
    if (ingest_face_find(cfg->faces, gray, w, h, w, &faces, &n, &err) != EMO_OK) {
        set_reject(res, INGEST_REJ_ERROR, "%s: %s", name, err.msg);
        return;
    }
    if (n == 0) {
        set_reject(res, INGEST_REJ_NO_FACE, "%s: no face found in %dx%d image", name, w, h);
        return;
    }
    IngestCrop *crops = calloc((size_t)n, sizeof *crops);
    if (!crops) {
        ingest_faces_free(faces, n);
        set_reject(res, INGEST_REJ_ERROR, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        IngestCrop *c = &crops[i];
        c->pixels = faces[i].pixels;
        faces[i].pixels = NULL; /* ownership moves to the crop */
        c->path = faces[i].eyes_found ? INGEST_PATH_ALIGNED : INGEST_PATH_BOX;
        c->box[0] = faces[i].x;
        c->box[1] = faces[i].y;
        c->box[2] = faces[i].w;
        c->box[3] = faces[i].h;
        c->eyes_found = faces[i].eyes_found;
        c->eyes[0] = faces[i].left_x;
        c->eyes[1] = faces[i].left_y;
        c->eyes[2] = faces[i].right_x;
        c->eyes[3] = faces[i].right_y;
        c->angle_deg = faces[i].angle_deg;
    }
    ingest_faces_free(faces, n);
    res->crops = crops;
    res->ncrops = n;
    for (int i = 0; i < n; i++)
        if (finish_crop(cfg, &crops[i], res) != 0) {
            for (int k = 0; k < n; k++) free(crops[k].pixels);
            free(crops);
            res->crops = NULL;
            res->ncrops = 0;
            return;
        }
}

static void process_gray(const IngestProcessConfig *cfg, const char *name, const uint8_t *gray, int w, int h,
                         IngestResult *res)
{
    res->img_w = w;
    res->img_h = h;
    if (w < cfg->min_input || h < cfg->min_input) {
        set_reject(res, INGEST_REJ_TOO_SMALL, "%s: %dx%d is smaller than %dx%d", name, w, h, cfg->min_input,
                   cfg->min_input);
        return;
    }
    int pass = cfg->detect == INGEST_DETECT_NEVER ||
               (cfg->detect == INGEST_DETECT_AUTO && ingest_is_face_sized(w, h, cfg->size));
    if (pass) crop_square(cfg, gray, w, h, res);
    else detect_faces(cfg, name, gray, w, h, res);
}

void ingest_process_item(const IngestProcessConfig *cfg, const IngestItem *it, IngestResult *res)
{
    memset(res, 0, sizeof *res);
    EmoError err;
    char name[600];
    if (it->source_row >= 0) snprintf(name, sizeof name, "%s:%lld", it->source, (long long)it->source_row);
    else snprintf(name, sizeof name, "%s", it->source);

    switch (it->kind) {
    case INGEST_ITEM_REJECT:
        res->reason = it->reason;
        res->detail = strdup(it->detail ? it->detail : "");
        return;
    case INGEST_ITEM_PIXELS:
        process_gray(cfg, name, it->bytes, it->width, it->height, res);
        return;
    case INGEST_ITEM_FILE:
    case INGEST_ITEM_BYTES:
        break;
    }
    uint8_t *data = it->bytes;
    size_t size = it->nbytes;
    uint8_t *owned = NULL;
    if (it->kind == INGEST_ITEM_FILE) {
        EmoStatus s = ingest_read_file(it->source, cfg->max_file_bytes, &owned, &size, &err);
        if (s != EMO_OK) {
            IngestReason r = s == EMO_ERR_TOO_LARGE ? INGEST_REJ_TOO_LARGE
                             : s == EMO_ERR_FORMAT  ? INGEST_REJ_NOT_FILE
                             : s == EMO_ERR_NOMEM   ? INGEST_REJ_ERROR
                                                    : INGEST_REJ_UNREADABLE;
            set_reject(res, r, "%s", err.msg);
            return;
        }
        data = owned;
    }
    if (size == 0) {
        set_reject(res, INGEST_REJ_EMPTY, "%s: zero bytes", name);
        free(owned);
        return;
    }
    EmoDecodeOptions dopt = {.want_channels = 1, .max_pixels = cfg->max_pixels};
    EmoImage img = {0};
    EmoStatus s = emo_image_decode(data, size, name, &dopt, &img, &err);
    free(owned);
    if (s != EMO_OK) {
        set_reject(res, reason_of_decode(s), "%s", err.msg);
        return;
    }
    process_gray(cfg, name, img.pixels, img.width, img.height, res);
    emo_image_free(&img);
}

void ingest_result_free(IngestResult *res)
{
    if (!res) return;
    for (int i = 0; i < res->ncrops; i++) free(res->crops[i].pixels);
    free(res->crops);
    free(res->detail);
    memset(res, 0, sizeof *res);
}
