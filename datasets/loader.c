// The data loader: epochs in seeded order, augmentation, and a prefetch thread.
#include "datasets/loader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datasets/image_io.h"
#include "datasets/sw_generate.h"
#include "tensor/error.h"
#include "tensor/h5io.h"

// ---- reading a split ----

// Reads a whole int32 array of rows x cols (cols 0 for a 1-dim array); NULL on error.
static int32_t *read_ints(gw_h5 *f, const char *name, int64_t *rows, int64_t cols) {
  int nd;
  int64_t shape[GW_MAX_DIMS];
  if (gw_h5_array_shape(f, name, &nd, shape) < 0) return NULL;
  if (nd != (cols ? 2 : 1) || (cols && shape[1] != cols)) {
    gw_set_error("%s: '%s' has shape %s, expected (N%s)", gw_h5_path(f), name,
                 gw_shape_str_n(nd, shape), cols ? ", cols" : "");
    return NULL;
  }
  *rows = shape[0];
  int32_t *v = malloc((size_t)(shape[0] * (cols ? cols : 1) + 1) * sizeof *v);
  if (gw_h5_read_array(f, name, GW_H5_I32, nd, shape, v) < 0) {
    free(v);
    return NULL;
  }
  return v;
}

static float *read_floats(gw_h5 *f, const char *name, int64_t rows, int64_t cols) {
  float *v = malloc((size_t)(rows * cols + 1) * sizeof *v);
  if (gw_h5_read_array(f, name, GW_H5_F32, 2, (int64_t[]){rows, cols}, v) < 0) {
    free(v);
    return NULL;
  }
  return v;
}

// A per-sample (or per-ref) array must have one row per sample: else an error naming it.
static bool same_rows(gw_h5 *f, const char *name, int64_t rows, int64_t want) {
  if (rows == want) return true;
  gw_set_error("%s: '%s' has %lld rows, expected %lld", gw_h5_path(f), name, (long long)rows,
               (long long)want);
  return false;
}

static void find_flip_pairs(gw_dataset *d) {
  static const char *const pairs[][2] = {{"left", "right"}, {"leftmost", "rightmost"}};
  d->n_flip_pairs = 0;
  for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
    int a = gw_vocab_find(&d->vocab, pairs[k][0]), b = gw_vocab_find(&d->vocab, pairs[k][1]);
    if (a >= 0 && b >= 0) {
      d->flip_pairs[d->n_flip_pairs][0] = a;
      d->flip_pairs[d->n_flip_pairs][1] = b;
      d->n_flip_pairs++;
    }
  }
  d->corner_token = gw_vocab_find(&d->vocab, "corner");
}

// answers.txt: the VQA answer vocabulary, for the flip of "left" / "right" answers
static int read_answers(gw_dataset *d, const char *dir) {
  char path[1100], line[128];
  snprintf(path, sizeof path, "%s/answers.txt", dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    gw_set_error("%s: no answer vocabulary (needed for VQA)", path);
    return -1;
  }
  d->n_answers = 0;
  d->answer_flip[0] = d->answer_flip[1] = d->answer_vflip[0] = d->answer_vflip[1] = -1;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!strcmp(line, "left")) d->answer_flip[0] = d->n_answers;
    if (!strcmp(line, "right")) d->answer_flip[1] = d->n_answers;
    if (!strcmp(line, "top")) d->answer_vflip[0] = d->n_answers;
    if (!strcmp(line, "bottom")) d->answer_vflip[1] = d->n_answers;
    d->n_answers++;
  }
  fclose(f);
  return 0;
}

// Optional arrays: absent is not an error (older or other files), a wrong shape is.
static bool has_array(gw_h5 *f, const char *name) { return gw_h5_exists(f, name); }

// captions/true_start and true_images (shapes world's evaluation splits): the images each
// caption is true of, checked to be a well-formed CSR over the split's images.
static int read_caption_truth(gw_h5 *f, gw_dataset *d) {
  int64_t n_start = 0, n_true = 0;
  d->cap_true_start = read_ints(f, "captions/true_start", &n_start, 0);
  if (!d->cap_true_start || !same_rows(f, "captions/true_start", n_start, d->n_samples + 1)) return -1;
  d->cap_true_images = read_ints(f, "captions/true_images", &n_true, 0);
  if (!d->cap_true_images) return -1;
  const int32_t *start = d->cap_true_start;
  for (int64_t j = 0; j < d->n_samples; j++)
    if (start[0] != 0 || start[j + 1] < start[j] || start[j + 1] > n_true) {
      gw_set_error("%s: 'captions/true_start' is not a nondecreasing offset into the %lld rows "
                   "of 'captions/true_images' (caption %lld)", gw_h5_path(f), (long long)n_true,
                   (long long)j);
      return -1;
    }
  if (!same_rows(f, "captions/true_images", n_true, start[d->n_samples])) return -1;
  for (int64_t t = 0; t < n_true; t++)
    if (d->cap_true_images[t] < 0 || d->cap_true_images[t] >= d->n_images) {
      gw_set_error("%s: 'captions/true_images' row %lld names image %d, outside [0, %lld)",
                   gw_h5_path(f), (long long)t, d->cap_true_images[t], (long long)d->n_images);
      return -1;
    }
  return 0;
}

