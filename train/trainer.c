// The training loop and everything around it: config, data, model, optimizer, schedule, EMA,
// checkpoints, resume, evaluation, logs and signals.
#include "train/trainer.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "datasets/sw_generate.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "train/checkpoint.h"
#include "train/report.h"
#include "train/schema.h"
#include "tensor/kernels.h"

// ---- config ----

// Overrides, the model's name, and validation against the three schemas.
static int finish_config(gw_config *cfg, const char *origin, int n_overrides, char **overrides,
                         const gw_model_ops **ops) {
  for (int i = 0; i < n_overrides; i++)
    if (gw_config_override(cfg, overrides[i]) < 0) return -1;
  const char *name = NULL;
  for (int i = 0; i < cfg->n; i++)
    if (!strcmp(cfg->entries[i].key, "model.name")) name = cfg->entries[i].value;
  if (!name) {
    gw_set_error("%s: model.name is missing: the config must say which model to train "
                 "(gw train --list-models)", origin);
    return -1;
  }
  *ops = gw_model_find(name);
  if (!*ops) {
    char known[512] = "";
    for (int i = 0; i < gw_model_count(); i++) {
      size_t len = strlen(known);
      snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", gw_model_at(i)->name);
    }
    gw_set_error("%s: unknown model '%s' (known: %s)", origin, name, known);
    return -1;
  }
  gw_cfg_schema schemas[3] = {gw_trainer_schema, gw_data_schema, (*ops)->schema};
  return gw_config_validate(cfg, schemas, 3);
}

int gw_train_load_config(gw_config *cfg, const char *path, int n_overrides, char **overrides,
                         const gw_model_ops **ops) {
  gw_config_init(cfg);
  if (gw_config_load(cfg, path) < 0) return -1;
  return finish_config(cfg, path, n_overrides, overrides, ops);
}

int gw_train_load_config_string(gw_config *cfg, const char *yaml, const char *origin,
                                const gw_model_ops **ops) {
  gw_config_init(cfg);
  if (gw_config_load_string(cfg, yaml, origin) < 0) return -1;
  return finish_config(cfg, origin, 0, NULL, ops);
}

static bool file_exists(const char *path) { return access(path, F_OK) == 0; }

static int make_dir(const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)  // mkdir -p
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
    gw_set_error("%s: cannot create the directory (%s)", path, strerror(errno));
    return -1;
  }
  return 0;
}

int gw_train_data_dir(const gw_config *cfg, const gw_model_ops *ops, char *dir, size_t len,
                      bool quiet) {
  const char *root = gw_cfg_str(cfg, "data.dir");
  char meta[1100];
  snprintf(meta, sizeof meta, "%s/meta.json", root);
  if (!file_exists(meta)) {
    const char *preset = gw_cfg_str(cfg, "data.preset");
    if (!strcmp(preset, "none")) {
      gw_set_error("%s: no data set here (no meta.json). HINT: set data.preset to generate a "
                   "shapes-world data set, or run `gw data synth` / `gw data convert` first", root);
      return -1;
    }
    sw_gen_opts g = {.out_dir = root, .preset = *sw_preset_find(preset), .quiet = quiet};
    g.difficulty = gw_cfg_str(cfg, "data.difficulty");
    sw_config_defaults(&g.cfg, g.difficulty, g.preset.img_size);
    g.cfg.seed = (uint64_t)gw_cfg_int(cfg, "data.seed");
    if (!quiet)
      fprintf(stderr, "data: %s does not exist yet; generating the shapes-world '%s' preset\n", root, preset);
    if (make_dir(root) < 0 || sw_generate(&g) < 0) return -1;
  }
  if (ops->task == GW_TASK_CLASSIFY)
    snprintf(dir, len, "%s/fewshot/%s", root, gw_cfg_str(cfg, "data.fewshot_task"));
  else
    snprintf(dir, len, "%s", root);
  return 0;
}

int gw_train_open_split(const gw_config *cfg, const gw_model_ops *ops, const char *dir,
                        const char *split, bool training, gw_dataset *d) {
  if (gw_dataset_open(d, dir, split, ops->task) < 0) return -1;
  int shots = (int)gw_cfg_int(cfg, "data.shots");
  if (ops->task != GW_TASK_CLASSIFY || shots <= 0) return 0;
  // CoOp's protocol: K images per class to train on, min(K, 4) per class to validate on (both
  // chosen by the seed); the test split stays whole
  int keep = training ? shots : !strcmp(split, "val") ? (shots < 4 ? shots : 4) : 0;
  if (keep > 0 && gw_dataset_fewshot(d, keep, (uint64_t)gw_cfg_int(cfg, "train.seed")) < 0) {
    gw_dataset_close(d);
    return -1;
  }
  return 0;
}

// Answer names (VQA: answers.txt of the data set) or class names (classification: the class
// names of the few-shot split file), one per line in id order; NULL when there are none.
char *gw_train_label_names(const char *data_dir, const gw_dataset *d) {
  char path[1200];
  if (d->task == GW_TASK_VQA) {
    snprintf(path, sizeof path, "%s/answers.txt", data_dir);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n <= 0) {
      free(text);
      return NULL;
    }
    return text;
  }
  if (d->task != GW_TASK_CLASSIFY || d->n_classes <= 0) return NULL;
  // split_<name>.json (CoOp's layout): "train": [[impath, label, classname], ...]
  DIR *dir = opendir(data_dir);
  if (!dir) return NULL;
  json_t *split = NULL;
  for (struct dirent *e; !split && (e = readdir(dir));) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "split_", 6) || len < 11 || strcmp(e->d_name + len - 5, ".json")) continue;
    snprintf(path, sizeof path, "%s/%s", data_dir, e->d_name);
    split = json_load_file(path, 0, NULL);
  }
  closedir(dir);
  if (!split) return NULL;
  char **names = calloc((size_t)d->n_classes, sizeof *names);
  static const char *const parts[] = {"train", "val", "test"};
  for (int p = 0; p < 3; p++) {
    json_t *items = json_object_get(split, parts[p]), *item;
    size_t i;
    json_array_foreach(items, i, item) {
      json_t *label = json_array_get(item, 1);
      const char *name = json_string_value(json_array_get(item, 2));
      int64_t k = json_is_integer(label) ? json_integer_value(label) : -1;
      if (name && k >= 0 && k < d->n_classes && !names[k]) names[k] = strdup(name);
    }
  }
  json_decref(split);
  size_t len = 1;
  for (int k = 0; k < d->n_classes; k++) len += (names[k] ? strlen(names[k]) : 8) + 1;
  char *text = malloc(len), *p = text;
  for (int k = 0; k < d->n_classes; k++) {
    if (names[k]) p += sprintf(p, "%s\n", names[k]);
    else p += sprintf(p, "class %d\n", k);
    free(names[k]);
  }
  *p = '\0';
  free(names);
  return text;
}

