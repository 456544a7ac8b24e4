// The run report: reads log.csv, metrics.jsonl, config.yaml and vis/*.png of a run directory
// and writes report.html.
#include "train/report.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <stb/stb_image_write.h>

#include "eval/draw.h"
#include "tensor/error.h"

typedef struct series {
  char name[64];
  int n, cap;
  double *x, *y;
} series;

static void series_add(series *s, double x, double y) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 256;
    s->x = realloc(s->x, (size_t)s->cap * sizeof *s->x);
    s->y = realloc(s->y, (size_t)s->cap * sizeof *s->y);
  }
  s->x[s->n] = x;
  s->y[s->n++] = y;
}

static series *find_series(series *all, int *n, const char *name) {
  for (int i = 0; i < *n; i++)
    if (!strcmp(all[i].name, name)) return &all[i];
  if (*n >= 64) return NULL;
  series *s = &all[(*n)++];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s", name);
  return s;
}

// One chart: the series as polylines in a 480 x 220 box, with axis labels.
static void svg_chart(FILE *f, const char *title, series *s, int n) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (int k = 0; k < n; k++)
    for (int i = 0; i < s[k].n; i++) {
      if (!isfinite(s[k].y[i])) continue;
      x0 = fmin(x0, s[k].x[i]), x1 = fmax(x1, s[k].x[i]);
      y0 = fmin(y0, s[k].y[i]), y1 = fmax(y1, s[k].y[i]);
    }
  if (!isfinite(x0)) return;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"};
  const double W = 480, H = 220, L = 50, B = 30;
  fprintf(f, "<figure><figcaption>%s</figcaption>\n<svg class=\"curve\" width=\"%g\" height=\"%g\" "
          "viewBox=\"0 0 %g %g\" xmlns=\"http://www.w3.org/2000/svg\">\n", title, W, H, W, H);
  fprintf(f, "<rect x=\"%g\" y=\"5\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#999\"/>\n",
          L, W - L - 5, H - B - 5);
  fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\">%.4g</text>", 2.0, 15.0, y1);
  fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\">%.4g</text>", 2.0, H - B, y0);
  fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\">%.0f</text>", L, H - 10, x0);
  fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"11\" text-anchor=\"end\">%.0f</text>\n", W - 5, H - 10, x1);
  for (int k = 0; k < n; k++) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colors[k % 6]);
    for (int i = 0; i < s[k].n; i++) {
      if (!isfinite(s[k].y[i])) continue;
      double px = L + (s[k].x[i] - x0) / (x1 - x0) * (W - L - 5);
      double py = 5 + (1 - (s[k].y[i] - y0) / (y1 - y0)) * (H - B - 5);
      fprintf(f, "%.1f,%.1f ", px, py);
    }
    fprintf(f, "\"/>\n<text x=\"%g\" y=\"%g\" font-size=\"11\" fill=\"%s\">%s</text>\n", L + 8,
            20.0 + 13 * k, colors[k % 6], s[k].name);
  }
  fprintf(f, "</svg></figure>\n");
}

static void html_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else fputc(*s, f);
  }
}

static void base64(FILE *f, const unsigned char *data, size_t n) {
  static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)data[i] << 16 | (i + 1 < n ? (unsigned)data[i + 1] << 8 : 0) |
                 (i + 2 < n ? data[i + 2] : 0);
    fputc(T[v >> 18 & 63], f);
    fputc(T[v >> 12 & 63], f);
    fputc(i + 1 < n ? T[v >> 6 & 63] : '=', f);
    fputc(i + 2 < n ? T[v & 63] : '=', f);
  }
}

// ---- sample pictures ----

enum { VIS_FRAME = 4 };  // frame width in pixels

// A box of the source image drawn on the framed, scaled picture (eval/draw.c).
static void draw_scaled_box(uint8_t *img, int w, const float *box, int scale, const uint8_t c[3]) {
  float b[4];
  for (int k = 0; k < 4; k++) b[k] = box[k] * (float)scale + VIS_FRAME;
  gw_draw_box(img, w, w, b, c, 2);
}

int gw_report_sample(const char *run_dir, const char *name, const uint8_t *rgb, int size,
                     int correct, const float *gt_box, const float *pred_box) {
  static const uint8_t green[3] = {40, 180, 60}, red[3] = {220, 40, 40}, grey[3] = {150, 150, 150};
  int scale = size < 128 ? 2 : 1, w = size * scale + 2 * VIS_FRAME;
  uint8_t *img = malloc((size_t)w * w * 3);
  const uint8_t *frame = correct > 0 ? green : correct == 0 ? red : grey;
  for (int i = 0; i < w * w; i++) memcpy(img + 3 * i, frame, 3);
  for (int y = 0; y < size * scale; y++)  // nearest-neighbour scaling: pixels stay crisp
    for (int x = 0; x < size * scale; x++)
      memcpy(img + 3 * ((size_t)(y + VIS_FRAME) * w + x + VIS_FRAME),
             rgb + 3 * ((size_t)(y / scale) * size + x / scale), 3);
  if (gt_box) draw_scaled_box(img, w, gt_box, scale, green);
  if (pred_box) draw_scaled_box(img, w, pred_box, scale, red);
  char path[1400];
  snprintf(path, sizeof path, "%s/vis", run_dir);
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    free(img);
    gw_set_error("%s: cannot create the directory (%s)", path, strerror(errno));
    return -1;
  }
  snprintf(path, sizeof path, "%s/vis/%s.png", run_dir, name);
  int ok = stbi_write_png(path, w, w, 3, img, w * 3);
  free(img);
  if (!ok) {
    gw_set_error("%s: cannot write the picture", path);
    return -1;
  }
  return 0;
}

