// The data loader (datasets/loader.h) on a small shapes-world set generated for this suite:
// sample counts per task, batches equal to the stored arrays, epochs that visit every sample
// once in a seeded order, exact resumption from a saved state (with and without the prefetch
// thread), the flip / shift / resize augmentations (which keep whole every object the text
// names), VQA soft scores and answer types, the time per batch it reports, and open errors that
// name the file and the array.
#define _GNU_SOURCE  // nftw
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/hooks.h>

#include "datasets/loader.h"
#include "datasets/sw_generate.h"
#include "datasets/sw_text.h"
#include "testutil.h"

TestSuite(loader, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

// ---- the data set, generated once per run of the suite ----
//
// Tests run in child processes of the Criterion runner: the first test generates the set into
// a directory named after the runner's pid (atomically, by renaming a finished temporary
// directory), the others reuse it, and a hook in the runner removes it at the end.

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}
static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void data_dir_of(int runner, char *buf, size_t len) {
  snprintf(buf, len, "/tmp/gw_loader_test_%d", runner);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
  (void)stats;
  char dir[128];
  data_dir_of((int)getpid(), dir, sizeof dir);
  rm_tree(dir);
}

static sw_gen_opts data_opts(const char *out_dir) {
  sw_gen_opts o = {0};
  o.out_dir = out_dir;
  o.preset = *sw_preset_find("tiny");
  const int64_t counts[SW_N_SPLITS] = {160, 24, 0, 0, 0, 0};
  memcpy(o.preset.images, counts, sizeof counts);
  o.preset.fewshot_pool[0] = 4, o.preset.fewshot_pool[1] = 2, o.preset.fewshot_pool[2] = 2;
  cr_assert_eq(sw_config_defaults(&o.cfg, "medium", o.preset.img_size), 0);
  o.cfg.seed = 3;
  o.cfg.answer_noise = 4;  // 6 of the 10 human answers agree: soft scores 1/3, 2/3 and 1 occur
  o.difficulty = "medium";
  o.quiet = true;
  return o;
}

static const char *data_dir(void) {
  static char dir[128];
  data_dir_of((int)getppid(), dir, sizeof dir);
  char meta[256];
  snprintf(meta, sizeof meta, "%s/meta.json", dir);
  if (access(meta, F_OK) == 0) return dir;
  char tmp[] = "/tmp/gw_loader_gen_XXXXXX";
  cr_assert(mkdtemp(tmp));
  sw_gen_opts o = data_opts(tmp);
  cr_assert_eq(sw_generate(&o), 0, "sw_generate: %s", gw_last_error());
  if (rename(tmp, dir) != 0) rm_tree(tmp);  // another process was first
  cr_assert(access(meta, F_OK) == 0, "%s: no data set", dir);
  return dir;
}

// ---- the stored arrays, read independently of the loader ----

static void *read_array(const char *dir, const char *file, const char *name, gw_h5_type type,
                        int *nd, int64_t *shape) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  gw_h5 *f = gw_h5_open(path);
  cr_assert(f, "%s", gw_last_error());
  cr_assert_eq(gw_h5_array_shape(f, name, nd, shape), 0, "%s", gw_last_error());
  int64_t n = 1;
  for (int d = 0; d < *nd; d++) n *= shape[d];
  void *v = malloc((size_t)n * (type == GW_H5_U8 ? 1 : 4) + 4);
  cr_assert_eq(gw_h5_read_array(f, name, type, *nd, shape, v), 0, "%s", gw_last_error());
  gw_h5_close(f);
  return v;
}

static int32_t *ints(const char *dir, const char *file, const char *name, int64_t *rows) {
  int nd;
  int64_t shape[GW_MAX_DIMS];
  int32_t *v = read_array(dir, file, name, GW_H5_I32, &nd, shape);
  *rows = shape[0];
  return v;
}

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  cr_assert(f, "%s: missing", path);
  int n = 0, ch;
  while ((ch = fgetc(f)) != EOF) n += ch == '\n';
  fclose(f);
  return n;
}

static const char *const TASK_NAMES[4] = {"REC", "VQA", "CAPTION", "CLASSIFY"};

static void open_task(gw_dataset *d, gw_data_task task, const char *split) {
  char dir[512];
  if (task == GW_TASK_CLASSIFY)
    snprintf(dir, sizeof dir, "%s/fewshot/sw-shape", data_dir());
  else
    snprintf(dir, sizeof dir, "%s", data_dir());
  cr_assert_eq(gw_dataset_open(d, dir, split, task), 0, "%s %s: %s", TASK_NAMES[task], split,
               gw_last_error());
}

// Each task opens with the sample count of its arrays: REC one per sentence, VQA one per
// question, captions one per caption, CLASSIFY the images of a part; and the vocabulary and
// answer list of the files.
Test(loader, tasks_open_with_the_stored_counts) {
  const char *dir = data_dir();
  char path[512];
  snprintf(path, sizeof path, "%s/vocab.txt", dir);
  int vocab_lines = count_lines(path);
  snprintf(path, sizeof path, "%s/answers.txt", dir);
  int answer_lines = count_lines(path);
  static const char *const count_of[3] = {"sents/ref", "questions/image", "captions/image"};
  static const char *const splits[2] = {"train", "val"};
  for (int s = 0; s < 2; s++) {
    char file[64];
    snprintf(file, sizeof file, "%s.h5", splits[s]);
    int nd;
    int64_t shape[GW_MAX_DIMS];
    free(read_array(dir, file, "images", GW_H5_U8, &nd, shape));
    for (int task = 0; task < 3; task++) {
      gw_dataset d;
      open_task(&d, task, splits[s]);
      int64_t rows;
      free(ints(dir, file, count_of[task], &rows));
      cr_assert_eq(d.n_samples, rows, "%s %s: %lld samples, %lld rows", TASK_NAMES[task], splits[s],
                   (long long)d.n_samples, (long long)rows);
      cr_assert(rows > 50, "%s %s: only %lld samples", TASK_NAMES[task], splits[s],
                (long long)rows);
      cr_assert_eq(d.n_images, shape[0]);
      cr_assert_eq(d.size, shape[1]);
      cr_assert_eq(d.vocab.size, vocab_lines);
      cr_assert_eq(d.max_len, task == GW_TASK_REC   ? 24
                              : task == GW_TASK_VQA ? SW_QUESTION_LEN
                                                    : SW_CAPTION_LEN);
      if (task == GW_TASK_VQA) cr_assert_eq(d.n_answers, answer_lines);
      gw_dataset_close(&d);
    }
  }
  // few-shot parts: the pools of every class
  static const char *const parts[3] = {"train", "val", "test"};
  sw_gen_opts o = data_opts(dir);
  int classes = sw_fewshot_n_classes(&o.cfg, SW_FS_SHAPE);
  for (int p = 0; p < 3; p++) {
    gw_dataset d;
    open_task(&d, GW_TASK_CLASSIFY, parts[p]);
    cr_assert_eq(d.n_samples, (int64_t)classes * o.preset.fewshot_pool[p]);
    cr_assert_eq(d.n_classes, classes);
    cr_assert_eq(d.max_len, 0);
    gw_dataset_close(&d);
  }
}

