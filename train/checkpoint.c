#include "train/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/h5io.h"

static int set_u64(gw_h5 *f, const char *attr, uint64_t v) {
  int64_t s;
  memcpy(&s, &v, sizeof s);
  return gw_h5_set_attr_i64(f, "", attr, s);
}

static int get_u64(gw_h5 *f, const char *attr, uint64_t *v) {
  int64_t s;
  if (gw_h5_get_attr_i64(f, "", attr, &s) < 0) return -1;
  memcpy(v, &s, sizeof s);
  return 0;
}

static char *vocab_text(const gw_vocab *v) {
  size_t len = 1;
  for (int i = 0; i < v->size; i++) len += strlen(v->words[i]) + 1;
  char *s = malloc(len), *p = s;
  for (int i = 0; i < v->size; i++) p += sprintf(p, "%s\n", v->words[i]);
  *p = '\0';
  return s;
}

int gw_ckpt_save(const char *path, gw_nn *nn, const gw_optim *opt, const gw_ema *ema,
                 const gw_train_state *st, const gw_ckpt_meta *meta) {
  static const gw_ckpt_meta none = {0};
  if (!meta) meta = &none;
  const char *config_yaml = meta->config_yaml, *model_name = meta->model_name;
  const gw_vocab *vocab = meta->vocab;
  const gw_model_info *info = meta->info;
  gw_h5 *f = gw_h5_create(path);
  if (!f) return -1;
  int rc = gw_nn_save(nn, f, "params");
  if (rc == 0 && ema) {
    char name[600];
    for (int i = 0; i < ema->count && rc == 0; i++) {
      snprintf(name, sizeof name, "ema/%s", nn->items[i].name);
      rc = gw_h5_write_tensor(f, name, ema->shadow[i]);
    }
    if (rc == 0) rc = gw_h5_set_attr_i64(f, "", "ema_updates", ema->updates);
  }
  if (rc == 0 && opt) rc = gw_optim_save(opt, f);
  if (rc == 0 && st) {
    rc |= gw_h5_set_attr_i64(f, "", "step", st->step);
    rc |= gw_h5_set_attr_i64(f, "", "data_epoch", st->data.epoch);
    rc |= gw_h5_set_attr_i64(f, "", "data_position", st->data.position);
    rc |= set_u64(f, "dropout_key", st->dropout.key);
    rc |= set_u64(f, "dropout_counter", st->dropout.counter);
    uint64_t best;
    memcpy(&best, &st->best_value, sizeof best);
    rc |= set_u64(f, "best_value_bits", best);
    rc |= gw_h5_set_attr_i64(f, "", "best_step", st->best_step);
    if (st->total_steps > 0) rc |= gw_h5_set_attr_i64(f, "", "schedule_total_steps", st->total_steps);
  }
  if (rc == 0) rc = gw_h5_set_attr_i64(f, "", "param_count", gw_nn_param_count(nn, true));
  if (rc == 0 && meta->labels) rc = gw_h5_set_attr_str(f, "", "labels", meta->labels);
  if (rc == 0 && config_yaml) rc = gw_h5_set_attr_str(f, "", "config", config_yaml);
  if (rc == 0 && model_name) rc = gw_h5_set_attr_str(f, "", "model", model_name);
  if (rc == 0 && info) {
    rc |= gw_h5_set_attr_i64(f, "", "image_size", info->image_size);
    rc |= gw_h5_set_attr_i64(f, "", "vocab_size", info->vocab_size);
    rc |= gw_h5_set_attr_i64(f, "", "max_len", info->max_len);
    rc |= gw_h5_set_attr_i64(f, "", "n_answers", info->n_answers);
    rc |= gw_h5_set_attr_i64(f, "", "n_classes", info->n_classes);
  }
  if (rc == 0 && vocab && vocab->size) {
    char *text = vocab_text(vocab);
    rc = gw_h5_set_attr_str(f, "", "vocab", text);
    free(text);
    if (rc == 0) rc = set_u64(f, "vocab_hash", gw_vocab_hash(vocab));
  }
  if (rc != 0) {
    gw_h5_abandon(f);
    return -1;
  }
  return gw_h5_close(f);
}

