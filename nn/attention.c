// Multi-head attention, the transformer encoder layer and the cross-attention layer.
#include "nn/attention.h"

#include <math.h>

#include "nn/init.h"

void gw_mha_init(gw_mha *m, gw_nn *nn, const char *name, int64_t dim, int64_t heads, float dropout) {
  GW_CHECK(heads >= 1 && dim % heads == 0, "attention '%s': dim %lld does not divide into %lld heads",
           name, (long long)dim, (long long)heads);
  m->nn = nn;
  m->dim = dim;
  m->heads = heads;
  m->dropout = dropout;
  gw_linear_m *proj[3] = {&m->q_proj, &m->k_proj, &m->v_proj};
  const char *names[3] = {"q_proj", "k_proj", "v_proj"};
  // PyTorch packs q, k, v into one (3d, d) matrix with xavier_uniform: bound sqrt(6 / 4d).
  float bound = sqrtf(6.0f / (float)(4 * dim));
  for (int i = 0; i < 3; i++) {
    gw_linear_init(proj[i], nn, gw_nn_name(name, names[i]), dim, dim, true);
    gw_init_uniform(proj[i]->weight, &nn->init, -bound, bound);
    gw_init_constant(proj[i]->bias, 0.0f);
  }
  gw_linear_init(&m->out_proj, nn, gw_nn_name(name, "out_proj"), dim, dim, true);
  gw_init_constant(m->out_proj.bias, 0.0f);
}

// (B, L, d) -> (B, H, L, d/H), a view
static gw_tensor *split_heads(gw_tensor *x, int64_t heads) {
  int64_t B = x->shape[0], L = x->shape[1], d = x->shape[2];
  return gw_permute(gw_reshape(x, GW_SHAPE(B, L, heads, d / heads)), (int[]){0, 2, 1, 3});
}

gw_tensor *gw_mha_forward(const gw_mha *m, gw_tensor *q, gw_tensor *k, gw_tensor *v,
                          const gw_tensor *key_keep, gw_tensor **attn) {
  GW_CHECK(q->ndim == 3 && k->ndim == 3 && v->ndim == 3 && q->shape[2] == m->dim &&
               k->shape[2] == m->dim && v->shape[2] == m->dim && k->shape[1] == v->shape[1] &&
               q->shape[0] == k->shape[0] && k->shape[0] == v->shape[0],
           "attention: q %s, k %s, v %s do not fit (B, T, %lld), (B, S, %lld)", gw_shape_str(q),
           gw_shape_str(k), gw_shape_str(v), (long long)m->dim, (long long)m->dim);
  int64_t B = q->shape[0], T = q->shape[1], S = k->shape[1];
  gw_tensor *qh = split_heads(gw_linear_forward(&m->q_proj, q), m->heads);  // (B, H, T, dh)
  gw_tensor *kh = split_heads(gw_linear_forward(&m->k_proj, k), m->heads);  // (B, H, S, dh)
  gw_tensor *vh = split_heads(gw_linear_forward(&m->v_proj, v), m->heads);
  float scale = 1.0f / sqrtf((float)(m->dim / m->heads));
  gw_tensor *scores = gw_mul_scalar(gw_matmul(qh, gw_transpose(kh, -1, -2)), scale);  // (B,H,T,S)
  const gw_tensor *mask = NULL;
  if (key_keep) {
    GW_CHECK(key_keep->ndim == 2 && key_keep->shape[0] == B && key_keep->shape[1] == S,
             "attention: the key mask %s should be (B, S) = (%lld, %lld)", gw_shape_str(key_keep),
             (long long)B, (long long)S);
    mask = gw_view_reshape(key_keep, GW_SHAPE(B, 1, 1, S));
  }
  gw_tensor *w = gw_softmax(scores, mask);
  if (attn) *attn = w;
  w = gw_nn_dropout(m->nn, w, m->dropout);
  gw_tensor *out = gw_matmul(w, vh);                                      // (B, H, T, dh)
  out = gw_reshape(gw_permute(out, (int[]){0, 2, 1, 3}), GW_SHAPE(B, T, m->dim));
  return gw_linear_forward(&m->out_proj, out);
}

// ---- the feed-forward block shared by both layers ----
static gw_tensor *ffn(gw_nn *nn, const gw_linear_m *ff1, const gw_linear_m *ff2, gw_activation act,
                      float dropout, gw_tensor *x) {
  x = gw_nn_dropout(nn, gw_activate(gw_linear_forward(ff1, x), act), dropout);
  return gw_linear_forward(ff2, x);
}

