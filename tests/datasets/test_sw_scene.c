// shapes world scenes, rendering and referring expressions: the generator self-tests of
// shared/datasets.md §6.11 that test_sw_text.c (captions, VQA, few-shot scenes) does not cover.
//
// Expressions are checked twice: by the generator's executor (sw_picks, sw_non_degenerate), and
// by reading their words back with a small parser of the closed grammar that evaluates them on
// the scene's geometry directly. Images are checked on their pixels: every object's box is the
// tight box of the pixels at least half of the object's colour, measured against the background
// rendered alone. The written data set is checked from its files (HDF5 arrays, JSON lines,
// meta.json), and a golden hash pins the whole `tiny` preset.
#define _GNU_SOURCE  // nftw
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/hooks.h>

#include "datasets/loader.h"
#include "datasets/sw_generate.h"
#include "datasets/sw_text.h"
#include "testutil.h"

TestSuite(sw_scene, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

// ---- hashing ----

typedef struct fnv {
  uint64_t h;
} fnv;
static void fnv_init(fnv *f) { f->h = 0xCBF29CE484222325ull; }
static void fnv_bytes(fnv *f, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) f->h = (f->h ^ b[i]) * 0x100000001B3ull;
}
static void fnv_str(fnv *f, const char *s) { fnv_bytes(f, s, strlen(s) + 1); }

// ---- temporary directories ----

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}
static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

// Every test's data sets go under one directory per run of the suite (tests run in child
// processes of the Criterion runner), which a hook in the runner removes at the end, also after
// a failed test.
static void root_dir_of(int runner, char *buf, size_t len) {
  snprintf(buf, len, "/tmp/gw_sw_scene_test_%d", runner);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
  (void)stats;
  char root[64];
  root_dir_of((int)getpid(), root, sizeof root);
  rm_tree(root);
}

static void make_temp_dir(char *buf, size_t len) {
  char root[64];
  root_dir_of((int)getppid(), root, sizeof root);
  mkdir(root, 0755);
  snprintf(buf, len, "%s/XXXXXX", root);
  cr_assert(mkdtemp(buf), "mkdtemp in %s failed", root);
}

// The options of a preset at medium difficulty, as `gw data synth --preset NAME` sets them.
static sw_gen_opts preset_opts(const char *preset, const char *out_dir) {
  sw_gen_opts o = {0};
  o.out_dir = out_dir;
  o.preset = *sw_preset_find(preset);
  cr_assert_eq(sw_config_defaults(&o.cfg, "medium", o.preset.img_size), 0);
  o.difficulty = "medium";
  o.quiet = true;
  return o;
}

static void generate(const sw_gen_opts *o) {
  cr_assert_eq(sw_generate(o), 0, "sw_generate into %s: %s", o->out_dir, gw_last_error());
}

// The JSON lines of <dir>/<split>/<file>, parsed.
typedef struct json_lines {
  int n;
  json_t **v;
} json_lines;

static json_lines read_jsonl(const char *dir, int split, const char *file) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s/%s", dir, sw_split_names[split], file);
  FILE *f = fopen(path, "r");
  cr_assert(f, "%s: missing", path);
  json_lines l = {0};
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    cr_assert(j, "%s:%d: %s", path, l.n + 1, err.text);
    l.v = realloc(l.v, (size_t)(l.n + 1) * sizeof *l.v);
    l.v[l.n++] = j;
  }
  free(line);
  fclose(f);
  return l;
}

static void free_jsonl(json_lines *l) {
  for (int k = 0; k < l->n; k++) json_decref(l->v[k]);
  free(l->v);
}

// ---- one image, as the writer makes it ----
//
// The same random streams as datasets/sw_generate.c (scene, twin, render and text streams keyed
// by (seed, "split/purpose", index)): the test checks below that these reproduce the written
// files, so sample i of a split can be made alone.

static gw_rng stream(uint64_t seed, int split, const char *purpose, int64_t index) {
  char key[64];
  snprintf(key, sizeof key, "%s/%s", sw_split_names[split], purpose);
  return sw_image_rng(seed, key, index);
}

static bool twins_allowed(int split) { return split != SW_TESTA && split != SW_TESTB; }

static void base_scene(const sw_config *c, int split, int64_t i, sw_scene *s, bool *planted) {
  *planted = false;
  for (int64_t attempt = 0;; attempt++) {
    gw_rng r = stream(c->seed, split, "scene", i + attempt * ((int64_t)1 << 40));
    if (twins_allowed(split) && gw_rng_float(&r) < c->p_swap &&
        sw_scene_sample_swap(c, split, &r, s) == 0) {
      *planted = true;
      return;
    }
    if (sw_scene_sample(c, split, &r, s) == 0) return;
  }
}

static void scene_of(const sw_config *c, int split, int64_t i, int64_t n, sw_scene *s,
                     bool *planted) {
  int64_t k = i / 2;
  gw_rng pair = stream(c->seed, split, "twin", k);
  bool want_twin = twins_allowed(split) && 2 * k + 1 < n && gw_rng_float(&pair) < c->p_layout_twins;
  if (!want_twin) {
    base_scene(c, split, i, s, planted);
    return;
  }
  sw_scene a, b;
  base_scene(c, split, 2 * k, &a, planted);
  if (*planted || sw_scene_twin(c, &a, &pair, &b) != 0) {
    if (i % 2)
      base_scene(c, split, i, s, planted);
    else
      *s = a;
    return;
  }
  *s = i % 2 ? b : a;
}

static uint32_t targets_allowed(const sw_scene *s, int split) {
  uint32_t m = 0;
  for (int j = 0; j < s->n; j++) {
    if (split == SW_TESTA || split == SW_TESTB) {
      int same = 0;
      if (s->obj[j].shape >= SW_PENTAGON || sw_shape_group(s->obj[j].shape) != (split == SW_TESTB))
        continue;
      for (int k = 0; k < s->n; k++) same += s->obj[k].shape == s->obj[j].shape;
      if (same < 2) continue;
    }
    m |= 1u << j;
  }
  return m;
}

typedef struct image_out {
  sw_config c;  // the split's knobs
  sw_scene scene;
  bool planted;
  int n_refs;
  sw_ref refs[6];
} image_out;

// Image i of a split of n images: scene, pixels (if rgb) and expressions.
static void make_image(const sw_config *base, int split, int64_t i, int64_t n, image_out *out,
                       uint8_t *rgb) {
  out->c = sw_config_for_split(base, split);
  scene_of(&out->c, split, i, n, &out->scene, &out->planted);
  if (rgb) {
    gw_rng render = stream(out->c.seed, split, "render", i);
    sw_render(&out->c, &out->scene, &render, rgb);
  }
  gw_rng text = stream(out->c.seed, split, "text", i);
  out->n_refs = sw_refs_for_image(&out->c, &out->scene, targets_allowed(&out->scene, split),
                                  out->planted, &text, out->refs);
}

// FNV-1a of the pixels and a canonical text of the objects and expressions (floats as %a, exact).
static uint64_t image_hash(const image_out *im, const uint8_t *rgb) {
  fnv f;
  fnv_init(&f);
  int W = im->c.img_size;
  fnv_bytes(&f, rgb, (size_t)W * W * 3);
  char line[512];
  for (int j = 0; j < im->scene.n; j++) {
    const sw_object *o = &im->scene.obj[j];
    snprintf(line, sizeof line,
             "obj %d %d %d %d %d %d %a %a %a %d %d %d bbox %d %d %d %d area %d\n", o->id, o->shape,
             o->color, o->size, o->style, o->rot, o->cx, o->cy, o->r, o->rgb[0], o->rgb[1],
             o->rgb[2], o->bbox[0], o->bbox[1], o->bbox[2], o->bbox[3], o->area);
    fnv_str(&f, line);
  }
  for (int k = 0; k < im->n_refs; k++) {
    const sw_ref *e = &im->refs[k];
    snprintf(line, sizeof line, "ref %d %d %d %d\n", e->level, e->kind, e->target, e->swap_of);
    fnv_str(&f, line);
    for (int q = 0; q < e->n_sents; q++) fnv_str(&f, e->sents[q]);
    for (int q = 0; q < e->prog.n; q++) {
      const sw_node *nd = &e->prog.node[q];
      snprintf(line, sizeof line, "%d %d %d %d %d %d %d %d %d\n", nd->op, nd->in[0], nd->in[1],
               nd->attr, nd->value, nd->rel, nd->dir, nd->k, nd->loc);
      fnv_str(&f, line);
    }
  }
  return f.h;
}

// ---- reading an expression's words back ----
//
// The closed grammar of §6.5, evaluated on the scene's centres with the margin delta and the
// ratio rho: the words alone must name the target. Written independently of sw_program.c.

typedef struct words {
  int n;
  char w[48][24];
} words;

