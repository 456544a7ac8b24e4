// Same bits at any thread count: every parallel kernel, and a small network's loss and
// gradients, run with 1 and with 2 threads must agree bit for bit (DESIGN.md: reductions
// are deterministic; STYLE.md tier 4: the thread count does not change the bits).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

TestSuite(tensor_determinism, .init = gwt_setup, .fini = gwt_teardown);

static float *fbuf(int64_t n) {
  return gw_arena_alloc(gw_arena_current(), (size_t)n * sizeof(float), "test");
}
static float *randn_buf(gw_rng *r, int64_t n) {
  float *p = fbuf(n);
  gw_rng_normal(r, p, n, 0.0f, 1.0f);
  return p;
}
static int32_t *randint_buf(gw_rng *r, int64_t count, int64_t n) {
  int32_t *p = gw_arena_alloc(gw_arena_current(), (size_t)count * sizeof(int32_t), "test");
  for (int64_t i = 0; i < count; i++) p[i] = (int32_t)gw_rng_below(r, (uint64_t)n);
  return p;
}

// Asserts two buffers hold the same bits, naming the first difference.
static void assert_bits(const void *a, const void *b, int64_t n, const char *what) {
  const uint32_t *x = a, *y = b;
  for (int64_t i = 0; i < n; i++)
    if (x[i] != y[i]) {
      float fx, fy;
      memcpy(&fx, x + i, 4);
      memcpy(&fy, y + i, 4);
      cr_assert_fail("%s: 1 and 2 threads differ first at element %lld of %lld: %.9g vs %.9g",
                     what, (long long)i, (long long)n, fx, fy);
    }
}

// Runs `fn` into `out` (n floats, pre-filled with the same values so accumulating kernels
// see the same start) with 1 and with 2 threads, and compares the bits.
typedef void (*kernel_fn)(void *ctx, float *out);
static void same_bits(const char *what, kernel_fn fn, void *ctx, int64_t n) {
  float *a = fbuf(n), *b = fbuf(n);
  for (int64_t i = 0; i < n; i++) a[i] = b[i] = 0.125f * (float)(i % 5);
  gw_set_threads(1);
  fn(ctx, a);
  gw_set_threads(2);
  fn(ctx, b);
  assert_bits(a, b, n, what);
}

// The inputs every kernel below reads: big enough for their parallel paths.
typedef struct inputs {
  float *x, *y, *dy;   // BIG floats each
  int32_t *idx, *gidx, *mask;
} inputs;
enum { BIG = 1 << 18 };

static inputs make_inputs(void) {
  gw_rng r = gwt_rng(99);
  inputs in = {.x = randn_buf(&r, BIG), .y = randn_buf(&r, BIG), .dy = randn_buf(&r, BIG)};
  in.idx = randint_buf(&r, 150, 100);
  in.gidx = randint_buf(&r, BIG, 100);
  in.mask = randint_buf(&r, BIG, 2);
  for (int64_t i = 0; i < BIG; i++) in.y[i] = fabsf(in.y[i]) + 0.5f;  // positive (log, sqrt)
  return in;
}

// ---- elementwise and copies ----
static void k_binary_rows(void *c, float *out) {
  inputs *in = c;
  gw_tensor *a = gw_wrap(in->x, GW_F32, GW_SHAPE(256, 300));
  gw_tensor *b = gw_wrap(in->y, GW_F32, GW_SHAPE(300));
  gw_k_binary_acc(GW_BIN_DIV, a, b, gw_wrap(out, GW_F32, GW_SHAPE(256, 300)));
}
static void k_binary_long_row(void *c, float *out) {
  inputs *in = c;
  gw_tensor *a = gw_wrap(in->x, GW_F32, GW_SHAPE(100003));
  gw_tensor *b = gw_wrap(in->y, GW_F32, GW_SHAPE(100003));
  gw_k_binary(GW_BIN_POW, b, a, gw_wrap(out, GW_F32, GW_SHAPE(100003)));
}
static void k_copy_transposed(void *c, float *out) {
  inputs *in = c;
  gw_tensor *src = gw_view_transpose(gw_wrap(in->x, GW_F32, GW_SHAPE(300, 200)), 0, 1);
  gw_k_add_into(gw_wrap(out, GW_F32, GW_SHAPE(200, 300)), src);
}
static void k_where(void *c, float *out) {
  inputs *in = c;
  gw_tensor *cond = gw_wrap(in->mask, GW_I32, GW_SHAPE(200, 300));
  gw_k_where(cond, gw_wrap(in->x, GW_F32, GW_SHAPE(200, 300)),
             gw_wrap(in->y, GW_F32, GW_SHAPE(300)), gw_wrap(out, GW_F32, GW_SHAPE(200, 300)));
}

