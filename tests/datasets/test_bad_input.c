// Bad input to gw data convert: a corrupt or truncated image, a missing file, a box outside its
// image, malformed JSON, an unknown pickle opcode, an empty expression. Each stops with a message
// naming the file and the record; with skip_bad (--skip-bad, data.skip_bad=true) the records are
// dropped and counted instead.
//
// The input is a small RefCOCO-format set written here: three images (two PNG, one JPEG) of
// 32 x 24 pixels, four annotations, four refs.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "datasets/convert.h"
#include "datasets/h5_layout.h"
#include "datasets/pickle.h"
#include "datasets/vocab.h"
#include "fixture.h"
#include "h5cmp.h"

TestSuite(bad_input, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

typedef struct fixture_opts {
  const char *bbox11;  // the bbox of annotation 11 (JSON text)
  const char *raw101;  // ref 101's first sentence
  const char *raw300b;  // ref 300's second sentence
  bool broken_json;  // a missing comma on line 3 of instances.json
} fixture_opts;

static char *path_in(const char *dir, const char *name) {
  static char buf[4][700];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static gw_pk *ref(int64_t id, int64_t ann, int64_t image, const char *split, const char *s1,
                  const char *s2) {
  gw_pk *r = gw_pk_dict(), *ss = gw_pk_list();
  const char *texts[2] = {s1, s2};
  for (int k = 0; k < 2; k++) {
    if (!texts[k]) continue;
    gw_pk *s = gw_pk_dict(), *toks = gw_pk_list();
    char words[16][GW_MAX_WORD];
    int n = gw_tokenize(texts[k], words, 16);
    for (int w = 0; w < n; w++) gw_pk_append(toks, gw_pk_bytes(words[w]));
    gw_pk_set(s, gw_pk_bytes("tokens"), toks);
    gw_pk_set(s, gw_pk_bytes("raw"), gw_pk_bytes(texts[k]));
    gw_pk_set(s, gw_pk_bytes("sent"), gw_pk_bytes(texts[k]));
    gw_pk_set(s, gw_pk_bytes("sent_id"), gw_pk_new_int(id * 10 + k));
    gw_pk_append(ss, s);
  }
  gw_pk_set(r, gw_pk_bytes("ref_id"), gw_pk_new_int(id));
  gw_pk_set(r, gw_pk_bytes("ann_id"), gw_pk_new_int(ann));
  gw_pk_set(r, gw_pk_bytes("image_id"), gw_pk_new_int(image));
  gw_pk_set(r, gw_pk_bytes("split"), gw_pk_bytes(split));
  gw_pk_set(r, gw_pk_bytes("sentences"), ss);
  return r;
}

static const char *make_set(fixture_opts fo) {
  const char *dir = dsfix_tmpdir();
  uint8_t px[32 * 24 * 3];
  for (int k = 0; k < (int)sizeof px; k++) px[k] = (uint8_t)(k % 251);
  cr_assert(stbi_write_png(path_in(dir, "img1.png"), 32, 24, 3, px, 96));
  cr_assert(stbi_write_png(path_in(dir, "img2.png"), 32, 24, 3, px, 96));
  cr_assert(stbi_write_jpg(path_in(dir, "img3.jpg"), 32, 24, 3, px, 90));
  FILE *f = fopen(path_in(dir, "instances.json"), "w");
  fprintf(f,
          "{\"images\": [{\"id\": 1, \"file_name\": \"img1.png\", \"width\": 32, \"height\": 24},\n"
          "  {\"id\": 2, \"file_name\": \"img2.png\", \"width\": 32, \"height\": 24},\n"
          "  {\"id\": 3, \"file_name\": \"img3.jpg\", \"width\": 32, \"height\": 24}%s\n"
          " \"annotations\": [{\"id\": 10, \"image_id\": 1, \"category_id\": 1, \"bbox\": [2, 2, "
          "10, 8]},\n"
          "  {\"id\": 11, \"image_id\": 1, \"category_id\": 2, \"bbox\": %s},\n"
          "  {\"id\": 20, \"image_id\": 2, \"category_id\": 1, \"bbox\": [1, 1, 5, 5]},\n"
          "  {\"id\": 30, \"image_id\": 3, \"category_id\": 2, \"bbox\": [4, 4, 6, 6]}],\n"
          " \"categories\": [{\"id\": 1, \"name\": \"person\"}, {\"id\": 2, \"name\": \"dog\"}]}\n",
          fo.broken_json ? "]" : "],", fo.bbox11 ? fo.bbox11 : "[15, 5, 8, 8]");
  fclose(f);
  gw_pk *refs = gw_pk_list();
  gw_pk_append(refs, ref(100, 10, 1, "train", "the person on the left", "left person"));
  gw_pk_append(refs, ref(101, 11, 1, "train", fo.raw101 ? fo.raw101 : "the dog", NULL));
  gw_pk_append(refs, ref(200, 20, 2, "val", "a person", NULL));
  gw_pk_append(refs, ref(300, 30, 3, "val", "the dog", fo.raw300b ? fo.raw300b : "brown dog"));
  cr_assert(gw_pickle_save(refs, 2, path_in(dir, "refs(unc).p")) == 0);
  gw_pk_free(refs);
  return dir;
}

static int convert(const char *dir, bool skip_bad, gw_convert_result *res) {
  FILE *rep = fopen("/dev/null", "w");
  gw_convert_opts o = {.format = "refcoco",
                       .load = {.in = dir, .skip_bad = skip_bad},
                       .out = path_in(dir, "out"),
                       .size = 32,
                       .quiet = true,
                       .report = rep};
  int rc = gw_convert(&o, res);
  fclose(rep);
  return rc;
}

static void expect_error(const char *dir, const char *const *parts, int n) {
  gw_convert_result res;
  cr_assert(convert(dir, false, &res) < 0, "the conversion should stop");
  const char *msg = gw_last_error();
  for (int k = 0; k < n; k++)
    cr_assert(strstr(msg, parts[k]), "the message lacks \"%s\": %s", parts[k], msg);
  cr_assert(access(path_in(dir, "out/meta.json"), F_OK) != 0,
            "no meta.json after a failed conversion");
}

static void truncate_by(const char *path, long drop) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n);
  cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
  fclose(f);
  f = fopen(path, "wb");
  fwrite(buf, 1, (size_t)(n - drop), f);
  fclose(f);
  free(buf);
}

