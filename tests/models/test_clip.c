// The tiny CLIP (models/clip.c): shapes of its outputs, padding that changes nothing, the
// gradient of its loss against finite differences, and a small caption batch it overfits.
#include <math.h>
#include <string.h>

#include "models/clip.h"
#include "testutil.h"

TestSuite(clip, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

enum { S = 16, L = 6, VOCAB = 20 };

// A validated config of the clip schema from YAML (model.* keys only).
static void tiny_config(gw_config *cfg, const char *yaml) {
  gw_config_init(cfg);
  cr_assert(gw_config_load_string(cfg, yaml, "test") == 0, "%s", gw_last_error());
  extern const gw_model_ops gw_model_clip;
  cr_assert(gw_config_validate(cfg, &gw_model_clip.schema, 1) == 0, "%s", gw_last_error());
}

static const char *TINY = "model:\n  name: clip\n  width: 16\n  heads: 2\n  vision_layers: 1\n"
                          "  text_layers: 1\n  embed_dim: 8\n";

static gw_clip *tiny_clip(gw_nn *nn, const char *yaml, uint64_t seed) {
  gw_config cfg;
  tiny_config(&cfg, yaml);
  gw_nn_init(nn, seed);
  gw_model_info info = {.image_size = S, .vocab_size = VOCAB, .max_len = L};
  gw_clip *m = gw_clip_create(nn, "", &cfg, &info);
  gw_config_free(&cfg);
  return m;
}

// B random images and captions: caption i has length 2 + i % (L - 2), distinct words.
static void random_batch(gw_rng *r, int B, gw_inputs *in, gw_arena *arena) {
  memset(in, 0, sizeof *in);
  in->n = B;
  in->images = gw_empty_in(arena, GW_F32, GW_SHAPE(B, 3, S, S));
  gw_rng_normal(r, gw_f32(in->images), gw_numel(in->images), 0.0f, 0.3f);
  in->tokens = gw_zeros_in(arena, GW_I32, GW_SHAPE(B, L));
  in->keep = gw_zeros_in(arena, GW_I32, GW_SHAPE(B, L));
  in->lengths = gw_empty_in(arena, GW_I32, GW_SHAPE(B));
  for (int b = 0; b < B; b++) {
    int len = 2 + b % (L - 2);
    gw_i32(in->lengths)[b] = len;
    for (int k = 0; k < len; k++) {
      gw_i32(in->tokens)[b * L + k] = 1 + (int32_t)gw_rng_below(r, VOCAB - 1);
      gw_i32(in->keep)[b * L + k] = 1;
    }
  }
}

Test(clip, shapes_of_the_encoders) {
  const char *encoders[2] = {"vit", "cnn"};
  for (int e = 0; e < 2; e++) {
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s  image_encoder: %s\n  cnn_channels: [4, 8, 8]\n", TINY, encoders[e]);
    gw_nn nn;
    gw_clip *m = tiny_clip(&nn, yaml, 1);
    gw_rng r = gwt_rng(3);
    gw_inputs in;
    random_batch(&r, 3, &in, gw_arena_current());
    gw_tensor *dense;
    gw_tensor *g = gw_clip_encode_image(m, in.images, &dense);
    gw_tensor *t = gw_clip_encode_text(m, in.tokens, in.keep);
    cr_assert(g->ndim == 2 && g->shape[0] == 3 && g->shape[1] == 8, "%s: global %s", encoders[e], gw_shape_str(g));
    // 16 px / 8 = 2 x 2 tokens
    cr_assert(dense->ndim == 3 && dense->shape[0] == 3 && dense->shape[1] == 4 && dense->shape[2] == 8,
              "%s: dense %s", encoders[e], gw_shape_str(dense));
    cr_assert(t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 8, "%s: text %s", encoders[e], gw_shape_str(t));
    gw_clip_destroy(m);
    gw_nn_free(&nn);
  }
}

// The padding is masked out of the attention and the mean: what stands in the padded slots
// and how long the padding is change nothing.
Test(clip, padding_changes_nothing) {
  gw_nn nn;
  gw_clip *m = tiny_clip(&nn, TINY, 2);
  int32_t ids[3] = {4, 9, 2};
  gw_tensor *tok = gw_zeros(GW_I32, GW_SHAPE(2, L)), *keep = gw_zeros(GW_I32, GW_SHAPE(2, L));
  for (int k = 0; k < 3; k++) {
    gw_i32(tok)[k] = gw_i32(tok)[L + k] = ids[k];
    gw_i32(keep)[k] = gw_i32(keep)[L + k] = 1;
  }
  for (int k = 3; k < L; k++) gw_i32(tok)[L + k] = 7;  // junk in the second row's padding
  gw_tensor *t = gw_contiguous(gw_clip_encode_text(m, tok, keep));
  gwt_assert_close_buf(gw_f32(t) + 8, gw_f32(t), 8, 1e-6, 1e-6, "junk in the padding");
  gw_tensor *short_tok = gw_contiguous(gw_slice(tok, 1, 0, 4, 1)), *short_keep = gw_contiguous(gw_view_slice(keep, 1, 0, 4, 1));
  gw_tensor *ts = gw_contiguous(gw_clip_encode_text(m, short_tok, short_keep));
  gwt_assert_close_buf(gw_f32(ts), gw_f32(t), 8, 1e-6, 1e-5, "a shorter padding");
  gw_clip_destroy(m);
  gw_nn_free(&nn);
}

typedef struct grad_ctx {
  gw_clip *m;
  gw_inputs *in;
} grad_ctx;

extern const gw_model_ops gw_model_clip;

static gw_tensor *f_loss(gw_tensor *const *inputs, void *c) {
  grad_ctx *g = c;
  gw_loss_terms terms = {0};
  return gw_model_clip.loss(g->m, g->in, &terms);
}

// The InfoNCE loss of the whole model against central differences, for parameters of every
// part: patch embedding, class token, positions, attention and FFN of each tower, the word
// embeddings, the final norm, both projections and the logit scale. The embeddings start at
// N(0, 0.02) and a layer norm follows them, so a step of 1e-2 would be half their size: the
// step is 1e-3 (the loss's float32 rounding stays far below the tolerance).
Test(clip, loss_gradient_matches_finite_differences) {
  gw_nn nn;
  gw_clip *m = tiny_clip(&nn, TINY, 5);
  gw_rng r = gwt_rng(6);
  gw_inputs in;
  random_batch(&r, 4, &in, gw_persistent_arena());
  const char *names[] = {"visual.patch.proj.bias", "visual.class_token", "visual.pos",
                         "visual.layers.0.self_attn.q_proj.weight", "visual.layers.0.linear2.bias",
                         "visual.proj.weight", "text.words.weight", "text.pos",
                         "text.layers.0.self_attn.v_proj.weight", "text.layers.0.linear1.bias",
                         "text.ln_final.weight", "text.proj.weight", "logit_scale"};
  enum { N = sizeof names / sizeof names[0] };
  gw_tensor *params[N];
  for (int i = 0; i < N; i++) {
    gw_named *p = gw_nn_find(&nn, names[i]);
    cr_assert(p, "no parameter %s", names[i]);
    params[i] = p->tensor;
  }
  grad_ctx c = {m, &in};
  gwt_gradcheck("clip loss", f_loss, &c, N, params, 1e-3, 2e-3, 1e-2);
  gw_clip_destroy(m);
  gw_nn_free(&nn);
}

// Eight random images with eight random captions: the model learns to pair them, InfoNCE
// near 0 and every image and caption retrieving its partner first.
Test(clip, overfits_a_small_caption_batch) {
  gw_nn nn;
  gw_clip *m = tiny_clip(&nn, TINY, 7);
  gw_rng r = gwt_rng(8);
  gw_inputs in;
  enum { B = 8 };
  random_batch(&r, B, &in, gw_persistent_arena());
  gw_optim opt;
  gw_optim_init(&opt, &nn, (gw_optim_cfg){.kind = GW_ADAM, .lr = 3e-3f});
  float loss = INFINITY, first = 0;
  int step;
  for (step = 0; step < 400 && loss > 0.02f; step++) {
    gw_nn_zero_grad(&nn);
    gw_loss_terms terms = {0};
    gw_tensor *l = gw_model_clip.loss(m, &in, &terms);
    loss = gw_item(l);
    if (step == 0) first = loss;
    gw_backward(l);
    gw_optim_step(&opt, 1.0f);
    gw_step_end();
  }
  cr_assert(fabsf(first - logf(B)) < 0.2f, "the first loss %g should be near log 8 = %g", first, logf(B));
  cr_assert(loss <= 0.02f, "InfoNCE on 8 pairs is still %g after %d Adam steps (want <= 0.02)", loss, step);
  gw_outputs out = {0};
  gw_model_clip.predict(m, &in, &out);
  cr_assert(out.dim == 8, "embedding size %d", out.dim);
  for (int i = 0; i < B; i++) {
    int best_t = 0, best_i = 0;
    float st = -2, si = -2;
    for (int j = 0; j < B; j++) {
      float a = 0, b = 0;
      for (int k = 0; k < 8; k++) {
        a += out.image_emb[i * 8 + k] * out.text_emb[j * 8 + k];
        b += out.text_emb[i * 8 + k] * out.image_emb[j * 8 + k];
      }
      if (a > st) st = a, best_t = j;
      if (b > si) si = b, best_i = j;
    }
    cr_assert(best_t == i && best_i == i, "pair %d: image -> caption %d, caption -> image %d", i, best_t, best_i);
  }
  gw_optim_free(&opt);
  gw_clip_destroy(m);
  gw_nn_free(&nn);
}
