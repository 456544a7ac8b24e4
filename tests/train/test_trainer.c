// The trainer end to end, on small_cnn and a tiny shapes-world data set made once for the
// suite: exact resume after SIGKILL (every tensor bit for bit), SIGINT/SIGTERM, the NaN guard,
// the files of a run, --init-from and --resume, and every kind of bad input. Runs go through
// gw_train_main in this process, or through the gw binary as a child process where a signal,
// an exit status or the printed message is what is tested.
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <pty.h>

#include "testutil.h"
#include "tests/train/runutil.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

ReportHook(PRE_ALL)(struct criterion_test_set *set) {
  (void)set;
  gwr_suite_begin("trainer", true);
}
ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
  (void)stats;
  gwr_suite_end();
}

TestSuite(trainer, .init = gwt_setup, .fini = gwt_teardown, .timeout = 120);

// Trains in this process (quiet); returns gw_train_main's status.
static int train(const char *config, const char *out, const char *init_from, bool force, int n,
                 const char *const *overrides) {
  gw_train_opts o = {.config = config,
                     .out_dir = out,
                     .init_from = init_from,
                     .force = force,
                     .quiet = true,
                     .n_overrides = n,
                     .overrides = (char **)overrides};
  return gw_train_main(&o);
}

// The step of the newest ckpt/step_N.h5 in a run directory (-1: none). A killed run may have
// left a step_N.h5.tmp being written: that is not a checkpoint.
static long newest_step_or_none(const char *run) {
  char ck[1100];
  snprintf(ck, sizeof ck, "%s/ckpt", run);
  DIR *d = opendir(ck);
  if (!d) return -1;
  long best = -1;
  for (struct dirent *e; (e = readdir(d));) {
    long s;
    char tail[16];
    if (sscanf(e->d_name, "step_%ld.h%15s", &s, tail) == 2 && !strcmp(tail, "5") && s > best)
      best = s;
  }
  closedir(d);
  return best;
}

static long newest_step(const char *run) {
  long s = newest_step_or_none(run);
  cr_assert_geq(s, 0, "%s has no checkpoint", run);
  return s;
}

// Waits until a run (the child pid) has a checkpoint of at least step `at_least`; false if the
// child ended first or after 60 s. (Polls: checkpoints are pruned as later ones come.)
static bool wait_for_step(const char *run, long at_least, pid_t child) {
  double t0 = gwr_now();
  while (newest_step_or_none(run) < at_least) {
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
      cr_log_warn("%s ended before step %ld (status %d)", run, at_least, status);
      return false;
    }
    if (gwr_now() - t0 > 60) return false;
    gwr_sleep(0.002);
  }
  return true;
}

// The names in a run's ckpt/ directory, sorted, joined by spaces.
static void ckpt_names(const char *run, char *out, size_t len) {
  char ck[1100];
  snprintf(ck, sizeof ck, "%s/ckpt", run);
  struct dirent **list;
  int n = scandir(ck, &list, NULL, alphasort);
  cr_assert(n >= 0, "%s is missing", ck);
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (list[i]->d_name[0] != '.') {
      size_t l = strlen(out);
      snprintf(out + l, len - l, "%s%s", l ? " " : "", list[i]->d_name);
    }
    free(list[i]);
  }
  free(list);
}

// The log.csv rows without their last column (seconds, which differs from run to run).
static char *rows_without_time(const char *path) {
  char *s = gwr_read(path, NULL);
  cr_assert(s, "cannot read %s", path);
  char *out = malloc(strlen(s) + 1), *o = out;
  for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
    char *last = strrchr(line, ',');
    size_t n = last ? (size_t)(last - line) : strlen(line);
    memcpy(o, line, n);
    o += n;
    *o++ = '\n';
  }
  *o = '\0';
  free(s);
  return out;
}

// ---- exact resume ----

// Run A goes uninterrupted; run B, the same config, is killed with SIGKILL at a random moment
// (from a seeded stream: GWT_SEED, default 2024) after its first checkpoint, then resumed with
// `gw train --resume`. B's final and best checkpoints equal A's in every array (parameters,
// batch-norm buffers, EMA weights, Adam moments) and in the training state, and B's logs equal
// A's row for row. Accumulation, dropout, augmentation, EMA and two eval splits all take part.
Test(trainer, sigkill_resume_is_bit_identical, .timeout = 240) {
  const char *cfg = gwr_config("kill");
#define KILL_OVERRIDES                                                                  \
  "train.steps=150", "train.accum=2", "train.ema=0.9", "model.dropout=0.2",             \
      "data.augment.flip=true", "data.augment.noise=0.05", "data.eval_splits=test,val", \
      "train.eval_every=50"
  const char *a = gwr_path("kill-A");
  double t0 = gwr_now();
  int rc =
      gwr_run(gwr_path("kill-A.log"), "train", cfg, "--out", a, "--quiet", KILL_OVERRIDES, NULL);
  cr_assert_eq(rc, 0, "run A failed (exit %d); see %s", rc, gwr_path("kill-A.log"));
  double t_a = gwr_now() - t0;

  const char *seed_env = getenv("GWT_SEED");
  uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : 2024;
  gw_rng r = gw_rng_stream(seed, "kill time");
  double delay = 0.7 * t_a * gw_rng_float(&r);
  char b[1100] = "";
  bool killed = false;
  for (int attempt = 0; attempt < 4 && !killed; attempt++, delay /= 4) {
    snprintf(b, sizeof b, "%s", gwr_path("kill-B%d", attempt));
    pid_t pid = gwr_spawn(gwr_path("kill-B%d.log", attempt), "train", cfg, "--out", b, "--quiet",
                          KILL_OVERRIDES, NULL);
    bool started = wait_for_step(b, 10, pid);
    if (started) gwr_sleep(delay);
    kill(pid, SIGKILL);
    rc = gwr_wait(pid);
    cr_assert(started || rc == 128 + SIGKILL, "run B stopped before its first checkpoint (exit %d)",
              rc);
    killed = rc == 128 + SIGKILL && newest_step(b) < 150;
    if (!killed)
      cr_log_warn("run B finished before the kill %.3f s after its first checkpoint; again", delay);
  }
  cr_assert(killed, "could not kill run B before it finished");
  long resumed_at = newest_step(b);
  cr_assert_geq(resumed_at, 10);
  cr_log_info("seed %llu: run A took %.2f s; B killed %.3f s after its first checkpoint; "
              "resumes at step %ld",
              (unsigned long long)seed, t_a, delay, resumed_at);

  const char *log = gwr_path("kill-resume.log");
  rc = gwr_run(log, "train", "--resume", b, NULL);
  cr_assert_eq(rc, 0, "the resumed run failed (exit %d); see %s", rc, log);
  char said[64];
  snprintf(said, sizeof said, "resumed at step %ld ", resumed_at);
  GWR_ASSERT_FILE_HAS(log, said);

  // the resumed run wrote again whatever the kill interrupted: no temporary file is left
  char pa[1200], pb[1200];
  snprintf(pb, sizeof pb, "%s/ckpt", b);
  DIR *d = opendir(pb);
  for (struct dirent *e; d && (e = readdir(d));)
    cr_assert(!strstr(e->d_name, ".tmp"), "%s/%s was left behind", pb, e->d_name);
  if (d) closedir(d);
  snprintf(pa, sizeof pa, "%s/ckpt/step_150.h5", a);
  snprintf(pb, sizeof pb, "%s/ckpt/step_150.h5", b);
  int arrays = gwr_assert_same_checkpoint(pa, pb);
  cr_assert_geq(arrays, 3 * 10, "params, EMA and both moments of 10 tensors: %d arrays", arrays);
  snprintf(pa, sizeof pa, "%s/ckpt/best.h5", a);
  snprintf(pb, sizeof pb, "%s/ckpt/best.h5", b);
  gwr_assert_same_checkpoint(pa, pb);

  // one row per step (the killed run's rows past its checkpoint were dropped on resume), each
  // the same as A's: step, loss, loss terms, lr and gradient norm
  snprintf(pa, sizeof pa, "%s/log.csv", a);
  snprintf(pb, sizeof pb, "%s/log.csv", b);
  cr_assert_eq(gwr_count_rows(pb), 150);
  char *la = rows_without_time(pa), *lb = rows_without_time(pb);
  cr_assert_str_eq(lb, la, "the logs differ:\n--- A\n%s\n--- B\n%s", la, lb);
  free(la);
  free(lb);
  static const char *const same[] = {"metrics.jsonl", "metrics-test.json", "metrics-val.json"};
  for (int k = 0; k < 3; k++) {
    snprintf(pa, sizeof pa, "%s/%s", a, same[k]);
    snprintf(pb, sizeof pb, "%s/%s", b, same[k]);
    cr_assert(gwr_same_bytes(pa, pb), "%s differs between the runs", same[k]);
  }
#undef KILL_OVERRIDES
}

