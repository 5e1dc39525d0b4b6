/* train_run.c: the epoch loop, validation, best/last models, metrics.csv,
 * checkpoints and resume (see train_run.h). */
#include "train_run.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emo_fs.h"
#include "train_checkpoint.h"
#include "train_eval.h"
#include "train_loader.h"
#include "train_report.h"
#include "train_rng.h"

void train_options_default(TrainOptions *o)
{
    memset(o, 0, sizeof *o);
    net_config_default(&o->net);
    o->epochs = 30;
    o->batch = 64;
    net_optim_config_default(&o->optim, NET_OPT_ADAM);
    train_schedule_defaults(&o->schedule, TRAIN_SCHED_PLATEAU, 1e-3, o->epochs);
    train_class_weights_parse("inverse", &o->class_weights, NULL);
    o->monitor = TRAIN_MONITOR_MACRO_F1;
    o->threads = 1;
    o->seed = 1;
    o->bn_recal = 50;
}

static const char *const optim_names[] = {"sgd", "adam", "adamw"};

EmoStatus train_optimizer_parse(const char *name, NetOptConfig *cfg, EmoError *err)
{
    for (int k = 0; k < 3; k++)
        if (name && strcmp(name, optim_names[k]) == 0) {
            net_optim_config_default(cfg, (NetOptKind)k);
            return EMO_OK;
        }
    return emo_error_set(err, EMO_ERR_ARG, "optimizer '%s': expected adam|adamw|sgd", name ? name : "");
}

