// overhead: a chain of 1000 elementwise adds on 8-element tensors with gradients, then
// backward; reported in microseconds per op (forward + backward). This measures what the
// framework costs around each op: allocation, recording, dispatch, gradient accumulation.
#include "bench/bench.h"
#include "groundwork.h"

enum { CHAIN = 1000 };

typedef struct overhead_ctx {
  gw_tensor *x, *b;
} overhead_ctx;

static void chain(void *vctx) {
  overhead_ctx *c = vctx;
  gw_tensor *y = c->x;
  for (int i = 0; i < CHAIN; i++) y = gw_add(y, c->b);
  gw_backward(gw_sum_all(y));
  gw_zero_grad(c->x);
  gw_zero_grad(c->b);
  gw_step_end();
}

double gw_bench_overhead(void) {
  overhead_ctx c;
  c.x = gw_param("x", GW_SHAPE(8));
  c.b = gw_param("b", GW_SHAPE(8));
  double t = gw_bench_median_seconds(chain, &c, 3, 21);
  return t / CHAIN * 1e6;
}
