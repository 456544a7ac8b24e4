// LaConvNet (Luo et al., "Towards Language-guided Visual Recognition via Dynamic
// Convolutions"): a visual encoder made only of language-dependent convolutions, for referring
// expression comprehension (REC) and VQA. shared/papers.md §3 has the method; this is its
// smallest faithful form.
//
//   text:   embedding -> GRU (or one self-attention layer) -> word features Y (B, L, D), mask
//   image:  space-to-depth 2 + conv3x3 -> stages of LaConv blocks (a "pool" between stages:
//           space-to-depth 2 + conv1x1) -> features (B, C, S, S)
//   LaConv block, for X (B, C, H, W):
//     Z = BN-ReLU(unpack(ReLU(merge(attention(Q = pack_t(X + PE), K = V = Y)))))   (per pixel)
//     kernels = conv1x1(Z) -> (B, G, k*k, H, W), dropout;  X = SiLU(X + BN(laconv(X, kernels)))
//     X = SiLU(X + BN(conv1x1(SiLU(BN(conv1x1(X))))))                               (channel MLP)
//   REC head: conv3x3-BN-SiLU, then per cell an objectness logit and a box; the positive cells
//             are the one holding the target's centre and its neighbours; loss = BCE(objectness)
//             + w_giou GIoU + w_l1 L1; the predicted box is the one of the most confident cell.
//   VQA head: the grid's features with each cell's (x, y) appended, pooled by question-guided
//             attention (an MLP of the features and the sentence scores every cell, a softmax
//             over the cells per glimpse, the weighted sums merged by a linear layer: MCAN's
//             AttFlat with a top-down term), joined with the grid's max-pool (is anything there
//             at all), fused with the sentence vector by a product of their projections
//             (as bottom-up top-down VQA models do) -> MLP -> answer logits; cross-entropy against
//             the normalised soft scores (or BCE per answer). Without the coordinates a pooled
//             vector cannot say where an object is: the encoder is translation-equivariant.
//
// The baselines of the paper's ablation are the same model with model.fusion:
//   laconv         per-pixel kernels from word attention (the method)
//   dynamic        one kernel per sample from the sentence vector, shared by all pixels
//   film           static depthwise convs, features modulated by (gamma, beta) from the sentence
//   static_late    static depthwise convs; the sentence vector joins only at the head (added,
//                  then a 3x3 conv layer so that image and sentence can interact)
//   blind          static depthwise convs and no text at all (the blind ceiling)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/model.h"
#include "models/probe.h"

enum { MAX_STAGES = 4, MAX_BLOCKS = 6 };

static const gw_cfg_key KEYS[] = {
    {"model.name", GW_CFG_STRING, "laconvnet", 1, 0, NULL, "laconvnet (REC) or laconvnet_vqa"},
    {"model.fusion", GW_CFG_ENUM, "laconv", 1, 0, "laconv|dynamic|film|static_late|blind",
     "how language shapes the convolutions (see models/laconvnet.c)"},
    {"model.stem_channels", GW_CFG_INT, "16", 1, 1024, NULL, "channels after the stem"},
    {"model.channels", GW_CFG_INT_LIST, "16,32,64", 1, 1024, NULL, "channels of each stage"},
    {"model.blocks", GW_CFG_INT_LIST, "1,2,3", 1, MAX_BLOCKS, NULL, "LaConv blocks per stage"},
    {"model.kernel", GW_CFG_INT_LIST, "3,3,5", 1, 9, NULL, "kernel size per stage (odd)"},
    {"model.groups", GW_CFG_INT_LIST, "4,4,8", 1, 1024, NULL, "kernel groups per stage (channel c uses group c mod G)"},
    {"model.pack", GW_CFG_INT_LIST, "4,2,1", 1, 16, NULL, "pixel packing t per stage (attention queries are t x t blocks)"},
    {"model.cond_dim", GW_CFG_INT, "0", 0, 1024, NULL, "width of the kernel condition (0: the stage's channels)"},
    {"model.heads", GW_CFG_INT, "2", 1, 16, NULL, "attention heads of the condition generator"},
    {"model.kernel_dropout", GW_CFG_FLOAT, "0.1", 0, 0.9, NULL, "dropout on the generated kernels"},
    {"model.attn_dropout", GW_CFG_FLOAT, "0.1", 0, 0.9, NULL, "dropout on the word attention"},
    {"model.word_dim", GW_CFG_INT, "64", 1, 1024, NULL, "word embedding size"},
    {"model.text_dim", GW_CFG_INT, "64", 1, 1024, NULL, "word feature size D"},
    {"model.text_encoder", GW_CFG_ENUM, "gru", 1, 0, "gru|attention", "a bidirectional GRU or one self-attention layer"},
    {"model.head_channels", GW_CFG_INT, "64", 1, 1024, NULL, "channels of the head"},
    {"model.giou_weight", GW_CFG_FLOAT, "2", 0, 100, NULL, "weight of the GIoU loss"},
    {"model.l1_weight", GW_CFG_FLOAT, "5", 0, 100, NULL, "weight of the L1 box loss"},
    {"model.neighbours", GW_CFG_BOOL, "true", 1, 0, NULL, "the centre cell's 8 neighbours are positives too"},
    {"model.vqa_hidden", GW_CFG_INT, "256", 1, 4096, NULL, "VQA: hidden width of the answer MLP"},
    {"model.vqa_glimpses", GW_CFG_INT, "2", 1, 8, NULL, "VQA: attention glimpses of the pooling over the grid"},
    {"model.vqa_loss", GW_CFG_ENUM, "softmax", 1, 0, "softmax|bce",
     "VQA: cross-entropy against the normalised soft scores, or BCE per answer (VQA v2 style)"},
};