const char *train_optimizer_name(NetOptKind kind)
{
    return (unsigned)kind < 3 ? optim_names[kind] : "?";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Every option that changes the numbers a run produces, as one line; a
 * resume must match it. (The thread count is left out on purpose.) */
static char *fingerprint(const TrainOptions *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fputs("shards=", f);
    for (int i = 0; i < o->num_train; i++) fprintf(f, "%s%s", i ? "," : "", o->train_dirs[i]);
    fputs(" val=", f);
    for (int i = 0; i < o->num_val; i++) fprintf(f, "%s%s", i ? "," : "", o->val_dirs[i]);
    char cw[256];
    train_class_weights_describe(&o->class_weights, cw, sizeof cw);
    const TrainScheduleConfig *s = &o->schedule;
    const NetOptConfig *p = &o->optim;
    fprintf(f, " net=%u,%u", o->net.stem_width[0], o->net.stem_width[1]);
    for (uint32_t i = 0; i < o->net.n_modules && i < EMO_MODEL_MAX_MODULES; i++) fprintf(f, ",%u", o->net.module_width[i]);
    fprintf(f, " epochs=%d batch=%d optimizer=%s lr=%.9g momentum=%.9g nesterov=%d wd=%.9g clip=%.9g"
               " schedule=%s warmup=%.9g min_lr=%.9g factor=%.9g patience=%d"
               " class_weights=%s focal=%.9g smoothing=%.9g early_stop=%d monitor=%d"
               " augment=%d,%.9g,%.9g,%.9g,%.9g buffer=%zu seed=%llu",
            o->epochs, o->batch, train_optimizer_name(p->kind), s->base_lr, p->momentum, p->nesterov,
            p->weight_decay, p->clip_norm, train_schedule_name(s->kind), s->warmup_epochs, s->min_lr, s->factor,
            s->patience, cw, o->focal_gamma, o->label_smoothing, o->early_stop, (int)o->monitor, o->augment.hflip,
            o->augment.shift, o->augment.rotate, o->augment.zoom, o->augment.brightness, o->shuffle_buffer,
            (unsigned long long)o->seed);
    /* Only when on: checkpoints of runs from before the option existed
     * match a resume with --bn-recal 0. */
    if (o->bn_recal) fprintf(f, " bn_recal=%d", o->bn_recal);
    if (o->optim.ema_decay > 0) fprintf(f, " ema=%.9g", o->optim.ema_decay);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* metrics.csv from the whole history, atomically. */
static EmoStatus write_metrics_csv(const char *path, const TrainState *s, EmoError *err)
{
    EmoAtomicFile f;
    EMO_RETURN_IF_ERR(emo_atomic_open(&f, path, err));
    fputs("epoch,elapsed_s,epoch_s,lr,train_loss,train_acc,val_loss,val_acc,val_macro_f1", f.fp);
    for (int c = 0; c < EMO_NUM_CLASSES; c++) fprintf(f.fp, ",val_recall_%s", emo_class_name(c));
    fputs(",best\n", f.fp);
    for (int i = 0; i < s->n_history; i++) {
        const TrainEpochRow *r = &s->history[i];
        fprintf(f.fp, "%d,%.1f,%.1f,%.6g,%.6f,%.6f", r->epoch, r->elapsed_s, r->epoch_s, r->lr, r->train_loss,
                r->train_acc);
        if (r->has_val) {
            fprintf(f.fp, ",%.6f,%.6f,%.6f", r->val_loss, r->val_acc, r->val_macro_f1);
            for (int c = 0; c < EMO_NUM_CLASSES; c++) fprintf(f.fp, ",%.6f", r->val_recall[c]);
        } else {
            fputs(",,,", f.fp);
            for (int c = 0; c < EMO_NUM_CLASSES; c++) fputc(',', f.fp);
        }
        fprintf(f.fp, ",%d\n", r->best);
    }
    return emo_atomic_commit(&f, err);
}

/* eval.json and confusion.png of the best model on the validation data. */
static EmoStatus final_report(const TrainOptions *o, const char *best_path, TrainLoader *val, TrainResult *res,
                              EmoError *err)
{
    NetModel *m;
    EMO_RETURN_IF_ERR(net_load(&m, best_path, o->batch, NULL, NULL, err));
    train_metrics_reset(&res->final_val);
    EmoStatus st = train_evaluate(m, val, &res->final_val, err);
    net_free(m);
    if (st != EMO_OK) return st;
    res->has_final = 1;
    char *png = emo_path_join(o->run_dir, "confusion.png");
    char *js = emo_path_join(o->run_dir, "eval.json");
    json_t *j = train_report_json(&res->final_val);
    if (!png || !js || !j) {
        st = emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        goto done;
    }
    char title[96];
    snprintf(title, sizeof title, "best.emomodel (epoch %d) on validation", res->best_epoch);
    st = train_report_confusion_png(&res->final_val, title, png, err);
    if (st != EMO_OK) goto done;
    json_object_set_new(j, "model", json_string(best_path));
    json_object_set_new(j, "epoch", json_integer(res->best_epoch));
    json_t *ds = json_array();
    for (int i = 0; i < o->num_val; i++) json_array_append_new(ds, json_string(o->val_dirs[i]));
    json_object_set_new(j, "datasets", ds);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    if (!text) {
        st = emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        goto done;
    }
    EmoAtomicFile f;
    st = emo_atomic_open(&f, js, err);
    if (st == EMO_OK) {
        fputs(text, f.fp);
        fputc('\n', f.fp);
        st = emo_atomic_commit(&f, err);
    }
    free(text);
done:
    json_decref(j);
    free(png);
    free(js);
    return st;
}

/* Everything the loop owns, freed in one place. */
typedef struct {
    TrainLoader *train, *val, *recal;
    NetModel *m;
    NetOptim optim;
    TrainState state;
    char *ckpt_path, *best_path, *last_path, *csv_path;
} Run;

static void run_free(Run *r)
{
    train_loader_close(r->train);
    train_loader_close(r->val);
    train_loader_close(r->recal);
    net_free(r->m);
    net_optim_free(&r->optim);
    train_state_free(&r->state);
    free(r->ckpt_path);
    free(r->best_path);
    free(r->last_path);
    free(r->csv_path);
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

EmoStatus train_run(const TrainOptions *opt, const TrainCallbacks *cb, TrainResult *res, EmoError *err)
{
    static const TrainCallbacks no_cb = {0};
    if (!cb) cb = &no_cb;
    memset(res, 0, sizeof *res);
    if (opt->epochs <= 0 || opt->batch <= 1 || opt->threads < 1 || !opt->run_dir || opt->num_train <= 0)
        return emo_error_set(err, EMO_ERR_ARG, "train: need datasets, a run directory, epochs >= 1, batch >= 2");
    Run r;
    memset(&r, 0, sizeof r);
    train_state_init(&r.state);
    EmoStatus st = emo_mkdir_p(opt->run_dir, err);
    if (st != EMO_OK) return st;
    r.ckpt_path = emo_path_join(opt->run_dir, "checkpoint.emomodel");
    r.best_path = emo_path_join(opt->run_dir, "best.emomodel");
    r.last_path = emo_path_join(opt->run_dir, "last.emomodel");
    r.csv_path = emo_path_join(opt->run_dir, "metrics.csv");
    char *fp = fingerprint(opt);
    if (!r.ckpt_path || !r.best_path || !r.last_path || !r.csv_path || !fp) {
        free(fp);
        st = emo_error_set(err, EMO_ERR_NOMEM, "out of memory");
        goto done;
    }
    TrainScheduleConfig sched = opt->schedule;
    sched.total_epochs = opt->epochs;
    net_set_threads(opt->threads);

    /* Data. */
    TrainLoaderOptions lo = {0};
    lo.dirs = opt->train_dirs;
    lo.num_dirs = opt->num_train;
    lo.batch_size = opt->batch;
    lo.width = (int)opt->net.input_w;
    lo.height = (int)opt->net.input_h;
    lo.shuffle = 1;
    lo.shuffle_buffer = opt->shuffle_buffer;
    lo.seed = opt->seed;
    lo.augment = opt->augment;
    lo.skip_corrupt = opt->skip_corrupt;
    if ((st = train_loader_open(&r.train, &lo, err)) != EMO_OK) {
        free(fp);
        goto done;
    }
    if (opt->bn_recal > 0) {
        /* Its own stream (seed), unaugmented, a smaller buffer: it reads
         * only bn_recal batches an epoch. */
        TrainLoaderOptions ro = lo;
        memset(&ro.augment, 0, sizeof ro.augment);
        ro.seed = train_rng_derive(opt->seed, 0xB4, 0);
        ro.shuffle_buffer = 2048;
        if ((st = train_loader_open(&r.recal, &ro, err)) != EMO_OK) {
            free(fp);
            goto done;
        }
    }
    if (opt->num_val > 0) {
        lo.dirs = opt->val_dirs;
        lo.num_dirs = opt->num_val;
        lo.shuffle = 0;
        if ((st = train_loader_open(&r.val, &lo, err)) != EMO_OK) {
            free(fp);
            goto done;
        }
    }
    TrainStartInfo info;
    memset(&info, 0, sizeof info);
    info.train_records = train_loader_records(r.train);
    info.val_records = r.val ? train_loader_records(r.val) : 0;
    info.batches_per_epoch = train_loader_batches_per_epoch(r.train);
    train_loader_class_counts(r.train, info.class_counts);
    if ((st = train_class_weights_compute(&opt->class_weights, info.class_counts, info.class_weights, err)) != EMO_OK) {
        free(fp);
        goto done;
    }
    if (info.batches_per_epoch == 0) {
        free(fp);
        st = emo_error_set(err, EMO_ERR_ARG, "%s: no labeled records to train on", opt->train_dirs[0]);
        goto done;
    }

    /* Model: from the checkpoint, or fresh. */
    if (opt->resume && file_exists(r.ckpt_path)) {
        st = train_checkpoint_load(r.ckpt_path, opt->batch, &r.m, &r.state, &opt->optim, &r.optim, err);
        if (st != EMO_OK) {
            free(fp);
            goto done;
        }
        if (strcmp(r.state.fingerprint, fp) != 0) {
            st = emo_error_set(err, EMO_ERR_ARG,
                               "%s: made with other options; resume with the same ones or start a new run "
                               "(checkpoint: %s; now: %s)", r.ckpt_path, r.state.fingerprint, fp);
            free(fp);
            goto done;
        }
        free(fp);
        info.resumed = 1;
    } else {
        train_state_init(&r.state);
        r.state.fingerprint = fp;
        if ((st = net_create(&r.m, &opt->net, opt->batch, err)) != EMO_OK) goto done;
        net_init_params(r.m, opt->seed);
        if ((st = net_optim_init(&r.optim, &opt->optim, net_param_count(r.m), err)) != EMO_OK) goto done;
    }
    info.params = net_param_count(r.m);
    info.start_epoch = r.state.epoch;
    info.start_batch = r.state.batch;
    if (cb->on_start) cb->on_start(cb->ctx, &info);

    const NetLossOpts loss_opts = {info.class_weights, opt->label_smoothing, opt->focal_gamma};
    const double t_process = now_s();
    const double elapsed0 = r.state.elapsed_s;
    const uint64_t nb = info.batches_per_epoch;
    uint64_t batches_here = 0;

    while (r.state.epoch < opt->epochs && !(opt->early_stop > 0 && r.state.bad_epochs >= opt->early_stop)) {
        const int e = r.state.epoch;
        if ((st = train_loader_start(r.train, (uint64_t)e, r.state.batch, err)) != EMO_OK) goto done;
        const double t_epoch = now_s();
        const uint64_t first_batch = r.state.batch;
        uint64_t images_here = 0;
        double lr = 0;
        TrainBatch b;
        while ((st = train_loader_next(r.train, &b, err)) == EMO_OK) {
            lr = train_schedule_lr(&sched, &r.state.sched, e + (double)r.state.batch / (double)nb);
            float loss;
            net_forward(r.m, b.x, b.count, 1);
            if ((st = net_backward(r.m, b.labels, &loss_opts, &loss, err)) != EMO_OK) goto done;
            net_optim_step(&r.optim, r.m, (float)lr);
            train_metrics_add_batch(&r.state.partial, b.labels, net_logits(r.m), (size_t)b.count, loss);
            r.state.batch++;
            r.state.step++;
            batches_here++;
            images_here += (uint64_t)b.count;
            if (cb->on_progress) {
                TrainProgress p;
                double dt = now_s() - t_epoch;
                TrainMetricSummary sm;
                train_metrics_summarize(&r.state.partial, &sm);
                p.epoch = e + 1;
                p.epochs = opt->epochs;
                p.batch = r.state.batch;
                p.batches = nb;
                p.images_per_s = dt > 0 ? (double)images_here / dt : 0;
                p.eta_s = r.state.batch > first_batch && r.state.batch < nb
                              ? dt / (double)(r.state.batch - first_batch) * (double)(nb - r.state.batch)
                              : 0;
                p.loss = sm.loss;
                p.accuracy = sm.accuracy;
                p.lr = lr;
                cb->on_progress(cb->ctx, &p);
            }
            int stop = (opt->stop_flag && *opt->stop_flag) ||
                       (opt->stop_after_batches && batches_here >= opt->stop_after_batches);
            if (stop || (opt->checkpoint_every > 0 && r.state.batch % (uint64_t)opt->checkpoint_every == 0 &&
                         r.state.batch < nb)) {
                r.state.elapsed_s = elapsed0 + (now_s() - t_process);
                if ((st = train_checkpoint_save(r.ckpt_path, r.m, &r.state, &r.optim, err)) != EMO_OK) goto done;
            }
            if (stop) {
                train_loader_stop(r.train);
                res->stopped = 1;
                st = EMO_OK;
                goto finish;
            }
        }
        if (st != EMO_ERR_EOF) goto done;
        st = EMO_OK;

        /* End of epoch: recalibrate BN, validate, keep the best, log,
         * checkpoint. With weight averaging (--ema) the average stands in
         * for the live weights from the recalibration to the saved models:
         * it is what is judged and shipped. The checkpoint keeps the live
         * weights (and the average in the optimizer state). */
        const int averaged = net_optim_average(&r.optim) != NULL;
        if (averaged) net_optim_swap_average(&r.optim, net_params(r.m));
        if (r.recal && (st = train_bn_recalibrate(r.m, r.recal, (uint64_t)e, opt->bn_recal, err)) != EMO_OK) goto done;
        TrainEpochRow row;
        memset(&row, 0, sizeof row);
        TrainMetricSummary tr, va;
        train_metrics_summarize(&r.state.partial, &tr);
        row.epoch = e + 1;
        row.lr = lr;
        row.train_loss = tr.loss;
        row.train_acc = tr.accuracy;
        TrainMetrics vm;
        train_metrics_reset(&vm);
        double monitored = opt->monitor == TRAIN_MONITOR_ACCURACY ? tr.accuracy : tr.macro_f1;
        if (r.val) {
            if ((st = train_evaluate(r.m, r.val, &vm, err)) != EMO_OK) goto done;
            train_metrics_summarize(&vm, &va);
            row.has_val = 1;
            row.val_loss = va.loss;
            row.val_acc = va.accuracy;
            row.val_macro_f1 = va.macro_f1;
            memcpy(row.val_recall, va.recall, sizeof row.val_recall);
            monitored = opt->monitor == TRAIN_MONITOR_ACCURACY ? va.accuracy : va.macro_f1;
        }
        if (monitored > r.state.best_value) {
            r.state.best_value = monitored;
            r.state.best_epoch = e + 1;
            r.state.bad_epochs = 0;
            row.best = 1;
            if ((st = net_save(r.m, r.best_path, NULL, 0, err)) != EMO_OK) goto done;
        } else {
            r.state.bad_epochs++;
        }
        row.lr_reduced = train_schedule_epoch_end(&sched, &r.state.sched, monitored);
        if ((st = net_save(r.m, r.last_path, NULL, 0, err)) != EMO_OK) goto done;
        if (averaged) net_optim_swap_average(&r.optim, net_params(r.m));
        r.state.epoch = e + 1;
        r.state.batch = 0;
        train_metrics_reset(&r.state.partial);
        r.state.elapsed_s = elapsed0 + (now_s() - t_process);
        row.elapsed_s = r.state.elapsed_s;
        row.epoch_s = now_s() - t_epoch;
        if ((st = train_state_push_row(&r.state, &row, err)) != EMO_OK) goto done;
        if ((st = write_metrics_csv(r.csv_path, &r.state, err)) != EMO_OK) goto done;
        if ((st = train_checkpoint_save(r.ckpt_path, r.m, &r.state, &r.optim, err)) != EMO_OK) goto done;
        if (cb->on_epoch) cb->on_epoch(cb->ctx, &row, r.val ? &vm : NULL);
        if (opt->stop_flag && *opt->stop_flag) {
            res->stopped = 1;
            goto finish;
        }
    }
    res->early_stopped = opt->early_stop > 0 && r.state.bad_epochs >= opt->early_stop && r.state.epoch < opt->epochs;
    if (r.val && r.state.best_epoch > 0 && file_exists(r.best_path)) {
        res->best_epoch = r.state.best_epoch;
        if ((st = final_report(opt, r.best_path, r.val, res, err)) != EMO_OK) goto done;
    }
finish:
    res->epochs_done = r.state.epoch;
    res->best_epoch = r.state.best_epoch;
    res->best_value = r.state.best_value;
done:
    if (r.train) {
        res->skipped_blocks = train_loader_skipped_blocks(r.train);
        res->skipped_unlabeled = train_loader_skipped_unlabeled(r.train);
    }
    run_free(&r);
    return st;
}
