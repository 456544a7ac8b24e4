// Evaluation metrics, each with its protocol stated (shared/datasets.md §2, §6.11).
#ifndef GW_EVAL_METRICS_H
#define GW_EVAL_METRICS_H

#include <stdint.h>

// IoU of two boxes in x1, y1, x2, y2 (continuous coordinates: a box [x1, x2) has width x2 - x1).
double gw_box_iou_xyxy(const float *a, const float *b);

// A box of a letterboxed image mapped back to its source image (the inverse of x' = x * scale_x
// + dx, y' = y * scale_y + dy, as datasets/image_io.h's gw_letterbox_back), then clamped to the
// source's w x h (a prediction may reach into the pad).
void gw_box_unletterbox(const float in[4], const float lb[4], float w, float h, float out[4]);

// REC: top-1 box per expression. Acc@t = share of expressions whose box has IoU >= t with the
// ground truth (t = 0.5 is the standard, TransVG's test rule), and the mean IoU; the same three
// by level when levels are given.
typedef struct gw_rec_metrics {
  int64_t n;
  double acc50, acc75, miou;
  int64_t n_level[4];
  double acc50_level[4], acc75_level[4], miou_level[4];
} gw_rec_metrics;
void gw_rec_evaluate(const float *pred, const float *gt, const int32_t *levels, int64_t n,
                     gw_rec_metrics *out);

// VQA v2's official accuracy of one predicted answer against the 10 human answers: the mean,
// over the 10 ways of leaving one human out, of min(1, matches among the other 9 / 3).
double gw_vqa_accuracy(int32_t predicted, const int32_t *humans10);
// The official answer normalisation (lower case, punctuation, number words to digits,
// articles removed, contractions fixed), in place; used for string answers of real VQA data.
void gw_vqa_normalize(char *answer, int len);

// Retrieval with `per` captions per image: sim (n_images, n_images * per), caption j belongs to
// image j / per. i2t R@K: share of images whose best-ranked own caption is in the top K;
// t2i R@K: share of captions whose image is in the top K.
typedef struct gw_recall {
  double i2t[3], t2i[3];  // at K = 1, 5, 10
  double rsum;            // the sum of the six (as a share: x 100 gives the papers' rsum)
} gw_recall;
void gw_retrieval_recall(const float *sim, int64_t n_images, int per, gw_recall *out);
// The same with any number of captions per image: sim (n_images, n_caps), caption j belongs to
// image cap_image[j] (COCO has 5 to 7 captions per image).
void gw_retrieval_recall_ragged(const float *sim, int64_t n_images, int64_t n_caps,
                                const int32_t *cap_image, gw_recall *out);
// Lenient retrieval (datasets.md 6.10): a caption may be true of other images than its own
// (shapes world: "a red circle" fits every image with a red circle). Caption j is true of the
// images true_images[true_start[j] .. true_start[j + 1]) (rows of sim; its own among them).
// i2t R@K: share of images with a caption true of them in the top K; t2i R@K: share of captions
// with an image they are true of in the top K. With only the own image listed per caption this
// is gw_retrieval_recall_ragged, the strict variant.
void gw_retrieval_recall_truth(const float *sim, int64_t n_images, int64_t n_caps,
                               const int64_t *true_start, const int32_t *true_images,
                               gw_recall *out);

// Mean and sample standard deviation (n - 1) of values (few-shot accuracy over seeds).
void gw_mean_std(const double *v, int n, double *mean, double *std);

#endif
