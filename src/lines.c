/* Reads the lines a rank owns from one file segment with large pread() blocks. */
#include "clickmill/lines.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clickmill/error.h"

int cm_lines_open(cm_lines *lines, const char *path, int64_t file_end, int64_t data_start,
                  int64_t seg_start, int64_t seg_end, size_t block_size)
{
    memset(lines, 0, sizeof *lines);
    lines->fd = -1;
    lines->path = path;
    lines->file_end = file_end;
    lines->data_start = data_start;
    lines->seg_start = seg_start;
    lines->seg_end = seg_end;
    lines->next = -1;
    lines->fd = open(path, O_RDONLY);
    if (lines->fd < 0) {
        snprintf(lines->err, sizeof lines->err, "%s: cannot open: %s", path, strerror(errno));
        return CM_EIO;
    }
    /* Room for one whole line of the longest accepted length plus a block to read into. */
    lines->buf_cap = block_size + CM_LINE_MAX + 2;
    lines->buf = cm_xmalloc(lines->buf_cap);
    return 0;
}

void cm_lines_close(cm_lines *lines)
{
    if (lines->fd >= 0)
        close(lines->fd);
    free(lines->buf);
    lines->fd = -1;
    lines->buf = NULL;
}

/* Makes the window start at `from` (keeping bytes already read) and fills it as far as the
 * buffer and the file allow. Returns 0 or CM_EIO. */
static int refill_from(cm_lines *lines, int64_t from)
{
    int64_t window_end = lines->buf_off + (int64_t)lines->buf_len;
    if (from >= lines->buf_off && from <= window_end) {
        size_t keep = (size_t)(window_end - from);
        memmove(lines->buf, lines->buf + (from - lines->buf_off), keep);
        lines->buf_len = keep;
    } else {
        lines->buf_len = 0;
    }
    lines->buf_off = from;
    while (lines->buf_len < lines->buf_cap) {
        int64_t at = lines->buf_off + (int64_t)lines->buf_len;
        if (at >= lines->file_end)
            break;
        size_t want = lines->buf_cap - lines->buf_len;
        if ((int64_t)want > lines->file_end - at)
            want = (size_t)(lines->file_end - at);
        ssize_t got = pread(lines->fd, lines->buf + lines->buf_len, want, (off_t)at);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            snprintf(lines->err, sizeof lines->err, "%s: read error at byte %lld: %s", lines->path,
                     (long long)at, strerror(errno));
            return CM_EIO;
        }
        if (got == 0) {
            snprintf(lines->err, sizeof lines->err,
                     "%s: the file shrank while it was read (ends at byte %lld, expected %lld)",
                     lines->path, (long long)at, (long long)lines->file_end);
            return CM_EIO;
        }
        lines->buf_len += (size_t)got;
        lines->bytes_read += got;
        /* One block at a time is enough to make progress; the caller asks again if needed. */
        if (lines->buf_len >= lines->buf_cap - CM_LINE_MAX)
            break;
    }
    return 0;
}

static int64_t window_end(const cm_lines *lines)
{
    return lines->buf_off + (int64_t)lines->buf_len;
}

/* Finds the first '\n' at or after absolute offset `from`, reading forward and discarding what
 * is behind. Sets *newline to its offset, or to file_end when there is none. */
static int find_newline(cm_lines *lines, int64_t from, int64_t *newline)
{
    for (;;) {
        if (from < lines->buf_off || from >= window_end(lines)) {
            if (from >= lines->file_end) {
                *newline = lines->file_end;
                return 0;
            }
            int rc = refill_from(lines, from);
            if (rc)
                return rc;
        }
        const char *start = lines->buf + (from - lines->buf_off);
        const char *hit = memchr(start, '\n', (size_t)(window_end(lines) - from));
        if (hit) {
            *newline = lines->buf_off + (hit - lines->buf);
            return 0;
        }
        from = window_end(lines);
    }
}

static int first_line_start(cm_lines *lines)
{
    if (lines->seg_start <= lines->data_start) {
        lines->next = lines->data_start;
        return 0;
    }
    /* A line starts at seg_start only if the byte before it ends a line. */
    int64_t newline;
    int rc = find_newline(lines, lines->seg_start - 1, &newline);
    if (rc)
        return rc;
    lines->next = newline < lines->file_end ? newline + 1 : lines->file_end;
    return 0;
}

int cm_lines_next(cm_lines *lines, const char **line, size_t *len, int64_t *offset)
{
    int rc;
    if (lines->next < 0 && (rc = first_line_start(lines)) != 0)
        return rc;
    int64_t start = lines->next;
    if (start >= lines->seg_end || start >= lines->file_end)
        return 0;
    *offset = start;
    if (start < lines->buf_off || start >= window_end(lines)) {
        if ((rc = refill_from(lines, start)) != 0)
            return rc;
    }
    for (;;) {
        const char *begin = lines->buf + (start - lines->buf_off);
        size_t available = (size_t)(window_end(lines) - start);
        const char *hit = memchr(begin, '\n', available);
        int64_t end; /* offset of the line's end (its '\n', or the end of the file) */
        if (hit) {
            end = start + (hit - begin);
            lines->next = end + 1;
        } else if (window_end(lines) >= lines->file_end) {
            end = lines->file_end;
            lines->next = end;
        } else if (available > CM_LINE_MAX + 1) { /* even without a trailing '\r' */
            int64_t newline;
            if ((rc = find_newline(lines, window_end(lines), &newline)) != 0)
                return rc;
            lines->next = newline < lines->file_end ? newline + 1 : lines->file_end;
            return CM_LINE_TOO_LONG;
        } else {
            if ((rc = refill_from(lines, start)) != 0)
                return rc;
            continue;
        }
        size_t length = (size_t)(end - start);
        if (length > 0 && begin[length - 1] == '\r')
            length--;
        if (length > CM_LINE_MAX)
            return CM_LINE_TOO_LONG;
        *line = begin;
        *len = length;
        return 1;
    }
}
