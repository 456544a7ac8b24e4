// Optimizers, clipping, EMA and schedules against the update formulas of the PyTorch
// documentation (torch.optim.SGD, Adam, AdamW; LARS as in the Barlow Twins code), written out
// here in double, independently of nn/optim.c, on tiny tensors over several steps.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn.h"
#include "testutil.h"

TestSuite(nn_optim, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

// ---- a tiny model: "w" (3 values, decayed) and "b" (2 values, no_decay) ----

enum { NW = 3, NB = 2 };
static const double W0[NW] = {0.5, -1.25, 2.0}, B0[NB] = {0.1, -0.3};

typedef struct tiny {
  gw_nn nn;
  gw_tensor *w, *b;
} tiny;

static void tiny_init(tiny *t, const char *prefix) {
  gw_nn_init(&t->nn, 1);
  t->w = gw_nn_param(&t->nn, prefix, "w", GW_SHAPE(NW), false);
  t->b = gw_nn_param(&t->nn, prefix, "b", GW_SHAPE(NB), true);
  for (int i = 0; i < NW; i++) gw_f32(t->w)[i] = (float)W0[i];
  for (int i = 0; i < NB; i++) gw_f32(t->b)[i] = (float)B0[i];
}

// The gradient of element i of parameter k at step s: varied in sign and size.
static double grad_at(int s, int k, int i) {
  return sin(1.3 * i + 0.7 * s + 2.1 * k) + 0.3 * k - 0.2;
}

static void set_grads(tiny *t, int s) {
  gw_tensor *ps[2] = {t->w, t->b};
  for (int k = 0; k < 2; k++) {
    gw_tensor *g = gw_grad_of(ps[k]);
    for (int64_t i = 0; i < gw_numel(ps[k]); i++) gw_f32(g)[i] = (float)grad_at(s, k, (int)i);
  }
}

// ---- the reference updates, in double ----

typedef struct ref {
  double p[4], m[4], v[4];
  int n;
  double lr, wd;
  bool adapt;    // LARS trust ratio on this parameter
  bool started;  // SGD momentum buffer initialised
} ref;

static void ref_init(ref *r, const double *p0, int n, double lr, double wd, bool adapt) {
  memset(r, 0, sizeof *r);
  memcpy(r->p, p0, (size_t)n * sizeof(double));
  r->n = n;
  r->lr = lr;
  r->wd = wd;
  r->adapt = adapt;
}

// torch.optim.SGD: d = g + wd p; with momentum: buf = d at the first step, then
// buf = mu buf + (1 - dampening) d; d = nesterov ? d + mu buf : buf; p -= lr d.
static void ref_sgd(ref *r, const double *g, double mu, double damp, bool nesterov) {
  for (int i = 0; i < r->n; i++) {
    double d = g[i] + r->wd * r->p[i];
    if (mu != 0.0) {
      r->m[i] = r->started ? mu * r->m[i] + (1 - damp) * d : d;
      d = nesterov ? d + mu * r->m[i] : r->m[i];
    }
    r->p[i] -= r->lr * d;
  }
  r->started = true;
}

// torch.optim.Adam (decoupled = false: g += wd p) and AdamW (decoupled: p *= 1 - lr wd first):
// m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
static void ref_adam(ref *r, const double *g, int t, double b1, double b2, double eps,
                     bool decoupled) {
  for (int i = 0; i < r->n; i++) {
    double d = g[i];
    if (decoupled)
      r->p[i] *= 1 - r->lr * r->wd;
    else
      d += r->wd * r->p[i];
    r->m[i] = b1 * r->m[i] + (1 - b1) * d;
    r->v[i] = b2 * r->v[i] + (1 - b2) * d * d;
    double denom = sqrt(r->v[i]) / sqrt(1 - pow(b2, t)) + eps;
    r->p[i] -= r->lr / (1 - pow(b1, t)) * r->m[i] / denom;
  }
}

// LARS (Barlow Twins): d = g + wd p; if adapted and |p| > 0 and |d| > 0, d *= eta |p| / |d|;
// mu = momentum mu + d; p -= lr mu.
static void ref_lars(ref *r, const double *g, double mom, double eta) {
  double d[4], pn = 0, dn = 0;
  for (int i = 0; i < r->n; i++) {
    d[i] = g[i] + r->wd * r->p[i];
    pn += r->p[i] * r->p[i];
    dn += d[i] * d[i];
  }
  double q = r->adapt && pn > 0 && dn > 0 ? eta * sqrt(pn) / sqrt(dn) : 1.0;
  for (int i = 0; i < r->n; i++) {
    r->m[i] = mom * r->m[i] + d[i] * q;
    r->p[i] -= r->lr * r->m[i];
  }
}

static void grads_of(int s, int k, int n, double *g) {
  for (int i = 0; i < n; i++) g[i] = grad_at(s, k, i);
}

static void assert_matches(const gw_tensor *t, const ref *r, const char *what, int step) {
  for (int i = 0; i < r->n; i++) {
    double got = gw_f32(t)[i], want = r->p[i];
    cr_assert(fabs(got - want) <= 1e-6 + 2e-6 * fabs(want),
              "%s, after step %d: element %d is %.9g, want %.9g", what, step + 1, i, got, want);
  }
}

// Runs `steps` updates of the library and the reference side by side and compares after each.
static void run_case(const char *what, gw_optim_cfg cfg, int steps, float lr_factor) {
  tiny t;
  tiny_init(&t, "");
  gw_optim o;
  gw_optim_init(&o, &t.nn, cfg);
  double lr = cfg.lr * lr_factor;
  ref rw, rb;  // the default groups: "w" decays, "b" does not (and is not LARS-adapted)
  ref_init(&rw, W0, NW, lr, cfg.weight_decay, true);
  ref_init(&rb, B0, NB, lr, 0.0, false);
  double b1 = cfg.beta1 ? cfg.beta1 : 0.9, b2 = cfg.beta2 ? cfg.beta2 : 0.999;
  double eps = cfg.eps ? cfg.eps : 1e-8, eta = cfg.lars_eta ? cfg.lars_eta : 1e-3;
  for (int s = 0; s < steps; s++) {
    set_grads(&t, s);
    gw_optim_step(&o, lr_factor);
    double gw[NW], gb[NB];
    grads_of(s, 0, NW, gw);
    grads_of(s, 1, NB, gb);
    ref *rs[2] = {&rw, &rb};
    const double *gs[2] = {gw, gb};
    for (int k = 0; k < 2; k++) {
      switch (cfg.kind) {
        case GW_SGD: ref_sgd(rs[k], gs[k], cfg.momentum, cfg.dampening, cfg.nesterov); break;
        case GW_ADAM: ref_adam(rs[k], gs[k], s + 1, b1, b2, eps, false); break;
        case GW_ADAMW: ref_adam(rs[k], gs[k], s + 1, b1, b2, eps, true); break;
        case GW_LARS: ref_lars(rs[k], gs[k], cfg.momentum ? cfg.momentum : 0.9, eta); break;
      }
    }
    char name[96];
    snprintf(name, sizeof name, "%s: w", what);
    assert_matches(t.w, &rw, name, s);
    snprintf(name, sizeof name, "%s: b (no decay)", what);
    assert_matches(t.b, &rb, name, s);
  }
  cr_assert_eq(o.step, steps, "%s: step count %lld", what, (long long)o.step);
  gw_optim_free(&o);
  gw_nn_free(&t.nn);
}

// Plain SGD, with and without weight decay, one step and several, and with a schedule factor.
Test(nn_optim, sgd_plain) {
  run_case("sgd", (gw_optim_cfg){.kind = GW_SGD, .lr = 0.1f}, 1, 1.0f);
  run_case("sgd wd", (gw_optim_cfg){.kind = GW_SGD, .lr = 0.1f, .weight_decay = 0.05f}, 4, 1.0f);
  run_case("sgd lr factor", (gw_optim_cfg){.kind = GW_SGD, .lr = 0.1f, .weight_decay = 0.05f}, 3,
           0.25f);
}

// SGD with momentum (the first step copies the gradient into the buffer), dampening and
// Nesterov momentum, with weight decay.
Test(nn_optim, sgd_momentum_dampening_nesterov) {
  run_case("sgd momentum", (gw_optim_cfg){.kind = GW_SGD, .lr = 0.1f, .momentum = 0.9f}, 4, 1.0f);
  run_case("sgd dampening",
           (gw_optim_cfg){.kind = GW_SGD, .lr = 0.1f, .momentum = 0.9f, .dampening = 0.3f,
                          .weight_decay = 0.01f}, 4, 1.0f);
  run_case("sgd nesterov",
           (gw_optim_cfg){.kind = GW_SGD, .lr = 0.05f, .momentum = 0.8f, .nesterov = true,
                          .weight_decay = 0.02f}, 4, 1.0f);
  tiny t;
  tiny_init(&t, "");
  gw_optim o;
  GWT_EXPECT_ERROR(gw_optim_init(&o, &t.nn, (gw_optim_cfg){.kind = GW_SGD, .lr = 0.1f,
                                                          .nesterov = true}), "Nesterov");
  gw_nn_free(&t.nn);
}

// Adam with bias correction and L2 weight decay in the gradient, default and custom betas.
Test(nn_optim, adam) {
  run_case("adam", (gw_optim_cfg){.kind = GW_ADAM, .lr = 0.01f}, 1, 1.0f);
  run_case("adam wd", (gw_optim_cfg){.kind = GW_ADAM, .lr = 0.01f, .weight_decay = 0.1f}, 5, 1.0f);
  run_case("adam betas", (gw_optim_cfg){.kind = GW_ADAM, .lr = 0.02f, .beta1 = 0.5f, .beta2 = 0.9f,
                                        .eps = 1e-6f}, 5, 0.5f);
}

// AdamW: decoupled decay p *= 1 - lr wd before the moment update; no-decay group undecayed.
Test(nn_optim, adamw) {
  run_case("adamw", (gw_optim_cfg){.kind = GW_ADAMW, .lr = 0.01f, .weight_decay = 0.1f}, 5, 1.0f);
  run_case("adamw big wd", (gw_optim_cfg){.kind = GW_ADAMW, .lr = 0.05f, .weight_decay = 2.0f}, 3,
           1.0f);
}

// LARS: trust ratio on the decay group only, momentum buffer, custom eta; momentum left at 0
// takes the documented default 0.9.
Test(nn_optim, lars) {
  run_case("lars", (gw_optim_cfg){.kind = GW_LARS, .lr = 0.5f, .momentum = 0.9f,
                                  .weight_decay = 1e-2f}, 4, 1.0f);
  run_case("lars eta", (gw_optim_cfg){.kind = GW_LARS, .lr = 0.5f, .momentum = 0.5f,
                                      .weight_decay = 1e-2f, .lars_eta = 0.1f}, 4, 1.0f);
  run_case("lars default momentum", (gw_optim_cfg){.kind = GW_LARS, .lr = 0.5f, .lars_eta = 0.1f},
           4, 1.0f);
}

// ---- groups ----

// The default groups: weights in "decay" with the configured decay, no_decay parameters in
// "no_decay" with 0. With zero gradients AdamW only decays: w shrinks by 1 - lr wd, b stays.
Test(nn_optim, no_decay_group) {
  tiny t;
  tiny_init(&t, "");
  gw_optim o;
  gw_optim_init(&o, &t.nn, (gw_optim_cfg){.kind = GW_ADAMW, .lr = 0.1f, .weight_decay = 0.5f});
  cr_assert_eq(o.n_groups, 2);
  cr_assert_str_eq(o.groups[0].name, "decay");
  cr_assert_str_eq(o.groups[1].name, "no_decay");
  cr_assert_eq(o.groups[1].weight_decay, 0.0f);
  gw_zero_grad(t.w);
  gw_grad_of(t.w);
  gw_grad_of(t.b);  // zero gradients
  gw_optim_step(&o, 1.0f);
  for (int i = 0; i < NW; i++)
    cr_assert(fabs(gw_f32(t.w)[i] - W0[i] * 0.95) < 1e-6, "w[%d] = %g", i, gw_f32(t.w)[i]);
  for (int i = 0; i < NB; i++) cr_assert_eq(gw_f32(t.b)[i], (float)B0[i], "b decayed");
  gw_optim_free(&o);
  gw_nn_free(&t.nn);
}

// gw_optim_add_group moves the parameters under a prefix, biases included, into a group with
// its own learning rate (its biases keep weight decay 0); the others keep the base rate.
Test(nn_optim, add_group) {
  gw_nn nn;
  gw_nn_init(&nn, 2);
  gw_tensor *bw = gw_nn_param(&nn, "visual.backbone", "w", GW_SHAPE(2), false);
  gw_tensor *bb = gw_nn_param(&nn, "visual.backbone", "b", GW_SHAPE(2), true);
  gw_tensor *hw = gw_nn_param(&nn, "head", "w", GW_SHAPE(2), false);
  gw_tensor *hb = gw_nn_param(&nn, "head", "b", GW_SHAPE(2), true);
  gw_tensor *all[4] = {bw, bb, hw, hb};
  for (int k = 0; k < 4; k++) {
    gw_fill(all[k], 1.0f);
    gw_fill(gw_grad_of(all[k]), 1.0f);
  }
  gw_optim o;
  gw_optim_init(&o, &nn, (gw_optim_cfg){.kind = GW_SGD, .lr = 0.1f, .weight_decay = 0.5f});
  int moved = gw_optim_add_group(&o, "backbone", "visual.backbone.", 0.01f, 0.2f);
  cr_assert_eq(moved, 2, "moved %d parameters, want 2 (weight and bias)", moved);
  cr_assert_eq(o.n_groups, 4);
  cr_assert_str_eq(o.groups[3].name, "backbone_no_decay");
  cr_assert(o.groups[3].weight_decay == 0.0f && !o.groups[3].lars_adapt);
  gw_optim_step(&o, 1.0f);
  // p = 1 - lr (g + wd p), g = p = 1
  double want[4] = {1 - 0.01 * 1.2, 1 - 0.01 * 1.0, 1 - 0.1 * 1.5, 1 - 0.1 * 1.0};
  const char *names[4] = {"backbone weight", "backbone bias", "head weight", "head bias"};
  for (int k = 0; k < 4; k++)
    cr_assert(fabs(gw_f32(all[k])[0] - want[k]) < 1e-6, "%s: %.7g, want %.7g", names[k],
              gw_f32(all[k])[0], want[k]);
  // a second group with nothing under its prefix moves nothing
  cr_assert_eq(gw_optim_add_group(&o, "none", "text.", 0.5f, 0.0f), 0);
  gw_optim_free(&o);
  gw_nn_free(&nn);
}

// Parameters without a gradient (never used) and frozen ones (even with a stale gradient) are
// left exactly as they were, moments included.
Test(nn_optim, params_without_grad_untouched) {
  tiny t;
  tiny_init(&t, "");
  gw_tensor *unused = gw_nn_param(&t.nn, "", "unused", GW_SHAPE(2), false);
  gw_fill(unused, 3.0f);
  gw_optim o;
  gw_optim_init(&o, &t.nn, (gw_optim_cfg){.kind = GW_ADAMW, .lr = 0.1f, .weight_decay = 0.5f});
  set_grads(&t, 0);
  gw_fill(gw_grad_of(t.b), 1.0f);
  gw_nn_freeze(&t.nn, "b", true);
  gw_optim_step(&o, 1.0f);
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(gw_f32(unused)[i], 3.0f, "a parameter without a gradient moved");
    cr_assert_eq(gw_f32(t.b)[i], (float)B0[i], "a frozen parameter moved");
  }
  cr_assert(gw_f32(t.w)[0] != (float)W0[0], "the used parameter did not move");
  for (int s = 0; s < o.n_slots; s++)
    if (o.slots[s].param->tensor != t.w)
      for (int i = 0; i < 2; i++)
        cr_assert(gw_f32(o.slots[s].m)[i] == 0.0f && gw_f32(o.slots[s].v)[i] == 0.0f,
                  "%s: moments changed", o.slots[s].param->name);
  gw_optim_free(&o);
  gw_nn_free(&t.nn);
}

