// Referring expressions for shapes world (shared/datasets.md §6.5).
//
// An expression is first a structure (which attributes name the target, which location,
// ordinal or relation, which anchors), from which come both its program and its words. It is
// accepted only if the executor, running the program on the scene, returns exactly the target
// with every intermediate `unique` unique, and (for L1-L3) only if removing any spatial node
// breaks that: the spatial words are needed.
#include <stdio.h>
#include <string.h>

#include "datasets/sw.h"

// ---- programs from structures ----

static int add(sw_program *p, sw_node nd) {
  p->node[p->n] = nd;
  return p->n++;
}

// FILTER nodes for the np's attributes, applied to node `in`; returns the last node.
static int np_chain(sw_program *p, const sw_np *np, int in) {
  for (int a = 0; a < SW_N_ATTRS; a++)
    if (np->use[a]) in = add(p, (sw_node){.op = SW_OP_FILTER, .in = {in}, .attr = a, .value = np->val[a]});
  return in;
}

static int scene(sw_program *p) { return add(p, (sw_node){.op = SW_OP_SCENE}); }
static int unique(sw_program *p, int in) { return add(p, (sw_node){.op = SW_OP_UNIQUE, .in = {in}}); }
static bool directional(int rel) { return rel <= SW_BELOW; }

// anchor -> the set related to it (RELATE), for directional relations
static int relate(sw_program *p, int anchor, int rel) {
  return add(p, (sw_node){.op = SW_OP_RELATE, .in = {anchor}, .rel = rel});
}

static void build_program(sw_ref *e) {
  sw_program *p = &e->prog;
  p->n = 0;
  switch (e->kind) {
    case SW_REF_ATTR: unique(p, np_chain(p, &e->np, scene(p))); break;
    case SW_REF_LOC:
      add(p, (sw_node){.op = SW_OP_LOCATE, .in = {np_chain(p, &e->np, scene(p))}, .loc = e->loc});
      break;
    case SW_REF_ORD:
      add(p, (sw_node){.op = SW_OP_ORDINAL, .in = {np_chain(p, &e->np, scene(p))}, .dir = e->dir, .k = e->k});
      break;
    case SW_REF_REL: {
      int a = unique(p, np_chain(p, &e->anchor_np[0], scene(p)));
      if (directional(e->rel[0])) {
        unique(p, np_chain(p, &e->np, relate(p, a, e->rel[0])));
      } else {
        int cand = np_chain(p, &e->np, scene(p));
        add(p, (sw_node){.op = SW_OP_NEAREST, .in = {cand, a}, .rel = e->rel[0]});
      }
      break;
    }
    case SW_REF_CHAIN: {
      int b = unique(p, np_chain(p, &e->anchor_np[1], scene(p)));
      int a = unique(p, np_chain(p, &e->anchor_np[0], relate(p, b, e->rel[1])));
      unique(p, np_chain(p, &e->np, relate(p, a, e->rel[0])));
      break;
    }
    case SW_REF_AND: {
      int a0 = unique(p, np_chain(p, &e->anchor_np[0], scene(p)));
      int r0 = relate(p, a0, e->rel[0]);
      int a1 = unique(p, np_chain(p, &e->anchor_np[1], scene(p)));
      int r1 = relate(p, a1, e->rel[1]);
      int both = add(p, (sw_node){.op = SW_OP_INTERSECT, .in = {r0, r1}});
      unique(p, np_chain(p, &e->np, both));
      break;
    }
  }
}

static bool accepted(const sw_config *c, const sw_scene *s, sw_ref *e) {
  build_program(e);
  if (!sw_picks(c, s, &e->prog, e->target)) return false;
  return e->level == 0 || sw_non_degenerate(c, s, &e->prog, e->target);
}

// ---- noun phrases ----

static int n_attrs(const sw_config *c) { return c->styles ? SW_N_ATTRS : SW_ATTR_STYLE; }

static sw_np np_from_subset(const sw_object *o, unsigned subset) {
  sw_np np = {0};
  for (int a = 0; a < SW_N_ATTRS; a++)
    if (subset >> a & 1) {
      np.use[a] = true;
      np.val[a] = sw_attr_of(o, a);
    }
  return np;
}

