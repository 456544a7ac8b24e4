// gw info CKPT: what a checkpoint holds (tensors and shapes, step, model, config).
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "cli/cli.h"
#include "groundwork.h"

typedef struct list_ctx {
  gw_h5 *f;
  const char *group;
  int64_t total;
} list_ctx;

static void print_tensor(const char *name, void *vctx) {
  list_ctx *c = vctx;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", c->group, name);
  int nd;
  int64_t shape[GW_MAX_DIMS];
  if (gw_h5_array_shape(c->f, path, &nd, shape) < 0) return;
  int64_t n = 1;
  for (int i = 0; i < nd; i++) n *= shape[i];
  c->total += n;
  printf("  %-50s %s\n", name, gw_shape_str_n(nd, shape));
}

int cmd_info(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fprintf(argc < 2 ? stderr : stdout, "usage: gw info CKPT   (tensors, shapes, step, model and config)\n");
    return argc < 2 ? 2 : 0;
  }
  gw_init();
  gw_h5 *f = gw_h5_open(argv[1]);
  char *has_model = f ? gw_h5_get_attr_str(f, "", "model") : NULL;
  if (f && !has_model && !gw_h5_exists(f, "params")) {
    fprintf(stderr, "gw info: %s is an HDF5 file but not a checkpoint (no model, no params/)\n",
            argv[1]);
    gw_h5_close(f);
    return 1;
  }
  free(has_model);
  if (!f) {
    fprintf(stderr, "gw info: %s\n", gw_last_error());
    return 1;
  }
  char *model = gw_h5_get_attr_str(f, "", "model");
  int64_t step = -1, v;
  gw_h5_get_attr_i64(f, "", "step", &step);
  printf("%s\n  model %s, step %lld", argv[1], model ? model : "?", (long long)step);
  if (gw_h5_get_attr_i64(f, "", "schedule_total_steps", &v) == 0) printf(" of %lld", (long long)v);
  if (gw_h5_get_attr_i64(f, "", "param_count", &v) == 0) printf(", %lld trainable parameters", (long long)v);
  printf("\n");
  free(model);
  int64_t epoch, pos, best_step;
  if (gw_h5_get_attr_i64(f, "", "data_epoch", &epoch) == 0 &&
      gw_h5_get_attr_i64(f, "", "data_position", &pos) == 0)
    printf("  data cursor: epoch %lld, sample %lld of the epoch\n", (long long)epoch, (long long)pos);
  if (gw_h5_get_attr_i64(f, "", "best_step", &best_step) == 0 && best_step >= 0) {
    int64_t bits;
    double best = 0.0;
    if (gw_h5_get_attr_i64(f, "", "best_value_bits", &bits) == 0) memcpy(&best, &bits, sizeof best);
    printf("  best evaluation so far: %.4f at step %lld\n", best, (long long)best_step);
  }
  static const char *const built[] = {"image_size", "vocab_size", "max_len", "n_answers", "n_classes"};
  bool any = false;
  for (int k = 0; k < 5; k++)
    if (gw_h5_get_attr_i64(f, "", built[k], &v) == 0) {
      printf("%s%s %lld", any ? ", " : "  built for: ", built[k], (long long)v);
      any = true;
    }
  if (any) printf("\n");
  int64_t hash;
  char *vocab = gw_h5_get_attr_str(f, "", "vocab");
  if (vocab && gw_h5_get_attr_i64(f, "", "vocab_hash", &hash) == 0) {
    int words = 0;
    for (const char *p = vocab; *p; p++) words += *p == '\n';
    printf("  vocabulary: %d tokens (FNV-1a %016llx)\n", words, (unsigned long long)hash);
  }
  free(vocab);
  char *labels = gw_h5_get_attr_str(f, "", "labels");
  if (labels) {
    int n = 0;
    for (const char *p = labels; *p; p++) n += *p == '\n';
    printf("  labels: %d (", n);
    int shown = 0;
    for (const char *p = labels; *p && shown < 8; shown++) {
      int len = (int)strcspn(p, "\n");
      printf("%s%.*s", shown ? ", " : "", len, p);
      p += len + (p[len] == '\n');
    }
    printf("%s)\n", n > 8 ? ", ..." : "");
  }
  free(labels);
  const char *groups[] = {"params", "ema"};
  for (int g = 0; g < 2; g++) {
    if (!gw_h5_exists(f, groups[g])) continue;
    printf("%s:\n", groups[g]);
    list_ctx c = {f, groups[g], 0};
    gw_h5_list(f, groups[g], print_tensor, &c);
    printf("  (%lld values)\n", (long long)c.total);
  }
  int64_t updates;
  if (gw_h5_exists(f, "ema") && gw_h5_get_attr_i64(f, "", "ema_updates", &updates) == 0)
    printf("EMA updates: %lld\n", (long long)updates);
  if (gw_h5_exists(f, "optim")) printf("optimizer state: yes\n");
  char *cfg = gw_h5_get_attr_str(f, "", "config");
  if (cfg) printf("config:\n%s", cfg);
  free(cfg);
  gw_h5_close(f);
  return 0;
}
