// Export -> loader round trips (shared/datasets.md §6.11): every standard-format file the
// generator exports (RefCOCO with the pickle at protocols 2 and 0, SimREC, COCO captions,
// Karpathy, VQA v2, CoOp) is read back by the real-format loader and must equal the generator's
// own records: its <split>.h5 arrays, refs.jsonl sentences and few-shot images.h5.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/export.h"
#include "datasets/formats.h"
#include "datasets/image_io.h"
#include "datasets/sw.h"
#include "datasets/sw_text.h"
#include "datasets/vocab.h"
#include "fixture.h"
#include "h5cmp.h"

TestSuite(export, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

// The generator's records of one split, from <split>.h5 and refs.jsonl.
typedef struct gen_split {
  int64_t n_img, n_obj, n_ref, n_sent, n_cap, n_q, L, cols;
  int32_t *obj_image, *obj_attrs, *ref_image, *ref_object, *ref_level, *ref_swap, *sent_ref;
  int32_t *cap_image, *cap_family, *cap_tokens, *q_image, *q_family, *q_answer, *q_answers,
      *q_tokens;
  float *obj_box, *ref_box;
  char **sents;  // refs.jsonl sentences in order
} gen_split;

static void gen_load(const char *ds, const char *split, gen_split *g) {
  char h5[600], jl[600];
  snprintf(h5, sizeof h5, "%s/%s.h5", ds, split);
  int64_t c;
  gw_h5 *f = gw_h5_open(h5);
  cr_assert(f);
  int ndim;
  int64_t shape[8];
  cr_assert(gw_h5_array_shape(f, "images", &ndim, shape) == 0);
  g->n_img = shape[0];
  gw_h5_close(f);
  g->obj_image = h5_read(h5, "objects/image", GW_H5_I32, &g->n_obj, &c);
  g->obj_attrs = h5_read(h5, "objects/attrs", GW_H5_I32, &g->n_obj, &c);
  g->obj_box = h5_read(h5, "objects/box", GW_H5_F32, &g->n_obj, &c);
  g->ref_image = h5_read(h5, "refs/image", GW_H5_I32, &g->n_ref, &c);
  g->ref_object = h5_read(h5, "refs/object", GW_H5_I32, &g->n_ref, &c);
  g->ref_level = h5_read(h5, "refs/level", GW_H5_I32, &g->n_ref, &c);
  g->ref_swap = h5_read(h5, "refs/swap_of", GW_H5_I32, &g->n_ref, &c);
  g->ref_box = h5_read(h5, "refs/box", GW_H5_F32, &g->n_ref, &c);
  g->sent_ref = h5_read(h5, "sents/ref", GW_H5_I32, &g->n_sent, &c);
  g->cap_image = h5_read(h5, "captions/image", GW_H5_I32, &g->n_cap, &c);
  g->cap_family = h5_read(h5, "captions/family", GW_H5_I32, &g->n_cap, &c);
  g->cap_tokens = h5_read(h5, "captions/tokens", GW_H5_I32, &g->n_cap, &c);
  g->q_image = h5_read(h5, "questions/image", GW_H5_I32, &g->n_q, &c);
  g->q_family = h5_read(h5, "questions/family", GW_H5_I32, &g->n_q, &c);
  g->q_answer = h5_read(h5, "questions/answer", GW_H5_I32, &g->n_q, &c);
  g->q_answers = h5_read(h5, "questions/answers", GW_H5_I32, &g->n_q, &c);
  g->q_tokens = h5_read(h5, "questions/tokens", GW_H5_I32, &g->n_q, &c);
  g->sents = calloc((size_t)g->n_sent + 1, sizeof *g->sents);
  snprintf(jl, sizeof jl, "%s/%s/refs.jsonl", ds, split);
  FILE *fp = fopen(jl, "r");
  cr_assert(fp);
  char *line = NULL;
  size_t cap = 0;
  int64_t k = 0;
  while (getline(&line, &cap, fp) > 0) {
    json_t *o = json_loads(line, 0, NULL);
    json_t *ss = json_object_get(o, "sentences");
    for (size_t q = 0; q < json_array_size(ss); q++) {
      cr_assert(k < g->n_sent);
      g->sents[k++] = strdup(json_string_value(json_array_get(ss, q)));
    }
    json_decref(o);
  }
  free(line);
  fclose(fp);
  cr_assert_eq(k, g->n_sent, "refs.jsonl and %s disagree on the sentences", h5);
}

static void gen_free(gen_split *g) {
  void *all[] = {g->obj_image, g->obj_attrs, g->ref_image, g->ref_object, g->ref_level,
                 g->ref_swap,  g->sent_ref,  g->cap_image, g->cap_family, g->cap_tokens,
                 g->q_image,   g->q_family,  g->q_answer,  g->q_answers,  g->q_tokens,
                 g->obj_box,   g->ref_box};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) free(all[k]);
  for (int64_t k = 0; k < g->n_sent; k++) free(g->sents[k]);
  free(g->sents);
}

