/* The builder's counts packer: one record's raw INFO text to the ``codes | counts`` part
 * of its alleles' index values (schema 3, nodes/index/records.py; constants: format.h).
 *
 * It takes the common case only: every group of the file has AC (Number=A), AN
 * (Number=1) and a homozygous count (Number=A) in the record, all plain decimal digits
 * (at most 9, so within 32 bits), n_alt values per allele key, no heterozygous or
 * hemizygous key present, and the counts InfoCounter.count derives from them are valid
 * for every allele and group (allele_counts: outside haploid regions the case
 * nodes.build._info_text._simple_rows counts). They are packed at their widths as
 * ValueCodec.pack does.
 *
 * Anything else (a flag or a repeated key among the needed ones, "=" inside a value,
 * ".", a sign, a fraction, a wrong value count, AC > AN, ...) returns None: the caller
 * counts that record the general way, which words the errors. So a record this packs
 * has exactly the bytes the Python encoder gives it, and a record it refuses the very
 * same outcome as before (tests/nodes/build/test_pack_counts.py checks both, byte for byte).
 */
#include <string.h>

#include "packer.h"

static PyObject *EMPTY; /* b"": every part's tail */

static inline uint64_t hash_key(const char *s, Py_ssize_t n) {
    /* The length and the first and last 8 bytes (INFO keys differ there), multiplied. */
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else {
        memcpy(&a, s, (size_t)n);
    }
    uint64_t h = (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full) ^
                 ((uint64_t)n * 0x165667B19E3779F9ull);
    return h ^ (h >> 29);
}

static inline int find_key(const Packer *p, const char *s, Py_ssize_t n) {
    const uint64_t h = hash_key(s, n);
    for (size_t at = (size_t)h & p->mask;; at = (at + 1) & p->mask) {
        const Slot *slot = &p->table[at];
        if (slot->k < 0)
            return -1;
        if (slot->hash == h && slot->len == n && memcmp(slot->key, s, (size_t)n) == 0)
            return slot->k;
    }
}

static void packer_free(PyObject *capsule) {
    Packer *p = PyCapsule_GetPointer(capsule, CAPSULE);
    if (p == NULL)
        return;
    Py_XDECREF(p->keys);
    PyMem_Free(p->pick);
    PyMem_Free(p->male);
    PyMem_Free(p->table);
    PyMem_Free(p->seen);
    PyMem_Free(p->counts);
    PyMem_Free(p);
}

