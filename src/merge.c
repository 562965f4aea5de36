/* Reduction of keyed tables to rank 0 and hash-partitioned exchange to owner ranks. */
#include "clickmill/merge.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"

/* Messages are sent in pieces no larger than this, so counts always fit an int. */
#define CHUNK_BYTES (1 << 30)
#define ROUND_BYTES (256 << 20)
#define TAG_LENGTH  101
#define TAG_DATA    102

void cm_send_bytes(MPI_Comm comm, int dest, const void *data, size_t size)
{
    const char *bytes = data;
    int64_t len = (int64_t)size;
    CM_MPI_CHECK(comm, MPI_Send(&len, 1, MPI_INT64_T, dest, TAG_LENGTH, comm));
    for (int64_t at = 0; at < len; at += CHUNK_BYTES) {
        int piece = (int)(len - at < CHUNK_BYTES ? len - at : CHUNK_BYTES);
        CM_MPI_CHECK(comm, MPI_Send(bytes + at, piece, MPI_BYTE, dest, TAG_DATA, comm));
    }
}

void cm_recv_bytes(MPI_Comm comm, int source, cm_buffer *buffer)
{
    int64_t len;
    CM_MPI_CHECK(comm, MPI_Recv(&len, 1, MPI_INT64_T, source, TAG_LENGTH, comm, MPI_STATUS_IGNORE));
    buffer->len = 0;
    if (len > 0 && (size_t)len > buffer->cap) {
        buffer->data = cm_xrealloc(buffer->data, (size_t)len);
        buffer->cap = (size_t)len;
    }
    for (int64_t at = 0; at < len; at += CHUNK_BYTES) {
        int piece = (int)(len - at < CHUNK_BYTES ? len - at : CHUNK_BYTES);
        CM_MPI_CHECK(comm, MPI_Recv(buffer->data + at, piece, MPI_BYTE, source, TAG_DATA, comm,
                                    MPI_STATUS_IGNORE));
    }
    buffer->len = (size_t)len;
}

void cm_bcast_buffer(MPI_Comm comm, cm_buffer *buffer, int root)
{
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    int64_t len = (int64_t)buffer->len;
    CM_MPI_CHECK(comm, MPI_Bcast(&len, 1, MPI_INT64_T, root, comm));
    if (rank != root) {
        if ((size_t)len + 1 > buffer->cap) {
            buffer->data = cm_xrealloc(buffer->data, (size_t)len + 1);
            buffer->cap = (size_t)len + 1;
        }
        buffer->len = (size_t)len;
    }
    for (int64_t at = 0; at < len; at += CHUNK_BYTES) {
        int piece = (int)(len - at < CHUNK_BYTES ? len - at : CHUNK_BYTES);
        CM_MPI_CHECK(comm, MPI_Bcast(buffer->data + at, piece, MPI_BYTE, root, comm));
    }
}

static void serialize_all(const cm_table *table, cm_buffer *out)
{
    for (size_t i = 0; i < table->count; i++)
        cm_table_serialize_entry(table, i, out);
}

void cm_table_reduce(MPI_Comm comm, cm_table *table)
{
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    cm_buffer buffer = {0};
    for (int step = 1; step < nranks; step <<= 1) {
        if (rank & step) {
            buffer.len = 0; /* it may still hold a partial received at an earlier step */
            serialize_all(table, &buffer);
            cm_send_bytes(comm, rank - step, buffer.data, buffer.len);
            cm_table_clear(table);
            break;
        }
        if (rank + step < nranks) {
            cm_recv_bytes(comm, rank + step, &buffer);
            if (cm_table_merge_serialized(table, buffer.data, buffer.len) != 0)
                cm_mpi_fail(comm, MPI_ERR_TRUNCATE, "merging a partial table", __FILE__, __LINE__);
        }
    }
    cm_buffer_free(&buffer);
}

int cm_key_owner(const void *key, size_t len, int nranks)
{
    const unsigned char *bytes = key;
    size_t part = len > 0 ? 1 + (size_t)bytes[0] : 0;
    if (part > len)
        part = len;
    return (int)(cm_hash(key, part) % (uint64_t)nranks);
}