typedef struct laconv_block {
  char name[48];  // "stage2.block1": what gw predict --explain calls it
  int k, G, t, cond;
  bool dynamic_kernels;  // laconv (per pixel) or dynamic (per sample) kernels; else static
  // condition generator (per pixel)
  gw_linear_m q, kp, vp, merge;
  gw_batchnorm_m cond_bn;
  int heads;
  // kernels: from the condition (per pixel) or from the sentence (per sample)
  gw_conv_m kernel_gen;
  gw_linear_m kernel_from_sentence;
  gw_tensor *static_kernel;  // (C, 1, k, k): static depthwise baselines
  gw_linear_m film;          // sentence -> 2C (gamma, beta)
  gw_batchnorm_m bn;
  gw_conv_m mlp1, mlp2;
  gw_batchnorm_m mlp_bn1, mlp_bn2;
  int64_t C;
} laconv_block;

typedef struct stage {
  gw_conv_m down;  // the "pool" between stages: space-to-depth 2 then conv1x1
  gw_batchnorm_m down_bn;
  int n_blocks;
  laconv_block blocks[MAX_BLOCKS];
} stage;

typedef struct laconvnet {
  gw_nn *nn;
  bool vqa;
  int fusion;  // 0 laconv, 1 dynamic, 2 film, 3 static_late, 4 blind
  // text
  gw_embedding_m embed;
  gw_gru gru;
  gw_encoder_layer text_attn;
  gw_linear_m text_proj;
  bool gru_text;
  int64_t text_dim;
  // image
  gw_conv_m stem;
  gw_batchnorm_m stem_bn;
  int n_stages;
  stage stages[MAX_STAGES];
  float kernel_dropout, attn_dropout;
  // heads
  gw_conv_m head_conv;
  gw_batchnorm_m head_bn;
  gw_linear_m late;  // static_late: sentence -> head channels
  gw_conv_m late_conv;  // static_late: a hidden layer after the fusion, where image and
  gw_batchnorm_m late_bn;  // sentence can interact (a bias alone barely selects a cell)
  gw_conv_m reg, obj;
  float giou_w, l1_w;
  bool neighbours;
  gw_conv_m pool_score1, pool_score2;  // VQA: attention-pooling scores per cell
  gw_linear_m pool_question, pool_merge;
  int glimpses;
  bool vqa_bce;
  gw_linear_m fuse_image, fuse_question;  // VQA: the product fusion
  gw_mlp answer;
  int64_t out_channels, image_size;
} laconvnet;

static int fusion_of(const char *name) {
  static const char *const names[] = {"laconv", "dynamic", "film", "static_late", "blind"};
  for (int i = 0; i < 5; i++)
    if (!strcmp(names[i], name)) return i;
  return 0;
}

// ---- construction ----

