#include "models/model.h"

#include <string.h>

void gw_terms_add(gw_loss_terms *t, const char *name, const gw_tensor *value) {
  if (t->n >= GW_MAX_TERMS) return;
  t->names[t->n] = name;
  t->values[t->n] = gw_item(value);
  t->n++;
}

void gw_inputs_from_batch(gw_inputs *in, const gw_batch *b, const gw_dataset *d) {
  memset(in, 0, sizeof *in);
  int64_t n = b->n, S = b->size;
  in->n = b->n;
  in->raw = b;
  in->images = gw_wrap(b->images, GW_F32, GW_SHAPE(n, 3, S, S));
  if (b->tokens) {
    in->tokens = gw_wrap(b->tokens, GW_I32, GW_SHAPE(n, d->max_len));
    in->lengths = gw_wrap(b->lengths, GW_I32, GW_SHAPE(n));
    in->keep = gw_empty(GW_I32, GW_SHAPE(n, d->max_len));
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < d->max_len; k++) gw_i32(in->keep)[i * d->max_len + k] = k < b->lengths[i];
  }
  if (b->boxes) in->boxes = gw_wrap(b->boxes, GW_F32, GW_SHAPE(n, 4));
  if (b->answer_scores) in->answer_scores = gw_wrap(b->answer_scores, GW_F32, GW_SHAPE(n, d->n_answers));
  if (b->labels) in->labels = gw_wrap(b->labels, GW_I32, GW_SHAPE(n));
}
