// Modules: gradient checks through every layer (data inputs and parameters alike), the
// registry's bookkeeping (names, no-decay marks, counting, freezing, train/eval, duplicates),
// PyTorch's initialisation statistics, and the 2-D sine positional encoding.
//
// Parameters live in the persistent arena and are read by the module itself, so each check
// passes them to gwt_gradcheck as inputs (it perturbs them in place) and builds f from a
// context struct holding the module. Dropout is 0 in every gradient check.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn.h"
#include "testutil.h"

TestSuite(nn_modules, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

// ---- helpers ----

enum { MAX_IN = 64 };

// Appends every trainable parameter of nn whose name starts with prefix to ins[n..]; returns
// the new count.
static int add_params(gw_nn *nn, const char *prefix, gw_tensor **ins, int n) {
  size_t len = strlen(prefix);
  for (int i = 0; i < nn->count; i++) {
    gw_named *p = &nn->items[i];
    if (p->buffer || strncmp(p->name, prefix, len)) continue;
    cr_assert(n < MAX_IN, "too many gradcheck inputs");
    ins[n++] = p->tensor;
  }
  return n;
}

// Moves every parameter away from its initial value (gates at 0, biases at 0, norm scales at
// 1 are special points that could hide an error) by adding 0.3 N(0, 1).
static void jitter_params(gw_nn *nn, uint64_t seed) {
  gw_rng r = gwt_rng(seed);
  for (int i = 0; i < nn->count; i++) {
    gw_named *p = &nn->items[i];
    if (p->buffer) continue;
    float *v = gw_f32(p->tensor);
    for (int64_t k = 0; k < gw_numel(p->tensor); k++) {
      float e;
      gw_rng_normal(&r, &e, 1, 0.0f, 0.3f);
      v[k] += e;
    }
  }
}

static gw_tensor *int_tensor(const int32_t *v, int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= shape[d];
  return gw_from_ints(v, n, ndim, shape);
}

// The context of a one-input module: the module itself.
typedef struct ctx {
  const void *m;
} ctx;

// ---- Linear ----

static gw_tensor *f_linear(gw_tensor *const *in, void *c) {
  return gw_linear_forward(((ctx *)c)->m, in[0]);
}

// The gradients of x (3-D, batched), W and b through Linear match finite differences.
Test(nn_modules, linear_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 1);
  gw_linear_m m;
  gw_linear_init(&m, &nn, "fc", 5, 3, true);
  gw_rng r = gwt_rng(1);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 4, 5)))};
  int n = add_params(&nn, "fc.", ins, 1);
  cr_assert_eq(n, 3);
  ctx c = {&m};
  gwt_gradcheck("linear", f_linear, &c, n, ins, GWT_EPS, GWT_ATOL, GWT_RTOL);
  // without a bias nothing but the weight is registered
  gw_linear_m nb;
  gw_linear_init(&nb, &nn, "nb", 5, 3, false);
  cr_assert_null(nb.bias);
  cr_assert_null(gw_nn_find(&nn, "nb.bias"));
  c.m = &nb;
  gw_tensor *ins2[MAX_IN] = {ins[0]};
  gwt_gradcheck("linear without bias", f_linear, &c, add_params(&nn, "nb.", ins2, 1), ins2,
                GWT_EPS, GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// ---- Conv2d ----

static gw_tensor *f_conv(gw_tensor *const *in, void *c) {
  return gw_conv_forward(((ctx *)c)->m, in[0]);
}

// Strided, padded and grouped convolutions: gradients of x, W and b match finite differences.
Test(nn_modules, conv_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 2);
  gw_conv_m a, g;
  gw_conv_init(&a, &nn, "a", 3, 4, 3, 2, 1, 1, true);
  gw_conv_init(&g, &nn, "g", 4, 6, 3, 1, 1, 2, true);
  cr_assert_eq(a.weight->shape[1], 3);
  cr_assert_eq(g.weight->shape[1], 2);  // Cin / groups
  gw_rng r = gwt_rng(2);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 5, 5)))};
  ctx c = {&a};
  gwt_gradcheck("conv stride 2 pad 1", f_conv, &c, add_params(&nn, "a.", ins, 1), ins, GWT_EPS,
                GWT_ATOL, GWT_RTOL);
  gw_tensor *y = gw_conv_forward(&a, ins[0]);
  cr_assert(y->shape[2] == 3 && y->shape[3] == 3, "conv output %s", gw_shape_str(y));
  gw_tensor *ins2[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 4, 4, 4)))};
  c.m = &g;
  gwt_gradcheck("conv groups 2", f_conv, &c, add_params(&nn, "g.", ins2, 1), ins2, GWT_EPS,
                GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// ---- BatchNorm ----

static gw_tensor *f_bn(gw_tensor *const *in, void *c) {
  return gw_batchnorm_forward(((ctx *)c)->m, in[0]);
}

// Train mode, 2d (B, C, H, W) with affine parameters: gradients of x, weight and bias.
Test(nn_modules, batchnorm_train_2d_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 3);
  gw_batchnorm_m m;
  gw_batchnorm_init(&m, &nn, "bn", 3, true);
  jitter_params(&nn, 3);
  gw_rng r = gwt_rng(3);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 3, 2)))};
  ctx c = {&m};
  gwt_gradcheck("batchnorm2d train", f_bn, &c, add_params(&nn, "bn.", ins, 1), ins, GWT_EPS,
                GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// Train mode, 1d over (B, C) and (B, C, L), affine-free: the gradient of x.
Test(nn_modules, batchnorm_train_1d_affine_free_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 4);
  gw_batchnorm_m m;
  gw_batchnorm_init(&m, &nn, "bn", 4, false);
  cr_assert(!m.weight && !m.bias && !gw_nn_find(&nn, "bn.weight"));
  cr_assert_eq(gw_nn_param_count(&nn, false), 0, "an affine-free batch norm has no parameters");
  gw_rng r = gwt_rng(4);
  ctx c = {&m};
  gw_tensor *x2 = gwt_leaf(gwt_randn(&r, GW_SHAPE(5, 4)));
  gwt_gradcheck("batchnorm1d (B, C)", f_bn, &c, 1, &x2, GWT_EPS, GWT_ATOL, GWT_RTOL);
  gw_tensor *x3 = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4, 3)));
  gwt_gradcheck("batchnorm1d (B, C, L)", f_bn, &c, 1, &x3, GWT_EPS, GWT_ATOL, GWT_RTOL);
  // 1d with affine parameters too
  gw_batchnorm_m a;
  gw_batchnorm_init(&a, &nn, "bna", 4, true);
  jitter_params(&nn, 5);
  c.m = &a;
  gw_tensor *ins[MAX_IN] = {x3};
  gwt_gradcheck("batchnorm1d affine", f_bn, &c, add_params(&nn, "bna.", ins, 1), ins, GWT_EPS,
                GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// Eval mode normalises with the running statistics: gradients of x, weight and bias.
Test(nn_modules, batchnorm_eval_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 5);
  gw_batchnorm_m m;
  gw_batchnorm_init(&m, &nn, "bn", 3, true);
  jitter_params(&nn, 6);
  for (int k = 0; k < 3; k++) {
    gw_f32(m.running_mean)[k] = 0.3f * (float)k - 0.2f;
    gw_f32(m.running_var)[k] = 0.5f + 0.4f * (float)k;
  }
  gw_nn_train(&nn, false);
  gw_rng r = gwt_rng(5);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 2, 2)))};
  ctx c = {&m};
  gwt_gradcheck("batchnorm eval", f_bn, &c, add_params(&nn, "bn.", ins, 1), ins, GWT_EPS, GWT_ATOL,
                GWT_RTOL);
  gw_nn_free(&nn);
}

