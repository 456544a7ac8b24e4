#include "nn/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/kernels.h"

static void set_defaults(gw_optim_cfg *c) {
  if (c->kind == GW_ADAM || c->kind == GW_ADAMW) {
    if (c->beta1 == 0.0f) c->beta1 = 0.9f;
    if (c->beta2 == 0.0f) c->beta2 = 0.999f;
    if (c->eps == 0.0f) c->eps = 1e-8f;
  }
  if (c->kind == GW_LARS) {
    if (c->lars_eta == 0.0f) c->lars_eta = 0.001f;
    if (c->momentum == 0.0f) c->momentum = 0.9f;  // the documented LARS default
  }
}

void gw_optim_init(gw_optim *o, gw_nn *nn, gw_optim_cfg cfg) {
  memset(o, 0, sizeof *o);
  set_defaults(&cfg);
  GW_CHECK(cfg.lr >= 0.0f, "optimizer: negative learning rate %g", cfg.lr);
  GW_CHECK(!cfg.nesterov || (cfg.kind == GW_SGD && cfg.momentum > 0.0f && cfg.dampening == 0.0f),
           "optimizer: Nesterov momentum needs SGD with momentum > 0 and no dampening");
  o->cfg = cfg;
  o->n_groups = 2;
  o->groups[0] = (gw_param_group){"decay", cfg.lr, cfg.weight_decay, true};
  o->groups[1] = (gw_param_group){"no_decay", cfg.lr, 0.0f, false};
  o->slots = calloc((size_t)(nn->count ? nn->count : 1), sizeof *o->slots);
  GW_CHECK(o->slots, "optimizer: out of memory");
  for (int i = 0; i < nn->count; i++) {
    gw_named *p = &nn->items[i];
    if (p->buffer) continue;
    gw_optim_slot *s = &o->slots[o->n_slots++];
    s->param = p;
    s->group = p->no_decay ? 1 : 0;
    gw_arena *a = gw_persistent_arena();
    if (cfg.kind != GW_SGD || cfg.momentum != 0.0f) s->m = gw_zeros_in(a, GW_F32, p->tensor->ndim, p->tensor->shape);
    if (cfg.kind == GW_ADAM || cfg.kind == GW_ADAMW)
      s->v = gw_zeros_in(a, GW_F32, p->tensor->ndim, p->tensor->shape);
  }
}

void gw_optim_free(gw_optim *o) {
  free(o->slots);
  o->slots = NULL;
  o->n_slots = 0;
}

int gw_optim_add_group(gw_optim *o, const char *name, const char *prefix, float lr,
                       float weight_decay) {
  GW_CHECK(o->n_groups < GW_OPTIM_MAX_GROUPS, "optimizer: more than %d parameter groups",
           GW_OPTIM_MAX_GROUPS);
  int g = o->n_groups++;
  o->groups[g] = (gw_param_group){.lr = lr, .weight_decay = weight_decay, .lars_adapt = true};
  snprintf(o->groups[g].name, sizeof o->groups[g].name, "%s", name);
  size_t n = strlen(prefix);
  int moved = 0, g_nd = -1;
  for (int i = 0; i < o->n_slots; i++)
    if (!strncmp(o->slots[i].param->name, prefix, n)) {
      int to = g;
      // biases and norms move too (to the new learning rate) but keep no weight decay and no
      // LARS adaptation: they go to a companion group "<name>_no_decay"
      if (o->slots[i].param->no_decay) {
        if (g_nd < 0) {
          GW_CHECK(o->n_groups < GW_OPTIM_MAX_GROUPS, "optimizer: more than %d parameter groups",
                   GW_OPTIM_MAX_GROUPS);
          g_nd = o->n_groups++;
          o->groups[g_nd] = (gw_param_group){.lr = lr, .weight_decay = 0.0f, .lars_adapt = false};
          snprintf(o->groups[g_nd].name, sizeof o->groups[g_nd].name, "%.20s_no_decay", name);
        }
        to = g_nd;
      }
      o->slots[i].group = to;
      moved++;
    }
  return moved;
}

// Sum of squares of a buffer, in double, in a fixed order.
static double sum_sq(const float *x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
  return s;
}

