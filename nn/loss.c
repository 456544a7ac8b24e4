#include "nn/loss.h"

#include "nn/functional.h"

static void check_boxes(const char *op, const gw_tensor *p, const gw_tensor *t) {
  GW_CHECK(p->ndim == 2 && p->shape[1] == 4 && gw_same_shape(p, t),
           "%s: boxes should be (N, 4) in (cx, cy, w, h), got %s and %s", op, gw_shape_str(p),
           gw_shape_str(t));
}

// Corner coordinates of (N, 4) cxcywh boxes, each (N, 1).
static void corners(gw_tensor *b, gw_tensor **x1, gw_tensor **y1, gw_tensor **x2, gw_tensor **y2) {
  gw_tensor *xy = gw_box_cxcywh_to_xyxy(b);
  *x1 = gw_slice(xy, 1, 0, 1, 1);
  *y1 = gw_slice(xy, 1, 1, 2, 1);
  *x2 = gw_slice(xy, 1, 2, 3, 1);
  *y2 = gw_slice(xy, 1, 3, 4, 1);
}

// IoU (N,), and the area of the smallest enclosing box and the union when asked for
static gw_tensor *iou_parts(gw_tensor *p, gw_tensor *t, gw_tensor **enclose, gw_tensor **uni) {
  gw_tensor *px1, *py1, *px2, *py2, *tx1, *ty1, *tx2, *ty2;
  corners(p, &px1, &py1, &px2, &py2);
  corners(t, &tx1, &ty1, &tx2, &ty2);
  gw_tensor *iw = gw_relu(gw_sub(gw_minimum(px2, tx2), gw_maximum(px1, tx1)));
  gw_tensor *ih = gw_relu(gw_sub(gw_minimum(py2, ty2), gw_maximum(py1, ty1)));
  gw_tensor *inter = gw_mul(iw, ih);
  gw_tensor *area_p = gw_mul(gw_sub(px2, px1), gw_sub(py2, py1));
  gw_tensor *area_t = gw_mul(gw_sub(tx2, tx1), gw_sub(ty2, ty1));
  gw_tensor *u = gw_sub(gw_add(area_p, area_t), inter);
  if (enclose) {
    gw_tensor *ew = gw_sub(gw_maximum(px2, tx2), gw_minimum(px1, tx1));
    gw_tensor *eh = gw_sub(gw_maximum(py2, ty2), gw_minimum(py1, ty1));
    *enclose = gw_mul(ew, eh);
    *uni = u;
  }
  return gw_div(inter, gw_add_scalar(u, 1e-7f));
}

gw_tensor *gw_box_iou(gw_tensor *pred, gw_tensor *target) {
  check_boxes("iou", pred, target);
  return gw_reshape(iou_parts(pred, target, NULL, NULL), GW_SHAPE(-1));
}

// GIoU = IoU - (enclosing area - union) / enclosing area
gw_tensor *gw_box_giou(gw_tensor *pred, gw_tensor *target) {
  check_boxes("giou", pred, target);
  gw_tensor *enclose, *uni;
  gw_tensor *iou = iou_parts(pred, target, &enclose, &uni);
  gw_tensor *g = gw_sub(iou, gw_div(gw_sub(enclose, uni), gw_add_scalar(enclose, 1e-7f)));
  return gw_reshape(g, GW_SHAPE(-1));
}

gw_tensor *gw_iou_loss(gw_tensor *pred, gw_tensor *target) {
  return gw_mean_all(gw_add_scalar(gw_neg(gw_box_iou(pred, target)), 1.0f));
}

gw_tensor *gw_giou_loss(gw_tensor *pred, gw_tensor *target) {
  return gw_mean_all(gw_add_scalar(gw_neg(gw_box_giou(pred, target)), 1.0f));
}

