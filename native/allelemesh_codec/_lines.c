/* The builder's plain lines in one call: a batch of sites VCF data lines to the (key, value)
 * of every allele, handed to the writer's emit (nodes/build/_text_reader.py, TextReader).
 *
 * A line is taken when the Python line path (TextReader._line, _alleles, _plain_allele)
 * would take it without validate_variant or normalize: 8+ columns, a decimal POS within
 * the contig, a contig the reader has already resolved (its _contig_info entry) that is
 * not X or Y (haploid regions: the Python path), REF and every ALT non-empty upper-case
 * ACGT, REF != ALT, REF + ALT shorter than the inline key limit, indels and multi-allelic
 * records only without a reference (left-alignment), a FILTER column the reader has seen
 * (its _filter_bytes entry) and INFO the packer packs. Everything else stops the call at
 * that line, before anything of it is emitted: the caller reads it the Python way (which
 * words its error) and calls again after it. So items go out in input order and a line
 * taken here has the bytes the Python path gives it (tests/nodes/build/test_pack_lines.py).
 *
 * Key (nodes/index/keys.py): contig code, big-endian position, REF separator ALT, the
 * alleles trimmed as mesh.model.normalize.trim does. Value (nodes/index/records.py):
 * codes | counts from the packer, the Variant field (nodes/build/_encode.variant_field),
 * the filters. The tags, separator and limits come from Python (the layout tuple).
 */
#include <string.h>

#include "packer.h"
#include "varint.h"

#define MAX_POS_DIGITS 10

typedef struct {
    const char *s;
    Py_ssize_t n;
} Span;

typedef struct {
    long holdback;
    Py_ssize_t max_inline;
    int indels;
    Span variant_tag, position_tag, ref_tag, alt_tag, separator;
} Layout;

typedef struct {
    PyObject *key;   /* the chrom bytes looked up (owned) */
    PyObject *name;  /* _Contig.name (owned) */
    PyObject *field; /* _Contig.field (owned) */
    unsigned long code, length;
    int usable; /* 0: the Python path reads its lines (X, Y) */
} Contig;

typedef struct {
    unsigned char *buf;
    Py_ssize_t cap;
} Scratch;

static int span_of(PyObject *o, Span *out) {
    if (!PyBytes_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "pack_lines: layout tags must be bytes");
        return 0;
    }
    out->s = PyBytes_AS_STRING(o);
    out->n = PyBytes_GET_SIZE(o);
    return 1;
}

static int layout_of(PyObject *t, Layout *l) {
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 8) {
        PyErr_SetString(PyExc_TypeError, "pack_lines: layout is (holdback, max_inline, indels, "
                                         "variant, position, ref, alt tags, separator)");
        return 0;
    }
    l->holdback = PyLong_AsLong(PyTuple_GET_ITEM(t, 0));
    l->max_inline = PyLong_AsSsize_t(PyTuple_GET_ITEM(t, 1));
    l->indels = PyObject_IsTrue(PyTuple_GET_ITEM(t, 2));
    if (PyErr_Occurred() || l->indels < 0)
        return 0;
    return span_of(PyTuple_GET_ITEM(t, 3), &l->variant_tag) &&
           span_of(PyTuple_GET_ITEM(t, 4), &l->position_tag) &&
           span_of(PyTuple_GET_ITEM(t, 5), &l->ref_tag) &&
           span_of(PyTuple_GET_ITEM(t, 6), &l->alt_tag) &&
           span_of(PyTuple_GET_ITEM(t, 7), &l->separator);
}

static void contig_clear(Contig *c) {
    Py_CLEAR(c->key);
    Py_CLEAR(c->name);
    Py_CLEAR(c->field);
}

static int attr_ulong(PyObject *o, const char *name, unsigned long *out) {
    PyObject *v = PyObject_GetAttrString(o, name);
    if (v == NULL)
        return 0;
    *out = PyLong_AsUnsignedLong(v);
    Py_DECREF(v);
    return !PyErr_Occurred();
}

/* Resolves the chrom at s into c: 1, 0 when the reader has no usable entry (the Python
 * path), -1 on an error set. */