// ---- batches against the stored data ----

static float pixel(const uint8_t *img, int S, int ch, int y, int x) {
  return (float)img[((size_t)y * S + x) * 3 + ch] / 255.0f - 0.5f;
}

// The expected soft scores of a question from its 10 stored answers: min(1, k / 3).
static void expected_scores(const int32_t *answers10, int n_answers, float *out) {
  for (int a = 0; a < n_answers; a++) {
    int k = 0;
    for (int h = 0; h < 10; h++) k += answers10[h] == a;
    out[a] = k >= 3 ? 1.0f : (float)k / 3.0f;
  }
}

// Without augmentation and shuffling, the batches of one epoch are the stored arrays exactly:
// images (pixels / 255 - 0.5, CHW), tokens, lengths, REC boxes and levels (from the sentence's
// ref), VQA soft scores min(1, k/3) of the 10 answers, labels; the last batch is the remainder.
Test(loader, plain_batches_equal_the_stored_data) {
  const char *dir = data_dir();
  int nd;
  int64_t shape[GW_MAX_DIMS], rows;
  uint8_t *images = read_array(dir, "val.h5", "images", GW_H5_U8, &nd, shape);
  int S = (int)shape[1];
  int32_t *sent_ref = ints(dir, "val.h5", "sents/ref", &rows);
  int32_t *ref_image = ints(dir, "val.h5", "refs/image", &rows);
  int32_t *ref_level = ints(dir, "val.h5", "refs/level", &rows);
  float *ref_box = read_array(dir, "val.h5", "refs/box", GW_H5_F32, &nd, shape);
  int32_t *q_image = ints(dir, "val.h5", "questions/image", &rows);
  int32_t *q_answers = ints(dir, "val.h5", "questions/answers", &rows);
  int32_t *c_image = ints(dir, "val.h5", "captions/image", &rows);
  int partial_scores = 0;
  static const char *const tok_name[3] = {"sents/tokens", "questions/tokens", "captions/tokens"};
  static const char *const len_name[3] = {"sents/length", "questions/length", "captions/length"};
  for (int task = 0; task < 4; task++) {
    gw_dataset d;
    open_task(&d, task, task == GW_TASK_CLASSIFY ? "test" : "val");
    int32_t *tokens = NULL, *lengths = NULL, *labels = NULL, *part = NULL;
    uint8_t *fs_images = NULL;
    int64_t n_tok_rows = 0;
    if (task != GW_TASK_CLASSIFY) {
      tokens = read_array(dir, "val.h5", tok_name[task], GW_H5_I32, &nd, shape);
      n_tok_rows = shape[0];
      cr_assert_eq(shape[1], d.max_len);
      lengths = ints(dir, "val.h5", len_name[task], &rows);
    } else {
      labels = ints(dir, "fewshot/sw-shape/images.h5", "labels", &rows);
      part = ints(dir, "fewshot/sw-shape/images.h5", "split", &rows);
      fs_images = read_array(dir, "fewshot/sw-shape/images.h5", "images", GW_H5_U8, &nd, shape);
    }
    gw_loader l;
    const int bs = 7;
    cr_assert_eq(
        gw_loader_open(&l, &d, bs, false, false, 1, (gw_augment){0}, (gw_loader_state){0}, 0), 0);
    int64_t bpe = gw_loader_batches_per_epoch(&l), seen = 0;
    cr_assert_eq(bpe, (d.n_samples + bs - 1) / bs);
    int64_t fs_row = 0;  // the few-shot rows of the part, in order
    for (int64_t b = 0; b < bpe; b++) {
      const gw_batch *batch = gw_loader_next(&l);
      cr_assert_eq(batch->n, b < bpe - 1 ? bs : d.n_samples - bs * (bpe - 1));
      cr_assert_eq(batch->epoch, 0);
      cr_assert_eq(batch->size, S);
      for (int k = 0; k < batch->n; k++, seen++) {
        int64_t s = seen;
        cr_assert_eq(batch->index[k], s);
        const uint8_t *img;
        if (task == GW_TASK_CLASSIFY) {
          while (part[fs_row] != 2) fs_row++;
          img = fs_images + (size_t)fs_row * S * S * 3;
          cr_assert_eq(batch->labels[k], labels[fs_row], "sample %lld: label", (long long)s);
          fs_row++;
        } else {
          int64_t image = task == GW_TASK_REC   ? ref_image[sent_ref[s]]
                          : task == GW_TASK_VQA ? q_image[s]
                                                : c_image[s];
          img = images + (size_t)image * S * S * 3;
          cr_assert(s < n_tok_rows);
          cr_assert(!memcmp(batch->tokens + (size_t)k * d.max_len, tokens + s * d.max_len,
                            (size_t)d.max_len * 4),
                    "%s sample %lld: tokens differ", TASK_NAMES[task], (long long)s);
          cr_assert_eq(batch->lengths[k], lengths[s]);
        }
        const float *got = batch->images + (size_t)k * 3 * S * S;
        for (int ch = 0; ch < 3; ch++)
          for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
              cr_assert(got[((size_t)ch * S + y) * S + x] == pixel(img, S, ch, y, x),
                        "%s sample %lld: pixel (%d, %d, %d) is %g, stored %g", TASK_NAMES[task],
                        (long long)s, ch, y, x, got[((size_t)ch * S + y) * S + x],
                        pixel(img, S, ch, y, x));
        if (task == GW_TASK_REC) {
          cr_assert(!memcmp(batch->boxes + 4 * k, ref_box + 4 * sent_ref[s], 16),
                    "sample %lld: box", (long long)s);
          cr_assert_eq(batch->levels[k], ref_level[sent_ref[s]]);
        }
        if (task == GW_TASK_VQA) {
          float want[128];
          cr_assert(d.n_answers <= 128);
          expected_scores(q_answers + 10 * s, d.n_answers, want);
          const float *sc = batch->answer_scores + (size_t)k * d.n_answers;
          for (int a = 0; a < d.n_answers; a++) {
            cr_assert(fabsf(sc[a] - want[a]) < 1e-6f,
                      "question %lld answer %d: score %g, min(1, k/3) = %g", (long long)s, a, sc[a],
                      want[a]);
            partial_scores += want[a] > 0.0f && want[a] < 1.0f;
          }
        }
      }
    }
    cr_assert_eq(seen, d.n_samples);
    // the next batch starts epoch 1 at sample 0
    const gw_batch *next = gw_loader_next(&l);
    cr_assert(next->epoch == 1 && next->index[0] == 0);
    gw_loader_close(&l);
    gw_dataset_close(&d);
    free(tokens);
    free(lengths);
    free(labels);
    free(part);
    free(fs_images);
  }
  cr_assert(partial_scores > 20, "answer_noise gave only %d partial scores", partial_scores);
  free(images);
  free(sent_ref);
  free(ref_image);
  free(ref_level);
  free(ref_box);
  free(q_image);
  free(q_answers);
  free(c_image);
}

