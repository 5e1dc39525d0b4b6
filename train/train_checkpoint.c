/* train_checkpoint.c: trainer state <-> the extra blob of a model file. */
#include "train_checkpoint.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC "EMOTRST1"

void train_state_init(TrainState *s)
{
    memset(s, 0, sizeof *s);
    train_schedule_init(&s->sched);
    s->best_value = -INFINITY;
}

void train_state_free(TrainState *s)
{
    free(s->history);
    free(s->fingerprint);
    memset(s, 0, sizeof *s);
}

EmoStatus train_state_push_row(TrainState *s, const TrainEpochRow *row, EmoError *err)
{
    TrainEpochRow *h = realloc(s->history, (size_t)(s->n_history + 1) * sizeof *h);
    if (!h) return emo_error_set(err, EMO_ERR_NOMEM, "out of memory for the metrics history");
    s->history = h;
    s->history[s->n_history++] = *row;
    return EMO_OK;
}

/*-*** JSON helpers: non-finite doubles travel as null ***/

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static double get_real(const json_t *o, const char *key, double dflt)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_number(v)) return json_number_value(v);
    return dflt;
}

static long long get_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* The fields of a TrainEpochRow, listed once for both directions. */
#define ROW_REALS(X)                                                                                            \
    X(elapsed_s) X(epoch_s) X(lr) X(train_loss) X(train_acc) X(val_loss) X(val_acc) X(val_macro_f1)
#define ROW_INTS(X) X(epoch) X(has_val) X(best) X(lr_reduced)

static json_t *row_to_json(const TrainEpochRow *r)
{
    json_t *o = json_object();
    if (!o) return NULL;
#define SET_REAL(f) json_object_set_new(o, #f, jreal(r->f));
#define SET_INT(f) json_object_set_new(o, #f, json_integer(r->f));
    ROW_REALS(SET_REAL)
    ROW_INTS(SET_INT)
    json_t *rec = json_array();
    for (int c = 0; c < EMO_NUM_CLASSES; c++) json_array_append_new(rec, jreal(r->val_recall[c]));
    json_object_set_new(o, "val_recall", rec);
    return o;
}

static void row_from_json(const json_t *o, TrainEpochRow *r)
{
    memset(r, 0, sizeof *r);
#define GET_REAL(f) r->f = get_real(o, #f, NAN);
#define GET_INT(f) r->f = (int)get_int(o, #f);
    ROW_REALS(GET_REAL)
    ROW_INTS(GET_INT)
    const json_t *rec = json_object_get(o, "val_recall");
    for (int c = 0; c < EMO_NUM_CLASSES; c++) {
        const json_t *v = json_array_get(rec, (size_t)c);
        r->val_recall[c] = json_is_number(v) ? json_number_value(v) : NAN;
    }
}

static json_t *state_to_json(const TrainState *s)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "epoch", json_integer(s->epoch));
    json_object_set_new(o, "batch", json_integer((json_int_t)s->batch));
    json_object_set_new(o, "step", json_integer((json_int_t)s->step));
    json_object_set_new(o, "elapsed_s", jreal(s->elapsed_s));
    json_object_set_new(o, "fingerprint", json_string(s->fingerprint ? s->fingerprint : ""));
    json_object_set_new(o, "best_value", jreal(s->best_value));
    json_object_set_new(o, "best_epoch", json_integer(s->best_epoch));
    json_object_set_new(o, "bad_epochs", json_integer(s->bad_epochs));
    json_t *sc = json_object();
    json_object_set_new(sc, "scale", jreal(s->sched.scale));
    json_object_set_new(sc, "best", jreal(s->sched.best));
    json_object_set_new(sc, "bad_epochs", json_integer(s->sched.bad_epochs));
    json_object_set_new(sc, "cooldown_left", json_integer(s->sched.cooldown_left));
    json_object_set_new(sc, "reductions", json_integer(s->sched.reductions));
    json_object_set_new(o, "schedule", sc);
    json_t *p = json_object(), *cm = json_array();
    for (int t = 0; t < EMO_NUM_CLASSES; t++) {
        json_t *row = json_array();
        for (int q = 0; q < EMO_NUM_CLASSES; q++)
            json_array_append_new(row, json_integer((json_int_t)s->partial.confusion[t][q]));
        json_array_append_new(cm, row);
    }
    json_object_set_new(p, "confusion", cm);
    json_object_set_new(p, "loss_sum", jreal(s->partial.loss_sum));
    json_object_set_new(p, "count", json_integer((json_int_t)s->partial.count));
    json_object_set_new(o, "partial", p);
    json_t *h = json_array();
    for (int i = 0; i < s->n_history; i++) json_array_append_new(h, row_to_json(&s->history[i]));
    json_object_set_new(o, "history", h);
    return o;
}

