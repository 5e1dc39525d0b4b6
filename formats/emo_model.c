/* emo_model.c: writer and verifying reader of .emomodel files (see emo_model.h). */
#include "emo_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "emo_fs.h"

/* The config block: 16 + 4*9 + 4*8 + 4 + 32*32 + 3*8 bytes. Fixed size in
 * version 1; header_size is stored anyway so that a later version can grow
 * the header and an older reader can still tell "newer" from "corrupt". */
#define HEADER_V1 (16u + 4u * 3 + 4u * 2 + 4u * 2 + 4u + 4u * EMO_MODEL_MAX_MODULES + 4u + \
                   EMO_MODEL_MAX_CLASSES * EMO_MODEL_CLASS_NAME_MAX + 3u * 8)
#define MAX_FILE_BYTES ((size_t)1 << 32) /* 4 GiB: far above any sane model */

/*-*** Little-endian field packing (explicit, so the file is portable) ***/

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}
static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}
static uint8_t *put_f32(uint8_t *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    return put_u32(p, v);
}
static uint32_t get_u32(const uint8_t **p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)(*p)[i] << (8 * i);
    *p += 4;
    return v;
}
static uint64_t get_u64(const uint8_t **p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)(*p)[i] << (8 * i);
    *p += 8;
    return v;
}
static float get_f32(const uint8_t **p)
{
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static void put_floats(uint8_t *p, const float *f, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) p = put_f32(p, f[i]);
}
static void get_floats(float *f, const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) f[i] = get_f32(&p);
}

/*-*** Config ***/

EmoStatus emo_model_config_check(const EmoModelConfig *c, const char *name, EmoError *err)
{
    if (c->input_c != 1)
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: input channels %u (only 1, gray, is supported)", name, c->input_c);
    if (c->input_h < 8 || c->input_w < 8 || c->input_h > 4096 || c->input_w > 4096)
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: input size %ux%u out of range 8..4096", name, c->input_w, c->input_h);
    if (!isfinite(c->input_mean) || !isfinite(c->input_std) || !(c->input_std > 0))
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: bad input normalization (mean %g, std %g)", name,
                             (double)c->input_mean, (double)c->input_std);
    if (c->n_modules > EMO_MODEL_MAX_MODULES)
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: %u modules (max %d)", name, c->n_modules, EMO_MODEL_MAX_MODULES);
    for (int i = 0; i < 2; i++)
        if (c->stem_width[i] < 1 || c->stem_width[i] > 4096)
            return emo_error_set(err, EMO_ERR_FORMAT, "%s: stem width %u out of range 1..4096", name, c->stem_width[i]);
    for (uint32_t i = 0; i < c->n_modules; i++)
        if (c->module_width[i] < 1 || c->module_width[i] > 4096)
            return emo_error_set(err, EMO_ERR_FORMAT, "%s: module %u width %u out of range 1..4096", name, i,
                                 c->module_width[i]);
    if (c->n_classes < 2 || c->n_classes > EMO_MODEL_MAX_CLASSES)
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: %u classes (need 2..%d)", name, c->n_classes, EMO_MODEL_MAX_CLASSES);
    for (uint32_t i = 0; i < c->n_classes; i++)
        if (memchr(c->class_names[i], 0, EMO_MODEL_CLASS_NAME_MAX) == NULL)
            return emo_error_set(err, EMO_ERR_FORMAT, "%s: class name %u is not NUL-terminated", name, i);
    return EMO_OK;
}

/*-*** Writer ***/

EmoStatus emo_model_write(const char *path, const EmoModel *m, EmoError *err)
{
    EmoError e;
    if (emo_model_config_check(&m->cfg, path, &e) != EMO_OK) return emo_error_set(err, EMO_ERR_ARG, "%s", e.msg);
    if ((m->n_params && !m->params) || (m->n_buffers && !m->buffers) || (m->n_extra && !m->extra))
        return emo_error_set(err, EMO_ERR_ARG, "%s: model arrays missing", path);
    uint64_t total = (uint64_t)HEADER_V1 + 4 * m->n_params + 4 * m->n_buffers + m->n_extra + 8;
    if (total > MAX_FILE_BYTES)
        return emo_error_set(err, EMO_ERR_TOO_LARGE, "%s: model of %llu bytes is too large", path,
                             (unsigned long long)total);
    uint8_t *buf = calloc(1, (size_t)total);
    if (!buf) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", path);
    const EmoModelConfig *c = &m->cfg;
    uint8_t *p = buf;
    memcpy(p, EMO_MODEL_MAGIC, 8);
    p += 8;
    p = put_u32(p, EMO_MODEL_VERSION);
    p = put_u32(p, HEADER_V1);
    p = put_u32(p, c->input_c);
    p = put_u32(p, c->input_h);
    p = put_u32(p, c->input_w);
    p = put_f32(p, c->input_mean);
    p = put_f32(p, c->input_std);
    p = put_u32(p, c->stem_width[0]);
    p = put_u32(p, c->stem_width[1]);
    p = put_u32(p, c->n_modules);
    for (int i = 0; i < EMO_MODEL_MAX_MODULES; i++) p = put_u32(p, i < (int)c->n_modules ? c->module_width[i] : 0);
    p = put_u32(p, c->n_classes);
    for (int i = 0; i < EMO_MODEL_MAX_CLASSES; i++) {
        if (i < (int)c->n_classes) strncpy((char *)p, c->class_names[i], EMO_MODEL_CLASS_NAME_MAX);
        p += EMO_MODEL_CLASS_NAME_MAX; /* calloc'd: unused names stay zero */
    }
    p = put_u64(p, m->n_params);
    p = put_u64(p, m->n_buffers);
    p = put_u64(p, m->n_extra);
    put_floats(p, m->params, m->n_params);
    p += 4 * m->n_params;
    put_floats(p, m->buffers, m->n_buffers);
    p += 4 * m->n_buffers;
    if (m->n_extra) memcpy(p, m->extra, (size_t)m->n_extra);
    p += m->n_extra;
    put_u64(p, XXH64(buf, (size_t)(p - buf), 0));
    EmoStatus s = emo_write_file_atomic(path, buf, (size_t)total, err);
    free(buf);
    return s;
}

