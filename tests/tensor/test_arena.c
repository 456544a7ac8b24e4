// Arenas: alignment, growth, reset, limits, mark/rewind and peak tracking.
#include <stdint.h>
#include <string.h>

#include "testutil.h"

TestSuite(tensor_arena, .init = gwt_setup, .fini = gwt_teardown);

static bool aligned(const void *p) { return ((uintptr_t)p % GW_ALIGN) == 0; }

// Every pointer handed out is 64-byte aligned, whatever the sizes asked before it, and a
// request of 0 bytes still gets its own aligned slot.
Test(tensor_arena, alignment_of_every_allocation) {
  gw_arena *a = gw_arena_create("align", 100, 0);
  size_t sizes[] = {1, 3, 0, 64, 65, 100, 127, 128, 1000, 7, 5000};
  char *prev = NULL;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char *p = gw_arena_alloc(a, sizes[i], "align test");
    cr_assert(aligned(p), "allocation %zu (%zu bytes) at %p is not 64-byte aligned", i, sizes[i],
              (void *)p);
    cr_assert(p != prev, "allocation %zu returned the same pointer as the one before", i);
    memset(p, 0xAB, sizes[i]);  // the memory is usable (ASan would catch an overrun)
    prev = p;
  }
  char *z = gw_arena_calloc(a, 300, "calloc test");
  cr_assert(aligned(z));
  for (int i = 0; i < 300; i++) cr_assert_eq(z[i], 0, "calloc left byte %d nonzero", i);
  gw_arena_destroy(a);
}

// Tensor data and tensor structs made in the current arena are aligned too.
Test(tensor_arena, tensors_are_aligned) {
  for (int64_t n = 1; n < 40; n += 7) {
    gw_tensor *t = gw_empty(GW_F32, GW_SHAPE(n, 3));
    cr_assert(aligned(t->data) && aligned(t), "tensor (%lld, 3) is not aligned", (long long)n);
    gw_tensor *i = gw_zeros(GW_I32, GW_SHAPE(n));
    cr_assert(aligned(i->data));
  }
}

// A growable arena adds blocks when a request does not fit, leaving earlier allocations
// where they are (their contents intact); growth is geometric; reset() merges the blocks
// into one block of at least the peak, so the same workload then runs without growing and
// from consecutive addresses (a single block).
Test(tensor_arena, growth_keeps_pointers_and_reset_merges) {
  gw_arena *a = gw_arena_create("grow", 256, 0);
  cr_assert_eq(a->capacity, 256);
  enum { N = 12 };
  size_t sizes[N] = {200, 100, 300, 1000, 64, 4000, 10, 128, 9000, 1, 333, 20000};
  unsigned char *ptrs[N];
  for (int i = 0; i < N; i++) {
    ptrs[i] = gw_arena_alloc(a, sizes[i], "grow test");
    memset(ptrs[i], (unsigned char)(i + 1), sizes[i]);
  }
  // Every earlier block is still there, with what was written.
  for (int i = 0; i < N; i++)
    for (size_t k = 0; k < sizes[i]; k++)
      cr_assert_eq(ptrs[i][k], (unsigned char)(i + 1), "allocation %d byte %zu was overwritten",
                   i, k);
  size_t used_total = 0;
  for (int i = 0; i < N; i++) used_total += (sizes[i] + GW_ALIGN - 1) / GW_ALIGN * GW_ALIGN;
  cr_assert_eq(a->used, used_total, "used %zu, expected %zu", a->used, used_total);
  cr_assert_eq(a->peak, used_total);
  cr_assert(a->capacity >= a->peak, "capacity %zu < peak %zu", a->capacity, a->peak);
  // Geometric growth: far fewer blocks than requests. Each new block is at least the total
  // capacity so far, so capacity at least doubles whenever it grows; 12 requests that sum to
  // ~35 KB from 256 bytes need at most log2(35000/256) + 1 = 8 growths, and capacity can
  // exceed the bytes handed out by at most about 2x plus the largest request.
  cr_assert(a->capacity <= 2 * used_total + 20480 + 256, "capacity %zu for %zu used", a->capacity,
            used_total);

  size_t cap_before = a->capacity, peak = a->peak;
  gw_arena_reset(a);
  cr_assert_eq(a->used, 0);
  cr_assert(a->capacity >= peak, "after reset, capacity %zu < peak %zu", a->capacity, peak);
  cr_assert_eq(a->capacity, cap_before, "reset keeps the total capacity as one block");
  // The same workload again: no growth, and the blocks are consecutive (one block).
  unsigned char *first = gw_arena_alloc(a, sizes[0], "again");
  unsigned char *expect = first + (sizes[0] + GW_ALIGN - 1) / GW_ALIGN * GW_ALIGN;
  for (int i = 1; i < N; i++) {
    unsigned char *p = gw_arena_alloc(a, sizes[i], "again");
    cr_assert_eq(p, expect, "after reset, allocation %d is not right after the previous one", i);
    expect = p + (sizes[i] + GW_ALIGN - 1) / GW_ALIGN * GW_ALIGN;
  }
  cr_assert_eq(a->capacity, cap_before, "the arena grew again after reset");
  // And one request as large as the whole peak fits in the merged block.
  gw_arena_reset(a);
  void *big = gw_arena_alloc(a, peak, "whole peak");
  cr_assert(aligned(big));
  cr_assert_eq(a->capacity, cap_before, "a request of the peak size did not fit the merged block");
  gw_arena_destroy(a);
}

