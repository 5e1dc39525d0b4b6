/* emo_manifest.c: manifest.json of a dataset, read and written with jansson
 * (the manifest half of emo_dataset.h; the schema is in SHARDS.md). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "emo_dataset.h"
#include "emo_fs.h"

/* Manifests bigger than this are not ours (a shard entry is ~100 bytes). */
#define EMO_MANIFEST_MAX_BYTES (64u * 1024u * 1024u)

void emo_manifest_free(EmoManifest *m)
{
    if (!m) return;
    for (int i = 0; i < m->num_shards; i++) free(m->shards[i].name);
    free(m->shards);
    for (int i = 0; i < EMO_NUM_CLASSES; i++) free(m->class_names[i]);
    free(m->produced_by);
    memset(m, 0, sizeof *m);
}

/* A shard name must stay inside the dataset directory. */
static int emo_shard_name_ok(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int emo_json_u64(json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static EmoStatus emo_manifest_parse(json_t *root, const char *path, EmoManifest *m, EmoError *err)
{
#define EMO_BAD(what) emo_error_set(err, EMO_ERR_FORMAT, "%s: %s", path, what)
    if (!json_is_object(root)) return EMO_BAD("not a JSON object");
    json_t *v = json_object_get(root, "format_version");
    if (!json_is_integer(v)) return EMO_BAD("missing \"format_version\"");
    m->format_version = (int)json_integer_value(v);
    if (m->format_version > EMO_DATASET_FORMAT_VERSION)
        return emo_error_set(err, EMO_ERR_VERSION,
                             "%s: dataset format version %d is newer than this program reads (%d); upgrade emo",
                             path, m->format_version, EMO_DATASET_FORMAT_VERSION);
    if (m->format_version < 1) return EMO_BAD("bad \"format_version\"");

    json_t *shards = json_object_get(root, "shards");
    if (!json_is_array(shards)) return EMO_BAD("missing \"shards\" array");
    size_t ns = json_array_size(shards);
    if (ns > 1000000) return EMO_BAD("too many shards");
    m->shards = calloc(ns ? ns : 1, sizeof *m->shards);
    if (!m->shards) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < ns; i++) {
        json_t *s = json_array_get(shards, i);
        EmoShardInfo *si = &m->shards[i];
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *hex = json_string_value(json_object_get(s, "xxh64"));
        char *endp = NULL;
        if (!name || !emo_shard_name_ok(name) || !emo_json_u64(s, "records", &si->records) ||
            !emo_json_u64(s, "bytes", &si->bytes) || !hex || strlen(hex) != 16)
            return emo_error_set(err, EMO_ERR_FORMAT, "%s: shard entry %zu is malformed", path, i);
        errno = 0;
        si->xxh64 = strtoull(hex, &endp, 16);
        if (errno || *endp) return emo_error_set(err, EMO_ERR_FORMAT, "%s: shard entry %zu: bad xxh64", path, i);
        if (!(si->name = strdup(name))) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
        m->num_shards = (int)i + 1;
    }
    if (!emo_json_u64(root, "num_records", &m->num_records)) return EMO_BAD("missing \"num_records\"");
    if (!emo_json_u64(root, "unlabeled", &m->unlabeled)) return EMO_BAD("missing \"unlabeled\"");
    if (!emo_json_u64(root, "augmented", &m->augmented)) return EMO_BAD("missing \"augmented\"");
    if (!emo_json_u64(root, "raw_pixel_bytes", &m->raw_pixel_bytes)) return EMO_BAD("missing \"raw_pixel_bytes\"");

    json_t *names = json_object_get(root, "class_names");
    json_t *counts = json_object_get(root, "class_counts");
    if (!json_is_array(names) || json_array_size(names) != EMO_NUM_CLASSES || !json_is_object(counts))
        return EMO_BAD("\"class_names\" must list the 7 classes and \"class_counts\" be an object");
    for (int i = 0; i < EMO_NUM_CLASSES; i++) {
        const char *n = json_string_value(json_array_get(names, (size_t)i));
        if (!n) return EMO_BAD("\"class_names\" must be strings");
        if (!(m->class_names[i] = strdup(n))) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
        if (!emo_json_u64(counts, n, &m->class_counts[i]))
            return emo_error_set(err, EMO_ERR_FORMAT, "%s: \"class_counts\" lacks \"%s\"", path, n);
    }
    json_t *img = json_object_get(root, "image");
    uint64_t w, h, c;
    if (!json_is_object(img) || !emo_json_u64(img, "width", &w) || !emo_json_u64(img, "height", &h) ||
        !emo_json_u64(img, "channels", &c) || w > 65535 || h > 65535 || c > 4)
        return EMO_BAD("missing or bad \"image\" {width, height, channels}");
    m->width = (int)w;
    m->height = (int)h;
    m->channels = (int)c;
    json_t *pb = json_object_get(root, "produced_by");
    if (pb && !json_is_null(pb)) {
        m->produced_by = json_dumps(pb, JSON_COMPACT | JSON_SORT_KEYS);
        if (!m->produced_by) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    }
    /* Internal consistency; agreement with the shards is the reader's job. */
    uint64_t sum = 0, labeled = 0;
    for (int i = 0; i < m->num_shards; i++) sum += m->shards[i].records;
    for (int i = 0; i < EMO_NUM_CLASSES; i++) labeled += m->class_counts[i];
    if (sum != m->num_records)
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: shards hold %" PRIu64 " records but \"num_records\" is %" PRIu64,
                             path, sum, m->num_records);
    if (labeled + m->unlabeled != m->num_records)
        return EMO_BAD("class counts plus unlabeled do not add up to \"num_records\"");
    return EMO_OK;
#undef EMO_BAD
}

