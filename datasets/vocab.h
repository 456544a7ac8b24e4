// Text: the tokenizer and the vocabulary.
//
// Tokenisation follows SimREC (so real RefCOCO text goes through the same code): lower-case,
// '-' and '/' split words, the characters .,'!?"()*#:; are stripped, split on whitespace. The
// vocabulary starts with the special tokens
// <pad> <unk> <cls> <sep> <eos> <mask> (ids 0-5), then the words sorted; it is built from the
// training split and stored with the data (vocab.txt, one token per line, line number = id).
#ifndef GW_VOCAB_H
#define GW_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { GW_PAD = 0, GW_UNK = 1, GW_CLS = 2, GW_SEP = 3, GW_EOS = 4, GW_MASK = 5, GW_N_SPECIAL = 6 };
extern const char *const gw_special_tokens[GW_N_SPECIAL];

enum { GW_MAX_WORD = 48 };

// Splits text into at most max_words lower-case words without SimREC's punctuation, written to
// words[i] (each up to GW_MAX_WORD-1 characters). Returns the number of words found (which may
// exceed max_words: only the first max_words are written).
int gw_tokenize(const char *text, char (*words)[GW_MAX_WORD], int max_words);

typedef struct gw_vocab {
  char **words;  // id -> word
  int size;
  int capacity;
  // open-addressing hash: word -> id
  int32_t *table;
  int table_size;
} gw_vocab;

void gw_vocab_init(gw_vocab *v);  // the special tokens only
void gw_vocab_free(gw_vocab *v);
// The word's id, or -1.
int gw_vocab_find(const gw_vocab *v, const char *word);
// The word's id, adding it if absent.
int gw_vocab_add(gw_vocab *v, const char *word);
// Re-numbers: special tokens first, then the other words in byte order.
void gw_vocab_sort(gw_vocab *v);
// ids[0..max_len) from text: the words' ids (<unk> for unknown words), truncated to max_len,
// padded with <pad>. Returns the number of real tokens (<= max_len).
int gw_vocab_encode(const gw_vocab *v, const char *text, int32_t *ids, int max_len);
// The words of n token ids, space-separated, into out (truncated to fit; "<unk>" for an id
// outside the vocabulary).
void gw_vocab_decode(const gw_vocab *v, const int32_t *ids, int n, char *out, size_t len);
// vocab.txt I/O; -1 with gw_last_error() naming the file and line on failure.
int gw_vocab_save(const gw_vocab *v, const char *path);
int gw_vocab_load(gw_vocab *v, const char *path);
// A vocabulary from its words one per line, special tokens first (as vocab.txt and checkpoints
// store it); text is modified (split at the newlines).
void gw_vocab_from_lines(gw_vocab *v, char *text);
// FNV-1a hash of the vocabulary (order included): a checkpoint stores it to detect drift.
uint64_t gw_vocab_hash(const gw_vocab *v);

#endif
