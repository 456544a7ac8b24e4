// Pictures of what a language-driven encoder did with one sample (gw predict --explain DIR),
// from the probes a model kept (models/probe.h):
//   DIR/attention.png  per block, where each word was attended from: for every word, the
//                      attention weight of every pixel query (softmax over the words, averaged
//                      over heads), laid over the image; brighter = that region read that word
//   DIR/kernels.png    per block, the k x k kernels generated at two pixels: the centre of the
//                      predicted box and the mirror point elsewhere in the image; red positive,
//                      blue negative, one scale per block
//   DIR/class_attention.png  a classifier whose class texts attend to the image (VT-CLIP):
//                      for every class, its attention over the image's tokens (averaged over
//                      heads) laid over the image; the words are then the class names
// Probes named "<block>.attention" (1, heads, queries, words; the extra int is the packing t),
// "<block>.kernels" (1, G, k*k, H, W; the extra int is k) and "<name>.class_attention"
// (1, heads, classes, tokens on a square grid) are drawn, in the order kept.
#ifndef GW_EVAL_EXPLAIN_H
#define GW_EVAL_EXPLAIN_H

#include <stdint.h>

#include "models/probe.h"

// image: the model's input (S, S, 3) uint8; words: the n_words tokens of the text; box: the
// predicted box in the image's pixels (x1 y1 x2 y2) or NULL. Returns the number of pictures
// written (0: the model kept no such probes), -1 on error (gw_last_error names the file).
int gw_explain_write(const gw_probe_set *probes, const uint8_t *image, int S,
                     const char *const *words, int n_words, const float *box, const char *dir);

#endif