static void block_init(laconv_block *b, laconvnet *m, gw_nn *nn, const char *name, int64_t C, int k,
                       int G, int t, int cond, int heads) {
  b->k = k, b->G = G, b->t = t, b->cond = cond, b->heads = heads, b->C = C;
  snprintf(b->name, sizeof b->name, "%s", strchr(name, '.') ? strchr(name, '.') + 1 : name);
  b->dynamic_kernels = m->fusion == 0 || m->fusion == 1;
  int64_t D = m->text_dim;
  if (m->fusion == 0) {  // the kernel-condition generator
    gw_linear_init(&b->q, nn, gw_nn_name(name, "cond.query"), C * t * t, cond, true);
    gw_linear_init(&b->kp, nn, gw_nn_name(name, "cond.key"), D, cond, true);
    gw_linear_init(&b->vp, nn, gw_nn_name(name, "cond.value"), D, cond, true);
    gw_linear_init(&b->merge, nn, gw_nn_name(name, "cond.merge"), cond, cond * t * t, true);
    gw_batchnorm_init(&b->cond_bn, nn, gw_nn_name(name, "cond.bn"), cond, true);
    gw_conv_init(&b->kernel_gen, nn, gw_nn_name(name, "kernel"), cond, (int64_t)k * k * G, 1, 1, 0, 1, true);
  } else if (m->fusion == 1) {
    gw_linear_init(&b->kernel_from_sentence, nn, gw_nn_name(name, "kernel"), D, (int64_t)k * k * G, true);
  } else {
    b->static_kernel = gw_nn_param(nn, name, "dwconv.weight", GW_SHAPE(C, 1, k, k), false);
    gw_init_torch_default_weight(b->static_kernel, &nn->init);
    if (m->fusion == 2) gw_linear_init(&b->film, nn, gw_nn_name(name, "film"), D, 2 * C, true);
  }
  gw_batchnorm_init(&b->bn, nn, gw_nn_name(name, "bn"), C, true);
  gw_conv_init(&b->mlp1, nn, gw_nn_name(name, "mlp.fc1"), C, 4 * C, 1, 1, 0, 1, false);
  gw_batchnorm_init(&b->mlp_bn1, nn, gw_nn_name(name, "mlp.bn1"), 4 * C, true);
  gw_conv_init(&b->mlp2, nn, gw_nn_name(name, "mlp.fc2"), 4 * C, C, 1, 1, 0, 1, false);
  gw_batchnorm_init(&b->mlp_bn2, nn, gw_nn_name(name, "mlp.bn2"), C, true);
}

static int list(const gw_config *cfg, const char *key, int64_t *out, int want, const char *what) {
  int n = gw_cfg_ints(cfg, key, out, MAX_STAGES);
  GW_CHECK(n == want, "laconvnet: %s has %d entries but model.channels has %d (%s)", key, n, want, what);
  return n;
}