// Reset of a single-block arena keeps the block and starts again from its beginning.
Test(tensor_arena, reset_single_block_reuses_memory) {
  gw_arena *a = gw_arena_create("single", 4096, 0);
  void *p = gw_arena_alloc(a, 100, "x");
  gw_arena_alloc(a, 1000, "y");
  gw_arena_reset(a);
  cr_assert_eq(gw_arena_alloc(a, 10, "z"), p, "reset did not restart at the block's beginning");
  cr_assert_eq(a->capacity, 4096);
  gw_arena_destroy(a);
}

// A limited arena grows only up to its limit, then stops with a message that names the op,
// the bytes asked and the bytes left.
Test(tensor_arena, limit_stops_with_a_clear_message) {
  // No room to grow at all: limit == initial size.
  gw_arena *a = gw_arena_create("fixed", 1024, 1024);
  gw_arena_alloc(a, 640, "first");
  GWT_EXPECT_ERROR(gw_arena_alloc(a, 500, "conv2d im2col"), "conv2d im2col");
  GWT_EXPECT_ERROR(gw_arena_alloc(a, 500, "conv2d im2col"), "asked 500 bytes");
  GWT_EXPECT_ERROR(gw_arena_alloc(a, 500, "conv2d im2col"), "384 bytes left");
  GWT_EXPECT_ERROR(gw_arena_alloc(a, 500, "conv2d im2col"), "arena 'fixed'");
  GWT_EXPECT_ERROR(gw_arena_alloc(a, 500, "conv2d im2col"), "HINT");
  // What still fits is handed out.
  void *p = gw_arena_alloc(a, 384, "fits exactly");
  cr_assert(p != NULL);
  cr_assert_eq(a->used, 1024);
  gw_arena_destroy(a);

  // Room to grow once: growth is capped by the limit (a block of the request's size when a
  // doubling would pass it), and stops when even that does not fit.
  gw_arena *b = gw_arena_create("capped", 1024, 2000);
  gw_arena_alloc(b, 1024, "fill");
  gw_arena_alloc(b, 100, "grow");  // doubling to 2048 would pass 2000: a block of 128 instead
  cr_assert_eq(b->capacity, 1024 + 128);
  GWT_EXPECT_ERROR(gw_arena_alloc(b, 1000, "attention scores"),
                   "attention scores: arena 'capped' is out of memory: asked 1000 bytes, 0 bytes "
                   "left");
  cr_assert(b->capacity <= b->limit, "the capacity passed the limit");
  gw_arena_destroy(b);
}

// Tensor creation in a limited arena names what was being made.
Test(tensor_arena, tensor_in_full_arena_names_tensor_data) {
  gw_arena *a = gw_arena_create("tiny", 1024, 1024);
  GWT_EXPECT_ERROR(gw_empty_in(a, GW_F32, GW_SHAPE(100, 100)), "tensor data");
  GWT_EXPECT_ERROR(gw_empty_in(a, GW_F32, GW_SHAPE(100, 100)), "asked 40000 bytes");
  gw_arena_destroy(a);
}