// SIGINT and SIGTERM stop a run at the end of the step with a checkpoint and exit 130; each
// --resume continues from there, and the finished run has one log row per step.
Test(trainer, sigint_and_sigterm_checkpoint_and_resume) {
  const char *cfg = gwr_config("sigint");
  const char *run = gwr_path("sigint");
  const char *log1 = gwr_path("sigint-1.log");
  pid_t pid = gwr_spawn(log1, "train", cfg, "--out", run, "--quiet", "train.steps=200", NULL);
  cr_assert(wait_for_step(run, 10, pid), "no first checkpoint; see %s", log1);
  kill(pid, SIGINT);
  int rc = gwr_wait(pid);
  cr_assert_eq(rc, 130, "after SIGINT: exit %d (want 130); see %s", rc, log1);
  long stopped = newest_step(run);
  char said[200], ck[1200];
  snprintf(said, sizeof said, "stopped at step %ld; checkpoint written", stopped);
  GWR_ASSERT_FILE_HAS(log1, said);
  snprintf(ck, sizeof ck, "%s/ckpt/step_%ld.h5", run, stopped);
  cr_assert_eq(gwr_ckpt_attr(ck, "step"), stopped);
  snprintf(ck, sizeof ck, "%s/log.csv", run);
  cr_assert_eq(gwr_count_rows(ck), stopped, "a row for each of the %ld steps", stopped);

  // resume, stop again with SIGTERM once a later checkpoint exists
  const char *log2 = gwr_path("sigint-2.log");
  long later = (stopped / 10 + 2) * 10;
  pid = gwr_spawn(log2, "train", "--resume", run, NULL);
  cr_assert(wait_for_step(run, later, pid), "the resumed run wrote no step_%ld.h5; see %s", later,
            log2);
  kill(pid, SIGTERM);
  rc = gwr_wait(pid);
  cr_assert_eq(rc, 130, "after SIGTERM: exit %d (want 130); see %s", rc, log2);
  snprintf(said, sizeof said, "resumed at step %ld ", stopped);
  GWR_ASSERT_FILE_HAS(log2, said);
  long stopped2 = newest_step(run);
  cr_assert_gt(stopped2, stopped);

  const char *log3 = gwr_path("sigint-3.log");
  rc = gwr_run(log3, "train", "--resume", run, NULL);
  cr_assert_eq(rc, 0, "the last resume failed (exit %d); see %s", rc, log3);
  snprintf(said, sizeof said, "resumed at step %ld ", stopped2);
  GWR_ASSERT_FILE_HAS(log3, said);
  cr_assert_eq(newest_step(run), 200);
  // steps 1..200, each once
  char *rows = gwr_read(ck, NULL);
  int expect = 1;
  for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n"))
    if (line[0] >= '0' && line[0] <= '9') {
      cr_assert_eq(atoi(line), expect, "log.csv: row for step %d where step %d was expected",
                   atoi(line), expect);
      expect++;
    }
  cr_assert_eq(expect, 201);
  free(rows);
}

// ---- the NaN guard ----

// SGD with lr 10 and weight decay 1 multiplies the weights by -9 each step until they overflow.
// The run stops with exit 1, names the op that made the first non-finite value, and leaves the
// last good checkpoint as it was (same bytes) with nothing written after it.
Test(trainer, nan_guard_names_the_op_and_keeps_the_checkpoint) {
  const char *cfg = gwr_config("nan");
  const char *run = gwr_path("nan");
  const char *log1 = gwr_path("nan-1.log");
  int rc = gwr_run(log1, "train", cfg, "--out", run, "--quiet", "--stop-after", "3",
                   "train.optimizer=sgd", "train.lr=10", "train.weight_decay=1",
                   "train.schedule=constant", "train.steps=300", "train.ckpt_every=1000",
                   "train.eval_every=0", NULL);
  cr_assert_eq(rc, 130, "the first 3 steps: exit %d; see %s", rc, log1);
  char good[1200];
  snprintf(good, sizeof good, "%s/ckpt/step_3.h5", run);
  size_t n_before;
  char *before = gwr_read(good, &n_before);
  cr_assert(before, "no checkpoint at step 3");

  const char *log2 = gwr_path("nan-2.log");
  rc = gwr_run(log2, "train", "--resume", run, NULL);
  cr_assert_eq(rc, 1, "the run that blows up: exit %d (want 1); see %s", rc, log2);
  char *out = gwr_read(log2, NULL);
  cr_assert(strstr(out, "anomaly: the op '") || strstr(out, "anomaly: the backward of '"),
            "the message names no op:\n%s", out);
  cr_assert(strstr(out, "is not finite"), "%s", out);
  cr_assert(strstr(out, "The last good checkpoint is kept:") && strstr(out, "step_3.h5"), "%s",
            out);
  cr_assert(strstr(out, "HINT:"), "%s", out);
  free(out);
  size_t n_after;
  char *after = gwr_read(good, &n_after);
  cr_assert(after && n_after == n_before && !memcmp(before, after, n_before),
            "the last good checkpoint changed");
  free(before);
  free(after);
  cr_assert_eq(newest_step(run), 3, "no checkpoint was written after the good one");
  // the report shows the curve that blew up
  char report[1200];
  snprintf(report, sizeof report, "%s/report.html", run);
  cr_assert(gwr_exists(report), "the failed run wrote no report");
}

