// Learning-rate schedules: a factor of the base learning rate for each step.
#ifndef GW_NN_SCHEDULE_H
#define GW_NN_SCHEDULE_H

#include <stdint.h>

typedef enum gw_schedule_kind { GW_SCHED_CONSTANT, GW_SCHED_STEP, GW_SCHED_WARMUP_COSINE } gw_schedule_kind;

typedef struct gw_schedule {
  gw_schedule_kind kind;
  int64_t total_steps;   // WARMUP_COSINE: the length of the whole run
  int64_t warmup_steps;  // WARMUP_COSINE: linear warm-up from lr/warmup to lr
  float min_factor;      // WARMUP_COSINE: the factor reached at the end (0 = decay to 0)
  int64_t step_size;     // STEP: multiply by gamma every step_size steps
  float gamma;
} gw_schedule;

// The factor for update number `step` (0 for the first update):
//   constant:       1
//   step:           gamma ^ floor(step / step_size)
//   warmup_cosine:  (step + 1) / warmup during warm-up, then
//                   min + (1 - min) * (1 + cos(pi * progress)) / 2, progress from 0 to 1
float gw_schedule_factor(const gw_schedule *s, int64_t step);
// "constant", "step", "warmup_cosine"; stops on an unknown name
gw_schedule_kind gw_schedule_kind_from_name(const char *name);

#endif