void cm_exchange_buffers(MPI_Comm comm, cm_buffer *outgoing, cm_buffer *incoming)
{
    int nranks;
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));

    int64_t *out_len = cm_xcalloc((size_t)nranks, sizeof *out_len);
    int64_t *in_len = cm_xcalloc((size_t)nranks, sizeof *in_len);
    for (int r = 0; r < nranks; r++)
        out_len[r] = (int64_t)outgoing[r].len;
    CM_MPI_CHECK(comm, MPI_Alltoall(out_len, 1, MPI_INT64_T, in_len, 1, MPI_INT64_T, comm));

    int64_t most = 0;
    for (int r = 0; r < nranks; r++) {
        most = out_len[r] > most ? out_len[r] : most;
        most = in_len[r] > most ? in_len[r] : most;
    }
    /* Each round moves at most round_bytes per pair, and all of a round's counts fit an int. */
    int64_t round_bytes = ROUND_BYTES < INT_MAX / nranks ? ROUND_BYTES : INT_MAX / nranks;
    int64_t rounds_local = (most + round_bytes - 1) / round_bytes, rounds;
    CM_MPI_CHECK(comm, MPI_Allreduce(&rounds_local, &rounds, 1, MPI_INT64_T, MPI_MAX, comm));

    int *send_counts = cm_xcalloc((size_t)nranks, sizeof(int));
    int *send_displs = cm_xcalloc((size_t)nranks, sizeof(int));
    int *recv_counts = cm_xcalloc((size_t)nranks, sizeof(int));
    int *recv_displs = cm_xcalloc((size_t)nranks, sizeof(int));
    for (int r = 0; r < nranks; r++) {
        incoming[r].len = 0;
        if ((size_t)in_len[r] + 1 > incoming[r].cap) {
            incoming[r].data = cm_xrealloc(incoming[r].data, (size_t)in_len[r] + 1);
            incoming[r].cap = (size_t)in_len[r] + 1;
        }
    }
    char *send_data = NULL, *recv_data = NULL;
    for (int64_t round = 0; round < rounds; round++) {
        int64_t base = round * round_bytes;
        int send_total = 0, recv_total = 0;
        for (int r = 0; r < nranks; r++) {
            int64_t left = out_len[r] - base;
            send_counts[r] = (int)(left <= 0 ? 0 : left < round_bytes ? left : round_bytes);
            send_displs[r] = send_total;
            send_total += send_counts[r];
            left = in_len[r] - base;
            recv_counts[r] = (int)(left <= 0 ? 0 : left < round_bytes ? left : round_bytes);
            recv_displs[r] = recv_total;
            recv_total += recv_counts[r];
        }
        send_data = cm_xrealloc(send_data, (size_t)send_total + 1);
        for (int r = 0; r < nranks; r++)
            if (send_counts[r])
                memcpy(send_data + send_displs[r], outgoing[r].data + base, (size_t)send_counts[r]);
        recv_data = cm_xrealloc(recv_data, (size_t)recv_total + 1);
        CM_MPI_CHECK(comm, MPI_Alltoallv(send_data, send_counts, send_displs, MPI_BYTE, recv_data,
                                         recv_counts, recv_displs, MPI_BYTE, comm));
        for (int r = 0; r < nranks; r++)
            cm_buffer_append(&incoming[r], recv_data + recv_displs[r], (size_t)recv_counts[r]);
        /* A buffer whose bytes have all gone is released at once, so the sender's memory
           shrinks while the receiver's grows. */
        for (int r = 0; r < nranks; r++)
            if (base + round_bytes >= out_len[r])
                cm_buffer_free(&outgoing[r]);
    }
    for (int r = 0; r < nranks; r++)
        cm_buffer_free(&outgoing[r]);
    free(recv_data);
    free(send_data);
    free(out_len);
    free(in_len);
    free(send_counts);
    free(send_displs);
    free(recv_counts);
    free(recv_displs);
}

void cm_table_exchange(MPI_Comm comm, cm_table *table)
{
    int nranks;
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    if (nranks == 1)
        return;

    /* Serialise each entry into its owner's buffer, then send all buffers in rounds. */
    cm_buffer *outgoing = cm_xcalloc((size_t)nranks, sizeof *outgoing);
    cm_buffer *incoming = cm_xcalloc((size_t)nranks, sizeof *incoming);
    for (size_t i = 0; i < table->count; i++) {
        size_t len;
        const char *key = cm_table_key(table, i, &len);
        cm_table_serialize_entry(table, i, &outgoing[cm_key_owner(key, len, nranks)]);
    }
    cm_table_clear(table);
    cm_exchange_buffers(comm, outgoing, incoming);
    for (int r = 0; r < nranks; r++) {
        if (cm_table_merge_serialized(table, incoming[r].data, incoming[r].len) != 0)
            cm_mpi_fail(comm, MPI_ERR_TRUNCATE, "merging an exchanged table", __FILE__, __LINE__);
        cm_buffer_free(&incoming[r]);
    }
    free(incoming);
    free(outgoing);
}

int cm_agree(MPI_Comm comm, int rc, char *err, size_t err_size)
{
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    int failed = rc ? rank : nranks, first;
    CM_MPI_CHECK(comm, MPI_Allreduce(&failed, &first, 1, MPI_INT, MPI_MIN, comm));
    if (first == nranks)
        return 0;
    char message[1024];
    snprintf(message, sizeof message, "%s", rc ? err : "");
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, first, comm));
    CM_MPI_CHECK(comm, MPI_Bcast(message, sizeof message, MPI_CHAR, first, comm));
    snprintf(err, err_size, "%s", message);
    return rc;
}
