// VQA questions for shapes world (shared/datasets.md §6.7).
//
// Every question is a program over the scene graph: the objects it refers to are picked by the
// executor (each one unique, and any relation in its phrase needed: not degenerate), and its
// answer is read off the executor's output. CLEVR's NULL rule holds twice over: a phrase never
// names the attribute the question asks about, and no question contains its answer word.
// Balancing over a split (sw_vqa_select) makes yes and no equally frequent in every yes/no
// family and flattens the answers of the other families by CLEVR's rejection rule.
#include <stdio.h>
#include <string.h>

#include "datasets/sw_text.h"

const char *const sw_question_family_names[SW_N_Q_FAMILIES] = {
    "exist",        "count",         "query_color",    "query_shape", "query_size",
    "query_style",  "query_hpos",    "query_vpos",     "closest",     "farthest",
    "compare_attr", "compare_count", "relation_verify"};
const char *const sw_answer_type_names[3] = {"yes/no", "number", "other"};

// answers.txt, in order: the ids below index it.
const char *const sw_answers[] = {
    "yes",     "no",    "0",        "1",       "2",      "3",      "4",        "5",
    "6",       "7",     "8",        "9",       "red",    "green",  "blue",     "yellow",
    "magenta", "cyan",  "orange",   "white",   "circle", "square", "triangle", "diamond",
    "star",    "cross", "pentagon", "hexagon", "small",  "large",  "medium",   "solid",
    "hollow",  "left",  "right",    "top",     "bottom"};
const int sw_n_answers = (int)(sizeof sw_answers / sizeof sw_answers[0]);
enum { A_YES = 0, A_NO = 1, A_NUM = 2, A_COLOR = 12, A_SHAPE = 20, A_SIZE = 28, A_STYLE = 31,
       A_LEFT = 33, A_RIGHT = 34, A_TOP = 35, A_BOTTOM = 36, N_ANSWERS = 37 };
_Static_assert(sizeof sw_answers / sizeof sw_answers[0] == N_ANSWERS, "answer ids");

int sw_answer_id(const char *answer) {
  for (int k = 0; k < N_ANSWERS; k++)
    if (!strcmp(sw_answers[k], answer)) return k;
  return -1;
}

int sw_question_answer_type(int family) {
  switch (family) {
    case SW_Q_EXIST:
    case SW_Q_COMPARE_ATTR:
    case SW_Q_COMPARE_COUNT:
    case SW_Q_RELATION: return 0;
    case SW_Q_COUNT: return 1;
    default: return 2;
  }
}

static int n_attrs(const sw_config *c) { return c->styles ? SW_N_ATTRS : SW_ATTR_STYLE; }
static int below(gw_rng *r, int n) { return (int)gw_rng_below(r, (uint64_t)n); }

