/* SPDX-License-Identifier: Apache-2.0 */
/* Per-process monitoring: from the process scan's /proc/<pid>/stat records, pick the processes
 * system_monitor.process_filters select (OMEGA tools, compilers by name, custom command-line
 * regexes), report their CPU %, memory, threads and start time, raise an event when one
 * exits, and keep the last pass for the process list API (the only cross-thread state). */
#include "collect_int.h"

#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define L_PROC "pid,name"

/* Descriptor tables are listed at most this often (open fds is a slow-moving gauge). */
#define FD_PERIOD_MS 10000

static const metric_def_t defs[] = {
    {"system_process_cpu_percent", "gauge", "percent", L_PROC,
     "CPU used over the last interval, percent of one core (a busy 4-thread process shows 400)."},
    {"system_process_resident_memory_bytes", "gauge", "bytes", L_PROC, "Resident set size."},
    {"system_process_threads", "gauge", "", L_PROC, "Threads of the process."},
    {"system_process_start_time_seconds", "gauge", "seconds", L_PROC, "Start time, Unix seconds."},
    {"system_process_cpu_seconds_total", "counter", "seconds", L_PROC ",mode",
     "CPU time used, mode=\"user\"|\"system\"."},
    {"system_process_page_faults_total", "counter", "", L_PROC ",type",
     "Page faults, type=\"minor\"|\"major\" (major ones needed I/O)."},
    {"system_process_virtual_memory_bytes", "gauge", "bytes", L_PROC, "Virtual memory size."},
    {"system_process_swap_bytes", "gauge", "bytes", L_PROC, "Memory swapped out (VmSwap)."},
    {"system_process_context_switches_total", "counter", "", L_PROC ",type",
     "Context switches, type=\"voluntary\" (waited for something) or \"involuntary\" "
     "(preempted)."},
    {"system_process_open_fds", "gauge", "", L_PROC,
     "Open file descriptors, counted every 10 s (listing /proc/<pid>/fd is the costliest read "
     "of a watched process)."},
    {"system_process_io_read_bytes_total", "counter", "bytes", L_PROC,
     "Bytes read through read() and friends, page cache and sockets included (rchar)."},
    {"system_process_io_written_bytes_total", "counter", "bytes", L_PROC,
     "Bytes written through write() and friends (wchar)."},
    {"system_process_disk_read_bytes_total", "counter", "bytes", L_PROC,
     "Bytes the process caused to be read from storage (read_bytes)."},
    {"system_process_disk_written_bytes_total", "counter", "bytes", L_PROC,
     "Bytes the process caused to be written to storage (write_bytes)."},
};

const metric_table_t collect_table_watch = {
    "Watched processes",
    "/proc/<pid>/stat, /proc/<pid>/cmdline, /proc/<pid>/status, /proc/<pid>/io, /proc/<pid>/fd",
    "enable_processes + watch (system_monitor.process_filters)",
    "Only the processes process_filters select get series, one per pid (a compiler run is a "
    "short-lived series). Selected: names starting with \"omega\" (include_omega_processes); "
    "compilers, linkers and build drivers by name (include_compiler_processes: gcc, g++, cc, "
    "c++, cc1, cc1plus, cc1obj, collect2, lto1, f951, gfortran, clang, clang++, clangd, ld, "
    "ld.bfd, ld.gold, ld.lld, lld, mold, as, rustc, cargo, javac, kotlinc, scalac, go, gccgo, "
    "compile, swiftc, ghc, zig, nvcc, tsc, make, gmake, ninja, cmake, meson, bazel, msbuild; "
    "a version suffix or target prefix is allowed, as in gcc-13 or x86_64-linux-gnu-gcc); and "
    "command lines in which a custom_process_patterns regex (POSIX extended) matches anywhere. "
    "exclude_system_processes then drops kernel threads and processes of system accounts "
    "(uid 1-999; root is kept, builds often run as root in containers). A selected process "
    "that disappears raises an exit event; its exit status is known only when a pass saw it "
    "as a zombie (the kernel reports it only for unreaped processes).",
    defs,
    METRIC_TABLE_N(defs)};

