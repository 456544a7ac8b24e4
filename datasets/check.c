#include "datasets/check.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/formats_json.h"
#include "datasets/vocab.h"
#include "tensor/error.h"
#include "tensor/h5io.h"

// ---- SHA-256 (FIPS 180-4) ----

typedef struct sha256 {
  uint32_t h[8];
  uint8_t buf[64];
  uint64_t len;
  int fill;
} sha256;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha_block(sha256 *s, const uint8_t *p) {
  uint32_t w[64], a, b, c, d, e, f, g, h;
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6],
  h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
  s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(sha256 *s) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, h0, sizeof h0);
  s->len = 0;
  s->fill = 0;
}

static void sha_update(sha256 *s, const uint8_t *p, size_t n) {
  s->len += n;
  while (n) {
    size_t take = 64 - (size_t)s->fill < n ? 64 - (size_t)s->fill : n;
    memcpy(s->buf + s->fill, p, take);
    s->fill += (int)take;
    p += take;
    n -= take;
    if (s->fill == 64) {
      sha_block(s, s->buf);
      s->fill = 0;
    }
  }
}

static void sha_final(sha256 *s, char hex[65]) {
  uint64_t bits = s->len * 8;
  uint8_t pad = 0x80, zero = 0, lenb[8];
  sha_update(s, &pad, 1);
  while (s->fill != 56) sha_update(s, &zero, 1);
  for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, lenb, 8);
  for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

int gw_sha256_file(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    gw_set_error("%s: cannot open the file to hash it", path);
    return -1;
  }
  sha256 s;
  sha_init(&s);
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha_update(&s, buf, n);
  bool failed = ferror(f);
  fclose(f);
  if (failed) {
    gw_set_error("%s: read error while hashing", path);
    return -1;
  }
  sha_final(&s, hex);
  return 0;
}

// ---- the report ----

typedef struct checker {
  FILE *out;
  const char *dir;
  int problems;
  int kind_count[32];  // occurrences per problem kind in this split (the first 5 are printed)
} checker;

enum { P_INDEX, P_BOX, P_REFBOX, P_TOKEN, P_EMPTY, P_PAD, P_ANSWER, P_COUNT, P_CONTEXT, P_TYPE,
       P_SOURCE, P_KINDS };