// Per image: the box around all of its objects (objects/image, objects/box), or the whole image
// when it has none listed. NULL on error.
static float *image_context(gw_h5 *f, const gw_dataset *d) {
  float *ctx = malloc((size_t)(d->n_images * 4 + 1) * sizeof *ctx);
  bool *seen = calloc((size_t)d->n_images + 1, sizeof *seen);
  GW_CHECK(ctx && seen, "data: out of memory");
  int64_t n_obj = 0;
  int32_t *obj_image = NULL;
  float *obj_box = NULL;
  bool ok = true;
  if (has_array(f, "objects/image") && has_array(f, "objects/box")) {
    obj_image = read_ints(f, "objects/image", &n_obj, 0);
    obj_box = obj_image ? read_floats(f, "objects/box", n_obj, 4) : NULL;
    ok = obj_image && obj_box;
  }
  for (int64_t j = 0; ok && j < n_obj; j++) {
    int32_t im = obj_image[j];
    if (im < 0 || im >= d->n_images) {
      gw_set_error("%s: 'objects/image' row %lld points at image %d, outside [0, %lld)", d->path,
                   (long long)j, im, (long long)d->n_images);
      ok = false;
      break;
    }
    const float *b = obj_box + 4 * j;
    float *c = ctx + 4 * im;
    if (!seen[im]) {
      memcpy(c, b, 4 * sizeof *c);
      seen[im] = true;
    } else {
      c[0] = fminf(c[0], b[0]), c[1] = fminf(c[1], b[1]);
      c[2] = fmaxf(c[2], b[2]), c[3] = fmaxf(c[3], b[3]);
    }
  }
  for (int64_t i = 0; ok && i < d->n_images; i++)
    if (!seen[i]) {  // nothing known about what the image shows: all of it stays
      float *c = ctx + 4 * i;
      c[0] = c[1] = 0.0f;
      c[2] = c[3] = (float)d->size;
    }
  free(obj_image);
  free(obj_box);
  free(seen);
  if (!ok) {
    free(ctx);
    return NULL;
  }
  return ctx;
}

// The source images of a converted data set (source/size and source/letterbox), if present.
static int read_source(gw_h5 *f, gw_dataset *d) {
  if (!has_array(f, "source/letterbox") || !has_array(f, "source/size")) return 0;
  d->source_lb = read_floats(f, "source/letterbox", d->n_images, 4);
  int64_t rows = 0;
  int32_t *size = read_ints(f, "source/size", &rows, 2);
  if (!d->source_lb || !size) {
    free(size);
    return -1;
  }
  d->source_size = size;
  if (!same_rows(f, "source/size", rows, d->n_images)) return -1;
  if (has_array(f, "source/image_id")) {
    d->source_id = malloc((size_t)(d->n_images + 1) * sizeof *d->source_id);
    GW_CHECK(d->source_id, "data: out of memory");
    if (gw_h5_read_array(f, "source/image_id", GW_H5_I64, 1, &d->n_images, d->source_id) < 0)
      return -1;
  }
  return 0;
}

void gw_dataset_box_to_source(const gw_dataset *d, int64_t image, const float in[4], bool clip,
                              float out[4]) {
  double w = d->size, h = d->size;
  if (d->source_lb) {
    const float *lb = d->source_lb + 4 * image;
    double sx = lb[0], sy = lb[1], dx = lb[2], dy = lb[3];
    // the stored scales are float32: when they are gw data convert's letterbox of the source
    // size, take its exact double values instead
    int sw = d->source_size[2 * image], sh = d->source_size[2 * image + 1];
    gw_letterbox exact = gw_letterbox_of(sw > 0 ? sw : 1, sh > 0 ? sh : 1, d->size);
    if (sw > 0 && sh > 0 && (float)exact.scale_x == lb[0] && (float)exact.scale_y == lb[1] &&
        exact.dx == dx && exact.dy == dy)
      sx = exact.scale_x, sy = exact.scale_y;
    out[0] = (float)(((double)in[0] - dx) / sx);
    out[1] = (float)(((double)in[1] - dy) / sy);
    out[2] = (float)(((double)in[2] - dx) / sx);
    out[3] = (float)(((double)in[3] - dy) / sy);
    w = d->source_size[2 * image];
    h = d->source_size[2 * image + 1];
  } else {
    memcpy(out, in, 4 * sizeof *out);
  }
  if (clip) {
    out[0] = (float)fmin(fmax(out[0], 0.0), w);
    out[2] = (float)fmin(fmax(out[2], 0.0), w);
    out[1] = (float)fmin(fmax(out[1], 0.0), h);
    out[3] = (float)fmin(fmax(out[3], 0.0), h);
  }
}

