// small_cnn: the small convolutional classifier of the nn tests, as a configurable model.
//
//   x (B, 3, S, S) -> [conv3x3 - BN - ReLU - maxpool 2] x (stages - 1) -> conv3x3 - BN - ReLU
//                  -> global average pool -> linear -> class logits
//
// It trains on a few-shot classification set (task CLASSIFY) with cross-entropy, and serves as
// the smallest complete example of a model: read it first.
#include <stdlib.h>

#include "models/model.h"

static const gw_cfg_key KEYS[] = {
    {"model.name", GW_CFG_STRING, "small_cnn", 1, 0, NULL, "the model (see `gw train --list-models`)"},
    {"model.channels", GW_CFG_INT_LIST, "16,32,32", 1, 1024, NULL, "channels of each conv stage"},
    {"model.dropout", GW_CFG_FLOAT, "0", 0, 0.9, NULL, "dropout before the classifier"},
    {"model.label_smoothing", GW_CFG_FLOAT, "0", 0, 0.5, NULL, "cross-entropy label smoothing"},
};

enum { MAX_STAGES = 6 };

typedef struct small_cnn {
  gw_nn *nn;
  int n_stages;
  gw_conv_m conv[MAX_STAGES];
  gw_batchnorm_m bn[MAX_STAGES];
  gw_linear_m fc;
  float dropout, smoothing;
} small_cnn;

static void *create(gw_nn *nn, const gw_config *cfg, const gw_model_info *info) {
  small_cnn *m = calloc(1, sizeof *m);
  int64_t ch[MAX_STAGES];
  m->nn = nn;
  m->n_stages = gw_cfg_ints(cfg, "model.channels", ch, MAX_STAGES);
  GW_CHECK(m->n_stages >= 1, "small_cnn: model.channels needs at least one stage");
  GW_CHECK(info->n_classes >= 2, "small_cnn: the data set has %d classes", info->n_classes);
  int64_t in = 3;
  for (int s = 0; s < m->n_stages; s++) {
    gw_conv_init(&m->conv[s], nn, gw_nn_name_i("", "conv", s), in, ch[s], 3, 1, 1, 1, false);
    gw_batchnorm_init(&m->bn[s], nn, gw_nn_name_i("", "bn", s), ch[s], true);
    in = ch[s];
  }
  gw_linear_init(&m->fc, nn, "fc", in, info->n_classes, true);
  m->dropout = (float)gw_cfg_float(cfg, "model.dropout");
  m->smoothing = (float)gw_cfg_float(cfg, "model.label_smoothing");
  return m;
}

static gw_tensor *logits(small_cnn *m, gw_tensor *x) {
  for (int s = 0; s < m->n_stages; s++) {
    x = gw_relu(gw_batchnorm_forward(&m->bn[s], gw_conv_forward(&m->conv[s], x)));
    if (s + 1 < m->n_stages) x = gw_maxpool2d(x, 2, 2, 0);
  }
  x = gw_mean(x, 2, (int[]){2, 3}, false);
  return gw_linear_forward(&m->fc, gw_nn_dropout(m->nn, x, m->dropout));
}

static gw_tensor *loss(void *model, const gw_inputs *in, gw_loss_terms *terms) {
  small_cnn *m = model;
  gw_tensor *ce = gw_cross_entropy(logits(m, in->images), in->labels, -100, m->smoothing, GW_MEAN);
  gw_terms_add(terms, "ce", ce);
  return ce;
}

static void predict(void *model, const gw_inputs *in, gw_outputs *out) {
  gw_tensor *pred = gw_argmax(logits(model, in->images), 1, false);
  for (int i = 0; i < in->n; i++) out->label[i] = gw_i32(pred)[i];
}

static void destroy(void *model) { free(model); }

const gw_model_ops gw_model_small_cnn = {
    .name = "small_cnn",
    .help = "a small CNN classifier (conv-BN-ReLU stages), for few-shot classification sets",
    .task = GW_TASK_CLASSIFY,
    .schema = {"model small_cnn", KEYS, sizeof KEYS / sizeof KEYS[0]},
    .create = create,
    .loss = loss,
    .predict = predict,
    .destroy = destroy,
};
