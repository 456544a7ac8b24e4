#include "eval/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"

void gw_metrics_set(gw_metrics *m, const char *name, double value) {
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->name[i], name)) {
      m->value[i] = value;
      return;
    }
  if (m->n == GW_MAX_METRICS) return;
  snprintf(m->name[m->n], sizeof m->name[0], "%s", name);
  m->value[m->n++] = value;
}

double gw_metrics_get(const gw_metrics *m, const char *name) {
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->name[i], name)) return m->value[i];
  return NAN;
}

const char *gw_main_metric(gw_data_task task) {
  switch (task) {
    case GW_TASK_REC: return "acc@0.5";
    case GW_TASK_VQA: return "vqa_acc";
    case GW_TASK_CAPTION: return "i2t_r@1";
    default: return "top1";
  }
}

int gw_evaluate(const gw_model_ops *ops, void *model, gw_nn *nn, const gw_dataset *d,
                int batch_size, int64_t max_samples, gw_metrics *out) {
  memset(out, 0, sizeof *out);
  int64_t n = max_samples > 0 && max_samples < d->n_samples ? max_samples : d->n_samples;
  gw_loader l;
  if (gw_loader_open(&l, d, batch_size, false, false, 0, (gw_augment){0}, (gw_loader_state){0}, 0) < 0)
    return -1;
  bool was_training = nn->training;
  gw_nn_train(nn, false);
  bool prev = gw_no_grad_begin();
  float *pred_boxes = NULL, *gt_boxes = NULL, *img_emb = NULL, *txt_emb = NULL;
  int32_t *levels = NULL;
  double vqa_sum = 0.0, vqa_family_sum[64] = {0};
  int64_t vqa_family_n[64] = {0}, right = 0;
  int dim = 0;
  if (d->task == GW_TASK_REC) {
    pred_boxes = malloc((size_t)n * 4 * sizeof(float));
    gt_boxes = malloc((size_t)n * 4 * sizeof(float));
    levels = malloc((size_t)n * sizeof(int32_t));
  }
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
    if (d->task == GW_TASK_CAPTION) {  // the model says its embedding size through o.dim
      o.image_emb = NULL;
      o.text_emb = NULL;
    }
    ops->predict(model, &in, &o);
    for (int i = 0; i < take; i++) {
      int64_t at = done + i;
      switch (d->task) {
        case GW_TASK_REC:
          memcpy(pred_boxes + 4 * at, boxes + 4 * i, 4 * sizeof(float));
          memcpy(gt_boxes + 4 * at, b->boxes + 4 * i, 4 * sizeof(float));
          levels[at] = b->levels[i];
          break;
        case GW_TASK_VQA: {
          double acc = gw_vqa_accuracy(answer[i], d->answers10 + 10 * b->index[i]);
          int fam = d->family[b->index[i]] & 63;
          vqa_sum += acc;
          vqa_family_sum[fam] += acc;
          vqa_family_n[fam]++;
          break;
        }
        case GW_TASK_CLASSIFY: right += label[i] == b->labels[i]; break;
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
    gw_rec_metrics r;
    gw_rec_evaluate(pred_boxes, gt_boxes, levels, n, &r);
    gw_metrics_set(out, "acc@0.5", r.acc50);
    gw_metrics_set(out, "acc@0.75", r.acc75);
    gw_metrics_set(out, "miou", r.miou);
    for (int lv = 0; lv < 4; lv++)
      if (r.n_level[lv]) {
        char key[32];
        snprintf(key, sizeof key, "acc@0.5_L%d", lv);
        gw_metrics_set(out, key, r.acc50_level[lv]);
      }
  } else if (d->task == GW_TASK_VQA) {
    gw_metrics_set(out, "vqa_acc", n ? vqa_sum / (double)n : 0.0);
    for (int fam = 0; fam < 64; fam++)
      if (vqa_family_n[fam]) {
        char key[32];
        snprintf(key, sizeof key, "vqa_acc_family%d", fam);
        gw_metrics_set(out, key, vqa_family_sum[fam] / (double)vqa_family_n[fam]);
      }
  } else if (d->task == GW_TASK_CLASSIFY) {
    gw_metrics_set(out, "top1", n ? (double)right / (double)n : 0.0);
  } else if (d->task == GW_TASK_CAPTION) {
    // captions come grouped by image: images are the distinct rows; each has `per` captions
    int per = 0;
    while (per < n && d->image_of[per] == d->image_of[0]) per++;
    int64_t n_img = per ? n / per : 0;
    if (!img_emb || n_img < 1) {
      gw_set_error("evaluate: the model gave no embeddings for retrieval");
      rc = -1;
    } else {
      float *sim = malloc((size_t)(n_img * n_img * per) * sizeof(float));
      for (int64_t i = 0; i < n_img; i++)
        for (int64_t j = 0; j < n_img * per; j++) {
          float s = 0.0f;
          for (int k = 0; k < dim; k++) s += img_emb[(i * per) * dim + k] * txt_emb[j * dim + k];
          sim[i * n_img * per + j] = s;
        }
      gw_recall rec;
      gw_retrieval_recall(sim, n_img, per, &rec);
      static const char *const ks[3] = {"1", "5", "10"};
      for (int k = 0; k < 3; k++) {
        char key[32];
        snprintf(key, sizeof key, "i2t_r@%s", ks[k]);
        gw_metrics_set(out, key, rec.i2t[k]);
        snprintf(key, sizeof key, "t2i_r@%s", ks[k]);
        gw_metrics_set(out, key, rec.t2i[k]);
      }
      free(sim);
    }
  }
  gw_no_grad_end(prev);
  gw_nn_train(nn, was_training);
  gw_loader_close(&l);
  free(pred_boxes);
  free(gt_boxes);
  free(levels);
  free(img_emb);
  free(txt_emb);
  return rc;
}
