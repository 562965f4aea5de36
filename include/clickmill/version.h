/* The version of clickmill, written into every results file. */
#ifndef CLICKMILL_VERSION_H
#define CLICKMILL_VERSION_H

#define CM_VERSION "0.1.0"

#endif