void gw_encoder_layer_init(gw_encoder_layer *m, gw_nn *nn, const char *name, int64_t dim,
                           int64_t heads, int64_t ff_dim, float dropout, gw_activation act,
                           bool pre_norm) {
  m->nn = nn;
  m->act = act;
  m->dropout = dropout;
  m->pre_norm = pre_norm;
  gw_mha_init(&m->attn, nn, gw_nn_name(name, "self_attn"), dim, heads, dropout);
  gw_linear_init(&m->ff1, nn, gw_nn_name(name, "linear1"), dim, ff_dim, true);
  gw_linear_init(&m->ff2, nn, gw_nn_name(name, "linear2"), ff_dim, dim, true);
  gw_layernorm_init(&m->norm1, nn, gw_nn_name(name, "norm1"), dim, true);
  gw_layernorm_init(&m->norm2, nn, gw_nn_name(name, "norm2"), dim, true);
}

gw_tensor *gw_encoder_layer_forward(const gw_encoder_layer *m, gw_tensor *x,
                                    const gw_tensor *key_keep) {
  gw_nn *nn = m->nn;
  if (m->pre_norm) {
    gw_tensor *h = gw_layernorm_forward(&m->norm1, x);
    x = gw_add(x, gw_nn_dropout(nn, gw_mha_forward(&m->attn, h, h, h, key_keep, NULL), m->dropout));
    h = gw_layernorm_forward(&m->norm2, x);
    return gw_add(x, gw_nn_dropout(nn, ffn(nn, &m->ff1, &m->ff2, m->act, m->dropout, h), m->dropout));
  }
  gw_tensor *a = gw_mha_forward(&m->attn, x, x, x, key_keep, NULL);
  x = gw_layernorm_forward(&m->norm1, gw_add(x, gw_nn_dropout(nn, a, m->dropout)));
  gw_tensor *f = ffn(nn, &m->ff1, &m->ff2, m->act, m->dropout, x);
  return gw_layernorm_forward(&m->norm2, gw_add(x, gw_nn_dropout(nn, f, m->dropout)));
}

void gw_cross_layer_init(gw_cross_layer *m, gw_nn *nn, const char *name, int64_t dim, int64_t heads,
                         int64_t ff_dim, float dropout, gw_activation act, bool pre_norm) {
  m->nn = nn;
  m->act = act;
  m->dropout = dropout;
  m->pre_norm = pre_norm;
  m->has_ffn = ff_dim > 0;
  gw_mha_init(&m->attn, nn, gw_nn_name(name, "cross_attn"), dim, heads, dropout);
  gw_layernorm_init(&m->norm1, nn, gw_nn_name(name, "norm1"), dim, true);
  if (pre_norm) gw_layernorm_init(&m->norm_mem, nn, gw_nn_name(name, "norm_memory"), dim, true);
  if (m->has_ffn) {
    gw_linear_init(&m->ff1, nn, gw_nn_name(name, "linear1"), dim, ff_dim, true);
    gw_linear_init(&m->ff2, nn, gw_nn_name(name, "linear2"), ff_dim, dim, true);
    gw_layernorm_init(&m->norm2, nn, gw_nn_name(name, "norm2"), dim, true);
  }
}

gw_tensor *gw_cross_layer_forward(const gw_cross_layer *m, gw_tensor *x, gw_tensor *memory,
                                  const gw_tensor *mem_keep, gw_tensor **attn) {
  gw_nn *nn = m->nn;
  if (m->pre_norm) {
    gw_tensor *h = gw_layernorm_forward(&m->norm1, x);
    gw_tensor *mem = gw_layernorm_forward(&m->norm_mem, memory);
    x = gw_add(x, gw_nn_dropout(nn, gw_mha_forward(&m->attn, h, mem, mem, mem_keep, attn), m->dropout));
    if (!m->has_ffn) return x;
    h = gw_layernorm_forward(&m->norm2, x);
    return gw_add(x, gw_nn_dropout(nn, ffn(nn, &m->ff1, &m->ff2, m->act, m->dropout, h), m->dropout));
  }
  gw_tensor *a = gw_mha_forward(&m->attn, x, memory, memory, mem_keep, attn);
  x = gw_layernorm_forward(&m->norm1, gw_add(x, gw_nn_dropout(nn, a, m->dropout)));
  if (!m->has_ffn) return x;
  gw_tensor *f = ffn(nn, &m->ff1, &m->ff2, m->act, m->dropout, x);
  return gw_layernorm_forward(&m->norm2, gw_add(x, gw_nn_dropout(nn, f, m->dropout)));
}
