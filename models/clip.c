// The tiny CLIP (see clip.h): two encoders into one joint space, trained with the symmetric
// InfoNCE on caption batches (task CAPTION: a sample is one caption and its image).
#include "models/clip.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/init.h"
#include "nn/state.h"

enum { MAX_LAYERS = 12, CNN_STAGES = 3 };

static const gw_cfg_key KEYS[] = {
    {"model.name", GW_CFG_STRING, "clip", 1, 0, NULL, "the model (see `gw train --list-models`)"},
    {"model.image_encoder", GW_CFG_ENUM, "vit", 1, 0, "vit|cnn",
     "vit: patch embedding (patch 8); cnn: three stride-2 ResNet stages down to S/8"},
    {"model.cnn_channels", GW_CFG_INT_LIST, "16,32,64", 1, 1024, NULL, "cnn: channels of the three stages"},
    {"model.width", GW_CFG_INT, "64", 4, 4096, NULL, "token width of both transformers"},
    {"model.heads", GW_CFG_INT, "4", 1, 64, NULL, "attention heads of both transformers"},
    {"model.vision_layers", GW_CFG_INT, "2", 0, MAX_LAYERS, NULL, "transformer layers over the image tokens"},
    {"model.text_layers", GW_CFG_INT, "2", 1, MAX_LAYERS, NULL, "transformer layers over the words"},
    {"model.embed_dim", GW_CFG_INT, "64", 1, 4096, NULL, "size E of the joint space"},
    {"model.dropout", GW_CFG_FLOAT, "0", 0, 0.9, NULL, "dropout in the transformers"},
    {"model.init_temperature", GW_CFG_FLOAT, "0.07", 0.001, 1, NULL,
     "starting temperature of the InfoNCE logits (the logit scale log(1/t) is learnt)"},
};

struct gw_clip {
  gw_nn *nn;
  int64_t width, embed;
  // image
  bool vit;
  gw_patch_embed patch;
  gw_backbone cnn;
  gw_linear_m cnn_to_tokens;
  gw_tensor *class_token, *image_pos;  // (W), (1 + N, W)
  gw_layernorm_m ln_pre, ln_post;
  int n_vision;
  gw_encoder_layer vision[MAX_LAYERS];
  gw_linear_m visual_proj;
  // text
  gw_embedding_m words;
  gw_tensor *text_pos;  // (L, W)
  int n_text;
  gw_encoder_layer text[MAX_LAYERS];
  gw_layernorm_m ln_final;
  gw_linear_m text_proj;
  gw_tensor *logit_scale;  // () log of the InfoNCE scale
};

int64_t gw_clip_embed_dim(const gw_clip *m) { return m->embed; }

