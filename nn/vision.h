// Vision building blocks: 2-D sine positional encoding, ViT patch embedding, and a small
// ResNet-style CNN backbone.
#ifndef GW_NN_VISION_H
#define GW_NN_VISION_H

#include "nn/layers.h"

// DETR's 2-D sine encoding (normalize = True, scale 2 pi, temperature 10000): a constant
// (dim, H, W) tensor, the first dim/2 channels encoding the row, the rest the column, each
// as interleaved sin/cos of the position over geometric frequencies. dim must be divisible by 4.
gw_tensor *gw_sine_posenc_2d(int64_t dim, int64_t H, int64_t W);

// ViT patch embedding: x (B, C, H, W) -> tokens (B, (H/p)*(W/p), dim), by a conv with kernel
// and stride p.
typedef struct gw_patch_embed {
  gw_conv_m proj;
  int64_t patch, dim;
} gw_patch_embed;
void gw_patch_embed_init(gw_patch_embed *m, gw_nn *nn, const char *name, int64_t in_ch, int64_t dim,
                         int64_t patch);
gw_tensor *gw_patch_embed_forward(const gw_patch_embed *m, gw_tensor *x);

// A ResNet basic block: conv3x3 (stride s) - BN - ReLU - conv3x3 - BN, plus the input
// (through a 1x1 conv + BN when the shape changes), then ReLU.
typedef struct gw_basic_block {
  gw_conv_m conv1, conv2, down;
  gw_batchnorm_m bn1, bn2, down_bn;
  bool has_down;
} gw_basic_block;

enum { GW_BACKBONE_MAX_STAGES = 6, GW_BACKBONE_MAX_BLOCKS = 8 };
// Stem (conv3x3 with stride stem_stride, BN, ReLU) then stages of basic blocks; stage i has
// blocks[i] blocks, channels[i] channels, and its first block has stride strides[i].
typedef struct gw_backbone_cfg {
  int64_t in_ch, stem_ch;
  int stem_stride;
  int n_stages;
  int64_t channels[GW_BACKBONE_MAX_STAGES];
  int blocks[GW_BACKBONE_MAX_STAGES];
  int strides[GW_BACKBONE_MAX_STAGES];
} gw_backbone_cfg;

typedef struct gw_backbone {
  gw_backbone_cfg cfg;
  gw_conv_m stem;
  gw_batchnorm_m stem_bn;
  gw_basic_block blocks[GW_BACKBONE_MAX_STAGES][GW_BACKBONE_MAX_BLOCKS];
} gw_backbone;
void gw_backbone_init(gw_backbone *m, gw_nn *nn, const char *name, const gw_backbone_cfg *cfg);
// x (B, in_ch, H, W) -> (B, channels[last], H / total stride, W / total stride)
gw_tensor *gw_backbone_forward(const gw_backbone *m, gw_tensor *x);
int64_t gw_backbone_out_channels(const gw_backbone *m);

#endif
