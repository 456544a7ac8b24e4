#include "tensor/error.h"

#include <stdio.h>
#include <stdlib.h>

enum { GW_ERROR_MAX = 2048 };

static _Thread_local char last_error[GW_ERROR_MAX];
static _Thread_local gw_error_handler handler;

void gw_set_error_v(const char *fmt, va_list ap) {
  vsnprintf(last_error, sizeof last_error, fmt, ap);
}

void gw_set_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  gw_set_error_v(fmt, ap);
  va_end(ap);
}

const char *gw_last_error(void) { return last_error; }

void gw_clear_error(void) { last_error[0] = '\0'; }

gw_error_handler gw_set_error_handler(gw_error_handler h) {
  gw_error_handler old = handler;
  handler = h;
  return old;
}

void gw_fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  gw_set_error_v(fmt, ap);
  va_end(ap);
  if (handler) handler(last_error);
  fflush(stdout);
  fprintf(stderr, "groundwork: error: %s\n", last_error);
  if (handler) abort();  // a custom handler must not return
  exit(1);
}