// Line k of a text of lines (into out), or "#k" when there is no such line.
void gw_train_label(const char *labels, int k, char *out, size_t n) {
  const char *p = labels;
  for (int i = 0; p && i < k; i++) {
    p = strchr(p, '\n');
    if (p) p++;
  }
  if (k >= 0 && p && *p) snprintf(out, n, "%.*s", (int)strcspn(p, "\n"), p);
  else snprintf(out, n, "#%d", k);
}

// ---- signals ----

// The first SIGINT/SIGTERM asks the loop to stop after the step (with a checkpoint); a second
// one ends the process at once (the checkpoints on disk are whole: each is renamed into place).
static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
  stop_requested = 1;
  static const char msg[] =
      "\ngw train: stopping after this step (a checkpoint is written); again to quit at once\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  signal(sig, SIG_DFL);
}

// ---- the run ----

typedef struct run {
  gw_train_opts opts;
  gw_config cfg;
  const gw_model_ops *ops;
  gw_model_info info;
  char dir[1024], data_dir[1100];
  char *config_yaml;
  gw_dataset train;
  int n_eval;
  gw_dataset eval[8];
  char eval_names[8][64];
  gw_nn nn;
  void *model;
  gw_optim opt;
  gw_ema ema;
  bool use_ema;
  gw_schedule sched;
  gw_loader loader;
  gw_train_state st;
  int64_t total_steps;
  FILE *log_csv, *metrics_f;
  bool log_header;        // log.csv has its header (written with the first step's loss terms)
  bool tty;
  const char *best_metric;
  char *labels;           // answer or class names, one per line (NULL: none)
  int64_t warmup;         // steps of linear warm-up in front of a constant or step schedule
  bool warned_metric;     // said that train.best_metric names no metric
} run;

static void fail(const char *what) { fprintf(stderr, "gw train: %s\n", what); }

static gw_optim_cfg optim_cfg(const gw_config *c) {
  gw_optim_cfg o = {0};
  const char *name = gw_cfg_str(c, "train.optimizer");
  o.kind = !strcmp(name, "adam") ? GW_ADAM : !strcmp(name, "adamw") ? GW_ADAMW
           : !strcmp(name, "sgd") ? GW_SGD : GW_LARS;
  o.lr = (float)gw_cfg_float(c, "train.lr");
  o.weight_decay = (float)gw_cfg_float(c, "train.weight_decay");
  o.momentum = o.kind == GW_SGD || o.kind == GW_LARS ? (float)gw_cfg_float(c, "train.momentum") : 0.0f;
  o.nesterov = gw_cfg_bool(c, "train.nesterov");
  o.beta1 = (float)gw_cfg_float(c, "train.beta1");
  o.beta2 = (float)gw_cfg_float(c, "train.beta2");
  return o;
}

// The newest complete checkpoint in RUN_DIR/ckpt (by step number); 0 if found.
static int newest_checkpoint(const char *dir, char *path, size_t len) {
  char ck[1100];
  snprintf(ck, sizeof ck, "%s/ckpt", dir);
  DIR *d = opendir(ck);
  if (!d) return -1;
  long best = -1;
  struct dirent *e;
  while ((e = readdir(d))) {
    long step;
    char tail[8];
    if (sscanf(e->d_name, "step_%ld.h%7s", &step, tail) == 2 && !strcmp(tail, "5") && step > best)
      best = step;
  }
  closedir(d);
  if (best < 0) return -1;
  snprintf(path, len, "%s/step_%ld.h5", ck, best);
  return 0;
}

// Deletes all but the newest `keep` step checkpoints.
static void prune_checkpoints(const char *dir, int keep) {
  char ck[1100];
  snprintf(ck, sizeof ck, "%s/ckpt", dir);
  DIR *d = opendir(ck);
  if (!d) return;
  long steps[4096];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 4096) {
    long step;
    char tail[8];
    if (sscanf(e->d_name, "step_%ld.h%7s", &step, tail) == 2 && !strcmp(tail, "5")) steps[n++] = step;
  }
  closedir(d);
  for (int i = 0; i < n; i++) {
    int newer = 0;
    for (int j = 0; j < n; j++) newer += steps[j] > steps[i];
    if (newer >= keep) {
      char path[1200];
      snprintf(path, sizeof path, "%s/step_%ld.h5", ck, steps[i]);
      unlink(path);
    }
  }
}

static int save_checkpoint(run *r, const char *name) {
  char path[1200];
  snprintf(path, sizeof path, "%s/ckpt/%s", r->dir, name);
  r->st.dropout = r->nn.dropout;
  r->st.data = r->loader.state;
  r->st.total_steps = r->total_steps;
  gw_ckpt_meta meta = {.config_yaml = r->config_yaml,
                       .model_name = r->ops->name,
                       .vocab = r->train.vocab.size ? &r->train.vocab : NULL,
                       .info = &r->info,
                       .labels = r->labels};
  return gw_ckpt_save(path, &r->nn, &r->opt, r->use_ema ? &r->ema : NULL, &r->st, &meta);
}

// The learning-rate factor of a step (0-based): the schedule's, after `warmup` steps of linear
// warm-up (warmup_cosine has its warm-up inside).
static float lr_factor(const run *r, int64_t step) {
  float f = gw_schedule_factor(&r->sched, step);
  if (r->warmup > 0 && step < r->warmup) f *= (float)(step + 1) / (float)r->warmup;
  return f;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 0.0;
  char line[256];
  double kib = 0.0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) sscanf(line + 6, "%lf", &kib);
  fclose(f);
  return kib / 1024.0;
}