static int contig_of(PyObject *contigs, const char *s, Py_ssize_t n, Contig *c) {
    if (c->key != NULL && PyBytes_GET_SIZE(c->key) == n &&
        memcmp(PyBytes_AS_STRING(c->key), s, (size_t)n) == 0)
        return c->key != NULL && c->field != NULL ? 1 : 0;
    contig_clear(c);
    c->key = PyBytes_FromStringAndSize(s, n);
    if (c->key == NULL)
        return -1;
    PyObject *entry = PyDict_GetItemWithError(contigs, c->key); /* borrowed */
    if (entry == NULL) {
        Py_CLEAR(c->key); /* not resolved yet: looked up again once Python has */
        return PyErr_Occurred() ? -1 : 0;
    }
    if (PyUnicode_Check(entry))
        return 0; /* the contig's error, worded by the Python path */
    PyObject *sex = PyObject_GetAttrString(entry, "sex");
    if (sex == NULL)
        return -1;
    const int haploid_rules = PyObject_IsTrue(sex);
    Py_DECREF(sex);
    if (haploid_rules < 0)
        return -1;
    if (haploid_rules)
        return 0; /* field stays NULL: X and Y go the Python way */
    c->name = PyObject_GetAttrString(entry, "name");
    c->field = PyObject_GetAttrString(entry, "field");
    if (c->name == NULL || c->field == NULL || !attr_ulong(entry, "code", &c->code) ||
        !attr_ulong(entry, "length", &c->length))
        return -1;
    if (!PyBytes_Check(c->field) || c->code > 0xFF || c->length > 0xFFFFFFFFul) {
        PyErr_SetString(PyExc_TypeError, "pack_lines: a contig entry is no _Contig");
        return -1;
    }
    return 1;
}

