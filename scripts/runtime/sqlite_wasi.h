/* Force-included (-include) when SQLite 3.40 is compiled for wasm32-wasi.
 *
 * SQLite learnt WASI only in 3.41; Debian bookworm ships 3.40.1. WASI has no
 * advisory locks, file ownership, permission bits or process ids, and
 * wasi-libc declares those calls without defining them. This header gives
 * SQLite's unix VFS what it needs:
 *   - fcntl() locking (F_GETLK/F_SETLK) succeeds and reports "unlocked":
 *     a WASI guest is one process with one thread, so locks between its own
 *     connections are SQLite's in-process inode bookkeeping, which still runs;
 *     two separate guests writing one database file are NOT serialized.
 *   - fchmod/fchown/geteuid are no-ops, getpid() is 1.
 * Everything else passes through to wasi-libc unchanged.
 */
#ifndef WASI_LSP_SQLITE_WASI_H
#define WASI_LSP_SQLITE_WASI_H
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef F_RDLCK
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#endif

static int wasi_lsp_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  if (cmd == F_GETLK) {
    struct flock *lock = va_arg(ap, struct flock *);
    va_end(ap);
    lock->l_type = F_UNLCK;
    return 0;
  }
  if (cmd == F_SETLK || cmd == F_SETLKW) {
    va_end(ap);
    return 0;
  }
  int arg = va_arg(ap, int);
  va_end(ap);
  return fcntl(fd, cmd, arg);
}
static int wasi_lsp_fchmod(int fd, mode_t mode) { (void)fd; (void)mode; return 0; }
static int wasi_lsp_fchown(int fd, uid_t uid, gid_t gid) { (void)fd; (void)uid; (void)gid; return 0; }
static uid_t wasi_lsp_geteuid(void) { return 0; }
static pid_t wasi_lsp_getpid(void) { return 1; }

#define fcntl wasi_lsp_fcntl
#define fchmod wasi_lsp_fchmod
#define fchown wasi_lsp_fchown
#define geteuid wasi_lsp_geteuid
#define getpid wasi_lsp_getpid
#endif