Test(bad_input, good_set_converts) {
  const char *dir = make_set((fixture_opts){0});
  gw_convert_result res;
  cr_assert(convert(dir, false, &res) == 0, "%s", gw_last_error());
  cr_assert_eq(res.skipped, 0);
  int64_t n, c;
  int32_t *refs = h5_read(path_in(dir, "out/val.h5"), "refs/object", GW_H5_I32, &n, &c);
  cr_assert_eq(n, 2);
  free(refs);
}

Test(bad_input, corrupt_image) {
  const char *dir = make_set((fixture_opts){0});
  FILE *f = fopen(path_in(dir, "img2.png"), "wb");
  fputs("this is text, not an image", f);
  fclose(f);
  const char *want[] = {"instances.json", "image 2", "img2.png", "not a readable image",
                        "--skip-bad"};
  expect_error(dir, want, 5);
  // a damaged header that still looks like a GIF
  f = fopen(path_in(dir, "img2.png"), "wb");
  fputs("GIF89a but not really an image", f);
  fclose(f);
  const char *want_gif[] = {"instances.json", "image 2", "img2.png", "corrupt image"};
  expect_error(dir, want_gif, 4);
}

Test(bad_input, truncated_images) {
  const char *dir = make_set((fixture_opts){0});
  truncate_by(path_in(dir, "img3.jpg"), 50);
  const char *want[] = {"instances.json", "image 3", "img3.jpg", "truncated JPEG"};
  expect_error(dir, want, 4);
  dir = make_set((fixture_opts){0});
  truncate_by(path_in(dir, "img1.png"), 30);
  const char *want_png[] = {"instances.json", "image 1", "img1.png", "truncated PNG"};
  expect_error(dir, want_png, 4);
}

Test(bad_input, missing_files) {
  const char *dir = make_set((fixture_opts){0});
  cr_assert(unlink(path_in(dir, "img2.png")) == 0);
  const char *want[] = {"instances.json", "image 2", "img2.png", "No such file"};
  expect_error(dir, want, 4);
  // a missing annotation file: named, with what to do
  dir = make_set((fixture_opts){0});
  cr_assert(unlink(path_in(dir, "refs(unc).p")) == 0);
  const char *want_refs[] = {dir, "no refs(unc).p, refs(umd).p or refs(google).p", "--refs"};
  expect_error(dir, want_refs, 3);
  dir = make_set((fixture_opts){0});
  cr_assert(unlink(path_in(dir, "instances.json")) == 0);
  const char *want_inst[] = {"instances.json: no such file"};
  expect_error(dir, want_inst, 1);
}

