// gw data check: its report on a good data set (the generator's), its flags on a data set
// written wrong on purpose, and the RefCOCO-family count check both ways.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/check.h"
#include "fixture.h"

TestSuite(check, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

static char *run_check(const char *dir, int *problems) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  *problems = gw_check(dir, out);
  fclose(out);
  return text;
}

static void write_text(const char *dir, const char *name, const char *text) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fputs(text, f);
  fclose(f);
}

Test(check, sha256_known_values) {
  const char *dir = dsfix_tmpdir();
  char hex[65], path[700];
  write_text(dir, "abc", "abc");
  snprintf(path, sizeof path, "%s/abc", dir);
  cr_assert(gw_sha256_file(path, hex) == 0);
  cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  write_text(dir, "empty", "");
  snprintf(path, sizeof path, "%s/empty", dir);
  cr_assert(gw_sha256_file(path, hex) == 0);
  cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // two blocks (56 bytes of message need a second padding block)
  write_text(dir, "two", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  snprintf(path, sizeof path, "%s/two", dir);
  cr_assert(gw_sha256_file(path, hex) == 0);
  cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(check, good_data_set) {
  const char *ds = dsfix_dataset();
  int problems;
  char *text = run_check(ds, &problems);
  cr_assert_eq(problems, 0, "the generator's data set is consistent:\n%s", text);
  cr_assert(strstr(text, "source: shapes-world generator"), "%s", text);
  cr_assert(strstr(text, "vocabulary: ") && strstr(text, "answers: "), "%s", text);
  cr_assert(strstr(text, "  train           16 "), "per-split counts:\n%s", text);
  cr_assert(strstr(text, "  testB            8 "), "%s", text);
  cr_assert(strstr(text, "outside 0"), "box statistics:\n%s", text);
  cr_assert(strstr(text, "mean pixel per channel"), "%s", text);
  cr_assert(strstr(text, "SHA-256") && strstr(text, "  train.h5\n") &&
                strstr(text, "  export/refcoco/refs(unc).p\n"),
            "checksums of the files:\n%s", text);
  cr_assert(!strstr(text, ".png\n"), "png/ is not hashed");
  cr_assert(strstr(text, "OK: no problems found"), "%s", text);
  free(text);
}

// A data set written by hand with one of each inconsistency.
Test(check, flags_a_bad_data_set) {
  const char *dir = dsfix_tmpdir();
  write_text(dir, "vocab.txt", "<pad>\n<unk>\n<cls>\n<sep>\n<eos>\n<mask>\ncircle\nthe\n");
  write_text(
      dir, "meta.json",
      "{\"source\": {\"format\": \"refcoco\", \"dataset\": \"refcoco\", \"split_by\": \"unc\", "
      "\"box_convention\": \"COCO [x, y, w, h]\"}, \"img_size\": 8, \"vocab_size\": 9, "
      "\"splits\": {\"train\": {\"counts\": {\"images\": 2, \"objects\": 3, \"refs\": 2, "
      "\"sentences\": 2}}, \"val\": {\"counts\": {\"images\": 1}}}}");
  char path[700];
  snprintf(path, sizeof path, "%s/train.h5", dir);
  gw_h5 *f = gw_h5_create(path);
  cr_assert(f);
  uint8_t images[2 * 8 * 8 * 3] = {0};
  int32_t obj_image[3] = {0, 1, 5};  // 5: no such image
  float obj_box[12] = {1, 1, 4, 4, 2, 2, 9.5f, 5, 3, 3, 3, 6};  // row 1 outside, row 2 no area
  int32_t attrs[12] = {0};
  int32_t ref_image[2] = {0, 0}, ref_object[2] = {0, 1}, ref_level[2] = {0, 0},
          ref_swap[2] = {-1, 7};
  float ref_box[8] = {1, 1, 4, 5, 2, 2, 9.5f, 5};  // row 0 differs from object 0
  int32_t sent_ref[2] = {0, 1}, tokens[2 * 3] = {7, 6, 0, 42, 0, 0},
          length[2] = {2, 0};  // id 42, empty
  int64_t two = 2, three = 3;
  cr_assert(gw_h5_write_array(f, "images", GW_H5_U8, 4, (int64_t[]){2, 8, 8, 3}, images, 0) == 0);
  gw_h5_write_array(f, "objects/image", GW_H5_I32, 1, &three, obj_image, 0);
  gw_h5_write_array(f, "objects/box", GW_H5_F32, 2, (int64_t[]){3, 4}, obj_box, 0);
  gw_h5_write_array(f, "objects/attrs", GW_H5_I32, 2, (int64_t[]){3, 4}, attrs, 0);
  gw_h5_write_array(f, "refs/image", GW_H5_I32, 1, &two, ref_image, 0);
  gw_h5_write_array(f, "refs/object", GW_H5_I32, 1, &two, ref_object, 0);
  gw_h5_write_array(f, "refs/box", GW_H5_F32, 2, (int64_t[]){2, 4}, ref_box, 0);
  gw_h5_write_array(f, "refs/level", GW_H5_I32, 1, &two, ref_level, 0);
  gw_h5_write_array(f, "refs/swap_of", GW_H5_I32, 1, &two, ref_swap, 0);
  gw_h5_write_array(f, "sents/ref", GW_H5_I32, 1, &two, sent_ref, 0);
  gw_h5_write_array(f, "sents/tokens", GW_H5_I32, 2, (int64_t[]){2, 3}, tokens, 0);
  gw_h5_write_array(f, "sents/length", GW_H5_I32, 1, &two, length, 0);
  // row 0 does not hold its target (row 1 leaves the image with its object)
  float ctx[8] = {2, 1, 4, 5, 1, 1, 9.5f, 6};
  gw_h5_write_array(f, "refs/context_box", GW_H5_F32, 2, (int64_t[]){2, 4}, ctx, 0);
  // one question with answer type 7
  int32_t q_image[1] = {0}, q_type[1] = {7}, q_answers[10] = {0};
  int64_t one = 1;
  gw_h5_write_array(f, "questions/image", GW_H5_I32, 1, &one, q_image, 0);
  gw_h5_write_array(f, "questions/answers", GW_H5_I32, 2, (int64_t[]){1, 10}, q_answers, 0);
  gw_h5_write_array(f, "questions/answer_type", GW_H5_I32, 1, &one, q_type, 0);
  // the letterbox of image 1 maps object 1 (x2 = 9.5) back to x2 = 19 of a 16 px wide source
  float lb[8] = {1, 1, 0, 0, 0.5f, 0.5f, 0, 0};
  int32_t src_size[4] = {8, 8, 16, 16};
  gw_h5_write_array(f, "source/letterbox", GW_H5_F32, 2, (int64_t[]){2, 4}, lb, 0);
  gw_h5_write_array(f, "source/size", GW_H5_I32, 2, (int64_t[]){2, 2}, src_size, 0);
  cr_assert(gw_h5_close(f) == 0);
  int problems;
  char *text = run_check(dir, &problems);
  const char *want[] = {
      "vocab.txt has 8 tokens, meta.json says 9",
      "meta.json lists the split val, but val.h5 is missing",
      "objects/image row 2 = 5, outside [0, 2)",
      "objects/box row 1 = [2, 2, 9.5, 5] is outside the 8 x 8 image",
      "objects/box row 2 = [3, 3, 3, 6] is outside the 8 x 8 image or has no area",
      "refs/box row 0 differs from objects/box row 0",
      "refs/swap_of row 1 = 7",
      "sents/tokens row 1 holds token id 42, outside the vocabulary (8 tokens)",
      "sents row 1 is empty (length 0): an empty expression",
      "refs/context_box row 0 = [2, 1, 4, 5] does not hold its target [1, 1, 4, 5]",
      "questions/answer_type row 0 = 7, not 0 (yes/no), 1 (number), 2 (other) or -1",
      "objects/box row 1 maps back to [4.0, 4.0, 19.0, 10.0], outside its 16 x 16 source image",
      "train.h5: 3 objects, meta.json says 3",  // (not a problem: listed to show counts compare)
      "train.h5: 2 images, meta.json says 2",
  };
  for (int k = 0; k < 12; k++)
    cr_assert(strstr(text, want[k]), "missing \"%s\" in:\n%s", want[k], text);
  cr_assert(!strstr(text, want[12]) && !strstr(text, want[13]), "equal counts are not problems:\n%s",
            text);
  // the RefCOCO (unc) counts: the tiny set is not the released one
  cr_assert(strstr(text, "train         2  expected   120624  MISMATCH"), "%s", text);
  cr_assert(strstr(text, "testB        -1  expected     5095  MISMATCH"), "%s", text);
  cr_assert(problems >= 16, "%d problems:\n%s", problems, text);
  cr_assert(strstr(text, "problems found"), "%s", text);
  free(text);
  // no data set at all
  const char *empty = dsfix_tmpdir();
  cr_assert_eq(gw_check(empty, fopen("/dev/null", "w")), -1);
  cr_assert(strstr(gw_last_error(), "not a data set directory"), "%s", gw_last_error());
}

// RefCOCO (unc) with the released numbers of expressions per split: no mismatch.
Test(check, refcoco_known_counts_pass) {
  const char *dir = dsfix_tmpdir();
  write_text(dir, "vocab.txt", "<pad>\n<unk>\n<cls>\n<sep>\n<eos>\n<mask>\nman\n");
  write_text(dir, "meta.json",
             "{\"source\": {\"format\": \"refcoco\", \"dataset\": \"refcoco\", "
             "\"split_by\": \"unc\", \"box_convention\": \"COCO\"}, \"img_size\": 8}");
  const char *names[4] = {"train", "val", "testA", "testB"};
  int64_t counts[4] = {120624, 10834, 5657, 5095};
  int32_t *zeros = calloc(120624, sizeof *zeros), *ones = malloc(120624 * sizeof *ones);
  for (int k = 0; k < 120624; k++) ones[k] = 1;
  int32_t *tok6 = malloc(120624 * sizeof *tok6);
  for (int k = 0; k < 120624; k++) tok6[k] = 6;
  for (int s = 0; s < 4; s++) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s.h5", dir, names[s]);
    gw_h5 *f = gw_h5_create(path);
    uint8_t img[8 * 8 * 3] = {0};
    float box[4] = {1, 1, 3, 3};
    int64_t one = 1, n = counts[s];
    gw_h5_write_array(f, "images", GW_H5_U8, 4, (int64_t[]){1, 8, 8, 3}, img, 0);
    gw_h5_write_array(f, "objects/image", GW_H5_I32, 1, &one, zeros, 0);
    gw_h5_write_array(f, "objects/box", GW_H5_F32, 2, (int64_t[]){1, 4}, box, 0);
    gw_h5_write_array(f, "refs/image", GW_H5_I32, 1, &one, zeros, 0);
    gw_h5_write_array(f, "refs/object", GW_H5_I32, 1, &one, zeros, 0);
    gw_h5_write_array(f, "refs/box", GW_H5_F32, 2, (int64_t[]){1, 4}, box, 0);
    gw_h5_write_array(f, "sents/ref", GW_H5_I32, 1, &n, zeros, 4096);
    gw_h5_write_array(f, "sents/tokens", GW_H5_I32, 2, (int64_t[]){n, 1}, tok6, 4096);
    gw_h5_write_array(f, "sents/length", GW_H5_I32, 1, &n, ones, 4096);
    cr_assert(gw_h5_close(f) == 0);
  }
  free(zeros);
  free(ones);
  free(tok6);
  int problems;
  char *text = run_check(dir, &problems);
  cr_assert_eq(problems, 0, "%s", text);
  cr_assert(strstr(text, "refcoco (unc) expressions per split against the known counts"), "%s",
            text);
  cr_assert(strstr(text, "train    120624  expected   120624  ok"), "%s", text);
  cr_assert(strstr(text, "testB      5095  expected     5095  ok"), "%s", text);
  free(text);
}
