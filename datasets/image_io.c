#include "datasets/image_io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "tensor/error.h"
#include "tensor/h5io.h"

enum { MAX_PIXELS = 1 << 28 };

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    gw_set_error("%s: cannot open the image (%s)", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  GW_CHECK(buf, "image: out of memory");
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      GW_CHECK(buf, "image: out of memory reading %s", path);
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  bool failed = ferror(f);
  fclose(f);
  if (failed) {
    free(buf);
    gw_set_error("%s: read error", path);
    return NULL;
  }
  *len = n;
  return buf;
}

// stb_image decodes some truncated files without complaint (a JPEG's missing scans come out
// grey), so the end of the file is checked first.
static int check_complete(const char *path, const uint8_t *b, size_t n) {
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n == 0) {
    gw_set_error("%s: the image file is empty", path);
    return -1;
  }
  if (n >= 8 && !memcmp(b, png_sig, 8)) {
    if (n < 20 || memcmp(b + n - 8, "IEND", 4)) {
      gw_set_error(
          "%s: truncated PNG (no IEND chunk at the end of the file's %zu bytes); "
          "re-copy or re-export the image",
          path, n);
      return -1;
    }
  } else if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
    bool eoi = false;
    size_t from = n > 4096 ? n - 4096 : 0;  // allow trailing bytes after the marker
    for (size_t k = n - 1; k > from && !eoi; k--) eoi = b[k - 1] == 0xFF && b[k] == 0xD9;
    if (!eoi) {
      gw_set_error(
          "%s: truncated JPEG (no end-of-image marker FF D9 in the file's %zu bytes); "
          "re-copy or re-export the image",
          path, n);
      return -1;
    }
  }
  return 0;
}

int gw_image_load(const char *path, gw_image *out) {
  memset(out, 0, sizeof *out);
  size_t n;
  uint8_t *buf = read_all(path, &n);
  if (!buf) return -1;
  if (check_complete(path, buf, n) < 0) {
    free(buf);
    return -1;
  }
  if (n > (size_t)INT32_MAX) {
    free(buf);
    gw_set_error("%s: the image file is larger than 2 GB", path);
    return -1;
  }
  int w, h, comp;
  if (!stbi_info_from_memory(buf, (int)n, &w, &h, &comp)) {
    gw_set_error("%s: not a readable image (%s); PNG, JPEG, BMP, GIF, TGA and PNM are supported",
                 path, stbi_failure_reason());
    free(buf);
    return -1;
  }
  if (w <= 0 || h <= 0 || (int64_t)w * h > MAX_PIXELS) {
    gw_set_error(
        "%s: corrupt image? its header claims %d x %d pixels (the loader takes 1 to %d "
        "pixels); re-copy or re-export it",
        path, w, h, MAX_PIXELS);
    free(buf);
    return -1;
  }
  uint8_t *px = stbi_load_from_memory(buf, (int)n, &w, &h, &comp, 3);
  free(buf);
  if (!px) {
    gw_set_error("%s: cannot decode the image (%s): corrupt or truncated; re-copy or re-export it",
                 path, stbi_failure_reason());
    return -1;
  }
  // stb allocates with malloc (STBI_MALLOC), so gw_image_free can use free()
  out->pixels = px;
  out->w = w;
  out->h = h;
  return 0;
}

bool gw_image_ref_h5(const char *ref, char *file, int file_len, int64_t *row) {
  const char *at = strstr(ref, ".h5:");
  if (!at) return false;
  char *end;
  long long r = strtoll(at + 4, &end, 10);
  if (at[4] == '\0' || *end || r < 0) return false;
  snprintf(file, (size_t)file_len, "%.*s", (int)(at + 3 - ref), ref);
  *row = r;
  return true;
}

