/* ingest_types.c: names of splits and reject reasons; item helpers. */
#include "ingest_types.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emo_record.h"

const char *ingest_reason_name(IngestReason r)
{
    static const char *const names[INGEST_REJ__COUNT] = {
        [INGEST_OK] = "ok",
        [INGEST_REJ_UNREADABLE] = "unreadable",
        [INGEST_REJ_EMPTY] = "empty file",
        [INGEST_REJ_NOT_FILE] = "not a regular file",
        [INGEST_REJ_SYMLINK_LOOP] = "symlink loop",
        [INGEST_REJ_TOO_DEEP] = "too deep",
        [INGEST_REJ_NOT_IMAGE] = "not an image",
        [INGEST_REJ_CORRUPT] = "corrupt image",
        [INGEST_REJ_TOO_LARGE] = "too large",
        [INGEST_REJ_TOO_SMALL] = "too small",
        [INGEST_REJ_NO_FACE] = "no face",
        [INGEST_REJ_DUPLICATE] = "duplicate",
        [INGEST_REJ_NEAR_DUPLICATE] = "near duplicate",
        [INGEST_REJ_BAD_CSV_ROW] = "bad CSV row",
        [INGEST_REJ_BAD_LINE] = "bad URL line",
        [INGEST_REJ_UNKNOWN_LABEL] = "unknown label",
        [INGEST_REJ_EXCLUDED] = "excluded label",
        [INGEST_REJ_HTTP] = "HTTP error",
        [INGEST_REJ_NETWORK] = "network error",
        [INGEST_REJ_TIMEOUT] = "timeout",
        [INGEST_REJ_ROBOTS] = "robots.txt",
        [INGEST_REJ_OFF_HOST] = "other host",
        [INGEST_REJ_ERROR] = "error",
    };
    if ((int)r < 0 || r >= INGEST_REJ__COUNT || !names[r]) return "?";
    return names[r];
}

const char *ingest_split_name(int split)
{
    switch (split) {
    case INGEST_SPLIT_TRAIN: return "train";
    case INGEST_SPLIT_VAL: return "val";
    case INGEST_SPLIT_TEST: return "test";
    default: return "none";
    }
}

int ingest_split_from_name(const char *name)
{
    /* The names real releases use: FER2013's Usage column (Training,
     * PublicTest, PrivateTest) and the usual folder names. */
    static const struct { const char *name; int split; } map[] = {
        {"train", INGEST_SPLIT_TRAIN},     {"training", INGEST_SPLIT_TRAIN},
        {"val", INGEST_SPLIT_VAL},         {"valid", INGEST_SPLIT_VAL},
        {"validation", INGEST_SPLIT_VAL},  {"publictest", INGEST_SPLIT_VAL},
        {"dev", INGEST_SPLIT_VAL},
        {"test", INGEST_SPLIT_TEST},       {"testing", INGEST_SPLIT_TEST},
        {"privatetest", INGEST_SPLIT_TEST},
    };
    if (!name) return INGEST_SPLIT_NONE;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(name, map[i].name) == 0) return map[i].split;
    return INGEST_SPLIT_NONE;
}

void ingest_item_free(IngestItem *it)
{
    if (!it) return;
    free(it->source);
    free(it->bytes);
    free(it->detail);
    memset(it, 0, sizeof *it);
}

EmoStatus ingest_item_reject(IngestItem *it, const char *source, int64_t row, IngestReason r,
                             const char *fmt, ...)
{
    memset(it, 0, sizeof *it);
    it->kind = INGEST_ITEM_REJECT;
    it->source_row = row;
    it->label = EMO_LABEL_NONE;
    it->split = INGEST_SPLIT_NONE;
    it->reason = r;
    it->source = strdup(source ? source : "");
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    it->detail = strdup(buf);
    if (!it->source || !it->detail) {
        ingest_item_free(it);
        return EMO_ERR_NOMEM;
    }
    return EMO_OK;
}
