/* Index keys of a serialized BatchLookupVariantsRequest's variants, from its own bytes.
 *
 * batch_keys(request, table) -> (keys, echoes, rest) | None
 *
 * For every `variants` entry in request order: its index key and its echo (the Variant's
 * own bytes, the chromosome field swapped for the canonical name when the request
 * spells it otherwise), when the variant is keyed as sent; else None in both lists and
 * its row number in `rest`, for the caller's full path (aliases, lower case,
 * normalization, every error and its message). None when the request's top level has
 * something this reader does not follow (a group, a `variants` field of another wire
 * type): the caller then keys every row itself. ValueError when the bytes end inside a
 * field: nothing is ever read past the end of the buffer.
 *
 * Keyed as sent (mirrors nodes.serve._batch_keys, which builds `table`): the Variant's
 * fields are in number order, each present once, minimally encoded, nothing else (so
 * its bytes are what protobuf would serialize); the chromosome is one of the table's
 * spellings; 1 <= position and position + len(REF) - 1 <= the chromosome's length;
 * bases from the table's alphabet; REF != ALT; and either a single-base substitution,
 * or (when the table allows indels) len(REF) + len(ALT) below the table's inline limit
 * with nothing to trim (one allele a single base, or first and last bases both differ).
 *
 * The key is `code (1 byte) | position (4 bytes, big-endian) | REF sep ALT`: the layout
 * of nodes/index/keys.py (its encoder is the reference; tests compare the two).
 *
 * The table (bytes, built once per assembly by Python from the one chromosome table,
 * the descriptors' field keys and the key module's constants):
 *   header: chromosome key, position key, ref key, alt key, variants key (1 byte each),
 *           inline limit (uint16 BE), separator (1), indels allowed (1),
 *           alphabet length (1), alphabet;
 *   then entries: spelling length (1), spelling, code (1), length (uint32 BE),
 *           canonical length (1, 0 when the spelling is canonical), canonical name.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define NAME_MAX_LEN 32
#define SLOTS 512

typedef struct {
    unsigned char len, code, canonical_len;
    char name[NAME_MAX_LEN], canonical[NAME_MAX_LEN];
    uint32_t length;
} Chrom;

typedef struct {
    PyObject *blob; /* strong reference: the identity the parse is cached by */
    unsigned char k_chrom, k_pos, k_ref, k_alt, k_variants, separator, indels;
    unsigned inline_limit;
    unsigned char base[256];
    int count;
    Chrom entries[SLOTS / 2];
    short slot[SLOTS]; /* entry index + 1; 0 empty */
} Table;

#define CACHED 4
static Table tables[CACHED];
static int next_table = 0;

static unsigned hash_name(const unsigned char *s, Py_ssize_t n) {
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h & (SLOTS - 1);
}

static int bad_table(void) {
    PyErr_SetString(PyExc_ValueError, "batch_keys: malformed chromosome table");
    return -1;
}

static int parse_table(Table *t, PyObject *blob) {
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(blob);
    const unsigned char *end = p + PyBytes_GET_SIZE(blob);
    if (end - p < 10)
        return bad_table();
    t->k_chrom = p[0];
    t->k_pos = p[1];
    t->k_ref = p[2];
    t->k_alt = p[3];
    t->k_variants = p[4];
    t->inline_limit = ((unsigned)p[5] << 8) | p[6];
    t->separator = p[7];
    t->indels = p[8];
    unsigned n_bases = p[9];
    p += 10;
    if (end - p < n_bases)
        return bad_table();
    memset(t->base, 0, sizeof t->base);
    for (unsigned i = 0; i < n_bases; i++)
        t->base[p[i]] = 1;
    p += n_bases;
    memset(t->slot, 0, sizeof t->slot);
    t->count = 0;
    while (p < end) {
        if (t->count >= SLOTS / 2)
            return bad_table();
        Chrom *c = &t->entries[t->count];
        c->len = *p++;
        if (c->len == 0 || c->len >= NAME_MAX_LEN || end - p < c->len + 6)
            return bad_table();
        memcpy(c->name, p, c->len);
        p += c->len;
        c->code = *p++;
        c->length = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        p += 4;
        c->canonical_len = *p++;
        if (c->canonical_len >= NAME_MAX_LEN || end - p < c->canonical_len)
            return bad_table();
        memcpy(c->canonical, p, c->canonical_len);
        p += c->canonical_len;
        unsigned h = hash_name((const unsigned char *)c->name, c->len);
        while (t->slot[h])
            h = (h + 1) & (SLOTS - 1);
        t->slot[h] = (short)(t->count + 1);
        t->count++;
    }
    return 0;
}

