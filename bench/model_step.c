// Model training steps: one step (forward, loss, backward, Adam) of a registered model with its
// config's defaults, on a fixed synthetic batch of 64 x 64 images with 24-token texts (8-20
// real words) and a box per sample; bench/torch_mirror.py times the same models in PyTorch.
//   laconvnet-step  LaConvNet (configs/laconvnet_rec.yaml), batch 32
//   clip-step       the tiny CLIP (configs/clip.yaml), batch 64
#include "bench/bench.h"
#include "groundwork.h"
#include "models/model.h"
#include "train/schema.h"

enum { MAX_BATCH = 64, SIZE = 64, LEN = 24, VOCAB = 100 };

typedef struct step_ctx {
  const gw_model_ops *ops;
  void *model;
  gw_nn nn;
  gw_optim opt;
  gw_batch batch;
  gw_dataset d;  // only the fields gw_inputs_from_batch reads
} step_ctx;

static void step(void *vctx) {
  step_ctx *c = vctx;
  gw_inputs in;
  gw_inputs_from_batch(&in, &c->batch, &c->d);
  gw_loss_terms terms = {0};
  gw_nn_zero_grad(&c->nn);
  gw_backward(c->ops->loss(c->model, &in, &terms));
  gw_optim_step(&c->opt, 1.0f);
  gw_step_end();
}

// Milliseconds per training step of `model` at batch B.
static double model_step_ms(const char *model, int B) {
  static step_ctx c;
  c.ops = gw_model_find(model);
  GW_CHECK(c.ops && B <= MAX_BATCH, "bench: no model %s (or batch %d > %d)", model, B, MAX_BATCH);
  gw_config cfg;
  gw_config_init(&cfg);
  gw_config_set(&cfg, "model.name", model, "bench");
  gw_cfg_schema schemas[3] = {gw_trainer_schema, gw_data_schema, c.ops->schema};
  GW_CHECK(gw_config_validate(&cfg, schemas, 3) == 0, "bench: %s", gw_last_error());
  gw_nn_init(&c.nn, 1);
  gw_model_info info = {.image_size = SIZE, .vocab_size = VOCAB, .max_len = LEN};
  c.model = c.ops->create(&c.nn, &cfg, &info);
  gw_optim_init(&c.opt, &c.nn, (gw_optim_cfg){.kind = GW_ADAM, .lr = 1e-3f});
  // a fixed synthetic batch: random pixels, 8-20 real tokens, a box per sample
  gw_rng r = gw_rng_stream(5, "bench");
  static float images[MAX_BATCH * 3 * SIZE * SIZE], boxes[MAX_BATCH * 4];
  static int32_t tokens[MAX_BATCH * LEN], lengths[MAX_BATCH], levels[MAX_BATCH];
  static int64_t index[MAX_BATCH];
  gw_rng_uniform(&r, images, B * 3 * SIZE * SIZE, -0.5f, 0.5f);
  for (int b = 0; b < B; b++) {
    lengths[b] = 8 + (int32_t)gw_rng_below(&r, 13);
    for (int t = 0; t < LEN; t++) tokens[b * LEN + t] = t < lengths[b] ? 6 + (int32_t)gw_rng_below(&r, VOCAB - 6) : 0;
    float cx = 8 + 48 * gw_rng_float(&r), cy = 8 + 48 * gw_rng_float(&r), h = 4 + 4 * gw_rng_float(&r);
    boxes[4 * b] = cx - h, boxes[4 * b + 1] = cy - h, boxes[4 * b + 2] = cx + h, boxes[4 * b + 3] = cy + h;
    index[b] = b;
  }
  c.batch = (gw_batch){.n = B, .size = SIZE, .images = images, .tokens = tokens, .lengths = lengths,
                       .boxes = boxes, .levels = levels, .index = index};
  c.d = (gw_dataset){.task = c.ops->task, .max_len = LEN, .size = SIZE};
  double t = gw_bench_median_seconds(step, &c, 2, 9);
  c.ops->destroy(c.model);
  gw_optim_free(&c.opt);
  gw_nn_free(&c.nn);
  gw_config_free(&cfg);
  return t * 1e3;
}

double gw_bench_laconvnet_step(void) { return model_step_ms("laconvnet", 32); }
double gw_bench_clip_step(void) { return model_step_ms("clip", 64); }
