// Attention and kernel pictures from a model's probes (see explain.h).
#include "eval/explain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb/stb_image_write.h>

#include "eval/draw.h"
#include "tensor/error.h"

enum { ZOOM = 2, TITLE = 14, LABEL = 12, GAP = 4, CELL = 12 };

typedef struct canvas {
  uint8_t *rgb;
  int w, h;
} canvas;

static canvas canvas_new(int w, int h) {
  canvas c = {calloc((size_t)w * h * 3, 1), w, h};
  memset(c.rgb, 255, (size_t)w * h * 3);
  return c;
}

static void put(canvas *c, int x, int y, const uint8_t rgb[3]) {
  if (x >= 0 && y >= 0 && x < c->w && y < c->h) memcpy(c->rgb + 3 * ((size_t)y * c->w + x), rgb, 3);
}

// A heat colour for v in [0, 1]: black -> red -> yellow -> white.
static void heat(float v, uint8_t out[3]) {
  v = v < 0 ? 0 : (v > 1 ? 1 : v);
  float r = fminf(1.0f, 3.0f * v), g = fminf(1.0f, fmaxf(0.0f, 3.0f * v - 1.0f)),
        b = fmaxf(0.0f, 3.0f * v - 2.0f);
  out[0] = (uint8_t)(255 * r), out[1] = (uint8_t)(255 * g), out[2] = (uint8_t)(255 * b);
}

// A diverging colour for v in [-1, 1]: blue -> white -> red.
static void diverging(float v, uint8_t out[3]) {
  v = v < -1 ? -1 : (v > 1 ? 1 : v);
  float a = fabsf(v);
  uint8_t fade = (uint8_t)(255 * (1.0f - a));
  if (v >= 0) out[0] = 255, out[1] = fade, out[2] = fade;
  else out[0] = fade, out[1] = fade, out[2] = 255;
}

// The image at (x0, y0), zoomed, optionally with the box.
static void draw_image(canvas *c, int x0, int y0, const uint8_t *image, int S, const float *box) {
  for (int y = 0; y < S * ZOOM; y++)
    for (int x = 0; x < S * ZOOM; x++) put(c, x0 + x, y0 + y, image + 3 * ((size_t)(y / ZOOM) * S + x / ZOOM));
  if (box) {
    const uint8_t green[3] = {20, 200, 60};
    float b[4] = {box[0] * ZOOM, box[1] * ZOOM, box[2] * ZOOM, box[3] * ZOOM};
    uint8_t *sub = malloc((size_t)S * ZOOM * S * ZOOM * 3);
    for (int y = 0; y < S * ZOOM; y++) memcpy(sub + (size_t)y * S * ZOOM * 3, c->rgb + 3 * ((size_t)(y0 + y) * c->w + x0), (size_t)S * ZOOM * 3);
    gw_draw_box(sub, S * ZOOM, S * ZOOM, b, green, 2);
    for (int y = 0; y < S * ZOOM; y++) memcpy(c->rgb + 3 * ((size_t)(y0 + y) * c->w + x0), sub + (size_t)y * S * ZOOM * 3, (size_t)S * ZOOM * 3);
    free(sub);
  }
}

static void text(canvas *c, int x, int y, const char *s) {
  const uint8_t black[3] = {0, 0, 0};
  gw_draw_text(c->rgb, c->w, c->h, x, y, s, black, 1);
}

static int save(const canvas *c, const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (!stbi_write_png(path, c->w, c->h, 3, c->rgb, c->w * 3)) {
    gw_set_error("explain: cannot write %s", path);
    return -1;
  }
  printf("wrote %s\n", path);
  return 0;
}

// The probe names ending in `suffix`, in the order kept.
static int find(const gw_probe_set *p, const char *suffix, int *idx) {
  int n = 0, total = p->n < GW_PROBE_MAX ? p->n : GW_PROBE_MAX;
  size_t ls = strlen(suffix);
  for (int i = 0; i < total; i++) {
    size_t ln = strlen(p->names[i]);
    if (ln > ls && !strcmp(p->names[i] + ln - ls, suffix)) idx[n++] = i;
  }
  return n;
}

// A map of g x g values over the image at (x0, y0): cell (gy, gx) holds v[(gy * g + gx) *
// stride], drawn as heat (scaled by peak) over a faded copy of the image.
static void overlay(canvas *c, int x0, int y0, const uint8_t *image, int S, const float *v, int g,
                    int stride, float peak) {
  int side = S * ZOOM;
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++) {
      int gy = y * g / side, gx = x * g / side;
      uint8_t hc[3], out[3];
      heat(v[(size_t)(gy * g + gx) * stride] / peak, hc);
      const uint8_t *px = image + 3 * ((size_t)(y / ZOOM) * S + x / ZOOM);
      for (int k = 0; k < 3; k++) out[k] = (uint8_t)(0.3f * px[k] + 0.7f * hc[k]);
      put(c, x0 + x, y0 + y, out);
    }
}

