/* SPDX-License-Identifier: Apache-2.0 */
/* Private to report/: the report model every renderer reads (sections holding notes,
 * tables and charts), the bounds that keep it small, and the helpers the section builders
 * share. Builders fill the model; renderers only read it. */
#ifndef OMEGA_REPORT_INT_H
#define OMEGA_REPORT_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "omega/buf.h"
#include "omega/metric.h"
#include "omega/report.h"

#define RPT_MAX_POINTS 300 /* points per chart series */
#define RPT_MAX_SERIES 8   /* series per chart */
#define RPT_MAX_ROWS   200 /* rows per table */
#define RPT_MAX_COLS   10  /* columns per table */
#define RPT_N_SECTIONS 5
#define RPT_MAX_TABLES 6 /* tables per section (builders add at most 3) */
#define RPT_MAX_CHARTS 6 /* charts per section (builders add at most 3) */

/* One table cell: a number (NaN shows as "-") or a text. */
typedef struct rpt_cell {
    int is_text; /* 1: text is set; 0: num is */
    double num;  /* the number */
    char *text;  /* owned, already masked */
} rpt_cell_t;

typedef struct rpt_table {
    char *title;                    /* owned */
    const char *cols[RPT_MAX_COLS]; /* static column names */
    size_t ncols;                   /* entries in cols */
    rpt_cell_t *cells;              /* nrows * ncols, row-major, owned */
    size_t nrows;                   /* rows kept */
    size_t total_rows;              /* rows offered (nrows <= RPT_MAX_ROWS) */
} rpt_table_t;

typedef struct rpt_series {
    char *name;          /* owned, already masked */
    omega_sample_t *pts; /* owned, ascending, <= RPT_MAX_POINTS */
    size_t n;            /* entries in pts */
} rpt_series_t;

typedef struct rpt_chart {
    char *title;                         /* owned */
    const char *unit;                    /* static unit text ("%", "bytes/s", "s", "") */
    rpt_series_t series[RPT_MAX_SERIES]; /* the lines */
    size_t n;                            /* entries in series */
} rpt_chart_t;

typedef struct rpt_section {
    unsigned bit;                       /* OMEGA_REPORT_SEC_* */
    const char *id;                     /* "system_resources", ... (static) */
    const char *title;                  /* "System resources", ... (static) */
    char *note;                         /* owned; "no data in this range" and the like, or NULL */
    rpt_table_t tables[RPT_MAX_TABLES]; /* the first ntables are used */
    size_t ntables;
    rpt_chart_t charts[RPT_MAX_CHARTS]; /* the first ncharts are used */
    size_t ncharts;
} rpt_section_t;

typedef struct rpt_report {
    char *title;                            /* owned */
    omega_report_request_t req;             /* what was asked */
    int64_t generated_ms;                   /* when it was built */
    int64_t step_ms;                        /* chart resolution */
    rpt_section_t sections[RPT_N_SECTIONS]; /* only the first n are used */
    size_t n;
} rpt_report_t;

/* What a section builder gets: sources, the request window and the chart step. */
typedef struct rpt_ctx {
    const omega_report_sources_t *src;
    int64_t from_ms, to_ms, step_ms;
    omega_error_t *err; /* set on a hard failure (timeout, store) */
} rpt_ctx_t;

/* ---- report.c ---- */
/* OMEGA_EINVAL with err naming the field when req is out of range, else 0. */
int rpt_request_check(const omega_report_request_t *req, omega_error_t *err);

/* ---- model.c ---- */
/* Text through the source's masker (copy when none); never NULL. */
char *rpt_mask(const rpt_ctx_t *c, const char *text);
rpt_table_t *rpt_table_add(rpt_section_t *s, const char *title, const char *const *cols,
                           size_t ncols);
/* Start a new row; NULL when the table is full (the row is counted in total_rows). */
rpt_cell_t *rpt_row_add(rpt_table_t *t);
void rpt_cell_num(rpt_cell_t *cell, double v);
void rpt_cell_text(rpt_cell_t *cell, char *owned);
void rpt_cell_str(rpt_cell_t *cell, const char *s); /* copies s, unmasked (our own text) */
rpt_chart_t *rpt_chart_add(rpt_section_t *s, const char *title, const char *unit);
/* Add a series (name owned) with n points, thinned to RPT_MAX_POINTS by taking every k-th;
 * ignored when the chart is full. */