Test(bad_input, box_outside_the_image) {
  const char *dir = make_set((fixture_opts){.bbox11 = "[28, 5, 8, 8]"});  // x2 = 36 > 32 + 1
  const char *want[] = {"instances.json", "annotation id 11",       "image 1",        "img1.png",
                        "32 x 24",        "lies outside the image", "[28, 5, 36, 13]"};
  expect_error(dir, want, 7);
  // within a pixel: clamped, not an error (the stored box ends at the image's edge)
  dir = make_set((fixture_opts){.bbox11 = "[25, 5, 7.5, 8]"});
  gw_convert_result res;
  cr_assert(convert(dir, false, &res) == 0, "%s", gw_last_error());
  int64_t n, c;
  float *box = h5_read(path_in(dir, "out/train.h5"), "objects/box", GW_H5_F32, &n, &c);
  cr_assert(n == 2 && box[4] == 25.0f && box[6] == 32.0f, "clamped to x2 = 32 (got %g)", box[6]);
  free(box);
}

Test(bad_input, malformed_json) {
  const char *dir = make_set((fixture_opts){.broken_json = true});
  const char *want[] = {"instances.json:4:", "malformed JSON"};  // the error is seen on line 4
  expect_error(dir, want, 2);
  // a well-formed file with a bad record: the record is named
  dir = make_set((fixture_opts){.bbox11 = "\"oops\""});
  const char *want_rec[] = {"instances.json", "annotations[1] (id 11)",
                            "bbox must be [x, y, w, h]"};
  expect_error(dir, want_rec, 3);
  // skipped: the annotation counts once, its ref 101 goes with it
  gw_convert_result res;
  cr_assert(convert(dir, true, &res) == 0, "%s", gw_last_error());
  cr_assert_eq(res.skipped, 1, "%s", res.first_skipped);
  int64_t n, c;
  int32_t *refs = h5_read(path_in(dir, "out/train.h5"), "refs/object", GW_H5_I32, &n, &c);
  cr_assert_eq(n, 1);
  free(refs);
  // other formats name the file and line too
  dir = dsfix_tmpdir();
  FILE *f = fopen(path_in(dir, "captions_val2014.json"), "w");
  fputs("{\"images\": [],\n \"annotations\": [{\"id\": 1 \"image_id\": 2}]}\n", f);
  fclose(f);
  FILE *rep = fopen("/dev/null", "w");
  gw_convert_opts o = {.format = "coco",
                       .load = {.in = dir},
                       .out = path_in(dir, "out"),
                       .quiet = true,
                       .report = rep};
  cr_assert(gw_convert(&o, NULL) < 0);
  fclose(rep);
  cr_assert(strstr(gw_last_error(), "captions_val2014.json:2:") &&
                strstr(gw_last_error(), "malformed JSON"),
            "%s", gw_last_error());
}

Test(bad_input, unknown_pickle_opcode) {
  const char *dir = make_set((fixture_opts){0});
  static const uint8_t bad[] = {0x80, 0x02, ']', 0xf3, '.'};
  FILE *f = fopen(path_in(dir, "refs(unc).p"), "wb");
  fwrite(bad, 1, sizeof bad, f);
  fclose(f);
  const char *want[] = {"refs(unc).p", "byte offset 3", "unknown pickle opcode 0xf3"};
  expect_error(dir, want, 3);
  // an object-constructing opcode is refused by name
  f = fopen(path_in(dir, "refs(unc).p"), "wb");
  fputs("ccopy_reg\n_reconstructor\np0\n.", f);
  fclose(f);
  const char *want_global[] = {"refs(unc).p", "byte offset 0", "GLOBAL", "copy_reg._reconstructor",
                               "refused"};
  expect_error(dir, want_global, 5);
}