static void split_words(const char *text, words *t) {
  t->n = 0;
  for (const char *p = text; *p;) {
    if (*p == ' ') {
      p++;
      continue;
    }
    int len = 0;
    while (p[len] && p[len] != ' ') len++;
    cr_assert(len < 24 && t->n < 48, "an odd word or too many in \"%s\"", text);
    memcpy(t->w[t->n], p, (size_t)len);
    t->w[t->n++][len] = '\0';
    p += len;
  }
}

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
} NOUNS[] = {
    {"circle", SW_CIRCLE},
    {"ball", SW_CIRCLE},
    {"disk", SW_CIRCLE},
    {"square", SW_SQUARE},
    {"box", SW_SQUARE},
    {"triangle", SW_TRIANGLE},
    {"diamond", SW_DIAMOND},
    {"star", SW_STAR},
    {"cross", SW_CROSS},
    {"plus", SW_CROSS},
    {"pentagon", SW_PENTAGON},
    {"hexagon", SW_HEXAGON},
    {"shape", -1},
    {"object", -1},
    {"thing", -1},
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
// the locations in sw_loc order
static const char *const LOCATIONS[SW_N_LOCS] = {"on the left",
                                                 "on the right",
                                                 "at the top",
                                                 "at the bottom",
                                                 "in the top left corner",
                                                 "in the top right corner",
                                                 "in the bottom left corner",
                                                 "in the bottom right corner"};
static const char *const DIRECTIONS[SW_N_DIRS] = {"left", "right", "top", "bottom"};
static const char *const EXTREMES[SW_N_DIRS] = {"leftmost", "rightmost", "topmost", "bottommost"};
static const char *const ORDINALS[4] = {"", "first", "second", "third"};

typedef struct tnp {
  bool use[SW_N_ATTRS];
  int val[SW_N_ATTRS];
} tnp;

// The whole multi-word phrase at *pos (advancing past it), or false.
static bool phrase_at(const words *t, int *pos, const char *phrase) {
  words p;
  split_words(phrase, &p);
  if (*pos + p.n > t->n) return false;
  for (int k = 0; k < p.n; k++)
    if (strcmp(t->w[*pos + k], p.w[k])) return false;
  *pos += p.n;
  return true;
}

// [modifiers] noun, each attribute named at most once.
static bool parse_np(const words *t, int *pos, tnp *np) {
  memset(np, 0, sizeof *np);
  for (; *pos < t->n; (*pos)++) {
    bool mod = false;
    for (int k = 0; k < LEN(MODIFIERS) && !mod; k++)
      if (!strcmp(t->w[*pos], MODIFIERS[k].w)) {
        if (np->use[MODIFIERS[k].attr]) return false;
        np->use[MODIFIERS[k].attr] = true;
        np->val[MODIFIERS[k].attr] = MODIFIERS[k].val;
        mod = true;
      }
    if (mod) continue;
    for (int k = 0; k < LEN(NOUNS); k++)
      if (!strcmp(t->w[*pos], NOUNS[k].w)) {
        if (NOUNS[k].shape >= 0) {
          np->use[SW_ATTR_SHAPE] = true;
          np->val[SW_ATTR_SHAPE] = NOUNS[k].shape;
        }
        (*pos)++;
        return true;
      }
    return false;
  }
  return false;
}

static int parse_rel(const words *t, int *pos) {
  for (int k = 0; k < LEN(RELATIONS); k++)
    if (phrase_at(t, pos, RELATIONS[k].words)) return RELATIONS[k].rel;
  return -1;
}

static int attr_of(const sw_object *o, int a) {
  return a == SW_ATTR_SHAPE   ? o->shape
         : a == SW_ATTR_COLOR ? o->color
         : a == SW_ATTR_SIZE  ? o->size
                              : o->style;
}

static uint32_t np_objects(const sw_scene *s, const tnp *np) {
  uint32_t m = 0;
  for (int j = 0; j < s->n; j++) {
    bool ok = true;
    for (int a = 0; a < SW_N_ATTRS; a++)
      ok = ok && (!np->use[a] || attr_of(&s->obj[j], a) == np->val[a]);
    if (ok) m |= 1u << j;
  }
  return m;
}

static int single(uint32_t m) { return __builtin_popcount(m) == 1 ? __builtin_ctz(m) : -1; }

// Objects j (other than a) that stand in relation rel to a: left/right/above/below by the margin
// delta; closest/farthest: the member of `among` nearest (farthest) from a, if it wins by rho.
static uint32_t related(const sw_config *c, const sw_scene *s, uint32_t among, int rel, int a) {
  const sw_object *oa = &s->obj[a];
  float d = c->rel_margin;
  uint32_t out = 0;
  if (rel <= SW_BELOW) {
    for (int j = 0; j < s->n; j++) {
      if (j == a || !(among >> j & 1)) continue;
      const sw_object *o = &s->obj[j];
      bool ok = rel == SW_LEFT    ? o->cx <= oa->cx - d
                : rel == SW_RIGHT ? o->cx >= oa->cx + d
                : rel == SW_ABOVE ? o->cy <= oa->cy - d
                                  : o->cy >= oa->cy + d;
      if (ok) out |= 1u << j;
    }
    return out;
  }
  // distances sorted: the winner and the runner-up
  double best = -1, second = -1;
  int winner = -1;
  for (int j = 0; j < s->n; j++) {
    if (j == a || !(among >> j & 1)) continue;
    double dx = s->obj[j].cx - oa->cx, dy = s->obj[j].cy - oa->cy, dist = sqrt(dx * dx + dy * dy);
    double key = rel == SW_CLOSEST ? -dist : dist;  // larger key wins
    if (winner < 0 || key > best) {
      second = winner < 0 ? -1 : fabs(best);
      best = key;
      winner = j;
    } else if (second < 0 || (rel == SW_CLOSEST ? dist < second : dist > second)) {
      second = dist;
    }
  }
  if (winner < 0) return 0;
  double d1 = fabs(best);
  if (second >= 0) {
    double rho = c->nearest_ratio;
    bool clear = rel == SW_CLOSEST ? d1 <= rho * second + 1e-4 : d1 * rho + 1e-4 >= second;
    if (!clear) return 0;
  }
  return 1u << winner;
}

static float along(const sw_object *o, int dir) {
  return dir == SW_FROM_LEFT    ? o->cx
         : dir == SW_FROM_RIGHT ? -o->cx
         : dir == SW_FROM_TOP   ? o->cy
                                : -o->cy;
}

// The k-th member of m counted from dir, or -1.
static int kth(const sw_scene *s, uint32_t m, int dir, int k) {
  for (int j = 0; j < s->n; j++) {
    if (!(m >> j & 1)) continue;
    int before = 0;
    for (int i = 0; i < s->n; i++)
      before += (m >> i & 1) && along(&s->obj[i], dir) < along(&s->obj[j], dir);
    if (before == k - 1) return j;
  }
  return -1;
}

typedef enum form { F_ATTR, F_LOC, F_ORD, F_REL, F_CHAIN, F_AND } form;
static const int FORM_LEVEL[6] = {0, 1, 1, 2, 3, 3};

typedef struct reading {
  bool parsed;
  char why[96];  // when it does not name exactly one object
  form form;
  tnp head;        // the target's noun phrase
  uint32_t named;  // the objects the words name (exactly one when the expression is good)
} reading;

static reading read_ref(const sw_config *c, const sw_scene *s, const char *text) {
  reading r = {0};
  words t;
  split_words(text, &t);
  int pos = 0, k = 0, dir = -1;
  if (!phrase_at(&t, &pos, "the")) return r;
  for (int d = 0; d < SW_N_DIRS && k == 0; d++)
    if (phrase_at(&t, &pos, EXTREMES[d])) k = 1, dir = d;
  for (int q = 1; q <= 3 && k == 0; q++)
    if (phrase_at(&t, &pos, ORDINALS[q])) k = q;
  if (!parse_np(&t, &pos, &r.head)) return r;
  uint32_t head = np_objects(s, &r.head), all = (1u << s->n) - 1;
  if (k) {  // "the second red circle from the left", "the leftmost star"
    if (dir < 0) {
      if (!phrase_at(&t, &pos, "from the")) return r;
      for (int d = 0; d < SW_N_DIRS && dir < 0; d++)
        if (phrase_at(&t, &pos, DIRECTIONS[d])) dir = d;
      if (dir < 0) return r;
    }
    r.form = F_ORD;
    int j = __builtin_popcount(head) >= k ? kth(s, head, dir, k) : -1;
    r.named = j >= 0 ? 1u << j : 0;
  } else if (pos == t.n) {
    r.form = F_ATTR;
    r.named = head;
  } else {
    int loc = -1;
    for (int q = 0; q < SW_N_LOCS && loc < 0; q++)
      if (phrase_at(&t, &pos, LOCATIONS[q])) loc = q;
    if (loc >= 0) {
      r.form = F_LOC;
      if (loc <= SW_LOC_BOTTOM) {  // one of exactly two
        static const int dir_of[4] = {SW_FROM_LEFT, SW_FROM_RIGHT, SW_FROM_TOP, SW_FROM_BOTTOM};
        if (__builtin_popcount(head) == 2) r.named = 1u << kth(s, head, dir_of[loc], 1);
      } else {  // the only member in that quadrant, outside the dead band around the centre lines
        float mid = (float)c->img_size / 2.0f;
        for (int j = 0; j < s->n; j++) {
          const sw_object *o = &s->obj[j];
          if (!(head >> j & 1) || fabsf(o->cx - mid) < c->rel_margin ||
              fabsf(o->cy - mid) < c->rel_margin)
            continue;
          bool right = o->cx > mid, bottom = o->cy > mid;
          int q = bottom ? (right ? SW_LOC_BOTTOM_RIGHT : SW_LOC_BOTTOM_LEFT)
                         : (right ? SW_LOC_TOP_RIGHT : SW_LOC_TOP_LEFT);
          if (q == loc) r.named |= 1u << j;
        }
      }
    } else {
      int rel0 = parse_rel(&t, &pos);
      tnp np1, np2;
      if (rel0 < 0 || !phrase_at(&t, &pos, "the") || !parse_np(&t, &pos, &np1)) return r;
      if (pos == t.n) {  // L2: the anchor is unique by its attributes
        r.form = F_REL;
        int a = single(np_objects(s, &np1));
        if (a < 0) {
          snprintf(r.why, sizeof r.why, "the anchor is not unique");
          r.parsed = true;
          return r;
        }
        r.named =
            rel0 <= SW_BELOW ? head & related(c, s, all, rel0, a) : related(c, s, head, rel0, a);
      } else {
        bool conj = phrase_at(&t, &pos, "and");
        int rel1 = parse_rel(&t, &pos);
        if (rel1 < 0 || rel0 > SW_BELOW || rel1 > SW_BELOW || !phrase_at(&t, &pos, "the") ||
            !parse_np(&t, &pos, &np2))
          return r;
        r.form = conj ? F_AND : F_CHAIN;
        int a1 = single(np_objects(s, &np2));
        // chain: the first anchor is the one of its kind in relation to the second
        int a0 = conj      ? single(np_objects(s, &np1))
                 : a1 >= 0 ? single(np_objects(s, &np1) & related(c, s, all, rel1, a1))
                           : -1;
        if (a0 < 0 || a1 < 0) {
          snprintf(r.why, sizeof r.why, "an anchor is not unique");
          r.parsed = true;
          return r;
        }
        r.named = head & related(c, s, all, rel0, a0);
        if (conj) r.named &= related(c, s, all, rel1, a1);
      }
    }
  }
  r.parsed = pos == t.n;
  return r;
}

// ---- scenes ----

static sw_config config(const char *difficulty, int img_size, uint64_t seed) {
  sw_config c;
  cr_assert_eq(sw_config_defaults(&c, difficulty, img_size), 0);
  c.seed = seed;
  return c;
}

static const char *const DIFFICULTIES[3] = {"easy", "medium", "hard"};

// ---- determinism ----

enum { N_DET = 36 };

// (split, index) pairs: every split, small and large indices
static void det_items(int *split, int64_t *index) {
  for (int k = 0; k < N_DET; k++) {
    split[k] = k % SW_N_SPLITS;
    index[k] = k < 18 ? k : (int64_t)k * 7919 + 1000003;
  }
}

// Image (split, i) hashes the same whatever order the images are made in and whatever the
// thread count (1 or 2 threads in an OpenMP loop).
Test(sw_scene, images_are_the_same_in_any_order_and_at_any_thread_count) {
  sw_config base = config("medium", 64, 5);
  int split[N_DET];
  int64_t index[N_DET];
  det_items(split, index);
  const int64_t n = (int64_t)1 << 40;
  uint64_t forward[N_DET], backward[N_DET], par1[N_DET], par2[N_DET];
  uint8_t rgb[64 * 64 * 3];
  image_out im;
  for (int k = 0; k < N_DET; k++) {
    make_image(&base, split[k], index[k], n, &im, rgb);
    forward[k] = image_hash(&im, rgb);
  }
  for (int k = N_DET - 1; k >= 0; k--) {
    make_image(&base, split[k], index[k], n, &im, rgb);
    backward[k] = image_hash(&im, rgb);
  }
  for (int threads = 1; threads <= 2; threads++) {
    gw_set_threads(threads);
    uint64_t *out = threads == 1 ? par1 : par2;
    int seen = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(max : seen)
    for (int k = 0; k < N_DET; k++) {
      image_out local;
      uint8_t pix[64 * 64 * 3];
      int kk = (k * 17) % N_DET;  // another order again
      make_image(&base, split[kk], index[kk], n, &local, pix);
      out[kk] = image_hash(&local, pix);
      seen = omp_get_num_threads();
    }
    cr_assert_eq(seen, threads, "the loop ran on %d threads, not %d", seen, threads);
  }
  for (int k = 0; k < N_DET; k++) {
    cr_assert_eq(forward[k], backward[k], "%s %lld: another order changed the image",
                 sw_split_names[split[k]], (long long)index[k]);
    cr_assert_eq(forward[k], par1[k], "%s %lld: 1 thread changed the image",
                 sw_split_names[split[k]], (long long)index[k]);
    cr_assert_eq(forward[k], par2[k], "%s %lld: 2 threads changed the image",
                 sw_split_names[split[k]], (long long)index[k]);
  }
  // and the hash does see the inputs: other seeds and indices give other images
  for (int k = 1; k < N_DET; k++) cr_assert_neq(forward[k], forward[k - 1]);
  sw_config other = config("medium", 64, 6);
  make_image(&other, split[0], index[0], n, &im, rgb);
  cr_assert_neq(image_hash(&im, rgb), forward[0], "the seed does not change the image");
}

// Hash of a written data set: every array of every <split>.h5 and fewshot/<task>/images.h5 as
// read back (name, shape, values), the refs.jsonl text of every split, vocab.txt and answers.txt.
static void hash_file_text(fnv *f, const char *path) {
  FILE *fp = fopen(path, "rb");
  cr_assert(fp, "%s: missing", path);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, fp)) > 0) fnv_bytes(f, buf, n);
  fclose(fp);
}

