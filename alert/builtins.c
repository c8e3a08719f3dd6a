/* SPDX-License-Identifier: Apache-2.0 */
/* The built-in rules: the config's thresholds (alerting.alert_thresholds,
 * performance_monitor.performance_thresholds, system_monitor.system_thresholds) turned into
 * rules over the collectors' metrics, the application metrics conventions and the job
 * metrics, plus the process-exit event rule. Rebuilt at every start, never stored (a
 * user's changes to them are: override.c). */
#include "alert_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* RSS of watched processes: the 15-minute slope, zeroed unless each 5-minute slice of the
 * window rises too (a steady climb, not one jump or a sawtooth). */
#define RSS "system_process_resident_memory_bytes"
#define LEAK_EXPR                                                                                  \
    "deriv(" RSS "[15m]) * (deriv(" RSS "[5m]) > bool 0) * (deriv(" RSS "[5m] offset 5m) > "       \
    "bool 0) * (deriv(" RSS "[5m] offset 10m) > bool 0)"

/* Mean latency of the last 5 min over the mean of the hour before, zeroed unless the
 * function had at least 20 calls in the 5 min (omega_function_duration_seconds: histogram
 * or summary, labels app and function). */
#define FN "omega_function_duration_seconds"
#define DEGRADATION_EXPR                                                                           \
    "(rate(" FN "_sum[5m]) / rate(" FN "_count[5m])) / (rate(" FN "_sum[1h] offset 5m) / "         \
    "rate(" FN "_count[1h] offset 5m)) * (rate(" FN "_count[5m]) * 300 >= bool 20)"

/* Failures per operation kind in the last 5 min (the counter starts at 0 for each kind);
 * a job whose client died before reporting its end ("abandoned") counts as failed. */
#define JOB_FAILURE_EXPR                                                                           \
    "sum by (kind) (increase(omega_operations_total{status=~\"failed|abandoned\"}[5m]))"

/* The longest compilation of each job in the last 5 min: those that ended (the jobs
 * module's per-operation gauge) and the oldest one still running. */
#define COMPILATION_EXPR                                                                           \
    "max without (status) (max_over_time({__name__=~\"omega_operation_last_duration_seconds|"      \
    "omega_operations_active_oldest_seconds\",kind=~\"compil.*\"}[5m]))"

/* p95 of an application's request latency histogram. */
#define RESPONSE_EXPR                                                                              \
    "histogram_quantile(0.95, sum by (app, le) (rate(omega_http_request_duration_seconds_bucket"   \
    "[5m])))"

/* One built-in rule over a selector the collectors produce. */
static rule_t *add_builtin(omega_alert_engine_t *e, const char *id, const char *name,
                           const char *expr, category_t cat, double warning, double critical,
                           const char *desc, const char *action)
{
    rule_t *r = omega_calloc(1, sizeof(*r));
    r->id = omega_strdup(id);
    r->name = omega_strdup(name);
    r->expr = omega_strdup(expr);
    r->thr[SEV_WARNING] = warning;
    r->has_thr[SEV_WARNING] = !isnan(warning);
    r->thr[SEV_CRITICAL] = critical;
    r->has_thr[SEV_CRITICAL] = !isnan(critical);
    r->category = cat;
    r->description = omega_strdup(desc);
    r->recommended_action = omega_strdup(action);
    r->builtin = 1;
    r->enabled = 1;
    for (size_t i = 0; i < e->n_channels; i++)
        if (e->channels[i]->builtin) {
            r->channels = omega_realloc(r->channels, (r->n_channels + 1) * sizeof(char *));
            r->channels[r->n_channels++] = omega_strdup(e->channels[i]->id);
        }
    rules_add(e, r);
    return r;
}

/* The config's host thresholds as rules over the collectors' metrics. NAN = no such
 * severity. */
static void add_system(omega_alert_engine_t *e)
{
    const omega_config_t *c = e->cfg;
    const __typeof__(c->system_monitor.system_thresholds) *st =
        &c->system_monitor.system_thresholds;
    const char *cpu = "system_cpu_usage_percent{cpu=\"total\"}";
    add_builtin(e, "builtin-cpu-usage", "CPU usage high", cpu, CAT_PERFORMANCE,
                c->alerting.alert_thresholds.cpu_usage_warning,
                c->alerting.alert_thresholds.cpu_usage_critical,
                "Total CPU usage is above the alerting threshold.",
                "Find the busiest processes (GET /api/v1/system/processes) and spread or "
                "reschedule the load.");
    add_builtin(e, "builtin-memory-usage", "Memory usage high", "system_memory_used_percent",
                CAT_PERFORMANCE, c->alerting.alert_thresholds.memory_usage_warning,
                c->alerting.alert_thresholds.memory_usage_critical,
                "Used memory is above the alerting threshold.",
                "Find the processes with the largest RSS; look for leaks or lower parallelism.");
    add_builtin(e, "builtin-disk-usage", "Disk usage high", "system_filesystem_used_percent",
                CAT_PERFORMANCE, c->performance_monitor.performance_thresholds.disk_usage, NAN,
                "A filesystem is filling up.",
                "Plan clean-up or more space for the filesystem named by the mountpoint label.");
    add_builtin(e, "builtin-system-cpu", "CPU exhausted", cpu, CAT_SYSTEM, NAN, st->cpu_critical,
                "Total CPU usage reached the system critical threshold.",
                "The machine is saturated: stop or move work now.");
    add_builtin(e, "builtin-system-memory", "Memory exhausted", "system_memory_used_percent",
                CAT_SYSTEM, NAN, st->memory_critical,
                "Used memory reached the system critical threshold.",
                "The machine is about to swap or kill processes: free memory now.");
    add_builtin(e, "builtin-disk-space", "Disk space low", "system_filesystem_used_percent",
                CAT_SYSTEM, NAN, st->disk_critical, "A filesystem is almost full.",
                "Delete or move data on the filesystem named by the mountpoint label.");
    add_builtin(e, "builtin-network-traffic", "Network traffic high",
                "(rate(system_network_receive_bytes_total[1m]) + "
                "rate(system_network_transmit_bytes_total[1m])) * 8 / 1000000",
                CAT_SYSTEM, NAN, st->network_critical,
                "Traffic on an interface (Mbit/s, both directions) reached the critical level.",
                "Find the processes or transfers saturating the interface.");
    add_builtin(e, "builtin-process-count", "Too many processes", "sum(system_processes)",
                CAT_SYSTEM, NAN, (double)st->process_count_critical,
                "The number of processes reached the critical level.",
                "Look for fork loops or runaway build parallelism.");
}

