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
#include <unistd.h>

#include <jansson.h>
#include <stb/stb_image_write.h>

#include "eval/draw.h"
#include "eval/evaluate.h"
#include "tensor/error.h"

enum { GW_REPORT_MAX_COLS = 10 };

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

static series *find_series(series *all, int *n, int max, const char *name) {
  for (int i = 0; i < *n; i++)
    if (!strcmp(all[i].name, name)) return &all[i];
  if (*n >= max) return NULL;
  series *s = &all[(*n)++];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s", name);
  return s;
}

// A chart of one metric: a line per split.
typedef struct chart {
  char name[64];
  int n;
  series lines[8];
} chart;

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

void gw_report_clear_samples(const char *run_dir) {
  char path[1400];
  snprintf(path, sizeof path, "%s/vis", run_dir);
  DIR *d = opendir(path);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));)
    if (!strncmp(e->d_name, "sample", 6)) {
      snprintf(path, sizeof path, "%s/vis/%s", run_dir, e->d_name);
      unlink(path);
    }
  closedir(d);
}

int gw_report_sample(const char *run_dir, const char *name, const uint8_t *rgb, int size,
                     int correct, const float *gt_box, const float *pred_box, const char *caption) {
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
  if (caption) {
    snprintf(path, sizeof path, "%s/vis/%s.txt", run_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
      gw_set_error("%s: cannot write the caption", path);
      return -1;
    }
    fprintf(f, "%s\n", caption);
    fclose(f);
  }
  return 0;
}

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && !strcmp(s + n - m, tail);
}

