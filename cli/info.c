// gw info CKPT: what a checkpoint holds (tensors and shapes, step, model, config).
#include <stdio.h>
#include <stdlib.h>
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
  if (!f) {
    fprintf(stderr, "gw info: %s\n", gw_last_error());
    return 1;
  }
  char *model = gw_h5_get_attr_str(f, "", "model");
  int64_t step = -1;
  gw_h5_get_attr_i64(f, "", "step", &step);
  printf("%s\n  model %s, step %lld\n", argv[1], model ? model : "?", (long long)step);
  free(model);
  const char *groups[] = {"params", "ema"};
  for (int g = 0; g < 2; g++) {
    if (!gw_h5_exists(f, groups[g])) continue;
    printf("%s:\n", groups[g]);
    list_ctx c = {f, groups[g], 0};
    gw_h5_list(f, groups[g], print_tensor, &c);
    printf("  (%lld values)\n", (long long)c.total);
  }
  if (gw_h5_exists(f, "optim")) printf("optimizer state: yes\n");
  char *cfg = gw_h5_get_attr_str(f, "", "config");
  if (cfg) printf("config:\n%s", cfg);
  free(cfg);
  gw_h5_close(f);
  return 0;
}