/* Process exits and probe failures: an event rule fed by the system monitor, and the probe
 * collector's success gauge. */
static void add_events(omega_alert_engine_t *e)
{
    /* Raised by the system monitor's process events (omega_alert_raise): a non-zero exit
     * status is a process failure, death by a signal (status 128 + N) a crash. */
    rule_t *exit_rule = add_builtin(e, "builtin-process-exit", "Watched process failed", "",
                                    CAT_APPLICATION, 1, 128,
                                    "A watched process or job exited with a non-zero status "
                                    "(critical: killed by a signal, a crash).",
                                    "Read the process's output and core dump; rerun it under "
                                    "the profiler if it keeps failing.");
    exit_rule->event_metric = omega_strdup("process_exit_status");
    rule_t *probe = add_builtin(e, "builtin-probe-failure", "Network target unreachable",
                                "system_network_probe_success", CAT_SYSTEM, NAN, 1,
                                "A configured network probe target does not answer.",
                                "Check the target named by the target label and the network "
                                "path to it.");
    probe->op = OP_LT;
    probe->for_ms = 15000; /* a few probe rounds: one lost SYN is not an outage */
}

/* Application rules over pushed metrics and the job metrics (docs/alerting.md names the
 * conventions): memory leaks, function slow-downs, exception rate, job failures,
 * compilation time and response time. */
static void add_application(omega_alert_engine_t *e)
{
    const omega_config_t *c = e->cfg;
    if (c->performance_monitor.enable_memory_leak_detection) {
        /* Steady growth, not a peak: RSS rising > 10 KiB/s on average over 15 min and rising
         * in each of its three 5-minute slices, for 10 min more (a compiler's normal growth
         * lasts seconds to a few minutes; a process must have lived ~20 min to qualify). */
        rule_t *leak = add_builtin(e, "builtin-memory-leak", "Memory leak suspected", LEAK_EXPR,
                                   CAT_APPLICATION, 10240, 1048576,
                                   "A watched process's resident memory keeps rising.",
                                   "Profile the process's allocations (LD_PRELOAD profiler) "
                                   "and look for unfreed blocks.");
        leak->for_ms = 600000;
        /* Four 5-15 min windows of every watched process (thousands of series on a build
         * host with process churn): twice a minute is ample for a 10 min `for`. */
        leak->every_ms = 30000;
    }
    rule_t *r = add_builtin(e, "builtin-function-degradation", "Function slower than usual",
                            DEGRADATION_EXPR, CAT_PERFORMANCE, 1.5, 3,
                            "A function's mean latency over 5 min is this many times its mean "
                            "over the hour before (at least 20 calls in the 5 min).",
                            "Compare the function's recent changes and inputs; profile it "
                            "(GET /api/v1/profiles/functions?app=).");
    r->for_ms = 120000;
    r = add_builtin(e, "builtin-exception-rate", "Exception rate high",
                    "sum by (app) (rate(omega_exceptions_total[5m])) * 60", CAT_APPLICATION, 10, 60,
                    "Exceptions per minute of an application, over 5 min.",
                    "Read the application's error log for the dominant exception type.");
    r->for_ms = 60000;
    r = add_builtin(e, "builtin-job-failure", "Job failed", JOB_FAILURE_EXPR, CAT_APPLICATION, 1, 5,
                    "Operations (jobs, compilations) of a kind that failed in the last 5 min.",
                    "Open the failed operations (GET /api/v1/operations?active=false) and read "
                    "their output.");
    r->op = OP_GE;
    const omega_config_alerting_t *a = &c->alerting;
    double crit = (double)a->alert_thresholds.compilation_time_critical_ms;
    double perf = (double)c->performance_monitor.performance_thresholds.compilation_time_ms;
    add_builtin(e, "builtin-compilation-time", "Compilation slow", COMPILATION_EXPR,
                CAT_PERFORMANCE, (double)a->alert_thresholds.compilation_time_warning_ms / 1000,
                (perf < crit ? perf : crit) / 1000,
                "Longest compilation (seconds) of the last 5 min, finished or still running.",
                "Look at the slow phases of the compilations (GET /api/v1/operations) and at "
                "the machine's load.");
    r = add_builtin(e, "builtin-response-time", "Response time high", RESPONSE_EXPR,
                    CAT_PERFORMANCE,
                    (double)c->performance_monitor.performance_thresholds.response_time_ms / 1000,
                    NAN, "95th percentile request latency (seconds) of an application, 5 min.",
                    "Find the slow handlers and the resource they wait for.");
    r->for_ms = 120000;
}

void builtins_add(omega_alert_engine_t *e)
{
    add_system(e);
    add_application(e);
    add_events(e);
    /* The config's version of each: what a user's change is compared with and restored to. */
    for (size_t i = 0; i < e->n_rules; i++)
        if (e->rules[i]->builtin && !e->rules[i]->base)
            e->rules[i]->base = rule_json(e->rules[i], 0);
}