typedef struct unary_ctx {
  inputs *in;
  gw_unop op;
} unary_ctx;
static void k_unary(void *c, float *out) {
  unary_ctx *u = c;
  const float *x = u->op == GW_UN_LOG || u->op == GW_UN_SQRT ? u->in->y : u->in->x;
  gw_k_unary(u->op, x, out, 100003, 1.5f, 2.0f);
}
static void k_unary_backward(void *c, float *out) {
  unary_ctx *u = c;
  const float *x = u->op == GW_UN_LOG || u->op == GW_UN_SQRT ? u->in->y : u->in->x;
  gw_k_unary_backward(u->op, x, u->in->y, u->in->dy, out, 100003, 1.5f, 2.0f);
}

// Elementwise kernels, strided copies and every unary op (forward and backward) give the
// same bits with 1 and 2 threads.
Test(tensor_determinism, elementwise_kernels) {
  inputs in = make_inputs();
  same_bits("binary div (256, 300) / (300,) accumulate", k_binary_rows, &in, 256 * 300);
  same_bits("binary pow one long row", k_binary_long_row, &in, 100003);
  same_bits("add_into transposed", k_copy_transposed, &in, 60000);
  same_bits("where", k_where, &in, 60000);
  for (int op = 0; op < GW_UN_COUNT; op++) {
    unary_ctx u = {&in, (gw_unop)op};
    char what[64];
    snprintf(what, sizeof what, "unary %s", gw_unop_names[op]);
    same_bits(what, k_unary, &u, 100003);
    snprintf(what, sizeof what, "unary %s backward", gw_unop_names[op]);
    same_bits(what, k_unary_backward, &u, 100003);
  }
}

// ---- reductions ----
typedef struct red_ctx {
  inputs *in;
  int64_t outer, n, inner;
  int which;  // 0 sum, 1 max, 2 argmax, 3 logsumexp, 4 var, 5 var's mean
} red_ctx;
static void k_reduce(void *c, float *out) {
  red_ctx *r = c;
  const float *x = r->in->x;
  int64_t m = r->outer * r->inner;
  float *tmp = fbuf(m);
  int32_t *arg = gw_arena_alloc(gw_arena_current(), (size_t)m * sizeof(int32_t), "test");
  switch (r->which) {
    case 0: gw_k_reduce_sum(x, out, r->outer, r->n, r->inner); break;
    case 1: gw_k_reduce_max(x, out, arg, r->outer, r->n, r->inner); break;
    case 2:
      gw_k_reduce_max(x, tmp, arg, r->outer, r->n, r->inner);
      for (int64_t i = 0; i < m; i++) out[i] = (float)arg[i];
      break;
    case 3: gw_k_reduce_logsumexp(x, out, r->outer, r->n, r->inner); break;
    case 4: gw_k_reduce_var(x, out, tmp, r->outer, r->n, r->inner, 1); break;
    case 5: gw_k_reduce_var(x, tmp, out, r->outer, r->n, r->inner, 0); break;
  }
}
static void k_sum_all(void *c, float *out) {
  inputs *in = c;
  out[0] = gw_k_sum_all(in->x, BIG - 7);
}
typedef struct sum_to_ctx {
  inputs *in;
  int nd;
  int64_t shape[2];
} sum_to_ctx;
static void k_sum_to(void *c, float *out) {
  sum_to_ctx *s = c;
  gw_k_sum_to(gw_wrap(s->in->x, GW_F32, GW_SHAPE(64, 1024)), gw_wrap(out, GW_F32, s->nd, s->shape));
}

