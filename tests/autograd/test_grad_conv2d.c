// Gradient checks for autograd/conv2d.c: every argument (stride, padding, dilation, each per
// axis; groups, depthwise; bias or none), non-square kernels, the 1x1 shortcut, a channels-last
// (permuted) input, and a batch large enough to run the images in parallel; misuse errors.
#include "gradtest.h"

TestSuite(grad_conv2d, .init = gwt_setup, .fini = gwt_teardown);

typedef struct conv_ctx {
  gw_conv2d_args a;
  bool channels_last;  // the leaf is (B, H, W, C); the op sees a permuted view
} conv_ctx;

static gw_tensor *conv_f(gw_tensor *const *in, void *vctx) {
  conv_ctx *c = vctx;
  gw_tensor *x = c->channels_last ? gw_permute(in[0], (int[]){0, 3, 1, 2}) : in[0];
  return gw_conv2d(x, in[1], in[2], c->a);
}

typedef struct conv_case {
  const char *name;
  int64_t x[4], w[4];
  gw_conv2d_args a;
} conv_case;

// Each case keeps x and w under ~150 elements.
static const conv_case cases[] = {
    {"3x3", {2, 3, 5, 5}, {4, 3, 3, 3}, {0}},
    {"stride 2 pad 1", {2, 2, 6, 6}, {3, 2, 3, 3},
     {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}},
    {"stride 2x1 pad 0x2", {1, 2, 7, 5}, {3, 2, 3, 3}, {.stride_h = 2, .stride_w = 1, .pad_w = 2}},
    {"stride 1x3 pad 2x1", {1, 2, 5, 7}, {2, 2, 3, 3}, {.stride_w = 3, .pad_h = 2, .pad_w = 1}},
    {"dilation 2", {1, 2, 7, 7}, {3, 2, 3, 3}, {.dilation_h = 2, .dilation_w = 2}},
    {"dilation 2x1 pad 2", {1, 2, 6, 5}, {2, 2, 3, 3}, {.dilation_h = 2, .pad_h = 2, .pad_w = 1}},
    {"stride, pad and dilation", {1, 2, 8, 8}, {2, 2, 3, 3},
     {.stride_h = 2, .stride_w = 2, .pad_h = 2, .pad_w = 2, .dilation_h = 2, .dilation_w = 2}},
    {"kernel 2x3", {2, 2, 4, 5}, {3, 2, 2, 3}, {.pad_w = 1}},
    {"kernel 1x3", {1, 3, 4, 6}, {2, 3, 1, 3}, {.stride_w = 2}},
    {"kernel larger than input with padding", {1, 1, 2, 2}, {2, 1, 3, 3}, {.pad_h = 1, .pad_w = 1}},
    {"groups 2", {1, 4, 5, 5}, {6, 2, 3, 3}, {.groups = 2}},
    {"groups 2 stride 2 pad 1", {2, 4, 4, 4}, {4, 2, 3, 3},
     {.groups = 2, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}},
    {"depthwise", {2, 3, 5, 5}, {3, 1, 3, 3}, {.groups = 3, .pad_h = 1, .pad_w = 1}},
    {"depthwise multiplier 2", {1, 3, 5, 5}, {6, 1, 3, 3}, {.groups = 3}},
    {"depthwise dilated", {1, 3, 6, 6}, {3, 1, 3, 3},
     {.groups = 3, .dilation_h = 2, .dilation_w = 2, .pad_h = 2, .pad_w = 2}},
    {"1x1", {2, 3, 4, 4}, {5, 3, 1, 1}, {0}},
    {"1x1 groups 3", {2, 6, 3, 3}, {3, 2, 1, 1}, {.groups = 3}},
    {"1x1 stride 2", {1, 3, 5, 5}, {4, 3, 1, 1}, {.stride_h = 2, .stride_w = 2}},
    {"1x1 pad 1", {1, 3, 3, 3}, {4, 3, 1, 1}, {.pad_h = 1, .pad_w = 1}},
    {"1x1 dilation 2", {1, 3, 4, 4}, {2, 3, 1, 1}, {.dilation_h = 2, .dilation_w = 2}},
};

// Every case with and without a bias: x, w and bias all match finite differences.
Test(grad_conv2d, every_argument) {
  gw_rng r = gwt_rng(1);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int has_bias = 1; has_bias >= 0; has_bias--) {
      const conv_case *k = &cases[i];
      conv_ctx c = {k->a, false};
      gw_tensor *x = gwt_leaf(gwt_randn(&r, 4, k->x));
      gw_tensor *w = gwt_leaf(gwt_randn(&r, 4, k->w));
      gw_tensor *b = has_bias ? gwt_leaf(gwt_randn(&r, GW_SHAPE(k->w[0]))) : NULL;
      char name[96];
      snprintf(name, sizeof name, "conv2d %s%s", k->name, has_bias ? " + bias" : "");
      GT_CHECK(name, conv_f, &c, x, w, b);
    }
}

