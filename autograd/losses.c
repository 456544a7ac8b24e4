// Losses, fused: cross-entropy (integer or soft targets), BCE with logits, L1, smooth L1,
// MSE, KL divergence.
//
// Each computes its per-element (or per-row) loss in one node whose backward applies the
// closed-form derivative; reduce() then takes the mean, sum or batch mean.
#include <math.h>
#include <string.h>

#include "autograd/op.h"

static gw_tensor *reduce(gw_tensor *per, gw_reduction red, const char *op) {
  switch (red) {
    case GW_NONE: return per;
    case GW_SUM: return gw_sum_all(per);
    case GW_MEAN: return gw_mean_all(per);
    case GW_BATCHMEAN:
      GW_CHECK(per->ndim >= 1 && per->shape[0] > 0, "%s: batchmean needs a first dim", op);
      return gw_mul_scalar(gw_sum_all(per), 1.0f / (float)per->shape[0]);
  }
  return per;
}

// Moves dim 1 (classes) last: (N, C, d..) -> (N, d.., C), row-major.
static gw_tensor *classes_last(gw_tensor *x) {
  if (x->ndim <= 2) return x;
  int perm[GW_MAX_DIMS];
  perm[0] = 0;
  for (int i = 2; i < x->ndim; i++) perm[i - 1] = i;
  perm[x->ndim - 1] = 1;
  return gw_contig(gw_permute(x, perm));
}

// ---- cross-entropy with integer targets ----
// Per row r with target t and log-sum-exp L:
//   loss_r = (1 - eps) (L - x_t) + eps (L - mean_c x_c)
//   dx_rc  = g_r (softmax_c - (1 - eps) [c == t] - eps / C)
typedef struct ce_ctx {
  int64_t rows, classes;
  int ignore;
  float eps;
} ce_ctx;

static void ce_backward(gw_node *n) {
  ce_ctx *c = n->ctx;
  gw_tensor *x = n->saved[0], *t = n->saved[1], *lse = n->saved[2];
  const float *px = gw_f32(x), *pl = gw_f32(lse), *dy = gw_f32(n->out->grad);
  const int32_t *pt = gw_i32(t);
  gw_tensor *dx = gw_zeros_like(x);
  float *pd = gw_f32(dx);
  int64_t C = c->classes;
#pragma omp parallel for schedule(static) if (c->rows * C >= GW_PARALLEL_MIN)
  for (int64_t r = 0; r < c->rows; r++) {
    if (pt[r] == c->ignore) continue;
    float g = dy[r];
    for (int64_t k = 0; k < C; k++) {
      float sm = expf(px[r * C + k] - pl[r]);
      pd[r * C + k] = g * (sm - c->eps / (float)C - (k == pt[r] ? 1.0f - c->eps : 0.0f));
    }
  }
  gw_grad_add(n->in[0], dx);
}

gw_tensor *gw_cross_entropy(gw_tensor *logits, const gw_tensor *targets, int ignore_index,
                            float label_smoothing, gw_reduction red) {
  gw_check_f32("cross_entropy", logits);
  gw_check_i32("cross_entropy", targets);
  GW_CHECK(logits->ndim >= 2 && targets->ndim == logits->ndim - 1,
           "cross_entropy: logits %s need targets with one dim less (got %s)", gw_shape_str(logits),
           gw_shape_str(targets));
  for (int i = 0; i < targets->ndim; i++)
    GW_CHECK(targets->shape[i] == logits->shape[i == 0 ? 0 : i + 1],
             "cross_entropy: targets %s do not match logits %s (classes in dim 1)",
             gw_shape_str(targets), gw_shape_str(logits));
  GW_CHECK(label_smoothing >= 0.0f && label_smoothing < 1.0f,
           "cross_entropy: label smoothing %g must be in [0, 1)", label_smoothing);
  gw_tensor *x = classes_last(logits);  // recorded op when it moves dims: gradients flow back
  int64_t C = logits->shape[1], R = gw_numel(targets);
  gw_tensor *xc = gw_rowmajor(x), *tc = gw_contiguous(targets);
  const int32_t *pt = gw_i32(tc);
  for (int64_t r = 0; r < R; r++)
    GW_CHECK(pt[r] == ignore_index || (pt[r] >= 0 && pt[r] < C),
             "cross_entropy: target %d at position %lld is not a class in [0, %lld) nor the "
             "ignore index %d", pt[r], (long long)r, (long long)C, ignore_index);
  gw_tensor *lse = gw_new_out(1, &R);
  gw_k_reduce_logsumexp(gw_f32(xc), gw_f32(lse), R, C, 1);
  gw_tensor *per = gw_new_out(targets->ndim, targets->shape);
  const float *px = gw_f32(xc), *pl = gw_f32(lse);
  float *pp = gw_f32(per);
  int64_t count = 0;
  for (int64_t r = 0; r < R; r++) {
    if (pt[r] == ignore_index) {
      pp[r] = 0.0f;
      continue;
    }
    count++;
    float mean_x = 0.0f;
    if (label_smoothing > 0.0f) {
      for (int64_t k = 0; k < C; k++) mean_x += px[r * C + k];
      mean_x /= (float)C;
    }
    pp[r] = (1.0f - label_smoothing) * (pl[r] - px[r * C + pt[r]]) + label_smoothing * (pl[r] - mean_x);
  }
  gw_node *n = gw_record("cross_entropy", per, ce_backward, 1, &x);
  if (n) {
    n->saved[0] = xc;
    n->saved[1] = tc;
    n->saved[2] = lse;
    ce_ctx *c = gw_arena_alloc(gw_step_arena(), sizeof *c, "cross_entropy");
    *c = (ce_ctx){.rows = R, .classes = C, .ignore = ignore_index, .eps = label_smoothing};
    n->ctx = c;
  }
  if (red == GW_MEAN) return gw_mul_scalar(gw_sum_all(per), count ? 1.0f / (float)count : 0.0f);
  return reduce(per, red, "cross_entropy");
}

