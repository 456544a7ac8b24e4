#include "tensor/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

struct gw_arena_block {
  gw_arena_block *prev;
  size_t capacity;  // bytes usable in data[]
  size_t used;
  char *data;       // 64-byte aligned
};

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

static gw_arena_block *block_new(size_t capacity) {
  gw_arena_block *b = malloc(sizeof *b);
  if (!b) return NULL;
  b->prev = NULL;
  b->capacity = round_up(capacity ? capacity : GW_ALIGN, GW_ALIGN);
  b->used = 0;
  b->data = aligned_alloc(GW_ALIGN, b->capacity);
  if (!b->data) {
    free(b);
    return NULL;
  }
  return b;
}

static void block_free_chain(gw_arena_block *b) {
  while (b) {
    gw_arena_block *prev = b->prev;
    free(b->data);
    free(b);
    b = prev;
  }
}

gw_arena *gw_arena_create(const char *name, size_t initial_bytes, size_t limit) {
  gw_arena *a = calloc(1, sizeof *a);
  GW_CHECK(a, "arena '%s': out of host memory creating the arena", name);
  snprintf(a->name, sizeof a->name, "%s", name);
  a->limit = limit;
  a->head = block_new(initial_bytes);
  GW_CHECK(a->head, "arena '%s': cannot allocate %zu bytes from the system", name, initial_bytes);
  a->capacity = a->head->capacity;
  return a;
}

void gw_arena_destroy(gw_arena *a) {
  if (!a) return;
  block_free_chain(a->head);
  free(a);
}

void *gw_arena_alloc(gw_arena *a, size_t bytes, const char *what) {
  size_t need = round_up(bytes ? bytes : 1, GW_ALIGN);
  gw_arena_block *b = a->head;
  if (b->capacity - b->used < need) {
    size_t left = b->capacity - b->used;
    size_t grow = need > a->capacity ? need : a->capacity;
    if (a->limit && a->capacity + grow > a->limit) {
      grow = need;
      if (a->capacity + grow > a->limit)
        gw_fatal("%s: arena '%s' is out of memory: asked %zu bytes, %zu bytes left "
                 "(capacity %zu, limit %zu). HINT: lower the batch size or raise the arena limit",
                 what ? what : "alloc", a->name, bytes, left, a->capacity, a->limit);
    }
    gw_arena_block *nb = block_new(grow);
    GW_CHECK(nb, "%s: arena '%s' cannot grow: the system refused %zu bytes (asked %zu, %zu left)",
             what ? what : "alloc", a->name, grow, bytes, left);
    nb->prev = b;
    a->head = nb;
    a->capacity += nb->capacity;
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += need;
  a->used += need;
  if (a->used > a->peak) a->peak = a->used;
  return p;
}

void *gw_arena_calloc(gw_arena *a, size_t bytes, const char *what) {
  void *p = gw_arena_alloc(a, bytes, what);
  memset(p, 0, bytes);
  return p;
}

void gw_arena_reset(gw_arena *a) {
  if (a->head->prev) {
    // Several blocks: replace them by one block as large as all of them, so the next
    // step fits without growing.
    size_t cap = a->capacity;
    block_free_chain(a->head);
    a->head = block_new(cap);
    GW_CHECK(a->head, "arena '%s': cannot allocate %zu bytes from the system", a->name, cap);
    a->capacity = a->head->capacity;
  }
  a->head->used = 0;
  a->used = 0;
}

gw_arena_mark gw_arena_get_mark(const gw_arena *a) {
  return (gw_arena_mark){.block = a->head, .block_used = a->head->used, .used = a->used};
}

void gw_arena_rewind(gw_arena *a, gw_arena_mark m) {
  // Blocks added after the mark stay (they are merged at the next reset), but are emptied.
  for (gw_arena_block *b = a->head; b != m.block; b = b->prev) {
    GW_CHECK(b, "arena '%s': rewind to a mark from another arena or from before a reset", a->name);
    b->used = 0;
  }
  if (a->head != m.block) {
    // Keep allocating from the newest block, which is now empty.
    a->used = m.used;
    return;
  }
  m.block->used = m.block_used;
  a->used = m.used;
}

static _Thread_local gw_arena *current;

gw_arena *gw_arena_current(void) {
  GW_CHECK(current, "no current arena in this thread. HINT: call gw_init() (or "
                    "gw_arena_set_current()) before creating tensors");
  return current;
}

gw_arena *gw_arena_current_or_null(void) { return current; }

gw_arena *gw_arena_set_current(gw_arena *a) {
  gw_arena *old = current;
  current = a;
  return old;
}
