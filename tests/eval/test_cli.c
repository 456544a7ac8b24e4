// The gw subcommands around training, run as the gw binary on tiny runs: eval (metrics file,
// EMA or raw weights, breakdowns of grounding and VQA runs), predict (a box in the pixels of the
// image given), info (a checkpoint's contents), graph (DOT of one step) and ablate (a grid over
// seeds, its RESULT.md and RESULT.csv, finished runs skipped, interrupted ones resumed).
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "eval/metrics.h"
#include "testutil.h"
#include "tests/train/runutil.h"
#include "train/schema.h"
#include "train/trainer.h"

ReportHook(PRE_ALL)(struct criterion_test_set *set) {
  (void)set;
  gwr_suite_begin("cli", true);
}
ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
  (void)stats;
  gwr_suite_end();
}

TestSuite(cli, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

// Trains in this process (quiet) and asserts it worked.
static void train(const char *config, const char *out, int n, const char *const *overrides) {
  gw_train_opts o = {.config = config,
                     .out_dir = out,
                     .quiet = true,
                     .n_overrides = n,
                     .overrides = (char **)overrides};
  cr_assert_eq(gw_train_main(&o), 0, "training %s: %s", out, gw_last_error());
}

// A number from a JSON file (asserts it is there).
static double json_num(const char *path, const char *key) {
  json_t *o = json_load_file(path, 0, NULL);
  cr_assert(o, "%s is missing or not JSON", path);
  json_t *v = json_object_get(o, key);
  cr_assert(json_is_number(v), "%s has no number '%s'", path, key);
  double x = json_number_value(v);
  json_decref(o);
  return x;
}

static char *json_text(const char *path, const char *key) {
  json_t *o = json_load_file(path, 0, NULL);
  cr_assert(o, "%s is missing or not JSON", path);
  const char *v = json_string_value(json_object_get(o, key));
  cr_assert(v, "%s has no string '%s'", path, key);
  char *s = strdup(v);
  json_decref(o);
  return s;
}

// ---- gw eval ----

// predictions-SPLIT.jsonl: one object per line; returns the lines read (at most max) into rows.
static int read_predictions(const char *run, const char *split, json_t **rows, int max) {
  char path[1200];
  snprintf(path, sizeof path, "%s/predictions-%s.jsonl", run, split);
  FILE *f = fopen(path, "r");
  cr_assert(f, "%s is missing", path);
  char line[4096];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    cr_assert(o && json_is_object(o), "%s:%d: %s", path, n + 1, err.text);
    cr_assert_lt(n, max, "%s has more than %d lines", path, max);
    rows[n++] = o;
  }
  fclose(f);
  return n;
}