static void *create(gw_nn *nn, const gw_config *cfg, const gw_model_info *info, bool vqa) {
  laconvnet *m = calloc(1, sizeof *m);
  m->nn = nn;
  m->vqa = vqa;
  m->fusion = fusion_of(gw_cfg_str(cfg, "model.fusion"));
  m->image_size = info->image_size;
  m->text_dim = gw_cfg_int(cfg, "model.text_dim");
  int64_t word = gw_cfg_int(cfg, "model.word_dim");
  m->gru_text = !strcmp(gw_cfg_str(cfg, "model.text_encoder"), "gru");
  gw_embedding_init(&m->embed, nn, "text.embed", info->vocab_size, word, 0);
  if (m->gru_text) {
    gw_gru_init(&m->gru, nn, "text.gru", word, m->text_dim / 2 > 0 ? m->text_dim / 2 : 1, true);
    gw_linear_init(&m->text_proj, nn, "text.proj", 2 * (m->text_dim / 2 > 0 ? m->text_dim / 2 : 1), m->text_dim, true);
  } else {
    gw_linear_init(&m->text_proj, nn, "text.proj", word, m->text_dim, true);
    gw_encoder_layer_init(&m->text_attn, nn, "text.attn", m->text_dim, 4, 2 * m->text_dim, 0.1f,
                          GW_ACT_GELU, false);
  }
  int64_t ch[MAX_STAGES], blocks[MAX_STAGES], ks[MAX_STAGES], gs[MAX_STAGES], ts[MAX_STAGES];
  m->n_stages = gw_cfg_ints(cfg, "model.channels", ch, MAX_STAGES);
  list(cfg, "model.blocks", blocks, m->n_stages, "blocks per stage");
  list(cfg, "model.kernel", ks, m->n_stages, "kernel size per stage");
  list(cfg, "model.groups", gs, m->n_stages, "groups per stage");
  list(cfg, "model.pack", ts, m->n_stages, "packing per stage");
  int64_t cond_dim = gw_cfg_int(cfg, "model.cond_dim"), heads = gw_cfg_int(cfg, "model.heads");
  m->kernel_dropout = (float)gw_cfg_float(cfg, "model.kernel_dropout");
  m->attn_dropout = (float)gw_cfg_float(cfg, "model.attn_dropout");
  int64_t stem = gw_cfg_int(cfg, "model.stem_channels");
  gw_conv_init(&m->stem, nn, "stem.conv", 12, stem, 3, 1, 1, 1, false);
  gw_batchnorm_init(&m->stem_bn, nn, "stem.bn", stem, true);
  int64_t cin = stem, size = info->image_size / 2;
  for (int s = 0; s < m->n_stages; s++) {
    stage *st = &m->stages[s];
    char sname[32];
    snprintf(sname, sizeof sname, "stage%d", s + 1);
    if (s > 0) {  // space-to-depth 2, then conv1x1
      gw_conv_init(&st->down, nn, gw_nn_name(sname, "down.conv"), 4 * cin, ch[s], 1, 1, 0, 1, false);
      gw_batchnorm_init(&st->down_bn, nn, gw_nn_name(sname, "down.bn"), ch[s], true);
      size /= 2;
    } else {
      GW_CHECK(ch[0] == stem, "laconvnet: the first stage keeps the stem's %lld channels (model.channels[0] = %lld)",
               (long long)stem, (long long)ch[0]);
    }
    GW_CHECK(ks[s] % 2 == 1 && ch[s] % gs[s] == 0 && size % ts[s] == 0,
             "laconvnet: stage %d: kernel %lld must be odd, groups %lld must divide %lld channels, "
             "packing %lld must divide the %lld x %lld map", s + 1, (long long)ks[s], (long long)gs[s],
             (long long)ch[s], (long long)ts[s], (long long)size, (long long)size);
    st->n_blocks = (int)blocks[s];
    for (int k = 0; k < st->n_blocks; k++) {
      char bname[64];
      snprintf(bname, sizeof bname, "%s.block%d", sname, k);
      int cond = (int)(cond_dim > 0 ? cond_dim : ch[s]);
      GW_CHECK(cond % heads == 0, "laconvnet: cond_dim %d must divide into %lld heads", cond, (long long)heads);
      block_init(&st->blocks[k], m, nn, gw_nn_name("visual", bname), ch[s], (int)ks[s], (int)gs[s],
                 (int)ts[s], cond, (int)heads);
    }
    cin = ch[s];
  }
  m->out_channels = cin;
  int64_t hc = gw_cfg_int(cfg, "model.head_channels");
  if (vqa) {
    m->glimpses = (int)gw_cfg_int(cfg, "model.vqa_glimpses");
    m->vqa_bce = !strcmp(gw_cfg_str(cfg, "model.vqa_loss"), "bce");
    gw_conv_init(&m->pool_score1, nn, "head.pool.score1", cin + 2, hc, 1, 1, 0, 1, true);
    gw_linear_init(&m->pool_question, nn, "head.pool.question", m->text_dim, hc, false);
    gw_conv_init(&m->pool_score2, nn, "head.pool.score2", hc, m->glimpses, 1, 1, 0, 1, true);
    gw_linear_init(&m->pool_merge, nn, "head.pool.merge", m->glimpses * (cin + 2), cin, true);
    int64_t hidden = gw_cfg_int(cfg, "model.vqa_hidden");
    gw_linear_init(&m->fuse_image, nn, "head.fuse.image", 2 * cin, hidden, true);
    gw_linear_init(&m->fuse_question, nn, "head.fuse.question", m->text_dim, hidden, true);
    int64_t dims[3] = {hidden, hidden, info->n_answers};
    gw_mlp_init(&m->answer, nn, "head.answer", 2, dims, GW_ACT_RELU, 0.1f);
  } else {
    gw_conv_init(&m->head_conv, nn, "head.conv", cin, hc, 3, 1, 1, 1, false);
    gw_batchnorm_init(&m->head_bn, nn, "head.bn", hc, true);
    if (m->fusion == 3) {
      gw_linear_init(&m->late, nn, "head.late", m->text_dim, hc, true);
      gw_conv_init(&m->late_conv, nn, "head.late_conv", hc, hc, 3, 1, 1, 1, false);
      gw_batchnorm_init(&m->late_bn, nn, "head.late_bn", hc, true);
    }
    gw_conv_init(&m->reg, nn, "head.reg", hc, 4, 1, 1, 0, 1, true);
    gw_conv_init(&m->obj, nn, "head.obj", hc, 1, 1, 1, 0, 1, true);
  }
  m->giou_w = (float)gw_cfg_float(cfg, "model.giou_weight");
  m->l1_w = (float)gw_cfg_float(cfg, "model.l1_weight");
  m->neighbours = gw_cfg_bool(cfg, "model.neighbours");
  return m;
}

static void *create_rec(gw_nn *nn, const gw_config *cfg, const gw_model_info *info) {
  return create(nn, cfg, info, false);
}
static void *create_vqa(gw_nn *nn, const gw_config *cfg, const gw_model_info *info) {
  return create(nn, cfg, info, true);
}

// ---- forward ----

// Word features Y (B, L, D) and the sentence vector (B, D): the mean of the real words.
static gw_tensor *encode_text(laconvnet *m, const gw_inputs *in, gw_tensor **sentence) {
  gw_tensor *e = gw_embedding_forward(&m->embed, in->tokens);
  gw_tensor *y;
  if (m->gru_text) {
    y = gw_linear_forward(&m->text_proj, gw_gru_forward(&m->gru, e, in->lengths, NULL));
  } else {
    y = gw_encoder_layer_forward(&m->text_attn, gw_linear_forward(&m->text_proj, e), in->keep);
  }
  int64_t B = y->shape[0], L = y->shape[1];
  gw_tensor *keep = gw_empty(GW_F32, GW_SHAPE(B, L, 1)), *count = gw_empty(GW_F32, GW_SHAPE(B, 1));
  for (int64_t b = 0; b < B; b++) {
    for (int64_t l = 0; l < L; l++) gw_f32(keep)[b * L + l] = (float)gw_i32(in->keep)[b * L + l];
    gw_f32(count)[b] = (float)gw_i32(in->lengths)[b];
  }
  *sentence = gw_div(gw_sum(gw_mul(y, keep), 1, (int[]){1}, false), count);
  return y;
}

