// The in-memory records, and the helpers every format loader uses.
#include "datasets/formats.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/formats_json.h"
#include "datasets/vocab.h"
#include "tensor/error.h"

// ---- records ----

void gw_rec_grow(void **v, int64_t *cap, int64_t want, size_t elem) {
  if (want <= *cap) return;
  int64_t c = *cap ? *cap : 64;
  while (c < want) c *= 2;
  void *p = realloc(*v, (size_t)c * elem);
  GW_CHECK(p, "data: out of memory for %lld records", (long long)c);
  memset((char *)p + (size_t)*cap * elem, 0, (size_t)(c - *cap) * elem);
  *v = p;
  *cap = c;
}

char *gw_rec_strdup(const char *s) {
  if (!s) return NULL;
  char *d = strdup(s);
  GW_CHECK(d, "data: out of memory");
  return d;
}

int gw_rec_bad(gw_records *r, bool skip_bad, const char *fmt, ...) {
  char msg[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!skip_bad) {
    gw_set_error("%s; fix the record or pass --skip-bad (data.skip_bad=true) to drop bad records",
                 msg);
    return -1;
  }
  if (r->skipped++ == 0) snprintf(r->first_skipped, sizeof r->first_skipped, "%s", msg);
  return 0;
}

void gw_rec_image_path(char *buf, int len, const char *pattern, int64_t id, const char *split) {
  int o = 0;
  for (const char *p = pattern; *p && o < len - 1;) {
    if (!strncmp(p, "{split}", 7)) {
      o += snprintf(buf + o, (size_t)(len - o), "%s", split ? split : "");
      p += 7;
    } else if (!strncmp(p, "{id}", 4)) {
      o += snprintf(buf + o, (size_t)(len - o), "%lld", (long long)id);
      p += 4;
    } else if (!strncmp(p, "{id:", 4) && isdigit((unsigned char)p[4])) {
      int width = atoi(p + 4);
      const char *close = strchr(p, '}');
      if (!close) break;
      o += snprintf(buf + o, (size_t)(len - o), "%0*lld", width, (long long)id);
      p = close + 1;
    } else {
      buf[o++] = *p++;
    }
    if (o > len - 1) o = len - 1;
  }
  buf[o] = '\0';
}

bool gw_rec_has_words(const char *text) {
  char words[1][GW_MAX_WORD];
  return text && gw_tokenize(text, words, 1) > 0;
}

static void split_free(gw_rec_split *s) {
  for (int64_t k = 0; k < s->n_images; k++) free(s->images[k].file);
  for (int64_t k = 0; k < s->n_sents; k++) free(s->sents[k].text);
  for (int64_t k = 0; k < s->n_captions; k++) {
    free(s->captions[k].family);
    free(s->captions[k].text);
  }
  for (int64_t k = 0; k < s->n_questions; k++) {
    gw_rec_question *q = &s->questions[k];
    free(q->family);
    free(q->answer_type);
    free(q->text);
    free(q->answer);
    for (int h = 0; h < 10; h++) free(q->answers[h]);
  }
  free(s->images);
  free(s->objects);
  free(s->refs);
  free(s->sents);
  free(s->captions);
  free(s->questions);
  free(s->labels);
  free(s->name);
  free(s->source);
}

void gw_records_free(gw_records *r) {
  for (int k = 0; k < r->n_splits; k++) split_free(&r->splits[k]);
  free(r->splits);
  for (int k = 0; k < r->n_categories; k++) free(r->categories[k]);
  free(r->categories);
  free(r->category_ids);
  free(r->format);
  free(r->dataset);
  free(r->split_by);
  memset(r, 0, sizeof *r);
}

gw_rec_split *gw_records_split(gw_records *r, const char *name) {
  for (int k = 0; k < r->n_splits; k++)
    if (!strcmp(r->splits[k].name, name)) return &r->splits[k];
  return NULL;
}

gw_rec_split *gw_records_split_add(gw_records *r, const char *name, const char *source) {
  gw_rec_split *s = gw_records_split(r, name);
  if (s) return s;
  r->splits = realloc(r->splits, (size_t)(r->n_splits + 1) * sizeof *r->splits);
  GW_CHECK(r->splits, "data: out of memory");
  s = &r->splits[r->n_splits++];
  memset(s, 0, sizeof *s);
  s->name = gw_rec_strdup(name);
  s->source = gw_rec_strdup(source);
  return s;
}

static int cmp_split(const void *a, const void *b) {
  const gw_rec_split *x = a, *y = b;
  int rx = gw_split_rank(x->name), ry = gw_split_rank(y->name);
  return rx != ry ? (rx < ry ? -1 : 1) : strcmp(x->name, y->name);
}

void gw_records_sort(gw_records *r) {
  if (r->n_splits > 1) qsort(r->splits, (size_t)r->n_splits, sizeof *r->splits, cmp_split);
}

int gw_load_format(const char *format, const gw_load_opts *o, gw_records *out) {
  static const struct {
    const char *name;
    int (*fn)(const gw_load_opts *, gw_records *);
  } table[] = {{"refcoco", gw_load_refcoco},   {"simrec", gw_load_simrec}, {"coco", gw_load_coco},
               {"karpathy", gw_load_karpathy}, {"vqa", gw_load_vqa},       {"coop", gw_load_coop}};
  for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
    if (!strcmp(table[k].name, format)) return table[k].fn(o, out);
  gw_set_error("unknown data format '%s' (refcoco, simrec, coco, karpathy, vqa, coop)", format);
  return -1;
}

// ---- JSON ----