static const char *const compilers[] = {
    "gcc",   "g++",      "cc",     "c++",     "cc1",    "cc1plus", "cc1obj",  "collect2", "lto1",
    "f951",  "gfortran", "clang",  "clang++", "clangd", "ld",      "ld.bfd",  "ld.gold",  "ld.lld",
    "lld",   "mold",     "as",     "rustc",   "cargo",  "javac",   "kotlinc", "scalac",   "go",
    "gccgo", "compile",  "swiftc", "ghc",     "zig",    "nvcc",    "tsc",     "make",     "gmake",
    "ninja", "cmake",    "meson",  "bazel",   "msbuild"};

static int is_compiler_word(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(compilers) / sizeof(compilers[0]); i++)
        if (strlen(compilers[i]) == n && strncmp(s, compilers[i], n) == 0)
            return 1;
    return 0;
}

int watch_is_compiler(const char *comm)
{
    size_t n = strlen(comm);
    /* Drop a version suffix: "-13", "-17.0.1". */
    const char *dash = strrchr(comm, '-');
    if (dash && dash[1] >= '0' && dash[1] <= '9' &&
        strspn(dash + 1, "0123456789.") == strlen(dash + 1))
        n = (size_t)(dash - comm);
    if (is_compiler_word(comm, n))
        return 1;
    /* A target prefix: the last '-' separated word of what is left. */
    for (size_t i = n; i > 0; i--)
        if (comm[i - 1] == '-')
            return is_compiler_word(comm + i, n - i);
    return 0;
}

int watch_state_init(watch_state_t *w, const omega_process_filter_t *f, const char *root,
                     omega_error_t *err)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    w->root = root;
    w->hz = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    w->page = page > 0 ? (uint64_t)page : 4096;
    if (w->hz <= 0)
        w->hz = 100;
    w->include_omega = f->include_omega != 0;
    w->include_compilers = f->include_compilers != 0;
    w->exclude_system = f->exclude_system != 0;
    if (f->n_patterns > 256 || (f->n_patterns && !f->patterns))
        return omega_error_set_path(err, OMEGA_EINVAL, "watch.patterns", "at most 256 patterns");
    w->re = omega_calloc(f->n_patterns ? f->n_patterns : 1, sizeof(*w->re));
    for (size_t i = 0; i < f->n_patterns; i++) {
        if (!f->patterns[i] || regcomp(&w->re[i], f->patterns[i], REG_EXTENDED | REG_NOSUB)) {
            omega_error_set_path(err, OMEGA_EINVAL, "watch.patterns",
                                 "process pattern %zu is not a valid regular expression", i);
            return OMEGA_EINVAL;
        }
        w->n_re++;
    }
    return 0;
}

static void free_entries(watch_entry_t *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].cmdline);
        e[i].cmdline = NULL;
        if (e[i].fd_status >= 0)
            close(e[i].fd_status);
        if (e[i].fd_io >= 0)
            close(e[i].fd_io);
        e[i].fd_status = e[i].fd_io = -1;
    }
}

void watch_state_deinit(watch_state_t *w)
{
    for (size_t i = 0; i < w->n_re; i++)
        regfree(&w->re[i]);
    free(w->re);
    free_entries(w->prev, w->n_prev);
    free_entries(w->cur, w->n_cur);
    free(w->prev);
    free(w->cur);
    pthread_mutex_destroy(&w->lock);
    memset(w, 0, sizeof(*w));
}

/* btime from <root>/proc/stat, once. */
static void read_btime(watch_state_t *w)
{
    char buf[256];
    if (w->btime_s)
        return;
    FILE *f = NULL;
    char path[4200];
    if (collect_path(path, sizeof(path), w->root, "/proc/stat") != 0 || !(f = fopen(path, "re")))
        return;
    long long bt;
    while (fgets(buf, sizeof(buf), f))
        if (sscanf(buf, "btime %lld", &bt) == 1 && bt > 0) {
            w->btime_s = bt;
            break;
        }
    fclose(f);
}

