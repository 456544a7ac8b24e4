// VT-CLIP (Qiu et al., "VT-CLIP: Enhancing Vision-Language Models with Visual-guided Texts"):
// few-shot classification with a frozen CLIP whose class texts look at the image before they
// are compared with it. shared/papers.md §6 has the method; this is its smallest faithful form.
//
//   frozen CLIP (models/clip.h, from model.clip):
//     class prompts ("a picture of a circle shape.") -> T (K, E), once
//     image -> global feature f (B, E) and dense tokens V (B, N, E)
//   trained: one cross-attention layer, the class texts as queries, the image's tokens as
//            keys and values (model.kv = global: f alone, the ablation's baseline):
//     T_v = MHA(T, V, V)  [+ FFN(LN(T_v)) with model.ffn > 0]      (B, K, E)
//     T'  = T + alpha * T_v                                          (the residual ratio)
//     logits = scale * cos(f, T'_k)  (scale fixed, CLIP's 100);  cross-entropy on the k shots
//   T, V and f are L2-normalised before the attention (they are what CLIP compares). The
//   attention's output projection starts at 0, so training starts from zero-shot CLIP; with
//   alpha = 0 the model *is* zero-shot CLIP.
//
// The baselines of the paper's comparison are the same frozen CLIP with another head
// (model.head):
//   linear_probe  logits = W f / |f| + b (CoOp's linear probe, trained by the same optimizer)
//   adapter       CLIP-Adapter: f' = r A(f) + (1 - r) f, A = ReLU(W2 ReLU(W1 f)) with a
//                 bottleneck of E / model.adapter_reduction; logits = scale * cos(f', T_k)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/sw_text.h"
#include "models/clip.h"
#include "models/probe.h"
#include "nn/init.h"

static const gw_cfg_key KEYS[] = {
    {"model.name", GW_CFG_STRING, "vtclip", 1, 0, NULL, "the model (see `gw train --list-models`)"},
    {"model.clip", GW_CFG_STRING, NULL, 1, 0, NULL,
     "the trained CLIP: a checkpoint of `gw train configs/clip.yaml` (kept frozen)"},
    {"model.head", GW_CFG_ENUM, "vtclip", 1, 0, "vtclip|adapter|linear_probe",
     "what is trained on the frozen CLIP: visual-guided texts, a CLIP-Adapter, a linear probe"},
    {"model.alpha", GW_CFG_FLOAT, "1", 0, 100, NULL, "vtclip: residual ratio, T' = T + alpha T_v (0: zero-shot CLIP)"},
    {"model.heads", GW_CFG_INT, "4", 1, 64, NULL, "vtclip: heads of the cross-attention"},
    {"model.ffn", GW_CFG_INT, "0", 0, 4096, NULL, "vtclip: hidden size of an FFN after the cross-attention (0: none)"},
    {"model.kv", GW_CFG_ENUM, "dense", 1, 0, "dense|global",
     "vtclip: keys and values are the image's dense tokens, or its global feature only"},
    {"model.logit_scale", GW_CFG_FLOAT, "100", 1, 1000, NULL, "fixed scale of the cosine logits (CLIP's 100)"},
    {"model.prompt", GW_CFG_STRING, "", 1, 0, NULL,
     "prompt template, {} for the class name (empty: the spec's template of data.fewshot_task)"},
    {"model.adapter_ratio", GW_CFG_FLOAT, "0.2", 0, 1, NULL, "adapter: residual ratio r of the adapted feature"},
    {"model.adapter_reduction", GW_CFG_INT, "4", 1, 64, NULL, "adapter: bottleneck = E / this"},
};

enum { HEAD_VTCLIP, HEAD_ADAPTER, HEAD_PROBE };

typedef struct vtclip {
  gw_nn *nn;
  gw_clip_frozen clip;
  int head;
  int64_t K, E;
  gw_tensor *text;  // (K, E) the class prompts' features, L2-normalised (persistent)
  float alpha, scale, ratio;
  bool dense;
  gw_mha attn;
  bool has_ffn;
  gw_layernorm_m ffn_norm;
  gw_linear_m ff1, ff2;
  gw_linear_m adapt1, adapt2;  // adapter (no biases, as CLIP-Adapter)
  gw_linear_m probe;
} vtclip;

static int head_of(const char *name) {
  return !strcmp(name, "adapter") ? HEAD_ADAPTER : !strcmp(name, "linear_probe") ? HEAD_PROBE : HEAD_VTCLIP;
}