typedef struct name_list {
  int n;
  char names[64][64];
} name_list;
static void collect_name(const char *name, void *ctx) {
  name_list *l = ctx;
  cr_assert(l->n < 64);
  snprintf(l->names[l->n++], 64, "%s", name);
}

static void hash_h5(fnv *f, const char *path) {
  gw_h5 *h = gw_h5_open(path);
  cr_assert(h, "%s", gw_last_error());
  name_list l = {0};
  cr_assert(gw_h5_list(h, "", collect_name, &l) >= 0, "%s", gw_last_error());
  for (int k = 0; k < l.n; k++) {
    int nd;
    int64_t shape[GW_MAX_DIMS];
    if (gw_h5_array_shape(h, l.names[k], &nd, shape) < 0) continue;  // a group
    int64_t count = 1;
    for (int d = 0; d < nd; d++) count *= shape[d];
    const char *base = strrchr(l.names[k], '/') ? strrchr(l.names[k], '/') + 1 : l.names[k];
    size_t blen = strlen(base);
    gw_h5_type type = !strcmp(base, "images")                           ? GW_H5_U8
                      : blen >= 3 && !strcmp(base + blen - 3, "box") ? GW_H5_F32
                                                                        : GW_H5_I32;
    size_t elem = type == GW_H5_U8 ? 1 : 4;
    void *data = malloc((size_t)count * elem + 1);
    cr_assert(gw_h5_read_array(h, l.names[k], type, nd, shape, data) == 0, "%s", gw_last_error());
    fnv_str(f, l.names[k]);
    fnv_bytes(f, &nd, sizeof nd);
    fnv_bytes(f, shape, (size_t)nd * sizeof shape[0]);
    fnv_bytes(f, data, (size_t)count * elem);
    free(data);
  }
  gw_h5_close(h);
}

static uint64_t dataset_hash(const sw_gen_opts *o) {
  fnv f;
  fnv_init(&f);
  char path[1200];
  for (int s = 0; s < SW_N_SPLITS; s++) {
    if (o->preset.images[s] <= 0) continue;
    snprintf(path, sizeof path, "%s/%s.h5", o->out_dir, sw_split_names[s]);
    hash_h5(&f, path);
    snprintf(path, sizeof path, "%s/%s/refs.jsonl", o->out_dir, sw_split_names[s]);
    hash_file_text(&f, path);
  }
  for (int task = 0; task < SW_N_FS_TASKS; task++) {
    snprintf(path, sizeof path, "%s/fewshot/%s/images.h5", o->out_dir, sw_fewshot_task_names[task]);
    hash_h5(&f, path);
  }
  snprintf(path, sizeof path, "%s/vocab.txt", o->out_dir);
  hash_file_text(&f, path);
  snprintf(path, sizeof path, "%s/answers.txt", o->out_dir);
  hash_file_text(&f, path);
  return f.h;
}

// The golden hash of the `tiny` preset (medium, 64 px, seed 0) as written by sw_generate: FNV-1a
// 64 over every HDF5 array read back (name, shape, values), each split's refs.jsonl, vocab.txt
// and answers.txt (dataset_hash above). It changes only when generation changes, which must come
// with a new SW_VERSION (datasets/sw.h): then update both.
#define TINY_GOLDEN_VERSION 3
#define TINY_GOLDEN_HASH 0x1669617b7fdcf90full