// attention.png: a row per block; the image, then one map per word.
static int attention_picture(const gw_probe_set *p, const int *idx, int n, const uint8_t *image, int S,
                             const char *const *words, int n_words, const float *box, const char *dir) {
  int side = S * ZOOM, cols = 1 + n_words;
  canvas c = canvas_new(cols * (side + GAP), n * (TITLE + LABEL + side + GAP));
  for (int r = 0; r < n; r++) {
    gw_tensor *a = gw_contiguous(p->tensors[idx[r]]);  // (1, heads, queries, words)
    int heads = (int)a->shape[1], Q = (int)a->shape[2], L = (int)a->shape[3], t = p->ints[idx[r]];
    int q_side = (int)lround(sqrt((double)Q));
    const float *v = gw_f32(a);
    int y0 = r * (TITLE + LABEL + side + GAP);
    char title[160];
    size_t name_len = strlen(p->names[idx[r]]) - strlen(".attention");
    snprintf(title, sizeof title, "%.*s: %d heads, queries on a %dx%d grid (packing %d)", (int)name_len,
             p->names[idx[r]], heads, q_side, q_side, t);
    text(&c, 2, y0 + 3, title);
    text(&c, 2, y0 + TITLE, "input");
    draw_image(&c, 0, y0 + TITLE + LABEL, image, S, box);
    // head-averaged weights (queries, words), one scale for the whole row
    float peak = 1e-12f;
    float *m = calloc((size_t)Q * L, sizeof *m);
    for (int h = 0; h < heads; h++)
      for (int i = 0; i < Q * L; i++) m[i] += v[(size_t)h * Q * L + i] / (float)heads;
    for (int i = 0; i < Q * L; i++) peak = fmaxf(peak, m[i]);
    for (int w = 0; w < n_words && w < L; w++) {
      int x0 = (1 + w) * (side + GAP);
      text(&c, x0 + 2, y0 + TITLE, words[w]);
      overlay(&c, x0, y0 + TITLE + LABEL, image, S, m + w, q_side, L, peak);
    }
    free(m);
  }
  int rc = save(&c, dir, "attention.png");
  free(c.rgb);
  return rc;
}

// class_attention.png: a row per probe; the image, then for every class (a query) its
// attention over the image's tokens (a g x g grid), averaged over heads, one scale per row.
static int class_attention_picture(const gw_probe_set *p, const int *idx, int n, const uint8_t *image,
                                   int S, const char *const *classes, int n_classes, const char *dir) {
  int side = S * ZOOM, cols = 1 + n_classes;
  canvas c = canvas_new(cols * (side + GAP), n * (TITLE + LABEL + side + GAP));
  for (int r = 0; r < n; r++) {
    gw_tensor *a = gw_contiguous(p->tensors[idx[r]]);  // (1, heads, classes, tokens)
    int heads = (int)a->shape[1], K = (int)a->shape[2], N = (int)a->shape[3];
    int g = (int)lround(sqrt((double)N));
    if (g * g != N) continue;  // the global feature alone (one key) has no map to draw
    int y0 = r * (TITLE + LABEL + side + GAP);
    char title[160];
    snprintf(title, sizeof title, "%s: %d heads, each class's attention over %dx%d image tokens",
             p->names[idx[r]], heads, g, g);
    text(&c, 2, y0 + 3, title);
    text(&c, 2, y0 + TITLE, "input");
    draw_image(&c, 0, y0 + TITLE + LABEL, image, S, NULL);
    float peak = 1e-12f, *m = calloc((size_t)K * N, sizeof *m);
    for (int h = 0; h < heads; h++)
      for (int i = 0; i < K * N; i++) m[i] += gw_f32(a)[(size_t)h * K * N + i] / (float)heads;
    for (int i = 0; i < K * N; i++) peak = fmaxf(peak, m[i]);
    for (int k = 0; k < K && k < n_classes; k++) {
      int x0 = (1 + k) * (side + GAP);
      text(&c, x0 + 2, y0 + TITLE, classes[k]);
      overlay(&c, x0, y0 + TITLE + LABEL, image, S, m + (size_t)k * N, g, 1, peak);
    }
    free(m);
  }
  int rc = save(&c, dir, "class_attention.png");
  free(c.rgb);
  return rc;
}

