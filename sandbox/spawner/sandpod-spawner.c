/* sandpod-spawner: starts the OCI runtime's processes for the embedded gateway, and removes
 * their bundles.
 *
 * Node starts a process by forking itself first (libuv's uv_spawn forks on Linux), and that fork
 * copies the page tables of the whole gateway while its event loop waits: milliseconds per step,
 * growing with the output the gateway holds. This small program, started once, starts them
 * instead, with posix_spawn (a vfork: nothing is copied) and three fresh pipes as the child's
 * stdin, stdout and stderr. The gateway opens its ends of the pipes at /proc/<this pid>/fd/N (a
 * pipe opened there is the same pipe), says so, and this program closes its own copies; so the
 * child's stdin ends when the gateway closes it, and its output reaches the gateway alone. It
 * reaps its children and reports each wait status. Removing a bundle is here too: a dozen
 * files and directories cost the gateway a promise and a thread-pool round trip each.
 *
 * From the gateway, on stdin: frames of a 4-byte little-endian length and a payload of
 * NUL-terminated fields.
 *   run ID ENVC ENV... PATH ARG...   start PATH (a bare name: on this program's PATH) with argv
 *                                    ARG... and environment ENV...
 *   open ID                          the gateway holds its ends of ID's pipes: close ours
 *   kill ID SIGNAL                   signal ID's process unless it was reaped
 *   remove ID PATH                   remove the directory tree PATH; no symbolic link followed,
 *                                    no mount crossed
 * To the gateway, on stdout, a line each:
 *   started ID PID STDIN_FD STDOUT_FD STDERR_FD
 *   failed ID ERRNO
 *   exited ID WAIT_STATUS
 *   removed ID ERRNO                 0 when PATH is gone (or was never there)
 * Its stdin at end: the gateway is gone, and so goes this program. Its children are left as a
 * dying gateway left them before; the next gateway removes the containers that remain. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FRAME (1 << 20)
#define MAX_FIELDS 512

struct child {
  char id[32];
  pid_t pid;
  int fds[3]; /* our ends: stdin's write end, stdout's and stderr's read ends; -1 once closed */
  int reaped;
};

static struct child *children;
static size_t child_count, child_capacity;

static void die(const char *what) {
  fprintf(stderr, "sandpod-spawner: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Blocking: the gateway reads its replies as they come, and a line is never split by a signal. */
static void reply(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *format, ...) {
  char line[160];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (length < 0 || (size_t)length >= sizeof line) {
    fprintf(stderr, "sandpod-spawner: reply too long\n");
    exit(1);
  }
  for (int written = 0; written < length;) {
    ssize_t n = write(STDOUT_FILENO, line + written, (size_t)(length - written));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) exit(0); /* the gateway is gone */
    written += (int)n;
  }
}

static struct child *find_by_id(const char *id) {
  for (size_t i = 0; i < child_count; i++)
    if (strcmp(children[i].id, id) == 0) return &children[i];
  return NULL;
}

static void close_ends(struct child *child) {
  for (int i = 0; i < 3; i++) {
    if (child->fds[i] >= 0) close(child->fds[i]);
    child->fds[i] = -1;
  }
}

/* An entry goes once the child is reaped and the gateway no longer needs our ends of its pipes. */
static void forget_finished(void) {
  for (size_t i = 0; i < child_count;) {
    struct child *child = &children[i];
    if (child->reaped && child->fds[0] < 0 && child->fds[1] < 0 && child->fds[2] < 0)
      children[i] = children[--child_count];
    else
      i++;
  }
}

static void start(char **fields, int count) {
  /* run ID ENVC ENV... PATH ARG... */
  if (count < 4) {
    fprintf(stderr, "sandpod-spawner: malformed run\n");
    exit(1);
  }
  const char *id = fields[1];
  long env_count = strtol(fields[2], NULL, 10);
  if (strlen(id) >= sizeof children->id || env_count < 0 || 3 + env_count + 1 >= count) {
    fprintf(stderr, "sandpod-spawner: malformed run %s\n", id);
    exit(1);
  }
  char **env = fields + 3;
  const char *path = fields[3 + env_count];
  char **argv = fields + 4 + env_count;
  /* The arrays end in NULL: the field after the last environment entry is the path, replaced
   * by NULL once read, and the slot after the last argument is kept NULL by the parser. */
  fields[3 + env_count] = NULL;

  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    reply("failed %s %d\n", id, errno);
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  posix_spawnattr_init(&attributes);
  /* This program blocks SIGCHLD for its signalfd; the child starts with nothing blocked and
   * every signal at its default, as a child of Node does. */
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  /* A bare name is looked up on this program's PATH, as execvp does. */
  int failure = (strchr(path, '/') ? posix_spawn : posix_spawnp)(&pid, path, &actions, &attributes, argv, env);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (failure) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    reply("failed %s %d\n", id, failure);
    return;
  }
  if (child_count == child_capacity) {
    child_capacity = child_capacity ? child_capacity * 2 : 16;
    children = realloc(children, child_capacity * sizeof *children);
    if (!children) die("realloc");
  }
  struct child *child = &children[child_count++];
  snprintf(child->id, sizeof child->id, "%s", id);
  child->pid = pid;
  child->fds[0] = in[1];
  child->fds[1] = out[0];
  child->fds[2] = err[0];
  child->reaped = 0;
  reply("started %s %d %d %d %d\n", id, pid, in[1], out[0], err[0]);
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *where) {
  (void)info;
  (void)where;
  /* Depth first, so a directory comes after its entries; a symbolic link is removed itself. */
  return (type == FTW_DP ? rmdir(path) : unlink(path)) ? errno : 0;
}

