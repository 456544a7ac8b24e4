#include "eval/evaluate.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "datasets/sw_text.h"
#include "eval/metrics.h"
#include "tensor/h5io.h"

static void set(gw_metrics *m, const char *name, double value, bool detail) {
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->name[i], name)) {
      m->value[i] = value;
      m->detail[i] = detail;
      return;
    }
  if (m->n == GW_MAX_METRICS) return;
  snprintf(m->name[m->n], sizeof m->name[0], "%s", name);
  m->detail[m->n] = detail;
  m->value[m->n++] = value;
}

bool gw_metric_is_breakdown(const char *name) {
  const char *l = strstr(name, "_L");
  return (l && isdigit((unsigned char)l[2]) && !l[3]) || !strncmp(name, "vqa_acc_q_", 10);
}

void gw_metrics_set(gw_metrics *m, const char *name, double value) { set(m, name, value, false); }
void gw_metrics_set_detail(gw_metrics *m, const char *name, double value) { set(m, name, value, true); }

double gw_metrics_get(const gw_metrics *m, const char *name) {
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->name[i], name)) return m->value[i];
  return NAN;
}

// A JSON string (names and paths may hold quotes or backslashes).
static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", (unsigned char)*s);
    else fputc(*s, f);
  }
  fputc('"', f);
}