// The words of a sample's tokens (the expression or question), into out.
static void sample_text(const gw_dataset *d, const gw_batch *b, int i, char *out, size_t n) {
  size_t len = 0;
  out[0] = '\0';
  for (int t = 0; b->tokens && t < b->lengths[i] && len + 1 < n; t++) {
    int id = b->tokens[(int64_t)i * d->max_len + t];
    const char *w = id >= 0 && id < d->vocab.size ? d->vocab.words[id] : "?";
    len += (size_t)snprintf(out + len, n - len, "%s%s", len ? " " : "", w);
  }
}

// Sample predictions for the report: eight samples of a split (a seeded shuffle, so that
// several classes show), drawn into RUN_DIR/vis/ by gw_report_sample (a green frame when right,
// red when wrong; REC: the true box green, the predicted box red), each with a caption (the
// expression or question, the prediction and the truth) in vis/<name>.txt.
static void draw_samples(run *r, const gw_dataset *d) {
  enum { N = 8 };
  gw_loader l;
  if (gw_loader_open(&l, d, N, true, false, 0, (gw_augment){0}, (gw_loader_state){0}, 0) < 0)
    return;
  bool was_training = r->nn.training, prev = gw_no_grad_begin();
  gw_nn_train(&r->nn, false);
  gw_arena_mark mark = gw_arena_get_mark(gw_arena_current());
  const gw_batch *b = gw_loader_next(&l);
  gw_inputs in;
  gw_inputs_from_batch(&in, b, d);
  float boxes[N * 4];
  int32_t answer[N] = {0}, label[N] = {0};
  gw_outputs o = {.boxes = boxes, .answer = answer, .label = label};
  r->ops->predict(r->model, &in, &o);
  for (int i = 0; i < b->n; i++) {
    int64_t s = b->index[i];
    bool rec = d->task == GW_TASK_REC;
    int64_t at = (int64_t)i * d->n_answers + answer[i];  // VQA: the answer's soft score
    double iou = rec ? gw_box_iou_xyxy(boxes + 4 * i, d->boxes + 4 * s) : 0.0;
    int correct = d->task == GW_TASK_CLASSIFY ? label[i] == d->labels[s]
                  : rec ? iou >= 0.5
                  : d->task == GW_TASK_VQA ? b->answer_scores[at] > 0
                  : -1;
    char name[64], text[400], caption[800], pred[96], truth[96];
    sample_text(d, b, i, text, sizeof text);
    if (d->task == GW_TASK_CLASSIFY) {
      snprintf(name, sizeof name, "sample%02d_pred%d_true%d", i, label[i], d->labels[s]);
      gw_train_label(r->labels, label[i], pred, sizeof pred);
      gw_train_label(r->labels, d->labels[s], truth, sizeof truth);
      snprintf(caption, sizeof caption, "predicted: %s; true: %s", pred, truth);
    } else if (rec) {
      snprintf(name, sizeof name, "sample%02d", i);
      snprintf(caption, sizeof caption, "\"%s\": IoU %.2f (true box green, predicted red)", text, iou);
    } else if (d->task == GW_TASK_VQA) {
      snprintf(name, sizeof name, "sample%02d", i);
      int best = 0;  // the answer most humans gave
      for (int k = 1; k < d->n_answers; k++)
        if (b->answer_scores[(int64_t)i * d->n_answers + k] >
            b->answer_scores[(int64_t)i * d->n_answers + best])
          best = k;
      gw_train_label(r->labels, answer[i], pred, sizeof pred);
      gw_train_label(r->labels, best, truth, sizeof truth);
      snprintf(caption, sizeof caption, "\"%s\": %s (answer: %s, score %.1f)", text, pred, truth,
               b->answer_scores[at]);
    } else {
      snprintf(name, sizeof name, "sample%02d", i);
      snprintf(caption, sizeof caption, "\"%s\"", text);
    }
    const uint8_t *rgb = d->images + (int64_t)d->image_of[s] * d->size * d->size * 3;
    if (gw_report_sample(r->dir, name, rgb, d->size, correct, rec ? d->boxes + 4 * s : NULL,
                         rec ? boxes + 4 * i : NULL, caption) < 0)
      fprintf(stderr, "gw train: %s\n", gw_last_error());
  }
  gw_arena_rewind(gw_arena_current(), mark);
  gw_no_grad_end(prev);
  gw_nn_train(&r->nn, was_training);
  gw_loader_close(&l);
}

// Evaluates every eval split (on the EMA weights when EMA is on); appends to metrics.jsonl,
// prints the headline numbers and returns the main metric of the first split. The final
// evaluation also writes metrics-SPLIT.json and the sample pictures of the first split.
static double evaluate_all(run *r, int64_t max_samples, bool final) {
  double main_value = NAN;
  if (r->use_ema) gw_ema_swap(&r->ema);
  for (int k = 0; k < r->n_eval; k++) {
    gw_metrics m;
    int bs = (int)gw_cfg_int(&r->cfg, "train.batch_size");
    if (gw_evaluate(r->ops, r->model, &r->nn, &r->eval[k], bs, max_samples, &m) < 0) {
      fprintf(stderr, "gw train: evaluation of %s failed: %s\n", r->eval_names[k], gw_last_error());
      continue;
    }
    if (k == 0) main_value = gw_metrics_get(&m, r->best_metric);
    if (k == 0 && isnan(main_value) && !r->warned_metric) {
      fprintf(stderr, "%sgw train: train.best_metric '%s' is not a metric of this task (", r->tty ? "\r\033[K" : "",
              r->best_metric);
      for (int i = 0; i < m.n; i++) fprintf(stderr, "%s%s", i ? ", " : "", m.name[i]);
      fprintf(stderr, "): no best.h5 is kept\n");
      r->warned_metric = true;
    }
    if (k == 0 && final) {
      gw_report_clear_samples(r->dir);
      draw_samples(r, &r->eval[k]);
    }
    gw_metrics_write_jsonl(r->metrics_f, &m, r->eval_names[k], r->st.step);
    fflush(r->metrics_f);
    if (!r->opts.quiet) {
      fprintf(stderr, "%seval %-9s step %lld:", r->tty ? "\r\033[K" : "", r->eval_names[k],
              (long long)r->st.step);
      for (int i = 0; i < m.n; i++)
        if (!m.detail[i]) fprintf(stderr, " %s %.4g", m.name[i], m.value[i]);
      fprintf(stderr, "\n");
    }
    if (final) {
      char path[1200];
      snprintf(path, sizeof path, "%s/metrics-%s.json", r->dir, r->eval_names[k]);
      if (gw_metrics_write_json(path, &m, r->eval_names[k], r->st.step, r->use_ema ? "ema" : "raw",
                                NULL) < 0)
        fail(gw_last_error());
    }
  }
  if (r->use_ema) gw_ema_swap(&r->ema);
  return main_value;
}