// A channels-last input (a permuted view, copied to row-major by the op) and a transposed
// weight.
static gw_tensor *conv_wt_f(gw_tensor *const *in, void *vctx) {
  conv_ctx *c = vctx;
  return gw_conv2d(in[0], gw_transpose(in[1], 2, 3), in[2], c->a);
}
Test(grad_conv2d, strided_operands) {
  gw_rng r = gwt_rng(2);
  conv_ctx c = {{.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}, true};
  GT_CHECK("conv2d channels-last", conv_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 5, 5, 3))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 3, 3, 3))), gwt_leaf(gwt_randn(&r, GW_SHAPE(4))));
  c.channels_last = false;
  GT_CHECK("conv2d transposed weight", conv_wt_f, &c, gwt_leaf(gwt_randn(&r, GW_SHAPE(1, 2, 5, 4))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 2, 2, 3))), NULL);
}

// A batch big enough that the images run in parallel (B * OC * K * OH * OW >= 2^15): the
// weight gradient is summed over images in a fixed order. Only w and bias are perturbed.
Test(grad_conv2d, parallel_images) {
  gw_rng r = gwt_rng(3);
  conv_ctx c = {{.pad_h = 1, .pad_w = 1}, false};
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(4, 3, 8, 8));  // 4 * 8 * 27 * 64 = 55296
  GT_CHECK("conv2d parallel images (w, bias)", conv_f, &c, x,
           gwt_leaf(gwt_randn(&r, GW_SHAPE(8, 3, 3, 3))), gwt_leaf(gwt_randn(&r, GW_SHAPE(8))));
}

// The input gradient of a parallel batch: x perturbed, w fixed (every image's dx is its own).
static gw_tensor *conv_x_only_f(gw_tensor *const *in, void *vctx) {
  conv_ctx *c = vctx;
  return gw_conv2d(in[0], in[1], NULL, c->a);
}
Test(grad_conv2d, parallel_images_input_grad) {
  gw_rng r = gwt_rng(4);
  conv_ctx c = {{.pad_h = 1, .pad_w = 1}, false};
  // B * OC * K * OH * OW = 8 * 16 * 18 * 16 = 36864, with x of 256 elements
  GT_CHECK("conv2d parallel images (x)", conv_x_only_f, &c,
           gwt_leaf(gwt_randn(&r, GW_SHAPE(8, 2, 4, 4))), gwt_randn(&r, GW_SHAPE(16, 2, 3, 3)));
}

// Gradients accumulate: x used by two convolutions gets the sum of both.
static gw_tensor *conv_twice_f(gw_tensor *const *in, void *ctx) {
  gw_conv2d_args a = {0}, b = {.pad_h = 1, .pad_w = 1};
  gw_tensor *y1 = gw_conv2d(in[0], in[1], NULL, a);                       // (1, 2, 3, 3)
  gw_tensor *y2 = gw_conv2d(in[0], gw_slice(in[1], 0, 0, 2, 1), NULL, b);  // (1, 2, 5, 5)
  return gw_add(y1, gw_slice(gw_slice(y2, 2, 1, 4, 1), 3, 1, 4, 1));
}
Test(grad_conv2d, input_used_twice) {
  gw_rng r = gwt_rng(5);
  GT_CHECK("conv2d twice", conv_twice_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(1, 2, 5, 5))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 2, 3, 3))));
}

// Misuse: inputs of the wrong rank, channels that do not fit the groups, a bias of the wrong
// size, an empty output, a wrong dtype.
Test(grad_conv2d, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(6);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(1, 3, 5, 5)), *w = gwt_randn(&r, GW_SHAPE(2, 3, 3, 3));
  gw_conv2d_args a = {0};
  GWT_EXPECT_ERROR(gw_conv2d(gwt_randn(&r, GW_SHAPE(3, 5, 5)), w, NULL, a),
                   "conv2d: expects x (B,C,H,W) and w (OC,C/groups,KH,KW), got x (3, 5, 5) and w "
                   "(2, 3, 3, 3)");
  GWT_EXPECT_ERROR(gw_conv2d(x, gwt_randn(&r, GW_SHAPE(2, 4, 3, 3)), NULL, a),
                   "conv2d: x (1, 3, 5, 5) and w (2, 4, 3, 3) do not fit 1 groups");
  GWT_EXPECT_ERROR(gw_conv2d(x, w, NULL, (gw_conv2d_args){.groups = 2}),
                   "conv2d: x (1, 3, 5, 5) and w (2, 3, 3, 3) do not fit 2 groups");
  GWT_EXPECT_ERROR(gw_conv2d(x, w, gwt_randn(&r, GW_SHAPE(3)), a),
                   "conv2d: bias (3,) does not match the 2 output channels");
  GWT_EXPECT_ERROR(gw_conv2d(gwt_randn(&r, GW_SHAPE(1, 3, 2, 2)), w, NULL, a),
                   "conv2d: the output of x (1, 3, 2, 2) with kernel 3x3");
  GWT_EXPECT_ERROR(gw_conv2d(gwt_randint(&r, 2, GW_SHAPE(1, 3, 5, 5)), w, NULL, a),
                   "conv2d: expected a float32 tensor, got int32 (1, 3, 5, 5)");
}