// ---- clipping ----

// clip_grad_norm returns the global norm before clipping and scales every gradient by
// max_norm / (norm + 1e-6) when that is below 1; a norm already below max_norm is untouched.
Test(nn_optim, clip_grad_norm) {
  tiny t;
  tiny_init(&t, "");
  set_grads(&t, 3);
  double sq = 0;
  for (int i = 0; i < NW; i++) sq += pow(grad_at(3, 0, i), 2);
  for (int i = 0; i < NB; i++) sq += pow(grad_at(3, 1, i), 2);
  double norm = sqrt(sq);
  cr_assert(fabs(gw_grad_norm(&t.nn) - norm) < 1e-6 * norm);
  float before = gw_clip_grad_norm(&t.nn, 0.5f);
  cr_assert(fabs(before - norm) < 1e-6 * norm, "returned %g, want the pre-clip norm %g", before,
            norm);
  double coef = 0.5 / (norm + 1e-6);
  for (int i = 0; i < NW; i++)
    cr_assert(fabs(gw_f32(t.w->grad)[i] - grad_at(3, 0, i) * coef) < 1e-6);
  cr_assert(fabs(gw_grad_norm(&t.nn) - 0.5) < 1e-5, "norm after clipping %g", gw_grad_norm(&t.nn));
  gw_tensor *keep = gw_clone(t.w->grad);
  float again = gw_clip_grad_norm(&t.nn, 10.0f);
  cr_assert(fabs(again - 0.5) < 1e-5);
  gwt_assert_same_bits(t.w->grad, keep, "a norm below max_norm leaves the gradients alone");
  gw_nn_free(&t.nn);
}

