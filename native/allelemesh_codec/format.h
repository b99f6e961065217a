/* The index value format's constants (schema 3), for the C writers and readers of it.
 *
 * Defined (and documented) by nodes/index/records.py; tests/nodes/build/test_pack_counts.py
 * checks these against it, through the values allelemesh_codec._pack.FORMAT exposes.
 */
#ifndef ALLELEMESH_FORMAT_H
#define ALLELEMESH_FORMAT_H

/* A count the source did not give, in the totals handed to pooling. */
#define AM_ABSENT 0xFFFFFFFFu
/* Bits 2k, 2k+1 of a group's code: the width of count k (0 absent, 1 uint8, 2 uint16,
 * 3 uint32), counts in the order AC, AN, homozygous, heterozygous, hemizygous. */
#define AM_COUNTS 5
/* Bit 10: the group carries the source's own AF (a double after its counts). */
#define AM_CODE_SOURCE_AF (1u << 10)
/* Bit 11: the group is in the record (code 0: it is not; the total always is). */
#define AM_CODE_PRESENT (1u << 11)

#endif
