/* Reading the lines a rank owns from one file segment, in large blocks. */
#ifndef CLICKMILL_LINES_H
#define CLICKMILL_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "clickmill/plan.h"

/* Reads the lines that start inside one segment: skips to the first line start at or after the
 * segment's start and reads past its end to finish the last line. A line is owned by the segment
 * holding its first byte, so every line of a file is read by exactly one segment. */
typedef struct {
    int fd;
    const char *path;
    int64_t file_end;   /* the file's size in the plan; bytes past it are not read */
    int64_t data_start; /* first byte after the header */
    int64_t seg_start, seg_end;
    int64_t next; /* absolute offset of the next line start; -1 before the first */
    char *buf;    /* holds file bytes [buf_off, buf_off + buf_len) */
    size_t buf_cap;
    size_t buf_len;
    int64_t buf_off;
    int64_t bytes_read;
    char err[256];
} cm_lines;

/* Status of cm_lines_next beyond 0 (end) and 1 (a line). */
#define CM_LINE_TOO_LONG 2

/* Opens a segment for reading with a block of `block_size` bytes. Returns 0 or CM_EIO. Local. */
int cm_lines_open(cm_lines *lines, const char *path, int64_t file_end, int64_t data_start,
                  int64_t seg_start, int64_t seg_end, size_t block_size);

/* The next owned line, without its "\n" or "\r\n". Returns 1 and sets line, len and offset (of
 * the line's first byte); CM_LINE_TOO_LONG for a line over CM_LINE_MAX bytes (skipped, offset
 * set); 0 at the end of the segment; CM_EIO on a read error or a file that shrank, with the
 * message in lines->err. The line stays valid until the next call. Local. */
int cm_lines_next(cm_lines *lines, const char **line, size_t *len, int64_t *offset);

void cm_lines_close(cm_lines *lines);

#endif
