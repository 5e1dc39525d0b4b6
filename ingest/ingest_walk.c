/* ingest_walk.c: sorted depth-first folder walk with loop detection. */
#include "ingest_walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emo_fs.h"
#include "emo_record.h"

typedef struct {
    char *path;
    char **names;      /* sorted entries */
    size_t n, next;
    int label;
    int split;
    dev_t dev;
    ino_t ino;
} WalkFrame;

struct IngestWalk {
    IngestWalkOptions opt;
    WalkFrame *stack;
    int depth, cap;
    IngestWalkStats stats;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void frame_free(WalkFrame *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->names[i]);
    free(f->names);
    free(f->path);
    memset(f, 0, sizeof *f);
}

/* Reads and sorts a directory's entry names (hidden ones dropped and
 * counted). Returns errno on failure, 0 on success. */
static int read_dir_sorted(IngestWalk *w, const char *path, char ***names_out, size_t *n_out)
{
    DIR *d = opendir(path);
    if (!d) return errno ? errno : EIO;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) w->stats.hidden++;
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) { rc = ENOMEM; break; }
            names = nn;
            cap = nc;
        }
        if (!(names[n] = strdup(e->d_name))) { rc = ENOMEM; break; }
        n++;
        errno = 0;
    }
    if (!rc && errno) rc = errno;
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        return rc;
    }
    qsort(names, n, sizeof *names, cmp_names);
    *names_out = names;
    *n_out = n;
    return 0;
}

static void note_unknown_dir(IngestWalk *w, const char *name)
{
    int cap = (int)(sizeof w->stats.unknown_dirs / sizeof w->stats.unknown_dirs[0]);
    for (int i = 0; i < w->stats.n_unknown_dirs; i++)
        if (strcmp(w->stats.unknown_dirs[i], name) == 0) return;
    if (w->stats.n_unknown_dirs < cap) {
        char *s = strdup(name);
        if (s) w->stats.unknown_dirs[w->stats.n_unknown_dirs++] = s;
    }
}

/* Label and split for a directory called `name` below a parent with
 * (label, split). Returns 0, or 1 if the directory maps to "skip". */
static int apply_dir_name(IngestWalk *w, const char *name, int *label, int *split, int note_unknown)
{
    int sp = ingest_split_from_name(name);
    if (sp != INGEST_SPLIT_NONE) {
        *split = sp;
        return 0;
    }
    int l = ingest_labels_resolve(w->opt.labels, name);
    if (l == INGEST_LABEL_SKIP) return 1;
    if (l == INGEST_LABEL_UNKNOWN) {
        if (note_unknown) note_unknown_dir(w, name);
        return 0;
    }
    *label = l; /* a class, or explicitly unlabeled via the map */
    return 0;
}

static EmoStatus push_frame(IngestWalk *w, char *path, char **names, size_t n, int label, int split,
                            const struct stat *st, EmoError *err)
{
    if (w->depth == w->cap) {
        int nc = w->cap ? w->cap * 2 : 16;
        WalkFrame *ns = realloc(w->stack, (size_t)nc * sizeof *ns);
        if (!ns) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
        w->stack = ns;
        w->cap = nc;
    }
    WalkFrame *f = &w->stack[w->depth++];
    f->path = path;
    f->names = names;
    f->n = n;
    f->next = 0;
    f->label = label;
    f->split = split;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    return EMO_OK;
}

/* Last component of an absolute path without trailing slashes (realpath's). */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

EmoStatus ingest_walk_open(IngestWalk **out, const char *root, const IngestWalkOptions *opt, EmoError *err)
{
    *out = NULL;
    struct stat st;
    if (stat(root, &st) != 0)
        return emo_error_set(err, errno == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO, "%s: %s", root,
                             strerror(errno));
    if (!S_ISDIR(st.st_mode)) return emo_error_set(err, EMO_ERR_ARG, "%s: not a directory", root);
    IngestWalk *w = calloc(1, sizeof *w);
    if (!w) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", root);
    if (opt) w->opt = *opt;
    if (w->opt.max_depth <= 0) w->opt.max_depth = 64;

    /* The root's own name labels too ("fer2013/train/happy"); trailing
     * slashes and "." are looked through via realpath. */
    int label = EMO_LABEL_NONE, split = INGEST_SPLIT_NONE;
    char *real = realpath(root, NULL);
    if (real) {
        if (apply_dir_name(w, base_name(real), &label, &split, 0)) {
            free(real);
            free(w);
            return emo_error_set(err, EMO_ERR_ARG, "%s: its name is mapped to 'skip' by --labels", root);
        }
        free(real);
    }
    char **names;
    size_t n;
    int rc = read_dir_sorted(w, root, &names, &n);
    if (rc) {
        free(w);
        return emo_error_set(err, EMO_ERR_IO, "%s: %s", root, strerror(rc));
    }
    char *path = strdup(root);
    /* drop trailing slashes so joined paths read "a/b", not "a//b" */
    if (path) {
        size_t len = strlen(path);
        while (len > 1 && path[len - 1] == '/') path[--len] = 0;
    }
    if (!path || push_frame(w, path, names, n, label, split, &st, err) != EMO_OK) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        free(path);
        free(w);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", root);
    }
    *out = w;
    return EMO_OK;
}

