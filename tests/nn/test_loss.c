// Model-level losses: IoU and GIoU on boxes computed by hand, CLIP's InfoNCE, Barlow Twins,
// the heteroscedastic loss and distillation, each against a direct double-precision
// computation, with finite-difference gradient checks (away from the kinks of min/max/relu).
#include <math.h>
#include <string.h>

#include "nn/nn.h"
#include "testutil.h"

TestSuite(nn_loss, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

static gw_tensor *boxes(int n, const float *v) { return gw_from_floats(v, 4 * n, GW_SHAPE(n, 4)); }

// ---- IoU / GIoU ----

// Hand-computed cases in (cx, cy, w, h): identical boxes (IoU = GIoU = 1), a partial overlap
// [0,2]^2 vs [1,3]^2 (IoU 1/7, enclosing 9, GIoU 1/7 - 2/9), disjoint [0,1]^2 vs [2,4]x[3,4]
// (IoU 0, GIoU = -(16 - 3)/16) and a box inside another (GIoU = IoU = 1/16).
Test(nn_loss, iou_giou_hand_computed) {
  gw_tensor *p = boxes(4, (float[]){0.5f, 0.5f, 0.4f, 0.2f, 1, 1, 2, 2,  //
                                    0.5f, 0.5f, 1, 1, 2, 2, 4, 4});
  gw_tensor *t = boxes(4, (float[]){0.5f, 0.5f, 0.4f, 0.2f, 2, 2, 2, 2,  //
                                    3, 3.5f, 2, 1, 1.5f, 1.5f, 1, 1});
  double iou[4] = {1.0, 1.0 / 7.0, 0.0, 1.0 / 16.0};
  double giou[4] = {1.0, 1.0 / 7.0 - 2.0 / 9.0, -13.0 / 16.0, 1.0 / 16.0};
  gw_tensor *i = gw_box_iou(p, t), *g = gw_box_giou(p, t);
  cr_assert(i->ndim == 1 && i->shape[0] == 4 && g->ndim == 1 && g->shape[0] == 4);
  for (int k = 0; k < 4; k++) {
    cr_assert(fabs(gw_f32(i)[k] - iou[k]) < 1e-5, "IoU %d: %.7f, want %.7f", k, gw_f32(i)[k],
              iou[k]);
    cr_assert(fabs(gw_f32(g)[k] - giou[k]) < 1e-5, "GIoU %d: %.7f, want %.7f", k, gw_f32(g)[k],
              giou[k]);
  }
  cr_assert_eq(gw_f32(i)[2], 0.0f, "disjoint boxes: IoU exactly 0");
  cr_assert(gw_f32(g)[2] < 0.0f, "disjoint boxes: GIoU negative");
  double li = 0, lg = 0;
  for (int k = 0; k < 4; k++) {
    li += (1 - iou[k]) / 4;
    lg += (1 - giou[k]) / 4;
  }
  cr_assert(fabs(gw_item(gw_iou_loss(p, t)) - li) < 1e-5);
  cr_assert(fabs(gw_item(gw_giou_loss(p, t)) - lg) < 1e-5);
  GWT_EXPECT_ERROR(gw_box_iou(p, gw_zeros(GW_F32, GW_SHAPE(4, 3))), "iou");
}

static gw_tensor *f_iou(gw_tensor *const *in, void *c) { return gw_box_iou(in[0], in[1]); }
static gw_tensor *f_giou(gw_tensor *const *in, void *c) { return gw_box_giou(in[0], in[1]); }
static gw_tensor *f_giou_loss(gw_tensor *const *in, void *c) { return gw_giou_loss(in[0], in[1]); }

// Gradients of IoU and GIoU wrt both boxes, for overlaps where every edge of one box is at
// least 0.1 from the other's (no min/max ties), plus a disjoint pair for GIoU (the IoU part
// is flat there, the enclosing-box part is not).
Test(nn_loss, iou_giou_gradcheck) {
  gw_tensor *p = gwt_leaf(boxes(3, (float[]){1.0f, 1.0f, 2.0f, 1.6f, 0.3f, 0.4f, 0.5f, 0.7f, 2.0f,
                                             1.0f, 1.2f, 3.0f}));
  gw_tensor *t = gwt_leaf(boxes(3, (float[]){1.5f, 1.3f, 1.4f, 1.2f, 0.45f, 0.3f, 0.4f, 0.3f, 2.2f,
                                             1.1f, 2.0f, 1.5f}));
  gw_tensor *ins[2] = {p, t};
  gwt_gradcheck("iou", f_iou, NULL, 2, ins, 1e-3, GWT_ATOL, GWT_RTOL);
  gwt_gradcheck("giou", f_giou, NULL, 2, ins, 1e-3, GWT_ATOL, GWT_RTOL);
  gwt_gradcheck("giou loss", f_giou_loss, NULL, 2, ins, 1e-3, GWT_ATOL, GWT_RTOL);
  gw_tensor *pd = gwt_leaf(boxes(1, (float[]){0.5f, 0.5f, 1.0f, 0.8f}));
  gw_tensor *td = gwt_leaf(boxes(1, (float[]){3.0f, 2.5f, 1.5f, 1.0f}));
  gw_tensor *ins2[2] = {pd, td};
  gwt_gradcheck("giou disjoint", f_giou, NULL, 2, ins2, 1e-3, GWT_ATOL, GWT_RTOL);
  // the disjoint pair still gets a gradient pulling the boxes together
  gw_zero_grad(pd);
  gw_backward(gw_giou_loss(pd, td));
  cr_assert(gw_f32(pd->grad)[0] < 0.0f && gw_f32(pd->grad)[1] < 0.0f,
            "moving the box towards the target should lower the loss");
}

// ---- InfoNCE ----

// The loss in double: scale = exp(min(s, log 100)), logits_ij = scale cos(img_i, txt_j),
// mean of the row-wise and column-wise cross-entropies with targets on the diagonal.
static double infonce_double(const gw_tensor *img, const gw_tensor *txt, double s, double *logits) {
  int64_t N = img->shape[0], D = img->shape[1];
  double scale = exp(fmin(s, log(100.0)));
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < N; j++) {
      double dot = 0, ni = 0, nj = 0;
      for (int64_t k = 0; k < D; k++) {
        double a = gw_f32(img)[i * D + k], b = gw_f32(txt)[j * D + k];
        dot += a * b;
        ni += a * a;
        nj += b * b;
      }
      logits[i * N + j] = scale * dot / (sqrt(ni) * sqrt(nj));
    }
  double loss = 0.0;
  for (int64_t i = 0; i < N; i++) {
    double row = 0.0, col = 0.0;
    for (int64_t j = 0; j < N; j++) {
      row += exp(logits[i * N + j]);
      col += exp(logits[j * N + i]);
    }
    loss += (log(row) - logits[i * N + i]) + (log(col) - logits[i * N + i]);
  }
  return loss / (2.0 * N);
}

