// nn: modules built from autograd ops, optimal transport, losses, optimizers, schedules and
// saving/loading. One include for all of it.
#ifndef GW_NN_H
#define GW_NN_H

#include "nn/attention.h"
#include "nn/functional.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "nn/optim.h"
#include "nn/ot.h"
#include "nn/schedule.h"
#include "nn/state.h"
#include "nn/vision.h"

#endif
