/* sandpod-launch: the first process of every container the operator starts (compile and run).
 *
 * Kubernetes has no field for what a judge needs per step, so this small static program does it
 * inside the sandbox, the same way under runc and gVisor:
 *   - wall time counted from its own start, not the pod's (the pod deadline stays as a backstop);
 *   - CPU time of every process and thread of the step: the container's cgroup CPU counter where
 *     one is mounted (it keeps the time of processes that are gone, even those whose parent
 *     ignored SIGCHLD and so never added them to anyone's cutime), and the sum read from /proc of
 *     the step's own PID namespace, whichever is larger (RLIMIT_CPU is per process);
 *   - one output budget for stdout and stderr together: the program writes into pipes, this
 *     program forwards at most --output-bytes to the container's log and kills the step past it;
 *   - with --sandbox-memory-bytes, the memory the sandbox has in use (gVisor's /proc/meminfo
 *     describes the sandbox), counted from before the program starts: gVisor runs every container
 *     of a pod in one sandbox that the host limits as a whole, to the pod's cgroup, whose size is
 *     the largest container's (the compiler's), so a run step's own smaller limit is checked here;
 *   - an allow-listed environment (the kubelet injects KUBERNETES_SERVICE_* whatever the pod asks);
 *   - the program in a session of its own, RLIMIT_NPROC/NOFILE/CORE, stdin from a file;
 *   - the source files copied from their read-only volume into the writable working directory;
 *   - with --gate-ms, the program held back until one byte (the gate) arrives on stdin: the
 *     gateway sends it once its attach to the container is in place, so that attach sees every
 *     byte the program writes (containerd gives an attach only what is written after it joins);
 *     a first byte other than the gate is the program's input, handed on to it with the rest;
 *   - with --live-ms, the program's stdin as records (relay_records, as after a warm pod's bundle)
 *     and the program held back until the first record: the container's stdin is then shared
 *     by every attach and stays open when one of them ends, so only an end record ends the
 *     program's input;
 *   - the outcome, with times in milliseconds and the largest resident set of the step's processes,
 *     as one JSON line in the termination message;
 *   - with --tests N, the program once per test (stdin and extra arguments from
 *     <tests-dir>/<i>/stdin and args), each with its own limits and output budget, the --scratch
 *     directories emptied and the sources copied afresh before each, output and reports framed
 *     on stdout (write_frame says how), the termination message then the tests' sum; with
 *     --stop-on-failure 1, no test after the first that did not end with exit code 0 (a limit, a
 *     signal, another code, or a program that could not start): the expected outputs never enter
 *     the pod, so a wrong answer is for the operator to find, not this program;
 *   - with --bundle 1 (a warm pod), the same steps from a bundle of records on stdin, tests too
 *     (run_bundle says how), framed on stdout so that one log holds the compile step and the run.
 * When the program ends (or a limit is hit) every process left in the namespace is killed before
 * the report is written, so nothing the program started can overwrite it or outlive the step.
 *
 * Usage: sandpod-launch [--wall-ms N] [--cpu-ms N] [--output-bytes N] [--pids N] [--open-files N]
 *          [--sandbox-memory-bytes N] [--stdin PATH] [--gate-ms N | --live-ms N] [--env NAME]... [--copy-from DIR]
 *          [--scratch DIR]... [--tests N --tests-dir DIR [--stop-on-failure 0|1]] [--cpu-cgroup DIR|none] [--report PATH]
 *          -- PROGRAM [ARG]...
 *        sandpod-launch --bundle 1 [--open-files N] [--env NAME]... [--scratch DIR]... [--report PATH] --
 * --bundle 1: a warm pod's launcher; the program, its files, limits, stdin and tests come on stdin
 * (run_bundle says how). --scratch names a directory emptied before the step starts (a container
 * started again in the same pod finds nothing of the attempt before it) and between tests.
 * --cpu-cgroup names the cgroup directory whose cpu.stat (v2) or cpuacct.usage (v1) counts the
 * step; left out, a container's init uses the hierarchy mounted at /sys/fs/cgroup, which is the
 * container's own (gVisor: the sandbox's own account of its tasks, exited ones included).
 * A limit of 0 (or left out) is not enforced. --stdin left out keeps the inherited stdin (a live
 * attach). --gate-ms waits at most N ms for the gate; EOF on stdin also opens it. --live-ms waits at
 * most N ms for the first record; EOF on stdin ends the wait and the input. The report goes to
 * /dev/termination-log unless --report names another file.
 * Built statically by dev-cluster/images/build-images.sh into every runtime image. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 32
#define CPU_POLL_MS 20
#define MEMORY_POLL_MS 10
#define CHUNK 65536
/* The request's args of one test: at most 64 of 4096 bytes each, NUL-separated. */
#define REQUEST_ARGS_BYTES (64 * 4097 + 1)

#define MAX_SCRATCH 4
#define MAX_ARGS 256

struct options {
  long long wall_ms, cpu_ms, output_bytes, pids, open_files, sandbox_memory_bytes, gate_ms, live_ms, tests, stop_on_failure;
  int bundle;
  const char *stdin_path, *report_path, *copy_from, *tests_dir, *cpu_cgroup;
  const char *env_names[MAX_ENV];
  int env_count;
  const char *scratch[MAX_SCRATCH];
  int scratch_count;
  char **argv;
};

static void die_usage(const char *why) {
  fprintf(stderr, "sandpod-launch: %s\n", why);
  exit(125);
}

static long long parse_count(const char *text, const char *name) {
  char *end;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno || *end || value < 0) {
    fprintf(stderr, "sandpod-launch: %s needs a whole number >= 0, got %s\n", name, text);
    exit(125);
  }
  return value;
}

static void parse(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof *o);
  o->report_path = "/dev/termination-log";
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
    const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!value) die_usage("an option lacks its value");
    if (!strcmp(name, "--wall-ms")) o->wall_ms = parse_count(value, name);
    else if (!strcmp(name, "--cpu-ms")) o->cpu_ms = parse_count(value, name);
    else if (!strcmp(name, "--output-bytes")) o->output_bytes = parse_count(value, name);
    else if (!strcmp(name, "--pids")) o->pids = parse_count(value, name);
    else if (!strcmp(name, "--open-files")) o->open_files = parse_count(value, name);
    else if (!strcmp(name, "--sandbox-memory-bytes")) o->sandbox_memory_bytes = parse_count(value, name);
    else if (!strcmp(name, "--gate-ms")) o->gate_ms = parse_count(value, name);
    else if (!strcmp(name, "--live-ms")) o->live_ms = parse_count(value, name);
    else if (!strcmp(name, "--stdin")) o->stdin_path = value;
    else if (!strcmp(name, "--report")) o->report_path = value;
    else if (!strcmp(name, "--copy-from")) o->copy_from = value;
    else if (!strcmp(name, "--tests")) o->tests = parse_count(value, name);
    else if (!strcmp(name, "--bundle")) o->bundle = parse_count(value, name) != 0;
    else if (!strcmp(name, "--tests-dir")) o->tests_dir = value;
    else if (!strcmp(name, "--stop-on-failure")) o->stop_on_failure = parse_count(value, name);
    else if (!strcmp(name, "--scratch")) {
      if (o->scratch_count == MAX_SCRATCH) die_usage("too many --scratch directories");
      o->scratch[o->scratch_count++] = value;
    }
    else if (!strcmp(name, "--cpu-cgroup")) o->cpu_cgroup = value;
    else if (!strcmp(name, "--env")) {
      if (o->env_count == MAX_ENV) die_usage("too many --env names");
      o->env_names[o->env_count++] = value;
    } else {
      fprintf(stderr, "sandpod-launch: unknown option %s\n", name);
      exit(125);
    }
  }
  if (o->bundle && i < argc - 1) die_usage("--bundle takes its program from stdin, not after --");
  if (!o->bundle && i >= argc - 1) die_usage("no program after --");
  if (o->tests && !o->tests_dir) die_usage("--tests needs --tests-dir");
  if (o->live_ms && (o->gate_ms || o->stdin_path || o->tests)) die_usage("--live-ms is the only stdin of a single run");
  if (o->stop_on_failure > 1) die_usage("--stop-on-failure takes 0 or 1");
  o->argv = argv + i + 1;
}

