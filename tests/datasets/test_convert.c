// gw data convert on the generator's own exports writes the generator's HDF5 layout with the
// same bits: images, objects, refs, sentences (RefCOCO), captions (COCO, Karpathy), questions
// (VQA), few-shot images and labels (CoOp); and `gw data check` passes the result. A non-square
// image is letterboxed and its boxes map back to the source pixels exactly.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image_write.h>

#include "datasets/check.h"
#include "datasets/convert.h"
#include "datasets/formats_json.h"
#include "datasets/image_io.h"
#include "datasets/loader.h"
#include "datasets/pickle.h"
#include "datasets/sw.h"
#include "datasets/sw_text.h"
#include "datasets/vocab.h"
#include "fixture.h"
#include "h5cmp.h"

TestSuite(convert, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

static FILE *devnull(void) {
  FILE *f = fopen("/dev/null", "w");
  cr_assert(f);
  return f;
}

static int ds_max_len(const char *ds) {
  char path[600];
  snprintf(path, sizeof path, "%s/meta.json", ds);
  json_t *m = json_file(path);
  int n = (int)json_integer_value(json_object_get(json_object_get(m, "knobs"), "max_len"));
  json_decref(m);
  cr_assert(n > 0);
  return n;
}

static void run_convert(gw_convert_opts *o) {
  o->quiet = true;
  o->report = devnull();
  gw_convert_result res;
  int rc = gw_convert(o, &res);
  fclose(o->report);
  cr_assert(rc == 0, "convert --format %s: %s", o->format, gw_last_error());
  cr_assert_eq(res.skipped, 0);
  FILE *out = devnull();
  int problems = gw_check(o->out, out);
  fclose(out);
  cr_assert_eq(problems, 0, "gw data check finds %d problems in the converted %s data", problems,
               o->format);
}

static void same_split_arrays(const char *ds, const char *out, const char *const *names, int n) {
  for (int s = 0; s < SW_N_SPLITS; s++) {
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/%s.h5", ds, sw_split_names[s]);
    snprintf(b, sizeof b, "%s/%s.h5", out, sw_split_names[s]);
    for (int k = 0; k < n; k++) {
      gw_h5_type t = !strcmp(names[k], "images") ? GW_H5_U8
                     : strstr(names[k], "box")   ? GW_H5_F32
                                                 : GW_H5_I32;
      h5_same(a, b, names[k], t);
    }
  }
}

Test(convert, refcoco_matches_the_generator) {
  const char *ds = dsfix_dataset(), *out = dsfix_tmpdir();
  char in[600], png[600], vocab[600];
  snprintf(in, sizeof in, "%s/export/refcoco", ds);
  snprintf(png, sizeof png, "%s/png", ds);
  snprintf(vocab, sizeof vocab, "%s/vocab.txt", ds);
  gw_convert_opts o = {.format = "refcoco",
                       .load = {.in = in},
                       .images = png,
                       .out = out,
                       .vocab = vocab,
                       .size = 64,
                       .max_len = ds_max_len(ds)};
  run_convert(&o);
  static const char *const names[] = {
      "images",   "objects/image", "objects/box",  "objects/attrs", "refs/image",   "refs/object",
      "refs/box", "refs/level",    "refs/swap_of", "sents/ref",     "sents/tokens", "sents/length"};
  same_split_arrays(ds, out, names, sizeof names / sizeof names[0]);
  // meta.json states the source's box convention and the letterbox
  char path[700];
  snprintf(path, sizeof path, "%s/meta.json", out);
  json_t *m = json_file(path);
  const char *conv =
      json_string_value(json_object_get(json_object_get(m, "source"), "box_convention"));
  cr_assert(conv && strstr(conv, "[x, y, w, h]"), "meta.json names the source convention: %s",
            conv);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(m, "letterbox"), "size")), 64);
  cr_assert_eq(
      json_integer_value(json_object_get(
          json_object_get(json_object_get(json_object_get(m, "splits"), "train"), "counts"),
          "sentences")),
      json_integer_value(json_object_get(
          json_object_get(json_object_get(json_object_get(m, "splits"), "train"), "counts"),
          "refs")) *
          2);
  json_decref(m);
  // source/ ids map rows back to the refer ids
  snprintf(path, sizeof path, "%s/val.h5", out);
  int64_t n, one;
  int64_t *ids = h5_read(path, "source/image_id", GW_H5_I64, &n, &one);
  for (int64_t i = 0; i < n; i++) cr_assert_eq(ids[i], SW_VAL * 10000000LL + i);
  free(ids);
}