// Train mode uses batch statistics and moves the running ones by momentum 0.1 with the
// unbiased variance; eval mode uses the running ones and leaves them alone.
Test(nn_modules, batchnorm_train_eval_switch) {
  gw_nn nn;
  gw_nn_init(&nn, 6);
  gw_batchnorm_m m;
  gw_batchnorm_init(&m, &nn, "bn", 2, true);
  gw_f32(m.weight)[0] = 1.5f;
  gw_f32(m.weight)[1] = 0.5f;
  gw_f32(m.bias)[0] = 0.25f;
  gw_f32(m.bias)[1] = -1.0f;
  gw_rng r = gwt_rng(6);
  const int B = 3, C = 2, L = 4;
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(B, C, L));
  const float *px = gw_f32(x);
  double mean[2] = {0}, var[2] = {0};
  for (int c = 0; c < C; c++) {
    for (int b = 0; b < B; b++)
      for (int l = 0; l < L; l++) mean[c] += px[(b * C + c) * L + l];
    mean[c] /= B * L;
    for (int b = 0; b < B; b++)
      for (int l = 0; l < L; l++) var[c] += pow(px[(b * C + c) * L + l] - mean[c], 2);
    var[c] /= B * L;  // biased: what normalises in training
  }
  gw_tensor *y = gw_batchnorm_forward(&m, x);
  gw_tensor *want = gw_empty(GW_F32, GW_SHAPE(B, C, L));
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int l = 0; l < L; l++) {
        int i = (b * C + c) * L + l;
        gw_f32(want)[i] = (float)((px[i] - mean[c]) / sqrt(var[c] + 1e-5) * gw_f32(m.weight)[c] +
                                  gw_f32(m.bias)[c]);
      }
  gwt_assert_close(y, want, 1e-5, 1e-5, "batchnorm train output (batch statistics)");
  double n = B * L;
  for (int c = 0; c < C; c++) {
    double rm = 0.1 * mean[c], rv = 0.9 * 1.0 + 0.1 * var[c] * n / (n - 1);
    cr_assert_float_eq(gw_f32(m.running_mean)[c], rm, 1e-6, "running mean %d: %g, want %g", c,
                       gw_f32(m.running_mean)[c], rm);
    cr_assert_float_eq(gw_f32(m.running_var)[c], rv, 1e-6, "running var %d: %g, want %g", c,
                       gw_f32(m.running_var)[c], rv);
  }
  // eval: y = (x - rm) / sqrt(rv + eps) * w + b, running statistics unchanged
  gw_nn_train(&nn, false);
  gw_tensor *rm0 = gw_clone(m.running_mean), *rv0 = gw_clone(m.running_var);
  gw_tensor *ye = gw_batchnorm_forward(&m, x);
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int l = 0; l < L; l++) {
        int i = (b * C + c) * L + l;
        double rm = gw_f32(m.running_mean)[c], rv = gw_f32(m.running_var)[c];
        gw_f32(want)[i] = (float)((px[i] - rm) / sqrt(rv + 1e-5) * gw_f32(m.weight)[c] +
                                  gw_f32(m.bias)[c]);
      }
  gwt_assert_close(ye, want, 1e-5, 1e-5, "batchnorm eval output (running statistics)");
  gwt_assert_same_bits(m.running_mean, rm0, "eval leaves the running mean alone");
  gwt_assert_same_bits(m.running_var, rv0, "eval leaves the running var alone");
  // back to training: batch statistics again
  gw_nn_train(&nn, true);
  gwt_assert_close(gw_batchnorm_forward(&m, x), y, 1e-6, 1e-6, "train mode again");
  gw_nn_free(&nn);
}

// ---- LayerNorm ----

static gw_tensor *f_ln(gw_tensor *const *in, void *c) {
  return gw_layernorm_forward(((ctx *)c)->m, in[0]);
}