static long long now_ms(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Bytes the sandbox has in use, MemTotal less MemFree: inside gVisor that is the sentry's own
 * account of the memory of every process in the sandbox, shared pages counted once. -1 when
 * /proc/meminfo cannot be read. */
static long long sandbox_memory_bytes(void) {
  int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[4096];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = 0;
  long long total_kib = -1, free_kib = -1;
  for (char *line = text; line;) {
    if (!strncmp(line, "MemTotal:", 9)) total_kib = strtoll(line + 9, NULL, 10);
    else if (!strncmp(line, "MemFree:", 8)) free_kib = strtoll(line + 8, NULL, 10);
    char *end = strchr(line, '\n');
    line = end ? end + 1 : NULL;
  }
  if (total_kib < 0 || free_kib < 0) return -1;
  return (total_kib - free_kib) * 1024;
}

/* CPU ticks of the step: every live process's own and reaped children's time, and the time of
 * the children this program reaped itself (its own time is overhead, not the program's). Only the
 * step's processes are visible: /proc belongs to its PID namespace. */
static long long step_cpu_ms(pid_t self) {
  static long ticks_per_second;
  if (!ticks_per_second) ticks_per_second = sysconf(_SC_CLK_TCK);
  DIR *proc = opendir("/proc");
  if (!proc) return 0;
  long long ticks = 0;
  struct dirent *entry;
  while ((entry = readdir(proc))) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0) continue;
    stat[n] = 0;
    /* The command name may hold spaces and parentheses; the fields start after the last ')'. */
    char *fields = strrchr(stat, ')');
    if (!fields) continue;
    unsigned long long utime, stime;
    long long cutime, cstime;
    if (sscanf(fields + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &utime, &stime,
               &cutime, &cstime) != 4)
      continue;
    ticks += cutime + cstime;
    if (pid != self) ticks += (long long)(utime + stime);
  }
  closedir(proc);
  return ticks * 1000 / ticks_per_second;
}

/* A cgroup CPU counter: the file, whether it is cgroup v2's cpu.stat, and what it read when the
 * step began (the launcher's setup, and under gVisor the pod's earlier containers). */
struct cpu_counter {
  char path[512];
  int v2;
  long long baseline_ns;
};

/* Nanoseconds the counter's cgroup has used, or -1 when it cannot be read. */
static long long cgroup_cpu_ns(const struct cpu_counter *c) {
  int fd = open(c->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[2048];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = 0;
  if (!c->v2) return strtoll(text, NULL, 10);
  char *usage = strstr(text, "usage_usec ");
  return usage ? strtoll(usage + 11, NULL, 10) * 1000 : -1;
}

/* Finds the counter in DIR, or in the hierarchies mounted at /sys/fs/cgroup; 0 when there is none.
 * The mount is the container's own cgroup only in a container: elsewhere it may count the whole
 * machine, so without --cpu-cgroup only a PID namespace's init (as in every pod) looks there. */
static int open_cpu_counter(const char *dir, int is_init, struct cpu_counter *c) {
  if (dir && !strcmp(dir, "none")) return 0;
  if (!dir && !is_init) return 0;
  const char *roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct"};
  const int root_count = dir ? 1 : 3;
  for (int i = 0; i < root_count; i++) {
    const char *root = dir ? dir : roots[i];
    for (int v2 = 1; v2 >= 0; v2--) {
      snprintf(c->path, sizeof c->path, "%s/%s", root, v2 ? "cpu.stat" : "cpuacct.usage");
      c->v2 = v2;
      c->baseline_ns = cgroup_cpu_ns(c);
      if (c->baseline_ns >= 0) return 1;
    }
  }
  return 0;
}

/* CPU of the step: the larger of the /proc sum and the cgroup's growth since the step began. The
 * cgroup also counts this launcher's own few milliseconds; the /proc sum misses what vanished. */
static long long step_cpu(pid_t self, long long proc_base, const struct cpu_counter *counter) {
  long long cpu = step_cpu_ms(self) - proc_base;
  if (counter) {
    long long ns = cgroup_cpu_ns(counter);
    if (ns >= 0 && (ns - counter->baseline_ns) / 1000000 > cpu) cpu = (ns - counter->baseline_ns) / 1000000;
  }
  return cpu;
}

/* Copies the plain files of a directory (a Secret volume: its entries are symlinks into a
 * hidden ..data directory, which is skipped) into the working directory, writable by the program
 * as its own scratch files are. Returns 0, or an errno with *failed naming the file. */
static int copy_sources(const char *from, const char **failed) {
  DIR *dir = opendir(from);
  if (!dir) {
    *failed = from;
    return errno;
  }
  static char buffer[CHUNK], path[4096];
  struct dirent *entry;
  int error = 0;
  while (!error && (entry = readdir(dir))) {
    if (entry->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", from, entry->d_name);
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      error = errno;
      break;
    }
    int out = open(entry->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out < 0) error = errno;
    ssize_t n;
    while (!error && (n = read(in, buffer, sizeof buffer)) != 0) {
      if (n < 0 || write(out, buffer, (size_t)n) != n) error = n < 0 ? errno : ENOSPC;
    }
    close(in);
    if (out >= 0 && close(out) < 0 && !error) error = errno;
  }
  closedir(dir);
  if (error) *failed = path;
  return error;
}

static void write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* the log is gone; the budget still counts, so the step still ends */
    }
    data += n;
    length -= (size_t)n;
  }
}

/* With --tests, everything goes to stdout in frames, "\036SP <test> <o|e|r> <length>\n", then
 * <length> bytes of base64 and "\n": a test's stdout, its stderr, its report. Only this process
 * writes there (the program writes into pipes), and a reader skips a payload by its length, so
 * nothing a program prints can pass for a frame; base64, because the container runtime's log
 * keeps lines, not bytes (it reads "\r\n" as a line end and drops the "\r"). -1 outside
 * --tests: output goes to stdout and stderr as it is. */
static long long frame_test = -1;
/* In --bundle mode the compile step's output and report are framed as test "c", and the last
 * report as the bundle's nonce (see run_bundle); NULL otherwise. */
static const char *frame_label;