// Perfectly aligned, mutually orthogonal features at the largest scale (100): the loss is
// ~0 (log(1 + 3 e^-100)).
Test(nn_loss, infonce_aligned_is_near_zero) {
  gw_tensor *img = gw_zeros(GW_F32, GW_SHAPE(4, 6));
  for (int i = 0; i < 4; i++) gw_f32(img)[i * 6 + i] = 1.0f + (float)i;  // lengths do not matter
  gw_tensor *txt = gw_clone(img);
  gw_f32(txt)[0] = 0.25f;
  float loss = gw_item(gw_infonce(img, txt, gw_scalar(logf(100.0f)), NULL));
  cr_assert(loss >= 0.0f && loss < 1e-6f, "aligned features: loss %g", loss);
  // at scale 1 the same features give log(1 + 3/e) > 0
  float l1 = gw_item(gw_infonce(img, txt, gw_scalar(0.0f), NULL));
  cr_assert(fabs(l1 - log(1.0 + 3.0 / M_E)) < 1e-5, "scale 1: %g", l1);
}

// The value and the logits equal the direct computation, below and above the cap of 100.
Test(nn_loss, infonce_value_and_cap) {
  gw_rng r = gwt_rng(1);
  gw_tensor *img = gwt_randn(&r, GW_SHAPE(5, 3)), *txt = gwt_randn(&r, GW_SHAPE(5, 3));
  double logits[25];
  double scales[2] = {log(1.0 / 0.07), 5.0};  // CLIP's init, and one above log(100)
  for (int k = 0; k < 2; k++) {
    double want = infonce_double(img, txt, scales[k], logits);
    gw_tensor *lg = NULL;
    float got = gw_item(gw_infonce(img, txt, gw_scalar((float)scales[k]), &lg));
    cr_assert(fabs(got - want) < 1e-5 * fmax(1.0, fabs(want)), "scale %g: loss %.7g, want %.7g",
              scales[k], got, want);
    cr_assert(lg && lg->shape[0] == 5 && lg->shape[1] == 5);
    gw_tensor *lc = gw_contiguous(lg);
    for (int i = 0; i < 25; i++)
      cr_assert(fabs(gw_f32(lc)[i] - logits[i]) < 1e-4 * fmax(1.0, fabs(logits[i])),
                "logit %d: %g, want %g", i, gw_f32(lc)[i], logits[i]);
  }
}

