// RUN_DIR/report.html: the run at a glance, readable in any browser without a server.
// Loss and metric curves as inline SVG, the resolved config, and sample predictions (images
// a model's predict step drew, embedded as PNG data).
#ifndef GW_TRAIN_REPORT_H
#define GW_TRAIN_REPORT_H

// Sample pictures the report shows: PNG files under RUN_DIR/vis/ (written by the evaluator).
int gw_report_write(const char *run_dir);

#endif
