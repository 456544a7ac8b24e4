// Gradient checks for the elementwise ops of autograd/unary.c, on every input layout, with
// kinked ops (abs, relu, clamp) checked away from their kinks; and their misuse errors.
#include "gradtest.h"

TestSuite(grad_unary, .init = gwt_setup, .fini = gwt_teardown);

typedef enum un_kind {
  U_NEG, U_ADD_SCALAR, U_MUL_SCALAR, U_EXP, U_LOG, U_SQRT, U_POW2, U_POW3, U_POW_HALF, U_POW_NEG,
  U_POW0, U_ABS, U_RELU, U_GELU, U_GELU_TANH, U_SILU, U_SIGMOID, U_TANH, U_SOFTPLUS,
  U_SOFTPLUS_BIG, U_CLAMP, U_COUNT
} un_kind;

// Each op with the input range it is checked on and the kinks to keep away from.
static const struct {
  const char *name;
  float lo, hi;
  int n_kinks;
  float kinks[2];
} spec[U_COUNT] = {
    [U_NEG] = {"neg", -2, 2, 0, {0}},
    [U_ADD_SCALAR] = {"add_scalar", -2, 2, 0, {0}},
    [U_MUL_SCALAR] = {"mul_scalar", -2, 2, 0, {0}},
    [U_EXP] = {"exp", -2, 2, 0, {0}},
    [U_LOG] = {"log", 0.3f, 3, 0, {0}},  // away from the pole at 0
    [U_SQRT] = {"sqrt", 0.3f, 3, 0, {0}},
    [U_POW2] = {"pow 2", -2, 2, 0, {0}},
    [U_POW3] = {"pow 3", -2, 2, 0, {0}},
    [U_POW_HALF] = {"pow 0.5", 0.3f, 3, 0, {0}},
    [U_POW_NEG] = {"pow -1.5", 0.5f, 3, 0, {0}},
    [U_POW0] = {"pow 0", -2, 2, 0, {0}},
    [U_ABS] = {"abs", -2, 2, 1, {0}},
    [U_RELU] = {"relu", -2, 2, 1, {0}},
    [U_GELU] = {"gelu", -3, 3, 0, {0}},
    [U_GELU_TANH] = {"gelu_tanh", -3, 3, 0, {0}},
    [U_SILU] = {"silu", -4, 4, 0, {0}},
    [U_SIGMOID] = {"sigmoid", -4, 4, 0, {0}},
    [U_TANH] = {"tanh", -2, 2, 0, {0}},
    [U_SOFTPLUS] = {"softplus", -5, 5, 0, {0}},
    // the linear branch above 20 and the switch to it (continuous to within float rounding)
    [U_SOFTPLUS_BIG] = {"softplus above 20", 17, 24, 1, {20}},
    [U_CLAMP] = {"clamp", -2, 2, 2, {-0.5f, 0.75f}},
};

static gw_tensor *apply(un_kind k, gw_tensor *x) {
  switch (k) {
    case U_NEG: return gw_neg(x);
    case U_ADD_SCALAR: return gw_add_scalar(x, 1.25f);
    case U_MUL_SCALAR: return gw_mul_scalar(x, -0.75f);
    case U_EXP: return gw_exp(x);
    case U_LOG: return gw_log(x);
    case U_SQRT: return gw_sqrt(x);
    case U_POW2: return gw_pow(x, 2.0f);
    case U_POW3: return gw_pow(x, 3.0f);
    case U_POW_HALF: return gw_pow(x, 0.5f);
    case U_POW_NEG: return gw_pow(x, -1.5f);
    case U_POW0: return gw_pow(x, 0.0f);
    case U_ABS: return gw_abs(x);
    case U_RELU: return gw_relu(x);
    case U_GELU: return gw_gelu(x);
    case U_GELU_TANH: return gw_gelu_tanh(x);
    case U_SILU: return gw_silu(x);
    case U_SIGMOID: return gw_sigmoid(x);
    case U_TANH: return gw_tanh(x);
    case U_SOFTPLUS:
    case U_SOFTPLUS_BIG: return gw_softplus(x);
    case U_CLAMP: return gw_clamp(x, -0.5f, 0.75f);
    case U_COUNT: break;
  }
  return NULL;
}