static jmp_buf anomaly_jump;
static char anomaly_message[2048];
static void anomaly_handler(const char *message) {
  snprintf(anomaly_message, sizeof anomaly_message, "%s", message);
  longjmp(anomaly_jump, 1);
}

// The loss was not finite: run the same micro-batch again with every op checked, and report
// the first op that produced a NaN or Inf.
static void explain_non_finite(run *r, const gw_inputs *in, const char *what) {
  char last[1200] = "none yet";
  newest_checkpoint(r->dir, last, sizeof last);
  gw_error_handler prev = gw_set_error_handler(anomaly_handler);
  gw_set_anomaly_mode(true);
  gw_nn_zero_grad(&r->nn);  // else the checks would trip on what earlier batches accumulated
  if (setjmp(anomaly_jump) == 0) {
    gw_loss_terms terms = {0};
    gw_tensor *loss = r->ops->loss(r->model, in, &terms);
    gw_backward(loss);
    snprintf(anomaly_message, sizeof anomaly_message,
             "no op produced a non-finite value when the batch was run again (it may come from "
             "the optimizer state or a gradient accumulated earlier)");
  }
  gw_set_anomaly_mode(false);
  gw_set_error_handler(prev);
  fprintf(stderr, "%sgw train: step %lld: the %s is not finite.\n  %s\n  The last good checkpoint "
          "is kept: %s. HINT: lower train.lr, set train.clip_grad, or check the data.\n",
          r->tty ? "\r\033[K" : "", (long long)r->st.step, what, anomaly_message, last);
}

// A resumed run does the steps after its checkpoint again: drop the rows an interrupted run
// logged past that step (and a row torn by a kill), so each step has one row. `fmt` reads
// the step at the start of a row.
static int trim_log(FILE *f, int64_t step, const char *fmt, const char *name) {
  char line[16384];
  long keep = 0;
  rewind(f);
  while (fgets(line, sizeof line, f)) {
    long long s;
    size_t n = strlen(line);
    if (n == 0 || line[n - 1] != '\n' || (sscanf(line, fmt, &s) == 1 && s > step)) break;
    keep = ftell(f);
  }
  if (fflush(f) != 0 || ftruncate(fileno(f), keep) != 0 || fseek(f, 0, SEEK_END) != 0) {
    gw_set_error("%s: cannot trim the rows past step %lld (%s)", name, (long long)step,
                 strerror(errno));
    return -1;
  }
  return 0;
}

// The first key whose value differs between two resolved configs, as "KEY: A in <a_name>, B in
// <b_name>" (a key only b has counts when allow_new is false). Returns false when they agree.
static bool config_difference(const char *a, const char *a_name, const char *b, const char *b_name,
                              bool allow_new, char *out, size_t n) {
  gw_config ca, cb;
  gw_config_init(&ca);
  gw_config_init(&cb);
  bool differ = false;
  if (gw_config_load_string(&ca, a, a_name) < 0 || gw_config_load_string(&cb, b, b_name) < 0) {
    snprintf(out, n, "%s", gw_last_error());
    differ = true;
  }
  for (int i = 0; !differ && i < ca.n; i++) {
    const gw_cfg_entry *e = &ca.entries[i];
    const char *other = gw_cfg_has(&cb, e->key) ? gw_cfg_str(&cb, e->key) : NULL;
    if (other && !strcmp(other, e->value)) continue;
    snprintf(out, n, "%s: %s in %s, %s in %s", e->key, e->value, a_name, other ? other : "(absent)",
             b_name);
    differ = true;
  }
  for (int i = 0; !differ && !allow_new && i < cb.n; i++)
    if (!gw_cfg_has(&ca, cb.entries[i].key)) {
      snprintf(out, n, "%s: (absent) in %s, %s in %s", cb.entries[i].key, a_name,
               cb.entries[i].value, b_name);
      differ = true;
    }
  gw_config_free(&ca);
  gw_config_free(&cb);
  return differ;
}

