// shapes world scenes: the vocabulary tables, the knobs of each difficulty, per-image random
// streams, and object placement by rejection sampling (shared/datasets.md §6.3, §6.9, §6.10).
#include <math.h>
#include <string.h>

#include "datasets/sw.h"

const char *const sw_shape_names[SW_N_SHAPES] = {"circle", "square", "triangle", "diamond",
                                                 "star",   "cross",  "pentagon", "hexagon"};
const char *const sw_color_names[SW_N_COLORS] = {"red",     "green", "blue",   "yellow",
                                                 "magenta", "cyan",  "orange", "white"};
const char *const sw_size_names[SW_N_SIZES] = {"small", "large", "medium"};
const char *const sw_style_names[SW_N_STYLES] = {"solid", "outline"};
const uint8_t sw_color_rgb[SW_N_COLORS][3] = {
    {220, 40, 40}, {40, 170, 60},  {50, 80, 220},  {230, 210, 40},
    {200, 60, 200}, {40, 200, 210}, {240, 140, 30}, {240, 240, 240},
};
const char *const sw_split_names[SW_N_SPLITS] = {"train", "val", "testA", "testB", "test_comp",
                                                 "test_hard"};

// ---- random streams ----

static uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
  return h;
}

gw_rng sw_image_rng(uint64_t seed, const char *split, int64_t index) {
  // The spec's splitmix64(seed ^ H(split) ^ index), used as the key of a Philox stream.
  uint64_t key = splitmix64(seed ^ fnv1a(split) ^ splitmix64((uint64_t)index));
  return (gw_rng){.key = key, .counter = 0};
}

// ---- knobs ----

int sw_config_defaults(sw_config *c, const char *difficulty, int img_size) {
  memset(c, 0, sizeof *c);
  c->seed = 0;
  c->img_size = img_size;
  c->gap_px = 2.0f;
  c->bg_mode = SW_BG_SOLID;
  c->bg_jitter = 8;
  c->size_jitter = 0.1f;
  c->sents_per_ref = 2;
  c->captions_per_image = 5;
  c->questions_per_image = 10;
  c->p_layout_twins = 0.2f;
  c->comp_split = true;
  c->extended_shapes = img_size >= 128;
  float scale = (float)img_size / 64.0f;  // margins are stated at 64 px
  if (!strcmp(difficulty, "easy")) {
    c->n_obj_min = 2, c->n_obj_max = 4;
    c->rel_margin = 5 * scale, c->nearest_ratio = 0.6f, c->min_same_shape = 0;
    c->styles = false, c->rotation = false, c->color_jitter = 6;
    c->p_level[0] = 0.7f, c->p_level[1] = 0.3f;
    c->p_swap = 0.0f, c->p_synonym = 0.0f, c->p_redundant = 0.0f;
    c->refs_per_image = 3;
  } else if (!strcmp(difficulty, "medium")) {
    c->n_obj_min = 3, c->n_obj_max = 6;
    c->rel_margin = 3 * scale, c->nearest_ratio = 0.8f, c->min_same_shape = 1;
    c->styles = true, c->rotation = false, c->color_jitter = 12;
    c->p_level[0] = 0.3f, c->p_level[1] = 0.25f, c->p_level[2] = 0.35f, c->p_level[3] = 0.1f;
    c->p_swap = 0.15f, c->p_synonym = 0.3f, c->p_redundant = 0.2f;
    c->refs_per_image = 3;
  } else if (!strcmp(difficulty, "hard")) {
    c->n_obj_min = 5, c->n_obj_max = 9;
    c->rel_margin = 1 * scale, c->nearest_ratio = 0.9f, c->min_same_shape = 2;
    c->styles = true, c->rotation = true, c->color_jitter = 20, c->bg_mode = SW_BG_NOISE;
    c->p_level[0] = 0.1f, c->p_level[1] = 0.2f, c->p_level[2] = 0.4f, c->p_level[3] = 0.3f;
    c->p_swap = 0.3f, c->p_synonym = 0.5f, c->p_redundant = 0.3f;
    c->refs_per_image = 4;
  } else {
    return -1;
  }
  if (img_size >= 128 && c->n_obj_max < 12) c->n_obj_max += 3;
  c->max_len = c->p_level[3] > 0.0f ? 24 : 16;
  return 0;
}

sw_config sw_config_for_split(const sw_config *c, sw_split split) {
  sw_config s = *c;
  if (split == SW_TEST_HARD) {
    // unseen object counts, the finest margin, the level mix weighted to L3, smaller objects
    s.n_obj_min = c->n_obj_max + 1;
    s.n_obj_max = c->n_obj_max + 3;
    if (s.n_obj_max > SW_MAX_OBJ - 1) s.n_obj_max = SW_MAX_OBJ - 1;
    s.rel_margin = (float)c->img_size / 64.0f;
    s.p_level[0] = 0.1f, s.p_level[1] = 0.2f, s.p_level[2] = 0.3f, s.p_level[3] = 0.4f;
    s.size_jitter = 0.0f;
  }
  return s;
}

// ---- placement ----