int gw_metrics_write_json(const char *path, const gw_metrics *m, const char *split, int64_t step,
                          const char *weights, const char *checkpoint) {
  char tmp[2100];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    gw_set_error("%s: cannot write (%s)", tmp, strerror(errno));
    return -1;
  }
  fprintf(f, "{\n  \"split\": ");
  json_str(f, split);
  fprintf(f, ",\n  \"step\": %lld,\n  \"weights\": ", (long long)step);
  json_str(f, weights);
  if (checkpoint) {
    fprintf(f, ",\n  \"checkpoint\": ");
    json_str(f, checkpoint);
  }
  fprintf(f, ",\n  \"protocol\": ");
  json_str(f, m->protocol);
  for (int i = 0; i < m->n; i++) {
    fprintf(f, ",\n  ");
    json_str(f, m->name[i]);
    fprintf(f, ": %.6g", m->value[i]);
  }
  fprintf(f, "\n}\n");
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    gw_set_error("%s: cannot write (%s)", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

void gw_metrics_write_jsonl(FILE *f, const gw_metrics *m, const char *split, int64_t step) {
  fprintf(f, "{\"step\": %lld, \"split\": ", (long long)step);
  json_str(f, split);
  for (int i = 0; i < m->n; i++) {
    fprintf(f, ", ");
    json_str(f, m->name[i]);
    fprintf(f, ": %.6g", m->value[i]);
  }
  fprintf(f, "}\n");
}

const char *gw_main_metric(gw_data_task task) {
  switch (task) {
    case GW_TASK_REC: return "acc@0.5";
    case GW_TASK_VQA: return "vqa_acc";
    case GW_TASK_CAPTION: return "i2t_r@1";
    default: return "top1";
  }
}

// ---- what the data set's file says beyond the loader's arrays ----

// An optional array of d's file with `rows` rows of `cols` values, as floats (NULL when the file
// does not have it, or has it in another shape).
static float *optional_array(const gw_dataset *d, const char *name, int64_t rows, int cols) {
  gw_h5 *f = gw_h5_open(d->path);
  if (!f) return NULL;
  float *v = NULL;
  int nd;
  int64_t shape[GW_MAX_DIMS];
  if (gw_h5_exists(f, name) && gw_h5_array_shape(f, name, &nd, shape) == 0 && shape[0] == rows &&
      ((cols == 1 && nd == 1) || (nd == 2 && shape[1] == cols))) {
    v = malloc((size_t)(rows * cols + 1) * sizeof *v);
    if (gw_h5_read_array(f, name, GW_H5_F32, nd, shape, v) < 0) {
      free(v);
      v = NULL;
    }
  }
  gw_h5_close(f);
  return v;
}

// The names of the question families of a VQA data set: meta.json's "question_families", else
// shapes world's own for a generated set (meta.json has sw_version), else NULL.
static json_t *family_names(const gw_dataset *d, bool *shapes_world) {
  char dir[1100], meta[1200];
  snprintf(dir, sizeof dir, "%s", d->path);
  snprintf(meta, sizeof meta, "%s/meta.json", dirname(dir));
  json_t *m = json_load_file(meta, 0, NULL);
  *shapes_world = m && json_object_get(m, "sw_version");
  json_t *names = m ? json_object_get(m, "question_families") : NULL;
  if (names) json_incref(names);
  json_decref(m);
  if (!names && *shapes_world) {
    names = json_array();
    for (int k = 0; k < SW_N_Q_FAMILIES; k++)
      json_array_append_new(names, json_string(sw_question_family_names[k]));
  }
  return names;
}

// A metric name from a free-form label: lower case, runs of other characters as one '_'.
static void key_of(const char *prefix, const char *label, char *out, size_t n) {
  size_t len = (size_t)snprintf(out, n, "%s", prefix);
  bool sep = false;
  for (const char *p = label; *p && len + 2 < n; p++) {
    if (isalnum((unsigned char)*p)) {
      if (sep && len > strlen(prefix)) out[len++] = '_';
      out[len++] = (char)tolower((unsigned char)*p);
      sep = false;
    } else {
      sep = true;
    }
  }
  out[len] = '\0';
}

// ---- evaluation ----

// Line k of labels (one name per line) as a JSON string, or null.
static json_t *label_json(const char *labels, int k) {
  const char *p = labels;
  for (int i = 0; p && i < k; i++) {
    p = strchr(p, '\n');
    if (p) p++;
  }
  if (k < 0 || !p || !*p) return json_null();
  return json_stringn(p, strcspn(p, "\n"));
}

static json_t *box_json(const float *b) {
  json_t *a = json_array();
  for (int k = 0; k < 4; k++) json_array_append_new(a, json_real(round(b[k] * 100.0) / 100.0));
  return a;
}

// One JSON line per evaluated sample (what the model said, beside the truth).
// The six recalls and their sum, named i2t_r@K<suffix>, t2i_r@K<suffix>, rsum<suffix>.
static void set_recall(gw_metrics *out, const gw_recall *rec, const char *suffix) {
  static const char *const ks[3] = {"1", "5", "10"};
  char key[GW_METRIC_NAME];
  for (int k = 0; k < 3; k++) {
    snprintf(key, sizeof key, "i2t_r@%s%s", ks[k], suffix);
    gw_metrics_set(out, key, rec->i2t[k]);
  }
  for (int k = 0; k < 3; k++) {
    snprintf(key, sizeof key, "t2i_r@%s%s", ks[k], suffix);
    gw_metrics_set(out, key, rec->t2i[k]);
  }
  snprintf(key, sizeof key, "rsum%s", suffix);
  gw_metrics_set(out, key, rec->rsum);
}

static int write_predictions(FILE *f, const gw_dataset *d, int64_t n, const int64_t *sample,
                             const int32_t *sample_image, const float *pred_boxes,
                             const float *gt_boxes, const int32_t *pred, const double *vqa,
                             const char *labels) {
  char text[1024];
  for (int64_t i = 0; i < n; i++) {
    int64_t s = sample[i];
    json_t *o = json_object();
    json_object_set_new(o, "sample", json_integer(s));
    json_object_set_new(o, "image", json_integer(d->source_id ? d->source_id[sample_image[i]]
                                                              : sample_image[i]));
    if (d->task != GW_TASK_CLASSIFY) {
      if (d->tokens) gw_vocab_decode(&d->vocab, d->tokens + s * d->max_len, d->lengths[s], text, sizeof text);
      else text[0] = '\0';
      json_object_set_new(o, "text", json_string(text));
    }
    if (d->task == GW_TASK_REC) {
      json_object_set_new(o, "level", json_integer(d->levels ? d->levels[s] : -1));
      json_object_set_new(o, "box", box_json(pred_boxes + 4 * i));
      json_object_set_new(o, "target", box_json(gt_boxes + 4 * i));
      double iou = gw_box_iou_xyxy(pred_boxes + 4 * i, gt_boxes + 4 * i);
      json_object_set_new(o, "iou", json_real(round(iou * 1e4) / 1e4));
      json_object_set_new(o, "correct", json_boolean(iou >= 0.5));
    } else if (d->task == GW_TASK_VQA) {
      json_object_set_new(o, "answer", label_json(labels, pred[i]));
      json_object_set_new(o, "answer_id", json_integer(pred[i]));
      json_object_set_new(o, "score", json_real(round(vqa[i] * 1e4) / 1e4));
    } else if (d->task == GW_TASK_CLASSIFY) {
      json_object_set_new(o, "class", label_json(labels, pred[i]));
      json_object_set_new(o, "class_id", json_integer(pred[i]));
      json_object_set_new(o, "true_class_id", json_integer(d->labels[s]));
      json_object_set_new(o, "correct", json_boolean(pred[i] == d->labels[s]));
    }
    int rc = json_dumpf(o, f, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(8));
    json_decref(o);
    if (rc < 0 || fputc('\n', f) == EOF) {
      gw_set_error("evaluate: cannot write the predictions (disk full?)");
      return -1;
    }
  }
  return 0;
}

int gw_evaluate(const gw_model_ops *ops, void *model, gw_nn *nn, const gw_dataset *d,
                int batch_size, int64_t max_samples, gw_metrics *out) {
  return gw_evaluate_predictions(ops, model, nn, d, batch_size, max_samples, NULL, NULL, out);
}

int gw_evaluate_predictions(const gw_model_ops *ops, void *model, gw_nn *nn, const gw_dataset *d,
                            int batch_size, int64_t max_samples, FILE *predictions,
                            const char *labels, gw_metrics *out) {
  memset(out, 0, sizeof *out);
  int64_t n = max_samples > 0 && max_samples < d->n_samples ? max_samples : d->n_samples;
  gw_loader l;
  if (gw_loader_open(&l, d, batch_size, false, false, 0, (gw_augment){0}, (gw_loader_state){0}, 0) < 0)
    return -1;
  bool was_training = nn->training;
  gw_nn_train(nn, false);
  bool prev = gw_no_grad_begin();
  float *pred_boxes = NULL, *gt_boxes = NULL, *img_emb = NULL, *txt_emb = NULL;
  int32_t *levels = NULL, *sample_image = malloc((size_t)(n + 1) * sizeof *sample_image);
  int64_t *sample = malloc((size_t)(n + 1) * sizeof *sample);  // row -> sample of the split
  double *vqa = NULL;
  int32_t *pred = malloc((size_t)(n + 1) * sizeof *pred);  // VQA: the answer; classes: the class
  int64_t right = 0;
  int dim = 0;
  if (d->task == GW_TASK_REC) {
    pred_boxes = malloc((size_t)(n + 1) * 4 * sizeof(float));
    gt_boxes = malloc((size_t)(n + 1) * 4 * sizeof(float));
    levels = malloc((size_t)(n + 1) * sizeof(int32_t));
  }
  if (d->task == GW_TASK_VQA) vqa = malloc((size_t)(n + 1) * sizeof *vqa);
  gw_arena *arena = gw_arena_current();
  for (int64_t done = 0; done < n;) {
    const gw_batch *b = gw_loader_next(&l);
    int take = (int)(n - done < b->n ? n - done : b->n);
    gw_arena_mark mark = gw_arena_get_mark(arena);
    gw_inputs in;
    gw_inputs_from_batch(&in, b, d);
    gw_outputs o = {0};
    float boxes[b->n * 4];
    int32_t answer[b->n], label[b->n];
    o.boxes = boxes;
    o.answer = answer;
    o.label = label;
    ops->predict(model, &in, &o);  // retrieval: the model says its embedding size through o.dim
    for (int i = 0; i < take; i++) {
      int64_t at = done + i;
      sample[at] = b->index[i];
      sample_image[at] = d->image_of[b->index[i]];
      switch (d->task) {
        case GW_TASK_REC:
          memcpy(pred_boxes + 4 * at, boxes + 4 * i, 4 * sizeof(float));
          memcpy(gt_boxes + 4 * at, b->boxes + 4 * i, 4 * sizeof(float));
          levels[at] = b->levels[i];
          break;
        case GW_TASK_VQA:
          pred[at] = answer[i];
          vqa[at] = gw_vqa_accuracy(answer[i], d->answers10 + 10 * b->index[i]);
          break;
        case GW_TASK_CLASSIFY:
          pred[at] = label[i];
          right += label[i] == b->labels[i];
          break;
        case GW_TASK_CAPTION:
          if (o.dim && !img_emb) {
            dim = o.dim;
            img_emb = malloc((size_t)n * dim * sizeof(float));
            txt_emb = malloc((size_t)n * dim * sizeof(float));
          }
          if (o.dim) {
            memcpy(img_emb + at * dim, o.image_emb + (size_t)i * dim, (size_t)dim * sizeof(float));
            memcpy(txt_emb + at * dim, o.text_emb + (size_t)i * dim, (size_t)dim * sizeof(float));
          }
          break;
      }
    }
    done += take;
    gw_arena_rewind(arena, mark);
  }
  int rc = 0;
  gw_metrics_set(out, "samples", (double)n);
  if (d->task == GW_TASK_REC) {
    // converted data: boxes back into the source image's pixels, predictions clamped to it
    float *lb = optional_array(d, "source/letterbox", d->n_images, 4);
    float *size = lb ? optional_array(d, "source/size", d->n_images, 2) : NULL;
    if (lb && size)
      for (int64_t i = 0; i < n; i++) {
        const float *box_lb = lb + 4 * (int64_t)sample_image[i], *wh = size + 2 * (int64_t)sample_image[i];
        gw_box_unletterbox(pred_boxes + 4 * i, box_lb, wh[0], wh[1], pred_boxes + 4 * i);
        gw_box_unletterbox(gt_boxes + 4 * i, box_lb, wh[0], wh[1], gt_boxes + 4 * i);
      }
    snprintf(out->protocol, sizeof out->protocol,
             "REC: top-1 box per expression, IoU >= t of x1 y1 x2 y2 pixel-edge boxes "
             "(continuous, no +1) in %s pixels",
             lb && size ? "source-image" : "the data set's image");
    free(lb);
    free(size);
    gw_rec_metrics r;
    gw_rec_evaluate(pred_boxes, gt_boxes, levels, n, &r);
    gw_metrics_set(out, "acc@0.5", r.acc50);
    gw_metrics_set(out, "acc@0.75", r.acc75);
    gw_metrics_set(out, "miou", r.miou);
    for (int lv = 0; lv < 4; lv++)
      if (r.n_level[lv]) {
        char key[GW_METRIC_NAME];
        snprintf(key, sizeof key, "acc@0.5_L%d", lv);
        gw_metrics_set_detail(out, key, r.acc50_level[lv]);
        snprintf(key, sizeof key, "acc@0.75_L%d", lv);
        gw_metrics_set_detail(out, key, r.acc75_level[lv]);
        snprintf(key, sizeof key, "miou_L%d", lv);
        gw_metrics_set_detail(out, key, r.miou_level[lv]);
      }
  } else if (d->task == GW_TASK_VQA) {
    snprintf(out->protocol, sizeof out->protocol,
             "VQA v2 accuracy: mean over the 10 leave-one-out subsets of min(1, matches / 3); "
             "per type the same mean (not vqaEval.py's last-subset value)");
    // VQA v2's answer types, in the order of questions/answer_type: yes/no, number, other
    enum { N_TYPES = 3 };
    double sum = 0.0, type_sum[N_TYPES] = {0};
    int64_t type_n[N_TYPES] = {0};
    enum { MAX_FAM = 256 };
    double *fam_sum = calloc(MAX_FAM, sizeof *fam_sum);
    int64_t *fam_n = calloc(MAX_FAM, sizeof *fam_n);
    bool shapes_world;
    json_t *names = family_names(d, &shapes_world);
    float *types = optional_array(d, "questions/answer_type", d->n_samples, 1);
    for (int64_t i = 0; i < n; i++) {
      sum += vqa[i];
      int32_t fam = d->family ? d->family[sample[i]] : -1;
      int type = types ? (int)types[sample[i]] : -1;
      if (type < 0 && shapes_world && fam >= 0 && fam < SW_N_Q_FAMILIES) type = sw_question_answer_type(fam);
      if (type >= 0 && type < N_TYPES) type_sum[type] += vqa[i], type_n[type]++;
      if (fam >= 0 && fam < MAX_FAM) fam_sum[fam] += vqa[i], fam_n[fam]++;
    }
    gw_metrics_set(out, "vqa_acc", n ? sum / (double)n : 0.0);
    for (int t = 0; t < N_TYPES; t++)
      if (type_n[t]) {
        char key[GW_METRIC_NAME];
        snprintf(key, sizeof key, "vqa_acc_%s", sw_answer_type_names[t]);
        gw_metrics_set(out, key, type_sum[t] / (double)type_n[t]);
      }
    for (int fam = 0; fam < MAX_FAM; fam++)
      if (fam_n[fam]) {
        char key[GW_METRIC_NAME], num[16];
        const char *name = json_string_value(json_array_get(names, (size_t)fam));
        snprintf(num, sizeof num, "%d", fam);
        key_of("vqa_acc_q_", name ? name : num, key, sizeof key);
        gw_metrics_set_detail(out, key, fam_sum[fam] / (double)fam_n[fam]);
      }
    json_decref(names);
    free(types);
    free(fam_sum);
    free(fam_n);
  } else if (d->task == GW_TASK_CLASSIFY) {
    snprintf(out->protocol, sizeof out->protocol, "top-1 accuracy over the split");
    gw_metrics_set(out, "top1", n ? (double)right / (double)n : 0.0);
  } else if (d->task == GW_TASK_CAPTION) {
    snprintf(out->protocol, sizeof out->protocol,
             "retrieval: i2t R@K = images whose best-ranked own caption is in the top K; t2i R@K "
             "= captions whose image is in the top K; _lenient: any caption true of the image, any "
             "image the caption is true of, counts");
    // the images are the distinct image rows of the captions evaluated, in order of appearance
    int32_t *group = malloc((size_t)(d->n_images + 1) * sizeof *group);
    int32_t *cap_image = malloc((size_t)(n + 1) * sizeof *cap_image);
    int64_t *first = malloc((size_t)(n + 1) * sizeof *first), n_img = 0;
    for (int64_t i = 0; i < d->n_images; i++) group[i] = -1;
    for (int64_t j = 0; j < n; j++) {
      int32_t im = sample_image[j];
      if (group[im] < 0) {
        group[im] = (int32_t)n_img;
        first[n_img++] = j;
      }
      cap_image[j] = group[im];
    }
    if (!img_emb || n_img < 1) {
      gw_set_error("evaluate: the model gave no embeddings for retrieval");
      rc = -1;
    } else {
      float *sim = malloc((size_t)(n_img * n) * sizeof(float));
      for (int64_t i = 0; i < n_img; i++) {
        const float *e = img_emb + first[i] * dim;
        for (int64_t j = 0; j < n; j++) {
          float s = 0.0f;
          for (int k = 0; k < dim; k++) s += e[k] * txt_emb[j * dim + k];
          sim[i * n + j] = s;
        }
      }
      gw_recall rec;
      gw_retrieval_recall_ragged(sim, n_img, n, cap_image, &rec);
      set_recall(out, &rec, "");
      if (d->cap_true_start) {  // lenient: any image of the pool the caption is true of counts
        int64_t *start = malloc((size_t)(n + 1) * sizeof *start), n_true = 0;
        for (int64_t j = 0; j < n; j++) n_true += d->cap_true_start[sample[j] + 1] - d->cap_true_start[sample[j]];
        int32_t *true_images = malloc((size_t)(n_true + 1) * sizeof *true_images);
        start[0] = 0;
        for (int64_t j = 0; j < n; j++) {
          start[j + 1] = start[j];
          for (int32_t t = d->cap_true_start[sample[j]]; t < d->cap_true_start[sample[j] + 1]; t++)
            if (group[d->cap_true_images[t]] >= 0) true_images[start[j + 1]++] = group[d->cap_true_images[t]];
        }
        gw_retrieval_recall_truth(sim, n_img, n, start, true_images, &rec);
        set_recall(out, &rec, "_lenient");
        free(start);
        free(true_images);
      }
      free(sim);
    }
    free(group);
    free(cap_image);
    free(first);
  }
  if (rc == 0 && predictions)
    rc = write_predictions(predictions, d, n, sample, sample_image, pred_boxes, gt_boxes, pred, vqa,
                           labels);
  gw_no_grad_end(prev);
  gw_nn_train(nn, was_training);
  gw_loader_close(&l);
  free(pred);
  free(pred_boxes);
  free(gt_boxes);
  free(levels);
  free(vqa);
  free(sample_image);
  free(sample);
  free(img_emb);
  free(txt_emb);
  return rc;
}