typedef struct un_ctx {
  un_kind k;
  gt_layout l;
} un_ctx;

static gw_tensor *un_f(gw_tensor *const *in, void *vctx) {
  un_ctx *c = vctx;
  return apply(c->k, gt_view(in[0], c->l));
}

// Every unary op matches finite differences on a row-major, a transposed and a strided input
// (the op reads strided inputs through a row-major copy; the gradient must land back in the
// right places).
Test(grad_unary, every_op_every_layout) {
  gw_rng r = gwt_rng(1);
  for (int k = 0; k < U_COUNT; k++) {
    for (int l = GT_PLAIN; l <= GT_STRIDED; l++) {
      gw_tensor *v = gt_away(&r, spec[k].lo, spec[k].hi, spec[k].n_kinks, spec[k].kinks,
                             GW_SHAPE(3, 5));
      un_ctx c = {(un_kind)k, (gt_layout)l};
      char name[64];
      snprintf(name, sizeof name, "%s %s", spec[k].name, gt_layout_name(c.l));
      GT_CHECK(name, un_f, &c, gt_leaf_as(v, c.l));
    }
  }
}

// On an expanded input (stride 0) the gradient of each copy is summed into the one value.
static gw_tensor *tanh_expanded_f(gw_tensor *const *in, void *ctx) {
  return gw_tanh(gw_expand(in[0], GW_SHAPE(4, 3)));
}
Test(grad_unary, expanded_input) {
  gw_rng r = gwt_rng(2);
  GT_CHECK("tanh expanded", tanh_expanded_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(1, 3))));
}

// A 0-dim input and a 4-dim one work the same.
Test(grad_unary, zero_dim_and_4d) {
  gw_rng r = gwt_rng(3);
  un_ctx c = {U_SILU, GT_PLAIN};
  GT_CHECK("silu 0-dim", un_f, &c, gwt_leaf(gw_scalar(0.3f)));
  GT_CHECK("silu 4-d", un_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 1, 3, 4))));
}

// clamp passes the gradient inside [lo, hi] and none outside; relu and abs pass the sign.
Test(grad_unary, kink_gradients_exact) {
  gw_tensor *x = gwt_leaf(gw_from_floats((float[]){-2, -0.25f, 0.5f, 3}, 4, GW_SHAPE(4)));
  gw_backward(gw_sum_all(gw_clamp(x, -0.5f, 0.75f)));
  gwt_assert_close(x->grad, gw_from_floats((float[]){0, 1, 1, 0}, 4, GW_SHAPE(4)), 0, 0,
                   "clamp grad");
  gw_zero_grad(x);
  gw_backward(gw_sum_all(gw_relu(x)));
  gwt_assert_close(x->grad, gw_from_floats((float[]){0, 0, 1, 1}, 4, GW_SHAPE(4)), 0, 0,
                   "relu grad");
  gw_zero_grad(x);
  gw_backward(gw_sum_all(gw_abs(x)));
  gwt_assert_close(x->grad, gw_from_floats((float[]){-1, -1, 1, 1}, 4, GW_SHAPE(4)), 0, 0,
                   "abs grad");
}

// Misuse: an int32 input or an empty clamp range stops with the op's name.
Test(grad_unary, errors_name_op) {
  gw_rng r = gwt_rng(4);
  gw_tensor *ints = gwt_randint(&r, 3, GW_SHAPE(2, 3));
  GWT_EXPECT_ERROR(gw_exp(ints), "exp: expected a float32 tensor, got int32 (2, 3)");
  GWT_EXPECT_ERROR(gw_relu(ints), "relu: expected a float32 tensor, got int32 (2, 3)");
  GWT_EXPECT_ERROR(gw_clamp(gwt_randn(&r, GW_SHAPE(2)), 1.0f, -1.0f),
                   "clamp: the lower bound 1 is above the upper bound -1");
}