// LayerNorm over the last dim: gradients of x, weight and bias; affine-free registers nothing.
Test(nn_modules, layernorm_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 7);
  gw_layernorm_m m, nf;
  gw_layernorm_init(&m, &nn, "ln", 5, true);
  jitter_params(&nn, 7);
  gw_rng r = gwt_rng(7);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 5)))};
  ctx c = {&m};
  gwt_gradcheck("layernorm", f_ln, &c, add_params(&nn, "ln.", ins, 1), ins, GWT_EPS, GWT_ATOL,
                GWT_RTOL);
  gw_layernorm_init(&nf, &nn, "nf", 5, false);
  cr_assert(!nf.weight && !gw_nn_find(&nn, "nf.weight"));
  c.m = &nf;
  gwt_gradcheck("layernorm affine-free", f_ln, &c, 1, ins, GWT_EPS, GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// ---- Embedding ----

typedef struct emb_ctx {
  const gw_embedding_m *m;
  const gw_tensor *ids;
  const gw_tensor *keep;  // (.., 1) float: 0 at padding positions
} emb_ctx;

static gw_tensor *f_emb(gw_tensor *const *in, void *c) {
  emb_ctx *e = c;
  gw_tensor *y = gw_embedding_forward(e->m, e->ids);
  return e->keep ? gw_mul(y, (gw_tensor *)e->keep) : y;
}

// The padding row starts at 0, is read in the forward pass like any row, and gets no
// gradient; the other rows' gradients match finite differences.
Test(nn_modules, embedding_padding) {
  gw_nn nn;
  gw_nn_init(&nn, 8);
  gw_embedding_m m;
  gw_embedding_init(&m, &nn, "emb", 6, 3, 2);
  for (int j = 0; j < 3; j++) cr_assert_eq(gw_f32(m.weight)[2 * 3 + j], 0.0f, "padding row not 0");
  int32_t idv[8] = {0, 2, 5, 1, 2, 2, 4, 1};
  gw_tensor *ids = int_tensor(idv, GW_SHAPE(2, 4));
  // the padding row is used in the forward pass
  for (int j = 0; j < 3; j++) gw_f32(m.weight)[2 * 3 + j] = 0.5f + (float)j;
  gw_tensor *y = gw_embedding_forward(&m, ids);
  cr_assert_eq(gw_f32(y)[1 * 3 + 2], 2.5f);
  // ... and gets exactly no gradient
  gw_nn_zero_grad(&nn);
  gw_rng r = gwt_rng(8);
  gw_backward(gw_sum_all(gw_mul(y, gwt_randn(&r, GW_SHAPE(2, 4, 3)))));
  cr_assert_not_null(m.weight->grad);
  for (int j = 0; j < 3; j++)
    cr_assert_eq(gw_f32(m.weight->grad)[2 * 3 + j], 0.0f, "the padding row got a gradient");
  cr_assert_eq(gw_f32(m.weight->grad)[3 * 3], 0.0f, "an unused row got a gradient");
  // the real rows: a gradient check with padding positions masked out of the output (the
  // padding row then does not move the output, matching its zero gradient)
  gw_tensor *keep = gw_empty(GW_F32, GW_SHAPE(2, 4, 1));
  for (int i = 0; i < 8; i++) gw_f32(keep)[i] = idv[i] == 2 ? 0.0f : 1.0f;
  emb_ctx c = {&m, ids, keep};
  gw_tensor *ins[1] = {m.weight};
  gwt_gradcheck("embedding", f_emb, &c, 1, ins, GWT_EPS, GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// ---- MLP ----

static gw_tensor *f_mlp(gw_tensor *const *in, void *c) {
  return gw_mlp_forward(((ctx *)c)->m, in[0]);
}

// A 3-layer MLP with GELU: gradients of x and every layer; names "mlp.layers.i.weight".
Test(nn_modules, mlp_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 9);
  gw_mlp m;
  gw_mlp_init(&m, &nn, "mlp", 3, (int64_t[]){4, 6, 5, 3}, GW_ACT_GELU, 0.0f);
  cr_assert_not_null(gw_nn_find(&nn, "mlp.layers.2.bias"));
  gw_rng r = gwt_rng(9);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4)))};
  int n = add_params(&nn, "mlp.", ins, 1);
  cr_assert_eq(n, 7);
  ctx c = {&m};
  gwt_gradcheck("mlp", f_mlp, &c, n, ins, GWT_EPS, GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// ---- multi-head attention ----

typedef struct mha_ctx {
  const gw_mha *m;
  const gw_tensor *keep;
  bool self;
} mha_ctx;

static gw_tensor *f_mha(gw_tensor *const *in, void *c) {
  mha_ctx *a = c;
  if (a->self) return gw_mha_forward(a->m, in[0], in[0], in[0], a->keep, NULL);
  return gw_mha_forward(a->m, in[0], in[1], in[2], a->keep, NULL);
}

// Self-attention (2 heads): gradients of x and of all four projections.
Test(nn_modules, mha_self_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 10);
  gw_mha m;
  gw_mha_init(&m, &nn, "attn", 4, 2, 0.0f);
  jitter_params(&nn, 10);
  gw_rng r = gwt_rng(10);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4)))};
  int n = add_params(&nn, "attn.", ins, 1);
  cr_assert_eq(n, 9);
  mha_ctx c = {&m, NULL, true};
  gwt_gradcheck("mha self", f_mha, &c, n, ins, GWT_EPS, GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// Cross-attention with a key padding mask: masked keys get attention weight exactly 0, the
// weights over the real keys sum to 1, masked key and value rows get exactly no gradient,
// and the gradients of q, k, v and the parameters match finite differences.
Test(nn_modules, mha_cross_key_mask) {
  gw_nn nn;
  gw_nn_init(&nn, 11);
  gw_mha m;
  gw_mha_init(&m, &nn, "xattn", 4, 2, 0.0f);
  jitter_params(&nn, 11);
  gw_rng r = gwt_rng(11);
  const int B = 2, T = 3, S = 5, D = 4;
  gw_tensor *q = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, T, D)));
  gw_tensor *k = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, S, D)));
  gw_tensor *v = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, S, D)));
  int32_t keepv[10] = {1, 1, 0, 1, 0, 1, 1, 1, 1, 0};
  gw_tensor *keep = int_tensor(keepv, GW_SHAPE(B, S));
  gw_tensor *attn = NULL;
  gw_tensor *y = gw_mha_forward(&m, q, k, v, keep, &attn);
  cr_assert(y->shape[0] == B && y->shape[1] == T && y->shape[2] == D, "output %s", gw_shape_str(y));
  cr_assert(attn && attn->ndim == 4 && attn->shape[1] == 2 && attn->shape[3] == S);
  gw_tensor *w = gw_contiguous(attn);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < 2; h++)
      for (int t = 0; t < T; t++) {
        double sum = 0.0;
        for (int s = 0; s < S; s++) {
          float a = gw_f32(w)[((b * 2 + h) * T + t) * S + s];
          if (!keepv[b * S + s])
            cr_assert_eq(a, 0.0f, "masked key %d of sample %d has weight %g", s, b, a);
          sum += a;
        }
        cr_assert_float_eq(sum, 1.0, 1e-5, "attention row sums to %g", sum);
      }
  gw_rng rw = gwt_rng(12);
  gw_backward(gw_sum_all(gw_mul(y, gwt_randn(&rw, GW_SHAPE(B, T, D)))));
  for (int b = 0; b < B; b++)
    for (int s = 0; s < S; s++) {
      if (keepv[b * S + s]) continue;
      for (int d = 0; d < D; d++) {
        cr_assert_eq(gw_f32(k->grad)[(b * S + s) * D + d], 0.0f, "masked key row got a gradient");
        cr_assert_eq(gw_f32(v->grad)[(b * S + s) * D + d], 0.0f, "masked value row got a gradient");
      }
    }
  gw_step_end();
  // a fresh q/k/v in the new step
  q = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, T, D)));
  k = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, S, D)));
  v = gwt_leaf(gwt_randn(&r, GW_SHAPE(B, S, D)));
  keep = int_tensor(keepv, GW_SHAPE(B, S));
  gw_tensor *ins[MAX_IN] = {q, k, v};
  mha_ctx c = {&m, keep, false};
  gwt_gradcheck("mha cross masked", f_mha, &c, add_params(&nn, "xattn.", ins, 3), ins, GWT_EPS,
                GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// ---- transformer layers ----

typedef struct layer_ctx {
  const void *m;
  const gw_tensor *keep;
} layer_ctx;

static gw_tensor *f_encoder(gw_tensor *const *in, void *c) {
  layer_ctx *l = c;
  return gw_encoder_layer_forward(l->m, in[0], l->keep);
}

static gw_tensor *f_cross(gw_tensor *const *in, void *c) {
  layer_ctx *l = c;
  return gw_cross_layer_forward(l->m, in[0], in[1], l->keep, NULL);
}

// Encoder layer, post-norm and pre-norm, with a key mask: gradients of x and all parameters.
Test(nn_modules, encoder_layer_gradcheck) {
  gw_rng r = gwt_rng(13);
  int32_t keepv[8] = {1, 1, 1, 0, 1, 1, 1, 1};
  for (int pre = 0; pre < 2; pre++) {
    gw_nn nn;
    gw_nn_init(&nn, 13 + pre);
    gw_encoder_layer m;
    gw_encoder_layer_init(&m, &nn, "enc", 4, 2, 6, 0.0f, GW_ACT_GELU, pre);
    jitter_params(&nn, 13 + pre);
    gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 4, 4)))};
    int n = add_params(&nn, "enc.", ins, 1);
    cr_assert_eq(n, 1 + 8 + 4 + 4);
    layer_ctx c = {&m, int_tensor(keepv, GW_SHAPE(2, 4))};
    gwt_gradcheck(pre ? "encoder pre-norm" : "encoder post-norm", f_encoder, &c, n, ins, GWT_EPS,
                  GWT_ATOL, GWT_RTOL);
    gw_nn_free(&nn);
  }
}