static gw_vocab ds_vocab(const char *ds) {
  char path[600];
  snprintf(path, sizeof path, "%s/vocab.txt", ds);
  gw_vocab v;
  cr_assert(gw_vocab_load(&v, path) == 0, "%s", gw_last_error());
  return v;
}

// RefCOCO records == the generator's objects, refs and sentences, split by split.
static void expect_refcoco_equal(const gw_records *r, const char *ds) {
  cr_assert_str_eq(r->dataset, "shapesworld");
  cr_assert_str_eq(r->split_by, "unc");
  cr_assert_eq(r->n_splits, SW_N_SPLITS, "every split of the generator is in the refs");
  cr_assert_eq(r->n_categories, SW_N_SHAPES);
  for (int k = 0; k < SW_N_SHAPES; k++) cr_assert_str_eq(r->categories[k], sw_shape_names[k]);
  for (int s = 0; s < SW_N_SPLITS; s++) {
    const gw_rec_split *sp = &r->splits[s];
    cr_assert_str_eq(sp->name, sw_split_names[s], "splits come in the generator's order");
    gen_split g = {0};
    gen_load(ds, sp->name, &g);
    cr_assert_eq(sp->n_images, g.n_img, "%s: every image has a ref, so every image is there",
                 sp->name);
    for (int64_t i = 0; i < g.n_img; i++) {
      char file[64];
      snprintf(file, sizeof file, "%s/%06lld.png", sp->name, (long long)i);
      cr_assert_str_eq(sp->images[i].file, file);
      cr_assert_eq(sp->images[i].id, (int64_t)s * SW_EXPORT_SPLIT_STRIDE + i);
    }
    cr_assert_eq(sp->n_objects, g.n_obj, "%s objects", sp->name);
    for (int64_t j = 0; j < g.n_obj; j++) {
      cr_assert_eq(sp->objects[j].image, g.obj_image[j]);
      cr_assert(!memcmp(sp->objects[j].box, g.obj_box + 4 * j, 16), "%s object %lld: box", sp->name,
                (long long)j);
      cr_assert(!memcmp(sp->objects[j].attrs, g.obj_attrs + 4 * j, 16),
                "%s object %lld: attributes", sp->name, (long long)j);
    }
    cr_assert_eq(sp->n_refs, g.n_ref, "%s refs", sp->name);
    for (int64_t q = 0; q < g.n_ref; q++) {
      cr_assert_eq(sp->refs[q].object, g.ref_object[q], "%s ref %lld: object", sp->name,
                   (long long)q);
      cr_assert_eq(sp->refs[q].image, g.ref_image[q]);
      cr_assert_eq(sp->refs[q].level, g.ref_level[q]);
      cr_assert_eq(sp->refs[q].swap_of, g.ref_swap[q], "%s ref %lld: swap partner", sp->name,
                   (long long)q);
    }
    cr_assert_eq(sp->n_sents, g.n_sent);
    for (int64_t k = 0; k < g.n_sent; k++) {
      cr_assert_eq(sp->sents[k].ref, g.sent_ref[k]);
      cr_assert_str_eq(sp->sents[k].text, g.sents[k]);
    }
    gen_free(&g);
  }
}

