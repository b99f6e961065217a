/* Expands one allelemesh index value (schema 3) into serialized VariantFrequency bytes.
 *
 * The format is documented (and written) by nodes/index/records.py:
 *
 *   value = codes | counts | variant | filters
 *
 * codes: one little-endian uint16 per group of the dataset: bits 2k..2k+1 the width of
 * count k (AC, AN, hom, het, hemi; 0 absent, 1 uint8, 2 uint16, 3 uint32), bit 10 a
 * source AF double follows the group's counts, bit 11 the group is in the record.
 * variant: the encoded VariantFrequency.variant field; filters: the rest.
 *
 * Output (protobuf, fields in number order): variant | dataset | counts (5) |
 * populations (6, one per present group after the total) | filters. Every count the
 * value holds is written, a 0 too; AF is AC/AN when both are given and AN > 0, else the
 * source's AF when stored. A value that does not parse raises ValueError (never reads
 * past its end).
 *
 * The protobuf field keys are not written here: set_keys() takes them once, at import,
 * from the generated descriptors (mesh.model.wire), the one place they are defined.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define ABSENT 0xFFFFFFFFu
#define CODE_SOURCE_AF (1u << 10)
#define CODE_PRESENT (1u << 11)
#define CODE_KNOWN_BITS 0x0FFFu

static const Py_ssize_t WIDTH_BYTES[4] = {0, 1, 2, 4};
/* Field keys, in the order set_keys() takes them. */
enum { K_AC, K_AN, K_AF, K_HOM, K_HET, K_HEMI, K_VARIANT, K_COUNTS, K_POPULATIONS,
       K_POPULATION_COUNTS, K_COUNT };
static unsigned char KEYS[K_COUNT];
static int keys_set = 0;
static unsigned char COUNT_TAGS[5];

