/* Combining the per-rank partial tables: reductions to rank 0 and exchanges to owner ranks. */
#ifndef CLICKMILL_MERGE_H
#define CLICKMILL_MERGE_H

#include <mpi.h>

#include "clickmill/table.h"

/* Merges every rank's table into rank 0's along a binomial tree, so each rank merges at most
 * log2(ranks) partials. On return rank 0 holds the whole table; the other ranks' tables are
 * emptied. Collective. */
void cm_table_reduce(MPI_Comm comm, cm_table *table);

/* Moves every entry to its owner rank, the rank given by the hash of the key's first part, and
 * merges it there (MPI_Alltoallv, in rounds of bounded size). Afterwards all entries that share a
 * first key part are on one rank, so counting them there is exact. Collective. */
void cm_table_exchange(MPI_Comm comm, cm_table *table);

/* Sends outgoing[r] to rank r for every r and fills incoming[r] with what rank r sent, with
 * MPI_Alltoallv in rounds of bounded size (so any size works and counts fit an int). The
 * outgoing buffers are freed as they are sent; incoming buffers are (re)allocated and belong to
 * the caller. Both arrays have one buffer per rank. Collective. */
void cm_exchange_buffers(MPI_Comm comm, cm_buffer *outgoing, cm_buffer *incoming);

/* Point-to-point transfer of a byte buffer of any size (sent in pieces that fit an int). The
 * receiver's buffer is resized to fit. Local to the pair of ranks. */
void cm_send_bytes(MPI_Comm comm, int dest, const void *data, size_t len);
void cm_recv_bytes(MPI_Comm comm, int source, cm_buffer *buffer);

/* Sends rank root's buffer to every rank (any size, in pieces that fit an int); the others'
 * buffers are resized to fit. Collective. */
void cm_bcast_buffer(MPI_Comm comm, cm_buffer *buffer, int root);

/* Agrees on a failure: every rank returns the code of the lowest rank whose rc is non-zero
 * (0 when none failed), and that rank's message in err. Collective. */
int cm_agree(MPI_Comm comm, int rc, char *err, size_t err_size);

/* The owner rank of a key (hash of its first part). Local. */
int cm_key_owner(const void *key, size_t len, int nranks);

#endif