Test(export, refcoco_protocol_2_round_trip) {
  const char *ds = dsfix_dataset();
  char in[600], refs[700];
  snprintf(in, sizeof in, "%s/export/refcoco", ds);
  snprintf(refs, sizeof refs, "%s/refs(unc).p", in);
  FILE *f = fopen(refs, "rb");
  cr_assert(f && fgetc(f) == 0x80 && fgetc(f) == 2, "gw data synth writes the refs at protocol 2");
  fclose(f);
  gw_records r;
  cr_assert(gw_load_refcoco(&(gw_load_opts){.in = in}, &r) == 0, "%s", gw_last_error());
  expect_refcoco_equal(&r, ds);
  int swaps = 0;
  for (int s = 0; s < r.n_splits; s++)
    for (int64_t q = 0; q < r.splits[s].n_refs; q++) swaps += r.splits[s].refs[q].swap_of >= 0;
  cr_assert(swaps > 0, "the fixture should hold swap pairs, to test swap_of");
  gw_records_free(&r);
}

Test(export, refcoco_protocol_0_round_trip) {
  const char *ds = dsfix_dataset();
  // export again at protocol 0 into a folder that links to the generator's split files
  const char *tmp = dsfix_tmpdir();
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "for s in train val testA testB test_comp test_hard; do ln -s %s/$s %s/$s; "
           "ln -s %s/$s.h5 %s/$s.h5; done",
           ds, tmp, ds, tmp);
  cr_assert(system(cmd) == 0);
  cr_assert(sw_export(tmp, &(sw_export_opts){.pickle_protocol = 0, .quiet = true}) == 0, "%s",
            gw_last_error());
  char in[600], refs[700];
  snprintf(in, sizeof in, "%s/export/refcoco", tmp);
  snprintf(refs, sizeof refs, "%s/refs(unc).p", in);
  FILE *f = fopen(refs, "rb");
  cr_assert(f && fgetc(f) == '(', "a protocol 0 pickle of a list starts with MARK");
  fclose(f);
  gw_records r;
  cr_assert(gw_load_refcoco(&(gw_load_opts){.in = in, .refs = refs}, &r) == 0, "%s",
            gw_last_error());
  // the images live in the fixture; the records are what matter
  expect_refcoco_equal(&r, ds);
  gw_records_free(&r);
}

Test(export, simrec_round_trip) {
  const char *ds = dsfix_dataset();
  char in[600];
  snprintf(in, sizeof in, "%s/export/simrec/anns/shapesworld.json", ds);
  gw_records r;
  cr_assert(gw_load_simrec(&(gw_load_opts){.in = in}, &r) == 0, "%s", gw_last_error());
  cr_assert_eq(r.n_splits, SW_N_SPLITS);
  for (int s = 0; s < SW_N_SPLITS; s++) {
    const gw_rec_split *sp = &r.splits[s];
    gen_split g = {0};
    gen_load(ds, sp->name, &g);
    cr_assert_eq(sp->n_images, g.n_img);
    cr_assert_eq(sp->n_refs, g.n_ref, "%s: refs grouped again by ref_id", sp->name);
    for (int64_t q = 0; q < g.n_ref; q++) {
      const gw_rec_ref *rf = &sp->refs[q];
      cr_assert(!memcmp(sp->objects[rf->object].box, g.ref_box + 4 * q, 16), "%s ref %lld: box",
                sp->name, (long long)q);
      cr_assert_eq(rf->image, g.ref_image[q]);
      cr_assert_eq(sp->objects[rf->object].image, g.ref_image[q]);
      cr_assert_eq(rf->level, g.ref_level[q]);
      // SimREC's cat_id is the shape's COCO-style id; sorted ids make it the shape index again
      cr_assert_eq(sp->objects[rf->object].attrs[0], g.obj_attrs[4 * g.ref_object[q]]);
    }
    cr_assert_eq(sp->n_sents, g.n_sent,
                 "%s: train keeps every sentence in one entry, the others one each", sp->name);
    for (int64_t k = 0; k < g.n_sent; k++) {
      cr_assert_eq(sp->sents[k].ref, g.sent_ref[k]);
      cr_assert_str_eq(sp->sents[k].text, g.sents[k]);
    }
    gen_free(&g);
  }
  gw_records_free(&r);
}

