// shapes world captions, VQA questions and few-shot images (shared/datasets.md §6.6-6.8, §6.11).
//
// Captions and answers are checked by reading their words back: a small parser of the closed
// grammar evaluates them on the scene's geometry directly (centres, the margin delta, the ratio
// rho), without the generator's executor. So a wrong word, a wrong count or a wrong executor
// shows up as a disagreement.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/sw_text.h"
#include "testutil.h"

TestSuite(sw_text, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

// ---- the closed vocabulary, written out again here ----

static const char *const COLORS[SW_N_COLORS] = {"red",     "green", "blue",   "yellow",
                                                "magenta", "cyan",  "orange", "white"};
static const char *const SHAPES[SW_N_SHAPES] = {"circle", "square", "triangle", "diamond",
                                                "star",   "cross",  "pentagon", "hexagon"};
static const char *const SIZES[SW_N_SIZES] = {"small", "large", "medium"};
static const char *const STYLES[SW_N_STYLES] = {"solid", "hollow"};
static const char *const NUMBERS[10] = {"zero", "one", "two",   "three", "four",
                                        "five", "six", "seven", "eight", "nine"};
static const char *const ATTR_WORDS[SW_N_ATTRS] = {"shape", "color", "size", "style"};

static const struct {
  const char *w;
  int attr, val;
} MODIFIERS[] = {
    {"small", SW_ATTR_SIZE, SW_SMALL},      {"little", SW_ATTR_SIZE, SW_SMALL},
    {"tiny", SW_ATTR_SIZE, SW_SMALL},       {"large", SW_ATTR_SIZE, SW_LARGE},
    {"big", SW_ATTR_SIZE, SW_LARGE},        {"medium", SW_ATTR_SIZE, SW_MEDIUM},
    {"solid", SW_ATTR_STYLE, SW_SOLID},     {"filled", SW_ATTR_STYLE, SW_SOLID},
    {"hollow", SW_ATTR_STYLE, SW_OUTLINE},  {"outlined", SW_ATTR_STYLE, SW_OUTLINE},
    {"red", SW_ATTR_COLOR, SW_RED},         {"green", SW_ATTR_COLOR, SW_GREEN},
    {"blue", SW_ATTR_COLOR, SW_BLUE},       {"yellow", SW_ATTR_COLOR, SW_YELLOW},
    {"magenta", SW_ATTR_COLOR, SW_MAGENTA}, {"cyan", SW_ATTR_COLOR, SW_CYAN},
    {"orange", SW_ATTR_COLOR, SW_ORANGE},   {"white", SW_ATTR_COLOR, SW_WHITE},
};
static const struct {
  const char *w;
  int shape;  // -1: a generic noun
  bool plural;
} NOUNS[] = {
    {"circle", SW_CIRCLE, false},
    {"ball", SW_CIRCLE, false},
    {"disk", SW_CIRCLE, false},
    {"square", SW_SQUARE, false},
    {"box", SW_SQUARE, false},
    {"triangle", SW_TRIANGLE, false},
    {"diamond", SW_DIAMOND, false},
    {"star", SW_STAR, false},
    {"cross", SW_CROSS, false},
    {"plus", SW_CROSS, false},
    {"pentagon", SW_PENTAGON, false},
    {"hexagon", SW_HEXAGON, false},
    {"shape", -1, false},
    {"object", -1, false},
    {"thing", -1, false},
    {"circles", SW_CIRCLE, true},
    {"squares", SW_SQUARE, true},
    {"triangles", SW_TRIANGLE, true},
    {"diamonds", SW_DIAMOND, true},
    {"stars", SW_STAR, true},
    {"crosses", SW_CROSS, true},
    {"pentagons", SW_PENTAGON, true},
    {"hexagons", SW_HEXAGON, true},
    {"shapes", -1, true},
};
static const struct {
  const char *words;
  int rel;
} RELATIONS[] = {
    {"to the left of", SW_LEFT},
    {"left of", SW_LEFT},
    {"to the right of", SW_RIGHT},
    {"right of", SW_RIGHT},
    {"above", SW_ABOVE},
    {"over", SW_ABOVE},
    {"below", SW_BELOW},
    {"under", SW_BELOW},
    {"closest to", SW_CLOSEST},
    {"nearest to", SW_CLOSEST},
    {"farthest from", SW_FARTHEST},
};
#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct toks {
  int n;
  char w[64][20];
  bool comma[64];  // the word ended with a comma
} toks;

// Words split at spaces, with a trailing comma or question mark dropped (word indices kept).
static void tokenize(const char *text, toks *t) {
  t->n = 0;
  for (const char *p = text; *p;) {
    if (*p == ' ') {
      p++;
      continue;
    }
    int len = 0;
    while (p[len] && p[len] != ' ') len++;
    cr_assert(len < 20 && t->n < 64, "an odd word or too many in \"%s\"", text);
    int keep = len;
    while (keep > 0 && (p[keep - 1] == ',' || p[keep - 1] == '?')) keep--;
    t->comma[t->n] = p[len - 1] == ',';
    memcpy(t->w[t->n], p, (size_t)keep);
    t->w[t->n++][keep] = '\0';
    p += len;
  }
}

static bool is(const toks *t, int pos, const char *w) {
  return pos < t->n && !strcmp(t->w[pos], w);
}

static int number_word(const toks *t, int pos) {
  for (int k = 1; k < 10 && pos < t->n; k++)
    if (!strcmp(t->w[pos], NUMBERS[k])) return k;
  return 0;
}

typedef struct tnp {
  bool use[SW_N_ATTRS];
  int val[SW_N_ATTRS];
  bool plural;
} tnp;

