// The pictures of gw predict --explain (eval/explain.c), from probes set by hand: where a
// word's attention is, the picture is bright; kernels are drawn red for positive weights and
// blue for negative ones; a model that keeps no probes gets no pictures.
#include <stb/stb_image.h>
#include <stdlib.h>
#include <unistd.h>

#include "eval/explain.h"
#include "testutil.h"

TestSuite(explain, .init = gwt_setup, .fini = gwt_teardown);

enum { S = 16 };

static void grey_image(uint8_t *im) {
  for (int i = 0; i < S * S * 3; i++) im[i] = 128;
}

static uint8_t *load(const char *dir, const char *name, int *w, int *h) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int n;
  uint8_t *px = stbi_load(path, w, h, &n, 3);
  cr_assert(px, "explain: %s was not written or does not decode", path);
  return px;
}

// Mean brightness of a rectangle of the picture.
static double brightness(const uint8_t *px, int w, int x0, int y0, int x1, int y1) {
  double sum = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) sum += px[3 * (y * w + x)] + px[3 * (y * w + x) + 1] + px[3 * (y * w + x) + 2];
  return sum / ((x1 - x0) * (y1 - y0));
}

Test(explain, attention_is_bright_where_the_word_is_read) {
  char dir[] = "/tmp/gw-explain-XXXXXX";
  cr_assert(mkdtemp(dir));
  // 2x2 queries, 2 words, one head: word 0 read only by the top-left query, word 1 by the rest
  gw_tensor *attn = gw_zeros(GW_F32, GW_SHAPE(1, 1, 4, 2));
  float *a = gw_f32(attn);
  a[0 * 2 + 0] = 1.0f;
  for (int q = 1; q < 4; q++) a[q * 2 + 1] = 1.0f;
  gw_probe_set probes;
  gw_probe_begin(&probes);
  gw_probe_keep("stage1.block0", "attention", attn, 1);
  gw_probe_end();
  uint8_t image[S * S * 3];
  grey_image(image);
  const char *words[2] = {"red", "circle"};
  cr_assert_eq(gw_explain_write(&probes, image, S, words, 2, NULL, dir), 1);
  int w, h;
  uint8_t *px = load(dir, "attention.png", &w, &h);
  // the layout: columns of S*2 pixels + 4 apart (input, word 0, word 1); maps start 26 rows down
  int side = 2 * S, top = 14 + 12, col1 = side + 4;
  double tl = brightness(px, w, col1, top, col1 + side / 2, top + side / 2);
  double br = brightness(px, w, col1 + side / 2, top + side / 2, col1 + side, top + side);
  cr_assert_gt(tl, br + 100, "word 0's map: top-left %.0f should be far brighter than bottom-right %.0f", tl, br);
  int col2 = 2 * (side + 4);
  tl = brightness(px, w, col2, top, col2 + side / 2, top + side / 2);
  br = brightness(px, w, col2 + side / 2, top + side / 2, col2 + side, top + side);
  cr_assert_lt(tl + 100, br, "word 1's map: top-left %.0f should be far darker than bottom-right %.0f", tl, br);
  stbi_image_free(px);
  char path[600];
  snprintf(path, sizeof path, "%s/attention.png", dir);
  unlink(path);
  rmdir(dir);
}

Test(explain, kernels_are_red_when_positive_and_blue_when_negative) {
  char dir[] = "/tmp/gw-explain-XXXXXX";
  cr_assert(mkdtemp(dir));
  // one group of 3x3 kernels on a 4x4 map: +1 everywhere except the box-centre pixel's, -1
  gw_tensor *k = gw_zeros(GW_F32, GW_SHAPE(1, 1, 9, 4, 4));
  float *v = gw_f32(k);
  for (int j = 0; j < 9; j++)
    for (int p = 0; p < 16; p++) v[j * 16 + p] = p == 0 ? -1.0f : 1.0f;
  gw_probe_set probes;
  gw_probe_begin(&probes);
  gw_probe_keep("stage1.block0", "kernels", k, 3);
  gw_probe_end();
  uint8_t image[S * S * 3];
  grey_image(image);
  float box[4] = {0, 0, 2, 2};  // centre (1, 1): pixel 0 of the 4x4 map; mirror: pixel 15
  cr_assert_eq(gw_explain_write(&probes, image, S, NULL, 0, box, dir), 1);
  int w, h;
  uint8_t *px = load(dir, "kernels.png", &w, &h);
  // the first kernel (box centre) starts at x = 2 below the image and the title
  int y = 14 + 2 * S + 4 + 14 + 4, x_centre = 2 + 4, x_mirror = 2 + 3 * 12 + 4 + 3 * 4 + 4;
  const uint8_t *c = px + 3 * (y * w + x_centre), *m = px + 3 * (y * w + x_mirror);
  cr_assert(c[2] > 200 && c[0] < 50, "the negative kernel should be blue, got %d %d %d", c[0], c[1], c[2]);
  cr_assert(m[0] > 200 && m[2] < 50, "the positive kernel should be red, got %d %d %d", m[0], m[1], m[2]);
  stbi_image_free(px);
  char path[600];
  snprintf(path, sizeof path, "%s/kernels.png", dir);
  unlink(path);
  rmdir(dir);
}

Test(explain, nothing_to_draw_without_probes) {
  gw_probe_set probes;
  gw_probe_begin(&probes);
  gw_probe_end();
  gw_probe_keep("stage1.block0", "attention", gw_zeros(GW_F32, GW_SHAPE(1, 1, 1, 1)), 1);  // off: ignored
  cr_assert_eq(probes.n, 0);
  uint8_t image[S * S * 3];
  grey_image(image);
  cr_assert_eq(gw_explain_write(&probes, image, S, NULL, 0, NULL, "/tmp"), 0);
}

Test(explain, an_unwritable_directory_is_an_error_naming_it) {
  gw_probe_set probes;
  gw_probe_begin(&probes);
  gw_probe_end();
  uint8_t image[S * S * 3];
  grey_image(image);
  cr_assert_eq(gw_explain_write(&probes, image, S, NULL, 0, NULL, "/proc/no-such-dir/x"), -1);
  cr_assert(strstr(gw_last_error(), "/proc/no-such-dir/x"), "got: %s", gw_last_error());
}
