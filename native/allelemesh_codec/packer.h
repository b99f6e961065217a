/* The builder's counts packer, shared by _pack.c (one record: pack_counts) and
 * _lines.c (plain lines whole: pack_lines). */
#ifndef ALLELEMESH_PACKER_H
#define ALLELEMESH_PACKER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "format.h"

#define CAPSULE "allelemesh_codec._pack.Packer"
#define MAX_GROUPS 1024
#define MAX_DIGITS 9
#define MALE (-2)
/* Fields whose key is remembered from the record before (the INFO layout repeats). */
#define MEMO_FIELDS 512
#define MEMO_KEY 32

typedef struct {
    uint64_t hash;
    const char *key; /* in the packer's keys tuple */
    Py_ssize_t len;
    int k; /* the key's index, -1: an empty slot */
} Slot;

typedef struct {
    int n_file;      /* the file's groups, the total first */
    int n_out;       /* the dataset's groups */
    int *pick;       /* per dataset group: its file group, or -1 */
    int *male;       /* per file group: MALE, its male part's file group, or -1 */
    int n_keys;      /* 3 * n_file count keys, then the refused ones */
    PyObject *keys;  /* tuple of every key (bytes), kept alive for the table */
    Slot *table;     /* open addressing */
    size_t mask;
    uint64_t *seen; /* per key: the call that last saw it */
    uint64_t calls;
    /* Field i's key in the record before (memo_len 0: none): a match skips the lookup. */
    unsigned char memo_len[MEMO_FIELDS];
    int memo_k[MEMO_FIELDS];
    char memo_key[MEMO_FIELDS][MEMO_KEY];
    uint32_t *counts; /* scratch: n_file * (n_alt AC, AN, n_alt hom) */
    Py_ssize_t counts_cap;
} Packer;

/* Counts one record's INFO text into the packer's rows (per allele, per file group:
 * AC, AN, hom, het, hemi): 1, 0 when the record is not the plain case, -1 on an error
 * set (memory). */
int am_count(Packer *p, const char *info, Py_ssize_t len, Py_ssize_t n_alt, int haploid);
/* The total's AN of the record am_count last counted. */
uint32_t am_total_an(const Packer *p, Py_ssize_t n_alt);
/* Allele a's ``codes | counts`` at out (room for am_head_most bytes); returns its end. */
unsigned char *am_write_head(const Packer *p, Py_ssize_t a, Py_ssize_t n_alt, unsigned char *out);
Py_ssize_t am_head_most(const Packer *p);
/* The packer of a capsule (NULL with an error set). */
Packer *am_packer(PyObject *capsule);
PyObject *pack_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#endif