// [modifiers] noun, each attribute at most once; false if the words are not such a phrase.
static bool parse_np(const toks *t, int *pos, tnp *np) {
  memset(np, 0, sizeof *np);
  for (int p = *pos; p < t->n; p++) {
    int m = -1;
    for (int k = 0; k < LEN(MODIFIERS) && m < 0; k++)
      if (!strcmp(t->w[p], MODIFIERS[k].w)) m = k;
    if (m >= 0) {
      if (np->use[MODIFIERS[m].attr]) return false;
      np->use[MODIFIERS[m].attr] = true;
      np->val[MODIFIERS[m].attr] = MODIFIERS[m].val;
      continue;
    }
    for (int k = 0; k < LEN(NOUNS); k++)
      if (!strcmp(t->w[p], NOUNS[k].w)) {
        if (NOUNS[k].shape >= 0)
          np->use[SW_ATTR_SHAPE] = true, np->val[SW_ATTR_SHAPE] = NOUNS[k].shape;
        np->plural = NOUNS[k].plural;
        *pos = p + 1;
        return true;
      }
    return false;
  }
  return false;
}

static int parse_rel(const toks *t, int *pos) {
  for (int k = 0; k < LEN(RELATIONS); k++) {
    toks rw;
    tokenize(RELATIONS[k].words, &rw);
    bool ok = true;
    for (int i = 0; i < rw.n && ok; i++) ok = is(t, *pos + i, rw.w[i]);
    if (ok) {
      *pos += rw.n;
      return RELATIONS[k].rel;
    }
  }
  return -1;
}

// "a" before a consonant, "an" before a vowel
static bool article_ok(const toks *t, int pos) {
  bool vowel = pos + 1 < t->n && strchr("aeiou", t->w[pos + 1][0]);
  return is(t, pos, vowel ? "an" : "a");
}

// ---- the scene's geometry, computed here ----

static int attr_value(const sw_object *o, int a) {
  return a == SW_ATTR_SHAPE   ? o->shape
         : a == SW_ATTR_COLOR ? o->color
         : a == SW_ATTR_SIZE  ? o->size
                              : o->style;
}

static uint32_t t_match(const sw_scene *s, const tnp *np) {
  uint32_t m = 0;
  for (int j = 0; j < s->n; j++) {
    bool ok = true;
    for (int a = 0; a < SW_N_ATTRS; a++)
      if (np->use[a] && attr_value(&s->obj[j], a) != np->val[a]) ok = false;
    if (ok) m |= 1u << j;
  }
  return m;
}

// j is left of (right of, above, below) i by the margin delta; y points down.
static bool t_rel(const sw_config *c, const sw_scene *s, int rel, int j, int i) {
  const sw_object *a = &s->obj[j], *b = &s->obj[i];
  float d = c->rel_margin;
  switch (rel) {
    case SW_LEFT: return a->cx <= b->cx - d;
    case SW_RIGHT: return a->cx >= b->cx + d;
    case SW_ABOVE: return a->cy <= b->cy - d;
    case SW_BELOW: return a->cy >= b->cy + d;
    default: return false;
  }
}

static float t_dist(const sw_scene *s, int a, int b) {
  float dx = s->obj[a].cx - s->obj[b].cx, dy = s->obj[a].cy - s->obj[b].cy;
  return sqrtf(dx * dx + dy * dy);
}

// The member of set (not the anchor) closest to / farthest from the anchor, if it beats the
// runner-up by the ratio rho; -1 otherwise.
static int t_nearest(const sw_config *c, const sw_scene *s, uint32_t set, int anchor, bool far) {
  int idx[SW_MAX_OBJ], n = 0;
  for (int j = 0; j < s->n; j++)
    if ((set >> j & 1) && j != anchor) idx[n++] = j;
  for (int i = 1; i < n; i++)  // sort by distance, the winner first
    for (int j = i; j > 0; j--) {
      float a = t_dist(s, idx[j - 1], anchor), b = t_dist(s, idx[j], anchor);
      if (far ? a >= b : a <= b) break;
      int tmp = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = tmp;
    }
  if (n == 0) return -1;
  if (n == 1) return idx[0];
  float d1 = t_dist(s, idx[0], anchor), d2 = t_dist(s, idx[1], anchor);
  bool clear = far ? d1 * c->nearest_ratio >= d2 : d1 <= c->nearest_ratio * d2;
  return clear ? idx[0] : -1;
}

// ---- reading captions ----

typedef struct tspan {
  int start, end;
  uint32_t objects;
} tspan;

typedef struct tcap {
  bool parsed, truth;
  int n_items, n_rel, n_rel_true;  // items; relational ones, and how many of those hold
  int n_spans;
  tspan spans[16];
} tcap;

static void t_span(tcap *out, int start, int end, uint32_t objects) {
  if (out->n_spans < 16) out->spans[out->n_spans++] = (tspan){start, end, objects};
}