// The tiny preset hashes to the golden value, with 2 threads and with 1; and every written image
// and object list is the one image (split, i) gives made alone.
Test(sw_scene, tiny_preset_golden_hash_and_thread_count) {
  char dir[2][64];
  uint64_t h[2];
  for (int run = 0; run < 2; run++) {
    make_temp_dir(dir[run], sizeof dir[run]);
    gw_set_threads(2 - run);
    sw_gen_opts o = preset_opts("tiny", dir[run]);
    generate(&o);
    h[run] = dataset_hash(&o);
  }
  gw_set_threads(2);
  cr_assert_eq(h[0], h[1], "tiny: 2 threads give %#llx, 1 thread %#llx", (unsigned long long)h[0],
               (unsigned long long)h[1]);
  cr_assert_eq(SW_VERSION, TINY_GOLDEN_VERSION, "SW_VERSION changed: update the golden hash");
  cr_assert_eq(h[0], TINY_GOLDEN_HASH,
               "tiny hashes to %#018llxull, the golden value is %#018llxull: "
               "generation changed (a new SW_VERSION, then update TINY_GOLDEN_HASH)",
               (unsigned long long)h[0], (unsigned long long)TINY_GOLDEN_HASH);
  // the written images are those made one by one
  sw_gen_opts o = preset_opts("tiny", dir[0]);
  int W = o.cfg.img_size;
  uint8_t *rgb = malloc((size_t)W * W * 3), *stored = NULL;
  image_out *im = malloc(sizeof *im);
  for (int s = 0; s < SW_N_SPLITS; s++) {
    int64_t n = o.preset.images[s];
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.h5", dir[0], sw_split_names[s]);
    gw_h5 *f = gw_h5_open(path);
    cr_assert(f, "%s", gw_last_error());
    stored = realloc(stored, (size_t)n * W * W * 3);
    cr_assert_eq(gw_h5_read_array(f, "images", GW_H5_U8, 4, (int64_t[]){n, W, W, 3}, stored), 0);
    int64_t n_obj;
    int nd;
    cr_assert_eq(gw_h5_array_shape(f, "objects/image", &nd, &n_obj), 0);
    int32_t *obj_image = malloc((size_t)n_obj * 4 + 4), *attrs = malloc((size_t)n_obj * 16 + 4);
    float *box = malloc((size_t)n_obj * 16 + 4);
    cr_assert_eq(gw_h5_read_array(f, "objects/image", GW_H5_I32, 1, &n_obj, obj_image), 0);
    cr_assert_eq(gw_h5_read_array(f, "objects/attrs", GW_H5_I32, 2, (int64_t[]){n_obj, 4}, attrs),
                 0);
    cr_assert_eq(gw_h5_read_array(f, "objects/box", GW_H5_F32, 2, (int64_t[]){n_obj, 4}, box), 0);
    gw_h5_close(f);
    json_lines refs = read_jsonl(dir[0], s, "refs.jsonl");
    int64_t row = 0, ref_row = 0;
    for (int64_t i = 0; i < n; i++) {
      make_image(&o.cfg, s, i, n, im, rgb);
      cr_assert(!memcmp(rgb, stored + (size_t)i * W * W * 3, (size_t)W * W * 3),
                "%s image %lld differs from the one made alone", sw_split_names[s], (long long)i);
      for (int k = 0; k < im->n_refs; k++, ref_row++) {
        const sw_ref *e = &im->refs[k];
        cr_assert(ref_row < refs.n, "%s: refs.jsonl ends early", sw_split_names[s]);
        json_t *line = refs.v[ref_row], *sents = json_object_get(line, "sentences");
        int64_t ann = json_integer_value(json_object_get(line, "ann_id"));
        bool same = json_integer_value(json_object_get(line, "image_id")) == i &&
                    ann == i * SW_MAX_OBJ + e->target &&
                    json_integer_value(json_object_get(line, "level")) == e->level &&
                    (int)json_array_size(sents) == e->n_sents;
        for (int q = 0; q < e->n_sents && same; q++)
          same = !strcmp(json_string_value(json_array_get(sents, (size_t)q)), e->sents[q]);
        cr_assert(same, "%s image %lld: ref %d differs from the one made alone", sw_split_names[s],
                  (long long)i, k);
      }
      for (int j = 0; j < im->scene.n; j++, row++) {
        const sw_object *ob = &im->scene.obj[j];
        cr_assert(row < n_obj && obj_image[row] == i, "%s image %lld: object rows out of step",
                  sw_split_names[s], (long long)i);
        int want[4] = {ob->shape, ob->color, ob->size, ob->style};
        float want_box[4] = {(float)ob->bbox[0], (float)ob->bbox[1],
                             (float)(ob->bbox[0] + ob->bbox[2]),
                             (float)(ob->bbox[1] + ob->bbox[3])};
        cr_assert(!memcmp(want, attrs + 4 * row, sizeof want) &&
                      !memcmp(want_box, box + 4 * row, sizeof want_box),
                  "%s image %lld object %d differs from the one made alone", sw_split_names[s],
                  (long long)i, j);
      }
    }
    cr_assert_eq(row, n_obj, "%s: %lld object rows, %lld made", sw_split_names[s], (long long)n_obj,
                 (long long)row);
    cr_assert_eq(ref_row, refs.n, "%s: %d lines in refs.jsonl, %lld refs made", sw_split_names[s],
                 refs.n, (long long)ref_row);
    free_jsonl(&refs);
    free(obj_image);
    free(attrs);
    free(box);
  }
  free(stored);
  free(rgb);
  free(im);
  rm_tree(dir[0]);
  rm_tree(dir[1]);
}

// ---- expressions ----

// Every expression over 7,200 images (three difficulties, every split): the executor picks the
// target; L1-L3 are non-degenerate and their attributes alone name >= 2 objects; the words, read
// back, name exactly the target, with the anchors unique, in the form of the stored level; and no
// sentence is longer than max_len words.
Test(sw_scene, every_expression_names_its_target) {
  int levels[4] = {0}, forms[6] = {0}, images = 0, refs = 0;
  image_out *im = malloc(sizeof *im);
  for (int d = 0; d < 3; d++) {
    sw_config base = config(DIFFICULTIES[d], 64, 100 + d);
    for (int split = 0; split < SW_N_SPLITS; split++) {
      int n = split == SW_TRAIN ? 800 : 320;
      for (int i = 0; i < n; i++) {
        make_image(&base, split, i, n, im, NULL);
        const sw_config *c = &im->c;
        const sw_scene *s = &im->scene;
        images++;
        uint32_t targets = 0;
        for (int k = 0; k < im->n_refs; k++) {
          const sw_ref *e = &im->refs[k];
          char what[96];
          snprintf(what, sizeof what, "%s %s image %d ref %d (L%d)", DIFFICULTIES[d],
                   sw_split_names[split], i, k, e->level);
          refs++;
          levels[e->level]++;
          cr_assert(!(targets >> e->target & 1), "%s: two refs for object %d", what, e->target);
          targets |= 1u << e->target;
          cr_assert(sw_picks(c, s, &e->prog, e->target), "%s: the program does not pick its target",
                    what);
          if (e->level > 0)
            cr_assert(sw_non_degenerate(c, s, &e->prog, e->target), "%s: degenerate", what);
          cr_assert(e->n_sents == c->sents_per_ref, "%s: %d sentences", what, e->n_sents);
          for (int q = 0; q < e->n_sents; q++) {
            const char *sent = e->sents[q];
            char tok[64][GW_MAX_WORD];
            int nw = sw_count_words(sent);
            cr_assert(nw <= c->max_len, "%s: \"%s\" has %d words, max_len %d", what, sent, nw,
                      c->max_len);
            cr_assert_eq(gw_tokenize(sent, tok, 64), nw, "%s: \"%s\" tokenizes to other words",
                         what, sent);
            reading r = read_ref(c, s, sent);
            cr_assert(r.parsed, "%s: \"%s\" does not parse", what, sent);
            cr_assert(!r.why[0], "%s: \"%s\": %s", what, sent, r.why);
            cr_assert_eq(r.named, 1u << e->target, "%s: \"%s\" names objects %#x, the target is %d",
                         what, sent, r.named, e->target);
            cr_assert_eq(FORM_LEVEL[r.form], e->level, "%s: \"%s\" reads as level %d", what, sent,
                         FORM_LEVEL[r.form]);
            int matching = __builtin_popcount(np_objects(s, &r.head));
            if (e->level > 0)
              cr_assert(matching >= 2, "%s: \"%s\": the attributes alone name the target", what,
                        sent);
            if (q == 0) forms[r.form]++;
          }
        }
      }
    }
  }
  free(im);
  cr_log_info(
      "%d images, %d refs; levels %d %d %d %d; forms attr %d loc %d ord %d rel %d chain %d and %d",
      images, refs, levels[0], levels[1], levels[2], levels[3], forms[0], forms[1], forms[2],
      forms[3], forms[4], forms[5]);
  cr_assert(refs >= 2 * images, "only %d refs for %d images", refs, images);
  for (int f = 0; f < 6; f++) cr_assert(forms[f] >= 20, "form %d occurs %d times", f, forms[f]);
}

// ---- what augmentation must keep: the objects an expression names ----

// The scene with only the objects of `keep`, in order; the target's index in it (or -1).
static int sub_scene(const sw_scene *s, uint32_t keep, int target, sw_scene *out) {
  out->n = 0;
  out->bg_mode = s->bg_mode;
  int t = -1;
  for (int j = 0; j < s->n; j++)
    if (keep >> j & 1) {
      if (j == target) t = out->n;
      out->obj[out->n++] = s->obj[j];
    }
  return t;
}

// Objects whose box lies wholly inside the box x1 y1 x2 y2: those a shift or resize that keeps
// the box whole also keeps whole.
static uint32_t wholly_inside(const sw_scene *s, const float box[4]) {
  uint32_t m = 0;
  for (int j = 0; j < s->n; j++) {
    const int *b = s->obj[j].bbox;
    if (b[0] >= box[0] && b[1] >= box[1] && b[0] + b[2] <= box[2] && b[1] + b[3] <= box[3])
      m |= 1u << j;
  }
  return m;
}

static void union_box(const sw_scene *s, uint32_t m, float box[4]) {
  box[0] = box[1] = 1e30f, box[2] = box[3] = -1e30f;
  for (int j = 0; j < s->n; j++) {
    if (!(m >> j & 1)) continue;
    const int *b = s->obj[j].bbox;
    box[0] = fminf(box[0], (float)b[0]), box[1] = fminf(box[1], (float)b[1]);
    box[2] = fmaxf(box[2], (float)(b[0] + b[2])), box[3] = fmaxf(box[3], (float)(b[1] + b[3]));
  }
}

// Does the expression still name exactly its target when only `keep` is left: by the program,
// and by its words read back independently (read_ref)?
static bool still_holds(const sw_config *c, const sw_scene *s, const sw_ref *e, uint32_t keep,
                        char *why, size_t why_len) {
  sw_scene sub;
  int t = sub_scene(s, keep, e->target, &sub);
  if (t < 0) {
    snprintf(why, why_len, "the target is gone");
    return false;
  }
  if (!sw_picks(c, &sub, &e->prog, t)) {
    snprintf(why, why_len, "the program no longer picks the target");
    return false;
  }
  for (int q = 0; q < e->n_sents; q++) {
    reading r = read_ref(c, &sub, e->sents[q]);
    if (!r.parsed || r.why[0] || r.named != 1u << t) {
      snprintf(why, why_len, "\"%s\" names %#x (target %d)%s%s", e->sents[q], r.named, t,
               r.why[0] ? ": " : "", r.why);
      return false;
    }
  }
  return true;
}