static void write_frame(char kind, const char *data, size_t length) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static char encoded[(CHUNK + 2) / 3 * 4 + 2];
  size_t at = 0;
  /* Frames are at most CHUNK bytes, save a report, which is far shorter. */
  if (length > CHUNK) length = CHUNK;
  for (size_t i = 0; i < length; i += 3) {
    unsigned a = (unsigned char)data[i], b = i + 1 < length ? (unsigned char)data[i + 1] : 0,
             c = i + 2 < length ? (unsigned char)data[i + 2] : 0;
    encoded[at++] = digits[a >> 2];
    encoded[at++] = digits[((a & 3) << 4) | (b >> 4)];
    encoded[at++] = i + 1 < length ? digits[((b & 15) << 2) | (c >> 6)] : '=';
    encoded[at++] = i + 2 < length ? digits[c & 63] : '=';
  }
  encoded[at++] = '\n';
  char header[64];
  int n = frame_label ? snprintf(header, sizeof header, "\036SP %.64s %c %zu\n", frame_label, kind, at - 1)
                      : snprintf(header, sizeof header, "\036SP %lld %c %zu\n", frame_test, kind, at - 1);
  write_all(1, header, (size_t)n);
  write_all(1, encoded, at);
}

/* The gate byte (contract/live-gate.ts). */
#define GATE_BYTE 0

/* Waits for the gate: the gate byte read from stdin (and so kept from the program), EOF, or the end
 * of gate_ms. Past that the program starts ungated; the gateway then no longer sends the byte.
 * Returns -1, or the first byte of the program's input when that came instead of the gate: a
 * gateway that no longer gates (its container started late) may send input while this still
 * waits, and that byte belongs to the program. */
static int await_gate(long long gate_ms) {
  long long deadline = now_ms(CLOCK_MONOTONIC) + gate_ms;
  for (;;) {
    long long left = deadline - now_ms(CLOCK_MONOTONIC);
    if (left <= 0) return -1;
    struct pollfd in = {.fd = 0, .events = POLLIN};
    int ready = poll(&in, 1, (int)left);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return -1;
    unsigned char gate;
    ssize_t got = read(0, &gate, 1);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return got == 1 && gate != GATE_BYTE ? gate : -1;
  }
}

static int pid_one;
static pid_t program;
/* Hands stdin to the program after a first byte read in place of the gate (see relay_stdin). */
static pid_t relay;

/* The program's stdin becomes a pipe fed by a small process of the step: first the byte the gate
 * took, then everything else stdin brings, then EOF. */
static int relay_stdin(unsigned char first) {
  int fds[2];
  if (pipe(fds) < 0) return -1;
  relay = fork();
  if (relay < 0) return -1;
  if (relay == 0) {
    close(fds[0]);
    char buffer[4096];
    buffer[0] = (char)first;
    ssize_t got = 1;
    for (;;) {
      if (got > 0) write_all(fds[1], buffer, (size_t)got);
      else if (got == 0 || errno != EINTR) _exit(0);
      got = read(0, buffer, sizeof buffer);
    }
  }
  close(fds[1]);
  if (dup2(fds[0], 0) < 0) return -1;
  close(fds[0]);
  return 0;
}
/* In --bundle mode: the program's stdin as a file descriptor (a memfd holding spec stdin). */
static int stdin_fd = -1;

/* Every process of the step but this one. As the init of its PID namespace, kill(-1) reaches
 * them all, daemons in sessions of their own included; elsewhere (tests on a host) only the
 * program's session can be named. */
static void kill_step(void) {
  if (pid_one) kill(-1, SIGKILL);
  else {
    kill(-program, SIGKILL);
    kill(program, SIGKILL);
    if (relay > 0) kill(relay, SIGKILL);
  }
}

struct outcome {
  const char *limit;
  int status, have_status;
  /* The largest resident set of any process of the step, from the kernel's (or gVisor's) own
   * accounting of each reaped process: the program's includes the children it waited for, and
   * orphans are reaped here. */
  long long peak_kib;
  char error[256];
};

static void note_exit(struct outcome *out, pid_t pid, int status, const struct rusage *usage) {
  if (usage->ru_maxrss > out->peak_kib) out->peak_kib = usage->ru_maxrss;
  if (pid == relay) relay = 0;
  if (pid == program && !out->have_status) {
    out->status = status;
    out->have_status = 1;
  }
}

static void reap_all(struct outcome *out) {
  for (;;) {
    kill_step();
    int status;
    struct rusage usage;
    pid_t pid = wait4(-1, &status, 0, &usage);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return; /* ECHILD: nothing left */
    }
    note_exit(out, pid, status, &usage);
  }
}

static void json_string(FILE *f, const char *text) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
    else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
    else fputc(*c, f);
  }
  fputc('"', f);
}

static void iso_time(char *buffer, size_t size, long long epoch_ms) {
  time_t seconds = (time_t)(epoch_ms / 1000);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  size_t n = strftime(buffer, size, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buffer + n, size - n, ".%03lldZ", epoch_ms % 1000);
}

static void report_to(FILE *f, const struct outcome *out, long long started, long long finished, long long duration,
                      long long cpu, long long forwarded) {
  char start_text[40], finish_text[40];
  iso_time(start_text, sizeof start_text, started);
  iso_time(finish_text, sizeof finish_text, finished);
  fprintf(f, "{\"sandpodLaunch\":1,\"startedAt\":\"%s\",\"finishedAt\":\"%s\",\"durationMs\":%lld,\"cpuMs\":%lld,",
          start_text, finish_text, duration, cpu);
  fprintf(f, "\"memoryPeakKiB\":%lld,\"outputBytes\":%lld,\"limit\":", out->peak_kib, forwarded);
  if (out->limit) json_string(f, out->limit);
  else fputs("null", f);
  int exited = out->have_status && WIFEXITED(out->status);
  int signaled = out->have_status && WIFSIGNALED(out->status);
  if (exited) fprintf(f, ",\"exitCode\":%d,\"signal\":null", WEXITSTATUS(out->status));
  else if (signaled) fprintf(f, ",\"exitCode\":null,\"signal\":%d", WTERMSIG(out->status));
  else fputs(",\"exitCode\":null,\"signal\":null", f);
  fputs(",\"error\":", f);
  if (out->error[0]) json_string(f, out->error);
  else fputs("null", f);
  fputs("}\n", f);
}

static void report(const struct options *o, const struct outcome *out, long long started, long long finished,
                   long long duration, long long cpu, long long forwarded) {
  FILE *f = fopen(o->report_path, "w");
  if (!f) {
    fprintf(stderr, "sandpod-launch: cannot write %s: %s\n", o->report_path, strerror(errno));
    return;
  }
  report_to(f, out, started, finished, duration, cpu, forwarded);
  fclose(f);
}

/* A test's report as a frame of its own, after its output. */
static void report_frame(const struct outcome *out, long long started, long long finished, long long duration,
                         long long cpu, long long forwarded) {
  char *text = NULL;
  size_t length = 0;
  FILE *f = open_memstream(&text, &length);
  if (!f) return;
  report_to(f, out, started, finished, duration, cpu, forwarded);
  fclose(f);
  write_frame('r', text, length);
  free(text);
}