// Evaluates a caption by its words: items without a relation state exact counts, items with
// one state that such a pair exists.
static tcap read_caption(const sw_config *c, const sw_scene *s, const char *text) {
  tcap out = {.truth = true};
  toks t;
  tokenize(text, &t);
  tnp np, np2;
  int pos = 0;
  if (is(&t, 0, "there")) {  // "there are three circles", "there is one red square"
    int num = number_word(&t, 2);
    if (!num || !is(&t, 1, num > 1 ? "are" : "is")) return out;
    pos = 3;
    if (!parse_np(&t, &pos, &np) || np.plural != (num > 1) || pos != t.n) return out;
    uint32_t m = t_match(s, &np);
    out.truth = sw_popcount(m) == num;
    out.n_items = 1;
    t_span(&out, 2, pos, m);
    out.parsed = true;
    return out;
  }
  if (number_word(&t, 0) >= 2 && is(&t, 1, "shapes") && is(&t, 2, "on")) {  // "four shapes on ..."
    if (t.n != 6 || !is(&t, 3, "a") || !is(&t, 4, "gray") || !is(&t, 5, "background")) return out;
    out.truth = s->n == number_word(&t, 0) && s->bg_mode == SW_BG_SOLID;
    out.n_items = 1;
    t_span(&out, 0, 2, (1u << s->n) - 1);
    out.parsed = true;
    return out;
  }
  for (;;) {  // items joined by commas and "and"
    // "a" / "an" for one object, "two" ... "nine" for more
    int start = pos, det = is(&t, pos, "a") || is(&t, pos, "an") ? 1 : number_word(&t, pos);
    if (det == 0 || (det == 1 && !article_ok(&t, pos)) || is(&t, pos, "one")) return out;
    pos++;
    if (!parse_np(&t, &pos, &np) || np.plural != (det > 1)) return out;
    int end1 = pos, rel = parse_rel(&t, &pos);
    out.n_items++;
    if (rel >= 0) {
      int start2 = pos;
      if (det != 1 || rel > SW_BELOW || !article_ok(&t, pos)) return out;
      pos++;
      if (!parse_np(&t, &pos, &np2) || np2.plural) return out;
      uint32_t m1 = t_match(s, &np), m2 = t_match(s, &np2), w1 = 0, w2 = 0;
      for (int i = 0; i < s->n; i++)
        for (int j = 0; j < s->n; j++)
          if (i != j && (m1 >> i & 1) && (m2 >> j & 1) && t_rel(c, s, rel, i, j))
            w1 |= 1u << i, w2 |= 1u << j;
      out.n_rel++;
      if (w1)
        out.n_rel_true++;
      else
        out.truth = false;
      t_span(&out, start, end1, w1);
      t_span(&out, start2, pos, w2);
    } else {
      uint32_t m = t_match(s, &np);
      if (sw_popcount(m) != det) out.truth = false;
      t_span(&out, start, end1, m);
    }
    if (pos == t.n) break;
    if (t.comma[pos - 1]) continue;  // "A, B and C"
    if (!is(&t, pos, "and")) return out;
    pos++;
  }
  out.parsed = true;
  return out;
}

// ---- reading questions ----

// "the NP" or (if allowed) "the NP REL the NP": the one object it names, or -1 (not unique,
// anchor not unique, or the relation not needed). *head gets the first phrase.
static int t_subject(const sw_config *c, const sw_scene *s, const toks *t, int *pos, bool allow_rel,
                     tnp *head) {
  if (!is(t, *pos, "the")) return -1;
  (*pos)++;
  if (!parse_np(t, pos, head) || head->plural) return -1;
  uint32_t set = t_match(s, head);
  int save = *pos, rel = allow_rel ? parse_rel(t, pos) : -1;
  if (rel < 0) {
    *pos = save;
    return sw_popcount(set) == 1 ? sw_first(set) : -1;
  }
  tnp anchor_np;
  if (!is(t, *pos, "the")) return -1;
  (*pos)++;
  if (!parse_np(t, pos, &anchor_np) || anchor_np.plural) return -1;
  uint32_t am = t_match(s, &anchor_np);
  if (sw_popcount(am) != 1 || sw_popcount(set) < 2) return -1;  // unique anchor; relation needed
  int a = sw_first(am);
  if (rel == SW_CLOSEST || rel == SW_FARTHEST) return t_nearest(c, s, set, a, rel == SW_FARTHEST);
  uint32_t cand = 0;
  for (int j = 0; j < s->n; j++)
    if ((set >> j & 1) && j != a && t_rel(c, s, rel, j, a)) cand |= 1u << j;
  return sw_popcount(cand) == 1 ? sw_first(cand) : -1;
}

static bool words_are(const toks *t, int *pos, const char *words) {
  toks w;
  tokenize(words, &w);
  for (int i = 0; i < w.n; i++)
    if (!is(t, *pos + i, w.w[i])) return false;
  *pos += w.n;
  return true;
}

static const char *attr_answer(const sw_object *o, int attr) {
  switch (attr) {
    case SW_ATTR_SHAPE: return SHAPES[o->shape];
    case SW_ATTR_COLOR: return COLORS[o->color];
    case SW_ATTR_SIZE: return SIZES[o->size];
    default: return STYLES[o->style];
  }
}