// The loader keeps refs/context_box whole when it shifts or resizes an image: the box around
// the objects sw_touched names (the target, its anchors, every object an ordinal, location or
// closest/farthest counts). Objects wholly inside that box stay whole; any other object may be
// cut off or pushed out of the frame. Every expression must then still name exactly its target,
// by its program and by its words read back: with every such object gone, and with random
// subsets of them gone. As a control, keeping only the target's box whole (what the loader did
// before) is not enough: some expressions then become false (a vanished anchor, a vanished
// "leftmost" rival).
Test(sw_scene, expressions_hold_when_the_objects_outside_their_context_vanish) {
  image_out *im = malloc(sizeof *im);
  uint8_t *rgb = malloc(64 * 64 * 3);  // rendering fills the objects' boxes
  int refs = 0, with_droppable = 0, broken_by_target_only = 0, broken_forms[6] = {0};
  uint64_t lcg = 12345;
  for (int d = 0; d < 3; d++) {
    sw_config base = config(DIFFICULTIES[d], 64, 300 + d);
    for (int split = 0; split < SW_N_SPLITS; split++) {
      int n = 150;
      for (int i = 0; i < n; i++) {
        make_image(&base, split, i, n, im, rgb);
        const sw_config *c = &im->c;
        const sw_scene *s = &im->scene;
        uint32_t all = (1u << s->n) - 1;
        for (int k = 0; k < im->n_refs; k++) {
          const sw_ref *e = &im->refs[k];
          char what[128], why[256];
          snprintf(what, sizeof what, "%s %s image %d ref %d (L%d, form %d)", DIFFICULTIES[d],
                   sw_split_names[split], i, k, e->level, e->kind);
          refs++;
          uint32_t named = sw_touched(c, s, &e->prog);
          cr_assert(named >> e->target & 1, "%s: the target is not among the named objects",
                    what);
          float ctx[4];
          union_box(s, named, ctx);
          uint32_t stays = wholly_inside(s, ctx);
          uint32_t droppable = all & ~stays;
          with_droppable += droppable != 0;
          cr_assert(still_holds(c, s, e, stays, why, sizeof why), "%s: without objects %#x: %s",
                    what, droppable, why);
          for (int trial = 0; trial < 4 && droppable; trial++) {
            lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t gone = droppable & (uint32_t)(lcg >> 32);
            cr_assert(still_holds(c, s, e, all & ~gone, why, sizeof why),
                      "%s: without objects %#x: %s", what, gone, why);
          }
          // the control: only the target's own box kept whole
          float tbox[4];
          union_box(s, 1u << e->target, tbox);
          if (!still_holds(c, s, e, wholly_inside(s, tbox), why, sizeof why)) {
            broken_by_target_only++;
            broken_forms[e->kind]++;
          }
        }
      }
    }
  }
  free(im);
  free(rgb);
  cr_log_info("%d refs, %d with objects that may be cut off; keeping only the target whole would "
              "make %d false (forms attr %d loc %d ord %d rel %d chain %d and %d)",
              refs, with_droppable, broken_by_target_only, broken_forms[0], broken_forms[1],
              broken_forms[2], broken_forms[3], broken_forms[4], broken_forms[5]);
  cr_assert(with_droppable > refs / 4, "only %d of %d refs leave objects to cut off",
            with_droppable, refs);
  cr_assert(broken_by_target_only > refs / 20,
            "the control: keeping only the target whole breaks just %d of %d expressions",
            broken_by_target_only, refs);
}

// Planted swap pairs: the two expressions have the same words (as multisets) in every sentence,
// name different objects, and each picks its own target.
static int cmp_word(const void *a, const void *b) { return strcmp(a, b); }
static void sorted_words(const char *sent, words *t) {
  split_words(sent, t);
  qsort(t->w, (size_t)t->n, sizeof t->w[0], cmp_word);
}

Test(sw_scene, swap_pairs_have_the_same_words_and_different_targets) {
  int pairs = 0;
  image_out *im = malloc(sizeof *im);
  for (int d = 1; d < 3; d++) {  // easy has no swap pairs (p_swap 0, at most 4 objects)
    sw_config base = config(DIFFICULTIES[d], 64, 200 + d);
    base.p_swap = 1.0f;
    int splits[3] = {SW_TRAIN, SW_VAL, SW_TEST_COMP};
    for (int si = 0; si < 3; si++)
      for (int i = 0; i < 150; i++) {
        make_image(&base, splits[si], i, 1 << 20, im, NULL);
        for (int k = 0; k < im->n_refs; k++) {
          const sw_ref *b = &im->refs[k];
          if (b->swap_of < 0) continue;
          const sw_ref *a = &im->refs[b->swap_of];
          pairs++;
          cr_assert(im->planted && k == 1 && b->swap_of == 0,
                    "a swap pair outside a planted scene");
          cr_assert_neq(a->target, b->target, "a swap pair names one object twice");
          cr_assert(sw_picks(&im->c, &im->scene, &a->prog, a->target) &&
                    sw_picks(&im->c, &im->scene, &b->prog, b->target));
          cr_assert_eq(a->n_sents, b->n_sents);
          for (int q = 0; q < a->n_sents; q++) {
            words wa, wb;
            sorted_words(a->sents[q], &wa);
            sorted_words(b->sents[q], &wb);
            bool same = wa.n == wb.n;
            for (int w = 0; w < wa.n && same; w++) same = !strcmp(wa.w[w], wb.w[w]);
            cr_assert(same, "\"%s\" and \"%s\" have different words", a->sents[q], b->sents[q]);
            cr_assert(strcmp(a->sents[q], b->sents[q]), "\"%s\" twice", a->sents[q]);
            reading ra = read_ref(&im->c, &im->scene, a->sents[q]),
                    rb = read_ref(&im->c, &im->scene, b->sents[q]);
            cr_assert(ra.named == 1u << a->target && rb.named == 1u << b->target,
                      "\"%s\" / \"%s\" read back name %#x / %#x", a->sents[q], b->sents[q],
                      ra.named, rb.named);
          }
        }
      }
  }
  free(im);
  cr_assert(pairs >= 300, "only %d swap pairs in 900 planted scenes", pairs);
}

// ---- layout and pixels ----

// Every pair meets the gap and the axis margin; no object reaches past the frame; each box and
// area equal the coverage recomputed with sw_coverage over a wider window; and on the rendered
// image, the pixels at least half of the object's colour (against the background rendered
// alone) are exactly the `area` pixels, and their tight box is the stored box.
//
// This is how §6.11's "the box contains >= 50% target-coloured pixels" is read: the box is the
// tight box of the pixels that are >= 50% the target's colour. Read as ">= 50% of the box's
// pixels", it cannot hold: a solid star fills about 40-50% of its box, a triangle or a cross
// 46-60%, a hollow shape 16-50%.
Test(sw_scene, layout_rules_and_boxes_on_the_pixels) {
  int objects = 0;
  uint8_t rgb[64 * 64 * 3], bg[64 * 64 * 3];
  image_out *im = malloc(sizeof *im);
  for (int d = 0; d < 3; d++) {
    sw_config base = config(DIFFICULTIES[d], 64, 300 + d);
    for (int split = 0; split < SW_N_SPLITS; split++)
      for (int i = 0; i < 60; i++) {
        make_image(&base, split, i, 60, im, rgb);
        const sw_config *c = &im->c;
        sw_scene *s = &im->scene;
        int W = c->img_size, stroke = W / 32 > 1 ? W / 32 : 1;
        char what[64];
        snprintf(what, sizeof what, "%s %s image %d", DIFFICULTIES[d], sw_split_names[split], i);
        cr_assert(s->n >= c->n_obj_min && s->n <= c->n_obj_max, "%s: %d objects", what, s->n);
        // the background alone, from the same stream
        sw_scene empty = {.n = 0, .bg_mode = s->bg_mode};
        gw_rng render = stream(c->seed, split, "render", i);
        sw_render(c, &empty, &render, bg);
        for (int a = 0; a < s->n; a++) {
          const sw_object *o = &s->obj[a];
          objects++;
          cr_assert(
              o->cx - o->r >= 0 && o->cy - o->r >= 0 && o->cx + o->r <= W && o->cy + o->r <= W,
              "%s: object %d leaves the frame", what, a);
          for (int v = 0; v < o->n_poly; v++)
            cr_assert(o->poly[v][0] >= 0 && o->poly[v][0] <= W && o->poly[v][1] >= 0 &&
                          o->poly[v][1] <= W,
                      "%s: object %d vertex %d outside the frame", what, a, v);
          for (int b = 0; b < a; b++) {
            const sw_object *p = &s->obj[b];
            float dx = o->cx - p->cx, dy = o->cy - p->cy;
            cr_assert(sqrtf(dx * dx + dy * dy) >= o->r + p->r + c->gap_px - 1e-4f,
                      "%s: objects %d and %d closer than the gap", what, a, b);
            cr_assert(fabsf(dx) >= c->rel_margin && fabsf(dy) >= c->rel_margin,
                      "%s: objects %d and %d within the axis margin %g", what, a, b, c->rel_margin);
          }
          // coverage over the object's square widened by 3 px, frame or not
          int x0 = (int)floorf(o->cx - o->r) - 3, x1 = (int)ceilf(o->cx + o->r) + 3;
          int y0 = (int)floorf(o->cy - o->r) - 3, y1 = (int)ceilf(o->cy + o->r) + 3;
          int bx0 = 1 << 20, by0 = 1 << 20, bx1 = -1, by1 = -1, area = 0;
          int px0 = 1 << 20, py0 = 1 << 20, px1 = -1, py1 = -1, pix_area = 0;
          for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++) {
              int cov = sw_coverage(o, x, y, stroke);
              bool in_frame = x >= 0 && y >= 0 && x < W && y < W;
              cr_assert(cov == 0 || in_frame,
                        "%s: object %d covers pixel (%d, %d) outside the frame", what, a, x, y);
              if (cov >= 8) {
                area++;
                bx0 = x < bx0 ? x : bx0, bx1 = x > bx1 ? x : bx1;
                by0 = y < by0 ? y : by0, by1 = y > by1 ? y : by1;
              }
              if (!in_frame) continue;
              bool other = false;  // pixels another object touches are not measured
              for (int b = 0; b < s->n && !other; b++)
                other = b != a && sw_coverage(&s->obj[b], x, y, stroke) > 0;
              if (other) continue;
              // moved at least half way from the background to the object's colour (L1, +-0.5
              // rounding per channel)
              const uint8_t *p = rgb + 3 * (y * W + x), *g = bg + 3 * (y * W + x);
              int moved = 0, span = 0;
              for (int ch = 0; ch < 3; ch++) {
                moved += abs((int)p[ch] - (int)g[ch]);
                span += abs((int)o->rgb[ch] - (int)g[ch]);
              }
              cr_assert(span > 48, "%s: object %d's colour is too close to the background", what,
                        a);
              if (2.0 * moved >= (double)span - 3.0) {
                pix_area++;
                px0 = x < px0 ? x : px0, px1 = x > px1 ? x : px1;
                py0 = y < py0 ? y : py0, py1 = y > py1 ? y : py1;
              }
            }
          cr_assert(area > 0 && o->area == area, "%s: object %d area %d, coverage gives %d", what,
                    a, o->area, area);
          int want[4] = {bx0, by0, bx1 - bx0 + 1, by1 - by0 + 1};
          cr_assert(!memcmp(o->bbox, want, sizeof want),
                    "%s: object %d box [%d %d %d %d], coverage gives [%d %d %d %d]", what, a,
                    o->bbox[0], o->bbox[1], o->bbox[2], o->bbox[3], want[0], want[1], want[2],
                    want[3]);
          int seen[4] = {px0, py0, px1 - px0 + 1, py1 - py0 + 1};
          cr_assert(pix_area == o->area && !memcmp(o->bbox, seen, sizeof seen),
                    "%s: object %d (%s %s): on the image %d pixels of its colour in [%d %d %d %d], "
                    "stored %d in [%d %d %d %d]",
                    what, a, sw_shape_names[o->shape], sw_style_names[o->style], pix_area, seen[0],
                    seen[1], seen[2], seen[3], o->area, o->bbox[0], o->bbox[1], o->bbox[2],
                    o->bbox[3]);
        }
      }
  }
  free(im);
  cr_assert(objects > 3000, "only %d objects", objects);
}

