/* emo_error.h: status codes shared by every emo library.
 *
 * Library functions never exit or print: they return an EmoStatus and, where
 * the caller passes one, fill an EmoError with a one-line message that names
 * the file and the reason ("shard-00003.emo: block 7: checksum mismatch").
 * Only programs (the mains under cli/) print and choose exit codes. */
#ifndef EMO_ERROR_H
#define EMO_ERROR_H

#include <stdarg.h>

typedef enum {
    EMO_OK = 0,
    EMO_ERR_IO,          /* open/read/write/rename failed (errno text in msg) */
    EMO_ERR_NOMEM,       /* allocation failed */
    EMO_ERR_FORMAT,      /* input is not what it claims: bad magic, malformed */
    EMO_ERR_CORRUPT,     /* right format, damaged content: checksum, truncation */
    EMO_ERR_VERSION,     /* written by a newer format version */
    EMO_ERR_TOO_LARGE,   /* over a configured limit (pixels, bytes) */
    EMO_ERR_ARG,         /* caller passed an invalid argument */
    EMO_ERR_UNSUPPORTED, /* valid input this code does not handle */
    EMO_ERR_NOT_FOUND,   /* a named thing does not exist */
    EMO_ERR_EOF,         /* end of stream (not a failure for readers) */
    EMO_ERR_NETWORK,     /* HTTP/transport failure */
    EMO_ERR__COUNT
} EmoStatus;

#define EMO_ERROR_MSG_MAX 512

/* A caller-owned error record. Functions taking `EmoError *err` accept NULL. */
typedef struct {
    EmoStatus status;
    char msg[EMO_ERROR_MSG_MAX];
} EmoError;

/* Stable short name of a status ("io", "corrupt", ...). Never NULL. */
const char *emo_status_name(EmoStatus s);

/* Sets err (if non-NULL) to status s with a printf-style message; returns s,
 * so that error paths read `return emo_error_set(err, EMO_ERR_IO, "%s: %s", path, strerror(errno));` */
EmoStatus emo_error_set(EmoError *err, EmoStatus s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to EMO_OK with an empty message. */
void emo_error_clear(EmoError *err);

/* Early-return helpers in the style of zstd's RETURN_ERROR_IF. */
#define EMO_RETURN_IF_ERR(expr)                 \
    do {                                        \
        EmoStatus emo_s_ = (expr);              \
        if (emo_s_ != EMO_OK) return emo_s_;    \
    } while (0)

#endif /* EMO_ERROR_H */