// ---- epochs and their order ----

// The sample indices of the next `n` batches, concatenated.
static int64_t take_indices(gw_loader *l, int n, int64_t *out, int64_t *epochs) {
  int64_t m = 0;
  for (int b = 0; b < n; b++) {
    const gw_batch *batch = gw_loader_next(l);
    for (int k = 0; k < batch->n; k++) {
      epochs[m] = batch->epoch;
      out[m++] = batch->index[k];
    }
  }
  return m;
}

// A shuffled epoch visits every sample exactly once (with drop_last, the full batches only,
// each sample at most once); epochs are numbered in the batches.
Test(loader, an_epoch_visits_every_sample_once) {
  gw_dataset d;
  open_task(&d, GW_TASK_REC, "train");
  int64_t n = d.n_samples, *idx = malloc((size_t)(3 * n + 64) * sizeof *idx),
          *ep = malloc((size_t)(3 * n + 64) * sizeof *ep);
  int *count = malloc((size_t)n * sizeof *count);
  for (int drop = 0; drop < 2; drop++) {
    const int bs = 33;
    gw_loader l;
    cr_assert_eq(
        gw_loader_open(&l, &d, bs, true, drop, 9, (gw_augment){0}, (gw_loader_state){0}, 2), 0);
    int64_t bpe = gw_loader_batches_per_epoch(&l);
    cr_assert_eq(bpe, drop ? n / bs : (n + bs - 1) / bs);
    for (int epoch = 0; epoch < 2; epoch++) {
      int64_t m = take_indices(&l, (int)bpe, idx, ep);
      cr_assert_eq(m, drop ? bpe * bs : n);
      memset(count, 0, (size_t)n * sizeof *count);
      for (int64_t k = 0; k < m; k++) {
        cr_assert(idx[k] >= 0 && idx[k] < n);
        cr_assert_eq(ep[k], epoch);
        count[idx[k]]++;
      }
      for (int64_t s = 0; s < n; s++)
        cr_assert(drop ? count[s] <= 1 : count[s] == 1, "epoch %d%s: sample %lld seen %d times",
                  epoch, drop ? " (drop_last)" : "", (long long)s, count[s]);
      cr_assert_eq(l.state.epoch, epoch);
      cr_assert_eq(l.state.position, m);
    }
    gw_loader_close(&l);
  }
  free(idx);
  free(ep);
  free(count);
  gw_dataset_close(&d);
}

// The order comes from the seed and the epoch alone: the same seed gives the same order, another
// seed another, and the next epoch another again.
Test(loader, the_seed_sets_the_order) {
  gw_dataset d;
  open_task(&d, GW_TASK_CAPTION, "train");
  int64_t n = d.n_samples, bs = 50;
  int bpe = (int)((n + bs - 1) / bs);
  int64_t *a = malloc((size_t)(2 * n) * 8), *b = malloc((size_t)(2 * n) * 8),
          *c = malloc((size_t)(2 * n) * 8);
  int64_t *ep = malloc((size_t)(2 * n) * 8);
  int64_t *runs[3] = {a, b, c};
  const uint64_t seeds[3] = {5, 5, 6};
  for (int r = 0; r < 3; r++) {
    gw_loader l;
    cr_assert_eq(gw_loader_open(&l, &d, (int)bs, true, false, seeds[r], (gw_augment){0},
                                (gw_loader_state){0}, r),
                 0);
    cr_assert_eq(take_indices(&l, 2 * bpe, runs[r], ep), 2 * n);
    gw_loader_close(&l);
  }
  cr_assert(!memcmp(a, b, (size_t)(2 * n) * 8), "the same seed gave another order");
  cr_assert(memcmp(a, c, (size_t)n * 8), "another seed gave the same order");
  cr_assert(memcmp(a, a + n, (size_t)n * 8), "epoch 1 repeats epoch 0's order");
  int64_t in_place = 0;
  for (int64_t k = 0; k < n; k++) in_place += a[k] == k;
  cr_assert(in_place < n / 10, "the shuffled order keeps %lld of %lld samples in place",
            (long long)in_place, (long long)n);
  free(a);
  free(b);
  free(c);
  free(ep);
  gw_dataset_close(&d);
}

// ---- resuming ----

// Every field of a batch, hashed (FNV-1a over the bytes).
typedef struct batch_sig {
  int n;
  int64_t epoch;
  uint64_t field[9];
} batch_sig;

// FNV-1a over 32-bit words (every field is a multiple of 4 bytes)
static uint64_t fnv(const void *p, size_t len) {
  const uint32_t *w = p;
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < len / 4; i++) h = (h ^ w[i]) * 0x100000001B3ull;
  return h;
}

static const char *const FIELD_NAMES[9] = {"images",        "tokens", "lengths", "boxes", "levels",
                                           "answer_scores", "labels", "index",   "size"};

static batch_sig signature(const gw_dataset *d, const gw_batch *b) {
  batch_sig s = {.n = b->n, .epoch = b->epoch};
  size_t n = (size_t)b->n, S = (size_t)b->size;
  s.field[0] = fnv(b->images, n * 3 * S * S * 4);
  if (b->tokens) s.field[1] = fnv(b->tokens, n * (size_t)d->max_len * 4);
  if (b->lengths) s.field[2] = fnv(b->lengths, n * 4);
  if (b->boxes) s.field[3] = fnv(b->boxes, n * 16);
  if (b->levels) s.field[4] = fnv(b->levels, n * 4);
  if (b->answer_scores) s.field[5] = fnv(b->answer_scores, n * (size_t)d->n_answers * 4);
  if (b->labels) s.field[6] = fnv(b->labels, n * 4);
  s.field[7] = fnv(b->index, n * 8);
  s.field[8] = (uint64_t)b->size;
  return s;
}

static void same_batch(const batch_sig *got, const batch_sig *want, const char *what, int batch) {
  cr_assert(got->n == want->n && got->epoch == want->epoch,
            "%s: batch %d has %d samples of epoch %lld, expected %d of epoch %lld", what, batch,
            got->n, (long long)got->epoch, want->n, (long long)want->epoch);
  for (int f = 0; f < 9; f++)
    cr_assert_eq(got->field[f], want->field[f], "%s: batch %d differs in %s", what, batch,
                 FIELD_NAMES[f]);
}

