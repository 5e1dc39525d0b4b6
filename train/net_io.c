/* net_io.c: saving and loading a NetModel through the model file format (formats/emo_model.h). */
#include <stdlib.h>
#include <string.h>

#include "emo_model.h"
#include "net_model.h"

EmoStatus net_save(const NetModel *m, const char *path, const void *extra, size_t n_extra, EmoError *err)
{
    NetModel *mm = (NetModel *)m; /* the accessors are non-const; nothing is written */
    EmoModel f = {
        .cfg = *net_config(m),
        .params = net_params(mm),
        .n_params = net_param_count(m),
        .buffers = net_buffers(mm),
        .n_buffers = net_buffer_count(m),
        .extra = (uint8_t *)extra,
        .n_extra = extra ? n_extra : 0,
    };
    return emo_model_write(path, &f, err);
}

EmoStatus net_load(NetModel **out, const char *path, int max_batch, uint8_t **extra, size_t *n_extra, EmoError *err)
{
    *out = NULL;
    if (extra) *extra = NULL;
    if (n_extra) *n_extra = 0;
    EmoModel f;
    EMO_RETURN_IF_ERR(emo_model_read(path, &f, err));
    NetModel *m;
    EmoStatus s = net_create(&m, &f.cfg, max_batch, err);
    if (s != EMO_OK) {
        emo_model_free(&f);
        return s;
    }
    if (f.n_params != net_param_count(m) || f.n_buffers != net_buffer_count(m)) {
        s = emo_error_set(err, EMO_ERR_FORMAT, "%s: %llu parameters and %llu statistics do not fit its config (%zu, %zu)",
                          path, (unsigned long long)f.n_params, (unsigned long long)f.n_buffers,
                          net_param_count(m), net_buffer_count(m));
        emo_model_free(&f);
        net_free(m);
        return s;
    }
    memcpy(net_params(m), f.params, f.n_params * sizeof(float));
    memcpy(net_buffers(m), f.buffers, f.n_buffers * sizeof(float));
    if (extra) {
        *extra = f.extra; /* hand over ownership */
        f.extra = NULL;
        if (n_extra) *n_extra = (size_t)f.n_extra;
    }
    emo_model_free(&f);
    *out = m;
    return EMO_OK;
}
