// Batches for training and evaluation, from a data set in the HDF5 layout of
// datasets/sw_generate.h (shapes world, or anything `gw data convert` imported).
//
// A split is read into memory once. Each epoch visits the samples in an order drawn from the
// seed and the epoch number alone, so a run resumed from (epoch, position) continues with the
// very batches the uninterrupted run would have seen. A prefetch thread assembles the next
// batches (with augmentation) while the current step runs; the loader reports how long the
// consumer waited for data.
#ifndef GW_LOADER_H
#define GW_LOADER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "datasets/vocab.h"
#include "tensor/rng.h"

typedef enum gw_data_task {
  GW_TASK_REC,       // one sample per sentence: image, tokens, target box, level
  GW_TASK_VQA,       // one sample per question: image, tokens, answer scores
  GW_TASK_CAPTION,   // one sample per caption: image, tokens
  GW_TASK_CLASSIFY,  // one sample per image of a few-shot set: image, label
} gw_data_task;

typedef struct gw_dataset {
  gw_data_task task;
  char path[1024];
  int64_t n_images, n_samples;
  int size;             // images are size x size x 3
  uint8_t *images;      // (n_images, size, size, 3)
  int32_t *image_of;    // sample -> image row
  int max_len;          // tokens per sample (0 for classification)
  int32_t *tokens;      // (n_samples, max_len)
  int32_t *lengths;     // (n_samples)
  float *boxes;         // REC: (n_samples, 4) x1 y1 x2 y2 pixels
  int32_t *levels;      // REC: (n_samples)
  int32_t *family;      // VQA: question family; captions: caption family
  // captions of shapes world's evaluation splits: caption j is true of the images
  // cap_true_images[cap_true_start[j] .. cap_true_start[j + 1]) (NULL: not known)
  int32_t *cap_true_start, *cap_true_images;
  int32_t *answers10;   // VQA: (n_samples, 10) answer ids
  int n_answers;        // VQA: answer vocabulary size
  int32_t *answer_type; // VQA: (n_samples) GW_ANSWER_YES_NO, _NUMBER, _OTHER, or -1 (unknown)
  int32_t *labels;      // CLASSIFY: (n_samples)
  int n_classes;
  // (n_samples, 4) x1 y1 x2 y2: what a shift or resize must keep whole for the sample's text to
  // stay true. REC: refs/context_box, every object the expression names (the target, its
  // anchors, the objects an ordinal or location counts); VQA and captions: every object of the
  // image (a count or an inventory rests on all of them); an image without object boxes
  // (converted VQA, captions, few-shot sets): the whole image, so nothing may be cut off.
  float *keep;
  // Converted data sets (gw data convert): the source image of each row, for mapping boxes back
  // (NULL for shapes world, whose images are their own source)
  int64_t *source_id;      // (n_images) the source's image id
  int32_t *source_size;    // (n_images, 2) width, height in pixels
  float *source_lb;        // (n_images, 4) scale_x, scale_y, dx, dy: x' = x * scale_x + dx
  gw_vocab vocab;
  // token ids swapped by a horizontal flip (left <-> right, leftmost <-> rightmost, ...)
  int n_flip_pairs;
  int32_t flip_pairs[16][2];
  int32_t corner_token;   // "corner": absolute image locations forbid translation (-1 if absent)
  int32_t answer_flip[2]; // VQA answers "left", "right" (-1 if absent)
  int32_t answer_vflip[2];// VQA answers "top", "bottom" (-1 if absent): with "left" and "right",
                          // the answers that name a side of the image forbid a shift
} gw_dataset;

// Loads <dir>/<split>.h5 for the task (CLASSIFY: dir is a fewshot/<task> folder, split is
// train, val or test, and the images and labels come from its images.h5). The vocabulary is
// <dir>/vocab.txt.
// -1 with gw_last_error() naming the file and array on failure.
int gw_dataset_open(gw_dataset *d, const char *dir, const char *split, gw_data_task task);
void gw_dataset_close(gw_dataset *d);
// A box x1 y1 x2 y2 in the pixels of the data set's image `image` (a row of images, e.g.
// d->image_of[sample]) -> in the pixels of its source image, undoing the letterbox of gw data
// convert (datasets/image_io.h); with clip, clipped to the source image (a prediction that
// reaches into the letterbox's pad). Shapes-world images are their own source: the box is
// copied (and clipped to the image). Evaluate REC predictions in source pixels this way, as
// SimREC and TransVG do; IoU is the same either way up to float rounding unless the box is
// clipped or the +1 (inclusive-pixel) convention is used.
void gw_dataset_box_to_source(const gw_dataset *d, int64_t image, const float in[4], bool clip,
                              float out[4]);
