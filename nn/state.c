#include "nn/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *join(char *buf, size_t n, const char *a, const char *b, const char *c) {
  snprintf(buf, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
  return buf;
}

int gw_nn_save(gw_nn *nn, gw_h5 *f, const char *group) {
  char path[512];
  for (int i = 0; i < nn->count; i++)
    if (gw_h5_write_tensor(f, join(path, sizeof path, group, nn->items[i].name, NULL),
                           nn->items[i].tensor) < 0)
      return -1;
  return 0;
}

typedef struct name_list {
  char **names;
  int count, capacity;
} name_list;

static void collect(const char *name, void *ctx) {
  name_list *l = ctx;
  if (l->count == l->capacity) {
    l->capacity = l->capacity ? 2 * l->capacity : 64;
    l->names = realloc(l->names, (size_t)l->capacity * sizeof *l->names);
  }
  l->names[l->count++] = strdup(name);
}

static void free_list(name_list *l) {
  for (int i = 0; i < l->count; i++) free(l->names[i]);
  free(l->names);
}

// Appends to a bounded message buffer.
static void append(char *msg, size_t cap, size_t *len, const char *fmt, const char *a,
                   const char *b, const char *c) {
  if (*len >= cap - 1) return;
  int n = snprintf(msg + *len, cap - *len, fmt, a, b, c);
  if (n > 0) *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

int gw_nn_load(gw_nn *nn, gw_h5 *f, const char *group, gw_load_opts opts) {
  const char *only = opts.only ? opts.only : "";
  const char *fprefix = opts.file_prefix ? opts.file_prefix : only;
  size_t only_n = strlen(only), fpre_n = strlen(fprefix);
  name_list in_file = {0};
  if (gw_h5_list(f, group, collect, &in_file) < 0) return -1;
  char msg[8192] = "";
  size_t len = 0;
  int bad = 0, loaded = 0;
  // The file name of a model tensor: its name with `only` replaced by `file_prefix`.
  char fname[512], path[600];
  bool *used = calloc((size_t)(in_file.count ? in_file.count : 1), sizeof *used);
  for (int i = 0; i < nn->count; i++) {
    gw_named *p = &nn->items[i];
    if (strncmp(p->name, only, only_n)) continue;
    snprintf(fname, sizeof fname, "%s%s", fprefix, p->name + only_n);
    int at = -1;
    for (int k = 0; k < in_file.count; k++)
      if (!strcmp(in_file.names[k], fname)) at = k;
    if (at < 0) {
      if (opts.strict) {
        append(msg, sizeof msg, &len, "\n  missing from the file: %s%s%s", fname, "", "");
        bad++;
      }
      continue;
    }
    used[at] = true;
    int nd;
    int64_t shape[GW_MAX_DIMS];
    snprintf(path, sizeof path, "%s/%s", group, fname);
    if (gw_h5_array_shape(f, path, &nd, shape) < 0) {
      bad++;
      continue;
    }
    bool same = nd == p->tensor->ndim;
    for (int d = 0; same && d < nd; d++) same = shape[d] == p->tensor->shape[d];
    if (!same) {
      char shapes[200];
      snprintf(shapes, sizeof shapes, "%s in the file, %s in the model", gw_shape_str_n(nd, shape),
               gw_shape_str(p->tensor));
      append(msg, sizeof msg, &len, "\n  shape mismatch: %s is %s%s", fname, shapes, "");
      bad++;
    }
  }
  if (opts.strict)
    for (int k = 0; k < in_file.count; k++)
      if (!used[k] && !strncmp(in_file.names[k], fprefix, fpre_n)) {
        append(msg, sizeof msg, &len, "\n  unexpected in the file: %s%s%s", in_file.names[k], "", "");
        bad++;
      }
  if (bad) {
    gw_set_error("%s: %d problem%s loading '%s' into the model:%s", gw_h5_path(f), bad,
                 bad > 1 ? "s" : "", group, msg);
    free(used);
    free_list(&in_file);
    return -1;
  }
  for (int i = 0; i < nn->count; i++) {
    gw_named *p = &nn->items[i];
    if (strncmp(p->name, only, only_n)) continue;
    snprintf(fname, sizeof fname, "%s%s", fprefix, p->name + only_n);
    snprintf(path, sizeof path, "%s/%s", group, fname);
    if (!gw_h5_exists(f, path)) continue;
    if (gw_h5_read_tensor_into(f, path, p->tensor) < 0) {
      free(used);
      free_list(&in_file);
      return -1;
    }
    loaded++;
  }
  free(used);
  free_list(&in_file);
  return loaded;
}

int gw_optim_save(const gw_optim *o, gw_h5 *f) {
  char path[600];
  for (int i = 0; i < o->n_slots; i++) {
    const gw_optim_slot *s = &o->slots[i];
    if (s->m && gw_h5_write_tensor(f, join(path, sizeof path, "optim", s->param->name, "m"), s->m) < 0)
      return -1;
    if (s->v && gw_h5_write_tensor(f, join(path, sizeof path, "optim", s->param->name, "v"), s->v) < 0)
      return -1;
    if (s->started)
      gw_h5_set_attr_i64(f, join(path, sizeof path, "optim", s->param->name, "m"), "started", 1);
  }
  return gw_h5_set_attr_i64(f, "", "optim_step", o->step);
}

int gw_optim_load(gw_optim *o, gw_h5 *f) {
  char path[600];
  for (int i = 0; i < o->n_slots; i++) {
    gw_optim_slot *s = &o->slots[i];
    if (s->m) {
      if (gw_h5_read_tensor_into(f, join(path, sizeof path, "optim", s->param->name, "m"), s->m) < 0)
        return -1;
      int64_t started = 0;
      s->started = gw_h5_get_attr_i64(f, path, "started", &started) == 0 && started;
    }
    if (s->v && gw_h5_read_tensor_into(f, join(path, sizeof path, "optim", s->param->name, "v"), s->v) < 0)
      return -1;
  }
  gw_clear_error();
  int64_t step;
  if (gw_h5_get_attr_i64(f, "", "optim_step", &step) < 0) return -1;
  o->step = step;
  return 0;
}