// The answer to a question of `family`, worked out from its words; false if the words do not
// make a valid question of that family (a phrase not unique, a queried attribute named, ...).
static bool t_answer(const sw_config *c, const sw_scene *s, int family, const char *text,
                     char *ans) {
  toks t;
  tokenize(text, &t);
  int pos = 0, o1, o2;
  tnp np, np2;
  switch (family) {
    case SW_Q_EXIST:
      if (!words_are(&t, &pos, "is there") || !article_ok(&t, pos)) return false;
      pos++;
      if (!parse_np(&t, &pos, &np) || np.plural || pos != t.n) return false;
      strcpy(ans, t_match(s, &np) ? "yes" : "no");
      return true;
    case SW_Q_COUNT:
      if (!words_are(&t, &pos, "how many") || !parse_np(&t, &pos, &np) || !np.plural) return false;
      if (!words_are(&t, &pos, "are there") || pos != t.n) return false;
      sprintf(ans, "%d", sw_popcount(t_match(s, &np)));
      return true;
    case SW_Q_COLOR:
    case SW_Q_SHAPE:
    case SW_Q_SIZE:
    case SW_Q_STYLE: {
      int attr = family == SW_Q_COLOR   ? SW_ATTR_COLOR
                 : family == SW_Q_SHAPE ? SW_ATTR_SHAPE
                 : family == SW_Q_SIZE  ? SW_ATTR_SIZE
                                        : SW_ATTR_STYLE;
      if (!is(&t, 0, "what") || !is(&t, 1, ATTR_WORDS[attr]) || !is(&t, 2, "is")) return false;
      pos = 3;
      if ((o1 = t_subject(c, s, &t, &pos, true, &np)) < 0 || pos != t.n) return false;
      if (np.use[attr]) return false;  // the NULL rule: the phrase does not give the answer away
      strcpy(ans, attr_answer(&s->obj[o1], attr));
      return true;
    }
    case SW_Q_HPOS:
    case SW_Q_VPOS: {
      float mid = (float)c->img_size / 2.0f, d = c->rel_margin;
      if (family == SW_Q_HPOS) {
        if (!words_are(&t, &pos, "on which side is")) return false;
        if ((o1 = t_subject(c, s, &t, &pos, false, &np)) < 0 || pos != t.n) return false;
        float x = s->obj[o1].cx;
        if (fabsf(x - mid) < d) return false;
        strcpy(ans, x < mid ? "left" : "right");
      } else {
        if (!words_are(&t, &pos, "is")) return false;
        if ((o1 = t_subject(c, s, &t, &pos, false, &np)) < 0) return false;
        if (!words_are(&t, &pos, "in the upper or lower half") || pos != t.n) return false;
        float y = s->obj[o1].cy;
        if (fabsf(y - mid) < d) return false;
        strcpy(ans, y < mid ? "top" : "bottom");
      }
      return true;
    }
    case SW_Q_CLOSEST:
    case SW_Q_FARTHEST: {
      if (!words_are(&t, &pos, "what shape is")) return false;
      int rel = parse_rel(&t, &pos);
      if (rel != (family == SW_Q_CLOSEST ? SW_CLOSEST : SW_FARTHEST)) return false;
      if ((o1 = t_subject(c, s, &t, &pos, false, &np)) < 0 || pos != t.n) return false;
      int o = t_nearest(c, s, (1u << s->n) - 1, o1, family == SW_Q_FARTHEST);
      if (o < 0) return false;
      strcpy(ans, SHAPES[s->obj[o].shape]);
      return true;
    }
    case SW_Q_COMPARE_ATTR: {
      if (!words_are(&t, &pos, "is") || (o1 = t_subject(c, s, &t, &pos, false, &np)) < 0)
        return false;
      if (!words_are(&t, &pos, "the same")) return false;
      int attr = -1;
      for (int a = 0; a < SW_N_ATTRS; a++)
        if (is(&t, pos, ATTR_WORDS[a])) attr = a;
      if (attr < 0) return false;
      pos++;
      if (!words_are(&t, &pos, "as") || (o2 = t_subject(c, s, &t, &pos, false, &np2)) < 0)
        return false;
      if (pos != t.n || o1 == o2 || np.use[attr] || np2.use[attr]) return false;
      strcpy(ans, attr_value(&s->obj[o1], attr) == attr_value(&s->obj[o2], attr) ? "yes" : "no");
      return true;
    }
    case SW_Q_COMPARE_COUNT:
      if (!words_are(&t, &pos, "are there more") || !parse_np(&t, &pos, &np) || !np.plural)
        return false;
      if (!words_are(&t, &pos, "than") || !parse_np(&t, &pos, &np2) || !np2.plural || pos != t.n)
        return false;
      strcpy(ans, sw_popcount(t_match(s, &np)) > sw_popcount(t_match(s, &np2)) ? "yes" : "no");
      return true;
    case SW_Q_RELATION: {
      if (!words_are(&t, &pos, "is") || (o1 = t_subject(c, s, &t, &pos, false, &np)) < 0)
        return false;
      int rel = parse_rel(&t, &pos);
      if (rel < 0 || rel > SW_BELOW) return false;
      if ((o2 = t_subject(c, s, &t, &pos, false, &np2)) < 0 || pos != t.n || o1 == o2) return false;
      strcpy(ans, t_rel(c, s, rel, o1, o2) ? "yes" : "no");
      return true;
    }
  }
  return false;
}

// ---- scenes ----

static sw_config config(const char *difficulty, int img_size, uint64_t seed) {
  sw_config c;
  cr_assert_eq(sw_config_defaults(&c, difficulty, img_size), 0);
  c.seed = seed;
  return c;
}

// Gap, axis margin and frame rules on every object and pair.
static void check_layout(const sw_config *c, const sw_scene *s, const char *what) {
  float W = (float)c->img_size;
  for (int i = 0; i < s->n; i++) {
    const sw_object *a = &s->obj[i];
    cr_assert(
        a->cx - a->r >= 0.0f && a->cy - a->r >= 0.0f && a->cx + a->r <= W && a->cy + a->r <= W,
        "%s: object %d at (%g, %g) r %g leaves the %g px frame", what, i, a->cx, a->cy, a->r, W);
    for (int j = 0; j < i; j++) {
      const sw_object *b = &s->obj[j];
      float dx = a->cx - b->cx, dy = a->cy - b->cy;
      cr_assert(sqrtf(dx * dx + dy * dy) >= a->r + b->r + c->gap_px - 1e-3f,
                "%s: objects %d and %d overlap", what, i, j);
      cr_assert(fabsf(dx) >= c->rel_margin && fabsf(dy) >= c->rel_margin,
                "%s: objects %d and %d break the axis margin %g", what, i, j, c->rel_margin);
    }
  }
}

static bool relational_family(const sw_caption *cap) {
  for (int k = 0; k < cap->n_clauses; k++)
    if (cap->clauses[k].kind == 1) return true;
  return false;
}

