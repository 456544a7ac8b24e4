// Unary math, forward and backward side by side: y = f(x) and dx += dy * f'(x).
//
// Each op is a case of two switches; the loop sits inside each case so it stays a plain
// loop over contiguous buffers. Large buffers are cut into fixed pieces run in parallel.
#include <math.h>

#include "tensor/kernels.h"
#include "tensor/kernels/fastmath.h"

const char *const gw_unop_names[GW_UN_COUNT] = {
    [GW_UN_NEG] = "neg",         [GW_UN_EXP] = "exp",           [GW_UN_LOG] = "log",
    [GW_UN_SQRT] = "sqrt",       [GW_UN_ABS] = "abs",           [GW_UN_RELU] = "relu",
    [GW_UN_GELU_TANH] = "gelu_tanh", [GW_UN_GELU_ERF] = "gelu", [GW_UN_SILU] = "silu",
    [GW_UN_SIGMOID] = "sigmoid", [GW_UN_TANH] = "tanh",         [GW_UN_SOFTPLUS] = "softplus",
    [GW_UN_POW] = "pow",         [GW_UN_CLAMP] = "clamp",       [GW_UN_AFFINE] = "affine",
};

#define SQRT_2_OVER_PI 0.7978845608028654f
#define GELU_C 0.044715f
#define INV_SQRT_2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

static inline float sigmoidf(float x) { return 1.0f / (1.0f + gw_expf(-x)); }
// tanh(u) = 1 - 2 / (e^(2u) + 1), through the vectorisable exp
static inline float tanh_fast(float u) { return 1.0f - 2.0f / (gw_expf(2.0f * u) + 1.0f); }

static void unary_piece(gw_unop op, const float *x, float *y, int64_t n, float p0,
                        float p1) {
  switch (op) {
    case GW_UN_NEG: for (int64_t i = 0; i < n; i++) y[i] = -x[i]; break;
    case GW_UN_EXP: for (int64_t i = 0; i < n; i++) y[i] = gw_expf(x[i]); break;
    case GW_UN_LOG: for (int64_t i = 0; i < n; i++) y[i] = logf(x[i]); break;
    case GW_UN_SQRT: for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case GW_UN_ABS: for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    case GW_UN_RELU: for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case GW_UN_GELU_TANH:
      for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanh_fast(SQRT_2_OVER_PI * (v + GELU_C * v * v * v)));
      }
      break;
    case GW_UN_GELU_ERF:
      for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + gw_erff(x[i] * INV_SQRT_2));
      break;
    case GW_UN_SILU: for (int64_t i = 0; i < n; i++) y[i] = x[i] * sigmoidf(x[i]); break;
    case GW_UN_SIGMOID: for (int64_t i = 0; i < n; i++) y[i] = sigmoidf(x[i]); break;
    case GW_UN_TANH: for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
    case GW_UN_SOFTPLUS:
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > 20.0f ? x[i] : log1pf(expf(x[i]));
      break;
    case GW_UN_POW: for (int64_t i = 0; i < n; i++) y[i] = powf(x[i], p0); break;
    case GW_UN_CLAMP:
      for (int64_t i = 0; i < n; i++) y[i] = x[i] < p0 ? p0 : (x[i] > p1 ? p1 : x[i]);
      break;
    case GW_UN_AFFINE: for (int64_t i = 0; i < n; i++) y[i] = p0 * x[i] + p1; break;
    case GW_UN_COUNT: break;
  }
}

static void unary_backward_piece(gw_unop op, const float *x, const float *y,
                                 const float *dy, float *dx, int64_t n, float p0,
                                 float p1) {
  switch (op) {
    case GW_UN_NEG: for (int64_t i = 0; i < n; i++) dx[i] -= dy[i]; break;
    case GW_UN_EXP: for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i]; break;
    case GW_UN_LOG: for (int64_t i = 0; i < n; i++) dx[i] += dy[i] / x[i]; break;
    case GW_UN_SQRT: for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * 0.5f / y[i]; break;
    case GW_UN_ABS:
      for (int64_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dy[i] : (x[i] < 0.0f ? -dy[i] : 0.0f);
      break;
    case GW_UN_RELU: for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f; break;
    case GW_UN_GELU_TANH:
      for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float t = tanh_fast(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
        float dt = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_C * v * v) * (1.0f - t * t);
        dx[i] += dy[i] * (0.5f * (1.0f + t) + 0.5f * v * dt);
      }
      break;
    case GW_UN_GELU_ERF:
      for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + gw_erff(v * INV_SQRT_2));
        dx[i] += dy[i] * (cdf + v * INV_SQRT_2PI * gw_expf(-0.5f * v * v));
      }
      break;
    case GW_UN_SILU:
      for (int64_t i = 0; i < n; i++) {
        float s = sigmoidf(x[i]);
        dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
      }
      break;
    case GW_UN_SIGMOID: for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]); break;
    case GW_UN_TANH: for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]); break;
    case GW_UN_SOFTPLUS:
      for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 20.0f ? dy[i] : dy[i] * sigmoidf(x[i]);
      break;
    case GW_UN_POW:
      for (int64_t i = 0; i < n; i++)
        dx[i] += p0 == 0.0f ? 0.0f : dy[i] * p0 * powf(x[i], p0 - 1.0f);
      break;
    case GW_UN_CLAMP:  // PyTorch passes the gradient where p0 <= x <= p1
      for (int64_t i = 0; i < n; i++) dx[i] += (x[i] >= p0 && x[i] <= p1) ? dy[i] : 0.0f;
      break;
    case GW_UN_AFFINE: for (int64_t i = 0; i < n; i++) dx[i] += p0 * dy[i]; break;
    case GW_UN_COUNT: break;
  }
}

enum { PIECE = 16384 };

void gw_k_unary(gw_unop op, const float *x, float *y, int64_t n, float p0, float p1) {
  if (n < GW_PARALLEL_MIN) {
    unary_piece(op, x, y, n, p0, p1);
    return;
  }
  int64_t pieces = (n + PIECE - 1) / PIECE;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < pieces; p++) {
    int64_t start = p * PIECE, len = n - start < PIECE ? n - start : PIECE;
    unary_piece(op, x + start, y + start, len, p0, p1);
  }
}

void gw_k_unary_backward(gw_unop op, const float *x, const float *y, const float *dy, float *dx,
                         int64_t n, float p0, float p1) {
  if (n < GW_PARALLEL_MIN) {
    unary_backward_piece(op, x, y, dy, dx, n, p0, p1);
    return;
  }
  int64_t pieces = (n + PIECE - 1) / PIECE;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < pieces; p++) {
    int64_t start = p * PIECE, len = n - start < PIECE ? n - start : PIECE;
    unary_backward_piece(op, x + start, y + start, dy + start, dx + start, len, p0, p1);
  }
}