static const Table *table_of(PyObject *blob) {
    for (int i = 0; i < CACHED; i++)
        if (tables[i].blob == blob)
            return &tables[i];
    Table *t = &tables[next_table];
    next_table = (next_table + 1) % CACHED;
    Py_CLEAR(t->blob);
    if (parse_table(t, blob) < 0)
        return NULL;
    Py_INCREF(blob);
    t->blob = blob;
    return t;
}

static const Chrom *find(const Table *t, const unsigned char *name, Py_ssize_t n) {
    unsigned h = hash_name(name, n);
    while (t->slot[h]) {
        const Chrom *c = &t->entries[t->slot[h] - 1];
        if (c->len == n && memcmp(c->name, name, (size_t)n) == 0)
            return c;
        h = (h + 1) & (SLOTS - 1);
    }
    return NULL;
}

/* A varint at *p (before end): 1 and *p moved past it, 0 when it runs past end or over
 * 10 bytes. *minimal says whether it is the shortest encoding of its value. */
static int read_varint(const unsigned char **p, const unsigned char *end, uint64_t *value,
                       int *minimal) {
    uint64_t v = 0;
    const unsigned char *q = *p;
    for (int i = 0; i < 10; i++) {
        if (q >= end)
            return 0;
        unsigned char b = *q++;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (b < 0x80) {
            *minimal = i == 0 || b != 0;
            *value = v;
            *p = q;
            return 1;
        }
    }
    return 0;
}

/* A length-delimited field of key `key` at *p: 1 with its body, 0 if anything differs. */
static int string_field(const unsigned char **p, const unsigned char *end, unsigned char key,
                        const unsigned char **body, Py_ssize_t *len) {
    const unsigned char *q = *p;
    uint64_t n;
    int minimal;
    if (q >= end || *q != key)
        return 0;
    q++;
    if (!read_varint(&q, end, &n, &minimal) || !minimal || n == 0 || n > (uint64_t)(end - q))
        return 0;
    *body = q;
    *len = (Py_ssize_t)n;
    *p = q + n;
    return 1;
}

static int all_bases(const Table *t, const unsigned char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (!t->base[s[i]])
            return 0;
    return 1;
}

/* Key and echo of one Variant's bytes: 1 (new references set), 0 (not keyed as sent),
 * -1 (an error set). */
static int key_variant(const Table *t, const unsigned char *v, Py_ssize_t len, PyObject **key,
                       PyObject **echo) {
    const unsigned char *p = v, *end = v + len, *chrom, *ref, *alt;
    Py_ssize_t chrom_len, ref_len, alt_len;
    uint64_t position;
    int minimal;
    if (!string_field(&p, end, t->k_chrom, &chrom, &chrom_len))
        return 0;
    const Py_ssize_t chrom_field_len = p - v;
    if (p >= end || *p++ != t->k_pos || !read_varint(&p, end, &position, &minimal) || !minimal)
        return 0;
    if (!string_field(&p, end, t->k_ref, &ref, &ref_len) ||
        !string_field(&p, end, t->k_alt, &alt, &alt_len) || p != end)
        return 0;
    const Chrom *c = find(t, chrom, chrom_len);
    /* position is at most the length first: the sum below cannot wrap */
    if (c == NULL || position < 1 || position > c->length ||
        position + (uint64_t)ref_len - 1 > c->length)
        return 0;
    if (!all_bases(t, ref, ref_len) || !all_bases(t, alt, alt_len))
        return 0;
    if (ref_len == 1 && alt_len == 1) {
        if (ref[0] == alt[0])
            return 0;
    } else if (!t->indels || (uint64_t)ref_len + (uint64_t)alt_len >= t->inline_limit ||
               (ref_len == alt_len && memcmp(ref, alt, (size_t)ref_len) == 0) ||
               (ref_len > 1 && alt_len > 1 &&
                (ref[0] == alt[0] || ref[ref_len - 1] == alt[alt_len - 1]))) {
        return 0;
    }
    PyObject *k = PyBytes_FromStringAndSize(NULL, 5 + ref_len + 1 + alt_len);
    if (k == NULL)
        return -1;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(k);
    *o++ = c->code;
    *o++ = (unsigned char)(position >> 24);
    *o++ = (unsigned char)(position >> 16);
    *o++ = (unsigned char)(position >> 8);
    *o++ = (unsigned char)position;
    memcpy(o, ref, (size_t)ref_len);
    o += ref_len;
    *o++ = t->separator;
    memcpy(o, alt, (size_t)alt_len);
    PyObject *e;
    if (c->canonical_len == 0) {
        e = PyBytes_FromStringAndSize((const char *)v, len);
    } else {
        /* the canonical name is short: its field is key, one-byte length, name */
        const Py_ssize_t rest = len - chrom_field_len;
        e = PyBytes_FromStringAndSize(NULL, 2 + c->canonical_len + rest);
        if (e != NULL) {
            unsigned char *w = (unsigned char *)PyBytes_AS_STRING(e);
            *w++ = t->k_chrom;
            *w++ = c->canonical_len;
            memcpy(w, c->canonical, c->canonical_len);
            memcpy(w + c->canonical_len, v + chrom_field_len, (size_t)rest);
        }
    }
    if (e == NULL) {
        Py_DECREF(k);
        return -1;
    }
    *key = k;
    *echo = e;
    return 1;
}