// A mark and a rewind free exactly what came after the mark: the next allocation reuses the
// same address, `used` returns to the mark, and what came before is untouched.
Test(tensor_arena, mark_and_rewind) {
  gw_arena *a = gw_arena_create("mark", 8192, 0);
  int *keep = gw_arena_alloc(a, 10 * sizeof(int), "keep");
  for (int i = 0; i < 10; i++) keep[i] = i * 7;
  gw_arena_mark m = gw_arena_get_mark(a);
  size_t used_at_mark = a->used;
  void *s1 = gw_arena_alloc(a, 500, "scratch");
  gw_arena_alloc(a, 700, "scratch");
  cr_assert(a->used > used_at_mark);
  gw_arena_rewind(a, m);
  cr_assert_eq(a->used, used_at_mark);
  cr_assert_eq(gw_arena_alloc(a, 500, "scratch again"), s1, "rewind did not free the scratch");
  for (int i = 0; i < 10; i++) cr_assert_eq(keep[i], i * 7);

  // Nested marks rewind in order.
  gw_arena_mark m1 = gw_arena_get_mark(a);
  void *x = gw_arena_alloc(a, 64, "x");
  gw_arena_mark m2 = gw_arena_get_mark(a);
  gw_arena_alloc(a, 64, "y");
  gw_arena_rewind(a, m2);
  cr_assert_eq(a->used, m2.used);
  gw_arena_rewind(a, m1);
  cr_assert_eq(gw_arena_alloc(a, 64, "x again"), x);
  gw_arena_destroy(a);
}

// Rewinding past a growth keeps the new block (merged at the next reset) but frees what is
// in it: `used` returns to the mark, earlier data stays valid, and allocating the same
// amount again does not grow the arena a second time.
Test(tensor_arena, rewind_across_growth) {
  gw_arena *a = gw_arena_create("rewind-grow", 256, 0);
  float *keep = gw_arena_alloc(a, 128, "keep");
  for (int i = 0; i < 32; i++) keep[i] = (float)i;
  gw_arena_mark m = gw_arena_get_mark(a);
  gw_arena_alloc(a, 2000, "grows");
  size_t cap = a->capacity;
  cr_assert(cap > 256);
  gw_arena_rewind(a, m);
  cr_assert_eq(a->used, m.used);
  for (int i = 0; i < 10; i++) {
    gw_arena_alloc(a, 2000, "again");
    cr_assert_eq(a->capacity, cap, "iteration %d: the arena grew again after the rewind", i);
    gw_arena_rewind(a, m);
  }
  for (int i = 0; i < 32; i++) cr_assert_eq(keep[i], (float)i);
  gw_arena_reset(a);
  cr_assert(a->capacity >= a->peak);
  gw_arena_destroy(a);
}

// The peak is the highest `used` ever seen, across rewinds and resets.
Test(tensor_arena, peak_tracking) {
  gw_arena *a = gw_arena_create("peak", 1 << 16, 0);
  cr_assert_eq(a->peak, 0);
  gw_arena_alloc(a, 1000, "a");  // 1024
  gw_arena_mark m = gw_arena_get_mark(a);
  gw_arena_alloc(a, 64, "b");  // 1088
  cr_assert_eq(a->peak, 1088);
  gw_arena_rewind(a, m);
  cr_assert_eq(a->used, 1024);
  cr_assert_eq(a->peak, 1088, "rewind must not lower the peak");
  gw_arena_reset(a);
  gw_arena_alloc(a, 64, "c");
  cr_assert_eq(a->used, 64);
  cr_assert_eq(a->peak, 1088, "reset must not lower the peak");
  gw_arena_alloc(a, 5000, "d");  // 64 + 5056
  cr_assert_eq(a->peak, 64 + 5056);
  gw_arena_destroy(a);
}

// The current arena is per thread and set/restored explicitly; new tensors go there.
Test(tensor_arena, current_arena_receives_tensors) {
  gw_arena *mine = gw_arena_create("mine", 4096, 0);
  gw_arena *prev = gw_arena_set_current(mine);
  cr_assert_eq(prev, gw_step_arena());
  gw_tensor *t = gw_zeros(GW_F32, GW_SHAPE(4, 4));
  cr_assert_eq(t->arena, mine);
  cr_assert(mine->used >= 64 + 64, "the tensor was not made in the current arena");
  cr_assert_eq(gw_arena_set_current(prev), mine);
  gw_arena_destroy(mine);
  gw_arena_set_current(NULL);
  cr_assert_null(gw_arena_current_or_null());
  GWT_EXPECT_ERROR(gw_arena_current(), "no current arena");
  gw_arena_set_current(prev);
}
