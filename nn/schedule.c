#include "nn/schedule.h"

#include <math.h>
#include <string.h>

#include "tensor/error.h"

float gw_schedule_factor(const gw_schedule *s, int64_t step) {
  switch (s->kind) {
    case GW_SCHED_CONSTANT: return 1.0f;
    case GW_SCHED_STEP:
      GW_CHECK(s->step_size > 0, "schedule: step needs step_size > 0");
      return powf(s->gamma, (float)(step / s->step_size));
    case GW_SCHED_WARMUP_COSINE: {
      if (step < s->warmup_steps) return (float)(step + 1) / (float)s->warmup_steps;
      int64_t span = s->total_steps - s->warmup_steps;
      double progress = span > 0 ? (double)(step - s->warmup_steps) / (double)span : 1.0;
      if (progress > 1.0) progress = 1.0;
      return s->min_factor + (1.0f - s->min_factor) * (float)(0.5 * (1.0 + cos(M_PI * progress)));
    }
  }
  return 1.0f;
}

gw_schedule_kind gw_schedule_kind_from_name(const char *name) {
  if (!strcmp(name, "constant")) return GW_SCHED_CONSTANT;
  if (!strcmp(name, "step")) return GW_SCHED_STEP;
  if (!strcmp(name, "warmup_cosine")) return GW_SCHED_WARMUP_COSINE;
  gw_fatal("unknown schedule '%s' (constant, step, warmup_cosine)", name);
}
