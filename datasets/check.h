// `gw data check DIR`: what is in a data set directory (generated or converted), and whether it
// is consistent.
//
// Prints the source (generator or converted format, with its box convention), the vocabulary
// and answer counts, per split the counts of images, objects, refs, sentences, captions and
// questions, box statistics (min / mean / max width and height, boxes outside the image), the
// mean pixel per channel, and the SHA-256 of every file (as sha256sum prints it, so
// `sha256sum -c` can verify a copy; png/ is left out). For RefCOCO, RefCOCO+ and RefCOCOg it
// compares the expressions per split with the known counts (shared/datasets.md §2.1).
//
// Flags as problems: indices out of range (an object's image, a ref's object, a sentence's
// ref, ...), a ref whose box or image differs from its object's, boxes outside the image or
// without area, token ids outside the vocabulary, empty expressions (length 0), counts that
// differ from meta.json, a vocabulary size that differs from meta.json, missing files, and
// known RefCOCO-family counts that do not match.
#ifndef GW_CHECK_H
#define GW_CHECK_H

#include <stdint.h>
#include <stdio.h>

// Checks dir, printing the report to out. Returns the number of problems (0: consistent), or
// -1 with gw_last_error() set when dir holds no data set at all.
int gw_check(const char *dir, FILE *out);

// SHA-256 of a file as 64 hex digits (+ NUL) into hex; -1 naming the file if unreadable.
int gw_sha256_file(const char *path, char hex[65]);

#endif