static EmoStatus state_from_json(const json_t *o, const char *name, TrainState *s, EmoError *err)
{
    train_state_init(s);
    if (!json_is_object(o) || !json_is_integer(json_object_get(o, "epoch")))
        return emo_error_set(err, EMO_ERR_FORMAT, "%s: trainer state is malformed", name);
    s->epoch = (int)get_int(o, "epoch");
    s->batch = (uint64_t)get_int(o, "batch");
    s->step = (uint64_t)get_int(o, "step");
    s->elapsed_s = get_real(o, "elapsed_s", 0);
    const char *fp = json_string_value(json_object_get(o, "fingerprint"));
    s->fingerprint = strdup(fp ? fp : "");
    s->best_value = get_real(o, "best_value", -INFINITY);
    s->best_epoch = (int)get_int(o, "best_epoch");
    s->bad_epochs = (int)get_int(o, "bad_epochs");
    const json_t *sc = json_object_get(o, "schedule");
    s->sched.scale = get_real(sc, "scale", 1);
    s->sched.best = get_real(sc, "best", -INFINITY);
    s->sched.bad_epochs = (int)get_int(sc, "bad_epochs");
    s->sched.cooldown_left = (int)get_int(sc, "cooldown_left");
    s->sched.reductions = (int)get_int(sc, "reductions");
    const json_t *p = json_object_get(o, "partial");
    const json_t *cm = json_object_get(p, "confusion");
    for (int t = 0; t < EMO_NUM_CLASSES; t++)
        for (int q = 0; q < EMO_NUM_CLASSES; q++)
            s->partial.confusion[t][q] = (uint64_t)json_integer_value(json_array_get(json_array_get(cm, (size_t)t), (size_t)q));
    s->partial.loss_sum = get_real(p, "loss_sum", 0);
    s->partial.count = (uint64_t)get_int(p, "count");
    const json_t *h = json_object_get(o, "history");
    size_t n = json_array_size(h);
    if (n) {
        s->history = calloc(n, sizeof *s->history);
        if (!s->history || !s->fingerprint) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
        for (size_t i = 0; i < n; i++) row_from_json(json_array_get(h, i), &s->history[i]);
        s->n_history = (int)n;
    }
    if (!s->fingerprint) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", name);
    return EMO_OK;
}

/*-*** Blob ***/

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

EmoStatus train_checkpoint_save(const char *path, const NetModel *m, const TrainState *s, const NetOptim *o,
                                EmoError *err)
{
    json_t *j = state_to_json(s);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    if (!text) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory for the trainer state", path);
    size_t L = strlen(text), K = net_optim_state_count(o);
    size_t n = 12 + L + 16 + 4 * K;
    uint8_t *blob = malloc(n);
    if (!blob) {
        free(text);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory for the trainer state", path);
    }
    memcpy(blob, STATE_MAGIC, 8);
    put_u32(blob + 8, (uint32_t)L);
    memcpy(blob + 12, text, L);
    put_u64(blob + 12 + L, o->step);
    put_u64(blob + 20 + L, (uint64_t)K);
    /* Floats as their IEEE bits, little-endian like the model file. */
    for (size_t i = 0; i < K; i++) {
        uint32_t bits;
        memcpy(&bits, &o->state[i], 4);
        put_u32(blob + 28 + L + 4 * i, bits);
    }
    free(text);
    EmoStatus st = net_save(m, path, blob, n, err);
    free(blob);
    return st;
}

EmoStatus train_checkpoint_load(const char *path, int max_batch, NetModel **m, TrainState *s,
                                const NetOptConfig *optim_cfg, NetOptim *o, EmoError *err)
{
    uint8_t *blob = NULL;
    size_t n = 0;
    *m = NULL;
    train_state_init(s);
    memset(o, 0, sizeof *o);
    EMO_RETURN_IF_ERR(net_load(m, path, max_batch, &blob, &n, err));
    EmoStatus st = EMO_OK;
    json_t *j = NULL;
    if (!blob || n < 28 || memcmp(blob, STATE_MAGIC, 8) != 0) {
        st = emo_error_set(err, EMO_ERR_FORMAT, "%s: a model file without trainer state, not a checkpoint", path);
        goto done;
    }
    uint32_t L = get_u32(blob + 8);
    if ((size_t)L > n - 28) {
        st = emo_error_set(err, EMO_ERR_FORMAT, "%s: trainer state is truncated", path);
        goto done;
    }
    json_error_t je;
    j = json_loadb((const char *)blob + 12, L, 0, &je);
    if (!j) {
        st = emo_error_set(err, EMO_ERR_FORMAT, "%s: trainer state: %s", path, je.text);
        goto done;
    }
    st = state_from_json(j, path, s, err);
    if (st != EMO_OK) goto done;
    uint64_t K = get_u64(blob + 20 + L);
    st = net_optim_init(o, optim_cfg, net_param_count(*m), err);
    if (st != EMO_OK) goto done;
    if (K != net_optim_state_count(o) || n != 28 + (size_t)L + 4 * (size_t)K) {
        st = emo_error_set(err, EMO_ERR_FORMAT, "%s: optimizer state has %llu floats, the optimizer needs %zu",
                           path, (unsigned long long)K, net_optim_state_count(o));
        goto done;
    }
    o->step = get_u64(blob + 12 + L);
    for (size_t i = 0; i < K; i++) {
        uint32_t bits = get_u32(blob + 28 + L + 4 * i);
        memcpy(&o->state[i], &bits, 4);
    }
done:
    json_decref(j);
    free(blob);
    if (st != EMO_OK) {
        net_free(*m);
        *m = NULL;
        net_optim_free(o);
        train_state_free(s);
    }
    return st;
}