// Palette rule (§6.9): with comp_split, group A shapes take C1 = {red, blue, yellow, white} and
// group B shapes C2 = {green, magenta, cyan, orange}, swapped in test_comp; circles (and the
// extended shapes) take any colour.
bool sw_color_allowed(const sw_config *c, sw_split split, int shape, int color) {
  if (!c->comp_split || shape == SW_CIRCLE || shape >= SW_PENTAGON) return true;
  bool c1 = color == SW_RED || color == SW_BLUE || color == SW_YELLOW || color == SW_WHITE;
  bool group_a = sw_shape_group(shape) == 0;
  bool want_c1 = split == SW_TEST_COMP ? !group_a : group_a;
  return c1 == want_c1;
}

static int n_shapes(const sw_config *c) { return c->extended_shapes ? SW_N_SHAPES : SW_PENTAGON; }

static float radius_of(const sw_config *c, int size, gw_rng *r) {
  static const float frac[SW_N_SIZES] = {0.07f, 0.13f, 0.10f};
  float jitter = c->size_jitter * (2.0f * gw_rng_float(r) - 1.0f);
  return frac[size] * (float)c->img_size * (1.0f + jitter);
}

// The object's colour, each channel moved by up to +-color_jitter.
static void jitter_color(const sw_config *c, gw_rng *r, sw_object *o) {
  for (int k = 0; k < 3; k++) {
    int v = sw_color_rgb[o->color][k];
    if (c->color_jitter > 0) v += (int)gw_rng_below(r, (uint64_t)(2 * c->color_jitter + 1)) - c->color_jitter;
    o->rgb[k] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
  }
}

static void sample_attrs(const sw_config *c, sw_split split, gw_rng *r, int forced_shape,
                         sw_object *o) {
  o->shape = forced_shape >= 0 ? forced_shape : (int)gw_rng_below(r, (uint64_t)n_shapes(c));
  int allowed[SW_N_COLORS], n = 0;
  for (int k = 0; k < SW_N_COLORS; k++)
    if (sw_color_allowed(c, split, o->shape, k)) allowed[n++] = k;
  o->color = allowed[gw_rng_below(r, (uint64_t)n)];
  o->size = (int)gw_rng_below(r, c->medium_size ? 3 : 2);
  o->style = c->styles ? (int)gw_rng_below(r, 2) : SW_SOLID;
  o->rot = c->rotation && o->shape != SW_CIRCLE ? (int)gw_rng_below(r, 8) : 0;
  jitter_color(c, r, o);
}

static bool fits(const sw_config *c, const sw_scene *s, const sw_object *o) {
  for (int j = 0; j < s->n; j++) {
    const sw_object *p = &s->obj[j];
    float dx = o->cx - p->cx, dy = o->cy - p->cy;
    float need = o->r + p->r + c->gap_px;
    if (dx * dx + dy * dy < need * need) return false;                         // overlap
    if (fabsf(dx) < c->rel_margin || fabsf(dy) < c->rel_margin) return false;  // axis margin
  }
  return true;
}

int sw_scene_sample(const sw_config *c, sw_split split, gw_rng *r, sw_scene *s) {
  float W = (float)c->img_size;
  for (int attempt = 0; attempt < 10; attempt++) {
    memset(s, 0, sizeof *s);
    s->bg_mode = c->bg_mode;
    int n = c->n_obj_min + (int)gw_rng_below(r, (uint64_t)(c->n_obj_max - c->n_obj_min + 1));
    // testA / testB: two objects share a shape of the split's group (RefCOCO's several
    // instances of the category); elsewhere min_same_shape objects repeat the first's shape.
    int focus = -1, repeats = c->min_same_shape;
    if (split == SW_TESTA || split == SW_TESTB) {
      focus = (split == SW_TESTA ? 0 : 3) + (int)gw_rng_below(r, 3);
      repeats = repeats > 1 ? repeats : 1;
    }
    int failures = 0;
    while (s->n < n && failures < 10) {
      sw_object o = {0};
      int forced = -1;
      if (focus >= 0 && s->n <= repeats) forced = focus;
      else if (focus < 0 && s->n >= 1 && s->n <= repeats) forced = s->obj[0].shape;
      sample_attrs(c, split, r, forced, &o);
      bool placed = false;
      for (int retry = 0; retry < 50 && !placed; retry++) {
        o.r = radius_of(c, o.size, r);
        float lo = o.r + 1.0f, hi = W - 1.0f - o.r;
        if (hi <= lo) continue;
        o.cx = lo + (hi - lo) * gw_rng_float(r);
        o.cy = lo + (hi - lo) * gw_rng_float(r);
        placed = fits(c, s, &o);
      }
      if (!placed) {
        failures++;
        continue;
      }
      o.id = s->n;
      s->obj[s->n++] = o;
    }
    if (s->n == n) return 0;
  }
  return -1;
}

