// Rendering a shapes-world scene: background, then each object alpha-blended by its coverage,
// measured with 4x4 supersampling inside the object's box only (§6.2).
//
// Polygons come from fixed vertex tables, rotated by tabulated cos/sin of 45-degree steps: no
// libm call touches a pixel, so the images are the same bits on any machine.
#include <math.h>
#include <string.h>

#include "datasets/sw.h"

// Unit vertices (circumradius 1, y pointing down), from the shape's top going clockwise.
static const float TRIANGLE[3][2] = {{0.0f, -1.0f}, {0.866025404f, 0.5f}, {-0.866025404f, 0.5f}};
static const float SQUARE[4][2] = {{-0.707106781f, -0.707106781f}, {0.707106781f, -0.707106781f},
                                   {0.707106781f, 0.707106781f}, {-0.707106781f, 0.707106781f}};
static const float DIAMOND[4][2] = {{0.0f, -1.0f}, {0.7f, 0.0f}, {0.0f, 1.0f}, {-0.7f, 0.0f}};
static const float STAR[10][2] = {
    {0.0f, -1.0f},          {0.264503364f, -0.364057647f}, {0.951056516f, -0.309016994f},
    {0.427975432f, 0.139057647f}, {0.587785252f, 0.809016994f},  {0.0f, 0.45f},
    {-0.587785252f, 0.809016994f}, {-0.427975432f, 0.139057647f}, {-0.951056516f, -0.309016994f},
    {-0.264503364f, -0.364057647f}};
static const float CROSS[12][2] = {{-0.32f, -1.0f}, {0.32f, -1.0f},  {0.32f, -0.32f}, {1.0f, -0.32f},
                                   {1.0f, 0.32f},   {0.32f, 0.32f},  {0.32f, 1.0f},   {-0.32f, 1.0f},
                                   {-0.32f, 0.32f}, {-1.0f, 0.32f},  {-1.0f, -0.32f}, {-0.32f, -0.32f}};
static const float PENTAGON[5][2] = {{0.0f, -1.0f}, {0.951056516f, -0.309016994f},
                                     {0.587785252f, 0.809016994f}, {-0.587785252f, 0.809016994f},
                                     {-0.951056516f, -0.309016994f}};
static const float HEXAGON[6][2] = {{0.0f, -1.0f}, {0.866025404f, -0.5f}, {0.866025404f, 0.5f},
                                    {0.0f, 1.0f},  {-0.866025404f, 0.5f}, {-0.866025404f, -0.5f}};
// cos and sin of k * 45 degrees
static const float ROT_COS[8] = {1.0f, 0.707106781f, 0.0f, -0.707106781f, -1.0f, -0.707106781f,
                                 0.0f, 0.707106781f};
static const float ROT_SIN[8] = {0.0f, 0.707106781f, 1.0f, 0.707106781f, 0.0f, -0.707106781f,
                                 -1.0f, -0.707106781f};

static int unit_polygon(int shape, const float (**v)[2]) {
  switch (shape) {
    case SW_TRIANGLE: *v = TRIANGLE; return 3;
    case SW_SQUARE: *v = SQUARE; return 4;
    case SW_DIAMOND: *v = DIAMOND; return 4;
    case SW_STAR: *v = STAR; return 10;
    case SW_CROSS: *v = CROSS; return 12;
    case SW_PENTAGON: *v = PENTAGON; return 5;
    case SW_HEXAGON: *v = HEXAGON; return 6;
    default: *v = NULL; return 0;  // circle
  }
}

// Fills o->poly from the unit table, its rotation, centre and radius.
static void place_polygon(sw_object *o) {
  const float(*v)[2];
  o->n_poly = unit_polygon(o->shape, &v);
  float cs = ROT_COS[o->rot], sn = ROT_SIN[o->rot];
  for (int k = 0; k < o->n_poly; k++) {
    float x = v[k][0] * cs - v[k][1] * sn, y = v[k][0] * sn + v[k][1] * cs;
    o->poly[k][0] = o->cx + o->r * x;
    o->poly[k][1] = o->cy + o->r * y;
  }
}

// Crossing-number test of (x, y) against the polygon scaled about (cx, cy) by `scale`.
static bool in_polygon(const sw_object *o, float x, float y, float scale) {
  bool in = false;
  for (int a = 0, b = o->n_poly - 1; a < o->n_poly; b = a++) {
    float ax = o->cx + (o->poly[a][0] - o->cx) * scale, ay = o->cy + (o->poly[a][1] - o->cy) * scale;
    float bx = o->cx + (o->poly[b][0] - o->cx) * scale, by = o->cy + (o->poly[b][1] - o->cy) * scale;
    if ((ay > y) != (by > y) && x < (bx - ax) * (y - ay) / (by - ay) + ax) in = !in;
  }
  return in;
}