int gw_dataset_open(gw_dataset *d, const char *dir, const char *split, gw_data_task task) {
  memset(d, 0, sizeof *d);
  d->task = task;
  char path[1100];
  if (task == GW_TASK_CLASSIFY)
    snprintf(path, sizeof path, "%s/images.h5", dir);
  else
    snprintf(path, sizeof path, "%s/%s.h5", dir, split);
  snprintf(d->path, sizeof d->path, "%s", path);
  gw_h5 *f = gw_h5_open(path);
  if (!f) return -1;
  int nd;
  int64_t shape[GW_MAX_DIMS];
  int rc = -1;
  if (gw_h5_array_shape(f, "images", &nd, shape) < 0) goto done;
  if (nd != 4 || shape[1] != shape[2] || shape[3] != 3) {
    gw_set_error("%s: 'images' has shape %s, expected (N, S, S, 3)", path, gw_shape_str_n(nd, shape));
    goto done;
  }
  d->n_images = shape[0];
  d->size = (int)shape[1];
  d->images = malloc((size_t)(shape[0] * shape[1] * shape[2] * 3 + 1));
  if (gw_h5_read_array(f, "images", GW_H5_U8, 4, shape, d->images) < 0) goto done;
  if (task == GW_TASK_CLASSIFY) {
    // the images of one part (train, val or test) of the few-shot set
    static const char *const parts[3] = {"train", "val", "test"};
    int part = -1;
    for (int k = 0; k < 3; k++)
      if (!strcmp(split, parts[k])) part = k;
    if (part < 0) {
      gw_set_error("%s: a few-shot set has the parts train, val and test, not '%s'", path, split);
      goto done;
    }
    int64_t n_all, n_split;
    int32_t *labels = read_ints(f, "labels", &n_all, 0), *which = read_ints(f, "split", &n_split, 0);
    if (labels && which && same_rows(f, "split", n_split, n_all)) {
      d->labels = malloc((size_t)(n_all + 1) * sizeof *d->labels);
      d->image_of = malloc((size_t)(n_all + 1) * sizeof *d->image_of);
      for (int64_t i = 0; i < n_all; i++) {
        if (labels[i] + 1 > d->n_classes) d->n_classes = labels[i] + 1;
        if (which[i] != part) continue;
        d->labels[d->n_samples] = labels[i];
        d->image_of[d->n_samples++] = (int32_t)i;
      }
      rc = read_source(f, d);
      // a class can rest on any pixel (a count, an object near the edge): nothing may be cut off
      d->keep = malloc((size_t)(d->n_samples * 4 + 1) * sizeof *d->keep);
      GW_CHECK(d->keep, "data: out of memory");
      for (int64_t k = 0; k < d->n_samples; k++) {
        float *c = d->keep + 4 * k;
        c[0] = c[1] = 0.0f;
        c[2] = c[3] = (float)d->size;
      }
    }
    free(labels);
    free(which);
    goto done;
  }
  snprintf(path, sizeof path, "%s/vocab.txt", dir);
  if (gw_vocab_load(&d->vocab, path) < 0) goto done;
  find_flip_pairs(d);
  const char *group = task == GW_TASK_REC ? "sents" : task == GW_TASK_VQA ? "questions" : "captions";
  char name[64];
  snprintf(name, sizeof name, "%s/tokens", group);
  if (gw_h5_array_shape(f, name, &nd, shape) < 0) goto done;
  if (nd != 2) {
    gw_set_error("%s: '%s' has shape %s, expected (N, max_len)", d->path, name,
                 gw_shape_str_n(nd, shape));
    goto done;
  }
  d->max_len = (int)shape[1];
  d->tokens = read_ints(f, name, &d->n_samples, d->max_len);
  snprintf(name, sizeof name, "%s/length", group);
  int64_t n_len;
  d->lengths = read_ints(f, name, &n_len, 0);
  if (!d->tokens || !d->lengths || !same_rows(f, name, n_len, d->n_samples)) goto done;
  if (task == GW_TASK_REC) {
    int64_t n_refs = 0, n_sent = 0, n_levels = 0;
    int32_t *sent_ref = read_ints(f, "sents/ref", &n_sent, 0);
    int32_t *ref_image = read_ints(f, "refs/image", &n_refs, 0);
    int32_t *ref_level = read_ints(f, "refs/level", &n_levels, 0);
    float *ref_box = ref_image ? read_floats(f, "refs/box", n_refs, 4) : NULL;
    // what the words name: refs/context_box, or (files without it) every object of the image
    float *ref_ctx = NULL, *img_ctx = NULL;
    bool ctx_ok = true;
    if (ref_box && has_array(f, "refs/context_box"))
      ctx_ok = (ref_ctx = read_floats(f, "refs/context_box", n_refs, 4)) != NULL;
    else if (ref_box)
      ctx_ok = (img_ctx = image_context(f, d)) != NULL;
    if (sent_ref && ref_image && ref_level && ref_box && ctx_ok &&
        same_rows(f, "sents/ref", n_sent, d->n_samples) && same_rows(f, "refs/level", n_levels, n_refs)) {
      d->image_of = malloc((size_t)(d->n_samples + 1) * sizeof *d->image_of);
      d->levels = malloc((size_t)(d->n_samples + 1) * sizeof *d->levels);
      d->boxes = malloc((size_t)(d->n_samples * 4 + 1) * sizeof *d->boxes);
      d->keep = malloc((size_t)(d->n_samples * 4 + 1) * sizeof *d->keep);
      rc = 0;
      for (int64_t s = 0; s < d->n_samples && rc == 0; s++) {
        int32_t ref = sent_ref[s];
        if (ref < 0 || ref >= n_refs) {
          gw_set_error("%s: 'sents/ref' row %lld points at ref %d, outside [0, %lld)", d->path,
                       (long long)s, ref, (long long)n_refs);
          rc = -1;
          break;
        }
        d->image_of[s] = ref_image[ref];
        d->levels[s] = ref_level[ref];
        memcpy(d->boxes + 4 * s, ref_box + 4 * ref, 4 * sizeof(float));
        float *k = d->keep + 4 * s;
        const float *b = d->boxes + 4 * s;
        if (ref_ctx) {
          memcpy(k, ref_ctx + 4 * ref, 4 * sizeof(float));
        } else if (ref_image[ref] >= 0 && ref_image[ref] < d->n_images) {
          memcpy(k, img_ctx + 4 * ref_image[ref], 4 * sizeof(float));
        } else {
          memcpy(k, b, 4 * sizeof(float));  // its image is out of range: an error just below
        }
        // the target itself always stays whole
        k[0] = fminf(k[0], b[0]), k[1] = fminf(k[1], b[1]);
        k[2] = fmaxf(k[2], b[2]), k[3] = fmaxf(k[3], b[3]);
      }
    }
    free(ref_ctx);
    free(img_ctx);
    free(sent_ref);
    free(ref_image);
    free(ref_level);
    free(ref_box);
  } else if (task == GW_TASK_VQA) {
    int64_t nq[3] = {0};
    d->image_of = read_ints(f, "questions/image", &nq[0], 0);
    d->family = read_ints(f, "questions/family", &nq[1], 0);
    d->answers10 = read_ints(f, "questions/answers", &nq[2], 10);
    if (d->image_of && d->family && d->answers10 &&
        same_rows(f, "questions/image", nq[0], d->n_samples) &&
        same_rows(f, "questions/family", nq[1], d->n_samples) &&
        same_rows(f, "questions/answers", nq[2], d->n_samples) && read_answers(d, dir) == 0)
      rc = 0;
    if (rc == 0 && has_array(f, "questions/answer_type")) {  // older files: unknown
      int64_t nt = 0;
      d->answer_type = read_ints(f, "questions/answer_type", &nt, 0);
      if (!d->answer_type || !same_rows(f, "questions/answer_type", nt, d->n_samples)) rc = -1;
    } else if (rc == 0) {
      d->answer_type = malloc((size_t)(d->n_samples + 1) * sizeof *d->answer_type);
      GW_CHECK(d->answer_type, "data: out of memory");
      for (int64_t k = 0; k < d->n_samples; k++) d->answer_type[k] = -1;
    }
  } else {
    int64_t nc[2] = {0};
    d->image_of = read_ints(f, "captions/image", &nc[0], 0);
    d->family = read_ints(f, "captions/family", &nc[1], 0);
    if (d->image_of && d->family && same_rows(f, "captions/image", nc[0], d->n_samples) &&
        same_rows(f, "captions/family", nc[1], d->n_samples))
      rc = 0;
    if (rc == 0 && has_array(f, "captions/true_start")) rc = read_caption_truth(f, d);
  }
  for (int64_t s = 0; rc == 0 && s < d->n_samples; s++)
    if (d->image_of[s] < 0 || d->image_of[s] >= d->n_images) {
      gw_set_error("%s: sample %lld points at image %d, outside [0, %lld)", d->path, (long long)s,
                   d->image_of[s], (long long)d->n_images);
      rc = -1;
    }
  if (rc == 0 && (task == GW_TASK_VQA || task == GW_TASK_CAPTION)) {
    // a count or an inventory rests on every object of the image
    float *img_ctx = image_context(f, d);
    d->keep = img_ctx ? malloc((size_t)(d->n_samples * 4 + 1) * sizeof *d->keep) : NULL;
    if (!img_ctx) rc = -1;
    for (int64_t s = 0; rc == 0 && s < d->n_samples; s++)
      memcpy(d->keep + 4 * s, img_ctx + 4 * d->image_of[s], 4 * sizeof(float));
    free(img_ctx);
  }
  if (rc == 0 && task != GW_TASK_CLASSIFY) rc = read_source(f, d);
done:
  gw_h5_close(f);
  if (rc < 0) {
    char keep[2048];
    snprintf(keep, sizeof keep, "%s", gw_last_error());
    gw_dataset_close(d);
    gw_set_error("%s", keep);
  }
  return rc;
}

