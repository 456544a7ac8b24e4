// Captions for shapes world (shared/datasets.md §6.6): five families, each caption a conjunction
// of clauses that the generator checks on its image before keeping it.
//
// What the words mean, so that every caption can be checked: an item with an article or a
// number and no relation ("two red circles", "a small blue square") gives the exact number of
// objects its noun phrase names (counts are merged, so an inventory stays true); an item with a
// relation ("a red circle left of a blue square") says that such a pair exists. Only the
// relational items can tell an image from its layout twin (the same objects placed elsewhere).
#include <stdio.h>
#include <string.h>

#include "datasets/sw_text.h"

const char *const sw_caption_family_names[SW_N_CAP_FAMILIES] = {"inventory", "relational", "count",
                                                                "focus", "mixed"};
const char *const sw_number_words[10] = {"zero", "one", "two",   "three", "four",
                                         "five", "six", "seven", "eight", "nine"};
// Plurals take the canonical shape word only, to keep the vocabulary small and closed.
static const char *const PLURALS[SW_N_SHAPES] = {"circles", "squares", "triangles", "diamonds",
                                                 "stars",   "crosses", "pentagons", "hexagons"};

enum { CLAUSE_COUNT = 0, CLAUSE_EXISTS = 1 };

static int n_attrs(const sw_config *c) { return c->styles ? SW_N_ATTRS : SW_ATTR_STYLE; }
static int below(gw_rng *r, int n) { return (int)gw_rng_below(r, (uint64_t)n); }

