/* ingest_labels.c: the --labels map and label-name resolution. */
#include "ingest_labels.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emo_fs.h"
#include "emo_record.h"

typedef struct {
    char *name;
    int label;
} LabelEntry;

struct IngestLabelMap {
    LabelEntry *entries;
    int count;
};

/* Label files are tiny; 1 MB is far beyond any real one and keeps a
 * mistaken argument (a dataset passed as --labels) from being slurped. */
#define LABELS_MAX_BYTES (1u << 20)

static int is_sep(char c)
{
    return c == '\t' || c == ' ' || c == '=' || c == ':' || c == ',';
}

static int label_of_class_word(const char *w)
{
    if (strcasecmp(w, "unlabeled") == 0 || strcasecmp(w, "unlabelled") == 0 ||
        strcasecmp(w, "none") == 0)
        return INGEST_LABEL_UNLABELED;
    if (strcasecmp(w, "skip") == 0 || strcasecmp(w, "ignore") == 0) return INGEST_LABEL_SKIP;
    int l = emo_class_from_name(w);
    return l == EMO_LABEL_NONE ? INGEST_LABEL_UNKNOWN : l;
}

static EmoStatus add_entry(IngestLabelMap *m, const char *name, size_t len, int label)
{
    LabelEntry *e = realloc(m->entries, (size_t)(m->count + 1) * sizeof *e);
    if (!e) return EMO_ERR_NOMEM;
    m->entries = e;
    char *s = strndup(name, len);
    if (!s) return EMO_ERR_NOMEM;
    e[m->count].name = s;
    e[m->count].label = label;
    m->count++;
    return EMO_OK;
}

EmoStatus ingest_labels_parse(const char *text, const char *name, IngestLabelMap **out, EmoError *err)
{
    *out = NULL;
    IngestLabelMap *m = calloc(1, sizeof *m);
    if (!m) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
    int lineno = 0;
    const char *p = text;
    while (*p) {
        lineno++;
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        if (n >= sizeof line) {
            ingest_labels_free(m);
            return emo_error_set(err, EMO_ERR_FORMAT, "%s: line %d: too long", name, lineno);
        }
        memcpy(line, p, n);
        line[n] = 0;
        p = eol ? eol + 1 : p + n;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        /* trim both ends (also a CR from CRLF files) */
        size_t len = strlen(line);
        while (len && (isspace((unsigned char)line[len - 1]) || line[len - 1] == ',')) line[--len] = 0;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s) continue;
        /* CLASS is the last word; NAME everything before the separator run. */
        char *end = s + strlen(s);
        char *cls = end;
        while (cls > s && !is_sep(cls[-1])) cls--;
        char *name_end = cls;
        while (name_end > s && is_sep(name_end[-1])) name_end--;
        if (cls == s || name_end == s) {
            ingest_labels_free(m);
            return emo_error_set(err, EMO_ERR_FORMAT, "%s: line %d: expected 'NAME CLASS'", name, lineno);
        }
        int label = label_of_class_word(cls);
        if (label == INGEST_LABEL_UNKNOWN) {
            ingest_labels_free(m);
            return emo_error_set(err, EMO_ERR_FORMAT,
                                 "%s: line %d: '%s' is not a class (angry disgust fear happy neutral sad "
                                 "surprise, unlabeled, skip)", name, lineno, cls);
        }
        if (add_entry(m, s, (size_t)(name_end - s), label) != EMO_OK) {
            ingest_labels_free(m);
            return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
        }
    }
    *out = m;
    return EMO_OK;
}

EmoStatus ingest_labels_load(const char *path, IngestLabelMap **map, EmoError *err)
{
    uint8_t *data;
    size_t size;
    EMO_RETURN_IF_ERR(emo_read_file(path, LABELS_MAX_BYTES, &data, &size, err));
    if (memchr(data, 0, size)) {
        free(data);
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: binary data in a label map", path);
    }
    EmoStatus s = ingest_labels_parse((const char *)data, path, map, err);
    free(data);
    return s;
}

void ingest_labels_free(IngestLabelMap *m)
{
    if (!m) return;
    for (int i = 0; i < m->count; i++) free(m->entries[i].name);
    free(m->entries);
    free(m);
}

int ingest_labels_count(const IngestLabelMap *m)
{
    return m ? m->count : 0;
}

int ingest_labels_resolve(const IngestLabelMap *m, const char *name)
{
    if (!name || !*name) return INGEST_LABEL_UNKNOWN;
    if (m)
        for (int i = 0; i < m->count; i++)
            if (strcasecmp(m->entries[i].name, name) == 0) return m->entries[i].label;
    /* Only real class names here: a folder called "skip" or "none" is not a
     * directive, those words mean something only inside a map file. */
    int l = emo_class_from_name(name);
    return l == EMO_LABEL_NONE ? INGEST_LABEL_UNKNOWN : l;
}