Test(convert, coco_and_karpathy_captions_match_the_generator) {
  const char *ds = dsfix_dataset();
  char png[600], vocab[600], karpathy[600];
  snprintf(png, sizeof png, "%s/png", ds);
  snprintf(vocab, sizeof vocab, "%s/vocab.txt", ds);
  snprintf(karpathy, sizeof karpathy, "%s/export/karpathy/dataset_shapesworld.json", ds);
  static const char *const names[] = {"images", "captions/image", "captions/family",
                                      "captions/tokens", "captions/length"};
  const char *out = dsfix_tmpdir();
  gw_convert_opts o = {
      .format = "coco", .load = {.in = ds}, .images = png, .out = out, .vocab = vocab};
  run_convert(&o);
  same_split_arrays(ds, out, names, sizeof names / sizeof names[0]);
  out = dsfix_tmpdir();
  o = (gw_convert_opts){
      .format = "karpathy", .load = {.in = karpathy}, .images = png, .out = out, .vocab = vocab};
  run_convert(&o);
  same_split_arrays(ds, out, names, sizeof names / sizeof names[0]);
}

Test(convert, vqa_matches_the_generator) {
  const char *ds = dsfix_dataset(), *out = dsfix_tmpdir();
  char png[600], vocab[600], answers[600];
  snprintf(png, sizeof png, "%s/png", ds);
  snprintf(vocab, sizeof vocab, "%s/vocab.txt", ds);
  snprintf(answers, sizeof answers, "%s/answers.txt", ds);
  gw_convert_opts o = {.format = "vqa",
                       .load = {.in = ds, .image_pattern = "{split}/{id:06}.png"},
                       .images = png,
                       .out = out,
                       .vocab = vocab,
                       .answers = answers};
  run_convert(&o);
  // the answer types come from the annotations' answer_type, the generator's from the family
  static const char *const names[] = {"images",           "questions/image",   "questions/family",
                                      "questions/answer", "questions/answers", "questions/tokens",
                                      "questions/length", "questions/answer_type"};
  same_split_arrays(ds, out, names, sizeof names / sizeof names[0]);
}

Test(convert, vocabulary_from_the_training_split) {
  // without --vocab the vocabulary is built from train's text, as the generator builds it
  // (the generator adds captions and questions too, so convert the three and compare words)
  const char *ds = dsfix_dataset(), *out = dsfix_tmpdir();
  char in[600], png[600];
  snprintf(in, sizeof in, "%s/export/refcoco", ds);
  snprintf(png, sizeof png, "%s/png", ds);
  gw_convert_opts o = {.format = "refcoco", .load = {.in = in}, .images = png, .out = out};
  run_convert(&o);
  char path[700];
  snprintf(path, sizeof path, "%s/vocab.txt", out);
  gw_vocab got, all;
  cr_assert(gw_vocab_load(&got, path) == 0);
  snprintf(path, sizeof path, "%s/vocab.txt", ds);
  cr_assert(gw_vocab_load(&all, path) == 0);
  cr_assert(got.size > GW_N_SPECIAL && got.size <= all.size);
  for (int k = 0; k < got.size; k++)
    cr_assert(gw_vocab_find(&all, got.words[k]) >= 0, "%s", got.words[k]);
  for (int k = GW_N_SPECIAL + 1; k < got.size; k++)
    cr_assert(strcmp(got.words[k - 1], got.words[k]) < 0, "sorted");
  gw_vocab_free(&got);
  gw_vocab_free(&all);
}

