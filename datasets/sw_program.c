// The executor: runs CLEVR-like programs over a scene graph (shared/datasets.md §6.4, §6.5).
#include <math.h>

#include "datasets/sw.h"

const char *const sw_rel_names[SW_N_RELS] = {"left", "right", "above", "below", "closest",
                                             "farthest"};
const char *const sw_loc_names[SW_N_LOCS] = {"left", "right", "top", "bottom", "top_left",
                                             "top_right", "bottom_left", "bottom_right"};
const char *const sw_op_names[SW_OP_COUNT_] = {"scene", "filter", "unique", "relate", "nearest",
                                               "intersect", "ordinal", "locate"};

int sw_attr_of(const sw_object *o, int attr) {
  switch (attr) {
    case SW_ATTR_SHAPE: return o->shape;
    case SW_ATTR_COLOR: return o->color;
    case SW_ATTR_SIZE: return o->size;
    default: return o->style;
  }
}

bool sw_rel_holds(const sw_config *c, const sw_scene *s, int rel, int j, int i) {
  const sw_object *a = &s->obj[j], *b = &s->obj[i];
  float d = c->rel_margin;
  switch (rel) {
    case SW_LEFT: return a->cx <= b->cx - d;
    case SW_RIGHT: return a->cx >= b->cx + d;
    case SW_ABOVE: return a->cy <= b->cy - d;  // y points down; "above" is a smaller y
    case SW_BELOW: return a->cy >= b->cy + d;
    default: return false;
  }
}

static float dist2(const sw_scene *s, int a, int b) {
  float dx = s->obj[a].cx - s->obj[b].cx, dy = s->obj[a].cy - s->obj[b].cy;
  return dx * dx + dy * dy;
}

// Closest (or farthest) member of set to anchor, if it wins by the ratio rho; -1 otherwise.
static int nearest(const sw_config *c, const sw_scene *s, uint32_t set, int anchor, bool far) {
  set &= ~(1u << anchor);
  int best = -1, second = -1;
  for (int j = 0; j < s->n; j++) {
    if (!(set >> j & 1)) continue;
    float dj = dist2(s, j, anchor);
    bool better = best < 0 || (far ? dj > dist2(s, best, anchor) : dj < dist2(s, best, anchor));
    if (better) {
      second = best;
      best = j;
    } else if (second < 0 || (far ? dj > dist2(s, second, anchor) : dj < dist2(s, second, anchor))) {
      second = j;
    }
  }
  if (best < 0) return -1;
  if (second < 0) return best;  // the only candidate
  float d1 = sqrtf(dist2(s, best, anchor)), d2 = sqrtf(dist2(s, second, anchor));
  // closest: d1 <= rho d2; farthest: d1 rho >= d2 (the winner is clearly the winner)
  bool clear = far ? d1 * c->nearest_ratio >= d2 : d1 <= c->nearest_ratio * d2;
  return clear ? best : -1;
}

// Position of an object along a direction (smaller = counted first).
static float along(const sw_object *o, int dir) {
  switch (dir) {
    case SW_FROM_LEFT: return o->cx;
    case SW_FROM_RIGHT: return -o->cx;
    case SW_FROM_TOP: return o->cy;
    default: return -o->cy;
  }
}

static int ordinal(const sw_scene *s, uint32_t set, int dir, int k) {
  if (sw_popcount(set) < k) return -1;
  // the member with exactly k-1 members before it (margins make the order strict)
  for (int j = 0; j < s->n; j++) {
    if (!(set >> j & 1)) continue;
    int before = 0;
    for (int i = 0; i < s->n; i++)
      if ((set >> i & 1) && along(&s->obj[i], dir) < along(&s->obj[j], dir)) before++;
    if (before == k - 1) return j;
  }
  return -1;
}

// Quadrant of an object, or -1 inside the dead band of +-delta around the centre lines.
static int quadrant(const sw_config *c, const sw_object *o) {
  float mid = (float)c->img_size / 2.0f, d = c->rel_margin;
  if (fabsf(o->cx - mid) < d || fabsf(o->cy - mid) < d) return -1;
  bool right = o->cx > mid, bottom = o->cy > mid;
  return bottom ? (right ? SW_LOC_BOTTOM_RIGHT : SW_LOC_BOTTOM_LEFT)
                : (right ? SW_LOC_TOP_RIGHT : SW_LOC_TOP_LEFT);
}

static int locate(const sw_config *c, const sw_scene *s, uint32_t set, int loc) {
  if (loc <= SW_LOC_BOTTOM) {  // "on the left" and co. name one of exactly two
    if (sw_popcount(set) != 2) return -1;
    static const int dir_of[4] = {SW_FROM_LEFT, SW_FROM_RIGHT, SW_FROM_TOP, SW_FROM_BOTTOM};
    return ordinal(s, set, dir_of[loc], 1);
  }
  int found = -1;
  for (int j = 0; j < s->n; j++) {
    if (!(set >> j & 1) || quadrant(c, &s->obj[j]) != loc) continue;
    if (found >= 0) return -1;  // two in that corner
    found = j;
  }
  return found;
}