/*-*** Reader ***/

EmoStatus emo_model_parse(const uint8_t *data, size_t size, const char *name, EmoModel *m, EmoError *err)
{
    memset(m, 0, sizeof *m);
    if (size < 16 || memcmp(data, EMO_MODEL_MAGIC, 8) != 0)
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: not an emo model file (bad magic)", name);
    const uint8_t *p = data + 8;
    uint32_t version = get_u32(&p);
    uint32_t header_size = get_u32(&p);
    if (version > EMO_MODEL_VERSION)
        return emo_error_set(err, EMO_ERR_VERSION,
                             "%s: model format version %u is newer than this program reads (%u): upgrade emo",
                             name, version, EMO_MODEL_VERSION);
    if (version == 0 || header_size != HEADER_V1)
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: bad header (version %u, header size %u)", name, version,
                             header_size);
    if (size < (size_t)header_size + 8)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated (%zu bytes, header alone needs %u)", name, size,
                             header_size + 8);
    EmoModelConfig *c = &m->cfg;
    c->input_c = get_u32(&p);
    c->input_h = get_u32(&p);
    c->input_w = get_u32(&p);
    c->input_mean = get_f32(&p);
    c->input_std = get_f32(&p);
    c->stem_width[0] = get_u32(&p);
    c->stem_width[1] = get_u32(&p);
    c->n_modules = get_u32(&p);
    for (int i = 0; i < EMO_MODEL_MAX_MODULES; i++) c->module_width[i] = get_u32(&p);
    c->n_classes = get_u32(&p);
    for (int i = 0; i < EMO_MODEL_MAX_CLASSES; i++) {
        memcpy(c->class_names[i], p, EMO_MODEL_CLASS_NAME_MAX);
        p += EMO_MODEL_CLASS_NAME_MAX;
    }
    uint64_t np = get_u64(&p), nb = get_u64(&p), ne = get_u64(&p);
    /* Size check before the checksum so a truncated file says "truncated". */
    if (np > MAX_FILE_BYTES || nb > MAX_FILE_BYTES || ne > MAX_FILE_BYTES)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: corrupt header (array sizes out of range)", name);
    uint64_t want = (uint64_t)header_size + 4 * np + 4 * nb + ne + 8;
    if ((uint64_t)size < want)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: truncated (%zu bytes, expected %llu)", name, size,
                             (unsigned long long)want);
    if ((uint64_t)size > want)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: %llu unexpected trailing bytes", name,
                             (unsigned long long)((uint64_t)size - want));
    const uint8_t *sum_at = data + size - 8;
    uint64_t stored = get_u64(&sum_at);
    if (XXH64(data, size - 8, 0) != stored)
        return emo_error_set(err, EMO_ERR_CORRUPT, "%s: checksum mismatch (file is damaged)", name);
    EMO_RETURN_IF_ERR(emo_model_config_check(c, name, err));
    m->params = malloc((size_t)(np ? np : 1) * sizeof(float));
    m->buffers = malloc((size_t)(nb ? nb : 1) * sizeof(float));
    m->extra = ne ? malloc((size_t)ne) : NULL;
    if (!m->params || !m->buffers || (ne && !m->extra)) {
        emo_model_free(m);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
    }
    m->n_params = np;
    m->n_buffers = nb;
    m->n_extra = ne;
    get_floats(m->params, p, np);
    p += 4 * np;
    get_floats(m->buffers, p, nb);
    p += 4 * nb;
    if (ne) memcpy(m->extra, p, (size_t)ne);
    return EMO_OK;
}

EmoStatus emo_model_read(const char *path, EmoModel *m, EmoError *err)
{
    memset(m, 0, sizeof *m);
    uint8_t *data;
    size_t size;
    EMO_RETURN_IF_ERR(emo_read_file(path, MAX_FILE_BYTES, &data, &size, err));
    EmoStatus s = emo_model_parse(data, size, path, m, err);
    free(data);
    return s;
}

void emo_model_free(EmoModel *m)
{
    free(m->params);
    free(m->buffers);
    free(m->extra);
    m->params = m->buffers = NULL;
    m->extra = NULL;
    m->n_params = m->n_buffers = m->n_extra = 0;
}
