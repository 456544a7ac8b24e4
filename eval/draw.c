#include "eval/draw.h"

#include <stdlib.h>
#include <string.h>

#include <stb/stb_easy_font.h>

static void fill_rect(uint8_t *rgb, int w, int h, int x0, int y0, int x1, int y1, const uint8_t c[3]) {
  if (x0 < 0) x0 = 0;
  if (y0 < 0) y0 = 0;
  if (x1 > w) x1 = w;
  if (y1 > h) y1 = h;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) memcpy(rgb + 3 * ((size_t)y * w + x), c, 3);
}

void gw_draw_box(uint8_t *rgb, int w, int h, const float *box, const uint8_t color[3], int t) {
  int x1 = (int)(box[0] + 0.5f), y1 = (int)(box[1] + 0.5f), x2 = (int)(box[2] + 0.5f),
      y2 = (int)(box[3] + 0.5f);
  fill_rect(rgb, w, h, x1, y1, x2, y1 + t, color);
  fill_rect(rgb, w, h, x1, y2 - t, x2, y2, color);
  fill_rect(rgb, w, h, x1, y1, x1 + t, y2, color);
  fill_rect(rgb, w, h, x2 - t, y1, x2, y2, color);
}

int gw_draw_text(uint8_t *rgb, int w, int h, int x, int y, const char *text, const uint8_t color[3],
                 int scale) {
  static char buffer[60000];  // stb_easy_font's quads: 4 vertices of 16 bytes each
  unsigned char c4[4] = {color[0], color[1], color[2], 255};
  int quads = stb_easy_font_print(0, 0, (char *)text, c4, buffer, sizeof buffer);
  float *v = (float *)buffer;
  int bottom = 0;
  for (int q = 0; q < quads; q++) {
    float *a = v + q * 16;  // vertex k at a + 4k: x, y, z, colour
    int x0 = (int)a[0], y0 = (int)a[1], x1 = (int)a[8], y1 = (int)a[9];
    fill_rect(rgb, w, h, x + x0 * scale, y + y0 * scale, x + x1 * scale, y + y1 * scale, color);
    if (y1 > bottom) bottom = y1;
  }
  return bottom * scale;
}

uint8_t *gw_draw_enlarge(const uint8_t *rgb, int w, int h, int factor, int pad, int *out_w, int *out_h) {
  int W = w * factor, H = h * factor + pad;
  uint8_t *out = malloc((size_t)W * H * 3);
  memset(out, 255, (size_t)W * H * 3);
  for (int y = 0; y < h * factor; y++)
    for (int x = 0; x < W; x++) memcpy(out + 3 * ((size_t)y * W + x), rgb + 3 * ((size_t)(y / factor) * w + x / factor), 3);
  *out_w = W;
  *out_h = H;
  return out;
}
