// Attention: multi-head attention (self and cross), the transformer encoder layer (pre-norm
// and post-norm), a cross-attention layer, and the GRU for text.
#ifndef GW_NN_ATTENTION_H
#define GW_NN_ATTENTION_H

#include "nn/layers.h"

// Multi-head attention, batch first, as torch.nn.MultiheadAttention:
//   q (B, T, d), k and v (B, S, d) -> (B, T, d)
//   heads = softmax(q_h k_h^T / sqrt(d / H), key padding mask) v_h, joined, then out_proj.
typedef struct gw_mha {
  gw_nn *nn;
  gw_linear_m q_proj, k_proj, v_proj, out_proj;
  int64_t dim, heads;
  float dropout;  // on the attention weights
} gw_mha;
void gw_mha_init(gw_mha *m, gw_nn *nn, const char *name, int64_t dim, int64_t heads, float dropout);
// key_keep: int32 (B, S), 1 for a real key and 0 for padding; may be NULL. If attn is not NULL
// it receives the attention weights (B, H, T, S) (after the mask, before dropout).
gw_tensor *gw_mha_forward(const gw_mha *m, gw_tensor *q, gw_tensor *k, gw_tensor *v,
                          const gw_tensor *key_keep, gw_tensor **attn);

// torch.nn.TransformerEncoderLayer (batch_first):
//   post-norm: x = LN1(x + drop(SA(x)));  x = LN2(x + drop(FFN(x)))
//   pre-norm:  x = x + drop(SA(LN1(x)));  x = x + drop(FFN(LN2(x)))
//   FFN(x) = W2 drop(act(W1 x))
typedef struct gw_encoder_layer {
  gw_nn *nn;
  gw_mha attn;
  gw_linear_m ff1, ff2;
  gw_layernorm_m norm1, norm2;
  gw_activation act;
  float dropout;
  bool pre_norm;
} gw_encoder_layer;
void gw_encoder_layer_init(gw_encoder_layer *m, gw_nn *nn, const char *name, int64_t dim,
                           int64_t heads, int64_t ff_dim, float dropout, gw_activation act,
                           bool pre_norm);
gw_tensor *gw_encoder_layer_forward(const gw_encoder_layer *m, gw_tensor *x,
                                    const gw_tensor *key_keep);

// A cross-attention layer: queries x (B, T, d) attend to memory (B, S, d), with a residual,
// layer norm (pre or post) and an optional FFN, like a transformer decoder layer without its
// self-attention.
typedef struct gw_cross_layer {
  gw_nn *nn;
  gw_mha attn;
  bool has_ffn;
  gw_linear_m ff1, ff2;
  gw_layernorm_m norm1, norm2, norm_mem;
  gw_activation act;
  float dropout;
  bool pre_norm;
} gw_cross_layer;
void gw_cross_layer_init(gw_cross_layer *m, gw_nn *nn, const char *name, int64_t dim, int64_t heads,
                         int64_t ff_dim, float dropout, gw_activation act, bool pre_norm);
// ff_dim = 0 leaves out the FFN. attn (may be NULL) receives (B, H, T, S).
gw_tensor *gw_cross_layer_forward(const gw_cross_layer *m, gw_tensor *x, gw_tensor *memory,
                                  const gw_tensor *mem_keep, gw_tensor **attn);

// One-layer GRU, batch first, as torch.nn.GRU (gates r, z, n):
//   r = s(W_ir x + b_ir + W_hr h + b_hr),  z = s(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
// With lengths, a sequence's state stops changing after its last token, so the final state
// is the state at the last real token (as with packed sequences) and padded outputs are 0.
typedef struct gw_gru {
  gw_tensor *w_ih, *w_hh, *b_ih, *b_hh;  // (3H, in), (3H, H), (3H), (3H); gate order r, z, n
  int64_t in, hidden;
  bool bidirectional;
  gw_tensor *w_ih_r, *w_hh_r, *b_ih_r, *b_hh_r;  // the reverse direction
} gw_gru;
void gw_gru_init(gw_gru *m, gw_nn *nn, const char *name, int64_t in, int64_t hidden,
                 bool bidirectional);
// x (B, T, in), lengths int32 (B) or NULL -> outputs (B, T, H or 2H); *last (B, H or 2H) gets
// the final state (forward's at the last real token, concatenated with backward's at t = 0).
gw_tensor *gw_gru_forward(const gw_gru *m, gw_tensor *x, const gw_tensor *lengths, gw_tensor **last);

#endif
