// Golden tests of the evaluation metrics (shared/datasets.md §2.1-2.4, §6.11): the values come
// from the official definitions (vqaEval.py, VSE++'s i2t/t2i, CoOp's parse_test_res.py), worked
// out by hand or with the official code, not from our implementation.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval/metrics.h"
#include "testutil.h"

TestSuite(metrics, .init = gwt_setup, .fini = gwt_teardown, .timeout = 30);

// ---- IoU and REC accuracy ----

// datasets.md §2.1: xywh (0,0,10,10) vs (5,0,10,10) -> intersection 50, union 150, IoU 1/3
// (continuous coordinates, no +1).
Test(metrics, iou_golden_example) {
  const float a[4] = {0, 0, 10, 10}, b[4] = {5, 0, 15, 10};  // the same boxes as x1 y1 x2 y2
  cr_assert_eq(gw_box_iou_xyxy(a, b), 50.0 / 150.0, "IoU %.17g, want 1/3", gw_box_iou_xyxy(a, b));
  cr_assert_eq(gw_box_iou_xyxy(b, a), 50.0 / 150.0, "IoU is symmetric");
  cr_assert_eq(gw_box_iou_xyxy(a, a), 1.0);
  // touching edges share no area: [0, 10) and [10, 20) do not overlap
  const float c[4] = {10, 0, 20, 10};
  cr_assert_eq(gw_box_iou_xyxy(a, c), 0.0);
  const float far[4] = {30, 30, 40, 40};
  cr_assert_eq(gw_box_iou_xyxy(a, far), 0.0);
}

// Acc@0.5 counts IoU >= 0.5 (TransVG's test rule), Acc@0.75 likewise, mean IoU over all, and
// Acc@0.5 by expression level; boxes whose IoU is exactly the threshold count as hits.
Test(metrics, rec_accuracy_by_level) {
  const float gt[4] = {0, 0, 10, 10};
  // predictions with IoU 1, 0.75, 0.5, 1/3, 0 (exact in binary: 75/100, 50/100)
  const float preds[5][4] = {
      {0, 0, 10, 10}, {0, 0, 10, 7.5f}, {0, 0, 10, 5}, {5, 0, 15, 10}, {20, 20, 30, 30}};
  const double ious[5] = {1.0, 0.75, 0.5, 1.0 / 3.0, 0.0};
  for (int i = 0; i < 5; i++)
    cr_assert_eq(gw_box_iou_xyxy(preds[i], gt), ious[i], "case %d: IoU %.17g, want %.17g", i,
                 gw_box_iou_xyxy(preds[i], gt), ious[i]);
  // 8 expressions: the five above at levels 0, 1, 1, 2, 3, then IoU 1 at level 3, IoU 0 at
  // level 0, and IoU 0.5 with no valid level (-1: counted overall, in no level)
  enum { N = 8 };
  const int which[N] = {0, 1, 2, 3, 4, 0, 4, 2};
  const int32_t levels[N] = {0, 1, 1, 2, 3, 3, 0, -1};
  float pred[N * 4], gts[N * 4];
  for (int i = 0; i < N; i++) {
    memcpy(pred + 4 * i, preds[which[i]], sizeof preds[0]);
    memcpy(gts + 4 * i, gt, sizeof gt);
  }
  gw_rec_metrics m;
  gw_rec_evaluate(pred, gts, levels, N, &m);
  cr_assert_eq(m.n, N);
  // IoU >= 0.5: cases 0, 1, 2, 5, 7 -> 5 of 8; IoU >= 0.75: cases 0, 1, 5 -> 3 of 8
  cr_assert_float_eq(m.acc50, 5.0 / 8.0, 1e-15, "Acc@0.5 %g, want 5/8", m.acc50);
  cr_assert_float_eq(m.acc75, 3.0 / 8.0, 1e-15, "Acc@0.75 %g, want 3/8", m.acc75);
  double miou = (1.0 + 0.75 + 0.5 + 1.0 / 3.0 + 0.0 + 1.0 + 0.0 + 0.5) / N;
  cr_assert_float_eq(m.miou, miou, 1e-15, "mean IoU %.17g, want %.17g", m.miou, miou);
  // level 0: IoU 1 and 0 -> 1/2; level 1: 0.75 and 0.5 -> 2/2; level 2: 1/3 -> 0/1;
  // level 3: 0 and 1 -> 1/2
  const int64_t n_level[4] = {2, 2, 1, 2};
  const double acc_level[4] = {0.5, 1.0, 0.0, 0.5};
  for (int l = 0; l < 4; l++) {
    cr_assert_eq(m.n_level[l], n_level[l], "level %d: %lld expressions, want %lld", l,
                 (long long)m.n_level[l], (long long)n_level[l]);
    cr_assert_float_eq(m.acc50_level[l], acc_level[l], 1e-15, "level %d: Acc@0.5 %g, want %g", l,
                       m.acc50_level[l], acc_level[l]);
  }
  // no levels at all: the overall numbers are the same, every level is empty
  gw_rec_metrics m2;
  gw_rec_evaluate(pred, gts, NULL, N, &m2);
  cr_assert_eq(m2.acc50, m.acc50);
  for (int l = 0; l < 4; l++) cr_assert_eq(m2.n_level[l], 0);
  // an empty set gives zeros, not NaN
  gw_rec_evaluate(pred, gts, levels, 0, &m2);
  cr_assert(m2.acc50 == 0.0 && m2.miou == 0.0);
}