// Reductions over each layout (rows, pieces of inner, one long buffer) and sum_to.
Test(tensor_determinism, reductions) {
  inputs in = make_inputs();
  const char *names[] = {"sum", "max", "argmax", "logsumexp", "var", "var mean"};
  int64_t shapes[][3] = {{3, 20000, 1}, {3, 100, 300}, {1, 50, 1000}, {1, BIG, 1}, {512, 2, 256}};
  for (int s = 0; s < 5; s++)
    for (int w = 0; w < 6; w++) {
      red_ctx r = {&in, shapes[s][0], shapes[s][1], shapes[s][2], w};
      char what[96];
      snprintf(what, sizeof what, "%s over (%lld, %lld, %lld)", names[w], (long long)r.outer,
               (long long)r.n, (long long)r.inner);
      same_bits(what, k_reduce, &r, r.outer * r.inner);
    }
  same_bits("sum_all", k_sum_all, &in, 1);
  sum_to_ctx a = {&in, 1, {1024}}, b = {&in, 2, {64, 1}};
  same_bits("sum_to (64, 1024) -> (1024,)", k_sum_to, &a, 1024);
  same_bits("sum_to (64, 1024) -> (64, 1)", k_sum_to, &b, 64);
}

// ---- products, softmax, layernorm ----
static void k_gemm(void *c, float *out) {
  inputs *in = c;
  gw_k_gemm(false, true, 200, 300, 256, 1.0f, in->x, 256, in->y, 256, 0.5f, out, 300);
}
static void k_gemm_batched(void *c, float *out) {
  inputs *in = c;
  enum { B = 40 };
  const float *pa[B], *pb[B];
  float *pc[B];
  for (int i = 0; i < B; i++) {
    pa[i] = in->x + i * 128;
    pb[i] = in->y + i * 256;
    pc[i] = out + i * 64;
  }
  gw_k_gemm_batched(B, true, false, 8, 8, 16, 1.0f, pa, 8, pb, 8, 1.0f, pc, 8);
}
static void k_gemm_batched_large(void *c, float *out) {
  inputs *in = c;
  const float *pa[2] = {in->x, in->x + 20000}, *pb[2] = {in->y, in->y + 30000};
  float *pc[2] = {out, out + 80 * 70};
  gw_k_gemm_batched(2, false, false, 80, 70, 60, 1.0f, pa, 60, pb, 70, 0.0f, pc, 70);
}
static void k_softmax(void *c, float *out) {
  inputs *in = c;
  gw_k_softmax(in->x, in->mask, out, 500, 130, false);
}
static void k_log_softmax(void *c, float *out) {
  inputs *in = c;
  gw_k_softmax(in->x, NULL, out, 500, 130, true);
}
static void k_softmax_backward(void *c, float *out) {
  inputs *in = c;
  float *y = fbuf(500 * 130);
  gw_k_softmax(in->x, NULL, y, 500, 130, false);
  gw_k_softmax_backward(y, in->dy, out, 500, 130, false);
}
static void k_layernorm(void *c, float *out) {
  inputs *in = c;
  float *mean = out + 600 * 64, *rstd = mean + 600;
  gw_k_layernorm(in->x, in->y, in->dy, out, mean, rstd, 600, 64, 1e-5f);
}
static void k_layernorm_backward(void *c, float *out) {
  inputs *in = c;
  float *y = fbuf(600 * 64), *mean = fbuf(600), *rstd = fbuf(600);
  gw_k_layernorm(in->x, in->y, NULL, y, mean, rstd, 600, 64, 1e-5f);
  gw_k_layernorm_backward(in->x, in->y, mean, rstd, in->dy, out, out + 600 * 64,
                          out + 600 * 64 + 64, 600, 64);
}

static void k_batchnorm(void *c, float *out) {
  inputs *in = c;
  const int64_t B = 8, C = 16, S = 400;
  float *mean = out + B * C * S, *var = mean + C, *rstd = fbuf(C);
  gw_k_batchnorm_stats(in->x, B, C, S, mean, var);
  for (int64_t i = 0; i < C; i++) rstd[i] = 1.0f / sqrtf(var[i] + 1e-5f);
  gw_k_batchnorm_apply(in->x, mean, rstd, in->y, in->dy, out, B, C, S);
}
static void k_batchnorm_backward(void *c, float *out) {
  inputs *in = c;
  const int64_t B = 8, C = 16, S = 400;
  float *mean = fbuf(C), *var = fbuf(C), *rstd = fbuf(C);
  gw_k_batchnorm_stats(in->x, B, C, S, mean, var);
  for (int64_t i = 0; i < C; i++) rstd[i] = 1.0f / sqrtf(var[i] + 1e-5f);
  gw_k_batchnorm_backward(in->x, in->dy, mean, rstd, in->y, out, out + B * C * S,
                          out + B * C * S + C, B, C, S, true);
}