static void expect_captions_equal(const gw_records *r, const char *ds, bool families) {
  gw_vocab v = ds_vocab(ds);
  cr_assert_eq(r->n_splits, SW_N_SPLITS);
  for (int s = 0; s < SW_N_SPLITS; s++) {
    const gw_rec_split *sp = &r->splits[s];
    cr_assert_str_eq(sp->name, sw_split_names[s]);
    gen_split g = {0};
    gen_load(ds, sp->name, &g);
    cr_assert_eq(sp->n_images, g.n_img);
    cr_assert_eq(sp->n_captions, g.n_cap, "%s captions", sp->name);
    for (int64_t k = 0; k < g.n_cap; k++) {
      const gw_rec_caption *c = &sp->captions[k];
      cr_assert_eq(c->image, g.cap_image[k]);
      if (families) cr_assert_str_eq(c->family, sw_caption_family_names[g.cap_family[k]]);
      int32_t ids[SW_CAPTION_LEN];
      gw_vocab_encode(&v, c->text, ids, SW_CAPTION_LEN);
      cr_assert(!memcmp(ids, g.cap_tokens + k * SW_CAPTION_LEN, sizeof ids),
                "%s caption %lld: tokens", sp->name, (long long)k);
    }
    gen_free(&g);
  }
  gw_vocab_free(&v);
}

Test(export, coco_captions_round_trip) {
  const char *ds = dsfix_dataset();
  gw_records r;
  cr_assert(gw_load_coco(&(gw_load_opts){.in = ds}, &r) == 0, "%s", gw_last_error());
  expect_captions_equal(&r, ds, true);
  gw_records_free(&r);
  // one file: the split comes from its folder
  char one[600];
  snprintf(one, sizeof one, "%s/val/captions.json", ds);
  cr_assert(gw_load_coco(&(gw_load_opts){.in = one}, &r) == 0, "%s", gw_last_error());
  cr_assert(r.n_splits == 1 && !strcmp(r.splits[0].name, "val"));
  gw_records_free(&r);
}

Test(export, karpathy_round_trip) {
  const char *ds = dsfix_dataset();
  char in[600];
  snprintf(in, sizeof in, "%s/export/karpathy/dataset_shapesworld.json", ds);
  gw_records r;
  cr_assert(gw_load_karpathy(&(gw_load_opts){.in = in}, &r) == 0, "%s", gw_last_error());
  expect_captions_equal(&r, ds, true);
  gw_records_free(&r);
  // "tokens" and "raw" give the same ids (datasets.md §4): tokens == tokenize(raw)
  json_t *doc = json_file(in);
  json_t *images = json_object_get(doc, "images");
  for (size_t i = 0; i < json_array_size(images); i++) {
    json_t *ss = json_object_get(json_array_get(images, i), "sentences");
    for (size_t k = 0; k < json_array_size(ss); k++) {
      json_t *st = json_array_get(ss, k), *toks = json_object_get(st, "tokens");
      char words[64][GW_MAX_WORD];
      int n = gw_tokenize(json_string_value(json_object_get(st, "raw")), words, 64);
      cr_assert_eq((size_t)n, json_array_size(toks));
      for (int w = 0; w < n; w++)
        cr_assert_str_eq(words[w], json_string_value(json_array_get(toks, (size_t)w)));
    }
  }
  json_decref(doc);
}