static uint32_t np_mask(const sw_scene *s, const sw_np *np) {
  uint32_t m = 0;
  for (int j = 0; j < s->n; j++) {
    bool ok = true;
    for (int a = 0; a < SW_N_ATTRS && ok; a++) ok = !np->use[a] || sw_attr_of(&s->obj[j], a) == np->val[a];
    if (ok) m |= 1u << j;
  }
  return m;
}

// The attribute subsets of a noun phrase in a random order.
static int shuffled_subsets(const sw_config *c, gw_rng *r, unsigned *out) {
  int n = 1 << n_attrs(c);
  for (int i = 0; i < n; i++) out[i] = (unsigned)i;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)gw_rng_below(r, (uint64_t)i + 1);
    unsigned t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return n;
}

// Dale and Reiter's incremental algorithm: walk the attributes in preference order (shape,
// colour, size, style) and keep each one that rules out a remaining distractor, until only the
// target is left. Then, with probability p_redundant, add one more attribute. -1 if the
// attributes cannot single the target out.
static int dale_reiter(const sw_config *c, const sw_scene *s, int target, gw_rng *r, sw_np *np) {
  const sw_object *t = &s->obj[target];
  memset(np, 0, sizeof *np);
  uint32_t left = ((s->n >= 32) ? 0xFFFFFFFFu : (1u << s->n) - 1) & ~(1u << target);
  for (int a = 0; a < n_attrs(c) && left; a++) {
    uint32_t keep = 0;
    for (int j = 0; j < s->n; j++)
      if ((left >> j & 1) && sw_attr_of(&s->obj[j], a) == sw_attr_of(t, a)) keep |= 1u << j;
    if (keep != left) {
      np->use[a] = true;
      np->val[a] = sw_attr_of(t, a);
      left = keep;
    }
  }
  if (left) return -1;
  if (r && gw_rng_float(r) < c->p_redundant) {
    int unused[SW_N_ATTRS], n = 0;
    for (int a = 0; a < n_attrs(c); a++)
      if (!np->use[a]) unused[n++] = a;
    if (n) {
      int a = unused[gw_rng_below(r, (uint64_t)n)];
      np->use[a] = true;
      np->val[a] = sw_attr_of(t, a);
    }
  }
  return 0;
}

// ---- making expressions, level by level ----

static int make_l0(const sw_config *c, const sw_scene *s, int target, gw_rng *r, sw_ref *e) {
  e->kind = SW_REF_ATTR;
  if (dale_reiter(c, s, target, r, &e->np) < 0) return -1;
  return accepted(c, s, e) ? 0 : -1;
}

static int make_l1(const sw_config *c, const sw_scene *s, int target, gw_rng *r, sw_ref *e) {
  unsigned subsets[16];
  int n = shuffled_subsets(c, r, subsets);
  for (int i = 0; i < n; i++) {
    e->np = np_from_subset(&s->obj[target], subsets[i]);
    if (sw_popcount(np_mask(s, &e->np)) < 2) continue;  // degenerate: attributes alone suffice
    // every location and ordinal that picks the target, then one at random
    sw_ref options[SW_N_LOCS + SW_N_DIRS * 3];
    int n_opt = 0;
    for (int loc = 0; loc < SW_N_LOCS; loc++) {
      options[n_opt] = *e;
      options[n_opt].kind = SW_REF_LOC;
      options[n_opt].loc = loc;
      if (accepted(c, s, &options[n_opt])) n_opt++;
    }
    for (int dir = 0; dir < SW_N_DIRS; dir++)
      for (int k = 1; k <= 3; k++) {
        options[n_opt] = *e;
        options[n_opt].kind = SW_REF_ORD;
        options[n_opt].dir = dir;
        options[n_opt].k = k;
        if (accepted(c, s, &options[n_opt])) n_opt++;
      }
    if (n_opt) {
      *e = options[gw_rng_below(r, (uint64_t)n_opt)];
      return 0;
    }
  }
  return -1;
}