int gw_dataset_fewshot(gw_dataset *d, int shots, uint64_t seed) {
  if (d->task != GW_TASK_CLASSIFY || shots <= 0) return 0;
  // (d->keep needs no reordering: every row of a classification set is the whole image)
  // CoOp's protocol: a seeded random choice of `shots` images of each class
  gw_rng r = gw_rng_stream(seed, "few-shot");
  int32_t *perm = malloc((size_t)d->n_samples * sizeof *perm);
  gw_rng_permutation(&r, perm, d->n_samples);
  int *taken = calloc((size_t)d->n_classes, sizeof *taken);
  int64_t n = 0;
  int32_t *labels = malloc((size_t)d->n_samples * sizeof *labels), *image_of = malloc((size_t)d->n_samples * sizeof *image_of);
  // keep the chosen samples in their original order
  bool *keep = calloc((size_t)d->n_samples, sizeof *keep);
  for (int64_t k = 0; k < d->n_samples; k++) {
    int64_t i = perm[k];
    if (taken[d->labels[i]] < shots) {
      taken[d->labels[i]]++;
      keep[i] = true;
    }
  }
  for (int64_t i = 0; i < d->n_samples; i++)
    if (keep[i]) {
      labels[n] = d->labels[i];
      image_of[n++] = d->image_of[i];
    }
  int rc = 0;
  for (int c = 0; c < d->n_classes; c++)
    if (taken[c] < shots) {
      gw_set_error("%s: class %d has %d training images, fewer than %d shots", d->path, c, taken[c], shots);
      rc = -1;
      break;
    }
  free(d->labels);
  free(d->image_of);
  d->labels = labels;
  d->image_of = image_of;
  d->n_samples = n;
  free(perm);
  free(taken);
  free(keep);
  return rc;
}