Test(convert, coop_matches_the_generator) {
  const char *ds = dsfix_dataset(), *out = dsfix_tmpdir();
  char in[700], gen[700], conv[700], split[700];
  snprintf(in, sizeof in, "%s/fewshot/sw-color/split_sw_sw-color.json", ds);
  snprintf(gen, sizeof gen, "%s/fewshot/sw-color/images.h5", ds);
  gw_convert_opts o = {.format = "coop", .load = {.in = in}, .out = out, .size = 64};
  run_convert(&o);
  snprintf(conv, sizeof conv, "%s/images.h5", out);
  snprintf(split, sizeof split, "%s/split_sw_sw-color.json", out);
  int64_t n, cols, gn, gcols, one;
  uint8_t *pix = h5_read(conv, "images", GW_H5_U8, &n, &cols),
          *gpix = h5_read(gen, "images", GW_H5_U8, &gn, &gcols);
  int32_t *lab = h5_read(conv, "labels", GW_H5_I32, &n, &one),
          *glab = h5_read(gen, "labels", GW_H5_I32, &gn, &one);
  int32_t *part = h5_read(conv, "split", GW_H5_I32, &n, &one),
          *gpart = h5_read(gen, "split", GW_H5_I32, &gn, &one);
  cr_assert(n == gn && cols == gcols);
  // the converted split file points at its own rows; the original at the generator's
  json_t *a = json_file(split), *b = json_file(in);
  const char *parts[3] = {"train", "val", "test"};
  for (int p = 0; p < 3; p++) {
    json_t *la = json_object_get(a, parts[p]), *lb = json_object_get(b, parts[p]);
    cr_assert_eq(json_array_size(la), json_array_size(lb));
    for (size_t k = 0; k < json_array_size(la); k++) {
      long long ra, rb;
      cr_assert(sscanf(json_string_value(json_array_get(json_array_get(la, k), 0)),
                       "images.h5:%lld", &ra) == 1);
      cr_assert(sscanf(json_string_value(json_array_get(json_array_get(lb, k), 0)), "png/%lld.png",
                       &rb) == 1);
      cr_assert(!memcmp(pix + ra * cols, gpix + rb * cols, (size_t)cols), "%s[%zu]: pixels",
                parts[p], k);
      cr_assert_eq(lab[ra], glab[rb]);
      cr_assert_eq(part[ra], gpart[rb]);
      cr_assert_str_eq(json_string_value(json_array_get(json_array_get(la, k), 2)),
                       json_string_value(json_array_get(json_array_get(lb, k), 2)));
    }
  }
  json_decref(a);
  json_decref(b);
  free(pix);
  free(gpix);
  free(lab);
  free(glab);
  free(part);
  free(gpart);
}