static int open_run_dir(run *r) {
  if (make_dir(r->dir) < 0) return -1;
  char path[1200], ck[1100];
  snprintf(ck, sizeof ck, "%s/ckpt", r->dir);
  if (make_dir(ck) < 0) return -1;
  snprintf(path, sizeof path, "%s/config.yaml", r->dir);
  if (!r->opts.resume && file_exists(path)) {
    FILE *f = fopen(path, "r");
    char *old = NULL;
    size_t cap = 0;
    if (f) {
      ssize_t n = getdelim(&old, &cap, '\0', f);
      (void)n;
      fclose(f);
    }
    bool same = old && !strcmp(old, r->config_yaml);
    char any[1200], diff[1200] = "";
    bool has_ckpt = newest_checkpoint(r->dir, any, sizeof any) == 0;
    if (!same && old)
      config_difference(old, "config.yaml", r->config_yaml, "this config", false, diff, sizeof diff);
    free(old);
    if ((!same || has_ckpt) && !r->opts.force) {
      gw_set_error("%s already holds a %s%s%s%s. HINT: `gw train --resume %s` continues it; --out "
                   "picks another directory; --force starts over here (the old files are kept "
                   "aside)",
                   r->dir, same ? "run of this config" : "run with a different config",
                   diff[0] ? " (" : "", diff, diff[0] ? ")" : "", r->dir);
      return -1;
    }
    if (r->opts.force) {  // keep the old run: move all its files into a new old-<time>/
      char aside[1200];
      long t = (long)time(NULL);
      snprintf(aside, sizeof aside, "%s/old-%ld", r->dir, t);
      for (int k = 2; mkdir(aside, 0755) != 0; k++) {
        if (errno != EEXIST || k > 1000) {
          gw_set_error("%s: cannot create the directory (%s)", aside, strerror(errno));
          return -1;
        }
        snprintf(aside, sizeof aside, "%s/old-%ld-%d", r->dir, t, k);
      }
      char names[256][256];
      int n = 0;
      DIR *d = opendir(r->dir);
      for (struct dirent *e; d && (e = readdir(d)) && n < 256;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strncmp(e->d_name, "old-", 4))
          snprintf(names[n++], sizeof names[0], "%s", e->d_name);
      if (d) closedir(d);
      for (int i = 0; i < n; i++) {
        char from[1300], to[1500];
        snprintf(from, sizeof from, "%s/%s", r->dir, names[i]);
        snprintf(to, sizeof to, "%s/%s", aside, names[i]);
        if (rename(from, to) != 0) {
          gw_set_error("%s: cannot move it into %s (%s)", from, aside, strerror(errno));
          return -1;
        }
      }
      if (!r->opts.quiet)
        fprintf(stderr, "gw train: the old run in %s is kept in %s\n", r->dir, aside);
      if (make_dir(ck) < 0) return -1;
    }
  }
  if (!r->opts.resume) {
    snprintf(path, sizeof path, "%s/config.yaml", r->dir);
    FILE *f = fopen(path, "w");
    if (!f) {
      gw_set_error("%s: cannot write", path);
      return -1;
    }
    fputs(r->config_yaml, f);
    fclose(f);
  }
  snprintf(path, sizeof path, "%s/log.csv", r->dir);
  r->log_csv = fopen(path, "a+");
  snprintf(path, sizeof path, "%s/metrics.jsonl", r->dir);
  r->metrics_f = fopen(path, "a+");
  if (!r->log_csv || !r->metrics_f) {
    gw_set_error("%s: cannot write the logs", r->dir);
    return -1;
  }
  // the header names each loss term: it is written with the first step of the run
  fseek(r->log_csv, 0, SEEK_END);
  r->log_header = ftell(r->log_csv) > 0;
  return 0;
}

// The step checkpoints of RUN_DIR/ckpt, newest first; returns the count.
static int step_checkpoints(const char *dir, long *steps, int max) {
  char ck[1100];
  snprintf(ck, sizeof ck, "%s/ckpt", dir);
  DIR *d = opendir(ck);
  if (!d) return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) && n < max;) {
    long step;
    char tail[8];
    if (sscanf(e->d_name, "step_%ld.h%7s", &step, tail) == 2 && !strcmp(tail, "5")) steps[n++] = step;
  }
  closedir(d);
  for (int i = 1; i < n; i++)  // insertion sort, newest first
    for (int j = i; j > 0 && steps[j] > steps[j - 1]; j--) {
      long t = steps[j];
      steps[j] = steps[j - 1];
      steps[j - 1] = t;
    }
  return n;
}

// --resume: all training state from the newest checkpoint that reads back whole (an older one
// when the newest cannot be read), after checking that it belongs to this run: the config
// stored in it must be RUN_DIR/config.yaml's, and its vocabulary the data set's.
static int resume_state(run *r) {
  long steps[4096];
  int n = step_checkpoints(r->dir, steps, 4096);
  if (n == 0) {
    gw_set_error("%s: no checkpoint to resume from (ckpt/step_N.h5)", r->dir);
    return -1;
  }
  char path[1200];
  for (int k = 0;; k++) {
    if (k == n) {
      gw_set_error("%s: no checkpoint could be read back (the newest: %s/ckpt/step_%ld.h5)", r->dir,
                   r->dir, steps[0]);
      return -1;
    }
    snprintf(path, sizeof path, "%s/ckpt/step_%ld.h5", r->dir, steps[k]);
    char *stored = gw_ckpt_config(path);
    if (stored) {
      char diff[1200];
      // keys the checkpoint does not know are new defaults of a later version: allowed
      bool differ = config_difference(stored, "the checkpoint", r->config_yaml, "config.yaml", true,
                                      diff, sizeof diff);
      free(stored);
      if (differ) {
        gw_set_error("%s/config.yaml is not the config %s was trained with (%s). --resume continues "
                     "a run as it was configured. HINT: restore config.yaml, or start a new run "
                     "from these weights with `gw train CONFIG --init-from %s`",
                     r->dir, path, diff, path);
        return -1;
      }
      uint64_t hash;
      if (r->train.vocab.size && gw_ckpt_vocab_hash(path, &hash) == 0 &&
          hash != gw_vocab_hash(&r->train.vocab)) {
        gw_set_error("%s was trained with another vocabulary than %s's vocab.txt (regenerated or "
                     "converted again?): resuming would read the words with other ids",
                     path, r->data_dir);
        return -1;
      }
      if (gw_ckpt_load(path, &r->nn, &r->opt, r->use_ema ? &r->ema : NULL, &r->st) == 0) break;
    }
    fprintf(stderr, "gw train: %s cannot be read back (%s); trying the checkpoint before it\n",
            path, gw_last_error());
  }
  if (r->st.total_steps > 0 && r->st.total_steps != r->total_steps) {
    gw_set_error("%s: the schedule was %lld steps long, the config now gives %lld", path,
                 (long long)r->st.total_steps, (long long)r->total_steps);
    return -1;
  }
  r->nn.dropout = r->st.dropout;
  if (trim_log(r->log_csv, r->st.step, "%lld,", "log.csv") < 0 ||
      trim_log(r->metrics_f, r->st.step, "{\"step\": %lld", "metrics.jsonl") < 0)
    return -1;
  printf("resumed at step %lld (epoch %lld, sample %lld of the epoch) from %s\n",
         (long long)r->st.step, (long long)r->st.data.epoch, (long long)r->st.data.position, path);
  fflush(stdout);
  return 0;
}

