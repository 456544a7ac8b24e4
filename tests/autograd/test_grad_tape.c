// The semantics of the tape (autograd/tape.c): gradients accumulate (fan-in within one
// graph, and across backward calls into a parameter), no_grad records nothing, detach and
// frozen parameters stop gradients, backward from a non-scalar needs a seed, and anomaly
// mode names the op that first produced a NaN or Inf.
#include "gradtest.h"

TestSuite(grad_tape, .init = gwt_setup, .fini = gwt_teardown);

// An input used twice in one graph gets the sum of both gradients: d/dx sum(x * x + 3 x) =
// 2 x + 3, with the fan-in through two different ops.
Test(grad_tape, fan_in_accumulates) {
  gw_rng r = gwt_rng(1);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3)));
  gw_tensor *y = gw_add(gw_mul(x, x), gw_mul_scalar(x, 3.0f));
  gw_backward(gw_sum_all(y));
  for (int i = 0; i < 6; i++)
    cr_assert_float_eq(gw_f32(x->grad)[i], 2.0f * gw_f32(x)[i] + 3.0f, 1e-5f, "grad %d", i);
}

// The same, checked against finite differences through shared intermediate results (a
// diamond: h feeds two branches that meet again).
static gw_tensor *diamond_f(gw_tensor *const *in, void *ctx) {
  gw_tensor *h = gw_tanh(gw_matmul(in[0], in[1]));
  return gw_add(gw_mul(h, gw_sigmoid(h)), gw_sum(h, 1, (int[]){0}, true));
}
Test(grad_tape, diamond_gradcheck) {
  gw_rng r = gwt_rng(2);
  GT_CHECK("diamond", diamond_f, NULL, gwt_leaf(gwt_randn(&r, GW_SHAPE(3, 4))),
           gwt_leaf(gwt_randn(&r, GW_SHAPE(4, 2))));
}

// Two backward calls add into a parameter's .grad (until zeroed); the second call sees the
// same graph, so the gradient exactly doubles.
Test(grad_tape, backward_twice_accumulates_into_param) {
  gw_rng r = gwt_rng(3);
  gw_tensor *w = gw_param("w", GW_SHAPE(3, 2));
  gw_copy_into(w, gwt_randn(&r, GW_SHAPE(3, 2)));
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(4, 3));
  gw_tensor *loss = gw_mean_all(gw_tanh(gw_matmul(x, w)));
  gw_backward(loss);
  gw_tensor *once = gw_clone(w->grad);
  gw_backward(loss);
  gw_tensor *twice = gw_empty_like(once);
  gw_k_binary(GW_BIN_ADD, once, once, twice);
  gwt_assert_close(w->grad, twice, 1e-7, 1e-6, "grad after two backward calls");
  // a fresh graph in a later step adds once more; gw_zero_grad starts over
  float kept[6];  // the step arena is reset: keep the values outside it
  memcpy(kept, gw_f32(twice), sizeof kept);
  gw_step_end();
  x = gwt_randn(&r, GW_SHAPE(4, 3));
  gw_backward(gw_sum_all(gw_matmul(x, w)));
  gw_tensor *xt_ones = gw_empty(GW_F32, GW_SHAPE(3, 2));
  for (int i = 0; i < 3; i++) {
    float s = 0.0f;
    for (int n = 0; n < 4; n++) s += gw_f32(x)[n * 3 + i];
    gw_f32(xt_ones)[i * 2] = gw_f32(xt_ones)[i * 2 + 1] = s;
  }
  for (int i = 0; i < 6; i++)
    cr_assert_float_eq(gw_f32(w->grad)[i], kept[i] + gw_f32(xt_ones)[i], 1e-5f,
                       "grad %d after a third backward in a new step", i);
  gw_zero_grad(w);
  for (int i = 0; i < 6; i++) cr_assert_eq(gw_f32(w->grad)[i], 0.0f);
}

// Under no_grad nothing is recorded (the tape does not grow, outputs do not require a
// gradient); the previous mode comes back after, also when scopes nest.
Test(grad_tape, no_grad_records_nothing) {
  gw_rng r = gwt_rng(4);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3)));
  int64_t before = gw_tape_size();
  bool prev = gw_no_grad_begin();
  cr_assert(!gw_grad_enabled());
  bool inner = gw_no_grad_begin();
  gw_tensor *y = gw_sum_all(gw_relu(gw_linear(x, gwt_randn(&r, GW_SHAPE(4, 3)), NULL)));
  gw_no_grad_end(inner);
  cr_assert(!gw_grad_enabled(), "the inner scope's end restored no_grad");
  gw_tensor *z = gw_softmax(x, NULL);
  gw_no_grad_end(prev);
  cr_assert(gw_grad_enabled());
  cr_assert_eq(gw_tape_size(), before, "no_grad recorded %lld nodes",
               (long long)(gw_tape_size() - before));
  cr_assert(!y->requires_grad && !y->node && !z->requires_grad && !z->node);
  GWT_EXPECT_ERROR(gw_backward(y), "backward: the loss does not depend on anything that requires "
                                   "a gradient");
  gw_tensor *w = gw_exp(x);
  cr_assert_eq(gw_tape_size(), before + 1, "recording resumes after no_grad");
  cr_assert(w->requires_grad && w->node && strcmp(w->node->op, "exp") == 0);
}