enum { N_BATCHES = 14 };

// Batches [from, N_BATCHES) of a loader started at `start`, as signatures; the state after
// each batch in states (if given).
static void run(const gw_dataset *d, int bs, bool drop, gw_augment aug, gw_loader_state start,
                int prefetch, int from, int to, batch_sig *out, gw_loader_state *states) {
  gw_loader l;
  cr_assert_eq(gw_loader_open(&l, d, bs, true, drop, 77, aug, start, prefetch), 0, "%s",
               gw_last_error());
  for (int b = from; b < to; b++) {
    out[b] = signature(d, gw_loader_next(&l));
    if (states) states[b] = l.state;
  }
  gw_loader_close(&l);
}

// A loader resumed from the state saved after k batches (mid-epoch, at an epoch boundary, in
// the next epoch) gives exactly the batches of the uninterrupted loader, every field bitwise,
// with full augmentation, without and with the prefetch thread. The boundary state also
// resumes as (next epoch, position 0).
static void check_resume(gw_data_task task) {
  gw_dataset d;
  open_task(&d, task, task == GW_TASK_CLASSIFY ? "train" : "val");
  // the first 40 samples only (the loader sees n_samples), in 5 batches per epoch, the last
  // one partial
  if (d.n_samples > 40) d.n_samples = 40;
  int bs = (int)((d.n_samples + 4) / 5);
  if (d.n_samples % bs == 0) bs++;
  gw_augment aug = {
      .flip = true, .scale = 0.2f, .translate = 0.15f, .brightness = 0.2f, .noise = 0.05f};
  for (int drop = 0; drop < (task == GW_TASK_REC ? 2 : 1); drop++) {
    batch_sig ref[N_BATCHES], got[N_BATCHES];
    gw_loader_state states[N_BATCHES];
    run(&d, bs, drop, aug, (gw_loader_state){0}, 0, 0, N_BATCHES, ref, states);
    // the uninterrupted run with the prefetch thread
    run(&d, bs, drop, aug, (gw_loader_state){0}, 3, 0, N_BATCHES, got, NULL);
    char what[96];
    for (int b = 0; b < N_BATCHES; b++) {
      snprintf(what, sizeof what, "%s drop_last=%d prefetch 3 vs 0", TASK_NAMES[task], drop);
      same_batch(&got[b], &ref[b], what, b);
    }
    int bpe = (int)(drop ? d.n_samples / bs : (d.n_samples + bs - 1) / bs);
    cr_assert(2 * bpe + 2 < N_BATCHES, "%d batches per epoch: too many for the test", bpe);
    const int ks[5] = {1, bpe / 2, bpe, bpe + 1, 2 * bpe};
    for (int prefetch = 0; prefetch <= 3; prefetch += 3)
      for (int ki = 0; ki < 5; ki++) {
        int k = ks[ki];
        // the state saved after k batches, from a loader that ran with this prefetch
        batch_sig first[N_BATCHES];
        gw_loader_state saved[N_BATCHES];
        run(&d, bs, drop, aug, (gw_loader_state){0}, prefetch, 0, k, first, saved);
        gw_loader_state st = saved[k - 1];
        cr_assert(st.epoch == states[k - 1].epoch && st.position == states[k - 1].position,
                  "after %d batches: state (%lld, %lld), expected (%lld, %lld)", k,
                  (long long)st.epoch, (long long)st.position, (long long)states[k - 1].epoch,
                  (long long)states[k - 1].position);
        run(&d, bs, drop, aug, st, prefetch, k, N_BATCHES, got, NULL);
        for (int b = k; b < N_BATCHES; b++) {
          snprintf(what, sizeof what, "%s drop_last=%d prefetch %d resumed after %d",
                   TASK_NAMES[task], drop, prefetch, k);
          same_batch(&got[b], &ref[b], what, b);
        }
        if (k % bpe == 0) {  // an epoch boundary: (e, end) and (e + 1, 0) are the same place
          cr_assert_eq(st.position, drop ? (int64_t)bpe * bs : d.n_samples);
          run(&d, bs, drop, aug, (gw_loader_state){st.epoch + 1, 0}, prefetch, k, N_BATCHES, got,
              NULL);
          for (int b = k; b < N_BATCHES; b++) {
            snprintf(what, sizeof what, "%s resumed at (epoch %lld, 0)", TASK_NAMES[task],
                     (long long)st.epoch + 1);
            same_batch(&got[b], &ref[b], what, b);
          }
        }
      }
  }
  gw_dataset_close(&d);
}

Test(loader, resume_rec) { check_resume(GW_TASK_REC); }
Test(loader, resume_vqa) { check_resume(GW_TASK_VQA); }
Test(loader, resume_classify) { check_resume(GW_TASK_CLASSIFY); }

// ---- augmentation ----

static bool image_equals(const float *got, const uint8_t *img, int S, bool mirrored) {
  for (int ch = 0; ch < 3; ch++)
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++)
        if (got[((size_t)ch * S + y) * S + x] != pixel(img, S, ch, y, mirrored ? S - 1 - x : x))
          return false;
  return true;
}

