// Probes: the named intermediate tensors of one forward pass (see probe.h).
#include "models/probe.h"

#include <stdio.h>
#include <string.h>

static gw_probe_set *active;

void gw_probe_begin(gw_probe_set *set) {
  memset(set, 0, sizeof *set);
  active = set;
}

void gw_probe_end(void) { active = NULL; }

bool gw_probe_on(void) { return active != NULL; }

void gw_probe_keep(const char *prefix, const char *what, gw_tensor *t, int extra) {
  if (!active) return;
  if (active->n == GW_PROBE_MAX) {
    if (active->n++ == GW_PROBE_MAX)
      fprintf(stderr, "probe: more than %d tensors; the rest are not kept\n", GW_PROBE_MAX);
    return;
  }
  if (active->n > GW_PROBE_MAX) return;
  int i = active->n++;
  snprintf(active->names[i], GW_PROBE_NAME, "%s.%s", prefix, what);
  active->tensors[i] = t;
  active->ints[i] = extra;
}

gw_tensor *gw_probe_get(const gw_probe_set *set, const char *name, int *extra) {
  int n = set->n < GW_PROBE_MAX ? set->n : GW_PROBE_MAX;
  for (int i = 0; i < n; i++)
    if (!strcmp(set->names[i], name)) {
      if (extra) *extra = set->ints[i];
      return set->tensors[i];
    }
  return NULL;
}