Test(bad_input, empty_expression) {
  const char *dir = make_set((fixture_opts){.raw101 = " ?! "});
  const char *want[] = {"refs(unc).p", "refs[1] (ref_id 101)", "sentence 0 (sent_id 1010)",
                        "empty expression"};
  expect_error(dir, want, 4);
  // an empty caption in COCO captions names the annotation
  dir = dsfix_tmpdir();
  FILE *f = fopen(path_in(dir, "captions_val2014.json"), "w");
  fputs(
      "{\"images\": [{\"id\": 2, \"file_name\": \"a.png\"}],\n"
      " \"annotations\": [{\"id\": 7, \"image_id\": 2, \"caption\": \"  \"}]}\n",
      f);
  fclose(f);
  FILE *rep = fopen("/dev/null", "w");
  gw_convert_opts o = {.format = "coco",
                       .load = {.in = dir},
                       .out = path_in(dir, "out"),
                       .quiet = true,
                       .report = rep};
  cr_assert(gw_convert(&o, NULL) < 0);
  fclose(rep);
  cr_assert(strstr(gw_last_error(), "captions_val2014.json: annotations[0] (id 7): empty caption"),
            "%s", gw_last_error());
}

// Every kind at once with skip_bad: each bad record is dropped (with what depends on it) and
// counted; the rest converts.
Test(bad_input, skip_bad_counts_and_drops) {
  const char *dir = make_set((fixture_opts){.bbox11 = "[28, 5, 8, 8]", .raw300b = ""});
  FILE *f = fopen(path_in(dir, "img2.png"), "wb");
  fputs("junk", f);
  fclose(f);
  gw_convert_result res;
  cr_assert(convert(dir, true, &res) == 0, "%s", gw_last_error());
  // the empty sentence of ref 300, image 2 (and its ref 200), annotation 11 (and its ref 101)
  cr_assert_eq(res.skipped, 3, "skipped %lld: first %s", (long long)res.skipped, res.first_skipped);
  cr_assert(strstr(res.first_skipped, "empty expression"), "%s", res.first_skipped);
  int64_t n, c;
  int32_t *obj = h5_read(path_in(dir, "out/train.h5"), "objects/image", GW_H5_I32, &n, &c);
  cr_assert_eq(n, 1, "annotation 11 dropped");
  free(obj);
  int32_t *refs = h5_read(path_in(dir, "out/train.h5"), "refs/object", GW_H5_I32, &n, &c);
  cr_assert_eq(n, 1, "its ref 101 dropped");
  free(refs);
  int32_t *sref = h5_read(path_in(dir, "out/val.h5"), "sents/ref", GW_H5_I32, &n, &c);
  cr_assert_eq(n, 1, "val: ref 200 went with its image, ref 300 kept one sentence");
  free(sref);
  int64_t *ids = h5_read(path_in(dir, "out/val.h5"), "source/image_id", GW_H5_I64, &n, &c);
  cr_assert(n == 1 && ids[0] == 3, "val keeps image 3 only");
  free(ids);
  json_t *m = json_file(path_in(dir, "out/meta.json"));
  cr_assert_eq(json_integer_value(json_object_get(m, "skipped")), 3);
  json_decref(m);
}

// The command line: --skip-bad prints the count as a warning; data check accepts the result.
Test(bad_input, command_line_skip_bad) {
  const char *gw = getenv("GW_BIN");
  if (!gw || access(gw, X_OK) != 0) cr_skip_test("GW_BIN is not set (make suite sets it)");
  const char *dir = make_set((fixture_opts){.bbox11 = "[28, 5, 8, 8]"});
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "%s data convert --format refcoco --in %s --out %s/cli --size 32 --quiet > %s/out.txt "
           "2> %s/err.txt",
           gw, dir, dir, dir, dir);
  cr_assert(WEXITSTATUS(system(cmd)) == 1,
            "without --skip-bad a box outside the image stops the conversion");
  snprintf(cmd, sizeof cmd, "grep -q 'annotation id 11' %s/err.txt", dir);
  cr_assert(system(cmd) == 0);
  snprintf(cmd, sizeof cmd,
           "%s data convert --format refcoco --in %s --out %s/cli data.skip_bad=true --quiet > "
           "%s/out.txt 2> %s/err.txt",
           gw, dir, dir, dir, dir);
  cr_assert(system(cmd) == 0);
  snprintf(cmd, sizeof cmd, "grep -q 'warning: skipped 1 bad record (--skip-bad)' %s/err.txt", dir);
  cr_assert(system(cmd) == 0, "the warning counts the skipped record");
  snprintf(cmd, sizeof cmd, "grep -q 'source box convention: COCO \\[x, y, w, h\\]' %s/out.txt",
           dir);
  cr_assert(system(cmd) == 0, "the summary states the source's box convention");
  snprintf(cmd, sizeof cmd, "%s data check %s/cli > %s/check.txt", gw, dir, dir);
  cr_assert(system(cmd) == 0, "gw data check exits 0 on the converted set");
}