int gw_ckpt_load(const char *path, gw_nn *nn, gw_optim *opt, gw_ema *ema, gw_train_state *st) {
  gw_h5 *f = gw_h5_open(path);
  if (!f) return -1;
  int rc = gw_nn_load(nn, f, "params", (gw_load_opts){.strict = true}) < 0 ? -1 : 0;
  if (rc == 0 && ema) {
    char name[600];
    for (int i = 0; i < ema->count && rc == 0; i++) {
      snprintf(name, sizeof name, "ema/%s", nn->items[i].name);
      if (!gw_h5_exists(f, name)) {
        gw_set_error("%s: no EMA weights in this checkpoint (was train.ema off?)", path);
        rc = -1;
      } else {
        rc = gw_h5_read_tensor_into(f, name, ema->shadow[i]);
      }
    }
    if (rc == 0 && gw_h5_get_attr_i64(f, "", "ema_updates", &ema->updates) < 0) rc = -1;
  }
  if (rc == 0 && opt) rc = gw_optim_load(opt, f);
  if (rc == 0 && st) {
    uint64_t best;
    if (gw_h5_get_attr_i64(f, "", "step", &st->step) < 0 ||
        gw_h5_get_attr_i64(f, "", "data_epoch", &st->data.epoch) < 0 ||
        gw_h5_get_attr_i64(f, "", "data_position", &st->data.position) < 0 ||
        get_u64(f, "dropout_key", &st->dropout.key) < 0 ||
        get_u64(f, "dropout_counter", &st->dropout.counter) < 0 ||
        get_u64(f, "best_value_bits", &best) < 0 ||
        gw_h5_get_attr_i64(f, "", "best_step", &st->best_step) < 0) {
      char keep[2048];
      snprintf(keep, sizeof keep, "%s", gw_last_error());
      gw_set_error("%s: the training state is incomplete (%s)", path, keep);
      rc = -1;
    } else {
      memcpy(&st->best_value, &best, sizeof best);
      if (gw_h5_get_attr_i64(f, "", "schedule_total_steps", &st->total_steps) < 0)
        st->total_steps = 0;  // written before the schedule's length was recorded
    }
  }
  gw_h5_close(f);
  return rc;
}

static char *string_attr(const char *path, const char *attr) {
  gw_h5 *f = gw_h5_open(path);
  if (!f) return NULL;
  char *s = gw_h5_get_attr_str(f, "", attr);
  gw_h5_close(f);
  return s;
}

char *gw_ckpt_config(const char *path) { return string_attr(path, "config"); }

int gw_ckpt_model_info(const char *path, gw_model_info *info) {
  gw_h5 *f = gw_h5_open(path);
  if (!f) return -1;
  int64_t v[5];
  const char *names[5] = {"image_size", "vocab_size", "max_len", "n_answers", "n_classes"};
  int rc = 0;
  for (int i = 0; i < 5 && rc == 0; i++) rc = gw_h5_get_attr_i64(f, "", names[i], &v[i]);
  gw_h5_close(f);
  if (rc < 0) return -1;
  *info = (gw_model_info){.image_size = (int)v[0], .vocab_size = (int)v[1], .max_len = (int)v[2],
                          .n_answers = (int)v[3], .n_classes = (int)v[4]};
  return 0;
}
char *gw_ckpt_model_name(const char *path) { return string_attr(path, "model"); }

int gw_ckpt_vocab(const char *path, gw_vocab *v) {
  char *text = string_attr(path, "vocab");
  if (!text) return -1;
  gw_vocab_from_lines(v, text);
  free(text);
  return 0;
}

int gw_ckpt_vocab_hash(const char *path, uint64_t *hash) {
  gw_h5 *f = gw_h5_open(path);
  if (!f) return -1;
  int rc = get_u64(f, "vocab_hash", hash);
  gw_h5_close(f);
  return rc;
}

char *gw_ckpt_labels(const char *path) {
  gw_h5 *f = gw_h5_open(path);
  if (!f) return NULL;
  char *s = gw_h5_get_attr_str(f, "", "labels");
  gw_h5_close(f);
  return s;
}

int64_t gw_ckpt_step(const char *path) {
  gw_h5 *f = gw_h5_open(path);
  if (!f) return -1;
  int64_t step;
  if (gw_h5_get_attr_i64(f, "", "step", &step) < 0) step = -1;
  gw_h5_close(f);
  return step;
}