// Matrix products (threaded sgemm, batches in parallel), softmax, layer and batch norm.
Test(tensor_determinism, products_softmax_layernorm) {
  inputs in = make_inputs();
  same_bits("gemm 200x300x256", k_gemm, &in, 200 * 300);
  same_bits("gemm_batched 40 small", k_gemm_batched, &in, 40 * 64);
  same_bits("gemm_batched 2 large", k_gemm_batched_large, &in, 2 * 80 * 70);
  same_bits("softmax with mask", k_softmax, &in, 500 * 130);
  same_bits("log_softmax", k_log_softmax, &in, 500 * 130);
  same_bits("softmax backward", k_softmax_backward, &in, 500 * 130);
  same_bits("layernorm forward (y, mean, rstd)", k_layernorm, &in, 600 * 64 + 1200);
  same_bits("layernorm backward (dx, dgamma, dbeta)", k_layernorm_backward, &in, 600 * 64 + 128);
  same_bits("batchnorm stats and apply", k_batchnorm, &in, 8 * 16 * 400 + 32);
  same_bits("batchnorm backward (dx, dgamma, dbeta)", k_batchnorm_backward, &in, 8 * 16 * 400 + 32);
}

// ---- indexing, pooling, resizing ----
static void k_index_select(void *c, float *out) {
  inputs *in = c;
  gw_k_index_select(in->x, 4, 100, 200, in->idx, 150, out);
}
static void k_index_add(void *c, float *out) {
  inputs *in = c;
  gw_k_index_add(out, 4, 100, 200, in->idx, 150, in->dy);
}
static void k_gather(void *c, float *out) {
  inputs *in = c;
  gw_k_gather(in->x, 4, 100, 200, in->gidx, 150, out);
}
static void k_scatter_add(void *c, float *out) {
  inputs *in = c;
  gw_k_scatter_add(out, 4, 100, 200, in->gidx, 150, in->dy);
}
static gw_conv_geom pool_geom(int64_t H, int64_t k, int64_t s, int64_t p) {
  gw_conv_geom g = {.C = 1, .H = H, .W = H, .KH = k, .KW = k, .SH = s, .SW = s, .PH = p, .PW = p};
  gw_conv_geom_init(&g);
  return g;
}
static void k_maxpool(void *c, float *out) {
  inputs *in = c;
  gw_conv_geom g = pool_geom(32, 3, 2, 1);
  int64_t yn = 64 * g.OH * g.OW;
  float *y = fbuf(yn);
  int32_t *arg = gw_arena_alloc(gw_arena_current(), (size_t)yn * sizeof(int32_t), "test");
  gw_k_maxpool2d(in->x, 64, &g, y, arg);
  gw_k_maxpool2d_backward(in->dy, arg, 64, &g, out);  // needs the arg of the forward
  for (int64_t i = 0; i < yn; i++) out[64 * 32 * 32 + i] = y[i] + (float)arg[i];
}
static void k_avgpool(void *c, float *out) {
  inputs *in = c;
  gw_conv_geom g = pool_geom(32, 3, 2, 1);
  gw_k_avgpool2d(in->x, 64, &g, out + 64 * 32 * 32);
  gw_k_avgpool2d_backward(in->dy, 64, &g, out);
}
static void k_adaptive(void *c, float *out) {
  inputs *in = c;
  gw_k_adaptive_avgpool2d(in->x, 40, 40, 40, 7, 7, out + 40 * 40 * 40);
  gw_k_adaptive_avgpool2d_backward(in->dy, 40, 40, 40, 7, 7, out);
}
static void k_upsample(void *c, float *out) {
  inputs *in = c;
  int64_t xn = 16 * 32 * 32, yn = 16 * 64 * 64;
  gw_k_upsample_nearest(in->x, 16, 32, 32, 64, 64, out);
  gw_k_upsample_bilinear(in->x, 16, 32, 32, 64, 64, out + yn);
  gw_k_upsample_nearest_backward(in->dy, 16, 32, 32, 64, 64, out + 2 * yn);
  gw_k_upsample_bilinear_backward(in->dy, 16, 32, 32, 64, 64, out + 2 * yn + xn);
}
static void k_shuffle(void *c, float *out) {
  inputs *in = c;
  gw_tensor *x = gw_wrap(in->x, GW_F32, GW_SHAPE(8, 16, 32, 32));
  gw_k_pixel_shuffle(x, 2, gw_wrap(out, GW_F32, GW_SHAPE(8, 4, 64, 64)));
  gw_k_pixel_unshuffle(x, 2, gw_wrap(out + BIG / 2, GW_F32, GW_SHAPE(8, 64, 16, 16)));
}