static inline int acgt(const char *s, Py_ssize_t n) {
    if (n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (s[i] != 'A' && s[i] != 'C' && s[i] != 'G' && s[i] != 'T')
            return 0;
    return 1;
}

static inline unsigned char *put_span(unsigned char *out, const char *s, Py_ssize_t n) {
    memcpy(out, s, (size_t)n);
    return out + n;
}

static inline unsigned char *put_prefix(unsigned char *out, unsigned long code, uint32_t pos) {
    out[0] = (unsigned char)code;
    out[1] = (unsigned char)(pos >> 24);
    out[2] = (unsigned char)(pos >> 16);
    out[3] = (unsigned char)(pos >> 8);
    out[4] = (unsigned char)pos;
    return out + 5;
}

static int reserve(Scratch *sc, Py_ssize_t n) {
    if (sc->cap >= n)
        return 1;
    unsigned char *buf = PyMem_Realloc(sc->buf, (size_t)n);
    if (buf == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    sc->buf = buf;
    sc->cap = n;
    return 1;
}

/* Emits one allele (REF/ALT trimmed here); 0 on an error set. */
static int emit_allele(PyObject *emit, const Packer *p, const Layout *l, const Contig *c,
                       Scratch *sc, Py_ssize_t a, Py_ssize_t n_alt, uint32_t pos,
                       const char *ref, Py_ssize_t lr, const char *alt, Py_ssize_t la,
                       PyObject *filters, PyObject *origin, PyObject *floor) {
    while (lr > 1 && la > 1 && ref[lr - 1] == alt[la - 1])
        lr--, la--;
    while (lr > 1 && la > 1 && ref[0] == alt[0])
        ref++, alt++, lr--, la--, pos++;
    const Py_ssize_t field = PyBytes_GET_SIZE(c->field), nf = PyBytes_GET_SIZE(filters);
    const Py_ssize_t most = am_head_most(p) + l->variant_tag.n + 10 + field +
                            l->position_tag.n + 10 + l->ref_tag.n + l->alt_tag.n + 20 + lr +
                            la + nf + 5 + l->separator.n + lr + la;
    if (!reserve(sc, most))
        return 0;
    unsigned char *out = am_write_head(p, a, n_alt, sc->buf);
    const Py_ssize_t body = field + l->position_tag.n + varint_len(pos) + l->ref_tag.n +
                            varint_len((uint64_t)lr) + lr + l->alt_tag.n +
                            varint_len((uint64_t)la) + la;
    out = put_span(out, l->variant_tag.s, l->variant_tag.n);
    out = put_varint(out, (uint64_t)body);
    out = put_span(out, PyBytes_AS_STRING(c->field), field);
    out = put_span(out, l->position_tag.s, l->position_tag.n);
    out = put_varint(out, pos);
    out = put_span(out, l->ref_tag.s, l->ref_tag.n);
    out = put_varint(out, (uint64_t)lr);
    out = put_span(out, ref, lr);
    out = put_span(out, l->alt_tag.s, l->alt_tag.n);
    out = put_varint(out, (uint64_t)la);
    out = put_span(out, alt, la);
    out = put_span(out, PyBytes_AS_STRING(filters), nf);
    PyObject *value = PyBytes_FromStringAndSize((const char *)sc->buf, out - sc->buf);
    if (value == NULL)
        return 0;
    unsigned char *k = put_prefix(sc->buf, c->code, pos);
    k = put_span(k, ref, lr);
    k = put_span(k, l->separator.s, l->separator.n);
    k = put_span(k, alt, la);
    PyObject *key = PyBytes_FromStringAndSize((const char *)sc->buf, k - sc->buf);
    if (key == NULL) {
        Py_DECREF(value);
        return 0;
    }
    PyObject *args[4] = {key, value, origin, floor};
    PyObject *r = PyObject_Vectorcall(emit, args, 4, NULL);
    Py_DECREF(key);
    Py_DECREF(value);
    if (r == NULL)
        return 0;
    Py_DECREF(r);
    return 1;
}

#define MAX_ALTS 64

/* One line: 1 emitted, 0 declined (nothing emitted), -1 error set. */
static int one_line(PyObject *line, Packer *p, const Layout *l, PyObject *contigs,
                    PyObject *filter_map, Contig *c, PyObject **filt_key, PyObject **filt_val,
                    PyObject *emit, PyObject *path, Scratch *sc, Py_ssize_t *alleles,
                    uint32_t *max_an) {
    if (!PyBytes_Check(line))
        return 0;
    const char *s = PyBytes_AS_STRING(line), *end = s + PyBytes_GET_SIZE(line);
    const char *col[8];
    Py_ssize_t len[8];
    const char *q = s;
    for (int i = 0; i < 8; i++) {
        const char *t = memchr(q, '\t', (size_t)(end - q));
        if (t == NULL) {
            if (i < 7)
                return 0; /* fewer than 8 columns */
            t = end;
        }
        col[i] = q;
        len[i] = t - q;
        q = t < end ? t + 1 : end;
    }
    if (len[1] < 1 || len[1] > MAX_POS_DIGITS)
        return 0;
    uint64_t pos = 0;
    for (Py_ssize_t i = 0; i < len[1]; i++) {
        if (col[1][i] < '0' || col[1][i] > '9')
            return 0;
        pos = pos * 10 + (uint64_t)(col[1][i] - '0');
    }
    const char *ref = col[3];
    const Py_ssize_t lr = len[3];
    if (pos < 1 || !acgt(ref, lr))
        return 0;
    const int found = contig_of(contigs, col[0], len[0], c);
    if (found <= 0)
        return found;
    if (pos + (uint64_t)lr - 1 > c->length)
        return 0;
    const char *alt[MAX_ALTS];
    Py_ssize_t la[MAX_ALTS];
    Py_ssize_t n_alt = 0;
    for (const char *a = col[4], *alt_end = col[4] + len[4];;) {
        const char *comma = memchr(a, ',', (size_t)(alt_end - a));
        const char *stop = comma != NULL ? comma : alt_end;
        if (n_alt == MAX_ALTS || !acgt(a, stop - a))
            return 0;
        alt[n_alt] = a;
        la[n_alt] = stop - a;
        if (la[n_alt] == lr && memcmp(a, ref, (size_t)lr) == 0)
            return 0; /* REF == ALT: validate_variant words it */
        if (lr + la[n_alt] >= l->max_inline)
            return 0;
        n_alt++;
        if (comma == NULL)
            break;
        a = comma + 1;
    }
    if (!l->indels && (n_alt > 1 || lr != 1 || la[0] != 1))
        return 0; /* a reference may left-align it: normalize */
    Py_ssize_t info_len = len[7];
    if (info_len > 0 && col[7][info_len - 1] == '\r')
        info_len--;
    const int counted = am_count(p, col[7], info_len, n_alt, 0);
    if (counted <= 0)
        return counted;
    if (*filt_key == NULL || PyBytes_GET_SIZE(*filt_key) != len[6] ||
        memcmp(PyBytes_AS_STRING(*filt_key), col[6], (size_t)len[6]) != 0) {
        Py_CLEAR(*filt_key);
        Py_CLEAR(*filt_val);
        PyObject *key = PyBytes_FromStringAndSize(col[6], len[6]);
        if (key == NULL)
            return -1;
        PyObject *value = PyDict_GetItemWithError(filter_map, key);
        if (value == NULL || !PyBytes_Check(value)) {
            Py_DECREF(key);
            return PyErr_Occurred() ? -1 : 0; /* not seen yet: the Python path adds it */
        }
        Py_INCREF(value);
        *filt_key = key;
        *filt_val = value;
    }
    const uint32_t an = am_total_an(p, n_alt);
    if (an > *max_an)
        *max_an = an;
    unsigned char fl[5];
    put_prefix(fl, c->code, pos > (uint64_t)l->holdback ? (uint32_t)(pos - (uint64_t)l->holdback) : 0);
    PyObject *floor = PyBytes_FromStringAndSize((const char *)fl, 5);
    PyObject *origin = NULL;
    if (floor != NULL)
        origin = Py_BuildValue("(OOKy#)", path, c->name, (unsigned long long)pos, col[2], len[2]);
    if (origin == NULL) {
        Py_XDECREF(floor);
        return -1;
    }
    int ok = 1;
    for (Py_ssize_t a = 0; a < n_alt && ok; a++)
        ok = emit_allele(emit, p, l, c, sc, a, n_alt, (uint32_t)pos, ref, lr, alt[a], la[a],
                         *filt_val, origin, floor);
    Py_DECREF(origin);
    Py_DECREF(floor);
    if (!ok)
        return -1;
    *alleles += n_alt;
    return 1;
}

/* pack_lines(packer, contigs, filters, emit, path, layout, lines, start)
 *   -> (next, alleles, max AN): lines[start:next] emitted, lines[next] (if any) declined. */
PyObject *pack_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 8 || !PyDict_Check(args[1]) || !PyDict_Check(args[2]) ||
        !PyList_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "pack_lines(packer, contigs dict, filters dict, emit, "
                                         "path, layout, lines list, start)");
        return NULL;
    }
    Packer *p = am_packer(args[0]);
    if (p == NULL)
        return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(args[7]);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    Layout l;
    if (!layout_of(args[5], &l))
        return NULL;
    if (l.max_inline < 2 || l.max_inline > 16384 || l.holdback < 0) {
        PyErr_SetString(PyExc_ValueError, "pack_lines: layout limits out of range");
        return NULL;
    }
    Contig c = {NULL, NULL, NULL, 0, 0, 0};
    Scratch sc = {NULL, 0};
    PyObject *filt_key = NULL, *filt_val = NULL;
    Py_ssize_t alleles = 0;
    uint32_t max_an = 0;
    int status = 1;
    PyObject *lines = args[6];
    for (; i >= 0 && i < PyList_GET_SIZE(lines); i++) {
        PyObject *line = PyList_GET_ITEM(lines, i);
        Py_INCREF(line); /* emit runs Python: keep the line alive */
        status = one_line(line, p, &l, args[1], args[2], &c, &filt_key, &filt_val, args[3],
                          args[4], &sc, &alleles, &max_an);
        Py_DECREF(line);
        if (status <= 0)
            break;
    }
    contig_clear(&c);
    Py_XDECREF(filt_key);
    Py_XDECREF(filt_val);
    PyMem_Free(sc.buf);
    if (status < 0)
        return NULL;
    return Py_BuildValue("(nnk)", i, alleles, (unsigned long)max_an);
}