static PyObject *truncated(Py_ssize_t at) {
    PyErr_Format(PyExc_ValueError, "batch_keys: the request ends inside a field (byte %zd)", at);
    return NULL;
}

PyObject *batch_keys(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 2 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "batch_keys(request, table: bytes)");
        return NULL;
    }
    const Table *t = table_of(args[1]);
    if (t == NULL)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *const start = view.buf, *const end = start + view.len, *p = start;
    PyObject *keys = PyList_New(0), *echoes = PyList_New(0), *rest = PyList_New(0);
    PyObject *result = NULL;
    if (keys == NULL || echoes == NULL || rest == NULL)
        goto done;
    const unsigned variants_field = t->k_variants >> 3;
    while (p < end) {
        const unsigned char *field_start = p;
        uint64_t tag, n;
        int minimal;
        if (!read_varint(&p, end, &tag, &minimal)) {
            truncated(field_start - start);
            goto done;
        }
        const unsigned wire_type = (unsigned)(tag & 7);
        if (tag == t->k_variants) {
            if (!read_varint(&p, end, &n, &minimal) || n > (uint64_t)(end - p)) {
                truncated(field_start - start);
                goto done;
            }
            PyObject *key = NULL, *echo = NULL;
            int keyed = key_variant(t, p, (Py_ssize_t)n, &key, &echo);
            if (keyed < 0)
                goto done;
            if (keyed == 0) {
                PyObject *row = PyLong_FromSsize_t(PyList_GET_SIZE(keys));
                int failed = row == NULL || PyList_Append(rest, row) < 0;
                Py_XDECREF(row);
                if (failed)
                    goto done;
                key = Py_NewRef(Py_None);
                echo = Py_NewRef(Py_None);
            }
            int failed = PyList_Append(keys, key) < 0 || PyList_Append(echoes, echo) < 0;
            Py_DECREF(key);
            Py_DECREF(echo);
            if (failed)
                goto done;
            p += n;
            continue;
        }
        if ((tag >> 3) == variants_field || wire_type == 3 || wire_type == 4) {
            result = Py_NewRef(Py_None); /* not this reader's to interpret */
            goto done;
        }
        switch (wire_type) {
        case 0:
            if (!read_varint(&p, end, &n, &minimal)) {
                truncated(field_start - start);
                goto done;
            }
            break;
        case 1:
        case 5: {
            const Py_ssize_t width = wire_type == 1 ? 8 : 4;
            if (end - p < width) {
                truncated(field_start - start);
                goto done;
            }
            p += width;
            break;
        }
        case 2:
            if (!read_varint(&p, end, &n, &minimal) || n > (uint64_t)(end - p)) {
                truncated(field_start - start);
                goto done;
            }
            p += n;
            break;
        default:
            PyErr_Format(PyExc_ValueError, "batch_keys: wire type %u at byte %zd", wire_type,
                         field_start - start);
            goto done;
        }
    }
    result = PyTuple_Pack(3, keys, echoes, rest);
done:
    Py_XDECREF(keys);
    Py_XDECREF(echoes);
    Py_XDECREF(rest);
    PyBuffer_Release(&view);
    return result;
}