// Images that are missing or truncated, with skip_bad: each image is dropped with what rests on
// it and counted; a split left without a usable image is not written (with a warning).
Test(bad_input, skip_bad_drops_missing_and_truncated_images) {
  const char *dir = make_set((fixture_opts){0});
  cr_assert(unlink(path_in(dir, "img2.png")) == 0);
  truncate_by(path_in(dir, "img3.jpg"), 50);
  gw_convert_result res;
  cr_assert(convert(dir, true, &res) == 0, "%s", gw_last_error());
  cr_assert_eq(res.skipped, 2, "skipped %lld: first %s", (long long)res.skipped, res.first_skipped);
  cr_assert(strstr(res.first_skipped, "img2.png") || strstr(res.first_skipped, "img3.jpg"), "%s",
            res.first_skipped);
  int64_t n, c;
  int32_t *refs = h5_read(path_in(dir, "out/train.h5"), "refs/object", GW_H5_I32, &n, &c);
  cr_assert_eq(n, 2, "train keeps its two refs");
  free(refs);
  cr_assert(access(path_in(dir, "out/val.h5"), F_OK) != 0, "val has no usable image left");
  json_t *m = json_file(path_in(dir, "out/meta.json"));
  cr_assert_eq(json_integer_value(json_object_get(m, "skipped")), 2);
  json_decref(m);
}

// VQA v2 annotations: an answer_type other than yes/no, number or other is a bad record named by
// file and question; with skip_bad the question is dropped and counted. A missing answer_type is
// stored as unknown (-1).
Test(bad_input, vqa_unknown_answer_type) {
  const char *dir = dsfix_tmpdir();
  FILE *f = fopen(path_in(dir, "v2_OpenEnded_mscoco_val2014_questions.json"), "w");
  fputs("{\"data_subtype\": \"val2014\", \"questions\": ["
        "{\"image_id\": 1, \"question\": \"is it red?\", \"question_id\": 10},"
        "{\"image_id\": 1, \"question\": \"how many?\", \"question_id\": 11},"
        "{\"image_id\": 2, \"question\": \"what is it?\", \"question_id\": 20}]}\n",
        f);
  fclose(f);
  f = fopen(path_in(dir, "v2_mscoco_val2014_annotations.json"), "w");
  const char *types[3] = {"\"answer_type\": \"yes/no\", ", "\"answer_type\": \"count\", ", ""};
  const long long qids[3] = {10, 11, 20};
  fputs("{\"annotations\": [", f);
  for (int q = 0; q < 3; q++) {
    fprintf(f, "%s{\"question_id\": %lld, \"image_id\": %d, \"question_type\": \"t\", %s"
               "\"multiple_choice_answer\": \"yes\", \"answers\": [",
            q ? ", " : "", qids[q], q < 2 ? 1 : 2, types[q]);
    for (int h = 0; h < 10; h++)
      fprintf(f, "%s{\"answer\": \"yes\", \"answer_confidence\": \"yes\", \"answer_id\": %d}",
              h ? ", " : "", h + 1);
    fputs("]}", f);
  }
  fputs("]}\n", f);
  fclose(f);
  gw_records r;
  gw_load_opts o = {.in = dir};
  cr_assert(gw_load_vqa(&o, &r) < 0, "an unknown answer_type must stop the load");
  const char *msg = gw_last_error();
  cr_assert(strstr(msg, "v2_OpenEnded_mscoco_val2014_questions.json") &&
                strstr(msg, "questions[1] (question_id 11)") && strstr(msg, "answer_type"),
            "%s", msg);
  o.skip_bad = true;
  cr_assert(gw_load_vqa(&o, &r) == 0, "%s", gw_last_error());
  cr_assert_eq(r.skipped, 1);
  gw_rec_split *s = gw_records_split(&r, "val");
  cr_assert(s && s->n_questions == 2);
  cr_assert_eq(gw_answer_type_of(s->questions[0].answer_type), GW_ANSWER_YES_NO);
  cr_assert_eq(gw_answer_type_of(s->questions[1].answer_type), -1, "no answer_type: unknown");
  gw_records_free(&r);
}