static void remove_tree(const char *id, const char *path) {
  int failure = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (failure < 0) failure = errno == ENOENT ? 0 : errno;
  reply("removed %s %d\n", id, failure);
}

static void handle_frame(char *payload, uint32_t length) {
  char *fields[MAX_FIELDS + 1];
  int count = 0;
  for (uint32_t at = 0; at < length;) {
    if (count == MAX_FIELDS) {
      fprintf(stderr, "sandpod-spawner: too many fields\n");
      exit(1);
    }
    fields[count++] = payload + at;
    char *end = memchr(payload + at, '\0', length - at);
    if (!end) {
      fprintf(stderr, "sandpod-spawner: unterminated field\n");
      exit(1);
    }
    at = (uint32_t)(end - payload) + 1;
  }
  fields[count] = NULL;
  if (count >= 2 && strcmp(fields[0], "run") == 0) {
    start(fields, count);
  } else if (count == 2 && strcmp(fields[0], "open") == 0) {
    struct child *child = find_by_id(fields[1]);
    if (child) close_ends(child);
  } else if (count == 3 && strcmp(fields[0], "remove") == 0) {
    remove_tree(fields[1], fields[2]);
  } else if (count == 3 && strcmp(fields[0], "kill") == 0) {
    struct child *child = find_by_id(fields[1]);
    /* Only before it is reaped: until then the pid cannot belong to anyone else. */
    if (child && !child->reaped) kill(child->pid, (int)strtol(fields[2], NULL, 10));
  } else {
    fprintf(stderr, "sandpod-spawner: unknown request %s\n", count ? fields[0] : "(empty)");
    exit(1);
  }
  forget_finished();
}

static void reap(int signals) {
  struct signalfd_siginfo info;
  while (read(signals, &info, sizeof info) == sizeof info) {
  }
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    for (size_t i = 0; i < child_count; i++) {
      if (children[i].pid == pid && !children[i].reaped) {
        children[i].reaped = 1;
        reply("exited %s %d\n", children[i].id, status);
        break;
      }
    }
  }
  forget_finished();
}

/* Whatever the gateway's own parent left open must not reach the runtime's processes. */
static void close_inherited(void) {
  if (close_range(3, ~0U, 0) == 0) return;
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) die("opendir /proc/self/fd");
  int own = dirfd(dir);
  for (struct dirent *entry; (entry = readdir(dir));) {
    int fd = atoi(entry->d_name);
    if (fd > 2 && fd != own) close(fd);
  }
  closedir(dir);
}

int main(void) {
  close_inherited();
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL)) die("sigprocmask");
  int signals = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signals < 0) die("signalfd");

  static char buffer[MAX_FRAME + 4];
  size_t filled = 0;
  struct pollfd watched[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = signals, .events = POLLIN}};
  for (;;) {
    if (poll(watched, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (watched[1].revents & POLLIN) reap(signals);
    if (!(watched[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = read(STDIN_FILENO, buffer + filled, sizeof buffer - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    filled += (size_t)n;
    size_t used = 0;
    while (filled - used >= 4) {
      unsigned char *header = (unsigned char *)buffer + used;
      uint32_t length = header[0] | header[1] << 8 | header[2] << 16 | (uint32_t)header[3] << 24;
      if (length > MAX_FRAME) {
        fprintf(stderr, "sandpod-spawner: frame of %u bytes\n", length);
        return 1;
      }
      if (filled - used - 4 < length) break;
      handle_frame(buffer + used + 4, length);
      used += 4 + length;
    }
    memmove(buffer, buffer + used, filled - used);
    filled -= used;
  }
}
