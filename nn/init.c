#include "nn/init.h"

#include <math.h>
#include <string.h>

void gw_init_fans(const gw_tensor *w, int64_t *fan_in, int64_t *fan_out) {
  GW_CHECK(w->ndim >= 2, "init: fan in/out need a weight with >= 2 dims, got %s", gw_shape_str(w));
  int64_t field = 1;
  for (int d = 2; d < w->ndim; d++) field *= w->shape[d];
  *fan_in = w->shape[1] * field;
  *fan_out = w->shape[0] * field;
}

float gw_init_gain(const char *nl, float a) {
  if (!strcmp(nl, "linear") || !strcmp(nl, "sigmoid") || !strcmp(nl, "conv")) return 1.0f;
  if (!strcmp(nl, "tanh")) return 5.0f / 3.0f;
  if (!strcmp(nl, "relu")) return sqrtf(2.0f);
  if (!strcmp(nl, "leaky_relu")) return sqrtf(2.0f / (1.0f + a * a));
  gw_fatal("init: unknown nonlinearity '%s' (linear, sigmoid, tanh, relu, leaky_relu)", nl);
}

void gw_init_constant(gw_tensor *t, float value) { gw_fill(t, value); }

void gw_init_uniform(gw_tensor *t, gw_rng *r, float lo, float hi) {
  gw_rng_uniform(r, gw_f32(t), gw_numel(t), lo, hi);
}

void gw_init_normal(gw_tensor *t, gw_rng *r, float mean, float std) {
  gw_rng_normal(r, gw_f32(t), gw_numel(t), mean, std);
}

void gw_init_trunc_normal(gw_tensor *t, gw_rng *r, float mean, float std, float a, float b) {
  GW_CHECK(a < b && std > 0.0f, "init: trunc_normal needs a < b and std > 0");
  float *p = gw_f32(t);
  for (int64_t i = 0; i < gw_numel(t); i++) {
    float v;
    do {  // rejection: redraw until inside [a, b]
      gw_rng_normal(r, &v, 1, mean, std);
    } while (v < a || v > b);
    p[i] = v;
  }
}

static float fan_of(const gw_tensor *t, gw_fan_mode mode) {
  int64_t in, out;
  gw_init_fans(t, &in, &out);
  return (float)(mode == GW_FAN_IN ? in : out);
}

void gw_init_kaiming_uniform(gw_tensor *t, gw_rng *r, float a, gw_fan_mode mode, const char *nl) {
  float bound = gw_init_gain(nl, a) * sqrtf(3.0f / fan_of(t, mode));
  gw_init_uniform(t, r, -bound, bound);
}

void gw_init_kaiming_normal(gw_tensor *t, gw_rng *r, float a, gw_fan_mode mode, const char *nl) {
  gw_init_normal(t, r, 0.0f, gw_init_gain(nl, a) / sqrtf(fan_of(t, mode)));
}

void gw_init_xavier_uniform(gw_tensor *t, gw_rng *r, float gain) {
  int64_t in, out;
  gw_init_fans(t, &in, &out);
  float bound = gain * sqrtf(6.0f / (float)(in + out));
  gw_init_uniform(t, r, -bound, bound);
}

void gw_init_xavier_normal(gw_tensor *t, gw_rng *r, float gain) {
  int64_t in, out;
  gw_init_fans(t, &in, &out);
  gw_init_normal(t, r, 0.0f, gain * sqrtf(2.0f / (float)(in + out)));
}

void gw_init_torch_default_weight(gw_tensor *w, gw_rng *r) {
  gw_init_kaiming_uniform(w, r, sqrtf(5.0f), GW_FAN_IN, "leaky_relu");
}

void gw_init_torch_default_bias(gw_tensor *b, const gw_tensor *w, gw_rng *r) {
  int64_t in, out;
  gw_init_fans(w, &in, &out);
  float bound = in > 0 ? 1.0f / sqrtf((float)in) : 0.0f;
  gw_init_uniform(b, r, -bound, bound);
}
