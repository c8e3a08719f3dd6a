/* SPDX-License-Identifier: Apache-2.0 */
/* Process counts: one scan of /proc/<pid>/stat per pass gives the number of processes per
 * state and the number of threads. A process that exits while it is being read is simply
 * not counted. On the live host the stat files stay open between passes (pread from 0
 * regenerates them at a third of the cost of open + read + close). The per-process reports
 * (proc_watch.c) reuse the parsed stat line. */
#include "collect_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const metric_def_t defs[] = {
    {"system_processes", "gauge", "", "state",
     "Processes per state: running, sleeping, blocked (uninterruptible, usually I/O), zombie, "
     "stopped (or traced), idle (kernel idle threads), other. Every state is reported."},
    {"system_threads", "gauge", "", "", "Threads of all processes."},
};

const metric_table_t collect_table_processes = {
    "Processes",
    "/proc/<pid>/stat",
    "enable_processes (system_monitor.enable_process_monitoring)",
    "Kernel threads count as processes, as in ps. With this source off (and "
    "no_stat_processes not set), /proc/stat's procs_running and procs_blocked (runnable and "
    "blocked threads) provide system_processes{state=\"running\"|\"blocked\"} instead. The "
    "total is sum(system_processes).",
    defs,
    METRIC_TABLE_N(defs)};

enum { PS_RUNNING, PS_SLEEPING, PS_BLOCKED, PS_ZOMBIE, PS_STOPPED, PS_IDLE, PS_OTHER, PS_N };
static const char *const ps_names[PS_N] = {"running", "sleeping", "blocked", "zombie",
                                           "stopped", "idle",     "other"};

static int state_index(char st)
{
    switch (st) {
    case 'R':
        return PS_RUNNING;
    case 'S':
        return PS_SLEEPING;
    case 'D':
        return PS_BLOCKED;
    case 'Z':
        return PS_ZOMBIE;
    case 'T':
    case 't':
        return PS_STOPPED;
    case 'I':
        return PS_IDLE;
    default:
        return PS_OTHER;
    }
}

/* Field 52 (exit_code, Linux >= 3.5) from the unsplit tail that starts at field 25; the wait
 * status becomes a shell-style code: the exit status, or 128 + the signal. */
static int exit_code_of(char *tail, int *code)
{
    char *f[29];
    uint64_t v;
    if (procfile_split(tail, f, 29) < 28 || procfile_parse_u64(f[27], &v) != 0 || v > 0xffff)
        return OMEGA_EINVAL;
    *code = (v & 0x7f) ? 128 + (int)(v & 0x7f) : (int)((v >> 8) & 0xff);
    return 0;
}

const char *pid_state_name(char st)
{
    return ps_names[state_index(st)];
}

int pid_stat_parse(char *buf, pid_stat_t *out)
{
    char *f[PID_STAT_FIELDS];
    size_t blen = strlen(buf);
    while (blen > 0 && (buf[blen - 1] == '\n' || buf[blen - 1] == ' '))
        buf[--blen] = '\0';
    char *open = strchr(buf, '(');
    char *close = strrchr(buf, ')');
    if (!open || !close || close < open || close[1] != ' ')
        return OMEGA_EINVAL;
    size_t clen = (size_t)(close - open - 1);
    if (clen >= sizeof(out->comm))
        clen = sizeof(out->comm) - 1;
    memcpy(out->comm, open + 1, clen);
    out->comm[clen] = '\0';
    /* Field k of proc(5) (1-based) is f[k - 3] after the ')'. */
    size_t nf = procfile_split(close + 2, f, PID_STAT_FIELDS);
    if (nf < PID_STAT_FIELDS || strlen(f[0]) != 1)
        return OMEGA_EINVAL;
    /* procfile_split ended the last field in place: what follows it is fields 25 .. */
    char *tail = f[PID_STAT_FIELDS - 1] + strlen(f[PID_STAT_FIELDS - 1]);
    tail = tail < buf + blen ? tail + 1 : tail;
    uint64_t v[8];
    /* utime stime num_threads starttime rss minflt majflt vsize */
    const int idx[8] = {11, 12, 17, 19, 21, 7, 9, 20};
    for (int i = 0; i < 8; i++)
        if (procfile_parse_u64(f[idx[i]], &v[i]) != 0)
            return OMEGA_EINVAL;
    uint64_t ppid;
    if (procfile_parse_u64(f[1], &ppid) != 0)
        return OMEGA_EINVAL;
    out->exit_code = -1;
    if (f[0][0] == 'Z' && exit_code_of(tail, &out->exit_code) != 0)
        out->exit_code = -1;
    out->state = f[0][0];
    out->ppid = (int64_t)ppid;
    out->cpu_ticks = v[0] + v[1];
    out->threads = v[2];
    out->start_ticks = v[3];
    out->rss_pages = v[4];
    out->utime = v[0];
    out->stime = v[1];
    out->minflt = v[5];
    out->majflt = v[6];
    out->vsize = v[7];
    return 0;
}