EmoStatus ingest_walk_next(IngestWalk *w, IngestItem *it, EmoError *err)
{
    memset(it, 0, sizeof *it);
    while (w->depth > 0) {
        WalkFrame *f = &w->stack[w->depth - 1];
        if (f->next == f->n) {
            frame_free(f);
            w->depth--;
            continue;
        }
        const char *name = f->names[f->next++];
        char *path = emo_path_join(f->path, name);
        if (!path) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", f->path);
        int label = f->label, split = f->split;

        struct stat st;
        if (stat(path, &st) != 0) {
            int e = errno;
            struct stat lst;
            IngestReason r = INGEST_REJ_UNREADABLE;
            const char *what = strerror(e);
            if (e == ELOOP) r = INGEST_REJ_SYMLINK_LOOP;
            else if (e == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) what = "dangling symlink";
            EmoStatus s = ingest_item_reject(it, path, -1, r, "%s: %s", path, what);
            free(path);
            if (s != EMO_OK) return emo_error_set(err, s, "out of memory");
            w->stats.rejects++;
            return EMO_OK;
        }
        if (S_ISDIR(st.st_mode)) {
            /* A directory already on the current path means a link points
             * back up: following it would never end. */
            for (int i = 0; i < w->depth; i++) {
                if (w->stack[i].dev == st.st_dev && w->stack[i].ino == st.st_ino) {
                    EmoStatus s = ingest_item_reject(it, path, -1, INGEST_REJ_SYMLINK_LOOP,
                                                     "%s: leads back to %s", path, w->stack[i].path);
                    free(path);
                    if (s != EMO_OK) return emo_error_set(err, s, "out of memory");
                    w->stats.rejects++;
                    return EMO_OK;
                }
            }
            if (w->depth >= w->opt.max_depth) {
                EmoStatus s = ingest_item_reject(it, path, -1, INGEST_REJ_TOO_DEEP,
                                                 "%s: more than %d directories deep", path, w->opt.max_depth);
                free(path);
                if (s != EMO_OK) return emo_error_set(err, s, "out of memory");
                w->stats.rejects++;
                return EMO_OK;
            }
            if (apply_dir_name(w, name, &label, &split, 1)) {
                EmoStatus s = ingest_item_reject(it, path, -1, INGEST_REJ_EXCLUDED,
                                                 "%s: directory mapped to 'skip' by --labels", path);
                free(path);
                if (s != EMO_OK) return emo_error_set(err, s, "out of memory");
                w->stats.rejects++;
                return EMO_OK;
            }
            char **names;
            size_t n;
            int rc = read_dir_sorted(w, path, &names, &n);
            if (rc == ENOMEM) {
                free(path);
                return emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
            }
            if (rc) {
                EmoStatus s = ingest_item_reject(it, path, -1, INGEST_REJ_UNREADABLE, "%s: %s", path,
                                                 strerror(rc));
                free(path);
                if (s != EMO_OK) return emo_error_set(err, s, "out of memory");
                w->stats.rejects++;
                return EMO_OK;
            }
            EmoStatus s = push_frame(w, path, names, n, label, split, &st, err);
            if (s != EMO_OK) {
                for (size_t i = 0; i < n; i++) free(names[i]);
                free(names);
                free(path);
                return s;
            }
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            EmoStatus s = ingest_item_reject(it, path, -1, INGEST_REJ_NOT_FILE,
                                             "%s: not a regular file (fifo, socket or device)", path);
            free(path);
            if (s != EMO_OK) return emo_error_set(err, s, "out of memory");
            w->stats.rejects++;
            return EMO_OK;
        }
        if (st.st_size == 0) {
            EmoStatus s = ingest_item_reject(it, path, -1, INGEST_REJ_EMPTY, "%s: zero bytes", path);
            free(path);
            if (s != EMO_OK) return emo_error_set(err, s, "out of memory");
            it->label = label;
            it->split = split;
            w->stats.rejects++;
            return EMO_OK;
        }
        it->kind = INGEST_ITEM_FILE;
        it->source = path;
        it->source_row = -1;
        it->label = label;
        it->split = split;
        w->stats.files++;
        return EMO_OK;
    }
    return EMO_ERR_EOF;
}

const IngestWalkStats *ingest_walk_stats(const IngestWalk *w)
{
    return &w->stats;
}

void ingest_walk_close(IngestWalk *w)
{
    if (!w) return;
    while (w->depth > 0) frame_free(&w->stack[--w->depth]);
    free(w->stack);
    for (int i = 0; i < w->stats.n_unknown_dirs; i++) free(w->stats.unknown_dirs[i]);
    free(w);
}

static uint64_t count_rec(const char *path, int depth, int max_depth)
{
    if (depth > max_depth) return 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (e->d_type == DT_DIR) {
            char *sub = emo_path_join(path, e->d_name);
            if (sub) n += count_rec(sub, depth + 1, max_depth);
            free(sub);
        } else {
            n++;
        }
    }
    closedir(d);
    return n;
}

uint64_t ingest_walk_count(const char *root, int max_depth)
{
    return count_rec(root, 0, max_depth > 0 ? max_depth : 64);
}