// One image's captions, each checked against the words-only reading; with a twin, every
// relational item is false there.
static void check_captions(const sw_config *c, const sw_scene *s, const sw_scene *twin,
                           const sw_caption *caps, int n, int *family_count, const char *what) {
  unsigned seen = 0;
  for (int k = 0; k < n; k++) {
    const sw_caption *cap = &caps[k];
    cr_assert(cap->family >= 0 && cap->family < SW_N_CAP_FAMILIES, "%s: family %d", what,
              cap->family);
    cr_assert(!(seen >> cap->family & 1), "%s: two captions of family %s", what,
              sw_caption_family_names[cap->family]);
    seen |= 1u << cap->family;
    family_count[cap->family]++;
    for (const char *p = cap->text; *p; p++)
      cr_assert((*p >= 'a' && *p <= 'z') || *p == ' ' || *p == ',', "%s: character '%c' in \"%s\"",
                what, *p, cap->text);
    cr_assert(sw_caption_true(c, s, cap), "%s: \"%s\" is false on its image", what, cap->text);
    tcap got = read_caption(c, s, cap->text);
    cr_assert(got.parsed, "%s: \"%s\" (%s) does not parse", what, cap->text,
              sw_caption_family_names[cap->family]);
    cr_assert(got.truth, "%s: \"%s\" read from its words is false on its image", what, cap->text);
    cr_assert_eq(got.n_spans, cap->n_spans, "%s: \"%s\": %d phrases, %d spans", what, cap->text,
                 got.n_spans, cap->n_spans);
    for (int i = 0; i < got.n_spans; i++)
      cr_assert(got.spans[i].start == cap->spans[i].start &&
                    got.spans[i].end == cap->spans[i].end &&
                    got.spans[i].objects == cap->spans[i].objects,
                "%s: \"%s\" span %d is [%d, %d) -> %#x, the words say [%d, %d) -> %#x", what,
                cap->text, i, cap->spans[i].start, cap->spans[i].end, cap->spans[i].objects,
                got.spans[i].start, got.spans[i].end, got.spans[i].objects);
    bool relational = cap->family == SW_CAP_RELATIONAL || cap->family == SW_CAP_MIXED;
    cr_assert(!relational || got.n_rel >= 1, "%s: \"%s\" states no relation", what, cap->text);
    cr_assert_eq(got.n_rel > 0, relational_family(cap), "%s: \"%s\": clauses and words disagree",
                 what, cap->text);
    if (twin && got.n_rel > 0) {
      tcap on_twin = read_caption(c, twin, cap->text);
      cr_assert(on_twin.parsed && on_twin.n_rel_true == 0,
                "%s: \"%s\" has a relation that also holds on the layout twin", what, cap->text);
      cr_assert(!sw_caption_true(c, twin, cap), "%s: \"%s\" is true on the twin", what, cap->text);
    }
  }
}

// ---- captions ----

Test(sw_text, captions_are_true_and_their_spans_name_the_right_objects) {
  // every difficulty at 64 px, and hard at 128 px (extended shapes, up to 15 objects in test_hard)
  static const char *const difficulties[] = {"easy", "medium", "hard", "hard"};
  int family_count[SW_N_CAP_FAMILIES] = {0}, images = 0, full = 0, twins = 0;
  for (int d = 0; d < 4; d++) {
    static const int splits[2] = {SW_TRAIN, SW_TEST_HARD};
    for (int si = 0; si < 2; si++) {
      int split = splits[si];
      sw_config base = config(difficulties[d], d == 3 ? 128 : 64, 11 + d);
      sw_config c = sw_config_for_split(&base, split);
      int n_images = d == 3 ? 100 : split == SW_TRAIN ? 700 : 150;
      for (int i = 0; i < n_images; i++) {
        gw_rng r = sw_image_rng(c.seed, sw_split_names[split], i);
        sw_scene s, twin;
        if (sw_scene_sample(&c, split, &r, &s) < 0) continue;
        sw_ref refs[8];
        int n_refs =
            sw_refs_for_image(&c, &s, (1u << s.n) - 1, gw_rng_float(&r) < c.p_swap, &r, refs);
        bool has_twin = gw_rng_float(&r) < 0.3f && sw_scene_twin(&c, &s, &r, &twin) == 0;
        sw_caption caps[SW_N_CAP_FAMILIES];
        int n = sw_captions_for_image(&c, &s, has_twin ? &twin : NULL, refs, n_refs, &r, caps);
        char what[64];
        snprintf(what, sizeof what, "%s@%d/%s image %d", difficulties[d], c.img_size,
                 sw_split_names[split], i);
        check_captions(&c, &s, has_twin ? &twin : NULL, caps, n, family_count, what);
        images++;
        full += n == c.captions_per_image;
        twins += has_twin;
      }
    }
  }
  cr_assert_geq(full, images * 99 / 100, "only %d of %d images got all five captions", full,
                images);
  cr_assert_geq(twins, images / 5, "only %d twins in %d images", twins, images);
  for (int f = 0; f < SW_N_CAP_FAMILIES; f++)
    cr_assert_geq(family_count[f], images * 95 / 100, "family %s: %d captions in %d images",
                  sw_caption_family_names[f], family_count[f], images);
}

Test(sw_text, caption_examples_of_every_family) {
  sw_config c = config("medium", 64, 5);
  gw_rng r = sw_image_rng(c.seed, "train", 3);
  sw_scene s;
  cr_assert_eq(sw_scene_sample(&c, SW_TRAIN, &r, &s), 0);
  sw_ref refs[8];
  int n_refs = sw_refs_for_image(&c, &s, (1u << s.n) - 1, false, &r, refs);
  sw_caption caps[SW_N_CAP_FAMILIES];
  int n = sw_captions_for_image(&c, &s, NULL, refs, n_refs, &r, caps);
  cr_assert_eq(n, 5);
  for (int k = 0; k < n; k++)
    cr_log_info("%-10s %s", sw_caption_family_names[caps[k].family], caps[k].text);
  // the same stream gives the same captions
  gw_rng r2 = sw_image_rng(c.seed, "train", 3);
  sw_scene s2;
  sw_ref refs2[8];
  sw_caption caps2[SW_N_CAP_FAMILIES];
  cr_assert_eq(sw_scene_sample(&c, SW_TRAIN, &r2, &s2), 0);
  int n_refs2 = sw_refs_for_image(&c, &s2, (1u << s2.n) - 1, false, &r2, refs2);
  cr_assert_eq(sw_captions_for_image(&c, &s2, NULL, refs2, n_refs2, &r2, caps2), n);
  for (int k = 0; k < n; k++) cr_assert_str_eq(caps2[k].text, caps[k].text);
}

