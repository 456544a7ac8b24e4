// Image decoding and the letterbox: PNG and JPEG files written here and read back, grey and
// RGBA converted to RGB, truncated and corrupt files named in the error, and the letterbox's
// geometry: known (scale, offset) values, pixels placed on the pad, boxes mapped forward and
// back exactly.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "datasets/image_io.h"
#include "testutil.h"

TestSuite(image_io, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

static char dir[64];

static const char *tmp_path(const char *name) {
  static char path[256];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/gw_image_io_XXXXXX");
    cr_assert(mkdtemp(dir));
  }
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (dir[0]) cr_assert(system(cmd) == 0);
  dir[0] = '\0';
}

// A w x h RGB gradient with a distinct value per pixel and channel.
static uint8_t *pattern(int w, int h) {
  uint8_t *p = malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      p[(y * w + x) * 3] = (uint8_t)(x * 7);
      p[(y * w + x) * 3 + 1] = (uint8_t)(y * 11);
      p[(y * w + x) * 3 + 2] = (uint8_t)(x + y);
    }
  return p;
}

static void truncate_file(const char *path, long drop) {
  FILE *f = fopen(path, "rb");
  cr_assert(f);
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

Test(image_io, png_round_trip_exact) {
  uint8_t *p = pattern(13, 7);
  const char *path = tmp_path("a.png");
  cr_assert(stbi_write_png(path, 13, 7, 3, p, 13 * 3));
  gw_image im;
  cr_assert(gw_image_load(path, &im) == 0, "%s", gw_last_error());
  cr_assert(im.w == 13 && im.h == 7);
  cr_assert(!memcmp(im.pixels, p, 13 * 7 * 3), "PNG pixels differ after a round trip");
  gw_image_free(&im);
  // grey and RGBA files come back as RGB
  uint8_t grey[6] = {0, 50, 100, 150, 200, 250}, rgba[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  cr_assert(stbi_write_png(tmp_path("g.png"), 3, 2, 1, grey, 3));
  cr_assert(gw_image_load(tmp_path("g.png"), &im) == 0);
  cr_assert(im.pixels[3 * 4] == 200 && im.pixels[3 * 4 + 1] == 200 && im.pixels[3 * 4 + 2] == 200);
  gw_image_free(&im);
  cr_assert(stbi_write_png(tmp_path("c.png"), 2, 1, 4, rgba, 8));
  cr_assert(gw_image_load(tmp_path("c.png"), &im) == 0);
  cr_assert(im.pixels[3] == 5 && im.pixels[4] == 6 && im.pixels[5] == 7);
  gw_image_free(&im);
  free(p);
  cleanup();
}

Test(image_io, jpeg_round_trip_close) {
  int w = 32, h = 24;
  uint8_t *p = malloc((size_t)w * h * 3);
  for (int k = 0; k < w * h * 3; k++) p[k] = (uint8_t)(100 + (k % 3) * 40);  // flat colour
  const char *path = tmp_path("a.jpg");
  cr_assert(stbi_write_jpg(path, w, h, 3, p, 95));
  gw_image im;
  cr_assert(gw_image_load(path, &im) == 0, "%s", gw_last_error());
  cr_assert(im.w == w && im.h == h);
  int worst = 0;
  for (int k = 0; k < w * h * 3; k++)
    worst = abs(im.pixels[k] - p[k]) > worst ? abs(im.pixels[k] - p[k]) : worst;
  cr_assert(worst <= 3, "a flat JPEG at quality 95 decodes within 3 levels (worst %d)", worst);
  gw_image_free(&im);
  free(p);
  cleanup();
}

Test(image_io, bad_files_are_named) {
  uint8_t *p = pattern(16, 16);
  gw_image im;
  // missing
  cr_assert(gw_image_load(tmp_path("none.png"), &im) < 0);
  cr_assert(strstr(gw_last_error(), "none.png") && strstr(gw_last_error(), "No such file"), "%s",
            gw_last_error());
  // truncated PNG: the IEND chunk is gone
  const char *png = tmp_path("t.png");
  cr_assert(stbi_write_png(png, 16, 16, 3, p, 48));
  truncate_file(png, 20);
  cr_assert(gw_image_load(png, &im) < 0);
  cr_assert(strstr(gw_last_error(), "t.png") && strstr(gw_last_error(), "truncated PNG"), "%s",
            gw_last_error());
  // truncated JPEG: stb_image would decode it without complaint, the end marker check catches it
  const char *jpg = tmp_path("t.jpg");
  cr_assert(stbi_write_jpg(jpg, 16, 16, 3, p, 90));
  truncate_file(jpg, 40);
  cr_assert(gw_image_load(jpg, &im) < 0);
  cr_assert(strstr(gw_last_error(), "t.jpg") && strstr(gw_last_error(), "truncated JPEG"), "%s",
            gw_last_error());
  // not an image at all, and an empty file
  const char *junk = tmp_path("junk.png");
  FILE *f = fopen(junk, "wb");
  fputs("this is not an image, it is text", f);
  fclose(f);
  cr_assert(gw_image_load(junk, &im) < 0);
  cr_assert(strstr(gw_last_error(), "junk.png") && strstr(gw_last_error(), "not a readable image"),
            "%s", gw_last_error());
  f = fopen(tmp_path("empty.png"), "wb");
  fclose(f);
  cr_assert(gw_image_load(tmp_path("empty.png"), &im) < 0);
  cr_assert(strstr(gw_last_error(), "empty"), "%s", gw_last_error());
  // a PNG whose compressed data is overwritten (header and IEND intact)
  const char *bad = tmp_path("bad.png");
  cr_assert(stbi_write_png(bad, 16, 16, 3, p, 48));
  f = fopen(bad, "r+b");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 45, SEEK_SET);  // inside IDAT
  for (long k = 45; k < n - 20; k++) fputc(0xff, f);
  fclose(f);
  cr_assert(gw_image_load(bad, &im) < 0);
  cr_assert(strstr(gw_last_error(), "bad.png") && strstr(gw_last_error(), "corrupt"), "%s",
            gw_last_error());
  free(p);
  cleanup();
}

Test(image_io, letterbox_geometry) {
  // 100 x 50 into 64: the long side becomes 64, the short 32, centred vertically
  gw_letterbox lb = gw_letterbox_of(100, 50, 64);
  cr_assert(lb.new_w == 64 && lb.new_h == 32 && lb.dx == 0 && lb.dy == 16);
  cr_assert(lb.scale_x == 0.64 && lb.scale_y == 0.64);
  float box[4] = {10, 10, 20, 20}, fwd[4];
  gw_letterbox_forward(&lb, box, fwd);
  cr_assert(fabsf(fwd[0] - 6.4f) < 1e-5f && fabsf(fwd[1] - 22.4f) < 1e-5f &&
                fabsf(fwd[2] - 12.8f) < 1e-5f && fabsf(fwd[3] - 28.8f) < 1e-5f,
            "got [%g %g %g %g]", fwd[0], fwd[1], fwd[2], fwd[3]);
  // a tall image: centred horizontally; the short side rounds (30 * 64 / 90 = 21.33 -> 21)
  lb = gw_letterbox_of(30, 90, 64);
  cr_assert(lb.new_w == 21 && lb.new_h == 64 && lb.dx == 21 && lb.dy == 0);
  cr_assert(lb.scale_x == 21.0 / 30.0 && lb.scale_y == 64.0 / 90.0);
  // the image's own size: identity
  lb = gw_letterbox_of(64, 64, 64);
  cr_assert(lb.scale_x == 1.0 && lb.dx == 0 && lb.dy == 0);
}

Test(image_io, boxes_map_forward_and_back) {
  // power-of-two scales: exact to the bit
  gw_letterbox lb = gw_letterbox_of(256, 128, 64);  // scale 1/4, dy 16
  float box[4] = {13.25f, 7.5f, 201.0f, 127.75f}, fwd[4], back[4];
  gw_letterbox_forward(&lb, box, fwd);
  cr_assert(fwd[0] == 13.25f / 4 && fwd[1] == 7.5f / 4 + 16 && fwd[2] == 201.0f / 4 &&
            fwd[3] == 127.75f / 4 + 16);
  gw_letterbox_back(&lb, fwd, back);
  cr_assert(!memcmp(box, back, sizeof box), "back(forward(b)) must be b exactly for scale 1/4");
  // any scale: back(forward(b)) == b up to float rounding: one rounding of the stored box (at
  // the square's magnitude, divided by the scale) and one of the result
  gw_rng r = gwt_rng(3);
  double worst = 0;
  for (int t = 0; t < 2000; t++) {
    int w = 1 + (int)gw_rng_below(&r, 2000), h = 1 + (int)gw_rng_below(&r, 2000);
    int S = 16 + (int)gw_rng_below(&r, 1000);
    lb = gw_letterbox_of(w, h, S);
    float b[4];
    b[0] = gw_rng_float(&r) * w;
    b[1] = gw_rng_float(&r) * h;
    b[2] = b[0] + gw_rng_float(&r) * (w - b[0]);
    b[3] = b[1] + gw_rng_float(&r) * (h - b[1]);
    gw_letterbox_forward(&lb, b, fwd);
    for (int k = 0; k < 4; k++)
      cr_assert(fwd[k] >= -1e-3f && fwd[k] <= S + 1e-3f,
                "a box inside the image maps inside the square");
    gw_letterbox_back(&lb, fwd, back);
    for (int k = 0; k < 4; k++) {
      double scale = k % 2 ? lb.scale_y : lb.scale_x, ulp = ldexp(1.0, -23);
      double bound = fabs(fwd[k]) * ulp / scale + fabs(b[k]) * ulp;
      worst = fmax(worst, fabs((double)back[k] - b[k]) / bound);
    }
  }
  cr_assert(worst <= 1.0, "back(forward(b)) is off by %g float roundings", worst);
}

Test(image_io, letterbox_pixels) {
  // same size: an exact copy
  uint8_t *p = pattern(8, 8), out[8 * 8 * 3];
  gw_image im = {p, 8, 8};
  gw_letterbox lb = gw_letterbox_of(8, 8, 8);
  cr_assert(gw_letterbox_image(&im, &lb, 127, out) == 0);
  cr_assert(!memcmp(out, p, sizeof out));
  free(p);
  // 8 x 4 into 8: rows 0-1 and 6-7 are pad, rows 2-5 the image
  p = pattern(8, 4);
  im = (gw_image){p, 8, 4};
  lb = gw_letterbox_of(8, 4, 8);
  cr_assert(gw_letterbox_image(&im, &lb, 127, out) == 0);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      for (int ch = 0; ch < 3; ch++) {
        uint8_t v = out[(y * 8 + x) * 3 + ch];
        if (y < 2 || y >= 6) cr_assert(v == 127, "pad at (%d, %d)", x, y);
        else cr_assert(v == p[((y - 2) * 8 + x) * 3 + ch], "image at (%d, %d)", x, y);
      }
  free(p);
  // downscaling a flat image keeps its colour; the pad takes the rest
  uint8_t flat[40 * 20 * 3];
  memset(flat, 200, sizeof flat);
  im = (gw_image){flat, 40, 20};
  lb = gw_letterbox_of(40, 20, 8);
  cr_assert(gw_letterbox_image(&im, &lb, 10, out) == 0);
  cr_assert(out[(4 * 8 + 4) * 3] == 200 && out[0] == 10);
}