static int setup(run *r) {
  const gw_train_opts *o = &r->opts;
  char cfg_path[1200];
  const char *cfg_file = o->config;
  if (o->resume) {
    if (o->config || o->n_overrides) {
      gw_set_error("--resume continues %s with its own config; a config file or key=value "
                   "overrides cannot be combined with it", o->resume);
      return -1;
    }
    if (o->init_from) {
      gw_set_error("--resume and --init-from cannot be combined: --resume continues a run with all "
                   "its state, --init-from starts a new run from another run's weights");
      return -1;
    }
    snprintf(cfg_path, sizeof cfg_path, "%s/config.yaml", o->resume);
    cfg_file = cfg_path;
    snprintf(r->dir, sizeof r->dir, "%s", o->resume);
  }
  if (gw_train_load_config(&r->cfg, cfg_file, o->n_overrides, o->overrides, &r->ops) < 0) return -1;
  r->config_yaml = gw_config_to_yaml(&r->cfg);
  if (!o->resume) {
    if (o->out_dir) {
      snprintf(r->dir, sizeof r->dir, "%s", o->out_dir);
    } else {  // runs/<config file name without .yaml>
      const char *base = strrchr(o->config, '/');
      base = base ? base + 1 : o->config;
      snprintf(r->dir, sizeof r->dir, "runs/%.*s", (int)strcspn(base, "."), base);
    }
  }
  int threads = (int)gw_cfg_int(&r->cfg, "train.threads");
  if (threads > 0) gw_set_threads(threads);
  if (!o->quiet) printf("# resolved config\n%s", r->config_yaml);
  if (gw_train_data_dir(&r->cfg, r->ops, r->data_dir, sizeof r->data_dir, o->quiet) < 0) return -1;
  const char *train_split = gw_cfg_str(&r->cfg, "data.train_split");
  if (gw_train_open_split(&r->cfg, r->ops, r->data_dir, train_split, true, &r->train) < 0) return -1;
  char splits[512];
  snprintf(splits, sizeof splits, "%s", gw_cfg_str(&r->cfg, "data.eval_splits"));
  for (char *s = strtok(splits, ", "); s && r->n_eval < 8; s = strtok(NULL, ", ")) {
    if (gw_train_open_split(&r->cfg, r->ops, r->data_dir, s, false, &r->eval[r->n_eval]) < 0)
      return -1;
    snprintf(r->eval_names[r->n_eval++], 64, "%s", s);
  }
  r->labels = gw_train_label_names(r->data_dir, &r->train);
  if (open_run_dir(r) < 0) return -1;
  gw_nn_init(&r->nn, (uint64_t)gw_cfg_int(&r->cfg, "train.seed"));
  r->info = (gw_model_info){.image_size = r->train.size, .vocab_size = r->train.vocab.size,
                            .max_len = r->train.max_len, .n_answers = r->train.n_answers,
                            .n_classes = r->train.n_classes};
  r->model = r->ops->create(&r->nn, &r->cfg, &r->info);
  gw_optim_init(&r->opt, &r->nn, optim_cfg(&r->cfg));
  for (int g = 0;; g++) {
    char key[64], lr_key[64], wd_key[64], name[32];
    snprintf(key, sizeof key, "train.groups.%d.prefix", g);
    snprintf(lr_key, sizeof lr_key, "train.groups.%d.lr", g);
    snprintf(wd_key, sizeof wd_key, "train.groups.%d.weight_decay", g);
    if (!gw_cfg_has(&r->cfg, key)) {
      if (gw_cfg_has(&r->cfg, lr_key) || gw_cfg_has(&r->cfg, wd_key)) {
        gw_set_error("%s: train.groups.%d has no prefix (which parameters are in the group?)",
                     r->cfg.path, g);
        return -1;
      }
      break;
    }
    snprintf(name, sizeof name, "%s", gw_cfg_str(&r->cfg, key));
    double lr = gw_cfg_has(&r->cfg, lr_key) ? gw_cfg_float(&r->cfg, lr_key) : gw_cfg_float(&r->cfg, "train.lr");
    double wd = gw_cfg_has(&r->cfg, wd_key) ? gw_cfg_float(&r->cfg, wd_key) : gw_cfg_float(&r->cfg, "train.weight_decay");
    int moved = gw_optim_add_group(&r->opt, name, gw_cfg_str(&r->cfg, key), (float)lr, (float)wd);
    if (moved == 0) {
      gw_set_error("%s: train.groups.%d.prefix '%s' matches no parameter", r->cfg.path, g,
                   gw_cfg_str(&r->cfg, key));
      return -1;
    }
  }
  float ema = (float)gw_cfg_float(&r->cfg, "train.ema");
  r->use_ema = ema > 0.0f;
  if (r->use_ema) gw_ema_init(&r->ema, &r->nn, ema);
  int batch = (int)gw_cfg_int(&r->cfg, "train.batch_size"), accum = (int)gw_cfg_int(&r->cfg, "train.accum");
  // an epoch: every full batch of the training split once (the loader drops the last partial
  // batch), in steps of `accum` batches
  int64_t per_epoch = (r->train.n_samples / batch) / accum;
  int64_t epochs = gw_cfg_int(&r->cfg, "train.epochs");
  r->total_steps = epochs > 0 ? epochs * (per_epoch > 0 ? per_epoch : 1) : gw_cfg_int(&r->cfg, "train.steps");
  const char *sched = gw_cfg_str(&r->cfg, "train.schedule");
  if (strcmp(sched, "warmup_cosine")) r->warmup = gw_cfg_int(&r->cfg, "train.warmup_steps");
  r->sched = (gw_schedule){.kind = gw_schedule_kind_from_name(sched), .total_steps = r->total_steps,
                           .warmup_steps = gw_cfg_int(&r->cfg, "train.warmup_steps"),
                           .min_factor = (float)gw_cfg_float(&r->cfg, "train.min_lr_factor"),
                           .step_size = gw_cfg_int(&r->cfg, "train.step_size"),
                           .gamma = (float)gw_cfg_float(&r->cfg, "train.gamma")};
  r->best_metric = gw_cfg_str(&r->cfg, "train.best_metric");
  if (!r->best_metric[0]) r->best_metric = gw_main_metric(r->ops->task);
  r->st = (gw_train_state){.best_value = -INFINITY, .best_step = -1};
  if (o->init_from) {
    gw_h5 *f = gw_h5_open(o->init_from);
    if (!f) return -1;
    int loaded = gw_nn_load(&r->nn, f, "params", (gw_load_opts){.strict = false});
    for (int i = 0; i < r->nn.count && loaded > 0 && !o->quiet; i++) {
      char name[600];
      snprintf(name, sizeof name, "params/%s", r->nn.items[i].name);
      if (!gw_h5_exists(f, name))
        fprintf(stderr, "init: %s is not in %s: it keeps its initialisation\n", r->nn.items[i].name,
                o->init_from);
    }
    gw_h5_close(f);
    if (loaded < 0) return -1;
    if (loaded == 0) {
      gw_set_error("%s: no tensor of the checkpoint matches this model's names (another model?)",
                   o->init_from);
      return -1;
    }
    if (!o->quiet)
      fprintf(stderr, "init: %d of %d tensors loaded from %s (the rest keep their initialisation)\n",
              loaded, r->nn.count, o->init_from);
    uint64_t theirs;
    if (!o->quiet && r->train.vocab.size && gw_ckpt_vocab_hash(o->init_from, &theirs) == 0 &&
        theirs != gw_vocab_hash(&r->train.vocab))
      fprintf(stderr, "init: %s was trained with another vocabulary than this data set's: word "
              "ids now name other words\n", o->init_from);
    if (r->use_ema) {  // the average starts from the loaded weights
      gw_ema_free(&r->ema);
      gw_ema_init(&r->ema, &r->nn, ema);
    }
  }
  if (o->resume && resume_state(r) < 0) return -1;
  gw_augment aug = {.flip = gw_cfg_bool(&r->cfg, "data.augment.flip"),
                    .scale = (float)gw_cfg_float(&r->cfg, "data.augment.scale"),
                    .translate = (float)gw_cfg_float(&r->cfg, "data.augment.translate"),
                    .brightness = (float)gw_cfg_float(&r->cfg, "data.augment.brightness"),
                    .noise = (float)gw_cfg_float(&r->cfg, "data.augment.noise")};
  if (gw_loader_open(&r->loader, &r->train, batch, true, true, (uint64_t)gw_cfg_int(&r->cfg, "train.seed"),
                     aug, r->st.data, (int)gw_cfg_int(&r->cfg, "data.prefetch")) < 0)
    return -1;
  r->tty = isatty(2) && !o->quiet;
  if (!o->quiet) {
    printf("model %s: %lld parameters (%lld trainable); data %s (%lld training samples of %dx%d)\n",
           r->ops->name, (long long)gw_nn_param_count(&r->nn, false),
           (long long)gw_nn_param_count(&r->nn, true), r->data_dir, (long long)r->train.n_samples,
           r->train.size, r->train.size);
    printf("threads %d; batch %d x accum %d = effective batch %d; %lld steps", gw_get_threads(),
           batch, accum, batch * accum, (long long)r->total_steps);
    if (epochs > 0) printf(" (%lld epochs of %lld)", (long long)epochs, (long long)per_epoch);
    printf("; seed %lld\n", (long long)gw_cfg_int(&r->cfg, "train.seed"));
    printf("optimizer %s, learning rates:", gw_cfg_str(&r->cfg, "train.optimizer"));
    for (int g = 0; g < r->opt.n_groups; g++)
      printf(" %s %g%s", r->opt.groups[g].name, r->opt.groups[g].lr, g + 1 < r->opt.n_groups ? "," : "");
    printf("; schedule %s", sched);
    int64_t warm = gw_cfg_int(&r->cfg, "train.warmup_steps");
    if (warm > 0) printf(" after %lld warm-up steps", (long long)warm);
    float clip = (float)gw_cfg_float(&r->cfg, "train.clip_grad");
    if (clip > 0) printf("; grad norm clipped to %g", clip);
    if (r->use_ema) printf("; EMA %g", ema);
    printf("\nrun dir %s\n", r->dir);
    fflush(stdout);
  }
  return 0;
}

