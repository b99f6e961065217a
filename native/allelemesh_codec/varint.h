/* Protobuf varint writing, for the C writers of protobuf bytes (_codec.c, _lines.c). */
#ifndef ALLELEMESH_VARINT_H
#define ALLELEMESH_VARINT_H

#include <Python.h>
#include <stdint.h>

/* Write v as a base-128 varint at out; returns the byte after it. */
static inline unsigned char *put_varint(unsigned char *out, uint64_t v) {
    while (v >= 0x80) {
        *out++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *out++ = (unsigned char)v;
    return out;
}

/* How many bytes put_varint writes for v. */
static inline Py_ssize_t varint_len(uint64_t v) {
    Py_ssize_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

#endif
