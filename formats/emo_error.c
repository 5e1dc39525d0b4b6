/* emo_error.c: status names and error records (see emo_error.h). */
#include "emo_error.h"

#include <stdio.h>
#include <string.h>

static const char *const emo_status_names[EMO_ERR__COUNT] = {
    [EMO_OK] = "ok",
    [EMO_ERR_IO] = "io",
    [EMO_ERR_NOMEM] = "nomem",
    [EMO_ERR_FORMAT] = "format",
    [EMO_ERR_CORRUPT] = "corrupt",
    [EMO_ERR_VERSION] = "version",
    [EMO_ERR_TOO_LARGE] = "too-large",
    [EMO_ERR_ARG] = "arg",
    [EMO_ERR_UNSUPPORTED] = "unsupported",
    [EMO_ERR_NOT_FOUND] = "not-found",
    [EMO_ERR_EOF] = "eof",
    [EMO_ERR_NETWORK] = "network",
};

const char *emo_status_name(EmoStatus s)
{
    if ((unsigned)s >= EMO_ERR__COUNT) return "unknown";
    return emo_status_names[s];
}

EmoStatus emo_error_set(EmoError *err, EmoStatus s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = s;
    }
    return s;
}

void emo_error_clear(EmoError *err)
{
    if (!err) return;
    err->status = EMO_OK;
    err->msg[0] = '\0';
}