// Flip mirrors the image, maps the box to [S - x2, S - x1], and swaps the ids of "left" /
// "right" and "leftmost" / "rightmost" in the text (and the VQA answers "left" / "right");
// samples not flipped are unchanged. Both occur.
Test(loader, flip_mirrors_image_box_and_words) {
  const char *dir = data_dir();
  int nd;
  int64_t shape[GW_MAX_DIMS];
  uint8_t *images = read_array(dir, "train.h5", "images", GW_H5_U8, &nd, shape);
  int S = (int)shape[1];
  for (int task = 0; task < 3; task++) {
    gw_dataset d;
    open_task(&d, task, "train");
    int left = gw_vocab_find(&d.vocab, "left"), right = gw_vocab_find(&d.vocab, "right");
    int lmost = gw_vocab_find(&d.vocab, "leftmost"), rmost = gw_vocab_find(&d.vocab, "rightmost");
    cr_assert(left >= 0 && right >= 0, "no left/right in the vocabulary");
    int flipped = 0, kept = 0, swapped_words = 0, swapped_answers = 0;
    gw_loader l;
    const int bs = 64;
    cr_assert_eq(gw_loader_open(&l, &d, bs, true, false, 4, (gw_augment){.flip = true},
                                (gw_loader_state){0}, 0),
                 0);
    int64_t bpe = gw_loader_batches_per_epoch(&l);
    for (int64_t b = 0; b < bpe; b++) {
      const gw_batch *batch = gw_loader_next(&l);
      for (int k = 0; k < batch->n; k++) {
        int64_t s = batch->index[k];
        const uint8_t *img = images + (size_t)d.image_of[s] * S * S * 3;
        const float *got = batch->images + (size_t)k * 3 * S * S;
        bool plain = image_equals(got, img, S, false),
             mirrored = !plain && image_equals(got, img, S, true);
        cr_assert(plain || mirrored, "%s sample %lld: neither the image nor its mirror",
                  TASK_NAMES[task], (long long)s);
        flipped += mirrored, kept += plain;
        const int32_t *tok = batch->tokens + (size_t)k * d.max_len,
                      *stored = d.tokens + s * d.max_len;
        for (int t = 0; t < d.max_len; t++) {
          int32_t want = stored[t];
          if (mirrored) {
            if (want == left)
              want = right;
            else if (want == right)
              want = left;
            else if (lmost >= 0 && want == lmost)
              want = rmost;
            else if (rmost >= 0 && want == rmost)
              want = lmost;
          }
          swapped_words += want != stored[t];
          cr_assert_eq(tok[t], want, "%s sample %lld token %d: %d, expected %d (flipped %d)",
                       TASK_NAMES[task], (long long)s, t, tok[t], want, mirrored);
        }
        if (task == GW_TASK_REC) {
          const float *in = d.boxes + 4 * s, *out = batch->boxes + 4 * k;
          float want[4] = {in[0], in[1], in[2], in[3]};
          if (mirrored) want[0] = (float)S - in[2], want[2] = (float)S - in[0];
          cr_assert(!memcmp(out, want, 16),
                    "sample %lld: box [%g %g %g %g], expected [%g %g %g %g]", (long long)s, out[0],
                    out[1], out[2], out[3], want[0], want[1], want[2], want[3]);
        }
        if (task == GW_TASK_VQA) {
          float want[128];
          int32_t ans[10];
          for (int h = 0; h < 10; h++) {
            ans[h] = d.answers10[s * 10 + h];
            if (mirrored && ans[h] == d.answer_flip[0])
              ans[h] = d.answer_flip[1];
            else if (mirrored && ans[h] == d.answer_flip[1])
              ans[h] = d.answer_flip[0];
            swapped_answers += ans[h] != d.answers10[s * 10 + h];
          }
          expected_scores(ans, d.n_answers, want);
          for (int a = 0; a < d.n_answers; a++)
            cr_assert(fabsf(batch->answer_scores[(size_t)k * d.n_answers + a] - want[a]) < 1e-6f,
                      "question %lld (flipped %d): score of answer %d", (long long)s, mirrored, a);
        }
      }
    }
    gw_loader_close(&l);
    cr_assert(flipped > 0.3 * d.n_samples && kept > 0.3 * d.n_samples, "%s: %d flipped, %d kept",
              TASK_NAMES[task], flipped, kept);
    cr_assert(swapped_words > 10, "%s: only %d words swapped", TASK_NAMES[task], swapped_words);
    if (task == GW_TASK_VQA)
      cr_assert(swapped_answers > 10, "only %d answers swapped", swapped_answers);
    gw_dataset_close(&d);
  }
  free(images);
}

static bool has(const int32_t *tok, int n, int32_t id) {
  for (int k = 0; k < n; k++)
    if (tok[k] == id) return true;
  return false;
}

// Resize and shift keep the target box whole inside the image, move image and box together (the
// image is the stored one resampled by the scale and shift the box implies), and never shift an
// expression naming a corner.
Test(loader, shift_and_resize_keep_the_target_and_the_corners) {
  const char *dir = data_dir();
  int nd;
  int64_t shape[GW_MAX_DIMS];
  uint8_t *images = read_array(dir, "train.h5", "images", GW_H5_U8, &nd, shape);
  int S = (int)shape[1];
  float c = (float)S / 2.0f;
  gw_dataset d;
  open_task(&d, GW_TASK_REC, "train");
  cr_assert(d.corner_token >= 0, "no \"corner\" in the vocabulary");
  int corners = 0, warped = 0, shifted = 0;
  for (int mode = 0; mode < 2; mode++) {  // 0: shift only, 1: shift and resize
    gw_augment aug = {.translate = 0.25f, .scale = mode ? 0.3f : 0.0f};
    gw_loader l;
    cr_assert_eq(gw_loader_open(&l, &d, 64, true, false, 11 + mode, aug, (gw_loader_state){0}, 0),
                 0);
    int64_t bpe = gw_loader_batches_per_epoch(&l);
    for (int64_t b = 0; b < bpe; b++) {
      const gw_batch *batch = gw_loader_next(&l);
      for (int k = 0; k < batch->n; k++) {
        int64_t s = batch->index[k];
        const float *in = d.boxes + 4 * s, *out = batch->boxes + 4 * k;
        cr_assert(out[0] >= 0 && out[1] >= 0 && out[2] <= S && out[3] <= S && out[0] < out[2] &&
                      out[1] < out[3],
                  "sample %lld: the box [%g %g %g %g] leaves the image", (long long)s, out[0],
                  out[1], out[2], out[3]);
        // the scale and shift the box implies
        float sx = (out[2] - out[0]) / (in[2] - in[0]), sy = (out[3] - out[1]) / (in[3] - in[1]);
        cr_assert(fabsf(sx - sy) < 1e-4f, "sample %lld: box scaled by %g and %g", (long long)s, sx,
                  sy);
        float tx = out[0] - ((in[0] - c) * sx + c), ty = out[1] - ((in[1] - c) * sx + c);
        bool corner = has(d.tokens + s * d.max_len, d.max_len, d.corner_token);
        if (corner) {
          corners++;
          cr_assert(fabsf(tx) < 1e-3f && fabsf(ty) < 1e-3f,
                    "sample %lld names a corner and was shifted by (%g, %g)", (long long)s, tx, ty);
        }
        bool moved = fabsf(sx - 1.0f) > 1e-6f || fabsf(tx) > 1e-4f || fabsf(ty) > 1e-4f;
        warped += moved;
        shifted += fabsf(tx) > 0.5f || fabsf(ty) > 0.5f;
        if (!moved) continue;
        // the image: output pixel (x, y) samples the stored one at ((x + 0.5 - t - c) / s + c)
        const uint8_t *img = images + (size_t)d.image_of[s] * S * S * 3;
        const float *got = batch->images + (size_t)k * 3 * S * S;
        int bad = 0;
        for (int y = 0; y < S; y++)
          for (int x = 0; x < S; x++) {
            int px = (int)floorf(((float)x + 0.5f - tx - c) / sx + c),
                py = (int)floorf(((float)y + 0.5f - ty - c) / sx + c);
            bool inside = px >= 0 && px < S && py >= 0 && py < S;
            for (int ch = 0; ch < 3; ch++) {
              float want = inside ? pixel(img, S, ch, py, px) : 0.0f;  // grey outside
              bad += fabsf(got[((size_t)ch * S + y) * S + x] - want) > 1e-6f;
            }
          }
        cr_assert(bad <= 12, "sample %lld: %d pixel values do not follow the box's warp",
                  (long long)s, bad);
      }
    }
    gw_loader_close(&l);
  }
  cr_assert(corners >= 4, "only %d corner expressions", corners);
  cr_assert(warped > d.n_samples / 2 && shifted > d.n_samples / 4,
            "only %d warped, %d shifted of %lld", warped, shifted, (long long)d.n_samples);
  gw_dataset_close(&d);
  free(images);
}