// A 32 x 16 image letterboxed to 16: scale 1/2, dy 4. Stored boxes are the forward map of the
// source boxes, and source/letterbox maps them back exactly.
Test(convert, letterbox_boxes_map_back) {
  const char *dir = dsfix_tmpdir();
  char path[700];
  uint8_t px[32 * 16 * 3];
  for (int k = 0; k < (int)sizeof px; k++) px[k] = (uint8_t)(k * 13);
  snprintf(path, sizeof path, "%s/img.png", dir);
  cr_assert(stbi_write_png(path, 32, 16, 3, px, 32 * 3));
  snprintf(path, sizeof path, "%s/instances.json", dir);
  FILE *f = fopen(path, "w");
  fputs(
      "{\"images\": [{\"id\": 5, \"file_name\": \"img.png\", \"width\": 32, \"height\": 16}],\n"
      " \"annotations\": [{\"id\": 50, \"image_id\": 5, \"category_id\": 1, \"bbox\": [3.5, 2, 10, "
      "6.25]},\n"
      "                   {\"id\": 51, \"image_id\": 5, \"category_id\": 2, \"bbox\": [20, 0, 12, "
      "16]}],\n"
      " \"categories\": [{\"id\": 1, \"name\": \"a\"}, {\"id\": 2, \"name\": \"b\"}]}\n",
      f);
  fclose(f);
  gw_pk *refs = gw_pk_list(), *r = gw_pk_dict(), *ss = gw_pk_list(), *s = gw_pk_dict();
  gw_pk_set(s, gw_pk_bytes("raw"), gw_pk_bytes("the left thing"));
  gw_pk_set(s, gw_pk_bytes("sent_id"), gw_pk_new_int(9));
  gw_pk_append(ss, s);
  gw_pk_set(r, gw_pk_bytes("ref_id"), gw_pk_new_int(1));
  gw_pk_set(r, gw_pk_bytes("ann_id"), gw_pk_new_int(50));
  gw_pk_set(r, gw_pk_bytes("image_id"), gw_pk_new_int(5));
  gw_pk_set(r, gw_pk_bytes("split"), gw_pk_bytes("val"));
  gw_pk_set(r, gw_pk_bytes("sentences"), ss);
  gw_pk_append(refs, r);
  snprintf(path, sizeof path, "%s/refs(unc).p", dir);
  cr_assert(gw_pickle_save(refs, 2, path) == 0);
  gw_pk_free(refs);
  char out[700];
  snprintf(out, sizeof out, "%s/out", dir);
  gw_convert_opts o = {.format = "refcoco", .load = {.in = dir}, .out = out, .size = 16};
  run_convert(&o);
  snprintf(path, sizeof path, "%s/val.h5", out);
  int64_t n, cols;
  float *box = h5_read(path, "objects/box", GW_H5_F32, &n, &cols),
        *rbox = h5_read(path, "refs/box", GW_H5_F32, &n, &cols);
  float *lb = h5_read(path, "source/letterbox", GW_H5_F32, &n, &cols);
  uint8_t *img = h5_read(path, "images", GW_H5_U8, &n, &cols);
  cr_assert(lb[0] == 0.5f && lb[1] == 0.5f && lb[2] == 0.0f && lb[3] == 4.0f,
            "scale 1/2, dx 0, dy 4");
  float want[8] = {1.75f, 5.0f, 6.75f, 8.125f, 10.0f, 4.0f, 16.0f, 12.0f};
  cr_assert(!memcmp(box, want, sizeof want), "stored boxes [%g %g %g %g]", box[0], box[1], box[2],
            box[3]);
  cr_assert(!memcmp(rbox, want, 4 * sizeof(float)));
  gw_letterbox l = {.scale_x = lb[0], .scale_y = lb[1], .dx = (int)lb[2], .dy = (int)lb[3]};
  float back[4], src[4] = {3.5f, 2.0f, 13.5f, 8.25f};
  gw_letterbox_back(&l, box, back);
  cr_assert(!memcmp(back, src, sizeof src), "mapped back: [%g %g %g %g]", back[0], back[1], back[2],
            back[3]);
  for (int x = 0; x < 16; x++)
    cr_assert(img[x * 3] == 127 && img[(15 * 16 + x) * 3] == 127, "pad rows");
  // the converted set keeps no program: the box augmentation keeps whole is the target's
  float *ctx = h5_read(path, "refs/context_box", GW_H5_F32, &n, &cols);
  cr_assert(n == 1 && !memcmp(ctx, want, 4 * sizeof(float)), "refs/context_box is the target's");
  free(ctx);
  // the loader maps boxes back for evaluation: the stored box to its source box exactly; a
  // prediction reaching into the pad (the whole 16 x 16 square) to [0, -8, 32, 24], or clipped
  // to the 32 x 16 source image
  gw_dataset d;
  cr_assert_eq(gw_dataset_open(&d, out, "val", GW_TASK_REC), 0, "%s", gw_last_error());
  cr_assert(d.source_id && d.source_id[0] == 5, "source image id");
  cr_assert(d.source_size[0] == 32 && d.source_size[1] == 16, "source size");
  gw_dataset_box_to_source(&d, d.image_of[0], d.boxes, false, back);
  cr_assert(!memcmp(back, src, sizeof src), "mapped back by the loader: [%g %g %g %g]", back[0],
            back[1], back[2], back[3]);
  float square[4] = {0, 0, 16, 16}, raw[4] = {0, -8, 32, 24}, clipped[4] = {0, 0, 32, 16};
  gw_dataset_box_to_source(&d, 0, square, false, back);
  cr_assert(!memcmp(back, raw, sizeof raw), "[%g %g %g %g]", back[0], back[1], back[2], back[3]);
  gw_dataset_box_to_source(&d, 0, square, true, back);
  cr_assert(!memcmp(back, clipped, sizeof clipped), "[%g %g %g %g]", back[0], back[1], back[2],
            back[3]);
  gw_dataset_close(&d);
  free(box);
  free(rbox);
  free(lb);
  free(img);
}