__attribute__((format(printf, 3, 4))) static void problem(checker *c, int kind, const char *fmt,
                                                          ...) {
  c->problems++;
  if (kind >= 0 && c->kind_count[kind]++ >= 5) {
    if (c->kind_count[kind] == 6)
      fprintf(c->out, "  PROBLEM: ... (more of the same kind, not shown)\n");
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  fprintf(c->out, "  PROBLEM: ");
  vfprintf(c->out, fmt, ap);
  fprintf(c->out, "\n");
  va_end(ap);
}

// Reads a whole array as int32 / float32 (NULL and *n = -1 if it is missing).
static void *read_all(gw_h5 *f, const char *name, gw_h5_type t, int64_t *rows, int64_t *cols) {
  int ndim;
  int64_t shape[8];
  *rows = -1;
  *cols = 0;
  if (!gw_h5_exists(f, name) || gw_h5_array_shape(f, name, &ndim, shape) < 0 || ndim < 1 ||
      ndim > 2)
    return NULL;
  *rows = shape[0];
  *cols = ndim == 2 ? shape[1] : 1;
  void *v = malloc((size_t)(shape[0] * *cols) * 4 + 4);
  GW_CHECK(v, "check: out of memory for '%s'", name);
  if (gw_h5_read_array(f, name, t, ndim, shape, v) < 0) {
    free(v);
    *rows = -1;
    return NULL;
  }
  return v;
}

typedef struct box_stats {
  int64_t n, outside, degenerate;
  double wmin, wmax, wsum, hmin, hmax, hsum;
} box_stats;

static void box_stat(box_stats *b, const float *x, int S) {
  double w = x[2] - x[0], h = x[3] - x[1];
  if (b->n == 0) b->wmin = b->wmax = w, b->hmin = b->hmax = h;
  b->n++;
  b->wsum += w;
  b->hsum += h;
  b->wmin = fmin(b->wmin, w), b->wmax = fmax(b->wmax, w);
  b->hmin = fmin(b->hmin, h), b->hmax = fmax(b->hmax, h);
  if (x[0] < 0 || x[1] < 0 || x[2] > S || x[3] > S) b->outside++;
  if (!(w > 0) || !(h > 0)) b->degenerate++;
}

// Tokens and lengths of a group: ids within the vocabulary, no empty text, padding after.
static void check_tokens(checker *c, const char *file, gw_h5 *f, const char *group,
                         int64_t want_rows, int vocab_size) {
  char tn[128], ln[128];
  snprintf(tn, sizeof tn, "%s/tokens", group);
  snprintf(ln, sizeof ln, "%s/length", group);
  int64_t rows, L, lrows, one;
  int32_t *tok = read_all(f, tn, GW_H5_I32, &rows, &L),
          *len = read_all(f, ln, GW_H5_I32, &lrows, &one);
  if (!tok || !len) {
    if (want_rows > 0) problem(c, -1, "%s: %s or %s is missing", file, tn, ln);
    free(tok);
    free(len);
    return;
  }
  if (rows != want_rows || lrows != want_rows)
    problem(c, P_INDEX, "%s: %s has %lld rows and %s %lld, expected %lld", file, tn,
            (long long)rows, ln, (long long)lrows, (long long)want_rows);
  for (int64_t r = 0; r < rows && r < lrows; r++) {
    if (len[r] <= 0)
      problem(c, P_EMPTY, "%s: %s row %lld is empty (length 0): an empty expression", file, group,
              (long long)r);
    else if (len[r] > L)
      problem(c, P_INDEX, "%s: %s row %lld has length %d > %lld tokens", file, group, (long long)r,
              len[r], (long long)L);
    for (int64_t q = 0; q < L; q++) {
      int32_t id = tok[r * L + q];
      if (vocab_size > 0 && (id < 0 || id >= vocab_size)) {
        problem(c, P_TOKEN, "%s: %s row %lld holds token id %d, outside the vocabulary (%d tokens)",
                file, tn, (long long)r, id, vocab_size);
        break;
      }
      if (q >= len[r] && id != GW_PAD) {
        problem(c, P_PAD, "%s: %s row %lld has a token after its length %d", file, tn, (long long)r,
                len[r]);
        break;
      }
    }
  }
  free(tok);
  free(len);
}

typedef struct split_counts {
  int64_t images, objects, refs, sents, captions, questions;
} split_counts;

static void print_box_line(checker *c, const char *split, const char *what, const box_stats *b) {
  if (!b->n) return;
  fprintf(c->out,
          "    %-10s %-7s %6lld  w %.1f / %.1f / %.1f  h %.1f / %.1f / %.1f  outside %lld\n", split,
          what, (long long)b->n, b->wmin, b->wsum / b->n, b->wmax, b->hmin, b->hsum / b->n, b->hmax,
          (long long)b->outside);
}

static int check_split(checker *c, const char *name, int vocab_size, int n_answers, int meta_size,
                       const json_t *meta_counts, split_counts *sc, box_stats *ob, box_stats *rb,
                       double mean[3]) {
  char path[4200], file[300];
  snprintf(file, sizeof file, "%s.h5", name);
  snprintf(path, sizeof path, "%s/%s", c->dir, file);
  memset(c->kind_count, 0, sizeof c->kind_count);
  memset(sc, 0, sizeof *sc);
  gw_h5 *f = gw_h5_open(path);
  if (!f) {
    problem(c, -1, "%s", gw_last_error());
    return -1;
  }
  int ndim;
  int64_t shape[8];
  int S = 0;
  if (gw_h5_array_shape(f, "images", &ndim, shape) < 0 || ndim != 4 || shape[3] != 3 ||
      shape[1] != shape[2]) {
    problem(c, -1, "%s: no images array of shape (N, S, S, 3)", file);
  } else {
    sc->images = shape[0];
    S = (int)shape[1];
    if (meta_size > 0 && S != meta_size)
      problem(c, -1, "%s: images are %d x %d, meta.json says img_size %d", file, S, S, meta_size);
    // mean pixel per channel, in chunks
    size_t px = (size_t)S * S * 3;
    uint8_t *buf = malloc(256 * px);
    double sum[3] = {0, 0, 0};
    for (int64_t start = 0; buf && start < sc->images; start += 256) {
      int64_t n = sc->images - start < 256 ? sc->images - start : 256;
      if (gw_h5_read_rows(f, "images", GW_H5_U8, start, n, buf) < 0) {
        problem(c, -1, "%s", gw_last_error());
        break;
      }
      for (size_t k = 0; k < (size_t)n * px; k += 3)
        for (int ch = 0; ch < 3; ch++) sum[ch] += buf[k + ch];
    }
    free(buf);
    for (int ch = 0; ch < 3; ch++)
      mean[ch] = sc->images ? sum[ch] / ((double)sc->images * S * S) : 0.0;
  }
  int64_t n, cols;
  // objects
  int32_t *oimg = read_all(f, "objects/image", GW_H5_I32, &sc->objects, &cols);
  float *obox = read_all(f, "objects/box", GW_H5_F32, &n, &cols);
  if (sc->objects < 0) sc->objects = 0;
  for (int64_t j = 0; oimg && j < sc->objects; j++)
    if (oimg[j] < 0 || oimg[j] >= sc->images)
      problem(c, P_INDEX, "%s: objects/image row %lld = %d, outside [0, %lld)", file, (long long)j,
              oimg[j], (long long)sc->images);
  if (obox && n == sc->objects && cols == 4) {
    for (int64_t j = 0; j < n; j++) {
      int64_t before = ob->outside + ob->degenerate;
      box_stat(ob, obox + 4 * j, S);
      if (ob->outside + ob->degenerate > before)
        problem(c, P_BOX,
                "%s: objects/box row %lld = [%g, %g, %g, %g] is outside the %d x %d image or has "
                "no area",
                file, (long long)j, obox[4 * j], obox[4 * j + 1], obox[4 * j + 2], obox[4 * j + 3],
                S, S);
    }
  } else if (sc->objects > 0) {
    problem(c, -1, "%s: objects/box is missing or not (%lld, 4)", file, (long long)sc->objects);
  }
  // refs
  int32_t *rimg = read_all(f, "refs/image", GW_H5_I32, &sc->refs, &cols);
  int32_t *robj = read_all(f, "refs/object", GW_H5_I32, &n, &cols);
  float *rbox = read_all(f, "refs/box", GW_H5_F32, &n, &cols);
  int32_t *rswap = read_all(f, "refs/swap_of", GW_H5_I32, &n, &cols);
  if (sc->refs < 0) sc->refs = 0;
  for (int64_t r = 0; rimg && robj && rbox && r < sc->refs; r++) {
    int32_t o = robj[r];
    if (o < 0 || o >= sc->objects) {
      problem(c, P_INDEX, "%s: refs/object row %lld = %d, outside [0, %lld)", file, (long long)r, o,
              (long long)sc->objects);
      continue;
    }
    if (oimg && rimg[r] != oimg[o])
      problem(c, P_INDEX, "%s: ref %lld is on image %d, its object %d on image %d", file,
              (long long)r, rimg[r], o, oimg[o]);
    if (obox && memcmp(rbox + 4 * r, obox + 4 * o, 4 * sizeof(float)))
      problem(c, P_REFBOX, "%s: refs/box row %lld differs from objects/box row %d (its object)",
              file, (long long)r, o);
    box_stat(rb, rbox + 4 * r, S);
    if (rswap && (rswap[r] < -1 || rswap[r] >= sc->refs))
      problem(c, P_INDEX, "%s: refs/swap_of row %lld = %d, outside [-1, %lld)", file, (long long)r,
              rswap[r], (long long)sc->refs);
  }
  // the box of what each expression names (optional): it holds the target and lies in the image
  float *rctx = read_all(f, "refs/context_box", GW_H5_F32, &n, &cols);
  if (rctx && (n != sc->refs || cols != 4))
    problem(c, P_INDEX, "%s: refs/context_box has %lld rows of %lld, expected (%lld, 4)", file,
            (long long)n, (long long)cols, (long long)sc->refs);
  for (int64_t r = 0; rctx && rbox && n == sc->refs && cols == 4 && r < sc->refs; r++) {
    const float *x = rctx + 4 * r, *b = rbox + 4 * r;
    if (x[0] > b[0] || x[1] > b[1] || x[2] < b[2] || x[3] < b[3] || x[0] < 0 || x[1] < 0 ||
        x[2] > S || x[3] > S)
      problem(c, P_CONTEXT,
              "%s: refs/context_box row %lld = [%g, %g, %g, %g] does not hold its target [%g, %g, "
              "%g, %g] or leaves the %d x %d image",
              file, (long long)r, x[0], x[1], x[2], x[3], b[0], b[1], b[2], b[3], S, S);
  }
  free(rctx);
  // sentences, captions, questions
  int32_t *sref = read_all(f, "sents/ref", GW_H5_I32, &sc->sents, &cols);
  if (sc->sents < 0) sc->sents = 0;
  for (int64_t k = 0; sref && k < sc->sents; k++)
    if (sref[k] < 0 || sref[k] >= sc->refs)
      problem(c, P_INDEX, "%s: sents/ref row %lld = %d, outside [0, %lld)", file, (long long)k,
              sref[k], (long long)sc->refs);
  check_tokens(c, file, f, "sents", sc->sents, vocab_size);
  int32_t *cimg = read_all(f, "captions/image", GW_H5_I32, &sc->captions, &cols);
  if (sc->captions < 0) sc->captions = 0;
  for (int64_t k = 0; cimg && k < sc->captions; k++)
    if (cimg[k] < 0 || cimg[k] >= sc->images)
      problem(c, P_INDEX, "%s: captions/image row %lld = %d, outside [0, %lld)", file, (long long)k,
              cimg[k], (long long)sc->images);
  check_tokens(c, file, f, "captions", sc->captions, vocab_size);
  int32_t *qimg = read_all(f, "questions/image", GW_H5_I32, &sc->questions, &cols);
  int32_t *qans = read_all(f, "questions/answers", GW_H5_I32, &n, &cols);
  if (sc->questions < 0) sc->questions = 0;
  for (int64_t k = 0; qimg && k < sc->questions; k++) {
    if (qimg[k] < 0 || qimg[k] >= sc->images)
      problem(c, P_INDEX, "%s: questions/image row %lld = %d, outside [0, %lld)", file,
              (long long)k, qimg[k], (long long)sc->images);
    for (int h = 0; qans && h < 10 && n_answers > 0; h++)
      if (qans[10 * k + h] < -1 || qans[10 * k + h] >= n_answers) {
        problem(c, P_ANSWER,
                "%s: questions/answers row %lld holds answer id %d, outside answers.txt (%d)", file,
                (long long)k, qans[10 * k + h], n_answers);
        break;
      }
  }
  check_tokens(c, file, f, "questions", sc->questions, vocab_size);
  // VQA v2 answer types (optional): 0 yes/no, 1 number, 2 other, -1 unknown
  int32_t *qtype = read_all(f, "questions/answer_type", GW_H5_I32, &n, &cols);
  if (qtype && n != sc->questions)
    problem(c, P_INDEX, "%s: questions/answer_type has %lld rows, expected %lld", file,
            (long long)n, (long long)sc->questions);
  for (int64_t k = 0; qtype && k < n && k < sc->questions; k++)
    if (qtype[k] < -1 || qtype[k] > 2)
      problem(c, P_TYPE,
              "%s: questions/answer_type row %lld = %d, not 0 (yes/no), 1 (number), 2 (other) or "
              "-1 (unknown)",
              file, (long long)k, qtype[k]);
  free(qtype);
  // converted sets: every object's box maps back inside its source image (datasets/image_io.h)
  int64_t n_lb, n_size, c_size;
  float *lb = read_all(f, "source/letterbox", GW_H5_F32, &n_lb, &cols);
  int32_t *ssize = lb ? read_all(f, "source/size", GW_H5_I32, &n_size, &c_size) : NULL;
  if (lb && (!ssize || n_lb != sc->images || n_size != sc->images || cols != 4 || c_size != 2)) {
    problem(c, P_SOURCE, "%s: source/letterbox and source/size need one row per image (%lld)",
            file, (long long)sc->images);
  } else if (lb) {
    for (int64_t i = 0; i < sc->images; i++)
      if (!(lb[4 * i] > 0) || !(lb[4 * i + 1] > 0) || ssize[2 * i] < 1 || ssize[2 * i + 1] < 1)
        problem(c, P_SOURCE, "%s: source row %lld: scale (%g, %g), size %d x %d", file,
                (long long)i, lb[4 * i], lb[4 * i + 1], ssize[2 * i], ssize[2 * i + 1]);
    for (int64_t j = 0; oimg && obox && j < sc->objects; j++) {
      int32_t i = oimg[j];
      if (i < 0 || i >= sc->images) continue;
      const float *b = obox + 4 * j, *m = lb + 4 * i;
      double x1 = (b[0] - m[2]) / m[0], y1 = (b[1] - m[3]) / m[1], x2 = (b[2] - m[2]) / m[0],
             y2 = (b[3] - m[3]) / m[1];
      if (x1 < -0.5 || y1 < -0.5 || x2 > ssize[2 * i] + 0.5 || y2 > ssize[2 * i + 1] + 0.5)
        problem(c, P_SOURCE,
                "%s: objects/box row %lld maps back to [%.1f, %.1f, %.1f, %.1f], outside its %d x "
                "%d source image",
                file, (long long)j, x1, y1, x2, y2, ssize[2 * i], ssize[2 * i + 1]);
    }
  }
  free(lb);
  free(ssize);
  // counts against meta.json
  if (meta_counts) {
    const char *keys[6] = {"images", "objects", "refs", "sentences", "captions", "questions"};
    int64_t have[6] = {sc->images, sc->objects, sc->refs, sc->sents, sc->captions, sc->questions};
    for (int k = 0; k < 6; k++) {
      int64_t want;
      if (gw_json_int(json_object_get(meta_counts, keys[k]), &want) && want != have[k])
        problem(c, P_COUNT, "%s: %lld %s, meta.json says %lld", file, (long long)have[k], keys[k],
                (long long)want);
    }
  }
  void *all[] = {oimg, obox, rimg, robj, rbox, rswap, sref, cimg, qimg, qans};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) free(all[k]);
  gw_h5_close(f);
  return S;
}