// ---- cross-entropy with soft targets: -sum_c p_c log_softmax(x)_c, per row ----
gw_tensor *gw_cross_entropy_soft(gw_tensor *logits, gw_tensor *target_probs, gw_reduction red) {
  gw_check_f32("cross_entropy_soft", logits);
  gw_check_f32("cross_entropy_soft", target_probs);
  GW_CHECK(gw_same_shape(logits, target_probs) && logits->ndim >= 2,
           "cross_entropy_soft: logits %s and target probabilities %s must have one shape (N, C, ..)",
           gw_shape_str(logits), gw_shape_str(target_probs));
  gw_tensor *logp = gw_log_softmax(classes_last(logits), NULL);
  gw_tensor *prod = gw_mul(classes_last(target_probs), logp);
  gw_tensor *per = gw_neg(gw_sum(prod, 1, (int[]){-1}, false));
  return reduce(per, red, "cross_entropy_soft");
}

// ---- pointwise losses of two same-shape tensors ----
typedef enum pointwise_kind { PW_BCE_LOGITS, PW_L1, PW_SMOOTH_L1, PW_MSE, PW_KL, PW_KL_LOG } pointwise_kind;
static const char *const pointwise_names[] = {"bce_with_logits", "l1_loss", "smooth_l1_loss",
                                              "mse_loss", "kl_div", "kl_div"};

// loss(a, b) and its partial derivatives da, db (for one element)
static inline void pointwise(pointwise_kind k, float a, float b, float beta, float *loss, float *da,
                             float *db) {
  *loss = *da = *db = 0.0f;
  switch (k) {
    case PW_BCE_LOGITS: {  // a = logit x, b = target t: max(x,0) - x t + log(1 + e^-|x|)
      float s = 1.0f / (1.0f + expf(-a));
      *loss = fmaxf(a, 0.0f) - a * b + log1pf(expf(-fabsf(a)));
      *da = s - b;
      *db = -a;
      break;
    }
    case PW_L1: {
      float d = a - b, sg = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f);
      *loss = fabsf(d);
      *da = sg;
      *db = -sg;
      break;
    }
    case PW_SMOOTH_L1: {
      float d = a - b, ad = fabsf(d);
      float g = ad < beta ? d / beta : (d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f));
      *loss = ad < beta ? 0.5f * d * d / beta : ad - 0.5f * beta;
      *da = g;
      *db = -g;
      break;
    }
    case PW_MSE: {
      float d = a - b;
      *loss = d * d;
      *da = 2.0f * d;
      *db = -2.0f * d;
      break;
    }
    case PW_KL:  // a = log q, b = p: p (log p - log q), 0 where p = 0
      *loss = b > 0.0f ? b * (logf(b) - a) : 0.0f;
      *da = -b;
      *db = b > 0.0f ? logf(b) - a + 1.0f : 0.0f;
      break;
    case PW_KL_LOG: {  // a = log q, b = log p: e^b (b - a), 0 where p = 0 (b = -inf)
      float p = expf(b);
      *loss = p > 0.0f ? p * (b - a) : 0.0f;
      *da = -p;
      *db = p > 0.0f ? p * (b - a + 1.0f) : 0.0f;
      break;
    }
  }
}