Test(sw_text, layout_twins_keep_the_objects_and_differ_in_relations) {
  int made = 0, tried = 0;
  for (int d = 0; d < 2; d++) {
    sw_config c = config(d ? "hard" : "medium", 64, 21);
    for (int i = 0; i < 300; i++) {
      gw_rng r = sw_image_rng(c.seed, "train", i);
      sw_scene s, twin;
      if (sw_scene_sample(&c, SW_TRAIN, &r, &s) < 0) continue;
      tried++;
      if (sw_scene_twin(&c, &s, &r, &twin) < 0) continue;
      made++;
      cr_assert_eq(twin.n, s.n);
      cr_assert_eq(twin.bg_mode, s.bg_mode);
      check_layout(&c, &twin, "twin");
      bool moved = false;
      for (int k = 0; k < s.n; k++) {
        const sw_object *a = &s.obj[k], *b = &twin.obj[k];
        cr_assert(a->shape == b->shape && a->color == b->color && a->size == b->size &&
                      a->style == b->style && a->rot == b->rot && a->r == b->r &&
                      !memcmp(a->rgb, b->rgb, 3),
                  "image %d: twin object %d has other attributes", i, k);
        moved |= a->cx != b->cx || a->cy != b->cy;
      }
      cr_assert(moved, "image %d: the twin did not move anything", i);
      // both ways round: each scene's relational captions are false on the other
      sw_caption caps[SW_N_CAP_FAMILIES];
      int fam[SW_N_CAP_FAMILIES] = {0};
      int n = sw_captions_for_image(&c, &s, &twin, NULL, 0, &r, caps);
      check_captions(&c, &s, &twin, caps, n, fam, "twin a");
      n = sw_captions_for_image(&c, &twin, &s, NULL, 0, &r, caps);
      check_captions(&c, &twin, &s, caps, n, fam, "twin b");
      cr_assert(fam[SW_CAP_RELATIONAL] == 2 && fam[SW_CAP_MIXED] == 2,
                "image %d: a twin without relational captions", i);
    }
  }
  cr_assert_geq(made, tried * 9 / 10, "only %d twins for %d scenes", made, tried);
}

// ---- VQA ----

Test(sw_text, vqa_answers_are_right_and_balanced) {
  sw_config c = config("medium", 64, 31);
  sw_vqa_balancer b;
  memset(&b, 0, sizeof b);
  int64_t cand_per_family[SW_N_Q_FAMILIES] = {0};
  int64_t yes[SW_N_Q_FAMILIES] = {0}, no[SW_N_Q_FAMILIES] = {0}, answers[SW_N_Q_FAMILIES][64];
  memset(answers, 0, sizeof answers);
  enum { MAX_CAND = 130 };
  sw_question cand[MAX_CAND], chosen[16];
  for (int i = 0; i < 3000; i++) {
    gw_rng r = sw_image_rng(c.seed, "train", i);
    sw_scene s;
    if (sw_scene_sample(&c, SW_TRAIN, &r, &s) < 0) continue;
    int n = sw_question_candidates(&c, &s, &r, cand, MAX_CAND);
    cr_assert(n > 0 && n <= MAX_CAND);
    for (int k = 0; k < n; k++) {
      const sw_question *q = &cand[k];
      cr_assert(q->family >= 0 && q->family < SW_N_Q_FAMILIES);
      cand_per_family[q->family]++;
      cr_assert_geq(sw_answer_id(q->answer), 0, "answer \"%s\" is not in the vocabulary",
                    q->answer);
      // the answer type fits the family
      int type = sw_question_answer_type(q->family);
      bool yn = !strcmp(q->answer, "yes") || !strcmp(q->answer, "no");
      bool num = q->answer[0] >= '0' && q->answer[0] <= '9';
      cr_assert(type == 0   ? yn
                : type == 1 ? num
                            : !yn && !num,
                "\"%s\" -> \"%s\" (type %s)", q->text, q->answer, sw_answer_type_names[type]);
      // the NULL rule: the answer word is not in the question
      toks t;
      tokenize(q->text, &t);
      for (int w = 0; w < t.n; w++)
        cr_assert(strcmp(t.w[w], q->answer), "\"%s\" contains its answer", q->text);
      char ans[16];
      cr_assert(t_answer(&c, &s, q->family, q->text, ans), "image %d: \"%s\" (%s) is not valid", i,
                q->text, sw_question_family_names[q->family]);
      cr_assert_str_eq(q->answer, ans, "image %d: \"%s\" answered \"%s\", the scene says \"%s\"", i,
                       q->text, q->answer, ans);
      for (int j = 0; j < k; j++) cr_assert(strcmp(cand[j].text, q->text), "\"%s\" twice", q->text);
    }
    int m = sw_vqa_select(&b, cand, n, c.questions_per_image, &r, chosen);
    cr_assert(m <= c.questions_per_image);
    for (int k = 0; k < m; k++) {
      int f = chosen[k].family;
      if (!strcmp(chosen[k].answer, "yes"))
        yes[f]++;
      else if (!strcmp(chosen[k].answer, "no"))
        no[f]++;
      answers[f][sw_answer_id(chosen[k].answer)]++;
    }
  }
  cr_assert_eq(sw_n_answers, 37);
  for (int f = 0; f < SW_N_Q_FAMILIES; f++) {
    cr_assert_gt(cand_per_family[f], 1000, "family %s: %ld candidates", sw_question_family_names[f],
                 (long)cand_per_family[f]);
    if (sw_question_answer_type(f) == 0) {
      int64_t total = yes[f] + no[f];
      cr_assert_geq(total, 1000, "family %s: %ld selected", sw_question_family_names[f],
                    (long)total);
      double ratio = (double)yes[f] / (double)total;
      cr_assert(fabs(ratio - 0.5) <= 0.03, "family %s: %.3f yes", sw_question_family_names[f],
                ratio);
      cr_log_info("%-16s %5ld selected, yes %.3f", sw_question_family_names[f], (long)total, ratio);
    } else {
      int64_t first = 0, second = 0, total = 0;
      for (int a = 0; a < 64; a++) {
        int64_t v = answers[f][a];
        total += v;
        if (v > first)
          second = first, first = v;
        else if (v > second)
          second = v;
      }
      cr_assert_geq(second, 50, "family %s: only %ld for the second answer",
                    sw_question_family_names[f], (long)second);
      cr_assert(first <= 1.1 * second, "family %s: max/second = %ld/%ld",
                sw_question_family_names[f], (long)first, (long)second);
      cr_log_info("%-16s %5ld selected, max/second %.3f", sw_question_family_names[f], (long)total,
                  (double)first / (double)second);
    }
  }
}

