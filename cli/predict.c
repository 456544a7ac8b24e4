// gw predict CKPT --image FILE --text "..." [--out PNG]
// Grounds one expression in one image (REC models: the box), or answers a question (VQA), or
// names the class (classification), and writes a picture of the result.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <stb/stb_image_write.h>

#include "cli/cli.h"
#include "datasets/image_io.h"
#include "eval/draw.h"
#include "eval/explain.h"
#include "eval/metrics.h"
#include "models/probe.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

static int usage(FILE *out, int rc) {
  fprintf(out, "usage: gw predict CKPT --image FILE [--text \"...\"] [--out PNG] [--weights ema|raw]\n"
               "                  [--explain DIR]\n"
               "Prints the box (x1 y1 x2 y2 in the pixels of FILE) a grounding model gives the\n"
               "expression, the answer of a VQA model, or a classifier's class, and writes FILE's\n"
               "picture with the result drawn (default predict.png). Also prints it as JSON.\n"
               "--explain DIR also draws what the model did inside (LaConvNet: every block's word\n"
               "attention in DIR/attention.png and its generated kernels in DIR/kernels.png;\n"
               "VT-CLIP: each class's attention over the image's tokens in DIR/class_attention.png).\n");
  return rc;
}

// One JSON line (keys in the order given), and frees the object.
static void print_json(json_t *o) {
  char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(8));
  if (s) printf("%s\n", s);
  free(s);
  json_decref(o);
}

// What the command line asked for.
typedef struct request {
  const char *ckpt, *image, *text, *out, *weights, *explain;
} request;

static int predict(const request *q, const gw_config *cfg, const gw_model_ops *ops,
                   const gw_model_info *info_in, const gw_image *imp, const gw_vocab *vocab,
                   int32_t *tokens, int32_t length, int L, int32_t label);

int cmd_predict(int argc, char **argv) {
  const char *ckpt = NULL, *image = NULL, *text = "", *out = "predict.png", *weights = NULL;
  const char *explain = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
    if (!strcmp(argv[i], "--image") && i + 1 < argc) image = argv[++i];
    else if (!strcmp(argv[i], "--text") && i + 1 < argc) text = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
    else if (!strcmp(argv[i], "--explain") && i + 1 < argc) explain = argv[++i];
    else if (argv[i][0] != '-' && !ckpt) ckpt = argv[i];
    else {
      fprintf(stderr, "gw predict: unknown argument '%s'\n", argv[i]);
      return usage(stderr, 2);
    }
  }
  if (!ckpt || !image) return usage(stderr, 2);
  if (weights && strcmp(weights, "ema") && strcmp(weights, "raw")) {
    fprintf(stderr, "gw predict: --weights is ema or raw, not '%s'\n", weights);
    return 2;
  }
  gw_init();
  gw_config cfg;
  gw_config_init(&cfg);
  const gw_model_ops *ops = NULL;
  gw_model_info info;
  char *ck_labels = NULL;  // the class or answer names the checkpoint recorded
  gw_vocab vocab = {0};
  gw_image im = {0};
  int32_t *tokens = NULL, length = 0, label = 0;
  int rc = 0;
  char *yaml = gw_ckpt_config(ckpt);
  if (!yaml) {
    fprintf(stderr, "gw predict: %s (is it a checkpoint of gw train?)\n", gw_last_error());
    return 1;
  }
  rc = gw_train_load_config_string(&cfg, yaml, ckpt, &ops) < 0 || gw_ckpt_model_info(ckpt, &info) < 0;
  free(yaml);
  if (rc) {
    fprintf(stderr, "gw predict: %s: %s\n", ckpt, gw_last_error());
    goto done;
  }
  if (weights && !strcmp(weights, "ema") && gw_cfg_float(&cfg, "train.ema") <= 0) {
    fprintf(stderr, "gw predict: %s was trained without EMA (train.ema = 0): use --weights raw\n", ckpt);
    rc = 1;
    goto done;
  }
  bool needs_text = ops->task != GW_TASK_CLASSIFY;
  if (needs_text && gw_ckpt_vocab(ckpt, &vocab) < 0) {
    fprintf(stderr, "gw predict: %s holds no vocabulary\n", ckpt);
    rc = 1;
    goto done;
  }
  if (needs_text && !text[0]) {
    fprintf(stderr, "gw predict: this model (%s) needs --text\n", ops->name);
    rc = 2;
    goto done;
  }
  int L = info.max_len > 0 ? info.max_len : 1;
  tokens = calloc((size_t)L, sizeof *tokens);
  if (needs_text) length = gw_vocab_encode(&vocab, text, tokens, L);
  if (needs_text && length == 0) {
    fprintf(stderr, "gw predict: the text has no words\n");
    rc = 2;
    goto done;
  }
  if (gw_image_load(image, &im) < 0) {
    fprintf(stderr, "gw predict: %s\n", gw_last_error());
    rc = 1;
    goto done;
  }
  request q = {ckpt, image, text, out, weights, explain};
  ck_labels = gw_ckpt_labels(ckpt);
  info.labels = ck_labels;
  rc = predict(&q, &cfg, ops, &info, &im, &vocab, needs_text ? tokens : NULL, length, L, label);