// detach cuts the graph: the detached branch sends no gradient back, the other branch does.
Test(grad_tape, detach_stops_gradients) {
  gw_rng r = gwt_rng(5);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3)));
  gw_tensor *h = gw_mul_scalar(x, 2.0f);
  gw_tensor *d = gw_detach(h);
  cr_assert(!d->requires_grad && !d->node && d->data == h->data, "detach shares data, no graph");
  gw_backward(gw_sum_all(gw_add(gw_mul(d, d), h)));  // d/dx = 2 (through h only)
  for (int i = 0; i < 6; i++) cr_assert_float_eq(gw_f32(x->grad)[i], 2.0f, 1e-6f, "grad %d", i);
  // a detached transposed view is still a view
  gw_tensor *t = gw_detach(gw_transpose(x, 0, 1));
  cr_assert(t->shape[0] == 3 && !t->requires_grad);
  cr_assert_eq(gw_f32(gw_contiguous(t))[1], gw_f32(x)[3]);
}

// A frozen parameter gets no gradient (and no .grad at all), while the others do; a graph
// whose only inputs are frozen records nothing.
Test(grad_tape, frozen_parameter_gets_no_grad) {
  gw_rng r = gwt_rng(6);
  gw_tensor *w = gw_param("w", GW_SHAPE(4, 3)), *b = gw_param("b", GW_SHAPE(4));
  gw_copy_into(w, gwt_randn(&r, GW_SHAPE(4, 3)));
  gw_set_requires_grad(w, false);
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(2, 3));
  gw_backward(gw_sum_all(gw_linear(x, w, b)));
  cr_assert_null(w->grad, "a frozen weight got a gradient");
  cr_assert_not_null(b->grad);
  cr_assert_float_eq(gw_f32(b->grad)[0], 2.0f, 1e-6f);
  gw_set_requires_grad(b, false);
  int64_t before = gw_tape_size();
  gw_tensor *y = gw_linear(x, w, b);
  cr_assert(!y->requires_grad && gw_tape_size() == before, "all-frozen graph was recorded");
  // frozen inside a conv and a layernorm too
  gw_tensor *k = gw_param("k", GW_SHAPE(2, 1, 3, 3)), *g = gw_param("g", GW_SHAPE(3));
  gw_set_requires_grad(k, false);
  gw_tensor *img = gwt_leaf(gwt_randn(&r, GW_SHAPE(1, 1, 3, 3)));
  gw_tensor *out = gw_conv2d(img, k, NULL, (gw_conv2d_args){.pad_h = 1, .pad_w = 1});
  gw_backward(gw_sum_all(gw_layernorm(out, g, NULL, 1e-5f)));
  cr_assert_null(k->grad, "a frozen conv weight got a gradient");
  cr_assert_not_null(img->grad);
  cr_assert_not_null(g->grad);
  GWT_EXPECT_ERROR(gw_set_requires_grad(out, false),
                   "requires_grad: (1, 2, 3, 3) is the result of an op; only leaves can be "
                   "changed");
  GWT_EXPECT_ERROR(gw_set_requires_grad(gwt_randint(&r, 2, GW_SHAPE(2)), true),
                   "requires_grad: only float32 tensors can have gradients ((2,) is int32)");
}

// backward needs a one-element loss; from a non-scalar it stops naming the shape and the way
// out; with a seed of the output's shape it works, and a seed of another shape is named.
Test(grad_tape, backward_from_non_scalar) {
  gw_rng r = gwt_rng(7);
  gw_tensor *x = gwt_leaf(gwt_randn(&r, GW_SHAPE(2, 3)));
  gw_tensor *y = gw_mul_scalar(x, 3.0f);
  GWT_EXPECT_ERROR(gw_backward(y), "backward: the loss has shape (2, 3); backward needs a single "
                                   "value");
  GWT_EXPECT_ERROR(gw_backward_seeded(y, gwt_randn(&r, GW_SHAPE(3, 2))),
                   "backward: the seed gradient (3, 2) does not match the output (2, 3)");
  gw_tensor *seed = gwt_randn(&r, GW_SHAPE(2, 3));
  gw_backward_seeded(y, seed);
  for (int i = 0; i < 6; i++)
    cr_assert_float_eq(gw_f32(x->grad)[i], 3.0f * gw_f32(seed)[i], 1e-6f, "grad %d", i);
  // a (1, 1) loss is fine without a seed
  gw_zero_grad(x);
  gw_backward(gw_sum(x, 0, NULL, true));
  for (int i = 0; i < 6; i++) cr_assert_eq(gw_f32(x->grad)[i], 1.0f, "grad %d", i);
}

// Anomaly mode stops at the first op whose output is not finite, naming it, its output shape
// and its inputs' shapes; off, the NaN just flows on.
Test(grad_tape, anomaly_names_the_op) {
  gw_tensor *x = gw_from_floats((float[]){1, -1, 2, 3}, 4, GW_SHAPE(2, 2));
  gw_tensor *quiet = gw_log(x);
  cr_assert(isnan(gw_f32(quiet)[1]), "log(-1) is NaN without anomaly mode");
  gw_set_anomaly_mode(true);
  cr_assert(gw_anomaly_mode());
  gw_tensor *ok = gw_exp(x);  // finite: no error
  cr_assert_not_null(ok);
  GWT_EXPECT_ERROR(gw_sqrt(gw_add_scalar(gw_log(x), 1.0f)),
                   "anomaly: the op 'log' produced NaN at element 1 of its output (2, 2) "
                   "(inputs (2, 2))");
  GWT_EXPECT_ERROR(gw_div(x, gw_zeros(GW_F32, GW_SHAPE(2))), "anomaly: the op 'div' produced Inf");
  // an op that needs no gradient is checked too (anomaly mode checks every op)
  bool prev = gw_no_grad_begin();
  GWT_EXPECT_ERROR(gw_exp(gw_mul_scalar(x, 1000.0f)), "anomaly: the op 'exp' produced Inf");
  gw_no_grad_end(prev);
  gw_set_anomaly_mode(false);
  cr_assert(!gw_anomaly_mode());
}