// The per-pixel kernel condition Z (B, cond, H, W) for features x, attending to the words.
static gw_tensor *condition(laconvnet *m, laconv_block *b, gw_tensor *x, gw_tensor *words,
                            const gw_tensor *keep) {
  int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], t = b->t;
  gw_tensor *pe = gw_sine_posenc_2d(C % 4 == 0 ? C : 4 * ((C + 3) / 4), H, W);
  if (pe->shape[0] != C) pe = gw_slice(pe, 0, 0, C, 1);
  gw_tensor *xp = gw_add(x, pe);
  gw_tensor *packed = t > 1 ? gw_pixel_unshuffle(xp, (int)t) : xp;            // (B, C t^2, H/t, W/t)
  int64_t n = (H / t) * (W / t), Ct = C * t * t;
  gw_tensor *q_in = gw_transpose(gw_reshape(packed, GW_SHAPE(B, Ct, n)), 1, 2);  // (B, n, C t^2)
  gw_tensor *q = gw_linear_forward(&b->q, q_in);                                 // (B, n, cond)
  gw_tensor *k = gw_linear_forward(&b->kp, words), *v = gw_linear_forward(&b->vp, words);
  int64_t h = b->heads, dh = b->cond / h, L = words->shape[1];
  gw_tensor *qh = gw_permute(gw_reshape(q, GW_SHAPE(B, n, h, dh)), (int[]){0, 2, 1, 3});
  gw_tensor *kh = gw_permute(gw_reshape(k, GW_SHAPE(B, L, h, dh)), (int[]){0, 2, 1, 3});
  gw_tensor *vh = gw_permute(gw_reshape(v, GW_SHAPE(B, L, h, dh)), (int[]){0, 2, 1, 3});
  gw_tensor *scores = gw_mul_scalar(gw_matmul(qh, gw_transpose(kh, -1, -2)), 1.0f / sqrtf((float)dh));
  gw_tensor *attn = gw_softmax(scores, gw_view_reshape(keep, GW_SHAPE(B, 1, 1, L)));  // over words
  gw_probe_keep(b->name, "attention", attn, (int)t);  // (B, heads, queries, words)
  attn = gw_nn_dropout(m->nn, attn, m->attn_dropout);
  gw_tensor *ctx = gw_reshape(gw_permute(gw_matmul(attn, vh), (int[]){0, 2, 1, 3}), GW_SHAPE(B, n, b->cond));
  gw_tensor *merged = gw_relu(gw_linear_forward(&b->merge, ctx));                 // (B, n, cond t^2)
  gw_tensor *grid = gw_reshape(gw_transpose(merged, 1, 2), GW_SHAPE(B, b->cond * t * t, H / t, W / t));
  gw_tensor *z = t > 1 ? gw_pixel_shuffle(grid, (int)t) : grid;                  // (B, cond, H, W)
  return gw_relu(gw_batchnorm_forward(&b->cond_bn, z));
}

static gw_tensor *block_forward(laconvnet *m, laconv_block *b, gw_tensor *x, gw_tensor *words,
                                const gw_tensor *keep, gw_tensor *sentence) {
  int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], KK = (int64_t)b->k * b->k;
  gw_tensor *y;
  if (m->fusion == 0) {  // per-pixel kernels from the word attention
    gw_tensor *kernels = gw_conv_forward(&b->kernel_gen, condition(m, b, x, words, keep));
    kernels = gw_reshape(kernels, GW_SHAPE(B, b->G, KK, H, W));
    gw_probe_keep(b->name, "kernels", kernels, b->k);
    y = gw_laconv(x, gw_nn_dropout(m->nn, kernels, m->kernel_dropout), b->k);
  } else if (m->fusion == 1) {  // one kernel per sample, the same at every pixel
    gw_tensor *kernels = gw_linear_forward(&b->kernel_from_sentence, sentence);  // (B, G k^2)
    kernels = gw_expand(gw_reshape(kernels, GW_SHAPE(B, b->G, KK, 1, 1)), 5, (int64_t[]){B, b->G, KK, H, W});
    gw_probe_keep(b->name, "kernels", kernels, b->k);
    y = gw_laconv(x, gw_nn_dropout(m->nn, gw_contig(kernels), m->kernel_dropout), b->k);
  } else {  // static depthwise conv, the same for every sample
    y = gw_conv2d(x, b->static_kernel, NULL,
                  (gw_conv2d_args){.pad_h = b->k / 2, .pad_w = b->k / 2, .groups = (int)C});
    if (m->fusion == 2) {  // FiLM: y * (1 + gamma) + beta, per channel from the sentence
      gw_tensor *gb = gw_linear_forward(&b->film, sentence);  // (B, 2C)
      gw_tensor *gamma = gw_reshape(gw_slice(gb, 1, 0, C, 1), GW_SHAPE(B, C, 1, 1));
      gw_tensor *beta = gw_reshape(gw_slice(gb, 1, C, 2 * C, 1), GW_SHAPE(B, C, 1, 1));
      y = gw_add(gw_mul(y, gw_add_scalar(gamma, 1.0f)), beta);
    }
  }
  x = gw_silu(gw_add(x, gw_batchnorm_forward(&b->bn, y)));
  gw_tensor *h = gw_silu(gw_batchnorm_forward(&b->mlp_bn1, gw_conv_forward(&b->mlp1, x)));
  h = gw_batchnorm_forward(&b->mlp_bn2, gw_conv_forward(&b->mlp2, h));
  return gw_silu(gw_add(x, h));
}