static void teardown(run *r) {
  if (r->loader.d) gw_loader_close(&r->loader);
  gw_dataset_close(&r->train);
  for (int k = 0; k < r->n_eval; k++) gw_dataset_close(&r->eval[k]);
  if (r->model) r->ops->destroy(r->model);
  if (r->opt.slots) gw_optim_free(&r->opt);
  if (r->use_ema) gw_ema_free(&r->ema);
  gw_nn_free(&r->nn);
  if (r->log_csv) fclose(r->log_csv);
  if (r->metrics_f) fclose(r->metrics_f);
  free(r->config_yaml);
  free(r->labels);
  gw_config_free(&r->cfg);
}

static void format_eta(double seconds, char *buf, size_t len) {
  long s = (long)seconds;
  if (s >= 3600) snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

// log.csv's header: step, loss, a column per loss term (loss_<name>), lr, grad_norm, seconds.
static void write_log_header(run *r, const gw_loss_terms *terms) {
  fprintf(r->log_csv, "step,loss");
  for (int t = 0; t < terms->n; t++) fprintf(r->log_csv, ",loss_%s", terms->names[t]);
  fprintf(r->log_csv, ",lr,grad_norm,seconds\n");
  r->log_header = true;
}

int gw_train_main(const gw_train_opts *o) {
  gw_init();
  run *r = calloc(1, sizeof *r);
  r->opts = *o;
  int rc = 0;
  if (setup(r) < 0) {
    fail(gw_last_error());
    teardown(r);
    free(r);
    return 1;
  }
  stop_requested = 0;
  struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int accum = (int)gw_cfg_int(&r->cfg, "train.accum");
  int64_t eval_every = gw_cfg_int(&r->cfg, "train.eval_every"), ckpt_every = gw_cfg_int(&r->cfg, "train.ckpt_every");
  int64_t log_every = gw_cfg_int(&r->cfg, "train.log_every"), eval_max = gw_cfg_int(&r->cfg, "train.eval_max");
  int keep = (int)gw_cfg_int(&r->cfg, "train.keep_last");
  float clip = (float)gw_cfg_float(&r->cfg, "train.clip_grad");
  double t_start = now_s(), t_train = 0.0;  // t_train: seconds in training steps (no evaluation)
  int64_t steps_here = 0, period_images = 0;
  double period_seconds = 0.0;
  while (r->st.step < r->total_steps) {
    double t0 = now_s();
    gw_nn_zero_grad(&r->nn);
    double loss_sum = 0.0;
    gw_loss_terms terms_sum = {0};
    int64_t samples = 0;
    bool bad = false;
    for (int micro = 0; micro < accum && !bad; micro++) {
      const gw_batch *b = gw_loader_next(&r->loader);
      gw_inputs in;
      gw_inputs_from_batch(&in, b, &r->train);
      gw_loss_terms terms = {0};
      gw_tensor *loss = r->ops->loss(r->model, &in, &terms);
      float lv = gw_item(loss);
      if (!isfinite(lv)) {
        explain_non_finite(r, &in, "loss");
        bad = true;
        break;
      }
      gw_backward(accum > 1 ? gw_mul_scalar(loss, 1.0f / (float)accum) : loss);
      // a non-finite gradient is explained while this micro-batch is still at hand
      if (!isfinite(gw_grad_norm(&r->nn))) {
        explain_non_finite(r, &in, "gradient");
        bad = true;
        break;
      }
      loss_sum += lv / accum;
      for (int t = 0; t < terms.n; t++) {
        terms_sum.names[t] = terms.names[t];
        terms_sum.values[t] += terms.values[t] / (float)accum;
      }
      terms_sum.n = terms.n;
      samples += b->n;
      gw_step_end();
    }
    if (bad) {
      rc = 1;
      break;
    }
    float gnorm = clip > 0.0f ? gw_clip_grad_norm(&r->nn, clip) : gw_grad_norm(&r->nn);
    if (!isfinite(gnorm)) {
      fprintf(stderr, "gw train: step %lld: the gradient norm is not finite; the last good "
              "checkpoint is kept. HINT: set train.clip_grad or lower train.lr\n", (long long)r->st.step);
      rc = 1;
      break;
    }
    float factor = lr_factor(r, r->st.step);
    gw_optim_step(&r->opt, factor);
    if (r->use_ema) gw_ema_update(&r->ema);
    gw_step_end();
    r->st.step++;
    steps_here++;
    double dt = now_s() - t0;
    t_train += dt;
    period_seconds += dt;
    period_images += samples;
    if (!r->log_header) write_log_header(r, &terms_sum);
    fprintf(r->log_csv, "%lld,%.6g", (long long)r->st.step, loss_sum);
    for (int t = 0; t < terms_sum.n; t++) fprintf(r->log_csv, ",%.6g", terms_sum.values[t]);
    fprintf(r->log_csv, ",%.6g,%.6g,%.4f\n", r->opt.groups[0].lr * factor, gnorm, dt);
    fflush(r->log_csv);  // a killed run keeps every row it logged
    if (!o->quiet && (r->tty || r->st.step % log_every == 0 || r->st.step == r->total_steps)) {
      // rate over the steps since the last line; ETA from the mean training step so far
      char eta[32];
      format_eta(t_train / steps_here * (r->total_steps - r->st.step), eta, sizeof eta);
      fprintf(stderr, "%sstep %lld/%lld  loss %.4f  lr %.3g  %.0f images/s  data %.1f ms/batch  "
              "peak mem %.0f MiB  eta %s%s",
              r->tty ? "\r\033[K" : "", (long long)r->st.step, (long long)r->total_steps, loss_sum,
              r->opt.groups[0].lr * factor, period_images / period_seconds,
              1e3 * gw_loader_wait_per_batch(&r->loader), peak_rss_mib(), eta, r->tty ? "" : "\n");
      period_images = 0;
      period_seconds = 0.0;
    }
    bool last = r->st.step == r->total_steps;
    bool stop = stop_requested || (o->stop_after && steps_here >= o->stop_after);
    if (!stop && eval_every > 0 && r->st.step % eval_every == 0 && !last) {
      double v = evaluate_all(r, eval_max, false);
      if (isfinite(v) && v > r->st.best_value) {
        r->st.best_value = v;
        r->st.best_step = r->st.step;
        if (save_checkpoint(r, "best.h5") < 0) fail(gw_last_error());
      }
    }
    if (stop || last || r->st.step % ckpt_every == 0) {
      char name[64];
      snprintf(name, sizeof name, "step_%lld.h5", (long long)r->st.step);
      if (save_checkpoint(r, name) < 0) {
        fail(gw_last_error());
        rc = 1;
        break;
      }
      prune_checkpoints(r->dir, keep);
    }
    if (stop) {
      fprintf(stderr, "%sgw train: stopped at step %lld; checkpoint written. `gw train --resume %s` "
              "continues.\n", r->tty ? "\r\033[K" : "", (long long)r->st.step, r->dir);
      rc = 130;
      break;
    }
  }
  if (rc == 0) {
    if (r->tty) fprintf(stderr, "\n");
    double v = evaluate_all(r, 0, true);
    if (isfinite(v) && v > r->st.best_value) {
      r->st.best_value = v;
      r->st.best_step = r->st.step;
      if (save_checkpoint(r, "best.h5") < 0) fail(gw_last_error());
    }
  }
  // every run ends with its report: finished, stopped (the curves so far) or failed (the curve
  // that blew up)
  if (gw_report_write(r->dir) < 0) fprintf(stderr, "gw train: report: %s\n", gw_last_error());
  if (rc == 0 && !o->quiet)
    printf("done: %lld steps in %.1f s (%.1f ms per step); %s; report %s/report.html\n",
           (long long)r->st.step, now_s() - t_start, steps_here ? 1e3 * t_train / steps_here : 0.0,
           r->dir, r->dir);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  teardown(r);
  free(r);
  return rc;
}
