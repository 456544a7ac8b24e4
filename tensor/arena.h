// Arenas: where every tensor's memory comes from.
//
// An arena hands out 64-byte-aligned blocks by bumping a pointer and frees them all at
// once. groundwork uses two kinds:
//   - a persistent arena for parameters, their gradients and optimizer state, kept for
//     the whole run;
//   - a step arena for activations and the autograd tape, reset after each optimizer step.
// Peak memory is then a number the trainer can print, and nothing is freed by hand.
//
// When a request does not fit, a growable arena adds a block (at least as large as all it
// holds so far, so growth is geometric); reset() then merges the blocks into one, sized to
// the peak, so the next step runs from a single block. An arena with a fixed limit stops
// with a message naming the op, the bytes asked and the bytes left.
#ifndef GW_ARENA_H
#define GW_ARENA_H

#include <stdbool.h>
#include <stddef.h>

enum { GW_ALIGN = 64 };

typedef struct gw_arena_block gw_arena_block;

typedef struct gw_arena {
  char name[32];
  gw_arena_block *head;  // newest block; older blocks hang off head->prev
  size_t used;           // bytes handed out since the last reset (with alignment padding)
  size_t capacity;       // bytes in all blocks
  size_t peak;           // highest `used` ever seen
  size_t limit;          // 0: grow without limit; else capacity never exceeds it
} gw_arena;

// Creates an arena with an initial block of `initial_bytes` (rounded up to 64) and a limit
// (0 for none).
gw_arena *gw_arena_create(const char *name, size_t initial_bytes, size_t limit);
void gw_arena_destroy(gw_arena *a);

// Returns `bytes` of 64-byte-aligned memory (not zeroed). `what` names the op or the
// tensor asking, for the out-of-memory message.
void *gw_arena_alloc(gw_arena *a, size_t bytes, const char *what);
void *gw_arena_calloc(gw_arena *a, size_t bytes, const char *what);

// Frees everything at once. Pointers handed out before become invalid.
void gw_arena_reset(gw_arena *a);

// A mark and a rewind to it: frees what was allocated since the mark (scratch space).
typedef struct gw_arena_mark {
  gw_arena_block *block;
  size_t block_used;
  size_t used;
} gw_arena_mark;
gw_arena_mark gw_arena_get_mark(const gw_arena *a);
void gw_arena_rewind(gw_arena *a, gw_arena_mark mark);

// The arena new tensors go to in this thread (ops allocate their outputs there).
gw_arena *gw_arena_current(void);
// The same, or NULL when none is set (no error).
gw_arena *gw_arena_current_or_null(void);
// Sets the current arena of this thread; returns the previous one.
gw_arena *gw_arena_set_current(gw_arena *a);

#endif