// CLASSIFY: keeps `shots` images per class, chosen by the seed (CoOp's few-shot protocol);
// shots <= 0 keeps them all. -1 if a class has too few.
int gw_dataset_fewshot(gw_dataset *d, int shots, uint64_t seed);

// Geometric changes never make a sample's text false: a resize and shift is drawn, then kept
// only if the sample's keep box (gw_dataset.keep) stays whole inside the image, else the sample
// is left unshifted and unscaled; a sample whose text names an absolute place (REC: a corner;
// VQA: an answer "left", "right", "top" or "bottom") is never shifted. The flip swaps the words
// (and VQA answers) "left" and "right".
typedef struct gw_augment {
  bool flip;          // horizontal flip with p = 0.5, left/right words swapped
  float scale;        // random resize by 1 +- scale about the centre (0: off); shapes world's
                      // size words are absolute (small: radius 0.07 of the image, large: 0.13),
                      // so keep this at or below 0.15 there
  float translate;    // random shift up to translate * size pixels (0: off)
  float brightness;   // multiply by 1 +- brightness
  float noise;        // add N(0, noise) per pixel, on the 0..1 scale
} gw_augment;

// One batch, in plain memory owned by the loader (valid until the next gw_loader_next).
typedef struct gw_batch {
  int n;                // samples in this batch (the last one of an epoch may be smaller)
  int size;
  float *images;        // (n, 3, size, size), pixels / 255 - 0.5
  int32_t *tokens;      // (n, max_len)
  int32_t *lengths;     // (n)
  float *boxes;         // REC: (n, 4) x1 y1 x2 y2 pixels, after augmentation
  int32_t *levels;      // REC
  float *answer_scores; // VQA: (n, n_answers) official soft score min(1, humans / 3)
  int32_t *labels;      // CLASSIFY
  float *warp;          // (n, 4) the geometry each sample got: flip (0 or 1), scale s, shift tx,
                        // ty (pixels): a source point x is mirrored first (x -> size - x) when
                        // flipped, then goes to (x - c) * s + c + tx, c = size / 2 (y likewise,
                        // without the mirror)
  int64_t *index;       // (n) sample indices
  int64_t epoch;        // the epoch this batch belongs to
} gw_batch;

typedef struct gw_loader_state {
  int64_t epoch;     // current epoch
  int64_t position;  // samples of this epoch already handed out
} gw_loader_state;

typedef struct gw_loader {
  const gw_dataset *d;
  int batch_size;
  bool shuffle, drop_last;
  uint64_t seed;
  gw_augment aug;
  gw_loader_state state;  // after the batch the consumer received last: save it to resume
  // prefetch: a ring of slots filled by a worker thread
  int n_slots;
  gw_batch *slots;
  gw_loader_state *slot_end;    // the state after each slot's batch
  int head, count;              // the oldest filled slot, and filled slots (the held one too)
  bool holding;                 // the caller holds slots[head]
  gw_loader_state produce;      // where the worker continues
  bool stop;
  pthread_t worker;
  bool has_worker;
  pthread_mutex_t mu;
  pthread_cond_t ready, space;
  int32_t *perm;                // this epoch's order (for the worker's epoch)
  int64_t perm_epoch;
  double wait_seconds, make_seconds;  // consumer waiting, worker assembling
  int64_t batches;
} gw_loader;

// Starts a loader at `start` (epoch 0, position 0 for a fresh run). prefetch = 0 assembles
// batches in the caller's thread.
int gw_loader_open(gw_loader *l, const gw_dataset *d, int batch_size, bool shuffle, bool drop_last,
                   uint64_t seed, gw_augment aug, gw_loader_state start, int prefetch);
void gw_loader_close(gw_loader *l);
// The next batch (NULL never: epochs follow one another).
const gw_batch *gw_loader_next(gw_loader *l);
// Batches per epoch.
int64_t gw_loader_batches_per_epoch(const gw_loader *l);
// Mean seconds the caller waited per batch, and the worker's mean seconds to assemble one.
double gw_loader_wait_per_batch(const gw_loader *l);
double gw_loader_make_per_batch(const gw_loader *l);

#endif
