// Running a model over a split and computing its task's metrics.
#ifndef GW_EVAL_EVALUATE_H
#define GW_EVAL_EVALUATE_H

#include "models/model.h"

enum { GW_MAX_METRICS = 40 };

// Flat metrics, named as in metrics-SPLIT.json: "acc@0.5", "vqa_acc", "i2t_r@1", "top1", ...
typedef struct gw_metrics {
  int n;
  char name[GW_MAX_METRICS][32];
  double value[GW_MAX_METRICS];
} gw_metrics;

void gw_metrics_set(gw_metrics *m, const char *name, double value);
// The value of a metric, or NAN.
double gw_metrics_get(const gw_metrics *m, const char *name);

// The metric a task is judged by: "acc@0.5" (REC), "vqa_acc" (VQA), "i2t_r@1" (captions),
// "top1" (classification).
const char *gw_main_metric(gw_data_task task);

// Evaluates the model on at most max_samples samples of d (0: all) in evaluation mode, without
// gradients, and restores the training mode after. Returns 0 or -1.
int gw_evaluate(const gw_model_ops *ops, void *model, gw_nn *nn, const gw_dataset *d,
                int batch_size, int64_t max_samples, gw_metrics *out);

#endif