// ---- the written data set ----

typedef struct split_arrays {
  int64_t n_images, n_obj, n_ref;
  int W;
  uint8_t *images;
  int32_t *obj_image, *obj_attrs, *ref_image, *ref_object, *ref_swap;
} split_arrays;

static int32_t *read_i32(gw_h5 *f, const char *name, int64_t *rows, int cols) {
  int nd;
  int64_t shape[GW_MAX_DIMS];
  cr_assert_eq(gw_h5_array_shape(f, name, &nd, shape), 0, "%s", gw_last_error());
  cr_assert_eq(nd, cols > 1 ? 2 : 1, "%s: %d dimensions", name, nd);
  int32_t *v = malloc((size_t)shape[0] * (size_t)cols * 4 + 4);
  cr_assert_eq(gw_h5_read_array(f, name, GW_H5_I32, nd, shape, v), 0, "%s", gw_last_error());
  *rows = shape[0];
  return v;
}

static void read_split(const char *dir, int split, split_arrays *a) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s.h5", dir, sw_split_names[split]);
  gw_h5 *f = gw_h5_open(path);
  cr_assert(f, "%s", gw_last_error());
  int nd;
  int64_t shape[GW_MAX_DIMS], rows;
  cr_assert_eq(gw_h5_array_shape(f, "images", &nd, shape), 0);
  a->n_images = shape[0];
  a->W = (int)shape[1];
  a->images = malloc((size_t)(shape[0] * shape[1] * shape[2] * 3 + 1));
  cr_assert_eq(gw_h5_read_array(f, "images", GW_H5_U8, 4, shape, a->images), 0);
  a->obj_image = read_i32(f, "objects/image", &a->n_obj, 1);
  a->obj_attrs = read_i32(f, "objects/attrs", &rows, 4);
  cr_assert_eq(rows, a->n_obj);
  a->ref_image = read_i32(f, "refs/image", &a->n_ref, 1);
  a->ref_object = read_i32(f, "refs/object", &rows, 1);
  cr_assert_eq(rows, a->n_ref);
  a->ref_swap = read_i32(f, "refs/swap_of", &rows, 1);
  cr_assert_eq(rows, a->n_ref);
  gw_h5_close(f);
}

static void free_split(split_arrays *a) {
  free(a->images);
  free(a->obj_image);
  free(a->obj_attrs);
  free(a->ref_image);
  free(a->ref_object);
  free(a->ref_swap);
}

static int name_index(const char *const *names, int n, const char *name) {
  for (int k = 0; k < n; k++)
    if (!strcmp(names[k], name)) return k;
  cr_assert_fail("unknown name '%s'", name);
  return -1;
}

// A scene graph from a scenes.jsonl line (attributes and centres).
static void scene_from_json(json_t *line, sw_scene *s) {
  memset(s, 0, sizeof *s);
  json_t *objs = json_object_get(line, "objects");
  s->n = (int)json_array_size(objs);
  cr_assert(s->n > 0 && s->n <= SW_MAX_OBJ);
  for (int j = 0; j < s->n; j++) {
    json_t *o = json_array_get(objs, (size_t)j);
    sw_object *ob = &s->obj[j];
    ob->id = j;
    ob->shape =
        name_index(sw_shape_names, SW_N_SHAPES, json_string_value(json_object_get(o, "shape")));
    ob->color =
        name_index(sw_color_names, SW_N_COLORS, json_string_value(json_object_get(o, "color")));
    ob->size = name_index(sw_size_names, SW_N_SIZES, json_string_value(json_object_get(o, "size")));
    ob->style =
        name_index(sw_style_names, SW_N_STYLES, json_string_value(json_object_get(o, "style")));
    ob->cx = (float)json_number_value(json_object_get(o, "cx"));
    ob->cy = (float)json_number_value(json_object_get(o, "cy"));
  }
}

static bool c1_color(int color) {
  return color == SW_RED || color == SW_BLUE || color == SW_YELLOW || color == SW_WHITE;
}

