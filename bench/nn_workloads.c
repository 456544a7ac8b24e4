// conv, attn and cnn-step: the nn workloads of shared/bench/WORKLOADS.md.
//   conv      conv2d forward + backward, N=32, Cin=32, Cout=64, 32x32, k=3, stride 1, pad 1
//   attn      one pre-norm transformer encoder layer, forward + backward: batch 32, seq 32,
//             d_model 128, 4 heads, FFN 512, GELU
//   cnn-step  a full training step of a 4-conv CNN on (64, 3, 64, 64) with Adam
#include "bench/bench.h"
#include "groundwork.h"
#include "nn/nn.h"

// ---- conv ----
typedef struct conv_ctx {
  gw_tensor *x, *w, *b, *seed;
} conv_ctx;

// A fixed random output gradient, made once outside the timed loop.
static gw_tensor *seed_gradient(int ndim, const int64_t *shape) {
  gw_tensor *seed = gw_empty_in(gw_persistent_arena(), GW_F32, ndim, shape);
  gw_rng r = gw_rng_stream(2, "seed");
  gw_rng_normal(&r, gw_f32(seed), gw_numel(seed), 0.0f, 1.0f);
  return seed;
}

static void conv_iter(void *vctx) {
  conv_ctx *c = vctx;
  gw_tensor *y = gw_conv2d(c->x, c->w, c->b, (gw_conv2d_args){.pad_h = 1, .pad_w = 1});
  gw_backward_seeded(y, c->seed);
  gw_zero_grad(c->x);
  gw_zero_grad(c->w);
  gw_zero_grad(c->b);
  gw_step_end();
}

double gw_bench_conv(void) {
  gw_nn nn;
  gw_nn_init(&nn, 1);
  conv_ctx c;
  c.x = gw_nn_param(&nn, "", "x", GW_SHAPE(32, 32, 32, 32), false);
  gw_init_normal(c.x, &nn.init, 0.0f, 1.0f);
  gw_conv_m conv;
  gw_conv_init(&conv, &nn, "conv", 32, 64, 3, 1, 1, 1, true);
  c.w = conv.weight;
  c.b = conv.bias;
  c.seed = seed_gradient(GW_SHAPE(32, 64, 32, 32));
  double t = gw_bench_median_seconds(conv_iter, &c, 2, 9);
  gw_nn_free(&nn);
  return t * 1e3;
}

// ---- attn ----
typedef struct attn_ctx {
  gw_encoder_layer layer;
  gw_tensor *x, *seed;
  gw_nn *nn;
} attn_ctx;

static void attn_iter(void *vctx) {
  attn_ctx *c = vctx;
  gw_tensor *y = gw_encoder_layer_forward(&c->layer, c->x, NULL);
  gw_backward_seeded(y, c->seed);
  gw_nn_zero_grad(c->nn);
  gw_step_end();
}

double gw_bench_attn(void) {
  gw_nn nn;
  gw_nn_init(&nn, 1);
  attn_ctx c = {.nn = &nn};
  gw_encoder_layer_init(&c.layer, &nn, "layer", 128, 4, 512, 0.0f, GW_ACT_GELU, true);
  c.x = gw_nn_param(&nn, "", "x", GW_SHAPE(32, 32, 128), false);
  gw_init_normal(c.x, &nn.init, 0.0f, 1.0f);
  c.seed = seed_gradient(GW_SHAPE(32, 32, 128));
  double t = gw_bench_median_seconds(attn_iter, &c, 2, 9);
  gw_nn_free(&nn);
  return t * 1e3;
}

// ---- cnn-step ----
typedef struct cnn_ctx {
  gw_nn nn;
  gw_conv_m conv[4];
  gw_batchnorm_m bn[4];
  gw_linear_m fc;
  gw_optim opt;
  gw_tensor *x, *labels;
} cnn_ctx;

static void cnn_iter(void *vctx) {
  cnn_ctx *c = vctx;
  gw_tensor *h = c->x;
  for (int i = 0; i < 4; i++)
    h = gw_relu(gw_batchnorm_forward(&c->bn[i], gw_conv_forward(&c->conv[i], h)));
  h = gw_mean(h, 2, (int[]){2, 3}, false);  // global average pool -> (64, 128)
  gw_tensor *loss = gw_cross_entropy(gw_linear_forward(&c->fc, h), c->labels, -100, 0.0f, GW_MEAN);
  gw_nn_zero_grad(&c->nn);
  gw_backward(loss);
  gw_optim_step(&c->opt, 1.0f);
  gw_step_end();
}

static cnn_ctx *cnn_setup(void) {
  static cnn_ctx c;
  gw_nn_init(&c.nn, 1);
  int64_t ch[5] = {3, 32, 64, 128, 128};
  for (int i = 0; i < 4; i++) {
    gw_conv_init(&c.conv[i], &c.nn, gw_nn_name_i("", "conv", i), ch[i], ch[i + 1], 3, 2, 1, 1, true);
    gw_batchnorm_init(&c.bn[i], &c.nn, gw_nn_name_i("", "bn", i), ch[i + 1], true);
  }
  gw_linear_init(&c.fc, &c.nn, "fc", 128, 10, true);
  gw_optim_init(&c.opt, &c.nn, (gw_optim_cfg){.kind = GW_ADAM, .lr = 1e-3f});
  gw_arena *p = gw_persistent_arena();
  c.x = gw_empty_in(p, GW_F32, GW_SHAPE(64, 3, 64, 64));
  gw_rng r = gw_rng_stream(3, "data");
  gw_rng_normal(&r, gw_f32(c.x), gw_numel(c.x), 0.0f, 1.0f);
  c.labels = gw_empty_in(p, GW_I32, GW_SHAPE(64));
  for (int i = 0; i < 64; i++) gw_i32(c.labels)[i] = (int32_t)gw_rng_below(&r, 10);
  return &c;
}

double gw_bench_cnn_step(void) {
  cnn_ctx *c = cnn_setup();
  double t = gw_bench_median_seconds(cnn_iter, c, 2, 9);
  gw_optim_free(&c->opt);
  gw_nn_free(&c->nn);
  return t * 1e3;
}

// The peak resident memory (VmHWM) of this process, in MiB.
#include <stdio.h>
#include <string.h>
double gw_bench_peak_rss_mib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1.0;
  char line[256];
  double kib = -1.0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) sscanf(line + 6, "%lf", &kib);
  fclose(f);
  return kib / 1024.0;
}

// cnn-step-rss runs cnn-step a few times in this process and reports its peak; gw bench starts
// a fresh process for it, so nothing else has touched memory.
double gw_bench_cnn_step_rss(void) {
  cnn_ctx *c = cnn_setup();
  for (int i = 0; i < 5; i++) cnn_iter(c);
  double mib = gw_bench_peak_rss_mib();
  gw_optim_free(&c->opt);
  gw_nn_free(&c->nn);
  return mib;
}