gw_clip *gw_clip_create(gw_nn *nn, const char *prefix, const gw_config *cfg, const gw_model_info *info) {
  gw_clip *m = calloc(1, sizeof *m);
  m->nn = nn;
  int64_t W = gw_cfg_int(cfg, "model.width"), heads = gw_cfg_int(cfg, "model.heads");
  m->width = W;
  m->embed = gw_cfg_int(cfg, "model.embed_dim");
  float drop = (float)gw_cfg_float(cfg, "model.dropout");
  GW_CHECK(W % heads == 0, "clip: model.width %lld does not divide into model.heads %lld",
           (long long)W, (long long)heads);
  GW_CHECK(info->image_size % 8 == 0 && info->max_len > 0,
           "clip: the images (%d px) must divide into 8 x 8 tokens and the text must have a "
           "length (max_len %d)", info->image_size, info->max_len);
  int64_t side = info->image_size / 8, N = side * side;
  const char *visual = gw_nn_name(prefix, "visual"), *text = gw_nn_name(prefix, "text");
  float scale = 1.0f / sqrtf((float)W);  // CLIP's init of the class token and positions
  // image tokens
  m->vit = !strcmp(gw_cfg_str(cfg, "model.image_encoder"), "vit");
  if (m->vit) {
    gw_patch_embed_init(&m->patch, nn, gw_nn_name(visual, "patch"), 3, W, info->image_size / side);
  } else {
    int64_t ch[CNN_STAGES];
    int n = gw_cfg_ints(cfg, "model.cnn_channels", ch, CNN_STAGES);
    GW_CHECK(n == CNN_STAGES, "clip: model.cnn_channels needs %d stages, got %d", CNN_STAGES, n);
    gw_backbone_cfg bc = {.in_ch = 3, .stem_ch = ch[0], .stem_stride = 2, .n_stages = CNN_STAGES,
                          .channels = {ch[0], ch[1], ch[2]}, .blocks = {1, 1, 1}, .strides = {1, 2, 2}};
    gw_backbone_init(&m->cnn, nn, gw_nn_name(visual, "cnn"), &bc);
    gw_linear_init(&m->cnn_to_tokens, nn, gw_nn_name(visual, "cnn_to_tokens"), ch[2], W, true);
  }
  m->class_token = gw_nn_param(nn, visual, "class_token", GW_SHAPE(W), true);
  gw_init_normal(m->class_token, &nn->init, 0.0f, scale);
  m->image_pos = gw_nn_param(nn, visual, "pos", GW_SHAPE(1 + N, W), true);
  gw_init_normal(m->image_pos, &nn->init, 0.0f, scale);
  gw_layernorm_init(&m->ln_pre, nn, gw_nn_name(visual, "ln_pre"), W, true);
  m->n_vision = (int)gw_cfg_int(cfg, "model.vision_layers");
  for (int i = 0; i < m->n_vision; i++)
    gw_encoder_layer_init(&m->vision[i], nn, gw_nn_name_i(visual, "layers", i), W, heads, 4 * W,
                          drop, GW_ACT_GELU, true);
  gw_layernorm_init(&m->ln_post, nn, gw_nn_name(visual, "ln_post"), W, true);
  gw_linear_init(&m->visual_proj, nn, gw_nn_name(visual, "proj"), W, m->embed, false);
  // text
  gw_embedding_init(&m->words, nn, gw_nn_name(text, "words"), info->vocab_size, W, 0);
  gw_init_normal(m->words.weight, &nn->init, 0.0f, 0.02f);  // CLIP's token embedding init
  memset(gw_f32(m->words.weight), 0, (size_t)W * sizeof(float));  // the padding row stays 0
  m->text_pos = gw_nn_param(nn, text, "pos", GW_SHAPE(info->max_len, W), true);
  gw_init_normal(m->text_pos, &nn->init, 0.0f, 0.01f);
  m->n_text = (int)gw_cfg_int(cfg, "model.text_layers");
  for (int i = 0; i < m->n_text; i++)
    gw_encoder_layer_init(&m->text[i], nn, gw_nn_name_i(text, "layers", i), W, heads, 4 * W, drop,
                          GW_ACT_GELU, true);
  gw_layernorm_init(&m->ln_final, nn, gw_nn_name(text, "ln_final"), W, true);
  gw_linear_init(&m->text_proj, nn, gw_nn_name(text, "proj"), W, m->embed, false);
  m->logit_scale = gw_nn_param(nn, prefix, "logit_scale", 0, NULL, true);
  gw_init_constant(m->logit_scale, logf(1.0f / (float)gw_cfg_float(cfg, "model.init_temperature")));
  return m;
}

void gw_clip_destroy(gw_clip *m) { free(m); }