// Visual features (B, C, S, S) shaped by the words.
static gw_tensor *encode(laconvnet *m, const gw_inputs *in, gw_tensor **sentence) {
  gw_tensor *words = NULL;
  *sentence = NULL;
  if (m->fusion != 4) words = encode_text(m, in, sentence);
  gw_tensor *x = gw_pixel_unshuffle(in->images, 2);  // (B, 12, S/2, S/2)
  x = gw_silu(gw_batchnorm_forward(&m->stem_bn, gw_conv_forward(&m->stem, x)));
  for (int s = 0; s < m->n_stages; s++) {
    stage *st = &m->stages[s];
    if (s > 0)
      x = gw_silu(gw_batchnorm_forward(&st->down_bn, gw_conv_forward(&st->down, gw_pixel_unshuffle(x, 2))));
    for (int k = 0; k < st->n_blocks; k++) x = block_forward(m, &st->blocks[k], x, words, in->keep, *sentence);
  }
  return x;
}

// ---- the REC head ----

// Objectness logits (B, S*S) and boxes (B, S*S, 4) in pixels (x1, y1, x2, y2): a cell predicts
// its box as centre = (cell + 0.5 + offset) * stride, size = exp(clamped log size) * stride.
// The offset is not squashed (as in YOLOX), so the neighbours of the centre cell, which are
// positives too, can reach the target's centre.
static void rec_head(laconvnet *m, gw_tensor *feat, gw_tensor *sentence, gw_tensor **obj,
                     gw_tensor **boxes) {
  gw_tensor *h = gw_batchnorm_forward(&m->head_bn, gw_conv_forward(&m->head_conv, feat));
  if (m->fusion == 3) {  // late fusion: the sentence joins here, and only here
    int64_t B = h->shape[0], C = h->shape[1];
    h = gw_add(h, gw_reshape(gw_linear_forward(&m->late, sentence), GW_SHAPE(B, C, 1, 1)));
    h = gw_batchnorm_forward(&m->late_bn, gw_conv_forward(&m->late_conv, gw_silu(h)));
  }
  h = gw_silu(h);
  int64_t B = h->shape[0], S = h->shape[2];
  float stride = (float)m->image_size / (float)S;
  *obj = gw_reshape(gw_conv_forward(&m->obj, h), GW_SHAPE(B, S * S));
  gw_tensor *r = gw_transpose(gw_reshape(gw_conv_forward(&m->reg, h), GW_SHAPE(B, 4, S * S)), 1, 2);
  gw_tensor *grid = gw_empty(GW_F32, GW_SHAPE(S * S, 2));
  for (int64_t i = 0; i < S * S; i++) {
    gw_f32(grid)[2 * i] = (float)(i % S) + 0.5f;
    gw_f32(grid)[2 * i + 1] = (float)(i / S) + 0.5f;
  }
  gw_tensor *centre = gw_mul_scalar(gw_add(gw_slice(r, 2, 0, 2, 1), grid), stride);
  gw_tensor *size = gw_mul_scalar(gw_exp(gw_clamp(gw_slice(r, 2, 2, 4, 1), -4.0f, 4.0f)), stride);
  gw_tensor *half = gw_mul_scalar(size, 0.5f);
  *boxes = gw_concat(2, (gw_tensor *[]){gw_sub(centre, half), gw_add(centre, half)}, 2);
}

