// Optimal transport between two sets of feature vectors, differentiable.
//
// Costs are (B, n, m) matrices between n "source" and m "target" items per sample; marginals
// are uniform (1/n, 1/m), as VoLTA uses them. The iterations are unrolled through autograd,
// so gradients flow through the transport plan as well as through the cost.
#ifndef GW_NN_OT_H
#define GW_NN_OT_H

#include "autograd/autograd.h"

// VoLTA's thresholded cosine cost: C = 1 - cos(x_i, y_j), then C = relu(C - t) with
// t = min C + ratio * (max C - min C), min and max over the whole batch tensor. ratio < 0
// turns the threshold off. x (B, n, d), y (B, m, d) -> (B, n, m).
gw_tensor *gw_ot_cosine_cost(gw_tensor *x, gw_tensor *y, float ratio);

// IPOT (inexact proximal point OT), `iters` iterations with proximal step beta:
//   A = exp(-C / beta), T = 1, sigma = 1/m;  repeat: Q = A * T, delta = 1 / (n Q sigma),
//   sigma = 1 / (m Q^T delta), T = diag(delta) Q diag(sigma).     C (B, n, m) -> T (B, n, m)
gw_tensor *gw_ot_ipot(gw_tensor *C, float beta, int iters);

// Entropic OT by Sinkhorn iterations in the log domain (stable for small eps):
//   f = eps (log a - LSE_j((g_j - C_ij) / eps)),  g = eps (log b - LSE_i((f_i - C_ij) / eps)),
//   T = exp((f_i + g_j - C_ij) / eps).                            C (B, n, m) -> T (B, n, m)
gw_tensor *gw_ot_sinkhorn_log(gw_tensor *C, float eps, int iters);

// Wasserstein distance with IPOT: sum_ij C_ij T_ij per sample -> (B,)
gw_tensor *gw_ot_wasserstein(gw_tensor *C, float beta, int iters);

// VoLTA's Gromov-Wasserstein distance between the token graphs of x (B, n, d) and y (B, m, d):
// intra-modal costs Cs = cost(x, x), Ct = cost(y, y) (thresholded cosine), then
//   Cst = (Cs*Cs) p 1^T + 1 q^T (Ct*Ct)^T,  gamma = p q^T,
//   `outer` times: C_gamma = Cst - 2 Cs gamma Ct^T, gamma = IPOT(C_gamma, beta, inner)
// without gradient, and GWD = sum(C_gamma * gamma) with the final gamma held constant: the
// gradient flows through Cs and Ct only. -> (B,)
gw_tensor *gw_ot_gromov_wasserstein(gw_tensor *x, gw_tensor *y, float ratio, float beta, int outer,
                                    int inner);

#endif
