// The tape, gradient mode, leaves, and backward.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autograd/op.h"

static gw_arena *persistent, *step;
static gw_node *tape_last;
static int64_t tape_size;
static bool grad_enabled = true;
static bool anomaly;

void gw_init(void) {
  if (persistent) return;
  persistent = gw_arena_create("persistent", (size_t)1 << 20, 0);
  step = gw_arena_create("step", (size_t)16 << 20, 0);
  gw_arena_set_current(step);
}

void gw_shutdown(void) {
  if (gw_arena_current_or_null() == step || gw_arena_current_or_null() == persistent)
    gw_arena_set_current(NULL);
  gw_arena_destroy(step);
  gw_arena_destroy(persistent);
  step = persistent = NULL;
  tape_last = NULL;
  tape_size = 0;
}

gw_arena *gw_persistent_arena(void) {
  GW_CHECK(persistent, "groundwork is not initialised. HINT: call gw_init() first");
  return persistent;
}

gw_arena *gw_step_arena(void) {
  GW_CHECK(step, "groundwork is not initialised. HINT: call gw_init() first");
  return step;
}

void gw_step_end(void) {
  tape_last = NULL;
  tape_size = 0;
  gw_arena_reset(gw_step_arena());
}

gw_node *gw_tape_last(void) { return tape_last; }
int64_t gw_tape_size(void) { return tape_size; }

bool gw_grad_enabled(void) { return grad_enabled; }

bool gw_no_grad_begin(void) {
  bool prev = grad_enabled;
  grad_enabled = false;
  return prev;
}

void gw_no_grad_end(bool previous) { grad_enabled = previous; }

void gw_set_anomaly_mode(bool on) { anomaly = on; }
bool gw_anomaly_mode(void) { return anomaly; }

// ---- leaves ----

gw_tensor *gw_param(const char *name, int ndim, const int64_t *shape) {
  gw_tensor *t = gw_zeros_in(gw_persistent_arena(), GW_F32, ndim, shape);
  t->requires_grad = true;
  t->is_param = true;
  t->name = name;
  return t;
}

void gw_set_requires_grad(gw_tensor *t, bool on) {
  GW_CHECK(!on || t->dtype == GW_F32, "requires_grad: only float32 tensors can have gradients "
           "(%s is %s)", t->name ? t->name : gw_shape_str(t), gw_dtype_name(t->dtype));
  GW_CHECK(!t->node, "requires_grad: %s is the result of an op; only leaves can be changed",
           gw_shape_str(t));
  t->requires_grad = on;
}

gw_tensor *gw_detach(const gw_tensor *t) {
  gw_tensor *v = gw_view_reshape(t, t->ndim, t->shape);
  v->requires_grad = false;
  v->node = NULL;
  v->grad = NULL;
  return v;
}

void gw_zero_grad(gw_tensor *t) {
  if (t->grad) memset(t->grad->data, 0, (size_t)gw_numel(t->grad) * sizeof(float));
  t->grad_written = false;
}

// ---- recording ----

bool gw_any_requires_grad(int n, gw_tensor *const *ins) {
  for (int i = 0; i < n; i++)
    if (ins[i] && ins[i]->requires_grad) return true;
  return false;
}

static void check_finite(const char *op, const gw_tensor *out, int n_in, gw_tensor *const *ins) {
  if (out->dtype != GW_F32 || !gw_is_contiguous(out)) return;
  const float *p = gw_f32(out);
  int64_t n = gw_numel(out);
  for (int64_t i = 0; i < n; i++) {
    if (isfinite(p[i])) continue;
    char shapes[512];
    int len = 0;
    for (int k = 0; k < n_in && len < 480; k++)
      len += snprintf(shapes + len, sizeof shapes - len, "%s%s", k ? ", " : "",
                      ins[k] ? gw_shape_str(ins[k]) : "-");
    gw_fatal("anomaly: the op '%s' produced %s at element %lld of its output %s (inputs %s). "
             "HINT: check this op's inputs (a log of 0, a division by 0, a learning rate too high)",
             op, isnan(p[i]) ? "NaN" : "Inf", (long long)i, gw_shape_str(out), shapes);
  }
}

gw_node *gw_record(const char *op, gw_tensor *out, gw_backward_fn backward, int n_in,
                   gw_tensor *const *ins) {
  if (anomaly) check_finite(op, out, n_in, ins);
  if (!grad_enabled || !gw_any_requires_grad(n_in, ins)) return NULL;
  gw_arena *a = gw_step_arena();
  gw_node *n = gw_arena_alloc(a, sizeof *n + (size_t)n_in * sizeof(gw_tensor *), op);
  memset(n, 0, sizeof *n);
  n->op = op;
  n->backward = backward;
  n->out = out;
  n->in = (gw_tensor **)(n + 1);
  memcpy(n->in, ins, (size_t)n_in * sizeof(gw_tensor *));
  n->n_in = n_in;
  n->prev = tape_last;
  n->seq = tape_size++;
  tape_last = n;
  out->requires_grad = true;
  out->node = n;
  return n;
}