static gw_tensor *f_infonce(gw_tensor *const *in, void *c) {
  return gw_infonce(in[0], in[1], in[2], NULL);
}

// Gradients wrt both feature sets and the learnable logit_scale (below the cap); above the
// cap the scale's gradient is 0 (the clamp is flat there).
Test(nn_loss, infonce_gradcheck) {
  gw_rng r = gwt_rng(2);
  gw_tensor *img = gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 3)));
  gw_tensor *txt = gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 3)));
  gw_tensor *s = gwt_leaf(gw_scalar(1.2f));
  gw_tensor *ins[3] = {img, txt, s};
  gwt_gradcheck("infonce", f_infonce, NULL, 3, ins, 1e-3, GWT_ATOL, GWT_RTOL);
  cr_assert(fabsf(gw_item(s->grad)) > 1e-2, "the logit scale's gradient is %g", gw_item(s->grad));
  // d loss / d s by a central difference in double
  double lg[16], h = 1e-4;
  double num = (infonce_double(img, txt, 1.2 + h, lg) - infonce_double(img, txt, 1.2 - h, lg)) /
               (2 * h);
  gw_zero_grad(s);
  gw_backward(gw_infonce(img, txt, s, NULL));
  cr_assert(fabs(gw_item(s->grad) - num) < 1e-4, "d loss / d logit_scale %g, want %g",
            gw_item(s->grad), num);
  gw_tensor *big = gwt_leaf(gw_scalar(5.0f));
  gw_backward(gw_infonce(img, txt, big, NULL));
  cr_assert(!big->grad || gw_item(big->grad) == 0.0f, "above the cap the scale gets gradient %g",
            gw_item(big->grad));
}

// ---- Barlow Twins ----