static bool inside(const sw_object *o, float x, float y, int stroke) {
  if (o->shape == SW_CIRCLE) {
    float dx = x - o->cx, dy = y - o->cy, d2 = dx * dx + dy * dy;
    if (d2 > o->r * o->r) return false;
    if (o->style != SW_OUTLINE) return true;
    float inner = o->r - (float)stroke;
    return inner <= 0.0f || d2 > inner * inner;
  }
  if (!in_polygon(o, x, y, 1.0f)) return false;
  if (o->style != SW_OUTLINE) return true;
  float scale = (o->r - (float)stroke) / o->r;  // a hollow shape: the ring between two polygons
  return scale <= 0.0f || !in_polygon(o, x, y, scale);
}

int sw_coverage(const sw_object *o, int px, int py, int stroke) {
  int n = 0;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      n += inside(o, (float)px + ((float)j + 0.5f) * 0.25f, (float)py + ((float)i + 0.5f) * 0.25f, stroke);
  return n;
}

// ---- backgrounds ----

// A value-noise lattice: a random grey level at every `cell` pixels, bilinearly interpolated.
static void add_value_noise(uint8_t *rgb, int W, int cell, int amplitude, gw_rng *r, float *tmp) {
  int g = W / cell + 2;
  float lattice[g * g];
  gw_rng_uniform(r, lattice, g * g, -(float)amplitude, (float)amplitude);
  for (int y = 0; y < W; y++)
    for (int x = 0; x < W; x++) {
      float fx = (float)x / (float)cell, fy = (float)y / (float)cell;
      int ix = (int)fx, iy = (int)fy;
      float tx = fx - (float)ix, ty = fy - (float)iy;
      float top = lattice[iy * g + ix] * (1 - tx) + lattice[iy * g + ix + 1] * tx;
      float bot = lattice[(iy + 1) * g + ix] * (1 - tx) + lattice[(iy + 1) * g + ix + 1] * tx;
      tmp[y * W + x] += top * (1 - ty) + bot * ty;
    }
  (void)rgb;
}

static uint8_t clamp_u8(float v) { return (uint8_t)(v < 0.0f ? 0 : (v > 255.0f ? 255 : (int)(v + 0.5f))); }

static void draw_background(const sw_config *c, int mode, gw_rng *r, uint8_t *rgb) {
  int W = c->img_size;
  float base = 128.0f + (float)((int)gw_rng_below(r, (uint64_t)(2 * c->bg_jitter + 1)) - c->bg_jitter);
  float grey[W * W];
  for (int i = 0; i < W * W; i++) grey[i] = base;
  switch (mode) {
    case SW_BG_SOLID: break;
    case SW_BG_GRADIENT: {  // a linear ramp of +-24 levels along a random axis
      int axis = (int)gw_rng_below(r, 2);
      for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++)
          grey[y * W + x] += 48.0f * ((float)(axis ? y : x) / (float)(W - 1) - 0.5f);
      break;
    }
    case SW_BG_NOISE:  // two octaves of value noise
      add_value_noise(rgb, W, W / 4, 24, r, grey);
      add_value_noise(rgb, W, W / 16 > 1 ? W / 16 : 2, 12, r, grey);
      break;
    case SW_BG_TEXTURE: {  // stripes or checks of +-16 levels
      int period = 4 + (int)gw_rng_below(r, 5), checks = (int)gw_rng_below(r, 2);
      for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++) {
          int on = checks ? ((x / period) + (y / period)) % 2 : (x / period) % 2;
          grey[y * W + x] += on ? 16.0f : -16.0f;
        }
      break;
    }
  }
  for (int i = 0; i < W * W; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = clamp_u8(grey[i]);
}

void sw_render(const sw_config *c, sw_scene *s, gw_rng *r, uint8_t *rgb) {
  int W = c->img_size;
  int stroke = W / 32 > 1 ? W / 32 : 1;
  draw_background(c, s->bg_mode, r, rgb);
  for (int k = 0; k < s->n; k++) {
    sw_object *o = &s->obj[k];
    place_polygon(o);
    int x0 = (int)floorf(o->cx - o->r) - 1, x1 = (int)ceilf(o->cx + o->r) + 1;
    int y0 = (int)floorf(o->cy - o->r) - 1, y1 = (int)ceilf(o->cy + o->r) + 1;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > W - 1) x1 = W - 1;
    if (y1 > W - 1) y1 = W - 1;
    int bx0 = W, by0 = W, bx1 = -1, by1 = -1, area = 0;
    for (int y = y0; y <= y1; y++)
      for (int x = x0; x <= x1; x++) {
        int cov = sw_coverage(o, x, y, stroke);
        if (!cov) continue;
        uint8_t *p = rgb + 3 * (y * W + x);
        for (int ch = 0; ch < 3; ch++) p[ch] = (uint8_t)((p[ch] * (16 - cov) + o->rgb[ch] * cov + 8) / 16);
        if (cov >= 8) {  // the ground-truth box: pixels at least half covered
          area++;
          if (x < bx0) bx0 = x;
          if (x > bx1) bx1 = x;
          if (y < by0) by0 = y;
          if (y > by1) by1 = y;
        }
      }
    o->area = area;
    if (area) {
      o->bbox[0] = bx0, o->bbox[1] = by0, o->bbox[2] = bx1 - bx0 + 1, o->bbox[3] = by1 - by0 + 1;
    } else {
      o->bbox[0] = o->bbox[1] = o->bbox[2] = o->bbox[3] = 0;
    }
  }
}