static gw_tensor *rec_loss(laconvnet *m, const gw_inputs *in, gw_loss_terms *terms) {
  gw_tensor *sentence;
  gw_tensor *feat = encode(m, in, &sentence);
  gw_tensor *obj, *boxes;
  rec_head(m, feat, sentence, &obj, &boxes);
  int64_t B = obj->shape[0], N = obj->shape[1], S = (int64_t)sqrt((double)N);
  float stride = (float)m->image_size / (float)S;
  // positives: the cell holding the target's centre (and its neighbours)
  gw_tensor *target = gw_zeros(GW_F32, GW_SHAPE(B, N));
  int64_t n_pos = 0;
  int32_t pos_idx[B * 9];
  int32_t pos_row[B * 9];
  const float *gt = gw_f32(in->boxes);
  for (int64_t b = 0; b < B; b++) {
    float cx = 0.5f * (gt[4 * b] + gt[4 * b + 2]), cy = 0.5f * (gt[4 * b + 1] + gt[4 * b + 3]);
    int64_t gx = (int64_t)(cx / stride), gy = (int64_t)(cy / stride);
    gx = gx < 0 ? 0 : (gx >= S ? S - 1 : gx);
    gy = gy < 0 ? 0 : (gy >= S ? S - 1 : gy);
    int r = m->neighbours ? 1 : 0;
    for (int64_t dy = -r; dy <= r; dy++)
      for (int64_t dx = -r; dx <= r; dx++) {
        int64_t x = gx + dx, y = gy + dy;
        if (x < 0 || y < 0 || x >= S || y >= S) continue;
        gw_f32(target)[b * N + y * S + x] = 1.0f;
        pos_idx[n_pos] = (int32_t)(b * N + y * S + x);
        pos_row[n_pos++] = (int32_t)b;
      }
  }
  // Objectness as YOLOX and the official code normalise it: summed over every cell, divided by
  // the number of positives (a mean over all cells would make it ~7x weaker than the boxes'
  // terms, and it is the term that has to learn which object the words mean).
  gw_tensor *bce = gw_mul_scalar(gw_bce_with_logits(obj, target, NULL, GW_SUM), 1.0f / (float)n_pos);
  gw_tensor *idx = gw_from_ints(pos_idx, n_pos, GW_SHAPE(n_pos)), *rows = gw_from_ints(pos_row, n_pos, GW_SHAPE(n_pos));
  gw_tensor *pred = gw_index_select(gw_reshape(boxes, GW_SHAPE(B * N, 4)), 0, idx);     // (P, 4) xyxy
  gw_tensor *truth = gw_index_select(in->boxes, 0, rows);                               // (P, 4)
  gw_tensor *giou = gw_giou_loss(gw_box_xyxy_to_cxcywh(pred), gw_box_xyxy_to_cxcywh(truth));
  gw_tensor *l1 = gw_mul_scalar(gw_l1_loss(pred, truth, GW_MEAN), 1.0f / (float)m->image_size);
  gw_terms_add(terms, "obj", bce);
  gw_terms_add(terms, "giou", giou);
  gw_terms_add(terms, "l1", l1);
  return gw_add(bce, gw_add(gw_mul_scalar(giou, m->giou_w), gw_mul_scalar(l1, m->l1_w)));
}

static void rec_predict(void *model, const gw_inputs *in, gw_outputs *out) {
  laconvnet *m = model;
  gw_tensor *sentence, *obj, *boxes;
  gw_tensor *feat = encode(m, in, &sentence);
  rec_head(m, feat, sentence, &obj, &boxes);
  gw_tensor *best = gw_argmax(obj, 1, false);
  int64_t N = obj->shape[1];
  gw_tensor *bc = gw_contiguous(boxes);
  for (int i = 0; i < in->n; i++) memcpy(out->boxes + 4 * i, gw_f32(bc) + (i * N + gw_i32(best)[i]) * 4, 4 * sizeof(float));
}

// ---- the VQA head ----

// Each glimpse is a softmax over the cells of a score map; the glimpses' weighted sums of the
// features (and of the cells' coordinates) are merged into one vector (B, C). A question about
// one object can thus read that object's cell, and where it is, instead of an average.
static gw_tensor *attention_pool(laconvnet *m, gw_tensor *feat, gw_tensor *sentence) {
  int64_t B = feat->shape[0], S = feat->shape[2], N = S * S;
  gw_tensor *coords = gw_empty(GW_F32, GW_SHAPE(1, 2, S, S));  // x, y in [-1, 1]
  for (int64_t i = 0; i < N; i++) {
    gw_f32(coords)[i] = 2.0f * ((float)(i % S) + 0.5f) / (float)S - 1.0f;
    gw_f32(coords)[N + i] = 2.0f * ((float)(i / S) + 0.5f) / (float)S - 1.0f;
  }
  feat = gw_concat(2, (gw_tensor *[]){feat, gw_expand(coords, 4, (int64_t[]){B, 2, S, S})}, 1);
  int64_t C = feat->shape[1];
  gw_tensor *hidden = gw_conv_forward(&m->pool_score1, feat);
  if (sentence)  // the question says which cells to read (top-down attention)
    hidden = gw_add(hidden, gw_reshape(gw_linear_forward(&m->pool_question, sentence), GW_SHAPE(B, hidden->shape[1], 1, 1)));
  gw_tensor *scores = gw_conv_forward(&m->pool_score2, gw_silu(hidden));
  gw_tensor *weights = gw_softmax(gw_reshape(scores, GW_SHAPE(B, m->glimpses, N)), NULL);  // over cells
  gw_probe_keep("head.pool", "weights", weights, (int)S);  // (B, glimpses, cells)
  gw_tensor *cells = gw_transpose(gw_reshape(feat, GW_SHAPE(B, C, N)), 1, 2);              // (B, N, C)
  gw_tensor *glimpses = gw_matmul(weights, cells);                                          // (B, g, C)
  return gw_linear_forward(&m->pool_merge, gw_reshape(glimpses, GW_SHAPE(B, m->glimpses * C)));
}