void rpt_series_add(rpt_chart_t *ch, char *name, const omega_sample_t *pts, size_t n);
void rpt_section_note(rpt_section_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rpt_report_free(rpt_report_t *r);
/* Labels other than __name__ as `k="v", ...` through the masker (owned). */
char *rpt_labels_text(const rpt_ctx_t *c, const omega_label_t *l, size_t n);
/* Statistics of the finite values: average, 95th percentile (nearest rank), maximum, last.
 * Returns the count (0: all outputs NaN). */
size_t rpt_stats(const omega_sample_t *pts, size_t n, double *avg, double *p95, double *max);
/* Least-squares line through the finite points: slope per ms and value at t0. Returns
 * the count used (< 2: no line). */
size_t rpt_fit(const omega_sample_t *pts, size_t n, double *slope_per_ms, double *at_t0,
               int64_t t0);
/* A chart step giving at most RPT_MAX_POINTS points over the range, a round duration. */
int64_t rpt_step_for(int64_t range_ms);
/* "1h30m" style duration text of ms into buf (32 bytes) for PromQL range selectors. */
const char *rpt_dur(int64_t ms, char *buf, size_t len);

/* ---- sections_query.c (system_resources, application_performance, trend_analysis) ---- */
/* Each returns 0, or a hard error (timeout, store) with c->err set; missing data only
 * adds a note. */
int rpt_section_system(const rpt_ctx_t *c, rpt_section_t *s);
int rpt_section_application(const rpt_ctx_t *c, rpt_section_t *s);
int rpt_section_trends(const rpt_ctx_t *c, rpt_section_t *s);
/* One aggregated series of expr over the window at the chart step: the points of the
 * first result series (owned, free()) in *pts, their count in *n; none when nothing
 * matched. */
int rpt_query_series(const rpt_ctx_t *c, const char *expr, omega_sample_t **pts, size_t *n);

/* ---- sections_events.c (compilation_performance, error_analysis) ---- */
int rpt_section_jobs(const rpt_ctx_t *c, rpt_section_t *s);
int rpt_section_errors(const rpt_ctx_t *c, rpt_section_t *s);

/* ---- schedule.c ---- */
/* A schedule time as minute masks (cron semantics, local time). */
typedef struct rpt_sched {
    uint64_t minutes; /* bit m: minute m */
    uint32_t hours;   /* bit h */
    uint32_t mdays;   /* bit d: day of month d (1..31) */
    uint16_t months;  /* bit m: month m (1..12) */
    uint8_t wdays;    /* bit w: weekday w (0 Sunday) */
    int mday_any;     /* day-of-month field was "*" */
    int wday_any;     /* day-of-week field was "*" */
    int clamp_mday;   /* "Nth HH:MM": day N, or the month's last day when shorter; 0 = none */
} rpt_sched_t;
/* Parse "HH:MM", "<weekday> HH:MM", "<1st..31st> HH:MM" or a 5-field cron expression.
 * 0 or -1. */
int rpt_sched_parse(const char *s, rpt_sched_t *sp);
/* 1 when the local minute holding t_ms matches. */
int rpt_sched_match(const rpt_sched_t *sp, int64_t t_ms);
/* The first matching minute after after_ms (within 366 days), or 0. */
int64_t rpt_sched_next(const rpt_sched_t *sp, int64_t after_ms);

/* ---- store.c: stored reports (<id>.meta record + <id>.<ext> file) ---- */
struct json_t;
int rpt_id_valid(const char *id); /* 32 lower-case hex digits */
int rpt_store_init(const char *dir, omega_error_t *err);
int rpt_store_put_meta(const char *dir, const char *id, struct json_t *meta, omega_error_t *err);
struct json_t *rpt_store_get_meta(const char *dir, const char *id); /* new ref or NULL */
int rpt_store_put_data(const char *dir, const char *id, const char *ext, const char *data,
                       size_t len, omega_error_t *err);
char *rpt_store_get_data(const char *dir, const char *id, const char *ext, size_t *len);
void rpt_store_sweep(const char *dir, int64_t before_ms); /* records created before */
void rpt_store_fail_unfinished(const char *dir);          /* pending/running -> failed */

/* ---- service.c / schedules.c ---- */
#define RPT_MAX_SCHEDULES 100
#define RPT_N_BUILTIN     4 /* one per report type */

typedef struct rpt_schedule {
    char id[40];      /* "builtin-<type>" or 32 hex digits */
    char *name;       /* owned */
    char *at;         /* owned, the schedule text */
    rpt_sched_t spec; /* parsed at */
    omega_report_type_t type;
    unsigned sections; /* OMEGA_REPORT_SEC_* */
    unsigned formats;  /* bit f: omega_report_format_t f */
    int64_t period_ms; /* custom: period length */
    int64_t created_ms;
    int64_t last_run_ms;  /* minute of the last run, 0 = none since start */
    char last_ids[4][33]; /* reports of the last run, one per format */
} rpt_schedule_t;

struct omega_report_service {
    omega_report_service_options_t o; /* output_dir copied below */
    char *dir;                        /* owned copy of output_dir */
    pthread_mutex_t lock;             /* queue, schedules, stop */
    pthread_cond_t wake;
    pthread_t thread;
    int started, stop;
    struct rpt_job *queue; /* FIFO of background reports */
    size_t queued;
    rpt_schedule_t *sched[RPT_MAX_SCHEDULES]; /* created schedules (owned) */
    size_t n_sched;
    rpt_schedule_t builtin[RPT_N_BUILTIN]; /* built from the config at each use */
    int64_t builtin_last[RPT_N_BUILTIN];   /* their last runs */
    char builtin_ids[RPT_N_BUILTIN][4][33];
    int64_t last_sweep_ms;
};

const omega_config_t *rpt_service_config(omega_report_service_t *s);
/* Render req now and store it under a new id (owner, schedule id or NULL). 0 or error. */
int rpt_service_render(omega_report_service_t *s, const omega_report_request_t *req,
                       const char *owner, const char *schedule, char id[33], omega_error_t *err);
/* A new random id (32 hex digits). */
void rpt_new_id(char id[33]);
int rpt_schedules_load(omega_report_service_t *s, omega_error_t *err);
void rpt_schedules_free(omega_report_service_t *s);

/* ---- renderers: the file into b; 0 or OMEGA_EIO with err ---- */
int rpt_render_json(const rpt_report_t *r, omega_buf_t *b);
int rpt_render_csv(const rpt_report_t *r, omega_buf_t *b);
int rpt_render_html(const rpt_report_t *r, omega_buf_t *b);
int rpt_render_pdf(const rpt_report_t *r, omega_buf_t *b, omega_error_t *err);
/* A cell as display text into buf (64 bytes for numbers; text cells return their text). */
const char *rpt_cell_display(const rpt_cell_t *cell, char *buf, size_t len);

#endif