gw_tensor *gw_infonce(gw_tensor *img, gw_tensor *txt, gw_tensor *logit_scale, gw_tensor **logits_out) {
  GW_CHECK(img->ndim == 2 && gw_same_shape(img, txt), "infonce: image %s and text %s features "
           "should both be (N, D)", gw_shape_str(img), gw_shape_str(txt));
  GW_CHECK(gw_numel(logit_scale) == 1, "infonce: logit_scale should be one value, got %s",
           gw_shape_str(logit_scale));
  int64_t N = img->shape[0];
  gw_tensor *scale = gw_exp(gw_clamp(logit_scale, -1e9f, 4.605170186f));  // exp(.) <= 100
  gw_tensor *logits = gw_mul(gw_cosine_matrix(img, txt), scale);
  if (logits_out) *logits_out = logits;
  gw_tensor *labels = gw_empty(GW_I32, GW_SHAPE(N));
  for (int64_t i = 0; i < N; i++) gw_i32(labels)[i] = (int32_t)i;
  gw_tensor *i2t = gw_cross_entropy(logits, labels, -100, 0.0f, GW_MEAN);
  gw_tensor *t2i = gw_cross_entropy(gw_transpose(logits, 0, 1), labels, -100, 0.0f, GW_MEAN);
  return gw_mul_scalar(gw_add(i2t, t2i), 0.5f);
}

gw_tensor *gw_barlow_twins(gw_tensor *z1, gw_tensor *z2, float lambda) {
  GW_CHECK(z1->ndim == 2 && gw_same_shape(z1, z2), "barlow_twins: z1 %s and z2 %s should both be "
           "(N, D)", gw_shape_str(z1), gw_shape_str(z2));
  int64_t N = z1->shape[0], D = z1->shape[1];
  gw_tensor *a = gw_batchnorm(z1, NULL, NULL, NULL, NULL, true, 0.0f, 1e-5f);
  gw_tensor *b = gw_batchnorm(z2, NULL, NULL, NULL, NULL, true, 0.0f, 1e-5f);
  gw_tensor *c = gw_mul_scalar(gw_matmul(gw_transpose(a, 0, 1), b), 1.0f / (float)N);  // (D, D)
  gw_tensor *eye = gw_zeros(GW_F32, GW_SHAPE(D, D));
  for (int64_t i = 0; i < D; i++) gw_f32(eye)[i * D + i] = 1.0f;
  // on the diagonal (1 - c_ii)^2; off it lambda * c_ij^2: one weighted sum of squares
  gw_tensor *diff = gw_sub(c, eye);  // c - I: the diagonal holds c_ii - 1
  gw_tensor *weights = gw_full(lambda, GW_SHAPE(D, D));
  for (int64_t i = 0; i < D; i++) gw_f32(weights)[i * D + i] = 1.0f;
  return gw_sum_all(gw_mul(gw_mul(diff, diff), weights));
}

gw_tensor *gw_heteroscedastic_loss(gw_tensor *mean, gw_tensor *log_var, gw_tensor *target) {
  GW_CHECK(gw_same_shape(mean, log_var) && gw_same_shape(mean, target),
           "heteroscedastic_loss: mean %s, log-variance %s and target %s must have one shape",
           gw_shape_str(mean), gw_shape_str(log_var), gw_shape_str(target));
  gw_tensor *d = gw_sub(target, mean);
  gw_tensor *nll = gw_add(gw_mul(gw_exp(gw_neg(log_var)), gw_mul(d, d)), log_var);
  return gw_mul_scalar(gw_mean_all(nll), 0.5f);
}

static void check_logits(const char *op, const gw_tensor *s, const gw_tensor *t, float tau) {
  GW_CHECK(s->ndim == 2 && gw_same_shape(s, t), "%s: student %s and teacher %s logits should "
           "both be (N, C)", op, gw_shape_str(s), gw_shape_str(t));
  GW_CHECK(tau > 0.0f, "%s: temperature %g must be > 0", op, tau);
}

gw_tensor *gw_distill_kl(gw_tensor *student, gw_tensor *teacher, float tau) {
  check_logits("distill_kl", student, teacher, tau);
  gw_tensor *log_q = gw_log_softmax(gw_mul_scalar(student, 1.0f / tau), NULL);
  gw_tensor *log_p = gw_log_softmax(gw_mul_scalar(gw_detach(teacher), 1.0f / tau), NULL);
  return gw_mul_scalar(gw_kl_div(log_q, log_p, true, GW_BATCHMEAN), tau * tau);
}

gw_tensor *gw_distill_soft_ce(gw_tensor *student, gw_tensor *teacher, float tau) {
  check_logits("distill_soft_ce", student, teacher, tau);
  gw_tensor *p = gw_softmax(gw_mul_scalar(gw_detach(teacher), 1.0f / tau), NULL);
  return gw_mul_scalar(gw_cross_entropy_soft(gw_mul_scalar(student, 1.0f / tau), p, GW_MEAN),
                       tau * tau);
}