// kernels.png: the image with the two pixels marked, then per block the kernels at each.
static int kernel_picture(const gw_probe_set *p, const int *idx, int n, const uint8_t *image, int S,
                          const float *box, const char *dir) {
  float at[2][2];  // (x, y) in image pixels: the box centre and its mirror point
  at[0][0] = box ? 0.5f * (box[0] + box[2]) : 0.25f * S;
  at[0][1] = box ? 0.5f * (box[1] + box[3]) : 0.25f * S;
  at[1][0] = (float)S - at[0][0], at[1][1] = (float)S - at[0][1];
  const char *where[2] = {"at the box centre", "at the mirror point"};
  // width: the widest row of kernels
  int widest = 0;
  for (int r = 0; r < n; r++) {
    gw_tensor *k = p->tensors[idx[r]];
    int kk = p->ints[idx[r]], G = (int)k->shape[1];
    int row = 2 * (G * (kk * CELL + GAP) + 3 * GAP);
    widest = row > widest ? row : widest;
  }
  int side = S * ZOOM;
  int width = side + 2 * GAP + (widest > 360 ? widest : 360);
  int height = TITLE + side + GAP;
  for (int r = 0; r < n; r++) height += TITLE + p->ints[idx[r]] * CELL + GAP;
  canvas c = canvas_new(width, height > TITLE + side + GAP ? height : TITLE + side + GAP);
  text(&c, 2, 3, "the pixels: + at the box centre, x at the mirror point");
  draw_image(&c, 0, TITLE, image, S, box);
  const uint8_t mark[2][3] = {{255, 0, 255}, {0, 160, 255}};
  for (int s = 0; s < 2; s++)
    for (int d = -4; d <= 4; d++) {
      int x = (int)(at[s][0] * ZOOM), y = (int)(at[s][1] * ZOOM) + TITLE;
      if (s == 0) put(&c, x + d, y, mark[s]), put(&c, x, y + d, mark[s]);
      else put(&c, x + d, y + d, mark[s]), put(&c, x + d, y - d, mark[s]);
    }
  int y0 = TITLE + side + GAP;
  for (int r = 0; r < n; r++) {
    gw_tensor *k = gw_contiguous(p->tensors[idx[r]]);  // (1, G, k*k, H, W)
    int kk = p->ints[idx[r]], G = (int)k->shape[1], H = (int)k->shape[3], W = (int)k->shape[4];
    const float *v = gw_f32(k);
    char title[160];
    size_t name_len = strlen(p->names[idx[r]]) - strlen(".kernels");
    snprintf(title, sizeof title, "%.*s: %d groups of %dx%d on the %dx%d map (left %s, right %s)",
             (int)name_len, p->names[idx[r]], G, kk, kk, H, W, where[0], where[1]);
    text(&c, 2, y0 + 3, title);
    int pix[2];
    float peak = 1e-12f;
    for (int s = 0; s < 2; s++) {
      int x = (int)(at[s][0] * W / S), y = (int)(at[s][1] * H / S);
      x = x < 0 ? 0 : (x >= W ? W - 1 : x), y = y < 0 ? 0 : (y >= H ? H - 1 : y);
      pix[s] = y * W + x;
      for (int g = 0; g < G; g++)
        for (int j = 0; j < kk * kk; j++) peak = fmaxf(peak, fabsf(v[((size_t)g * kk * kk + j) * H * W + pix[s]]));
    }
    int x0 = 2;
    for (int s = 0; s < 2; s++) {
      for (int g = 0; g < G; g++) {
        for (int j = 0; j < kk * kk; j++) {
          uint8_t col[3];
          diverging(v[((size_t)g * kk * kk + j) * H * W + pix[s]] / peak, col);
          for (int dy = 0; dy < CELL - 1; dy++)
            for (int dx = 0; dx < CELL - 1; dx++)
              put(&c, x0 + (j % kk) * CELL + dx, y0 + TITLE + (j / kk) * CELL + dy, col);
        }
        x0 += kk * CELL + GAP;
      }
      x0 += 3 * GAP;
    }
    y0 += TITLE + kk * CELL + GAP;
  }
  int rc = save(&c, dir, "kernels.png");
  free(c.rgb);
  return rc;
}

int gw_explain_write(const gw_probe_set *probes, const uint8_t *image, int S,
                     const char *const *words, int n_words, const float *box, const char *dir) {
  if (mkdir(dir, 0755) != 0) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      gw_set_error("explain: cannot create the directory %s", dir);
      return -1;
    }
  }
  int att[GW_PROBE_MAX], ker[GW_PROBE_MAX], cls[GW_PROBE_MAX];
  int n_att = find(probes, ".attention", att), n_ker = find(probes, ".kernels", ker), written = 0;
  int n_cls = find(probes, ".class_attention", cls);
  if (n_cls > 0) {  // the words are the class names
    if (class_attention_picture(probes, cls, n_cls, image, S, words, n_words, dir) < 0) return -1;
    written++;
  }
  if (n_att > 0) {
    if (attention_picture(probes, att, n_att, image, S, words, n_words, box, dir) < 0) return -1;
    written++;
  }
  if (n_ker > 0) {
    if (kernel_picture(probes, ker, n_ker, image, S, box, dir) < 0) return -1;
    written++;
  }
  return written;
}