json_t *gw_json_load(const char *path) {
  if (!gw_is_file(path)) {
    gw_set_error("%s: no such file", path);
    return NULL;
  }
  json_error_t err;
  json_t *doc = json_load_file(path, JSON_ALLOW_NUL, &err);
  if (!doc) {
    gw_set_error("%s:%d:%d: malformed JSON (%s); fix or re-export the file", path, err.line,
                 err.column, err.text);
    return NULL;
  }
  return doc;
}

int gw_json_save(const char *path, json_t *doc) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (json_dump_file(doc, tmp, JSON_COMPACT) != 0 || rename(tmp, path) != 0) {
    remove(tmp);
    gw_set_error("%s: writing failed (is the directory writable? disk full?)", path);
    return -1;
  }
  return 0;
}

bool gw_json_int(const json_t *v, int64_t *out) {
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return true;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d == floor(d) && fabs(d) < 9e15) {
      *out = (int64_t)d;
      return true;
    }
  }
  return false;
}

bool gw_json_num(const json_t *v, double *out) {
  if (!json_is_number(v)) return false;
  *out = json_number_value(v);
  return isfinite(*out);
}

const char *gw_json_str(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

bool gw_json_coco_box(const json_t *v, float out[4], const char **why) {
  double b[4];
  if (!json_is_array(v) || json_array_size(v) != 4) {
    *why = "bbox must be [x, y, w, h] (4 numbers)";
    return false;
  }
  for (int k = 0; k < 4; k++)
    if (!gw_json_num(json_array_get(v, (size_t)k), &b[k])) {
      *why = "bbox must be [x, y, w, h] (4 finite numbers)";
      return false;
    }
  if (b[2] <= 0 || b[3] <= 0) {
    *why = "bbox [x, y, w, h] has no area (w or h <= 0)";
    return false;
  }
  out[0] = (float)b[0];
  out[1] = (float)b[1];
  out[2] = (float)(b[0] + b[2]);
  out[3] = (float)(b[1] + b[3]);
  return true;
}

// ---- paths ----

void gw_path_join(char *buf, int len, const char *dir, const char *name) {
  if (!dir || !*dir || name[0] == '/') snprintf(buf, (size_t)len, "%s", name);
  else snprintf(buf, (size_t)len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
}

bool gw_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool gw_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int gw_make_dirs(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        gw_set_error("%s: cannot create the directory (%s)", buf, strerror(errno));
        return -1;
      }
      *p = c;
      if (c == '\0') break;
    }
  }
  return 0;
}

void gw_path_dir(char *buf, int len, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(buf, (size_t)len, ".");
  else if (slash == path) snprintf(buf, (size_t)len, "/");
  else snprintf(buf, (size_t)len, "%.*s", (int)(slash - path), path);
}

const char *gw_path_base(const char *path) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--;  // "dir/" -> "dir"
  const char *p = path + n;
  while (p > path && p[-1] != '/') p--;
  return p;
}

// ---- id map ----

static uint64_t mix(int64_t k) {
  uint64_t x = (uint64_t)k;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

void gw_idmap_put(gw_idmap *m, int64_t key, int64_t val) {
  if (2 * (m->n + 1) > m->cap) {
    gw_idmap old = *m;
    m->cap = old.cap ? 2 * old.cap : 256;
    m->keys = malloc((size_t)m->cap * sizeof *m->keys);
    m->vals = malloc((size_t)m->cap * sizeof *m->vals);
    m->used = calloc((size_t)m->cap, 1);
    GW_CHECK(m->keys && m->vals && m->used, "data: out of memory");
    m->n = 0;
    for (int64_t k = 0; k < old.cap; k++)
      if (old.used[k]) gw_idmap_put(m, old.keys[k], old.vals[k]);
    gw_idmap_free(&old);
  }
  uint64_t h = mix(key) & (uint64_t)(m->cap - 1);
  while (m->used[h] && m->keys[h] != key) h = (h + 1) & (uint64_t)(m->cap - 1);
  if (!m->used[h]) m->n++;
  m->used[h] = 1;
  m->keys[h] = key;
  m->vals[h] = val;
}

int64_t gw_idmap_get(const gw_idmap *m, int64_t key) {
  if (!m->cap) return -1;
  for (uint64_t h = mix(key) & (uint64_t)(m->cap - 1); m->used[h];
       h = (h + 1) & (uint64_t)(m->cap - 1))
    if (m->keys[h] == key) return m->vals[h];
  return -1;
}

void gw_idmap_free(gw_idmap *m) {
  free(m->keys);
  free(m->vals);
  free(m->used);
  memset(m, 0, sizeof *m);
}

// ---- split names ----

int gw_split_rank(const char *name) {
  static const char *const order[] = {"train", "restval", "val",      "testA",     "testB",
                                      "testC", "test",    "test-dev", "test_comp", "test_hard"};
  for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
    if (!strcmp(order[k], name)) return (int)k;
  return 100;
}

void gw_split_from_subtype(char *buf, int len, const char *subtype) {
  size_t n = strlen(subtype);
  // strip a trailing year: train2014, val2014, test-dev2015, test2015
  if (n > 4 && isdigit((unsigned char)subtype[n - 1]) && isdigit((unsigned char)subtype[n - 2]) &&
      isdigit((unsigned char)subtype[n - 3]) && isdigit((unsigned char)subtype[n - 4]) &&
      !isdigit((unsigned char)subtype[n - 5]))
    n -= 4;
  snprintf(buf, (size_t)len, "%.*s", (int)n, subtype);
}