Test(sw_text, vqa_on_other_knobs_and_with_relational_subjects) {
  // easy@64: no styles, so no style questions and no style words; hard@128: extended shapes,
  // rotations, noise, up to 12 objects
  sw_question cand[130];
  int rel_subjects = 0, extended = 0;
  for (int i = 0; i < 500; i++) {
    sw_config c = i < 300 ? config("easy", 64, 41) : config("hard", 128, 42);
    gw_rng r = sw_image_rng(c.seed, "val", i);
    sw_scene s;
    if (sw_scene_sample(&c, SW_VAL, &r, &s) < 0) continue;
    int n = sw_question_candidates(&c, &s, &r, cand, 130);
    for (int k = 0; k < n; k++) {
      cr_assert(c.styles || cand[k].family != SW_Q_STYLE);
      cr_assert(c.styles || (!strstr(cand[k].text, "hollow") && !strstr(cand[k].text, "solid")),
                "%s", cand[k].text);
      extended += !strcmp(cand[k].answer, "pentagon") || !strcmp(cand[k].answer, "hexagon");
      char ans[16];
      cr_assert(t_answer(&c, &s, cand[k].family, cand[k].text, ans), "\"%s\" is not valid",
                cand[k].text);
      cr_assert_str_eq(cand[k].answer, ans, "\"%s\"", cand[k].text);
      if (cand[k].family <= SW_Q_STYLE && cand[k].family >= SW_Q_COLOR &&
          (strstr(cand[k].text, " of the ") || strstr(cand[k].text, " to the ") ||
           strstr(cand[k].text, "above the") || strstr(cand[k].text, "below the")))
        rel_subjects++;
    }
  }
  cr_assert_gt(rel_subjects, 100, "only %d query questions with a relational phrase", rel_subjects);
  cr_assert_gt(extended, 20, "only %d pentagon or hexagon answers at 128 px", extended);
  // the examples of every family
  sw_config m = config("medium", 64, 43);
  gw_rng r = sw_image_rng(m.seed, "train", 0);
  sw_scene s;
  cr_assert_eq(sw_scene_sample(&m, SW_TRAIN, &r, &s), 0);
  int n = sw_question_candidates(&m, &s, &r, cand, 130);
  unsigned shown = 0;
  for (int k = 0; k < n; k++)
    if (!(shown >> cand[k].family & 1)) {
      shown |= 1u << cand[k].family;
      cr_log_info("%-16s %s -> %s", sw_question_family_names[cand[k].family], cand[k].text,
                  cand[k].answer);
    }
}

Test(sw_text, vqa_balancer_keeps_yes_and_no_within_one) {
  sw_vqa_balancer b;
  memset(&b, 0, sizeof b);
  gw_rng r = gwt_rng(3);
  sw_question cand[8], out[8];
  for (int step = 0; step < 2000; step++) {
    // a stream of mostly-"no" candidates: the balancer must wait for the yeses
    for (int k = 0; k < 8; k++) {
      cand[k].family = SW_Q_EXIST;
      snprintf(cand[k].text, SW_Q_LEN, "q%d", k);
      snprintf(cand[k].answer, SW_A_LEN, "%s", gw_rng_float(&r) < 0.1f ? "yes" : "no");
    }
    sw_vqa_select(&b, cand, 8, 3, &r, out);
    int64_t d = b.yes[SW_Q_EXIST] - b.no[SW_Q_EXIST];
    cr_assert(d >= -1 && d <= 1, "yes %ld, no %ld", (long)b.yes[SW_Q_EXIST],
              (long)b.no[SW_Q_EXIST]);
  }
  cr_assert_gt(b.yes[SW_Q_EXIST], 500);
}

// ---- few-shot ----