static void shuffle(int *v, int n, gw_rng *r) {
  for (int i = n - 1; i > 0; i--) {
    int j = below(r, i + 1), t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

// ---- noun phrases ----

uint32_t sw_np_set(const sw_config *c, const sw_scene *s, const sw_np *np) {
  sw_program p = {.n = 1, .node = {{.op = SW_OP_SCENE}}};
  for (int a = 0; a < SW_N_ATTRS; a++)
    if (np->use[a]) {
      p.node[p.n] = (sw_node){.op = SW_OP_FILTER, .in = {p.n - 1}, .attr = a, .value = np->val[a]};
      p.n++;
    }
  bool valid;
  return sw_exec(c, s, &p, -1, &valid);
}

static void add_words(char *buf, int len, const char *w) {
  size_t n = strlen(buf);
  snprintf(buf + n, (size_t)len - n, "%s%s", n ? " " : "", w);
}

// The expressions' word order: size, colour, style, noun.
void sw_np_text(const sw_config *c, const sw_np *np, bool plural, gw_rng *r, char *buf, int len) {
  if (np->use[SW_ATTR_SIZE]) add_words(buf, len, sw_word_size(c, np->val[SW_ATTR_SIZE], r));
  if (np->use[SW_ATTR_COLOR]) add_words(buf, len, sw_color_names[np->val[SW_ATTR_COLOR]]);
  if (np->use[SW_ATTR_STYLE]) add_words(buf, len, sw_word_style(c, np->val[SW_ATTR_STYLE], r));
  if (np->use[SW_ATTR_SHAPE]) {
    int shape = np->val[SW_ATTR_SHAPE];
    add_words(buf, len, plural ? PLURALS[shape] : sw_word_shape(c, shape, r));
  } else {
    add_words(buf, len, plural ? "shapes" : sw_word_generic(c, r));
  }
}

static sw_np np_of(const sw_config *c, const sw_object *o, unsigned subset) {
  sw_np np = {0};
  for (int a = 0; a < n_attrs(c); a++)
    if (subset >> a & 1) {
      np.use[a] = true;
      np.val[a] = sw_attr_of(o, a);
    }
  return np;
}

static unsigned all_attrs(const sw_config *c) { return (1u << n_attrs(c)) - 1; }

// A random phrase for o: the shape word most of the time, the others less often, and at least
// one attribute (a fact about "a shape" and "a shape" says nearly nothing).
static sw_np random_np(const sw_config *c, const sw_object *o, gw_rng *r) {
  static const float p_use[SW_N_ATTRS] = {0.8f, 0.6f, 0.35f, 0.35f};
  unsigned subset = 0;
  for (int a = 0; a < n_attrs(c); a++)
    if (gw_rng_float(r) < p_use[a]) subset |= 1u << a;
  return np_of(c, o, subset ? subset : 1u << SW_ATTR_SHAPE);
}

// ---- clauses ----

// The objects of np that stand in `rel` to some object of np2 (*second: those objects of np2).
// Captions state the four directional relations only.
static uint32_t witnesses(const sw_config *c, const sw_scene *s, const sw_clause *cl,
                          uint32_t *second) {
  uint32_t m1 = sw_np_set(c, s, &cl->np), m2 = sw_np_set(c, s, &cl->np2), w1 = 0, w2 = 0;
  if (cl->rel >= SW_LEFT && cl->rel <= SW_BELOW)
    for (int i = 0; i < s->n; i++)
      for (int j = 0; j < s->n; j++)
        if (i != j && (m1 >> i & 1) && (m2 >> j & 1) && sw_rel_holds(c, s, cl->rel, i, j)) {
          w1 |= 1u << i;
          w2 |= 1u << j;
        }
  if (second) *second = w2;
  return w1;
}

static bool clause_true(const sw_config *c, const sw_scene *s, const sw_clause *cl) {
  if (cl->kind == CLAUSE_COUNT) return sw_popcount(sw_np_set(c, s, &cl->np)) == cl->count;
  return witnesses(c, s, cl, NULL) != 0;
}

bool sw_caption_true(const sw_config *c, const sw_scene *s, const sw_caption *cap) {
  if (cap->n_clauses <= 0) return false;
  for (int k = 0; k < cap->n_clauses; k++)
    if (!clause_true(c, s, &cap->clauses[k])) return false;
  return true;
}

// Is every relational clause of the caption false on the twin?
static bool twin_rejects(const sw_config *c, const sw_scene *twin, const sw_caption *cap) {
  for (int k = 0; k < cap->n_clauses; k++)
    if (cap->clauses[k].kind == CLAUSE_EXISTS && clause_true(c, twin, &cap->clauses[k]))
      return false;
  return true;
}

// ---- writing captions ----

typedef struct capgen {
  const sw_config *c;
  const sw_scene *s, *twin;
  gw_rng *r;
} capgen;

// Appends words to the caption; returns the index of the first one.
static int put(sw_caption *cap, const char *words) {
  int first = sw_count_words(cap->text);
  add_words(cap->text, SW_CAP_LEN, words);
  return first;
}

// The phrase from word `start` to the current end names `objects`.
static void add_span(sw_caption *cap, int start, uint32_t objects) {
  if (cap->n_spans == SW_CAP_MAX_SPANS) return;
  cap->spans[cap->n_spans].start = start;
  cap->spans[cap->n_spans].end = sw_count_words(cap->text);
  cap->spans[cap->n_spans].objects = objects;
  cap->n_spans++;
}

static const char *article(const char *words) {
  return words[0] && strchr("aeiou", words[0]) ? "an" : "a";
}

// Before item k of n: a comma between items, "and" before the last ("A, B and C").
static void separate(sw_caption *cap, int k, int n) {
  if (k == 0) return;
  if (k < n - 1) {
    size_t len = strlen(cap->text);
    if (len + 1 < SW_CAP_LEN) cap->text[len] = ',', cap->text[len + 1] = '\0';
  } else {
    put(cap, "and");
  }
}

// "two red circles" / "a small blue square": exactly `count` objects match np.
static void count_item(const capgen *g, sw_caption *cap, const sw_np *np, int count) {
  char words[SW_SENT_LEN] = "";
  sw_np_text(g->c, np, count > 1, g->r, words, sizeof words);
  int start = put(cap, count > 1 ? sw_number_words[count] : article(words));
  put(cap, words);
  add_span(cap, start, sw_np_set(g->c, g->s, np));
  cap->clauses[cap->n_clauses++] = (sw_clause){.kind = CLAUSE_COUNT, .np = *np, .count = count};
}

// "a red circle left of a blue square": some such pair exists. Each phrase's span names the
// objects that take part in such a pair.
static void fact_item(const capgen *g, sw_caption *cap, const sw_clause *cl) {
  char w1[SW_SENT_LEN] = "", w2[SW_SENT_LEN] = "";
  sw_np_text(g->c, &cl->np, false, g->r, w1, sizeof w1);
  const char *rel = sw_word_rel(g->c, cl->rel, g->r);
  sw_np_text(g->c, &cl->np2, false, g->r, w2, sizeof w2);
  uint32_t second, first = witnesses(g->c, g->s, cl, &second);
  int start = put(cap, article(w1));
  put(cap, w1);
  add_span(cap, start, first);
  put(cap, rel);
  start = put(cap, article(w2));
  put(cap, w2);
  add_span(cap, start, second);
  cap->clauses[cap->n_clauses++] = *cl;
}

// A true fact "np rel np2" about two objects i, j of the image, false on the twin if there is
// one, and not only about the objects of `avoid` (the previous fact's pair). Random phrases
// first; then every pair and relation with phrases naming all attributes, which is what makes
// twins tell apart (sw_scene_twin checks that such a fact exists). 0 on success.
static int find_fact(const capgen *g, uint32_t avoid, sw_clause *out, uint32_t *pair) {
  const sw_config *c = g->c;
  const sw_scene *s = g->s;
  for (int tries = 0; tries < 48; tries++) {
    int i = below(g->r, s->n), j = below(g->r, s->n), rel = below(g->r, 4);
    if (i == j || ((avoid >> i & 1) && (avoid >> j & 1))) continue;
    if (!sw_rel_holds(c, s, rel, i, j)) continue;
    sw_clause cl = {.kind = CLAUSE_EXISTS, .rel = rel};
    cl.np = random_np(c, &s->obj[i], g->r);
    cl.np2 = random_np(c, &s->obj[j], g->r);
    if (g->twin && clause_true(c, g->twin, &cl)) continue;
    *out = cl;
    *pair = 1u << i | 1u << j;
    return 0;
  }
  int total = s->n * s->n * 4, start = below(g->r, total);
  for (int step = 0; step < total; step++) {
    int code = (start + step) % total;
    int i = code % s->n, j = code / s->n % s->n, rel = code / (s->n * s->n);
    if (i == j || ((avoid >> i & 1) && (avoid >> j & 1))) continue;
    if (!sw_rel_holds(c, s, rel, i, j)) continue;
    sw_clause cl = {.kind = CLAUSE_EXISTS, .rel = rel};
    cl.np = np_of(c, &s->obj[i], all_attrs(c));
    cl.np2 = np_of(c, &s->obj[j], all_attrs(c));
    if (g->twin && clause_true(c, g->twin, &cl)) continue;
    *out = cl;
    *pair = 1u << i | 1u << j;
    return 0;
  }
  return -1;
}

typedef struct group {
  sw_np np;
  int count;
  uint32_t members;
} group;

// The objects grouped by their values on one attribute subset, so that every group is an exact
// count of at most nine (said with a number word). Subsets are tried in random order, those
// naming the shape first, then those naming the colour, until one gives at most `max` groups;
// failing that, `max` random groups of the first usable subset (a fragment). Within a group, an
// attribute all its members share is sometimes named too ("two small red circles"). Groups come
// in random order.
static int inventory_groups(const capgen *g, int max, group *out) {
  const sw_config *c = g->c;
  const sw_scene *s = g->s;
  int subsets[1 << SW_N_ATTRS], n_sub = 0, ordered[1 << SW_N_ATTRS], n_ord = 0;
  for (int m = 1; m <= (int)all_attrs(c); m++) subsets[n_sub++] = m;
  shuffle(subsets, n_sub, g->r);
  for (int tier = 0; tier < 3; tier++)
    for (int i = 0; i < n_sub; i++) {
      int m = subsets[i];
      int t = m >> SW_ATTR_SHAPE & 1 ? 0 : (m >> SW_ATTR_COLOR & 1 ? 1 : 2);
      if (t == tier) ordered[n_ord++] = m;
    }
  group best[SW_MAX_OBJ];
  int n_best = 0, best_subset = 0;
  bool complete = false;
  for (int k = 0; k < n_ord && !complete; k++) {
    group gs[SW_MAX_OBJ];
    int n = 0;
    bool ok = true;
    for (int j = 0; j < s->n; j++) {
      sw_np np = np_of(c, &s->obj[j], (unsigned)ordered[k]);
      int found = -1;
      for (int q = 0; q < n && found < 0; q++)
        if (!memcmp(&gs[q].np, &np, sizeof np)) found = q;
      if (found < 0) gs[found = n++] = (group){.np = np};
      gs[found].members |= 1u << j;
      if (++gs[found].count > 9) ok = false;
    }
    if (!ok) continue;
    if (n <= max || n_best == 0) {
      memcpy(best, gs, sizeof gs);
      n_best = n;
      best_subset = ordered[k];
      complete = n <= max;
    }
  }
  if (n_best == 0) return 0;
  int order[SW_MAX_OBJ];
  for (int q = 0; q < n_best; q++) order[q] = q;
  shuffle(order, n_best, g->r);
  int n = n_best < max ? n_best : max;
  for (int q = 0; q < n; q++) {
    out[q] = best[order[q]];
    for (int a = 0; a < n_attrs(c); a++) {
      if (best_subset >> a & 1 || gw_rng_float(g->r) >= 0.3f) continue;
      int first = sw_first(out[q].members), v = sw_attr_of(&s->obj[first], a);
      bool shared = true;
      for (int j = 0; j < s->n; j++)
        if ((out[q].members >> j & 1) && sw_attr_of(&s->obj[j], a) != v) shared = false;
      if (shared) out[q].np.use[a] = true, out[q].np.val[a] = v;
    }
  }
  return n;
}

// ---- the five families ----

// "two red circles, a small blue square and a green hollow star": at most five groups
static int cap_inventory(const capgen *g, sw_caption *cap) {
  group groups[SW_MAX_OBJ];
  int n = inventory_groups(g, 5, groups);
  if (n == 0) return -1;
  for (int k = 0; k < n; k++) {
    separate(cap, k, n);
    count_item(g, cap, &groups[k].np, groups[k].count);
  }
  return 0;
}

// "a red circle left of a blue square [and a star above a hollow cross]"
static int cap_relational(const capgen *g, sw_caption *cap) {
  sw_clause facts[2];
  uint32_t pair, pair2;
  if (find_fact(g, 0, &facts[0], &pair) < 0) return -1;
  int n = gw_rng_float(g->r) < 0.4f && find_fact(g, pair, &facts[1], &pair2) == 0 ? 2 : 1;
  for (int k = 0; k < n; k++) {
    separate(cap, k, n);
    fact_item(g, cap, &facts[k]);
  }
  return 0;
}

// "four shapes on a gray background", "there are three circles", "there is one red square"
static int cap_count(const capgen *g, sw_caption *cap) {
  const sw_scene *s = g->s;
  if (s->n >= 2 && s->n <= 9 && gw_rng_float(g->r) < 0.4f) {
    const sw_np all = {0};
    int start;
    if (s->bg_mode == SW_BG_SOLID) {  // the grey of §6.2; the other backgrounds are not one colour
      start = put(cap, sw_number_words[s->n]);
      put(cap, "shapes");
      add_span(cap, start, sw_np_set(g->c, s, &all));
      put(cap, "on a gray background");
    } else {
      put(cap, "there are");
      start = put(cap, sw_number_words[s->n]);
      put(cap, "shapes");
      add_span(cap, start, sw_np_set(g->c, s, &all));
    }
    cap->clauses[cap->n_clauses++] = (sw_clause){.kind = CLAUSE_COUNT, .np = all, .count = s->n};
    return 0;
  }
  for (int tries = 0; tries < 8; tries++) {
    sw_np np = random_np(g->c, &s->obj[below(g->r, s->n)], g->r);
    int count = sw_popcount(sw_np_set(g->c, s, &np));
    if (count > 9) continue;
    char words[SW_SENT_LEN] = "";
    sw_np_text(g->c, &np, count > 1, g->r, words, sizeof words);
    put(cap, count > 1 ? "there are" : "there is");
    int start = put(cap, sw_number_words[count]);
    put(cap, words);
    add_span(cap, start, sw_np_set(g->c, s, &np));
    cap->clauses[cap->n_clauses++] = (sw_clause){.kind = CLAUSE_COUNT, .np = np, .count = count};
    return 0;
  }
  return -1;
}

// A referring expression as a caption: an L0 ref "the blue star" -> "a blue star" (exactly one,
// as the ref is unique), an L2 ref with a directional relation "the circle below the cyan
// cross" -> "a circle below a cyan cross". L1 (locations, ordinals), closest / farthest and L3
// refs have no caption form here: their words do not read as a statement once "the" is "a".
static int focus_from(const capgen *g, const sw_ref *e, sw_caption *cap) {
  if (e->kind == SW_REF_ATTR) {
    if (sw_popcount(sw_np_set(g->c, g->s, &e->np)) != 1) return -1;
    count_item(g, cap, &e->np, 1);
    return 0;
  }
  if (e->kind != SW_REF_REL || e->rel[0] > SW_BELOW) return -1;
  sw_clause cl = {.kind = CLAUSE_EXISTS, .np = e->np, .np2 = e->anchor_np[0], .rel = e->rel[0]};
  if (!clause_true(g->c, g->s, &cl) || (g->twin && clause_true(g->c, g->twin, &cl))) return -1;
  fact_item(g, cap, &cl);
  return 0;
}

// The image's refs, relational ones first; a new one when none fits.
static int cap_focus(const capgen *g, const sw_ref *refs, int n_refs, sw_caption *cap) {
  int order[16], n = n_refs < 16 ? n_refs : 16;
  for (int i = 0; i < n; i++) order[i] = i;
  shuffle(order, n, g->r);
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < n; i++)
      if (refs[order[i]].kind == (pass == 0 ? SW_REF_REL : SW_REF_ATTR) &&
          focus_from(g, &refs[order[i]], cap) == 0)
        return 0;
  sw_ref e;
  for (int level = 2; level >= 0; level -= 2)
    for (int tries = 0; tries < 4; tries++)
      if (sw_ref_make(g->c, g->s, below(g->r, g->s->n), level, g->r, &e) == 0 &&
          focus_from(g, &e, cap) == 0)
        return 0;
  return -1;
}

// "two red circles and a blue square above a green star": one or two inventory groups, then a
// relation.
static int cap_mixed(const capgen *g, sw_caption *cap) {
  group groups[SW_MAX_OBJ];
  int n = inventory_groups(g, SW_MAX_OBJ, groups);
  sw_clause fact;
  uint32_t pair;
  if (n == 0 || find_fact(g, 0, &fact, &pair) < 0) return -1;
  int k = n >= 2 && below(g->r, 2) ? 2 : 1;
  for (int i = 0; i < k; i++) {
    separate(cap, i, k + 1);
    count_item(g, cap, &groups[i].np, groups[i].count);
  }
  separate(cap, k, k + 1);
  fact_item(g, cap, &fact);
  return 0;
}

int sw_captions_for_image(const sw_config *c, const sw_scene *s, const sw_scene *twin,
                          const sw_ref *refs, int n_refs, gw_rng *r, sw_caption *out) {
  capgen g = {.c = c, .s = s, .twin = twin, .r = r};
  int families[SW_N_CAP_FAMILIES];
  for (int f = 0; f < SW_N_CAP_FAMILIES; f++) families[f] = f;
  shuffle(families, SW_N_CAP_FAMILIES, r);
  int want = c->captions_per_image < SW_N_CAP_FAMILIES ? c->captions_per_image : SW_N_CAP_FAMILIES;
  int n = 0;
  // a family that cannot be said of this image gives its place to the next one
  for (int k = 0; k < SW_N_CAP_FAMILIES && n < want; k++) {
    sw_caption *cap = &out[n];
    memset(cap, 0, sizeof *cap);
    cap->family = families[k];
    int rc = -1;
    switch (cap->family) {
      case SW_CAP_INVENTORY: rc = cap_inventory(&g, cap); break;
      case SW_CAP_RELATIONAL: rc = cap_relational(&g, cap); break;
      case SW_CAP_COUNT: rc = cap_count(&g, cap); break;
      case SW_CAP_FOCUS: rc = cap_focus(&g, refs, refs ? n_refs : 0, cap); break;
      case SW_CAP_MIXED: rc = cap_mixed(&g, cap); break;
    }
    // the truth check (and the twin check) on the statement itself, whatever built it; a text
    // cut short by the buffer would no longer say what the clauses say
    if (rc == 0 && strlen(cap->text) < SW_CAP_LEN - 1 && sw_caption_true(c, s, cap) &&
        (!twin || twin_rejects(c, twin, cap)))
      n++;
  }
  return n;
}

// ---- layout twins ----

// Would some caption fact, naming both objects by all their attributes, be true on `a` and
// false on `b`?
static bool tells_apart(const sw_config *c, const sw_scene *a, const sw_scene *b) {
  for (int i = 0; i < a->n; i++)
    for (int j = 0; j < a->n; j++)
      for (int rel = SW_LEFT; rel <= SW_BELOW && i != j; rel++) {
        if (!sw_rel_holds(c, a, rel, i, j)) continue;
        sw_clause cl = {.kind = CLAUSE_EXISTS, .rel = rel};
        cl.np = np_of(c, &a->obj[i], all_attrs(c));
        cl.np2 = np_of(c, &a->obj[j], all_attrs(c));
        if (!clause_true(c, b, &cl)) return true;
      }
  return false;
}

// The same objects (attributes, colour jitter, radius, rotation) placed again by the placement
// rules, until each scene has a relational fact that is false on the other, so that both get
// relational captions that tell them apart.
int sw_scene_twin(const sw_config *c, const sw_scene *s, gw_rng *r, sw_scene *twin) {
  for (int attempt = 0; attempt < 20; attempt++) {
    memset(twin, 0, sizeof *twin);
    twin->bg_mode = s->bg_mode;
    int failures = 0;
    while (twin->n < s->n && failures < 10) {
      sw_object o = s->obj[twin->n];
      memset(o.bbox, 0, sizeof o.bbox);  // filled again when the twin is rendered
      o.area = 0;
      if (sw_object_place(c, twin, r, &o) < 0) {
        failures++;
        continue;
      }
      o.id = twin->n;
      twin->obj[twin->n++] = o;
    }
    if (twin->n == s->n && tells_apart(c, s, twin) && tells_apart(c, twin, s)) return 0;
  }
  return -1;
}
