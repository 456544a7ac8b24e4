// gw graph CONFIG [key=value ...] [--out FILE]: the autograd graph of one training step, as
// Graphviz DOT. Each op is a box with its name and output shape; parameters are ellipses with
// their dotted names. `dot -Tsvg graph.dot -o graph.svg` draws it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "models/model.h"
#include "train/trainer.h"

// The DOT id of a tensor: its producing node, or the leaf itself.
static void tensor_id(const gw_tensor *t, char *buf, size_t n) {
  if (t->node) snprintf(buf, n, "op%lld", (long long)t->node->seq);
  else snprintf(buf, n, "t%p", (const void *)t);
}

int cmd_graph(int argc, char **argv) {
  const char *config = NULL, *out_path = NULL;
  char **overrides = calloc((size_t)argc, sizeof *overrides);
  int n_over = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: gw graph CONFIG [key=value ...] [--out FILE]\n"
             "Writes the autograd graph of one training step as Graphviz DOT (stdout by default).\n");
      free(overrides);
      return 0;
    }
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
    else if (strchr(argv[i], '=')) overrides[n_over++] = argv[i];
    else if (!config) config = argv[i];
    else {
      fprintf(stderr, "gw graph: unknown argument '%s'\n", argv[i]);
      free(overrides);
      return 2;
    }
  }
  if (!config) {
    fprintf(stderr, "usage: gw graph CONFIG [key=value ...] [--out FILE]\n");
    free(overrides);
    return 2;
  }
  gw_init();
  gw_config cfg;
  const gw_model_ops *ops;
  char dir[1100];
  gw_dataset d;
  if (gw_train_load_config(&cfg, config, n_over, overrides, &ops) < 0 ||
      gw_train_data_dir(&cfg, ops, dir, sizeof dir, true) < 0 ||
      gw_dataset_open(&d, dir, gw_cfg_str(&cfg, "data.train_split"), ops->task) < 0) {
    fprintf(stderr, "gw graph: %s\n", gw_last_error());
    free(overrides);
    return 1;
  }
  free(overrides);
  gw_nn nn;
  gw_nn_init(&nn, 1);
  gw_model_info info = {.image_size = d.size, .vocab_size = d.vocab.size, .max_len = d.max_len,
                        .n_answers = d.n_answers, .n_classes = d.n_classes};
  char *labels = gw_train_label_names(dir, &d);
  info.labels = labels;
  void *model = ops->create(&nn, &cfg, &info);
  int batch = (int)gw_cfg_int(&cfg, "train.batch_size");
  if (batch > 4) batch = 4;  // the graph's shape does not depend on the batch size
  gw_loader l;
  if (gw_loader_open(&l, &d, batch, false, false, 0, (gw_augment){0}, (gw_loader_state){0}, 0) < 0) {
    fprintf(stderr, "gw graph: %s\n", gw_last_error());
    return 1;
  }
  gw_inputs in;
  gw_inputs_from_batch(&in, gw_loader_next(&l), &d);
  gw_loss_terms terms = {0};
  gw_tensor *loss = ops->loss(model, &in, &terms);
  FILE *out = out_path ? fopen(out_path, "w") : stdout;
  if (!out) {
    fprintf(stderr, "gw graph: cannot write %s\n", out_path);
    return 1;
  }
  fprintf(out, "digraph step {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
  int64_t ops_count = 0;
  for (gw_node *n = gw_tape_last(); n; n = n->prev) {
    ops_count++;
    fprintf(out, "  op%lld [shape=box, label=\"%s\\n%s\"];\n", (long long)n->seq, n->op,
            gw_shape_str(n->out));
    for (int k = 0; k < n->n_in; k++) {
      const gw_tensor *t = n->in[k];
      if (!t) continue;
      char id[64];
      tensor_id(t, id, sizeof id);
      if (!t->node)
        fprintf(out, "  %s [shape=ellipse, label=\"%s\\n%s\"%s];\n", id, t->name ? t->name : "input",
                gw_shape_str(t), t->is_param ? ", style=filled, fillcolor=\"#e8f0ff\"" : "");
      fprintf(out, "  %s -> op%lld;\n", id, (long long)n->seq);
    }
  }
  fprintf(out, "  op%lld [peripheries=2];\n}\n", (long long)(loss->node ? loss->node->seq : 0));
  if (out_path) {
    fclose(out);
    fprintf(stderr, "gw graph: %lld ops written to %s (draw it with: dot -Tsvg %s -o graph.svg)\n",
            (long long)ops_count, out_path, out_path);
  }
  gw_loader_close(&l);
  ops->destroy(model);
  free(labels);
  gw_dataset_close(&d);
  gw_nn_free(&nn);
  gw_config_free(&cfg);
  return 0;
}