// ---- VQA ----

// The official score with the prediction matching k of the 10 human answers: the mean over the
// 10 leave-one-out subsets of min(1, matches / 3) is 0, 0.3, 0.6, 0.9, 1 for k = 0, 1, 2, 3, >= 4
// (k = 1: nine subsets score 1/3 -> 9/30; k = 2: 2 x 1/3 + 8 x 2/3 = 18/3 -> 0.6; k = 3:
// 3 x 2/3 + 7 x 1 = 9 -> 0.9). The expected doubles are what vqaEval.py computes
// (float(sum(gtAcc)) / len(gtAcc), summed in answer order), which depends on where the matches
// sit in the float's last bit: e.g. matches at answers 8, 9 give 0.5999999999999999.
Test(metrics, vqa_accuracy_official_values) {
  typedef struct {
    int n;
    int at[10];
    double want;  // vqaEval.py's value (CPython 3)
  } vqa_case;
  static const vqa_case cases[] = {
      {0, {0}, 0x0.0p+0},
      {1, {0}, 0x1.3333333333333p-2},        // 0.3
      {1, {9}, 0x1.3333333333333p-2},        // 0.3
      {2, {0, 1}, 0x1.3333333333333p-1},     // 0.6
      {2, {8, 9}, 0x1.3333333333332p-1},     // 0.5999999999999999
      {2, {0, 9}, 0x1.3333333333333p-1},     // 0.6
      {2, {3, 5}, 0x1.3333333333334p-1},     // 0.6000000000000001
      {3, {0, 1, 2}, 0x1.ccccccccccccdp-1},  // 0.9
      {3, {7, 8, 9}, 0x1.ccccccccccccdp-1},  // 0.9
      {3, {0, 5, 9}, 0x1.ccccccccccccbp-1},  // 0.8999999999999998
      {4, {0, 1, 2, 3}, 0x1.0p+0},           // 1
      {10, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0x1.0p+0},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int32_t humans[10];
    for (int h = 0; h < 10; h++) humans[h] = 100 + h % 3;  // other answers (never 7)
    for (int k = 0; k < cases[c].n; k++) humans[cases[c].at[k]] = 7;
    double got = gw_vqa_accuracy(7, humans);
    cr_assert_eq(got, cases[c].want, "case %zu (%d matches): %.17g, want %.17g", c, cases[c].n, got,
                 cases[c].want);
  }
  // every placement of k matches rounds to the closed form within an ulp or two
  static const double closed[5] = {0.0, 0.3, 0.6, 0.9, 1.0};
  for (int mask = 0; mask < 1024; mask++) {
    int32_t humans[10];
    int k = 0;
    for (int h = 0; h < 10; h++) {
      humans[h] = (mask >> h & 1) ? 7 : 3;
      k += mask >> h & 1;
    }
    double got = gw_vqa_accuracy(7, humans);
    cr_assert(fabs(got - closed[k < 4 ? k : 4]) <= 4e-16, "mask %#x (k = %d): %.17g", mask, k, got);
  }
}