// Cross layer with and without FFN, pre- and post-norm: gradients of x, memory and all
// parameters; the FFN's and the memory norm's parameters exist only when used.
Test(nn_modules, cross_layer_gradcheck) {
  gw_rng r = gwt_rng(14);
  int32_t keepv[10] = {1, 0, 1, 1, 1, 1, 1, 1, 0, 0};
  for (int pre = 0; pre < 2; pre++)
    for (int ff = 0; ff < 2; ff++) {
      gw_nn nn;
      gw_nn_init(&nn, 20 + 2 * pre + ff);
      gw_cross_layer m;
      gw_cross_layer_init(&m, &nn, "x", 4, 2, ff ? 6 : 0, 0.0f, GW_ACT_TANH, pre);
      cr_assert_eq(m.has_ffn, (bool)ff);
      cr_assert_eq(gw_nn_find(&nn, "x.linear1.weight") != NULL, (bool)ff);
      cr_assert_eq(gw_nn_find(&nn, "x.norm_memory.weight") != NULL, (bool)pre);
      jitter_params(&nn, 20 + 2 * pre + ff);
      gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3, 4))),
                                gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 5, 4)))};
      layer_ctx c = {&m, int_tensor(keepv, GW_SHAPE(2, 5))};
      char name[64];
      snprintf(name, sizeof name, "cross layer %s, %s FFN", pre ? "pre-norm" : "post-norm",
               ff ? "with" : "without");
      // a layer norm over 4 features curves strongly where a row's spread is small: a
      // smaller step than the default keeps the central difference's truncation error down
      gwt_gradcheck(name, f_cross, &c, add_params(&nn, "x.", ins, 2), ins, 1e-3, GWT_ATOL,
                    GWT_RTOL);
      gw_nn_free(&nn);
    }
}

// ---- GRU ----

typedef struct gru_ctx {
  const gw_gru *m;
  const gw_tensor *lengths;
  bool last;  // return the final state instead of the outputs
} gru_ctx;

static gw_tensor *f_gru(gw_tensor *const *in, void *c) {
  gru_ctx *g = c;
  gw_tensor *last;
  gw_tensor *out = gw_gru_forward(g->m, in[0], g->lengths, &last);
  return g->last ? last : out;
}

// With lengths, inputs at padded positions change nothing (bit for bit), padded outputs are
// 0, and the final state equals that of running the unpadded sequence alone; one- and
// two-directional.
Test(nn_modules, gru_lengths_match_unpadded) {
  for (int bi = 0; bi < 2; bi++) {
    gw_nn nn;
    gw_nn_init(&nn, 30 + bi);
    gw_gru m;
    gw_gru_init(&m, &nn, "gru", 3, 4, bi);
    int64_t H = 4, O = bi ? 8 : 4;
    gw_rng r = gwt_rng(30);
    const int B = 2, T = 5;
    int32_t lens[2] = {3, 5};
    gw_tensor *lengths = int_tensor(lens, GW_SHAPE(2));
    gw_tensor *x = gwt_randn(&r, GW_SHAPE(B, T, 3));
    gw_tensor *last, *out = gw_contiguous(gw_gru_forward(&m, x, lengths, &last));
    last = gw_contiguous(last);
    cr_assert(last->shape[1] == O && out->shape[2] == O);
    // other values at the padded positions of sequence 0
    gw_tensor *x2 = gw_clone(x);
    for (int t = 3; t < T; t++)
      for (int i = 0; i < 3; i++) gw_f32(x2)[t * 3 + i] = 10.0f * (float)(t + i) - 7.0f;
    gw_tensor *last2, *out2 = gw_gru_forward(&m, x2, lengths, &last2);
    gwt_assert_same_bits(last2, last, "final state after changing padded inputs");
    gwt_assert_same_bits(out2, out, "outputs after changing padded inputs");
    for (int t = 3; t < T; t++)
      for (int o = 0; o < O; o++)
        cr_assert_eq(gw_f32(out)[t * O + o], 0.0f, "padded output (0, %d, %d) is not 0", t, o);
    // sequence 0 alone, unpadded (3 steps)
    gw_tensor *x0 = gw_contiguous(gw_view_slice(gw_view_slice(x, 0, 0, 1, 1), 1, 0, 3, 1));
    gw_tensor *last0, *out0 = gw_contiguous(gw_gru_forward(&m, x0, NULL, &last0));
    gwt_assert_close(gw_view_slice(last, 0, 0, 1, 1), last0, 1e-6, 1e-5,
                     "final state of a padded sequence vs the sequence alone");
    gwt_assert_close(gw_view_slice(gw_view_slice(out, 0, 0, 1, 1), 1, 0, 3, 1), out0, 1e-6, 1e-5,
                     "outputs of a padded sequence vs the sequence alone");
    // a full-length sequence with lengths equals running without them
    gw_tensor *x1 = gw_contiguous(gw_view_slice(x, 0, 1, 2, 1));
    gw_tensor *last1;
    gw_gru_forward(&m, x1, NULL, &last1);
    gwt_assert_close(gw_view_slice(last, 0, 1, 2, 1), last1, 1e-6, 1e-5, "full-length sequence");
    // the forward half of `last` is the state at the last real token
    gw_tensor *at_last = gw_contiguous(gw_view_slice(gw_view_slice(out, 0, 0, 1, 1), 1, 2, 3, 1));
    gwt_assert_close(gw_view_slice(gw_view_slice(last, 0, 0, 1, 1), 1, 0, H, 1),
                     gw_view_slice(gw_view_reshape(at_last, GW_SHAPE(1, O)), 1, 0, H, 1), 0, 0,
                     "forward final state == output at the last real token");
    gw_nn_free(&nn);
  }
}

