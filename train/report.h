// RUN_DIR/report.html: the run at a glance, readable in any browser without a server.
// Loss (and each loss term), learning-rate and metric curves as inline SVG, sample predictions
// (the pictures of RUN_DIR/vis/, embedded as PNG data, with their captions) and the resolved
// config.
#ifndef GW_TRAIN_REPORT_H
#define GW_TRAIN_REPORT_H

#include <stdint.h>

// Sample pictures the report shows: PNG files under RUN_DIR/vis/ (gw_report_sample).
int gw_report_write(const char *run_dir);

// Writes RUN_DIR/vis/<name>.png: an image (size x size x 3 bytes) scaled up, in a frame that is
// green when the prediction is right, red when it is wrong and grey when correct < 0; with the
// ground-truth box in green and the predicted box in red when given (x1 y1 x2 y2 pixels); and
// the caption (may be NULL) in RUN_DIR/vis/<name>.txt, which the report shows under the picture.
int gw_report_sample(const char *run_dir, const char *name, const uint8_t *rgb, int size,
                     int correct, const float *gt_box, const float *pred_box, const char *caption);
// Removes the sample pictures (vis/sample*) of an earlier evaluation.
void gw_report_clear_samples(const char *run_dir);

#endif
