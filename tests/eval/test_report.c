// RUN_DIR/report.html as a browser shows it: Debian's chromium renders the report of a tiny run
// headless; the rendered DOM must hold the SVG curves (with their points), the sample
// pictures and the resolved config, and a screenshot must show the curve and the pictures'
// frames. Chromium comes from scripts/setup.sh; without it this test fails, it does not skip.
#include <dirent.h>
#include <stb/stb_image.h>

#include "testutil.h"
#include "tests/train/runutil.h"
#include "train/trainer.h"

#define CHROMIUM "/usr/bin/chromium"

ReportHook(PRE_ALL)(struct criterion_test_set *set) {
  (void)set;
  gwr_suite_begin("report", true);
}
ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
  (void)stats;
  gwr_suite_end();
}

TestSuite(report, .init = gwt_setup, .fini = gwt_teardown, .timeout = 180);

// Runs headless chromium on a local file with one more flag (--dump-dom or --screenshot=...),
// stdout into out_path; a fresh profile, no network chatter; killed after 90 s.
static void chromium(const char *html, const char *flag, const char *out_path,
                     const char *profile) {
  if (access(CHROMIUM, X_OK) != 0)
    cr_assert_fail(CHROMIUM " is missing: the report test renders report.html in Debian's headless "
                   "chromium. HINT: run scripts/setup.sh as root (it installs chromium), or "
                   "apt-get install chromium");
  char url[1200], user_dir[1200];
  snprintf(url, sizeof url, "file://%s", html);
  snprintf(user_dir, sizeof user_dir, "--user-data-dir=%s", profile);
  const char *argv[] = {CHROMIUM,
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--disable-dev-shm-usage",
                        "--hide-scrollbars",
                        "--window-size=1200,2400",
                        user_dir,
                        flag,
                        url,
                        NULL};
  char err_path[1200];
  snprintf(err_path, sizeof err_path, "%s.stderr", out_path);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    execv(CHROMIUM, (char *const *)argv);
    _exit(127);
  }
  double t0 = gwr_now();
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (gwr_now() - t0 > 90) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      cr_assert_fail("chromium did not finish in 90 s; see %s", err_path);
    }
    gwr_sleep(0.02);
  }
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chromium failed (status %d); see %s",
            status, err_path);
}

// Counts the occurrences of a text.
static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
  return n;
}

// The points of every polyline inside the SVG element that starts at svg; the fewest of them.
static int fewest_points(const char *svg) {
  const char *end = strstr(svg, "</svg>");
  cr_assert(end, "an unclosed <svg>");
  int fewest = 1 << 30, lines = 0;
  for (const char *p = svg; (p = strstr(p, "<polyline")) && p < end; p++, lines++) {
    const char *pts = strstr(p, "points=\"");
    cr_assert(pts && pts < end, "a polyline without points");
    pts += 8;
    int n = 0;
    float x, y;
    int used;
    while (sscanf(pts, " %f,%f%n", &x, &y, &used) == 2) {
      cr_assert(x >= 0 && x <= 480 && y >= 0 && y <= 220, "a point outside the chart: %g,%g", x, y);
      n++;
      pts += used;
    }
    if (n < fewest) fewest = n;
  }
  cr_assert_gt(lines, 0, "an SVG chart without a polyline");
  return fewest;
}

// Pixels of a screenshot within `tol` of a colour, in each channel.
static int pixels_near(const unsigned char *px, int n, int r, int g, int b, int tol) {
  int hits = 0;
  for (int i = 0; i < n; i++)
    hits +=
        abs(px[3 * i] - r) <= tol && abs(px[3 * i + 1] - g) <= tol && abs(px[3 * i + 2] - b) <= tol;
  return hits;
}

