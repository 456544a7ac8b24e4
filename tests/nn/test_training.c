// Training semantics: gradient accumulation equals one big batch; a network can overfit one
// batch; a small CNN learns to name the shape drawn in an image; a tiny transformer learns
// to reverse sequences. These are the checks that the pieces work together, not just alone.
#include <math.h>

#include "nn/nn.h"
#include "testutil.h"

TestSuite(training, .init = gwt_setup, .fini = gwt_teardown, .timeout = 240);

// ---- k micro-batches accumulated == one batch k times the size ----

typedef struct mlp_model {
  gw_nn nn;
  gw_linear_m l1, l2;
  gw_layernorm_m ln;
} mlp_model;

static void mlp_model_init(mlp_model *m, uint64_t seed) {
  gw_nn_init(&m->nn, seed);
  gw_linear_init(&m->l1, &m->nn, "l1", 6, 16, true);
  gw_layernorm_init(&m->ln, &m->nn, "ln", 16, true);
  gw_linear_init(&m->l2, &m->nn, "l2", 16, 5, true);
}

static gw_tensor *mlp_loss(mlp_model *m, gw_tensor *x, gw_tensor *y) {
  gw_tensor *h = gw_gelu(gw_layernorm_forward(&m->ln, gw_linear_forward(&m->l1, x)));
  return gw_cross_entropy(gw_linear_forward(&m->l2, h), y, -100, 0.0f, GW_MEAN);
}

Test(training, accumulation_equals_big_batch) {
  gw_rng r = gwt_rng(7);
  const int k = 4, micro = 8;
  gw_tensor *x = gwt_randn(&r, GW_SHAPE(k * micro, 6));
  gw_tensor *y = gwt_randint(&r, 5, GW_SHAPE(k * micro));
  mlp_model big, acc;
  mlp_model_init(&big, 3);
  mlp_model_init(&acc, 3);  // same seed: same initial weights
  gw_backward(mlp_loss(&big, x, y));
  for (int i = 0; i < k; i++) {
    // each micro-batch's mean loss is scaled by 1/k so the sum is the big batch's mean
    gw_tensor *xs = gw_slice(x, 0, i * micro, (i + 1) * micro, 1);
    gw_tensor *ys = gw_contiguous(gw_view_slice(y, 0, i * micro, (i + 1) * micro, 1));
    gw_backward(gw_mul_scalar(mlp_loss(&acc, xs, ys), 1.0f / k));
  }
  for (int i = 0; i < big.nn.count; i++) {
    gw_tensor *a = acc.nn.items[i].tensor, *b = big.nn.items[i].tensor;
    cr_assert(a->grad && b->grad, "%s has no gradient", big.nn.items[i].name);
    // the same sums in a different order: equal up to float rounding
    gwt_assert_close(a->grad, b->grad, 1e-6, 1e-5, big.nn.items[i].name);
  }
  gw_nn_free(&big.nn);
  gw_nn_free(&acc.nn);
}

// ---- overfitting one batch ----

Test(training, overfits_one_batch) {
  gw_rng r = gwt_rng(11);
  gw_arena *p = gw_persistent_arena();
  gw_tensor *x = gw_empty_in(p, GW_F32, GW_SHAPE(16, 6));
  gw_rng_normal(&r, gw_f32(x), gw_numel(x), 0.0f, 1.0f);
  gw_tensor *y = gw_empty_in(p, GW_I32, GW_SHAPE(16));
  for (int i = 0; i < 16; i++) gw_i32(y)[i] = (int32_t)gw_rng_below(&r, 5);
  mlp_model m;
  mlp_model_init(&m, 5);
  gw_optim opt;
  gw_optim_init(&opt, &m.nn, (gw_optim_cfg){.kind = GW_ADAM, .lr = 1e-2f});
  float loss = INFINITY;
  int step;
  for (step = 0; step < 300 && loss > 0.01f; step++) {
    gw_nn_zero_grad(&m.nn);
    gw_tensor *l = mlp_loss(&m, x, y);
    loss = gw_item(l);
    gw_backward(l);
    gw_optim_step(&opt, 1.0f);
    gw_step_end();
  }
  cr_assert(loss <= 0.01f, "the loss on one batch is still %g after %d Adam steps (want <= 0.01)",
            loss, step);
  gw_optim_free(&opt);
  gw_nn_free(&m.nn);
}

// ---- a small CNN names the shape drawn in an image ----

enum { IMG = 24, SHAPES = 4 };