int gw_report_write(const char *dir) {
  char path[1200];
  // log.csv: step, loss, loss_<term>..., lr, grad_norm, seconds (the header names the columns)
  series losses[GW_REPORT_MAX_COLS], lr = {.name = "lr"};
  int n_losses = 0, lr_col = -1;
  memset(losses, 0, sizeof losses);
  snprintf(path, sizeof path, "%s/log.csv", dir);
  FILE *f = fopen(path, "r");
  if (f) {
    char line[4096];
    int loss_col[GW_REPORT_MAX_COLS];
    while (fgets(line, sizeof line, f)) {
      line[strcspn(line, "\r\n")] = '\0';
      if (!strncmp(line, "step,", 5)) {  // the header
        n_losses = 0;
        int col = 0;
        for (char *c = strtok(line, ","); c; c = strtok(NULL, ","), col++) {
          if (!strcmp(c, "lr")) lr_col = col;
          if ((!strcmp(c, "loss") || !strncmp(c, "loss_", 5)) && n_losses < GW_REPORT_MAX_COLS) {
            loss_col[n_losses] = col;
            snprintf(losses[n_losses++].name, sizeof losses[0].name, "%s", c);
          }
        }
        continue;
      }
      double v[64];
      int n = 0;
      for (char *p = line; n < 64;) {
        char *end;
        v[n++] = strtod(p, &end);
        p = strchr(end, ',');
        if (!p) break;
        p++;
      }
      if (n < 2) continue;
      for (int k = 0; k < n_losses; k++)
        if (loss_col[k] < n) series_add(&losses[k], v[0], v[loss_col[k]]);
      if (lr_col >= 0 && lr_col < n) series_add(&lr, v[0], v[lr_col]);
    }
    fclose(f);
  }
  // metrics.jsonl: a chart per headline metric with a line per split; the last evaluation of
  // each split (breakdowns too) in a table
  enum { MAX_CHARTS = 64, MAX_SPLITS = 8, MAX_ROWS = 160 };
  chart *charts = calloc(MAX_CHARTS, sizeof *charts);
  int n_charts = 0, n_splits = 0, n_rows = 0;
  char splits[MAX_SPLITS][64], rows[MAX_ROWS][64];
  double *last = malloc(sizeof(double) * MAX_ROWS * MAX_SPLITS);
  for (int i = 0; i < MAX_ROWS * MAX_SPLITS; i++) last[i] = NAN;
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  f = fopen(path, "r");
  if (f) {
    char line[16384];
    while (fgets(line, sizeof line, f)) {
      json_t *o = json_loads(line, 0, NULL);
      if (!o) continue;
      double step = json_number_value(json_object_get(o, "step"));
      const char *split = json_string_value(json_object_get(o, "split"));
      if (!split) split = "";
      int sp = 0;
      while (sp < n_splits && strcmp(splits[sp], split)) sp++;
      if (sp == n_splits && n_splits < MAX_SPLITS) snprintf(splits[n_splits++], sizeof splits[0], "%s", split);
      const char *key;
      json_t *v;
      json_object_foreach(o, key, v) {
        if (!json_is_number(v) || !strcmp(key, "step") || sp == MAX_SPLITS) continue;
        double x = json_number_value(v);
        int row = 0;
        while (row < n_rows && strcmp(rows[row], key)) row++;
        if (row == n_rows && n_rows < MAX_ROWS) snprintf(rows[n_rows++], sizeof rows[0], "%s", key);
        if (row < MAX_ROWS) last[row * MAX_SPLITS + sp] = x;
        if (!strcmp(key, "samples") || gw_metric_is_breakdown(key)) continue;
        int c = 0;
        while (c < n_charts && strcmp(charts[c].name, key)) c++;
        if (c == n_charts) {
          if (n_charts == MAX_CHARTS) continue;
          snprintf(charts[n_charts++].name, sizeof charts[0].name, "%s", key);
        }
        series *line_of = find_series(charts[c].lines, &charts[c].n, 8, split);
        if (line_of) series_add(line_of, step, x);
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
          "image-rendering:pixelated;margin:4px} figure.sample{width:170px;vertical-align:top;"
          "font-size:12px} table.final{border-collapse:collapse;margin:1em 0} "
          "table.final td,table.final th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style></head><body>\n<h1>Run ", dir);
  html_escape(out, dir);
  fprintf(out, "</h1>\n<h2>Training</h2>\n");
  // the loss alone when it has one term (the term is the loss), else the loss and each term
  svg_chart(out, "training loss", losses, n_losses == 2 ? 1 : n_losses);
  svg_chart(out, "learning rate", &lr, 1);
  fprintf(out, "<h2>Evaluation</h2>\n");
  for (int c = 0; c < n_charts; c++) svg_chart(out, charts[c].name, charts[c].lines, charts[c].n);
  if (!n_charts) fprintf(out, "<p>No evaluation yet.</p>\n");
  if (n_rows) {  // the last evaluation of each split, every metric
    fprintf(out, "<table class=\"final\"><caption>the last evaluation of each split</caption>\n"
                 "<tr><th>metric</th>");
    for (int sp = 0; sp < n_splits; sp++) {
      fprintf(out, "<th>");
      html_escape(out, splits[sp]);
      fprintf(out, "</th>");
    }
    fprintf(out, "</tr>\n");
    for (int row = 0; row < n_rows; row++) {
      fprintf(out, "<tr><td>");
      html_escape(out, rows[row]);
      fprintf(out, "</td>");
      for (int sp = 0; sp < n_splits; sp++) {
        double x = last[row * MAX_SPLITS + sp];
        if (isnan(x)) fprintf(out, "<td></td>");
        else fprintf(out, strcmp(rows[row], "samples") ? "<td>%.4f</td>" : "<td>%.0f</td>", x);
      }
      fprintf(out, "</tr>\n");
    }
    fprintf(out, "</table>\n");
  }
  // sample predictions drawn by the evaluator (vis/*.png, in name order), with their captions
  snprintf(path, sizeof path, "%s/vis", dir);
  struct dirent **list = NULL;
  int n_vis = scandir(path, &list, NULL, alphasort);
  if (n_vis >= 0) {
    fprintf(out, "<h2>Sample predictions</h2>\n<div id=\"samples\">\n");
    int shown = 0;
    for (int i = 0; i < n_vis; i++) {
      const char *name = list[i]->d_name;
      char png[1400];
      snprintf(png, sizeof png, "%s/vis/%s", dir, name);
      FILE *p = shown < 24 && ends_with(name, ".png") ? fopen(png, "rb") : NULL;
      if (p) {
        fseek(p, 0, SEEK_END);
        long size = ftell(p);
        fseek(p, 0, SEEK_SET);
        unsigned char *buf = malloc((size_t)size + 1);
        if (fread(buf, 1, (size_t)size, p) == (size_t)size) {
          fprintf(out, "<figure class=\"sample\"><img class=\"sample\" title=\"");
          html_escape(out, name);
          fprintf(out, "\" src=\"data:image/png;base64,");
          base64(out, buf, (size_t)size);
          fprintf(out, "\">");
          // the caption: vis/<name>.txt
          char txt[1400];
          snprintf(txt, sizeof txt, "%.*s.txt", (int)(strlen(png) - 4), png);
          FILE *t = fopen(txt, "r");
          if (t) {
            char caption[1024] = "";
            if (fgets(caption, sizeof caption, t)) caption[strcspn(caption, "\n")] = '\0';
            fclose(t);
            fprintf(out, "<figcaption>");
            html_escape(out, caption);
            fprintf(out, "</figcaption>");
          }
          fprintf(out, "</figure>\n");
          shown++;
        }
        free(buf);
        fclose(p);
      }
    }
    for (int i = 0; i < n_vis; i++) free(list[i]);
    free(list);
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
  for (int k = 0; k < n_losses; k++) {
    free(losses[k].x);
    free(losses[k].y);
  }
  free(lr.x);
  free(lr.y);
  for (int c = 0; c < n_charts; c++)
    for (int k = 0; k < charts[c].n; k++) {
      free(charts[c].lines[k].x);
      free(charts[c].lines[k].y);
    }
  free(charts);
  free(last);
  char final_path[1200];
  snprintf(path, sizeof path, "%s/report.html.tmp", dir);
  snprintf(final_path, sizeof final_path, "%s/report.html", dir);
  if (rename(path, final_path) != 0) {
    gw_set_error("%s: cannot write the report", final_path);
    return -1;
  }
  return 0;
}