// ---- EMA ----

// The shadow starts as a copy, moves by shadow = d shadow + (1 - d) param with the ramped
// d = decay (1 - exp(-t / 2000)) at update t, copies buffers, and swap exchanges model and
// shadow weights; swapping twice restores them bit for bit.
Test(nn_optim, ema) {
  tiny t;
  tiny_init(&t, "");
  gw_tensor *buf = gw_nn_buffer(&t.nn, "", "stat", GW_SHAPE(1));
  gw_fill(buf, 2.0f);
  gw_ema e;
  gw_ema_init(&e, &t.nn, 0.9f);
  double sw[NW];
  memcpy(sw, W0, sizeof sw);
  for (int s = 0; s < 3; s++) {
    for (int i = 0; i < NW; i++) gw_f32(t.w)[i] += 0.5f * (float)(s + 1) * (float)(i - 1);
    gw_f32(buf)[0] = (float)(10 + s);
    gw_ema_update(&e);
    double d = 0.9 * (1.0 - exp(-(double)(s + 1) / 2000.0));
    for (int i = 0; i < NW; i++) sw[i] = d * sw[i] + (1.0 - d) * gw_f32(t.w)[i];
  }
  cr_assert_eq(e.updates, 3, "the EMA counts its updates (for the ramp, and for resume)");
  for (int i = 0; i < NW; i++)
    cr_assert(fabs(gw_f32(e.shadow[0])[i] - sw[i]) < 1e-6, "shadow w[%d] %g, want %g", i,
              gw_f32(e.shadow[0])[i], sw[i]);
  cr_assert_eq(gw_f32(e.shadow[2])[0], 12.0f, "buffers are copied, not averaged");
  gw_tensor *w_live = gw_clone(t.w), *w_shadow = gw_clone(e.shadow[0]);
  gw_tensor *b_live = gw_clone(t.b);
  gw_ema_swap(&e);
  gwt_assert_same_bits(t.w, w_shadow, "after swap the model holds the averaged weights");
  gwt_assert_same_bits(e.shadow[0], w_live, "... and the shadow the live ones");
  gw_ema_swap(&e);
  gwt_assert_same_bits(t.w, w_live, "swapping back restores the weights");
  gwt_assert_same_bits(t.b, b_live, "swapping back restores the biases");
  gwt_assert_same_bits(e.shadow[0], w_shadow, "swapping back restores the shadow");
  gw_ema_free(&e);
  gw_nn_free(&t.nn);
}