// Known expression counts of the RefCOCO family (shared/datasets.md §2.1).
static const struct {
  const char *dataset, *split_by;
  const char *splits[4];
  int64_t counts[4];
} KNOWN[] = {
    {"refcoco", "unc", {"train", "val", "testA", "testB"}, {120624, 10834, 5657, 5095}},
    {"refcoco+", "unc", {"train", "val", "testA", "testB"}, {120191, 10758, 5726, 4889}},
    {"refcocog", "umd", {"train", "val", "test", NULL}, {80512, 4896, 9602, 0}},
};

static void check_known(checker *c, const char *dataset, const char *split_by, char names[][64],
                        const split_counts *counts, int n_splits) {
  for (size_t k = 0; k < sizeof KNOWN / sizeof KNOWN[0]; k++) {
    if (strcmp(KNOWN[k].dataset, dataset)) continue;
    if (!split_by || strcmp(KNOWN[k].split_by, split_by)) {
      fprintf(c->out, "  %s split by %s: no known counts to compare (known: split_by %s)\n",
              dataset, split_by ? split_by : "?", KNOWN[k].split_by);
      return;
    }
    fprintf(c->out, "  %s (%s) expressions per split against the known counts (datasets.md 2.1):\n",
            dataset, split_by);
    for (int q = 0; q < 4 && KNOWN[k].splits[q]; q++) {
      int64_t have = -1;
      for (int s = 0; s < n_splits; s++)
        if (!strcmp(names[s], KNOWN[k].splits[q])) have = counts[s].sents;
      bool ok = have == KNOWN[k].counts[q];
      fprintf(c->out, "    %-6s %8lld  expected %8lld  %s\n", KNOWN[k].splits[q], (long long)have,
              (long long)KNOWN[k].counts[q], ok ? "ok" : "MISMATCH");
      if (!ok)
        problem(c, -1,
                "%s %s has %lld expressions, the released %s (%s) has %lld: an incomplete or "
                "different version of the data set",
                KNOWN[k].splits[q], dataset, (long long)have, dataset, split_by,
                (long long)KNOWN[k].counts[q]);
    }
    return;
  }
}

