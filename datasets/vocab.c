#include "datasets/vocab.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

const char *const gw_special_tokens[GW_N_SPECIAL] = {"<pad>", "<unk>", "<cls>", "<sep>", "<eos>",
                                                     "<mask>"};

int gw_tokenize(const char *text, char (*words)[GW_MAX_WORD], int max_words) {
  int n = 0, len = 0;
  char cur[GW_MAX_WORD];
  for (const char *p = text;; p++) {
    unsigned char ch = (unsigned char)*p;
    // SimREC: '-' and '/' separate words; the characters .,'!?"()*#:; are dropped (its regular
    // expression), anything else stays in the word
    if (ch == '\0' || isspace(ch) || ch == '-' || ch == '/') {
      if (len > 0) {
        cur[len] = '\0';
        if (n < max_words) memcpy(words[n], cur, (size_t)len + 1);
        n++;
        len = 0;
      }
      if (ch == '\0') break;
      continue;
    }
    if (strchr(".,'!?\"()*#:;", ch)) continue;  // inside words too ("man's" -> "mans")
    if (len < GW_MAX_WORD - 1) cur[len++] = (char)tolower(ch);
  }
  return n;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
  return h;
}

static void rehash(gw_vocab *v) {
  free(v->table);
  v->table_size = 64;
  while (v->table_size < 2 * v->size + 16) v->table_size *= 2;
  v->table = malloc((size_t)v->table_size * sizeof *v->table);
  GW_CHECK(v->table, "vocab: out of memory");
  for (int i = 0; i < v->table_size; i++) v->table[i] = -1;
  for (int id = 0; id < v->size; id++) {
    uint64_t h = hash_str(v->words[id]) & (uint64_t)(v->table_size - 1);
    while (v->table[h] >= 0) h = (h + 1) & (uint64_t)(v->table_size - 1);
    v->table[h] = id;
  }
}

void gw_vocab_init(gw_vocab *v) {
  memset(v, 0, sizeof *v);
  for (int i = 0; i < GW_N_SPECIAL; i++) gw_vocab_add(v, gw_special_tokens[i]);
}

void gw_vocab_free(gw_vocab *v) {
  for (int i = 0; i < v->size; i++) free(v->words[i]);
  free(v->words);
  free(v->table);
  memset(v, 0, sizeof *v);
}

int gw_vocab_find(const gw_vocab *v, const char *word) {
  if (!v->table) return -1;
  uint64_t h = hash_str(word) & (uint64_t)(v->table_size - 1);
  while (v->table[h] >= 0) {
    if (!strcmp(v->words[v->table[h]], word)) return v->table[h];
    h = (h + 1) & (uint64_t)(v->table_size - 1);
  }
  return -1;
}

int gw_vocab_add(gw_vocab *v, const char *word) {
  int id = gw_vocab_find(v, word);
  if (id >= 0) return id;
  if (v->size == v->capacity) {
    v->capacity = v->capacity ? 2 * v->capacity : 64;
    v->words = realloc(v->words, (size_t)v->capacity * sizeof *v->words);
    GW_CHECK(v->words, "vocab: out of memory");
  }
  v->words[v->size] = strdup(word);
  id = v->size++;
  if (2 * v->size + 16 > v->table_size) {
    rehash(v);
  } else {
    uint64_t h = hash_str(word) & (uint64_t)(v->table_size - 1);
    while (v->table[h] >= 0) h = (h + 1) & (uint64_t)(v->table_size - 1);
    v->table[h] = id;
  }
  return id;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void gw_vocab_sort(gw_vocab *v) {
  if (v->size > GW_N_SPECIAL)
    qsort(v->words + GW_N_SPECIAL, (size_t)(v->size - GW_N_SPECIAL), sizeof *v->words, cmp_str);
  rehash(v);
}

int gw_vocab_encode(const gw_vocab *v, const char *text, int32_t *ids, int max_len) {
  char words[max_len > 0 ? max_len : 1][GW_MAX_WORD];
  int n = gw_tokenize(text, words, max_len);
  if (n > max_len) n = max_len;
  for (int i = 0; i < max_len; i++) {
    if (i >= n) {
      ids[i] = GW_PAD;
      continue;
    }
    int id = gw_vocab_find(v, words[i]);
    ids[i] = id >= GW_N_SPECIAL ? id : GW_UNK;  // "<pad>" typed in a text is no special token
  }
  return n;
}

int gw_vocab_save(const gw_vocab *v, const char *path) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    gw_set_error("%s: cannot write the vocabulary", path);
    return -1;
  }
  for (int i = 0; i < v->size; i++) fprintf(f, "%s\n", v->words[i]);
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    gw_set_error("%s: writing the vocabulary failed (disk full?)", path);
    return -1;
  }
  return 0;
}

int gw_vocab_load(gw_vocab *v, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    gw_set_error("%s: no such vocabulary file", path);
    return -1;
  }
  memset(v, 0, sizeof *v);
  char line[256];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') line[--n] = '\0';
    if (n == 0 || strchr(line, ' ')) {
      gw_set_error("%s:%d: a vocabulary line must hold one token (got \"%s\")", path, lineno, line);
      fclose(f);
      gw_vocab_free(v);
      return -1;
    }
    if (lineno <= GW_N_SPECIAL && strcmp(line, gw_special_tokens[lineno - 1])) {
      gw_set_error("%s:%d: expected the special token %s, found \"%s\"", path, lineno,
                   gw_special_tokens[lineno - 1], line);
      fclose(f);
      gw_vocab_free(v);
      return -1;
    }
    if (gw_vocab_find(v, line) >= 0) {
      gw_set_error("%s:%d: the token \"%s\" appears twice", path, lineno, line);
      fclose(f);
      gw_vocab_free(v);
      return -1;
    }
    gw_vocab_add(v, line);
  }
  fclose(f);
  if (v->size < GW_N_SPECIAL) {
    gw_set_error("%s: %d lines; a vocabulary starts with the %d special tokens", path, v->size,
                 GW_N_SPECIAL);
    gw_vocab_free(v);
    return -1;
  }
  return 0;
}

void gw_vocab_from_lines(gw_vocab *v, char *text) {
  gw_vocab_init(v);
  int id = 0;
  for (char *save = NULL, *w = strtok_r(text, "\n", &save); w; w = strtok_r(NULL, "\n", &save), id++)
    if (id >= GW_N_SPECIAL) gw_vocab_add(v, w);
}

uint64_t gw_vocab_hash(const gw_vocab *v) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (int i = 0; i < v->size; i++) {
    for (const char *p = v->words[i]; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001B3ull;
    h = (h ^ '\n') * 0x100000001B3ull;
  }
  return h;
}

void gw_vocab_decode(const gw_vocab *v, const int32_t *ids, int n, char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (int t = 0; t < n && used + 1 < len; t++) {
    const char *w = ids[t] >= 0 && ids[t] < v->size ? v->words[ids[t]] : "<unk>";
    used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "", w);
  }
}
