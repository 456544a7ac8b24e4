// A first end-to-end check: a tiny two-layer network, forward and backward.
#include "testutil.h"

TestSuite(smoke, .init = gwt_setup, .fini = gwt_teardown);

static gw_tensor *mlp(gw_tensor *const *in, void *ctx) {
  (void)ctx;
  gw_tensor *h = gw_relu(gw_linear(in[0], in[1], in[2]));
  return gw_softmax(gw_matmul(h, in[3]), NULL);
}

Test(smoke, mlp_gradcheck) {
  gw_rng r = gwt_rng(1);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4)));
  gw_tensor *w1 = gwt_leaf(gwt_randn(&r, GW_SHAPE(5, 4)));
  gw_tensor *b1 = gwt_leaf(gwt_randn(&r, GW_SHAPE(5)));
  gw_tensor *w2 = gwt_leaf(gwt_randn(&r, GW_SHAPE(5, 2)));
  gwt_gradcheck("mlp", mlp, NULL, 4, (gw_tensor *[]){x, w1, b1, w2}, GWT_EPS, GWT_ATOL, GWT_RTOL);
}

Test(smoke, shape_error_names_op) {
  gw_rng r = gwt_rng(2);
  gw_tensor *a = gwt_randn(&r, GW_SHAPE(2, 3)), *b = gwt_randn(&r, GW_SHAPE(4, 5));
  GWT_EXPECT_ERROR(gw_matmul(a, b), "matmul: inner dimensions differ");
  GWT_EXPECT_ERROR(gw_add(a, b), "add: shapes (2, 3) and (4, 5) do not broadcast");
}