void watch_begin(watch_state_t *w, int64_t now_ms)
{
    free_entries(w->cur, w->n_cur);
    w->n_cur = 0;
    w->cur_ms = now_ms;
    read_btime(w);
}

/* <root>/proc/<pid>/cmdline with the NULs as spaces into buf (cap bytes, at most cap - 1 of
 * the command line kept). Returns 0 or -1 (gone). */
static int read_cmdline(const char *root, int64_t pid, char *buf, size_t cap)
{
    char rel[64];
    size_t len = 0;
    snprintf(rel, sizeof(rel), "/proc/%lld/cmdline", (long long)pid);
    int rc = procfile_read(root, rel, buf, cap, &len, NULL);
    if (rc == OMEGA_E2BIG) { /* longer than we keep: the first cap - 1 bytes are enough */
        FILE *f;
        char path[4200];
        if (collect_path(path, sizeof(path), root, rel) != 0 || !(f = fopen(path, "re")))
            return -1;
        len = fread(buf, 1, cap - 1, f);
        fclose(f);
        rc = 0;
    }
    if (rc != 0)
        return -1;
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[len] = '\0';
    return 0;
}

static int64_t owner_uid(const char *root, int64_t pid)
{
    char rel[64], path[4200];
    struct stat st;
    snprintf(rel, sizeof(rel), "/proc/%lld", (long long)pid);
    if (collect_path(path, sizeof(path), root, rel) != 0 || stat(path, &st) != 0)
        return -1;
    return (int64_t)st.st_uid;
}

/* Decide whether e is watched; may read its command line and owner. Returns 0, or -1 when the
 * process vanished mid-read (then it is decided again next pass). */
static int decide(watch_state_t *w, watch_entry_t *e)
{
    int kernel = e->st.pid == 2 || e->st.ppid == 2;
    int sel = (w->include_omega && strncmp(e->st.comm, "omega", 5) == 0) ||
              (w->include_compilers && watch_is_compiler(e->st.comm));
    int have_cmd = 0;
    if (!sel && w->n_re > 0 && !kernel) {
        if (read_cmdline(w->root, e->st.pid, w->cmdbuf, sizeof(w->cmdbuf)) != 0)
            return -1;
        have_cmd = 1;
        for (size_t i = 0; i < w->n_re && !sel; i++)
            sel = regexec(&w->re[i], w->cmdbuf, 0, NULL, 0) == 0;
    }
    if (sel && w->exclude_system) {
        e->uid = owner_uid(w->root, e->st.pid);
        if (kernel || (e->uid >= 1 && e->uid <= 999))
            sel = 0;
    }
    if (sel && !have_cmd && read_cmdline(w->root, e->st.pid, w->cmdbuf, sizeof(w->cmdbuf)) != 0)
        return -1;
    e->watched = sel;
    e->cmdline = sel ? omega_strdup(w->cmdbuf) : NULL;
    e->decided = 1;
    return 0;
}