// Index kernels (scatter-adds with repeated indices), pools, resizing, pixel shuffle.
Test(tensor_determinism, index_pool_resize) {
  inputs in = make_inputs();
  same_bits("index_select", k_index_select, &in, 4 * 150 * 200);
  same_bits("index_add", k_index_add, &in, 4 * 100 * 200);
  same_bits("gather", k_gather, &in, 4 * 150 * 200);
  same_bits("scatter_add", k_scatter_add, &in, 4 * 100 * 200);
  same_bits("maxpool forward and backward", k_maxpool, &in, 64 * 32 * 32 + 64 * 16 * 16);
  same_bits("avgpool forward and backward", k_avgpool, &in, 64 * 32 * 32 + 64 * 16 * 16);
  same_bits("adaptive avgpool forward and backward", k_adaptive, &in, 40 * 40 * 40 + 40 * 49);
  same_bits("upsample nearest/bilinear forward and backward", k_upsample, &in,
            2 * 16 * 64 * 64 + 2 * 16 * 32 * 32);
  same_bits("pixel shuffle and unshuffle", k_shuffle, &in, BIG);
}

// ---- whole networks, forward and backward ----

// A flat copy of the loss and of every gradient, in a malloc'ed buffer that outlives the
// step arena.
typedef struct snapshot {
  int count;
  const char *names[16];
  int64_t sizes[16];
  float *data[16];
} snapshot;

static void snap(snapshot *s, const char *name, const gw_tensor *t) {
  cr_assert(t, "%s: no gradient was computed", name);
  int64_t n = gw_numel(t);
  s->names[s->count] = name;
  s->sizes[s->count] = n;
  s->data[s->count] = malloc((size_t)n * sizeof(float));
  memcpy(s->data[s->count], gw_f32(gw_contiguous(t)), (size_t)n * sizeof(float));
  s->count++;
}

static void compare_snapshots(snapshot *a, snapshot *b, const char *net) {
  cr_assert_eq(a->count, b->count);
  for (int i = 0; i < a->count; i++) {
    char what[96];
    snprintf(what, sizeof what, "%s: %s", net, a->names[i]);
    assert_bits(a->data[i], b->data[i], a->sizes[i], what);
    free(a->data[i]);
    free(b->data[i]);
  }
}

static gw_tensor *param(gw_rng *r, const char *name, int ndim, const int64_t *shape, float std) {
  gw_tensor *p = gw_param(name, ndim, shape);
  gw_rng_normal(r, gw_f32(p), gw_numel(p), 0.0f, std);
  return p;
}