static void child(const struct options *o, const char *stdin_path, char **argv, int out_pipe, int err_pipe,
                  int exec_pipe) {
  /* Dispositions and masks survive exec: the program starts with the defaults. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  setsid();
  if (stdin_fd >= 0) {
    if (dup2(stdin_fd, 0) < 0) goto failed;
  } else if (stdin_path) {
    int in = open(stdin_path, O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0) goto failed;
    if (in != 0) close(in);
  }
  if (dup2(out_pipe, 1) < 0 || dup2(err_pipe, 2) < 0) goto failed;
  close(out_pipe);
  close(err_pipe);
  struct rlimit core = {0, 0};
  setrlimit(RLIMIT_CORE, &core);
  if (o->open_files) {
    struct rlimit files = {(rlim_t)o->open_files, (rlim_t)o->open_files};
    if (setrlimit(RLIMIT_NOFILE, &files) < 0) goto failed;
  }
  if (o->pids) {
    /* Per user, and this launcher (and a relay of stdin, if any) are processes of the same user. */
    rlim_t tasks_limit = (rlim_t)o->pids + 1 + (relay > 0);
    struct rlimit tasks = {tasks_limit, tasks_limit};
    if (setrlimit(RLIMIT_NPROC, &tasks) < 0) goto failed;
  }
  if (o->cpu_ms) {
    /* A backstop per process, past the step's limit that the launcher enforces by polling. */
    rlim_t seconds = (rlim_t)((o->cpu_ms + 999) / 1000 + 1);
    struct rlimit cpu = {seconds, seconds + 1};
    setrlimit(RLIMIT_CPU, &cpu);
  }
  char *env[MAX_ENV + 1];
  int count = 0;
  for (int i = 0; i < o->env_count; i++) {
    const char *value = getenv(o->env_names[i]);
    if (!value) continue;
    size_t size = strlen(o->env_names[i]) + strlen(value) + 2;
    char *entry = malloc(size);
    if (!entry) goto failed;
    snprintf(entry, size, "%s=%s", o->env_names[i], value);
    env[count++] = entry;
  }
  env[count] = NULL;
  environ = env;
  execvp(argv[0], argv);
failed: {
  int error = errno;
  write_all(exec_pipe, (const char *)&error, sizeof error);
  _exit(127);
}
}

/* Output of a test is held and framed a chunk at a time, not as each read came (a program
 * writing a byte at a time would otherwise put a header on every byte). */
static char held[2][CHUNK];
static size_t held_length[2];

static void flush_frame(int i) {
  if (held_length[i] > 0) write_frame(i == 0 ? 'o' : 'e', held[i], held_length[i]);
  held_length[i] = 0;
}

static void hold_for_frame(int i, const char *data, size_t length) {
  while (length > 0) {
    size_t room = CHUNK - held_length[i], taken = length < room ? length : room;
    memcpy(held[i] + held_length[i], data, taken);
    held_length[i] += taken;
    data += taken;
    length -= taken;
    if (held_length[i] == CHUNK) flush_frame(i);
  }
}

/* What the step writes, forwarded to the container's stdout and stderr within one budget. */
struct streams {
  int sources[2];
  long long budget, forwarded;
  int over;
};

/* Forwards what pipe i holds now; marks the budget spent when the program wrote past it. */
static void forward(struct streams *s, int i) {
  static char buffer[CHUNK];
  /* A bounded number of reads, so a flood cannot keep the clocks from being checked. */
  for (int reads = 0; reads < 16 && s->sources[i] >= 0 && !s->over; reads++) {
    ssize_t n = read(s->sources[i], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return; /* EAGAIN: nothing more for now */
    if (n == 0) {
      close(s->sources[i]);
      s->sources[i] = -1;
      return;
    }
    long long room = s->budget ? s->budget - s->forwarded : n;
    long long kept = n < room ? n : room;
    if (frame_test >= 0 || frame_label) {
      if (kept > 0) hold_for_frame(i, buffer, (size_t)kept);
    } else {
      write_all(i == 0 ? 1 : 2, buffer, (size_t)kept);
    }
    s->forwarded += kept;
    if (kept < n) s->over = 1;
  }
}

/* One run of the program: what ended it, and what it used. */
struct step {
  struct outcome out;
  long long started, finished, duration, cpu, forwarded;
};

/* Runs the program once with the limits of the options; 125 when the launcher itself failed. */
static int run_step(const struct options *o, int exits, const char *stdin_path, char **argv, struct step *r) {
  memset(r, 0, sizeof *r);
  struct outcome *out = &r->out;
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC) || pipe2(exec_pipe, O_CLOEXEC)) {
    perror("sandpod-launch: setting up");
    return 125;
  }
  /* What the sandbox held before the program: this launcher, the pod's pause process, caches. */
  long long memory_baseline = o->sandbox_memory_bytes ? sandbox_memory_bytes() : -1;
  /* Nothing else of the step runs now: this is what the earlier steps left in the count. */
  long long cpu_base = step_cpu_ms(getpid());
  /* Opened for each step, so its baseline is what the cgroup counted before this test alone. */
  struct cpu_counter counter_found;
  const struct cpu_counter *counter = open_cpu_counter(o->cpu_cgroup, pid_one, &counter_found) ? &counter_found : NULL;
  long long started = now_ms(CLOCK_REALTIME), start = now_ms(CLOCK_MONOTONIC);
  program = fork();
  if (program < 0) {
    perror("sandpod-launch: fork");
    return 125;
  }
  if (program == 0) child(o, stdin_path, argv, out_pipe[1], err_pipe[1], exec_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);

  int exec_error = 0;
  if (read(exec_pipe[0], &exec_error, sizeof exec_error) == (ssize_t)sizeof exec_error) {
    snprintf(out->error, sizeof out->error, "cannot run %s: %s", argv[0], strerror(exec_error));
  }
  close(exec_pipe[0]);

  struct streams s = {.sources = {out_pipe[0], err_pipe[0]}, .budget = o->output_bytes};
  for (int i = 0; i < 2; i++) fcntl(s.sources[i], F_SETFL, O_NONBLOCK);
  long long cpu = 0, next_cpu_check = start, next_memory_check = start;
  int watch_memory = o->sandbox_memory_bytes && memory_baseline >= 0;
  while (!out->error[0]) {
    long long now = now_ms(CLOCK_MONOTONIC), elapsed = now - start;
    if (o->wall_ms && elapsed >= o->wall_ms) {
      out->limit = "wall";
      break;
    }
    /* Reading /proc costs system calls per process, so it runs on a clock, not on every write. */
    if (o->cpu_ms && now >= next_cpu_check) {
      cpu = step_cpu(getpid(), cpu_base, counter);
      if (cpu >= o->cpu_ms) {
        out->limit = "cpu";
        break;
      }
      next_cpu_check = now + CPU_POLL_MS;
    }
    /* One small read, so more often than the CPU count: memory can grow fast between looks. */
    if (watch_memory && now >= next_memory_check) {
      long long used = sandbox_memory_bytes();
      if (used >= 0 && used - memory_baseline > o->sandbox_memory_bytes) {
        out->limit = "memory";
        break;
      }
      next_memory_check = now + MEMORY_POLL_MS;
    }
    long long wait = o->cpu_ms ? next_cpu_check - now : 60000;
    if (watch_memory && next_memory_check - now < wait) wait = next_memory_check - now;
    if (o->wall_ms && o->wall_ms - elapsed < wait) wait = o->wall_ms - elapsed;
    struct pollfd fds[3] = {{.fd = exits, .events = POLLIN},
                            {.fd = s.sources[0], .events = POLLIN},
                            {.fd = s.sources[1], .events = POLLIN}};
    if (poll(fds, 3, (int)(wait > 0 ? wait : 0)) > 0) {
      for (int i = 0; i < 2; i++) {
        if (fds[i + 1].revents) forward(&s, i);
      }
    }
    if (s.over) {
      out->limit = "output";
      break;
    }
    struct signalfd_siginfo info;
    while (read(exits, &info, sizeof info) > 0) {
    }
    int status;
    struct rusage usage;
    pid_t pid;
    while ((pid = wait4(-1, &status, WNOHANG, &usage)) > 0) note_exit(out, pid, status, &usage);
    if (out->have_status) break;
  }
  long long finish = now_ms(CLOCK_MONOTONIC), finished = now_ms(CLOCK_REALTIME);

  /* The program is done (or over a limit): nothing it started may run on or hold the pipes. */
  reap_all(out);
  long long final_cpu = step_cpu(getpid(), cpu_base, counter);
  if (final_cpu > cpu) cpu = final_cpu;
  /* What the step wrote before its end is still in the pipes. */
  for (int i = 0; i < 2; i++) forward(&s, i);
  if (frame_test >= 0 || frame_label) {
    for (int i = 0; i < 2; i++) flush_frame(i);
  }
  if (s.over && !out->limit) out->limit = "output";
  for (int i = 0; i < 2; i++) {
    if (s.sources[i] >= 0) close(s.sources[i]);
  }
  r->started = started;
  r->finished = finished;
  r->duration = finish - start;
  r->cpu = cpu;
  r->forwarded = s.forwarded;
  return 0;
}