// Draws one filled shape (0 circle, 1 square, 2 triangle, 3 cross) of a random colour, size
// and place on a dark noisy background, into x (3, IMG, IMG).
static void draw_shape(gw_rng *r, int shape, float *x) {
  float color[3];
  for (int c = 0; c < 3; c++) color[c] = 0.4f + 0.6f * gw_rng_float(r);
  float size = 7.0f + 6.0f * gw_rng_float(r);  // side / diameter in pixels
  float cx = size / 2 + 1 + (IMG - size - 2) * gw_rng_float(r);
  float cy = size / 2 + 1 + (IMG - size - 2) * gw_rng_float(r);
  float h = size / 2;
  for (int i = 0; i < IMG; i++)
    for (int j = 0; j < IMG; j++) {
      float dy = (float)i + 0.5f - cy, dx = (float)j + 0.5f - cx;
      bool in = false;
      switch (shape) {
        case 0: in = dx * dx + dy * dy <= h * h; break;
        case 1: in = fabsf(dx) <= h && fabsf(dy) <= h; break;
        case 2: in = dy <= h && dy >= -h && fabsf(dx) <= (dy + h) / 2; break;  // apex up
        case 3: in = (fabsf(dx) <= h && fabsf(dy) <= h / 3) || (fabsf(dy) <= h && fabsf(dx) <= h / 3); break;
      }
      for (int c = 0; c < 3; c++)
        x[(c * IMG + i) * IMG + j] = (in ? color[c] : 0.1f) + 0.05f * (gw_rng_float(r) - 0.5f);
    }
}

static void make_shapes(gw_rng *r, int n, gw_tensor **x, gw_tensor **y) {
  gw_arena *p = gw_persistent_arena();
  *x = gw_empty_in(p, GW_F32, GW_SHAPE(n, 3, IMG, IMG));
  *y = gw_empty_in(p, GW_I32, GW_SHAPE(n));
  for (int i = 0; i < n; i++) {
    int s = (int)gw_rng_below(r, SHAPES);
    gw_i32(*y)[i] = s;
    draw_shape(r, s, gw_f32(*x) + (int64_t)i * 3 * IMG * IMG);
  }
}

typedef struct cnn_model {
  gw_nn nn;
  gw_conv_m c1, c2, c3;
  gw_batchnorm_m b1, b2, b3;
  gw_linear_m fc;
} cnn_model;

static gw_tensor *cnn_forward(cnn_model *m, gw_tensor *x) {
  x = gw_maxpool2d(gw_relu(gw_batchnorm_forward(&m->b1, gw_conv_forward(&m->c1, x))), 2, 2, 0);
  x = gw_maxpool2d(gw_relu(gw_batchnorm_forward(&m->b2, gw_conv_forward(&m->c2, x))), 2, 2, 0);
  x = gw_relu(gw_batchnorm_forward(&m->b3, gw_conv_forward(&m->c3, x)));
  return gw_linear_forward(&m->fc, gw_mean(x, 2, (int[]){2, 3}, false));
}

static float accuracy(const gw_tensor *logits, const gw_tensor *y) {
  gw_tensor *pred = gw_argmax(logits, 1, false);
  int64_t n = gw_numel(y), right = 0;
  for (int64_t i = 0; i < n; i++) right += gw_i32(pred)[i] == gw_i32(y)[i];
  return (float)right / (float)n;
}

Test(training, small_cnn_learns_shapes) {
  gw_rng r = gwt_rng(2024);
  gw_tensor *train_x, *train_y, *test_x, *test_y;
  make_shapes(&r, 2048, &train_x, &train_y);
  make_shapes(&r, 512, &test_x, &test_y);
  cnn_model m;
  gw_nn_init(&m.nn, 1);
  gw_conv_init(&m.c1, &m.nn, "c1", 3, 16, 3, 1, 1, 1, false);
  gw_batchnorm_init(&m.b1, &m.nn, "b1", 16, true);
  gw_conv_init(&m.c2, &m.nn, "c2", 16, 32, 3, 1, 1, 1, false);
  gw_batchnorm_init(&m.b2, &m.nn, "b2", 32, true);
  gw_conv_init(&m.c3, &m.nn, "c3", 32, 32, 3, 1, 1, 1, false);
  gw_batchnorm_init(&m.b3, &m.nn, "b3", 32, true);
  gw_linear_init(&m.fc, &m.nn, "fc", 32, SHAPES, true);
  gw_optim opt;
  gw_optim_init(&opt, &m.nn, (gw_optim_cfg){.kind = GW_ADAM, .lr = 3e-3f});
  const int batch = 32, epochs = 4, steps = 2048 / 32;
  gw_rng order = gw_rng_stream(9, "data");
  int32_t perm[2048];
  for (int e = 0; e < epochs; e++) {
    gw_rng_permutation(&order, perm, 2048);
    for (int s = 0; s < steps; s++) {
      gw_tensor *idx = gw_from_ints(perm + s * batch, batch, GW_SHAPE(batch));
      gw_tensor *xb = gw_index_select(train_x, 0, idx), *yb = gw_empty(GW_I32, GW_SHAPE(batch));
      for (int i = 0; i < batch; i++) gw_i32(yb)[i] = gw_i32(train_y)[perm[s * batch + i]];
      gw_nn_zero_grad(&m.nn);
      gw_backward(gw_cross_entropy(cnn_forward(&m, xb), yb, -100, 0.0f, GW_MEAN));
      gw_optim_step(&opt, 1.0f);
      gw_step_end();
    }
  }
  gw_nn_train(&m.nn, false);
  bool prev = gw_no_grad_begin();
  float acc = accuracy(cnn_forward(&m, test_x), test_y);
  gw_no_grad_end(prev);
  cr_log_info("small CNN: test accuracy %.3f after %d epochs", acc, epochs);
  cr_assert(acc >= 0.95f, "test accuracy %.3f after %d epochs (want >= 0.95)", acc, epochs);
  gw_optim_free(&opt);
  gw_nn_free(&m.nn);
}

