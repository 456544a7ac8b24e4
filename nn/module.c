#include "nn/module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_nn_init(gw_nn *nn, uint64_t seed) {
  memset(nn, 0, sizeof *nn);
  nn->init = gw_rng_stream(seed, "init");
  nn->dropout = gw_rng_stream(seed, "dropout");
  nn->training = true;
}

void gw_nn_free(gw_nn *nn) {
  free(nn->items);
  memset(nn, 0, sizeof *nn);
}

const char *gw_nn_name(const char *prefix, const char *leaf) {
  size_t n = strlen(prefix) + strlen(leaf) + 2;
  char *s = gw_arena_alloc(gw_persistent_arena(), n, "module name");
  if (prefix[0])
    snprintf(s, n, "%s.%s", prefix, leaf);
  else
    snprintf(s, n, "%s", leaf);
  return s;
}

const char *gw_nn_name_i(const char *prefix, const char *leaf, int index) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s.%d", leaf, index);
  return gw_nn_name(prefix, buf);
}

gw_named *gw_nn_find(gw_nn *nn, const char *name) {
  for (int i = 0; i < nn->count; i++)
    if (!strcmp(nn->items[i].name, name)) return &nn->items[i];
  return NULL;
}

static gw_tensor *add(gw_nn *nn, const char *prefix, const char *leaf, int ndim,
                      const int64_t *shape, bool buffer, bool no_decay) {
  const char *name = gw_nn_name(prefix, leaf);
  GW_CHECK(!gw_nn_find(nn, name), "module: the name '%s' is registered twice", name);
  if (nn->count == nn->capacity) {
    nn->capacity = nn->capacity ? 2 * nn->capacity : 64;
    nn->items = realloc(nn->items, (size_t)nn->capacity * sizeof *nn->items);
    GW_CHECK(nn->items, "module: out of memory registering '%s'", name);
  }
  gw_tensor *t = gw_zeros_in(gw_persistent_arena(), GW_F32, ndim, shape);
  t->name = name;
  t->is_param = true;  // its .grad persists across steps
  t->requires_grad = !buffer;
  nn->items[nn->count++] = (gw_named){name, t, buffer, no_decay};
  return t;
}

gw_tensor *gw_nn_param(gw_nn *nn, const char *prefix, const char *leaf, int ndim,
                       const int64_t *shape, bool no_decay) {
  return add(nn, prefix, leaf, ndim, shape, false, no_decay);
}

gw_tensor *gw_nn_buffer(gw_nn *nn, const char *prefix, const char *leaf, int ndim,
                        const int64_t *shape) {
  return add(nn, prefix, leaf, ndim, shape, true, true);
}

void gw_nn_train(gw_nn *nn, bool training) { nn->training = training; }

static bool starts_with(const char *s, const char *prefix) {
  size_t n = strlen(prefix);
  return !strncmp(s, prefix, n) && (n == 0 || s[n] == '\0' || s[n] == '.' || prefix[n - 1] == '.');
}

int gw_nn_freeze(gw_nn *nn, const char *prefix, bool frozen) {
  int changed = 0;
  for (int i = 0; i < nn->count; i++) {
    gw_named *p = &nn->items[i];
    if (p->buffer || !starts_with(p->name, prefix)) continue;
    if (p->tensor->requires_grad == frozen) changed++;
    p->tensor->requires_grad = !frozen;
  }
  return changed;
}

int64_t gw_nn_param_count(const gw_nn *nn, bool trainable_only) {
  int64_t total = 0;
  for (int i = 0; i < nn->count; i++) {
    const gw_named *p = &nn->items[i];
    if (p->buffer || (trainable_only && !p->tensor->requires_grad)) continue;
    total += gw_numel(p->tensor);
  }
  return total;
}

void gw_nn_zero_grad(gw_nn *nn) {
  for (int i = 0; i < nn->count; i++) gw_zero_grad(nn->items[i].tensor);
}