/* The exit code that goes with a step's report (report.ts launcherExitCode reads it back). */
static int exit_code_of(const struct outcome *out) {
  if (out->error[0]) return 127;
  if (out->limit) return 128 + SIGKILL;
  if (WIFEXITED(out->status)) return WEXITSTATUS(out->status);
  return 128 + WTERMSIG(out->status);
}

/* Removes everything below an open directory, never following a symlink; directories a program
 * made unreadable are opened up first (it ran as this same user). */
static void remove_contents(int dir) {
  int listing = dup(dir);
  DIR *d = listing >= 0 ? fdopendir(listing) : NULL;
  if (!d) {
    if (listing >= 0) close(listing);
    return;
  }
  struct dirent *entry;
  while ((entry = readdir(d))) {
    const char *name = entry->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      fchmodat(dir, name, 0700, 0);
      int child_dir = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child_dir >= 0) {
        remove_contents(child_dir);
        close(child_dir);
      }
      unlinkat(dir, name, AT_REMOVEDIR);
    } else {
      unlinkat(dir, name, 0);
    }
  }
  closedir(d);
}

static int empty_directory(const char *path) {
  int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return errno;
  remove_contents(dir);
  close(dir);
  return 0;
}

/* Empties every --scratch directory: before a step, between tests, and after a warm compile step. */
static void empty_scratch(const struct options *o) {
  for (int d = 0; d < o->scratch_count; d++) empty_directory(o->scratch[d]);
}

/* The argv of test i: the program's, then the NUL-separated arguments of <tests-dir>/<i>/args. */
static char **test_argv(const struct options *o, long long i, char *buffer, size_t size, char **argv) {
  int count = 0;
  for (; o->argv[count] && count < MAX_ARGS; count++) argv[count] = o->argv[count];
  char path[4096];
  snprintf(path, sizeof path, "%s/%lld/args", o->tests_dir, i);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buffer, size - 1);
    close(fd);
    if (n > 0) {
      buffer[n] = 0;
      for (char *arg = buffer; arg < buffer + n && count < MAX_ARGS; arg += strlen(arg) + 1) argv[count++] = arg;
    }
  }
  argv[count] = NULL;
  return argv;
}

/* Copies the sources into the working directory; a failure is reported like a program that
 * cannot start: the platform, not the program, failed. */
static int stage_sources(const struct options *o, struct outcome *out) {
  if (!o->copy_from) return 0;
  const char *failed = NULL;
  int error = copy_sources(o->copy_from, &failed);
  if (error) snprintf(out->error, sizeof out->error, "cannot copy the source %.160s: %s", failed, strerror(error));
  return error;
}

/* Whether a test ended as a passing test can: by itself, with exit code 0, within its limits. */
static int ended_cleanly(const struct outcome *out) {
  return !out->error[0] && !out->limit && out->have_status && WIFEXITED(out->status) && WEXITSTATUS(out->status) == 0;
}

/* Where run_tests finds each test: a cold pod's in files under --tests-dir and its sources in
 * --copy-from, a warm pod's in its bundle (run_bundle). One loop for both, so a test runs the same
 * wherever it came from. */
struct test_source {
  /* Test i's argv; its stdin as *stdin_path, or as stdin_fd (set, or -1) when the source holds it. */
  char **(*test)(void *context, long long i, const char **stdin_path);
  /* Puts the sources afresh into the working directory: 0, or an errno with out->error said. */
  int (*stage)(void *context, struct outcome *out);
  void *context;
};

static char **cold_test(void *context, long long i, const char **stdin_path) {
  static char arg_buffer[REQUEST_ARGS_BYTES];
  static char *argv[MAX_ARGS + 1];
  static char path[4096];
  const struct options *o = context;
  snprintf(path, sizeof path, "%s/%lld/stdin", o->tests_dir, i);
  *stdin_path = access(path, R_OK) == 0 ? path : "/dev/null";
  return test_argv(o, i, arg_buffer, sizeof arg_buffer, argv);
}

static int cold_stage(void *context, struct outcome *out) {
  return stage_sources(context, out);
}

/* --tests N: the program once per test, each with its own stdin, arguments, limits and output
 * budget, on emptied scratch directories and a fresh copy of the sources; every test's output and
 * report in frames on stdout. The termination report is then the tests' sum: times added up, the
 * largest peak, and the exit of the launcher itself (0, or 127 when it could not go on); *sum is
 * that report (a warm pod frames it once more, end_frame). With --stop-on-failure the round ends
 * after the first test that did not end cleanly; the tests after it have no frames at all.
 * 125 when the launcher itself failed. */
static int run_tests(const struct options *o, int exits, const struct test_source *source, struct step *sum) {
  memset(sum, 0, sizeof *sum);
  struct outcome *total = &sum->out;
  sum->started = now_ms(CLOCK_REALTIME);
  for (long long i = 0; i < o->tests && !total->error[0]; i++) {
    frame_test = i;
    struct step r;
    if (i > 0) empty_scratch(o);
    if (i > 0 && source->stage(source->context, total)) break;
    const char *stdin_path = "/dev/null";
    char **argv = source->test(source->context, i, &stdin_path);
    if (run_step(o, exits, stdin_path, argv, &r)) return 125;
    report_frame(&r.out, r.started, r.finished, r.duration, r.cpu, r.forwarded);
    sum->duration += r.duration;
    sum->cpu += r.cpu;
    sum->forwarded += r.forwarded;
    if (r.out.peak_kib > total->peak_kib) total->peak_kib = r.out.peak_kib;
    if (o->stop_on_failure && !ended_cleanly(&r.out)) break;
  }
  total->have_status = !total->error[0];
  total->status = 0;
  sum->finished = now_ms(CLOCK_REALTIME);
  report(o, total, sum->started, sum->finished, sum->duration, sum->cpu, sum->forwarded);
  return exit_code_of(total);
}