int gw_report_write(const char *dir) {
  char path[1200];
  series loss = {.name = "loss"}, metrics[64];
  int n_metrics = 0;
  snprintf(path, sizeof path, "%s/log.csv", dir);
  FILE *f = fopen(path, "r");
  if (f) {
    char line[1024];
    while (fgets(line, sizeof line, f)) {
      double step, l;
      if (sscanf(line, "%lf,%lf", &step, &l) == 2) series_add(&loss, step, l);
    }
    fclose(f);
  }
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  f = fopen(path, "r");
  if (f) {
    char line[8192];
    while (fgets(line, sizeof line, f)) {
      json_t *o = json_loads(line, 0, NULL);
      if (!o) continue;
      double step = json_number_value(json_object_get(o, "step"));
      const char *split = json_string_value(json_object_get(o, "split"));
      const char *key;
      json_t *v;
      json_object_foreach(o, key, v) {
        if (!json_is_number(v) || !strcmp(key, "step") || !strcmp(key, "samples")) continue;
        char name[64];
        snprintf(name, sizeof name, "%s %s", split ? split : "", key);
        series *s = find_series(metrics, &n_metrics, name);
        if (s) series_add(s, step, json_number_value(v));
      }
      json_decref(o);
    }
    fclose(f);
  }
  snprintf(path, sizeof path, "%s/report.html.tmp", dir);
  FILE *out = fopen(path, "w");
  if (!out) {
    gw_set_error("%s: cannot write the report", path);
    return -1;
  }
  fprintf(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>groundwork run %s</title>\n"
          "<style>body{font-family:sans-serif;margin:2em;max-width:70em} figure{display:inline-block;"
          "margin:0.5em} pre{background:#f4f4f4;padding:1em;overflow:auto} img.sample{width:160px;"
          "image-rendering:pixelated;margin:4px}</style></head><body>\n<h1>Run ", dir);
  html_escape(out, dir);
  fprintf(out, "</h1>\n<h2>Training</h2>\n");
  svg_chart(out, "training loss", &loss, 1);
  fprintf(out, "<h2>Evaluation</h2>\n");
  for (int k = 0; k < n_metrics; k++) svg_chart(out, metrics[k].name, &metrics[k], 1);
  if (!n_metrics) fprintf(out, "<p>No evaluation yet.</p>\n");
  // sample predictions drawn by the evaluator
  snprintf(path, sizeof path, "%s/vis", dir);
  DIR *d = opendir(path);
  if (d) {
    fprintf(out, "<h2>Sample predictions</h2>\n<div id=\"samples\">\n");
    struct dirent *e;
    int shown = 0;
    while ((e = readdir(d)) && shown < 24) {
      size_t len = strlen(e->d_name);
      if (len < 5 || strcmp(e->d_name + len - 4, ".png")) continue;
      char png[1400];
      snprintf(png, sizeof png, "%s/vis/%s", dir, e->d_name);
      FILE *p = fopen(png, "rb");
      if (!p) continue;
      fseek(p, 0, SEEK_END);
      long size = ftell(p);
      fseek(p, 0, SEEK_SET);
      unsigned char *buf = malloc((size_t)size);
      if (fread(buf, 1, (size_t)size, p) == (size_t)size) {
        fprintf(out, "<img class=\"sample\" title=\"%s\" src=\"data:image/png;base64,", e->d_name);
        base64(out, buf, (size_t)size);
        fprintf(out, "\">\n");
        shown++;
      }
      free(buf);
      fclose(p);
    }
    closedir(d);
    fprintf(out, "</div>\n");
  }
  fprintf(out, "<h2>Resolved config</h2>\n<pre>");
  snprintf(path, sizeof path, "%s/config.yaml", dir);
  f = fopen(path, "r");
  if (f) {
    char line[1024];
    while (fgets(line, sizeof line, f)) html_escape(out, line);
    fclose(f);
  }
  fprintf(out, "</pre>\n</body></html>\n");
  fclose(out);
  free(loss.x);
  free(loss.y);
  for (int k = 0; k < n_metrics; k++) {
    free(metrics[k].x);
    free(metrics[k].y);
  }
  char final_path[1200];
  snprintf(path, sizeof path, "%s/report.html.tmp", dir);
  snprintf(final_path, sizeof final_path, "%s/report.html", dir);
  if (rename(path, final_path) != 0) {
    gw_set_error("%s: cannot write the report", final_path);
    return -1;
  }
  return 0;
}
