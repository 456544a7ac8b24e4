// Running a model over a split and computing its task's metrics.
//
// Keys (the flat names of metrics-SPLIT.json and metrics.jsonl):
//   REC        acc@0.5, acc@0.75, miou; by expression level acc@0.5_L<k>, acc@0.75_L<k>, miou_L<k>
//              Boxes are compared in the source image's pixels: a converted data set's
//              letterboxed boxes are mapped back (source/letterbox) and predictions clamped to
//              the source image.
//   VQA        vqa_acc (the official soft score); by VQA v2 answer type vqa_acc_yes/no,
//              vqa_acc_number, vqa_acc_other; by question family (shapes world) or question
//              type (VQA v2) vqa_acc_q_<name>
//   captions   i2t_r@1, i2t_r@5, i2t_r@10, t2i_r@1, t2i_r@5, t2i_r@10, rsum (the six summed)
//   classes    top1
// and everywhere `samples`, the number of samples evaluated. Values are shares in [0, 1].
#ifndef GW_EVAL_EVALUATE_H
#define GW_EVAL_EVALUATE_H

#include <stdbool.h>
#include <stdio.h>

#include "models/model.h"

enum { GW_MAX_METRICS = 128, GW_METRIC_NAME = 48 };

// Flat metrics, named as in metrics-SPLIT.json: "acc@0.5", "vqa_acc", "i2t_r@1", "top1", ...
typedef struct gw_metrics {
  int n;
  char name[GW_MAX_METRICS][GW_METRIC_NAME];
  double value[GW_MAX_METRICS];
  bool detail[GW_MAX_METRICS];  // a breakdown (by level, family) rather than a headline number
  char protocol[256];           // how the numbers were computed, in one line
} gw_metrics;

// Is a metric name a breakdown (by level: "..._L<k>"; by question family: "vqa_acc_q_...")
// rather than a headline number? The evaluator marks these as detail; the report tables them
// instead of drawing a chart each.
bool gw_metric_is_breakdown(const char *name);
// Sets a headline metric, or a breakdown (detail); a name not yet there is appended.
void gw_metrics_set(gw_metrics *m, const char *name, double value);
void gw_metrics_set_detail(gw_metrics *m, const char *name, double value);
// The value of a metric, or NAN.
double gw_metrics_get(const gw_metrics *m, const char *name);
// Writes metrics-SPLIT.json: {"split", "step", "weights", ["checkpoint",] "protocol", then every
// metric}, to path.tmp and renamed. checkpoint may be NULL. -1 with gw_last_error().
int gw_metrics_write_json(const char *path, const gw_metrics *m, const char *split, int64_t step,
                          const char *weights, const char *checkpoint);
// One metrics.jsonl row: {"step", "split", then every metric} and a newline.
void gw_metrics_write_jsonl(FILE *f, const gw_metrics *m, const char *split, int64_t step);

// The metric a task is judged by: "acc@0.5" (REC), "vqa_acc" (VQA), "i2t_r@1" (captions),
// "top1" (classification).
const char *gw_main_metric(gw_data_task task);

// Evaluates the model on at most max_samples samples of d (0: all) in evaluation mode, without
// gradients, and restores the training mode after. Returns 0 or -1.
int gw_evaluate(const gw_model_ops *ops, void *model, gw_nn *nn, const gw_dataset *d,
                int batch_size, int64_t max_samples, gw_metrics *out);
// The same, and one JSON line per sample evaluated into predictions (when not NULL), in the
// order evaluated. Every line has "sample" (its row in the split), "image" (the source's image
// id for a converted data set, else the image row) and "text" (its words; not for classes);
// then REC: "level", "box" (predicted), "target", "iou", "correct" (IoU >= 0.5), boxes x1 y1
// x2 y2 in the same pixels as the metrics; VQA: "answer" (its name from labels, or null),
// "answer_id", "score" (its soft score); classes: "class", "class_id", "true_class_id",
// "correct". labels (may be NULL): answer or class names, one per line in id order.
int gw_evaluate_predictions(const gw_model_ops *ops, void *model, gw_nn *nn, const gw_dataset *d,
                            int batch_size, int64_t max_samples, FILE *predictions,
                            const char *labels, gw_metrics *out);

#endif