// A box through a sample's warp (gw_batch.warp): mirrored first when flipped, then scaled about
// the centre and shifted.
static void warp_box(const float *w, int S, const float *in, float *out) {
  float c = (float)S / 2.0f, x1 = in[0], x2 = in[2];
  if (w[0] != 0.0f) x1 = (float)S - in[2], x2 = (float)S - in[0];
  out[0] = (x1 - c) * w[1] + c + w[2];
  out[2] = (x2 - c) * w[1] + c + w[2];
  out[1] = (in[1] - c) * w[1] + c + w[3];
  out[3] = (in[3] - c) * w[1] + c + w[3];
}

static bool box_inside(const float *b, int S) {
  const float eps = 1e-3f;
  return b[0] >= -eps && b[1] >= -eps && b[2] <= (float)S + eps && b[3] <= (float)S + eps;
}

static bool box_holds(const float *outer, const float *inner) {
  return outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] &&
         outer[3] >= inner[3];
}

// A shift or resize never cuts off what a sample's text rests on. REC: every object inside
// refs/context_box (the target, its anchors, the objects an ordinal or location counts; read
// here from the file) stays whole; VQA and captions: every object of the image stays whole;
// a VQA question answered "left", "right", "top" or "bottom" is never shifted. Objects an
// expression does not name may be cut off, so REC samples still move often.
Test(loader, shift_and_resize_keep_everything_the_text_names) {
  const char *dir = data_dir();
  int nd;
  int64_t shape[GW_MAX_DIMS], n_obj, n_ref, rows;
  int32_t *obj_image = ints(dir, "train.h5", "objects/image", &n_obj);
  float *obj_box = read_array(dir, "train.h5", "objects/box", GW_H5_F32, &nd, shape);
  int32_t *sent_ref = ints(dir, "train.h5", "sents/ref", &rows);
  free(ints(dir, "train.h5", "refs/image", &n_ref));
  float *ctx = read_array(dir, "train.h5", "refs/context_box", GW_H5_F32, &nd, shape);
  float *ref_box = read_array(dir, "train.h5", "refs/box", GW_H5_F32, &nd, shape);
  cr_assert(nd == 2 && shape[0] == n_ref && shape[1] == 4);
  for (int64_t r = 0; r < n_ref; r++)
    cr_assert(box_holds(ctx + 4 * r, ref_box + 4 * r), "ref %lld: the context box lacks its target",
              (long long)r);
  for (int task = 0; task < 3; task++) {
    gw_dataset d;
    open_task(&d, task, "train");
    int S = d.size;
    int left = -1, right = -1, top = -1, bottom = -1;
    if (task == GW_TASK_VQA) {
      left = d.answer_flip[0], right = d.answer_flip[1];
      top = d.answer_vflip[0], bottom = d.answer_vflip[1];
      cr_assert(left >= 0 && right >= 0 && top >= 0 && bottom >= 0, "side answers missing");
    }
    gw_augment aug = {.flip = true, .scale = 0.3f, .translate = 0.3f};
    gw_loader l;
    cr_assert_eq(gw_loader_open(&l, &d, 32, true, false, 21, aug, (gw_loader_state){0}, 0), 0);
    int64_t seen = 0, moved = 0, side = 0, cut_unnamed = 0;
    for (int64_t b = 0; b < 2 * gw_loader_batches_per_epoch(&l); b++) {
      const gw_batch *batch = gw_loader_next(&l);
      for (int k = 0; k < batch->n; k++) {
        int64_t s = batch->index[k];
        const float *w = batch->warp + 4 * k;
        int32_t image = d.image_of[s];
        seen++;
        bool geo = w[1] != 1.0f || w[2] != 0.0f || w[3] != 0.0f;
        moved += geo;
        const float *keep = task == GW_TASK_REC ? ctx + 4 * sent_ref[s] : NULL;
        if (task == GW_TASK_REC)
          cr_assert(!memcmp(d.keep + 4 * s, keep, 16), "sample %lld: keep box is not the file's "
                    "context box", (long long)s);
        float out[4];
        for (int64_t j = 0; j < n_obj; j++) {
          if (obj_image[j] != image) continue;
          warp_box(w, S, obj_box + 4 * j, out);
          bool named = !keep || box_holds(keep, obj_box + 4 * j);
          if (named)
            cr_assert(box_inside(out, S),
                      "%s sample %lld (warp %g %g %g %g): object %lld [%g %g %g %g] is cut off",
                      TASK_NAMES[task], (long long)s, w[0], w[1], w[2], w[3], (long long)j, out[0],
                      out[1], out[2], out[3]);
          else
            cut_unnamed += !box_inside(out, S);
        }
        if (task == GW_TASK_VQA) {
          bool names_side = false;
          for (int h = 0; h < 10; h++) {
            int32_t a = d.answers10[s * 10 + h];
            names_side |= a == left || a == right || a == top || a == bottom;
          }
          if (names_side) {
            side++;
            cr_assert(w[2] == 0.0f && w[3] == 0.0f,
                      "question %lld is answered with a side of the image, yet shifted by (%g, %g)",
                      (long long)s, w[2], w[3]);
          }
        }
      }
    }
    gw_loader_close(&l);
    cr_log_info("%s: %lld of %lld samples shifted or resized; %lld unnamed objects cut off; %lld "
                "side questions", TASK_NAMES[task], (long long)moved, (long long)seen,
                (long long)cut_unnamed, (long long)side);
    cr_assert(moved > seen / 5, "%s: only %lld of %lld samples moved", TASK_NAMES[task],
              (long long)moved, (long long)seen);
    if (task == GW_TASK_REC) cr_assert(cut_unnamed > 0, "no unnamed object was ever cut off");
    if (task == GW_TASK_VQA) cr_assert(side > 10, "only %lld side questions", (long long)side);
    gw_dataset_close(&d);
  }
  free(obj_image);
  free(obj_box);
  free(sent_ref);
  free(ctx);
  free(ref_box);
}

// ---- open errors ----