void gw_dataset_close(gw_dataset *d) {
  free(d->images);
  free(d->image_of);
  free(d->tokens);
  free(d->lengths);
  free(d->boxes);
  free(d->levels);
  free(d->family);
  free(d->answers10);
  free(d->labels);
  free(d->answer_type);
  free(d->keep);
  free(d->source_id);
  free(d->source_size);
  free(d->source_lb);
  free(d->cap_true_start);
  free(d->cap_true_images);
  if (d->vocab.words) gw_vocab_free(&d->vocab);
  memset(d, 0, sizeof *d);
}

// ---- assembling one batch ----

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void batch_alloc(gw_batch *b, const gw_dataset *d, int n) {
  memset(b, 0, sizeof *b);
  size_t S = (size_t)d->size;
  b->images = malloc((size_t)n * 3 * S * S * sizeof(float));
  b->index = malloc((size_t)n * sizeof(int64_t));
  b->warp = malloc((size_t)n * 4 * sizeof(float));
  if (d->max_len) {
    b->tokens = malloc((size_t)n * d->max_len * sizeof(int32_t));
    b->lengths = malloc((size_t)n * sizeof(int32_t));
  }
  if (d->task == GW_TASK_REC) {
    b->boxes = malloc((size_t)n * 4 * sizeof(float));
    b->levels = malloc((size_t)n * sizeof(int32_t));
  }
  if (d->task == GW_TASK_VQA) b->answer_scores = malloc((size_t)n * d->n_answers * sizeof(float));
  if (d->task == GW_TASK_CLASSIFY) b->labels = malloc((size_t)n * sizeof(int32_t));
}