/* make_packer(ac_keys, an_keys, hom_keys, refused_keys, picks, males) -> packer */
static PyObject *make_packer(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "make_packer takes 6 arguments");
        return NULL;
    }
    for (int i = 0; i < 6; i++)
        if (!PyTuple_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "make_packer: tuples of keys and of picks");
            return NULL;
        }
    Py_ssize_t n_file = PyTuple_GET_SIZE(args[0]), n_out = PyTuple_GET_SIZE(args[4]);
    if (n_file < 1 || n_file > MAX_GROUPS || n_out < 1 || n_out > MAX_GROUPS ||
        PyTuple_GET_SIZE(args[1]) != n_file || PyTuple_GET_SIZE(args[2]) != n_file ||
        PyTuple_GET_SIZE(args[5]) != n_file) {
        PyErr_SetString(PyExc_ValueError, "make_packer: one AC, AN and hom key per group");
        return NULL;
    }
    PyObject *keys = PySequence_Concat(args[0], args[1]);
    if (keys != NULL)
        Py_SETREF(keys, PySequence_Concat(keys, args[2]));
    if (keys != NULL)
        Py_SETREF(keys, PySequence_Concat(keys, args[3]));
    if (keys == NULL)
        return NULL;
    Py_ssize_t n_keys = PyTuple_GET_SIZE(keys);
    Packer *p = PyMem_Calloc(1, sizeof(Packer));
    if (p == NULL) {
        Py_DECREF(keys);
        return PyErr_NoMemory();
    }
    p->keys = keys;
    p->n_file = (int)n_file;
    p->n_out = (int)n_out;
    p->n_keys = (int)n_keys;
    size_t size = 16;
    while (size < 4 * (size_t)n_keys)
        size *= 2;
    p->mask = size - 1;
    p->table = PyMem_Malloc(size * sizeof(Slot));
    p->pick = PyMem_Malloc((size_t)n_out * sizeof(int));
    p->male = PyMem_Malloc((size_t)n_file * sizeof(int));
    p->seen = PyMem_Calloc((size_t)n_keys, sizeof(uint64_t));
    PyObject *capsule = PyCapsule_New(p, CAPSULE, packer_free);
    if (capsule == NULL) {
        Py_DECREF(keys);
        PyMem_Free(p->table);
        PyMem_Free(p->pick);
    PyMem_Free(p->male);
        PyMem_Free(p->seen);
        PyMem_Free(p);
        return NULL;
    }
    if (!p->table || !p->pick || !p->male || !p->seen) {
        Py_DECREF(capsule);
        return PyErr_NoMemory();
    }
    for (size_t i = 0; i < size; i++)
        p->table[i].k = -1;
    for (Py_ssize_t k = 0; k < n_keys; k++) {
        PyObject *key = PyTuple_GET_ITEM(keys, k);
        if (!PyBytes_Check(key) || PyBytes_GET_SIZE(key) == 0) {
            Py_DECREF(capsule);
            PyErr_SetString(PyExc_TypeError, "make_packer: keys must be non-empty bytes");
            return NULL;
        }
        const char *s = PyBytes_AS_STRING(key);
        if (find_key(p, s, PyBytes_GET_SIZE(key)) >= 0) {
            Py_DECREF(capsule);
            PyErr_Format(PyExc_ValueError, "make_packer: key %s given twice", s);
            return NULL;
        }
        const uint64_t h = hash_key(s, PyBytes_GET_SIZE(key));
        size_t at = (size_t)h & p->mask;
        while (p->table[at].k >= 0)
            at = (at + 1) & p->mask;
        p->table[at] = (Slot){h, s, PyBytes_GET_SIZE(key), (int)k};
    }
    for (Py_ssize_t g = 0; g < n_out; g++) {
        long pick = PyLong_AsLong(PyTuple_GET_ITEM(args[4], g));
        if (pick == -1 && PyErr_Occurred()) {
            Py_DECREF(capsule);
            return NULL;
        }
        if (pick < -1 || pick >= n_file || (g == 0 && pick != 0)) {
            Py_DECREF(capsule);
            PyErr_SetString(PyExc_ValueError, "make_packer: a pick is no file group");
            return NULL;
        }
        p->pick[g] = (int)pick;
    }
    for (Py_ssize_t f = 0; f < n_file; f++) {
        long part = PyLong_AsLong(PyTuple_GET_ITEM(args[5], f));
        if (part == -1 && PyErr_Occurred()) {
            Py_DECREF(capsule);
            return NULL;
        }
        if (part < MALE || part >= n_file || part == f) {
            Py_DECREF(capsule);
            PyErr_SetString(PyExc_ValueError, "make_packer: a male part is no file group");
            return NULL;
        }
        p->male[f] = (int)part;
    }
    return capsule;
}

/* Reads the n values of one count text ("12" or "3,0,7") at s into out; the end of the
 * text (the field's end), or NULL when it is not n plain numbers. */
static const char *parse_values(const char *s, const char *end, Py_ssize_t n, uint32_t *out) {
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t v = 0;
        int digits = 0;
        while (s < end && *s >= '0' && *s <= '9') {
            v = v * 10 + (uint32_t)(*s - '0');
            s++;
            if (++digits > MAX_DIGITS)
                return NULL;
        }
        if (digits == 0)
            return NULL;
        out[i] = v;
        if (i + 1 < n) {
            if (s >= end || *s != ',')
                return NULL;
            s++;
        }
    }
    return s == end || *s == ';' ? s : NULL;
}

static inline int width_code(uint32_t v) { return v < 0x100u ? 1 : v < 0x10000u ? 2 : 3; }

static inline unsigned char *put_count(unsigned char *out, uint32_t v, int code) {
    out[0] = (unsigned char)v;
    if (code == 1)
        return out + 1;
    out[1] = (unsigned char)(v >> 8);
    if (code == 2)
        return out + 2;
    out[2] = (unsigned char)(v >> 16);
    out[3] = (unsigned char)(v >> 24);
    return out + 4;
}

/* Reads every needed count of the record into p->counts (per file group: AC[n_alt], AN,
 * hom[n_alt]); 1, or 0 when the record is not the plain case. */