static void pointwise_backward(gw_node *n) {
  gw_tensor *a = n->saved[0], *b = n->saved[1], *w = n->saved[2];
  int64_t count = gw_numel(a);
  const float *pa = gw_f32(a), *pb = gw_f32(b), *dy = gw_f32(n->out->grad);
  const float *pw = w ? gw_f32(w) : NULL;
  gw_tensor *ga = gw_empty_like(a), *gb = gw_empty_like(b);
  float *da = gw_f32(ga), *db = gw_f32(gb);
  pointwise_kind k = (pointwise_kind)n->i[0];
  float beta = n->f[0];
  for (int64_t i = 0; i < count; i++) {
    float l, fa, fb;
    pointwise(k, pa[i], pb[i], beta, &l, &fa, &fb);
    float g = dy[i] * (pw ? pw[i] : 1.0f);
    da[i] = g * fa;
    db[i] = g * fb;
  }
  gw_grad_add(n->in[0], ga);
  gw_grad_add(n->in[1], gb);
}

static gw_tensor *pointwise_loss(pointwise_kind k, gw_tensor *a, gw_tensor *b, gw_tensor *weight,
                                 float beta, gw_reduction red) {
  const char *op = pointwise_names[k];
  gw_check_f32(op, a);
  gw_check_f32(op, b);
  GW_CHECK(gw_same_shape(a, b), "%s: input %s and target %s must have the same shape", op,
           gw_shape_str(a), gw_shape_str(b));
  gw_tensor *ac = gw_rowmajor(a), *bc = gw_rowmajor(b), *wc = NULL;
  if (weight) {  // broadcast to the input's shape once
    gw_check_f32(op, weight);
    GW_CHECK(!weight->requires_grad, "%s: the weight %s is a constant here and gets no gradient. "
             "HINT: pass gw_detach(weight), or multiply the unreduced loss by it instead",
             op, gw_shape_str(weight));
    bool fits = weight->ndim <= a->ndim;
    for (int i = 0; fits && i < weight->ndim; i++) {
      int64_t ws = weight->shape[i], as = a->shape[a->ndim - weight->ndim + i];
      fits = ws == 1 || ws == as;
    }
    GW_CHECK(fits, "%s: weight %s does not broadcast to the input %s", op, gw_shape_str(weight),
             gw_shape_str(a));
    wc = gw_new_out(a->ndim, a->shape);
    gw_k_binary(GW_BIN_MUL, gw_view_expand(weight, a->ndim, a->shape), gw_scalar(1.0f), wc);
  }
  gw_tensor *per = gw_new_out(a->ndim, a->shape);
  const float *pa = gw_f32(ac), *pb = gw_f32(bc), *pw = wc ? gw_f32(wc) : NULL;
  float *pp = gw_f32(per);
  int64_t count = gw_numel(a);
  for (int64_t i = 0; i < count; i++) {
    float l, fa, fb;
    pointwise(k, pa[i], pb[i], beta, &l, &fa, &fb);
    pp[i] = pw ? l * pw[i] : l;
  }
  gw_node *n = gw_record(op, per, pointwise_backward, 2, (gw_tensor *[]){a, b});
  if (n) {
    n->saved[0] = ac;
    n->saved[1] = bc;
    n->saved[2] = wc;
    n->i[0] = k;
    n->f[0] = beta;
  }
  return reduce(per, red, op);
}

gw_tensor *gw_bce_with_logits(gw_tensor *logits, gw_tensor *targets, gw_tensor *weight,
                              gw_reduction red) {
  return pointwise_loss(PW_BCE_LOGITS, logits, targets, weight, 0.0f, red);
}
gw_tensor *gw_l1_loss(gw_tensor *pred, gw_tensor *target, gw_reduction red) {
  return pointwise_loss(PW_L1, pred, target, NULL, 0.0f, red);
}
gw_tensor *gw_smooth_l1_loss(gw_tensor *pred, gw_tensor *target, float beta, gw_reduction red) {
  GW_CHECK(beta > 0.0f, "smooth_l1_loss: beta %g must be > 0 (beta = 0 is the L1 loss)", beta);
  return pointwise_loss(PW_SMOOTH_L1, pred, target, NULL, beta, red);
}
gw_tensor *gw_mse_loss(gw_tensor *pred, gw_tensor *target, gw_reduction red) {
  return pointwise_loss(PW_MSE, pred, target, NULL, 0.0f, red);
}
gw_tensor *gw_kl_div(gw_tensor *log_q, gw_tensor *target, bool log_target, gw_reduction red) {
  return pointwise_loss(log_target ? PW_KL_LOG : PW_KL, log_q, target, NULL, 0.0f, red);
}
