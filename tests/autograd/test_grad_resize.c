// Gradient checks for autograd/resize.c: nearest and bilinear upsampling to larger, smaller,
// equal and non-integer-ratio sizes; pixel shuffle and unshuffle; constant padding with
// positive, negative (cropping) and mixed amounts; strided inputs; misuse errors.
#include "gradtest.h"

TestSuite(grad_resize, .init = gwt_setup, .fini = gwt_teardown);

typedef struct resize_ctx {
  bool bilinear;
  int oh, ow;
  gt_layout l;
} resize_ctx;

static gw_tensor *upsample_f(gw_tensor *const *in, void *vctx) {
  resize_ctx *c = vctx;
  gw_tensor *x = gt_view(in[0], c->l);
  return c->bilinear ? gw_upsample_bilinear(x, c->oh, c->ow) : gw_upsample_nearest(x, c->oh, c->ow);
}

// Both modes, from (H, W) to (OH, OW): integer factors, non-integer ratios, shrinking, the
// same size, a 1x1 input, one axis up and the other down.
Test(grad_resize, upsample_sizes) {
  gw_rng r = gwt_rng(1);
  const struct {
    int64_t x[4];
    int oh, ow;
  } sizes[] = {{{1, 2, 3, 3}, 6, 6}, {{2, 1, 2, 3}, 5, 7}, {{1, 2, 5, 5}, 3, 2},
               {{1, 2, 3, 4}, 3, 4}, {{1, 3, 1, 1}, 3, 2}, {{1, 2, 6, 2}, 4, 5},
               {{1, 1, 4, 4}, 7, 9}};
  for (int bil = 0; bil < 2; bil++)
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
      for (int l = GT_PLAIN; l <= GT_STRIDED; l++) {
        resize_ctx c = {bil, sizes[i].oh, sizes[i].ow, (gt_layout)l};
        char name[80];
        snprintf(name, sizeof name, "%s %lldx%lld -> %dx%d %s", bil ? "bilinear" : "nearest",
                 (long long)sizes[i].x[2], (long long)sizes[i].x[3], c.oh, c.ow,
                 gt_layout_name(c.l));
        GT_CHECK(name, upsample_f, &c, gt_leaf_as(gwt_randn(&r, 4, sizes[i].x), c.l));
      }
}

// Known values (PyTorch, align_corners=False): 2x2 -> 4x4 bilinear, 2 -> 3 nearest.
Test(grad_resize, upsample_values) {
  gw_tensor *x = gw_from_floats((float[]){0, 1, 2, 3}, 4, GW_SHAPE(1, 1, 2, 2));
  gw_tensor *y = gw_upsample_bilinear(x, 4, 4);
  float want[16] = {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f,
                    1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3};
  gwt_assert_close(y, gw_from_floats(want, 16, GW_SHAPE(1, 1, 4, 4)), 1e-6, 0, "bilinear 2->4");
  gw_tensor *row = gw_from_floats((float[]){5, 7}, 2, GW_SHAPE(1, 1, 1, 2));
  gw_tensor *n = gw_upsample_nearest(row, 1, 3);
  gwt_assert_close(n, gw_from_floats((float[]){5, 5, 7}, 3, GW_SHAPE(1, 1, 1, 3)), 0, 0,
                   "nearest 2->3");
}

typedef struct shuffle_ctx {
  bool up;
  int r;
  gt_layout l;
} shuffle_ctx;
static gw_tensor *shuffle_f(gw_tensor *const *in, void *vctx) {
  shuffle_ctx *c = vctx;
  gw_tensor *x = gt_view(in[0], c->l);
  return c->up ? gw_pixel_shuffle(x, c->r) : gw_pixel_unshuffle(x, c->r);
}

// Pixel shuffle and unshuffle with r = 1, 2, 3 on row-major and strided inputs; and that one
// undoes the other.
Test(grad_resize, pixel_shuffle_unshuffle) {
  gw_rng r = gwt_rng(2);
  for (int rr = 1; rr <= 3; rr++)
    for (int l = GT_PLAIN; l <= GT_STRIDED; l++) {
      shuffle_ctx c = {true, rr, (gt_layout)l};
      char name[64];
      snprintf(name, sizeof name, "pixel_shuffle r%d %s", rr, gt_layout_name(c.l));
      GT_CHECK(name, shuffle_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(2, 2 * rr * rr, 2, 3)), c.l));
      c.up = false;
      snprintf(name, sizeof name, "pixel_unshuffle r%d %s", rr, gt_layout_name(c.l));
      GT_CHECK(name, shuffle_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(1, 2, 2 * rr, 3 * rr)), c.l));
    }
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(1, 8, 2, 3));
  gw_tensor *s = gw_pixel_shuffle(x, 2);
  cr_assert(s->shape[1] == 2 && s->shape[2] == 4 && s->shape[3] == 6, "shuffle gave %s",
            gw_shape_str(s));
  gwt_assert_same_bits(gw_pixel_unshuffle(s, 2), x, "unshuffle(shuffle(x))");
  // y[b, c, h*r+i, w*r+j] = x[b, (c*r+i)*r+j, h, w]: y[0, 1, 3, 2] = x[0, (1*2+1)*2+0, 1, 1]
  cr_assert_eq(gw_f32(s)[((0 * 2 + 1) * 4 + 3) * 6 + 2], gw_f32(x)[((0 * 8 + 6) * 2 + 1) * 3 + 1]);
}