static void batch_free(gw_batch *b) {
  free(b->images);
  free(b->index);
  free(b->warp);
  free(b->tokens);
  free(b->lengths);
  free(b->boxes);
  free(b->levels);
  free(b->answer_scores);
  free(b->labels);
}

// The geometric part of augmentation: output pixel (x, y) samples the source at
// (x - cx) / s + cx - tx (nearest), i.e. scale s about the centre, then shift by tx, ty.
typedef struct warp {
  bool flip;
  float s, tx, ty;
} warp;

static void map_box(const warp *w, int S, const float *in, float *out) {
  float c = (float)S / 2.0f;
  float x1 = in[0], x2 = in[2];
  if (w->flip) {
    x1 = (float)S - in[2];
    x2 = (float)S - in[0];
  }
  out[0] = (x1 - c) * w->s + c + w->tx;
  out[2] = (x2 - c) * w->s + c + w->tx;
  out[1] = (in[1] - c) * w->s + c + w->ty;
  out[3] = (in[3] - c) * w->s + c + w->ty;
}

static void fill_image(const gw_dataset *d, int64_t image, const warp *w, float bright, float noise,
                       gw_rng *r, float *out) {
  int S = d->size;
  const uint8_t *src = d->images + (size_t)image * S * S * 3;
  float c = (float)S / 2.0f;
  bool identity = !w->flip && w->s == 1.0f && w->tx == 0.0f && w->ty == 0.0f;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) {
      int sx = x, sy = y;
      bool inside = true;
      if (!identity) {
        float fx = ((float)x + 0.5f - w->tx - c) / w->s + c, fy = ((float)y + 0.5f - w->ty - c) / w->s + c;
        sx = (int)floorf(fx);
        sy = (int)floorf(fy);
        if (w->flip) sx = S - 1 - sx;
        inside = sx >= 0 && sx < S && sy >= 0 && sy < S;
      }
      for (int ch = 0; ch < 3; ch++) {
        float v = inside ? (float)src[((size_t)sy * S + sx) * 3 + ch] / 255.0f : 0.5f;  // grey fill
        out[((size_t)ch * S + y) * S + x] = v * bright - 0.5f;
      }
    }
  if (noise > 0.0f) {
    size_t n = (size_t)3 * S * S;
    float eps[64];
    for (size_t i = 0; i < n; i += 64) {
      size_t m = n - i < 64 ? n - i : 64;
      gw_rng_normal(r, eps, (int64_t)m, 0.0f, noise);
      for (size_t k = 0; k < m; k++) out[i + k] += eps[k];
    }
  }
}

static bool has_token(const int32_t *tokens, int len, int32_t token) {
  for (int k = 0; k < len; k++)
    if (tokens[k] == token) return true;
  return false;
}

// Does any of the question's human answers name a side of the image?
static bool names_a_side(const gw_dataset *d, int64_t sample) {
  for (int h = 0; h < 10; h++) {
    int32_t a = d->answers10[sample * 10 + h];
    if (a >= 0 && (a == d->answer_flip[0] || a == d->answer_flip[1] || a == d->answer_vflip[0] ||
                   a == d->answer_vflip[1]))
      return true;
  }
  return false;
}