// ---- the files of a run ----

// A finished run: the resolved config printed at the start and saved in config.yaml and in
// every checkpoint; the last keep_last step checkpoints and best.h5 (the best evaluation);
// log.csv with a row per step and its loss terms; metrics.jsonl with a row per evaluation and
// split; metrics-SPLIT.json; report.html and the sample pictures.
Test(trainer, run_directory_contents) {
  const char *cfg = gwr_config("files");
  const char *run = gwr_path("files");
  const char *log = gwr_path("files.log");
  int rc = gwr_run(log, "train", cfg, "--out", run, "data.eval_splits=test,val", NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  char path[1200];
  snprintf(path, sizeof path, "%s/config.yaml", run);
  char *yaml = gwr_read(path, NULL);
  cr_assert(yaml && strstr(yaml, "eval_splits: \"test,val\"") && strstr(yaml, "lr: 3e-3") &&
                strstr(yaml, "beta2: 0.999"),
            "config.yaml is not the resolved config:\n%s", yaml);
  char printed[8192];
  snprintf(printed, sizeof printed, "# resolved config\n%s", yaml);
  GWR_ASSERT_FILE_HAS(log, printed);

  char names[2000];
  ckpt_names(run, names, sizeof names);
  cr_assert_str_eq(names, "best.h5 step_50.h5 step_60.h5", "ckpt/ holds: %s", names);
  static const char *const cks[] = {"best.h5", "step_50.h5", "step_60.h5"};
  for (int k = 0; k < 3; k++) {
    snprintf(path, sizeof path, "%s/ckpt/%s", run, cks[k]);
    char *stored = gw_ckpt_config(path);
    cr_assert(stored && !strcmp(stored, yaml), "%s holds another config", cks[k]);
    free(stored);
  }

  // log.csv: the header (a column per loss term), then steps 1..60 with the cross-entropy term
  // equal to the loss
  snprintf(path, sizeof path, "%s/log.csv", run);
  char *csv = gwr_read(path, NULL);
  static const char header[] = "step,loss,loss_ce,lr,grad_norm,seconds\n";
  cr_assert(!strncmp(csv, header, strlen(header)), "log.csv header:\n%.80s", csv);
  int step = 0;
  for (char *line = strtok(csv + strlen(header), "\n"); line; line = strtok(NULL, "\n")) {
    int s;
    char loss[32], term[32];
    double lr, gnorm, secs;
    cr_assert_eq(
        sscanf(line, "%d,%31[^,],%31[^,],%lf,%lf,%lf", &s, loss, term, &lr, &gnorm, &secs), 6,
        "log.csv row: %s", line);
    cr_assert_eq(s, ++step);
    cr_assert_str_eq(term, loss, "step %d: the one loss term is the loss", s);
    cr_assert(lr > 0 && gnorm > 0 && secs >= 0, "step %d: %s", s, line);
  }
  cr_assert_eq(step, 60);
  free(csv);

  // metrics.jsonl: evaluations at steps 20 and 40 and the final one, for both splits
  snprintf(path, sizeof path, "%s/metrics.jsonl", run);
  char *jsonl = gwr_read(path, NULL);
  int rows = 0;
  double best = -1;
  long best_at = -1;
  for (char *line = strtok(jsonl, "\n"); line; line = strtok(NULL, "\n"), rows++) {
    json_t *o = json_loads(line, 0, NULL);
    cr_assert(o, "metrics.jsonl row %d is not JSON: %s", rows, line);
    long s = (long)json_integer_value(json_object_get(o, "step"));
    const char *split = json_string_value(json_object_get(o, "split"));
    cr_assert_eq(s, 20 * (rows / 2 + 1), "row %d: step %ld", rows, s);
    cr_assert_str_eq(split, rows % 2 ? "val" : "test");
    cr_assert(json_is_number(json_object_get(o, "top1")), "row %d has no top1", rows);
    double top1 = json_number_value(json_object_get(o, "top1"));
    if (rows % 2 == 0 && top1 > best) best = top1, best_at = s;  // best.h5 follows the first split
    json_decref(o);
  }
  cr_assert_eq(rows, 6);
  free(jsonl);
  snprintf(path, sizeof path, "%s/ckpt/best.h5", run);
  cr_assert_eq(gwr_ckpt_attr(path, "best_step"), best_at,
               "best.h5 is from step %lld, the best test top1 was at step %ld",
               (long long)gwr_ckpt_attr(path, "best_step"), best_at);
  cr_assert_eq(gwr_ckpt_attr(path, "step"), best_at);

  static const char *const splits[] = {"test", "val"};
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/metrics-%s.json", run, splits[k]);
    json_t *m = json_load_file(path, 0, NULL);
    cr_assert(m, "%s is missing or not JSON", path);
    cr_assert_eq(json_integer_value(json_object_get(m, "step")), 60);
    cr_assert(json_is_number(json_object_get(m, "top1")), "%s has no top1", path);
    json_decref(m);
  }
  snprintf(path, sizeof path, "%s/report.html", run);
  cr_assert(gwr_exists(path), "no report.html");
  snprintf(path, sizeof path, "%s/vis", run);
  struct dirent **list;
  int n = scandir(path, &list, NULL, alphasort), pngs = 0;
  cr_assert(n >= 0, "no vis/ directory");
  for (int i = 0; i < n; i++) {
    pngs += strstr(list[i]->d_name, ".png") != NULL;
    free(list[i]);
  }
  free(list);
  cr_assert_eq(pngs, 8, "%d sample pictures", pngs);
  free(yaml);
}