gw_tensor *gw_clip_encode_image(gw_clip *m, gw_tensor *images, gw_tensor **dense) {
  gw_tensor *x;  // (B, N, W)
  if (m->vit) {
    x = gw_patch_embed_forward(&m->patch, images);
  } else {
    gw_tensor *f = gw_backbone_forward(&m->cnn, images);  // (B, C, S/8, S/8)
    x = gw_linear_forward(&m->cnn_to_tokens, gw_transpose(gw_flatten(f, 2, 3), 1, 2));
  }
  int64_t B = x->shape[0], N = x->shape[1], W = m->width;
  GW_CHECK(N + 1 == m->image_pos->shape[0], "clip: the image gives %lld tokens, the model was "
           "built for %lld (another image size?)", (long long)N, (long long)(m->image_pos->shape[0] - 1));
  gw_tensor *cls = gw_expand(gw_reshape(m->class_token, GW_SHAPE(1, 1, W)), 3, (int64_t[]){B, 1, W});
  x = gw_add(gw_concat(2, (gw_tensor *[]){cls, x}, 1), m->image_pos);  // (B, 1 + N, W)
  x = gw_layernorm_forward(&m->ln_pre, x);
  for (int i = 0; i < m->n_vision; i++) x = gw_encoder_layer_forward(&m->vision[i], x, NULL);
  x = gw_linear_forward(&m->visual_proj, gw_layernorm_forward(&m->ln_post, x));  // (B, 1 + N, E)
  if (dense) *dense = gw_slice(x, 1, 1, N + 1, 1);
  return gw_reshape(gw_slice(x, 1, 0, 1, 1), GW_SHAPE(B, m->embed));
}

gw_tensor *gw_clip_encode_text(gw_clip *m, const gw_tensor *tokens, const gw_tensor *keep) {
  int64_t B = tokens->shape[0], L = tokens->shape[1];
  GW_CHECK(L <= m->text_pos->shape[0], "clip: texts of %lld tokens, the model was built for at "
           "most %lld", (long long)L, (long long)m->text_pos->shape[0]);
  gw_tensor *x = gw_add(gw_embedding_forward(&m->words, tokens), gw_slice(m->text_pos, 0, 0, L, 1));
  for (int i = 0; i < m->n_text; i++) x = gw_encoder_layer_forward(&m->text[i], x, keep);
  x = gw_layernorm_forward(&m->ln_final, x);
  // the mean of the real words (the padding is masked out of the attention and of the mean)
  gw_tensor *w = gw_empty(GW_F32, GW_SHAPE(B, 1, L));
  for (int64_t b = 0; b < B; b++) {
    int n = 0;
    for (int64_t l = 0; l < L; l++) n += gw_i32(keep)[b * L + l] != 0;
    for (int64_t l = 0; l < L; l++) gw_f32(w)[b * L + l] = gw_i32(keep)[b * L + l] && n ? 1.0f / (float)n : 0.0f;
  }
  gw_tensor *pooled = gw_reshape(gw_matmul(w, x), GW_SHAPE(B, m->width));
  return gw_linear_forward(&m->text_proj, pooled);
}

gw_tensor *gw_clip_encode_texts(gw_clip *m, const gw_vocab *v, int max_len, int n,
                                const char *const *texts) {
  gw_tensor *tokens = gw_zeros(GW_I32, GW_SHAPE(n, max_len));
  gw_tensor *keep = gw_zeros(GW_I32, GW_SHAPE(n, max_len));
  for (int i = 0; i < n; i++) {
    int len = gw_vocab_encode(v, texts[i], gw_i32(tokens) + (int64_t)i * max_len, max_len);
    GW_CHECK(len > 0, "clip: the text \"%s\" has no word", texts[i]);
    for (int k = 0; k < len; k++) gw_i32(keep)[(int64_t)i * max_len + k] = 1;
  }
  return gw_clip_encode_text(m, tokens, keep);
}

// ---- the model of `gw train configs/clip.yaml` ----

static void *create(gw_nn *nn, const gw_config *cfg, const gw_model_info *info) {
  return gw_clip_create(nn, "", cfg, info);
}

static gw_tensor *loss(void *model, const gw_inputs *in, gw_loss_terms *terms) {
  gw_clip *m = model;
  gw_tensor *img = gw_clip_encode_image(m, in->images, NULL);
  gw_tensor *txt = gw_clip_encode_text(m, in->tokens, in->keep);
  gw_tensor *l = gw_infonce(img, txt, m->logit_scale, NULL);
  gw_terms_add(terms, "infonce", l);
  return l;
}