static void copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  cr_assert(a && b, "copy %s -> %s", from, to);
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
  fclose(a);
  fclose(b);
}

typedef struct names {
  int n;
  char v[64][64];
} names;
static void add_name(const char *name, void *ctx) {
  names *l = ctx;
  snprintf(l->v[l->n++], 64, "%s", name);
}

// Writes dir/val.h5 as a copy of the generated val.h5 with `name` dropped (data NULL) or
// replaced by an int32 array of the given shape; vocab.txt and answers.txt beside it.
static void write_variant(const char *dir, const char *name, int nd, const int64_t *shape,
                          const int32_t *data) {
  const char *src = data_dir();
  char path[512], from[512];
  snprintf(from, sizeof from, "%s/val.h5", src);
  snprintf(path, sizeof path, "%s/val.h5", dir);
  gw_h5 *in = gw_h5_open(from), *out = gw_h5_create(path);
  cr_assert(in && out, "%s", gw_last_error());
  names l = {0};
  gw_h5_list(in, "", add_name, &l);
  for (int k = 0; k < l.n; k++) {
    int snd;
    int64_t sshape[GW_MAX_DIMS];
    if (gw_h5_array_shape(in, l.v[k], &snd, sshape) < 0) continue;  // a group
    if (!strcmp(l.v[k], name)) continue;
    const char *base = strrchr(l.v[k], '/') ? strrchr(l.v[k], '/') + 1 : l.v[k];
    size_t blen = strlen(base);
    gw_h5_type type = !strcmp(base, "images")                           ? GW_H5_U8
                      : blen >= 3 && !strcmp(base + blen - 3, "box") ? GW_H5_F32
                                                                        : GW_H5_I32;
    int64_t count = 1;
    for (int dd = 0; dd < snd; dd++) count *= sshape[dd];
    void *buf = malloc((size_t)count * 4 + 4);
    cr_assert_eq(gw_h5_read_array(in, l.v[k], type, snd, sshape, buf), 0);
    cr_assert_eq(gw_h5_write_array(out, l.v[k], type, snd, sshape, buf, 0), 0, "%s",
                 gw_last_error());
    free(buf);
  }
  if (data)
    cr_assert_eq(gw_h5_write_array(out, name, GW_H5_I32, nd, shape, data, 0), 0, "%s",
                 gw_last_error());
  gw_h5_close(in);
  cr_assert_eq(gw_h5_close(out), 0);
  const char *side[2] = {"vocab.txt", "answers.txt"};
  for (int k = 0; k < 2; k++) {
    snprintf(from, sizeof from, "%s/%s", src, side[k]);
    snprintf(path, sizeof path, "%s/%s", dir, side[k]);
    copy_file(from, path);
  }
}

// Opening must fail with an error that names the file and, where one is at fault, the array.
static void expect_open_error(const char *dir, gw_data_task task, const char *want1,
                              const char *want2) {
  gw_dataset d;
  cr_assert_eq(gw_dataset_open(&d, dir, "val", task), -1,
               "%s: opening a broken set succeeded (%s missing)", TASK_NAMES[task],
               want2 ? want2 : want1);
  cr_assert(strstr(gw_last_error(), want1), "the error \"%s\" does not name \"%s\"",
            gw_last_error(), want1);
  if (want2)
    cr_assert(strstr(gw_last_error(), want2), "the error \"%s\" does not name \"%s\"",
              gw_last_error(), want2);
}

// A missing file, a file that is not HDF5, a missing array, an array of the wrong shape or
// length, and indices that point outside their arrays: each is an error naming the file and the
// array, never a crash.
Test(loader, open_errors_name_the_file_and_the_array) {
  char dir[256];  // inside the suite's data directory, which the hook removes
  snprintf(dir, sizeof dir, "%s/bad_XXXXXX", data_dir());
  cr_assert(mkdtemp(dir));
  char h5[512];
  snprintf(h5, sizeof h5, "%s/val.h5", dir);
  expect_open_error(dir, GW_TASK_REC, h5, NULL);  // no file
  FILE *f = fopen(h5, "w");
  fputs("this is not an HDF5 file\n", f);
  fclose(f);
  expect_open_error(dir, GW_TASK_REC, h5, NULL);
  // missing arrays, task by task
  const struct {
    gw_data_task task;
    const char *name;
  } missing[] = {
      {GW_TASK_REC, "images"},
      {GW_TASK_REC, "sents/tokens"},
      {GW_TASK_REC, "sents/length"},
      {GW_TASK_REC, "sents/ref"},
      {GW_TASK_REC, "refs/image"},
      {GW_TASK_REC, "refs/box"},
      {GW_TASK_REC, "refs/level"},
      {GW_TASK_VQA, "questions/answers"},
      {GW_TASK_VQA, "questions/image"},
      {GW_TASK_CAPTION, "captions/image"},
      {GW_TASK_CAPTION, "captions/family"},
  };
  for (size_t k = 0; k < sizeof missing / sizeof missing[0]; k++) {
    write_variant(dir, missing[k].name, 0, NULL, NULL);
    expect_open_error(dir, missing[k].task, h5, missing[k].name);
  }
  // wrong shapes and lengths
  int64_t n_sent, n_ref, n_q;
  int32_t *sent_ref = ints(data_dir(), "val.h5", "sents/ref", &n_sent);
  free(ints(data_dir(), "val.h5", "refs/image", &n_ref));
  int32_t *q_image = ints(data_dir(), "val.h5", "questions/image", &n_q);
  int32_t *zeros = calloc((size_t)(n_sent + n_q) * 32, 4);
  write_variant(dir, "sents/tokens", 1, (int64_t[]){n_sent}, zeros);  // 1-D tokens
  expect_open_error(dir, GW_TASK_REC, h5, "sents/tokens");
  write_variant(dir, "sents/length", 1, (int64_t[]){n_sent - 1}, zeros);  // one length short
  expect_open_error(dir, GW_TASK_REC, h5, "sents/length");
  write_variant(dir, "sents/ref", 1, (int64_t[]){n_sent - 3}, sent_ref);  // three refs short
  expect_open_error(dir, GW_TASK_REC, h5, "sents/ref");
  write_variant(dir, "questions/image", 1, (int64_t[]){n_q - 1}, q_image);
  expect_open_error(dir, GW_TASK_VQA, h5, "questions/image");
  write_variant(dir, "questions/answers", 2, (int64_t[]){n_q, 9}, zeros);
  expect_open_error(dir, GW_TASK_VQA, h5, "questions/answers");
  // indices outside their arrays
  sent_ref[n_sent / 2] = (int32_t)n_ref + 5;
  write_variant(dir, "sents/ref", 1, (int64_t[]){n_sent}, sent_ref);
  expect_open_error(dir, GW_TASK_REC, h5, "sents/ref");
  q_image[0] = 100000;
  write_variant(dir, "questions/image", 1, (int64_t[]){n_q}, q_image);
  expect_open_error(dir, GW_TASK_VQA, h5, "image 100000");
  // no vocabulary beside the file
  write_variant(dir, "", 0, NULL, NULL);
  char vocab[512];
  snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
  unlink(vocab);
  expect_open_error(dir, GW_TASK_REC, vocab, NULL);
  // few-shot: a missing labels array, an unknown part
  snprintf(h5, sizeof h5, "%s/images.h5", dir);
  gw_h5 *fs = gw_h5_create(h5);
  uint8_t pixels[2 * 8 * 8 * 3] = {0};
  cr_assert_eq(gw_h5_write_array(fs, "images", GW_H5_U8, 4, (int64_t[]){2, 8, 8, 3}, pixels, 0), 0);
  cr_assert_eq(gw_h5_write_array(fs, "split", GW_H5_I32, 1, (int64_t[]){2}, zeros, 0), 0);
  cr_assert_eq(gw_h5_close(fs), 0);
  gw_dataset d;
  cr_assert_eq(gw_dataset_open(&d, dir, "train", GW_TASK_CLASSIFY), -1);
  cr_assert(strstr(gw_last_error(), h5) && strstr(gw_last_error(), "labels"), "%s",
            gw_last_error());
  cr_assert_eq(gw_dataset_open(&d, dir, "dev", GW_TASK_CLASSIFY), -1);
  cr_assert(strstr(gw_last_error(), "dev"), "%s", gw_last_error());
  free(sent_ref);
  free(q_image);
  free(zeros);
  rm_tree(dir);
}