/* --bundle: a warm pod's launcher starts before any program exists and reads it from stdin, which
 * the operator writes through an attach. stdin carries records, one a line: "\036" TAG, then
 * fields separated by one space, each base64, then "\n". A line is read only from its last
 * "\036" (base64 never holds one), so a record cut short by a broken attach spoils itself only,
 * and a record that does not parse is skipped: the operator may send the whole bundle again.
 *   F name content        a source file, written into the working directory
 *   I content             the run step's stdin (else /dev/null)
 *   C|R wall cpu output pids memory argv...   the compile step (optional) and the run step;
 *                         limits as decimal text, memory the bytes the launcher watches (0: none)
 *   N nonce               letters and digits that label the last report on stdout (end_frame)
 *   L gate_ms             the run step's stdin is live: it comes after the bundle as records of its
 *                         own (relay_records), and the run waits up to gate_ms for the first one
 *   K count stop          the run step is judged: it runs once per test, as --tests count does
 *                         (run_tests), with --stop-on-failure stop (0 or 1)
 *   T index stdin arg...  test index (0 to count-1): its stdin and the arguments after the run
 *                         step's argv; the index is explicit so that a bundle sent again replaces
 *                         a test rather than adds one
 *   G                     the bundle is complete: compile, then run; with K, only once every test
 *                         from 0 to count-1 came (a G before that waits for the bundle sent again)
 * An empty frame "c a" says the bundle arrived; the compile step's output and report go to stdout
 * as frames of test "c" (write_frame), then one empty frame "c s" that says the run starts;
 * everything after it is the run's own output, as a cold pod's log: the program's output as it is,
 * or with K the tests' frames exactly as --tests writes them. Between tests the --scratch
 * directories are emptied and the F files written afresh, as a cold pod copies its sources; the
 * compile step's output is not in a scratch directory, so it stays. Tests bring their own stdin,
 * so L is ignored in a bundle with K (the operator never sends both: judged runs are not
 * interactive). The termination report is that of the last step that ran (with K, the tests' sum);
 * with a nonce, it also ends stdout as the frame "<nonce> r". */
#define BUNDLE_LINE_MAX (8 * 1024 * 1024)
#define BUNDLE_FILES 64
/* REQUEST_BOUNDS.tests in contract/request.ts. */
#define BUNDLE_TESTS 100

struct bundle_step {
  int present;
  long long wall_ms, cpu_ms, output_bytes, pids, memory_bytes;
  char *argv[MAX_ARGS + 1];
};

/* Fields point into their record, which is kept for the life of the process. */
struct bundle_file {
  const char *name, *content;
  long long length;
};

struct bundle_test {
  int present;
  const char *stdin_content;
  long long stdin_length;
  char **args;
  int arg_count;
};

struct bundle {
  struct bundle_step compile, run;
  int stdin_fd;
  int complete;
  /* Kept to be written afresh before each test after the first. */
  struct bundle_file files[BUNDLE_FILES];
  int file_count;
  /* Record K: how many tests (0: one plain run) and whether the first failure ends them. */
  long long test_count, stop_on_failure;
  struct bundle_test tests[BUNDLE_TESTS];
  /* Record L: the run's stdin is live, and how long the run waits for its first record. */
  int live;
  long long live_gate_ms;
  /* Letters and digits the operator chose; labels the last report on stdout (end_frame). */
  char nonce[65];
};

/* The report of the last step once more, on stdout, labelled with the bundle's nonce: whoever
 * holds an attach sees the end at once, before the kubelet reports the container. The program never
 * sees the bundle, so it cannot write a frame with that label; and it is dead by now. */
static void end_frame(const struct bundle *b, const struct step *r) {
  if (!b->nonce[0]) return;
  frame_label = b->nonce;
  report_frame(&r->out, r->started, r->finished, r->duration, r->cpu, r->forwarded);
  frame_label = NULL;
}

static int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decodes base64 text in place into a NUL-terminated string; its length, or -1 when not base64. */
static long long base64_decode(char *text, size_t length) {
  size_t out = 0;
  unsigned bits = 0;
  int count = 0;
  for (size_t i = 0; i < length; i++) {
    if (text[i] == '=') break;
    int v = base64_value((unsigned char)text[i]);
    if (v < 0) return -1;
    bits = (bits << 6) | (unsigned)v;
    count += 6;
    if (count >= 8) {
      count -= 8;
      text[out++] = (char)((bits >> count) & 0xff);
    }
  }
  text[out] = 0;
  return (long long)out;
}

/* Splits a record's fields at spaces and decodes each; the number of fields, or -1. A space at the
 * end is an empty last field (an empty stdin or argument encodes to nothing). */
static int record_fields(char *text, char **fields, long long *lengths, int max) {
  int n = 0;
  char *at = text;
  if (!*at) return 0;
  while (n < max) {
    char *end = strchr(at, ' ');
    size_t length = end ? (size_t)(end - at) : strlen(at);
    if (end) *end = 0;
    lengths[n] = base64_decode(at, length);
    if (lengths[n] < 0) return -1;
    fields[n++] = at;
    if (!end) break;
    at = end + 1;
  }
  return n;
}

static int whole_number(const char *text, long long *value) {
  char *end;
  errno = 0;
  *value = strtoll(text, &end, 10);
  return !errno && *end == 0 && end != text && *value >= 0;
}

/* A file name as the API allows it: no path separator, no leading dot. */
static int plain_file_name(const char *name) {
  if (!name[0] || name[0] == '.' || strlen(name) > 255) return 0;
  for (const char *c = name; *c; c++) {
    if (*c == '/') return 0;
  }
  return 1;
}

