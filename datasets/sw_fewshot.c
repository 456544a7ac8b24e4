// Few-shot classification sub-data-sets of shapes world (shared/datasets.md §6.8), the
// counterparts of CoOp's data sets: one object per image classified by shape, colour or both, a
// number of objects, and a domain-shifted shape set (noisy or textured background, clutter).
//
// The images follow the palette rule of the train split (sw_color_allowed), like every other
// image of the data set, so the class names stay true to the world the captions describe.
#include <stdio.h>
#include <string.h>

#include "datasets/sw_text.h"

const char *const sw_fewshot_task_names[SW_N_FS_TASKS] = {"sw-shape", "sw-color", "sw-combo",
                                                          "sw-count", "sw-shape-noisy"};

enum { MAX_COUNT = 8 };

static int n_shapes(const sw_config *c) { return c->extended_shapes ? SW_N_SHAPES : SW_PENTAGON; }
static int below(gw_rng *r, int n) { return (int)gw_rng_below(r, (uint64_t)n); }

// sw-combo's classes are the (shape, colour) pairs that exist in the train split, in shape-major
// order. With comp_split on, that is 28 of the 48 pairs (44 of the 64 with the extended shapes):
// a pair no image can show would be a class without examples. With it off, all pairs.
static bool combo_pair(const sw_config *c, int cls, int *shape, int *color) {
  int k = 0;
  for (int sh = 0; sh < n_shapes(c); sh++)
    for (int col = 0; col < SW_N_COLORS; col++) {
      if (!sw_color_allowed(c, SW_TRAIN, sh, col)) continue;
      if (k++ == cls) {
        *shape = sh, *color = col;
        return true;
      }
    }
  return false;
}

int sw_fewshot_n_classes(const sw_config *c, int task) {
  switch (task) {
    case SW_FS_SHAPE:
    case SW_FS_SHAPE_NOISY: return n_shapes(c);  // the noisy set is a test of the shape classifier
    case SW_FS_COLOR: return SW_N_COLORS;
    case SW_FS_COMBO: {
      int n = 0;
      for (int sh = 0; sh < n_shapes(c); sh++)
        for (int col = 0; col < SW_N_COLORS; col++) n += sw_color_allowed(c, SW_TRAIN, sh, col);
      return n;
    }
    case SW_FS_COUNT: return MAX_COUNT;
    default: return 0;
  }
}

void sw_fewshot_class_name(const sw_config *c, int task, int cls, char *buf, int len) {
  int shape = 0, color = 0;
  buf[0] = '\0';
  if (cls < 0 || cls >= sw_fewshot_n_classes(c, task)) return;
  switch (task) {
    case SW_FS_SHAPE:
    case SW_FS_SHAPE_NOISY: snprintf(buf, (size_t)len, "%s", sw_shape_names[cls]); break;
    case SW_FS_COLOR: snprintf(buf, (size_t)len, "%s", sw_color_names[cls]); break;
    case SW_FS_COMBO:
      combo_pair(c, cls, &shape, &color);
      snprintf(buf, (size_t)len, "%s %s", sw_color_names[color], sw_shape_names[shape]);
      break;
    case SW_FS_COUNT:
      snprintf(buf, (size_t)len, "%s %s", sw_number_words[cls + 1], cls ? "shapes" : "shape");
      break;
  }
}

// the templates of §6.8, word for word ("a picture of a orange circle." included)
const char *const sw_fewshot_templates[SW_N_FS_TASKS] = {
    "a picture of a %s shape.", "a picture of something %s.", "a picture of a %s.",
    "a picture of %s.", "a picture of a %s shape."};

void sw_fewshot_prompt(const sw_config *c, int task, int cls, char *buf, int len) {
  char name[64];
  sw_fewshot_class_name(c, task, cls, name, sizeof name);
  buf[0] = '\0';
  if (task >= 0 && task < SW_N_FS_TASKS && name[0])
    snprintf(buf, (size_t)len, sw_fewshot_templates[task], name);
}

// Places o as the next object of s; 0 on success.
static int add_object(const sw_config *c, sw_scene *s, gw_rng *r, sw_object *o) {
  if (sw_object_place(c, s, r, o) < 0) return -1;
  o->id = s->n;
  s->obj[s->n++] = *o;
  return 0;
}

static int one_try(const sw_config *c, int task, int cls, int attempt, gw_rng *r, sw_scene *s) {
  sw_object o;
  int shape = 0, color = 0;
  switch (task) {
    case SW_FS_SHAPE:
      sw_object_sample(c, SW_TRAIN, r, cls, -1, -1, &o);
      return add_object(c, s, r, &o);
    case SW_FS_COLOR: {  // any shape that may take the colour
      int shapes[SW_N_SHAPES], n = 0;
      for (int sh = 0; sh < n_shapes(c); sh++)
        if (sw_color_allowed(c, SW_TRAIN, sh, cls)) shapes[n++] = sh;
      sw_object_sample(c, SW_TRAIN, r, shapes[below(r, n)], cls, -1, &o);
      return add_object(c, s, r, &o);
    }
    case SW_FS_COMBO:
      combo_pair(c, cls, &shape, &color);
      sw_object_sample(c, SW_TRAIN, r, shape, color, -1, &o);
      return add_object(c, s, r, &o);
    case SW_FS_COUNT:
      // cls + 1 objects; after a few failed layouts, small ones only (eight large objects do
      // not always fit a small image)
      for (int k = 0; k <= cls; k++) {
        sw_object_sample(c, SW_TRAIN, r, -1, -1, attempt >= 5 ? SW_SMALL : -1, &o);
        if (add_object(c, s, r, &o) < 0) return -1;
      }
      return 0;
    case SW_FS_SHAPE_NOISY: {
      // The large object is the one to classify; two or three small clutter objects of other
      // shapes, on value noise or stripes / checks.
      s->bg_mode = below(r, 2) ? SW_BG_NOISE : SW_BG_TEXTURE;
      sw_object_sample(c, SW_TRAIN, r, cls, -1, SW_LARGE, &o);
      if (add_object(c, s, r, &o) < 0) return -1;
      int n_clutter = 2 + below(r, 2);
      for (int k = 0; k < n_clutter; k++) {
        int other = below(r, n_shapes(c) - 1);
        sw_object_sample(c, SW_TRAIN, r, other >= cls ? other + 1 : other, -1, SW_SMALL, &o);
        if (add_object(c, s, r, &o) < 0) return -1;
      }
      return 0;
    }
    default: return -1;
  }
}

int sw_fewshot_scene(const sw_config *c, int task, int cls, gw_rng *r, sw_scene *s) {
  if (cls < 0 || cls >= sw_fewshot_n_classes(c, task)) return -1;
  // crowded layouts (eight objects under the wide margin of easy) can take many restarts; each
  // is cheap
  for (int attempt = 0; attempt < 400; attempt++) {
    memset(s, 0, sizeof *s);
    s->bg_mode = c->bg_mode;
    if (one_try(c, task, cls, attempt, r, s) == 0) return 0;
  }
  return -1;
}