EmoStatus emo_manifest_load(const char *dir, EmoManifest *m, EmoError *err)
{
    memset(m, 0, sizeof *m);
    char *path = emo_path_join(dir, EMO_MANIFEST_NAME);
    if (!path) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", dir);
    uint8_t *data;
    size_t size;
    EmoStatus s = emo_read_file(path, EMO_MANIFEST_MAX_BYTES, &data, &size, err);
    if (s == EMO_ERR_NOT_FOUND) {
        s = emo_error_set(err, EMO_ERR_NOT_FOUND, "%s: missing: %s is not a dataset", path, dir);
    } else if (s == EMO_OK) {
        json_error_t je;
        json_t *root = json_loadb((const char *)data, size, 0, &je);
        free(data);
        if (!root) {
            s = emo_error_set(err, EMO_ERR_FORMAT, "%s: line %d: %s", path, je.line, je.text);
        } else {
            s = emo_manifest_parse(root, path, m, err);
            json_decref(root);
        }
    }
    free(path);
    if (s != EMO_OK) emo_manifest_free(m);
    return s;
}

static json_t *emo_manifest_to_json(const EmoManifest *m, EmoError *err)
{
    json_t *root = json_object(), *shards = json_array(), *names = json_array(), *counts = json_object();
    json_t *img = json_object();
    json_t *pb = NULL;
    if (m->produced_by) {
        json_error_t je;
        pb = json_loads(m->produced_by, 0, &je);
        if (!json_is_object(pb)) {
            json_decref(pb);
            json_decref(root); json_decref(shards); json_decref(names); json_decref(counts); json_decref(img);
            emo_error_set(err, EMO_ERR_ARG, "produced_by is not a JSON object: %s", je.text);
            return NULL;
        }
    }
    for (int i = 0; i < m->num_shards; i++) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016" PRIx64, m->shards[i].xxh64);
        json_array_append_new(shards, json_pack("{s:s, s:I, s:I, s:s}", "name", m->shards[i].name, "records",
                                                (json_int_t)m->shards[i].records, "bytes",
                                                (json_int_t)m->shards[i].bytes, "xxh64", hex));
    }
    for (int i = 0; i < EMO_NUM_CLASSES; i++) {
        json_array_append_new(names, json_string(m->class_names[i]));
        json_object_set_new(counts, m->class_names[i], json_integer((json_int_t)m->class_counts[i]));
    }
    json_object_set_new(img, "width", json_integer(m->width));
    json_object_set_new(img, "height", json_integer(m->height));
    json_object_set_new(img, "channels", json_integer(m->channels));
    json_object_set_new(root, "format", json_string("emo-dataset"));
    json_object_set_new(root, "format_version", json_integer(m->format_version));
    json_object_set_new(root, "num_records", json_integer((json_int_t)m->num_records));
    json_object_set_new(root, "class_names", names);
    json_object_set_new(root, "class_counts", counts);
    json_object_set_new(root, "unlabeled", json_integer((json_int_t)m->unlabeled));
    json_object_set_new(root, "augmented", json_integer((json_int_t)m->augmented));
    json_object_set_new(root, "image", img);
    json_object_set_new(root, "raw_pixel_bytes", json_integer((json_int_t)m->raw_pixel_bytes));
    json_object_set_new(root, "shards", shards);
    json_object_set_new(root, "produced_by", pb ? pb : json_null());
    return root;
}

EmoStatus emo_manifest_save(const char *dir, const EmoManifest *m, EmoError *err)
{
    for (int i = 0; i < EMO_NUM_CLASSES; i++)
        if (!m->class_names[i]) return emo_error_set(err, EMO_ERR_ARG, "manifest: class name %d missing", i);
    json_t *root = emo_manifest_to_json(m, err);
    if (!root) return err ? err->status : EMO_ERR_ARG;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    char *path = emo_path_join(dir, EMO_MANIFEST_NAME);
    EmoStatus s;
    if (!text || !path) {
        s = emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", dir);
    } else {
        size_t n = strlen(text);
        text[n] = '\n'; /* json_dumps leaves room for its NUL only; replace it */
        s = emo_write_file_atomic(path, text, n + 1, err);
    }
    free(text);
    free(path);
    return s;
}