static int make_l2(const sw_config *c, const sw_scene *s, int target, gw_rng *r, sw_ref *e) {
  e->kind = SW_REF_REL;
  int anchors[SW_MAX_OBJ], n_anchors = 0;
  for (int j = 0; j < s->n; j++)
    if (j != target) anchors[n_anchors++] = j;
  for (int i = n_anchors - 1; i > 0; i--) {  // random anchor order
    int j = (int)gw_rng_below(r, (uint64_t)i + 1), t = anchors[i];
    anchors[i] = anchors[j];
    anchors[j] = t;
  }
  for (int ai = 0; ai < n_anchors; ai++) {
    int a = anchors[ai];
    if (dale_reiter(c, s, a, NULL, &e->anchor_np[0]) < 0) continue;  // the anchor must be unique
    e->anchor[0] = a;
    int rels[SW_N_RELS];
    for (int k = 0; k < SW_N_RELS; k++) rels[k] = k;
    for (int k = SW_N_RELS - 1; k > 0; k--) {
      int j = (int)gw_rng_below(r, (uint64_t)k + 1), t = rels[k];
      rels[k] = rels[j];
      rels[j] = t;
    }
    for (int ri = 0; ri < SW_N_RELS; ri++) {
      e->rel[0] = rels[ri];
      if (directional(e->rel[0]) && !sw_rel_holds(c, s, e->rel[0], target, a)) continue;
      unsigned subsets[16];
      int n = shuffled_subsets(c, r, subsets);
      for (int i = 0; i < n; i++) {
        e->np = np_from_subset(&s->obj[target], subsets[i]);
        if (accepted(c, s, e)) return 0;
      }
    }
  }
  return -1;
}

// L3 by random search with a budget: a chain (the anchor is itself relational) or a conjunction
// of two relations.
static int make_l3(const sw_config *c, const sw_scene *s, int target, gw_rng *r, sw_ref *e) {
  if (s->n < 3) return -1;
  for (int attempt = 0; attempt < 400; attempt++) {
    e->kind = gw_rng_below(r, 2) ? SW_REF_CHAIN : SW_REF_AND;
    int a0 = (int)gw_rng_below(r, (uint64_t)s->n), a1 = (int)gw_rng_below(r, (uint64_t)s->n);
    if (a0 == target || a1 == target || a0 == a1) continue;
    e->anchor[0] = a0;
    e->anchor[1] = a1;
    e->rel[0] = (int)gw_rng_below(r, 4);
    e->rel[1] = (int)gw_rng_below(r, 4);
    if (!sw_rel_holds(c, s, e->rel[0], target, a0)) continue;
    if (e->kind == SW_REF_CHAIN) {
      if (!sw_rel_holds(c, s, e->rel[1], a0, a1)) continue;
      if (dale_reiter(c, s, a1, NULL, &e->anchor_np[1]) < 0) continue;
      e->anchor_np[0] = np_from_subset(&s->obj[a0], (unsigned)gw_rng_below(r, 1u << n_attrs(c)));
    } else {
      if (!sw_rel_holds(c, s, e->rel[1], target, a1)) continue;
      if (dale_reiter(c, s, a0, NULL, &e->anchor_np[0]) < 0) continue;
      if (dale_reiter(c, s, a1, NULL, &e->anchor_np[1]) < 0) continue;
    }
    e->np = np_from_subset(&s->obj[target], (unsigned)gw_rng_below(r, 1u << n_attrs(c)));
    if (accepted(c, s, e)) return 0;
  }
  return -1;
}

int sw_ref_make(const sw_config *c, const sw_scene *s, int target, int level, gw_rng *r, sw_ref *out) {
  memset(out, 0, sizeof *out);
  out->level = level;
  out->target = target;
  out->swap_of = -1;
  switch (level) {
    case 0: return make_l0(c, s, target, r, out);
    case 1: return make_l1(c, s, target, r, out);
    case 2: return make_l2(c, s, target, r, out);
    default: return make_l3(c, s, target, r, out);
  }
}