// ---- a tiny transformer reverses sequences ----

enum { VOCAB = 10, SEQ = 8, DIM = 64 };

typedef struct seq_model {
  gw_nn nn;
  gw_embedding_m tok, pos;
  gw_encoder_layer layers[2];
  gw_linear_m head;
} seq_model;

static gw_tensor *seq_forward(seq_model *m, gw_tensor *ids) {
  int64_t B = ids->shape[0];
  gw_tensor *pos_ids = gw_empty(GW_I32, GW_SHAPE(B, SEQ));
  for (int64_t i = 0; i < B * SEQ; i++) gw_i32(pos_ids)[i] = (int32_t)(i % SEQ);
  gw_tensor *x = gw_add(gw_embedding_forward(&m->tok, ids), gw_embedding_forward(&m->pos, pos_ids));
  for (int l = 0; l < 2; l++) x = gw_encoder_layer_forward(&m->layers[l], x, NULL);
  return gw_linear_forward(&m->head, x);  // (B, SEQ, VOCAB)
}

static void make_reversal(gw_rng *r, int n, gw_tensor **x, gw_tensor **y) {
  *x = gw_empty(GW_I32, GW_SHAPE(n, SEQ));
  *y = gw_empty(GW_I32, GW_SHAPE(n, SEQ));
  for (int i = 0; i < n; i++)
    for (int t = 0; t < SEQ; t++) {
      int32_t v = (int32_t)gw_rng_below(r, VOCAB);
      gw_i32(*x)[i * SEQ + t] = v;
      gw_i32(*y)[i * SEQ + SEQ - 1 - t] = v;
    }
}

Test(training, tiny_transformer_learns_reversal) {
  seq_model m;
  gw_nn_init(&m.nn, 4);
  gw_embedding_init(&m.tok, &m.nn, "tok", VOCAB, DIM, -1);
  gw_embedding_init(&m.pos, &m.nn, "pos", SEQ, DIM, -1);
  for (int l = 0; l < 2; l++)
    gw_encoder_layer_init(&m.layers[l], &m.nn, gw_nn_name_i("", "layers", l), DIM, 4, 128, 0.0f,
                          GW_ACT_GELU, true);
  gw_linear_init(&m.head, &m.nn, "head", DIM, VOCAB, true);
  gw_optim opt;
  gw_optim_init(&opt, &m.nn, (gw_optim_cfg){.kind = GW_ADAMW, .lr = 2e-3f, .weight_decay = 0.01f});
  gw_rng r = gwt_rng(77);
  for (int step = 0; step < 600; step++) {
    gw_tensor *x, *y;
    make_reversal(&r, 64, &x, &y);
    gw_tensor *logits = gw_reshape(seq_forward(&m, x), GW_SHAPE(64 * SEQ, VOCAB));
    gw_nn_zero_grad(&m.nn);
    gw_backward(gw_cross_entropy(logits, gw_view_reshape(y, GW_SHAPE(64 * SEQ)), -100, 0.0f, GW_MEAN));
    gw_optim_step(&opt, 1.0f);
    gw_step_end();
  }
  gw_tensor *x, *y;
  make_reversal(&r, 512, &x, &y);
  bool prev = gw_no_grad_begin();
  gw_tensor *logits = gw_reshape(seq_forward(&m, x), GW_SHAPE(512 * SEQ, VOCAB));
  float acc = accuracy(logits, gw_view_reshape(y, GW_SHAPE(512 * SEQ)));
  gw_no_grad_end(prev);
  cr_log_info("tiny transformer: reversal token accuracy %.3f after 600 steps", acc);
  cr_assert(acc >= 0.95f, "token accuracy on reversal %.3f after 600 steps (want >= 0.95)", acc);
  gw_optim_free(&opt);
  gw_nn_free(&m.nn);
}