// Files to hash: every regular file below dir except png/ and temporaries, sorted.
static void list_files(const char *dir, const char *rel, char ***names, int *n) {
  char path[4200];
  gw_path_join(path, sizeof path, dir, rel[0] ? rel : ".");
  DIR *d = opendir(path);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char r[4200], full[4200];
    if (rel[0]) snprintf(r, sizeof r, "%s/%s", rel, e->d_name);
    else snprintf(r, sizeof r, "%s", e->d_name);
    gw_path_join(full, sizeof full, dir, r);
    size_t len = strlen(r);
    if (gw_is_dir(full)) {
      if (strcmp(r, "png") && strcmp(gw_path_base(r), "png")) list_files(dir, r, names, n);
    } else if (gw_is_file(full) && !(len > 4 && !strcmp(r + len - 4, ".tmp"))) {
      *names = realloc(*names, (size_t)(*n + 1) * sizeof **names);
      (*names)[(*n)++] = strdup(r);
    }
  }
  closedir(d);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int gw_check(const char *dir, FILE *out) {
  checker c = {.out = out, .dir = dir};
  char path[4200];
  if (!gw_is_dir(dir)) {
    gw_set_error("%s: no such directory", dir);
    return -1;
  }
  // the splits: <name>.h5 files, in the canonical order
  char names[64][64];
  int n_splits = 0;
  bool classification = false;
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len < 4 || strcmp(e->d_name + len - 3, ".h5") || len - 3 >= 64) continue;
    if (!strcmp(e->d_name, "images.h5")) {
      classification = true;
      continue;
    }
    if (n_splits < 64) snprintf(names[n_splits++], 64, "%.*s", (int)(len - 3), e->d_name);
  }
  if (d) closedir(d);
  for (int i = 0; i < n_splits; i++)
    for (int j = i + 1; j < n_splits; j++)
      if (gw_split_rank(names[j]) < gw_split_rank(names[i]) ||
          (gw_split_rank(names[j]) == gw_split_rank(names[i]) && strcmp(names[j], names[i]) < 0)) {
        char t[64];
        memcpy(t, names[i], 64);
        memcpy(names[i], names[j], 64);
        memcpy(names[j], t, 64);
      }
  gw_path_join(path, sizeof path, dir, "meta.json");
  bool has_meta = gw_is_file(path);
  json_t *meta = has_meta ? gw_json_load(path) : NULL;
  char meta_err[1024] = "";
  if (has_meta && !meta) snprintf(meta_err, sizeof meta_err, "%s", gw_last_error());
  if (!meta && !n_splits && !classification) {
    gw_set_error(
        "%s: no meta.json and no <split>.h5: not a data set directory (make one with gw data "
        "synth or gw data convert)",
        dir);
    return -1;
  }
  fprintf(out, "gw data check: %s\n", dir);
  if (!meta && has_meta) problem(&c, -1, "%s", meta_err);
  else if (!meta)
    problem(&c, -1, "meta.json is missing (an incomplete data set? it is written last)");
  const json_t *src = json_object_get(meta, "source");
  const char *dataset = gw_json_str(src, "dataset"), *split_by = gw_json_str(src, "split_by");
  int64_t meta_size = 0, meta_vocab = -1, meta_answers = -1;
  if (src) {
    fprintf(out, "  source: converted from %s (data set %s%s%s)\n", gw_json_str(src, "format"),
            dataset ? dataset : "?", split_by ? ", split_by " : "", split_by ? split_by : "");
    fprintf(out, "  source box convention: %s\n", gw_json_str(src, "box_convention"));
    gw_json_int(json_object_get(meta, "img_size"), &meta_size);
  } else if (meta) {
    int64_t v = 0, seed = 0;
    gw_json_int(json_object_get(meta, "sw_version"), &v);
    gw_json_int(json_object_get(meta, "seed"), &seed);
    fprintf(out, "  source: shapes-world generator (sw_version %lld, preset %s, seed %lld)\n",
            (long long)v, gw_json_str(meta, "preset") ? gw_json_str(meta, "preset") : "?",
            (long long)seed);
    gw_json_int(json_object_get(json_object_get(meta, "knobs"), "img_size"), &meta_size);
  }
  if (gw_json_str(meta, "box_format"))
    fprintf(out, "  box format: %s\n", gw_json_str(meta, "box_format"));
  gw_json_int(json_object_get(meta, "vocab_size"), &meta_vocab);
  gw_json_int(json_object_get(meta, "answers"), &meta_answers);
  // vocabulary and answers
  gw_vocab vocab;
  memset(&vocab, 0, sizeof vocab);
  gw_path_join(path, sizeof path, dir, "vocab.txt");
  if (gw_is_file(path)) {
    if (gw_vocab_load(&vocab, path) < 0) problem(&c, -1, "%s", gw_last_error());
  } else if (n_splits) {
    problem(&c, -1, "vocab.txt is missing");
  }
  int n_answers = 0;
  gw_path_join(path, sizeof path, dir, "answers.txt");
  FILE *af = fopen(path, "r");
  if (af) {
    char line[512];
    while (fgets(line, sizeof line, af)) n_answers++;
    fclose(af);
  }
  if (vocab.size) fprintf(out, "  vocabulary: %d tokens (vocab.txt)", vocab.size);
  else fprintf(out, "  vocabulary: none (no vocab.txt)");
  if (af) fprintf(out, "; answers: %d (answers.txt)", n_answers);
  fprintf(out, "\n");
  if (meta_vocab >= 0 && vocab.size && meta_vocab != vocab.size)
    problem(&c, -1, "vocab.txt has %d tokens, meta.json says %lld", vocab.size,
            (long long)meta_vocab);
  if (meta_answers >= 0 && af && meta_answers != n_answers)
    problem(&c, -1, "answers.txt has %d answers, meta.json says %lld", n_answers,
            (long long)meta_answers);
  // splits listed in meta.json must be there
  const char *mname;
  json_t *mv;
  json_object_foreach(json_object_get(meta, "splits"), mname, mv) {
    bool found = false;
    for (int s = 0; s < n_splits; s++) found |= !strcmp(names[s], mname);
    if (!found && !classification)
      problem(&c, -1, "meta.json lists the split %s, but %s.h5 is missing", mname, mname);
  }
  split_counts counts[64];
  box_stats obj_stats[64], ref_stats[64];
  double means[64][3];
  memset(obj_stats, 0, sizeof obj_stats);
  memset(ref_stats, 0, sizeof ref_stats);
  memset(means, 0, sizeof means);
  int S = (int)meta_size;
  for (int s = 0; s < n_splits; s++) {
    const json_t *mc =
        json_object_get(json_object_get(json_object_get(meta, "splits"), names[s]), "counts");
    int got = check_split(&c, names[s], vocab.size, af ? n_answers : 0, (int)meta_size, mc,
                          &counts[s], &obj_stats[s], &ref_stats[s], means[s]);
    if (got > 0) S = got;
  }
  if (n_splits) {
    fprintf(out, "  %-10s %7s %8s %6s %6s %8s %9s\n", "split", "images", "objects", "refs", "sents",
            "captions", "questions");
    for (int s = 0; s < n_splits; s++)
      fprintf(out, "  %-10s %7lld %8lld %6lld %6lld %8lld %9lld\n", names[s],
              (long long)counts[s].images, (long long)counts[s].objects, (long long)counts[s].refs,
              (long long)counts[s].sents, (long long)counts[s].captions,
              (long long)counts[s].questions);
    fprintf(
        out,
        "  boxes (x1,y1,x2,y2 pixel edges in the %d x %d images): count, w and h min / mean / max, "
        "outside the image\n",
        S, S);
    for (int s = 0; s < n_splits; s++) {
      print_box_line(&c, names[s], "objects", &obj_stats[s]);
      print_box_line(&c, names[s], "refs", &ref_stats[s]);
    }
    fprintf(out, "  images: mean pixel per channel (R, G, B)\n");
    for (int s = 0; s < n_splits; s++)
      fprintf(out, "    %-10s %6.1f %6.1f %6.1f\n", names[s], means[s][0], means[s][1],
              means[s][2]);
  }
  if (classification) {
    gw_path_join(path, sizeof path, dir, "images.h5");
    gw_h5 *f = gw_h5_open(path);
    int64_t rows = -1, lrows = -1, one;
    int ndim;
    int64_t shape[8];
    if (f && gw_h5_array_shape(f, "images", &ndim, shape) == 0) rows = shape[0];
    int32_t *labels = f ? read_all(f, "labels", GW_H5_I32, &lrows, &one) : NULL;
    int64_t neg = 0;
    for (int64_t k = 0; labels && k < lrows; k++) neg += labels[k] < 0;
    const json_t *classes = json_object_get(meta, "classes");
    fprintf(out, "  images.h5: %lld images, %lld labels", (long long)rows, (long long)lrows);
    if (json_is_array(classes)) fprintf(out, ", %zu classes", json_array_size(classes));
    fprintf(out, "\n");
    if (rows < 0 || lrows != rows)
      problem(&c, -1, "images.h5: %lld images but %lld labels", (long long)rows, (long long)lrows);
    if (neg) problem(&c, -1, "images.h5: %lld negative labels", (long long)neg);
    free(labels);
    if (f) gw_h5_close(f);
  }
  if (dataset) check_known(&c, dataset, split_by, names, counts, n_splits);
  // checksums
  char **files = NULL;
  int n_files = 0;
  list_files(dir, "", &files, &n_files);
  qsort(files, (size_t)n_files, sizeof *files, cmp_str);
  fprintf(out,
          "  checksums (SHA-256, hash and file as sha256sum prints them; png/ not included):\n");
  for (int k = 0; k < n_files; k++) {
    char hex[65];
    gw_path_join(path, sizeof path, dir, files[k]);
    if (gw_sha256_file(path, hex) == 0) fprintf(out, "    %s  %s\n", hex, files[k]);
    else problem(&c, -1, "%s", gw_last_error());
    free(files[k]);
  }
  free(files);
  if (c.problems) fprintf(out, "%d problem%s found\n", c.problems, c.problems == 1 ? "" : "s");
  else fprintf(out, "OK: no problems found\n");
  json_decref(meta);
  gw_vocab_free(&vocab);
  return c.problems;
}