static watch_entry_t *find(watch_entry_t *arr, size_t n, int64_t pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (arr[mid].st.pid == pid)
            return &arr[mid];
        if (arr[mid].st.pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void watch_visit(void *ctx, const pid_stat_t *ps)
{
    watch_state_t *w = ctx;
    if (w->n_cur == w->cap_cur) {
        w->cap_cur = w->cap_cur ? w->cap_cur * 2 : 256;
        w->cur = omega_realloc(w->cur, w->cap_cur * sizeof(*w->cur));
    }
    watch_entry_t *e = &w->cur[w->n_cur];
    memset(e, 0, sizeof(*e));
    e->st = *ps;
    e->cpu_pct = -1;
    e->uid = -1;
    e->fd_status = e->fd_io = -1;
    /* prev is only written by this thread, so reading it needs no lock. */
    const watch_entry_t *p = w->ran ? find(w->prev, w->n_prev, ps->pid) : NULL;
    if (p && p->st.start_ticks == ps->start_ticks) {
        if (p->fd_status >= 0 || p->fd_io >= 0) { /* same process: its descriptors move on */
            watch_entry_t *mp = (watch_entry_t *)p;
            pthread_mutex_lock(&w->lock);
            e->fd_status = mp->fd_status;
            e->fd_io = mp->fd_io;
            mp->fd_status = mp->fd_io = -1;
            pthread_mutex_unlock(&w->lock);
        }
        double secs = (double)(w->cur_ms - w->prev_ms) / 1000.0;
        if (secs > 0 && ps->cpu_ticks >= p->st.cpu_ticks)
            e->cpu_pct = 100.0 * (double)(ps->cpu_ticks - p->st.cpu_ticks) / (double)w->hz / secs;
        if (strcmp(p->st.comm, ps->comm) == 0 && p->decided) { /* same program: same verdict */
            e->decided = 1;
            e->watched = p->watched;
            e->uid = p->uid;
            e->reported = p->reported;
            e->cmdline = p->cmdline ? omega_strdup(p->cmdline) : NULL;
        }
    }
    if (!e->decided && decide(w, e) != 0)
        return; /* exited while we read it: not part of this pass */
    w->n_cur++;
}

static int64_t start_ms(const watch_state_t *w, const pid_stat_t *st)
{
    return (w->btime_s * 1000) + (int64_t)(st->start_ticks * 1000 / (uint64_t)w->hz);
}

/* e is the zombie of this pass or a vanished entry of the previous one; neither is changed
 * (prev is shared with the process list API). */
static void raise_exit(watch_state_t *w, const watch_entry_t *e, int code)
{
    if (!w->on_exit)
        return;
    omega_process_event_t ev = {e->st.pid, e->st.comm,          e->cmdline ? e->cmdline : "",
                                code,      start_ms(w, &e->st), w->cur_ms};
    w->on_exit(w->on_exit_ctx, &ev);
}

static int by_pid(const void *a, const void *b)
{
    int64_t x = ((const watch_entry_t *)a)->st.pid, y = ((const watch_entry_t *)b)->st.pid;
    return (x > y) - (x < y);
}

static void emit_proc(const watch_state_t *w, const watch_entry_t *e, batch_t *b)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)e->st.pid);
    omega_label_t l[2] = {{"pid", pid}, {"name", e->st.comm}};
    if (e->cpu_pct >= 0)
        batch_add(b, "system_process_cpu_percent", e->cpu_pct, l, 2);
    batch_add(b, "system_process_resident_memory_bytes", (double)e->st.rss_pages * (double)w->page,
              l, 2);
    batch_add(b, "system_process_threads", (double)e->st.threads, l, 2);
    batch_add(b, "system_process_start_time_seconds", (double)start_ms(w, &e->st) / 1000.0, l, 2);
    omega_label_t l3[3] = {{"pid", pid}, {"name", e->st.comm}, {"mode", "user"}};
    batch_add(b, "system_process_cpu_seconds_total", (double)e->st.utime / (double)w->hz, l3, 3);
    l3[2].value = "system";
    batch_add(b, "system_process_cpu_seconds_total", (double)e->st.stime / (double)w->hz, l3, 3);
    l3[2] = (omega_label_t){"type", "minor"};
    batch_add(b, "system_process_page_faults_total", (double)e->st.minflt, l3, 3);
    l3[2].value = "major";
    batch_add(b, "system_process_page_faults_total", (double)e->st.majflt, l3, 3);
    batch_add(b, "system_process_virtual_memory_bytes", (double)e->st.vsize, l, 2);
}

/* "key:   value [kB]" lines of /proc/<pid>/status or io: the value of key, or -1. */
static int64_t key_value(const char *buf, size_t len, const char *key)
{
    size_t kl = strlen(key);
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *le = line_end(p, end), *t;
        size_t tl;
        uint64_t v;
        if ((size_t)(le - p) > kl && !memcmp(p, key, kl) && p[kl] == ':') {
            const char *q = p + kl + 1;
            if (tok_next(&q, le, &t, &tl) && parse_u64n(t, tl, &v) == 0 && v <= INT64_MAX)
                return (int64_t)v;
            return -1;
        }
        p = le < end ? le + 1 : end;
    }
    return -1;
}