static int scan_info(Packer *p, const char *s, Py_ssize_t len, Py_ssize_t n_alt) {
    const char *end = s + len;
    const uint64_t call = ++p->calls;
    const int nf = p->n_file;
    const Py_ssize_t per_group = 2 * n_alt + 1;
    int found = 0;
    for (int field = 0; s < end; field++) {
        const char *key = s;
        int k;
        const int memo = field < MEMO_FIELDS ? p->memo_len[field] : 0;
        if (memo > 0 && end - s > memo && s[memo] == '=' &&
            memcmp(s, p->memo_key[field], (size_t)memo) == 0) {
            k = p->memo_k[field]; /* the same key as in the record before */
            s += memo + 1;
        } else {
            while (s < end && *s != '=' && *s != ';')
                s++;
            const Py_ssize_t key_len = s - key;
            if (s == end || *s == ';') { /* a flag, or an empty field */
                if (key_len > 0 && find_key(p, key, key_len) >= 0)
                    return 0; /* a count key written as a flag */
                if (field < MEMO_FIELDS)
                    p->memo_len[field] = 0;
                s++;
                continue;
            }
            s++; /* the value, after "=" */
            k = key_len > 0 ? find_key(p, key, key_len) : -1;
            if (field < MEMO_FIELDS) {
                const int fits = key_len > 0 && key_len < MEMO_KEY;
                p->memo_len[field] = fits ? (unsigned char)key_len : 0;
                if (fits) {
                    memcpy(p->memo_key[field], key, (size_t)key_len);
                    p->memo_k[field] = k;
                }
            }
        }
        if (k < 0) {
            const char *stop = memchr(s, ';', (size_t)(end - s));
            if (stop == NULL)
                stop = end;
            if (memchr(s, '=', (size_t)(stop - s)) != NULL)
                return 0; /* "=" in a value: pysam's reading */
            s = stop + 1;
            continue;
        }
        if (k >= 3 * nf || p->seen[k] == call)
            return 0; /* a refused key, or a repeat */
        p->seen[k] = call;
        const int role = k / nf;
        uint32_t *out =
            p->counts + (k % nf) * per_group + (role == 0 ? 0 : role == 1 ? n_alt : n_alt + 1);
        s = parse_values(s, end, role == 1 ? 1 : n_alt, out);
        if (s == NULL)
            return 0;
        s++;
        found++;
    }
    return found == 3 * nf;
}

/* One allele's counts in file group f (AC, AN, hom, het, hemi; AM_ABSENT: not given) as
 * InfoCounter.count gives them; 0 when it words an error there (or the record is not
 * the plain case). Outside haploid regions het = AC - 2 hom; inside, a male group has
 * (AC, AN, 0, 0, hemi = AC), a group with a male part takes hemi = the part's AC and
 * hom less the part's hom, others are counted as outside. */
static int allele_counts(const Packer *p, int f, Py_ssize_t a, Py_ssize_t n_alt, int haploid,
                         uint32_t out[AM_COUNTS]) {
    const Py_ssize_t per_group = 2 * n_alt + 1;
    const uint32_t *c = p->counts + f * per_group;
    uint32_t ac = c[a], an = c[n_alt], hom = c[n_alt + 1 + a], hemi = AM_ABSENT;
    if (ac > an)
        return 0;
    if (haploid) {
        const int part = p->male[f];
        if (part == MALE) {
            out[0] = ac, out[1] = an, out[2] = 0, out[3] = 0, out[4] = ac;
            return 1;
        }
        if (part >= 0) {
            const uint32_t *m = p->counts + part * per_group;
            hemi = m[a];
            hom = hom > m[n_alt + 1 + a] ? hom - m[n_alt + 1 + a] : 0;
        }
    }
    const uint64_t taken = 2 * (uint64_t)hom + (hemi == AM_ABSENT ? 0 : hemi);
    if (taken > ac)
        return 0;
    out[0] = ac, out[1] = an, out[2] = hom, out[3] = ac - (uint32_t)taken, out[4] = hemi;
    return 1;
}