// The answer normalisation of vqaEval.py (GT-Vision-Lab/VQA master, c4e6a0e, Python 3): the
// punctuation list there is ; / [ ] " { } ( ) = + \ _ - > < @ ` , ? ! (no ':' and no apostrophe;
// datasets.md §2.2 quotes an older revision whose list had ':' and ''' and not '-' or '!').
// Each expected output below is what that code returns for the input.
Test(metrics, vqa_normalisation_official_cases) {
  static const char *const cases[][2] = {
      {"Two", "2"},
      {"the dog.", "dog"},
      {"yes!", "yes"},  // '!' touches no space: replaced by a space, then split away
      {"Yes", "yes"},
      {"  a Cat  ", "cat"},
      {"an apple", "apple"},
      {"red, white", "red white"},  // ", " touches a space: the comma is deleted
      {"1,000", "1000"},            // a comma between digits deletes every mark
      {"3.5", "3.5"},               // a period before a digit stays
      {"end.", "end"},
      {"1.", "1"},
      {"e.g. x", "eg x"},
      {"mr. smith", "mr smith"},
      {"black-and-white", "black and white"},
      {"left/right", "left right"},
      {"(blue)", "blue"},
      {"what?", "what"},
      {"x - y", "x y"},
      {"a;b", "b"},       // "a b", then the article goes
      {"no :)", "no :"},  // ':' is not a mark in the current list
      {"it's", "it's"},   // nor is the apostrophe
      {"ten", "10"},
      {"none of them", "0 of them"},
      {"one two three", "1 2 3"},
      {"Ten\tdogs", "10 dogs"},
      {"dont", "don't"},
      {"hes", "he's"},
      {"shouldve", "should've"},
      {"yall", "y'all"},
      {"wheres", "where's"},
      {"couldn'tve", "couldn't've"},
      {"im", "im"},  // the official keys "Im", "Ive" never match a lower-cased word
      {"ive", "ive"},
      {"its", "its"},
      {"", ""},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", cases[c][0]);
    gw_vqa_normalize(buf, sizeof buf);
    cr_assert_str_eq(buf, cases[c][1], "normalise(\"%s\") = \"%s\", want \"%s\"", cases[c][0], buf,
                     cases[c][1]);
  }
  // the result is cut to the buffer it is written into
  char small[4] = "two";
  gw_vqa_normalize(small, 2);
  cr_assert_str_eq(small, "2");
}

// ---- retrieval ----

// A hand-built 3 x 15 similarity matrix (3 images, 5 captions each; caption j is image j / 5's),
// no ties in any row or column. Ranks, as VSE++'s i2t/t2i compute them:
//   i2t: image 0's best own caption is first in its row (rank 0); image 1's has captions 0, 1
//        and 12 above it (rank 3); image 2's has 8 captions above it (rank 8)
//        -> R@1 = 1/3, R@5 = 2/3, R@10 = 3/3
//   t2i: caption ranks 2 2 0 1 1 | 1 1 0 0 0 | 2 2 2 1 0 -> R@1 = 5/15, R@5 = R@10 = 1
Test(metrics, recall_at_k_hand_built) {
  static const float sim[3 * 15] = {
      0.50, 0.40, 0.99, 0.30, 0.20, 0.10, 0.15, 0.25, 0.05, 0.12, 0.35, 0.45, 0.22, 0.08, 0.18,
      0.90, 0.80, 0.11, 0.13, 0.14, 0.55, 0.21, 0.60, 0.31, 0.41, 0.09, 0.19, 0.70, 0.29, 0.39,
      0.95, 0.85, 0.75, 0.65, 0.62, 0.58, 0.57, 0.56, 0.03, 0.04, 0.06, 0.07, 0.16, 0.17, 0.50,
  };
  gw_recall r;
  gw_retrieval_recall(sim, 3, 5, &r);
  const double i2t[3] = {1.0 / 3, 2.0 / 3, 1.0}, t2i[3] = {5.0 / 15, 1.0, 1.0};
  static const char *const ks[3] = {"1", "5", "10"};
  for (int k = 0; k < 3; k++) {
    cr_assert_float_eq(r.i2t[k], i2t[k], 1e-15, "i2t R@%s = %g, want %g", ks[k], r.i2t[k], i2t[k]);
    cr_assert_float_eq(r.t2i[k], t2i[k], 1e-15, "t2i R@%s = %g, want %g", ks[k], r.t2i[k], t2i[k]);
  }
}