void pid_cache_init(pid_cache_t *pc, size_t max_fds)
{
    memset(pc, 0, sizeof(*pc));
    pc->max = max_fds;
}

static void close_all(pid_fd_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].fd >= 0)
            close(v[i].fd);
}

void pid_cache_deinit(pid_cache_t *pc)
{
    close_all(pc->prev, pc->n_prev);
    close_all(pc->cur, pc->n_cur);
    free(pc->prev);
    free(pc->cur);
    memset(pc, 0, sizeof(*pc));
}

/* The open stat descriptor of pid from the previous pass (handed over), or -1. */
static int cache_take(pid_cache_t *pc, int64_t pid)
{
    size_t lo = 0, hi = pc->n_prev;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pc->prev[mid].pid == pid) {
            int fd = pc->prev[mid].fd;
            pc->prev[mid].fd = -1;
            return fd;
        }
        if (pc->prev[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Keep fd for the next pass when there is room, else close it. */
static void cache_keep(pid_cache_t *pc, int64_t pid, int fd)
{
    if (!pc || pc->n_cur >= pc->max) {
        close(fd);
        return;
    }
    if (pc->n_cur == pc->cap) {
        pc->cap = pc->cap ? pc->cap * 2 : 128;
        pc->cur = omega_realloc(pc->cur, pc->cap * sizeof(*pc->cur));
    }
    pc->cur[pc->n_cur].pid = pid;
    pc->cur[pc->n_cur++].fd = fd;
}

static int by_pid(const void *a, const void *b)
{
    int64_t x = ((const pid_fd_t *)a)->pid, y = ((const pid_fd_t *)b)->pid;
    return (x > y) - (x < y);
}

/* Close what the previous pass kept and nobody took (exited processes); this pass' set
 * becomes the previous one, sorted by pid. */
static void cache_rotate(pid_cache_t *pc)
{
    close_all(pc->prev, pc->n_prev);
    qsort(pc->cur, pc->n_cur, sizeof(*pc->cur), by_pid);
    pid_fd_t *tmp = pc->prev;
    size_t cap = pc->cap_prev;
    pc->prev = pc->cur;
    pc->n_prev = pc->n_cur;
    pc->cap_prev = pc->cap;
    pc->cur = tmp;
    pc->cap = cap;
    pc->n_cur = 0;
}

/* /proc/<pid>/stat into buf through a kept descriptor (pread from 0 regenerates the text)
 * or a new one. Returns the descriptor (still open) or -1 when the process is gone. */
static int read_stat(int dfd, pid_cache_t *pc, int64_t pid, const char *name, char *buf, size_t cap)
{
    char rel[300];
    int fd = pc ? cache_take(pc, pid) : -1;
    ssize_t n = -1;
    if (fd >= 0 && (n = pread(fd, buf, cap - 1, 0)) <= 0) {
        close(fd); /* that process exited; the pid may already belong to a new one */
        fd = -1;
    }
    if (fd < 0) {
        snprintf(rel, sizeof(rel), "%s/stat", name);
        fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        n = pread(fd, buf, cap - 1, 0);
    }
    if (n <= 0 || (size_t)n >= cap - 1) {
        close(fd);
        return -1;
    }
    buf[n] = '\0';
    return fd;
}

int processes_collect(const char *root, pid_cache_t *pc, char *buf, size_t cap, batch_t *b,
                      pid_visit_fn visit, void *ctx, omega_error_t *err)
{
    char path[4200];
    uint64_t counts[PS_N] = {0}, threads = 0;
    if (cap > PID_STAT_MAX)
        cap = PID_STAT_MAX;
    if (collect_path(path, sizeof(path), root, "/proc") != 0)
        return omega_error_set(err, OMEGA_EIO, "root too long");
    DIR *d = opendir(path);
    if (!d)
        return omega_error_set(err, OMEGA_EIO, "cannot open %s", path);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t pid;
        pid_stat_t ps;
        if (procfile_parse_u64(e->d_name, &pid) != 0 || pid == 0 || pid > INT32_MAX)
            continue;
        /* Exited between readdir and the read: not counted, not an error. */
        int fd = read_stat(dirfd(d), pc, (int64_t)pid, e->d_name, buf, cap);
        if (fd < 0)
            continue;
        if (pid_stat_parse(buf, &ps) != 0) {
            close(fd);
            continue;
        }
        cache_keep(pc, (int64_t)pid, fd);
        ps.pid = (int64_t)pid;
        counts[state_index(ps.state)]++;
        threads += ps.threads;
        if (visit)
            visit(ctx, &ps);
    }
    closedir(d);
    if (pc)
        cache_rotate(pc);
    for (int i = 0; i < PS_N; i++) {
        omega_label_t l[1] = {{"state", ps_names[i]}};
        batch_add(b, "system_processes", (double)counts[i], l, 1);
    }
    batch_add(b, "system_threads", (double)threads, NULL, 0);
    return 0;
}