int am_count(Packer *p, const char *info, Py_ssize_t len, Py_ssize_t n_alt, int haploid) {
    if (n_alt < 1 || n_alt > 4096)
        return 0;
    const int nf = p->n_file;
    /* counts: per file group AC[n_alt], AN, hom[n_alt]; then rows[n_alt][nf][5] */
    const Py_ssize_t need = nf * (2 * n_alt + 1) + n_alt * nf * AM_COUNTS;
    if (p->counts_cap < need) {
        uint32_t *counts = PyMem_Realloc(p->counts, (size_t)need * sizeof(uint32_t));
        if (counts == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        p->counts = counts;
        p->counts_cap = need;
    }
    if (!scan_info(p, info, len, n_alt))
        return 0;
    uint32_t *rows = p->counts + nf * (2 * n_alt + 1);
    for (Py_ssize_t a = 0; a < n_alt; a++)
        for (int f = 0; f < nf; f++)
            if (!allele_counts(p, f, a, n_alt, haploid, rows + (a * nf + f) * AM_COUNTS))
                return 0;
    return 1;
}

uint32_t am_total_an(const Packer *p, Py_ssize_t n_alt) { return p->counts[n_alt]; }

Py_ssize_t am_head_most(const Packer *p) { return (2 + 4 * AM_COUNTS) * (Py_ssize_t)p->n_out; }

unsigned char *am_write_head(const Packer *p, Py_ssize_t a, Py_ssize_t n_alt,
                             unsigned char *codes) {
    const int nf = p->n_file;
    const uint32_t *rows = p->counts + nf * (2 * n_alt + 1);
    unsigned char *out = codes + 2 * p->n_out;
    for (int g = 0; g < p->n_out; g++) {
        const int f = p->pick[g];
        unsigned int code = 0;
        if (f >= 0) {
            const uint32_t *row = rows + (a * nf + f) * AM_COUNTS;
            code = AM_CODE_PRESENT;
            for (int k = 0; k < AM_COUNTS; k++) {
                if (row[k] == AM_ABSENT)
                    continue;
                const int w = width_code(row[k]);
                code |= (unsigned int)w << (2 * k);
                out = put_count(out, row[k], w);
            }
        }
        codes[2 * g] = (unsigned char)code;
        codes[2 * g + 1] = (unsigned char)(code >> 8);
    }
    return out;
}

Packer *am_packer(PyObject *capsule) { return PyCapsule_GetPointer(capsule, CAPSULE); }

/* pack_counts(packer, info, n_alt, haploid) -> (total AN, ((head, b""), ...)) or None */
static PyObject *pack_counts(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 4 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "pack_counts(packer, info bytes, n_alt, haploid)");
        return NULL;
    }
    Packer *p = PyCapsule_GetPointer(args[0], CAPSULE);
    if (p == NULL)
        return NULL;
    Py_ssize_t n_alt = PyLong_AsSsize_t(args[2]);
    if (n_alt == -1 && PyErr_Occurred())
        return NULL;
    const int haploid = PyObject_IsTrue(args[3]);
    if (haploid < 0)
        return NULL;
    const int counted =
        am_count(p, PyBytes_AS_STRING(args[1]), PyBytes_GET_SIZE(args[1]), n_alt, haploid);
    if (counted < 0)
        return NULL;
    if (counted == 0)
        Py_RETURN_NONE;
    PyObject *parts = PyTuple_New(n_alt);
    if (parts == NULL)
        return NULL;
    const Py_ssize_t most = am_head_most(p);
    for (Py_ssize_t a = 0; a < n_alt; a++) {
        PyObject *head = PyBytes_FromStringAndSize(NULL, most);
        if (head == NULL) {
            Py_DECREF(parts);
            return NULL;
        }
        unsigned char *codes = (unsigned char *)PyBytes_AS_STRING(head);
        unsigned char *out = am_write_head(p, a, n_alt, codes);
        if (_PyBytes_Resize(&head, (Py_ssize_t)(out - codes)) < 0) {
            Py_DECREF(parts);
            return NULL;
        }
        PyObject *pair = PyTuple_Pack(2, head, EMPTY);
        Py_DECREF(head);
        if (pair == NULL) {
            Py_DECREF(parts);
            return NULL;
        }
        PyTuple_SET_ITEM(parts, a, pair);
    }
    return Py_BuildValue("(kN)", (unsigned long)am_total_an(p, n_alt), parts);
}

static PyMethodDef methods[] = {
    {"make_packer", (PyCFunction)(void (*)(void))make_packer, METH_FASTCALL,
     "make_packer(ac_keys, an_keys, hom_keys, refused_keys, picks, males) -> packer"},
    {"pack_counts", (PyCFunction)(void (*)(void))pack_counts, METH_FASTCALL,
     "pack_counts(packer, info, n_alt, haploid) -> (total AN, ((head, b''), ...)) or None"},
    {"pack_lines", (PyCFunction)(void (*)(void))pack_lines, METH_FASTCALL,
     "pack_lines(packer, contigs, filters, emit, path, layout, lines, start) -> (next, alleles, max AN)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "allelemesh_codec._pack",
                                    "Packs index value counts from INFO text (schema 3).", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__pack(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    EMPTY = PyBytes_FromStringAndSize(NULL, 0);
    PyObject *format = Py_BuildValue("{sksIsIsisi}", "absent", (unsigned long)AM_ABSENT,
                                     "source_af", AM_CODE_SOURCE_AF, "present", AM_CODE_PRESENT,
                                     "counts", AM_COUNTS, "max_digits", MAX_DIGITS);
    if (EMPTY == NULL || format == NULL || PyModule_AddObject(m, "FORMAT", format) < 0) {
        Py_XDECREF(format);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