// gw eval RUN evaluates the run's best checkpoint on a split and writes RUN/metrics-SPLIT.json
// and a table: with EMA weights by default (the numbers the trainer reported), with raw ones
// on request (the numbers of the same run without EMA, whose weights are the raw ones); asking
// for EMA weights of a run without EMA is an error.
Test(cli, eval_writes_metrics_with_ema_or_raw_weights) {
  const char *cfg = gwr_config("eval");
  const char *e = gwr_path("eval-ema"), *f = gwr_path("eval-raw");
  const char *with_ema[] = {"train.steps=20", "train.eval_every=0", "train.ema=0.9"};
  const char *without[] = {"train.steps=20", "train.eval_every=0", "train.ema=0"};
  train(cfg, e, 3, with_ema);
  train(cfg, f, 3, without);
  char metrics[1200];
  snprintf(metrics, sizeof metrics, "%s/metrics-test.json", e);
  double trained_ema = json_num(metrics, "top1");
  snprintf(metrics, sizeof metrics, "%s/metrics-test.json", f);
  double trained_raw = json_num(metrics, "top1");

  const char *log = gwr_path("eval.log");
  int rc = gwr_run(log, "eval", e, "--split", "test", NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  snprintf(metrics, sizeof metrics, "%s/metrics-test.json", e);
  char *weights = json_text(metrics, "weights");
  cr_assert_str_eq(weights, "ema");
  free(weights);
  cr_assert_eq(json_num(metrics, "top1"), trained_ema, "gw eval %g, the trainer %g",
               json_num(metrics, "top1"), trained_ema);
  cr_assert_eq(json_num(metrics, "samples"), 60);
  GWR_ASSERT_FILE_HAS(log, "small_cnn on test, step 20 (EMA weights, ");
  GWR_ASSERT_FILE_HAS(log, "  top1 ");
  GWR_ASSERT_FILE_HAS(log, "wrote ");
  // every prediction, one line per sample: the share marked correct is top1
  json_t *rows[64];
  int n = read_predictions(e, "test", rows, 64);
  cr_assert_eq(n, 60);
  int right = 0;
  for (int i = 0; i < n; i++) {
    int id = (int)json_integer_value(json_object_get(rows[i], "class_id"));
    int truth = (int)json_integer_value(json_object_get(rows[i], "true_class_id"));
    cr_assert(json_is_string(json_object_get(rows[i], "class")), "line %d names no class", i + 1);
    cr_assert_eq(json_is_true(json_object_get(rows[i], "correct")), id == truth);
    right += id == truth;
    json_decref(rows[i]);
  }
  cr_assert_float_eq(right / 60.0, trained_ema, 1e-6,  // the JSON holds 6 digits
                     "%d of 60 right, top1 %g", right, trained_ema);

  // a checkpoint given by path: its metrics go to its run directory
  char ck[1200];
  snprintf(ck, sizeof ck, "%s/ckpt/step_20.h5", e);
  rc = gwr_run(log, "eval", ck, "--split", "test", "--weights", "raw", NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  weights = json_text(metrics, "weights");
  cr_assert_str_eq(weights, "raw");
  free(weights);
  char *from = json_text(metrics, "checkpoint");
  cr_assert_str_eq(from, ck);
  free(from);
  cr_assert_eq(json_num(metrics, "top1"), trained_raw, "raw weights %g, the run without EMA %g",
               json_num(metrics, "top1"), trained_raw);
  GWR_ASSERT_FILE_HAS(log, "(raw weights, ");

  // another split, into its own file
  rc = gwr_run(log, "eval", f, "--split", "val", NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  snprintf(metrics, sizeof metrics, "%s/metrics-val.json", f);
  cr_assert_eq(json_num(metrics, "samples"), 24);

  // errors: EMA weights that were never kept, a bad --weights, a missing checkpoint or split
  cr_assert_eq(gwr_run(log, "eval", f, "--weights", "ema", NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "was trained without EMA (train.ema = 0): use --weights raw");
  cr_assert_eq(gwr_run(log, "eval", f, "--weights", "best", NULL), 2);
  GWR_ASSERT_FILE_HAS(log, "--weights is ema or raw, not 'best'");
  cr_assert_eq(gwr_run(log, "eval", gwr_path("no-such-run"), NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "no-such-run");
  cr_assert_eq(gwr_run(log, "eval", f, "--split", "nosplit", NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "nosplit");
}

// ---- gw info ----

// gw info lists the model, the step (of the schedule's length), the trainable parameters, the
// data cursor, what the model was built for, every parameter with its shape (and the EMA copies
// with their update count), the optimizer state and the resolved config.
Test(cli, info_lists_tensors_step_and_config) {
  const char *cfg = gwr_config("info");
  const char *run = gwr_path("info");
  const char *o[] = {"train.steps=10", "train.eval_every=0", "train.ema=0.5"};
  train(cfg, run, 3, o);
  char ck[1200];
  snprintf(ck, sizeof ck, "%s/ckpt/step_10.h5", run);
  const char *log = gwr_path("info.log");
  int rc = gwr_run(log, "info", ck, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  // trainable: conv 3->8 (no bias), BN(8), conv 8->16, BN(16), fc 16->6
  char head[200];
  snprintf(head, sizeof head, "model small_cnn, step 10 of 10, %d trainable parameters\n",
           3 * 8 * 9 + 16 + 8 * 16 * 9 + 32 + 16 * 6 + 6);
  GWR_ASSERT_FILE_HAS(log, head);
  GWR_ASSERT_FILE_HAS(log, "  data cursor: epoch ");
  GWR_ASSERT_FILE_HAS(log, "  built for: image_size 64, ");
  GWR_ASSERT_FILE_HAS(log, "n_classes 6\n");
  GWR_ASSERT_FILE_HAS(log, "  labels: 6 (");
  GWR_ASSERT_FILE_HAS(log, "EMA updates: 10\n");
  GWR_ASSERT_FILE_HAS(log, "\nparams:\n");
  GWR_ASSERT_FILE_HAS(log, "\nema:\n");
  static const char *const tensors[][2] = {{"conv.0.weight", "(8, 3, 3, 3)"},
                                           {"conv.1.weight", "(16, 8, 3, 3)"},
                                           {"bn.1.running_var", "(16,)"},
                                           {"fc.weight", "(6, 16)"},
                                           {"fc.bias", "(6,)"}};
  char *out = gwr_read(log, NULL);
  for (int k = 0; k < 5; k++) {
    char *at = strstr(out, tensors[k][0]);
    cr_assert(at, "%s is not listed:\n%s", tensors[k][0], out);
    char line[300];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(at, "\n"), at);
    cr_assert(strstr(line, tensors[k][1]), "%s: want shape %s", line, tensors[k][1]);
  }
  free(out);
  GWR_ASSERT_FILE_HAS(log, "optimizer state: yes");
  GWR_ASSERT_FILE_HAS(log, "config:\n");
  GWR_ASSERT_FILE_HAS(log, "  name: small_cnn\n");
  cr_assert_eq(gwr_run(log, "info", gwr_path("nothing.h5"), NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "gw info: ");
}

// ---- gw graph ----

// gw graph writes one training step's autograd graph as DOT (on a batch of at most 4): a box per
// op with its output shape, the parameters as ellipses with their names, edges, the loss marked.
Test(cli, graph_writes_dot_with_op_nodes) {
  const char *cfg = gwr_config("graph");
  const char *dot = gwr_path("step.dot"), *log = gwr_path("graph.log");
  int rc = gwr_run(log, "graph", cfg, "--out", dot, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  char *g = gwr_read(dot, NULL);
  cr_assert(g && !strncmp(g, "digraph step {\n", 15), "not a DOT digraph:\n%.200s", g);
  cr_assert(strlen(g) > 2 && !strcmp(g + strlen(g) - 2, "}\n"), "the graph is not closed");
  int boxes = 0, edges = 0;
  for (const char *p = g; (p = strstr(p, "[shape=box")); p++) boxes++;
  for (const char *p = g; (p = strstr(p, " -> ")); p++) edges++;
  cr_assert_geq(boxes, 10, "%d op nodes", boxes);
  cr_assert_geq(edges, boxes, "%d edges for %d ops", edges, boxes);
  static const char *const ops[] = {"label=\"conv2d\\n(4, 16, 32, 32)\"", "label=\"batchnorm",
                                    "label=\"relu", "label=\"maxpool2d", "label=\"cross_entropy"};
  for (int k = 0; k < 5; k++) cr_assert(strstr(g, ops[k]), "no %s in\n%s", ops[k], g);
  cr_assert(strstr(g, "[shape=ellipse, label=\"conv.1.weight\\n(16, 8, 3, 3)\""),
            "no parameter node");
  cr_assert(strstr(g, "[peripheries=2]"), "the loss is not marked");
  free(g);
  GWR_ASSERT_FILE_HAS(log, "ops written to");
  // without --out the graph goes to stdout
  rc = gwr_run(log, "graph", cfg, "model.channels=4", NULL);
  cr_assert_eq(rc, 0, "exit %d", rc);
  GWR_ASSERT_FILE_HAS(log, "digraph step {");
  GWR_ASSERT_FILE_HAS(log, "label=\"conv2d\\n(4, 4, 64, 64)\"");
}

// ---- gw ablate ----

// Reads a RESULT.csv row: setting, seeds, params, step ms, training seconds, top1 mean, top1
// std, top1 at equal time mean and std.
typedef struct row {
  char setting[256];
  int seeds;
  long params;
  double step_ms, train_s, mean, std, eq_mean, eq_std;
} row;

// A run's training seconds up to each step (log.csv's last column summed), into cum[0..steps].
static int run_seconds(const char *run, double *cum, int max) {
  char path[1400];
  snprintf(path, sizeof path, "%s/log.csv", run);
  FILE *f = fopen(path, "r");
  cr_assert(f, "%s is missing", path);
  char line[1024];
  int n = 0;
  cum[0] = 0.0;
  while (fgets(line, sizeof line, f))
    if (line[0] >= '0' && line[0] <= '9' && n + 1 < max) {
      n++;
      cum[n] = cum[n - 1] + atof(strrchr(line, ',') + 1);
    }
  fclose(f);
  return n;
}

// top1 of the run's last evaluation (metrics.jsonl, split test) within `seconds` of training.
static double top1_within(const char *run, const double *cum, double seconds) {
  char path[1400], line[4096];
  snprintf(path, sizeof path, "%s/metrics.jsonl", run);
  FILE *f = fopen(path, "r");
  cr_assert(f, "%s is missing", path);
  double v = NAN;
  while (fgets(line, sizeof line, f)) {
    json_t *o = json_loads(line, 0, NULL);
    cr_assert(o, "%s: %s", path, line);
    int step = (int)json_integer_value(json_object_get(o, "step"));
    if (!strcmp(json_string_value(json_object_get(o, "split")), "test") && cum[step] <= seconds)
      v = json_number_value(json_object_get(o, "top1"));
    json_decref(o);
  }
  fclose(f);
  return v;
}

// gw ablate runs every setting of a 2 x 1 grid over 2 seeds (continuing a run that was
// interrupted), then writes RESULT.md and RESULT.csv with the mean +- std over seeds of the
// final metrics and the parameter count; a second call finds every run finished and skips it,
// leaving the runs as they were.
Test(cli, ablate_grid_over_seeds) {
  const char *cfg = gwr_config("ablate-base");
  (void)cfg;
  const char *grid = gwr_path("grid.yaml"), *out = gwr_path("ablate"),
             *log = gwr_path("ablate.log");
  gwr_write(grid,
            "config: ablate-base.yaml\n"
            "seeds: [1, 2]\n"
            "common: [\"train.steps=6\", \"train.eval_every=2\", \"train.ckpt_every=6\"]\n"
            "grid:\n"
            "  - [\"model.channels=4,8\", \"model.channels=8,16\"]\n"
            "  - [\"train.lr=0.003\"]\n");
  // one run was interrupted before: it is continued, not started again
  const char *stopped = gwr_path("ablate/channels-4:8_lr-0.003/seed2");
  int rc = gwr_run(gwr_path("ablate-stopped.log"), "train", gwr_path("ablate-base.yaml"), "--out",
                   stopped, "--quiet", "--stop-after", "3", "train.steps=6", "train.eval_every=2",
                   "train.ckpt_every=6", "model.channels=4,8", "train.lr=0.003", "train.seed=2", NULL);
  cr_assert_eq(rc, 130, "the run to interrupt: exit %d", rc);
  rc = gwr_run(log, "ablate", grid, "--out", out, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  GWR_ASSERT_FILE_HAS(log, "(continuing the interrupted run)");
  char stopped_log[1200];
  snprintf(stopped_log, sizeof stopped_log, "%s/log.csv", stopped);
  cr_assert_eq(gwr_count_rows(stopped_log), 6, "the continued run has a row per step");
  static const char *const settings[2] = {"channels-4:8_lr-0.003", "channels-8:16_lr-0.003"};
  // trainable parameters: conv 3->c0 (no bias), BN(c0), conv c0->c1, BN(c1), fc c1->6
  const long params[2] = {3 * 4 * 9 + 8 + 4 * 8 * 9 + 16 + 8 * 6 + 6,
                          3 * 8 * 9 + 16 + 8 * 16 * 9 + 32 + 16 * 6 + 6};
  double top1[2][2];
  char path[1400];
  for (int s = 0; s < 2; s++)
    for (int k = 0; k < 2; k++) {
      snprintf(path, sizeof path, "%s/%s/seed%d/metrics-test.json", out, settings[s], k + 1);
      top1[s][k] = json_num(path, "top1");
      snprintf(path, sizeof path, "%s/%s/seed%d/config.yaml", out, settings[s], k + 1);
      GWR_ASSERT_FILE_HAS(path, k ? "seed: 2\n" : "seed: 1\n");
    }

  snprintf(path, sizeof path, "%s/RESULT.csv", out);
  char *csv = gwr_read(path, NULL);
  cr_assert(csv, "no RESULT.csv");
  static const char header[] =
      "setting,seeds,params,step_ms,train_s,top1_mean,top1_std,top1_at_equal_time_mean,"
      "top1_at_equal_time_std\n";
  cr_assert(!strncmp(csv, header, strlen(header)), "header:\n%s", csv);
  // equal time: the fastest setting's mean training time, and each run's top1 within it
  double cum[2][2][16], train_s[2], fastest = INFINITY;
  for (int s = 0; s < 2; s++) {
    train_s[s] = 0.0;
    for (int k = 0; k < 2; k++) {
      snprintf(path, sizeof path, "%s/%s/seed%d", out, settings[s], k + 1);
      int n = run_seconds(path, cum[s][k], 16);
      cr_assert_eq(n, 6, "%s: %d steps logged", path, n);
      train_s[s] += cum[s][k][6] / 2;
    }
    fastest = fmin(fastest, train_s[s]);
  }
  char *line = strchr(csv, '\n') + 1;
  for (int s = 0; s < 2; s++) {
    row r;
    int used = 0;
    cr_assert_eq(sscanf(line, "%255[^,],%d,%ld,%lf,%lf,%lf,%lf,%n", r.setting, &r.seeds,
                        &r.params, &r.step_ms, &r.train_s, &r.mean, &r.std, &used),
                 7, "RESULT.csv row: %.200s", line);
    // the equal-time cells are empty when no evaluation of the setting came that early
    r.eq_mean = r.eq_std = NAN;
    if (line[used] != ',')
      cr_assert_eq(sscanf(line + used, "%lf,%lf", &r.eq_mean, &r.eq_std), 2, "row: %.200s", line);
    cr_assert_float_eq(r.train_s, train_s[s], 0.051, "%s: %g s of training, want %g", settings[s],
                       r.train_s, train_s[s]);
    double eq[2], eq_mean, eq_std;
    int n_eq = 0;
    for (int k = 0; k < 2; k++) {
      snprintf(path, sizeof path, "%s/%s/seed%d", out, settings[s], k + 1);
      double v = top1_within(path, cum[s][k], fastest);
      if (!isnan(v)) eq[n_eq++] = v;
    }
    if (train_s[s] == fastest)  // the fastest setting: a seed at or below its mean time finished
      cr_assert_gt(n_eq, 0, "%s: no evaluation within its own mean time %g s", settings[s], fastest);
    if (n_eq == 0) {
      cr_assert(isnan(r.eq_mean), "%s: %g at equal time, but no evaluation came that early",
                settings[s], r.eq_mean);
    } else {
      gw_mean_std(eq, n_eq, &eq_mean, &eq_std);
      cr_assert_float_eq(r.eq_mean, eq_mean, 1e-5, "%s at equal time: %g, want %g", settings[s],
                         r.eq_mean, eq_mean);
      cr_assert_float_eq(r.eq_std, eq_std, 1e-5);
    }
    double mean, std;
    gw_mean_std(top1[s], 2, &mean, &std);
    cr_assert_str_eq(r.setting, settings[s]);
    cr_assert_eq(r.seeds, 2);
    cr_assert_eq(r.params, params[s], "%s: %ld parameters, want %ld", settings[s], r.params,
                 params[s]);
    cr_assert(r.step_ms > 0);
    cr_assert_float_eq(r.mean, mean, 1e-5, "%s: mean %g, want %g", settings[s], r.mean, mean);
    cr_assert_float_eq(r.std, std, 1e-5, "%s: std %g, want %g", settings[s], r.std, std);
    line = strchr(line, '\n') + 1;
  }
  cr_assert_eq(*line, '\0', "more rows than settings:\n%s", csv);
  free(csv);
  snprintf(path, sizeof path, "%s/RESULT.md", out);
  GWR_ASSERT_FILE_HAS(path, "| setting | params | step ms | train s | top1 |");
  GWR_ASSERT_FILE_HAS(path, "## At equal training time");
  GWR_ASSERT_FILE_HAS(path, "| setting | at step | top1 |");
  for (int s = 0; s < 2; s++) {
    char cell[400];
    double mean, std;
    gw_mean_std(top1[s], 2, &mean, &std);
    snprintf(cell, sizeof cell, "| %s | %ld | ", settings[s], params[s]);
    GWR_ASSERT_FILE_HAS(path, cell);
    snprintf(cell, sizeof cell, " %.4f +- %.4f |", mean, std);
    GWR_ASSERT_FILE_HAS(path, cell);
  }
  GWR_ASSERT_FILE_HAS(path, "seeds 1 2");

  // again: every run is skipped, and no run directory changes
  char before[1400];
  snprintf(before, sizeof before, "%s/%s/seed1/log.csv", out, settings[0]);
  char *log_before = gwr_read(before, NULL);
  struct stat st0;
  cr_assert_eq(stat(before, &st0), 0);
  rc = gwr_run(log, "ablate", grid, "--out", out, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  char *said = gwr_read(log, NULL);
  int skipped = 0;
  for (const char *p = said; (p = strstr(p, "done before, skipped")); p++) skipped++;
  cr_assert_eq(skipped, 4, "%d runs skipped:\n%s", skipped, said);
  free(said);
  struct stat st1;
  cr_assert_eq(stat(before, &st1), 0);
  cr_assert(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec && st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec,
            "a finished run was touched");
  char *log_after = gwr_read(before, NULL);
  cr_assert_str_eq(log_after, log_before);
  free(log_before);
  free(log_after);
  snprintf(path, sizeof path, "%s/%s/seed1", out, settings[0]);
  DIR *d = opendir(path);
  for (struct dirent *e; d && (e = readdir(d));)
    cr_assert(strncmp(e->d_name, "old-", 4), "the rerun moved a finished run aside");
  if (d) closedir(d);
  snprintf(path, sizeof path, "%s/RESULT.csv", out);
  cr_assert(gwr_exists(path));
}

// ---- gw train --help-config ----

// gw train CONFIG --help-config lists every key of the trainer's, the data's and the config's
// model's schemas, each with its type, default and help; without a config, the first two.
Test(cli, train_help_config_lists_every_key) {
  const char *cfg = gwr_config("help");
  const char *log = gwr_path("help.log");
  int rc = gwr_run(log, "train", cfg, "--help-config", NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  char *out = gwr_read(log, NULL);
  const gw_model_ops *cnn = gw_model_find("small_cnn");
  const gw_cfg_schema schemas[3] = {gw_trainer_schema, gw_data_schema, cnn->schema};
  for (int s = 0; s < 3; s++) {
    char title[100];
    snprintf(title, sizeof title, "# %s\n", schemas[s].name);
    const char *section = strstr(out, title);
    cr_assert(section, "no section '%s' in\n%s", schemas[s].name, out);
    for (int k = 0; k < schemas[s].n_keys; k++) {
      const gw_cfg_key *key = &schemas[s].keys[k];
      char start[200];
      snprintf(start, sizeof start, "\n  %s ", key->key);
      const char *line = strstr(section, start);
      cr_assert(line, "%s is not listed", key->key);
      char one[600], def[200];
      snprintf(one, sizeof one, "%.*s", (int)strcspn(line + 1, "\n"), line + 1);
      snprintf(def, sizeof def, "default %s", key->def ? key->def : "(required)");
      cr_assert(strstr(one, key->help) && strstr(one, def), "%s: no default or help: %s", key->key,
                one);
    }
  }
  free(out);
  rc = gwr_run(log, "train", "--help-config", NULL);
  cr_assert_eq(rc, 0);
  GWR_ASSERT_FILE_HAS(log, "# trainer\n");
  GWR_ASSERT_FILE_HAS(log, "  train.lr ");
  GWR_ASSERT_FILE_HAS(log, "# data\n");
}

// ---- grounding and VQA runs: gw eval's breakdowns, the report's pictures, gw predict ----

// A tiny LaConvNet config (REC, or VQA with model=laconvnet_vqa) on the suite's data set.
static const char *laconv_config(const char *name, const char *model) {
  const char *path = gwr_path("%s.yaml", name);
  char text[2048];
  snprintf(text, sizeof text,
           "model:\n  name: %s\n  stem_channels: 8\n  channels: [8, 16]\n  blocks: [1, 1]\n"
           "  kernel: [3, 3]\n  groups: [2, 4]\n  pack: [2, 1]\n  word_dim: 16\n  text_dim: 16\n"
           "  head_channels: 16\n  vqa_hidden: 32\n"
           "train:\n  steps: 6\n  batch_size: 16\n  threads: 1\n  eval_every: 0\n"
           "data:\n  dir: %s\n  preset: none\n  eval_splits: val\n",
           model, gwr_data());
  gwr_write(path, text);
  return path;
}

// Pixels of an image within 10 of a colour in each channel.
static int count_colour(const unsigned char *px, int n, int r, int g, int b) {
  int hits = 0;
  for (int i = 0; i < n; i++)
    hits += abs(px[3 * i] - r) <= 10 && abs(px[3 * i + 1] - g) <= 10 && abs(px[3 * i + 2] - b) <= 10;
  return hits;
}

// A REC run: metrics by expression level in metrics-val.json and in gw eval's table; the sample
// pictures with the true box (green) and the predicted one (red) drawn, each with its expression
// as a caption, which the report shows.
Test(cli, rec_run_levels_pictures_and_captions) {
  const char *cfg = laconv_config("rec", "laconvnet");
  const char *run = gwr_path("rec");
  const char *log = gwr_path("rec.log");
  int rc = gwr_run(log, "train", cfg, "--out", run, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  GWR_ASSERT_FILE_HAS(log, "eval val       step 6: samples ");
  char path[1200];
  snprintf(path, sizeof path, "%s/metrics-val.json", run);
  static const char *const keys[] = {"acc@0.5", "acc@0.75", "miou", "acc@0.5_L0", "acc@0.75_L1",
                                     "miou_L2", "acc@0.5_L3"};
  for (int k = 0; k < 7; k++) {
    double v = json_num(path, keys[k]);
    cr_assert(v >= 0 && v <= 1, "%s = %g", keys[k], v);
  }
  double trained = json_num(path, "acc@0.5");
  rc = gwr_run(log, "eval", run, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  GWR_ASSERT_FILE_HAS(log, "REC: top-1 box per expression");
  GWR_ASSERT_FILE_HAS(log, "  miou_L1 ");
  cr_assert_eq(json_num(path, "acc@0.5"), trained, "gw eval and the trainer disagree");
  // every prediction: its IoU recomputed from the boxes, the share correct is acc@0.5
  double samples = json_num(path, "samples");
  static json_t *rows_val[8192];
  int n = read_predictions(run, "val", rows_val, 8192);
  json_t **rows = rows_val;
  cr_assert_eq(n, (int)samples);
  int right = 0;
  for (int i = 0; i < n; i++) {
    float b[2][4];
    for (int k = 0; k < 2; k++)
      for (int j = 0; j < 4; j++)
        b[k][j] = (float)json_number_value(json_array_get(json_object_get(rows[i], k ? "target" : "box"), j));
    double iou = json_number_value(json_object_get(rows[i], "iou"));
    cr_assert_float_eq(iou, gw_box_iou_xyxy(b[0], b[1]), 2e-3, "line %d", i + 1);
    const char *text = json_string_value(json_object_get(rows[i], "text"));
    cr_assert(text && text[0], "line %d has no expression", i + 1);
    int level = (int)json_integer_value(json_object_get(rows[i], "level"));
    cr_assert(level >= 0 && level <= 3, "line %d: level %d", i + 1, level);
    right += json_is_true(json_object_get(rows[i], "correct"));
    json_decref(rows[i]);
  }
  cr_assert_float_eq(right / samples, trained, 1e-6, "%d of %g correct, acc@0.5 %g", right, samples,
                     trained);

  int boxes_drawn = 0;
  for (int i = 0; i < 8; i++) {
    snprintf(path, sizeof path, "%s/vis/sample%02d.png", run, i);
    int w, h, c;
    unsigned char *px = stbi_load(path, &w, &h, &c, 3);
    cr_assert(px, "%s is missing", path);
    // inside the frame: the true box's green, and the predicted box's red (unless it is tiny)
    int green = 0, red = 0;
    for (int y = 6; y < h - 6; y++) {
      green += count_colour(px + 3 * ((size_t)y * w + 6), w - 12, 40, 180, 60);
      red += count_colour(px + 3 * ((size_t)y * w + 6), w - 12, 220, 40, 40);
    }
    stbi_image_free(px);
    cr_assert_gt(green, 20, "%s: no true box drawn", path);
    boxes_drawn += red > 0;
    snprintf(path, sizeof path, "%s/vis/sample%02d.txt", run, i);
    char *caption = gwr_read(path, NULL);
    cr_assert(caption && caption[0] == '"' && strstr(caption, "\": IoU "), "%s: %s", path, caption);
    char html[1200];
    snprintf(html, sizeof html, "%s/report.html", run);
    caption[strcspn(caption, "\"") + 1 + strcspn(caption + 1, "\"")] = '\0';  // the expression
    GWR_ASSERT_FILE_HAS(html, caption + 1);
    free(caption);
  }
  cr_assert_gt(boxes_drawn, 0, "no predicted box drawn in any sample");
}

// Every fusion of the ablation trains, evaluates and keeps its own parameters: LaConv's
// kernel generator, per-sample kernels from the sentence, FiLM, static convs with the sentence
// at the head (and the hidden layer after it), and the blind model (no text encoder weights
// used: its loss does not depend on the words).
Test(cli, every_laconvnet_fusion_trains_and_evaluates) {
  const char *cfg = laconv_config("fusions", "laconvnet");
  static const char *const fusions[] = {"laconv", "dynamic", "film", "static_late", "blind"};
  // a parameter each must have, and one it must not
  static const char *const own[] = {"cond.query.weight", "kernel.weight", "film.weight",
                                    "head.late_conv.weight", "dwconv.weight"};
  static const char *const not_own[] = {"dwconv.weight", "cond.query", "cond.query",
                                        "film.weight", "head.late"};
  for (int f = 0; f < 5; f++) {
    const char *run = gwr_path("fusion-%s", fusions[f]), *log = gwr_path("fusion-%s.log", fusions[f]);
    char set[64];
    snprintf(set, sizeof set, "model.fusion=%s", fusions[f]);
    int rc = gwr_run(log, "train", cfg, "--out", run, set, NULL);
    cr_assert_eq(rc, 0, "%s: exit %d; see %s", fusions[f], rc, log);
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics-val.json", run);
    double acc = json_num(path, "acc@0.5");
    cr_assert(acc >= 0 && acc <= 1, "%s: acc@0.5 %g", fusions[f], acc);
    snprintf(path, sizeof path, "%s/ckpt/step_6.h5", run);
    rc = gwr_run(log, "info", path, NULL);
    cr_assert_eq(rc, 0);
    GWR_ASSERT_FILE_HAS(log, own[f]);
    char *listing = gwr_read(log, NULL);
    cr_assert(!strstr(listing, not_own[f]), "%s has %s", fusions[f], not_own[f]);
    free(listing);
  }
}

// A tiny CLIP on the suite's captions: gw eval reports retrieval both ways, strict (the own
// image or caption only) and lenient (any the caption is true of), which can only be higher;
// then VT-CLIP on two shots per class of sw-shape reads that CLIP frozen and reports top-1.
Test(cli, clip_retrieval_strict_and_lenient_then_vtclip_on_its_checkpoint) {
  const char *clip_cfg = gwr_path("clip.yaml"), *clip_run = gwr_path("clip"), *log = gwr_path("clip.log");
  char text[2048];
  snprintf(text, sizeof text,
           "model:\n  name: clip\n  width: 16\n  heads: 2\n  vision_layers: 1\n  text_layers: 1\n"
           "  embed_dim: 16\n"
           "train:\n  steps: 6\n  batch_size: 16\n  threads: 1\n  eval_every: 0\n"
           "data:\n  dir: %s\n  preset: none\n  eval_splits: val\n",
           gwr_data());
  gwr_write(clip_cfg, text);
  int rc = gwr_run(log, "train", clip_cfg, "--out", clip_run, NULL);
  cr_assert_eq(rc, 0, "clip: exit %d; see %s", rc, log);
  char path[1200];
  snprintf(path, sizeof path, "%s/metrics-val.json", clip_run);
  static const char *const keys[] = {"i2t_r@1", "i2t_r@5", "i2t_r@10", "t2i_r@1", "t2i_r@5",
                                     "t2i_r@10", "rsum"};
  for (int k = 0; k < 7; k++) {
    char lenient[64];
    snprintf(lenient, sizeof lenient, "%s_lenient", keys[k]);
    double strict = json_num(path, keys[k]), loose = json_num(path, lenient);
    cr_assert(strict >= 0 && loose >= strict && loose <= (k == 6 ? 6 : 1), "%s %g, %s %g",
              keys[k], strict, lenient, loose);
  }
  // the val captions of the tiny set are mostly true of several images: lenient t2i is higher
  cr_assert_gt(json_num(path, "t2i_r@10_lenient"), json_num(path, "t2i_r@10"));
  const char *vt_cfg = gwr_path("vtclip.yaml"), *vt_run = gwr_path("vtclip");
  snprintf(text, sizeof text,
           "model:\n  name: vtclip\n  clip: %s/ckpt/step_6.h5\n  heads: 2\n"
           "train:\n  epochs: 2\n  batch_size: 16\n  threads: 1\n  eval_every: 0\n"
           "data:\n  dir: %s\n  preset: none\n  fewshot_task: sw-shape\n  shots: 2\n"
           "  eval_splits: test\n",
           clip_run, gwr_data());
  gwr_write(vt_cfg, text);
  rc = gwr_run(log, "train", vt_cfg, "--out", vt_run, NULL);
  cr_assert_eq(rc, 0, "vtclip: exit %d; see %s", rc, log);
  snprintf(path, sizeof path, "%s/metrics-test.json", vt_run);
  double top1 = json_num(path, "top1");
  cr_assert(top1 >= 0 && top1 <= 1, "top1 %g", top1);
  GWR_ASSERT_FILE_HAS(log, "top1 ");
}

// A VQA run: the official score overall, by answer type and by question family.
Test(cli, vqa_run_by_answer_type_and_family) {
  const char *cfg = laconv_config("vqa", "laconvnet_vqa");
  const char *run = gwr_path("vqa");
  const char *log = gwr_path("vqa.log");
  int rc = gwr_run(log, "train", cfg, "--out", run, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  char path[1200];
  snprintf(path, sizeof path, "%s/metrics-val.json", run);
  static const char *const keys[] = {"vqa_acc", "vqa_acc_yes/no", "vqa_acc_number", "vqa_acc_other",
                                     "vqa_acc_q_exist", "vqa_acc_q_count", "vqa_acc_q_query_color"};
  for (int k = 0; k < 7; k++) {
    double v = json_num(path, keys[k]);
    cr_assert(v >= 0 && v <= 1, "%s = %g", keys[k], v);
  }
  GWR_ASSERT_FILE_HAS(log, "vqa_acc_yes/no ");  // a headline number on the eval line
  // gw predict answers in words
  char png[1200], ck[1200];
  snprintf(png, sizeof png, "%s/vis/sample00.png", run);
  snprintf(ck, sizeof ck, "%s/ckpt/best.h5", run);
  rc = gwr_run(log, "predict", ck, "--image", png, "--text", "how many circles are there",
               "--out", gwr_path("vqa-predict.png"), NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  char *out = gwr_read(log, NULL);
  char word[64] = "";
  cr_assert(sscanf(out, "answer %63s", word) == 1 && word[0] != '#', "no answer word:\n%s", out);
  free(out);
  GWR_ASSERT_FILE_HAS(gwr_path("data/answers.txt"), word);
}

// Runs gw predict; returns the box of its JSON line (asserts it worked).
static void predict_box(const char *ck, const char *image, const char *out_png, float box[4]) {
  const char *log = gwr_path("predict.log");
  int rc = gwr_run(log, "predict", ck, "--image", image, "--text", "the blue square", "--out",
                   out_png, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  char *out = gwr_read(log, NULL);
  const char *json = strstr(out, "{\"image\"");
  cr_assert(json, "no JSON line:\n%s", out);
  json_t *o = json_loads(json, JSON_DISABLE_EOF_CHECK, NULL);
  cr_assert(o, "not JSON: %s", json);
  json_t *b = json_object_get(o, "box");
  for (int k = 0; k < 4; k++) box[k] = (float)json_number_value(json_array_get(b, (size_t)k));
  cr_assert(strstr(out, "box ") && strstr(out, "wrote "), "%s", out);
  json_decref(o);
  free(out);
}

// gw predict gives the box in the pixels of the image it was given, which the model saw
// letterboxed. K is a 64 x 64 picture (the model's size: no letterbox) whose top and bottom 16
// rows are the pad grey; J is its middle 64 x 32 strip, which the letterbox turns back into
// exactly K's pixels (scale 1, 16 rows of pad above and below). So the model sees the same input
// and J's box must be K's moved up 16 rows and clamped to J. The picture it writes is the image
// enlarged (to at least 256 wide) with the box and the text below it.
Test(cli, predict_box_in_the_pixels_of_the_image) {
  const char *cfg = laconv_config("pred", "laconvnet");
  const char *run = gwr_path("pred");
  const char *o[] = {"train.steps=3"};
  train(cfg, run, 1, o);
  gw_h5 *f = gw_h5_open(gwr_path("data/val.h5"));
  cr_assert(f, "%s", gw_last_error());
  unsigned char k[64 * 64 * 3];
  cr_assert_eq(gw_h5_read_rows(f, "images", GW_H5_U8, 0, 1, k), 0, "%s", gw_last_error());
  gw_h5_close(f);
  for (int y = 0; y < 64; y++)
    if (y < 16 || y >= 48) memset(k + (size_t)y * 64 * 3, 127, 64 * 3);
  const char *kp = gwr_path("K.png"), *jp = gwr_path("J.png");
  cr_assert(stbi_write_png(kp, 64, 64, 3, k, 64 * 3));
  cr_assert(stbi_write_png(jp, 64, 32, 3, k + 16 * 64 * 3, 64 * 3));
  char ck[1200];
  snprintf(ck, sizeof ck, "%s/ckpt/step_3.h5", run);
  float bk[4], bj[4];
  predict_box(ck, kp, gwr_path("K-out.png"), bk);
  predict_box(ck, jp, gwr_path("J-out.png"), bj);
  const float want[4] = {bk[0], fminf(fmaxf(bk[1] - 16, 0), 32), bk[2], fminf(fmaxf(bk[3] - 16, 0), 32)};
  for (int c = 0; c < 4; c++)
    cr_assert(fabsf(bj[c] - want[c]) <= 0.011f, "J's box %g %g %g %g, K's %g %g %g %g", bj[0],
              bj[1], bj[2], bj[3], bk[0], bk[1], bk[2], bk[3]);
  for (int c = 0; c < 4; c++)
    cr_assert(bj[c] >= 0 && bj[c] <= (c % 2 ? 32 : 64), "J's box %g %g %g %g leaves the image",
              bj[0], bj[1], bj[2], bj[3]);
  int w, h, comp;
  cr_assert(stbi_info(gwr_path("J-out.png"), &w, &h, &comp), "no picture written");
  cr_assert(w == 256 && h == 32 * 4 + 40, "the picture is %dx%d, want 256x168", w, h);

  // bad input: no such image, no text for a grounding model, not a checkpoint
  const char *log = gwr_path("predict-bad.log");
  cr_assert_eq(gwr_run(log, "predict", ck, "--image", gwr_path("nowhere.png"), "--text", "x", NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "nowhere.png");
  cr_assert_eq(gwr_run(log, "predict", ck, "--image", kp, NULL), 2);
  GWR_ASSERT_FILE_HAS(log, "needs --text");
  cr_assert_eq(gwr_run(log, "predict", kp, "--image", kp, "--text", "x", NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "gw predict: ");
}