// A missing shapes-world data set is generated first (data.preset), then used.
Test(trainer, missing_preset_data_is_generated) {
  const char *cfg = gwr_config("gen");
  char dir[1100], over[1200];
  snprintf(dir, sizeof dir, "%s", gwr_path("generated/data"));
  snprintf(over, sizeof over, "data.dir=%s", dir);
  const char *o[] = {over, "data.preset=tiny", "train.steps=2", "train.eval_every=0"};
  cr_assert_eq(train(cfg, gwr_path("gen"), NULL, false, 4, o), 0, "%s", gw_last_error());
  char meta[1200];
  snprintf(meta, sizeof meta, "%s/meta.json", dir);
  cr_assert(gwr_exists(meta), "the data set was not generated into %s", dir);
}

// ---- --init-from and --resume ----

// --init-from loads weights by name into a new run: with lr 0 the new run's weights stay those
// of the checkpoint, although its own seed would have drawn others; a model with an extra stage
// takes the matching tensors and keeps its own initialisation for the rest (and says which).
Test(trainer, init_from_loads_by_name) {
  const char *cfg = gwr_config("init");
  const char *x = gwr_path("init-X");
  const char *o20[] = {"train.steps=20"};
  cr_assert_eq(train(cfg, x, NULL, false, 1, o20), 0, "%s", gw_last_error());
  char src[1200];
  snprintf(src, sizeof src, "%s/ckpt/step_20.h5", x);
  const char *frozen[] = {"train.steps=1", "train.lr=0", "train.seed=7", "train.eval_every=0"};
  cr_assert_eq(train(cfg, gwr_path("init-Y"), src, false, 4, frozen), 0, "%s", gw_last_error());
  cr_assert_eq(train(cfg, gwr_path("init-W"), NULL, false, 4, frozen), 0, "%s", gw_last_error());
  char y[1200], w[1200];
  snprintf(y, sizeof y, "%s/ckpt/step_1.h5", gwr_path("init-Y"));
  snprintf(w, sizeof w, "%s/ckpt/step_1.h5", gwr_path("init-W"));
  gw_h5 *fx = gw_h5_open(src), *fy = gw_h5_open(y), *fw = gw_h5_open(w);
  cr_assert(fx && fy && fw, "%s", gw_last_error());
  static const char *const learned[] = {"params/conv.0.weight", "params/conv.1.weight",
                                        "params/bn.1.weight",   "params/bn.1.bias",
                                        "params/fc.weight",     "params/fc.bias"};
  for (int k = 0; k < 6; k++) {
    int64_t n1, n2, n3;
    double *vx = gwr_array(fx, learned[k], &n1), *vy = gwr_array(fy, learned[k], &n2),
           *vw = gwr_array(fw, learned[k], &n3);
    cr_assert(n1 == n2 && !memcmp(vx, vy, (size_t)n1 * sizeof *vx), "%s was not loaded",
              learned[k]);
    if (strstr(learned[k], "weight") && strstr(learned[k], "conv"))
      cr_assert(memcmp(vx, vw, (size_t)n1 * sizeof *vx), "%s: seed 7 draws the same weights?",
                learned[k]);
    free(vx);
    free(vy);
    free(vw);
  }
  gw_h5_close(fx);
  gw_h5_close(fy);
  gw_h5_close(fw);

  // one more stage: conv.2 and bn.2 are not in the checkpoint and keep their initialisation
  const char *log = gwr_path("init-Z.log");
  int rc = gwr_run(log, "train", cfg, "--out", gwr_path("init-Z"), "--init-from", src,
                   "model.channels=8,16,16", "train.steps=1", "train.lr=0", "train.seed=7",
                   "train.eval_every=0", NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  GWR_ASSERT_FILE_HAS(log, "init: conv.2.weight is not in ");
  GWR_ASSERT_FILE_HAS(log, "it keeps its initialisation");
  char z[1200];
  snprintf(z, sizeof z, "%s/ckpt/step_1.h5", gwr_path("init-Z"));
  fx = gw_h5_open(src);
  gw_h5 *fz = gw_h5_open(z);
  int64_t n1, n2;
  double *vx = gwr_array(fx, "params/conv.1.weight", &n1),
         *vz = gwr_array(fz, "params/conv.1.weight", &n2);
  cr_assert(n1 == n2 && !memcmp(vx, vz, (size_t)n1 * sizeof *vx), "conv.1.weight was not loaded");
  free(vx);
  free(vz);
  gw_h5_close(fx);
  gw_h5_close(fz);

  // the config key train.init_from does what --init-from does; a missing file is named with it
  char set[1300];
  snprintf(set, sizeof set, "train.init_from=%s", src);
  const char *by_key[] = {"train.steps=1", "train.lr=0", "train.seed=7", "train.eval_every=0", set};
  cr_assert_eq(train(cfg, gwr_path("init-V"), NULL, false, 5, by_key), 0, "%s", gw_last_error());
  char v[1200];
  snprintf(v, sizeof v, "%s/ckpt/step_1.h5", gwr_path("init-V"));
  fx = gw_h5_open(src);
  gw_h5 *fv = gw_h5_open(v);
  vx = gwr_array(fx, "params/conv.0.weight", &n1);
  double *vv = gwr_array(fv, "params/conv.0.weight", &n2);
  cr_assert(n1 == n2 && !memcmp(vx, vv, (size_t)n1 * sizeof *vx), "train.init_from was not loaded");
  free(vx);
  free(vv);
  gw_h5_close(fx);
  gw_h5_close(fv);
  const char *missing[] = {"train.steps=1", "train.init_from=no/such/run/best.h5"};
  cr_assert_neq(train(cfg, gwr_path("init-U"), NULL, false, 2, missing), 0);
  cr_assert(strstr(gw_last_error(), "train.init_from no/such/run/best.h5") &&
                strstr(gw_last_error(), "train the run it names first"),
            "%s", gw_last_error());
}

// --resume continues a run with its own config: a config file, overrides or --init-from with it
// are refused, as is a directory with nothing to resume.
Test(trainer, resume_refuses_what_it_cannot_honour) {
  const char *cfg = gwr_config("refuse");
  const char *run = gwr_path("refuse");
  const char *o10[] = {"train.steps=10", "train.eval_every=0"};
  cr_assert_eq(train(cfg, run, NULL, false, 2, o10), 0, "%s", gw_last_error());
  char ck[1200];
  snprintf(ck, sizeof ck, "%s/ckpt/step_10.h5", run);

  gw_train_opts o = {.resume = run, .init_from = ck, .quiet = true};
  cr_assert_eq(gw_train_main(&o), 1);
  cr_assert(strstr(gw_last_error(), "--resume and --init-from cannot be combined"), "%s",
            gw_last_error());
  const char *lr[] = {"train.lr=1e-2"};
  o = (gw_train_opts){.resume = run, .quiet = true, .n_overrides = 1, .overrides = (char **)lr};
  cr_assert_eq(gw_train_main(&o), 1);
  cr_assert(strstr(gw_last_error(), "key=value overrides cannot be combined"), "%s",
            gw_last_error());
  o = (gw_train_opts){.resume = run, .config = cfg, .quiet = true};
  cr_assert_eq(gw_train_main(&o), 1);
  cr_assert(strstr(gw_last_error(), "a config file or key=value"), "%s", gw_last_error());
  // through the command line too
  const char *log = gwr_path("refuse.log");
  cr_assert_eq(gwr_run(log, "train", "--resume", run, "--init-from", ck, NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "cannot be combined");
  // nothing to resume
  const char *empty = gwr_path("refuse-empty");
  mkdir(empty, 0755);
  o = (gw_train_opts){.resume = empty, .quiet = true};
  cr_assert_eq(gw_train_main(&o), 1);
  cr_assert(strstr(gw_last_error(), "config.yaml: cannot open the config"), "%s", gw_last_error());
  char from[1300], to[1300];
  snprintf(from, sizeof from, "%s/config.yaml", run);
  snprintf(to, sizeof to, "%s/config.yaml", empty);
  cr_assert_eq(rename(from, to), 0);
  o = (gw_train_opts){.resume = empty, .quiet = true};
  cr_assert_eq(gw_train_main(&o), 1);
  cr_assert(strstr(gw_last_error(), "no checkpoint to resume from"), "%s", gw_last_error());
}

// ---- bad input ----

// Writes a checkpoint of tensors with other names (another model's), claiming `model`.
static void write_foreign_checkpoint(const char *path, const char *model) {
  gw_h5 *f = gw_h5_create(path);
  cr_assert(f, "%s", gw_last_error());
  gw_tensor *t = gw_zeros(GW_F32, GW_SHAPE(4, 3));
  cr_assert_eq(gw_h5_write_tensor(f, "params/visual.stem.weight", t), 0);
  cr_assert_eq(gw_h5_write_tensor(f, "params/text.embed.weight", t), 0);
  cr_assert_eq(gw_h5_set_attr_str(f, "", "model", model), 0);
  cr_assert_eq(gw_h5_close(f), 0, "%s", gw_last_error());
}

// Each kind of bad input stops with exit 1 and a message naming the file, line or key.
Test(trainer, bad_input_is_a_clear_error) {
  const char *log = gwr_path("bad.log");
  // a config file that is not there
  cr_assert_eq(gwr_run(log, "train", gwr_path("nowhere.yaml"), "--quiet", NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "nowhere.yaml: cannot open the config");
  // YAML syntax
  const char *syn = gwr_path("syntax.yaml");
  gwr_write(syn, "model:\n  name: small_cnn\ntrain: [1, 2\n");
  cr_assert_eq(gwr_run(log, "train", syn, "--quiet", NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "syntax.yaml:4:");
  // an unknown key, in the file and on the command line
  const char *typo = gwr_path("typo.yaml");
  gwr_write(typo, "model:\n  name: small_cnn\ntrain:\n  learning_rate: 0.1\n");
  cr_assert_eq(gwr_run(log, "train", typo, "--quiet", NULL), 1);
  GWR_ASSERT_FILE_HAS(log,
                      "typo.yaml:4: unknown key 'train.learning_rate' (did you mean 'train.lr'?)");
  const char *cfg = gwr_config("bad");
  cr_assert_eq(gwr_run(log, "train", cfg, "--quiet", "train.stepz=3", NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "command line: unknown key 'train.stepz' (did you mean 'train.steps'?)");
  // an unknown model
  cr_assert_eq(gwr_run(log, "train", cfg, "--quiet", "model.name=resnet9000", NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "unknown model 'resnet9000' (known: ");

  // a data set that is not there, with no preset to generate: no run directory is made
  char over[1200];
  snprintf(over, sizeof over, "data.dir=%s", gwr_path("no-such-data"));
  const char *o[] = {over, "data.preset=none"};
  const char *out = gwr_path("bad-nodata");
  cr_assert_eq(train(cfg, out, NULL, false, 2, o), 1);
  cr_assert(strstr(gw_last_error(), "no-such-data: no data set here (no meta.json)"), "%s",
            gw_last_error());
  cr_assert(!gwr_exists(out), "a run directory was made for a run that could not start");

  // a checkpoint of another model: --init-from and gw eval
  const char *foreign = gwr_path("foreign.h5");
  write_foreign_checkpoint(foreign, "laconvnet");
  cr_assert_eq(train(cfg, gwr_path("bad-foreign"), foreign, false, 0, NULL), 1);
  cr_assert(strstr(gw_last_error(), "no tensor of the checkpoint matches this model's names"), "%s",
            gw_last_error());
  cr_assert_eq(gwr_run(log, "eval", foreign, NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "gw eval: ");

  // a checkpoint of the same model in another shape: --init-from and gw eval
  const char *o10[] = {"train.steps=10", "train.eval_every=0"};
  const char *small = gwr_path("bad-small");
  cr_assert_eq(train(cfg, small, NULL, false, 2, o10), 0, "%s", gw_last_error());
  char ck[1200];
  snprintf(ck, sizeof ck, "%s/ckpt/step_10.h5", small);
  const char *wide[] = {"model.channels=8,32"};
  cr_assert_eq(train(cfg, gwr_path("bad-wide"), ck, false, 1, wide), 1);
  cr_assert(strstr(gw_last_error(), "shape mismatch: conv.1.weight"), "%s", gw_last_error());
  // the same tensors under a config that says another shape: gw eval lists what does not fit
  gw_config c;
  const gw_model_ops *ops;
  cr_assert_eq(gw_train_load_config(&c, cfg, 1, (char **)wide, &ops), 0, "%s", gw_last_error());
  char *wide_yaml = gw_config_to_yaml(&c);
  gw_config_free(&c);
  gw_nn nn;
  gw_nn_init(&nn, 1);
  gw_h5 *f = gw_h5_open(ck);
  gw_config small_cfg;
  char *small_yaml = gw_h5_get_attr_str(f, "", "config");
  gw_h5_close(f);
  cr_assert_eq(gw_train_load_config_string(&small_cfg, small_yaml, "ckpt", &ops), 0, "%s",
               gw_last_error());
  gw_model_info info = {.image_size = 64, .n_classes = 6};
  void *model = ops->create(&nn, &small_cfg, &info);
  const char *mismatch = gwr_path("mismatch.h5");
  gw_train_state st = {.step = 10, .best_value = -1, .best_step = -1};
  gw_ckpt_meta meta = {.config_yaml = wide_yaml, .model_name = "small_cnn"};
  cr_assert_eq(gw_ckpt_save(mismatch, &nn, NULL, NULL, &st, &meta), 0, "%s", gw_last_error());
  ops->destroy(model);
  gw_nn_free(&nn);
  gw_config_free(&small_cfg);
  free(small_yaml);
  free(wide_yaml);
  cr_assert_eq(gwr_run(log, "eval", mismatch, "--split", "test", NULL), 1);
  GWR_ASSERT_FILE_HAS(log,
                      "shape mismatch: conv.1.weight is (16, 8, 3, 3) in the file, (32, 8, 3, 3) "
                      "in the model");
  // not a checkpoint at all
  cr_assert_eq(gwr_run(log, "eval", cfg, NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "gw eval: ");
}

// A run directory that holds a run is refused (a different config, or the same one with
// checkpoints: --resume is the way on), and nothing in it changes. --force keeps the old run:
// all its files move into old-<time>/, byte for byte, and a second --force keeps both.
Test(trainer, run_directory_of_another_run) {
  const char *cfg = gwr_config("rundir");
  const char *run = gwr_path("rundir");
  const char *o20[] = {"train.steps=20"};
  cr_assert_eq(train(cfg, run, NULL, false, 1, o20), 0, "%s", gw_last_error());
  static const char *const files[] = {"config.yaml",       "log.csv",      "metrics.jsonl",
                                      "metrics-test.json", "report.html",  "ckpt/step_10.h5",
                                      "ckpt/step_20.h5",   "ckpt/best.h5", "vis"};
  enum { N_FILES = sizeof files / sizeof files[0] };
  char *before[N_FILES];
  size_t len[N_FILES];
  char path[1300];
  for (int k = 0; k < N_FILES; k++) {
    snprintf(path, sizeof path, "%s/%s", run, files[k]);
    cr_assert(gwr_exists(path), "the run has no %s", files[k]);
    before[k] = k < N_FILES - 1 ? gwr_read(path, &len[k]) : NULL;
  }

  const char *other[] = {"train.steps=20", "train.lr=0.01"};
  cr_assert_eq(train(cfg, run, NULL, false, 2, other), 1);
  cr_assert(strstr(gw_last_error(), "already holds a run with a different config"), "%s",
            gw_last_error());
  cr_assert(strstr(gw_last_error(), "--force"), "%s", gw_last_error());
  cr_assert_eq(train(cfg, run, NULL, false, 1, o20), 1);
  cr_assert(strstr(gw_last_error(), "already holds a run of this config"), "%s", gw_last_error());
  cr_assert(strstr(gw_last_error(), "--resume"), "%s", gw_last_error());
  for (int k = 0; k < N_FILES - 1; k++) {
    snprintf(path, sizeof path, "%s/%s", run, files[k]);
    size_t n;
    char *now = gwr_read(path, &n);
    cr_assert(now && n == len[k] && !memcmp(now, before[k], n), "%s changed", files[k]);
    free(now);
  }

  // --force, twice: each old run in its own old-* directory, intact
  cr_assert_eq(train(cfg, run, NULL, true, 2, other), 0, "%s", gw_last_error());
  const char *third[] = {"train.steps=20", "train.lr=0.02"};
  cr_assert_eq(train(cfg, run, NULL, true, 2, third), 0, "%s", gw_last_error());
  struct dirent **list;
  int n = scandir(run, &list, NULL, alphasort), olds = 0;
  char first_old[1300] = "";
  for (int i = 0; i < n; i++) {
    if (!strncmp(list[i]->d_name, "old-", 4)) {
      if (!olds) snprintf(first_old, sizeof first_old, "%s/%s", run, list[i]->d_name);
      olds++;
    }
    free(list[i]);
  }
  free(list);
  cr_assert_eq(olds, 2, "%d old-* directories, want 2", olds);
  // the first old-* (by name: the older one) holds the first run, every file as it was
  for (int k = 0; k < N_FILES; k++) {
    snprintf(path, sizeof path, "%s/%s", first_old, files[k]);
    cr_assert(gwr_exists(path), "%s was not kept", path);
    if (k == N_FILES - 1) continue;
    size_t m;
    char *kept = gwr_read(path, &m);
    cr_assert(kept && m == len[k] && !memcmp(kept, before[k], m), "%s changed on the way", path);
    free(kept);
    free(before[k]);
  }
  snprintf(path, sizeof path, "%s/config.yaml", run);
  GWR_ASSERT_FILE_HAS(path, "lr: 0.02");
}

// ---- the trainer's keys ----

// The values of one log.csv column (by its header name) for every step; the count.
static int log_column(const char *run, const char *column, double *out, int max) {
  char path[1200];
  snprintf(path, sizeof path, "%s/log.csv", run);
  char *csv = gwr_read(path, NULL);
  cr_assert(csv, "cannot read %s", path);
  int col = -1, n = 0;
  char *save = NULL;
  for (char *line = strtok_r(csv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (col < 0) {  // the header
      int k = 0;
      for (char *p = line; p; p = strchr(p, ','), p = p ? p + 1 : p, k++)
        if (!strncmp(p, column, strlen(column)) && (p[strlen(column)] == ',' || !p[strlen(column)]))
          col = k;
      cr_assert_geq(col, 0, "log.csv has no column %s: %s", column, line);
      continue;
    }
    char *p = line;
    for (int k = 0; k < col && p; k++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    cr_assert(p, "a short log.csv row: %s", line);
    if (n < max) out[n] = strtod(p, NULL);
    n++;
  }
  free(csv);
  return n;
}

// One tensor of a checkpoint (the caller frees it).
static double *ckpt_tensor(const char *ck, const char *name, int64_t *n) {
  gw_h5 *f = gw_h5_open(ck);
  cr_assert(f, "%s", gw_last_error());
  double *v = gwr_array(f, name, n);
  gw_h5_close(f);
  return v;
}

// train.epochs sets the length from the training split (tiny sw-shape: 120 images, batches of
// 16: 7 full batches an epoch); train.accum takes that many batches per step (the data cursor
// moves by batch x accum); a step schedule with warm-up gives each step's lr in log.csv.
Test(trainer, epochs_accumulation_and_schedules) {
  const char *cfg = gwr_config("keys");
  const char *epochs[] = {"train.epochs=2", "train.eval_every=0"};
  const char *e = gwr_path("keys-epochs");
  cr_assert_eq(train(cfg, e, NULL, false, 2, epochs), 0, "%s", gw_last_error());
  char ck[1200];
  snprintf(ck, sizeof ck, "%s/log.csv", e);
  cr_assert_eq(gwr_count_rows(ck), 14, "2 epochs of 7 steps");

  const char *accum[] = {"train.steps=3", "train.batch_size=8", "train.accum=2",
                         "train.eval_every=0"};
  const char *a = gwr_path("keys-accum");
  cr_assert_eq(train(cfg, a, NULL, false, 4, accum), 0, "%s", gw_last_error());
  snprintf(ck, sizeof ck, "%s/ckpt/step_3.h5", a);
  cr_assert_eq(gwr_ckpt_attr(ck, "data_position"), 3 * 8 * 2, "3 steps of 2 batches of 8");
  cr_assert_eq(gwr_ckpt_attr(ck, "data_epoch"), 0);
  cr_assert_eq(gwr_ckpt_attr(ck, "schedule_total_steps"), 3);

  // lr of step t (0-based) = 0.01 x 0.5^floor(t / 4) x min(1, (t + 1) / 2)
  const char *sched[] = {"train.steps=10", "train.lr=0.01", "train.schedule=step",
                         "train.step_size=4", "train.gamma=0.5", "train.warmup_steps=2",
                         "train.eval_every=0"};
  const char *s = gwr_path("keys-sched");
  cr_assert_eq(train(cfg, s, NULL, false, 7, sched), 0, "%s", gw_last_error());
  double lr[16];
  cr_assert_eq(log_column(s, "lr", lr, 16), 10);
  for (int t = 0; t < 10; t++) {
    double want = 0.01 * pow(0.5, t / 4) * (t < 2 ? (t + 1) / 2.0 : 1.0);
    cr_assert_float_eq(lr[t], want, 1e-6 * want, "step %d: lr %g, want %g", t + 1, lr[t], want);
  }
}

// Parameter groups: a group with lr 0 keeps its tensors at their initialisation while the rest
// learn. Gradient clipping: one plain SGD step of lr 1 with the norm clipped to 1e-3 moves the
// parameters by exactly 1e-3 (L2 over all of them), and log.csv keeps the norm before clipping.
// Seeds: another seed, other numbers.
Test(trainer, groups_clipping_and_seeds) {
  const char *cfg = gwr_config("groups");
  const char *init[] = {"train.steps=1", "train.lr=0", "train.eval_every=0"};
  const char *i = gwr_path("groups-init");
  cr_assert_eq(train(cfg, i, NULL, false, 3, init), 0, "%s", gw_last_error());
  const char *frozen[] = {"train.steps=5", "train.groups.0.prefix=fc", "train.groups.0.lr=0",
                          "train.eval_every=0"};
  const char *g = gwr_path("groups-fc");
  const char *log = gwr_path("groups-fc.log");
  int rc = gwr_run(log, "train", cfg, "--out", g, frozen[0], frozen[1], frozen[2], frozen[3], NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  GWR_ASSERT_FILE_HAS(log, "learning rates: decay 0.003, no_decay 0.003, fc 0, fc_no_decay 0;");
  char a[1200], b[1200];
  snprintf(a, sizeof a, "%s/ckpt/step_1.h5", i);
  snprintf(b, sizeof b, "%s/ckpt/step_5.h5", g);
  static const char *const names[] = {"params/fc.weight", "params/fc.bias", "params/conv.0.weight"};
  for (int k = 0; k < 3; k++) {
    int64_t n1, n2;
    double *x = ckpt_tensor(a, names[k], &n1), *y = ckpt_tensor(b, names[k], &n2);
    bool same = n1 == n2 && !memcmp(x, y, (size_t)n1 * sizeof *x);
    cr_assert(k < 2 ? same : !same, "%s %s its initialisation", names[k],
              same ? "kept" : "left");
    free(x);
    free(y);
  }

  const char *clip[] = {"train.steps=1",          "train.optimizer=sgd",   "train.momentum=0",
                        "train.lr=1",             "train.schedule=constant", "train.warmup_steps=0",
                        "train.clip_grad=1e-3",   "train.eval_every=0"};
  const char *c = gwr_path("groups-clip");
  cr_assert_eq(train(cfg, c, NULL, false, 8, clip), 0, "%s", gw_last_error());
  snprintf(b, sizeof b, "%s/ckpt/step_1.h5", c);
  static gwr_names all;
  gwr_list(a, &all);
  double moved = 0.0;
  for (int k = 0; k < all.n; k++) {
    if (strncmp(all.name[k], "params/", 7) || strstr(all.name[k], "running_")) continue;
    int64_t n1, n2;
    double *x = ckpt_tensor(a, all.name[k], &n1), *y = ckpt_tensor(b, all.name[k], &n2);
    for (int64_t j = 0; j < n1; j++) moved += (y[j] - x[j]) * (y[j] - x[j]);
    free(x);
    free(y);
  }
  cr_assert_float_eq(sqrt(moved), 1e-3, 1e-8, "the step moved the parameters by %.9g", sqrt(moved));
  double norm[2];
  cr_assert_eq(log_column(c, "grad_norm", norm, 2), 1);
  cr_assert_gt(norm[0], 1e-2, "log.csv holds the norm before clipping: %g", norm[0]);

  const char *seed2[] = {"train.steps=1", "train.lr=0", "train.eval_every=0", "train.seed=2"};
  const char *s2 = gwr_path("groups-seed2");
  cr_assert_eq(train(cfg, s2, NULL, false, 4, seed2), 0, "%s", gw_last_error());
  double l1[2], l2[2];
  log_column(i, "loss", l1, 2);
  log_column(s2, "loss", l2, 2);
  cr_assert_neq(l1[0], l2[0], "seeds 1 and 2 gave the same first loss");
}

// Few-shot classification follows CoOp: data.shots = K keeps K training images per class and
// min(K, 4) validation images per class; the test split stays whole (tiny: 10 per class).
Test(trainer, fewshot_protocol_splits) {
  const char *cfg = gwr_config("shots");
  const char *o[] = {"train.steps=2", "train.batch_size=4", "data.shots=2",
                     "data.eval_splits=val,test", "train.eval_every=0"};
  const char *run = gwr_path("shots");
  const char *log = gwr_path("shots.log");
  int rc = gwr_run(log, "train", cfg, "--out", run, o[0], o[1], o[2], o[3], o[4], NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  GWR_ASSERT_FILE_HAS(log, "(12 training samples of 64x64)");
  char path[1200];
  snprintf(path, sizeof path, "%s/metrics-val.json", run);
  GWR_ASSERT_FILE_HAS(path, "\"samples\": 12,\n");
  snprintf(path, sizeof path, "%s/metrics-test.json", run);
  GWR_ASSERT_FILE_HAS(path, "\"samples\": 60,\n");
}

// ---- what the run prints ----

// Reads everything a child writes to the pty master until it exits.
static char *read_pty(int fd, pid_t pid, int *status) {
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  for (;;) {
    if (len + 4096 > cap) out = realloc(out, cap *= 2);
    ssize_t n = read(fd, out + len, 4096);
    if (n <= 0) break;  // EIO once the child has closed the terminal
    len += (size_t)n;
  }
  out[len] = '\0';
  waitpid(pid, status, 0);
  return out;
}

// At the start: the resolved config, the thread count, the effective batch and the learning
// rates. On a terminal the progress is one line redrawn in place (step, loss, lr, images/s,
// peak memory, ETA); into a file or pipe it is a plain line every train.log_every steps.
Test(trainer, progress_line_on_a_terminal_plain_lines_elsewhere) {
  const char *cfg = gwr_config("tty");
  const char *run = gwr_path("tty");
  int master;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = forkpty(&master, NULL, NULL, NULL);
  cr_assert(pid >= 0, "forkpty: %s", strerror(errno));
  if (pid == 0) {
    execl(gwr_gw(), gwr_gw(), "train", cfg, "--out", run, "train.steps=12", "train.accum=2",
          "train.eval_every=0", (char *)NULL);
    _exit(127);
  }
  int status;
  char *out = read_pty(master, pid, &status);
  close(master);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the run failed:\n%s", out);
  cr_assert(strstr(out, "# resolved config"), "%s", out);
  cr_assert(strstr(out, "threads 1; batch 16 x accum 2 = effective batch 32; 12 steps; seed 1"),
            "%s", out);
  cr_assert(strstr(out, "optimizer adam, learning rates: decay 0.003, no_decay 0.003;"), "%s", out);
  int redrawn = 0;
  for (const char *p = out; (p = strstr(p, "\r\033[Kstep ")); p++) {
    int step, total;
    char rest[300];
    cr_assert_eq(sscanf(p, "\r\033[Kstep %d/%d  loss %*f  lr %*g  %*f images/s  data %*f ms/batch  "
                           "peak mem %*f MiB  eta %299s", &step, &total, rest), 3,
                 "a progress line without every field: %.200s", p);
    redrawn++;
  }
  cr_assert_eq(redrawn, 12, "%d progress lines redrawn in place, want one per step", redrawn);
  free(out);

  const char *log = gwr_path("plain.log");
  int rc = gwr_run(log, "train", cfg, "--out", gwr_path("plain"), "train.steps=12",
                   "train.log_every=4", "train.eval_every=0", NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  char *plain = gwr_read(log, NULL);
  cr_assert(!strchr(plain, '\r'), "a carriage return in a plain log");
  int lines = 0;
  for (const char *p = plain; (p = strstr(p, "\nstep ")); p++) {
    int step;
    cr_assert_eq(sscanf(p, "\nstep %d/12  loss %*f  lr %*g  %*f images/s", &step), 1, "%.200s", p);
    cr_assert_eq(step, 4 * (lines + 1), "a plain line at step %d", step);
    lines++;
  }
  cr_assert_eq(lines, 3, "%d plain lines, want 3 (steps 4, 8, 12):\n%s", lines, plain);
  free(plain);
}

// ---- resume: the newest checkpoint that reads back, of this run ----

// A stopped run whose newest checkpoint is damaged resumes from the one before (saying so) and
// still ends bit-identical to an uninterrupted run. A config.yaml edited since the checkpoint
// (here: another lr) is refused, naming the key, and nothing in the run changes.
Test(trainer, resume_skips_a_damaged_checkpoint_and_refuses_an_edited_config) {
  const char *cfg = gwr_config("damaged");
  const char *whole = gwr_path("damaged-whole"), *run = gwr_path("damaged");
  const char *o30[] = {"train.steps=30", "train.eval_every=0"};
  cr_assert_eq(train(cfg, whole, NULL, false, 2, o30), 0, "%s", gw_last_error());
  const char *log = gwr_path("damaged-1.log");
  int rc = gwr_run(log, "train", cfg, "--out", run, "--quiet", "--stop-after", "20",
                   "train.steps=30", "train.eval_every=0", NULL);
  cr_assert_eq(rc, 130, "exit %d; see %s", rc, log);
  char ck[1200];
  snprintf(ck, sizeof ck, "%s/ckpt/step_20.h5", run);
  cr_assert_eq(truncate(ck, 100), 0);  // a disk that lost the end of the file

  // config.yaml edited: refused, the logs untouched
  char yaml[1200], csv[1200];
  snprintf(yaml, sizeof yaml, "%s/config.yaml", run);
  snprintf(csv, sizeof csv, "%s/log.csv", run);
  char *orig = gwr_read(yaml, NULL), *csv_before = gwr_read(csv, NULL);
  char *edited = strdup(orig), *at = strstr(edited, "lr: 3e-3");
  cr_assert(at, "%s", orig);
  memcpy(at, "lr: 5e-3", 8);
  gwr_write(yaml, edited);
  log = gwr_path("damaged-2.log");
  cr_assert_eq(gwr_run(log, "train", "--resume", run, NULL), 1);
  GWR_ASSERT_FILE_HAS(log, "config.yaml is not the config");
  GWR_ASSERT_FILE_HAS(log, "train.lr: 3e-3 in the checkpoint, 5e-3 in config.yaml");
  char *csv_after = gwr_read(csv, NULL);
  cr_assert_str_eq(csv_after, csv_before, "log.csv changed");
  free(csv_after);
  gwr_write(yaml, orig);

  log = gwr_path("damaged-3.log");
  rc = gwr_run(log, "train", "--resume", run, NULL);
  cr_assert_eq(rc, 0, "exit %d; see %s", rc, log);
  GWR_ASSERT_FILE_HAS(log, "step_20.h5 cannot be read back");
  GWR_ASSERT_FILE_HAS(log, "resumed at step 10 ");
  char a[1200], b[1200];
  snprintf(a, sizeof a, "%s/ckpt/step_30.h5", whole);
  snprintf(b, sizeof b, "%s/ckpt/step_30.h5", run);
  gwr_assert_same_checkpoint(a, b);
  cr_assert_eq(gwr_count_rows(csv), 30);
  free(orig);
  free(edited);
  free(csv_before);
}