/* Entries of <root>/proc/<pid>/fd, or -1 (gone, or not ours to read). */
static long count_fds(const char *root, int64_t pid)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/proc/%lld/fd", root, (long long)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* What /proc/<pid>/status, io and fd add for a watched process. Files the process does not
 * let us read (another user's io) give no series. */
/* Read /proc/<pid>/<name> of e into w->cmdbuf: through the entry's kept descriptor on the live
 * root, afresh on a fixture tree. 0 or an OMEGA_E* code. */
static int read_pid_file(watch_state_t *w, int *fd, const char *rel, size_t *len)
{
    if (w->root[0] == '\0')
        return procfile_pread(fd, w->root, rel, w->cmdbuf, sizeof(w->cmdbuf), len, NULL);
    return procfile_read(w->root, rel, w->cmdbuf, sizeof(w->cmdbuf), len, NULL);
}

static void emit_proc_files(watch_state_t *w, watch_entry_t *e, batch_t *b)
{
    char pid[24], rel[64];
    size_t len = 0;
    snprintf(pid, sizeof(pid), "%lld", (long long)e->st.pid);
    omega_label_t l[3] = {{"pid", pid}, {"name", e->st.comm}, {"type", "voluntary"}};
    snprintf(rel, sizeof(rel), "/proc/%s/status", pid);
    if (read_pid_file(w, &e->fd_status, rel, &len) == 0) {
        int64_t vol = key_value(w->cmdbuf, len, "voluntary_ctxt_switches");
        int64_t inv = key_value(w->cmdbuf, len, "nonvoluntary_ctxt_switches");
        int64_t swap = key_value(w->cmdbuf, len, "VmSwap");
        if (vol >= 0 && inv >= 0) {
            batch_add(b, "system_process_context_switches_total", (double)vol, l, 3);
            l[2].value = "involuntary";
            batch_add(b, "system_process_context_switches_total", (double)inv, l, 3);
        }
        if (swap >= 0)
            batch_add(b, "system_process_swap_bytes", (double)swap * 1024.0, l, 2);
    }
    snprintf(rel, sizeof(rel), "/proc/%s/io", pid);
    if (read_pid_file(w, &e->fd_io, rel, &len) == 0) {
        static const char *const keys[4] = {"rchar", "wchar", "read_bytes", "write_bytes"};
        static const char *const names[4] = {
            "system_process_io_read_bytes_total", "system_process_io_written_bytes_total",
            "system_process_disk_read_bytes_total", "system_process_disk_written_bytes_total"};
        for (int i = 0; i < 4; i++) {
            int64_t v = key_value(w->cmdbuf, len, keys[i]);
            if (v >= 0)
                batch_add(b, names[i], (double)v, l, 2);
        }
    }
    long fds = w->count_fds ? count_fds(w->root, e->st.pid) : -1;
    if (fds >= 0)
        batch_add(b, "system_process_open_fds", (double)fds, l, 2);
}

void watch_finish(watch_state_t *w, batch_t *b)
{
    qsort(w->cur, w->n_cur, sizeof(*w->cur), by_pid);
    /* Listing a descriptor table costs the kernel a lookup per entry: more than everything
     * else a watched process costs. Descriptors are counted every FD_PERIOD_MS. */
    w->count_fds = w->cur_ms - w->fds_ms >= FD_PERIOD_MS || w->cur_ms < w->fds_ms;
    if (w->count_fds)
        w->fds_ms = w->cur_ms;
    for (size_t i = 0; i < w->n_cur; i++) {
        watch_entry_t *e = &w->cur[i];
        if (!e->watched)
            continue;
        if (e->st.state == 'Z') { /* dead, not reaped yet: its status is still readable */
            if (!e->reported)
                raise_exit(w, e, e->st.exit_code);
            e->reported = 1;
            continue;
        }
        emit_proc(w, e, b);
        emit_proc_files(w, e, b);
    }
    for (size_t i = 0; w->ran && i < w->n_prev; i++) {
        const watch_entry_t *p = &w->prev[i];
        const watch_entry_t *now = find(w->cur, w->n_cur, p->st.pid);
        if (p->watched && !p->reported && (!now || now->st.start_ticks != p->st.start_ticks))
            raise_exit(w, p, -1);
    }
    pthread_mutex_lock(&w->lock);
    watch_entry_t *tmp = w->prev;
    size_t ntmp = w->n_prev, ctmp = w->cap_prev;
    w->prev = w->cur;
    w->n_prev = w->n_cur;
    w->cap_prev = w->cap_cur;
    w->prev_ms = w->cur_ms;
    w->ran = 1;
    pthread_mutex_unlock(&w->lock);
    w->cur = tmp;
    w->n_cur = ntmp;
    w->cap_cur = ctmp;
}

/* Copy the published pass (under the lock; command lines of unwatched processes are read
 * afterwards). Returns the number of entries in *out. */
static size_t snapshot(watch_state_t *w, omega_process_info_t **out, int64_t **uids)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->ran ? w->n_prev : 0;
    omega_process_info_t *p = n ? omega_calloc(n, sizeof(*p)) : NULL;
    int64_t *u = n ? omega_calloc(n, sizeof(*u)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const watch_entry_t *e = &w->prev[i];
        p[i].pid = e->st.pid;
        p[i].ppid = e->st.ppid;
        snprintf(p[i].name, sizeof(p[i].name), "%s", e->st.comm);
        snprintf(p[i].state, sizeof(p[i].state), "%s", pid_state_name(e->st.state));
        p[i].cmdline = e->cmdline ? omega_strdup(e->cmdline) : NULL;
        p[i].cpu_percent = e->cpu_pct;
        p[i].rss_bytes = e->st.rss_pages * w->page;
        p[i].threads = e->st.threads;
        p[i].started_at_ms = start_ms(w, &e->st);
        p[i].watched = e->watched;
        u[i] = e->uid;
    }
    pthread_mutex_unlock(&w->lock);
    *out = p;
    *uids = u;
    return n;
}

