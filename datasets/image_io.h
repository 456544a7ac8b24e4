// Images for the real-format loaders: decoding with stb_image (PNG, JPEG, BMP, GIF, TGA, PNM)
// and letterboxing to a square, SimREC style (shared/datasets.md §2.1): the long side is resized
// to the square's side, the short side keeps the aspect ratio, and the image is centred on a
// pad colour (127, grey). The same (scale, offset) maps boxes into the square and back out, so
// predictions are evaluated in the source image's pixels.
//
// Boxes are x1, y1, x2, y2 in pixel edges, floats (sw_generate.h): a box covering columns 3..5
// is [3, 6). A pixel edge x maps to x * scale_x + dx; the image is resized to exactly
// (round(w * s), round(h * s)) pixels, so scale_x = new_w / w and scale_y = new_h / h (equal
// up to the rounding of the short side).
#ifndef GW_IMAGE_IO_H
#define GW_IMAGE_IO_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gw_image {
  uint8_t *pixels;  // RGB, (h, w, 3), row-major
  int w, h;
} gw_image;

// Decodes an image file to RGB (grey and RGBA are converted). -1 with gw_last_error() naming
// the file when it is missing, empty, truncated (a PNG without its IEND chunk, a JPEG without
// its end-of-image marker) or not decodable. Thread-safe.
int gw_image_load(const char *path, gw_image *out);
// Reads row `row` of the uint8 array "images" (N, H, W, 3) of an HDF5 file (the generator's
// few-shot images.h5). Not thread-safe (HDF5).
int gw_image_load_h5_row(const char *h5_path, int64_t row, gw_image *out);
// Splits "dir/images.h5:17" into the file and the row; false if ref is not of that form.
bool gw_image_ref_h5(const char *ref, char *file, int file_len, int64_t *row);
void gw_image_free(gw_image *im);

typedef struct gw_letterbox {
  int src_w, src_h;  // the source image
  int size;  // the square's side
  int new_w, new_h;  // the resized image inside the square
  int dx, dy;  // its top-left corner in the square
  double scale_x, scale_y;  // new_w / src_w, new_h / src_h
} gw_letterbox;

// The letterbox of a src_w x src_h image into size x size.
gw_letterbox gw_letterbox_of(int src_w, int src_h, int size);
// Resizes the image (stb_image_resize: Mitchell filter down, Catmull-Rom up; an exact copy when
// the size does not change) and centres it on `pad`; out holds size * size * 3 bytes.
int gw_letterbox_image(const gw_image *im, const gw_letterbox *lb, uint8_t pad, uint8_t *out);
// x1, y1, x2, y2 in source pixels -> in the square, and back. Back(forward(b)) == b up to float
// rounding (exactly when the scales are powers of two).
void gw_letterbox_forward(const gw_letterbox *lb, const float in[4], float out[4]);
void gw_letterbox_back(const gw_letterbox *lb, const float in[4], float out[4]);

#endif