done:
  free(ck_labels);
  free(tokens);
  if (im.pixels) gw_image_free(&im);
  if (vocab.words) gw_vocab_free(&vocab);
  gw_config_free(&cfg);
  return rc;
}

// Runs the model on the image (and text) and reports the result; 0 or 1.
static int predict(const request *q, const gw_config *cfg, const gw_model_ops *ops,
                   const gw_model_info *info_in, const gw_image *imp, const gw_vocab *vocab,
                   int32_t *tokens, int32_t length, int L, int32_t label) {
  const char *ckpt = q->ckpt, *image = q->image, *text = q->text, *out = q->out;
  const char *weights = q->weights;
  gw_model_info info = *info_in;
  gw_image im = *imp;
  bool needs_text = tokens != NULL;
  // the model's input: the image letterboxed to its size, the text encoded with its vocabulary
  int S = info.image_size;
  gw_letterbox lb = gw_letterbox_of(im.w, im.h, S);
  uint8_t *square = malloc((size_t)S * S * 3);
  gw_letterbox_image(&im, &lb, 127, square);
  float *pixels = malloc((size_t)3 * S * S * sizeof(float));
  for (int c = 0; c < 3; c++)
    for (int p = 0; p < S * S; p++) pixels[c * S * S + p] = square[3 * p + c] / 255.0f - 0.5f;
  int64_t index = 0;
  float box[4] = {0};
  gw_batch b = {.n = 1, .size = S, .images = pixels, .tokens = needs_text ? tokens : NULL,
                .lengths = needs_text ? &length : NULL, .index = &index, .labels = &label};
  gw_dataset d = {.task = ops->task, .max_len = needs_text ? L : 0, .size = S, .n_answers = info.n_answers};
  gw_nn nn;
  gw_nn_init(&nn, 1);
  void *model = ops->create(&nn, cfg, &info);
  gw_ema ema;
  bool use_ema = gw_cfg_float(cfg, "train.ema") > 0 && (!weights || !strcmp(weights, "ema"));
  if (use_ema) gw_ema_init(&ema, &nn, (float)gw_cfg_float(cfg, "train.ema"));
  int rc = 0;
  if (gw_ckpt_load(ckpt, &nn, NULL, use_ema ? &ema : NULL, NULL) < 0) {
    fprintf(stderr, "gw predict: %s\n", gw_last_error());
    rc = 1;
    goto done;
  }
  if (use_ema) gw_ema_swap(&ema);
  gw_nn_train(&nn, false);
  bool prev = gw_no_grad_begin();
  gw_inputs in;
  gw_inputs_from_batch(&in, &b, &d);
  int32_t answer = -1, cls = -1;
  gw_outputs o = {.boxes = box, .answer = &answer, .label = &cls};
  gw_probe_set probes;
  if (q->explain) gw_probe_begin(&probes);
  ops->predict(model, &in, &o);
  gw_probe_end();
  gw_no_grad_end(prev);
  if (q->explain) {  // the probes live in the arena until the next step: draw them now
    const char *words[256];
    int n_words = 0;
    for (int i = 0; i < length && n_words < 256; i++) words[n_words++] = vocab->words[tokens[i]];
    char class_names[256][64];
    if (ops->task == GW_TASK_CLASSIFY)  // a classifier's pictures are labelled by class
      for (int k = 0; k < info.n_classes && n_words < 256; k++) {
        gw_train_label(info.labels, k, class_names[n_words], sizeof class_names[0]);
        words[n_words] = class_names[n_words];
        n_words++;
      }
    int n = gw_explain_write(&probes, square, S, words, n_words,
                             ops->task == GW_TASK_REC ? box : NULL, q->explain);
    if (n < 0) {
      fprintf(stderr, "gw predict: %s\n", gw_last_error());
      rc = 1;
      goto done;
    }
    if (n == 0)
      fprintf(stderr, "gw predict: this model (%s, fusion %s) has nothing to explain: --explain "
              "draws word attention, generated kernels and class attention\n", ops->name,
              gw_cfg_has(cfg, "model.fusion") ? gw_cfg_str(cfg, "model.fusion") : "-");
  }
  // the result, in the source image's pixels, and a picture of it
  const uint8_t red[3] = {230, 30, 30}, black[3] = {0, 0, 0};
  int factor = im.w < 256 ? (256 + im.w - 1) / im.w : 1, W, H;
  char caption[512];
  float src_box[4];
  const char *labels = info.labels;  // the names the checkpoint recorded
  char name[128];
  if (ops->task == GW_TASK_REC) {
    // back into FILE's pixels (the model saw it letterboxed), clamped to the image
    float lb4[4] = {(float)lb.scale_x, (float)lb.scale_y, (float)lb.dx, (float)lb.dy};
    gw_box_unletterbox(box, lb4, (float)im.w, (float)im.h, src_box);
    printf("box %.1f %.1f %.1f %.1f  (x1 y1 x2 y2 in the pixels of %s, %dx%d)\n", src_box[0],
           src_box[1], src_box[2], src_box[3], image, im.w, im.h);
    // the box rounded to 1/100 pixel in the JSON line
    double r[4];
    for (int k = 0; k < 4; k++) r[k] = round(src_box[k] * 100.0) / 100.0;
    print_json(json_pack("{s:s, s:s, s:[f, f, f, f]}", "image", image, "text", text, "box", r[0],
                         r[1], r[2], r[3]));
    snprintf(caption, sizeof caption, "%s", text);
  } else if (ops->task == GW_TASK_VQA) {
    gw_train_label(labels, answer, name, sizeof name);
    printf("answer %s\n", name);
    print_json(json_pack("{s:s, s:s, s:s, s:i}", "image", image, "question", text, "answer", name,
                         "answer_id", answer));
    snprintf(caption, sizeof caption, "%s -> %s", text, name);
  } else {
    gw_train_label(labels, cls, name, sizeof name);
    printf("class %s\n", name);
    print_json(json_pack("{s:s, s:s, s:i}", "image", image, "class", name, "class_id", cls));
    snprintf(caption, sizeof caption, "class: %s", name);
  }
  uint8_t *pic = gw_draw_enlarge(im.pixels, im.w, im.h, factor, 40, &W, &H);
  if (ops->task == GW_TASK_REC) {
    float big[4] = {src_box[0] * factor, src_box[1] * factor, src_box[2] * factor, src_box[3] * factor};
    gw_draw_box(pic, W, H, big, red, 2 + factor / 4);
  }
  gw_draw_text(pic, W, H, 4, im.h * factor + 6, caption, black, 2);
  rc = stbi_write_png(out, W, H, 3, pic, W * 3) ? 0 : 1;
  if (rc) fprintf(stderr, "gw predict: cannot write %s\n", out);
  else printf("wrote %s\n", out);
  free(pic);
done:
  free(square);
  free(pixels);
  ops->destroy(model);
  if (use_ema) gw_ema_free(&ema);
  gw_nn_free(&nn);
  return rc;
}