static void write_bundle_file(const struct bundle_file *f) {
  int out = open(f->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (out >= 0) {
    write_all(out, f->content, (size_t)f->length);
    close(out);
  }
}

/* A file of the bundle, written now and remembered (once per name, a bundle sent again replaces). */
static void take_file(struct bundle *b, const char *name, const char *content, long long length) {
  int i = 0;
  while (i < b->file_count && strcmp(b->files[i].name, name) != 0) i++;
  struct bundle_file f = {.name = name, .content = content, .length = length};
  if (i < BUNDLE_FILES) {
    b->files[i] = f;
    if (i == b->file_count) b->file_count++;
  }
  write_bundle_file(&f);
}

/* Whether the bundle holds every test record K announced. */
static int tests_complete(const struct bundle *b) {
  for (long long i = 0; i < b->test_count; i++) {
    if (!b->tests[i].present) return 0;
  }
  return 1;
}

static void apply_record(struct bundle *b, char *record) {
  char tag = record[0];
  char *rest = record[1] == ' ' ? record + 2 : record + 1;
  static char *fields[MAX_ARGS + 8];
  static long long lengths[MAX_ARGS + 8];
  int n = record_fields(rest, fields, lengths, MAX_ARGS + 6);
  if (n < 0) return;
  if (tag == 'G' && b->run.present && tests_complete(b)) {
    b->complete = 1;
  } else if (tag == 'F' && n == 2 && plain_file_name(fields[0]) && (long long)strlen(fields[0]) == lengths[0]) {
    take_file(b, fields[0], fields[1], lengths[1]);
  } else if (tag == 'K' && n == 2) {
    long long count, stop;
    /* A second K (a bundle sent again) must say the same: tests are never added or dropped. */
    if (!whole_number(fields[0], &count) || !whole_number(fields[1], &stop) || count < 1 || count > BUNDLE_TESTS ||
        stop > 1 || (b->test_count && b->test_count != count))
      return;
    b->test_count = count;
    b->stop_on_failure = stop;
  } else if (tag == 'T' && n >= 2) {
    long long index;
    if (!whole_number(fields[0], &index) || index >= BUNDLE_TESTS) return;
    struct bundle_test *t = &b->tests[index];
    char **args = realloc(t->args, (size_t)(n - 2 + 1) * sizeof *args);
    if (!args) return;
    for (int i = 2; i < n; i++) args[i - 2] = fields[i];
    args[n - 2] = NULL;
    t->args = args;
    t->arg_count = n - 2;
    t->stdin_content = fields[1];
    t->stdin_length = lengths[1];
    t->present = 1;
  } else if (tag == 'N' && n == 1 && lengths[0] > 0 && lengths[0] < (long long)sizeof b->nonce) {
    for (const char *c = fields[0]; *c; c++) {
      if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))) return;
    }
    memcpy(b->nonce, fields[0], (size_t)lengths[0] + 1);
  } else if (tag == 'L' && n == 1 && whole_number(fields[0], &b->live_gate_ms)) {
    b->live = 1;
  } else if (tag == 'I' && n == 1) {
    int fd = memfd_create("stdin", MFD_CLOEXEC);
    if (fd < 0) return;
    write_all(fd, fields[0], (size_t)lengths[0]);
    lseek(fd, 0, SEEK_SET);
    if (b->stdin_fd >= 0) close(b->stdin_fd);
    b->stdin_fd = fd;
  } else if ((tag == 'C' || tag == 'R') && n >= 6) {
    struct bundle_step *step = tag == 'C' ? &b->compile : &b->run;
    /* Fields are decoded in place within the line, which lives as long as the process. */
    if (!whole_number(fields[0], &step->wall_ms) || !whole_number(fields[1], &step->cpu_ms) ||
        !whole_number(fields[2], &step->output_bytes) || !whole_number(fields[3], &step->pids) ||
        !whole_number(fields[4], &step->memory_bytes))
      return;
    int argc = 0;
    for (int i = 5; i < n && argc < MAX_ARGS; i++) step->argv[argc++] = fields[i];
    step->argv[argc] = NULL;
    step->present = 1;
  }
}

/* stdin as lines, held across calls: what came after the bundle in the same read stays here for
 * the relay of a live stdin (relay_records). */
static char *record_line;
static size_t record_size, record_used, record_scanned;

/* Hands each record on stdin (a line from its last "\036" on, see run_bundle) to `take` until
 * `take` returns nonzero: 0 then, -1 at EOF or when memory runs out. */