// The prompt of class k: the template with "{}" (or the spec's "%s") replaced by the name.
static void prompt_of(const char *tmpl, const char *name, char *out, size_t n) {
  const char *at = strstr(tmpl, "{}");
  if (!at) at = strstr(tmpl, "%s");
  GW_CHECK(at, "vtclip: model.prompt '%s' has no {} for the class name", tmpl);
  snprintf(out, n, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 2);
}

// The class prompts' features (K, E), normalised, computed once by the frozen CLIP.
static gw_tensor *class_text_features(vtclip *m, const gw_config *cfg, const gw_model_info *info) {
  const char *tmpl = gw_cfg_str(cfg, "model.prompt");
  if (!tmpl[0]) {
    const char *task = gw_cfg_str(cfg, "data.fewshot_task");
    for (int t = 0; t < SW_N_FS_TASKS; t++)
      if (!strcmp(task, sw_fewshot_task_names[t])) tmpl = sw_fewshot_templates[t];
    GW_CHECK(tmpl[0], "vtclip: no prompt template for data.fewshot_task '%s': set model.prompt", task);
  }
  GW_CHECK(info->labels, "vtclip: the class names of the data set are unknown (the few-shot split "
           "file's classname column): the prompts need them");
  char (*prompts)[160] = calloc((size_t)m->K, sizeof *prompts);
  const char **texts = calloc((size_t)m->K, sizeof *texts);
  const char *line = info->labels;
  for (int64_t k = 0; k < m->K; k++) {
    GW_CHECK(line && *line, "vtclip: the data set names %lld classes, it has %lld", (long long)k, (long long)m->K);
    size_t len = strcspn(line, "\n");
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)len, line);
    prompt_of(tmpl, name, prompts[k], sizeof prompts[k]);
    texts[k] = prompts[k];
    line += len + (line[len] == '\n');
  }
  bool prev = gw_no_grad_begin();
  gw_tensor *t = gw_l2_normalize(gw_clip_encode_texts(m->clip.clip, &m->clip.vocab, m->clip.info.max_len,
                                                      (int)m->K, texts), 1e-12f);
  gw_tensor *kept = gw_empty_in(gw_persistent_arena(), GW_F32, GW_SHAPE(m->K, m->E));
  memcpy(gw_f32(kept), gw_f32(gw_contiguous(t)), (size_t)(m->K * m->E) * sizeof(float));
  gw_no_grad_end(prev);
  free(prompts);
  free(texts);
  return kept;
}

static void *create(gw_nn *nn, const gw_config *cfg, const gw_model_info *info) {
  vtclip *m = calloc(1, sizeof *m);
  m->nn = nn;
  const char *path = gw_cfg_str(cfg, "model.clip");
  GW_CHECK(gw_clip_load_frozen(&m->clip, path) == 0, "vtclip: model.clip: %s", gw_last_error());
  GW_CHECK(m->clip.info.image_size == info->image_size, "vtclip: the CLIP of %s was trained on %d px "
           "images, the data set has %d px", path, m->clip.info.image_size, info->image_size);
  m->head = head_of(gw_cfg_str(cfg, "model.head"));
  m->K = info->n_classes;
  m->E = gw_clip_embed_dim(m->clip.clip);
  m->alpha = (float)gw_cfg_float(cfg, "model.alpha");
  m->scale = (float)gw_cfg_float(cfg, "model.logit_scale");
  m->dense = !strcmp(gw_cfg_str(cfg, "model.kv"), "dense");
  m->text = class_text_features(m, cfg, info);
  if (m->head == HEAD_VTCLIP) {
    gw_mha_init(&m->attn, nn, "cross_attn", m->E, gw_cfg_int(cfg, "model.heads"), 0.0f);
    gw_init_constant(m->attn.out_proj.weight, 0.0f);  // T_v = 0 at the start: zero-shot CLIP
    int64_t ffn = gw_cfg_int(cfg, "model.ffn");
    m->has_ffn = ffn > 0;
    if (m->has_ffn) {
      gw_layernorm_init(&m->ffn_norm, nn, "ffn.norm", m->E, true);
      gw_linear_init(&m->ff1, nn, "ffn.fc1", m->E, ffn, true);
      gw_linear_init(&m->ff2, nn, "ffn.fc2", ffn, m->E, true);
    }
  } else if (m->head == HEAD_ADAPTER) {
    int64_t hidden = m->E / gw_cfg_int(cfg, "model.adapter_reduction");
    GW_CHECK(hidden >= 1, "vtclip: model.adapter_reduction leaves no hidden unit of %lld", (long long)m->E);
    gw_linear_init(&m->adapt1, nn, "adapter.fc1", m->E, hidden, false);
    gw_linear_init(&m->adapt2, nn, "adapter.fc2", hidden, m->E, false);
    m->ratio = (float)gw_cfg_float(cfg, "model.adapter_ratio");
  } else {
    gw_linear_init(&m->probe, nn, "probe", m->E, m->K, true);
  }
  return m;
}