// A scene planted with a swap pair (§6.5): targets T1, T2 and anchors A1, A2 of two shapes s1
// and s2, where one attribute X (size or colour) takes the values v1 / v2 crosswise:
//   T1 = (s1, v1) rel A1 = (s2, v2)      T2 = (s1, v2) rel A2 = (s2, v1)
// plus one more (s1, v1) not in relation with A1 and one more (s1, v2) not in relation with
// A2, so that the attribute words alone never suffice. Then "the v1 s1 rel the v2 s2" and
// "the v2 s1 rel the v1 s2" are both valid, with the same words, for different targets.
int sw_scene_sample_swap(const sw_config *c, sw_split split, gw_rng *r, sw_scene *s) {
  if (c->n_obj_max < 6) return -1;
  float W = (float)c->img_size;
  int s1 = (int)gw_rng_below(r, SW_PENTAGON), s2 = (int)gw_rng_below(r, SW_PENTAGON - 1);
  if (s2 >= s1) s2++;
  // colours both shapes may take here (the palette rule), for X = colour
  int both[SW_N_COLORS], nb = 0;
  for (int k = 0; k < SW_N_COLORS; k++)
    if (sw_color_allowed(c, split, s1, k) && sw_color_allowed(c, split, s2, k)) both[nb++] = k;
  int attr = nb >= 2 && gw_rng_below(r, 2) ? SW_ATTR_COLOR : SW_ATTR_SIZE;
  int v1, v2;
  if (attr == SW_ATTR_COLOR) {
    int i = (int)gw_rng_below(r, (uint64_t)nb), j = (int)gw_rng_below(r, (uint64_t)nb - 1);
    if (j >= i) j++;
    v1 = both[i], v2 = both[j];
  } else {
    v1 = (int)gw_rng_below(r, 2), v2 = 1 - v1;
  }
  int rel = (int)gw_rng_below(r, 4);
  // test_hard asks for more objects than the six roles: fillers of the other shapes
  int n_total = 6;
  if (c->n_obj_min > 6)
    n_total = c->n_obj_min + (int)gw_rng_below(r, (uint64_t)(c->n_obj_max - c->n_obj_min + 1));
  // roles: 0 T1, 1 A1, 2 T2, 3 A2, 4 D1, 5 D2
  const int shape_of[6] = {s1, s2, s1, s2, s1, s1};
  const int value_of[6] = {v1, v2, v2, v1, v1, v2};
  for (int attempt = 0; attempt < 200; attempt++) {
    memset(s, 0, sizeof *s);
    s->bg_mode = c->bg_mode;
    for (int k = 0; k < 6; k++) {
      sw_object o = {0};
      sample_attrs(c, split, r, shape_of[k], &o);
      if (attr == SW_ATTR_COLOR) {
        o.color = value_of[k];
        jitter_color(c, r, &o);
      } else {
        o.size = value_of[k];
      }
      bool placed = false;
      for (int retry = 0; retry < 50 && !placed; retry++) {
        o.r = radius_of(c, o.size, r);
        float lo = o.r + 1.0f, hi = W - 1.0f - o.r;
        o.cx = lo + (hi - lo) * gw_rng_float(r);
        o.cy = lo + (hi - lo) * gw_rng_float(r);
        placed = fits(c, s, &o);
      }
      if (!placed) break;
      o.id = s->n;
      s->obj[s->n++] = o;
    }
    if (s->n < 6) continue;
    if (!(sw_rel_holds(c, s, rel, 0, 1) && !sw_rel_holds(c, s, rel, 4, 1) &&
          sw_rel_holds(c, s, rel, 2, 3) && !sw_rel_holds(c, s, rel, 5, 3)))
      continue;
    while (s->n < n_total) {
      sw_object o = {0};
      int other = (int)gw_rng_below(r, SW_PENTAGON - 2);
      other += other >= (s1 < s2 ? s1 : s2);
      other += other >= (s1 < s2 ? s2 : s1);
      sample_attrs(c, split, r, other, &o);
      o.r = radius_of(c, o.size, r);
      if (sw_object_place(c, s, r, &o) < 0) break;
      o.id = s->n;
      s->obj[s->n++] = o;
    }
    if (s->n == n_total) return 0;
  }
  return -1;
}

// ---- building scenes object by object (layout twins, few-shot images) ----

void sw_object_sample(const sw_config *c, sw_split split, gw_rng *r, int shape, int color,
                      int size, sw_object *o) {
  memset(o, 0, sizeof *o);
  sample_attrs(c, split, r, shape, o);
  if (color >= 0 && color != o->color) {
    o->color = color;
    jitter_color(c, r, o);
  }
  if (size >= 0) o->size = size;
  o->r = radius_of(c, o->size, r);
}

int sw_object_place(const sw_config *c, const sw_scene *s, gw_rng *r, sw_object *o) {
  float W = (float)c->img_size, lo = o->r + 1.0f, hi = W - 1.0f - o->r;
  if (hi <= lo) return -1;
  for (int retry = 0; retry < 50; retry++) {
    o->cx = lo + (hi - lo) * gw_rng_float(r);
    o->cy = lo + (hi - lo) * gw_rng_float(r);
    if (fits(c, s, o)) return 0;
  }
  return -1;
}