// Barlow Twins in double: standardise each dim over the batch (biased variance, eps 1e-5),
// c = z1n^T z2n / N, loss = sum (1 - c_ii)^2 + lambda sum_{i != j} c_ij^2.
static double barlow_double(const gw_tensor *z1, const gw_tensor *z2, double lambda) {
  int64_t N = z1->shape[0], D = z1->shape[1];
  double a[64], b[64];  // N * D <= 64
  const gw_tensor *zs[2] = {z1, z2};
  double *outs[2] = {a, b};
  for (int s = 0; s < 2; s++)
    for (int64_t d = 0; d < D; d++) {
      double mean = 0, var = 0;
      for (int64_t n = 0; n < N; n++) mean += gw_f32(zs[s])[n * D + d];
      mean /= N;
      for (int64_t n = 0; n < N; n++) var += pow(gw_f32(zs[s])[n * D + d] - mean, 2);
      var /= N;
      for (int64_t n = 0; n < N; n++)
        outs[s][n * D + d] = (gw_f32(zs[s])[n * D + d] - mean) / sqrt(var + 1e-5);
    }
  double loss = 0;
  for (int64_t i = 0; i < D; i++)
    for (int64_t j = 0; j < D; j++) {
      double c = 0;
      for (int64_t n = 0; n < N; n++) c += a[n * D + i] * b[n * D + j];
      c /= N;
      loss += i == j ? (1 - c) * (1 - c) : lambda * c * c;
    }
  return loss;
}

typedef struct bt_ctx {
  float lambda;
} bt_ctx;

static gw_tensor *f_barlow(gw_tensor *const *in, void *c) {
  return gw_barlow_twins(in[0], in[1], ((bt_ctx *)c)->lambda);
}

// The value equals the double computation (two lambdas), identical views of a batch give a
// near-zero on-diagonal term, and the gradients wrt both views match finite differences.
Test(nn_loss, barlow_twins) {
  gw_rng r = gwt_rng(3);
  gw_tensor *z1 = gwt_leaf(gwt_randn(&r, GW_SHAPE(6, 4)));
  gw_tensor *z2 = gwt_leaf(gwt_randn(&r, GW_SHAPE(6, 4)));
  float lambdas[2] = {0.0051f, 1.0f};
  for (int k = 0; k < 2; k++) {
    double want = barlow_double(z1, z2, lambdas[k]);
    float got = gw_item(gw_barlow_twins(z1, z2, lambdas[k]));
    cr_assert(fabs(got - want) < 1e-5 * fmax(1.0, want), "lambda %g: %.7g, want %.7g", lambdas[k],
              got, want);
  }
  // the same batch twice: c = correlation matrix, diagonal ~1 (up to eps)
  float same = gw_item(gw_barlow_twins(z1, z1, 0.0f));
  cr_assert(same < 1e-6f, "identical views, lambda 0: %g", same);
  gw_tensor *ins[2] = {z1, z2};
  bt_ctx c = {0.5f};
  gwt_gradcheck("barlow twins", f_barlow, &c, 2, ins, GWT_EPS, GWT_ATOL, GWT_RTOL);
}

// ---- heteroscedastic ----

static gw_tensor *f_hetero(gw_tensor *const *in, void *c) {
  return gw_heteroscedastic_loss(in[0], in[1], in[2]);
}

// mean of 0.5 exp(-s) (y - mu)^2 + 0.5 s against a direct sum, and its gradients wrt mean,
// log-variance and target.
Test(nn_loss, heteroscedastic) {
  gw_rng r = gwt_rng(4);
  gw_tensor *mu = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4)));
  gw_tensor *s = gwt_leaf(gwt_uniform(&r, -1.0f, 1.0f, GW_SHAPE(3, 4)));
  gw_tensor *y = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4)));
  double want = 0;
  for (int i = 0; i < 12; i++) {
    double d = gw_f32(y)[i] - gw_f32(mu)[i], lv = gw_f32(s)[i];
    want += 0.5 * exp(-lv) * d * d + 0.5 * lv;
  }
  want /= 12;
  float got = gw_item(gw_heteroscedastic_loss(mu, s, y));
  cr_assert(fabs(got - want) < 1e-6 * fmax(1.0, fabs(want)), "%.8g, want %.8g", got, want);
  gw_tensor *ins[3] = {mu, s, y};
  gwt_gradcheck("heteroscedastic", f_hetero, NULL, 3, ins, GWT_EPS, GWT_ATOL, GWT_RTOL);
  GWT_EXPECT_ERROR(gw_heteroscedastic_loss(mu, gw_zeros(GW_F32, GW_SHAPE(3, 3)), y),
                   "heteroscedastic_loss");
}