// Retrieval: the L2-normalised embeddings of each sample's image and caption.
static void predict(void *model, const gw_inputs *in, gw_outputs *out) {
  gw_clip *m = model;
  gw_tensor *img = gw_contiguous(gw_l2_normalize(gw_clip_encode_image(m, in->images, NULL), 1e-12f));
  gw_tensor *txt = gw_contiguous(gw_l2_normalize(gw_clip_encode_text(m, in->tokens, in->keep), 1e-12f));
  out->image_emb = gw_f32(img);
  out->text_emb = gw_f32(txt);
  out->dim = (int)m->embed;
}

static void destroy(void *model) { gw_clip_destroy(model); }

const gw_model_ops gw_model_clip = {
    .name = "clip",
    .help = "a tiny CLIP (ViT or CNN image encoder, transformer text encoder) trained with "
            "the symmetric InfoNCE on captions",
    .task = GW_TASK_CAPTION,
    .schema = {"model clip", KEYS, sizeof KEYS / sizeof KEYS[0]},
    .create = create,
    .loss = loss,
    .predict = predict,
    .destroy = destroy,
};

// ---- a frozen CLIP from a checkpoint ----

int gw_clip_load_frozen(gw_clip_frozen *f, const char *ckpt_path) {
  memset(f, 0, sizeof *f);
  gw_h5 *h = gw_h5_open(ckpt_path);
  if (!h) return -1;
  char *model = gw_h5_get_attr_str(h, "", "model"), *yaml = gw_h5_get_attr_str(h, "", "config");
  char *vocab = gw_h5_get_attr_str(h, "", "vocab");
  int64_t size = 0, vocab_size = 0, max_len = 0;
  int rc = -1;
  if (!model || strcmp(model, "clip") || !yaml || !vocab) {
    gw_set_error("%s is not a checkpoint of the clip model (it is %s%s). HINT: train one with "
                 "`gw train configs/clip.yaml`", ckpt_path, model ? "a model " : "no model checkpoint",
                 model ? model : "");
    goto done;
  }
  if (gw_h5_get_attr_i64(h, "", "image_size", &size) < 0 ||
      gw_h5_get_attr_i64(h, "", "vocab_size", &vocab_size) < 0 ||
      gw_h5_get_attr_i64(h, "", "max_len", &max_len) < 0)
    goto done;
  gw_config cfg;
  gw_config_init(&cfg);
  if (gw_config_load_string(&cfg, yaml, ckpt_path) < 0) {
    gw_config_free(&cfg);
    goto done;
  }
  gw_vocab_from_lines(&f->vocab, vocab);
  f->info = (gw_model_info){.image_size = (int)size, .vocab_size = (int)vocab_size, .max_len = (int)max_len};
  gw_nn_init(&f->nn, 0);
  f->clip = gw_clip_create(&f->nn, "", &cfg, &f->info);
  gw_config_free(&cfg);
  // the EMA weights when the run kept them (they are the ones its evaluation used)
  const char *group = gw_h5_exists(h, "ema") ? "ema" : "params";
  if (gw_nn_load(&f->nn, h, group, (gw_load_opts){.strict = true}) < 0) goto done;
  gw_nn_freeze(&f->nn, "", true);
  gw_nn_train(&f->nn, false);
  rc = 0;
done:
  gw_h5_close(h);
  free(model);
  free(yaml);
  free(vocab);
  if (rc < 0) gw_clip_frozen_free(f);
  return rc;
}

void gw_clip_frozen_free(gw_clip_frozen *f) {
  if (f->clip) {
    gw_clip_destroy(f->clip);
    gw_nn_free(&f->nn);
  }
  if (f->vocab.words) gw_vocab_free(&f->vocab);
  memset(f, 0, sizeof *f);
}