static void update(gw_optim *o, gw_optim_slot *s, float lr) {
  const gw_optim_cfg *c = &o->cfg;
  const gw_param_group *g = &o->groups[s->group];
  gw_tensor *pt = s->param->tensor;
  float *p = gw_f32(pt), *grad = gw_f32(pt->grad);
  float *m = s->m ? gw_f32(s->m) : NULL, *v = s->v ? gw_f32(s->v) : NULL;
  int64_t n = gw_numel(pt);
  float wd = g->weight_decay;
  switch (c->kind) {
    case GW_SGD: {
      bool first = !s->started;
      s->started = true;
      for (int64_t i = 0; i < n; i++) {
        float d = grad[i] + wd * p[i];
        if (m) {
          m[i] = first ? d : c->momentum * m[i] + (1.0f - c->dampening) * d;
          d = c->nesterov ? d + c->momentum * m[i] : m[i];
        }
        p[i] -= lr * d;
      }
      break;
    }
    case GW_ADAM:
    case GW_ADAMW: {
      // Bias corrections in double, as PyTorch computes them (Python floats): in float32,
      // 1 - beta2^t loses up to ~1e-5 of its value to cancellation.
      double t = (double)(o->step + 1);
      double bc1 = 1.0 - pow((double)c->beta1, t), bc2 = 1.0 - pow((double)c->beta2, t);
      float step_size = (float)((double)lr / bc1), sqrt_bc2 = (float)sqrt(bc2);
      bool decoupled = c->kind == GW_ADAMW;
      for (int64_t i = 0; i < n; i++) {
        float d = grad[i];
        if (decoupled)
          p[i] *= 1.0f - lr * wd;
        else
          d += wd * p[i];
        m[i] = c->beta1 * m[i] + (1.0f - c->beta1) * d;
        v[i] = c->beta2 * v[i] + (1.0f - c->beta2) * d * d;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / sqrt_bc2 + c->eps);
      }
      break;
    }
    case GW_LARS: {
      // d = g + wd p; on adapted groups d *= eta |p| / |d| (when both norms are > 0);
      // mu = momentum mu + d; p -= lr mu
      float q = 1.0f;
      if (g->lars_adapt) {
        double pn = 0.0, dn = 0.0;
        for (int64_t i = 0; i < n; i++) {
          double d = (double)(grad[i] + wd * p[i]);
          pn += (double)p[i] * (double)p[i];
          dn += d * d;
        }
        pn = sqrt(pn);
        dn = sqrt(dn);
        if (pn > 0.0 && dn > 0.0) q = (float)(c->lars_eta * pn / dn);
      }
      for (int64_t i = 0; i < n; i++) {
        m[i] = c->momentum * m[i] + (grad[i] + wd * p[i]) * q;
        p[i] -= lr * m[i];
      }
      break;
    }
  }
}

void gw_optim_step(gw_optim *o, float lr_factor) {
  // Parameters are independent: each is updated whole by one thread, so the result does not
  // depend on which thread or how many.
#pragma omp parallel for schedule(dynamic, 1) if (o->n_slots > 1)
  for (int i = 0; i < o->n_slots; i++) {
    gw_optim_slot *s = &o->slots[i];
    gw_tensor *t = s->param->tensor;
    if (!t->requires_grad || !t->grad || !t->grad_written) continue;  // unused since zero_grad
    update(o, s, o->groups[s->group].lr * lr_factor);
  }
  o->step++;
}

float gw_grad_norm(gw_nn *nn) {
  double total = 0.0;  // parameters in registration order: a fixed summation order
  for (int i = 0; i < nn->count; i++) {
    gw_tensor *t = nn->items[i].tensor;
    if (t->grad) total += sum_sq(gw_f32(t->grad), gw_numel(t->grad));
  }
  return (float)sqrt(total);
}

float gw_clip_grad_norm(gw_nn *nn, float max_norm) {
  float norm = gw_grad_norm(nn);
  // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1
  float coef = max_norm / (norm + 1e-6f);
  if (coef < 1.0f)
    for (int i = 0; i < nn->count; i++) {
      gw_tensor *t = nn->items[i].tensor;
      if (t->grad)
        gw_k_unary(GW_UN_AFFINE, gw_f32(t->grad), gw_f32(t->grad), gw_numel(t->grad), coef, 0.0f);
    }
  return norm;
}

void gw_ema_init(gw_ema *e, gw_nn *nn, float decay) {
  GW_CHECK(decay >= 0.0f && decay < 1.0f, "ema: decay %g must be in [0, 1)", decay);
  e->nn = nn;
  e->decay = decay;
  e->updates = 0;
  e->count = nn->count;
  e->shadow = calloc((size_t)(nn->count ? nn->count : 1), sizeof *e->shadow);
  for (int i = 0; i < nn->count; i++) {
    gw_tensor *p = nn->items[i].tensor;
    e->shadow[i] = gw_zeros_in(gw_persistent_arena(), GW_F32, p->ndim, p->shape);
    gw_copy_into(e->shadow[i], p);
  }
}

void gw_ema_free(gw_ema *e) {
  free(e->shadow);
  e->shadow = NULL;
}

void gw_ema_update(gw_ema *e) {
  GW_CHECK(e->count == e->nn->count, "ema: the model registered new tensors after the EMA was made");
  e->updates++;
  float d = e->decay * (float)(1.0 - exp(-(double)e->updates / 2000.0));
  for (int i = 0; i < e->count; i++) {
    gw_named *p = &e->nn->items[i];
    float *s = gw_f32(e->shadow[i]);
    const float *w = gw_f32(p->tensor);
    int64_t n = gw_numel(p->tensor);
    if (p->buffer) {  // running statistics are copied, not averaged
      memcpy(s, w, (size_t)n * sizeof(float));
      continue;
    }
    for (int64_t k = 0; k < n; k++) s[k] = d * s[k] + (1.0f - d) * w[k];
  }
}

void gw_ema_swap(gw_ema *e) {
  for (int i = 0; i < e->count; i++) {
    gw_tensor *p = e->nn->items[i].tensor;
    void *data = p->data;
    int64_t off = p->offset;
    p->data = e->shadow[i]->data;
    p->offset = e->shadow[i]->offset;
    e->shadow[i]->data = data;
    e->shadow[i]->offset = off;
  }
}
