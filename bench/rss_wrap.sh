#!/bin/sh
# Runs one MPI rank's command under /usr/bin/time, which writes the rank's peak resident set
# size (kB, %M) to PREFIX.RANK, so that bench/analyze.sh can report the largest rank's figure.
#
# usage: mpirun -np N bench/rss_wrap.sh PREFIX COMMAND [ARG...]
# The rank number comes from Open MPI (OMPI_COMM_WORLD_RANK), PMIx (PMIX_RANK) or SLURM
# (SLURM_PROCID); under another launcher the files are told apart by the process id.
prefix=$1
shift
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-pid$$}}}
exec /usr/bin/time -f %M -o "$prefix.$rank" "$@"