// At a scale that is not a power of two (a 30 x 17 image into 16 x 16: scale 16/30, the short
// side 9 px, dy 3) the loader still maps a stored box back to its source box to within float
// rounding, and gw data check maps every object back inside its image.
Test(convert, letterbox_boxes_map_back_at_any_scale) {
  const char *dir = dsfix_tmpdir();
  char path[700];
  uint8_t px[30 * 17 * 3];
  for (int k = 0; k < (int)sizeof px; k++) px[k] = (uint8_t)(k * 7);
  snprintf(path, sizeof path, "%s/odd.png", dir);
  cr_assert(stbi_write_png(path, 30, 17, 3, px, 30 * 3));
  snprintf(path, sizeof path, "%s/instances.json", dir);
  FILE *f = fopen(path, "w");
  fputs(
      "{\"images\": [{\"id\": 7, \"file_name\": \"odd.png\", \"width\": 30, \"height\": 17}],\n"
      " \"annotations\": [{\"id\": 70, \"image_id\": 7, \"category_id\": 1, \"bbox\": [2.3, 1.7, "
      "19.1, 14.9]}],\n"
      " \"categories\": [{\"id\": 1, \"name\": \"a\"}]}\n",
      f);
  fclose(f);
  gw_pk *refs = gw_pk_list(), *r = gw_pk_dict(), *ss = gw_pk_list(), *s = gw_pk_dict();
  gw_pk_set(s, gw_pk_bytes("raw"), gw_pk_bytes("the odd thing"));
  gw_pk_set(s, gw_pk_bytes("sent_id"), gw_pk_new_int(3));
  gw_pk_append(ss, s);
  gw_pk_set(r, gw_pk_bytes("ref_id"), gw_pk_new_int(1));
  gw_pk_set(r, gw_pk_bytes("ann_id"), gw_pk_new_int(70));
  gw_pk_set(r, gw_pk_bytes("image_id"), gw_pk_new_int(7));
  gw_pk_set(r, gw_pk_bytes("split"), gw_pk_bytes("val"));
  gw_pk_set(r, gw_pk_bytes("sentences"), ss);
  gw_pk_append(refs, r);
  snprintf(path, sizeof path, "%s/refs(unc).p", dir);
  cr_assert(gw_pickle_save(refs, 2, path) == 0);
  gw_pk_free(refs);
  char out[700];
  snprintf(out, sizeof out, "%s/out", dir);
  gw_convert_opts o = {.format = "refcoco", .load = {.in = dir}, .out = out, .size = 16};
  run_convert(&o);  // includes gw data check
  gw_dataset d;
  cr_assert_eq(gw_dataset_open(&d, out, "val", GW_TASK_REC), 0, "%s", gw_last_error());
  gw_letterbox lb = gw_letterbox_of(30, 17, 16);
  cr_assert(lb.new_h == 9 && lb.dy == 3 && lb.dx == 0, "letterbox %d x %d at (%d, %d)", lb.new_w,
            lb.new_h, lb.dx, lb.dy);
  float back[4], src[4] = {2.3f, 1.7f, 21.4f, 16.6f};
  gw_dataset_box_to_source(&d, d.image_of[0], d.boxes, false, back);
  for (int q = 0; q < 4; q++)
    cr_assert(fabsf(back[q] - src[q]) < 1e-4f, "coordinate %d maps back to %.7g, the source has %.7g",
              q, back[q], src[q]);
  gw_dataset_close(&d);
}

// A split larger than the memory budget is decoded twice (check, then write): the same bits.
Test(convert, decoding_twice_gives_the_same_images) {
  const char *ds = dsfix_dataset();
  char in[600], png[600], a[700], b[700];
  snprintf(in, sizeof in, "%s/export/karpathy/dataset_shapesworld.json", ds);
  snprintf(png, sizeof png, "%s/png", ds);
  const char *out1 = dsfix_tmpdir();
  gw_convert_opts o = {.format = "karpathy", .load = {.in = in}, .images = png, .out = out1,
                       .size = 256, .memory_mb = 1024};
  run_convert(&o);
  const char *out2 = dsfix_tmpdir();
  o = (gw_convert_opts){.format = "karpathy", .load = {.in = in}, .images = png, .out = out2,
                        .size = 256, .memory_mb = 1};  // 16 x 256 x 256 x 3 bytes > 1 MB
  run_convert(&o);
  snprintf(a, sizeof a, "%s/train.h5", out1);
  snprintf(b, sizeof b, "%s/train.h5", out2);
  h5_same(a, b, "images", GW_H5_U8);
  h5_same(a, b, "source/letterbox", GW_H5_F32);
  // upscaled 4x: the letterbox scale is 4 and the square is filled
  int64_t n, c;
  float *lb = h5_read(a, "source/letterbox", GW_H5_F32, &n, &c);
  cr_assert(lb[0] == 4.0f && lb[1] == 4.0f && lb[2] == 0.0f && lb[3] == 0.0f);
  free(lb);
}