static void fill_sample(const gw_loader *l, int64_t sample, int slot, gw_batch *b) {
  const gw_dataset *d = l->d;
  int S = d->size;
  b->index[slot] = sample;
  // every random choice of a sample comes from its own stream: the same whatever the thread
  gw_rng r = gw_rng_stream(l->seed ^ (uint64_t)sample * 0x9E3779B97F4A7C15ull, "augment");
  r.counter = (uint64_t)b->epoch << 20;
  warp w = {.flip = false, .s = 1.0f};
  float bright = 1.0f;
  const gw_augment *a = &l->aug;
  const int32_t *tok = d->tokens ? d->tokens + sample * d->max_len : NULL;
  if (a->flip && gw_rng_float(&r) < 0.5f) w.flip = true;
  if (a->scale > 0.0f) w.s = 1.0f + a->scale * (2.0f * gw_rng_float(&r) - 1.0f);
  // a place named in absolute terms (a corner; a VQA answer "left" or "top") would move with a
  // shift: those are resized about the centre at most
  bool may_shift = !(tok && d->corner_token >= 0 && has_token(tok, d->max_len, d->corner_token)) &&
                   !(d->task == GW_TASK_VQA && names_a_side(d, sample));
  if (a->translate > 0.0f && may_shift) {
    w.tx = a->translate * (float)S * (2.0f * gw_rng_float(&r) - 1.0f);
    w.ty = a->translate * (float)S * (2.0f * gw_rng_float(&r) - 1.0f);
  }
  if (a->brightness > 0.0f) bright = 1.0f + a->brightness * (2.0f * gw_rng_float(&r) - 1.0f);
  if (w.s != 1.0f || w.tx != 0.0f || w.ty != 0.0f) {
    // keep the geometric change only if everything the text rests on stays whole in the image
    // (REC: the target, its anchors, the objects an ordinal counts; VQA and captions: every
    // object): a cut-off anchor or a vanished "leftmost" rival would make the words false
    // (a gw_dataset filled in by hand may have no keep boxes: then the target, or all the image)
    float whole[4] = {0.0f, 0.0f, (float)S, (float)S}, box[4];
    const float *keep = d->keep             ? d->keep + 4 * sample
                        : d->task == GW_TASK_REC ? d->boxes + 4 * sample
                                                 : whole;
    map_box(&w, S, keep, box);
    if (box[0] < 0 || box[1] < 0 || box[2] > (float)S || box[3] > (float)S) w.s = 1.0f, w.tx = w.ty = 0.0f;
  }
  float *wp = b->warp + 4 * slot;
  wp[0] = w.flip ? 1.0f : 0.0f, wp[1] = w.s, wp[2] = w.tx, wp[3] = w.ty;
  fill_image(d, d->image_of[sample], &w, bright, a->noise, &r, b->images + (size_t)slot * 3 * S * S);
  if (tok) {
    int32_t *out = b->tokens + (size_t)slot * d->max_len;
    memcpy(out, tok, (size_t)d->max_len * sizeof(int32_t));
    b->lengths[slot] = d->lengths[sample];
    if (w.flip)  // "left" <-> "right" in the text too
      for (int k = 0; k < d->max_len; k++)
        for (int p = 0; p < d->n_flip_pairs; p++) {
          if (out[k] == d->flip_pairs[p][0]) out[k] = d->flip_pairs[p][1];
          else if (out[k] == d->flip_pairs[p][1]) out[k] = d->flip_pairs[p][0];
        }
  }
  if (d->task == GW_TASK_REC) {
    map_box(&w, S, d->boxes + 4 * sample, b->boxes + 4 * slot);
    b->levels[slot] = d->levels[sample];
  }
  if (d->task == GW_TASK_VQA) {
    // VQA's soft score: an answer given by k of the 10 humans scores min(1, k / 3)
    float *sc = b->answer_scores + (size_t)slot * d->n_answers;
    memset(sc, 0, (size_t)d->n_answers * sizeof(float));
    for (int h = 0; h < 10; h++) {
      int32_t ans = d->answers10[sample * 10 + h];
      if (w.flip && ans == d->answer_flip[0]) ans = d->answer_flip[1];
      else if (w.flip && ans == d->answer_flip[1]) ans = d->answer_flip[0];
      if (ans >= 0 && ans < d->n_answers) sc[ans] += 1.0f / 3.0f;
    }
    for (int k = 0; k < d->n_answers; k++) sc[k] = sc[k] > 1.0f ? 1.0f : sc[k];
  }
  if (d->task == GW_TASK_CLASSIFY) b->labels[slot] = d->labels[sample];
}

// The order of an epoch: a permutation drawn from (seed, epoch), or the identity.
static void epoch_order(gw_loader *l, int64_t epoch) {
  if (l->perm_epoch == epoch) return;
  int64_t n = l->d->n_samples;
  if (l->shuffle) {
    gw_rng r = gw_rng_stream(l->seed, "data order");
    r.counter = (uint64_t)epoch << 32;
    gw_rng_permutation(&r, l->perm, n);
  } else {
    for (int64_t i = 0; i < n; i++) l->perm[i] = (int32_t)i;
  }
  l->perm_epoch = epoch;
}

static int64_t usable(const gw_loader *l) {
  int64_t n = l->d->n_samples;
  return l->drop_last ? n / l->batch_size * l->batch_size : n;
}

