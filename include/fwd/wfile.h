/* SPDX-License-Identifier: MIT */
/*
 * wfile.h - a file replaced whole: the metrics file, the dynamic sets'
 * state file (and `fwd apply`'s directory sync).
 */
#ifndef FWD_WFILE_H
#define FWD_WFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Write LEN bytes of TEXT to a new file next to PATH, of a name nobody could
 * have planted (mkostemp: O_CREAT|O_EXCL under a random name, which never
 * follows a link), give it MODE whatever the umask, and rename it over PATH.
 * With SYNC the data and then the rename reach the disk before it returns
 * (a power cut leaves the old file or the new, whole). 0 or -errno; nothing
 * is left behind on failure.
 */
int file_replace(const char *path, const char *text, size_t len, mode_t mode, bool sync);
/* fsync the directory holding PATH, so that a rename in it survives a power cut. 0 or -errno. */
int file_sync_dir(const char *path);

#endif