static int read_records(int (*take)(void *context, char *record), void *context) {
  if (!record_line) {
    record_size = 1 << 16;
    record_line = malloc(record_size);
    if (!record_line) return -1;
  }
  for (;;) {
    char *newline;
    while ((newline = memchr(record_line + record_scanned, '\n', record_used - record_scanned))) {
      *newline = 0;
      char *start = NULL;
      for (char *c = record_line; c < newline; c++) {
        if (*c == '\036') start = c + 1;
      }
      int done = start && *start ? take(context, start) : 0;
      size_t consumed = (size_t)(newline + 1 - record_line);
      memmove(record_line, newline + 1, record_used - consumed);
      record_used -= consumed;
      record_scanned = 0;
      if (done) return 0;
    }
    record_scanned = record_used;
    if (record_used == record_size) {
      if (record_size >= BUNDLE_LINE_MAX) record_used = record_scanned = 0; /* a line this long is no record: dropped */
      else {
        char *bigger = realloc(record_line, record_size * 2);
        if (!bigger) return -1;
        record_line = bigger;
        record_size *= 2;
      }
    }
    ssize_t n = read(0, record_line + record_used, record_size - record_used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    record_used += (size_t)n;
  }
}

static int take_bundle_record(void *context, char *line) {
  struct bundle *b = context;
  /* Kept: argv and file contents point into it. */
  char *record = strdup(line);
  if (record) apply_record(b, record);
  return b->complete;
}

/* Reads records from stdin until the bundle is complete; 0 then, -1 at EOF without one. */
static int read_bundle(struct bundle *b) {
  return read_records(take_bundle_record, b);
}

/* A live stdin after the bundle (record L), written by whoever holds the program's input (the
 * gateway's attach), one record a line as the bundle's:
 *   O            opens the gate: the writer is attached and sees all output from here on
 *   D content    bytes for the program
 *   E            the end of its input
 * Any record opens the gate. Anything else (a bundle sent again, a record cut short) is dropped,
 * so nothing but D reaches the program; and the program's stdin ends at E, though the container's
 * stdin (shared by every attach) stays open. */
struct relay_state {
  int out, gate;
};

static int take_live_record(void *context, char *line) {
  struct relay_state *state = context;
  char tag = line[0];
  if ((tag != 'O' && tag != 'D' && tag != 'E') || (line[1] != 0 && line[1] != ' ')) return 0;
  char *fields[2];
  long long lengths[2];
  int n = line[1] ? record_fields(line + 2, fields, lengths, 2) : 0;
  if (n < 0 || (tag == 'D' && n != 1)) return 0;
  if (state->gate >= 0) {
    write_all(state->gate, "g", 1);
    close(state->gate);
    state->gate = -1;
  }
  if (tag == 'D') write_all(state->out, fields[0], (size_t)lengths[0]);
  return tag == 'E';
}

/* The relay: a process of its own that feeds the program's stdin (a pipe) from the records on
 * stdin, and tells the launcher through `gate` that the first record came. */
static void relay_records(int out, int gate) {
  struct relay_state state = {.out = out, .gate = gate};
  read_records(take_live_record, &state);
  _exit(0);
}

/* Starts the relay of a live stdin and waits up to gate_ms for its first record: the read end of
 * the program's stdin, or -1. */
static int live_stdin(long long gate_ms) {
  int data[2], gate[2];
  if (pipe2(data, O_CLOEXEC) < 0 || pipe2(gate, O_CLOEXEC) < 0) return -1;
  relay = fork();
  if (relay < 0) return -1;
  if (relay == 0) {
    close(data[0]);
    close(gate[0]);
    relay_records(data[1], gate[1]);
  }
  close(data[1]);
  close(gate[1]);
  long long deadline = now_ms(CLOCK_MONOTONIC) + gate_ms;
  for (;;) {
    long long left = deadline - now_ms(CLOCK_MONOTONIC);
    if (left <= 0) break;
    struct pollfd opened = {.fd = gate[0], .events = POLLIN};
    int ready = poll(&opened, 1, (int)left);
    if (ready < 0 && errno == EINTR) continue;
    break; /* the gate, the relay's end, or the time is up */
  }
  close(gate[0]);
  return data[0];
}

/* A warm pod's tests (record K) as run_tests takes them. */
static char **bundle_test(void *context, long long i, const char **stdin_path) {
  static char *argv[MAX_ARGS + 1];
  const struct bundle *b = context;
  const struct bundle_test *t = &b->tests[i];
  int count = 0;
  for (; b->run.argv[count] && count < MAX_ARGS; count++) argv[count] = b->run.argv[count];
  for (int a = 0; a < t->arg_count && count < MAX_ARGS; a++) argv[count++] = t->args[a];
  argv[count] = NULL;
  /* As record I: the test's stdin in memory, from its start. */
  if (stdin_fd >= 0) close(stdin_fd);
  stdin_fd = memfd_create("stdin", MFD_CLOEXEC);
  if (stdin_fd >= 0) {
    write_all(stdin_fd, t->stdin_content, (size_t)t->stdin_length);
    lseek(stdin_fd, 0, SEEK_SET);
  }
  /* Without memory for it, no input rather than the launcher's own stdin. */
  *stdin_path = "/dev/null";
  return argv;
}

static int bundle_stage(void *context, struct outcome *out) {
  (void)out; /* writing a file that fits the scratch cannot fail short of the platform failing */
  const struct bundle *b = context;
  for (int i = 0; i < b->file_count; i++) write_bundle_file(&b->files[i]);
  return 0;
}

static int run_bundle(struct options *o, int exits) {
  struct bundle b;
  memset(&b, 0, sizeof b);
  b.stdin_fd = -1;
  if (read_bundle(&b) < 0) {
    fprintf(stderr, "sandpod-launch: stdin ended before a whole bundle came\n");
    return 125;
  }
  /* Said at once, so whoever sent the bundle knows it arrived, even before a long compile. */
  write_all(1, "\036SP c a 0\n\n", 11);
  struct step r;
  if (b.compile.present) {
    struct options c = *o;
    c.wall_ms = b.compile.wall_ms;
    c.cpu_ms = b.compile.cpu_ms;
    c.output_bytes = b.compile.output_bytes;
    c.pids = b.compile.pids;
    c.sandbox_memory_bytes = b.compile.memory_bytes;
    frame_label = "c";
    if (run_step(&c, exits, "/dev/null", b.compile.argv, &r)) return 125;
    report_frame(&r.out, r.started, r.finished, r.duration, r.cpu, r.forwarded);
    frame_label = NULL;
    int failed = r.out.error[0] || r.out.limit || !WIFEXITED(r.out.status) || WEXITSTATUS(r.out.status) != 0;
    if (failed) {
      report(o, &r.out, r.started, r.finished, r.duration, r.cpu, r.forwarded);
      end_frame(&b, &r);
      return exit_code_of(&r.out);
    }
    /* A cold pod compiles in a container of its own, on read-only sources: its run never sees what
     * the compiler left beside them (caches in HOME, objects, TMPDIR). Here the compiler ran in the
     * working directory, so the scratch directories are emptied and the files written afresh; what
     * the run needs was built into the build directory, which is not among them. */
    empty_scratch(o);
    bundle_stage(&b, NULL);
  }
  if (b.live && !b.test_count) {
    /* Waited for after the compile step, which runs meanwhile; the gate's writer then sees the
     * whole run, from the frame below on. */
    b.stdin_fd = live_stdin(b.live_gate_ms);
    if (b.stdin_fd < 0) {
      perror("sandpod-launch: handing stdin to the program");
      return 125;
    }
  }
  /* The run starts: from here on stdout is the program's own. */
  write_all(1, "\036SP c s 0\n\n", 11);
  o->wall_ms = b.run.wall_ms;
  o->cpu_ms = b.run.cpu_ms;
  o->output_bytes = b.run.output_bytes;
  o->pids = b.run.pids;
  o->sandbox_memory_bytes = b.run.memory_bytes;
  if (b.test_count) {
    o->tests = b.test_count;
    o->stop_on_failure = b.stop_on_failure;
    struct test_source tests = {.test = bundle_test, .stage = bundle_stage, .context = &b};
    int code = run_tests(o, exits, &tests, &r);
    if (code != 125) end_frame(&b, &r);
    return code;
  }
  stdin_fd = b.stdin_fd;
  if (run_step(o, exits, "/dev/null", b.run.argv, &r)) return 125;
  report(o, &r.out, r.started, r.finished, r.duration, r.cpu, r.forwarded);
  end_frame(&b, &r);
  if (r.out.error[0]) fprintf(stderr, "sandpod-launch: %s\n", r.out.error);
  return exit_code_of(&r.out);
}

int main(int argc, char **argv) {
  struct options o;
  parse(argc, argv, &o);
  /* Not dumpable: a program of the same uid can neither ptrace this process nor read its memory. */
  prctl(PR_SET_DUMPABLE, 0);
  pid_one = getpid() == 1;
  if (!pid_one) prctl(PR_SET_CHILD_SUBREAPER, 1);
  signal(SIGPIPE, SIG_IGN);
  /* A child's exit wakes the loop at once, so durationMs is the program's, not the poll's. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int exits = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (exits < 0) {
    perror("sandpod-launch: setting up");
    return 125;
  }
  /* A step starts on empty scratch directories: the kubelet starts a container again in the same
   * pod when the container runtime lost its first attempt (containerd restarting as it started
   * it), and the pod's volumes keep what that attempt left, such as its copy of the sources, which
   * the copy below refuses to overwrite, and whatever the program wrote. */
  empty_scratch(&o);
  if (o.bundle) return run_bundle(&o, exits);
  int early = o.gate_ms ? await_gate(o.gate_ms) : -1;
  if (early >= 0 && relay_stdin((unsigned char)early) < 0) {
    perror("sandpod-launch: handing stdin to the program");
    return 125;
  }
  if (o.live_ms && (stdin_fd = live_stdin(o.live_ms)) < 0) {
    perror("sandpod-launch: handing stdin to the program");
    return 125;
  }

  struct outcome staged = {0};
  if (stage_sources(&o, &staged)) {
    long long now = now_ms(CLOCK_REALTIME);
    report(&o, &staged, now, now, 0, 0, 0);
    fprintf(stderr, "sandpod-launch: %s\n", staged.error);
    return 127;
  }
  if (o.tests) {
    struct test_source files = {.test = cold_test, .stage = cold_stage, .context = &o};
    struct step sum;
    return run_tests(&o, exits, &files, &sum);
  }

  struct step r;
  if (run_step(&o, exits, o.stdin_path, o.argv, &r)) return 125;
  report(&o, &r.out, r.started, r.finished, r.duration, r.cpu, r.forwarded);
  if (r.out.error[0]) fprintf(stderr, "sandpod-launch: %s\n", r.out.error);
  return exit_code_of(&r.out);
}
