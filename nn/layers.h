// Basic layers: Linear, Conv2d, BatchNorm, LayerNorm, Embedding, Dropout, MLP, gated residual.
// Each is a struct, an init function (registers and initialises its parameters as PyTorch
// does by default) and a forward function. Shapes follow PyTorch.
#ifndef GW_NN_LAYERS_H
#define GW_NN_LAYERS_H

#include "nn/module.h"

// y (.., out) = x (.., in) W^T + b;  W (out, in), b (out)
typedef struct gw_linear_m {
  gw_tensor *weight, *bias;  // bias may be NULL
  int64_t in, out;
} gw_linear_m;
void gw_linear_init(gw_linear_m *m, gw_nn *nn, const char *name, int64_t in, int64_t out, bool bias);
gw_tensor *gw_linear_forward(const gw_linear_m *m, gw_tensor *x);

// x (B, Cin, H, W) -> (B, Cout, OH, OW);  W (Cout, Cin/groups, k, k)
typedef struct gw_conv_m {
  gw_tensor *weight, *bias;
  gw_conv2d_args args;
} gw_conv_m;
void gw_conv_init(gw_conv_m *m, gw_nn *nn, const char *name, int64_t cin, int64_t cout, int k,
                  int stride, int pad, int groups, bool bias);
gw_tensor *gw_conv_forward(const gw_conv_m *m, gw_tensor *x);

// BatchNorm1d over (B, C) or (B, C, L), BatchNorm2d over (B, C, H, W): the same module.
typedef struct gw_batchnorm_m {
  gw_nn *nn;
  gw_tensor *weight, *bias;                // NULL when affine-free
  gw_tensor *running_mean, *running_var;  // buffers
  float momentum, eps;
} gw_batchnorm_m;
void gw_batchnorm_init(gw_batchnorm_m *m, gw_nn *nn, const char *name, int64_t channels,
                       bool affine);
gw_tensor *gw_batchnorm_forward(const gw_batchnorm_m *m, gw_tensor *x);

typedef struct gw_layernorm_m {
  gw_tensor *weight, *bias;
  float eps;
} gw_layernorm_m;
void gw_layernorm_init(gw_layernorm_m *m, gw_nn *nn, const char *name, int64_t dim, bool affine);
gw_tensor *gw_layernorm_forward(const gw_layernorm_m *m, gw_tensor *x);

// ids int32 (..) -> (.., dim); rows of padding_idx start at 0 and get no gradient
typedef struct gw_embedding_m {
  gw_tensor *weight;  // (num, dim)
  int padding_idx;    // -1 for none
} gw_embedding_m;
void gw_embedding_init(gw_embedding_m *m, gw_nn *nn, const char *name, int64_t num, int64_t dim,
                       int padding_idx);
gw_tensor *gw_embedding_forward(const gw_embedding_m *m, const gw_tensor *ids);

// Dropout with the module's stream, active only in training mode.
gw_tensor *gw_nn_dropout(gw_nn *nn, gw_tensor *x, float p);

typedef enum gw_activation { GW_ACT_RELU, GW_ACT_GELU, GW_ACT_GELU_TANH, GW_ACT_SILU, GW_ACT_TANH,
                             GW_ACT_NONE } gw_activation;
gw_tensor *gw_activate(gw_tensor *x, gw_activation act);
// "relu", "gelu", "gelu_tanh", "silu", "tanh", "none"; stops on an unknown name
gw_activation gw_activation_from_name(const char *name);

// Linear layers with an activation (and dropout) between them; none after the last.
enum { GW_MLP_MAX_LAYERS = 8 };
typedef struct gw_mlp {
  gw_nn *nn;
  gw_linear_m layers[GW_MLP_MAX_LAYERS];
  int n_layers;
  gw_activation act;
  float dropout;
} gw_mlp;
// dims: n_layers + 1 sizes (in, hidden..., out)
void gw_mlp_init(gw_mlp *m, gw_nn *nn, const char *name, int n_layers, const int64_t *dims,
                 gw_activation act, float dropout);
gw_tensor *gw_mlp_forward(const gw_mlp *m, gw_tensor *x);

// y = x + gate * branch, with a scalar gate initialised to 0 (VoLTA's fusion): the module
// starts as the identity and learns how much of the branch to let in.
typedef struct gw_gated_residual {
  gw_tensor *gate;  // () scalar
} gw_gated_residual;
void gw_gated_residual_init(gw_gated_residual *m, gw_nn *nn, const char *name);
gw_tensor *gw_gated_residual_forward(const gw_gated_residual *m, gw_tensor *x, gw_tensor *branch);

#endif
