// Model-level losses composed from autograd ops: box IoU/GIoU, CLIP's symmetric InfoNCE,
// Barlow Twins, the heteroscedastic regression loss, and distillation with a temperature.
// (Elementwise losses such as cross-entropy are fused ops in autograd/losses.c.)
#ifndef GW_NN_LOSS_H
#define GW_NN_LOSS_H

#include "autograd/autograd.h"

// IoU and GIoU of boxes in (cx, cy, w, h): pred, target (N, 4) -> (N,)
gw_tensor *gw_box_iou(gw_tensor *pred, gw_tensor *target);
gw_tensor *gw_box_giou(gw_tensor *pred, gw_tensor *target);
// Mean of 1 - IoU (or 1 - GIoU) over the N boxes.
gw_tensor *gw_iou_loss(gw_tensor *pred, gw_tensor *target);
gw_tensor *gw_giou_loss(gw_tensor *pred, gw_tensor *target);

// CLIP's symmetric InfoNCE: image and text features (N, D) are L2-normalised, logits =
// exp(logit_scale) * img @ txt^T (the scale capped at 100, as CLIP clamps it), and the loss is
// the mean of cross-entropy over rows (image -> text) and over columns (text -> image), with
// pair i matching pair i. logit_scale is a 0-dim learnable parameter (init log(1/0.07)).
// If logits is not NULL it receives the (N, N) logits.
gw_tensor *gw_infonce(gw_tensor *img, gw_tensor *txt, gw_tensor *logit_scale, gw_tensor **logits);

// Barlow Twins: z1, z2 (N, D) standardised per dimension over the batch (affine-free batch
// norm), c = z1n^T z2n / N, loss = sum_i (1 - c_ii)^2 + lambda * sum_{i != j} c_ij^2.
gw_tensor *gw_barlow_twins(gw_tensor *z1, gw_tensor *z2, float lambda);

// Heteroscedastic regression: the model predicts a mean and a log-variance s per element;
// loss = mean of 0.5 * exp(-s) * (y - mu)^2 + 0.5 * s.
gw_tensor *gw_heteroscedastic_loss(gw_tensor *mean, gw_tensor *log_var, gw_tensor *target);

// Distillation with temperature tau (Hinton et al.), student and teacher logits (N, C); the
// teacher is not differentiated:
//   KL:      tau^2 * KL(softmax(t / tau) || softmax(s / tau)), averaged over the batch
//   soft CE: tau^2 * -sum softmax(t / tau) log_softmax(s / tau), averaged over the batch
gw_tensor *gw_distill_kl(gw_tensor *student, gw_tensor *teacher, float tau);
gw_tensor *gw_distill_soft_ce(gw_tensor *student, gw_tensor *teacher, float tau);

#endif
