#include "eval/metrics.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double gw_box_iou_xyxy(const float *a, const float *b) {
  double iw = fmin(a[2], b[2]) - fmax(a[0], b[0]), ih = fmin(a[3], b[3]) - fmax(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0.0;
  double inter = iw * ih;
  double ua = (double)(a[2] - a[0]) * (a[3] - a[1]) + (double)(b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0 ? inter / ua : 0.0;
}

void gw_box_unletterbox(const float in[4], const float lb[4], float w, float h, float out[4]) {
  const float lim[4] = {w, h, w, h};
  for (int k = 0; k < 4; k++) {
    double v = ((double)in[k] - lb[2 + k % 2]) / lb[k % 2];
    out[k] = (float)fmin(fmax(v, 0.0), (double)lim[k]);
  }
}

void gw_rec_evaluate(const float *pred, const float *gt, const int32_t *levels, int64_t n,
                     gw_rec_metrics *out) {
  memset(out, 0, sizeof *out);
  out->n = n;
  int64_t hit50 = 0, hit75 = 0, lvl_hit50[4] = {0}, lvl_hit75[4] = {0};
  double iou_sum = 0.0, lvl_iou[4] = {0};
  for (int64_t i = 0; i < n; i++) {
    double iou = gw_box_iou_xyxy(pred + 4 * i, gt + 4 * i);
    iou_sum += iou;
    hit50 += iou >= 0.5;
    hit75 += iou >= 0.75;
    if (levels && levels[i] >= 0 && levels[i] < 4) {
      int l = levels[i];
      out->n_level[l]++;
      lvl_hit50[l] += iou >= 0.5;
      lvl_hit75[l] += iou >= 0.75;
      lvl_iou[l] += iou;
    }
  }
  if (n) {
    out->acc50 = (double)hit50 / (double)n;
    out->acc75 = (double)hit75 / (double)n;
    out->miou = iou_sum / (double)n;
  }
  for (int l = 0; l < 4; l++) {
    double m = (double)out->n_level[l];
    out->acc50_level[l] = m ? (double)lvl_hit50[l] / m : 0.0;
    out->acc75_level[l] = m ? (double)lvl_hit75[l] / m : 0.0;
    out->miou_level[l] = m ? lvl_iou[l] / m : 0.0;
  }
}

double gw_vqa_accuracy(int32_t predicted, const int32_t *humans) {
  double total = 0.0;
  for (int leave = 0; leave < 10; leave++) {
    int matches = 0;
    for (int h = 0; h < 10; h++) matches += h != leave && humans[h] == predicted;
    total += fmin(1.0, matches / 3.0);
  }
  return total / 10.0;
}

// ---- the official answer normalisation (vqaEval.py: processPunctuation, processDigitArticle) ----

// The contractions of vqaEval.py (GT-Vision-Lab/VQA master), the keys a lower-cased word can match
// (its "Im", "Ive", "Id've", "I'dve" never match: the words are lower-cased first).
static const char *const CONTRACTIONS[][2] = {
    {"aint", "ain't"}, {"arent", "aren't"}, {"cant", "can't"}, {"couldve", "could've"},
    {"couldnt", "couldn't"}, {"couldn'tve", "couldn't've"}, {"couldnt've", "couldn't've"},
    {"didnt", "didn't"}, {"doesnt", "doesn't"}, {"dont", "don't"}, {"hadnt", "hadn't"},
    {"hadnt've", "hadn't've"}, {"hadn'tve", "hadn't've"}, {"hasnt", "hasn't"},
    {"havent", "haven't"}, {"hed", "he'd"}, {"hed've", "he'd've"}, {"he'dve", "he'd've"},
    {"hes", "he's"}, {"howd", "how'd"}, {"howll", "how'll"}, {"hows", "how's"}, {"isnt", "isn't"},
    {"itd", "it'd"}, {"itd've", "it'd've"}, {"it'dve", "it'd've"}, {"itll", "it'll"},
    {"let's", "let's"}, {"maam", "ma'am"}, {"mightnt", "mightn't"}, {"mightnt've", "mightn't've"},
    {"mightn'tve", "mightn't've"}, {"mightve", "might've"}, {"mustnt", "mustn't"},
    {"mustve", "must've"}, {"neednt", "needn't"}, {"notve", "not've"}, {"oclock", "o'clock"},
    {"oughtnt", "oughtn't"}, {"ow's'at", "'ow's'at"}, {"'ows'at", "'ow's'at"},
    {"'ow'sat", "'ow's'at"}, {"shant", "shan't"}, {"shed've", "she'd've"}, {"she'dve", "she'd've"},
    {"she's", "she's"}, {"shouldve", "should've"}, {"shouldnt", "shouldn't"},
    {"shouldnt've", "shouldn't've"}, {"shouldn'tve", "shouldn't've"}, {"somebody'd", "somebodyd"},
    {"somebodyd've", "somebody'd've"}, {"somebody'dve", "somebody'd've"},
    {"somebodyll", "somebody'll"}, {"somebodys", "somebody's"}, {"someoned", "someone'd"},
    {"someoned've", "someone'd've"}, {"someone'dve", "someone'd've"}, {"someonell", "someone'll"},
    {"someones", "someone's"}, {"somethingd", "something'd"}, {"somethingd've", "something'd've"},
    {"something'dve", "something'd've"}, {"somethingll", "something'll"}, {"thats", "that's"},
    {"thered", "there'd"}, {"thered've", "there'd've"}, {"there'dve", "there'd've"},
    {"therere", "there're"}, {"theres", "there's"}, {"theyd", "they'd"}, {"theyd've", "they'd've"},
    {"they'dve", "they'd've"}, {"theyll", "they'll"}, {"theyre", "they're"}, {"theyve", "they've"},
    {"twas", "'twas"}, {"wasnt", "wasn't"}, {"wed've", "we'd've"}, {"we'dve", "we'd've"},
    {"weve", "we've"}, {"werent", "weren't"}, {"whatll", "what'll"}, {"whatre", "what're"},
    {"whats", "what's"}, {"whatve", "what've"}, {"whens", "when's"}, {"whered", "where'd"},
    {"wheres", "where's"}, {"whereve", "where've"}, {"whod", "who'd"}, {"whod've", "who'd've"},
    {"who'dve", "who'd've"}, {"wholl", "who'll"}, {"whos", "who's"}, {"whove", "who've"},
    {"whyll", "why'll"}, {"whyre", "why're"}, {"whys", "why's"}, {"wont", "won't"},
    {"wouldve", "would've"}, {"wouldnt", "wouldn't"}, {"wouldnt've", "wouldn't've"},
    {"wouldn'tve", "wouldn't've"}, {"yall", "y'all"}, {"yall'll", "y'all'll"},
    {"y'allll", "y'all'll"}, {"yall'd've", "y'all'd've"}, {"y'alld've", "y'all'd've"},
    {"y'all'dve", "y'all'd've"}, {"youd", "you'd"}, {"youd've", "you'd've"},
    {"you'dve", "you'd've"}, {"youll", "you'll"}, {"youre", "you're"}, {"youve", "you've"},
};
static const char *const NUMBERS[][2] = {{"none", "0"}, {"zero", "0"}, {"one", "1"},  {"two", "2"},
                                         {"three", "3"}, {"four", "4"}, {"five", "5"}, {"six", "6"},
                                         {"seven", "7"}, {"eight", "8"}, {"nine", "9"}, {"ten", "10"}};

// The punctuation rule of vqaEval.py: each mark is deleted where it touches a space (or when
// the text has a comma between digits), otherwise replaced by a space; then a period not
// followed by a digit is deleted. The apostrophe is not among the marks.
static void strip_punctuation(const char *in, char *out, size_t cap) {
  static const char PUNCT[] = ";/[]\"{}()=+\\_-><@`,?!";
  bool comma_digits = false;
  for (size_t i = 1; in[0] && in[i] && in[i + 1]; i++)
    if (in[i] == ',' && isdigit((unsigned char)in[i - 1]) && isdigit((unsigned char)in[i + 1]))
      comma_digits = true;
  bool delete_mark[sizeof PUNCT] = {false};
  for (size_t k = 0; k + 1 < sizeof PUNCT; k++) {
    char p = PUNCT[k];
    bool touches = false;
    for (size_t i = 0; in[i]; i++)
      if (in[i] == p && ((in[i + 1] == ' ') || (i > 0 && in[i - 1] == ' '))) touches = true;
    delete_mark[k] = touches || comma_digits;
  }
  size_t n = 0;
  for (size_t i = 0; in[i] && n + 1 < cap; i++) {
    const char *m = strchr(PUNCT, in[i]);
    if (m && in[i]) {
      if (!delete_mark[m - PUNCT]) out[n++] = ' ';
      continue;
    }
    if (in[i] == '.' && !isdigit((unsigned char)in[i + 1])) continue;
    out[n++] = in[i];
  }
  out[n] = '\0';
}

void gw_vqa_normalize(char *answer, int len) {
  char text[512], tmp[512];
  snprintf(text, sizeof text, "%s", answer);
  for (char *p = text; *p; p++)
    if (*p == '\n' || *p == '\t') *p = ' ';
  strip_punctuation(text, tmp, sizeof tmp);
  for (char *p = tmp; *p; p++) *p = (char)tolower((unsigned char)*p);
  // words: number words to digits, articles dropped, contractions restored
  char out[512] = "";
  size_t olen = 0;
  for (char *w = strtok(tmp, " "); w; w = strtok(NULL, " ")) {
    const char *word = w;
    for (size_t k = 0; k < sizeof NUMBERS / sizeof NUMBERS[0]; k++)
      if (!strcmp(w, NUMBERS[k][0])) word = NUMBERS[k][1];
    if (!strcmp(word, "a") || !strcmp(word, "an") || !strcmp(word, "the")) continue;
    for (size_t k = 0; k < sizeof CONTRACTIONS / sizeof CONTRACTIONS[0]; k++)
      if (!strcmp(word, CONTRACTIONS[k][0])) word = CONTRACTIONS[k][1];
    olen += (size_t)snprintf(out + olen, sizeof out - olen, "%s%s", olen ? " " : "", word);
    if (olen >= sizeof out) olen = sizeof out - 1;
  }
  snprintf(answer, (size_t)len, "%s", out);
}

// ---- retrieval ----

void gw_retrieval_recall_truth(const float *sim, int64_t n_images, int64_t n_caps,
                               const int64_t *true_start, const int32_t *true_images,
                               gw_recall *out) {
  static const int K[3] = {1, 5, 10};
  int64_t i2t_hits[3] = {0}, t2i_hits[3] = {0};
  // the best score of a true pair, per image (over its true captions) and per caption (over the
  // images it is true of); a query's rank is the number of candidates scoring above its best
  float *image_best = malloc((size_t)(n_images ? n_images : 1) * sizeof *image_best);
  for (int64_t i = 0; i < n_images; i++) image_best[i] = -INFINITY;
  for (int64_t j = 0; j < n_caps; j++) {
    float best = -INFINITY;
    for (int64_t t = true_start[j]; t < true_start[j + 1]; t++) {
      int64_t i = true_images[t];
      float s = sim[i * n_caps + j];
      best = fmaxf(best, s);
      image_best[i] = fmaxf(image_best[i], s);
    }
    int64_t above = 0;
    for (int64_t i = 0; i < n_images; i++) above += sim[i * n_caps + j] > best;
    for (int k = 0; k < 3; k++) t2i_hits[k] += above < K[k];
  }
  for (int64_t i = 0; i < n_images; i++) {
    const float *row = sim + i * n_caps;
    int64_t above = 0;
    for (int64_t j = 0; j < n_caps; j++) above += row[j] > image_best[i];
    for (int k = 0; k < 3; k++) i2t_hits[k] += above < K[k];
  }
  free(image_best);
  out->rsum = 0.0;
  for (int k = 0; k < 3; k++) {
    out->i2t[k] = n_images ? (double)i2t_hits[k] / (double)n_images : 0.0;
    out->t2i[k] = n_caps ? (double)t2i_hits[k] / (double)n_caps : 0.0;
    out->rsum += out->i2t[k] + out->t2i[k];
  }
}

void gw_retrieval_recall_ragged(const float *sim, int64_t n_images, int64_t n_caps,
                                const int32_t *cap_image, gw_recall *out) {
  // strict: each caption is true of its own image alone
  int64_t *start = malloc((size_t)(n_caps + 1) * sizeof *start);
  for (int64_t j = 0; j <= n_caps; j++) start[j] = j;
  gw_retrieval_recall_truth(sim, n_images, n_caps, start, cap_image, out);
  free(start);
}

void gw_retrieval_recall(const float *sim, int64_t n_images, int per, gw_recall *out) {
  int64_t n_caps = n_images * per;
  int32_t *owner = malloc((size_t)(n_caps ? n_caps : 1) * sizeof *owner);
  for (int64_t j = 0; j < n_caps; j++) owner[j] = (int32_t)(j / per);
  gw_retrieval_recall_ragged(sim, n_images, n_caps, owner, out);
  free(owner);
}

void gw_mean_std(const double *v, int n, double *mean, double *std) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += v[i];
  *mean = n ? s / n : 0.0;
  double ss = 0.0;
  for (int i = 0; i < n; i++) ss += (v[i] - *mean) * (v[i] - *mean);
  *std = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}