// Gradients through the GRU with lengths (outputs and final state), one- and two-directional.
Test(nn_modules, gru_gradcheck) {
  for (int bi = 0; bi < 2; bi++) {
    gw_nn nn;
    gw_nn_init(&nn, 40 + bi);
    gw_gru m;
    gw_gru_init(&m, &nn, "gru", 3, 2, bi);
    gw_rng r = gwt_rng(40);
    int32_t lens[2] = {2, 4};
    gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 4, 3)))};
    int n = add_params(&nn, "gru.", ins, 1);
    cr_assert_eq(n, bi ? 9 : 5);
    for (int last = 0; last < 2; last++) {
      gru_ctx c = {&m, int_tensor(lens, GW_SHAPE(2)), last};
      gwt_gradcheck(bi ? "bidirectional gru" : "gru", f_gru, &c, n, ins, GWT_EPS, GWT_ATOL,
                    GWT_RTOL);
    }
    gw_nn_free(&nn);
  }
}

// ---- vision ----

static gw_tensor *f_patch(gw_tensor *const *in, void *c) {
  return gw_patch_embed_forward(((ctx *)c)->m, in[0]);
}

// Patch embedding: (B, C, H, W) -> (B, (H/p)(W/p), dim), token i is patch i in row-major
// order, gradients match; an image that does not divide into patches is an error.
Test(nn_modules, patch_embed) {
  gw_nn nn;
  gw_nn_init(&nn, 50);
  gw_patch_embed m;
  gw_patch_embed_init(&m, &nn, "patch", 2, 3, 2);
  cr_assert_not_null(gw_nn_find(&nn, "patch.proj.weight"));
  gw_rng r = gwt_rng(50);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 2, 4, 6)))};
  gw_tensor *y = gw_contiguous(gw_patch_embed_forward(&m, ins[0]));
  cr_assert(y->ndim == 3 && y->shape[0] == 2 && y->shape[1] == 6 && y->shape[2] == 3,
            "tokens %s", gw_shape_str(y));
  // token 4 of sample 1 = patch at row 1, col 1: w . x[1, :, 2:4, 2:4] + b
  for (int o = 0; o < 3; o++) {
    double s = gw_f32(m.proj.bias)[o];
    for (int ci = 0; ci < 2; ci++)
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
          s += (double)gw_f32(m.proj.weight)[((o * 2 + ci) * 2 + i) * 2 + j] *
               gw_f32(ins[0])[((1 * 2 + ci) * 4 + 2 + i) * 6 + 2 + j];
    cr_assert_float_eq(gw_f32(y)[(1 * 6 + 4) * 3 + o], s, 1e-5);
  }
  ctx c = {&m};
  gwt_gradcheck("patch embed", f_patch, &c, add_params(&nn, "patch.", ins, 1), ins, GWT_EPS,
                GWT_ATOL, GWT_RTOL);
  GWT_EXPECT_ERROR(gw_patch_embed_forward(&m, gwt_randn(&r, GW_SHAPE(1, 2, 5, 6))), "patch");
  gw_nn_free(&nn);
}

static gw_tensor *f_backbone(gw_tensor *const *in, void *c) {
  return gw_backbone_forward(((ctx *)c)->m, in[0]);
}

// A tiny backbone (stem, two stages, one with a downsampling block) in training mode:
// output shape and gradients of x and every conv and batch-norm parameter. ReLU has a kink,
// so the step is small (1e-3) to stay on one side of it.
Test(nn_modules, backbone_tiny_gradcheck) {
  gw_nn nn;
  gw_nn_init(&nn, 60);
  gw_backbone m;
  gw_backbone_cfg cfg = {.in_ch = 2, .stem_ch = 3, .stem_stride = 1, .n_stages = 2,
                         .channels = {3, 4}, .blocks = {1, 1}, .strides = {1, 2}};
  gw_backbone_init(&m, &nn, "bb", &cfg);
  cr_assert_eq(gw_backbone_out_channels(&m), 4);
  cr_assert(!m.blocks[0][0].has_down && m.blocks[1][0].has_down);
  jitter_params(&nn, 60);
  gw_rng r = gwt_rng(60);
  gw_tensor *ins[MAX_IN] = {gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 2, 4, 4)))};
  gw_tensor *y = gw_backbone_forward(&m, ins[0]);
  cr_assert(y->shape[0] == 2 && y->shape[1] == 4 && y->shape[2] == 2 && y->shape[3] == 2,
            "backbone output %s", gw_shape_str(y));
  int n = add_params(&nn, "bb.", ins, 1);
  cr_assert_eq(n, 1 + 6 + 2 * 6);  // x; 6 convs (stem, 2, 3 with the downsample); 6 bns
  ctx c = {&m};
  gwt_gradcheck("backbone", f_backbone, &c, n, ins, 1e-3, GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// ---- gated residual ----

typedef struct gate_ctx {
  const gw_gated_residual *m;
} gate_ctx;

static gw_tensor *f_gate(gw_tensor *const *in, void *c) {
  return gw_gated_residual_forward(((gate_ctx *)c)->m, in[0], gw_tanh(in[1]));
}

// The gate starts at 0, so the module is the identity at init, yet the gate's gradient is
// not 0 (sum of dL/dy * branch); gradients match finite differences away from 0.
Test(nn_modules, gated_residual) {
  gw_nn nn;
  gw_nn_init(&nn, 70);
  gw_gated_residual m;
  gw_gated_residual_init(&m, &nn, "fuse");
  cr_assert_eq(m.gate->ndim, 0);
  cr_assert_eq(gw_item(m.gate), 0.0f);
  gw_rng r = gwt_rng(70);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3)));
  gw_tensor *br = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3)));
  gw_tensor *y = gw_gated_residual_forward(&m, x, br);
  gwt_assert_same_bits(y, x, "output == input at init");
  gw_tensor *w = gwt_randn(&r, GW_SHAPE(2, 3));
  gw_backward(gw_sum_all(gw_mul(y, w)));
  double want = 0.0;
  for (int i = 0; i < 6; i++) want += (double)gw_f32(w)[i] * gw_f32(br)[i];
  cr_assert_not_null(m.gate->grad);
  cr_assert(fabs(want) > 1e-3);
  cr_assert_float_eq(gw_item(m.gate->grad), want, 1e-5, "gate gradient %g, want %g",
                     gw_item(m.gate->grad), want);
  gwt_assert_same_bits(x->grad, w, "dL/dx = dL/dy");
  gw_f32(m.gate)[0] = 0.7f;
  gw_tensor *ins[3] = {x, br, m.gate};
  gate_ctx c = {&m};
  gwt_gradcheck("gated residual", f_gate, &c, 3, ins, GWT_EPS, GWT_ATOL, GWT_RTOL);
  gw_nn_free(&nn);
}