static void shuffle(int *v, int n, gw_rng *r) {
  for (int i = n - 1; i > 0; i--) {
    int j = below(r, i + 1), t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

// How many values an attribute takes under these knobs.
static int n_values(const sw_config *c, int attr) {
  switch (attr) {
    case SW_ATTR_SHAPE: return c->extended_shapes ? SW_N_SHAPES : SW_PENTAGON;
    case SW_ATTR_COLOR: return SW_N_COLORS;
    case SW_ATTR_SIZE: return c->medium_size ? 3 : 2;
    default: return c->styles ? 2 : 1;
  }
}

static int answer_of(int attr, int value) {
  static const int base[SW_N_ATTRS] = {A_SHAPE, A_COLOR, A_SIZE, A_STYLE};
  return base[attr] + value;
}

static const char *const ATTR_WORDS[SW_N_ATTRS] = {"shape", "color", "size", "style"};

static const char *article(const char *words) {
  return words[0] && strchr("aeiou", words[0]) ? "an" : "a";
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

// Another value for one of the attributes np names (a phrase that may name nothing).
static void perturb(const sw_config *c, sw_np *np, gw_rng *r) {
  int named[SW_N_ATTRS], k = 0;
  for (int a = 0; a < SW_N_ATTRS; a++)
    if (np->use[a] && n_values(c, a) > 1) named[k++] = a;
  if (!k) return;
  int a = named[below(r, k)], v = below(r, n_values(c, a) - 1);
  np->val[a] = v >= np->val[a] ? v + 1 : v;
}

// ---- programs ----

static int add_node(sw_program *p, sw_node nd) {
  p->node[p->n] = nd;
  return p->n++;
}

// Appends the nodes of src to p, inputs shifted; returns the index of src's output.
static int append(sw_program *p, const sw_program *src) {
  int base = p->n;
  for (int k = 0; k < src->n; k++) {
    sw_node nd = src->node[k];
    if (nd.op != SW_OP_SCENE) nd.in[0] += base;
    if (nd.op == SW_OP_NEAREST || nd.op == SW_OP_INTERSECT) nd.in[1] += base;
    p->node[p->n++] = nd;
  }
  return p->n - 1;
}

// The single object a program picks, or -1.
static int picked(const sw_config *c, const sw_scene *s, const sw_program *p) {
  bool valid;
  uint32_t out = sw_exec(c, s, p, -1, &valid);
  return valid && sw_popcount(out) == 1 ? sw_first(out) : -1;
}

// ---- generation ----

typedef struct qgen {
  const sw_config *c;
  const sw_scene *s;
  gw_rng *r;
  sw_question *out;
  int n, max;
} qgen;

static bool has_word(const char *text, const char *word) {
  size_t len = strlen(word);
  for (const char *p = text; (p = strstr(p, word)) != NULL; p++) {
    char end = p[len];
    if ((p == text || p[-1] == ' ') && (end == '\0' || end == ' ' || end == '?' || end == ','))
      return true;
  }
  return false;
}

// Keeps a question unless its text holds its answer (the NULL rule), repeats another one's
// text or did not fit.
static bool push(qgen *q, int family, const char *text, int answer) {
  if (q->n >= q->max || strlen(text) >= SW_Q_LEN - 1 || has_word(text, sw_answers[answer]))
    return false;
  for (int k = 0; k < q->n; k++)
    if (!strcmp(q->out[k].text, text)) return false;
  sw_question *o = &q->out[q->n++];
  o->family = family;
  snprintf(o->text, SW_Q_LEN, "%s", text);
  snprintf(o->answer, SW_A_LEN, "%s", sw_answers[answer]);
  return true;
}

// Attribute subsets within `allowed`, shortest first, in random order within a length.
static int subsets_by_length(const sw_config *c, unsigned allowed, gw_rng *r, int *out) {
  int n = 0;
  for (int m = 0; m < 1 << n_attrs(c); m++)
    if (!(m & ~allowed)) out[n++] = m;
  shuffle(out, n, r);
  for (int i = 1; i < n; i++)  // stable insertion sort by length
    for (int j = i; j > 0 && sw_popcount((uint32_t)out[j - 1]) > sw_popcount((uint32_t)out[j]);
         j--) {
      int t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  return n;
}

// A phrase naming one object: "the <np>", unique by its attributes, or, if relational,
// "the <np> <rel> the <anchor>" with a unique anchor and a relation that is needed. The np
// never names an attribute of `avoid`. Fills e (program and words); 0 on success.
static int subject(qgen *q, int target, unsigned avoid, bool relational, sw_ref *e) {
  const sw_config *c = q->c;
  const sw_scene *s = q->s;
  unsigned allowed = ((1u << SW_N_ATTRS) - 1) & ~avoid;
  int subsets[1 << SW_N_ATTRS], n;
  memset(e, 0, sizeof *e);
  e->target = target;
  e->swap_of = -1;
  if (!relational) {
    e->kind = SW_REF_ATTR;
    n = subsets_by_length(c, allowed, q->r, subsets);
    for (int i = 0; i < n; i++) {
      e->np = np_of(c, &s->obj[target], (unsigned)subsets[i]);
      sw_ref_program(e);
      if (sw_picks(c, s, &e->prog, target)) goto found;
    }
    return -1;
  }
  e->kind = SW_REF_REL;
  e->level = 2;
  int anchors[SW_MAX_OBJ], n_anchors = 0;
  for (int j = 0; j < s->n; j++)
    if (j != target) anchors[n_anchors++] = j;
  shuffle(anchors, n_anchors, q->r);
  for (int ai = 0; ai < n_anchors && ai < 4; ai++) {
    int a = anchors[ai], found = 0;
    n = subsets_by_length(c, (1u << SW_N_ATTRS) - 1, q->r, subsets);
    for (int i = 0; i < n && !found; i++) {
      e->anchor_np[0] = np_of(c, &s->obj[a], (unsigned)subsets[i]);
      found = sw_np_set(c, s, &e->anchor_np[0]) == 1u << a;
    }
    if (!found) continue;
    e->anchor[0] = a;
    int rels[SW_N_RELS];
    for (int k = 0; k < SW_N_RELS; k++) rels[k] = k;
    shuffle(rels, SW_N_RELS, q->r);
    for (int ri = 0; ri < SW_N_RELS; ri++) {
      e->rel[0] = rels[ri];
      if (e->rel[0] <= SW_BELOW && !sw_rel_holds(c, s, e->rel[0], target, a)) continue;
      n = subsets_by_length(c, allowed, q->r, subsets);
      for (int i = 0; i < n; i++) {
        e->np = np_of(c, &s->obj[target], (unsigned)subsets[i]);
        sw_ref_program(e);
        if (sw_picks(c, s, &e->prog, target) && sw_non_degenerate(c, s, &e->prog, target))
          goto found;
      }
    }
  }
  return -1;
found:
  sw_ref_realize(c, s, e, 1, q->r);
  return 0;
}

// Two different objects, the second sharing the first's `attr` half of the time when some
// object does (so that "same" questions are not rare).
static bool two_objects(qgen *q, int attr, int *t1, int *t2) {
  const sw_scene *s = q->s;
  if (s->n < 2) return false;
  *t1 = below(q->r, s->n);
  int same[SW_MAX_OBJ], n_same = 0;
  for (int j = 0; j < s->n; j++)
    if (j != *t1 && attr >= 0 && sw_attr_of(&s->obj[j], attr) == sw_attr_of(&s->obj[*t1], attr))
      same[n_same++] = j;
  if (n_same && below(q->r, 2)) {
    *t2 = same[below(q->r, n_same)];
  } else {
    *t2 = below(q->r, s->n - 1);
    if (*t2 >= *t1) (*t2)++;
  }
  return true;
}

// "is there a small red circle?"
static bool q_exist(qgen *q) {
  const sw_object *o = &q->s->obj[below(q->r, q->s->n)];
  sw_np np = np_of(q->c, o, 1u + (unsigned)below(q->r, (1 << n_attrs(q->c)) - 1));
  if (below(q->r, 2)) perturb(q->c, &np, q->r);
  bool yes = sw_np_set(q->c, q->s, &np) != 0;
  char words[SW_SENT_LEN] = "", text[SW_Q_LEN];
  sw_np_text(q->c, &np, false, q->r, words, sizeof words);
  snprintf(text, sizeof text, "is there %s %s?", article(words), words);
  return push(q, SW_Q_EXIST, text, yes ? A_YES : A_NO);
}

// "how many blue shapes are there?"
static bool q_count(qgen *q) {
  const sw_object *o = &q->s->obj[below(q->r, q->s->n)];
  sw_np np = np_of(q->c, o, (unsigned)below(q->r, 1 << n_attrs(q->c)));
  if (gw_rng_float(q->r) < 0.3f) perturb(q->c, &np, q->r);
  int count = sw_popcount(sw_np_set(q->c, q->s, &np));
  if (count > 9) return false;
  char words[SW_SENT_LEN] = "", text[SW_Q_LEN];
  sw_np_text(q->c, &np, true, q->r, words, sizeof words);
  snprintf(text, sizeof text, "how many %s are there?", words);
  return push(q, SW_Q_COUNT, text, A_NUM + count);
}

// "what color is the large square?", "what shape is the thing left of the red circle?"
static bool q_query(qgen *q, int family, int attr) {
  sw_ref e;
  int t = below(q->r, q->s->n);
  bool relational = below(q->r, 2);
  if (subject(q, t, 1u << attr, relational, &e) < 0 &&
      (!relational || subject(q, t, 1u << attr, false, &e) < 0))
    return false;
  int obj = picked(q->c, q->s, &e.prog);
  if (obj < 0) return false;
  char text[SW_Q_LEN];
  snprintf(text, sizeof text, "what %s is %s?", ATTR_WORDS[attr], e.sents[0]);
  return push(q, family, text, answer_of(attr, sw_attr_of(&q->s->obj[obj], attr)));
}

// "on which side is the green star?" / "is the green star in the upper or lower half?": the
// corner the executor's LOCATE finds the object in (none within the dead band of the centre
// lines).
static bool q_position(qgen *q, int family) {
  sw_ref e;
  int t = below(q->r, q->s->n);
  if (subject(q, t, 0, false, &e) < 0) return false;
  int corner = -1;
  for (int loc = SW_LOC_TOP_LEFT; loc <= SW_LOC_BOTTOM_RIGHT; loc++) {
    sw_program p = e.prog;
    add_node(&p, (sw_node){.op = SW_OP_LOCATE, .in = {p.n - 1}, .loc = loc});
    if (picked(q->c, q->s, &p) == t) corner = loc;
  }
  if (corner < 0) return false;
  char text[SW_Q_LEN];
  int answer;
  if (family == SW_Q_HPOS) {
    snprintf(text, sizeof text, "on which side is %s?", e.sents[0]);
    answer = corner == SW_LOC_TOP_LEFT || corner == SW_LOC_BOTTOM_LEFT ? A_LEFT : A_RIGHT;
  } else {
    snprintf(text, sizeof text, "is %s in the upper or lower half?", e.sents[0]);
    answer = corner == SW_LOC_TOP_LEFT || corner == SW_LOC_TOP_RIGHT ? A_TOP : A_BOTTOM;
  }
  return push(q, family, text, answer);
}

// "what shape is closest to the yellow object?" (Sort-of-CLEVR's relational questions): the
// winner must beat the runner-up by the ratio rho.
static bool q_nearest(qgen *q, int family) {
  sw_ref anchor;
  if (q->s->n < 2 || subject(q, below(q->r, q->s->n), 0, false, &anchor) < 0) return false;
  int rel = family == SW_Q_CLOSEST ? SW_CLOSEST : SW_FARTHEST;
  sw_program p = anchor.prog;
  int a = p.n - 1, all = add_node(&p, (sw_node){.op = SW_OP_SCENE});
  add_node(&p, (sw_node){.op = SW_OP_NEAREST, .in = {all, a}, .rel = rel});
  int t = picked(q->c, q->s, &p);
  if (t < 0 || !sw_non_degenerate(q->c, q->s, &p, t)) return false;
  char text[SW_Q_LEN];
  snprintf(text, sizeof text, "what shape is %s %s?", sw_word_rel(q->c, rel, q->r),
           anchor.sents[0]);
  return push(q, family, text, answer_of(SW_ATTR_SHAPE, q->s->obj[t].shape));
}

// "is the red circle the same size as the blue thing?" (neither phrase names the size)
static bool q_compare_attr(qgen *q) {
  int attr = below(q->r, n_attrs(q->c)), t1, t2;
  sw_ref e1, e2;
  if (!two_objects(q, attr, &t1, &t2)) return false;
  if (subject(q, t1, 1u << attr, false, &e1) < 0 || subject(q, t2, 1u << attr, false, &e2) < 0)
    return false;
  int o1 = picked(q->c, q->s, &e1.prog), o2 = picked(q->c, q->s, &e2.prog);
  if (o1 < 0 || o2 < 0 || o1 == o2) return false;
  bool same = sw_attr_of(&q->s->obj[o1], attr) == sw_attr_of(&q->s->obj[o2], attr);
  char text[SW_Q_LEN];
  snprintf(text, sizeof text, "is %s the same %s as %s?", e1.sents[0], ATTR_WORDS[attr],
           e2.sents[0]);
  return push(q, SW_Q_COMPARE_ATTR, text, same ? A_YES : A_NO);
}

// "are there more circles than squares?", "are there more red stars than blue stars?"
static bool q_compare_count(qgen *q) {
  const sw_config *c = q->c;
  const sw_object *o = &q->s->obj[below(q->r, q->s->n)];
  int attr = below(q->r, n_attrs(c));
  if (n_values(c, attr) < 2) return false;
  sw_np np1 = np_of(c, o, 1u << attr), np2 = np1;
  perturb(c, &np2, q->r);
  if (below(q->r, 2)) {  // both phrases also share a value of another attribute
    int b = below(q->r, n_attrs(c) - 1);
    b += b >= attr;
    np1.use[b] = np2.use[b] = true;
    np1.val[b] = np2.val[b] = sw_attr_of(o, b);
  }
  if (below(q->r, 2)) {
    sw_np t = np1;
    np1 = np2;
    np2 = t;
  }
  int k1 = sw_popcount(sw_np_set(c, q->s, &np1)), k2 = sw_popcount(sw_np_set(c, q->s, &np2));
  char w1[SW_SENT_LEN] = "", w2[SW_SENT_LEN] = "", text[SW_Q_LEN];
  sw_np_text(c, &np1, true, q->r, w1, sizeof w1);
  sw_np_text(c, &np2, true, q->r, w2, sizeof w2);
  snprintf(text, sizeof text, "are there more %s than %s?", w1, w2);
  return push(q, SW_Q_COMPARE_COUNT, text, k1 > k2 ? A_YES : A_NO);
}

// "is the red circle left of the blue square?"
static bool q_relation(qgen *q) {
  int t1, t2, rel = below(q->r, 4);
  sw_ref e1, e2;
  if (!two_objects(q, -1, &t1, &t2)) return false;
  if (subject(q, t1, 0, false, &e1) < 0 || subject(q, t2, 0, false, &e2) < 0) return false;
  sw_program p = {0};
  int a = append(&p, &e2.prog);
  int related = add_node(&p, (sw_node){.op = SW_OP_RELATE, .in = {a}, .rel = rel});
  int t = append(&p, &e1.prog);
  add_node(&p, (sw_node){.op = SW_OP_INTERSECT, .in = {related, t}});
  bool valid;
  uint32_t out = sw_exec(q->c, q->s, &p, -1, &valid);
  if (!valid) return false;
  char text[SW_Q_LEN];
  snprintf(text, sizeof text, "is %s %s %s?", e1.sents[0], sw_word_rel(q->c, rel, q->r),
           e2.sents[0]);
  return push(q, SW_Q_RELATION, text, out ? A_YES : A_NO);
}

static bool generate(qgen *q, int family) {
  switch (family) {
    case SW_Q_EXIST: return q_exist(q);
    case SW_Q_COUNT: return q_count(q);
    case SW_Q_COLOR: return q_query(q, family, SW_ATTR_COLOR);
    case SW_Q_SHAPE: return q_query(q, family, SW_ATTR_SHAPE);
    case SW_Q_SIZE: return q_query(q, family, SW_ATTR_SIZE);
    case SW_Q_STYLE: return q_query(q, family, SW_ATTR_STYLE);
    case SW_Q_HPOS:
    case SW_Q_VPOS: return q_position(q, family);
    case SW_Q_CLOSEST:
    case SW_Q_FARTHEST: return q_nearest(q, family);
    case SW_Q_COMPARE_ATTR: return q_compare_attr(q);
    case SW_Q_COMPARE_COUNT: return q_compare_count(q);
    default: return q_relation(q);
  }
}

int sw_question_candidates(const sw_config *c, const sw_scene *s, gw_rng *r, sw_question *out,
                           int max) {
  qgen q = {.c = c, .s = s, .r = r, .out = out, .max = max};
  if (s->n < 1 || max <= 0) return 0;
  int families[SW_N_Q_FAMILIES], n_fam = 0;
  for (int f = 0; f < SW_N_Q_FAMILIES; f++)
    if (f != SW_Q_STYLE || c->styles) families[n_fam++] = f;
  // an equal share of `max` for every family, so that none crowds the others out
  int per = max / n_fam > 0 ? max / n_fam : 1;
  for (int k = 0; k < n_fam && q.n < max; k++) {
    int got = 0;
    for (int tries = 0; tries < 4 * per && got < per && q.n < max; tries++)
      got += generate(&q, families[k]);
  }
  return q.n;
}

// ---- balancing over a split ----

// CLEVR's rejection rule, checked after taking one more `a`: a's count may exceed every other
// answer's by at most 10% (by one while the counts are small), and at most 5 x max(median, 5)
// of the answers seen so far.
static bool flat_enough(const int64_t *counts, int a) {
  int64_t mine = counts[a] + 1, other = 0, seen[N_ANSWERS];
  int n = 0;
  for (int k = 0; k < N_ANSWERS; k++) {
    int64_t v = counts[k] + (k == a);
    if (k != a && v > other) other = v;
    if (v > 0) seen[n++] = v;
  }
  if (mine > other + 1 && (double)mine > 1.1 * (double)other) return false;
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
      int64_t t = seen[j];
      seen[j] = seen[j - 1];
      seen[j - 1] = t;
    }
  int64_t median = seen[n / 2] > 5 ? seen[n / 2] : 5;
  return mine <= 5 * median;
}

static bool accept(sw_vqa_balancer *b, const sw_question *q) {
  int f = q->family, a = sw_answer_id(q->answer);
  if (f < 0 || f >= SW_N_Q_FAMILIES || a < 0) return false;
  if (sw_question_answer_type(f) == 0) {
    // a yes only while yes <= no, a no only while no <= yes: the two never differ by more than 1
    bool yes = a == A_YES;
    if (yes ? b->yes[f] > b->no[f] : b->no[f] > b->yes[f]) return false;
    if (yes) b->yes[f]++;
    else b->no[f]++;
  } else if (!flat_enough(b->counts[f], a)) {
    return false;
  }
  b->counts[f][a]++;
  return true;
}

int sw_vqa_select(sw_vqa_balancer *b, const sw_question *cand, int n_cand, int want, gw_rng *r,
                  sw_question *out) {
  if (n_cand <= 0 || want <= 0) return 0;
  int order[n_cand];
  bool used[n_cand];
  for (int i = 0; i < n_cand; i++) order[i] = i, used[i] = false;
  shuffle(order, n_cand, r);
  int n = 0;
  unsigned taken = 0;
  // one question per family first, then any family
  for (int pass = 0; pass < 2 && n < want; pass++)
    for (int i = 0; i < n_cand && n < want; i++) {
      const sw_question *q = &cand[order[i]];
      if (used[order[i]] || (pass == 0 && (taken >> q->family & 1))) continue;
      if (!accept(b, q)) continue;
      used[order[i]] = true;
      taken |= 1u << q->family;
      out[n++] = *q;
    }
  return n;
}
