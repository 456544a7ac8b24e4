// laconvnet-step: one LaConvNet training step (forward, loss, backward, Adam) at batch 32 on
// 64 x 64 images with 24-token expressions, the model of configs/laconvnet_rec.yaml (the
// model keys' defaults). bench/torch_mirror.py times the same model in PyTorch.
#include "bench/bench.h"
#include "groundwork.h"
#include "models/model.h"
#include "train/schema.h"

enum { BATCH = 32, SIZE = 64, LEN = 24, VOCAB = 100 };

typedef struct lac_ctx {
  const gw_model_ops *ops;
  void *model;
  gw_nn nn;
  gw_optim opt;
  gw_batch batch;
  gw_dataset d;  // only the fields gw_inputs_from_batch reads
} lac_ctx;

static void step(void *vctx) {
  lac_ctx *c = vctx;
  gw_inputs in;
  gw_inputs_from_batch(&in, &c->batch, &c->d);
  gw_loss_terms terms = {0};
  gw_nn_zero_grad(&c->nn);
  gw_backward(c->ops->loss(c->model, &in, &terms));
  gw_optim_step(&c->opt, 1.0f);
  gw_step_end();
}

double gw_bench_laconvnet_step(void) {
  static lac_ctx c;
  c.ops = gw_model_find("laconvnet");
  gw_config cfg;
  gw_config_init(&cfg);
  gw_config_set(&cfg, "model.name", "laconvnet", "bench");
  gw_cfg_schema schemas[3] = {gw_trainer_schema, gw_data_schema, c.ops->schema};
  GW_CHECK(gw_config_validate(&cfg, schemas, 3) == 0, "bench: %s", gw_last_error());
  gw_nn_init(&c.nn, 1);
  gw_model_info info = {.image_size = SIZE, .vocab_size = VOCAB, .max_len = LEN};
  c.model = c.ops->create(&c.nn, &cfg, &info);
  gw_optim_init(&c.opt, &c.nn, (gw_optim_cfg){.kind = GW_ADAM, .lr = 1e-3f});
  // a fixed synthetic batch: random pixels, 8-20 real tokens, a box per sample
  gw_rng r = gw_rng_stream(5, "bench");
  static float images[BATCH * 3 * SIZE * SIZE], boxes[BATCH * 4];
  static int32_t tokens[BATCH * LEN], lengths[BATCH], levels[BATCH];
  static int64_t index[BATCH];
  gw_rng_uniform(&r, images, BATCH * 3 * SIZE * SIZE, -0.5f, 0.5f);
  for (int b = 0; b < BATCH; b++) {
    lengths[b] = 8 + (int32_t)gw_rng_below(&r, 13);
    for (int t = 0; t < LEN; t++) tokens[b * LEN + t] = t < lengths[b] ? 6 + (int32_t)gw_rng_below(&r, VOCAB - 6) : 0;
    float cx = 8 + 48 * gw_rng_float(&r), cy = 8 + 48 * gw_rng_float(&r), h = 4 + 4 * gw_rng_float(&r);
    boxes[4 * b] = cx - h, boxes[4 * b + 1] = cy - h, boxes[4 * b + 2] = cx + h, boxes[4 * b + 3] = cy + h;
    index[b] = b;
  }
  c.batch = (gw_batch){.n = BATCH, .size = SIZE, .images = images, .tokens = tokens, .lengths = lengths,
                       .boxes = boxes, .levels = levels, .index = index};
  c.d = (gw_dataset){.task = GW_TASK_REC, .max_len = LEN, .size = SIZE};
  double t = gw_bench_median_seconds(step, &c, 2, 9);
  c.ops->destroy(c.model);
  gw_optim_free(&c.opt);
  gw_nn_free(&c.nn);
  gw_config_free(&cfg);
  return t * 1e3;
}