// ---- distillation ----

typedef struct distill_ctx {
  gw_tensor *teacher;
  float tau;
  bool soft_ce;
} distill_ctx;

static gw_tensor *f_distill(gw_tensor *const *in, void *c) {
  distill_ctx *d = c;
  return d->soft_ce ? gw_distill_soft_ce(in[0], d->teacher, d->tau)
                    : gw_distill_kl(in[0], d->teacher, d->tau);
}

// tau^2 * mean over rows of sum_c p_c (log p_c - log q_c) (kl) or -sum_c p_c log q_c (soft
// CE), with p = softmax(t / tau), q = softmax(s / tau), in double.
static double distill_double(const gw_tensor *s, const gw_tensor *t, double tau, bool soft_ce) {
  int64_t N = s->shape[0], C = s->shape[1];
  double total = 0;
  for (int64_t n = 0; n < N; n++) {
    double ms = -INFINITY, mt = -INFINITY, zs = 0, zt = 0;
    for (int64_t c = 0; c < C; c++) {
      ms = fmax(ms, gw_f32(s)[n * C + c] / tau);
      mt = fmax(mt, gw_f32(t)[n * C + c] / tau);
    }
    for (int64_t c = 0; c < C; c++) {
      zs += exp(gw_f32(s)[n * C + c] / tau - ms);
      zt += exp(gw_f32(t)[n * C + c] / tau - mt);
    }
    for (int64_t c = 0; c < C; c++) {
      double lq = gw_f32(s)[n * C + c] / tau - ms - log(zs);
      double lp = gw_f32(t)[n * C + c] / tau - mt - log(zt);
      total += exp(lp) * (soft_ce ? -lq : lp - lq);
    }
  }
  return tau * tau * total / N;
}

// KL is 0 when the student equals the teacher and positive otherwise; both losses equal the
// direct computation (soft CE = KL + tau^2 H(p)); the teacher gets no gradient; the student's
// gradient matches finite differences.
Test(nn_loss, distillation) {
  gw_rng r = gwt_rng(5);
  gw_tensor *s = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 5)));
  gw_tensor *t = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 5)));
  float tau = 2.0f;
  float same = gw_item(gw_distill_kl(s, gw_clone(s), tau));
  cr_assert(fabsf(same) < 1e-6f, "KL(p || p) = %g", same);
  float kl = gw_item(gw_distill_kl(s, t, tau));
  cr_assert(kl > 1e-3f, "KL of different logits %g", kl);
  for (int soft = 0; soft < 2; soft++) {
    double want = distill_double(s, t, tau, soft);
    float got = gw_item(soft ? gw_distill_soft_ce(s, t, tau) : gw_distill_kl(s, t, tau));
    cr_assert(fabs(got - want) < 1e-5 * fmax(1.0, fabs(want)), "%s: %.7g, want %.7g",
              soft ? "soft CE" : "KL", got, want);
  }
  // the teacher is not differentiated, whichever loss
  gw_backward(gw_add(gw_distill_kl(s, t, tau), gw_distill_soft_ce(s, t, tau)));
  cr_assert(s->grad, "the student got no gradient");
  if (t->grad)
    for (int i = 0; i < 15; i++)
      cr_assert_eq(gw_f32(t->grad)[i], 0.0f, "the teacher got a gradient");
  gw_tensor *teacher = gw_clone(t);  // a plain tensor: gradcheck perturbs the student only
  for (int soft = 0; soft < 2; soft++) {
    distill_ctx c = {teacher, tau, soft};
    gwt_gradcheck(soft ? "distill soft CE" : "distill KL", f_distill, &c, 1, &s, GWT_EPS, GWT_ATOL,
                  GWT_RTOL);
  }
  GWT_EXPECT_ERROR(gw_distill_kl(s, t, 0.0f), "temperature");
}
