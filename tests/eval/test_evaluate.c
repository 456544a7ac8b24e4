// The evaluator (eval/evaluate.c) end to end on hand-built data sets and a stand-in model whose
// predictions are fixed in advance, so every number is known: the golden values of
// shared/datasets.md (IoU 1/3 of the xywh example, VQA's 0 / 0.3 / 0.6 / 0.9 / 1 for 0-4
// matching humans, Recall@K of a hand-built 3 x 15 matrix), the breakdowns by expression level,
// answer type and question family, letterboxed boxes mapped back to the source image, and the
// metrics-SPLIT.json writer.
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "testutil.h"

TestSuite(evaluate, .init = gwt_setup, .fini = gwt_teardown, .timeout = 30);

// ---- a stand-in model: its predictions are tables indexed by sample ----

typedef struct fixed {
  const float *boxes;     // REC: 4 per sample
  const int32_t *answer;  // VQA: per sample
  const int32_t *label;   // classification: per sample
  const float *txt;       // retrieval: dim per sample; the image embedding is one-hot,
  const int32_t *image_of;  // at the sample's image
  int dim;
} fixed;
static fixed F;

static void *fixed_create(gw_nn *nn, const gw_config *cfg, const gw_model_info *info) {
  (void)nn, (void)cfg, (void)info;
  return &F;
}
static gw_tensor *fixed_loss(void *m, const gw_inputs *in, gw_loss_terms *t) {
  (void)m, (void)in, (void)t;
  return NULL;
}
static void fixed_predict(void *model, const gw_inputs *in, gw_outputs *o) {
  const fixed *f = model;
  const gw_batch *b = in->raw;
  if (f->dim) {
    o->dim = f->dim;
    o->image_emb = gw_arena_calloc(gw_arena_current(), (size_t)b->n * f->dim * sizeof(float), "test");
    o->text_emb = gw_arena_alloc(gw_arena_current(), (size_t)b->n * f->dim * sizeof(float), "test");
  }
  for (int i = 0; i < b->n; i++) {
    int64_t s = b->index[i];
    if (f->boxes) memcpy(o->boxes + 4 * i, f->boxes + 4 * s, 4 * sizeof(float));
    if (f->answer) o->answer[i] = f->answer[s];
    if (f->label) o->label[i] = f->label[s];
    if (f->dim) {
      o->image_emb[(size_t)i * f->dim + (size_t)f->image_of[s]] = 1.0f;
      memcpy(o->text_emb + (size_t)i * f->dim, f->txt + s * f->dim, (size_t)f->dim * sizeof(float));
    }
  }
}
static void fixed_destroy(void *m) { (void)m; }

static gw_model_ops fixed_ops(gw_data_task task) {
  return (gw_model_ops){.name = "fixed", .task = task, .create = fixed_create, .loss = fixed_loss,
                        .predict = fixed_predict, .destroy = fixed_destroy};
}

// ---- hand-built data sets ----

// A temporary directory holding the data set's file (for the evaluator's optional arrays and
// meta.json); returns its path.
static const char *data_dir(void) {
  static char dir[64];
  snprintf(dir, sizeof dir, "/tmp/gwt-evaluate-XXXXXX");
  cr_assert(mkdtemp(dir), "mkdtemp");
  return dir;
}

