/*
 * LD_PRELOAD shim for the power-cut test (e2e/power-cut.test.ts): records what an fsync makes
 * durable, so that the test can rebuild the data directory as a power cut would leave it.
 *
 * fsync/fdatasync of a regular file under SYNC_RECORDER_ROOT: a snapshot of its bytes and the
 * path it has now. fsync of a directory: its listing (name and inode of each regular file).
 * Each record is <seq>.data then <seq>.meta (the .meta renamed into place last, so a record cut
 * short by the kill is never read). Everything not recorded here is what a power cut may lose.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long seq;

static int under_root(const char *path) {
  const char *root = getenv("SYNC_RECORDER_ROOT");
  size_t n = root ? strlen(root) : 0;
  return n > 0 && strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static void record(int fd) {
  const char *log = getenv("SYNC_RECORDER_LOG");
  char link[64], path[PATH_MAX], meta[PATH_MAX], tmp[PATH_MAX], data[PATH_MAX];
  struct stat st;
  if (!log) return;
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(link, path, sizeof path - 1);
  if (len <= 0) return;
  path[len] = '\0';
  if (!under_root(path) || fstat(fd, &st) != 0) return;
  pthread_mutex_lock(&lock);
  unsigned long n = ++seq;
  snprintf(data, sizeof data, "%s/%08lu.data", log, n);
  snprintf(tmp, sizeof tmp, "%s/%08lu.tmp", log, n);
  snprintf(meta, sizeof meta, "%s/%08lu.meta", log, n);
  FILE *out = fopen(data, "w");
  if (out) {
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(path);
      struct dirent *e;
      while (d && (e = readdir(d))) {
        struct stat es;
        if (fstatat(dirfd(d), e->d_name, &es, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(es.st_mode))
          fprintf(out, "%lu\t%s\n", (unsigned long)es.st_ino, e->d_name);
      }
      if (d) closedir(d);
    } else if (S_ISREG(st.st_mode)) {
      /* Opened again for reading: the server's descriptor may be write-only. */
      int in = open(link, O_RDONLY);
      char buf[65536];
      ssize_t r;
      while (in >= 0 && (r = read(in, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)r, out);
      if (in >= 0) close(in);
    }
    fclose(out);
    FILE *m = fopen(tmp, "w");
    if (m) {
      fprintf(m, "%s\t%lu\t%s\n", S_ISDIR(st.st_mode) ? "dir" : "file", (unsigned long)st.st_ino, path);
      fclose(m);
      rename(tmp, meta);
    }
  }
  pthread_mutex_unlock(&lock);
}

/* The snapshot is taken before the real call, under the lock: the record never holds bytes
 * written after the fsync started, so it never claims more than the fsync made durable. */
int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  record(fd);
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  record(fd);
  return real(fd);
}