// ---- the registry ----

typedef struct small_model {
  gw_nn nn;
  gw_conv_m conv;
  gw_batchnorm_m bn;
  gw_embedding_m emb;
  gw_encoder_layer enc;
  gw_gru gru;
  gw_gated_residual gate;
  gw_linear_m head;
} small_model;

static void small_model_init(small_model *s) {
  gw_nn_init(&s->nn, 80);
  const char *visual = gw_nn_name("", "visual");
  gw_conv_init(&s->conv, &s->nn, gw_nn_name(visual, "conv1"), 3, 4, 3, 1, 1, 1, false);
  gw_batchnorm_init(&s->bn, &s->nn, gw_nn_name(visual, "bn1"), 4, true);
  gw_embedding_init(&s->emb, &s->nn, "text.embed", 10, 4, 0);
  gw_encoder_layer_init(&s->enc, &s->nn, gw_nn_name_i("text", "layers", 0), 4, 2, 8, 0.1f,
                        GW_ACT_GELU, true);
  gw_gru_init(&s->gru, &s->nn, "text.gru", 4, 3, true);
  gw_gated_residual_init(&s->gate, &s->nn, "fusion");
  gw_linear_init(&s->head, &s->nn, "head", 4, 2, true);
}

// Names are dotted and follow PyTorch's state_dict keys, in registration order; no_decay marks
// biases, norm parameters and the gate but not weights or embeddings; buffers are marked.
Test(nn_modules, parameter_names_and_no_decay) {
  small_model s;
  small_model_init(&s);
  static const struct { const char *name; bool no_decay, buffer; } want[] = {
      {"visual.conv1.weight", false, false},
      {"visual.bn1.weight", true, false},
      {"visual.bn1.bias", true, false},
      {"visual.bn1.running_mean", true, true},
      {"visual.bn1.running_var", true, true},
      {"text.embed.weight", false, false},
      {"text.layers.0.self_attn.q_proj.weight", false, false},
      {"text.layers.0.self_attn.q_proj.bias", true, false},
      {"text.layers.0.self_attn.k_proj.weight", false, false},
      {"text.layers.0.self_attn.k_proj.bias", true, false},
      {"text.layers.0.self_attn.v_proj.weight", false, false},
      {"text.layers.0.self_attn.v_proj.bias", true, false},
      {"text.layers.0.self_attn.out_proj.weight", false, false},
      {"text.layers.0.self_attn.out_proj.bias", true, false},
      {"text.layers.0.linear1.weight", false, false},
      {"text.layers.0.linear1.bias", true, false},
      {"text.layers.0.linear2.weight", false, false},
      {"text.layers.0.linear2.bias", true, false},
      {"text.layers.0.norm1.weight", true, false},
      {"text.layers.0.norm1.bias", true, false},
      {"text.layers.0.norm2.weight", true, false},
      {"text.layers.0.norm2.bias", true, false},
      {"text.gru.weight_ih_l0", false, false},
      {"text.gru.weight_hh_l0", false, false},
      {"text.gru.bias_ih_l0", true, false},
      {"text.gru.bias_hh_l0", true, false},
      {"text.gru.weight_ih_l0_reverse", false, false},
      {"text.gru.weight_hh_l0_reverse", false, false},
      {"text.gru.bias_ih_l0_reverse", true, false},
      {"text.gru.bias_hh_l0_reverse", true, false},
      {"fusion.gate", true, false},
      {"head.weight", false, false},
      {"head.bias", true, false},
  };
  int n = (int)(sizeof want / sizeof want[0]);
  cr_assert_eq(s.nn.count, n, "%d tensors registered, want %d", s.nn.count, n);
  for (int i = 0; i < n; i++) {
    gw_named *p = &s.nn.items[i];
    cr_assert_str_eq(p->name, want[i].name, "item %d", i);
    cr_assert_str_eq(p->tensor->name, want[i].name, "the tensor carries its name");
    cr_assert_eq(p->no_decay, want[i].no_decay, "%s: no_decay %d", p->name, p->no_decay);
    cr_assert_eq(p->buffer, want[i].buffer, "%s: buffer %d", p->name, p->buffer);
    cr_assert_eq(p->tensor->requires_grad, !want[i].buffer, "%s: requires_grad", p->name);
    cr_assert_eq(gw_nn_find(&s.nn, want[i].name), p);
  }
  cr_assert_null(gw_nn_find(&s.nn, "head"));
  cr_assert_str_eq(gw_nn_name_i("a.b", "layers", 12), "a.b.layers.12");
  cr_assert_str_eq(gw_nn_name("", "x"), "x");
  gw_nn_free(&s.nn);
}

