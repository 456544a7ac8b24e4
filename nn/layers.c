// Basic layers. Initialisation follows PyTorch's defaults layer by layer, so a model built
// here starts from the same distribution as its PyTorch twin.
#include "nn/layers.h"

#include <string.h>

#include "nn/init.h"

// ---- Linear: W, b ~ U(-1/sqrt(in), 1/sqrt(in)) ----
void gw_linear_init(gw_linear_m *m, gw_nn *nn, const char *name, int64_t in, int64_t out, bool bias) {
  m->in = in;
  m->out = out;
  m->weight = gw_nn_param(nn, name, "weight", GW_SHAPE(out, in), false);
  gw_init_torch_default_weight(m->weight, &nn->init);
  m->bias = NULL;
  if (bias) {
    m->bias = gw_nn_param(nn, name, "bias", GW_SHAPE(out), true);
    gw_init_torch_default_bias(m->bias, m->weight, &nn->init);
  }
}

gw_tensor *gw_linear_forward(const gw_linear_m *m, gw_tensor *x) {
  return gw_linear(x, m->weight, m->bias);
}

// ---- Conv2d: as Linear with fan_in = cin/groups * k * k ----
void gw_conv_init(gw_conv_m *m, gw_nn *nn, const char *name, int64_t cin, int64_t cout, int k,
                  int stride, int pad, int groups, bool bias) {
  int g = groups ? groups : 1;
  GW_CHECK(cin % g == 0 && cout % g == 0, "conv '%s': %lld -> %lld channels do not divide into %d "
           "groups", name, (long long)cin, (long long)cout, g);
  m->args = (gw_conv2d_args){.stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad,
                             .groups = g};
  m->weight = gw_nn_param(nn, name, "weight", GW_SHAPE(cout, cin / g, k, k), false);
  gw_init_torch_default_weight(m->weight, &nn->init);
  m->bias = NULL;
  if (bias) {
    m->bias = gw_nn_param(nn, name, "bias", GW_SHAPE(cout), true);
    gw_init_torch_default_bias(m->bias, m->weight, &nn->init);
  }
}

gw_tensor *gw_conv_forward(const gw_conv_m *m, gw_tensor *x) {
  return gw_conv2d(x, m->weight, m->bias, m->args);
}

// ---- BatchNorm: weight 1, bias 0, running mean 0, running var 1; momentum 0.1, eps 1e-5 ----
void gw_batchnorm_init(gw_batchnorm_m *m, gw_nn *nn, const char *name, int64_t channels,
                       bool affine) {
  m->nn = nn;
  m->momentum = 0.1f;
  m->eps = 1e-5f;
  m->weight = m->bias = NULL;
  if (affine) {
    m->weight = gw_nn_param(nn, name, "weight", GW_SHAPE(channels), true);
    m->bias = gw_nn_param(nn, name, "bias", GW_SHAPE(channels), true);
    gw_init_constant(m->weight, 1.0f);
  }
  m->running_mean = gw_nn_buffer(nn, name, "running_mean", GW_SHAPE(channels));
  m->running_var = gw_nn_buffer(nn, name, "running_var", GW_SHAPE(channels));
  gw_init_constant(m->running_var, 1.0f);
}

gw_tensor *gw_batchnorm_forward(const gw_batchnorm_m *m, gw_tensor *x) {
  return gw_batchnorm(x, m->weight, m->bias, m->running_mean, m->running_var, m->nn->training,
                      m->momentum, m->eps);
}

// ---- LayerNorm: weight 1, bias 0, eps 1e-5 ----
void gw_layernorm_init(gw_layernorm_m *m, gw_nn *nn, const char *name, int64_t dim, bool affine) {
  m->eps = 1e-5f;
  m->weight = m->bias = NULL;
  if (affine) {
    m->weight = gw_nn_param(nn, name, "weight", GW_SHAPE(dim), true);
    m->bias = gw_nn_param(nn, name, "bias", GW_SHAPE(dim), true);
    gw_init_constant(m->weight, 1.0f);
  }
}

gw_tensor *gw_layernorm_forward(const gw_layernorm_m *m, gw_tensor *x) {
  return gw_layernorm(x, m->weight, m->bias, m->eps);
}

// ---- Embedding: N(0, 1), the padding row zeroed ----
void gw_embedding_init(gw_embedding_m *m, gw_nn *nn, const char *name, int64_t num, int64_t dim,
                       int padding_idx) {
  GW_CHECK(padding_idx < num, "embedding '%s': padding index %d outside %lld rows", name,
           padding_idx, (long long)num);
  m->padding_idx = padding_idx;
  m->weight = gw_nn_param(nn, name, "weight", GW_SHAPE(num, dim), false);
  gw_init_normal(m->weight, &nn->init, 0.0f, 1.0f);
  if (padding_idx >= 0) memset(gw_f32(m->weight) + padding_idx * dim, 0, (size_t)dim * sizeof(float));
}

gw_tensor *gw_embedding_forward(const gw_embedding_m *m, const gw_tensor *ids) {
  return gw_embedding(m->weight, ids, m->padding_idx);
}

gw_tensor *gw_nn_dropout(gw_nn *nn, gw_tensor *x, float p) {
  return gw_dropout(x, gw_nn_dropout_p(nn, p), &nn->dropout);
}

// ---- activations ----
gw_tensor *gw_activate(gw_tensor *x, gw_activation act) {
  switch (act) {
    case GW_ACT_RELU: return gw_relu(x);
    case GW_ACT_GELU: return gw_gelu(x);
    case GW_ACT_GELU_TANH: return gw_gelu_tanh(x);
    case GW_ACT_SILU: return gw_silu(x);
    case GW_ACT_TANH: return gw_tanh(x);
    case GW_ACT_NONE: return x;
  }
  return x;
}

gw_activation gw_activation_from_name(const char *name) {
  static const char *const names[] = {"relu", "gelu", "gelu_tanh", "silu", "tanh", "none"};
  for (int i = 0; i < 6; i++)
    if (!strcmp(name, names[i])) return (gw_activation)i;
  gw_fatal("unknown activation '%s' (relu, gelu, gelu_tanh, silu, tanh, none)", name);
}

// ---- MLP ----
void gw_mlp_init(gw_mlp *m, gw_nn *nn, const char *name, int n_layers, const int64_t *dims,
                 gw_activation act, float dropout) {
  GW_CHECK(n_layers >= 1 && n_layers <= GW_MLP_MAX_LAYERS, "mlp '%s': %d layers (1 to %d)", name,
           n_layers, GW_MLP_MAX_LAYERS);
  m->nn = nn;
  m->n_layers = n_layers;
  m->act = act;
  m->dropout = dropout;
  for (int i = 0; i < n_layers; i++)
    gw_linear_init(&m->layers[i], nn, gw_nn_name_i(name, "layers", i), dims[i], dims[i + 1], true);
}

gw_tensor *gw_mlp_forward(const gw_mlp *m, gw_tensor *x) {
  for (int i = 0; i < m->n_layers; i++) {
    x = gw_linear_forward(&m->layers[i], x);
    if (i + 1 < m->n_layers) x = gw_nn_dropout(m->nn, gw_activate(x, m->act), m->dropout);
  }
  return x;
}

// ---- gated residual ----
void gw_gated_residual_init(gw_gated_residual *m, gw_nn *nn, const char *name) {
  m->gate = gw_nn_param(nn, name, "gate", 0, NULL, true);
}

gw_tensor *gw_gated_residual_forward(const gw_gated_residual *m, gw_tensor *x, gw_tensor *branch) {
  return gw_add(x, gw_mul(m->gate, branch));
}
