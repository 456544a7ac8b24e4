// VT-CLIP (models/vtclip.c) on a tiny CLIP saved as a checkpoint: the frozen CLIP reads back
// exactly and stays frozen; alpha = 0 is zero-shot CLIP to the bit; the loss's gradient in
// the cross-attention matches finite differences; the trained head fits a few-shot set that
// zero-shot CLIP gets wrong.
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "models/clip.h"
#include "testutil.h"
#include "train/checkpoint.h"
#include "train/schema.h"

TestSuite(vtclip, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

extern const gw_model_ops gw_model_clip, gw_model_vtclip;

enum { S = 16, L = 6, K = 4, E = 8 };

static const char *CLIP_YAML = "model:\n  name: clip\n  width: 16\n  heads: 2\n  vision_layers: 1\n"
                               "  text_layers: 1\n  embed_dim: 8\n";
static const char *const WORDS[] = {"a", "picture", "of", "red", "blue", "green", "yellow", "shape"};

static void validated(gw_config *cfg, const char *yaml, const gw_model_ops *ops) {
  gw_config_init(cfg);
  cr_assert(gw_config_load_string(cfg, yaml, "test") == 0, "%s", gw_last_error());
  gw_cfg_schema schemas[3] = {gw_trainer_schema, gw_data_schema, ops->schema};
  cr_assert(gw_config_validate(cfg, schemas, 3) == 0, "%s", gw_last_error());
}

// A tiny CLIP with random weights saved as a checkpoint of the clip model at path; its
// registry stays open in *nn (for comparisons) and the model is returned.
static gw_clip *save_tiny_clip(const char *path, gw_nn *nn, gw_vocab *vocab) {
  gw_config cfg;
  validated(&cfg, CLIP_YAML, &gw_model_clip);
  gw_vocab_init(vocab);
  for (size_t i = 0; i < sizeof WORDS / sizeof *WORDS; i++) gw_vocab_add(vocab, WORDS[i]);
  gw_model_info info = {.image_size = S, .vocab_size = vocab->size, .max_len = L};
  gw_nn_init(nn, 3);
  gw_clip *m = gw_clip_create(nn, "", &cfg, &info);
  // Untrained, the class token's output is mostly the class token itself (the attention is
  // near uniform and small beside its residual), so every image would get about the same
  // feature. With the token and positions at 0 the feature is the attention's mean over the
  // image's tokens: a function of the image, as a trained CLIP's is.
  gw_init_constant(gw_nn_find(nn, "visual.class_token")->tensor, 0.0f);
  gw_init_constant(gw_nn_find(nn, "visual.pos")->tensor, 0.0f);
  char *yaml = gw_config_to_yaml(&cfg);
  gw_ckpt_meta meta = {.config_yaml = yaml, .model_name = "clip", .vocab = vocab, .info = &info};
  cr_assert(gw_ckpt_save(path, nn, NULL, NULL, NULL, &meta) == 0, "%s", gw_last_error());
  free(yaml);
  gw_config_free(&cfg);
  return m;
}

static void tmp_path(char *out, size_t n, const char *name) {
  snprintf(out, n, "/tmp/gwt-vtclip-%d-%s.h5", (int)getpid(), name);
}

Test(vtclip, frozen_clip_reads_back_exactly_and_stays_frozen) {
  char path[256];
  tmp_path(path, sizeof path, "clip");
  gw_nn nn;
  gw_vocab vocab;
  gw_clip *orig = save_tiny_clip(path, &nn, &vocab);
  gw_clip_frozen f;
  cr_assert(gw_clip_load_frozen(&f, path) == 0, "%s", gw_last_error());
  cr_assert(f.info.image_size == S && f.info.max_len == L && f.vocab.size == vocab.size,
            "info %d px, %d tokens, vocabulary %d", f.info.image_size, f.info.max_len, f.vocab.size);
  for (int i = 0; i < f.nn.count; i++)
    cr_assert(!f.nn.items[i].tensor->requires_grad, "%s is not frozen", f.nn.items[i].name);
  cr_assert(!f.nn.training, "the frozen CLIP is in training mode");
  gw_rng r = gwt_rng(4);
  gw_tensor *images = gwt_randn(&r, GW_SHAPE(2, 3, S, S));
  gw_tensor *a = gw_contiguous(gw_clip_encode_image(orig, images, NULL));
  gw_tensor *b = gw_contiguous(gw_clip_encode_image(f.clip, images, NULL));
  gwt_assert_same_bits(b, a, "image features after the round trip");
  const char *texts[2] = {"a picture of red", "blue shape"};
  a = gw_contiguous(gw_clip_encode_texts(orig, &vocab, L, 2, texts));
  b = gw_contiguous(gw_clip_encode_texts(f.clip, &f.vocab, L, 2, texts));
  gwt_assert_same_bits(b, a, "text features after the round trip");
  gw_clip_frozen_free(&f);
  gw_clip_destroy(orig);
  gw_nn_free(&nn);
  gw_vocab_free(&vocab);
  unlink(path);
}

Test(vtclip, a_checkpoint_of_another_model_is_refused) {
  char path[256];
  tmp_path(path, sizeof path, "other");
  gw_nn nn;
  gw_nn_init(&nn, 1);
  gw_linear_m fc;
  gw_linear_init(&fc, &nn, "fc", 2, 2, true);
  gw_ckpt_meta meta = {.model_name = "small_cnn", .config_yaml = "model:\n  name: small_cnn\n"};
  cr_assert(gw_ckpt_save(path, &nn, NULL, NULL, NULL, &meta) == 0, "%s", gw_last_error());
  gw_clip_frozen f;
  cr_assert(gw_clip_load_frozen(&f, path) == -1, "a small_cnn checkpoint was read as a CLIP");
  cr_assert(strstr(gw_last_error(), path) && strstr(gw_last_error(), "small_cnn"),
            "the message should name the file and its model: %s", gw_last_error());
  gw_nn_free(&nn);
  unlink(path);
}

// ---- the model, on a tiny few-shot batch ----

typedef struct fixture {
  char path[256];
  gw_nn clip_nn, nn;
  gw_vocab vocab;
  gw_clip *clip;
  void *model;
  gw_inputs in;
} fixture;

static const char *LABELS = "red\nblue\ngreen\nyellow\n";

static void fixture_open(fixture *x, const char *head_yaml) {
  tmp_path(x->path, sizeof x->path, "base");
  x->clip = save_tiny_clip(x->path, &x->clip_nn, &x->vocab);
  char yaml[1024];
  snprintf(yaml, sizeof yaml, "model:\n  name: vtclip\n  clip: %s\n  heads: 2\n%s"
           "data:\n  fewshot_task: sw-color\n", x->path, head_yaml);
  gw_config cfg;
  validated(&cfg, yaml, &gw_model_vtclip);
  gw_nn_init(&x->nn, 9);
  gw_model_info info = {.image_size = S, .n_classes = K, .labels = LABELS};
  x->model = gw_model_vtclip.create(&x->nn, &cfg, &info);
  gw_config_free(&cfg);
  // 8 images, two per class
  gw_rng r = gwt_rng(10);
  gw_arena *p = gw_persistent_arena();
  memset(&x->in, 0, sizeof x->in);
  x->in.n = 8;
  x->in.images = gw_empty_in(p, GW_F32, GW_SHAPE(8, 3, S, S));
  gw_rng_normal(&r, gw_f32(x->in.images), gw_numel(x->in.images), 0.0f, 1.0f);
  x->in.labels = gw_empty_in(p, GW_I32, GW_SHAPE(8));
  for (int i = 0; i < 8; i++) gw_i32(x->in.labels)[i] = i % K;
}

static void fixture_close(fixture *x) {
  gw_model_vtclip.destroy(x->model);
  gw_nn_free(&x->nn);
  gw_clip_destroy(x->clip);
  gw_nn_free(&x->clip_nn);
  gw_vocab_free(&x->vocab);
  unlink(x->path);
}

// Zero-shot CLIP's logits computed here: 100 cos(f, T_k) with the spec's sw-color prompts.
static gw_tensor *zero_shot_logits(fixture *x) {
  const char *prompts[K] = {"a picture of something red.", "a picture of something blue.",
                            "a picture of something green.", "a picture of something yellow."};
  gw_tensor *t = gw_l2_normalize(gw_clip_encode_texts(x->clip, &x->vocab, L, K, prompts), 1e-12f);
  gw_tensor *f = gw_l2_normalize(gw_clip_encode_image(x->clip, x->in.images, NULL), 1e-12f);
  return gw_contiguous(gw_mul_scalar(gw_matmul(f, gw_transpose(t, 0, 1)), 100.0f));
}

// The cross-entropy the model reports must be the one of these logits.
static double ce_of(const gw_tensor *logits, const gw_tensor *labels) {
  double sum = 0;
  for (int b = 0; b < 8; b++) {
    const float *z = gw_f32(logits) + b * K;
    double mx = z[0], s = 0;
    for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
    for (int k = 0; k < K; k++) s += exp(z[k] - mx);
    sum += mx + log(s) - z[gw_i32(labels)[b]];
  }
  return sum / 8;
}

Test(vtclip, alpha_zero_is_zero_shot_clip) {
  fixture x;
  fixture_open(&x, "  alpha: 0\n");
  // train the cross-attention away from its start: with alpha = 0 it must still not matter
  gw_init_normal(gw_nn_find(&x.nn, "cross_attn.out_proj.weight")->tensor, &x.nn.init, 0.0f, 1.0f);
  gw_loss_terms terms = {0};
  double got = gw_item(gw_model_vtclip.loss(x.model, &x.in, &terms));
  double want = ce_of(zero_shot_logits(&x), x.in.labels);
  cr_assert(fabs(got - want) < 1e-4 * fabs(want), "alpha 0: loss %.6f, zero-shot CLIP's %.6f", got, want);
  fixture_close(&x);
}

// With the output projection at its initial 0, T_v = 0 for any alpha: the model starts as
// zero-shot CLIP, and learns from there.
Test(vtclip, starts_as_zero_shot_clip) {
  fixture x;
  fixture_open(&x, "  alpha: 2\n");
  gw_loss_terms terms = {0};
  double got = gw_item(gw_model_vtclip.loss(x.model, &x.in, &terms));
  double want = ce_of(zero_shot_logits(&x), x.in.labels);
  cr_assert(fabs(got - want) < 1e-4 * fabs(want), "at the start: loss %.6f, zero-shot CLIP's %.6f", got, want);
  fixture_close(&x);
}

typedef struct grad_ctx {
  fixture *x;
} grad_ctx;

static gw_tensor *f_loss(gw_tensor *const *inputs, void *c) {
  grad_ctx *g = c;
  gw_loss_terms terms = {0};
  return gw_model_vtclip.loss(g->x->model, &g->x->in, &terms);
}

// Every trainable tensor of the cross-attention (and the FFN) against central differences;
// logit_scale 10 keeps the cross-entropy away from saturation, so the check sees real slopes.
Test(vtclip, loss_gradient_matches_finite_differences) {
  fixture x;
  fixture_open(&x, "  alpha: 0.7\n  ffn: 6\n  logit_scale: 10\n");
  gw_init_normal(gw_nn_find(&x.nn, "cross_attn.out_proj.weight")->tensor, &x.nn.init, 0.0f, 0.5f);
  gw_tensor *params[32];
  int n = 0;
  for (int i = 0; i < x.nn.count; i++)
    if (x.nn.items[i].tensor->requires_grad) params[n++] = x.nn.items[i].tensor;
  cr_assert(n == 14, "the cross-attention (8 tensors) and the FFN (6) should be trained: %d tensors", n);
  grad_ctx c = {&x};
  gwt_gradcheck("vtclip loss", f_loss, &c, n, params, 1e-2, 2e-3, 2e-2);
  fixture_close(&x);
}

// Each head fits the 8 shots (loss below 0.05 and every shot right); zero-shot CLIP with
// random weights gets some shots wrong, so the head has learnt them.
static void fits_the_shots(const char *head_yaml, const char *first_param, float lr, int steps) {
  fixture x;
  fixture_open(&x, head_yaml);
  cr_assert(gw_nn_find(&x.nn, first_param), "%s: no parameter %s", head_yaml, first_param);
  gw_tensor *zs = zero_shot_logits(&x);
  int zs_right = 0;
  for (int b = 0; b < 8; b++) {
    int best = 0;
    for (int k = 1; k < K; k++) best = gw_f32(zs)[b * K + k] > gw_f32(zs)[b * K + best] ? k : best;
    zs_right += best == gw_i32(x.in.labels)[b];
  }
  cr_assert(zs_right < 8, "zero-shot CLIP with random weights already gets every shot right");
  gw_optim opt;
  gw_optim_init(&opt, &x.nn, (gw_optim_cfg){.kind = GW_ADAMW, .lr = lr});
  float loss = INFINITY;
  int step;
  for (step = 0; step < steps && loss > 0.05f; step++) {
    gw_nn_zero_grad(&x.nn);
    gw_loss_terms terms = {0};
    gw_tensor *l = gw_model_vtclip.loss(x.model, &x.in, &terms);
    loss = gw_item(l);
    gw_backward(l);
    gw_optim_step(&opt, 1.0f);
    gw_step_end();
  }
  cr_assert(loss <= 0.05f, "%s: the loss on 8 shots is still %g after %d steps", head_yaml, loss, step);
  int label[8];
  gw_outputs out = {.label = label};
  gw_model_vtclip.predict(x.model, &x.in, &out);
  for (int b = 0; b < 8; b++)
    cr_assert(label[b] == gw_i32(x.in.labels)[b], "%s: shot %d is called %d, it is %d", head_yaml, b, label[b],
              gw_i32(x.in.labels)[b]);
  gw_optim_free(&opt);
  fixture_close(&x);
}

Test(vtclip, vtclip_head_fits_the_shots) { fits_the_shots("  alpha: 1\n", "cross_attn.q_proj.weight", 1e-2f, 300); }
Test(vtclip, adapter_fits_the_shots) { fits_the_shots("  head: adapter\n  adapter_ratio: 0.6\n  adapter_reduction: 1\n", "adapter.fc1.weight", 1e-3f, 2000); }
Test(vtclip, linear_probe_fits_the_shots) { fits_the_shots("  head: linear_probe\n", "probe.weight", 1e-2f, 2000); }