gw_tensor *gw_grad_of(gw_tensor *t) {
  if (!t->grad) {
    // The gradient of a parameter persists across steps; any other lives for the step.
    gw_arena *a = t->is_param ? t->arena : gw_step_arena();
    t->grad = gw_zeros_in(a, GW_F32, t->ndim, t->shape);
  }
  t->grad_written = true;
  return t->grad;
}

void gw_grad_add(gw_tensor *t, const gw_tensor *g) {
  if (!t->requires_grad) return;
  gw_tensor *acc = gw_grad_of(t);
  if (gw_same_shape(acc, g)) {
    gw_k_add_into(acc, g);
    return;
  }
  // g has the broadcast shape: sum it down to t's shape first.
  gw_arena *a = gw_arena_current();
  gw_arena_mark m = gw_arena_get_mark(a);
  gw_tensor *reduced = gw_empty(GW_F32, t->ndim, t->shape);
  gw_k_sum_to(gw_contiguous(g), reduced);
  gw_k_add_into(acc, reduced);
  gw_arena_rewind(a, m);
}

// ---- backward ----

// In anomaly mode: stops if the backward of node n made any input gradient non-finite.
static void check_backward(const gw_node *n) {
  for (int k = 0; k < n->n_in; k++) {
    const gw_tensor *g = n->in[k] ? n->in[k]->grad : NULL;
    if (!g) continue;
    const float *p = gw_f32(g);
    for (int64_t i = 0; i < gw_numel(g); i++)
      if (!isfinite(p[i]))
        gw_fatal("anomaly: the backward of '%s' produced %s in the gradient of its input %d %s "
                 "(element %lld). HINT: check this op's inputs for values where its derivative "
                 "blows up (a sqrt or log at 0, a division by a tiny number)",
                 n->op, isnan(p[i]) ? "NaN" : "Inf", k, gw_shape_str(g), (long long)i);
  }
}

static void run_backward(gw_tensor *out) {
  if (!out->node) return;  // a leaf: its gradient is already in place
  for (gw_node *n = out->node; n; n = n->prev) {
    if (!n->out->grad) continue;  // does not lead to `out`
    n->backward(n);
    if (anomaly) check_backward(n);
    // Intermediate gradients are spent once their node has run; dropping them keeps a
    // second backward in the same step from counting them again.
    n->out->grad = NULL;
  }
}

void gw_backward(gw_tensor *loss) {
  GW_CHECK(gw_numel(loss) == 1,
           "backward: the loss has shape %s; backward needs a single value. HINT: reduce it "
           "(gw_mean_all) or call gw_backward_seeded with a gradient of the same shape",
           gw_shape_str(loss));
  GW_CHECK(loss->requires_grad, "backward: the loss does not depend on anything that requires a "
           "gradient (were all parameters frozen, or was it computed under no_grad?)");
  gw_tensor *g = gw_grad_of(loss);
  gw_f32(g)[0] += 1.0f;
  run_backward(loss);
}

void gw_backward_seeded(gw_tensor *out, const gw_tensor *seed) {
  GW_CHECK(gw_same_shape(out, seed), "backward: the seed gradient %s does not match the output %s",
           gw_shape_str(seed), gw_shape_str(out));
  GW_CHECK(out->requires_grad, "backward: the output does not depend on anything that requires a "
           "gradient");
  gw_k_add_into(gw_grad_of(out), seed);
  run_backward(out);
}

// ---- helpers for ops ----

void gw_check_f32(const char *op, const gw_tensor *t) {
  GW_CHECK(t->dtype == GW_F32, "%s: expected a float32 tensor, got %s %s", op,
           gw_dtype_name(t->dtype), gw_shape_str(t));
}

void gw_check_i32(const char *op, const gw_tensor *t) {
  GW_CHECK(t->dtype == GW_I32, "%s: expected an int32 tensor of indices, got %s %s", op,
           gw_dtype_name(t->dtype), gw_shape_str(t));
}

gw_tensor *gw_new_out(int ndim, const int64_t *shape) { return gw_empty(GW_F32, ndim, shape); }

gw_tensor *gw_rowmajor(const gw_tensor *x) { return gw_contiguous(x); }
