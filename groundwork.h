// groundwork: everything in one include, for programs and tests.
#ifndef GROUNDWORK_H
#define GROUNDWORK_H

#include "autograd/autograd.h"
#include "tensor/arena.h"
#include "tensor/error.h"
#include "tensor/h5io.h"
#include "tensor/kernels.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"

#endif