// Runs the program, leaving every node's output set in val.
static uint32_t exec_nodes(const sw_config *c, const sw_scene *s, const sw_program *p, int identity,
                           bool *valid, uint32_t val[SW_MAX_NODES]) {
  uint32_t all = s->n >= 32 ? 0xFFFFFFFFu : (1u << s->n) - 1;
  *valid = true;
  for (int k = 0; k < p->n; k++) {
    const sw_node *nd = &p->node[k];
    uint32_t a = nd->op == SW_OP_SCENE ? 0 : val[nd->in[0]];
    uint32_t out = 0;
    if (k == identity) {
      val[k] = nd->op == SW_OP_RELATE ? all : a;
      continue;
    }
    switch (nd->op) {
      case SW_OP_SCENE: out = all; break;
      case SW_OP_FILTER:
        for (int j = 0; j < s->n; j++)
          if ((a >> j & 1) && sw_attr_of(&s->obj[j], nd->attr) == nd->value) out |= 1u << j;
        break;
      case SW_OP_UNIQUE:
        if (sw_popcount(a) != 1) *valid = false;
        out = a;
        break;
      case SW_OP_RELATE: {
        if (sw_popcount(a) != 1) {
          *valid = false;
          break;
        }
        int i = sw_first(a);
        for (int j = 0; j < s->n; j++)
          if (j != i && sw_rel_holds(c, s, nd->rel, j, i)) out |= 1u << j;
        break;
      }
      case SW_OP_NEAREST: {
        uint32_t anchor = val[nd->in[1]];
        if (sw_popcount(anchor) != 1) {
          *valid = false;
          break;
        }
        int j = nearest(c, s, a, sw_first(anchor), nd->rel == SW_FARTHEST);
        if (j < 0) *valid = false;
        else out = 1u << j;
        break;
      }
      case SW_OP_INTERSECT: out = a & val[nd->in[1]]; break;
      case SW_OP_ORDINAL: {
        int j = ordinal(s, a, nd->dir, nd->k);
        if (j < 0) *valid = false;
        else out = 1u << j;
        break;
      }
      case SW_OP_LOCATE: {
        int j = locate(c, s, a, nd->loc);
        if (j < 0) *valid = false;
        else out = 1u << j;
        break;
      }
    }
    val[k] = out;
  }
  return p->n ? val[p->n - 1] : 0;
}

uint32_t sw_exec(const sw_config *c, const sw_scene *s, const sw_program *p, int identity, bool *valid) {
  uint32_t val[SW_MAX_NODES];
  return exec_nodes(c, s, p, identity, valid, val);
}

uint32_t sw_touched(const sw_config *c, const sw_scene *s, const sw_program *p) {
  uint32_t val[SW_MAX_NODES];
  bool valid;
  uint32_t touched = exec_nodes(c, s, p, -1, &valid, val);  // the referent
  for (int k = 0; k < p->n; k++) {
    const sw_node *nd = &p->node[k];
    switch (nd->op) {
      case SW_OP_UNIQUE: touched |= val[k]; break;  // an anchor, or the referent
      case SW_OP_ORDINAL:
      case SW_OP_LOCATE: touched |= val[nd->in[0]] | val[k]; break;  // every object counted
      case SW_OP_NEAREST: touched |= val[nd->in[0]] | val[nd->in[1]] | val[k]; break;
      case SW_OP_FILTER: {
        // a noun phrase's set, unless it is a partial one ("circle" on the way to "red
        // circle"), read only by further filters
        bool partial = false;
        for (int j = k + 1; j < p->n; j++)
          if (p->node[j].op == SW_OP_FILTER && p->node[j].in[0] == k) partial = true;
        if (!partial) touched |= val[k];
        break;
      }
      default: break;  // the scene, and regions ("everything left of the anchor"): not named
    }
  }
  return touched;
}

bool sw_picks(const sw_config *c, const sw_scene *s, const sw_program *p, int target) {
  bool valid;
  uint32_t out = sw_exec(c, s, p, -1, &valid);
  return valid && out == 1u << target;
}

bool sw_non_degenerate(const sw_config *c, const sw_scene *s, const sw_program *p, int target) {
  for (int k = 0; k < p->n; k++) {
    int op = p->node[k].op;
    if (op != SW_OP_RELATE && op != SW_OP_NEAREST && op != SW_OP_ORDINAL && op != SW_OP_LOCATE)
      continue;
    bool valid;
    uint32_t out = sw_exec(c, s, p, k, &valid);
    if (valid && out == 1u << target) return false;  // the spatial word was not needed
  }
  return true;
}