static void user_name(const char *root, int64_t pid, int64_t uid, char *out, size_t cap)
{
    char buf[1024];
    struct passwd pw, *res = NULL;
    if (uid < 0)
        uid = owner_uid(root, pid);
    if (uid < 0) {
        snprintf(out, cap, "?");
        return;
    }
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        snprintf(out, cap, "%s", res->pw_name);
    else
        snprintf(out, cap, "%lld", (long long)uid);
}

int watch_list(watch_state_t *w, const char *pattern, omega_process_info_t **out, size_t *n,
               omega_error_t *err)
{
    regex_t re;
    int use_re = pattern && *pattern;
    char cmd[4097];
    int64_t *uids = NULL;
    *out = NULL;
    *n = 0;
    if (use_re && regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return omega_error_set_path(err, OMEGA_EINVAL, "pattern",
                                    "pattern is not a valid POSIX extended regular expression");
    omega_process_info_t *p = NULL;
    size_t total = snapshot(w, &p, &uids), kept = 0;
    for (size_t i = 0; i < total; i++) {
        if (!p[i].cmdline)
            p[i].cmdline =
                omega_strdup(read_cmdline(w->root, p[i].pid, cmd, sizeof(cmd)) == 0 ? cmd : "");
        if (use_re && regexec(&re, p[i].name, 0, NULL, 0) != 0 &&
            regexec(&re, p[i].cmdline, 0, NULL, 0) != 0) {
            free(p[i].cmdline);
            continue;
        }
        user_name(w->root, p[i].pid, uids[i], p[i].user, sizeof(p[i].user));
        p[kept++] = p[i];
    }
    if (use_re)
        regfree(&re);
    free(uids);
    if (kept == 0) {
        free(p);
        p = NULL;
    }
    *out = p;
    *n = kept;
    return 0;
}
