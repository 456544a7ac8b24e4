#include "nn/vision.h"

#include <math.h>
#include <stdio.h>

gw_tensor *gw_sine_posenc_2d(int64_t dim, int64_t H, int64_t W) {
  GW_CHECK(dim % 4 == 0, "sine positional encoding: dim %lld must be divisible by 4", (long long)dim);
  int64_t half = dim / 2;
  gw_tensor *pe = gw_empty(GW_F32, GW_SHAPE(dim, H, W));
  float *p = gw_f32(pe);
  const double scale = 2.0 * M_PI, eps = 1e-6, temperature = 10000.0;
  for (int64_t k = 0; k < half; k++) {
    double freq = pow(temperature, (double)(2 * (k / 2)) / (double)half);
    for (int64_t i = 0; i < H; i++)
      for (int64_t j = 0; j < W; j++) {
        // positions count from 1 and are normalised to (0, scale]
        double y = (double)(i + 1) / ((double)H + eps) * scale / freq;
        double x = (double)(j + 1) / ((double)W + eps) * scale / freq;
        p[(k * H + i) * W + j] = (float)(k % 2 == 0 ? sin(y) : cos(y));
        p[((half + k) * H + i) * W + j] = (float)(k % 2 == 0 ? sin(x) : cos(x));
      }
  }
  return pe;
}

void gw_patch_embed_init(gw_patch_embed *m, gw_nn *nn, const char *name, int64_t in_ch, int64_t dim,
                         int64_t patch) {
  m->patch = patch;
  m->dim = dim;
  gw_conv_init(&m->proj, nn, gw_nn_name(name, "proj"), in_ch, dim, (int)patch, (int)patch, 0, 1, true);
}

gw_tensor *gw_patch_embed_forward(const gw_patch_embed *m, gw_tensor *x) {
  GW_CHECK(x->ndim == 4 && x->shape[2] % m->patch == 0 && x->shape[3] % m->patch == 0,
           "patch embedding: image %s does not divide into %lldx%lld patches", gw_shape_str(x),
           (long long)m->patch, (long long)m->patch);
  gw_tensor *y = gw_conv_forward(&m->proj, x);            // (B, dim, h, w)
  y = gw_flatten(y, 2, 3);                                // (B, dim, h*w)
  return gw_transpose(y, 1, 2);                           // (B, h*w, dim)
}

static void block_init(gw_basic_block *b, gw_nn *nn, const char *name, int64_t cin, int64_t cout,
                       int stride) {
  gw_conv_init(&b->conv1, nn, gw_nn_name(name, "conv1"), cin, cout, 3, stride, 1, 1, false);
  gw_batchnorm_init(&b->bn1, nn, gw_nn_name(name, "bn1"), cout, true);
  gw_conv_init(&b->conv2, nn, gw_nn_name(name, "conv2"), cout, cout, 3, 1, 1, 1, false);
  gw_batchnorm_init(&b->bn2, nn, gw_nn_name(name, "bn2"), cout, true);
  b->has_down = stride != 1 || cin != cout;
  if (b->has_down) {
    gw_conv_init(&b->down, nn, gw_nn_name(name, "downsample.0"), cin, cout, 1, stride, 0, 1, false);
    gw_batchnorm_init(&b->down_bn, nn, gw_nn_name(name, "downsample.1"), cout, true);
  }
}

static gw_tensor *block_forward(const gw_basic_block *b, gw_tensor *x) {
  gw_tensor *h = gw_relu(gw_batchnorm_forward(&b->bn1, gw_conv_forward(&b->conv1, x)));
  h = gw_batchnorm_forward(&b->bn2, gw_conv_forward(&b->conv2, h));
  gw_tensor *skip = b->has_down ? gw_batchnorm_forward(&b->down_bn, gw_conv_forward(&b->down, x)) : x;
  return gw_relu(gw_add(h, skip));
}

void gw_backbone_init(gw_backbone *m, gw_nn *nn, const char *name, const gw_backbone_cfg *cfg) {
  GW_CHECK(cfg->n_stages >= 1 && cfg->n_stages <= GW_BACKBONE_MAX_STAGES,
           "backbone '%s': %d stages (1 to %d)", name, cfg->n_stages, GW_BACKBONE_MAX_STAGES);
  m->cfg = *cfg;
  // torchvision's ResNet names: conv1, bn1, layer1.0.conv1, ..., layer1.0.downsample.0
  gw_conv_init(&m->stem, nn, gw_nn_name(name, "conv1"), cfg->in_ch, cfg->stem_ch, 3,
               cfg->stem_stride ? cfg->stem_stride : 1, 1, 1, false);
  gw_batchnorm_init(&m->stem_bn, nn, gw_nn_name(name, "bn1"), cfg->stem_ch, true);
  int64_t cin = cfg->stem_ch;
  for (int s = 0; s < cfg->n_stages; s++) {
    GW_CHECK(cfg->blocks[s] >= 1 && cfg->blocks[s] <= GW_BACKBONE_MAX_BLOCKS,
             "backbone '%s': stage %d has %d blocks (1 to %d)", name, s, cfg->blocks[s],
             GW_BACKBONE_MAX_BLOCKS);
    char stage_leaf[16], block_leaf[16];
    snprintf(stage_leaf, sizeof stage_leaf, "layer%d", s + 1);
    const char *stage = gw_nn_name(name, stage_leaf);
    for (int k = 0; k < cfg->blocks[s]; k++) {
      int stride = k == 0 ? (cfg->strides[s] ? cfg->strides[s] : 1) : 1;
      snprintf(block_leaf, sizeof block_leaf, "%d", k);
      block_init(&m->blocks[s][k], nn, gw_nn_name(stage, block_leaf), cin, cfg->channels[s], stride);
      cin = cfg->channels[s];
    }
  }
}

gw_tensor *gw_backbone_forward(const gw_backbone *m, gw_tensor *x) {
  x = gw_relu(gw_batchnorm_forward(&m->stem_bn, gw_conv_forward(&m->stem, x)));
  for (int s = 0; s < m->cfg.n_stages; s++)
    for (int k = 0; k < m->cfg.blocks[s]; k++) x = block_forward(&m->blocks[s][k], x);
  return x;
}

int64_t gw_backbone_out_channels(const gw_backbone *m) { return m->cfg.channels[m->cfg.n_stages - 1]; }