int gw_image_load_h5_row(const char *h5_path, int64_t row, gw_image *out) {
  memset(out, 0, sizeof *out);
  gw_h5 *f = gw_h5_open(h5_path);
  if (!f) return -1;
  int ndim;
  int64_t shape[8];
  if (gw_h5_array_shape(f, "images", &ndim, shape) < 0) {
    gw_h5_close(f);
    return -1;
  }
  if (ndim != 4 || shape[3] != 3 || row >= shape[0]) {
    gw_set_error("%s: row %lld of 'images' requested, the array has %lld rows of shape (H, W, 3)?",
                 h5_path, (long long)row, (long long)shape[0]);
    gw_h5_close(f);
    return -1;
  }
  out->h = (int)shape[1];
  out->w = (int)shape[2];
  out->pixels = malloc((size_t)out->w * out->h * 3);
  GW_CHECK(out->pixels, "image: out of memory");
  int rc = gw_h5_read_rows(f, "images", GW_H5_U8, row, 1, out->pixels);
  gw_h5_close(f);
  if (rc < 0) gw_image_free(out);
  return rc;
}

void gw_image_free(gw_image *im) {
  free(im->pixels);
  memset(im, 0, sizeof *im);
}

gw_letterbox gw_letterbox_of(int src_w, int src_h, int size) {
  gw_letterbox lb = {.src_w = src_w, .src_h = src_h, .size = size};
  int longest = src_w > src_h ? src_w : src_h;
  double s = (double)size / (double)longest;
  lb.new_w = src_w == longest ? size : (int)lround(src_w * s);
  lb.new_h = src_h == longest ? size : (int)lround(src_h * s);
  if (lb.new_w < 1) lb.new_w = 1;
  if (lb.new_h < 1) lb.new_h = 1;
  lb.dx = (size - lb.new_w) / 2;
  lb.dy = (size - lb.new_h) / 2;
  lb.scale_x = (double)lb.new_w / (double)src_w;
  lb.scale_y = (double)lb.new_h / (double)src_h;
  return lb;
}

int gw_letterbox_image(const gw_image *im, const gw_letterbox *lb, uint8_t pad, uint8_t *out) {
  int S = lb->size;
  memset(out, pad, (size_t)S * S * 3);
  const uint8_t *src = im->pixels;
  uint8_t *resized = NULL;
  if (lb->new_w != im->w || lb->new_h != im->h) {
    resized = malloc((size_t)lb->new_w * lb->new_h * 3);
    GW_CHECK(resized, "image: out of memory");
    if (!stbir_resize_uint8(im->pixels, im->w, im->h, 0, resized, lb->new_w, lb->new_h, 0, 3)) {
      free(resized);
      gw_set_error("resizing a %d x %d image to %d x %d failed", im->w, im->h, lb->new_w,
                   lb->new_h);
      return -1;
    }
    src = resized;
  }
  for (int y = 0; y < lb->new_h; y++)
    memcpy(out + ((size_t)(y + lb->dy) * S + lb->dx) * 3, src + (size_t)y * lb->new_w * 3,
           (size_t)lb->new_w * 3);
  free(resized);
  return 0;
}

void gw_letterbox_forward(const gw_letterbox *lb, const float in[4], float out[4]) {
  out[0] = (float)((double)in[0] * lb->scale_x + lb->dx);
  out[1] = (float)((double)in[1] * lb->scale_y + lb->dy);
  out[2] = (float)((double)in[2] * lb->scale_x + lb->dx);
  out[3] = (float)((double)in[3] * lb->scale_y + lb->dy);
}

void gw_letterbox_back(const gw_letterbox *lb, const float in[4], float out[4]) {
  out[0] = (float)(((double)in[0] - lb->dx) / lb->scale_x);
  out[1] = (float)(((double)in[1] - lb->dy) / lb->scale_y);
  out[2] = (float)(((double)in[2] - lb->dx) / lb->scale_x);
  out[3] = (float)(((double)in[3] - lb->dy) / lb->scale_y);
}