// gw_nn_param_count counts parameter elements (no buffers), trainable_only the unfrozen ones;
// gw_nn_freeze matches whole name components ("text" freezes "text.*", not "textual.*"),
// returns how many it changed, and unfreezes.
Test(nn_modules, param_count_and_freeze) {
  small_model s;
  small_model_init(&s);
  gw_linear_m extra;
  gw_linear_init(&extra, &s.nn, "textual", 2, 2, false);
  int64_t conv = 4 * 3 * 9, bn = 8, emb = 40, enc = 4 * (16 + 4) + (32 + 8) + (32 + 4) + 16;
  int64_t gru = 2 * (9 * 4 + 9 * 3 + 9 + 9), head = 10;
  int64_t total = conv + bn + emb + enc + gru + 1 + head + 4;  // 1: the gate, 4: "textual"
  cr_assert_eq(gw_nn_param_count(&s.nn, false), total, "%lld parameters, want %lld",
               (long long)gw_nn_param_count(&s.nn, false), (long long)total);
  cr_assert_eq(gw_nn_param_count(&s.nn, true), total);
  int changed = gw_nn_freeze(&s.nn, "text", true);
  cr_assert_eq(changed, 1 + 16 + 8, "froze %d tensors", changed);
  cr_assert(!s.emb.weight->requires_grad && !s.gru.w_ih->requires_grad);
  cr_assert(extra.weight->requires_grad, "'text' must not freeze 'textual.weight'");
  cr_assert(!s.bn.running_mean->requires_grad, "buffers stay untrained");
  cr_assert_eq(gw_nn_param_count(&s.nn, true), total - emb - enc - gru);
  cr_assert_eq(gw_nn_param_count(&s.nn, false), total);
  cr_assert_eq(gw_nn_freeze(&s.nn, "text.", true), 0, "already frozen: nothing changes");
  cr_assert_eq(gw_nn_freeze(&s.nn, "text.gru", false), 8);
  cr_assert_eq(gw_nn_param_count(&s.nn, true), total - emb - enc);
  cr_assert_eq(gw_nn_freeze(&s.nn, "visual.conv1.weight", true), 1, "an exact name");
  cr_assert_eq(gw_nn_freeze(&s.nn, "", false), 1 + 1 + 16);
  cr_assert_eq(gw_nn_param_count(&s.nn, true), total);
  // a frozen parameter gets no gradient
  gw_nn_freeze(&s.nn, "head", true);
  gw_rng r = gwt_rng(81);
  gw_backward(gw_sum_all(gw_linear_forward(&s.head, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 4))))));
  cr_assert(!s.head.weight->grad, "a frozen weight got a gradient");
  gw_nn_free(&s.nn);
}

// Registering a name twice stops with an error naming it.
Test(nn_modules, duplicate_names_are_an_error) {
  gw_nn nn;
  gw_nn_init(&nn, 90);
  gw_linear_m a, b;
  gw_linear_init(&a, &nn, "fc", 2, 2, true);
  GWT_EXPECT_ERROR(gw_linear_init(&b, &nn, "fc", 2, 2, true), "'fc.weight' is registered twice");
  GWT_EXPECT_ERROR(gw_nn_buffer(&nn, "fc", "bias", GW_SHAPE(2)), "fc.bias");
  gw_nn_free(&nn);
}

// Dropout acts only in training mode (and MHA's attention dropout with it).
Test(nn_modules, dropout_follows_mode) {
  gw_nn nn;
  gw_nn_init(&nn, 91);
  gw_rng r = gwt_rng(91);
  gw_tensor *x = gw_full(1.0f, GW_SHAPE(1000));
  gw_tensor *y = gw_nn_dropout(&nn, x, 0.5f);
  int zeros = 0;
  for (int i = 0; i < 1000; i++) {
    float v = gw_f32(y)[i];
    cr_assert(v == 0.0f || v == 2.0f, "dropout value %g", v);
    zeros += v == 0.0f;
  }
  cr_assert(zeros > 400 && zeros < 600, "%d of 1000 dropped at p = 0.5", zeros);
  gw_nn_train(&nn, false);
  cr_assert_eq(gw_nn_dropout(&nn, x, 0.5f), x, "evaluation: dropout is the identity");
  gw_mha m;
  gw_mha_init(&m, &nn, "a", 4, 2, 0.5f);
  gw_tensor *q = gwt_randn(&r, GW_SHAPE(1, 3, 4));
  gwt_assert_same_bits(gw_mha_forward(&m, q, q, q, NULL, NULL),
                       gw_mha_forward(&m, q, q, q, NULL, NULL), "evaluation is deterministic");
  gw_nn_free(&nn);
}

// ---- initialisation statistics ----

// Checks that n values lie in [-bound, bound] and look uniform there: mean ~ 0, variance ~
// bound^2 / 3, each quarter of the range holding ~ 1/4 of the values, and the extremes near
// the bounds.
static void assert_uniform(const char *what, const float *v, int64_t n, double bound) {
  double sum = 0.0, sq = 0.0, lo = INFINITY, hi = -INFINITY;
  int64_t bins[4] = {0};
  for (int64_t i = 0; i < n; i++) {
    cr_assert(fabs(v[i]) <= bound, "%s: value %g outside +-%g", what, v[i], bound);
    sum += v[i];
    sq += (double)v[i] * v[i];
    lo = fmin(lo, v[i]);
    hi = fmax(hi, v[i]);
    int b = (int)floor((v[i] + bound) / (2 * bound) * 4);
    bins[b < 0 ? 0 : b > 3 ? 3 : b]++;
  }
  double mean = sum / n, var = sq / n - mean * mean, sd = bound / sqrt(3.0);
  cr_assert(fabs(mean) < 4 * sd / sqrt((double)n), "%s: mean %g", what, mean);
  cr_assert(fabs(var / (sd * sd) - 1.0) < 0.1, "%s: variance %g, want %g", what, var, sd * sd);
  for (int b = 0; b < 4; b++)
    cr_assert(fabs((double)bins[b] / n - 0.25) < 0.05, "%s: quarter %d holds %.3f of the values",
              what, b, (double)bins[b] / n);
  cr_assert(hi > 0.95 * bound && lo < -0.95 * bound, "%s: range [%g, %g], bound %g", what, lo, hi,
            bound);
}