static gw_tensor *vqa_logits(laconvnet *m, const gw_inputs *in) {
  gw_tensor *sentence;
  gw_tensor *feat = encode(m, in, &sentence);
  gw_tensor *pooled = attention_pool(m, feat, sentence);
  int64_t B = feat->shape[0], C = feat->shape[1];
  gw_tensor *peak = gw_max(gw_reshape(feat, GW_SHAPE(B, C, feat->shape[2] * feat->shape[3])), 2, false, NULL);
  if (!sentence) sentence = gw_zeros(GW_F32, GW_SHAPE(B, m->text_dim));
  // the answer has to come from the image and the question together: a question alone gives
  // a vector that means nothing until the image's projection multiplies it
  gw_tensor *seen = gw_relu(gw_linear_forward(&m->fuse_image, gw_concat(2, (gw_tensor *[]){pooled, peak}, 1)));
  gw_tensor *asked = gw_relu(gw_linear_forward(&m->fuse_question, sentence));
  return gw_mlp_forward(&m->answer, gw_mul(seen, asked));
}

static gw_tensor *vqa_loss(void *model, const gw_inputs *in, gw_loss_terms *terms) {
  laconvnet *m = model;
  gw_tensor *logits = vqa_logits(m, in);
  if (m->vqa_bce) {  // BCE against the soft scores, summed over answers, averaged over questions
    gw_tensor *bce = gw_mul_scalar(gw_bce_with_logits(logits, in->answer_scores, NULL, GW_SUM),
                                   1.0f / (float)in->n);
    gw_terms_add(terms, "bce", bce);
    return bce;
  }
  // cross-entropy against the soft scores normalised to a distribution over the answers
  int64_t B = logits->shape[0], A = logits->shape[1];
  gw_tensor *p = gw_empty(GW_F32, GW_SHAPE(B, A));
  const float *sc = gw_f32(gw_contiguous(in->answer_scores));
  for (int64_t b = 0; b < B; b++) {
    float total = 0.0f;
    for (int64_t a = 0; a < A; a++) total += sc[b * A + a];
    for (int64_t a = 0; a < A; a++) gw_f32(p)[b * A + a] = total > 0.0f ? sc[b * A + a] / total : 0.0f;
  }
  gw_tensor *ce = gw_cross_entropy_soft(logits, p, GW_MEAN);
  gw_terms_add(terms, "ce", ce);
  return ce;
}

static void vqa_predict(void *model, const gw_inputs *in, gw_outputs *out) {
  gw_tensor *best = gw_argmax(vqa_logits(model, in), 1, false);
  for (int i = 0; i < in->n; i++) out->answer[i] = gw_i32(best)[i];
}

static gw_tensor *rec_loss_fn(void *model, const gw_inputs *in, gw_loss_terms *terms) {
  return rec_loss(model, in, terms);
}

static void destroy(void *model) { free(model); }

const gw_model_ops gw_model_laconvnet = {
    .name = "laconvnet",
    .help = "LaConvNet for referring expression comprehension (language-dependent convolutions)",
    .task = GW_TASK_REC,
    .schema = {"model laconvnet", KEYS, sizeof KEYS / sizeof KEYS[0]},
    .create = create_rec,
    .loss = rec_loss_fn,
    .predict = rec_predict,
    .destroy = destroy,
};

const gw_model_ops gw_model_laconvnet_vqa = {
    .name = "laconvnet_vqa",
    .help = "LaConvNet for VQA (the same encoder, an answer classifier on pooled features)",
    .task = GW_TASK_VQA,
    .schema = {"model laconvnet_vqa", KEYS, sizeof KEYS / sizeof KEYS[0]},
    .create = create_vqa,
    .loss = vqa_loss,
    .predict = vqa_predict,
    .destroy = destroy,
};
