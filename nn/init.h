// Initialisation schemes, matching PyTorch's definitions (torch.nn.init).
#ifndef GW_NN_INIT_H
#define GW_NN_INIT_H

#include "autograd/autograd.h"

typedef enum gw_fan_mode { GW_FAN_IN, GW_FAN_OUT } gw_fan_mode;

// fan_in and fan_out of a weight: (out, in) for linear, (OC, IC, KH, KW) for conv.
void gw_init_fans(const gw_tensor *w, int64_t *fan_in, int64_t *fan_out);
// The gain of a nonlinearity ("linear", "relu", "leaky_relu" with slope a, "tanh", "sigmoid").
float gw_init_gain(const char *nonlinearity, float a);

void gw_init_constant(gw_tensor *t, float value);
void gw_init_uniform(gw_tensor *t, gw_rng *r, float lo, float hi);
void gw_init_normal(gw_tensor *t, gw_rng *r, float mean, float std);
// Normal(mean, std) truncated to [a, b] (absolute bounds, like torch.nn.init.trunc_normal_).
void gw_init_trunc_normal(gw_tensor *t, gw_rng *r, float mean, float std, float a, float b);
// bound = gain * sqrt(3 / fan), gain from the nonlinearity (leaky_relu slope a)
void gw_init_kaiming_uniform(gw_tensor *t, gw_rng *r, float a, gw_fan_mode mode,
                             const char *nonlinearity);
void gw_init_kaiming_normal(gw_tensor *t, gw_rng *r, float a, gw_fan_mode mode,
                           const char *nonlinearity);
void gw_init_xavier_uniform(gw_tensor *t, gw_rng *r, float gain);
void gw_init_xavier_normal(gw_tensor *t, gw_rng *r, float gain);
// PyTorch's default for Linear and Conv weights: kaiming_uniform(a = sqrt(5)), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)); and for their biases: the same bound.
void gw_init_torch_default_weight(gw_tensor *w, gw_rng *r);
void gw_init_torch_default_bias(gw_tensor *b, const gw_tensor *w, gw_rng *r);

#endif