Test(export, vqa_round_trip) {
  const char *ds = dsfix_dataset();
  gw_records r;
  cr_assert(gw_load_vqa(&(gw_load_opts){.in = ds, .image_pattern = "{split}/{id:06}.png"}, &r) == 0,
            "%s", gw_last_error());
  gw_vocab v = ds_vocab(ds);
  cr_assert_eq(r.n_splits, SW_N_SPLITS);
  for (int s = 0; s < SW_N_SPLITS; s++) {
    const gw_rec_split *sp = &r.splits[s];
    cr_assert_str_eq(sp->name, sw_split_names[s]);
    gen_split g = {0};
    gen_load(ds, sp->name, &g);
    cr_assert_eq(sp->n_images, g.n_img, "%s: every image has questions", sp->name);
    char file[64];
    snprintf(file, sizeof file, "%s/%06d.png", sp->name, 3);
    cr_assert_str_eq(sp->images[3].file, file, "the image pattern names the PNG");
    cr_assert_eq(sp->n_questions, g.n_q);
    for (int64_t k = 0; k < g.n_q; k++) {
      const gw_rec_question *q = &sp->questions[k];
      cr_assert_eq(q->image, g.q_image[k]);
      cr_assert_str_eq(q->family, sw_question_family_names[g.q_family[k]]);
      cr_assert_str_eq(q->answer, sw_answers[g.q_answer[k]]);
      for (int h = 0; h < 10; h++)
        cr_assert_str_eq(q->answers[h], sw_answers[g.q_answers[10 * k + h]]);
      cr_assert_str_eq(q->answer_type,
                       sw_answer_type_names[sw_question_answer_type(g.q_family[k])]);
      int32_t ids[SW_QUESTION_LEN];
      gw_vocab_encode(&v, q->text, ids, SW_QUESTION_LEN);
      cr_assert(!memcmp(ids, g.q_tokens + k * SW_QUESTION_LEN, sizeof ids),
                "%s question %lld: tokens", sp->name, (long long)k);
    }
    gen_free(&g);
  }
  gw_vocab_free(&v);
  gw_records_free(&r);
}

Test(export, coop_round_trip) {
  const char *ds = dsfix_dataset();
  for (int t = 0; t < SW_N_FS_TASKS; t++) {
    const char *task = sw_fewshot_task_names[t];
    char in[700], h5[700], png[800];
    snprintf(in, sizeof in, "%s/fewshot/%s/split_sw_%s.json", ds, task, task);
    snprintf(h5, sizeof h5, "%s/fewshot/%s/images.h5", ds, task);
    gw_records r;
    cr_assert(gw_load_coop(&(gw_load_opts){.in = in}, &r) == 0, "%s", gw_last_error());
    int64_t n, cols, n_lab, one, n_part;
    uint8_t *pix = h5_read(h5, "images", GW_H5_U8, &n, &cols);
    int32_t *labels = h5_read(h5, "labels", GW_H5_I32, &n_lab, &one);
    int32_t *part = h5_read(h5, "split", GW_H5_I32, &n_part, &one);
    int64_t seen = 0;
    cr_assert_eq(r.n_splits, 3);
    for (int s = 0; s < r.n_splits; s++) {
      const gw_rec_split *sp = &r.splits[s];
      int want_part = !strcmp(sp->name, "train") ? 0 : !strcmp(sp->name, "val") ? 1 : 2;
      for (int64_t k = 0; k < sp->n_labels; k++, seen++) {
        const gw_rec_image *im = &sp->images[sp->labels[k].image];
        long long row;
        cr_assert(sscanf(im->file, "png/%lld.png", &row) == 1, "%s", im->file);
        cr_assert_eq(sp->labels[k].label, labels[row], "%s %s: label of image %lld", task, sp->name,
                     row);
        cr_assert_eq(part[row], want_part);
        if (k < 3) {  // pixels of a few images per part: the PNG equals the HDF5 row
          snprintf(png, sizeof png, "%s/fewshot/%s/%s", ds, task, im->file);
          gw_image img;
          cr_assert(gw_image_load(png, &img) == 0, "%s", gw_last_error());
          cr_assert(img.w * img.h * 3 == cols &&
                    !memcmp(img.pixels, pix + row * cols, (size_t)cols));
          gw_image_free(&img);
        }
      }
    }
    cr_assert_eq(seen, n, "%s: every image is in one part", task);
    cr_assert(r.n_categories > 1);
    free(pix);
    free(labels);
    free(part);
    gw_records_free(&r);
  }
}