// Class logits (B, K) for images (B, 3, S, S).
static gw_tensor *logits(vtclip *m, gw_tensor *images) {
  gw_tensor *dense = NULL, *f;
  bool prev = gw_no_grad_begin();  // CLIP is frozen: no tape for it
  f = gw_l2_normalize(gw_clip_encode_image(m->clip.clip, images, m->dense ? &dense : NULL), 1e-12f);
  if (dense) dense = gw_l2_normalize(dense, 1e-12f);
  gw_no_grad_end(prev);
  int64_t B = f->shape[0], K = m->K, E = m->E;
  if (m->head == HEAD_PROBE) return gw_linear_forward(&m->probe, f);
  gw_tensor *text = m->text;  // (K, E)
  if (m->head == HEAD_ADAPTER) {
    gw_tensor *a = gw_relu(gw_linear_forward(&m->adapt2, gw_relu(gw_linear_forward(&m->adapt1, f))));
    f = gw_add(gw_mul_scalar(a, m->ratio), gw_mul_scalar(f, 1.0f - m->ratio));
    return gw_mul_scalar(gw_matmul(gw_l2_normalize(f, 1e-12f), gw_transpose(text, 0, 1)), m->scale);
  }
  // visual-guided texts: every class text attends to this image's tokens
  gw_tensor *q = gw_expand(gw_reshape(text, GW_SHAPE(1, K, E)), 3, (int64_t[]){B, K, E});
  gw_tensor *kv = dense ? dense : gw_reshape(f, GW_SHAPE(B, 1, E));
  gw_tensor *attn;
  gw_tensor *tv = gw_mha_forward(&m->attn, q, kv, kv, NULL, &attn);  // (B, K, E)
  gw_probe_keep("vtclip", "class_attention", attn, 0);               // (B, heads, K, N)
  if (m->has_ffn)
    tv = gw_add(tv, gw_linear_forward(&m->ff2, gw_gelu(gw_linear_forward(&m->ff1, gw_layernorm_forward(&m->ffn_norm, tv)))));
  gw_tensor *guided = gw_l2_normalize(gw_add(q, gw_mul_scalar(tv, m->alpha)), 1e-12f);  // (B, K, E)
  gw_tensor *cos = gw_matmul(guided, gw_reshape(f, GW_SHAPE(B, E, 1)));                  // (B, K, 1)
  return gw_mul_scalar(gw_reshape(cos, GW_SHAPE(B, K)), m->scale);
}

static gw_tensor *loss(void *model, const gw_inputs *in, gw_loss_terms *terms) {
  gw_tensor *ce = gw_cross_entropy(logits(model, in->images), in->labels, -100, 0.0f, GW_MEAN);
  gw_terms_add(terms, "ce", ce);
  return ce;
}

static void predict(void *model, const gw_inputs *in, gw_outputs *out) {
  gw_tensor *pred = gw_argmax(logits(model, in->images), 1, false);
  for (int i = 0; i < in->n; i++) out->label[i] = gw_i32(pred)[i];
}

static void destroy(void *model) {
  vtclip *m = model;
  gw_clip_frozen_free(&m->clip);
  free(m);
}

const gw_model_ops gw_model_vtclip = {
    .name = "vtclip",
    .help = "VT-CLIP: class prompts attend to the image tokens of a frozen CLIP (or the "
            "CLIP-Adapter and linear-probe baselines), for few-shot classification",
    .task = GW_TASK_CLASSIFY,
    .schema = {"model vtclip", KEYS, sizeof KEYS / sizeof KEYS[0]},
    .create = create,
    .loss = loss,
    .predict = predict,
    .destroy = destroy,
};
