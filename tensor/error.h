// Errors: one way to stop with a message that names the op, the shapes or the file,
// and says what to do next.
//
// Misuse (a shape mismatch, a wrong dtype) calls gw_fatal(): the message goes to the
// error handler, which by default prints it and exits with status 1. Tests install a
// handler that jumps back, so they can assert on the message.
//
// Recoverable failures (a missing file, a corrupt dataset) are returned as -1 by the
// function, with the message kept in gw_last_error().
#ifndef GW_ERROR_H
#define GW_ERROR_H

#include <stdarg.h>

typedef void (*gw_error_handler)(const char *message);

// Formats the message, stores it as gw_last_error(), and calls the handler. The default
// handler prints "groundwork: error: <message>" and exits with status 1. If a custom
// handler returns, gw_fatal aborts: execution never continues past a fatal error.
_Noreturn void gw_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Records a recoverable error (the caller returns -1 afterwards).
void gw_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gw_set_error_v(const char *fmt, va_list ap);

// The message of the most recent error in this thread ("" if none).
const char *gw_last_error(void);
void gw_clear_error(void);

// Installs a handler for fatal errors and returns the previous one (NULL restores the default).
gw_error_handler gw_set_error_handler(gw_error_handler handler);

// GW_CHECK(cond, fmt, ...): stop with the message when cond is false.
#define GW_CHECK(cond, ...)        \
  do {                             \
    if (__builtin_expect(!(cond), 0)) gw_fatal(__VA_ARGS__); \
  } while (0)

#endif