// Assembles the batch at state *st into b and advances *st.
static void make_batch(gw_loader *l, gw_loader_state *st, gw_batch *b) {
  if (st->position >= usable(l)) {
    st->epoch++;
    st->position = 0;
  }
  epoch_order(l, st->epoch);
  int64_t left = usable(l) - st->position;
  int n = (int)(left < l->batch_size ? left : l->batch_size);
  b->n = n;
  b->size = l->d->size;
  b->epoch = st->epoch;
  for (int k = 0; k < n; k++) fill_sample(l, l->perm[st->position + k], k, b);
  st->position += n;
}

// The worker fills slots ahead of the consumer. A slot counts as taken from the moment it is
// filled until the consumer's next call after it was handed out, so the batch the caller holds
// is never overwritten.
static void *worker_main(void *arg) {
  gw_loader *l = arg;
  pthread_mutex_lock(&l->mu);
  while (!l->stop) {
    if (l->count == l->n_slots) {
      pthread_cond_wait(&l->space, &l->mu);
      continue;
    }
    int slot = (l->head + l->count) % l->n_slots;
    gw_loader_state st = l->produce;
    pthread_mutex_unlock(&l->mu);
    double t0 = now();
    make_batch(l, &st, &l->slots[slot]);
    double dt = now() - t0;
    pthread_mutex_lock(&l->mu);
    l->slot_end[slot] = st;
    l->make_seconds += dt;
    l->produce = st;
    l->count++;
    pthread_cond_signal(&l->ready);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

int gw_loader_open(gw_loader *l, const gw_dataset *d, int batch_size, bool shuffle, bool drop_last,
                   uint64_t seed, gw_augment aug, gw_loader_state start, int prefetch) {
  memset(l, 0, sizeof *l);
  if (batch_size < 1 || d->n_samples < 1 || (drop_last && d->n_samples < batch_size)) {
    gw_set_error("%s: %lld samples cannot make batches of %d%s", d->path, (long long)d->n_samples,
                 batch_size, drop_last ? " (dropping the last partial batch)" : "");
    return -1;
  }
  l->d = d;
  l->batch_size = batch_size;
  l->shuffle = shuffle;
  l->drop_last = drop_last;
  l->seed = seed;
  l->aug = aug;
  l->state = start;
  l->produce = start;
  l->perm = malloc((size_t)d->n_samples * sizeof *l->perm);
  l->perm_epoch = -1;
  l->n_slots = prefetch > 0 ? prefetch + 1 : 1;  // + 1: the batch the caller holds
  l->slots = calloc((size_t)l->n_slots, sizeof *l->slots);
  l->slot_end = calloc((size_t)l->n_slots, sizeof *l->slot_end);
  for (int k = 0; k < l->n_slots; k++) batch_alloc(&l->slots[k], d, batch_size);
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->ready, NULL);
  pthread_cond_init(&l->space, NULL);
  if (prefetch > 0) {
    if (pthread_create(&l->worker, NULL, worker_main, l) != 0) {
      gw_set_error("loader: cannot start the prefetch thread");
      return -1;
    }
    l->has_worker = true;
  }
  return 0;
}

void gw_loader_close(gw_loader *l) {
  if (l->has_worker) {
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->space);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->worker, NULL);
  }
  for (int k = 0; k < l->n_slots; k++) batch_free(&l->slots[k]);
  free(l->slots);
  free(l->slot_end);
  free(l->perm);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->ready);
  pthread_cond_destroy(&l->space);
  memset(l, 0, sizeof *l);
}

const gw_batch *gw_loader_next(gw_loader *l) {
  double t0 = now();
  if (!l->has_worker) {
    make_batch(l, &l->state, &l->slots[0]);
    l->make_seconds += now() - t0;
    l->batches++;
    return &l->slots[0];
  }
  pthread_mutex_lock(&l->mu);
  if (l->holding) {  // the caller is done with the batch handed out last time
    l->head = (l->head + 1) % l->n_slots;
    l->count--;
    l->holding = false;
    pthread_cond_signal(&l->space);
  }
  while (l->count == 0) pthread_cond_wait(&l->ready, &l->mu);
  int slot = l->head;
  l->holding = true;
  l->state = l->slot_end[slot];
  pthread_mutex_unlock(&l->mu);
  l->wait_seconds += now() - t0;
  l->batches++;
  return &l->slots[slot];
}

int64_t gw_loader_batches_per_epoch(const gw_loader *l) {
  return (usable(l) + l->batch_size - 1) / l->batch_size;
}

double gw_loader_wait_per_batch(const gw_loader *l) {
  return l->batches ? l->wait_seconds / (double)l->batches : 0.0;
}

double gw_loader_make_per_batch(const gw_loader *l) {
  return l->batches ? l->make_seconds / (double)l->batches : 0.0;
}
