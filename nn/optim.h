// Optimizers (SGD with momentum/Nesterov, Adam, AdamW, LARS), parameter groups, global
// gradient-norm clipping, and an exponential moving average of the weights.
//
// Each update follows PyTorch's formulas step for step (torch.optim.SGD, Adam, AdamW; LARS as
// in the Barlow Twins / VoLTA code), so a run here and its PyTorch twin move the same way.
#ifndef GW_NN_OPTIM_H
#define GW_NN_OPTIM_H

#include "nn/module.h"

typedef enum gw_optim_kind { GW_SGD, GW_ADAM, GW_ADAMW, GW_LARS } gw_optim_kind;

typedef struct gw_optim_cfg {
  gw_optim_kind kind;
  float lr;
  float weight_decay;  // L2 for SGD/Adam/LARS, decoupled for AdamW
  float momentum;      // SGD, LARS (LARS default 0.9)
  float dampening;     // SGD
  bool nesterov;       // SGD
  float beta1, beta2, eps;  // Adam, AdamW (defaults 0.9, 0.999, 1e-8 when left 0)
  float lars_eta;           // LARS trust coefficient (default 0.001 when left 0)
} gw_optim_cfg;

enum { GW_OPTIM_MAX_GROUPS = 8 };

typedef struct gw_param_group {
  char name[32];
  float lr;            // base learning rate (the schedule multiplies it)
  float weight_decay;
  bool lars_adapt;     // LARS: scale this group's updates by the trust ratio
} gw_param_group;

typedef struct gw_optim_slot {
  gw_named *param;
  int group;
  gw_tensor *m;  // momentum buffer (SGD, LARS) or first moment (Adam)
  gw_tensor *v;  // second moment (Adam)
  bool started;  // SGD: the momentum buffer has been initialised
} gw_optim_slot;

typedef struct gw_optim {
  gw_optim_cfg cfg;
  gw_param_group groups[GW_OPTIM_MAX_GROUPS];
  int n_groups;
  gw_optim_slot *slots;
  int n_slots;
  int64_t step;  // updates done so far
} gw_optim;

// Every trainable parameter of nn, in two groups: "decay" (weights) and "no_decay" (biases,
// norm scales and other parameters registered as no_decay), the latter with weight decay 0
// (and, for LARS, no trust-ratio adaptation).
void gw_optim_init(gw_optim *o, gw_nn *nn, gw_optim_cfg cfg);
void gw_optim_free(gw_optim *o);
// Moves the parameters whose name starts with prefix into a new group with its own learning
// rate and weight decay (a pretrained backbone at a lower rate, say); its no_decay parameters
// go to a companion group "<name>_no_decay" with the same rate and no decay. Returns how many
// moved.
int gw_optim_add_group(gw_optim *o, const char *name, const char *prefix, float lr,
                       float weight_decay);
// One update with every group's learning rate multiplied by lr_factor (the schedule's value).
// Parameters no gradient reached since their last zero_grad (unused this step) are left
// alone, as PyTorch does with zero_grad(set_to_none=True).
void gw_optim_step(gw_optim *o, float lr_factor);

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before.
float gw_clip_grad_norm(gw_nn *nn, float max_norm);
// The global L2 norm of all gradients.
float gw_grad_norm(gw_nn *nn);

// Exponential moving average of the weights (and a copy of the buffers):
//   shadow = d * shadow + (1 - d) * param,   d = decay * (1 - exp(-updates / 2000))
// The ramp (YOLOX's) keeps the first thousands of updates from being dominated by the
// initial weights: with a fixed 0.999, a third of the average would still be the
// initialisation after 1000 steps.
typedef struct gw_ema {
  gw_nn *nn;
  gw_tensor **shadow;  // one per registered tensor, same order as nn->items
  int count;
  float decay;
  int64_t updates;     // saved in checkpoints: the ramp continues exactly on resume
} gw_ema;
void gw_ema_init(gw_ema *e, gw_nn *nn, float decay);
void gw_ema_free(gw_ema *e);
void gw_ema_update(gw_ema *e);
// Swaps the model's weights with the averaged ones (call again to swap back): evaluate with
// the EMA weights without copying the model.
void gw_ema_swap(gw_ema *e);

#endif