// On the written tiny set: testA/testB targets are of the split's shape group with >= 2 objects
// of that shape in the image; palettes follow the compositional rule and test_comp's
// (non-circle) pairs never occur elsewhere; test_hard's object counts are beyond training's;
// the splits share no image; the written swap pairs have the same words and other targets.
Test(sw_scene, splits_of_the_written_tiny_set) {
  char dir[64];
  make_temp_dir(dir, sizeof dir);
  sw_gen_opts o = preset_opts("tiny", dir);
  generate(&o);
  bool pair_seen[SW_N_SPLITS][SW_N_SHAPES][SW_N_COLORS] = {{{false}}};
  uint64_t *image_hashes = NULL;
  int64_t n_hashes = 0;
  int swap_pairs = 0;
  for (int split = 0; split < SW_N_SPLITS; split++) {
    const char *name = sw_split_names[split];
    split_arrays a;
    read_split(dir, split, &a);
    cr_assert_eq(a.n_images, o.preset.images[split]);
    // objects per image
    int *count = calloc((size_t)a.n_images, sizeof *count);
    for (int64_t k = 0; k < a.n_obj; k++) count[a.obj_image[k]]++;
    for (int64_t i = 0; i < a.n_images; i++) {
      if (split == SW_TEST_HARD)
        cr_assert(count[i] > o.cfg.n_obj_max && count[i] <= o.cfg.n_obj_max + 3,
                  "test_hard image %lld has %d objects; training has at most %d", (long long)i,
                  count[i], o.cfg.n_obj_max);
      else
        cr_assert(count[i] >= o.cfg.n_obj_min && count[i] <= o.cfg.n_obj_max,
                  "%s image %lld: %d objects", name, (long long)i, count[i]);
    }
    // palettes
    for (int64_t k = 0; k < a.n_obj; k++) {
      int shape = a.obj_attrs[4 * k], color = a.obj_attrs[4 * k + 1];
      pair_seen[split][shape][color] = true;
      if (shape == SW_CIRCLE) continue;  // the "sphere" takes any colour
      bool want_c1 = (sw_shape_group(shape) == 0) != (split == SW_TEST_COMP);
      cr_assert_eq(c1_color(color), want_c1, "%s: a %s %s breaks the palette rule", name,
                   sw_color_names[color], sw_shape_names[shape]);
    }
    // testA / testB targets
    for (int64_t r = 0; r < a.n_ref && (split == SW_TESTA || split == SW_TESTB); r++) {
      int obj = a.ref_object[r], shape = a.obj_attrs[4 * obj], same = 0;
      cr_assert_eq(a.obj_image[obj], a.ref_image[r]);
      cr_assert_eq(sw_shape_group(shape), split == SW_TESTB, "%s ref %lld: the target is a %s",
                   name, (long long)r, sw_shape_names[shape]);
      for (int64_t k = 0; k < a.n_obj; k++)
        same += a.obj_image[k] == a.ref_image[r] && a.obj_attrs[4 * k] == shape;
      cr_assert(same >= 2, "%s ref %lld: the only %s in its image", name, (long long)r,
                sw_shape_names[shape]);
    }
    if (split == SW_TESTA || split == SW_TESTB)
      cr_assert(a.n_ref >= a.n_images, "%s: %lld refs", name, (long long)a.n_ref);
    // every image hashed, for disjointness
    size_t bytes = (size_t)a.W * a.W * 3;
    image_hashes = realloc(image_hashes, (size_t)(n_hashes + a.n_images) * sizeof *image_hashes);
    for (int64_t i = 0; i < a.n_images; i++) {
      fnv f;
      fnv_init(&f);
      fnv_bytes(&f, a.images + (size_t)i * bytes, bytes);
      image_hashes[n_hashes++] = f.h;
    }
    // swap pairs, from refs.jsonl (and the same in refs/swap_of)
    json_lines refs = read_jsonl(dir, split, "refs.jsonl");
    cr_assert_eq(refs.n, a.n_ref);
    for (int r = 0; r < refs.n; r++) {
      json_t *sw = json_object_get(refs.v[r], "swap_of");
      cr_assert_eq(sw ? (int)json_integer_value(sw) : -1, a.ref_swap[r],
                   "%s ref %d: swap_of differs", name, r);
      if (!sw) continue;
      json_t *other = refs.v[json_integer_value(sw)];
      swap_pairs++;
      cr_assert_eq(json_integer_value(json_object_get(other, "image_id")),
                   json_integer_value(json_object_get(refs.v[r], "image_id")));
      cr_assert_neq(json_integer_value(json_object_get(other, "ann_id")),
                    json_integer_value(json_object_get(refs.v[r], "ann_id")),
                    "%s ref %d: a swap pair names one object", name, r);
      json_t *sa = json_object_get(refs.v[r], "sentences"),
             *sb = json_object_get(other, "sentences");
      for (size_t q = 0; q < json_array_size(sa); q++) {
        words wa, wb;
        sorted_words(json_string_value(json_array_get(sa, q)), &wa);
        sorted_words(json_string_value(json_array_get(sb, q)), &wb);
        bool same = wa.n == wb.n;
        for (int w = 0; w < wa.n && same; w++) same = !strcmp(wa.w[w], wb.w[w]);
        cr_assert(same, "%s ref %d: a swap pair with different words", name, r);
      }
    }
    free_jsonl(&refs);
    free(count);
    free_split(&a);
  }
  // test_comp's pairs (circles aside) appear in no other split, and it has some
  int comp_pairs = 0;
  for (int sh = SW_SQUARE; sh < SW_N_SHAPES; sh++)
    for (int col = 0; col < SW_N_COLORS; col++) {
      if (!pair_seen[SW_TEST_COMP][sh][col]) continue;
      comp_pairs++;
      for (int split = 0; split < SW_N_SPLITS; split++)
        cr_assert(split == SW_TEST_COMP || !pair_seen[split][sh][col],
                  "a %s %s in test_comp and in %s", sw_color_names[col], sw_shape_names[sh],
                  sw_split_names[split]);
    }
  cr_assert(comp_pairs >= 15, "test_comp shows only %d pairs", comp_pairs);
  cr_assert(swap_pairs >= 10, "only %d swap pairs in the tiny set", swap_pairs);
  for (int64_t i = 0; i < n_hashes; i++)
    for (int64_t k = 0; k < i; k++)
      cr_assert_neq(image_hashes[i], image_hashes[k], "images %lld and %lld are the same",
                    (long long)k, (long long)i);
  free(image_hashes);
  // with comp_split off, every pair is allowed everywhere
  sw_config off = o.cfg;
  off.comp_split = false;
  for (int split = 0; split < SW_N_SPLITS; split++)
    for (int sh = 0; sh < SW_N_SHAPES; sh++)
      for (int col = 0; col < SW_N_COLORS; col++) cr_assert(sw_color_allowed(&off, split, sh, col));
  rm_tree(dir);
}

static double meta_number(json_t *meta, const char *split, const char *key, const char *level) {
  json_t *v = json_object_get(
      json_object_get(json_object_get(json_object_get(meta, "splits"), split), "ceilings"), key);
  if (level) v = json_object_get(v, level);
  cr_assert(v && json_is_number(v), "meta.json: no %s/ceilings/%s%s%s", split, key,
            level ? "/" : "", level ? level : "");
  return json_number_value(v);
}

// An evaluation split's caption truth (captions/true_start, true_images), read by the loader:
// each caption is true of its own image, the images are listed once in order, two captions of
// the same words are true of the same images (the rows are the captions'; words the small
// training split never saw are <unk>, so such captions are left out), and the share true of
// more than one image is meta.json's caption_ambiguity (the split has fewer than 1000 images).
static void check_caption_truth(const char *dir, int split, json_t *meta) {
  const char *name = sw_split_names[split];
  gw_dataset d;
  cr_assert_eq(gw_dataset_open(&d, dir, name, GW_TASK_CAPTION), 0, "%s", gw_last_error());
  cr_assert(d.cap_true_start && d.cap_true_images, "%s: no caption truth", name);
  cr_assert(d.n_images < 1000);
  int64_t ambiguous = 0;
  for (int64_t j = 0; j < d.n_samples; j++) {
    const int32_t *t = d.cap_true_images + d.cap_true_start[j];
    int32_t count = d.cap_true_start[j + 1] - d.cap_true_start[j];
    bool own = false;
    for (int32_t k = 0; k < count; k++) {
      own |= t[k] == d.image_of[j];
      cr_assert(k == 0 || t[k] > t[k - 1], "%s caption %lld: images out of order", name, (long long)j);
    }
    cr_assert(own, "%s caption %lld is not true of its own image %d", name, (long long)j, d.image_of[j]);
    ambiguous += count > 1;
    bool unknown = false;
    for (int k = 0; k < d.lengths[j]; k++) unknown |= d.tokens[j * d.max_len + k] == GW_UNK;
    for (int64_t i = 0; i < j && !unknown; i++)
      if (d.lengths[i] == d.lengths[j] &&
          !memcmp(d.tokens + i * d.max_len, d.tokens + j * d.max_len, (size_t)d.max_len * 4)) {
        int32_t other = d.cap_true_start[i + 1] - d.cap_true_start[i];
        cr_assert(other == count && !memcmp(d.cap_true_images + d.cap_true_start[i], t, (size_t)count * 4),
                  "%s: captions %lld and %lld have the same words and other truths", name,
                  (long long)i, (long long)j);
        break;
      }
  }
  double want = (double)ambiguous / (double)d.n_samples;
  cr_assert(fabs(meta_number(meta, name, "caption_ambiguity", NULL) - want) < 1e-12,
            "%s: caption_ambiguity %.12g in meta.json, %.12g from the truth", name,
            meta_number(meta, name, "caption_ambiguity", NULL), want);
  cr_assert(ambiguous > 0 && ambiguous < d.n_samples, "%s: %lld of %lld captions ambiguous", name,
            (long long)ambiguous, (long long)d.n_samples);
  gw_dataset_close(&d);
}

// meta.json's blind and attribute-only ceilings equal those recomputed here from refs.jsonl and
// scenes.jsonl alone: the blind one from the referred objects, the attribute ones from the
// attribute words of each first sentence, read back.
Test(sw_scene, ceilings_in_meta_json_recomputed_from_the_files) {
  char dir[64];
  make_temp_dir(dir, sizeof dir);
  sw_gen_opts o = preset_opts("tiny", dir);
  const int64_t counts[SW_N_SPLITS] = {192, 48, 48, 48, 48, 48};
  memcpy(o.preset.images, counts, sizeof counts);
  o.preset.fewshot_pool[0] = o.preset.fewshot_pool[1] = o.preset.fewshot_pool[2] = 1;
  generate(&o);
  char path[1200];
  snprintf(path, sizeof path, "%s/meta.json", dir);
  json_error_t err;
  json_t *meta = json_load_file(path, 0, &err);
  cr_assert(meta, "%s: %s", path, err.text);
  cr_assert_eq(json_integer_value(json_object_get(meta, "sw_version")), SW_VERSION);
  for (int split = 0; split < SW_N_SPLITS; split++) {
    const char *name = sw_split_names[split];
    sw_config c = sw_config_for_split(&o.cfg, split);
    json_lines scenes = read_jsonl(dir, split, "scenes.jsonl"),
               refs = read_jsonl(dir, split, "refs.jsonl");
    cr_assert_eq(scenes.n, counts[split]);
    int64_t n_level[4] = {0};
    double guess[4] = {0}, exact[4] = {0}, blind = 0;
    int blind_images = 0;
    for (int r = 0; r < refs.n;) {
      // the refs of one image
      int64_t image = json_integer_value(json_object_get(refs.v[r], "image_id"));
      sw_scene s;
      scene_from_json(scenes.v[image], &s);
      cr_assert_eq(json_integer_value(json_object_get(scenes.v[image], "image_id")), image);
      int per_object[SW_MAX_OBJ] = {0}, in_image = 0, most = 0;
      for (; r < refs.n && json_integer_value(json_object_get(refs.v[r], "image_id")) == image;
           r++) {
        json_t *ref = refs.v[r];
        int level = (int)json_integer_value(json_object_get(ref, "level"));
        int target = (int)(json_integer_value(json_object_get(ref, "ann_id")) - image * SW_MAX_OBJ);
        cr_assert(level >= 0 && level < 4 && target >= 0 && target < s.n);
        in_image++;
        if (++per_object[target] > most) most = per_object[target];
        const char *sent = json_string_value(json_array_get(json_object_get(ref, "sentences"), 0));
        reading rd = read_ref(&c, &s, sent);
        cr_assert(rd.parsed, "%s: \"%s\" does not parse", name, sent);
        uint32_t m = np_objects(&s, &rd.head);
        cr_assert(m >> target & 1, "%s: \"%s\": the attributes do not fit the target", name, sent);
        n_level[level]++;
        guess[level] += 1.0 / __builtin_popcount(m);
        exact[level] += m == 1u << target;
      }
      blind += (double)most / in_image;
      blind_images++;
    }
    double want_blind = blind_images ? blind / blind_images : 0.0;
    cr_assert(fabs(meta_number(meta, name, "blind", NULL) - want_blind) < 1e-9,
              "%s: blind %.12g in meta.json, %.12g recomputed", name,
              meta_number(meta, name, "blind", NULL), want_blind);
    for (int l = 0; l < 4; l++) {
      char key[4];
      snprintf(key, sizeof key, "L%d", l);
      json_t *lv =
          json_object_get(json_object_get(json_object_get(meta, "splits"), name), "levels");
      cr_assert_eq(json_integer_value(json_object_get(lv, key)), n_level[l], "%s: %s count", name,
                   key);
      if (!n_level[l]) continue;
      double g = guess[l] / n_level[l], e = exact[l] / n_level[l];
      cr_assert(fabs(meta_number(meta, name, "attribute_only_guess", key) - g) < 1e-9,
                "%s %s: attribute_only_guess %.12g in meta.json, %.12g recomputed", name, key,
                meta_number(meta, name, "attribute_only_guess", key), g);
      cr_assert(fabs(meta_number(meta, name, "attribute_only", key) - e) < 1e-12,
                "%s %s: attribute_only %.12g in meta.json, %.12g recomputed", name, key,
                meta_number(meta, name, "attribute_only", key), e);
      cr_assert_eq(e, l == 0 ? 1.0 : 0.0, "%s %s: attributes alone pick %.3g of the targets", name,
                   key, e);
    }
    if (split != SW_TRAIN) check_caption_truth(dir, split, meta);
    free_jsonl(&scenes);
    free_jsonl(&refs);
  }
  json_decref(meta);
  rm_tree(dir);
}