// The swap of e: the values of attribute a exchanged between the target and anchor phrases.
// Fills *out and returns 0 if it names another object validly.
static int swapped(const sw_config *c, const sw_scene *s, const sw_ref *e, int a, sw_ref *out) {
  *out = *e;
  out->np.val[a] = e->anchor_np[0].val[a];
  out->anchor_np[0].val[a] = e->np.val[a];
  build_program(out);
  bool valid;
  uint32_t got = sw_exec(c, s, &out->prog, -1, &valid);
  if (!valid || sw_popcount(got) != 1) return -1;
  out->target = sw_first(got);
  if (out->target == e->target || !sw_non_degenerate(c, s, &out->prog, out->target)) return -1;
  uint32_t am = np_mask(s, &out->anchor_np[0]);
  if (sw_popcount(am) != 1) return -1;
  out->anchor[0] = sw_first(am);
  out->n_sents = 0;
  return 0;
}

int sw_ref_make_swap_pair(const sw_config *c, const sw_scene *s, uint32_t allowed, gw_rng *r,
                          sw_ref *first, sw_ref *second) {
  if (s->n < 3) return -1;
  // Every (target, anchor, relation, swapped attribute X, second attribute Y) with both noun
  // phrases naming X and Y, from a random starting point.
  int total = s->n * s->n * 4 * SW_N_ATTRS * SW_N_ATTRS;
  int start = (int)gw_rng_below(r, (uint64_t)total);
  for (int step = 0; step < total; step++) {
    int code = (start + step) % total;
    int t = code % s->n, a = code / s->n % s->n, rel = code / (s->n * s->n) % 4;
    int x = code / (s->n * s->n * 4) % SW_N_ATTRS, y = code / (s->n * s->n * 4 * SW_N_ATTRS);
    if (t == a || x == y || x >= n_attrs(c) || y >= n_attrs(c) || !(allowed >> t & 1)) continue;
    if (!sw_rel_holds(c, s, rel, t, a)) continue;
    if (sw_attr_of(&s->obj[t], x) == sw_attr_of(&s->obj[a], x)) continue;
    sw_ref e = {.level = 2, .kind = SW_REF_REL, .target = t, .swap_of = -1};
    e.rel[0] = rel;
    e.anchor[0] = a;
    unsigned pair = 1u << x | 1u << y;
    e.np = np_from_subset(&s->obj[t], pair);
    e.anchor_np[0] = np_from_subset(&s->obj[a], pair);
    if (!accepted(c, s, &e)) continue;
    sw_ref f;
    if (swapped(c, s, &e, x, &f) < 0 || !(allowed >> f.target & 1)) continue;
    *first = e;
    *second = f;
    return 0;
  }
  return -1;
}

// ---- words ----

static const char *pick(const sw_config *c, gw_rng *r, const char *const *words, int n) {
  if (n > 1 && gw_rng_float(r) < c->p_synonym) return words[1 + gw_rng_below(r, (uint64_t)(n - 1))];
  return words[0];
}

static void append(char *buf, const char *w) {
  size_t len = strlen(buf);
  snprintf(buf + len, SW_SENT_LEN - len, "%s%s", len ? " " : "", w);
}

static const char *const SIZE_WORDS[SW_N_SIZES][3] = {{"small", "little", "tiny"}, {"large", "big"}, {"medium"}};
static const int SIZE_N[SW_N_SIZES] = {3, 2, 1};
static const char *const STYLE_WORDS[SW_N_STYLES][2] = {{"solid", "filled"}, {"hollow", "outlined"}};
static const char *const SHAPE_WORDS[SW_N_SHAPES][3] = {
    {"circle", "ball", "disk"}, {"square", "box"}, {"triangle"}, {"diamond"}, {"star"},
    {"cross", "plus"}, {"pentagon"}, {"hexagon"}};
static const int SHAPE_N[SW_N_SHAPES] = {3, 2, 1, 1, 1, 2, 1, 1};
static const char *const GENERIC[3] = {"shape", "object", "thing"};