// conv2d -> batchnorm -> relu -> maxpool -> conv2d (grouped, strided) -> relu -> linear ->
// cross-entropy, on 8 images of 3x32x32 (every activation above GW_PARALLEL_MIN), plus the
// first conv on one image alone (then its products, not the images, are split).
static void run_convnet(int threads, snapshot *s) {
  gw_set_threads(threads);
  gw_rng r = gw_rng_stream(2024, "convnet");
  gw_tensor *w1 = param(&r, "conv1.weight", GW_SHAPE(16, 3, 3, 3), 0.3f);
  gw_tensor *b1 = param(&r, "conv1.bias", GW_SHAPE(16), 0.1f);
  gw_tensor *w2 = param(&r, "conv2.weight", GW_SHAPE(16, 8, 3, 3), 0.1f);
  gw_tensor *b2 = param(&r, "conv2.bias", GW_SHAPE(16), 0.1f);
  gw_tensor *w3 = param(&r, "fc.weight", GW_SHAPE(10, 16 * 8 * 8), 0.03f);
  gw_tensor *b3 = param(&r, "fc.bias", GW_SHAPE(10), 0.1f);
  gw_tensor *bn_g = param(&r, "bn.weight", GW_SHAPE(16), 0.2f);
  gw_tensor *bn_b = param(&r, "bn.bias", GW_SHAPE(16), 0.2f);
  gw_tensor *run_mean = gw_zeros(GW_F32, GW_SHAPE(16)), *run_var = gw_full(1.0f, GW_SHAPE(16));
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(8, 3, 32, 32)));
  gw_tensor *t = gwt_randint(&r, 10, GW_SHAPE(8));

  gw_tensor *h = gw_conv2d(x, w1, b1, (gw_conv2d_args){.pad_h = 1, .pad_w = 1});
  h = gw_batchnorm(h, bn_g, bn_b, run_mean, run_var, true, 0.1f, 1e-5f);
  h = gw_maxpool2d(gw_relu(h), 2, 2, 0);  // (8, 16, 16, 16)
  gw_conv2d_args strided = {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 2};
  h = gw_conv2d(h, w2, b2, strided);
  h = gw_reshape(gw_relu(h), GW_SHAPE(8, -1));  // (8, 1024)
  gw_tensor *loss = gw_cross_entropy(gw_linear(h, w3, b3), t, -100, 0.1f, GW_MEAN);
  // A single image too: its convolution is one product on all threads, not one per image.
  gw_tensor *one = gwt_leaf(gwt_randn(&r, GW_SHAPE(1, 3, 32, 32)));
  gw_tensor *c1 = gw_conv2d(one, w1, b1, (gw_conv2d_args){.pad_h = 1, .pad_w = 1});
  loss = gw_add(loss, gw_mean_all(gw_mul(c1, c1)));
  gw_backward(loss);
  snap(s, "loss", loss);
  snap(s, "single image grad", one->grad);
  snap(s, "conv1.weight grad", w1->grad);
  snap(s, "conv1.bias grad", b1->grad);
  snap(s, "bn.weight grad", bn_g->grad);
  snap(s, "bn.bias grad", bn_b->grad);
  snap(s, "bn running mean", run_mean);
  snap(s, "bn running var", run_var);
  snap(s, "conv2.weight grad", w2->grad);
  snap(s, "conv2.bias grad", b2->grad);
  snap(s, "fc.weight grad", w3->grad);
  snap(s, "fc.bias grad", b3->grad);
  snap(s, "input grad", x->grad);
  gw_step_end();
}

Test(tensor_determinism, convnet_same_bits) {
  snapshot one = {0}, two = {0};
  run_convnet(1, &one);
  run_convnet(2, &two);
  float loss = one.data[0][0];
  cr_assert(isfinite(loss) && loss > 0.0f, "convnet loss %g", loss);
  compare_snapshots(&one, &two, "convnet");
}

// layernorm -> linear projection -> attention-like softmax(h h^T / sqrt(d)) h -> residual ->
// MSE, on (4, 128, 64): layernorm, batched matmul, softmax and their backward all parallel.
static void run_attention_block(int threads, snapshot *s) {
  gw_set_threads(threads);
  gw_rng r = gw_rng_stream(2024, "attention");
  gw_tensor *gamma = param(&r, "ln.weight", GW_SHAPE(64), 0.2f);
  gw_tensor *beta = param(&r, "ln.bias", GW_SHAPE(64), 0.2f);
  gw_tensor *wq = param(&r, "proj.weight", GW_SHAPE(64, 64), 0.15f);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 128, 64)));
  gw_tensor *target = gwt_randn(&r, GW_SHAPE(4, 128, 64));
  gw_f32(gamma)[0] += 1.0f;

  gw_tensor *h = gw_matmul(gw_layernorm(x, gamma, beta, 1e-5f), wq);              // (4, 128, 64)
  gw_tensor *scores = gw_mul_scalar(gw_matmul(h, gw_transpose(h, -1, -2)), 0.125f);  // (4,128,128)
  gw_tensor *y = gw_add(x, gw_matmul(gw_softmax(scores, NULL), h));
  gw_tensor *loss = gw_mse_loss(y, target, GW_MEAN);
  gw_backward(loss);
  snap(s, "loss", loss);
  snap(s, "ln.weight grad", gamma->grad);
  snap(s, "ln.bias grad", beta->grad);
  snap(s, "proj.weight grad", wq->grad);
  snap(s, "input grad", x->grad);
  gw_step_end();
}

Test(tensor_determinism, attention_block_same_bits) {
  snapshot one = {0}, two = {0};
  run_attention_block(1, &one);
  run_attention_block(2, &two);
  cr_assert(isfinite(one.data[0][0]), "attention loss %g", one.data[0][0]);
  compare_snapshots(&one, &two, "attention block");
}

// Running the same network twice at the same thread count also gives the same bits (no
// state leaks from one step to the next).
Test(tensor_determinism, repeat_same_bits) {
  snapshot one = {0}, two = {0};
  run_convnet(2, &one);
  run_convnet(2, &two);
  compare_snapshots(&one, &two, "convnet run twice");
}
