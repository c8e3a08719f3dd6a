/* SPDX-License-Identifier: Apache-2.0 */
/* File systems: the mount table (/proc/self/mountinfo under the root prefix) and statvfs of
 * each real mount point (size, free, available, inodes). Pseudo and network file systems are
 * skipped; the mount table's octal escapes (\040 for a space) are decoded. */
#include "collect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

static const metric_def_t defs[] = {
    {"system_filesystem_size_bytes", "gauge", "bytes", "mountpoint,device,fstype",
     "Size of the file system."},
    {"system_filesystem_available_bytes", "gauge", "bytes", "mountpoint,device,fstype",
     "Space available to unprivileged users (what df calls Avail)."},
    {"system_filesystem_free_bytes", "gauge", "bytes", "mountpoint,device,fstype",
     "Free space including the blocks reserved for root."},
    {"system_filesystem_used_percent", "gauge", "percent", "mountpoint,device,fstype",
     "Used space as df computes it: used / (used + available) * 100."},
    {"system_filesystem_inodes", "gauge", "", "mountpoint,device,fstype",
     "Inodes (file slots) of the file system; absent when it has no fixed inode count."},
    {"system_filesystem_inodes_free", "gauge", "", "mountpoint,device,fstype", "Free inodes."},
    {"system_filesystem_inodes_used_percent", "gauge", "percent", "mountpoint,device,fstype",
     "Inodes in use, percent."},
    {"system_filesystem_readonly", "gauge", "", "mountpoint,device,fstype",
     "1 when mounted read-only, else 0."},
};

const metric_table_t collect_table_filesystems = {
    "File systems",
    "/proc/self/mountinfo, statvfs(3)",
    "enable_disk (system_monitor.enable_disk_monitoring)",
    "Skipped: pseudo file systems (proc, sysfs, cgroup, devpts, devtmpfs, debugfs, tracefs, "
    "securityfs, pstore, bpf, configfs, fusectl, mqueue, hugetlbfs, binfmt_misc, autofs, nsfs, "
    "rpc_pipefs, selinuxfs, efivarfs, overlay, squashfs, erofs, iso9660, ramfs), mount points "
    "under /proc, /sys, /dev and /run/credentials, and network file systems (nfs, cifs, smb3, "
    "ceph, glusterfs, 9p, fuse.sshfs: statvfs on a dead server blocks the collection thread). "
    "tmpfs is kept (it is RAM users fill). A mount point mounted over twice is reported once "
    "(the visible, last mount); a file system with 0 blocks is skipped.",
    defs,
    METRIC_TABLE_N(defs)};

static const char *const skip_types[] = {
    "proc",       "sysfs",     "cgroup",     "cgroup2",     "devpts",     "devtmpfs",
    "debugfs",    "tracefs",   "securityfs", "pstore",      "bpf",        "configfs",
    "fusectl",    "mqueue",    "hugetlbfs",  "binfmt_misc", "autofs",     "nsfs",
    "rpc_pipefs", "selinuxfs", "efivarfs",   "overlay",     "squashfs",   "erofs",
    "iso9660",    "ramfs",     "nfs",        "nfs4",        "cifs",       "smb3",
    "smbfs",      "ceph",      "glusterfs",  "9p",          "fuse.sshfs", "fuse.gvfsd-fuse",
    "fuse.portal"};
static const char *const skip_dirs[] = {"/proc", "/sys", "/dev", "/run/credentials"};

#define MOUNTS_MAX 4096 /* mounts considered per pass; the rest are ignored */

typedef struct mount_ent {
    char *mountpoint; /* decoded, in the file buffer */
    char *device;     /* decoded mount source */
    char *fstype;     /* file system type */
    int readonly;     /* "ro" in the per-mount options */
} mount_ent_t;