// "[size] [color] [style] noun" (without the article)
static void np_words(const sw_config *c, const sw_np *np, gw_rng *r, char *buf) {
  if (np->use[SW_ATTR_SIZE]) append(buf, pick(c, r, SIZE_WORDS[np->val[SW_ATTR_SIZE]], SIZE_N[np->val[SW_ATTR_SIZE]]));
  if (np->use[SW_ATTR_COLOR]) append(buf, sw_color_names[np->val[SW_ATTR_COLOR]]);
  if (np->use[SW_ATTR_STYLE]) append(buf, pick(c, r, STYLE_WORDS[np->val[SW_ATTR_STYLE]], 2));
  if (np->use[SW_ATTR_SHAPE])
    append(buf, pick(c, r, SHAPE_WORDS[np->val[SW_ATTR_SHAPE]], SHAPE_N[np->val[SW_ATTR_SHAPE]]));
  else
    append(buf, c->p_synonym > 0.0f ? GENERIC[gw_rng_below(r, 3)] : GENERIC[0]);
}

static const char *const REL_WORDS[SW_N_RELS][2] = {
    {"left of", "to the left of"}, {"right of", "to the right of"}, {"above", "over"},
    {"below", "under"}, {"closest to", "nearest to"}, {"farthest from"}};
static const int REL_N[SW_N_RELS] = {2, 2, 2, 2, 2, 1};
static const char *const LOC_WORDS[SW_N_LOCS] = {
    "on the left", "on the right", "at the top", "at the bottom", "in the top left corner",
    "in the top right corner", "in the bottom left corner", "in the bottom right corner"};
static const char *const ORD_WORDS[4] = {"", "first", "second", "third"};
static const char *const DIR_WORDS[SW_N_DIRS] = {"left", "right", "top", "bottom"};
static const char *const EXT_WORDS[SW_N_DIRS] = {"leftmost", "rightmost", "topmost", "bottommost"};

static void realize_one(const sw_config *c, const sw_ref *e, gw_rng *r, char *buf) {
  buf[0] = '\0';
  append(buf, "the");
  switch (e->kind) {
    case SW_REF_ATTR: np_words(c, &e->np, r, buf); break;
    case SW_REF_LOC:
      np_words(c, &e->np, r, buf);
      append(buf, LOC_WORDS[e->loc]);
      break;
    case SW_REF_ORD:
      if (e->k == 1 && gw_rng_below(r, 2)) {  // "the leftmost red circle"
        append(buf, EXT_WORDS[e->dir]);
        np_words(c, &e->np, r, buf);
      } else {  // "the second red circle from the left"
        append(buf, ORD_WORDS[e->k]);
        np_words(c, &e->np, r, buf);
        append(buf, "from the");
        append(buf, DIR_WORDS[e->dir]);
      }
      break;
    case SW_REF_REL:
      np_words(c, &e->np, r, buf);
      append(buf, pick(c, r, REL_WORDS[e->rel[0]], REL_N[e->rel[0]]));
      append(buf, "the");
      np_words(c, &e->anchor_np[0], r, buf);
      break;
    case SW_REF_CHAIN:
      np_words(c, &e->np, r, buf);
      append(buf, pick(c, r, REL_WORDS[e->rel[0]], REL_N[e->rel[0]]));
      append(buf, "the");
      np_words(c, &e->anchor_np[0], r, buf);
      append(buf, pick(c, r, REL_WORDS[e->rel[1]], REL_N[e->rel[1]]));
      append(buf, "the");
      np_words(c, &e->anchor_np[1], r, buf);
      break;
    case SW_REF_AND:
      np_words(c, &e->np, r, buf);
      append(buf, pick(c, r, REL_WORDS[e->rel[0]], REL_N[e->rel[0]]));
      append(buf, "the");
      np_words(c, &e->anchor_np[0], r, buf);
      append(buf, "and");
      append(buf, pick(c, r, REL_WORDS[e->rel[1]], REL_N[e->rel[1]]));
      append(buf, "the");
      np_words(c, &e->anchor_np[1], r, buf);
      break;
  }
}