// The report of a finished tiny run, rendered: three curves (the training loss and the learning
// rate over 30 steps, top1 over its 3 evaluations with a line for the test split), the last
// evaluation as a table, 8 sample pictures with their captions, the config; and on screen, the
// loss curve's blue and the green/red frames of the pictures.
Test(report, renders_curves_samples_and_config_in_chromium) {
  const char *cfg = gwr_config("report");
  const char *run = gwr_path("report");
  const char *o[] = {"train.steps=30", "train.eval_every=10"};
  gw_train_opts opts = {
      .config = cfg, .out_dir = run, .quiet = true, .n_overrides = 2, .overrides = (char **)o};
  cr_assert_eq(gw_train_main(&opts), 0, "training: %s", gw_last_error());
  char html[1200];
  snprintf(html, sizeof html, "%s/report.html", run);
  cr_assert(gwr_exists(html), "the run wrote no report.html");

  const char *dom_path = gwr_path("dom.html");
  chromium(html, "--dump-dom", dom_path, gwr_path("profile-dom"));
  char *dom = gwr_read(dom_path, NULL);
  cr_assert(dom && strstr(dom, "</html>"), "chromium dumped no page; see %s.stderr", dom_path);

  // the curves: inline SVG charts, each polyline with its points
  int charts = count(dom, "<svg class=\"curve\"");
  cr_assert_eq(charts, 3, "%d SVG curves in the rendered page, want 3 (loss, lr, test top1)",
               charts);
  const char *loss = strstr(dom, "<figcaption>training loss</figcaption>");
  const char *lr = strstr(dom, "<figcaption>learning rate</figcaption>");
  const char *metric = strstr(dom, "<figcaption>top1</figcaption>");
  cr_assert(loss && lr && metric,
            "the charts are not captioned 'training loss', 'learning rate' and 'top1'");
  const char *legend = strstr(metric, ">test</text>");
  cr_assert(legend && legend < strstr(metric, "</svg>"), "the top1 chart has no line named 'test'");
  cr_assert_eq(fewest_points(strstr(loss, "<svg")), 30, "the loss curve has a point per step");
  cr_assert_eq(fewest_points(strstr(lr, "<svg")), 30, "the lr curve has a point per step");
  cr_assert_eq(fewest_points(strstr(metric, "<svg")), 3,
               "the top1 curve has a point per evaluation");

  // the last evaluation as a table
  const char *table = strstr(dom, "<table class=\"final\">");
  cr_assert(table && strstr(table, "<td>top1</td><td>0.") && strstr(table, "<td>samples</td><td>60</td>"),
            "no table of the last evaluation");

  // the sample pictures, embedded
  int samples = count(dom, "<img class=\"sample\"");
  cr_assert_eq(samples, 8, "%d sample pictures in the rendered page, want 8", samples);
  cr_assert_eq(count(dom, "src=\"data:image/png;base64,iVBORw0KGgo"), 8,
               "the pictures are not PNG data");
  // each with its caption: the predicted and the true class, by name
  cr_assert_eq(count(dom, "<figcaption>predicted: "), 8, "the pictures lack their captions");
  cr_assert(strstr(dom, "; true: circle</figcaption>") || strstr(dom, "; true: square</figcaption>") ||
                strstr(dom, "; true: triangle</figcaption>"),
            "the captions do not name the classes");

  // the resolved config, as text
  const char *pre = strstr(dom, "<pre>");
  cr_assert(pre, "no config block");
  cr_assert(
      strstr(pre, "name: small_cnn") && strstr(pre, "batch_size: 16") && strstr(pre, "steps: 30"),
      "the config block lacks the resolved config:\n%.600s", pre);
  free(dom);

  // on screen: a screenshot decoded with stb_image
  const char *shot = gwr_path("shot.png");
  char flag[1200];
  snprintf(flag, sizeof flag, "--screenshot=%s", shot);
  chromium(html, flag, gwr_path("shot.out"), gwr_path("profile-shot"));
  int w, h, comp;
  unsigned char *px = stbi_load(shot, &w, &h, &comp, 3);
  cr_assert(px, "no screenshot (%s)", shot);
  cr_assert(w >= 800 && h >= 1000, "screenshot %dx%d", w, h);
  int blue = pixels_near(px, w * h, 0x1f, 0x77, 0xb4, 40);
  int frames = pixels_near(px, w * h, 40, 180, 60, 8) + pixels_near(px, w * h, 220, 40, 40, 8);
  stbi_image_free(px);
  cr_assert_gt(blue, 100, "the loss curve's blue is not on screen (%d pixels)", blue);
  // each picture's 4-pixel frame, shown 160/136 times larger: about 2,600 pixels each
  cr_assert_gt(frames, 8 * 1500, "the pictures' frames are not on screen (%d pixels)", frames);
}