// Linear and Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Test(nn_modules, init_linear_conv_uniform) {
  gw_nn nn;
  gw_nn_init(&nn, 100);
  gw_linear_m l;
  gw_linear_init(&l, &nn, "l", 64, 48, true);
  assert_uniform("linear weight", gw_f32(l.weight), 64 * 48, 1.0 / 8.0);
  gw_conv_m c;
  gw_conv_init(&c, &nn, "c", 8, 32, 3, 1, 1, 2, true);  // fan_in = 8 / 2 * 9 = 36
  assert_uniform("conv weight", gw_f32(c.weight), 32 * 4 * 9, 1.0 / 6.0);
  gw_linear_m big;
  gw_linear_init(&big, &nn, "big", 16, 2048, true);
  assert_uniform("linear bias", gw_f32(big.bias), 2048, 0.25);
  gw_nn_free(&nn);
}

// Embedding ~ N(0, 1); BatchNorm and LayerNorm weight 1, bias 0, running var 1; MHA q/k/v
// ~ U(+-sqrt(6 / 4d)) with zero biases, out_proj as Linear with a zero bias; the gate 0.
Test(nn_modules, init_embedding_norms_attention) {
  gw_nn nn;
  gw_nn_init(&nn, 101);
  gw_embedding_m e;
  gw_embedding_init(&e, &nn, "e", 100, 64, -1);
  double sum = 0.0, sq = 0.0;
  int64_t n = 6400, beyond2 = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = gw_f32(e.weight)[i];
    sum += v;
    sq += (double)v * v;
    beyond2 += fabsf(v) > 2.0f;
  }
  double mean = sum / n, sd = sqrt(sq / n - mean * mean);
  cr_assert(fabs(mean) < 0.05 && fabs(sd - 1.0) < 0.04, "embedding mean %g std %g", mean, sd);
  cr_assert(fabs((double)beyond2 / n - 0.0455) < 0.012, "%.4f beyond 2 sd (normal: 0.0455)",
            (double)beyond2 / n);
  gw_batchnorm_m bn;
  gw_batchnorm_init(&bn, &nn, "bn", 5, true);
  gw_layernorm_m ln;
  gw_layernorm_init(&ln, &nn, "ln", 5, true);
  for (int i = 0; i < 5; i++) {
    cr_assert(gw_f32(bn.weight)[i] == 1.0f && gw_f32(bn.bias)[i] == 0.0f);
    cr_assert(gw_f32(bn.running_mean)[i] == 0.0f && gw_f32(bn.running_var)[i] == 1.0f);
    cr_assert(gw_f32(ln.weight)[i] == 1.0f && gw_f32(ln.bias)[i] == 0.0f);
  }
  cr_assert_float_eq(bn.momentum, 0.1f, 0);
  cr_assert_float_eq(bn.eps, 1e-5f, 0);
  gw_mha m;
  const int64_t d = 64;
  gw_mha_init(&m, &nn, "attn", d, 4, 0.0f);
  double bound = sqrt(6.0 / (4.0 * d));
  const gw_linear_m *proj[3] = {&m.q_proj, &m.k_proj, &m.v_proj};
  for (int k = 0; k < 3; k++) {
    assert_uniform("attention in-projection", gw_f32(proj[k]->weight), d * d, bound);
    for (int i = 0; i < d; i++) cr_assert_eq(gw_f32(proj[k]->bias)[i], 0.0f);
  }
  assert_uniform("attention out-projection", gw_f32(m.out_proj.weight), d * d, 1.0 / 8.0);
  for (int i = 0; i < d; i++) cr_assert_eq(gw_f32(m.out_proj.bias)[i], 0.0f);
  gw_gru g;
  gw_gru_init(&g, &nn, "gru", 16, 64, false);
  assert_uniform("gru weight_ih", gw_f32(g.w_ih), 3 * 64 * 16, 1.0 / 8.0);
  gw_nn_free(&nn);
}

// The same seed gives the same initial weights; another seed gives others.
Test(nn_modules, init_is_seeded) {
  gw_nn a, b, c;
  gw_nn_init(&a, 7);
  gw_nn_init(&b, 7);
  gw_nn_init(&c, 8);
  gw_linear_m la, lb, lc;
  gw_linear_init(&la, &a, "l", 8, 8, true);
  gw_linear_init(&lb, &b, "l", 8, 8, true);
  gw_linear_init(&lc, &c, "l", 8, 8, true);
  gwt_assert_same_bits(la.weight, lb.weight, "same seed");
  cr_assert(memcmp(gw_f32(la.weight), gw_f32(lc.weight), 64 * sizeof(float)) != 0);
  gw_nn_free(&a);
  gw_nn_free(&b);
  gw_nn_free(&c);
}

// ---- 2-D sine positional encoding ----

// Values against DETR's formula written out directly: channel k < dim/2 encodes the row
// y = (i + 1) / (H + 1e-6) * 2 pi, channel dim/2 + k the column, as sin (k even) or cos (k
// odd) of the position over 10000^(2 floor(k/2) / (dim/2)). dim not divisible by 4 is an error.
Test(nn_modules, sine_posenc_2d) {
  const int64_t dim = 8, H = 3, W = 5, half = dim / 2;
  gw_tensor *pe = gw_sine_posenc_2d(dim, H, W);
  cr_assert(pe->ndim == 3 && pe->shape[0] == dim && pe->shape[1] == H && pe->shape[2] == W,
            "shape %s", gw_shape_str(pe));
  cr_assert(!pe->requires_grad);
  for (int64_t c = 0; c < dim; c++) {
    int64_t k = c % half;
    bool col = c >= half;
    double dim_t = pow(10000.0, 2.0 * (double)(k / 2) / (double)half);
    for (int64_t i = 0; i < H; i++)
      for (int64_t j = 0; j < W; j++) {
        double pos = col ? (j + 1) / (W + 1e-6) * 2 * M_PI : (i + 1) / (H + 1e-6) * 2 * M_PI;
        double want = k % 2 == 0 ? sin(pos / dim_t) : cos(pos / dim_t);
        float got = gw_f32(pe)[(c * H + i) * W + j];
        cr_assert(fabs(got - want) < 1e-6, "pe[%lld, %lld, %lld] = %.7f, want %.7f", (long long)c,
                  (long long)i, (long long)j, got, want);
      }
  }
  // the last row and column sit at 2 pi: sin 0, cos 1 in the first channel pair
  cr_assert(fabsf(gw_f32(pe)[(0 * H + H - 1) * W]) < 1e-5);
  cr_assert(fabsf(gw_f32(pe)[(1 * H + H - 1) * W] - 1.0f) < 1e-5);
  GWT_EXPECT_ERROR(gw_sine_posenc_2d(6, 2, 2), "divisible by 4");
}