/* Decode the kernel's \ooo escapes (space, tab, newline, backslash) in place. */
void mountinfo_unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            int ch = (r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0');
            if (ch != 0) {
                *w++ = (char)ch;
                r += 4;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
}

static int skipped(const mount_ent_t *m)
{
    for (size_t i = 0; i < sizeof(skip_types) / sizeof(skip_types[0]); i++)
        if (strcmp(m->fstype, skip_types[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(skip_dirs) / sizeof(skip_dirs[0]); i++) {
        size_t n = strlen(skip_dirs[i]);
        if (strncmp(m->mountpoint, skip_dirs[i], n) == 0 &&
            (m->mountpoint[n] == '\0' || m->mountpoint[n] == '/'))
            return 1;
    }
    return m->mountpoint[0] != '/';
}

static int has_ro(const char *opts)
{
    size_t n = strlen(opts);
    return strcmp(opts, "ro") == 0 || strncmp(opts, "ro,", 3) == 0 ||
           (n >= 3 && strcmp(opts + n - 3, ",ro") == 0) || strstr(opts, ",ro,") != NULL;
}

/* One mountinfo line: "id parent maj:min root mountpoint opts [optional...] - type source
 * superopts". Returns 0 or OMEGA_EINVAL. */
static int parse_mount(char *line, mount_ent_t *m)
{
    char *f[40];
    size_t n = procfile_split(line, f, 40);
    size_t sep = 0;
    for (size_t i = 6; i < n; i++)
        if (strcmp(f[i], "-") == 0) {
            sep = i;
            break;
        }
    if (sep == 0 || sep + 2 >= n)
        return OMEGA_EINVAL;
    m->mountpoint = f[4];
    m->fstype = f[sep + 1];
    m->device = f[sep + 2];
    m->readonly = has_ro(f[5]);
    mountinfo_unescape(m->mountpoint);
    mountinfo_unescape(m->device);
    mountinfo_unescape(m->fstype);
    return 0;
}

static void emit_fs(const mount_ent_t *m, const struct statvfs *st, batch_t *b)
{
    omega_label_t l[3] = {
        {"mountpoint", m->mountpoint}, {"device", m->device}, {"fstype", m->fstype}};
    double frsize = (double)(st->f_frsize ? st->f_frsize : st->f_bsize);
    double used =
        (double)(st->f_blocks - (st->f_bfree < st->f_blocks ? st->f_bfree : st->f_blocks));
    double avail = (double)st->f_bavail;
    batch_add(b, "system_filesystem_size_bytes", (double)st->f_blocks * frsize, l, 3);
    batch_add(b, "system_filesystem_available_bytes", avail * frsize, l, 3);
    batch_add(b, "system_filesystem_free_bytes", (double)st->f_bfree * frsize, l, 3);
    if (used + avail > 0)
        batch_add(b, "system_filesystem_used_percent", 100.0 * used / (used + avail), l, 3);
    if (st->f_files > 0) {
        double ifree = (double)(st->f_ffree < st->f_files ? st->f_ffree : st->f_files);
        batch_add(b, "system_filesystem_inodes", (double)st->f_files, l, 3);
        batch_add(b, "system_filesystem_inodes_free", ifree, l, 3);
        batch_add(b, "system_filesystem_inodes_used_percent",
                  100.0 * ((double)st->f_files - ifree) / (double)st->f_files, l, 3);
    }
    batch_add(b, "system_filesystem_readonly", m->readonly ? 1.0 : 0.0, l, 3);
}

int filesystems_collect(const char *root, char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    procfile_lines_t it;
    char *line, path[4200];
    mount_ent_t *m = omega_malloc(MOUNTS_MAX * sizeof(*m));
    size_t n = 0;
    int rc = 0;

    procfile_lines_init(&it, buf, len);
    while ((line = procfile_next_line(&it)) != NULL && n < MOUNTS_MAX) {
        if (line[strspn(line, " \t")] == '\0')
            continue;
        if (parse_mount(line, &m[n]) != 0) {
            if (rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "mountinfo line %d: malformed", it.line);
            continue;
        }
        if (!skipped(&m[n]))
            n++;
    }
    for (size_t i = 0; i < n; i++) {
        int hidden = 0;
        for (size_t j = i + 1; j < n && !hidden; j++)
            hidden = strcmp(m[i].mountpoint, m[j].mountpoint) == 0;
        struct statvfs st;
        if (hidden || collect_path(path, sizeof(path), root, m[i].mountpoint) != 0 ||
            statvfs(path, &st) != 0 || st.f_blocks == 0)
            continue; /* gone, unreachable or not ours to read: no series this pass */
        emit_fs(&m[i], &st, b);
    }
    free(m);
    return rc;
}