// Lenient retrieval: a caption true of another image than its own (datasets.md 6.10) may find
// that one. 2 images, 3 captions; caption 0 (image 0's) is also true of image 1.
//   sim    cap0 cap1 cap2     strict: i2t image 0 (own 0, 1: best 0.2) has 0.9 above; image 1
//   img0   0.2  0.1  0.9              (own 2: 0.5) has 0.8 above; t2i each caption has the other
//   img1   0.8  0.3  0.5              image above it -> R@1 = 0 both ways
//   lenient: image 1's true captions are 0 and 2, best 0.8, first in its row: i2t R@1 = 1/2;
//            caption 0 finds image 1 first: t2i R@1 = 1/3. R@5 = 1 everywhere (2 images).
Test(metrics, lenient_recall_counts_any_image_the_caption_is_true_of) {
  static const float sim[2 * 3] = {0.2f, 0.1f, 0.9f, 0.8f, 0.3f, 0.5f};
  static const int32_t own[3] = {0, 0, 1}, truth[4] = {0, 1, 0, 1};
  static const int64_t start[4] = {0, 2, 3, 4};
  gw_recall strict, lenient;
  gw_retrieval_recall_ragged(sim, 2, 3, own, &strict);
  gw_retrieval_recall_truth(sim, 2, 3, start, truth, &lenient);
  cr_assert_float_eq(strict.i2t[0], 0.0, 1e-15);
  cr_assert_float_eq(strict.t2i[0], 0.0, 1e-15);
  cr_assert_float_eq(lenient.i2t[0], 0.5, 1e-15, "lenient i2t R@1 = %g", lenient.i2t[0]);
  cr_assert_float_eq(lenient.t2i[0], 1.0 / 3, 1e-15, "lenient t2i R@1 = %g", lenient.t2i[0]);
  for (int k = 1; k < 3; k++) {
    cr_assert_float_eq(strict.i2t[k], 1.0, 1e-15);
    cr_assert_float_eq(lenient.t2i[k], 1.0, 1e-15);
  }
  cr_assert_float_eq(lenient.rsum, 0.5 + 1.0 / 3 + 4.0, 1e-12, "rsum %g", lenient.rsum);
}

// ---- few-shot averaging over seeds ----

// Top-1 over seeds is reported as mean +- std. gw_mean_std uses the sample std (n - 1), as its
// header states: 62.5, 60, 65 -> mean 62.5, std 2.5 (CoOp's parse_test_res.py prints np.std,
// the population std, which would be 2.0412 here).
Test(metrics, fewshot_mean_std_over_seeds) {
  const double top1[3] = {62.5, 60.0, 65.0};
  double mean, std;
  gw_mean_std(top1, 3, &mean, &std);
  cr_assert_float_eq(mean, 62.5, 1e-12, "mean %g", mean);
  cr_assert_float_eq(std, 2.5, 1e-12, "std %g, want 2.5 (n - 1)", std);
  // one seed: no spread; no seeds: zeros, not NaN
  gw_mean_std(top1, 1, &mean, &std);
  cr_assert(mean == 62.5 && std == 0.0);
  gw_mean_std(top1, 0, &mean, &std);
  cr_assert(mean == 0.0 && std == 0.0);
}
