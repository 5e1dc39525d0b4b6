/* emo_fs.c: atomic output files and small file helpers (see emo_fs.h). */
#include "emo_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void emo_atomic_free(EmoAtomicFile *f)
{
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    f->fp = NULL;
}

EmoStatus emo_atomic_open(EmoAtomicFile *f, const char *path, EmoError *err)
{
    memset(f, 0, sizeof *f);
    size_t n = strlen(path) + 32;
    f->path = strdup(path);
    f->tmp_path = malloc(n);
    if (!f->path || !f->tmp_path) {
        emo_atomic_free(f);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(f->tmp_path, n, "%s.tmp-%ld", path, (long)getpid());
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        EmoStatus s = emo_error_set(err, EMO_ERR_IO, "%s: cannot create: %s", f->tmp_path, strerror(errno));
        emo_atomic_free(f);
        return s;
    }
    return EMO_OK;
}

EmoStatus emo_atomic_commit(EmoAtomicFile *f, EmoError *err)
{
    if (!f->fp) return emo_error_set(err, EMO_ERR_ARG, "atomic commit of a closed file");
    int bad = ferror(f->fp) || fflush(f->fp) != 0;
    int saved = errno;
    if (!bad && fsync(fileno(f->fp)) != 0) { bad = 1; saved = errno; }
    if (fclose(f->fp) != 0 && !bad) { bad = 1; saved = errno; }
    f->fp = NULL;
    if (bad) {
        EmoStatus s = emo_error_set(err, EMO_ERR_IO, "%s: write failed: %s", f->path,
                                    saved ? strerror(saved) : "stream error");
        unlink(f->tmp_path);
        emo_atomic_free(f);
        return s;
    }
    if (rename(f->tmp_path, f->path) != 0) {
        EmoStatus s = emo_error_set(err, EMO_ERR_IO, "%s: rename failed: %s", f->path, strerror(errno));
        unlink(f->tmp_path);
        emo_atomic_free(f);
        return s;
    }
    emo_atomic_free(f);
    return EMO_OK;
}

void emo_atomic_abort(EmoAtomicFile *f)
{
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->tmp_path) unlink(f->tmp_path);
    emo_atomic_free(f);
}

EmoStatus emo_write_file_atomic(const char *path, const void *data, size_t size, EmoError *err)
{
    EmoAtomicFile f;
    EMO_RETURN_IF_ERR(emo_atomic_open(&f, path, err));
    if (size && fwrite(data, 1, size, f.fp) != size) {
        EmoStatus s = emo_error_set(err, EMO_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        emo_atomic_abort(&f);
        return s;
    }
    return emo_atomic_commit(&f, err);
}

EmoStatus emo_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size, EmoError *err)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        EmoStatus s = errno == ENOENT ? EMO_ERR_NOT_FOUND : EMO_ERR_IO;
        return emo_error_set(err, s, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return emo_error_set(err, EMO_ERR_IO, "%s: not a regular file", path);
    }
    if (max_bytes && (uint64_t)st.st_size > max_bytes) {
        close(fd);
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "%s: %lld bytes, over the %zu-byte limit",
                             path, (long long)st.st_size, max_bytes);
    }
    size_t cap = (size_t)st.st_size;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            EmoStatus s = emo_error_set(err, EMO_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return s;
        }
        if (r == 0) break; /* shrank under us: return what is there */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *data = buf;
    *size = got;
    return EMO_OK;
}

EmoStatus emo_mkdir_p(const char *path, EmoError *err)
{
    char *p = strdup(path);
    if (!p) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                EmoStatus st = emo_error_set(err, EMO_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return st;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return emo_error_set(err, EMO_ERR_IO, "%s: not a directory", path);
    return EMO_OK;
}

/* rm -r without path length or fd limits: nftw builds full paths (so it
 * fails past PATH_MAX) and recursion with one open fd per level runs out of
 * descriptors on a deep tree. Instead this holds one directory fd at a
 * time, goes down by name with O_NOFOLLOW and back up through "..", checking
 * the parent's device and inode so that a directory swapped meanwhile
 * cannot take the removal outside the tree. Each directory is rescanned
 * after returning from a child, which costs nothing on the trees we make. */
typedef struct {
    char *name;   /* this level's name in its parent */
    dev_t dev;    /* the parent's identity, checked on the way back up */
    ino_t ino;
} RmLevel;

/* Removes the non-directories of `fd` and returns 1 with the name of its
 * first subdirectory in *sub (malloc'd), 0 if it has none, -1 on error. */
static int rm_scan(int fd, char **sub)
{
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0) close(dfd);
        return -1;
    }
    *sub = NULL;
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            rc = -1;
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (!*sub && !(*sub = strdup(e->d_name))) {
                rc = -1;
                break;
            }
        } else if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT) {
            rc = -1;
            break;
        }
        errno = 0;
    }
    if (rc == 0 && errno != 0) rc = -1;  /* readdir failed */
    int e2 = errno;
    closedir(d);
    errno = e2;
    if (rc < 0) {
        free(*sub);
        *sub = NULL;
        return -1;
    }
    return *sub ? 1 : 0;
}

EmoStatus emo_remove_tree(const char *path, EmoError *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) return EMO_OK;
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT)
            return emo_error_set(err, EMO_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
        return EMO_OK;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return emo_error_set(err, EMO_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    RmLevel *stack = NULL;
    size_t depth = 0, cap = 0;
    const char *why = NULL;
    int e = 0;
    for (;;) {
        char *sub;
        int r = rm_scan(fd, &sub);
        if (r < 0) {
            e = errno;
            why = "cannot remove";
            break;
        }
        if (r == 1) { /* go down into sub */
            struct stat here;
            if (depth == cap) {
                size_t nc = cap ? 2 * cap : 64;
                RmLevel *ns = realloc(stack, nc * sizeof *ns);
                if (!ns) {
                    free(sub);
                    e = ENOMEM;
                    why = "cannot remove";
                    break;
                }
                stack = ns;
                cap = nc;
            }
            int cfd = fstat(fd, &here) == 0 ? openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
            if (cfd < 0) {
                e = errno;
                free(sub);
                why = "cannot remove";
                break;
            }
            stack[depth++] = (RmLevel){.name = sub, .dev = here.st_dev, .ino = here.st_ino};
            close(fd);
            fd = cfd;
            continue;
        }
        if (depth == 0) break; /* the top is empty */
        /* back up and remove the emptied child */
        RmLevel *lv = &stack[--depth];
        int pfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat up;
        if (pfd < 0 || fstat(pfd, &up) != 0 || up.st_dev != lv->dev || up.st_ino != lv->ino) {
            e = pfd < 0 ? errno : EBUSY;
            if (pfd >= 0) close(pfd);
            free(lv->name);
            why = "cannot remove (the tree changed while it was being removed)";
            break;
        }
        close(fd);
        fd = pfd;
        int rr = unlinkat(fd, lv->name, AT_REMOVEDIR);
        e = errno;
        free(lv->name);
        if (rr != 0 && e != ENOENT) {
            why = "cannot remove";
            break;
        }
    }
    close(fd);
    while (depth > 0) free(stack[--depth].name);
    free(stack);
    if (!why && rmdir(path) != 0 && errno != ENOENT) {
        e = errno;
        why = "cannot remove";
    }
    if (why) return emo_error_set(err, EMO_ERR_IO, "%s: %s: %s", path, why, strerror(e));
    return EMO_OK;
}

char *emo_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    while (a > 1 && dir[a - 1] == '/') a--;
    char *out = malloc(a + b + 2);
    if (!out) return NULL;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return out;
}