static inline unsigned char *put_varint(unsigned char *out, uint64_t v) {
    while (v >= 0x80) {
        *out++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *out++ = (unsigned char)v;
    return out;
}

static inline Py_ssize_t varint_len(uint64_t v) {
    Py_ssize_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint32_t read_le(const unsigned char *p, int width) {
    switch (width) {
    case 1:
        return p[0];
    case 2:
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
    default:
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
               ((uint32_t)p[3] << 24);
    }
}

static PyObject *bad_value(const char *why) {
    PyErr_Format(PyExc_ValueError, "stored value does not match the dataset's layout: %s", why);
    return NULL;
}

static PyObject *set_keys(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_Check(arg) || PyBytes_GET_SIZE(arg) != K_COUNT) {
        PyErr_Format(PyExc_ValueError, "set_keys: %d one-byte field keys", K_COUNT);
        return NULL;
    }
    const unsigned char *k = (const unsigned char *)PyBytes_AS_STRING(arg);
    for (int i = 0; i < K_COUNT; i++) {
        if (k[i] & 0x80) {
            PyErr_SetString(PyExc_ValueError, "set_keys: a field key over one byte");
            return NULL;
        }
        KEYS[i] = k[i];
    }
    const int count_keys[5] = {K_AC, K_AN, K_HOM, K_HET, K_HEMI};
    for (int i = 0; i < 5; i++)
        COUNT_TAGS[i] = KEYS[count_keys[i]];
    keys_set = 1;
    Py_RETURN_NONE;
}

static PyObject *expand(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (!keys_set) {
        PyErr_SetString(PyExc_RuntimeError, "expand: set_keys() has not been called");
        return NULL;
    }
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "expand(groups, dataset, labels, suffix, value)");
        return NULL;
    }
    Py_ssize_t groups = PyLong_AsSsize_t(args[0]);
    if (groups == -1 && PyErr_Occurred())
        return NULL;
    PyObject *dataset = args[1], *labels = args[2], *suffix = args[3];
    if (!PyBytes_Check(dataset) || !PyTuple_Check(labels) || !PyBytes_Check(suffix) ||
        PyTuple_GET_SIZE(labels) != groups || groups < 1) {
        PyErr_SetString(PyExc_TypeError, "expand: dataset bytes, labels tuple of groups, suffix bytes");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[4], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *v = (const unsigned char *)view.buf;
    const Py_ssize_t len = view.len;
    PyObject *result = NULL, *out_bytes = NULL;
    uint32_t total[5] = {ABSENT, ABSENT, ABSENT, ABSENT, ABSENT};

    const Py_ssize_t codes_len = 2 * groups;
    if (len < codes_len) {
        bad_value("shorter than its group codes");
        goto done;
    }
    /* Pass 1: the size of the counts and an upper bound of the output. */
    Py_ssize_t counts_len = 0, bound = PyBytes_GET_SIZE(dataset);
    const Py_ssize_t suffix_len = PyBytes_GET_SIZE(suffix);
    for (Py_ssize_t g = 0; g < groups; g++) {
        unsigned code = (unsigned)v[2 * g] | ((unsigned)v[2 * g + 1] << 8);
        if (code & ~CODE_KNOWN_BITS) {
            bad_value("unknown group code bits");
            goto done;
        }
        if (!(code & CODE_PRESENT)) {
            if (g == 0) {
                bad_value("no total counts");
                goto done;
            }
            continue;
        }
        for (int k = 0; k < 5; k++)
            counts_len += WIDTH_BYTES[(code >> (2 * k)) & 3];
        if (code & CODE_SOURCE_AF)
            counts_len += 8;
        PyObject *label = PyTuple_GET_ITEM(labels, g);
        if (!PyBytes_Check(label)) {
            PyErr_SetString(PyExc_TypeError, "expand: labels must be bytes");
            goto done;
        }
        /* tag + len(5) + label + tag + len(1) + body (5 counts of 6, AF of 9, suffix) */
        bound += 1 + 5 + PyBytes_GET_SIZE(label) + 2 + 5 * 6 + 9 + suffix_len;
    }
    Py_ssize_t pos = codes_len + counts_len;
    /* The variant field: its key, varint length, body. */
    if (pos + 2 > len || v[pos] != KEYS[K_VARIANT]) {
        bad_value("no variant after the counts");
        goto done;
    }
    uint64_t variant_len = 0;
    Py_ssize_t i = pos + 1;
    for (int shift = 0;; shift += 7) {
        if (i >= len || shift > 28) {
            bad_value("bad variant length");
            goto done;
        }
        unsigned char b = v[i++];
        variant_len |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80)
            break;
    }
    if ((uint64_t)(len - i) < variant_len) {
        bad_value("variant runs past the end");
        goto done;
    }
    const Py_ssize_t variant_end = i + (Py_ssize_t)variant_len;
    bound += len - pos;

    out_bytes = PyBytes_FromStringAndSize(NULL, bound);
    if (out_bytes == NULL)
        goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(out_bytes);
    unsigned char *const start = out;
    memcpy(out, v + pos, (size_t)(variant_end - pos));
    out += variant_end - pos;
    memcpy(out, PyBytes_AS_STRING(dataset), (size_t)PyBytes_GET_SIZE(dataset));
    out += PyBytes_GET_SIZE(dataset);

    /* Pass 2: every present group's counts, encoded. */
    const unsigned char *p = v + codes_len;
    const char *suffix_data = PyBytes_AS_STRING(suffix);
    unsigned char body[5 * 6 + 9 + 64];
    unsigned char *body_buf = body;
    unsigned char *heap = NULL;
    if (suffix_len > 64) {
        heap = PyMem_Malloc((size_t)(5 * 6 + 9 + suffix_len));
        if (heap == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        body_buf = heap;
    }
    for (Py_ssize_t g = 0; g < groups; g++) {
        unsigned code = (unsigned)v[2 * g] | ((unsigned)v[2 * g + 1] << 8);
        if (!(code & CODE_PRESENT))
            continue;
        uint32_t counts[5];
        for (int k = 0; k < 5; k++) {
            int width = (code >> (2 * k)) & 3;
            if (width == 0) {
                counts[k] = ABSENT;
            } else {
                int bytes = (int)WIDTH_BYTES[width];
                counts[k] = read_le(p, bytes);
                p += bytes;
                if (counts[k] == ABSENT) {
                    PyMem_Free(heap);
                    bad_value("a count of 2**32 - 1");
                    goto done;
                }
            }
        }
        int has_af = (code & CODE_SOURCE_AF) != 0;
        double source_af = 0.0;
        if (has_af) {
            source_af = PyFloat_Unpack8((const char *)p, 1);
            p += 8;
        }
        /* The body: counts in field order, AF after AN. */
        unsigned char *b = body_buf;
        int af_written = 0;
        for (int k = 0; k < 5; k++) {
            if (k == 2 && !af_written) {
                if (counts[0] != ABSENT && counts[1] != ABSENT && counts[1] != 0) {
                    *b++ = KEYS[K_AF];
                    PyFloat_Pack8((double)counts[0] / (double)counts[1], (char *)b, 1);
                    b += 8;
                } else if (has_af) {
                    *b++ = KEYS[K_AF];
                    PyFloat_Pack8(source_af, (char *)b, 1);
                    b += 8;
                }
                af_written = 1;
            }
            if (counts[k] == ABSENT)
                continue;
            *b++ = COUNT_TAGS[k];
            b = put_varint(b, counts[k]);
        }
        memcpy(b, suffix_data, (size_t)suffix_len);
        b += suffix_len;
        const Py_ssize_t body_len = b - body_buf;
        if (g == 0) {
            memcpy(total, counts, sizeof(total));
            *out++ = KEYS[K_COUNTS];
            out = put_varint(out, (uint64_t)body_len);
        } else {
            PyObject *label = PyTuple_GET_ITEM(labels, g);
            const Py_ssize_t label_len = PyBytes_GET_SIZE(label);
            const Py_ssize_t inner = label_len + 1 + varint_len((uint64_t)body_len) + body_len;
            *out++ = KEYS[K_POPULATIONS];
            out = put_varint(out, (uint64_t)inner);
            memcpy(out, PyBytes_AS_STRING(label), (size_t)label_len);
            out += label_len;
            *out++ = KEYS[K_POPULATION_COUNTS];
            out = put_varint(out, (uint64_t)body_len);
        }
        memcpy(out, body_buf, (size_t)body_len);
        out += body_len;
    }
    PyMem_Free(heap);
    memcpy(out, v + variant_end, (size_t)(len - variant_end));
    out += len - variant_end;
    if (_PyBytes_Resize(&out_bytes, out - start) < 0)
        goto done; /* out_bytes is freed and NULL */
    result = Py_BuildValue("(O(kkkkk))", out_bytes, (unsigned long)total[0],
                           (unsigned long)total[1], (unsigned long)total[2],
                           (unsigned long)total[3], (unsigned long)total[4]);
done:
    Py_XDECREF(out_bytes);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"set_keys", (PyCFunction)set_keys, METH_O,
     "set_keys(keys) -> None: the one-byte protobuf field keys, from the descriptors"},
    {"expand", (PyCFunction)(void (*)(void))expand, METH_FASTCALL,
     "expand(groups, dataset, labels, suffix, value) -> (VariantFrequency bytes, total counts)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "allelemesh_codec._codec",
                                    "Expands allelemesh index values (schema 3).", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__codec(void) { return PyModule_Create(&module); }