// ---- few-shot files ----

// A copy of an opened few-shot part sharing its images, with its own sample lists (which
// gw_dataset_fewshot replaces); part_free frees only those.
static gw_dataset part_copy(const gw_dataset *d) {
  gw_dataset c = *d;
  size_t bytes = (size_t)d->n_samples * sizeof *d->labels;
  c.labels = malloc(bytes + 4);
  c.image_of = malloc(bytes + 4);
  memcpy(c.labels, d->labels, bytes);
  memcpy(c.image_of, d->image_of, bytes);
  return c;
}

static void part_free(gw_dataset *d) {
  free(d->labels);
  free(d->image_of);
}

// The CoOp protocol on the written few-shot sets: split_sw_<task>.json lists every row of
// images.h5 once, in the part its "split" array says, with its label and class name; the pools
// hold the preset's count per class; gw_dataset_fewshot keeps exactly K per class (min(K, 4) on
// val), the same K for the same seed, other images for other seeds.
Test(sw_scene, fewshot_files_and_the_coop_protocol) {
  char dir[64];
  make_temp_dir(dir, sizeof dir);
  sw_gen_opts o = preset_opts("tiny", dir);
  const int64_t counts[SW_N_SPLITS] = {8, 0, 0, 0, 0, 0};
  memcpy(o.preset.images, counts, sizeof counts);
  generate(&o);
  static const char *const parts[3] = {"train", "val", "test"};
  for (int task = 0; task < SW_N_FS_TASKS; task++) {
    const char *tname = sw_fewshot_task_names[task];
    int classes = sw_fewshot_n_classes(&o.cfg, task);
    char tdir[1200], path[1300];
    snprintf(tdir, sizeof tdir, "%s/fewshot/%s", dir, tname);
    snprintf(path, sizeof path, "%s/images.h5", tdir);
    gw_h5 *f = gw_h5_open(path);
    cr_assert(f, "%s", gw_last_error());
    int64_t n, rows;
    int32_t *labels = read_i32(f, "labels", &n, 1), *part_of = read_i32(f, "split", &rows, 1);
    cr_assert_eq(rows, n);
    gw_h5_close(f);
    int per_class = o.preset.fewshot_pool[0] + o.preset.fewshot_pool[1] + o.preset.fewshot_pool[2];
    cr_assert_eq(n, (int64_t)classes * per_class, "%s: %lld images", tname, (long long)n);
    snprintf(path, sizeof path, "%s/split_sw_%s.json", tdir, tname);
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    cr_assert(doc, "%s: %s", path, err.text);
    int *listed = calloc((size_t)n, sizeof *listed),
        *in_part = calloc((size_t)classes * 3, sizeof *in_part);
    for (int p = 0; p < 3; p++) {
      json_t *list = json_object_get(doc, parts[p]);
      cr_assert(json_is_array(list), "%s: no '%s' list", path, parts[p]);
      for (size_t k = 0; k < json_array_size(list); k++) {
        json_t *e = json_array_get(list, k);
        const char *impath = json_string_value(json_array_get(e, 0));
        int label = (int)json_integer_value(json_array_get(e, 1));
        long long row = -1;
        cr_assert(impath && sscanf(impath, "images.h5:%lld", &row) == 1 && row >= 0 && row < n,
                  "%s: odd impath '%s'", path, impath ? impath : "(null)");
        listed[row]++;
        cr_assert_eq(part_of[row], p, "%s: row %lld listed in %s, its split says %d", path, row,
                     parts[p], part_of[row]);
        cr_assert_eq(labels[row], label, "%s: row %lld has label %d in the JSON, %d in images.h5",
                     path, row, label, labels[row]);
        char cname[64];
        sw_fewshot_class_name(&o.cfg, task, label, cname, sizeof cname);
        cr_assert_str_eq(json_string_value(json_array_get(e, 2)), cname);
        in_part[label * 3 + p]++;
      }
    }
    for (int64_t i = 0; i < n; i++)
      cr_assert_eq(listed[i], 1, "%s: row %lld listed %d times", path, (long long)i, listed[i]);
    for (int cls = 0; cls < classes; cls++)
      for (int p = 0; p < 3; p++)
        cr_assert_eq(in_part[cls * 3 + p], o.preset.fewshot_pool[p],
                     "%s: class %d has %d %s images", tname, cls, in_part[cls * 3 + p], parts[p]);
    json_decref(doc);
    free(listed);
    free(in_part);
    free(labels);
    free(part_of);
    // the protocol, on copies of the train and val parts opened once
    gw_dataset train, val;
    cr_assert_eq(gw_dataset_open(&train, tdir, "train", GW_TASK_CLASSIFY), 0, "%s",
                 gw_last_error());
    cr_assert_eq(gw_dataset_open(&val, tdir, "val", GW_TASK_CLASSIFY), 0, "%s", gw_last_error());
    cr_assert_eq(train.n_samples, (int64_t)classes * o.preset.fewshot_pool[0]);
    cr_assert_eq(val.n_samples, (int64_t)classes * o.preset.fewshot_pool[1]);
    cr_assert_eq(train.n_classes, classes);
    static const int shots[5] = {1, 2, 4, 8, 16};
    for (int si = 0; si < 5; si++) {
      int K = shots[si];
      uint8_t *chosen[4] = {NULL};
      for (int seed = 1; seed <= 3; seed++) {
        gw_dataset d = part_copy(&train);
        cr_assert_eq(gw_dataset_fewshot(&d, K, (uint64_t)seed), 0, "%s", gw_last_error());
        cr_assert_eq(d.n_samples, (int64_t)classes * K);
        int *per = calloc((size_t)classes, sizeof *per);
        chosen[seed] = calloc((size_t)n, 1);
        for (int64_t k = 0; k < d.n_samples; k++) {
          per[d.labels[k]]++;
          chosen[seed][d.image_of[k]] = 1;
        }
        for (int cls = 0; cls < classes; cls++)
          cr_assert_eq(per[cls], K, "%s K=%d seed %d: class %d has %d", tname, K, seed, cls,
                       per[cls]);
        free(per);
        // the same seed again: the same images
        gw_dataset again = part_copy(&train);
        cr_assert_eq(gw_dataset_fewshot(&again, K, (uint64_t)seed), 0);
        cr_assert(!memcmp(again.image_of, d.image_of, (size_t)d.n_samples * sizeof *d.image_of));
        part_free(&again);
        part_free(&d);
        // val: min(K, 4) per class
        d = part_copy(&val);
        int kv = K < 4 ? K : 4;
        cr_assert_eq(gw_dataset_fewshot(&d, kv, (uint64_t)seed), 0, "%s", gw_last_error());
        cr_assert_eq(d.n_samples, (int64_t)classes * kv);
        part_free(&d);
      }
      if (K < o.preset.fewshot_pool[0])
        for (int a = 1; a <= 3; a++)
          for (int b = 1; b < a; b++)
            cr_assert(memcmp(chosen[a], chosen[b], (size_t)n),
                      "%s K=%d: seeds %d and %d choose the same images", tname, K, a, b);
      for (int seed = 1; seed <= 3; seed++) free(chosen[seed]);
    }
    // more shots than a class has: an error naming the class
    cr_assert_eq(gw_dataset_fewshot(&train, o.preset.fewshot_pool[0] + 1, 1), -1);
    cr_assert(strstr(gw_last_error(), "class 0"), "%s", gw_last_error());
    gw_dataset_close(&train);
    gw_dataset_close(&val);
  }
  rm_tree(dir);
}
