// Drawing on RGB images (H, W, 3 uint8): boxes and text, for predictions and reports.
#ifndef GW_EVAL_DRAW_H
#define GW_EVAL_DRAW_H

#include <stdint.h>

// The outline of box x1, y1, x2, y2 (pixel edges), `thickness` pixels wide, inside the box.
void gw_draw_box(uint8_t *rgb, int w, int h, const float *box, const uint8_t color[3], int thickness);
// Text in stb_easy_font's bitmap font, scaled up by `scale`, top-left corner at (x, y); lines
// that do not fit are clipped. Returns the height drawn in pixels.
int gw_draw_text(uint8_t *rgb, int w, int h, int x, int y, const char *text, const uint8_t color[3],
                 int scale);
// A copy of the image scaled up by an integer factor (nearest), with `pad` rows of background
// below (for a caption); the caller frees it.
uint8_t *gw_draw_enlarge(const uint8_t *rgb, int w, int h, int factor, int pad, int *out_w, int *out_h);

#endif
