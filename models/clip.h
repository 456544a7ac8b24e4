// A tiny CLIP (Radford et al., 2021), trained from scratch on captions: the shared contrastive
// base that VT-CLIP adapts (models/vtclip.c) and EpmVG distils. shared/papers.md §2.5, §6.
//
//   image:  ViT (patch embedding) or a small CNN down to S/8, giving N tokens (B, N, W);
//           a class token and positions are added, then transformer layers; the class token
//           is the global feature, the other tokens the dense ones
//   text:   word + position embeddings (B, L, W) -> transformer layers (key padding mask)
//           -> the mean of the real words
//   both are projected (no bias) into the joint space of size E; the loss is the symmetric
//   InfoNCE with a learnable temperature (logit scale exp(s), s = log(1 / 0.07) at the start,
//   capped at 100)
//
// The encoders are exposed so other models can use a (frozen) CLIP: VT-CLIP reads the dense
// tokens, which CLIP itself only uses through the class token.
#ifndef GW_MODELS_CLIP_H
#define GW_MODELS_CLIP_H

#include "datasets/vocab.h"
#include "models/model.h"

typedef struct gw_clip gw_clip;

// Builds a CLIP from the model.* keys of the clip schema, its parameters named under prefix
// ("" or "clip": "clip.visual.proj").
gw_clip *gw_clip_create(gw_nn *nn, const char *prefix, const gw_config *cfg, const gw_model_info *info);
void gw_clip_destroy(gw_clip *m);
int64_t gw_clip_embed_dim(const gw_clip *m);

// images (B, 3, S, S) -> global (B, E) and, if dense is not NULL, dense (B, N, E): the
// projected class token and the projected image tokens, not normalised. The N = (S/8)^2
// tokens are in row-major order over the S/8 x S/8 grid.
gw_tensor *gw_clip_encode_image(gw_clip *m, gw_tensor *images, gw_tensor **dense);
// tokens (B, L) int32, keep (B, L) int32 (1 for a real word) -> (B, E), not normalised
gw_tensor *gw_clip_encode_text(gw_clip *m, const gw_tensor *tokens, const gw_tensor *keep);
// n texts through the tokenizer and the vocabulary, padded to max_len -> (n, E), not normalised
gw_tensor *gw_clip_encode_texts(gw_clip *m, const gw_vocab *v, int max_len, int n,
                                const char *const *texts);

// A trained CLIP read from a checkpoint of `gw train configs/clip.yaml`, frozen: it lives in
// a registry of its own (in evaluation mode, outside any optimizer), with the vocabulary and
// text length it was trained with.
typedef struct gw_clip_frozen {
  gw_nn nn;
  gw_clip *clip;
  gw_vocab vocab;
  gw_model_info info;
} gw_clip_frozen;
// -1 with gw_last_error() naming the file (not a CLIP checkpoint, missing tensors, ...).
int gw_clip_load_frozen(gw_clip_frozen *f, const char *ckpt_path);
void gw_clip_frozen_free(gw_clip_frozen *f);

#endif