typedef struct pad_ctx {
  int n;
  int64_t pads[6];
  float value;
  gt_layout l;
} pad_ctx;
static gw_tensor *pad_f(gw_tensor *const *in, void *vctx) {
  pad_ctx *c = vctx;
  return gw_pad(gt_view(in[0], c->l), c->n, c->pads, c->value);
}

// Padding of the last 1, 2 and 3 dims with positive, negative (cropping), mixed and zero
// amounts and a non-zero fill value: the gradient is dy cropped back (zero for cropped-away
// input elements).
Test(grad_resize, pad_amounts) {
  gw_rng r = gwt_rng(3);
  const pad_ctx pads[] = {
      {1, {1, 2}, 0.0f, GT_PLAIN},
      {2, {1, 0, 2, 1}, 0.5f, GT_PLAIN},
      {2, {-1, -1, 0, -2}, 0.0f, GT_PLAIN},       // crop only
      {2, {2, -1, -1, 3}, -1.0f, GT_PLAIN},       // crop and pad on one dim each side
      {3, {0, 0, 1, 1, -1, 1}, 0.0f, GT_PLAIN},   // the first dim too
      {2, {0, 0, 0, 0}, 0.0f, GT_PLAIN},          // nothing
      {2, {1, -2, -1, 1}, 3.0f, GT_TRANSPOSED},
      {1, {-1, 2}, 0.0f, GT_STRIDED},
  };
  for (size_t i = 0; i < sizeof pads / sizeof *pads; i++) {
    pad_ctx c = pads[i];
    char name[48];
    snprintf(name, sizeof name, "pad case %zu %s", i, gt_layout_name(c.l));
    GT_CHECK(name, pad_f, &c, gt_leaf_as(gwt_randn(&r, GW_SHAPE(3, 4, 5)), c.l));
  }
}

// pad's output shape and values: pads run from the last dim, the fill value is used, and a
// negative amount crops.
Test(grad_resize, pad_values) {
  gw_tensor *x = gw_from_floats((float[]){1, 2, 3, 4, 5, 6}, 6, GW_SHAPE(2, 3));
  gw_tensor *y = gw_pad(x, 2, (int64_t[]){-1, 1, 1, 0}, 9.0f);  // last dim -1/+1, first +1/0
  cr_assert(y->shape[0] == 3 && y->shape[1] == 3, "pad gave %s", gw_shape_str(y));
  float want[9] = {9, 9, 9, 2, 3, 9, 5, 6, 9};
  gwt_assert_close(y, gw_from_floats(want, 9, GW_SHAPE(3, 3)), 0, 0, "pad values");
}

// Misuse: the wrong rank, factors that do not divide, padding that leaves a negative size.
Test(grad_resize, errors_name_op_and_shapes) {
  gw_rng r = gwt_rng(4);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(1, 3, 4, 4));
  GWT_EXPECT_ERROR(gw_upsample_bilinear(gwt_randn(&r, GW_SHAPE(3, 4, 4)), 8, 8),
                   "upsample_bilinear: expects (B, C, H, W), got (3, 4, 4)");
  GWT_EXPECT_ERROR(gw_upsample_nearest(x, 0, 4), "upsample_nearest: output size 0x4");
  GWT_EXPECT_ERROR(gw_pixel_shuffle(x, 2), "pixel_shuffle: 3 channels do not divide by r*r = 4");
  GWT_EXPECT_ERROR(gw_pixel_unshuffle(x, 3), "pixel_unshuffle: 4x4 does not divide by r = 3");
  GWT_EXPECT_ERROR(gw_pad(x, 5, (int64_t[10]){0}, 0.0f),
                   "pad: 5 dims to pad but the input (1, 3, 4, 4) has 4");
  GWT_EXPECT_ERROR(gw_pad(x, 1, (int64_t[]){-3, -2}, 0.0f),
                   "pad: dim 3 of (1, 3, 4, 4) would have negative size");
  GWT_EXPECT_ERROR(gw_pad(gwt_randint(&r, 2, GW_SHAPE(2, 2)), 1, (int64_t[]){1, 1}, 0.0f),
                   "pad: expected a float32 tensor, got int32 (2, 2)");
}