static void remove_dir(const char *dir) {
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

static void write_text(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

// n samples over n_images grey images of 32 x 32, no text; the caller fills the task's arrays.
static gw_dataset dataset(gw_data_task task, const char *dir, int64_t n, int64_t n_images) {
  gw_dataset d = {.task = task, .n_images = n_images, .n_samples = n, .size = 32,
                  .corner_token = -1, .answer_flip = {-1, -1}};
  snprintf(d.path, sizeof d.path, "%s/test.h5", dir);
  d.images = malloc((size_t)n_images * 32 * 32 * 3);
  memset(d.images, 128, (size_t)n_images * 32 * 32 * 3);
  d.image_of = calloc((size_t)n, sizeof *d.image_of);
  return d;
}

static void free_dataset(gw_dataset *d) {
  free(d->images);
  free(d->image_of);
  free(d->boxes);
  free(d->levels);
  free(d->family);
  free(d->answers10);
  free(d->labels);
}

static gw_metrics evaluate(gw_data_task task, const gw_dataset *d, int batch) {
  gw_model_ops ops = fixed_ops(task);
  gw_nn nn;
  gw_nn_init(&nn, 1);
  gw_metrics m;
  cr_assert_eq(gw_evaluate(&ops, &F, &nn, d, batch, 0, &m), 0, "%s", gw_last_error());
  gw_nn_free(&nn);
  return m;
}

static double get(const gw_metrics *m, const char *name) {
  double v = gw_metrics_get(m, name);
  cr_assert(!isnan(v), "no metric '%s'", name);
  return v;
}

#define ASSERT_METRIC(m, name, want)                                                         \
  cr_assert_float_eq(get(&(m), (name)), (want), 1e-12, "%s = %.17g, want %.17g", (name), \
                     get(&(m), (name)), (double)(want))

// ---- REC ----

// Six expressions with known IoUs (x1 y1 x2 y2 boxes): datasets.md's xywh (0,0,10,10) vs
// (5,0,10,10) -> 1/3; identical -> 1; half -> 0.5 (a hit: >= 0.5); 0.75 (a hit at 0.75 too);
// disjoint -> 0; 0.8. Levels 0 0 1 1 2 3.
//   acc@0.5  = {1, 0.5, 0.75, 0.8} / 6 = 4/6     acc@0.75 = {1, 0.75, 0.8} / 6 = 3/6
//   miou     = (1/3 + 1 + 0.5 + 0.75 + 0 + 0.8) / 6
//   L0: 1/3, 1 -> acc@0.5 1/2, acc@0.75 1/2, miou 2/3;  L1: 0.5, 0.75 -> 1, 1/2, 0.625;
//   L2: 0 -> 0, 0, 0;  L3: 0.8 -> 1, 1, 0.8
Test(evaluate, rec_accuracy_miou_and_levels) {
  const char *dir = data_dir();
  gw_dataset d = dataset(GW_TASK_REC, dir, 6, 6);
  for (int i = 0; i < 6; i++) d.image_of[i] = i;
  static const float gt[6 * 4] = {0, 0, 10, 10, 2, 2, 12, 12, 0, 0, 10, 10,
                                  0, 0, 20, 10, 0, 0, 5, 5,   0, 0, 10, 10};
  static const float pred[6 * 4] = {5, 0, 15, 10, 2, 2, 12, 12, 0, 0, 5, 10,
                                    0, 0, 15, 10, 20, 20, 30, 30, 0, 0, 8, 10};
  static const int32_t lv[6] = {0, 0, 1, 1, 2, 3};
  d.boxes = malloc(sizeof gt);
  memcpy(d.boxes, gt, sizeof gt);
  d.levels = malloc(sizeof lv);
  memcpy(d.levels, lv, sizeof lv);
  F = (fixed){.boxes = pred};
  gw_metrics m = evaluate(GW_TASK_REC, &d, 4);  // two batches, the second partial
  ASSERT_METRIC(m, "samples", 6);
  ASSERT_METRIC(m, "acc@0.5", 4.0 / 6);
  ASSERT_METRIC(m, "acc@0.75", 3.0 / 6);
  ASSERT_METRIC(m, "miou", (1.0 / 3 + 1 + 0.5 + 0.75 + 0 + 0.8) / 6);
  ASSERT_METRIC(m, "acc@0.5_L0", 0.5);
  ASSERT_METRIC(m, "acc@0.75_L0", 0.5);
  ASSERT_METRIC(m, "miou_L0", (1.0 / 3 + 1) / 2);
  ASSERT_METRIC(m, "acc@0.5_L1", 1.0);
  ASSERT_METRIC(m, "acc@0.75_L1", 0.5);
  ASSERT_METRIC(m, "miou_L1", 0.625);
  ASSERT_METRIC(m, "acc@0.5_L2", 0.0);
  ASSERT_METRIC(m, "miou_L2", 0.0);
  ASSERT_METRIC(m, "acc@0.5_L3", 1.0);
  ASSERT_METRIC(m, "miou_L3", 0.8);
  cr_assert(!strcmp(gw_main_metric(GW_TASK_REC), "acc@0.5"));
  cr_assert(strstr(m.protocol, "no +1") && strstr(m.protocol, "the data set's image"), "%s",
            m.protocol);
  // the headline numbers and the breakdowns are told apart (the trainer prints the first)
  for (int i = 0; i < m.n; i++)
    cr_assert_eq(m.detail[i], strstr(m.name[i], "_L") != NULL, "%s", m.name[i]);
  free_dataset(&d);
  remove_dir(dir);
}

// A converted data set stores letterboxed boxes and, per image, source/letterbox (scale_x,
// scale_y, dx, dy) and source/size (w, h): the evaluator maps both boxes back into the source
// image and clamps the prediction to it. Image 0 is 64 x 32, letterboxed into 32 x 32 at scale
// 0.5 with dy = 8. The truth (4, 12, 12, 20) is (8, 8, 24, 24) in the source; the prediction
// (4, 4, 12, 20) reaches 4 pixels into the pad: (8, -8, 24, 24), clamped to (8, 0, 24, 24).
// IoU in the source: 16 x 16 / (16 x 24) = 2/3; in the letterbox it would be 0.5.
// Image 1 (32 x 32, its own size) keeps its boxes: IoU 1.
Test(evaluate, rec_boxes_back_in_source_pixels) {
  const char *dir = data_dir();
  gw_dataset d = dataset(GW_TASK_REC, dir, 2, 2);
  d.image_of[1] = 1;
  static const float gt[8] = {4, 12, 12, 20, 1, 2, 30, 31};
  static const float pred[8] = {4, 4, 12, 20, 1, 2, 30, 31};
  d.boxes = malloc(sizeof gt);
  memcpy(d.boxes, gt, sizeof gt);
  d.levels = calloc(2, sizeof *d.levels);
  gw_h5 *f = gw_h5_create(d.path);
  cr_assert(f, "%s", gw_last_error());
  static const float lb[8] = {0.5f, 0.5f, 0, 8, 1, 1, 0, 0};
  static const int32_t size[4] = {64, 32, 32, 32};
  cr_assert_eq(gw_h5_write_array(f, "source/letterbox", GW_H5_F32, 2, (int64_t[]){2, 4}, lb, 0), 0);
  cr_assert_eq(gw_h5_write_array(f, "source/size", GW_H5_I32, 2, (int64_t[]){2, 2}, size, 0), 0);
  cr_assert_eq(gw_h5_close(f), 0, "%s", gw_last_error());
  F = (fixed){.boxes = pred};
  gw_metrics m = evaluate(GW_TASK_REC, &d, 2);
  ASSERT_METRIC(m, "miou", (2.0 / 3 + 1) / 2);
  ASSERT_METRIC(m, "acc@0.5", 1.0);
  ASSERT_METRIC(m, "acc@0.75", 0.5);
  cr_assert(strstr(m.protocol, "source-image pixels"), "%s", m.protocol);
  // the same boxes without the source arrays are compared as they are
  unlink(d.path);
  m = evaluate(GW_TASK_REC, &d, 2);
  ASSERT_METRIC(m, "miou", (0.5 + 1) / 2);
  // the mapping itself: back through the letterbox, clamped to the image
  float out[4];
  gw_box_unletterbox((const float[4]){4, 4, 12, 20}, lb, 64, 32, out);
  cr_assert(out[0] == 8 && out[1] == 0 && out[2] == 24 && out[3] == 24, "%g %g %g %g", out[0],
            out[1], out[2], out[3]);
  free_dataset(&d);
  remove_dir(dir);
}

// ---- VQA ----

// Writes the 10 human answers of a question: `k` of them `answer`, the others 30 + h.
static void humans(int32_t *ten, int32_t answer, int k) {
  for (int h = 0; h < 10; h++) ten[h] = h < k ? answer : 30 + h;
}

// Five shapes-world questions whose predictions match k = 4, 1, 2, 3, 0 of the 10 humans:
// official scores 1, 0.3, 0.6, 0.9, 0 (datasets.md §2.2). Families exist, count, query_color,
// relation_verify, exist: answer types yes/no, number, other, yes/no, yes/no (§6.7).
//   vqa_acc = 2.8 / 5 = 0.56; yes/no (1 + 0.9 + 0) / 3; number 0.3; other 0.6;
//   by family: exist 0.5, count 0.3, query_color 0.6, relation_verify 0.9
Test(evaluate, vqa_by_answer_type_and_family) {
  const char *dir = data_dir();
  write_text(dir, "meta.json", "{\"sw_version\": 1, \"preset\": \"tiny\"}\n");
  gw_dataset d = dataset(GW_TASK_VQA, dir, 5, 1);
  d.n_answers = 40;
  d.answers10 = malloc(5 * 10 * sizeof *d.answers10);
  static const int k[5] = {4, 1, 2, 3, 0};
  static const int32_t fam[5] = {0, 1, 2, 12, 0}, pred[5] = {7, 8, 9, 10, 11};
  for (int q = 0; q < 5; q++) humans(d.answers10 + 10 * q, pred[q], k[q]);
  d.family = malloc(sizeof fam);
  memcpy(d.family, fam, sizeof fam);
  F = (fixed){.answer = pred};
  gw_metrics m = evaluate(GW_TASK_VQA, &d, 2);
  ASSERT_METRIC(m, "vqa_acc", (1 + 0.3 + 0.6 + 0.9 + 0) / 5);
  ASSERT_METRIC(m, "vqa_acc_yes/no", (1 + 0.9 + 0) / 3);
  ASSERT_METRIC(m, "vqa_acc_number", 0.3);
  ASSERT_METRIC(m, "vqa_acc_other", 0.6);
  ASSERT_METRIC(m, "vqa_acc_q_exist", 0.5);
  ASSERT_METRIC(m, "vqa_acc_q_count", 0.3);
  ASSERT_METRIC(m, "vqa_acc_q_query_color", 0.6);
  ASSERT_METRIC(m, "vqa_acc_q_relation_verify", 0.9);
  cr_assert(strstr(m.protocol, "leave-one-out"), "%s", m.protocol);

  // a converted VQA v2 set: its question types (meta.json) and answer types (the file's
  // questions/answer_type) name the breakdowns
  write_text(dir, "meta.json",
             "{\"question_families\": [\"is there a\", \"how many\", \"what color is the\"]}\n");
  static const int32_t fam2[5] = {0, 1, 2, 2, 0}, types[5] = {0, 1, 2, 2, -1};
  memcpy(d.family, fam2, sizeof fam2);
  gw_h5 *f = gw_h5_create(d.path);
  cr_assert_eq(gw_h5_write_array(f, "questions/answer_type", GW_H5_I32, 1, (int64_t[]){5}, types, 0), 0);
  cr_assert_eq(gw_h5_close(f), 0, "%s", gw_last_error());
  m = evaluate(GW_TASK_VQA, &d, 5);
  ASSERT_METRIC(m, "vqa_acc_yes/no", 1.0);  // the fifth question's type is unknown
  ASSERT_METRIC(m, "vqa_acc_number", 0.3);
  ASSERT_METRIC(m, "vqa_acc_other", (0.6 + 0.9) / 2);
  ASSERT_METRIC(m, "vqa_acc_q_is_there_a", 0.5);
  ASSERT_METRIC(m, "vqa_acc_q_how_many", 0.3);
  ASSERT_METRIC(m, "vqa_acc_q_what_color_is_the", 0.75);
  free_dataset(&d);
  remove_dir(dir);
}

// ---- retrieval ----

// The 3 x 15 matrix of test_metrics.c (3 images, 5 captions each), produced by embeddings:
// image i is the one-hot e_i, caption j the column j of the matrix, so S = images . captions.
// i2t R@1/5/10 = 1/3, 2/3, 1; t2i = 5/15, 1, 1; rsum their sum.
Test(evaluate, retrieval_recall_from_embeddings) {
  static const float sim[3 * 15] = {
      0.50, 0.40, 0.99, 0.30, 0.20, 0.10, 0.15, 0.25, 0.05, 0.12, 0.35, 0.45, 0.22, 0.08, 0.18,
      0.90, 0.80, 0.11, 0.13, 0.14, 0.55, 0.21, 0.60, 0.31, 0.41, 0.09, 0.19, 0.70, 0.29, 0.39,
      0.95, 0.85, 0.75, 0.65, 0.62, 0.58, 0.57, 0.56, 0.03, 0.04, 0.06, 0.07, 0.16, 0.17, 0.50,
  };
  float txt[15 * 3];
  for (int j = 0; j < 15; j++)
    for (int i = 0; i < 3; i++) txt[j * 3 + i] = sim[i * 15 + j];
  const char *dir = data_dir();
  gw_dataset d = dataset(GW_TASK_CAPTION, dir, 15, 3);
  for (int j = 0; j < 15; j++) d.image_of[j] = j / 5;
  F = (fixed){.txt = txt, .image_of = d.image_of, .dim = 3};
  gw_metrics m = evaluate(GW_TASK_CAPTION, &d, 4);
  ASSERT_METRIC(m, "i2t_r@1", 1.0 / 3);
  ASSERT_METRIC(m, "i2t_r@5", 2.0 / 3);
  ASSERT_METRIC(m, "i2t_r@10", 1.0);
  ASSERT_METRIC(m, "t2i_r@1", 5.0 / 15);
  ASSERT_METRIC(m, "t2i_r@5", 1.0);
  ASSERT_METRIC(m, "t2i_r@10", 1.0);
  ASSERT_METRIC(m, "rsum", 1.0 / 3 + 2.0 / 3 + 1 + 5.0 / 15 + 1 + 1);
  free_dataset(&d);
  remove_dir(dir);
}

// Images with different numbers of captions (COCO has 5 to 7): image 0 owns captions 0-2,
// image 1 captions 3-4.
//   row 0: 0.9 0.1 0.2 | 0.8 0.3   best own 0.9, nothing above: rank 0
//   row 1: 0.5 0.6 0.7 | 0.2 0.4   best own 0.4, three above: rank 3 (a hit at K = 5 and 10)
//   t2i: caption 0: 0.9 vs 0.5 -> 0; 1: 0.1 vs 0.6 -> 1; 2: 0.2 vs 0.7 -> 1; 3: 0.2 vs 0.8 -> 1;
//        4: 0.4 vs 0.3 -> 0. i2t R@1 = 1/2, R@5 = R@10 = 1; t2i R@1 = 2/5, R@5 = R@10 = 1.
Test(evaluate, retrieval_with_ragged_captions) {
  static const float sim[2 * 5] = {0.9f, 0.1f, 0.2f, 0.8f, 0.3f, 0.5f, 0.6f, 0.7f, 0.2f, 0.4f};
  static const int32_t owner[5] = {0, 0, 0, 1, 1};
  gw_recall r;
  gw_retrieval_recall_ragged(sim, 2, 5, owner, &r);
  cr_assert_float_eq(r.i2t[0], 0.5, 1e-15);
  cr_assert_float_eq(r.i2t[1], 1.0, 1e-15);
  cr_assert_float_eq(r.i2t[2], 1.0, 1e-15);
  cr_assert_float_eq(r.t2i[0], 0.4, 1e-15);
  cr_assert_float_eq(r.t2i[1], 1.0, 1e-15);
  cr_assert_float_eq(r.t2i[2], 1.0, 1e-15);
  cr_assert_float_eq(r.rsum, 0.5 + 1 + 1 + 0.4 + 1 + 1, 1e-15);
}

// ---- classification ----

Test(evaluate, top1) {
  const char *dir = data_dir();
  gw_dataset d = dataset(GW_TASK_CLASSIFY, dir, 4, 4);
  static const int32_t truth[4] = {0, 1, 2, 3}, pred[4] = {0, 1, 2, 0};
  d.labels = malloc(sizeof truth);
  memcpy(d.labels, truth, sizeof truth);
  d.n_classes = 4;
  F = (fixed){.label = pred};
  gw_metrics m = evaluate(GW_TASK_CLASSIFY, &d, 3);
  ASSERT_METRIC(m, "top1", 0.75);
  ASSERT_METRIC(m, "samples", 4);
  free_dataset(&d);
  remove_dir(dir);
}

// ---- metrics-SPLIT.json ----

// Flat keys after split, step, weights, checkpoint and protocol; written to a temporary file and
// renamed (none is left); names with quotes are escaped.
Test(evaluate, metrics_json_is_flat) {
  const char *dir = data_dir();
  gw_metrics m = {0};
  snprintf(m.protocol, sizeof m.protocol, "a \"quoted\" protocol");
  gw_metrics_set(&m, "acc@0.5", 0.25);
  gw_metrics_set_detail(&m, "acc@0.5_L1", 0.5);
  gw_metrics_set(&m, "vqa_acc_yes/no", 1.0);
  char path[512];
  snprintf(path, sizeof path, "%s/metrics-val.json", dir);
  cr_assert_eq(gw_metrics_write_json(path, &m, "val", 42, "ema", "runs/x/ckpt/best.h5"), 0, "%s",
               gw_last_error());
  json_error_t err;
  json_t *o = json_load_file(path, 0, &err);
  cr_assert(o, "not JSON: %s", err.text);
  cr_assert_str_eq(json_string_value(json_object_get(o, "split")), "val");
  cr_assert_eq(json_integer_value(json_object_get(o, "step")), 42);
  cr_assert_str_eq(json_string_value(json_object_get(o, "weights")), "ema");
  cr_assert_str_eq(json_string_value(json_object_get(o, "checkpoint")), "runs/x/ckpt/best.h5");
  cr_assert_str_eq(json_string_value(json_object_get(o, "protocol")), "a \"quoted\" protocol");
  cr_assert_float_eq(json_number_value(json_object_get(o, "acc@0.5")), 0.25, 1e-12);
  cr_assert_float_eq(json_number_value(json_object_get(o, "acc@0.5_L1")), 0.5, 1e-12);
  cr_assert_float_eq(json_number_value(json_object_get(o, "vqa_acc_yes/no")), 1.0, 1e-12);
  json_decref(o);
  strcat(path, ".tmp");
  cr_assert(access(path, F_OK) != 0, "%s was left behind", path);
  remove_dir(dir);
}