// ---- schedules ----

// constant is 1; step multiplies by gamma every step_size; warmup_cosine rises linearly to 1
// at the end of warm-up, is halfway between 1 and min in the middle of the cosine part, and
// reaches min_factor at total_steps (and stays there).
Test(nn_optim, schedules) {
  gw_schedule c = {.kind = GW_SCHED_CONSTANT};
  cr_assert(gw_schedule_factor(&c, 0) == 1.0f && gw_schedule_factor(&c, 12345) == 1.0f);
  gw_schedule st = {.kind = GW_SCHED_STEP, .step_size = 10, .gamma = 0.1f};
  float want_step[][2] = {{0, 1}, {9, 1}, {10, 0.1f}, {19, 0.1f}, {20, 0.01f}, {35, 0.001f}};
  for (int k = 0; k < 6; k++)
    cr_assert(fabsf(gw_schedule_factor(&st, (int64_t)want_step[k][0]) - want_step[k][1]) < 1e-7f,
              "step schedule at %g", want_step[k][0]);
  gw_schedule wc = {.kind = GW_SCHED_WARMUP_COSINE, .warmup_steps = 10, .total_steps = 110,
                    .min_factor = 0.1f};
  struct { int64_t step; double want; } pts[] = {
      {0, 0.1},                                          // first step: 1 / warmup
      {4, 0.5},                                          // during warm-up: (step + 1) / warmup
      {9, 1.0},                                          // end of warm-up
      {10, 1.0},                                         // start of the cosine
      {35, 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 0.25))},    // a quarter in
      {60, 0.55},                                        // the middle: (1 + min) / 2
      {110, 0.1},                                        // the end: min_factor
      {500, 0.1},                                        // after the end: min_factor
  };
  for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
    float got = gw_schedule_factor(&wc, pts[k].step);
    cr_assert(fabs(got - pts[k].want) < 1e-6, "warmup_cosine at step %lld: %.7f, want %.7f",
              (long long)pts[k].step, got, pts[k].want);
  }
  gw_schedule nw = {.kind = GW_SCHED_WARMUP_COSINE, .total_steps = 100};
  cr_assert(fabsf(gw_schedule_factor(&nw, 0) - 1.0f) < 1e-7f, "no warm-up starts at 1");
  cr_assert(fabsf(gw_schedule_factor(&nw, 100)) < 1e-7f, "min_factor 0 decays to 0");
  cr_assert_eq(gw_schedule_kind_from_name("warmup_cosine"), GW_SCHED_WARMUP_COSINE);
  cr_assert_eq(gw_schedule_kind_from_name("step"), GW_SCHED_STEP);
  cr_assert_eq(gw_schedule_kind_from_name("constant"), GW_SCHED_CONSTANT);
  GWT_EXPECT_ERROR(gw_schedule_kind_from_name("cosine"), "unknown schedule 'cosine'");
}