Test(sw_text, fewshot_class_names_and_prompts) {
  sw_config c = config("medium", 64, 1);
  char buf[96];
  static const int want_classes[SW_N_FS_TASKS] = {6, 8, 28, 8, 6};
  for (int task = 0; task < SW_N_FS_TASKS; task++)
    cr_assert_eq(sw_fewshot_n_classes(&c, task), want_classes[task], "%s",
                 sw_fewshot_task_names[task]);
  cr_assert_str_eq(sw_fewshot_task_names[SW_FS_SHAPE_NOISY], "sw-shape-noisy");
  struct {
    int task, cls;
    const char *name, *prompt;
  } cases[] = {
      {SW_FS_SHAPE, 0, "circle", "a picture of a circle shape."},
      {SW_FS_SHAPE, 5, "cross", "a picture of a cross shape."},
      {SW_FS_COLOR, 0, "red", "a picture of something red."},
      {SW_FS_COLOR, 7, "white", "a picture of something white."},
      {SW_FS_COMBO, 0, "red circle", "a picture of a red circle."},
      {SW_FS_COMBO, 8, "red square", "a picture of a red square."},  // squares take C1 only
      {SW_FS_COMBO, 16, "green diamond", "a picture of a green diamond."},
      {SW_FS_COUNT, 0, "one shape", "a picture of one shape."},
      {SW_FS_COUNT, 2, "three shapes", "a picture of three shapes."},
      {SW_FS_COUNT, 7, "eight shapes", "a picture of eight shapes."},
      {SW_FS_SHAPE_NOISY, 4, "star", "a picture of a star shape."},
  };
  for (int k = 0; k < LEN(cases); k++) {
    sw_fewshot_class_name(&c, cases[k].task, cases[k].cls, buf, sizeof buf);
    cr_assert_str_eq(buf, cases[k].name);
    sw_fewshot_prompt(&c, cases[k].task, cases[k].cls, buf, sizeof buf);
    cr_assert_str_eq(buf, cases[k].prompt);
  }
  // combo names are distinct and exist in the train palette
  for (int i = 0; i < 28; i++) {
    char a[64], other[64];
    sw_fewshot_class_name(&c, SW_FS_COMBO, i, a, sizeof a);
    for (int j = 0; j < i; j++) {
      sw_fewshot_class_name(&c, SW_FS_COMBO, j, other, sizeof other);
      cr_assert_str_neq(a, other);
    }
  }
  sw_config open = c;
  open.comp_split = false;
  cr_assert_eq(sw_fewshot_n_classes(&open, SW_FS_COMBO), 48);
  sw_config big = config("medium", 128, 1);
  cr_assert_eq(sw_fewshot_n_classes(&big, SW_FS_SHAPE), 8);
  cr_assert_eq(sw_fewshot_n_classes(&big, SW_FS_COMBO), 44);
  big.comp_split = false;
  cr_assert_eq(sw_fewshot_n_classes(&big, SW_FS_COMBO), 64);
  sw_fewshot_class_name(&big, SW_FS_SHAPE, 7, buf, sizeof buf);
  cr_assert_str_eq(buf, "hexagon");
}

Test(sw_text, fewshot_scenes_are_of_their_class) {
  // medium at 64 and 128 px (extended shapes), easy at 64 px (its wide margin crowds sw-count)
  for (int v = 0; v < 3; v++) {
    int size = v == 1 ? 128 : 64;
    sw_config c = config(v == 2 ? "easy" : "medium", size, 7);
    uint8_t *rgb = malloc((size_t)size * size * 3);
    for (int task = 0; task < SW_N_FS_TASKS; task++) {
      int n_classes = sw_fewshot_n_classes(&c, task);
      for (int cls = 0; cls < n_classes; cls++)
        for (int i = 0; i < 12; i++) {
          gw_rng r = sw_image_rng(c.seed, sw_fewshot_task_names[task], cls * 1000 + i);
          sw_scene s;
          char what[96], name[64], got[64];
          snprintf(what, sizeof what, "%s@%d class %d image %d", sw_fewshot_task_names[task], size,
                   cls, i);
          cr_assert_eq(sw_fewshot_scene(&c, task, cls, &r, &s), 0, "%s: no scene", what);
          check_layout(&c, &s, what);
          for (int k = 0; k < s.n; k++)
            cr_assert(sw_color_allowed(&c, SW_TRAIN, s.obj[k].shape, s.obj[k].color),
                      "%s: object %d breaks the palette rule", what, k);
          sw_fewshot_class_name(&c, task, cls, name, sizeof name);
          const sw_object *o = &s.obj[0];
          switch (task) {
            case SW_FS_SHAPE:
              cr_assert(s.n == 1 && !strcmp(SHAPES[o->shape], name), "%s", what);
              break;
            case SW_FS_COLOR:
              cr_assert(s.n == 1 && !strcmp(COLORS[o->color], name), "%s", what);
              break;
            case SW_FS_COMBO:
              snprintf(got, sizeof got, "%s %s", COLORS[o->color], SHAPES[o->shape]);
              cr_assert(s.n == 1 && !strcmp(got, name), "%s: a %s", what, got);
              break;
            case SW_FS_COUNT:
              snprintf(got, sizeof got, "%s %s", NUMBERS[s.n], s.n == 1 ? "shape" : "shapes");
              cr_assert_str_eq(got, name, "%s", what);
              break;
            case SW_FS_SHAPE_NOISY: {
              cr_assert(s.bg_mode == SW_BG_NOISE || s.bg_mode == SW_BG_TEXTURE, "%s", what);
              cr_assert(s.n >= 3 && s.n <= 4, "%s: %d objects", what, s.n);
              int large = 0;
              for (int k = 0; k < s.n; k++) {
                if (s.obj[k].size == SW_LARGE) {
                  large++;
                  cr_assert_str_eq(SHAPES[s.obj[k].shape], name, "%s", what);
                } else {
                  cr_assert(strcmp(SHAPES[s.obj[k].shape], name), "%s: clutter of the class shape",
                            what);
                }
              }
              cr_assert_eq(large, 1, "%s: %d large objects", what, large);
              break;
            }
          }
          if (i == 0) {  // it draws: every object covers pixels
            sw_render(&c, &s, &r, rgb);
            for (int k = 0; k < s.n; k++)
              cr_assert_gt(s.obj[k].area, 0, "%s: object %d is invisible", what, k);
          }
        }
    }
    free(rgb);
  }
}
