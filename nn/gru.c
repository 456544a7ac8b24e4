// One-layer GRU (optionally bidirectional) built from autograd ops, one time step at a time.
// The input projections of all steps are one matrix product up front; each step then adds
// the hidden projection and applies the gates (formulas in nn/attention.h).
#include <math.h>
#include <stdio.h>

#include "nn/attention.h"
#include "nn/init.h"

static void direction_init(gw_nn *nn, const char *name, const char *suffix, int64_t in, int64_t H,
                           gw_tensor **w_ih, gw_tensor **w_hh, gw_tensor **b_ih, gw_tensor **b_hh) {
  char leaf[32];
  float bound = 1.0f / sqrtf((float)H);  // PyTorch: every GRU tensor ~ U(-1/sqrt(H), 1/sqrt(H))
  snprintf(leaf, sizeof leaf, "weight_ih_l0%s", suffix);
  *w_ih = gw_nn_param(nn, name, leaf, GW_SHAPE(3 * H, in), false);
  snprintf(leaf, sizeof leaf, "weight_hh_l0%s", suffix);
  *w_hh = gw_nn_param(nn, name, leaf, GW_SHAPE(3 * H, H), false);
  snprintf(leaf, sizeof leaf, "bias_ih_l0%s", suffix);
  *b_ih = gw_nn_param(nn, name, leaf, GW_SHAPE(3 * H), true);
  snprintf(leaf, sizeof leaf, "bias_hh_l0%s", suffix);
  *b_hh = gw_nn_param(nn, name, leaf, GW_SHAPE(3 * H), true);
  gw_tensor *all[4] = {*w_ih, *w_hh, *b_ih, *b_hh};
  for (int i = 0; i < 4; i++) gw_init_uniform(all[i], &nn->init, -bound, bound);
}

void gw_gru_init(gw_gru *m, gw_nn *nn, const char *name, int64_t in, int64_t hidden,
                 bool bidirectional) {
  m->in = in;
  m->hidden = hidden;
  m->bidirectional = bidirectional;
  direction_init(nn, name, "", in, hidden, &m->w_ih, &m->w_hh, &m->b_ih, &m->b_hh);
  m->w_ih_r = m->w_hh_r = m->b_ih_r = m->b_hh_r = NULL;
  if (bidirectional)
    direction_init(nn, name, "_reverse", in, hidden, &m->w_ih_r, &m->w_hh_r, &m->b_ih_r, &m->b_hh_r);
}

// Runs one direction; returns outputs (B, T, H) and the final state in *last.
static gw_tensor *run(gw_tensor *x, const gw_tensor *lengths, gw_tensor *w_ih, gw_tensor *w_hh,
                      gw_tensor *b_ih, gw_tensor *b_hh, bool reverse, gw_tensor **last) {
  int64_t B = x->shape[0], T = x->shape[1], H = w_hh->shape[1];
  gw_tensor *gi = gw_linear(x, w_ih, b_ih);  // (B, T, 3H), all steps at once
  gw_tensor *h = gw_zeros(GW_F32, GW_SHAPE(B, H));
  gw_tensor *outs[T];
  for (int64_t step = 0; step < T; step++) {
    int64_t t = reverse ? T - 1 - step : step;
    gw_tensor *g = gw_reshape(gw_slice(gi, 1, t, t + 1, 1), GW_SHAPE(B, 3 * H));
    gw_tensor *gh = gw_linear(h, w_hh, b_hh);  // (B, 3H)
    gw_tensor *r = gw_sigmoid(gw_add(gw_slice(g, 1, 0, H, 1), gw_slice(gh, 1, 0, H, 1)));
    gw_tensor *z = gw_sigmoid(gw_add(gw_slice(g, 1, H, 2 * H, 1), gw_slice(gh, 1, H, 2 * H, 1)));
    gw_tensor *n = gw_tanh(gw_add(gw_slice(g, 1, 2 * H, 3 * H, 1),
                                  gw_mul(r, gw_slice(gh, 1, 2 * H, 3 * H, 1))));
    gw_tensor *h_new = gw_add(n, gw_mul(z, gw_sub(h, n)));  // (1 - z) n + z h
    if (lengths) {
      // keep (B, 1): 1 while t is inside the sequence; outside, the state does not move
      gw_tensor *keep = gw_empty(GW_F32, GW_SHAPE(B, 1));
      for (int64_t b = 0; b < B; b++) gw_f32(keep)[b] = t < gw_i32(lengths)[b] ? 1.0f : 0.0f;
      h = gw_add(h, gw_mul(keep, gw_sub(h_new, h)));
      outs[t] = gw_mul(h, keep);
    } else {
      h = h_new;
      outs[t] = h;
    }
  }
  *last = h;
  return gw_stack((int)T, outs, 1);
}

gw_tensor *gw_gru_forward(const gw_gru *m, gw_tensor *x, const gw_tensor *lengths, gw_tensor **last) {
  GW_CHECK(x->ndim == 3 && x->shape[2] == m->in, "gru: input %s should be (B, T, %lld)",
           gw_shape_str(x), (long long)m->in);
  if (lengths) {
    GW_CHECK(lengths->dtype == GW_I32, "gru: lengths must be int32, got %s",
             gw_dtype_name(lengths->dtype));
    GW_CHECK(lengths->ndim == 1 && lengths->shape[0] == x->shape[0] && gw_is_contiguous(lengths),
             "gru: lengths %s should be (B,) for input %s", gw_shape_str(lengths), gw_shape_str(x));
    for (int64_t b = 0; b < x->shape[0]; b++)
      GW_CHECK(gw_i32(lengths)[b] >= 1 && gw_i32(lengths)[b] <= x->shape[1],
               "gru: length %d of sequence %lld is outside [1, %lld]", gw_i32(lengths)[b],
               (long long)b, (long long)x->shape[1]);
  }
  gw_tensor *h_fwd, *h_bwd;
  gw_tensor *out = run(x, lengths, m->w_ih, m->w_hh, m->b_ih, m->b_hh, false, &h_fwd);
  if (!m->bidirectional) {
    if (last) *last = h_fwd;
    return out;
  }
  gw_tensor *out_r = run(x, lengths, m->w_ih_r, m->w_hh_r, m->b_ih_r, m->b_hh_r, true, &h_bwd);
  if (last) *last = gw_concat(2, (gw_tensor *[]){h_fwd, h_bwd}, 1);
  return gw_concat(2, (gw_tensor *[]){out, out_r}, 2);
}