// A file written before refs/context_box existed (shapes world version 1, or another writer):
// the loader keeps every object of the image whole instead, the safe choice when it cannot tell
// which objects the words name. questions/answer_type missing: every type unknown (-1).
Test(loader, files_without_context_boxes_keep_every_object) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s/old_XXXXXX", data_dir());
  cr_assert(mkdtemp(dir));
  write_variant(dir, "refs/context_box", 0, NULL, NULL);
  gw_dataset d;
  cr_assert_eq(gw_dataset_open(&d, dir, "val", GW_TASK_REC), 0, "%s", gw_last_error());
  int nd;
  int64_t shape[GW_MAX_DIMS], n_obj;
  int32_t *obj_image = ints(data_dir(), "val.h5", "objects/image", &n_obj);
  float *obj_box = read_array(data_dir(), "val.h5", "objects/box", GW_H5_F32, &nd, shape);
  for (int64_t s = 0; s < d.n_samples; s++) {
    float want[4] = {1e30f, 1e30f, -1e30f, -1e30f};
    for (int64_t j = 0; j < n_obj; j++) {
      if (obj_image[j] != d.image_of[s]) continue;
      const float *b = obj_box + 4 * j;
      want[0] = fminf(want[0], b[0]), want[1] = fminf(want[1], b[1]);
      want[2] = fmaxf(want[2], b[2]), want[3] = fmaxf(want[3], b[3]);
    }
    cr_assert(!memcmp(d.keep + 4 * s, want, 16),
              "sample %lld: keep [%g %g %g %g], the image's objects span [%g %g %g %g]",
              (long long)s, d.keep[4 * s], d.keep[4 * s + 1], d.keep[4 * s + 2], d.keep[4 * s + 3],
              want[0], want[1], want[2], want[3]);
  }
  gw_dataset_close(&d);
  write_variant(dir, "questions/answer_type", 0, NULL, NULL);
  cr_assert_eq(gw_dataset_open(&d, dir, "val", GW_TASK_VQA), 0, "%s", gw_last_error());
  for (int64_t s = 0; s < d.n_samples; s++) cr_assert_eq(d.answer_type[s], -1);
  gw_dataset_close(&d);
  free(obj_image);
  free(obj_box);
  rm_tree(dir);
}

// VQA samples carry VQA v2's answer type (0 yes/no, 1 number, 2 other), which for shapes world
// follows the question family (§6.7), so an evaluator can report accuracy per answer type as
// the official code does; and the family is there for per-family numbers.
Test(loader, vqa_answer_types_follow_the_families) {
  gw_dataset d;
  open_task(&d, GW_TASK_VQA, "train");
  int per_type[3] = {0};
  for (int64_t s = 0; s < d.n_samples; s++) {
    cr_assert(d.family[s] >= 0 && d.family[s] < SW_N_Q_FAMILIES);
    cr_assert_eq(d.answer_type[s], sw_question_answer_type(d.family[s]),
                 "question %lld of family %s has answer type %d", (long long)s,
                 sw_question_family_names[d.family[s]], d.answer_type[s]);
    per_type[d.answer_type[s]]++;
  }
  for (int t = 0; t < 3; t++) cr_assert(per_type[t] > 20, "answer type %d: %d questions", t, per_type[t]);
  gw_dataset_close(&d);
}

// The loader reports its time per batch: the worker's mean time to assemble one, and the mean
// time the consumer waited for one (0 without the prefetch thread, where the consumer assembles
// the batch itself: that time is the assembly time). With a consumer slower than the worker,
// the prefetch thread hides the assembly: the wait is well below it.
Test(loader, reports_its_time_per_batch) {
  gw_dataset d;
  open_task(&d, GW_TASK_REC, "train");
  gw_augment aug = {.flip = true, .scale = 0.1f, .translate = 0.1f, .brightness = 0.2f,
                    .noise = 0.05f};
  for (int prefetch = 0; prefetch <= 2; prefetch += 2) {
    gw_loader l;
    cr_assert_eq(gw_loader_open(&l, &d, 64, true, false, 5, aug, (gw_loader_state){0}, prefetch), 0);
    cr_assert_eq(gw_loader_make_per_batch(&l), 0.0);
    double make_total = 0.0;
    for (int b = 0; b < 12; b++) {
      gw_loader_next(&l);
      // a step that takes longer than assembling a batch
      struct timespec nap = {0, 20 * 1000 * 1000};
      nanosleep(&nap, NULL);
    }
    make_total = gw_loader_make_per_batch(&l);
    double wait = gw_loader_wait_per_batch(&l);
    cr_log_info("prefetch %d: %.3f ms to assemble a batch of 64, %.3f ms waited per batch",
                prefetch, 1e3 * make_total, 1e3 * wait);
    cr_assert(make_total > 0.0, "prefetch %d: no assembly time reported", prefetch);
    if (prefetch == 0) cr_assert_eq(wait, 0.0);
    else cr_assert(wait < make_total, "prefetch %d: waited %g s per batch, assembly takes %g s",
                   prefetch, wait, make_total);
    gw_loader_close(&l);
  }
  gw_dataset_close(&d);
}