int sw_count_words(const char *sentence) {
  int n = 0;
  bool in = false;
  for (const char *p = sentence; *p; p++) {
    if (*p != ' ' && !in) n++;
    in = *p != ' ';
  }
  return n;
}

void sw_ref_realize(const sw_config *c, const sw_scene *s, sw_ref *e, int n_sents, gw_rng *r) {
  (void)s;
  if (n_sents > SW_MAX_SENTS) n_sents = SW_MAX_SENTS;
  e->n_sents = 0;
  for (int i = 0; i < n_sents; i++) realize_one(c, e, r, e->sents[e->n_sents++]);
}

// ---- the refs of one image ----

static int draw_level(const sw_config *c, gw_rng *r) {
  float u = gw_rng_float(r), acc = 0.0f;
  for (int l = 0; l < 4; l++) {
    acc += c->p_level[l];
    if (u < acc) return l;
  }
  return 0;
}

int sw_refs_for_image(const sw_config *c, const sw_scene *s, uint32_t allowed, bool try_swap,
                      gw_rng *r, sw_ref *refs) {
  int order[SW_MAX_OBJ], n_cand = 0;
  for (int j = 0; j < s->n; j++)
    if (allowed >> j & 1) order[n_cand++] = j;
  for (int i = n_cand - 1; i > 0; i--) {
    int j = (int)gw_rng_below(r, (uint64_t)i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  int count = 0;
  uint32_t used = 0;
  // Sometimes a swap pair first: two expressions with the same words in another order, naming
  // different objects. Both are worded canonically (no synonyms) so the word multisets match.
  if (c->refs_per_image >= 2 && try_swap &&
      sw_ref_make_swap_pair(c, s, allowed, r, &refs[0], &refs[1]) == 0) {
    sw_config plain = *c;
    plain.p_synonym = 0.0f;
    refs[1].swap_of = 0;
    sw_ref_realize(&plain, s, &refs[0], c->sents_per_ref, r);
    sw_ref_realize(&plain, s, &refs[1], c->sents_per_ref, r);
    used = 1u << refs[0].target | 1u << refs[1].target;
    count = 2;
  }
  for (int i = 0; i < n_cand && count < c->refs_per_image; i++) {
    int target = order[i];
    if (used >> target & 1) continue;
    int want = draw_level(c, r);
    // the drawn level first, then the nearest others
    static const int tries[4][4] = {{0, 1, 2, 3}, {1, 0, 2, 3}, {2, 1, 3, 0}, {3, 2, 1, 0}};
    for (int t = 0; t < 4; t++) {
      int level = tries[want][t];
      if (c->p_level[level] <= 0.0f && t > 0) continue;  // never a level the mix excludes
      if (sw_ref_make(c, s, target, level, r, &refs[count]) == 0) {
        sw_ref_realize(c, s, &refs[count], c->sents_per_ref, r);
        bool fits = true;  // a longer sentence would be cut at max_len tokens in the files
        for (int q = 0; q < refs[count].n_sents; q++)
          fits = fits && sw_count_words(refs[count].sents[q]) <= c->max_len;
        if (!fits) continue;
        used |= 1u << target;
        count++;
        break;
      }
    }
  }
  return count;
}

// ---- the same words and programs for captions and questions ----

const char *sw_word_size(const sw_config *c, int size, gw_rng *r) {
  return pick(c, r, SIZE_WORDS[size], SIZE_N[size]);
}
const char *sw_word_style(const sw_config *c, int style, gw_rng *r) {
  return pick(c, r, STYLE_WORDS[style], 2);
}
const char *sw_word_shape(const sw_config *c, int shape, gw_rng *r) {
  return pick(c, r, SHAPE_WORDS[shape], SHAPE_N[shape]);
}
const char *sw_word_generic(const sw_config *c, gw_rng *r) {
  return c->p_synonym > 0.0f ? GENERIC[gw_rng_below(r, 3)] : GENERIC[0];
}
const char *sw_word_rel(const sw_config *c, int rel, gw_rng *r) {
  return pick(c, r, REL_WORDS[rel], REL_N[rel]);
}
void sw_ref_program(sw_ref *e) { build_program(e); }
